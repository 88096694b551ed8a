"""Targets from the issue, judged on one run's figures, and the table that shows them."""

from __future__ import annotations

import operator
from dataclasses import asdict, dataclass
from typing import Any


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
    """The issue's targets: ≥ 70% of bare Werkzeug, ≥ 20× real MLflow, ready < 0.2 s, ≤ 100 B/point."""
    throughput = results["throughput"]
    targets = []
    for workload, label in (("log_metric", "log-metric"), ("search", "run search")):
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


def render(results: dict[str, Any], targets: list[Target]) -> str:
    """A plain-text report: throughput table, startup, memory, targets."""
    env = results["environment"]
    lines = [
        f"fakeflow {env['fakeflow']} core benchmark — {env['date']}",
        f"python {env['python']}, werkzeug {env['werkzeug']}, {env['cpus']} CPUs, "
        f"client {env['client']} (sequential, one connection at a time), "
        f"{results['config']['rounds']} interleaved rounds",
        "",
        f"{'requests/s':<12}{'fakeflow':>10}{'bare':>10}{'real':>10}"
        f"{'ff/bare':>10}{'ff/real':>10}{'bare/real':>11}",
    ]
    for workload, label in (("log_metric", "log-metric"), ("search", "run search")):
        f = results["throughput"][workload]
        lines.append(
            f"{label:<12}{_fmt(f['fakeflow_rps'], '10.0f')}{_fmt(f['bare_rps'], '10.0f')}"
            f"{_fmt(f['real_rps'], '10.1f')}{_fmt(f['fakeflow_vs_bare'], '10.2f')}"
            f"{_fmt(f['fakeflow_vs_real'], '10.1f')}{_fmt(f['bare_vs_real'], '11.1f')}"
        )
    lines.append("(rates: median over rounds; ratios: median of per-round ratios; bare/real is "
                 "the ceiling for ff/real over this HTTP stack)")
    real = results.get("real") or {}
    if real.get("skipped"):
        lines.append(f"real MLflow: skipped ({real['skipped']})")
    elif real:
        counts = {w: results["throughput"][w]["requests"].get("real") for w in ("log_metric", "search")}
        lines.append(f"real MLflow: started in {real['startup_s']:.1f} s, seeded in "
                     f"{real['seed_s']:.1f} s; timed {counts['log_metric']} log-metric and "
                     f"{counts['search']} search requests")
    search = results["throughput"]["search"]
    lines.append(f"run search: {search['runs_in_experiment']} runs, page of {search['page_size']}; "
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
