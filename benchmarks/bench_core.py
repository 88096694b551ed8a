"""fakeflow's core benchmark: one run, every figure the issue asks for, judged against its targets.

* requests/s for log-metric and run search (pages of 50 and of 10) over loopback HTTP, same
  client, for four targets, each in its own process:

  - ``fakeflow``: ``create_app()`` on fakeflow's ThreadedServer (its own keep-alive server);
  - ``bare``: a do-nothing app on Werkzeug's own server, which closes every connection: "bare
    Werkzeug", the floor of any Werkzeug-served fake, against which the 70% target is judged;
  - ``bare-keepalive``: the same do-nothing app on fakeflow's ThreadedServer; fakeflow over it
    is the app's own overhead on fakeflow's server (informational, no target);
  - ``real``: real MLflow 3.17.2.

  Every ratio is the median of per-round ratios over interleaved rounds, so machine noise hits
  all targets alike;
* startup time to the first ``/health`` answer;
* bytes kept per logged metric point (tracemalloc).

Usage (from the repository root)::

    python -m benchmarks.bench_core [--quick | --tiny] [--no-real] [--json FILE] [--strict]
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import statistics
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import _cli, _memory, _startup
from benchmarks._client import CLIENTS, Client, Rate, replay
from benchmarks._report import judge, render
from benchmarks._targets import Target, start_local, start_real
from benchmarks._workloads import (
    PLACEHOLDER_EXPERIMENT_ID,
    PLACEHOLDER_RUN_ID,
    SEARCH_PAGES,
    WORKLOADS,
    create_metric_run,
    expected_search_names,
    log_metric_calls,
    search_call,
    search_page_names,
    seed_search_experiment,
)

#: Served by ``benchmarks._serve`` in child processes; the bare ones hold no data.
LOCAL_TARGETS = ("fakeflow", "bare", "bare-keepalive")
BARE_TARGETS = ("bare", "bare-keepalive")
#: Report order.
ALL_TARGETS = ("fakeflow", "bare", "bare-keepalive", "real")


@dataclass(frozen=True)
class Config:
    """How much of everything to do; the defaults take about two minutes with real MLflow."""

    rounds: int = 5
    log_metric_requests: int = 600  # per round, for each local target
    search_requests: int = 200
    search10_requests: int = 300
    warmup_requests: int = 50
    search_runs: int = 100
    real: bool = True
    real_log_metric_requests: int = 80  # per round
    real_search_requests: int = 40
    real_search10_requests: int = 40
    real_budget_s: float = 3.0  # per round and workload, so the real part stays bounded
    startup_repeats: int = 5
    memory_points: int = 100_000
    http_memory_points: int = 2_000
    short_histories: tuple[int, int, int] = (100, 10, 10)  # runs, keys, points per key
    client: str = "http.client"

    def requests(self, target: str, workload: str) -> int:
        """Timed requests per round for ``target`` on ``workload``."""
        prefix = "real_" if target == "real" else ""
        suffix = {"log_metric": "log_metric", "search": "search", "search_10": "search10"}[workload]
        return getattr(self, f"{prefix}{suffix}_requests")


QUICK = Config(rounds=3, log_metric_requests=250, search_requests=80, search10_requests=120,
               warmup_requests=20, real_log_metric_requests=40, real_search_requests=20,
               real_search10_requests=20, real_budget_s=1.5, startup_repeats=3,
               memory_points=30_000, http_memory_points=1_000)

#: For the smoke test: every code path, a handful of requests.
TINY = Config(rounds=2, log_metric_requests=20, search_requests=10, search10_requests=10,
              warmup_requests=2, search_runs=60, real=False, startup_repeats=1,
              memory_points=2_000, http_memory_points=100, short_histories=(10, 5, 10))


def _calls(workload: str, ids: tuple[str, str], count: int, first_step: int) -> list:
    run_id, experiment_id = ids
    if workload == "log_metric":
        return log_metric_calls(run_id, count, first_step)
    return [search_call(experiment_id, SEARCH_PAGES[workload])] * count


def _prepare(client: Client, config: Config) -> tuple[tuple[str, str], dict[str, list[str]]]:
    """Seed a target: ids for the workloads, and its answer to each benchmark search."""
    experiment_id = seed_search_experiment(client, config.search_runs)
    run_id = create_metric_run(client)
    pages = {workload: search_page_names(client, experiment_id, page)
             for workload, page in SEARCH_PAGES.items()}
    return (run_id, experiment_id), pages


def _start_real(log: Callable[[str], None]) -> tuple[Target | None, dict]:
    """Real MLflow, started and seeded, or None and why not."""
    started = time.perf_counter()
    try:
        target = start_real()
    except Exception as error:  # no real MLflow here: the rest of the figures still stand
        return None, {"skipped": f"{type(error).__name__}: {error}"}
    info: dict[str, Any] = {"url": target.url, "startup_s": time.perf_counter() - started}
    log(f"  real MLflow up in {info['startup_s']:.1f} s at {target.url}; seeding it")
    return target, info


def _timed(config: Config, url: str, calls: list, budget_s: float | None) -> Rate:
    """One target's share of a round, on a connection of its own that is kept alive throughout.

    A fresh client per share: no share inherits a socket that went idle (uvicorn drops those
    after 5 s) while the other targets ran. It reconnects whenever the server closes the
    connection, and Werkzeug's server does after every answer: that cost is part of its figure.
    """
    client = CLIENTS[config.client](url)
    try:
        return replay(client, calls, budget_s)
    finally:
        client.close()


def measure_throughput(config: Config, log: Callable[[str], None]) -> dict[str, Any]:
    """Interleaved rounds of every workload on every target, so noise hits all of them alike.

    Real MLflow gets fewer requests per round (and a time budget); the local targets the same.
    """
    targets: dict[str, Target] = {}
    real_info: dict[str, Any] | None = None
    try:
        if config.real:
            real, real_info = _start_real(log)
            if real is not None:
                targets["real"] = real
        for name in LOCAL_TARGETS:
            targets[name] = start_local(name)
        names = [name for name in ALL_TARGETS if name in targets]
        ids = dict.fromkeys(BARE_TARGETS, (PLACEHOLDER_RUN_ID, PLACEHOLDER_EXPERIMENT_ID))
        pages: dict[str, dict[str, list[str]]] = {}
        for name in names:
            if name not in BARE_TARGETS:
                seeded = time.perf_counter()
                client = CLIENTS[config.client](targets[name].url)
                try:
                    ids[name], pages[name] = _prepare(client, config)
                finally:
                    client.close()
                if name == "real" and real_info is not None:
                    real_info["seed_s"] = time.perf_counter() - seeded
        budget = {name: config.real_budget_s if name == "real" else None for name in names}
        steps = dict.fromkeys(names, 0)
        rates: dict[str, dict[str, list[float]]] = {w: {n: [] for n in names} for w in WORKLOADS}
        done = {w: dict.fromkeys(names, 0) for w in WORKLOADS}
        connections: dict[str, dict[str, int | None]] = {w: dict.fromkeys(names, 0)
                                                         for w in WORKLOADS}
        for round_index in range(-1, config.rounds):  # round -1 is the untimed warm-up
            shift = round_index % len(names)
            order = names[shift:] + names[:shift]
            for workload in WORKLOADS:
                for name in order:
                    warmup = round_index < 0
                    count = config.warmup_requests if warmup else config.requests(name, workload)
                    calls = _calls(workload, ids[name], count, steps[name])
                    limit = None if warmup else budget[name]
                    rate = _timed(config, targets[name].url, calls, limit)
                    if workload == "log_metric":
                        steps[name] += count
                    if not warmup:
                        rates[workload][name].append(rate.per_second)
                        done[workload][name] += rate.count
                        opened = connections[workload][name]
                        connections[workload][name] = (
                            None if opened is None or rate.connections is None
                            else opened + rate.connections)
            if round_index >= 0:
                log(f"  round {round_index + 1}/{config.rounds}: " + "; ".join(
                    f"{w} " + " / ".join(f"{n} {rates[w][n][-1]:.0f}" for n in names)
                    for w in WORKLOADS))
        return {"rates": rates, "requests": done, "connections": connections,
                "search_pages": pages, "real": real_info}
    finally:
        for target in targets.values():
            target.stop()


def _median_ratio(numerators: Sequence[float] | None,
                  denominators: Sequence[float] | None) -> float | None:
    if not numerators or not denominators:
        return None
    return statistics.median(n / d for n, d in zip(numerators, denominators))


#: Ratio name -> (numerator, denominator). Judged: fakeflow_vs_bare and fakeflow_vs_real. The
#: rest explain them: fakeflow_vs_bare_keepalive is the app's own overhead on fakeflow's server
#: (informational); bare_keepalive_vs_real and bare_vs_real are what doing nothing reaches
#: against real MLflow on each server: the ratio an HTTP stack alone allows.
RATIOS = {
    "fakeflow_vs_bare": ("fakeflow", "bare"),
    "fakeflow_vs_real": ("fakeflow", "real"),
    "fakeflow_vs_bare_keepalive": ("fakeflow", "bare-keepalive"),
    "bare_keepalive_vs_real": ("bare-keepalive", "real"),
    "bare_vs_real": ("bare", "real"),
}


def json_key(target: str) -> str:
    """A target's name as a JSON key prefix: ``bare-keepalive`` -> ``bare_keepalive``."""
    return target.replace("-", "_")


def throughput_figures(measured: dict[str, Any], config: Config) -> dict[str, Any]:
    """Median rate per target; ratios as the median of per-round ratios."""
    figures: dict[str, Any] = {}
    for workload, label in WORKLOADS.items():
        rates = measured["rates"][workload]
        requests = measured["requests"][workload]
        entry: dict[str, Any] = {"label": label, "requests": requests,
                                 "connections": measured["connections"][workload]}
        for name in ALL_TARGETS:
            median = statistics.median(rates[name]) if name in rates else None
            entry[f"{json_key(name)}_rps"] = median
            entry[f"{json_key(name)}_rounds_rps"] = rates.get(name)
        #: TCP connections the client opened per request: 1.0 means no keep-alive at all.
        entry["connections_per_request"] = {
            name: (opened / requests[name] if opened is not None and requests[name] else None)
            for name, opened in measured["connections"][workload].items()}
        for ratio, (numerator, denominator) in RATIOS.items():
            entry[ratio] = _median_ratio(rates.get(numerator), rates.get(denominator))
        if workload in SEARCH_PAGES:
            page = SEARCH_PAGES[workload]
            expected = expected_search_names(config.search_runs, page)
            entry.update(runs_in_experiment=config.search_runs, page_size=page, page_matches={
                name: pages[workload] == expected
                for name, pages in measured["search_pages"].items()})
        figures[workload] = entry
    return figures


def _load_average() -> list[float] | None:
    """1, 5 and 15-minute load averages: how much else the machine was running."""
    try:
        return [round(value, 2) for value in os.getloadavg()]
    except (AttributeError, OSError):
        return None


def _environment(config: Config, load_at_start: list[float] | None) -> dict[str, Any]:
    from importlib.metadata import version

    import fakeflow

    return {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "fakeflow": fakeflow.__version__, "python": platform.python_version(),
        "werkzeug": version("werkzeug"), "cpus": os.cpu_count(), "client": config.client,
        "platform": platform.platform(),
        "load_average_start": load_at_start, "load_average_end": _load_average(),
    }


def run_benchmarks(config: Config, log: Callable[[str], None] = lambda _: None) -> dict[str, Any]:
    """Every figure, as one JSON-able dict (``targets`` holds the verdicts)."""
    started = time.perf_counter()
    load_at_start = _load_average()
    log("memory per metric point ...")
    runs, keys, steps = config.short_histories
    memory = {
        "store": _memory.store_bytes_per_point(config.memory_points),
        "short_histories": _memory.short_histories_bytes_per_point(runs, keys, steps),
        "http": _memory.http_bytes_per_point(config.http_memory_points),
    }
    log("startup ...")
    startup = _startup.measure_startup(config.startup_repeats)
    log("throughput: " + ", ".join(LOCAL_TARGETS + (("real MLflow",) if config.real else ()))
        + " ...")
    measured = measure_throughput(config, log)
    results: dict[str, Any] = {
        "environment": _environment(config, load_at_start),
        "config": asdict(config),
        "throughput": throughput_figures(measured, config),
        "real": measured["real"],
        "startup": startup,
        "memory": memory,
    }
    results["elapsed_s"] = time.perf_counter() - started
    results["targets"] = [t.as_dict() for t in judge(results)]
    return results


def _parser() -> argparse.ArgumentParser:
    parser = _cli.parser("bench_core", __doc__, "fewer requests and points (~1 min)",
                         "a handful of requests, no real MLflow: checks the code paths only")
    parser.add_argument("--rounds", type=int, help="interleaved rounds over every target")
    parser.add_argument("--client", choices=sorted(CLIENTS), help="HTTP client (default http.client)")
    parser.add_argument("--strict", action="store_true", help="exit 1 if a measured target fails")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    config = _cli.config(args, Config(), QUICK, TINY, rounds="rounds", client="client")
    results = run_benchmarks(config, log=_cli.progress)
    targets = judge(results)
    _cli.report(render(results, targets), results, args.json)
    return 1 if args.strict and any(t.passed is False for t in targets) else 0


if __name__ == "__main__":
    raise SystemExit(main())
