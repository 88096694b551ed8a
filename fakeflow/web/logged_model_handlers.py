"""Handlers for MLflow 3 logged models (``logged-models/...``): parse, call the store, render."""

from __future__ import annotations

from typing import Any

from werkzeug.exceptions import InternalServerError
from werkzeug.wrappers import Request

from fakeflow.search.filter import FilterCrash
from fakeflow.state.logged_models import (
    STATUSES, UNSPECIFIED, LoggedModel, LoggedModelStore, ModelMetric,
)
from fakeflow.state.metric_history import json_number
from fakeflow.state.tracking import TrackingStore
from fakeflow.web.messages import KEY_VALUE, Field, M, Message, S
from fakeflow.web.parsing import ARRAY, INTLIKE, ITEM_STRINGS, REQUIRED, STRING, read_request

Payload = dict[str, Any]

CREATE_LOGGED_MODEL = Message(
    "CreateLoggedModel",
    (S("experiment_id"), S("name"), S("model_type"), S("source_run_id"), M("params", KEY_VALUE),
     M("tags", KEY_VALUE)),
)
FINALIZE_LOGGED_MODEL = Message(
    "FinalizeLoggedModel", (S("model_id"), Field("status", "enum", enum=STATUSES))
)
SET_LOGGED_MODEL_TAGS = Message("SetLoggedModelTags", (S("model_id"), M("tags", KEY_VALUE)))
LOG_LOGGED_MODEL_PARAMS = Message(
    "LogLoggedModelParamsRequest", (S("model_id"), M("params", KEY_VALUE))
)
SEARCH_LOGGED_MODELS = Message(
    "SearchLoggedModels",
    (S("experiment_ids", repeated=True), S("filter"),
     M("datasets", Message("DatasetFilter", (S("dataset_name"), S("dataset_digest")))),
     Field("max_results", "int32"),
     M("order_by", Message("OrderBy", (S("field_name"), Field("ascending", "bool"),
                                       S("dataset_name"), S("dataset_digest")))),
     S("page_token")),
)


def render(model: LoggedModel) -> Payload:
    """MLflow's LoggedModel message: tags and params sorted by key, empty lists left out."""
    info: Payload = {
        "model_id": model.model_id,
        "experiment_id": model.experiment_id,
        "name": model.name,
        "creation_timestamp_ms": model.creation_timestamp,
        "last_updated_timestamp_ms": model.last_updated_timestamp,
        "artifact_uri": model.artifact_location,
        "status": model.status,
        "model_type": model.model_type,
        "source_run_id": model.source_run_id,
    }
    if model.tags:
        info["tags"] = [{"key": k, "value": v} for k, v in sorted(model.tags.items())]
    data: Payload = {}
    if model.params:
        data["params"] = [{"key": k, "value": v} for k, v in sorted(model.params.items())]
    metrics = list(model.metrics.values())  # one C-level copy: safe beside a concurrent logger
    if metrics:
        data["metrics"] = [_metric(row) for row in metrics]
    return {"info": info, "data": data}


def _metric(row: ModelMetric) -> Payload:
    out: Payload = {"key": row.key, "value": json_number(float(row.value)),
                    "timestamp": row.timestamp, "step": row.step}
    if row.dataset_name:
        out["dataset_name"] = row.dataset_name
    if row.dataset_digest:
        out["dataset_digest"] = row.dataset_digest
    out["model_id"] = row.model_id
    out["run_id"] = row.run_id
    return out


def _models(store: TrackingStore) -> LoggedModelStore:
    return store.logged_models


def _pairs(items: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(item.get("key", ""), item.get("value", "")) for item in items]


def _segments(request: Request) -> list[str]:
    """The path after ``logged-models/``, as the server decoded it (the route matched it)."""
    return request.path.split("/logged-models/", 1)[1].split("/")


def _path_id(request: Request) -> str:
    return _segments(request)[0]


def create_logged_model(store: TrackingStore, request: Request) -> Payload:
    msg = read_request(request, CREATE_LOGGED_MODEL, [
        ("experiment_id", [STRING, REQUIRED]), ("name", [STRING]), ("model_type", [STRING]),
        ("source_run_id", [STRING]), ("params", [ARRAY]), ("tags", [ARRAY]),
    ])
    model = _models(store).create(
        msg.get("experiment_id", ""), msg.get("name") or None, msg.get("model_type", ""),
        msg.get("source_run_id", ""), _pairs(msg.get("params", [])), _pairs(msg.get("tags", [])),
    )
    return {"model": render(model)}


def get_logged_model(store: TrackingStore, request: Request) -> Payload:
    allow_deleted = request.args.get("allow_deleted", "false").lower() == "true"
    return {"model": render(_models(store).get(_path_id(request), allow_deleted))}


def finalize_logged_model(store: TrackingStore, request: Request) -> Payload:
    msg = read_request(request, FINALIZE_LOGGED_MODEL, [
        ("model_id", [STRING, REQUIRED]), ("status", [INTLIKE, REQUIRED]),
    ])
    model = _models(store).finalize(msg.get("model_id", ""), msg.get("status", UNSPECIFIED))
    return {"model": render(model)}


def delete_logged_model(store: TrackingStore, request: Request) -> Payload:
    _models(store).delete(_path_id(request))
    return {}


def set_logged_model_tags(store: TrackingStore, request: Request) -> Payload:
    msg = read_request(request, SET_LOGGED_MODEL_TAGS, [("tags", [ARRAY])])
    _models(store).set_tags(_path_id(request), _pairs(msg.get("tags", [])))
    return {}


def delete_logged_model_tag(store: TrackingStore, request: Request) -> Payload:
    segments = _segments(request)  # <model_id>/tags/<tag_key>
    _models(store).delete_tag(segments[0], segments[2])
    return {}


def log_logged_model_params(store: TrackingStore, request: Request) -> Payload:
    msg = read_request(request, LOG_LOGGED_MODEL_PARAMS, [
        ("model_id", [STRING, REQUIRED]), ("params", [ARRAY]),
    ])
    _models(store).log_params(_path_id(request), _pairs(msg.get("params", [])))
    return {}


def search_logged_models(store: TrackingStore, request: Request) -> Payload:
    msg = read_request(request, SEARCH_LOGGED_MODELS, [
        ("experiment_ids", [ARRAY, ITEM_STRINGS, REQUIRED]), ("filter", [STRING]),
        ("datasets", [ARRAY]), ("max_results", [INTLIKE]), ("order_by", [ARRAY]),
        ("page_token", [STRING]),
    ])
    order_by = [
        {"field_name": ob.get("field_name", ""), "ascending": ob.get("ascending", True),
         "dataset_name": ob.get("dataset_name") or None,
         "dataset_digest": ob.get("dataset_digest") or None}
        for ob in msg.get("order_by", [])
    ] or None
    datasets = [
        {"dataset_name": d.get("dataset_name", ""), "dataset_digest": d.get("dataset_digest") or None}
        for d in msg.get("datasets", [])
    ] or None
    try:
        models, token = _models(store).search(
            list(msg.get("experiment_ids", [])), msg.get("filter") or None, datasets,
            msg.get("max_results") or None, order_by, msg.get("page_token") or None,
        )
    except FilterCrash:  # MLflow's handler dies on the page token: its unhandled-error page
        raise InternalServerError() from None
    out: Payload = {}
    if models:
        out["models"] = [render(model) for model in models]
    if token:
        out["next_page_token"] = token
    return out
