"""Every route of fakeflow's table asked with a method it does not serve (and with OPTIONS and
HEAD), against MLflow 3.17.2.

Flask adds OPTIONS (and HEAD beside GET) to every rule, so its 405 lists them in ``Allow``;
the order of that list follows a Python set in MLflow, so it is compared as a set.
"""

from __future__ import annotations

import re
from typing import Any

import requests

from fakeflow.dialects.comet.routes import COMET_ROUTES
from fakeflow.web.routes import all_routes

_METHODS = ("GET", "POST", "PATCH", "DELETE", "PUT")


def _cases() -> list[tuple[str, str]]:
    cases = []
    comet = {route.path for route in COMET_ROUTES}  # a dialect: MLflow has no such paths
    for route in all_routes():
        if route.path in comet:
            continue
        path = re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"x\1", route.path)
        other = next((m for m in _METHODS if m not in route.methods), None)
        # OPTIONS and HEAD too: Flask adds them to its rules, FastAPI (MLflow's literal-slash
        # artifact routes) does not, so those fall through to Flask (404 or a 308 redirect)
        for method in ([other] if other else []) + ["OPTIONS", "HEAD"]:
            cases.append((method, path))
    return sorted(set(cases))


def _answer(base: str, method: str, path: str) -> tuple[Any, ...]:
    response = requests.request(method, base + path, timeout=30, allow_redirects=False)
    allow = frozenset(m.strip() for m in response.headers.get("Allow", "").split(",") if m.strip())
    return response.status_code, response.headers.get("Content-Type", "").split(";")[0], allow


def test_every_route_refuses_another_method_as_mlflow_does(reference_server: Any,
                                                           fakeflow_server: Any) -> None:
    session = requests.Session()
    differences = []
    for method, path in _cases():
        want = _answer(reference_server.url, method, path)
        got = _answer(fakeflow_server.url, method, path)
        if want != got:
            differences.append(f"{method} {path}: fakeflow {got}, MLflow {want}")
    session.close()
    assert not differences, "\n".join(differences[:40])
