"""Memory a logged metric point keeps alive, measured from real allocations with tracemalloc."""

from __future__ import annotations

import gc
import json
import tracemalloc
from typing import Callable

from fakeflow.state.tracking import MetricInput, TrackingStore

BASE_TIME_MS = 1_700_000_000_000


def _retained_bytes(log: Callable[[int], None], first: int, count: int) -> int:
    """Bytes still allocated after ``log(i)`` for ``count`` steps, garbage collected."""
    gc.collect()
    already_tracing = tracemalloc.is_tracing()  # e.g. under ``python -X tracemalloc``
    if not already_tracing:
        tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for step in range(first, first + count):
            log(step)
        gc.collect()
        return tracemalloc.get_traced_memory()[0] - before
    finally:
        if not already_tracing:
            tracemalloc.stop()


def _history_length(store: TrackingStore, run_id: str, key: str) -> int:
    return len(store.get_run(run_id).metrics[key])


def store_bytes_per_point(points: int) -> dict[str, float]:
    """``points`` distinct points logged through ``TrackingStore.log_metric`` into one history."""
    store = TrackingStore()
    run_id = store.create_run("0", start_time=BASE_TIME_MS).run_id
    warmup = 1000  # the history and its arrays exist before measuring

    def log(step: int) -> None:
        store.log_metric(run_id, MetricInput("loss", 1.0 / (1 + step), BASE_TIME_MS + step, step))

    for step in range(warmup):
        log(step)
    retained = _retained_bytes(log, warmup, points)
    stored = _history_length(store, run_id, "loss") - warmup
    if stored != points:
        raise RuntimeError(f"store kept {stored} of {points} points")
    return {"points": points, "retained_bytes": retained, "bytes_per_point": retained / points}


def short_histories_bytes_per_point(runs: int, keys: int, steps: int) -> dict[str, float]:
    """Many short histories (``runs`` x ``keys`` metrics of ``steps`` points): per-key overhead."""
    store = TrackingStore()
    run_ids = [store.create_run("0", start_time=BASE_TIME_MS).run_id for _ in range(runs)]
    names = [f"metric_{k}" for k in range(keys)]

    def log(step: int) -> None:
        for run_id in run_ids:
            for name in names:
                store.log_metric(run_id, MetricInput(name, 0.5, BASE_TIME_MS + step, step))

    retained = _retained_bytes(log, 0, steps)
    points = runs * keys * steps
    stored = sum(_history_length(store, r, n) for r in run_ids for n in names)
    if stored != points:
        raise RuntimeError(f"store kept {stored} of {points} points")
    return {"points": points, "points_per_history": steps, "retained_bytes": retained,
            "bytes_per_point": retained / points}


def http_bytes_per_point(points: int) -> dict[str, float]:
    """``points`` POST log-metric requests through the full WSGI app (no socket)."""
    from werkzeug.test import Client

    from fakeflow.web.app import create_app

    app = create_app()
    client = Client(app)
    run_id = app.store.create_run("0", start_time=BASE_TIME_MS).run_id
    warmup = 200

    def log(step: int) -> None:
        body = json.dumps({"run_id": run_id, "key": "loss", "value": 1.0 / (1 + step),
                           "timestamp": BASE_TIME_MS + step, "step": step})
        response = client.post("/api/2.0/mlflow/runs/log-metric", data=body,
                               content_type="application/json")
        if response.status_code != 200:
            raise RuntimeError(f"log-metric -> {response.status_code}: {response.data[:200]!r}")
        response.close()

    for step in range(warmup):
        log(step)
    retained = _retained_bytes(log, warmup, points)
    stored = _history_length(app.store, run_id, "loss") - warmup
    if stored != points:
        raise RuntimeError(f"app kept {stored} of {points} points")
    return {"points": points, "retained_bytes": retained, "bytes_per_point": retained / points}


if __name__ == "__main__":
    print(store_bytes_per_point(100_000))
    print(short_histories_bytes_per_point(100, 10, 10))
    print(http_bytes_per_point(5_000))
