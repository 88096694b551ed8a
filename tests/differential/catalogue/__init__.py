"""Every differential case, grouped by area; ``all_cases()`` is the catalogue."""

from __future__ import annotations

from importlib import import_module

from ..model import Case

MODULES = (
    "routing", "experiments", "experiment_search", "runs", "metrics", "batch", "inputs", "run_search",
    "extras", "undecodable_ids", "security", "registry", "registry_search", "artifacts",
    "malformed", "logged_models", "graphql", "page_tokens", "traces", "ui_routes", "trace_metrics", "scorers",
    "eval_datasets", "trace_analytics", "trace_attachments", "issues",
)


def all_cases() -> list[Case]:
    cases: list[Case] = []
    for name in MODULES:
        try:
            module = import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"{__name__}.{name}":
                raise
            continue
        cases.extend(module.CASES)
    names = [c.name for c in cases]
    duplicates = {n for n in names if names.count(n) > 1}
    if duplicates:
        raise ValueError(f"duplicate case names: {sorted(duplicates)}")
    return cases
