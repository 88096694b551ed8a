"""The conformance suites in CI: against real MLflow 3.17.2 (proves the reference model),
against fakeflow in-process, and differentially fakeflow vs real (no unlisted divergence).

``$CONFORMANCE_TARGET`` (and optionally ``$CONFORMANCE_AGAINST``) additionally runs the suites
against any server, e.g. ``CONFORMANCE_TARGET=http://127.0.0.1:5000 pytest -k external``.
"""

from __future__ import annotations

import json
import os

import pytest

from conformance import assert_conforms
from conformance.suites import all_suites

SUITES = sorted(all_suites())


def _fakeflow_app():
    from fakeflow import create_app

    return create_app()


@pytest.mark.parametrize("suite", SUITES)
def test_fakeflow_conforms(suite: str) -> None:
    assert_conforms(_fakeflow_app(), suites=[suite])


@pytest.mark.parametrize("suite", SUITES)
def test_real_mlflow_conforms(reference_server, suite: str) -> None:
    """If this fails the reference model is wrong, not the server."""
    assert_conforms(reference_server.url, suites=[suite])


@pytest.mark.parametrize("suite", SUITES)
def test_fakeflow_matches_real_mlflow(reference_server, suite: str) -> None:
    assert_conforms(_fakeflow_app(), against=reference_server.url, suites=[suite])


@pytest.mark.skipif(not os.environ.get("CONFORMANCE_TARGET"), reason="$CONFORMANCE_TARGET not set")
@pytest.mark.parametrize("suite", SUITES)
def test_external_target(suite: str) -> None:
    assert_conforms(os.environ["CONFORMANCE_TARGET"], against=os.environ.get("CONFORMANCE_AGAINST"),
                    suites=[suite], profile=os.environ.get("CONFORMANCE_PROFILE", "ci"))


def test_prefix_and_auth_header_reach_a_mounted_server() -> None:
    """Vendor servers mount MLflow under a prefix and want an auth header: both are honoured."""
    from werkzeug.middleware.dispatcher import DispatcherMiddleware
    from werkzeug.wrappers import Response

    from conformance import WsgiTarget

    inner = _fakeflow_app()

    def guarded(environ, start_response):
        if environ.get("HTTP_AUTHORIZATION") != "Bearer s3cret":
            return Response("no", status=401)(environ, start_response)
        return inner(environ, start_response)

    app = DispatcherMiddleware(Response("not here", status=404), {"/vendor/mlflow": guarded})
    target = WsgiTarget(app, name="vendor", prefix="/vendor/mlflow/",
                        auth_header="Authorization: Bearer s3cret")
    report = assert_conforms(target, suites=["runs"], max_examples=3)
    assert report.results[0].requests > 0

    unauthenticated = WsgiTarget(app, name="vendor", prefix="/vendor/mlflow")
    with pytest.raises(AssertionError, match="401"):
        assert_conforms(unauthenticated, suites=["runs"], max_examples=1)


def test_normaliser_erases_only_what_may_differ() -> None:
    """Ids map to symbols (also inside messages and URIs), clocks are masked, unordered lists
    and Python-set renderings are sorted; everything else is kept as is."""
    from conformance.normalise import normalise
    from conformance.refs import IdMap
    from conformance.transport import Reply

    def view(exp_id: str, run_id: str, tags: list, keys: str) -> dict:
        ids = IdMap()
        ids.bind("E1", exp_id)
        ids.bind("R1", run_id)
        run = {"info": {"run_id": run_id, "experiment_id": exp_id,
                        "artifact_uri": f"mlflow-artifacts:/{exp_id}/{run_id}/artifacts"},
               "data": {"tags": tags}}
        ok = normalise("get_run", Reply(200, "application/json",
                                        json.dumps({"run": run})), ids)
        err = normalise("search_runs", Reply(400, "application/json", json.dumps({
            "error_code": "INVALID_PARAMETER_VALUE",
            "message": f"No tag with name: t in experiment with id {exp_id}; keys '{keys}'"})), ids)
        return {"ok": ok, "err": err}

    a = view("7", "a" * 32, [{"key": "b", "value": "1"}, {"key": "a", "value": "2"}],
             "{'x', 'y'}")
    b = view("91", "b" * 32, [{"key": "a", "value": "2"}, {"key": "b", "value": "1"}],
             "{'y', 'x'}")
    assert a == b
    c = view("91", "b" * 32, [{"key": "a", "value": "3"}, {"key": "b", "value": "1"}],
             "{'y', 'x'}")
    assert a != c
