"""A downstream test module for ``fakeflow.traces`` (run by tests/test_traces_plugin.py through
pytester, against the fake and against a real server): real instrumented code traced through
the real MLflow client, then asserted on as plain objects (span tree, inputs, outputs,
attributes, status, events, tags, assessments)."""

from __future__ import annotations

import asyncio
import threading

import pytest

mlflow = pytest.importorskip("mlflow")


@mlflow.trace(span_type="RETRIEVER")
def retrieve(query: str) -> list[str]:
    return [f"doc about {query}"]


@mlflow.trace(name="generate", attributes={"model": "tiny"})
def generate(query: str, docs: list[str]) -> str:
    with mlflow.start_span("format", span_type="PARSER") as span:
        span.set_inputs({"docs": docs})
        span.set_attribute("n_docs", len(docs))
        span.add_event(mlflow.entities.SpanEvent("formatted", attributes={"chars": 3}))
        span.set_outputs("ctx")
    return f"answer to {query}"


@mlflow.trace(span_type="CHAIN")
def answer(query: str) -> str:
    return generate(query, retrieve(query))


@mlflow.trace
def explode(x: int) -> int:
    raise ValueError(f"bad {x}")


@mlflow.trace
async def async_double(x: int) -> int:
    await asyncio.sleep(0)
    return 2 * x


def test_nested_functions_give_one_tree(fakeflow):
    assert answer("why") == "answer to why"
    trace = fakeflow.traces.one()
    assert trace.name == "answer"
    assert trace.state == "OK"
    assert trace.shape() == ("answer", [("retrieve", []), ("generate", [("format", [])])])
    assert trace.root.inputs == {"query": "why"}
    assert trace.root.outputs == "answer to why"
    assert trace.span("retrieve").span_type == "RETRIEVER"
    assert trace.span("retrieve").outputs == ["doc about why"]
    assert trace.span("generate").user_attributes == {"model": "tiny"}
    fmt = trace.span("generate").child("format")
    assert fmt.inputs == {"docs": ["doc about why"]}
    assert fmt.attributes["n_docs"] == 1
    assert fmt.event("formatted").attributes == {"chars": 3}
    assert fmt.span_type == "PARSER"
    assert all(s.status == "OK" for s in trace.spans)
    assert trace.request_preview == '{"query": "why"}'
    assert trace.tags["mlflow.trace.spansLocation"] == "TRACKING_STORE"


def test_an_exception_marks_the_span_and_the_trace(fakeflow):
    with pytest.raises(ValueError):
        explode(3)
    trace = fakeflow.traces.one()
    assert trace.state == "ERROR"
    assert trace.root.status == "ERROR"
    assert "bad 3" in trace.root.status_message
    assert trace.root.event("exception").attributes["exception.type"] == "ValueError"


def test_async_functions_are_traced(fakeflow):
    assert asyncio.run(async_double(21)) == 42
    trace = fakeflow.traces.one()
    assert (trace.root.name, trace.root.outputs) == ("async_double", 42)


def test_many_threads_give_one_trace_each(fakeflow):
    threads = [threading.Thread(target=answer, args=(f"q{i}",)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    traces = fakeflow.traces
    assert len(traces) == 8
    assert sorted(t.root.inputs["query"] for t in traces) == [f"q{i}" for i in range(8)]
    assert all(len(t.spans) == 4 for t in traces)


def test_tags_and_assessments_are_visible(fakeflow):
    answer("tagged")
    trace_id = mlflow.get_last_active_trace_id()
    mlflow.flush_trace_async_logging()  # the export is asynchronous; tags need the trace stored
    mlflow.set_trace_tag(trace_id, "team", "search")
    mlflow.log_feedback(trace_id=trace_id, name="relevance", value=0.75, rationale="close")
    mlflow.log_expectation(trace_id=trace_id, name="expected", value={"answer": "x"})
    trace = fakeflow.traces.by_id(trace_id)
    assert trace.tags["team"] == "search"
    assert trace.feedback("relevance") == 0.75
    assert trace.assessment("relevance").rationale == "close"
    assert trace.expectation("expected") == {"answer": "x"}


def test_prompts_loaded_in_a_trace_are_linked(fakeflow):
    import uuid

    name = f"qa-{uuid.uuid4().hex[:8]}"  # a real server's registry outlives the test
    mlflow.genai.register_prompt(name=name, template="Q: {{q}}")

    @mlflow.trace
    def ask(q):
        return mlflow.genai.load_prompt(f"prompts:/{name}/1").format(q=q)

    ask("why?")
    assert fakeflow.traces.one().linked_prompts == [f"{name}/1"]
    found = mlflow.search_traces(filter_string=f"prompt = '{name}/1'", return_type="list")
    assert [t.info.trace_id for t in found] == [fakeflow.traces.one().trace_id]


def test_token_usage_cost_and_session_are_summed_from_the_spans(fakeflow):
    @mlflow.trace(span_type="CHAIN")
    def chat(q):
        mlflow.update_current_trace(metadata={"mlflow.trace.session": "conversation-1"})
        for tokens in (3, 4):
            with mlflow.start_span("llm", span_type="LLM") as span:
                span.set_attribute("mlflow.chat.tokenUsage", {
                    "input_tokens": tokens, "output_tokens": 1, "total_tokens": tokens + 1})
                span.set_attribute("mlflow.llm.cost", {
                    "input_cost": 0.5, "output_cost": 0.25, "total_cost": 0.75})
        return q

    chat("hi")
    trace = fakeflow.traces.one()
    assert trace.token_usage == {"input_tokens": 7, "output_tokens": 2, "total_tokens": 9}
    assert trace.cost == {"input_cost": 1.0, "output_cost": 0.5, "total_cost": 1.5}
    assert trace.session_id == "conversation-1"


def test_helpers_fail_with_what_was_there(fakeflow):
    answer("x")
    trace = fakeflow.traces.one()
    with pytest.raises(AssertionError, match=r"found 0; there are: \['answer', 'retrieve'"):
        trace.span("missing")
    with pytest.raises(AssertionError, match="found 0"):
        trace.assessment("nothing")
    assert "generate [UNKNOWN] OK" in trace.tree()


def test_no_traces_is_an_empty_list(fakeflow):
    assert fakeflow.traces == []
    with pytest.raises(AssertionError, match="found 0"):
        fakeflow.traces.one()


@pytest.mark.fakeflow_only
def test_the_request_log_shows_span_exports_as_json(fakeflow):
    answer("logged")
    exports = [r for r in fakeflow.requests if r.path == "/v1/traces"]
    assert exports, [r.path for r in fakeflow.requests]
    spans = [span for export in exports
             for resource in export.json["resourceSpans"]
             for scope in resource["scopeSpans"] for span in scope["spans"]]
    assert {span["name"] for span in spans} == {"answer", "retrieve", "generate", "format"}
