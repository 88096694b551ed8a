"""Targets from the issue, judged on one run's figures, and the table that shows them."""

from __future__ import annotations

import operator
from dataclasses import asdict, dataclass
from typing import Any

from benchmarks._workloads import SEARCH_PAGES, WORKLOADS

_OPS = {">=": operator.ge, "<": operator.lt, "<=": operator.le}


@dataclass(frozen=True)
class Target:
    """``measured`` compared with ``threshold``; ``passed`` is None when it was not measured."""

    name: str
    measured: float | None
    op: str  # one of _OPS
    threshold: float
    unit: str = ""

    @property
    def passed(self) -> bool | None:
        if self.measured is None:
            return None
        return _OPS[self.op](self.measured, self.threshold)

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "passed": self.passed}


def judge(results: dict[str, Any]) -> list[Target]:
    """The issue's targets: ≥ 70% of bare Werkzeug, ≥ 20× real MLflow, ready < 0.2 s, ≤ 100 B/point.

    "Bare Werkzeug" is the do-nothing app on Werkzeug's own server (target ``bare``); fakeflow
    over the same app on fakeflow's server is reported beside it, never judged.
    """
    throughput = results["throughput"]
    targets = []
    for workload, label in WORKLOADS.items():
        figures = throughput.get(workload, {})
        targets.append(Target(f"{label}: fakeflow / bare Werkzeug", figures.get("fakeflow_vs_bare"),
                              ">=", 0.70, "x"))
        targets.append(Target(f"{label}: fakeflow / real MLflow", figures.get("fakeflow_vs_real"),
                              ">=", 20.0, "x"))
    startup = results["startup"]
    targets.append(Target("startup: `fakeflow serve` spawn -> /health",
                          startup["cli_serve"]["median_s"], "<", 0.2, " s"))
    targets.append(Target("startup: in-process create_app -> /health",
                          startup["in_process"]["median_s"], "<", 0.2, " s"))
    memory = results["memory"]
    short = f"{memory['short_histories']['points_per_history']}-point histories"
    for name, label in (("store", "long history, store"), ("short_histories", short),
                        ("http", "long history, via HTTP app")):
        targets.append(Target(f"memory: bytes/point ({label})", memory[name]["bytes_per_point"],
                              "<=", 100.0, " B"))
    return targets


def _fmt(value: float | None, spec: str) -> str:
    """``format(value, spec)``, or a dash as wide as ``spec`` asks when nothing was measured."""
    if value is not None:
        return format(value, spec)
    width = spec.split(".")[0]
    return format("-", f">{width}") if width.isdigit() else "-"


def _row(label: str, cells: list[tuple[float | None, str]]) -> str:
    return f"{label:<26}" + "".join(_fmt(value, spec) for value, spec in cells)


def _throughput_lines(results: dict[str, Any]) -> list[str]:
    """Rates and judged ratios; then the informational ratios; then the keep-alive check."""
    throughput = results["throughput"]
    lines = [
        f"{'requests/s':<26}{'fakeflow':>10}{'bare':>10}{'bare-ka':>10}{'real':>9}"
        f"{'ff/bare':>10}{'ff/real':>10}",
    ]
    for workload, label in WORKLOADS.items():
        f = throughput[workload]
        lines.append(_row(label, [
            (f["fakeflow_rps"], "10.0f"), (f["bare_rps"], "10.0f"),
            (f["bare_keepalive_rps"], "10.0f"), (f["real_rps"], "9.1f"),
            (f["fakeflow_vs_bare"], "10.2f"), (f["fakeflow_vs_real"], "10.1f")]))
    lines += [
        "  bare    = do-nothing app on Werkzeug's own server (closes every connection): the",
        "            \"bare Werkzeug\" of the 70% target, the floor of any Werkzeug-served fake;",
        "  bare-ka = the same app on fakeflow's keep-alive ThreadedServer; real = real MLflow.",
        "  (rates: median over rounds; ratios: median of per-round ratios)",
        "",
        "informational, no target:",
        f"{'':<26}{'ff/bare-ka':>12}{'bare-ka/real':>14}{'bare/real':>11}",
    ]
    for workload, label in WORKLOADS.items():
        f = throughput[workload]
        lines.append(_row(label, [
            (f["fakeflow_vs_bare_keepalive"], "12.2f"), (f["bare_keepalive_vs_real"], "14.1f"),
            (f["bare_vs_real"], "11.1f")]))
    lines += [
        "  ff/bare-ka   = app overhead on fakeflow's own server: fakeflow's rate over a do-nothing",
        "                 app's on the same HTTP stack. It can exceed 1.00: the bare app builds",
        "                 Werkzeug Request/Response objects, fakeflow's hot paths skip the Response;",
        "  bare-ka/real, bare/real = what doing nothing reaches against real MLflow on each",
        "                 server: the ratio a fake's HTTP stack alone allows.",
    ]
    opened: dict[str, list[int]] = {}
    for workload in WORKLOADS:
        f = throughput[workload]
        for name, count in f["connections"].items():
            if count is not None:
                totals = opened.setdefault(name, [0, 0])
                totals[0] += count
                totals[1] += f["requests"][name]
    if opened:
        lines.append("new TCP connections per timed request (1.00 = none kept alive): " + ", ".join(
            f"{name} {count / max(requests, 1):.2f}" for name, (count, requests) in opened.items()))
    return lines


def _load(env: dict[str, Any]) -> str:
    start, end = env.get("load_average_start"), env.get("load_average_end")
    if not start or not end:
        return "load average unknown"
    return (f"load average (1/5/15 min) {'/'.join(f'{v:.1f}' for v in start)} at start, "
            f"{'/'.join(f'{v:.1f}' for v in end)} at end")


def render(results: dict[str, Any], targets: list[Target]) -> str:
    """A plain-text report: throughput table, startup, memory, targets."""
    env = results["environment"]
    lines = [
        f"fakeflow {env['fakeflow']} core benchmark — {env['date']}",
        f"python {env['python']}, werkzeug {env['werkzeug']}, {env['cpus']} CPUs, {_load(env)}",
        f"client {env['client']}, sequential; a fresh connection per target, workload and round,"
        f" kept alive unless the server closes it; {results['config']['rounds']} interleaved"
        " rounds",
        "",
    ]
    lines += _throughput_lines(results)
    real = results.get("real") or {}
    if real.get("skipped"):
        lines.append(f"real MLflow: skipped ({real['skipped']})")
    elif real:
        counts = [f"{results['throughput'][w]['requests'].get('real')} {label}"
                  for w, label in WORKLOADS.items()]
        lines.append(f"real MLflow: started in {real['startup_s']:.1f} s, seeded in "
                     f"{real['seed_s']:.1f} s; timed " + ", ".join(counts) + " requests")
    for workload in SEARCH_PAGES:
        search = results["throughput"][workload]
        lines.append(
            f"run search: {search['runs_in_experiment']} runs, page of {search['page_size']}; "
            f"page as MLflow orders it: " + ", ".join(
                f"{name} {'yes' if ok else 'NO'}" for name, ok in search["page_matches"].items()))
    lines.append("")
    s = results["startup"]
    lines.append(f"startup to first /health, median (best) of {len(s['in_process']['samples_s'])}: " + ", ".join(
        f"{label} {s[way]['median_s'] * 1000:.0f} ({s[way]['min_s'] * 1000:.0f}) ms"
        for way, label in (("in_process", "in-process"),
                           ("cold_import", "fresh interpreter incl. import"),
                           ("cli_serve", "`fakeflow serve` spawn"))))
    m = results["memory"]
    lines.append(
        f"bytes per metric point (tracemalloc, retained): store {m['store']['bytes_per_point']:.1f} "
        f"({m['store']['points']} points), {m['short_histories']['points_per_history']}-point histories "
        f"{m['short_histories']['bytes_per_point']:.1f} ({m['short_histories']['points']}), "
        f"via HTTP app {m['http']['bytes_per_point']:.1f} ({m['http']['points']})")
    lines.append("")
    lines.append("targets:")
    for target in targets:
        verdict = {True: "PASS", False: "FAIL", None: "SKIP"}[target.passed]
        measured = "not measured" if target.measured is None else f"{target.measured:.3g}{target.unit}"
        lines.append(f"  [{verdict}] {target.name}: {measured} "
                     f"(target {target.op} {target.threshold:g}{target.unit})")
    lines.append(f"total benchmark time {results['elapsed_s']:.0f} s")
    return "\n".join(lines)
