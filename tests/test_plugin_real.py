"""``--fakeflow-target``: the same downstream tests against a real MLflow 3.17.2 server."""

from __future__ import annotations

import json

import pytest
import requests

pytest_plugins = ("pytester",)

pytest.importorskip("mlflow")

QUIET = ("-p", "no:cacheprovider", "-p", "no:unraisableexception", "-p", "no:hypothesispytest",
         "-p", "no:anyio", "-p", "no:xdist", "-p", "no:xdist.looponfail")


@pytest.fixture
def real_mlflow(reference_server) -> str:
    """The session's one real server (tests/conftest.py: skipped without MLflow, unless CI)."""
    return reference_server.url.rstrip("/")


@pytest.fixture(autouse=True)
def _quiet_env(monkeypatch):
    for name in ("FAKEFLOW_TRANSPORT", "FAKEFLOW_TARGET", "FAKEFLOW_SEED", "FAKEFLOW_RESET",
                 "MLFLOW_TRACKING_URI", "MLFLOW_EXPERIMENT_ID", "MLFLOW_EXPERIMENT_NAME",
                 "MLFLOW_RUN_ID"):
        monkeypatch.delenv(name, raising=False)


PORTABLE_SUITE = """
import json, pathlib
import mlflow
import pytest

OUT = pathlib.Path(__file__).with_name("out.json")

def record(**items):
    data = json.loads(OUT.read_text()) if OUT.exists() else {}
    data.update(items)
    OUT.write_text(json.dumps(data))

def test_runs_go_to_the_tests_own_experiment(fakeflow):
    with mlflow.start_run() as run:
        mlflow.log_metric("m", 1.0)
    assert run.info.experiment_id == fakeflow.experiment_id
    found = fakeflow.client.search_runs([fakeflow.experiment_id])
    assert [r.info.run_id for r in found] == [run.info.run_id]
    record(default_experiment=fakeflow.experiment_id)

@pytest.mark.parametrize("n", [1, 2])
def test_named_experiments_do_not_clash(fakeflow, n):
    name = fakeflow.name("training")
    experiment_id = fakeflow.client.create_experiment(name)
    mlflow.set_experiment(name)
    with mlflow.start_run() as run:
        mlflow.log_param("n", n)
    assert run.info.experiment_id == experiment_id
    record(**{f"name{n}": name})

def test_leaks_a_run(fakeflow):
    run = mlflow.start_run()
    record(leaked=run.info.run_id)

def test_the_client_is_pointed_back_after(fakeflow):
    assert mlflow.active_run() is None
    assert mlflow.get_tracking_uri() == fakeflow.url

@pytest.mark.fakeflow_real
def test_only_on_a_real_server(fakeflow):
    assert not fakeflow.is_fake
    assert fakeflow.rest.get("/version").text.strip() == "3.17.2"

@pytest.mark.fakeflow_only
def test_only_on_the_fake(fakeflow):
    assert fakeflow.store is not None
"""


def test_same_suite_against_a_real_server(pytester, real_mlflow):
    pytester.makepyfile(test_suite=PORTABLE_SUITE)
    result = pytester.runpytest_inprocess(*QUIET, "-q", "-rs", f"--fakeflow-target={real_mlflow}")
    result.assert_outcomes(passed=6, skipped=1)
    result.stdout.fnmatch_lines(["*runs only against the fake*"])
    out = json.loads((pytester.path / "out.json").read_text())
    assert out["name1"] != out["name2"] and out["name1"].startswith("training-")
    api = real_mlflow + "/api/2.0/mlflow/"
    # each test cleaned up after itself: its experiments are deleted, its leaked run ended
    for name in (out["name1"], out["name2"]):
        found = requests.get(api + "experiments/get-by-name", params={"experiment_name": name})
        assert found.json()["experiment"]["lifecycle_stage"] == "deleted"
    own = requests.get(api + "experiments/get", params={"experiment_id": out["default_experiment"]})
    assert own.json()["experiment"]["lifecycle_stage"] == "deleted"
    leaked = requests.get(api + "runs/get", params={"run_id": out["leaked"]}).json()["run"]
    assert leaked["info"]["status"] == "FINISHED"


def test_same_suite_against_the_fake(pytester):
    pytester.makepyfile(test_suite=PORTABLE_SUITE)
    result = pytester.runpytest_inprocess(*QUIET, "-q", "-rs")
    result.assert_outcomes(passed=6, skipped=1)
    result.stdout.fnmatch_lines(["*needs a real MLflow server*"])


def test_an_unreachable_target_fails_loudly(pytester):
    pytester.makepyfile(test_suite="def test_x(fakeflow): pass")
    result = pytester.runpytest_inprocess(*QUIET, "-q", "--fakeflow-target=http://127.0.0.1:9")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*--fakeflow-target http://127.0.0.1:9 is not reachable*"])
