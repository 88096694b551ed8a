"""MLflow 3 tracing: trace info (v3), OTLP span export, reads, search, tags, deletion and
assessments; valid and invalid calls.

Trace ids are chosen by the client (``tr-${p}-…`` for trace info, fixed hex OTel ids per case
for spans), and every time in a request is fixed, so answers compare without masking clocks.
"""

from __future__ import annotations

import json
from typing import Any

from ..model import DB_NOISE, NO_BODY, Step, case, get, post
from .common import new_experiment

V3 = "/api/3.0/mlflow/traces"
AJAX_V3 = "/ajax-api/3.0/mlflow/traces"
V2 = "/api/2.0/mlflow/traces"
T = "2023-11-14T22:13:20.000Z"  # 1_700_000_000_000 ms


def start(trace_id: str, exp: str = "${e1}", request_time: str = T, **info: Any) -> Step:
    body = {"trace": {"trace_info": {
        "trace_id": trace_id,
        "trace_location": {"type": "MLFLOW_EXPERIMENT", "mlflow_experiment": {"experiment_id": exp}},
        "request_time": request_time, **info,
    }}}
    return post(V3, body)


def patch(path: str, body: Any, **kw: Any) -> Step:
    return Step("PATCH", path, json=body, **kw)


def delete(path: str, body: Any = NO_BODY, **kw: Any) -> Step:
    return Step("DELETE", path, json=body, **kw)


def otlp(spans: list[dict[str, Any]], exp: str = "${e1}", **kw: Any) -> Step:
    body = {"resourceSpans": [{"resource": {"attributes": [
        {"key": "service.name", "value": {"stringValue": "svc"}},
        {"key": "telemetry.sdk.name", "value": {"stringValue": "x"}}]},
        "scopeSpans": [{"spans": spans}]}]}
    headers = {"x-mlflow-experiment-id": exp} if exp else {}
    return Step("POST", "/v1/traces", data=json.dumps(body), headers=headers, **kw)


def span(trace_hex: str, span_hex: str, name: str, start_ns: int, end_ns: int,
         parent_hex: str = "", attributes: dict[str, Any] | None = None, code: int = 1,
         message: str = "", events: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "traceId": trace_hex, "spanId": span_hex, "name": name,
        "startTimeUnixNano": str(start_ns), "endTimeUnixNano": str(end_ns),
        "attributes": [{"key": k, "value": v} for k, v in (attributes or {}).items()],
        "status": {"code": code, "message": message},
    }
    if parent_hex:
        out["parentSpanId"] = parent_hex
    if events:
        out["events"] = events
    return out


NS = 1_700_000_000_000_000_000
TA = "0a" * 16
TB = "0b" * 16
TD = "0d" * 16  # each case has OTel trace ids of its own: one server serves every case
TE = "0e" * 16
ROOT_ATTRS = {
    "mlflow.spanType": {"stringValue": "CHAIN"},
    "mlflow.spanInputs": {"stringValue": json.dumps({"question": "why?"})},
    "mlflow.spanOutputs": {"stringValue": json.dumps("because")},
    "n": {"intValue": "3"}, "f": {"doubleValue": 1.5}, "b": {"boolValue": True},
    "l": {"arrayValue": {"values": [{"stringValue": "x"}, {"intValue": "1"}]}},
    "mlflow.traceTag.team": {"stringValue": "search"},
}


def info(trace_id: str) -> Step:
    return get(f"{V3}/{trace_id}")


TAGS = {"mlflow.traceName": "root-op", "team": "a"}
META = {"mlflow.user": "u", "mlflow.trace_schema.version": "3", "mlflow.sourceRun": "r1"}

CASES = [
    case(
        "traces-start-get",
        new_experiment("e1"),
        start("tr-${p}-a", execution_duration="1.500s", state="OK", trace_metadata=META,
              tags=TAGS, request_preview="{\"q\": 1}", response_preview="\"a\"",
              client_request_id="c-1"),
        info("tr-${p}-a"),
        get(f"{AJAX_V3}/tr-${{p}}-a"),
        get(f"{V3}/get", {"trace_id": "tr-${p}-a", "allow_partial": "true"}),
        Step("POST", f"{V3}/batchGetInfos", json={"trace_ids": ["tr-${p}-a", "tr-none"]}),
        get(f"{V3}/batchGet", {"trace_ids": ["tr-${p}-a"]}),
        get(f"{V3}/batchGet", {"trace_ids": ["tr-${p}-a"], "experiment_ids": ["0"]}),
        start("tr-${p}-b", state="IN_PROGRESS"),
        info("tr-${p}-b"),
        start("tr-${p}-c", execution_duration="0s", state="ERROR"),
        info("tr-${p}-c"),
        info("tr-${p}-missing"),
        get(f"{V3}/get", {"trace_id": "tr-${p}-missing", "allow_partial": "true"}),
        get(f"{V3}/get", {"allow_partial": "true"}),
    ),
    case(
        "traces-start-invalid",
        new_experiment("e1"),
        post(V3, {}),
        post(V3, {"trace": None}),
        post(V3, {"trace": "x"}),
        post(V3, {"trace": {"trace_info": "x"}}),
        post(V3, {"trace": {"trace_info": {"trace_id": "tr-${p}-q", "request_time": "bad"}}}),
        start("tr-${p}-d", execution_duration="bad", state="OK"),
        info("tr-${p}-d"),
        start("tr-${p}-s", state="NOPE"),
        start("tr-${p}-n", state=2),
        start("tr-${p}-x", exp="999999"),
        post("experiments/delete", {"experiment_id": "${e1}"}),
        start("tr-${p}-y"),
    ),
    case(
        "traces-otlp-json",
        new_experiment("e1"),
        otlp([
            span(TA, "00000000000000a1", "root", NS, NS + 9_000_000, attributes=ROOT_ATTRS),
            span(TA, "00000000000000a2", "child", NS + 1_000_000, NS + 2_000_000,
                 parent_hex="00000000000000a1", code=2, message="boom",
                 attributes={"mlflow.spanType": {"stringValue": "TOOL"}},
                 events=[{"timeUnixNano": str(NS + 1_500_000), "name": "exception",
                          "attributes": [{"key": "exception.message",
                                          "value": {"stringValue": "boom"}}]}]),
        ]),
        info("tr-" + TA),
        get(f"{V3}/get", {"trace_id": "tr-" + TA}),
        start("tr-" + TA, execution_duration="0.009s", state="OK",
              trace_metadata={"mlflow.trace.sizeStats": json.dumps({"num_spans": 2})},
              tags={"mlflow.traceName": "root"}),
        get(f"{V3}/get", {"trace_id": "tr-" + TA}),
        otlp([span(TB, "00000000000000b2", "orphan", NS, NS + 5_000_000,
                   parent_hex="00000000000000b1", code=0)]),
        info("tr-" + TB),
        get(f"{V3}/get", {"trace_id": "tr-" + TB, "allow_partial": "true"}),
    ),
    case(
        "traces-otlp-invalid",
        new_experiment("e1"),
        otlp([span(TA, "00000000000000c1", "x", NS, NS + 1)], exp=""),
        otlp([span(TA, "00000000000000c1", "x", NS, NS + 1)], content_type="text/plain"),
        Step("POST", "/v1/traces", data="{not json", headers={"x-mlflow-experiment-id": "${e1}"}),
        Step("POST", "/v1/traces", data=json.dumps({"resourceSpans": []}),
             headers={"x-mlflow-experiment-id": "${e1}"}),
        Step("POST", "/v1/traces", data="garbage", content_type="application/x-protobuf",
             headers={"x-mlflow-experiment-id": "${e1}"}),
        otlp([{"name": "no ids", "startTimeUnixNano": "1"}]),
        otlp([span("0c" * 16, "00000000000000c1", "x", NS, NS + 1)], exp="999999"),
    ),
    case(
        "traces-search",
        new_experiment("e1"),
        new_experiment("e2", name="${p}-2"),
        start("tr-${p}-1", request_time="2023-11-14T22:13:20.000Z", execution_duration="1s",
              state="OK", tags={"mlflow.traceName": "alpha", "k": "v1"},
              trace_metadata={"m": "x"}),
        start("tr-${p}-2", request_time="2023-11-14T22:13:21.000Z", execution_duration="3s",
              state="ERROR", tags={"mlflow.traceName": "beta", "k": "v2"}),
        start("tr-${p}-3", request_time="2023-11-14T22:13:22.000Z", execution_duration="2s",
              state="OK", tags={"mlflow.traceName": "alpha"}, trace_metadata={"m": "y"}),
        start("tr-${p}-4", exp="${e2}", request_time="2023-11-14T22:13:19.000Z", state="OK"),
        *[post(f"{V3}/search", {"locations": [{"type": "MLFLOW_EXPERIMENT",
                                               "mlflow_experiment": {"experiment_id": "${e1}"}}],
                                "max_results": 100, **extra})
          for extra in (
              {},
              {"filter": "status = 'OK'"},
              {"filter": "attributes.status = 'ERROR'"},
              {"filter": "trace.status != 'OK'"},
              {"filter": "tags.k = 'v1'"},
              {"filter": "tags.k LIKE 'v%'"},
              {"filter": "metadata.m = 'y'"},
              {"filter": "name = 'alpha'"},
              {"filter": "trace.name = 'beta'"},
              {"filter": "timestamp_ms > 1700000000000"},
              {"filter": "timestamp >= 1700000001000 AND status = 'OK'"},
              {"filter": "execution_time_ms < 2500"},
              {"filter": "status IN ('ERROR', 'IN_PROGRESS')"},
              {"filter": "request_id = 'tr-${p}-2'"},
              {"order_by": ["timestamp_ms ASC"]},
              {"order_by": ["execution_time_ms DESC"]},
              {"order_by": ["name"]},
              {"order_by": ["status", "timestamp_ms"]},
          )],
        post(f"{V3}/search", {"locations": [
            {"type": "MLFLOW_EXPERIMENT", "mlflow_experiment": {"experiment_id": "${e1}"}},
            {"type": "MLFLOW_EXPERIMENT", "mlflow_experiment": {"experiment_id": "${e2}"}}],
            "max_results": 2}, capture={"tok": "next_page_token"}),
        post(f"{V3}/search", {"locations": [
            {"type": "MLFLOW_EXPERIMENT", "mlflow_experiment": {"experiment_id": "${e1}"}},
            {"type": "MLFLOW_EXPERIMENT", "mlflow_experiment": {"experiment_id": "${e2}"}}],
            "max_results": 2, "page_token": "${tok}"}, capture={"tok2": "next_page_token"}),
        post(f"{V3}/search", {"locations": [
            {"type": "MLFLOW_EXPERIMENT", "mlflow_experiment": {"experiment_id": "${e1}"}},
            {"type": "MLFLOW_EXPERIMENT", "mlflow_experiment": {"experiment_id": "${e2}"}}],
            "max_results": 2, "page_token": "${tok2}"}),
    ),
    case(
        "traces-search-spans",
        new_experiment("e1"),
        otlp([
            span(TD, "00000000000000d1", "agent", NS, NS + 9_000_000,
                 attributes={"mlflow.spanType": {"stringValue": '"AGENT"'}}),
            span(TD, "00000000000000d2", "search_web", NS + 1_000_000, NS + 2_000_000,
                 parent_hex="00000000000000d1", code=2, message="timeout",
                 attributes={"mlflow.spanType": {"stringValue": "TOOL"}}),
            span(TE, "00000000000000e1", "chat", NS + 5_000_000, NS + 8_000_000,
                 attributes={"mlflow.spanType": {"stringValue": '"LLM"'}}),
        ]),
        *[post(f"{V3}/search", {"locations": [{"type": "MLFLOW_EXPERIMENT",
                                               "mlflow_experiment": {"experiment_id": "${e1}"}}],
                                "max_results": 10, "filter": text})
          for text in (
              "span.name = 'search_web'",
              "span.name != 'agent'",
              "span.name LIKE 'search%'",
              "span.name ILIKE 'CHAT'",
              "span.type = 'TOOL'",
              "span.type = 'AGENT'",
              "span.type IN ('LLM', 'RETRIEVER')",
              "span.status = 'ERROR'",
              "span.status = 'OK' AND span.name = 'chat'",
              "span.name = 'nothing'",
          )],
    ),
    case(
        "traces-link-to-run",
        new_experiment("e1"),
        post("runs/create", {"experiment_id": "${e1}"}, capture={"r1": "run.info.run_id"}),
        start("tr-${p}-1", trace_metadata={"mlflow.sourceRun": "${r1}"}),
        start("tr-${p}-2"),
        start("tr-${p}-3"),
        post(f"{V2}/link-to-run", {"trace_ids": ["tr-${p}-2", "tr-${p}-none"], "run_id": "${r1}"}),
        post(f"{V2}/link-to-run", {"trace_ids": ["tr-${p}-2"], "run_id": "${r1}"}),
        post(f"{V2}/link-to-run", {"trace_ids": ["tr-${p}-3"], "run_id": "no-such-run"}),
        info("tr-${p}-2"),
        post(f"{V3}/search", {"locations": [{"mlflow_experiment": {"experiment_id": "${e1}"}}],
                              "filter": "run_id = '${r1}'"}),
        post(f"{V3}/search", {"locations": [{"mlflow_experiment": {"experiment_id": "${e1}"}}],
                              "filter": "run_id = 'no-such-run'"}),
        post(f"{V2}/link-to-run", {"trace_ids": [], "run_id": "${r1}"}),
        post(f"{V2}/link-to-run", {"trace_ids": ["tr-${p}-2"]}),
        post(f"{V2}/link-to-run", {"run_id": "${r1}"}),
        post(f"{V2}/link-to-run", {"trace_ids": [f"t{i}" for i in range(101)], "run_id": "${r1}"}),
    ),
    case(
        "traces-link-prompts",
        new_experiment("e1"),
        start("tr-${p}-1"),
        start("tr-${p}-2"),
        *(post(f"{V2}/link-prompts", {"trace_id": "tr-${p}-1", "prompt_versions": refs})
          for refs in (
              [{"name": "qa", "version": "1"}],
              [{"name": "qa", "version": "1"}, {"name": "qa", "version": "1"}],
              [{"name": "qa", "version": "007"}, {"name": "qa", "version": " 3 "}],
              [{"name": "a/b", "version": "2"}, {"version": "4"}, {"name": "", "version": "-1"}],
              [{"name": "qa", "version": "1_0", "extra": 1}],
              [],
          )),
        post("/ajax-api/2.0/mlflow/traces/link-prompts",
             {"trace_id": "tr-${p}-2", "prompt_versions": [{"name": "qa", "version": "2"}]}),
        *(post(f"{V3}/search", {"locations": [{"mlflow_experiment": {"experiment_id": "${e1}"}}],
                                "filter": f}, note=f)
          for f in ("prompt = 'qa/1'", "prompt = \"qa/7\"", "prompt = 'qa/3'", "prompt = 'qa/007'",
                    "prompt = 'qa/10'", "prompt = '/4'", "prompt = '/-1'", "prompt = 'qa/2'",
                    "tag.`mlflow.linkedPrompts` = 'qa/2'", "prompt = 'QA/1'",
                    "prompt = 'qa/1' AND prompt = 'qa/3'", "prompt = 'a/b/2'", "prompt != 'qa/1'",
                    "prompt LIKE 'qa%'", "prompt IS NOT NULL")),
        # a link outlives its trace: the trace sent again under that id is found again
        post(f"{V3}/delete-traces", {"experiment_id": "${e1}", "request_ids": ["tr-${p}-1"]}),
        post(f"{V2}/link-prompts", {"trace_id": "tr-${p}-1",
                                    "prompt_versions": [{"name": "qa", "version": "9"}]}),
        start("tr-${p}-1"),
        post(f"{V3}/search", {"locations": [{"mlflow_experiment": {"experiment_id": "${e1}"}}],
                              "filter": "prompt = 'qa/1'"}),
        # invalid calls: nothing is linked by any of them
        *(post(f"{V2}/link-prompts", body) for body in (
            {"trace_id": "tr-${p}-2"},
            {"prompt_versions": [{"name": "qa", "version": "5"}]},
            {"trace_id": "tr-${p}-none", "prompt_versions": [{"name": "qa", "version": "5"}]},
            {"trace_id": "tr-${p}-none", "prompt_versions": []},
            {"trace_id": "tr-${p}-2", "prompt_versions": [{"name": "qa", "version": "x"}]},
            {"trace_id": "tr-${p}-2", "prompt_versions": [{"name": "qa"}]},
            {"trace_id": "tr-${p}-2", "prompt_versions": [{"name": "qa", "version": 5}]},
            {"trace_id": "tr-${p}-2", "prompt_versions": [{"name": "qa", "version": "5"},
                                                          {"name": "qa", "version": "1.5"}]},
            {"trace_id": "tr-${p}-2", "prompt_versions": [{"version": "5", "name": 6}]},
            {"trace_id": "tr-${p}-2", "prompt_versions": {"name": "qa"}},
            {"trace_id": "tr-${p}-2", "prompt_versions": ["qa/5"]},
            {"trace_id": 5, "prompt_versions": [{"name": "qa", "version": "5"}]},
        )),
        # a version twice among the new links: SQLite's unique key refuses the request
        post(f"{V2}/link-prompts", {"trace_id": "tr-${p}-2", "prompt_versions": [
            {"name": "qa", "version": "5"}, {"name": "qa", "version": "6"},
            {"name": "qa", "version": "05"}]}, relax=frozenset({DB_NOISE})),
        post(f"{V3}/search", {"locations": [{"mlflow_experiment": {"experiment_id": "${e1}"}}],
                              "filter": "prompt = 'qa/5'"}),
        post(f"{V3}/search", {"locations": [{"mlflow_experiment": {"experiment_id": "${e1}"}}],
                              "filter": "prompt = '/5'"}),
        Step("GET", f"{V2}/link-prompts"),
        post(f"{V3}/link-prompts", {"trace_id": "tr-${p}-2", "prompt_versions": []}),
    ),
    case(
        "traces-search-invalid",
        new_experiment("e1"),
        post(f"{V3}/search", {}),
        post(f"{V3}/search", {"locations": "x"}),
        post(f"{V3}/search", {"locations": [{"mlflow_experiment": {"experiment_id": "${e1}"}}]}),
        post(f"{V3}/search", {"locations": [{"mlflow_experiment": {"experiment_id": "${e1}"}}],
                              "max_results": 501}),
        post(f"{V3}/search", {"locations": [{"mlflow_experiment": {"experiment_id": "${e1}"}}],
                              "max_results": 0}),
        post(f"{V3}/search", {"locations": [{"mlflow_experiment": {"experiment_id": "${e1}"}}],
                              "max_results": "x"}),
        post(f"{V3}/search", {"locations": [{"mlflow_experiment": {"experiment_id": "${e1}"}}],
                              "max_results": 5, "page_token": "!!notbase64"}),
        post(f"{V3}/search", {"locations": [{"mlflow_experiment": {"experiment_id": "${e1}"}}],
                              "max_results": 5, "order_by": ["timestamp_ms", "timestamp_ms DESC"]}),
        post(f"{V3}/search", {"locations": [{"mlflow_experiment": {"experiment_id": "${e1}"}}],
                              "max_results": 5, "order_by": "timestamp_ms"}),
    ),
    case(
        "traces-tags",
        new_experiment("e1"),
        start("tr-${p}-t", tags={"mlflow.traceName": "n"}),
        patch(f"{V2}/tr-${{p}}-t/tags", {"key": "k", "value": "v"}),
        patch(f"{V3}/tr-${{p}}-t/tags", {"key": "k3", "value": "v3"}),
        patch(f"{V2}/tr-${{p}}-t/tags", {"key": "k2"}),
        info("tr-${p}-t"),
        delete(f"{V2}/tr-${{p}}-t/tags", {"key": "k"}),
        delete(f"{V3}/tr-${{p}}-t/tags", {"key": "k3"}),
        delete(f"{V2}/tr-${{p}}-t/tags", {"key": "k"}),
        delete(f"{V2}/tr-${{p}}-t/tags", {"key": "mlflow.traceName"}),
        delete(f"{V2}/tr-${{p}}-t/tags", {"key": "mlflow.traceName"}),
        info("tr-${p}-t"),
        patch(f"{V2}/tr-${{p}}-t/tags", {"value": "v"}),
        patch(f"{V2}/tr-${{p}}-t/tags", {"key": "mlflow.trace.spansLocation", "value": "x"}),
        delete(f"{V2}/tr-${{p}}-t/tags", {"key": "mlflow.trace.spansLocation"}),
        patch(f"{V2}/tr-${{p}}-t/tags", {"key": "a/../b", "value": "v"}),
        patch(f"{V2}/tr-${{p}}-t/tags", {"key": "k" * 251, "value": "v"}),
        delete(f"{V2}/tr-${{p}}-none/tags", {"key": "k"}),
    ),
    case(
        "traces-delete",
        new_experiment("e1"),
        start("tr-${p}-1", request_time="2023-11-14T22:13:20.000Z"),
        start("tr-${p}-2", request_time="2023-11-14T22:13:21.000Z"),
        start("tr-${p}-3", request_time="2023-11-14T22:13:22.000Z"),
        start("tr-${p}-4", request_time="2023-11-14T22:13:23.000Z"),
        post(f"{V2}/delete-traces", {"experiment_id": "${e1}", "request_ids": ["tr-${p}-1"]}),
        post(f"{V2}/delete-traces", {"experiment_id": "${e1}", "request_ids": ["tr-${p}-1"]}),
        post(f"{V2}/delete-traces", {"experiment_id": "0", "request_ids": ["tr-${p}-2"]}),
        post(f"{V2}/delete-traces", {"experiment_id": "${e1}", "max_timestamp_millis": 1700000002500,
                                     "max_traces": 1}),
        info("tr-${p}-2"),
        post("/api/3.0/mlflow/traces/delete-traces", {"experiment_id": "${e1}",
                                                      "max_timestamp_millis": 1700000002500}),
        info("tr-${p}-3"),
        post(f"{V2}/delete-traces", {}),
        post(f"{V2}/delete-traces", {"experiment_id": "${e1}", "max_traces": "x"}),
        post(f"{V2}/delete-traces", {"experiment_id": "${e1}", "request_ids": "tr-${p}-4"}),
    ),
    case(
        "traces-assessments",
        new_experiment("e1"),
        start("tr-${p}-s", state="OK"),
        post(f"{V3}/tr-${{p}}-s/assessments", {"assessment": {
            "assessment_name": "relevance", "trace_id": "tr-${p}-s",
            "source": {"source_type": "HUMAN", "source_id": "me"},
            "create_time": T, "last_update_time": T,
            "feedback": {"value": 0.5}, "rationale": "ok", "metadata": {"m": "1"}}},
            capture={"a1": "assessment.assessment_id"}),
        post(f"{V3}/tr-${{p}}-s/assessments", {"assessment": {
            "assessment_name": "expected", "trace_id": "tr-${p}-s",
            "source": {"source_type": "CODE", "source_id": "x"}, "create_time": T,
            "last_update_time": T, "expectation": {"value": {"answer": [1, 2]}}}},
            capture={"a2": "assessment.assessment_id"}),
        get(f"{V3}/tr-${{p}}-s/assessments/${{a1}}"),
        get(f"{V3}/tr-${{p}}-s/assessments/${{a2}}"),
        post(f"{V3}/tr-${{p}}-s/assessments", {"assessment": {
            "assessment_name": "relevance", "trace_id": "tr-${p}-s",
            "source": {"source_type": "LLM_JUDGE", "source_id": "j"}, "create_time": T,
            "last_update_time": T, "feedback": {"value": 1.0}, "overrides": "${a1}"}},
            capture={"a3": "assessment.assessment_id"}),
        get(f"{V3}/tr-${{p}}-s/assessments/${{a1}}"),
        info("tr-${p}-s"),
        delete(f"{V3}/tr-${{p}}-s/assessments/${{a3}}"),
        get(f"{V3}/tr-${{p}}-s/assessments/${{a1}}"),
        delete(f"{V3}/tr-${{p}}-s/assessments/${{a3}}"),
        get(f"{V3}/tr-${{p}}-s/assessments/a-00000000000000000000000000000000"),
        get(f"{V3}/tr-${{p}}-none/assessments/${{a1}}"),
        post(f"{V3}/tr-${{p}}-s/assessments", {}),
        post(f"{V3}/tr-${{p}}-none/assessments", {"assessment": {
            "assessment_name": "x", "source": {"source_type": "HUMAN", "source_id": "me"},
            "create_time": T, "last_update_time": T, "feedback": {"value": 1}}}),
        post(f"{V3}/tr-${{p}}-s/assessments", {"assessment": {
            "assessment_name": "x", "source": {"source_type": "HUMAN", "source_id": "me"},
            "create_time": T, "last_update_time": T, "feedback": {"value": 1},
            "overrides": "a-nope"}}),
        patch(f"{V3}/tr-${{p}}-s/assessments/${{a2}}", {
            "assessment": {"feedback": {"value": 1}}, "update_mask": "feedback"}),
        patch(f"{V3}/tr-${{p}}-s/assessments/${{a1}}", {
            "assessment": {"expectation": {"value": 1}}, "update_mask": "expectation"}),
        patch(f"{V3}/tr-${{p}}-s/assessments/${{a1}}", {"assessment": {}}),
        patch(f"{V3}/tr-${{p}}-s/assessments/${{a1}}", {
            "assessment": {"valid": False}, "update_mask": "valid"}),
        patch(f"{V3}/tr-${{p}}-none/assessments/${{a1}}", {
            "assessment": {"rationale": "x"}, "update_mask": "rationale"}),
        patch(f"{V3}/tr-${{p}}-s/assessments/a-nope", {
            "assessment": {"rationale": "x"}, "update_mask": "rationale"}),
    ),
]

TF = "0f" * 16
CASES.append(case(
    "traces-ui-trace-artifact",
    new_experiment("e1"),
    otlp([
        span(TF, "00000000000000f1", "root", NS, NS + 9_000_000, attributes=ROOT_ATTRS),
        span(TF, "00000000000000f2", "child", NS + 1_000_000, NS + 2_000_000,
             parent_hex="00000000000000f1", code=2, message="boom",
             attributes={"mlflow.spanType": {"stringValue": "TOOL"}, "t": {"doubleValue": 0.5}},
             events=[{"timeUnixNano": str(NS + 1_500_000), "name": "exception",
                      "attributes": [{"key": "exception.message", "value": {"stringValue": "boom"}}]}]),
    ]),
    start("tr-" + TF, execution_duration="0.009s", state="OK"),
    *(Step("GET", f"/ajax-api/{v}/mlflow/get-trace-artifact", query={"request_id": "tr-" + TF},
           wire_headers=("content-type", "content-disposition")) for v in ("2.0", "3.0")),
    Step("GET", "/ajax-api/3.0/mlflow/get-trace-artifact", query={"request_id": "tr-nope"}),
    Step("GET", "/ajax-api/3.0/mlflow/get-trace-artifact", query={"request_id": ""}),
    Step("GET", "/ajax-api/2.0/mlflow/get-trace-artifact"),
    Step("GET", "/api/3.0/mlflow/get-trace-artifact", query={"request_id": "tr-" + TF}),
    Step("POST", "/ajax-api/3.0/mlflow/get-trace-artifact", query={"request_id": "tr-" + TF}),
))

# Found by the conformance suite ``traces``: delete criteria, the answer of a trace info sent
# again, batch order with repeated ids, the trace name on an unknown trace, repeated link ids.
_SEARCH_E1 = {"locations": [{"mlflow_experiment": {"experiment_id": "${e1}"}}]}
CASES += [
    case(
        "traces-delete-criteria",
        new_experiment("e1"),
        start("tr-${p}-1", request_time="2023-11-14T22:13:20.000Z"),
        post(f"{V2}/delete-traces", {"experiment_id": "${e1}"}),
        post(f"{V2}/delete-traces", {"experiment_id": "${e1}", "request_ids": []}),
        post(f"{V2}/delete-traces", {"experiment_id": "${e1}", "max_traces": 1}),
        post(f"{V2}/delete-traces", {"experiment_id": "${e1}", "request_ids": ["tr-${p}-1"],
                                     "max_timestamp_millis": 1700000000000}),
        post(f"{V2}/delete-traces", {"experiment_id": "${e1}", "request_ids": ["tr-${p}-1"],
                                     "max_traces": 1}),
        post(f"{V2}/delete-traces", {"experiment_id": "${e1}",
                                     "max_timestamp_millis": 1700000000000, "max_traces": 0}),
        post(f"{V2}/delete-traces", {"experiment_id": "${e1}",
                                     "max_timestamp_millis": 1700000000000, "max_traces": -2}),
        post(f"{V2}/delete-traces", {"experiment_id": "nope"}),
        info("tr-${p}-1"),
    ),
    case(
        "traces-start-again-answer",
        new_experiment("e1"),
        start("tr-${p}-1", state="OK", tags={"k1": "a", "k2": "x"}, trace_metadata={"m": "1"}),
        start("tr-${p}-1", state="ERROR", execution_duration="2s",
              tags={"k1": "b", "k3": "new", "mlflow.traceName": "n"}, trace_metadata={"m2": "2"}),
        info("tr-${p}-1"),
        start("tr-${p}-1", tags={"k3": "again", "mlflow.traceName": "n2"}),
        info("tr-${p}-1"),
    ),
    case(
        "traces-batch-repeated-ids",
        new_experiment("e1"),
        start("tr-${p}-1"),
        start("tr-${p}-2"),
        Step("POST", f"{V3}/batchGetInfos",
             json={"trace_ids": ["tr-${p}-2", "tr-${p}-1", "tr-none", "tr-${p}-2"]}),
        Step("POST", f"{V3}/batchGetInfos",
             json={"trace_ids": ["tr-${p}-1", "tr-${p}-2", "tr-${p}-1"]}),
        Step("POST", f"{V3}/batchGetInfos", json={"trace_ids": ["tr-${p}-1"],
                                                  "experiment_ids": ["${e1}", "0"]}),
    ),
    case(
        "traces-name-tag-unknown-trace",
        new_experiment("e1"),
        patch(f"{V2}/tr-${{p}}-none/tags", {"key": "mlflow.traceName", "value": "n"}),
        delete(f"{V3}/tr-${{p}}-none/tags", {"key": "mlflow.traceName"}),
        patch(f"{V3}/tr-${{p}}-none/tags", {"key": "k", "value": "n"}),
        delete(f"{V2}/tr-${{p}}-none/tags", {"key": "k"}),
    ),
    case(
        "traces-link-repeated-ids",
        new_experiment("e1"),
        post("runs/create", {"experiment_id": "${e1}"}, capture={"r1": "run.info.run_id"}),
        start("tr-${p}-1"),
        start("tr-${p}-2"),
        post(f"{V2}/link-to-run", {"trace_ids": ["tr-${p}-1", "tr-${p}-2", "tr-${p}-1"],
                                   "run_id": "${r1}"}, relax=frozenset({DB_NOISE})),
        post(f"{V3}/search", {**_SEARCH_E1, "filter": "run_id = '${r1}'"}),
        post(f"{V2}/link-to-run", {"trace_ids": ["tr-${p}-1"], "run_id": "${r1}"}),
        post(f"{V2}/link-to-run", {"trace_ids": ["tr-${p}-1", "tr-${p}-1"], "run_id": "${r1}"}),
        post(f"{V2}/link-to-run", {"trace_ids": ["tr-${p}-gone", "tr-${p}-gone"],
                                   "run_id": "${r1}"}, relax=frozenset({DB_NOISE})),
        post(f"{V2}/delete-traces", {"experiment_id": "${e1}", "request_ids": ["tr-${p}-1"]}),
        post(f"{V2}/link-to-run", {"trace_ids": ["tr-${p}-1", "tr-${p}-1"], "run_id": "${r1}"}),
        start("tr-${p}-1", request_time="2023-11-14T22:13:21.000Z"),
        post(f"{V3}/search", {**_SEARCH_E1, "filter": "run_id = '${r1}'"}),
    ),
]

# The deprecated v2 trace routes 3.17.2 still serves: StartTrace, EndTrace, GetTraceInfo and
# SearchTraces (GET). v2 trace ids are the server's (uuid hex), captured per side.
_KV = [{"key": "m", "value": "1"}]
CASES += [
    case(
        "traces-v2-lifecycle",
        new_experiment("e1"),
        post(V2, {"experiment_id": "${e1}", "timestamp_ms": 1700000000000,
                  "request_metadata": _KV,
                  "tags": [{"key": "mlflow.traceName", "value": "nm"}, {"key": "k", "value": "v"},
                           {"key": "long", "value": "x" * 5000}]},
             capture={"t1": "trace_info.request_id"}),
        post(V2, {"experiment_id": "${e1}"}, capture={"t2": "trace_info.request_id"}),
        get(f"{V2}/${{t1}}/info"),
        get("/ajax-api/2.0/mlflow/traces/${t2}/info"),
        info("${t1}"),
        patch(f"{V2}/${{t1}}", {"timestamp_ms": 1700000001500, "status": "OK",
                                "request_metadata": [{"key": "m2", "value": "y" * 300}],
                                "tags": [{"key": "k2", "value": "v2"},
                                         {"key": "mlflow.traceName", "value": "n2"}]}),
        patch(f"{V2}/${{t2}}", {"timestamp_ms": 5, "status": 2}),
        patch(f"{V2}/${{t2}}", {"timestamp_ms": 9, "status": "NOPE"}),
        patch(f"{V2}/${{t2}}", {}),
        get(f"{V2}/${{t2}}/info"),
        get(V2, {"experiment_ids": ["${e1}"]}),
        get(V2, {"experiment_ids": ["${e1}"], "filter": "status = 'OK'"}),
        get(V2, {"experiment_ids": ["${e1}"], "max_results": 1, "order_by": ["timestamp_ms ASC"]},
            capture={"tok": "next_page_token"}),
        get(V2, {"experiment_ids": ["${e1}"], "max_results": 1, "order_by": ["timestamp_ms ASC"],
                 "page_token": "${tok}"}),
        get("/ajax-api/2.0/mlflow/traces", {"experiment_ids": ["${e1}"], "max_results": 1}),
        post(f"{V2}/delete-traces", {"experiment_id": "${e1}", "request_ids": ["${t2}"]}),
        get(f"{V2}/${{t2}}/info"),
        patch(f"{V2}/${{t2}}", {"timestamp_ms": 9, "status": "OK"}),
    ),
    case(
        "traces-v2-invalid",
        new_experiment("e1"),
        post(V2, {}),
        post(V2, {"experiment_id": "abc"}),
        post(V2, {"experiment_id": "999999"}),
        post(V2, {"experiment_id": "${e1}", "timestamp_ms": "x"}),
        post(V2, {"experiment_id": "${e1}", "request_metadata": [{"value": "x"}]}),
        post(V2, {"experiment_id": "${e1}", "tags": [{"key": "", "value": "x"}]}),
        patch(f"{V2}/tr-${{p}}-none", {"timestamp_ms": 1, "status": "OK"}),
        patch(f"{V2}/tr-${{p}}-none", {"status": "OK", "tags": [{"value": "x"}]}),
        get(f"{V2}/tr-${{p}}-none/info"),
        get(V2),
        get(V2, {"experiment_ids": ["${e1}"], "max_results": 501}),
        get(V2, {"experiment_ids": ["${e1}"], "max_results": 0}),
        get(V2, {"experiment_ids": ["${e1}"], "max_results": "x"}),
        get(V2, {"experiment_ids": ["${e1}"], "filter": "nope = 1"}),
        Step("GET", f"{V2}/tr-${{p}}-none"),
        Step("GET", f"{V3}/tr-${{p}}-none/info"),
        Step("PATCH", f"{V3}/tr-${{p}}-none", json={"status": "OK"}),
        Step("GET", "/api/3.0/mlflow/unified-traces"),
        post("experiments/delete", {"experiment_id": "${e1}"}),
        post(V2, {"experiment_id": "${e1}"}),
    ),
]
CASES.append(case(
    "traces-long-tags-shown-cut",
    new_experiment("e1"),
    start("tr-${p}-1", tags={"long": "t" * 5000, "k" * 260: "v"},
          trace_metadata={"m": "w" * 300, "n" * 260: "x"}),
    info("tr-${p}-1"),
    patch(f"{V3}/tr-${{p}}-1/tags", {"key": "set", "value": "s" * 6000}),
    info("tr-${p}-1"),
    post(f"{V3}/search", {**_SEARCH_E1, "filter": "tags.long LIKE 'ttt%'"}),
))

T10, T11, T12 = "10" * 16, "11" * 16, "12" * 16
CASES.append(case(
    "traces-batch-get-whole-traces-only",
    new_experiment("e1"),
    # the client announces 3 spans, 1 arrived: get refuses it, batchGet leaves it out
    start("tr-" + T10, trace_metadata={"mlflow.trace.sizeStats": '{"num_spans": 3}'}),
    otlp([span(T10, "0000000000000101", "root", NS, NS + 5)]),
    # all of its spans arrived
    start("tr-" + T11, trace_metadata={"mlflow.trace.sizeStats": '{"num_spans": 1}'}),
    otlp([span(T11, "0000000000000111", "root", NS, NS + 5)]),
    # no spans at all, though its info claims the tracking store holds them
    start("tr-" + T12, tags={"mlflow.trace.spansLocation": "TRACKING_STORE"}),
    *(get(f"{V3}/get", {"trace_id": "tr-" + t}) for t in (T10, T11, T12)),
    *(get(f"{V3}/get", {"trace_id": "tr-" + t, "allow_partial": "true"}) for t in (T10, T12)),
    get(f"{V3}/batchGet", {"trace_ids": ["tr-" + T10, "tr-" + T11, "tr-" + T12]}),
    get(f"{V3}/batchGet", {"trace_ids": ["tr-" + T12]}),
    Step("POST", f"{V3}/batchGetInfos", json={"trace_ids": ["tr-" + T10, "tr-" + T12]}),
    post(f"{V3}/search", {"locations": [{"mlflow_experiment": {"experiment_id": "${e1}"}}]}),
    # the rest of the first trace's spans: now it is whole
    otlp([span(T10, "0000000000000102", "a", NS + 1, NS + 2, parent_hex="0000000000000101"),
          span(T10, "0000000000000103", "b", NS + 2, NS + 3, parent_hex="0000000000000101")]),
    get(f"{V3}/batchGet", {"trace_ids": ["tr-" + T10]}),
))
