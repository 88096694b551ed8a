"""The bridge between a suite's state machine and the target(s): sends each generated request,
records it (for counterexamples), binds created ids, compares targets in differential mode and
checks answers against the reference model otherwise."""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from .divergences import KnownDivergence
from .model import error_body
from .normalise import diff, normalise
from .refs import IdMap
from .transport import Reply, SentRequest, Target


class ConformanceFailure(AssertionError):
    """A target answered differently from the reference model or from the other target."""


@dataclass
class LoggedCall:
    target: int
    op: str
    sent: SentRequest
    status: int


@dataclass
class SuiteContext:
    """Shared by every example of one suite run; ``begin_example`` resets the per-example part."""

    targets: list[Target]
    known: list[KnownDivergence] = field(default_factory=list)
    ids: list[IdMap] = field(default_factory=list)
    log: list[LoggedCall] = field(default_factory=list)
    allowed: list[dict[str, Any]] = field(default_factory=list)
    requests_sent: int = 0

    @property
    def differential(self) -> bool:
        return len(self.targets) > 1

    @property
    def check_model(self) -> bool:
        """Model checks run against a single target; two targets are compared with each other."""
        return not self.differential

    def begin_example(self) -> None:
        self.ids = [IdMap() for _ in self.targets]
        self.log = []

    def call(self, op: str, method: str, path: str, *, body: Any | None = None,
             query: Mapping[str, Any] | None = None, headers: Mapping[str, str] | None = None,
             bind: Mapping[str, Callable[[Any], Any]] | None = None) -> Reply:
        """Send one operation to every target; return the primary target's answer."""
        replies: list[Reply] = []
        for index, target in enumerate(self.targets):
            ids = self.ids[index]
            sent, reply = target.send(method, path, body=ids.resolve(body),
                                      query=ids.resolve(query), headers=headers)
            self.requests_sent += 1
            self.log.append(LoggedCall(index, op, sent, reply.status))
            replies.append(reply)
            for symbol, extract in (bind or {}).items():
                value = _extract(extract, reply)
                if isinstance(value, str) and value:
                    ids.bind(symbol, value)
        if self.differential:
            self._compare(op, replies)
        return replies[0]

    def _compare(self, op: str, replies: list[Reply]) -> None:
        left = normalise(op, replies[0], self.ids[0])
        right = normalise(op, replies[1], self.ids[1])
        problems = []
        for path, a, b in diff(left, right):
            rule = next((k for k in self.known if k.matches(op, path)), None)
            if rule is None:
                problems.append((path, a, b))
            else:
                self.allowed.append({"operation": op, "path": path, "reason": rule.reason})
        if problems:
            raise ConformanceFailure(
                f"targets diverge on {op}:\n" + _format_diffs(problems, self.targets[0].name,
                                                              self.targets[1].name)
            )

    def expect(self, op: str, reply: Reply, status: int, body: Any = None, *,
               subset: bool = False) -> None:
        """Check an answer against the model's expectation (single-target mode only).

        ``body`` is built with the primary target's real ids; both sides go through the same
        normaliser. With ``subset`` only the keys given in ``body`` are compared.
        """
        if not self.check_model:
            return
        actual = normalise(op, reply, self.ids[0])
        expected = normalise(op, Reply(status, "application/json", json.dumps(body)),
                             self.ids[0]) if body is not None else {"status": status}
        if subset or body is None:
            actual = _project(actual, expected)
        problems = diff(expected, actual)
        if problems:
            raise ConformanceFailure(
                f"{op} answered differently from MLflow 3.17.2 semantics:\n"
                + _format_diffs(problems, "expected", "actual")
            )

    def expect_error(self, op: str, reply: Reply, status: int, error_code: str,
                     message: str | None = None) -> None:
        """With a message the whole error body is compared; without, all but the message."""
        self.expect(op, reply, status, error_body(error_code, message), subset=message is None)

    def curl_script(self, target: int = 0) -> list[str]:
        return [to_curl(c.sent, self.targets[target]) + f"   # {c.op} -> {c.status}"
                for c in self.log if c.target == target]


def _extract(extract: Callable[[Any], Any], reply: Reply) -> Any:
    if reply.status != 200:
        return None
    try:
        return extract(reply.json)
    except (KeyError, TypeError, IndexError):
        return None


def _project(actual: Any, expected: Any) -> Any:
    if isinstance(actual, dict) and isinstance(expected, dict):
        return {k: _project(actual[k], expected[k]) for k in expected if k in actual}
    return actual


def _short(value: Any) -> str:
    text = json.dumps(value, default=repr) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 300 else text[:300] + "…"


def _format_diffs(problems: list[tuple[str, Any, Any]], left: str, right: str) -> str:
    lines = []
    for path, a, b in problems[:20]:
        lines.append(f"  at {path}: {left}={_short(a)}  {right}={_short(b)}")
    if len(problems) > 20:
        lines.append(f"  … and {len(problems) - 20} more")
    return "\n".join(lines)


def to_curl(sent: SentRequest, target: Target) -> str:
    """A copy-pasteable curl command; the auth header is not printed but taken from
    ``$CONFORMANCE_AUTH`` (the same ``Name: value`` form the CLI reads)."""
    parts = ["curl", "-sS", "-X", sent.method, shlex.quote(sent.url)]
    auth = getattr(target, "auth", {})
    for key, value in sent.headers.items():
        parts += ["-H", '"$CONFORMANCE_AUTH"' if key in auth else shlex.quote(f"{key}: {value}")]
    if sent.body is not None:
        data = sent.body.decode(errors="replace") if isinstance(sent.body, bytes) else json.dumps(sent.body)
        parts += ["-d", shlex.quote(data)]
    return " ".join(parts)
