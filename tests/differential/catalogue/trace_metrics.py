"""Trace metrics (``POST /api/3.0/mlflow/traces/metrics``): counts, latencies, tokens, costs
and assessment values over traces with varied spans, states, sessions, times and assessments,
grouped by dimensions and time buckets, filtered; and invalid requests.

OTel trace ids embed the session suffix (hex), so the traces of this case are its own on a
server shared by the whole session; every time in a request is fixed.
"""

from __future__ import annotations

import json
import random
from typing import Any

from ..model import DB_NOISE, Step, case, post
from .common import new_experiment

METRICS = "/api/3.0/mlflow/traces/metrics"
AJAX_METRICS = "/ajax-api/3.0/mlflow/traces/metrics"
NS = 1_700_000_000_000_000_000
NAMES = ("chat", "search", "plan")


def _value(text: str) -> dict[str, str]:
    return {"stringValue": json.dumps(text) if not isinstance(text, str) else text}


def _span(trace_hex: str, span_hex: str, name: str, start: int, end: int, code: int,
          attributes: dict[str, Any], parent: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {
        "traceId": trace_hex, "spanId": span_hex, "name": name,
        "startTimeUnixNano": str(start), "endTimeUnixNano": str(end),
        "attributes": [{"key": k, "value": {"stringValue": v}} for k, v in attributes.items()],
        "status": {"code": code},
    }
    if parent:
        out["parentSpanId"] = parent
    return out


def load_steps(count: int = 12, seed: int = 7, tag: str = "0") -> list[Step]:
    """Requests that fill experiment ``${e1}`` with ``count`` varied traces.

    Most traces first get their info (state, name tag, a session or token usage in metadata, a
    request time that differs from the spans'), then every trace gets spans with types,
    statuses, models, providers, costs, token usage and session ids, then some assessments
    (feedback of every value kind, expectations). Info goes first because the answer to a
    trace info sent after its spans is not what this case is about.
    """
    rnd = random.Random(seed)
    steps: list[Step] = []
    for i in range(count):
        trace_hex = "${sfx}" + f"{tag}{i:023x}"
        trace_id = "tr-" + trace_hex
        name = NAMES[i % 3]
        start = NS + i * 2_220_000_000_000 + rnd.randrange(10**9)
        root = f"{0x100 + i:016x}"
        root_attributes = {
            "mlflow.spanType": json.dumps("CHAIN"),
            "mlflow.spanInputs": json.dumps({"q": i}),
            "mlflow.traceRequestId": json.dumps(trace_id),
            "session.id": json.dumps(f"s{i % 4}" if i % 5 else ""),
        }
        spans = [_span(trace_hex, root, name, start, start + rnd.randrange(1, 5000) * 1_000_000,
                       2 if i % 4 == 0 else 1, root_attributes)]
        for j in range(rnd.randrange(0, 4)):
            begin = start + rnd.randrange(1, 10**9)
            attributes = {"mlflow.spanType": json.dumps(("LLM", "TOOL", "RETRIEVER")[j % 3]),
                          "mlflow.traceRequestId": json.dumps(trace_id)}
            if j % 3 == 0:
                attributes.update({
                    "mlflow.llm.model": json.dumps(("gpt-x", "claude-y")[i % 2]),
                    "mlflow.llm.provider": json.dumps(("openai", "anthropic")[i % 2]),
                    "mlflow.llm.cost": json.dumps({"input_cost": 0.25 * (i + 1),
                                                   "output_cost": 0.5,
                                                   "total_cost": 0.25 * (i + 1) + 0.5}),
                    "mlflow.chat.tokenUsage": json.dumps({"input_tokens": 10 * i,
                                                          "output_tokens": 5,
                                                          "total_tokens": 10 * i + 5}),
                })
            spans.append(_span(trace_hex, f"{0x200 + 16 * i + j:016x}", f"step-{j}", begin,
                               begin + rnd.randrange(1, 900) * 1_000_000, (1, 2, 0)[(i + j) % 3],
                               attributes, parent=root))
        if i % 3 != 2:
            metadata = {"mlflow.trace.sizeStats": json.dumps({"num_spans": len(spans)})}
            if i % 2:
                metadata["mlflow.trace.session"] = f"sess-{i % 3}"
            if i % 4 == 1:
                metadata["mlflow.trace.tokenUsage"] = json.dumps(
                    {"input_tokens": 7 * i, "output_tokens": 3, "total_tokens": 7 * i + 3})
            info = {
                "trace_id": trace_id,
                "trace_location": {"type": "MLFLOW_EXPERIMENT",
                                   "mlflow_experiment": {"experiment_id": "${e1}"}},
                "request_time": f"2023-11-14T22:{13 + i:02d}:{i * 3 % 60:02d}.{i * 7:03d}Z",
                "execution_duration": f"{i}.{i * 13 % 1000:03d}s",
                "state": ("OK", "ERROR", "OK", "IN_PROGRESS")[i % 4],
                "trace_metadata": metadata,
                "tags": {"mlflow.traceName": name, "team": f"t{i % 2}"},
            }
            steps.append(post("/api/3.0/mlflow/traces", {"trace": {"trace_info": info}}))
        body = {"resourceSpans": [{"resource": {"attributes": []},
                                   "scopeSpans": [{"spans": spans}]}]}
        steps.append(Step("POST", "/v1/traces", data=json.dumps(body),
                          headers={"x-mlflow-experiment-id": "${e1}"}, note=f"spans of trace {i}"))
        for k in range(i % 4):
            assessment: dict[str, Any] = {
                "assessment_name": ("correct", "helpful", "score")[k % 3], "trace_id": trace_id,
                "source": {"source_type": "HUMAN", "source_id": "u"},
                "create_time": "2023-11-15T00:00:00Z", "last_update_time": "2023-11-15T00:00:00Z"}
            if k == 2:
                assessment["expectation"] = {"value": "yes" if i % 2 else {"x": 1}}
            else:
                assessment["feedback"] = {"value": (True, 0.5 * i, "no", "yes", 3)[(i + k) % 5]}
            steps.append(post(f"/api/3.0/mlflow/traces/{trace_id}/assessments",
                              {"assessment": assessment}))
    return steps


def query(path: str = METRICS, note: str = "", **body: Any) -> Step:
    return post(path, {"experiment_ids": ["${e1}"], **body}, note=note)


def agg(kind: str, percentile: float | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"aggregation_type": kind}
    if percentile is not None:
        out["percentile_value"] = percentile
    return out


COUNT = [agg("COUNT")]
STATS = [agg("AVG"), agg("MIN"), agg("MAX"), agg("PERCENTILE", 50), agg("PERCENTILE", 95.5)]
WIDE = {"start_time_ms": 0, "end_time_ms": 9_999_999_999_999}

VALID = [
    dict(view_type="TRACES", metric_name="trace_count", aggregations=COUNT),
    dict(view_type="TRACES", metric_name="trace_count", aggregations=COUNT,
         dimensions=["trace_name", "trace_status"]),
    dict(view_type="TRACES", metric_name="session_count", aggregations=COUNT),
    dict(view_type="TRACES", metric_name="latency", aggregations=STATS, dimensions=["trace_name"]),
    dict(view_type="TRACES", metric_name="input_tokens", aggregations=[agg("SUM"), agg("AVG")]),
    dict(view_type="TRACES", metric_name="total_tokens", aggregations=[agg("SUM")],
         dimensions=["trace_name"]),
    dict(view_type="TRACES", metric_name="trace_count", aggregations=COUNT,
         time_interval_seconds=3600, **WIDE),
    dict(view_type="TRACES", metric_name="trace_count", aggregations=COUNT,
         time_interval_seconds=60, start_time_ms=1_700_000_000_000,
         end_time_ms=1_700_009_999_999, dimensions=["trace_status"]),
    dict(view_type="SPANS", metric_name="span_count", aggregations=COUNT,
         dimensions=["span_type", "span_status"]),
    dict(view_type="SPANS", metric_name="span_count", aggregations=COUNT,
         dimensions=["span_model_name", "span_model_provider"]),
    dict(view_type="SPANS", metric_name="latency",
         aggregations=[agg("AVG"), agg("PERCENTILE", 90)], dimensions=["span_name"]),
    dict(view_type="SPANS", metric_name="total_cost",
         aggregations=[agg("SUM"), agg("AVG"), agg("MAX")], dimensions=["span_model_name"]),
    dict(view_type="SPANS", metric_name="input_cost", aggregations=[agg("SUM")],
         time_interval_seconds=600, start_time_ms=0, end_time_ms=1_700_002_000_000),
    dict(view_type="SPANS", metric_name="span_count", aggregations=COUNT,
         start_time_ms=1_700_000_500_000, end_time_ms=1_700_001_500_000),
    dict(view_type="ASSESSMENTS", metric_name="assessment_count", aggregations=COUNT,
         dimensions=["assessment_name", "assessment_value"]),
    dict(view_type="ASSESSMENTS", metric_name="assessment_value",
         aggregations=[agg("AVG"), agg("MIN"), agg("PERCENTILE", 25)],
         dimensions=["assessment_name"]),
    dict(view_type="ASSESSMENTS", metric_name="assessment_count", aggregations=COUNT,
         time_interval_seconds=300, start_time_ms=1_700_000_500_000,
         end_time_ms=1_700_001_500_000),
    dict(view_type="TRACES", metric_name="trace_count", aggregations=COUNT,
         filters=["trace.status = 'OK'"]),
    dict(view_type="TRACES", metric_name="trace_count", aggregations=COUNT,
         filters=["trace.tag.mlflow.traceName = 'chat'"]),
    dict(view_type="TRACES", metric_name="trace_count", aggregations=COUNT,
         filters=['trace.tag.team = "t1"']),
    dict(view_type="TRACES", metric_name="trace_count", aggregations=COUNT,
         filters=["trace.metadata.mlflow.trace.session = 'sess-1'"]),
    dict(view_type="TRACES", metric_name="trace_count", aggregations=COUNT,
         filters=['trace.metadata.mlflow.trace.tokenUsage = '
                  '\'{"input_tokens": 7, "output_tokens": 3, "total_tokens": 10}\'']),
    dict(view_type="SPANS", metric_name="span_count", aggregations=COUNT,
         filters=["span.type = 'LLM'", "trace.status = 'OK'"]),
    dict(view_type="SPANS", metric_name="span_count", aggregations=COUNT,
         filters=["span.status = 'ERROR'", "span.name = 'step-0'"]),
    dict(view_type="ASSESSMENTS", metric_name="assessment_count", aggregations=COUNT,
         filters=["assessment.type = 'expectation'"]),
    dict(view_type="ASSESSMENTS", metric_name="assessment_count", aggregations=COUNT,
         filters=["trace.status = 'ERROR'", "assessment.name = 'helpful'"]),
    dict(view_type="TRACES", metric_name="trace_count", aggregations=COUNT,
         dimensions=["trace_name"], max_results=2),
    dict(view_type="TRACES", metric_name="trace_count", aggregations=COUNT,
         dimensions=["trace_name"], max_results=0),
    dict(view_type="TRACES", metric_name="trace_count", aggregations=COUNT,
         dimensions=["trace_name"], max_results=-1),
    dict(view_type="TRACES", metric_name="trace_count", aggregations=COUNT, page_token="abc"),
    dict(view_type="BAD", metric_name="latency", aggregations=[agg("AVG")]),
    dict(metric_name="trace_count", aggregations=[{}], view_type="TRACES"),
    dict(view_type="TRACES", metric_name="trace_count", aggregations=[], dimensions=["trace_name"]),
]

FILTER_ERRORS = [
    "span.type = 'LLM'", "assessment.name = 'x'", "trace.status = 'OK' AND trace.status = 'OK'",
    "", "  ", "timestamp = 'x'", "trace.status != 'x'", "trace.status = OK", "trace.status = 1",
    "trace.tag = 'x'", "trace.status.x = 'x'", "foo.status = 'x'", "trace.foo = 'x'",
    "status = 'x'", "trace.status IS NULL", "trace.status = 'a'; x", "trace.status = 'a' OR x",
]

INVALID = [
    {},
    {"experiment_ids": ["${e1}"]},
    {"experiment_ids": ["${e1}"], "view_type": "TRACES"},
    {"experiment_ids": ["${e1}"], "view_type": "TRACES", "metric_name": "trace_count"},
    {"experiment_ids": ["${e1}"], "view_type": "TRACES", "metric_name": "trace_count",
     "aggregations": []},
    {"experiment_ids": ["${e1}"], "view_type": "TRACES", "metric_name": "latency",
     "aggregations": COUNT},
    {"experiment_ids": ["${e1}"], "view_type": "TRACES", "metric_name": "nope",
     "aggregations": COUNT},
    {"experiment_ids": ["${e1}"], "view_type": 0, "metric_name": "latency",
     "aggregations": [agg("AVG")]},
    {"experiment_ids": ["${e1}"], "view_type": "TRACES", "metric_name": "latency",
     "aggregations": [agg("PERCENTILE")]},
    {"experiment_ids": ["${e1}"], "view_type": "TRACES", "metric_name": "latency",
     "aggregations": [agg("PERCENTILE", 101)]},
    {"experiment_ids": ["${e1}"], "view_type": "TRACES", "metric_name": "trace_count",
     "aggregations": [agg("COUNT", 5)]},
    {"experiment_ids": ["${e1}"], "view_type": "TRACES", "metric_name": "trace_count",
     "aggregations": COUNT, "dimensions": ["span_name"]},
    {"experiment_ids": ["${e1}"], "view_type": "TRACES", "metric_name": "trace_count",
     "aggregations": [agg("SUM"), agg("MAX")]},
    {"experiment_ids": ["${e1}"], "view_type": "SPANS", "metric_name": "input_cost",
     "aggregations": [agg("SUM")], "dimensions": ["span_name", "span_type"]},
    {"experiment_ids": ["${e1}"], "view_type": "TRACES", "metric_name": "trace_count",
     "aggregations": COUNT, "time_interval_seconds": 60},
    {"experiment_ids": ["${e1}"], "view_type": "TRACES", "metric_name": "trace_count",
     "aggregations": COUNT, "time_interval_seconds": 60, "start_time_ms": 0},
    {"experiment_ids": ["${e1}", "x"], "view_type": "TRACES", "metric_name": "trace_count",
     "aggregations": COUNT},
    {"experiment_ids": [], "view_type": "TRACES", "metric_name": "trace_count",
     "aggregations": COUNT},
    {"experiment_ids": "x", "view_type": "TRACES", "metric_name": "trace_count",
     "aggregations": COUNT},
    {"experiment_ids": ["${e1}"], "view_type": "TRACES", "metric_name": "trace_count",
     "aggregations": "x"},
    {"experiment_ids": ["${e1}"], "view_type": "TRACES", "metric_name": 5, "aggregations": COUNT},
    {"experiment_ids": ["${e1}"], "view_type": "TRACES", "metric_name": "trace_count",
     "aggregations": COUNT, "time_interval_seconds": "x"},
    {"experiment_ids": ["${e1}"], "view_type": "TRACES", "metric_name": "trace_count",
     "aggregations": COUNT, "dimensions": "trace_name"},
    {"experiment_ids": ["${e1}"], "view_type": "TRACES", "metric_name": "trace_count",
     "aggregations": COUNT, "filters": [5]},
    {"experiment_ids": ["${e1}"], "view_type": "TRACES", "metric_name": "trace_count",
     "aggregations": [{"aggregation_type": "NOPE"}]},
    {"experiment_ids": ["${e1}"], "view_type": "TRACES", "metric_name": "trace_count",
     "aggregations": [{"aggregation_type": 9}]},
]

def _finalized_then_spans(n: int, attributes: dict[str, str], read: bool = True) -> list[Step]:
    """A trace's info first (request time 23:00, 1 s), then spans an hour earlier.

    ``read=False`` for spans with a session or token usage: MLflow's trace info then shows
    them as metadata derived from its analytics columns, which fakeflow's trace info does not
    do yet (the metrics query below still sees them)."""
    trace_hex = "${sfx}" + f"f{n:023x}"
    info = {"trace_id": "tr-" + trace_hex,
            "trace_location": {"type": "MLFLOW_EXPERIMENT",
                               "mlflow_experiment": {"experiment_id": "${e1}"}},
            "request_time": "2023-11-14T23:00:00Z", "execution_duration": "1s", "state": "OK"}
    spans = [_span(trace_hex, "00000000000000a1", "root", NS, NS + 5_000_000, 1, attributes)]
    body = {"resourceSpans": [{"resource": {"attributes": []}, "scopeSpans": [{"spans": spans}]}]}
    return [post("/api/3.0/mlflow/traces", {"trace": {"trace_info": info}}),
            Step("POST", "/v1/traces", data=json.dumps(body),
                 headers={"x-mlflow-experiment-id": "${e1}"}),
            *([Step("GET", f"/api/3.0/mlflow/traces/tr-{trace_hex}")] if read else [])]


CASES = [
    case(
        "trace-metrics-finalized-time",
        new_experiment("e1"),
        *_finalized_then_spans(1, {}),
        *_finalized_then_spans(2, {"session.id": json.dumps("s")}, read=False),
        *_finalized_then_spans(3, {"mlflow.chat.tokenUsage": json.dumps({"input_tokens": 1})},
                               read=False),
        *_finalized_then_spans(4, {"session.id": json.dumps("")}),
        query(view_type="TRACES", metric_name="latency", aggregations=[agg("MAX"), agg("MIN")]),
        query(view_type="TRACES", metric_name="session_count", aggregations=COUNT),
        query(view_type="TRACES", metric_name="input_tokens", aggregations=[agg("SUM")]),
        doc="Spans sent after a trace's info widen its time range unless they carry token "
            "usage, a cost or a session (MLflow honours the finalized info only then).",
    ),
    case(
        "trace-metrics-queries",
        new_experiment("e1"),
        *load_steps(),
        *[query(**body) for body in VALID],
        query(AJAX_METRICS, **VALID[1]),
        doc="Every view, metric family, dimension, time bucket and filter kind on varied data.",
    ),
    case(
        "trace-metrics-invalid",
        new_experiment("e1"),
        *[post(METRICS, body) for body in INVALID],
        *[query(view_type="TRACES", metric_name="trace_count", aggregations=COUNT,
                filters=[text]) for text in FILTER_ERRORS],
        query(view_type="TRACES", metric_name="trace_count", aggregations=COUNT,
              filters=["span.name = 'x'", "bad filter"], note="first filter's error wins"),
        query(view_type="TRACES", metric_name="trace_count", aggregations=COUNT,
              filters=["trace.status = 'OK'", "bad filter", "span.name = 'x'"]),
        post(AJAX_METRICS, INVALID[3]),
        Step("GET", METRICS),
        Step("POST", METRICS, data="{bad", note="bad JSON reads as an empty request"),
    ),
]


CORRELATION = "/api/3.0/mlflow/traces/calculate-filter-correlation"


def correlate(first: Any, second: Any, base: Any = None, exps: Any = ("${e1}",),
              path: str = CORRELATION, **kw: Any) -> Step:
    body = {"experiment_ids": list(exps), "filter_string1": first, "filter_string2": second}
    if base is not None:
        body["base_filter"] = base
    return post(path, {k: v for k, v in body.items() if v is not None}, **kw)


CASES.append(case(
    "trace-filter-correlation",
    new_experiment("e1"),
    new_experiment("e2", name="${p}-2"),
    *load_steps(),
    correlate("status = 'OK'", "status = 'ERROR'"),
    correlate("status = 'OK'", "status = 'OK'"),
    correlate("span.name = 'chat'", "trace.status = 'ERROR'"),
    correlate("span.type = 'LLM'", "feedback.relevance > 0.5"),
    correlate("name = 'chat'", "span.name LIKE '%'"),
    correlate("span.name LIKE '%'", "span.name LIKE '%'"),
    correlate("status = 'OK'", "name = 'search'", base="timestamp_ms > 0"),
    correlate("status = 'OK'", "name = 'search'", base=""),
    correlate("status = 'OK'", "name = 'search'", base="status = 'OK' AND"),
    correlate("status = 'NOPE'", "status = 'OK'"),
    correlate("status = 'OK'", "status = 'OK'", exps=()),
    correlate("status = 'OK'", "status = 'OK'", exps=("${e1}", "${e1}", "${e2}")),
    correlate("status = 'OK'", "status = 'OK'", exps=(" ${e1}",)),
    correlate("status = 'OK'", "status = 'OK'", exps=("999999",)),
    correlate("status = 'OK'", "status = 'ERROR'", path="/ajax-api/3.0/mlflow/traces/"
                                                         "calculate-filter-correlation"),
    # invalid calls
    correlate("status = 'OK'", "status = 'OK'", exps=("x",)),
    correlate("status = 'OK'", "status = 'OK'", exps=("9" * 30,)),
    correlate("", "status = 'OK'"),
    correlate("status = 'OK'", ""),
    correlate(None, "status = 'OK'"),
    correlate("bad filter", "also bad"),
    correlate("status = 'OK'", "status = 'OK' OR status = 'ERROR'"),
    correlate("status = 'OK'", "status = 'OK'", base="bad"),
    correlate("tag.x IN ('a')", "status = 'OK'"),
    correlate("name = ('a')", "status = 'OK'", relax=frozenset({DB_NOISE})),
    correlate(1, "status = 'OK'"),
    correlate("status = 'OK'", "status = 'OK'", base=5),
    post(CORRELATION, {"experiment_ids": "7", "filter_string1": "status = 'OK'",
                       "filter_string2": "status = 'OK'"}),
    post(CORRELATION, {"filter_string1": "status = 'OK'", "filter_string2": "status = 'OK'"}),
    Step("GET", CORRELATION),
    post("/api/2.0/mlflow/traces/calculate-filter-correlation",
         {"experiment_ids": ["${e1}"], "filter_string1": "a", "filter_string2": "b"}),
))
