"""Normalisers: what may legitimately differ between two correct servers is erased here, per
operation, so that comparisons (model vs target, target vs target) see only semantics.

Erased: ids (mapped to symbols), server-clock timestamps, the order of lists MLflow does not
order (tags, params, latest metrics of a run; experiment tags), and database error text.
"""

from __future__ import annotations

import re
from typing import Any, Callable

from .refs import IdMap
from .transport import Reply

ID_KEYS = {"experiment_id", "run_id", "run_uuid", "experiment_ids"}
SERVER_TIMESTAMPS = {"creation_time", "last_update_time", "creation_timestamp",
                     "last_updated_timestamp", "creation_timestamp_ms", "last_updated_timestamp_ms"}
UNORDERED_LISTS = {"tags", "params"}  # lists of {key, value}, ordered by insertion only
_SQL_NOISE = re.compile(r"\s*\(raised as a result of|"
                        r"\s*\(sqlite3\.|\s*\(psycopg|\s*\(pymysql|\s*\(MySQLdb|\[SQL: ", re.S)

_PY_SET = re.compile(r"\{('[^']*'(?:, '[^']*')*)\}")

Normaliser = Callable[[Any, IdMap], Any]


class ServerTime:
    """A masked server clock. Its value is erased but its JSON type is kept, so a clock sent
    as a string (int64 as string) is a shape difference here just as it is for client-given
    times such as ``start_time``."""

    def __init__(self, json_type: str) -> None:
        self.json_type = json_type

    @classmethod
    def of(cls, value: Any) -> "ServerTime":
        if isinstance(value, bool) or value is None:
            return cls("boolean" if isinstance(value, bool) else "null")
        if isinstance(value, (int, float)):
            return cls("number")
        return cls("string" if isinstance(value, str) else type(value).__name__)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ServerTime) and other.json_type == self.json_type

    def __hash__(self) -> int:
        return hash(self.json_type)

    def __repr__(self) -> str:
        return "<server-time>" if self.json_type == "number" else f"<server-time as {self.json_type}>"


def _walk(obj: Any, ids: IdMap, key: str | None = None) -> Any:
    if isinstance(obj, dict):
        out = {k: _walk(v, ids, k) for k, v in obj.items()}
        for k in SERVER_TIMESTAMPS & out.keys():
            out[k] = ServerTime.of(out[k])
        if key == "data" and isinstance(out.get("metrics"), list):
            out["metrics"] = sorted(out["metrics"], key=lambda m: str(m.get("key")))
        return out
    if isinstance(obj, list):
        items = [_walk(v, ids, key) for v in obj]
        if key in UNORDERED_LISTS and all(isinstance(i, dict) for i in items):
            items = sorted(items, key=lambda i: (str(i.get("key")), str(i.get("value"))))
        return items
    if isinstance(obj, str):
        if key in ID_KEYS:
            symbol = ids.symbol_for(obj)
            if symbol:
                return f"<{symbol}>"
        return ids.symbolise_text(obj)
    return obj


def _error_message(message: str) -> str:
    """Integrity errors carry the database's own text after the MLflow sentence: dropped.
    Messages that print a Python set (``Valid keys are '{'a', 'b'}'``) have no defined
    element order (it changes with each server process): sorted."""
    match = _SQL_NOISE.search(message)
    if match:
        message = message[: match.start()].rstrip() + " <database text>"
    return _PY_SET.sub(lambda m: "{" + ", ".join(sorted(m.group(1).split(", "))) + "}", message)


def generic(body: Any, ids: IdMap) -> Any:
    out = _walk(body, ids)
    if isinstance(out, dict) and "error_code" in out and isinstance(out.get("message"), str):
        out["message"] = _error_message(out["message"])
    return out


def paged(body: Any, ids: IdMap) -> Any:
    """Order of paged lists (history; searches with order_by + tie-breakers) is defined by
    MLflow, so it is kept. Page tokens are opaque (the suites follow them), so only their
    presence is compared."""
    out = generic(body, ids)
    if isinstance(out, dict) and "next_page_token" in out:
        out["next_page_token"] = "<token>"
    return out


def _sort_registry_lists(obj: Any) -> Any:
    if isinstance(obj, dict):
        out = {k: _sort_registry_lists(v) for k, v in obj.items()}
        for k in REGISTRY_UNORDERED & out.keys():
            if isinstance(out[k], list):
                out[k] = sorted(out[k], key=lambda i: json_sort_key(i))
        return out
    if isinstance(obj, list):
        return [_sort_registry_lists(v) for v in obj]
    return obj


def json_sort_key(item: Any) -> str:
    if isinstance(item, dict):
        return str(item.get("alias", item.get("version", item.get("key", ""))))
    return str(item)


# Registry lists in no defined order: one latest version per stage, a model's aliases.
REGISTRY_UNORDERED = {"latest_versions", "aliases"}


def registry(body: Any, ids: IdMap) -> Any:
    out = _sort_registry_lists(generic(body, ids))
    if isinstance(out, dict) and isinstance(out.get("model_versions"), list):
        out["model_versions"] = sorted(out["model_versions"], key=json_sort_key)
    return out


REGISTRY_OPS = ("create_registered_model", "get_registered_model", "rename_registered_model",
                "search_registered_models", "create_model_version", "get_model_version",
                "get_model_version_by_alias", "transition_stage", "get_latest_versions")

def _tidy_traces(obj: Any) -> Any:
    """A trace's assessments come in no defined order (sorted by id here) and carry the
    server's clock as RFC 3339 text (``create_time``; ``last_update_time`` is masked anyway)."""
    if isinstance(obj, dict):
        out = {k: _tidy_traces(v) for k, v in obj.items()}
        if "assessment_id" in out and "create_time" in out:
            out["create_time"] = ServerTime.of(out["create_time"])
        if isinstance(out.get("assessments"), list):
            out["assessments"] = sorted(out["assessments"], key=json_sort_assessment)
        return out
    if isinstance(obj, list):
        return [_tidy_traces(v) for v in obj]
    return obj


def json_sort_assessment(item: Any) -> str:
    return str(item.get("assessment_id")) if isinstance(item, dict) else str(item)


def traces(body: Any, ids: IdMap) -> Any:
    return _tidy_traces(paged(body, ids))


TRACE_OPS = ("start_trace", "get_trace_info", "get_trace", "batch_get_trace_infos",
             "search_traces", "create_assessment", "get_assessment", "update_assessment",
             "get_trace_info_v2", "search_traces_v2")

# The one place that says how each operation's answers are compared.
NORMALISERS: dict[str, Normaliser] = {
    "get_metric_history": paged,
    "search_runs": paged,
    "search_experiments": paged,
    **{op: registry for op in REGISTRY_OPS},
    **{op: traces for op in TRACE_OPS},
}


# Operations whose successful answer is a file's content, not JSON.
RAW_BODY_OPS = {"download_artifact"}


def normalise(op: str, reply: Reply, ids: IdMap) -> dict[str, Any]:
    """A comparable view of one answer: status, and the body (or its kind, if not JSON)."""
    if op in RAW_BODY_OPS and reply.status == 200:
        # A file's bytes, compared as text (a JSON-typed answer is the model's expectation).
        raw = reply.json if reply.content_type.startswith("application/json") else reply.text
        return {"status": reply.status, "body": raw}
    body = reply.json
    if body is None and reply.text:
        kind = reply.content_type.split(";")[0].strip() or "unknown"
        return {"status": reply.status, "body": f"<non-JSON {kind} body>"}
    return {"status": reply.status, "body": NORMALISERS.get(op, generic)(body, ids)}


def diff(expected: Any, actual: Any, path: str = "") -> list[tuple[str, Any, Any]]:
    """Leaf-level differences as (json-path, expected, actual)."""
    if isinstance(expected, dict) and isinstance(actual, dict):
        out: list[tuple[str, Any, Any]] = []
        for k in list(expected) + [k for k in actual if k not in expected]:
            out += diff(expected.get(k, _MISSING), actual.get(k, _MISSING), f"{path}.{k}")
        return out
    if isinstance(expected, list) and isinstance(actual, list) and len(expected) == len(actual):
        out = []
        for i, (a, b) in enumerate(zip(expected, actual)):
            out += diff(a, b, f"{path}[{i}]")
        return out
    if expected == actual and type(expected) is type(actual) or (
        isinstance(expected, (int, float)) and isinstance(actual, (int, float))
        and not isinstance(expected, bool) and not isinstance(actual, bool) and expected == actual
    ):
        return []
    return [(path or ".", expected, actual)]


class _Missing:
    def __repr__(self) -> str:
        return "<absent>"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Missing)

    def __hash__(self) -> int:
        return 0


_MISSING = _Missing()
