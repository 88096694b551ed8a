"""In-process transport: ``requests`` calls to a fake's URL go straight into its WSGI app.

No socket, no thread hop, no HTTP parsing — but the same bytes, status and headers as over
loopback. ``route_in_process(url, app)`` makes *every* ``requests.Session`` (MLflow's cached
sessions included) send requests whose URL starts with ``url`` to ``app``; other URLs and
non-``requests`` clients are untouched, so they still reach the real socket at the same URL.

Routed requests also skip ``requests``' scan of the environment for proxies and CA bundles
(there is no network to proxy). The session's own adapter retry policy (urllib3 ``Retry``, as MLflow configures it) is honoured
for status codes and read timeouts, so retry logic behaves as it does over HTTP.
"""

from __future__ import annotations

import io
import sys
import threading
from contextlib import contextmanager
from typing import Any, Callable, Iterator
from urllib.parse import unquote_to_bytes, urlsplit

import requests
from requests.adapters import BaseAdapter, HTTPAdapter
from requests.sessions import merge_setting
from urllib3 import HTTPResponse
from urllib3.exceptions import MaxRetryError, ReadTimeoutError, ResponseError
from urllib3.util.retry import Retry

from fakeflow.control import ENV_CLIENT_TIMEOUT, ENV_TIMED_OUT

WSGIApp = Callable[..., Any]


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
            raw, timed_out = self._call(request, read_timeout)
            if timed_out:
                error = ReadTimeoutError(None, url, f"Read timed out. (read timeout={read_timeout})")
                try:
                    retries = retries.increment(method, url, error=error,
                                                _stacktrace=sys.exc_info()[2])
                except ReadTimeoutError as e:
                    raise requests.exceptions.ReadTimeout(e, request=request)
                except MaxRetryError as e:
                    raise requests.exceptions.ConnectionError(e, request=request)
                retries.sleep()
                continue
            has_retry_after = bool(raw.headers.get("Retry-After"))
            if retries.is_retry(method, raw.status, has_retry_after):
                try:
                    retries = retries.increment(method, url, response=raw)
                except MaxRetryError as e:
                    if retries.raise_on_status:
                        if isinstance(e.reason, ResponseError):
                            raise requests.exceptions.RetryError(e, request=request)
                        raise requests.exceptions.ConnectionError(e, request=request)
                    return self.build_response(request, raw)
                retries.sleep(raw)
                continue
            return self.build_response(request, raw)

    def _call(self, request: requests.PreparedRequest,
              read_timeout: float | None) -> tuple[HTTPResponse, bool]:
        environ = _environ(request)
        if read_timeout is not None:
            environ[ENV_CLIENT_TIMEOUT] = read_timeout
        captured: dict[str, Any] = {}

        def start_response(status: str, headers: list, exc_info: Any = None) -> Callable:
            captured["status"], captured["headers"] = status, headers
            return lambda data: None

        chunks = self.app(environ, start_response)
        try:
            data = b"".join(chunks)
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()
        code, _, reason = captured["status"].partition(" ")
        raw = HTTPResponse(
            body=io.BytesIO(data), headers=captured["headers"], status=int(code), reason=reason,
            preload_content=False, decode_content=False, request_method=request.method,
            request_url=request.url,
        )
        return raw, bool(environ.get(ENV_TIMED_OUT))


def _read_timeout(timeout: Any) -> float | None:
    if isinstance(timeout, tuple):
        timeout = timeout[1]
    read = getattr(timeout, "read_timeout", timeout)
    return float(read) if isinstance(read, (int, float)) else None


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
    host = parts.hostname or "localhost"
    port = parts.port or (443 if parts.scheme == "https" else 80)
    environ: dict[str, Any] = {
        "REQUEST_METHOD": request.method or "GET",
        "SCRIPT_NAME": "",
        "PATH_INFO": unquote_to_bytes(parts.path or "/").decode("latin-1"),
        "QUERY_STRING": parts.query,
        "SERVER_NAME": host,
        "SERVER_PORT": str(port),
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "CONTENT_LENGTH": str(len(data)) if data else "",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": parts.scheme or "http",
        "wsgi.input": io.BytesIO(data),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
    for name, value in request.headers.items():
        key = name.upper().replace("-", "_")
        if key == "CONTENT_TYPE":
            environ["CONTENT_TYPE"] = value
        elif key not in ("CONTENT_LENGTH", "TRANSFER_ENCODING"):  # the body is already whole
            environ["HTTP_" + key] = value
    environ.setdefault("HTTP_HOST", parts.netloc)
    return environ


# ---- routing every requests.Session ------------------------------------------------------------

_routes: dict[str, WSGIApp] = {}
_routes_lock = threading.Lock()
_original_get_adapter = requests.Session.get_adapter
_original_merge_environment_settings = requests.Session.merge_environment_settings
_adapters: dict[tuple[int, int], WSGIAdapter] = {}


def _routed_app(url: str) -> WSGIApp | None:
    for prefix, app in _routes.items():
        if url.startswith(prefix) and (len(url) == len(prefix) or url[len(prefix)] in "/?#"):
            return app
    return None


def _routing_get_adapter(self: requests.Session, url: str) -> BaseAdapter:
    adapter = _original_get_adapter(self, url)
    app = _routed_app(url)
    if app is not None:
        return _adapter_for(app, getattr(adapter, "max_retries", None))
    return adapter


def _routing_merge_environment_settings(self: requests.Session, url: str, proxies: Any,
                                        stream: Any, verify: Any, cert: Any) -> dict[str, Any]:
    """In-process requests use no network: skip scanning the environment for proxies and CA
    bundles (two walks over ``os.environ`` per request, a large part of a fast call)."""
    if _routed_app(url) is None:
        return _original_merge_environment_settings(self, url, proxies, stream, verify, cert)
    return {"proxies": merge_setting(proxies, self.proxies),
            "stream": merge_setting(stream, self.stream),
            "verify": merge_setting(verify, self.verify),
            "cert": merge_setting(cert, self.cert)}


def _adapter_for(app: WSGIApp, retries: Retry | None) -> WSGIAdapter:
    key = (id(app), id(retries))
    adapter = _adapters.get(key)
    if adapter is None or adapter.app is not app or adapter.max_retries is not retries:
        adapter = WSGIAdapter(app, retries)
        if retries is not None:
            adapter.max_retries = retries  # the very object, so the cache key stays valid
        _adapters[key] = adapter
    return adapter


def install(url: str, app: WSGIApp) -> None:
    """Route ``requests`` calls under ``url`` to ``app`` until :func:`uninstall`."""
    with _routes_lock:
        _routes[url.rstrip("/")] = app
        requests.Session.get_adapter = _routing_get_adapter  # type: ignore[method-assign]
        requests.Session.merge_environment_settings = (  # type: ignore[method-assign]
            _routing_merge_environment_settings)


def uninstall(url: str) -> None:
    with _routes_lock:
        app = _routes.pop(url.rstrip("/"), None)
        if app is not None:
            for key in [k for k, a in _adapters.items() if a.app is app]:
                del _adapters[key]
        if not _routes:
            requests.Session.get_adapter = _original_get_adapter  # type: ignore[method-assign]
            requests.Session.merge_environment_settings = (  # type: ignore[method-assign]
                _original_merge_environment_settings)


def routed_urls() -> list[str]:
    return list(_routes)


@contextmanager
def route_in_process(url: str, app: WSGIApp) -> Iterator[None]:
    """``with route_in_process(server.url, server.app): ...`` — requests to ``url`` skip the socket."""
    install(url, app)
    try:
        yield
    finally:
        uninstall(url)


def in_process_session(app: WSGIApp, base_url: str = "http://fakeflow.invalid") -> requests.Session:
    """A ``requests.Session`` that answers ``base_url`` from ``app`` (no server needed)."""
    session = requests.Session()
    session.mount(base_url.rstrip("/") + "/", WSGIAdapter(app))
    return session


__all__ = ["WSGIAdapter", "in_process_session", "install", "route_in_process", "routed_urls",
           "uninstall"]
