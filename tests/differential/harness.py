"""Run catalogue cases against one server (recording) or two servers in lockstep (diffing).

Lockstep: step *i* goes to every side before step *i+1*, and each side substitutes its own
captured values, so ids a side generated flow only into that side's later requests.
"""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence
from urllib.parse import urlsplit

import requests

from .compare import compare
from .model import Case, Step
from .normalise import Normaliser
from .templating import extract
from .transport import Reply, Sent, build, new_session, send

SUFFIX_LENGTH = 8
# Steps that move an experiment's last_update_time: wait a clock tick first so that
# "<ts:later>" (see normalise.py) does not depend on how fast a server answers.
CLOCK_TICK_PATHS = ("/experiments/update", "/experiments/delete", "/experiments/restore")
CLOCK_TICK_SECONDS = 0.002


def new_suffix() -> str:
    """A per-session token that makes every name in the catalogue unique on a shared server."""
    return secrets.token_hex(SUFFIX_LENGTH // 2)


@dataclass
class Side:
    """One server under test, with its own session suffix and HTTP session."""

    label: str
    base_url: str
    suffix: str
    session: requests.Session = field(default_factory=new_session)


@dataclass
class Exchange:
    """One step on one side: what was sent, what came back, and its normalised body."""

    sent: Sent
    reply: Reply
    normalised: Any


@dataclass
class StepOutcome:
    index: int
    step: Step
    exchanges: list[Exchange]
    diffs: list[str]


@dataclass
class CaseOutcome:
    case: Case
    steps: list[StepOutcome]

    @property
    def diffs(self) -> list[str]:
        return [
            f"[{self.case.name}] step {s.index} {s.step.describe()}: {d}"
            for s in self.steps
            for d in s.diffs
        ]


class _SideRun:
    """Per-case state of one side: variables and id normaliser."""

    def __init__(self, side: Side, case: Case) -> None:
        self.side = side
        address = urlsplit(side.base_url)
        self.env: dict[str, str] = {"sfx": side.suffix, "p": f"ffd-{side.suffix}-{case.name}",
                                    "host": address.netloc, "port": str(address.port or 80)}
        self.normaliser = Normaliser(side.suffix)

    def perform(self, step: Step) -> Exchange:
        sent = build(step, self.side.base_url, self.env)
        self.normaliser.note_sent([sent.query, sent.body, sent.url])
        if sent.body is not None:
            self.normaliser.note_sent(_loads_quietly(sent.body))
        reply = send(self.side.session, sent)
        body = reply.json if reply.is_json else reply.text
        for var, path in step.capture.items():
            value = extract(body, path) if reply.is_json else None
            if value is not None:
                self.env[var] = str(value)
        normalised = self.normaliser.normalise(body) if reply.is_json else reply.text
        return Exchange(sent, reply, normalised)


def run_case(case: Case, sides: Sequence[Side]) -> CaseOutcome:
    """Run ``case`` on every side in lockstep; diffs are of sides[1:] against sides[0]."""
    runs = [_SideRun(side, case) for side in sides]
    outcomes: list[StepOutcome] = []
    for index, step in enumerate(case.steps):
        pause = max(step.pause, CLOCK_TICK_SECONDS if step.path.endswith(CLOCK_TICK_PATHS) else 0.0)
        if pause:
            time.sleep(pause)
        exchanges = [run.perform(step) for run in runs]
        diffs: list[str] = []
        reference = exchanges[0]
        for other, side in zip(exchanges[1:], sides[1:]):
            found = compare(
                reference.reply, reference.normalised, other.reply, other.normalised, step.relax
            )
            found += _wire_diffs(step, reference.reply, other.reply)
            prefix = f"{side.label}: " if len(sides) > 2 else ""
            diffs.extend(prefix + d for d in found)
        outcomes.append(StepOutcome(index, step, exchanges, diffs))
    return CaseOutcome(case, outcomes)


def run_catalogue(cases: Iterable[Case], sides: Sequence[Side]) -> list[CaseOutcome]:
    return [run_case(case, sides) for case in cases]


def _wire_diffs(step: Step, expected: Reply, actual: Reply) -> list[str]:
    """The headers a step asks about, and its plain-text body, compared exactly."""
    if not step.wire_headers:
        return []
    diffs = [
        f"header {name}: {actual.headers.get(name)!r} (want {expected.headers.get(name)!r})"
        for name in step.wire_headers
        if expected.headers.get(name) != actual.headers.get(name)
    ]
    if not expected.is_json and expected.status >= 400 and expected.text != actual.text:
        diffs.append(f"body {actual.text[:200]!r} (want {expected.text[:200]!r})")
    return diffs


def _loads_quietly(text: str) -> Any:
    try:
        return json.loads(text)
    except (ValueError, RecursionError):  # RecursionError: a deliberately deep body
        return None
