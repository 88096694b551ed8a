"""The trace store and trace search without HTTP: exporter races, paging, deletion, snapshots."""

from __future__ import annotations

import base64
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fakeflow.search.traces import search_traces
from fakeflow.state.errors import MlflowError
from fakeflow.state.snapshot import dump, load
from fakeflow.state.traces import Assessment, Trace
from fakeflow.state.tracking import TrackingStore

NS = 1_700_000_000_000_000_000


def _b64(number: int, size: int) -> str:
    return base64.b64encode(number.to_bytes(size, "big")).decode()


def span(trace: int, span_id: int, parent: int | None, start_ms: int, end_ms: int,
         error: bool = False) -> tuple[str, dict]:
    return f"tr-{trace:032x}", {
        "trace_id": _b64(trace, 16), "span_id": _b64(span_id, 8),
        "parent_span_id": _b64(parent, 8) if parent else None, "name": f"s{span_id}",
        "start_time_unix_nano": NS + start_ms * 1_000_000,
        "end_time_unix_nano": NS + end_ms * 1_000_000, "events": [],
        "status": {"code": "STATUS_CODE_ERROR" if error else "STATUS_CODE_OK", "message": ""},
        "attributes": {"mlflow.spanInputs": json.dumps({"n": span_id})}, "links": [],
    }


def info(trace: int, experiment: str = "0", request_ms: int = 0) -> Trace:
    return Trace(f"tr-{trace:032x}", experiment, NS // 1_000_000 + request_ms, 50, "OK",
                 metadata={"mlflow.trace.sizeStats": json.dumps({"num_spans": 4})},
                 tags={"mlflow.traceName": "s1"})


SPANS = [span(7, 1, None, 0, 50), span(7, 2, 1, 5, 10), span(7, 3, 1, 12, 40, error=True),
         span(7, 4, 3, 20, 30)]


def _stored(store: TrackingStore) -> dict:
    trace = store.traces.get_info(f"tr-{7:032x}")
    return {"spans": trace.span_list(), "state": trace.state, "tags": trace.tags,
            "time": (trace.request_time, trace.execution_duration),
            "preview": trace.request_preview}


@settings(max_examples=40, deadline=None)
@given(order=st.permutations(range(4)), cuts=st.sets(st.integers(1, 3)),
       info_at=st.integers(0, 4))
def test_spans_in_any_batches_and_order_store_the_same_trace(order, cuts, info_at):
    """The exporter sends trace info and span batches concurrently: any interleaving agrees."""
    reference = TrackingStore()
    reference.traces.start_trace(info(7))
    reference.traces.log_spans("0", [(tid, dict(doc)) for tid, doc in SPANS])
    store = TrackingStore()
    ordered = [SPANS[i] for i in order]
    bounds = [0, *sorted(cuts), 4]
    batches = [ordered[a:b] for a, b in zip(bounds, bounds[1:]) if a < b]
    for index, batch in enumerate(batches):
        if index == info_at:
            store.traces.start_trace(info(7))
        store.traces.log_spans("0", [(tid, dict(doc)) for tid, doc in batch])
    if info_at >= len(batches):
        store.traces.start_trace(info(7))
    assert _stored(store) == _stored(reference)
    trace, spans = store.traces.get_trace(f"tr-{7:032x}", allow_partial=False)
    assert [s["name"] for s in spans][0] == "s1"  # the root comes first


def test_spans_alone_make_a_trace_with_times_and_status_from_the_spans():
    store = TrackingStore()
    store.traces.log_spans("0", [(t, d) for t, d in SPANS[1:]])
    trace = store.traces.get_info(f"tr-{7:032x}")
    assert (trace.state, trace.execution_duration) == ("IN_PROGRESS", 35)
    store.traces.log_spans("0", [SPANS[0]])
    trace = store.traces.get_info(f"tr-{7:032x}")
    assert (trace.state, trace.execution_duration, trace.request_preview) == ("OK", 50, '{"n": 1}')
    assert trace.tags["mlflow.trace.spansLocation"] == "TRACKING_STORE"


def test_a_partial_trace_is_not_returned_whole():
    store = TrackingStore()
    store.traces.start_trace(info(7))
    store.traces.log_spans("0", SPANS[:2])
    with pytest.raises(MlflowError, match="not fully exported yet"):
        store.traces.get_trace(f"tr-{7:032x}", allow_partial=False)
    assert len(store.traces.get_trace(f"tr-{7:032x}", allow_partial=True)[1]) == 2


@settings(max_examples=40, deadline=None)
@given(times=st.lists(st.integers(0, 5), min_size=0, max_size=12), page=st.integers(1, 5),
       ascending=st.booleans())
def test_pages_cover_every_trace_once_in_order(times, page, ascending):
    store = TrackingStore()
    for number, request_ms in enumerate(times, start=1):
        store.traces.start_trace(info(number, request_ms=request_ms))
    order = ["timestamp_ms ASC" if ascending else "timestamp_ms DESC"]
    seen, token = [], None
    for _ in range(len(times) + 2):
        found, token = search_traces(store.traces, ["0"], "", page, order, token)
        seen += [(t.request_time, t.trace_id) for t in found]
        if token is None:
            break
    expected = sorted(seen, key=lambda x: (x[0] if ascending else -x[0], x[1]))
    assert seen == expected and len(seen) == len(times) == len(set(seen))


def test_delete_by_count_takes_the_oldest_first():
    store = TrackingStore()
    for number, request_ms in [(1, 30), (2, 10), (3, 20)]:
        store.traces.start_trace(info(number, request_ms=request_ms))
    assert store.traces.delete_traces("0", None, 2, []) == 2
    assert list(store.traces.traces) == [f"tr-{1:032x}"]


def test_a_refused_tag_changes_nothing():
    store = TrackingStore()
    store.traces.start_trace(info(1))
    before = dict(store.traces.get_info(f"tr-{1:032x}").tags)
    with pytest.raises(MlflowError):
        store.traces.set_tag(f"tr-{1:032x}", "a/../b", "v")
    with pytest.raises(MlflowError, match="FOREIGN KEY"):
        store.traces.set_tag("tr-unknown", "k", "v")
    assert store.traces.get_info(f"tr-{1:032x}").tags == before


def test_overriding_and_deleting_assessments_toggle_validity():
    store = TrackingStore()
    store.traces.start_trace(info(1))
    tid = f"tr-{1:032x}"

    def make(aid: str, overrides: str = "") -> Assessment:
        return Assessment(aid, "rel", tid, "HUMAN", "me", 1, 1, "feedback", 0.5,
                          overrides=overrides)
    store.traces.create_assessment(make("a-1"))
    store.traces.create_assessment(make("a-2", overrides="a-1"))
    assert store.traces.get_assessment(tid, "a-1").valid is False
    store.traces.delete_assessment(tid, "a-2")
    assert store.traces.get_assessment(tid, "a-1").valid is True
    with pytest.raises(MlflowError, match="not found for trace"):
        store.traces.get_assessment(tid, "a-2")


def test_snapshots_keep_traces_spans_and_assessments():
    store = TrackingStore()
    store.traces.start_trace(info(7))
    store.traces.log_spans("0", [(t, dict(d)) for t, d in SPANS])
    store.traces.create_assessment(Assessment("a-1", "rel", f"tr-{7:032x}", "CODE", "x", 1, 1,
                                              "expectation", {"k": [1, 2]}))
    snapshot = json.loads(json.dumps(dump(store)))
    copy = TrackingStore()
    load(copy, snapshot)
    assert _stored(copy) == _stored(store)
    assert copy.traces.get_assessment(f"tr-{7:032x}", "a-1").value == {"k": [1, 2]}


def _prompt_search(store: TrackingStore, prompt: str) -> list[str]:
    found, _ = search_traces(store.traces, ["0"], f"prompt = '{prompt}'", 100, [], None)
    return [t.trace_id for t in found]


@given(st.lists(st.tuples(st.sampled_from(["qa", "chat"]), st.integers(1, 3)), max_size=6))
def test_prompt_links_are_found_kept_past_deletion_and_snapshotted(links):
    store = TrackingStore()
    trace_id = f"tr-{7:032x}"
    store.traces.start_trace(info(7))
    wanted = [f"{n}/{v}" for n, v in links]
    if len(set(wanted)) < len(wanted):  # a link twice in one request: refused, none kept
        with pytest.raises(MlflowError, match="UNIQUE constraint failed"):
            store.traces.link_prompts(trace_id, wanted)
        assert store.traces.get_info(trace_id).linked_prompts == []
        wanted = list(dict.fromkeys(wanted))
    store.traces.link_prompts(trace_id, wanted)
    store.traces.link_prompts(trace_id, wanted)  # again: nothing new, nothing refused
    linked = set(wanted)
    for prompt in ("qa/1", "qa/2", "chat/3"):
        assert _prompt_search(store, prompt) == ([trace_id] if prompt in linked else [])
    copy = TrackingStore()
    load(copy, json.loads(json.dumps(dump(store))))
    assert copy.traces.prompt_links == {k: v for k, v in store.traces.prompt_links.items() if v}
    store.traces.delete_traces("0", None, None, [trace_id])
    restored = TrackingStore()  # the links of a deleted trace are in snapshots too
    load(restored, json.loads(json.dumps(dump(store))))
    for kept in (store, restored):
        kept.traces.start_trace(info(7))  # the same id again: MLflow's association is still there
        assert sorted(kept.traces.get_info(trace_id).linked_prompts) == sorted(linked)


def test_linking_prompts_to_an_unknown_trace_changes_nothing():
    store = TrackingStore()
    with pytest.raises(MlflowError, match="Trace with ID 'tr-x' not found."):
        store.traces.link_prompts("tr-x", ["qa/1"])
    assert store.traces.prompt_links == {}
