"""A whole MLflow 3 model workflow through the real client (mlflow-skinny 3.17.2, with numpy and
pandas for pyfunc), run against real MLflow 3.17.2 and against fakeflow; the normalised results
must be equal.

The script logs a tiny ``PythonModel`` with ``mlflow.pyfunc.log_model`` (twice in one run),
logs metrics on the models (one with a dataset), loads the model back by ``runs:/``,
``models:/name/1``, ``models:/name@alias`` and ``models:/m-…`` and predicts with it, registers
versions from ``runs:/`` and ``models:/m-…`` URIs, and searches logged models with filters,
datasets and order_by.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.differential.harness import new_suffix
from tests.support.client_script import mlflow_pointed_at
from tests.test_client_parity import quick_client  # noqa: F401  (fixture)

pytest.importorskip("mlflow", reason="the real MLflow client (mlflow-skinny 3.17.2) is not installed")
pd = pytest.importorskip("pandas", reason="mlflow.pyfunc needs pandas (the `test` extra)")
pytest.importorskip("numpy", reason="mlflow.pyfunc needs numpy (the `test` extra)")

import mlflow.pyfunc  # noqa: E402


class Doubler(mlflow.pyfunc.PythonModel):
    """Twice its input column ``x``: small enough to need no ML library."""

    def predict(self, context: Any, model_input: Any, params: Any = None) -> list[float]:
        return [2 * value for value in model_input["x"]]


def _masked(value: Any, ids: dict[str, str]) -> Any:
    """Model and run ids -> stable placeholders (numbered by first appearance)."""
    if isinstance(value, dict):
        return {k: _masked(v, ids) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_masked(v, ids) for v in value]
    if isinstance(value, str):
        def name(match: re.Match[str]) -> str:
            return ids.setdefault(match.group(), f"<id:{len(ids) + 1}>")
        return re.sub(r"m-[0-9a-f]{32}|(?<![0-9a-f])[0-9a-f]{32}(?![0-9a-f])", name, value)
    return value


def workflow_script(uri: str, workdir: Path) -> dict[str, Any]:
    import mlflow
    from mlflow import MlflowClient

    suffix = new_suffix()
    name = f"wf-{suffix}"
    frame = pd.DataFrame({"x": [1.0, 2.5]})
    out: dict[str, Any] = {}
    with mlflow_pointed_at(uri):
        client = MlflowClient()
        experiment_id = mlflow.set_experiment(f"workflow-{suffix}").experiment_id
        with mlflow.start_run() as run:
            first = mlflow.pyfunc.log_model(
                name="model", python_model=Doubler(), pip_requirements=["mlflow-skinny"],
                params={"depth": 3}, tags={"team": "red"}, model_type="toy",
            )
            second = mlflow.pyfunc.log_model(
                name="model2", python_model=Doubler(), pip_requirements=["mlflow-skinny"], step=4,
            )
            train = mlflow.data.from_pandas(frame, name="train")
            mlflow.log_metric("acc", 0.9, step=1, model_id=first.model_id, dataset=train)
            mlflow.log_metric("acc", 0.7, step=2, model_id=first.model_id)
            mlflow.log_metric("acc", 0.8, model_id=second.model_id)
            mlflow.log_metrics({"loss": 0.1, "f1": 0.5}, model_id=second.model_id)
        run_id = run.info.run_id
        label = {first.model_id: "first", second.model_id: "second"}
        got = client.get_run(run_id)
        out["run"] = {
            "model_inputs": sorted(label.get(m.model_id, m.model_id)
                                   for m in got.inputs.model_inputs or []),
            "model_outputs": sorted((label.get(m.model_id, m.model_id), m.step)
                                    for m in got.outputs.model_outputs or []),
            "datasets": sorted(d.dataset.name for d in got.inputs.dataset_inputs),
            "metrics": got.data.metrics,
        }
        out["models"] = {}
        for label, info in (("first", first), ("second", second)):
            model = client.get_logged_model(info.model_id)
            out["models"][label] = {
                "id": model.model_id, "name": model.name, "status": str(model.status),
                "model_type": model.model_type, "source_run_id": model.source_run_id,
                "params": model.params,
                "tags": {k: v for k, v in model.tags.items() if k != "mlflow.user"},
                "metrics": sorted((m.key, m.value, m.step, m.dataset_name, m.run_id)
                                  for m in model.metrics or []),
                "model_uri": info.model_uri,
            }
        out["predict"] = {}
        for uri_kind, model_uri in (("run", f"runs:/{run_id}/model"),
                                    ("model_id", f"models:/{second.model_id}")):
            out["predict"][uri_kind] = list(mlflow.pyfunc.load_model(model_uri).predict(frame))
        v1 = mlflow.register_model(f"runs:/{run_id}/model", name)
        v2 = mlflow.register_model(f"models:/{second.model_id}", name)
        out["versions"] = [(v.version, v.source, v.run_id, v.model_id) for v in (v1, v2)]
        client.set_registered_model_alias(name, "champion", "2")
        for uri_kind, model_uri in (("version", f"models:/{name}/1"),
                                    ("alias", f"models:/{name}@champion")):
            out["predict"][uri_kind] = list(mlflow.pyfunc.load_model(model_uri).predict(frame))
        out["linked"] = client.get_logged_model(second.model_id).tags.get(
            "mlflow.modelVersions", "").replace(name, "<registered>")

        def search(**kw: Any) -> list[str]:
            found = mlflow.search_logged_models(experiment_ids=[experiment_id],
                                                output_format="list", **kw)
            return [m.name for m in found]

        out["search"] = {
            "all": search(),
            "acc>0.75": search(filter_string="metrics.acc > 0.75"),
            "by_params": search(filter_string="params.depth = '3' AND model_type = 'toy'"),
            "by_name_in": search(filter_string="name IN ('model', 'nothing')"),
            "by_tag_like": search(filter_string="tags.team LIKE 'r%'"),
            "ready": search(filter_string="status = 2"),
            "on_train": search(datasets=[{"dataset_name": "train", "dataset_digest": train.digest}]),
            "acc_desc": search(order_by=[{"field_name": "metrics.acc", "ascending": False}]),
            "acc_train": search(order_by=[{"field_name": "metrics.acc", "dataset_name": "train"}]),
            "name_desc": search(order_by=[{"field_name": "name", "ascending": False}],
                                max_results=1),
        }
        out["registry_search"] = sorted(
            (v.version, v.model_id) for v in client.search_model_versions(f"name = '{name}'"))
    return _masked(out, {})


def test_model_workflow_through_the_client_matches_real_mlflow(
    quick_client: None, reference_server: Any, fakeflow_server: Any, tmp_path: Path  # noqa: F811
) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "fake").mkdir()
    real = workflow_script(reference_server.url, tmp_path / "real")
    fake = workflow_script(fakeflow_server.url, tmp_path / "fake")
    assert fake == real
    # anchors that do not depend on the reference server
    assert all(p == [2.0, 5.0] for p in fake["predict"].values()) and len(fake["predict"]) == 4
    assert fake["run"]["model_outputs"] == [["first", 0], ["second", 4]]
    assert fake["models"]["first"]["metrics"][1][:4] == ["acc", 0.9, 1, "train"]
    assert fake["search"]["acc>0.75"] == ["model2", "model"]  # any logged value counts
    assert fake["search"]["acc_desc"] == ["model2", "model"]  # the latest: 0.8 against 0.7
    assert fake["search"]["on_train"] == fake["search"]["acc_train"][:1] == ["model"]
    assert [v[0] for v in fake["versions"]] == ["1", "2"]
