"""The tracking store: experiments, runs and everything logged to them, behind one lock.

Every public method is atomic (one re-entrant lock) and raises ``MlflowError`` exactly where
MLflow 3.17.2's SQL store fails, in the same order of checks.
"""

from __future__ import annotations

import json
import threading
from typing import Collection, Iterable, Sequence

from fakeflow.search.paging import decode_offset_token, page_bounds
from fakeflow.state import validation as v
from fakeflow.state.entities import (
    ACTIVE,
    DELETED,
    Dataset,
    DatasetInput,
    Experiment,
    ModelOutput,
    Run,
)
from fakeflow.state.errors import (
    BAD_REQUEST,
    INVALID_STATE,
    RESOURCE_ALREADY_EXISTS,
    RESOURCE_DOES_NOT_EXIST,
    MlflowError,
    experiment_not_active,
    experiment_not_found,
    invalid,
    run_not_active,
    run_not_found,
)
from fakeflow.state.ids import Clock, IdFactory
from fakeflow.state.logged_models import LoggedModelStore
from fakeflow.state.metric_history import HistoryWindow, MetricHistory

RUN_NAME_TAG = "mlflow.runName"
LOGGED_MODELS_TAG = "mlflow.log-model.history"
DEFAULT_EXPERIMENT_ID = "0"
DEFAULT_EXPERIMENT_NAME = "Default"
MAX_RESULTS_PER_RUN_BULK = 2500

KeyValue = tuple[str, str]


class MetricInput(tuple):
    """(key, value, timestamp, step, model_id, dataset_name, dataset_digest) as the web layer
    hands metrics over ("" = none)."""

    __slots__ = ()

    def __new__(cls, key: str, value: float, timestamp: int, step: int = 0, model_id: str = "",
                dataset_name: str = "", dataset_digest: str = ""):
        return super().__new__(cls, (key, value, timestamp, step, model_id, dataset_name,
                                     dataset_digest))

    key = property(lambda self: self[0])
    value = property(lambda self: self[1])
    timestamp = property(lambda self: self[2])
    step = property(lambda self: self[3])
    model_id = property(lambda self: self[4])
    dataset_name = property(lambda self: self[5])
    dataset_digest = property(lambda self: self[6])


class TrackingStore:
    """In-memory equivalent of MLflow's SQL tracking store."""

    def __init__(self, clock: Clock | None = None, ids: IdFactory | None = None) -> None:
        self.lock = threading.RLock()
        self.clock = clock or Clock()
        self.ids = ids or IdFactory()
        #: Changes whenever the whole state is replaced, so caches of it can tell.
        self.generation = 0
        from fakeflow.state.registry import RegistryStore
        from fakeflow.state.registry_sources import TrackingLookups

        #: The model registry shares this store's lock and clock; its sources refer to runs.
        self.registry = RegistryStore(self.lock, self.clock, TrackingLookups(self))
        from fakeflow.state.artifacts import ArtifactStore

        #: Artifact files (their own lock; MLflow keeps them apart from the database too).
        self.artifacts = ArtifactStore()
        self.logged_models = LoggedModelStore(self)  # MLflow 3 logged models, same lock
        from fakeflow.state.traces import TraceStore

        self.traces = TraceStore(self)  # MLflow 3 traces and assessments, same lock
        from fakeflow.state.eval_datasets import EvalDatasetStore

        self.eval_datasets = EvalDatasetStore(self)  # GenAI evaluation datasets, same lock
        from fakeflow.state.scorers import ScorerStore

        self.scorers = ScorerStore(self)  # registered GenAI scorers, same lock
        from fakeflow.state.issues import IssueStore

        self.issues = IssueStore(self)  # GenAI issues found in traces, same lock
        from fakeflow.state.webhooks import WebhookStore

        self.webhooks = WebhookStore(self)  # model-registry webhooks and their deliveries
        self.reset()

    # ---- lifecycle of the whole store -------------------------------------------------------

    def reset(self, seed: int | None = None) -> None:
        """Forget everything; recreate the Default experiment as a fresh server has it."""
        with self.lock:
            if seed is not None:
                self.ids.reseed(seed)
            self.generation += 1
            self.experiments: dict[str, Experiment] = {}
            self.experiment_names: dict[str, str] = {}
            self.runs: dict[str, Run] = {}
            self.runs_by_experiment: dict[str, list[str]] = {}
            self.datasets: dict[tuple[str, str, str], Dataset] = {}
            self.next_experiment_id = 1
            self.registry.reset()
            self.logged_models.reset()
            self.traces.reset()
            self.eval_datasets.reset()
            self.scorers.reset()
            self.issues.reset()
            self.webhooks.reset()
            self.artifacts.clear()
            now = self.clock.now_ms()
            self._add_experiment(
                Experiment(DEFAULT_EXPERIMENT_ID, DEFAULT_EXPERIMENT_NAME, "mlflow-artifacts:/0",
                           ACTIVE, now, now)
            )

    def _add_experiment(self, experiment: Experiment) -> None:
        self.experiments[experiment.experiment_id] = experiment
        self.experiment_names[experiment.name] = experiment.experiment_id
        self.runs_by_experiment.setdefault(experiment.experiment_id, [])

    # ---- experiments --------------------------------------------------------------------------

    def create_experiment(
        self, name: str, artifact_location: str = "", tags: Sequence[KeyValue] = ()
    ) -> str:
        if v.count_custom_views(key for key, _ in tags) > v.MAX_CUSTOM_VIEWS_PER_EXPERIMENT:
            raise v.custom_view_limit()
        if artifact_location:
            v.check_artifact_location(artifact_location)
        v.check_experiment_name(name)
        if artifact_location:
            artifact_location = v.resolve_local_location(artifact_location)
            v.check_artifact_location_length(artifact_location)
        for key, value in tags:
            v.check_experiment_tag(key, value)
        with self.lock:
            if name in self.experiment_names:
                raise MlflowError(
                    f"Experiment(name={name}) already exists. Error: (sqlite3.IntegrityError) "
                    "UNIQUE constraint failed: experiments.workspace, experiments.name",
                    RESOURCE_ALREADY_EXISTS,
                )
            keys = [key for key, _ in tags]
            if len(set(keys)) != len(keys):
                raise MlflowError(
                    f"Experiment(name={name}) already exists. Error: (sqlite3.IntegrityError) "
                    "UNIQUE constraint failed: experiment_tags.key, experiment_tags.experiment_id",
                    RESOURCE_ALREADY_EXISTS,
                )
            experiment_id = str(self.next_experiment_id)
            self.next_experiment_id += 1
            now = self.clock.now_ms()
            location = artifact_location or f"mlflow-artifacts:/{experiment_id}"
            self._add_experiment(
                Experiment(experiment_id, name, location, ACTIVE, now, now, dict(tags))
            )
            return experiment_id

    def _experiment(self, experiment_id: str, stages: Iterable[str] = (ACTIVE, DELETED)) -> Experiment:
        """MLflow's lookup: an empty id (unset because it failed to decode) finds the Default
        experiment, as in MLflow. Delete, restore and the tag writes then use the raw id and fail
        before changing anything; rename and get, in MLflow too, act on experiment 0."""
        number = v.parse_experiment_id(experiment_id or DEFAULT_EXPERIMENT_ID)
        v.check_sqlite_integer(number)
        experiment = self.experiments.get(str(number))
        if experiment is None or experiment.lifecycle_stage not in stages:
            raise experiment_not_found(str(number))
        return experiment

    def get_experiment(self, experiment_id: str) -> Experiment:
        with self.lock:
            return self._experiment(experiment_id)

    def get_experiment_by_name(self, name: str) -> Experiment | None:
        with self.lock:
            experiment_id = self.experiment_names.get(name)
            return self.experiments[experiment_id] if experiment_id is not None else None

    def search_experiments(
        self,
        view_type: str | None,
        max_results: int | None,
        order_by: Sequence[str] | None,
        filter_string: str | None,
        page_token: str | None,
    ) -> tuple[list[Experiment], str | None]:
        from fakeflow.search.experiments import search_experiments  # loaded on first use

        with self.lock:
            return search_experiments(
                list(self.experiments.values()), filter_string, order_by, max_results,
                page_token, view_type,
            )

    def delete_experiment(self, experiment_id: str) -> None:
        with self.lock:
            experiment = self._experiment(experiment_id, (ACTIVE,))
            v.parse_experiment_id(experiment_id)  # MLflow lists the runs by the raw id
            experiment.lifecycle_stage = DELETED
            experiment.last_update_time = self.clock.now_ms()
            for run_id in self.runs_by_experiment.get(experiment.experiment_id, ()):
                self._set_lifecycle(self.runs[run_id], DELETED)

    def restore_experiment(self, experiment_id: str) -> None:
        with self.lock:
            experiment = self._experiment(experiment_id, (DELETED,))
            v.parse_experiment_id(experiment_id)  # MLflow lists the runs by the raw id
            experiment.lifecycle_stage = ACTIVE
            experiment.last_update_time = self.clock.now_ms()
            for run_id in self.runs_by_experiment.get(experiment.experiment_id, ()):
                self._set_lifecycle(self.runs[run_id], ACTIVE)

    def rename_experiment(self, experiment_id: str, new_name: str) -> None:
        v.check_experiment_name(new_name)
        with self.lock:
            experiment = self._experiment(experiment_id)
            if experiment.lifecycle_stage != ACTIVE:
                raise MlflowError("Cannot rename a non-active experiment.", INVALID_STATE)
            owner = self.experiment_names.get(new_name)
            if owner is not None and owner != experiment.experiment_id:
                raise MlflowError(
                    "(sqlite3.IntegrityError) UNIQUE constraint failed: experiments.workspace, "
                    "experiments.name",
                    BAD_REQUEST,
                )
            del self.experiment_names[experiment.name]
            experiment.name = new_name
            self.experiment_names[new_name] = experiment.experiment_id
            experiment.last_update_time = self.clock.now_ms()

    def set_experiment_tag(self, experiment_id: str, key: str, value: str) -> None:
        with self.lock:
            if key.startswith(v.CUSTOM_VIEW_TAG_PREFIX):
                experiment = self._experiment(experiment_id)
                if key not in experiment.tags and (
                    v.count_custom_views(experiment.tags) >= v.MAX_CUSTOM_VIEWS_PER_EXPERIMENT
                ):
                    raise v.custom_view_limit(experiment.experiment_id)
            v.check_experiment_tag(key, value)
            experiment = self._experiment(experiment_id)
            if experiment.lifecycle_stage != ACTIVE:
                raise experiment_not_active(experiment.experiment_id)
            if not experiment_id:
                raise _foreign_key_error()  # MLflow inserts the tag with the raw, empty id
            experiment.tags[key] = value

    def delete_experiment_tag(self, experiment_id: str, key: str) -> None:
        with self.lock:
            experiment = self._experiment(experiment_id)
            if experiment.lifecycle_stage != ACTIVE:
                raise experiment_not_active(experiment.experiment_id)
            v.parse_experiment_id(experiment_id)  # MLflow looks the tag up by the raw id
            if key not in experiment.tags:
                raise MlflowError(
                    f"No tag with name: {key} in experiment with id {experiment_id}",
                    RESOURCE_DOES_NOT_EXIST,
                )
            del experiment.tags[key]

    # ---- runs ---------------------------------------------------------------------------------

    def create_run(
        self,
        experiment_id: str,
        user_id: str = "",
        start_time: int = 0,
        tags: Sequence[KeyValue] = (),
        run_name: str = "",
    ) -> Run:
        with self.lock:
            experiment = self._experiment(experiment_id)
            if experiment.lifecycle_stage != ACTIVE:
                raise experiment_not_active(experiment.experiment_id)
            if not experiment_id:
                # MLflow looks up the default experiment, then inserts an empty experiment id.
                raise MlflowError(
                    "(raised as a result of Query-invoked autoflush; consider using a "
                    "session.no_autoflush block if this flush is occurring prematurely)\n"
                    "(sqlite3.IntegrityError) FOREIGN KEY constraint failed",
                    BAD_REQUEST,
                )
            tag_list = list(tags)
            name_tags = [value for key, value in tag_list if key == RUN_NAME_TAG]
            name_tag = name_tags[0] if name_tags else ""
            if run_name and name_tag and run_name != name_tag:
                raise invalid(
                    "Both 'run_name' argument and 'mlflow.runName' tag are specified, but with "
                    f"different values (run_name='{run_name}', mlflow.runName='{name_tag}')."
                )
            keys = [key for key, _ in tag_list]
            if len(set(keys)) != len(keys):
                raise MlflowError(
                    "(sqlite3.IntegrityError) UNIQUE constraint failed: tags.key, tags.run_uuid",
                    BAD_REQUEST,
                )
            name = run_name or name_tag or self.ids.run_name()
            if not name_tag:
                tag_list.append((RUN_NAME_TAG, name))
            run_id = self.ids.hex_id()
            run = Run(
                run_id=run_id,
                experiment_id=experiment.experiment_id,
                run_name=name,
                user_id=user_id,
                status="RUNNING",
                start_time=start_time,
                end_time=None,
                artifact_uri=f"{experiment.artifact_location.rstrip('/')}/{run_id}/artifacts",
                lifecycle_stage=ACTIVE,
                tags=dict(tag_list),
            )
            self.runs[run_id] = run
            self.runs_by_experiment[experiment.experiment_id].append(run_id)
            return run

    def _run(self, run_id: str) -> Run:
        run = self.runs.get(run_id)
        if run is None:
            raise run_not_found(run_id)
        return run

    def _run_for_write(self, run_id: str) -> Run:
        """The active run a caller is about to change; its ``revision`` moves on.

        Every write to a run goes through here, so readers that cache a run's rendered form
        (keyed by revision) can never serve a stale one.
        """
        run = self._run(run_id)
        if run.lifecycle_stage != ACTIVE:
            raise run_not_active(run_id)
        run.revision += 1
        return run

    def get_run(self, run_id: str) -> Run:
        with self.lock:
            return self._run(run_id)

    def update_run(
        self, run_id: str, status: str | None, end_time: int | None, run_name: str | None
    ) -> Run:
        with self.lock:
            run = self._run_for_write(run_id)
            if status is not None:
                run.status = status
            if end_time is not None:
                run.end_time = end_time
            if run_name:
                run.run_name = run_name
                run.tags[RUN_NAME_TAG] = run_name
            return run

    def delete_run(self, run_id: str) -> None:
        with self.lock:
            self._set_lifecycle(self._run(run_id), DELETED)

    def restore_run(self, run_id: str) -> None:
        with self.lock:
            self._set_lifecycle(self._run(run_id), ACTIVE)

    def purge_run(self, run_id: str) -> Run:
        """Forget a run for good (what ``mlflow gc`` does; other APIs' hard delete). Its artifact
        files stay for the caller to drop: they live in the artifact store, not under this lock."""
        with self.lock:
            run = self._run(run_id)
            del self.runs[run_id]
            self.runs_by_experiment[run.experiment_id].remove(run_id)
            run.revision += 1
            return run

    def move_run(self, run_id: str, experiment_id: str) -> None:
        """Re-home a run in another active experiment (other APIs' "move"); its artifact URI
        stays where its files are."""
        with self.lock:
            run = self._run(run_id)
            target = self._experiment(experiment_id, (ACTIVE,))
            if target.experiment_id == run.experiment_id:
                return
            self.runs_by_experiment[run.experiment_id].remove(run_id)
            self.runs_by_experiment[target.experiment_id].append(run_id)
            run.experiment_id = target.experiment_id
            run.revision += 1

    @staticmethod
    def _set_lifecycle(run: Run, stage: str) -> None:
        run.lifecycle_stage = stage
        run.revision += 1

    # ---- logging ------------------------------------------------------------------------------

    def log_param(self, run_id: str, key: str, value: str) -> None:
        key, value = v.check_param(key, value)
        with self.lock:
            run = self._run_for_write(run_id)
            old = run.params.get(key)
            if old is None:
                run.params[key] = value
            elif old != value:
                raise invalid(
                    f"Changing param values is not allowed. Param with key='{key}' was already "
                    f"logged with value='{old}' for run ID='{run_id}'. Attempted logging new "
                    f"value '{value}'."
                )

    def log_metric(self, run_id: str, metric: MetricInput) -> None:
        with self.lock:
            if metric.model_id:
                # MLflow checks the run first here, then records the model's row, then the run's.
                run = self._run_for_write(run_id)
                v.check_metric(metric.key, metric.value, metric.timestamp, metric.step)
                self.logged_models.log_metrics(run.run_id, run.experiment_id, [metric])
            else:
                v.check_metric(metric.key, metric.value, metric.timestamp, metric.step)
                run = self._run_for_write(run_id)
            self._append_metric(run, metric)

    def _append_metric(self, run: Run, metric: MetricInput) -> None:
        history = run.metrics.get(metric.key)
        if history is None:
            history = run.metrics[metric.key] = MetricHistory()
        history.append(v.clamp_metric_value(float(metric.value)), metric.timestamp, metric.step)

    def set_tag(self, run_id: str, key: str, value: str) -> None:
        key, value = v.check_tag(key, value)
        with self.lock:
            run = self._run_for_write(run_id)
            self._set_tag(run, key, value)

    def _set_tag(self, run: Run, key: str, value: str) -> None:
        if key == RUN_NAME_TAG:
            # Renames the run; an empty name changes nothing.
            if value:
                run.run_name = value
                run.tags[RUN_NAME_TAG] = value
            return
        run.tags[key] = value

    def delete_tag(self, run_id: str, key: str) -> None:
        with self.lock:
            run = self._run_for_write(run_id)
            if key not in run.tags:
                raise MlflowError(
                    f"No tag with name: {key} in run with id {run_id}", RESOURCE_DOES_NOT_EXIST
                )
            del run.tags[key]

    def log_batch(
        self,
        run_id: str,
        metrics: Sequence[MetricInput] = (),
        params: Sequence[KeyValue] = (),
        tags: Sequence[KeyValue] = (),
    ) -> None:
        v.check_run_id_format(run_id)
        for index, metric in enumerate(metrics):
            v.check_metric(metric.key, metric.value, metric.timestamp, metric.step,
                           f"metrics[{index}]")
        params = [v.check_param(k, val, f"params[{i}]") for i, (k, val) in enumerate(params)]
        tags = [v.check_tag(k, val, f"tags[{i}]") for i, (k, val) in enumerate(tags)]
        v.check_batch_limits(len(metrics), len(params), len(tags))
        v.check_unique_param_keys([key for key, _ in params])
        with self.lock:
            run = self._run_for_write(run_id)
            conflicts = [
                {"key": key, "old_value": run.params[key], "new_value": value}
                for key, value in params
                if key in run.params and run.params[key] != value
            ]
            if conflicts:
                raise invalid(
                    f"Changing param values is not allowed. Params were already logged="
                    f"'{conflicts}' for run ID='{run_id}'."
                )
            for key, value in params:
                run.params.setdefault(key, value)
            for metric in metrics:
                self._append_metric(run, metric)
            # MLflow has committed params and run metrics by now: if the models' rows are
            # refused, the tags are lost.
            self.logged_models.log_metrics(run.run_id, run.experiment_id, metrics)
            for key, value in tags:
                self._set_tag(run, key, value)

    def get_metric_history(
        self, run_id: str, key: str, max_results: int | None = None, page_token: str | None = None
    ) -> tuple[HistoryWindow, str | None]:
        """One page of a history (all of it without ``max_results``) as copied arrays, and the
        next page's token. Costs the page, not the history: the arrays are sliced directly."""
        offset = decode_offset_token(page_token) if page_token else 0
        v.check_sqlite_integer(offset)  # MLflow binds the offset into its SQL query
        with self.lock:
            run = self.runs.get(run_id)
            history = run.metrics.get(key) if run is not None else None
            if history is None:
                return HistoryWindow(), None
            start, stop, token = page_bounds(len(history), offset, max_results)
            return history.window(start, stop), token

    def get_metric_history_bulk(
        self, run_ids: Sequence[str], key: str, limit: int
    ) -> list[tuple[str, HistoryWindow]]:
        """Every run's history of ``key`` in run id order, then MLflow's point order, at most
        ``limit`` points in all (negative: no limit, as SQLite reads ``LIMIT -1``). Unknown runs
        are skipped, as MLflow's query does."""
        remaining = limit if limit >= 0 else None
        result: list[tuple[str, HistoryWindow]] = []
        with self.lock:
            for run_id in sorted(set(run_ids)):
                if remaining == 0:
                    break
                run = self.runs.get(run_id)
                history = run.metrics.get(key) if run is not None else None
                if history is None or not len(history):
                    continue
                stop = len(history) if remaining is None else min(len(history), remaining)
                result.append((run_id, history.window(0, stop)))
                if remaining is not None:
                    remaining -= stop
        return result

    def get_metric_history_bulk_interval(
        self,
        run_ids: Sequence[str],
        key: str,
        max_results: int,
        start_step: int | None,
        end_step: int | None,
    ) -> list[tuple[str, HistoryWindow]]:
        """Up to ``max_results`` points per run in step order, evenly sampled, always ending
        with the last (``MetricHistory.sample_by_step``), as copied arrays per run."""
        max_results = max(1, max_results)
        bounded = start_step is not None and end_step is not None
        with self.lock:
            result: list[tuple[str, HistoryWindow]] = []
            for run_id in run_ids:
                run = self.runs.get(run_id)
                history = run.metrics.get(key) if run is not None else None
                if history is None:
                    continue
                result.append((run_id, history.sample_by_step(
                    max_results, start_step if bounded else None, end_step if bounded else None)))
            return result

    def search_runs(
        self,
        experiment_ids: Sequence[str],
        filter_string: str | None,
        run_view_type: str | None,
        max_results: int,
        order_by: Sequence[str] | None,
        page_token: str | None,
    ) -> tuple[list[Run], str | None]:
        """Validation reads no state and sorting works on a snapshot of the sort values, so
        the lock is held only to pick the matching runs, or to bring a remembered ordering up
        to date (``RunSearchCache``)."""
        from fakeflow.search.runs import cache_for, prepare_search  # loaded on first use

        wanted = [str(v.parse_experiment_id(e)) for e in experiment_ids]
        for experiment_id in wanted:
            v.check_sqlite_integer(int(experiment_id))
        scope = tuple(dict.fromkeys(wanted))
        query = prepare_search(filter_string, order_by, max_results, page_token, run_view_type)
        cache, key = cache_for(self), query.cache_key + (scope,)
        with self.lock:
            run_ids = [r for e in scope for r in self.runs_by_experiment.get(e, ())]
            runs = list(map(self.runs.__getitem__, run_ids))
            membership, revisions = cache.state(self.generation, run_ids, runs)
            ordered = cache.remembered(key, membership, revisions, runs, query)
            selected = query.select(runs) if ordered is None else None
        if ordered is None:
            ordered = query.order(selected)
            cache.remember(key, membership, revisions, ordered)
        return query.page(ordered)

    # ---- inputs, outputs, legacy models -------------------------------------------------------

    def log_inputs(
        self, run_id: str, datasets: Sequence[DatasetInput] = (), model_ids: Sequence[str] = (),
        repeated_tag_keys: Collection[tuple[str, str]] = (),
    ) -> None:
        """Datasets live in the experiment, keyed by (name, digest): the first logging defines
        them; a run gets one input per dataset, with the tags of its first logging.

        ``repeated_tag_keys``: (name, digest) of datasets whose tags named one key twice; a new
        input with such tags breaks MLflow's unique (input, tag name) key, and nothing is logged."""
        v.check_run_id_format(run_id)
        for item in datasets:
            d = item.dataset
            v.check_dataset(d.name, d.digest, d.source, d.schema, d.profile)
            for key, value in item.tags.items():
                v.check_input_tag(key, value)
        with self.lock:
            run = self._run_for_write(run_id)
            firsts: dict[tuple[str, str], DatasetInput] = {}
            for item in datasets:
                firsts.setdefault((item.dataset.name, item.dataset.digest), item)
            known = {(i.dataset.name, i.dataset.digest) for i in run.dataset_inputs}
            if any(key in repeated_tag_keys and key not in known for key in firsts):
                raise MlflowError(
                    "(sqlite3.IntegrityError) UNIQUE constraint failed: input_tags.input_uuid, "
                    "input_tags.name",
                    BAD_REQUEST,
                )
            for key, item in firsts.items():
                dataset = self.datasets.setdefault((run.experiment_id, *key), item.dataset)
                if key not in known:
                    run.dataset_inputs.append(DatasetInput(dataset, dict(item.tags)))
            for model_id in model_ids:
                if model_id not in run.model_inputs:
                    run.model_inputs.append(model_id)

    def log_outputs(self, run_id: str, outputs: Sequence[ModelOutput]) -> None:
        with self.lock:
            run = self._run_for_write(run_id)
            ids = [o.model_id for o in run.model_outputs] + [o.model_id for o in outputs]
            if len(set(ids)) != len(ids):
                raise MlflowError(
                    "(sqlite3.IntegrityError) UNIQUE constraint failed: inputs.source_type, "
                    "inputs.source_id, inputs.destination_type, inputs.destination_id",
                    BAD_REQUEST,
                )
            run.model_outputs.extend(outputs)

    def record_logged_model(self, run_id: str, model: dict) -> None:
        """The MLflow 2 ``log-model`` call: append the model to the run's history tag."""
        with self.lock:
            run = self._run_for_write(run_id)
            previous = run.tags.get(LOGGED_MODELS_TAG)
            models = json.loads(previous) if previous else []
            models.append(model)
            value = json.dumps(models)
            v.check_tag(LOGGED_MODELS_TAG, value)
            run.tags[LOGGED_MODELS_TAG] = value


def _foreign_key_error() -> MlflowError:
    return MlflowError("(sqlite3.IntegrityError) FOREIGN KEY constraint failed", BAD_REQUEST)

