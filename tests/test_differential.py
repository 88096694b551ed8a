"""Differential test: every catalogue case against real MLflow and fakeflow, in lockstep.

Each case is a request sequence (tests/differential/catalogue); both servers get the same
requests, and status, error body and normalised JSON must agree. See
tests/differential/normalise.py for what is masked and why.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.differential.catalogue import all_cases
from tests.differential.compare import compare
from tests.differential.harness import CaseOutcome, Side, new_suffix, run_case
from tests.differential.model import AJAX, API, DB_NOISE, Case
from tests.differential.normalise import Normaliser
from tests.differential.transport import Reply

CASES = all_cases()


@pytest.fixture(scope="module")
def sides(reference_server: Any, fakeflow_server: Any) -> list[Side]:
    suffix = new_suffix()  # identical on both sides: names appear in messages
    return [Side("mlflow", reference_server.url, suffix), Side("fakeflow", fakeflow_server.url, suffix)]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_fakeflow_answers_like_real_mlflow(case: Case, sides: list[Side]) -> None:
    outcome = run_case(case, sides)
    if outcome.diffs:
        pytest.fail(_report(outcome), pytrace=False)


def _report(outcome: CaseOutcome) -> str:
    lines = outcome.diffs[:40]
    first = next(s for s in outcome.steps if s.diffs)
    real, fake = first.exchanges
    lines += [
        "",
        f"first differing step {first.index}: {real.sent.method} {real.sent.url}",
        f"  query={real.sent.query!r} body={(real.sent.body or '')[:500]}",
        f"  mlflow   -> {real.reply.status} {_short(real.normalised)}",
        f"  fakeflow -> {fake.reply.status} {_short(fake.normalised)}",
    ]
    return "\n".join(lines)


def _short(body: Any) -> str:
    text = json.dumps(body) if not isinstance(body, str) else body
    return text[:1500]


# -- the catalogue itself ---------------------------------------------------------------

REQUIRED_ROUTES = {
    ("POST", "experiments/create"), ("GET", "experiments/get"), ("GET", "experiments/get-by-name"),
    ("POST", "experiments/search"), ("GET", "experiments/search"), ("POST", "experiments/delete"),
    ("POST", "experiments/restore"), ("POST", "experiments/update"),
    ("POST", "experiments/set-experiment-tag"), ("POST", "experiments/delete-experiment-tag"),
    ("POST", "runs/create"), ("GET", "runs/get"), ("POST", "runs/update"), ("POST", "runs/delete"),
    ("POST", "runs/restore"), ("POST", "runs/log-metric"), ("POST", "runs/log-parameter"),
    ("POST", "runs/log-batch"), ("POST", "runs/set-tag"), ("POST", "runs/delete-tag"),
    ("POST", "runs/search"), ("POST", "runs/log-inputs"), ("POST", "runs/outputs"),
    ("POST", "runs/log-model"), ("GET", "metrics/get-history"),
    ("GET", "metrics/get-history-bulk-interval"), ("GET", "artifacts/list"),
    # model registry
    ("POST", "registered-models/create"), ("POST", "registered-models/rename"),
    ("PATCH", "registered-models/update"), ("DELETE", "registered-models/delete"),
    ("GET", "registered-models/get"), ("GET", "registered-models/search"),
    ("POST", "registered-models/get-latest-versions"), ("GET", "registered-models/get-latest-versions"),
    ("POST", "registered-models/set-tag"), ("DELETE", "registered-models/delete-tag"),
    ("POST", "registered-models/alias"), ("GET", "registered-models/alias"),
    ("DELETE", "registered-models/alias"), ("POST", "model-versions/create"),
    ("PATCH", "model-versions/update"), ("POST", "model-versions/transition-stage"),
    ("DELETE", "model-versions/delete"), ("GET", "model-versions/get"), ("GET", "model-versions/search"),
    ("GET", "model-versions/get-download-uri"), ("POST", "model-versions/set-tag"),
    ("DELETE", "model-versions/delete-tag"),
}


def _routes(prefix: str) -> set[tuple[str, str]]:
    found = set()
    for case in CASES:
        for step in case.steps:
            if step.path.startswith(prefix + "/"):
                found.add((step.method, step.path[len(prefix) + 1:]))
    return found


def test_catalogue_covers_every_required_route() -> None:
    assert REQUIRED_ROUTES - _routes(API) == set()
    service = {step.path for case in CASES for step in case.steps}
    assert {"/health", "/version", "/api/3.0/mlflow/server-info"} <= service


def test_catalogue_covers_the_ajax_mirror() -> None:
    mirrored = REQUIRED_ROUTES & _routes(AJAX)
    assert len(mirrored) >= len(REQUIRED_ROUTES) * 2 // 3, sorted(REQUIRED_ROUTES - mirrored)


def test_catalogue_has_wrong_methods_and_unknown_paths() -> None:
    api_routes = _routes(API) | _routes(AJAX)
    known_paths = {path for _, path in REQUIRED_ROUTES}
    wrong_methods = {(m, p) for m, p in api_routes if p in known_paths and (m, p) not in REQUIRED_ROUTES}
    unknown_paths = {p for _, p in api_routes if p not in known_paths}
    assert len(wrong_methods) >= 8 and len(unknown_paths) >= 3


def test_catalogue_size() -> None:
    assert len(CASES) >= 40 and sum(len(c.steps) for c in CASES) >= 700


# -- normalisation and comparison (no servers) ----------------------------------------


def _reply(status: int, body: Any) -> Reply:
    return Reply(status=status, media_type="application/json", text=json.dumps(body), json=body, is_json=True)


def test_ids_map_by_first_appearance_and_inside_text() -> None:
    real, fake = Normaliser("aaaa"), Normaliser("aaaa")
    run_a, run_b = "a" * 32, "b" * 32
    got_real = real.normalise(
        {"experiment_id": "41", "run_id": run_a, "artifact_uri": f"mlflow-artifacts:/41/{run_a}/artifacts"}
    )
    got_fake = fake.normalise(
        {"experiment_id": "1", "run_id": run_b, "artifact_uri": f"mlflow-artifacts:/1/{run_b}/artifacts"}
    )
    assert got_real == got_fake == {
        "experiment_id": "<exp:1>",
        "run_id": "<run:1>",
        "artifact_uri": "mlflow-artifacts:/<exp:1>/<run:1>/artifacts",
    }
    message = real.normalise({"message": "No Experiment with id=41 exists"})
    assert message == {"message": "No Experiment with id=<exp:1> exists"}
    # Numbers that are not in an id context are left alone even if they equal an id.
    assert real.normalise({"message": "at most 41 params"}) == {"message": "at most 41 params"}


def test_server_clocks_masked_but_client_times_kept() -> None:
    n = Normaliser("")
    body = n.normalise({"creation_time": 1795375065616, "last_update_time": 1795375065617,
                        "start_time": 123, "end_time": 456, "timestamp": 7})
    assert body == {
        "creation_time": "<ts>", "last_update_time": "<ts:later>", "start_time": 123, "end_time": 456, "timestamp": 7,
    }


def test_random_run_names_masked_only_when_not_sent() -> None:
    n = Normaliser("")
    n.note_sent({"run_name": "brave-fox-7"})
    assert n.normalise({"run_name": "brave-fox-7"}) == {"run_name": "brave-fox-7"}
    assert n.normalise({"run_name": "calm-owl-12"}) == {"run_name": "<random-name>"}
    assert n.normalise({"run_name": "nosy-ant-1000"}) == {"run_name": "<random-name>"}  # 0..1000 inclusive
    assert n.normalise({"run_name": "NotRandom"}) == {"run_name": "NotRandom"}


def test_unordered_lists_sorted_ordered_lists_kept() -> None:
    n = Normaliser("")
    tags = n.normalise({"data": {"tags": [{"key": "b"}, {"key": "a"}], "metrics": [{"key": "z"}, {"key": "y"}]}})
    assert tags == {"data": {"tags": [{"key": "a"}, {"key": "b"}], "metrics": [{"key": "y"}, {"key": "z"}]}}
    history = n.normalise({"metrics": [{"key": "m", "step": 2}, {"key": "m", "step": 1}]})
    assert [m["step"] for m in history["metrics"]] == [2, 1]


def test_compare_reports_status_code_and_message_differences() -> None:
    want = {"error_code": "RESOURCE_DOES_NOT_EXIST", "message": "No Experiment with id=1 exists",
            "sqlstate": "KAM00", "error_class": "RESOURCE_NOT_FOUND"}
    assert compare(_reply(404, want), want, _reply(404, want), dict(want), frozenset()) == []
    got = dict(want, error_code="NOT_FOUND", message="nope")
    diffs = compare(_reply(404, want), want, _reply(400, got), got, frozenset())
    assert any("status" in d for d in diffs) and any("error_code" in d for d in diffs)
    assert any("message" in d for d in diffs)


def test_db_noise_relaxation_compares_only_the_stable_prefix() -> None:
    want = {"error_code": "RESOURCE_ALREADY_EXISTS", "sqlstate": "KAM00", "error_class": "RESOURCE_ALREADY_EXISTS",
            "message": "Experiment(name=x) already exists. Error: (sqlite3.IntegrityError) UNIQUE ..."}
    got = dict(want, message="Experiment(name=x) already exists. Error: (sqlite3.IntegrityError) other text")
    assert compare(_reply(400, want), want, _reply(400, got), got, frozenset({DB_NOISE})) == []
    assert compare(_reply(400, want), want, _reply(400, got), got, frozenset()) != []
    wrong = dict(want, message="Experiment(name=y) already exists. Error: (sqlite3.x)")
    assert compare(_reply(400, want), want, _reply(400, wrong), wrong, frozenset({DB_NOISE})) != []


def test_html_errors_compare_status_and_media_type_only() -> None:
    html = Reply(status=404, media_type="text/html", text="<html>a</html>")
    other_html = Reply(status=404, media_type="text/html", text="<p>b</p>")
    as_json = _reply(404, {"error_code": "ENDPOINT_NOT_FOUND"})
    assert compare(html, html.text, other_html, other_html.text, frozenset()) == []
    assert compare(html, html.text, as_json, as_json.json, frozenset()) != []


def test_update_stamps_compare_by_relation_to_creation() -> None:
    n = Normaliser("")
    assert n.normalise({"creation_time": 5, "last_update_time": 5})["last_update_time"] == "<ts:same>"
    assert n.normalise({"creation_time": 5, "last_update_time": 9})["last_update_time"] == "<ts:later>"
