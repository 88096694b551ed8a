"""The logged-model store without HTTP: rejected writes change nothing, renders sort by key,
snapshots keep models, and registered versions are linked back to their model."""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fakeflow.state import snapshot
from fakeflow.state.errors import MlflowError
from fakeflow.state.tracking import TrackingStore
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
    data = json.loads(json.dumps(snapshot.dump(store)))
    other = TrackingStore()
    snapshot.load(other, data)
    assert other.logged_models.get(model.model_id) == model
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


@pytest.mark.parametrize("filter_string", [
    "metrics.acc > 0.5", "name IN ('a')", "status = 'READY'", "name = 'a' OR name = 'b'",
    "name = 'unterminated",
])
def test_search_refuses_filters_outside_the_verified_subset(filter_string):
    store = TrackingStore()
    store.logged_models.create("0", "a", "", "", [], [])
    with pytest.raises(MlflowError) as error:
        store.logged_models.search(["0"], filter_string, None, None, None)
    assert error.value.error_code == "NOT_IMPLEMENTED"


@settings(max_examples=30, deadline=None)
@given(count=st.integers(0, 12), size=st.integers(1, 5))
def test_search_pages_cover_every_live_model_once_newest_first(count, size):
    store = TrackingStore()
    ticks = iter(range(1, 1000))
    store.clock.now_ms = lambda: next(ticks)  # type: ignore[method-assign]
    made = [store.logged_models.create("0", f"n{i}", "", "", [], []).model_id for i in range(count)]
    seen, token = [], None
    while True:
        page, token = store.logged_models.search(["0"], None, size, None, token)
        seen += [m.model_id for m in page]
        if not token:
            break
    assert seen == made[::-1]
