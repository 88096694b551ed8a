"""Search of MLflow 3 logged models: a verified subset of MLflow 3.17.2's SQL search.

MLflow reads this filter with its own sqlparse-based reader (not the run/registry grammar):
comparisons joined by AND. fakeflow takes the forms checked against the real server —
``name``, ``model_id``, ``model_type``, ``source_run_id``, ``tags.<key>`` and ``params.<key>``
compared with =, !=, LIKE or ILIKE to a quoted string, and the creation/update stamps compared
numerically — and refuses anything else with NOT_IMPLEMENTED rather than guess. Results leave
deleted models out, come newest first then by id (or by the order_by fields given), and pages
carry MLflow's token (base64 JSON of the request and the offset).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass
from typing import Any, Sequence

from fakeflow.search.compare import compare
from fakeflow.state.errors import MlflowError, invalid

STRING_ATTRIBUTES = ("name", "model_id", "model_type", "source_run_id")
ALIASES = {
    "creation_time": "creation_timestamp_ms",
    "creation_timestamp": "creation_timestamp_ms",
    "last_updated_timestamp": "last_updated_timestamp_ms",
}
NUMERIC_ATTRIBUTES = ("creation_timestamp_ms", "last_updated_timestamp_ms")
STRING_OPS = ("=", "!=", "LIKE", "ILIKE", "IN", "NOT IN")
NUMERIC_OPS = ("<", "<=", ">", ">=", "=", "!=")
_COMPARISON = re.compile(
    r"\s*(?:(attributes|tags|params)\.)?([A-Za-z_][A-Za-z0-9_]*)\s*"
    r"(!=|<=|>=|=|<|>|(?i:ilike|like)(?=[\s']))\s*('[^']*'|-?\d+)\s*"
)
_AND = re.compile(r"\s+(?i:and)\s+")


@dataclass(frozen=True)
class Comparison:
    entity: str  # "attributes" | "tags" | "params"
    key: str
    op: str
    value: str | float


def unsupported(what: str) -> MlflowError:
    return MlflowError(f"fakeflow does not support this logged-model search yet: {what}",
                       "NOT_IMPLEMENTED")


def parse_filter(filter_string: str | None) -> list[Comparison]:
    if not filter_string:
        return []
    if filter_string.count("'") % 2:
        raise unsupported(repr(filter_string))
    out = []
    for part in _AND.split(filter_string.strip()):
        match = _COMPARISON.fullmatch(part)
        if match is None:
            raise unsupported(repr(filter_string))
        entity, key, op, raw = match.groups()
        entity, op = entity or "attributes", op.upper()
        if entity == "attributes":
            key = ALIASES.get(key, key)
            if key not in STRING_ATTRIBUTES + NUMERIC_ATTRIBUTES:
                raise unsupported(repr(filter_string))
        numeric = entity == "attributes" and key in NUMERIC_ATTRIBUTES
        ops = NUMERIC_OPS if numeric else STRING_OPS
        if op not in ops:
            raise invalid(
                f"Invalid comparison operator for {entity}.{key}: {op!r}. Expected one of {ops}."
            )
        if numeric:
            if raw.startswith("'"):
                raise unsupported(repr(filter_string))
            value: str | float = float(raw)
        else:
            value = raw.strip("'")
        out.append(Comparison(entity, key, op, value))
    return out


def _field(model: Any, entity: str, key: str) -> Any:
    if entity == "tags":
        return model.tags.get(key)
    if entity == "params":
        return model.params.get(key)
    return getattr(model, {"creation_timestamp_ms": "creation_timestamp",
                           "last_updated_timestamp_ms": "last_updated_timestamp"}.get(key, key))


def matches(model: Any, comparisons: Sequence[Comparison]) -> bool:
    for c in comparisons:
        lhs = _field(model, c.entity, c.key)
        if lhs is None or not compare(lhs, c.op, c.value):
            return False
    return True


def order_key(order_by: Sequence[dict[str, Any]]) -> Any:
    """A sort key for the order_by fields, then creation time (newest first) and model id."""
    fields = []
    for ob in order_by:
        name = ob.get("field_name") or ""
        if "." in name:
            raise unsupported(f"order_by {name!r}")
        name = ALIASES.get(name, name)
        if name not in STRING_ATTRIBUTES + NUMERIC_ATTRIBUTES:
            raise unsupported(f"order_by {name!r}")
        fields.append((name, ob.get("ascending", True)))
    names = [name for name, _ in fields]
    if "creation_timestamp_ms" not in names:
        fields.append(("creation_timestamp_ms", False))
    if "model_id" not in names:
        fields.append(("model_id", True))
    return fields


def sort_models(models: list[Any], fields: list[tuple[str, bool]]) -> list[Any]:
    for name, ascending in reversed(fields):
        models.sort(key=lambda m, n=name: _field(m, "attributes", n), reverse=not ascending)
    return models


def encode_token(experiment_ids: list[str], filter_string: str | None,
                 order_by: list[dict[str, Any]] | None, offset: int) -> str:
    body = {"experiment_ids": experiment_ids, "filter_string": filter_string,
            "order_by": order_by, "offset": offset}
    return base64.b64encode(json.dumps(body).encode("utf-8")).decode("utf-8")


def decode_offset(token: str, experiment_ids: list[str], filter_string: str | None,
                  order_by: list[dict[str, Any]] | None) -> int:
    try:
        data = json.loads(base64.b64decode(token.encode("utf-8")).decode("utf-8"))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise unsupported("this page token") from None
    if not isinstance(data, dict):
        raise unsupported("this page token")
    if data.get("experiment_ids") != experiment_ids:
        raise invalid(
            "Experiment IDs in the page token do not match the requested experiment IDs. "
            f"Expected: {experiment_ids}. Found: {data.get('experiment_ids')}"
        )
    if (data.get("filter_string") or None) != filter_string:
        raise invalid(
            "Filter string in the page token does not match the requested filter string. "
            f"Expected: {filter_string}. Found: {data.get('filter_string') or None}"
        )
    if (data.get("order_by") or None) != order_by:
        raise invalid(
            "Order by in the page token does not match the requested order by. "
            f"Expected: {order_by}. Found: {data.get('order_by') or None}"
        )
    offset = data.get("offset") or 0
    if not isinstance(offset, int):
        raise unsupported("this page token")
    return offset
