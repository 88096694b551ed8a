"""Findings: one distinct way a server differs from MLflow 3.17.2, classified by kind.

A comparison (model vs target, or target vs ``--against``) yields leaf differences; each is
classified here and deduplicated by ``Finding.key``, so a difference met a hundred times is
reported once, and exploration goes on after it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

# The kinds, in the order reports list them (most fundamental first).
ROUTE = "missing_route"
STATUS = "status"
SHAPE = "shape"
VALUE = "value"
MESSAGE = "message"
KINDS = (ROUTE, STATUS, SHAPE, VALUE, MESSAGE)
KIND_TITLES = {
    ROUTE: "missing route",
    STATUS: "status or error_code",
    SHAPE: "shape (field missing, extra, or of another JSON type)",
    VALUE: "value",
    MESSAGE: "message text",
}

_INDEX = re.compile(r"\[\d+\]")


def generic_path(path: str) -> str:
    """``.body.runs[3].info`` -> ``.body.runs[*].info``: list positions do not make a finding
    distinct (the same field wrong in every row is one difference)."""
    return _INDEX.sub("[*]", path)


def json_type(value: Any) -> str:
    """The JSON type name of a decoded value (masked clocks report the type they masked)."""
    masked = getattr(value, "json_type", None)
    if masked:
        return masked
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return "absent" if repr(value) == "<absent>" else type(value).__name__


@dataclass
class Finding:
    """One distinct difference. ``expected`` is MLflow 3.17.2's answer (the model's, or the
    ``--against`` target's), ``actual`` the target's. ``minimal_sequence`` is the shortest
    request sequence found that reproduces it, as curl commands (a shell script)."""

    suite: str
    operation: str
    json_path: str
    kind: str
    expected: Any
    actual: Any
    detail: str = ""
    since_version: str | None = None
    field_note: str = ""
    also_in: list[str] = field(default_factory=list)
    occurrences: int = 1
    source: str = ""  # "case: <name>" for explicit cases, "exploration" otherwise
    label: str = ""  # the explicit check a status/route finding belongs to (part of the key)
    repro_curl: str = ""
    minimal_sequence: list[str] = field(default_factory=list)
    minimal: bool = False
    full_sequence_length: int = 0
    # Filled in by the verdict: "fail", "info" or "waived" (+ the waiver's reason).
    verdict: str = "fail"
    waiver_reason: str = ""
    # The shrunk sequence itself (for replaying it elsewhere, e.g. against real MLflow);
    # not part of the JSON report.
    witness: Any = field(default=None, repr=False, compare=False)

    @property
    def key(self) -> tuple[str, str, str, str, str]:
        """What makes a finding distinct: operation, generic JSON path, kind; for a status or
        route difference also the outcome pair and the explicit check that met it (two
        catalogue requests refused differently are two differences)."""
        return (self.operation, self.json_path, self.kind, self.detail, self.label)

    def to_dict(self) -> dict[str, Any]:
        out = {k: v for k, v in self.__dict__.items() if k != "witness"}
        out["expected"] = _jsonable(self.expected)
        out["actual"] = _jsonable(self.actual)
        out["kind_title"] = KIND_TITLES.get(self.kind, self.kind)
        return out


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return repr(value)


@dataclass
class Difference:
    """A classified difference in one answer, before dedupe (no repro yet)."""

    operation: str
    json_path: str
    kind: str
    expected: Any
    actual: Any
    detail: str = ""

    @property
    def changes_state(self) -> bool:
        """A route or status difference where one side succeeded: the server's state and the
        reference's may now differ, so later answers in the same example prove nothing new."""
        if self.kind == ROUTE:
            return True
        if self.kind == STATUS:
            return any(str(v).startswith("2") for v in (self.expected, self.actual))
        return False


def value_at(view: Any, path: str) -> Any:
    """The value at a JSON path as printed in reports (``.body.runs[2].info``); absent
    values come back as the normaliser's ``<absent>`` marker."""
    from .normalise import _MISSING

    if path in (".", ""):
        return view
    for key, index in re.findall(r"\.([^.\[]+)|\[(\d+)\]", path):
        try:
            view = view[key] if key else view[int(index)]
        except (KeyError, IndexError, TypeError):
            return _MISSING
    return view


def display(value: Any) -> str:
    """JSON text for reports; markers (absent, masked clock, token) print as themselves."""
    if type(value).__module__.endswith("normalise"):
        return "(absent)" if repr(value) == "<absent>" else repr(value)
    if isinstance(value, str) and value.startswith("<") and value.endswith(">"):
        return value
    import json

    return json.dumps(value, default=repr)


def _status_text(view: dict[str, Any]) -> str:
    body = view.get("body")
    code = body.get("error_code") if isinstance(body, dict) else None
    if isinstance(body, str):  # a non-JSON body, already described by the normaliser
        return f"{view.get('status')} {body}"
    return f"{view.get('status')}" + (f" {code}" if code else "")


def _is_missing_route(expected: dict[str, Any], actual: dict[str, Any]) -> bool:
    """The target has no such route (an HTML 404/405 page or ENDPOINT_NOT_FOUND) where MLflow
    answers from the route itself (success, or a JSON error of its own)."""
    if actual.get("status") not in (404, 405):
        return False
    body, exp_body = actual.get("body"), expected.get("body")
    no_route = not isinstance(body, dict) or body.get("error_code") == "ENDPOINT_NOT_FOUND"
    mlflow_route = (expected.get("status") not in (404, 405)
                    or (isinstance(exp_body, dict)
                        and exp_body.get("error_code") not in (None, "ENDPOINT_NOT_FOUND")))
    return no_route and mlflow_route


def classify(op: str, expected: dict[str, Any], actual: dict[str, Any],
             leaf_diffs: list[tuple[str, Any, Any]]) -> list[Difference]:
    """Turn the leaf differences of one answer into classified differences. A different
    status (or error_code) is one difference: the bodies of two different outcomes are not
    compared field by field."""
    exp_body, act_body = expected.get("body"), actual.get("body")
    exp_code = exp_body.get("error_code") if isinstance(exp_body, dict) else None
    act_code = act_body.get("error_code") if isinstance(act_body, dict) else None
    if _is_missing_route(expected, actual):
        return [Difference(op, ".", ROUTE, _status_text(expected), _status_text(actual))]
    if expected.get("status") != actual.get("status") or (exp_code and exp_code != act_code):
        e, a = _status_text(expected), _status_text(actual)
        return [Difference(op, ".status", STATUS, e, a, detail=f"{e} -> {a}")]
    out = []
    # Several values wrong inside one object (a metric's value, step and timestamp) are one
    # difference: reported at the object, with both objects.
    parents: dict[str, int] = {}
    for path, e, a in leaf_diffs:
        if json_type(e) == json_type(a) and path.rsplit(".", 1)[0] != path:
            parent = path.rsplit(".", 1)[0]
            parents[parent] = parents.get(parent, 0) + 1
    grouped: set[str] = set()
    for path, e, a in leaf_diffs:
        parent = path.rsplit(".", 1)[0]
        if path == ".status":
            continue
        if (json_type(e) == json_type(a) and parents.get(parent, 0) > 1 and parent != ".body"
                and not (path == ".body.message" and exp_code)):
            if parent not in grouped:
                grouped.add(parent)
                out.append(Difference(op, parent, VALUE, value_at(expected, parent),
                                      value_at(actual, parent)))
            continue
        if path == ".body.message" and exp_code:
            kind = MESSAGE
        elif json_type(e) != json_type(a):
            kind = SHAPE
        else:
            kind = VALUE
        detail = f"{json_type(e)} -> {json_type(a)}" if kind == SHAPE else ""
        out.append(Difference(op, path, kind, e, a, detail=detail))
    return out
