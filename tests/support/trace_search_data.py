"""A trace data set for search tests, written through the HTTP API to any server.

Traces with spans (names, types, statuses, attributes of every OTLP value kind, unicode),
feedback and expectation assessments of string, number and bool values (one made invalid by an
override), tags, metadata, a source run and run links, prompt links, equal request times, a
trace in a second experiment and a deleted one. Trace ids are chosen by the client, so both servers hold the same
ids; experiment and run ids are captured per server under symbolic names (``${e1}``, ``${r1}``).
"""

from __future__ import annotations

import json
from typing import Any, Callable

#: send(method, path, body_json, raw_data, headers) -> (status, payload)
Send = Callable[[str, str, Any, str | None, dict[str, str] | None], tuple[int, Any]]

V3 = "/api/3.0/mlflow/traces"
V2 = "/api/2.0/mlflow/traces"
API2 = "/api/2.0/mlflow/"
NS = 1_700_000_000_000_000_000
MS = NS // 1_000_000


def trace_hex(n: int) -> str:
    return f"{n:032x}"


def trace_id(n: int) -> str:
    return "tr-" + trace_hex(n)


def _value(v: Any) -> dict[str, Any]:
    if isinstance(v, bool):
        return {"boolValue": v}
    if isinstance(v, int):
        return {"intValue": str(v)}
    if isinstance(v, float):
        return {"doubleValue": v}
    if isinstance(v, list):
        return {"arrayValue": {"values": [_value(x) for x in v]}}
    return {"stringValue": v}


def span(n: int, sid: int, name: str, start_ms: int, dur_ms: int, kind: str | None = None,
         parent: int | None = None, code: int = 1, attributes: dict[str, Any] | None = None
         ) -> dict[str, Any]:
    attrs = dict(attributes or {})
    if kind is not None:
        attrs["mlflow.spanType"] = json.dumps(kind)
    out: dict[str, Any] = {
        "traceId": trace_hex(n), "spanId": f"{sid:016x}", "name": name,
        "startTimeUnixNano": str((MS + start_ms) * 1_000_000),
        "endTimeUnixNano": str((MS + start_ms + dur_ms) * 1_000_000),
        "attributes": [{"key": k, "value": _value(v)} for k, v in attrs.items()],
        "status": {"code": code},
    }
    if parent is not None:
        out["parentSpanId"] = f"{parent:016x}"
    return out


TOKENS = '{"input_tokens": 1, "output_tokens": 2, "total_tokens": 3}'

#: n -> (request time offset ms, duration ms, state, tags, metadata, preview, spans)
TRACES: dict[int, dict[str, Any]] = {
    1: {"at": 10, "dur": 100, "state": "OK", "tags": {"team": "a", "mlflow.traceName": "alpha"},
        "meta": {"mlflow.sourceRun": "${r1}", "k": "v"}, "preview": '{"q": "hello"}',
        "spans": [(1, "root", 0, 100, "CHAIN", None, 1,
                   {"mlflow.spanInputs": json.dumps({"q": "hello"}), "model": "gpt-x"}),
                  (2, "llm", 10, 50, "LLM", 1, 1, {"temperature": 0.5, "n": 3, "flag": True})]},
    2: {"at": 20, "dur": 5, "state": "ERROR",
        "tags": {"team": "b", "a.b": "c", "mlflow.traceName": "beta"},
        "meta": {"k": "V", "mlflow.sourceRun": "${r2}"}, "preview": "Ärger %_",
        "spans": [(3, "root", 0, 5, "AGENT", None, 2, {"model": "claude", "note": "Ärger"}),
                  (4, "tool_call", 1, 2, "TOOL", 3, 2, {"list": ["x", 1]})]},
    3: {"at": 20, "dur": None, "state": "IN_PROGRESS", "tags": {"team": "A"}, "meta": {},
        "preview": None, "spans": []},
    4: {"at": 30, "dur": 0, "state": "OK", "tags": {"mlflow.traceName": "alpha"},
        "meta": {"mlflow.sourceRun": "${r2}", "empty": ""}, "preview": "x",
        "spans": [(5, "Root", 0, 1, "RETRIEVER", None, 0, {"model": "gpt-y", "k": "a.b"})]},
    5: {"at": 40, "dur": 7, "state": "OK", "tags": {"team": "a"}, "meta": {}, "preview": None,
        "spans": [(6, "root", 0, 7, None, None, 1, {})]},
    6: {"at": 50, "dur": 3, "state": "OK", "tags": {"team": "a"}, "meta": {}, "preview": None,
        "spans": [], "experiment": "e2"},
    7: {"at": 60, "dur": 1, "state": "OK", "tags": {"team": "gone"}, "meta": {}, "preview": None,
        "spans": [], "deleted": True},
    # a third experiment with sessions: an assessment made for a session covers its traces
    8: {"at": 70, "dur": 1, "state": "OK", "tags": {}, "meta": {"mlflow.trace.session": "s1"},
        "preview": None, "spans": [], "experiment": "e3"},
    9: {"at": 80, "dur": 1, "state": "OK", "tags": {}, "meta": {"mlflow.trace.session": "s1"},
        "preview": None, "spans": [], "experiment": "e3"},
    10: {"at": 90, "dur": 1, "state": "OK", "tags": {}, "meta": {"mlflow.trace.session": "s2"},
         "preview": None, "spans": [], "experiment": "e3"},
    11: {"at": 95, "dur": 1, "state": "OK", "tags": {},
         "meta": {"mlflow.trace.tokenUsage": TOKENS, "mlflow.trace.cost": '{"total_cost": 0.5}'},
         "preview": None, "spans": [], "experiment": "e3"},
}

#: (trace n, kind, name, value, valid)
ASSESSMENTS: list[tuple[int, str, str, Any, bool]] = [
    (1, "feedback", "q", "yes", True),
    (1, "feedback", "score", 0.8, True),
    (1, "expectation", "exp", "Paris", True),
    (2, "feedback", "q", True, True),
    (2, "feedback", "score", 3, True),
    (2, "expectation", "exp", {"a": [1, 2]}, True),
    (4, "feedback", "q", "no", True),
    (4, "feedback", "score", 0.2, False),
    (5, "feedback", "score", 10, True),
    (5, "expectation", "exp", 1, True),
    (5, "feedback", "q", "Ärger", True),
    (8, "feedback", "sess", "good", True),
    (10, "feedback", "sess", "good", True),
]
#: assessments (by index in ASSESSMENTS) made for the trace's whole session
SESSION_ASSESSMENTS = {11: "s1"}
#: trace n -> prompt versions linked to it (the deleted trace's link outlives it)
PROMPT_LINKS = {1: ["qa/1", "qa/2"], 2: ["qa/1"], 5: ["Paris/3"], 7: ["qa/2"]}

STRINGS = ("a", "A", "b", "c", "v", "V", "alpha", "beta", "yes", "no", "true", "Paris", '"yes"',
           "0.8", "3", "3.0", "qa/1", "qa/2", "Paris/3", "root", "Root", "llm", "LLM", "TOOL",
           "CHAIN", "OK", "ERROR",
           "IN_PROGRESS", "UNSET", "gpt-x", "claude", "Ärger", "x", "hello", "${r1}", "${r2}",
           "tr-" + trace_hex(1), "team", "a.b", "%", "%a%", "%Ä%", "_", "s1", "good", TOKENS,
           '{"total_cost": 0.5}')


def seed(send: Callable[..., tuple[int, Any]], capture: Callable[[str, str], None],
         suffix: str = "") -> None:
    """Write the data set; ``capture(name, value)`` records per-server ids; ``suffix`` makes
    the experiment names unique on a server used more than once."""
    for name in ("e1", "e2", "e3"):
        status, payload = send("POST", API2 + "experiments/create",
                               {"name": f"trace-search-{name}{suffix}"}, None, None)
        assert status == 200, payload
        capture(name, payload["experiment_id"])
    for name in ("r1", "r2"):
        status, payload = send("POST", API2 + "runs/create", {"experiment_id": "${e1}"}, None,
                               None)
        assert status == 200, payload
        capture(name, payload["run"]["info"]["run_id"])
    for n, t in TRACES.items():
        exp = "${" + t.get("experiment", "e1") + "}"
        if t["spans"]:
            spans = [span(n, sid, name, t["at"] + s, d, kind, parent, code, attrs)
                     for sid, name, s, d, kind, parent, code, attrs in t["spans"]]
            body = {"resourceSpans": [{"resource": {"attributes": []},
                                       "scopeSpans": [{"spans": spans}]}]}
            status, payload = send("POST", "/v1/traces", None, json.dumps(body),
                                   {"x-mlflow-experiment-id": exp,
                                    "Content-Type": "application/json"})
            assert status == 200, payload
        info: dict[str, Any] = {
            "trace_id": trace_id(n),
            "trace_location": {"type": "MLFLOW_EXPERIMENT",
                               "mlflow_experiment": {"experiment_id": exp}},
            "request_time": _iso(MS + t["at"]), "state": t["state"],
            "tags": t["tags"], "trace_metadata": t["meta"],
        }
        if t["dur"] is not None:
            info["execution_duration"] = f"{t['dur'] / 1000:.3f}s"
        if t["preview"] is not None:
            info["request_preview"] = t["preview"]
        status, payload = send("POST", V3, {"trace": {"trace_info": info}}, None, None)
        assert status == 200, payload
    status, payload = send("POST", V2 + "/link-to-run",
                           {"trace_ids": [trace_id(4), trace_id(3)], "run_id": "${r1}"}, None, None)
    assert status == 200, payload
    for n, prompts in PROMPT_LINKS.items():
        name_versions = [p.split("/") for p in prompts]
        status, payload = send("POST", V2 + "/link-prompts", {
            "trace_id": trace_id(n),
            "prompt_versions": [{"name": name, "version": v} for name, v in name_versions]},
            None, None)
        assert status == 200, payload
    for index, (n, kind, name, value, valid) in enumerate(ASSESSMENTS):
        body = {"assessment": {"assessment_name": name, "trace_id": trace_id(n),
                               "source": {"source_type": "HUMAN", "source_id": "me"},
                               kind: {"value": value}}}
        if index in SESSION_ASSESSMENTS:
            body["assessment"]["metadata"] = {"mlflow.trace.session": SESSION_ASSESSMENTS[index]}
        status, payload = send("POST", f"{V3}/{trace_id(n)}/assessments", body, None, None)
        assert status == 200, payload
        if not valid:  # an override makes the first one invalid
            body["assessment"][kind] = {"value": 0.9}
            body["assessment"]["overrides"] = payload["assessment"]["assessment_id"]
            status, payload = send("POST", f"{V3}/{trace_id(n)}/assessments", body, None, None)
            assert status == 200, payload
    for n, t in TRACES.items():
        if t.get("deleted"):
            status, payload = send("POST", V2 + "/delete-traces",
                                   {"experiment_id": "${e1}", "request_ids": [trace_id(n)]},
                                   None, None)
            assert status == 200, payload


def _iso(ms: int) -> str:
    from datetime import datetime, timezone

    dt = datetime.fromtimestamp(ms / 1000, tz=timezone.utc)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"
