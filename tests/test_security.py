"""MLflow's server security layer in fakeflow: foreign Host headers (DNS rebinding) and
cross-origin writes are refused, on the MLflow API and on the control plane alike.

The answers themselves are checked against real MLflow 3.17.2 in
tests/differential/catalogue/security.py; these tests pin fakeflow's own guarantees
(nothing changes on a refusal, configuration, the control plane, the CLI, in-process use).
"""

from __future__ import annotations

import io
import socket
import subprocess
import sys
from typing import Any, Iterator

import pytest
import requests
from hypothesis import given, settings
from hypothesis import strategies as st

from fakeflow.control import CONTROL_PREFIX, ControlledApp
from fakeflow.server import ThreadedServer
from fakeflow.transport import in_process_session
from fakeflow.web.app import create_app
from fakeflow.web.security import ENV_ALLOWED_HOSTS, ENV_CORS_ALLOWED_ORIGINS, ENV_DISABLE, \
    ENV_X_FRAME_OPTIONS

INVALID_HOST = "Invalid Host header - possible DNS rebinding attack detected"
BLOCKED = "Cross-origin request blocked"
API = "/api/2.0/mlflow/"
ENV_VARS = (ENV_ALLOWED_HOSTS, ENV_CORS_ALLOWED_ORIGINS, ENV_DISABLE, ENV_X_FRAME_OPTIONS)


@pytest.fixture(autouse=True)
def _no_mlflow_security_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ENV_VARS:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def app() -> ControlledApp:
    return ControlledApp()


@pytest.fixture
def server(app: ControlledApp) -> Iterator[ThreadedServer]:
    with ThreadedServer(app) as running:
        yield running


def _names(app: ControlledApp) -> set[str]:
    return set(app.store.experiment_names)


def _refused_host(answer: requests.Response) -> bool:
    return (answer.status_code, answer.headers["Content-Type"], answer.text) == \
        (403, "text/plain", INVALID_HOST)


def _refused_origin(answer: requests.Response) -> bool:
    return (answer.status_code, answer.headers["Content-Type"], answer.text) == \
        (403, "text/plain", BLOCKED)


# ---- Host -----------------------------------------------------------------------------------

@pytest.mark.parametrize("host", ["evil.example", "evil.example:{port}", "LOCALHOST:{port}", "",
                                  "127.0.0.2:{port}", "172.32.0.1", "localhost.evil.example"])
def test_foreign_hosts_are_refused_and_change_nothing(app, server, host):
    host = host.format(port=server.port)
    before = _names(app)
    created = requests.post(server.url + API + "experiments/create", json={"name": "rebind"},
                            headers={"Host": host}, timeout=5)
    assert _refused_host(created)
    assert _names(app) == before
    read = requests.get(server.url + API + "experiments/get", params={"experiment_id": "0"},
                        headers={"Host": host}, timeout=5)
    assert _refused_host(read)
    assert len(app.log) == 0  # a refused request never reaches the fake


@pytest.mark.parametrize("host", ["localhost:{port}", "localhost", "127.0.0.1", "[::1]:{port}",
                                  "[::1]", "0.0.0.0:{port}", "10.0.0.5", "192.168.1.2:{port}",
                                  "172.20.0.1"])
def test_loopback_and_private_hosts_are_served(server, host):
    answer = requests.get(server.url + API + "experiments/get", params={"experiment_id": "0"},
                          headers={"Host": host.format(port=server.port)}, timeout=5)
    assert answer.status_code == 200 and answer.headers["X-Content-Type-Options"] == "nosniff"


@settings(max_examples=40, deadline=None)
@given(name=st.from_regex(r"[a-z][a-z0-9-]{0,20}(\.[a-z][a-z0-9-]{0,10}){1,3}", fullmatch=True),
       port=st.integers(1, 65535) | st.none())
def test_any_dns_name_is_refused_by_default(name: str, port: int | None) -> None:
    app = create_app()
    session = in_process_session(app, "http://fake.test")
    host = name if port is None else f"{name}:{port}"
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": "/api/2.0/mlflow/experiments/search",
               "HTTP_HOST": host}
    assert app.security.refusal(environ, True) is not None
    assert session.get("http://fake.test/health").status_code == 200


def test_health_and_version_answer_any_host(server):
    for path in ("/health", "/version"):
        answer = requests.get(server.url + path, headers={"Host": "evil.example"}, timeout=5)
        assert answer.status_code == 200
    assert _refused_host(requests.get(server.url + "/health/",
                                      headers={"Host": "evil.example"}, timeout=5))


def _raw(port: int, request: bytes) -> bytes:
    """One raw exchange: the answer's head and its Content-Length bytes of body."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(request)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        length = next((int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                       if line.lower().startswith(b"content-length:")), 0)
        while len(body) < length and (chunk := sock.recv(65536)):
            body += chunk
    return head + b"\r\n\r\n" + body


def test_requests_without_a_host_header(server):
    path = b"/api/2.0/mlflow/experiments/get?experiment_id=0"
    http10 = _raw(server.port, b"GET " + path + b" HTTP/1.0\r\n\r\n")
    assert http10.startswith(b"HTTP/1.1 403 ") and http10.endswith(INVALID_HOST.encode())
    http11 = _raw(server.port, b"GET " + path + b" HTTP/1.1\r\nConnection: close\r\n\r\n")
    assert http11.startswith(b"HTTP/1.1 400 ")


# ---- Origin -----------------------------------------------------------------------------------

@pytest.mark.parametrize("origin", ["http://evil.example", "null", "https://evil.example",
                                    "http://127.0.0.1.evil.example"])
def test_cross_origin_writes_are_refused_and_change_nothing(app, server, origin):
    before = _names(app)
    for prefix in ("/api/2.0/mlflow/", "/ajax-api/2.0/mlflow/"):
        answer = requests.post(server.url + prefix + "experiments/create",
                               json={"name": "csrf"}, headers={"Origin": origin}, timeout=5)
        assert _refused_origin(answer)
        assert answer.headers["Access-Control-Allow-Credentials"] == "true"
        assert "Access-Control-Allow-Origin" not in answer.headers
    assert _names(app) == before


def test_same_machine_origins_may_write_and_read(server):
    for origin in ("http://localhost:3000", f"http://127.0.0.1:{server.port}",
                   "http://[::1]:8080"):
        answer = requests.post(server.url + API + "experiments/create",
                               json={"name": origin}, headers={"Origin": origin}, timeout=5)
        assert answer.status_code == 200
        assert answer.headers["Access-Control-Allow-Origin"] == origin
    read = requests.get(server.url + API + "experiments/search", params={"max_results": 5},
                        headers={"Origin": "http://evil.example"}, timeout=5)
    assert read.status_code == 200 and "Access-Control-Allow-Origin" not in read.headers


def test_preflight(server):
    url = server.url + API + "experiments/create"
    ok = requests.options(url, headers={"Origin": "http://localhost:3000",
                                        "Access-Control-Request-Method": "POST",
                                        "Access-Control-Request-Headers": "content-type"},
                          timeout=5)
    assert (ok.status_code, ok.text) == (200, "OK")
    assert ok.headers["Access-Control-Allow-Origin"] == "http://localhost:3000"
    assert ok.headers["Access-Control-Allow-Headers"] == "content-type"
    bad = requests.options(url, headers={"Origin": "http://evil.example",
                                         "Access-Control-Request-Method": "POST"}, timeout=5)
    assert (bad.status_code, bad.text) == (400, "Disallowed CORS origin")
    assert "Access-Control-Allow-Origin" not in bad.headers


# ---- the control plane ------------------------------------------------------------------------

def test_control_plane_refuses_foreign_hosts(app, server):
    control = server.url + CONTROL_PREFIX
    evil = {"Host": "evil.example"}
    assert _refused_host(requests.get(control + "/state", headers=evil, timeout=5))
    assert _refused_host(requests.get(control + "/requests", headers=evil, timeout=5))
    assert _refused_host(requests.post(control + "/faults", json={"route": "runs/get"},
                                       headers=evil, timeout=5))
    assert _refused_host(requests.post(control + "/reset", json={}, headers=evil, timeout=5))
    assert app.faults.pending() == []


def test_control_plane_refuses_cross_origin_writes(app, server):
    control = server.url + CONTROL_PREFIX
    requests.post(server.url + API + "experiments/create", json={"name": "kept"}, timeout=5)
    evil = {"Origin": "http://evil.example"}
    assert _refused_origin(requests.post(control + "/faults", json={"route": "runs/get"},
                                         headers=evil, timeout=5))
    assert _refused_origin(requests.post(control + "/reset", json={}, headers=evil, timeout=5))
    assert _refused_origin(requests.put(control + "/state", json={}, headers=evil, timeout=5))
    assert _refused_origin(requests.delete(control + "/requests", headers=evil, timeout=5))
    assert app.faults.pending() == [] and "kept" in _names(app) and len(app.log) == 1
    local = requests.post(control + "/faults", json={"route": "runs/get"},
                          headers={"Origin": "http://localhost:3000"}, timeout=5)
    assert local.status_code == 200


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded",
                                          "multipart/form-data; boundary=x", None])
def test_control_plane_writes_need_a_json_content_type(app, server, content_type):
    control = server.url + CONTROL_PREFIX
    requests.post(server.url + API + "experiments/create", json={"name": "kept"}, timeout=5)
    state = requests.get(control + "/state", timeout=5).json()
    headers = {"Content-Type": content_type} if content_type else {}
    for method, sub, body in [("POST", "/faults", '{"route": "runs/get"}'),
                              ("POST", "/reset", "{}"), ("POST", "/seed", '{"seed": 1}'),
                              ("PUT", "/state", '{"format": "fakeflow-snapshot"}')]:
        answer = requests.request(method, control + sub, data=body.encode(), headers=headers,
                                  timeout=5)
        assert answer.status_code == 415, (method, sub, answer.text)
        assert answer.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    assert app.faults.pending() == [] and app.store.ids.seed is None
    assert requests.get(control + "/state", timeout=5).json() == state


def test_control_plane_bodyless_writes_and_json_writes_still_work(app, server):
    control = server.url + CONTROL_PREFIX
    assert requests.post(control + "/reset", timeout=5).status_code == 200
    assert requests.post(control + "/faults", json={"route": "runs/get"},
                         timeout=5).status_code == 200
    assert requests.delete(control + "/faults", timeout=5).status_code == 200
    assert app.faults.pending() == []


# ---- configuration ----------------------------------------------------------------------------

def _status(app: Any, host: str, method: str = "GET", origin: str | None = None) -> int:
    captured: list[str] = []
    environ = {"REQUEST_METHOD": method, "PATH_INFO": "/api/2.0/mlflow/experiments/search",
               "QUERY_STRING": "max_results=1", "HTTP_HOST": host, "wsgi.input": None,
               "SERVER_NAME": "x", "SERVER_PORT": "80", "wsgi.url_scheme": "http"}
    if origin is not None:
        environ["HTTP_ORIGIN"] = origin
    if method == "POST":
        body = b'{"max_results": 1}'
        environ.update({"wsgi.input": io.BytesIO(body), "CONTENT_LENGTH": str(len(body)),
                        "CONTENT_TYPE": "application/json"})
    app(environ, lambda status, headers, exc_info=None: captured.append(status))
    return int(captured[0].split()[0])


def test_allowed_hosts_argument_replaces_the_defaults(monkeypatch):
    app = create_app(allowed_hosts="mlflow.example.com, *.corp.example")
    assert _status(app, "mlflow.example.com") == 200
    assert _status(app, "ci.corp.example") == 200
    assert _status(app, "localhost") == 403
    monkeypatch.setenv(ENV_ALLOWED_HOSTS, "from-env.example")
    assert _status(create_app(), "from-env.example") == 200
    assert _status(create_app(), "localhost") == 403
    assert _status(create_app(allowed_hosts=["arg.example"]), "from-env.example") == 403
    assert _status(create_app(allowed_hosts="*"), "anything.example") == 200


def test_cors_allowed_origins(monkeypatch):
    app = create_app(cors_allowed_origins="https://app.example")
    assert _status(app, "localhost", "POST", "https://app.example") == 200
    assert _status(app, "localhost", "POST", "https://other.example") == 403
    monkeypatch.setenv(ENV_CORS_ALLOWED_ORIGINS, "https://*.corp.example")
    assert _status(create_app(), "localhost", "POST", "https://ui.corp.example") == 200
    assert _status(create_app(), "localhost", "POST", "https://app.example") == 403
    assert _status(create_app(cors_allowed_origins="*"), "localhost", "POST", "null") == 200


def test_disabling_the_security_layer_and_frame_options(monkeypatch):
    with ThreadedServer(create_app()) as server:
        framed = requests.get(server.url + "/health", timeout=5)
        assert framed.headers["X-Frame-Options"] == "SAMEORIGIN"
    monkeypatch.setenv(ENV_X_FRAME_OPTIONS, "deny")
    with ThreadedServer(create_app()) as server:
        assert requests.get(server.url + "/health", timeout=5).headers["X-Frame-Options"] == "DENY"
    monkeypatch.setenv(ENV_X_FRAME_OPTIONS, "NONE")
    with ThreadedServer(create_app()) as server:
        assert "X-Frame-Options" not in requests.get(server.url + "/health", timeout=5).headers
    monkeypatch.setenv(ENV_DISABLE, "true")
    app = create_app()
    assert _status(app, "evil.example", "POST", "http://evil.example") == 200
    with ThreadedServer(app) as server:
        answer = requests.get(server.url + "/health", headers={"Host": "evil.example"}, timeout=5)
        assert "X-Content-Type-Options" not in answer.headers and "Vary" not in answer.headers


def test_bad_configuration_is_refused():
    with pytest.raises(TypeError):
        create_app(allowed_hosts=[1])


def test_cli_passes_allowed_hosts_and_origins_through():
    process = subprocess.Popen(
        [sys.executable, "-m", "fakeflow", "serve", "--port", "0",
         "--allowed-hosts", "mlflow.example.com", "--cors-allowed-origins", "https://ui.example"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = ""
        for _ in range(5):  # the "listening on URL" line
            line = process.stdout.readline()
            if "http://" in line or not line:
                break
        url = line.strip().rsplit(" ", 1)[-1]
        assert url.startswith("http://127.0.0.1:"), (line, process.stderr.read()
                                                     if process.poll() is not None else "")
        ok = requests.post(url + API + "experiments/create", json={"name": "cli"},
                           headers={"Host": "mlflow.example.com", "Origin": "https://ui.example"},
                           timeout=5)
        assert ok.status_code == 200, ok.text
        assert _refused_host(requests.get(url + CONTROL_PREFIX + "/state", timeout=5))
        assert _refused_origin(requests.post(
            url + API + "experiments/create", json={"name": "x"},
            headers={"Host": "mlflow.example.com", "Origin": "https://other.example"}, timeout=5))
    finally:
        process.terminate()
        process.wait(timeout=10)


# ---- clients that must keep working -----------------------------------------------------------

def test_in_process_transport_serves_any_base_url():
    app = ControlledApp()
    session = in_process_session(app, "http://fake.test")
    assert session.post("http://fake.test" + API + "experiments/create",
                        json={"name": "in-process"}).status_code == 200
    assert session.post("http://fake.test" + CONTROL_PREFIX + "/reset",
                        json={}).status_code == 200
    assert session.post("http://fake.test" + API + "experiments/create", json={"name": "x"},
                        headers={"Origin": "http://evil.example"}).status_code == 403


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_the_mlflow_client_works_by_ip_and_by_name(server, host):
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=f"http://{host}:{server.port}")
    experiment_id = client.create_experiment(f"client-{host}")
    run = client.create_run(experiment_id)
    client.log_metric(run.info.run_id, "m", 1.0)
    assert client.get_run(run.info.run_id).data.metrics == {"m": 1.0}
