"""The real MLflow client creates, finalises, tags, fills and registers a logged model through
real MLflow 3.17.2 and through fakeflow; what it reads back must agree.

(The model's files are written by hand and uploaded with ``log_model_artifacts``: the lower-level
calls; tests/test_model_workflow_client.py drives ``mlflow.pyfunc`` itself.)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.differential.harness import new_suffix
from tests.support.client_script import mlflow_pointed_at
from tests.test_client_parity import quick_client  # noqa: F401  (fixture)

pytest.importorskip("mlflow", reason="the real MLflow client (mlflow-skinny 3.17.2) is not installed")


def logged_model_script(uri: str, workdir: Path) -> dict[str, Any]:
    import mlflow
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    files = workdir / "model"
    (files / "sub").mkdir(parents=True)
    (files / "MLmodel").write_text("flavors: {}\n")
    (files / "sub" / "weights.bin").write_bytes(bytes(range(256)))
    name = f"lm-client-{new_suffix()}"
    out: dict[str, Any] = {}
    with mlflow_pointed_at(uri):
        client = MlflowClient()
        with mlflow.start_run() as run:
            model = client.create_logged_model(
                experiment_id="0", name="tiny", source_run_id=run.info.run_id,
                params={"lr": "0.1", "depth": "3"}, tags={"t": "v"}, model_type="toy",
            )
            out["pending"] = str(model.status)
            client.log_model_artifacts(model.model_id, str(files))
            client.finalize_logged_model(model.model_id, "READY")
            client.set_logged_model_tags(model.model_id, {"x": "1", "y": "2"})
            client.delete_logged_model_tag(model.model_id, "x")
            got = client.get_logged_model(model.model_id)
            out["model"] = {
                "name": got.name, "model_type": got.model_type, "status": str(got.status),
                "params": got.params, "tags": got.tags,
                "source_is_run": got.source_run_id == run.info.run_id,
                "location_suffix": got.artifact_location.split("/models/", 1)[1]
                .replace(model.model_id, "<id>"),
            }
            out["files"] = sorted(
                (f.path, f.is_dir) for f in client.list_logged_model_artifacts(model.model_id)
            )
            version = mlflow.register_model(f"models:/{model.model_id}", name)
            out["version"] = (version.version, version.source == f"models:/{model.model_id}",
                              version.run_id == run.info.run_id)
            linked = client.get_logged_model(model.model_id).tags.get("mlflow.modelVersions", "")
            out["linked"] = linked.replace(name, "<reg>")
            by_run = mlflow.register_model(f"runs:/{run.info.run_id}/tiny", name)
            out["by_run"] = (by_run.version, by_run.source == f"models:/{model.model_id}",
                             by_run.run_id == run.info.run_id)
            found = mlflow.search_logged_models(
                experiment_ids=["0"], filter_string=f"source_run_id = '{run.info.run_id}'",
                output_format="list",
            )
            out["search"] = [(m.name, str(m.status), m.model_id == model.model_id) for m in found]
            fetched = Path(mlflow.artifacts.download_artifacts(
                f"models:/{model.model_id}", dst_path=str(workdir / "download")))
            out["download"] = sorted(str(p.relative_to(fetched)) for p in fetched.rglob("*"))
            client.delete_logged_model(model.model_id)
            try:
                client.get_logged_model(model.model_id)
                out["after_delete"] = None
            except MlflowException as error:
                out["after_delete"] = error.error_code
    return out


def test_logged_models_through_the_client_match_real_mlflow(
    quick_client: None, reference_server: Any, fakeflow_server: Any, tmp_path: Path  # noqa: F811
) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "fake").mkdir()
    real = logged_model_script(reference_server.url, tmp_path / "real")
    fake = logged_model_script(fakeflow_server.url, tmp_path / "fake")
    assert fake == real
    # anchors that do not depend on the reference server
    assert fake["model"]["status"] == "READY"
    assert fake["model"]["tags"] == {"t": "v", "y": "2"}
    assert fake["version"] == ("1", True, True)
    assert "sub/weights.bin" in fake["download"]
    assert fake["by_run"] == ("2", True, True)  # found through search_logged_models
    assert fake["search"] == [("tiny", "READY", True)]
    assert fake["after_delete"] == "RESOURCE_DOES_NOT_EXIST"
    # the server records the version, then the client appends it again with a string version
    assert fake["linked"] == '[{"name": "<reg>", "version": 1}, {"name": "<reg>", "version": "1"}]'
