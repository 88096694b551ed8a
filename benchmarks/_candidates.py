"""The HTTP servers fakeflow could run on, behind one interface, for ``bench_servers``.

Each candidate serves a WSGI app on 127.0.0.1 (port 0) on a background thread, configured with
whatever bounds it has for the ones fakeflow's own server takes (``Bounds``); a bound a server
lacks is simply not applied, and the robustness checks show it. ``waitress`` and ``cheroot``
are optional: a candidate whose package is missing is reported as unavailable.

``python -m benchmarks._candidates NAME [--app fakeflow|echo|bare] [--nofile N]`` serves the
app (default: fakeflow's) on NAME in its own process (after lowering its open-file limit to N), prints the
URL, and serves until stdin closes.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import threading
from dataclasses import dataclass
from typing import Any, Callable, Protocol

HOST = "127.0.0.1"


@dataclass(frozen=True)
class Bounds:
    """What the checks configure: ``None`` leaves the server's own default."""

    max_connections: int | None = None
    request_timeout: float | None = None
    keep_alive_timeout: float | None = None


class Served(Protocol):
    port: int
    url: str

    def stop(self) -> None: ...


class _OnThread:
    """A server object run by ``serve`` on a daemon thread, stopped by ``halt``."""

    def __init__(self, port: int, serve: Callable[[], Any], halt: Callable[[], Any]) -> None:
        self.port = port
        self.url = f"http://{HOST}:{port}"
        self._halt = halt
        self._halting = False
        self._thread = threading.Thread(target=self._serve, args=(serve,), daemon=True)
        self._thread.start()

    def _serve(self, serve: Callable[[], Any]) -> None:
        try:
            serve()
        except OSError:
            if not self._halting:  # a socket closed under the loop by halt() is expected
                raise

    def stop(self) -> None:
        self._halting = True
        self._halt()
        self._thread.join(timeout=5)


def _fakeflow(app: Callable, bounds: Bounds) -> Served:
    from fakeflow.server import ThreadedServer

    options = {k: v for k, v in vars(bounds).items() if v is not None}
    return ThreadedServer(app, host=HOST, **options).start()


def _waitress(app: Callable, bounds: Bounds) -> Served:
    import logging

    from waitress.server import create_server

    logging.getLogger("waitress").setLevel(logging.CRITICAL)  # a log line per dropped client
    options: dict[str, Any] = {}
    if bounds.max_connections is not None:
        options["connection_limit"] = bounds.max_connections
    timeouts = [t for t in (bounds.request_timeout, bounds.keep_alive_timeout) if t is not None]
    if timeouts:  # waitress has one inactivity timeout, checked every cleanup_interval
        options["channel_timeout"] = max(1, round(min(timeouts)))
        options["cleanup_interval"] = 1
    server = create_server(app, host=HOST, port=0, **options)

    def halt() -> None:
        server.close()
        for channel in list(server._map.values()):
            try:
                channel.close()
            except OSError:
                pass
        server.task_dispatcher.shutdown()

    return _OnThread(int(server.effective_port), server.run, halt)


def _cheroot(app: Callable, bounds: Bounds) -> Served:
    from cheroot.wsgi import Server

    options: dict[str, Any] = {}
    timeouts = [t for t in (bounds.request_timeout, bounds.keep_alive_timeout) if t is not None]
    if timeouts:  # one socket timeout, per operation
        options["timeout"] = min(timeouts)
    # No bound on connections, only on worker threads (10); stop() waits at most 1 s for them.
    server = Server((HOST, 0), app, shutdown_timeout=1, **options)
    server.prepare()
    return _OnThread(server.bind_addr[1], server.serve, server.stop)


def _werkzeug(app: Callable, bounds: Bounds) -> Served:
    import logging

    from werkzeug.serving import WSGIRequestHandler, make_server

    logging.getLogger("werkzeug").setLevel(logging.CRITICAL)  # "Error on request" per dropped client
    timeouts = [t for t in (bounds.request_timeout, bounds.keep_alive_timeout) if t is not None]

    class Handler(WSGIRequestHandler):
        """HTTP/1.1, so answers with a Content-Length keep the connection alive; no access log."""

        protocol_version = "HTTP/1.1"
        timeout = min(timeouts) if timeouts else None  # per socket operation

        def log_request(self, *args: Any, **kwargs: Any) -> None:
            pass

    server = make_server(HOST, 0, app, threaded=True, request_handler=Handler)
    server.daemon_threads = True

    def halt() -> None:
        server.shutdown()
        server.server_close()

    return _OnThread(server.socket.getsockname()[1],
                     lambda: server.serve_forever(poll_interval=0.05), halt)


#: name -> (module it needs, factory)
CANDIDATES: dict[str, tuple[str, Callable[[Callable, Bounds], Served]]] = {
    "fakeflow": ("fakeflow", _fakeflow),
    "waitress": ("waitress", _waitress),
    "cheroot": ("cheroot", _cheroot),
    "werkzeug": ("werkzeug", _werkzeug),
}


def available(name: str) -> bool:
    return importlib.util.find_spec(CANDIDATES[name][0]) is not None


def start(name: str, app: Callable, bounds: Bounds = Bounds()) -> Served:
    return CANDIDATES[name][1](app, bounds)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks._candidates")
    parser.add_argument("name", choices=sorted(CANDIDATES))
    parser.add_argument("--app", choices=("fakeflow", "echo", "bare"), default="fakeflow")
    parser.add_argument("--nofile", type=int, default=None, help="lower RLIMIT_NOFILE to this")
    parser.add_argument("--max-connections", type=int, default=None)
    args = parser.parse_args(argv)
    if args.nofile is not None:
        import resource

        hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
        resource.setrlimit(resource.RLIMIT_NOFILE, (args.nofile, hard))
    if args.app == "echo":
        from benchmarks._server_checks import echo_app as app
    elif args.app == "bare":
        from benchmarks._serve import bare_app as app
    else:
        from fakeflow.web.app import create_app

        app = create_app()
    server = start(args.name, app, Bounds(max_connections=args.max_connections))
    try:
        print(server.url, flush=True)
        sys.stdin.read()
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
