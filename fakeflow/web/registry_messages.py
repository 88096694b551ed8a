"""Request messages of MLflow's model registry API (model_registry.proto), declared as data."""

from __future__ import annotations

from fakeflow.web.messages import KEY_VALUE, Field, M, Message, S

NAME = S("name")
VERSION = S("version")

CREATE_REGISTERED_MODEL = Message(
    "CreateRegisteredModel", (NAME, M("tags", KEY_VALUE), S("description"), S("deployment_job_id"))
)
RENAME_REGISTERED_MODEL = Message("RenameRegisteredModel", (NAME, S("new_name")))
UPDATE_REGISTERED_MODEL = Message(
    "UpdateRegisteredModel", (NAME, S("description"), S("deployment_job_id"))
)
DELETE_REGISTERED_MODEL = Message("DeleteRegisteredModel", (NAME,))
GET_REGISTERED_MODEL = Message("GetRegisteredModel", (NAME,))
SEARCH_REGISTERED_MODELS = Message(
    "SearchRegisteredModels",
    (S("filter"), Field("max_results", "int64"), S("order_by", repeated=True), S("page_token")),
)
GET_LATEST_VERSIONS = Message("GetLatestVersions", (NAME, S("stages", repeated=True)))
SET_REGISTERED_MODEL_TAG = Message("SetRegisteredModelTag", (NAME, S("key"), S("value")))
DELETE_REGISTERED_MODEL_TAG = Message("DeleteRegisteredModelTag", (NAME, S("key")))
SET_REGISTERED_MODEL_ALIAS = Message("SetRegisteredModelAlias", (NAME, S("alias"), VERSION))
DELETE_REGISTERED_MODEL_ALIAS = Message("DeleteRegisteredModelAlias", (NAME, S("alias")))
GET_MODEL_VERSION_BY_ALIAS = Message("GetModelVersionByAlias", (NAME, S("alias")))

CREATE_MODEL_VERSION = Message(
    "CreateModelVersion",
    (NAME, S("source"), S("run_id"), M("tags", KEY_VALUE), S("run_link"), S("description"),
     S("model_id")),
)
UPDATE_MODEL_VERSION = Message("UpdateModelVersion", (NAME, VERSION, S("description")))
TRANSITION_MODEL_VERSION_STAGE = Message(
    "TransitionModelVersionStage",
    (NAME, VERSION, S("stage"), Field("archive_existing_versions", "bool")),
)
DELETE_MODEL_VERSION = Message("DeleteModelVersion", (NAME, VERSION))
GET_MODEL_VERSION = Message("GetModelVersion", (NAME, VERSION))
SEARCH_MODEL_VERSIONS = Message(
    "SearchModelVersions",
    (S("filter"), Field("max_results", "int64"), S("order_by", repeated=True), S("page_token")),
)
GET_MODEL_VERSION_DOWNLOAD_URI = Message("GetModelVersionDownloadUri", (NAME, VERSION))
SET_MODEL_VERSION_TAG = Message("SetModelVersionTag", (NAME, VERSION, S("key"), S("value")))
DELETE_MODEL_VERSION_TAG = Message("DeleteModelVersionTag", (NAME, VERSION, S("key")))

__all__ = [name for name in dict(globals()) if name.isupper()]
