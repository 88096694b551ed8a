"""Compact storage of one metric key's history: 24 bytes per point in three typed arrays.

Exact duplicate points are dropped lazily: history is kept sorted on demand in MLflow's order
(timestamp, step, value), where exact duplicates are adjacent and cheap to remove. Once sorted
("tidy"), the arrays stay sorted until a point arrives out of order, so reading any stretch of
the history costs only that stretch.
"""

from __future__ import annotations

import bisect
import itertools
import math
import operator
from array import array
from typing import Iterable, Iterator, NamedTuple


class MetricPoint(NamedTuple):
    value: float
    timestamp: int
    step: int


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


class HistoryWindow:
    """Copies of consecutive points of one history, in MLflow's order: one page of an answer.

    Copies, so that the answer can be encoded after the store lock is released while the
    history keeps changing.
    """

    __slots__ = ("values", "timestamps", "steps")

    def __init__(self, values: array | None = None, timestamps: array | None = None,
                 steps: array | None = None) -> None:
        self.values = values if values is not None else array("d")
        self.timestamps = timestamps if timestamps is not None else array("q")
        self.steps = steps if steps is not None else array("q")

    def __len__(self) -> int:
        return len(self.values)

    def __iter__(self) -> Iterator[MetricPoint]:
        return map(MetricPoint, self.values, self.timestamps, self.steps)


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
        if self._tidy and self._values:
            last_timestamp, last_step = self._timestamps[-1], self._steps[-1]
            if timestamp == last_timestamp and step == last_step:
                last = self._values[-1]
                if value == last or (value != value and last != last):
                    return  # an exact duplicate of the last point (NaN equals NaN here)
                if _value_key(value) < _value_key(last):
                    self._tidy = False
            elif (timestamp, step) < (last_timestamp, last_step):
                self._tidy = False
        self._values.append(value)
        self._timestamps.append(timestamp)
        self._steps.append(step)
        self._update_latest(value, timestamp, step)

    def _update_latest(self, value: float, timestamp: int, step: int) -> None:
        # Latest = greatest (step, timestamp, value); step first, NaN compared as 0.
        current = self.latest
        if current is None or (step, timestamp, comparable_value(value)) > (
            current.step,
            current.timestamp,
            comparable_value(current.value),
        ):
            self.latest = MetricPoint(value, timestamp, step)

    def window(self, start: int = 0, stop: int | None = None) -> HistoryWindow:
        """Copies of the points in ``[start, stop)`` of the history in MLflow's order.

        Costs ``stop - start`` once tidy; an untidy history is sorted first, once.
        """
        if not self._tidy:
            self._tidy_up()
        return HistoryWindow(self._values[start:stop], self._timestamps[start:stop],
                             self._steps[start:stop])

    def sample_by_step(self, count: int, first_step: int | None = None,
                       last_step: int | None = None) -> HistoryWindow:
        """Up to ``count`` points spread evenly over the history in step order (step, then
        timestamp, then value), within ``[first_step, last_step]`` if given: the first point of
        each of ``count`` near-equal buckets, the last bucket giving the last point instead.

        While steps rise with time (the usual case) the tidy order is the step order, and this
        costs one pass over the steps plus ``count``; otherwise the history is sorted by step.
        """
        if not self._tidy:
            self._tidy_up()
        steps = self._steps
        order: list[int] | None = None
        if not all(map(operator.le, steps, itertools.islice(steps, 1, None))):
            values, timestamps = self._values, self._timestamps
            order = sorted(range(len(steps)),
                           key=lambda i: (steps[i], timestamps[i], _value_key(values[i])))
            steps = array("q", [steps[i] for i in order])
        low = 0 if first_step is None else bisect.bisect_left(steps, first_step)
        high = len(steps) if last_step is None else bisect.bisect_right(steps, last_step)
        chosen = _spread(low, high, count)
        if order is not None:
            chosen = [order[i] for i in chosen]
        return HistoryWindow(array("d", [self._values[i] for i in chosen]),
                             array("q", [self._timestamps[i] for i in chosen]),
                             array("q", [self._steps[i] for i in chosen]))

    def points(self) -> list[MetricPoint]:
        """History in MLflow's order, exact duplicates removed."""
        return list(self.window())

    def __iter__(self) -> Iterator[MetricPoint]:
        return iter(self.window())

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
        """Sort into MLflow's order and drop exact duplicates, which sorting makes adjacent.

        One stable sort of an index list by timestamp, with the array's own item getter as the
        key (no tuple per point); only runs of equal timestamps are then sorted by step and
        value. Stability keeps the first logged of equal points, as MLflow keeps one row.
        """
        logged_values, logged_steps = self._values, self._steps
        order = sorted(range(len(logged_values)), key=self._timestamps.__getitem__)
        timestamps = array("q", map(self._timestamps.__getitem__, order))
        for start, stop in _equal_runs(timestamps):
            order[start:stop] = sorted(
                order[start:stop], key=lambda i: (logged_steps[i], _value_key(logged_values[i])))
        values = array("d", map(logged_values.__getitem__, order))
        steps = array("q", map(logged_steps.__getitem__, order))
        del order
        same_time = map(operator.eq, timestamps, itertools.islice(timestamps, 1, None))
        duplicates = [
            j for j in itertools.compress(range(1, len(values)), same_time)
            if steps[j] == steps[j - 1] and _same_value(values[j], values[j - 1])
        ]
        if duplicates:
            keep = [True] * len(values)
            for j in duplicates:
                keep[j] = False
            values = array("d", itertools.compress(values, keep))
            timestamps = array("q", itertools.compress(timestamps, keep))
            steps = array("q", itertools.compress(steps, keep))
        self._values, self._timestamps, self._steps = values, timestamps, steps
        self._tidy = True


def _equal_runs(items: array) -> Iterator[tuple[int, int]]:
    """``[start, stop)`` of each run of two or more equal neighbours in ``items``."""
    start = stop = -1
    for j in itertools.compress(range(1, len(items)),
                                map(operator.eq, items, itertools.islice(items, 1, None))):
        if j != stop:
            if stop > 0:
                yield start, stop
            start = j - 1
        stop = j + 1
    if stop > 0:
        yield start, stop


def _spread(low: int, high: int, count: int) -> list[int]:
    """Indices of the first item of each of ``count`` near-equal buckets of ``[low, high)``
    (larger buckets first), with the last index replaced by ``high - 1``."""
    total = high - low
    if total <= count:
        return list(range(low, high))
    size, extra = divmod(total, count)
    chosen, start = [], low
    for bucket in range(count):
        chosen.append(start)
        start += size + (1 if bucket < extra else 0)
    chosen[-1] = high - 1
    return chosen


def _value_key(value: float) -> tuple[float, bool]:
    is_nan = value != value
    return (0.0 if is_nan else value, is_nan)


def _same_value(a: float, b: float) -> bool:
    return a == b or (a != a and b != b)  # NaN equals NaN here
