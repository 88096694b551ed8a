"""``FakeflowHandle``: what the ``fakeflow`` fixture gives a test."""

from __future__ import annotations

import itertools
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fakeflow.control import ControlledApp, Fault, RequestLog
from fakeflow.state.snapshot import Snapshot
from fakeflow.state.tracking import TrackingStore
from pytest_plugin.client_state import ClientState
from pytest_plugin.rest import RestClient, RestError
from pytest_plugin.services import FakeService, TargetService, worker_id

if TYPE_CHECKING:
    from pytest_plugin.attachments import AttachmentRef
    from pytest_plugin.traces import Traces
    from fakeflow.state.webhooks import Delivery

_counter = itertools.count()


class FakeOnly(RuntimeError):
    """Raised when a test uses the fake's internals while running against a real server."""


class FakeflowHandle:
    """A clean MLflow tracking server for one test: fakeflow, or a real one with --fakeflow-target.

    ``url`` is the tracking URI (already in ``$MLFLOW_TRACKING_URI`` and MLflow's own setting);
    ``client`` an ``MlflowClient``; ``rest`` a REST client. With the fake, ``store`` is the live
    state (seed it, assert on it), ``requests`` what the fake received,
    ``webhook_deliveries()`` what it POSTed (or withheld) for webhooks, and ``fail``/``delay``
    inject faults. ``experiment_id`` is where runs go by default: ``"0"`` on the fake, a fresh
    experiment of this test's own on a real server.
    """

    def __init__(self, service: FakeService | TargetService) -> None:
        self._service = service
        self.url: str = service.url
        self.is_fake: bool = service.is_fake
        self.experiment_id: str = "0"
        self._names: list[str] = []
        self._prefix = ""
        self._state: ClientState | None = None

    # ---- clients -------------------------------------------------------------------------------

    @property
    def client(self) -> Any:
        """``mlflow.MlflowClient`` for this server (requires mlflow)."""
        return self._service.client

    @property
    def rest(self) -> RestClient:
        return self._service.rest

    # ---- naming (so the same tests can share a real server) ------------------------------------

    def name(self, base: str) -> str:
        """A name for an experiment or model: ``base`` on the fake; on a real server, ``base``
        plus a suffix unique to this test, and deleted when the test ends."""
        if self.is_fake:
            return base
        name = f"{base}-{self._prefix}-{len(self._names)}"
        self._names.append(name)
        return name

    # ---- the fake's internals ------------------------------------------------------------------

    def _app(self) -> ControlledApp:
        if not self.is_fake:
            raise FakeOnly("this needs the fake (store, request log, faults, snapshots); "
                           "mark the test @pytest.mark.fakeflow_only to skip it with "
                           "--fakeflow-target")
        return self._service.app  # type: ignore[union-attr]

    @property
    def app(self) -> ControlledApp:
        """The WSGI app with its control plane."""
        return self._app()

    @property
    def store(self) -> TrackingStore:
        """The fake's live state: lock with ``store.lock`` if other threads are logging."""
        return self._app().store

    @property
    def traces(self) -> "Traces":
        """The traces this test produced, as plain objects (see ``pytest_plugin.traces``)."""
        from pytest_plugin.traces import collect

        return collect(self)

    def attachment(self, ref: "AttachmentRef | str", trace_id: str | None = None) -> bytes:
        """The bytes of a trace attachment (a ``Span.attachments`` item, a reference string, or
        an attachment id with ``trace_id``), read as MLflow's UI reads them."""
        from pytest_plugin.attachments import read

        return read(self.rest, ref, trace_id)

    def webhook_deliveries(self, timeout: float = 10.0) -> list["Delivery"]:
        """Every webhook delivery the fake made or would make during this test, oldest first,
        once none is still in flight (waits up to ``timeout`` seconds). Each has ``event``
        (``"model_version.created"``), ``payload`` (MLflow's ``data``), ``url``, ``headers``,
        ``body`` and its outcome: ``sent``, ``outcome``, ``reason``, ``response_status``."""
        log = self._app().store.webhooks.deliveries
        log.wait(timeout)
        return log.items()

    @property
    def requests(self) -> RequestLog:
        """Every MLflow API call the fake received during this test."""
        return self._app().log

    def reset(self, seed: int | None = None) -> None:
        self._app().reset(seed)

    def seed(self, seed: int | None) -> None:
        self._app().seed(seed)

    def dump(self) -> Snapshot:
        return self._app().dump()

    def load(self, snapshot: Snapshot) -> None:
        self._app().load(snapshot)

    def save_file(self, path: str | Path) -> None:
        self._app().save_file(path)

    def load_file(self, path: str | Path) -> None:
        self._app().load_file(path)

    def fail(self, route: str, times: int | None = 1, status: int = 503,
             error_code: str = "TEMPORARILY_UNAVAILABLE", **options: Any) -> Fault:
        """The next ``times`` calls to ``route`` (``"runs/log-batch"``) fail; see ``ControlledApp``."""
        return self._app().fail(route, times, status, error_code, **options)

    def delay(self, route: str, seconds: float, times: int | None = 1, **options: Any) -> Fault:
        return self._app().delay(route, seconds, times, **options)

    def clear_faults(self) -> None:
        self._app().faults.clear()

    # ---- lifecycle (driven by the fixture) -----------------------------------------------------

    def _setup(self, reset_key: object) -> None:
        service = self._service
        if service.is_fake:
            app: ControlledApp = service.app  # type: ignore[union-attr]
            if reset_key is None or reset_key != service.reset_key:
                app.reset(service.settings.seed)
                service.reset_key = reset_key
            else:
                app.log.clear()
                app.faults.clear()
            state = ClientState(self.url)
        else:
            self._prefix = f"ff{worker_id()}-{next(_counter)}-{uuid.uuid4().hex[:8]}"
            self.experiment_id = self.rest.call(
                "POST", "experiments/create", {"name": f"fakeflow-test-{self._prefix}"}
            )["experiment_id"]
            state = ClientState(self.url, self.experiment_id)
        state.apply()
        self._state = state

    def _teardown(self) -> list[BaseException]:
        """Undo everything; return problems to report (unexpected errors inside the fake)."""
        service = self._service
        if service.is_fake:
            service.app.faults.clear()  # type: ignore[union-attr]
        state, self._state = self._state, None
        try:
            if state is not None:
                from pytest_plugin.traces import flush_client

                flush_client()  # traces still queued go to this test's server, not the next
                state.end_leaked_runs()
        finally:
            if state is not None:
                state.restore()
            if not service.is_fake:
                self._clean_real_server()
        errors, service.errors[:] = list(service.errors), []
        return errors

    def _clean_real_server(self) -> None:
        """Delete what this test created by name on the shared real server."""
        for name in self._names:
            try:
                found = self.rest.call("GET", "experiments/get-by-name", {"experiment_name": name})
                self.rest.call("POST", "experiments/delete",
                               {"experiment_id": found["experiment"]["experiment_id"]})
            except RestError:
                pass
            try:
                self.rest.call("DELETE", "registered-models/delete", {"name": name})
            except RestError:
                pass
        try:
            self.rest.call("POST", "experiments/delete", {"experiment_id": self.experiment_id})
        except RestError:
            pass
