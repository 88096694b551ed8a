"""Experiment lifecycle: create, get, get-by-name, rename, tags, delete/restore, and the rules
that tie them together (names stay reserved while deleted, renames of deleted experiments)."""

from __future__ import annotations

from hypothesis import strategies as st
from hypothesis.stateful import Bundle, multiple, rule

from ..refs import Ref
from . import register
from .base import ConformanceMachine, scenario, short_values, tag_keys

suffixes = st.sampled_from(["a", "b", "c", "d"])


@register("experiments", "experiment lifecycle: create/get/rename/tags/delete/restore")
class ExperimentSuite(ConformanceMachine):
    experiments = Bundle("experiments")

    @rule(target=experiments, suffix=suffixes,
          tags=st.dictionaries(tag_keys, short_values, max_size=2))
    def create(self, suffix, tags):
        exp = self.do_create_experiment(suffix, tags)
        return exp if exp is not None else multiple()

    @rule(exp=experiments)
    def get(self, exp):
        self.refresh_experiment(exp)

    @rule(exp=experiments)
    def get_by_name(self, exp):
        reply = self.ctx.call("get_experiment_by_name", "GET", "experiments/get-by-name",
                              query={"experiment_name": exp.name})
        self.ctx.expect("get_experiment_by_name", reply, 200, {"experiment": exp.to_json()})

    @rule(suffix=suffixes)
    def get_by_unknown_name(self, suffix):
        name = self.name("missing-" + suffix)
        reply = self.ctx.call("get_experiment_by_name", "GET", "experiments/get-by-name",
                              query={"experiment_name": name})
        self.ctx.expect_error("get_experiment_by_name", reply, 404, "RESOURCE_DOES_NOT_EXIST",
                              f"Could not find experiment with name '{name}'")

    @rule(exp=experiments)
    def delete(self, exp):
        self.do_delete_experiment(exp)
        self.refresh_experiment(exp)

    @rule(exp=experiments)
    def restore(self, exp):
        self.do_restore_experiment(exp)
        self.refresh_experiment(exp)

    @rule(exp=experiments, suffix=suffixes)
    def rename(self, exp, suffix):
        new_name = self.name("renamed-" + suffix)
        reply = self.ctx.call("update_experiment", "POST", "experiments/update",
                              body={"experiment_id": Ref(exp.symbol), "new_name": new_name})
        if exp.lifecycle_stage == "deleted":
            self.ctx.expect_error("update_experiment", reply, 500, "INVALID_STATE",
                                  "Cannot rename a non-active experiment.")
        elif new_name in self.model.names_in_use() and new_name != exp.name:
            self.ctx.expect_error("update_experiment", reply, 400, "BAD_REQUEST")
        else:
            self.ctx.expect("update_experiment", reply, 200, {})
            exp.name = new_name
            self.tick()
        self.refresh_experiment(exp)

    @rule(exp=experiments, key=tag_keys, value=short_values)
    def set_tag(self, exp, key, value):
        reply = self.ctx.call("set_experiment_tag", "POST", "experiments/set-experiment-tag",
                              body={"experiment_id": Ref(exp.symbol), "key": key, "value": value})
        if exp.lifecycle_stage == "deleted":
            self.ctx.expect_error("set_experiment_tag", reply, 400, "INVALID_PARAMETER_VALUE",
                                  f"The experiment {exp.experiment_id} must be in the 'active' "
                                  "state. Current state is deleted.")
            return
        self.ctx.expect("set_experiment_tag", reply, 200, {})
        exp.tags[key] = value

    @rule(exp=experiments, key=tag_keys)
    def delete_tag(self, exp, key):
        reply = self.ctx.call("delete_experiment_tag", "POST", "experiments/delete-experiment-tag",
                              body={"experiment_id": Ref(exp.symbol), "key": key})
        if exp.lifecycle_stage == "deleted":
            self.ctx.expect_error("delete_experiment_tag", reply, 400, "INVALID_PARAMETER_VALUE")
        elif key not in exp.tags:
            self.ctx.expect_error("delete_experiment_tag", reply, 404, "RESOURCE_DOES_NOT_EXIST",
                                  f"No tag with name: {key} in experiment with id "
                                  f"{exp.experiment_id}")
        else:
            self.ctx.expect("delete_experiment_tag", reply, 200, {})
            del exp.tags[key]

    # -- explicit cases (run on every run, before exploration) -------------------------------

    @scenario
    def case_lifecycle(self):
        """Create (with a tag), read by id and by name, rename, delete, restore."""
        exp = self.do_create_experiment("a", {"t1": "a"})
        if exp is None:
            return
        self.get_by_name(exp)
        self.rename(exp, "b")
        self.delete(exp)
        self.restore(exp)

    @scenario
    def case_tags(self):
        """Set, overwrite and delete an experiment tag; delete a tag never set."""
        exp = self.do_create_experiment("a", {"t1": "a"})
        if exp is None:
            return
        self.set_tag(exp, "t2", "b")
        self.set_tag(exp, "t2", "x y")
        self.delete_tag(exp, "t1")
        self.delete_tag(exp, "team")
        self.refresh_experiment(exp)

    @scenario
    def case_writes_to_deleted_experiment(self):
        """A deleted experiment refuses tags and renames, keeps its name reserved, and a
        second delete of it is answered 404."""
        exp = self.do_create_experiment("a")
        if exp is None:
            return
        self.do_delete_experiment(exp)
        self.set_tag(exp, "t1", "a")
        self.rename(exp, "b")
        self.do_create_experiment("a")
        self.do_delete_experiment(exp)
        self.refresh_experiment(exp)

    @scenario
    def case_duplicate_name(self):
        """A name is unique; renaming onto a taken name is refused."""
        first = self.do_create_experiment("a")
        second = self.do_create_experiment("b")
        self.do_create_experiment("a")
        if first is not None and second is not None:
            reply = self.ctx.call("update_experiment", "POST", "experiments/update",
                                  body={"experiment_id": Ref(second.symbol), "new_name": first.name})
            self.ctx.expect_error("update_experiment", reply, 400, "BAD_REQUEST")
            self.refresh_experiment(second)

    @scenario
    def case_unknown_name(self):
        self.get_by_unknown_name("a")
