"""The measured requests and the data behind them, identical for every target.

Seeding goes over HTTP with the same client, so fakeflow and real MLflow hold the same runs.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from benchmarks._client import BenchmarkError, Call, Client

API = "/api/2.0/mlflow"
LOG_METRIC_PATH = f"{API}/runs/log-metric"
SEARCH_PATH = f"{API}/runs/search"

SEARCH_RUNS = 100
SEARCH_PAGE = 50
#: The second search workload: same data and filter, a small page, so the cost of the search
#: itself shows apart from the cost of writing 50 runs of pretty-printed JSON.
SMALL_SEARCH_PAGE = 10
SEARCH_FILTER = "metrics.acc > 0.2 and params.optimizer = 'adam'"
SEARCH_ORDER_BY = ["metrics.acc DESC"]
BASE_TIME_MS = 1_700_000_000_000

#: Every measured workload, in report order: key -> label.
WORKLOADS = {"log_metric": "log-metric", "search": f"run search (page of {SEARCH_PAGE})",
             "search_10": f"run search (page of {SMALL_SEARCH_PAGE})"}
#: The search workloads -> their page size (same runs, filter and order for both).
SEARCH_PAGES = {"search": SEARCH_PAGE, "search_10": SMALL_SEARCH_PAGE}

#: What the bare app is sent in place of ids it never created (same shape and length).
PLACEHOLDER_RUN_ID = "0" * 32
PLACEHOLDER_EXPERIMENT_ID = "1"


def _post(client: Client, path: str, payload: dict[str, Any]) -> dict[str, Any]:
    status, body = client.send(Call("POST", f"{API}{path}", json.dumps(payload).encode()))
    if status != 200:
        raise BenchmarkError(f"seeding {path} -> {status}: {body[:300]!r}")
    return json.loads(body)


def run_data(index: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """(create-run request minus experiment id, log-batch request minus run id) for run ``index``."""
    create = {
        "run_name": f"run-{index:03d}",
        "start_time": BASE_TIME_MS + index * 1000,
        "tags": [{"key": "team", "value": "vision" if index % 2 else "nlp"},
                 {"key": "stage", "value": "dev"}],
    }
    batch = {
        "params": [{"key": "optimizer", "value": "sgd" if index % 5 == 0 else "adam"},
                   {"key": "lr", "value": str(0.001 * (1 + index % 7))},
                   {"key": "layers", "value": str(2 + index % 4)}],
        "metrics": [{"key": name, "value": value, "timestamp": BASE_TIME_MS + index, "step": 0}
                    for name, value in (("acc", (index % 50) / 50), ("loss", 1 - (index % 50) / 50),
                                        ("f1", (index % 33) / 33))],
    }
    return create, batch


def seed_search_experiment(client: Client, runs: int = SEARCH_RUNS) -> str:
    """Create an experiment of ``runs`` runs with 3 params, 3 metrics, 3 tags each; its id."""
    name = f"bench-search-{uuid.uuid4().hex[:8]}"
    experiment_id = _post(client, "/experiments/create", {"name": name})["experiment_id"]
    for index in range(runs):
        create, batch = run_data(index)
        run_id = _post(client, "/runs/create", {"experiment_id": experiment_id, **create})[
            "run"]["info"]["run_id"]
        _post(client, "/runs/log-batch", {"run_id": run_id, **batch})
    return experiment_id


def create_metric_run(client: Client) -> str:
    """A fresh run in a fresh experiment to log metrics into."""
    name = f"bench-log-{uuid.uuid4().hex[:8]}"
    experiment_id = _post(client, "/experiments/create", {"name": name})["experiment_id"]
    return _post(client, "/runs/create", {"experiment_id": experiment_id,
                                          "start_time": BASE_TIME_MS})["run"]["info"]["run_id"]


def log_metric_calls(run_id: str, count: int, first_step: int = 0) -> list[Call]:
    """``count`` distinct points (increasing step), so no store may skip one as a duplicate."""
    return [
        Call("POST", LOG_METRIC_PATH, json.dumps({
            "run_id": run_id, "key": "loss", "value": 1.0 / (1 + step),
            "timestamp": BASE_TIME_MS + step, "step": step,
        }).encode())
        for step in range(first_step, first_step + count)
    ]


def search_call(experiment_id: str, page_size: int = SEARCH_PAGE) -> Call:
    return Call("POST", SEARCH_PATH, json.dumps({
        "experiment_ids": [experiment_id], "filter": SEARCH_FILTER,
        "order_by": SEARCH_ORDER_BY, "max_results": page_size,
    }).encode())


def expected_search_names(runs: int = SEARCH_RUNS, page_size: int = SEARCH_PAGE) -> list[str]:
    """The first page MLflow's rules give: matching runs by acc desc, then start_time desc."""
    matching = []
    for index in range(runs):
        create, batch = run_data(index)
        params = {p["key"]: p["value"] for p in batch["params"]}
        acc = next(m["value"] for m in batch["metrics"] if m["key"] == "acc")
        if acc > 0.2 and params["optimizer"] == "adam":
            matching.append((acc, create["start_time"], create["run_name"]))
    matching.sort(key=lambda item: (-item[0], -item[1]))
    return [name for _, _, name in matching[:page_size]]


def search_page_names(client: Client, experiment_id: str,
                      page_size: int = SEARCH_PAGE) -> list[str]:
    """Run names on the benchmark's search page, as this target answers it."""
    status, body = client.send(search_call(experiment_id, page_size))
    if status != 200:
        raise BenchmarkError(f"search -> {status}: {body[:300]!r}")
    return [run["info"]["run_name"] for run in json.loads(body).get("runs", [])]
