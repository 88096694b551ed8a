"""The in-process transport answers exactly like loopback HTTP, without a socket."""

from __future__ import annotations

import socket

import pytest
import requests
from urllib3.util.retry import Retry

from fakeflow import transport
from fakeflow.control import ControlledApp
from fakeflow.server import ThreadedServer


@pytest.fixture
def served():
    app = ControlledApp()
    with ThreadedServer(app) as server:
        yield app, server.url


def _unused_url() -> str:
    """A loopback URL where nothing listens: only the in-process route can answer it."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


REQUESTS = [
    ("GET", "/health", None, None),
    ("GET", "/version", None, None),
    ("POST", "/api/2.0/mlflow/experiments/create", None, {"name": "ü ünïcode/é"}),
    ("POST", "/api/2.0/mlflow/experiments/create", None, {"name": "ü ünïcode/é"}),
    ("GET", "/api/2.0/mlflow/experiments/get-by-name", {"experiment_name": "ü ünïcode/é"}, None),
    ("GET", "/api/2.0/mlflow/experiments/get", {"experiment_id": "x y&z"}, None),
    ("POST", "/api/2.0/mlflow/runs/create", None, "not json"),
    ("GET", "/api/2.0/mlflow/runs/create", None, None),
    ("OPTIONS", "/api/2.0/mlflow/runs/create", None, None),
    ("GET", "/api/2.0/mlflow/no/such/route", None, None),
    ("POST", "/api/2.0/mlflow/experiments/search", None, {"max_results": 1}),
]


def _exchange(url: str) -> list[tuple]:
    session = requests.Session()
    seen = []
    for method, path, params, body in REQUESTS:
        kwargs = {"data": body} if isinstance(body, str) else {"json": body}
        answer = session.request(method, url + path, params=params, **kwargs)
        headers = {k: v for k, v in answer.headers.items()
                   if k.lower() not in ("date", "server", "connection")}
        text = answer.text
        seen.append((answer.status_code, answer.reason, headers, text))
    return seen


def test_in_process_answers_are_byte_identical_to_loopback_http(served):
    app, url = served
    over_http = _exchange(url)
    app.reset()
    with transport.route_in_process(url, app):
        in_process = _exchange(url)
    # timestamps differ between the two runs; compare everything else
    for (s1, r1, h1, t1), (s2, r2, h2, t2) in zip(over_http, in_process):
        assert (s1, r1) == (s2, r2)
        assert {k: v for k, v in h1.items() if k != "Content-Length"} == \
            {k: v for k, v in h2.items() if k != "Content-Length"}
        if '"creation_time"' not in t1:
            assert t1 == t2


def test_no_socket_is_used():
    app = ControlledApp()
    url = _unused_url()
    with pytest.raises(requests.ConnectionError):
        requests.get(url + "/health", timeout=2)
    with transport.route_in_process(url, app):
        assert requests.get(url + "/health").text == "OK"
    assert transport.routed_urls() == []


def test_prefix_must_end_at_a_path_boundary():
    app = ControlledApp()
    url = _unused_url()
    with transport.route_in_process(url + "/base", app):
        assert requests.get(url + "/base/health").status_code == 404  # reached the app
        assert app.log[0].path == "/base/health"
        with pytest.raises(requests.ConnectionError):
            requests.get(url + "/basement/health", timeout=2)


def test_mlflow_client_over_in_process_transport():
    mlflow = pytest.importorskip("mlflow")
    app = ControlledApp()
    url = _unused_url()
    with transport.route_in_process(url, app):
        client = mlflow.MlflowClient(tracking_uri=url)
        run = client.create_run("0")
        client.log_metric(run.info.run_id, "m", 0.5, step=3)
        assert client.get_run(run.info.run_id).data.metrics == {"m": 0.5}
    assert app.log.logged_metrics() == [("m", 0.5, 3)]


def _session_with_retries(retry: Retry) -> requests.Session:
    session = requests.Session()
    adapter = requests.adapters.HTTPAdapter(max_retries=retry)
    session.mount("http://", adapter)
    return session


@pytest.mark.parametrize("routed", [False, True], ids=["http", "inprocess"])
def test_the_session_retry_policy_applies_the_same_way(served, routed):
    app, url = served
    retry = Retry(total=2, status_forcelist=[503], allowed_methods=None, backoff_factor=0)
    session = _session_with_retries(retry)
    routing = transport.route_in_process(url, app) if routed else _nothing()
    with routing:
        app.fail("/health", times=2)
        assert session.get(url + "/health").status_code == 200
        app.fail("/health", times=3)
        with pytest.raises(requests.exceptions.RetryError):
            session.get(url + "/health")
        app.faults.clear()
        no_raise = Retry(total=1, status_forcelist=[503], allowed_methods=None,
                         raise_on_status=False)
        app.fail("/health", times=5)
        assert _session_with_retries(no_raise).get(url + "/health").status_code == 503
    assert [e.status for e in app.log.find("/health")] == [503, 503, 200, 503, 503, 503, 503, 503]


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def test_read_timeout_is_retried_then_reported_as_requests_does(served):
    app, url = served
    with transport.route_in_process(url, app):
        app.delay("/health", 1.0, times=1)
        retry = Retry(total=1, read=1, allowed_methods=None, backoff_factor=0)
        assert _session_with_retries(retry).get(url + "/health", timeout=0.1).text == "OK"
        app.delay("/health", 1.0, times=1)
        with pytest.raises(requests.exceptions.ReadTimeout):
            requests.get(url + "/health", timeout=0.1)


def test_body_forms():
    app = ControlledApp()
    session = transport.in_process_session(app, "http://fake.test")
    url = "http://fake.test/api/2.0/mlflow/experiments/create"
    json_type = {"Content-Type": "application/json"}
    assert session.post(url, data=b'{"name": "bytes"}', headers=json_type).status_code == 200
    assert session.post(url, data=iter([b'{"name": ', b'"chunks"}']),
                        headers=json_type).status_code == 200
    assert [e.name for e in app.store.experiments.values()][1:] == ["bytes", "chunks"]


def test_routed_urls_skip_the_environment_proxy_lookup(monkeypatch):
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    app = ControlledApp()
    url = _unused_url()
    other = "http://example.invalid/x"
    with transport.route_in_process(url, app):
        session = requests.Session()
        assert session.merge_environment_settings(url + "/health", {}, None, None, None)[
            "proxies"] == {}
        assert session.merge_environment_settings(other, {}, None, None, None)["proxies"] == {
            "http": "http://127.0.0.1:9"}
        assert session.get(url + "/health").text == "OK"
    assert requests.Session.merge_environment_settings is \
        transport.routing._original_merge_environment_settings


def test_routed_calls_are_safe_while_other_routes_come_and_go():
    import threading

    app = ControlledApp()
    url = _unused_url()
    errors: list[BaseException] = []
    stop = threading.Event()

    def churn() -> None:
        n = 0
        while not stop.is_set():
            other = f"http://127.0.0.1:9/churn{n}"
            transport.install(other, app)
            transport.uninstall(other)
            n += 1

    def call() -> None:
        session = requests.Session()
        try:
            for _ in range(150):
                assert session.get(url + "/health").text == "OK"
        except BaseException as error:  # noqa: BLE001 (reported below)
            errors.append(error)

    with transport.route_in_process(url, app):
        churner = threading.Thread(target=churn)
        churner.start()
        callers = [threading.Thread(target=call) for _ in range(4)]
        for thread in callers:
            thread.start()
        for thread in callers:
            thread.join()
        stop.set()
        churner.join()
    assert errors == []
    assert transport.routed_urls() == []
    assert len(app.log.find("/health")) == 600
