"""Hypothesis strategies for MLflow's search language, valid and invalid.

Filters are built from the grammar (``clause (AND clause)*``, a clause being ``identifier
comparator value`` or ``identifier IS [NOT] NULL``) with each piece drawn from what MLflow accepts
plus near misses: every prefix and alias, every attribute, each comparator (and wrong casings),
the three quotings, keys with spaces and dots, numbers written as strings, ``NaN``/``inf``, lists,
and broken joins (``OR``, parentheses, trailing ``AND``, ``;``). ``${name}`` placeholders stand
for ids that differ between servers and are substituted per server.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass

from hypothesis import strategies as st


@dataclass(frozen=True)
class Vocabulary:
    """What one entity's searches can name."""

    prefixes: dict[str, tuple[str, ...]]  # entity kind -> prefixes (with the dot), "" = bare
    keys: dict[str, tuple[str, ...]]  # entity kind -> keys
    strings: tuple[str, ...]  # string values seen in the data (quoted later)
    numbers: tuple[str, ...]  # numeric literals as written
    order_keys: tuple[str, ...]  # identifiers for order_by, prefix included


_BAD_PREFIXES = ("metricz.", "Metrics.", "`metrics`.", "x.", "tags ."," .", "`tags`.")
COMPARATORS = ("=", "!=", "<", "<=", ">", ">=", "LIKE", "ILIKE", "IN", "NOT IN")
_BAD_COMPARATORS = ("like", "ilike", "in", "not in", "==", "<>", "NOT LIKE", "~", "=!", "Like")
_NULLS = ("IS NULL", "IS NOT NULL", "is null", "IS  NOT NULL", "IS NOT  NULL")
_NUMBERS = ("0", "1", "-1", "2.5", "1e3", "-1.5e-2", ".5", "5.", "0x1F", "NaN", "inf", "-inf",
            "'1'", "'NaN'", "'inf'", "1.0", "100000000000000", "0.5")
_WORDS = ("abc", "NULL", "TRUE", "None", "x y", "left", "string", "data", "?", ":x", "%s",
          "[x]", "1 1", "'a' 'b'", "'a''b'", "NOT NULL", "'it\\'s'", "\"\"", "''")
_JOINS = (" AND ", " and ", " And ", "  AND  ", " OR ", " AND NOT ", ", ", "AND", " AND\n")


def _quote(text: str) -> st.SearchStrategy[str]:
    return st.sampled_from([text, f"`{text}`", f'"{text}"', f"'{text}'"])


@st.composite
def identifier(draw: st.DrawFn, vocab: Vocabulary) -> str:
    kind = draw(st.sampled_from(sorted(vocab.keys)))
    prefixes = vocab.prefixes[kind] + (draw(st.sampled_from(_BAD_PREFIXES)),)
    prefix = draw(st.sampled_from(prefixes))
    key = draw(st.sampled_from(vocab.keys[kind] + ("nokey",)))
    if " " in key or "." in key or not key.isascii():
        quoted = draw(st.sampled_from([f"`{key}`", f'"{key}"', f"'{key}'", key]))
    else:
        quoted = draw(st.one_of(st.just(key), _quote(key)))
    return prefix + quoted


@st.composite
def value(draw: st.DrawFn, vocab: Vocabulary) -> str:
    pick = draw(st.integers(0, 9))
    if pick <= 2:
        return draw(st.sampled_from(vocab.numbers + _NUMBERS))
    if pick <= 6:
        # Patterns use letters that are not hex digits: run ids are random on each server.
        text = draw(st.sampled_from(vocab.strings + ("%", "%t%", "_", "R%", "%l%", "")))
        return draw(st.sampled_from([f"'{text}'", f'"{text}"', f"'{text}'"]))
    if pick == 7:
        items = draw(st.lists(st.sampled_from(vocab.strings), min_size=1, max_size=3))
        style = draw(st.integers(0, 4))
        if style == 0:
            return "(" + ", ".join(f"'{i}'" for i in items) + ")"
        if style == 1:
            return "(" + ",".join(f'"{i}"' for i in items) + ")"
        if style == 2:
            return "()"
        if style == 3:
            return "(1, 2)"
        return "('" + items[0] + "',)"
    if pick == 8:
        return draw(st.sampled_from(_WORDS))
    return f"`{draw(st.sampled_from(vocab.strings))}`"


@st.composite
def clause(draw: st.DrawFn, vocab: Vocabulary) -> str:
    ident = draw(identifier(vocab))
    if draw(st.integers(0, 7)) == 0:
        return f"{ident} {draw(st.sampled_from(_NULLS))}"
    ops = COMPARATORS + (draw(st.sampled_from(_BAD_COMPARATORS)),)
    op = draw(st.sampled_from(ops))
    space = draw(st.sampled_from([" ", " ", "", "  "])) if op[0] in "=!<>" else " "
    return f"{ident}{space}{op}{space}{draw(value(vocab))}"


@st.composite
def filter_string(draw: st.DrawFn, vocab: Vocabulary) -> str | None:
    shape = draw(st.integers(0, 19))
    if shape == 0:
        return draw(st.sampled_from([None, "", " ", ";", "()", "AND", "'x'", "1 = 1", "[]", "a[1] = 2"]))
    clauses = draw(st.lists(clause(vocab), min_size=1, max_size=3))
    text = clauses[0]
    for c in clauses[1:]:
        join = " AND " if draw(st.integers(0, 3)) else draw(st.sampled_from(_JOINS))
        text += join + c
    if shape == 1:
        text = f"({text})"
    elif shape == 2:
        text += draw(st.sampled_from([" AND", " AND ", ";", " ;", "; x = 'y'", " OR", ")", " AND []",
                                      "[1]", " AND [x].y = 1"]))
    elif shape == 3:
        text = draw(st.sampled_from(["AND ", "NOT ", " ", "("])) + text
    return text


@st.composite
def order_by(draw: st.DrawFn, vocab: Vocabulary) -> list[str] | None:
    if draw(st.integers(0, 4)) == 0:
        return draw(st.sampled_from([None, [], [""], ["metrics.m1, params.p1"], ["x DESC ASC"]]))
    terms = []
    for _ in range(draw(st.integers(1, 3))):
        key = draw(st.sampled_from(vocab.order_keys + ("nokey", "tags.`a b`", "metrics.`m1`")))
        direction = draw(st.sampled_from(["", "", " ASC", " DESC", " asc", " desc", " DOWN"]))
        terms.append(key + direction)
    return terms


def offset_token(offset: int) -> str:
    return base64.b64encode(json.dumps({"offset": offset}).encode()).decode()


def page_token() -> st.SearchStrategy[str | None]:
    return st.one_of(
        st.none(), st.none(), st.none(),
        st.integers(0, 8).map(offset_token),
        st.sampled_from(["", "abc", "e30=", "!!!", offset_token(-1)]),
    )
