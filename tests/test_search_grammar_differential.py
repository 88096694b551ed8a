"""Grammar-driven differential test of every search route against real MLflow 3.17.2.

The same data set is written to a fresh real MLflow server and to a fresh fakeflow (runs with
missing metrics, NaN and +-inf, equal values, unicode keys and values, a deleted run, datasets;
experiments; registered models and versions). Hypothesis then draws filters, order_by lists,
page sizes, page tokens and view types from the search grammar (``tests/support/search_grammar``)
and each search goes to both servers; rows, their order, every page reached by following the
tokens, and errors (status, error_code, message) must be identical.

``FAKEFLOW_SEARCH_EXAMPLES`` sets the number of examples per entity (default 100, CI); the
long run is ``FAKEFLOW_SEARCH_EXAMPLES=2000 FAKEFLOW_SEARCH_RANDOM=1`` (random, not the fixed
derandomized examples). ``FAKEFLOW_SEARCH_REAL_URL`` names an empty real server to use instead
of starting one. All differences found in a run are reported
together (no shrinking: the generated queries are short already).
"""

from __future__ import annotations

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
from tests.support import search_grammar as g

EXAMPLES = int(os.environ.get("FAKEFLOW_SEARCH_EXAMPLES", "100"))
API = "/api/2.0/mlflow/"
_RUN_ID = re.compile(r"[0-9a-f]{32}")


class Side:
    """One server: sends requests, remembers the ids it handed out under symbolic names."""

    def __init__(self, send: Callable[[str, str, Any], tuple[int, Any]]) -> None:
        self.send = send
        self.ids: dict[str, str] = {}

    def fill(self, text: str) -> str:
        for name in sorted(self.ids, key=len, reverse=True):
            text = text.replace("${" + name + "}", self.ids[name])
        return text

    def fill_any(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.fill(value)
        if isinstance(value, list):
            return [self.fill_any(v) for v in value]
        if isinstance(value, dict):
            return {k: self.fill_any(v) for k, v in value.items()}
        return value

    def symbol(self, text: str) -> str:
        by_id = {v: k for k, v in self.ids.items()}
        return _RUN_ID.sub(lambda m: "${" + by_id.get(m.group(), "?") + "}", text)

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        return self.send(method, path, self.fill_any(body))


def _real_sender(url: str) -> Callable[[str, str, Any], tuple[int, Any]]:
    session = requests.Session()

    def send(method: str, path: str, body: Any) -> tuple[int, Any]:
        if method == "GET":
            response = session.get(url + API + path, params=body, timeout=30)
        else:
            response = session.request(method, url + API + path, json=body, timeout=30)
        try:
            return response.status_code, response.json()
        except ValueError:
            return response.status_code, None

    return send


def _fake_sender() -> Callable[[str, str, Any], tuple[int, Any]]:
    client = Client(fakeflow.create_app())

    def send(method: str, path: str, body: Any) -> tuple[int, Any]:
        if method == "GET":
            response = client.get(API + path, query_string=body)
        else:
            response = client.open(API + path, method=method, json=body)
        try:
            return response.status_code, response.get_json(force=True, silent=False)
        except Exception:  # an HTML error page
            return response.status_code, None

    return send


# ---- the data set ----------------------------------------------------------------------------

#: Runs with equal start times: their order is decided by their (random) run ids, so the fake
#: used is one whose ids compare like the real server's (see ``sides``).
TIED = (("r1", "r2"), ("r3", "r7"))


def _id_order(side: Side, pair: tuple[str, str]) -> bool:
    return side.ids[pair[0]] < side.ids[pair[1]]


def _seed(sides: list[Side], pause: float = 0.003) -> None:
    def both(method: str, path: str, body: Any, capture: tuple[str, Callable[[Any], str]] | None = None) -> None:
        answers = []
        for side in sides:
            status, payload = side.call(method, path, body)
            if capture is not None and status == 200:
                side.ids[capture[0]] = capture[1](payload)
            answers.append(status)
        assert len(set(answers)) == 1, (path, body, answers)
        time.sleep(pause)  # distinct creation times, in the same order on both servers

    def experiment(name: str, exp_name: str, tags: dict[str, str]) -> None:
        both("POST", "experiments/create",
             {"name": exp_name, "tags": [{"key": k, "value": v} for k, v in tags.items()]},
             (name, lambda p: p["experiment_id"]))

    experiment("e1", "grammar-a", {"t": "Yes", "k": "1"})
    experiment("e2", "grammar-b", {"t": "x_y%z"})
    experiment("e3", "Ärger", {"t": "ÄRGER"})
    experiment("e4", "b%ta", {})
    experiment("e5", "with space", {"a.b": "dot"})
    both("POST", "experiments/delete", {"experiment_id": "${e4}"})
    both("POST", "experiments/set-experiment-tag", {"experiment_id": "${e2}", "key": "k", "value": ""})

    def run(name: str, exp: str, run_name: str, start: int, user: str, tags: dict[str, str],
            metrics: dict[str, Any], params: dict[str, str]) -> None:
        both("POST", "runs/create",
             {"experiment_id": "${" + exp + "}", "run_name": run_name, "start_time": start,
              "user_id": user, "tags": [{"key": k, "value": v} for k, v in tags.items()]},
             (name, lambda p: p["run"]["info"]["run_id"]))
        if metrics or params:
            both("POST", "runs/log-batch", {
                "run_id": "${" + name + "}",
                "metrics": [{"key": k, "value": v, "timestamp": start, "step": 0} for k, v in metrics.items()],
                "params": [{"key": k, "value": v} for k, v in params.items()],
            })

    run("r1", "e1", "alpha", 1000, "ann",
        {"team": "red", "a.b": "dot", "with space": "sp", "ключ": "значение"},
        {"m1": 1, "m2": 2.5}, {"p1": "1", "p2": "abc"})
    run("r2", "e1", "Beta", 1000, "bob", {"team": "blue"}, {"m1": "NaN"}, {"p1": "1.0"})
    run("r3", "e1", "gamma ü", 2000, "ann", {"team": "Red"},
        {"m1": "Infinity", "m2": "-Infinity"}, {"p1": "abc", "ключ": "ü"})
    run("r4", "e1", "delta", 1500, "cat", {"team": "Red", "a.b": "x"}, {"m1": 1, "m.dot": 3},
        {"p2": "Abc"})
    run("r5", "e1", "eps", 1700, "ann", {}, {"m1": 0.5}, {"p1": "2"})
    run("r6", "e2", "zeta", 500, "bob", {"with space": "SP"}, {"m1": -1, "m2": 2.5}, {"p1": "-1"})
    run("r7", "e2", "alpha", 2000, "ann", {}, {}, {})
    both("POST", "runs/delete", {"run_id": "${r5}"})
    both("POST", "runs/update", {"run_id": "${r3}", "status": "FINISHED", "end_time": 3000})
    both("POST", "runs/update", {"run_id": "${r6}", "status": "FAILED", "end_time": 900})
    for run_name, name, digest, context in (("r1", "d1", "aaa", "train"), ("r4", "d1", "aaa", "eval"),
                                            ("r6", "d2", "bbb", "train"), ("r3", "d2", "bbb", None)):
        tags = [] if context is None else [{"key": "mlflow.data.context", "value": context}]
        both("POST", "runs/log-inputs", {"run_id": "${" + run_name + "}", "datasets": [{
            "tags": tags, "dataset": {"name": name, "digest": digest, "source_type": "local",
                                      "source": "{}"}}]})

    def model(name: str, tags: dict[str, str]) -> None:
        both("POST", "registered-models/create",
             {"name": name, "tags": [{"key": k, "value": v} for k, v in tags.items()]})

    def version(model_name: str, tags: dict[str, str], run: str | None = None) -> None:
        body: dict[str, Any] = {"name": model_name, "source": f"s3://bucket/{model_name}",
                                "tags": [{"key": k, "value": v} for k, v in tags.items()]}
        if run:
            body["run_id"] = "${" + run + "}"
        both("POST", "model-versions/create", body)

    model("m-alpha", {"t": "1"})
    model("M-beta", {"t": "Yes", "a.b": "x"})
    model("m_gamma", {})
    model("ünï", {"t": "ü"})
    version("m-alpha", {"t": "1"})
    version("m-alpha", {"t": "2"}, "r1")
    version("M-beta", {})
    version("ünï", {"a.b": "x"}, "r6")
    version("m-alpha", {})
    both("DELETE", "model-versions/delete", {"name": "m-alpha", "version": "3"})
    model("m-prompt", {"mlflow.prompt.is_prompt": "true"})


# ---- vocabularies -----------------------------------------------------------------------------

_STRINGS = ("red", "Red", "blue", "alpha", "Beta", "gamma ü", "1", "1.0", "abc", "Abc", "ann",
            "bob", "FINISHED", "RUNNING", "FAILED", "dot", "значение", "ü", "d1", "aaa", "train",
            "eval", "%t%", "R%", "_lpha", "${r1}", "${r3}", "${e1}", "${e2}", "active", "deleted",
            "grammar-a", "Ärger", "b%ta", "x_y%z", "Yes", "m-alpha", "M-beta", "ünï", "1", "2",
            "s3://bucket/m-alpha", "%bucket%", "true", "x")

RUNS = g.Vocabulary(
    prefixes={
        "attribute": ("", "", "attribute.", "attributes.", "attr.", "run."),
        "metric": ("metric.", "metrics."),
        "param": ("param.", "params.", "parameter.", "parameters."),
        "tag": ("tag.", "tags."),
        "dataset": ("dataset.", "datasets."),
    },
    keys={
        "attribute": ("run_id", "run_name", "status", "start_time", "end_time", "created",
                      "Created", "user_id", "artifact_uri", "lifecycle_stage", "run name",
                      "Run name", "experiment_id", "name"),
        "metric": ("m1", "m2", "m.dot"),
        "param": ("p1", "p2", "ключ"),
        "tag": ("team", "a.b", "with space", "ключ", "mlflow.runName", "mlflow.user", "data",
                "left"),
        "dataset": ("name", "digest", "context"),
    },
    strings=_STRINGS,
    numbers=("1000", "1500", "2000", "2.5", "1", "-1", "3"),
    # Not run_id or artifact_uri: their order is that of the servers' random run ids.
    order_keys=("start_time", "end_time", "run_name", "attributes.run_name", "status", "user_id",
                "created", "Created", "experiment_id",
                "metrics.m1", "metric.m2", "metrics.`m.dot`", "params.p1", "param.p2",
                "tags.team", "tags.`a.b`", "tags.\"with space\"", "datasets.name",
                "lifecycle_stage", "attribute.start_time", "metrics.\"m1\""),
)

EXPERIMENTS = g.Vocabulary(
    prefixes={"attribute": ("", "", "attribute.", "attributes."), "tag": ("tag.", "tags.")},
    keys={"attribute": ("name", "experiment_id", "creation_time", "last_update_time",
                        "lifecycle_stage", "artifact_location"),
          "tag": ("t", "k", "a.b")},
    strings=_STRINGS,
    numbers=("0", "1", "2", "1000"),
    order_keys=("name", "experiment_id", "creation_time", "last_update_time", "attribute.name",
                "tags.t", "lifecycle_stage", "`name`"),
)

REGISTRY = g.Vocabulary(
    prefixes={"attribute": ("", "", "attribute.", "attributes."), "tag": ("tag.", "tags.")},
    keys={"attribute": ("name", "version_number", "run_id", "source_path", "creation_timestamp",
                        "last_updated_timestamp", "timestamp", "description"),
          "tag": ("t", "a.b", "mlflow.prompt.is_prompt")},
    strings=_STRINGS,
    numbers=("1", "2", "3", "0"),
    order_keys=("name", "timestamp", "last_updated_timestamp", "creation_timestamp",
                "version_number", "attribute.name", "tags.t", "`name`"),
)


# ---- comparison -------------------------------------------------------------------------------

ROW_ID: dict[str, Callable[[dict], str]] = {
    "runs/search": lambda row: row["info"]["run_id"],
    "experiments/search": lambda row: row["experiment_id"],
    "registered-models/search": lambda row: row["name"],
    "model-versions/search": lambda row: f"{row['name']}/{row['version']}",
}
ROWS = {"runs/search": "runs", "experiments/search": "experiments",
        "registered-models/search": "registered_models", "model-versions/search": "model_versions"}


_SET = re.compile(r"\{'[^'{}]*'(?:, '[^'{}]*')*\}")


_SQL_ERROR = re.compile(r"^(\(sqlite3\.\w+\) Error binding parameter) \d+(: [^\n]*)\n.*", re.S)


def _message(side: Side, text: str) -> str:
    """Ids as symbols; Python set reprs sorted (MLflow prints sets in hash-seed order); of a
    SQLite binding error only the first line without the parameter's position (the rest quotes
    MLflow's SQL statement, which fakeflow does not reproduce)."""
    text = _SQL_ERROR.sub(r"\1\2", side.symbol(text))
    return _SET.sub(lambda m: "{" + ", ".join(sorted(m.group()[1:-1].split(", "))) + "}", text)


def _summary(side: Side, path: str, status: int, payload: Any) -> Any:
    if status != 200 or not isinstance(payload, dict):
        if isinstance(payload, dict):
            return (status, payload.get("error_code"), _message(side, str(payload.get("message"))))
        return (status, "not json")
    rows = [side.symbol(ROW_ID[path](row)) for row in payload.get(ROWS[path], [])]
    return (status, rows, payload.get("next_page_token"))


def _walk(side: Side, method: str, path: str, body: dict[str, Any]) -> list[Any]:
    """The first page and up to three more, following next_page_token."""
    pages = []
    body = dict(body)
    for _ in range(4):
        status, payload = side.call(method, path, body)
        pages.append(_summary(side, path, status, payload))
        token = payload.get("next_page_token") if status == 200 and isinstance(payload, dict) else None
        if not token:
            break
        body["page_token"] = token
    return pages


@pytest.fixture(scope="module")
def sides() -> Iterator[list[Side]]:
    from conformance.reference_server import (
        ReferenceServer,
        find_mlflow_executable,
        start_reference_server,
    )

    given_url = os.environ.get("FAKEFLOW_SEARCH_REAL_URL")  # an EMPTY server started by hand
    if given_url:
        server = ReferenceServer(given_url)
    elif find_mlflow_executable() is None:
        if os.environ.get("CI"):
            pytest.fail("real MLflow not found (CI is set)", pytrace=False)
        pytest.skip("real MLflow not found: set FAKEFLOW_MLFLOW_BIN")
    else:
        # A fresh server of our own: experiment and model searches see the whole server.
        server = start_reference_server(timeout=300)
    try:
        real, fake = Side(_real_sender(server.url)), Side(_fake_sender())
        _seed([real, fake])
        for _ in range(100):
            if all(_id_order(real, pair) == _id_order(fake, pair) for pair in TIED):
                break
            fake = Side(_fake_sender())  # new random ids, until ties break the same way
            _seed([fake])
        else:
            pytest.fail("could not draw fakeflow run ids that tie-break like the real ones")
        yield [real, fake]
    finally:
        server.stop()


class Differences:
    """Collects every difference of a run, reported at the end."""

    def __init__(self) -> None:
        self.found: list[str] = []

    def check(self, sides: list[Side], method: str, path: str, body: dict[str, Any]) -> None:
        real, fake = (_walk(side, method, path, body) for side in sides)
        if real != fake:
            self.found.append(f"{method} {path} {body!r}\n    real: {real}\n    fake: {fake}")

    def assert_none(self) -> None:
        if self.found:
            shown = "\n".join(self.found[:15])
            pytest.fail(f"{len(self.found)} differences from MLflow 3.17.2:\n{shown}", pytrace=False)


def _settings() -> Callable[[Any], Any]:
    return settings(max_examples=EXAMPLES, deadline=None, database=None,
                    derandomize=not os.environ.get("FAKEFLOW_SEARCH_RANDOM"),
                    suppress_health_check=list(HealthCheck))


def _put(body: dict[str, Any], key: str, value: Any) -> None:
    if value is not None:
        body[key] = value


def _sizes(default_range: tuple[int, ...]) -> st.SearchStrategy[int | None]:
    return st.one_of(st.none(), st.integers(-1, 4), st.sampled_from(default_range))


_VIEWS = st.sampled_from([None, "ACTIVE_ONLY", "DELETED_ONLY", "ALL", 3, "BOGUS"])


def test_run_search_matches_mlflow(sides: list[Side]) -> None:
    differences = Differences()

    @_settings()
    @given(filt=g.filter_string(RUNS), order=g.order_by(RUNS), size=_sizes((1000, 50000, 50001)),
           token=g.page_token(), view=_VIEWS,
           experiments=st.sampled_from([["${e1}", "${e2}"], ["${e2}"], ["${e1}", "${e1}"]]))
    def run(filt: Any, order: Any, size: Any, token: Any, view: Any, experiments: Any) -> None:
        body: dict[str, Any] = {"experiment_ids": experiments}
        for key, item in (("filter", filt), ("order_by", order), ("max_results", size),
                          ("page_token", token), ("run_view_type", view)):
            _put(body, key, item)
        differences.check(sides, "POST", "runs/search", body)

    run()
    differences.assert_none()


def test_experiment_search_matches_mlflow(sides: list[Side]) -> None:
    differences = Differences()

    @_settings()
    @given(filt=g.filter_string(EXPERIMENTS), order=g.order_by(EXPERIMENTS),
           size=_sizes((1000, 50000, 50001)), token=g.page_token(), view=_VIEWS,
           method=st.sampled_from(["POST", "GET"]))
    def run(filt: Any, order: Any, size: Any, token: Any, view: Any, method: str) -> None:
        body: dict[str, Any] = {}
        for key, item in (("filter", filt), ("order_by", order), ("max_results", size),
                          ("page_token", token), ("view_type", view)):
            _put(body, key, item)
        differences.check(sides, method, "experiments/search", body)

    run()
    differences.assert_none()


@pytest.mark.parametrize("path", ["registered-models/search", "model-versions/search"])
def test_registry_search_matches_mlflow(sides: list[Side], path: str) -> None:
    differences = Differences()

    @_settings()
    @given(filt=g.filter_string(REGISTRY), order=g.order_by(REGISTRY),
           size=_sizes((100, 1000, 1001, 200000, 200001)), token=g.page_token())
    def run(filt: Any, order: Any, size: Any, token: Any) -> None:
        body: dict[str, Any] = {}
        for key, item in (("filter", filt), ("order_by", order), ("max_results", size),
                          ("page_token", token)):
            _put(body, key, item)
        differences.check(sides, "GET", path, body)

    run()
    differences.assert_none()
