"""Routes of the older MLflow REST documentation that MLflow 3.17.2 no longer serves (opt-in).

``create_app(legacy_routes=True)`` / ``fakeflow serve --legacy-routes`` add them: the 1.x
``experiments/list`` (also under the ``preview`` prefix the documentation's example uses) and
the 2.0 *preview* model registry. Each handler is a mapping: read the documented request,
call the same store method the modern route calls, reshape the modern renderer's answer into
the documented response. Without the option these paths answer 404, as 3.17.2 does; documented
routes that 3.17.2 still serves at the same path stay with the normal route table.
"""

from __future__ import annotations

from typing import Any

from werkzeug.exceptions import InternalServerError
from werkzeug.wrappers import Request

from fakeflow.dialects import legacy_shapes as shape
from fakeflow.search.filter import FilterCrash
from fakeflow.state.errors import invalid
from fakeflow.state.registry import RegistryStore
from fakeflow.state.tracking import TrackingStore
from fakeflow.web import registry_render, render
from fakeflow.web.messages import Message
from fakeflow.web.parsing import (
    ARRAY,
    INTLIKE,
    ITEM_STRINGS,
    REQUIRED,
    STRING,
    Schema,
    parse_message,
    raw_request_dict,
    reject_conflicting_aliases,
    validate_schema,
)
from fakeflow.web.routes import DELETE, GET, PATCH, POST, Route

Payload = dict[str, Any]

#: The documentation's bound on one page of ``model-versions/search`` (also its default).
MAX_VERSIONS_PER_PAGE = 1000
_RM_REF = ("registered_model", [REQUIRED, shape.checked(shape.model_ref)])
_MV_REF = ("model_version", [REQUIRED, shape.checked(shape.version_ref)])


def _read(request: Request, message: Message, schema: Schema) -> tuple[dict[str, Any], Any]:
    """The parsed fields and the raw dict, through the same pipeline as the modern routes."""
    raw = raw_request_dict(request, message)
    reject_conflicting_aliases(raw, message)
    values, parsed = parse_message(raw, message)
    validate_schema(raw, schema, parsed)
    return values, raw


def _registry(store: TrackingStore) -> RegistryStore:
    return store.registry


def _version_detailed(registry: RegistryStore, name: str, version: str) -> Payload:
    return shape.model_version_detailed(
        registry_render.model_version(registry.get_model_version(name, version))
    )


# ---- tracking (1.x) -----------------------------------------------------------------------------

def list_experiments(store: TrackingStore, request: Request) -> Payload:
    msg, _ = _read(request, shape.LIST_EXPERIMENTS, [("view_type", [INTLIKE])])
    experiments, token = [], None
    while True:
        page, token = store.search_experiments(
            view_type=msg.get("view_type"), max_results=50_000, order_by=["experiment_id ASC"],
            filter_string="", page_token=token,
        )
        experiments += page
        if not token:
            break
    if not experiments:
        return {}
    return {"experiments": [shape.experiment(render.experiment(e)) for e in experiments]}


# ---- registered models (2.0 preview) ------------------------------------------------------------

def create_registered_model(store: TrackingStore, request: Request) -> Payload:
    msg, _ = _read(request, shape.CREATE_REGISTERED_MODEL, [("name", [REQUIRED, STRING])])
    model = _registry(store).create_registered_model(msg.get("name", ""))
    return {"registered_model": shape.registered_model(model.name)}


def get_registered_model_details(store: TrackingStore, request: Request) -> Payload:
    _, raw = _read(request, shape.GET_REGISTERED_MODEL_DETAILS, [_RM_REF])
    model = _registry(store).get_registered_model(shape.model_ref(raw["registered_model"]))
    return {"registered_model_detailed": shape.registered_model_detailed(
        registry_render.registered_model(model))}


def update_registered_model(store: TrackingStore, request: Request) -> Payload:
    """Rename and/or describe; the rename goes first, so a refused one changes nothing."""
    msg, raw = _read(request, shape.UPDATE_REGISTERED_MODEL, [
        _RM_REF, ("name", [STRING]), ("description", [STRING]),
    ])
    registry = _registry(store)
    name = shape.model_ref(raw["registered_model"])
    model = registry.get_registered_model(name)
    if msg.get("name"):
        model = registry.rename_registered_model(name, msg["name"])
    if "description" in msg:
        model = registry.update_registered_model(model.name, msg["description"])
    return {"registered_model": shape.registered_model(model.name)}


def delete_registered_model(store: TrackingStore, request: Request) -> Payload:
    _, raw = _read(request, shape.DELETE_REGISTERED_MODEL, [_RM_REF])
    _registry(store).delete_registered_model(shape.model_ref(raw["registered_model"]))
    return {}


def list_registered_models(store: TrackingStore, request: Request) -> Payload:
    _read(request, shape.LIST_REGISTERED_MODELS, [])
    registry = _registry(store)
    models, token = [], None
    while True:
        page, token = registry.search_registered_models(max_results=1000, page_token=token)
        models += page
        if not token:
            break
    if not models:
        return {}
    return {"registered_models_detailed": [
        shape.registered_model_detailed(registry_render.registered_model(m)) for m in models
    ]}


def get_latest_versions(store: TrackingStore, request: Request) -> Payload:
    msg, raw = _read(request, shape.GET_LATEST_VERSIONS, [
        _RM_REF, ("stages", [ARRAY, ITEM_STRINGS]),
    ])
    versions = _registry(store).get_latest_versions(
        shape.model_ref(raw["registered_model"]), msg.get("stages", [])
    )
    if not versions:
        return {}
    return {"model_versions_detailed": [
        shape.model_version_detailed(registry_render.model_version(mv)) for mv in versions
    ]}


# ---- model versions (2.0 preview) ---------------------------------------------------------------

def create_model_version(store: TrackingStore, request: Request) -> Payload:
    msg, _ = _read(request, shape.CREATE_MODEL_VERSION, [
        ("name", [REQUIRED, STRING]), ("source", [REQUIRED, STRING]), ("run_id", [STRING]),
    ])
    mv = _registry(store).create_model_version(
        msg.get("name", ""), msg.get("source", ""), msg.get("run_id", ""),
        has_run_id="run_id" in msg, has_model_id=False,
    )
    return {"model_version": shape.model_version(mv.name, mv.version)}


def get_model_version_details(store: TrackingStore, request: Request) -> Payload:
    _, raw = _read(request, shape.GET_MODEL_VERSION_DETAILS, [_MV_REF])
    name, version = shape.version_ref(raw["model_version"])
    return {"model_version_detailed": _version_detailed(_registry(store), name, version)}


def update_model_version(store: TrackingStore, request: Request) -> Payload:
    """Move to ``stage`` and/or describe; the transition (which can be refused) goes first."""
    msg, raw = _read(request, shape.UPDATE_MODEL_VERSION, [
        _MV_REF, ("stage", [STRING]), ("description", [STRING]),
    ])
    registry = _registry(store)
    name, version = shape.version_ref(raw["model_version"])
    registry.get_model_version(name, version)
    if msg.get("stage"):
        registry.transition_model_version_stage(name, version, msg["stage"])
    if "description" in msg:
        registry.update_model_version(name, version, msg["description"])
    return {}


def delete_model_version(store: TrackingStore, request: Request) -> Payload:
    _, raw = _read(request, shape.DELETE_MODEL_VERSION, [_MV_REF])
    _registry(store).delete_model_version(*shape.version_ref(raw["model_version"]))
    return {}


def search_model_versions(store: TrackingStore, request: Request) -> Payload:
    msg, _ = _read(request, shape.SEARCH_MODEL_VERSIONS, [
        ("filter", [STRING]), ("max_results", [INTLIKE]), ("order_by", [ARRAY, ITEM_STRINGS]),
        ("page_token", [STRING]),
    ])
    max_results = msg.get("max_results", MAX_VERSIONS_PER_PAGE)
    if max_results > MAX_VERSIONS_PER_PAGE:
        raise invalid(
            "Invalid value for request parameter max_results. It must be at most "
            f"{MAX_VERSIONS_PER_PAGE}, but got value {max_results}"
        )
    try:
        versions, token = _registry(store).search_model_versions(
            msg.get("filter", ""), max_results, msg.get("order_by", []),
            msg.get("page_token") or None,
        )
    except FilterCrash:  # a filter MLflow's parser cannot unpack: its unhandled-error page
        raise InternalServerError() from None
    out: Payload = {}
    if versions:
        out["model_versions_detailed"] = [
            shape.model_version_detailed(registry_render.model_version(mv)) for mv in versions
        ]
    if token:
        out["next_page_token"] = token
    return out


def get_model_version_download_uri(store: TrackingStore, request: Request) -> Payload:
    _, raw = _read(request, shape.GET_MODEL_VERSION_DOWNLOAD_URI, [_MV_REF])
    name, version = shape.version_ref(raw["model_version"])
    return {"artifact_uri": _registry(store).get_model_version_download_uri(name, version)}


# ---- the table ----------------------------------------------------------------------------------

API, PREVIEW = "/api/2.0/mlflow", "/api/2.0/preview/mlflow"
RM, MV = PREVIEW + "/registered-models", PREVIEW + "/model-versions"

#: (absolute path, methods, handler), each as the documentation gives it.
LEGACY_ROUTES: list[Route] = [
    Route(API + "/experiments/list", GET, list_experiments),
    Route(PREVIEW + "/experiments/list", GET, list_experiments),
    Route(RM + "/create", POST, create_registered_model),
    Route(RM + "/get-details", POST, get_registered_model_details),
    Route(RM + "/update", PATCH, update_registered_model),
    Route(RM + "/delete", DELETE, delete_registered_model),
    Route(RM + "/list", GET, list_registered_models),
    Route(RM + "/get-latest-versions", POST, get_latest_versions),
    Route(MV + "/create", POST, create_model_version),
    Route(MV + "/get-details", POST, get_model_version_details),
    Route(MV + "/update", PATCH, update_model_version),
    Route(MV + "/delete", DELETE, delete_model_version),
    Route(MV + "/search", GET, search_model_versions),
    Route(MV + "/get-download-uri", POST, get_model_version_download_uri),
]


def legacy_routes() -> list[Route]:
    return list(LEGACY_ROUTES)


__all__ = ["LEGACY_ROUTES", "legacy_routes"]
