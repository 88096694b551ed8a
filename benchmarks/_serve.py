"""Serve one benchmark target in its own process, so the client never shares the server's GIL.

``python -m benchmarks._serve fakeflow|bare`` prints the server URL on one line, then serves until
its stdin closes (so it can never outlive the benchmark that started it).
"""

from __future__ import annotations

import sys
from typing import Any, Callable, Iterable

from werkzeug.wrappers import Request, Response

from fakeflow.server import ThreadedServer
from fakeflow.web.app import create_app


def bare_app(environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
    """The floor for any Werkzeug JSON API: read the body, answer ``{}``; no routing, no state."""
    request = Request(environ)
    request.get_data()
    return Response("{}", mimetype="application/json")(environ, start_response)


TARGET_APPS: dict[str, Callable[[], Callable]] = {
    "fakeflow": create_app,
    "bare": lambda: bare_app,
}


def main(argv: list[str]) -> int:
    if len(argv) != 1 or argv[0] not in TARGET_APPS:
        print(f"usage: python -m benchmarks._serve {{{'|'.join(TARGET_APPS)}}}", file=sys.stderr)
        return 2
    with ThreadedServer(TARGET_APPS[argv[0]]()) as server:
        print(server.url, flush=True)
        sys.stdin.read()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
