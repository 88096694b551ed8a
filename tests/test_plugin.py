"""The pytest plugin, exercised the way a downstream project uses it (through pytester)."""

from __future__ import annotations

import json
import os

import pytest

pytest_plugins = ("pytester",)

pytest.importorskip("mlflow")


@pytest.fixture(autouse=True)
def _quiet_env(monkeypatch):
    """Inner runs share this process: no option may leak in from the outer environment."""
    for name in ("FAKEFLOW_TRANSPORT", "FAKEFLOW_TARGET", "FAKEFLOW_SEED", "FAKEFLOW_RESET",
                 "MLFLOW_TRACKING_URI", "MLFLOW_EXPERIMENT_ID", "MLFLOW_EXPERIMENT_NAME",
                 "MLFLOW_RUN_ID", "MLFLOW_HTTP_REQUEST_MAX_RETRIES"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="module", autouse=True)
def _warm_mlflow():
    """Import what MLflow imports lazily once, out here: pytester drops modules first imported
    inside an inline run, and re-importing MLflow in every run is slow (and splits its state)."""
    import mlflow
    from mlflow.entities import Metric, Param

    from fakeflow.control import create_server

    from mlflow.tracking import fluent
    from mlflow.tracking._tracking_service import utils

    server = create_server()
    saved_env, saved_uri = dict(os.environ), utils._tracking_uri
    try:
        mlflow.set_tracking_uri(server.url)
        mlflow.set_experiment("warm")
        with mlflow.start_run() as run:
            mlflow.log_params({"a": 1})
            mlflow.log_metric("m", 1.0)
            mlflow.log_metrics({"n": 2.0})
        client = mlflow.MlflowClient(server.url)
        client.log_batch(run.info.run_id, metrics=[Metric("m", 1.0, 1, 1)], params=[Param("b", "2")])
        client.get_metric_history(run.info.run_id, "m")
        client.get_run(run.info.run_id)
        mlflow.get_experiment_by_name("warm")
        try:
            client.get_run("missing")
        except mlflow.exceptions.MlflowException:
            pass
    finally:
        mlflow.set_tracking_uri(saved_uri)
        fluent._active_experiment_id = None
        os.environ.clear()
        os.environ.update(saved_env)
        server.stop()
    yield


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    # Other plugins are left out: inline runs re-import whatever they import, which is slow.
    return pytester.runpytest_inprocess(*QUIET, "-q", *args)


QUIET = ("-p", "no:cacheprovider", "-p", "no:unraisableexception", "-p", "no:hypothesispytest",
         "-p", "no:anyio", "-p", "no:xdist", "-p", "no:xdist.looponfail")


CLEAN_SUITE = """
import mlflow

def test_a(fakeflow, tmp_path_factory):
    with mlflow.start_run() as run:
        mlflow.log_param("p", "1")
        mlflow.set_experiment("left-behind")
    fakeflow.client.create_experiment("also-left-behind")
    record("a", fakeflow, run.info.run_id)

def test_b(fakeflow):
    assert set(fakeflow.store.experiments) == {"0"}
    assert fakeflow.store.runs == {}
    assert len(fakeflow.requests) == 0
    run = fakeflow.client.create_run("0")
    fakeflow.seed(1234)  # must not leak into test_c
    record("b", fakeflow, run.info.run_id)

def test_c(fakeflow):
    assert mlflow.get_experiment_by_name("left-behind") is None
    with mlflow.start_run() as run:  # the Default experiment again, not "left-behind"
        pass
    assert run.info.experiment_id == "0"
    record("c", fakeflow, run.info.run_id)

def record(name, fakeflow, run_id):
    import json, pathlib
    path = pathlib.Path(__file__).with_name("ids.json")
    data = json.loads(path.read_text()) if path.exists() else {}
    data[name] = {"run_id": run_id, "seed": fakeflow.store.ids.seed,
                  "next_experiment_id": fakeflow.store.next_experiment_id}
    path.write_text(json.dumps(data))
"""


def test_each_test_gets_a_clean_fake(pytester):
    pytester.makepyfile(test_suite=CLEAN_SUITE)
    run(pytester).assert_outcomes(passed=3)
    ids = json.loads((pytester.path / "ids.json").read_text())
    assert ids["a"]["next_experiment_id"] == 3 and ids["b"]["next_experiment_id"] == 1
    assert ids["b"]["seed"] == 1234 and ids["c"]["seed"] is None
    assert len({entry["run_id"] for entry in ids.values()}) == 3


def test_seed_option_gives_every_test_the_same_ids(pytester):
    pytester.makepyfile(test_suite=CLEAN_SUITE)
    run(pytester, "--fakeflow-seed=7").assert_outcomes(passed=3)
    ids = json.loads((pytester.path / "ids.json").read_text())
    assert ids["a"]["run_id"] == ids["b"]["run_id"] == ids["c"]["run_id"]
    assert ids["c"]["seed"] == 7  # test_b's reseed did not leak


def test_client_state_and_environment_are_restored(pytester, monkeypatch):
    import mlflow

    monkeypatch.setenv("MLFLOW_TRACKING_URI", "file:///outer/uri")
    monkeypatch.setenv("MLFLOW_EXPERIMENT_NAME", "outer-experiment")
    pytester.makepyfile(test_suite="""
        import os, mlflow

        def test_inside(fakeflow):
            assert os.environ["MLFLOW_TRACKING_URI"] == fakeflow.url
            assert mlflow.get_tracking_uri() == fakeflow.url
            assert "MLFLOW_EXPERIMENT_NAME" not in os.environ
            assert os.environ["MLFLOW_HTTP_REQUEST_MAX_RETRIES"] == "0"
            mlflow.set_experiment("inner")
            mlflow.start_run()  # leaked on purpose
            os.environ["MLFLOW_HTTP_REQUEST_MAX_RETRIES"] = "5"

        def test_after():
            assert os.environ["MLFLOW_TRACKING_URI"] == "file:///outer/uri"
            assert os.environ["MLFLOW_EXPERIMENT_NAME"] == "outer-experiment"
            assert "MLFLOW_EXPERIMENT_ID" not in os.environ
            assert "MLFLOW_RUN_ID" not in os.environ
            assert "MLFLOW_HTTP_REQUEST_MAX_RETRIES" not in os.environ
            assert mlflow.active_run() is None
            assert mlflow.get_tracking_uri() == "file:///outer/uri"
    """)
    run(pytester).assert_outcomes(passed=2)
    assert mlflow.active_run() is None


def test_a_leaked_run_is_ended(pytester):
    pytester.makepyfile(test_suite="""
        import mlflow

        def test_leak(fakeflow):
            mlflow.start_run(run_name="leaky")

        def test_sees_it_ended(fakeflow):
            assert mlflow.active_run() is None
            (run,) = fakeflow.store.runs.values()
            assert (run.run_name, run.status) == ("leaky", "FINISHED")
            assert run.end_time is not None
    """)
    run(pytester, "--fakeflow-reset=module").assert_outcomes(passed=2)


def test_reset_scope_module_keeps_state_within_a_module_only(pytester):
    body = """
        def test_first(fakeflow):
            fakeflow.client.create_experiment("{name}")

        def test_second(fakeflow):
            assert [e.name for e in fakeflow.store.experiments.values()] == ["Default", "{name}"]
            assert len(fakeflow.requests) == 0  # the log is per test whatever the reset scope
    """
    pytester.makepyfile(test_one=body.format(name="one"), test_two=body.format(name="two"))
    run(pytester, "--fakeflow-reset=module").assert_outcomes(passed=4)
    run(pytester).assert_outcomes(passed=2, failed=2)


@pytest.mark.parametrize("transport", ["inprocess", "http"])
def test_fault_injection_through_the_mlflow_client(pytester, transport):
    pytester.makepyfile(test_suite="""
        import time
        import mlflow
        import pytest
        from mlflow.exceptions import MlflowException

        def test_fails_fast(fakeflow):
            fakeflow.fail("runs/log-batch", times=1, status=503)
            run = fakeflow.client.create_run("0")
            start = time.perf_counter()
            with pytest.raises(MlflowException):
                fakeflow.client.log_batch(run.info.run_id, params=[mlflow.entities.Param("p", "v")])
            assert time.perf_counter() - start < 10  # MLflow's default retries take minutes
            fakeflow.client.log_batch(run.info.run_id, params=[mlflow.entities.Param("p", "v")])
            assert fakeflow.store.runs[run.info.run_id].params == {"p": "v"}

        def test_an_error_code_reaches_the_caller(fakeflow):
            fakeflow.fail("experiments/create", status=400, error_code="INVALID_PARAMETER_VALUE",
                          message="no such name allowed")
            with pytest.raises(MlflowException) as caught:
                fakeflow.client.create_experiment("x")
            assert caught.value.error_code == "INVALID_PARAMETER_VALUE"
            assert "no such name allowed" in str(caught.value)

        def test_the_clients_retries_ride_it_out(fakeflow, monkeypatch):
            monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "2")
            fault = fakeflow.fail("runs/create", times=2, status=503)
            run = fakeflow.client.create_run("0")
            assert fault.hits == 2
            assert [e.status for e in fakeflow.requests.find("runs/create")] == [503, 503, 200]
            assert list(fakeflow.store.runs) == [run.info.run_id]

        def test_delays(fakeflow):
            fakeflow.delay("runs/create", 0.3)
            start = time.perf_counter()
            fakeflow.client.create_run("0")
            assert time.perf_counter() - start >= 0.3
    """)
    run(pytester, f"--fakeflow-transport={transport}").assert_outcomes(passed=4)


def test_request_log_assertions(pytester):
    pytester.makepyfile(test_suite="""
        import mlflow

        def train():
            with mlflow.start_run():
                mlflow.log_params({"lr": 0.1, "epochs": 2})
                for step in range(2):
                    mlflow.log_metric("loss", 1.0 / (step + 1), step=step)
                mlflow.log_metrics({"acc": 0.9, "f1": 0.8})

        def test_logged_exactly_these_metrics(fakeflow):
            train()
            assert fakeflow.requests.logged_metrics() == [
                ("loss", 1.0, 0), ("loss", 0.5, 1), ("acc", 0.9, 0), ("f1", 0.8, 0)]
            assert fakeflow.requests.logged_params() == {"lr": "0.1", "epochs": "2"}
            assert fakeflow.requests.routes()[0] == "runs/create"
            assert fakeflow.requests.routes()[-1] == "runs/update"
    """)
    run(pytester).assert_outcomes(passed=1)


def test_snapshot_save_and_load_lose_nothing(pytester):
    pytester.makepyfile(test_suite="""
        import json, math, pathlib
        import mlflow
        from mlflow.entities import Metric

        SNAP = pathlib.Path(__file__).with_name("snap.json")

        def test_save(fakeflow):
            mlflow.set_experiment("snap")
            with mlflow.start_run(tags={"b": "1", "a": "2"}) as run:
                mlflow.log_param("p", "v")
                fakeflow.client.log_batch(run.info.run_id, metrics=[
                    Metric("m", float("nan"), 5, 1), Metric("m", 2.0, 1, 0), Metric("m", 3.0, 9, 2)])
            fakeflow.save_file(SNAP)
            pathlib.Path(str(SNAP) + ".expected").write_text(json.dumps(
                {"dump": fakeflow.dump(), "run_id": run.info.run_id,
                 "tags": list(fakeflow.client.get_run(run.info.run_id).data.tags)}))

        def test_load(fakeflow):
            expected = json.loads(pathlib.Path(str(SNAP) + ".expected").read_text())
            assert fakeflow.store.runs == {}
            fakeflow.load_file(SNAP)
            assert fakeflow.dump() == expected["dump"]
            run = fakeflow.client.get_run(expected["run_id"])
            assert list(run.data.tags) == expected["tags"]
            tags = list(fakeflow.store.runs[run.info.run_id].tags)
            assert tags.index("b") < tags.index("a")
            assert run.data.params == {"p": "v"}
            history = fakeflow.client.get_metric_history(run.info.run_id, "m")
            assert [(h.step, h.timestamp) for h in history] == [(0, 1), (1, 5), (2, 9)]
            assert math.isnan(history[1].value)
            assert mlflow.get_experiment_by_name("snap").experiment_id == "1"
            assert fakeflow.client.create_experiment("after") == "2"
    """)
    run(pytester).assert_outcomes(passed=2)


def test_rest_fixture_and_handle_basics(pytester):
    pytester.makepyfile(test_suite="""
        import pytest
        import requests
        from fakeflow.transport import WSGIAdapter
        from pytest_plugin import RestError

        def test_rest(fakeflow_rest, fakeflow):
            created = fakeflow_rest.call("POST", "experiments/create", {"name": "r"})
            assert fakeflow.store.experiments[created["experiment_id"]].name == "r"
            assert fakeflow_rest.get("/health").text == "OK"
            with pytest.raises(RestError) as caught:
                fakeflow_rest.call("GET", "runs/get", {"run_id": "nope"})
            assert (caught.value.status, caught.value.error_code) == (404, "RESOURCE_DOES_NOT_EXIST")
            assert fakeflow.name("exp") == "exp" and fakeflow.experiment_id == "0"

        def test_transport_in_use(fakeflow, request):
            adapter = requests.Session().get_adapter(fakeflow.url + "/health")
            expected = request.config.getoption("fakeflow_transport") or "inprocess"
            assert isinstance(adapter, WSGIAdapter) == (expected == "inprocess")
    """)
    run(pytester).assert_outcomes(passed=2)
    run(pytester, "--fakeflow-transport=http").assert_outcomes(passed=2)


def test_markers_without_a_target(pytester):
    pytester.makepyfile(test_suite="""
        import pytest

        @pytest.mark.fakeflow_real
        def test_real(fakeflow):
            raise AssertionError("must be skipped on the fake")

        @pytest.mark.fakeflow_only
        def test_fake(fakeflow):
            assert fakeflow.is_fake
    """)
    result = run(pytester, "-rs", "--strict-markers")
    result.assert_outcomes(passed=1, skipped=1)
    result.stdout.fnmatch_lines(["*needs a real MLflow server*"])


def test_options_from_ini_env_and_command_line(pytester, monkeypatch):
    pytester.makeini("[pytest]\nfakeflow_seed = 1\nfakeflow_transport = http\n")
    pytester.makepyfile(test_suite="""
        def test_settings(fakeflow_service, pytestconfig):
            import json, pathlib
            s = fakeflow_service.settings
            pathlib.Path("settings.json").write_text(json.dumps([s.seed, s.transport, s.reset]))
    """)

    def settings(*args):
        run(pytester, *args).assert_outcomes(passed=1)
        return json.loads((pytester.path / "settings.json").read_text())

    assert settings() == [1, "http", "function"]  # ini
    monkeypatch.setenv("FAKEFLOW_SEED", "2")
    monkeypatch.setenv("FAKEFLOW_RESET", "module")
    assert settings() == [2, "http", "module"]
    assert settings("--fakeflow-seed=3", "--fakeflow-transport=inprocess") == \
        [3, "inprocess", "module"]
    result = run(pytester, "--fakeflow-transport=carrier-pigeon")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*fakeflow_transport must be one of*"])
    monkeypatch.setenv("FAKEFLOW_SEED", "x")
    assert run(pytester).ret == pytest.ExitCode.USAGE_ERROR


def test_an_unexpected_error_inside_the_fake_fails_the_test(pytester):
    pytester.makepyfile(test_suite="""
        def test_boom(fakeflow, monkeypatch):
            def broken(run_id):
                raise ZeroDivisionError("inside the fake")
            monkeypatch.setattr(fakeflow.store, "get_run", broken)
            answer = fakeflow.rest.get("runs/get", params={"run_id": "x"})
            assert answer.status_code == 500

        def test_next_is_fine(fakeflow):
            assert fakeflow.rest.get("/health").status_code == 200
    """)
    result = run(pytester)
    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines(["*fakeflow hit an unexpected error*ZeroDivisionError*"])


def test_the_server_failing_to_start_fails_loudly(pytester):
    pytester.makeconftest("""
        from fakeflow.server import ThreadedServer

        _original = ThreadedServer.start

        def _refuse(self):
            raise OSError(98, "Address already in use")

        def pytest_configure(config):
            ThreadedServer.start = _refuse

        def pytest_unconfigure(config):
            ThreadedServer.start = _original
    """)
    pytester.makepyfile(test_suite="""
        def test_one(fakeflow):
            pass

        def test_two(fakeflow):
            pass
    """)
    result = run(pytester)
    result.assert_outcomes(errors=2)
    result.stdout.fnmatch_lines(["*cannot start the fake server*Address already in use*"])


def test_report_header(pytester):
    pytester.makepyfile(test_suite="def test_x(): pass")
    run(pytester, "-v", "--fakeflow-seed=5").stdout.fnmatch_lines(
        ["fakeflow: transport=inprocess reset=function seed=5"])


def test_fake_only_api_refuses_clearly_on_a_real_target():
    from pytest_plugin.handle import FakeflowHandle, FakeOnly
    from pytest_plugin.options import Settings
    from pytest_plugin.services import TargetService

    handle = FakeflowHandle(TargetService(Settings(target="http://127.0.0.1:9")))
    with pytest.raises(FakeOnly, match="fakeflow_only"):
        handle.store
    assert handle.name("exp").startswith("exp-")
    assert os.environ.get("MLFLOW_TRACKING_URI") is None


def test_absent_probe_modules_fail_fast(pytester):
    pytester.makepyfile(test_suite="""
        import sys
        import pytest

        def test_probe(fakeflow, pytestconfig):
            fast = pytestconfig.getoption("fakeflow_fast_probes") != "no"
            assert (sys.modules.get("dbruntime", "unset") is None) == fast
            with pytest.raises(ModuleNotFoundError):
                import dbruntime
    """)
    run(pytester).assert_outcomes(passed=1)
    run(pytester, "--fakeflow-fast-probes=no").assert_outcomes(passed=1)


def test_remember_and_forget_absent_modules():
    import sys

    from pytest_plugin.import_probes import forget_absent, remember_absent

    names = ("no_such_module_for_fakeflow", "no_such_module_for_fakeflow.sub", "json",
             "json.no_such_submodule")
    marked = remember_absent(names)
    try:
        assert marked == ["no_such_module_for_fakeflow", "no_such_module_for_fakeflow.sub"]
        assert sys.modules["no_such_module_for_fakeflow"] is None
        assert sys.modules["json"] is not None
        with pytest.raises(ModuleNotFoundError):
            import no_such_module_for_fakeflow.sub  # noqa: F401
    finally:
        forget_absent(marked)
    assert "no_such_module_for_fakeflow" not in sys.modules
    assert "no_such_module_for_fakeflow.sub" not in sys.modules


def test_the_registry_follows_the_fake_and_is_restored(pytester, monkeypatch):
    """A registry URI set outside the test (environment or ``mlflow.set_registry_uri``) must
    not send the fake's registry calls elsewhere, and is back after the test."""
    monkeypatch.setenv("MLFLOW_REGISTRY_URI", "http://127.0.0.1:9/outer-registry")
    pytester.makepyfile(test_suite="""
        import os, mlflow

        outer = {}

        def test_outer_setting():
            mlflow.set_registry_uri("http://127.0.0.1:9/set-outside")
            outer["env"] = os.environ.get("MLFLOW_REGISTRY_URI")

        def test_inside(fakeflow):
            assert mlflow.get_registry_uri() == fakeflow.url
            assert "MLFLOW_REGISTRY_URI" not in os.environ
            fakeflow.client.create_registered_model("m")
            assert mlflow.MlflowClient().get_registered_model("m").name == "m"
            mlflow.set_registry_uri("http://127.0.0.1:9/leaked")

        def test_after():
            assert os.environ.get("MLFLOW_REGISTRY_URI") == outer["env"]
            assert mlflow.get_registry_uri() == "http://127.0.0.1:9/set-outside"
    """)
    run(pytester).assert_outcomes(passed=3)
    from mlflow.tracking._model_registry import utils as registry_utils
    registry_utils._registry_uri = None  # pytester ran in this process
