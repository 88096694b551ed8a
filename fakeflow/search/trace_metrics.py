"""Trace metrics (QueryTraceMetrics): counts, latencies, tokens, costs and assessment values
over traces, spans or assessments, grouped by dimensions and time buckets.

MLflow answers these with one SQL aggregate query over its trace tables (SQLite being the
reference backend). This module computes the same answer over the trace store's data: the rows
MLflow would select (per view), its filters, its null handling (null values and null dimensions
never form a group), its group order (time bucket, then dimensions, byte order), ``max_results``
applied to groups, and SQLite's arithmetic (float sums in row order, the custom linear
percentile). Everything here is pure: the caller hands in copies of the traces.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Iterable, Sequence

from fakeflow.search.filter import _strip_quotes, _trim_backticks, single_statement
from fakeflow.search.lexer import Kind, Tok
from fakeflow.state import trace_analytics as analytics
from fakeflow.state.errors import MlflowError, invalid
from fakeflow.state.traces import SOURCE_RUN, TRACE_NAME_TAG, Trace

TRACES, SPANS, ASSESSMENTS = "TRACES", "SPANS", "ASSESSMENTS"
VIEW_TYPES = ((TRACES, 1), (SPANS, 2), (ASSESSMENTS, 3))
AGGREGATION_TYPES = (("COUNT", 1), ("SUM", 2), ("AVG", 3), ("PERCENTILE", 4), ("MIN", 5),
                     ("MAX", 6))
MAX_RESULTS = 1000
TIME_BUCKET = "time_bucket"

_STATS = {"SUM", "AVG", "MIN", "MAX", "PERCENTILE"}
_LATENCY = {"AVG", "MIN", "MAX", "PERCENTILE"}
_TOKEN_KEYS = ("input_tokens", "output_tokens", "total_tokens", "cache_read_input_tokens",
               "cache_creation_input_tokens")
_COST_KEYS = ("input_cost", "output_cost", "total_cost")

#: view -> metric -> (aggregation types, dimensions), in MLflow's declaration order.
CONFIGS: dict[str, dict[str, tuple[set[str], set[str]]]] = {
    TRACES: {
        "trace_count": ({"COUNT"}, {"trace_name", "trace_status"}),
        "session_count": ({"COUNT"}, set()),
        "latency": (_LATENCY, {"trace_name"}),
        **{key: (_STATS, {"trace_name"}) for key in _TOKEN_KEYS},
    },
    SPANS: {
        "span_count": ({"COUNT"}, {"span_name", "span_type", "span_status", "span_model_name",
                                   "span_model_provider"}),
        "latency": (_LATENCY, {"span_name", "span_status"}),
        **{key: (_STATS, {"span_model_name", "span_model_provider"}) for key in _COST_KEYS},
    },
    ASSESSMENTS: {
        "assessment_count": ({"COUNT"}, {"assessment_name", "assessment_value"}),
        "assessment_value": (_LATENCY, {"assessment_name"}),
    },
}

_FILTER_ENTITIES = {  # view prefix -> entity -> needs a key
    "trace": {"status": False, "tag": True, "metadata": True},
    "span": {"name": False, "status": False, "type": False},
    "assessment": {"name": False, "type": False},
}
SESSION_KEY, TOKEN_USAGE_KEY, COST_KEY = (analytics.SESSION_KEY, analytics.TOKEN_USAGE_KEY,
                                          analytics.COST_KEY)
_MODEL_ATTRIBUTE, _PROVIDER_ATTRIBUTE = "mlflow.llm.model", "mlflow.llm.provider"
_COST_ATTRIBUTE = analytics.COST_ATTRIBUTE
_BIGINT = (-(2**63), 2**63 - 1)


@dataclass(frozen=True)
class Aggregation:
    kind: str
    percentile: float | None = None

    @property
    def label(self) -> str:
        return f"P{self.percentile}" if self.kind == "PERCENTILE" else self.kind


@dataclass(frozen=True)
class MetricFilter:
    view: str  # "trace" | "span" | "assessment"
    entity: str
    key: str | None
    value: str


class Crash(Exception):
    """Input MLflow does not reject but fails on with an unhandled error (HTTP 500)."""


# ---- validation ------------------------------------------------------------------------------

def aggregation(kind: str, percentile: float | None) -> Aggregation:
    """MLflow builds its aggregation objects before any other check; bad ones crash it."""
    if kind == "PERCENTILE":
        if percentile is None or not 0 <= percentile <= 100:
            raise Crash("bad percentile")
    elif percentile is not None:
        raise Crash("percentile on a non-percentile aggregation")
    return Aggregation(kind, percentile)


def validate(view: str, metric: str, aggregations: Sequence[Aggregation],
             dimensions: Sequence[str]) -> None:
    metrics = CONFIGS[view]
    if metric not in metrics:
        raise invalid(f"metric_name must be one of {list(metrics)}, got '{metric}'")
    kinds, dims = metrics[metric]
    wrong = {a.kind for a in aggregations} - kinds
    if wrong:
        raise invalid(f"Found invalid aggregation_type(s): {sorted(wrong)}. "
                      f"Supported aggregation types: {sorted(kinds)}")
    wrong = set(dimensions) - dims
    if wrong:
        raise invalid(f"Found invalid dimension(s): {sorted(wrong)}. "
                      f"Supported dimensions: {sorted(dims)}")


# ---- filters ---------------------------------------------------------------------------------

def _identifier(text: str) -> tuple[str, str, str | None]:
    parts = text.split(".", 2)
    if len(parts) not in (2, 3):
        raise invalid(f"Invalid identifier {text!r}. Columns should be specified as "
                      "'trace.<key>', 'span.<key>', 'assessment.<key>'.")
    view, entity = _trim_backticks(parts[0]), parts[1]
    key = parts[2] if len(parts) == 3 else None
    if view not in _FILTER_ENTITIES:
        raise invalid(f"Invalid view type '{view}'. Valid values are "
                      f"dict_keys({list(_FILTER_ENTITIES)})")
    entities = _FILTER_ENTITIES[view]
    if entity not in entities:
        raise invalid(f"Invalid entity '{entity}' specified for view type '{view}'. "
                      f"Valid entities are {list(entities)}")
    if entities[entity] and key is None:
        raise invalid(f"Filtering by {entity} requires a key, e.g. "
                      f"'{view}.{entity}.<key> = <value>'")
    if not entities[entity] and key is not None:
        raise invalid(f"Filtering by {entity} does not require a key, use "
                      f"'{view}.{entity}' instead")
    if key:
        key = key[1:-1] if len(key) >= 2 and key[0] == key[-1] and key[0] in "'\"" else key
        key = _trim_backticks(key)
    return view, entity, key or None


def _comparison(tok: Tok) -> MetricFilter:
    left, op, right = tok.parts[0], tok.parts[1], tok.parts[-1]
    if left.kind is not Kind.IDENTIFIER:
        if left.kind is Kind.BUILTIN and left.text in ("timestamp", "timestamp_ms"):
            _identifier(left.text)  # always fails, as MLflow's does
        raise invalid(f"Invalid comparison clause. Expected 'Identifier' found '{left.text}'")
    view, entity, key = _identifier(left.text)
    if op.text != "=":
        raise invalid(f"Invalid comparator: '{op.text}', only '=' operator is supported")
    if right.kind not in (Kind.STRING, Kind.IDENTIFIER, Kind.SYMBOL):
        raise invalid(f"Expected a quoted string value for {entity} value (e.g. 'my-value'). "
                      f"Got value {right.text}")
    return MetricFilter(view, entity, key, _strip_quotes(right.text, required=True))


def parse_filter(text: str) -> MetricFilter:
    """One ``<view>.<entity>[.<key>] = '<value>'`` clause, with MLflow's messages."""
    clauses: list[MetricFilter] = []
    if text:
        grouped = single_statement(text)
        bad = [t for t in grouped if t.kind not in (Kind.COMPARE, Kind.WS)]
        if bad:
            raise invalid("Invalid clause(s) in filter string: " + ", ".join(t.text for t in bad))
        clauses = [_comparison(t) for t in grouped if t.kind is Kind.COMPARE]
    if len(clauses) != 1:
        raise invalid(f"Invalid filter: '{text}'. Expected one filter clause.")
    return clauses[0]


# ---- the rows MLflow's tables hold -----------------------------------------------------------

def _json_or_none(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return None
    return value


def _json_string(value: Any) -> Any:
    """A stored attribute decoded once if that gives a string (MLflow's _try_parse_json_string)."""
    if not isinstance(value, str):
        return value
    try:
        parsed = json.loads(value)
    except ValueError:
        return value
    return parsed if isinstance(parsed, str) else value


@dataclass
class TraceRow:
    """One row of MLflow's trace_info table, with the analytics columns it derives."""

    trace: Trace
    session_id: str | None
    columns: dict[str, Any]  # token and cost columns

    @property
    def name(self) -> str | None:
        return self.trace.tags.get(TRACE_NAME_TAG)


def trace_row(trace: Trace) -> TraceRow:
    """The trace's session and token/cost columns, as the store derived them."""
    return TraceRow(trace, trace.metadata.get(SESSION_KEY), analytics.columns(trace.metadata))


def _span_status(span: dict[str, Any]) -> str | None:
    code = (span.get("status") or {}).get("code")
    if not isinstance(code, str):
        return None
    return code[len("STATUS_CODE_"):] if code.startswith("STATUS_CODE_") else code


def _span_cost(span: dict[str, Any]) -> dict[str, Any]:
    raw = (span.get("attributes") or {}).get(_COST_ATTRIBUTE)
    value = _json_or_none(raw) if raw else None
    return value if isinstance(value, dict) else {}


def _bounded(value: Any) -> str | None:
    return value[:500] if isinstance(value, str) else None


def _assessment_value(a: Any) -> Any:
    if a.serialized_value is not None:
        return json.loads(a.serialized_value.get("value", "null"))
    return a.value


def _aggregate_value(value: Any) -> float | None:
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, (int, float)):
        try:
            number = float(value)
        except OverflowError:
            return None
        return number if math.isfinite(number) else None
    if isinstance(value, str) and value.strip().lower() in ("yes", "no"):
        return 1.0 if value.strip().lower() == "yes" else 0.0
    return None


# ---- the query -------------------------------------------------------------------------------

@dataclass
class Row:
    """One selected row: the value to aggregate, its time (ms), and its group columns."""

    value: Any
    time: Any
    dims: dict[str, Any]


def _trace_filter(f: MetricFilter, row: TraceRow) -> bool:
    trace = row.trace
    if f.entity == "status":
        return trace.state == f.value
    if f.entity == "tag":
        if f.key == TRACE_NAME_TAG:
            return row.name == f.value
        return trace.tags.get(f.key) == f.value
    # metadata
    if f.key == SESSION_KEY:
        return row.session_id == f.value
    if f.key in (TOKEN_USAGE_KEY, COST_KEY):
        keys = _TOKEN_KEYS if f.key == TOKEN_USAGE_KEY else _COST_KEYS
        convert = analytics.token_count if f.key == TOKEN_USAGE_KEY else analytics.finite_float
        try:
            parsed = json.loads(f.value)
        except ValueError:
            parsed = None
        wanted = {}
        if isinstance(parsed, dict) and set(parsed) <= set(keys):
            wanted = {k: c for k in keys if (c := convert(parsed.get(k))) is not None}
        if not wanted or f.value != json.dumps(wanted):
            return False
        return all(row.columns.get(k) == wanted.get(k) if k in wanted
                   else row.columns.get(k) is None for k in keys)
    if trace.metadata.get(f.key) == f.value:
        return True
    return f.key == SOURCE_RUN and f.value in trace.linked_runs


def _check_filter_views(view: str, filters: Sequence[MetricFilter]) -> None:
    for f in filters:
        if f.view == "span" and view != SPANS:
            raise invalid(f"Filtering by span is only supported for {SPANS} view type, "
                          f"got {view}")
        if f.view == "assessment" and view != ASSESSMENTS:
            raise invalid(f"Filtering by assessment is only supported for {ASSESSMENTS} view "
                          f"type, got {view}")


def _in_range(value: int, start: int | None, end: int | None) -> bool:
    return (start is None or value >= start) and (end is None or value <= end)


def _select(view: str, metric: str, traces: Iterable[Trace], filters: Sequence[MetricFilter],
            start_ms: int | None, end_ms: int | None) -> list[Row]:
    """The rows MLflow's query reads for this view, after its filters and time range."""
    trace_filters = [f for f in filters if f.view == "trace"]
    rows: list[Row] = []
    for trace in traces:
        info = trace_row(trace)
        if not all(_trace_filter(f, info) for f in trace_filters):
            continue
        if view == TRACES:
            if not _in_range(trace.request_time, start_ms, end_ms):
                continue
            value = {
                "trace_count": trace.trace_id, "session_count": info.session_id,
                "latency": trace.execution_duration,
            }.get(metric, info.columns.get(metric))
            rows.append(Row(value, trace.request_time, {
                "trace_name": info.name, "trace_status": trace.state}))
        elif view == SPANS:
            cost_metric = metric in _COST_KEYS
            if not cost_metric and not _in_range(trace.request_time, start_ms, end_ms):
                continue
            for span in trace.span_list():
                if not _span_matches(span, filters):
                    continue
                start_ns = span.get("start_time_unix_nano") or 0
                if cost_metric and not (
                        (start_ms is None or start_ns >= start_ms * 1_000_000)
                        and (end_ms is None or start_ns < (end_ms + 1) * 1_000_000)):
                    continue
                rows.append(Row(_span_value(span, metric), start_ns / 1_000_000.0, {
                    "span_name": span.get("name"), "span_type": span.get("type"),
                    "span_status": _span_status(span),
                    "span_model_name": _bounded(_json_string(
                        (span.get("attributes") or {}).get(_MODEL_ATTRIBUTE))),
                    "span_model_provider": _bounded(_json_string(
                        (span.get("attributes") or {}).get(_PROVIDER_ATTRIBUTE))),
                }))
        else:
            if not _in_range(trace.request_time, start_ms, end_ms):
                continue
            for a in trace.assessments:
                if not a.valid or not _assessment_matches(a, filters):
                    continue
                value = _assessment_value(a)
                rows.append(Row(
                    a.assessment_id if metric == "assessment_count" else _aggregate_value(value),
                    trace.request_time,
                    {"assessment_name": a.name, "assessment_value": json.dumps(value)}))
    return rows


def _span_value(span: dict[str, Any], metric: str) -> Any:
    if metric == "span_count":
        return span.get("span_id")
    if metric == "latency":
        end, start = span.get("end_time_unix_nano"), span.get("start_time_unix_nano")
        return None if end is None or start is None else (end - start) // 1_000_000
    return analytics.finite_float(_span_cost(span).get(metric))


def _span_matches(span: dict[str, Any], filters: Sequence[MetricFilter]) -> bool:
    for f in filters:
        if f.view != "span":
            continue
        actual = {"name": span.get("name"), "status": _span_status(span),
                  "type": span.get("type")}[f.entity]
        if actual != f.value:
            return False
    return True


def _assessment_matches(a: Any, filters: Sequence[MetricFilter]) -> bool:
    for f in filters:
        if f.view != "assessment":
            continue
        if (a.name if f.entity == "name" else a.kind) != f.value:
            return False
    return True


def _sqlite_sum(values: list[Any]) -> Any:
    """SQLite 3.40's sum(): exact integers while every input is one, else a running double."""
    if all(isinstance(v, int) for v in values):
        total = sum(values)
        if not _BIGINT[0] <= total <= _BIGINT[1]:
            raise MlflowError("integer overflow", "INTERNAL_ERROR")
        return total
    total = 0.0
    for v in values:
        total += v
    return total


def _percentile(values: list[Any], percentile: float) -> float:
    ordered = sorted(float(v) for v in values)
    index = percentile / 100.0 * (len(ordered) - 1)
    low = int(index)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (index - low) * (ordered[high] - ordered[low])


def _aggregate(a: Aggregation, values: list[Any], distinct: bool) -> Any:
    present = [v for v in values if v is not None]
    if a.kind == "COUNT":
        return len(set(present)) if distinct else len(present)
    if not present:
        return None
    if a.kind == "SUM":
        return _sqlite_sum(present)
    if a.kind == "AVG":
        total = 0.0
        for v in present:
            total += v
        return total / len(present)
    if a.kind == "MIN":
        return min(present)
    if a.kind == "MAX":
        return max(present)
    return _percentile(present, a.percentile or 0.0)


def _bucket(time: Any, seconds: int) -> float:
    size = seconds * 1000
    return math.floor(time / (size + 0.0)) * size


def _bucket_label(start_ms: float) -> str:
    try:
        return datetime.fromtimestamp(float(start_ms) / 1000.0, tz=timezone.utc).isoformat()
    except (OverflowError, ValueError, OSError) as error:
        raise Crash(str(error)) from error


def _sort_key(value: Any) -> Any:
    if isinstance(value, str):
        return (1, value.encode("utf-8"))
    return (0, value)


def query(traces: Iterable[Trace], view: str, metric: str, aggregations: Sequence[Aggregation],
          dimensions: Sequence[str], filters: Sequence[str], time_interval_seconds: int | None,
          start_ms: int | None, end_ms: int | None, max_results: int) -> list[dict[str, Any]]:
    """Data points as MLflow's QueryTraceMetrics answers them (validated input)."""
    parsed = []
    for text in filters:  # each is parsed, then checked against the view, in order
        parsed.append(parse_filter(text))
        _check_filter_views(view, parsed[-1:])
    rows = _select(view, metric, traces, parsed, start_ms, end_ms)
    distinct = view == TRACES and metric == "session_count"
    rows = [r for r in rows if r.value is not None]
    keys: list[str] = ([TIME_BUCKET] if time_interval_seconds else []) + list(dimensions)
    if not aggregations and not keys:
        raise MlflowError("Query contains no columns with which to SELECT from.", "BAD_REQUEST")
    groups: dict[tuple[Any, ...], list[Any]] = {}
    for r in rows:
        key = []
        if time_interval_seconds:
            key.append(_bucket(r.time, time_interval_seconds))
        key += [r.dims.get(d) for d in dimensions]
        if any(k is None for k in key):
            continue
        groups.setdefault(tuple(key), []).append(r.value)
    if not keys:
        groups = {(): [r.value for r in rows]}
    ordered = sorted(groups.items(), key=lambda kv: tuple(_sort_key(k) for k in kv[0]))
    if max_results >= 0:
        ordered = ordered[:max_results]
    points = []
    for key, values in ordered:
        dims = {}
        for name, value in zip(keys, key):
            dims[name] = _bucket_label(value) if name == TIME_BUCKET else value
        out = {}
        for a in aggregations:
            result = _aggregate(a, values, distinct)
            if result is not None:
                out[a.label] = result
        if out:
            points.append({"metric_name": metric, "dimensions": dims, "values": out})
    return points
