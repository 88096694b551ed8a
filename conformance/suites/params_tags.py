"""Params and tags rules: param immutability (same value fine, new value refused), batch
validation (duplicate keys, conflicts, atomicity, last tag wins), value truncation, tag
upsert/delete, and key validation."""

from __future__ import annotations

from hypothesis import strategies as st
from hypothesis.stateful import Bundle, multiple, rule

from ..model import PARAM_VALUE_LIMIT, RUN_TAG_VALUE_LIMIT
from ..refs import Ref
from . import register
from .base import ConformanceMachine, param_keys, scenario, short_values, tag_keys

long_param = st.just("p" * (PARAM_VALUE_LIMIT + 1))
long_tag = st.just("t" * (RUN_TAG_VALUE_LIMIT + 1))
bad_keys = st.sampled_from(["bad!key", "a*b", "../up", "/lead", "x//y"])


def _bad_key_message(key: str, param: str) -> str:
    if any(c in key for c in "!*"):
        reason = ("Names may only contain alphanumerics, underscores (_), dashes (-), periods "
                  "(.), spaces ( ), colon(:) and slashes (/).")
    else:
        import posixpath

        reason = ("Names may be treated as files in certain cases, and must not resolve to "
                  f"other names when treated as such. This name would resolve to "
                  f"'{posixpath.normpath(key)}'")
    return f'Invalid value "{key}" for parameter \'{param}\' supplied: {reason}'


@register("params_tags", "params (immutability, batches, truncation) and run tags rules")
class ParamsTagsSuite(ConformanceMachine):
    runs = Bundle("runs")

    @rule(target=runs)
    def create_run(self):
        exp = self.do_create_experiment(self.new_symbol("x"))
        run = self.do_create_run(exp, "r", 0) if exp is not None else None
        return run if run is not None else multiple()

    @rule(run=runs, key=param_keys, value=short_values | long_param)
    def log_param(self, run, key, value):
        self.do_log_param(run, key, value)

    @rule(run=runs, params=st.lists(st.tuples(param_keys, short_values), max_size=3),
          tags=st.lists(st.tuples(tag_keys, short_values | long_tag), max_size=3))
    def log_batch(self, run, params, tags):
        body = {"run_id": Ref(run.symbol)}
        if params:
            body["params"] = [{"key": k, "value": v} for k, v in params]
        if tags:
            body["tags"] = [{"key": k, "value": v} for k, v in tags]
        reply = self.ctx.call("log_batch", "POST", "runs/log-batch", body=body)
        # Order of checks: the batch's own validity, then the run's lifecycle, then conflicts.
        keys = [k for k, _ in params]
        dupes = [k for i, k in enumerate(keys) if k in keys[:i]]  # every repeat, in order
        if dupes:
            self.ctx.expect_error(
                "log_batch", reply, 400, "INVALID_PARAMETER_VALUE",
                f"Duplicate parameter keys have been submitted: {dupes}. Please ensure the "
                "request contains only one param value per param key.")
            return
        if self.write_refused("log_batch", run, reply):
            return
        changed = [{"key": k, "old_value": run.params[k], "new_value": v}
                   for k, v in params if k in run.params and run.params[k] != v]
        if changed:
            self.ctx.expect_error(
                "log_batch", reply, 400, "INVALID_PARAMETER_VALUE",
                f"Changing param values is not allowed. Params were already logged='{changed}' "
                f"for run ID='{run.run_id}'.")
            return  # atomic: nothing of the batch is written
        self.ctx.expect("log_batch", reply, 200, {})
        for k, v in params:
            run.params[k] = v
        for k, v in tags:
            run.set_tag(k, v)

    @rule(run=runs, key=tag_keys, value=short_values | long_tag)
    def set_tag(self, run, key, value):
        self.do_set_tag(run, key, value)

    @rule(run=runs, key=tag_keys)
    def delete_tag(self, run, key):
        self.do_delete_tag(run, key)

    @rule(run=runs, key=bad_keys, kind=st.sampled_from(["log_param", "set_tag"]))
    def invalid_key(self, run, key, kind):
        path = "runs/log-parameter" if kind == "log_param" else "runs/set-tag"
        reply = self.ctx.call(kind, "POST", path,
                              body={"run_id": Ref(run.symbol), "key": key, "value": "v"})
        # Keys are validated before the run is even looked up.
        self.ctx.expect_error(kind, reply, 400, "INVALID_PARAMETER_VALUE",
                              _bad_key_message(key, "key"))

    @rule(run=runs)
    def get_run(self, run):
        self.check_run(run)

    @rule(run=runs)
    def delete_run(self, run):
        self.do_delete_run(run)

    @rule(run=runs)
    def restore_run(self, run):
        self.do_restore_run(run)

    # -- explicit cases (run on every run, before exploration) -------------------------------

    def _run(self):
        exp = self.do_create_experiment("x")
        return self.do_create_run(exp, "r", 0) if exp is not None else None

    @scenario
    def case_param_immutability(self):
        """The same value again is fine; a new value is refused, singly and in a batch."""
        run = self._run()
        if run is not None:
            self.log_param(run, "p1", "a")
            self.log_param(run, "p1", "a")
            self.log_param(run, "p1", "b")
            self.log_batch(run, [("p1", "b")], [])
            self.get_run(run)

    @scenario
    def case_batch_duplicate_param_keys(self):
        run = self._run()
        if run is not None:
            self.log_batch(run, [("p1", "a"), ("p1", "a")], [("t1", "a")])
            self.get_run(run)

    @scenario
    def case_batch_last_tag_wins(self):
        run = self._run()
        if run is not None:
            self.log_batch(run, [("p1", "a")], [("t1", "a"), ("t1", "b")])
            self.get_run(run)

    @scenario
    def case_truncation(self):
        """Over-long param and tag values are truncated to their limits."""
        run = self._run()
        if run is not None:
            self.log_param(run, "p2", "p" * (PARAM_VALUE_LIMIT + 1))
            self.set_tag(run, "t1", "t" * (RUN_TAG_VALUE_LIMIT + 1))
            self.log_batch(run, [], [("t2", "t" * (RUN_TAG_VALUE_LIMIT + 1))])
            self.get_run(run)

    @scenario(params=["bad!key", "../up", "x//y"])
    def case_invalid_keys(self, key):
        run = self._run()
        if run is not None:
            self.invalid_key(run, key, "log_param")
            self.invalid_key(run, key, "set_tag")

    @scenario
    def case_tags(self):
        run = self._run()
        if run is not None:
            self.set_tag(run, "t1", "a")
            self.set_tag(run, "t1", "b")
            self.delete_tag(run, "t1")
            self.delete_tag(run, "t1")
            self.get_run(run)

    @scenario
    def case_writes_to_deleted_run(self):
        run = self._run()
        if run is not None:
            self.delete_run(run)
            self.log_param(run, "p1", "a")
            self.set_tag(run, "t1", "a")
            self.delete_tag(run, "t1")
            self.log_batch(run, [("p2", "a")], [])
            self.restore_run(run)
            self.get_run(run)
