"""MLflow 3 logged models: create, finalize, tags, params, metrics logged with ``model_id``
(kept per (key, timestamp, step) of the run: a second value there is refused, the same row
again is accepted), delete (hidden unless ``allow_deleted``), and search: a metric filter
holds when any logged value holds, order_by a metric uses its latest value (models without
it last), then newest first."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from hypothesis import strategies as st
from hypothesis.stateful import Bundle, multiple, rule

from ..model import Experiment, Point, Run, request_value, stored_value
from ..refs import Ref, Sub
from . import register
from .base import ConformanceMachine, scenario, short_values

model_names = st.sampled_from(["alpha", "beta", "Gamma"])
model_types = st.sampled_from(["", "toy"])
lm_keys = st.sampled_from(["k1", "k2"])
lm_metric_keys = st.sampled_from(["acc", "loss"])
lm_values = st.sampled_from([0.25, 0.5, 1.0, 3.0, float("nan"), float("inf")])
lm_timestamps = st.integers(min_value=0, max_value=2)
lm_steps = st.integers(min_value=0, max_value=1)
datasets = st.sampled_from([None, ("train", "d1"), ("test", "d2")])
statuses = st.sampled_from([("LOGGED_MODEL_READY", 2), ("LOGGED_MODEL_UPLOAD_FAILED", 3)])
FILTERS = {
    "metrics.acc > 0.4": lambda m: m.any_metric("acc", lambda v: v > 0.4),
    "metrics.loss <= 1": lambda m: m.any_metric("loss", lambda v: v <= 1),
    "params.k1 = 'a'": lambda m: m.params.get("k1") == "a",
    "tags.k2 != 'a'": lambda m: m.tags.get("k2") not in (None, "a"),
    "name LIKE 'a%'": lambda m: m.name.startswith("a"),
    "status = 2": lambda m: m.status == "LOGGED_MODEL_READY",
    "model_type IN ('toy')": lambda m: m.model_type == "toy",
}
filters = st.sampled_from([None, *FILTERS])
orders = st.sampled_from([None, "acc", "loss"])


@dataclass
class ModelRow:
    key: str
    point: Point
    dataset: tuple[str, str] | None

    def to_json(self, model_id: str, run_id: str) -> dict[str, Any]:
        out: dict[str, Any] = {"key": self.key, "value": _model_value(self.point.value),
                               "timestamp": self.point.timestamp, "step": self.point.step}
        if self.dataset:
            out["dataset_name"], out["dataset_digest"] = self.dataset
        out["model_id"], out["run_id"] = model_id, run_id
        return out


@dataclass
class LoggedModel:
    """The reference model of one logged model (all metrics come from the suite's one run)."""

    symbol: str
    experiment: Experiment
    name: str
    model_type: str
    model_id: str = ""
    source_run_id: str = ""
    status: str = "LOGGED_MODEL_PENDING"
    deleted: bool = False
    tags: dict[str, str] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)
    rows: dict[tuple[str, int, int], ModelRow] = field(default_factory=dict)  # logging order

    def any_metric(self, key: str, holds: Any) -> bool:
        # NaN is stored as 0 on a model (not as NaN, as on a run).
        return any(k == key and holds(_model_value(r.point.value))
                   for (k, _, _), r in self.rows.items())

    def latest(self, key: str) -> float | None:
        found = [r for (k, _, _), r in self.rows.items() if k == key]
        if not found:
            return None
        best = max(found, key=lambda r: (r.point.timestamp, r.point.step))
        return _model_value(best.point.value)

    def to_json(self, run_id: str) -> dict[str, Any]:
        info: dict[str, Any] = {
            "model_id": self.model_id, "experiment_id": self.experiment.experiment_id,
            "name": self.name, "creation_timestamp_ms": 0, "last_updated_timestamp_ms": 0,
            "artifact_uri": f"{self.experiment.artifact_location}/models/{self.model_id}/artifacts",
            "status": self.status, "model_type": self.model_type,
            "source_run_id": self.source_run_id,
        }
        if self.tags:
            info["tags"] = [{"key": k, "value": v} for k, v in self.tags.items()]
        data: dict[str, Any] = {}
        if self.params:
            data["params"] = [{"key": k, "value": v} for k, v in self.params.items()]
        if self.rows:
            data["metrics"] = [r.to_json(self.model_id, run_id) for r in self.rows.values()]
        return {"info": info, "data": data}


def _model_value(value: float) -> float:
    return 0.0 if math.isnan(value) else stored_value(value)


@register("logged_models", "MLflow 3 logged models: lifecycle, tags, params, metrics, search")
class LoggedModelsSuite(ConformanceMachine):
    models = Bundle("logged_models")

    def __init__(self) -> None:
        super().__init__()
        self.logged: list[LoggedModel] = []
        self.exp: Experiment | None = None
        self.run: Run | None = None

    def setup(self) -> None:
        """The experiment and run every model of an example lives in (made on first use)."""
        if self.exp is None:
            self.exp = self.do_create_experiment(self.new_symbol("x"))
            self.run = self.do_create_run(self.exp, "r", 0) if self.exp is not None else None

    def teardown(self) -> None:
        super().teardown()
        for model in self.logged:
            self.get(model)
        if self.logged:
            self.search(None, None)

    # -- lifecycle ---------------------------------------------------------------------------

    @rule(target=models, name=model_names, model_type=model_types, from_run=st.booleans(),
          param=st.none() | short_values)
    def create(self, name, model_type, from_run, param):
        self.setup()
        if self.exp is None or self.run is None:
            return multiple()
        model = LoggedModel(self.new_symbol("M"), self.exp, name, model_type)
        body: dict[str, Any] = {"experiment_id": Ref(self.exp.symbol), "name": name}
        if model_type:
            body["model_type"] = model_type
        if from_run:
            body["source_run_id"] = Ref(self.run.symbol)
            model.source_run_id = self.run.run_id
        if param is not None:
            body["params"] = [{"key": "k1", "value": param}]
            model.params["k1"] = param
        reply = self.ctx.call("create_logged_model", "POST", "logged-models", body=body,
                              bind={model.symbol: ("model", "info", "model_id")})
        model.model_id = ((reply.json or {}).get("model", {}).get("info", {})
                          .get("model_id", "") if reply.status == 200 else "")
        if not self.ctx.expect("create_logged_model", reply, 200,
                               {"model": model.to_json(self.run.run_id)}, refusable=True) \
                and reply.status >= 400:
            return multiple()
        self.logged.append(model)
        self.tick()
        return model

    def _path(self, model: LoggedModel, tail: str = "") -> Any:
        return Sub("logged-models/{0}" + tail, Ref(model.symbol))

    def _missing(self, model: LoggedModel) -> str:
        return f"Logged model with ID '{model.model_id}' not found."

    @rule(model=models)
    def get(self, model):
        reply = self.ctx.call("get_logged_model", "GET", self._path(model))
        if model.deleted:
            self.ctx.expect_error("get_logged_model", reply, 404, "RESOURCE_DOES_NOT_EXIST",
                                  self._missing(model))
            reply = self.ctx.call("get_logged_model", "GET", self._path(model),
                                  query={"allow_deleted": "true"})
        self.ctx.expect("get_logged_model", reply, 200, {"model": model.to_json(self._run_id())})

    def _run_id(self) -> str:
        return self.run.run_id if self.run is not None else ""

    @rule(model=models, status=statuses)
    def finalize(self, model, status):
        name, number = status
        reply = self.ctx.call("finalize_logged_model", "PATCH", self._path(model),
                              body={"model_id": Ref(model.symbol), "status": number})
        old = model.status
        model.status = name
        if not self.ctx.expect("finalize_logged_model", reply, 200,
                               {"model": model.to_json(self._run_id())}, refusable=True) \
                and reply.status >= 400:
            model.status = old

    @rule(model=models)
    def delete(self, model):
        reply = self.ctx.call("delete_logged_model", "DELETE", self._path(model))
        if self.ctx.expect("delete_logged_model", reply, 200, {}, refusable=True) \
                or reply.status < 400:
            model.deleted = True

    # -- tags and params ---------------------------------------------------------------------

    @rule(model=models, key=lm_keys, value=short_values)
    def set_tag(self, model, key, value):
        reply = self.ctx.call("set_logged_model_tags", "PATCH", self._path(model, "/tags"),
                              body={"tags": [{"key": key, "value": value}]})
        if self.ctx.expect("set_logged_model_tags", reply, 200, {}, refusable=True) \
                or reply.status < 400:
            model.tags[key] = value

    @rule(model=models, key=lm_keys)
    def delete_tag(self, model, key):
        reply = self.ctx.call("delete_logged_model_tag", "DELETE",
                              self._path(model, "/tags/" + key))
        if key not in model.tags:
            self.ctx.expect_error(
                "delete_logged_model_tag", reply, 404, "RESOURCE_DOES_NOT_EXIST",
                f"No tag with key {key!r} found for model with ID {model.model_id!r}.")
            return
        self.ctx.expect("delete_logged_model_tag", reply, 200, {})
        del model.tags[key]

    @rule(model=models, key=lm_keys, value=short_values)
    def log_param(self, model, key, value):
        reply = self.ctx.call("log_logged_model_params", "POST", self._path(model, "/params"),
                              body={"model_id": Ref(model.symbol),
                                    "params": [{"key": key, "value": value}]})
        if key in model.params:
            # One row per key: the insert breaks the unique key, whatever the value.
            self.ctx.expect_error("log_logged_model_params", reply, 400, "BAD_REQUEST",
                                  "(sqlite3.IntegrityError) UNIQUE constraint failed")
            return
        if self.ctx.expect("log_logged_model_params", reply, 200, {}, refusable=True) \
                or reply.status < 400:
            model.params[key] = value

    # -- metrics -----------------------------------------------------------------------------

    @rule(model=models, key=lm_metric_keys, value=lm_values, timestamp=lm_timestamps,
          step=lm_steps, dataset=datasets)
    def log_metric(self, model, key, value, timestamp, step, dataset):
        run = self.run
        if run is None:
            return
        body: dict[str, Any] = {"run_id": Ref(run.symbol), "key": key,
                                "value": request_value(value), "timestamp": timestamp,
                                "step": step, "model_id": Ref(model.symbol)}
        if dataset:
            body["dataset_name"], body["dataset_digest"] = dataset
        reply = self.ctx.call("log_metric", "POST", "runs/log-metric", body=body)
        row = ModelRow(key, Point(value, timestamp, step), dataset)
        old = model.rows.get((key, timestamp, step))
        if old is not None and (_model_value(old.point.value), old.dataset) != (
                _model_value(value), dataset):
            # The model's row for this (key, timestamp, step) is taken; the run's is not
            # written either (MLflow writes the model's row first).
            self.ctx.expect_error("log_metric", reply, 400, "BAD_REQUEST",
                                  "(sqlite3.IntegrityError) UNIQUE constraint failed")
            return
        if not self.ctx.expect("log_metric", reply, 200, {}, refusable=True) \
                and reply.status >= 400:
            return
        model.rows.setdefault((key, timestamp, step), row)
        run.log_metric(key, Point(stored_value(value), timestamp, step))

    # -- search ------------------------------------------------------------------------------

    @rule(filter_string=filters, order=orders)
    def search(self, filter_string, order):
        self.setup()
        if self.exp is None:
            return
        body: dict[str, Any] = {"experiment_ids": [Ref(self.exp.symbol)]}
        if filter_string:
            body["filter"] = filter_string
        if order:
            body["order_by"] = [{"field_name": f"metrics.{order}", "ascending": False}]
        reply = self.ctx.call("search_logged_models", "POST", "logged-models/search", body=body)
        found = [m for m in self.logged if not m.deleted
                 and (not filter_string or FILTERS[filter_string](m))]
        found.reverse()  # newest first (creations are a tick apart)
        if order:
            present = [m for m in found if m.latest(order) is not None]
            present.sort(key=lambda m: m.latest(order), reverse=True)
            found = present + [m for m in found if m.latest(order) is None]
        expected: dict[str, Any] = {}
        if found:
            expected["models"] = [m.to_json(self._run_id()) for m in found]
        self.ctx.expect("search_logged_models", reply, 200, expected)

    # -- explicit cases ----------------------------------------------------------------------

    @scenario
    def case_metrics_rows_and_search(self):
        """Rows per (key, timestamp, step): the same row again is accepted, another value
        there refused; a filter holds on any value, order_by uses the latest."""
        self.setup()
        a = self.create("alpha", "toy", True, "a")
        b = self.create("beta", "", False, None)
        if not isinstance(a, LoggedModel) or not isinstance(b, LoggedModel):
            return
        self.log_metric(a, "acc", 0.5, 1, 0, ("train", "d1"))
        self.log_metric(a, "acc", 0.5, 1, 0, ("train", "d1"))  # the same row: accepted
        self.log_metric(a, "acc", 0.25, 1, 0, None)  # another value there: refused
        self.log_metric(a, "acc", 3.0, 2, 0, None)
        self.log_metric(b, "acc", 1.0, 0, 1, None)  # b holds acc > 0.4 only by this row
        self.log_metric(b, "acc", 0.25, 2, 1, None)  # b's latest: a sorts first
        self.log_metric(b, "loss", float("nan"), 0, 0, None)
        for filter_string in (None, "metrics.acc > 0.4", "metrics.loss <= 1"):
            self.search(filter_string, "acc")
        self.get(a)
        self.get(b)

    @scenario
    def case_lifecycle(self):
        """Finalize, tags (a missing one: 404), params (a known key: refused), delete."""
        self.setup()
        model = self.create("Gamma", "", True, "b")
        if not isinstance(model, LoggedModel):
            return
        self.finalize(model, ("LOGGED_MODEL_READY", 2))
        self.set_tag(model, "k2", "x y")
        self.delete_tag(model, "k1")
        self.log_param(model, "k1", "a")
        self.log_param(model, "k2", "a")
        self.search("status = 2", None)
        self.delete(model)
        self.get(model)
        self.search(None, None)
