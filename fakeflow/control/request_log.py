"""The request log: what the fake received, for assertions about what the code under test sent."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Iterator

from fakeflow.control.routes import route_matches


@dataclass
class LoggedRequest:
    """One MLflow API call the fake answered (control calls are not logged)."""

    method: str
    path: str
    query: str
    body: bytes
    status: int = 0
    response_body: bytes = b""
    fault: bool = False
    time: float = 0.0

    @property
    def route(self) -> str:
        """The path without its API prefix: ``runs/log-batch`` for every API version."""
        for prefix in ("/api/2.0/mlflow/", "/ajax-api/2.0/mlflow/", "/api/3.0/mlflow/",
                       "/ajax-api/3.0/mlflow/"):
            if self.path.startswith(prefix):
                return self.path[len(prefix):]
        return self.path.lstrip("/")

    @property
    def json(self) -> Any:
        """The request body parsed as JSON (``None`` when empty or not JSON); an OTLP protobuf
        span export as its proto JSON."""
        if self.path == "/v1/traces":
            from fakeflow.web.otlp import export_as_json

            return export_as_json(self.body)
        return _parse_json(self.body)

    @property
    def response_json(self) -> Any:
        return _parse_json(self.response_body)

    @property
    def error_code(self) -> str | None:
        answer = self.response_json
        return answer.get("error_code") if isinstance(answer, dict) else None

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    def as_dict(self) -> dict[str, Any]:
        return {
            "method": self.method, "path": self.path, "route": self.route, "query": self.query,
            "body": self.json if self.json is not None else self.body.decode("utf-8", "replace"),
            "status": self.status, "error_code": self.error_code, "fault": self.fault,
            "time": self.time,
        }


def _parse_json(raw: bytes) -> Any:
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return None


class RequestLog:
    """What the fake received, in arrival order; helpers answer the usual assertions."""

    def __init__(self) -> None:
        self._entries: list[LoggedRequest] = []
        self.enabled = True

    def append(self, entry: LoggedRequest) -> None:
        self._entries.append(entry)

    def clear(self) -> None:
        self._entries = []

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Iterator[LoggedRequest]:
        return iter(list(self._entries))

    def __getitem__(self, index: int) -> LoggedRequest:
        return self._entries[index]

    def find(self, route: str | None = None, method: str | None = None,
             ok: bool | None = None) -> list[LoggedRequest]:
        """Entries whose route matches ``route`` (see :func:`route_matches`)."""
        return [
            e for e in self._entries
            if (route is None or route_matches(route, e.path))
            and (method is None or e.method == method.upper())
            and (ok is None or e.ok == ok)
        ]

    def routes(self) -> list[str]:
        return [e.route for e in self._entries]

    def logged_metrics(self, run_id: str | None = None) -> list[tuple[str, float, int]]:
        """(key, value, step) of every metric successfully sent, by log-metric or log-batch."""
        return [(m.get("key"), _as_float(m.get("value")), int(m.get("step") or 0))
                for m in self._sent_items("runs/log-metric", "metrics", run_id)]

    def logged_params(self, run_id: str | None = None) -> dict[str, str]:
        """Every param successfully sent, by log-parameter or log-batch."""
        found: dict[str, str] = {}
        for p in self._sent_items("runs/log-parameter", "params", run_id):
            found.setdefault(p.get("key"), p.get("value"))
        return found

    def _sent_items(self, single_route: str, batch_field: str,
                    run_id: str | None) -> Iterator[Any]:
        """The items of successful calls to ``single_route`` (the body is the item) and to
        log-batch (the items are ``batch_field``), for ``run_id`` or every run."""
        for entry in self._entries:
            if not entry.ok or entry.route not in (single_route, "runs/log-batch"):
                continue
            body = entry.json
            if not isinstance(body, dict):
                continue
            if run_id is not None and (body.get("run_id") or body.get("run_uuid")) != run_id:
                continue
            yield from [body] if entry.route == single_route else body.get(batch_field) or []


def _as_float(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("nan")
