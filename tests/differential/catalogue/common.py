"""Small step builders shared by the catalogue modules."""

from __future__ import annotations

from typing import Any

from ..model import Step, get, post

TS = 1_700_000_000_000  # a fixed client-side timestamp base (ms)


def new_experiment(var: str, name: str = "${p}", note: str = "", pause: float = 0.0,
                   **body: Any) -> Step:
    """Create an experiment and capture its id as ``${var}``.

    ``pause`` separates creation times where a case relies on the default
    ``creation_time DESC`` order (ties would fall back to id order on one side only).
    """
    return post(
        "experiments/create", {"name": name, **body}, capture={var: "experiment_id"}, note=note,
        pause=pause,
    )


def new_run(var: str, exp_var: str, note: str = "", **body: Any) -> Step:
    """Create a run in ``${exp_var}`` and capture its id as ``${var}``."""
    return post(
        "runs/create", {"experiment_id": "${%s}" % exp_var, **body},
        capture={var: "run.info.run_id"}, note=note,
    )


def get_run(var: str, **kw: Any) -> Step:
    return get("runs/get", {"run_id": "${%s}" % var}, **kw)


def get_experiment(var: str, **kw: Any) -> Step:
    return get("experiments/get", {"experiment_id": "${%s}" % var}, **kw)


def metric(run_var: str, key: str, value: Any, timestamp: Any = TS, step: Any = 0, **kw: Any) -> Step:
    body = {"run_id": "${%s}" % run_var, "key": key, "value": value, "timestamp": timestamp}
    if step is not None:
        body["step"] = step
    return post("runs/log-metric", body, **kw)


def history(run_var: str, key: str, **fields: Any) -> Step:
    query, options = split_options(fields)
    return get(
        "metrics/get-history", {"run_id": "${%s}" % run_var, "metric_key": key, **query}, **options
    )


STEP_OPTIONS = ("capture", "note", "relax", "headers", "content_type", "pause")


def split_options(fields: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Separate Step options from request-body fields in a helper's keyword arguments."""
    options = {k: fields.pop(k) for k in STEP_OPTIONS if k in fields}
    return fields, options
