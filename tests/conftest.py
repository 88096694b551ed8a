"""Session fixtures shared by the test suite: a real MLflow reference server and fakeflow.

``reference_server``: ``$FAKEFLOW_REAL_MLFLOW_URL`` if set, else a fresh ``mlflow server``
started for the session (``$FAKEFLOW_MLFLOW_BIN`` or ``.venv-mlflow``); stopped at the end.
Without a real MLflow the tests that need it are skipped — unless ``$CI`` is set, where a
missing reference is an error, so CI can never pass by skipping the differential suite.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Iterator, NoReturn

import pytest
import requests

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))


def _unavailable(reason: str) -> NoReturn:
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI is set: a missing reference server is an error, not a skip)",
                    pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def reference_server() -> Iterator[object]:
    """A real MLflow 3.17.2 server (``.url``), owned by this session unless given by env."""
    from conformance.reference_server import (
        EXPECTED_VERSION,
        find_mlflow_executable,
        reference_server_from_env,
        start_reference_server,
    )

    server = reference_server_from_env()
    if server is not None:
        try:
            version = requests.get(server.url + "/version", timeout=10).text.strip()
        except requests.RequestException as exc:
            pytest.fail(f"FAKEFLOW_REAL_MLFLOW_URL={server.url} is not reachable: {exc}", pytrace=False)
        if version != EXPECTED_VERSION:
            pytest.fail(f"{server.url} runs MLflow {version!r}, not {EXPECTED_VERSION}", pytrace=False)
    else:
        if find_mlflow_executable() is None:
            _unavailable(
                "real MLflow not found: set FAKEFLOW_MLFLOW_BIN (or FAKEFLOW_REAL_MLFLOW_URL), "
                "or run `bash .ci/install-mlflow`"
            )
        try:
            server = start_reference_server()
        except RuntimeError as exc:  # e.g. an mlflow-skinny CLI that cannot run a server
            _unavailable(f"could not start a real MLflow server: {exc}")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def fakeflow_server() -> Iterator[object]:
    """fakeflow on a free loopback port for the whole session."""
    import fakeflow
    from fakeflow.server import ThreadedServer

    server = ThreadedServer(fakeflow.create_app(), port=0).start()
    try:
        yield server
    finally:
        server.stop()
