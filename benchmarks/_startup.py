"""Time from "start fakeflow" to its first successful ``/health`` answer."""

from __future__ import annotations

import http.client
import json
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

from benchmarks._targets import REPO_ROOT, reap, repo_env


def wait_healthy(url: str, timeout: float = 30.0) -> None:
    """Poll ``/health`` as a client would, until it answers 200."""
    parts = urlsplit(url)
    deadline = time.perf_counter() + timeout
    while True:
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=5)
        try:
            conn.request("GET", "/health")
            response = conn.getresponse()
            response.read()
            if response.status == 200:
                return
        except OSError:
            pass
        finally:
            conn.close()
        if time.perf_counter() > deadline:
            raise RuntimeError(f"{url} not healthy within {timeout}s")
        time.sleep(0.002)


def in_process_once() -> float:
    """Seconds from ``create_app()`` to the first 200 from ``/health`` (imports already done)."""
    from fakeflow.server import ThreadedServer
    from fakeflow.web.app import create_app

    start = time.perf_counter()
    server = ThreadedServer(create_app()).start()
    try:
        wait_healthy(server.url)
        return time.perf_counter() - start
    finally:
        server.stop()


# Run in a fresh interpreter: import fakeflow, start it, poll /health; print the seconds taken.
_COLD_SCRIPT = """
import time
start = time.perf_counter()
import fakeflow
from benchmarks._startup import wait_healthy
server = fakeflow.ThreadedServer(fakeflow.create_app()).start()
wait_healthy(server.url)
elapsed = time.perf_counter() - start
server.stop()
print(elapsed)
"""


def cached_bytecode_env(cache_dir: str) -> dict[str, str]:
    """Child environment that caches bytecode in ``cache_dir``, as an installed package has it.

    (Without this, $PYTHONDONTWRITEBYTECODE would make every start recompile fakeflow.)
    """
    env = repo_env()
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = cache_dir
    return env


def cold_import_once(env: dict[str, str]) -> float:
    """Seconds from ``import fakeflow`` in a fresh interpreter to the first ``/health`` answer."""
    out = subprocess.run([sys.executable, "-c", _COLD_SCRIPT], capture_output=True, text=True,
                         cwd=REPO_ROOT, env=env, timeout=60, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def serve_command() -> list[str]:
    """``fakeflow serve`` as installed next to this interpreter, else ``python -m fakeflow``."""
    script = Path(sys.executable).with_name("fakeflow")
    if script.exists():
        return [str(script)]
    found = shutil.which("fakeflow")
    return [found] if found else [sys.executable, "-m", "fakeflow"]


def cli_serve_once(env: dict[str, str]) -> float:
    """Seconds from spawning ``fakeflow serve --port 0`` to its first ``/health`` answer."""
    start = time.perf_counter()
    process = subprocess.Popen(serve_command() + ["serve", "--port", "0"], stdout=subprocess.PIPE,
                               text=True, cwd=REPO_ROOT, env=env)
    try:
        line = process.stdout.readline() if process.stdout else ""
        if "listening on " not in line:
            raise RuntimeError(f"fakeflow serve printed {line!r}")
        wait_healthy(line.rsplit("listening on ", 1)[1].strip())
        return time.perf_counter() - start
    finally:
        process.send_signal(signal.SIGTERM)
        reap(process)


def _summary(samples: list[float]) -> dict:
    return {"median_s": statistics.median(samples), "min_s": min(samples), "samples_s": samples}


def measure_startup(repeats: int) -> dict[str, dict]:
    """Median and best of ``repeats`` tries for each way of starting fakeflow.

    The first ``fakeflow serve`` compiles fakeflow into an empty bytecode cache; it is reported
    apart (``cli_serve_first_run_s``) and the timed runs use the cache.
    """
    results: dict[str, dict] = {"in_process": _summary([in_process_once() for _ in range(repeats)])}
    with tempfile.TemporaryDirectory(prefix="fakeflow-bench-pyc-") as cache_dir:
        env = cached_bytecode_env(cache_dir)
        first = cli_serve_once(env)
        results["cold_import"] = _summary([cold_import_once(env) for _ in range(repeats)])
        results["cli_serve"] = _summary([cli_serve_once(env) for _ in range(repeats)])
    results["cli_serve"]["first_run_s"] = first
    return results


if __name__ == "__main__":
    print(json.dumps(measure_startup(3), indent=2))
