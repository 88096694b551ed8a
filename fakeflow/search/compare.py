"""Value comparisons with the semantics of MLflow's SQLite-backed store.

The reference store forces ``PRAGMA case_sensitive_like``, so LIKE is case-sensitive; ILIKE is
``lower(x) LIKE lower(y)``, and SQLite's ``lower`` folds ASCII letters only. No escape character
is configured, so ``%`` and ``_`` are always wildcards and a backslash is an ordinary character.
"""

from __future__ import annotations

import operator
import re
from functools import lru_cache
from typing import Any, Callable

_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def ascii_lower(text: str) -> str:
    return text.translate(_ASCII_LOWER)


@lru_cache(maxsize=512)
def _like_regex(pattern: str) -> re.Pattern[str]:
    parts = []
    for ch in pattern:
        if ch == "%":
            parts.append(".*")
        elif ch == "_":
            parts.append(".")
        else:
            parts.append(re.escape(ch))
    return re.compile("".join(parts), re.DOTALL)


def like(value: str, pattern: str) -> bool:
    return _like_regex(pattern).fullmatch(value) is not None


def ilike(value: str, pattern: str) -> bool:
    return like(ascii_lower(value), ascii_lower(pattern))


OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    "=": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "LIKE": like,
    "ILIKE": ilike,
    "IN": lambda a, b: a in b,
    "NOT IN": lambda a, b: a not in b,
}


def comparison(comparator: str, rhs: Any) -> Callable[[Any], bool]:
    """``lambda lhs: compare(lhs, comparator, rhs)``, with the operator looked up once."""
    op = OPERATORS[comparator]
    return lambda lhs: lhs is not None and op(lhs, rhs)


def compare(lhs: Any, comparator: str, rhs: Any) -> bool:
    """SQL-style comparison; a missing (None) left side never matches."""
    if lhs is None:
        return False
    return OPERATORS[comparator](lhs, rhs)
