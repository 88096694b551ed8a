"""Registry parity through the real MLflow client: the same script against real MLflow 3.17.2 and
against fakeflow must read back the same models, versions, aliases, stages, searches, errors and
prompts.

Client retries are off and the timeout short, so a wrong 5xx fails fast.
"""

from __future__ import annotations

import json
from typing import Any, Callable

import pytest

from tests.differential.compare import _json_diff
from tests.differential.harness import new_suffix
from tests.differential.normalise import Normaliser
from tests.support.client_script import T0, mlflow_pointed_at

pytest.importorskip("mlflow", reason="the real MLflow client (mlflow-skinny 3.17.2) is not installed")


@pytest.fixture
def quick_client(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI", "MLFLOW_EXPERIMENT_ID",
                 "MLFLOW_EXPERIMENT_NAME", "MLFLOW_RUN_ID"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "15")
    monkeypatch.setenv("MLFLOW_DISABLE_TELEMETRY", "true")
    monkeypatch.setenv("DO_NOT_TRACK", "true")


def _error(call: Callable[[], Any]) -> dict[str, Any]:
    from mlflow.exceptions import MlflowException

    try:
        result = call()
    except MlflowException as exc:
        return {"raised": type(exc).__name__, "error_code": exc.error_code, "message": exc.message}
    return {"raised": None, "result": repr(result)}


def _mv(mv: Any) -> dict[str, Any]:
    return {
        "name": mv.name, "version": mv.version, "creation_timestamp": mv.creation_timestamp,
        "last_updated_timestamp": mv.last_updated_timestamp, "current_stage": mv.current_stage,
        "description": mv.description, "source": mv.source, "run_id": mv.run_id, "status": mv.status,
        "run_link": mv.run_link, "tags": dict(mv.tags), "aliases": list(mv.aliases),
    }


def _rm(rm: Any) -> dict[str, Any]:
    return {
        "name": rm.name, "creation_timestamp": rm.creation_timestamp,
        "last_updated_timestamp": rm.last_updated_timestamp, "description": rm.description,
        "tags": dict(rm.tags), "aliases": dict(rm.aliases),
        "latest_versions": [_mv(mv) for mv in rm.latest_versions or []],
    }


def _pages(fetch: Callable[[str | None], Any], render: Callable[[Any], Any]) -> list[list[Any]]:
    pages, token = [], None
    while True:
        page = fetch(token)
        pages.append([render(item) for item in page])
        token = page.token
        if not token or len(pages) > 20:
            return pages


def registry_script(uri: str, prefix: str) -> dict[str, Any]:
    """Register, alias, stage, tag, search, rename and delete models through the real client."""
    import mlflow
    from mlflow import MlflowClient

    snap: dict[str, Any] = {}
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    name, other = f"{prefix}-model", f"{prefix}-other"
    with mlflow_pointed_at(uri):
        mlflow.set_registry_uri(uri)
        exp_id = client.create_experiment(f"{prefix}-exp")
        run_id = client.create_run(exp_id, run_name="train", start_time=T0).info.run_id

        snap["created"] = _rm(client.create_registered_model(name, tags={"team": "a"}, description="first"))
        snap["v1"] = _mv(client.create_model_version(
            name, f"runs:/{run_id}/model", run_id=run_id, tags={"k": "v"}, description="one"))
        snap["v2"] = _mv(mlflow.register_model("s3://bucket/model", name, tags={"via": "fluent"}))
        snap["v3"] = _mv(mlflow.register_model(f"models:/{name}/1", name))
        snap["other"] = _mv(mlflow.register_model("s3://bucket/other", other))

        client.set_registered_model_alias(name, "champion", "1")
        client.set_registered_model_alias(name, "challenger", "2")
        client.set_registered_model_alias(name, "champion", "3")
        snap["by_alias"] = _mv(client.get_model_version_by_alias(name, "champion"))
        client.delete_registered_model_alias(name, "challenger")
        snap["after_aliases"] = _rm(client.get_registered_model(name))

        client.transition_model_version_stage(name, "1", "Staging")
        snap["archived_by"] = _mv(client.transition_model_version_stage(
            name, "2", "staging", archive_existing_versions=True))
        client.transition_model_version_stage(name, "3", "Production")
        snap["v1_after_archive"] = _mv(client.get_model_version(name, "1"))
        snap["latest"] = [_mv(mv) for mv in client.get_latest_versions(name)]
        snap["latest_staging"] = [_mv(mv) for mv in client.get_latest_versions(name, stages=["Staging"])]

        client.set_model_version_tag(name, "2", "quality", "good")
        client.set_model_version_tag(name, "2", "tmp", "x")
        client.delete_model_version_tag(name, "2", "tmp")
        client.update_model_version(name, "2", description="two")
        client.update_registered_model(name, description="updated")
        client.set_registered_model_tag(name, "owner", "me")
        client.delete_registered_model_tag(name, "team")
        snap["v2_final"] = _mv(client.get_model_version(name, "2"))

        mine = f"name LIKE '{prefix}%'"
        snap["search_models"] = [_rm(m) for m in client.search_registered_models(mine, order_by=["name DESC"])]
        snap["search_models_tag"] = [m.name for m in client.search_registered_models(mine + " AND tags.owner = 'me'")]
        snap["model_pages"] = _pages(
            lambda t: client.search_registered_models(mine, max_results=1, page_token=t), lambda m: m.name)
        snap["search_versions"] = [_mv(mv) for mv in client.search_model_versions(
            f"name = '{name}'", order_by=["version_number ASC"])]
        snap["search_by_run"] = [mv.version for mv in client.search_model_versions(f"run_id = '{run_id}'")]
        snap["search_by_tag"] = [mv.version for mv in client.search_model_versions(
            f"name = '{name}' AND tags.quality = 'good'")]
        snap["version_pages"] = _pages(
            lambda t: client.search_model_versions(mine, max_results=2, page_token=t,
                                                   order_by=["name ASC", "version_number DESC"]),
            lambda mv: (mv.name, mv.version))

        renamed = f"{prefix}-renamed"
        client.rename_registered_model(name, renamed)
        snap["renamed"] = _rm(client.get_registered_model(renamed))
        snap["renamed_v1"] = _mv(client.get_model_version(renamed, "1"))
        snap["renamed_alias"] = _mv(client.get_model_version_by_alias(renamed, "champion"))
        snap["download_uri"] = client.get_model_version_download_uri(renamed, "1")
        client.delete_model_version(renamed, "3")
        snap["v4"] = _mv(client.create_model_version(renamed, "s3://bucket/v4"))
        snap["after_delete"] = _rm(client.get_registered_model(renamed))
        client.delete_registered_model(other)
        snap["errors"] = {
            "duplicate": _error(lambda: client.create_registered_model(renamed)),
            "old_name": _error(lambda: client.get_registered_model(name)),
            "deleted_model": _error(lambda: client.get_registered_model(other)),
            "deleted_version": _error(lambda: client.get_model_version(renamed, "3")),
            "alias_of_deleted": _error(lambda: client.get_model_version_by_alias(renamed, "champion")),
            "reserved_alias": _error(lambda: client.set_registered_model_alias(renamed, "latest", "1")),
            "version_alias": _error(lambda: client.set_registered_model_alias(renamed, "v2", "1")),
            "bad_stage": _error(lambda: client.transition_model_version_stage(renamed, "1", "Gold")),
            "bad_source": _error(lambda: client.create_model_version(renamed, f"runs:/{run_id}/m")),
            "bad_filter": _error(lambda: client.search_model_versions("name = 'x' OR name = 'y'")),
        }
    return snap


def prompt_script(uri: str, prefix: str) -> dict[str, Any]:
    """Prompts live on registered models and versions; the client must round-trip them."""
    import mlflow
    from mlflow import MlflowClient

    snap: dict[str, Any] = {}
    name = f"{prefix}-prompt"
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    with mlflow_pointed_at(uri):
        mlflow.set_registry_uri(uri)
        p1 = mlflow.genai.register_prompt(name, "Hello {{name}}!", commit_message="first",
                                          tags={"lang": "en"})
        p2 = mlflow.genai.register_prompt(name, "Hi {{name}}, {{greeting}}", commit_message="second")
        snap["registered"] = [(p.name, p.version, p.template, sorted(p.variables)) for p in (p1, p2)]
        loaded = mlflow.genai.load_prompt(f"prompts:/{name}/1")
        snap["loaded_v1"] = (loaded.name, loaded.version, loaded.template, loaded.commit_message,
                             dict(loaded.tags))
        snap["formatted"] = loaded.format(name="Ada")
        mlflow.genai.set_prompt_alias(name, "production", 2)
        snap["by_alias"] = mlflow.genai.load_prompt(f"prompts:/{name}@production").version
        snap["latest"] = mlflow.genai.load_prompt(f"prompts:/{name}@latest").version
        snap["hidden_from_model_search"] = [
            m.name for m in client.search_registered_models(f"name LIKE '{prefix}%'")
        ]
        snap["prompt_search"] = [p.name for p in mlflow.genai.search_prompts(f"name LIKE '{prefix}%'")]
        snap["missing"] = _error(lambda: mlflow.genai.load_prompt(f"prompts:/{name}/9"))
    return snap


def _normalised(snapshot: dict[str, Any]) -> Any:
    return Normaliser("").normalise(json.loads(json.dumps(snapshot)))


def _same(real: dict[str, Any], fake: dict[str, Any]) -> None:
    diffs = list(_json_diff(_normalised(real), _normalised(fake), "$"))
    assert not diffs, "\n".join(diffs[:40])


def test_registry_script_matches_real_mlflow(
    quick_client: None, reference_server: Any, fakeflow_server: Any
) -> None:
    prefix = f"regparity-{new_suffix()}"
    real = registry_script(reference_server.url, prefix)
    fake = registry_script(fakeflow_server.url, prefix)
    _same(real, fake)
    # the script did what it says
    assert [v["version"] for v in real["search_versions"]] == ["1", "2", "3"]
    assert real["v1_after_archive"]["current_stage"] == "Archived"
    assert real["v4"]["version"] == "4"


def test_prompt_script_matches_real_mlflow(
    quick_client: None, reference_server: Any, fakeflow_server: Any
) -> None:
    prefix = f"promptparity-{new_suffix()}"
    real = prompt_script(reference_server.url, prefix)
    fake = prompt_script(fakeflow_server.url, prefix)
    _same(real, fake)
    assert real["formatted"] == "Hello Ada!" and real["by_alias"] == 2
