"""Entities as MLflow's JSON: proto2 presence rules, int64 as numbers, NaN as "NaN".

Field order follows the proto declarations, as MLflow's serializer emits them.
"""

from __future__ import annotations

import itertools
import weakref
from typing import Any, Callable, Iterable, Iterator, Sequence

from fakeflow.web.jsonfmt import dumps_indented
from fakeflow.state.entities import DatasetInput, Experiment, Run
from fakeflow.state.metric_history import MetricPoint, json_number


class RawJSON(str):
    """A response body that is already JSON text."""


class StreamedJSON:
    """A success body written piece by piece as it is sent, after the store lock is released.

    A large answer then never exists whole: not as Python objects, nor as one string next to its
    encoded bytes. The pieces must come from data copied under the lock. A body that turns out
    small is sent whole, with a Content-Length; a larger one as it is produced (chunked).
    """

    WHOLE_LIMIT = 1 << 20  # bytes buffered before giving up on a Content-Length

    __slots__ = ("_pieces",)

    def __init__(self, pieces: Iterable[str]) -> None:
        self._pieces = pieces

    def __iter__(self) -> Iterator[bytes]:
        """The body's bytes (JSON text here is always ASCII)."""
        for piece in self._pieces:
            yield piece.encode("ascii")

    def respond(self, status: str, headers: Sequence[tuple[str, str]],
                start_response: Callable[..., Any]) -> Iterable[bytes]:
        """Start the WSGI answer (Content-Type first, then ``headers``); return its body."""
        pieces = iter(self)
        buffered: list[bytes] = []
        size = 0
        for piece in pieces:
            buffered.append(piece)
            size += len(piece)
            if size > self.WHOLE_LIMIT:
                start_response(status, [("Content-Type", "application/json"), *headers])
                return itertools.chain(buffered, pieces)
        data = b"".join(buffered)
        start_response(status, [("Content-Type", "application/json"),
                                ("Content-Length", str(len(data))), *headers])
        return [data]


def to_json(payload: dict[str, Any]) -> str:
    return dumps_indented(payload)


class _RunFragments:
    """Each run's search rendering, kept until the run (or the whole store) changes.

    Search answers are dominated by pretty-printing the same runs again and again. The store
    bumps ``Run.revision`` on every write and ``generation`` on every reset, so a cached
    fragment is reused only while it is provably current.
    """

    MAX_ENTRIES = 20000

    def __init__(self) -> None:
        self.generation = -1
        self.texts: dict[str, tuple[int, str]] = {}

    def get(self, generation: int, r: Run) -> str:
        if generation != self.generation or len(self.texts) >= self.MAX_ENTRIES:
            self.generation, self.texts = generation, {}
        entry = self.texts.get(r.run_id)
        if entry is not None and entry[0] == r.revision:
            return entry[1]
        text = dumps_indented(run(r, view="search"), _RUN_IN_SEARCH)
        self.texts[r.run_id] = (r.revision, text)
        return text


_RUN_IN_SEARCH = "\n    "  # runs sit two levels deep: {"runs": [ ... ]}
_fragments: "weakref.WeakKeyDictionary[Any, _RunFragments]" = weakref.WeakKeyDictionary()


def search_runs_answer(store: Any, runs: list[Run], token: str | None) -> RawJSON:
    """The SearchRuns body, byte for byte what ``to_json`` would give, from cached runs."""
    if not runs and not token:
        return RawJSON("{}")
    parts = []
    if runs:
        cache = _fragments.get(store)
        if cache is None:
            cache = _fragments[store] = _RunFragments()
        items = ",\n    ".join(cache.get(store.generation, r) for r in runs)
        parts.append(f'"runs": [\n    {items}\n  ]')
    if token:
        parts.append('"next_page_token": ' + dumps_indented(token))
    return RawJSON("{\n  " + ",\n  ".join(parts) + "\n}")


def key_values(items: dict[str, str]) -> list[dict[str, str]]:
    return [{"key": k, "value": val} for k, val in items.items()]


def experiment(e: Experiment) -> dict[str, Any]:
    out: dict[str, Any] = {
        "experiment_id": e.experiment_id,
        "name": e.name,
        "artifact_location": e.artifact_location,
        "lifecycle_stage": e.lifecycle_stage,
    }
    if e.last_update_time:
        out["last_update_time"] = e.last_update_time
    if e.creation_time:
        out["creation_time"] = e.creation_time
    if e.tags:
        out["tags"] = key_values(e.tags)
    out["workspace"] = "default"
    return out


def metric(key: str, point: MetricPoint) -> dict[str, Any]:
    return {"key": key, "value": json_number(point.value), "timestamp": point.timestamp, "step": point.step}


def run_info(r: Run) -> dict[str, Any]:
    out: dict[str, Any] = {
        "run_uuid": r.run_id,
        "experiment_id": r.experiment_id,
        "run_name": r.run_name,
        "user_id": r.user_id,
        "status": r.status,
        "start_time": r.start_time,
    }
    if r.end_time:
        out["end_time"] = r.end_time
    out["artifact_uri"] = r.artifact_uri
    out["lifecycle_stage"] = r.lifecycle_stage
    out["run_id"] = r.run_id
    return out


def run_data(r: Run) -> dict[str, Any]:
    out: dict[str, Any] = {}
    latest = r.latest_metrics()
    if latest:
        out["metrics"] = [metric(key, point) for key, point in latest.items()]
    if r.params:
        out["params"] = key_values(r.params)
    if r.tags:
        out["tags"] = key_values(r.tags)
    return out


def dataset_input(d: DatasetInput) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if d.tags:
        out["tags"] = key_values(d.tags)
    ds = d.dataset
    dataset: dict[str, Any] = {
        "name": ds.name, "digest": ds.digest, "source_type": ds.source_type, "source": ds.source
    }
    if ds.schema:
        dataset["schema"] = ds.schema
    if ds.profile:
        dataset["profile"] = ds.profile
    out["dataset"] = dataset
    return out


def run(r: Run, view: str = "get") -> dict[str, Any]:
    """``view``: "create" (inputs only), "get" (model inputs too), "search" (no model inputs)."""
    inputs: dict[str, Any] = {}
    if r.dataset_inputs:
        inputs["dataset_inputs"] = [dataset_input(d) for d in r.dataset_inputs]
    if view == "get" and r.model_inputs:
        # SQLite returns these in primary-key order, i.e. by model id.
        inputs["model_inputs"] = [{"model_id": m} for m in sorted(r.model_inputs)]
    out: dict[str, Any] = {"info": run_info(r), "data": run_data(r), "inputs": inputs}
    if view != "create":
        outputs: dict[str, Any] = {}
        if r.model_outputs:
            outputs["model_outputs"] = [
                {"model_id": o.model_id, "step": o.step}
                for o in sorted(r.model_outputs, key=lambda o: o.model_id)
            ]
        out["outputs"] = outputs
    return out
