"""A page of metric history costs the page, and a full history is encoded once, as it is sent.

No timing here (speed is reported by ``benchmarks/bench_history.py``): the tests show what a
request touches: the history's points are never materialised for a page, the memory a page or
a full answer needs, and that the body is produced after the store lock is released.
"""

from __future__ import annotations

import base64
import json
import math
import threading
import tracemalloc
from array import array
from typing import Any, Iterator

import pytest
import requests
from hypothesis import given, settings
from hypothesis import strategies as st
from werkzeug.test import Client

from fakeflow import create_app
from fakeflow.control.middleware import ControlledApp
from fakeflow.search.paging import encode_offset_token, page_slice
from fakeflow.state.metric_history import HistoryWindow, MetricHistory, MetricPoint
from fakeflow.transport.wsgi_adapter import WSGIAdapter
from fakeflow.web.history_json import bulk_interval_answer, history_answer
from fakeflow.web.jsonfmt import dumps_indented
from fakeflow.web.render import metric

BIG = 200_000
BASE_TS = 1_700_000_000_000
HISTORY = "/api/2.0/mlflow/metrics/get-history"


def _history(n: int, tidy: bool = True) -> MetricHistory:
    """``n`` distinct points (step i at BASE_TS + i), built without going through ``append``."""
    order = list(range(n)) if tidy else list(range(n))[::-1]
    return MetricHistory.from_raw(
        (1.0 / (i + 1) for i in order), (BASE_TS + i for i in order), order, tidy,
        MetricPoint(1.0 / n, BASE_TS + n - 1, n - 1) if n else None)


@pytest.fixture
def big_app() -> Iterator[tuple[Any, str]]:
    app = create_app()
    run_id = app.store.create_run("0", start_time=1).run_id
    app.store.runs[run_id].metrics["loss"] = _history(BIG)
    yield app, run_id


def _query(run_id: str, **extra: Any) -> str:
    fields = {"run_id": run_id, "metric_key": "loss", **extra}
    return "&".join(f"{k}={v}" for k, v in fields.items())


def _environ(run_id: str, **extra: Any) -> dict[str, Any]:
    import io

    return {"REQUEST_METHOD": "GET", "PATH_INFO": HISTORY, "QUERY_STRING": _query(run_id, **extra),
            "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "5000", "HTTP_HOST": "127.0.0.1:5000",
            "wsgi.input": io.BytesIO(), "wsgi.url_scheme": "http", "SERVER_PROTOCOL": "HTTP/1.1"}


def _expected(points: list[MetricPoint], token: str | None = None) -> str:
    out: dict[str, Any] = {}
    if points:
        out["metrics"] = [metric("loss", p) for p in points]
    if token:
        out["next_page_token"] = token
    return dumps_indented(out)


def _no_materialising(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(self: MetricHistory, *args: Any) -> Any:
        raise AssertionError("a page must not materialise the whole history")

    monkeypatch.setattr(MetricHistory, "points", refuse)
    monkeypatch.setattr(MetricHistory, "__iter__", refuse)


@pytest.mark.parametrize("offset", [0, BIG // 2, BIG - 1000])
def test_a_page_never_materialises_the_history(big_app, monkeypatch, offset: int) -> None:
    app, run_id = big_app
    _no_materialising(monkeypatch)
    token = encode_offset_token(offset) if offset else ""
    response = Client(app).get(f"{HISTORY}?{_query(run_id, max_results=1000, page_token=token)}")
    assert response.status_code == 200, response.data[:300]
    steps = [m["step"] for m in response.get_json()["metrics"]]
    assert steps == list(range(offset, offset + 1000))
    next_token = response.get_json().get("next_page_token")
    assert next_token == (encode_offset_token(offset + 1000) if offset + 1000 < BIG else None)


def test_a_page_allocates_in_proportion_to_the_page(big_app) -> None:
    app, run_id = big_app
    client = Client(app)
    url = f"{HISTORY}?{_query(run_id, max_results=100, page_token=encode_offset_token(BIG // 2))}"
    client.get(url)  # warm up imports and caches
    tracemalloc.start()
    try:
        response = client.get(url)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert response.status_code == 200
    # The page's JSON is ~13 KB; materialising the history would take > 20 MB.
    assert peak < 1_000_000, peak


def test_an_untidy_history_is_sorted_once_for_all_pages(monkeypatch) -> None:
    app = create_app()
    run_id = app.store.create_run("0", start_time=1).run_id
    app.store.runs[run_id].metrics["loss"] = _history(5000, tidy=False)
    calls = []
    original = MetricHistory._tidy_up
    monkeypatch.setattr(MetricHistory, "_tidy_up", lambda self: calls.append(1) or original(self))
    client = Client(app)
    token = ""
    seen: list[int] = []
    for _ in range(5):
        answer = client.get(f"{HISTORY}?{_query(run_id, max_results=1000, page_token=token)}")
        seen += [m["step"] for m in answer.get_json()["metrics"]]
        token = answer.get_json().get("next_page_token", "")
    assert seen == list(range(5000)) and token == ""
    assert len(calls) == 1


def test_the_full_answer_is_streamed_after_the_lock_is_released(big_app) -> None:
    app, run_id = big_app
    expected = _expected(list(_history(BIG))).encode()
    lock_free_while_sending = []
    captured: list[Any] = []

    def lock_is_free() -> None:
        if app.store.lock.acquire(timeout=5):
            app.store.lock.release()
            lock_free_while_sending.append(True)

    tracemalloc.start()
    try:
        chunks = app(_environ(run_id), lambda status, headers: captured.extend([status, headers]))
        size, count = 0, 0
        for chunk in chunks:
            if count == 1:
                other = threading.Thread(target=lock_is_free)
                other.start()
                other.join()
            assert expected[size:size + len(chunk)] == chunk
            size, count = size + len(chunk), count + 1
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert size == len(expected) and count > 1
    assert captured[0] == "200 OK"
    assert "Content-Length" not in dict(captured[1])  # sent as produced (chunked over HTTP)
    assert lock_free_while_sending == [True]
    # The arrays' copy (24 bytes a point) plus the first MiB and a piece or two; never the
    # answer (~127 bytes a point) as Python objects or as one string.
    assert peak < 24 * BIG + 3 * 2**20 < len(expected) / 3, (peak, len(expected))


def test_a_small_answer_is_sent_whole_with_its_length(big_app) -> None:
    app, run_id = big_app
    captured: list[Any] = []
    body = b"".join(app(_environ(run_id, max_results=3),
                        lambda status, headers: captured.extend([status, headers])))
    assert dict(captured[1])["Content-Length"] == str(len(body))
    assert body.decode() == _expected(list(_history(3)), encode_offset_token(3))


def test_the_full_answer_through_the_transport_and_the_request_log() -> None:
    app = ControlledApp(record=True)
    run_id = app.store.create_run("0", start_time=1).run_id
    app.store.runs[run_id].metrics["loss"] = _history(20_000)
    session = requests.Session()
    session.mount("http://fake", WSGIAdapter(app))
    response = session.get(f"http://fake{HISTORY}", params={"run_id": run_id, "metric_key": "loss"})
    assert response.status_code == 200
    assert response.content.decode() == _expected(list(_history(20_000)))
    # The log records the call, but does not keep a second copy of a streamed answer.
    assert app.log[-1].status == 200 and app.log[-1].response_body == b""


def test_a_streamed_answer_over_http_keeps_the_connection_alive() -> None:
    from fakeflow import ThreadedServer

    app = create_app()
    run_id = app.store.create_run("0", start_time=1).run_id
    app.store.runs[run_id].metrics["loss"] = _history(20_000)
    with ThreadedServer(app) as server, requests.Session() as session:
        url = server.url + HISTORY
        whole = session.get(url, params={"run_id": run_id, "metric_key": "loss"})
        assert whole.headers.get("Transfer-Encoding") == "chunked"
        assert whole.text == _expected(list(_history(20_000)))
        page = session.get(url, params={"run_id": run_id, "metric_key": "loss", "max_results": 2})
        assert page.headers["Content-Length"] == str(len(page.content))
        assert page.text == _expected(list(_history(2)), encode_offset_token(2))
        again = session.get(url, params={"run_id": run_id, "metric_key": "loss"})
        assert again.content == whole.content


def test_an_offset_sqlite_cannot_bind_is_an_internal_error() -> None:
    app = create_app()
    token = base64.b64encode(json.dumps({"offset": 2**63}).encode()).decode()
    response = Client(app).get(f"{HISTORY}?{_query('0' * 32, page_token=token)}")
    assert response.status_code == 500
    assert response.get_json()["message"] == "Python int too large to convert to SQLite INTEGER"


# ---- the encoder and the paging arithmetic, against the straightforward versions -------------

values = st.one_of(st.floats(allow_nan=True, allow_infinity=True),
                   st.sampled_from([0.0, -0.0, math.nan, 1e16, 5e-324]))
int64 = st.integers(-(2**63), 2**63 - 1)
points = st.lists(st.tuples(values, int64, int64), max_size=40)
texts = st.text(max_size=12) | st.sampled_from(['value": nan,', "\n      \"value\": inf,"])


@settings(max_examples=200, deadline=None)
@given(points, texts, st.sampled_from([None, "", "eyJvZmZzZXQiOiAyfQ=="]), st.integers(1, 5))
def test_history_json_is_what_the_generic_writer_gives(rows, key, token, per_piece) -> None:
    import fakeflow.web.history_json as history_json

    window = HistoryWindow(array("d", [r[0] for r in rows]), array("q", [r[1] for r in rows]),
                           array("q", [r[2] for r in rows]))
    original, history_json.POINTS_PER_PIECE = history_json.POINTS_PER_PIECE, per_piece
    try:
        got = history_answer(key, window, token)
        text = got if isinstance(got, str) else b"".join(got).decode()
        sampled = bulk_interval_answer(key, [("r1", window), ("r2", HistoryWindow()), ("r3", window)])
        bulk = sampled if isinstance(sampled, str) else b"".join(sampled).decode()
    finally:
        history_json.POINTS_PER_PIECE = original
    answer: dict[str, Any] = {}
    if rows:
        answer["metrics"] = [metric(key, MetricPoint(*r)) for r in rows]
    if token:
        answer["next_page_token"] = token
    assert text == dumps_indented(answer)
    expected_bulk = [dict(metric(key, MetricPoint(*r)), run_id=run) for run in ("r1", "r3")
                     for r in rows]
    assert bulk == dumps_indented({"metrics": expected_bulk} if rows else {})


history_rows = st.lists(st.tuples(st.sampled_from([0.0, -0.0, 1.0, 2.5, math.nan, -3.0]),
                                  st.integers(0, 6), st.integers(-3, 6)), max_size=60)


def _filled(rows: list[tuple[float, int, int]]) -> MetricHistory:
    history = MetricHistory()
    for value, timestamp, step in rows:
        history.append(value, timestamp, step)
    return history


@settings(max_examples=200, deadline=None)
@given(history_rows, st.integers(-5, 70), st.one_of(st.none(), st.integers(1, 70)))
def test_a_page_is_the_slice_of_the_whole_history(rows, offset, max_results) -> None:
    from fakeflow.state.tracking import TrackingStore

    store = TrackingStore()
    run_id = store.create_run("0", start_time=1).run_id
    store.runs[run_id].metrics["m"] = history = _filled(rows)
    everything = history.points()
    token = encode_offset_token(offset) if offset else None
    window, next_token = store.get_metric_history(run_id, "m", max_results, token)
    expected, expected_token = page_slice(everything, offset, max_results)
    assert [(str(p.value), p.timestamp, p.step) for p in window] == \
        [(str(p.value), p.timestamp, p.step) for p in expected]
    assert next_token == expected_token


def _reference_sample(points: list[MetricPoint], n: int, first: int | None,
                      last: int | None) -> list[MetricPoint]:
    """GetMetricHistoryBulkInterval's selection, written the obvious way."""
    def by_step(p: MetricPoint) -> tuple:
        nan = math.isnan(p.value)
        return (p.step, p.timestamp, 0.0 if nan else p.value, nan)

    ordered = sorted(points, key=by_step)
    if first is not None and last is not None:
        ordered = [p for p in ordered if first <= p.step <= last]
    if len(ordered) <= n:
        return ordered
    size, extra = divmod(len(ordered), n)
    chosen, start = [], 0
    for bucket in range(n):
        chosen.append(ordered[start])
        start += size + (1 if bucket < extra else 0)
    chosen[-1] = ordered[-1]
    return chosen


@settings(max_examples=300, deadline=None)
@given(history_rows, st.integers(1, 12), st.one_of(st.none(), st.tuples(st.integers(-4, 7),
                                                                       st.integers(0, 7))))
def test_bulk_interval_sampling_matches_the_obvious_version(rows, n, bounds) -> None:
    first, last = (bounds[0], bounds[0] + bounds[1]) if bounds else (None, None)
    history = _filled(rows)
    got = list(history.sample_by_step(n, first, last))
    expected = _reference_sample(history.points(), n, first, last)
    assert [(str(p.value), p.timestamp, p.step) for p in got] == \
        [(str(p.value), p.timestamp, p.step) for p in expected]
