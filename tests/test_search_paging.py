"""Offset page tokens. Expected messages were observed on a real MLflow 3.17.2 server
(POST /api/2.0/mlflow/runs/search with each page_token; experiments answer the same)."""

from __future__ import annotations

import base64
import json

import pytest

from fakeflow.search.paging import decode_offset_token, encode_offset_token, paginate
from fakeflow.state.errors import MlflowError


def b64(text: str) -> str:
    return base64.b64encode(text.encode("latin-1")).decode()


def test_encoding_matches_mlflow() -> None:
    # Observed: {"offset": 2} -> eyJvZmZzZXQiOiAyfQ== (json.dumps spacing).
    assert encode_offset_token(2) == "eyJvZmZzZXQiOiAyfQ=="
    assert encode_offset_token(5) == "eyJvZmZzZXQiOiA1fQ=="


@pytest.mark.parametrize("offset", [1, 2, 999, 50000])
def test_round_trip(offset: int) -> None:
    assert decode_offset_token(encode_offset_token(offset)) == offset


def test_missing_token_is_first_page() -> None:
    assert decode_offset_token(None) == 0
    assert decode_offset_token("") == 0


@pytest.mark.parametrize(
    "token, offset",
    [
        (b64('{"offset": "3"}'), 3),  # a numeric string is accepted
        (b64('{"offset": 1.7}'), 1),  # truncated
        (b64('{"offset": true}'), 1),
        (b64('{"offset": -1}'), -1),  # behaves like offset 0 when slicing
    ],
)
def test_lenient_tokens(token: str, offset: int) -> None:
    assert decode_offset_token(token) == offset


# (token, error_code, message) observed on MLflow 3.17.2.
INVALID_TOKENS = [
    ("abc", "INVALID_PARAMETER_VALUE", "Invalid page token, could not base64-decode"),
    ("a", "INVALID_PARAMETER_VALUE", "Invalid page token, could not base64-decode"),
    ("ab=c", "INVALID_PARAMETER_VALUE", "Invalid page token, could not base64-decode"),
    ("!!!", "INVALID_PARAMETER_VALUE", "Invalid page token, decoded value=b''"),
    (b64("notjson"), "INVALID_PARAMETER_VALUE", "Invalid page token, decoded value=b'notjson'"),
    ("w78=", "INVALID_PARAMETER_VALUE", "Invalid page token, decoded value=b'\\xc3\\xbf'"),
    ("eyJvZmZzZXQiOiAwfQ==", "INVALID_PARAMETER_VALUE", "Invalid page token, parsed value={'offset': 0}"),
    (b64('{"x": 1}'), "INVALID_PARAMETER_VALUE", "Invalid page token, parsed value={'x': 1}"),
    ("e30=", "INVALID_PARAMETER_VALUE", "Invalid page token, parsed value={}"),
    (b64('{"offset": null}'), "INVALID_PARAMETER_VALUE", "Invalid page token, parsed value={'offset': None}"),
    (b64('{"offset": ""}'), "INVALID_PARAMETER_VALUE", "Invalid page token, parsed value={'offset': ''}"),
    (b64('{"offset": "a"}'), "INVALID_PARAMETER_VALUE", "Invalid page token, not stringable a"),
    (b64("[1]"), "INTERNAL_ERROR", "'list' object has no attribute 'get'"),
    (
        b64('{"offset": [1]}'),
        "INTERNAL_ERROR",
        "int() argument must be a string, a bytes-like object or a real number, not 'list'",
    ),
]


@pytest.mark.parametrize("token, code, message", INVALID_TOKENS)
def test_invalid_tokens(token: str, code: str, message: str) -> None:
    with pytest.raises(MlflowError) as info:
        decode_offset_token(token)
    assert (info.value.error_code, info.value.message) == (code, message)


def test_paginate_emits_token_only_when_more_rows_exist() -> None:
    items = list(range(6))
    assert paginate(items, 4, None) == ([0, 1, 2, 3], encode_offset_token(4))
    assert paginate(items, 2, encode_offset_token(4)) == ([4, 5], None)  # exact exhaustion
    assert paginate(items, 6, None) == (items, None)
    assert paginate(items, 10, None) == (items, None)
    assert paginate(items, 2, encode_offset_token(100)) == ([], None)


def test_negative_offset_pages_from_start_but_token_keeps_arithmetic() -> None:
    # Observed: offset -3 with max_results 2 returns the first two rows and a token for -1.
    page, token = paginate(list(range(6)), 2, b64('{"offset": -3}'))
    assert page == [0, 1]
    assert token is not None and json.loads(base64.b64decode(token)) == {"offset": -1}
