"""Serve a WSGI app (fakeflow by default) over loopback HTTP on a background thread."""

from __future__ import annotations

import socket
import threading
from typing import Callable

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


class ThreadedServer:
    """``with ThreadedServer() as server: requests.get(server.url + "/health")``.

    Binds 127.0.0.1 by default; port 0 picks a free port. ``start()`` returns once the socket is
    listening and raises ``OSError`` at once if it cannot bind. ``stop()`` also closes
    connections that clients keep alive.
    """

    def __init__(self, app: Callable | None = None, host: str = "127.0.0.1", port: int = 0) -> None:
        if app is None:
            from fakeflow.web.app import create_app

            app = create_app()
        self.app = app
        self.host = host
        self.port = port
        self._server: WSGIServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        if self.port == 0:
            raise RuntimeError("server has not been started")
        host = self.host if ":" not in self.host else f"[{self.host}]"
        return f"http://{host}:{self.port}"

    def start(self) -> "ThreadedServer":
        if self._server is not None:
            return self
        server = WSGIServer(_bind(self.host, self.port), self.app)
        self._server = server
        self.port = server.server_address[1]
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=f"fakeflow:{self.port}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        server.close_connections()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> "ThreadedServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
