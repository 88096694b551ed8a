"""Search over generated data: runs (filters on metrics/params/tags/attributes, order_by with
missing values and NaN, view types, paging) and experiments (name/tag/id filters, ordering,
view types, paging). Every search is scoped to the example's own experiments so a server
holding other data does not disturb the results."""

from __future__ import annotations

from hypothesis import strategies as st
from hypothesis.stateful import initialize, precondition, rule

from ..model import RUN_NAME_TAG, STATUSES
from ..refs import Ref
from ..search_model import (
    Clause, OrderKey, experiment_matches, order_experiments, order_runs, render_filter,
    run_matches,
)
from . import register
from .base import ConformanceMachine, metric_values, scenario

NUMBERS = [-1.5, 0.5, 1.0, 2.0, 3.25, 7.0]
STRINGS = ["a", "b", "x y", "1", "10", "A"]
PATTERNS = ["a%", "%y", "_", "%", "A%", "1_"]
VIEW_TYPES = ["ACTIVE_ONLY", "DELETED_ONLY", "ALL"]

metric_clause = st.builds(Clause, st.just("metrics"), st.sampled_from(["m1", "m2"]),
                          st.sampled_from(["=", "!=", "<", "<=", ">", ">="]),
                          st.sampled_from(NUMBERS))
string_clause = st.builds(
    Clause, st.sampled_from(["params", "tags"]), st.sampled_from(["k1", "k2"]),
    st.sampled_from(["=", "!="]), st.sampled_from(STRINGS),
) | st.builds(
    Clause, st.sampled_from(["params", "tags"]), st.sampled_from(["k1", "k2"]),
    st.sampled_from(["LIKE", "ILIKE"]), st.sampled_from(PATTERNS),
) | st.builds(
    Clause, st.sampled_from(["params", "tags"]), st.sampled_from(["k1", "k2"]),
    st.sampled_from(["IS NULL", "IS NOT NULL"]),
)
attribute_clause = st.builds(
    Clause, st.just("attributes"), st.just("status"), st.sampled_from(["=", "!="]),
    st.sampled_from(STATUSES[:3]),
) | st.builds(
    Clause, st.just("attributes"), st.just("run_name"), st.sampled_from(["=", "!=", "LIKE", "ILIKE"]),
    st.sampled_from(["n1", "n2", "N%", "n%"]),
) | st.builds(
    Clause, st.just("attributes"), st.just("start_time"),
    st.sampled_from(["<", ">=", "="]), st.sampled_from([100, 300, 500]),
)
run_order_key = st.builds(
    lambda pair, asc: OrderKey(pair[0], pair[1], asc),
    st.sampled_from([("metrics", "m1"), ("params", "k1"), ("tags", "k1"),
                     ("attributes", "start_time"), ("attributes", "run_name"),
                     ("attributes", "status")]),
    st.booleans(),
)
exp_order_key = st.builds(
    OrderKey, st.just("attributes"),
    st.sampled_from(["name", "experiment_id", "creation_time", "last_update_time"]), st.booleans(),
)


def _distinct(keys: list[OrderKey]) -> list[OrderKey]:
    seen, out = set(), []
    for k in keys:
        if (k.entity, k.key) not in seen:
            seen.add((k.entity, k.key))
            out.append(k)
    return out


@register("search", "runs/experiments search: filters, ordering, view types, paging")
class SearchSuite(ConformanceMachine):
    def __init__(self) -> None:
        super().__init__()
        self.used_start_times: set[int] = set()

    @initialize(exp_tags=st.lists(st.none() | st.sampled_from(STRINGS), min_size=2, max_size=3),
                specs=st.lists(st.fixed_dictionaries({
                    "exp": st.integers(0, 2), "start": st.integers(0, 6),
                    "name": st.sampled_from(["n1", "n2", "N3"]),
                    "metrics": st.dictionaries(st.sampled_from(["m1", "m2"]),
                                               st.tuples(metric_values, st.integers(0, 2)),
                                               max_size=2),
                    "params": st.dictionaries(st.sampled_from(["k1", "k2"]),
                                              st.sampled_from(STRINGS), max_size=2),
                    "tags": st.dictionaries(st.sampled_from(["k1", "k2"]),
                                            st.sampled_from(STRINGS), max_size=2),
                    "status": st.none() | st.sampled_from(STATUSES),
                }), min_size=2, max_size=7))
    def populate(self, exp_tags, specs):
        """A populated world first, so that searches have something to find and to page."""
        exps = []
        for i, tag in enumerate(exp_tags):
            exp = self.do_create_experiment(f"seed{i}", {"k1": tag} if tag is not None else None)
            if exp is not None:
                exps.append(exp)
        for spec in specs:
            run = self._create_run(exps[spec["exp"] % len(exps)], spec["start"],
                                   spec["name"]) if exps else None
            if run is not None:
                for key, (value, step) in spec["metrics"].items():
                    self.do_log_metric(run, key, value, 1, step)
                for key, value in spec["params"].items():
                    self.do_log_param(run, key, value)
                for key, value in spec["tags"].items():
                    self.do_set_tag(run, key, value)
                if spec["status"]:
                    self._set_status(run, spec["status"])

    def _pick_experiment(self, data):
        return data.draw(st.sampled_from(sorted(self.model.experiments.values(),
                                                key=lambda e: e.symbol)), label="experiment")

    def _create_run(self, exp, start, name):
        # Unique start times: MLflow breaks remaining ties by run id, which differs per server.
        start_time = start * 100
        while start_time in self.used_start_times:
            start_time += 1
        self.used_start_times.add(start_time)
        return self.do_create_run(exp, name, start_time)

    def _set_status(self, run, status):
        reply = self.ctx.call("update_run", "POST", "runs/update",
                              body={"run_id": Ref(run.symbol), "status": status})
        if not self.write_refused("update_run", run, reply):
            if reply.status >= 400 and not self.ctx.expect("update_run", reply, 200, {},
                                                           refusable=True):
                return  # refused: nothing was written
            run.status = status
            self.ctx.expect("update_run", reply, 200, {"run_info": run.info_json()})

    @precondition(lambda self: self.model.experiments)
    @rule(data=st.data(), kind=st.sampled_from(
        ["create_experiment", "create_run", "log_metric", "log_param", "set_tag", "set_status",
         "delete_run", "restore_run", "delete_experiment", "restore_experiment",
         "delete_run_name_tag"]))
    def change(self, data, kind):
        """One mutation between searches (a single rule, so searches stay frequent)."""
        runs = sorted(self.model.runs.values(), key=lambda r: r.symbol)
        if kind == "create_experiment":
            tag = data.draw(st.none() | st.sampled_from(STRINGS), label="tag")
            self.do_create_experiment(data.draw(st.sampled_from(["e1", "e2", "E3"]), label="suffix"),
                                      {"k1": tag} if tag is not None else None)
        elif kind == "create_run":
            self._create_run(self._pick_experiment(data), data.draw(st.integers(0, 6), label="start"),
                             data.draw(st.sampled_from(["n1", "n2", "N3"]), label="name"))
        elif kind in ("delete_experiment", "restore_experiment"):
            exp = self._pick_experiment(data)
            (self.do_delete_experiment if kind == "delete_experiment" else self.do_restore_experiment)(exp)
            self.refresh_experiment(exp)
        elif runs:
            run = data.draw(st.sampled_from(runs), label="run")
            if kind == "log_metric":
                self.do_log_metric(run, data.draw(st.sampled_from(["m1", "m2"]), label="key"),
                                   data.draw(metric_values, label="value"), 1,
                                   data.draw(st.integers(0, 2), label="step"))
            elif kind in ("log_param", "set_tag"):
                key = data.draw(st.sampled_from(["k1", "k2"]), label="key")
                value = data.draw(st.sampled_from(STRINGS), label="value")
                (self.do_log_param if kind == "log_param" else self.do_set_tag)(run, key, value)
            elif kind == "set_status":
                self._set_status(run, data.draw(st.sampled_from(STATUSES), label="status"))
            elif kind == "delete_run":
                self.do_delete_run(run)
            elif kind == "delete_run_name_tag":
                # run_name filters then miss the run; ordering still uses the stored name.
                self.do_delete_tag(run, RUN_NAME_TAG)
            else:
                self.do_restore_run(run)

    @precondition(lambda self: self.model.experiments)
    @rule(data=st.data(),
          clauses=st.lists(metric_clause | string_clause | attribute_clause, max_size=2),
          order=st.lists(run_order_key, max_size=2).map(_distinct),
          page_size=st.integers(1, 4), view=st.none() | st.sampled_from(VIEW_TYPES))
    def search_runs(self, data, clauses, order, page_size, view):
        exps = list(self.model.experiments.values())
        chosen = data.draw(st.lists(st.sampled_from(exps), min_size=1, max_size=len(exps),
                                    unique_by=lambda e: e.symbol), label="experiments")
        if self.model.runs and data.draw(st.booleans(), label="add run_id IN"):
            some = data.draw(st.lists(st.sampled_from(list(self.model.runs.values())), min_size=1,
                                      max_size=2, unique_by=lambda r: r.symbol), label="run ids")
            clauses = clauses + [Clause("attributes", "run_id", data.draw(
                st.sampled_from(["IN", "NOT IN"]), label="in op"), tuple(Ref(r.symbol) for r in some))]
        self.do_search_runs(chosen, clauses, order, page_size, view)

    def do_search_runs(self, chosen, clauses, order, page_size, view):
        resolve = lambda ref: self.ctx.ids[0].value(ref.symbol)  # noqa: E731
        wanted_stage = {"ACTIVE_ONLY": {"active"}, "DELETED_ONLY": {"deleted"},
                        "ALL": {"active", "deleted"}}[view or "ACTIVE_ONLY"]
        matching = [r for r in self.model.runs.values()
                    if r.experiment in chosen and r.lifecycle_stage in wanted_stage
                    and all(run_matches(r, c, resolve) for c in clauses)]
        expected = order_runs(matching, order)
        body = {"experiment_ids": [Ref(e.symbol) for e in chosen], "max_results": page_size}
        if clauses:
            body["filter"] = render_filter(clauses)
        if order:
            body["order_by"] = [k.render() for k in order]
        if view:
            body["run_view_type"] = view
        self._page_through("search_runs", "runs/search", body, "runs",
                           [r.to_json("search") for r in expected], page_size)

    @precondition(lambda self: self.model.experiments)
    @rule(data=st.data(), order=st.lists(exp_order_key, max_size=2).map(_distinct),
          page_size=st.integers(1, 3), view=st.none() | st.sampled_from(VIEW_TYPES),
          kind=st.sampled_from(["none", "name", "tag", "id"]))
    def search_experiments(self, data, order, page_size, view, kind):
        exps = list(self.model.experiments.values())
        clauses: list[Clause] = []
        if kind == "name":
            op = data.draw(st.sampled_from(["=", "!=", "LIKE", "ILIKE"]), label="op")
            target = data.draw(st.sampled_from(exps), label="exp").name
            value = {"=": target, "!=": target, "LIKE": target[:-1] + "%",
                     "ILIKE": (target[:-2] + "%").upper()}[op]
            clauses.append(Clause("attributes", "name", op, value))
        elif kind == "tag":
            clauses.append(data.draw(string_clause.map(
                lambda c: Clause("tags", "k1", c.op, c.value)), label="tag clause"))
        elif kind == "id":
            some = data.draw(st.lists(st.sampled_from(exps), min_size=1, max_size=2,
                                      unique_by=lambda e: e.symbol), label="ids")
            clauses.append(Clause("attributes", "experiment_id",
                                  data.draw(st.sampled_from(["IN", "NOT IN"]), label="in op"),
                                  tuple(Ref(e.symbol) for e in some)))
        self.do_search_experiments(clauses, order, page_size, view)

    def do_search_experiments(self, clauses, order, page_size, view):
        exps = list(self.model.experiments.values())
        resolve = lambda ref: self.ctx.ids[0].value(ref.symbol)  # noqa: E731
        wanted_stage = {"ACTIVE_ONLY": {"active"}, "DELETED_ONLY": {"deleted"},
                        "ALL": {"active", "deleted"}}[view or "ACTIVE_ONLY"]
        matching = [e for e in exps if e.lifecycle_stage in wanted_stage
                    and all(experiment_matches(e, c, resolve) for c in clauses)]
        expected = order_experiments(matching, order)
        scope = f"name LIKE '{self.prefix}-%'"  # only this example's experiments
        body = {"filter": render_filter(clauses, prefix=scope), "max_results": page_size}
        if order:
            body["order_by"] = [k.render() for k in order]
        if view:
            body["view_type"] = view
        self._page_through("search_experiments", "experiments/search", body, "experiments",
                           [e.to_json() for e in expected], page_size)

    def _page_through(self, op: str, path: str, body: dict, field: str,
                      expected: list, page_size: int) -> None:
        offset, token = 0, None
        for _ in range(len(expected) // page_size + 2):
            request = dict(body, page_token=token) if token else body
            reply = self.ctx.call(op, "POST", path, body=request)
            page = expected[offset:offset + page_size]
            offset += page_size
            want: dict = {field: page} if page else {}
            if offset < len(expected):
                want["next_page_token"] = "<token>"
            self.ctx.expect(op, reply, 200, want)
            token = (reply.json or {}).get("next_page_token") if reply.status == 200 else None
            if not token:
                return

    # -- explicit cases (run on every run, before exploration) -------------------------------

    def _world(self):
        """Two experiments (one tagged), three runs with metrics, params and tags; made once
        per machine (read-only cases share it)."""
        if self.model.experiments:
            return sorted(self.model.experiments.values(), key=lambda e: e.symbol)
        self.populate([None, "a"], [
            {"exp": 0, "start": 1, "name": "n1", "metrics": {"m1": (1.0, 0)},
             "params": {"k1": "a"}, "tags": {"k1": "x y"}, "status": None},
            {"exp": 0, "start": 2, "name": "n2", "metrics": {"m1": (7.0, 1)},
             "params": {"k1": "b"}, "tags": {}, "status": "FINISHED"},
            {"exp": 1, "start": 3, "name": "N3", "metrics": {"m2": (0.5, 0)},
             "params": {}, "tags": {"k2": "A"}, "status": None},
        ])
        exps = sorted(self.model.experiments.values(), key=lambda e: e.symbol)
        return exps

    @scenario(params=[1, 2, 3, 4], shared="world")
    def case_run_pages(self, page_size):
        """Three runs paged 1-4 at a time; a page that is exactly full and last (3 by 1 or
        by 3) carries no next_page_token."""
        exps = self._world()
        self.do_search_runs(exps, [], [OrderKey("attributes", "start_time", True)], page_size, None)

    @scenario(params=[1, 2, 3], shared="world")
    def case_experiment_pages(self, page_size):
        """Two experiments paged 1-3 at a time (2 by 1 and 2 by 2 end exactly full)."""
        self._world()
        self.do_search_experiments([], [OrderKey("attributes", "name", True)], page_size, None)

    @scenario(params=["IN", "NOT IN"], shared="world", subject="search_experiments")
    def case_experiment_id_in(self, op):
        exps = self._world()
        self.do_search_experiments([Clause("attributes", "experiment_id", op, (Ref(exps[0].symbol),))],
                                   [], 3, None)

    @scenario(params=["IS NULL", "IS NOT NULL"], shared="world", subject="search_experiments")
    def case_experiment_tag_null(self, op):
        self._world()
        self.do_search_experiments([Clause("tags", "k1", op)], [], 3, None)

    @scenario(params=[("metrics", "m1", ">", 0.5), ("params", "k1", "=", "a"),
                      ("tags", "k1", "LIKE", "x%"), ("params", "k2", "IS NULL", None),
                      ("attributes", "status", "=", "FINISHED"),
                      ("attributes", "run_name", "ILIKE", "n%")], shared="world",
              subject="search_runs")
    def case_run_filter(self, clause):
        exps = self._world()
        self.do_search_runs(exps, [Clause(*clause)], [], 5, None)

    @scenario(params=[("metrics", "m1"), ("params", "k1"), ("attributes", "run_name")],
              shared="world")
    def case_run_order_missing_values(self, key):
        """Ordering by a key some runs lack: those come last, both directions."""
        exps = self._world()
        for asc in (True, False):
            self.do_search_runs(exps, [], [OrderKey(key[0], key[1], asc)], 5, None)

    @scenario(params=["ACTIVE_ONLY", "DELETED_ONLY", "ALL"])
    def case_view_types(self, view):
        exps = self._world()
        runs = sorted(self.model.runs.values(), key=lambda r: r.symbol)
        if runs:
            self.do_delete_run(runs[0])
        self.do_delete_experiment(exps[-1])
        self.do_search_runs(exps, [], [], 5, view)
        self.do_search_experiments([], [], 5, view)
