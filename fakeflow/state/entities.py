"""The tracking entities as plain Python objects: what the store keeps and search reads.

Ordering of dicts is MLflow's observed order (first insertion; an overwritten tag keeps its place).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from fakeflow.state.metric_history import MetricHistory, MetricPoint

ACTIVE = "active"
DELETED = "deleted"

RUN_STATUSES = ("RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED")


@dataclass(slots=True)
class Experiment:
    experiment_id: str
    name: str
    artifact_location: str
    lifecycle_stage: str
    creation_time: int
    last_update_time: int
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class Dataset:
    name: str
    digest: str = ""
    source_type: str = ""
    source: str = ""
    schema: str = ""
    profile: str = ""


@dataclass(slots=True)
class DatasetInput:
    dataset: Dataset
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class ModelOutput:
    model_id: str
    step: int


@dataclass(slots=True)
class Run:
    run_id: str
    experiment_id: str
    run_name: str
    user_id: str
    status: str
    start_time: int
    end_time: int | None
    artifact_uri: str
    lifecycle_stage: str
    params: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, MetricHistory] = field(default_factory=dict)
    dataset_inputs: list[DatasetInput] = field(default_factory=list)
    model_inputs: list[str] = field(default_factory=list)
    model_outputs: list[ModelOutput] = field(default_factory=list)
    #: Bumped by the store on every change; lets readers cache what they derive from a run.
    revision: int = 0

    def latest_metrics(self) -> dict[str, MetricPoint]:
        """Key -> latest point, in first-logged order."""
        return {key: h.latest for key, h in self.metrics.items() if h.latest is not None}
