"""Traced code run through the real MLflow client against real MLflow 3.17.2 and against
fakeflow: nested ``@mlflow.trace`` functions, ``start_span`` with attributes and events, an
exception inside a span, tags, feedback and expectations, search, get, delete. What the client
reads back must agree once trace ids, assessment ids and clocks are masked."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.differential.harness import new_suffix
from tests.support.client_script import mlflow_pointed_at
from tests.test_client_parity import quick_client  # noqa: F401  (fixture)

pytest.importorskip("mlflow", reason="the real MLflow client (mlflow-skinny 3.17.2) is not installed")

_IDS = re.compile(r"\b(tr|a)-[0-9a-f]{32}\b")


class _Masker:
    """Trace and assessment ids -> ``<tr:1>``, ``<a:1>`` in order of first appearance."""

    def __init__(self) -> None:
        self.seen: dict[str, str] = {}

    def __call__(self, value: Any) -> Any:
        if isinstance(value, str):
            return _IDS.sub(self._one, value)
        if isinstance(value, dict):
            return {self(k): self(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [self(v) for v in value]
        return value

    def _one(self, match: re.Match[str]) -> str:
        raw = match.group(0)
        if raw not in self.seen:
            kind = match.group(1)
            self.seen[raw] = f"<{kind}:{sum(1 for v in self.seen.values() if v.startswith('<' + kind + ':')) + 1}>"
        return self.seen[raw]


def _span(span: Any) -> dict[str, Any]:
    return {
        "name": span.name, "type": span.span_type, "inputs": span.inputs,
        "outputs": span.outputs, "status": str(span.status.status_code),
        "message": span.status.description,
        "attributes": {k: v for k, v in span.attributes.items()
                       if k not in ("mlflow.traceRequestId",)},
        "events": [(e.name, {k: v for k, v in e.attributes.items()
                             if k != "exception.stacktrace"}) for e in span.events],
        "has_parent": span.parent_id is not None,
    }


def _trace(trace: Any) -> dict[str, Any]:
    info = trace.info
    metadata = {k: v for k, v in info.trace_metadata.items()
                if k not in ("mlflow.source.name", "mlflow.trace.sizeBytes",
                             "mlflow.trace.sizeStats", "mlflow.source.git.commit",
                             "mlflow.source.git.branch", "mlflow.source.git.repoURL")}
    tags = {k: v for k, v in info.tags.items() if k != "mlflow.artifactLocation"}
    spans = sorted((_span(s) for s in trace.data.spans), key=lambda s: s["name"])
    return {
        "state": str(info.state), "metadata": metadata, "tags": tags,
        "request_preview": info.request_preview, "response_preview": info.response_preview,
        "spans": spans,
        "assessments": sorted(
            ({"name": a.name, "value": getattr(a, "value", None), "valid": a.valid,
              "source": (a.source.source_type, a.source.source_id),
              "rationale": getattr(a, "rationale", None), "overrides": a.overrides}
             for a in info.assessments), key=lambda a: (a["name"], str(a["value"]))),
    }


def traced_script(uri: str) -> Any:
    import mlflow
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    @mlflow.trace(span_type="RETRIEVER")
    def retrieve(query: str) -> list[str]:
        return [f"doc:{query}"]

    @mlflow.trace(name="pipeline", attributes={"version": 2})
    def pipeline(query: str) -> str:
        docs = retrieve(query)
        with mlflow.start_span("llm", span_type="LLM") as span:
            span.set_inputs({"prompt": query, "docs": docs})
            span.set_attributes({"temperature": 0.5, "stop": ["\n"]})
            span.add_event(mlflow.entities.SpanEvent("token", attributes={"i": 1}))
            span.set_outputs({"text": "ok"})
        return "ok:" + query

    @mlflow.trace
    def broken(x: int) -> int:
        raise RuntimeError(f"broken {x}")

    out: dict[str, Any] = {}
    with mlflow_pointed_at(uri):
        experiment = mlflow.set_experiment(f"traces-client-{new_suffix()}")
        exp = [experiment.experiment_id]
        client = MlflowClient()
        pipeline("a")
        first = mlflow.get_last_active_trace_id()
        pipeline("b")
        second = mlflow.get_last_active_trace_id()
        try:
            broken(1)
        except RuntimeError:
            pass
        third = mlflow.get_last_active_trace_id()
        mlflow.flush_trace_async_logging()
        client.set_trace_tag(first, "team", "search")
        client.set_trace_tag(second, "team", "ranking")
        client.delete_trace_tag(second, "team")
        feedback = mlflow.log_feedback(trace_id=first, name="relevance", value=0.5,
                                       rationale="partly")
        mlflow.override_feedback(trace_id=first, assessment_id=feedback.assessment_id,
                                 value=1.0, rationale="after review")
        mlflow.log_expectation(trace_id=first, name="expected", value={"text": "ok"})
        out["first"] = _trace(client.get_trace(first))
        out["third"] = _trace(client.get_trace(third))
        found = mlflow.search_traces(locations=exp, return_type="list")
        out["search_all"] = [t.info.request_preview for t in found]
        found = mlflow.search_traces(locations=exp, filter_string="tags.team = 'search'",
                                     return_type="list")
        out["search_tag"] = [t.info.trace_id == first for t in found]
        found = mlflow.search_traces(locations=exp, filter_string="status = 'ERROR'",
                                     return_type="list")
        out["search_error"] = [t.info.trace_id == third for t in found]
        found = mlflow.search_traces(locations=exp, order_by=["timestamp_ms ASC"],
                                     max_results=2, return_type="list")
        out["search_order"] = [t.info.request_preview for t in found]
        out["deleted"] = client.delete_traces(exp[0], trace_ids=[second])
        out["after_delete"] = len(mlflow.search_traces(locations=exp, return_type="list"))
        try:
            client.get_trace(second)
            out["get_deleted"] = None
        except MlflowException as error:
            out["get_deleted"] = error.error_code
        out["deleted_older"] = client.delete_traces(exp[0], max_timestamp_millis=2**62,
                                                    max_traces=10)
    return out


def test_traced_code_reads_back_the_same(
    quick_client: None, reference_server: Any, fakeflow_server: Any,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MLFLOW_ENABLE_ASYNC_TRACE_LOGGING", "false")
    real = _Masker()(traced_script(reference_server.url))
    fake = _Masker()(traced_script(fakeflow_server.url))
    assert fake == real
    # anchors that do not depend on the reference server
    assert [s["name"] for s in fake["first"]["spans"]] == ["llm", "pipeline", "retrieve"]
    assert fake["first"]["tags"]["team"] == "search"
    assert fake["third"]["state"] == "ERROR"
    assert fake["search_tag"] == [True] and fake["search_error"] == [True]
    assert fake["deleted"] == 1 and fake["after_delete"] == 2
    assert fake["get_deleted"] == "RESOURCE_DOES_NOT_EXIST"
    assert fake["deleted_older"] == 2


def _join_prompt_links() -> None:
    """The exporter links prompts on a thread of its own; wait for those threads."""
    import threading

    for thread in threading.enumerate():
        if thread.name.startswith("link_prompts_from_exporter"):
            thread.join(timeout=30)


def prompt_script(uri: str, suffix: str) -> dict[str, Any]:
    """A traced call that loads a registered prompt: the exporter links the prompt version to
    the trace (``traces/link-prompts`` plus the ``mlflow.linkedPrompts`` tag)."""
    import mlflow

    out: dict[str, Any] = {}
    with mlflow_pointed_at(uri):
        exp = mlflow.create_experiment(f"prompts-{suffix}")
        name = f"qa-{suffix}"
        mlflow.genai.register_prompt(name=name, template="Q: {{q}}")
        mlflow.genai.register_prompt(name=name, template="Question: {{q}}")

        @mlflow.trace
        def answer(q: str, version: int) -> str:
            return mlflow.genai.load_prompt(f"prompts:/{name}/{version}").format(q=q)

        with mlflow.start_run(experiment_id=exp):
            answer("why?", 1)
            first = mlflow.get_last_active_trace_id()
            answer("how?", 2)
            answer("what?", 2)
        _join_prompt_links()
        tags = mlflow.get_trace(first).info.tags
        out["linked_tag"] = tags.get("mlflow.linkedPrompts", "").replace(name, "<name>")
        for version in (1, 2, 3):
            found = mlflow.search_traces(locations=[exp], return_type="list",
                                         filter_string=f"prompt = '{name}/{version}'")
            out[f"version_{version}"] = sorted(t.info.request_preview for t in found)
    return out


def test_prompt_links_read_back_the_same(
    quick_client: None, reference_server: Any, fakeflow_server: Any,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MLFLOW_ENABLE_ASYNC_TRACE_LOGGING", "false")
    suffix = new_suffix()
    real = prompt_script(reference_server.url, suffix)
    fake = prompt_script(fakeflow_server.url, suffix)
    assert fake == real
    assert len(fake["version_1"]) == 1 and len(fake["version_2"]) == 2
    assert fake["version_3"] == [] and '"version": "1"' in fake["linked_tag"]
