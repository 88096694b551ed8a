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
