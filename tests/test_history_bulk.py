"""The UI's ``metrics/get-history-bulk`` over several runs: points in run id order, one limit
for the whole answer. The differential (catalogue ``metric-history-bulk``) covers one run per
request, since run ids, and so the order of runs, differ between two servers."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st
from werkzeug.test import Client

from fakeflow import create_app
from fakeflow.state.tracking import MetricInput

BULK = "/ajax-api/2.0/mlflow/metrics/get-history-bulk"


def _client_with_runs(points: list[int]) -> tuple[Client, list[str]]:
    app = create_app()
    store = app.store
    run_ids = []
    for count in points:
        run = store.create_run("0", start_time=1)
        store.log_batch(run.run_id, [MetricInput("m", float(i), 1_000 + i, i) for i in range(count)],
                        [], [])
        run_ids.append(run.run_id)
    return Client(app), run_ids


@settings(max_examples=40, deadline=None)
@given(points=st.lists(st.integers(0, 6), min_size=1, max_size=4),
       max_results=st.one_of(st.none(), st.integers(-8, 30)))
def test_points_come_in_run_id_order_under_one_limit(points: list[int], max_results: int | None) -> None:
    client, run_ids = _client_with_runs(points)
    query = [("run_id", r) for r in reversed(run_ids)] + [("metric_key", "m")]
    if max_results is not None:
        query.append(("max_results", str(max_results)))
    answer = client.get(BULK, query_string=query)
    assert answer.status_code == 200
    # What MLflow's SQL gives: ORDER BY run id, timestamp, step, value; LIMIT (negative: none),
    # then Python's [:max_results] of that list.
    everything = [(run_id, i) for run_id, count in sorted(zip(run_ids, points)) for i in range(count)]
    limit = 25_000 if max_results is None else min(max_results, 25_000)
    expected = (everything[:limit] if limit >= 0 else everything)[:limit]
    got = [(m["run_id"], m["step"]) for m in json.loads(answer.data)["metrics"]]
    assert got == expected
    assert answer.data.endswith(b"\n") and b": " not in answer.data  # Flask's compact JSON
