"""The scorer store without HTTP: snapshots carry registered scorers (ids, versions, deleted
versions' gaps), a reset forgets them, and a rejected registration changes nothing."""

from __future__ import annotations

import json

import pytest

from fakeflow.state import snapshot
from fakeflow.state.errors import MlflowError
from fakeflow.state.tracking import TrackingStore


def _store() -> TrackingStore:
    store = TrackingStore()
    store.reset(seed=3)
    exp = store.create_experiment("scored")
    store.scorers.register(exp, "exact", '{"v": 1}')
    store.scorers.register(exp, "exact", '{"v": 2}')
    store.scorers.register(exp, "exact", '{"v": 3}')
    store.scorers.delete(exp, "exact", 2)
    store.scorers.register(exp, "Other", "{}")
    store.scorers.register("0", "default", "{}")
    return store


def _view(store: TrackingStore) -> list:
    exp = store.get_experiment_by_name("scored").experiment_id
    return [store.scorers.list_all_active(), store.scorers.versions(exp, "exact"),
            store.scorers.get(exp, "exact", None)]


def test_snapshot_round_trip_keeps_scorers_and_their_next_version() -> None:
    store = _store()
    copy = TrackingStore()
    snapshot.load(copy, json.loads(json.dumps(snapshot.dump(store), allow_nan=False)))
    assert _view(copy) == _view(store)
    exp = store.get_experiment_by_name("scored").experiment_id
    assert copy.scorers.register(exp, "exact", "{}").version == 4
    assert store.scorers.register(exp, "exact", "{}").version == 4


def test_reset_forgets_scorers() -> None:
    store = _store()
    store.reset()
    assert store.scorers.list_all_active() == []


def test_rejected_registration_changes_nothing() -> None:
    store = _store()
    before = _view(store)
    exp = store.get_experiment_by_name("scored").experiment_id
    for name, text in (("exact", "[1]"), ("exact", '{"builtin_scorer_pydantic_data": '
                                                    '{"model": "gateway:/x"}}'), ("  ", "{}")):
        with pytest.raises(MlflowError):
            store.scorers.register(exp, name, text)
    assert _view(store) == before
