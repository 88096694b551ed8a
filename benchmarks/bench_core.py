"""fakeflow's core benchmark: one run, every figure the issue asks for, judged against its targets.

* requests/s for log-metric and run search over loopback HTTP, same client, for fakeflow, a bare
  Werkzeug app that does nothing (both behind fakeflow's ThreadedServer, each in its own process)
  and real MLflow 3.17.2; fakeflow/bare is the median of per-round ratios over interleaved rounds,
  so machine noise hits both sides alike;
* startup time to the first ``/health`` answer;
* bytes kept per logged metric point (tracemalloc).

Usage (from the repository root)::

    python -m benchmarks.bench_core [--quick | --tiny] [--no-real] [--json FILE] [--strict]
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import sys
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, Callable, Sequence

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import _memory, _startup
from benchmarks._client import CLIENTS, Client, replay
from benchmarks._report import judge, render
from benchmarks._targets import Target, start_local, start_real
from benchmarks._workloads import (
    PLACEHOLDER_EXPERIMENT_ID,
    PLACEHOLDER_RUN_ID,
    SEARCH_PAGE,
    create_metric_run,
    expected_search_names,
    log_metric_calls,
    search_call,
    search_page_names,
    seed_search_experiment,
)

LOCAL_TARGETS = ("fakeflow", "bare")
WORKLOADS = ("log_metric", "search")


@dataclass(frozen=True)
class Config:
    """How much of everything to do; the defaults take about a minute and a half."""

    rounds: int = 5
    log_metric_requests: int = 600  # per round, fakeflow and bare each
    search_requests: int = 200
    warmup_requests: int = 50
    search_runs: int = 100
    real: bool = True
    real_log_metric_requests: int = 80  # per round
    real_search_requests: int = 40
    real_budget_s: float = 3.0  # per round and workload, so the real part stays bounded
    startup_repeats: int = 5
    memory_points: int = 100_000
    http_memory_points: int = 2_000
    short_histories: tuple[int, int, int] = (100, 10, 10)  # runs, keys, points per key
    client: str = "http.client"


QUICK = Config(rounds=3, log_metric_requests=250, search_requests=80, warmup_requests=20,
               real_log_metric_requests=40, real_search_requests=20, real_budget_s=1.5,
               startup_repeats=3, memory_points=30_000, http_memory_points=1_000)

#: For the smoke test: every code path, a handful of requests.
TINY = Config(rounds=2, log_metric_requests=20, search_requests=10, warmup_requests=2,
              search_runs=60, real=False, startup_repeats=1, memory_points=2_000,
              http_memory_points=100, short_histories=(10, 5, 10))


def _calls(workload: str, ids: tuple[str, str], count: int, first_step: int) -> list:
    run_id, experiment_id = ids
    if workload == "log_metric":
        return log_metric_calls(run_id, count, first_step)
    return [search_call(experiment_id)] * count


def _prepare(client: Client, config: Config) -> tuple[tuple[str, str], list[str]]:
    """Seed a target: ids for the workloads, and its answer to the benchmark's search."""
    experiment_id = seed_search_experiment(client, config.search_runs)
    run_id = create_metric_run(client)
    return (run_id, experiment_id), search_page_names(client, experiment_id)


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


def measure_throughput(config: Config, log: Callable[[str], None]) -> dict[str, Any]:
    """Interleaved rounds of every workload on every target, so noise hits all of them alike.

    Real MLflow gets fewer requests per round (and a time budget), fakeflow and bare the same.
    """
    targets: dict[str, Target] = {}
    clients: dict[str, Client] = {}
    real_info: dict[str, Any] | None = None
    try:
        if config.real:
            real, real_info = _start_real(log)
            if real is not None:
                targets["real"] = real
        for name in LOCAL_TARGETS:
            targets[name] = start_local(name)
        clients = {name: CLIENTS[config.client](t.url) for name, t in targets.items()}
        ids: dict[str, tuple[str, str]] = {"bare": (PLACEHOLDER_RUN_ID, PLACEHOLDER_EXPERIMENT_ID)}
        pages: dict[str, list[str]] = {}
        for name in targets:
            if name != "bare":
                seeded = time.perf_counter()
                ids[name], pages[name] = _prepare(clients[name], config)
                if name == "real" and real_info is not None:
                    real_info["seed_s"] = time.perf_counter() - seeded
        names = list(targets)
        counts = {
            name: {"log_metric": config.real_log_metric_requests if name == "real"
                   else config.log_metric_requests,
                   "search": config.real_search_requests if name == "real"
                   else config.search_requests}
            for name in names
        }
        budget = {name: config.real_budget_s if name == "real" else None for name in names}
        steps = dict.fromkeys(names, 0)
        rates: dict[str, dict[str, list[float]]] = {w: {n: [] for n in names} for w in WORKLOADS}
        done = {w: dict.fromkeys(names, 0) for w in WORKLOADS}
        for round_index in range(-1, config.rounds):  # round -1 is the untimed warm-up
            order = names[round_index % len(names):] + names[:round_index % len(names)]
            for workload in WORKLOADS:
                for name in order:
                    warmup = round_index < 0
                    count = config.warmup_requests if warmup else counts[name][workload]
                    calls = _calls(workload, ids[name], count, steps[name])
                    rate = replay(clients[name], calls, None if warmup else budget[name])
                    if workload == "log_metric":
                        steps[name] += count
                    if not warmup:
                        rates[workload][name].append(rate.per_second)
                        done[workload][name] += rate.count
            if round_index >= 0:
                log(f"  round {round_index + 1}/{config.rounds}: " + "; ".join(
                    f"{w} " + " / ".join(f"{n} {rates[w][n][-1]:.0f}" for n in names)
                    for w in WORKLOADS))
        return {"rates": rates, "requests": done, "search_pages": pages, "real": real_info}
    finally:
        for client in clients.values():
            client.close()
        for target in targets.values():
            target.stop()


def _median_ratio(numerators: Sequence[float], denominators: Sequence[float]) -> float:
    return statistics.median(n / d for n, d in zip(numerators, denominators))


def throughput_figures(measured: dict[str, Any], config: Config) -> dict[str, Any]:
    """Median rate per target; ratios as the median of per-round ratios."""
    expected = expected_search_names(config.search_runs)
    figures: dict[str, Any] = {}
    for workload in WORKLOADS:
        rates = measured["rates"][workload]
        entry: dict[str, Any] = {"requests": measured["requests"][workload]}
        for name in ("fakeflow", "bare", "real"):
            entry[f"{name}_rps"] = statistics.median(rates[name]) if name in rates else None
            entry[f"{name}_rounds_rps"] = rates.get(name)
        entry["fakeflow_vs_bare"] = _median_ratio(rates["fakeflow"], rates["bare"])
        has_real = "real" in rates
        entry["fakeflow_vs_real"] = _median_ratio(rates["fakeflow"], rates["real"]) if has_real else None
        #: The most fakeflow/real could be over this HTTP stack: what doing nothing achieves.
        entry["bare_vs_real"] = _median_ratio(rates["bare"], rates["real"]) if has_real else None
        figures[workload] = entry
    figures["search"].update(
        runs_in_experiment=config.search_runs, page_size=SEARCH_PAGE,
        page_matches={name: page == expected for name, page in measured["search_pages"].items()},
    )
    return figures


def _environment(config: Config) -> dict[str, Any]:
    from importlib.metadata import version

    import fakeflow

    return {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "fakeflow": fakeflow.__version__, "python": platform.python_version(),
        "werkzeug": version("werkzeug"), "cpus": os.cpu_count(), "client": config.client,
        "platform": platform.platform(),
    }


def run_benchmarks(config: Config, log: Callable[[str], None] = lambda _: None) -> dict[str, Any]:
    """Every figure, as one JSON-able dict (``targets`` holds the verdicts)."""
    started = time.perf_counter()
    log("memory per metric point ...")
    runs, keys, steps = config.short_histories
    memory = {
        "store": _memory.store_bytes_per_point(config.memory_points),
        "short_histories": _memory.short_histories_bytes_per_point(runs, keys, steps),
        "http": _memory.http_bytes_per_point(config.http_memory_points),
    }
    log("startup ...")
    startup = _startup.measure_startup(config.startup_repeats)
    log("throughput: fakeflow, bare Werkzeug" + (", real MLflow" if config.real else "") + " ...")
    measured = measure_throughput(config, log)
    results: dict[str, Any] = {
        "environment": _environment(config),
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
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_core", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer requests and points (~40 s)")
    parser.add_argument("--tiny", action="store_true",
                        help="a handful of requests, no real MLflow: checks the code paths only")
    parser.add_argument("--no-real", action="store_true", help="skip real MLflow")
    parser.add_argument("--rounds", type=int, help="interleaved fakeflow/bare rounds")
    parser.add_argument("--client", choices=sorted(CLIENTS), help="HTTP client (default http.client)")
    parser.add_argument("--json", metavar="FILE", help="also write every figure as JSON")
    parser.add_argument("--strict", action="store_true", help="exit 1 if a measured target fails")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    config = TINY if args.tiny else QUICK if args.quick else Config()
    if args.no_real:
        config = replace(config, real=False)
    if args.rounds:
        config = replace(config, rounds=args.rounds)
    if args.client:
        config = replace(config, client=args.client)
    results = run_benchmarks(config, log=lambda line: print(line, file=sys.stderr, flush=True))
    targets = judge(results)
    print(render(results, targets))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")
    return 1 if args.strict and any(t.passed is False for t in targets) else 0


if __name__ == "__main__":
    raise SystemExit(main())
