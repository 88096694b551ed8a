"""GenAI issues (``/api/3.0/mlflow/issues...`` and the ``/ajax-api`` twin): the refusals.

Issue bodies carry a ``created_timestamp`` that the shared normaliser does not mask, so the
answers compared here are the ones without an issue in them: required and mistyped fields,
statuses and severities outside their enums (a bare 500), unknown, deleted and malformed
experiments, an unknown source run (SQLite's foreign-key refusal), get and patch of unknown ids
(the patch still wants ``issue_id`` in its body), ``issues/search`` read as an issue id by GET,
search bounds, tokens and filter errors, an empty search, and methods each path refuses.
Successful creates, updates, ordering and trace counts are compared in
``tests/test_genai_issues.py``, which masks those clocks itself."""

from __future__ import annotations

from ..model import DB_NOISE, Step, case, get, post
from .common import new_experiment, new_run

I = "/api/3.0/mlflow/issues"
AJAX_I = "/ajax-api/3.0/mlflow/issues"


def create(body: object, path: str = I, **kw: object) -> Step:
    return post(path, body, **kw)  # type: ignore[arg-type]


def search(body: object, path: str = I) -> Step:
    return post(f"{path}/search", body)


def base(**extra: object) -> dict[str, object]:
    return {"experiment_id": "${e1}", "name": "n", "description": "d", **extra}


CASES = [
    case(
        "issues-invalid",
        new_experiment("e1"),
        new_experiment("gone", name="${p}-gone"),
        post("experiments/delete", {"experiment_id": "${gone}"}),
        new_run("r1", "e1"),
        create({}),
        create(None),
        create({"experiment_id": "${e1}", "name": "n"}),
        create({"experiment_id": "${e1}", "name": "", "description": ""}),
        create(base(name=5)),
        create({"name": "n", "description": "d", "experiment_id": 7}),
        create(base(status="bogus")),
        create(base(status="PENDING")),
        create(base(severity="")),
        create(base(severity="HIGH"), path=AJAX_I),
        create(base(experiment_id="${gone}")),
        create(base(experiment_id="987654321")),
        create(base(experiment_id="abc")),
        create(base(experiment_id="99999999999999999999")),
        create(base(source_run_id="nope"), relax=frozenset({DB_NOISE})),
        Step("PATCH", f"{I}/nope", json={"issue_id": "x", "severity": "high"}),
        Step("PATCH", f"{I}/nope", json={"issue_id": "x", "severity": "zzz"}),
        Step("PATCH", f"{I}/nope", json={"severity": "high"}),
        Step("PATCH", f"{AJAX_I}/nope", json={"issue_id": ""}),
        Step("PATCH", f"{I}/nope", json=[]),
        Step("PATCH", f"{I}/nope", data='{"issue_id": "x"'),
        get(f"{I}/nope"),
        get(f"{AJAX_I}/search"),
        search({"experiment_id": "${e1}"}),
        search({"experiment_id": "${gone}", "include_trace_count": True}, path=AJAX_I),
        search({"experiment_id": "abc"}),
        search({"experiment_id": "${e1}", "max_results": 0}),
        search({"experiment_id": "${e1}", "max_results": 50001}),
        search({"experiment_id": "${e1}", "max_results": 50000}),
        search({"experiment_id": "${e1}", "page_token": "abc"}),
        search({"experiment_id": "${e1}", "filter_string": "name = 'x'"}),
        search({"experiment_id": "${e1}", "filter_string": "status LIKE 'p%'"}),
        search({"experiment_id": "${e1}", "filter_string": "status IS NULL"}),
        search({"experiment_id": "${e1}", "filter_string": "'status' = 'x'"}),
        search({"experiment_id": "${e1}", "filter_string": "status = 'a' OR status = 'b'"}),
        search({"experiment_id": "${e1}", "filter_string": "status = 'a' = 'b'"}),
        search({"experiment_id": "${e1}",
                "filter_string": "source_run_id = '${r1}' and status != 'x'"}),
        get(I),
        Step("DELETE", f"{I}/nope"),
        post(f"{I}/nope", {}),
        Step("PUT", f"{I}/search", json={}),
    ),
]
