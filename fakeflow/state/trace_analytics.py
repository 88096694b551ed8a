"""A trace's analytics: token usage, cost and session, and the user its spans name.

MLflow 3.17.2 keeps token usage, cost and the session id in columns of its trace table, and
shows them as the trace metadata ``mlflow.trace.tokenUsage``, ``mlflow.trace.cost`` and
``mlflow.trace.session`` (JSON rebuilt from the columns, so always in one canonical form). The
trace info's own metadata sets only the columns it names; span batches fill the rest from the
``mlflow.chat.tokenUsage`` / ``mlflow.llm.cost`` / ``session.id`` / ``user.id`` attributes.

Here the canonical metadata strings *are* the columns: :func:`columns` reads them back, and
every writer goes through :func:`merge_info_metadata` (trace info) or :func:`derive`
(span batches), so search, metrics and rendering share one representation.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any, Iterable, Mapping, Sequence

from fakeflow.state.errors import MlflowError, invalid

SESSION_KEY = "mlflow.trace.session"
TOKEN_USAGE_KEY = "mlflow.trace.tokenUsage"
COST_KEY = "mlflow.trace.cost"
USER_KEY = "mlflow.trace.user"
FINALIZED_KEY = "mlflow.trace.infoFinalized"
#: Metadata MLflow keeps as columns (never stored as metadata rows).
PROMOTED = (SESSION_KEY, TOKEN_USAGE_KEY, COST_KEY)
TOKEN_KEYS = ("input_tokens", "output_tokens", "total_tokens", "cache_read_input_tokens",
              "cache_creation_input_tokens", "cache_creation_input_tokens_above_1hr")
COST_KEYS = ("input_cost", "output_cost", "total_cost")
USAGE_ATTRIBUTE = "mlflow.chat.tokenUsage"
COST_ATTRIBUTE = "mlflow.llm.cost"
SESSION_ATTRIBUTES = ("session.id", "gen_ai.conversation.id")
USER_ATTRIBUTE = "user.id"
MAX_SESSION_LENGTH = 250
_BIGINT = (-(2**63), 2**63 - 1)

#: (span id, parent span id, the attribute's JSON object or None)
Node = tuple[str, "str | None", "dict[str, Any] | None"]


class AnalyticsCrash(Exception):
    """A batch MLflow fails on with an unhandled error (its OTLP route answers 422)."""


# ---- value conversions (MLflow's column types) -------------------------------------------------

def token_count(value: Any) -> int | None:
    """A BIGINT token column: integral, finite and in range, else NULL."""
    if value is None or isinstance(value, bool):
        return None
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    if not number.is_finite() or number != number.to_integral_value():
        return None
    if not _BIGINT[0] <= number <= _BIGINT[1]:
        return None
    return int(number)


def finite_float(value: Any) -> float | None:
    """A FLOAT cost column: a finite float, else NULL."""
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return number if math.isfinite(number) else None


def _json_object(text: Any) -> dict[str, Any]:
    if isinstance(text, str):
        try:
            text = json.loads(text)
        except ValueError:
            return {}
    return text if isinstance(text, dict) else {}


def _json_string(value: str) -> str:
    """A stored attribute decoded once when that gives a string, else the stored text."""
    try:
        parsed = json.loads(value)
    except ValueError:
        return value
    return parsed if isinstance(parsed, str) else value


def check_session(value: str) -> str:
    if len(value) > MAX_SESSION_LENGTH:
        raise invalid(f"'Session ID' exceeds the maximum length of {MAX_SESSION_LENGTH} "
                      "characters")
    return value


# ---- the columns, as canonical metadata ----------------------------------------------------------

def columns(metadata: Mapping[str, str]) -> dict[str, Any]:
    """The token and cost columns a trace's metadata stands for (absent ones left out)."""
    out: dict[str, Any] = {}
    usage = metadata.get(TOKEN_USAGE_KEY)
    if usage is not None:
        parsed = _json_object(usage)
        out.update((k, v) for k in TOKEN_KEYS if (v := token_count(parsed.get(k))) is not None)
    cost = metadata.get(COST_KEY)
    if cost is not None:
        parsed = _json_object(cost)
        out.update((k, v) for k in COST_KEYS if (v := finite_float(parsed.get(k))) is not None)
    return out


def in_row_order(metadata: Mapping[str, str]) -> dict[str, str]:
    """Metadata as MLflow lists it where order shows (v2 answers): its stored rows in the order
    they were inserted, then the values rebuilt from the session, token and cost columns."""
    out = {k: v for k, v in metadata.items() if k not in PROMOTED}
    out.update((k, metadata[k]) for k in PROMOTED if k in metadata)
    return out


def _write(metadata: dict[str, str], key: str, keys: Sequence[str], values: Mapping[str, Any]
           ) -> None:
    shown = {k: values[k] for k in keys if values.get(k) is not None}
    if shown:
        metadata[key] = json.dumps(shown)
    else:
        metadata.pop(key, None)


def merge_info_metadata(stored: Mapping[str, str], incoming: Mapping[str, str]
                        ) -> dict[str, str]:
    """``stored`` metadata after a trace info's ``incoming`` metadata: the session, token and
    cost values it names replace the stored ones (a value that is no number clears its column);
    everything else is merged as sent. Raises before any change for a too long session."""
    session = incoming.get(SESSION_KEY)
    if session is not None:
        check_session(session)
    merged = {k: v for k, v in stored.items()}
    # MLflow writes a trace info's metadata rows in key order; rows already there keep their place
    merged.update((k, incoming[k]) for k in sorted(incoming) if k not in PROMOTED)
    if session is not None:
        merged[SESSION_KEY] = session
    current = columns(stored)
    for key, keys, convert in ((TOKEN_USAGE_KEY, TOKEN_KEYS, token_count),
                               (COST_KEY, COST_KEYS, finite_float)):
        if key in incoming:
            sent = _json_object(incoming[key])
            current.update((k, convert(sent[k])) for k in keys if k in sent)
            _write(merged, key, keys, current)
    return merged


# ---- span batches --------------------------------------------------------------------------------

@lru_cache(maxsize=65536)
def _json_dict(text: str) -> dict[str, Any] | None:
    """A stored attribute's JSON object (cached: later batches re-read every stored span;
    callers only read the result)."""
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


#: Longer attribute texts are parsed each time: the cache must not pin large strings in memory.
_CACHED_TEXT = 1024


def _node(span: dict[str, Any], attribute: str) -> Node:
    value = (span.get("attributes") or {}).get(attribute)
    data = None
    if isinstance(value, str):
        data = _json_dict(value) if len(value) <= _CACHED_TEXT else _json_dict.__wrapped__(value)
    return span["span_id"], span.get("parent_span_id"), data


def tree_sum(nodes: Sequence[Node], keys: Sequence[str], default: float,
             optional: Sequence[str] = ()) -> dict[str, Any] | None:
    """MLflow's tree-aware sum: a span's data counts unless an ancestor's already did (rollup
    spans carry their children's usage). Nodes are walked depth first in MLflow's order, so
    float sums round the same; arithmetic on values that are no numbers fails as it does."""
    ids = {n[0] for n in nodes}
    children: dict[str, list[Node]] = {}
    roots: list[tuple[Node, bool]] = []
    for node in nodes:
        parent = node[1]
        if parent and parent in ids:
            children.setdefault(parent, []).append(node)
        else:
            roots.append((node, False))
    totals: dict[str, Any] = dict.fromkeys(keys, default)
    found = False
    stack = roots
    while stack:
        node, covered = stack.pop()
        data = node[2]
        if data is not None and not covered:
            for k in keys:
                totals[k] += data.get(k, default)
            for k in optional:
                if k in data:
                    totals[k] = totals.get(k, default) + data[k]
            found = True
        below = covered or data is not None
        stack.extend((child, below) for child in children.get(node[0], ()))
    return totals if found else None


def usage_total(nodes: Sequence[Node]) -> dict[str, Any] | None:
    return tree_sum(nodes, TOKEN_KEYS[:3], 0, TOKEN_KEYS[3:])


def cost_total(nodes: Sequence[Node]) -> dict[str, Any] | None:
    return tree_sum(nodes, COST_KEYS, 0.0)


@dataclass
class BatchAnalytics:
    """What one trace's spans in one batch say about the trace (computed outside the lock)."""

    span_ids: set[str]
    usage_nodes: list[Node] = field(default_factory=list)
    cost_nodes: list[Node] = field(default_factory=list)
    usage: dict[str, Any] | None = None
    cost: dict[str, Any] | None = None
    session: str | None = None
    user: str | None = None

    @property
    def carries(self) -> bool:
        """Usage, a cost or a session: only then does MLflow look at the finalized marker
        (which also keeps the trace's time range as its info set it)."""
        return self.usage is not None or self.cost is not None or bool(self.session)


def analyse(spans: Sequence[dict[str, Any]]) -> BatchAnalytics:
    """One trace's spans (attributes as stored) in MLflow's order of checks: per span the
    session id (too long: INVALID_PARAMETER_VALUE) and the cost (not a JSON object: a crash),
    then the usage and cost sums (values that are no numbers: a crash)."""
    out = BatchAnalytics({s["span_id"] for s in spans})
    session: str | None = None
    for span in spans:
        attributes = span.get("attributes") or {}
        out.usage_nodes.append(_node(span, USAGE_ATTRIBUTE))
        out.cost_nodes.append(_node(span, COST_ATTRIBUTE))
        if not attributes:
            continue
        if session is None:
            raw = attributes.get(SESSION_ATTRIBUTES[0]) or attributes.get(SESSION_ATTRIBUTES[1])
            if raw:
                session = check_session(_json_string(raw))
        if out.user is None and attributes.get(USER_ATTRIBUTE):
            out.user = _json_string(attributes[USER_ATTRIBUTE])
        cost = attributes.get(COST_ATTRIBUTE)
        if cost:
            try:
                parsed = json.loads(cost)
            except (TypeError, ValueError):
                parsed = {}
            if not isinstance(parsed, dict):
                raise AnalyticsCrash(f"cost {cost!r} is no JSON object")
    out.session = session
    out.usage, out.cost = _sums(out.usage_nodes, out.cost_nodes)
    return out


def _sums(usage_nodes: Sequence[Node], cost_nodes: Sequence[Node]
          ) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    try:
        return usage_total(usage_nodes), cost_total(cost_nodes)
    except (TypeError, ValueError, OverflowError, AttributeError) as error:
        raise AnalyticsCrash(str(error)) from error


@lru_cache(maxsize=65536)
def _span_id_order(span_id: str) -> bytes:
    """Stored spans come back in span id order (SQLite's primary key index, hex ids)."""
    try:
        return base64.b64decode(span_id)
    except (binascii.Error, ValueError):
        return span_id.encode()


def derive(metadata: dict[str, str], batch: BatchAnalytics,
           stored_spans: Iterable[dict[str, Any]] | None) -> dict[str, str]:
    """The trace metadata after a span batch. ``stored_spans`` are the spans earlier batches
    stored (None for a trace this batch creates). A finalized trace whose info set token usage
    (or cost) keeps it; otherwise the sum is taken over the whole span tree, stored spans
    included, so a rollup parent and its children arriving apart are not counted twice.
    A session and a user are only ever filled in. A sum that fails here fails as MLflow's
    database session reports it (INTERNAL_ERROR with Python's message); nothing changes."""
    out = dict(metadata)
    if not batch.carries and not batch.user:
        return out
    finalized = FINALIZED_KEY in metadata
    current = columns(metadata)
    earlier: list[dict[str, Any]] | None = None
    for key, keys, total, convert, attribute in (
            (TOKEN_USAGE_KEY, TOKEN_KEYS, batch.usage, token_count, USAGE_ATTRIBUTE),
            (COST_KEY, COST_KEYS, batch.cost, finite_float, COST_ATTRIBUTE)):
        if total is None or (finalized and any(k in current for k in keys)):
            continue
        if stored_spans is not None:
            if earlier is None:
                earlier = sorted((s for s in stored_spans if s["span_id"] not in batch.span_ids),
                                 key=lambda s: _span_id_order(s["span_id"]))
            nodes = (batch.usage_nodes if key == TOKEN_USAGE_KEY else batch.cost_nodes) + [
                _node(s, attribute) for s in earlier]
            try:
                total = (usage_total if key == TOKEN_USAGE_KEY else cost_total)(nodes)
            except (TypeError, ValueError, OverflowError, AttributeError) as error:
                # inside MLflow's database session, which reports any error as an internal one
                raise MlflowError(str(error), "INTERNAL_ERROR") from error
        if total:
            values = dict(current)
            values.update((k, v) for k in keys if (v := convert(total.get(k))) is not None)
            _write(out, key, keys, values)
    if batch.session and SESSION_KEY not in metadata:
        out[SESSION_KEY] = batch.session
    if batch.user and USER_KEY not in metadata:
        out[USER_KEY] = batch.user
    return out
