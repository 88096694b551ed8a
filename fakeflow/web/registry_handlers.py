"""Thin handlers for the model registry API: parse, call one registry method, shape the answer."""

from __future__ import annotations

import functools
import json
from typing import Any, Callable

from werkzeug.exceptions import InternalServerError
from werkzeug.wrappers import Request

from fakeflow.search.filter import FilterCrash
from fakeflow.state.errors import API_DOCS_HINT, invalid
from fakeflow.state.registry import RegistryStore
from fakeflow.state.registry_entities import ModelVersion
from fakeflow.state.tracking import TrackingStore
from fakeflow.web import registry_events as events
from fakeflow.web import registry_messages as m
from fakeflow.web import registry_render as render
from fakeflow.web.parsing import (
    ARRAY,
    INTLIKE,
    ITEM_STRINGS,
    REQUIRED,
    STRING,
    CheckFailed,
    parse_message,
    raw_request_dict,
    read_request,
    reject_conflicting_aliases,
    validate_schema,
)

Payload = dict[str, Any]
REQUIRED_STRING = [STRING, REQUIRED]
NAME = ("name", REQUIRED_STRING)
VERSION = ("version", REQUIRED_STRING)


def _at_most(limit: int) -> Callable[[Any], None]:
    def check(value: Any) -> None:
        if int(value) > limit:
            raise CheckFailed()

    return check


def _registry(store: TrackingStore) -> RegistryStore:
    return store.registry


def _pairs(items: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(item.get("key", ""), item.get("value", "")) for item in items]


def _version(registry: RegistryStore, mv: ModelVersion) -> Payload:
    return {"model_version": render.model_version(mv, registry.aliases_of(mv))}


def _crash_as_500(handler: Callable[[TrackingStore, Request], Payload]) -> Callable[[TrackingStore, Request], Payload]:
    """Filters MLflow cannot unpack end in its unhandled-error page."""

    @functools.wraps(handler)
    def wrapped(store: TrackingStore, request: Request) -> Payload:
        try:
            return handler(store, request)
        except FilterCrash:
            raise InternalServerError() from None

    return wrapped


# ---- registered models ------------------------------------------------------------------------

def create_registered_model(store: TrackingStore, request: Request) -> Payload:
    msg = read_request(request, m.CREATE_REGISTERED_MODEL, [
        NAME, ("tags", [ARRAY]), ("description", [STRING]),
    ])
    tags = _pairs(msg.get("tags", []))
    model = _registry(store).create_registered_model(
        msg.get("name", ""), tags, msg.get("description", "")
    )
    events.registered_model_created(store, msg.get("name", ""), tags, msg.get("description", ""))
    return {"registered_model": render.registered_model(model)}


def get_registered_model(store: TrackingStore, request: Request) -> Payload:
    msg = read_request(request, m.GET_REGISTERED_MODEL, [NAME])
    return {"registered_model": render.registered_model(_registry(store).get_registered_model(msg.get("name", "")))}


def update_registered_model(store: TrackingStore, request: Request) -> Payload:
    msg = read_request(request, m.UPDATE_REGISTERED_MODEL, [NAME, ("description", [STRING])])
    model = _registry(store).update_registered_model(msg.get("name", ""), msg.get("description", ""))
    return {"registered_model": render.registered_model(model)}


def rename_registered_model(store: TrackingStore, request: Request) -> Payload:
    msg = read_request(request, m.RENAME_REGISTERED_MODEL, [NAME, ("new_name", REQUIRED_STRING)])
    model = _registry(store).rename_registered_model(msg.get("name", ""), msg.get("new_name", ""))
    return {"registered_model": render.registered_model(model)}


def delete_registered_model(store: TrackingStore, request: Request) -> Payload:
    msg = read_request(request, m.DELETE_REGISTERED_MODEL, [NAME])
    _registry(store).delete_registered_model(msg.get("name", ""))
    return {}


@_crash_as_500
def search_registered_models(store: TrackingStore, request: Request) -> Payload:
    msg = read_request(request, m.SEARCH_REGISTERED_MODELS, [
        ("filter", [STRING]), ("max_results", [INTLIKE, _at_most(1000)]),
        ("order_by", [ARRAY, ITEM_STRINGS]), ("page_token", [STRING]),
    ])
    models, token = _registry(store).search_registered_models(
        msg.get("filter", ""), msg.get("max_results", 100), msg.get("order_by", []),
        msg.get("page_token") or None,
    )
    out: Payload = {}
    if models:
        out["registered_models"] = [render.registered_model(model, in_search=True) for model in models]
    if token:
        out["next_page_token"] = token
    return out


def get_latest_versions(store: TrackingStore, request: Request) -> Payload:
    msg = read_request(request, m.GET_LATEST_VERSIONS, [NAME, ("stages", [ARRAY, ITEM_STRINGS])])
    registry = _registry(store)
    versions = registry.get_latest_versions(msg.get("name", ""), msg.get("stages", []))
    out: Payload = {}
    if versions:
        out["model_versions"] = [render.model_version(mv, registry.aliases_of(mv)) for mv in versions]
    return out


def set_registered_model_tag(store: TrackingStore, request: Request) -> Payload:
    msg = read_request(request, m.SET_REGISTERED_MODEL_TAG, [
        NAME, ("key", REQUIRED_STRING), ("value", [STRING]),
    ])
    _registry(store).set_registered_model_tag(msg.get("name", ""), msg.get("key", ""), msg.get("value", ""))
    events.registered_model_tag_set(store, msg.get("name", ""), msg.get("key", ""), msg.get("value", ""))
    return {}


def delete_registered_model_tag(store: TrackingStore, request: Request) -> Payload:
    msg = read_request(request, m.DELETE_REGISTERED_MODEL_TAG, [NAME, ("key", REQUIRED_STRING)])
    _registry(store).delete_registered_model_tag(msg.get("name", ""), msg.get("key", ""))
    events.registered_model_tag_deleted(store, msg.get("name", ""), msg.get("key", ""))
    return {}


# ---- aliases -----------------------------------------------------------------------------------

def set_registered_model_alias(store: TrackingStore, request: Request) -> Payload:
    msg = read_request(request, m.SET_REGISTERED_MODEL_ALIAS, [
        NAME, ("alias", REQUIRED_STRING), VERSION,
    ])
    _registry(store).set_registered_model_alias(msg.get("name", ""), msg.get("alias", ""), msg.get("version", ""))
    events.alias_set(store, msg.get("name", ""), msg.get("alias", ""), msg.get("version", ""))
    return {}


def delete_registered_model_alias(store: TrackingStore, request: Request) -> Payload:
    msg = read_request(request, m.DELETE_REGISTERED_MODEL_ALIAS, [NAME, ("alias", REQUIRED_STRING)])
    _registry(store).delete_registered_model_alias(msg.get("name", ""), msg.get("alias", ""))
    events.alias_deleted(store, msg.get("name", ""), msg.get("alias", ""))
    return {}


def get_model_version_by_alias(store: TrackingStore, request: Request) -> Payload:
    msg = read_request(request, m.GET_MODEL_VERSION_BY_ALIAS, [NAME, ("alias", REQUIRED_STRING)])
    registry = _registry(store)
    return _version(registry, registry.get_model_version_by_alias(msg.get("name", ""), msg.get("alias", "")))


# ---- model versions ----------------------------------------------------------------------------

def create_model_version(store: TrackingStore, request: Request) -> Payload:
    msg = read_request(request, m.CREATE_MODEL_VERSION, [
        NAME, ("source", REQUIRED_STRING), ("run_id", [STRING]), ("tags", [ARRAY]),
        ("run_link", [STRING]), ("description", [STRING]), ("model_id", [STRING]),
    ])
    registry = _registry(store)
    tags = _pairs(msg.get("tags", []))
    mv = registry.create_model_version(
        msg.get("name", ""), msg.get("source", ""), msg.get("run_id", ""),
        tags, msg.get("run_link", ""), msg.get("description", ""),
        msg.get("model_id", ""), has_run_id="run_id" in msg, has_model_id="model_id" in msg,
    )
    events.model_version_created(store, msg.get("name", ""), tags, msg.get("description", ""), mv)
    return _version(registry, mv)


def get_model_version(store: TrackingStore, request: Request) -> Payload:
    msg = read_request(request, m.GET_MODEL_VERSION, [NAME, VERSION])
    registry = _registry(store)
    return _version(registry, registry.get_model_version(msg.get("name", ""), msg.get("version", "")))


def update_model_version(store: TrackingStore, request: Request) -> Payload:
    msg = read_request(request, m.UPDATE_MODEL_VERSION, [NAME, VERSION, ("description", [STRING])])
    registry = _registry(store)
    mv = registry.update_model_version(msg.get("name", ""), msg.get("version", ""), msg.get("description"))
    return _version(registry, mv)


def transition_model_version_stage(store: TrackingStore, request: Request) -> Payload:
    message = m.TRANSITION_MODEL_VERSION_STAGE
    raw = raw_request_dict(request, message)
    reject_conflicting_aliases(raw, message)
    msg, parsed = parse_message(raw, message)
    validate_schema(raw, [NAME, VERSION, ("stage", REQUIRED_STRING)], parsed)
    _check_bool(raw, "archive_existing_versions", parsed)
    registry = _registry(store)
    mv = registry.transition_model_version_stage(
        msg.get("name", ""), msg.get("version", ""), msg.get("stage", ""),
        msg.get("archive_existing_versions", False),
    )
    return _version(registry, mv)


def _check_bool(raw: Any, param: str, parsed: bool) -> None:
    """MLflow's bool type check, which (like every type check) runs only if parsing failed."""
    if parsed or param not in raw:
        return
    value = raw[param]
    if not isinstance(value, bool):
        shown = json.dumps(value, sort_keys=True, separators=(",", ":"))
        raise invalid(
            f"Invalid value {shown} for parameter '{param}' supplied:  Hint: Value was of type "
            f"'{type(value).__name__}'.{API_DOCS_HINT}"
        )


def delete_model_version(store: TrackingStore, request: Request) -> Payload:
    msg = read_request(request, m.DELETE_MODEL_VERSION, [NAME, VERSION])
    _registry(store).delete_model_version(msg.get("name", ""), msg.get("version", ""))
    return {}


def get_model_version_download_uri(store: TrackingStore, request: Request) -> Payload:
    msg = read_request(request, m.GET_MODEL_VERSION_DOWNLOAD_URI)
    uri = _registry(store).get_model_version_download_uri(msg.get("name", ""), msg.get("version", ""))
    return {"artifact_uri": uri}


@_crash_as_500
def search_model_versions(store: TrackingStore, request: Request) -> Payload:
    msg = read_request(request, m.SEARCH_MODEL_VERSIONS, [
        ("filter", [STRING]), ("max_results", [INTLIKE, _at_most(200_000)]),
        ("order_by", [ARRAY, ITEM_STRINGS]), ("page_token", [STRING]),
    ])
    versions, token = _registry(store).search_model_versions(
        msg.get("filter", ""), msg.get("max_results", 200_000), msg.get("order_by", []),
        msg.get("page_token") or None,
    )
    out: Payload = {}
    if versions:
        out["model_versions"] = [render.model_version(mv) for mv in versions]
    if token:
        out["next_page_token"] = token
    return out


def set_model_version_tag(store: TrackingStore, request: Request) -> Payload:
    msg = read_request(request, m.SET_MODEL_VERSION_TAG, [
        NAME, VERSION, ("key", REQUIRED_STRING), ("value", [STRING]),
    ])
    _registry(store).set_model_version_tag(
        msg.get("name", ""), msg.get("version", ""), msg.get("key", ""), msg.get("value", "")
    )
    events.model_version_tag_set(store, msg.get("name", ""), msg.get("version", ""),
                                 msg.get("key", ""), msg.get("value", ""))
    return {}


def delete_model_version_tag(store: TrackingStore, request: Request) -> Payload:
    msg = read_request(request, m.DELETE_MODEL_VERSION_TAG, [NAME, VERSION, ("key", REQUIRED_STRING)])
    _registry(store).delete_model_version_tag(msg.get("name", ""), msg.get("version", ""), msg.get("key", ""))
    events.model_version_tag_deleted(store, msg.get("name", ""), msg.get("version", ""), msg.get("key", ""))
    return {}
