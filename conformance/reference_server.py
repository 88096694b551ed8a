"""Start a real ``mlflow server`` (the reference implementation) on 127.0.0.1 for a test run.

Where the ``mlflow`` executable comes from, first match wins:
``$FAKEFLOW_MLFLOW_BIN``; ``<repo>/.venv-mlflow/bin/mlflow`` (what ``.ci/run`` installs);
``mlflow`` on PATH. ``$FAKEFLOW_REAL_MLFLOW_URL`` names an already running server instead.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

REPO_ROOT = Path(__file__).resolve().parent.parent
EXPECTED_VERSION = "3.17.2"


def find_mlflow_executable() -> str | None:
    candidates = [
        os.environ.get("FAKEFLOW_MLFLOW_BIN"),
        str(REPO_ROOT / ".venv-mlflow" / "bin" / "mlflow"),
        shutil.which("mlflow"),
    ]
    for candidate in candidates:
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class ReferenceServer:
    """A running real MLflow server; ``stop()`` ends it and removes its data."""

    url: str
    process: subprocess.Popen | None = None
    workdir: str | None = None
    log_path: str | None = None
    _stopped: bool = field(default=False, repr=False)

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        if self.process is not None and self.process.poll() is None:
            # mlflow server runs uvicorn workers in its own process group.
            try:
                os.killpg(self.process.pid, 15)
            except ProcessLookupError:
                pass
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, 9)
                self.process.wait(timeout=5)
        if self.workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> "ReferenceServer":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def find_older_mlflow_executable() -> str | None:
    """The MLflow 2.22 server that ``.ci/setup-mlflow-2.22`` installs (or
    ``$FAKEFLOW_MLFLOW_222_BIN``): the "older MLflow" the suites' verdict is checked on."""
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    for candidate in (os.environ.get("FAKEFLOW_MLFLOW_222_BIN"),
                      os.path.join(cache, "fakeflow", "venv-mlflow-2.22", "bin", "mlflow")):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


def start_reference_server(timeout: float = 120.0, workers: int = 1, *,
                           executable: str | None = None,
                           expected_version: str = EXPECTED_VERSION) -> ReferenceServer:
    """Start a fresh real MLflow server with an empty SQLite store; raise if it cannot start.
    ``expected_version`` may be a prefix (``2.22.``)."""
    executable = executable or find_mlflow_executable()
    if executable is None:
        raise RuntimeError(
            "real MLflow not found: set FAKEFLOW_MLFLOW_BIN, or run `bash .ci/install-mlflow` "
            "to create .venv-mlflow"
        )
    workdir = tempfile.mkdtemp(prefix="fakeflow-real-mlflow-")
    port = free_port()
    log_path = os.path.join(workdir, "server.log")
    log = open(log_path, "wb")
    cmd = [
        executable, "server",
        "--host", "127.0.0.1",
        "--port", str(port),
        "--workers", str(workers),
        "--backend-store-uri", f"sqlite:///{workdir}/m.db",
        "--artifacts-destination", f"{workdir}/art",
    ]
    env = dict(os.environ, MLFLOW_DISABLE_TELEMETRY="true", DO_NOT_TRACK="true")
    process = subprocess.Popen(
        cmd, stdout=log, stderr=subprocess.STDOUT, cwd=workdir, env=env, start_new_session=True
    )
    server = ReferenceServer(f"http://127.0.0.1:{port}", process, workdir, log_path)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            server.stop()
            raise RuntimeError(f"mlflow server exited early; see {log_path}")
        try:
            if requests.get(server.url + "/health", timeout=1).status_code == 200:
                version = requests.get(server.url + "/version", timeout=5).text.strip()
                if not (version == expected_version or (expected_version.endswith(".")
                                                        and version.startswith(expected_version))):
                    server.stop()
                    raise RuntimeError(f"reference server is MLflow {version}, not {expected_version}")
                return server
        except requests.RequestException:
            pass
        time.sleep(0.25)
    server.stop()
    raise RuntimeError(f"mlflow server did not become healthy within {timeout}s")


def reference_server_from_env() -> ReferenceServer | None:
    """A server named by $FAKEFLOW_REAL_MLFLOW_URL (not owned: stop() leaves it running)."""
    url = os.environ.get("FAKEFLOW_REAL_MLFLOW_URL")
    if not url:
        return None
    return ReferenceServer(url.rstrip("/"))
