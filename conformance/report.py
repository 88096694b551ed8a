"""Terminal and JSON renderings of a RunReport (the HTML one is in ``html_report``)."""

from __future__ import annotations

import json
from typing import Any

from .findings import KIND_TITLES, KINDS, display, Finding
from .runner import RunReport

VERDICT_ORDER = {"fail": 0, "info": 1, "waived": 2}


def _short(value: Any, limit: int = 400) -> str:
    text = display(value)
    return text if len(text) <= limit else text[:limit] + "…"


def _shown(f: Finding, value: Any) -> str:
    """Status outcomes are plain text (``400 INVALID_PARAMETER_VALUE``); values are JSON."""
    return str(value) if f.kind in ("status", "missing_route") else _short(value)


def headline(report: RunReport) -> str:
    mode = ("differential: " + " vs ".join(report.targets) if report.mode == "differential"
            else "target: " + report.targets[0])
    extra = []
    if report.mlflow_version:
        extra.append(f"server follows MLflow {report.mlflow_version}")
    if report.strict:
        extra.append("strict")
    if report.seed is not None:
        extra.append(f"seed {report.seed}")
    return (f"Conformance against MLflow 3.17.2 — {mode}; profile {report.profile}"
            + ("; " + ", ".join(extra) if extra else ""))


def verdict_line(report: RunReport) -> str:
    word = "PASS" if report.passed else "FAIL"
    return (f"{word}: {report.count('fail')} failing, {report.count('info')} informational, "
            f"{report.count('waived')} waived finding(s)"
            + (f", {len(report.errors)} suite error(s)" if report.errors else ""))


def kind_counts(findings: list[Finding]) -> dict[str, int]:
    return {k: sum(1 for f in findings if f.kind == k) for k in KINDS}


def ordered(findings: list[Finding]) -> list[Finding]:
    return sorted(findings, key=lambda f: (VERDICT_ORDER.get(f.verdict, 9),
                                           KINDS.index(f.kind) if f.kind in KINDS else 9))


def to_text(report: RunReport) -> str:
    lines = [headline(report), ""]
    lines.append(f"{'suite':<12} {'time':>7} {'requests':>8} {'cases':>5} {'examples':>8}  "
                 f"{'fail':>4} {'info':>4} {'waived':>6}")
    for r in report.results:
        own = [f for f in report.findings if f.suite == r.suite]
        counts = {v: sum(1 for f in own if f.verdict == v) for v in ("fail", "info", "waived")}
        mark = "" if not r.errors else "  (suite error)"
        lines.append(f"{r.suite:<12} {r.seconds:6.1f}s {r.requests:8d} {r.cases:5d} {r.examples:8d}  "
                     f"{counts['fail']:4d} {counts['info']:4d} {counts['waived']:6d}{mark}")
    counts = kind_counts(report.findings)
    lines += ["", "findings by kind: " + ", ".join(f"{KIND_TITLES[k].split(' (')[0]}: {n}"
                                                   for k, n in counts.items())]
    for n, f in enumerate(ordered(report.findings), 1):
        lines += ["", "-" * 78,
                  f"#{n} [{f.verdict.upper()}] {f.kind}: {f.operation} {f.json_path}"
                  f"   ({f.suite}, {f.source}; seen {f.occurrences}x)"]
        lines.append(f"  expected (MLflow 3.17.2): {_shown(f, f.expected)}")
        lines.append(f"  actual:                   {_shown(f, f.actual)}")
        if f.field_note:
            lines.append(f"  note: {f.field_note}")
        if f.waiver_reason:
            lines.append(f"  waived: {f.waiver_reason}")
        if f.also_in:
            lines.append("  also in: " + "; ".join(f.also_in))
        shrunk = ("verified by replay" if f.minimal else "not verified by replay")
        lines.append(f"  repro ({len(f.minimal_sequence) - _preamble(f)} request(s), "
                     f"{shrunk}; the example had {f.full_sequence_length}):")
        lines += ["    " + c for c in f.minimal_sequence]
    if report.waivers_used or report.waivers_stale:
        lines += ["", "waivers used:"] + [f"  {w['operation']} {w['path']} [{w['kind']}] — "
                                          f"{w['reason']}" for w in report.waivers_used]
        lines += ["waivers stale (matched nothing):"] + [
            f"  {w['operation']} {w['path']} [{w['kind']}] — {w['reason']}"
            for w in report.waivers_stale]
    for error in report.errors:
        lines += ["", "SUITE ERROR " + error]
    lines += ["", verdict_line(report)]
    return "\n".join(lines)


def _preamble(f: Finding) -> int:
    return sum(1 for c in f.minimal_sequence if c.startswith(("URL=", "P=")))


def to_dict(report: RunReport) -> dict[str, Any]:
    return {
        "specification": "MLflow 3.17.2",
        "targets": report.targets, "mode": report.mode, "profile": report.profile,
        "seed": report.seed, "mlflow_version": report.mlflow_version, "strict": report.strict,
        "passed": report.passed,
        "summary": {
            "failing": report.count("fail"), "informational": report.count("info"),
            "waived": report.count("waived"), "by_kind": kind_counts(report.findings),
            "suite_errors": len(report.errors),
        },
        "suites": [{
            "suite": r.suite, "description": r.description, "seconds": r.seconds,
            "requests": r.requests, "cases": r.cases, "examples": r.examples,
            "passed": r.passed, "errors": r.errors,
            "findings": [list(f.key) for f in r.findings],
        } for r in report.results],
        "findings": [f.to_dict() for f in ordered(report.findings)],
        "waivers_used": report.waivers_used,
        "waivers_stale": report.waivers_stale,
        "errors": report.errors,
    }


def to_json(report: RunReport) -> str:
    return json.dumps(to_dict(report), indent=2)
