"""The older MLflow REST documentation's messages: request fields declared as data, and the
response shapes it gives, translated from what fakeflow's own renderers print.

The 2.0 *preview* model registry named a model by a nested ``RegisteredModel {name}`` and a
version by ``ModelVersion {registered_model, version}`` (``version`` an INT64), and answered
with ``...Detailed`` wrappers that hold the entity's reference next to its metadata. Nothing
here decides anything about models or versions: that stays in fakeflow.state.
"""

from __future__ import annotations

from typing import Any, Callable

from fakeflow.state.errors import API_DOCS_HINT, bad_type
from fakeflow.web.messages import VIEW_TYPE, Field, I64, M, Message, S
from fakeflow.web.parsing import CheckFailed

Payload = dict[str, Any]

REGISTERED_MODEL = Message("RegisteredModel", (S("name"),))
MODEL_VERSION = Message(
    "ModelVersion", (M("registered_model", REGISTERED_MODEL, repeated=False), I64("version"))
)
_RM_FIELD = M("registered_model", REGISTERED_MODEL, repeated=False)
_MV_FIELD = M("model_version", MODEL_VERSION, repeated=False)

LIST_EXPERIMENTS = Message("ListExperiments", (Field("view_type", "enum", enum=VIEW_TYPE),))
CREATE_REGISTERED_MODEL = Message("CreateRegisteredModel", (S("name"),))
GET_REGISTERED_MODEL_DETAILS = Message("GetRegisteredModelDetails", (_RM_FIELD,))
UPDATE_REGISTERED_MODEL = Message(
    "UpdateRegisteredModel", (_RM_FIELD, S("name"), S("description"))
)
DELETE_REGISTERED_MODEL = Message("DeleteRegisteredModel", (_RM_FIELD,))
LIST_REGISTERED_MODELS = Message("ListRegisteredModels", ())
GET_LATEST_VERSIONS = Message("GetLatestVersions", (_RM_FIELD, S("stages", repeated=True)))
CREATE_MODEL_VERSION = Message("CreateModelVersion", (S("name"), S("source"), S("run_id")))
GET_MODEL_VERSION_DETAILS = Message("GetModelVersionDetails", (_MV_FIELD,))
UPDATE_MODEL_VERSION = Message(
    "UpdateModelVersion", (_MV_FIELD, S("stage"), S("description"))
)
DELETE_MODEL_VERSION = Message("DeleteModelVersion", (_MV_FIELD,))
SEARCH_MODEL_VERSIONS = Message(
    "SearchModelVersions",
    (S("filter"), I64("max_results"), S("order_by", repeated=True), S("page_token")),
)
GET_MODEL_VERSION_DOWNLOAD_URI = Message("GetModelVersionDownloadUri", (_MV_FIELD,))

#: Fields of the documentation's ``Experiment`` (fakeflow's renderer adds ``workspace``).
EXPERIMENT_FIELDS = (
    "experiment_id", "name", "artifact_location", "lifecycle_stage", "last_update_time",
    "creation_time", "tags",
)
#: Fields of ``ModelVersionDetailed`` besides its ``model_version`` reference.
VERSION_DETAIL_FIELDS = (
    "creation_timestamp", "last_updated_timestamp", "user_id", "current_stage", "description",
    "source", "run_id", "status", "status_message",
)
#: Fields of ``RegisteredModelDetailed`` besides its reference and ``latest_versions``.
MODEL_DETAIL_FIELDS = ("creation_timestamp", "last_updated_timestamp", "user_id", "description")


# ---- requests --------------------------------------------------------------------------------

def _missing(path: str) -> CheckFailed:
    return CheckFailed(f"Missing value for required parameter '{path}'.")


def _invalid(path: str, value: Any) -> CheckFailed:
    return CheckFailed(bad_type(path, value).message[: -len(API_DOCS_HINT)])


def _model_name(value: Any, path: str) -> str:
    if value is None:
        raise _missing(path)
    if not isinstance(value, dict):
        raise _invalid(path, value)
    name = value.get("name")
    if name is None or name == "":
        raise _missing(path + ".name")
    if not isinstance(name, str):
        raise _invalid(path + ".name", name)
    return name


def _version_number(value: Any, path: str) -> int:
    if value is None or value == "":
        raise _missing(path)
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise _invalid(path, value)
    try:
        number = float(value) if isinstance(value, float) else int(value)
    except ValueError:
        raise _invalid(path, value) from None
    if isinstance(number, float):
        if not number.is_integer():
            raise _invalid(path, value)
        number = int(number)
    return number


def model_ref(value: Any, path: str = "registered_model") -> str:
    """The name in a ``RegisteredModel`` reference; raises CheckFailed naming the bad field."""
    return _model_name(value, path)


def version_ref(value: Any, path: str = "model_version") -> tuple[str, str]:
    """(name, version) of a ``ModelVersion`` reference, the version as the stores take it."""
    if not isinstance(value, dict):
        raise _invalid(path, value)
    name = _model_name(value.get("registered_model"), path + ".registered_model")
    return name, str(_version_number(value.get("version"), path + ".version"))


def checked(reader: Callable[[Any], Any]) -> Callable[[Any], None]:
    """A schema check (see fakeflow.web.parsing) that runs ``reader`` for its errors only."""

    def check(value: Any) -> None:
        reader(value)

    return check


# ---- responses -------------------------------------------------------------------------------

def _pick(rendered: Payload, names: tuple[str, ...]) -> Payload:
    return {name: rendered[name] for name in names if name in rendered}


def experiment(rendered: Payload) -> Payload:
    """An ``Experiment`` as documented, from fakeflow.web.render.experiment's output."""
    return _pick(rendered, EXPERIMENT_FIELDS)


def registered_model(name: str) -> Payload:
    return {"name": name}


def model_version(name: str, version: str | int) -> Payload:
    return {"registered_model": registered_model(name), "version": int(version)}


def model_version_detailed(rendered: Payload) -> Payload:
    """A ``ModelVersionDetailed`` from fakeflow.web.registry_render.model_version's output."""
    out: Payload = {"model_version": model_version(rendered["name"], rendered["version"])}
    out.update(_pick(rendered, VERSION_DETAIL_FIELDS))
    return out


def registered_model_detailed(rendered: Payload) -> Payload:
    """A ``RegisteredModelDetailed`` from fakeflow.web.registry_render.registered_model's output."""
    out: Payload = {"registered_model": registered_model(rendered["name"])}
    out.update(_pick(rendered, MODEL_DETAIL_FIELDS))
    latest = rendered.get("latest_versions")
    if latest:
        out["latest_versions"] = [model_version_detailed(mv) for mv in latest]
    return out
