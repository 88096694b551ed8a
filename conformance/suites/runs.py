"""Run lifecycle: create (names, defaults, tags), get, update (status, end time, name),
delete/restore of runs and the cascade from experiment delete/restore, and the
``mlflow.runName`` coupling."""

from __future__ import annotations

from hypothesis import strategies as st
from hypothesis.stateful import Bundle, multiple, rule

from ..model import RUN_NAME_TAG, STATUSES
from ..refs import Ref
from . import register
from .base import ConformanceMachine, scenario, short_values, tag_keys

run_names = st.sampled_from(["alpha", "beta", "gamma one", "δ-run"])


@register("runs", "run lifecycle: create/get/update/delete/restore, runName coupling, cascades")
class RunSuite(ConformanceMachine):
    experiments = Bundle("experiments")
    runs = Bundle("runs")

    @rule(target=experiments, suffix=st.sampled_from(["a", "b"]))
    def create_experiment(self, suffix):
        exp = self.do_create_experiment(suffix)
        return exp if exp is not None else multiple()

    @rule(target=runs, exp=experiments, name=st.none() | run_names,
          start_time=st.none() | st.integers(0, 10**13),
          tags=st.dictionaries(tag_keys | st.just(RUN_NAME_TAG), short_values, max_size=2),
          user_id=st.none() | st.sampled_from(["", "alice"]))
    def create_run(self, exp, name, start_time, tags, user_id):
        if name and tags.get(RUN_NAME_TAG) not in (None, name):
            reply = self.ctx.call("create_run", "POST", "runs/create", body={
                "experiment_id": Ref(exp.symbol), "run_name": name,
                "tags": [{"key": k, "value": v} for k, v in tags.items()]})
            if exp.lifecycle_stage == "active":
                self.ctx.expect_error(
                    "create_run", reply, 400, "INVALID_PARAMETER_VALUE",
                    "Both 'run_name' argument and 'mlflow.runName' tag are specified, but with "
                    f"different values (run_name='{name}', mlflow.runName='{tags[RUN_NAME_TAG]}').")
            return multiple()
        run = self.do_create_run(exp, name, start_time, tags, user_id)
        return run if run is not None else multiple()

    @rule(run=runs)
    def get_run(self, run):
        self.check_run(run)

    @rule(run=runs, status=st.none() | st.sampled_from(STATUSES),
          end_time=st.none() | st.integers(0, 10**13), name=st.none() | st.just("") | run_names)
    def update_run(self, run, status, end_time, name):
        body = {"run_id": Ref(run.symbol)}
        if status is not None:
            body["status"] = status
        if end_time is not None:
            body["end_time"] = end_time
        if name is not None:
            body["run_name"] = name
        reply = self.ctx.call("update_run", "POST", "runs/update", body=body)
        if self.write_refused("update_run", run, reply):
            return
        if status is not None:
            run.status = status
        if end_time is not None:
            run.end_time = end_time
        if name:
            run.run_name = name
            run.tags[RUN_NAME_TAG] = name
        self.ctx.expect("update_run", reply, 200, {"run_info": run.info_json()})

    @rule(run=runs)
    def delete_run(self, run):
        self.do_delete_run(run)

    @rule(run=runs)
    def restore_run(self, run):
        self.do_restore_run(run)

    @rule(exp=experiments)
    def delete_experiment(self, exp):
        self.do_delete_experiment(exp)

    @rule(exp=experiments)
    def restore_experiment(self, exp):
        self.do_restore_experiment(exp)

    @rule(run=runs, name=st.just("") | run_names)
    def rename_by_tag(self, run, name):
        self.do_set_tag(run, RUN_NAME_TAG, name)

    @rule(run=runs, key=tag_keys | st.just(RUN_NAME_TAG))
    def delete_tag(self, run, key):
        self.do_delete_tag(run, key)

    # -- explicit cases (run on every run, before exploration) -------------------------------

    def _world(self):
        exp = self.do_create_experiment("a")
        run = self.do_create_run(exp, "alpha", 100, {"t1": "a"}, "alice") if exp else None
        return exp, run

    @scenario
    def case_create_defaults(self):
        """A run with nothing but its experiment: server-chosen name, defaults."""
        exp = self.do_create_experiment("a")
        if exp is not None:
            run = self.do_create_run(exp, None, None)
            if run is not None:
                self.check_run(run)

    @scenario
    def case_update(self):
        """Status, end time and name in one update; then the name alone; then nothing."""
        _, run = self._world()
        if run is not None:
            self.update_run(run, "FINISHED", 200, "beta")
            self.update_run(run, None, None, "")
            self.update_run(run, None, None, None)
            self.check_run(run)

    @scenario
    def case_writes_to_deleted_run(self):
        """A deleted run refuses updates and tag writes; restore brings it back intact."""
        _, run = self._world()
        if run is not None:
            self.do_delete_run(run)
            self.update_run(run, "FINISHED", None, None)
            self.rename_by_tag(run, "gamma one")
            self.do_restore_run(run)
            self.check_run(run)

    @scenario
    def case_experiment_cascade(self):
        """Deleting an experiment deletes its runs; new runs in it are refused; restore
        brings the runs back."""
        exp, run = self._world()
        if exp is not None and run is not None:
            self.do_delete_experiment(exp)
            self.check_run(run)
            self.do_create_run(exp, "beta", 1)
            self.do_restore_experiment(exp)
            self.check_run(run)

    @scenario
    def case_run_name_coupling(self):
        """The mlflow.runName tag and info.run_name follow each other; a conflict is refused."""
        exp, run = self._world()
        if run is not None:
            self.rename_by_tag(run, "beta")
            self.rename_by_tag(run, "")
            self.delete_tag(run, RUN_NAME_TAG)
            self.check_run(run)
            self.create_run(exp, "alpha", None, {RUN_NAME_TAG: "beta"}, None)
