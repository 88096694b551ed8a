"""How strongly two trace filters co-occur: ``traces/calculate-filter-correlation``.

MLflow counts the traces of some experiments that pass each of two trace filters (each first
joined to an optional base filter with `` and ``), and both, among the traces the base filter
keeps (all of them without one), then scores the pair by normalised pointwise mutual
information (NPMI), plain and with a Jeffreys prior of 0.5 on each cell. The filters are the
trace search's own (``fakeflow.search.traces``), so they accept and refuse what it does.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

from fakeflow.search.traces import (
    _bind_error, binds_tuple, compile_filter, lazy_traces, parse_filter,
)
from fakeflow.state.traces import TraceStore
from fakeflow.state.validation import check_sqlite_integer, parse_experiment_id

JEFFREYS_PRIOR = 0.5


@dataclass(frozen=True)
class Correlation:
    npmi: float  # NaN when undefined (then left out of the answer, as MLflow does)
    npmi_smoothed: float
    filter1_count: int
    filter2_count: int
    joint_count: int
    total_count: int


def correlate(store: TraceStore, experiment_ids: Sequence[str], filter1: str, filter2: str,
              base_filter: str | None) -> Correlation:
    numbers = [parse_experiment_id(e) for e in experiment_ids]
    scoped = lazy_traces(store, {str(n) for n in numbers})

    # MLflow builds the two filter subqueries, then the base one, then runs one statement:
    # parse errors come in that order, binding errors only once all three were built.
    texts = [f"{base_filter} and {f}" if base_filter else f for f in (filter1, filter2)]
    if base_filter:
        texts.append(base_filter)
    parsed, queries = [], []
    for text in texts:  # each filter wholly (parsed, then checked) before the next
        clauses = parse_filter(text)
        parsed.append(clauses)
        queries.append(compile_filter(clauses, scoped))
    for number in numbers:
        check_sqlite_integer(number)
    if any(binds_tuple(clauses) for clauses in parsed):
        raise _bind_error()
    universe = scoped()
    if base_filter:
        universe = [t for t in universe if queries[2].matches(t)]
    first = {t.trace_id for t in universe if queries[0].matches(t)}
    second = {t.trace_id for t in universe if queries[1].matches(t)}
    joint = len(first & second)
    npmi, smoothed = npmi_scores(joint, len(first), len(second), len(universe))
    return Correlation(npmi, smoothed, len(first), len(second), joint, len(universe))


def npmi_scores(joint: int, count1: int, count2: int, total: int) -> tuple[float, float]:
    """(NPMI, smoothed NPMI) of a 2×2 table given by its margins; NaN where undefined."""
    nan = float("nan")
    if total <= 0 or count1 == 0 or count2 == 0:
        return nan, nan
    both, only1, only2 = joint, count1 - joint, count2 - joint
    neither = total - count1 - count2 + joint
    if min(both, only1, only2, neither) < 0:
        return nan, nan
    plain = -1.0 if joint == 0 else _npmi(both, only1, only2, neither, 0)
    return plain, _npmi(both, only1, only2, neither, JEFFREYS_PRIOR)


def _npmi(both: float, only1: float, only2: float, neither: float, prior: float) -> float:
    # The same operations in the same order as MLflow, so the floats agree to the last bit.
    b, o1, o2, n = both + prior, only1 + prior, only2 + prior, neither + prior
    total = b + o1 + o2 + n
    margin1, margin2 = b + o1, b + o2
    if margin1 <= 0 or margin2 <= 0 or b <= 0:
        return float("nan")
    if only1 == 0 and only2 == 0 and neither == 0:
        return 1.0
    log_both, log_total = math.log(b), math.log(total)
    pmi = (log_both + log_total) - (math.log(margin1) + math.log(margin2))
    return max(-1.0, min(1.0, pmi / -(log_both - log_total)))
