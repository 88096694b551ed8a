"""Comet's project queries over runs: the column catalogue the SDK types its query variables with,
and the evaluation of the predicates ``api.query(...)`` sends.

The body is a list of predicates, all of which must hold: ``{source, query: {condition, rules},
negated?}``. A rule is either a leaf ``{field, type, operator, value, source?}`` or a nested group
``{condition, rules}``; ``source: "nested"`` groups mix sources, and their leaves carry their own.
The SDK applies ``~`` itself (it flips the operator and marks the predicate ``negated``), so the
flag is informational and never negates again. A value that is missing matches no comparison, only
``is_null``/``is_empty`` (SQL's three-valued logic). Comparisons are the shared search's
(``fakeflow.search.compare``).
"""

from __future__ import annotations

import math
from datetime import datetime, timezone
from typing import Any, Callable

from fakeflow.dialects.comet.answers import bad_request
from fakeflow.dialects.comet.mapping import duration_ms, visible
from fakeflow.search.compare import compare
from fakeflow.state.entities import Run

#: (name, type) of the run attributes queryable as ``Metadata(name)``.
METADATA_COLUMNS: tuple[tuple[str, str], ...] = (
    ("experiment_key", "string"),
    ("experiment_name", "string"),
    ("user_name", "string"),
    ("start_server_timestamp", "datetime"),
    ("end_server_timestamp", "datetime"),
    ("duration", "timenumber"),
)
SOURCES = ("metadata", "metrics", "params", "tag")


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def columns(runs: list[Run]) -> list[dict[str, str]]:
    """The project's queryable columns, as ``project/column-names`` lists them."""
    found: list[dict[str, str]] = [
        {"name": name, "source": "metadata", "type": qtype} for name, qtype in METADATA_COLUMNS
    ]
    metrics: dict[str, None] = {}
    params: dict[str, bool] = {}
    tags: dict[str, None] = {}
    for run in runs:
        metrics.update(dict.fromkeys(run.metrics))
        for key, value in run.params.items():
            params[key] = params.get(key, True) and _is_number(value)
        tags.update(dict.fromkeys(k for k in run.tags if visible(k)))
    found += [{"name": k, "source": "metrics", "type": "double"} for k in metrics]
    found += [{"name": k, "source": "params", "type": "double" if numeric else "string"}
              for k, numeric in params.items()]
    found += [{"name": k, "source": "tag", "type": "string"} for k in tags]
    return found


# ---- values -------------------------------------------------------------------------------

def column_value(store: Any, run: Run, source: str, name: str) -> Any:
    """The run's value for a column: a float, a string, an epoch-ms int, or None when absent."""
    if source == "metrics":
        history = run.metrics.get(name)
        latest = history.latest if history is not None else None
        return None if latest is None else latest.value
    if source == "params":
        return run.params.get(name)
    if source == "tag":
        return name if name in run.tags and visible(name) else None
    if source == "metadata":
        return {
            "experiment_key": lambda: run.run_id,
            "experiment_name": lambda: run.run_name,
            "user_name": lambda: run.user_id,
            "start_server_timestamp": lambda: run.start_time,
            "end_server_timestamp": lambda: run.end_time,
            "duration": lambda: duration_ms(store, run) / 1000.0,
        }.get(name, lambda: None)()
    raise bad_request(f"Unknown query source: {source}")


def _epoch_ms(value: Any) -> float | None:
    """A datetime operand: the SDK sends ``datetime.isoformat(" ")`` (naive = UTC) or numbers."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.strip())
        except ValueError:
            return float(value) if _is_number(value) else None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=timezone.utc)
        return moment.timestamp() * 1000.0
    return None


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str) and _is_number(value):
        return float(value)
    return None


def _coerce(qtype: str, lhs: Any, rhs: Any) -> tuple[Any, Any]:
    """Both operands in the column type's domain; (None, None) when they cannot be compared."""
    if qtype == "datetime":
        return lhs, _epoch_ms(rhs)
    if qtype in ("double", "timenumber", "boolean") or (
            not isinstance(rhs, (str, bool)) and isinstance(rhs, (int, float))):
        left = _number(lhs)
        right = _number(rhs)
        if left is not None and math.isnan(left):
            left = None
        return left, right
    return (None if lhs is None else str(lhs)), (None if rhs is None else str(rhs))


_COMPARATORS = {"equal": "=", "not_equal": "!=", "less": "<", "less_or_equal": "<=",
                "greater": ">", "greater_or_equal": ">="}


def _text_test(operator: str) -> Callable[[str, str], bool]:
    positive = operator.removeprefix("not_")
    test: Callable[[str, str], bool] = {
        "contains": lambda a, b: b in a,
        "begins_with": str.startswith,
        "ends_with": str.endswith,
    }[positive]
    if operator.startswith("not_"):
        return lambda a, b: not test(a, b)
    return test


def _between(qtype: str, lhs: Any, bounds: Any, inside: bool) -> bool:
    if not isinstance(bounds, (list, tuple)) or len(bounds) != 2:
        raise bad_request("between needs a list of two values")
    left, low = _coerce(qtype, lhs, bounds[0])
    _, high = _coerce(qtype, lhs, bounds[1])
    if left is None or low is None or high is None:
        return False
    within = compare(left, ">=", low) and compare(left, "<=", high)
    return within if inside else not within


def rule_holds(qtype: str, operator: str, lhs: Any, rhs: Any) -> bool:
    """One leaf rule against the run's value ``lhs`` (None when absent)."""
    if operator == "is_null":
        return lhs is None
    if operator == "is_not_null":
        return lhs is not None
    if operator == "is_empty":
        return lhs is None or lhs == ""
    if operator == "is_not_empty":
        return lhs is not None and lhs != ""
    if lhs is None:
        return False
    if operator in ("between", "not_between"):
        return _between(qtype, lhs, rhs, operator == "between")
    if operator in _COMPARATORS:
        left, right = _coerce(qtype, lhs, rhs)
        if left is None or right is None:
            return False
        return compare(left, _COMPARATORS[operator], right)
    if operator.removeprefix("not_") in ("contains", "begins_with", "ends_with"):
        return _text_test(operator)(str(lhs), "" if rhs is None else str(rhs))
    raise bad_request(f"Unknown query operator: {operator}")


# ---- predicates ---------------------------------------------------------------------------

class Query:
    """A compiled predicate list; ``catalogue`` resolves the source of leaves in nested groups
    that the SDK sends without one (the first source with a column of that name)."""

    def __init__(self, predicates: Any, catalogue: list[dict[str, str]]) -> None:
        if not isinstance(predicates, list):
            raise bad_request("predicates must be a list")
        self.predicates = predicates
        self.sources: dict[str, str] = {}
        for column in catalogue:
            self.sources.setdefault(column["name"], column["source"])

    def matches(self, store: Any, run: Run) -> bool:
        for predicate in self.predicates:
            if not isinstance(predicate, dict) or not isinstance(predicate.get("query"), dict):
                raise bad_request("each predicate needs a query object")
            if not self._group(store, run, predicate["query"], predicate.get("source")):
                return False
        return True

    def _group(self, store: Any, run: Run, group: dict[str, Any], source: Any) -> bool:
        condition = str(group.get("condition", "AND")).upper()
        if condition not in ("AND", "OR"):
            raise bad_request(f"Unknown query condition: {group.get('condition')}")
        rules = group.get("rules")
        if not isinstance(rules, list):
            raise bad_request("a query group needs a list of rules")
        results = (self._rule(store, run, rule, source) for rule in rules)
        return all(results) if condition == "AND" else any(results)

    def _rule(self, store: Any, run: Run, rule: Any, source: Any) -> bool:
        if not isinstance(rule, dict):
            raise bad_request("a query rule must be an object")
        own = rule.get("source") or source
        if "rules" in rule:
            return self._group(store, run, rule, own)
        field = rule.get("field", rule.get("id"))
        if not isinstance(field, str):
            raise bad_request("a query rule needs a field")
        if own in (None, "nested"):
            own = self.sources.get(field)
            if own is None:  # no run has such a column: nothing to compare with
                return rule_holds(str(rule.get("type", "string")), str(rule.get("operator")), None,
                                  rule.get("value"))
        if own not in SOURCES:
            raise bad_request(f"Unknown query source: {own}")
        lhs = column_value(store, run, own, field)
        return rule_holds(str(rule.get("type", "string")), str(rule.get("operator")), lhs,
                          rule.get("value"))
