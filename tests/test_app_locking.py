"""A client that stalls mid-upload must not hold up anyone else (no I/O under the store lock)."""

from __future__ import annotations

import socket
import time
from typing import Any, Callable, Iterator

import pytest
import requests

from fakeflow.control import CONTROL_PREFIX, ControlledApp
from fakeflow.server import ThreadedServer
from fakeflow.web.app import create_app

PROMPT_SECONDS = 1.0


def _plain() -> Any:
    return create_app()


def _controlled() -> Any:
    return ControlledApp(record=False)


def _controlled_recording() -> Any:
    return ControlledApp(record=True)


@pytest.fixture(params=[_plain, _controlled, _controlled_recording],
                ids=["app", "controlled", "controlled-recording"])
def server(request: pytest.FixtureRequest) -> Iterator[ThreadedServer]:
    factory: Callable[[], Any] = request.param
    with ThreadedServer(factory()) as running:
        yield running


def _stall(port: int, path: str, declared: int = 100, sent: bytes = b"{") -> socket.socket:
    """Start a request whose body never arrives in full; the socket stays open."""
    stalled = socket.create_connection(("127.0.0.1", port), timeout=10)
    stalled.sendall(
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {declared}\r\n\r\n".encode() + sent
    )
    time.sleep(0.2)  # let the server pick it up and start reading the body
    return stalled


def _timed(call: Callable[[], requests.Response]) -> tuple[requests.Response, float]:
    start = time.perf_counter()
    answer = call()
    return answer, time.perf_counter() - start


def test_a_stalled_upload_does_not_hold_up_reads_or_writes(server: ThreadedServer) -> None:
    url = server.url
    api = url + "/api/2.0/mlflow/"
    run_id = requests.post(api + "runs/create", json={"experiment_id": "0"},
                           timeout=5).json()["run"]["info"]["run_id"]
    stalled = _stall(server.port, "/api/2.0/mlflow/runs/log-metric")
    try:
        calls = [
            lambda: requests.get(url + "/health", timeout=PROMPT_SECONDS * 5),
            lambda: requests.post(api + "experiments/create", json={"name": "while-stalled"},
                                  timeout=PROMPT_SECONDS * 5),
            lambda: requests.post(api + "runs/log-metric", timeout=PROMPT_SECONDS * 5, json={
                "run_id": run_id, "key": "m", "value": 1.0, "timestamp": 1}),
            lambda: requests.get(api + "runs/get", params={"run_id": run_id},
                                 timeout=PROMPT_SECONDS * 5),
        ]
        for call in calls:
            answer, seconds = _timed(call)
            assert answer.status_code == 200, answer.text
            assert seconds < PROMPT_SECONDS, f"answered after {seconds:.2f} s"
        metrics = requests.get(api + "runs/get", params={"run_id": run_id},
                               timeout=5).json()["run"]["data"]["metrics"]
        assert [m["key"] for m in metrics] == ["m"]
    finally:
        stalled.close()


def test_a_stalled_snapshot_upload_does_not_hold_up_the_control_plane() -> None:
    with ThreadedServer(ControlledApp()) as server:
        control = server.url + CONTROL_PREFIX
        stalled = _stall(server.port, CONTROL_PREFIX + "/state", declared=10_000)
        try:
            for call in (lambda: requests.get(control + "/state", timeout=5),
                         lambda: requests.post(control + "/reset", json={}, timeout=5),
                         lambda: requests.post(server.url + "/api/2.0/mlflow/experiments/create",
                                               json={"name": "x"}, timeout=5)):
                answer, seconds = _timed(call)
                assert answer.status_code == 200, answer.text
                assert seconds < PROMPT_SECONDS, f"answered after {seconds:.2f} s"
        finally:
            stalled.close()


def test_an_injected_delay_does_not_hold_up_other_routes() -> None:
    app = ControlledApp()
    with ThreadedServer(app) as server:
        app.delay("runs/create", 3.0)
        slow = socket.create_connection(("127.0.0.1", server.port), timeout=10)
        body = b'{"experiment_id": "0"}'
        slow.sendall(b"POST /api/2.0/mlflow/runs/create HTTP/1.1\r\nHost: localhost\r\n"
                     b"Content-Type: application/json\r\nContent-Length: "
                     + str(len(body)).encode() + b"\r\n\r\n" + body)
        try:
            time.sleep(0.2)
            answer, seconds = _timed(lambda: requests.post(
                server.url + "/api/2.0/mlflow/experiments/create", json={"name": "y"}, timeout=5))
            assert answer.status_code == 200 and seconds < PROMPT_SECONDS
        finally:
            slow.close()
