"""The real client's ``mlflow.genai.datasets`` creates, fills, merges, searches, tags and
deletes an evaluation dataset through real MLflow 3.17.2 and through fakeflow; what it reads
back must agree (ids, digests and server clocks reduced to what they mean).
"""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from tests.differential.harness import new_suffix
from tests.support.client_script import mlflow_pointed_at
from tests.test_client_parity import quick_client  # noqa: F401  (fixture)

pytest.importorskip("mlflow", reason="the real MLflow client (mlflow-skinny 3.17.2) is not installed")
pd = pytest.importorskip("pandas", reason="mlflow.genai.datasets reads and writes DataFrames")


def _dataset(ds: Any) -> dict[str, Any]:
    """What a test author reads off a dataset, with generated values reduced to relations."""
    digest = hashlib.sha256(f"{ds.name}:{ds.last_update_time}".encode()).hexdigest()[:8]
    return {
        "id_shape": (ds.dataset_id[:2], len(ds.dataset_id)),
        "name": ds.name,
        "tags": ds.tags,
        "schema": ds.schema,
        "profile": ds.profile,
        "digest_is_current": ds.digest == digest,
        "updated_after_creation": ds.last_update_time > ds.created_time,
        "created_by": ds.created_by,
        "last_updated_by": ds.last_updated_by,
    }


def _frame(df: Any) -> list[dict[str, Any]]:
    rows = []
    for row in df.to_dict("records"):
        rows.append({
            "inputs": row["inputs"], "outputs": row["outputs"],
            "expectations": row["expectations"], "tags": row["tags"],
            "source_type": row["source_type"], "source_id": row["source_id"],
            "source": None if row["source"] is None else row["source"].to_dict(),
            "record_id_shape": row["dataset_record_id"][:3],
        })
    return sorted(rows, key=repr)


def eval_dataset_script(uri: str, name: str) -> dict[str, Any]:
    import mlflow
    from mlflow.exceptions import MlflowException
    from mlflow.genai import datasets

    out: dict[str, Any] = {}
    with mlflow_pointed_at(uri):
        experiment_id = mlflow.create_experiment(name)
        ds = datasets.create_dataset(name=name, experiment_id=experiment_id,
                                     tags={"stage": "dev", "owner": "qa"})
        out["created"] = _dataset(ds)
        ds.merge_records([
            {"inputs": {"question": "What is MLflow?"},
             "expectations": {"expected_response": "A platform", "facts": ["tracking"]}},
            {"inputs": {"question": "What is a run?"}, "outputs": "an execution"},
            {"inputs": {"question": "Who wrote it?"}, "tags": {"difficulty": "easy"}},
        ])
        out["after_list"] = _dataset(datasets.get_dataset(dataset_id=ds.dataset_id))
        ds.merge_records(pd.DataFrame([
            {"inputs": {"question": "What is MLflow?"}, "expectations": {"score": 0.9},
             "tags": {"reviewed": "yes"}},
            {"inputs": {"question": "What is a trace?"}, "expectations": {"expected_response": "spans"},
             "tags": {}},
        ]))
        fetched = datasets.get_dataset(dataset_id=ds.dataset_id)
        out["after_frame"] = _dataset(fetched)
        out["records"] = _frame(fetched.to_df())
        out["experiments"] = [e == experiment_id for e in fetched.experiment_ids]
        out["by_name"] = datasets.get_dataset(name=name).dataset_id == ds.dataset_id
        second = datasets.create_dataset(name=f"{name}-b", experiment_id=[experiment_id])
        out["search_all"] = [d.name.replace(name, "<n>")
                             for d in datasets.search_datasets(experiment_ids=experiment_id)]
        out["search_filtered"] = [d.name.replace(name, "<n>") for d in datasets.search_datasets(
            experiment_ids=[experiment_id], filter_string="tags.stage = 'dev'",
            order_by=["name ASC"])]
        out["search_paged"] = [d.name.replace(name, "<n>") for d in datasets.search_datasets(
            experiment_ids=[experiment_id], order_by=["name DESC"], max_results=1)]
        datasets.set_dataset_tags(dataset_id=ds.dataset_id, tags={"stage": "prod", "n": 3})
        datasets.delete_dataset_tag(dataset_id=ds.dataset_id, key="owner")
        out["tags"] = datasets.get_dataset(dataset_id=ds.dataset_id).tags
        out["deleted_records"] = fetched.delete_records(
            [fetched.to_df()["dataset_record_id"].iloc[0]])
        out["after_record_delete"] = _dataset(datasets.get_dataset(dataset_id=ds.dataset_id))
        datasets.delete_dataset(dataset_id=second.dataset_id)
        try:
            datasets.get_dataset(dataset_id=second.dataset_id)
            out["after_delete"] = None
        except MlflowException as error:
            out["after_delete"] = (error.error_code, error.message.replace(second.dataset_id, "<id>"))
        try:
            ds.merge_records([{"inputs": {"question": "x"}, "source": {"source_type": "nope"}}])
            out["bad_source"] = None
        except MlflowException as error:
            out["bad_source"] = (error.error_code, error.message)
    return out


def test_eval_datasets_through_the_client_match_real_mlflow(
    quick_client: None, reference_server: Any, fakeflow_server: Any  # noqa: F811
) -> None:
    name = f"ed-client-{new_suffix()}"  # the same on both servers: names show in answers
    real = eval_dataset_script(reference_server.url, name)
    fake = eval_dataset_script(fakeflow_server.url, name)
    assert fake == real
    # anchors that do not depend on the reference server
    user = fake["created"]["created_by"]  # the client tags the dataset with the local user
    assert fake["created"]["tags"] == {"stage": "dev", "owner": "qa", "mlflow.user": user}
    assert fake["after_frame"]["profile"] == '{"num_records": 4}'
    assert fake["after_frame"]["digest_is_current"] is True
    merged = next(r for r in fake["records"] if r["inputs"] == {"question": "What is MLflow?"})
    assert merged["expectations"] == {"expected_response": "A platform", "facts": ["tracking"],
                                      "score": 0.9}
    assert merged["tags"]["reviewed"] == "yes"
    assert fake["search_filtered"] == ["<n>"]
    assert fake["search_paged"] == ["<n>-b"]
    assert fake["tags"] == {"stage": "prod", "n": "3", "mlflow.user": user}
    assert fake["deleted_records"] == 1
    assert fake["after_record_delete"]["profile"] == '{"num_records": 3}'
    assert fake["after_delete"][0] == "RESOURCE_DOES_NOT_EXIST"
