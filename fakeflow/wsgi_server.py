"""fakeflow's threaded WSGI server: HTTP/1.1 keep-alive, strict framing, for loopback use.

It knows the exact body length of every request, drains what the application did not read, and
keeps the connection open; it closes the connection where it cannot do that safely (an
unreadable length, a body too large to skip, an error mid-response). Framing follows RFC 9112
strictly: ambiguous lengths are refused with 400, as real MLflow refuses them. The
connection cap and the timeouts live in ``fakeflow.listener``. Issue 8 compared it with
waitress, cheroot and Werkzeug's own server (``benchmarks/bench_servers.py``); none of those
passes the robustness checks in ``benchmarks/_server_checks.py``.
"""

from __future__ import annotations

import io
import socket
import sys
import time
import urllib.parse
from typing import Any, Callable, Iterable

from fakeflow.listener import Connection, Limits, Listener
from fakeflow.web.status import status_line

#: Largest unread request body skipped to keep a connection alive.
MAX_DRAIN_BYTES = 1 << 20
#: Largest chunked request body accepted (it is read whole before the app runs); the same
#: bound as fakeflow's own request-size limit.
MAX_CHUNKED_BODY = 64 << 20
#: Longest request line or header line, and most headers, accepted.
MAX_LINE = 65536
MAX_HEADERS = 100
#: Response pieces larger than this are sent on their own rather than copied after the head.
_COPY_LIMIT = 65536
#: The body of a 400 for a malformed request, as real MLflow's uvicorn words it.
_INVALID = "Invalid HTTP request received."


class _BodyInput:
    """``wsgi.input``: exactly the declared body, with the unread remainder tracked."""

    def __init__(self, stream: Any, length: int, connection: Connection | None = None) -> None:
        self._stream = stream
        self.remaining = length
        self._connection = connection

    def _took(self, data: bytes, size: int) -> bytes:
        if not data:
            # A body cut short is never handed over as if it were whole.
            raise ConnectionResetError("the client closed the connection mid-body")
        self.remaining -= len(data)
        if not self.remaining and self._connection is not None:
            self._connection.expect(None)  # the body is in: no deadline while the app works
        return data

    def read(self, size: int | None = -1) -> bytes:
        if size is None or size < 0 or size > self.remaining:
            size = self.remaining
        if not size:
            return b""
        data = self._stream.read(size)
        if len(data) < size:
            raise ConnectionResetError("the client closed the connection mid-body")
        return self._took(data, size)

    def readline(self, size: int | None = -1) -> bytes:
        if size is None or size < 0 or size > self.remaining:
            size = self.remaining
        return self._took(self._stream.readline(size), size) if size else b""

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

    def all(self, name: str) -> list[str]:
        """Every value of ``name``, one per header line (framing must see duplicates)."""
        name = name.lower()
        return [value for key, value in self._pairs if key.lower() == name]

    def items(self) -> list[tuple[str, str]]:
        return self._pairs


class _HTTPError(Exception):
    def __init__(self, status: int) -> None:
        self.status = status


class _SocketWriter:
    """``wfile``: unbuffered writes straight to the socket."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock

    def write(self, data: bytes) -> None:
        self._sock.sendall(data)

    def flush(self) -> None:
        pass


class _Handler:
    """One connection: parse a request, run the app, repeat while the connection is kept alive.

    The request line and headers are parsed here rather than by ``http.server``, whose
    email-based header parser costs more per request than fakeflow's whole answer. Each phase
    runs under a deadline that the listener enforces: the keep-alive wait, the request head, the
    request body; none while the application works.
    """

    request_version = "HTTP/1.1"

    def __init__(self, connection: Connection, server: "WSGIServer") -> None:
        self.conn = connection
        self.server = server
        self.connection = connection.sock
        self.client_address = connection.address
        limits = server.limits
        self.connection.settimeout(max(limits.keep_alive_timeout, limits.request_timeout))
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.rfile = self.connection.makefile("rb")
        self.wfile = _SocketWriter(self.connection)
        self.close_connection = False

    def close(self) -> None:
        try:
            self.rfile.close()
        except OSError:
            pass

    def _more_is_here(self) -> bool:
        """Whether the next request's bytes are already here (pipelined): read-buffered, or in
        the socket. Looked at without blocking."""
        timeout = self.connection.gettimeout()
        self.connection.settimeout(0.0)
        try:
            return bool(self.rfile.peek(1))
        except OSError:
            return False
        finally:
            self.connection.settimeout(timeout)

    def serve_ready(self) -> bool:
        """Serve the request that has arrived (and any pipelined behind it); True to keep the
        connection for the next one."""
        self.handle_one_request()
        while not self.close_connection and self._more_is_here():
            self.handle_one_request()
        if self.close_connection:
            return False
        self.conn.expect(self.server.limits.keep_alive_timeout)
        return True

    def handle_one_request(self) -> None:
        try:
            self.conn.expect(self.server.limits.request_timeout)
            line = self.rfile.readline(MAX_LINE + 1)
            if not line:
                self.close_connection = True
                return
            try:
                self._parse_request(line)
            except _HTTPError as error:
                self.send_error(error.status, _INVALID if error.status == 400 else None)
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
        if self.request_version == "HTTP/1.1" and len(self.headers.all("Host")) != 1:
            raise _HTTPError(400)  # RFC 9112 3.2: exactly one Host in HTTP/1.1
        self.body_length = self._body_framing()
        if self.headers.get("Expect").lower() == "100-continue" and self.request_version == "HTTP/1.1":
            self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")

    def _body_framing(self) -> int | None:
        """The declared body length (None: chunked), by RFC 9112 section 6.

        Refused with 400 (real MLflow 3.17.2 answers each of these with 400 too): Transfer-Encoding
        together with Content-Length (a request-smuggling shape), Transfer-Encoding in HTTP/1.0 or
        other than a single ``chunked``, Content-Length values that disagree or are not digits.
        """
        encodings = self.headers.all("Transfer-Encoding")
        lengths = self.headers.all("Content-Length")
        if encodings:
            codings = [c.strip(" \t").lower() for value in encodings for c in value.split(",")]
            if lengths or self.request_version != "HTTP/1.1" or codings != ["chunked"]:
                raise _HTTPError(400)
            return None
        if not lengths:
            return 0
        values = {v.strip(" \t") for value in lengths for v in value.split(",")}
        value = values.pop()
        if values or not (value.isascii() and value.isdigit()) or len(value) > 20:
            raise _HTTPError(400)
        return int(value)

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
            if size < 0:
                return 400
            if size == 0:
                while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                    pass
                return bytes(body)
            if len(body) + size > MAX_CHUNKED_BODY:
                return 413
            data = self.rfile.read(size)
            if len(data) < size:
                raise ConnectionResetError("the client closed the connection mid-body")
            body += data
            if self.rfile.readline(65537) not in (b"\r\n", b"\n"):
                return 400

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
            if name in ("CONTENT_LENGTH", "TRANSFER_ENCODING"):
                continue  # the body is handed over de-chunked, with its validated length
            if name != "CONTENT_TYPE":
                name = "HTTP_" + name
                if name in environ:
                    value = f"{environ[name]},{value}"
            environ[name] = value.replace("\r\n", "")
        return environ

    def _request_body(self) -> _BodyInput | int:
        """The request body, or the HTTP status to refuse the request with."""
        if self.body_length is None:
            data = self._read_chunked()
            if isinstance(data, int):
                return data
            return _BodyInput(io.BytesIO(data), len(data))
        return _BodyInput(self.rfile, self.body_length, self.conn)

    def _run_app(self) -> None:
        body = self._request_body()
        if isinstance(body, int):
            self.send_error(body)
            return
        environ = self._environ(body)
        if body.remaining or self.body_length is None or self.headers.get("Content-Length"):
            environ["CONTENT_LENGTH"] = str(body.remaining)
        if not body.remaining:
            self.conn.expect(None)  # the application may take its time; the client is done
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
            if len(data) > _COPY_LIMIT:  # a big piece goes out as it is, never copied
                if state["chunked"]:
                    out += b"%x\r\n" % len(data)
                if out:
                    self.wfile.write(out)
                self.wfile.write(data)
                if state["chunked"]:
                    self.wfile.write(b"\r\n")
                return
            if data:  # a small one joins the head, so a short answer leaves in one packet
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
        if body.remaining:
            self.conn.expect(self.server.limits.request_timeout)
            if not body.drain():
                self.close_connection = True

    def _head(self, state: dict[str, Any], environ: dict[str, Any]) -> bytes:
        code = int(state["status"].split(" ", 1)[0])
        names = {name.lower() for name, _ in state["headers"]}
        lines = [f"HTTP/1.1 {status_line(code)}"]  # the standard phrase, as uvicorn writes it
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


class WSGIServer:
    """Serves one WSGI app on a listening socket, within ``limits``, until ``stop()``."""

    def __init__(self, listener: socket.socket, app: Callable, limits: Limits | None = None) -> None:
        self.app = app
        self.limits = limits or Limits()
        self.server_address = listener.getsockname()[:2]
        self._listener = Listener(listener, self._serve_connection, self.limits)

    def _serve_connection(self, connection: Connection) -> bool:
        if connection.state is None:
            connection.state = _Handler(connection, self)
        return connection.state.serve_ready()

    def serve_forever(self) -> None:
        self._listener.serve_forever()

    @property
    def open_connections(self) -> int:
        return self._listener.open_connections

    def stop(self) -> None:
        """Stop accepting and hang up every connection, kept-alive ones included."""
        self._listener.stop()
