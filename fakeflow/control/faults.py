"""Fault injection: the next N calls to a route fail with a chosen status, or are delayed.

A fault is checked completely when it is made (from Python or from a JSON body): a bad one is
refused with ``ValueError`` and never stored, so it cannot break the answers to later calls.
"""

from __future__ import annotations

import math
import re
import threading
from dataclasses import dataclass, field
from typing import Any

from fakeflow.control.routes import route_matches
from fakeflow.state.errors import MlflowError
from fakeflow.web.status import error_body


@dataclass
class Fault:
    """The next ``times`` calls to ``route`` wait ``delay`` seconds, then fail with ``status``
    (``None`` = then answer normally). ``times=None`` means every call until cleared."""

    route: str
    times: int | None = 1
    status: int | None = 503
    error_code: str = "TEMPORARILY_UNAVAILABLE"
    message: str = "fakeflow: injected fault"
    delay: float = 0.0
    method: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    hits: int = 0

    def __post_init__(self) -> None:
        _check(self)

    @property
    def remaining(self) -> int | None:
        return None if self.times is None else max(0, self.times - self.hits)

    def matches(self, method: str, path: str) -> bool:
        return (self.remaining is None or self.remaining > 0) and (
            self.method is None or self.method == method
        ) and route_matches(self.route, path)

    def body(self) -> bytes:
        return error_body(MlflowError(self.message, self.error_code)).encode("utf-8")

    def as_dict(self) -> dict[str, Any]:
        return {
            "route": self.route, "times": self.times, "status": self.status,
            "error_code": self.error_code, "message": self.message, "delay": self.delay,
            "method": self.method, "headers": dict(self.headers), "hits": self.hits,
            "remaining": self.remaining,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Fault":
        known = {"route", "times", "status", "error_code", "message", "delay", "method", "headers"}
        if not isinstance(data, dict):
            raise ValueError("a fault is a JSON object")
        unknown = set(data) - known
        if unknown or "route" not in data:
            raise ValueError(f"a fault needs 'route' and may have {sorted(known)}; "
                             f"unknown: {sorted(unknown)}")
        return cls(**data)


_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")  # an HTTP method or header name
_HEADER_VALUE = re.compile(r"[\t\x20-\x7e\x80-\xff]*")  # no CR, LF or other controls
_RESERVED_HEADERS = {"content-length", "content-type", "transfer-encoding", "connection"}


def _check(fault: Fault) -> None:
    """Raise ``ValueError`` naming the first field that cannot work; normalise ``method``."""
    if not isinstance(fault.route, str) or not fault.route:
        raise ValueError("route must be a non-empty string, e.g. \"runs/log-batch\"")
    if fault.times is not None and (not _is_int(fault.times) or fault.times < 1):
        raise ValueError("times must be a positive integer or null (every call)")
    if fault.status is not None and (not _is_int(fault.status) or not 100 <= fault.status <= 599):
        raise ValueError("status must be an HTTP status code (100-599) or null (delay only)")
    for name in ("error_code", "message"):
        if not isinstance(getattr(fault, name), str):
            raise ValueError(f"{name} must be a string")
    delay = fault.delay
    if isinstance(delay, bool) or not isinstance(delay, (int, float)) \
            or not math.isfinite(delay) or delay < 0:
        raise ValueError("delay must be a finite number of seconds >= 0")
    if fault.method is not None:
        if not isinstance(fault.method, str) or not _TOKEN.fullmatch(fault.method):
            raise ValueError("method must be an HTTP method name or null (any method)")
        fault.method = fault.method.upper()
    if not isinstance(fault.headers, dict):
        raise ValueError("headers must be an object of header names to string values")
    for name, value in fault.headers.items():
        if not isinstance(name, str) or not _TOKEN.fullmatch(name) \
                or name.lower() in _RESERVED_HEADERS:
            raise ValueError(f"header name {name!r} is not allowed")
        if not isinstance(value, str) or not _HEADER_VALUE.fullmatch(value):
            raise ValueError(f"header {name!r} needs a string value without line breaks")
    if not _is_int(fault.hits) or fault.hits < 0:
        raise ValueError("hits must be a non-negative integer")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


class Faults:
    """Pending faults; the first matching one fires and counts down."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._lock = threading.Lock()

    def add(self, fault: Fault) -> Fault:
        with self._lock:
            self._faults.append(fault)
        return fault

    def clear(self) -> None:
        with self._lock:
            self._faults = []

    def pending(self) -> list[Fault]:
        with self._lock:
            return [f for f in self._faults if f.remaining is None or f.remaining > 0]

    def take(self, method: str, path: str) -> Fault | None:
        if not self._faults:
            return None
        with self._lock:
            for fault in self._faults:
                if fault.matches(method, path):
                    fault.hits += 1
                    return fault
        return None
