"""Client parity: the real MLflow Python client runs the same script against real MLflow and
against fakeflow, and must leave (and read back) the same entities.

Client retries are switched off and the timeout is short, so a wrong 5xx fails fast instead of
hanging in the client's exponential backoff.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.differential.compare import _json_diff
from tests.differential.harness import new_suffix
from tests.differential.normalise import Normaliser
from tests.support.client_script import CLIENT_CLOCK_KEYS, bulk_script, mlflow_pointed_at, training_script

pytest.importorskip("mlflow", reason="the real MLflow client (mlflow-skinny 3.17.2) is not installed")


@pytest.fixture
def quick_client(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("MLFLOW_TRACKING_URI", "MLFLOW_EXPERIMENT_ID", "MLFLOW_EXPERIMENT_NAME", "MLFLOW_RUN_ID"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "15")
    monkeypatch.setenv("MLFLOW_DISABLE_TELEMETRY", "true")
    monkeypatch.setenv("DO_NOT_TRACK", "true")


def normalised(snapshot: dict[str, Any]) -> Any:
    body = Normaliser("").normalise(json.loads(json.dumps(snapshot)))
    return _mask_client_clocks(body)


def _mask_client_clocks(node: Any, key: str | None = None) -> Any:
    if isinstance(node, dict):
        return {k: _mask_client_clocks(v, k) for k, v in node.items()}
    if isinstance(node, list):
        return [_mask_client_clocks(v) for v in node]
    if key in CLIENT_CLOCK_KEYS and isinstance(node, int) and node > 1_750_000_000_000:
        return "<client-clock>"
    return node


def test_training_script_leaves_the_same_entities(
    quick_client: None, reference_server: Any, fakeflow_server: Any
) -> None:
    prefix = f"parity-{new_suffix()}"
    real = normalised(training_script(reference_server.url, prefix))
    fake = normalised(training_script(fakeflow_server.url, prefix))
    diffs = list(_json_diff(real, fake, "$"))
    assert not diffs, "\n".join(diffs[:40])


def test_bulk_logging_and_paged_search_match(
    quick_client: None, reference_server: Any, fakeflow_server: Any
) -> None:
    prefix = f"bulk-{new_suffix()}"
    real = normalised(bulk_script(reference_server.url, prefix))
    fake = normalised(bulk_script(fakeflow_server.url, prefix))
    diffs = list(_json_diff(real, fake, "$"))
    assert not diffs, "\n".join(diffs[:40])
    assert real["history_len"] == 2100 and real["param_count"] == 120  # the script did what it says


def test_script_reads_back_what_it_logged(quick_client: None, fakeflow_server: Any) -> None:
    """Sanity anchors that do not depend on the reference server."""
    snap = training_script(fakeflow_server.url, f"anchor-{new_suffix()}")
    train = snap["runs"][0]
    assert train["info"]["status"] == "FINISHED"
    assert train["data"]["params"]["long"] == "x" * 6000
    assert train["data"]["metrics"]["loss"] == 0.2
    assert [m["step"] for m in snap["loss_history"]] == [0, 1, 2, 3, 4]
    assert snap["runs"][1]["info"]["run_name"] == "batch-renamed"
    assert snap["errors"]["param_change"]["error_code"] == "INVALID_PARAMETER_VALUE"
    assert snap["errors"]["missing_run"]["error_code"] == "RESOURCE_DOES_NOT_EXIST"
    assert snap["errors"]["missing_by_name"] == {"raised": None, "result": None}


def test_pointing_the_client_restores_global_state(quick_client: None, fakeflow_server: Any) -> None:
    import mlflow
    from mlflow.tracking._tracking_service import utils as tracking_utils

    before = tracking_utils._tracking_uri
    with mlflow_pointed_at(fakeflow_server.url):
        assert mlflow.get_tracking_uri() == fakeflow_server.url
        mlflow.start_run()
    assert tracking_utils._tracking_uri == before
    assert mlflow.active_run() is None
