"""Trace analytics: ``POST /{api,ajax-api}/3.0/mlflow/traces/metrics`` (QueryTraceMetrics) and
``traces/calculate-filter-correlation``. Parse the request as MLflow's handler does, copy the
experiments' traces under the lock, compute outside it."""

from __future__ import annotations

import math
from typing import Any

from werkzeug.exceptions import InternalServerError
from werkzeug.wrappers import Request

from fakeflow.search import trace_metrics as tm
from fakeflow.state.errors import invalid
from fakeflow.state.tracking import TrackingStore
from fakeflow.state.validation import check_sqlite_integer, parse_experiment_id
from fakeflow.web.messages import Field, M, Message, S
from fakeflow.web.parsing import ARRAY, INTLIKE, ITEM_STRINGS, REQUIRED, STRING, read_request

Payload = dict[str, Any]

METRIC_AGGREGATION = Message("MetricAggregation", (
    Field("aggregation_type", "enum", enum=tm.AGGREGATION_TYPES),
    Field("percentile_value", "double"),
))
QUERY_TRACE_METRICS = Message("QueryTraceMetrics", (
    S("experiment_ids", repeated=True),
    Field("view_type", "enum", enum=tm.VIEW_TYPES),
    S("metric_name"),
    M("aggregations", METRIC_AGGREGATION),
    S("dimensions", repeated=True),
    S("filters", repeated=True),
    Field("time_interval_seconds", "int64"),
    Field("start_time_ms", "int64"),
    Field("end_time_ms", "int64"),
    Field("max_results", "int32"),
    S("page_token"),
))
_SCHEMA = [
    ("experiment_ids", [ARRAY, REQUIRED, ITEM_STRINGS]),
    ("view_type", [REQUIRED]),
    ("metric_name", [STRING, REQUIRED]),
    ("aggregations", [ARRAY, REQUIRED]),
    ("dimensions", [ARRAY, ITEM_STRINGS]),
    ("filters", [ARRAY, ITEM_STRINGS]),
    ("time_interval_seconds", [INTLIKE]),
    ("start_time_ms", [INTLIKE]),
    ("end_time_ms", [INTLIKE]),
    ("max_results", [INTLIKE]),
    ("page_token", [STRING]),
]


def query_trace_metrics(store: TrackingStore, request: Request) -> Payload:
    msg = read_request(request, QUERY_TRACE_METRICS, _SCHEMA)
    view = msg.get("view_type", tm.TRACES)
    metric = msg.get("metric_name", "")
    dimensions = list(msg.get("dimensions", []))
    try:
        aggregations = [tm.aggregation(a.get("aggregation_type", "COUNT"),
                                       a.get("percentile_value"))
                        for a in msg.get("aggregations", [])]
    except tm.Crash:
        raise InternalServerError()  # MLflow's ValueError escapes its handler
    tm.validate(view, metric, aggregations, dimensions)
    interval = msg.get("time_interval_seconds")
    start, end = msg.get("start_time_ms"), msg.get("end_time_ms")
    if interval and (start is None or end is None):
        raise invalid("start_time_ms and end_time_ms are required if time_interval_seconds is set")
    experiment_ids = [parse_experiment_id(e) for e in msg.get("experiment_ids", [])]
    for number in experiment_ids:
        check_sqlite_integer(number)
    traces = store.traces.in_experiments([str(e) for e in experiment_ids])
    try:
        points = tm.query(traces, view, metric, aggregations, dimensions,
                          list(msg.get("filters", [])), interval or None, start, end,
                          msg.get("max_results", tm.MAX_RESULTS))
    except tm.Crash:
        raise InternalServerError()
    out: Payload = {}
    if points:
        out["data_points"] = [_point(p) for p in points]
    return out


def _point(point: dict[str, Any]) -> Payload:
    out: Payload = {"metric_name": point["metric_name"]}
    if point["dimensions"]:
        out["dimensions"] = point["dimensions"]
    out["values"] = {k: float(v) for k, v in point["values"].items()}
    return out


CALCULATE_CORRELATION = Message("CalculateTraceFilterCorrelation", (
    S("experiment_ids", repeated=True), S("filter_string1"), S("filter_string2"),
    S("base_filter"),
))


def calculate_filter_correlation(store: TrackingStore, request: Request) -> Payload:
    """``POST traces/calculate-filter-correlation`` (``TracingClient.
    calculate_trace_filter_correlation``): NPMI of two trace filters; NaN scores are left out."""
    from fakeflow.search.trace_correlation import correlate

    msg = read_request(request, CALCULATE_CORRELATION, [
        ("experiment_ids", [ARRAY, REQUIRED, ITEM_STRINGS]),
        ("filter_string1", [STRING, REQUIRED]), ("filter_string2", [STRING, REQUIRED]),
        ("base_filter", [STRING]),
    ])
    found = correlate(store.traces, list(msg.get("experiment_ids", [])),
                      msg.get("filter_string1", ""), msg.get("filter_string2", ""),
                      msg.get("base_filter"))
    out: Payload = {}
    for key in ("npmi", "npmi_smoothed"):
        value = getattr(found, key)
        if not math.isnan(value):
            out[key] = value
    out.update(filter1_count=found.filter1_count, filter2_count=found.filter2_count,
               joint_count=found.joint_count, total_count=found.total_count)
    return out
