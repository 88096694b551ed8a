"""Offset page tokens as MLflow encodes them: base64 of ``{"offset": N}`` (json.dumps spacing).

Tokens are not bound to the query that produced them; any valid token works with any search.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any, TypeVar

from fakeflow.state.errors import INTERNAL_ERROR, MlflowError, invalid

T = TypeVar("T")


def encode_offset_token(offset: int) -> str:
    return base64.b64encode(json.dumps({"offset": offset}).encode("utf-8")).decode("ascii")


def decode_offset_token(token: str | None) -> int:
    """Token -> offset; empty/None means the first page. Raises MLflow's exact errors.

    Offset 0 (and any other falsy offset) is rejected, as MLflow's check is a truthiness test.
    """
    if not token:
        return 0
    if isinstance(token, str) and not token.isascii():
        # base64 refuses non-ASCII text with a ValueError that MLflow does not handle
        raise MlflowError("string argument should contain only ASCII characters", INTERNAL_ERROR)
    try:
        raw = base64.b64decode(token)
    except (TypeError, binascii.Error, ValueError):
        raise invalid("Invalid page token, could not base64-decode") from None
    try:
        parsed: Any = json.loads(raw)
    except ValueError:
        raise invalid(f"Invalid page token, decoded value={raw!r}") from None
    if not isinstance(parsed, dict):
        # MLflow calls .get() on whatever was decoded and fails with an unhandled error.
        raise MlflowError(f"'{type(parsed).__name__}' object has no attribute 'get'", INTERNAL_ERROR)
    offset = parsed.get("offset")
    if not offset:
        raise invalid(f"Invalid page token, parsed value={parsed!r}")
    try:
        return int(offset)
    except ValueError:
        raise invalid(f"Invalid page token, not stringable {offset}") from None
    except TypeError as exc:
        raise MlflowError(str(exc), INTERNAL_ERROR) from None


def page_bounds(total: int, offset: int, max_results: int | None) -> tuple[int, int, str | None]:
    """``[start, stop)`` of the page at ``offset`` among ``total`` rows, and the next token.

    As MLflow's SQL query: ``OFFSET offset LIMIT max_results + 1``, where SQLite reads a negative
    OFFSET as 0, and a token (for ``offset + max_results``) only if the extra row exists.
    """
    start = min(max(offset, 0), total)
    if max_results is None:
        return start, total, None
    if total - start > max_results:
        return start, start + max_results, encode_offset_token(offset + max_results)
    return start, total, None


def page_slice(items: list[T], offset: int, max_results: int | None) -> tuple[list[T], str | None]:
    """Cut one page at ``offset``; a next token only if at least one more row exists."""
    start, stop, token = page_bounds(len(items), offset, max_results)
    return items[start:stop], token


def paginate(items: list[T], max_results: int, page_token: str | None) -> tuple[list[T], str | None]:
    return page_slice(items, decode_offset_token(page_token), max_results)


def validate_max_results(max_results: int | None, allow_null: bool = False, limit: int = 50000) -> None:
    """MLflow's store-level bounds check: positive and at most ``limit``."""
    if (max_results is None and not allow_null) or (max_results is not None and max_results < 1):
        raise invalid(
            f"Invalid value {max_results} for parameter 'max_results' supplied. It must be a "
            "positive integer"
        )
    if max_results is not None and max_results > limit:
        raise invalid(
            f"Invalid value {max_results} for parameter 'max_results' supplied. It must be at "
            f"most {limit}"
        )
