"""Serve a WSGI app (fakeflow by default) over loopback HTTP on a background thread."""

from __future__ import annotations

import ipaddress
import socket
import threading
from typing import Callable

from fakeflow.listener import Limits
from fakeflow.wsgi_server import WSGIServer


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM)
    try:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((host, port))
        listener.listen(128)
    except OSError:
        listener.close()
        raise
    return listener


def reach(bound_ip: str) -> tuple[str, str | None]:
    """For a bound address: the host a local client should use in a URL, and where the socket is
    reachable from if that is beyond this machine (None when it is loopback only).

    A wildcard (``0.0.0.0``, ``::``, or an empty host) listens on every interface; the URL then
    names the loopback address of the same family, which always works locally.
    """
    address = ipaddress.ip_address(bound_ip.split("%", 1)[0])
    if address.is_loopback:
        return bound_ip, None
    if address.is_unspecified:
        if address.version == 4:
            return "127.0.0.1", "every IPv4 interface of this machine (0.0.0.0)"
        return "::1", "every interface of this machine (::, IPv6 and on most systems IPv4 too)"
    return bound_ip, f"{bound_ip}, a non-loopback address"


class ThreadedServer:
    """``with ThreadedServer() as server: requests.get(server.url + "/health")``.

    Binds 127.0.0.1 by default; port 0 picks a free port. ``start()`` returns once the socket is
    listening and raises ``OSError`` at once if it cannot bind. ``stop()`` also closes
    connections that clients keep alive. The bounds (see ``fakeflow.listener.Limits``):
    ``max_connections`` served at once, ``keep_alive_timeout`` for idle kept-alive connections,
    ``request_timeout`` for a request's head and body to arrive.
    """

    def __init__(self, app: Callable | None = None, host: str = "127.0.0.1", port: int = 0, *,
                 max_connections: int = Limits.max_connections,
                 keep_alive_timeout: float = Limits.keep_alive_timeout,
                 request_timeout: float = Limits.request_timeout) -> None:
        if app is None:
            from fakeflow.web.app import create_app

            app = create_app()
        self.app = app
        self.host = host
        self.port = port
        self.limits = Limits(max_connections, keep_alive_timeout, request_timeout)
        self.bound_ip: str | None = None
        self._server: WSGIServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """A URL a client on this machine can open (the loopback address for a wildcard bind)."""
        if self.port == 0:
            raise RuntimeError("server has not been started")
        host = self.bound_ip if self.bound_ip is not None else (self.host or "0.0.0.0")
        try:
            host = reach(host)[0]
        except ValueError:
            pass  # a host name, kept as given
        host = host if ":" not in host else f"[{host}]"
        return f"http://{host}:{self.port}"

    @property
    def exposure(self) -> str | None:
        """Where, beyond loopback, the server can be reached from; None if loopback only."""
        if self.bound_ip is None:
            raise RuntimeError("server has not been started")
        return reach(self.bound_ip)[1]

    def start(self) -> "ThreadedServer":
        if self._server is not None:
            return self
        listener = _bind(self.host, self.port)
        server = WSGIServer(listener, self.app, self.limits)
        self._server = server
        self.bound_ip, self.port = server.server_address[0], server.server_address[1]
        self._thread = threading.Thread(target=server.serve_forever, name=f"fakeflow:{self.port}",
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        server.stop()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> "ThreadedServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
