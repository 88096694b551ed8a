"""Read an HTTP request into a request message the way MLflow's server does.

MLflow builds a dict from the query string (GET with a query) or the JSON body (anything else),
feeds it to protobuf's JSON parser field by field, and keeps whatever was parsed before the first
bad field. Only if that parse failed does it type-check the raw values against a small per-handler
schema. Required-ness is always checked on the raw dict (snake_case keys only). This module
reproduces that pipeline, because clients observe its quirks.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any, Callable, Sequence, Union

from werkzeug.exceptions import InternalServerError
from werkzeug.wrappers import Request

from fakeflow.state.errors import API_DOCS_HINT, invalid
from fakeflow.web.messages import Field, Message

REQUIRED = "required"
STRING = "string"
INTLIKE = "intlike"
FLOATLIKE = "floatlike"
ARRAY = "array"
ITEM_STRINGS = "item_strings"
BOOL = "bool"
#: MLflow's type checks: skipped when protobuf parsed the whole message
_TYPE_CHECKS = {STRING, INTLIKE, FLOATLIKE, ARRAY, ITEM_STRINGS, BOOL}


class CheckFailed(Exception):
    """Raised by a custom schema check; its message (if any) replaces the generic one."""


Check = Union[str, Callable[[Any], None]]
Schema = Sequence[tuple[str, Sequence[Check]]]

_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
#: protobuf reads a key like "[pkg.name]" as an extension, and fails: no MLflow message has any
_EXTENSION_KEY = re.compile(r"\[[a-zA-Z0-9\._]*\]$")
_INT_RANGES = {"int32": (-(2**31), 2**31 - 1), "int64": (-(2**63), 2**63 - 1)}


class _ParseError(Exception):
    pass


def decode_json_body(request: Request) -> Any:
    """The body as Flask's ``get_json(force=True, silent=True)`` gives it: None if not JSON.

    JSON nested deeper than the interpreter's recursion limit crashes the decoder (500) there
    as here. An empty Content-Type header is present, so it is not "missing".
    """
    if request.method in ("POST", "PUT"):
        if request.content_type is None:
            raise invalid("Bad Request. Content-Type header is missing.")
        if request.content_type.split(";")[0] != "application/json":
            raise invalid("Bad Request. Content-Type must be one of ['application/json'].")
    data = request.get_data(cache=True)
    try:
        return json.loads(data) if data else None
    except ValueError:
        return None
    except RecursionError:
        raise InternalServerError()


def read_json_body(request: Request) -> Any:
    """The body as MLflow's handlers read it: bad or empty JSON as ``{}``, double-encoded decoded."""
    body = decode_json_body(request)
    if isinstance(body, str):
        try:
            body = json.loads(body)
        except (ValueError, RecursionError):
            raise InternalServerError()
    return {} if body is None else body


def raw_request_dict(request: Request, message: Message) -> Any:
    if request.method == "GET" and request.args:
        raw: dict[str, Any] = {}
        for f in message.fields:
            if f.name not in request.args:
                continue
            if f.repeated:
                raw[f.name] = request.args.getlist(f.name)
                continue
            value = request.args.get(f.name)
            if f.kind == "bool":
                if value.lower() not in ("true", "false"):
                    raise invalid(f"Invalid boolean value: {value}, must be 'true' or 'false'.")
                value = value.lower() == "true"
            raw[f.name] = value
        return raw
    return read_json_body(request)


def reject_conflicting_aliases(raw: Any, message: Message) -> None:
    if not isinstance(raw, dict):
        return
    for f in message.aliased:
        if f.name != f.json_name and f.name in raw and f.json_name in raw:
            raise invalid(
                f"Request specifies both '{f.name}' and '{f.json_name}'; provide only one of them."
            )
        if f.kind != "message" or f.message is None:
            continue
        value = raw.get(f.name, raw.get(f.json_name))
        for item in value if isinstance(value, list) else [value]:
            reject_conflicting_aliases(item, f.message)


def parse_message(raw: Any, message: Message) -> tuple[dict[str, Any], bool]:
    """Parse into ``{field: value}`` of the fields that were set; False if parsing stopped early."""
    values: dict[str, Any] = {}
    try:
        _parse_into(raw, message, values)
    except _ParseError:
        return values, False
    return values, True


def _parse_into(raw: Any, message: Message, out: dict[str, Any], nested: bool = False) -> None:
    """protobuf's ConvertMessage: walk the keys in order, stop at the first bad value."""
    if isinstance(raw, str):
        # iterating a string yields one-letter keys: none is a field, but a lone surrogate
        # crashes protobuf's name lookup
        if _LONE_SURROGATE.search(raw):
            raise InternalServerError()
        return
    if isinstance(raw, list):
        # A list is iterated like a dict's keys; looking a key up in it fails.
        for key in raw:
            if not isinstance(key, str) or message.field_by_key(key):
                raise _ParseError()
            _check_unknown_key(key)
        return
    if not isinstance(raw, dict):
        if nested:
            raise _ParseError()  # protobuf's TypeError inside a field becomes a parse error
        raise InternalServerError()  # at the top, protobuf's TypeError escapes MLflow
    for key, value in raw.items():
        f = message.field_by_key(key)
        if f is None:
            _check_unknown_key(key)
            continue
        if value is None:
            out.pop(f.name, None)
            continue
        if f.repeated:
            items: list[Any] = []
            out[f.name] = items
            if not isinstance(value, list):
                raise _ParseError()
            for item in value:
                if f.kind == "message":
                    sub: dict[str, Any] = {}
                    items.append(sub)  # protobuf adds the element before parsing into it
                    if item is None:
                        raise _ParseError()
                    _parse_into(item, f.message, sub, nested=True)
                else:
                    if item is None:
                        raise _ParseError()
                    converted = _convert_scalar(item, f)
                    if converted is not _SKIP:
                        items.append(converted)
            continue
        if f.kind == "message":
            sub = {}
            out[f.name] = sub
            _parse_into(value, f.message, sub, nested=True)
            continue
        converted = _convert_scalar(value, f)
        if converted is not _SKIP:
            out[f.name] = converted


def _check_unknown_key(key: str) -> None:
    """What protobuf does with a key that names no field (unknown fields are ignored)."""
    if _LONE_SURROGATE.search(key):
        raise InternalServerError()  # its C name lookup cannot encode the key: a SystemError
    if _EXTENSION_KEY.match(key):
        raise _ParseError()  # "[name]" asks for an extension; MLflow's messages have none


_SKIP = object()


def _convert_scalar(value: Any, f: Field) -> Any:
    kind = f.kind
    if kind == "string":
        if not isinstance(value, str) or _LONE_SURROGATE.search(value):
            raise _ParseError()
        return value
    if kind in _INT_RANGES:
        return _convert_int(value, kind)
    if kind == "double":
        return _convert_double(value)
    if kind == "bool":
        if not isinstance(value, bool):
            raise _ParseError()
        return value
    if kind == "enum":
        return _convert_enum(value, f)
    if kind in _WELL_KNOWN:
        return _WELL_KNOWN[kind](value)
    raise _ParseError()


def _any_value(value: Any) -> Any:
    """google.protobuf.Value: any JSON value is one."""
    return value


def _timestamp(value: Any) -> str:
    """google.protobuf.Timestamp: an RFC 3339 string (kept as written; read it when used)."""
    from fakeflow.web.trace_render import parse_timestamp_ms

    try:
        parse_timestamp_ms(value)
    except (ValueError, TypeError):
        raise _ParseError()
    return value


def _string_map(value: Any) -> dict[str, str]:
    """map<string, string>: an object whose values are all strings."""
    if not isinstance(value, dict) or any(
            not isinstance(v, str) or _LONE_SURROGATE.search(v) for v in value.values()):
        raise _ParseError()
    return dict(value)


#: well-known message types and maps, parsed as protobuf's JSON parser does
_WELL_KNOWN: dict[str, Callable[[Any], Any]] = {
    "value": _any_value, "timestamp": _timestamp, "map": _string_map,
}


def _convert_int(value: Any, kind: str) -> int:
    if isinstance(value, bool) or isinstance(value, (list, dict)):
        raise _ParseError()
    if isinstance(value, float) and not value.is_integer():
        raise _ParseError()
    if isinstance(value, str) and " " in value:
        raise _ParseError()
    try:
        number = int(value)
    except (ValueError, TypeError, OverflowError):
        # protobuf then tries the value as a float that happens to be integral ("1e3").
        try:
            as_float = float(value)
        except (ValueError, TypeError, OverflowError):
            raise _ParseError()
        if not as_float.is_integer():
            raise _ParseError()
        number = int(as_float)
    low, high = _INT_RANGES[kind]
    if not low <= number <= high:
        raise _ParseError()
    return number


def _convert_double(value: Any) -> float:
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        raise _ParseError()  # a bare NaN literal; clients must quote it
    if isinstance(value, (list, dict)):
        raise _ParseError()
    if value == "nan":
        raise _ParseError()  # protobuf insists on "NaN"
    if isinstance(value, str):
        special = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}
        if value in special:
            return special[value]
    try:
        return float(value)
    except (ValueError, TypeError):
        raise _ParseError()
    except OverflowError:
        raise InternalServerError()  # an integer beyond float range escapes protobuf


def _convert_enum(value: Any, f: Field) -> Any:
    names = dict(f.enum)
    numbers = {number: name for name, number in f.enum}
    if isinstance(value, str) and value in names:
        return value
    if isinstance(value, str) and _LONE_SURROGATE.search(value):
        raise InternalServerError()  # protobuf's C name lookup cannot encode it
    try:
        number = int(value)
    except (ValueError, TypeError):
        if isinstance(value, str):
            return _SKIP  # unknown enum names are dropped silently
        raise _ParseError()
    except OverflowError:
        raise InternalServerError()  # int(1e400) escapes protobuf
    if number not in numbers:
        raise _ParseError()
    return numbers[number]


def validate_schema(raw: dict[str, Any], schema: Schema, parse_succeeded: bool) -> None:
    for param, checks in schema:
        if param not in raw and REQUIRED not in checks:
            continue
        if not isinstance(raw, dict):
            raise InternalServerError()  # MLflow calls .get() on the body and crashes
        value = raw.get(param)
        if param == "run_id" and value is None and "run_uuid" in raw:
            value = raw.get("run_uuid")
        for check in checks:
            if check in _TYPE_CHECKS and parse_succeeded:
                continue
            _apply_check(check, param, value)


def _apply_check(check: Check, param: str, value: Any) -> None:
    try:
        if callable(check):
            check(value)
            return
        ok = {
            REQUIRED: lambda v: v is not None and v != "",
            STRING: lambda v: isinstance(v, str),
            INTLIKE: _intlike,
            FLOATLIKE: _floatlike,
            ARRAY: lambda v: isinstance(v, list),
            ITEM_STRINGS: lambda v: all(isinstance(i, str) for i in v),
            BOOL: lambda v: isinstance(v, bool),
        }[check](value)
    except CheckFailed as failure:
        message = failure.args[0] if failure.args else _invalid_value(param, value)
        raise invalid(message + API_DOCS_HINT)
    except (TypeError, ValueError, AttributeError, KeyError, OverflowError):
        # MLflow's own checks crash the same way on such input (int(-Infinity) included).
        raise InternalServerError()
    if not ok:
        if check == REQUIRED:
            raise invalid(f"Missing value for required parameter '{param}'.{API_DOCS_HINT}")
        raise invalid(_invalid_value(param, value) + API_DOCS_HINT)


def _invalid_value(param: str, value: Any) -> str:
    shown = json.dumps(value, sort_keys=True, separators=(",", ":"))
    return f"Invalid value {shown} for parameter '{param}' supplied:  Hint: Value was of type '{type(value).__name__}'."


def _intlike(value: Any) -> bool:
    try:
        value = int(value)
    except ValueError:
        pass
    return isinstance(value, int)


def _floatlike(value: Any) -> bool:
    try:
        value = float(value)
    except ValueError:
        pass
    return isinstance(value, float)


def required_in(path: str) -> Callable[[Any], None]:
    """A nested required check whose failure names ``path`` (e.g. ``metrics[0].key``)."""

    def check(value: Any) -> None:
        if value is None or value == "":
            raise CheckFailed(f"Missing value for required parameter '{path}'.")

    return check


def read_request(request: Request, message: Message, schema: Schema = ()) -> dict[str, Any]:
    """Parse and validate; return the set fields. Raises MlflowError as MLflow would."""
    raw = raw_request_dict(request, message)
    reject_conflicting_aliases(raw, message)
    values, ok = parse_message(raw, message)
    validate_schema(raw, schema, ok)
    return values
