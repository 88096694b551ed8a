"""Fields MLflow added after older releases that are still in use.

A server that follows an older MLflow lacks them; with ``--mlflow-version`` older than the
field, its absence is reported as informational (it fails only with ``--strict``).

Each entry was checked live: absent from MLflow 2.22.x answers, present in 3.17.2's. Where
the exact release that added a field was not verified here, ``since`` is the newest version
known to have it and ``note`` says so (any older named version then counts as "before").
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .findings import generic_path


@dataclass(frozen=True)
class AddedField:
    path: str  # a generic JSON path suffix, e.g. ``.workspace`` or ``.body.sqlstate``
    since: str
    note: str
    error_only: bool = False  # only on error bodies

    def matches(self, json_path: str) -> bool:
        return generic_path(json_path).endswith(self.path)


ADDED_FIELDS: tuple[AddedField, ...] = (
    AddedField("experiment.workspace", "3.17.2",
               "experiment workspace: absent in 2.22.x, present in 3.17.2 (release not pinned)"),
    AddedField("experiments[*].workspace", "3.17.2",
               "experiment workspace: absent in 2.22.x, present in 3.17.2 (release not pinned)"),
    AddedField(".body.sqlstate", "3.17.2",
               "error sqlstate: absent in 2.22.x, present in 3.17.2 (release not pinned)", True),
    AddedField(".body.error_class", "3.17.2",
               "error error_class: absent in 2.22.x, present in 3.17.2 (release not pinned)", True),
    AddedField("run.outputs", "3.0", "run outputs (logged models): added in MLflow 3.0"),
    AddedField("runs[*].outputs", "3.0", "run outputs (logged models): added in MLflow 3.0"),
)


def parse_version(text: str) -> tuple[int, ...]:
    parts = re.findall(r"\d+", text)
    if not parts:
        raise ValueError(f"not a version: {text!r}")
    return tuple(int(p) for p in parts[:3])


def added_field(json_path: str) -> AddedField | None:
    return next((f for f in ADDED_FIELDS if f.matches(json_path)), None)


def older_than(version: str | None, since: str) -> bool:
    """True when a server following MLflow ``version`` predates a field added in ``since``."""
    if not version:
        return False
    v, s = parse_version(version), parse_version(since)
    width = max(len(v), len(s))
    return v + (0,) * (width - len(v)) < s + (0,) * (width - len(s))
