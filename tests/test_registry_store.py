"""The registry store on its own: invariants checked against small, obviously right models.

Exact wire behaviour (messages, field presence, routing) is compared with real MLflow in the
differential suite (tests/differential/catalogue/registry*.py); these tests cover properties over
many generated operation sequences that a catalogue of examples cannot.
"""

from __future__ import annotations

import copy

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fakeflow.state import snapshot
from fakeflow.state.errors import MlflowError
from fakeflow.state.registry_entities import ALL_STAGES
from fakeflow.state.tracking import TrackingStore

STAGES = st.sampled_from([s.lower() for s in ALL_STAGES] + list(ALL_STAGES))


class TickingClock:
    def __init__(self) -> None:
        self.now = 1_700_000_000_000

    def now_ms(self) -> int:
        self.now += 1
        return self.now


def fresh() -> TrackingStore:
    return TrackingStore(clock=TickingClock())


# Operation sequences: ("create",) | ("delete", k) | ("stage", k, stage) | ("drop_model",)
OPS = st.lists(
    st.one_of(
        st.tuples(st.just("create")),
        st.tuples(st.just("delete"), st.integers(1, 8)),
        st.tuples(st.just("stage"), st.integers(1, 8), STAGES, st.booleans()),
        st.tuples(st.just("drop_model")),
    ),
    max_size=30,
)


@settings(max_examples=150, deadline=None)
@given(OPS)
def test_numbers_stages_and_latest_versions_follow_a_simple_model(ops):
    """Numbers never come back (until the model is dropped); latest = max live per stage."""
    store = fresh()
    reg = store.registry
    reg.create_registered_model("m")
    model: dict[int, str] = {}  # live version -> canonical stage
    highest = 0
    for op in ops:
        if op[0] == "create":
            mv = reg.create_model_version("m", "s3://bucket/x")
            highest += 1
            assert mv.version == highest
            model[highest] = "None"
        elif op[0] == "delete":
            if op[1] in model:
                reg.delete_model_version("m", str(op[1]))
                del model[op[1]]
            else:
                with pytest.raises(MlflowError):
                    reg.delete_model_version("m", str(op[1]))
        elif op[0] == "stage":
            _, number, stage, archive = op
            canonical = {s.lower(): s for s in ALL_STAGES}[stage.lower()]
            if archive and canonical not in ("Staging", "Production"):
                with pytest.raises(MlflowError):
                    reg.transition_model_version_stage("m", str(number), stage, archive)
                continue
            if number not in model:
                with pytest.raises(MlflowError):
                    reg.transition_model_version_stage("m", str(number), stage, archive)
                continue
            reg.transition_model_version_stage("m", str(number), stage, archive)
            if archive:
                for other, current in model.items():
                    if other != number and current == canonical:
                        model[other] = "Archived"
            model[number] = canonical
        else:
            reg.delete_registered_model("m")
            reg.create_registered_model("m")
            model, highest = {}, 0
        expected = {}
        for number in sorted(model):
            expected.setdefault(model[number], number)
            expected[model[number]] = number
        got = reg.get_latest_versions("m")
        assert {mv.current_stage: mv.version for mv in got} == expected
        assert [mv.current_stage for mv in got] == list(expected)  # first-seen stage order


NAMES = st.lists(st.text("abcXYZ_-", min_size=1, max_size=6), min_size=1, max_size=12, unique=True)


@settings(max_examples=80, deadline=None)
@given(NAMES, st.integers(1, 5), st.booleans())
def test_pages_concatenate_to_the_full_answer(names, page_size, descending):
    store = fresh()
    reg = store.registry
    for name in names:
        reg.create_registered_model(name)
        reg.create_model_version(name, "s3://bucket/a")
    order = ["name DESC"] if descending else None
    everything, _ = reg.search_registered_models(max_results=1000, order_by=order)
    assert [m.name for m in everything] == sorted(names, reverse=descending)
    pages, token = [], None
    while True:
        page, token = reg.search_registered_models(max_results=page_size, order_by=order, page_token=token)
        pages.extend(m.name for m in page)
        if token is None:
            break
    assert pages == [m.name for m in everything]
    versions, token = reg.search_model_versions(max_results=page_size, order_by=["name ASC"])
    assert [mv.name for mv in versions] == sorted(names)[:page_size]
    assert (token is None) == (len(names) <= page_size)


BAD_CALLS = [
    lambda r: r.create_registered_model("m"),
    lambda r: r.create_registered_model("x/y"),
    lambda r: r.create_registered_model("n", [("bad!", "v")]),
    lambda r: r.rename_registered_model("m", "other"),
    lambda r: r.create_model_version("m", "http://example.com/x"),
    lambda r: r.create_model_version("m", "s3://b/x", tags=[("k", "v" * 100_001)]),
    lambda r: r.create_model_version("m", "runs:/abc/model"),
    lambda r: r.transition_model_version_stage("m", "1", "Gold"),
    lambda r: r.transition_model_version_stage("m", "2", "None", True),
    lambda r: r.transition_model_version_stage("m", "9", "Staging", True),
    lambda r: r.set_registered_model_alias("m", "latest", "1"),
    lambda r: r.set_registered_model_alias("m", "a", "9"),
    lambda r: r.delete_model_version("m", "9"),
    lambda r: r.get_model_version_by_alias("m", "missing"),
    lambda r: r.search_model_versions(max_results=0),
]


@pytest.mark.parametrize("call", BAD_CALLS)
def test_a_rejected_call_changes_nothing(call):
    store = fresh()
    reg = store.registry
    reg.create_registered_model("m", [("t", "1")])
    reg.create_registered_model("other")
    reg.create_model_version("m", "s3://b/1")
    reg.create_model_version("m", "s3://b/2")
    reg.transition_model_version_stage("m", "1", "Staging")
    reg.set_registered_model_alias("m", "champ", "1")
    before = copy.deepcopy(snapshot.dump(store))
    with pytest.raises(MlflowError):
        call(reg)
    assert snapshot.dump(store) == before


def test_registry_shares_the_tracking_lock_and_is_reset_with_it():
    store = fresh()
    assert store.registry.lock is store.lock
    store.registry.create_registered_model("m")
    store.reset()
    assert store.registry.models == {}


def test_runs_source_must_name_its_run_and_inherits_nothing_else():
    store = fresh()
    run = store.create_run(experiment_id="0", user_id="", start_time=0, tags=[], run_name="r")
    reg = store.registry
    reg.create_registered_model("m")
    mv = reg.create_model_version("m", f"runs:/{run.run_id}/model", run.run_id)
    assert (mv.run_id, mv.storage_location) == (run.run_id, f"runs:/{run.run_id}/model")
    inside = reg.create_model_version("m", run.artifact_uri + "/model", run.run_id)
    assert inside.version == 2
    with pytest.raises(MlflowError, match="must identify the resource"):
        reg.create_model_version("m", "mlflow-artifacts:/0/other/artifacts/model", run.run_id)
    copy_of_1 = reg.create_model_version("m", "models:/m/1")
    assert (copy_of_1.source, copy_of_1.run_id) == ("models:/m/1", run.run_id)
    assert reg.get_model_version_download_uri("m", "3") == f"runs:/{run.run_id}/model"


def test_concurrent_creates_get_distinct_consecutive_numbers():
    import threading

    store = fresh()
    store.registry.create_registered_model("m")
    numbers: list[int] = []

    def worker() -> None:
        for _ in range(25):
            numbers.append(store.registry.create_model_version("m", "s3://bucket/x").version)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(numbers) == list(range(1, 201))
