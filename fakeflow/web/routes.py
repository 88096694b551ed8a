"""The route table: every path fakeflow answers, its methods and its handler.

Each API path exists under both ``/api/2.0/mlflow`` and its UI mirror ``/ajax-api/2.0/mlflow``.
"""

from __future__ import annotations

from typing import Callable, NamedTuple

from fakeflow.web import artifact_handlers as art
from fakeflow.web import logged_model_handlers as lm
from fakeflow.web import registry_handlers as reg
from fakeflow.web import service_handlers as service
from fakeflow.web import tracking_handlers as t


class Route(NamedTuple):
    path: str
    methods: tuple[str, ...]
    handler: Callable
    #: False: the handler runs without the store lock (it streams a request body itself).
    locked: bool = True
    #: True: slashes are matched as written ("//" kept, no redirect to add or drop a "/").
    literal_slashes: bool = False


GET, POST = ("GET",), ("POST",)

# (path relative to the MLflow API prefix, methods, handler)
TRACKING_ROUTES: list[Route] = [
    Route("/experiments/create", POST, t.create_experiment),
    Route("/experiments/search", ("GET", "POST"), t.search_experiments),
    Route("/experiments/get", GET, t.get_experiment),
    Route("/experiments/get-by-name", GET, t.get_experiment_by_name),
    Route("/experiments/delete", POST, t.delete_experiment),
    Route("/experiments/restore", POST, t.restore_experiment),
    Route("/experiments/update", POST, t.update_experiment),
    Route("/experiments/set-experiment-tag", POST, t.set_experiment_tag),
    Route("/experiments/delete-experiment-tag", POST, t.delete_experiment_tag),
    Route("/runs/create", POST, t.create_run),
    Route("/runs/update", POST, t.update_run),
    Route("/runs/delete", POST, t.delete_run),
    Route("/runs/restore", POST, t.restore_run),
    Route("/runs/log-metric", POST, t.log_metric),
    Route("/runs/log-parameter", POST, t.log_param),
    Route("/runs/set-tag", POST, t.set_tag),
    Route("/runs/delete-tag", POST, t.delete_tag),
    Route("/runs/get", GET, t.get_run),
    Route("/runs/search", POST, t.search_runs),
    Route("/runs/log-batch", POST, t.log_batch),
    Route("/runs/log-model", POST, t.log_model),
    Route("/runs/log-inputs", POST, t.log_inputs),
    Route("/runs/outputs", POST, t.log_outputs),
    Route("/metrics/get-history", GET, t.get_metric_history),
    Route("/metrics/get-history-bulk-interval", GET, t.get_metric_history_bulk_interval),
    Route("/artifacts/list", GET, art.list_run_artifacts),
    Route("/logged-models/<model_id>/artifacts/directories", GET, art.list_logged_model_artifacts),
]

PATCH, DELETE = ("PATCH",), ("DELETE",)
RM, MV = "/registered-models", "/model-versions"

# The model registry (model_registry.proto), relative to the same API prefixes.
REGISTRY_ROUTES: list[Route] = [
    Route(RM + "/create", POST, reg.create_registered_model),
    Route(RM + "/rename", POST, reg.rename_registered_model),
    Route(RM + "/update", PATCH, reg.update_registered_model),
    Route(RM + "/delete", DELETE, reg.delete_registered_model),
    Route(RM + "/get", GET, reg.get_registered_model),
    Route(RM + "/search", GET, reg.search_registered_models),
    Route(RM + "/get-latest-versions", ("POST", "GET"), reg.get_latest_versions),
    Route(RM + "/set-tag", POST, reg.set_registered_model_tag),
    Route(RM + "/delete-tag", DELETE, reg.delete_registered_model_tag),
    Route(RM + "/alias", POST, reg.set_registered_model_alias),
    Route(RM + "/alias", DELETE, reg.delete_registered_model_alias),
    Route(RM + "/alias", GET, reg.get_model_version_by_alias),
    Route(MV + "/create", POST, reg.create_model_version),
    Route(MV + "/update", PATCH, reg.update_model_version),
    Route(MV + "/transition-stage", POST, reg.transition_model_version_stage),
    Route(MV + "/delete", DELETE, reg.delete_model_version),
    Route(MV + "/get", GET, reg.get_model_version),
    Route(MV + "/search", GET, reg.search_model_versions),
    Route(MV + "/get-download-uri", GET, reg.get_model_version_download_uri),
    Route(MV + "/set-tag", POST, reg.set_model_version_tag),
    Route(MV + "/delete-tag", DELETE, reg.delete_model_version_tag),
]

LM = "/logged-models"

# MLflow 3 logged models (service.proto), relative to the same API prefixes.
LOGGED_MODEL_ROUTES: list[Route] = [
    Route(LM, POST, lm.create_logged_model),
    Route(LM + "/search", POST, lm.search_logged_models),
    Route(LM + "/<model_id>", GET, lm.get_logged_model),
    Route(LM + "/<model_id>", PATCH, lm.finalize_logged_model),
    Route(LM + "/<model_id>", DELETE, lm.delete_logged_model),
    Route(LM + "/<model_id>/tags", PATCH, lm.set_logged_model_tags),
    Route(LM + "/<model_id>/tags/<tag_key>", DELETE, lm.delete_logged_model_tag),
    Route(LM + "/<model_id>/params", POST, lm.log_logged_model_params),
]

API_PREFIXES = ("/api/2.0/mlflow", "/ajax-api/2.0/mlflow")

# Absolute paths outside the versioned API.
SERVICE_ROUTES: list[Route] = [
    Route("/health", GET, service.health),
    Route("/version", GET, service.version),
    Route("/api/3.0/mlflow/server-info", GET, service.server_info),
    Route("/ajax-api/3.0/mlflow/server-info", GET, service.server_info),
]


# The artifact proxy of ``mlflow server --artifacts-destination``, under its own prefixes.
ARTIFACT_PREFIXES = ("/api/2.0/mlflow-artifacts", "/ajax-api/2.0/mlflow-artifacts")
GET_PUT = ("GET", "PUT")
ARTIFACT_ROUTES: list[Route] = [
    Route("/artifacts", GET, art.list_in_root),
    # FastAPI's GET and PUT also take an empty path and one with a leading "/" (Flask: 404).
    Route("/artifacts/", ("GET", "PUT", "DELETE"), art.artifact_file, locked=False,
          literal_slashes=True),
    Route("/artifacts//<path:artifact_path>", GET_PUT, art.artifact_file, locked=False,
          literal_slashes=True),
    Route("/artifacts/<path:artifact_path>", ("GET", "PUT", "DELETE"), art.artifact_file,
          locked=False),
    Route("/mpu/create/<path:artifact_path>", POST, art.create_multipart),
    Route("/mpu/complete/<path:artifact_path>", POST, art.complete_multipart),
    Route("/mpu/abort/<path:artifact_path>", POST, art.abort_multipart),
    Route("/presigned/<path:artifact_path>", GET, art.presigned_download),
]

# The UI's download and upload routes (absolute paths).
ARTIFACT_UI_ROUTES: list[Route] = [
    Route("/get-artifact", GET, art.get_run_artifact),
    Route("/model-versions/get-artifact", GET, art.get_model_version_artifact),
    Route("/ajax-api/2.0/mlflow/logged-models/<model_id>/artifacts/files", GET,
          art.get_logged_model_artifact),
    Route("/ajax-api/2.0/mlflow/upload-artifact", POST, art.upload_artifact, locked=False),
]


def all_routes() -> list[Route]:
    routes = [
        r._replace(path=prefix + r.path)
        for prefix in API_PREFIXES
        for r in TRACKING_ROUTES + REGISTRY_ROUTES + LOGGED_MODEL_ROUTES
    ]
    routes += [r._replace(path=prefix + r.path) for prefix in ARTIFACT_PREFIXES for r in ARTIFACT_ROUTES]
    return routes + SERVICE_ROUTES + ARTIFACT_UI_ROUTES
