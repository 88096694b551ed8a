"""Trace search: a verified subset of MLflow 3.17.2's trace filter, order_by and paging.

The filter is comparisons joined by AND. fakeflow takes the trace attributes (``request_id``,
``status``, ``client_request_id``, ``name``, ``run_id``, and the numeric ``timestamp_ms``,
``execution_time_ms``, ``end_time_ms`` with their short aliases), ``tags.<key>`` and
``metadata.<key>``, and refuses what it does not model (span, feedback and expectation filters,
full text) with NOT_IMPLEMENTED rather than guess. Results come newest first then by id unless
``order_by`` says otherwise; page tokens are MLflow's (base64 JSON offset).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass
from typing import Any, Sequence

from fakeflow.search.compare import compare
from fakeflow.search.filter import set_repr
from fakeflow.state.errors import MlflowError, invalid
from fakeflow.state.traces import SOURCE_RUN, TRACE_NAME_TAG, Trace, TraceStore

MAX_RESULTS = 500
PREFIXES = {"attributes": "attribute", "attribute": "attribute", "trace": "attribute",
            "tags": "tag", "tag": "tag", "metadata": "metadata",
            "request_metadata": "metadata", "span": "span"}
SPAN_KEYS = ("name", "type", "status")
ALIASES = {"timestamp": "timestamp_ms", "execution_time": "execution_time_ms",
           "end_time": "end_time_ms"}
NUMERIC = ("timestamp_ms", "execution_time_ms", "end_time_ms")
STRINGS = ("request_id", "status", "client_request_id", "name", "run_id")
SEARCH_KEYS = ("request_id", "timestamp", "timestamp_ms", "execution_time", "execution_time_ms",
               "end_time", "end_time_ms", "status", "client_request_id", "name", "run_id",
               "prompt", "text")
ORDER_KEYS = ("experiment_id", "timestamp", "timestamp_ms", "execution_time",
              "execution_time_ms", "end_time", "end_time_ms", "status", "request_id", "name",
              "run_id")
STRING_OPS = ("=", "!=", "LIKE", "ILIKE", "IN", "NOT IN")
NUMERIC_OPS = ("=", "!=", "<", "<=", ">", ">=")
_COMPARISON = re.compile(
    r"\s*(?:([A-Za-z_]+)\.)?(`[^`]+`|[A-Za-z_][A-Za-z0-9_.]*)\s*"
    r"(!=|<=|>=|=|<|>|(?i:not\s+in|in|ilike|like)(?=[\s('\"]))\s*"
    r"('[^']*'|\"[^\"]*\"|-?\d+|\((?:\s*'[^']*'\s*,?)*\)|[A-Za-z_][A-Za-z0-9_.]*)\s*"
)
_AND = re.compile(r"\s+(?i:and)\s+")
_ORDER = re.compile(r"\s*(?:([A-Za-z_]+)\.)?(`[^`]+`|[A-Za-z_][A-Za-z0-9_.]*)"
                    r"(?:\s+(?i:(asc|desc)))?\s*")


@dataclass(frozen=True)
class Comparison:
    entity: str  # "attribute" | "tag" | "metadata"
    key: str
    op: str
    value: Any


def unsupported(what: str) -> MlflowError:
    return MlflowError(f"fakeflow does not support this trace search yet: {what}",
                       "NOT_IMPLEMENTED")


def _entity(prefix: str | None, whole: str) -> str:
    if prefix is None:
        return "attribute"
    if prefix not in PREFIXES:
        raise unsupported(repr(whole))
    return PREFIXES[prefix]


def parse_filter(filter_string: str | None) -> list[Comparison]:
    if not filter_string:
        return []
    out = []
    for part in _AND.split(filter_string.strip()):
        match = _COMPARISON.fullmatch(part)
        if match is None:
            raise unsupported(repr(filter_string))
        prefix, key, op, raw = match.groups()
        entity = _entity(prefix, filter_string)
        key = key.strip("`")
        op = " ".join(op.upper().split())
        if entity == "attribute":
            if key not in SEARCH_KEYS:
                raise invalid(f"Invalid attribute key '{key}' specified. "
                              f"Valid keys are '{set_repr(SEARCH_KEYS)}'")
            key = ALIASES.get(key, key)
            if key not in NUMERIC + STRINGS:
                raise unsupported(repr(filter_string))
        if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.]*", raw):
            raise invalid("Parameter value is either not quoted or unidentified quote types "
                          f"used for string value {raw}. Use either single or double quotes.")
        if entity == "span" and key not in SPAN_KEYS:
            raise unsupported(repr(filter_string))
        numeric = entity == "attribute" and key in NUMERIC
        if op not in (NUMERIC_OPS if numeric else STRING_OPS):
            raise unsupported(repr(filter_string))
        if raw.startswith("("):
            if op not in ("IN", "NOT IN"):
                raise unsupported(repr(filter_string))
            value: Any = tuple(re.findall(r"'([^']*)'", raw))
        elif numeric:
            if not re.fullmatch(r"-?\d+", raw):
                raise unsupported(repr(filter_string))
            value = int(raw)
        else:
            if raw[0] not in "'\"":
                raise unsupported(repr(filter_string))
            value = raw[1:-1]
        out.append(Comparison(entity, key, op, value))
    return out


def _attribute(trace: Trace, key: str) -> Any:
    if key == "timestamp_ms":
        return trace.request_time
    if key == "execution_time_ms":
        return trace.execution_duration
    if key == "end_time_ms":
        if trace.execution_duration is None:
            return None
        return trace.request_time + trace.execution_duration
    if key == "request_id":
        return trace.trace_id
    if key == "status":
        return trace.state
    if key == "client_request_id":
        return trace.client_request_id
    if key == "name":
        return trace.tags.get(TRACE_NAME_TAG)
    if key == "run_id":
        return trace.metadata.get(SOURCE_RUN)
    raise unsupported(key)


def _span_values(trace: Trace, key: str) -> list[Any]:
    """One value per span: its name, its type (``mlflow.spanType``) or its status code."""
    values = []
    for doc in trace.spans.values():
        if key == "name":
            values.append(doc.get("name"))
        elif key == "type":
            values.append(doc.get("type"))
        else:
            values.append(doc.get("status", {}).get("code", "").replace("STATUS_CODE_", ""))
    return values


def _run_ids(trace: Trace) -> list[Any]:
    """A trace belongs to its source run (metadata) and to every run it was linked to."""
    return [trace.metadata.get(SOURCE_RUN), *trace.linked_runs]


def _holds(lhs: Any, c: Comparison) -> bool:
    if lhs is None:
        return False
    if c.op == "IN":
        return lhs in c.value
    if c.op == "NOT IN":
        return lhs not in c.value
    return compare(lhs, c.op, c.value)


def _field(trace: Trace, comparison: Comparison) -> Any:
    if comparison.entity == "tag":
        return trace.tags.get(comparison.key)
    if comparison.entity == "metadata":
        return trace.metadata.get(comparison.key)
    return _attribute(trace, comparison.key)


def matches(trace: Trace, comparisons: Sequence[Comparison]) -> bool:
    for c in comparisons:
        if c.entity == "span":  # some span of the trace satisfies it
            if not any(_holds(value, c) for value in _span_values(trace, c.key)):
                return False
        elif c.entity == "attribute" and c.key == "run_id":
            if not any(_holds(value, c) for value in _run_ids(trace)):
                return False
        elif not _holds(_field(trace, c), c):
            return False
    return True


def _order_keys(order_by: Sequence[str]) -> list[tuple[str, str, bool]]:
    keys: list[tuple[str, str, bool]] = []
    for text in order_by:
        match = _ORDER.fullmatch(text)
        if match is None:
            raise unsupported(f"order_by {text!r}")
        prefix, key, direction = match.groups()
        entity = _entity(prefix, text)
        key = key.strip("`")
        if entity == "attribute":
            if key not in ORDER_KEYS:
                raise invalid(f"Invalid attribute key '{key}' specified. "
                              f"Valid keys are '{set_repr(ORDER_KEYS)}'")
            key = ALIASES.get(key, key)
        if any((e, k) == (entity, key) for e, k, _ in keys):
            raise MlflowError(f"`order_by` contains duplicate fields: {list(order_by)}",
                              "INTERNAL_ERROR")
        keys.append((entity, key, (direction or "asc").lower() == "asc"))
    for key, ascending in (("timestamp_ms", False), ("request_id", True)):
        if ("attribute", key) not in [(e, k) for e, k, _ in keys]:
            keys.append(("attribute", key, ascending))
    return keys


def _sort_value(trace: Trace, entity: str, key: str) -> Any:
    if entity == "attribute" and key == "experiment_id":
        return int(trace.experiment_id)
    return _field(trace, Comparison(entity, key, "=", None))


def sort_traces(traces: list[Trace], keys: list[tuple[str, str, bool]]) -> list[Trace]:
    """Stable sorts from the last key to the first; missing values last (SQL's NULL case)."""
    for entity, key, ascending in reversed(keys):
        present = [t for t in traces if _sort_value(t, entity, key) is not None]
        missing = [t for t in traces if _sort_value(t, entity, key) is None]
        present.sort(key=lambda t: _sort_value(t, entity, key), reverse=not ascending)
        traces = present + missing
    return traces


def decode_offset(page_token: str | None) -> int:
    if not page_token:
        return 0
    try:
        decoded = base64.b64decode(page_token)
    except (binascii.Error, ValueError):
        raise invalid("Invalid page token, could not base64-decode")
    try:
        parsed = json.loads(decoded)
    except ValueError:
        raise invalid(f"Invalid page token, decoded value={decoded}")
    offset = parsed.get("offset") if isinstance(parsed, dict) else None
    if not isinstance(offset, int):
        raise invalid(f"Invalid page token, parsed value={parsed}")
    return offset


def encode_offset(offset: int) -> str:
    return base64.b64encode(json.dumps({"offset": offset}).encode("utf-8")).decode("ascii")


def search_traces(store: TraceStore, experiment_ids: list[str], filter_string: str,
                  max_results: int, order_by: list[str], page_token: str | None,
                  ) -> tuple[list[Trace], str | None]:
    """One page of the traces of these experiments that pass the filter."""
    if max_results < 1:
        raise invalid(f"Invalid value {max_results} for parameter 'max_results' supplied. "
                      "It must be a positive integer")
    wanted = []
    for experiment_id in experiment_ids:
        try:
            wanted.append(str(int(experiment_id)))
        except ValueError as error:  # MLflow's int() crash, reported as an internal error
            raise MlflowError(str(error), "INTERNAL_ERROR")
    keys = _order_keys(order_by)
    comparisons = parse_filter(filter_string)
    offset = decode_offset(page_token)
    found = [t for t in store.in_experiments(wanted) if matches(t, comparisons)]
    page = sort_traces(found, keys)[offset:offset + max_results]
    token = encode_offset(offset + max_results) if len(page) == max_results else None
    return page, token

