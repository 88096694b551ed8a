"""Search of registered models and model versions, as MLflow 3.17.2's SQL registry answers it.

Both kinds share the filter language (``filter.py``) through their own ``Grammar``. What is
peculiar to them and kept here: attribute keys are checked before quotes are removed; values of
attributes are strings or lists (numbers only for version numbers); comparators are upper-cased;
``IS NULL`` crashes the server; prompts are hidden unless the filter asks for them; order_by
keys and tie-breakers; a page of ``max_results + 1`` rows decides the next token, with SQLite's
reading of a negative LIMIT (no limit) and OFFSET (zero).
"""

from __future__ import annotations

from typing import Any, Callable, Iterable, Sequence

from fakeflow.search.compare import compare
from fakeflow.search.filter import (
    ATTRIBUTE,
    TAG,
    Clause,
    FilterCrash,
    Grammar,
    _is_stringish,
    _numeric,
    _strip_quotes,
    parse_filter,
    parse_identifier,
    parse_list,
    set_repr,
    split_order_by,
)
from fakeflow.search.lexer import Kind, Tok
from fakeflow.search.paging import decode_offset_token, encode_offset_token
from fakeflow.state.errors import INTERNAL_ERROR, MlflowError, invalid
from fakeflow.state.registry_entities import IS_PROMPT_TAG, ModelVersion, RegisteredModel

_ENTITIES = {"attribute": ATTRIBUTE, "tag": TAG, "tags": TAG}
_MV_NUMERIC = frozenset({"version_number", "creation_timestamp", "last_updated_timestamp"})


def _unknown_entity(prefix: str) -> str:
    return f"Invalid entity type '{prefix}'. Valid entity types are ('attribute', 'tag', 'tags')"


def _attribute_value(numeric_keys: frozenset[str]) -> Callable[[Grammar, str, Tok], Any]:
    def read(grammar: Grammar, key: str, tok: Tok) -> Any:
        if _is_stringish(tok):
            return _strip_quotes(tok.text, required=True)
        if tok.kind is Kind.PAREN:
            if key not in grammar.list_attributes:
                raise invalid(
                    f"Only {sorted(grammar.list_attributes)} attributes support comparison with a "
                    "list of quoted string values."
                )
            return parse_list(tok)
        if _numeric(tok) and numeric_keys:
            if key not in numeric_keys:
                raise invalid(
                    f"Only the '{set_repr(numeric_keys)}' attributes support comparison with "
                    "numeric values."
                )
            return int(tok.text) if tok.kind is Kind.INT else float(tok.text)
        raise invalid(
            "Expected a quoted string value or a list of quoted string values for attributes. "
            f"Got value {tok.text}"
        )

    return read


def _grammar(keys: tuple[str, ...], lists: tuple[str, ...], numeric: frozenset[str]) -> Grammar:
    return Grammar(
        entity_aliases=_ENTITIES,
        unknown_entity=_unknown_entity,
        trim_entity_backticks=False,
        attribute_keys=keys,
        order_by_attribute_keys=keys,
        numeric_attributes=frozenset(),
        list_attributes=lists,
        quote_invalid_clauses=False,
        null_entities=frozenset(),
        check_raw_attribute_key=True,
        null_crashes=True,
        attribute_value=_attribute_value(numeric),
    )


MODEL_GRAMMAR = _grammar(("name",), ("name",), frozenset())
VERSION_GRAMMAR = _grammar(
    ("name", "version_number", "run_id", "source_path"), ("name", "run_id"), _MV_NUMERIC
)
VERSION_ORDER_GRAMMAR = Grammar(
    entity_aliases=_ENTITIES,
    unknown_entity=_unknown_entity,
    trim_entity_backticks=False,
    attribute_keys=("name", "version_number", "creation_timestamp", "last_updated_timestamp"),
    order_by_attribute_keys=("name", "version_number", "creation_timestamp", "last_updated_timestamp"),
    numeric_attributes=frozenset(),
    list_attributes=(),
)

_TAG_OPS = ("=", "!=", "LIKE", "ILIKE")
_STRING_OPS = ("=", "!=", "LIKE", "ILIKE", "IN", "NOT IN")
_NUMERIC_OPS = (">", ">=", "!=", "=", "<", "<=")


# ---- filters ---------------------------------------------------------------------------------

def _querying_prompts(clauses: Sequence[Clause]) -> bool:
    """MLflow looks at the first condition on the prompt tag only."""
    for c in clauses:
        if c.entity == TAG and c.key == IS_PROMPT_TAG:
            value = str(c.value).lower()
            op = c.comparator.upper()
            return (op == "=" and value == "true") or (op == "!=" and value == "false")
    return False


def _tag_matcher(clause: Clause, tags_of: Callable[[Any], dict[str, str]]) -> Callable[[Any], bool]:
    op = clause.comparator.upper()
    if op not in _TAG_OPS:
        raise invalid(f"Invalid comparator for tag: {op}")
    key, value = clause.key, clause.value
    return lambda entity: compare(tags_of(entity).get(key), op, value)


def _model_matchers(clauses: Sequence[Clause], prompts: bool) -> list[Callable[[RegisteredModel], bool]]:
    matchers = []
    for c in clauses:
        op = c.comparator.upper()
        if c.entity == ATTRIBUTE:
            if op not in _STRING_OPS:
                raise invalid(f"Invalid comparator for attribute: {op}")
            matchers.append(lambda m, op=op, value=c.value: compare(m.name, op, value))
            continue
        matcher = _tag_matcher(c, lambda m: m.tags)  # the comparator is checked either way
        if prompts or c.key != IS_PROMPT_TAG:
            matchers.append(matcher)
    return matchers


def _version_attribute(c: Clause) -> Callable[[ModelVersion], bool]:
    op, key, value = c.comparator.upper(), c.key, c.value
    if key == "version_number":
        if op not in _NUMERIC_OPS:
            raise invalid(f"Invalid comparator for attribute {key}: {op}")
        if isinstance(value, float):
            raise invalid(f"Invalid value for numeric attribute '{key}': {value!r}")
        try:
            number = int(value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise invalid(f"Invalid value for numeric attribute '{key}': {value!r}") from None
        return lambda mv: compare(mv.version, op, number)
    if op not in _STRING_OPS or (op in ("IN", "NOT IN") and key not in ("run_id", "name")):
        raise invalid(f"Invalid comparator for attribute: {op}")
    field = "source" if key == "source_path" else key
    return lambda mv: compare(getattr(mv, field), op, value)


# ---- ordering --------------------------------------------------------------------------------

def _duplicate(order_by: Sequence[str]) -> MlflowError:
    return MlflowError(f"`order_by` contains duplicate fields: {list(order_by)!r}", INTERNAL_ERROR)


def _model_order(order_by: Sequence[str] | None) -> list[tuple[str, bool]]:
    keys: list[tuple[str, bool]] = []
    for text in order_by or ():
        token, ascending = split_order_by(text)
        token = token.strip()
        if token not in ("name", "timestamp", "last_updated_timestamp"):
            raise invalid(
                f"Invalid order by key '{token}' specified. Valid keys are "
                f"'{set_repr(('name', 'timestamp'))}'"
            )
        field = "name" if token == "name" else "last_updated_timestamp"
        if any(f == field for f, _ in keys):
            raise _duplicate(order_by or ())
        keys.append((field, ascending))
    if not any(f == "name" for f, _ in keys):
        keys.append(("name", True))
    return keys


_VERSION_FIELDS = {
    "name": "name",
    "version_number": "version",
    "creation_timestamp": "creation_timestamp",
    "last_updated_timestamp": "last_updated_timestamp",
}
_DEFAULT_VERSION_ORDER = ("last_updated_timestamp DESC", "name ASC", "version_number DESC")


def _version_order(order_by: Sequence[str] | None) -> list[tuple[str, bool]]:
    given = list(order_by or _DEFAULT_VERSION_ORDER)
    keys: list[tuple[str, bool]] = []
    for text in given:
        token, ascending = split_order_by(text)
        _, key = parse_identifier(VERSION_ORDER_GRAMMAR, token.strip(), VERSION_ORDER_GRAMMAR.order_by_attribute_keys)
        if key not in _VERSION_FIELDS:
            raise invalid(
                f"Invalid order by key '{key}' specified. Valid keys are "
                f"{set_repr(_VERSION_FIELDS)}"
            )
        field = _VERSION_FIELDS[key]
        if any(f == field for f, _ in keys):
            raise _duplicate(given)
        keys.append((field, ascending))
    if not any(f == "name" for f, _ in keys):
        keys.append(("name", True))
    if not any(f == "version" for f, _ in keys):
        keys.append(("version", False))
    return keys


def _sorted(items: list[Any], keys: list[tuple[str, bool]]) -> list[Any]:
    ordered = list(items)
    for field, ascending in reversed(keys):
        ordered.sort(key=lambda item: getattr(item, field), reverse=not ascending)
    return ordered


# ---- unhandled errors ------------------------------------------------------------------------

def _unhandled_as_crash(read: Callable[..., Any], *args: Any) -> Any:
    """The registry reads filters and page tokens outside its error handling: MLflow's
    internal errors there become its HTML error page, not a JSON INTERNAL_ERROR."""
    try:
        return read(*args)
    except MlflowError as error:
        if error.error_code == INTERNAL_ERROR:
            raise FilterCrash(error.message) from None
        raise


# ---- paging ----------------------------------------------------------------------------------

def _page(rows: list[Any], offset: int, max_results: int) -> tuple[list[Any], str | None]:
    """SQL ``LIMIT max_results + 1 OFFSET offset``, then the first ``max_results`` rows."""
    rows = rows[max(offset, 0):]
    limit = max_results + 1
    fetched = rows if limit < 0 else rows[:limit]
    token = encode_offset_token(offset + max_results) if len(fetched) == limit else None
    return fetched[:max_results], token


# ---- the two searches ------------------------------------------------------------------------

def search_registered_models(
    models: Iterable[RegisteredModel],
    filter_string: str | None,
    max_results: int,
    order_by: Sequence[str] | None,
    page_token: str | None,
) -> tuple[list[RegisteredModel], str | None]:
    if max_results > 1000:
        raise invalid(
            "Invalid value for request parameter max_results. It must be at most 1000, but got "
            f"value {max_results}"
        )
    clauses = _unhandled_as_crash(parse_filter, MODEL_GRAMMAR, filter_string)
    keys = _model_order(order_by)
    offset = _unhandled_as_crash(decode_offset_token, page_token) if page_token else 0
    prompts = _querying_prompts(clauses)
    matchers = _model_matchers(clauses, prompts)
    selected = [
        m for m in models
        if (prompts or m.tags.get(IS_PROMPT_TAG) != "true") and all(f(m) for f in matchers)
    ]
    return _page(_sorted(selected, keys), offset, max_results)


def search_model_versions(
    models: Iterable[RegisteredModel],
    filter_string: str | None,
    max_results: int,
    order_by: Sequence[str] | None,
    page_token: str | None,
) -> tuple[list[ModelVersion], str | None]:
    if max_results < 1:
        raise invalid(
            f"Invalid value for max_results. It must be a positive integer, but got {max_results}"
        )
    if max_results > 200_000:
        raise invalid(
            "Invalid value for request parameter max_results. It must be at most 200000, but got "
            f"value {max_results}"
        )
    clauses = _unhandled_as_crash(parse_filter, VERSION_GRAMMAR, filter_string)
    prompts = _querying_prompts(clauses)
    matchers: list[Callable[[ModelVersion], bool]] = []
    for c in clauses:
        if c.entity == ATTRIBUTE:
            matchers.append(_version_attribute(c))
        else:
            matcher = _tag_matcher(c, lambda mv: mv.tags)  # the comparator is checked either way
            if prompts or c.key != IS_PROMPT_TAG:
                matchers.append(matcher)
    keys = _version_order(order_by)
    offset = _unhandled_as_crash(decode_offset_token, page_token) if page_token else 0
    models = list(models)
    # A name is hidden as a prompt when any of its versions (deleted ones too) is tagged so.
    prompt_names = set() if prompts else {
        m.name for m in models
        if any(mv.tags.get(IS_PROMPT_TAG) == "true" for mv in m.versions.values())
    }
    selected = [
        mv for m in models if m.name not in prompt_names
        for mv in m.versions.values()
        if not mv.deleted and all(f(mv) for f in matchers)
    ]
    return _page(_sorted(selected, keys), offset, max_results)
