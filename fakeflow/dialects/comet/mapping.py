"""Comet's nouns in terms of MLflow's: the one table the dialect (and the README) follows, and the
conversions of store entities into Comet's JSON objects. Nothing here changes state."""

from __future__ import annotations

import math
from typing import Any, Iterable

from fakeflow.dialects.comet.answers import bad_request, not_found
from fakeflow.dialects.comet.config import CometSettings
from fakeflow.state.entities import ACTIVE, DELETED, Experiment, Run
from fakeflow.state.metric_history import MetricPoint

#: Tags under this prefix hold Comet notions MLflow has no place for; MLflow clients see them.
RESERVED_PREFIX = "comet."
PROJECT_NOTES_TAG = "comet.notes"
PROJECT_PUBLIC_TAG = "comet.public"
SHARE_KEYS_TAG = "comet.share_keys"
MODEL_NOTES_TAG = "comet.notes"
MODEL_PUBLIC_TAG = "comet.public"
#: MLflow's own description tag of experiments (the UI's "Description").
DESCRIPTION_TAG = "mlflow.note.content"
SOURCE_NAME_TAG = "mlflow.source.name"
SYSTEM_TAG_PREFIX = "mlflow."

#: (Comet, MLflow, how) -- rendered into the README.
MAPPING: tuple[tuple[str, str, str], ...] = (
    ("workspace", "the whole server", "one workspace, named by `--comet-workspace` (default `fakeflow`)"),
    ("project (id, name)", "experiment (id, name)", "active experiments only; projectId = experiment id"),
    ("project description", "experiment tag `mlflow.note.content`", "MLflow's own description"),
    ("project notes", "experiment tag `comet.notes`", "reserved prefix, visible to MLflow"),
    ("project isPublic", "experiment tag `comet.public`", "reserved prefix"),
    ("project share keys", "experiment tag `comet.share_keys`", "JSON list, reserved prefix"),
    ("delete project", "delete experiment", "its runs are archived with it, as MLflow does"),
    ("experiment (key, name)", "run (run id, run name)", "experimentKey = run id"),
    ("experiment start/end/duration", "run start_time/end_time", "milliseconds; running runs last until now"),
    ("experiment user", "run user_id", ""),
    ("archive / restore experiment", "delete / restore run", "archived = lifecycle stage deleted"),
    ("delete experiment", "permanent delete of the run", "its artifacts go too"),
    ("stop experiment", "run status KILLED, end time now", "only a RUNNING run"),
    ("move experiments", "the run changes experiment", "metrics, params, tags, artifacts move with it"),
    ("metrics", "metric history", "value as string; step and timestamp kept; epoch 0"),
    ("parameters", "params", "one value each: min = max = current"),
    ("tags (list of strings)", "run tag keys", "`mlflow.*` hidden; an added tag has value \"\""),
    ("others (log_other)", "run tags with their values", "`mlflow.*` hidden"),
    ("create experiment, log parameter / metric", "create run, log param / metric",
     "MLflow's checks apply (a param cannot change)"),
    ("assets", "run artifacts", "assetId = path under the run's artifact root"),
    ("registry model", "registered model (not prompts)",
     "registryModelId = name; description kept; notes in tag `comet.notes`"),
    ("registry model version", "model version",
     "version N is `N.0.0`; comment = description; item id = `name/N`"),
    ("version status", "version stage", "None, Staging, Production, Archived"),
    ("version stages / tags (labels)", "the stage in lower case, then the aliases",
     "adding `staging`/`production`/`archived` moves the stage; any other label is an alias"),
    ("artifacts (Comet Artifacts)", "none", "answered as an account with no artifacts"),
)


def check_workspace(settings: CometSettings, workspace: Any) -> None:
    if workspace not in (None, "") and workspace != settings.workspace:
        raise not_found(f"Workspace {workspace} does not exist")


def visible(key: str) -> bool:
    return not key.startswith(SYSTEM_TAG_PREFIX)


# ---- projects ----------------------------------------------------------------------------

def project_by_name(store: Any, name: Any) -> Experiment:
    experiment = store.get_experiment_by_name(name) if isinstance(name, str) else None
    if experiment is None or experiment.lifecycle_stage != ACTIVE:
        raise not_found(f"Project {name} does not exist")
    return experiment


def project_by_id(store: Any, project_id: Any) -> Experiment:
    experiment = store.experiments.get(str(project_id)) if project_id is not None else None
    if experiment is None or experiment.lifecycle_stage != ACTIVE:
        raise not_found(f"Project with id {project_id} does not exist")
    return experiment


def find_project(store: Any, settings: CometSettings, values: dict[str, Any]) -> Experiment:
    """The project named by ``projectId``, or by ``workspaceName`` + ``projectName``."""
    if values.get("projectId") not in (None, ""):
        return project_by_id(store, values["projectId"])
    check_workspace(settings, values.get("workspaceName"))
    if values.get("projectName") in (None, ""):
        raise bad_request("Missing required parameter: projectName or projectId")
    return project_by_name(store, values["projectName"])


def active_projects(store: Any) -> list[Experiment]:
    return [e for e in store.experiments.values() if e.lifecycle_stage == ACTIVE]


def project_runs(store: Any, experiment: Experiment, archived: bool | None = None) -> list[Run]:
    """The project's runs, newest first (MLflow's default order); ``archived`` filters them."""
    runs = [store.runs[run_id] for run_id in store.runs_by_experiment.get(experiment.experiment_id, ())]
    if archived is not None:
        wanted = DELETED if archived else ACTIVE
        runs = [r for r in runs if r.lifecycle_stage == wanted]
    return sorted(runs, key=lambda r: (-r.start_time, r.run_id))


def project_json(store: Any, settings: CometSettings, experiment: Experiment) -> dict[str, Any]:
    runs = project_runs(store, experiment, archived=False)
    return {
        "projectId": experiment.experiment_id,
        "projectName": experiment.name,
        "ownerUserName": settings.user_name,
        "projectDescription": experiment.tags.get(DESCRIPTION_TAG, ""),
        "workspaceName": settings.workspace,
        "isPublic": experiment.tags.get(PROJECT_PUBLIC_TAG, "false") == "true",
        "isShared": False,
        "numberOfExperiments": len(runs),
        "lastUpdated": experiment.last_update_time,
        "createdAt": experiment.creation_time,
    }


# ---- experiments (runs) ------------------------------------------------------------------

def run_by_key(store: Any, key: Any) -> Run:
    run = store.runs.get(key) if isinstance(key, str) else None
    if run is None:
        raise not_found(f"Experiment {key} does not exist")
    return run


def duration_ms(store: Any, run: Run) -> int:
    end = run.end_time if run.end_time is not None else store.clock.now_ms()
    return max(0, end - run.start_time)


def experiment_metadata(store: Any, settings: CometSettings, run: Run) -> dict[str, Any]:
    experiment = store.experiments[run.experiment_id]
    source = run.tags.get(SOURCE_NAME_TAG)
    return {
        "experimentKey": run.run_id,
        "experimentName": run.run_name or None,
        "optimizationId": None,
        "projectId": experiment.experiment_id,
        "projectName": experiment.name,
        "workspaceName": settings.workspace,
        "durationMillis": duration_ms(store, run),
        "startTimeMillis": run.start_time,
        "endTimeMillis": run.end_time,
        "archived": run.lifecycle_stage == DELETED,
        "running": run.status == "RUNNING",
        "throttle": False,
        "fileName": source.rsplit("/", 1)[-1] if source else None,
        "filePath": source,
        "userName": run.user_id,
    }


def tag_list(run: Run) -> list[str]:
    return [key for key in run.tags if visible(key)]


def number_text(value: float) -> str:
    """A metric value as the string Comet sends."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return repr(float(value))


def metric_points(run: Run, names: Iterable[str] | None = None) -> list[dict[str, Any]]:
    """Every point of the named metrics (all when None), in MLflow's history order."""
    keys = list(run.metrics) if names is None else [n for n in names if n in run.metrics]
    return [
        {"metricName": key, "metricValue": number_text(p.value), "timestamp": p.timestamp,
         "step": p.step, "epoch": 0, "runContext": None, "offset": None}
        for key in keys for p in run.metrics[key].points()
    ]


def _extreme(points: list[MetricPoint], pick: Any) -> MetricPoint:
    finite = [p for p in points if not math.isnan(p.value)] or points
    return pick(finite, key=lambda p: p.value)


def metric_summary(run: Run) -> list[dict[str, Any]]:
    values = []
    for key, history in run.metrics.items():
        points = history.points()
        if not points:
            continue
        low, high, last = _extreme(points, min), _extreme(points, max), history.latest
        values.append({
            "name": key,
            "valueMax": number_text(high.value), "valueMin": number_text(low.value),
            "valueCurrent": number_text(last.value),
            "timestampMax": high.timestamp, "timestampMin": low.timestamp,
            "timestampCurrent": last.timestamp,
            "stepMax": high.step, "stepMin": low.step, "stepCurrent": last.step,
            "editable": False,
        })
    return values


def key_value_summary(run: Run, items: dict[str, str]) -> list[dict[str, Any]]:
    """Params (or tags as "others"): MLflow keeps one value, so min = max = current."""
    return [
        {"name": key, "valueMax": value, "valueMin": value, "valueCurrent": value,
         "timestampMax": run.start_time, "timestampMin": run.start_time,
         "timestampCurrent": run.start_time, "stepMax": None, "stepMin": None,
         "stepCurrent": None, "editable": True}
        for key, value in items.items()
    ]


def mapping_markdown() -> str:
    """``MAPPING`` as the README's table (``python -m fakeflow.dialects.comet.mapping``)."""
    rows = ["| Comet | MLflow | how |", "|---|---|---|"]
    rows += [f"| {comet} | {mlflow} | {how} |" for comet, mlflow, how in MAPPING]
    return "\n".join(rows)


if __name__ == "__main__":
    print(mapping_markdown())
