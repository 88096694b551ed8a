"""The suites can fail, and say how: deliberately broken variants of fakeflow (WSGI middleware,
fakeflow itself untouched) must each be reported with the right kind and a shrunk, verified
curl repro; several bugs at once are all reported in one run; waivers work in single-target
and differential mode alike."""

from __future__ import annotations

import json

import pytest

from conformance import check
from conformance.cli import main
from tests.conformance_mutants import MUTANTS, mutant_app

pytest.importorskip("fakeflow.web.app", reason="fakeflow's WSGI app (fakeflow.web.app) is not built yet")


def _failing(report) -> list:
    return [f for f in report.findings if f.verdict == "fail"]


@pytest.mark.parametrize("mutant", MUTANTS, ids=lambda m: m.name)
def test_mutant_is_reported_with_its_kind(mutant) -> None:
    report = check(mutant_app(mutant.name), suites=list(mutant.suites), strict=True,
                   profile="dev")
    assert not report.errors, report.errors
    kinds = {f.kind for f in report.findings}
    assert set(mutant.kinds) <= kinds, (mutant.name, [(f.operation, f.json_path, f.kind)
                                                      for f in report.findings])
    assert not report.passed
    for f in report.findings:
        requests = [c for c in f.minimal_sequence if c.lstrip().startswith(("curl ", "E", "R"))
                    and "curl " in c]
        assert requests, f"{mutant.name}: finding without a curl repro"
        assert f.minimal, f"{mutant.name}: repro not verified by replay: {f.repro_curl}"
        assert len(requests) <= f.full_sequence_length


def test_two_mutants_at_once_are_both_reported() -> None:
    """One run, two unrelated bugs: both are reported (the first does not hide the second)."""
    report = check(mutant_app("missing-route", "wrong-error-code"), suites=["experiments"],
                   profile="dev")
    kinds = {(f.kind, f.operation) for f in _failing(report)}
    assert ("missing_route", "delete_experiment_tag") in kinds, kinds
    assert ("status", "create_experiment") in kinds, kinds


def test_int64_as_string_is_one_kind_everywhere() -> None:
    """A server clock (creation_time) and a client-given time (start_time) sent as strings
    are both shape findings: masking server clocks keeps their JSON type."""
    report = check(mutant_app("int64-as-string"), suites=["runs"], profile="dev")
    shapes = {f.json_path.rsplit(".", 1)[-1]: f for f in report.findings if f.kind == "shape"}
    assert {"creation_time", "start_time"} <= set(shapes), list(shapes)
    assert shapes["start_time"].detail == "number -> string"


def test_message_text_is_informational_unless_strict() -> None:
    lenient = check(mutant_app("reworded-message"), suites=["errors"], profile="dev")
    assert lenient.passed and lenient.count("info") >= 1
    assert {f.kind for f in lenient.findings} == {"message"}
    strict = check(mutant_app("reworded-message"), suites=["errors"], profile="dev", strict=True)
    assert not strict.passed


def test_mutant_diverges_from_fakeflow() -> None:
    """Differential mode reports the same bugs, classified, against an intact fakeflow."""
    from fakeflow import create_app

    report = check(mutant_app("missing-route", "missing-user-id"), against=create_app(),
                   suites=["experiments", "runs"], profile="dev")
    kinds = {f.kind for f in _failing(report)}
    assert {"missing_route", "shape"} <= kinds, kinds
    assert all(f.minimal for f in report.findings), [f.repro_curl for f in report.findings]


@pytest.mark.parametrize("differential", [False, True], ids=["single-target", "differential"])
def test_waivers_apply_in_both_modes(tmp_path, differential: bool) -> None:
    from fakeflow import create_app

    waivers = tmp_path / "waivers.json"
    waivers.write_text(json.dumps({"waivers": [
        {"operation": "*", "path": "*user_id", "kind": "shape",
         "reason": "test: this mutant omits empty user ids"},
        {"operation": "get_experiment", "path": ".body.nothing", "reason": "test: stale"},
    ]}))
    report = check(mutant_app("missing-user-id"), against=create_app() if differential else None,
                   suites=["runs"], waivers=[waivers], profile="dev")
    assert report.passed, [(f.operation, f.json_path, f.kind) for f in _failing(report)]
    waived = [f for f in report.findings if f.verdict == "waived"]
    assert waived and all(f.waiver_reason.startswith("test: this mutant") for f in waived)
    assert [w["reason"] for w in report.waivers_used] == ["test: this mutant omits empty user ids"]
    assert [w["reason"] for w in report.waivers_stale] == ["test: stale"]


def test_waiver_without_reason_or_with_unknown_kind_is_rejected(tmp_path) -> None:
    from conformance import waivers

    known = tmp_path / "known.json"
    known.write_text(json.dumps({"divergences": [{"operation": "*", "path": "*"}]}))
    with pytest.raises(ValueError, match="no reason"):
        waivers.load(known)
    known.write_text(json.dumps({"waivers": [{"path": "*", "kind": "typo", "reason": "r"}]}))
    with pytest.raises(ValueError, match="unknown kind"):
        waivers.load(known)


def test_cli_reports_and_exit_codes(tmp_path, capsys) -> None:
    out, html = tmp_path / "report.json", tmp_path / "report.html"
    code = main(["--target", "wsgi:tests.conformance_mutants:make_wrong_error_code",
                 "--suite", "errors", "--profile", "dev", "--json", str(out), "--html", str(html)])
    text = capsys.readouterr().out
    assert code == 1
    assert "[FAIL] status" in text and "curl -sS -X POST" in text
    data = json.loads(out.read_text())
    assert data["passed"] is False and data["suites"][0]["suite"] == "errors"
    assert data["summary"]["by_kind"]["status"] >= 1
    finding = data["findings"][0]
    assert {"operation", "json_path", "kind", "expected", "actual", "repro_curl",
            "minimal_sequence", "since_version", "verdict"} <= set(finding)
    page = html.read_text()
    assert page.startswith("<!DOCTYPE html>") and "<style>" in page
    assert "src=" not in page and "href=" not in page and "<script" not in page  # self-contained
    assert "409" in page and "curl -sS" in page

    waivers = tmp_path / "w.json"
    waivers.write_text(json.dumps({"waivers": [{"operation": "*", "path": ".status",
                                                "kind": "status", "reason": "we answer 409"}]}))
    assert main(["--target", "wsgi:tests.conformance_mutants:make_wrong_error_code",
                 "--suite", "errors", "--profile", "dev", "--waivers", str(waivers)]) == 0
    assert main(["--target", "wsgi:tests.conformance_mutants:make_wrong_error_code",
                 "--suite", "errors", "--profile", "dev", "--fail-on", "never"]) == 0
    assert main(["--target", "wsgi:fakeflow:create_app", "--suite", "errors", "--profile", "dev",
                 "--strict"]) == 0
    assert main(["--target", "ftp://nowhere"]) == 2
    assert main(["--target", "http://127.0.0.1:9", "--suite", "errors"]) == 2  # unreachable
    assert main(["--target", "wsgi:fakeflow:create_app", "--mlflow-version", "x"]) == 2
    assert main(["--list"]) == 0
