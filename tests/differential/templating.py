"""``${var}`` substitution into request parts, and capture of values from responses."""

from __future__ import annotations

import json
import re
from typing import Any, Mapping

_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?:\|(upper))?\}")


def substitute(value: Any, env: Mapping[str, str]) -> Any:
    """Replace ``${var}`` in every string inside ``value`` (dicts, lists, keys included)."""
    if isinstance(value, str):
        return _VAR.sub(lambda m: _lookup(env, m.group(1), m.group(2)), value)
    if isinstance(value, bytes):
        return substitute(value.decode("utf-8"), env).encode("utf-8")
    if isinstance(value, dict):
        return {substitute(k, env): substitute(v, env) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(substitute(v, env) for v in value)
    return value


def _lookup(env: Mapping[str, str], name: str, transform: str | None = None) -> str:
    """``${name}`` or ``${name|upper}``."""
    try:
        value = str(env[name])
    except KeyError:
        # Keep going so the comparison still reports the earlier failure; the marker
        # is identical on both sides and so never creates a difference of its own.
        return f"<missing:{name}>"
    return value.upper() if transform == "upper" else value


def extract(body: Any, path: str) -> Any:
    """Follow a dotted path (``runs.0.info.run_id``) through parsed JSON; None if absent."""
    node = body
    for part in path.split("."):
        if isinstance(node, str) and node[:1] in "[{":
            try:  # a field holding JSON text (an evaluation dataset's ``records``)
                node = json.loads(node)
            except ValueError:
                return None
        if isinstance(node, dict):
            node = node.get(part)
        elif isinstance(node, list) and part.lstrip("-").isdigit():
            index = int(part)
            node = node[index] if -len(node) <= index < len(node) else None
        else:
            return None
        if node is None:
            return None
    return node
