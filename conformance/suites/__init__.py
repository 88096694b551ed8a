"""The suite registry. A suite is a ``ConformanceMachine`` subclass registered under a name
with ``@register`` in a module listed in ``_MODULES`` below (a new suite: a new module)."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Callable

from .base import ConformanceMachine


@dataclass(frozen=True)
class Suite:
    name: str
    description: str
    machine: type[ConformanceMachine]


SUITES: dict[str, Suite] = {}

_MODULES = ("experiments", "runs", "metrics", "params_tags", "search", "errors", "registry",
            "artifacts", "logged_models", "traces")


def register(name: str, description: str
             ) -> Callable[[type[ConformanceMachine]], type[ConformanceMachine]]:
    """Class decorator adding a state machine to the registry."""

    def wrap(cls: type[ConformanceMachine]) -> type[ConformanceMachine]:
        if name in SUITES:
            raise ValueError(f"suite {name!r} registered twice")
        SUITES[name] = Suite(name, description, cls)
        return cls

    return wrap


def all_suites() -> dict[str, Suite]:
    for module in _MODULES:
        importlib.import_module(f"{__name__}.{module}")
    return SUITES
