"""The robustness checks of issue 8, written once against any candidate server (``_candidates``).

Each check takes a candidate's name, starts it (in this process, or in a child for the
file-descriptor check), raises ``AssertionError`` on a failure and stops it. The test suite runs
every check against fakeflow's server (tests/test_server_robustness.py); ``bench_servers`` runs
them against every candidate and prints which pass.
"""

from __future__ import annotations

import http.client
import json
import os
import select
import socket
import subprocess
import sys
import time
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

from benchmarks._candidates import HOST, Bounds, Served, start

REPO_ROOT = Path(__file__).resolve().parent.parent
#: A stalled request: a head announcing 100 bytes of body, then one byte, then nothing.
STALLED_POST = (b"POST /api/2.0/mlflow/runs/log-metric HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{")
#: A fresh client must be answered this fast (seconds) whatever other clients do.
PROMPT_S = 1.0


def echo_app(environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
    """Reads the whole body and answers its size; ``/health`` answers ``OK``."""
    from werkzeug.wrappers import Request, Response

    request = Request(environ)
    if request.path == "/health":
        return Response("OK")(environ, start_response)
    size = len(request.get_data())
    return Response(json.dumps({"size": size}), mimetype="application/json")(environ, start_response)


@contextmanager
def serving(name: str, app: Callable = echo_app, bounds: Bounds = Bounds()) -> Iterator[Served]:
    server = start(name, app, bounds)
    try:
        yield server
    finally:
        server.stop()


def exchange(port: int, payload: bytes, timeout: float = 5.0) -> bytes:
    """Send ``payload`` on a fresh connection; the first answer (head and Content-Length body),
    or all that arrives before the server closes."""
    with socket.create_connection((HOST, port), timeout=timeout) as sock:
        sock.sendall(payload)
        return read_answer(sock)


def read_answer(sock: socket.socket, data: bytes = b"") -> bytes:
    """Read on from ``data`` to the end of the first final answer (interim 100s dropped)."""
    while True:
        head, sep, body = data.partition(b"\r\n\r\n")
        if sep and not head.startswith(b"HTTP/1.1 100"):
            length = next((int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                           if line.lower().startswith(b"content-length:")), None)
            if length is not None and len(body) >= length:
                return data
        elif sep:  # skip an interim 100 Continue
            data = body
            continue
        chunk = sock.recv(65536)
        if not chunk:
            return data
        data += chunk


def status(answer: bytes) -> int:
    assert answer.startswith(b"HTTP/1."), f"no HTTP answer: {answer[:80]!r}"
    return int(answer.split(b" ", 2)[1])


def fresh_call(port: int, method: str = "GET", path: str = "/health", body: bytes | None = None,
               timeout: float = 30.0) -> float:
    """Seconds a new client waits for a 200 to one request."""
    started = time.perf_counter()
    connection = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        headers = {"Content-Type": "application/json"} if body is not None else {}
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        response.read()
        assert response.status == 200, f"{method} {path} -> {response.status}"
    finally:
        connection.close()
    return time.perf_counter() - started


@contextmanager
def stalled(port: int, count: int, payload: bytes = STALLED_POST) -> Iterator[list[socket.socket]]:
    """``count`` connections that each send ``payload`` and then go silent."""
    with ExitStack() as stack:
        sockets = []
        for _ in range(count):
            sock = stack.enter_context(socket.create_connection((HOST, port), timeout=5))
            sock.sendall(payload)
            sockets.append(sock)
        time.sleep(0.2)  # let the server take them in
        yield sockets


def closed_within(sock: socket.socket, seconds: float, trickle: bytes = b"") -> float | None:
    """Seconds until the server closes ``sock`` (None: still open after ``seconds``), sending
    ``trickle`` one byte every 0.1 s meanwhile, like a slowloris client."""
    started = time.monotonic()
    for index in range(int(seconds / 0.1) + 1):
        readable, _, _ = select.select([sock], [], [], 0.1)
        try:
            if readable and not _drain(sock):
                return time.monotonic() - started
            if index < len(trickle):
                sock.send(trickle[index:index + 1])
        except OSError:
            return time.monotonic() - started
    return None


def _drain(sock: socket.socket) -> bool:
    """Read what is there (an error answer, say); False once the server has closed."""
    return bool(sock.recv(65536))


def accepted_connections(port: int) -> int:
    """Established connections to ``port`` that some process has accepted (in-process servers:
    a connection still in the listen backlog has no socket inode yet)."""
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == "01" and fields[9] != "0":
                count += 1
    return count


def post(path: str, body: bytes, extra: bytes = b"") -> bytes:
    return (b"POST " + path.encode() + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/json\r\n" + extra + b"\r\n" + body)


# -- the checks ---------------------------------------------------------------------------------

def check_stalled_clients_do_not_block_others(name: str, stalls: int = 50) -> None:
    with serving(name) as server, stalled(server.port, stalls):
        waited = fresh_call(server.port, timeout=3)
        assert waited < PROMPT_S, f"/health took {waited:.2f}s with {stalls} stalled clients"
        waited = fresh_call(server.port, "POST", "/x", b"{}", timeout=3)
        assert waited < PROMPT_S, f"a POST took {waited:.2f}s with {stalls} stalled clients"


def check_conflicting_content_lengths_refused(name: str) -> None:
    with serving(name) as server:
        for lengths in (b"Content-Length: 2\r\nContent-Length: 4\r\n", b"Content-Length: 2, 4\r\n"):
            answer = exchange(server.port, post("/x", b"{}  ", lengths))
            assert status(answer) == 400, answer[:80]


def check_repeated_equal_content_length_accepted(name: str) -> None:
    """RFC 9112 allows a list of equal values; real MLflow (h11) accepts it."""
    with serving(name) as server:
        same = exchange(server.port, post("/x", b"{}", b"Content-Length: 2\r\nContent-Length: 2\r\n"))
        assert status(same) == 200 and same.endswith(b'{"size": 2}'), same[-80:]


def check_transfer_encoding_with_content_length_refused(name: str) -> None:
    with serving(name) as server:
        for order in (b"Content-Length: 7\r\nTransfer-Encoding: chunked\r\n",
                      b"Transfer-Encoding: chunked\r\nContent-Length: 7\r\n"):
            answer = exchange(server.port, post("/x", b"2\r\n{}\r\n0\r\n\r\n", order))
            assert status(answer) == 400, answer[:80]


def check_unknown_transfer_coding_refused(name: str) -> None:
    with serving(name) as server:
        answer = exchange(server.port, post("/x", b"{}", b"Transfer-Encoding: gzip\r\n"))
        assert status(answer) == 400, answer[:80]


def check_connection_cap(name: str, cap: int = 4) -> None:
    with serving(name, bounds=Bounds(max_connections=cap)) as server:
        with stalled(server.port, 3 * cap, b"GET /health HTTP/1.1\r\nHost: x\r\n"):
            time.sleep(0.3)
            accepted = accepted_connections(server.port)
            assert accepted <= cap, f"{accepted} connections served at once, cap {cap}"
        waited = fresh_call(server.port)
        assert waited < 2 * PROMPT_S, f"/health took {waited:.2f}s after the stalled clients left"


def check_idle_connection_closed_at_cap(name: str, cap: int = 4) -> None:
    """At the cap, kept-alive connections that sit idle make room for a new client."""
    with serving(name, bounds=Bounds(max_connections=cap)) as server:
        idle = [http.client.HTTPConnection(HOST, server.port, timeout=2) for _ in range(cap)]
        try:
            for connection in idle:
                connection.request("GET", "/health")
                connection.getresponse().read()
            waited = fresh_call(server.port, timeout=3)
            assert waited < PROMPT_S, f"/health took {waited:.2f}s with {cap} idle connections"
        finally:
            for connection in idle:
                connection.close()


def check_idle_keep_alive_times_out(name: str) -> None:
    with serving(name, bounds=Bounds(keep_alive_timeout=1, request_timeout=1)) as server:
        with socket.create_connection((HOST, server.port), timeout=5) as sock:
            sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
            assert status(read_answer(sock)) == 200
            waited = closed_within(sock, 3)
            assert waited is not None, "an idle kept-alive connection was still open after 3s"


def check_slow_headers_time_out(name: str) -> None:
    head = b"GET /health HTTP/1.1\r\nHost: x\r\n" + b"X-Slow: " + b"a" * 200 + b"\r\n\r\n"
    with serving(name, bounds=Bounds(keep_alive_timeout=1, request_timeout=1)) as server:
        with socket.create_connection((HOST, server.port), timeout=5) as sock:
            waited = closed_within(sock, 3, trickle=head)
            assert waited is not None, "a head trickled byte by byte was still read after 3s"


def check_slow_body_times_out(name: str) -> None:
    with serving(name, bounds=Bounds(keep_alive_timeout=1, request_timeout=1)) as server:
        with socket.create_connection((HOST, server.port), timeout=5) as sock:
            sock.sendall(post("/x", b"", b"Content-Length: 1000\r\n"))
            waited = closed_within(sock, 3, trickle=b"x" * 1000)
            assert waited is not None, "a body trickled byte by byte was still read after 3s"


def child_cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def check_out_of_file_descriptors(name: str, nofile: int = 64, clients: int = 120) -> None:
    """The server, limited to ``nofile`` descriptors, is flooded: it must not spin, and must
    answer again once the flood leaves."""
    child = subprocess.Popen(
        [sys.executable, "-m", "benchmarks._candidates", name, "--app", "echo",
         "--nofile", str(nofile)],
        cwd=REPO_ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        text=True)
    try:
        url = child.stdout.readline().strip()
        assert url.startswith("http://"), f"{name} did not start"
        port = int(url.rsplit(":", 1)[1])
        flood = []
        try:
            for _ in range(clients):
                sock = socket.socket()
                sock.setblocking(False)
                sock.connect_ex((HOST, port))
                flood.append(sock)
            time.sleep(0.7)
            before = child_cpu_seconds(child.pid)
            time.sleep(1.5)
            spent = child_cpu_seconds(child.pid) - before
            assert spent < 0.2, f"{spent:.2f}s of CPU in 1.5s while out of descriptors"
        finally:
            for sock in flood:
                sock.close()
        deadline = time.monotonic() + 5
        while True:
            try:
                fresh_call(port, timeout=2)
                break
            except (OSError, AssertionError, http.client.HTTPException):
                assert time.monotonic() < deadline, "no answer 5s after the flood left"
                time.sleep(0.1)
    finally:
        child.stdin.close()
        try:
            child.wait(timeout=10)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


def check_mass_close(name: str, clients: int = 2000) -> None:
    """``clients`` connections close at once; a new client is answered promptly after."""
    with serving(name) as server:
        flood = []
        try:
            for _ in range(clients):
                sock = socket.socket()
                sock.setblocking(False)
                sock.connect_ex((HOST, server.port))
                flood.append(sock)
            time.sleep(1.0)
        finally:
            for sock in flood:
                sock.close()
        waited = fresh_call(server.port)
        assert waited < 2 * PROMPT_S, f"/health took {waited:.2f}s after {clients} clients left"


def check_keep_alive_reuse(name: str) -> None:
    with serving(name) as server:
        connection = http.client.HTTPConnection(HOST, server.port, timeout=5)
        try:
            connection.request("GET", "/health")
            connection.getresponse().read()
            sock = connection.sock
            for _ in range(3):
                connection.request("POST", "/x", body=b"{}")
                assert connection.getresponse().read() == b'{"size": 2}'
            assert connection.sock is sock, "the connection was not kept alive"
        finally:
            connection.close()


def check_chunked_body(name: str) -> None:
    with serving(name) as server:
        connection = http.client.HTTPConnection(HOST, server.port, timeout=5)
        try:
            connection.request("POST", "/x", body=iter([b"ab", b"cde"]), encode_chunked=True,
                               headers={"Transfer-Encoding": "chunked"})
            assert connection.getresponse().read() == b'{"size": 5}'
        finally:
            connection.close()


def check_oversized_body_refused(name: str) -> None:
    from fakeflow.web.app import create_app

    with serving(name, app=create_app(max_content_length=1024)) as server:
        path = "/api/2.0/mlflow/experiments/create"
        body = json.dumps({"name": "x" * 4000}).encode()
        answer = exchange(server.port, post(path, body, b"Content-Length: %d\r\n" % len(body)))
        assert status(answer) == 413, answer[:80]
        chunked = b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)
        answer = exchange(server.port, post(path, chunked, b"Transfer-Encoding: chunked\r\n"))
        assert status(answer) == 413, answer[:80]


def check_expect_100_continue(name: str) -> None:
    with serving(name) as server:
        with socket.create_connection((HOST, server.port), timeout=5) as sock:
            sock.sendall(post("/x", b"", b"Content-Length: 2\r\nExpect: 100-continue\r\n"))
            readable, _, _ = select.select([sock], [], [], 2)
            assert readable, "no 100 Continue within 2s"
            first = sock.recv(65536)
            assert first.startswith(b"HTTP/1.1 100"), first[:80]
            sock.sendall(b"{}")
            answer = read_answer(sock, first)
            assert status(answer) == 200 and answer.endswith(b'{"size": 2}'), answer[-80:]


CHECKS: dict[str, Callable[[str], None]] = {
    "stalled clients (50) do not block others": check_stalled_clients_do_not_block_others,
    "conflicting Content-Length -> 400": check_conflicting_content_lengths_refused,
    "equal repeated Content-Length accepted": check_repeated_equal_content_length_accepted,
    "Transfer-Encoding + Content-Length -> 400": check_transfer_encoding_with_content_length_refused,
    "Transfer-Encoding: gzip -> 400 (as MLflow)": check_unknown_transfer_coding_refused,
    "connection cap holds": check_connection_cap,
    "idle connections make room at the cap": check_idle_connection_closed_at_cap,
    "idle keep-alive times out": check_idle_keep_alive_times_out,
    "slow headers (slowloris) time out": check_slow_headers_time_out,
    "slow body times out": check_slow_body_times_out,
    "out of file descriptors: no spin, recovers": check_out_of_file_descriptors,
    "2,000 connections closing at once": check_mass_close,
    "keep-alive reuse": check_keep_alive_reuse,
    "chunked request body": check_chunked_body,
    "413 for an over-large body": check_oversized_body_refused,
    "Expect: 100-continue": check_expect_100_continue,
}
