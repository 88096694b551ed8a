"""Model-registry webhooks against real MLflow 3.17.2.

* CRUD and validation: Hypothesis draws sequences of create / update / get / list / delete
  requests (valid and invalid names, URLs, events, statuses, types, pages) and both servers must
  answer alike once ids and clocks are masked. The session reference server runs with MLflow's
  defaults (https only, no private addresses), so no request here ever makes it POST anywhere:
  only public IP literals are accepted, and ``test`` is only asked of missing webhooks.
* Deliveries: a real server of our own with http and private addresses allowed, one local
  receiver per server; the same registry calls (models, versions, tags, aliases, prompts, and
  refused calls) must deliver the same payloads and headers, signed with the secret.
* ``test_webhook`` results (receiver status and body, a closed port) against both.
* fakeflow only: the delivery log (control plane and fixture), the loopback-only rule, the
  subscriber cache, snapshots.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.server
import json
import re
import socket
import threading
import time
from contextlib import contextmanager
from typing import Any, Iterator

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fakeflow
from fakeflow.server import ThreadedServer

API = "/api/2.0/mlflow/webhooks"
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
ENV_DELIVERY = {"MLFLOW_WEBHOOK_ALLOWED_SCHEMES": "http,https",
                "MLFLOW_WEBHOOK_ALLOW_PRIVATE_IPS": "true",
                "MLFLOW_WEBHOOK_REQUEST_MAX_RETRIES": "0"}
REGISTRY_EVENTS = [
    ("REGISTERED_MODEL", "CREATED"), ("MODEL_VERSION", "CREATED"),
    ("MODEL_VERSION_TAG", "SET"), ("MODEL_VERSION_TAG", "DELETED"),
    ("MODEL_VERSION_ALIAS", "CREATED"), ("MODEL_VERSION_ALIAS", "DELETED"),
    ("PROMPT", "CREATED"), ("PROMPT_VERSION", "CREATED"), ("PROMPT_TAG", "SET"),
    ("PROMPT_TAG", "DELETED"), ("PROMPT_VERSION_TAG", "SET"), ("PROMPT_VERSION_TAG", "DELETED"),
    ("PROMPT_ALIAS", "CREATED"), ("PROMPT_ALIAS", "DELETED"),
]


def _events(*pairs: tuple[str, str]) -> list[dict[str, str]]:
    return [{"entity": e, "action": a} for e, a in pairs]


# ---- answers, masked -----------------------------------------------------------------------------

class Masker:
    """Webhook ids by order of first appearance; clocks dropped."""

    def __init__(self) -> None:
        self.ids: dict[str, str] = {}

    def id(self, value: str) -> str:
        return self.ids.setdefault(value, f"<id{len(self.ids)}>")

    def text(self, text: str) -> str:
        return UUID.sub(lambda m: self.id(m.group(0)), text)

    def answer(self, response: requests.Response) -> tuple[int, Any]:
        try:
            body = response.json()
        except ValueError:
            return response.status_code, response.text
        return response.status_code, self._walk(body)

    def _walk(self, value: Any) -> Any:
        if isinstance(value, dict):
            return {k: self._walk(v) for k, v in value.items()
                    if k not in ("creation_timestamp", "last_updated_timestamp")}
        if isinstance(value, list):
            return [self._walk(v) for v in value]
        if isinstance(value, str):
            return self.text(value)
        return value


def _clear(base: str) -> None:
    while True:
        listed = requests.get(base + API, params={"max_results": 1000}, timeout=30).json()
        if not listed.get("webhooks"):
            return
        for webhook in listed["webhooks"]:
            requests.delete(f"{base}{API}/{webhook['webhook_id']}", timeout=30)


@pytest.fixture(autouse=True)
def _client_settings_of_this_module_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """The client scripts name their servers; settings left by other tests must not steer them."""
    for name in ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI", "MLFLOW_EXPERIMENT_ID",
                 "MLFLOW_EXPERIMENT_NAME", "MLFLOW_RUN_ID"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def no_webhooks_left(reference_server: Any, fakeflow_server: Any) -> Iterator[None]:
    """The shared reference server must not keep webhooks to public addresses: a later
    registry write there would make it POST to them."""
    yield
    _clear(reference_server.url)
    _clear(fakeflow_server.url)


# ---- request strategies ----------------------------------------------------------------------

NAMES = st.one_of(
    st.from_regex(r"\A[a-zA-Z0-9]([a-zA-Z0-9._-]{0,8}[a-zA-Z0-9])?\Z"),
    st.sampled_from(["a" * 63, "a" * 64, "-a", "a-", "a b", "a/b", "é", "A.B_C-D", "", "1"]),
    st.integers(0, 3),
)
URLS = st.one_of(
    st.sampled_from([
        "https://8.8.8.8/hook", "https://1.1.1.1:8443/p?q=1", "HTTPS://9.9.9.9/x",
        "https://[2606:4700::1111]/v6", "https://[::ffff:8.8.8.8]/mapped", "http://8.8.8.8/x",
        "ftp://8.8.8.8/x", "https://127.0.0.1/x", "https://127.1/x", "https://10.1.2.3/x",
        "https://192.168.0.1/x", "https://169.254.169.254/latest", "https://[::1]/x",
        "https://[::ffff:127.0.0.1]/x", "https://0.0.0.0/x", "https://localhost/x",
        "https://localhost:5000/x", "https://[::1/x", "https:///x", "   ", "", "no-scheme",
        "https://100.64.0.1/cgnat", "https://8.8.8.8:99999/port",
    ]),
    st.integers(0, 3),
)
ENTITY_NAMES = st.sampled_from(["REGISTERED_MODEL", "MODEL_VERSION", "MODEL_VERSION_TAG",
                                "MODEL_VERSION_ALIAS", "PROMPT", "PROMPT_ALIAS", "BUDGET_POLICY",
                                "PROMPT_VERSION_TAG"])
ACTION_NAMES = st.sampled_from(["CREATED", "DELETED", "SET", "UPDATED", "EXCEEDED"])
EVENT = st.one_of(
    st.builds(lambda e, a: {"entity": e, "action": a}, ENTITY_NAMES, ACTION_NAMES),
    st.sampled_from([{"entity": "REGISTERED_MODEL", "action": "CREATED"},
                     {"entity": 2, "action": 1}, {"entity": "model_version", "action": "created"},
                     {"entity": "PROMPT"}, {}, {"entity": 99, "action": 1}]),
)
VALID_EVENT = st.sampled_from(REGISTRY_EVENTS).map(lambda p: {"entity": p[0], "action": p[1]})
EVENTS = st.one_of(st.lists(VALID_EVENT, min_size=1, max_size=4),
                   st.lists(EVENT, max_size=4), st.just("x"), st.just({"entity": "PROMPT"}))
STATUS = st.sampled_from(["ACTIVE", "DISABLED", "NOPE", 1, 2, 0, 3, True])
TEXT = st.one_of(st.text(max_size=12), st.integers(0, 2))


def _body(draw_optional: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in draw_optional.items() if v is not _ABSENT}


_ABSENT = object()


def _opt(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(st.just(_ABSENT), strategy)


CREATE = st.fixed_dictionaries({
    "name": st.one_of(st.just(_ABSENT), NAMES),
    "url": st.one_of(st.just(_ABSENT), URLS, st.just("https://8.8.8.8/ok")),
    "events": st.one_of(st.just(_ABSENT), EVENTS),
    "description": _opt(TEXT), "secret": _opt(TEXT), "status": _opt(STATUS),
}).map(_body)
VALID_CREATE = st.fixed_dictionaries({
    "name": st.from_regex(r"\A[a-z][a-z0-9-]{0,6}[a-z0-9]\Z"),
    "url": st.sampled_from(["https://8.8.8.8/a", "https://1.1.1.1/b"]),
    "events": st.lists(VALID_EVENT, min_size=1, max_size=3, unique_by=lambda e: tuple(e.items())),
    "description": _opt(st.text(max_size=8)), "secret": _opt(st.text(max_size=8)),
    "status": _opt(st.sampled_from(["ACTIVE", "DISABLED"])),
}).map(_body)
UPDATE = st.fixed_dictionaries({
    "name": _opt(NAMES), "url": _opt(URLS), "events": _opt(EVENTS),
    "description": _opt(TEXT), "secret": _opt(TEXT), "status": _opt(STATUS),
}).map(_body)
LIST_PARAMS = st.fixed_dictionaries({
    "max_results": _opt(st.one_of(st.integers(-1, 3), st.sampled_from([1000, 1001, "x", "2"]))),
    "page_token": _opt(st.sampled_from(["", "x", "eyJvZmZzZXQiOiAxfQ==", "eyJvZmZzZXQiOiAyfQ==",
                                        "e30=", "eyJvZmZzZXQiOiAtMX0="])),  # offset -1
}).map(_body)

OPERATION = st.one_of(
    st.tuples(st.just("create"), CREATE),
    st.tuples(st.just("create"), VALID_CREATE),
    st.tuples(st.just("update"), st.tuples(st.integers(0, 3), UPDATE)),
    st.tuples(st.just("get"), st.integers(0, 3)),
    st.tuples(st.just("delete"), st.integers(0, 3)),
    st.tuples(st.just("list"), LIST_PARAMS),
    # only a missing webhook: a real test would POST to the (public) URL
    st.tuples(st.just("test"), st.sampled_from([{}, {"event": {}},
                                                {"event": {"entity": "PROMPT", "action": "SET"}},
                                                {"event": {"entity": "PROMPT", "action": "CREATED"}}])),
)


def _run(base: str, operations: list[tuple[str, Any]], masker: Masker) -> list[Any]:
    """Apply the operations; the n-th existing webhook (newest first) is the target of
    update/get/delete n (or a missing id when there are fewer)."""
    answers = []
    for kind, arg in operations:
        listed = requests.get(base + API, params={"max_results": 1000}, timeout=30).json()
        ids = [w["webhook_id"] for w in listed.get("webhooks", [])]

        def target(n: int) -> str:
            return ids[n] if n < len(ids) else "missing-id"

        if kind == "create":
            response = requests.post(base + API, json=arg, timeout=30)
        elif kind == "update":
            response = requests.patch(f"{base}{API}/{target(arg[0])}", json=arg[1], timeout=30)
        elif kind == "get":
            response = requests.get(f"{base}{API}/{target(arg)}", timeout=30)
        elif kind == "delete":
            response = requests.delete(f"{base}{API}/{target(arg)}", timeout=30)
        elif kind == "list":
            response = requests.get(base + API, params=arg, timeout=30)
        else:
            response = requests.post(f"{base}{API}/missing-id/test", json=arg, timeout=30)
        answers.append((kind, masker.answer(response)))
        time.sleep(0.002)  # distinct creation times (MLflow's newest-first has no tie-break)
    return answers


@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
@given(operations=st.lists(OPERATION, min_size=1, max_size=7))
def test_webhook_requests_answer_as_mlflow(reference_server: Any, fakeflow_server: Any,
                                           no_webhooks_left: None,
                                           operations: list[tuple[str, Any]]) -> None:
    _clear(reference_server.url)
    _clear(fakeflow_server.url)
    real = _run(reference_server.url, operations, Masker())
    fake = _run(fakeflow_server.url, operations, Masker())
    assert fake == real


def test_the_mlflow_client_sees_the_same_webhooks(reference_server: Any, fakeflow_server: Any,
                                                   no_webhooks_left: None) -> None:
    """create / get / list (paged) / update / delete through ``MlflowClient``; the secret is
    never returned."""
    mlflow = pytest.importorskip("mlflow")

    def script(uri: str) -> list[Any]:
        _clear(uri)
        client = mlflow.MlflowClient(tracking_uri=uri, registry_uri=uri)
        masker = Masker()
        seen: list[Any] = []
        first = client.create_webhook(name="first", url="https://8.8.8.8/a",
                                      events=["model_version.created", "registered_model.created"],
                                      description="one", secret="s3cr3t")
        time.sleep(0.002)
        second = client.create_webhook(name="second", url="https://1.1.1.1/b",
                                       events=["prompt_alias.deleted"], status="DISABLED")
        for webhook in (first, second, client.get_webhook(first.webhook_id)):
            seen.append((masker.id(webhook.webhook_id), webhook.name, webhook.url,
                         [str(e) for e in webhook.events], webhook.description,
                         str(webhook.status), webhook.secret))
        page = client.list_webhooks(max_results=1)
        seen.append(([masker.id(w.webhook_id) for w in page], page.token))
        page = client.list_webhooks(max_results=1, page_token=page.token)
        seen.append(([masker.id(w.webhook_id) for w in page], page.token))
        updated = client.update_webhook(first.webhook_id, name="renamed", status="DISABLED",
                                        events=["model_version_tag.set"], secret="")
        seen.append((updated.name, str(updated.status), [str(e) for e in updated.events],
                     updated.secret, updated.last_updated_timestamp >= first.creation_timestamp))
        client.delete_webhook(second.webhook_id)
        try:
            client.get_webhook(second.webhook_id)
        except mlflow.exceptions.MlflowException as error:
            seen.append((error.error_code, masker.text(error.message)))
        return seen

    assert script(fakeflow_server.url) == script(reference_server.url)


ROUTING = [(method, prefix + path)
           for prefix in ("/api/2.0/mlflow", "/ajax-api/2.0/mlflow", "/api/3.0/mlflow")
           for method, path in (("PUT", "/webhooks"), ("DELETE", "/webhooks"),
                                ("POST", "/webhooks/missing-id"), ("GET", "/webhooks/missing-id"),
                                ("GET", "/webhooks/missing-id/test"),
                                ("POST", "/webhooks/missing-id/test"), ("OPTIONS", "/webhooks"),
                                ("OPTIONS", "/webhooks/missing-id"), ("HEAD", "/webhooks"),
                                ("GET", "/webhooks/"), ("PATCH", "/webhooks/missing-id/"))]


@pytest.mark.parametrize("method, path", ROUTING)
def test_webhook_routes_answer_as_mlflow(reference_server: Any, fakeflow_server: Any,
                                         method: str, path: str) -> None:
    """Methods, prefixes, trailing slashes: status, media type, Allow header and JSON body."""
    def answer(base: str) -> tuple[Any, ...]:
        response = requests.request(method, base + path, json={}, timeout=30,
                                    allow_redirects=False)
        kind = response.headers.get("Content-Type", "").split(";")[0]
        body = response.json() if kind == "application/json" and response.content else None
        allow = sorted(response.headers.get("Allow", "").replace(" ", "").split(","))
        return response.status_code, kind, allow, body

    assert answer(fakeflow_server.url) == answer(reference_server.url)


# ---- deliveries against a real server with private addresses allowed -------------------------

class Receiver:
    """A local HTTP endpoint that records every POST; ``/fail`` answers 500, ``/gone`` 404."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        received = self.received

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                received.append({"path": self.path, "headers": dict(self.headers.items()),
                                 "body": body.decode("utf-8")})
                status = 500 if self.path.startswith("/fail") else (
                    404 if self.path.startswith("/gone") else 200)
                answer = f"got {self.path}".encode()
                self.send_response(status)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def wait_for(self, count: int, timeout: float = 20.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while len(self.received) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.3)  # and nothing more arrives
        return list(self.received)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receivers() -> Iterator[tuple[Receiver, Receiver]]:
    pair = (Receiver(), Receiver())
    yield pair
    for receiver in pair:
        receiver.close()


@pytest.fixture(scope="module")
def delivering_real() -> Iterator[Any]:
    """A real MLflow that may POST to loopback (http allowed, no retries: quick failures)."""
    from conformance.reference_server import find_mlflow_executable, start_reference_server

    if find_mlflow_executable() is None:
        pytest.skip("real MLflow not found (FAKEFLOW_MLFLOW_BIN)")
    with pytest.MonkeyPatch.context() as env:
        for key, value in ENV_DELIVERY.items():
            env.setenv(key, value)
        server = start_reference_server(workers=1)
    try:
        yield server
    finally:
        server.stop()


@contextmanager
def delivering_fake() -> Iterator[ThreadedServer]:
    with pytest.MonkeyPatch.context() as env:
        for key, value in ENV_DELIVERY.items():
            env.setenv(key, value)
        server = ThreadedServer(fakeflow.create_app(), port=0).start()
        try:
            yield server
        finally:
            server.stop()


def _registry_calls(base: str, receiver: Receiver) -> list[Any]:
    """Webhooks first, then registry writes (some refused); the answers' status codes."""
    mlflow = pytest.importorskip("mlflow")
    api = base + "/api/2.0/mlflow"
    statuses = []

    def call(method: str, path: str, body: dict[str, Any]) -> None:
        response = requests.request(method, api + path, json=body, timeout=30)
        statuses.append((path, response.status_code))

    call("POST", "/webhooks", {"name": "all", "url": receiver.url + "/all",
                               "events": _events(*REGISTRY_EVENTS), "secret": "s3cr3t"})
    call("POST", "/webhooks", {"name": "versions", "url": receiver.url + "/versions",
                               "events": _events(("MODEL_VERSION", "CREATED"))})
    call("POST", "/webhooks", {"name": "off", "url": receiver.url + "/off", "status": "DISABLED",
                               "events": _events(*REGISTRY_EVENTS)})
    call("POST", "/webhooks", {"name": "gone", "url": receiver.url + "/gone",
                               "events": _events(("MODEL_VERSION_ALIAS", "CREATED"))})
    call("POST", "/registered-models/create",
         {"name": "m1", "tags": [{"key": "a", "value": "1"}, {"key": "a", "value": "2"}]})
    call("POST", "/registered-models/create", {"name": "m1"})  # exists: no event
    call("POST", "/registered-models/create", {"name": "m2", "description": "second"})
    call("POST", "/registered-models/set-tag", {"name": "m1", "key": "k", "value": "v"})
    call("DELETE", "/registered-models/delete-tag", {"name": "m1", "key": "k"})
    call("POST", "/model-versions/create",
         {"name": "m1", "source": "s3://bucket/model", "description": "first version",
          "tags": [{"key": "t", "value": "1"}]})
    call("POST", "/model-versions/create", {"name": "m1", "source": "s3://bucket/model2"})
    call("POST", "/model-versions/create", {"name": "nope", "source": "s3://b/m"})  # refused
    call("POST", "/model-versions/set-tag", {"name": "m1", "version": "1", "key": "k",
                                             "value": "v"})
    call("POST", "/model-versions/set-tag", {"name": "m1", "version": "7", "key": "k",
                                             "value": "v"})  # refused
    call("DELETE", "/model-versions/delete-tag", {"name": "m1", "version": "1", "key": "k"})
    call("POST", "/registered-models/alias", {"name": "m1", "alias": "champion", "version": "2"})
    call("POST", "/registered-models/alias", {"name": "m1", "alias": "bad", "version": "9"})
    call("DELETE", "/registered-models/alias", {"name": "m1", "alias": "champion"})
    client = mlflow.MlflowClient(tracking_uri=base, registry_uri=base)
    run_id = client.create_run(client.create_experiment("webhook-runs")).info.run_id
    client.create_model_version("m2", f"runs:/{run_id}/model", run_id=run_id)
    client.create_model_version("m2", "models:/m1/1", description="")  # the source's lineage
    client.register_prompt("p1", "Hello {{name}}!", commit_message="first",
                           tags={"team": "a"})
    client.register_prompt("p1", "Hi {{name}}!")
    client.set_prompt_tag("p1", "owner", "me")
    client.delete_prompt_tag("p1", "owner")
    client.set_prompt_version_tag("p1", "1", "stage", "dev")
    client.delete_prompt_version_tag("p1", "1", "stage")
    client.set_prompt_alias("p1", "prod", 2)
    client.delete_prompt_alias("p1", "prod")
    return statuses


def _deliveries(received: list[dict[str, Any]], secrets: dict[str, str]) -> list[Any]:
    """Masked and sorted (delivery threads may reorder them); checks each one's framing and
    signature (``secrets``: receiver path -> the webhook's secret)."""
    out = []
    for item in received:
        headers, body = item["headers"], item["body"]
        envelope = json.loads(body)
        assert list(envelope) == ["entity", "action", "timestamp", "data"]
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?\+00:00",
                            envelope["timestamp"])
        assert body == json.dumps(envelope)  # json.dumps spacing, ASCII escapes
        delivery_id, stamp = headers["X-MLflow-Delivery-Id"], headers["X-MLflow-Timestamp"]
        assert UUID.fullmatch(delivery_id) and abs(int(stamp) - time.time()) < 120
        signature = headers.get("X-MLflow-Signature")
        if signature is not None:
            digest = hmac.new(secrets[item["path"]].encode(), f"{delivery_id}.{stamp}.{body}".encode(),
                              hashlib.sha256).digest()
            assert signature == "v1," + base64.b64encode(digest).decode()
        names = sorted(k for k in headers if k != "Host")
        data = re.sub(r"\b[0-9a-f]{32}\b", "<run>", json.dumps(envelope["data"]))
        out.append((item["path"], envelope["entity"], envelope["action"], data, names,
                    headers["Content-Type"],
                    signature is not None))
    return sorted(out)


def test_registry_events_deliver_what_mlflow_delivers(delivering_real: Any,
                                                      receivers: tuple[Receiver, Receiver]) -> None:
    real_receiver, fake_receiver = receivers
    real_statuses = _registry_calls(delivering_real.url, real_receiver)
    with delivering_fake() as fake:
        fake_statuses = _registry_calls(fake.url, fake_receiver)
        expected = 25  # 20 to "all" (the client also tags a prompt), 4 versions, 1 alias
        real = _deliveries(real_receiver.wait_for(expected), {"/all": "s3cr3t"})
        fake_got = _deliveries(fake_receiver.wait_for(expected), {"/all": "s3cr3t"})
    assert fake_statuses == real_statuses
    assert len(real) == expected
    assert fake_got == real


def test_test_webhook_answers_as_mlflow(delivering_real: Any,
                                        receivers: tuple[Receiver, Receiver]) -> None:
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    closed_port = closed.getsockname()[1]
    closed.close()  # nothing listens there now

    def script(base: str, receiver: Receiver) -> list[Any]:
        api = base + API
        results = []
        cases = [
            (receiver.url + "/ok", {}, "s3cr3t"),
            (receiver.url + "/ok", {"event": {"entity": "PROMPT_ALIAS", "action": "DELETED"}}, None),
            (receiver.url + "/fail", {}, None),
            (receiver.url + "/gone", {}, "x"),
            (f"http://127.0.0.1:{closed_port}/closed", {}, None),
        ]
        for url, body, secret in cases:
            created = requests.post(api, json={
                "name": "t", "url": url, "secret": secret,
                "events": _events(("MODEL_VERSION_TAG", "SET"), ("REGISTERED_MODEL", "CREATED")),
                "status": "DISABLED"}, timeout=30).json()["webhook"]
            answer = requests.post(f"{api}/{created['webhook_id']}/test", json=body, timeout=60)
            results.append((answer.status_code, answer.json()))
        return results

    real = script(delivering_real.url, receivers[0])
    with delivering_fake() as fake:
        fake_results = script(fake.url, receivers[1])
    assert fake_results == real
    secrets = {"/ok": "s3cr3t", "/gone": "x"}
    real_sent = _deliveries(receivers[0].wait_for(4), secrets)
    assert len(real_sent) == 4
    assert _deliveries(receivers[1].wait_for(4), secrets) == real_sent


# ---- fakeflow only ------------------------------------------------------------------------------

def test_deliveries_are_logged_and_only_loopback_is_contacted(
        monkeypatch: pytest.MonkeyPatch, receivers: tuple[Receiver, Receiver]) -> None:
    from fakeflow.control import ControlledApp

    receiver = receivers[0]
    for key, value in ENV_DELIVERY.items():
        monkeypatch.setenv(key, value)
    controlled = ControlledApp(fakeflow.create_app())
    server = ThreadedServer(controlled, port=0).start()
    try:
        api = server.url + "/api/2.0/mlflow"
        for name, url in (("local", receiver.url + "/in"), ("public", "https://8.8.8.8/out"),
                          ("private", "http://10.9.8.7/out"), ("named", "http://example.invalid/")):
            requests.post(api + "/webhooks", json={
                "name": name, "url": url, "events": _events(("REGISTERED_MODEL", "CREATED"))},
                timeout=30).raise_for_status()
        requests.post(api + "/registered-models/create", json={"name": "m"}, timeout=30)
        controlled.store.webhooks.deliveries.wait()
        logged = requests.get(server.url + "/_fakeflow/webhook-deliveries", timeout=30).json()
        outcomes = sorted((d["url"], d["outcome"], d["sent"], d["reason"], d["event"])
                          for d in logged["deliveries"])
        reason = "fakeflow delivers webhooks only to loopback addresses"
        assert outcomes == sorted([
            (receiver.url + "/in", "delivered", True, None, "registered_model.created"),
            ("https://8.8.8.8/out", "not_sent", False, reason, "registered_model.created"),
            ("http://10.9.8.7/out", "not_sent", False, reason, "registered_model.created"),
            ("http://example.invalid/", "not_sent", False, reason, "registered_model.created"),
        ])
        assert [r["path"] for r in receiver.wait_for(1)] == ["/in"]
        # a URL MLflow would refuse at delivery time (the env changed since) is not sent either
        monkeypatch.delenv("MLFLOW_WEBHOOK_ALLOW_PRIVATE_IPS")
        monkeypatch.setenv("MLFLOW_WEBHOOK_CACHE_TTL", "0")
        requests.post(api + "/registered-models/create", json={"name": "m2"}, timeout=30)
        controlled.store.webhooks.deliveries.wait()
        last = [d for d in controlled.store.webhooks.deliveries.items() if d.payload["name"] == "m2"]
        local = [d for d in last if d.url.startswith(receiver.url)]
        assert local[0].outcome == "not_sent" and "non-public IP address" in local[0].reason
        tested = requests.post(f"{api}/webhooks/{local[0].webhook_id}/test", json={}, timeout=30)
        assert tested.json() == {"result": {"success": False, "error_message": (
            "Failed to test webhook: MlflowException(\"Webhook URL must not resolve to a "
            "non-public IP address. '127.0.0.1' resolves to 127.0.0.1.\")")}}  # as MLflow says
        requests.post(server.url + "/_fakeflow/reset", timeout=30)
        assert requests.get(server.url + "/_fakeflow/webhook-deliveries",
                            timeout=30).json() == {"deliveries": []}
    finally:
        server.stop()


def test_subscribers_are_cached_for_mlflows_ttl(monkeypatch: pytest.MonkeyPatch,
                                                receivers: tuple[Receiver, Receiver]) -> None:
    """An event looks its subscribers up once per TTL: a webhook created right after an event
    of its kind misses the next one, as on a real server (MLFLOW_WEBHOOK_CACHE_TTL, 60 s)."""
    for key, value in ENV_DELIVERY.items():
        monkeypatch.setenv(key, value)
    app = fakeflow.create_app()
    server = ThreadedServer(app, port=0).start()
    try:
        api = server.url + "/api/2.0/mlflow"
        requests.post(api + "/registered-models/create", json={"name": "before"}, timeout=30)
        requests.post(api + "/webhooks", json={"name": "w", "url": receivers[0].url + "/w",
                                               "events": _events(("REGISTERED_MODEL", "CREATED"))},
                      timeout=30)
        requests.post(api + "/registered-models/create", json={"name": "cached"}, timeout=30)
        monkeypatch.setenv("MLFLOW_WEBHOOK_CACHE_TTL", "0")
        requests.post(api + "/registered-models/create", json={"name": "fresh"}, timeout=30)
        app.store.webhooks.deliveries.wait()
        assert [d.payload["name"] for d in app.store.webhooks.deliveries.items()] == ["fresh"]
    finally:
        server.stop()


def test_snapshots_keep_webhooks_with_their_secrets() -> None:
    from fakeflow.control import ControlledApp

    first = ControlledApp(fakeflow.create_app())
    hook = first.store.webhooks.create("w", "https://8.8.8.8/x", [("prompt", "created")],
                                       "d", "s3cr3t", "DISABLED")
    second = ControlledApp(fakeflow.create_app())
    second.load(json.loads(json.dumps(first.dump())))
    restored = second.store.webhooks.get(hook.webhook_id)
    assert restored == hook and restored.secret == "s3cr3t"


def test_the_fixture_lists_deliveries(fakeflow: Any, monkeypatch: pytest.MonkeyPatch,
                                      receivers: tuple[Receiver, Receiver]) -> None:
    for key, value in ENV_DELIVERY.items():
        monkeypatch.setenv(key, value)
    fakeflow.client.create_webhook(name="w", url=receivers[0].url + "/hook", secret="k",
                                   events=["model_version.created", "registered_model.created"])
    fakeflow.client.create_registered_model("model")
    fakeflow.client.create_model_version("model", "s3://bucket/m")
    deliveries = fakeflow.webhook_deliveries()
    assert [(d.event, d.payload["name"], d.outcome, d.response_status) for d in deliveries] == [
        ("registered_model.created", "model", "delivered", 200),
        ("model_version.created", "model", "delivered", 200),
    ]
    assert deliveries[1].payload == {"name": "model", "version": "1", "source": "s3://bucket/m",
                                     "run_id": None, "tags": {}, "description": None}
    assert "X-MLflow-Signature" in deliveries[0].headers
