"""A ``requests`` transport adapter that answers from a WSGI app in this process.

The same bytes, status and headers as over loopback HTTP, with no socket, no thread hop and
no HTTP parsing. The session's urllib3 ``Retry`` policy (as MLflow configures it) is honoured
for status codes and read timeouts, so retry logic behaves as it does over HTTP.
"""

from __future__ import annotations

import io
import sys
from datetime import timedelta
from functools import lru_cache
from typing import Any, Callable, Iterable
from urllib.parse import unquote_to_bytes, urlsplit

import requests
from requests.adapters import HTTPAdapter
from requests.structures import CaseInsensitiveDict
from requests.utils import get_encoding_from_headers
from urllib3 import HTTPResponse
from urllib3.exceptions import MaxRetryError, ReadTimeoutError, ResponseError
from urllib3.util.retry import Retry

from fakeflow.control import ENV_CLIENT_TIMEOUT, ENV_TIMED_OUT
from fakeflow.web.security import ENV_IN_PROCESS
from fakeflow.web.status import status_line

WSGIApp = Callable[..., Any]


class _Answer:
    """One WSGI answer, whole: what a response is built from (and what a retry looks at)."""

    __slots__ = ("status", "reason", "headers", "body", "timed_out")

    def __init__(self, status: int, reason: str, headers: list[tuple[str, str]], body: bytes,
                 timed_out: bool) -> None:
        self.status, self.reason, self.headers = status, reason, headers
        self.body, self.timed_out = body, timed_out

    def raw(self, request: requests.PreparedRequest) -> HTTPResponse:
        """The urllib3 view of this answer (``Response.raw``; what ``Retry`` inspects)."""
        return HTTPResponse(
            body=io.BytesIO(self.body), headers=self.headers, status=self.status,
            reason=self.reason, preload_content=False, decode_content=False,
            request_method=request.method, request_url=request.url,
        )


class _InProcessResponse(requests.Response):
    """A ``requests.Response`` whose urllib3 ``raw`` is built only when asked for: MLflow never
    reads it, and building it costs as much as the rest of the response."""

    _answer: _Answer | None = None
    _raw: HTTPResponse | None = None

    @property  # type: ignore[override]
    def raw(self) -> HTTPResponse | None:
        if self._raw is None and self._answer is not None and self.request is not None:
            self._raw = self._answer.raw(self.request)
        return self._raw

    @raw.setter
    def raw(self, value: HTTPResponse | None) -> None:
        self._raw = value
        self._answer = None


class WSGIAdapter(HTTPAdapter):
    """A ``requests`` transport adapter that answers from a WSGI app in this process."""

    def __init__(self, app: WSGIApp, max_retries: Retry | int | None = 0) -> None:
        super().__init__(max_retries=max_retries if max_retries is not None else 0)
        self.app = app

    def send(self, request: requests.PreparedRequest, stream: bool = False,
             timeout: Any = None, verify: Any = True, cert: Any = None,
             proxies: Any = None) -> requests.Response:
        retries: Retry = self.max_retries
        method = request.method or "GET"
        url = request.url or ""
        read_timeout = _read_timeout(timeout)
        while True:
            answer = self._call(request, read_timeout)
            if answer.timed_out:
                error = ReadTimeoutError(None, url,
                                         f"Read timed out. (read timeout={read_timeout})")
                try:
                    retries = retries.increment(method, url, error=error,
                                                _stacktrace=sys.exc_info()[2])
                except ReadTimeoutError as e:
                    raise requests.exceptions.ReadTimeout(e, request=request)
                except MaxRetryError as e:
                    raise requests.exceptions.ConnectionError(e, request=request)
                retries.sleep()
                continue
            has_retry_after = any(k.lower() == "retry-after" and v for k, v in answer.headers)
            if retries.is_retry(method, answer.status, has_retry_after):
                raw = answer.raw(request)
                try:
                    retries = retries.increment(method, url, response=raw)
                except MaxRetryError as e:
                    if retries.raise_on_status:
                        if isinstance(e.reason, ResponseError):
                            raise requests.exceptions.RetryError(e, request=request)
                        raise requests.exceptions.ConnectionError(e, request=request)
                    return self._response(request, answer)
                retries.sleep(raw)
                continue
            return self._response(request, answer)

    def _call(self, request: requests.PreparedRequest, read_timeout: float | None) -> _Answer:
        environ = _environ(request)
        if read_timeout is not None:
            environ[ENV_CLIENT_TIMEOUT] = read_timeout
        captured: list[Any] = []

        def start_response(status: str, headers: list, exc_info: Any = None) -> Callable:
            captured[:] = (status, headers)
            return lambda data: None

        chunks = self.app(environ, start_response)
        try:
            data = b"".join(chunks) if isinstance(chunks, list) else _gather(chunks)
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()
        code = int(captured[0].partition(" ")[0])
        # the standard phrase whatever the app wrote, as fakeflow's server (and uvicorn) send it
        reason = status_line(code).partition(" ")[2]
        return _Answer(code, reason, captured[1], data, bool(environ.get(ENV_TIMED_OUT)))

    def _response(self, request: requests.PreparedRequest, answer: _Answer) -> requests.Response:
        """What ``HTTPAdapter.build_response`` makes, with the body already read: the answer is
        whole in memory, so ``content`` needs no trip through urllib3's stream decoder."""
        response = _InProcessResponse()
        response.status_code = answer.status
        response.headers = CaseInsensitiveDict(answer.headers)
        response.encoding = get_encoding_from_headers(response.headers)
        response._answer = answer
        response.reason = answer.reason
        response.url = request.url.decode("utf-8") if isinstance(request.url, bytes) \
            else request.url
        response.request = request
        response.connection = self
        response._content = answer.body
        response._content_consumed = True
        response.elapsed = timedelta(0)
        return response


def _read_timeout(timeout: Any) -> float | None:
    if isinstance(timeout, tuple):
        timeout = timeout[1]
    read = getattr(timeout, "read_timeout", timeout)
    return float(read) if isinstance(read, (int, float)) else None


@lru_cache(maxsize=64)
def _server(scheme: str, netloc: str) -> tuple[str, str]:
    """SERVER_NAME and SERVER_PORT for a URL's authority (a routed prefix: few, and repeated)."""
    parts = urlsplit(f"{scheme}://{netloc}")
    return parts.hostname or "localhost", str(parts.port or (443 if scheme == "https" else 80))


def _environ(request: requests.PreparedRequest) -> dict[str, Any]:
    parts = urlsplit(request.url or "")
    body = request.body
    if body is None:
        data = b""
    elif isinstance(body, str):
        data = body.encode("utf-8")
    elif isinstance(body, (bytes, bytearray)):
        data = bytes(body)
    elif hasattr(body, "read"):
        data = body.read()
        data = data.encode("utf-8") if isinstance(data, str) else data
    else:  # an iterable of chunks (streamed upload)
        data = b"".join(c.encode("utf-8") if isinstance(c, str) else c for c in body)
    scheme = parts.scheme or "http"
    host, port = _server(scheme, parts.netloc)
    environ: dict[str, Any] = {
        "REQUEST_METHOD": request.method or "GET",
        "SCRIPT_NAME": "",
        "PATH_INFO": unquote_to_bytes(parts.path or "/").decode("latin-1"),
        "QUERY_STRING": parts.query,
        "SERVER_NAME": host,
        "SERVER_PORT": port,
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "CONTENT_LENGTH": str(len(data)) if data else "",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": scheme,
        "wsgi.input": io.BytesIO(data),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
        ENV_IN_PROCESS: True,  # no browser can send this request: its made-up Host is fine
    }
    headers = request.headers
    pairs = headers.lower_items() if isinstance(headers, CaseInsensitiveDict) else (
        (name.lower(), value) for name, value in headers.items())
    for name, value in pairs:
        if name == "content-type":
            environ["CONTENT_TYPE"] = value
        elif name not in ("content-length", "transfer-encoding"):  # the body is already whole
            environ["HTTP_" + name.upper().replace("-", "_")] = value
    environ.setdefault("HTTP_HOST", parts.netloc)
    return environ


def in_process_session(app: WSGIApp, base_url: str = "http://fakeflow.invalid") -> requests.Session:
    """A ``requests.Session`` that answers ``base_url`` from ``app`` (no server needed)."""
    session = requests.Session()
    session.mount(base_url.rstrip("/") + "/", WSGIAdapter(app))
    return session


def _gather(chunks: Iterable[bytes]) -> bytes:
    """A streamed answer's bytes, holding each chunk only until it is copied (a join of a
    generator would keep every chunk and the joined copy at once)."""
    buffer = io.BytesIO()
    for chunk in chunks:
        buffer.write(chunk)
    return buffer.getvalue()
