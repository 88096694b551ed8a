"""Metric history storage: MLflow's order, duplicate dropping and the latest-value rule."""

from __future__ import annotations

import math
import tracemalloc

from hypothesis import given, settings
from hypothesis import strategies as st

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


def _reference_points(rows: list[tuple[float, int, int]]) -> list[tuple[str, int, int]]:
    """MLflow's history, the obvious way: one row per distinct (timestamp, step, value, is-NaN),
    the first logged kept, ordered by (timestamp, step, value) with NaN stored as 0."""
    kept: dict[tuple, tuple[float, int, int]] = {}
    for value, timestamp, step in rows:
        nan = math.isnan(value)
        kept.setdefault((timestamp, step, 0.0 if nan else value, nan), (value, timestamp, step))
    return [(str(v), t, s) for _, (v, t, s) in sorted(kept.items(), key=lambda item: item[0])]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.sampled_from([0.0, -0.0, 1.0, -2.5, math.nan, 1e308]),
                          st.integers(0, 4), st.integers(-2, 3)), max_size=40),
       st.integers(0, 40))
def test_points_are_mlflows_rows_whenever_they_are_read(rows, read_at) -> None:
    h = MetricHistory()
    for index, (value, timestamp, step) in enumerate(rows):
        if index == read_at:
            h.points()  # tidying in the middle must not change what comes out at the end
        h.append(value, timestamp, step)
    assert [(str(p.value), p.timestamp, p.step) for p in h.points()] == _reference_points(rows)
    assert len(h) == len(_reference_points(rows))


def test_a_window_is_a_copy_that_later_writes_do_not_touch():
    h = MetricHistory()
    for i in range(10):
        h.append(float(i), 100 + i, i)
    window = h.window(2, 5)
    h.append(-1.0, 0, 0)  # out of order: the next read re-sorts into new arrays
    h.append(99.0, 500, 99)
    assert h.window(0, 1).values.tolist() == [-1.0]
    assert list(window) == [MetricPoint(float(i), 100 + i, i) for i in (2, 3, 4)]
