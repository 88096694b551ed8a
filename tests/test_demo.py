"""The demo workspace: built through ``fakeflow.client`` into fakeflow and into a real MLflow
3.17.2, it must read back the same through the REST API on both (names, values, artifacts,
registry); it is deterministic; ``fakeflow demo --save`` and ``serve --demo`` use it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import requests

import fakeflow
from fakeflow.client import RestClient
from fakeflow.demo import build_demo, fill_in_process
from fakeflow.demo.dataset import STEPS
from fakeflow.server import ThreadedServer
from fakeflow.transport.wsgi_adapter import in_process_session
from tests.support.processes import stop_server


def _files(client: RestClient, run_id: str, path: str | None = None) -> list[tuple[str, Any]]:
    listing = client.call("GET", "artifacts/list", params={"run_id": run_id, **({"path": path} if path else {})})
    out: list[tuple[str, Any]] = []
    for item in listing.get("files", []):
        if item.get("is_dir"):
            out += _files(client, run_id, item["path"])
        else:
            out.append((item["path"], item.get("file_size")))
    return out


def view(client: RestClient, names: list[str]) -> dict[str, Any]:
    """What a person sees of the demo through the API, without ids or server clocks."""
    experiments = {e["name"]: e for e in client.call("GET", "experiments/search",
                                                     params={"max_results": 1000}).get("experiments", [])}
    out: dict[str, Any] = {"experiments": {}, "models": {}, "runs": {}}
    for name in names:
        experiment = experiments[name]
        out["experiments"][name] = sorted((t["key"], t["value"]) for t in experiment.get("tags", []))
        for run in client.search_runs([experiment["experiment_id"]], order_by=["attributes.run_name ASC"]):
            info, data = run["info"], run["data"]
            parent = {t["key"]: t["value"] for t in data.get("tags", [])}.get("mlflow.parentRunId")
            out["runs"][info["run_name"]] = {
                "status": info["status"], "start": info["start_time"], "end": info.get("end_time"),
                "params": sorted((p["key"], p["value"]) for p in data.get("params", [])),
                "metrics": sorted((m["key"], m["value"], m["step"]) for m in data.get("metrics", [])),
                "datasets": sorted(d["dataset"]["name"] for d in run.get("inputs", {}).get("dataset_inputs", [])),
                "child": parent is not None,
                "files": sorted(_files(client, info["run_id"])),
                "history": len(list(client.metric_history(info["run_id"], "val_loss"))),
            }
    chatbot = experiments.get("Demo: support chatbot")
    if chatbot is not None:
        found = client.session.post(client.root + "/api/3.0/mlflow/traces/search", json={
            "locations": [{"type": "MLFLOW_EXPERIMENT",
                           "mlflow_experiment": {"experiment_id": chatbot["experiment_id"]}}],
            "order_by": ["timestamp_ms ASC"]}).json().get("traces", [])
        out["traces"] = []
        for trace in found:
            whole = client.session.get(client.root + "/api/3.0/mlflow/traces/get",
                                       params={"trace_id": trace["trace_id"]}).json()
            spans = whole.get("trace", {}).get("spans", [])
            metadata = trace.get("trace_metadata", {})
            out["traces"].append((
                trace["trace_id"], trace["state"], trace.get("execution_duration"),
                trace.get("request_preview"), trace.get("response_preview"),
                sorted((k, v) for k, v in trace.get("tags", {}).items() if not k.startswith("mlflow.artifact")),
                sorted((a["assessment_name"], json.dumps(a.get("feedback"))) for a in trace.get("assessments", [])),
                sorted(span["name"] for span in spans),
                tuple(metadata.get(f"mlflow.trace.{k}") for k in ("tokenUsage", "cost", "session"))))
        out["prompt_links"] = {
            version: sorted(t["trace_id"] for t in client.session.post(
                client.root + "/api/3.0/mlflow/traces/search", json={
                    "locations": [{"type": "MLFLOW_EXPERIMENT",
                                   "mlflow_experiment": {"experiment_id": chatbot["experiment_id"]}}],
                    "filter": f"prompt = 'summarize-ticket/{version}'"}).json().get("traces", []))
            for version in (1, 2)}
    for model in ("image-classifier", "churn-model", "summarize-ticket"):
        versions = client.call("GET", "model-versions/search", params={"filter": f"name='{model}'"})
        out["models"][model] = sorted(
            (v["version"], v.get("current_stage"), tuple(sorted(v.get("aliases", []))),
             v["source"].split("/")[-1], tuple(sorted((t["key"], t["value"]) for t in v.get("tags", []))))
            for v in versions.get("model_versions", []))
    return out


NAMES = ["Demo: image classifier", "Demo: churn prediction", "Demo: support chatbot"]


def _fresh_fake() -> RestClient:
    app = fakeflow.create_app()
    return RestClient("http://demo.invalid", session=in_process_session(app, "http://demo.invalid"))


def test_demo_is_rich_and_deterministic() -> None:
    first, second = _fresh_fake(), _fresh_fake()
    summary = build_demo(first)
    build_demo(second)
    seen = view(first, NAMES)
    assert seen == view(second, NAMES)
    assert len(summary.runs) >= 20 and len(summary.experiments) == 3
    traces = seen["traces"]
    assert len(traces) == 6 and [t[1] for t in traces].count("ERROR") == 1
    # the LLM spans' token usage and cost, and the conversations, show on the traces
    assert all(json.loads(t[8][0])["total_tokens"] > 0 and json.loads(t[8][1])["total_cost"] > 0
               for t in traces if t[1] == "OK")
    assert sorted(t[8][2] for t in traces) == ["customer-0", "customer-0", "customer-1",
                                               "customer-1", "customer-2", "customer-2"]
    assert (len(seen["prompt_links"][1]), len(seen["prompt_links"][2])) == (2, 3)
    assert all(t[7] in (["answer_ticket", "generate", "retrieve_docs"], ["answer_ticket", "retrieve_docs"])
               for t in traces)
    trained = [r for r in seen["runs"].values() if r["history"]]
    assert len(trained) >= 15 and all(r["history"] == STEPS for r in trained)
    assert any(r["child"] for r in seen["runs"].values()) and any(
        r["status"] == "FAILED" for r in seen["runs"].values())
    assert ("plots/loss.png", len(first.session.get(
        "http://demo.invalid/get-artifact",
        params={"run_id": summary.runs["trial-0"], "path": "plots/loss.png"}).content)) in \
        seen["runs"]["trial-0"]["files"]
    png = first.session.get("http://demo.invalid/get-artifact",
                            params={"run_id": summary.runs["trial-0"], "path": "plots/loss.png"})
    assert png.content.startswith(b"\x89PNG\r\n\x1a\n")
    champion = first.call("GET", "registered-models/alias", params={"name": "image-classifier",
                                                                    "alias": "champion"})["model_version"]
    assert (champion["version"], champion["current_stage"]) == ("2", "Production")
    prompt = first.call("GET", "registered-models/alias", params={"name": "summarize-ticket", "alias": "production"})
    tags = {t["key"]: t["value"] for t in prompt["model_version"]["tags"]}
    assert tags["_mlflow_prompt_type"] == "chat" and json.loads(tags["mlflow.prompt.text"])[1]["content"] == "{{ticket}}"


def test_demo_reads_the_same_on_real_mlflow(reference_server: Any) -> None:
    real = RestClient(reference_server.url, timeout=60)
    if any(e["name"] in NAMES for e in real.call("GET", "experiments/search",
                                                 params={"max_results": 1000}).get("experiments", [])):
        pytest.skip("this real server already holds a demo (a shared FAKEFLOW_REAL_MLFLOW_URL)")
    build_demo(real)
    fake = _fresh_fake()
    build_demo(fake)
    mine, theirs = view(fake, NAMES), view(real, NAMES)
    for part in theirs:
        assert mine[part] == theirs[part], part


def test_demo_command_saves_a_snapshot_that_serve_loads(tmp_path: Path) -> None:
    snapshot = tmp_path / "demo.json"
    made = subprocess.run([sys.executable, "-m", "fakeflow", "demo", "--save", str(snapshot)],
                          capture_output=True, text=True, timeout=120)
    assert made.returncode == 0, made.stderr
    app = fakeflow.create_app()
    from fakeflow.control import ControlledApp

    controlled = ControlledApp(app)
    controlled.load_file(snapshot)
    loaded = RestClient("http://l.invalid", session=in_process_session(controlled, "http://l.invalid"))
    fresh = _fresh_fake()
    build_demo(fresh)
    assert view(loaded, NAMES) == view(fresh, NAMES)


def test_serve_demo_answers_with_the_workspace() -> None:
    process = subprocess.Popen([sys.executable, "-m", "fakeflow", "serve", "--port", "0", "--demo"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = process.stdout.readline().strip()
        assert line.startswith("fakeflow listening on http://127.0.0.1:"), process.stderr.read()
        url = line.rsplit(" ", 1)[1]
        found = requests.get(url + "/api/2.0/mlflow/experiments/get-by-name",
                             params={"experiment_name": "Demo: image classifier"}, timeout=10)
        assert found.status_code == 200
    finally:
        assert stop_server(process) == 0


def test_demo_on_a_server_that_has_it_already_fails_clearly() -> None:
    app = fakeflow.create_app()
    fill_in_process(app)
    server = ThreadedServer(app, port=0).start()
    try:
        again = subprocess.run([sys.executable, "-m", "fakeflow", "demo", "--target", server.url],
                               capture_output=True, text=True, timeout=120)
    finally:
        server.stop()
    assert again.returncode == 1 and "RESOURCE_ALREADY_EXISTS" in again.stderr
