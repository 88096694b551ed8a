"""Search of GenAI evaluation datasets, answered as MLflow 3.17.2's SQL store answers it.

The filter is MLflow's shared grammar (``fakeflow.search.filter``) with the evaluation-dataset
reader's own rules: a bare name is an attribute (``name``, ``created_time``,
``last_update_time``, ``created_by``, ``last_updated_by``), ``tags.<key>`` is a tag (the key
taken as written, quotes and all), any other prefix is refused; a list value is allowed only
for ``name`` and only with ``IN``. After parsing, each clause is checked as MLflow builds its
SQL: strings take =, !=, LIKE, ILIKE (and ``name IN``), other comparators on a string column
compare as SQL does, the two stamps take numeric comparators and integers, tags take =, !=,
LIKE, ILIKE. A comparator MLflow cannot map (``like`` in lower case, say) crashes MLflow's
store: an ``INTERNAL_ERROR`` naming it. Order: ``created_time DESC`` by default, ``name``,
``created_time`` and ``last_update_time`` allowed, ties broken by dataset id, descending.
"""

from __future__ import annotations

import copy
from typing import Any, Callable

from fakeflow.search.compare import OPERATORS
from fakeflow.search.filter import (
    ATTRIBUTE, TAG, Clause, Grammar, parse_filter, parse_order_by, set_repr,
)
from fakeflow.search.paging import decode_offset_token, page_slice, validate_max_results
from fakeflow.state.errors import INTERNAL_ERROR, MlflowError, invalid
from fakeflow.state.eval_datasets import EvalDataset, EvalDatasetStore

SEARCH_KEYS = ("name", "created_time", "last_update_time", "created_by", "last_updated_by")
ORDER_KEYS = ("name", "created_time", "last_update_time")
NUMERIC = frozenset({"created_time", "last_update_time"})
NUMERIC_OPS = (">", ">=", "!=", "=", "<", "<=")
STRING_OPS = ("!=", "=", "LIKE", "ILIKE", "IN", "NOT IN")
PLAIN_STRING_OPS = ("=", "!=", "LIKE", "ILIKE")


def _identifier(grammar: Grammar, text: str, valid: tuple[str, ...]) -> tuple[str, str]:
    if "." not in text:
        if text not in valid:
            raise invalid(
                f"Invalid attribute key '{text}' specified. Valid keys are: {set_repr(valid)}")
        return ATTRIBUTE, text
    prefix, key = text.split(".", 1)
    if prefix != "tags":
        raise invalid(f"Invalid identifier token '{prefix}' specified")
    return TAG, key


def _list_only_with_in(clause: Clause) -> None:
    if isinstance(clause.value, tuple) and clause.comparator != "IN":
        raise invalid("List values for 'name' are only supported with the IN comparator.")


GRAMMAR = Grammar(
    entity_aliases={"tags": TAG},
    unknown_entity=lambda prefix: f"Invalid identifier token '{prefix}' specified",
    trim_entity_backticks=False,
    attribute_keys=SEARCH_KEYS,
    order_by_attribute_keys=ORDER_KEYS,
    numeric_attributes=NUMERIC,
    list_attributes=("name",),
    quote_invalid_clauses=False,
    null_entities=frozenset({TAG}),
    identifier=_identifier,
    check_clause=_list_only_with_in,
)

Predicate = Callable[[EvalDataset], bool]


def _operator(comparator: str) -> Callable[[Any, Any], bool]:
    try:
        return OPERATORS[comparator]
    except KeyError:
        # MLflow looks the comparator up in its own table inside the session: a KeyError
        raise MlflowError(repr(comparator), INTERNAL_ERROR) from None


def _predicate(clause: Clause) -> Predicate:
    """One clause as a row test, after MLflow's checks of comparator and value."""
    key, comparator, value = clause.key, clause.comparator, clause.value
    if clause.entity == ATTRIBUTE:
        if (key not in NUMERIC and comparator in STRING_OPS
                and comparator not in PLAIN_STRING_OPS and not (key == "name" and comparator == "IN")):
            raise invalid(f"Invalid comparator for string attribute: {comparator}")
        if key in NUMERIC:
            if comparator not in NUMERIC_OPS:
                raise invalid(f"Invalid comparator for numeric attribute: {comparator}")
            if isinstance(value, float):
                raise invalid(f"Invalid value for numeric attribute '{key}': {str(value)!r}")
            value = int(value)  # type: ignore[arg-type]
        op = _operator(comparator)
        return lambda d: (lhs := getattr(d, key)) is not None and op(lhs, value)
    if comparator not in PLAIN_STRING_OPS:
        raise invalid(f"Invalid comparator for tag: {comparator}")
    op = _operator(comparator)
    return lambda d: key in d.tags and d.tags[key] is not None and op(d.tags[key], value)


def _sorted(datasets: list[EvalDataset], order_by: list[str]) -> list[EvalDataset]:
    keys = []
    for text in order_by or ["created_time DESC"]:
        order = parse_order_by(GRAMMAR, text)
        if order.entity != ATTRIBUTE:
            raise invalid(f"Invalid order_by entity: {order.entity}")
        keys.append((order.key, order.ascending))
    keys.append(("dataset_id", False))
    out = list(datasets)
    for key, ascending in reversed(keys):
        out.sort(key=lambda d, k=key: getattr(d, k), reverse=not ascending)
    return out


def search_datasets(store: EvalDatasetStore, experiment_ids: list[str] | None,
                    filter_string: str | None, max_results: int | None, order_by: list[str] | None,
                    page_token: str | None) -> tuple[list[EvalDataset], str | None]:
    """One page of datasets and the next page token, with MLflow's errors in MLflow's order."""
    validate_max_results(max_results)
    offset = decode_offset_token(page_token)
    predicates = [_predicate(c) for c in parse_filter(GRAMMAR, filter_string)]
    with store.lock:
        rows = store.all_datasets()
        if experiment_ids:
            linked = store.dataset_ids_in(experiment_ids)
            rows = [d for d in rows if d.dataset_id in linked]
        rows = [d for d in rows if all(p(d) for p in predicates)]
        ordered = _sorted(rows, list(order_by or []))
        page, token = page_slice(ordered, offset, max_results)
        return [copy.deepcopy(d) for d in page], token

