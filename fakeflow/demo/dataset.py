"""The demo workspace: a realistic, deterministic data set built through ``fakeflow.client``'s
REST calls only, so the same function fills fakeflow or a real MLflow server.

Two experiments of training runs (smooth metric curves of hundreds of steps, params, tags,
datasets, nested runs, a failed run, text/JSON/PNG artifacts and model files), a GenAI
experiment with traces (spans, a failed one, feedback), logged models, two registered models
with versions, aliases and stages, and a prompt with two versions.
"""

from __future__ import annotations

import json
import math
import random
from dataclasses import dataclass, field
from typing import Any

from fakeflow.client import MlflowApiError, RestClient
from fakeflow.demo.png import line_plot

START = 1_767_600_000_000  # 2026-01-05 08:00 UTC: demo runs start here, one hour apart
STEPS = 300
SEED = 20260105


@dataclass
class DemoSummary:
    """What was built, by name, for tests and for the startup message."""

    experiments: dict[str, str] = field(default_factory=dict)  # name -> id
    runs: dict[str, str] = field(default_factory=dict)  # run name -> id
    registered_models: list[str] = field(default_factory=list)
    prompts: list[str] = field(default_factory=list)
    logged_models: list[str] = field(default_factory=list)
    traces: list[str] = field(default_factory=list)
    evaluation_datasets: list[str] = field(default_factory=list)


def _curve(rng: random.Random, start: float, end: float, rate: float, noise: float) -> list[float]:
    return [round(end + (start - end) * math.exp(-rate * s / STEPS) + rng.gauss(0, noise), 5)
            for s in range(STEPS)]


def _points(key: str, values: list[float], t0: int) -> list[dict[str, Any]]:
    return [{"key": key, "value": v, "timestamp": t0 + 12_000 * s, "step": s}
            for s, v in enumerate(values)]


MLMODEL = """artifact_path: model
flavors:
  python_function:
    loader_module: mlflow.pyfunc.model
    python_version: 3.11.7
mlflow_version: 3.17.2
model_uuid: {uuid}
run_id: {run_id}
utc_time_created: '2026-01-05 08:00:00.000000'
"""


def _train_run(client: RestClient, rng: random.Random, experiment_id: str, name: str,
               index: int, params: dict[str, str], parent: str | None = None,
               status: str = "FINISHED") -> str:
    t0 = START + index * 3_600_000
    tags = [{"key": "mlflow.user", "value": "demo"}, {"key": "team", "value": "vision"},
            {"key": "mlflow.source.name", "value": "train.py"}]
    if parent:
        tags.append({"key": "mlflow.parentRunId", "value": parent})
    run = client.create_run(experiment_id, name, start_time=t0, tags=tags)
    run_id = run["info"]["run_id"]
    quality = 0.6 + 0.35 * rng.random()
    train = _curve(rng, 2.3, 0.4 - 0.3 * quality, 4.0, 0.01)
    val = _curve(rng, 2.4, 0.55 - 0.3 * quality, 3.5, 0.015)
    accuracy = _curve(rng, 0.1, quality, 4.0, 0.004)
    metrics = (_points("train_loss", train, t0) + _points("val_loss", val, t0)
               + _points("val_accuracy", accuracy, t0))
    client.log_batch(run_id, metrics, [{"key": k, "value": v} for k, v in params.items()])
    client.log_inputs(run_id, [
        {"dataset": {"name": "cifar10-train", "digest": "a1b2c3d4", "source_type": "http",
                     "source": "https://example.invalid/cifar10/train.parquet",
                     "schema": json.dumps({"mlflow_colspec": [{"type": "binary", "name": "image"},
                                                              {"type": "long", "name": "label"}]}),
                     "profile": json.dumps({"num_rows": 50000})},
         "tags": [{"key": "mlflow.data.context", "value": "training"}]},
        {"dataset": {"name": "cifar10-test", "digest": "e5f6a7b8", "source_type": "http",
                     "source": "https://example.invalid/cifar10/test.parquet"},
         "tags": [{"key": "mlflow.data.context", "value": "evaluation"}]},
    ])
    uri = run["info"]["artifact_uri"]
    client.upload_artifact(uri, "notes/summary.txt",
                           f"Run {name}: final val_accuracy {accuracy[-1]:.3f}\n".encode(), "text/plain")
    client.upload_artifact(uri, "metrics/report.json", json.dumps(
        {"val_accuracy": accuracy[-1], "val_loss": val[-1], "params": params}, indent=2).encode(),
        "application/json")
    client.upload_artifact(uri, "plots/loss.png", line_plot([train, val]), "image/png")
    client.upload_artifact(uri, "model/MLmodel", MLMODEL.format(
        uuid=f"{rng.getrandbits(128):032x}", run_id=run_id).encode(), "text/plain")
    client.upload_artifact(uri, "model/requirements.txt", b"mlflow==3.17.2\n", "text/plain")
    client.update_run(run_id, status=status, end_time=t0 + STEPS * 12_000)
    return run_id


def build_demo(client: RestClient, seed: int = SEED) -> DemoSummary:
    """Fill the server behind ``client`` with the demo workspace (names are fixed: run it on a
    server that does not have them yet)."""
    rng = random.Random(seed)
    summary = DemoSummary()
    vision = client.create_experiment("Demo: image classifier", tags=[
        {"key": "mlflow.note.content", "value": "CNN sweeps on CIFAR-10: learning rate, batch size, optimizer."},
        {"key": "project", "value": "vision"}])
    summary.experiments["Demo: image classifier"] = vision
    grid = [(lr, bs, opt) for lr in ("0.1", "0.01", "0.001") for bs in ("32", "128")
            for opt in ("sgd", "adam")]
    for index, (lr, bs, opt) in enumerate(grid):
        name = f"cnn-lr{lr}-bs{bs}-{opt}"
        status = "FAILED" if index == 5 else "FINISHED"
        summary.runs[name] = _train_run(client, rng, vision, name, index,
                                        {"learning_rate": lr, "batch_size": bs, "optimizer": opt,
                                         "epochs": "30"}, status=status)
    parent = client.create_run(vision, "hyperparameter-search", start_time=START - 3_600_000,
                               tags=[{"key": "mlflow.user", "value": "demo"}])["info"]["run_id"]
    summary.runs["hyperparameter-search"] = parent
    for trial in range(3):
        name = f"trial-{trial}"
        summary.runs[name] = _train_run(client, rng, vision, name, 20 + trial,
                                        {"learning_rate": str(10 ** -(trial + 2)), "batch_size": "64",
                                         "optimizer": "adam", "epochs": "10"}, parent=parent)
    client.update_run(parent, status="FINISHED", end_time=START + 30 * 3_600_000)

    churn = client.create_experiment("Demo: churn prediction", tags=[{"key": "project", "value": "growth"}])
    summary.experiments["Demo: churn prediction"] = churn
    for index in range(8):
        depth = 3 + index % 4
        auc = round(0.7 + 0.03 * depth + rng.uniform(-0.02, 0.02), 4)
        t0 = START + 86_400_000 + index * 600_000
        name = f"gbm-depth{depth}-{index}"
        run_id = client.create_run(churn, name, start_time=t0,
                                   tags=[{"key": "team", "value": "growth"}])["info"]["run_id"]
        client.log_batch(run_id, [{"key": "auc", "value": auc, "timestamp": t0, "step": 0},
                                  {"key": "f1", "value": round(auc - 0.12, 4), "timestamp": t0, "step": 0}],
                         [{"key": "max_depth", "value": str(depth)},
                          {"key": "n_estimators", "value": str(100 * (1 + index % 3))}])
        client.update_run(run_id, status="FINISHED", end_time=t0 + 240_000)
        summary.runs[name] = run_id

    chatbot = client.create_experiment("Demo: support chatbot", tags=[
        {"key": "mlflow.note.content", "value": "A retrieval-augmented assistant for support tickets."}])
    summary.experiments["Demo: support chatbot"] = chatbot
    _traces(client, rng, summary, chatbot)
    _evaluation_dataset(client, summary, chatbot)
    _logged_models(client, summary, vision)
    _registry(client, summary)
    _prompts(client, summary)
    return summary


TICKETS = [
    ("My invoice shows the wrong VAT rate.", "Billing: VAT rate corrected on the next invoice.", "OK"),
    ("The app crashes when I upload a photo.", "Bug: photo upload crash, escalated to mobile team.", "OK"),
    ("How do I reset my password?", "Account: sent the password reset steps.", "OK"),
    ("Can I get a refund for last month?", "Billing: refund policy explained.", "OK"),
    ("Export to CSV times out.", "", "ERROR"),
    ("Where is my order #4411?", "Shipping: order 4411 is out for delivery.", "OK"),
]


def _post(client: RestClient, path: str, body: Any, headers: dict[str, str] | None = None) -> Any:
    answer = client.session.post(client.root + path, data=json.dumps(body),
                                 headers={"Content-Type": "application/json", **(headers or {})},
                                 timeout=client.timeout)
    if answer.status_code != 200:
        raise MlflowApiError(answer.status_code, "", answer.text[:300])
    return answer.json() if answer.content else {}


def _attr(key: str, value: Any) -> dict[str, Any]:
    return {"key": key, "value": {"stringValue": value if isinstance(value, str) else json.dumps(value)}}


def _traces(client: RestClient, rng: random.Random, summary: DemoSummary, experiment_id: str) -> None:
    """Traces as the MLflow client exports them: OTLP spans on /v1/traces (the LLM span with
    token usage and cost, the root with a conversation's session id), the trace info on
    /api/3.0/mlflow/traces, then feedback on some of them and the prompt version they used."""
    for index, (ticket, reply, state) in enumerate(TICKETS):
        otel_id = f"{rng.getrandbits(128):032x}"
        trace_id = "tr-" + otel_id
        start_ns = (START + 2 * 86_400_000 + index * 600_000) * 1_000_000
        took_ms = 900 + rng.randint(0, 1200)
        root, retrieve, generate = (f"{rng.getrandbits(64):016x}" for _ in range(3))
        failed = state == "ERROR"
        spans = [
            {"traceId": otel_id, "spanId": root, "name": "answer_ticket",
             "startTimeUnixNano": str(start_ns), "endTimeUnixNano": str(start_ns + took_ms * 1_000_000),
             "attributes": [_attr("mlflow.spanType", "CHAIN"), _attr("mlflow.traceRequestId", trace_id),
                            _attr("mlflow.spanInputs", {"ticket": ticket}),
                            _attr("mlflow.spanOutputs", reply or None),
                            _attr("session.id", json.dumps(f"customer-{index % 3}"))],
             "status": {"code": 2 if failed else 1, "message": "TimeoutError: search took too long" if failed else ""}},
            {"traceId": otel_id, "spanId": retrieve, "parentSpanId": root, "name": "retrieve_docs",
             "startTimeUnixNano": str(start_ns + 5_000_000), "endTimeUnixNano": str(start_ns + 180_000_000),
             "attributes": [_attr("mlflow.spanType", "RETRIEVER"), _attr("mlflow.traceRequestId", trace_id),
                            _attr("mlflow.spanInputs", {"query": ticket}),
                            _attr("mlflow.spanOutputs", [{"page_content": f"KB article {index}", "metadata": {"doc_uri": f"kb/{index}.md"}}])],
             "status": {"code": 2 if failed else 1}},
        ]
        if not failed:
            spans.append(
                {"traceId": otel_id, "spanId": generate, "parentSpanId": root, "name": "generate",
                 "startTimeUnixNano": str(start_ns + 200_000_000),
                 "endTimeUnixNano": str(start_ns + (took_ms - 10) * 1_000_000),
                 "attributes": [_attr("mlflow.spanType", "LLM"), _attr("mlflow.traceRequestId", trace_id),
                                _attr("mlflow.spanInputs", {"messages": [{"role": "user", "content": ticket}]}),
                                _attr("mlflow.spanOutputs", reply),
                                {"key": "temperature", "value": {"doubleValue": 0.2}},
                                _attr("model", "demo-llm-small"),
                                _attr("mlflow.chat.tokenUsage", _usage(ticket, reply)),
                                _attr("mlflow.llm.cost", _cost(ticket, reply))],
                 "status": {"code": 1}})
        _post(client, "/v1/traces", {"resourceSpans": [{"resource": {"attributes": [
            {"key": "service.name", "value": {"stringValue": "support-bot"}}]},
            "scopeSpans": [{"spans": spans}]}]}, {"x-mlflow-experiment-id": experiment_id})
        _post(client, "/api/3.0/mlflow/traces", {"trace": {"trace_info": {
            "trace_id": trace_id,
            "trace_location": {"type": "MLFLOW_EXPERIMENT", "mlflow_experiment": {"experiment_id": experiment_id}},
            "request_time": _iso(start_ns // 1_000_000), "execution_duration": f"{took_ms / 1000:.3f}s",
            "state": state, "request_preview": json.dumps({"ticket": ticket}),
            "response_preview": json.dumps(reply) if reply else "",
            "trace_metadata": {"mlflow.trace_schema.version": "3", "mlflow.user": "demo"},
            "tags": {"mlflow.traceName": "answer_ticket", "channel": "email" if index % 2 else "chat"}}}})
        if not failed:
            _post(client, f"/api/3.0/mlflow/traces/{trace_id}/assessments", {"assessment": {
                "assessment_name": "helpfulness", "trace_id": trace_id,
                "source": {"source_type": "HUMAN", "source_id": "support-lead"},
                "create_time": _iso(start_ns // 1_000_000 + 60_000),
                "last_update_time": _iso(start_ns // 1_000_000 + 60_000),
                "feedback": {"value": index % 3 != 1}, "rationale": "Checked against the KB."}})
            _post(client, "/api/2.0/mlflow/traces/link-prompts", {
                "trace_id": trace_id,
                "prompt_versions": [{"name": "summarize-ticket", "version": str(1 + index % 2)}]})
        summary.traces.append(trace_id)


def _usage(ticket: str, reply: str) -> dict[str, int]:
    """Token counts as an LLM autolog records them (about four characters a token)."""
    prompt, completion = 60 + len(ticket) // 4, len(reply) // 4
    return {"input_tokens": prompt, "output_tokens": completion,
            "total_tokens": prompt + completion}


def _cost(ticket: str, reply: str) -> dict[str, float]:
    usage = _usage(ticket, reply)
    prompt, completion = usage["input_tokens"] / 1e6, 4 * usage["output_tokens"] / 1e6
    return {"input_cost": prompt, "output_cost": completion, "total_cost": prompt + completion}


def _evaluation_dataset(client: RestClient, summary: DemoSummary, experiment_id: str) -> None:
    """A GenAI evaluation dataset of the tickets with their expected answers (the UI's
    "Datasets" tab of the chatbot experiment)."""
    name = "support-tickets-eval"
    created = _post(client, "/api/3.0/mlflow/datasets/create", {
        "name": name, "experiment_ids": [experiment_id],
        "tags": json.dumps({"source": "support inbox", "mlflow.user": "demo"})})
    dataset_id = created["dataset"]["dataset_id"]
    records = [{"inputs": {"ticket": ticket},
                "expectations": {"expected_response": reply or "Escalate: export timeout."},
                "tags": {"channel": "email" if index % 2 else "chat"}}
               for index, (ticket, reply, _) in enumerate(TICKETS)]
    _post(client, f"/api/3.0/mlflow/datasets/{dataset_id}/records", {"records": json.dumps(records)})
    summary.evaluation_datasets.append(name)


def _iso(ms: int) -> str:
    import datetime

    moment = datetime.datetime.fromtimestamp(ms / 1000, tz=datetime.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def _logged_models(client: RestClient, summary: DemoSummary, experiment_id: str) -> None:
    for run_name in ("cnn-lr0.01-bs128-adam", "cnn-lr0.001-bs128-adam"):
        run_id = summary.runs[run_name]
        model = client.call("POST", "logged-models", {
            "experiment_id": experiment_id, "name": run_name.replace(".", "_") + "-model",
            "source_run_id": run_id,
            "model_type": "pytorch", "params": [{"key": "framework", "value": "torch"}],
            "tags": [{"key": "stage", "value": "candidate"}]})["model"]
        model_id = model["info"]["model_id"]
        client.upload_artifact(model["info"]["artifact_uri"], "MLmodel",
                               MLMODEL.format(uuid=model_id[2:], run_id=run_id).encode(), "text/plain")
        client.call("PATCH", f"logged-models/{model_id}", {"model_id": model_id,
                                                           "status": "LOGGED_MODEL_READY"})
        summary.logged_models.append(model_id)


def _registry(client: RestClient, summary: DemoSummary) -> None:
    name = "image-classifier"
    client.call("POST", "registered-models/create", {
        "name": name, "description": "Production CIFAR-10 classifier.",
        "tags": [{"key": "owner", "value": "vision-team"}]})
    for run_name in ("cnn-lr0.1-bs32-sgd", "cnn-lr0.01-bs128-adam", "cnn-lr0.001-bs128-adam"):
        run_id = summary.runs[run_name]
        client.call("POST", "model-versions/create", {
            "name": name, "source": f"runs:/{run_id}/model", "run_id": run_id,
            "description": f"Trained by {run_name}.", "tags": [{"key": "validated", "value": "true"}]})
    for version, stage in (("1", "Archived"), ("2", "Production"), ("3", "Staging")):
        client.call("POST", "model-versions/transition-stage", {
            "name": name, "version": version, "stage": stage, "archive_existing_versions": False})
    client.set_registered_model_alias(name, "champion", "2")
    client.set_registered_model_alias(name, "challenger", "3")
    summary.registered_models.append(name)

    churn = "churn-model"
    client.call("POST", "registered-models/create", {"name": churn})
    for run_name in sorted(n for n in summary.runs if n.startswith("gbm-"))[:2]:
        run_id = summary.runs[run_name]
        client.call("POST", "model-versions/create",
                    {"name": churn, "source": f"runs:/{run_id}/model", "run_id": run_id})
    client.set_registered_model_alias(churn, "champion", "1")
    summary.registered_models.append(churn)


PROMPT_TAG, TEXT_TAG, TYPE_TAG = "mlflow.prompt.is_prompt", "mlflow.prompt.text", "_mlflow_prompt_type"


def _prompts(client: RestClient, summary: DemoSummary) -> None:
    """The REST calls ``mlflow.genai.register_prompt`` makes, for a text then a chat version."""
    name = "summarize-ticket"
    client.call("POST", "registered-models/create", {
        "name": name, "description": "first draft",
        "tags": [{"key": PROMPT_TAG, "value": "true"}, {"key": "team", "value": "support"}]})
    versions = [("text", "Summarize this support ticket in two sentences:\n{{ticket}}", "first draft"),
                ("chat", json.dumps([{"role": "system", "content": "You summarize support tickets."},
                                     {"role": "user", "content": "{{ticket}}"}]), "chat format")]
    for kind, text, message in versions:
        client.call("POST", "model-versions/create", {
            "name": name, "source": "dummy-source", "description": message,
            "tags": [{"key": PROMPT_TAG, "value": "true"}, {"key": TYPE_TAG, "value": kind},
                     {"key": TEXT_TAG, "value": text}]})
    client.set_registered_model_alias(name, "production", "2")
    summary.prompts.append(name)
