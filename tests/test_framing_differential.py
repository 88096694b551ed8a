"""Malformed request framing, sent byte for byte to real MLflow 3.17.2 (uvicorn + h11) and to
fakeflow: the status codes must agree, and fakeflow must close the connection after refusing.

Two agreements are by a different road: real MLflow's h11 lets Transfer-Encoding override
Content-Length (and takes chunked bodies from HTTP/1.0 clients), then its WSGI bridge hands the
app an empty body, which the app refuses with 400; fakeflow refuses such framing outright, as
RFC 9112 recommends, with the same 400.
"""

from __future__ import annotations

import json
import socket

import pytest

SEARCH = "/api/2.0/mlflow/experiments/search"
BODY = json.dumps({"max_results": 1}).encode()
CHUNKED = b"%x\r\n%s\r\n0\r\n\r\n" % (len(BODY), BODY)
JSON = b"Content-Type: application/json\r\n"


def _post(head: bytes, body: bytes, version: bytes = b"HTTP/1.1", host: bytes = b"Host: 127.0.0.1\r\n") -> bytes:
    return b"POST " + SEARCH.encode() + b" " + version + b"\r\n" + host + JSON + head + b"\r\n" + body


CASES = {
    "plain request (control)": _post(b"Content-Length: %d\r\n" % len(BODY), BODY),
    "conflicting Content-Length lines": _post(
        b"Content-Length: %d\r\nContent-Length: %d\r\n" % (len(BODY), len(BODY) + 1), BODY + b" "),
    "conflicting Content-Length list": _post(
        b"Content-Length: %d, %d\r\n" % (len(BODY), len(BODY) + 1), BODY + b" "),
    "equal repeated Content-Length": _post(
        b"Content-Length: %d\r\nContent-Length: %d\r\n" % (len(BODY), len(BODY)), BODY),
    "Transfer-Encoding then Content-Length": _post(
        b"Transfer-Encoding: chunked\r\nContent-Length: %d\r\n" % len(BODY), CHUNKED),
    "Content-Length then Transfer-Encoding": _post(
        b"Content-Length: %d\r\nTransfer-Encoding: chunked\r\n" % len(BODY), CHUNKED),
    "Transfer-Encoding: gzip": _post(b"Transfer-Encoding: gzip\r\n", BODY),
    "Transfer-Encoding: gzip, chunked": _post(b"Transfer-Encoding: gzip, chunked\r\n", CHUNKED),
    "Transfer-Encoding in HTTP/1.0": _post(b"Transfer-Encoding: chunked\r\n", CHUNKED, b"HTTP/1.0"),
    "signed Content-Length": _post(b"Content-Length: +%d\r\n" % len(BODY), BODY),
    "negative Content-Length": _post(b"Content-Length: -1\r\n", BODY),
    "non-numeric Content-Length": _post(b"Content-Length: abc\r\n", BODY),
    "no Host in HTTP/1.1": _post(b"Content-Length: %d\r\n" % len(BODY), BODY, host=b""),
    "space before the colon": _post(b"Content-Length : %d\r\n" % len(BODY), BODY),
    "bad chunk size": _post(b"Transfer-Encoding: chunked\r\n", b"zz\r\n" + BODY + b"\r\n0\r\n\r\n"),
}


def _answer(port: int, payload: bytes, await_close: bool = False) -> tuple[int, bool]:
    """The status, and (if asked) whether the server closed the connection after it."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(payload)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            assert chunk, f"no answer to {payload[:60]!r}"
            data += chunk
        code = int(data.split(b" ", 2)[1])
        if not await_close:
            return code, False
        sock.settimeout(3)
        try:
            while sock.recv(65536):
                pass
            closed = True
        except TimeoutError:
            closed = False
        return code, closed


def _port(url: str) -> int:
    return int(url.rsplit(":", 1)[1].rstrip("/"))


@pytest.mark.parametrize("payload", list(CASES.values()), ids=list(CASES))
def test_framing_answers_match_real_mlflow(payload: bytes, reference_server, fakeflow_server) -> None:
    real_status, _ = _answer(_port(reference_server.url), payload)
    fake_status, fake_closed = _answer(_port(fakeflow_server.url), payload, await_close=True)
    assert fake_status == real_status
    if fake_status >= 400:
        assert fake_closed, "a refused request must end its connection"
