"""The ``oci-aidp`` profile's mapping, in-process: prefix and workspaces, headers, retry tokens,
error shape, authentication, throttling. Clients (MLflow's, Oracle's SDK), the command line,
the plugin and conformance are in test_oci_clients.py."""

from __future__ import annotations

import json
import re
import threading

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.test import Client

from fakeflow.dialects.oci import OciConfig, create_oci_app, workspace_prefix
from fakeflow.dialects.oci.errors import BY_ERROR_CODE

ID_ALPHABET = st.characters(codec="ascii", categories=("L", "N")) | st.sampled_from("_-")
VALID_IDS = st.text(ID_ALPHABET, min_size=1, max_size=80)
#: Header-safe text with at least one character outside the request-id alphabet.
INVALID_IDS = st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1,
                      max_size=40).filter(lambda s: re.search(r"[^A-Za-z0-9_-]", s) is not None)
SEGMENTS = st.text(st.characters(codec="ascii", categories=("L", "N")) | st.sampled_from("._-"),
                   min_size=1, max_size=40)
FAST = settings(max_examples=40, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture])


class Clock:
    """An injectable clock: tests move time instead of waiting."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def make(**config):
    app = create_oci_app(OciConfig(**config))
    return app, Client(app)


def api(prefix: str, route: str) -> str:
    return f"{prefix}/api/2.0/mlflow/{route}"


def create_experiment(client: Client, prefix: str, name: str, **headers) -> str:
    answer = client.post(api(prefix, "experiments/create"), json={"name": name}, headers=headers)
    assert answer.status_code == 200, answer.get_data(as_text=True)
    return answer.json["experiment_id"]


# -- prefix and workspaces ------------------------------------------------------------------------

def test_every_route_family_is_served_under_the_prefix():
    app, client = make()
    p = app.tracking_path()
    exp = create_experiment(client, p, "e")
    run = client.post(api(p, "runs/create"), json={"experiment_id": exp}).json["run"]["info"]
    put = client.put(f"{p}/api/2.0/mlflow-artifacts/artifacts/{exp}/{run['run_id']}/artifacts/a.txt",
                     data=b"hello")
    assert put.status_code == 200
    got = client.get(f"{p}/api/2.0/mlflow-artifacts/artifacts/{exp}/{run['run_id']}/artifacts/a.txt")
    assert got.get_data() == b"hello"
    model = client.post(api(p, "registered-models/create"), json={"name": "m"})
    assert model.status_code == 200 and model.json["registered_model"]["name"] == "m"
    assert client.get(api(p, "registered-models/get"), query_string={"name": "m"}).status_code == 200
    assert client.get(f"{p}/ajax-api/2.0/mlflow/runs/get",
                      query_string={"run_id": run["run_id"]}).status_code == 200
    assert client.get(f"{p}/health").get_data() == b"OK"


@FAST
@given(a=st.tuples(SEGMENTS, SEGMENTS), b=st.tuples(SEGMENTS, SEGMENTS))
def test_each_platform_and_workspace_pair_has_its_own_state(a, b):
    app, client = make()
    pa, pb = workspace_prefix(*a), workspace_prefix(*b)
    create_experiment(client, pa, "only-in-a")
    found = client.get(api(pb, "experiments/get-by-name"),
                       query_string={"experiment_name": "only-in-a"})
    assert found.status_code == (200 if a == b else 404)
    # the plain routes are yet another state
    plain = client.get("/api/2.0/mlflow/experiments/get-by-name",
                       query_string={"experiment_name": "only-in-a"})
    assert plain.status_code == 404 and "error_code" in plain.json
    assert len(app.router) == len({a, b})


def test_workspaces_beyond_the_bound_get_a_clear_error_and_change_nothing():
    app, client = make(max_workspaces=2)
    for key in ("w1", "w2"):
        create_experiment(client, workspace_prefix("p", key), "x")
    third = client.post(api(workspace_prefix("p", "w3"), "experiments/create"), json={"name": "x"})
    assert third.status_code == 400
    assert third.json["code"] == "LimitExceeded" and "at most 2 workspaces" in third.json["message"]
    assert third.headers["opc-request-id"]
    assert len(app.router) == 2
    # the existing ones still answer, and a reset frees every slot
    assert client.get(api(workspace_prefix("p", "w1"), "experiments/get-by-name"),
                      query_string={"experiment_name": "x"}).status_code == 200
    app.reset()
    create_experiment(client, workspace_prefix("p", "w3"), "x")


def test_bad_path_parameters_and_unknown_versions():
    app, client = make()
    bad = client.get(api(workspace_prefix("p*", "w"), "experiments/search"))
    assert bad.status_code == 400 and bad.json == {
        "code": "InvalidParameter", "message": "Invalid aiDataPlatformId: 'p*'"}
    old = client.get(api(workspace_prefix("p", "w", "20200101"), "experiments/search"))
    assert old.status_code == 404 and old.json["code"] == "NotAuthorizedOrNotFound"
    assert len(app.router) == 0  # refused requests make no workspace


def test_plain_routes_can_be_switched_off():
    _, on = make()
    assert on.get("/api/2.0/mlflow/experiments/search?max_results=1").status_code == 200
    app, off = make(plain_routes=False)
    answer = off.get("/api/2.0/mlflow/experiments/search?max_results=1")
    assert answer.status_code == 404 and answer.json["code"] == "NotAuthorizedOrNotFound"
    assert answer.headers["opc-request-id"]
    assert off.get("/_fakeflow/health").json == {"status": "ok"}  # the control plane stays
    assert off.get(api(app.tracking_path(), "experiments/search?max_results=1")).status_code == 200


# -- headers -----------------------------------------------------------------------------------

@FAST
@given(request_id=VALID_IDS, ok=st.booleans())
def test_a_valid_request_id_is_echoed_on_answers_and_errors(request_id, ok):
    app, client = make()
    route = "experiments/search?max_results=1" if ok else "experiments/get?experiment_id=99"
    answer = client.get(api(app.tracking_path(), route), headers={"opc-request-id": request_id})
    assert answer.status_code == (200 if ok else 404)
    assert answer.headers.getlist("opc-request-id") == [request_id]


@FAST
@given(request_id=INVALID_IDS)
def test_an_invalid_request_id_is_refused_and_replaced(request_id):
    app, client = make()
    answer = client.post(api(app.tracking_path(), "experiments/create"), json={"name": "x"},
                         headers={"opc-request-id": request_id})
    assert answer.status_code == 400 and answer.json["code"] == "InvalidParameter"
    assert "opc-request-id" in answer.json["message"]
    assert re.fullmatch(r"[A-Za-z0-9_-]+", answer.headers["opc-request-id"])
    assert len(app.router) == 0  # nothing was done


def test_request_ids_are_generated_unique_when_absent():
    app, client = make()
    ids = {client.get(api(app.tracking_path(), "experiments/search?max_results=1"))
           .headers["opc-request-id"] for _ in range(20)}
    assert len(ids) == 20 and all(re.fullmatch(r"[A-Za-z0-9_-]+", i) for i in ids)


def test_etag_on_single_resources_only_and_it_follows_the_resource():
    app, client = make()
    p = app.tracking_path()
    exp = create_experiment(client, p, "e")
    created = client.post(api(p, "runs/create"), json={"experiment_id": exp})
    run_id = created.json["run"]["info"]["run_id"]
    assert created.headers["etag"]
    first = client.get(api(p, "runs/get"), query_string={"run_id": run_id})
    again = client.get(api(p, "runs/get"), query_string={"run_id": run_id})
    assert first.headers["etag"] == again.headers["etag"]
    client.post(api(p, "runs/set-tag"), json={"run_id": run_id, "key": "k", "value": "v"})
    changed = client.get(api(p, "runs/get"), query_string={"run_id": run_id})
    assert changed.headers["etag"] != first.headers["etag"]
    assert client.get(api(p, "experiments/get"), query_string={"experiment_id": exp}).headers["etag"]
    for listing in (client.post(api(p, "runs/search"), json={"experiment_ids": [exp]}),
                    client.post(api(p, "experiments/create"), json={"name": "f"}),
                    client.get(api(p, "runs/get"), query_string={"run_id": "nope"})):
        assert "etag" not in listing.headers


@FAST
@given(principal=st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1,
                         max_size=50), given_user=st.sampled_from([None, "", "bob"]))
def test_user_principal_is_the_run_user_when_the_body_names_none(principal, given_user):
    app, client = make()
    p = app.tracking_path()
    body = {"experiment_id": "0"}
    if given_user is not None:
        body["user_id"] = given_user
    answer = client.post(api(p, "runs/create"), json=body,
                         headers={"dh-user-principal": principal})
    expected = given_user or principal
    assert answer.json["run"]["info"]["user_id"] == expected
    run_id = answer.json["run"]["info"]["run_id"]
    stored = client.get(api(p, "runs/get"), query_string={"run_id": run_id}).json
    assert stored["run"]["info"]["user_id"] == expected


def test_user_principal_leaves_invalid_bodies_to_mlflow():
    app, client = make()
    answer = client.post(api(app.tracking_path(), "runs/create"), data=b"{not json",
                         content_type="application/json", headers={"dh-user-principal": "al"})
    plain = client.post("/api/2.0/mlflow/runs/create", data=b"{not json",
                        content_type="application/json")
    assert answer.status_code == plain.status_code == 400
    assert answer.json["message"] == plain.json["message"]


# -- retry tokens ----------------------------------------------------------------------------------

def _runs(app) -> int:
    """Runs in the default workspace's experiment 0."""
    answer = Client(app).post(api(app.tracking_path(), "runs/search"),
                              json={"experiment_ids": ["0"]})
    return len(answer.json.get("runs", []))


def test_retry_with_the_same_token_replays_the_first_answer():
    app, client = make()
    p = app.tracking_path()
    send = lambda body, **h: client.post(api(p, "runs/create"), json=body,  # noqa: E731
                                         headers={"opc-retry-token": "tok-1", **h})
    first = send({"experiment_id": "0", "run_name": "r"}, **{"opc-request-id": "one"})
    second = send({"experiment_id": "0", "run_name": "r"}, **{"opc-request-id": "two"})
    assert first.status_code == second.status_code == 200
    assert first.get_data() == second.get_data() and first.headers["etag"] == second.headers["etag"]
    assert (first.headers["opc-request-id"], second.headers["opc-request-id"]) == ("one", "two")
    assert _runs(app) == 1
    conflict = send({"experiment_id": "0", "run_name": "other"})
    assert conflict.status_code == 409 and conflict.json["code"] == "Conflict"
    assert _runs(app) == 1
    # another workspace has its own tokens
    other = client.post(api(workspace_prefix("p", "w"), "runs/create"),
                        json={"experiment_id": "0", "run_name": "other"},
                        headers={"opc-retry-token": "tok-1"})
    assert other.status_code == 200


def test_a_failed_request_frees_its_token_for_the_retry():
    app, client = make()
    p = app.tracking_path()
    app.fail("runs/create", times=1, status=500, error_code="INTERNAL_ERROR")
    body = {"experiment_id": "0", "run_name": "r"}
    headers = {"opc-retry-token": "t"}
    failed = client.post(api(p, "runs/create"), json=body, headers=headers)
    assert failed.status_code == 500 and failed.json["code"] == "InternalServerError"
    assert _runs(app) == 0
    done = client.post(api(p, "runs/create"), json=body, headers=headers)
    replay = client.post(api(p, "runs/create"), json=body, headers=headers)
    assert done.status_code == 200 and replay.get_data() == done.get_data()
    assert _runs(app) == 1


def test_tokens_expire_after_24_hours():
    clock = Clock()
    app, client = make(clock=clock)
    p = app.tracking_path()
    body = {"experiment_id": "0", "run_name": "r"}
    headers = {"opc-retry-token": "t"}
    first = client.post(api(p, "runs/create"), json=body, headers=headers).json
    clock.now += 24 * 3600 - 1
    assert client.post(api(p, "runs/create"), json=body, headers=headers).json == first
    clock.now += 1
    later = client.post(api(p, "runs/create"), json=body, headers=headers).json
    assert later["run"]["info"]["run_id"] != first["run"]["info"]["run_id"]
    assert _runs(app) == 2


@FAST
@given(length=st.integers(0, 100))
def test_token_length_is_1_to_64(length):
    app, client = make()
    answer = client.post(api(app.tracking_path(), "experiments/create"), json={"name": "x"},
                         headers={"opc-retry-token": "k" * length})
    if 1 <= length <= 64:
        assert answer.status_code == 200
    else:
        assert answer.status_code == 400 and answer.json["code"] == "InvalidParameter"
        assert "opc-retry-token" in answer.json["message"]


def test_concurrent_retries_with_one_token_do_the_work_once():
    app, _ = make()
    p = app.tracking_path()
    app.delay("runs/create", 0.2, times=1)  # the first one is slow: the others arrive meanwhile
    answers: list = []
    lock = threading.Lock()

    def send() -> None:
        answer = Client(app).post(api(p, "runs/create"), json={"experiment_id": "0"},
                                  headers={"opc-retry-token": "same"})
        with lock:
            answers.append((answer.status_code, answer.get_data()))

    threads = [threading.Thread(target=send) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(answers) == 8 and len(set(answers)) == 1 and answers[0][0] == 200
    assert _runs(app) == 1


# -- errors, authentication, throttling ------------------------------------------------------------

@FAST
@given(error_code=st.sampled_from(sorted(BY_ERROR_CODE)), message=st.text(max_size=30))
def test_error_codes_map_through_the_one_table(error_code, message):
    app, client = make()
    app.fail("experiments/search", status=418, error_code=error_code, message=message)
    answer = client.get(api(app.tracking_path(), "experiments/search?max_results=1"))
    status, code = BY_ERROR_CODE[error_code]
    assert answer.status_code == status
    assert answer.json == {"code": code, "message": message}
    assert answer.headers["opc-request-id"]


def test_documented_mapping_on_real_mlflow_errors():
    app, client = make()
    p = app.tracking_path()
    create_experiment(client, p, "dup")
    cases = [
        (client.post(api(p, "experiments/create"), json={"name": "dup"}), 409, "Conflict"),
        (client.post(api(p, "experiments/create"), json={}), 400, "InvalidParameter"),
        (client.get(api(p, "runs/get"), query_string={"run_id": "x" * 32}), 404,
         "NotAuthorizedOrNotFound"),
        (client.get(api(p, "runs/create")), 405, "MethodNotAllowed"),
        (client.get(api(p, "no/such/route")), 404, "NotAuthorizedOrNotFound"),
    ]
    for answer, status, code in cases:
        assert (answer.status_code, answer.json["code"]) == (status, code)
        assert set(answer.json) == {"code", "message"} and answer.json["message"]
    # renaming a deleted experiment is an incorrect state (MLflow: 500 INVALID_STATE)
    exp = create_experiment(client, p, "gone")
    client.post(api(p, "experiments/delete"), json={"experiment_id": exp})
    renamed = client.post(api(p, "experiments/update"), json={"experiment_id": exp, "new_name": "n"})
    assert (renamed.status_code, renamed.json["code"]) == (409, "IncorrectState")


def test_mlflow_error_code_can_be_kept_for_mlflow_clients():
    app, client = make(mlflow_error_code=True)
    answer = client.get(api(app.tracking_path(), "experiments/get-by-name"),
                        query_string={"experiment_name": "none"})
    assert answer.json["error_code"] == "RESOURCE_DOES_NOT_EXIST"
    assert answer.json["code"] == "NotAuthorizedOrNotFound"


def test_authentication_when_required():
    app, client = make(require_auth=True)
    p = app.tracking_path()
    refused = client.post(api(p, "experiments/create"), json={"name": "x"},
                          headers={"opc-request-id": "req-1"})
    assert refused.status_code == 401 and refused.json["code"] == "NotAuthenticated"
    assert refused.headers["opc-request-id"] == "req-1"
    assert len(app.router) == 0
    accepted = client.post(api(p, "experiments/create"), json={"name": "x"},
                           headers={"authorization": "Signature anything"})
    assert accepted.status_code == 200
    _, default = make()
    assert default.post(api(p, "experiments/create"), json={"name": "x"}).status_code == 200


def test_throttling_per_workspace_with_retry_after():
    clock = Clock()
    app, client = make(rate_limit=(2, 10.0), clock=clock)
    a, b = app.tracking_path(), workspace_prefix("p", "other")
    search = "experiments/search?max_results=1"
    assert [client.get(api(a, search)).status_code for _ in range(2)] == [200, 200]
    throttled = client.get(api(a, search), headers={"opc-request-id": "x1"})
    assert throttled.status_code == 429 and throttled.json["code"] == "TooManyRequests"
    assert throttled.headers["retry-after"] == "10" and throttled.headers["opc-request-id"] == "x1"
    assert client.get(api(b, search)).status_code == 200  # its own window
    clock.now += 10
    assert client.get(api(a, search)).status_code == 200
    assert any(f["limit"] == 2 for f in client.get("/_fakeflow/faults").json["faults"])


def test_throttle_at_run_time_and_lifted_with_the_faults():
    clock = Clock()
    app, client = make(clock=clock)
    app.throttle(1, per=5)
    search = api(app.tracking_path(), "experiments/search?max_results=1")
    assert [client.get(search).status_code for _ in range(3)] == [200, 429, 429]
    client.delete("/_fakeflow/faults")
    assert client.get(search).status_code == 200


# -- control plane ------------------------------------------------------------------------------

def test_control_plane_sees_prefixed_traffic_and_reset_forgets_workspaces():
    app, client = make()
    p = app.tracking_path()
    create_experiment(client, p, "e")
    logged = client.get("/_fakeflow/requests").json["requests"]
    assert logged[-1]["path"] == api(p, "experiments/create")
    state = json.loads(client.get("/_fakeflow/state").get_data())
    assert "e" in json.dumps(state)  # the snapshot is the default workspace's
    client.post("/_fakeflow/reset", json={})
    assert len(app.router) == 0
    assert client.get(api(p, "experiments/get-by-name"),
                      query_string={"experiment_name": "e"}).status_code == 404


def test_seed_makes_workspace_ids_repeatable():
    def ids() -> list[str]:
        app, client = make()
        app.reset(seed=3)
        return [client.post(api(workspace_prefix("p", w), "runs/create"),
                            json={"experiment_id": "0"}).json["run"]["info"]["run_id"]
                for w in ("a", "b")]

    assert ids() == ids()


@pytest.mark.parametrize("method", ["GET", "PUT"])
def test_retry_token_ignored_on_reads_and_uploads(method):
    app, client = make()
    p = app.tracking_path()
    path = api(p, "experiments/search?max_results=1") if method == "GET" else \
        f"{p}/api/2.0/mlflow-artifacts/artifacts/0/x/a.txt"
    for data in (b"one", b"two"):
        answer = client.open(path, method=method, data=data if method == "PUT" else None,
                             headers={"opc-retry-token": "t"})
        assert answer.status_code == 200


def test_a_replay_carries_the_retrying_requests_own_cors_headers():
    app, client = make()
    path = api(app.tracking_path(), "experiments/create")
    first = client.post(path, json={"name": "x"}, headers={"opc-retry-token": "t"})
    assert "Access-Control-Allow-Origin" not in first.headers
    replay = client.post(path, json={"name": "x"},
                         headers={"opc-retry-token": "t", "Origin": "http://localhost:3000"})
    assert replay.get_data() == first.get_data()
    assert replay.headers["Access-Control-Allow-Origin"] == "http://localhost:3000"


def test_without_control_plane_the_dialect_stays():
    from fakeflow.dialects.oci.options import without_control

    app, _ = make()
    served = Client(without_control(app))
    assert served.get("/_fakeflow/health").status_code == 404
    answer = served.get(api(app.tracking_path(), "experiments/search?max_results=1"),
                        headers={"opc-request-id": "nc"})
    assert answer.status_code == 200 and answer.headers["opc-request-id"] == "nc"
    assert len(app.log) == 0
