"""The control plane: reset, seed, snapshots, request log and faults, in Python and over HTTP."""

from __future__ import annotations

import time

import pytest
import requests

from fakeflow.control import CONTROL_PREFIX, ControlledApp, create_server, route_matches
from fakeflow.transport import in_process_session

BASE = "http://fake.test"
API = BASE + "/api/2.0/mlflow/"


@pytest.fixture
def app() -> ControlledApp:
    return ControlledApp()


@pytest.fixture
def http(app: ControlledApp) -> requests.Session:
    return in_process_session(app, BASE)


def create_run(http: requests.Session, experiment_id: str = "0") -> str:
    answer = http.post(API + "runs/create", json={"experiment_id": experiment_id})
    assert answer.status_code == 200, answer.text
    return answer.json()["run"]["info"]["run_id"]


def test_reset_empties_store_log_and_faults(app, http):
    create_run(http)
    http.post(API + "experiments/create", json={"name": "e"})
    app.fail("runs/get", times=None)
    app.reset()
    assert list(app.store.runs) == [] and list(app.store.experiments) == ["0"]
    assert len(app.log) == 0 and app.faults.pending() == []
    assert http.post(API + "experiments/create", json={"name": "e"}).json() == {"experiment_id": "1"}


def test_seed_makes_ids_repeatable_and_reset_without_seed_forgets_it(app, http):
    app.reset(seed=3)
    first = [create_run(http) for _ in range(3)]
    app.reset(seed=3)
    assert [create_run(http) for _ in range(3)] == first
    app.reset()
    assert app.store.ids.seed is None
    assert create_run(http) != first[0]
    app.seed(3)
    assert create_run(http) == first[0]


def test_request_log_records_what_the_client_sent(app, http):
    rid = create_run(http)
    http.post(API + "runs/log-batch", json={
        "run_id": rid, "metrics": [{"key": "a", "value": 1.5, "timestamp": 1, "step": 2}],
        "params": [{"key": "lr", "value": "0.1"}]})
    http.post(API + "runs/log-metric", json={"run_id": rid, "key": "b", "value": 2,
                                             "timestamp": 1})
    http.post(API + "runs/log-metric", json={"run_id": "nope", "key": "c", "value": 3,
                                             "timestamp": 1})
    http.get(API + "runs/get", params={"run_id": rid})
    assert app.log.routes() == ["runs/create", "runs/log-batch", "runs/log-metric",
                                "runs/log-metric", "runs/get"]
    assert app.log.logged_metrics() == [("a", 1.5, 2), ("b", 2.0, 0)]
    assert app.log.logged_metrics(run_id="other") == []
    assert app.log.logged_params(rid) == {"lr": "0.1"}
    failed = app.log.find("runs/log-metric", ok=False)
    assert [(e.status, e.error_code) for e in failed] == [(404, "RESOURCE_DOES_NOT_EXIST")]
    assert app.log[-1].query == f"run_id={rid}" and app.log[-1].method == "GET"
    assert app.log[0].response_json["run"]["info"]["run_id"] == rid


def test_control_requests_are_not_logged_and_recording_can_be_off(app, http):
    http.get(BASE + CONTROL_PREFIX + "/health")
    assert len(app.log) == 0
    app.log.enabled = False
    create_run(http)
    assert len(app.log) == 0 and len(app.store.runs) == 1


def test_fault_fails_the_next_n_calls_then_lets_them_through(app, http):
    rid = create_run(http)
    fault = app.fail("runs/get", times=2, status=429, error_code="REQUEST_LIMIT_EXCEEDED",
                     message="slow down", headers={"Retry-After": "0"})
    statuses = [http.get(API + "runs/get", params={"run_id": rid}) for _ in range(3)]
    assert [a.status_code for a in statuses] == [429, 429, 200]
    assert statuses[0].json() == {"error_code": "REQUEST_LIMIT_EXCEEDED", "message": "slow down"}
    assert statuses[0].headers["Retry-After"] == "0"
    assert fault.hits == 2 and fault.remaining == 0
    assert [e.fault for e in app.log.find("runs/get")] == [True, True, False]


def test_injected_mlflow_error_body_matches_the_real_shape(app, http):
    app.fail("runs/create", status=503)
    body = http.post(API + "runs/create", json={"experiment_id": "0"}).json()
    assert body["error_code"] == "TEMPORARILY_UNAVAILABLE"
    assert set(body) == {"error_code", "message", "sqlstate", "error_class"}
    assert app.store.runs == {}  # a failed call never reaches the store


def test_fault_matching_by_method_glob_and_exact_path(app, http):
    app.fail("experiments/*", times=None, status=500, error_code="INTERNAL_ERROR", method="GET")
    assert http.get(API + "experiments/get", params={"experiment_id": "0"}).status_code == 500
    assert http.post(API + "experiments/create", json={"name": "x"}).status_code == 200
    app.faults.clear()
    app.fail("/ajax-api/2.0/mlflow/runs/create")
    assert create_run(http)  # the /api/ path is not the /ajax-api/ one
    assert http.post(BASE + "/ajax-api/2.0/mlflow/runs/create",
                     json={"experiment_id": "0"}).status_code == 503


def test_route_matches():
    assert route_matches("runs/get", "/api/2.0/mlflow/runs/get")
    assert route_matches("runs/get", "/ajax-api/2.0/mlflow/runs/get")
    assert not route_matches("runs/get", "/api/2.0/mlflow/runs/get-x")
    assert not route_matches("s/get", "/api/2.0/mlflow/runs/get")
    assert route_matches("/health", "/health")


def test_delay_then_succeed(app, http):
    fault = app.delay("runs/create", 0.2)
    start = time.perf_counter()
    create_run(http)
    assert time.perf_counter() - start >= 0.2
    assert (fault.hits, fault.remaining) == (1, 0)
    create_run(http)
    assert fault.hits == 1 and len(app.store.runs) == 2


def test_delay_beyond_the_client_timeout_times_out(app, http):
    app.delay("runs/create", 60)
    start = time.perf_counter()
    with pytest.raises(requests.exceptions.ReadTimeout):
        http.post(API + "runs/create", json={"experiment_id": "0"}, timeout=0.2)
    assert time.perf_counter() - start < 30  # gave up at the client's timeout, not the delay


# ---- over HTTP ---------------------------------------------------------------------------------


def test_http_control_plane_over_a_real_socket():
    server = create_server(seed=1)
    try:
        url, control = server.url, server.url + CONTROL_PREFIX
        assert requests.get(control + "/health").json() == {"status": "ok"}
        rid = requests.post(url + "/api/2.0/mlflow/runs/create",
                            json={"experiment_id": "0"}).json()["run"]["info"]["run_id"]
        assert requests.post(control + "/reset", json={"seed": 1}).status_code == 200
        again = requests.post(url + "/api/2.0/mlflow/runs/create",
                              json={"experiment_id": "0"}).json()["run"]["info"]["run_id"]
        assert again == rid

        state = requests.get(control + "/state").json()
        requests.post(control + "/reset", json={})
        assert requests.get(url + "/api/2.0/mlflow/runs/get",
                            params={"run_id": rid}).status_code == 404
        assert requests.put(control + "/state", json=state).status_code == 200
        assert requests.get(url + "/api/2.0/mlflow/runs/get",
                            params={"run_id": rid}).status_code == 200

        logged = requests.get(control + "/requests").json()["requests"]
        assert [(e["route"], e["status"]) for e in logged][-2:] == [("runs/get", 404),
                                                                    ("runs/get", 200)]
        assert requests.delete(control + "/requests").status_code == 200
        assert requests.get(control + "/requests").json() == {"requests": []}

        added = requests.post(control + "/faults", json={"route": "runs/get", "times": 1,
                                                         "status": 500,
                                                         "error_code": "INTERNAL_ERROR"})
        assert added.json()["fault"]["remaining"] == 1
        assert [f["route"] for f in requests.get(control + "/faults").json()["faults"]] == \
            ["runs/get"]
        failed = requests.get(url + "/api/2.0/mlflow/runs/get", params={"run_id": rid})
        assert (failed.status_code, failed.json()["error_code"]) == (500, "INTERNAL_ERROR")
        assert requests.get(control + "/faults").json() == {"faults": []}

        assert requests.post(control + "/seed", json={"seed": None}).status_code == 200
        assert server.app.store.ids.seed is None
    finally:
        server.stop()


@pytest.mark.parametrize("method,path,body,status", [
    ("POST", "/seed", {}, 400),
    ("POST", "/seed", {"seed": "x"}, 400),
    ("POST", "/faults", {"route": "x", "bogus": 1}, 400),
    ("PUT", "/state", {"format": "nope"}, 400),
    ("GET", "/nothing", None, 404),
])
def test_http_control_errors(http, method, path, body, status):
    answer = http.request(method, BASE + CONTROL_PREFIX + path, json=body)
    assert answer.status_code == status
    assert answer.json()["error_code"] in ("INVALID_PARAMETER_VALUE", "ENDPOINT_NOT_FOUND")
