"""Model registry operations per second: fakeflow against real MLflow 3.17.2, in one run.

Each target (fakeflow's app on its own keep-alive server in a child process, as in
``bench_core``; real MLflow 3.17.2 with SQLite) is seeded alike: one run to register from and a
population of registered models with two versions each, so lookups and searches run over a
registry that is not empty. Then interleaved rounds replay *cycles* of a realistic mix, one
after another over one kept-alive ``http.client`` connection per target and round:

    create registered model, create two versions from ``runs:/<run>/model``, set an alias,
    get the version by alias, transition a stage, search versions by name, set a model tag and
    a version tag, delete a version, delete the model

Every cycle leaves the registry as it found it, so every target works on the same state
whatever its speed. Real MLflow gets fewer cycles per round and a time budget. A rate is the
median over rounds; a ratio is the median of per-round ratios. Per operation, the mean latency
over all timed cycles is reported beside it. Untimed warm-up cycles check every answer: both
targets must give the same versions, aliases and stages, so they did the same work.

Usage (from the repository root)::

    python -m benchmarks.bench_registry [--quick | --tiny] [--no-real] [--json FILE]
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
from dataclasses import asdict, dataclass
from typing import Any, Callable, Sequence
from pathlib import Path
from urllib.parse import urlencode

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import _cli
from benchmarks._client import BenchmarkError, Call, RawClient
from benchmarks._targets import Target, start_local, start_real

API = "/api/2.0/mlflow"
RM, MV = f"{API}/registered-models", f"{API}/model-versions"
#: The mix, in the order a cycle sends it: label -> what it is.
OPERATIONS = {
    "create_model": "create registered model",
    "create_version": "create version (runs:/ source)",
    "set_alias": "set alias",
    "get_by_alias": "get version by alias",
    "transition": "transition stage",
    "search_versions": "search versions (by name)",
    "set_model_tag": "set registered-model tag",
    "set_version_tag": "set model-version tag",
    "delete_version": "delete model version",
    "delete_model": "delete registered model",
}


@dataclass(frozen=True)
class Config:
    """How much to do; the defaults take about two minutes with real MLflow."""

    rounds: int = 5
    cycles: int = 40  # per round, fakeflow
    real_cycles: int = 6  # per round, real MLflow (also bounded by real_budget_s)
    real_budget_s: float = 6.0
    warmup_cycles: int = 2  # untimed, every answer checked
    population: int = 50  # registered models (two versions each) present before timing
    real: bool = True


QUICK = Config(rounds=3, cycles=20, real_cycles=4, real_budget_s=4.0, population=20)
#: For the smoke test: every code path, a handful of requests, no real MLflow.
TINY = Config(rounds=2, cycles=2, real_cycles=1, warmup_cycles=1, population=3, real=False)


# ---- requests ----------------------------------------------------------------------------------

def _post(path: str, payload: dict[str, Any], method: str = "POST") -> Call:
    return Call(method, path, json.dumps(payload).encode())


def _get(path: str, query: dict[str, Any]) -> Call:
    return Call("GET", f"{path}?{urlencode(query)}")


def cycle_calls(name: str, run_id: str) -> list[tuple[str, Call]]:
    """One cycle of the mix for model ``name``, as (operation label, request) pairs.

    Built before the clock starts, so preparing a request is never timed.
    """
    source = f"runs:/{run_id}/model"
    version = {"name": name, "source": source, "run_id": run_id}
    return [
        ("create_model", _post(f"{RM}/create", {
            "name": name, "description": "benchmark model",
            "tags": [{"key": "team", "value": "bench"}]})),
        ("create_version", _post(f"{MV}/create", version)),
        ("create_version", _post(f"{MV}/create", dict(version, description="second"))),
        ("set_alias", _post(f"{RM}/alias", {"name": name, "alias": "champion", "version": "1"})),
        ("get_by_alias", _get(f"{RM}/alias", {"name": name, "alias": "champion"})),
        ("transition", _post(f"{MV}/transition-stage", {
            "name": name, "version": "1", "stage": "Staging", "archive_existing_versions": True})),
        ("search_versions", _get(f"{MV}/search", {"filter": f"name = '{name}'",
                                                  "max_results": 10})),
        ("set_model_tag", _post(f"{RM}/set-tag", {"name": name, "key": "owner", "value": "b"})),
        ("set_version_tag", _post(f"{MV}/set-tag", {
            "name": name, "version": "2", "key": "validated", "value": "yes"})),
        ("delete_version", _post(f"{MV}/delete", {"name": name, "version": "2"}, "DELETE")),
        ("delete_model", _post(f"{RM}/delete", {"name": name}, "DELETE")),
    ]


def _send(client: RawClient, call: Call) -> bytes:
    status, body = client.send(call)
    if status != 200:  # a fast error is not throughput
        raise BenchmarkError(f"{call.method} {call.path} -> {status}: {body[:300]!r}")
    return body


def _seed(client: RawClient, population: int, prefix: str) -> str:
    """One experiment and run to register from, and ``population`` models of two versions."""
    experiment = json.loads(_send(client, _post(f"{API}/experiments/create",
                                                {"name": f"{prefix}-exp"})))["experiment_id"]
    run_id = json.loads(_send(client, _post(f"{API}/runs/create", {
        "experiment_id": experiment, "start_time": 1_700_000_000_000})))["run"]["info"]["run_id"]
    for index in range(population):
        name = f"{prefix}-kept-{index:03d}"
        for label, call in cycle_calls(name, run_id)[:4]:  # create, two versions, alias
            _send(client, call)
    return run_id


def _checked_cycle(client: RawClient, name: str, run_id: str) -> dict[str, Any]:
    """One untimed cycle with every answer read: what this target did, for comparison."""
    seen: dict[str, Any] = {}
    for label, call in cycle_calls(name, run_id):
        answer = json.loads(_send(client, call) or b"{}")
        if label == "create_version":
            seen.setdefault("versions", []).append(answer["model_version"]["version"])
        elif label == "get_by_alias":
            mv = answer["model_version"]
            seen["by_alias"] = (mv["version"], mv.get("aliases"))
        elif label == "transition":
            seen["stage"] = answer["model_version"]["current_stage"]
        elif label == "search_versions":
            seen["search"] = sorted((mv["version"], mv["current_stage"])
                                    for mv in answer.get("model_versions", []))
    return seen


EXPECTED_CYCLE = {"versions": ["1", "2"], "by_alias": ("1", ["champion"]), "stage": "Staging",
                  "search": [("1", "Staging"), ("2", "None")]}


# ---- timing ------------------------------------------------------------------------------------

@dataclass
class RoundResult:
    cycles: int
    operations: int
    seconds: float
    per_operation: dict[str, list[float]]  # label -> seconds of each timed request

    @property
    def ops_per_second(self) -> float:
        return self.operations / self.seconds if self.seconds > 0 else 0.0


def timed_round(url: str, names: list[str], run_id: str, budget_s: float | None) -> RoundResult:
    """Replay one cycle per name on a fresh kept-alive connection; stop at the budget."""
    prepared = [cycle_calls(name, run_id) for name in names]
    per_operation: dict[str, list[float]] = {label: [] for label in OPERATIONS}
    client = RawClient(url)
    operations = cycles = 0
    clock = time.perf_counter
    try:
        started = clock()
        for calls in prepared:
            for label, call in calls:
                before = clock()
                _send(client, call)
                per_operation[label].append(clock() - before)
            operations += len(calls)
            cycles += 1
            if budget_s is not None and clock() - started > budget_s:
                break
        seconds = clock() - started
    finally:
        client.close()
    return RoundResult(cycles, operations, seconds, per_operation)


def measure(config: Config, log: Callable[[str], None]) -> dict[str, Any]:
    """Start, seed and check every target, then run interleaved timed rounds."""
    targets: dict[str, Target] = {}
    out: dict[str, Any] = {"targets": {}}
    try:
        if config.real:
            started = time.perf_counter()
            try:
                targets["real"] = start_real()
            except Exception as error:  # no real MLflow here: fakeflow's figures still stand
                out["real_skipped"] = f"{type(error).__name__}: {error}"
            else:
                out["real_startup_s"] = time.perf_counter() - started
                log(f"  real MLflow up in {out['real_startup_s']:.1f} s")
        targets["fakeflow"] = start_local("fakeflow")
        names = [name for name in ("fakeflow", "real") if name in targets]
        run_ids: dict[str, str] = {}
        for name in names:
            client = RawClient(targets[name].url)
            try:
                started = time.perf_counter()
                run_ids[name] = _seed(client, config.population, "bench-reg")
                seeded = time.perf_counter() - started
                checks = [_checked_cycle(client, f"bench-reg-warm-{i}", run_ids[name])
                          for i in range(config.warmup_cycles)]
            finally:
                client.close()
            out["targets"][name] = {"seed_s": seeded, "answers_as_expected": all(
                _as_expected(check) for check in checks)}
            log(f"  {name}: seeded {config.population} models in {seeded:.1f} s")
        rounds: dict[str, list[RoundResult]] = {name: [] for name in names}
        for index in range(config.rounds):
            order = names if index % 2 == 0 else names[::-1]
            for name in order:
                count = config.real_cycles if name == "real" else config.cycles
                batch = [f"bench-reg-r{index}-{i:03d}" for i in range(count)]
                budget = config.real_budget_s if name == "real" else None
                rounds[name].append(timed_round(targets[name].url, batch, run_ids[name], budget))
            log(f"  round {index + 1}/{config.rounds}: " + ", ".join(
                f"{name} {rounds[name][-1].ops_per_second:.0f} ops/s" for name in names))
        out["rounds"] = rounds
        return out
    finally:
        for target in targets.values():
            target.stop()


def _as_expected(seen: dict[str, Any]) -> bool:
    normalised = dict(seen, by_alias=tuple(seen.get("by_alias", ())))
    return normalised == EXPECTED_CYCLE


def figures(measured: dict[str, Any]) -> dict[str, Any]:
    """Medians per target, per-round ratios, and mean latency per operation."""
    rounds: dict[str, list[RoundResult]] = measured["rounds"]
    result: dict[str, Any] = {}
    for name, results in rounds.items():
        timings = {label: [s for r in results for s in r.per_operation[label]]
                   for label in OPERATIONS}
        result[name] = {
            "ops_per_second": statistics.median(r.ops_per_second for r in results),
            "rounds_ops_per_second": [round(r.ops_per_second, 1) for r in results],
            "cycles": sum(r.cycles for r in results),
            "operations": sum(r.operations for r in results),
            "mean_latency_ms": {label: (1000 * statistics.fmean(samples) if samples else None)
                                for label, samples in timings.items()},
        }
    if "real" in rounds and rounds["real"]:
        result["fakeflow_vs_real"] = statistics.median(
            f.ops_per_second / r.ops_per_second for f, r in zip(rounds["fakeflow"], rounds["real"]))
        result["per_operation_ratio"] = {
            label: (result["real"]["mean_latency_ms"][label]
                    / result["fakeflow"]["mean_latency_ms"][label])
            for label in OPERATIONS
            if result["real"]["mean_latency_ms"][label] and result["fakeflow"]["mean_latency_ms"][label]
        }
    return result


# ---- report ------------------------------------------------------------------------------------

def _load_average() -> list[float] | None:
    try:
        return [round(value, 2) for value in os.getloadavg()]
    except (AttributeError, OSError):
        return None


def run_benchmark(config: Config, log: Callable[[str], None] = lambda _: None) -> dict[str, Any]:
    """Every figure, as one JSON-able dict."""
    import fakeflow

    started = time.perf_counter()
    load = _load_average()
    measured = measure(config, log)
    results: dict[str, Any] = {
        "environment": {
            "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "fakeflow": fakeflow.__version__, "python": platform.python_version(),
            "cpus": os.cpu_count(), "load_average_start": load, "load_average_end": _load_average(),
        },
        "config": asdict(config),
        "targets": measured["targets"],
        "figures": figures(measured),
        "ops_per_cycle": len(cycle_calls("x", "0" * 32)),
    }
    if "real_skipped" in measured:
        results["real_skipped"] = measured["real_skipped"]
    if "real_startup_s" in measured:
        results["real_startup_s"] = measured["real_startup_s"]
    results["elapsed_s"] = time.perf_counter() - started
    return results


def render(results: dict[str, Any]) -> str:
    env, config, fig = results["environment"], results["config"], results["figures"]
    names = [name for name in ("fakeflow", "real") if name in fig]
    lines = [
        f"fakeflow {env['fakeflow']} model registry benchmark — {env['date']}",
        f"python {env['python']}, {env['cpus']} CPUs, load average {env['load_average_start']}"
        f" at start, {env['load_average_end']} at end",
        f"client http.client, sequential, one kept-alive connection per target and round; "
        f"{config['rounds']} interleaved rounds; {config['population']} models (2 versions each)"
        f" seeded; a cycle is {results['ops_per_cycle']} operations",
        "",
        f"{'registry operations/s (mix)':<34}" + "".join(f"{n:>10}" for n in names)
        + (f"{'ff/real':>10}" if "fakeflow_vs_real" in fig else ""),
        f"{'':<34}" + "".join(f"{fig[n]['ops_per_second']:>10.0f}" for n in names)
        + (f"{fig['fakeflow_vs_real']:>10.1f}" if "fakeflow_vs_real" in fig else ""),
        "  (rate: median over rounds; ratio: median of per-round ratios; timed cycles: "
        + ", ".join(f"{n} {fig[n]['cycles']}" for n in names) + ")",
        "",
        f"{'mean latency per operation (ms)':<34}" + "".join(f"{n:>10}" for n in names)
        + (f"{'real/ff':>10}" if "per_operation_ratio" in fig else ""),
    ]
    for label, text in OPERATIONS.items():
        row = f"{text:<34}" + "".join(f"{fig[n]['mean_latency_ms'][label]:>10.2f}" for n in names)
        ratio = fig.get("per_operation_ratio", {}).get(label)
        lines.append(row + (f"{ratio:>10.1f}" if ratio is not None else ""))
    lines.append("")
    lines.append("answers checked in warm-up cycles (versions, alias, stage, search): " + ", ".join(
        f"{n} {'as expected' if results['targets'][n]['answers_as_expected'] else 'WRONG'}"
        for n in names))
    if "real_skipped" in results:
        lines.append(f"real MLflow: skipped ({results['real_skipped']})")
    elif "real_startup_s" in results:
        lines.append(f"real MLflow: started in {results['real_startup_s']:.1f} s, seeded in "
                     f"{results['targets']['real']['seed_s']:.1f} s")
    lines.append(f"total benchmark time {results['elapsed_s']:.0f} s")
    return "\n".join(lines)


def _parser() -> argparse.ArgumentParser:
    parser = _cli.parser("bench_registry", __doc__, "fewer cycles (~1 min)",
                         "a handful of cycles, no real MLflow")
    parser.add_argument("--rounds", type=int, help="interleaved rounds")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    config = _cli.config(args, Config(), QUICK, TINY, rounds="rounds")
    results = run_benchmark(config, log=_cli.progress)
    _cli.report(render(results), results, args.json)
    wrong = [n for n, t in results["targets"].items() if not t["answers_as_expected"]]
    return 1 if wrong else 0


if __name__ == "__main__":
    raise SystemExit(main())
