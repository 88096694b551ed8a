"""Start and stop the servers under test: fakeflow and bare apps (own processes), real MLflow."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

REPO_ROOT = Path(__file__).resolve().parent.parent


def repo_env() -> dict[str, str]:
    """The environment for child processes: the repository importable, whatever the cwd."""
    path = os.environ.get("PYTHONPATH", "")
    return dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in (str(REPO_ROOT), path) if p))



def reap(process: subprocess.Popen) -> None:
    """Wait for a child that was asked to stop; kill it if it does not, and close its pipe."""
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)
    if process.stdout:
        process.stdout.close()

@dataclass
class Target:
    """A running server: ``url``, and ``stop()`` which is safe to call twice."""

    name: str
    url: str
    _stop: Callable[[], None] = field(repr=False)
    _stopped: bool = field(default=False, repr=False)

    def stop(self) -> None:
        if not self._stopped:
            self._stopped = True
            self._stop()


def start_local(kind: str, timeout: float = 30.0) -> Target:
    """``kind`` (a name in ``benchmarks._serve.TARGETS``) served by a child process."""
    process = subprocess.Popen(
        [sys.executable, "-m", "benchmarks._serve", kind],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=REPO_ROOT, env=repo_env(),
    )

    def stop() -> None:
        if process.stdin and not process.stdin.closed:
            process.stdin.close()  # the child serves until its stdin closes
        reap(process)

    url = process.stdout.readline().strip() if process.stdout else ""
    if not url.startswith("http://127.0.0.1:"):
        stop()
        raise RuntimeError(f"{kind} server did not start (got {url!r})")
    return Target(kind, url, stop)


def start_real() -> Target:
    """A fresh real MLflow server (or the one named by $FAKEFLOW_REAL_MLFLOW_URL)."""
    from conformance.reference_server import reference_server_from_env, start_reference_server

    server = reference_server_from_env() or start_reference_server()
    return Target("real", server.url, server.stop)
