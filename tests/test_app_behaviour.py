"""App-level guarantees beyond MLflow parity: atomic concurrent writes, bounded bodies, loud bugs."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from fakeflow import ThreadedServer, create_app
from fakeflow.web import routes

API = "/api/2.0/mlflow"


@pytest.fixture()
def server():
    with ThreadedServer(create_app()) as s:
        yield s


def test_concurrent_logging_loses_nothing(server):
    session = requests.Session()
    run = session.post(server.url + API + "/runs/create", json={"experiment_id": "0"}).json()
    run_id = run["run"]["info"]["run_id"]

    def log(i: int) -> int:
        with requests.Session() as s:
            codes = []
            for j in range(25):
                codes.append(s.post(server.url + API + "/runs/log-metric", json={
                    "run_id": run_id, "key": "m", "value": i * 100 + j, "timestamp": j, "step": i,
                }).status_code)
                codes.append(s.post(server.url + API + "/runs/log-parameter", json={
                    "run_id": run_id, "key": f"p{i}-{j}", "value": "v"}).status_code)
            return sum(c != 200 for c in codes)

    with ThreadPoolExecutor(8) as pool:
        assert sum(pool.map(log, range(8))) == 0
    history = session.get(server.url + API + "/metrics/get-history",
                          params={"run_id": run_id, "metric_key": "m"}).json()["metrics"]
    assert len(history) == 8 * 25
    params = session.get(server.url + API + "/runs/get", params={"run_id": run_id}).json()["run"]["data"]["params"]
    assert len(params) == 8 * 25


def test_request_bodies_are_bounded():
    with ThreadedServer(create_app(max_content_length=1024)) as s:
        response = requests.post(s.url + API + "/experiments/create", json={"name": "x" * 4096})
        assert response.status_code == 413


def test_every_api_route_is_mirrored_under_ajax_api(server):
    for route in routes.TRACKING_ROUTES:
        for prefix in routes.API_PREFIXES:
            response = requests.request("DELETE", server.url + prefix + route.path)
            assert response.status_code == 405, prefix + route.path


def test_unexpected_errors_are_500_and_reported_to_the_hook(monkeypatch):
    app = create_app()
    seen = []
    app.on_unexpected_error = seen.append
    monkeypatch.setattr(app.store, "get_experiment", lambda *_: 1 / 0)
    with ThreadedServer(app) as s:
        response = requests.get(s.url + API + "/experiments/get", params={"experiment_id": "0"})
    assert response.status_code == 500
    assert len(seen) == 1 and isinstance(seen[0], ZeroDivisionError)


def test_security_headers_like_mlflow(server):
    headers = requests.get(server.url + "/health").headers
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "SAMEORIGIN"
