"""The one HTTP client every target is measured with.

``http.client`` rather than ``requests`` by default: it adds the least client-side cost, so the
ratios between servers reflect the servers. It keeps connections alive where the server allows it
(real MLflow's uvicorn) and reconnects where it does not (Werkzeug's server closes every connection).
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
    def send(self, call: Call) -> tuple[int, bytes]: ...

    def close(self) -> None: ...


class RawClient:
    """``http.client`` over one connection, reopened whenever the server closes it."""

    name = "http.client"

    def __init__(self, base_url: str, timeout: float = 60.0) -> None:
        parts = urlsplit(base_url)
        self._conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)

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
    """``count`` requests answered 200 in ``seconds`` of wall time."""

    count: int
    seconds: float

    @property
    def per_second(self) -> float:
        return self.count / self.seconds if self.seconds > 0 else 0.0


def replay(client: Client, calls: Sequence[Call], budget_s: float | None = None) -> Rate:
    """Send ``calls`` one after another; stop early once ``budget_s`` has passed.

    Any answer other than 200 aborts: a fast error is not throughput.
    """
    done = 0
    start = time.perf_counter()
    for call in calls:
        status, body = client.send(call)
        if status != 200:
            raise BenchmarkError(f"{call.method} {call.path} -> {status}: {body[:300]!r}")
        done += 1
        if budget_s is not None and time.perf_counter() - start > budget_s:
            break
    return Rate(done, time.perf_counter() - start)
