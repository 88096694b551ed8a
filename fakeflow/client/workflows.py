"""Workflow helpers in the manner of Mlflow.js's, each a few REST calls, correct where those are not:

* ``cleanup_runs`` pages through the runs to keep and the candidates as two separate searches,
  each with its own page tokens, and deletes only after both are complete (deleting while paging
  would shift the pages under the search);
* ``copy_run`` copies every recorded point of every metric, with its step and timestamp, not
  only the latest values;
* ``experiment_summary`` and ``create_model_from_run_with_best_metric`` look at every page of
  runs, not only the first;
* the "latest version" helpers take the highest version number of the model, whatever its
  stage (``get-latest-versions`` answers one version per stage, in no useful order).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Sequence

from fakeflow.client.rest import Json, MlflowApiError, RestClient

RUN_NAME_TAG = "mlflow.runName"


class NoModelVersionError(LookupError):
    """The registered model has no version for a "latest version" helper to act on."""


class NoRunWithMetricError(LookupError):
    """No run in the experiments has the metric a "best run" helper was asked to compare."""


def _pairs(items: Iterable[Mapping[str, Any]] | Mapping[str, Any] | None) -> list[Json]:
    """Accept ``[{"key": k, "value": v}, ...]`` or a plain ``{k: v}`` mapping."""
    if items is None:
        return []
    if isinstance(items, Mapping):
        return [{"key": str(k), "value": str(v)} for k, v in items.items()]
    return [dict(item) for item in items]


def _metrics(items: Iterable[Mapping[str, Any]] | Mapping[str, float] | None,
             now_ms: int) -> list[Json]:
    if items is None:
        return []
    if isinstance(items, Mapping):
        return [{"key": str(k), "value": float(v), "timestamp": now_ms, "step": 0}
                for k, v in items.items()]
    out = []
    for item in items:
        metric = dict(item)
        metric.setdefault("timestamp", now_ms)
        metric.setdefault("step", 0)
        out.append(metric)
    return out


def _now_ms() -> int:
    import time

    return int(time.time() * 1000)


# ---- runs ------------------------------------------------------------------------------------


def run_existing_experiment(client: RestClient, experiment_id: str, run_name: str | None = None,
                            metrics: Any = None, params: Any = None, tags: Any = None,
                            model: Mapping[str, Any] | None = None) -> Json:
    """Create a run, log metrics, params and tags (any number: split into MLflow-sized batches),
    log the model's metadata, finish the run; answer the finished run as ``runs/get`` shows it."""
    run = client.create_run(experiment_id, run_name)
    run_id = run["info"]["run_id"]
    client.log_batch(run_id, _metrics(metrics, _now_ms()), _pairs(params), _pairs(tags))
    if model is not None:
        client.log_model(run_id, json.dumps(dict(model, run_id=run_id)))
    client.update_run(run_id, status="FINISHED", end_time=_now_ms())
    return client.get_run(run_id)


def run_new_experiment(client: RestClient, experiment_name: str, run_name: str | None = None,
                       metrics: Any = None, params: Any = None, tags: Any = None,
                       model: Mapping[str, Any] | None = None) -> Json:
    """``run_existing_experiment`` in a new experiment of that name."""
    experiment_id = client.create_experiment(experiment_name)
    return run_existing_experiment(client, experiment_id, run_name, metrics, params, tags, model)


def _metric_value(run: Json, key: str) -> float | None:
    for metric in run.get("data", {}).get("metrics", []):
        if metric["key"] == key:
            return float(metric["value"])
    return None


def experiment_summary(client: RestClient, experiment_id: str, primary_metric: str,
                       order: str | int = "DESC") -> list[Json]:
    """Every active run of the experiment, ordered by ``primary_metric`` as the server orders
    (``"DESC"``/``1`` or ``"ASC"``/``-1``); runs without the metric come last. Each run gets
    the metric's latest value under ``"primary_metric"`` (``None`` when absent)."""
    direction = {"DESC": "DESC", 1: "DESC", "ASC": "ASC", -1: "ASC"}.get(
        order.upper() if isinstance(order, str) else order)
    if direction is None:
        raise ValueError(f"order must be 'ASC', 'DESC', 1 or -1, not {order!r}")
    runs = list(client.search_runs([experiment_id], order_by=[f"metrics.`{primary_metric}` {direction}"]))
    for run in runs:
        run["primary_metric"] = _metric_value(run, primary_metric)
    return runs


@dataclass
class CleanupResult:
    """What ``cleanup_runs`` deleted, or would delete when ``dry_run``."""

    deleted_runs: list[Json] = field(default_factory=list)
    dry_run: bool = True

    @property
    def total(self) -> int:
        return len(self.deleted_runs)


def cleanup_runs(client: RestClient, experiment_ids: Sequence[str], query_string: str,
                 metric_key: str, dry_run: bool = True) -> CleanupResult:
    """Delete the active runs that have ``metric_key`` but do not match ``query_string`` (the
    runs to keep). Runs without the metric are never touched. ``dry_run`` only reports."""
    keep = {run["info"]["run_id"] for run in client.search_runs(experiment_ids, query_string)}
    doomed = [run for run in client.search_runs(experiment_ids)
              if run["info"]["run_id"] not in keep and _metric_value(run, metric_key) is not None]
    if not dry_run:
        for run in doomed:
            client.delete_run(run["info"]["run_id"])
    return CleanupResult(doomed, dry_run)


@dataclass(frozen=True)
class CopiedRun:
    original_run_id: str
    new_run_id: str
    target_experiment_id: str


def copy_run(client: RestClient, run_id: str, target_experiment_id: str,
             run_name: str | None = None) -> CopiedRun:
    """Copy a run into another experiment: status, times, params, tags, dataset inputs and the
    whole history of every metric (every step and timestamp). Artifacts and registered models
    are not copied; tags on the copy point back to the original."""
    original = client.get_run(run_id)
    info, data = original["info"], original.get("data", {})
    name = run_name if run_name is not None else info.get("run_name")
    copy = client.create_run(target_experiment_id, name, start_time=info.get("start_time"))
    new_id = copy["info"]["run_id"]
    history = [point for metric in data.get("metrics", [])
               for point in client.metric_history(run_id, metric["key"])]
    tags = [t for t in data.get("tags", []) if t["key"] != RUN_NAME_TAG]
    versions = list(client.search_model_versions(f"run_id = '{run_id}'"))
    tags += [{"key": f"original_model_{mv['name']}",
              "value": json.dumps({k: mv.get(k) for k in ("name", "version", "current_stage", "source")})}
             for mv in versions]
    if versions:
        tags.append({"key": "mlflow.note.models", "value": "Models not copied, see original run."})
    tags += [
        {"key": "mlflow.note.content",
         "value": f"Copied from run {run_id} of experiment {info['experiment_id']} "
                  f"(artifacts at {info.get('artifact_uri', '')}, lifecycle stage "
                  f"{info.get('lifecycle_stage', 'active')})."},
        {"key": "mlflow.source.run_id", "value": run_id},
        {"key": "mlflow.source.experiment_id", "value": info["experiment_id"]},
        {"key": "mlflow.note.artifacts", "value": "Artifacts not copied: see the original run."},
    ]
    client.log_batch(new_id, [_point(p) for p in history], data.get("params", []), tags)
    datasets = original.get("inputs", {}).get("dataset_inputs", [])
    if datasets:
        client.log_inputs(new_id, datasets)
    client.update_run(new_id, status=info.get("status"), end_time=info.get("end_time"))
    return CopiedRun(run_id, new_id, target_experiment_id)


def _point(metric: Json) -> Json:
    return {"key": metric["key"], "value": metric["value"],
            "timestamp": int(metric.get("timestamp", 0)), "step": int(metric.get("step", 0))}


# ---- model registry --------------------------------------------------------------------------


def create_registered_model_with_version(client: RestClient, name: str, version_source: str,
                                         version_run_id: str | None = None) -> Json:
    """Create the registered model and its first version; answer the version."""
    client.create_registered_model(name)
    return client.create_model_version(name, version_source, version_run_id)


def update_registered_model_description_and_tag(client: RestClient, name: str, tag_key: str,
                                                tag_value: str, description: str | None = None
                                                ) -> Json:
    client.set_registered_model_tag(name, tag_key, tag_value)
    return client.update_registered_model(name, description or "")


def latest_version(client: RestClient, name: str) -> str:
    """The model's highest version number, whatever its stage."""
    versions = [int(mv["version"]) for mv in client.search_model_versions(f"name = '{_quote(name)}'")]
    if not versions:
        raise NoModelVersionError(f"registered model {name!r} has no version")
    return str(max(versions))


def _quote(text: str) -> str:
    return text.replace("'", "\\'")


def update_all_latest_model_version(client: RestClient, name: str, alias: str, description: str,
                                    key: str, value: str) -> Json:
    return update_all_model_version(client, name, latest_version(client, name), alias,
                                    description, key, value)


def update_all_model_version(client: RestClient, name: str, version: str, alias: str,
                             description: str, key: str, value: str) -> Json:
    """Point ``alias`` at the version, tag it and set its description; answer the version."""
    client.set_registered_model_alias(name, alias, version)
    client.set_model_version_tag(name, version, key, value)
    return client.update_model_version(name, version, description)


def set_latest_model_version_tag(client: RestClient, name: str, key: str, value: str) -> str:
    version = latest_version(client, name)
    client.set_model_version_tag(name, version, key, value)
    return version


def set_latest_model_version_alias(client: RestClient, name: str, alias: str) -> str:
    version = latest_version(client, name)
    client.set_registered_model_alias(name, alias, version)
    return version


def update_latest_model_version(client: RestClient, name: str, description: str) -> Json:
    return client.update_model_version(name, latest_version(client, name), description)


def delete_latest_model_version(client: RestClient, name: str) -> str:
    version = latest_version(client, name)
    client.delete_model_version(name, version)
    return version


def create_model_from_run_with_best_metric(client: RestClient, experiment_ids: Sequence[str],
                                           metric: str, min_or_max: str, model_name: str,
                                           artifact_path: str | None = None) -> Json:
    """Register a version built from the run with the lowest (``"min"``) or highest (``"max"``)
    latest value of ``metric`` among every active run of the experiments (NaN never wins); the
    registered model is created if it does not exist yet. The version's source is the run's
    artifact root, or ``runs:/<run>/<artifact_path>`` when given."""
    if min_or_max not in ("min", "max"):
        raise ValueError(f"min_or_max must be 'min' or 'max', not {min_or_max!r}")
    best: tuple[float, Json] | None = None
    for run in client.search_runs(experiment_ids):
        value = _metric_value(run, metric)
        if value is None or math.isnan(value):
            continue
        if best is None or (value < best[0] if min_or_max == "min" else value > best[0]):
            best = (value, run)
    if best is None:
        raise NoRunWithMetricError(f"no run in experiments {list(experiment_ids)} has metric {metric!r}")
    info = best[1]["info"]
    try:
        client.create_registered_model(model_name)
    except MlflowApiError as error:
        if error.error_code != "RESOURCE_ALREADY_EXISTS":
            raise
    source = f"runs:/{info['run_id']}/{artifact_path}" if artifact_path else info["artifact_uri"]
    return client.create_model_version(model_name, source, info["run_id"])
