"""``mlflow.genai.evaluate`` through the real client against real MLflow 3.17.2 and fakeflow:
a scorer defined in the test (no LLM), a list-of-dicts dataset, once with an ``@mlflow.trace``d
``predict_fn`` and once with outputs given in the data. The evaluation run (status, params,
tags, metrics and their history, artifacts), its traces (spans, metadata, tags) and the
assessments the scorers and expectations left must agree once ids and clocks are masked."""

from __future__ import annotations

import re
from typing import Any

import pytest

pytest.importorskip("mlflow", reason="the real MLflow client (mlflow-skinny 3.17.2) is not installed")
pytest.importorskip("pandas", reason="mlflow.genai.evaluate needs pandas")

from tests.differential.harness import new_suffix  # noqa: E402
from tests.support.client_script import mlflow_pointed_at  # noqa: E402
from tests.test_client_parity import quick_client  # noqa: E402,F401  (fixture)
from tests.test_traces_client import _Masker, _trace  # noqa: E402

_RUN_IDS = re.compile(r"\b[0-9a-f]{32}\b")
_UUIDS = re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b")
_RANDOM_RUN_NAME = re.compile(r"^[a-z]+-[a-z]+-\d{1,4}$")


class _RunMasker(_Masker):
    """Trace, assessment and run ids by first appearance; random run names masked."""

    def __init__(self) -> None:
        super().__init__()
        self.runs: dict[str, str] = {}  # run ids and uuids

    def __call__(self, value: Any) -> Any:
        value = super().__call__(value)
        if isinstance(value, str):
            if _RANDOM_RUN_NAME.match(value):
                return "<run-name>"
            return _UUIDS.sub(self._uuid, _RUN_IDS.sub(self._run, value))
        if isinstance(value, dict):
            return {self(k): self(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self(v) for v in value]
        return value

    def _run(self, match: re.Match[str]) -> str:
        return self.runs.setdefault(match.group(0), f"<run:{len(self.runs) + 1}>")

    def _uuid(self, match: re.Match[str]) -> str:  # evaluation request ids
        return self.runs.setdefault(match.group(0), f"<uuid:{len(self.runs) + 1}>")


def _assessments(trace: Any) -> list[dict[str, Any]]:
    out = []
    for a in trace.info.assessments:
        error = getattr(a, "error", None)
        out.append({
            "name": a.name, "kind": type(a).__name__, "value": getattr(a, "value", None),
            "source": (str(a.source.source_type), a.source.source_id),
            "rationale": getattr(a, "rationale", None), "metadata": a.metadata,
            "on_span": a.span_id is not None, "run_id": a.run_id, "valid": a.valid,
            "error": None if error is None else (error.error_code, error.error_message),
        })
    return sorted(out, key=lambda a: (a["name"], str(a["value"])))


def _run(client: Any, run_id: str) -> dict[str, Any]:
    run = client.get_run(run_id)
    history = {key: [(m.value, m.step) for m in client.get_metric_history(run_id, key)]
               for key in run.data.metrics}
    return {
        "status": run.info.status, "name": run.info.run_name,
        "params": run.data.params, "tags": run.data.tags, "metrics": run.data.metrics,
        "history": history,
        "artifacts": sorted(f.path for f in client.list_artifacts(run_id)),
        "inputs": [(d.dataset.name, d.dataset.source_type) for d in run.inputs.dataset_inputs],
    }


def _traces(mlflow: Any, client: Any, experiment_id: str, run_id: str) -> list[dict[str, Any]]:
    found = mlflow.search_traces(locations=[experiment_id], return_type="list",
                                 order_by=["timestamp_ms ASC"])
    out = []
    for info_only in found:
        trace = client.get_trace(info_only.info.trace_id)
        shown = _trace(trace)
        shown["assessments"] = _assessments(trace)
        shown["linked to the run"] = trace.info.trace_metadata.get("mlflow.sourceRun") == run_id
        out.append(shown)
    out.sort(key=lambda shown: str(shown["request_preview"]))  # one trace per input row
    by_run = mlflow.search_traces(locations=[experiment_id], run_id=run_id, return_type="list")
    return out + [{"found by run id": len(by_run)}]


def evaluate_script(uri: str) -> dict[str, Any]:
    import mlflow
    from mlflow import MlflowClient
    from mlflow.entities import Feedback
    from mlflow.genai.scorers import scorer

    @scorer
    def exact(outputs: Any, expectations: dict[str, Any]) -> bool:
        return outputs == expectations["expected_response"]

    @scorer
    def length(outputs: Any) -> Feedback:
        return Feedback(value=len(str(outputs)), rationale=f"{len(str(outputs))} characters")

    @scorer
    def flaky(inputs: dict[str, Any]) -> float:
        if inputs["question"] == "c":
            raise ValueError("cannot score c")
        return 0.5

    @mlflow.trace(span_type="CHAIN")
    def predict(question: str) -> str:
        return helper(question)

    @mlflow.trace
    def helper(question: str) -> str:
        return question.upper() if question != "c" else "nope"

    data = [{"inputs": {"question": q}, "expectations": {"expected_response": q.upper()}}
            for q in "abc"]
    given = [{"inputs": {"question": q}, "outputs": a, "expectations": {"expected_response": e}}
             for q, a, e in (("x", "X", "X"), ("y", "why", "Y"))]
    out: dict[str, Any] = {}
    with mlflow_pointed_at(uri):
        client = MlflowClient()
        experiment_id = mlflow.set_experiment(f"genai-eval-{new_suffix()}").experiment_id
        result = mlflow.genai.evaluate(data=data, predict_fn=predict,
                                       scorers=[exact, length, flaky])
        out["with predict_fn"] = {
            "metrics": {k: float(v) for k, v in result.metrics.items()},
            "run": _run(client, result.run_id),
            "traces": _traces(mlflow, client, experiment_id, result.run_id),
        }
        second = mlflow.set_experiment(f"genai-eval-given-{new_suffix()}").experiment_id
        result = mlflow.genai.evaluate(data=given, scorers=[exact, length])
        out["with outputs given"] = {
            "metrics": {k: float(v) for k, v in result.metrics.items()},
            "run": _run(client, result.run_id),
            "traces": _traces(mlflow, client, second, result.run_id),
        }
    return out


def test_genai_evaluate_records_the_same_run_traces_and_assessments(
    quick_client: None, reference_server: Any, fakeflow_server: Any,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MLFLOW_ENABLE_ASYNC_TRACE_LOGGING", "false")
    real = _RunMasker()(evaluate_script(reference_server.url))
    fake = _RunMasker()(evaluate_script(fakeflow_server.url))
    assert fake == real
    # anchors that do not depend on the reference server
    metrics = fake["with predict_fn"]["metrics"]
    assert metrics["exact/mean"] == pytest.approx(2 / 3)
    assert fake["with predict_fn"]["run"]["tags"]["mlflow.runType"] == "genai_evaluate"
    assert fake["with outputs given"]["metrics"]["exact/mean"] == 0.5
