"""Metric history and latest values: duplicates dropped, NaN/±inf handling, history order
(timestamp, step, value), history paging, and the latest-value rule (max of step, timestamp,
value) shown in GetRun."""

from __future__ import annotations

from hypothesis import strategies as st
from hypothesis.stateful import Bundle, multiple, rule

from ..model import Point, request_value, stored_value
from ..refs import Ref
from . import register
from .base import ConformanceMachine, metric_keys, metric_values, scenario, steps, timestamps

points = st.tuples(metric_keys, metric_values, timestamps, steps)


@register("metrics", "metric history (order, dedup, NaN/inf, paging) and latest values")
class MetricSuite(ConformanceMachine):
    runs = Bundle("runs")

    @rule(target=runs)
    def create_run(self):
        exp = self.do_create_experiment(self.new_symbol("x"))
        run = self.do_create_run(exp, "r", 0) if exp is not None else None
        return run if run is not None else multiple()

    @rule(run=runs, key=metric_keys, value=metric_values, timestamp=timestamps,
          step=st.none() | steps)
    def log_metric(self, run, key, value, timestamp, step):
        self.do_log_metric(run, key, value, timestamp, step)

    @rule(run=runs, batch=st.lists(points, min_size=1, max_size=5))
    def log_batch(self, run, batch):
        if len(batch) > 1:
            batch = batch + batch[:1]  # an exact duplicate inside one batch is dropped
        self.send_batch(run, batch)

    def send_batch(self, run, batch):
        body = {"run_id": Ref(run.symbol), "metrics": [
            {"key": k, "value": request_value(v), "timestamp": t, "step": s}
            for k, v, t, s in batch]}
        reply = self.ctx.call("log_batch", "POST", "runs/log-batch", body=body)
        if self.write_refused("log_batch", run, reply):
            return
        if not self.ctx.expect("log_batch", reply, 200, {}, refusable=True) and reply.status >= 400:
            return  # refused as a whole: a batch is atomic
        for k, v, t, s in batch:
            run.log_metric(k, Point(stored_value(v), t, s))

    @rule(run=runs, key=metric_keys)
    def history(self, run, key):
        reply = self.ctx.call("get_metric_history", "GET", "metrics/get-history",
                              query={"run_id": Ref(run.symbol), "metric_key": key})
        expected = [p.to_json(key) for p in run.sorted_history(key)]
        self.ctx.expect("get_metric_history", reply, 200, {"metrics": expected} if expected else {})

    @rule(run=runs, key=metric_keys, page_size=st.integers(1, 3))
    def history_paged(self, run, key, page_size):
        expected = [p.to_json(key) for p in run.sorted_history(key)]
        token, offset = None, 0
        for _ in range(len(expected) // page_size + 2):
            query = {"run_id": Ref(run.symbol), "metric_key": key, "max_results": page_size}
            if token:
                query["page_token"] = token
            reply = self.ctx.call("get_metric_history", "GET", "metrics/get-history", query=query)
            page = expected[offset:offset + page_size]
            offset += page_size
            body = {"metrics": page} if page else {}
            if offset < len(expected):
                body["next_page_token"] = "<token>"
            self.ctx.expect("get_metric_history", reply, 200, body)
            token = (reply.json or {}).get("next_page_token")
            if not token:
                break

    @rule(run=runs)
    def latest_values(self, run):
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

    @scenario(params=[1, 2, 3], subject="get_metric_history")
    def case_history_paging(self, page_size):
        """Three points paged 1, 2 or 3 at a time: max_results is honoured, and an exactly
        full last page (3 by 1, 3 by 3) carries no next_page_token."""
        run = self._run()
        if run is not None:
            for t in (3, 1, 2):
                self.do_log_metric(run, "m1", float(t), t, 0)
            self.history_paged(run, "m1", page_size)

    @scenario(params=[1.0, float("nan"), float("inf")], subject="log_batch")
    def case_duplicate_points_in_one_batch(self, value):
        """The same point twice in one batch is stored once (NaN and infinity included)."""
        run = self._run()
        if run is not None:
            self.send_batch(run, [("m1", value, 1, 0), ("m1", value, 1, 0)])
            self.history(run, "m1")

    @scenario
    def case_duplicate_point_across_calls(self):
        run = self._run()
        if run is not None:
            self.do_log_metric(run, "m1", 2.0, 1, 0)
            self.do_log_metric(run, "m1", 2.0, 1, 0)
            self.history(run, "m1")

    @scenario
    def case_non_finite_values(self):
        """NaN and infinities are stored (infinities clamped) and ordered like 0 / extremes."""
        run = self._run()
        if run is not None:
            for i, value in enumerate([float("nan"), float("inf"), float("-inf")]):
                self.do_log_metric(run, "m1", value, i, i)
            self.history(run, "m1")
            self.latest_values(run)

    @scenario
    def case_latest_value(self):
        """The latest value is the one with the highest step, then timestamp, then value."""
        run = self._run()
        if run is not None:
            for value, ts, step in [(1.0, 5, 0), (2.0, 1, 1), (3.25, 1, 1), (7.0, 0, 1)]:
                self.do_log_metric(run, "m1", value, ts, step)
            self.latest_values(run)

    @scenario
    def case_history_of_unlogged_key(self):
        run = self._run()
        if run is not None:
            self.history(run, "m2")
            self.history_paged(run, "m2", 2)

    @scenario
    def case_writes_to_deleted_run(self):
        run = self._run()
        if run is not None:
            self.do_delete_run(run)
            self.do_log_metric(run, "m1", 1.0, 1, 0)
            self.send_batch(run, [("m1", 1.0, 1, 0)])
            self.do_restore_run(run)
            self.history(run, "m1")
