"""Metric history: what one page costs in a long history, and what the full answer costs in memory.

* time for one page of 1,000 points (``metrics/get-history?max_results=1000``) at the start,
  middle and end of an N-point history (1,000,000 points; ``--quick`` 200,000), in-process
  (the WSGI app called directly, no socket) and over loopback HTTP (fakeflow's ThreadedServer,
  ``http.client``); median of several requests. Also the first page of an *untidy* history
  (points logged out of order), which pays the one-off sort, and the page after it, which does
  not; and the whole history in one answer (no ``max_results``);
* the same pages on real MLflow 3.17.2 and on fakeflow at a smaller history (real MLflow takes
  about a second per 1,000 logged points, so it gets 20,000; ``--quick`` 5,000);
* memory, in a child process (Linux ``VmHWM`` peak RSS, reset before each step): RSS growth for
  logging N points through ``TrackingStore.log_batch``; peak RSS growth while the full answer is
  produced chunk by chunk as fakeflow's HTTP server sends it, and while it is joined into one
  ``bytes`` as the in-process transport does; per point, and against the body's size.

The histories for the timings are built with ``MetricHistory.from_raw`` (the arrays that logging
the same points in order produces), so that setting up a million points takes no minute; the
memory child logs every point through the store.

Usage (from the repository root)::

    python -m benchmarks.bench_history [--quick | --tiny] [--no-real] [--points N] [--json FILE]
"""

from __future__ import annotations

import argparse
import datetime
import gc
import io
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, Sequence
from urllib.parse import urlencode

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import _cli
from benchmarks._client import Call, RawClient
from benchmarks._targets import REPO_ROOT, repo_env

from fakeflow.search.paging import encode_offset_token
from fakeflow.state.metric_history import MetricHistory, MetricPoint
from fakeflow.state.tracking import MetricInput, TrackingStore

BASE_TS = 1_700_000_000_000
PAGE = 1000
HISTORY = "/api/2.0/mlflow/metrics/get-history"
KEY = "loss"


@dataclass(frozen=True)
class Config:
    """How much to do; the defaults take about four minutes with real MLflow."""

    points: int = 1_000_000
    repeats: int = 15  # requests per page position; the median is reported
    real: bool = True
    real_points: int = 20_000
    real_repeats: int = 5
    memory: bool = True
    port: int = 0  # fakeflow's HTTP server (0: any free port)


QUICK = Config(points=200_000, repeats=7, real_points=5_000, real_repeats=3)
#: For the smoke test: every code path, small numbers.
TINY = Config(points=10_000, repeats=2, real=False, real_points=0, real_repeats=0)


# ---- timing -------------------------------------------------------------------------------------


def _history(points: int, shuffled: bool = False) -> MetricHistory:
    """``points`` distinct points (step i at BASE_TS + i); ``shuffled``: stored out of order."""
    order = list(range(points))
    if shuffled:
        random.Random(9).shuffle(order)
    return MetricHistory.from_raw(
        (1.0 / (i + 1) for i in order), (BASE_TS + i for i in order), order, not shuffled,
        MetricPoint(1.0 / points, BASE_TS + points - 1, points - 1) if points else None)


def _path(run_id: str, offset: int | None, max_results: int | None = PAGE) -> str:
    query: dict[str, Any] = {"run_id": run_id, "metric_key": KEY}
    if max_results is not None:
        query["max_results"] = max_results
    if offset:
        query["page_token"] = encode_offset_token(offset)
    return f"{HISTORY}?{urlencode(query)}"


def _wsgi_get(app: Callable, path: str) -> bytes:
    """One GET straight into the WSGI app, its body joined (what the in-process transport does)."""
    route, _, query = path.partition("?")
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": route, "QUERY_STRING": query,
               "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "80", "HTTP_HOST": "127.0.0.1",
               "SERVER_PROTOCOL": "HTTP/1.1", "wsgi.input": io.BytesIO(),
               "wsgi.url_scheme": "http"}
    status: list[str] = []
    body = b"".join(app(environ, lambda line, headers: status.append(line)))
    if not status or not status[0].startswith("200"):
        raise RuntimeError(f"GET {path} -> {status}: {body[:300]!r}")
    return body


def _http_get(client: RawClient, path: str) -> bytes:
    status, body = client.send(Call("GET", path))
    if status != 200:
        raise RuntimeError(f"GET {path} -> {status}: {body[:300]!r}")
    return body


def _check_page(body: bytes, offset: int, size: int) -> None:
    """The page holds the points the offset names: every target did the real work."""
    steps = [m["step"] for m in json.loads(body).get("metrics", [])]
    expected = list(range(offset, min(offset + PAGE, size)))
    if steps != expected:
        raise RuntimeError(f"page at {offset}: steps {steps[:3]}... expected {expected[:3]}...")


def _positions(points: int) -> dict[str, int]:
    return {"start": 0, "middle": points // 2, "end": max(points - PAGE, 0)}


def _time_pages(get: Callable[[str], bytes], run_id: str, points: int,
                repeats: int) -> dict[str, dict[str, float]]:
    """Median and best seconds for one page at each position (one untimed request first)."""
    out = {}
    for name, offset in _positions(points).items():
        path = _path(run_id, offset)
        _check_page(get(path), offset, points)
        samples = []
        for _ in range(repeats):
            started = time.perf_counter()
            get(path)
            samples.append(time.perf_counter() - started)
        out[name] = {"offset": offset, "median_s": statistics.median(samples),
                     "min_s": min(samples)}
    return out


def _timed(get: Callable[[str], bytes], path: str) -> tuple[float, int]:
    started = time.perf_counter()
    size = len(get(path))
    return time.perf_counter() - started, size


def measure_fakeflow(points: int, repeats: int, port: int, untidy: bool = True,
                     full: bool = True) -> dict[str, Any]:
    """Page timings on fakeflow, in-process and over HTTP, for an N-point history."""
    from fakeflow import ThreadedServer, create_app

    app = create_app()
    store = app.store
    run_id = store.create_run("0", start_time=1).run_id
    store.runs[run_id].metrics[KEY] = _history(points)
    result: dict[str, Any] = {"points": points, "page": PAGE}
    result["in_process"] = _time_pages(lambda p: _wsgi_get(app, p), run_id, points, repeats)
    if untidy:
        messy = store.create_run("0", start_time=1).run_id
        store.runs[messy].metrics[KEY] = _history(points, shuffled=True)
        first, _ = _timed(lambda p: _wsgi_get(app, p), _path(messy, None))
        second, _ = _timed(lambda p: _wsgi_get(app, p), _path(messy, points // 2))
        result["untidy_in_process"] = {"first_page_s": first, "next_page_s": second}
    if full:
        seconds, size = _timed(lambda p: _wsgi_get(app, p), _path(run_id, None, None))
        result["full_in_process"] = {"seconds": seconds, "bytes": size}
    server = ThreadedServer(app, port=port).start()
    client = RawClient(server.url)
    try:
        result["http"] = _time_pages(lambda p: _http_get(client, p), run_id, points, repeats)
        if full:
            seconds, size = _timed(lambda p: _http_get(client, p), _path(run_id, None, None))
            result["full_http"] = {"seconds": seconds, "bytes": size}
    finally:
        client.close()
        server.stop()
    return result


def measure_real(points: int, repeats: int, log: Callable[[str], None]) -> dict[str, Any]:
    """The same pages on real MLflow 3.17.2 (seeded over HTTP, 1,000 points per log-batch)."""
    from benchmarks._targets import start_real

    try:
        target = start_real()
    except Exception as error:  # no real MLflow here: fakeflow's figures still stand
        return {"skipped": f"{type(error).__name__}: {error}"}
    client = RawClient(target.url)
    try:
        api = "/api/2.0/mlflow"
        _, body = client.send(Call("POST", api + "/experiments/create", json.dumps(
            {"name": f"bench-history-{time.time_ns()}"}).encode()))
        experiment_id = json.loads(body)["experiment_id"]
        _, body = client.send(Call("POST", api + "/runs/create", json.dumps(
            {"experiment_id": experiment_id, "start_time": 1}).encode()))
        run_id = json.loads(body)["run"]["info"]["run_id"]
        started = time.perf_counter()
        for first in range(0, points, 1000):
            metrics = [{"key": KEY, "value": 1.0 / (i + 1), "timestamp": BASE_TS + i, "step": i}
                       for i in range(first, min(first + 1000, points))]
            status, body = client.send(Call("POST", api + "/runs/log-batch", json.dumps(
                {"run_id": run_id, "metrics": metrics}).encode()))
            if status != 200:
                raise RuntimeError(f"real log-batch -> {status}: {body[:300]!r}")
        seeded = time.perf_counter() - started
        log(f"  real MLflow seeded with {points:,} points in {seeded:.1f} s")
        pages = _time_pages(lambda p: _http_get(client, p), run_id, points, repeats)
        seconds, size = _timed(lambda p: _http_get(client, p), _path(run_id, None, None))
        return {"points": points, "seed_s": seeded, "http": pages,
                "full_http": {"seconds": seconds, "bytes": size}}
    finally:
        client.close()
        target.stop()


# ---- memory (in a child process) ----------------------------------------------------------------


def _rss_kb() -> tuple[int, int]:
    """(current RSS, peak RSS since the last reset) in KiB, from /proc/self/status."""
    found = {}
    with open("/proc/self/status") as status:
        for line in status:
            name, _, value = line.partition(":")
            if name in ("VmRSS", "VmHWM"):
                found[name] = int(value.split()[0])
    return found["VmRSS"], found["VmHWM"]


def _reset_peak() -> None:
    gc.collect()
    with open("/proc/self/clear_refs", "w") as clear_refs:
        clear_refs.write("5")  # Linux: the peak RSS starts again from the current RSS


def memory_child(points: int) -> dict[str, Any]:
    """Log ``points`` through the store, then produce the full answer twice; RSS at each step."""
    from fakeflow import create_app

    app = create_app()
    store: TrackingStore = app.store
    run_id = store.create_run("0", start_time=1).run_id
    _reset_peak()
    before, _ = _rss_kb()
    started = time.perf_counter()
    for first in range(0, points, 1000):
        store.log_batch(run_id, [MetricInput(KEY, 1.0 / (i + 1), BASE_TS + i, i)
                                 for i in range(first, min(first + 1000, points))], [], [])
    logging_s = time.perf_counter() - started
    gc.collect()
    after, peak = _rss_kb()
    out: dict[str, Any] = {"points": points, "logging": {
        "seconds": logging_s, "rss_growth_bytes": (after - before) * 1024,
        "peak_growth_bytes": (peak - before) * 1024,
        "bytes_per_point": (after - before) * 1024 / points}}
    path = _path(run_id, None, None)
    route, _, query = path.partition("?")

    def environ() -> dict[str, Any]:
        return {"REQUEST_METHOD": "GET", "PATH_INFO": route, "QUERY_STRING": query,
                "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "80", "HTTP_HOST": "127.0.0.1",
                "SERVER_PROTOCOL": "HTTP/1.1", "wsgi.input": io.BytesIO(),
                "wsgi.url_scheme": "http"}

    import requests

    from fakeflow.transport.wsgi_adapter import WSGIAdapter

    session = requests.Session()
    session.mount("http://fakeflow.invalid", WSGIAdapter(app))
    for way in ("streamed", "joined"):
        _reset_peak()
        base, _ = _rss_kb()
        started = time.perf_counter()
        if way == "streamed":  # as fakeflow's HTTP server writes it: one chunk at a time
            size = count = 0
            for chunk in app(environ(), lambda status, headers: None):
                size, count = size + len(chunk), count + 1
        else:  # through the in-process transport (requests, no socket): one bytes
            response = session.get("http://fakeflow.invalid" + path)
            size, count = len(response.content), 1
        seconds = time.perf_counter() - started
        _, peak = _rss_kb()
        if way == "joined":
            del response
        out[way] = {"seconds": seconds, "body_bytes": size, "chunks": count,
                    "peak_growth_bytes": (peak - base) * 1024,
                    "peak_bytes_per_point": (peak - base) * 1024 / points,
                    "peak_vs_body": (peak - base) * 1024 / size}
    return out


def measure_memory(points: int) -> dict[str, Any]:
    if not os.path.exists("/proc/self/clear_refs"):
        return {"skipped": "needs Linux /proc (VmHWM and clear_refs)"}
    done = subprocess.run([sys.executable, "-m", "benchmarks.bench_history", "--memory-child",
                           str(points)], capture_output=True, text=True, cwd=REPO_ROOT,
                          env=repo_env(), timeout=3600)
    if done.returncode != 0:
        raise RuntimeError(f"memory child failed: {done.stderr[-2000:]}")
    return json.loads(done.stdout)


# ---- the report ---------------------------------------------------------------------------------


def run_benchmarks(config: Config, log: Callable[[str], None] = lambda _: None) -> dict[str, Any]:
    started = time.perf_counter()
    load = _load_average()
    results: dict[str, Any] = {"config": asdict(config)}
    log(f"fakeflow: pages of {PAGE:,} in a {config.points:,}-point history ...")
    results["fakeflow"] = measure_fakeflow(config.points, config.repeats, config.port)
    if config.real:
        log(f"real MLflow and fakeflow at {config.real_points:,} points ...")
        results["real"] = measure_real(config.real_points, config.real_repeats, log)
        results["fakeflow_small"] = measure_fakeflow(config.real_points, config.real_repeats,
                                                     config.port, untidy=False)
    if config.memory:
        log(f"memory: logging {config.points:,} points and the full answer, in a child ...")
        results["memory"] = measure_memory(config.points)
    results["environment"] = _environment(load)
    results["elapsed_s"] = time.perf_counter() - started
    return results


def _load_average() -> list[float] | None:
    try:
        return [round(value, 2) for value in os.getloadavg()]
    except (AttributeError, OSError):
        return None


def _environment(load_at_start: list[float] | None) -> dict[str, Any]:
    import fakeflow

    return {"date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "fakeflow": fakeflow.__version__, "python": platform.python_version(),
            "cpus": os.cpu_count(), "load_average_start": load_at_start,
            "load_average_end": _load_average()}


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:9.2f} ms"


def _mb(size: float) -> str:
    return f"{size / 1e6:8.1f} MB"


def render(results: dict[str, Any]) -> str:
    env, config, ff = results["environment"], results["config"], results["fakeflow"]
    lines = [f"fakeflow {env['fakeflow']} metric history benchmark — {env['date']}",
             f"python {env['python']}, {env['cpus']} CPUs, load average {env['load_average_start']}"
             f" at start, {env['load_average_end']} at end",
             "",
             f"one page of {PAGE:,} points (get-history max_results={PAGE}) in a "
             f"{ff['points']:,}-point history; median of {config['repeats']} requests:",
             "position   offset        in-process          HTTP"]
    for name, entry in ff["in_process"].items():
        lines.append(f"{name:8} {entry['offset']:>9,}  {_ms(entry['median_s'])}  "
                     f"{_ms(ff['http'][name]['median_s'])}")
    if "untidy_in_process" in ff:
        untidy = ff["untidy_in_process"]
        lines.append(f"untidy history (logged out of order), in-process: first page "
                     f"{_ms(untidy['first_page_s']).strip()} (includes the one-off sort), "
                     f"next page {_ms(untidy['next_page_s']).strip()}")
    if "full_in_process" in ff:
        lines.append(f"whole history in one answer ({_mb(ff['full_in_process']['bytes']).strip()}"
                     f" of JSON): in-process {ff['full_in_process']['seconds']:.2f} s, "
                     f"HTTP {ff['full_http']['seconds']:.2f} s")
    real = results.get("real")
    if real and "skipped" not in real:
        small = results["fakeflow_small"]
        lines += ["", f"real MLflow 3.17.2 at a smaller history ({real['points']:,} points; "
                  f"seeding it took {real['seed_s']:.0f} s), over HTTP, median of "
                  f"{config['real_repeats']}:",
                  "position         real MLflow      fakeflow     ratio"]
        for name, entry in real["http"].items():
            mine = small["http"][name]["median_s"]
            lines.append(f"{name:8}     {_ms(entry['median_s'])}  {_ms(mine)}  "
                         f"{entry['median_s'] / mine:7.1f}x")
        lines.append(f"whole history: real {real['full_http']['seconds']:.2f} s, fakeflow "
                     f"{small['full_http']['seconds']:.2f} s")
    elif real:
        lines += ["", f"real MLflow: skipped ({real['skipped']})"]
    memory = results.get("memory")
    if memory and "skipped" not in memory:
        logging = memory["logging"]
        lines += ["", f"memory (child process, peak RSS via VmHWM), {memory['points']:,} points:",
                  f"logging through the store: RSS +{_mb(logging['rss_growth_bytes']).strip()} "
                  f"({logging['bytes_per_point']:.0f} bytes/point; peak "
                  f"+{_mb(logging['peak_growth_bytes']).strip()}), "
                  f"{logging['seconds']:.1f} s"]
        for way, label in (("streamed", "sent chunk by chunk (HTTP server)"),
                           ("joined", "joined into one bytes (in-process transport)")):
            entry = memory[way]
            lines.append(f"full answer, {label}: peak +{_mb(entry['peak_growth_bytes']).strip()}"
                         f" = {entry['peak_bytes_per_point']:.0f} bytes/point = "
                         f"{entry['peak_vs_body']:.2f}x the {_mb(entry['body_bytes']).strip()} "
                         f"body, {entry['seconds']:.2f} s")
    elif memory:
        lines += ["", f"memory: skipped ({memory['skipped']})"]
    lines.append(f"\n(elapsed {results['elapsed_s']:.0f} s)")
    return "\n".join(lines)


def _parser() -> argparse.ArgumentParser:
    parser = _cli.parser("bench_history", __doc__, "200,000 points (~1 min)",
                         "a few thousand points, no real MLflow")
    parser.add_argument("--points", type=int, help="history size for fakeflow")
    parser.add_argument("--port", type=int, help="port for fakeflow's HTTP server (default: any)")
    parser.add_argument("--memory-child", type=int, metavar="N", help=argparse.SUPPRESS)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.memory_child is not None:
        print(json.dumps(memory_child(args.memory_child)))
        return 0
    config = _cli.config(args, Config(), QUICK, TINY, points="points", port="port")
    results = run_benchmarks(config, log=_cli.progress)
    _cli.report(render(results), results, args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
