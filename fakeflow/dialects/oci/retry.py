"""``opc-retry-token``: a retried write is answered from memory instead of done twice.

As the vendor documents it: a token identifies one request so that it can be retried after a
timeout or a server error without doing the action again; tokens expire after 24 hours and
"can be invalidated before then". Here:

* same token, same request (method, path, query, principal, body), first one succeeded: the
  first answer again, byte for byte, without touching the state;
* same token, a different request: 409 ``Conflict`` while the token lives;
* the first one failed (any non-2xx: throttled, server error, refused): nothing was done, so
  the token is free again and a retry does the work;
* concurrent requests with one token: the first does the work, the others wait for it (outside
  every store lock) and get its answer, or run themselves if it failed;
* a token is forgotten 24 hours (``ttl``) after its first use, by the injectable ``clock``;
  beyond ``max_tokens`` or ``max_bytes`` of remembered answers, the oldest are forgotten early
  (the "invalidated before then" the documentation allows), so memory stays bounded.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Callable

Header = tuple[str, str]

TTL_SECONDS = 24 * 3600.0
MAX_TOKENS = 10_000
MAX_BYTES = 64 * 1024 * 1024
#: A larger answer is not remembered (the token is then freed, as after a failure).
MAX_ANSWER_BYTES = 1024 * 1024


@dataclass(frozen=True)
class Answer:
    status: str
    headers: tuple[Header, ...]
    body: bytes

    @property
    def ok(self) -> bool:
        return self.status[:1] == "2"


@dataclass
class _Entry:
    fingerprint: str
    created: float
    answer: Answer | None = None
    done: threading.Event = field(default_factory=threading.Event)


@dataclass(frozen=True)
class Ticket:
    """What ``begin`` decided: ``run`` (do it, then ``finish``), ``replay`` or ``conflict``."""

    action: str
    answer: Answer | None = None
    entry: _Entry | None = None


class RetryTokens:
    """The tokens of one workspace."""

    def __init__(self, clock: Callable[[], float] = time.monotonic, ttl: float = TTL_SECONDS,
                 max_tokens: int = MAX_TOKENS, max_bytes: int = MAX_BYTES) -> None:
        self.clock = clock
        self.ttl = ttl
        self.max_tokens = max_tokens
        self.max_bytes = max_bytes
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def begin(self, token: str, fingerprint: str) -> Ticket:
        while True:
            with self._lock:
                entry = self._live(token)
                if entry is None:
                    entry = _Entry(fingerprint, self.clock())
                    self._entries[token] = entry
                    return Ticket("run", entry=entry)
                if entry.fingerprint != fingerprint:
                    return Ticket("conflict")
                if entry.answer is not None:
                    return Ticket("replay", answer=entry.answer)
                pending = entry.done
            pending.wait()  # the first request with this token is still running: await it

    def finish(self, token: str, entry: _Entry, answer: Answer | None) -> None:
        """Remember a successful ``answer``; anything else frees the token for a retry."""
        with self._lock:
            keep = answer is not None and answer.ok and len(answer.body) <= MAX_ANSWER_BYTES
            if self._entries.get(token) is entry:
                if keep:
                    entry.answer = answer
                    self._bytes += len(answer.body)
                    self._evict()
                else:
                    del self._entries[token]
        entry.done.set()

    def _live(self, token: str) -> _Entry | None:
        entry = self._entries.get(token)
        if entry is not None and entry.answer is not None \
                and self.clock() - entry.created >= self.ttl:
            self._drop(token)
            return None
        return entry

    def _drop(self, token: str) -> None:
        entry = self._entries.pop(token)
        if entry.answer is not None:
            self._bytes -= len(entry.answer.body)

    def _evict(self) -> None:
        """Forget expired answers, then the oldest ones while over a bound (never one in flight)."""
        now = self.clock()
        for token, entry in list(self._entries.items()):
            over = len(self._entries) > self.max_tokens or self._bytes > self.max_bytes
            expired = now - entry.created >= self.ttl
            if entry.answer is not None and (expired or over):
                self._drop(token)
            elif not over:
                break
