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
import time
import urllib.parse
from typing import Any, Callable, Iterable

from fakeflow.web.status import status_line

#: Largest unread request body skipped to keep a connection alive.
MAX_DRAIN_BYTES = 1 << 20
#: Largest chunked request body accepted (it is read whole before the app runs); the same
#: bound as fakeflow's own request-size limit.
MAX_CHUNKED_BODY = 64 << 20
#: Seconds an idle keep-alive connection is held open.
IDLE_TIMEOUT = 30
#: Longest request line or header line, and most headers, accepted.
MAX_LINE = 65536
MAX_HEADERS = 100


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


class _Headers:
    """Request headers: case-insensitive ``get`` (first occurrence), all pairs in ``items``."""

    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        self._pairs = pairs
        self._first: dict[str, str] = {}
        for name, value in pairs:
            self._first.setdefault(name.lower(), value)

    def get(self, name: str, default: str = "") -> str:
        return self._first.get(name.lower(), default)

    def items(self) -> list[tuple[str, str]]:
        return self._pairs


class _HTTPError(Exception):
    def __init__(self, status: int) -> None:
        self.status = status


class _Handler(socketserver.StreamRequestHandler):
    """One connection: parse a request, run the app, repeat while the connection is kept alive.

    The request line and headers are parsed here rather than by ``http.server``, whose
    email-based header parser costs more per request than fakeflow's whole answer.
    """

    timeout = IDLE_TIMEOUT
    server: "WSGIServer"
    request_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.server.track(self.connection, True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.track(self.connection, False)

    def handle(self) -> None:
        self.close_connection = False
        while not self.close_connection:
            self.handle_one_request()

    def handle_one_request(self) -> None:
        try:
            line = self.rfile.readline(MAX_LINE + 1)
            if not line:
                self.close_connection = True
                return
            try:
                self._parse_request(line)
            except _HTTPError as error:
                self.send_error(error.status)
                return
            self._run_app()
            self.wfile.flush()
        except (TimeoutError, ConnectionError, OSError):
            self.close_connection = True

    def _parse_request(self, line: bytes) -> None:
        if len(line) > MAX_LINE:
            raise _HTTPError(414)
        words = line.decode("iso-8859-1").rstrip("\r\n").split()
        if len(words) != 3 or not words[2].startswith("HTTP/"):
            raise _HTTPError(400)
        self.command, self.path, self.request_version = words
        if self.request_version not in ("HTTP/1.0", "HTTP/1.1"):
            raise _HTTPError(505)
        pairs: list[tuple[str, str]] = []
        for _ in range(MAX_HEADERS + 1):
            raw = self.rfile.readline(MAX_LINE + 1)
            if len(raw) > MAX_LINE:
                raise _HTTPError(431)
            if raw in (b"\r\n", b"\n", b""):
                break
            text = raw.decode("iso-8859-1").rstrip("\r\n")
            if text[:1] in (" ", "\t") and pairs:  # an obsolete folded continuation line
                name, value = pairs[-1]
                pairs[-1] = (name, f"{value} {text.strip()}")
                continue
            name, colon, value = text.partition(":")
            if not colon or not name or name != name.strip():
                raise _HTTPError(400)
            pairs.append((name, value.strip()))
        else:
            raise _HTTPError(431)
        self.headers = _Headers(pairs)
        if self.request_version != "HTTP/1.1" or "close" in self.headers.get("Connection").lower():
            self.close_connection = True
        if self.headers.get("Expect").lower() == "100-continue" and self.request_version == "HTTP/1.1":
            self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")

    def send_error(self, status: int, message: str | None = None) -> None:
        """A plain-text error that also ends the connection."""
        self.close_connection = True
        text = status_line(status)
        body = (message or text).encode("utf-8")
        head = (
            f"HTTP/1.1 {text}\r\nContent-Type: text/plain; charset=utf-8\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        )
        self.wfile.write(head.encode("latin-1") + body)

    @staticmethod
    def date_time_string() -> str:
        return time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime())

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
            if not state["sent"]:
                self.send_error(500)
            self.close_connection = True
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
