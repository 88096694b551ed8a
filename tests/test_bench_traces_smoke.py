"""benchmarks/bench_traces.py runs end to end (one iteration, in process), so it cannot rot.
No timing is asserted: speed is reported by ``python -m benchmarks.bench_traces``."""

from __future__ import annotations

import pytest

pytest.importorskip("mlflow")


def test_the_traces_benchmark_records_and_reads_a_50_span_trace(monkeypatch):
    monkeypatch.setenv("MLFLOW_ENABLE_ASYNC_TRACE_LOGGING", "false")
    from benchmarks.bench_traces import measure
    from fakeflow import create_app
    from fakeflow.transport import route_in_process
    from tests.support.client_script import mlflow_pointed_at

    url = "http://bench-traces.invalid"
    with route_in_process(url, create_app()), mlflow_pointed_at(url):  # restores the client
        samples = measure(url, 1)
    assert len(samples) == 1 and samples[0] > 0
