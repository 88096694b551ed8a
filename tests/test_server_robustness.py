"""Issue 8's robustness checks against fakeflow's HTTP server: stalled clients, framing (RFC
9112), the connection cap, idle/slow timeouts, running out of descriptors, mass disconnects.

The checks themselves live in ``benchmarks._server_checks`` so that ``bench_servers`` can run
the very same ones against other servers (waitress, cheroot, Werkzeug) for its comparison table.
"""

from __future__ import annotations

import json
import socket
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from benchmarks._server_checks import (
    CHECKS,
    PROMPT_S,
    exchange,
    fresh_call,
    post,
    serving,
    stalled,
    status,
)
from fakeflow import ThreadedServer, create_app
from fakeflow.listener import Limits


@pytest.mark.parametrize("check", list(CHECKS.values()), ids=list(CHECKS))
def test_fakeflow_server_passes(check) -> None:
    check("fakeflow")


def test_stalled_log_metric_posts_do_not_block_the_fakeflow_app() -> None:
    """The app reads each body before it takes the store lock, so 50 half-sent log-metric
    requests leave /health and store calls of other clients prompt."""
    with serving("fakeflow", app=create_app()) as server, stalled(server.port, 50):
        assert fresh_call(server.port) < PROMPT_S
        body = json.dumps({"max_results": 1}).encode()
        assert fresh_call(server.port, "POST", "/api/2.0/mlflow/experiments/search", body) < PROMPT_S
        assert fresh_call(server.port, "POST", "/api/2.0/mlflow/experiments/create",
                          json.dumps({"name": "while-stalled"}).encode()) < PROMPT_S


def test_stop_returns_promptly_with_stalled_and_idle_connections() -> None:
    server = ThreadedServer(create_app()).start()
    with stalled(server.port, 20):
        started = time.monotonic()
        server.stop()
        assert time.monotonic() - started < 2
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", server.port), timeout=2).close()


@pytest.mark.parametrize("bad", [{"max_connections": 0}, {"request_timeout": 0},
                                 {"keep_alive_timeout": -1}])
def test_bounds_must_be_positive(bad: dict) -> None:
    with pytest.raises(ValueError):
        ThreadedServer(create_app(), **bad)


def test_default_bounds() -> None:
    assert ThreadedServer(create_app()).limits == Limits(256, 30.0, 30.0)


_length = st.one_of(st.integers(0, 12).map(str), st.sampled_from(["+2", "-1", "0x2", "2.0", " ", "²", "abc"]))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lengths=st.lists(_length, min_size=1, max_size=3), as_list=st.booleans())
def test_content_length_is_honoured_only_when_unambiguous(lengths: list[str], as_list: bool) -> None:
    """Any set of Content-Length values, as separate lines or one comma list: 400 unless they are
    all the same plain decimal, then exactly that many bytes are the body."""
    header = (b"Content-Length: " + ", ".join(lengths).encode("latin-1") + b"\r\n" if as_list else
              b"".join(b"Content-Length: " + v.encode("latin-1") + b"\r\n" for v in lengths))
    values = {v.strip() for v in lengths}
    ok = len(values) == 1 and next(iter(values)).isascii() and next(iter(values)).isdigit()
    with serving("fakeflow") as server:
        answer = exchange(server.port, post("/x", b"z" * 12, header))
    if ok:
        assert status(answer) == 200
        assert answer.endswith(b'{"size": %d}' % int(next(iter(values))))
    else:
        assert status(answer) == 400 and b"Connection: close" in answer
