"""The finding model: classification of differences, waiver patterns, dependency slicing, and
that a printed repro really reproduces when pasted into a shell."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from conformance.context import Call
from conformance.findings import MESSAGE, ROUTE, SHAPE, STATUS, VALUE, classify
from conformance.normalise import diff
from conformance.refs import Ref
from conformance.repro import slice_calls
from conformance.waivers import Waiver


def _kinds(expected: dict, actual: dict) -> list[tuple[str, str]]:
    return [(d.kind, d.json_path) for d in classify("op", expected, actual, diff(expected, actual))]


def test_classification() -> None:
    ok = {"status": 200, "body": {}}
    html404 = {"status": 404, "body": "<non-JSON text/html body>"}
    assert _kinds(ok, html404) == [(ROUTE, ".")]
    json404 = {"status": 404, "body": {"error_code": "RESOURCE_DOES_NOT_EXIST", "message": "m"}}
    assert _kinds(json404, html404) == [(ROUTE, ".")]  # MLflow answers from the route itself
    assert _kinds({"status": 404, "body": "<non-JSON text/html body>"}, html404) == []
    bad = {"status": 400, "body": {"error_code": "INVALID_PARAMETER_VALUE", "message": "m"}}
    assert _kinds(bad, json404) == [(STATUS, ".status")]
    reworded = {"status": 400, "body": {"error_code": "INVALID_PARAMETER_VALUE", "message": "x"}}
    assert _kinds(bad, reworded) == [(MESSAGE, ".body.message")]
    assert _kinds({"status": 200, "body": {"t": 1}}, {"status": 200, "body": {"t": "1"}}) == [
        (SHAPE, ".body.t")]
    assert _kinds({"status": 200, "body": {"t": 1}}, {"status": 200, "body": {}}) == [
        (SHAPE, ".body.t")]
    # Several values of one object wrong: one value finding at the object.
    metric = {"status": 200, "body": {"m": [{"key": "a", "value": 1.0, "step": 1}]}}
    other = {"status": 200, "body": {"m": [{"key": "a", "value": 2.0, "step": 0}]}}
    assert _kinds(metric, other) == [(VALUE, ".body.m[0]")]


def test_waiver_patterns_only_know_star() -> None:
    waiver = Waiver("search_*", ".body.runs[*].outputs", "r", kind="shape")
    assert waiver.matches("search_runs", ".body.runs[*].outputs", "shape")
    assert not waiver.matches("search_runs", ".body.runs[*].outputs", "value")
    assert not waiver.matches("get_run", ".body.runs[*].outputs", "shape")
    one = Waiver("get_experiment", ".status", "r", case="*past int64")
    assert one.matches("get_experiment", ".status", "status", "invalid_request: id past int64")
    assert not one.matches("get_experiment", ".status", "status", "invalid_request: other")


def test_slice_keeps_only_what_the_last_call_depends_on() -> None:
    calls = [
        Call("create_experiment", "POST", "experiments/create", {"name": "p-a"}, bind={"E1": ("x",)}),
        Call("create_experiment", "POST", "experiments/create", {"name": "p-b"}, bind={"E2": ("x",)}),
        Call("create_run", "POST", "runs/create", {"experiment_id": Ref("E1")}, bind={"R3": ("y",)}),
        Call("create_run", "POST", "runs/create", {"experiment_id": Ref("E2")}, bind={"R4": ("y",)}),
        Call("log_metric", "POST", "runs/log-metric", {"run_id": Ref("R4")}),
        Call("get_run", "GET", "runs/get", query={"run_id": Ref("R3")}),
        Call("log_param", "POST", "runs/log-parameter", {"run_id": Ref("R3")}),
        Call("delete_experiment", "POST", "experiments/delete", {"experiment_id": Ref("E1")}),
        Call("get_run", "GET", "runs/get", query={"run_id": Ref("R3")}),
    ]
    kept = [c.op for c in slice_calls(calls)]
    assert kept == ["create_experiment", "create_run", "log_param", "delete_experiment", "get_run"]
    assert [c.op for c in slice_calls(calls, outcome_only=True)] == [
        "create_experiment", "create_run", "get_run"]
    search = calls[:5] + [Call("search_runs", "POST", "runs/search",
                               {"experiment_ids": [Ref("E2")]})]
    assert [c.op for c in slice_calls(search)] == [
        "create_experiment", "create_run", "log_metric", "search_runs"]


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl not installed")
def test_printed_repro_reproduces_in_a_shell() -> None:
    from fakeflow.server import ThreadedServer

    from conformance import check
    from tests.conformance_mutants import mutant_app

    server = ThreadedServer(mutant_app("wrong-error-code"), port=0).start()
    try:
        report = check(server.url, suites=["experiments"], profile="dev", explore=False)
        finding = next(f for f in report.findings if f.kind == STATUS
                       and f.operation == "create_experiment")
        out = subprocess.run(["bash", "-c", finding.repro_curl], capture_output=True, text=True,
                             timeout=60)
    finally:
        server.stop()
    assert out.returncode == 0, out.stderr
    # The set-up's answer went into a variable; the last request shows the difference again.
    assert out.stdout.startswith('{"error_code": "RESOURCE_ALREADY_EXISTS"'), out.stdout
