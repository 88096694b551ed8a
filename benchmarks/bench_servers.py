"""Which HTTP server should fakeflow run on? Issue 8's server comparison, in one run.

* stall: how long a fresh client waits for ``GET /health`` and for a store call while N
  connections stall mid-request (a head announcing 100 bytes of body, one byte, then nothing):
  fakeflow, bare Werkzeug (a do-nothing app on Werkzeug's threaded server) and real MLflow;
* throughput: ``MlflowClient.log_metric`` calls per second over loopback, the fakeflow app on
  each candidate server (fakeflow's own, waitress, cheroot, Werkzeug's threaded server speaking
  HTTP/1.1), each in its own process, then each on a thread of the benchmark's own process (as
  the pytest plugin runs it); interleaved rounds;
* robustness: which of issue 8's checks (``benchmarks._server_checks``) each candidate passes.

Usage (from the repository root)::

    python -m benchmarks.bench_servers [--quick | --tiny] [--no-real] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import _cli
from benchmarks._candidates import CANDIDATES, available
from benchmarks._server_checks import CHECKS, child_cpu_seconds, fresh_call, stalled
from benchmarks._targets import REPO_ROOT, Target, reap, repo_env, start_real

SEARCH = ("POST", "/api/2.0/mlflow/experiments/search", json.dumps({"max_results": 1}).encode())


@dataclass(frozen=True)
class Config:
    rounds: int = 12
    log_metric_calls: int = 150  # per round and candidate
    warmup_calls: int = 30
    stalls: int = 50
    stall_samples: int = 5
    real: bool = True
    candidates: tuple[str, ...] = tuple(CANDIDATES)
    checks: tuple[str, ...] = tuple(CHECKS)


QUICK = Config(rounds=4, log_metric_calls=40, warmup_calls=10, stall_samples=3, real=False)
#: For the smoke test: every code path, as little work as possible.
TINY = Config(rounds=1, log_metric_calls=5, warmup_calls=1, stalls=5, stall_samples=1, real=False,
              candidates=("fakeflow", "werkzeug"),
              checks=("conflicting Content-Length -> 400", "keep-alive reuse"))


def start_candidate(name: str, app: str = "fakeflow") -> Target:
    """``app`` (fakeflow's, or ``bare``: a do-nothing one) on candidate server ``name``, in a
    child process (its pid in ``CHILD_PIDS[url]``, to read its CPU time)."""
    process = subprocess.Popen([sys.executable, "-m", "benchmarks._candidates", name, "--app", app],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                               cwd=REPO_ROOT, env=repo_env())

    def stop() -> None:
        if process.stdin and not process.stdin.closed:
            process.stdin.close()
        reap(process)

    url = process.stdout.readline().strip() if process.stdout else ""
    if not url.startswith("http://127.0.0.1:"):
        stop()
        raise RuntimeError(f"{name} did not start (got {url!r})")
    CHILD_PIDS[url] = process.pid
    return Target(name, url, stop)


CHILD_PIDS: dict[str, int] = {}


def _port(url: str) -> int:
    return int(url.rstrip("/").rsplit(":", 1)[1])


def stall_figures(url: str, config: Config, store_call: bool = True) -> dict[str, Any]:
    """Median seconds a fresh client waits, with ``config.stalls`` connections stalled."""
    port = _port(url)
    with stalled(port, config.stalls):
        health = [fresh_call(port, timeout=30) for _ in range(config.stall_samples)]
        search = ([fresh_call(port, *SEARCH, timeout=30) for _ in range(config.stall_samples)]
                  if store_call else None)
    return {"health_s": statistics.median(health),
            "store_call_s": statistics.median(search) if search else None}


def measure_stalls(config: Config, log: Callable[[str], None]) -> dict[str, Any]:
    figures: dict[str, Any] = {}
    for name, start, store_call in (("fakeflow", lambda: start_candidate("fakeflow"), True),
                                    ("bare Werkzeug", lambda: start_candidate("werkzeug", "bare"),
                                     False),
                                    ("real MLflow", start_real, True)):
        if name == "real MLflow" and not config.real:
            figures[name] = None
            continue
        log(f"stall: {name} ...")
        target = start()
        try:
            figures[name] = stall_figures(target.url, config, store_call)
        finally:
            target.stop()
    return figures


def _log_metric_rate(client: Any, run_id: str, calls: int, first_step: int,
                     server_pid: int | None = None) -> tuple[float, float | None]:
    """(calls/s, server CPU microseconds per call)."""
    cpu_before = child_cpu_seconds(server_pid) if server_pid else None
    started = time.perf_counter()
    for step in range(first_step, first_step + calls):
        client.log_metric(run_id, "loss", 1.0 / (step + 1), step=step)
    rate = calls / (time.perf_counter() - started)
    if cpu_before is None:
        return rate, None
    return rate, (child_cpu_seconds(server_pid) - cpu_before) / calls * 1e6


def measure_throughput(config: Config, log: Callable[[str], None]) -> dict[str, Any]:
    """log_metric calls/s per candidate: rounds interleaved, so load hits all alike."""
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    from mlflow import MlflowClient

    names = [n for n in config.candidates if available(n)]
    targets: dict[str, Target] = {}
    runs: dict[str, tuple[Any, str]] = {}
    rates: dict[str, list[float]] = {name: [] for name in names}
    cpu: dict[str, list[float]] = {name: [] for name in names}
    try:
        for name in names:
            log(f"throughput: starting {name} ...")
            targets[name] = start_candidate(name)
            client = MlflowClient(tracking_uri=targets[name].url)
            experiment = client.create_experiment(f"bench-{uuid.uuid4().hex[:8]}")
            run_id = client.create_run(experiment).info.run_id
            _log_metric_rate(client, run_id, config.warmup_calls, 0)
            runs[name] = (client, run_id)
        step = config.warmup_calls
        for round_index in range(config.rounds):
            log(f"throughput: round {round_index + 1}/{config.rounds} ...")
            shift = round_index % len(names)  # rotate, so no server always runs first
            for name in names[shift:] + names[:shift]:
                client, run_id = runs[name]
                rate, cost = _log_metric_rate(client, run_id, config.log_metric_calls, step,
                                              CHILD_PIDS.get(targets[name].url))
                rates[name].append(rate)
                if cost is not None:
                    cpu[name].append(cost)
            step += config.log_metric_calls
    finally:
        for target in targets.values():
            target.stop()
    in_process = _in_process_rates(names, config, log)
    base = rates.get("fakeflow")
    base_here = in_process.get("fakeflow")
    return {name: {"calls_per_s": statistics.median(r), "rounds": r,
                   "in_process_calls_per_s": statistics.median(in_process[name]),
                   "in_process_rounds": in_process[name],
                   "in_process_vs_fakeflow": (statistics.median(
                       x / b for x, b in zip(in_process[name], base_here)) if base_here else None),
                   "vs_fakeflow": (statistics.median(x / b for x, b in zip(r, base))
                                   if base else None),
                   "server_cpu_us_per_call": statistics.median(cpu[name]) if cpu[name] else None}
            for name, r in rates.items()}


def _in_process_rates(names: list[str], config: Config,
                      log: Callable[[str], None]) -> dict[str, list[float]]:
    """The same, with each server on a thread of this process, as the pytest plugin runs it:
    there the server's threads and the client share one GIL."""
    from mlflow import MlflowClient

    from benchmarks._candidates import start
    from fakeflow.web.app import create_app

    servers = {name: start(name, create_app()) for name in names}
    rates: dict[str, list[float]] = {name: [] for name in names}
    try:
        runs = {}
        for name, server in servers.items():
            client = MlflowClient(tracking_uri=server.url)
            run_id = client.create_run(client.create_experiment("in-process")).info.run_id
            _log_metric_rate(client, run_id, config.warmup_calls, 0)
            runs[name] = (client, run_id)
        for round_index in range(config.rounds):
            log(f"throughput in-process: round {round_index + 1}/{config.rounds} ...")
            shift = round_index % len(names)
            for name in names[shift:] + names[:shift]:
                client, run_id = runs[name]
                first = config.warmup_calls + round_index * config.log_metric_calls
                rates[name].append(_log_metric_rate(client, run_id, config.log_metric_calls,
                                                    first)[0])
    finally:
        for server in servers.values():
            server.stop()
    return rates


def run_checks(config: Config, log: Callable[[str], None]) -> dict[str, dict[str, str | None]]:
    """candidate -> check title -> None (passed) or the failure, in a line."""
    table: dict[str, dict[str, str | None]] = {}
    for name in config.candidates:
        if not available(name):
            continue
        log(f"robustness checks: {name} ...")
        table[name] = {}
        for title in config.checks:
            started = time.perf_counter()
            try:
                CHECKS[title](name)
                table[name][title] = None
            except Exception as error:  # a check that errors is a check the server fails
                table[name][title] = f"{type(error).__name__}: {error}".splitlines()[0][:160]
            log(f"  {title}: {'pass' if table[name][title] is None else 'FAIL'} "
                f"({time.perf_counter() - started:.1f} s)")
    return table


def run_benchmarks(config: Config, log: Callable[[str], None] = lambda _: None) -> dict[str, Any]:
    started = time.perf_counter()
    results = {
        "config": asdict(config),
        "load_average_start": list(os.getloadavg()),
        "unavailable": [n for n in config.candidates if not available(n)],
        "stall": measure_stalls(config, log),
        "throughput": measure_throughput(config, log),
        "robustness": run_checks(config, log),
    }
    results["load_average_end"] = list(os.getloadavg())
    results["elapsed_s"] = time.perf_counter() - started
    return results


def _ms(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1000:.1f} ms"


def render(results: dict[str, Any]) -> str:
    config = results["config"]
    lines = [f"== time to serve a fresh client while {config['stalls']} connections stall "
             f"(median of {config['stall_samples']})",
             f"{'server':<16}{'GET /health':>14}{'store call':>14}"]
    for name, figures in results["stall"].items():
        if figures is None:
            lines.append(f"{name:<16}{'(skipped)':>14}")
        else:
            lines.append(f"{name:<16}{_ms(figures['health_s']):>14}{_ms(figures['store_call_s']):>14}")
    lines += ["", f"== MlflowClient.log_metric calls/s over loopback, fakeflow app "
                  f"(median of {config['rounds']} rounds x {config['log_metric_calls']} calls)"]
    lines.append(f"{'':<16}{'server in its own process':^42}{'server on a thread here':^28}")
    lines.append(f"{'server':<16}{'calls/s':>10}{'vs fakeflow':>14}{'server CPU/call':>18}"
                 f"{'calls/s':>12}{'vs fakeflow':>14}")
    for name, figures in results["throughput"].items():
        ratio = "-" if figures["vs_fakeflow"] is None else f"{figures['vs_fakeflow']:.2f}x"
        cost = figures["server_cpu_us_per_call"]
        cost_text = "-" if cost is None else f"{cost:.0f} us"
        here = figures["in_process_vs_fakeflow"]
        here_ratio = "-" if here is None else f"{here:.2f}x"
        lines.append(f"{name:<16}{figures['calls_per_s']:>10.0f}{ratio:>14}{cost_text:>18}"
                     f"{figures['in_process_calls_per_s']:>12.0f}{here_ratio:>14}")
    lines.append("(calls/s: median of per-round figures; ratios: median of per-round ratios; server "
                 "CPU: the server process's own user+system time, which machine load barely moves)")
    table = results["robustness"]
    names = list(table)
    lines += ["", "== robustness checks passed (issue 8)",
              f"{'check':<46}" + "".join(f"{n:>10}" for n in names)]
    for title in config["checks"]:
        marks = "".join(f"{('pass' if table[n][title] is None else 'FAIL'):>10}" for n in names)
        lines.append(f"{title:<46}{marks}")
    lines.append(f"{'passed':<46}" + "".join(
        f"{sum(v is None for v in table[n].values())}/{len(table[n])}".rjust(10) for n in names))
    failures = [f"  {n}: {t}: {why}" for n in names for t, why in table[n].items() if why]
    if failures:
        lines += ["", "failures:", *failures]
    if results["unavailable"]:
        lines.append(f"not installed (skipped): {', '.join(results['unavailable'])}")
    lines.append(f"load average {results['load_average_start']} -> {results['load_average_end']}; "
                 f"{results['elapsed_s']:.0f} s")
    return "\n".join(lines)


def _parser() -> argparse.ArgumentParser:
    return _cli.parser("bench_servers", __doc__, "fewer calls, no real MLflow (CI)",
                       "code paths only (the smoke test)")


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    results = run_benchmarks(_cli.config(args, Config(), QUICK, TINY), log=_cli.progress)
    _cli.report(render(results), results, args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
