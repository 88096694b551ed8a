"""Fault injection: the next N calls to a route fail with a chosen status, or are delayed."""

from __future__ import annotations

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

    @property
    def remaining(self) -> int | None:
        return None if self.times is None else max(0, self.times - self.hits)

    def matches(self, method: str, path: str) -> bool:
        return (self.remaining is None or self.remaining > 0) and (
            self.method is None or self.method.upper() == method
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
        unknown = set(data) - known
        if unknown or "route" not in data:
            raise ValueError(f"a fault needs 'route' and may have {sorted(known)}; "
                             f"unknown: {sorted(unknown)}")
        return cls(**data)


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
