"""Run search remembers complete orderings (``fakeflow.search.runs.RunSearchCache``); a search
after any write must see that write. Each case runs a search (which fills the cache), makes one
write, and compares the next search with one on a store that never cached anything."""

from __future__ import annotations

from typing import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fakeflow.search.runs import search_runs
from fakeflow.state.entities import Dataset, DatasetInput
from fakeflow.state.tracking import MetricInput, TrackingStore

QUERIES = [
    (None, None),
    ("metrics.m > 0", ["metrics.m DESC"]),
    ("params.p = 'x'", None),
    ("tags.t = 'x'", ["tags.t DESC"]),
    ("attributes.status = 'FINISHED'", None),
    ("datasets.name = 'd'", None),
    (None, ["params.p"]),
]


def _store() -> tuple[TrackingStore, str, list[str]]:
    store = TrackingStore()
    experiment = store.create_experiment("cache")
    ids = [store.create_run(experiment, start_time=1000 + i % 2).run_id for i in range(4)]
    store.log_batch(ids[0], [MetricInput("m", 1.0, 1)], [("p", "y")], [("t", "y")])
    return store, experiment, ids


WRITES: dict[str, Callable[[TrackingStore, str, list[str]], None]] = {
    "log metric": lambda s, e, ids: s.log_metric(ids[1], MetricInput("m", 5.0, 2)),
    "newer metric value": lambda s, e, ids: s.log_metric(ids[0], MetricInput("m", -1.0, 9)),
    "log param": lambda s, e, ids: s.log_param(ids[2], "p", "x"),
    "set tag": lambda s, e, ids: s.set_tag(ids[3], "t", "x"),
    "delete tag": lambda s, e, ids: s.delete_tag(ids[0], "t"),
    "finish run": lambda s, e, ids: s.update_run(ids[1], "FINISHED", 5000, None),
    "delete run": lambda s, e, ids: s.delete_run(ids[0]),
    "new run": lambda s, e, ids: s.create_run(e, start_time=2000),
    "purge run": lambda s, e, ids: s.purge_run(ids[2]),
    "log input": lambda s, e, ids: s.log_inputs(ids[3], [DatasetInput(Dataset("d", "x"), {})]),
    "delete experiment": lambda s, e, ids: s.delete_experiment(e),
    "reset": lambda s, e, ids: s.reset(),
}


def _search(store: TrackingStore, experiment: str, query: tuple, view: str) -> list[str]:
    runs, _ = store.search_runs([experiment], query[0], view, 1000, query[1], None)
    return [r.run_id for r in runs]


@pytest.mark.parametrize("write", sorted(WRITES))
@settings(max_examples=20, deadline=None)
@given(query=st.sampled_from(QUERIES), view=st.sampled_from(["ACTIVE_ONLY", "ALL"]))
def test_a_search_after_a_write_sees_it(write: str, query: tuple, view: str) -> None:
    store, experiment, ids = _store()
    _search(store, experiment, query, view)  # remembered now
    WRITES[write](store, experiment, ids)
    fresh = [store.runs[i] for i in store.runs_by_experiment.get(experiment, ())]
    expected, _ = search_runs(fresh, query[0], query[1], 1000, None, view)
    assert _search(store, experiment, query, view) == [r.run_id for r in expected]


def test_a_repeated_search_is_served_from_the_cache() -> None:
    store, experiment, _ = _store()
    first = store.search_runs([experiment], None, "ALL", 2, None, None)
    again = store.search_runs([experiment], None, "ALL", 2, None, first[1])
    from fakeflow.search.runs import cache_for

    assert len(cache_for(store)._entries) == 1  # the second page reused the first's ordering
    assert [r.run_id for r in first[0]] != [r.run_id for r in again[0]]


ORDERS = [None, ["metrics.m DESC"], ["metrics.m"], ["tags.t DESC", "params.p"], ["params.p DESC"],
          ["attributes.end_time"], ["attributes.run_name DESC"], ["attributes.status", "metrics.m DESC"]]
FILTERS = [None, "metrics.m > 0", "metrics.m != 1", "params.p = 'x'", "tags.t != 'y'",
           "attributes.status != 'KILLED'"]
_VALUES = st.sampled_from([0.0, 1.0, float("nan"), float("nan"), -2.5, float("inf")])
_TEXT = st.sampled_from(["x", "y", "Y", "é", ""])


def _write(store: TrackingStore, experiment: str, ids: list[str], data: st.DataObject) -> None:
    run_id = data.draw(st.sampled_from(ids))
    kind = data.draw(st.sampled_from(["metric", "metric", "param", "tag", "untag", "status",
                                      "name", "delete", "restore"]))
    run = store.runs[run_id]
    if run.lifecycle_stage != "active" and kind not in ("restore", "delete"):
        kind = "restore"
    if kind == "metric":
        store.log_metric(run_id, MetricInput("m", data.draw(_VALUES), data.draw(st.integers(0, 3))))
    elif kind == "param" and "p" not in run.params:
        store.log_param(run_id, "p", data.draw(_TEXT))
    elif kind == "tag":
        store.set_tag(run_id, "t", data.draw(_TEXT))
    elif kind == "untag" and "t" in run.tags:
        store.delete_tag(run_id, "t")
    elif kind == "status":
        store.update_run(run_id, data.draw(st.sampled_from(["FINISHED", "KILLED", "RUNNING"])),
                         data.draw(st.integers(0, 3)), None)
    elif kind == "name":
        store.update_run(run_id, None, None, data.draw(st.sampled_from(["a", "b", "B"])))
    elif kind == "delete":
        store.delete_run(run_id)
    elif kind == "restore":
        store.restore_run(run_id)


@settings(max_examples=300, deadline=None)
@given(data=st.data(), runs=st.integers(1, 6))
def test_an_ordering_brought_up_to_date_equals_a_fresh_one(data: st.DataObject, runs: int) -> None:
    """Remembered orderings are updated run by run after writes (``RunSearchCache.remembered``);
    after any sequence of writes and searches, each answer equals a search that remembers
    nothing."""
    store = TrackingStore()
    experiment = store.create_experiment("cache")
    ids = [store.create_run(experiment, start_time=data.draw(st.integers(0, 2))).run_id
           for _ in range(runs)]
    for _ in range(data.draw(st.integers(1, 12))):
        for _ in range(data.draw(st.integers(0, 3))):
            _write(store, experiment, ids, data)
        query = (data.draw(st.sampled_from(FILTERS)), data.draw(st.sampled_from(ORDERS)))
        view = data.draw(st.sampled_from(["ACTIVE_ONLY", "ALL", "DELETED_ONLY"]))
        fresh = [store.runs[i] for i in store.runs_by_experiment[experiment]]
        expected, _ = search_runs(fresh, query[0], query[1], 1000, None, view)
        assert _search(store, experiment, query, view) == [r.run_id for r in expected]


def test_a_few_writes_update_the_remembered_ordering_instead_of_redoing_it() -> None:
    from fakeflow.search import runs as run_search

    store = TrackingStore()
    experiment = store.create_experiment("cache")
    ids = [store.create_run(experiment, start_time=i).run_id for i in range(50)]
    for i, run_id in enumerate(ids):
        store.log_metric(run_id, MetricInput("m", float(i % 7), 1))
    query = ("metrics.m > 2", ["metrics.m DESC"])
    _search(store, experiment, query, "ACTIVE_ONLY")
    store.log_metric(ids[3], MetricInput("m", 9.0, 2))
    calls = []
    original = run_search.RunQuery.select
    run_search.RunQuery.select = lambda self, runs: calls.append(1) or original(self, runs)
    try:
        found = _search(store, experiment, query, "ACTIVE_ONLY")
    finally:
        run_search.RunQuery.select = original
    assert calls == [] and found[0] == ids[3]
