"""Metric history storage: MLflow's order, duplicate dropping and the latest-value rule."""

from __future__ import annotations

import math
import tracemalloc

from fakeflow.state.metric_history import MetricHistory, MetricPoint


def test_history_is_ordered_by_timestamp_step_value_and_drops_exact_duplicates():
    h = MetricHistory()
    for value, ts, step in [(3.0, 5, 1), (1.0, 5, 0), (2.0, 1, 9), (1.0, 5, 0), (0.5, 5, 0)]:
        h.append(value, ts, step)
    assert h.points() == [
        MetricPoint(2.0, 1, 9), MetricPoint(0.5, 5, 0), MetricPoint(1.0, 5, 0), MetricPoint(3.0, 5, 1)
    ]


def test_latest_is_greatest_step_then_timestamp_then_value():
    h = MetricHistory()
    h.append(1.0, 500, 1)
    h.append(7.0, 50, 2)  # a larger step wins over a later timestamp (observed on MLflow 3.17.2)
    h.append(6.0, 50, 2)
    assert h.latest == MetricPoint(7.0, 50, 2)


def test_nan_compares_as_zero_and_is_distinct_from_zero():
    h = MetricHistory()
    h.append(0.0, 1, 0)
    h.append(float("nan"), 1, 0)
    h.append(float("nan"), 1, 0)
    points = h.points()
    assert len(points) == 2
    assert points[0].value == 0.0 and math.isnan(points[1].value)


def test_memory_per_point_is_small():
    tracemalloc.start()
    h = MetricHistory()
    before = tracemalloc.get_traced_memory()[0]
    for i in range(50_000):
        h.append(float(i), 1_700_000_000_000 + i, i)
    used = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    assert used / 50_000 <= 100
