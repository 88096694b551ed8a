"""The logged-model store without HTTP: rejected writes change nothing, renders sort by key,
snapshots keep models, and registered versions are linked back to their model."""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fakeflow.state import snapshot
from fakeflow.state.entities import ModelOutput
from fakeflow.state.errors import MlflowError
from fakeflow.state.tracking import MetricInput, TrackingStore
from fakeflow.web.logged_model_handlers import render

KEYS = st.text(alphabet="abcxyz_.", min_size=1, max_size=6)
PAIRS = st.lists(st.tuples(KEYS, st.text(max_size=5)), max_size=6)


@settings(max_examples=60, deadline=None)
@given(params=PAIRS, tags=PAIRS)
def test_create_keeps_unique_keys_sorted_and_rejects_repeats_without_a_trace(params, tags):
    store = TrackingStore()
    repeated = len({k for k, _ in params}) < len(params) or len({k for k, _ in tags}) < len(tags)
    if repeated:
        with pytest.raises(MlflowError) as error:
            store.logged_models.create("0", "m", "", "", params, tags)
        assert error.value.error_code == "BAD_REQUEST"
        assert store.logged_models.models == {}
        return
    model = store.logged_models.create("0", "m", "", "", params, tags)
    assert re.fullmatch(r"m-[0-9a-f]{32}", model.model_id)
    assert model.artifact_location == f"mlflow-artifacts:/0/models/{model.model_id}/artifacts"
    shown = render(model)
    assert [p["key"] for p in shown["data"].get("params", [])] == sorted(k for k, _ in params)
    assert [t["key"] for t in shown["info"].get("tags", [])] == sorted(k for k, _ in tags)


@pytest.mark.parametrize("name", ["", "a/b", "a:b", "a.b", "a%b", 'a"b', "a'b"])
def test_bad_names_are_rejected_before_anything_is_stored(name):
    store = TrackingStore()
    with pytest.raises(MlflowError, match="Invalid model name"):
        store.logged_models.create("0", name, "", "", [], [])
    assert store.logged_models.models == {}


def test_logging_a_known_param_again_fails_and_keeps_the_old_value():
    store = TrackingStore()
    model = store.logged_models.create("0", "m", "", "", [("p", "1")], [])
    with pytest.raises(MlflowError, match="UNIQUE constraint failed"):
        store.logged_models.log_params(model.model_id, [("q", "1"), ("p", "2")])
    assert model.params == {"p": "1"}


def test_deleted_models_are_hidden_from_get_but_still_writable():
    store = TrackingStore()
    model = store.logged_models.create("0", "m", "", "", [], [])
    store.logged_models.delete(model.model_id)
    with pytest.raises(MlflowError, match="not found"):
        store.logged_models.get(model.model_id)
    store.logged_models.set_tags(model.model_id, [("k", "v")])
    assert store.logged_models.get(model.model_id, allow_deleted=True).tags == {"k": "v"}


def test_snapshot_round_trip_keeps_logged_models():
    store = TrackingStore()
    model = store.logged_models.create("0", "m", "t", "run", [("a", "1")], [("k", "v")])
    store.logged_models.finalize(model.model_id, "LOGGED_MODEL_READY")
    run = store.create_run("0")
    store.log_metric(run.run_id, MetricInput("acc", 0.5, 1, 2, model.model_id, "ds", "dg"))
    store.log_inputs(run.run_id, model_ids=[model.model_id])
    store.log_outputs(run.run_id, [ModelOutput(model.model_id, 3)])
    data = json.loads(json.dumps(snapshot.dump(store)))
    other = TrackingStore()
    snapshot.load(other, data)
    assert other.logged_models.get(model.model_id) == model
    assert render(other.logged_models.get(model.model_id)) == render(model)
    assert other.get_run(run.run_id).model_inputs == [model.model_id]
    assert other.get_run(run.run_id).model_outputs == [ModelOutput(model.model_id, 3)]
    other.reset()
    assert other.logged_models.models == {}


def test_registering_a_version_from_a_model_links_it_in_the_model_tags():
    store = TrackingStore()
    model = store.logged_models.create("0", "m", "", "", [], [])
    store.registry.create_registered_model("reg", [], "")
    for _ in range(2):
        store.registry.create_model_version(
            "reg", f"models:/{model.model_id}", model_id=model.model_id
        )
    linked = json.loads(model.tags["mlflow.modelVersions"])
    assert linked == [{"name": "reg", "version": 1}, {"name": "reg", "version": 2}]
    store.logged_models.delete(model.model_id)
    with pytest.raises(MlflowError):
        store.registry.create_model_version(
            "reg", f"models:/{model.model_id}", model_id=model.model_id
        )


METRIC_VALUES = st.sampled_from([0.0, 0.5, 1.0, -2.0, 3.5])
ROWS = st.lists(st.tuples(st.sampled_from(["acc", "loss"]), METRIC_VALUES,
                          st.integers(0, 3), st.integers(0, 2),
                          st.sampled_from([None, ("train", "d1"), ("test", "d2")])), max_size=6)
OPS = {"<": float.__lt__, "<=": float.__le__, ">": float.__gt__, ">=": float.__ge__,
       "=": float.__eq__, "!=": float.__ne__}


def _log(store, run, model, rows):
    metrics = [MetricInput(k, v, ts, step, model.model_id, *(ds or ("", "")))
               for k, v, ts, step, ds in rows]
    try:
        store.log_batch(run.run_id, metrics)
    except MlflowError:
        pass  # a repeated (key, timestamp, step): covered by the differential cases


@settings(max_examples=80, deadline=None)
@given(rows=st.lists(ROWS, min_size=1, max_size=4), op=st.sampled_from(sorted(OPS)),
       value=METRIC_VALUES, dataset=st.sampled_from([None, "train", ("test", "d2")]))
def test_metric_filters_hold_when_any_logged_value_holds(rows, op, value, dataset):
    store = TrackingStore()
    run = store.create_run("0")
    models = [store.logged_models.create("0", f"m{i}", "", "", [], []) for i in range(len(rows))]
    for model, model_rows in zip(models, rows):
        _log(store, run, model, model_rows)
    datasets = None
    if dataset is not None:
        name, digest = dataset if isinstance(dataset, tuple) else (dataset, None)
        datasets = [{"dataset_name": name, "dataset_digest": digest}]
    found, _ = store.logged_models.search(["0"], f"metrics.acc {op} {value}", datasets, None,
                                          None, None)

    def wanted(m):
        return any(r.key == "acc" and OPS[op](float(r.value), value)
                   and (datasets is None or (r.dataset_name, r.dataset_digest) == (
                       datasets[0]["dataset_name"], datasets[0]["dataset_digest"]))
                   for r in m.metrics.values())

    assert {m.model_id for m in found} == {m.model_id for m in models if wanted(m)}


@settings(max_examples=60, deadline=None)
@given(rows=st.lists(ROWS, min_size=1, max_size=4), ascending=st.booleans())
def test_order_by_a_metric_uses_its_latest_value_and_puts_models_without_it_last(rows, ascending):
    store = TrackingStore()
    run = store.create_run("0")
    models = [store.logged_models.create("0", f"m{i}", "", "", [], []) for i in range(len(rows))]
    for model, model_rows in zip(models, rows):
        _log(store, run, model, model_rows)
    found, _ = store.logged_models.search(
        ["0"], None, None, None, [{"field_name": "metrics.acc", "ascending": ascending}], None)

    def latest(m):
        acc = [r for r in m.metrics.values() if r.key == "acc"]
        return max(acc, key=lambda r: (r.timestamp, r.step)).value if acc else None

    values = [latest(m) for m in found]
    present = [v for v in values if v is not None]
    assert values == present + [None] * (len(values) - len(present))
    assert present == sorted(present, reverse=not ascending)


def test_a_refused_model_metric_batch_records_no_model_row():
    store = TrackingStore()
    run = store.create_run("0")
    model = store.logged_models.create("0", "m", "", "", [], [])
    good = MetricInput("a", 1.0, 1, 0, model.model_id)
    with pytest.raises(MlflowError, match="FOREIGN KEY constraint failed"):
        store.log_batch(run.run_id, [good, MetricInput("b", 1.0, 1, 0, "m-missing")])
    assert model.metrics == {}
    with pytest.raises(MlflowError, match="UNIQUE constraint failed"):
        store.log_batch(run.run_id, [good, MetricInput("a", 2.0, 1, 0, model.model_id)])
    assert model.metrics == {}
    store.log_metric(run.run_id, good)
    store.log_metric(run.run_id, good)  # an identical row again is not an error
    assert list(model.metrics.values())[0].value == 1.0 and len(model.metrics) == 1


@pytest.mark.parametrize("filter_string, message", [
    ("name IN 'a'", "Expected a list of comparisons"),
    ("name = 'a' OR name = 'b'", "Expected a list of comparisons"),
    ("name = 'a'; name = 'b'", "Expected a single SQL expression"),
    ("tag.x = 'a'", "Invalid entity type: 'tag'"),
    ("name > 'a'", "Invalid comparison operator for attributes.name: '>'"),
    ("metrics.acc LIKE '1'", "Invalid comparison operator for metrics.acc: 'LIKE'"),
    ("name IS NULL", "Invalid comparison: nameIS NULL. Expected a comparison with 3 tokens."),
])
def test_search_refuses_filters_as_mlflow_does(filter_string, message):
    store = TrackingStore()
    store.logged_models.create("0", "a", "", "", [], [])
    with pytest.raises(MlflowError, match=re.escape(message)):
        store.logged_models.search(["0"], filter_string, None, None, None, None)


@settings(max_examples=30, deadline=None)
@given(count=st.integers(0, 12), size=st.integers(1, 5))
def test_search_pages_cover_every_live_model_once_newest_first(count, size):
    store = TrackingStore()
    ticks = iter(range(1, 1000))
    store.clock.now_ms = lambda: next(ticks)  # type: ignore[method-assign]
    made = [store.logged_models.create("0", f"n{i}", "", "", [], []).model_id for i in range(count)]
    seen, token = [], None
    while True:
        page, token = store.logged_models.search(["0"], None, None, size, None, token)
        seen += [m.model_id for m in page]
        if not token:
            break
    assert seen == made[::-1]
