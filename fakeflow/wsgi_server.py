"""A small threaded WSGI server with HTTP/1.1 keep-alive, for loopback use.

Werkzeug's development server closes every connection (it cannot tell where an unread request
body ends), so a client pays a TCP connect and a new thread per call; MLflow's own client keeps
connections alive. This handler knows the exact body length of every request, drains what the
application did not read, and keeps the connection open. It closes the connection where it
cannot do that safely (an unreadable length, a body too large to skip, an error mid-response).
"""

from __future__ import annotations

import io
import socket
import socketserver
import sys
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler
from typing import Any, Callable, Iterable

#: Largest unread request body skipped to keep a connection alive.
MAX_DRAIN_BYTES = 1 << 20
#: Largest chunked request body accepted (it is read whole before the app runs); the same
#: bound as fakeflow's own request-size limit.
MAX_CHUNKED_BODY = 64 << 20
#: Seconds an idle keep-alive connection is held open.
IDLE_TIMEOUT = 30


class _BodyInput:
    """``wsgi.input``: exactly the declared body, with the unread remainder tracked."""

    def __init__(self, stream: Any, length: int) -> None:
        self._stream = stream
        self.remaining = length

    def read(self, size: int | None = -1) -> bytes:
        if size is None or size < 0 or size > self.remaining:
            size = self.remaining
        data = self._stream.read(size) if size else b""
        self.remaining -= len(data)
        return data

    def readline(self, size: int | None = -1) -> bytes:
        if size is None or size < 0 or size > self.remaining:
            size = self.remaining
        data = self._stream.readline(size) if size else b""
        self.remaining -= len(data)
        return data

    def readlines(self, hint: int = -1) -> list[bytes]:
        return list(iter(self.readline, b""))

    def __iter__(self):
        return iter(self.readline, b"")

    def drain(self) -> bool:
        if self.remaining > MAX_DRAIN_BYTES:
            return False
        while self.remaining:
            if not self.read(65536):
                return False
        return True


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = IDLE_TIMEOUT
    server: "WSGIServer"

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.server.track(self.connection, True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.track(self.connection, False)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # no access log: a test suite makes thousands of requests

    def handle_one_request(self) -> None:
        try:
            self.raw_requestline = self.rfile.readline(65537)
            if len(self.raw_requestline) > 65536:
                self.send_error(414)
                return
            if not self.raw_requestline:
                self.close_connection = True
                return
            if not self.parse_request():
                return
            if self.request_version != "HTTP/1.1":
                self.close_connection = True
            self._run_app()
            self.wfile.flush()
        except (TimeoutError, ConnectionError, OSError):
            self.close_connection = True

    def _read_chunked(self) -> bytes | int:
        """The decoded body, or the HTTP status to refuse it with."""
        body = bytearray()
        while True:
            line = self.rfile.readline(65537)
            try:
                size = int(line.split(b";", 1)[0].strip(), 16)
            except ValueError:
                return 400
            if size == 0:
                while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                    pass
                return bytes(body)
            if len(body) + size > MAX_CHUNKED_BODY:
                return 413
            body += self.rfile.read(size)
            self.rfile.readline(65537)

    def _environ(self, body: _BodyInput) -> dict[str, Any]:
        target = urllib.parse.urlsplit(self.path)
        path = target.path if target.scheme else self.path.split("?", 1)[0]
        environ: dict[str, Any] = {
            "REQUEST_METHOD": self.command,
            "SCRIPT_NAME": "",
            "PATH_INFO": urllib.parse.unquote_to_bytes(path).decode("latin-1"),
            "QUERY_STRING": target.query,
            "REQUEST_URI": self.path,
            "RAW_URI": self.path,
            "SERVER_NAME": self.server.server_address[0],
            "SERVER_PORT": str(self.server.server_address[1]),
            "SERVER_PROTOCOL": self.request_version,
            "REMOTE_ADDR": self.client_address[0],
            "REMOTE_PORT": self.client_address[1],
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": "http",
            "wsgi.input": body,
            "wsgi.input_terminated": True,
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": True,
            "wsgi.multiprocess": False,
            "wsgi.run_once": False,
        }
        for key, value in self.headers.items():
            if "_" in key:
                continue  # as Werkzeug: such headers could spoof the CGI variables
            name = key.upper().replace("-", "_")
            if name not in ("CONTENT_TYPE", "CONTENT_LENGTH"):
                name = "HTTP_" + name
                if name in environ:
                    value = f"{environ[name]},{value}"
            environ[name] = value.replace("\r\n", "")
        return environ

    def _request_body(self) -> _BodyInput | int:
        """The request body, or the HTTP status to refuse the request with."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            data = self._read_chunked()
            if isinstance(data, int):
                return data
            return _BodyInput(io.BytesIO(data), len(data))
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            return 400
        return _BodyInput(self.rfile, length) if length >= 0 else 400

    def _run_app(self) -> None:
        body = self._request_body()
        if isinstance(body, int):
            self.close_connection = True
            self.send_error(body)
            return
        environ = self._environ(body)
        if body.remaining or "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            environ["CONTENT_LENGTH"] = str(body.remaining)
        state: dict[str, Any] = {"sent": False, "status": None, "headers": None, "chunked": False}

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None):
            if exc_info is not None and state["sent"]:
                raise exc_info[1].with_traceback(exc_info[2])
            state["status"], state["headers"] = status, headers
            return write

        def write(data: bytes) -> None:
            out = bytearray()
            if not state["sent"]:
                state["sent"] = True
                out += self._head(state, environ)
            if data:
                out += (b"%x\r\n%s\r\n" % (len(data), data)) if state["chunked"] else data
            if out:
                self.wfile.write(out)

        result: Iterable[bytes] = self.server.app(environ, start_response)
        try:
            for data in result:
                write(data)
            if not state["sent"]:
                write(b"")
            if state["chunked"]:
                self.wfile.write(b"0\r\n\r\n")
        except Exception:
            self.close_connection = True
            if not state["sent"]:
                self.send_error(500)
            raise
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
        if not body.drain():
            self.close_connection = True

    def _head(self, state: dict[str, Any], environ: dict[str, Any]) -> bytes:
        code = int(state["status"].split(" ", 1)[0])
        names = {name.lower() for name, _ in state["headers"]}
        lines = [f"HTTP/1.1 {state['status']}"]
        lines += [f"{name}: {value}" for name, value in state["headers"]]
        if "date" not in names:
            lines.append(f"Date: {self.date_time_string()}")
        if "content-length" not in names and not (
            environ["REQUEST_METHOD"] == "HEAD" or 100 <= code < 200 or code in (204, 304)
        ):
            if self.request_version == "HTTP/1.1":
                state["chunked"] = True
                lines.append("Transfer-Encoding: chunked")
            else:
                self.close_connection = True
        if self.close_connection:
            lines.append("Connection: close")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


class WSGIServer(socketserver.ThreadingMixIn, socketserver.TCPServer):
    """Serves one WSGI app; remembers open connections so that shutdown can close them."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, listener: socket.socket, app: Callable) -> None:
        super().__init__(listener.getsockname()[:2], _Handler, bind_and_activate=False)
        self.socket.close()
        self.socket = listener
        self.server_address = listener.getsockname()[:2]
        self.app = app
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()

    def track(self, connection: socket.socket, is_open: bool) -> None:
        with self._open_lock:
            (self._open.add if is_open else self._open.discard)(connection)

    def close_connections(self) -> None:
        with self._open_lock:
            connections = list(self._open)
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
