"""The WSGI application: route, run one handler under the store lock, turn errors into answers."""

from __future__ import annotations

import logging
from typing import Any, Callable, Iterable

from werkzeug.exceptions import HTTPException, InternalServerError, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from fakeflow.state.errors import MlflowError
from fakeflow.state.tracking import TrackingStore
from fakeflow.web.render import to_json
from fakeflow.web.routes import Route, all_routes
from fakeflow.web.status import error_body, http_status

log = logging.getLogger("fakeflow")

DEFAULT_MAX_CONTENT_LENGTH = 64 * 1024 * 1024

_SECURITY_HEADERS = (
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "SAMEORIGIN"),
    ("Vary", "Origin"),
)


class FakeflowApp:
    """A WSGI app that answers like an MLflow 3.17.2 server backed by ``store``."""

    def __init__(
        self,
        store: TrackingStore | None = None,
        max_content_length: int = DEFAULT_MAX_CONTENT_LENGTH,
    ) -> None:
        self.store = store or TrackingStore()
        self.max_content_length = max_content_length
        routes = all_routes()
        self._handlers: dict[str, Callable] = {}
        rules = []
        for index, route in enumerate(routes):
            endpoint = f"r{index}"
            self._handlers[endpoint] = route.handler
            rules.append(Rule(route.path, methods=list(route.methods), endpoint=endpoint))
        self.url_map = Map(rules)
        #: Called with every unexpected exception (the pytest plugin re-raises them in tests).
        self.on_unexpected_error: Callable[[BaseException], None] | None = None

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        request = Request(environ)
        request.max_content_length = self.max_content_length
        response = self.dispatch(request)
        for name, value in _SECURITY_HEADERS:
            response.headers.setdefault(name, value)
        return response(environ, start_response)

    def dispatch(self, request: Request) -> Response:
        adapter = self.url_map.bind_to_environ(request.environ)
        if request.method == "OPTIONS":
            return self._options(adapter, request)
        try:
            endpoint, _ = adapter.match()
        except HTTPException as error:
            return error.get_response(request.environ)
        handler = self._handlers[endpoint]
        try:
            with self.store.lock:
                result = handler(self.store, request)
        except MlflowError as error:
            return Response(error_body(error), status=http_status(error.error_code),
                            mimetype="application/json")
        except HTTPException as error:
            return error.get_response(request.environ)
        except Exception as error:  # an answer MLflow would not give: log it loudly
            log.exception("fakeflow: unexpected error in %s %s", request.method, request.path)
            if self.on_unexpected_error is not None:
                self.on_unexpected_error(error)
            return InternalServerError().get_response(request.environ)
        if isinstance(result, Response):
            return result
        return Response(to_json(result), mimetype="application/json")


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


__all__ = ["FakeflowApp", "create_app", "Route"]
