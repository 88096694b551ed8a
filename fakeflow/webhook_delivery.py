"""Webhook delivery: the envelope, HMAC signature and headers MLflow sends, the decision whether
to send at all, and the sending itself.

MLflow POSTs ``{"entity", "action", "timestamp", "data"}`` (``json.dumps`` spacing) with
``X-MLflow-Delivery-Id``, ``X-MLflow-Timestamp`` and, when the webhook has a secret,
``X-MLflow-Signature: v1,<base64 HMAC-SHA256 of "<delivery id>.<timestamp>.<body>">``. Registry
events are delivered off the request thread (a thread pool, as MLflow's), ``test_webhook`` on it.
Before each POST MLflow checks the URL again (allowed schemes, no private addresses unless
``MLFLOW_WEBHOOK_ALLOW_PRIVATE_IPS``); failures and error answers are retried
(``MLFLOW_WEBHOOK_REQUEST_MAX_RETRIES``, statuses 429/500/502/503/504), within
``MLFLOW_WEBHOOK_REQUEST_TIMEOUT`` seconds per attempt.

fakeflow sends only where MLflow would AND the target is a loopback address; any other target is
recorded as not sent, with the reason, and never contacted. Retries are made without MLflow's
backoff pauses (only their count is observable to a receiver). Every delivery is recorded in the
store's delivery log; its outcome is filled in when the POST returns.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import os
import socket
import threading
import urllib.parse
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.poolmanager import PoolManager
from urllib3.util.retry import Retry

from fakeflow.state.errors import MlflowError
from fakeflow.state.webhooks import (
    Delivery,
    DeliveryLog,
    Event,
    Webhook,
    check_url,
    known_address,
)

if TYPE_CHECKING:
    from fakeflow.state.tracking import TrackingStore

log = logging.getLogger(__name__)

DELIVERY_ID_HEADER = "X-MLflow-Delivery-Id"
TIMESTAMP_HEADER = "X-MLflow-Timestamp"
SIGNATURE_HEADER = "X-MLflow-Signature"
NOT_LOOPBACK = "fakeflow delivers webhooks only to loopback addresses"

#: the example ``data`` MLflow's test_webhook sends for each event
EXAMPLE_PAYLOADS: dict[Event, dict[str, Any]] = {
    ("registered_model", "created"): {
        "name": "example_model", "tags": {"example_key": "example_value"},
        "description": "An example registered model"},
    ("model_version", "created"): {
        "name": "example_model", "version": "1", "source": "models:/123",
        "run_id": "abcd1234abcd5678", "tags": {"example_key": "example_value"},
        "description": "An example model version"},
    ("model_version_tag", "set"): {
        "name": "example_model", "version": "1", "key": "example_key", "value": "example_value"},
    ("model_version_tag", "deleted"): {"name": "example_model", "version": "1", "key": "example_key"},
    ("model_version_alias", "created"): {
        "name": "example_model", "alias": "example_alias", "version": "1"},
    ("model_version_alias", "deleted"): {"name": "example_model", "alias": "example_alias"},
    ("prompt", "created"): {
        "name": "example_prompt", "tags": {"example_key": "example_value"},
        "description": "An example prompt"},
    ("prompt_version", "created"): {
        "name": "example_prompt", "version": "1", "template": "Hello {{name}}!",
        "tags": {"example_key": "example_value"}, "description": "An example prompt version"},
    ("prompt_tag", "set"): {"name": "example_prompt", "key": "example_key", "value": "example_value"},
    ("prompt_tag", "deleted"): {"name": "example_prompt", "key": "example_key"},
    ("prompt_version_tag", "set"): {
        "name": "example_prompt", "version": "1", "key": "example_key", "value": "example_value"},
    ("prompt_version_tag", "deleted"): {"name": "example_prompt", "version": "1", "key": "example_key"},
    ("prompt_alias", "created"): {"name": "example_prompt", "alias": "example_alias", "version": "1"},
    ("prompt_alias", "deleted"): {"name": "example_prompt", "alias": "example_alias"},
    ("budget_policy", "exceeded"): {
        "budget_policy_id": "bp-abc123", "budget_unit": "USD", "budget_amount": 100.0,
        "current_spend": 105.5, "duration_unit": "MONTHS", "duration_value": 1,
        "target_scope": "ENDPOINT", "workspace": "default", "target_value": "ep-abc123",
        "window_start": 1704067200000},
}


def _int_env(name: str, default: int) -> int:
    try:
        return int(os.environ.get(name, default))
    except ValueError:
        return default


# ---- what is sent ------------------------------------------------------------------------------

def sign(secret: str, delivery_id: str, timestamp: str, body: str) -> str:
    digest = hmac.new(secret.encode("utf-8"), f"{delivery_id}.{timestamp}.{body}".encode("utf-8"),
                      hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("utf-8")


def prepare(webhook: Webhook, event: Event, payload: dict[str, Any], test: bool = False
            ) -> Delivery:
    """The request MLflow would send to ``webhook`` for ``event`` now."""
    entity, action = event
    body = json.dumps({"entity": entity, "action": action,
                       "timestamp": datetime.now(timezone.utc).isoformat(), "data": payload})
    delivery_id = str(uuid.uuid4())
    timestamp = str(int(datetime.now(timezone.utc).timestamp()))
    headers = {"Content-Type": "application/json", DELIVERY_ID_HEADER: delivery_id,
               TIMESTAMP_HEADER: timestamp}
    if webhook.secret:
        headers[SIGNATURE_HEADER] = sign(webhook.secret, delivery_id, timestamp, body)
    return Delivery(delivery_id, webhook.webhook_id, entity, action, webhook.url, payload, body,
                    headers, test=test)


def refusal(url: str) -> tuple[str | None, str | None]:
    """(MLflow's error, fakeflow's reason) for not sending to ``url``; (None, None) to send."""
    try:
        check_url(url)
    except MlflowError as error:
        return f"MlflowException({error.message!r})", error.message
    hostname = urllib.parse.urlparse(url).hostname or ""
    address = known_address(hostname)
    if address is None or not address.is_loopback:
        return None, NOT_LOOPBACK
    return None, None


# ---- sending -----------------------------------------------------------------------------------

class _LoopbackOnly(OSError):
    """A connection whose peer is not a loopback address (never expected: checked before)."""


def _assert_loopback(sock: socket.socket) -> None:
    import ipaddress

    if not ipaddress.ip_address(sock.getpeername()[0]).is_loopback:
        sock.close()
        raise _LoopbackOnly(NOT_LOOPBACK)


# Named as MLflow's classes: their names appear in the connection errors test_webhook reports.
class _SSRFProtectedHTTPConnection(HTTPConnection):
    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()
        _assert_loopback(sock)
        return sock


class _SSRFProtectedHTTPSConnection(HTTPSConnection):
    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()
        _assert_loopback(sock)
        return sock


class _SSRFProtectedHTTPConnectionPool(HTTPConnectionPool):
    ConnectionCls = _SSRFProtectedHTTPConnection


class _SSRFProtectedHTTPSConnectionPool(HTTPSConnectionPool):
    ConnectionCls = _SSRFProtectedHTTPSConnection


class _LoopbackAdapter(HTTPAdapter):
    def init_poolmanager(self, connections: int, maxsize: int, block: bool = False,
                         **pool_kwargs: Any) -> None:
        self.poolmanager = PoolManager(num_pools=connections, maxsize=maxsize, block=block,
                                       **pool_kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": _SSRFProtectedHTTPConnectionPool, "https": _SSRFProtectedHTTPSConnectionPool}


#: one session per retry setting (MLflow builds one per process; a test may change the env)
_sessions: dict[int, requests.Session] = {}
_session_lock = threading.Lock()
_executor: ThreadPoolExecutor | None = None


def _get_session() -> requests.Session:
    retries = _int_env("MLFLOW_WEBHOOK_REQUEST_MAX_RETRIES", 3)
    with _session_lock:
        session = _sessions.get(retries)
        if session is None:
            retry = Retry(total=retries, status_forcelist=[429, 500, 502, 503, 504],
                          allowed_methods=["POST"], backoff_factor=0,
                          respect_retry_after_header=False, raise_on_status=False)
            session = requests.Session()
            session.trust_env = False  # no proxy: only loopback is ever contacted
            adapter = _LoopbackAdapter(max_retries=retry)
            session.mount("http://", adapter)
            session.mount("https://", adapter)
            _sessions[retries] = session
        return session


def _get_executor() -> ThreadPoolExecutor:
    global _executor
    with _session_lock:
        if _executor is None:
            _executor = ThreadPoolExecutor(
                max_workers=_int_env("MLFLOW_WEBHOOK_DELIVERY_MAX_WORKERS", 10),
                thread_name_prefix="fakeflow-webhook")
        return _executor


def send(delivery: Delivery, deliveries: DeliveryLog) -> tuple[requests.Response | None, str | None]:
    """POST ``delivery`` if allowed; settle its record. (response, MLflow's error text)."""
    error, reason = refusal(delivery.url)
    if reason is not None:
        deliveries.settle(delivery, outcome="not_sent", reason=reason)
        return None, error or f"ConnectionError({reason!r})"
    try:
        response = _get_session().post(
            delivery.url, data=delivery.body.encode("utf-8"), headers=delivery.headers,
            timeout=_int_env("MLFLOW_WEBHOOK_REQUEST_TIMEOUT", 30))
    except Exception as exc:  # what MLflow reports for a POST that got no answer
        deliveries.settle(delivery, outcome="failed", sent=True, reason=repr(exc),
                          attempts=_int_env("MLFLOW_WEBHOOK_REQUEST_MAX_RETRIES", 3) + 1)
        return None, repr(exc)
    deliveries.settle(delivery, outcome="delivered", sent=True,
                      response_status=response.status_code, response_body=response.text,
                      attempts=1 + len(getattr(getattr(response.raw, "retries", None),
                                                "history", ())))
    return response, None


# ---- entry points ------------------------------------------------------------------------------

def emit(store: "TrackingStore", event: Event, payload: dict[str, Any],
         subscribers: list[Webhook]) -> None:
    """After a successful registry write (the caller holds the store lock): record a delivery
    for each active subscriber (``store.webhooks.subscribers(event)``) and hand the POSTs to
    the delivery threads."""
    webhooks = store.webhooks
    for webhook in subscribers:
        delivery = prepare(webhook, event, payload)
        webhooks.deliveries.add(delivery)
        _get_executor().submit(_send_quietly, delivery, webhooks.deliveries)


def _send_quietly(delivery: Delivery, deliveries: DeliveryLog) -> None:
    try:
        send(delivery, deliveries)
    except Exception:  # a delivery thread must not die; MLflow logs and goes on too
        log.exception("fakeflow: webhook delivery to %s failed", delivery.url)
        deliveries.settle(delivery, outcome="failed", reason="unexpected error")


def run_test(webhook: Webhook, event: Event | None, deliveries: DeliveryLog) -> dict[str, Any]:
    """MLflow's test_webhook on the calling thread (no store lock held): the result message."""
    event = event or webhook.events[0]
    delivery = prepare(webhook, event, EXAMPLE_PAYLOADS[event], test=True)
    deliveries.add(delivery)
    response, error = send(delivery, deliveries)
    if response is None:
        return {"success": False, "error_message": f"Failed to test webhook: {error}"}
    return {"success": response.status_code < 400, "response_status": response.status_code,
            "response_body": response.text}
