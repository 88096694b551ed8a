"""Compact storage of one metric key's history: 24 bytes per point in three typed arrays.

Exact duplicate points are dropped lazily: history is kept sorted on demand in MLflow's order
(timestamp, step, value), where exact duplicates are adjacent and cheap to remove.
"""

from __future__ import annotations

import math
from array import array
from typing import Iterable, Iterator, NamedTuple


class MetricPoint(NamedTuple):
    value: float
    timestamp: int
    step: int


def _sort_key(point: MetricPoint) -> tuple[int, int, float, bool]:
    # The SQL store keeps NaN as value 0 plus an is_nan flag, and orders by the stored value.
    is_nan = math.isnan(point.value)
    return (point.timestamp, point.step, 0.0 if is_nan else point.value, is_nan)


def json_number(value: float) -> float | str:
    """A metric value as MLflow's JSON spells it: NaN and infinities as strings."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return value


def comparable_value(value: float) -> float:
    """NaN counts as 0 wherever MLflow compares stored metric values."""
    return 0.0 if math.isnan(value) else value


class MetricHistory:
    """Every point logged for one key of one run, plus the latest point by MLflow's rule."""

    __slots__ = ("_values", "_timestamps", "_steps", "_tidy", "latest")

    def __init__(self) -> None:
        self._values = array("d")
        self._timestamps = array("q")
        self._steps = array("q")
        self._tidy = True
        self.latest: MetricPoint | None = None

    def append(self, value: float, timestamp: int, step: int) -> None:
        n = len(self._values)
        if n and self._tidy:
            last = MetricPoint(self._values[-1], self._timestamps[-1], self._steps[-1])
            new = MetricPoint(value, timestamp, step)
            if _same_point(last, new):
                return
            if _sort_key(new) < _sort_key(last):
                self._tidy = False
        self._values.append(value)
        self._timestamps.append(timestamp)
        self._steps.append(step)
        self._update_latest(MetricPoint(value, timestamp, step))

    def _update_latest(self, point: MetricPoint) -> None:
        # Latest = greatest (step, timestamp, value); step first, NaN compared as 0.
        current = self.latest
        if current is None or (point.step, point.timestamp, comparable_value(point.value)) > (
            current.step,
            current.timestamp,
            comparable_value(current.value),
        ):
            self.latest = point

    def points(self) -> list[MetricPoint]:
        """History in MLflow's order, exact duplicates removed."""
        if not self._tidy:
            self._tidy_up()
        return [MetricPoint(*p) for p in zip(self._values, self._timestamps, self._steps)]

    def __iter__(self) -> Iterator[MetricPoint]:
        return iter(self.points())

    def __len__(self) -> int:
        if not self._tidy:
            self._tidy_up()
        return len(self._values)

    def raw(self) -> tuple[array, array, array, bool]:
        """The stored arrays (values, timestamps, steps) as they are, and whether they are tidy.

        For snapshots: replaying points through ``append`` could pick another latest point among
        ties, so a snapshot copies the arrays and ``latest`` as they are.
        """
        return self._values, self._timestamps, self._steps, self._tidy

    @classmethod
    def from_raw(
        cls,
        values: Iterable[float],
        timestamps: Iterable[int],
        steps: Iterable[int],
        tidy: bool,
        latest: MetricPoint | None,
    ) -> "MetricHistory":
        history = cls()
        history._values = array("d", values)
        history._timestamps = array("q", timestamps)
        history._steps = array("q", steps)
        if not len(history._values) == len(history._timestamps) == len(history._steps):
            raise ValueError("metric history arrays differ in length")
        history._tidy = tidy
        history.latest = latest
        return history

    def _tidy_up(self) -> None:
        ordered = sorted(
            (MetricPoint(*p) for p in zip(self._values, self._timestamps, self._steps)),
            key=_sort_key,
        )
        values, timestamps, steps = array("d"), array("q"), array("q")
        previous: MetricPoint | None = None
        for point in ordered:
            if previous is not None and _same_point(previous, point):
                continue
            values.append(point.value)
            timestamps.append(point.timestamp)
            steps.append(point.step)
            previous = point
        self._values, self._timestamps, self._steps = values, timestamps, steps
        self._tidy = True


def _same_point(a: MetricPoint, b: MetricPoint) -> bool:
    if a.timestamp != b.timestamp or a.step != b.step:
        return False
    a_nan, b_nan = math.isnan(a.value), math.isnan(b.value)
    return a_nan == b_nan and (a_nan or a.value == b.value)
