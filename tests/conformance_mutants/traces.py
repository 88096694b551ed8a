"""Trace mutants: trace search that ignores its tag clauses (a filter translator that knows
only the trace's own columns), and overrides that never invalidate the assessment they replace
(``valid`` always true in answers)."""

from __future__ import annotations

import re
from typing import Any

from tests.conformance_mutants import JsonMiddleware

TRACES_V3 = "/api/3.0/mlflow/traces"


class SearchIgnoresTagFilter(JsonMiddleware):
    def rewrite_request(self, path: str, body: Any) -> Any:
        if path != TRACES_V3 + "/search" or not isinstance(body, dict):
            return body
        text = body.get("filter")
        if not isinstance(text, str) or "tags." not in text:
            return body
        kept = [c for c in re.split(r"\s+AND\s+", text, flags=re.I)
                if not c.strip().startswith("tags.")]
        out = {k: v for k, v in body.items() if k != "filter"}
        if kept:
            out["filter"] = " AND ".join(kept)
        return out


def _always_valid(obj: Any) -> None:
    if isinstance(obj, dict):
        if "assessment_id" in obj and obj.get("valid") is False:
            obj["valid"] = True
        for value in obj.values():
            _always_valid(value)
    elif isinstance(obj, list):
        for item in obj:
            _always_valid(item)


class OverridesKeepTargetValid(JsonMiddleware):
    def rewrite_answer(self, path: str, method: str, request: Any, status: int,
                       answer: Any) -> tuple[int, Any]:
        if status == 200 and path.startswith(TRACES_V3):
            _always_valid(answer)
        return status, answer
