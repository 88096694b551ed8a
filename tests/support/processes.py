"""Stopping a ``fakeflow serve`` child in tests: SIGTERM, then its exit code; a child that
does not stop in time is killed, so no test ever leaves a server behind."""

from __future__ import annotations

import signal
import subprocess


def stop_server(process: subprocess.Popen, timeout: float = 10) -> int:
    process.send_signal(signal.SIGTERM)
    try:
        return process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        raise
