"""``fakeflow.client``'s workflow helpers, each run against fakeflow and against a real MLflow
3.17.2 (both started by this session), with the same assertions on both."""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fakeflow.client import MlflowApiError, RestClient
from fakeflow.client import workflows as wf
from tests.differential.harness import new_suffix

MANY_RUNS = 1_060  # more than one 1,000-run page, for the paging helpers
DOOMED = 45  # runs with the metric that the keep filter does not keep


@pytest.fixture(scope="module", params=["fakeflow", "mlflow"])
def client(request: pytest.FixtureRequest) -> RestClient:
    server = request.getfixturevalue("fakeflow_server" if request.param == "fakeflow"
                                     else "reference_server")
    return RestClient(server.url, timeout=60)


def _points(client: RestClient, run_id: str, key: str) -> list[tuple[float, int, int]]:
    return sorted((p["value"], p["step"], p["timestamp"]) for p in client.metric_history(run_id, key))


def test_run_new_experiment_logs_everything_and_finishes(client: RestClient) -> None:
    model = {"artifact_path": "model", "flavors": {"python_function": {}}, "utc_time_created": "2026-01-01"}
    params = [{"key": f"p{i}", "value": str(i)} for i in range(150)]  # more than one batch allows
    run = wf.run_new_experiment(client, f"wf-new-{new_suffix()}", "first",
                                metrics=[{"key": "acc", "value": 0.5, "step": 3}],
                                params=params, tags={"team": "a"}, model=model)
    info, data = run["info"], run["data"]
    assert info["status"] == "FINISHED" and info["run_name"] == "first" and "end_time" in info
    assert {p["key"] for p in data["params"]} == {p["key"] for p in params}
    assert [(m["key"], m["value"], m["step"]) for m in data["metrics"]] == [("acc", 0.5, 3)]
    tags = {t["key"]: t["value"] for t in data["tags"]}
    assert tags["team"] == "a" and info["run_id"] in tags["mlflow.log-model.history"]
    again = wf.run_existing_experiment(client, info["experiment_id"], metrics={"acc": 0.7})
    assert again["info"]["experiment_id"] == info["experiment_id"]
    assert again["info"]["run_id"] != info["run_id"]


def test_experiment_summary_orders_by_the_metric_with_missing_last(client: RestClient) -> None:
    experiment = client.create_experiment(f"wf-summary-{new_suffix()}")
    for name, value in (("b", 2.0), ("a", 1.0), ("none", None), ("c", 3.0)):
        wf.run_existing_experiment(client, experiment, name,
                                   metrics=None if value is None else {"score": value})
    desc = wf.experiment_summary(client, experiment, "score", "DESC")
    assert [r["info"]["run_name"] for r in desc] == ["c", "b", "a", "none"]
    asc = wf.experiment_summary(client, experiment, "score", -1)
    assert [r["info"]["run_name"] for r in asc] == ["a", "b", "c", "none"]
    assert [r["primary_metric"] for r in asc] == [1.0, 2.0, 3.0, None]
    with pytest.raises(ValueError):
        wf.experiment_summary(client, experiment, "score", "sideways")


@pytest.fixture(scope="module")
def crowded(client: RestClient) -> tuple[str, dict[str, float]]:
    """An experiment with more runs than one page: ``loss`` on most, none on a few."""
    experiment = client.create_experiment(f"wf-crowded-{new_suffix()}")

    def make(index: int) -> tuple[str, float | None]:
        run = client.create_run(experiment, f"r{index}")["info"]["run_id"]
        loss = None if index % 100 == 7 else (index * 7919 % MANY_RUNS) / MANY_RUNS + 0.01
        if loss is not None and index < DOOMED:
            loss += 10.0  # the ones cleanup must find: created first, so on the last page
        if loss is not None:
            client.log_batch(run, [{"key": "loss", "value": loss, "timestamp": 1, "step": 0}])
        return run, loss

    with ThreadPoolExecutor(8) as pool:
        made = list(pool.map(make, range(MANY_RUNS)))
    return experiment, {run: loss for run, loss in made if loss is not None}


def test_best_metric_model_looks_past_the_first_page(client: RestClient,
                                                     crowded: tuple[str, dict[str, float]]) -> None:
    experiment, losses = crowded
    name = f"wf-best-{new_suffix()}"
    best_max = wf.create_model_from_run_with_best_metric(client, [experiment], "loss", "max", name)
    assert best_max["run_id"] == max(losses, key=losses.__getitem__)
    best_min = wf.create_model_from_run_with_best_metric(client, [experiment], "loss", "min", name,
                                                         artifact_path="model")
    winner = min(losses, key=losses.__getitem__)
    assert (best_min["run_id"], best_min["version"]) == (winner, "2")
    assert best_min["source"] == f"runs:/{winner}/model"
    with pytest.raises(wf.NoRunWithMetricError):
        wf.create_model_from_run_with_best_metric(client, [experiment], "absent", "min", name)


def test_cleanup_pages_through_both_searches_and_spares_runs_without_the_metric(
        client: RestClient, crowded: tuple[str, dict[str, float]]) -> None:
    experiment, losses = crowded
    doomed = {run for run, loss in losses.items() if loss >= 10.0}
    expected = sum(1 for index in range(DOOMED) if index % 100 != 7)
    assert len(doomed) == expected and len(losses) - expected > 1000  # both searches span pages
    dry = wf.cleanup_runs(client, [experiment], "metrics.loss < 10", "loss")
    assert dry.dry_run and {r["info"]["run_id"] for r in dry.deleted_runs} == doomed
    assert len(list(client.search_runs([experiment]))) == MANY_RUNS  # a dry run deletes nothing
    done = wf.cleanup_runs(client, [experiment], "metrics.loss < 10", "loss", dry_run=False)
    assert done.total == expected and not done.dry_run
    left = {r["info"]["run_id"] for r in client.search_runs([experiment])}
    assert len(left) == MANY_RUNS - expected and not (left & doomed)


def test_copy_run_keeps_every_metric_point_and_step(client: RestClient) -> None:
    source_exp = client.create_experiment(f"wf-copy-src-{new_suffix()}")
    target_exp = client.create_experiment(f"wf-copy-dst-{new_suffix()}")
    run = client.create_run(source_exp, "original", start_time=1_700_000_000_000)["info"]["run_id"]
    points = [{"key": "loss", "value": 1.0 / (s + 1), "timestamp": 1_700_000_000_000 + s, "step": s}
              for s in range(1_500)]
    points += [{"key": "loss", "value": 9.0, "timestamp": 5, "step": 3},  # a second point at step 3
               {"key": "acc", "value": math.nan, "timestamp": 7, "step": -2}]
    client.log_batch(run, points, [{"key": "lr", "value": "0.1"}], [{"key": "team", "value": "x"}])
    client.log_inputs(run, [{"dataset": {"name": "d", "digest": "abc", "source_type": "local",
                                         "source": "/tmp/d"}, "tags": []}])
    client.update_run(run, status="FAILED", end_time=1_700_000_999_000)
    copied = wf.copy_run(client, run, target_exp)
    assert copied.original_run_id == run and copied.target_experiment_id == target_exp
    for key in ("loss", "acc"):
        original, copy = _points(client, run, key), _points(client, copied.new_run_id, key)
        assert len(copy) == len(original) and repr(copy) == repr(original)  # NaN == NaN via repr
    new = client.get_run(copied.new_run_id)
    assert new["info"]["experiment_id"] == target_exp and new["info"]["run_name"] == "original"
    assert (new["info"]["status"], new["info"]["start_time"], new["info"]["end_time"]) == (
        "FAILED", 1_700_000_000_000, 1_700_000_999_000)
    tags = {t["key"]: t["value"] for t in new["data"]["tags"]}
    assert tags["team"] == "x" and tags["mlflow.source.run_id"] == run
    assert new["data"]["params"] == [{"key": "lr", "value": "0.1"}]
    assert [d["dataset"]["digest"] for d in new["inputs"]["dataset_inputs"]] == ["abc"]
    renamed = wf.copy_run(client, run, target_exp, run_name="renamed")
    assert client.get_run(renamed.new_run_id)["info"]["run_name"] == "renamed"


def test_registry_helpers_act_on_the_highest_version(client: RestClient) -> None:
    experiment = client.create_experiment(f"wf-reg-{new_suffix()}")
    run = client.create_run(experiment)["info"]
    name = f"wf-model-{new_suffix()}"
    first = wf.create_registered_model_with_version(client, name, run["artifact_uri"], run["run_id"])
    assert first["version"] == "1"
    for _ in range(2):
        client.create_model_version(name, run["artifact_uri"], run["run_id"])
    # A staged older version: get-latest-versions would offer it first; the helpers must not.
    client.call("POST", "model-versions/transition-stage",
                {"name": name, "version": "1", "stage": "Production", "archive_existing_versions": False})
    assert wf.set_latest_model_version_alias(client, name, "champion") == "3"
    assert wf.set_latest_model_version_tag(client, name, "k", "v") == "3"
    assert wf.update_latest_model_version(client, name, "newest")["description"] == "newest"
    updated = wf.update_all_latest_model_version(client, name, "best", "all", "k2", "v2")
    assert (updated["version"], updated["description"]) == ("3", "all")
    assert set(updated.get("aliases", [])) == {"best", "champion"}
    other = wf.update_all_model_version(client, name, "2", "runner-up", "two", "k", "w")
    assert (other["version"], other["aliases"]) == ("2", ["runner-up"])
    model = wf.update_registered_model_description_and_tag(client, name, "owner", "me", "a model")
    assert model["description"] == "a model" and {"key": "owner", "value": "me"} in model["tags"]
    assert wf.delete_latest_model_version(client, name) == "3"
    assert wf.delete_latest_model_version(client, name) == "2"
    assert wf.delete_latest_model_version(client, name) == "1"
    with pytest.raises(wf.NoModelVersionError):
        wf.latest_version(client, name)
    with pytest.raises(MlflowApiError) as missing:
        wf.create_registered_model_with_version(client, name, run["artifact_uri"], run["run_id"])
    assert missing.value.error_code == "RESOURCE_ALREADY_EXISTS"


@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
@given(counts=st.tuples(st.integers(0, 1200), st.integers(0, 150), st.integers(0, 150)))
def test_batches_split_within_mlflow_limits(counts: tuple[int, int, int]) -> None:
    """Any number of items is logged in calls MLflow accepts, none lost or repeated."""
    sent: list[dict[str, Any]] = []

    class Recording(RestClient):
        def call(self, method: str, endpoint: str, body: Any = None, params: Any = None) -> Any:
            sent.append(body)
            return {}

    m, p, t = counts
    Recording("http://127.0.0.1:1").log_batch(
        "r", [{"key": f"m{i}"} for i in range(m)], [{"key": f"p{i}"} for i in range(p)],
        [{"key": f"t{i}"} for i in range(t)])
    for body in sent:
        assert len(body["metrics"]) <= 1000 and len(body["params"]) <= 100 and len(body["tags"]) <= 100
        assert len(body["metrics"]) + len(body["params"]) + len(body["tags"]) <= 1000
    for field, n in (("metrics", m), ("params", p), ("tags", t)):
        assert [x["key"] for b in sent for x in b[field]] == [f"{field[0]}{i}" for i in range(n)]
