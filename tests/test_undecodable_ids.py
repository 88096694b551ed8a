"""An id the client did not send correctly (a lone surrogate, so protobuf leaves it unset) must
not delete, restore or tag the Default experiment. MLflow 3.17.2 answers these with 400 and
changes nothing (checked against it in tests/differential/catalogue/undecodable_ids.py)."""

from __future__ import annotations

from typing import Any, Iterator

import pytest
import requests

from fakeflow.server import ThreadedServer
from fakeflow.web.app import create_app

SURROGATE = "\ud800"
INVALID_ID = {"error_code": "INVALID_PARAMETER_VALUE",
              "message": "Invalid experiment ID ''. Experiment ID must be a valid integer.",
              "sqlstate": "KAM00", "error_class": "INVALID_PARAMETER_VALUE"}


@pytest.fixture
def api() -> Iterator[str]:
    with ThreadedServer(create_app()) as server:
        yield server.url + "/api/2.0/mlflow/"


def _post(api: str, route: str, body: dict[str, Any]) -> requests.Response:
    return requests.post(api + route, json=body, timeout=10)


def _default(api: str) -> dict[str, Any]:
    return requests.get(api + "experiments/get", params={"experiment_id": "0"},
                        timeout=10).json()["experiment"]


def test_deleting_an_undecodable_experiment_id_changes_nothing(api: str) -> None:
    run = _post(api, "runs/create", {"experiment_id": "0"}).json()["run"]["info"]
    for body in ({"experiment_id": SURROGATE}, {"experiment_id": SURROGATE, "other": 1}):
        answer = _post(api, "experiments/delete", body)
        assert (answer.status_code, answer.json()) == (400, INVALID_ID)
    assert _default(api)["lifecycle_stage"] == "active"
    got = requests.get(api + "runs/get", params={"run_id": run["run_id"]}, timeout=10).json()
    assert got["run"]["info"]["lifecycle_stage"] == "active"


def test_restoring_an_undecodable_experiment_id_does_not_restore_the_default(api: str) -> None:
    assert _post(api, "experiments/delete", {"experiment_id": "0"}).status_code == 200
    answer = _post(api, "experiments/restore", {"experiment_id": SURROGATE})
    assert (answer.status_code, answer.json()) == (400, INVALID_ID)
    assert _default(api)["lifecycle_stage"] == "deleted"


def test_experiment_tags_are_not_written_through_an_undecodable_id(api: str) -> None:
    assert _post(api, "experiments/set-experiment-tag",
                 {"experiment_id": "0", "key": "kept", "value": "v"}).status_code == 200
    answer = _post(api, "experiments/set-experiment-tag",
                   {"key": "k", "value": "v", "experiment_id": SURROGATE})
    assert answer.status_code == 400 and answer.json()["error_code"] == "BAD_REQUEST"
    assert answer.json()["message"].startswith("(sqlite3.IntegrityError) FOREIGN KEY")
    answer = _post(api, "experiments/delete-experiment-tag",
                   {"key": "kept", "experiment_id": SURROGATE})
    assert (answer.status_code, answer.json()) == (400, INVALID_ID)
    assert _default(api)["tags"] == [{"key": "kept", "value": "v"}]


def test_undecodable_run_ids_select_no_run(api: str) -> None:
    run_id = _post(api, "runs/create", {"experiment_id": "0"}).json()["run"]["info"]["run_id"]
    for route, body in [
        ("runs/delete", {"run_id": SURROGATE}),
        ("runs/update", {"run_id": SURROGATE, "run_uuid": run_id, "status": "KILLED"}),
        ("runs/set-tag", {"key": "t", "value": "v", "run_id": SURROGATE}),
        ("runs/log-batch", {"run_id": SURROGATE, "params": [{"key": "p", "value": "1"}]}),
    ]:
        assert _post(api, route, body).status_code in (400, 404), route
    run = requests.get(api + "runs/get", params={"run_id": run_id}, timeout=10).json()["run"]
    assert run["info"]["lifecycle_stage"] == "active" and run["info"]["status"] == "RUNNING"
    assert "params" not in run["data"]
    assert [t["key"] for t in run["data"]["tags"]] == ["mlflow.runName"]
