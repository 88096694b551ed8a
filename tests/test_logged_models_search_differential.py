"""Grammar-driven differential test of logged-model search against real MLflow 3.17.2.

The same models (params, tags, statuses, metrics on datasets, a deleted one) are written to a
real MLflow and to a fresh fakeflow; Hypothesis then draws filters (valid and invalid
comparisons joined by AND), ``datasets``, ``order_by`` lists and page sizes, and every search
goes to both. The pages reached by following the tokens (model names, in order) or the error
(status, error_code, message) must be identical. ``FAKEFLOW_LM_SEARCH_EXAMPLES`` sets the
number of examples (default 60).
"""

from __future__ import annotations

import json
import os
import time
from typing import Any, Callable

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.test import Client

import fakeflow
from tests.differential.harness import new_suffix
from tests.differential.normalise import stable_prefix

EXAMPLES = int(os.environ.get("FAKEFLOW_LM_SEARCH_EXAMPLES", "60"))
API = "/api/2.0/mlflow/"

Send = Callable[[str, str, Any], tuple[int, Any]]

MODELS = [  # name, model_type, params, tags, status, metrics (key, value, ts, step, dataset)
    ("alpha", "sk", {"lr": "0.1"}, {"team": "ALPHA"}, 2,
     [("acc", 0.9, 1, 0, None), ("acc", 0.5, 2, 0, ("train", "d1")), ("loss", "NaN", 1, 0, None)]),
    ("beta", "pt", {"lr": "0.2", "depth": "3"}, {"team": "BETA", "x": ""}, 1,
     [("acc", 0.7, 1, 0, ("train", "d1")), ("acc", 0.95, 1, 1, ("test", "d2"))]),
    ("Gamma", "", {"lr": "10"}, {"team": "gamma"}, 3,
     [("loss", 3, 1, 0, ("train", "d1")), ("acc", "Infinity", 0, 0, None)]),
    ("al_pha", "sk", {}, {}, 2, []),
    ("delta", "toy", {"lr": "0.1"}, {"team": "ALPHA"}, 2, [("acc", 0.6, 5, 0, None)]),
]
DELETED = "gone"

FIELDS = ["metrics.acc", "metrics.loss", "metrics.nope", "params.lr", "params.depth",
          "tags.team", "tags.x", "name", "model_type", "status", "creation_time",
          "last_updated_timestamp", "experiment_id", "lifecycle_stage", "status_message",
          "attributes.name", "params.`lr`", "foo", "tag.team"]
OPS = ["=", "!=", "<", "<=", ">", ">=", "LIKE", "ILIKE", "IN", "NOT IN", "like", "in", "=="]
VALUES = ["'alpha'", "'ALPHA'", "'a%'", "'%a%'", "'_eta'", "'0.1'", "'sk'", "''", "'2'", "0.5",
          "0.9", "1", "0", "-1", "3", "'x'", "('alpha', 'beta')", "('0.1', '10')", "('sk',)",
          "()", "(2, 3)", "'NaN'", "alpha", "1e9"]
ORDER_FIELDS = ["metrics.acc", "metrics.loss", "name", "model_type", "status", "creation_time",
                "last_updated_timestamp", "source_run_id", "params.lr", "bogus", ""]


def _send_real(url: str) -> Send:
    session = requests.Session()

    def send(method: str, path: str, body: Any) -> tuple[int, Any]:
        reply = session.request(method, url + API + path, json=body, timeout=30)
        try:
            return reply.status_code, reply.json()
        except ValueError:
            return reply.status_code, reply.text[:40]

    return send


def _send_fake() -> Send:
    client = Client(fakeflow.create_app())

    def send(method: str, path: str, body: Any) -> tuple[int, Any]:
        reply = client.open(API + path, method=method, json=body)
        try:
            return reply.status_code, json.loads(reply.get_data())
        except ValueError:
            return reply.status_code, reply.get_data(as_text=True)[:40]

    return send


def _populate(send: Send, suffix: str) -> str:
    """The data set; returns the experiment id."""
    _, exp = send("POST", "experiments/create", {"name": f"lm-grammar-{suffix}"})
    experiment_id = exp["experiment_id"]
    _, run = send("POST", "runs/create", {"experiment_id": experiment_id})
    run_id = run["run"]["info"]["run_id"]
    for name, model_type, params, tags, status, metrics in MODELS + [
            (DELETED, "", {}, {}, 1, [("acc", 0.99, 1, 0, None)])]:
        _, made = send("POST", "logged-models", {
            "experiment_id": experiment_id, "name": name, "model_type": model_type,
            "source_run_id": run_id if name != "Gamma" else "",
            "params": [{"key": k, "value": v} for k, v in params.items()],
            "tags": [{"key": k, "value": v} for k, v in tags.items()]})
        model_id = made["model"]["info"]["model_id"]
        if status != 1:
            send("PATCH", f"logged-models/{model_id}", {"model_id": model_id, "status": status})
        for key, value, ts, step, dataset in metrics:
            body = {"run_id": run_id, "key": key, "value": value, "timestamp": ts, "step": step,
                    "model_id": model_id}
            if dataset:
                body.update(dataset_name=dataset[0], dataset_digest=dataset[1])
            status_code, answer = send("POST", "runs/log-metric", body)
            assert status_code == 200, answer
        if name == DELETED:
            send("DELETE", f"logged-models/{model_id}", None)
        time.sleep(0.005)  # distinct creation times: the default order is newest first
    return experiment_id


def _pages(send: Send, experiment_id: str, body: dict[str, Any]) -> Any:
    """Every page's model names, following tokens; or the error that ended the search."""
    pages, token = [], None
    for _ in range(10):
        request = {"experiment_ids": [experiment_id], **body}
        if token:
            request["page_token"] = token
        status, answer = send("POST", "logged-models/search", request)
        if status != 200:
            if isinstance(answer, dict):  # SQLite's own text (the SQL, its binding) is cut off
                message = stable_prefix(str(answer.get("message")))
                return pages, status, answer.get("error_code"), message
            return pages, status, answer
        pages.append([m["info"]["name"] for m in answer.get("models", [])])
        token = answer.get("next_page_token")
        if not token:
            break
    return pages


comparison = st.builds(lambda f, o, v: f"{f} {o} {v}", st.sampled_from(FIELDS),
                       st.sampled_from(OPS), st.sampled_from(VALUES))
filters = st.one_of(st.none(), st.lists(comparison, min_size=1, max_size=3).map(" AND ".join))
order_by = st.lists(st.fixed_dictionaries(
    {"field_name": st.sampled_from(ORDER_FIELDS)},
    optional={"ascending": st.booleans(), "dataset_name": st.sampled_from(["train", "test"]),
              "dataset_digest": st.sampled_from(["d1", "d2"])}), max_size=2)
datasets = st.lists(st.fixed_dictionaries(
    {"dataset_name": st.sampled_from(["train", "test", "none"])},
    optional={"dataset_digest": st.sampled_from(["d1", "d2"])}), max_size=2)


@pytest.fixture(scope="module")
def sides(reference_server: Any) -> list[tuple[Send, str]]:
    suffix = new_suffix()
    out = []
    for send in (_send_real(reference_server.url), _send_fake()):
        out.append((send, _populate(send, suffix)))
    return out


@settings(max_examples=EXAMPLES, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(filter_string=filters, order=order_by, chosen=datasets,
       max_results=st.sampled_from([None, 1, 2, 4]))
def test_logged_model_search_matches_real_mlflow(sides, filter_string, order, chosen,
                                                 max_results) -> None:
    body: dict[str, Any] = {}
    if filter_string is not None:
        body["filter"] = filter_string
    if order:
        body["order_by"] = order
    if chosen:
        body["datasets"] = chosen
    if max_results:
        body["max_results"] = max_results
    (real_send, real_exp), (fake_send, fake_exp) = sides
    assert _pages(fake_send, fake_exp, body) == _pages(real_send, real_exp, body), body
