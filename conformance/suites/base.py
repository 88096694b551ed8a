"""Shared machinery of the tracking suites: the per-example setup (unique names, fresh id map)
and the common operations, each of which sends the request, checks the answer against the
reference model and then updates the model."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from functools import partial
from typing import Any, Callable, ClassVar, Sequence

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine

from ..context import SuiteContext
from ..model import (
    RUN_NAME_TAG, Experiment, Point, Run, TrackingModel, deleted_experiment_message,
    deleted_run_message, request_value, stored_value,
)
from ..refs import Ref
from ..transport import Reply

# Small alphabets make collisions (the interesting cases) likely.
metric_keys = st.sampled_from(["m1", "m2", "loss"])
param_keys = st.sampled_from(["p1", "p2", "lr"])
tag_keys = st.sampled_from(["t1", "t2", "team"])
short_values = st.sampled_from(["a", "b", "x y", "1", "10", "2.5", "A"])
# No 0.0: MLflow orders NaN as 0, so NaN and 0.0 at one (timestamp, step) would tie.
metric_values = st.sampled_from([-1.5, 0.5, 1.0, 2.0, 3.25, 7.0, float("nan"), float("inf"),
                                 float("-inf")])
timestamps = st.integers(min_value=0, max_value=5)
steps = st.integers(min_value=-1, max_value=3)


@dataclass(frozen=True)
class Explicit:
    """One explicit case as the runner sees it. ``label`` distinguishes findings of status
    and route kind (two catalogue entries refused differently are two findings); ``group``
    names cases that may share one machine while nothing has diverged (saves requests)."""

    name: str
    label: str
    run: Callable[[Any], None]
    group: str | None = None
    subject: str | None = None  # the operation the case is about (its status findings are
    # keyed by the case; a set-up call failing the same way in many cases is one finding)


def scenario(fn: Callable[..., None] | None = None, *, params: Sequence[Any] | None = None,
             shared: bool | str = False, subject: str | None = None) -> Any:
    """Marks a machine method as an explicit case: run once on every run, before random
    exploration, on a fresh machine (so what is reported about a server does not depend on a
    seed). Explicit cases cover the edge situations servers most often get wrong. With
    ``params`` the method runs once per value (``method(self, value)``); with ``shared`` the
    values run one after another on one machine until a difference that changes state (a
    string names a group that several read-only cases share). ``subject`` names the operation
    the case is about (catalogue entries with an ``op`` name their own)."""

    def mark(f: Callable[..., None]) -> Callable[..., None]:
        f._conformance_scenario = (tuple(params) if params is not None else None, shared,  # type: ignore[attr-defined]
                                   subject)
        return f

    return mark(fn) if fn is not None else mark


def _call_with(fn: Callable[..., None], param: Any, machine: Any) -> None:
    fn(machine, param)


class ConformanceMachine(RuleBasedStateMachine):
    """Base of every suite; a runner subclasses it with ``ctx`` bound to the target(s)."""

    ctx: ClassVar[SuiteContext]
    example_source: ClassVar[str] = "exploration"

    @classmethod
    def scenarios(cls) -> list[Explicit]:
        """The explicit cases, in definition order (base classes first)."""
        found: dict[str, Any] = {}
        for klass in reversed(cls.__mro__):
            for name, value in vars(klass).items():
                if hasattr(value, "_conformance_scenario"):
                    found[name] = value
        out: list[Explicit] = []
        for name, fn in found.items():
            params, shared, subject = fn._conformance_scenario
            family = name.removeprefix("case_")
            if params is None:
                out.append(Explicit(family, family, fn, subject=subject))
                continue
            for p in params:
                # Catalogue entries (with a name) are each their own check; other parameters
                # are variations of one check.
                label = f"{family}: {p.name}" if hasattr(p, "name") else family
                group = shared if isinstance(shared, str) else (family if shared else None)
                out.append(Explicit(f"{family}: {getattr(p, 'name', p)!r}", label,
                                    partial(_call_with, fn, p), group,
                                    getattr(p, "op", None) or subject))
        return out

    def __init__(self) -> None:
        super().__init__()
        self.model = TrackingModel()
        # Not drawn by Hypothesis: a server keeps names (even of deleted experiments) forever,
        # so replays and shrinks must never reuse one.
        self.prefix = "cf-" + uuid.uuid4().hex[:12]
        self.ctx.begin_example(self.prefix, getattr(self, "example_source", "exploration"))
        self._counter = 0

    def teardown(self) -> None:
        """End of every example: the whole final state must match the model (cheap, and it
        catches lost writes that no later read happened to look at)."""
        for exp in list(self.model.experiments.values()):
            self.refresh_experiment(exp)
        for run in list(self.model.runs.values()):
            self.check_run(run)

    def new_symbol(self, kind: str) -> str:
        self._counter += 1
        return f"{kind}{self._counter}"

    def name(self, suffix: str) -> str:
        return f"{self.prefix}-{suffix}"

    # -- experiments -------------------------------------------------------------------------

    def do_create_experiment(self, suffix: str, tags: dict[str, str] | None = None) -> Experiment | None:
        name = self.name(suffix)
        symbol = self.new_symbol("E")
        body: dict[str, Any] = {"name": name}
        if tags:
            body["tags"] = [{"key": k, "value": v} for k, v in tags.items()]
        reply = self.ctx.call("create_experiment", "POST", "experiments/create", body=body,
                              bind={symbol: ("experiment_id",)})
        if name in self.model.names_in_use():
            self.ctx.expect_error("create_experiment", reply, 400, "RESOURCE_ALREADY_EXISTS")
            return None
        # The id is the server's choice; its shape is not: exactly one key, an integer string.
        given = (reply.json or {}).get("experiment_id") if reply.status == 200 else None
        self.ctx.expect("create_experiment", reply, 200, {"experiment_id": given})
        if not isinstance(given, str) or not given.isdigit():
            self.ctx.expect("create_experiment", reply, 200, {"experiment_id": "<integer string>"})
            return None
        exp = Experiment(symbol, name, experiment_id=given, tags=dict(tags or {}))
        self.model.experiments[symbol] = exp
        self.refresh_experiment(exp)
        self.tick()
        return exp

    def refresh_experiment(self, exp: Experiment) -> None:
        """Learn server-chosen fields (artifact location, clocks) and check the rest."""
        reply = self.ctx.call("get_experiment", "GET", "experiments/get",
                              query={"experiment_id": Ref(exp.symbol)})
        got = (reply.json or {}).get("experiment", {}) if reply.status == 200 else {}
        if self.ctx.check_model or not exp.artifact_location:
            exp.artifact_location = got.get("artifact_location", exp.artifact_location)
        # Clocks are learned only when they have the right type: a clock sent as a string
        # must show up as a shape difference, not become the model's expectation.
        for clock in ("creation_time", "last_update_time"):
            if isinstance(got.get(clock), int) and not isinstance(got.get(clock), bool):
                setattr(exp, clock, got[clock])
        self.ctx.expect("get_experiment", reply, 200, {"experiment": exp.to_json()})

    def tick(self) -> None:
        """Let the server clock move on, so server timestamps of consecutive writes differ
        (searches order by them, and ties would make two correct servers disagree)."""
        time.sleep(0.002)

    def do_delete_experiment(self, exp: Experiment) -> None:
        reply = self.ctx.call("delete_experiment", "POST", "experiments/delete",
                              body={"experiment_id": Ref(exp.symbol)})
        if exp.lifecycle_stage == "deleted":
            self.ctx.expect_error("delete_experiment", reply, 404, "RESOURCE_DOES_NOT_EXIST",
                                  f"No Experiment with id={exp.experiment_id} exists")
            return
        self.ctx.expect("delete_experiment", reply, 200, {})
        self.model.delete_experiment(exp)
        self.tick()

    def do_restore_experiment(self, exp: Experiment) -> None:
        reply = self.ctx.call("restore_experiment", "POST", "experiments/restore",
                              body={"experiment_id": Ref(exp.symbol)})
        if exp.lifecycle_stage == "active":
            self.ctx.expect_error("restore_experiment", reply, 404, "RESOURCE_DOES_NOT_EXIST",
                                  f"No Experiment with id={exp.experiment_id} exists")
            return
        self.ctx.expect("restore_experiment", reply, 200, {})
        self.model.restore_experiment(exp)
        self.tick()

    # -- runs --------------------------------------------------------------------------------

    def do_create_run(self, exp: Experiment, run_name: str | None, start_time: int | None,
                      tags: dict[str, str] | None = None, user_id: str | None = None) -> Run | None:
        symbol = self.new_symbol("R")
        body: dict[str, Any] = {"experiment_id": Ref(exp.symbol)}
        if run_name is not None:
            body["run_name"] = run_name
        if start_time is not None:
            body["start_time"] = start_time
        if user_id is not None:
            body["user_id"] = user_id
        if tags:
            body["tags"] = [{"key": k, "value": v} for k, v in tags.items()]
        bind: dict[str, tuple[str, ...]] = {symbol: ("run", "info", "run_id")}
        if not run_name and not (tags or {}).get(RUN_NAME_TAG):
            # A server-chosen random name: mapped like an id when comparing two targets.
            bind[f"name-of-{symbol}"] = ("run", "info", "run_name")
        reply = self.ctx.call("create_run", "POST", "runs/create", body=body, bind=bind)
        if exp.lifecycle_stage == "deleted":
            self.ctx.expect_error("create_run", reply, 400, "INVALID_PARAMETER_VALUE",
                                  deleted_experiment_message(exp.experiment_id))
            return None
        if reply.status != 200 and not self.ctx.check_model:
            return None
        info = (reply.json or {}).get("run", {}).get("info", {})
        run = Run(symbol, exp, run_id=info.get("run_id", ""), user_id=user_id or "",
                  start_time=start_time or 0)
        for k, v in (tags or {}).items():
            run.tags[k] = v  # CreateRun stores its tags unvalidated and untruncated
        chosen = run_name or (tags or {}).get(RUN_NAME_TAG)
        if chosen:
            run.run_name = chosen
            run.tags.setdefault(RUN_NAME_TAG, chosen)
        else:
            run.run_name = info.get("run_name", "")
            run.tags[RUN_NAME_TAG] = run.run_name
        self.ctx.expect("create_run", reply, 200, {"run": run.to_json("create")})
        if reply.status == 200:
            self.model.runs[symbol] = run
            return run
        return None

    def check_run(self, run: Run) -> None:
        reply = self.ctx.call("get_run", "GET", "runs/get", query={"run_id": Ref(run.symbol)})
        self.ctx.expect("get_run", reply, 200, {"run": run.to_json("get")})

    def write_refused(self, op: str, run: Run, reply: Reply) -> bool:
        """Writes to deleted runs are refused; returns True when that was the expectation."""
        if run.lifecycle_stage == "deleted":
            self.ctx.expect_error(op, reply, 400, "INVALID_PARAMETER_VALUE",
                                  deleted_run_message(run.run_id))
            return True
        return False

    def do_log_metric(self, run: Run, key: str, value: float, timestamp: int, step: int | None) -> None:
        body: dict[str, Any] = {"run_id": Ref(run.symbol), "key": key,
                                "value": request_value(value), "timestamp": timestamp}
        if step is not None:
            body["step"] = step
        reply = self.ctx.call("log_metric", "POST", "runs/log-metric", body=body)
        if self.write_refused("log_metric", run, reply):
            return
        if not self.ctx.expect("log_metric", reply, 200, {}, refusable=True) and reply.status >= 400:
            return  # refused: nothing was written
        run.log_metric(key, Point(stored_value(value), timestamp, step or 0))

    def do_set_tag(self, run: Run, key: str, value: str) -> None:
        reply = self.ctx.call("set_tag", "POST", "runs/set-tag",
                              body={"run_id": Ref(run.symbol), "key": key, "value": value})
        if self.write_refused("set_tag", run, reply):
            return
        if not self.ctx.expect("set_tag", reply, 200, {}, refusable=True) and reply.status >= 400:
            return  # refused: nothing was written
        run.set_tag(key, value)

    def do_log_param(self, run: Run, key: str, value: str) -> None:
        reply = self.ctx.call("log_param", "POST", "runs/log-parameter",
                              body={"run_id": Ref(run.symbol), "key": key, "value": value})
        if self.write_refused("log_param", run, reply):
            return
        stored = value[:6000]
        old = run.params.get(key)
        if old is not None and old != stored:
            self.ctx.expect_error(
                "log_param", reply, 400, "INVALID_PARAMETER_VALUE",
                f"Changing param values is not allowed. Param with key='{key}' was already "
                f"logged with value='{old}' for run ID='{run.run_id}'. Attempted logging new "
                f"value '{stored}'.")
            return
        if not self.ctx.expect("log_param", reply, 200, {}, refusable=True) and reply.status >= 400:
            return  # refused: nothing was written
        run.params[key] = stored

    def do_delete_tag(self, run: Run, key: str) -> None:
        reply = self.ctx.call("delete_tag", "POST", "runs/delete-tag",
                              body={"run_id": Ref(run.symbol), "key": key})
        if self.write_refused("delete_tag", run, reply):
            return
        if key not in run.tags:
            self.ctx.expect_error("delete_tag", reply, 404, "RESOURCE_DOES_NOT_EXIST",
                                  f"No tag with name: {key} in run with id {run.run_id}")
            return
        self.ctx.expect("delete_tag", reply, 200, {})
        del run.tags[key]  # deleting mlflow.runName keeps info.run_name

    def do_delete_run(self, run: Run) -> None:
        reply = self.ctx.call("delete_run", "POST", "runs/delete", body={"run_id": Ref(run.symbol)})
        self.ctx.expect("delete_run", reply, 200, {})
        run.lifecycle_stage = "deleted"

    def do_restore_run(self, run: Run) -> None:
        reply = self.ctx.call("restore_run", "POST", "runs/restore", body={"run_id": Ref(run.symbol)})
        self.ctx.expect("restore_run", reply, 200, {})
        run.lifecycle_stage = "active"
