"""What the session fixture yields: the fake (a server in this process) or a real target."""

from __future__ import annotations

import os
from typing import Any

import requests

from fakeflow import transport
from fakeflow.dialects.oci import options as oci_options
from fakeflow.server import ThreadedServer
from fakeflow.web.app import create_app
from pytest_plugin.options import Settings
from pytest_plugin.rest import RestClient


def worker_id() -> str:
    """``gw0``, ``gw1``... under pytest-xdist, ``main`` otherwise."""
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


class FakeService:
    """One fake MLflow server per test process (per xdist worker), on a free loopback port."""

    is_fake = True

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.app = oci_options.controlled_app(
            None if settings.profile == "mlflow" else settings.profile,
            create_app(legacy_routes=settings.legacy_routes))
        self.app.seed(settings.seed)
        #: Exceptions the fake raised while answering (each fails the test that caused it).
        self.errors: list[BaseException] = []
        self.app.app.on_unexpected_error = self.errors.append
        self.server = ThreadedServer(self.app, host="127.0.0.1", port=0)
        self.url = ""
        self.reset_key: object = None
        self._client: Any = None
        self._rest: RestClient | None = None

    def start(self) -> "FakeService":
        try:
            self.server.start()
        except OSError as error:
            raise RuntimeError(f"fakeflow: cannot start the fake server on 127.0.0.1: {error}") \
                from error
        self.url = self.server.url
        if self.settings.transport == "inprocess":
            transport.install(self.url, self.app)
        self.url += oci_options.tracking_path(self.app)  # a vendor profile's mount, else ""
        return self

    def stop(self) -> None:
        if self.url and self.settings.transport == "inprocess":
            transport.uninstall(self.server.url)
        if self._rest is not None:
            self._rest.close()
        self.server.stop()

    @property
    def client(self) -> Any:
        """An ``MlflowClient`` for the fake (MLflow imported on first use)."""
        if self._client is None:
            from mlflow import MlflowClient

            self._client = MlflowClient(tracking_uri=self.url)
        return self._client

    @property
    def rest(self) -> RestClient:
        if self._rest is None:
            self._rest = RestClient(self.url)
        return self._rest


class TargetService:
    """A real MLflow server named by ``--fakeflow-target`` (never started or stopped by us)."""

    is_fake = False

    def __init__(self, settings: Settings) -> None:
        assert settings.target is not None
        self.settings = settings
        self.url = settings.target
        self.errors: list[BaseException] = []
        self.reset_key: object = None
        self._client: Any = None
        self._rest: RestClient | None = None

    def start(self) -> "TargetService":
        try:
            answer = requests.get(self.url + "/health", timeout=10)
        except requests.RequestException as error:
            raise RuntimeError(f"fakeflow: --fakeflow-target {self.url} is not reachable: {error}") \
                from error
        if answer.status_code != 200:
            raise RuntimeError(f"fakeflow: --fakeflow-target {self.url}/health answered "
                               f"{answer.status_code}")
        return self

    def stop(self) -> None:
        if self._rest is not None:
            self._rest.close()

    client = FakeService.client
    rest = FakeService.rest
