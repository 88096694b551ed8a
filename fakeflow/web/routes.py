"""The route table: every path fakeflow answers, its methods and its handler.

Each API path exists under both ``/api/2.0/mlflow`` and its UI mirror ``/ajax-api/2.0/mlflow``.
"""

from __future__ import annotations

from typing import Callable, NamedTuple

from fakeflow.web import service_handlers as service
from fakeflow.web import tracking_handlers as t


class Route(NamedTuple):
    path: str
    methods: tuple[str, ...]
    handler: Callable


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
    Route("/artifacts/list", GET, t.list_artifacts),
]

API_PREFIXES = ("/api/2.0/mlflow", "/ajax-api/2.0/mlflow")

# Absolute paths outside the versioned API.
SERVICE_ROUTES: list[Route] = [
    Route("/health", GET, service.health),
    Route("/version", GET, service.version),
    Route("/api/3.0/mlflow/server-info", GET, service.server_info),
    Route("/ajax-api/3.0/mlflow/server-info", GET, service.server_info),
]


def all_routes() -> list[Route]:
    routes = [
        Route(prefix + r.path, r.methods, r.handler) for prefix in API_PREFIXES for r in TRACKING_ROUTES
    ]
    return routes + SERVICE_ROUTES
