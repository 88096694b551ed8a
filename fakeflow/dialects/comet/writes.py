"""Comet's write endpoints for projects and experiments, each one call of the tracking store (so
MLflow's own checks apply and a refused request changes nothing). Comet sends several of them as
GET; they are served as sent."""

from __future__ import annotations

import json
import secrets
from typing import Any

from werkzeug.wrappers import Request

from fakeflow.dialects.comet import mapping as mp
from fakeflow.dialects.comet.answers import CometSettings, args, bad_request, flag, required
from fakeflow.web.artifact_handlers import run_root


def _key(request: Request) -> str:
    return required(args(request), "experimentKey")


def archive(store: Any, request: Request, settings: CometSettings) -> dict[str, Any]:
    run = mp.run_by_key(store, _key(request))
    store.delete_run(run.run_id)
    return {"experimentKey": run.run_id, "archived": True}


def restore(store: Any, request: Request, settings: CometSettings) -> dict[str, Any]:
    run = mp.run_by_key(store, _key(request))
    store.restore_run(run.run_id)
    return {"experimentKey": run.run_id, "archived": False}


def delete(store: Any, request: Request, settings: CometSettings) -> dict[str, Any]:
    run = mp.run_by_key(store, _key(request))
    store.purge_run(run.run_id)
    root = run_root(run.artifact_uri)
    if root:
        store.artifacts.delete(root)
    return {"experimentKey": run.run_id, "deleted": True}


def stop(store: Any, request: Request, settings: CometSettings) -> dict[str, Any]:
    run = mp.run_by_key(store, _key(request))
    if run.status != "RUNNING":
        raise bad_request(f"Experiment {run.run_id} is not running")
    store.update_run(run.run_id, "KILLED", store.clock.now_ms(), None)
    return {"experimentKey": run.run_id, "stopped": True}


def move(store: Any, request: Request, settings: CometSettings) -> dict[str, Any]:
    values = args(request)
    mp.check_workspace(settings, required(values, "targetWorkspaceName"))
    if flag(values.get("symlink", False)):
        raise bad_request("symlink is not supported: an MLflow run belongs to one experiment")
    target = mp.project_by_name(store, required(values, "targetProjectName"))
    keys = values.get("experimentKeys")
    if not isinstance(keys, list):
        raise bad_request("experimentKeys must be a list")
    runs = [mp.run_by_key(store, key) for key in keys]  # all found before any moves
    for run in runs:
        store.move_run(run.run_id, target.experiment_id)
    return {"experimentKeys": [run.run_id for run in runs]}


# ---- projects = MLflow experiments ------------------------------------------------------------

def create_project(store: Any, request: Request, settings: CometSettings) -> dict[str, Any]:
    values = args(request)
    mp.check_workspace(settings, required(values, "workspaceName"))
    name = required(values, "projectName")
    tags = []
    if values.get("projectDescription"):
        tags.append((mp.DESCRIPTION_TAG, str(values["projectDescription"])))
    if flag(values.get("isPublic", False)):
        tags.append((mp.PROJECT_PUBLIC_TAG, "true"))
    experiment_id = store.create_experiment(str(name), "", tags)
    return mp.project_json(store, settings, store.get_experiment(experiment_id))


def update_project(store: Any, request: Request, settings: CometSettings) -> dict[str, Any]:
    values = args(request)
    experiment = mp.find_project(store, settings, values)
    new_name = values.get("newProjectName")
    if new_name is not None:
        store.rename_experiment(experiment.experiment_id, str(new_name))
    if values.get("newProjectDescription") is not None:
        store.set_experiment_tag(experiment.experiment_id, mp.DESCRIPTION_TAG,
                                 str(values["newProjectDescription"]))
    if values.get("isPublic") is not None:
        store.set_experiment_tag(experiment.experiment_id, mp.PROJECT_PUBLIC_TAG,
                                 "true" if flag(values["isPublic"]) else "false")
    return mp.project_json(store, settings, store.get_experiment(experiment.experiment_id))


def delete_project(store: Any, request: Request, settings: CometSettings) -> dict[str, Any]:
    experiment = mp.find_project(store, settings, args(request))
    store.delete_experiment(experiment.experiment_id)
    return {"projectId": experiment.experiment_id, "deleted": True}


def set_notes(store: Any, request: Request, settings: CometSettings) -> dict[str, Any]:
    values = args(request)
    experiment = mp.find_project(store, settings, values)
    notes = values.get("notes")
    if not isinstance(notes, str):
        raise bad_request("notes must be a string")
    store.set_experiment_tag(experiment.experiment_id, mp.PROJECT_NOTES_TAG, notes)
    return {"notes": notes}


def _share_keys(experiment: Any) -> list[str]:
    try:
        keys = json.loads(experiment.tags.get(mp.SHARE_KEYS_TAG, "[]"))
    except ValueError:
        return []
    return [k for k in keys if isinstance(k, str)] if isinstance(keys, list) else []


def add_share_key(store: Any, request: Request, settings: CometSettings) -> dict[str, Any]:
    experiment = mp.find_project(store, settings, args(request))
    key = secrets.token_hex(16)
    store.set_experiment_tag(experiment.experiment_id, mp.SHARE_KEYS_TAG,
                             json.dumps(_share_keys(experiment) + [key]))
    return {"shareCode": key}


def share_keys(store: Any, request: Request, settings: CometSettings) -> dict[str, Any]:
    return {"shareCodes": _share_keys(mp.find_project(store, settings, args(request)))}


def delete_share_key(store: Any, request: Request, settings: CometSettings) -> dict[str, Any]:
    values = args(request)
    experiment = mp.find_project(store, settings, values)
    code = required(values, "shareCode")
    keys = _share_keys(experiment)
    if code not in keys:
        raise mp.not_found(f"Share key {code} does not exist")
    store.set_experiment_tag(experiment.experiment_id, mp.SHARE_KEYS_TAG,
                             json.dumps([k for k in keys if k != code]))
    return {"shareCode": code, "deleted": True}


# ---- logging through APIExperiment: each one MLflow's own write ---------------------------------

def create_experiment(store: Any, request: Request, settings: CometSettings) -> dict[str, Any]:
    values = args(request)
    experiment = mp.find_project(store, settings, values)
    name = values.get("experimentName")
    run = store.create_run(experiment.experiment_id, settings.user_name, store.clock.now_ms(), (),
                           str(name) if name else "")
    return {"experimentKey": run.run_id, "link": None}


def log_parameter(store: Any, request: Request, settings: CometSettings) -> dict[str, Any]:
    values = args(request)
    run = mp.run_by_key(store, required(values, "experimentKey"))
    value = values.get("parameterValue")
    store.log_param(run.run_id, str(required(values, "parameterName")),
                    json.dumps(value) if isinstance(value, (dict, list)) else str(value))
    return {"experimentKey": run.run_id}


def log_metric(store: Any, request: Request, settings: CometSettings) -> dict[str, Any]:
    from fakeflow.state.tracking import MetricInput

    values = args(request)
    run = mp.run_by_key(store, required(values, "experimentKey"))
    try:
        value = float(values.get("metricValue"))  # type: ignore[arg-type]
        step = int(values.get("step") or 0)
        timestamp = int(values.get("timestamp") or store.clock.now_ms())
    except (TypeError, ValueError):
        raise bad_request("metricValue, step and timestamp must be numbers") from None
    store.log_metric(run.run_id, MetricInput(str(required(values, "metricName")), value,
                                             timestamp, step))
    return {"experimentKey": run.run_id}


def log_other(store: Any, request: Request, settings: CometSettings) -> dict[str, Any]:
    values = args(request)
    run = mp.run_by_key(store, required(values, "experimentKey"))
    store.set_tag(run.run_id, str(required(values, "key")), str(values.get("value")))
    return {"experimentKey": run.run_id}


def _tag_names(values: dict[str, Any], field: str) -> list[str]:
    names = values.get(field)
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise bad_request(f"{field} must be a list of strings")
    return names


def add_tags(store: Any, request: Request, settings: CometSettings) -> dict[str, Any]:
    """A Comet tag is an MLflow tag key with an empty value."""
    values = args(request)
    run = mp.run_by_key(store, required(values, "experimentKey"))
    for name in _tag_names(values, "addedTags"):
        if name not in run.tags:
            store.set_tag(run.run_id, name, "")
    return {"experimentKey": run.run_id, "tags": mp.tag_list(run)}


def delete_tags(store: Any, request: Request, settings: CometSettings) -> dict[str, Any]:
    values = args(request)
    run = mp.run_by_key(store, required(values, "experimentKey"))
    for name in _tag_names(values, "tags"):
        if name in run.tags and mp.visible(name):
            store.delete_tag(run.run_id, name)
    return {"experimentKey": run.run_id, "tags": mp.tag_list(run)}
