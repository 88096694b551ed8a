"""Model-registry webhooks: ``/mlflow/webhooks`` (create, list), ``/mlflow/webhooks/<id>`` (get,
update, delete) and ``/mlflow/webhooks/<id>/test`` under ``/api/2.0`` and ``/ajax-api/2.0``.

Parsed as MLflow's handlers parse them: events become (entity, action) pairs before the store
is asked (an unspecified part is MLflow's unhandled 500, a combination it does not deliver its
400), so those errors come before a missing webhook's 404. The secret is never rendered.
``test_webhook`` runs without the store lock: it POSTs on the request thread, as MLflow does.
"""

from __future__ import annotations

from typing import Any

from werkzeug.exceptions import InternalServerError
from werkzeug.wrappers import Request

from fakeflow import webhook_delivery
from fakeflow.state.tracking import TrackingStore
from fakeflow.state.webhooks import (
    ACTIONS,
    ENTITIES,
    STATUSES,
    Event,
    Webhook,
    WebhookStore,
    event_from_proto,
)
from fakeflow.web.messages import Field, M, Message, S
from fakeflow.web.parsing import ARRAY, INTLIKE, REQUIRED, STRING, read_request

Payload = dict[str, Any]

EVENT = Message("WebhookEvent", (Field("entity", "enum", enum=ENTITIES),
                                 Field("action", "enum", enum=ACTIONS)))
_STATUS = Field("status", "enum", enum=STATUSES)
CREATE = Message("CreateWebhook", (S("name"), S("description"), S("url"), M("events", EVENT),
                                   S("secret"), _STATUS))
LIST = Message("ListWebhooks", (Field("max_results", "int32"), S("page_token")))
UPDATE = Message("UpdateWebhook", (S("webhook_id"), S("name"), S("description"), S("url"),
                                   M("events", EVENT), S("secret"), _STATUS))
TEST = Message("TestWebhook", (S("webhook_id"), M("event", EVENT, repeated=False)))
_REQUIRED_STRING = [STRING, REQUIRED]


def _webhooks(store: TrackingStore) -> WebhookStore:
    return store.webhooks


def _path_id(request: Request) -> str:
    """The id between ``webhooks/`` and the next slash, as the router decoded it."""
    return request.path.split("/webhooks/", 1)[1].split("/")[0]


def _event(raw: dict[str, Any]) -> Event:
    try:
        return event_from_proto(raw.get("entity", "ENTITY_UNSPECIFIED"),
                                raw.get("action", "ACTION_UNSPECIFIED"))
    except ValueError:
        raise InternalServerError() from None  # MLflow's enum lookup fails unhandled


def render(webhook: Webhook) -> Payload:
    out: Payload = {"webhook_id": webhook.webhook_id, "name": webhook.name}
    if webhook.description:
        out["description"] = webhook.description
    out["url"] = webhook.url
    out["events"] = [{"entity": e.upper(), "action": a.upper()} for e, a in webhook.events]
    out["status"] = webhook.status
    out["creation_timestamp"] = webhook.creation_timestamp
    out["last_updated_timestamp"] = webhook.last_updated_timestamp
    return out


def create_webhook(store: TrackingStore, request: Request) -> Payload:
    msg = read_request(request, CREATE, [
        ("name", _REQUIRED_STRING), ("url", _REQUIRED_STRING), ("events", [ARRAY, REQUIRED]),
        ("description", [STRING]), ("secret", [STRING]), ("status", [STRING]),
    ])
    events = [_event(e) for e in msg.get("events", [])]
    webhook = _webhooks(store).create(
        msg.get("name", ""), msg.get("url", ""), events, msg.get("description") or None,
        msg.get("secret") or None, msg.get("status"))
    return {"webhook": render(webhook)}


def list_webhooks(store: TrackingStore, request: Request) -> Payload:
    msg = read_request(request, LIST, [("max_results", [INTLIKE]), ("page_token", [STRING])])
    page, token = _webhooks(store).list(msg.get("max_results"), msg.get("page_token") or None)
    out: Payload = {}
    if page:
        out["webhooks"] = [render(w) for w in page]
    if token:
        out["next_page_token"] = token
    return out


def get_webhook(store: TrackingStore, request: Request) -> Payload:
    return {"webhook": render(_webhooks(store).get(_path_id(request)))}


def update_webhook(store: TrackingStore, request: Request) -> Payload:
    msg = read_request(request, UPDATE, [
        ("name", [STRING]), ("description", [STRING]), ("url", [STRING]), ("events", [ARRAY]),
        ("secret", [STRING]), ("status", [STRING]),
    ])
    events = [_event(e) for e in msg.get("events", [])] or None
    webhook = _webhooks(store).update(
        _path_id(request), name=msg.get("name") or None, description=msg.get("description"),
        url=msg.get("url") or None, events=events, secret=msg.get("secret"),
        status=msg.get("status"))
    return {"webhook": render(webhook)}


def delete_webhook(store: TrackingStore, request: Request) -> Payload:
    _webhooks(store).delete(_path_id(request))
    return {}


def test_webhook(store: TrackingStore, request: Request) -> Payload:
    """Unlocked route: the POST to the receiver happens with the store lock released."""
    msg = read_request(request, TEST)
    event = _event(msg["event"]) if "event" in msg else None
    with store.lock:
        webhook = _webhooks(store).get(_path_id(request))
        deliveries = _webhooks(store).deliveries
    return {"result": webhook_delivery.run_test(webhook, event, deliveries)}
