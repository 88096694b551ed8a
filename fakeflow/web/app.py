"""The WSGI application: route, run one handler under the store lock, turn errors into answers."""

from __future__ import annotations

import functools
import logging
from typing import Any, Callable, Iterable

from werkzeug.exceptions import HTTPException, InternalServerError, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from fakeflow.state.errors import MlflowError
from fakeflow.state.tracking import TrackingStore
from fakeflow.web.render import RawJSON, to_json
from fakeflow.web.routes import all_routes
from fakeflow.web.status import error_body, http_status, status_line

log = logging.getLogger("fakeflow")

DEFAULT_MAX_CONTENT_LENGTH = 64 * 1024 * 1024

SECURITY_HEADERS = (
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "SAMEORIGIN"),
    ("Vary", "Origin"),
)

Handler = Callable[[TrackingStore, Request], Any]


class _Routing:
    """The route table, compiled once per process (compiling Werkzeug rules is slow).

    ``exact`` answers most requests with one dict lookup; the Werkzeug ``map`` decides the
    rest: unknown paths (404), wrong methods (405), HEAD, and parameterised paths.
    """

    def __init__(self) -> None:
        self.handlers: dict[str, Handler] = {}
        self.exact: dict[str, dict[str, Handler]] = {}
        rules = []
        for index, route in enumerate(all_routes()):
            endpoint = f"r{index}"
            self.handlers[endpoint] = route.handler
            rules.append(Rule(route.path, methods=list(route.methods), endpoint=endpoint))
            if "<" not in route.path:
                by_method = self.exact.setdefault(route.path, {})
                for method in route.methods:
                    by_method[method] = route.handler
        self.map = Map(rules)


@functools.lru_cache(maxsize=None)
def _routing() -> _Routing:
    return _Routing()


class FakeflowApp:
    """A WSGI app that answers like an MLflow 3.17.2 server backed by ``store``."""

    def __init__(
        self,
        store: TrackingStore | None = None,
        max_content_length: int = DEFAULT_MAX_CONTENT_LENGTH,
    ) -> None:
        self.store = store or TrackingStore()
        self.max_content_length = max_content_length
        self._routing = _routing()
        #: Called with every unexpected exception (the pytest plugin re-raises them in tests).
        self.on_unexpected_error: Callable[[BaseException], None] | None = None

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        request = Request(environ)
        request.max_content_length = self.max_content_length
        handler = self._routing.exact.get(request.path, {}).get(request.method)
        # Map-routed answers go through a Werkzeug Response, which also handles HEAD bodies.
        outcome = self._run(handler, request) if handler else self._dispatch_via_map(request)
        if isinstance(outcome, Response):
            for name, value in SECURITY_HEADERS:
                if name not in outcome.headers:
                    outcome.headers.add(name, value)
            return outcome(environ, start_response)
        code, body = outcome
        data = body.encode()
        start_response(status_line(code), [
            ("Content-Type", "application/json"),
            ("Content-Length", str(len(data))),
            *SECURITY_HEADERS,
        ])
        return [data]

    def _dispatch_via_map(self, request: Request) -> Response:
        adapter = self._routing.map.bind_to_environ(request.environ)
        if request.method == "OPTIONS":
            return self._options(adapter, request)
        try:
            endpoint, _ = adapter.match()
        except HTTPException as error:
            return error.get_response(request.environ)
        outcome = self._run(self._routing.handlers[endpoint], request)
        if isinstance(outcome, Response):
            return outcome
        code, body = outcome
        return Response(body, status=code, mimetype="application/json")

    def _run(self, handler: Handler, request: Request) -> tuple[int, str] | Response:
        """(status, JSON text), or a ready Response for non-JSON answers and HTML errors."""
        try:
            with self.store.lock:
                result = handler(self.store, request)
        except MlflowError as error:
            return http_status(error.error_code), error_body(error)
        except HTTPException as error:
            return error.get_response(request.environ)
        except Exception as error:  # an answer MLflow would not give: log it loudly
            log.exception("fakeflow: unexpected error in %s %s", request.method, request.path)
            if self.on_unexpected_error is not None:
                self.on_unexpected_error(error)
            return InternalServerError().get_response(request.environ)
        if isinstance(result, Response):
            return result
        if isinstance(result, RawJSON):
            return 200, result
        return 200, to_json(result)

    def _options(self, adapter: Any, request: Request) -> Response:
        """Flask's automatic OPTIONS answer: 204 with the allowed methods."""
        methods = adapter.allowed_methods()
        if not methods:
            return NotFound().get_response(request.environ)
        allowed = sorted(set(methods) | {"OPTIONS"})
        return Response(status=204, headers={"Allow": ", ".join(allowed)}, mimetype="text/html")


def create_app(store: TrackingStore | None = None, **options: Any) -> FakeflowApp:
    """A fresh fake MLflow server as a WSGI app (state starts empty but for experiment 0)."""
    return FakeflowApp(store, **options)


__all__ = ["FakeflowApp", "create_app"]
