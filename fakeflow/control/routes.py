"""Route patterns shared by the request log and fault injection."""

from __future__ import annotations

import fnmatch


def route_matches(pattern: str, path: str) -> bool:
    """``runs/log-batch`` matches it under any API prefix; ``/api/2.0/...`` is an exact path;
    shell wildcards (``runs/*``) work in both forms."""
    if pattern.startswith("/"):
        return fnmatch.fnmatchcase(path, pattern)
    return fnmatch.fnmatchcase(path, "*/" + pattern.lstrip("/"))
