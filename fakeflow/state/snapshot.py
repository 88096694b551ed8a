"""Snapshots: the whole tracking store as JSON-able data, and back, with nothing lost.

Used by the control plane (``GET/PUT /_fakeflow/state``), ``fakeflow serve --load/--save`` and
tests that want to start from a prepared state. ``load(store, dump(store))`` rebuilds a store that
answers every request exactly as the original did: dict orders, raw metric histories (including
NaN, duplicates not yet tidied, and the latest point), the next experiment id and the id
generator's random state.

Metric histories are copied at the level of ``MetricHistory``'s arrays, not replayed through
``append``: replaying a tidied history could pick a different latest point among ties.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from pathlib import Path
from typing import Any

from fakeflow.state.entities import Dataset, DatasetInput, Experiment, ModelOutput, Run
from fakeflow.state.logged_models import dump_logged_model, load_logged_model
from fakeflow.state.metric_history import MetricHistory, MetricPoint, json_number
from fakeflow.state.registry_snapshot import dump_registry, load_registry
from fakeflow.state.eval_datasets import decode_eval_datasets
from fakeflow.state.scorers import decode_scorers
from fakeflow.state.issues import decode_issues
from fakeflow.state.webhooks import decode_webhooks
from fakeflow.state.traces import decode_traces
from fakeflow.state.tracking import TrackingStore

FORMAT = "fakeflow-snapshot"
VERSION = 1

Snapshot = dict[str, Any]


class SnapshotError(ValueError):
    """The data is not a snapshot this version of fakeflow can load."""


# ---- floats JSON cannot carry ----------------------------------------------------------------

_SPECIAL = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


def _decode_float(value: float | int | str) -> float:
    if isinstance(value, str):
        if value not in _SPECIAL:
            raise SnapshotError(f"not a metric value: {value!r}")
        return _SPECIAL[value]
    return float(value)


# ---- dump ------------------------------------------------------------------------------------


def _pairs(items: dict[str, str]) -> list[list[str]]:
    return [[key, value] for key, value in items.items()]


def _dump_experiment(e: Experiment) -> dict[str, Any]:
    return {
        "experiment_id": e.experiment_id,
        "name": e.name,
        "artifact_location": e.artifact_location,
        "lifecycle_stage": e.lifecycle_stage,
        "creation_time": e.creation_time,
        "last_update_time": e.last_update_time,
        "tags": _pairs(e.tags),
    }


def _dump_history(history: MetricHistory) -> dict[str, Any]:
    latest = history.latest
    values, timestamps, steps, tidy = history.raw()
    return {
        "values": [json_number(v) for v in values],
        "timestamps": list(timestamps),
        "steps": list(steps),
        "tidy": tidy,
        "latest": None if latest is None
        else [json_number(latest.value), latest.timestamp, latest.step],
    }


def _dump_dataset(d: Dataset) -> dict[str, Any]:
    return {
        "name": d.name, "digest": d.digest, "source_type": d.source_type,
        "source": d.source, "schema": d.schema, "profile": d.profile,
    }


def _dump_input(item: DatasetInput) -> dict[str, Any]:
    return {"dataset": _dump_dataset(item.dataset), "tags": _pairs(item.tags)}


def _dump_run(r: Run) -> dict[str, Any]:
    return {
        "run_id": r.run_id,
        "experiment_id": r.experiment_id,
        "run_name": r.run_name,
        "user_id": r.user_id,
        "status": r.status,
        "start_time": r.start_time,
        "end_time": r.end_time,
        "artifact_uri": r.artifact_uri,
        "lifecycle_stage": r.lifecycle_stage,
        "params": _pairs(r.params),
        "tags": _pairs(r.tags),
        "metrics": [[key, _dump_history(h)] for key, h in r.metrics.items()],
        "dataset_inputs": [_dump_input(item) for item in r.dataset_inputs],
        "model_inputs": list(r.model_inputs),
        "model_outputs": [[o.model_id, o.step] for o in r.model_outputs],
    }


def _dump_ids(store: TrackingStore) -> dict[str, Any]:
    ids = store.ids
    rng = getattr(ids, "_random", None)
    state = None
    if rng is not None:
        version, internal, gauss = rng.getstate()
        state = [version, list(internal), gauss]
    return {"seed": ids.seed, "random_state": state}


def dump(store: TrackingStore) -> Snapshot:
    """Everything in ``store`` as plain JSON-able data (lists, dicts, str, int, float, None)."""
    with store.lock:
        return {
            "format": FORMAT,
            "version": VERSION,
            "next_experiment_id": store.next_experiment_id,
            "ids": _dump_ids(store),
            "experiments": [_dump_experiment(e) for e in store.experiments.values()],
            "runs": [_dump_run(r) for r in store.runs.values()],
            # Datasets belong to experiments: the first logging of (name, digest) defines them.
            "datasets": [
                [experiment_id, _dump_dataset(d)]
                for (experiment_id, _, _), d in store.datasets.items()
            ],
            "artifacts": _dump_artifacts(store),
            "registry": dump_registry(store.registry),
            "logged_models": [dump_logged_model(m) for m in store.logged_models.models.values()],
            "traces": store.traces.export(),
            "trace_links": store.traces.export_links(),
            "eval_datasets": store.eval_datasets.export(),
            "scorers": store.scorers.export(),
            "issues": store.issues.export(),
            "webhooks": store.webhooks.export(),
        }


def _dump_artifacts(store: TrackingStore) -> dict[str, Any]:
    """Directories and files (base64, byte for byte) of the artifact store."""
    dirs, files = store.artifacts.items()
    return {"dirs": dirs,
            "files": [[path, base64.b64encode(f.data()).decode("ascii")] for path, f in files]}


def _load_artifacts(data: dict[str, Any]) -> tuple[list[str], list[tuple[str, bytes]]]:
    try:
        files = [(str(path), base64.b64decode(text, validate=True)) for path, text in data["files"]]
    except (binascii.Error, ValueError) as error:
        raise SnapshotError(f"malformed artifact content: {error}") from error
    return [str(d) for d in data["dirs"]], files


# ---- load ------------------------------------------------------------------------------------


def _load_experiment(data: dict[str, Any]) -> Experiment:
    return Experiment(
        data["experiment_id"], data["name"], data["artifact_location"], data["lifecycle_stage"],
        data["creation_time"], data["last_update_time"], dict(map(tuple, data["tags"])),
    )


def _load_history(data: dict[str, Any]) -> MetricHistory:
    latest = data["latest"]
    try:
        return MetricHistory.from_raw(
            (_decode_float(v) for v in data["values"]), data["timestamps"], data["steps"],
            bool(data["tidy"]),
            None if latest is None
            else MetricPoint(_decode_float(latest[0]), int(latest[1]), int(latest[2])),
        )
    except ValueError as error:
        raise SnapshotError(str(error)) from error


def _load_input(data: dict[str, Any]) -> DatasetInput:
    return DatasetInput(Dataset(**data["dataset"]), dict(map(tuple, data["tags"])))


def _load_run(data: dict[str, Any]) -> Run:
    return Run(
        run_id=data["run_id"],
        experiment_id=data["experiment_id"],
        run_name=data["run_name"],
        user_id=data["user_id"],
        status=data["status"],
        start_time=data["start_time"],
        end_time=data["end_time"],
        artifact_uri=data["artifact_uri"],
        lifecycle_stage=data["lifecycle_stage"],
        params=dict(map(tuple, data["params"])),
        tags=dict(map(tuple, data["tags"])),
        metrics={key: _load_history(h) for key, h in data["metrics"]},
        dataset_inputs=[_load_input(item) for item in data["dataset_inputs"]],
        model_inputs=list(data["model_inputs"]),
        model_outputs=[ModelOutput(model_id, step) for model_id, step in data["model_outputs"]],
    )


def _load_ids(store: TrackingStore, data: dict[str, Any]) -> None:
    """Reseed, then fast-forward the generator to where it was (unseeded stays unseeded)."""
    store.ids.reseed(data.get("seed"))
    state = data.get("random_state")
    rng = getattr(store.ids, "_random", None)
    if state is not None and rng is not None:
        version, internal, gauss = state
        rng.setstate((version, tuple(internal), gauss))


def load(store: TrackingStore, snapshot: Snapshot) -> None:
    """Replace everything in ``store`` with ``snapshot`` (from :func:`dump`), atomically.

    The snapshot is fully decoded before the store is touched, so a bad one changes nothing.
    """
    if not isinstance(snapshot, dict) or snapshot.get("format") != FORMAT:
        raise SnapshotError("not a fakeflow snapshot (missing \"format\": \"fakeflow-snapshot\")")
    if snapshot.get("version") != VERSION:
        raise SnapshotError(f"unsupported snapshot version {snapshot.get('version')!r}")
    try:
        experiments = [_load_experiment(e) for e in snapshot["experiments"]]
        runs = [_load_run(r) for r in snapshot["runs"]]
        datasets = {
            (experiment_id, d["name"], d["digest"]): Dataset(**d)
            for experiment_id, d in snapshot.get("datasets", [])
        }
        next_experiment_id = int(snapshot["next_experiment_id"])
        artifact_dirs, artifact_files = _load_artifacts(
            snapshot.get("artifacts") or {"dirs": [], "files": []}
        )
        registered_models = load_registry(snapshot.get("registry") or [])
        logged_models = {d["model_id"]: load_logged_model(d) for d in snapshot.get("logged_models") or []}
        traces = decode_traces(snapshot.get("traces") or [])
        trace_links = snapshot.get("trace_links")
        if trace_links is not None:
            trace_links = {"runs": {str(k): [str(i) for i in v]
                                    for k, v in dict(trace_links["runs"]).items()},
                           "prompts": {str(k): [str(i) for i in v]
                                       for k, v in dict(trace_links["prompts"]).items()}}
        eval_datasets = decode_eval_datasets(snapshot.get("eval_datasets") or {})
        scorers = decode_scorers(snapshot.get("scorers") or [])
        issues = decode_issues(snapshot.get("issues") or [])
        webhooks = decode_webhooks(snapshot.get("webhooks") or [])
    except (KeyError, TypeError, ValueError) as error:
        if isinstance(error, SnapshotError):
            raise
        raise SnapshotError(f"malformed snapshot: {error!r}") from error
    known = {e.experiment_id for e in experiments}
    for run in runs:
        if run.experiment_id not in known:
            raise SnapshotError(f"run {run.run_id} names unknown experiment {run.experiment_id}")
    with store.lock:
        store.reset()
        store.experiments.clear()
        store.experiment_names.clear()
        store.runs.clear()
        store.runs_by_experiment.clear()
        for experiment in experiments:
            store.experiments[experiment.experiment_id] = experiment
            store.experiment_names[experiment.name] = experiment.experiment_id
            store.runs_by_experiment[experiment.experiment_id] = []
        for run in runs:
            for item in run.dataset_inputs:  # share the experiment's dataset objects again
                key = (run.experiment_id, item.dataset.name, item.dataset.digest)
                item.dataset = datasets.setdefault(key, item.dataset)
            store.runs[run.run_id] = run
            store.runs_by_experiment[run.experiment_id].append(run.run_id)
        store.datasets.update(datasets)
        store.next_experiment_id = next_experiment_id
        store.registry.models = registered_models
        store.logged_models.models = logged_models
        store.traces.adopt(traces, trace_links)
        ed = store.eval_datasets
        ed.datasets, ed.records, ed.links = eval_datasets
        store.scorers.scorers = scorers
        store.issues.issues = issues
        store.webhooks.adopt(webhooks)
        _load_ids(store, snapshot.get("ids") or {})
        store.artifacts.clear()  # (reset cleared it too) bounds stay as configured
        for directory in artifact_dirs:
            store.artifacts.make_dirs(directory)
        for path, content in artifact_files:
            store.artifacts.restore(path, content)


def save_file(store: TrackingStore, path: str | Path) -> None:
    """Write a snapshot as strict JSON (NaN spelled ``"NaN"``); atomic via a temporary file."""
    target = Path(path)
    temporary = target.with_name(target.name + ".tmp")
    temporary.write_text(json.dumps(dump(store), allow_nan=False), encoding="utf-8")
    temporary.replace(target)


def load_file(store: TrackingStore, path: str | Path) -> None:
    load(store, json.loads(Path(path).read_text(encoding="utf-8")))


__all__ = ["FORMAT", "VERSION", "Snapshot", "SnapshotError", "dump", "load", "load_file",
           "save_file"]
