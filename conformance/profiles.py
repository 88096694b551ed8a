"""Hypothesis profiles: ``ci`` is pinned (derandomized, no example database) so CI runs are
reproducible and bounded; ``deep`` explores far more for occasional long runs."""

from __future__ import annotations

from hypothesis import HealthCheck, Phase, settings

_COMMON = dict(
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
    print_blob=False,
    # Rules record findings instead of failing; a failure here is a crash of a suite itself.
    report_multiple_bugs=False,
)

# CI: 3 runs (real, fakeflow, differential) within ~5 minutes on 2 cores, with real MLflow
# answering ~20-100 requests/s. The explicit cases (~700 requests for all six suites) cover the
# edge situations on every run; exploration adds 10 examples x <=15 steps on top (~1600).
PROFILES: dict[str, settings] = {
    "ci": settings(max_examples=10, stateful_step_count=15, derandomize=True,
                   phases=(Phase.explicit, Phase.generate, Phase.shrink), **_COMMON),
    "deep": settings(max_examples=150, stateful_step_count=40, derandomize=False, **_COMMON),
    # Quick local smoke runs.
    "dev": settings(max_examples=3, stateful_step_count=8, derandomize=True, **_COMMON),
}


def profile(name: str, *, max_examples: int | None = None, steps: int | None = None) -> settings:
    base = PROFILES[name]
    overrides = {}
    if max_examples is not None:
        overrides["max_examples"] = max_examples
    if steps is not None:
        overrides["stateful_step_count"] = steps
    return settings(base, **overrides) if overrides else base
