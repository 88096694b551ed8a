"""How the suites reach a server: over HTTP (``requests``) or in-process (any WSGI callable).

Both transports speak in terms of a path *below* the MLflow API root (``experiments/create``),
so a vendor path prefix or an auth header is configured once, here.
"""

from __future__ import annotations

import importlib
import inspect
import json
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Protocol
from urllib.parse import urlencode

import requests

API_ROOT = "/api/2.0/mlflow/"


@dataclass
class Reply:
    """One HTTP answer, decoded once."""

    status: int
    content_type: str
    text: str

    @property
    def json(self) -> Any:
        """The parsed body, or ``None`` when the body is not JSON (HTML error pages, empty)."""
        try:
            return json.loads(self.text)
        except ValueError:
            return None


@dataclass
class SentRequest:
    """A request exactly as sent to one target (for curl rendering and reports)."""

    method: str
    url: str
    body: Any | None
    headers: dict[str, str] = field(default_factory=dict)


class Target(Protocol):
    """Something the suites can send MLflow REST requests to."""

    name: str

    def send(self, method: str, path: str, *, body: Any | None = None,
             query: Mapping[str, Any] | None = None,
             headers: Mapping[str, str] | None = None) -> tuple[SentRequest, Reply]: ...

    def close(self) -> None: ...


def _query_string(query: Mapping[str, Any] | None) -> str:
    if not query:
        return ""
    pairs: list[tuple[str, str]] = []
    for key, value in query.items():
        values = value if isinstance(value, (list, tuple)) else [value]
        for item in values:
            pairs.append((key, item if isinstance(item, str) else json.dumps(item)))
    return "?" + urlencode(pairs)


def _encode(body: Any | None, headers: Mapping[str, str] | None) -> tuple[bytes | None, dict[str, str]]:
    out = dict(headers or {})
    if body is None:
        return None, out
    if isinstance(body, bytes):
        return body, out
    out.setdefault("Content-Type", "application/json")
    return json.dumps(body).encode(), out


class _Base:
    def __init__(self, name: str, prefix: str = "", auth_header: str | None = None,
                 error_shape: str = "mlflow") -> None:
        self.name = name
        #: How the target words its errors (``conformance.error_shapes``); read back as MLflow's.
        self.error_shape = error_shape
        self.prefix = "/" + prefix.strip("/") if prefix.strip("/") else ""
        self.auth: dict[str, str] = {}
        if auth_header:
            key, _, value = auth_header.partition(":")
            self.auth[key.strip()] = value.strip()

    def _read(self, reply: Reply) -> Reply:
        if self.error_shape == "mlflow":
            return reply
        from .error_shapes import as_mlflow

        return as_mlflow(self.error_shape, reply)

    def path_for(self, path: str) -> str:
        if path.startswith("/"):
            return self.prefix + path
        return self.prefix + API_ROOT + path


class HttpTarget(_Base):
    """A server at a URL; ``prefix`` is where the vendor mounts MLflow (e.g. ``/mlflow``)."""

    def __init__(self, url: str, prefix: str = "", auth_header: str | None = None,
                 timeout: float = 30.0, error_shape: str = "mlflow") -> None:
        super().__init__(url, prefix, auth_header, error_shape)
        self.base = url.rstrip("/")
        self.timeout = timeout
        self.session = requests.Session()

    def send(self, method: str, path: str, *, body: Any | None = None,
             query: Mapping[str, Any] | None = None,
             headers: Mapping[str, str] | None = None) -> tuple[SentRequest, Reply]:
        url = self.base + self.path_for(path) + _query_string(query)
        data, hdrs = _encode(body, headers)
        hdrs = {**self.auth, **hdrs}
        try:
            resp = self.session.request(method, url, data=data, headers=hdrs, timeout=self.timeout)
        except requests.ConnectionError as exc:
            # A kept-alive connection the server closed just as it was reused: the request never
            # reached it (no answer at all), so it is sent once more on a fresh connection.
            if "RemoteDisconnected" not in repr(exc) and "Connection reset" not in repr(exc):
                raise
            resp = self.session.request(method, url, data=data, headers=hdrs, timeout=self.timeout)
        reply = self._read(Reply(resp.status_code, resp.headers.get("Content-Type", ""), resp.text))
        return SentRequest(method, url, body, hdrs), reply

    def close(self) -> None:
        self.session.close()


class WsgiTarget(_Base):
    """An in-process WSGI application, driven through ``werkzeug.test.Client``."""

    def __init__(self, app: Callable[..., Any], name: str = "wsgi", prefix: str = "",
                 auth_header: str | None = None, error_shape: str = "mlflow") -> None:
        from werkzeug.test import Client

        super().__init__(name, prefix, auth_header, error_shape)
        self.app = app
        self.client = Client(app)

    def send(self, method: str, path: str, *, body: Any | None = None,
             query: Mapping[str, Any] | None = None,
             headers: Mapping[str, str] | None = None) -> tuple[SentRequest, Reply]:
        full = self.path_for(path) + _query_string(query)
        data, hdrs = _encode(body, headers)
        hdrs = {**self.auth, **hdrs}
        resp = self.client.open(full, method=method, data=data, headers=hdrs)
        try:
            text = resp.get_data(as_text=True)
        finally:
            resp.close()
        reply = self._read(Reply(resp.status_code, resp.headers.get("Content-Type", ""), text))
        return SentRequest(method, "http://localhost" + full, body, hdrs), reply

    def close(self) -> None:
        close = getattr(self.app, "close", None)
        if callable(close):
            close()


def load_wsgi_app(spec: str) -> Callable[..., Any]:
    """``module:attr`` -> the WSGI app. An attribute callable without arguments is a factory
    and is called once (``fakeflow:create_app`` yields a fresh app); an attribute that needs
    ``(environ, start_response)`` is the app itself (``mypkg.wsgi:app``)."""
    module_name, _, attr = spec.partition(":")
    if not attr:
        raise ValueError(f"WSGI target must be 'module:attr', got {spec!r}")
    obj = getattr(importlib.import_module(module_name), attr)
    if not callable(obj):
        raise ValueError(f"{spec} is not callable")
    return obj() if _is_factory(obj) else obj


def _is_factory(obj: Callable[..., Any]) -> bool:
    if isinstance(obj, type):
        return True
    try:
        params = inspect.signature(obj).parameters.values()
    except (TypeError, ValueError):
        return False
    required = [p for p in params if p.default is p.empty
                and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return not required


def make_target(spec: str, prefix: str = "", auth_header: str | None = None,
                error_shape: str = "mlflow") -> Target:
    """Build a target from a CLI string: ``http(s)://…`` or ``wsgi:module:attr``."""
    if spec.startswith("wsgi:"):
        inner = spec[len("wsgi:"):]
        return WsgiTarget(load_wsgi_app(inner), name=spec, prefix=prefix, auth_header=auth_header,
                          error_shape=error_shape)
    if spec.startswith(("http://", "https://")):
        return HttpTarget(spec, prefix=prefix, auth_header=auth_header, error_shape=error_shape)
    raise ValueError(f"target must be an http(s) URL or wsgi:module:attr, got {spec!r}")
