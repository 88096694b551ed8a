"""The threaded server and `fakeflow serve`: loopback by default, port 0, loud bind failures."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time

import pytest
import requests
from hypothesis import given
from hypothesis import strategies as st

from fakeflow import ThreadedServer, create_app
from fakeflow.server import reach
from tests.support.processes import stop_server


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
        assert stop_server(process) == 0


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


def _first_lines(*args: str) -> tuple[str, str]:
    """Start ``fakeflow serve``, read its URL line, stop it at once: (stdout line, stderr)."""
    process = _serve(*args)
    try:
        line = process.stdout.readline().strip()
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=10)
    return line, process.stderr.read()


@pytest.mark.parametrize("host, url_host", [("0.0.0.0", "127.0.0.1"), ("", "127.0.0.1"),
                                            ("::", "[::1]")])
def test_cli_serve_on_every_interface_warns_and_prints_a_url_that_works_locally(host, url_host):
    if host == "::" and not socket.has_ipv6:
        pytest.skip("no IPv6")
    line, errors = _first_lines("--host", host, "--port", "0")
    assert line.startswith(f"fakeflow listening on http://{url_host}:")
    port = line.rsplit(":", 1)[1]
    assert port.isdigit() and port != "0"
    assert "WARNING" in errors and "every" in errors and "interface" in errors and port in errors


def test_cli_serve_on_loopback_does_not_warn():
    line, errors = _first_lines("--host", "127.0.0.1", "--port", "0")
    assert line.startswith("fakeflow listening on http://127.0.0.1:")
    assert "WARNING" not in errors


def test_cli_serve_bounds_reach_the_server():
    process = _serve("--port", "0", "--keep-alive-timeout", "1", "--max-connections", "2")
    try:
        port = int(process.stdout.readline().strip().rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            sock.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            started = time.monotonic()
            data = b""
            while chunk := sock.recv(4096):  # the answer, then the close of the idle connection
                data += chunk
            assert data.startswith(b"HTTP/1.1 200") and time.monotonic() - started < 5
    finally:
        assert stop_server(process) == 0


@pytest.mark.parametrize("option", ["--max-connections", "--timeout", "--keep-alive-timeout"])
def test_cli_serve_refuses_non_positive_bounds(option):
    result = subprocess.run([sys.executable, "-m", "fakeflow", "serve", option, "0"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "must be positive" in result.stderr


def test_threaded_server_url_for_wildcard_binds_is_loopback():
    with ThreadedServer(create_app(), host="0.0.0.0") as server:
        assert server.url == f"http://127.0.0.1:{server.port}"
        assert "every IPv4 interface" in server.exposure
    with ThreadedServer(create_app()) as server:
        assert server.exposure is None


@given(st.ip_addresses())
def test_reach_names_a_local_url_host_and_flags_anything_beyond_loopback(address):
    host, exposure = reach(str(address))
    if address.is_loopback:
        assert (host, exposure) == (str(address), None)
    elif address.is_unspecified:
        assert host in ("127.0.0.1", "::1") and "every" in exposure
    else:
        assert host == str(address) and str(address) in exposure
