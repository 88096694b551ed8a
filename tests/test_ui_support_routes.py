"""The UI's side routes where the differential suite cannot reach: answers that depend on the
server's environment (UI telemetry) and dataset summaries over generated inputs."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from werkzeug.test import Client

from fakeflow.web.app import create_app
from fakeflow.web.ui_support_handlers import _CI_VARIABLES, telemetry_disabled

TELEMETRY = "/ajax-api/3.0/mlflow/ui-telemetry"
DATASETS = "/ajax-api/2.0/mlflow/experiments/search-datasets"


def _enable(monkeypatch: pytest.MonkeyPatch) -> None:
    """An environment in which MLflow would send telemetry (no CI, no opt-out); called in the
    test body, as pytest sets PYTEST_CURRENT_TEST again for each phase."""
    for name in (*_CI_VARIABLES, "MLFLOW_DISABLE_TELEMETRY", "DO_NOT_TRACK", "_MLFLOW_TESTING_TELEMETRY"):
        monkeypatch.delenv(name, raising=False)


def _post(client: Client, path: str, body: object) -> object:
    response = client.post(path, data=json.dumps(body), content_type="application/json")
    return response.status_code, response.get_json()


def test_telemetry_switch_follows_mlflows_environment_rules(monkeypatch: pytest.MonkeyPatch) -> None:
    _enable(monkeypatch)
    assert not telemetry_disabled()
    for name, value in (("MLFLOW_DISABLE_TELEMETRY", "1"), ("DO_NOT_TRACK", "TRUE"), ("CI", ""),
                        ("PYTEST_CURRENT_TEST", "x"), ("MLFLOW_DISABLE_TELEMETRY", "maybe")):
        monkeypatch.setenv(name, value)
        assert telemetry_disabled(), name
        monkeypatch.delenv(name)
    monkeypatch.setenv("MLFLOW_DISABLE_TELEMETRY", "false")
    assert not telemetry_disabled()
    monkeypatch.setenv("CI", "1")
    monkeypatch.setenv("_MLFLOW_TESTING_TELEMETRY", "true")
    assert not telemetry_disabled(), "MLflow's own telemetry tests force it on"


def test_telemetry_post_succeeds_only_without_records_when_enabled(
        monkeypatch: pytest.MonkeyPatch) -> None:
    _enable(monkeypatch)
    client = Client(create_app())
    assert _post(client, TELEMETRY, {}) == (200, {"status": "success"})
    assert _post(client, TELEMETRY, {"records": []}) == (200, {"status": "success"})
    assert _post(client, TELEMETRY, {"records": [{"event_name": "x"}]}) == (200, {"status": "disabled"})
    assert _post(client, TELEMETRY, [1]) == (200, {"status": "disabled"})
    response = client.post(TELEMETRY, data="{}", content_type="text/plain")
    assert response.get_json() == {"status": "disabled"}
    monkeypatch.setenv("DO_NOT_TRACK", "true")
    assert _post(client, TELEMETRY, {}) == (200, {"status": "disabled"})
    response = client.get(TELEMETRY)
    assert response.data == b'{"disable_ui_events":[],"disable_ui_telemetry":true,"ui_rollout_percentage":0}\n'


_names = st.sampled_from(["a", "B", "b", "zz", "é"])
_inputs = st.lists(st.tuples(st.integers(0, 2), _names, st.sampled_from(["d1", "d2"]),
                             st.sampled_from([None, "training", "eval"])), max_size=12)


@settings(max_examples=40, deadline=None)
@given(_inputs)
def test_search_datasets_lists_distinct_inputs_in_index_order(inputs: list) -> None:
    client = Client(create_app())
    experiments = [_post(client, "/api/2.0/mlflow/experiments/create", {"name": f"e{i}"})[1]["experiment_id"]
                   for i in range(3)]
    runs = [_post(client, "/api/2.0/mlflow/runs/create", {"experiment_id": e})[1]["run"]["info"]["run_id"]
            for e in experiments]
    for exp_index, name, digest, context in inputs:
        entry: dict = {"dataset": {"name": name, "digest": digest, "source_type": "s", "source": "x"}}
        if context is not None:
            entry["tags"] = [{"key": "mlflow.data.context", "value": context}]
        _post(client, "/api/2.0/mlflow/runs/log-inputs", {"run_id": runs[exp_index], "datasets": [entry]})
    status, body = _post(client, DATASETS, {"experiment_ids": experiments[:2]})
    assert status == 200
    got = [(s["experiment_id"], s["name"], s["digest"], s.get("context"))
           for s in body.get("dataset_summaries", [])]
    # A dataset's identity is (experiment, name, digest); the context is that of each input.
    wanted = {(experiments[i], n, d, c) for i, n, d, c in inputs if i < 2}
    assert sorted(got, key=lambda r: (int(r[0]), r[1], r[2])) == got
    assert set(got) <= wanted and len(got) == len(set(got))
    assert {r[:3] for r in got} == {w[:3] for w in wanted}
