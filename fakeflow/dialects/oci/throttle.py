"""Throttling per workspace as an injected fault: beyond ``limit`` requests in any ``per``
seconds, a workspace answers 429 ``TooManyRequests`` (with ``retry-after``).

It is a ``Fault`` in the fake's fault list, so it is listed, cleared and counted like any other
(``GET /_fakeflow/faults``, ``fakeflow.clear_faults()``), and its answer takes the same path as
an injected failure: through the dialect, which gives it the vendor's error shape.
"""

from __future__ import annotations

import math
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Callable

from fakeflow.control.faults import Fault
from fakeflow.dialects.oci.paths import workspace_prefix


@dataclass
class RateLimit(Fault):
    """A sliding window of ``limit`` requests per ``per`` seconds over the paths ``route``
    matches; requests beyond it are refused (and not counted)."""

    times: int | None = None
    status: int | None = 429
    error_code: str = "REQUEST_LIMIT_EXCEEDED"
    message: str = ""
    limit: int = 10
    per: float = 1.0
    clock: Callable[[], float] = time.monotonic
    _window: deque = field(default_factory=deque, repr=False)

    def __post_init__(self) -> None:
        if isinstance(self.limit, bool) or not isinstance(self.limit, int) or self.limit < 1:
            raise ValueError("limit must be a positive integer")
        if isinstance(self.per, bool) or not isinstance(self.per, (int, float)) \
                or not math.isfinite(self.per) or self.per <= 0:
            raise ValueError("per must be a positive number of seconds")
        if not self.message:
            self.message = (f"Too many requests: this workspace accepts {self.limit} "
                            f"per {self.per:g} s.")
        super().__post_init__()

    def matches(self, method: str, path: str) -> bool:
        """Called under the fault list's lock: counts an accepted request, or says refuse."""
        if not super().matches(method, path):
            return False
        now = self.clock()
        window = self._window
        while window and now - window[0] >= self.per:
            window.popleft()
        if len(window) < self.limit:
            window.append(now)
            return False
        wait = max(1, math.ceil(self.per - (now - window[0])))
        self.headers = {"retry-after": str(wait)}
        return True

    def as_dict(self) -> dict[str, Any]:
        return {**super().as_dict(), "limit": self.limit, "per": self.per}


def workspace_rate_limit(platform: str, workspace: str, limit: int, per: float,
                         clock: Callable[[], float] = time.monotonic) -> RateLimit:
    """A rate limit on every path of one workspace (under any API version)."""
    pattern = "/*" + workspace_prefix(platform, workspace, "")[1:] + "/*"
    return RateLimit(route=pattern, limit=limit, per=per, clock=clock)
