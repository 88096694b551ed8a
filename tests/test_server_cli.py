"""The threaded server and `fakeflow serve`: loopback by default, port 0, loud bind failures."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time

import pytest
import requests

from fakeflow import ThreadedServer, create_app


def test_threaded_server_binds_loopback_port_zero_and_stops():
    server = ThreadedServer(create_app()).start()
    try:
        assert server.url.startswith("http://127.0.0.1:")
        assert server.port != 0
        assert requests.get(server.url + "/health", timeout=5).text == "OK"
    finally:
        server.stop()
    with pytest.raises(requests.ConnectionError):
        requests.get(server.url + "/health", timeout=2)


def test_threaded_server_raises_when_port_is_busy():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(OSError):
            ThreadedServer(create_app(), port=port).start()


def test_two_servers_do_not_share_state():
    with ThreadedServer() as a, ThreadedServer() as b:
        body = {"name": "only-in-a"}
        assert requests.post(a.url + "/api/2.0/mlflow/experiments/create", json=body).status_code == 200
        missing = requests.get(b.url + "/api/2.0/mlflow/experiments/get-by-name",
                               params={"experiment_name": "only-in-a"})
        assert missing.status_code == 404
        assert missing.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"


def _serve(*args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "fakeflow", "serve", *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def test_cli_serve_prints_url_and_answers_then_stops_on_sigterm():
    process = _serve("--port", "0")
    try:
        line = process.stdout.readline().strip()
        assert line.startswith("fakeflow listening on http://127.0.0.1:")
        url = line.rsplit(" ", 1)[1]
        assert requests.get(url + "/version", timeout=5).text == "3.17.2"
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0


def test_cli_serve_fails_at_once_on_a_busy_port():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        started = time.monotonic()
        process = _serve("--port", str(port))
        try:
            code = process.wait(timeout=20)
        finally:
            if process.poll() is None:
                process.kill()
        assert code == 1
        assert f"cannot listen on 127.0.0.1:{port}" in process.stderr.read()
        assert time.monotonic() - started < 20
