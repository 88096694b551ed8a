"""Route every ``requests.Session`` (MLflow's cached ones included) to in-process apps.

``install(url, app)`` patches three ``requests.Session`` methods, for URLs under ``url`` only:

- ``get_adapter`` answers with a :class:`WSGIAdapter` that keeps the session's retry policy;
- ``merge_environment_settings`` skips the scan of the environment for proxies and CA bundles;
- ``request`` takes the short way (:mod:`fakeflow.transport.shortcut`) for plain calls.

There is no network in-process, so proxies, CA bundles and ``.netrc`` credentials cannot
apply. What reaches the app (method, URL, query, headers, body) is what ``requests`` would
send. Other URLs are untouched.
"""

from __future__ import annotations

import threading
from typing import Any, NamedTuple

import requests
from requests.adapters import BaseAdapter
from requests.models import PreparedRequest
from urllib3.util.retry import Retry

from fakeflow.transport import shortcut
from fakeflow.transport.wsgi_adapter import WSGIAdapter, WSGIApp


class _Route(NamedTuple):
    app: WSGIApp
    #: the prefix itself when ``requests`` would leave URLs under it unchanged, else None
    canonical_prefix: str | None


#: Replaced, never mutated (copy on write): requests on other threads read it without the lock.
_routes: dict[str, _Route] = {}
_routes_lock = threading.Lock()
_adapters: dict[tuple[int, int], WSGIAdapter] = {}

_original_get_adapter = requests.Session.get_adapter
_original_merge_environment_settings = requests.Session.merge_environment_settings
_original_request = requests.Session.request


def _route(url: Any) -> _Route | None:
    if not isinstance(url, str):
        return None
    for prefix, route in _routes.items():
        if url.startswith(prefix) and (len(url) == len(prefix) or url[len(prefix)] in "/?#"):
            return route
    return None


def _routing_get_adapter(self: requests.Session, url: str) -> BaseAdapter:
    adapter = _original_get_adapter(self, url)
    route = _route(url)
    if route is not None:
        return _adapter_for(route.app, getattr(adapter, "max_retries", None))
    return adapter


def _routing_merge_environment_settings(self: requests.Session, url: str, proxies: Any,
                                        stream: Any, verify: Any, cert: Any) -> dict[str, Any]:
    if _route(url) is None:
        return _original_merge_environment_settings(self, url, proxies, stream, verify, cert)
    return {"proxies": {},  # nothing to proxy in-process
            "stream": self.stream if stream is None else stream,
            "verify": self.verify if verify is None else verify,
            "cert": self.cert if cert is None else cert}


def _routing_request(self: requests.Session, method: str, url: Any, params: Any = None,
                     data: Any = None, headers: Any = None, cookies: Any = None,
                     files: Any = None, auth: Any = None, timeout: Any = None,
                     allow_redirects: bool = True, proxies: Any = None, hooks: Any = None,
                     stream: Any = None, verify: Any = None, cert: Any = None,
                     json: Any = None) -> requests.Response:
    route = _route(url)
    if route is None or not shortcut.is_plain(self, cookies, files, auth, hooks, stream):
        return _original_request(
            self, method, url, params=params, data=data, headers=headers, cookies=cookies,
            files=files, auth=auth, timeout=timeout, allow_redirects=allow_redirects,
            proxies=proxies, hooks=hooks, stream=stream, verify=verify, cert=cert, json=json)
    prepared = shortcut.prepare(self, method, url, route.canonical_prefix, params, data,
                                headers, json)
    return shortcut.send(self, prepared, timeout, allow_redirects, verify, cert)


def _adapter_for(app: WSGIApp, retries: Retry | None) -> WSGIAdapter:
    key = (id(app), id(retries))
    adapter = _adapters.get(key)
    if adapter is None or adapter.app is not app or adapter.max_retries is not retries:
        adapter = WSGIAdapter(app, retries)
        if retries is not None:
            adapter.max_retries = retries  # the very object, so the cache key stays valid
        _adapters[key] = adapter
    return adapter


def _canonical(prefix: str) -> str | None:
    probe = PreparedRequest()
    try:
        probe.prepare_url(prefix + "/", None)
    except requests.RequestException:
        return None
    return prefix if probe.url == prefix + "/" else None


_PATCHES = (
    ("get_adapter", _routing_get_adapter, _original_get_adapter),
    ("merge_environment_settings", _routing_merge_environment_settings,
     _original_merge_environment_settings),
    ("request", _routing_request, _original_request),
)


def install(url: str, app: WSGIApp) -> None:
    """Route ``requests`` calls under ``url`` to ``app`` until :func:`uninstall`."""
    global _routes
    prefix = url.rstrip("/")
    route = _Route(app, _canonical(prefix))
    with _routes_lock:
        _routes = {**_routes, prefix: route}
        for name, routing, _ in _PATCHES:
            setattr(requests.Session, name, routing)


def uninstall(url: str) -> None:
    global _routes
    with _routes_lock:
        remaining = dict(_routes)
        route = remaining.pop(url.rstrip("/"), None)
        _routes = remaining
        if route is not None:
            for key in [k for k, a in list(_adapters.items()) if a.app is route.app]:
                _adapters.pop(key, None)
        if not _routes:
            for name, _, original in _PATCHES:
                setattr(requests.Session, name, original)


def routed_urls() -> list[str]:
    return list(_routes)
