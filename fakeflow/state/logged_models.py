"""MLflow 3 logged models: a model's identity, status, tags and params, kept beside the runs.

The store shares the tracking store's lock and clock, so a logged model and the experiment it
belongs to change together; it reads experiments through the tracking store it is given.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterable, NamedTuple, Sequence

from fakeflow.state.errors import MlflowError, experiment_not_active, invalid, not_found
from fakeflow.state.validation import parse_experiment_id

if TYPE_CHECKING:
    from fakeflow.state.tracking import TrackingStore

ACTIVE, DELETED = "active", "deleted"
_LARGEST = 1.7976931348623157e308

#: LoggedModelStatus names and numbers (a number without a name reads back as UNSPECIFIED).
STATUSES = (
    ("LOGGED_MODEL_STATUS_UNSPECIFIED", 0), ("LOGGED_MODEL_PENDING", 1),
    ("LOGGED_MODEL_READY", 2), ("LOGGED_MODEL_UPLOAD_FAILED", 3),
)
PENDING = "LOGGED_MODEL_PENDING"
_STATUS_NUMBERS = dict(STATUSES)


def status_number(status: str) -> int:
    """The integer MLflow stores for a status name (its search compares that column)."""
    return _STATUS_NUMBERS.get(status, 0)

UNSPECIFIED = "LOGGED_MODEL_STATUS_UNSPECIFIED"

MODEL_VERSIONS_TAG = "mlflow.modelVersions"
_BAD_NAME_CHARS = ("/", ":", ".", "%", '"', "'")


class ModelMetric(NamedTuple):
    """One row of MLflow's ``logged_model_metrics`` table, in its column order."""

    model_id: str
    key: str
    timestamp: int
    step: int
    value: float
    experiment_id: int
    run_id: str
    dataset_uuid: None
    dataset_name: str | None
    dataset_digest: str | None

    @property
    def primary_key(self) -> tuple[str, str, int, int, str]:
        return (self.model_id, self.key, self.timestamp, self.step, self.run_id)


_METRIC_COLUMNS = ("model_id, metric_name, metric_timestamp_ms, metric_step, metric_value, "
                   "experiment_id, run_id, dataset_uuid, dataset_name, dataset_digest")
_METRIC_PK = ", ".join(f"logged_model_metrics.{c}" for c in (
    "model_id", "metric_name", "metric_timestamp_ms", "metric_step", "run_id"))


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
    #: Metrics logged with this model's id by primary key, in logging order (MLflow lists
    #: them so).
    metrics: dict[tuple, ModelMetric] = field(default_factory=dict)


def dump_logged_model(model: LoggedModel) -> dict[str, Any]:
    """A model as snapshot JSON: its metrics as a list of rows (their keys are tuples)."""
    data = {k: v for k, v in vars(model).items() if k != "metrics"}
    data["tags"], data["params"] = dict(model.tags), dict(model.params)
    data["metrics"] = [list(row) for row in model.metrics.values()]
    return data


def load_logged_model(data: dict[str, Any]) -> LoggedModel:
    """The inverse of ``dump_logged_model``; raises KeyError/TypeError/ValueError on bad data."""
    fields = dict(data)
    rows = [ModelMetric(*row) for row in fields.pop("metrics", None) or []]
    model = LoggedModel(**fields)
    model.metrics = {row.primary_key: row for row in rows}
    return model


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


def _sql_value(value: Any) -> str:
    """SQLAlchemy shows a bound value as its repr, cut in the middle beyond 300 characters."""
    rep = repr(value)
    if len(rep) > 300:
        rep = rep[:150] + f" ... ({len(rep) - 300} characters truncated) ... " + rep[-150:]
    return rep


def _sql_row(row: Sequence[Any]) -> str:
    return "(" + ", ".join(_sql_value(v) for v in row) + ("," if len(row) == 1 else "") + ")"


def sql_parameters(rows: Sequence[Sequence[Any]]) -> str:
    """The ``[parameters: ...]`` text of an INSERT: one row as a tuple, several as a list of
    which SQLAlchemy shows the first eight and the last two beyond ten."""
    if len(rows) == 1:
        return _sql_row(rows[0])
    if len(rows) <= 10:
        return "[" + ", ".join(_sql_row(r) for r in rows) + "]"
    head = "[" + ", ".join(_sql_row(r) for r in rows[:8])
    tail = ", ".join(_sql_row(r) for r in rows[-2:]) + "]"
    return f"{head}  ... displaying 10 of {len(rows)} total bound parameter sets ...  {tail}"


def integrity_error(failure: str, table: str, columns: str, rows: Sequence[Sequence[Any]]) -> MlflowError:
    """sqlite's refusal of an INSERT as MLflow's SQL store passes it on, raw text and all."""
    marks = ", ".join("?" * len(columns.split(", ")))
    return MlflowError(
        f"(sqlite3.IntegrityError) {failure}\n"
        f"[SQL: INSERT INTO {table} ({columns}) VALUES ({marks})]\n"
        f"[parameters: {sql_parameters(rows)}]\n"
        "(Background on this error at: https://sqlalche.me/e/21/gkpj)",
        "BAD_REQUEST",
    )


def _duplicate_key_error(table: str, key_column: str, rows: list[tuple[str, str, str, str]]) -> MlflowError:
    """MLflow's SQL store inserts every row and sqlite refuses a repeated key: its raw message."""
    columns = f"model_id, experiment_id, {key_column}, {key_column.replace('key', 'value')}"
    return integrity_error(f"UNIQUE constraint failed: {table}.model_id, {table}.{key_column}",
                           table, columns, rows)


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

    def log_metrics(self, run_id: str, experiment_id: str, metrics: Iterable[Any]) -> None:
        """Record the metrics that name a model (the caller holds the lock, has checked the run
        and validated the metrics; each has key, value, timestamp, step, model_id, dataset_name
        and dataset_digest).

        MLflow inserts the rows in one statement; when sqlite refuses it (a repeated primary
        key, or a model id it does not know: deleted models still count), it drops the rows
        equal to ones already stored and tries once more; a second refusal is the answer.
        NaN is stored as 0 and infinities as the largest double."""
        rows: list[ModelMetric] = []
        seen: set[tuple] = set()
        for m in metrics:
            if not m.model_id:
                continue
            value = float(m.value)
            identity = (m.key, object() if math.isnan(value) else value, m.timestamp, m.step,
                        m.model_id, m.dataset_name or None, m.dataset_digest or None)
            if identity in seen:
                continue
            seen.add(identity)
            stored = 0.0 if math.isnan(value) else max(min(value, _LARGEST), -_LARGEST)
            rows.append(ModelMetric(m.model_id, m.key, m.timestamp, m.step, stored,
                                    int(experiment_id), run_id, None, m.dataset_name or None,
                                    m.dataset_digest or None))
        if not rows:
            return
        if self._refusal(rows) is not None:
            rows = [r for r in rows if not self._stored(r)]
            refusal = self._refusal(rows)
            if refusal is not None:
                raise integrity_error(refusal, "logged_model_metrics", _METRIC_COLUMNS, rows)
        for row in rows:
            self.models[row.model_id].metrics[row.primary_key] = row

    def _stored(self, row: ModelMetric) -> bool:
        model = self.models.get(row.model_id)
        return model is not None and model.metrics.get(row.primary_key) == row

    def _refusal(self, rows: Sequence[ModelMetric]) -> str | None:
        """What sqlite says about inserting ``rows`` in order: the first row whose key is
        taken fails as UNIQUE, the first with no such model as FOREIGN KEY."""
        keys: set[tuple] = set()
        for row in rows:
            model = self.models.get(row.model_id)
            taken = row.primary_key in keys or (model is not None and row.primary_key in model.metrics)
            if taken:
                return f"UNIQUE constraint failed: {_METRIC_PK}"
            if model is None:
                return "FOREIGN KEY constraint failed"
            keys.add(row.primary_key)
        return None

    def link_model_version(self, model_id: str, name: str, version: int) -> None:
        """Append ``{name, version}`` to the model's ``mlflow.modelVersions`` tag (JSON list)."""
        with self.lock:
            model = self._model(model_id, allow_deleted=False)
            entry = {"name": name, "version": version}
            linked = json.loads(model.tags.get(MODEL_VERSIONS_TAG, "[]"))
            if entry not in linked:
                linked.append(entry)
            model.tags[MODEL_VERSIONS_TAG] = json.dumps(linked)

    def search(self, experiment_ids: list[str], filter_string: str | None,
               datasets: list[dict[str, Any]] | None, max_results: int | None,
               order_by: list[dict] | None, page_token: str | None,
               ) -> tuple[list[LoggedModel], str | None]:
        """Live models of the experiments that pass the filter, one page of them; checks and
        errors in MLflow's order (fakeflow.search.logged_models)."""
        from fakeflow.search import logged_models as search

        if datasets and not all(d.get("dataset_name") for d in datasets):
            raise invalid("`dataset_name` in the `datasets` clause must be specified.")
        offset = 0
        if page_token:
            offset = search.decode_offset(page_token, experiment_ids, filter_string, order_by)
        comparisons = search.parse_filter(filter_string)
        search.check_comparisons(comparisons)
        wanted = {str(parse_experiment_id(e)) for e in experiment_ids}
        keys = search.order_keys(order_by)
        search.check_bindings(comparisons)
        filters = [search.DatasetFilter(d["dataset_name"], d.get("dataset_digest") or None)
                   for d in datasets or []]
        limit = max_results or search.DEFAULT_MAX_RESULTS
        with self.lock:
            found = [
                m for m in self.models.values()
                if m.lifecycle_stage == ACTIVE and m.experiment_id in wanted
                and search.matches(m, comparisons, filters)
            ]
            rows, more = search.page(search.sort_models(found, keys), offset, limit)
        token = None
        if more:
            token = search.encode_token(experiment_ids, filter_string, order_by, offset + limit)
        return rows, token
