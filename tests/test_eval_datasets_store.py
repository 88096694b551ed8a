"""Evaluation datasets without a reference server: snapshots keep them, a rejected upsert changes
nothing, and merging records agrees with a small model of MLflow's merge rules (Hypothesis)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from werkzeug.test import Client

import fakeflow
from fakeflow.state import snapshot

D = "/api/3.0/mlflow/datasets"


def _client() -> tuple[Any, Client]:
    app = fakeflow.create_app()
    return app, Client(app)


def _create(client: Client, name: str, **body: Any) -> str:
    answer = client.post(D + "/create", json={"name": name, **body})
    assert answer.status_code == 200, answer.get_data(as_text=True)
    return answer.get_json()["dataset"]["dataset_id"]


def _upsert(client: Client, dataset_id: str, records: Any) -> Any:
    return client.post(f"{D}/{dataset_id}/records", json={"records": json.dumps(records)})


def _everything(client: Client, dataset_ids: list[str]) -> list[Any]:
    out = []
    for dataset_id in dataset_ids:
        out.append(client.get(f"{D}/{dataset_id}").get_json())
        out.append(client.get(f"{D}/{dataset_id}/records").get_json())
        out.append(client.get(f"{D}/{dataset_id}/experiment-ids").get_json())
    found = client.post(D + "/search", json={"experiment_ids": ["0"], "order_by": ["name"]})
    out.append(found.get_json())
    return out


def test_datasets_records_and_links_survive_a_snapshot_file(tmp_path: Path) -> None:
    app, client = _client()
    first = _create(client, "first", experiment_ids=["0"], tags=json.dumps({"k": "v", "n": 1}))
    second = _create(client, "second", tags=json.dumps({"mlflow.user": "ann"}))
    client.post(f"{D}/{second}/add-experiments", json={"experiment_ids": ["0"]})
    assert _upsert(client, first, [
        {"inputs": {"q": "nan", "x": float("nan")}, "expectations": {"e": float("inf")},
         "source": {"source_type": "trace", "source_data": {"trace_id": "tr-1"}}},
        {"inputs": {"q": "plain"}, "outputs": ["a", 1], "tags": {"mlflow.user": "bob"}},
    ]).status_code == 200
    before = _everything(client, [first, second])

    path = tmp_path / "state.json"
    snapshot.save_file(app.store, path)  # strict JSON: NaN inside records must still fit
    restored, restored_client = _client()
    snapshot.load_file(restored.store, path)
    assert _everything(restored_client, [first, second]) == before
    # and the restored store goes on working: a merge finds the restored record by its inputs
    merged = _upsert(restored_client, first, [{"inputs": {"q": "plain"}, "expectations": {"a": 1}}])
    assert merged.get_json() == {"inserted_count": 0, "updated_count": 1}


def test_a_rejected_upsert_changes_nothing() -> None:
    _, client = _client()
    dataset_id = _create(client, "atomic")
    assert _upsert(client, dataset_id, [{"inputs": {"a": 1}, "outputs": "text"}]).status_code == 200
    before = _everything(client, [dataset_id])
    # the first record merges, the second inserts, the third fails (a source MLflow refuses)
    answer = _upsert(client, dataset_id, [
        {"inputs": {"a": 1}, "expectations": {"e": 1}},
        {"inputs": {"b": 2}},
        {"inputs": {"c": 3}, "source": {"source_type": "nope"}},
    ])
    assert answer.status_code == 400
    assert answer.get_json()["message"].startswith("Invalid dataset record source type: NOPE.")
    # and one that fails after every record was taken, in the schema merge
    assert _upsert(client, dataset_id, [{"inputs": {"z": 1}, "outputs": {"o": 1}}]).status_code == 500
    assert _everything(client, [dataset_id]) == before


_KEYS = st.sampled_from(["q", "r", "s"])
_VALUES = st.one_of(st.integers(-3, 3), st.sampled_from(["x", "y", ""]), st.none())
_RECORD = st.fixed_dictionaries(
    {"inputs": st.dictionaries(_KEYS, st.integers(0, 2), min_size=1, max_size=2)},
    optional={"expectations": st.dictionaries(_KEYS, _VALUES, max_size=2),
              "tags": st.dictionaries(_KEYS, st.sampled_from(["a", "b"]), max_size=2),
              "outputs": st.one_of(st.none(), st.dictionaries(_KEYS, _VALUES, max_size=2))},
)


def _model(batches: list[list[dict[str, Any]]]) -> dict[str, dict[str, Any]]:
    """MLflow's rules, stated plainly: a record is its inputs; later expectations and tags are
    merged key by key (empty ones ignored); outputs are replaced whenever sent."""
    rows: dict[str, dict[str, Any]] = {}
    for batch in batches:
        for record in batch:
            key = json.dumps(record["inputs"], sort_keys=True)
            row = rows.get(key)
            if row is None:
                rows[key] = {"inputs": record["inputs"], "tags": dict(record.get("tags") or {}),
                             "expectations": record.get("expectations"),
                             "outputs": record.get("outputs", {})}
                continue
            if record.get("expectations"):
                row["expectations"] = {**(row["expectations"] or {}), **record["expectations"]}
            if record.get("tags"):
                row["tags"].update(record["tags"])
            if "outputs" in record:
                row["outputs"] = record["outputs"]
    return rows


@settings(max_examples=60, deadline=None)
@given(batches=st.lists(st.lists(_RECORD, max_size=4), min_size=1, max_size=4))
def test_merging_agrees_with_a_model_of_mlflow_rules(batches: list[list[dict[str, Any]]]) -> None:
    _, client = _client()
    dataset_id = _create(client, "merge")
    for batch in batches:
        answer = _upsert(client, dataset_id, batch)
        assert answer.status_code == 200, answer.get_data(as_text=True)
    got = {}
    for row in json.loads(client.get(f"{D}/{dataset_id}/records").get_json()["records"]):
        got[json.dumps(row["inputs"], sort_keys=True)] = {
            "inputs": row["inputs"], "tags": row["tags"], "expectations": row.get("expectations"),
            "outputs": row.get("outputs")}
    assert got == _model(batches)
    profile = client.get(f"{D}/{dataset_id}").get_json()["dataset"].get("profile")
    assert profile == (json.dumps({"num_records": len(got)}) if got else None)
