"""``json.dumps(obj, indent=2)`` byte for byte, several times faster.

MLflow pretty-prints every success body. The standard library falls back to its pure-Python
encoder whenever ``indent`` is set, which made rendering the dominant cost of a search; this
writer keeps the exact output but escapes strings with the C helper and avoids generators.
"""

from __future__ import annotations

from json.encoder import encode_basestring_ascii as _quote
from typing import Any

_INF = float("inf")


def _number(value: float) -> str:
    if value != value:
        return "NaN"
    if value == _INF:
        return "Infinity"
    if value == -_INF:
        return "-Infinity"
    return float.__repr__(value)


def dumps_indented(obj: Any, newline: str = "\n") -> str:
    """``newline`` is the line break plus the indentation ``obj`` itself starts at."""
    out: list[str] = []
    _write(obj, out, newline)
    return "".join(out)


def _scalar(value: Any) -> str | None:
    """The JSON text of a scalar, or None for a container."""
    kind = type(value)
    if kind is str:
        return _quote(value)
    if kind is int:
        return int.__repr__(value)
    if kind is float:
        return _number(value)
    if value is True:
        return "true"
    if value is False:
        return "false"
    if value is None:
        return "null"
    if kind is dict or kind is list:
        return None
    raise TypeError(f"cannot render {kind.__name__} as JSON")


def _write(obj: Any, out: list[str], newline: str) -> None:
    append = out.append
    if type(obj) is dict:
        if not obj:
            append("{}")
            return
        inner = newline + "  "
        separator = "{" + inner
        for key, value in obj.items():
            kind = type(value)
            if kind is str:
                append(separator + _quote(key) + ": " + _quote(value))
            elif kind is int:
                append(separator + _quote(key) + ": " + int.__repr__(value))
            else:
                text = _scalar(value)
                if text is None:
                    append(separator + _quote(key) + ": ")
                    _write(value, out, inner)
                else:
                    append(separator + _quote(key) + ": " + text)
            separator = "," + inner
        append(newline + "}")
    elif type(obj) is list:
        if not obj:
            append("[]")
            return
        inner = newline + "  "
        separator = "[" + inner
        for value in obj:
            text = _scalar(value)
            if text is None:
                append(separator)
                _write(value, out, inner)
            else:
                append(separator + text)
            separator = "," + inner
        append(newline + "]")
    else:
        append(_scalar(obj))
