"""The one HTTP client every target is measured with.

``http.client`` rather than ``requests`` by default: it adds the least client-side cost, so the
ratios between servers reflect the servers. It keeps its connection alive wherever the server
allows it (fakeflow's server, real MLflow's uvicorn) and reconnects transparently where the
server answers ``Connection: close`` (Werkzeug's dev server, after every request); it counts the
connections it opens, so the report can show which target kept them.
"""

from __future__ import annotations

import http.client
import time
from dataclasses import dataclass
from typing import Callable, Protocol, Sequence
from urllib.parse import urlsplit

JSON_HEADERS = {"Content-Type": "application/json"}


class BenchmarkError(RuntimeError):
    """A target answered wrongly: its figures would be meaningless."""


@dataclass(frozen=True)
class Call:
    """One request to replay: prepared in advance so building it is not timed."""

    method: str
    path: str
    body: bytes | None = None


class Client(Protocol):
    #: TCP connections opened so far, or None where the client cannot tell.
    connections: int | None

    def send(self, call: Call) -> tuple[int, bytes]: ...

    def close(self) -> None: ...


class _CountingConnection(http.client.HTTPConnection):
    """``HTTPConnection`` that counts its (re)connects: one per request means no keep-alive."""

    opened = 0

    def connect(self) -> None:
        super().connect()
        self.opened += 1


class RawClient:
    """``http.client`` over one connection, reopened whenever the server closes it.

    ``http.client`` drops its socket after an answer that says ``Connection: close`` and opens a
    new one on the next request; a kept-alive socket the server closed while idle is retried once.
    """

    name = "http.client"

    def __init__(self, base_url: str, timeout: float = 60.0) -> None:
        parts = urlsplit(base_url)
        self._conn = _CountingConnection(parts.hostname, parts.port, timeout=timeout)

    @property
    def connections(self) -> int:
        return self._conn.opened

    def send(self, call: Call) -> tuple[int, bytes]:
        headers = JSON_HEADERS if call.body is not None else {}
        reused = self._conn.sock is not None
        try:
            self._conn.request(call.method, call.path, body=call.body, headers=headers)
            response = self._conn.getresponse()
        except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
            # A kept-alive connection the server had already dropped: the request never ran.
            self._conn.close()
            if not reused:
                raise
            self._conn.request(call.method, call.path, body=call.body, headers=headers)
            response = self._conn.getresponse()
        return response.status, response.read()

    def close(self) -> None:
        self._conn.close()


class RequestsClient:
    """``requests.Session`` (keep-alive where allowed): what most MLflow clients really use."""

    name = "requests"

    def __init__(self, base_url: str, timeout: float = 60.0) -> None:
        import requests

        self._base = base_url.rstrip("/")
        self._session = requests.Session()
        self._timeout = timeout
        self.connections = None  # urllib3 reopens closed sockets without a count we can read

    def send(self, call: Call) -> tuple[int, bytes]:
        headers = JSON_HEADERS if call.body is not None else None
        response = self._session.request(call.method, self._base + call.path, data=call.body,
                                         headers=headers, timeout=self._timeout)
        return response.status_code, response.content

    def close(self) -> None:
        self._session.close()


CLIENTS: dict[str, Callable[[str], Client]] = {"http.client": RawClient, "requests": RequestsClient}


@dataclass(frozen=True)
class Rate:
    """``count`` requests answered 200 in ``seconds`` of wall time, over ``connections`` opened."""

    count: int
    seconds: float
    connections: int | None = None

    @property
    def per_second(self) -> float:
        return self.count / self.seconds if self.seconds > 0 else 0.0


def replay(client: Client, calls: Sequence[Call], budget_s: float | None = None) -> Rate:
    """Send ``calls`` one after another; stop early once ``budget_s`` has passed.

    Any answer other than 200 aborts: a fast error is not throughput.
    """
    done = 0
    opened_before = client.connections
    start = time.perf_counter()
    for call in calls:
        status, body = client.send(call)
        if status != 200:
            raise BenchmarkError(f"{call.method} {call.path} -> {status}: {body[:300]!r}")
        done += 1
        if budget_s is not None and time.perf_counter() - start > budget_s:
            break
    seconds = time.perf_counter() - start
    opened = None if opened_before is None else client.connections - opened_before
    return Rate(done, seconds, opened)
