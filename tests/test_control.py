"""The control plane: reset, seed, snapshots, request log and faults, in Python and over HTTP."""

from __future__ import annotations

import json
import time

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

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


def test_request_log_keeps_no_copy_of_artifact_bodies(app, http):
    """Uploads and downloads stream through a recording fake; the log notes the call only."""
    content = b"\x00binary" * 1000
    url = BASE + "/api/2.0/mlflow-artifacts/artifacts/0/r1/artifacts/blob.bin"
    put = http.put(url, data=content, headers={"Content-Type": "application/octet-stream"})
    assert put.status_code == 200, put.text
    assert http.get(url).content == content
    upload, download = app.log.find("/api/2.0/mlflow-artifacts/artifacts/*")
    assert (upload.method, upload.status, upload.body) == ("PUT", 200, b"")
    assert (download.method, download.status, download.response_body) == ("GET", 200, b"")


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


# ---- malformed control bodies change nothing (issue 8, items 3 and 4) -------------------------

BAD_FAULTS = [
    {"route": 1}, {"route": ""}, {"route": None}, {"route": ["runs/get"]},
    {"route": "runs/get", "times": "a"}, {"route": "runs/get", "times": 0},
    {"route": "runs/get", "times": -1}, {"route": "runs/get", "times": 1.5},
    {"route": "runs/get", "times": True},
    {"route": "runs/get", "method": 5}, {"route": "runs/get", "method": "GE T"},
    {"route": "runs/get", "status": "503"}, {"route": "runs/get", "status": 99},
    {"route": "runs/get", "status": 600}, {"route": "runs/get", "status": False},
    {"route": "runs/get", "delay": "1"}, {"route": "runs/get", "delay": -1},
    {"route": "runs/get", "delay": 1e309}, {"route": "runs/get", "error_code": 5},
    {"route": "runs/get", "message": None}, {"route": "runs/get", "headers": []},
    {"route": "runs/get", "headers": {"X": 1}},
    {"route": "runs/get", "headers": {"X": "a\r\nSet-Cookie: x=1"}},
    {"route": "runs/get", "headers": {"Bad Name": "v"}},
    {"route": "runs/get", "headers": {"Content-Length": "0"}},
    ["runs/get"], "runs/get", 5,
]


@pytest.mark.parametrize("body", BAD_FAULTS, ids=[repr(b)[:40] for b in BAD_FAULTS])
def test_a_malformed_fault_is_refused_and_never_stored(app, http, body):
    answer = http.post(BASE + CONTROL_PREFIX + "/faults", data=json.dumps(body),
                       headers={"Content-Type": "application/json"})  # Infinity included
    assert answer.status_code == 400, answer.text
    assert answer.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    assert app.faults.pending() == []
    assert http.get(BASE + "/health").status_code == 200
    assert http.get(API + "experiments/get", params={"experiment_id": "0"}).status_code == 200


@pytest.mark.parametrize("call", [
    lambda app: app.fail(1),
    lambda app: app.fail("runs/get", times="a"),
    lambda app: app.fail("runs/get", method=5),
    lambda app: app.fail("runs/get", status=1000),
    lambda app: app.fail("runs/get", headers={"X": "a\nb"}),
    lambda app: app.delay("runs/get", "1"),
    lambda app: app.delay("runs/get", -0.5),
    lambda app: app.delay("runs/get", 1, times=0),
])
def test_the_python_api_validates_faults_the_same_way(app, http, call):
    with pytest.raises(ValueError):
        call(app)
    assert app.faults.pending() == []
    assert http.get(BASE + "/health").status_code == 200


def test_method_names_are_matched_whatever_their_case(app, http):
    app.fail("experiments/get", method="get", status=500, error_code="INTERNAL_ERROR")
    assert http.get(API + "experiments/get", params={"experiment_id": "0"}).status_code == 500


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.dictionaries(
    st.sampled_from(["route", "times", "status", "error_code", "message", "delay", "method",
                     "headers"]),
    st.recursive(st.none() | st.booleans() | st.integers(-5, 700) | st.floats(-2, 2)
                 | st.text(max_size=8), lambda inner: st.lists(inner, max_size=2)
                 | st.dictionaries(st.text(max_size=5), inner, max_size=2), max_leaves=4)))
def test_any_fault_body_is_either_stored_and_working_or_refused(body):
    app = ControlledApp()
    http = in_process_session(app, BASE)
    if not isinstance(body.get("delay"), (int, float)) or body.get("delay", 0) > 0:
        body.setdefault("delay", 0)  # keep a valid delay short: the answers come at once
        if isinstance(body["delay"], (int, float)) and not isinstance(body["delay"], bool):
            body["delay"] = min(body["delay"], 0)
    answer = http.post(BASE + CONTROL_PREFIX + "/faults", json=body)
    if answer.status_code == 400:
        assert app.faults.pending() == []
    else:
        assert answer.status_code == 200
        assert len(app.faults.pending()) == 1
    for path in ("/health", "/api/2.0/mlflow/experiments/get?experiment_id=0"):
        reply = http.get(BASE + path, timeout=5)
        assert 100 <= reply.status_code <= 599  # an answer, whatever the fault says


DEEP = "[" * 100_000 + "]" * 100_000


@pytest.mark.parametrize("method,path", [("POST", "/faults"), ("POST", "/reset"),
                                         ("POST", "/seed"), ("PUT", "/state"),
                                         ("POST", "/state")])
def test_deeply_nested_control_bodies_get_400(app, http, method, path):
    http.post(API + "experiments/create", json={"name": "kept"})
    answer = http.request(method, BASE + CONTROL_PREFIX + path, data=DEEP,
                          headers={"Content-Type": "application/json"})
    assert answer.status_code == 400
    assert answer.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    assert "kept" in app.store.experiment_names and app.faults.pending() == []


def test_deeply_nested_control_bodies_over_a_socket():
    server = create_server()
    try:
        answer = requests.post(server.url + CONTROL_PREFIX + "/faults", data=DEEP,
                               headers={"Content-Type": "application/json"}, timeout=10)
        assert answer.status_code == 400
        assert requests.get(server.url + "/health", timeout=5).status_code == 200
    finally:
        server.stop()
