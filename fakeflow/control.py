"""The control plane: reset, seed, snapshots, the request log and fault injection.

``ControlledApp`` wraps a ``FakeflowApp`` as WSGI middleware, so the MLflow-faithful core never
sees control traffic. Everything is reachable from Python (``app.reset()``, ``app.fail(...)``) and
over HTTP under the reserved prefix ``/_fakeflow`` (for fakes running in another process):

=======  ============================  ===========================================================
GET      /_fakeflow/health             ``{"status": "ok"}``
POST     /_fakeflow/reset              body ``{"seed": 7}`` optional: empty store, log and faults
POST     /_fakeflow/seed               body ``{"seed": 7}`` (or null): reseed run ids and names
GET      /_fakeflow/state              the snapshot (``fakeflow.state.snapshot``)
PUT      /_fakeflow/state              replace the state with the snapshot in the body
GET      /_fakeflow/requests           the request log; DELETE clears it
GET      /_fakeflow/faults             pending faults; POST adds one; DELETE clears them
=======  ============================  ===========================================================
"""

from __future__ import annotations

import fnmatch
import io
import json
import threading
import time
from dataclasses import dataclass, field
from http import HTTPStatus
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator

from fakeflow.state import snapshot as snapshots
from fakeflow.state.errors import MlflowError
from fakeflow.state.tracking import TrackingStore
from fakeflow.web.app import FakeflowApp, create_app
from fakeflow.web.status import error_body

if TYPE_CHECKING:
    from fakeflow.server import ThreadedServer

CONTROL_PREFIX = "/_fakeflow"

#: WSGI environ keys the in-process transport uses to tell the fake about the client's timeout.
ENV_CLIENT_TIMEOUT = "fakeflow.client_timeout"
ENV_TIMED_OUT = "fakeflow.timed_out"

StartResponse = Callable[..., Any]


# ---- the request log ---------------------------------------------------------------------------


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
        """The request body parsed as JSON (``None`` when empty or not JSON)."""
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
        found: list[tuple[str, float, int]] = []
        for entry in self._entries:
            if not entry.ok:
                continue
            body = entry.json if entry.route in ("runs/log-metric", "runs/log-batch") else None
            if not isinstance(body, dict):
                continue
            if run_id is not None and (body.get("run_id") or body.get("run_uuid")) != run_id:
                continue
            metrics = [body] if entry.route == "runs/log-metric" else body.get("metrics") or []
            for m in metrics:
                found.append((m.get("key"), _as_float(m.get("value")), int(m.get("step") or 0)))
        return found

    def logged_params(self, run_id: str | None = None) -> dict[str, str]:
        """Every param successfully sent, by log-parameter or log-batch."""
        found: dict[str, str] = {}
        for entry in self._entries:
            if not entry.ok or entry.route not in ("runs/log-parameter", "runs/log-batch"):
                continue
            body = entry.json
            if not isinstance(body, dict):
                continue
            if run_id is not None and (body.get("run_id") or body.get("run_uuid")) != run_id:
                continue
            params = [body] if entry.route == "runs/log-parameter" else body.get("params") or []
            for p in params:
                found.setdefault(p.get("key"), p.get("value"))
        return found


def _as_float(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("nan")


# ---- faults -------------------------------------------------------------------------------------


def route_matches(pattern: str, path: str) -> bool:
    """``runs/log-batch`` matches it under any API prefix; ``/api/2.0/...`` is an exact path;
    shell wildcards (``runs/*``) work in both forms."""
    if pattern.startswith("/"):
        return fnmatch.fnmatchcase(path, pattern)
    return fnmatch.fnmatchcase(path, "*/" + pattern.lstrip("/"))


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


# ---- the middleware ------------------------------------------------------------------------------


class ControlledApp:
    """A fake MLflow server (WSGI) with its control plane; the object tests talk to.

    ``ControlledApp()`` builds a fresh ``FakeflowApp``; pass ``app=`` to wrap an existing one.
    """

    def __init__(self, app: FakeflowApp | None = None, *, record: bool = True) -> None:
        self.app = app if app is not None else create_app()
        self.log = RequestLog()
        self.log.enabled = record
        self.faults = Faults()

    @property
    def store(self) -> TrackingStore:
        return self.app.store

    # -- Python control API --------------------------------------------------------------------

    def reset(self, seed: int | None = None) -> None:
        """Back to a fresh server: empty store, ids reseeded (``None`` = random), no log, no faults."""
        store = self.store
        with store.lock:
            store.ids.reseed(seed)
            store.reset()
        self.log.clear()
        self.faults.clear()

    def seed(self, seed: int | None) -> None:
        """Make run ids and names from now on a fixed sequence (``None``: random again)."""
        with self.store.lock:
            self.store.ids.reseed(seed)

    def dump(self) -> snapshots.Snapshot:
        return snapshots.dump(self.store)

    def load(self, snapshot: snapshots.Snapshot) -> None:
        snapshots.load(self.store, snapshot)

    def save_file(self, path: str | Path) -> None:
        snapshots.save_file(self.store, path)

    def load_file(self, path: str | Path) -> None:
        snapshots.load_file(self.store, path)

    def fail(self, route: str, times: int | None = 1, status: int = 503,
             error_code: str = "TEMPORARILY_UNAVAILABLE", message: str = "fakeflow: injected fault",
             method: str | None = None, delay: float = 0.0,
             headers: dict[str, str] | None = None) -> Fault:
        """The next ``times`` calls to ``route`` (e.g. ``"runs/log-batch"``) answer ``status``."""
        return self.faults.add(Fault(route, times, status, error_code, message, delay, method,
                                     dict(headers or {})))

    def delay(self, route: str, seconds: float, times: int | None = 1,
              method: str | None = None) -> Fault:
        """The next ``times`` calls to ``route`` wait ``seconds`` and then succeed."""
        return self.faults.add(Fault(route, times, None, delay=seconds, method=method))

    # -- WSGI ----------------------------------------------------------------------------------

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == CONTROL_PREFIX or path.startswith(CONTROL_PREFIX + "/"):
            return self._control(environ, start_response, path[len(CONTROL_PREFIX):])
        fault = self.faults.take(environ["REQUEST_METHOD"], path) if self.faults._faults else None
        if not self.log.enabled and fault is None:
            return self.app(environ, start_response)
        body = _read_body(environ)
        entry = LoggedRequest(environ["REQUEST_METHOD"], path, environ.get("QUERY_STRING", ""),
                              body, time=time.time())
        if self.log.enabled:
            self.log.append(entry)
        if fault is not None:
            if fault.delay:
                _wait(environ, fault.delay)
            if fault.status is not None:
                entry.fault = True
                entry.status = fault.status
                entry.response_body = fault.body()
                headers = [("Content-Type", "application/json"),
                           ("Content-Length", str(len(entry.response_body)))]
                headers += list(fault.headers.items())
                start_response(_status_line(fault.status), headers)
                return [entry.response_body]
        return self._forward(environ, start_response, entry)

    def _forward(self, environ: dict[str, Any], start_response: StartResponse,
                 entry: LoggedRequest) -> Iterable[bytes]:
        def recording_start_response(status: str, headers: list, exc_info: Any = None) -> Any:
            entry.status = int(status.split(" ", 1)[0])
            return start_response(status, headers, exc_info) if exc_info else \
                start_response(status, headers)

        chunks = self.app(environ, recording_start_response)
        try:
            entry.response_body = b"".join(chunks)
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()
        return [entry.response_body]

    # -- the HTTP control API ------------------------------------------------------------------

    def _control(self, environ: dict[str, Any], start_response: StartResponse,
                 sub: str) -> Iterable[bytes]:
        method = environ["REQUEST_METHOD"]
        try:
            status, payload = self._control_answer(method, sub.rstrip("/") or "/",
                                                   _read_body(environ))
        except (ValueError, TypeError, snapshots.SnapshotError) as error:
            status, payload = 400, {"error_code": "INVALID_PARAMETER_VALUE",
                                    "message": f"fakeflow control: {error}"}
        data = json.dumps(payload, allow_nan=False).encode("utf-8")
        start_response(_status_line(status), [("Content-Type", "application/json"),
                                              ("Content-Length", str(len(data)))])
        return [data]

    def _control_answer(self, method: str, sub: str, body: bytes) -> tuple[int, Any]:
        args = json.loads(body) if body.strip() else {}
        key = (method, sub)
        if key == ("GET", "/health"):
            return 200, {"status": "ok"}
        if key == ("POST", "/reset"):
            self.reset(seed=_seed_arg(args))
            return 200, {}
        if key == ("POST", "/seed"):
            if "seed" not in args:
                raise ValueError("body must be {\"seed\": <int or null>}")
            self.seed(_seed_arg(args))
            return 200, {}
        if key == ("GET", "/state"):
            return 200, self.dump()
        if key in (("PUT", "/state"), ("POST", "/state")):
            self.load(args)
            return 200, {}
        if key == ("GET", "/requests"):
            return 200, {"requests": [e.as_dict() for e in self.log]}
        if key == ("DELETE", "/requests"):
            self.log.clear()
            return 200, {}
        if key == ("GET", "/faults"):
            return 200, {"faults": [f.as_dict() for f in self.faults.pending()]}
        if key == ("POST", "/faults"):
            return 200, {"fault": self.faults.add(Fault.from_dict(args)).as_dict()}
        if key == ("DELETE", "/faults"):
            self.faults.clear()
            return 200, {}
        return 404, {"error_code": "ENDPOINT_NOT_FOUND",
                     "message": f"fakeflow control: no {method} {CONTROL_PREFIX}{sub}"}


def _seed_arg(args: Any) -> int | None:
    if not isinstance(args, dict):
        raise ValueError("body must be a JSON object")
    seed = args.get("seed")
    if seed is not None and (not isinstance(seed, int) or isinstance(seed, bool)):
        raise ValueError("seed must be an integer or null")
    return seed


def _read_body(environ: dict[str, Any]) -> bytes:
    """Read the request body once and put it back so the wrapped app can read it too."""
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    stream = environ.get("wsgi.input")
    if stream is None or length <= 0:
        return b""
    body = stream.read(length)
    environ["wsgi.input"] = io.BytesIO(body)
    return body


def _wait(environ: dict[str, Any], seconds: float) -> None:
    """Sleep like a slow server; in-process, stop at the client's timeout and say so."""
    timeout = environ.get(ENV_CLIENT_TIMEOUT)
    if timeout is not None and seconds > timeout:
        time.sleep(timeout)
        environ[ENV_TIMED_OUT] = True
        return
    time.sleep(seconds)


def _status_line(status: int) -> str:
    try:
        return f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        return f"{status} UNKNOWN"


# ---- convenience -------------------------------------------------------------------------------


def create_controlled_app(seed: int | None = None, load: str | Path | None = None,
                          record: bool = True) -> ControlledApp:
    """A fresh fake with its control plane, optionally seeded and loaded from a snapshot file."""
    app = ControlledApp(record=record)
    if seed is not None:
        app.seed(seed)
    if load is not None:
        app.load_file(load)
    return app


def create_server(host: str = "127.0.0.1", port: int = 0, **options: Any) -> "ThreadedServer":
    """A started ``ThreadedServer`` serving ``create_controlled_app(**options)``; ``.app`` is it."""
    from fakeflow.server import ThreadedServer

    return ThreadedServer(create_controlled_app(**options), host=host, port=port).start()

__all__ = ["CONTROL_PREFIX", "ControlledApp", "Fault", "Faults", "LoggedRequest", "RequestLog",
           "create_controlled_app", "create_server", "route_matches"]
