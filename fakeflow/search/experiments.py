"""SearchExperiments: view type, filter, order_by and paging over in-memory experiments.

Differences from runs that MLflow exhibits and we keep: only ``attribute``/``tag``/``tags``
prefixes; invalid clauses are listed unquoted; comparators are not upper-cased before being
checked (``name like 'x'`` is rejected); ``experiment_id`` takes quoted integers; a given
order_by without ``experiment_id`` gets ``experiment_id DESC`` appended; duplicate keys are fine.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable, Sequence

from fakeflow.search.compare import compare
from fakeflow.search.filter import (
    ATTRIBUTE,
    TAG,
    Clause,
    Grammar,
    OrderKey,
    parse_filter,
    parse_order_by,
    set_repr,
)
from fakeflow.search.paging import decode_offset_token, page_slice, validate_max_results
from fakeflow.search.views import lifecycle_stages
from fakeflow.state.entities import Experiment
from fakeflow.state.errors import invalid, invalid_experiment_id

_KEYS = ("name", "experiment_id", "creation_time", "last_update_time")

EXPERIMENT_GRAMMAR = Grammar(
    entity_aliases={"attribute": ATTRIBUTE, "tag": TAG, "tags": TAG},
    unknown_entity=lambda e: (
        f"Invalid entity type '{e}'. Valid entity types are ('attribute', 'tag', 'tags')"
    ),
    trim_entity_backticks=False,
    attribute_keys=_KEYS,
    order_by_attribute_keys=_KEYS,
    numeric_attributes=frozenset({"creation_time", "last_update_time"}),
    list_attributes=("experiment_id",),
    quote_invalid_clauses=False,
    null_entities=frozenset({TAG}),
    null_error=lambda entity, key: (
        f"IS NULL / IS NOT NULL is only supported for tags, not for attribute '{key}'"
    ),
)

_STRING_OPS = ("!=", "=", "LIKE", "ILIKE", "IN", "NOT IN")
_NUMERIC_OPS = (">", ">=", "!=", "=", "<", "<=")
_DEFAULT_ORDER = ("creation_time DESC", "experiment_id ASC")


def _experiment_id(value: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise invalid_experiment_id(value) from None


def _matcher(clause: Clause) -> Callable[[Experiment], bool]:
    op, key, value = clause.comparator, clause.key, clause.value
    if clause.entity == TAG:
        if op in ("IS NULL", "IS NOT NULL"):
            present = op == "IS NOT NULL"
            return lambda e: (key in e.tags) is present
        if op not in ("=", "!=", "LIKE", "ILIKE"):
            raise invalid(f"Invalid comparator for tag: {op}")
        return lambda e: compare(e.tags.get(key), op, value)
    if key == "experiment_id":
        if op not in ("=", "!=", "IN", "NOT IN"):
            raise invalid(f"Invalid comparator for experiment_id: {op}")
        target: Any = (
            tuple(_experiment_id(v) for v in value) if isinstance(value, tuple) else _experiment_id(value)  # type: ignore[arg-type]
        )
        return lambda e: compare(int(e.experiment_id), op, target)
    if key in EXPERIMENT_GRAMMAR.numeric_attributes:
        if op not in _NUMERIC_OPS:
            raise invalid(f"Invalid comparator '{op}' not one of '{set_repr(_STRING_OPS)}")
        if isinstance(value, float):
            raise invalid(f"Invalid value for numeric attribute '{key}': {str(value)!r}")
        number = int(value)  # type: ignore[arg-type]
        return lambda e: compare(getattr(e, key), op, number)
    if op not in _STRING_OPS:
        raise invalid(f"Invalid comparator '{op}' not one of '{set_repr(_STRING_OPS)}'")
    if op not in ("=", "!=", "LIKE", "ILIKE"):
        raise invalid(f"Invalid comparator for string attribute: {op}")
    return lambda e: compare(getattr(e, key), op, value)


def _order_keys(order_by: Sequence[str] | None) -> list[OrderKey]:
    keys: list[OrderKey] = []
    for text in order_by or _DEFAULT_ORDER:
        key = parse_order_by(EXPERIMENT_GRAMMAR, text)
        if key.entity != ATTRIBUTE:
            raise invalid(f"Invalid order_by entity: {key.entity}")
        keys.append(key)
    if not any(k.key == "experiment_id" for k in keys):
        keys.append(OrderKey(ATTRIBUTE, "experiment_id", False))
    return keys


def _sort_value(experiment: Experiment, key: str) -> Any:
    if key == "experiment_id":
        return int(experiment.experiment_id)
    return getattr(experiment, key)


def sort_experiments(experiments: list[Experiment], keys: list[OrderKey]) -> list[Experiment]:
    ordered = list(experiments)
    for key in reversed(keys):
        ordered.sort(key=lambda e: _sort_value(e, key.key), reverse=not key.ascending)
    return ordered


def search_experiments(
    experiments: Iterable[Experiment],
    filter_string: str | None,
    order_by: Sequence[str] | None,
    max_results: int | None,
    page_token: str | None,
    view_type: str | int | None,
) -> tuple[list[Experiment], str | None]:
    """One page of matching experiments and the next page token.

    ``max_results=None`` is what the server sees when the field is omitted (0), so it fails.
    Validation order as MLflow: max_results, filter, comparators, order_by, page token.
    """
    validate_max_results(0 if max_results is None else max_results)
    clauses = parse_filter(EXPERIMENT_GRAMMAR, filter_string)
    matchers = [_matcher(c) for c in clauses]
    keys = _order_keys(order_by)
    offset = decode_offset_token(page_token)
    stages = lifecycle_stages(view_type)
    selected = [
        e for e in experiments if e.lifecycle_stage in stages and all(m(e) for m in matchers)
    ]
    return page_slice(sort_experiments(selected, keys), offset, max_results)
