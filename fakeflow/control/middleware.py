"""``ControlledApp``: the fake plus its control plane, as WSGI middleware."""

from __future__ import annotations

import io
import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable

from fakeflow.control.faults import Fault, Faults
from fakeflow.control.request_log import LoggedRequest, RequestLog
from fakeflow.state import snapshot as snapshots
from fakeflow.state.tracking import TrackingStore
from fakeflow.web.app import FakeflowApp, create_app
from fakeflow.web.security import is_api_path, respond
from fakeflow.web.status import status_line

if TYPE_CHECKING:
    from fakeflow.server import ThreadedServer

CONTROL_PREFIX = "/_fakeflow"

#: WSGI environ keys the in-process transport uses to tell the fake about the client's timeout.
ENV_CLIENT_TIMEOUT = "fakeflow.client_timeout"
ENV_TIMED_OUT = "fakeflow.timed_out"

StartResponse = Callable[..., Any]


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
        control = path == CONTROL_PREFIX or path.startswith(CONTROL_PREFIX + "/")
        # MLflow's Host and origin rules come first: a refused request is not logged, takes
        # no fault, and never reaches the control plane.
        refusal = self.app.security.refusal(environ, control or is_api_path(path))
        if refusal is not None:
            return respond(start_response, refusal)
        if control:
            return self._control(environ, start_response, path[len(CONTROL_PREFIX):])
        fault = self.faults.take(environ["REQUEST_METHOD"], path) if self.faults._faults else None
        if not self.log.enabled and fault is None:
            return self.app(environ, start_response)
        # Only JSON bodies are kept: an artifact upload streams through and is never held twice.
        # So are OTLP span exports (protobuf), which the log shows as JSON.
        keep = _is_json(environ.get("CONTENT_TYPE", "")) or path == "/v1/traces"
        body = _read_body(environ) if keep else b""
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
                start_response(status_line(fault.status), headers)
                return [entry.response_body]
        return self._forward(environ, start_response, entry)

    def _forward(self, environ: dict[str, Any], start_response: StartResponse,
                 entry: LoggedRequest) -> Iterable[bytes]:
        headers: list[tuple[str, str]] = []

        def recording_start_response(status: str, response_headers: list,
                                     exc_info: Any = None) -> Any:
            entry.status = int(status.split(" ", 1)[0])
            headers[:] = response_headers
            return start_response(status, response_headers, exc_info) if exc_info else \
                start_response(status, response_headers)

        chunks = self.app(environ, recording_start_response)
        if not _small_json_answer(headers):
            return chunks  # streamed (artifacts, long histories): passed through, not kept
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
        body = _read_body(environ)  # outside every lock, like all I/O
        try:
            args = _control_args(environ, method, body)
            status, payload = self._control_answer(method, sub.rstrip("/") or "/", args)
        except (ValueError, TypeError, RecursionError, snapshots.SnapshotError) as error:
            reason = "body nested too deeply" if isinstance(error, RecursionError) else error
            status, payload = 400, {"error_code": "INVALID_PARAMETER_VALUE",
                                    "message": f"fakeflow control: {reason}"}
        except _UnsupportedMediaType as error:
            status, payload = 415, {"error_code": "INVALID_PARAMETER_VALUE",
                                    "message": f"fakeflow control: {error}"}
        data = json.dumps(payload, allow_nan=False).encode("utf-8")
        start_response(status_line(status), [("Content-Type", "application/json"),
                                              ("Content-Length", str(len(data))),
                                              *self.app.security.answer_headers(environ)])
        return [data]

    def _control_answer(self, method: str, sub: str, args: Any) -> tuple[int, Any]:
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
        if key == ("GET", "/webhook-deliveries"):
            deliveries = self.store.webhooks.deliveries
            return 200, {"deliveries": [d.as_dict() for d in deliveries.items()]}
        if key == ("DELETE", "/webhook-deliveries"):
            self.store.webhooks.deliveries.clear()
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


class _UnsupportedMediaType(Exception):
    """A control-plane write whose body is not declared as JSON."""


def _control_args(environ: dict[str, Any], method: str, body: bytes) -> Any:
    """The parsed JSON body (``{}`` when empty). A body sent with a write must be declared
    ``application/json``: a web page can only send text/plain or form bodies without a CORS
    preflight, so this keeps pages from driving the control plane even where origins pass."""
    if not body.strip():
        return {}
    if method in ("POST", "PUT", "DELETE", "PATCH"):
        media_type = environ.get("CONTENT_TYPE", "").split(";", 1)[0].strip().lower()
        if media_type != "application/json":
            raise _UnsupportedMediaType(
                f"{method} bodies must be sent as Content-Type: application/json")
    try:
        return json.loads(body)
    except UnicodeDecodeError as error:
        raise ValueError(f"body is not UTF-8: {error}") from None


def _seed_arg(args: Any) -> int | None:
    if not isinstance(args, dict):
        raise ValueError("body must be a JSON object")
    seed = args.get("seed")
    if seed is not None and (not isinstance(seed, int) or isinstance(seed, bool)):
        raise ValueError("seed must be an integer or null")
    return seed


#: Largest answer the request log keeps a copy of.
MAX_LOGGED_ANSWER_BYTES = 1 << 20


def _is_json(content_type: str) -> bool:
    return content_type.split(";", 1)[0].strip().lower() == "application/json"


def _small_json_answer(headers: list[tuple[str, str]]) -> bool:
    values = {name.lower(): value for name, value in headers}
    try:
        length = int(values.get("content-length", ""))
    except ValueError:
        return False
    return _is_json(values.get("content-type", "")) and length <= MAX_LOGGED_ANSWER_BYTES


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
