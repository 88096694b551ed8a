"""The bridge between a suite's state machine and the target(s): sends each generated request,
logs it (for repros), binds created ids, and compares answers: with the reference model
(one target) or with the ``--against`` target (differential mode).

A difference does not stop the run: it is classified, recorded as a finding (deduplicated)
and the example goes on. After a difference that may have changed state (a missing route, a
write refused or accepted against expectation) the rest of the example is not sent: its
answers could only restate that one difference.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

from .findings import Difference, Finding, classify, generic_path
from .model import error_body
from .normalise import diff, normalise
from .refs import IdMap, Sub
from .transport import Reply, SentRequest, Target
from .versions import added_field

# A bind names a server-chosen value: a path into the JSON answer (``("run", "info", "run_id")``)
# or, for ad-hoc uses, a function of the decoded answer.
BindPath = Sequence[str] | Callable[[Any], Any]


@dataclass
class Call:
    """One operation as the suite asked for it (symbols unresolved) and as each target saw it."""

    op: str
    method: str
    path: str | Sub
    body: Any = None
    query: Mapping[str, Any] | None = None
    headers: Mapping[str, str] | None = None
    bind: Mapping[str, BindPath] = field(default_factory=dict)
    sent: list[SentRequest] = field(default_factory=list)
    replies: list[Reply] = field(default_factory=list)


@dataclass
class Example:
    """The per-example part of a context: its calls, ids and name prefix."""

    prefix: str
    source: str
    ids: list[IdMap]
    calls: list[Call] = field(default_factory=list)
    tainted: bool = False


@dataclass
class Witness:
    """What shrinking needs to reproduce a finding: the example up to the finding's call."""

    calls: list[Call]
    prefix: str
    view_path: str
    ids: list[IdMap]


@dataclass
class SuiteContext:
    """Shared by every example of one suite run; ``begin_example`` resets the per-example part."""

    targets: list[Target]
    suite: str = ""
    findings: dict[tuple[str, ...], Finding] = field(default_factory=dict)
    witnesses: dict[tuple[str, ...], Witness] = field(default_factory=dict)
    label: str = ""  # the explicit case being run ("" during exploration)
    subject: str | None = None  # the operation that case is about
    requests_sent: int = 0
    examples: int = 0
    example: Example | None = None

    @property
    def differential(self) -> bool:
        return len(self.targets) > 1

    @property
    def check_model(self) -> bool:
        """Model checks run against a single target; two targets are compared with each other."""
        return not self.differential

    @property
    def ids(self) -> list[IdMap]:
        return self.example.ids if self.example else []

    @property
    def tainted(self) -> bool:
        return bool(self.example and self.example.tainted)

    def begin_example(self, prefix: str = "", source: str = "exploration") -> None:
        self.examples += 1
        self.example = Example(prefix, source, [IdMap() for _ in self.targets])

    # -- sending -----------------------------------------------------------------------------

    def call(self, op: str, method: str, path: str | Sub, *, body: Any | None = None,
             query: Mapping[str, Any] | None = None, headers: Mapping[str, str] | None = None,
             bind: Mapping[str, BindPath] | None = None) -> Reply:
        """Send one operation to every target; return the primary target's answer. In a
        tainted example nothing is sent and a placeholder answer (status 0) comes back."""
        assert self.example is not None, "begin_example() first"
        if self.example.tainted:
            return Reply(0, "", "")
        record = Call(op, method, path, body, query, headers, dict(bind or {}))
        for index, target in enumerate(self.targets):
            ids = self.example.ids[index]
            # A path may name ids too (``Sub``): the artifact proxy's URLs hold run ids.
            sent, reply = target.send(method, ids.resolve(path), body=ids.resolve(body),
                                      query=ids.resolve(query), headers=ids.resolve(headers))
            self.requests_sent += 1
            record.sent.append(sent)
            record.replies.append(reply)
            for symbol, extract in record.bind.items():
                value = extract_value(extract, reply)
                if isinstance(value, str) and value:
                    ids.bind(symbol, value)
        self.example.calls.append(record)
        if self.differential:
            self._compare(op, record.replies)
        return record.replies[0]

    def _compare(self, op: str, replies: list[Reply]) -> None:
        target = normalise(op, replies[0], self.ids[0])
        against = normalise(op, replies[1], self.ids[1])
        self._record(classify(op, against, target, diff(against, target)))

    # -- model checks ------------------------------------------------------------------------

    def expect(self, op: str, reply: Reply, status: int, body: Any = None, *,
               subset: bool = False, refusable: bool = False) -> bool:
        """Check an answer against the model's expectation (single-target mode only); record
        every difference. True when the answer matched.

        ``body`` is built with the primary target's real ids; both sides go through the same
        normaliser. With ``subset`` only the keys given in ``body`` are compared.
        ``refusable``: the caller leaves its model unchanged when the target refuses a write
        MLflow accepts (an error status where success is expected), so that refusal need not
        end the example: exploration goes on with the server's state still known.
        """
        if not self.check_model or self.tainted or reply.status == 0:
            return True
        actual = normalise(op, reply, self.ids[0])
        expected = normalise(op, Reply(status, "application/json", json.dumps(body)),
                             self.ids[0]) if body is not None else {"status": status}
        if body is None:
            expected = {"status": status}
            compared: dict[str, Any] = {"status": actual["status"]}
        else:
            compared = _project(actual, expected) if subset else actual
        differences = classify(op, expected, actual, diff(expected, compared))
        refused = (refusable and 200 <= status < 300 and actual.get("status", 0) >= 400)
        self._record(differences, keep_going=refused)
        return not differences

    def expect_error(self, op: str, reply: Reply, status: int, error_code: str,
                     message: str | None = None) -> bool:
        """With a message the whole error body is compared; without, all but the message."""
        return self.expect(op, reply, status, error_body(error_code, message),
                           subset=message is None)

    def note(self, difference: Difference) -> None:
        """Record a difference a suite detected by itself (e.g. JSON where HTML is expected)."""
        self._record([difference])

    # -- findings ----------------------------------------------------------------------------

    def _record(self, differences: list[Difference], keep_going: bool = False) -> None:
        example = self.example
        if example is None or example.tainted or not differences:
            return
        for d in differences:
            path = generic_path(d.json_path)
            added = added_field(path) if d.kind == "shape" else None
            label = (self.label if d.kind == "status" and d.operation == self.subject
                     else "")
            key = (d.operation, path, d.kind, d.detail, label)
            found = self.findings.get(key)
            if found is None and not label:  # exploration meets what a case already found
                found = next((f for k, f in self.findings.items() if k[:4] == key[:4]), None)
            if found is not None:
                found.occurrences += 1
                continue
            self.findings[key] = Finding(
                suite=self.suite, operation=d.operation, json_path=path, kind=d.kind,
                expected=d.expected, actual=d.actual, detail=d.detail,
                since_version=added.since if added and _absent(d.actual) else None,
                field_note=added.note if added and _absent(d.actual) else "",
                source=example.source, label=label)
            self.witnesses[key] = Witness(list(example.calls), example.prefix, d.json_path,
                                          example.ids)
        if not keep_going and any(d.changes_state for d in differences):
            example.tainted = True


def _absent(value: Any) -> bool:
    return repr(value) == "<absent>"


def extract_value(extract: BindPath, reply: Reply) -> Any:
    if reply.status != 200:
        return None
    try:
        if callable(extract):
            return extract(reply.json)
        value = reply.json
        for part in extract:
            value = value[part]
        return value
    except (KeyError, TypeError, IndexError):
        return None


def _project(actual: Any, expected: Any) -> Any:
    if isinstance(actual, dict) and isinstance(expected, dict):
        return {k: _project(actual[k], expected[k]) for k in expected if k in actual}
    return actual
