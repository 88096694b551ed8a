"""JSON text the standard encoder refuses to write: raw tokens (1e400, NaN) and duplicate keys."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Raw:
    """A literal piece of JSON text, written as is (``Raw("1e400")``, ``Raw("[" * 10_000)``)."""

    text: str


@dataclass(frozen=True)
class Obj:
    """A JSON object as ordered pairs: keeps key order and allows duplicate keys."""

    pairs: tuple[tuple[str, Any], ...]

    def with_pair(self, index: int, key: str, value: Any) -> "Obj":
        pairs = list(self.pairs)
        pairs.insert(min(index, len(pairs)), (key, value))
        return Obj(tuple(pairs))

    def replaced(self, key: str, value: Any) -> "Obj":
        return Obj(tuple((k, value if k == key else v) for k, v in self.pairs))

    def put(self, key: str, value: Any, index: int) -> "Obj":
        """Replace ``key``'s value where it is, or insert the pair at ``index``."""
        if self.get(key) is not None:
            return self.replaced(key, value)
        return self.with_pair(index, key, value)

    def without(self, key: str) -> "Obj":
        return Obj(tuple((k, v) for k, v in self.pairs if k != key))

    def get(self, key: str, default: Any = None) -> Any:
        for k, v in self.pairs:
            if k == key:
                return v
        return default


def obj(mapping: dict[str, Any]) -> Obj:
    """An ``Obj`` from a dict, nested dicts and lists included."""
    return Obj(tuple((k, _convert(v)) for k, v in mapping.items()))


def _convert(value: Any) -> Any:
    if isinstance(value, dict):
        return obj(value)
    if isinstance(value, list):
        return [_convert(v) for v in value]
    return value


def dumps(value: Any) -> str:
    """JSON text; strings are ASCII-escaped, so lone surrogates travel as ``\\ud800`` escapes."""
    if isinstance(value, Raw):
        return value.text
    if isinstance(value, Obj):
        return "{" + ", ".join(f"{json.dumps(k)}: {dumps(v)}" for k, v in value.pairs) + "}"
    if isinstance(value, dict):
        return dumps(obj(value))
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(dumps(v) for v in value) + "]"
    return json.dumps(value)
