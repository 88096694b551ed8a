"""Snapshots: dump the whole store, load it back, and nothing observable changes."""

from __future__ import annotations

import json
import math

import pytest

from fakeflow.control import ControlledApp
from fakeflow.state import snapshot
from fakeflow.state.entities import Dataset, DatasetInput, ModelOutput
from fakeflow.state.tracking import MetricInput, TrackingStore
from fakeflow.transport import in_process_session

BASE = "http://fake.test"


def rich_store(seed: int = 11) -> TrackingStore:
    """A store with every kind of thing a snapshot has to carry."""
    store = TrackingStore()
    store.reset(seed=seed)
    exp = store.create_experiment("exp-a", tags=[("z", "1"), ("a", "2"), ("m", "3")])
    gone = store.create_experiment("exp-gone", artifact_location="/tmp/somewhere")
    run = store.create_run(exp, user_id="u", start_time=5, tags=[("t2", "x"), ("t1", "y")])
    rid = run.run_id
    store.set_tag(rid, "t2", "overwritten keeps its place")
    store.log_param(rid, "p", "1")
    # NaN, clamped inf, out-of-order points (history not tidy), an exact duplicate, and a tie
    # for the latest point between NaN and 0.0 that replaying a sorted history would get wrong.
    for value, ts, step in [(1.0, 10, 0), (math.nan, 30, 2), (0.0, 30, 2), (2.5, 5, 1),
                            (float("inf"), 40, 1), (2.5, 5, 1), (-0.0, 1, 0)]:
        store.log_metric(rid, MetricInput("loss", value, ts, step))
    store.log_metric(rid, MetricInput("acc", 0.25, 7, 0))
    store.log_inputs(rid, [DatasetInput(Dataset("ds", "d1", "local", "{}", "s", "p"),
                                        {"mlflow.data.context": "train"})], ["m-1"])
    store.log_outputs(rid, [ModelOutput("m-2", 3)])
    store.record_logged_model(rid, {"run_id": rid, "artifact_path": "model", "flavors": {}})
    second = store.create_run(exp, run_name="second")
    store.update_run(second.run_id, "FINISHED", 99, None)
    store.delete_run(second.run_id)
    store.create_run("0")
    store.delete_experiment(gone)
    return store


def round_trip(store: TrackingStore) -> TrackingStore:
    data = json.loads(json.dumps(snapshot.dump(store), allow_nan=False))
    copy = TrackingStore()
    snapshot.load(copy, data)
    return copy


def answers(store: TrackingStore) -> list:
    """What clients can observe: a battery of read requests through the real app."""
    app = ControlledApp()
    app.app.store = store
    session = in_process_session(app, BASE)
    api = BASE + "/api/2.0/mlflow/"
    seen = []
    experiments = session.post(api + "experiments/search",
                               json={"view_type": "ALL", "max_results": 100}).json()
    seen.append(experiments)
    ids = [e["experiment_id"] for e in experiments["experiments"]]
    runs = session.post(api + "runs/search", json={"experiment_ids": ids, "run_view_type": "ALL",
                                                    "max_results": 100}).json()
    seen.append(runs)
    for run in runs["runs"]:
        rid = run["info"]["run_id"]
        seen.append(session.get(api + "runs/get", params={"run_id": rid}).json())
        for key in ("loss", "acc"):
            seen.append(session.get(api + "metrics/get-history",
                                    params={"run_id": rid, "metric_key": key}).text)
    return seen


def test_round_trip_is_exact_for_every_observable_answer():
    store = rich_store()
    copy = round_trip(store)
    assert answers(copy) == answers(store)
    assert snapshot.dump(copy) == snapshot.dump(store)


def test_orders_nan_and_untidy_histories_survive():
    store = rich_store()
    rid = next(iter(store.runs))
    store.runs[rid].metrics["loss"].points()  # tidy: sorted, so 0.0 now precedes the NaN
    copy = round_trip(store)
    original, restored = store.runs[rid], copy.runs[rid]
    assert list(restored.tags) == list(original.tags)
    assert list(copy.experiments["1"].tags) == ["z", "a", "m"]
    latest = restored.metrics["loss"].latest
    assert math.isnan(latest.value) and (latest.timestamp, latest.step) == (30, 2)
    assert [(str(p.value), p.timestamp, p.step) for p in restored.metrics["loss"].points()] == \
        [(str(p.value), p.timestamp, p.step) for p in original.metrics["loss"].points()]
    assert restored.dataset_inputs == original.dataset_inputs
    assert restored.model_inputs == ["m-1"] and restored.model_outputs == [ModelOutput("m-2", 3)]


def test_the_future_is_the_same_after_loading():
    """Next experiment id, next run id and name (seeded generator state) carry over."""
    store = rich_store(seed=5)
    copy = round_trip(store)
    assert copy.create_experiment("next") == store.create_experiment("next")
    a, b = store.create_run("0"), copy.create_run("0")
    assert (a.run_id, a.run_name) == (b.run_id, b.run_name)


def test_unseeded_store_stays_unseeded():
    store = TrackingStore()
    copy = round_trip(store)
    assert copy.ids.seed is None
    assert copy.create_run("0").run_id != store.create_run("0").run_id


def test_dump_is_strict_json_and_does_not_mutate():
    store = rich_store()
    before = snapshot.dump(store)
    text = json.dumps(before, allow_nan=False)
    assert '"NaN"' in text
    assert snapshot.dump(store) == before


@pytest.mark.parametrize("bad", [
    {},
    {"format": "fakeflow-snapshot", "version": 99},
    {"format": "fakeflow-snapshot", "version": 1, "experiments": []},
    {"format": "fakeflow-snapshot", "version": 1, "next_experiment_id": 1, "experiments": [],
     "runs": [{"run_id": "x"}]},
])
def test_a_bad_snapshot_changes_nothing(bad):
    store = rich_store()
    before = snapshot.dump(store)
    with pytest.raises(snapshot.SnapshotError):
        snapshot.load(store, bad)
    assert snapshot.dump(store) == before


def test_run_in_unknown_experiment_is_refused():
    data = snapshot.dump(rich_store())
    data["runs"][0]["experiment_id"] = "404"
    with pytest.raises(snapshot.SnapshotError, match="unknown experiment"):
        snapshot.load(TrackingStore(), data)


def test_files(tmp_path):
    store = rich_store()
    path = tmp_path / "state.json"
    snapshot.save_file(store, path)
    copy = TrackingStore()
    snapshot.load_file(copy, path)
    assert snapshot.dump(copy) == snapshot.dump(store)
    assert not (tmp_path / "state.json.tmp").exists()


def test_experiment_datasets_survive_a_snapshot():
    """The first logging of (name, digest) defines an experiment's dataset, before and after."""
    store = TrackingStore()
    experiment_id = store.create_experiment("datasets")
    first = store.create_run(experiment_id).run_id
    store.log_inputs(first, [DatasetInput(Dataset("d", "1", source="first"), {"k": "v"})])
    restored = TrackingStore()
    snapshot.load(restored, snapshot.dump(store))
    second = restored.create_run(experiment_id).run_id
    restored.log_inputs(second, [DatasetInput(Dataset("d", "1", source="second"))])
    assert restored.get_run(second).dataset_inputs[0].dataset.source == "first"
    assert restored.get_run(first).dataset_inputs[0].tags == {"k": "v"}
    assert snapshot.dump(restored)["datasets"] == snapshot.dump(store)["datasets"]


# ---- the model registry ----------------------------------------------------------------------


def registry_store() -> TrackingStore:
    """``rich_store`` plus models with versions, stages, aliases, tags and a deleted version."""
    store = rich_store()
    registry = store.registry
    rid = next(iter(store.runs))
    registry.create_registered_model("zeta", [("team", "a"), ("b", "1")], "described")
    registry.create_registered_model("alpha")
    registry.create_model_version("zeta", f"runs:/{rid}/model", rid, [("k", "v")], "http://l", "one")
    registry.create_model_version("zeta", "s3://bucket/two")
    registry.create_model_version("zeta", "s3://bucket/three")
    registry.create_model_version("zeta", "models:/zeta/1")
    registry.transition_model_version_stage("zeta", "1", "Production")
    registry.transition_model_version_stage("zeta", "2", "Staging", archive_existing_versions=True)
    registry.set_registered_model_alias("zeta", "champion", "2")
    registry.set_registered_model_alias("zeta", "backup", "1")
    registry.update_model_version("zeta", "2", None)
    registry.delete_model_version("zeta", "4")
    registry.set_model_version_tag("zeta", "2", "quality", "good")
    registry.create_registered_model("prompt", [("mlflow.prompt.is_prompt", "true")])
    registry.create_model_version("prompt", "dummy-source", tags=[("mlflow.prompt.is_prompt", "true")])
    return store


def registry_answers(store: TrackingStore) -> list:
    app = ControlledApp()
    app.app.store = store
    session = in_process_session(app, BASE)
    api = BASE + "/api/2.0/mlflow/"
    seen = [session.get(api + "registered-models/search").json(),
            session.get(api + "model-versions/search").json(),
            session.get(api + "registered-models/search",
                        params={"filter": "tags.`mlflow.prompt.is_prompt` = 'true'"}).json()]
    for name, versions in (("zeta", "12345"), ("alpha", "1"), ("prompt", "1")):
        seen.append(session.get(api + "registered-models/get", params={"name": name}).json())
        for v in versions:
            seen.append(session.get(api + "model-versions/get", params={"name": name, "version": v}).json())
    seen.append(session.get(api + "registered-models/alias", params={"name": "zeta", "alias": "champion"}).json())
    return seen


def test_registry_round_trips():
    store = registry_store()
    copy = round_trip(store)
    assert registry_answers(copy) == registry_answers(store)
    assert snapshot.dump(copy) == snapshot.dump(store)
    assert registry_answers(store)[0]["registered_models"][0]["name"] == "alpha"


def test_registry_future_is_the_same_after_loading():
    """A deleted version keeps holding its number after a snapshot."""
    copy = round_trip(registry_store())
    assert copy.registry.create_model_version("zeta", "s3://bucket/five").version == 5
    assert copy.registry.get_model_version("zeta", "2").description is None


@pytest.mark.parametrize("corrupt", [
    lambda reg: reg[0]["versions"][0].update(current_stage="Gold"),
    lambda reg: reg[0]["aliases"].append(["ghost", 99]),
    lambda reg: reg.append(dict(reg[0])),
    lambda reg: reg[0].pop("versions"),
])
def test_a_bad_registry_section_changes_nothing(corrupt):
    store = registry_store()
    data = json.loads(json.dumps(snapshot.dump(store), allow_nan=False))
    corrupt(data["registry"])
    target = registry_store()
    before = snapshot.dump(target)
    with pytest.raises(snapshot.SnapshotError):
        snapshot.load(target, data)
    assert snapshot.dump(target) == before
