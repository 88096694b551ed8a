"""In-process transport: ``requests`` calls to a fake's URL go straight into its WSGI app.

No socket, no thread hop, no HTTP parsing, but the same bytes, status and headers as over
loopback. ``route_in_process(url, app)`` makes *every* ``requests.Session`` (MLflow's cached
sessions included) send requests whose URL starts with ``url`` to ``app``; other URLs and
non-``requests`` clients are untouched, so they still reach the real socket at the same URL.
``wsgi_adapter`` holds the adapter, ``routing`` the patches that route sessions to it.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

from fakeflow.transport.routing import install, routed_urls, uninstall
from fakeflow.transport.wsgi_adapter import WSGIAdapter, WSGIApp, in_process_session


@contextmanager
def route_in_process(url: str, app: WSGIApp) -> Iterator[None]:
    """``with route_in_process(server.url, server.app): ...``: calls to ``url`` skip the socket."""
    install(url, app)
    try:
        yield
    finally:
        uninstall(url)


__all__ = ["WSGIAdapter", "in_process_session", "install", "route_in_process", "routed_urls",
           "uninstall"]
