"""The plugin under pytest-xdist: one fake per worker, each test still clean."""

from __future__ import annotations

import json

import pytest

pytest_plugins = ("pytester",)

pytest.importorskip("mlflow")
pytest.importorskip("xdist")

SUITE = """
import json, os, pathlib
import mlflow
import pytest

@pytest.mark.parametrize("n", range(8))
def test_logs_one_run(fakeflow, n):
    assert fakeflow.store.runs == {}
    with mlflow.start_run() as run:
        mlflow.log_metric("n", n)
    assert [r.run_id for r in fakeflow.store.runs.values()] == [run.info.run_id]
    assert fakeflow.requests.logged_metrics() == [("n", float(n), 0)]
    out = pathlib.Path(__file__).with_name(f"out-{n}.json")
    out.write_text(json.dumps({"worker": os.environ.get("PYTEST_XDIST_WORKER"),
                               "url": fakeflow.url, "pid": os.getpid(),
                               "run_id": run.info.run_id}))
"""


def test_two_workers_each_have_their_own_fake(pytester, monkeypatch):
    for name in ("FAKEFLOW_TRANSPORT", "FAKEFLOW_TARGET", "FAKEFLOW_SEED", "FAKEFLOW_RESET",
                 "MLFLOW_TRACKING_URI"):
        monkeypatch.delenv(name, raising=False)
    pytester.makepyfile(test_suite=SUITE)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-n", "2", "-q",
                                           "--fakeflow-seed=3", timeout=120)
    result.assert_outcomes(passed=8)
    records = [json.loads(p.read_text()) for p in sorted(pytester.path.glob("out-*.json"))]
    assert len(records) == 8
    workers = {r["worker"] for r in records}
    assert workers == {"gw0", "gw1"}
    by_worker = {w: {(r["url"], r["pid"]) for r in records if r["worker"] == w} for w in workers}
    assert all(len(v) == 1 for v in by_worker.values())  # one server per worker process
    assert len({r["url"] for r in records}) == 2
    # Seeded and reset before every test: every test, on either worker, made the same run id.
    assert len({r["run_id"] for r in records}) == 1
