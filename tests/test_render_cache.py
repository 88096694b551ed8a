"""The cached SearchRuns rendering must always equal a fresh rendering of the current state."""

from __future__ import annotations

from hypothesis import given, settings, strategies as st

from fakeflow.state.entities import Dataset, DatasetInput, ModelOutput
from fakeflow.state.errors import MlflowError
from fakeflow.state.tracking import MetricInput, TrackingStore
from fakeflow.web import render

KEYS = st.sampled_from(["a", "b", "mlflow.runName"])
VALUES = st.sampled_from(["x", "y", ""])

OPERATIONS = st.one_of(
    st.tuples(st.just("create"), VALUES),
    st.tuples(st.just("metric"), st.integers(0, 3), KEYS, st.floats(allow_nan=True), st.integers(0, 3)),
    st.tuples(st.just("param"), st.integers(0, 3), KEYS, VALUES),
    st.tuples(st.just("tag"), st.integers(0, 3), KEYS, VALUES),
    st.tuples(st.just("delete_tag"), st.integers(0, 3), KEYS),
    st.tuples(st.just("update"), st.integers(0, 3), st.sampled_from([None, "FINISHED", "FAILED"]), VALUES),
    st.tuples(st.just("delete"), st.integers(0, 3)),
    st.tuples(st.just("restore"), st.integers(0, 3)),
    st.tuples(st.just("batch"), st.integers(0, 3), KEYS, VALUES),
    st.tuples(st.just("inputs"), st.integers(0, 3), VALUES),
    st.tuples(st.just("outputs"), st.integers(0, 3), VALUES),
    st.tuples(st.just("delete_experiment"),),
    st.tuples(st.just("restore_experiment"),),
    st.tuples(st.just("reset"),),
)


def apply(store: TrackingStore, experiment_id: list[str], run_ids: list[str], op: tuple) -> None:
    kind, *args = op
    pick = (lambda i: run_ids[i % len(run_ids)]) if run_ids else None
    if kind == "create":
        run_ids.append(store.create_run(experiment_id[0], run_name=args[0]).run_id)
    elif kind == "reset":
        store.reset(seed=1)
        run_ids.clear()
        experiment_id[0] = store.create_experiment("e")
    elif kind == "delete_experiment":
        store.delete_experiment(experiment_id[0])
    elif kind == "restore_experiment":
        store.restore_experiment(experiment_id[0])
    elif pick is None:
        return
    elif kind == "metric":
        store.log_metric(pick(args[0]), MetricInput(args[1], args[2], 1, args[3]))
    elif kind == "param":
        store.log_param(pick(args[0]), args[1], args[2])
    elif kind == "tag":
        store.set_tag(pick(args[0]), args[1], args[2])
    elif kind == "delete_tag":
        store.delete_tag(pick(args[0]), args[1])
    elif kind == "update":
        store.update_run(pick(args[0]), args[1], 5, args[2])
    elif kind == "delete":
        store.delete_run(pick(args[0]))
    elif kind == "restore":
        store.restore_run(pick(args[0]))
    elif kind == "batch":
        store.log_batch(pick(args[0]), [MetricInput("m", 1.0, 2, 0)], [(args[1], args[2])], [("t", args[2])])
    elif kind == "inputs":
        store.log_inputs(pick(args[0]), [DatasetInput(Dataset("d", args[1]), {"k": args[1]})], ["m-" + args[1]])
    elif kind == "outputs":
        store.log_outputs(pick(args[0]), [ModelOutput("m-" + args[1], 1)])


@settings(max_examples=150, deadline=None)
@given(st.lists(OPERATIONS, max_size=40))
def test_cached_search_rendering_is_never_stale(operations):
    store = TrackingStore()
    store.reset(seed=1)
    experiment_id = [store.create_experiment("e")]
    run_ids: list[str] = []
    for op in operations:
        try:
            apply(store, experiment_id, run_ids, op)
        except MlflowError:
            pass
        runs, token = store.search_runs([experiment_id[0]], "", "ALL", 1000, [], None)
        cached = render.search_runs_answer(store, runs, token)
        fresh = {"runs": [render.run(r, view="search") for r in runs]} if runs else {}
        if token:
            fresh["next_page_token"] = token
        assert cached == render.to_json(fresh)
