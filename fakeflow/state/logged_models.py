"""MLflow 3 logged models: a model's identity, status, tags and params, kept beside the runs.

The store shares the tracking store's lock and clock, so a logged model and the experiment it
belongs to change together; it reads experiments through the tracking store it is given.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Iterable, Sequence

from fakeflow.state.errors import MlflowError, experiment_not_active, invalid, not_found

if TYPE_CHECKING:
    from fakeflow.state.tracking import TrackingStore

ACTIVE, DELETED = "active", "deleted"

#: LoggedModelStatus names and numbers (a number without a name reads back as UNSPECIFIED).
STATUSES = (
    ("LOGGED_MODEL_STATUS_UNSPECIFIED", 0), ("LOGGED_MODEL_PENDING", 1),
    ("LOGGED_MODEL_READY", 2), ("LOGGED_MODEL_UPLOAD_FAILED", 3),
)
PENDING = "LOGGED_MODEL_PENDING"
UNSPECIFIED = "LOGGED_MODEL_STATUS_UNSPECIFIED"

MODEL_VERSIONS_TAG = "mlflow.modelVersions"
_BAD_NAME_CHARS = ("/", ":", ".", "%", '"', "'")


@dataclass
class LoggedModel:
    model_id: str
    experiment_id: str
    name: str
    artifact_location: str
    creation_timestamp: int
    last_updated_timestamp: int
    model_type: str
    source_run_id: str
    status: str = PENDING
    lifecycle_stage: str = ACTIVE
    tags: dict[str, str] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)


def model_not_found(model_id: str) -> MlflowError:
    return not_found(f"Logged model with ID '{model_id}' not found.")


def _check_name(name: str | None) -> None:
    if name is None:
        return
    if not name or any(c in name for c in _BAD_NAME_CHARS):
        raise invalid(
            f"Invalid model name ({name!r}) provided. Model name must be a non-empty string "
            f"and cannot contain the following characters: {_BAD_NAME_CHARS}"
        )


def _duplicate_key_error(table: str, key_column: str, rows: list[tuple[str, str, str, str]]) -> MlflowError:
    """MLflow's SQL store inserts every row and sqlite refuses a repeated key: its raw message."""
    shown = repr(rows[0]) if len(rows) == 1 else repr(rows)
    return MlflowError(
        f"(sqlite3.IntegrityError) UNIQUE constraint failed: {table}.model_id, {table}.{key_column}\n"
        f"[SQL: INSERT INTO {table} (model_id, experiment_id, {key_column}, "
        f"{key_column.replace('key', 'value')}) VALUES (?, ?, ?, ?)]\n[parameters: {shown}]\n"
        "(Background on this error at: https://sqlalche.me/e/21/gkpj)",
        "BAD_REQUEST",
    )


def _check_unique(table: str, key_column: str, model_id: str, experiment_id: str,
                  pairs: Sequence[tuple[str, str]], existing: Iterable[str] = ()) -> None:
    seen = set(existing)
    for key, _ in pairs:
        if key in seen:
            rows = [(model_id, experiment_id, k, v) for k, v in pairs]
            raise _duplicate_key_error(table, key_column, rows)
        seen.add(key)


class LoggedModelStore:
    """Logged models by id; every method takes the shared lock."""

    def __init__(self, tracking: "TrackingStore") -> None:
        self.tracking = tracking
        self.lock = tracking.lock
        self.models: dict[str, LoggedModel] = {}
        # A version registered from a logged model is recorded in the model's tags.
        tracking.registry.on_version_from_logged_model = self.link_model_version

    def reset(self) -> None:
        with self.lock:
            self.models = {}

    def create(self, experiment_id: str, name: str | None, model_type: str, source_run_id: str,
               params: Sequence[tuple[str, str]], tags: Sequence[tuple[str, str]]) -> LoggedModel:
        _check_name(name)
        with self.lock:
            experiment = self.tracking.get_experiment(experiment_id)
            if experiment.lifecycle_stage != ACTIVE:
                raise experiment_not_active(experiment.experiment_id)
            ids = self.tracking.ids
            model_id = f"m-{ids.hex_id()}"
            exp_id = experiment.experiment_id
            _check_unique("logged_model_params", "param_key", model_id, exp_id, params)
            _check_unique("logged_model_tags", "tag_key", model_id, exp_id, tags)
            now = self.tracking.clock.now_ms()
            location = experiment.artifact_location.rstrip("/") + f"/models/{model_id}/artifacts"
            model = LoggedModel(
                model_id, exp_id, name or ids.run_name(), location, now, now, model_type,
                source_run_id, tags=dict(tags), params=dict(params),
            )
            self.models[model_id] = model
            return model

    def _model(self, model_id: str, allow_deleted: bool = True) -> LoggedModel:
        model = self.models.get(model_id)
        if model is None or (not allow_deleted and model.lifecycle_stage == DELETED):
            raise model_not_found(model_id)
        return model

    def get(self, model_id: str, allow_deleted: bool = False) -> LoggedModel:
        with self.lock:
            return self._model(model_id, allow_deleted)

    def find(self, model_id: str) -> LoggedModel | None:
        """Any model with this id, deleted or not (source checks and artifact routes)."""
        with self.lock:
            return self.models.get(model_id)

    def finalize(self, model_id: str, status: str) -> LoggedModel:
        with self.lock:
            model = self._model(model_id)
            model.status = status
            model.last_updated_timestamp = self.tracking.clock.now_ms()
            return model

    def delete(self, model_id: str) -> None:
        with self.lock:
            model = self._model(model_id)
            model.lifecycle_stage = DELETED
            model.last_updated_timestamp = self.tracking.clock.now_ms()

    def set_tags(self, model_id: str, tags: Sequence[tuple[str, str]]) -> None:
        with self.lock:
            self._model(model_id).tags.update(tags)

    def delete_tag(self, model_id: str, key: str) -> None:
        with self.lock:
            model = self._model(model_id)
            if key not in model.tags:
                raise not_found(f"No tag with key {key!r} found for model with ID {model_id!r}.")
            del model.tags[key]

    def log_params(self, model_id: str, params: Sequence[tuple[str, str]]) -> None:
        with self.lock:
            model = self._model(model_id)
            _check_unique("logged_model_params", "param_key", model_id, model.experiment_id,
                          params, model.params)
            model.params.update(params)

    def link_model_version(self, model_id: str, name: str, version: int) -> None:
        """Append ``{name, version}`` to the model's ``mlflow.modelVersions`` tag (JSON list)."""
        with self.lock:
            model = self._model(model_id, allow_deleted=False)
            entry = {"name": name, "version": version}
            linked = json.loads(model.tags.get(MODEL_VERSIONS_TAG, "[]"))
            if entry not in linked:
                linked.append(entry)
            model.tags[MODEL_VERSIONS_TAG] = json.dumps(linked)

    def search(self, experiment_ids: list[str], filter_string: str | None, max_results: int | None,
               order_by: list[dict] | None, page_token: str | None) -> tuple[list[LoggedModel], str | None]:
        """Live models of the experiments that pass the filter, one page of them."""
        from fakeflow.search import logged_models as search

        for experiment_id in experiment_ids:
            if not experiment_id.isdigit():
                raise search.unsupported(f"experiment id {experiment_id!r}")
        offset = 0
        if page_token:
            offset = search.decode_offset(page_token, experiment_ids, filter_string, order_by)
        comparisons = search.parse_filter(filter_string)
        fields = search.order_key(order_by or [])
        wanted = {str(int(e)) for e in experiment_ids}
        limit = max_results or 100
        with self.lock:
            found = [
                m for m in self.models.values()
                if m.lifecycle_stage == ACTIVE and m.experiment_id in wanted
                and search.matches(m, comparisons)
            ]
            page = search.sort_models(found, fields)[offset:offset + limit + 1]
        token = None
        if len(page) > limit:
            token = search.encode_token(experiment_ids, filter_string, order_by, offset + limit)
        return page[:limit], token
