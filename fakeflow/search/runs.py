"""SearchRuns: lifecycle view, filter, order_by and paging over in-memory runs.

Semantics follow MLflow's SQL store (the server's behaviour), not its in-Python file store:
every comparison needs the key to exist, metrics use the latest value with NaN matching only
``!=``, ``run_name`` filters read the ``mlflow.runName`` tag, and missing sort values go last.
"""

from __future__ import annotations

import threading
import weakref
from array import array
from bisect import insort
from collections import OrderedDict
from dataclasses import dataclass
from itertools import compress
from operator import attrgetter, ne
from typing import Any, Callable, Iterable, Sequence

from fakeflow.search.compare import OPERATORS, comparison
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
from fakeflow.state.errors import BAD_REQUEST, INTERNAL_ERROR, MlflowError, bad_type, invalid

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
_COST = {PARAM: 0, TAG: 0, ATTRIBUTE: 1, METRIC: 2, DATASET: 3}  # for the order of evaluation


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


def _sql_tuple_error(run: Run) -> bool:
    raise AssertionError("never called: prepare_search raises first")


#: A dataset clause comparing with a list by anything but IN: MLflow hands the tuple to SQLite,
#: which refuses it when the query runs (after every other check), as a 400 whose message goes
#: on to quote the SQL statement; we give its first line, without the parameter's position.
_SQL_TUPLE_ERROR: Callable[[Run], bool] = _sql_tuple_error
SQL_TUPLE_MESSAGE = "(sqlite3.ProgrammingError) Error binding parameter: type 'tuple' is not supported"


def _matcher(clause: Clause) -> Callable[[Run], bool]:
    op = _check_comparator(clause)
    key, value = canonical_key(clause.key), clause.value
    if op in ("IS NULL", "IS NOT NULL"):
        present = op == "IS NOT NULL"
        if clause.entity == PARAM:
            return lambda run: (key in run.params) is present
        return lambda run: (key in run.tags) is present
    if clause.entity == METRIC:
        test, target = OPERATORS[op], float(value)  # type: ignore[arg-type]
        nan_matches = op == "!="

        def metric(run: Run) -> bool:
            history = run.metrics.get(key)
            if history is None or (point := history.latest) is None:
                return False
            number = point.value
            if number != number:  # NaN
                return nan_matches
            return test(number, target)

        return metric
    matches = comparison(op, value)
    if clause.entity in (PARAM, TAG):
        test = OPERATORS[op]
        if clause.entity == PARAM:
            return lambda run: (v := run.params.get(key)) is not None and test(v, value)
        return lambda run: (v := run.tags.get(key)) is not None and test(v, value)
    if clause.entity == DATASET:
        if isinstance(value, tuple) and op not in ("IN", "NOT IN"):
            return _SQL_TUPLE_ERROR
        if key == "context":
            return lambda run: any(
                matches(d.tags.get(DATASET_CONTEXT_TAG)) for d in run.dataset_inputs
            )
        return lambda run: any(matches(getattr(d.dataset, key)) for d in run.dataset_inputs)
    return lambda run: matches(_attribute(run, key))


# ---------------------------------------------------------------------------------------------
# Ordering
#
# The sort values are read under the store lock, one column per order key (a list, one value
# per selected run: the value, ``None`` when missing, ``_NAN`` for a NaN metric); sorting the
# columns needs no lock. Stable sorts from the least significant key, each with a C-level key
# function (``column.__getitem__``); within a key, present values go in the requested direction
# and NaN then missing values always come after them.


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


_NAN = object()  # a NaN metric's place in a sort column


class _Descending:
    """A sort value compared the other way round (strings cannot be negated)."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Descending) and self.value == other.value

    def __lt__(self, other: "_Descending") -> bool:
        return other.value < self.value

    __hash__ = None  # type: ignore[assignment]


def _column_getter(key: OrderKey) -> Callable[[Run], Any]:
    """A run's sort value for ``key``: the value, ``None`` if missing, ``_NAN`` for NaN."""
    name = key.key
    if key.entity == METRIC:

        def metric(run: Run) -> Any:
            history = run.metrics.get(name)
            if history is None or (point := history.latest) is None:
                return None
            value = point.value
            return _NAN if value != value else value

        return metric
    if key.entity == PARAM:
        return lambda run: run.params.get(name)
    if key.entity == TAG:
        return lambda run: run.tags.get(name)
    return attrgetter(name)


def sort_columns(size: int, columns: Sequence[list[Any]], keys: Sequence[OrderKey]) -> list[int]:
    """Positions ``0..size-1`` in the order the columns (one per key) give."""
    order = list(range(size))
    for used, column in enumerate(columns, 1):
        if len(set(column)) == size:  # no ties: the keys after this one cannot matter
            columns, keys = columns[:used], keys[:used]
            break
    for column, key in zip(reversed(columns), reversed(keys)):
        get = column.__getitem__
        if None in column or _NAN in column:
            present = [i for i in order if (v := column[i]) is not None and v is not _NAN]
            present.sort(key=get, reverse=not key.ascending)
            order = (present + [i for i in order if column[i] is _NAN]
                     + [i for i in order if column[i] is None])
        else:
            order.sort(key=get, reverse=not key.ascending)
    return order


def sort_runs(runs: list[Run], keys: list[OrderKey]) -> list[Run]:
    columns = [list(map(_column_getter(k), runs)) for k in keys]
    return [runs[i] for i in sort_columns(len(runs), columns, keys)]


# ---------------------------------------------------------------------------------------------
# Entry points


@dataclass(frozen=True)
class RunQuery:
    """A validated search: everything but the runs it is applied to."""

    filter_string: str | None
    order_by: tuple[str, ...]
    view: frozenset[str]
    max_results: int
    offset: int
    matchers: tuple[Callable[[Run], bool], ...]
    keys: tuple[OrderKey, ...]

    @property
    def cache_key(self) -> tuple:
        return (self.filter_string or "", self.order_by, self.view)

    def select(self, runs: Iterable[Run]) -> tuple[list[Run], list[list[Any]]]:
        """The matching runs and their sort columns: the part that reads run state (lock held).

        Clauses narrow the list one after another (cheap ones first), so later clauses look
        at fewer runs and no per-run loop over the clauses is needed."""
        stages = self.view
        if len(stages) == 1:
            (stage,) = stages
            selected = [r for r in runs if r.lifecycle_stage == stage]
        else:
            selected = [r for r in runs if r.lifecycle_stage in stages]
        for matches in self.matchers:
            selected = list(filter(matches, selected))
        return selected, [list(map(_column_getter(k), selected)) for k in self.keys]

    def accepts(self, run: Run) -> bool:
        """Whether ``run`` is in the result (``select`` for one run; lock held)."""
        return run.lifecycle_stage in self.view and all(match(run) for match in self.matchers)

    def sort_key(self) -> Callable[[Run], tuple]:
        """One run's place in ``order``'s order as a comparable tuple (lock held): per order key,
        present values in the requested direction, then NaN, then missing. The last key is the
        unique run id, so this order is total and equals ``order``'s."""
        getters = [(_column_getter(k), k.ascending) for k in self.keys]

        def key(run: Run) -> tuple:
            parts = []
            for get, ascending in getters:
                value = get(run)
                if value is None:
                    parts.append((2, 0))
                elif value is _NAN:
                    parts.append((1, 0))
                else:
                    parts.append((0, value if ascending else _Descending(value)))
            return tuple(parts)

        return key

    def order(self, selected: tuple[list[Run], list[list[Any]]]) -> list[Run]:
        """All matching runs in order (no lock needed: the columns are a snapshot)."""
        runs, columns = selected
        return [runs[i] for i in sort_columns(len(runs), columns, self.keys)]

    def page(self, ordered: list[Run]) -> tuple[list[Run], str | None]:
        return page_slice(ordered, self.offset, self.max_results)


def prepare_search(
    filter_string: str | None,
    order_by: Sequence[str] | None,
    max_results: int | None,
    page_token: str | None,
    run_view_type: str | int | None,
) -> RunQuery:
    """Validate a search as MLflow does, in its order: max_results, filter syntax, order_by,
    filter comparators, page token. Reads no state, so it runs outside the store lock."""
    if max_results is None:
        max_results = DEFAULT_MAX_RESULTS
    if max_results > MAX_RESULTS_LIMIT:
        # The request-schema check (<= 50000) runs before the store's and words it differently.
        raise bad_type("max_results", max_results)
    validate_max_results(max_results)
    clauses = parse_filter(RUN_GRAMMAR, filter_string)
    keys = _order_keys(order_by)
    built = [(_COST.get(c.entity, 1), _matcher(c)) for c in clauses]  # errors in clause order
    matchers = tuple(m for _, m in sorted(built, key=lambda item: item[0]))
    offset = decode_offset_token(page_token)
    if _SQL_TUPLE_ERROR in matchers:
        raise MlflowError(SQL_TUPLE_MESSAGE, BAD_REQUEST)
    return RunQuery(filter_string, tuple(order_by or ()), lifecycle_stages(run_view_type),
                    max_results, offset, matchers, tuple(keys))


def search_runs(
    runs: Iterable[Run],
    filter_string: str | None,
    order_by: Sequence[str] | None,
    max_results: int | None,
    page_token: str | None,
    run_view_type: str | int | None,
) -> tuple[list[Run], str | None]:
    """One page of matching runs and the next page token (None when nothing follows).

    ``max_results=None`` means the protocol default (1000). (The caller validates experiment
    ids.)
    """
    query = prepare_search(filter_string, order_by, max_results, page_token, run_view_type)
    return query.page(query.order(query.select(runs)))


# ---------------------------------------------------------------------------------------------
# Remembered orderings


@dataclass(frozen=True)
class _Remembered:
    membership: tuple  # (store generation, number of runs, hash of their ids)
    revisions: array  # each run's revision when ``ordered`` was made
    ordered: list[Run]  # never changed in place: pages are sliced from it outside the lock


class RunSearchCache:
    """The last few complete orderings, so that paging through a large result costs a slice,
    and a search right after a few writes costs those writes, not the whole experiment.

    An ordering is kept while the same runs are searched: creating or removing a run changes
    the ids, replacing the whole state changes the store's ``generation``. Every write to a run
    moves its ``revision`` on (``TrackingStore._run_for_write``); runs whose revision moved are
    taken out of a remembered ordering and put back where they now belong, if they still match.
    """

    SIZE = 8
    #: More changed runs than this: order everything again (a few bisects each are cheaper
    #: below it).
    MAX_CHANGED = 256

    def __init__(self) -> None:
        self._entries: OrderedDict[tuple, _Remembered] = OrderedDict()
        self._lock = threading.Lock()

    @staticmethod
    def state(generation: int, run_ids: Sequence[str], runs: Sequence[Run]) -> tuple[tuple, array]:
        """(membership, revisions) of the runs a search reads (store lock held)."""
        return (generation, len(runs), hash(tuple(run_ids))), array("q", map(_REVISION, runs))

    def remembered(self, key: tuple, membership: tuple, revisions: array, runs: Sequence[Run],
                   query: RunQuery) -> list[Run] | None:
        """The ordering for ``key`` brought up to date, or None (store lock held)."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or entry.membership != membership:
                return None
            self._entries.move_to_end(key)
        if entry.revisions == revisions:
            return entry.ordered
        changed = list(compress(runs, map(ne, revisions, entry.revisions)))
        if len(changed) > self.MAX_CHANGED:
            return None
        gone = {id(run) for run in changed}
        ordered = [run for run in entry.ordered if id(run) not in gone]
        sort_key = query.sort_key()
        for run in changed:
            if query.accepts(run):
                insort(ordered, run, key=sort_key)
        self.remember(key, membership, revisions, ordered)
        return ordered

    def remember(self, key: tuple, membership: tuple, revisions: array, ordered: list[Run]) -> None:
        with self._lock:
            self._entries[key] = _Remembered(membership, revisions, ordered)
            self._entries.move_to_end(key)
            while len(self._entries) > self.SIZE:
                self._entries.popitem(last=False)


_REVISION = attrgetter("revision")
_CACHES: "weakref.WeakKeyDictionary[object, RunSearchCache]" = weakref.WeakKeyDictionary()
_CACHES_LOCK = threading.Lock()


def cache_for(owner: object) -> RunSearchCache:
    """The cache of one store (dropped with it)."""
    with _CACHES_LOCK:
        cache = _CACHES.get(owner)
        if cache is None:
            cache = _CACHES[owner] = RunSearchCache()
        return cache
