"""Waivers: differences a user accepts, each with a reason, so CI fails only on new ones.

Format (JSON)::

    {"waivers": [
        {"operation": "get_experiment", "path": ".body.experiment.workspace", "kind": "shape",
         "reason": "we follow MLflow 2.22"}
    ]}

``operation`` and ``path`` are patterns in which only ``*`` is special (any text), matched
against a finding's operation and generic JSON path (list positions written ``[*]``).
``kind`` is optional (default: any kind); so is ``case``, a pattern over the explicit check
that met a status or route finding (its ``label`` in the JSON report, e.g.
``"invalid_request: get experiment: id past int64"``), for waiving one catalogue entry only. The older ``{"divergences": [...]}`` form of
``known_divergences.json`` is read the same way. Waivers apply to single-target and
differential runs alike; the report lists which were used and which matched nothing (stale).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .findings import KINDS

DEFAULT_FILE = Path(__file__).with_name("known_divergences.json")


def _pattern(text: str) -> re.Pattern[str]:
    return re.compile("".join(".*" if c == "*" else re.escape(c) for c in text) + r"\Z", re.S)


@dataclass(frozen=True)
class Waiver:
    operation: str
    path: str
    reason: str
    kind: str = "*"
    source: str = ""
    case: str = "*"

    def matches(self, operation: str, path: str, kind: str, label: str = "") -> bool:
        return (_pattern(self.operation).match(operation) is not None
                and _pattern(self.path).match(path) is not None
                and (self.kind in ("*", "") or self.kind == kind)
                and _pattern(self.case or "*").match(label) is not None)

    def to_dict(self) -> dict[str, Any]:
        return {"operation": self.operation, "path": self.path, "kind": self.kind,
                "case": self.case, "reason": self.reason, "source": self.source}


def load(path: str | Path | None = None) -> list[Waiver]:
    """Read a waiver file; every entry needs a non-empty reason and a known kind."""
    file = Path(path) if path else DEFAULT_FILE
    if not file.exists():
        if path:
            raise ValueError(f"waiver file {file} does not exist")
        return []
    data = json.loads(file.read_text())
    entries = data.get("waivers", []) + data.get("divergences", [])
    out = []
    for i, entry in enumerate(entries):
        reason = str(entry.get("reason", "")).strip()
        if not reason:
            raise ValueError(f"{file}: waiver #{i} has no reason")
        kind = entry.get("kind", "*")
        if kind not in KINDS + ("*",):
            raise ValueError(f"{file}: waiver #{i} has unknown kind {kind!r}; known: {KINDS}")
        out.append(Waiver(entry.get("operation", "*"), entry.get("path", "*"), reason, kind,
                          source=str(file), case=entry.get("case", "*")))
    return out


def load_many(paths: list[str | Path] | None) -> list[Waiver]:
    """Several files (``--waivers`` repeated); with none given, the package's default file."""
    if not paths:
        return load(None)
    return [w for p in paths for w in load(p)]
