"""Comet's model registry over MLflow's: registered models, their versions (``N.0.0`` for MLflow's
version N), status = MLflow stage, stages (labels) = MLflow stage in lower case plus aliases. Each
write is one registry store call, so MLflow's validation decides what is refused."""

from __future__ import annotations

import io
import posixpath
import re
import zipfile
from typing import Any

from werkzeug.wrappers import Request, Response

from fakeflow.dialects.comet import mapping as mp
from fakeflow.dialects.comet.answers import CometSettings, args, bad_request, not_found, required
from fakeflow.state.registry_entities import ALL_STAGES, STAGE_NONE, ModelVersion, RegisteredModel
from fakeflow.web.artifact_handlers import run_root

_VERSION = re.compile(r"^(\d+)(?:\.0\.0)?$")
#: Comet stage label (lower case) -> MLflow stage; any other label is an alias.
_STAGE_LABELS = {stage.lower(): stage for stage in ALL_STAGES if stage != STAGE_NONE}


def version_text(number: int) -> str:
    return f"{number}.0.0"


def _model(store: Any, settings: CometSettings, values: dict[str, Any],
           name_field: str = "modelName") -> RegisteredModel:
    mp.check_workspace(settings, values.get("workspaceName"))
    name = required(values, name_field)
    model = store.registry.models.get(name)
    if model is None:
        raise not_found(f"Registry model {name} does not exist")
    return model


def _by_id(store: Any, model_id: Any) -> RegisteredModel:
    model = store.registry.models.get(model_id) if isinstance(model_id, str) else None
    if model is None:
        raise not_found(f"Registry model {model_id} does not exist")
    return model


def _version(model: RegisteredModel, version: Any) -> ModelVersion:
    match = _VERSION.match(str(version))
    mv = model.versions.get(int(match.group(1))) if match else None
    if mv is None or mv.deleted:
        raise not_found(f"Version {version} of registry model {model.name} does not exist")
    return mv


def _item(store: Any, item_id: Any) -> tuple[RegisteredModel, ModelVersion]:
    """A ``registryModelItemId`` is ``<model name>/<version number>``."""
    name, _, number = str(item_id).rpartition("/")
    return (model := _by_id(store, name)), _version(model, number)


def _location(store: Any, mv: ModelVersion) -> str:
    """Where the version's files are, resolving ``runs:/<id>/<path>`` as MLflow's client does."""
    location = mv.storage_location or mv.source
    if location.startswith("runs:/"):
        run_id, _, path = location[len("runs:/"):].partition("/")
        base = store.registry.lookups.run_artifact_uri(run_id)
        return f"{base.rstrip('/')}/{path}".rstrip("/") if base else location
    return location


def _files(store: Any, mv: ModelVersion) -> list[tuple[str, Any, int]]:
    """(path under the version's location, stored file, size) of each of its files."""
    root = run_root(_location(store, mv))
    if root is None:
        return []
    found: list[tuple[str, Any, int]] = []
    pending = [root]
    while pending:
        for entry in store.artifacts.list(pending.pop()):
            if entry.is_dir:
                pending.append(entry.path)
            else:
                found.append((entry.path[len(root) + 1:], store.artifacts.get(entry.path), entry.size))
    return sorted(found, key=lambda f: f[0])


def version_json(store: Any, settings: CometSettings, model: RegisteredModel,
                 mv: ModelVersion, with_assets: bool = True) -> dict[str, Any]:
    stages = ([mv.current_stage.lower()] if mv.current_stage != STAGE_NONE else [])
    stages += sorted(model.aliases_of(mv.version))
    answer = {
        "registryModelItemId": f"{model.name}/{mv.version}",
        "experimentModel": {"experimentModelId": mv.model_id or mv.source,
                            "experimentModelName": posixpath.basename(mv.source.rstrip("/")),
                            "experimentKey": mv.run_id or None},
        "version": version_text(mv.version),
        "comment": mv.description or "",
        "stages": stages,
        "status": mv.current_stage,
        "tags": list(stages),  # the newer Model API calls the labels tags
        "userName": settings.user_name,
        "createdAt": mv.creation_timestamp,
        "lastUpdated": mv.last_updated_timestamp,
        "restApiUrl": None,
    }
    if with_assets:
        answer["assets"] = [
            {"fileName": path, "fileSize": size, "runContext": None, "step": None,
             "link": None, "createdAt": mv.creation_timestamp, "dir": posixpath.dirname(path),
             "canView": False, "audio": False, "histogram": False, "image": False,
             "type": "model-element", "metadata": None, "assetId": f"{model.name}/{mv.version}/{path}"}
            for path, _, size in _files(store, mv)
        ]
    return answer


def model_json(store: Any, settings: CometSettings, model: RegisteredModel,
               versions: bool = True) -> dict[str, Any]:
    answer = {
        "registryModelId": model.name,
        "modelName": model.name,
        "description": model.description or "",
        "isPublic": model.tags.get(mp.MODEL_PUBLIC_TAG, "false") == "true",
        "createdAt": model.creation_timestamp,
        "lastUpdated": model.last_updated_timestamp,
        "userName": settings.user_name,
        "numberOfVersions": len(model.live_versions()),
    }
    if versions:
        answer["versions"] = [version_json(store, settings, model, mv)
                              for mv in sorted(model.live_versions(), key=lambda v: v.version)]
    return answer


# ---- reads --------------------------------------------------------------------------------------

def _models(store: Any) -> list[RegisteredModel]:
    return [m for m in store.registry.models.values() if not m.is_prompt()]


def models(store: Any, request: Request, settings: CometSettings) -> dict[str, Any]:
    mp.check_workspace(settings, required(args(request), "workspaceName"))
    return {"registryModels": [model_json(store, settings, m, versions=False) for m in _models(store)]}


def count(store: Any, request: Request, settings: CometSettings) -> dict[str, Any]:
    mp.check_workspace(settings, required(args(request), "workspaceName"))
    return {"registryModelCount": len(_models(store))}


def details(store: Any, request: Request, settings: CometSettings) -> dict[str, Any]:
    return model_json(store, settings, _model(store, settings, args(request)))


def notes(store: Any, request: Request, settings: CometSettings) -> dict[str, Any]:
    return {"notes": _model(store, settings, args(request)).tags.get(mp.MODEL_NOTES_TAG, "")}


def allowed_status(store: Any, request: Request, settings: CometSettings) -> dict[str, Any]:
    mp.check_workspace(settings, args(request).get("workspaceName"))
    return {"allowedStatus": list(ALL_STAGES)}


def _select(model: RegisteredModel, values: dict[str, Any]) -> ModelVersion:
    """The version named by ``version``, else the latest one carrying ``stage`` (or any)."""
    if values.get("version") not in (None, ""):
        return _version(model, values["version"])
    live = sorted(model.live_versions(), key=lambda v: v.version, reverse=True)
    stage = values.get("stage")
    if stage not in (None, ""):
        label = str(stage).lower()
        live = [mv for mv in live if mv.current_stage.lower() == label
                or label in model.aliases_of(mv.version)]
    if values.get("versionMajor") not in (None, ""):
        live = [mv for mv in live if str(mv.version) == str(values["versionMajor"])]
    if values.get("versionMinor") not in (None, "", "0", 0):
        live = []
    if not live:
        raise not_found(f"No matching version of registry model {model.name}")
    return live[0]


def compact_details(store: Any, request: Request, settings: CometSettings) -> dict[str, Any]:
    return model_json(store, settings, _model(store, settings, args(request)), versions=False)


def item_details(store: Any, request: Request, settings: CometSettings) -> dict[str, Any]:
    values = args(request)
    model = _model(store, settings, values)
    return version_json(store, settings, model, _version(model, required(values, "version")))


def items(store: Any, request: Request, settings: CometSettings) -> dict[str, Any]:
    """``Model.find_versions``: versions filtered by prefix, status (stage) and tag (label)."""
    values = args(request)
    model = _model(store, settings, values)
    found = [version_json(store, settings, model, mv, with_assets=False)
             for mv in sorted(model.live_versions(), key=lambda v: v.version)]
    prefix, status, tag = values.get("versionPrefix"), values.get("status"), values.get("tag")
    if prefix:
        found = [v for v in found if v["version"].startswith(prefix)]
    if status:
        found = [v for v in found if v["status"].lower() == str(status).lower()]
    if tag:
        found = [v for v in found if tag in v["tags"]]
    return {"items": found}


def set_status(store: Any, request: Request, settings: CometSettings) -> dict[str, Any]:
    values = args(request)
    model, mv = _item(store, values.get("modelItemId"))
    store.registry.transition_model_version_stage(model.name, str(mv.version),
                                                  str(required(values, "status")))
    return version_json(store, settings, model, mv, with_assets=False)


def latest_version(store: Any, request: Request, settings: CometSettings) -> dict[str, Any]:
    values = args(request)
    model = _model(store, settings, values)
    return version_json(store, settings, model, _select(model, values))


def download_instructions(store: Any, request: Request, settings: CometSettings) -> dict[str, Any]:
    values = args(request)
    model = _model(store, settings, values)
    return {"versions": [version_json(store, settings, model, _select(model, values))]}


def download(store: Any, request: Request, settings: CometSettings) -> Response:
    """The version's files as one zip (built in memory: the registry serves small test models)."""
    values = args(request)
    model = _model(store, settings, values)
    mv = _select(model, values)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path, stored, _ in _files(store, mv):
            archive.writestr(path, stored.data() if stored is not None else b"")
    data = buffer.getvalue()
    return Response(data, headers={"Content-Type": "application/octet-stream",
                                   "Content-Length": str(len(data))})


# ---- writes -------------------------------------------------------------------------------------

def update_model(store: Any, request: Request, settings: CometSettings) -> dict[str, Any]:
    values = args(request)
    model = _by_id(store, values.get("registryModelId"))
    name = model.name
    if values.get("description") is not None:
        store.registry.update_registered_model(name, str(values["description"]))
    if values.get("isPublic") is not None:
        store.registry.set_registered_model_tag(name, mp.MODEL_PUBLIC_TAG,
                                                "true" if values["isPublic"] is True else "false")
    if values.get("registryModelName") not in (None, name):
        store.registry.rename_registered_model(name, str(values["registryModelName"]))
        name = str(values["registryModelName"])
    return model_json(store, settings, store.registry.models[name], versions=False)


def set_notes(store: Any, request: Request, settings: CometSettings) -> dict[str, Any]:
    values = args(request)
    model = _model(store, settings, values, "registryModelName")
    text = values.get("notes")
    if not isinstance(text, str):
        raise bad_request("notes must be a string")
    store.registry.set_registered_model_tag(model.name, mp.MODEL_NOTES_TAG, text)
    return {"notes": text}


def delete_model(store: Any, request: Request, settings: CometSettings) -> dict[str, Any]:
    model = _model(store, settings, args(request))
    store.registry.delete_registered_model(model.name)
    return {"modelName": model.name, "deleted": True}


def _apply_label(store: Any, model: RegisteredModel, mv: ModelVersion, label: str) -> None:
    stage = _STAGE_LABELS.get(label.lower())
    if stage is not None:
        store.registry.transition_model_version_stage(model.name, str(mv.version), stage)
    else:
        store.registry.set_registered_model_alias(model.name, label, str(mv.version))


def _drop_label(store: Any, model: RegisteredModel, mv: ModelVersion, label: str) -> None:
    stage = _STAGE_LABELS.get(label.lower())
    if stage is not None:
        if mv.current_stage != stage:
            raise not_found(f"Version {version_text(mv.version)} has no stage {label}")
        store.registry.transition_model_version_stage(model.name, str(mv.version), STAGE_NONE)
    else:
        if model.aliases.get(label) != mv.version:
            raise not_found(f"Version {version_text(mv.version)} has no stage {label}")
        store.registry.delete_registered_model_alias(model.name, label)


def update_version(store: Any, request: Request, settings: CometSettings) -> dict[str, Any]:
    values = args(request)
    model, mv = _item(store, values.get("registryModelItemId"))
    stages = values.get("stages")
    if stages is not None and (not isinstance(stages, list)
                               or not all(isinstance(s, str) for s in stages)):
        raise bad_request("stages must be a list of strings")
    if values.get("comment") is not None:
        store.registry.update_model_version(model.name, str(mv.version), str(values["comment"]))
    if stages is not None:
        current = version_json(store, settings, model, mv, with_assets=False)["stages"]
        for label in current:
            if label not in stages:
                _drop_label(store, model, mv, label)
        for label in stages:
            if label not in current:
                _apply_label(store, model, mv, label)
    return version_json(store, settings, model, mv)


def add_stage(store: Any, request: Request, settings: CometSettings) -> dict[str, Any]:
    values = args(request)
    model, mv = _item(store, values.get("modelItemId"))
    _apply_label(store, model, mv, str(required(values, "stage")))
    return version_json(store, settings, model, mv, with_assets=False)


def delete_stage(store: Any, request: Request, settings: CometSettings) -> dict[str, Any]:
    values = args(request)
    model, mv = _item(store, values.get("modelItemId"))
    _drop_label(store, model, mv, str(required(values, "stage")))
    return version_json(store, settings, model, mv, with_assets=False)


def delete_version(store: Any, request: Request, settings: CometSettings) -> dict[str, Any]:
    model, mv = _item(store, args(request).get("modelItemId"))
    store.registry.delete_model_version(model.name, str(mv.version))
    return {"registryModelItemId": f"{model.name}/{mv.version}", "deleted": True}


# ---- Comet Artifacts: MLflow has none; answered as an account without any -----------------------

def artifact_list(store: Any, request: Request, settings: CometSettings) -> dict[str, Any]:
    mp.check_workspace(settings, required(args(request), "workspace"))
    return {"artifacts": []}


def artifact_missing(store: Any, request: Request, settings: CometSettings) -> dict[str, Any]:
    values = args(request)
    mp.check_workspace(settings, values.get("workspace"))
    what = values.get("artifactId") or values.get("name") or values.get("artifactName")
    raise not_found(f"Artifact {what} does not exist")
