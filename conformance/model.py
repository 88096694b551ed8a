"""The suites' own reference model of MLflow 3.17.2 tracking semantics.

Written from the specification (real MLflow's observable behaviour), deliberately independent
of ``fakeflow.state``: the fake must never be checked against itself. It holds only what the
suites need to predict answers; server-chosen values (ids, clocks, random run names) are
learned from the target's answers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

DOUBLE_MAX = 1.7976931348623157e308
PARAM_VALUE_LIMIT = 6000
RUN_TAG_VALUE_LIMIT = 8000
RUN_NAME_TAG = "mlflow.runName"
STATUSES = ("RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED")


def stored_value(value: float) -> float:
    """What the server keeps for a logged double: infinities are clamped."""
    if math.isinf(value):
        return DOUBLE_MAX if value > 0 else -DOUBLE_MAX
    return value


def wire_value(value: float) -> Any:
    return "NaN" if math.isnan(value) else value


def request_value(value: float) -> Any:
    """How the real client sends a double: non-finite values as strings."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return value


def sort_value(value: float) -> float:
    """NaN takes part in latest/history ordering as 0."""
    return 0.0 if math.isnan(value) else value


@dataclass(frozen=True)
class Point:
    value: float
    timestamp: int
    step: int

    def identity(self) -> tuple[Any, ...]:
        return ("NaN" if math.isnan(self.value) else self.value, self.timestamp, self.step)

    def to_json(self, key: str) -> dict[str, Any]:
        return {"key": key, "value": wire_value(self.value), "timestamp": self.timestamp,
                "step": self.step}


@dataclass
class Experiment:
    symbol: str
    name: str
    experiment_id: str = ""
    artifact_location: str = ""
    lifecycle_stage: str = "active"
    tags: dict[str, str] = field(default_factory=dict)
    creation_time: int = 0
    last_update_time: int = 0

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "experiment_id": self.experiment_id, "name": self.name,
            "artifact_location": self.artifact_location, "lifecycle_stage": self.lifecycle_stage,
            "last_update_time": self.last_update_time, "creation_time": self.creation_time,
        }
        if self.tags:
            out["tags"] = [{"key": k, "value": v} for k, v in self.tags.items()]
        out["workspace"] = "default"
        return out


@dataclass
class Run:
    symbol: str
    experiment: Experiment
    run_id: str = ""
    run_name: str = ""
    user_id: str = ""
    status: str = "RUNNING"
    start_time: int = 0
    end_time: int = 0
    lifecycle_stage: str = "active"
    params: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    history: dict[str, list[Point]] = field(default_factory=dict)

    @property
    def artifact_uri(self) -> str:
        return f"{self.experiment.artifact_location}/{self.run_id}/artifacts"

    def log_metric(self, key: str, point: Point) -> None:
        points = self.history.setdefault(key, [])
        if all(p.identity() != point.identity() for p in points):
            points.append(point)

    def latest(self, key: str) -> Point | None:
        points = self.history.get(key)
        if not points:
            return None
        return max(points, key=lambda p: (p.step, p.timestamp, sort_value(p.value)))

    def sorted_history(self, key: str) -> list[Point]:
        return sorted(self.history.get(key, []),
                      key=lambda p: (p.timestamp, p.step, sort_value(p.value)))

    def set_tag(self, key: str, value: str) -> None:
        value = value[:RUN_TAG_VALUE_LIMIT]
        if key == RUN_NAME_TAG:
            if not value:
                return
            self.run_name = value
        self.tags[key] = value

    def info_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "run_uuid": self.run_id, "experiment_id": self.experiment.experiment_id,
            "run_name": self.run_name, "user_id": self.user_id, "status": self.status,
            "start_time": self.start_time,
        }
        if self.end_time:
            out["end_time"] = self.end_time
        out.update({"artifact_uri": self.artifact_uri, "lifecycle_stage": self.lifecycle_stage,
                    "run_id": self.run_id})
        return out

    def data_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {}
        metrics = [self.latest(k).to_json(k) for k in self.history if self.latest(k)]
        if metrics:
            data["metrics"] = metrics
        if self.params:
            data["params"] = [{"key": k, "value": v} for k, v in self.params.items()]
        if self.tags:
            data["tags"] = [{"key": k, "value": v} for k, v in self.tags.items()]
        return data

    def to_json(self, view: str = "get") -> dict[str, Any]:
        """``view``: ``create`` (no outputs key), ``get`` and ``search`` (inputs and outputs)."""
        out: dict[str, Any] = {"info": self.info_json(), "data": self.data_json(), "inputs": {}}
        if view != "create":
            out["outputs"] = {}
        return out


class TrackingModel:
    """Experiments and runs created by one example (the server may hold many others)."""

    def __init__(self) -> None:
        self.experiments: dict[str, Experiment] = {}
        self.runs: dict[str, Run] = {}

    def names_in_use(self) -> set[str]:
        return {e.name for e in self.experiments.values()}

    def delete_experiment(self, exp: Experiment) -> None:
        exp.lifecycle_stage = "deleted"
        for run in self.runs_of(exp):
            run.lifecycle_stage = "deleted"

    def restore_experiment(self, exp: Experiment) -> None:
        exp.lifecycle_stage = "active"
        for run in self.runs_of(exp):
            run.lifecycle_stage = "active"

    def runs_of(self, exp: Experiment) -> list[Run]:
        return [r for r in self.runs.values() if r.experiment is exp]


# 3.17 error bodies carry sqlstate and error_class, derived from error_code.
ERROR_CLASSES: dict[str, tuple[str, str]] = {
    "INVALID_PARAMETER_VALUE": ("KAM00", "INVALID_PARAMETER_VALUE"),
    "BAD_REQUEST": ("KAM00", "INVALID_PARAMETER_VALUE"),
    "RESOURCE_DOES_NOT_EXIST": ("KAM00", "RESOURCE_NOT_FOUND"),
    "NOT_FOUND": ("KAM00", "RESOURCE_NOT_FOUND"),
    "ENDPOINT_NOT_FOUND": ("KAM00", "RESOURCE_NOT_FOUND"),
    "RESOURCE_ALREADY_EXISTS": ("KAM00", "RESOURCE_ALREADY_EXISTS"),
    "PERMISSION_DENIED": ("KAM00", "PERMISSION_DENIED"),
    "INTERNAL_ERROR": ("XXM00", "CLIENT_INTERNAL_ERROR"),
    "INVALID_STATE": ("XXM00", "CLIENT_INTERNAL_ERROR"),
    "TEMPORARILY_UNAVAILABLE": ("XXM00", "CLIENT_INTERNAL_ERROR"),
}


def error_body(error_code: str, message: str | None) -> dict[str, Any]:
    """The expected error body; ``message`` None leaves the message uncompared."""
    body: dict[str, Any] = {"error_code": error_code}
    if message is not None:
        body["message"] = message
    if error_code in ERROR_CLASSES:
        body["sqlstate"], body["error_class"] = ERROR_CLASSES[error_code]
    return body


def deleted_run_message(run_id: str) -> str:
    return f"The run {run_id} must be in the 'active' state. Current state is deleted."


def deleted_experiment_message(experiment_id: str) -> str:
    return (f"The experiment {experiment_id} must be in the 'active' state. "
            "Current state is deleted.")


def missing_param_message(name: str) -> str:
    return (f"Missing value for required parameter '{name}'. See the API docs for more "
            "information about request parameters.")
