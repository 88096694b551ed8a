"""log-batch: mixed payloads, limits, validation paths, atomicity, param conflicts."""

from __future__ import annotations

from ..model import DB_NOISE, ajax_post, case, post
from .common import TS, get_run, history, new_experiment, new_run, split_options

BOGUS_RUN = "0123456789abcdef0123456789abcdef"
R = frozenset({DB_NOISE})


def batch(run: str = "r1", **fields: object) -> object:
    body, options = split_options(fields)
    return post("runs/log-batch", {"run_id": "${%s}" % run, **body}, **options)


def metrics(n: int, key: str = "m") -> list[dict]:
    return [{"key": key, "value": float(i), "timestamp": TS, "step": i} for i in range(n)]


def params(n: int) -> list[dict]:
    return [{"key": f"p{i}", "value": str(i)} for i in range(n)]


def tags(n: int) -> list[dict]:
    return [{"key": f"t{i}", "value": str(i)} for i in range(n)]


CASES = [
    case(
        "batch-mixed",
        new_experiment("e1"),
        new_run("r1", "e1", run_name="b"),
        batch(metrics=[{"key": "a", "value": 1, "timestamp": TS, "step": 1},
                       {"key": "a", "value": 2, "timestamp": TS + 1, "step": 2},
                       {"key": "a", "value": 2, "timestamp": TS + 1, "step": 2},
                       {"key": "b", "value": "NaN", "timestamp": TS},
                       {"key": "c", "value": "-Infinity", "timestamp": TS, "step": 0}],
              params=[{"key": "lr", "value": "0.1"}, {"key": "empty"}],
              tags=[{"key": "t", "value": "1"}, {"key": "t", "value": "2"}, {"key": "novalue"}]),
        get_run("r1"),
        history("r1", "a"),
        batch(params=[{"key": "lr", "value": "0.1"}], note="same value again is fine"),
        batch(params=[{"key": "lr", "value": "0.2"}]),
        batch(params=[{"key": "q", "value": "1"}, {"key": "q", "value": "1"}]),
        batch(params=[{"key": "long", "value": "v" * 6001}], tags=[{"key": "long", "value": "v" * 8001}]),
        batch(),
        batch(metrics=[], params=[], tags=[]),
        post("runs/log-batch", {"run_uuid": "${r1}", "params": [{"key": "u", "value": "1"}]}),
        ajax_post("runs/log-batch", {"run_id": "${r1}", "params": [{"key": "ajax", "value": "1"}]}),
        get_run("r1"),
    ),
    case(
        "batch-limits",
        new_experiment("e1"),
        new_run("r1", "e1", run_name="l"),
        batch(params=params(101)),
        batch(tags=tags(101)),
        batch(metrics=metrics(1001)),
        batch(metrics=metrics(900), params=params(100), tags=tags(1)),
        get_run("r1", note="nothing written by rejected batches"),
        batch(metrics=metrics(1000)),
        batch(params=params(100)),
        batch(tags=tags(100)),
        batch(metrics=metrics(800, key="n"), params=[{"key": "x", "value": "1"}], tags=tags(99)),
        post("metrics/get-history", {}, note="wrong method, still html"),
        get_run("r1"),
    ),
    case(
        "batch-validation-atomic",
        new_experiment("e1"),
        new_run("r1", "e1", run_name="v"),
        batch(params=[{"key": "p", "value": "1"}]),
        batch(metrics=[{"key": "ok", "value": 1, "timestamp": TS}, {"key": "bad", "value": 1}],
              params=[{"key": "new", "value": "1"}]),
        batch(metrics=[{"key": "ok", "value": 1, "timestamp": TS}], params=[{"key": "p", "value": "2"}]),
        batch(metrics=[{"key": "ok", "value": 1, "timestamp": TS}], tags=[{"key": "bad!key", "value": "x"}]),
        batch(metrics=[{"key": "ok", "timestamp": TS}]),
        batch(metrics=[{"value": 1, "timestamp": TS}]),
        batch(params=[{"value": "1"}]),
        batch(tags=[{"value": "1"}]),
        batch(metrics=[{"key": "ok", "value": 1, "timestamp": -5}]),
        batch(metrics=[{"key": "ok", "value": "abc", "timestamp": TS}]),
        batch(metrics=[{"key": "k" * 251, "value": 1, "timestamp": TS}]),
        batch(params=[{"key": "k" * 251, "value": "1"}]),
        batch(tags=[{"key": "k" * 251, "value": "1"}]),
        batch(params=[{"key": "a/../b", "value": "1"}]),
        batch(metrics={"key": "m"}),
        batch(params="p"),
        batch(tags=[["k", "v"]]),
        batch(params=[{"key": "n", "value": 5}]),
        get_run("r1", note="nothing from the rejected batches"),
        post("runs/log-batch", {"metrics": []}),
        post("runs/log-batch", {"run_id": BOGUS_RUN, "params": [{"key": "a", "value": "1"}]}),
        post("runs/log-batch", {"run_id": "bad id!", "params": [{"key": "a", "value": "1"}]}),
        post("runs/log-batch", {"run_id": "", "params": [{"key": "a", "value": "1"}]}),
        batch(metrics=[{"key": "mm", "value": 1, "timestamp": TS, "model_id": "m-doesnotexist"}],
              params=[{"key": "pp", "value": "1"}], tags=[{"key": "tt", "value": "1"}], relax=R),
        get_run("r1", note="see whether the model-id failure left partial writes"),
    ),
]
