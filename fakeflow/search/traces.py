"""Trace search answered as MLflow 3.17.2's SQL store answers it (SQLite reference backend).

The filter is read with the shared SQL lexer (``fakeflow.search.lexer``) and MLflow's trace
rules: comparisons joined by AND over trace attributes (``request_id``, ``status``,
``client_request_id`` and the numeric ``timestamp_ms``/``execution_time_ms``/``end_time_ms``
with their short aliases), ``tag.``/``metadata.`` keys, ``span.name|type|status``,
``span.attributes.<key>`` and ``span.content`` (both LIKE-style matches on the span's stored
JSON, as MLflow matches them), ``feedback.<name>``/``expectation.<name>`` (on the JSON text of
valid assessments, or numerically), ``issue.id``, and the remapped keys ``name`` (the trace
name), ``run_id`` (source run, or a run link for ``=``), ``prompt`` and ``text``. Checks happen
in MLflow's order: max_results, order_by, the filter's parse, each clause's store-level check,
the page token, and last what the database itself refuses (a list bound as one value).
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Callable, Iterable, Sequence

from fakeflow.search.compare import ilike, like
from fakeflow.search.filter import (
    _strip_quotes, _trim_backticks, parse_list, set_repr, single_statement, split_order_by,
)
from fakeflow.search.lexer import Kind, Tok, join_special_comparisons
from fakeflow.search.paging import decode_offset_token, encode_offset_token, validate_max_results
from fakeflow.state import trace_analytics as analytics
from fakeflow.state.errors import BAD_REQUEST, INTERNAL_ERROR, MlflowError, invalid
from fakeflow.state.traces import SOURCE_RUN, TRACE_NAME_TAG, Assessment, Trace, TraceStore
from fakeflow.state.validation import check_sqlite_integer

MAX_RESULTS = 50000
ATTRIBUTE, TAG, METADATA, SPAN = "attribute", "tag", "request_metadata", "span"
FEEDBACK, EXPECTATION, ISSUE = "feedback", "expectation", "issue"
ALTERNATES = {"tags": TAG, "attributes": ATTRIBUTE, "trace": ATTRIBUTE, "metadata": METADATA}
IDENTIFIERS = frozenset({TAG, METADATA, ATTRIBUTE, SPAN, FEEDBACK, EXPECTATION, ISSUE,
                         *ALTERNATES})
SEARCH_KEYS = frozenset({"request_id", "timestamp", "timestamp_ms", "execution_time",
                         "execution_time_ms", "end_time", "end_time_ms", "status",
                         "client_request_id", "name", "run_id", "prompt", "text"})
ORDER_KEYS = frozenset({"experiment_id", "timestamp", "timestamp_ms", "execution_time",
                        "execution_time_ms", "end_time", "end_time_ms", "status", "request_id",
                        "name", "run_id"})
NUMERIC = frozenset({"timestamp_ms", "timestamp", "execution_time_ms", "execution_time",
                     "end_time_ms", "end_time"})
IN_KEYS = frozenset({"name", "status", "request_id", "run_id", "client_request_id"})
NUMERIC_OPS = frozenset({">", ">=", "!=", "=", "<", "<="})
TAG_OPS = frozenset({"!=", "=", "LIKE", "ILIKE", "RLIKE", "IS NULL", "IS NOT NULL"})
STRING_OPS = frozenset({"!=", "=", "IN", "NOT IN", "LIKE", "ILIKE", "RLIKE"})
SPAN_OPS = STRING_OPS
METADATA_OPS = TAG_OPS
ASSESSMENT_NUMERIC_OPS = frozenset({">", ">=", "<", "<="})
ASSESSMENT_OPS = frozenset({"!=", "=", *ASSESSMENT_NUMERIC_OPS, "LIKE", "ILIKE", "RLIKE",
                            "IS NULL", "IS NOT NULL"})
SPAN_KEYS = ("name", "status", "type")
CONTENT_OPS = frozenset({"LIKE", "ILIKE"})
TO_TAG = {"name": TRACE_NAME_TAG, "prompt": "mlflow.linkedPrompts"}
TO_METADATA = {"run_id": SOURCE_RUN}
TO_ATTRIBUTE = {"timestamp": "timestamp_ms", "execution_time": "execution_time_ms",
                "end_time": "end_time_ms"}
SESSION_KEY = analytics.SESSION_KEY
ANALYTICS = {"mlflow.trace.tokenUsage": ("input_tokens", "output_tokens", "total_tokens",
                                         "cache_read_input_tokens",
                                         "cache_creation_input_tokens",
                                         "cache_creation_input_tokens_above_1hr"),
             "mlflow.trace.cost": ("input_cost", "output_cost", "total_cost")}
#: Columns of MLflow's trace table that order_by may name, and whether they can be NULL.
COLUMNS = {"experiment_id": False, "timestamp_ms": False, "execution_time_ms": True,
           "status": False, "request_id": False}
SPAN_TIME_TOLERANCE_MS = 10_000
_SPAN_CONTENT_KEYS = ("trace_id", "span_id", "parent_span_id", "name", "start_time_unix_nano",
                      "end_time_unix_nano", "events", "status", "attributes", "links")
_SQL_NUMBER = re.compile(r"^\s*[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?\s*$")


@dataclass(frozen=True)
class Clause:
    """One comparison after MLflow's key remapping (``comparator`` as written)."""

    type: str
    key: str
    comparator: str
    value: Any


class BindError(Exception):
    """A value the database driver cannot bind (a parenthesised list outside IN)."""


# ---- parsing -----------------------------------------------------------------------------------


def _bad(message: str) -> MlflowError:
    return invalid(message)


def _entity_type(text: str) -> str:
    entity = _trim_backticks(text)
    if entity not in IDENTIFIERS:
        raise _bad(f"Invalid entity type '{entity}'. Valid values are {set_repr(IDENTIFIERS)}")
    return ALTERNATES.get(entity, entity)


def _identifier(text: str, valid: frozenset[str]) -> tuple[str, str]:
    parts = text.split(".", 1)
    if len(parts) == 1:
        entity, key = ATTRIBUTE, parts[0]
    else:
        entity, key = _entity_type(parts[0]), parts[1]
    key = _trim_backticks(_strip_quotes(key))
    if entity == ATTRIBUTE and key not in valid:
        raise _bad(f"Invalid attribute key '{key}' specified. Valid keys are '{set_repr(valid)}'")
    return entity, key


def _stringish(tok: Tok) -> bool:
    return tok.kind in (Kind.STRING, Kind.IDENTIFIER)


def _number(tok: Tok) -> int | float:
    return int(tok.text) if tok.kind is Kind.INT else float(tok.text)


def _quoted_error(entity: str, tok: Tok) -> MlflowError:
    return _bad(f"Expected a quoted string value for {entity} (e.g. 'my-value'). Got value "
                f"{tok.text}")


def _value(entity: str, key: str, tok: Tok) -> Any:
    numeric = tok.kind in (Kind.INT, Kind.FLOAT)
    if entity == TAG:
        if _stringish(tok):
            return _strip_quotes(tok.text, required=True)
        if tok.kind is Kind.PAREN:
            return parse_list(tok)
        raise _quoted_error(entity, tok)
    if entity == ATTRIBUTE:
        if _stringish(tok):
            return _strip_quotes(tok.text, required=True)
        if tok.kind is Kind.PAREN:
            if key not in IN_KEYS:
                raise _bad(f"Only attributes in {set_repr(IN_KEYS)} supports comparison with a "
                           "list of quoted string values.")
            return parse_list(tok)
        if numeric:
            if key not in NUMERIC:
                raise _bad(f"Only the '{set_repr(NUMERIC)}' attributes support comparison with "
                           "numeric values.")
            return _number(tok)
        raise _bad("Expected a quoted string value or a list of quoted string values for "
                   f"attributes. Got value {tok.text}")
    if entity in (METADATA, ISSUE):
        if _stringish(tok):
            return _strip_quotes(tok.text, required=True)
        raise _quoted_error(entity, tok)
    if entity == SPAN:
        if _stringish(tok):
            return _strip_quotes(tok.text, required=True)
        if tok.kind is Kind.PAREN:
            return parse_list(tok)
        raise _quoted_error(entity, tok)
    # feedback / expectation
    if _stringish(tok):
        return _strip_quotes(tok.text, required=True)
    if numeric:
        return _number(tok)
    raise _bad("Expected a quoted string value or numeric value for "
               f"{entity} (e.g. 'my-value' or 0.8). Got value {tok.text}")


def _check_assessment_value(entity: str, comparator: str, tok: Tok) -> None:
    if entity not in (FEEDBACK, EXPECTATION):
        return
    numeric_op = comparator in ASSESSMENT_NUMERIC_OPS
    if numeric_op:
        message = (f"Expected a numeric value for {entity} when using comparator "
                   f"'{comparator}'. Got value {tok.text}")
    else:
        message = (f"Expected a quoted string value for {entity} (e.g. 'my-value'). Got value "
                   f"{tok.text}")
    if _stringish(tok):
        if numeric_op:
            raise _bad(message)
    elif tok.kind in (Kind.INT, Kind.FLOAT):
        if not numeric_op:
            raise _bad(message)
    else:
        raise _bad(message)


def check_span(key: str, comparator: str) -> None:
    """MLflow's span key and comparator check (run at parse time and again in the store)."""
    if key.startswith("attributes."):
        if not key[len("attributes."):]:
            raise _bad("Span attribute name cannot be empty after 'attributes.'")
        allowed, name = SPAN_OPS, key
    elif key in SPAN_KEYS:
        allowed, name = SPAN_OPS, key
    elif key == "content":
        allowed, name = CONTENT_OPS, key
    else:
        raise _bad(f"Invalid span attribute '{key}'. Supported attributes: "
                   f"{', '.join(sorted(SPAN_KEYS))}, attributes.<attribute_name>.")
    if comparator not in allowed:
        raise _bad(f"span.{name} comparator '{comparator}' not one of '{set_repr(allowed)}'")


def _validate(parts: tuple[Tok, ...]) -> None:
    if len(parts) == 2 and parts[1].upper in ("IS NULL", "IS NOT NULL"):
        if parts[0].kind is not Kind.IDENTIFIER:
            raise _bad(f"Invalid comparison clause. Expected 'Identifier' found '{parts[0]}'")
        return
    if (len(parts) == 3 and parts[0].kind is Kind.BUILTIN
            and parts[0].text in ("timestamp", "timestamp_ms")):
        return
    if len(parts) != 3:
        raise _bad(f"Invalid comparison clause. Expected 3 tokens found {len(parts)}")
    if parts[0].kind is not Kind.IDENTIFIER:
        raise _bad(f"Invalid comparison clause. Expected 'Identifier' found '{parts[0]}'")


def _remap(entity: str, key: str) -> tuple[str, str]:
    """MLflow's aliases: ``name``/``prompt`` are tags, ``run_id`` metadata, ``text`` span
    content, whatever prefix they were written with (except ``span.``)."""
    if entity == SPAN:
        return entity, key
    lowered = key.lower()
    if lowered in TO_TAG:
        return TAG, TO_TAG[lowered]
    if lowered in TO_METADATA:
        return METADATA, TO_METADATA[lowered]
    if lowered == "text":
        return SPAN, "content"
    return entity, TO_ATTRIBUTE.get(lowered, key)


def _comparison(tok: Tok) -> Clause:
    parts = tuple(p for p in tok.parts if p.kind is not Kind.WS)
    _validate(parts)
    if len(parts) == 2:
        entity, key = _identifier(parts[0].text, SEARCH_KEYS)
        return Clause(*_remap(entity, key), parts[1].upper, None)
    entity, key = _identifier(parts[0].text, SEARCH_KEYS)
    comparator = parts[1].text
    _check_assessment_value(entity, comparator, parts[2])
    value = _value(entity, key, parts[2])
    if entity == SPAN:
        check_span(key, comparator)
    return Clause(*_remap(entity, key), comparator, value)


@lru_cache(maxsize=256)
def parse_filter(filter_string: str | None) -> tuple[Clause, ...]:
    """The clauses of a filter, or MLflow's parse error (errors are not cached)."""
    if not filter_string:
        return ()
    joined = join_special_comparisons(single_statement(filter_string), timestamp_builtin=True)
    bad = [t for t in joined if t.kind is not Kind.COMPARE and not t.is_keyword("AND")]
    if bad:
        raise _bad("Invalid clause(s) in filter string: " + ", ".join(f"'{t}'" for t in bad))
    return tuple(_comparison(t) for t in joined if t.kind is Kind.COMPARE)


# ---- values as SQLite compares them ------------------------------------------------------------


def _affinity_int(value: Any) -> Any:
    """A bound text under INTEGER column affinity: numeric text becomes a number."""
    if isinstance(value, str) and _SQL_NUMBER.match(value):
        number = float(value)
        return int(number) if number.is_integer() and abs(number) < 2**63 else number
    return value


def _regexp(pattern: str, value: str) -> bool:
    try:
        return re.search(pattern, value) is not None
    except (re.error, TypeError):
        return False


def sql_compare(lhs: Any, comparator: str, rhs: Any) -> bool:
    """``lhs <comparator> rhs`` as SQLite answers it; NULL never matches; every number sorts
    before every text; a list outside IN cannot be bound."""
    if comparator in ("IN", "NOT IN"):
        if lhs is None:
            return False
        found = any(sql_compare(lhs, "=", item) for item in rhs)
        return found if comparator == "IN" else not found
    if isinstance(rhs, tuple):
        raise BindError()
    if lhs is None or rhs is None:
        return False
    if comparator in ("LIKE", "ILIKE", "RLIKE"):
        text = lhs if isinstance(lhs, str) else str(lhs)
        pattern = rhs if isinstance(rhs, str) else str(rhs)
        if comparator == "RLIKE":
            return _regexp(pattern, text)
        return like(text, pattern) if comparator == "LIKE" else ilike(text, pattern)
    left_text, right_text = isinstance(lhs, str), isinstance(rhs, str)
    if left_text != right_text:  # number vs text: the number is smaller
        order = -1 if not left_text else 1
        return {"=": False, "!=": True, "<": order < 0, "<=": order < 0,
                ">": order > 0, ">=": order > 0}[comparator]
    return {"=": lhs == rhs, "!=": lhs != rhs, "<": lhs < rhs, "<=": lhs <= rhs,
            ">": lhs > rhs, ">=": lhs >= rhs}[comparator]


# ---- the data as MLflow's tables hold it -------------------------------------------------------


def span_status(span: dict[str, Any]) -> str | None:
    code = (span.get("status") or {}).get("code")
    if not isinstance(code, str):
        return None
    return code[len("STATUS_CODE_"):] if code.startswith("STATUS_CODE_") else code


def span_content(span: dict[str, Any]) -> str:
    """The span's JSON as MLflow stores it (non-ASCII kept), which LIKE filters match."""
    doc = {key: span.get(key) for key in _SPAN_CONTENT_KEYS}
    doc["events"] = doc["events"] or []
    doc["links"] = doc["links"] or []
    return json.dumps(doc, ensure_ascii=False)


def _floats(value: Any) -> Any:
    """A value that travelled as a protobuf ``Value``: every number is a double."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, list):
        return [_floats(v) for v in value]
    if isinstance(value, dict):
        return {k: _floats(v) for k, v in value.items()}
    return value


def assessment_value(a: Assessment) -> Any:
    if a.serialized_value is not None:
        try:
            return json.loads(a.serialized_value.get("value", "null"))
        except ValueError:
            return a.serialized_value.get("value")
    return _floats(a.value)


def assessment_aggregate(value: Any) -> tuple[float | None, bool]:
    """MLflow's numeric view of an assessment value: (value, whether it is a finite number)."""
    if isinstance(value, bool):
        return (1.0 if value else 0.0), False
    if isinstance(value, (int, float)):
        try:
            number = float(value)
        except OverflowError:
            return None, False
        return (number, True) if math.isfinite(number) else (None, False)
    if isinstance(value, str) and value.strip().lower() in ("yes", "no"):
        return (1.0 if value.strip().lower() == "yes" else 0.0), False
    return None, False


def _column(trace: Trace, key: str) -> Any:
    if key == "timestamp_ms":
        return trace.request_time
    if key == "execution_time_ms":
        return trace.execution_duration
    if key == "end_time_ms":
        return trace.request_time + (trace.execution_duration or 0)
    if key == "request_id":
        return trace.trace_id
    if key == "status":
        return trace.state
    if key == "client_request_id":
        return trace.client_request_id
    if key == "experiment_id":
        return int(trace.experiment_id)
    raise MlflowError(f"type object 'SqlTraceInfo' has no attribute '{key}'", INTERNAL_ERROR)


def _session_id(trace: Trace) -> str | None:
    from fakeflow.search.trace_metrics import trace_row

    return trace_row(trace).session_id


# ---- the query ---------------------------------------------------------------------------------


TracePredicate = Callable[[Trace], bool]
SpanPredicate = Callable[[dict[str, Any]], bool]


@dataclass
class Query:
    """A filter compiled in MLflow's clause order into per-trace and per-span tests."""

    trace_tests: list[TracePredicate] = field(default_factory=list)
    span_tests: list[SpanPredicate] = field(default_factory=list)
    span_start_ms: Any = None
    span_floor_ns: int | float | None = None
    run_id: str | None = None

    def matches(self, trace: Trace) -> bool:
        if not all(test(trace) for test in self.trace_tests):
            return False
        if self.span_tests:
            floor = self.span_floor_ns
            if not any((floor is None or (s.get("start_time_unix_nano") or 0) >= floor)
                       and all(test(s) for test in self.span_tests)
                       for s in list(trace.spans.values())):
                return False
        if self.run_id:
            return self.run_id in trace.linked_runs or \
                trace.metadata.get(SOURCE_RUN) == self.run_id
        return True


def _guard(test: Callable[[Any], bool], query: Query) -> Callable[[Any], bool]:
    """Run a comparison; a list the database could not bind fails no row (the search was
    refused before any row was read: see ``binds_tuple``)."""
    def run(item: Any) -> bool:
        try:
            return test(item)
        except BindError:
            return False
    return run


def _check_tag(comparator: str) -> None:
    if comparator not in TAG_OPS:
        raise _bad(f"Invalid comparator '{comparator}' not one of '{set_repr(TAG_OPS)}")


def _check_metadata(comparator: str) -> None:
    if comparator not in METADATA_OPS:
        raise _bad(f"Invalid comparator '{comparator}' not one of '{set_repr(METADATA_OPS)}'")


def _check_attribute(key: str, comparator: str) -> None:
    if key not in NUMERIC and comparator not in STRING_OPS:
        raise _bad(f"Invalid comparator '{comparator}' not one of '{set_repr(STRING_OPS)}'")
    if key in NUMERIC and comparator not in NUMERIC_OPS:
        raise _bad(f"Invalid comparator '{comparator}' not one of '{set_repr(STRING_OPS)}")


def _attribute_test(key: str, comparator: str, value: Any) -> TracePredicate:
    if key in ("timestamp_ms", "execution_time_ms"):  # INTEGER columns: affinity applies
        value = _affinity_int(value)
    return lambda t: sql_compare(_column(t, key), comparator, value)


def _assessment_test(c: Clause, comparator: str, scoped: Callable[[], list[Trace]]
                     ) -> TracePredicate:
    def row_matches(a: Assessment) -> bool:
        if a.kind != c.type or a.name != c.key or not a.valid:
            return False
        if comparator in ("IS NULL", "IS NOT NULL"):
            return True
        value = assessment_value(a)
        if comparator in ASSESSMENT_NUMERIC_OPS:
            number, is_numeric = assessment_aggregate(value)
            return is_numeric and sql_compare(number, comparator, c.value)
        text = json.dumps(value)
        if comparator in ("=", "!="):
            if isinstance(c.value, tuple):
                raise BindError()
            hit = text == c.value or text == json.dumps(c.value)
            return hit if comparator == "=" else not hit
        return sql_compare(text, comparator, c.value)

    cache: dict[str, set[str]] = {}

    def session_covered() -> set[str]:
        if "ids" not in cache:
            traces = scoped()
            sessions = {_session_id(t) for t in traces
                        if any(row_matches(a) and SESSION_KEY in a.metadata
                               for a in list(t.assessments))}
            sessions.discard(None)
            cache["ids"] = {t.trace_id for t in traces if _session_id(t) in sessions}
        return cache["ids"]

    def test(trace: Trace) -> bool:
        direct = any(row_matches(a) for a in list(trace.assessments))
        if comparator == "IS NULL":
            return not direct and trace.trace_id not in session_covered()
        return direct or trace.trace_id in session_covered()

    return test


def _span_attribute_test(attribute: str, comparator: str, value: Any) -> SpanPredicate:
    if comparator == "RLIKE":
        text = value
        prefix, suffix = '"\\\\".*', ""
        if text.startswith("^"):
            text, prefix = text[1:], '"\\\\"'
        if text.endswith("$"):
            text, suffix = text[:-1], '\\\\"'
        pattern = f'"{attribute}": {prefix}{text}{suffix}'
    else:
        pattern = f'%"{attribute}"{value}%'
    if comparator in ("IN", "NOT IN"):
        raise MlflowError("IN expression list, SELECT construct, or bound parameter object "
                          f"expected, got {pattern!r}.", BAD_REQUEST)
    return lambda s: sql_compare(span_content(s), comparator, pattern)


def _span_test(key: str, comparator: str, value: Any) -> SpanPredicate:
    if key.startswith("attributes."):
        return _span_attribute_test(_trim_backticks(key[len("attributes."):]), comparator, value)
    if key == "content":
        return lambda s: sql_compare(span_content(s), comparator, value)
    if key == "status":
        return lambda s: sql_compare(span_status(s), comparator, value)
    return lambda s: sql_compare(s.get(key), comparator, value)


def _analytics_test(key: str, comparator: str, value: Any) -> TracePredicate:
    from fakeflow.search.trace_metrics import trace_row

    columns = ANALYTICS[key]

    def present(trace: Trace) -> bool:
        row = trace_row(trace).columns
        return any(row.get(c) is not None for c in columns)

    if comparator == "IS NULL":
        return lambda t: not present(t)
    if comparator == "IS NOT NULL":
        return present
    if comparator not in ("=", "!="):
        raise _bad(f"Comparator '{comparator}' is not supported for reserved metadata '{key}'. "
                   "Only '=', '!=', 'IS NULL', and 'IS NOT NULL' are supported.")
    try:
        parsed = json.loads(value)
    except (TypeError, ValueError):
        parsed = None
    convert = (analytics.token_count if key == analytics.TOKEN_USAGE_KEY
               else analytics.finite_float)
    normalized: dict[str, Any] = {}
    if isinstance(parsed, dict) and set(parsed) <= set(columns):
        normalized = {k: v for k in columns if (v := convert(parsed.get(k))) is not None}
    canonical = bool(normalized) and value == json.dumps(normalized)

    def equal(trace: Trace) -> bool:
        if not canonical:
            return False
        row = trace_row(trace).columns
        return all((row.get(c) is not None and row.get(c) == normalized[c]) if c in normalized
                   else row.get(c) is None for c in columns)

    if comparator == "=":
        return equal
    return lambda t: present(t) and not equal(t)


def compile_filter(clauses: Sequence[Clause], scoped: Callable[[], list[Trace]]) -> Query:
    """MLflow's store-level pass over the parsed clauses (its checks raise in clause order)."""
    query = Query()
    for c in clauses:
        comparator = c.comparator.upper()
        if c.type == ISSUE:
            if c.key != "id":
                raise _bad(f"Invalid issue attribute '{c.key}'. Supported attributes: id")
            if comparator != "=":
                raise _bad(f"issue.{c.key} comparator '{comparator}' not one of "
                           f"'{set_repr({'='})}'")
            query.trace_tests.append(_guard(
                lambda t, v=c.value: any(a.kind == ISSUE and sql_compare(a.name, "=", v)
                                         for a in list(t.assessments)), query))
            continue
        if c.type == ATTRIBUTE:
            _check_attribute(c.key, comparator)
            if c.key == "timestamp_ms" and comparator in (">", ">="):
                bound = query.span_start_ms
                try:  # MLflow keeps the largest bound with Python's max, whatever its type
                    query.span_start_ms = c.value if bound is None else max(bound, c.value)
                except TypeError as exc:
                    raise MlflowError(str(exc), INTERNAL_ERROR) from None
            query.trace_tests.append(_guard(_attribute_test(c.key, comparator, c.value), query))
            continue
        if c.type == TAG:
            _check_tag(comparator)
        if c.type == METADATA:
            _check_metadata(comparator)
        if c.type == TAG and c.key == TRACE_NAME_TAG:
            query.trace_tests.append(_guard(_named(TRACE_NAME_TAG, TAG, comparator, c.value),
                                            query))
            continue
        if c.type == METADATA and c.key in ANALYTICS:
            query.trace_tests.append(_guard(_analytics_test(c.key, comparator, c.value), query))
            continue
        if c.type == METADATA and c.key == SOURCE_RUN and comparator == "=":
            query.run_id = c.value
            continue
        if c.type == TAG and c.key == "mlflow.linkedPrompts":
            if comparator != "=":
                raise _bad(f"Invalid comparator '{comparator}' for prompts filter. Only '=' is "
                           'supported with format: prompt = "name/version"')
            if c.value.count("/") != 1:
                shown = c.value if isinstance(c.value, str) else repr(c.value)
                raise _bad(f"Invalid prompts filter value '{shown}'. "
                           'Expected format: prompt = "name/version"')
            query.trace_tests.append(lambda t, wanted=c.value: wanted in t.linked_prompts)
            continue
        if c.type in (TAG, METADATA):
            query.trace_tests.append(_guard(_named(c.key, c.type, comparator, c.value), query))
            continue
        if c.type == SPAN:
            check_span(c.key, comparator)
            query.span_tests.append(_guard(_span_test(c.key, comparator, c.value), query))
            continue
        if c.type in (FEEDBACK, EXPECTATION):
            if not c.key:
                raise _bad("Assessment field name cannot be empty")
            if comparator not in ASSESSMENT_OPS:
                raise _bad(f"assessment.{c.key} comparator '{comparator}' not one of "
                           f"'{set_repr(ASSESSMENT_OPS)}'")
            query.trace_tests.append(_guard(_assessment_test(c, comparator, scoped), query))
            continue
        raise _bad(f"Invalid search expression type '{c.type}'")
    if query.span_tests and query.span_start_ms is not None:
        try:  # MLflow turns the bound into nanoseconds only when a span filter uses it
            query.span_floor_ns = (query.span_start_ms - SPAN_TIME_TOLERANCE_MS) * 1_000_000
        except TypeError as exc:
            raise MlflowError(str(exc), INTERNAL_ERROR) from None
    return query


def _named(key: str, entity: str, comparator: str, value: Any) -> TracePredicate:
    """A tag or metadata test: the trace has the key with a value that compares true."""
    def values(trace: Trace) -> dict[str, str]:
        return trace.tags if entity == TAG else trace.metadata

    if key == SESSION_KEY and entity == METADATA:  # MLflow's session_id column
        if comparator in ("IS NULL", "IS NOT NULL"):
            return lambda t: (_session_id(t) is None) == (comparator == "IS NULL")
        return lambda t: sql_compare(_session_id(t), comparator, value)
    if comparator == "IS NULL":
        return lambda t: key not in values(t)
    if comparator == "IS NOT NULL":
        return lambda t: key in values(t)
    return lambda t: sql_compare(values(t).get(key), comparator, value)


# ---- order_by ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class OrderKey:
    type: str
    key: str
    ascending: bool


@lru_cache(maxsize=256)
def parse_order_by(text: str) -> OrderKey:
    identifier, ascending = split_order_by(text)
    entity, key = _identifier(identifier.strip(), ORDER_KEYS)
    entity, key = _remap(entity, key)
    return OrderKey(entity, key, ascending)


SortKey = Callable[[Trace], Any]


def order_keys(order_by: Sequence[str]) -> list[tuple[SortKey, bool, bool]]:
    """(value of a trace, ascending, NULLs last) per order_by field, then the tie-breakers."""
    keys: list[tuple[SortKey, bool, bool]] = []
    seen: set[tuple[str, str]] = set()
    for text in order_by:
        o = parse_order_by(text)
        if o.type == METADATA and o.key in ANALYTICS:
            raise _bad(f"Ordering by reserved metadata '{o.key}' is not supported because it is "
                       "represented by multiple columns.")
        if o.type == ATTRIBUTE:
            if o.key not in COLUMNS:
                raise MlflowError(f"type object 'SqlTraceInfo' has no attribute '{o.key}'",
                                  INTERNAL_ERROR)
            value: SortKey = lambda t, k=o.key: _column(t, k)
            nulls_last = COLUMNS[o.key]
        elif o.type == TAG:
            value, nulls_last = (lambda t, k=o.key: t.tags.get(k)), True
        elif o.type == METADATA:
            if o.key == SESSION_KEY:
                value = _session_id
            else:
                value = lambda t, k=o.key: t.metadata.get(k)
            nulls_last = True
        else:
            raise _bad(f"Invalid identifier type '{o.type}'")
        if (o.type, o.key) in seen:
            raise MlflowError(f"`order_by` contains duplicate fields: {list(order_by)}",
                              INTERNAL_ERROR)
        seen.add((o.type, o.key))
        keys.append((value, o.ascending, nulls_last))
    if (ATTRIBUTE, "timestamp_ms") not in seen:
        keys.append((lambda t: t.request_time, False, False))
    if (ATTRIBUTE, "request_id") not in seen:
        keys.append((lambda t: t.trace_id, True, False))
    return keys


def _sort_rank(value: Any) -> tuple[int, Any]:
    """SQLite's order of stored values: NULL, numbers, then text."""
    if value is None:
        return (0, 0)
    if isinstance(value, str):
        return (2, value)
    return (1, value)


def sort_traces(traces: list[Trace], keys: Sequence[tuple[SortKey, bool, bool]]) -> list[Trace]:
    """Stable passes from the last key to the first, as ORDER BY with MLflow's NULL cases."""
    for key, ascending, nulls_last in reversed(keys):
        values = {id(t): key(t) for t in traces}
        if nulls_last:
            present = [t for t in traces if values[id(t)] is not None]
            missing = [t for t in traces if values[id(t)] is None]
            present.sort(key=lambda t: _sort_rank(values[id(t)]), reverse=not ascending)
            traces = present + missing
        else:
            traces = sorted(traces, key=lambda t: _sort_rank(values[id(t)]),
                            reverse=not ascending)
    return traces


# ---- the search --------------------------------------------------------------------------------


def _bind_error() -> MlflowError:
    from fakeflow.search.runs import SQL_TUPLE_MESSAGE  # MLflow's text up to the SQL it quotes

    return MlflowError(SQL_TUPLE_MESSAGE, BAD_REQUEST)


def lazy_traces(store: TraceStore, experiment_ids: Iterable[str]) -> Callable[[], list[Trace]]:
    """The experiments' traces, copied from the store on first call only (a filter needs them
    only for session-wide assessments; the search itself reads them once)."""
    cache: list[list[Trace]] = []

    def scoped() -> list[Trace]:
        if not cache:
            cache.append(store.in_experiments(experiment_ids))
        return cache[0]

    return scoped


def search_traces(store: TraceStore, experiment_ids: list[str], filter_string: str | None,
                  max_results: int, order_by: list[str], page_token: str | None,
                  ) -> tuple[list[Trace], str | None]:
    """One page of the traces of these experiments that pass the filter."""
    # MLflow refuses ids with a dot ("7.0") before anything else, quoting them cut at 20 chars
    dotted = ", ".join(e for e in experiment_ids if "." in e)
    if dotted:
        raise invalid("Locations must be a list of experiment IDs. Found invalid experiment IDs: "
                      f"{dotted[:20] + '...' if len(dotted) > 20 else dotted}.")
    validate_max_results(max_results, limit=MAX_RESULTS)
    wanted = []
    for experiment_id in experiment_ids:
        try:
            wanted.append(str(int(experiment_id)))
        except ValueError as error:  # MLflow's int() crash, reported as an internal error
            raise MlflowError(str(error), INTERNAL_ERROR)
    keys = order_keys(order_by)
    scoped = lazy_traces(store, wanted)
    clauses = parse_filter(filter_string or None)
    query = compile_filter(clauses, scoped)
    offset = decode_offset_token(page_token)
    if binds_tuple(clauses):
        raise _bind_error()
    for experiment_id in wanted:  # SQLite binds them when the query runs
        check_sqlite_integer(int(experiment_id))
    found = [t for t in scoped() if query.matches(t)]
    ordered = sort_traces(found, keys)
    start = max(offset, 0)
    page = ordered[start:start + max_results]
    token = encode_offset_token(offset + max_results) if len(page) == max_results else None
    return page, token


def binds_tuple(clauses: Sequence[Clause]) -> bool:
    """Whether the database would be handed a list as one value (outside IN): a tag, attribute
    or span column compared with a parenthesised list (span attributes embed it as text)."""
    return any(isinstance(c.value, tuple) and c.comparator.upper() not in ("IN", "NOT IN")
               and (c.type in (TAG, ATTRIBUTE)
                    or (c.type == SPAN and not c.key.startswith("attributes.")))
               for c in clauses)
