"""Many clients at once: every accepted write is read back exactly, and nothing else is there.

16 threads, each with its own ``requests.Session``, mix every tracking write route into shared
entities (one experiment and two runs all threads write to) and private ones (an experiment, a
run, a victim experiment and a victim run per thread). Each thread records what the server
accepted; keys are per thread (or checked as sets where threads share one), so the expected end
state does not depend on how the threads interleave. Afterwards runs/get, metrics/get-history,
experiments/get and both searches must show exactly that state. The same workload runs over
HTTP and through the in-process transport.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections import defaultdict
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Any, Iterator

import pytest
import requests

import fakeflow
from fakeflow.server import ThreadedServer
from fakeflow.transport import route_in_process

THREADS = 16
ROUNDS = 6
API = "/api/2.0/mlflow/"
Point = tuple[float, int, int]  # value, timestamp, step


@dataclass
class Expected:
    """What the server accepted, per entity; merged from all threads after they finish."""

    run_params: dict[str, dict[str, str]] = field(default_factory=lambda: defaultdict(dict))
    run_tags: dict[str, dict[str, str]] = field(default_factory=lambda: defaultdict(dict))
    run_metrics: dict[str, dict[str, list[Point]]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(list)))
    run_datasets: dict[str, set[tuple[str, str]]] = field(default_factory=lambda: defaultdict(set))
    run_model_inputs: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    run_model_outputs: dict[str, set[tuple[str, int]]] = field(default_factory=lambda: defaultdict(set))
    run_logged_models: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    run_state: dict[str, dict[str, Any]] = field(default_factory=dict)  # status, name, stage
    experiment_tags: dict[str, dict[str, str]] = field(default_factory=lambda: defaultdict(dict))
    experiment_state: dict[str, dict[str, str]] = field(default_factory=dict)  # name, stage
    runs_in: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))

    def merge(self, other: "Expected") -> None:
        for name in ("run_params", "run_tags", "experiment_tags"):
            mine, theirs = getattr(self, name), getattr(other, name)
            for key, values in theirs.items():
                overlap = mine[key].keys() & values.keys()
                assert not overlap, f"workload bug: threads share keys {overlap}"
                mine[key].update(values)
        for run, histories in other.run_metrics.items():
            for key, points in histories.items():
                self.run_metrics[run][key].extend(points)
        for name in ("run_datasets", "run_model_inputs", "run_model_outputs", "run_logged_models",
                     "runs_in"):
            mine, theirs = getattr(self, name), getattr(other, name)
            for key, values in theirs.items():
                mine[key] |= values
        self.run_state.update(other.run_state)
        self.experiment_state.update(other.experiment_state)


class Client:
    """One thread's session; ``ok`` insists on 200, ``call`` returns the answer as is."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.session = requests.Session()

    def call(self, method: str, route: str, payload: dict[str, Any]) -> requests.Response:
        if method == "GET":
            return self.session.get(self.url + API + route, params=payload, timeout=30)
        return self.session.post(self.url + API + route, json=payload, timeout=30)

    def ok(self, method: str, route: str, payload: dict[str, Any]) -> dict[str, Any]:
        answer = self.call(method, route, payload)
        assert answer.status_code == 200, f"{route} {payload}: {answer.status_code} {answer.text}"
        return answer.json()


def _dataset(name: str, digest: str) -> dict[str, Any]:
    return {"tags": [{"key": "mlflow.data.context", "value": "train"}],
            "dataset": {"name": name, "digest": digest, "source_type": "local", "source": "s"}}


def _model_json(run_id: str, path: str) -> str:
    return json.dumps({"run_id": run_id, "artifact_path": path, "utc_time_created": "2024-01-01",
                       "flavors": {"python_function": {"loader_module": "x"}}})


def worker(url: str, t: int, prefix: str, shared: dict[str, str], out: Expected,
           errors: list[BaseException]) -> None:
    """One client's workload; every accepted write goes into ``out``."""
    try:
        _work(Client(url), t, prefix, shared, out)
    except BaseException as error:  # reported by the test
        errors.append(error)


def _work(c: Client, t: int, prefix: str, shared: dict[str, str], out: Expected) -> None:
    se, sr1, sr2 = shared["experiment"], shared["run1"], shared["run2"]
    # private entities
    own_tags = {f"own{t}": "x"}
    e = c.ok("POST", "experiments/create", {"name": f"{prefix}-own-{t}",
                                             "tags": [{"key": k, "value": v} for k, v in own_tags.items()]})
    e = e["experiment_id"]
    out.experiment_tags[e].update(own_tags)
    out.experiment_state[e] = {"name": f"{prefix}-own-{t}", "stage": "active"}
    v = c.ok("POST", "experiments/create", {"name": f"{prefix}-victim-{t}"})["experiment_id"]
    out.experiment_state[v] = {"name": f"{prefix}-victim-{t}", "stage": "active"}
    run_tags = {f"rt{t}": "y"}
    r = c.ok("POST", "runs/create", {"experiment_id": e, "run_name": f"own-{t}", "start_time": t,
                                      "tags": [{"key": k, "value": val} for k, val in run_tags.items()]})
    r = r["run"]["info"]["run_id"]
    out.run_tags[r].update(run_tags)
    out.run_state[r] = {"status": "RUNNING", "name": f"own-{t}", "stage": "active"}
    w = c.ok("POST", "runs/create", {"experiment_id": e, "run_name": f"victim-{t}"})["run"]["info"]["run_id"]
    out.run_state[w] = {"status": "RUNNING", "name": f"victim-{t}", "stage": "active"}
    out.runs_in[e] |= {r, w}

    for i in range(ROUNDS):
        step, ts = i, 1000 * t + i
        # experiments: shared tags (own keys), rename and delete/restore the victim
        c.ok("POST", "experiments/set-experiment-tag",
             {"experiment_id": se, "key": f"t{t}.{i}", "value": str(i)})
        out.experiment_tags[se][f"t{t}.{i}"] = str(i)
        c.ok("POST", "experiments/set-experiment-tag", {"experiment_id": e, "key": f"k{i}", "value": "v"})
        out.experiment_tags[e][f"k{i}"] = "v"
        if i % 3 == 2:
            c.ok("POST", "experiments/delete-experiment-tag", {"experiment_id": se, "key": f"t{t}.{i - 1}"})
            del out.experiment_tags[se][f"t{t}.{i - 1}"]
        new_name = f"{prefix}-victim-{t}-{i}"
        if i % 2 == 0:  # active now
            c.ok("POST", "experiments/update", {"experiment_id": v, "new_name": new_name})
            out.experiment_state[v]["name"] = new_name
        else:  # deleted in the previous round: a rename is refused and changes nothing
            refused = c.call("POST", "experiments/update", {"experiment_id": v, "new_name": new_name})
            assert refused.status_code == 500 and "non-active" in refused.text, refused.text
        route = "experiments/delete" if i % 2 == 0 else "experiments/restore"
        c.ok("POST", route, {"experiment_id": v})
        out.experiment_state[v]["stage"] = "deleted" if i % 2 == 0 else "active"

        # metrics: per-thread keys on shared runs, one key every thread writes to
        for run in (sr1, r):
            c.ok("POST", "runs/log-metric", {"run_id": run, "key": f"m{t}", "value": i * 0.5,
                                             "timestamp": ts, "step": step})
            out.run_metrics[run][f"m{t}"].append((i * 0.5, ts, step))
        c.ok("POST", "runs/log-metric", {"run_id": sr2, "key": "everyone", "value": float(t),
                                         "timestamp": ts, "step": step})
        out.run_metrics[sr2]["everyone"].append((float(t), ts, step))

        # a batch: metrics, params, tags at once
        batch = {"run_id": sr1,
                 "metrics": [{"key": f"b{t}", "value": i + j, "timestamp": ts, "step": j} for j in range(2)],
                 "params": [{"key": f"bp{t}.{i}", "value": str(i)}],
                 "tags": [{"key": f"bt{t}", "value": str(i)}]}
        c.ok("POST", "runs/log-batch", batch)
        out.run_metrics[sr1][f"b{t}"] += [(float(i + j), ts, j) for j in range(2)]
        out.run_params[sr1][f"bp{t}.{i}"] = str(i)
        out.run_tags[sr1][f"bt{t}"] = str(i)

        # params: new ones, the same again (accepted), another value (rejected, nothing changes)
        for run in (sr2, r):
            c.ok("POST", "runs/log-parameter", {"run_id": run, "key": f"p{t}.{i}", "value": "a"})
            c.ok("POST", "runs/log-parameter", {"run_id": run, "key": f"p{t}.{i}", "value": "a"})
            out.run_params[run][f"p{t}.{i}"] = "a"
        changed = c.call("POST", "runs/log-parameter", {"run_id": sr2, "key": f"p{t}.{i}", "value": "b"})
        assert changed.status_code == 400, changed.text

        # tags: set, and delete some again
        c.ok("POST", "runs/set-tag", {"run_id": sr2, "key": f"st{t}.{i}", "value": str(i)})
        out.run_tags[sr2][f"st{t}.{i}"] = str(i)
        if i % 2 == 1:
            c.ok("POST", "runs/delete-tag", {"run_id": sr2, "key": f"st{t}.{i - 1}"})
            del out.run_tags[sr2][f"st{t}.{i - 1}"]

        # run lifecycle: private run updates, victim deleted and restored
        status = ("FINISHED", "RUNNING", "FAILED")[i % 3]
        c.ok("POST", "runs/update", {"run_id": r, "status": status, "run_name": f"own-{t}-{i}"})
        out.run_state[r].update(status=status, name=f"own-{t}-{i}")
        route = "runs/delete" if i % 2 == 0 else "runs/restore"
        c.ok("POST", route, {"run_id": w})
        out.run_state[w]["stage"] = "deleted" if i % 2 == 0 else "active"

        # inputs, outputs, logged models
        c.ok("POST", "runs/log-inputs", {"run_id": sr1, "datasets": [_dataset(f"d{t}", f"g{i}")],
                                         "models": [{"model_id": f"m-in-{t}-{i}"}]})
        out.run_datasets[sr1].add((f"d{t}", f"g{i}"))
        out.run_model_inputs[sr1].add(f"m-in-{t}-{i}")
        for run in (sr2, r):
            c.ok("POST", "runs/outputs",
                 {"run_id": run, "models": [{"model_id": f"m-out-{t}-{i}", "step": i}]})
            out.run_model_outputs[run].add((f"m-out-{t}-{i}", i))
        for run in (sr1, r):
            c.ok("POST", "runs/log-model", {"run_id": run, "model_json": _model_json(run, f"model-{t}-{i}")})
            out.run_logged_models[run].add(f"model-{t}-{i}")


# -- checking ----------------------------------------------------------------------------------

def _latest(points: list[Point]) -> Point:
    """MLflow's latest value: highest step, then timestamp, then value."""
    return max(points, key=lambda p: (p[2], p[1], p[0]))


def check_run(c: Client, run_id: str, want: Expected) -> None:
    run = c.ok("GET", "runs/get", {"run_id": run_id})["run"]
    data, info = run["data"], run["info"]
    params = {p["key"]: p["value"] for p in data.get("params", [])}
    assert params == want.run_params.get(run_id, {})
    tags = {p["key"]: p["value"] for p in data.get("tags", [])}
    history = json.loads(tags.pop("mlflow.log-model.history", "[]"))
    assert {m["artifact_path"] for m in history} == want.run_logged_models.get(run_id, set())
    assert len(history) == len(want.run_logged_models.get(run_id, set()))
    tags.pop("mlflow.runName", None)
    assert tags == want.run_tags.get(run_id, {})
    histories = want.run_metrics.get(run_id, {})
    latest = {m["key"]: (m["value"], m["timestamp"], m["step"]) for m in data.get("metrics", [])}
    assert latest == {key: _latest(points) for key, points in histories.items()}
    for key, points in histories.items():
        got = c.ok("GET", "metrics/get-history", {"run_id": run_id, "metric_key": key}).get("metrics", [])
        assert sorted((m["value"], m["timestamp"], m["step"]) for m in got) == sorted(points), key
    inputs, outputs = run.get("inputs", {}), run.get("outputs", {})
    datasets = {(d["dataset"]["name"], d["dataset"]["digest"]) for d in inputs.get("dataset_inputs", [])}
    assert datasets == want.run_datasets.get(run_id, set())
    assert len(inputs.get("dataset_inputs", [])) == len(datasets)
    assert {m["model_id"] for m in inputs.get("model_inputs", [])} == want.run_model_inputs.get(run_id, set())
    got_outputs = [(m["model_id"], m["step"]) for m in outputs.get("model_outputs", [])]
    assert sorted(got_outputs) == sorted(want.run_model_outputs.get(run_id, set()))
    state = want.run_state.get(run_id)
    if state is not None:
        assert (info["status"], info["run_name"], info["lifecycle_stage"]) == \
            (state["status"], state["name"], state["stage"])


def check_experiment(c: Client, experiment_id: str, want: Expected) -> None:
    experiment = c.ok("GET", "experiments/get", {"experiment_id": experiment_id})["experiment"]
    tags = {t["key"]: t["value"] for t in experiment.get("tags", [])}
    assert tags == want.experiment_tags.get(experiment_id, {})
    state = want.experiment_state.get(experiment_id)
    if state is not None:
        assert (experiment["name"], experiment["lifecycle_stage"]) == (state["name"], state["stage"])


def check_searches(c: Client, prefix: str, want: Expected, shared: dict[str, str]) -> None:
    found = c.ok("POST", "experiments/search", {"max_results": 1000, "view_type": "ALL",
                                                "filter": f"name LIKE '{prefix}-%'"})
    names = {e["name"] for e in found.get("experiments", [])}
    assert names == {s["name"] for s in want.experiment_state.values()} | {f"{prefix}-shared"}
    for experiment_id, runs in [(shared["experiment"], {shared["run1"], shared["run2"]}),
                                *want.runs_in.items()]:
        answer = c.ok("POST", "runs/search", {"experiment_ids": [experiment_id], "run_view_type": "ALL",
                                              "max_results": 1000})
        assert {run["info"]["run_id"] for run in answer.get("runs", [])} == runs


# -- the test ----------------------------------------------------------------------------------

@pytest.fixture(params=["http", "inprocess"])
def server_url(request: pytest.FixtureRequest) -> Iterator[str]:
    with ThreadedServer(fakeflow.create_app()) as server:
        routed = route_in_process(server.url, server.app) if request.param == "inprocess" else nullcontext()
        with routed:
            yield server.url


def test_concurrent_writes_all_land_exactly(server_url: str) -> None:
    prefix = f"conc-{uuid.uuid4().hex[:8]}"
    setup = Client(server_url)
    se = setup.ok("POST", "experiments/create", {"name": f"{prefix}-shared"})["experiment_id"]
    sr1 = setup.ok("POST", "runs/create", {"experiment_id": se, "run_name": "s1"})["run"]["info"]["run_id"]
    sr2 = setup.ok("POST", "runs/create", {"experiment_id": se, "run_name": "s2"})["run"]["info"]["run_id"]
    shared = {"experiment": se, "run1": sr1, "run2": sr2}

    outs = [Expected() for _ in range(THREADS)]
    errors: list[BaseException] = []
    threads = [threading.Thread(target=worker, args=(server_url, t, prefix, shared, outs[t], errors))
               for t in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a worker hung"
    if errors:
        raise errors[0]

    want = Expected()
    for out in outs:
        want.merge(out)
    want.experiment_state[se] = {"name": f"{prefix}-shared", "stage": "active"}
    for run in (sr1, sr2):
        want.run_state[run] = {"status": "RUNNING", "name": "s1" if run == sr1 else "s2", "stage": "active"}

    for run in {sr1, sr2} | set(want.run_state):
        check_run(setup, run, want)
    for experiment_id in set(want.experiment_state):
        check_experiment(setup, experiment_id, want)
    check_searches(setup, prefix, want, shared)
