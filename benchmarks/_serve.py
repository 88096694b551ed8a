"""Serve one benchmark target in its own process, so the client never shares the server's GIL.

``python -m benchmarks._serve fakeflow|bare|bare-keepalive`` prints the server URL on one line,
then serves until its stdin closes (so it can never outlive the benchmark that started it).

* ``fakeflow``: ``create_app()`` on fakeflow's ThreadedServer (its own keep-alive WSGI server);
* ``bare``: a do-nothing app on Werkzeug's own server, which closes every connection: the floor
  of any Werkzeug-served fake, and the comparator the issue's "70% of bare Werkzeug" names;
* ``bare-keepalive``: the same do-nothing app on fakeflow's ThreadedServer: the floor of
  fakeflow's own HTTP stack, so fakeflow / bare-keepalive is the app's own overhead.
"""

from __future__ import annotations

import sys
import threading
from typing import Any, Callable, Iterable, Protocol

from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from fakeflow.server import ThreadedServer
from fakeflow.web.app import create_app

HOST = "127.0.0.1"


def bare_app(environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
    """The floor for any Werkzeug JSON API: read the body, answer ``{}``; no routing, no state."""
    request = Request(environ)
    request.get_data()
    return Response("{}", mimetype="application/json")(environ, start_response)


class _QuietHandler(WSGIRequestHandler):
    """No access log, as any fake served by Werkzeug would run (a log line per request is I/O)."""

    def log_request(self, *args: Any, **kwargs: Any) -> None:
        pass


class Served(Protocol):
    url: str

    def stop(self) -> None: ...


class WerkzeugServer:
    """``app`` on ``werkzeug.serving.make_server`` (threaded), loopback only, on a thread."""

    def __init__(self, app: Callable) -> None:
        self._server = make_server(HOST, 0, app, threaded=True, request_handler=_QuietHandler)
        self._server.daemon_threads = True
        self.url = f"http://{HOST}:{self._server.socket.getsockname()[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def _on_fakeflow_server(app: Callable) -> Served:
    return ThreadedServer(app, host=HOST).start()


TARGETS: dict[str, Callable[[], Served]] = {
    "fakeflow": lambda: _on_fakeflow_server(create_app()),
    "bare": lambda: WerkzeugServer(bare_app),
    "bare-keepalive": lambda: _on_fakeflow_server(bare_app),
}


def main(argv: list[str]) -> int:
    if len(argv) != 1 or argv[0] not in TARGETS:
        print(f"usage: python -m benchmarks._serve {{{'|'.join(TARGETS)}}}", file=sys.stderr)
        return 2
    server = TARGETS[argv[0]]()
    try:
        print(server.url, flush=True)
        sys.stdin.read()
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
