"""A small ``requests`` client of the MLflow REST API, for tests that speak HTTP directly."""

from __future__ import annotations

from typing import Any

import requests

API_PREFIX = "/api/2.0/mlflow/"


class RestError(Exception):
    """An MLflow error answer: HTTP ``status`` plus the body's ``error_code`` and ``message``."""

    def __init__(self, status: int, error_code: str | None, message: str) -> None:
        super().__init__(f"{status} {error_code}: {message}")
        self.status, self.error_code, self.message = status, error_code, message


class RestClient:
    """``rest.post("runs/create", {"experiment_id": "0"})`` -> ``requests.Response``.

    Routes are relative to ``/api/2.0/mlflow/``; a route starting with ``/`` is an absolute path
    (``/health``, ``/_fakeflow/state``). ``call()`` returns the JSON and raises ``RestError``.
    """

    def __init__(self, url: str, session: requests.Session | None = None,
                 timeout: float = 30.0) -> None:
        self.url = url.rstrip("/")
        self.session = session or requests.Session()
        self.timeout = timeout

    def _url(self, route: str) -> str:
        return self.url + (route if route.startswith("/") else API_PREFIX + route)

    def request(self, method: str, route: str, *, params: Any = None,
                json: Any = None, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", self.timeout)
        return self.session.request(method, self._url(route), params=params, json=json, **kwargs)

    def get(self, route: str, params: Any = None, **kwargs: Any) -> requests.Response:
        return self.request("GET", route, params=params, **kwargs)

    def post(self, route: str, json: Any = None, **kwargs: Any) -> requests.Response:
        return self.request("POST", route, json=json, **kwargs)

    def call(self, method: str, route: str, payload: Any = None) -> Any:
        """GET sends ``payload`` as the query, POST as the JSON body; errors raise ``RestError``."""
        if method.upper() == "GET":
            answer = self.request("GET", route, params=payload)
        else:
            answer = self.request(method, route, json=payload if payload is not None else {})
        try:
            body = answer.json()
        except ValueError:
            body = None
        if answer.status_code >= 400:
            if isinstance(body, dict):
                raise RestError(answer.status_code, body.get("error_code"),
                                str(body.get("message", "")))
            raise RestError(answer.status_code, None, answer.text)
        return body

    def close(self) -> None:
        self.session.close()
