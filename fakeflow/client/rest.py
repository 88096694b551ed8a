"""A small MLflow REST client over ``requests``: the calls the workflow helpers need, no more.

It speaks to any MLflow-compatible server (fakeflow, a real ``mlflow server``), so a demo data
set or a workflow built with it can be replayed against either.
"""

from __future__ import annotations

import json
import math
from typing import Any, Iterator, Mapping, Sequence

import requests

Json = dict[str, Any]

#: MLflow's limits on one ``runs/log-batch`` call.
MAX_BATCH_METRICS = 1000
MAX_BATCH_PARAMS = 100
MAX_BATCH_TAGS = 100
MAX_BATCH_ITEMS = 1000


class MlflowApiError(RuntimeError):
    """An MLflow error answer: the HTTP status, MLflow's ``error_code`` and message."""

    def __init__(self, status: int, error_code: str, message: str) -> None:
        super().__init__(f"{status} {error_code}: {message}")
        self.status = status
        self.error_code = error_code
        self.message = message


class RestClient:
    """MLflow's REST API at ``tracking_uri`` (e.g. ``http://127.0.0.1:5000``)."""

    def __init__(self, tracking_uri: str, session: requests.Session | None = None,
                 timeout: float = 30.0) -> None:
        self.root = tracking_uri.rstrip("/")
        self.base = self.root + "/api/2.0/mlflow"
        self.session = session or requests.Session()
        self.timeout = timeout

    # ---- transport --------------------------------------------------------------------------

    def call(self, method: str, endpoint: str, body: Mapping[str, Any] | None = None,
             params: Mapping[str, Any] | Sequence[tuple[str, Any]] | None = None) -> Json:
        """One API call; raises ``MlflowApiError`` for any answer but 200."""
        data = None if body is None else json.dumps(_proto_json(body)).encode()
        headers = {"Content-Type": "application/json"} if data is not None else {}
        answer = self.session.request(method, f"{self.base}/{endpoint}", data=data,
                                      headers=headers, params=params, timeout=self.timeout)
        try:
            payload = answer.json()
        except ValueError:
            payload = None
        if answer.status_code != 200:
            if isinstance(payload, dict):
                raise MlflowApiError(answer.status_code, str(payload.get("error_code", "")),
                                     str(payload.get("message", "")))
            raise MlflowApiError(answer.status_code, "", answer.text[:500])
        return payload if isinstance(payload, dict) else {}

    def _pages(self, method: str, endpoint: str, body: Json, items: str,
               as_params: bool = False) -> Iterator[Json]:
        """Every item of a paged search, following each answer's own token (never one token
        across two different searches)."""
        token: str | None = None
        while True:
            request = dict(body, **({"page_token": token} if token else {}))
            if as_params:
                page = self.call(method, endpoint, params=_query(request))
            else:
                page = self.call(method, endpoint, request)
            yield from page.get(items, [])
            token = page.get("next_page_token")
            if not token:
                return

    # ---- experiments ------------------------------------------------------------------------

    def create_experiment(self, name: str, tags: Sequence[Json] = ()) -> str:
        body: Json = {"name": name}
        if tags:
            body["tags"] = list(tags)
        return self.call("POST", "experiments/create", body)["experiment_id"]

    def get_experiment(self, experiment_id: str) -> Json:
        return self.call("GET", "experiments/get", params={"experiment_id": experiment_id})["experiment"]

    # ---- runs -------------------------------------------------------------------------------

    def create_run(self, experiment_id: str, run_name: str | None = None,
                   start_time: int | None = None, tags: Sequence[Json] = ()) -> Json:
        body: Json = {"experiment_id": experiment_id}
        if run_name is not None:
            body["run_name"] = run_name
        if start_time is not None:
            body["start_time"] = start_time
        if tags:
            body["tags"] = list(tags)
        return self.call("POST", "runs/create", body)["run"]

    def get_run(self, run_id: str) -> Json:
        return self.call("GET", "runs/get", params={"run_id": run_id})["run"]

    def update_run(self, run_id: str, status: str | None = None, end_time: int | None = None,
                   run_name: str | None = None) -> Json:
        body: Json = {"run_id": run_id}
        for key, value in (("status", status), ("end_time", end_time), ("run_name", run_name)):
            if value is not None:
                body[key] = value
        return self.call("POST", "runs/update", body).get("run_info", {})

    def delete_run(self, run_id: str) -> None:
        self.call("POST", "runs/delete", {"run_id": run_id})

    def set_tag(self, run_id: str, key: str, value: str) -> None:
        self.call("POST", "runs/set-tag", {"run_id": run_id, "key": key, "value": value})

    def log_batch(self, run_id: str, metrics: Sequence[Json] = (), params: Sequence[Json] = (),
                  tags: Sequence[Json] = ()) -> None:
        """Log any number of items, split into calls within MLflow's per-call limits."""
        metrics, params, tags = list(metrics), list(params), list(tags)
        while metrics or params or tags:
            chunk_params, params = params[:MAX_BATCH_PARAMS], params[MAX_BATCH_PARAMS:]
            room = MAX_BATCH_ITEMS - len(chunk_params)
            chunk_tags, tags = tags[:min(MAX_BATCH_TAGS, room)], tags[min(MAX_BATCH_TAGS, room):]
            room -= len(chunk_tags)
            take = min(MAX_BATCH_METRICS, room)
            chunk_metrics, metrics = metrics[:take], metrics[take:]
            self.call("POST", "runs/log-batch", {"run_id": run_id, "metrics": chunk_metrics,
                                                 "params": chunk_params, "tags": chunk_tags})

    def log_model(self, run_id: str, model_json: str) -> None:
        self.call("POST", "runs/log-model", {"run_id": run_id, "model_json": model_json})

    def log_inputs(self, run_id: str, datasets: Sequence[Json]) -> None:
        self.call("POST", "runs/log-inputs", {"run_id": run_id, "datasets": list(datasets)})

    def search_runs(self, experiment_ids: Sequence[str], filter_string: str = "",
                    order_by: Sequence[str] = (), run_view_type: str = "ACTIVE_ONLY",
                    max_results: int = 1000) -> Iterator[Json]:
        """Every matching run, page after page."""
        body: Json = {"experiment_ids": list(experiment_ids), "filter": filter_string,
                      "run_view_type": run_view_type, "max_results": max_results}
        if order_by:
            body["order_by"] = list(order_by)
        return self._pages("POST", "runs/search", body, "runs")

    def metric_history(self, run_id: str, key: str, max_results: int = 25000) -> Iterator[Json]:
        """Every recorded point of one metric (all steps, all timestamps)."""
        return self._pages("GET", "metrics/get-history",
                           {"run_id": run_id, "metric_key": key, "max_results": max_results},
                           "metrics", as_params=True)

    def upload_artifact(self, artifact_uri: str, path: str, data: bytes,
                        content_type: str = "application/octet-stream") -> None:
        """PUT one file under an ``mlflow-artifacts:/`` root (a run's or a logged model's)
        through the server's artifact proxy."""
        prefix = "mlflow-artifacts:"
        if not artifact_uri.startswith(prefix):
            raise ValueError(f"not a proxied artifact location: {artifact_uri!r}")
        location = artifact_uri[len(prefix):].lstrip("/").rstrip("/")
        answer = self.session.put(f"{self.root}/api/2.0/mlflow-artifacts/artifacts/{location}/{path}",
                                  data=data, headers={"Content-Type": content_type},
                                  timeout=self.timeout)
        if answer.status_code != 200:
            raise MlflowApiError(answer.status_code, "", answer.text[:500])

    # ---- model registry ---------------------------------------------------------------------

    def create_registered_model(self, name: str) -> Json:
        return self.call("POST", "registered-models/create", {"name": name})["registered_model"]

    def update_registered_model(self, name: str, description: str) -> Json:
        return self.call("PATCH", "registered-models/update",
                         {"name": name, "description": description})["registered_model"]

    def set_registered_model_tag(self, name: str, key: str, value: str) -> None:
        self.call("POST", "registered-models/set-tag", {"name": name, "key": key, "value": value})

    def set_registered_model_alias(self, name: str, alias: str, version: str) -> None:
        self.call("POST", "registered-models/alias",
                  {"name": name, "alias": alias, "version": version})

    def create_model_version(self, name: str, source: str, run_id: str | None = None) -> Json:
        body: Json = {"name": name, "source": source}
        if run_id:
            body["run_id"] = run_id
        return self.call("POST", "model-versions/create", body)["model_version"]

    def update_model_version(self, name: str, version: str, description: str) -> Json:
        return self.call("PATCH", "model-versions/update",
                         {"name": name, "version": version, "description": description}
                         )["model_version"]

    def set_model_version_tag(self, name: str, version: str, key: str, value: str) -> None:
        self.call("POST", "model-versions/set-tag",
                  {"name": name, "version": version, "key": key, "value": value})

    def delete_model_version(self, name: str, version: str) -> None:
        self.call("DELETE", "model-versions/delete", {"name": name, "version": version})

    def search_model_versions(self, filter_string: str, max_results: int = 200_000
                              ) -> Iterator[Json]:
        """Every matching model version, page after page."""
        return self._pages("GET", "model-versions/search",
                           {"filter": filter_string, "max_results": max_results},
                           "model_versions", as_params=True)


def _proto_json(node: Any) -> Any:
    """Non-finite floats as proto3 JSON writes them ("NaN", "Infinity", "-Infinity")."""
    if isinstance(node, float) and not math.isfinite(node):
        return "NaN" if math.isnan(node) else ("Infinity" if node > 0 else "-Infinity")
    if isinstance(node, dict):
        return {key: _proto_json(value) for key, value in node.items()}
    if isinstance(node, (list, tuple)):
        return [_proto_json(value) for value in node]
    return node


def _query(body: Json) -> list[tuple[str, Any]]:
    pairs: list[tuple[str, Any]] = []
    for key, value in body.items():
        for item in value if isinstance(value, list) else [value]:
            pairs.append((key, item))
    return pairs


__all__ = ["MlflowApiError", "RestClient"]
