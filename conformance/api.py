"""One-call entry point for pytest (or any script): run suites, raise with the report on failure."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Iterable

from hypothesis import settings as Settings

from . import waivers as waiver_file
from .profiles import profile as make_profile
from .report import to_text
from .runner import RunReport, run
from .transport import Target, WsgiTarget, make_target

TargetLike = str | Target | Callable[..., Any]


def as_target(target: TargetLike, prefix: str = "", auth_header: str | None = None) -> Target:
    """A URL / ``wsgi:module:attr`` string, a Target, or a WSGI callable."""
    if isinstance(target, str):
        return make_target(target, prefix, auth_header)
    if hasattr(target, "send"):
        return target  # type: ignore[return-value]
    return WsgiTarget(target, name=getattr(type(target), "__name__", "wsgi"), prefix=prefix,
                      auth_header=auth_header)


def check(target: TargetLike, *, against: TargetLike | None = None,
          suites: Iterable[str] | None = None, profile: str = "ci",
          max_examples: int | None = None, steps: int | None = None,
          waivers: Iterable[str | Path] | None = None,
          known_divergences: str | Path | None = None,
          mlflow_version: str | None = None, strict: bool = False,
          explore: bool = True, shrink: bool = True,
          settings: Settings | None = None) -> RunReport:
    """Run suites; ``settings`` (Hypothesis) replaces the profile entirely when given.
    ``waivers`` are waiver files (``known_divergences`` is the older name for one)."""
    given = [target] + ([against] if against is not None else [])
    targets = [as_target(t) for t in given]
    files = list(waivers or []) + ([known_divergences] if known_divergences else [])
    try:
        chosen = settings or make_profile(profile, max_examples=max_examples, steps=steps)
        return run(targets, chosen, suites=suites, waivers=waiver_file.load_many(files),
                   profile=profile, mlflow_version=mlflow_version, strict=strict,
                   explore=explore, shrink_findings=shrink)
    finally:
        for original, t in zip(given, targets):
            if isinstance(original, str):  # only close what was built here
                t.close()


def assert_conforms(target: TargetLike, **kwargs: Any) -> RunReport:
    """Like ``check`` (strict by default: message text counts) but raises ``AssertionError``
    carrying the readable report when the run does not pass."""
    kwargs.setdefault("strict", True)
    report = check(target, **kwargs)
    if not report.passed:
        raise AssertionError("\n" + to_text(report))
    return report
