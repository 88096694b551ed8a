"""Grammar-driven differential test of trace search against real MLflow 3.17.2.

The trace data set of ``tests/support/trace_search_data`` (spans with names, types, statuses and
attributes; feedback and expectation values of every kind, one overridden; tags, metadata,
source runs and run links; a deleted trace; two experiments) is written to the session's real
MLflow and to a fresh fakeflow. Hypothesis then draws filters (valid and broken: every prefix
and alias, each comparator including RLIKE and wrong casings, the three quotings, lists, numbers,
OR, parentheses, trailing AND), order_by lists, page sizes and page tokens, sends each search
to both servers (``POST /api/3.0/mlflow/traces/search``) and follows the page tokens; rows, their
order, every page and every error (status, error_code, message) must be identical.

``FAKEFLOW_TRACE_SEARCH_EXAMPLES`` sets the number of examples (default 100);
``FAKEFLOW_SEARCH_RANDOM=1`` draws fresh random examples instead of the fixed derandomized ones.
"""

from __future__ import annotations

import os
import re
import uuid
from typing import Any, Callable, Iterator

import pytest
import requests
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from werkzeug.test import Client

import fakeflow
from tests.support import search_grammar as g
from tests.support import trace_search_data as data

EXAMPLES = int(os.environ.get("FAKEFLOW_TRACE_SEARCH_EXAMPLES", "100"))
SEARCH = "/api/3.0/mlflow/traces/search"
_RUN_ID = re.compile(r"[0-9a-f]{32}(?![0-9a-f])")
_SET = re.compile(r"\{'[^'{}]*'(?:, '[^'{}]*')*\}")
_SQL_ERROR = re.compile(r"^(\(sqlite3\.\w+\) Error binding parameter) \d+(: [^\n]*)\n.*", re.S)

Sender = Callable[[str, str, Any, Any, Any], tuple[int, Any]]


class Side:
    """One server; ``${name}`` in requests stands for the ids it handed out."""

    def __init__(self, send: Sender) -> None:
        self.raw = send
        self.ids: dict[str, str] = {}

    def fill(self, value: Any) -> Any:
        if isinstance(value, str):
            for name in sorted(self.ids, key=len, reverse=True):
                value = value.replace("${" + name + "}", self.ids[name])
            return value
        if isinstance(value, list):
            return [self.fill(v) for v in value]
        if isinstance(value, dict):
            return {self.fill(k): self.fill(v) for k, v in value.items()}
        return value

    def send(self, method: str, path: str, body: Any = None, raw: Any = None,
             headers: Any = None) -> tuple[int, Any]:
        return self.raw(method, path, self.fill(body), self.fill(raw), self.fill(headers))

    def capture(self, name: str, value: str) -> None:
        self.ids[name] = value

    def symbol(self, text: str) -> str:
        by_id = {v: k for k, v in self.ids.items() if k.startswith("r")}
        return _RUN_ID.sub(lambda m: "${" + by_id.get(m.group(), m.group()) + "}", text)


def _real(url: str) -> Sender:
    session = requests.Session()

    def send(method: str, path: str, body: Any, raw: Any, headers: Any) -> tuple[int, Any]:
        response = session.request(method, url + path, json=body if raw is None else None,
                                   data=raw, headers=headers, timeout=60)
        try:
            return response.status_code, response.json()
        except ValueError:
            return response.status_code, None

    return send


def _fake() -> Sender:
    client = Client(fakeflow.create_app())

    def send(method: str, path: str, body: Any, raw: Any, headers: Any) -> tuple[int, Any]:
        if raw is not None:
            response = client.open(path, method=method, data=raw, headers=headers)
        else:
            response = client.open(path, method=method, json=body, headers=headers)
        try:
            return response.status_code, response.get_json(force=True)
        except Exception:  # an HTML error page
            return response.status_code, None

    return send


@pytest.fixture(scope="module")
def sides(reference_server: Any) -> Iterator[list[Side]]:
    real = Side(_real(reference_server.url))
    data.seed(real.send, real.capture, suffix="-" + uuid.uuid4().hex[:8])
    for _ in range(100):  # run ids are random: their order must agree (order_by run_id)
        fake = Side(_fake())
        data.seed(fake.send, fake.capture)
        if (real.ids["r1"] < real.ids["r2"]) == (fake.ids["r1"] < fake.ids["r2"]):
            break
    else:
        pytest.fail("could not draw fakeflow run ids that order like the real ones")
    yield [real, fake]


# ---- the grammar -------------------------------------------------------------------------------

VOCAB = g.Vocabulary(
    prefixes={
        "attribute": ("", "trace.", "attribute.", "attributes."),
        "tag": ("tag.", "tags."),
        "metadata": ("metadata.", "request_metadata."),
        "span": ("span.",),
        "feedback": ("feedback.",),
        "expectation": ("expectation.",),
        "issue": ("issue.", "assessment."),
    },
    keys={
        "attribute": ("request_id", "timestamp", "timestamp_ms", "execution_time",
                      "execution_time_ms", "end_time", "end_time_ms", "status",
                      "client_request_id", "name", "run_id", "prompt", "text", "state", "Name"),
        "tag": ("team", "a.b", "mlflow.traceName", "name", "x", "run_id"),
        "metadata": ("k", "empty", "mlflow.sourceRun", "run_id", "mlflow.trace.tokenUsage",
                     "mlflow.trace.session"),
        "span": ("name", "type", "status", "content", "attributes.model", "attributes.note",
                 "attributes.temperature", "attributes.`a.b`", "attributes.", "foo"),
        "feedback": ("q", "score", "text", "sess", ""),
        "expectation": ("exp",),
        "issue": ("id", "x"),
    },
    strings=data.STRINGS,
    numbers=("0.5", "1", "3", "0.8", "10", "-1", "1700000000020", "1700000000030", "5"),
    order_keys=("timestamp", "timestamp_ms", "execution_time_ms", "end_time_ms", "status",
                "request_id", "experiment_id", "name", "run_id", "tag.team", "tags.`a.b`",
                "metadata.k", "metadata.mlflow.sourceRun", "span.name", "feedback.q",
                "metadata.mlflow.trace.tokenUsage", "client_request_id"),
)
COMPARATORS = g.COMPARATORS + ("RLIKE", "rlike", "IS", "NOT LIKE")
RLIKE_VALUES = ("'^gpt'", "'x$'", "'^a'", "'O'", "'['", "'\\\\d'", "'y'")


#: Well-formed clauses, per entity: (identifiers, comparators, values).
_STRING_OPS = ("=", "!=", "LIKE", "ILIKE", "RLIKE")
_SHAPES = (
    (("status", "trace.status", "request_id", "client_request_id", "name", "run_id"),
     _STRING_OPS + ("IN", "NOT IN"), "text"),
    (("timestamp_ms", "execution_time", "end_time", "trace.timestamp"),
     ("=", "!=", "<", "<=", ">", ">="), "number"),
    (("tag.team", "tags.`a.b`", "tag.mlflow.traceName", "tag.x", "metadata.k",
      "metadata.mlflow.sourceRun", "request_metadata.empty", "metadata.mlflow.trace.session",
      "metadata.mlflow.trace.tokenUsage", "metadata.mlflow.trace.cost"),
     _STRING_OPS + ("IS NULL", "IS NOT NULL"), "text"),
    (("span.name", "span.type", "span.status"), _STRING_OPS + ("IN", "NOT IN"), "text"),
    (("span.attributes.model", "span.attributes.note", "span.attributes.temperature",
      "span.attributes.`a.b`", "span.content", "trace.text"), ("LIKE", "ILIKE", "RLIKE"), "text"),
    (("feedback.q", "feedback.score", "expectation.exp", "feedback.none", "feedback.sess"),
     _STRING_OPS + ("IS NULL", "IS NOT NULL"), "text"),
    (("feedback.q", "feedback.score", "expectation.exp"), ("<", "<=", ">", ">="), "number"),
    (("issue.id", "prompt"), ("=",), "text"),
)


@st.composite
def _text(draw: st.DrawFn) -> str:
    word = draw(st.sampled_from(data.STRINGS))
    shape = draw(st.integers(0, 5))
    if shape == 1:
        word = f"%{word}%"
    elif shape == 2:
        word = f"{word}%"
    elif shape == 3:
        word = f"%{word.swapcase()}%"
    elif shape == 4:
        word = draw(st.sampled_from(RLIKE_VALUES))[1:-1]
    return "'" + word.replace("'", "") + "'"


@st.composite
def valid_clause(draw: st.DrawFn) -> str:
    idents, ops, kind = draw(st.sampled_from(_SHAPES))
    ident, op = draw(st.sampled_from(idents)), draw(st.sampled_from(ops))
    if op.startswith("IS"):
        return f"{ident} {op}"
    if op in ("IN", "NOT IN"):
        items = draw(st.lists(st.sampled_from(data.STRINGS), min_size=1, max_size=3))
        return f"{ident} {op} (" + ", ".join(f"'{i}'" for i in items) + ")"
    if kind == "number":
        value = draw(st.sampled_from(VOCAB.numbers + ("1700000000010", "1700000000040")))
    else:
        value = draw(_text())
    return f"{ident} {op} {value}"


@st.composite
def clause(draw: st.DrawFn) -> str:
    if draw(st.integers(0, 9)) < 6:
        return draw(valid_clause())
    ident = draw(g.identifier(VOCAB))
    if draw(st.integers(0, 7)) == 0:
        return f"{ident} {draw(st.sampled_from(g._NULLS))}"
    op = draw(st.sampled_from(COMPARATORS))
    space = draw(st.sampled_from([" ", " ", "", "  "])) if op[0] in "=!<>" else " "
    value = draw(st.sampled_from(RLIKE_VALUES)) if op.upper() == "RLIKE" and \
        draw(st.booleans()) else draw(g.value(VOCAB))
    return f"{ident}{space}{op}{space}{value}"


@st.composite
def filter_string(draw: st.DrawFn) -> str | None:
    shape = draw(st.integers(0, 19))
    if shape == 0:
        return draw(st.sampled_from([None, "", " ", ";", "()", "AND", "'x'", "1 = 1",
                                     "timestamp > 5", "timestamp = 'x'", "timestamp > 5.5",
                                     "text LIKE '%a%'", "status = 'OK' > 2"]))
    clauses = draw(st.lists(clause(), min_size=1, max_size=3))
    text = clauses[0]
    for c in clauses[1:]:
        join = " AND " if draw(st.integers(0, 3)) else draw(st.sampled_from(g._JOINS + ("AND",)))
        text += join + c
    if shape == 1:
        text = f"({text})"
    elif shape == 2:
        text += draw(st.sampled_from([" AND", " AND ", ";", " OR", ")"]))
    elif shape == 3:
        text = draw(st.sampled_from(["AND ", "NOT ", " ", "("])) + text
    return text


# ---- comparing ---------------------------------------------------------------------------------


def _message(side: Side, text: str) -> str:
    """Run ids as symbols; set reprs sorted (MLflow prints sets in hash-seed order); of a
    SQLite binding error only the first line without the parameter's position."""
    text = _SQL_ERROR.sub(r"\1\2", side.symbol(text))
    return _SET.sub(lambda m: "{" + ", ".join(sorted(m.group()[1:-1].split(", "))) + "}", text)


def _summary(side: Side, status: int, payload: Any) -> Any:
    if status != 200 or not isinstance(payload, dict):
        if isinstance(payload, dict):
            return (status, payload.get("error_code"), _message(side, str(payload.get("message"))))
        return (status, "not json")
    rows = [t["trace_id"] for t in payload.get("traces", [])]
    return (status, rows, payload.get("next_page_token"))


def _walk(side: Side, body: dict[str, Any]) -> list[Any]:
    """The first page and up to three more, following next_page_token."""
    pages = []
    body = dict(body)
    for _ in range(4):
        status, payload = side.send("POST", SEARCH, body)
        pages.append(_summary(side, status, payload))
        token = payload.get("next_page_token") if status == 200 and isinstance(payload, dict) \
            else None
        if not token:
            break
        body["page_token"] = token
    return pages


def _settings() -> Callable[[Any], Any]:
    return settings(max_examples=EXAMPLES, deadline=None, database=None,
                    derandomize=not os.environ.get("FAKEFLOW_SEARCH_RANDOM"),
                    suppress_health_check=list(HealthCheck),
                    phases=[Phase.explicit, Phase.generate])


def _compare(sides: list[Side], found: list[str], filt: Any, order: Any, size: Any, token: Any,
             experiments: Any) -> None:
    body: dict[str, Any] = {"locations": [
        {"type": "MLFLOW_EXPERIMENT", "mlflow_experiment": {"experiment_id": "${%s}" % e}}
        for e in experiments]}
    for key, value in (("filter", filt), ("order_by", order), ("max_results", size),
                       ("page_token", token)):
        if value is not None:
            body[key] = value
    real, fake = (_walk(side, body) for side in sides)
    if real != fake:
        found.append(f"{body!r}\n    real: {real}\n    fake: {fake}")


def _report(found: list[str]) -> None:
    if found:
        shown = "\n".join(found[:15])
        pytest.fail(f"{len(found)} differences from MLflow 3.17.2:\n{shown}", pytrace=False)


_VALID_ORDER = ("timestamp", "timestamp_ms", "execution_time_ms", "status", "request_id",
                "experiment_id", "name", "run_id", "tag.team", "tags.`a.b`", "metadata.k",
                "metadata.mlflow.trace.session")


def test_well_formed_trace_filters_match_mlflow(sides: list[Side]) -> None:
    """Only well-formed filters and order_by lists: each example reaches the rows."""
    found: list[str] = []

    @_settings()
    @given(clauses=st.lists(valid_clause(), min_size=1, max_size=2),
           order=st.lists(st.tuples(st.sampled_from(_VALID_ORDER),
                                    st.sampled_from(["", " ASC", " DESC"])),
                          max_size=2, unique_by=lambda t: t[0]),
           size=st.one_of(st.none(), st.integers(1, 4)),
           experiments=st.sampled_from([("e1",), ("e1", "e2"), ("e3",), ("e1", "e2", "e3")]))
    def run(clauses: Any, order: Any, size: Any, experiments: Any) -> None:
        _compare(sides, found, " AND ".join(clauses), [k + d for k, d in order] or None, size,
                 None, experiments)

    run()
    _report(found)


def test_trace_search_matches_mlflow(sides: list[Side]) -> None:
    found: list[str] = []

    @_settings()
    @given(filt=filter_string(), order=st.one_of(st.none(), st.none(), g.order_by(VOCAB)),
           size=st.one_of(st.none(), st.integers(1, 4)),
           token=st.one_of(st.none(), st.none(), g.page_token()),
           experiments=st.sampled_from([("e1",), ("e1", "e2"), ("e2",), ("e3",), ("e1", "e3")]))
    def run(filt: Any, order: Any, size: Any, token: Any, experiments: Any) -> None:
        _compare(sides, found, filt, order, size, token, experiments)

    run()
    _report(found)


CORRELATION = "/api/3.0/mlflow/traces/calculate-filter-correlation"


def _correlation(side: Side, body: dict[str, Any]) -> Any:
    status, payload = side.send("POST", CORRELATION, body)
    if status == 200 and isinstance(payload, dict):
        return (status, payload)  # counts and NPMI floats must agree to the last bit
    return _summary(side, status, payload)


#: Clauses that keep some traces of e1 and e2 and drop others (checked below), so that
#: correlations come out as numbers rather than NaN.
_SPLITTING = (
    "status = 'OK'", "status != 'OK'", "status = 'ERROR'", "span.status = 'ERROR'",
    "span.type = 'LLM'", "span.type = 'TOOL'", "span.name LIKE '%o%'", "span.name ILIKE 'R%'",
    "tag.team IS NOT NULL", "tag.team = 'a'", "metadata.k IS NOT NULL", "feedback.q IS NOT NULL",
    "feedback.score > 0.5", "expectation.exp IS NOT NULL", "execution_time_ms > 10",
    "timestamp_ms > 1700000000020", "timestamp_ms <= 1700000000030", "trace.text LIKE '%a%'",
    "span.attributes.model LIKE '%gpt%'", "name = 'root'", "run_id = '${r1}'",
    "metadata.mlflow.trace.session IS NOT NULL", "span.content LIKE '%llm%'",
    "prompt = 'qa/1'", "prompt = 'qa/2'",
)


def _splitting(side: Side) -> list[str]:
    body = {"locations": [{"type": "MLFLOW_EXPERIMENT",
                           "mlflow_experiment": {"experiment_id": "${%s}" % e}}
                          for e in ("e1", "e2")], "max_results": 500}
    every = side.send("POST", SEARCH, body)[1].get("traces", [])
    kept = []
    for text in _SPLITTING:
        status, payload = side.send("POST", SEARCH, {**body, "filter": text})
        if status == 200 and 0 < len(payload.get("traces", [])) < len(every):
            kept.append(text)
    return kept


def test_filter_correlation_matches_mlflow(sides: list[Side]) -> None:
    """``calculate-filter-correlation`` over the same traces: two filters and an optional base
    filter (clauses that split the data, well-formed ones from the grammar, broken ones), as
    MLflow's ``TracingClient.calculate_trace_filter_correlation`` sends them; counts and NPMI
    scores must agree to the last bit."""
    found: list[str] = []
    scored: list[bool] = []
    pool = _splitting(sides[1])
    assert len(pool) >= 10, f"too few clauses split the data: {pool}"
    splitting = st.lists(st.sampled_from(pool), min_size=1, max_size=2).map(" AND ".join)
    well_formed = st.lists(valid_clause(), min_size=1, max_size=2).map(" AND ".join)
    either = st.one_of(splitting, splitting, splitting, well_formed, filter_string())

    @_settings()
    @given(first=either, second=either,
           base=st.one_of(st.none(), st.none(), st.just(""), splitting, filter_string()),
           experiments=st.sampled_from([("e1",), ("e1", "e2"), ("e1", "e2"), ("e3",), (),
                                        ("e1", "e3")]))
    def run(first: Any, second: Any, base: Any, experiments: Any) -> None:
        body: dict[str, Any] = {"experiment_ids": ["${%s}" % e for e in experiments]}
        for key, value in (("filter_string1", first), ("filter_string2", second),
                           ("base_filter", base)):
            if value is not None:
                body[key] = value
        real, fake = (_correlation(side, body) for side in sides)
        scored.append(real[0] == 200 and "npmi_smoothed" in real[1])
        if real != fake:
            found.append(f"{body!r}\n    real: {real}\n    fake: {fake}")

    run()
    _report(found)
    assert sum(scored) >= len(scored) // 10, f"only {sum(scored)} of {len(scored)} scored"
