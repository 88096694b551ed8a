"""Ids the client did not send correctly: a lone surrogate (valid JSON, not valid UTF-8 text),
invalid UTF-8 in a query string, or an id field after one that fails to parse.

Protobuf's JSON parser stops at such a value, so the id is *unset* in the parsed message; MLflow
then answers as for a missing or empty id. An unset id must never select the Default experiment
or any other entity: every case checks afterwards that nothing was changed.
"""

from __future__ import annotations

from ..model import API, DB_NOISE, Step, case, get, post
from .common import TS, get_experiment, get_run, new_experiment, new_run

R = frozenset({DB_NOISE})
S = "\ud800"  # a lone surrogate: json.dumps writes it as the escape \ud800
Q_SURROGATE = "%ED%A0%80"  # the same code point UTF-8-encoded: not decodable
Q_BAD_BYTE = "%FF"


def _query(route: str, **fields: str) -> Step:
    """A GET whose query string is sent verbatim (requests would re-escape ``%``)."""
    text = "&".join(f"{name}={value}" for name, value in fields.items())
    return Step("GET", f"{API}/{route}?{text}")


CASES = [
    case(
        "undecodable-experiment-id-writes",
        new_experiment("e1"),
        new_run("r1", "e1", start_time=TS),
        post("runs/create", {"experiment_id": "0", "start_time": TS}, capture={"r0": "run.info.run_id"}),
        post("experiments/delete", {"experiment_id": S}, relax=R),
        post("experiments/delete", {"experiment_id": S, "unknown": 1}, relax=R),
        post("experiments/restore", {"experiment_id": S}, relax=R),
        post("experiments/update", {"experiment_id": S, "new_name": "${p}"}, relax=R,
             note="parse stops at the id: no new_name, nothing to do"),
        post("experiments/update", {"new_name": "${p}", "experiment_id": S}, relax=R,
             note="MLflow looks up experiment 0 and renames it: here into a clash, so the "
                  "rename fails and the shared Default experiment stays untouched"),
        post("experiments/set-experiment-tag", {"experiment_id": S, "key": "k", "value": "v"},
             relax=R),
        post("experiments/set-experiment-tag", {"key": "k", "value": "v", "experiment_id": S},
             relax=R),
        post("experiments/delete-experiment-tag", {"experiment_id": S, "key": "k"}, relax=R),
        post("runs/create", {"experiment_id": S, "start_time": TS}, relax=R),
        post("runs/create", {"start_time": TS, "experiment_id": S}, relax=R),
        post("runs/create", {"run_name": S, "experiment_id": "${e1}"}, relax=R,
             note="the parse stops before experiment_id"),
        post("runs/create", {"experiment_id": 0}, relax=R),
        post("runs/create", {"experiment_id": ["0"]}, relax=R),
        get_experiment("e1"),
        get("experiments/get", {"experiment_id": "0"}),
        get_run("r0"),
        get_run("r1"),
    ),
    case(
        "undecodable-experiment-id-reads",
        new_experiment("e1"),
        new_run("r1", "e1", start_time=TS),
        post("experiments/get", {"experiment_id": S}),
        Step("GET", API + "/experiments/get", json={"experiment_id": S}, note="GET with a body"),
        _query("experiments/get", experiment_id=Q_SURROGATE),
        _query("experiments/get", experiment_id=Q_BAD_BYTE),
        _query("experiments/get-by-name", experiment_name=Q_SURROGATE),
        _query("experiments/get-by-name", experiment_name=Q_BAD_BYTE),
        post("runs/search", {"experiment_ids": [S]}, relax=R),
        post("runs/search", {"experiment_ids": ["${e1}", S]}, relax=R),
        post("runs/search", {"experiment_ids": [S, "${e1}"]}, relax=R),
        post("runs/search", {"filter": S, "experiment_ids": ["${e1}"]}, relax=R),
        post("experiments/search", {"filter": S}, relax=R),
        post("experiments/search", {"page_token": S}, relax=R),
    ),
    case(
        "undecodable-run-id-writes",
        new_experiment("e1"),
        new_run("r1", "e1", start_time=TS),
        post("runs/update", {"run_id": S, "status": "FINISHED"}, relax=R),
        post("runs/update", {"run_uuid": S, "status": "FINISHED"}, relax=R),
        post("runs/update", {"run_id": S, "run_uuid": "${r1}", "status": "FINISHED"}, relax=R),
        post("runs/update", {"run_uuid": S, "run_id": "${r1}", "status": "KILLED"}, relax=R),
        post("runs/delete", {"run_id": S}, relax=R),
        post("runs/restore", {"run_id": S}, relax=R),
        post("runs/log-metric", {"run_id": S, "key": "m", "value": 1, "timestamp": TS}, relax=R),
        post("runs/log-metric", {"run_uuid": S, "key": "m", "value": 1, "timestamp": TS}, relax=R),
        post("runs/log-metric", {"key": "m", "value": 1, "timestamp": TS, "run_id": S}, relax=R),
        post("runs/log-metric", {"run_id": "${r1}", "key": S, "value": 1, "timestamp": TS},
             relax=R),
        post("runs/log-parameter", {"run_id": S, "key": "p", "value": "v"}, relax=R),
        post("runs/log-parameter", {"run_uuid": S, "key": "p", "value": "v"}, relax=R),
        post("runs/log-parameter", {"run_id": "${r1}", "key": S, "value": "v"}, relax=R),
        post("runs/log-parameter", {"run_id": "${r1}", "key": "p", "value": S}, relax=R),
        post("runs/set-tag", {"run_id": S, "key": "t", "value": "v"}, relax=R),
        post("runs/set-tag", {"run_uuid": S, "key": "t", "value": "v"}, relax=R),
        post("runs/set-tag", {"run_id": "${r1}", "key": S, "value": "v"}, relax=R),
        post("runs/delete-tag", {"run_id": S, "key": "t"}, relax=R),
        post("runs/delete-tag", {"run_id": "${r1}", "key": S}, relax=R),
        post("runs/log-batch", {"run_id": S, "params": [{"key": "b", "value": "1"}]}, relax=R),
        post("runs/log-batch", {"params": [{"key": "b", "value": "1"}], "run_id": S}, relax=R),
        post("runs/log-inputs", {"run_id": S, "datasets": []}, relax=R),
        post("runs/log-outputs", {"run_id": S, "models": [{"model_id": "m-1", "step": 0}]},
             relax=R),
        post("runs/log-model", {"run_id": S, "model_json": "{}"}, relax=R),
        get_run("r1"),
    ),
    case(
        "undecodable-run-id-reads",
        new_experiment("e1"),
        new_run("r1", "e1", start_time=TS),
        _query("runs/get", run_id=Q_SURROGATE),
        _query("runs/get", run_id=Q_BAD_BYTE),
        _query("runs/get", run_uuid=Q_SURROGATE),
        post("runs/get", {"run_id": S}),
        _query("metrics/get-history", run_id=Q_SURROGATE, metric_key="m"),
        _query("metrics/get-history", run_id="${r1}", metric_key=Q_BAD_BYTE),
        _query("artifacts/list", run_id=Q_SURROGATE),
        _query("artifacts/list", run_uuid=Q_BAD_BYTE),
    ),
]
