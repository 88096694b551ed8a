"""Handlers for MLflow 3 GenAI evaluation datasets (``/api/3.0/mlflow/datasets…``).

Parse as MLflow does (request message, then its small schema), call the evaluation-dataset
store, render. JSON-in-a-string fields (``tags``, ``records``) are decoded here; text that is
not JSON fails outside MLflow's store session, so as a bare 500 page. MLflow's records reader
(``GET …/records``) and experiment-ids reader have no error handler: any failure there is a
bare 500 page too.
"""

from __future__ import annotations

import json
from typing import Any

from werkzeug.exceptions import InternalServerError
from werkzeug.wrappers import Request

from fakeflow.state.errors import INTERNAL_ERROR, MlflowError
from fakeflow.state.eval_datasets import EvalDatasetStore
from fakeflow.state.tracking import TrackingStore
from fakeflow.web import eval_dataset_render as render
from fakeflow.web.messages import I32, Field, Message, S
from fakeflow.web.parsing import ARRAY, INTLIKE, REQUIRED, STRING, read_request

Payload = dict[str, Any]

_SOURCE_TYPE = (("SOURCE_TYPE_UNSPECIFIED", 0), ("TRACE", 1), ("HUMAN", 2), ("DOCUMENT", 3),
                ("CODE", 4))
CREATE = Message("CreateDataset", (
    S("name"), S("experiment_ids", repeated=True), Field("source_type", "enum", enum=_SOURCE_TYPE),
    S("source"), S("schema"), S("profile"), S("created_by"), S("tags"),
))
SEARCH = Message("SearchEvaluationDatasets", (
    S("experiment_ids", repeated=True), S("filter_string"), I32("max_results"),
    S("order_by", repeated=True), S("page_token"),
))
SET_TAGS = Message("SetDatasetTags", (S("dataset_id"), S("tags")))
UPSERT = Message("UpsertDatasetRecords", (S("dataset_id"), S("records"), S("updated_by")))
GET_RECORDS = Message("GetDatasetRecords", (S("dataset_id"), I32("max_results"), S("page_token")))
DELETE_RECORDS = Message("DeleteDatasetRecords", (S("dataset_id"),
                                                  S("dataset_record_ids", repeated=True)))
LINK = Message("DatasetExperiments", (S("dataset_id"), S("experiment_ids", repeated=True)))
DEFAULT_MAX_RESULTS = 1000  # the proto default of both paged requests


def _datasets(store: TrackingStore) -> EvalDatasetStore:
    return store.eval_datasets


def _path(request: Request) -> list[str]:
    """``[<dataset_id>, ...rest]`` from ``…/datasets/<dataset_id>[/...]``."""
    return request.path.split("/datasets/", 1)[1].split("/")


def _json_text(text: str) -> Any:
    """``json.loads`` in MLflow's handler, before its store session: bad JSON is a bare 500."""
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        raise InternalServerError() from None


def create_dataset(store: TrackingStore, request: Request) -> Payload:
    msg = read_request(request, CREATE, [
        ("name", [REQUIRED, STRING]), ("experiment_ids", [ARRAY]), ("tags", [STRING]),
    ])
    tags = _json_text(msg["tags"]) if msg.get("tags") else None
    drawn_from = store.ids.getstate()  # (the route runs under the store lock)
    try:
        dataset, experiment_ids = _datasets(store).create_dataset(
            msg.get("name", ""), tags, list(msg.get("experiment_ids") or []))
    except BaseException as error:
        store.ids.setstate(drawn_from)  # the id drawn for a refused dataset was never stored
        if isinstance(error, (AttributeError, TypeError, KeyError)):  # MLflow's session: 500s
            raise MlflowError(str(error), INTERNAL_ERROR) from None
        raise
    if not isinstance(dataset.created_by, (str, type(None))):
        raise InternalServerError()  # stored, but MLflow cannot put a non-text user in its answer
    return {"dataset": render.dataset(dataset, experiment_ids)}


def get_dataset(store: TrackingStore, request: Request) -> Payload:
    return {"dataset": render.dataset(_datasets(store).get_dataset(_path(request)[0]))}


def delete_dataset(store: TrackingStore, request: Request) -> Payload:
    _datasets(store).delete_dataset(_path(request)[0])
    return {}


def search_datasets(store: TrackingStore, request: Request) -> Payload:
    from fakeflow.search.eval_datasets import search_datasets as search

    msg = read_request(request, SEARCH, [
        ("experiment_ids", [ARRAY]), ("filter_string", [STRING]), ("max_results", [INTLIKE]),
        ("order_by", [ARRAY]), ("page_token", [STRING]),
    ])
    found, token = search(
        _datasets(store), list(msg.get("experiment_ids") or []) or None,
        msg.get("filter_string") or None, msg.get("max_results", DEFAULT_MAX_RESULTS) or None,
        list(msg.get("order_by") or []) or None, msg.get("page_token") or None,
    )
    out: Payload = {}
    if found:
        out["datasets"] = [render.dataset(d) for d in found]
    if token:
        out["next_page_token"] = token
    return out


def set_dataset_tags(store: TrackingStore, request: Request) -> Payload:
    msg = read_request(request, SET_TAGS, [("tags", [REQUIRED, STRING])])
    tags = _json_text(msg.get("tags", ""))
    try:
        _datasets(store).set_tags(_path(request)[0], tags)
    except (AttributeError, TypeError) as error:
        raise MlflowError(str(error), INTERNAL_ERROR) from None
    return {}


def delete_dataset_tag(store: TrackingStore, request: Request) -> Payload:
    dataset_id, _, key = _path(request)[:3]
    _datasets(store).delete_tag(dataset_id, key)
    return {}


def upsert_dataset_records(store: TrackingStore, request: Request) -> Payload:
    msg = read_request(request, UPSERT, [("records", [REQUIRED, STRING])])
    records = _json_text(msg.get("records", ""))
    inserted, updated = _datasets(store).upsert_records(_path(request)[0], records)
    return {"inserted_count": inserted, "updated_count": updated}


def get_dataset_records(store: TrackingStore, request: Request) -> Payload:
    try:
        msg = read_request(request, GET_RECORDS, [("max_results", [INTLIKE]),
                                                  ("page_token", [STRING])])
        records, token = _datasets(store).records_page(
            _path(request)[0], msg.get("max_results") or DEFAULT_MAX_RESULTS,
            msg.get("page_token") or None)
    except MlflowError:
        raise InternalServerError() from None
    out: Payload = {"records": render.records_text(records)}
    if token:
        out["next_page_token"] = token
    return out


def get_dataset_experiment_ids(store: TrackingStore, request: Request) -> Payload:
    experiment_ids = _datasets(store).experiment_ids(_path(request)[0])
    return {"experiment_ids": experiment_ids} if experiment_ids else {}


def delete_dataset_records(store: TrackingStore, request: Request) -> Payload:
    msg = read_request(request, DELETE_RECORDS, [("dataset_record_ids", [ARRAY])])
    deleted = _datasets(store).delete_records(_path(request)[0],
                                              list(msg.get("dataset_record_ids") or []))
    return {"deleted_count": deleted}


def add_dataset_to_experiments(store: TrackingStore, request: Request) -> Payload:
    msg = read_request(request, LINK, [("experiment_ids", [ARRAY])])
    dataset = _datasets(store).add_to_experiments(_path(request)[0],
                                                  list(msg.get("experiment_ids") or []))
    return {"dataset": render.dataset(dataset)}


def remove_dataset_from_experiments(store: TrackingStore, request: Request) -> Payload:
    msg = read_request(request, LINK, [("experiment_ids", [ARRAY])])
    dataset = _datasets(store).remove_from_experiments(_path(request)[0],
                                                       list(msg.get("experiment_ids") or []))
    return {"dataset": render.dataset(dataset)}
