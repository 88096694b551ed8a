"""``fakeflow.traces`` as a downstream project uses it: tests/support/traces_plugin_suite.py
(nested and async traced functions, spans with attributes and events, an exception, many
threads, tags, feedback, expectations, the request log) runs through pytester, against the fake
and, with ``--fakeflow-target``, against a real MLflow 3.17.2."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest_plugins = ("pytester",)

# Imported out here: pytester drops modules first imported inside an inline run.
mlflow = pytest.importorskip("mlflow")
import mlflow.tracing.fluent  # noqa: E402,F401
import opentelemetry.proto.collector.trace.v1.trace_service_pb2  # noqa: E402,F401

SUITE = (Path(__file__).parent / "support" / "traces_plugin_suite.py").read_text()
QUIET = ("-p", "no:cacheprovider", "-p", "no:unraisableexception", "-p", "no:hypothesispytest",
         "-p", "no:anyio", "-p", "no:xdist", "-p", "no:xdist.looponfail")


@pytest.fixture(autouse=True)
def _quiet_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("FAKEFLOW_TRANSPORT", "FAKEFLOW_TARGET", "FAKEFLOW_SEED", "FAKEFLOW_RESET",
                 "MLFLOW_TRACKING_URI", "MLFLOW_EXPERIMENT_ID", "MLFLOW_EXPERIMENT_NAME",
                 "MLFLOW_RUN_ID", "MLFLOW_ENABLE_ASYNC_TRACE_LOGGING"):
        monkeypatch.delenv(name, raising=False)


def test_traced_code_is_asserted_on_the_fake(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_traced=SUITE)
    result = pytester.runpytest_inprocess(*QUIET, "-q")
    result.assert_outcomes(passed=10)


def test_the_same_assertions_hold_on_a_real_server(pytester: pytest.Pytester,
                                                   reference_server) -> None:
    pytester.makepyfile(test_traced=SUITE)
    result = pytester.runpytest_inprocess(*QUIET, "-q", "--fakeflow-target",
                                          reference_server.url)
    result.assert_outcomes(passed=9, skipped=1)  # the request log is the fake's own
