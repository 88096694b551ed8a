"""Runs registered suites against one target (model checks) or two (differential mode) and
collects per-suite results with the minimal failing request sequence."""

from __future__ import annotations

import builtins

import time
import traceback
from dataclasses import dataclass, field
from typing import Any, Iterable

from hypothesis import settings as Settings
from hypothesis.errors import Flaky
from hypothesis.stateful import run_state_machine_as_test

from .context import ConformanceFailure, SuiteContext
from .divergences import KnownDivergence
from .suites import Suite, all_suites
from .transport import Target


@dataclass
class SuiteResult:
    suite: str
    description: str
    passed: bool
    seconds: float
    requests: int
    failure: str | None = None
    steps: list[str] = field(default_factory=list)
    curl: dict[str, list[str]] = field(default_factory=dict)
    allowed_divergences: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class RunReport:
    targets: list[str]
    mode: str
    profile: str
    seed: int | None
    results: list[SuiteResult]

    @property
    def passed(self) -> bool:
        return all(r.passed for r in self.results)


def select_suites(names: Iterable[str] | None = None) -> list[Suite]:
    registry = all_suites()
    if not names:
        return list(registry.values())
    unknown = [n for n in names if n not in registry]
    if unknown:
        raise KeyError(f"unknown suite(s) {unknown}; known: {sorted(registry)}")
    return [registry[n] for n in names]


def run_suite(suite: Suite, targets: list[Target], settings: Settings, *,
              known: list[KnownDivergence] | None = None, seed: int | None = None) -> SuiteResult:
    """Run one suite; on failure Hypothesis has already shrunk it and replayed the minimal
    example last, so the context's request log is that minimal sequence."""
    ctx = SuiteContext(targets=list(targets), known=list(known or []))
    machine = type(suite.machine.__name__, (suite.machine,), {"ctx": ctx})
    if seed is not None:
        machine._hypothesis_internal_use_seed = seed  # what hypothesis.seed() sets
    started = time.monotonic()
    failure = None
    steps: list[str] = []
    try:
        run_state_machine_as_test(machine, settings=settings)
    except (AssertionError, Flaky, Exception) as exc:  # noqa: B014 - report everything
        failure = _describe(exc)
        steps = [n for n in getattr(exc, "__notes__", []) if n.strip()]
    result = SuiteResult(
        suite=suite.name, description=suite.description, passed=failure is None,
        seconds=round(time.monotonic() - started, 2), requests=ctx.requests_sent,
        failure=failure, steps=steps, allowed_divergences=_dedupe(ctx.allowed),
    )
    if failure is not None:
        for index, target in enumerate(targets):
            result.curl[target.name] = ctx.curl_script(index)
    return result


def run(targets: list[Target], settings: Settings, *, suites: Iterable[str] | None = None,
        known: list[KnownDivergence] | None = None, profile: str = "ci",
        seed: int | None = None) -> RunReport:
    results = [run_suite(s, targets, settings, known=known, seed=seed) for s in select_suites(suites)]
    return RunReport(targets=[t.name for t in targets],
                     mode="differential" if len(targets) > 1 else "model",
                     profile=profile, seed=seed, results=results)


def _describe(exc: BaseException) -> str:
    group = getattr(builtins, "BaseExceptionGroup", ())  # Python 3.11+
    if group and isinstance(exc, group):
        return "\n\n".join(_describe(e) for e in exc.exceptions)
    if isinstance(exc, ConformanceFailure):
        return str(exc)
    text = "".join(traceback.format_exception_only(type(exc), exc)).strip()
    return text if isinstance(exc, AssertionError) else f"unexpected error: {text}"


def _dedupe(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    seen, out = set(), []
    for item in items:
        key = (item["operation"], item["path"])
        if key not in seen:
            seen.add(key)
            out.append(item)
    return out
