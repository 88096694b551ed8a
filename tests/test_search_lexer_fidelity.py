"""fakeflow's filter lexer against the SQL lexer MLflow 3.17.2 parses filters with (sqlparse).

MLflow's error messages quote whatever sqlparse produced, so our lexer must split every string
the same way. sqlparse comes with the MLflow client the test extra installs; it is not a runtime
dependency of fakeflow (see ``fakeflow/search/lexer.py`` for why we keep our own lexer).
Inputs: filters from the search grammar, and arbitrary text over SQL's punctuation and words.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fakeflow.search.lexer import Kind, group, lex, split_statements
from tests.support import search_grammar as g
from tests.test_search_grammar_differential import EXPERIMENTS, REGISTRY, RUNS

sqlparse = pytest.importorskip("sqlparse")
from sqlparse import tokens as T  # noqa: E402
from sqlparse.lexer import Lexer  # noqa: E402


def _kind(ttype: object) -> str:
    """Our kind for one of sqlparse's token types."""
    table = [
        (T.Text.Whitespace, "ws"), (T.Newline, "ws"),
        (T.Name.Builtin, Kind.BUILTIN.value), (T.Name.Placeholder, Kind.PLACEHOLDER.value),
        (T.Name, Kind.NAME.value),
        (T.Keyword.DML, Kind.DML.value), (T.Keyword, Kind.KEYWORD.value),
        (T.String.Single, Kind.STRING.value), (T.String.Symbol, Kind.SYMBOL.value),
        (T.Number.Hexadecimal, Kind.HEX.value), (T.Number.Float, Kind.FLOAT.value),
        (T.Number.Integer, Kind.INT.value), (T.Operator.Comparison, Kind.COMPARISON.value),
        (T.Punctuation, Kind.PUNCT.value), (T.Operator, Kind.OPERATOR.value),
        (T.Wildcard, Kind.OPERATOR.value),
    ]
    for parent, kind in table:
        if ttype in parent:
            return kind
    return Kind.OTHER.value


def _merge_blanks(tokens: list[tuple[str, str]]) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for kind, text in tokens:
        if kind == "ws" and out and out[-1][0] == "ws":
            out[-1] = ("ws", out[-1][1] + text)
        else:
            out.append((kind, text))
    return out


def theirs(text: str) -> list[tuple[str, str]]:
    return _merge_blanks([(_kind(t), v) for t, v in Lexer.get_default_instance().get_tokens(text)])


def ours(text: str) -> list[tuple[str, str]]:
    kinds = [("ws" if t.kind is Kind.WS else t.kind.value, t.text) for t in lex(text)]
    return _merge_blanks(kinds)


_WORDS = ["name", "left", "None", "data", "ORDER BY", "GROUP  BY", "IS", "NOT", "NULL", "JOIN",
          "LEFT OUTER JOIN", "string", "timestamp", "version", "x1", "1x", "ü", "Ärger", "AND",
          "like", "NOT ILIKE", "asc", "DESC", "nulls first", "select", "commit", "div", "end if"]
_BITS = ["'", '"', "`", "(", ")", ",", ".", ";", "=", "!=", "<=", ">", "%", "-", "+", "*", "?",
         ":x", "$1", "@a", "#b", "\\", "[x]", "a.b", "1.5", ".5", "5.", "1e3", "-2", "0x1F", " ",
         "  ", "\n", "''", '""', "'a'", '"a b"', "`k k`", "NaN", "inf", "--", "/*", "*/"]


def _text() -> st.SearchStrategy[str]:
    return st.lists(st.sampled_from(_WORDS + _BITS), max_size=10).map(" ".join) | \
        st.lists(st.sampled_from(_WORDS + _BITS), max_size=10).map("".join)


@settings(max_examples=600, deadline=None)
@given(text=st.one_of(g.filter_string(RUNS), g.filter_string(EXPERIMENTS),
                      g.filter_string(REGISTRY), _text()))
def test_filters_lex_as_sqlparse_lexes_them(text: str | None) -> None:
    text = text or ""
    assert ours(text) == theirs(text)


@pytest.mark.parametrize("text, kinds", [
    # Reserved words of sqlparse's dictionaries are keywords, not names: MLflow then cannot
    # group "params.p LIKE None" into a comparison and lists its pieces as invalid clauses.
    ("None", ["keyword"]), ("left", ["keyword"]), ("data", ["keyword"]), ("string", ["builtin"]),
    ("lefty", ["name"]), ("tags.left", ["name", "punct", "name"]),
])
def test_reserved_words(text: str, kinds: list[str]) -> None:
    assert [kind for kind, _ in ours(text)] == kinds


_GROUPS = {"Identifier": Kind.IDENTIFIER.value, "Comparison": Kind.COMPARE.value,
           "Parenthesis": Kind.PAREN.value, "Function": Kind.FUNCTION.value,
           "IdentifierList": Kind.LIST.value, "Operation": Kind.OPERATION.value,
           "SquareBrackets": Kind.BRACKETS.value}


def grouped_theirs(text: str) -> list[tuple[str, str]]:
    """The first statement's top-level tokens after sqlparse's grouping (what MLflow walks)."""
    statements = sqlparse.parse(text)
    if not statements:
        return []
    return [(_GROUPS.get(type(t).__name__, type(t).__name__) if t.is_group else _kind(t.ttype), str(t))
            for t in statements[0].tokens if not t.is_whitespace]


def grouped_ours(text: str) -> list[tuple[str, str]]:
    return [(t.kind.value, t.text) for t in group(split_statements(lex(text))[0])
            if t.kind is not Kind.WS]


@settings(max_examples=600, deadline=None)
@given(text=st.one_of(g.filter_string(RUNS), g.filter_string(EXPERIMENTS), g.filter_string(REGISTRY)))
def test_filters_group_as_sqlparse_groups_them(text: str | None) -> None:
    # Grammar filters only: arbitrary text reaches sqlparse groupings a filter never needs
    # (square brackets, CASE, aliases after NULLS FIRST); those are not modelled.
    text = text or ""
    assert grouped_ours(text) == grouped_theirs(text)


@pytest.mark.parametrize("text, expected", [
    # Comparisons chain to the left: the glued "1ANDb" makes one comparison of the rest.
    ("a > 1ANDb > 2", [("compare", "a > 1ANDb > 2")]),
    ("a>1>2>3", [("compare", "a>1>2>3")]),
    ("a = 1 AND b = 2", [("compare", "a = 1"), ("keyword", "AND"), ("compare", "b = 2")]),
])
def test_chained_comparisons(text: str, expected: list[tuple[str, str]]) -> None:
    assert grouped_ours(text) == expected == grouped_theirs(text)


_FILTERISH = ["[", "]", "[]", "[x]", "a", "tags", ".", "b", "=", "!=", "1", "'v'", '"s"', "`k`", "AND",
              "IN", "IS", "NULL", "NOT", "LIKE", " ", "(", ")", "f", ",", "+", "-", "*", "?", "ASC",
              "DESC", "NULLS", "WITH", "select"]


@settings(max_examples=600, deadline=None)
@given(text=st.lists(st.sampled_from(_FILTERISH), min_size=1, max_size=9).map("".join))
def test_filter_shaped_text_groups_as_sqlparse_groups_it(text: str) -> None:
    # What a caller may type where a filter is expected, brackets and stray operators included:
    # MLflow quotes these groups back in its "Invalid clause(s)" messages.
    assert grouped_ours(text) == grouped_theirs(text)


@pytest.mark.parametrize("text, expected", [
    ("[]", [("brackets", "[]")]),
    ("a[1].b", [("identifier", "a[1].b")]),  # "[1].b" is dotted, then "a" takes it as an alias
    ("a..b", [("identifier", "a..b")]),
    ("a.'x'.b", [("identifier", "a.'x'"), ("punct", "."), ("identifier", "b")]),
    ("-,+", [("operator", "-"), ("punct", ","), ("operator", "+")]),
])
def test_brackets_periods_and_lists(text: str, expected: list[tuple[str, str]]) -> None:
    assert grouped_ours(text) == expected == grouped_theirs(text)
