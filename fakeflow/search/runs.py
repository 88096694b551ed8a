"""SearchRuns: lifecycle view, filter, order_by and paging over in-memory runs.

Semantics follow MLflow's SQL store (the server's behaviour), not its in-Python file store:
every comparison needs the key to exist, metrics use the latest value with NaN matching only
``!=``, ``run_name`` filters read the ``mlflow.runName`` tag, and missing sort values go last.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable, Sequence

from fakeflow.search.compare import comparison
from fakeflow.search.filter import (
    ATTRIBUTE,
    DATASET,
    METRIC,
    PARAM,
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
from fakeflow.state.entities import Run
from fakeflow.state.errors import INTERNAL_ERROR, MlflowError, bad_type, invalid

RUN_NAME_TAG = "mlflow.runName"
DATASET_CONTEXT_TAG = "mlflow.data.context"
DEFAULT_MAX_RESULTS = 1000
MAX_RESULTS_LIMIT = 50000

_SEARCHABLE = ("artifact_uri", "end_time", "run_id", "run_name", "start_time", "status", "user_id")
_ALIASES = {"created": "start_time", "Created": "start_time", "run name": "run_name",
            "Run name": "run_name", "Run Name": "run_name"}

RUN_GRAMMAR = Grammar(
    entity_aliases={
        "metric": METRIC, "metrics": METRIC,
        "parameter": PARAM, "parameters": PARAM, "param": PARAM, "params": PARAM,
        "tag": TAG, "tags": TAG,
        "attribute": ATTRIBUTE, "attributes": ATTRIBUTE, "attr": ATTRIBUTE, "run": ATTRIBUTE,
        "dataset": DATASET, "datasets": DATASET,
    },
    unknown_entity=lambda e: (
        f"Invalid entity type '{e}'. Valid values are "
        "['metric', 'parameter', 'tag', 'attribute', 'dataset']"
    ),
    trim_entity_backticks=True,
    attribute_keys=_SEARCHABLE + ("created", "Created", "run name", "Run name", "Run Name"),
    order_by_attribute_keys=_SEARCHABLE + ("created", "Created"),
    numeric_attributes=frozenset({"start_time", "end_time", "created", "Created"}),
    list_attributes=("run_id",),
    dataset_keys=("name", "digest", "context"),
)

# Comparator sets, in the order their error messages print them.
METRIC_OPS = (">", ">=", "!=", "=", "<", "<=")
PARAM_OPS = ("!=", "=", "LIKE", "ILIKE", "IS NULL", "IS NOT NULL")
TAG_OPS = PARAM_OPS
STRING_ATTR_OPS = ("!=", "=", "LIKE", "ILIKE", "IN", "NOT IN")
DATASET_OPS = STRING_ATTR_OPS
_NUMERIC_KEYS = frozenset({"start_time", "end_time"})


def canonical_key(key: str) -> str:
    return _ALIASES.get(key, key)


def _check_comparator(clause: Clause) -> str:
    """Upper-cased comparator, or MLflow's error (message quirks, e.g. missing quotes, kept)."""
    op = clause.comparator.upper()
    entity, key = clause.entity, canonical_key(clause.key)
    if entity == ATTRIBUTE and key not in _NUMERIC_KEYS:
        if op not in STRING_ATTR_OPS:
            raise invalid(f"Invalid comparator '{op}' not one of '{set_repr(STRING_ATTR_OPS)}'")
    elif entity == ATTRIBUTE:
        if op not in METRIC_OPS:
            raise invalid(f"Invalid comparator '{op}' not one of '{set_repr(STRING_ATTR_OPS)}")
    elif entity == METRIC:
        if op not in METRIC_OPS:
            raise invalid(f"Invalid comparator '{op}' not one of '{set_repr(METRIC_OPS)}")
    elif entity == PARAM:
        if op not in PARAM_OPS:
            raise invalid(f"Invalid comparator '{op}' not one of '{set_repr(PARAM_OPS)}'")
    elif entity == TAG:
        if op not in TAG_OPS:
            raise invalid(f"Invalid comparator '{op}' not one of '{set_repr(TAG_OPS)}")
    elif entity == DATASET:
        if op not in DATASET_OPS:
            raise invalid(f"Invalid comparator '{op}' not one of '{set_repr(DATASET_OPS)}")
    return op


def _attribute(run: Run, key: str) -> Any:
    if key == "run_name":
        return run.tags.get(RUN_NAME_TAG)
    return getattr(run, key)


def _matcher(clause: Clause) -> Callable[[Run], bool]:
    op = _check_comparator(clause)
    key, value = canonical_key(clause.key), clause.value
    if op in ("IS NULL", "IS NOT NULL"):
        present = op == "IS NOT NULL"
        if clause.entity == PARAM:
            return lambda run: (key in run.params) is present
        return lambda run: (key in run.tags) is present
    if clause.entity == METRIC:
        matches = comparison(op, float(value))  # type: ignore[arg-type]
        nan_matches = op == "!="

        def metric(run: Run) -> bool:
            history = run.metrics.get(key)
            point = history.latest if history is not None else None
            if point is None:
                return False
            if point.value != point.value:  # NaN
                return nan_matches
            return matches(point.value)

        return metric
    matches = comparison(op, value)
    if clause.entity == PARAM:
        return lambda run: matches(run.params.get(key))
    if clause.entity == TAG:
        return lambda run: matches(run.tags.get(key))
    if clause.entity == DATASET:
        if key == "context":
            return lambda run: any(
                matches(d.tags.get(DATASET_CONTEXT_TAG)) for d in run.dataset_inputs
            )
        return lambda run: any(matches(getattr(d.dataset, key)) for d in run.dataset_inputs)
    return lambda run: matches(_attribute(run, key))


# ---------------------------------------------------------------------------------------------
# Ordering


def _order_keys(order_by: Sequence[str] | None) -> list[OrderKey]:
    keys: list[OrderKey] = []
    seen: set[tuple[str, str]] = set()
    for text in order_by or ():
        parsed = parse_order_by(RUN_GRAMMAR, text)
        key = OrderKey(parsed.entity, canonical_key(parsed.key), parsed.ascending)
        if key.entity not in (ATTRIBUTE, METRIC, TAG, PARAM):
            raise invalid(f"Invalid identifier type '{key.entity}'")
        if (key.entity, key.key) in seen:
            # MLflow raises without an error code here, which the server reports as a 500.
            raise MlflowError(
                f"`order_by` contains duplicate fields: {list(order_by or ())!r}", INTERNAL_ERROR
            )
        seen.add((key.entity, key.key))
        keys.append(key)
    if (ATTRIBUTE, "start_time") not in seen:
        keys.append(OrderKey(ATTRIBUTE, "start_time", False))
    keys.append(OrderKey(ATTRIBUTE, "run_id", True))
    return keys


_MISSING = 2
_NAN = 1


def _value_getter(key: OrderKey) -> Callable[[Run], Any]:
    """The sort value of a run, or ``_NAN`` / ``_MISSING`` ranks (present values rank 0)."""
    name = key.key
    if key.entity == METRIC:

        def metric(run: Run) -> Any:
            history = run.metrics.get(name)
            point = history.latest if history is not None else None
            if point is None:
                return _MISSING
            return _NAN if point.value != point.value else (point.value,)

        return metric
    if key.entity == PARAM:
        return lambda run: _MISSING if (v := run.params.get(name)) is None else (v,)
    if key.entity == TAG:
        return lambda run: _MISSING if (v := run.tags.get(name)) is None else (v,)
    return lambda run: _MISSING if (v := getattr(run, name)) is None else (v,)


def sort_runs(runs: list[Run], keys: list[OrderKey]) -> list[Run]:
    ordered = list(runs)
    # Stable sorts from the least significant key: within each key, present values sort in the
    # requested direction and the rank (present < NaN < missing) always ascends.
    for key in reversed(keys):
        getter = _value_getter(key)
        values = [(getter(run), run) for run in ordered]
        present = [item for item in values if item[0].__class__ is tuple]
        if len(present) == len(values):
            present.sort(key=_first_value, reverse=not key.ascending)
            ordered = [run for _, run in present]
            continue
        present.sort(key=_first_value, reverse=not key.ascending)
        nans = [run for value, run in values if value == _NAN]
        missing = [run for value, run in values if value == _MISSING]
        ordered = [run for _, run in present] + nans + missing
    return ordered


def _first_value(item: tuple[tuple[Any], Run]) -> Any:
    return item[0][0]


# ---------------------------------------------------------------------------------------------
# Entry point


def _all(matchers: list[Callable[[Run], bool]], run: Run) -> bool:
    for matches in matchers:
        if not matches(run):
            return False
    return True


def search_runs(
    runs: Iterable[Run],
    filter_string: str | None,
    order_by: Sequence[str] | None,
    max_results: int | None,
    page_token: str | None,
    run_view_type: str | int | None,
) -> tuple[list[Run], str | None]:
    """One page of matching runs and the next page token (None when nothing follows).

    Validation happens in MLflow's order: max_results, filter syntax, order_by, filter
    comparators, page token. (The caller validates experiment ids; MLflow checks those last.) ``max_results=None`` means the protocol default (1000).
    """
    if max_results is None:
        max_results = DEFAULT_MAX_RESULTS
    if max_results > MAX_RESULTS_LIMIT:
        # The request-schema check (<= 50000) runs before the store's and words it differently.
        raise bad_type("max_results", max_results)
    validate_max_results(max_results)
    clauses = parse_filter(RUN_GRAMMAR, filter_string)
    keys = _order_keys(order_by)
    matchers = [_matcher(c) for c in clauses]
    offset = decode_offset_token(page_token)
    stages = lifecycle_stages(run_view_type)
    selected = [run for run in runs if run.lifecycle_stage in stages and _all(matchers, run)]
    return page_slice(sort_runs(selected, keys), offset, max_results)
