"""Issue-12 benchmark: a test that records a 50-span trace with the real MLflow client and
asserts on it, against fakeflow in process (no socket), fakeflow over loopback HTTP, and a real
``mlflow server`` (started fresh, or $FAKEFLOW_REAL_MLFLOW_URL).

One iteration = trace a function that opens 50 nested/sibling spans, then read the trace back
(``MlflowClient.get_trace``) and check its span count and root. Reported: median and p90 per
iteration, and the speed-up over the real server.

Run: ``FAKEFLOW_MLFLOW_BIN=/path/to/mlflow python -m benchmarks.bench_traces`` (``--quick``,
``--no-real``, ``--json FILE``).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from typing import Any, Callable

os.environ.setdefault("MLFLOW_ENABLE_ASYNC_TRACE_LOGGING", "false")
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")

SPANS = 50


def _workload() -> Callable[[], str]:
    import mlflow

    @mlflow.trace(name="root")
    def root() -> int:
        for i in range(SPANS - 1):
            with mlflow.start_span(f"step-{i}", span_type="TOOL") as span:
                span.set_inputs({"i": i})
                span.set_outputs(i * 2)
        return SPANS

    def once() -> str:
        root()
        return mlflow.get_last_active_trace_id()
    return once


def measure(url: str, iterations: int) -> list[float]:
    """Seconds per iteration (trace + read back + assert) against ``url``."""
    import mlflow
    from mlflow import MlflowClient

    mlflow.set_tracking_uri(url)
    mlflow.set_experiment(f"bench-traces-{time.time_ns()}")
    client = MlflowClient()
    once = _workload()
    once()  # warm-up: experiment lookup, version probe, tracer set-up
    samples = []
    for _ in range(iterations):
        start = time.perf_counter()
        trace_id = once()
        trace = client.get_trace(trace_id)
        assert len(trace.data.spans) == SPANS and trace.data.spans[0].name == "root"
        samples.append(time.perf_counter() - start)
    return samples


def _summary(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {"median_ms": statistics.median(ordered) * 1e3,
            "p90_ms": ordered[int(0.9 * (len(ordered) - 1))] * 1e3, "n": len(ordered)}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--no-real", action="store_true")
    parser.add_argument("--json")
    args = parser.parse_args(argv)
    iterations = 10 if args.quick else 50
    from fakeflow import ThreadedServer, create_app
    from fakeflow.transport import route_in_process

    results: dict[str, Any] = {}
    app = create_app()
    with route_in_process("http://fakeflow.invalid", app):
        results["fakeflow in-process"] = _summary(measure("http://fakeflow.invalid", iterations))
    with ThreadedServer(create_app()) as server:
        results["fakeflow HTTP"] = _summary(measure(server.url, iterations))
    if not args.no_real:
        sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        from benchmarks._targets import start_real

        real = start_real()
        try:
            results["real MLflow 3.17.2"] = _summary(measure(real.url, iterations))
        finally:
            real.stop()
        base = results["real MLflow 3.17.2"]["median_ms"]
        for name in ("fakeflow in-process", "fakeflow HTTP"):
            results[name]["speedup"] = base / results[name]["median_ms"]
    for name, row in results.items():
        extra = f"  x{row['speedup']:.1f}" if "speedup" in row else ""
        print(f"{name:22s} median {row['median_ms']:8.2f} ms  p90 {row['p90_ms']:8.2f} ms{extra}")
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(results, handle, indent=2)
    return results


if __name__ == "__main__":
    main()
