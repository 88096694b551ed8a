"""Grammar-driven differential test of the evaluation-dataset search against real MLflow 3.17.2.

The same datasets (names with wildcards and unicode, tags with mixed case and a null value, a
creator, a last updater) are written to the session's real MLflow and to a fresh fakeflow, in
experiments of their own. Hypothesis draws filters and order_by lists from the shared search
grammar (``tests/support/search_grammar``), page sizes and tokens; each search is scoped to the
case's experiments and goes to both servers. Rows (by name), their order, every page reached by
following the tokens, and errors (status, error_code, message) must be identical.

``FAKEFLOW_EVAL_SEARCH_EXAMPLES`` sets the number of examples (default 40, CI).
"""

from __future__ import annotations

import json
import os
import re
import time
from typing import Any, Callable, Iterator

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.test import Client

import fakeflow
from tests.differential.harness import new_suffix
from tests.support import search_grammar as g
from tests.test_search_grammar_differential import _message

EXAMPLES = int(os.environ.get("FAKEFLOW_EVAL_SEARCH_EXAMPLES", "40"))
API = "/api/3.0/mlflow/"
Send = Callable[[str, str, Any], tuple[int, Any]]


def _real(url: str) -> Send:
    session = requests.Session()

    def send(method: str, path: str, body: Any) -> tuple[int, Any]:
        target = url + ("/api/2.0/mlflow/" if path.startswith("experiments") else API) + path
        if method == "GET":
            response = session.get(target, params=body, timeout=30)
        else:
            response = session.request(method, target, json=body, timeout=30)
        try:
            return response.status_code, response.json()
        except ValueError:
            return response.status_code, None

    return send


def _fake() -> Send:
    client = Client(fakeflow.create_app())

    def send(method: str, path: str, body: Any) -> tuple[int, Any]:
        target = ("/api/2.0/mlflow/" if path.startswith("experiments") else API) + path
        if method == "GET":
            response = client.get(target, query_string=body)
        else:
            response = client.open(target, method=method, json=body)
        try:
            return response.status_code, response.get_json(force=True, silent=False)
        except Exception:  # an HTML error page
            return response.status_code, None

    return send


class Side:
    def __init__(self, send: Send) -> None:
        self.send = send
        self.ids: dict[str, str] = {}

    def fill(self, value: Any) -> Any:
        if isinstance(value, str):
            for name, real in self.ids.items():
                value = value.replace("${" + name + "}", real)
            return value
        if isinstance(value, list):
            return [self.fill(v) for v in value]
        if isinstance(value, dict):
            return {k: self.fill(v) for k, v in value.items()}
        return value

    def symbol(self, text: str) -> str:
        # Whole ids only: experiment "1" must not turn the "1.5" of a message into "${e1}.5".
        for name, real in self.ids.items():
            text = re.sub(rf"(?<![\w.-]){re.escape(real)}(?!\w|\.\d)", "${" + name + "}", text)
        return text

    def call(self, method: str, path: str, body: Any) -> tuple[int, Any]:
        return self.send(method, self.fill(path), self.fill(body))


NAMES = ("alpha", "Beta", "b%ta", "x_y", "ünï", "gamma ray", "delta")
TAGS = (
    {"team": "red", "mlflow.user": "ann"},
    {"team": "Red"},
    {"team": "blue", "a.b": "dot"},
    {"Team": "RED", "n": 1},
    {"team": None},
    {},
    {"team": "r%d"},
)


def _seed(sides: list[Side], suffix: str) -> None:
    def both(method: str, path: str, body: Any, capture: tuple[str, str] | None = None) -> None:
        answers = []
        for side in sides:
            status, payload = side.call(method, path, body)
            if capture is not None and status == 200:
                node = payload
                for part in capture[1].split("."):
                    node = node[part]
                side.ids[capture[0]] = node
            answers.append(status)
        assert len(set(answers)) == 1, (path, body, answers)
        time.sleep(0.004)  # distinct server times, in the same order on both servers

    both("POST", "experiments/create", {"name": f"ed-grammar-{suffix}"}, ("e1", "experiment_id"))
    both("POST", "experiments/create", {"name": f"ed-grammar-{suffix}-2"}, ("e2", "experiment_id"))
    for index, (name, tags) in enumerate(zip(NAMES, TAGS)):
        experiments = ["${e1}", "${e2}"] if index % 3 == 0 else ["${e1}"]
        both("POST", "datasets/create", {"name": name, "experiment_ids": experiments,
                                         "tags": json.dumps(tags)}, (f"d{index}", "dataset.dataset_id"))
    both("POST", "datasets/${d1}/records",
         {"records": json.dumps([{"inputs": {"q": 1}, "tags": {"mlflow.user": "bob"}}])})
    both("POST", "datasets/${d4}/records", {"records": json.dumps([{"inputs": {"q": 2}}])})


@pytest.fixture(scope="module")
def sides(reference_server: Any) -> Iterator[list[Side]]:
    pair = [Side(_real(reference_server.url)), Side(_fake())]
    _seed(pair, new_suffix())
    yield pair


VOCABULARY = g.Vocabulary(
    prefixes={"attribute": ("", "", "", "attribute.", "dataset."), "tag": ("tags.", "tags.", "tag.")},
    keys={"attribute": ("name", "created_time", "last_update_time", "created_by",
                        "last_updated_by", "dataset_id", "digest"),
          "tag": ("team", "Team", "a.b", "mlflow.user", "n")},
    strings=NAMES + ("red", "Red", "RED", "blue", "r%d", "ann", "bob", "dot", "1", "%a%", "_eta",
                     "%ü%", "gamma ray"),
    numbers=("0", "1", "99999999999999"),
    order_keys=("name", "created_time", "last_update_time", "created_by", "tags.team", "`name`",
                "dataset_id", "attribute.name"),
)


_KEYS = ("name", "name", "created_by", "last_updated_by", "tags.team", "tags.team", "tags.Team",
         "tags.n", "tags.mlflow.user", "created_time", "last_update_time")
_OPS = ("=", "=", "!=", "LIKE", "LIKE", "ILIKE", "ILIKE", "IN", "!=", ">", "<=") + (
    "NOT IN", "like", "IS NULL")
_ORDER = ("name", "created_time", "last_update_time")


@st.composite
def _clause(draw: st.DrawFn) -> str:
    """A clause that mostly parses, so rows are compared and not only errors."""
    key = draw(st.sampled_from(_KEYS))
    op = draw(st.sampled_from(_OPS[:11] if draw(st.integers(0, 5)) else _OPS))
    if op == "IS NULL":
        return f"{key} {op}"
    if key.endswith("_time"):
        number = draw(st.sampled_from(VOCABULARY.numbers + ("1.5", "'1'")))
        return f"{key} {op} {number}"
    if op.endswith("IN"):
        items = draw(st.lists(st.sampled_from(VOCABULARY.strings), min_size=1, max_size=3))
        return f"{key} {op} (" + ", ".join(f"'{i}'" for i in items) + ")"
    return f"{key} {op} '{draw(st.sampled_from(VOCABULARY.strings))}'"


def _filters() -> st.SearchStrategy[str | None]:
    mostly_valid = st.lists(_clause(), min_size=1, max_size=2).map(" AND ".join)
    return st.one_of(st.none(), mostly_valid, mostly_valid, mostly_valid, g.filter_string(VOCABULARY))


def _orders() -> st.SearchStrategy[list[str] | None]:
    valid = st.lists(st.tuples(st.sampled_from(_ORDER), st.sampled_from(["", " ASC", " DESC"])),
                     min_size=1, max_size=2).map(lambda terms: [k + d for k, d in terms])
    return st.one_of(st.none(), valid, valid, g.order_by(VOCABULARY))


def _summary(side: Side, status: int, payload: Any) -> Any:
    if status != 200 or not isinstance(payload, dict):
        if isinstance(payload, dict):
            return (status, payload.get("error_code"), _message(side, str(payload.get("message"))))
        return (status, "not json")
    return (status, [row["name"] for row in payload.get("datasets", [])],
            payload.get("next_page_token"))


def _walk(side: Side, method: str, body: dict[str, Any]) -> list[Any]:
    pages, body = [], dict(body)
    for _ in range(4):
        status, payload = side.call(method, "datasets/search", body)
        pages.append(_summary(side, status, payload))
        token = payload.get("next_page_token") if status == 200 and isinstance(payload, dict) else None
        if not token:
            break
        body["page_token"] = token
    return pages


def test_dataset_search_matches_mlflow(sides: list[Side]) -> None:
    found: list[str] = []

    @settings(max_examples=EXAMPLES, deadline=None, database=None,
              derandomize=not os.environ.get("FAKEFLOW_SEARCH_RANDOM"),
              suppress_health_check=list(HealthCheck))
    @given(filt=_filters(), order=_orders(),
           size=st.one_of(st.none(), st.integers(-1, 4), st.sampled_from((1000, 50000, 50001))),
           token=g.page_token(), experiments=st.sampled_from([["${e1}"], ["${e2}"], ["${e2}", "${e1}"]]))
    def run(filt: Any, order: Any, size: Any, token: Any, experiments: Any) -> None:
        body: dict[str, Any] = {"experiment_ids": experiments}
        for key, item in (("filter_string", filt), ("order_by", order), ("max_results", size),
                          ("page_token", token)):
            if item is not None:
                body[key] = item
        real, fake = (_walk(side, "POST", body) for side in sides)
        if real != fake:
            found.append(f"{body!r}\n    real: {real}\n    fake: {fake}")

    run()
    if found:
        shown = "\n".join(found[:15])
        pytest.fail(f"{len(found)} differences from MLflow 3.17.2:\n{shown}", pytrace=False)


def test_every_single_clause_matches_mlflow(sides: list[Side]) -> None:
    """Each key with each comparator and a few values, once: the rows every clause selects
    (null tag values, missing tags, case, wildcards, lists) as MLflow's SQL selects them."""
    values = {"text": ("'red'", "'Red'", "'%e%'", "('red', 'alpha')"), "time": ("0", "1.5")}
    found = []
    for key in dict.fromkeys(_KEYS):
        for op in _OPS:
            kind = "time" if key.endswith("_time") else "text"
            for value in ("",) if op == "IS NULL" else values[kind]:
                body = {"experiment_ids": ["${e1}", "${e2}"],
                        "filter_string": f"{key} {op} {value}".strip()}
                real, fake = (_walk(side, "POST", body) for side in sides)
                if real != fake:
                    found.append(f"{body['filter_string']}\n    real: {real}\n    fake: {fake}")
    assert not found, "\n".join(found[:15])
