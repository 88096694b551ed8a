"""fakeflow's keep-alive HTTP server: connections are reused, unread bodies never leak into the
next request, chunked uploads work and are bounded."""

from __future__ import annotations

import http.client
import json
import socket

from werkzeug.wrappers import Request, Response

from fakeflow import ThreadedServer, create_app
from fakeflow import wsgi_server


def echo_length(environ, start_response):
    """Reads the body only when asked to (?read=1), like an app that answers early."""
    request = Request(environ)
    size = len(request.get_data()) if request.args.get("read") else -1
    return Response(json.dumps({"size": size}), mimetype="application/json")(environ, start_response)


def test_one_connection_serves_many_requests_even_when_bodies_are_not_read():
    with ThreadedServer(echo_length) as server:
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
        for read in ("", "1", "", "1"):
            connection.request("POST", f"/x?read={read}", body=b"z" * 5000,
                               headers={"Content-Type": "application/octet-stream"})
            response = connection.getresponse()
            assert response.getheader("Connection") is None
            assert json.loads(response.read())["size"] == (5000 if read else -1)
        assert connection.sock is not None  # never reconnected


def test_chunked_request_bodies_are_decoded():
    with ThreadedServer(echo_length) as server:
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
        connection.request("POST", "/x?read=1", body=iter([b"ab", b"cde"]), encode_chunked=True,
                           headers={"Transfer-Encoding": "chunked"})
        assert json.loads(connection.getresponse().read())["size"] == 5


def test_oversized_chunked_bodies_are_refused(monkeypatch):
    monkeypatch.setattr(wsgi_server, "MAX_CHUNKED_BODY", 10)
    with ThreadedServer(echo_length) as server:
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
        connection.request("POST", "/x?read=1", body=iter([b"x" * 8, b"y" * 8]), encode_chunked=True,
                           headers={"Transfer-Encoding": "chunked"})
        assert connection.getresponse().status == 413


def test_http_1_0_clients_get_connection_close():
    with ThreadedServer(create_app()) as server, socket.create_connection(("127.0.0.1", server.port)) as s:
        s.sendall(b"GET /health HTTP/1.0\r\n\r\n")
        data = b""
        while chunk := s.recv(4096):
            data += chunk
        assert data.startswith(b"HTTP/1.1 200") and b"Connection: close" in data and data.endswith(b"OK")


def test_stop_closes_idle_keep_alive_connections():
    server = ThreadedServer(create_app()).start()
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    connection.request("GET", "/health")
    assert connection.getresponse().read() == b"OK"
    server.stop()
    assert connection.sock.recv(1) == b""  # the server side hung up


def _raw_exchange(port: int, payload: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(payload)
        data = b""
        while chunk := s.recv(4096):
            data += chunk
        return data


def test_malformed_request_lines_and_headers_get_an_error_and_a_close():
    with ThreadedServer(create_app()) as server:
        assert _raw_exchange(server.port, b"GARBAGE\r\n\r\n").startswith(b"HTTP/1.1 400")
        assert _raw_exchange(server.port, b"GET / HTTP/2.0\r\n\r\n").startswith(b"HTTP/1.1 505")
        huge = b"GET /health HTTP/1.1\r\nX-Big: " + b"a" * 70000 + b"\r\n\r\n"
        assert _raw_exchange(server.port, huge).startswith(b"HTTP/1.1 431")
        no_colon = b"GET /health HTTP/1.1\r\nbroken header\r\n\r\n"
        assert _raw_exchange(server.port, no_colon).startswith(b"HTTP/1.1 400")


def test_expect_100_continue_and_connection_close_are_honoured():
    body = b'{"name": "via-expect"}'
    request = (b"POST /api/2.0/mlflow/experiments/create HTTP/1.1\r\nHost: localhost\r\n"
               b"Content-Type: application/json\r\nExpect: 100-continue\r\nConnection: close\r\n"
               b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
    with ThreadedServer(create_app()) as server:
        answer = _raw_exchange(server.port, request)
    assert answer.startswith(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK")
    assert b"Connection: close" in answer and answer.endswith(b'"experiment_id": "1"\n}')


def test_pipelined_requests_are_all_answered():
    """Two requests in one packet: the second is already buffered when the first is answered,
    and must be served without waiting for more bytes on the socket."""
    one = b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    with ThreadedServer(create_app()) as server, \
            socket.create_connection(("127.0.0.1", server.port), timeout=5) as s:
        s.sendall(one + one + b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        data = b""
        while chunk := s.recv(4096):
            data += chunk
    assert data.count(b"HTTP/1.1 200 OK") == 3 and data.endswith(b"OK")


def test_a_request_cut_short_is_never_handed_to_the_app_whole():
    seen = []

    def app(environ, start_response):
        try:
            seen.append(environ["wsgi.input"].read())
        except ConnectionError:
            seen.append("cut")
            raise
        start_response("200 OK", [("Content-Length", "0")])
        return [b""]

    with ThreadedServer(app) as server:
        with socket.create_connection(("127.0.0.1", server.port), timeout=5) as s:
            s.sendall(b"POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\n{}")
            s.shutdown(socket.SHUT_WR)
            assert s.recv(4096) == b""
    assert seen == ["cut"]


def test_status_lines_carry_the_standard_phrase_whatever_the_app_wrote():
    """uvicorn (in front of MLflow) writes the standard reason phrase; so does fakeflow."""
    def shouting(environ, start_response):
        start_response("404 NOT FOUND", [("Content-Length", "0")])
        return [b""]

    with ThreadedServer(shouting) as server:
        answer = _raw_exchange(server.port, b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 404 Not Found\r\n")
