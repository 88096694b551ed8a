"""Filter and order_by parsing shared by every searchable entity kind.

Each kind (runs, experiments, later registered models / model versions / logged models)
describes itself with a ``Grammar``: which entity prefixes exist, which attribute keys are
valid, which attributes are numeric or accept lists, and the kind-specific error texts. The
parser turns a filter string into ``Clause`` objects and raises ``MlflowError`` with MLflow's
exact messages for malformed input. Comparator validity is checked later by each kind, as
MLflow does (its parse step accepts e.g. ``params.p > 'x'`` and fails when building the query).
"""

from __future__ import annotations

import ast
import shlex
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping, Union

from fakeflow.search.lexer import Kind, Tok, group, join_special_comparisons, lex, split_statements
from fakeflow.state.errors import MlflowError, invalid

ATTRIBUTE = "attribute"
METRIC = "metric"
PARAM = "parameter"
TAG = "tag"
DATASET = "dataset"

Value = Union[str, int, float, tuple, None]


def set_repr(items: Iterable[str]) -> str:
    """Render keys like Python prints a set of strings.

    MLflow prints real ``set`` objects, whose order depends on the server process's string hash
    seed and so differs between server starts; we print them sorted, which is deterministic.
    """
    return "{" + ", ".join(repr(i) for i in sorted(items)) + "}"


@dataclass(frozen=True)
class Clause:
    """One parsed comparison. ``comparator`` is as written except IN/NOT IN/IS [NOT] NULL."""

    entity: str
    key: str
    comparator: str
    value: Value


@dataclass(frozen=True)
class OrderKey:
    entity: str
    key: str
    ascending: bool


@dataclass(frozen=True)
class Grammar:
    """Everything entity-kind specific about the filter/order_by language."""

    # prefix as written -> canonical entity type
    entity_aliases: Mapping[str, str]
    # message for an unknown prefix, given the prefix as MLflow reports it
    unknown_entity: Callable[[str], str]
    # whether ``\\`tags\\`.x`` is accepted (runs) or the prefix must be bare (experiments)
    trim_entity_backticks: bool
    attribute_keys: tuple[str, ...]
    order_by_attribute_keys: tuple[str, ...]
    numeric_attributes: frozenset[str]
    list_attributes: tuple[str, ...]
    dataset_keys: tuple[str, ...] = ()
    quote_invalid_clauses: bool = True
    # entity types on which IS [NOT] NULL may be used, and the error for the others
    null_entities: frozenset[str] = frozenset({TAG, PARAM})
    null_error: Callable[[str, str], str] = field(
        default=lambda entity, key: (
            "IS NULL / IS NOT NULL is only supported for tags and params, "
            f"not for '{entity}' '{key}'"
        )
    )
    # registry searches: an attribute key is checked as written, before quotes are removed
    check_raw_attribute_key: bool = False
    # registry searches: MLflow cannot unpack an IS [NOT] NULL clause and fails with HTTP 500
    null_crashes: bool = False
    # kind-specific reading of an attribute's value (default: ``parse_value``'s own rules)
    attribute_value: Callable[["Grammar", str, Tok], Value] | None = None
    # kind-specific reading of ``[entity.]key`` (default: ``parse_identifier``)
    identifier: Callable[["Grammar", str, tuple[str, ...]], tuple[str, str]] | None = None
    # a kind-specific check of each parsed clause, in clause order (evaluation datasets)
    check_clause: Callable[["Clause"], None] | None = None


class FilterCrash(Exception):
    """A filter MLflow does not reject but crashes on (an unhandled error, HTTP 500 HTML)."""


# ---------------------------------------------------------------------------------------------
# Identifiers


def _is_quoted(text: str, quote: str) -> bool:
    return len(text) >= 2 and text[0] == quote and text[-1] == quote


def _trim_backticks(text: str) -> str:
    return text[1:-1] if _is_quoted(text, "`") else text


def _strip_quotes(text: str, required: bool = False) -> str:
    if _is_quoted(text, "'") or _is_quoted(text, '"'):
        return text[1:-1]
    if required:
        raise invalid(
            "Parameter value is either not quoted or unidentified quote types used for string "
            f"value {text}. Use either single or double quotes."
        )
    return text


def parse_identifier(grammar: Grammar, text: str, valid_attributes: tuple[str, ...]) -> tuple[str, str]:
    """``[entity.]key`` -> (canonical entity, key), validating the entity and attribute keys."""
    if "." in text:
        prefix, key = text.split(".", 1)
        if grammar.trim_entity_backticks:
            prefix = _trim_backticks(prefix)
        if prefix not in grammar.entity_aliases:
            raise invalid(grammar.unknown_entity(prefix))
        entity = grammar.entity_aliases[prefix]
    else:
        entity, key = ATTRIBUTE, text
    key = _trim_backticks(_strip_quotes(key))
    if entity == ATTRIBUTE and key not in valid_attributes:
        raise invalid(
            f"Invalid attribute key '{key}' specified. Valid keys are '{set_repr(valid_attributes)}'"
        )
    if entity == DATASET and key not in grammar.dataset_keys:
        raise invalid(
            f"Invalid dataset key '{key}' specified. Valid keys are '{set_repr(grammar.dataset_keys)}'"
        )
    return entity, key


# ---------------------------------------------------------------------------------------------
# Values


def _is_stringish(tok: Tok) -> bool:
    return tok.kind in (Kind.STRING, Kind.IDENTIFIER)


def parse_list(tok: Tok) -> tuple:
    """Read a parenthesised list of quoted strings as a Python tuple literal, like MLflow."""
    try:
        parsed = ast.literal_eval(tok.text)
    except SyntaxError as exc:
        raise invalid(
            "While parsing a list in the query, expected a non-empty list of string values, "
            "but got ill-formed list."
        ) from exc
    except (ValueError, TypeError) as exc:
        # MLflow lets this escape as an unhandled exception (HTTP 500).
        raise MlflowError(str(exc), "INTERNAL_ERROR") from exc
    values = parsed if isinstance(parsed, tuple) else (parsed,)
    if not values:
        raise invalid(
            "While parsing a list in the query, expected a non-empty list of string values, "
            "but got empty list"
        )
    if not all(isinstance(v, str) for v in values):
        raise invalid(
            "While parsing a list in the query, expected string value, punctuation, or "
            f"whitespace, but got different type in list: {values!r}"
        )
    return values


def _numeric(tok: Tok) -> bool:
    return tok.kind in (Kind.INT, Kind.FLOAT)


def parse_value(grammar: Grammar, entity: str, key: str, tok: Tok) -> Value:
    if entity == METRIC:
        if not _numeric(tok):
            raise invalid(f"Expected numeric value type for metric. Found {tok.text}")
        return tok.text
    if entity in (PARAM, TAG):
        if _is_stringish(tok):
            return _strip_quotes(tok.text, required=True)
        raise invalid(
            f"Expected a quoted string value for {entity} (e.g. 'my-value'). Got value {tok.text}"
        )
    if entity == ATTRIBUTE and grammar.attribute_value is not None:
        return grammar.attribute_value(grammar, key, tok)
    if entity == ATTRIBUTE:
        if key in grammar.numeric_attributes:
            if not _numeric(tok):
                raise invalid(
                    f"Expected numeric value type for numeric attribute: {key}. Found {tok.text}"
                )
            return int(tok.text) if tok.kind is Kind.INT else float(tok.text)
        if _is_stringish(tok):
            return _strip_quotes(tok.text, required=True)
        if tok.kind is Kind.PAREN:
            if key not in grammar.list_attributes:
                raise invalid(
                    f"Only {sorted(grammar.list_attributes)} attributes support comparison with a "
                    "list of quoted string values."
                )
            return parse_list(tok)
        raise invalid(f"Expected a quoted string value for attributes. Got value {tok.text}")
    if entity == DATASET:
        if _is_stringish(tok):
            return _strip_quotes(tok.text, required=True)
        if tok.kind is Kind.PAREN:
            return parse_list(tok)
        raise invalid(f"Expected a quoted string value for dataset attributes. Got value {tok.text}")
    raise invalid(f"Invalid identifier type. Expected one of {[METRIC, PARAM]}.")


# ---------------------------------------------------------------------------------------------
# Filters


def _clause(grammar: Grammar, tok: Tok) -> Clause:
    parts = tok.parts
    if parts[0].kind is not Kind.IDENTIFIER:
        raise invalid(f"Invalid comparison clause. Expected 'Identifier' found '{parts[0].text}'")
    if len(parts) == 2 and grammar.null_crashes:
        raise FilterCrash(f"cannot unpack {tok.text!r}")
    if grammar.check_raw_attribute_key:
        _check_raw_attribute_key(grammar, parts[0].text)
    identifier = grammar.identifier or parse_identifier
    if len(parts) == 2:  # IS NULL / IS NOT NULL
        entity, key = identifier(grammar, parts[0].text, grammar.attribute_keys)
        if entity not in grammar.null_entities:
            raise invalid(grammar.null_error(entity, key))
        return Clause(entity, key, parts[1].text, None)
    entity, key = identifier(grammar, parts[0].text, grammar.attribute_keys)
    clause = Clause(entity, key, parts[1].text, parse_value(grammar, entity, key, parts[2]))
    if grammar.check_clause is not None:
        grammar.check_clause(clause)
    return clause


def _check_raw_attribute_key(grammar: Grammar, text: str) -> None:
    key = text
    if "." in text:
        prefix, key = text.split(".", 1)
        if grammar.entity_aliases.get(prefix) != ATTRIBUTE:
            return
    if key not in grammar.attribute_keys:
        raise invalid(
            f"Invalid attribute key '{key}' specified. Valid keys are '{set_repr(grammar.attribute_keys)}'"
        )


def _memoised(parse: Callable[[Grammar, Any], Any]) -> Callable[[Grammar, Any], Any]:
    """Parsing is pure and clients repeat the same filters: remember the last few hundred.

    Grammars are module-level constants, so their identity is a safe part of the key. Errors
    are not remembered (they are raised afresh, identically).
    """
    cache: dict[tuple[int, Any], Any] = {}

    def cached(grammar: Grammar, text: Any) -> Any:
        key = (id(grammar), text)
        try:
            return cache[key]
        except KeyError:
            pass
        result = parse(grammar, text)
        if len(cache) >= 512:
            cache.clear()
        cache[key] = result
        return result

    cached.__doc__ = parse.__doc__
    cached.__wrapped__ = parse  # type: ignore[attr-defined]
    return cached


def single_statement(filter_string: str) -> list[Tok]:
    """The grouped tokens of a filter's one statement, or MLflow's error for a blank filter
    or for several statements (every search parses its filter this far alike)."""
    tokens = lex(filter_string)
    if all(t.kind is Kind.WS for t in tokens):
        raise invalid(f"Invalid filter '{filter_string}'. Could not be parsed.")
    statements = split_statements(tokens)
    if len(statements) > 1:
        raise invalid(
            f"Search filter contained multiple expression {filter_string!r}. "
            "Provide AND-ed expression list."
        )
    return group(statements[0])


@_memoised
def parse_filter(grammar: Grammar, filter_string: str | None) -> tuple[Clause, ...]:
    """Parse an AND-only filter into clauses (empty/None -> no clauses)."""
    if not filter_string:
        return ()
    tokens = join_special_comparisons(single_statement(filter_string))
    bad = [t for t in tokens if t.kind is not Kind.COMPARE and not t.is_keyword("AND")]
    if bad:
        if grammar.quote_invalid_clauses:
            listed = ", ".join(f"'{t.text}'" for t in bad)
        else:
            listed = ", ".join(t.text for t in bad)
        raise invalid(f"Invalid clause(s) in filter string: {listed}")
    return tuple(_clause(grammar, t) for t in tokens if t.kind is Kind.COMPARE)


# ---------------------------------------------------------------------------------------------
# order_by


def _order_by_is_single_identifier(text: str) -> bool:
    """Whether the SQL grouper sees exactly one identifier (which absorbs ASC/DESC or an alias)."""
    tokens = group(lex(text))
    return len(tokens) == 1 and tokens[0].kind is Kind.IDENTIFIER


def _is_timestamp_order(text: str) -> bool:
    """``timestamp`` lexes as a SQL builtin, which MLflow special-cases (registered models)."""
    tokens = lex(text)
    if not tokens or tokens[0].text != "timestamp":
        return False
    rest = tokens[1:]
    return len(rest) == 0 or (
        len(rest) == 2 and rest[0].kind is Kind.WS and rest[1].is_keyword("ASC", "DESC")
    )


def split_order_by(text: str) -> tuple[str, bool]:
    """``"<identifier> [ASC|DESC]"`` -> (identifier text without quoting, ascending)."""
    if _is_timestamp_order(text):
        words = text.split()
        return "timestamp", len(words) == 1 or words[1].lower() == "asc"
    if not _order_by_is_single_identifier(text):
        raise invalid(f"Invalid order_by clause '{text}'. Could not be parsed.")
    try:
        words = shlex.split(text.replace("`", '"'))
    except ValueError:
        raise invalid(f"Invalid order_by clause '{text}'. Could not be parsed.") from None
    if len(words) > 2 or not words:
        raise invalid(f"Invalid order_by clause '{text}'. Could not be parsed.")
    ascending = True
    if len(words) == 1:
        return text, True  # MLflow keeps the raw text (quotes included) for a bare identifier
    if len(words) == 2:
        direction = words[1].lower()
        if direction not in ("asc", "desc"):
            raise invalid(f"Invalid ordering key in order_by clause '{text}'.")
        ascending = direction == "asc"
    return words[0], ascending


@_memoised
def parse_order_by(grammar: Grammar, text: str) -> OrderKey:
    identifier, ascending = split_order_by(text)
    read = grammar.identifier or parse_identifier
    entity, key = read(grammar, identifier.strip(), grammar.order_by_attribute_keys)
    return OrderKey(entity, key, ascending)
