"""The ``oci-aidp`` profile through real clients: MLflow's client with ``…/mlops`` as its
tracking URI, Oracle's Python SDK (``oci.base_client.BaseClient.call_api``) over plain HTTP,
``fakeflow serve --profile oci-aidp``, the pytest plugin option, and the conformance suites
pointed at the prefixed server."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import requests

from conformance.suites import all_suites
from fakeflow.dialects.oci import OciConfig, create_oci_app, workspace_prefix
from fakeflow.server import ThreadedServer

pytest_plugins = ("pytester",)

P = workspace_prefix("ocid1.aidataplatform.oc1..fakeflow", "default")


@pytest.fixture
def served():
    """A started server of a fresh profile app; tests pass the config they need."""
    servers: list[ThreadedServer] = []

    def start(**config):
        app = create_oci_app(OciConfig(**config))
        server = ThreadedServer(app, port=0).start()
        servers.append(server)
        return app, server.url

    yield start
    for server in servers:
        server.stop()


# -- MLflow's own client ----------------------------------------------------------------------------

def test_mlflow_client_logs_searches_and_stores_artifacts_under_mlops(served, tmp_path, monkeypatch):
    mlflow = pytest.importorskip("mlflow")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    app, url = served()
    uri = url + app.tracking_path()
    client = mlflow.MlflowClient(uri)
    exp = client.create_experiment("oci-exp")
    run = client.create_run(exp, run_name="r1")
    client.log_param(run.info.run_id, "lr", "0.1")
    client.log_metric(run.info.run_id, "acc", 0.9, step=1)
    client.log_batch(run.info.run_id, metrics=[mlflow.entities.Metric("acc", 0.95, 2, 2)])
    (tmp_path / "model.txt").write_text("weights")
    client.log_artifact(run.info.run_id, str(tmp_path / "model.txt"))
    client.set_terminated(run.info.run_id)
    found = client.search_runs([exp], filter_string="metrics.acc > 0.9 and params.lr = '0.1'")
    assert [r.info.run_id for r in found] == [run.info.run_id]
    assert sorted(m.value for m in client.get_metric_history(run.info.run_id, "acc")) == [0.9, 0.95]
    assert [a.path for a in client.list_artifacts(run.info.run_id)] == ["model.txt"]
    local = client.download_artifacts(run.info.run_id, "model.txt", str(tmp_path / "out"))
    assert Path(local).read_text() == "weights"
    # it all went to the default workspace, not to the plain routes
    assert app.workspace().store is app.store
    plain = requests.get(url + "/api/2.0/mlflow/experiments/get-by-name",
                         params={"experiment_name": "oci-exp"})
    assert plain.status_code == 404


def test_mlflow_set_experiment_needs_mlflow_error_codes(served, monkeypatch):
    """MLflow's client tells "no such experiment" by ``error_code`` alone: with the vendor's
    bare ``{code, message}`` it cannot, so ``mlflow.set_experiment`` of a new name fails; the
    ``mlflow_error_code`` option keeps the code next to the vendor's."""
    mlflow = pytest.importorskip("mlflow")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    strict, strict_url = served()
    keeping, keeping_url = served(mlflow_error_code=True)
    mlflow.set_tracking_uri(strict_url + strict.tracking_path())
    try:
        with pytest.raises(mlflow.exceptions.MlflowException, match="INTERNAL_ERROR"):
            mlflow.set_experiment("new-one")
        mlflow.set_tracking_uri(keeping_url + keeping.tracking_path())
        experiment = mlflow.set_experiment("new-one")
        with mlflow.start_run(experiment_id=experiment.experiment_id):
            mlflow.log_metric("m", 1.0)
        assert len(mlflow.search_runs([experiment.experiment_id], output_format="list")) == 1
    finally:
        mlflow.set_tracking_uri(None)


# -- Oracle's SDK ---------------------------------------------------------------------------------

def _oci_client(url: str):
    oci = pytest.importorskip("oci")
    from oci.base_client import BaseClient

    class SignsNothing(requests.auth.AuthBase):
        """The fake checks no signature: the request goes out as the SDK built it."""

        def __call__(self, request):
            return request

    config = {"user": "ocid1.user.oc1..fakeflow", "tenancy": "ocid1.tenancy.oc1..fakeflow",
              "fingerprint": ":".join(["00"] * 16), "key_file": os.devnull,
              "region": "us-ashburn-1"}
    return oci, BaseClient("aidataplatform", config, SignsNothing(), {}, service_endpoint=url,
                           regional_client=False, base_path="/20260430")


MLOPS = "/aiDataPlatforms/{aiDataPlatformId}/workspaces/{workspaceKey}/mlops/api/2.0/mlflow/"
JSON = {"content-type": "application/json", "accept": "application/json"}


def _call(client, method: str, route: str, workspace: str = "ws1", body=None, query=None,
          headers=None):
    return client.call_api(MLOPS + route, method,
                           path_params={"aiDataPlatformId": "ocid1.aidataplatform.oc1..p1",
                                        "workspaceKey": workspace},
                           query_params=query, header_params={**JSON, **(headers or {})},
                           body=body, response_type="object")


def test_oci_sdk_creates_logs_searches_and_reads_back(served):
    _, url = served()
    oci, client = _oci_client(url)
    exp = _call(client, "POST", "experiments/create", body={"name": "sdk"}).data["experiment_id"]
    created = _call(client, "POST", "runs/create",
                    body={"experiment_id": exp, "run_name": "r", "start_time": 5,
                          "tags": [{"key": "team", "value": "ml"}]},
                    headers={"dh-user-principal": "ocid1.user.oc1..alice",
                             "opc-retry-token": "create-r", "opc-request-id": "sdk-req-1"})
    assert created.status == 200 and created.request_id == "sdk-req-1"
    assert created.headers["etag"]
    info = created.data["run"]["info"]
    assert info["user_id"] == "ocid1.user.oc1..alice" and info["start_time"] == 5
    run_id = info["run_id"]
    again = _call(client, "POST", "runs/create",
                  body={"experiment_id": exp, "run_name": "r", "start_time": 5,
                        "tags": [{"key": "team", "value": "ml"}]},
                  headers={"dh-user-principal": "ocid1.user.oc1..alice",
                           "opc-retry-token": "create-r"})
    assert again.data == created.data
    _call(client, "POST", "runs/log-batch",
          body={"run_id": run_id, "metrics": [{"key": "loss", "value": 0.5, "timestamp": 1,
                                               "step": 0}],
                "params": [{"key": "lr", "value": "0.01"}]})
    _call(client, "POST", "runs/log-inputs",
          body={"run_id": run_id, "datasets": [{"dataset": {
              "name": "d", "digest": "abc", "source_type": "local", "source": "/tmp/d"}}]})
    found = _call(client, "POST", "runs/search",
                  body={"experiment_ids": [exp], "filter": "metrics.loss < 1"}).data["runs"]
    assert [r["info"]["run_id"] for r in found] == [run_id]
    read = _call(client, "GET", "runs/get", query={"run_id": run_id}).data["run"]
    assert read["data"]["params"] == [{"key": "lr", "value": "0.01"}]
    assert read["inputs"]["dataset_inputs"][0]["dataset"]["name"] == "d"
    # another workspace does not see it
    with pytest.raises(oci.exceptions.ServiceError) as raised:
        _call(client, "GET", "runs/get", workspace="ws2", query={"run_id": run_id})
    error = raised.value
    assert (error.status, error.code) == (404, "NotAuthorizedOrNotFound")
    assert run_id in error.message and error.request_id


def test_oci_sdk_service_errors_carry_code_message_status_and_request_id(served):
    _, url = served()
    oci, client = _oci_client(url)
    _call(client, "POST", "experiments/create", body={"name": "twice"})
    cases = [
        (dict(method="POST", route="experiments/create", body={"name": "twice"}), 409, "Conflict",
         "Experiment(name=twice) already exists"),
        (dict(method="POST", route="experiments/create", body={}), 400, "InvalidParameter",
         "Missing value for required parameter 'name'"),
        (dict(method="POST", route="experiments/create", body={"name": "x"},
              headers={"opc-request-id": "not valid!"}), 400, "InvalidParameter",
         "opc-request-id"),
        (dict(method="POST", route="experiments/create", body={"name": "y"},
              headers={"opc-retry-token": "t" * 65}), 400, "InvalidParameter", "opc-retry-token"),
    ]
    for call, status, code, text in cases:
        with pytest.raises(oci.exceptions.ServiceError) as raised:
            _call(client, **call)
        error = raised.value
        assert (error.status, error.code) == (status, code)
        assert text in error.message
        assert error.request_id and error.request_id == error.headers["opc-request-id"]


def test_oci_sdk_sees_401_and_429(served):
    clock = [0.0]
    _, url = served(require_auth=True, rate_limit=(1, 60.0), clock=lambda: clock[0])
    oci, client = _oci_client(url)
    with pytest.raises(oci.exceptions.ServiceError) as raised:
        _call(client, "GET", "experiments/search", query={"max_results": 1})
    assert (raised.value.status, raised.value.code) == (401, "NotAuthenticated")
    authorized = {"authorization": "Signature keyId=\"x\""}
    _call(client, "GET", "experiments/search", query={"max_results": 1}, headers=authorized)
    with pytest.raises(oci.exceptions.ServiceError) as raised:
        _call(client, "GET", "experiments/search", query={"max_results": 1}, headers=authorized)
    assert (raised.value.status, raised.value.code) == (429, "TooManyRequests")
    assert raised.value.headers["retry-after"] == "60"


# -- command line and plugin --------------------------------------------------------------------------

def test_serve_profile_from_the_command_line():
    process = subprocess.Popen(
        [sys.executable, "-m", "fakeflow", "serve", "--port", "0", "--profile", "oci-aidp",
         "--oci-no-plain-routes", "--oci-rate-limit", "100/1"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        first = process.stdout.readline()
        note = process.stdout.readline()
        url = first.strip().rsplit(" ", 1)[-1]
        assert url.startswith("http://127.0.0.1:")
        assert f"MLflow tracking URI {url}{P} " in note
        answer = requests.post(url + P + "/api/2.0/mlflow/experiments/create", json={"name": "x"},
                               headers={"opc-request-id": "cli-1"}, timeout=10)
        assert answer.status_code == 200 and answer.headers["opc-request-id"] == "cli-1"
        plain = requests.get(url + "/api/2.0/mlflow/experiments/search?max_results=1", timeout=10)
        assert plain.status_code == 404 and plain.json()["code"] == "NotAuthorizedOrNotFound"
        faults = requests.get(url + "/_fakeflow/faults", timeout=10).json()["faults"]
        assert faults and faults[0]["limit"] == 100
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_serve_rejects_a_bad_rate_limit():
    done = subprocess.run([sys.executable, "-m", "fakeflow", "serve", "--profile", "oci-aidp",
                           "--oci-rate-limit", "0/1"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "rate limit" in done.stderr


PLUGIN_SUITE = f'''
import mlflow, requests

def test_profile(fakeflow):
    assert fakeflow.url.endswith("{P}")
    run = fakeflow.client.create_run("0")
    fakeflow.client.log_metric(run.info.run_id, "m", 1.0)
    assert fakeflow.store is fakeflow.app.workspace().store
    answer = fakeflow.rest.request("GET", "runs/get", params={{"run_id": run.info.run_id}})
    assert answer.headers["opc-request-id"] and answer.headers["etag"]

def test_faults_answer_in_the_vendor_shape(fakeflow):
    fakeflow.fail("experiments/search", status=503, error_code="TEMPORARILY_UNAVAILABLE")
    answer = fakeflow.rest.request("GET", "experiments/search", params={{"max_results": 1}})
    assert answer.status_code == 503 and answer.json()["code"] == "ServiceUnavailable"
    fakeflow.app.throttle(1, per=60)
    search = lambda: fakeflow.rest.request("GET", "experiments/search",
                                           params={{"max_results": 1}}).status_code
    assert (search(), search()) == (200, 429)

def test_clean_again(fakeflow):
    assert fakeflow.client.search_runs(["0"]) == []
'''


@pytest.mark.parametrize("transport", ["inprocess", "http"])
def test_plugin_profile_option(pytester, monkeypatch, transport):
    pytest.importorskip("mlflow")
    for name in ("FAKEFLOW_TARGET", "MLFLOW_TRACKING_URI", "FAKEFLOW_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    pytester.makepyfile(test_profile_suite=PLUGIN_SUITE)
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider", "-q",
                                          "--fakeflow-profile=oci-aidp",
                                          f"--fakeflow-transport={transport}")
    result.assert_outcomes(passed=3)


# -- conformance --------------------------------------------------------------------------------------

@pytest.mark.parametrize("suite", sorted(all_suites()))
def test_conformance_passes_against_the_prefixed_target(suite):
    from conformance import WsgiTarget, assert_conforms

    target = WsgiTarget(create_oci_app(), name="oci", prefix=P, error_shape="oci")
    assert_conforms(target, suites=[suite], max_examples=4)


def test_differential_prefixed_vs_plain_differs_only_in_the_error_shape():
    from conformance import WsgiTarget, check
    from fakeflow import create_app

    raw = check(WsgiTarget(create_oci_app(), name="oci", prefix=P),
                against=WsgiTarget(create_app(), name="plain"),
                suites=["experiments", "errors"], explore=False, shrink=False)
    assert raw.findings, "the vendor error shape must show without --error-shape"
    for finding in raw.findings:
        assert finding.operation and finding.json_path.startswith((".status", ".body"))
        expected_status = str(finding.expected).split(" ")[0]
        assert finding.json_path != ".status" or int(expected_status) >= 400, finding
    read_back = check(WsgiTarget(create_oci_app(), name="oci", prefix=P, error_shape="oci"),
                      against=WsgiTarget(create_app(), name="plain"),
                      suites=["experiments", "errors"], explore=False, shrink=False)
    assert read_back.passed, [f.detail for f in read_back.findings]


def test_conformance_cli_prefix_and_error_shape(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "conformance", "--target", "wsgi:fakeflow.dialects.oci:create_oci_app",
         "--prefix", P, "--error-shape", "oci", "--cases-only",
         "--no-shrink", "--suite", "runs", "--suite", "experiments", "--quiet"],
        capture_output=True, text=True, timeout=300,
        env={**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true"})
    assert done.returncode == 0, done.stdout + done.stderr
    assert "PASS" in done.stdout


def test_threads_share_one_workspace_safely():
    app = create_oci_app()
    from werkzeug.test import Client

    errors: list[object] = []

    def work(n: int) -> None:
        client = Client(app)
        for i in range(20):
            answer = client.post(P + "/api/2.0/mlflow/runs/create",
                                 json={"experiment_id": "0", "run_name": f"{n}-{i}"},
                                 headers={"opc-retry-token": f"{n}-{i}"})
            if answer.status_code != 200:
                errors.append(answer.get_data())

    threads = [threading.Thread(target=work, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    runs = Client(app).post(P + "/api/2.0/mlflow/runs/search",
                            json={"experiment_ids": ["0"], "max_results": 1000}).json["runs"]
    assert len(runs) == 120 and len(app.workspace().tokens) == 120
