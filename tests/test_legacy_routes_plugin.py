"""The pytest plugin's legacy-routes option (``--fakeflow-legacy-routes``, env
``FAKEFLOW_LEGACY_ROUTES``, ini ``fakeflow_legacy_routes``), through pytester as a downstream
project uses it. The routes themselves are tested in tests/test_legacy_routes.py."""

from __future__ import annotations

import pytest

pytest_plugins = ("pytester",)

# Imported here, not first inside an inline run (pytester would drop it again afterwards).
pytest.importorskip("mlflow")

QUIET = ("-p", "no:cacheprovider", "-p", "no:unraisableexception", "-p", "no:hypothesispytest",
         "-p", "no:anyio", "-p", "no:xdist", "-p", "no:xdist.looponfail")
INNER = """
import requests

def test_legacy_list(fakeflow):
    answer = requests.get(fakeflow.url + "/api/2.0/preview/mlflow/registered-models/list")
    assert answer.status_code == {expected}
"""


@pytest.mark.parametrize("how, expected", [
    ("flag", 200), ("env", 200), ("ini", 200), ("flag-no", 404), ("default", 404),
])
def test_plugin_option(pytester, monkeypatch, how, expected):
    for name in ("FAKEFLOW_LEGACY_ROUTES", "FAKEFLOW_TARGET", "MLFLOW_TRACKING_URI"):
        monkeypatch.delenv(name, raising=False)
    pytester.makepyfile(test_inner=INNER.format(expected=expected))
    args = []
    if how == "flag":
        args.append("--fakeflow-legacy-routes=yes")
    elif how == "flag-no":
        monkeypatch.setenv("FAKEFLOW_LEGACY_ROUTES", "yes")  # the flag wins over the env
        args.append("--fakeflow-legacy-routes=no")
    elif how == "env":
        monkeypatch.setenv("FAKEFLOW_LEGACY_ROUTES", "true")
    elif how == "ini":
        pytester.makeini("[pytest]\nfakeflow_legacy_routes = yes\n")
    pytester.runpytest_inprocess(*QUIET, "-q", *args).assert_outcomes(passed=1)


def test_plugin_option_typo_is_a_usage_error(pytester, monkeypatch):
    monkeypatch.delenv("FAKEFLOW_LEGACY_ROUTES", raising=False)
    pytester.makepyfile(test_inner=INNER.format(expected=200))
    result = pytester.runpytest_inprocess(*QUIET, "-q", "--fakeflow-legacy-routes=maybe")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "fakeflow_legacy_routes must be one of" in "\n".join(result.errlines)
