"""The suites can fail: deliberately broken variants of fakeflow (WSGI middleware, fakeflow
itself untouched) must each be reported, with a shrunk request sequence."""

from __future__ import annotations

import json

import pytest
from hypothesis import Phase, settings

from conformance import check
from conformance.cli import main
from conformance.profiles import profile
from tests.conformance_mutants import MUTANTS, mutant_app

# Shrinking is proven by test_mutant_is_reported; the other checks only need detection.
NO_SHRINK = settings(profile("ci"), phases=(Phase.explicit, Phase.generate))

pytest.importorskip("fakeflow.web.app", reason="fakeflow's WSGI app (fakeflow.web.app) is not built yet")


@pytest.mark.parametrize("mutant", MUTANTS, ids=lambda m: m.name)
def test_mutant_is_reported(mutant) -> None:
    report = check(mutant_app(mutant.name), suites=list(mutant.suites))
    failed = [r for r in report.results if not r.passed]
    assert failed, f"mutant {mutant.name} went unnoticed by {mutant.suites}"
    for result in failed:
        assert "answered differently from MLflow 3.17.2 semantics" in result.failure, result.failure
        commands = next(iter(result.curl.values()))
        assert commands and all(c.startswith("curl ") for c in commands)
        assert len(commands) <= 30, f"not shrunk: {len(commands)} requests"
        assert result.steps, "the shrunk Hypothesis steps are reported"


@pytest.mark.parametrize("mutant", MUTANTS, ids=lambda m: m.name)
def test_mutant_diverges_from_fakeflow(mutant) -> None:
    """Differential mode notices the same bugs when comparing against an intact fakeflow."""
    from fakeflow import create_app

    report = check(mutant_app(mutant.name), against=create_app(), suites=list(mutant.suites),
                   settings=NO_SHRINK)
    failed = [r for r in report.results if not r.passed]
    assert failed and all("targets diverge on" in r.failure for r in failed), \
        [r.failure for r in report.results]


def test_known_divergence_is_allowed_and_reported(tmp_path) -> None:
    from fakeflow import create_app

    known = tmp_path / "known.json"
    known.write_text(json.dumps({"divergences": [{
        "operation": "*", "path": "*user_id",
        "reason": "test: this mutant omits empty user ids"}]}))
    report = check(mutant_app("missing-user-id"), against=create_app(), suites=["runs"],
                   known_divergences=known, settings=NO_SHRINK)
    assert report.passed, [r.failure for r in report.results]
    assert any(d["reason"].startswith("test:") for r in report.results
               for d in r.allowed_divergences)


def test_divergence_without_reason_is_rejected(tmp_path) -> None:
    from conformance import divergences

    known = tmp_path / "known.json"
    known.write_text(json.dumps({"divergences": [{"operation": "*", "path": "*"}]}))
    with pytest.raises(ValueError, match="no reason"):
        divergences.load(known)


def test_cli_exit_codes_and_json_report(tmp_path, capsys) -> None:
    out = tmp_path / "report.json"
    code = main(["--target", "wsgi:tests.conformance_mutants:make_wrong_error_code",
                 "--suite", "errors", "--json", str(out)])
    text = capsys.readouterr().out
    assert code == 1
    assert "[FAIL] errors" in text and "curl -sS -X POST" in text
    data = json.loads(out.read_text())
    assert data["passed"] is False and data["results"][0]["suite"] == "errors"

    assert main(["--target", "wsgi:fakeflow:create_app", "--suite", "errors"]) == 0
    assert main(["--target", "ftp://nowhere"]) == 2
    assert main(["--target", "http://127.0.0.1:9", "--suite", "errors"]) == 2  # unreachable
    assert main(["--list"]) == 0
