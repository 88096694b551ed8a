"""Trace analytics derived from spans, against real MLflow 3.17.2.

Hypothesis draws span trees (rollup parents, orphans, several roots) whose spans carry token
usage, costs, session and user ids, splits them into OTLP batches and sends them with or without
a trace info (before, between or after the batches, naming some analytics of its own). Both
servers must answer every request alike and end with the same ``mlflow.trace.tokenUsage``,
``mlflow.trace.cost``, ``mlflow.trace.session`` and ``mlflow.trace.user`` (compared as text:
key order, ints against floats and float rounding all show). A real-client script then checks
that ``get_trace``/``search_traces`` agree too.

``FAKEFLOW_TRACE_ANALYTICS_EXAMPLES`` sets the number of examples (default 30).
"""

from __future__ import annotations

import json
import os
import uuid
from typing import Any, Callable, Iterator

import pytest
import requests
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from werkzeug.test import Client

import fakeflow
from fakeflow.state.trace_analytics import COST_KEYS, TOKEN_KEYS
from tests.support.client_script import mlflow_pointed_at
from tests.test_client_parity import quick_client  # noqa: F401  (fixture)

EXAMPLES = int(os.environ.get("FAKEFLOW_TRACE_ANALYTICS_EXAMPLES", "30"))
KEYS = ("mlflow.trace.tokenUsage", "mlflow.trace.cost", "mlflow.trace.session",
        "mlflow.trace.user")
NS = 1_700_000_000_000_000_000
V3 = "/api/3.0/mlflow/traces"

Send = Callable[[str, str, Any, dict[str, str] | None], tuple[int, Any]]


def _real(url: str) -> Send:
    session = requests.Session()

    def send(method: str, path: str, body: Any, headers: dict[str, str] | None
             ) -> tuple[int, Any]:
        response = session.request(method, url + path, data=json.dumps(body), timeout=60,
                                   headers={"Content-Type": "application/json", **(headers or {})})
        try:
            return response.status_code, response.json()
        except ValueError:
            return response.status_code, response.text

    return send


def _fake() -> Send:
    client = Client(fakeflow.create_app())

    def send(method: str, path: str, body: Any, headers: dict[str, str] | None
             ) -> tuple[int, Any]:
        response = client.open(path, method=method, data=json.dumps(body),
                               headers={"Content-Type": "application/json", **(headers or {})})
        try:
            return response.status_code, response.get_json(force=True)
        except Exception:  # an empty OTLP answer
            return response.status_code, response.get_data(as_text=True)

    return send


@pytest.fixture(scope="module")
def sides(reference_server: Any) -> Iterator[list[tuple[Send, str]]]:
    out = []
    for send in (_real(reference_server.url), _fake()):
        status, body = send("POST", "/api/2.0/mlflow/experiments/create",
                            {"name": f"analytics-{uuid.uuid4().hex[:8]}"}, None)
        assert status == 200, body
        out.append((send, body["experiment_id"]))
    yield out


# ---- the strategies ------------------------------------------------------------------------------

COUNTS = st.one_of(st.integers(0, 50), st.integers(0, 2**40),
                   st.sampled_from([1.0, 2.5, -3, True]))
COSTS = st.one_of(st.sampled_from([0.1, 0.2, 0.3, 1e-7, 0, 2, 1.5]),
                  st.floats(0, 10, allow_nan=False, width=32))


@st.composite
def usage(draw: st.DrawFn) -> dict[str, Any]:
    keys = draw(st.lists(st.sampled_from(TOKEN_KEYS), unique=True, max_size=4))
    return {k: draw(COUNTS) for k in keys}


@st.composite
def cost(draw: st.DrawFn) -> dict[str, Any]:
    keys = draw(st.lists(st.sampled_from(COST_KEYS), unique=True, max_size=3))
    return {k: draw(COSTS) for k in keys}


SESSIONS = st.sampled_from(["", "s1", "s2", "conv"])


@st.composite
def span_tree(draw: st.DrawFn) -> list[dict[str, Any]]:
    """Spans with ids 1..n; a parent is an earlier span, none (a root) or a missing span."""
    n = draw(st.integers(1, 7))
    spans = []
    for i in range(1, n + 1):
        parent = draw(st.one_of(st.none(), st.just(99), st.integers(1, i - 1))
                      if i > 1 else st.sampled_from([None, None, 99]))
        attributes: dict[str, Any] = {}
        if draw(st.booleans()):
            attributes["mlflow.chat.tokenUsage"] = draw(usage())
        if draw(st.integers(0, 2)) == 0:
            attributes["mlflow.llm.cost"] = draw(cost())
        if draw(st.integers(0, 4)) == 0:
            attributes[draw(st.sampled_from(["session.id", "gen_ai.conversation.id"]))] = \
                draw(SESSIONS)
        if draw(st.integers(0, 4)) == 0:
            attributes["user.id"] = draw(st.sampled_from(["", "u1", "u2"]))
        spans.append({"id": i, "parent": parent, "attributes": attributes})
    return spans


@st.composite
def info_metadata(draw: st.DrawFn) -> dict[str, str]:
    out = {}
    if draw(st.booleans()):
        out["mlflow.trace.tokenUsage"] = json.dumps(draw(usage()))
    if draw(st.integers(0, 2)) == 0:
        out["mlflow.trace.cost"] = json.dumps(draw(cost()))
    if draw(st.integers(0, 2)) == 0:
        out["mlflow.trace.session"] = draw(SESSIONS)
    if draw(st.integers(0, 3)) == 0:
        out["mlflow.trace.user"] = "info-user"
    return out


@st.composite
def scenario(draw: st.DrawFn) -> list[tuple[str, Any]]:
    """Span batches (a span may come again) and at most one trace info, in some order."""
    spans = draw(span_tree())
    events: list[tuple[str, Any]] = []
    rest = list(spans)
    while rest:
        size = draw(st.integers(1, len(rest)))
        events.append(("spans", rest[:size]))
        rest = rest[size:]
    if draw(st.integers(0, 3)) == 0:
        events.append(("spans", [draw(st.sampled_from(spans))]))
    if draw(st.integers(0, 3)):
        events.insert(draw(st.integers(0, len(events))), ("info", draw(info_metadata())))
    return events


# ---- sending -------------------------------------------------------------------------------------

def _otlp(trace_hex: str, spans: list[dict[str, Any]]) -> dict[str, Any]:
    out = []
    for s in spans:
        span = {"traceId": trace_hex, "spanId": f"{s['id']:016x}", "name": f"s{s['id']}",
                "startTimeUnixNano": str(NS + s["id"] * 1_000_000),
                "endTimeUnixNano": str(NS + s["id"] * 1_000_000 + 500_000),
                "status": {"code": 1},
                "attributes": [{"key": k, "value": {"stringValue": v if isinstance(v, str)
                                                    else json.dumps(v)}}
                               for k, v in s["attributes"].items()]}
        if s["parent"] is not None:
            span["parentSpanId"] = f"{s['parent']:016x}"
        out.append(span)
    return {"resourceSpans": [{"resource": {}, "scopeSpans": [{"spans": out}]}]}


def _play(send: Send, experiment_id: str, trace_hex: str, events: list[tuple[str, Any]]
          ) -> list[Any]:
    seen = []
    for kind, payload in events:
        if kind == "spans":
            status, body = send("POST", "/v1/traces", _otlp(trace_hex, payload),
                                {"x-mlflow-experiment-id": experiment_id})
        else:
            status, body = send("POST", V3, {"trace": {"trace_info": {
                "trace_id": "tr-" + trace_hex, "request_time": "2023-11-14T22:13:20.000Z",
                "execution_duration": "1s", "state": "OK", "trace_metadata": payload,
                "trace_location": {"type": "MLFLOW_EXPERIMENT",
                                   "mlflow_experiment": {"experiment_id": experiment_id}}}}},
                None)
            body = {k: v for k, v in body.get("trace", {}).get("trace_info", {}).get(
                "trace_metadata", {}).items() if k in KEYS} if status == 200 else body
        seen.append((kind, status, body or None))
        status, body = send("GET", f"{V3}/tr-{trace_hex}", None, None)
        metadata = body.get("trace", {}).get("trace_info", {}).get("trace_metadata", {}) \
            if status == 200 else {}
        seen.append({k: v for k, v in metadata.items() if k in KEYS})
    return seen


@settings(max_examples=EXAMPLES, deadline=None, database=None,
          derandomize=not os.environ.get("FAKEFLOW_SEARCH_RANDOM"),
          suppress_health_check=list(HealthCheck), phases=[Phase.explicit, Phase.generate])
@given(events=scenario())
def test_derived_metadata_matches_mlflow(sides: list[tuple[Send, str]],
                                         events: list[tuple[str, Any]]) -> None:
    trace_hex = uuid.uuid4().hex
    real, fake = (_play(send, exp, trace_hex, events) for send, exp in sides)
    assert fake == real, json.dumps(events)


def test_a_rollup_parent_is_not_counted_twice(sides: list[tuple[Send, str]]) -> None:
    """An anchor that needs no reference: children first, their rollup parent later."""
    send, exp = sides[1]
    child = {"input_tokens": 2, "output_tokens": 1, "total_tokens": 3}
    parent = {"input_tokens": 5, "output_tokens": 5, "total_tokens": 10}
    seen = _play(send, exp, uuid.uuid4().hex, [
        ("spans", [{"id": 2, "parent": 1, "attributes": {"mlflow.chat.tokenUsage": child}},
                   {"id": 3, "parent": 1, "attributes": {"mlflow.chat.tokenUsage": child}}]),
        ("spans", [{"id": 1, "parent": None, "attributes": {"mlflow.chat.tokenUsage": parent}}])])
    assert seen[1]["mlflow.trace.tokenUsage"] == json.dumps(
        {"input_tokens": 4, "output_tokens": 2, "total_tokens": 6})
    assert seen[3]["mlflow.trace.tokenUsage"] == json.dumps(parent)


# ---- the real client -----------------------------------------------------------------------------

def client_script(uri: str) -> dict[str, Any]:
    """``@mlflow.trace`` LLM spans with usage and cost under an agent span (a rollup agent on
    one call), the session set through ``update_current_trace`` and a ``user.id`` attribute."""
    import mlflow

    @mlflow.trace(span_type="LLM")
    def llm(q: str, n: int) -> str:
        span = mlflow.get_current_active_span()
        span.set_attribute("mlflow.chat.tokenUsage",
                           {"input_tokens": n, "output_tokens": 2, "total_tokens": n + 2})
        span.set_attribute("mlflow.llm.cost",
                           {"input_cost": 0.1 * n, "output_cost": 0.2, "total_cost": 0.1 * n + 0.2})
        return q

    @mlflow.trace(span_type="AGENT")
    def agent(q: str) -> str:
        mlflow.update_current_trace(metadata={"mlflow.trace.session": "sess-" + q})
        llm(q, 3)
        llm(q, 4)
        span = mlflow.get_current_active_span()
        if q == "rollup":
            span.set_attribute("mlflow.chat.tokenUsage",
                               {"input_tokens": 100, "output_tokens": 1, "total_tokens": 101})
        span.set_attribute("user.id", "user-" + q)
        return q

    out: dict[str, Any] = {}
    with mlflow_pointed_at(uri):
        exp = mlflow.set_experiment(f"analytics-client-{uuid.uuid4().hex[:8]}").experiment_id
        for q in ("plain", "rollup"):
            agent(q)
            trace = mlflow.get_trace(mlflow.get_last_active_trace_id())
            out[q] = ({k: v for k, v in trace.info.trace_metadata.items() if k in KEYS},
                      trace.info.token_usage)
        for f in ("metadata.`mlflow.trace.session` = 'sess-rollup'",
                  "metadata.`mlflow.trace.tokenUsage` = "
                  "'{\"input_tokens\": 7, \"output_tokens\": 4, \"total_tokens\": 11}'",
                  "metadata.`mlflow.trace.tokenUsage` IS NOT NULL",
                  "metadata.`mlflow.trace.cost` IS NULL",
                  "metadata.`mlflow.trace.user` = 'user-plain'"):
            found = mlflow.search_traces(locations=[exp], filter_string=f, return_type="list")
            out[f] = sorted(t.info.trace_metadata["mlflow.trace.session"] for t in found)
    return out


def test_real_client_reads_the_same_analytics(
    quick_client: None, reference_server: Any, fakeflow_server: Any,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pytest.importorskip("mlflow")
    monkeypatch.setenv("MLFLOW_ENABLE_ASYNC_TRACE_LOGGING", "false")
    real = client_script(reference_server.url)
    fake = client_script(fakeflow_server.url)
    assert fake == real
    assert fake["rollup"][1] == {"input_tokens": 100, "output_tokens": 1, "total_tokens": 101}
    assert fake["plain"][0]["mlflow.trace.user"] == "user-plain"
