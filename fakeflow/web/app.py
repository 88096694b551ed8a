"""The WSGI application: check Host and origin, route, run one handler under the store lock,
turn errors into answers. The body is read before the lock is taken: a client that stalls
mid-upload must never hold up anyone else."""

from __future__ import annotations

import functools
import logging
from typing import Any, Callable, Iterable, Sequence

from werkzeug.exceptions import HTTPException, InternalServerError, MethodNotAllowed, NotFound
from werkzeug.routing import Map, RequestRedirect, Rule
from werkzeug.wrappers import Request, Response

from fakeflow.state.errors import MlflowError
from fakeflow.state.tracking import TrackingStore
from fakeflow.web.lazy_handlers import LazyHandler
from fakeflow.web.render import RawJSON, StreamedJSON, to_json
from fakeflow.web.routes import Route, all_routes
from fakeflow.web.security import SecurityPolicy, is_api_path, respond
from fakeflow.web.status import error_body, http_status, status_line

log = logging.getLogger("fakeflow")

DEFAULT_MAX_CONTENT_LENGTH = 64 * 1024 * 1024

Handler = Callable[[TrackingStore, Request], Any]


class _MatchingRule(Rule):
    """A Werkzeug rule whose URL builders are compiled on first use instead of up front.

    Werkzeug compiles two builder functions per rule (with ``ast`` and ``compile``) when the
    map is made: three quarters of ``create_app()``'s first call for a table of ~300 routes.
    fakeflow only matches requests and never builds URLs, so the builders wait until asked."""

    def _compile_builder(self, append_unknown: bool = True) -> Callable[..., Any]:
        compiled: list[Callable[..., Any]] = []

        def build(rule: Rule, *args: Any, **kwargs: Any) -> Any:
            if not compiled:
                compiled.append(Rule._compile_builder(rule, append_unknown))
            return compiled[0](rule, *args, **kwargs)

        return build


class _Routing:
    """The route table, compiled once per process (compiling Werkzeug rules is slow).

    ``exact`` answers most requests with one dict lookup; the Werkzeug ``map`` decides the
    rest: unknown paths (404), wrong methods (405), HEAD, and parameterised paths.
    """

    def __init__(self, routes: Sequence[Route] | None = None) -> None:
        self.handlers: dict[str, Handler] = {}
        self.exact: dict[str, dict[str, Handler]] = {}
        #: Handlers that stream their own request body, so run without the store lock.
        self.unlocked: set[Handler] = set()
        rules, literal_rules = [], []
        for index, route in enumerate(all_routes() if routes is None else routes):
            endpoint = f"r{index}"
            self.handlers[endpoint] = route.handler
            if not route.locked:
                self.unlocked.add(route.handler)
            if route.fastapi:
                rule = _MatchingRule(route.path, methods=list(route.methods), endpoint=endpoint,
                                     merge_slashes=False, strict_slashes=not route.path.endswith("/"))
                rule.methods = set(route.methods)  # FastAPI adds no HEAD to a GET route
                literal_rules.append(rule)
            else:
                rules.append(_MatchingRule(route.path, methods=list(route.methods), endpoint=endpoint))
            if "<" not in route.path:
                by_method = self.exact.setdefault(route.path, {})
                for method in route.methods:
                    by_method[method] = route.handler
        #: MLflow's FastAPI routes, asked first: only their own methods, slashes as written.
        self.fastapi_map = Map(literal_rules) if literal_rules else None
        #: their fixed beginnings: any other path skips the FastAPI map (a miss costs a raise)
        self.fastapi_prefixes = tuple({rule.rule.split("<", 1)[0] for rule in literal_rules})
        #: The Flask app behind them, which gets every request FastAPI does not take.
        self.map = Map(rules)


@functools.lru_cache(maxsize=None)
def _routing() -> _Routing:
    return _Routing()


@functools.lru_cache(maxsize=None)
def _legacy_routing() -> _Routing:
    """The table plus the older documentation's routes (``legacy_routes=True``), compiled apart
    so that the default table stays as it is."""
    from fakeflow.dialects.legacy_rest import legacy_routes  # loaded only when asked for

    return _Routing([*all_routes(), *legacy_routes()])


class FakeflowApp:
    """A WSGI app that answers like an MLflow 3.17.2 server backed by ``store``."""

    def __init__(
        self,
        store: TrackingStore | None = None,
        max_content_length: int = DEFAULT_MAX_CONTENT_LENGTH,
        allowed_hosts: str | Sequence[str] | None = None,
        cors_allowed_origins: str | Sequence[str] | None = None,
        security: SecurityPolicy | None = None,
        legacy_routes: bool = False,
    ) -> None:
        self.store = store or TrackingStore()
        self.max_content_length = max_content_length
        #: Host, CORS and header rules as ``mlflow server`` has them (see fakeflow.web.security).
        self.security = security or SecurityPolicy.from_settings(allowed_hosts, cors_allowed_origins)
        self._routing = _legacy_routing() if legacy_routes else _routing()
        #: Called with every unexpected exception (the pytest plugin re-raises them in tests).
        self.on_unexpected_error: Callable[[BaseException], None] | None = None

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        security = self.security
        refusal = security.refusal(environ, is_api_path(environ.get("PATH_INFO", "")))
        if refusal is not None:
            return respond(start_response, refusal)
        request = Request(environ)
        request.max_content_length = self.max_content_length
        handler = self._routing.exact.get(request.path, {}).get(request.method)
        # Map-routed answers go through a Werkzeug Response, which also handles HEAD bodies.
        outcome = self._run(handler, request) if handler else self._dispatch_via_map(request)
        if isinstance(outcome, Response):
            for name, value in security.answer_headers(environ):
                if name not in outcome.headers:
                    outcome.headers.add(name, value)
            return outcome(environ, start_response)
        code, body = outcome
        if isinstance(body, StreamedJSON):  # encoded only now, with the store lock released
            return body.respond(status_line(code), security.answer_headers(environ),
                                start_response)
        data = body.encode()
        start_response(status_line(code), [
            ("Content-Type", "application/json"),
            ("Content-Length", str(len(data))),
            *security.answer_headers(environ),
        ])
        return [data]

    def _dispatch_via_map(self, request: Request) -> Response:
        routing = self._routing
        if routing.fastapi_map is not None and request.path.startswith(routing.fastapi_prefixes):
            try:
                endpoint, _ = routing.fastapi_map.bind_to_environ(request.environ).match()
            except HTTPException:  # no FastAPI route for this path and method: Flask's turn
                pass
            else:
                return self._respond(endpoint, request)
        adapter = routing.map.bind_to_environ(request.environ)
        if request.method == "OPTIONS":
            return self._options(adapter, request)
        try:
            endpoint, _ = adapter.match()
        except MethodNotAllowed as error:  # Flask answers OPTIONS on every route, and says so
            error.valid_methods = sorted({*(error.valid_methods or ()), "OPTIONS"})
            return error.get_response(request.environ)
        except HTTPException as error:
            return error.get_response(request.environ)
        return self._respond(endpoint, request)

    def _respond(self, endpoint: str, request: Request) -> Response:
        outcome = self._run(self._routing.handlers[endpoint], request)
        if isinstance(outcome, Response):
            return outcome
        code, body = outcome
        return Response(body, status=code, mimetype="application/json")

    def _run(self, handler: Handler, request: Request
             ) -> tuple[int, str | StreamedJSON] | Response:
        """(status, JSON text or a body still to encode), or a ready Response for non-JSON
        answers and HTML errors."""
        try:
            unlocked = handler in self._routing.unlocked
            if type(handler) is LazyHandler:
                handler = handler.resolve()  # a first call imports its module outside the lock
            if unlocked:  # reads its body in chunks, locks briefly itself
                result = handler(self.store, request)
            else:
                environ = request.environ
                if environ.get("CONTENT_LENGTH") or environ.get("HTTP_TRANSFER_ENCODING"):
                    request.get_data(cache=True)  # all socket reads happen here, before the lock
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
        if isinstance(result, (RawJSON, StreamedJSON)):
            return 200, result
        return 200, to_json(result)

    def _options(self, adapter: Any, request: Request) -> Response:
        """Flask's automatic OPTIONS answer with the allowed methods: 204 on API paths, 200 on
        /health and /version; a path with doubled slashes is redirected (308) first."""
        methods = adapter.allowed_methods()
        if not methods:
            return NotFound().get_response(request.environ)
        try:
            adapter.match(method=methods[0])
        except RequestRedirect as redirect:
            return redirect.get_response(request.environ)
        except HTTPException:
            pass
        allowed = sorted(set(methods) | {"OPTIONS"})
        status = 204 if is_api_path(request.path) else 200
        return Response(status=status, headers={"Allow": ", ".join(allowed)}, mimetype="text/html")


def create_app(store: TrackingStore | None = None, **options: Any) -> FakeflowApp:
    """A fresh fake MLflow server as a WSGI app (state starts empty but for experiment 0).

    ``allowed_hosts`` / ``cors_allowed_origins`` (comma-separated or lists) are ``mlflow
    server``'s options of the same names; unset, MLflow's environment variables and defaults
    (loopback and private addresses; loopback origins) apply. ``max_artifact_bytes`` /
    ``max_artifact_store_bytes`` bound one artifact file and all of them (413 beyond).
    ``legacy_routes=True`` also serves the routes of MLflow's older REST documentation that
    3.17.2 answers with 404 (see fakeflow.dialects.legacy_rest). ``comet=False`` turns off
    comet-ml's REST API (on by default); ``comet_workspace`` names its one workspace and
    ``comet_api_key`` makes it refuse other keys (see fakeflow.dialects.comet)."""
    file_bound = options.pop("max_artifact_bytes", None)
    store_bound = options.pop("max_artifact_store_bytes", None)
    comet = {key: options.pop(name) for name, key in _COMET_OPTIONS.items() if name in options}
    app = FakeflowApp(store, **options)
    app.store.artifacts.configure(file_bound, store_bound)
    if comet:
        from fakeflow.dialects.comet import configure

        configure(app.store, **comet)
    return app


#: create_app options of the Comet dialect (fakeflow.dialects.comet; on unless comet=False).
_COMET_OPTIONS = {"comet": "enabled", "comet_workspace": "workspace", "comet_api_key": "api_key"}


__all__ = ["FakeflowApp", "create_app"]
