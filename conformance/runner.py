"""Runs registered suites against one target (model checks) or two (differential mode).

Each suite first runs its explicit cases (the same on every run), then random exploration
(Hypothesis state machines whose rules record findings instead of failing, so exploration
goes on after the first difference). Every distinct finding is then shrunk on its own to a
verified minimal request sequence, and the run's verdict applies waivers and the version /
strictness rules.
"""

from __future__ import annotations

import builtins
import time
import traceback
from dataclasses import dataclass, field
from typing import Any, Iterable

from hypothesis import settings as Settings
from hypothesis.stateful import run_state_machine_as_test

from .context import SuiteContext, Witness
from .findings import KINDS, MESSAGE, SHAPE, Finding
from .repro import curl_lines, shrink
from .suites import Suite, all_suites
from .transport import Target
from .versions import older_than
from .waivers import Waiver


@dataclass
class SuiteResult:
    suite: str
    description: str
    seconds: float
    requests: int
    cases: int
    examples: int
    findings: list[Finding] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.errors and all(f.verdict != "fail" for f in self.findings)


@dataclass
class RunReport:
    targets: list[str]
    mode: str
    profile: str
    seed: int | None
    results: list[SuiteResult]
    findings: list[Finding] = field(default_factory=list)  # distinct, across suites
    mlflow_version: str | None = None
    strict: bool = False
    waivers_used: list[dict[str, Any]] = field(default_factory=list)
    waivers_stale: list[dict[str, Any]] = field(default_factory=list)

    @property
    def errors(self) -> list[str]:
        return [f"{r.suite}: {e}" for r in self.results for e in r.errors]

    @property
    def passed(self) -> bool:
        return not self.errors and all(f.verdict != "fail" for f in self.findings)

    def count(self, verdict: str | None = None) -> int:
        return sum(1 for f in self.findings if verdict is None or f.verdict == verdict)


def select_suites(names: Iterable[str] | None = None) -> list[Suite]:
    registry = all_suites()
    if not names:
        return list(registry.values())
    unknown = [n for n in names if n not in registry]
    if unknown:
        raise KeyError(f"unknown suite(s) {unknown}; known: {sorted(registry)}")
    return [registry[n] for n in names]


def run_suite(suite: Suite, targets: list[Target], settings: Settings, *,
              seed: int | None = None, explore: bool = True,
              shrink_findings: bool = True) -> SuiteResult:
    """Explicit cases, then exploration, then shrink every distinct finding."""
    ctx = SuiteContext(targets=list(targets), suite=suite.name)
    machine = type(suite.machine.__name__, (suite.machine,), {"ctx": ctx})
    started = time.monotonic()
    errors: list[str] = []
    cases = machine.scenarios()
    current, group = None, None
    for case in cases:
        try:
            if current is None or case.group is None or case.group != group or ctx.tainted:
                _finish(current, ctx)  # still under the previous case's label
                machine.example_source = f"case: {case.name}"
                current, group = machine(), case.group
            else:
                assert ctx.example is not None
                ctx.example.source = machine.example_source = f"case: {case.name}"
            ctx.label, ctx.subject = case.label, case.subject
            case.run(current)
            if case.group is None:
                _finish(current, ctx)
                current = None
        except Exception as exc:  # noqa: BLE001 - a crash is reported, the run goes on
            errors.append(f"case {case.name} crashed: {_describe(exc)}")
            current = None
    try:
        _finish(current, ctx)
    except Exception as exc:  # noqa: BLE001
        errors.append(f"teardown after case {cases[-1].name} crashed: {_describe(exc)}")
    ctx.label, ctx.subject = "", None
    explicit_examples = ctx.examples
    machine.example_source = "exploration"
    if explore:
        if seed is not None:
            machine._hypothesis_internal_use_seed = seed  # what hypothesis.seed() sets
        try:
            run_state_machine_as_test(machine, settings=settings)
        except Exception as exc:  # noqa: BLE001
            notes = "\n".join(n for n in getattr(exc, "__notes__", []) if n.strip())
            errors.append(f"exploration crashed: {_describe(exc)}" + (f"\n{notes}" if notes else ""))
    findings = list(ctx.findings.values())
    for finding in findings:
        witness = ctx.witnesses[finding.key]
        calls, verified = (shrink(finding, witness, ctx.targets) if shrink_findings
                           else (witness.calls, False))
        finding.full_sequence_length = len(witness.calls)
        finding.minimal = verified
        finding.minimal_sequence = curl_lines(calls, targets[0], witness.prefix)
        finding.repro_curl = "\n".join(finding.minimal_sequence)
        finding.witness = Witness(calls, witness.prefix, witness.view_path, witness.ids)
    return SuiteResult(suite=suite.name, description=suite.description,
                       seconds=round(time.monotonic() - started, 2),
                       requests=ctx.requests_sent, cases=len(cases),
                       examples=ctx.examples - explicit_examples, findings=findings, errors=errors)


def _finish(machine: Any, ctx: SuiteContext) -> None:
    """End an explicit case's example: its teardown re-reads the whole state."""
    if machine is not None and not ctx.tainted:
        machine.teardown()


def run(targets: list[Target], settings: Settings, *, suites: Iterable[str] | None = None,
        waivers: list[Waiver] | None = None, profile: str = "ci", seed: int | None = None,
        mlflow_version: str | None = None, strict: bool = False, explore: bool = True,
        shrink_findings: bool = True) -> RunReport:
    results = [run_suite(s, targets, settings, seed=seed, explore=explore,
                         shrink_findings=shrink_findings) for s in select_suites(suites)]
    report = RunReport(targets=[t.name for t in targets],
                       mode="differential" if len(targets) > 1 else "model",
                       profile=profile, seed=seed, results=results,
                       mlflow_version=mlflow_version, strict=strict)
    report.findings = merge(results)
    judge(report, waivers or [])
    return report


def _field(path: str) -> str:
    return path.rsplit(".", 1)[-1].replace("[*]", "")


def merge(results: list[SuiteResult]) -> list[Finding]:
    """Distinct findings across suites. The same key met by several suites is one finding;
    a shape difference of one field (``workspace`` missing, a clock sent as a string) met
    in several operations is one finding listing the others, so a field every example uses
    is reported once."""
    by_key: dict[tuple[str, ...], Finding] = {}
    by_field: dict[tuple[str, str, str | None], Finding] = {}
    out: list[Finding] = []
    for result in results:
        for f in result.findings:
            same = by_key.get(f.key)
            if same is not None:
                same.occurrences += f.occurrences
                continue
            group = (_field(f.json_path), f.detail, f.since_version)
            if f.kind == SHAPE and group in by_field:
                host = by_field[group]
                where = f"{f.operation} {f.json_path}"
                if where not in host.also_in:
                    host.also_in.append(where)
                host.occurrences += f.occurrences
                by_key[f.key] = host
                continue
            by_key[f.key] = f
            if f.kind == SHAPE:
                by_field[group] = f
            out.append(f)
    out.sort(key=lambda f: (KINDS.index(f.kind) if f.kind in KINDS else 99, f.suite,
                            f.operation, f.json_path))
    return out


def judge(report: RunReport, waivers: list[Waiver]) -> None:
    """Set each finding's verdict: waived (by the first matching waiver), informational
    (message text, or a field newer than ``mlflow_version``, unless strict) or fail."""
    used: dict[int, Waiver] = {}
    for f in report.findings:
        paths = [f.json_path] + [w.split(" ", 1)[1] for w in f.also_in]
        ops = [f.operation] + [w.split(" ", 1)[0] for w in f.also_in]
        waiver = next((w for w in waivers if any(w.matches(o, p, f.kind, f.label)
                                                 for o, p in zip(ops, paths))), None)
        if waiver is not None:
            f.verdict, f.waiver_reason = "waived", waiver.reason
            used[id(waiver)] = waiver
        elif not report.strict and (
                f.kind == MESSAGE
                or (f.since_version and older_than(report.mlflow_version, f.since_version))):
            f.verdict = "info"
        else:
            f.verdict = "fail"
    for r in report.results:  # suite results share the Finding objects; merged-away ones too
        for f in r.findings:
            host = next((h for h in report.findings if f is h or f.key == h.key
                         or f"{f.operation} {f.json_path}" in h.also_in), None)
            if host is not None and host is not f:
                f.verdict, f.waiver_reason = host.verdict, host.waiver_reason
    report.waivers_used = [w.to_dict() for w in used.values()]
    report.waivers_stale = [w.to_dict() for w in waivers if id(w) not in used]


def _describe(exc: BaseException) -> str:
    group = getattr(builtins, "BaseExceptionGroup", ())  # Python 3.11+
    if group and isinstance(exc, group):
        return "\n\n".join(_describe(e) for e in exc.exceptions)
    frames = traceback.extract_tb(exc.__traceback__)
    where = f" (at {frames[-1].filename.rsplit('/', 1)[-1]}:{frames[-1].lineno})" if frames else ""
    return "".join(traceback.format_exception_only(type(exc), exc)).strip() + where
