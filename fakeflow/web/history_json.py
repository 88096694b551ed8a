"""Metric history answers written straight from copied history arrays, a slice at a time.

The text is byte for byte what ``dumps_indented`` makes of ``{"metrics": [render.metric(...),
...], "next_page_token": ...}``, but no dict per point is built and the whole answer is never
one string: a million-point history is sent as it is encoded.
"""

from __future__ import annotations

from json.encoder import encode_basestring_ascii as _quote
from typing import Iterable, Iterator

from fakeflow.state.metric_history import HistoryWindow
from fakeflow.web.render import RawJSON, StreamedJSON

#: Points encoded per piece: about 130 KB of text.
POINTS_PER_PIECE = 1024

_ITEM = ",\n    "  # between two points: they sit two levels deep, {"metrics": [ ... ]}
# f-strings spell a float as repr() does, which is json.dumps' spelling, except for the three
# values JSON lacks; MLflow sends those as strings. A key or run id is one quoted line, so the
# preceding line break makes these patterns unambiguous.
_SPECIALS = (
    ('\n      "value": nan,', '\n      "value": "NaN",'),
    ('\n      "value": inf,', '\n      "value": "Infinity",'),
    ('\n      "value": -inf,', '\n      "value": "-Infinity",'),
)


def _points(key: str, window: HistoryWindow, run_id: str | None) -> Iterator[str]:
    """The points of ``window`` as JSON objects joined by ``_ITEM``, in pieces."""
    head = '{\n      "key": ' + _quote(key) + ',\n      "value": '
    middle = ',\n      "timestamp": '
    step = ',\n      "step": '
    tail = "\n    }" if run_id is None else ',\n      "run_id": ' + _quote(run_id) + "\n    }"
    values, timestamps, steps = window.values, window.timestamps, window.steps
    for start in range(0, len(values), POINTS_PER_PIECE):
        stop = start + POINTS_PER_PIECE
        text = _ITEM.join([
            f"{head}{v}{middle}{t}{step}{s}{tail}"
            for v, t, s in zip(values[start:stop], timestamps[start:stop], steps[start:stop])
        ])
        for pattern, spelling in _SPECIALS:
            text = text.replace(pattern, spelling)
        yield text


def _body(windows: Iterable[tuple[str, HistoryWindow, str | None]],
          token: str | None) -> Iterator[str]:
    opening = '{\n  "metrics": [\n    '
    for key, window, run_id in windows:
        for piece in _points(key, window, run_id):
            yield opening + piece
            opening = _ITEM
    closing = "\n  ]" if opening == _ITEM else None
    if token:
        yield ("{" if closing is None else closing + ",") + '\n  "next_page_token": ' + \
            _quote(token) + "\n}"
    else:
        yield "{}" if closing is None else closing + "\n}"


def history_answer(key: str, window: HistoryWindow, token: str | None) -> RawJSON | StreamedJSON:
    """GetMetricHistory's body for one page (``window``, copied under the store lock)."""
    if not len(window) and not token:
        return RawJSON("{}")
    return StreamedJSON(_body([(key, window, None)], token))


def bulk_interval_answer(key: str,
                         sampled: Iterable[tuple[str, HistoryWindow]]) -> RawJSON | StreamedJSON:
    """GetMetricHistoryBulkInterval's body: each run's sampled points, tagged with its id."""
    windows = [(key, window, run_id) for run_id, window in sampled if len(window)]
    if not windows:
        return RawJSON("{}")
    return StreamedJSON(_body(windows, None))


def _flask_points(key: str, run_id: str, window: HistoryWindow) -> Iterator[str]:
    """Points as Flask's ``jsonify`` writes MetricWithRunId dicts: compact, keys sorted, and
    NaN/Infinity as bare words (Python's JSON spelling, not MLflow's proto one)."""
    head = '{"key":' + _quote(key) + ',"run_id":' + _quote(run_id) + ',"step":'
    values, timestamps, steps = window.values, window.timestamps, window.steps
    for start in range(0, len(values), POINTS_PER_PIECE):
        stop = start + POINTS_PER_PIECE
        yield ",".join([
            f'{head}{s},"timestamp":{t},"value":{_python_json_float(v)}}}'
            for v, t, s in zip(values[start:stop], timestamps[start:stop], steps[start:stop])
        ])


def _python_json_float(value: float) -> str:
    if value != value:
        return "NaN"
    if value in (float("inf"), float("-inf")):
        return "Infinity" if value > 0 else "-Infinity"
    return repr(value)


def bulk_answer(key: str, windows: Iterable[tuple[str, HistoryWindow]]) -> StreamedJSON:
    """The UI's GetMetricHistoryBulk body (a plain Flask JSON answer): each run's points."""
    def pieces() -> Iterator[str]:
        separator = '{"metrics":['
        for run_id, window in windows:
            for piece in _flask_points(key, run_id, window):
                yield separator + piece
                separator = ","
        yield ("]}\n" if separator == "," else '{"metrics":[]}\n')

    return StreamedJSON(pieces())
