"""The suites' verdict on a server nobody here wrote: a real MLflow 2.22 (its own cached venv,
``.ci/setup-mlflow-2.22``). One run must complete every suite, report each known 2.22
difference classified, and report nothing that is false about MLflow 3.17.2: every finding's
shrunk request sequence is replayed on a real 3.17.2, which must answer what the finding says
3.17.2 answers.
"""

from __future__ import annotations

import json
from typing import Any, Iterator

import pytest

from conformance import HttpTarget, check
from conformance.report import to_json
from conformance.repro import observed_on
from tests.conftest import _unavailable


@pytest.fixture(scope="module")
def mlflow_222() -> Iterator[Any]:
    from conformance.reference_server import find_older_mlflow_executable, start_reference_server

    executable = find_older_mlflow_executable()
    if executable is None:
        _unavailable("MLflow 2.22 not found: run `bash .ci/setup-mlflow-2.22` "
                     "(or set FAKEFLOW_MLFLOW_222_BIN)")
    try:
        server = start_reference_server(timeout=300, executable=executable,
                                        expected_version="2.22.")
    except RuntimeError as exc:
        _unavailable(f"could not start MLflow 2.22: {exc}")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def report_222(mlflow_222, tmp_path_factory):
    """One run of every suite against 2.22, declared as following 2.22: every explicit case
    and a little exploration (the "dev" profile keeps CI time bounded; the verdict comes
    from the explicit cases, which do not depend on the profile)."""
    report = check(mlflow_222.url, mlflow_version="2.22", profile="dev")
    path = tmp_path_factory.mktemp("report") / "report.json"
    path.write_text(to_json(report))
    return report, json.loads(path.read_text())


def _find(data: dict, **want: str) -> list[dict]:
    def ok(f: dict) -> bool:
        return all(want[k] in str(f[k]) if k in ("label", "source", "actual", "expected", "json_path")
                   else f[k] == want[k] for k in want)
    return [f for f in data["findings"] if ok(f)]


# Each known MLflow 2.22 difference: the finding that must report it (from the JSON report).
KNOWN_222 = {
    "no delete-experiment-tag route": dict(operation="delete_experiment_tag", kind="missing_route"),
    "duplicate NaN points in one batch rejected": dict(
        operation="log_batch", kind="status", source="duplicate_points_in_one_batch: nan",
        expected="200"),
    "get-history ignores max_results": dict(
        operation="get_metric_history", kind="value", json_path=".body.metrics"),
    "next_page_token on an exactly full last page": dict(
        operation="search_runs", kind="shape", json_path=".body.next_page_token",
        expected="<absent>"),
    "experiments/get with a non-numeric id answers 404": dict(
        operation="get_experiment", kind="status", label="get experiment: non-integer id",
        actual="404 RESOURCE_DOES_NOT_EXIST"),
    "experiment_id IN rejected in experiment search": dict(
        operation="search_experiments", kind="status", label="experiment_id_in",
        actual="400 INVALID_PARAMETER_VALUE"),
    "tags.x IS NULL rejected in experiment search": dict(
        operation="search_experiments", kind="status", label="experiment_tag_null",
        actual="400 INVALID_PARAMETER_VALUE"),
    "aliases of a deleted model version are kept": dict(
        operation="get_registered_model", kind="shape", json_path=".aliases",
        expected="<absent>"),
    "download of a missing artifact answers 500": dict(
        operation="download_artifact", kind="status", actual="500 INTERNAL_ERROR"),
    "no MLflow 3 trace routes (trace info v3, OTLP spans)": dict(
        operation="start_trace", kind="missing_route"),
}

# Fields MLflow added after 2.22: reported, informational (the run names 2.22).
LATER_FIELDS = ["workspace", "sqlstate", "error_class", "outputs"]


def test_every_suite_completes(report_222) -> None:
    report, data = report_222
    assert not data["errors"], data["errors"]
    assert {s["suite"] for s in data["suites"]} >= {"experiments", "runs", "metrics",
                                                    "params_tags", "search", "errors"}
    assert all(s["requests"] > 0 and s["cases"] > 0 for s in data["suites"])


@pytest.mark.parametrize("difference", sorted(KNOWN_222))
def test_known_difference_is_reported(report_222, difference: str) -> None:
    _, data = report_222
    found = _find(data, **KNOWN_222[difference])
    assert found, f"{difference}: not in the report; findings: " + json.dumps(
        [(f["operation"], f["json_path"], f["kind"], f["label"]) for f in data["findings"]])
    assert all(f["verdict"] == "fail" and f["repro_curl"].count("curl ") >= 1 for f in found)


def test_later_fields_are_informational_and_reported_once(report_222) -> None:
    _, data = report_222
    for name in LATER_FIELDS:
        found = [f for f in data["findings"] if f["json_path"].endswith("." + name)]
        assert len(found) == 1, (name, [(f["operation"], f["json_path"]) for f in found])
        assert found[0]["kind"] == "shape" and found[0]["verdict"] == "info", found[0]
        assert found[0]["since_version"]


def test_no_finding_is_false_about_mlflow_3_17_2(report_222, reference_server) -> None:
    """Replay every finding's shrunk sequence on real 3.17.2: it answers what was expected."""
    report, _ = report_222
    real = HttpTarget(reference_server.url)
    try:
        wrong = []
        for f in report.findings:
            got = observed_on(f, real)
            from conformance.normalise import diff

            if (got != f.expected) if f.kind in ("status", "missing_route") else diff(f.expected, got):
                wrong.append((f.operation, f.json_path, f.kind, f.expected, got))
    finally:
        real.close()
    assert not wrong, wrong


def test_repros_are_short_and_verified(report_222) -> None:
    """Every repro was verified by replay and is no longer than the example that found it; a
    missing route, or a read answered with another status, keeps only the creation of the
    entities it names, then the request itself (no irrelevant call)."""
    _, data = report_222
    for f in data["findings"]:
        assert f["minimal"], f["repro_curl"]
        requests = [c for c in f["minimal_sequence"] if "curl " in c]
        assert 1 <= len(requests) <= f["full_sequence_length"], f["repro_curl"]
        # Registry reads also depend on earlier writes that create nothing (an alias dropped
        # with its version), so their repros keep those writes.
        if f["kind"] == "missing_route" or (f["kind"] == "status" and f["suite"] != "registry"
                                            and f["operation"].startswith(("get_", "search_"))):
            assert all("=$(curl" in c for c in requests[:-1]), f["repro_curl"]
