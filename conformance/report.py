"""Human-readable and JSON renderings of a RunReport."""

from __future__ import annotations

import json
from dataclasses import asdict

from .runner import RunReport


def to_text(report: RunReport) -> str:
    lines = [
        f"Conformance against MLflow 3.17.2 semantics — mode: {report.mode}, "
        f"profile: {report.profile}" + (f", seed: {report.seed}" if report.seed is not None else ""),
        "targets: " + " vs ".join(report.targets),
        "",
    ]
    for r in report.results:
        mark = "PASS" if r.passed else "FAIL"
        lines.append(f"[{mark}] {r.suite:<12} {r.seconds:7.1f}s {r.requests:6d} requests  "
                     f"({r.description})")
    for r in report.results:
        if r.passed:
            continue
        lines += ["", "=" * 78, f"{r.suite}: FAILED", "-" * 78, r.failure or "", ""]
        if r.steps:
            lines.append("Minimal example (Hypothesis steps):")
            lines += ["  " + s for note in r.steps for s in note.splitlines()]
            lines.append("")
        for target, commands in r.curl.items():
            lines.append(f"Minimal request sequence on {target} (curl):")
            lines += ["  " + c for c in commands]
            lines.append("")
    allowed = [(r.suite, d) for r in report.results for d in r.allowed_divergences]
    if allowed:
        lines += ["", "Known divergences seen (allowed):"]
        lines += [f"  {s}: {d['operation']} {d['path']} — {d['reason']}" for s, d in allowed]
    passed = sum(r.passed for r in report.results)
    lines += ["", f"{passed}/{len(report.results)} suites passed."]
    return "\n".join(lines)


def to_json(report: RunReport) -> str:
    data = asdict(report)
    data["passed"] = report.passed
    return json.dumps(data, indent=2)
