"""Demo startup: seconds from spawning ``fakeflow serve`` to answering both ``/health`` and ``/``
(the UI's index page), for a plain start, ``--demo`` and ``--demo --ui``; and the in-process
build time of the demo workspace alone. Medians of several starts, measured in one run.

The UI is served from the real MLflow 3.17.2's build when ``$FAKEFLOW_MLFLOW_BIN`` points at
one (as in CI), else from a stand-in build of two files (the serving cost is the same: files are
read on request, not at start).

Usage (from the repository root)::

    python -m benchmarks.bench_demo [--repeats N] [--json FILE]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._startup import cached_bytecode_env, serve_command
from benchmarks._targets import REPO_ROOT, reap

TARGET_S = 1.0  # issue 15: ready in well under a second


def _answers(url: str, path: str) -> bool:
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=5)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        response.read()
        return response.status == 200
    except OSError:
        return False
    finally:
        conn.close()


def ui_build() -> tuple[str, str]:
    """(directory, what it is): the real MLflow's UI build when known, else a stand-in."""
    binary = os.environ.get("FAKEFLOW_MLFLOW_BIN")
    if binary:
        found = sorted((Path(binary).resolve().parent.parent / "lib").glob(
            "python3*/site-packages/mlflow/server/js/build"))
        if found:
            return str(found[0]), "MLflow 3.17.2's UI build"
    stand_in = Path(tempfile.mkdtemp(prefix="fakeflow-bench-ui-"))
    (stand_in / "static").mkdir()
    (stand_in / "index.html").write_text("<!doctype html><title>MLflow</title>")
    return str(stand_in), "a stand-in build"


def ready_once(extra: list[str], env: dict[str, str], paths: tuple[str, ...]) -> float:
    start = time.perf_counter()
    process = subprocess.Popen(serve_command() + ["serve", "--port", "0", *extra],
                               stdout=subprocess.PIPE, text=True, cwd=REPO_ROOT, env=env)
    try:
        line = process.stdout.readline() if process.stdout else ""
        if "listening on " not in line:
            raise RuntimeError(f"fakeflow serve printed {line!r}")
        url = line.rsplit("listening on ", 1)[1].strip()
        deadline = start + 60
        for path in paths:
            while not _answers(url, path):
                if time.perf_counter() > deadline:
                    raise RuntimeError(f"{url}{path} did not answer")
                time.sleep(0.002)
        return time.perf_counter() - start
    finally:
        process.send_signal(signal.SIGTERM)
        reap(process)


def build_in_process(repeats: int) -> list[float]:
    from fakeflow.demo import fill_in_process
    from fakeflow.web.app import create_app

    samples = []
    for _ in range(repeats):
        app = create_app()
        start = time.perf_counter()
        fill_in_process(app)
        samples.append(time.perf_counter() - start)
    return samples


def run(repeats: int) -> dict:
    build, build_kind = ui_build()
    results: dict = {"ui_build": build_kind, "target_s": TARGET_S, "repeats": repeats}
    with tempfile.TemporaryDirectory(prefix="fakeflow-bench-pyc-") as cache_dir:
        env = cached_bytecode_env(cache_dir)
        ready_once([], env, ("/health",))  # fills the bytecode cache
        for label, extra, paths in (
            ("serve", [], ("/health",)),
            ("serve_demo", ["--demo"], ("/health",)),
            ("serve_demo_ui", ["--demo", "--ui-build", build], ("/health", "/")),
        ):
            samples = [ready_once(extra, env, paths) for _ in range(repeats)]
            results[label] = {"median_s": statistics.median(samples), "min_s": min(samples),
                              "samples_s": samples}
    samples = build_in_process(repeats)
    results["demo_build_in_process"] = {"median_s": statistics.median(samples), "min_s": min(samples)}
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json", default=None, help="also write the results here")
    args = parser.parse_args(argv)
    results = run(args.repeats)
    print(f"demo startup ({results['ui_build']}), median of {args.repeats}:")
    for label in ("serve", "serve_demo", "serve_demo_ui"):
        print(f"  fakeflow {label.replace('_', ' --').replace('serve --', 'serve --')}: "
              f"{results[label]['median_s']:.3f} s (best {results[label]['min_s']:.3f} s)")
    print(f"  demo workspace built in process: {results['demo_build_in_process']['median_s']:.3f} s")
    ready = results["serve_demo_ui"]["median_s"]
    print(f"  serve --demo --ui ready in {ready:.3f} s: "
          f"{'under' if ready < TARGET_S else 'OVER'} the {TARGET_S:g} s target")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
