"""Decide whether two normalised answers to the same request are the same answer."""

from __future__ import annotations

import json
from typing import Any, Iterator

from .model import DB_NOISE
from .normalise import stable_prefix
from .transport import Reply

ERROR_FIELDS = ("error_code", "message", "sqlstate", "error_class")
MAX_REPORTED = 12


def compare(
    expected: Reply, expected_body: Any, actual: Reply, actual_body: Any, relax: frozenset[str]
) -> list[str]:
    """Differences of ``actual`` from ``expected`` (empty list = same answer)."""
    diffs: list[str] = []
    if expected.status != actual.status:
        diffs.append(f"status {actual.status} (want {expected.status})")
    if expected.is_json != actual.is_json or expected.media_type != actual.media_type:
        diffs.append(
            f"content-type {actual.media_type or '-'} json={actual.is_json} "
            f"(want {expected.media_type or '-'} json={expected.is_json})"
        )
        return diffs
    if not expected.is_json:
        # HTML error pages: status + media type only. Plain bodies (health, version): exact.
        if expected.status < 400 and expected.text != actual.text:
            diffs.append(f"body {actual.text[:200]!r} (want {expected.text[:200]!r})")
        return diffs
    if _is_error(expected_body) and _is_error(actual_body):
        diffs.extend(_compare_error(expected_body, actual_body, relax))
    else:
        diffs.extend(_json_diff(expected_body, actual_body, "$"))
    return diffs[:MAX_REPORTED]


def _is_error(body: Any) -> bool:
    return isinstance(body, dict) and "error_code" in body


def _compare_error(want: dict, got: dict, relax: frozenset[str]) -> Iterator[str]:
    extra = sorted(set(want) ^ set(got))
    if extra:
        yield f"error keys {sorted(got)} (want {sorted(want)})"
    for name in ERROR_FIELDS:
        a, b = want.get(name), got.get(name)
        if name == "message" and DB_NOISE in relax and isinstance(a, str) and isinstance(b, str):
            a, b = stable_prefix(a), stable_prefix(b)
            if not got.get("message"):
                yield "message is empty"
        if a != b:
            yield f"{name} {b!r} (want {a!r})"


def _json_diff(want: Any, got: Any, path: str) -> Iterator[str]:
    if isinstance(want, dict) and isinstance(got, dict):
        for key in want.keys() - got.keys():
            yield f"{path}.{key} missing (want {_short(want[key])})"
        for key in got.keys() - want.keys():
            yield f"{path}.{key} unexpected {_short(got[key])}"
        for key in want.keys() & got.keys():
            yield from _json_diff(want[key], got[key], f"{path}.{key}")
    elif isinstance(want, list) and isinstance(got, list):
        if len(want) != len(got):
            missing, extra = _multiset_difference(want, got)
            yield (
                f"{path} has {len(got)} items (want {len(want)}); "
                f"missing {_short(missing, 400)}; unexpected {_short(extra, 400)}"
            )
            return
        for index, (a, b) in enumerate(zip(want, got)):
            yield from _json_diff(a, b, f"{path}[{index}]")
    elif type(want) is not type(got) or want != got:
        if _both_nan(want, got):
            return
        yield f"{path} = {_short(got)} (want {_short(want)})"


def _multiset_difference(want: list, got: list) -> tuple[list, list]:
    remaining = [json.dumps(item, sort_keys=True) for item in got]
    missing = []
    for item in want:
        key = json.dumps(item, sort_keys=True)
        if key in remaining:
            remaining.remove(key)
        else:
            missing.append(item)
    return missing, [json.loads(item) for item in remaining]


def _both_nan(a: Any, b: Any) -> bool:
    return isinstance(a, float) and isinstance(b, float) and a != a and b != b


def _short(value: Any, limit: int = 160) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "…"
