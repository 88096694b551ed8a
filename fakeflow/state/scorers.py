"""Registered scorers (MLflow GenAI): named, versioned scorer definitions per experiment.

A scorer is the pair (experiment, name) with an id; each registration of that name adds a
version numbered one past the highest version still held (so deleting the newest version and
registering again reuses its number, as in MLflow). Deleting one version keeps the scorer
itself; deleting without a version removes the scorer and all its versions. The serialized
scorer is opaque JSON text, kept as sent. Shares the tracking store's lock and clock.
"""

from __future__ import annotations

import copy
import json
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterable

from fakeflow.state.errors import MlflowError, experiment_not_active, invalid, not_found

if TYPE_CHECKING:
    from fakeflow.state.tracking import TrackingStore

_MODEL_HOLDERS = ("instructions_judge_pydantic_data", "builtin_scorer_pydantic_data")


@dataclass
class ScorerVersion:
    experiment_id: str
    scorer_id: str
    name: str
    version: int
    serialized_scorer: str
    creation_time: int


@dataclass
class Scorer:
    experiment_id: str
    name: str
    scorer_id: str
    versions: dict[int, ScorerVersion] = field(default_factory=dict)


def check_name(name: str) -> None:
    if not name.strip():
        raise invalid("Scorer name cannot be empty or contain only whitespace.")


def scorer_model(data: Any) -> Any:
    """The judge model a serialized scorer names (MLflow looks in a few known places)."""
    for key in _MODEL_HOLDERS:
        holder = data.get(key)
        if holder:
            return holder.get("model")
    memory = data.get("memory_augmented_judge_data")
    if memory:
        return scorer_model(memory.get("base_judge", {}))
    third_party = data.get("third_party_scorer_data")
    if third_party:
        return third_party.get("model")
    return None


def check_model(model: Any) -> None:
    if model is None:
        return
    if not isinstance(model, str):
        raise invalid(f"Scorer model must be a string, got {type(model).__name__}.")
    if not model.strip():
        raise invalid("Scorer model cannot be empty or contain only whitespace.")
    provider = model.split(":/", 1)[0] if ":/" in model else None
    if provider == "gateway":  # fakeflow hosts no AI gateway: no endpoint exists by any name
        endpoint = model.split(":/", 1)[1]
        raise not_found(f"GatewayEndpoint not found (name='{endpoint}')")


def _sort_key(scorer: ScorerVersion) -> tuple[int, bytes]:
    return int(scorer.experiment_id), scorer.name.encode("utf-8")


class ScorerStore:
    """Scorers by (experiment id, name); every method takes the shared lock."""

    def __init__(self, tracking: "TrackingStore") -> None:
        self.tracking = tracking
        self.lock = tracking.lock
        self.scorers: dict[tuple[str, str], Scorer] = {}

    def reset(self) -> None:
        with self.lock:
            self.scorers = {}

    def _active_experiment_id(self, experiment_id: str) -> str:
        experiment = self.tracking.get_experiment(experiment_id)
        if experiment.lifecycle_stage != "active":
            raise experiment_not_active(experiment.experiment_id)
        return experiment.experiment_id

    def _scorer(self, experiment_id: str, name: str, asked: str) -> Scorer:
        scorer = self.scorers.get((experiment_id, name))
        if scorer is None:
            raise not_found(f"Scorer with name '{name}' not found for experiment {asked}.")
        return scorer

    def register(self, experiment_id: str, name: str, serialized: str) -> ScorerVersion:
        check_name(name)
        with self.lock:
            eid = self._active_experiment_id(experiment_id)
            data = json.loads(serialized)
            try:
                model = scorer_model(data)
            except AttributeError:  # not a JSON object: MLflow's lookup fails the same way
                raise MlflowError(f"'{type(data).__name__}' object has no attribute 'get'",
                                  "INTERNAL_ERROR") from None
            check_model(model)
            scorer = self.scorers.get((eid, name))
            if scorer is None:
                scorer = Scorer(eid, name, str(uuid.UUID(self.tracking.ids.hex_id())))
                self.scorers[(eid, name)] = scorer
            number = max(scorer.versions, default=0) + 1
            version = ScorerVersion(eid, scorer.scorer_id, name, number, serialized,
                                    self.tracking.clock.now_ms())
            scorer.versions[number] = version
            return copy.deepcopy(version)

    def list_latest(self, experiment_id: str) -> list[ScorerVersion]:
        with self.lock:
            return self._latest([self._active_experiment_id(experiment_id)])

    def list_latest_in(self, experiment_ids: Iterable[str]) -> list[ScorerVersion]:
        """Across experiments, active ones only (unknown ids are skipped)."""
        with self.lock:
            active = [e.experiment_id for e in self.tracking.experiments.values()
                      if e.lifecycle_stage == "active"]
            wanted = set(str(int(e)) for e in experiment_ids)
            return self._latest([e for e in active if e in wanted])

    def list_all_active(self) -> list[ScorerVersion]:
        with self.lock:
            return self._latest([e.experiment_id for e in self.tracking.experiments.values()
                                 if e.lifecycle_stage == "active"])

    def _latest(self, experiment_ids: list[str]) -> list[ScorerVersion]:
        wanted = set(experiment_ids)
        found = [copy.deepcopy(s.versions[max(s.versions)]) for (eid, _), s in
                 self.scorers.items() if eid in wanted and s.versions]
        return sorted(found, key=_sort_key)

    def versions(self, experiment_id: str, name: str) -> list[ScorerVersion]:
        with self.lock:
            scorer = self._scorer(self._active_experiment_id(experiment_id), name, experiment_id)
            if not scorer.versions:
                raise not_found(
                    f"Scorer with name '{name}' not found for experiment {experiment_id}.")
            return [copy.deepcopy(scorer.versions[v]) for v in sorted(scorer.versions)]

    def get(self, experiment_id: str, name: str, version: int | None) -> ScorerVersion:
        with self.lock:
            scorer = self._scorer(self._active_experiment_id(experiment_id), name, experiment_id)
            if version is not None and version not in scorer.versions:
                raise not_found(f"Scorer with name '{name}' and version {version} not found for "
                                f"experiment {experiment_id}.")
            if not scorer.versions:
                raise not_found(
                    f"Scorer with name '{name}' not found for experiment {experiment_id}.")
            return copy.deepcopy(scorer.versions[version if version is not None
                                                 else max(scorer.versions)])

    def delete(self, experiment_id: str, name: str, version: int | None) -> None:
        with self.lock:
            eid = self._active_experiment_id(experiment_id)
            scorer = self._scorer(eid, name, experiment_id)
            if version is not None:
                if version not in scorer.versions:
                    raise not_found(f"Scorer with name '{name}' and version {version} not found "
                                    f"for experiment {experiment_id}.")
                del scorer.versions[version]
                return
            if not scorer.versions:
                raise not_found(
                    f"Scorer with name '{name}' not found for experiment {experiment_id}.")
            del self.scorers[(eid, name)]

    # ---- snapshots -----------------------------------------------------------------------

    def export(self) -> list[dict[str, Any]]:
        from dataclasses import asdict

        with self.lock:
            return [{"experiment_id": s.experiment_id, "name": s.name, "scorer_id": s.scorer_id,
                     "versions": [asdict(v) for v in s.versions.values()]}
                    for s in self.scorers.values()]


def decode_scorers(rows: list[dict[str, Any]]) -> dict[tuple[str, str], Scorer]:
    """Scorers from :meth:`ScorerStore.export` rows; KeyError/TypeError if malformed."""
    scorers = {}
    for row in rows:
        versions = {v["version"]: ScorerVersion(**v) for v in row.get("versions", [])}
        scorers[(row["experiment_id"], row["name"])] = Scorer(
            row["experiment_id"], row["name"], row["scorer_id"], versions)
    return scorers
