"""Comet's read endpoints over the tracking state (workspaces, projects, experiments, metrics,
parameters, tags, assets, queries). Each handler reads the store under the app's lock."""

from __future__ import annotations

import posixpath
from typing import Any

from werkzeug.wrappers import Request, Response

from fakeflow.dialects.comet import mapping as mp
from fakeflow.dialects.comet.answers import CometSettings, args, bad_request, flag, not_found, required
from fakeflow.dialects.comet.query import Query, columns
from fakeflow.state.metric_history import json_number
from fakeflow.web.artifact_handlers import run_root


def is_alive(store: Any, request: Request, settings: CometSettings) -> dict[str, Any]:
    return {"version": settings.backend_version}


def account_details(store: Any, request: Request, settings: CometSettings) -> dict[str, Any]:
    return {"userName": settings.user_name, "defaultWorkspaceName": settings.workspace}


def workspaces(store: Any, request: Request, settings: CometSettings) -> dict[str, Any]:
    return {"workspaceNames": [settings.workspace]}


def projects(store: Any, request: Request, settings: CometSettings) -> dict[str, Any]:
    values = args(request)
    mp.check_workspace(settings, required(values, "workspaceName"))
    return {"projects": [mp.project_json(store, settings, e) for e in mp.active_projects(store)]}


def project(store: Any, request: Request, settings: CometSettings) -> dict[str, Any]:
    return mp.project_json(store, settings, mp.find_project(store, settings, args(request)))


def project_notes(store: Any, request: Request, settings: CometSettings) -> dict[str, Any]:
    experiment = mp.find_project(store, settings, args(request))
    return {"notes": experiment.tags.get(mp.PROJECT_NOTES_TAG, "")}


def experiments(store: Any, request: Request, settings: CometSettings) -> dict[str, Any]:
    values = args(request)
    experiment = mp.find_project(store, settings, values)
    runs = mp.project_runs(store, experiment, archived=flag(values.get("archived", False)))
    sort_by = values.get("sortBy")
    if sort_by is not None:
        if sort_by not in ("startTime", "endTime"):
            raise bad_request("sortBy must be startTime or endTime")
        field = "start_time" if sort_by == "startTime" else "end_time"
        runs.sort(key=lambda r: (getattr(r, field) or 0, r.run_id),
                  reverse=values.get("sortOrder", "desc") == "desc")
    if values.get("page") is not None:
        try:
            page, size = int(values["page"]), int(values.get("size", 100))
        except ValueError:
            raise bad_request("page and size must be integers") from None
        if page < 1 or size < 1:
            raise bad_request("page and size must be positive")
        runs = runs[(page - 1) * size: page * size]
    return {"experiments": [mp.experiment_metadata(store, settings, r) for r in runs]}


def metadata(store: Any, request: Request, settings: CometSettings) -> dict[str, Any]:
    run = mp.run_by_key(store, required(args(request), "experimentKey"))
    return mp.experiment_metadata(store, settings, run)


def _run(request: Request) -> Any:
    return required(args(request), "experimentKey")


def metrics_all(store: Any, request: Request, settings: CometSettings) -> dict[str, Any]:
    return {"metrics": mp.metric_points(mp.run_by_key(store, _run(request)))}


def metric(store: Any, request: Request, settings: CometSettings) -> dict[str, Any]:
    values = args(request)
    run = mp.run_by_key(store, required(values, "experimentKey"))
    return {"metrics": mp.metric_points(run, [required(values, "metricName")])}


def metrics_summary(store: Any, request: Request, settings: CometSettings) -> dict[str, Any]:
    return {"values": mp.metric_summary(mp.run_by_key(store, _run(request)))}


def parameters(store: Any, request: Request, settings: CometSettings) -> dict[str, Any]:
    run = mp.run_by_key(store, _run(request))
    return {"values": mp.key_value_summary(run, run.params)}


def others(store: Any, request: Request, settings: CometSettings) -> dict[str, Any]:
    run = mp.run_by_key(store, _run(request))
    return {"values": mp.key_value_summary(run, {k: v for k, v in run.tags.items() if mp.visible(k)})}


def tags(store: Any, request: Request, settings: CometSettings) -> dict[str, Any]:
    return {"tags": mp.tag_list(mp.run_by_key(store, _run(request)))}


def column_names(store: Any, request: Request, settings: CometSettings) -> dict[str, Any]:
    experiment = mp.find_project(store, settings, args(request))
    return {"columns": columns(mp.project_runs(store, experiment))}


def query(store: Any, request: Request, settings: CometSettings) -> dict[str, Any]:
    values = args(request)
    experiment = mp.find_project(store, settings, values)
    candidates = mp.project_runs(store, experiment)
    compiled = Query(values.get("predicates", []), columns(candidates))
    archived = flag(values.get("archived", False))
    selected = [r for r in mp.project_runs(store, experiment, archived=archived)
                if compiled.matches(store, r)]
    return {"experimentKeys": [r.run_id for r in selected]}


def multi_metric_chart(store: Any, request: Request, settings: CometSettings) -> dict[str, Any]:
    values = args(request)
    keys = values.get("targetedExperiments") or []
    names = values.get("metrics") or []
    param_names = values.get("params")
    if not isinstance(keys, list) or not isinstance(names, list):
        raise bad_request("targetedExperiments and metrics must be lists")
    answer: dict[str, Any] = {}
    for key in keys:
        run = mp.run_by_key(store, key)
        series = []
        for name in names:
            points = run.metrics[name].points() if name in run.metrics else []
            series.append({
                "metricName": name,
                "values": [json_number(p.value) for p in points],
                "steps": [p.step for p in points],
                "epochs": [0 for _ in points],
                "timestamps": [p.timestamp for p in points],
                "durations": [p.timestamp - run.start_time for p in points],
            })
        params = None
        if param_names:
            params = {n: run.params[n] for n in param_names if n in run.params}
        answer[key] = {"experiment_key": key, "steps": None, "epochs": None,
                       "metrics": series, "params": params}
    return {"experiments": answer, "empty": not answer}


# ---- assets = run artifacts -----------------------------------------------------------------

def _run_files(store: Any, run: Any) -> list[tuple[str, int]]:
    """(path under the run's artifact root, size) of every file the run has, depth first."""
    root = run_root(run.artifact_uri)
    if root is None:
        return []
    found: list[tuple[str, int]] = []
    pending = [root]
    while pending:
        directory = pending.pop()
        for entry in store.artifacts.list(directory):
            if entry.is_dir:
                pending.append(entry.path)
            else:
                found.append((entry.path[len(root) + 1:], entry.size))
    return sorted(found)


def _asset_json(run: Any, path: str, size: int, settings: CometSettings) -> dict[str, Any]:
    return {
        "fileName": path, "fileSize": size, "runContext": None, "step": None, "remote": False,
        "link": f"/api/rest/v2/experiment/asset/get-asset?experimentKey={run.run_id}&assetId={path}",
        "createdAt": run.start_time, "dir": posixpath.dirname(path) or "assets",
        "canView": False, "audio": False, "video": False, "histogram": False, "image": False,
        "type": "asset", "metadata": None, "assetId": path, "tags": [],
        "experimentKey": run.run_id, "items": [], "etag": None,
    }


def asset_list(store: Any, request: Request, settings: CometSettings) -> dict[str, Any]:
    values = args(request)
    run = mp.run_by_key(store, required(values, "experimentKey"))
    kind = values.get("type", "all")
    assets = [_asset_json(run, path, size, settings) for path, size in _run_files(store, run)]
    if kind not in (None, "", "all"):
        assets = [a for a in assets if a["type"] == kind]
    return {"assets": assets}


def asset_by_name(store: Any, request: Request, settings: CometSettings) -> dict[str, Any]:
    values = args(request)
    run = mp.run_by_key(store, required(values, "experimentKey"))
    name = required(values, "assetName")
    return {"assets": [_asset_json(run, path, size, settings)
                       for path, size in _run_files(store, run) if path == name]}


def get_asset(store: Any, request: Request, settings: CometSettings) -> Response:
    values = args(request)
    run = mp.run_by_key(store, required(values, "experimentKey"))
    asset_id = required(values, "assetId")
    root = run_root(run.artifact_uri)
    stored = store.artifacts.get(f"{root}/{asset_id}") if root is not None and ".." not in asset_id.split("/") else None
    if stored is None:
        raise not_found(f"Asset {asset_id} does not exist in experiment {run.run_id}")
    return Response(stored.chunks, status=200, headers={
        "Content-Type": "application/octet-stream", "Content-Length": str(stored.size),
        "Content-Disposition": f'attachment; filename="{posixpath.basename(asset_id)}"',
    })
