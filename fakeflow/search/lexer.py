"""Tokenizer and grouper for MLflow's SQL-like filter and order_by strings.

MLflow parses these strings with a general SQL lexer and then inspects the grouped tokens, so
its error messages quote whatever that lexer produced ("Invalid clause(s) in filter string:
'OR'"). This module reproduces the lexing and grouping for the subset of SQL that can appear
in a search filter, so that the same inputs split into the same pieces.

Why not sqlparse itself: it would be a fourth runtime dependency, and a fake's answers must not
change with what else is installed. Our rules follow sqlparse 0.6.1's in order, and its
reserved-word lists are in ``sql_words``; ``tests/test_search_lexer_fidelity.py`` compares the
two lexers on generated filters and arbitrary SQL-ish text, and the grammar-driven differential
test compares whole answers with real MLflow. Lexing is also cheap here (and memoised).
"""

from __future__ import annotations

import re
from typing import Callable
from dataclasses import dataclass
from enum import Enum

from fakeflow.search import sql_words


class Kind(Enum):
    WS = "whitespace"
    NAME = "name"  # a bare or quoted name that will become (part of) an identifier
    PLACEHOLDER = "placeholder"  # ?, :x, $1, %s: an operand, but never an identifier
    BUILTIN = "builtin"  # names such as `timestamp` that SQL treats as a type/builtin
    KEYWORD = "keyword"
    STRING = "string"  # '...'
    SYMBOL = "symbol"  # "..." (a quoted name in SQL; MLflow also accepts it as a value)
    INT = "int"
    FLOAT = "float"
    HEX = "hex"
    COMPARISON = "comparison"
    PUNCT = "punct"
    OPERATOR = "operator"  # arithmetic-like operators and *
    DML = "dml"  # SELECT, INSERT, ...: keywords that never join a list
    OTHER = "other"
    OPERATION = "operation"  # x + y
    # Grouped kinds
    IDENTIFIER = "identifier"
    PAREN = "paren"
    BRACKETS = "brackets"  # [...] (never valid in a filter)
    FUNCTION = "function"
    COMPARE = "compare"  # a grouped comparison: parts = [left, operator, right] or [left, op]
    LIST = "list"  # comma-separated group (never valid in a filter)


@dataclass
class Tok:
    kind: Kind
    text: str
    parts: tuple["Tok", ...] = ()

    @property
    def upper(self) -> str:
        return self.text.upper()

    def is_keyword(self, *words: str) -> bool:
        return self.kind is Kind.KEYWORD and self.upper in words

    def __str__(self) -> str:
        return self.text


_LETTER = "A-Za-zÀ-Üà-ü"

# Bare words are names unless the SQL lexer's dictionaries reserve them (``sql_words``).
_DML = sql_words.DML
_KEYWORDS = (sql_words.KEYWORD - _DML) | frozenset("NOTNULL ISNULL ESCAPE".split())
_BUILTINS = sql_words.BUILTIN
_OPERATOR_WORDS = sql_words.OPERATOR

_RULES: list[tuple[re.Pattern[str], Kind | None]] = [
    (re.compile(r"(--|# ).*?(\r\n|\r|\n|$)"), Kind.OTHER),
    (re.compile(r"/\*[\s\S]*?\*/"), Kind.OTHER),
    (re.compile(r"\s+"), Kind.WS),
    (re.compile(r":=|::"), Kind.OTHER),
    (re.compile(r"\*"), Kind.OPERATOR),
    (re.compile(r"`(``|[^`])*`"), Kind.NAME),
    (re.compile(r"´(´´|[^´])*´"), Kind.NAME),
    (re.compile(r"\?"), Kind.PLACEHOLDER),
    (re.compile(r"%(\(\w+\))?s"), Kind.PLACEHOLDER),
    (re.compile(r"(?<!\w)[$:?]\w+"), Kind.PLACEHOLDER),
    (re.compile(r"\\\w+"), Kind.OTHER),
    (re.compile(r"(CASE|IN|VALUES|USING|FROM|AS)\b", re.I), Kind.KEYWORD),
    (re.compile(rf"(@|##|#)[{_LETTER}]\w+"), Kind.NAME),
    (re.compile(rf"[{_LETTER}]\w*(?=\s*\.(?!\d))"), Kind.NAME),
    (re.compile(rf"(?<=\.)[{_LETTER}]\w*"), Kind.NAME),
    (re.compile(rf"[{_LETTER}]\w*(?=\()"), Kind.NAME),
    (re.compile(r"-?0x[\dA-F]+", re.I), Kind.HEX),
    (re.compile(r"-?\d+(\.\d+)?E-?\d+", re.I), Kind.FLOAT),
    (re.compile(rf"(?![_{_LETTER}])-?(\d+(\.\d*)|\.\d+)(?![_{_LETTER}])"), Kind.FLOAT),
    (re.compile(rf"(?![_{_LETTER}])-?\d+(?![_{_LETTER}])"), Kind.INT),
    (re.compile(r"'(''|\\'|[^'])*'"), Kind.STRING),
    (re.compile(r'"(""|\\"|[^"])*"'), Kind.SYMBOL),
    (re.compile(r'(""|".*?[^\\]")'), Kind.SYMBOL),
    (re.compile(r"(?<![\w\])])(\[[^\]\[]+\])"), Kind.NAME),
    (re.compile(r"((LEFT\s+|RIGHT\s+|FULL\s+)?(INNER\s+|OUTER\s+|STRAIGHT\s+)?|(CROSS\s+|NATURAL\s+)?)?"
                r"JOIN\b", re.I), Kind.KEYWORD),
    (re.compile(r"END(\s+IF|\s+LOOP|\s+WHILE|\s+FOR|\s+CASE)?\b", re.I), Kind.KEYWORD),
    (re.compile(r"IF\s+(NOT\s+)?EXISTS\b", re.I), Kind.KEYWORD),
    (re.compile(r"NOT\s+NULL\b", re.I), Kind.KEYWORD),
    (re.compile(r"(ASC|DESC)(\s+NULLS\s+(FIRST|LAST))?\b", re.I), Kind.KEYWORD),
    (re.compile(r"NULLS\s+(FIRST|LAST)\b", re.I), Kind.KEYWORD),
    (re.compile(r"(UNION\s+ALL|GROUP\s+BY|ORDER\s+BY|PRIMARY\s+KEY|HANDLER\s+FOR|GO(\s\d+))\b", re.I),
     Kind.KEYWORD),
    (re.compile(r"CREATE(\s+OR\s+REPLACE)?\b", re.I), Kind.KEYWORD),
    (re.compile(r"DOUBLE\s+PRECISION\b", re.I), Kind.BUILTIN),
    (re.compile(r"(NOT\s+)?(LIKE|ILIKE|RLIKE)\b", re.I), Kind.COMPARISON),
    (re.compile(r"(NOT\s+)?(REGEXP)(\s+(BINARY))?\b", re.I), Kind.COMPARISON),
    (re.compile(r"\w[$#\w]*"), None),  # keyword or name, decided by lookup
    (re.compile(r"[;:()\[\],.]"), Kind.PUNCT),
    (re.compile(r"(->>?|#>>?|@>|<@|\?\|?|\?&|-|#-)"), Kind.OPERATOR),
    (re.compile(r"[<>=~!]+"), Kind.COMPARISON),
    (re.compile(r"[+/@#%^&|-]+"), Kind.OPERATOR),
]


def lex(text: str) -> list[Tok]:
    """Split ``text`` into flat tokens; never fails (unknown characters become OTHER)."""
    tokens: list[Tok] = []
    pos = 0
    while pos < len(text):
        for pattern, kind in _RULES:
            match = pattern.match(text, pos)
            if match and match.end() > pos:
                word = match.group()
                if kind is None:
                    if word.upper() in _DML:
                        kind = Kind.DML
                    elif word.upper() in _KEYWORDS:
                        kind = Kind.KEYWORD
                    elif word.upper() in _BUILTINS:
                        kind = Kind.BUILTIN
                    elif word.upper() in _OPERATOR_WORDS:
                        kind = Kind.OPERATOR
                    else:
                        kind = Kind.NAME
                tokens.append(Tok(kind, word))
                pos = match.end()
                break
        else:
            tokens.append(Tok(Kind.OTHER, text[pos]))
            pos += 1
    return tokens


def split_statements(tokens: list[Tok]) -> list[list[Tok]]:
    """Statements end after each ';'; a whitespace-only tail belongs to the last one."""
    statements: list[list[Tok]] = [[]]
    ended = False
    for tok in tokens:
        if ended and tok.kind is not Kind.WS:
            statements.append([])
            ended = False
        statements[-1].append(tok)
        if tok.kind is Kind.PUNCT and tok.text == ";":
            ended = True
    return statements


def _join(kind: Kind, parts: list[Tok]) -> Tok:
    return Tok(kind, "".join(p.text for p in parts), tuple(parts))


def _group_matching(tokens: list[Tok], opener: str, closer: str, kind: Kind) -> list[Tok]:
    """Group ``opener ... closer`` spans, innermost first; an unmatched closer stays as it is.

    As in the SQL grouper, square brackets are grouped before parentheses, and each pass looks
    inside the groups the other made (so ``[(x)]`` holds a parenthesis, and ``([)]`` groups
    ``[)]`` and leaves ``(`` open)."""
    out: list[Tok] = []
    stack: list[int] = []
    for tok in tokens:
        if tok.parts and tok.kind is not kind:
            tok = Tok(tok.kind, tok.text, tuple(_group_matching(list(tok.parts), opener, closer, kind)))
        out.append(tok)
        if tok.kind is Kind.PUNCT and tok.text == opener:
            stack.append(len(out) - 1)
        elif tok.kind is Kind.PUNCT and tok.text == closer and stack:
            start = stack.pop()
            group = _join(kind, out[start:])
            del out[start:]
            out.append(group)
    return out


def _group_functions(tokens: list[Tok]) -> list[Tok]:
    """A name followed (blanks allowed) by a parenthesis is a function call."""
    return _glue_to_previous(tokens, lambda t: t.kind is Kind.PAREN,
                             lambda t: t.kind in (Kind.NAME, Kind.PLACEHOLDER, Kind.BUILTIN),
                             Kind.FUNCTION)


def _next_solid(tokens: list[Tok], index: int) -> int | None:
    for i in range(index, len(tokens)):
        if tokens[i].kind is not Kind.WS:
            return i
    return None


def _prev_solid(tokens: list[Tok], index: int) -> int | None:
    for i in range(index, -1, -1):
        if tokens[i].kind is not Kind.WS:
            return i
    return None


def _glue_around(
    tokens: list[Tok],
    is_glue: Callable[[Tok], bool],
    is_operand: Callable[[Tok], bool],
    make: Callable[[list[Tok]], Tok],
    is_left_operand: Callable[[Tok], bool] | None = None,
) -> list[Tok]:
    """Replace ``operand glue operand`` (whitespace allowed between) by ``make(those tokens)``,
    left to right; ``is_left_operand`` (default ``is_operand``) says what may stand left."""
    is_left = is_left_operand or is_operand
    out = list(tokens)
    i = 0
    while i < len(out):
        if is_glue(out[i]):
            left, right = _prev_solid(out, i - 1), _next_solid(out, i + 1)
            if left is not None and right is not None and is_left(out[left]) and is_operand(out[right]):
                out[left : right + 1] = [make(out[left : right + 1])]
                i = left + 1
                continue
        i += 1
    return out


def _glue_to_previous(
    tokens: list[Tok],
    is_trigger: Callable[[Tok], bool],
    is_previous: Callable[[Tok], bool],
    kind: Kind,
) -> list[Tok]:
    """Join each trigger token with the solid token before it (and the blanks between) into
    one ``kind`` token, when that token qualifies."""
    out: list[Tok] = []
    for tok in tokens:
        if is_trigger(tok):
            prev = _prev_solid(out, len(out) - 1)
            if prev is not None and is_previous(out[prev]):
                merged = _join(kind, out[prev:] + [tok])
                del out[prev:]
                out.append(merged)
                continue
        out.append(tok)
    return out


_PERIOD_LEFT = (Kind.NAME, Kind.SYMBOL, Kind.IDENTIFIER, Kind.BRACKETS)
_PERIOD_RIGHT = (Kind.NAME, Kind.SYMBOL, Kind.STRING, Kind.FUNCTION, Kind.BRACKETS)


def _group_periods(tokens: list[Tok]) -> list[Tok]:
    """Dotted names (``tags."a.b"``, ``metrics.`x` ``, ``a.``) become identifiers.

    Like the SQL grouper, after a dot swallowed the name to its right, the next dot asks
    whether that *name* may stand left of a dot: ``a.b.c`` is one identifier, but after
    ``a.'x'`` or ``a.*`` the chain stops."""
    out: list[Tok] = []
    left_ok = False  # may the last solid token stand left of a dot?
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        if tok.kind is Kind.WS:
            out.append(tok)
            i += 1
            continue
        if tok.kind is Kind.PUNCT and tok.text == "." and left_ok:
            start = _prev_solid(out, len(out) - 1)
            assert start is not None
            after = _next_solid(tokens, i + 1)
            right = tokens[after] if after is not None else None
            if right is not None and (right.kind in _PERIOD_RIGHT
                                      or (right.kind is Kind.OPERATOR and right.text == "*")):
                merged = _join(Kind.IDENTIFIER, out[start:] + tokens[i : after + 1])
                left_ok = right.kind in _PERIOD_LEFT
                i = after + 1
            else:
                merged = _join(Kind.IDENTIFIER, out[start:] + [tok])
                left_ok = True
                i += 1
            del out[start:]
            out.append(merged)
            continue
        out.append(tok)
        left_ok = tok.kind in _PERIOD_LEFT
        i += 1
    return out


def _group_arrays(tokens: list[Tok]) -> list[Tok]:
    """A bracket group after a name, identifier, function or bracket group is a subscript:
    ``a[1]``, ``f(x)[1]``, ``[1][2]`` are single identifiers."""
    return _glue_to_previous(
        tokens, lambda t: t.kind is Kind.BRACKETS,
        lambda t: t.kind in (Kind.NAME, Kind.SYMBOL, Kind.IDENTIFIER, Kind.FUNCTION, Kind.BRACKETS),
        Kind.IDENTIFIER)


def _group_identifiers(tokens: list[Tok]) -> list[Tok]:
    """What is left of the names, bare or quoted, becomes an identifier each."""
    return [_join(Kind.IDENTIFIER, [t]) if t.kind in (Kind.NAME, Kind.SYMBOL) else t
            for t in tokens]


_OPERANDS = (
    Kind.IDENTIFIER,
    Kind.PAREN,
    Kind.FUNCTION,
    Kind.STRING,
    Kind.SYMBOL,
    Kind.INT,
    Kind.FLOAT,
    Kind.NAME,
    Kind.PLACEHOLDER,
    Kind.OPERATION,
)


def _is_operand(tok: Tok) -> bool:
    return tok.kind in _OPERANDS or tok.is_keyword("NULL")


def _group_comparisons(tokens: list[Tok]) -> list[Tok]:
    def compare(parts: list[Tok]) -> Tok:
        solid = [p for p in parts if p.kind is not Kind.WS]
        return Tok(Kind.COMPARE, "".join(p.text for p in parts), (solid[0], solid[1], solid[-1]))

    # Comparisons chain to the left as in sqlparse: ``a > 1ANDb > 2`` is ``(a > 1ANDb) > 2``.
    return _glue_around(tokens, lambda t: t.kind is Kind.COMPARISON, _is_operand, compare,
                        lambda t: t.kind is Kind.COMPARE or _is_operand(t))


_LISTABLE = (
    Kind.FUNCTION, Kind.IDENTIFIER, Kind.COMPARE, Kind.LIST, Kind.INT, Kind.FLOAT,
    Kind.STRING, Kind.SYMBOL, Kind.NAME, Kind.PLACEHOLDER, Kind.KEYWORD, Kind.OPERATION,
)


# Keywords the SQL lexer types more narrowly (sort order, DDL, DCL, CTE): its list grouping
# compares token types exactly, so these never join a list.
_SUBTYPED_KEYWORD = re.compile(
    r"(ASC|DESC|NULLS\s+(FIRST|LAST)|CREATE|DROP|ALTER|TRUNCATE|GRANT|REVOKE|WITH)\b", re.I)


def _is_listable(tok: Tok) -> bool:
    # of the operators, only the wildcard may be listed (``*, a``); ``-, +`` stays apart
    if tok.kind is Kind.KEYWORD:
        return not _SUBTYPED_KEYWORD.match(tok.text)
    return tok.kind in _LISTABLE or (tok.kind is Kind.OPERATOR and tok.text == "*")


def _group_lists(tokens: list[Tok]) -> list[Tok]:
    """A comma between two list-able tokens glues them into one (never valid) list token."""
    return _glue_around(
        tokens, lambda t: t.kind is Kind.PUNCT and t.text == ",", _is_listable,
        lambda parts: _join(Kind.LIST, parts),
    )


_ARITH_OPERANDS = (
    Kind.PAREN, Kind.BRACKETS, Kind.FUNCTION, Kind.IDENTIFIER, Kind.OPERATION,
    Kind.INT, Kind.FLOAT, Kind.STRING, Kind.SYMBOL, Kind.NAME, Kind.PLACEHOLDER,
)


def _group_operations(tokens: list[Tok]) -> list[Tok]:
    """``a % b`` style operations become one operand (left to right, not chained)."""
    return _glue_around(
        tokens, lambda t: t.kind is Kind.OPERATOR, lambda t: t.kind in _ARITH_OPERANDS,
        lambda parts: _join(Kind.OPERATION, parts),
    )


def _group_order(tokens: list[Tok]) -> list[Tok]:
    """``<identifier or number> ASC|DESC`` becomes one identifier."""
    return _glue_to_previous(tokens, lambda t: t.is_keyword("ASC", "DESC"),
                             lambda t: t.kind in (Kind.IDENTIFIER, Kind.INT, Kind.FLOAT),
                             Kind.IDENTIFIER)


_ALIASABLE = (
    Kind.PAREN, Kind.FUNCTION, Kind.IDENTIFIER, Kind.COMPARE, Kind.OPERATION,
    Kind.INT, Kind.FLOAT, Kind.HEX,
)


def _group_aliased(tokens: list[Tok]) -> list[Tok]:
    """An expression directly followed by an identifier swallows it as an alias (SQL ``x AS y``).

    This is why ``params.p NOTx`` is reported as one clause: ``NOTx`` is a name, hence an alias.
    """
    out = list(tokens)
    i = 0
    while i < len(out):
        if out[i].kind in _ALIASABLE:
            j = _next_solid(out, i + 1)
            if j is not None and out[j].kind is Kind.IDENTIFIER:
                out[i : j + 1] = [_join(Kind.IDENTIFIER, out[i : j + 1])]
        i += 1
    return out


def group(tokens: list[Tok]) -> list[Tok]:
    """Group a flat statement the way the SQL lexer's grouping passes would."""
    grouped = _group_matching(tokens, "[", "]", Kind.BRACKETS)
    grouped = _group_matching(grouped, "(", ")", Kind.PAREN)
    grouped = _group_functions(grouped)
    grouped = _group_periods(grouped)
    grouped = _group_arrays(grouped)
    grouped = _group_identifiers(grouped)
    grouped = _group_order(grouped)
    grouped = _group_operations(grouped)
    grouped = _group_comparisons(grouped)
    grouped = _group_aliased(grouped)
    return _group_lists(grouped)


def join_special_comparisons(tokens: list[Tok], timestamp_builtin: bool = False) -> list[Tok]:
    """Fold ``x IN (...)``, ``x NOT IN (...)``, ``x IS NULL``, ``x IS NOT NULL`` into comparisons.

    Mirrors MLflow's scan: it looks at an identifier plus the next two (or three) non-blank
    tokens, and tokens it examined without a match are passed through unchanged.

    ``timestamp_builtin``: trace search's extra case, the SQL builtin ``timestamp`` (or
    ``timestamp_ms``) followed by a numeric comparison and an integer is one comparison; one
    that does not fit is emitted twice, as MLflow does (it lands in the invalid-clause
    message twice).
    """
    solid = [t for t in tokens if t.kind is not Kind.WS]
    out: list[Tok] = []
    i = 0
    n = len(solid)
    while i < n:
        first = solid[i]
        if n - i < 3:
            out.extend(solid[i:])
            break
        if timestamp_builtin and first.kind is Kind.BUILTIN and first.text in ("timestamp", "timestamp_ms"):
            second, third = solid[i + 1], solid[i + 2]
            i += 3
            if (second.kind is Kind.COMPARISON and second.text in ("=", "!=", "<", "<=", ">", ">=")
                    and third.kind is Kind.INT):
                out.append(Tok(Kind.COMPARE, f"{first}{second}{third}", (first, second, third)))
            else:
                out.extend([first, second, third, first])
            continue
        if first.kind is not Kind.IDENTIFIER:
            out.append(first)
            i += 1
            continue
        second, third = solid[i + 1], solid[i + 2]
        if second.is_keyword("IN") and third.kind is Kind.PAREN:
            out.append(Tok(Kind.COMPARE, f"{first} {second} {third}", (first, second, third)))
            i += 3
            continue
        if second.is_keyword("IS") and third.is_keyword("NULL"):
            out.append(Tok(Kind.COMPARE, f"{first} IS NULL", (first, Tok(Kind.KEYWORD, "IS NULL"))))
            i += 3
            continue
        if second.is_keyword("IS") and third.kind is Kind.KEYWORD and third.upper == "NOT NULL":
            out.append(Tok(Kind.COMPARE, f"{first} IS NOT NULL", (first, Tok(Kind.KEYWORD, "IS NOT NULL"))))
            i += 3
            continue
        if i + 3 >= n:
            out.extend(solid[i : i + 3])
            break
        fourth = solid[i + 3]
        if second.is_keyword("NOT") and third.is_keyword("IN") and fourth.kind is Kind.PAREN:
            out.append(
                Tok(Kind.COMPARE, f"{first} NOT IN {fourth}", (first, Tok(Kind.KEYWORD, "NOT IN"), fourth))
            )
        else:
            out.extend(solid[i : i + 4])
        i += 4
    return out
