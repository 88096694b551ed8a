"""fakeflow's pytest plugin (registered through the ``pytest11`` entry point).

Fixtures:

``fakeflow``
    function scope — a clean fake MLflow tracking server for the test (``FakeflowHandle``):
    ``url``, ``client``, ``rest``, ``store``, ``requests``, ``fail``/``delay``, snapshots.
    Sets ``$MLFLOW_TRACKING_URI`` and MLflow's own tracking URI, turns client retries down,
    ends runs the test leaked and restores all of it afterwards.
``fakeflow_rest``
    function scope — a ``requests``-based client of the REST API of the same clean server.
``fakeflow_service``
    session scope — the server itself: one per process (so one per xdist worker), on a free
    loopback port; fails the session loudly if it cannot start.

Options (command line, else environment, else ini): ``--fakeflow-transport`` /
``FAKEFLOW_TRANSPORT`` / ``fakeflow_transport``; ``--fakeflow-target``; ``--fakeflow-seed``;
``--fakeflow-reset``; ``--fakeflow-fast-probes``; ``--fakeflow-profile`` (``oci-aidp``: the
fake as Oracle's AI Data Platform, and ``url`` its default workspace's ``…/mlops``).
Markers: ``fakeflow_real`` and ``fakeflow_only``.
"""

from __future__ import annotations

from typing import Iterator

import pytest

from pytest_plugin.handle import FakeflowHandle, FakeOnly
from pytest_plugin.import_probes import forget_absent, remember_absent
from pytest_plugin.options import Settings, add_options, read_settings
from pytest_plugin.rest import RestClient, RestError
from pytest_plugin.services import FakeService, TargetService

_SETTINGS = pytest.StashKey[Settings]()


def pytest_addoption(parser: pytest.Parser) -> None:
    add_options(parser)


def pytest_configure(config: pytest.Config) -> None:
    config.stash[_SETTINGS] = read_settings(config)
    config.addinivalue_line(
        "markers", "fakeflow_real: needs a real MLflow server; skipped unless --fakeflow-target")
    config.addinivalue_line(
        "markers", "fakeflow_only: needs the fake's internals (store, request log, faults, "
                   "snapshots); skipped with --fakeflow-target")


def pytest_report_header(config: pytest.Config) -> str:
    settings = config.stash[_SETTINGS]
    if settings.target:
        return f"fakeflow: real MLflow server at {settings.target}"
    return (f"fakeflow: transport={settings.transport} reset={settings.reset} "
            f"seed={settings.seed}")


def pytest_runtest_setup(item: pytest.Item) -> None:
    settings = item.config.stash[_SETTINGS]
    if settings.target is None and item.get_closest_marker("fakeflow_real") is not None:
        pytest.skip("needs a real MLflow server (--fakeflow-target=URL)")
    if settings.target is not None and item.get_closest_marker("fakeflow_only") is not None:
        pytest.skip("runs only against the fake (not with --fakeflow-target)")


@pytest.fixture(scope="session")
def fakeflow_service(pytestconfig: pytest.Config) -> Iterator[FakeService | TargetService]:
    """The MLflow server of this test process: the fake, or the ``--fakeflow-target`` server."""
    settings = pytestconfig.stash[_SETTINGS]
    service = TargetService(settings) if settings.target else FakeService(settings)
    try:
        service.start()
    except RuntimeError as error:
        pytest.fail(str(error), pytrace=False)
    absent = remember_absent() if settings.fast_probes else []
    try:
        yield service
    finally:
        forget_absent(absent)
        service.stop()


def _reset_key(request: pytest.FixtureRequest, scope: str) -> object:
    if scope == "session":
        return "session"
    if scope == "module":
        return request.node.nodeid.split("::", 1)[0]
    return None  # every test


@pytest.fixture
def fakeflow(fakeflow_service: FakeService | TargetService,
             request: pytest.FixtureRequest) -> Iterator[FakeflowHandle]:
    """A clean MLflow tracking server for this test; see ``FakeflowHandle``."""
    handle = FakeflowHandle(fakeflow_service)
    handle._setup(_reset_key(request, fakeflow_service.settings.reset))
    try:
        yield handle
    finally:
        errors = handle._teardown()
    if errors:
        pytest.fail(f"fakeflow hit an unexpected error while answering a request during this "
                    f"test (a fakeflow bug; see the log above): {errors[0]!r}", pytrace=False)


@pytest.fixture
def fakeflow_rest(fakeflow: FakeflowHandle) -> RestClient:
    """A ``requests`` client of the REST API of the test's clean server."""
    return fakeflow.rest


__all__ = ["FakeOnly", "FakeflowHandle", "RestClient", "RestError", "fakeflow",
           "fakeflow_rest", "fakeflow_service"]
