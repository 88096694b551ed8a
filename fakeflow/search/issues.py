"""Search of GenAI issues, answered as MLflow 3.17.2's SQL store answers it.

The filter goes through the shared SQL lexer and statement checks (``fakeflow.search.filter``)
but MLflow reads each comparison with the issue reader's own rules: the left side must be an
identifier naming ``status`` or ``source_run_id`` (quotes removed, as written otherwise), the
comparator ``=`` or ``!=``, and the right side is taken as text whatever it is (quotes removed,
then blanks trimmed). Comparisons are SQL ones: an unset column matches neither ``=`` nor
``!=``. Order: severity (highest first, none last), then trace count if asked for, newest first,
ties by issue id descending. Offset page tokens as trace search makes them.
"""

from __future__ import annotations

from typing import Callable

from fakeflow.search.filter import _strip_quotes, set_repr, single_statement
from fakeflow.search.lexer import Kind, Tok, join_special_comparisons
from fakeflow.search.paging import decode_offset_token, page_slice, validate_max_results
from fakeflow.state.errors import invalid
from fakeflow.state.issues import Issue, IssueStore
from fakeflow.state.validation import parse_experiment_id

SEARCH_KEYS = ("status", "source_run_id")
COMPARATORS = ("=", "!=")
DEFAULT_MAX_RESULTS = 100

#: how the SQL parser's classes print the left side of a comparison it cannot use
_PARSER_CLASS = {
    Kind.IDENTIFIER: "Identifier", Kind.PAREN: "Parenthesis", Kind.FUNCTION: "Function",
    Kind.OPERATION: "Operation", Kind.COMPARE: "Comparison",
}

Clause = tuple[str, str, str]  # (key, comparator, value)
Predicate = Callable[[Issue], bool]


def _comparison(tok: Tok) -> Clause:
    parts = tok.parts
    if len(parts) != 3:
        raise invalid(f"Invalid comparison: expected 3 tokens, got {len(parts)}")
    left, comparator, right = parts
    if left.kind is not Kind.IDENTIFIER:
        name = _PARSER_CLASS.get(left.kind, "Token")
        raise invalid("Invalid comparison: left side must be an identifier, got "
                      f"<class 'sqlparse.sql.{name}'>")
    key = _strip_quotes(left.text).strip()
    if key not in SEARCH_KEYS:
        raise invalid(f"Invalid filter field '{key}'. Supported fields: {set_repr(SEARCH_KEYS)}")
    op = comparator.text.upper()
    if op not in COMPARATORS:
        raise invalid(f"Invalid comparator '{op}'. Supported comparators: {set_repr(COMPARATORS)}")
    return key, op, _strip_quotes(right.text).strip()


def parse_issue_filter(filter_string: str | None) -> list[Clause]:
    """An AND-only filter as (key, comparator, value) clauses, with MLflow's errors."""
    if not filter_string:
        return []
    tokens = join_special_comparisons(single_statement(filter_string))
    bad = [t for t in tokens if t.kind is not Kind.COMPARE and not t.is_keyword("AND")]
    if bad:
        raise invalid(f"Invalid clause(s) in filter string: {', '.join(t.text for t in bad)}")
    return [_comparison(t) for t in tokens if t.kind is Kind.COMPARE]


def _predicate(clause: Clause) -> Predicate:
    key, op, value = clause
    if op == "=":
        return lambda i: (v := getattr(i, key)) is not None and v == value
    return lambda i: (v := getattr(i, key)) is not None and v != value


def search_issues(store: IssueStore, experiment_id: str | None, filter_string: str | None,
                  max_results: int | None, page_token: str | None, include_trace_count: bool
                  ) -> tuple[list[Issue], dict[str, int] | None, str | None]:
    """One page of issues, their trace counts (if asked for) and the next page token."""
    validate_max_results(max_results, allow_null=True)
    limit = DEFAULT_MAX_RESULTS if max_results is None else max_results
    offset = decode_offset_token(page_token)
    # MLflow's order: the id is read as a number, the filter parsed, then the query bound
    number = parse_experiment_id(experiment_id) if experiment_id is not None else None
    predicates = [_predicate(c) for c in parse_issue_filter(filter_string)]
    with store.lock:
        issues = store.in_experiment(number)
        counts = store.trace_counts() if include_trace_count else None
        rows = [i for i in issues if all(p(i) for p in predicates)]
    rows.sort(key=lambda i: i.issue_id, reverse=True)
    rows.sort(key=lambda i: i.created_timestamp, reverse=True)
    if counts is not None:
        rows.sort(key=lambda i: counts.get(i.issue_id, 0), reverse=True)
    rows.sort(key=lambda i: i.severity_rank, reverse=True)
    page, token = page_slice(rows, offset, limit)
    if counts is not None:
        counts = {i.issue_id: counts.get(i.issue_id, 0) for i in page}
    return page, counts, token
