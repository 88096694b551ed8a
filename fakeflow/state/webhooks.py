"""Model-registry webhooks: what MLflow's SQL store keeps for each one, and the log of deliveries.

A webhook is a name, a target URL, the (entity, action) events it subscribes to, an optional
description and HMAC secret, and a status (ACTIVE or DISABLED). Deleting one hides it for good
(MLflow soft-deletes; nothing can see it again). The secret is kept but never rendered: MLflow's
API does not return it. Events are held in the order MLflow's event table reads them back
(entity, then action, as text), and the same event twice in one request is refused with the
database's unique-constraint error.

Subscribers of an event are read through a cache with MLflow's TTL (``MLFLOW_WEBHOOK_CACHE_TTL``,
60 s by default): a webhook created or changed less than that after an event of its kind may
miss the next one, as on a real server. The delivery log records every delivery fakeflow makes
or would make (``fakeflow.webhook_delivery`` fills in the outcomes); it is bounded and reset
with the store. No HTTP here.
"""

from __future__ import annotations

import collections
import copy
import ipaddress
import os
import re
import socket
import threading
import time
import urllib.parse
import uuid
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Iterable

from fakeflow.search.paging import decode_offset_token, page_slice
from fakeflow.state.errors import BAD_REQUEST, MlflowError, invalid, not_found

if TYPE_CHECKING:
    from fakeflow.state.tracking import TrackingStore

#: proto enum names and numbers (webhooks.proto)
ENTITIES: tuple[tuple[str, int], ...] = (
    ("ENTITY_UNSPECIFIED", 0), ("REGISTERED_MODEL", 1), ("MODEL_VERSION", 2),
    ("MODEL_VERSION_TAG", 3), ("MODEL_VERSION_ALIAS", 4), ("PROMPT", 5), ("PROMPT_VERSION", 6),
    ("PROMPT_TAG", 7), ("PROMPT_VERSION_TAG", 8), ("PROMPT_ALIAS", 9), ("BUDGET_POLICY", 10),
)
ACTIONS: tuple[tuple[str, int], ...] = (
    ("ACTION_UNSPECIFIED", 0), ("CREATED", 1), ("UPDATED", 2), ("DELETED", 3), ("SET", 4),
    ("EXCEEDED", 5),
)
STATUSES: tuple[tuple[str, int], ...] = (("ACTIVE", 1), ("DISABLED", 2))

#: entity -> the actions MLflow accepts for it (lower-case, as events are stored)
VALID_ACTIONS: dict[str, frozenset[str]] = {
    "registered_model": frozenset({"created"}),
    "model_version": frozenset({"created"}),
    "model_version_tag": frozenset({"set", "deleted"}),
    "model_version_alias": frozenset({"created", "deleted"}),
    "prompt": frozenset({"created"}),
    "prompt_version": frozenset({"created"}),
    "prompt_tag": frozenset({"set", "deleted"}),
    "prompt_version_tag": frozenset({"set", "deleted"}),
    "prompt_alias": frozenset({"created", "deleted"}),
    "budget_policy": frozenset({"exceeded"}),
}

Event = tuple[str, str]  # (entity, action), lower-case: ("model_version_tag", "set")

_NAME = re.compile(r"^(?=.{1,63}$)[a-z0-9]([a-z0-9._-]*[a-z0-9])?$", re.IGNORECASE)
_NAME_RULE = ("It must start and end with a letter or digit, be less than 63 characters long, "
              "and contain only letters, digits, dots (.), underscores (_), and hyphens (-).")
#: the environment switches MLflow's server reads (fakeflow reads its own process's)
ALLOWED_SCHEMES_ENV = "MLFLOW_WEBHOOK_ALLOWED_SCHEMES"
ALLOW_PRIVATE_IPS_ENV = "MLFLOW_WEBHOOK_ALLOW_PRIVATE_IPS"
CACHE_TTL_ENV = "MLFLOW_WEBHOOK_CACHE_TTL"
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


# ---- validation -------------------------------------------------------------------------------

def check_name(name: str) -> None:
    if not _NAME.fullmatch(name):
        raise invalid(f"Webhook name {name!r} is invalid. {_NAME_RULE}")


def event_from_proto(entity: str, action: str) -> Event:
    """An event from its proto enum names; MLflow refuses a combination it does not deliver.
    (An unspecified entity or action crashes MLflow: the caller turns ValueError into a 500.)"""
    if entity == "ENTITY_UNSPECIFIED" or action == "ACTION_UNSPECIFIED":
        raise ValueError(f"unspecified webhook event part: {entity}.{action}")
    ent, act = entity.lower(), action.lower()
    if act not in VALID_ACTIONS[ent]:
        raise invalid(f"Invalid action '{act}' for entity '{ent}'. "
                      f"Valid actions are: {sorted(VALID_ACTIONS[ent])}")
    return ent, act


def allowed_schemes() -> list[str]:
    raw = os.environ.get(ALLOWED_SCHEMES_ENV)
    if raw is None:
        return ["https"]
    return [part.strip() for part in raw.split(",")]  # empty parts kept, as MLflow keeps them


def private_ips_allowed() -> bool:
    return os.environ.get(ALLOW_PRIVATE_IPS_ENV, "").lower() in ("true", "1")


def is_public(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Global, after unwrapping an IPv4 address carried in an IPv6 transition form."""
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or ip.sixtofour
        if embedded is None and ip in _NAT64:
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if embedded is not None:
            ip = embedded
    return ip.is_global


def known_address(hostname: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The address a host name stands for without asking DNS: IP literals (also the legacy
    IPv4 spellings the resolver accepts, ``127.1``) and ``localhost``; None for other names."""
    if "%" in hostname:
        return None  # a scoped IPv6 literal: the resolver looks its zone up (see check_url)
    try:
        return ipaddress.ip_address(hostname)
    except ValueError:
        pass
    if hostname.replace(".", "").isalnum() and hostname[:1].isdigit():
        try:
            return ipaddress.IPv4Address(socket.inet_aton(hostname))
        except OSError:
            return None
    if hostname.lower() == "localhost":
        return ipaddress.IPv4Address("127.0.0.1")
    return None


def check_url(url: str) -> None:
    """MLflow's webhook URL check, run at create, update and every delivery. A name fakeflow
    cannot resolve without DNS passes as if it resolved to a public address."""
    if not url.strip():
        raise invalid(f"Webhook URL cannot be empty or just whitespace: {url!r}")
    try:
        parsed = urllib.parse.urlparse(url)
    except ValueError as e:
        raise invalid(f"Invalid webhook URL {url!r}: {e!r}") from None
    schemes = allowed_schemes()
    if parsed.scheme not in schemes:
        raise invalid(f"Invalid webhook URL scheme: {parsed.scheme!r}. "
                      f"Allowed schemes are: {', '.join(schemes)}.")
    hostname = parsed.hostname
    if not hostname:
        raise invalid(f"Webhook URL must include a hostname: {url!r}")
    if private_ips_allowed():
        return
    if "%" in hostname:  # no such zone: the resolver then tries the text as a name
        raise invalid(f"Cannot resolve Webhook URL hostname {hostname!r}: "
                      "[Errno -2] Name or service not known")
    address = known_address(hostname)
    if address is not None and not is_public(address):
        raise invalid("Webhook URL must not resolve to a non-public IP address. "
                      f"{hostname!r} resolves to {address}.")


def check_events(events: list[Event]) -> None:
    if not events:
        raise invalid("Webhook events must be a non-empty list of WebhookEvent objects: [].")


def _duplicate_events(webhook_id: str, events: list[Event]) -> MlflowError:
    """The unique-constraint failure SQLite reports when one request names an event twice."""
    rows = [f"({webhook_id!r}, {e!r}, {a!r})" for e, a in events]
    if len(rows) > 10:
        shown = (", ".join(rows[:8]) + f"  ... displaying 10 of {len(rows)} total bound "
                 "parameter sets ...  " + ", ".join(rows[-2:]))
    else:
        shown = ", ".join(rows)
    return MlflowError(
        "(sqlite3.IntegrityError) UNIQUE constraint failed: webhook_events.webhook_id, "
        "webhook_events.entity, webhook_events.action\n[SQL: INSERT INTO webhook_events "
        "(webhook_id, entity, action) VALUES (?, ?, ?)]\n"
        f"[parameters: [{shown}]]\n(Background on this error at: https://sqlalche.me/e/21/gkpj)",
        BAD_REQUEST)


# ---- entities ---------------------------------------------------------------------------------

@dataclass
class Webhook:
    webhook_id: str
    name: str
    url: str
    events: list[Event]
    creation_timestamp: int
    last_updated_timestamp: int
    description: str | None = None
    status: str = "ACTIVE"
    #: the HMAC key; stored, used to sign deliveries, never returned by the API
    secret: str | None = None
    #: creation order, to break ties of equal creation times as MLflow's newest-first does
    seq: int = 0

    @property
    def active(self) -> bool:
        return self.status == "ACTIVE"


@dataclass
class Delivery:
    """One POST fakeflow made or would make for a webhook (``sent`` says which)."""

    delivery_id: str
    webhook_id: str
    entity: str
    action: str
    url: str
    payload: dict[str, Any]
    #: the exact body text and headers (signature, timestamp, delivery id) MLflow would send
    body: str
    headers: dict[str, str]
    #: True for a ``test_webhook`` call, False for a registry event
    test: bool = False
    #: "pending", "delivered" (a response came back), "failed" (no response) or "not_sent"
    outcome: str = "pending"
    sent: bool = False
    reason: str | None = None
    response_status: int | None = None
    response_body: str | None = None
    attempts: int = 0
    time: float = field(default_factory=time.time)

    @property
    def event(self) -> str:
        return f"{self.entity}.{self.action}"

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["event"] = self.event
        return out


class DeliveryLog:
    """The newest deliveries, oldest first; bounded so a long-running fake does not grow."""

    def __init__(self, limit: int = 1000) -> None:
        self._lock = threading.Condition()
        self._items: collections.deque[Delivery] = collections.deque(maxlen=limit)

    def add(self, delivery: Delivery) -> None:
        with self._lock:
            self._items.append(delivery)

    def settle(self, delivery: Delivery, **outcome: Any) -> None:
        with self._lock:
            for key, value in outcome.items():
                setattr(delivery, key, value)
            self._lock.notify_all()

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._lock.notify_all()

    def items(self) -> list[Delivery]:
        with self._lock:
            return list(self._items)

    def wait(self, timeout: float = 10.0) -> bool:
        """Block until no delivery is pending; False if some still are after ``timeout``."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while any(d.outcome == "pending" for d in self._items):
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._lock.wait(left)
        return True


# ---- the store --------------------------------------------------------------------------------

class WebhookStore:
    """Webhooks of the model registry. Shares the tracking store's lock, clock and ids."""

    def __init__(self, tracking: "TrackingStore") -> None:
        self.tracking = tracking
        self.deliveries = DeliveryLog()
        self.reset()

    def reset(self) -> None:
        self.webhooks: dict[str, Webhook] = {}
        self._seq = 0
        #: event -> (monotonic time cached, subscribers then)
        self._cache: dict[Event, tuple[float, list[Webhook]]] = {}
        self.deliveries.clear()

    # ---- CRUD ----------------------------------------------------------------------------------

    def _new_id(self) -> str:
        return str(uuid.UUID(self.tracking.ids.hex_id()))

    def create(self, name: str, url: str, events: list[Event], description: str | None,
               secret: str | None, status: str | None) -> Webhook:
        check_name(name)
        check_url(url)
        check_events(events)
        ids = self.tracking.ids
        drawn_from = ids.getstate()
        webhook_id = self._new_id()
        if len(set(events)) != len(events):
            ids.setstate(drawn_from)  # refused: the id it quotes was never stored
            raise _duplicate_events(webhook_id, events)
        now = self.tracking.clock.now_ms()
        self._seq += 1
        webhook = Webhook(webhook_id, name, url, sorted(events), now, now, description,
                          status or "ACTIVE", secret, self._seq)
        self.webhooks[webhook_id] = webhook
        return copy.deepcopy(webhook)

    def _live(self, webhook_id: str) -> Webhook:
        webhook = self.webhooks.get(webhook_id)
        if webhook is None:
            raise not_found(f"Webhook with ID {webhook_id} not found.")
        return webhook

    def get(self, webhook_id: str) -> Webhook:
        return copy.deepcopy(self._live(webhook_id))

    def list(self, max_results: int | None, page_token: str | None
             ) -> tuple[list[Webhook], str | None]:
        max_results = max_results or 100
        if max_results < 1 or max_results > 1000:
            raise invalid("max_results must be between 1 and 1000.")
        ordered = sorted(self.webhooks.values(),
                         key=lambda w: (w.creation_timestamp, w.seq), reverse=True)
        page, token = page_slice(ordered, decode_offset_token(page_token), max_results)
        return copy.deepcopy(page), token

    def update(self, webhook_id: str, name: str | None = None, description: str | None = None,
               url: str | None = None, events: list[Event] | None = None,
               secret: str | None = None, status: str | None = None) -> Webhook:
        webhook = self._live(webhook_id)
        if name is not None:
            check_name(name)
        if url is not None:
            check_url(url)
        if events is not None:
            check_events(events)
            if len(set(events)) != len(events):
                raise _duplicate_events(webhook_id, events)
        if name is not None:
            webhook.name = name
        if url is not None:
            webhook.url = url
        if events is not None:
            webhook.events = sorted(events)
        if description is not None:
            webhook.description = description
        if secret is not None:
            webhook.secret = secret
        if status is not None:
            webhook.status = status
        webhook.last_updated_timestamp = self.tracking.clock.now_ms()
        return copy.deepcopy(webhook)

    def delete(self, webhook_id: str) -> None:
        self._live(webhook_id)
        del self.webhooks[webhook_id]

    # ---- delivery --------------------------------------------------------------------------------

    def subscribers(self, event: Event) -> list[Webhook]:
        """Active webhooks subscribed to ``event``, as the (possibly stale) cache has them."""
        ttl = _cache_ttl()
        now = time.monotonic()
        cached = self._cache.get(event)
        if cached is None or now - cached[0] >= ttl:
            listed = sorted((w for w in self.webhooks.values() if event in w.events),
                            key=lambda w: (w.creation_timestamp, w.seq), reverse=True)
            cached = (now, copy.deepcopy(listed))
            self._cache[event] = cached
        return [w for w in cached[1] if w.active]

    # ---- snapshots -----------------------------------------------------------------------------

    def export(self) -> list[dict[str, Any]]:
        """Every live webhook, secrets included (a snapshot restores a working server)."""
        return [asdict(w) for w in sorted(self.webhooks.values(), key=lambda w: w.seq)]

    def adopt(self, webhooks: dict[str, Webhook]) -> None:
        """Take ``decode_webhooks``' result as the whole set (the caller holds the lock)."""
        self.webhooks = webhooks
        self._seq = max((w.seq for w in webhooks.values()), default=0)
        self._cache.clear()


def decode_webhooks(rows: Iterable[dict[str, Any]]) -> dict[str, Webhook]:
    """Webhooks from ``WebhookStore.export`` rows; raises KeyError/TypeError on a bad row."""
    webhooks: dict[str, Webhook] = {}
    for row in rows:
        row = dict(row)
        row["events"] = [(str(e), str(a)) for e, a in row["events"]]
        webhook = Webhook(**row)
        webhooks[webhook.webhook_id] = webhook
    return webhooks


def _cache_ttl() -> float:
    try:
        return float(int(os.environ.get(CACHE_TTL_ENV, "60")))
    except ValueError:
        return 60.0
