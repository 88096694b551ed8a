"""The reference model's view of search: filter clauses the suites generate, how MLflow
evaluates them, and how it orders results. Only the grammar the suites generate is modelled."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Callable

from .model import RUN_NAME_TAG, Experiment, Run
from .refs import Ref, Sub


def like(value: str, pattern: str, case_sensitive: bool) -> bool:
    regex = "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, 0 if case_sensitive else re.IGNORECASE | re.DOTALL) is not None


def _quote(value: str) -> str:
    return "'" + value.replace("'", "\\'") + "'"


@dataclass(frozen=True)
class Clause:
    """``<entity>.<key> <op> <value>``; ``value`` is a number, a string, a list of Refs, or None."""

    entity: str  # metrics | params | tags | attributes
    key: str
    op: str
    value: Any = None

    def render(self) -> tuple[str, list[Any]]:
        """Filter text (with ``{}`` slots for refs) and the refs that fill them."""
        ident = f"{self.entity}.`{self.key}`" if self.entity != "attributes" else self.key
        if self.op in ("IS NULL", "IS NOT NULL"):
            return f"{ident} {self.op}", []
        if self.op in ("IN", "NOT IN"):
            slots = ", ".join("'{}'" for _ in self.value)
            return f"{ident} {self.op} ({slots})", list(self.value)
        if isinstance(self.value, str):
            return f"{ident} {self.op} {_quote(self.value)}".replace("{", "{{").replace("}", "}}"), []
        return f"{ident} {self.op} {self.value!r}", []


def render_filter(clauses: list[Clause], prefix: str = "") -> Sub | str:
    parts, refs = ([prefix.replace("{", "{{").replace("}", "}}")] if prefix else []), []
    for clause in clauses:
        text, clause_refs = clause.render()
        parts.append(text)
        refs += clause_refs
    text = " AND ".join(parts)
    return Sub(text, *refs) if refs else text.replace("{{", "{").replace("}}", "}")


def _compare(actual: Any, op: str, expected: Any) -> bool:
    if op == "=":
        return actual == expected
    if op == "!=":
        return actual != expected
    if op == "LIKE":
        return like(actual, expected, True)
    if op == "ILIKE":
        return like(actual, expected, False)
    return {"<": actual < expected, "<=": actual <= expected, ">": actual > expected,
            ">=": actual >= expected}[op]


def run_matches(run: Run, clause: Clause, resolve: Callable[[Ref], str]) -> bool:
    if clause.entity == "metrics":
        point = run.latest(clause.key)
        if point is None:
            return False
        if math.isnan(point.value):
            return clause.op == "!="  # NaN matches only !=
        return _compare(point.value, clause.op, clause.value)
    if clause.entity in ("params", "tags"):
        values = run.params if clause.entity == "params" else run.tags
        present = clause.key in values
        if clause.op == "IS NULL":
            return not present
        if clause.op == "IS NOT NULL":
            return present
        return present and _compare(values[clause.key], clause.op, clause.value)
    key = clause.key
    if key == "run_id":
        ids = [resolve(r) for r in clause.value]
        return (run.run_id in ids) == (clause.op == "IN")
    if key == "run_name":  # implemented on the mlflow.runName tag
        name = run.tags.get(RUN_NAME_TAG)
        return name is not None and _compare(name, clause.op, clause.value)
    return _compare(getattr(run, key), clause.op, clause.value)


@dataclass(frozen=True)
class OrderKey:
    entity: str  # attributes | metrics | params | tags
    key: str
    ascending: bool

    def render(self) -> str:
        ident = self.key if self.entity == "attributes" else f"{self.entity}.`{self.key}`"
        return f"{ident} {'ASC' if self.ascending else 'DESC'}"


def _run_sort_value(run: Run, key: OrderKey) -> tuple[int, Any]:
    """(rank, value): rank 0 = ordinary value, 1 = NaN metric, 2 = missing (last both ways)."""
    if key.entity == "metrics":
        point = run.latest(key.key)
        if point is None:
            return (2, None)
        if math.isnan(point.value):
            return (1, None)
        return (0, point.value)
    if key.entity in ("params", "tags"):
        values = run.params if key.entity == "params" else run.tags
        return (0, values[key.key]) if key.key in values else (2, None)
    value = getattr(run, key.key)
    if key.key == "end_time" and not value:
        return (2, None)
    return (0, value)


class _Desc:
    """Inverts ordering of a wrapped value for use inside sort keys."""

    __slots__ = ("v",)

    def __init__(self, v: Any) -> None:
        self.v = v

    def __lt__(self, other: "_Desc") -> bool:
        return other.v < self.v

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Desc) and self.v == other.v


def order_runs(runs: list[Run], order: list[OrderKey]) -> list[Run]:
    keys = list(order)
    if not any(k.entity == "attributes" and k.key == "start_time" for k in keys):
        keys.append(OrderKey("attributes", "start_time", False))

    def sort_key(run: Run) -> tuple[Any, ...]:
        out: list[Any] = []
        for k in keys:
            rank, value = _run_sort_value(run, k)
            out.append(rank)
            out.append(value if rank or k.ascending else _Desc(value))
        out.append(run.run_id)
        return tuple(out)

    return sorted(runs, key=sort_key)


def experiment_matches(exp: Experiment, clause: Clause, resolve: Callable[[Ref], str]) -> bool:
    if clause.entity == "tags":
        present = clause.key in exp.tags
        if clause.op == "IS NULL":
            return not present
        if clause.op == "IS NOT NULL":
            return present
        return present and _compare(exp.tags[clause.key], clause.op, clause.value)
    if clause.key == "experiment_id":
        ids = [resolve(r) for r in clause.value]
        return (exp.experiment_id in ids) == (clause.op == "IN")
    return _compare(getattr(exp, clause.key), clause.op, clause.value)


def order_experiments(exps: list[Experiment], order: list[OrderKey]) -> list[Experiment]:
    keys = list(order) or [OrderKey("attributes", "creation_time", False)]
    if not any(k.key == "experiment_id" for k in keys):
        # MLflow appends experiment_id as the final tie-breaker (ASC by default ordering).
        keys.append(OrderKey("attributes", "experiment_id", True))

    def value(exp: Experiment, k: OrderKey) -> Any:
        v = int(exp.experiment_id) if k.key == "experiment_id" else getattr(exp, k.key)
        return v if k.ascending else _Desc(v)

    return sorted(exps, key=lambda e: tuple(value(e, k) for k in keys))
