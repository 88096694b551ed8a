"""The real comet-ml SDK's ``API`` against fakeflow, over state that the real MLflow client wrote.

comet-ml acts at import time (an error reporter to sentry.io on one import in two, and an import
hook that patches ``mlflow``), so it is imported only inside the fixture, after the environment
has switched both off, with HOME and the working directory isolated.
"""

from __future__ import annotations

import copy
import importlib
import importlib.util
import json
import os
import socket
from datetime import datetime, timezone
from typing import Any, Iterator

import pytest
import requests

from fakeflow.dialects.comet import configure
from fakeflow.server import ThreadedServer
from fakeflow.web.app import create_app

pytestmark = [
    pytest.mark.skipif(importlib.util.find_spec("comet_ml") is None,
                       reason="comet-ml is not installed (pip install -e '.[comet]')"),
    pytest.mark.skipif(importlib.util.find_spec("mlflow") is None,
                       reason="mlflow-skinny is not installed (pip install -e '.[test]')"),
]

PORTS = range(21700, 21800)
T0 = 1_700_000_000_000  # 2023-11-14 22:13:20 UTC


def _server(app: Any) -> ThreadedServer:
    for port in PORTS:
        try:
            return ThreadedServer(app, port=port).start()
        except OSError:
            continue
    return ThreadedServer(app, port=0).start()


@pytest.fixture(scope="module")
def comet_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    home = tmp_path_factory.mktemp("comet-home")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HOME", str(home))
        mp.setenv("COMET_ERROR_TRACKING_ENABLE", "false")
        mp.setenv("COMET_DISABLE_AUTO_LOGGING", "1")
        mp.setenv("COMET_DISABLE_ANNOUNCEMENT", "true")
        mp.setenv("MLFLOW_DISABLE_TELEMETRY", "true")
        mp.delenv("COMET_API_KEY", raising=False)
        mp.chdir(home)
        importlib.import_module("comet_ml")  # only now, after the environment above

        yield mp


@pytest.fixture(scope="module")
def server(comet_env: Any) -> Iterator[tuple[ThreadedServer, Any]]:
    app = create_app()
    running = _server(app)
    comet_env.setenv("COMET_URL_OVERRIDE", running.url + "/clientlib/")
    try:
        yield running, app.store
    finally:
        running.stop()


@pytest.fixture()
def store(server: tuple[ThreadedServer, Any]) -> Iterator[Any]:
    _, state = server
    state.reset()
    configure(state, enabled=True, workspace="fakeflow", api_key=None, backend_version="3.20.60")
    yield state


@pytest.fixture()
def mlflow_client(server: tuple[ThreadedServer, Any], store: Any) -> Any:
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=server[0].url)


@pytest.fixture()
def api(store: Any) -> Any:
    from comet_ml import API

    return API(api_key="any-key", cache=False)


class Logged:
    """What the MLflow client logged, for the assertions to compare with."""

    def __init__(self, client: Any, tmp_path: Any) -> None:
        self.project = "vision"
        self.experiment_id = client.create_experiment(self.project)
        self.fast = client.create_run(self.experiment_id, start_time=T0, run_name="fast",
                                      tags={"team": "cv", "stage": "dev"}).info.run_id
        client.log_param(self.fast, "lr", "0.1")
        client.log_param(self.fast, "optimizer", "adam")
        for step, (loss, ts) in enumerate([(0.9, T0 + 1000), (0.5, T0 + 2000), (0.25, T0 + 3000)]):
            client.log_metric(self.fast, "loss", loss, timestamp=ts, step=step)
        client.log_metric(self.fast, "acc", 0.75, timestamp=T0 + 3000, step=2)
        client.set_terminated(self.fast, "FINISHED", end_time=T0 + 120_000)
        self.slow = client.create_run(self.experiment_id, start_time=T0 + 3_600_000,
                                      run_name="slow", tags={"team": "nlp"}).info.run_id
        client.log_param(self.slow, "lr", "0.01")
        client.log_param(self.slow, "optimizer", "sgd")
        client.log_metric(self.slow, "loss", 0.6, timestamp=T0 + 3_700_000, step=0)
        client.log_metric(self.slow, "acc", 0.95, timestamp=T0 + 3_700_000, step=0)
        client.set_terminated(self.slow, "FINISHED", end_time=T0 + 3_600_000 + 600_000)
        artifact = tmp_path / "report.txt"
        artifact.write_text("accuracy 0.75\n")
        client.log_artifact(self.fast, str(artifact))
        client.log_artifact(self.fast, str(artifact), artifact_path="nested")


@pytest.fixture()
def logged(mlflow_client: Any, tmp_path: Any) -> Logged:
    return Logged(mlflow_client, tmp_path)


# ---- workspaces, projects, experiments ------------------------------------------------------

def test_workspaces_projects_and_experiments(api: Any, logged: Logged) -> None:
    assert api.get_workspaces() == ["fakeflow"]
    assert api.get() == ["fakeflow"]
    assert api.get_account_details() == {"userName": "fakeflow", "defaultWorkspaceName": "fakeflow"}
    assert api.get_default_workspace() == "fakeflow"
    assert api.get_projects("fakeflow") == ["Default", "vision"]
    project = api.get_project("fakeflow", "vision")
    assert project["projectId"] == logged.experiment_id and project["numberOfExperiments"] == 2
    assert api.get_project_by_id(logged.experiment_id)["projectName"] == "vision"
    keys = {e.key: e for e in api.get_experiments("fakeflow", "vision")}
    assert set(keys) == {logged.fast, logged.slow}
    fast = keys[logged.fast]
    assert (fast.name, fast.project_name, fast.workspace) == ("fast", "vision", "fakeflow")
    assert (fast.start_server_timestamp, fast.end_server_timestamp) == (T0, T0 + 120_000)
    assert fast.duration_millis == 120_000 and fast.archived is False
    assert [e.key for e in api.get_experiments("fakeflow", "vision", pattern="sl")] == [logged.slow]
    assert api.get_experiment_by_key(logged.slow).name == "slow"
    assert api.get_experiment_by_key("no-such-key") is None
    assert api.get("fakeflow", "vision", logged.fast).key == logged.fast
    assert api.get("fakeflow/vision/slow").key == logged.slow  # by name, after the key lookup 404s
    assert api.get_experiment("fakeflow", "vision", "nothing") is None


def test_metrics_parameters_tags(api: Any, logged: Logged) -> None:
    fast = api.get_experiment_by_key(logged.fast)
    metrics = fast.get_metrics()
    assert [(m["metricName"], m["metricValue"], m["step"], m["timestamp"]) for m in metrics] == [
        ("loss", "0.9", 0, T0 + 1000), ("loss", "0.5", 1, T0 + 2000),
        ("loss", "0.25", 2, T0 + 3000), ("acc", "0.75", 2, T0 + 3000)]
    assert [m["metricValue"] for m in fast.get_metrics("acc")] == ["0.75"]
    summary = {s["name"]: s for s in fast.get_metrics_summary()}
    assert (summary["loss"]["valueMin"], summary["loss"]["valueMax"],
            summary["loss"]["valueCurrent"]) == ("0.25", "0.9", "0.25")
    assert summary["loss"]["stepMax"] == 0 and summary["loss"]["timestampMin"] == T0 + 3000
    params = {p["name"]: p["valueCurrent"] for p in fast.get_parameters_summary()}
    assert params == {"lr": "0.1", "optimizer": "adam"}
    assert fast.get_parameters_summary("lr")["valueMax"] == "0.1"
    assert fast.get_tags() == ["team", "stage"]  # mlflow.* system tags hidden
    assert {o["name"]: o["valueCurrent"] for o in fast.get_others_summary()} == {
        "team": "cv", "stage": "dev"}


@pytest.mark.parametrize(("version", "endpoints"), [
    ("3.20.60", ["get-all"]),
    ("3.20.59", ["column-names", "get-metric", "get-metric"]),
])
def test_metrics_in_one_call_or_one_by_one_by_backend_version(
        store: Any, logged: Logged, monkeypatch: Any, version: str, endpoints: list[str]) -> None:
    """From 3.20.60 the SDK reads all metrics at once; below, it lists the project's columns and
    asks for each metric in turn. Both give the same points."""
    configure(store, backend_version=version)
    from comet_ml import API

    sent: list[str] = []
    real_send = requests.Session.send

    def send(session: Any, request: Any, **kwargs: Any) -> Any:
        sent.append(request.path_url.split("?")[0].rsplit("/", 1)[-1])
        return real_send(session, request, **kwargs)

    experiment = API(api_key="any-key", cache=False).get_experiment_by_key(logged.fast)
    monkeypatch.setattr(requests.Session, "send", send)
    got = experiment.get_metrics()
    assert [name for name in sent if name != "ver"] == endpoints
    assert sorted((m["metricName"], m["step"], m["metricValue"]) for m in got) == [
        ("acc", 2, "0.75"), ("loss", 0, "0.9"), ("loss", 1, "0.5"), ("loss", 2, "0.25")]


def test_metrics_for_chart(api: Any, logged: Logged) -> None:
    chart = api.get_metrics_for_chart([logged.fast, logged.slow], ["loss"], ["lr"])
    assert chart[logged.fast]["metrics"][0]["values"] == [0.9, 0.5, 0.25]
    assert chart[logged.fast]["metrics"][0]["steps"] == [0, 1, 2]
    assert chart[logged.slow]["params"] == {"lr": "0.01"}


def test_assets_are_run_artifacts(api: Any, logged: Logged, tmp_path: Any) -> None:
    fast = api.get_experiment_by_key(logged.fast)
    assets = fast.get_asset_list()
    assert sorted(a["fileName"] for a in assets) == ["nested/report.txt", "report.txt"]
    assert fast.get_asset("report.txt") == b"accuracy 0.75\n"
    assert fast.get_asset("nested/report.txt", return_type="text") == "accuracy 0.75\n"
    target = tmp_path / "out.txt"
    api.download_experiment_asset(logged.fast, "report.txt", str(target))
    assert target.read_bytes() == b"accuracy 0.75\n"
    assert api.get_experiment_by_key(logged.slow).get_asset_list() == []


# ---- queries -------------------------------------------------------------------------------

def test_query_and_or_not_between_datetime(api: Any, logged: Logged) -> None:
    from comet_ml.query import Metadata, Metric, Parameter, Tag

    def keys(q: Any) -> set[str]:
        return {e.key for e in api.query("fakeflow", "vision", q)}

    fast, slow = logged.fast, logged.slow
    assert keys(Metric("acc") > 0.9) == {slow}
    assert keys((Metric("acc") > 0.5) & (Parameter("optimizer") == "adam")) == {fast}
    assert keys((Metric("acc") > 0.9) | (Parameter("optimizer") == "adam")) == {fast, slow}
    assert keys((Metric("acc") > 0.9) | (Metric("loss") < 0.3)) == {fast, slow}
    assert keys(~(Metric("acc") > 0.9)) == {fast}
    assert keys(Metric("loss").between(0.2, 0.3)) == {fast}
    assert keys(~Metric("loss").between(0.2, 0.3)) == {slow}
    assert keys(Parameter("lr") >= 0.05) == {fast}
    assert keys(Parameter("optimizer").startswith("sg")) == {slow}
    assert keys(Parameter("optimizer").contains("da")) == {fast}
    assert keys(Tag("stage")) == {fast}
    start = datetime.fromtimestamp((T0 + 1_800_000) / 1000, tz=timezone.utc).replace(tzinfo=None)
    assert keys(Metadata("start_server_timestamp") < start) == {fast}
    assert keys(Metadata("start_server_timestamp") > start) == {slow}
    assert keys(Metadata("duration") > 5 * 60) == {slow}
    assert keys(Metadata("experiment_name") == "fast") == {fast}
    assert keys(Metric("missing") == None) == set()  # noqa: E711  no such column: the SDK gives []
    names = {repr(v) for v in api.get_query_variables("fakeflow", "vision")}
    assert {"Metric('loss')", "Parameter('lr')", "Tag('team')", "Metadata('duration')"} <= names


def test_archived_query_and_listing(api: Any, logged: Logged) -> None:
    from comet_ml.query import Metric

    api.archive_experiment(logged.slow)
    assert [e.key for e in api.get_experiments("fakeflow", "vision")] == [logged.fast]
    assert [e.key for e in api.get_archived_experiments("fakeflow", "vision")] == [logged.slow]
    assert [e.key for e in api.query("fakeflow", "vision", Metric("acc") > 0, archived=True)] == [
        logged.slow]


# ---- archive, restore, delete ---------------------------------------------------------------

def test_archive_restore_delete_are_run_lifecycle(api: Any, mlflow_client: Any, logged: Logged,
                                                  store: Any) -> None:
    api.archive_experiment(logged.slow)
    assert mlflow_client.get_run(logged.slow).info.lifecycle_stage == "deleted"
    assert api.get_experiment_by_key(logged.slow).archived is True
    api.restore_experiment(logged.slow)
    assert mlflow_client.get_run(logged.slow).info.lifecycle_stage == "active"
    api.delete_experiment(logged.fast)
    assert api.get_experiment_by_key(logged.fast) is None
    with pytest.raises(Exception, match="not found"):
        mlflow_client.get_run(logged.fast)
    directories, files = store.artifacts.items()
    root = f"{logged.experiment_id}/{logged.fast}/artifacts"
    assert not [p for p in directories + [name for name, _ in files] if p.startswith(root)]
    api.archive_experiments([logged.slow])
    assert mlflow_client.get_run(logged.slow).info.lifecycle_stage == "deleted"
    api.delete_experiments([logged.slow])
    assert api.get_experiments("fakeflow", "vision") == []


def test_mlflow_writes_are_seen_by_the_next_comet_read(api: Any, mlflow_client: Any,
                                                       logged: Logged) -> None:
    fast = api.get_experiment_by_key(logged.fast)
    assert len(fast.get_metrics("acc")) == 1
    mlflow_client.log_metric(logged.fast, "acc", 0.8, timestamp=T0 + 4000, step=3)
    mlflow_client.set_tag(logged.fast, "fresh", "yes")
    assert [m["metricValue"] for m in fast.get_metrics("acc")] == ["0.75", "0.8"]
    assert "fresh" in fast.get_tags()
    run = mlflow_client.create_run(logged.experiment_id, run_name="new")
    assert run.info.run_id in {e.key for e in api.get_experiments("fakeflow", "vision")}


# ---- projects: writes -----------------------------------------------------------------------

def test_project_writes_map_onto_experiments(api: Any, mlflow_client: Any, logged: Logged) -> None:
    api.create_project("fakeflow", "audio", project_description="speech", public=True)
    created = mlflow_client.get_experiment_by_name("audio")
    assert created.tags["mlflow.note.content"] == "speech" and created.tags["comet.public"] == "true"
    api.update_project("fakeflow", "audio", new_project_name="sound", description="all of it")
    renamed = mlflow_client.get_experiment(created.experiment_id)
    assert (renamed.name, renamed.tags["mlflow.note.content"]) == ("sound", "all of it")
    api.set_project_notes("fakeflow", "sound", "read me")
    assert api.get_project_notes("fakeflow", "sound") == "read me"
    assert mlflow_client.get_experiment(created.experiment_id).tags["comet.notes"] == "read me"
    key = api.create_project_share_key(created.experiment_id)
    assert api.get_project_share_keys(created.experiment_id) == [key]
    api.delete_project_share_key(created.experiment_id, key)
    assert api.get_project_share_keys(created.experiment_id) == []
    api.move_experiments([logged.slow], "fakeflow", "sound")
    assert mlflow_client.get_run(logged.slow).info.experiment_id == created.experiment_id
    assert [e.key for e in api.get_experiments("fakeflow", "sound")] == [logged.slow]
    api.update_project_by_id(created.experiment_id, description="moved")
    api.delete_project("fakeflow", "sound")
    assert mlflow_client.get_experiment(created.experiment_id).lifecycle_stage == "deleted"
    assert "sound" not in api.get_projects("fakeflow")


def test_logging_through_api_experiment_is_mlflow_logging(api: Any, mlflow_client: Any,
                                                          logged: Logged) -> None:
    from comet_ml import APIExperiment
    from comet_ml.exceptions import CometRestApiException

    created = APIExperiment(api=api, workspace="fakeflow", project_name="vision",
                            experiment_name="from-comet")
    run = mlflow_client.get_run(created.id)
    assert (run.info.run_name, run.info.experiment_id) == ("from-comet", logged.experiment_id)
    created.log_parameter("batch", 32)
    created.log_metric("loss", 0.5, step=3)
    created.log_other("owner", "ana")
    created.add_tags(["baseline", "gpu"])
    created.delete_tags(["gpu"])
    data = mlflow_client.get_run(created.id).data
    assert data.params == {"batch": "32"} and data.metrics == {"loss": 0.5}
    assert data.tags["owner"] == "ana" and data.tags["baseline"] == "" and "gpu" not in data.tags
    assert mlflow_client.get_metric_history(created.id, "loss")[0].step == 3
    with pytest.raises(CometRestApiException) as refused:  # MLflow's rule on params
        created.log_parameter("batch", 64)
    assert refused.value.response.status_code == 400
    assert "Changing param values is not allowed" in refused.value.safe_msg


def test_stop_experiment_kills_a_running_run(api: Any, mlflow_client: Any, logged: Logged) -> None:
    running = mlflow_client.create_run(logged.experiment_id).info.run_id
    api.stop_experiment(running)
    info = mlflow_client.get_run(running).info
    assert info.status == "KILLED" and info.end_time is not None
    from comet_ml.exceptions import CometRestApiException

    with pytest.raises(CometRestApiException) as refused:
        api.stop_experiment(running)
    assert refused.value.response.status_code == 400


# ---- the model registry ---------------------------------------------------------------------

@pytest.mark.filterwarnings("ignore:.*transition_model_version_stage.*:FutureWarning")
def test_registry_reads_and_writes(api: Any, mlflow_client: Any, logged: Logged,
                                   tmp_path: Any) -> None:
    model_dir = tmp_path / "model"
    model_dir.mkdir()
    (model_dir / "MLmodel").write_text("flavors: {}\n")
    mlflow_client.log_artifacts(logged.fast, str(model_dir), artifact_path="model")
    mlflow_client.create_registered_model("classifier", description="cats")
    mlflow_client.create_model_version("classifier", f"runs:/{logged.fast}/model", logged.fast)
    mlflow_client.create_model_version("classifier", f"runs:/{logged.fast}/model", logged.fast)
    mlflow_client.transition_model_version_stage("classifier", "2", "Production")
    mlflow_client.set_registered_model_alias("classifier", "champion", "1")
    mlflow_client.create_registered_model("detector")

    assert api.get_registry_model_names("fakeflow") == ["classifier", "detector"]
    assert api.get_registry_model_count("fakeflow") == 2
    details = api.get_registry_model_details("fakeflow", "classifier")
    assert details["description"] == "cats"
    assert [(v["version"], v["stages"]) for v in details["versions"]] == [
        ("1.0.0", ["champion"]), ("2.0.0", ["production"])]
    assert details["versions"][0]["experimentModel"]["experimentKey"] == logged.fast
    assert [a["fileName"] for a in details["versions"][0]["assets"]] == ["MLmodel"]
    assert api.get_registry_model_details("fakeflow", "classifier", "2.0.0")["status"] == "Production"
    assert api.get_registry_model_versions("fakeflow", "classifier") == ["1.0.0", "2.0.0"]
    assert api.model_registry_allowed_status_values("fakeflow") == [
        "None", "Staging", "Production", "Archived"]
    assert api.get_latest_registry_model_version_details("fakeflow", "classifier")["version"] == "2.0.0"
    assert api.get_latest_registry_model_version_details(
        "fakeflow", "classifier", stage="champion")["version"] == "1.0.0"
    assets = api.get_model_registry_version_assets("fakeflow", "classifier", version="1.0.0")
    assert [a["fileName"] for a in assets["assets"]] == ["MLmodel"]
    out = tmp_path / "download"
    api.download_registry_model("fakeflow", "classifier", version="1.0.0", output_path=str(out))
    assert (out / "MLmodel").read_text() == "flavors: {}\n"

    api.update_registry_model_version("fakeflow", "classifier", "1.0.0", comment="first",
                                      stages=["champion", "staging"])
    assert mlflow_client.get_model_version("classifier", "1").description == "first"
    assert mlflow_client.get_model_version("classifier", "1").current_stage == "Staging"
    api.add_registry_model_version_stage("fakeflow", "classifier", "2.0.0", "candidate")
    assert mlflow_client.get_model_version_by_alias("classifier", "candidate").version == "2"
    from comet_ml.exceptions import CometRestApiException

    with pytest.raises(CometRestApiException) as refused:  # MLflow's rule, MLflow's message
        api.add_registry_model_version_stage("fakeflow", "classifier", "2.0.0", "latest")
    assert refused.value.response.status_code == 400
    assert "'latest' alias name (case insensitive) is reserved" in refused.value.safe_msg
    api.delete_registry_model_version_stage("fakeflow", "classifier", "2.0.0", "production")
    assert mlflow_client.get_model_version("classifier", "2").current_stage == "None"
    api.update_registry_model_notes("fakeflow", "classifier", "notes here")
    assert api.get_registry_model_notes("fakeflow", "classifier") == "notes here"
    api.update_registry_model("fakeflow", "classifier", description="dogs too")
    assert mlflow_client.get_registered_model("classifier").description == "dogs too"
    model = api.get_model("fakeflow", "classifier")  # the newer Model API
    assert model.find_versions() == ["1.0.0", "2.0.0"]
    assert model.find_versions(tag="candidate") == ["2.0.0"]
    assert model.status("1.0.0") == "Staging" and model.tags("1.0.0") == ["staging", "champion"]
    model.set_status("2.0.0", "Production")
    assert mlflow_client.get_model_version("classifier", "2").current_stage == "Production"
    model.add_tag("1.0.0", "reviewed")
    assert mlflow_client.get_model_version_by_alias("classifier", "reviewed").version == "1"
    model.delete_tag("1.0.0", "reviewed")
    assert "reviewed" not in mlflow_client.get_registered_model("classifier").aliases
    api.delete_registry_model_version("fakeflow", "classifier", "1.0.0")
    assert [v.version for v in mlflow_client.search_model_versions("name='classifier'")] == ["2"]
    api.delete_registry_model("fakeflow", "detector")
    assert api.get_registry_model_names("fakeflow") == ["classifier"]


def test_comet_artifacts_answer_as_an_account_without_any(api: Any, store: Any) -> None:
    from comet_ml.exceptions import NotFound

    assert api.get_artifact_list("fakeflow") == {"artifacts": []}
    with pytest.raises(NotFound):
        api.get_artifact_details("fakeflow", artifact_name="data")
    with pytest.raises(NotFound):
        api.get_artifact_files("fakeflow", artifact_name="data")


# ---- the wire: errors, auth, content type, loopback only -------------------------------------

def test_errors_carry_msg_and_client_errors_are_never_5xx(server: Any, store: Any,
                                                          logged: Logged) -> None:
    base = server[0].url + "/api/rest/v2"
    answers = [
        requests.get(base + "/experiment/metadata", params={"experimentKey": "nope"}),
        requests.get(base + "/experiment/metadata"),
        requests.get(base + "/projects", params={"workspaceName": "other"}),
        requests.post(base + "/project/query", data="{not json", headers={"Authorization": "k"}),
        requests.post(base + "/project/query", json={"workspaceName": "fakeflow",
                                                     "projectName": "vision",
                                                     "predicates": [{"query": {"rules": 3}}]}),
        requests.post(base + "/project/query", json={
            "workspaceName": "fakeflow", "projectName": "vision", "predicates": [
                {"source": "metrics", "query": {"condition": "AND", "rules": [
                    {"field": "acc", "type": "double", "operator": "between", "value": 3}]}}]}),
    ]
    assert [a.status_code for a in answers] == [404, 400, 404, 400, 400, 400]
    for answer in answers:
        assert answer.headers["Content-Type"] == "application/json"
        assert answer.json()["msg"]
    ok = requests.get(base + "/workspaces")
    assert ok.headers["Content-Type"] == "application/json"


def test_a_configured_key_is_required(store: Any) -> None:
    from comet_ml import API
    from comet_ml.exceptions import Unauthorized

    configure(store, api_key="secret")
    with pytest.raises(Unauthorized):
        API(api_key="wrong", cache=False).get_workspaces()
    assert API(api_key="secret", cache=False).get_workspaces() == ["fakeflow"]


def test_create_app_and_cli_options_configure_the_dialect() -> None:
    from werkzeug.test import Client

    from fakeflow.cli import _comet_options, build_parser

    app = create_app(comet_workspace="team", comet_api_key="k")
    client = Client(app)
    assert client.get("/api/rest/v2/workspaces", headers={"Authorization": "k"}).json == {
        "workspaceNames": ["team"]}
    assert client.get("/api/rest/v2/workspaces").status_code == 401
    assert Client(create_app(comet=False)).get("/api/rest/v2/workspaces").status_code == 404
    args = build_parser().parse_args(["serve", "--no-comet", "--comet-workspace", "w"])
    assert _comet_options(args) == {"comet": False, "comet_workspace": "w"}


def test_switched_off_the_paths_are_unknown(server: Any, store: Any) -> None:
    configure(store, enabled=False)
    answer = requests.get(server[0].url + "/api/rest/v2/workspaces")
    assert answer.status_code == 404 and "msg" not in answer.text


def test_the_sdk_only_talks_to_loopback(api: Any, logged: Logged, monkeypatch: Any) -> None:
    peers: list[Any] = []
    real_connect = socket.socket.connect

    def connect(sock: socket.socket, address: Any) -> Any:
        peers.append(address)
        return real_connect(sock, address)

    monkeypatch.setattr(socket.socket, "connect", connect)
    from comet_ml import API

    fresh = API(api_key="any-key", cache=False)
    experiment = fresh.get_experiment_by_key(logged.fast)
    experiment.get_metrics()
    experiment.get_asset_list()
    fresh.get_registry_model_count("fakeflow")
    assert peers and {address[0] for address in peers} == {"127.0.0.1"}


# ---- property: Comet's query selects what a direct reading of the MLflow state selects ----------

METRICS, PARAMS = ("m1", "m2"), ("p1", "p2")
NUMBERS = [x / 4 for x in range(-4, 5)]


def _oracle_leaf(run: Any, source: str, name: str, op: str, rhs: Any) -> bool:
    """Comet's rule read straight off an MLflow ``Run``: absent values match only nulls."""
    value = run.data.metrics.get(name) if source == "metrics" else run.data.params.get(name)
    if op == "is_null":
        return value is None
    if op == "is_not_null":
        return value is not None
    if value is None:
        return False
    if source == "metrics":
        if op in ("between", "not_between"):
            inside = float(rhs[0]) <= value <= float(rhs[1])
            return inside if op == "between" else not inside
        return {"equal": value == rhs, "not_equal": value != rhs, "less": value < rhs,
                "less_or_equal": value <= rhs, "greater": value > rhs,
                "greater_or_equal": value >= rhs}[op]
    positive = {"equal": value == rhs, "contains": rhs in value,
                "begins_with": value.startswith(rhs), "ends_with": value.endswith(rhs)}
    if op.startswith("not_"):
        return not positive[op[4:]]
    return positive[op]


def _oracle(expression: Any, run: Any) -> bool:
    if expression.op == "&":
        return _oracle(expression.lhs, run) and _oracle(expression.rhs, run)
    if expression.op == "|":
        return _oracle(expression.lhs, run) or _oracle(expression.rhs, run)
    return _oracle_leaf(run, expression.lhs.source, expression.lhs.name, expression.op,
                        expression.rhs)


def _variables(expression: Any) -> set[tuple[str, str]]:
    if expression.op in ("&", "|"):
        return _variables(expression.lhs) | _variables(expression.rhs)
    return {(expression.lhs.source, expression.lhs.name)}


_COLUMNS = {"columns": [{"name": n, "source": "metrics", "type": "double"} for n in METRICS]
            + [{"name": n, "source": "params", "type": "string"} for n in PARAMS]}


def _sent_faithfully(expression: Any) -> bool:
    """Whether comet-ml encodes the expression without changing its meaning. It does not when an
    operand of ``|`` is an ``&`` over two sources: it then flattens that ``&`` into the ``|``
    (``a | (b & c)`` is sent as ``a | b | c``); no server can tell."""
    if expression.op not in ("&", "|"):
        return True
    if expression.op == "|" and any(len(copy.deepcopy(side).get_predicates(_COLUMNS)) > 1
                                    for side in (expression.lhs, expression.rhs)):  # copies:
        # encoding caches each variable's column type, which would skip the SDK's own lookup
        return False
    return _sent_faithfully(expression.lhs) and _sent_faithfully(expression.rhs)


def test_the_sdk_flattens_a_two_source_and_inside_an_or(comet_env: Any) -> None:
    """Why the property below skips such queries: the request itself has lost the ``&``."""
    from comet_ml.query import Metric, Parameter

    query = (Parameter("p1") == "a") | ((Parameter("p1") != "a") & (Metric("m1") < -1.0))
    [predicate] = query.get_predicates(_COLUMNS)
    assert predicate["source"] == "nested" and predicate["query"]["condition"] == "OR"
    assert [rule["operator"] for rule in predicate["query"]["rules"]] == [
        "equal", "not_equal", "less"]
    assert not _sent_faithfully(query)


def _queries() -> Any:
    from hypothesis import strategies as st

    def metric_leaf(draw_name: str, kind: str, value: float, high: float) -> Any:
        from comet_ml.query import Metric

        m = Metric(draw_name)
        return {"<": lambda: m < value, "<=": lambda: m <= value, ">": lambda: m > value,
                ">=": lambda: m >= value, "==": lambda: m == value, "!=": lambda: m != value,
                "between": lambda: m.between(min(value, high), max(value, high)),
                "null": lambda: m == None, "notnull": lambda: m != None}[kind]()  # noqa: E711

    def param_leaf(name: str, kind: str, text: str) -> Any:
        from comet_ml.query import Parameter

        p = Parameter(name)
        return {"==": lambda: p == text, "!=": lambda: p != text,
                "contains": lambda: p.contains(text), "startswith": lambda: p.startswith(text),
                "endswith": lambda: p.endswith(text)}[kind]()

    metric = st.builds(metric_leaf, st.sampled_from(METRICS),
                       st.sampled_from(["<", "<=", ">", ">=", "==", "!=", "between", "null",
                                        "notnull"]),
                       st.sampled_from(NUMBERS), st.sampled_from(NUMBERS))
    param = st.builds(param_leaf, st.sampled_from(PARAMS),
                      st.sampled_from(["==", "!=", "contains", "startswith", "endswith"]),
                      st.text("ab", min_size=1, max_size=2))
    leaf = st.one_of(metric, param)
    leaf = st.one_of(leaf, leaf.map(lambda q: ~q))  # ~ on a leaf flips its operator
    return st.recursive(leaf, lambda inner: st.one_of(
        st.tuples(inner, inner).map(lambda pair: pair[0] & pair[1]),
        st.tuples(inner, inner).map(lambda pair: pair[0] | pair[1])), max_leaves=4)


def _states() -> Any:
    from hypothesis import strategies as st

    run = st.fixed_dictionaries({
        "metrics": st.dictionaries(st.sampled_from(METRICS),
                                   st.lists(st.sampled_from(NUMBERS), min_size=1, max_size=3)),
        "params": st.dictionaries(st.sampled_from(PARAMS), st.text("ab", min_size=1, max_size=3)),
        "archived": st.booleans(),
    })
    return st.lists(run, min_size=1, max_size=4)


def test_query_selects_what_the_state_says(api: Any, store: Any, server: Any) -> None:
    from hypothesis import HealthCheck, assume, given, settings
    from hypothesis import strategies as st
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=server[0].url)

    @settings(max_examples=40, deadline=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
    @given(state=_states(), query=_queries(), archived=st.booleans())
    def check(state: list[dict[str, Any]], query: Any, archived: bool) -> None:
        assume(_sent_faithfully(query))
        store.reset()
        experiment_id = client.create_experiment("prop")
        for index, spec in enumerate(state):
            run_id = client.create_run(experiment_id, start_time=T0 + index).info.run_id
            for key, values in spec["metrics"].items():
                for step, value in enumerate(values):
                    client.log_metric(run_id, key, value, timestamp=T0 + step, step=step)
            for key, value in spec["params"].items():
                client.log_param(run_id, key, value)
            if spec["archived"]:
                client.delete_run(run_id)
        runs = client.search_runs([experiment_id], run_view_type=3)  # ALL
        columns = {("metrics", k) for r in runs for k in r.data.metrics}
        columns |= {("params", k) for r in runs for k in r.data.params}
        if not _variables(query) <= columns:
            expected: set[str] = set()  # the SDK answers [] for a query on an unknown column
        else:
            wanted = "deleted" if archived else "active"
            expected = {r.info.run_id for r in runs
                        if r.info.lifecycle_stage == wanted and _oracle(query, r)}
        got = {e.key for e in api.query("fakeflow", "prop", query, archived=archived) or []}
        assert got == expected, repr(query)

    check()


_PROBE = r"""
import json, socket, sys
peers, lookups = [], []
real_connect, real_getaddrinfo = socket.socket.connect, socket.getaddrinfo
def connect(sock, address):
    peers.append(list(address)[:2])
    return real_connect(sock, address)
def getaddrinfo(host, *args, **kwargs):
    lookups.append(host)
    return real_getaddrinfo(host, *args, **kwargs)
socket.socket.connect, socket.getaddrinfo = connect, getaddrinfo
import comet_ml
api = comet_ml.API(api_key="any-key", cache=False)
api.get_workspaces()
for e in api.get_experiments("fakeflow", "vision"):
    e.get_metrics(); e.get_parameters_summary(); e.get_asset_list()
print(json.dumps({"peers": peers, "lookups": lookups}))
"""


def test_from_import_on_the_sdk_reaches_nothing_but_fakeflow(server: Any, logged: Logged,
                                                              tmp_path: Any) -> None:
    """Import included: with error tracking off, no sentry.io; no other host is even looked up."""
    import subprocess
    import sys

    env = {key: value for key, value in os.environ.items() if not key.startswith("COMET_")}
    env.update(HOME=str(tmp_path), COMET_ERROR_TRACKING_ENABLE="false",
               COMET_DISABLE_AUTO_LOGGING="1", COMET_URL_OVERRIDE=server[0].url + "/clientlib/")
    done = subprocess.run([sys.executable, "-c", _PROBE], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120, check=True)
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["peers"] and {tuple(p) for p in seen["peers"]} == {("127.0.0.1", server[0].port)}
    assert set(seen["lookups"]) <= {"127.0.0.1"}


def test_a_backend_older_than_the_sdk_accepts_is_refused(store: Any) -> None:
    from comet_ml import API
    from comet_ml.exceptions import BackendVersionTooOld

    configure(store, backend_version="1.2.77")
    with pytest.raises(BackendVersionTooOld):
        API(api_key="any-key", cache=False)
    configure(store, backend_version="1.2.78")
    assert API(api_key="any-key", cache=False).get_workspaces() == ["fakeflow"]


def _json_values(known: list[str]) -> Any:
    from hypothesis import strategies as st

    scalars = st.one_of(st.none(), st.booleans(), st.integers(-3, 3), st.floats(allow_nan=True),
                        st.sampled_from(["", "vision", "fakeflow", "AND", "OR", "metrics",
                                         "params", "tag", "metadata", "nested", "equal",
                                         "between", "is_null", "contains", "loss", "lr",
                                         "2023-11-14 22:13:20", "1/1", "classifier/1",
                                         *known]))
    return st.recursive(scalars, lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.sampled_from(["predicates", "query", "rules", "source", "condition",
                                         "field", "operator", "value", "type", "negated",
                                         "workspaceName", "projectName", "projectId",
                                         "experimentKey", "experimentKeys", "archived",
                                         "targetedExperiments", "metrics", "params", "stages",
                                         "registryModelItemId", "modelItemId", "notes",
                                         "targetWorkspaceName", "targetProjectName"]),
                        inner, max_size=5)), max_leaves=12)


def _query_bodies(known: list[str]) -> Any:
    """Bodies of ``project/query`` for a real project, with predicates of every shape."""
    from hypothesis import strategies as st

    anything = _json_values(known)
    leaf = st.one_of(anything, st.fixed_dictionaries({}, optional={
        "field": st.one_of(st.sampled_from(["loss", "acc", "lr", "team", "duration",
                                            "start_server_timestamp"]), anything),
        "type": st.one_of(st.sampled_from(["double", "string", "datetime", "timenumber"]),
                          anything),
        "operator": st.one_of(st.sampled_from(["equal", "less", "between", "not_between",
                                               "contains", "is_null", "is_empty"]), anything),
        "value": anything,
        "source": st.one_of(st.sampled_from(["metrics", "params", "tag", "metadata"]), anything),
    }))
    group = st.recursive(leaf, lambda inner: st.fixed_dictionaries({}, optional={
        "condition": st.one_of(st.sampled_from(["AND", "OR"]), anything),
        "rules": st.one_of(st.lists(inner, max_size=3), anything),
    }), max_leaves=6)
    wellformed = st.fixed_dictionaries({"query": group}, optional={
        "source": st.one_of(st.sampled_from(["metrics", "params", "nested"]), anything),
        "negated": anything})
    predicate = st.one_of(wellformed, wellformed, wellformed, anything)
    predicates = st.lists(predicate, min_size=1, max_size=3)
    return st.fixed_dictionaries({"workspaceName": st.just("fakeflow"),
                                  "projectName": st.just("vision"),
                                  "predicates": st.one_of(predicates, predicates, anything)})


def test_no_request_gets_a_5xx(store: Any, logged: Logged) -> None:
    """Whatever a client sends to any Comet path, the answer is JSON and below 500."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st
    from werkzeug.test import Client

    from fakeflow.dialects.comet.routes import COMET_ROUTES
    from fakeflow.state import snapshot as snapshots

    app = create_app(store=store)
    client = Client(app)
    routes = [(route.path, method) for route in COMET_ROUTES for method in route.methods]

    known = [logged.fast, logged.slow, logged.experiment_id, "vision", "fakeflow", "report.txt"]
    before = snapshots.dump(store)
    queries = st.just(("/api/rest/v2/project/query", "POST"))  # half of the examples

    @settings(max_examples=150, deadline=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(route=st.one_of(st.sampled_from(routes), queries), body=_json_values(known),
           query=st.dictionaries(st.sampled_from(["workspaceName", "projectName", "projectId",
                                                  "experimentKey", "metricName", "assetId",
                                                  "modelName", "version", "stage", "page",
                                                  "size", "sortBy", "archived", "type"]),
                                 st.one_of(st.text(max_size=6), st.sampled_from(known)),
                                 max_size=4), data=st.data())
    def check(route: tuple[str, str], body: Any, query: dict[str, str], data: Any) -> None:
        path, method = route
        snapshots.load(store, before)  # earlier examples may have deleted what this one needs
        if path.endswith("/project/query"):
            body = data.draw(_query_bodies(known))
        if method == "POST":
            answer = client.post(path, data=json.dumps(body), query_string=query,
                                 content_type="application/json")
        else:
            answer = client.get(path, query_string=query)
        assert answer.status_code < 500, (path, body, query, answer.get_data(as_text=True))
        if answer.status_code >= 400:
            assert answer.headers["Content-Type"] == "application/json"
            assert json.loads(answer.get_data())["msg"]

    check()
