"""log-inputs (datasets, model inputs), runs/outputs, legacy log-model, artifacts/list."""

from __future__ import annotations

from ..model import ajax_get, ajax_post, case, get, post
from .common import get_run, new_experiment, new_run

BOGUS_RUN = "0123456789abcdef0123456789abcdef"
TRAIN = {"name": "train", "digest": "abc123", "source_type": "local", "source": "{\"uri\": \"/data\"}",
         "schema": "{\"mlflow_colspec\": []}", "profile": "{\"num_rows\": 3}"}

VALID_MODEL_JSON = (
    '{"run_id": "${r1}", "artifact_path": "model", "utc_time_created": "2024-01-01 00:00:00.000000", '
    '"flavors": {"python_function": {"loader_module": "x"}}}'
)

CASES = [
    case(
        "inputs-datasets",
        new_experiment("e1"),
        new_run("r1", "e1", run_name="d", start_time=5),
        post("runs/log-inputs", {"run_id": "${r1}", "datasets": [
            {"dataset": TRAIN, "tags": [{"key": "mlflow.data.context", "value": "training"}]}]}),
        post("runs/log-inputs", {"run_id": "${r1}", "datasets": [
            {"dataset": TRAIN, "tags": [{"key": "mlflow.data.context", "value": "training"}]}]},
             note="same dataset + tags again: deduplicated"),
        post("runs/log-inputs", {"run_id": "${r1}", "datasets": [
            {"dataset": {**TRAIN, "digest": "def456"}, "tags": [{"key": "mlflow.data.context", "value": "eval"}]},
            {"dataset": {"name": "only-name"}}]}),
        post("runs/log-inputs", {"run_id": "${r1}", "datasets": [
            {"dataset": TRAIN, "tags": [{"key": "mlflow.data.context", "value": "eval"}]}]},
             note="same dataset, other context"),
        post("runs/log-inputs", {"run_id": "${r1}", "models": [{"model_id": "m-0123456789abcdef0123456789abcdef"}]}),
        post("runs/log-inputs", {"run_id": "${r1}"}),
        post("runs/log-inputs", {"run_id": "${r1}", "datasets": []}),
        get_run("r1"),
        post("runs/search", {"experiment_ids": ["${e1}"]}, note="search omits model inputs"),
        post("runs/search", {"experiment_ids": ["${e1}"], "filter": "dataset.name = 'train'"}),
        post("runs/search", {"experiment_ids": ["${e1}"], "filter": "datasets.context = 'eval'"}),
        post("runs/search", {"experiment_ids": ["${e1}"], "filter": "dataset.digest IN ('zzz')"}),
        ajax_post("runs/log-inputs", {"run_id": "${r1}", "datasets": [{"dataset": {"name": "ajax", "digest": "d"}}]}),
        get_run("r1"),
    ),
    case(
        "inputs-invalid",
        new_experiment("e1"),
        new_run("r1", "e1", run_name="d"),
        post("runs/log-inputs", {"datasets": []}),
        post("runs/log-inputs", {"run_id": BOGUS_RUN, "datasets": []}),
        post("runs/log-inputs", {"run_id": "${r1}", "datasets": {"dataset": {}}}),
        post("runs/log-inputs", {"run_id": "${r1}", "datasets": [{"dataset": {"digest": "x"}}]}),
        post("runs/log-inputs", {"run_id": "${r1}", "datasets": [{}]}),
        post("runs/log-inputs", {"run_id": "${r1}", "datasets": [{"dataset": {"name": "n" * 501, "digest": "x"}}]}),
        post("runs/log-inputs", {"run_id": "${r1}", "datasets": [{"dataset": {"name": "n", "digest": "x" * 37}}]}),
        post("runs/log-inputs", {"run_id": "${r1}", "datasets": [{"dataset": {"name": "n", "digest": "d"},
                                                                   "tags": [{"key": "k" * 256, "value": "v"}]}]}),
        post("runs/log-inputs", {"run_id": "${r1}", "models": [{}]}),
        get_run("r1"),
    ),
    case(
        "outputs-and-log-model",
        new_experiment("e1"),
        new_run("r1", "e1", run_name="o", start_time=9),
        post("runs/outputs", {"run_id": "${r1}", "models": [{"model_id": "m-0123456789abcdef0123456789abcdef",
                                                            "step": 3}]}),
        post("runs/outputs", {"run_id": "${r1}", "models": [{"model_id": "m-fedcba9876543210fedcba9876543210"}]}),
        post("runs/outputs", {"run_id": "${r1}"}),
        post("runs/outputs", {"run_id": "${r1}", "models": []}),
        post("runs/outputs", {"models": [{"model_id": "m-x", "step": 0}]}),
        post("runs/outputs", {"run_id": BOGUS_RUN, "models": [{"model_id": "m-x", "step": 0}]}),
        post("runs/outputs", {"run_id": "${r1}", "models": [{"step": 1}]}),
        get_run("r1"),
        post("runs/search", {"experiment_ids": ["${e1}"]}),
        post("runs/log-model", {"run_id": "${r1}", "model_json": "{\"artifact_path\": \"model\", \"flavors\": {}}"}),
        post("runs/log-model", {"run_id": "${r1}", "model_json": VALID_MODEL_JSON}),
        get_run("r1", note="mlflow.log-model.history tag"),
        post("runs/log-model", {"run_id": "${r1}", "model_json": VALID_MODEL_JSON.replace("2024", "2025")}),
        get_run("r1", note="history appended"),
        post("runs/log-model", {"run_id": "${r1}", "model_json": "{\"run_id\": 1, \"flavors\": {}, \"utc_time_created\": \"x\"}"}),
        post("runs/log-model", {"run_id": "${r1}", "model_json": "[]"}),
        post("runs/log-model", {"run_id": "${r1}", "model_json": {"flavors": {}}}),
        post("runs/log-model", {"run_id": "${r1}", "model_json": "not json"}),
        post("runs/log-model", {"run_id": "${r1}"}),
        post("runs/log-model", {"model_json": "{}"}),
        post("runs/log-model", {"run_id": BOGUS_RUN, "model_json": "{}"}),
        get_run("r1"),
        ajax_post("runs/outputs", {"run_id": "${r1}", "models": [{"model_id": "m-x", "step": 1}]}),
    ),
    case(
        "artifacts-list",
        new_experiment("e1"),
        new_run("r1", "e1", run_name="a"),
        get("artifacts/list", {"run_id": "${r1}"}),
        get("artifacts/list", {"run_id": "${r1}", "path": "sub/dir"}),
        get("artifacts/list", {"run_uuid": "${r1}"}),
        get("artifacts/list", {"run_id": "${r1}", "page_token": "anything"}),
        get("artifacts/list", {"run_id": "${r1}", "path": "../escape"}),
        get("artifacts/list", {"run_id": "${r1}", "path": "/etc"}),
        get("artifacts/list", {"run_id": BOGUS_RUN}),
        get("artifacts/list", {}),
        ajax_get("artifacts/list", {"run_id": "${r1}"}),
        new_experiment("e2", name="${p}-s3", artifact_location="s3://bucket/${p}"),
        new_run("r2", "e2", run_name="s3"),
        get_run("r2"),
    ),
]
