"""Serving MLflow's UI build as ``mlflow server`` does: ``/`` is ``index.html`` (revalidated on
every load), ``/static-files/<path>`` are the hashed assets (cached four weeks). Every other
path goes to the wrapped app. The Host check and security headers are the fake's own.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable

from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.utils import send_from_directory
from werkzeug.wrappers import Request, Response

from fakeflow.ui.build import UiBuild
from fakeflow.web.security import SecurityPolicy, respond

WSGIApp = Callable[[dict[str, Any], Callable], Iterable[bytes]]

STATIC_PREFIX = "/static-files/"
FLASK_STATIC_PREFIX = "/build/"  # Flask's own static route for the same folder (no caching)
ASSET_MAX_AGE = 2_419_200  # seconds: MLflow's four weeks for content-hashed files
_READ_METHODS = ("GET", "HEAD", "OPTIONS")


class UiApp:
    """``app`` with MLflow's UI in front of it."""

    def __init__(self, app: WSGIApp, build: UiBuild, security: SecurityPolicy) -> None:
        self.app = app
        self.build = build
        self.security = security

    def __getattr__(self, name: str) -> Any:  # the wrapped app's API (store, reset, ...)
        return getattr(self.app, name)

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path != "/" and not path.startswith((STATIC_PREFIX, FLASK_STATIC_PREFIX)):
            return self.app(environ, start_response)
        refusal = self.security.refusal(environ, False)
        if refusal is not None:
            return respond(start_response, refusal)
        request = Request(environ)
        try:
            response = self._answer(request, path)
        except HTTPException as error:
            response = error.get_response(environ)
        for name, value in self.security.answer_headers(environ):
            if name not in response.headers:
                response.headers.add(name, value)
        return response(environ, start_response)

    def _answer(self, request: Request, path: str) -> Response:
        if path in (STATIC_PREFIX, FLASK_STATIC_PREFIX):
            raise NotFound()  # no route matches an empty file path, whatever the method
        if request.method not in _READ_METHODS:
            raise MethodNotAllowed(valid_methods=list(_READ_METHODS))
        if request.method == "OPTIONS":
            return Response(status=200, headers={"Allow": ", ".join(sorted(_READ_METHODS))},
                            mimetype="text/html")
        if path == "/":
            return send_from_directory(self.build.directory, "index.html", request.environ)
        hashed = path.startswith(STATIC_PREFIX)
        relative = path[len(STATIC_PREFIX if hashed else FLASK_STATIC_PREFIX):]
        # send_from_directory refuses paths that would leave the build (404), like Flask.
        return send_from_directory(self.build.directory, relative, request.environ,
                                   max_age=ASSET_MAX_AGE if hashed else None)
