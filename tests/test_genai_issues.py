"""GenAI issues and issue-reference assessments, differentially against real MLflow 3.17.2.

Hypothesis draws short programs of requests, valid and invalid: create an issue (missing or
mistyped fields, statuses and severities outside their enums, unknown, deleted or malformed
experiments, unknown source runs), patch one (with and without the ``issue_id`` MLflow wants in
the body), get one, search (filters through the SQL lexer, page sizes, page tokens, trace
counts), and attach, update and delete issue-reference assessments on a trace. Every request
goes to the session's real MLflow and to fakeflow; answers (status, error code, message, the
whole JSON with generated ids and clocks turned into symbols) must be identical. Each program
works in an experiment of its own, so earlier programs and other tests cannot show up.

A second test runs the real client (``mlflow.log_issue`` and the tracing client's issue calls)
against both servers and compares what it saw.

``FAKEFLOW_ISSUE_EXAMPLES`` sets the number of programs (default 25).
"""

from __future__ import annotations

import json
import os
import re
import time
import uuid
from typing import Any, Callable, Iterator

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.differential.harness import new_suffix

EXAMPLES = int(os.environ.get("FAKEFLOW_ISSUE_EXAMPLES", "25"))
V2, V3 = "/api/2.0/mlflow/", "/api/3.0/mlflow/"

_SET = re.compile(r"\{'[^'{}]*'(?:, '[^'{}]*')*\}")
_ISO = re.compile(r"^\d{4}-\d\d-\d\dT[\d:.]+Z$")
_STAMP = re.compile(r"(?<!\d)1\d{12}(?!\d)")
_UNSEEN_ID = re.compile(r"\b(iss|a)-[0-9a-f]{32}\b")


class Side:
    """One server: its base URL and the ids it generated, by the symbol the program uses."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.session = requests.Session()
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

    def call(self, method: str, path: str, body: Any) -> tuple[int, Any]:
        prefix = V2 if path.startswith(("experiments/", "runs/")) else V3
        target = self.url + prefix + self.fill(path)
        if method == "GET":
            response = self.session.get(target, timeout=30)
        else:
            response = self.session.request(method, target, json=self.fill(body), timeout=30)
        try:
            return response.status_code, response.json()
        except ValueError:
            return response.status_code, "<not json>"

    def symbol(self, text: str) -> str:
        for name, real in sorted(self.ids.items(), key=lambda item: -len(item[1])):
            if text == real:
                return "${" + name + "}"
            if real.isdigit():  # an experiment id: only where a message quotes one
                text = re.sub(rf"(id=|'<iss-id>', |\('iss-[0-9a-f]{{32}}', ){real}\b",
                              lambda m, n=name: m.group(1) + "${" + n + "}", text)
                continue
            text = re.sub(rf"(?<![\w-]){re.escape(real)}(?![\w])", "${" + name + "}", text)
        text = _UNSEEN_ID.sub(r"<\1-id>", text)  # ids a refusal quotes but never stored
        text = _STAMP.sub("<ms>", text)
        return _SET.sub(lambda m: "{" + ", ".join(sorted(m.group()[1:-1].split(", "))) + "}",
                        text)

    def normalise(self, value: Any) -> Any:
        """Ids as symbols, server clocks as their relation to the creation time."""
        if isinstance(value, dict):
            out = {k: self.normalise(v) for k, v in value.items()}
            if isinstance(value.get("created_timestamp"), int):
                created = value["created_timestamp"]
                out["created_timestamp"] = "<ts>"
                if isinstance(value.get("last_updated_timestamp"), int):
                    later = value["last_updated_timestamp"] > created
                    out["last_updated_timestamp"] = "<ts:later>" if later else "<ts:same>"
            for key in ("create_time", "last_update_time"):
                if isinstance(value.get(key), str) and _ISO.match(value[key]) \
                        and not value[key].startswith("2020-"):
                    out[key] = "<now>"
            return out
        if isinstance(value, list):
            return [self.normalise(v) for v in value]
        if isinstance(value, str):
            return self.symbol(value)
        return value


def both(sides: list[Side], method: str, path: str, body: Any = None,
         capture: tuple[str, str] | None = None) -> list[Any]:
    """Send to each side; capture a generated id under a symbol; the normalised answers."""
    answers = []
    for side in sides:
        status, payload = side.call(method, path, body)
        if capture is not None and status == 200:
            node = payload
            for part in capture[1].split("."):
                node = node[part]
            side.ids[capture[0]] = node
        answers.append((status, side.normalise(payload)))
    time.sleep(0.003)  # distinct server times, in the same order on both servers
    return answers


def _trace_body(trace_id: str, experiment: str) -> dict[str, Any]:
    return {"trace": {"trace_info": {
        "trace_id": trace_id, "request_time": "2024-01-01T00:00:00Z", "state": "OK",
        "trace_location": {"type": "MLFLOW_EXPERIMENT",
                           "mlflow_experiment": {"experiment_id": experiment}}}}}


def _setup(sides: list[Side], tag: str) -> None:
    """An experiment (``e``) with a run and a trace, a deleted experiment, two base issues."""
    suffix = new_suffix()
    for side in sides:
        side.ids.clear()  # each program starts afresh
    for name, capture in ((f"issues-{suffix}-{tag}", "e"), (f"issues-{suffix}-{tag}-dead", "dead")):
        answers = both(sides, "POST", "experiments/create", {"name": name},
                       (capture, "experiment_id"))
        assert answers[0][0] == answers[1][0] == 200, answers
    both(sides, "POST", "experiments/delete", {"experiment_id": "${dead}"})
    both(sides, "POST", "runs/create", {"experiment_id": "${e}"}, ("run", "run.info.run_id"))
    trace_id = f"tr-{uuid.uuid4().hex}"
    for side in sides:
        side.ids["t"] = trace_id
    both(sides, "POST", "traces", _trace_body(trace_id, "${e}"))
    both(sides, "POST", "issues", {"experiment_id": "${e}", "name": "slow", "description": "d",
                                   "severity": "medium"}, ("i0", "issue.issue_id"))
    both(sides, "POST", "issues", {"experiment_id": "${e}", "name": "rude", "description": "d",
                                   "status": "resolved", "source_run_id": "${run}"},
         ("i1", "issue.issue_id"))


@pytest.fixture(scope="module")
def sides(reference_server: Any, fakeflow_server: Any) -> Iterator[list[Side]]:
    yield [Side(reference_server.url), Side(fakeflow_server.url)]


# ---- request strategies ---------------------------------------------------------------------

_TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=6)
_STATUS = st.one_of(st.sampled_from(("pending", "rejected", "resolved")),
                    st.sampled_from(("bogus", "", "PENDING", 5, None)))
_SEVERITY = st.one_of(st.sampled_from(("not_an_issue", "low", "medium", "high")),
                      st.sampled_from(("HIGH", "", 1, None)))
_STRINGS = st.one_of(st.lists(_TEXT, max_size=3), st.sampled_from(("x", [1], [], None)))
_ISSUE_REF = st.sampled_from(("${i0}", "${i1}", "${new}", "nope", "search"))


def _body(fields: dict[str, st.SearchStrategy[Any]], required: tuple[str, ...] = ()
          ) -> st.SearchStrategy[dict[str, Any]]:
    """A subset of the fields, in a drawn order (protobuf parses keys in the order sent; a
    bad value drops the keys after it), the required ones first and always kept."""
    keys = list(fields)
    return st.permutations(keys).flatmap(lambda order: st.tuples(
        st.fixed_dictionaries({k: fields[k] for k in required}),
        st.fixed_dictionaries({}, optional={k: fields[k] for k in order if k not in required}),
        st.permutations([k for k in order if k not in required]),
    ).map(lambda parts: {**parts[0], **{k: parts[1][k] for k in parts[2] if k in parts[1]}}))


_CREATE = _body({
    "experiment_id": st.sampled_from(("${e}", "${e}", "${e}", "${dead}", "99999", "abc", "", 0,
                                      "99999999999999999999")),
    "name": st.one_of(_TEXT, st.sampled_from(("", 5))), "description": st.one_of(_TEXT, st.just("")),
    "status": _STATUS, "severity": _SEVERITY, "root_causes": _STRINGS, "categories": _STRINGS,
    "source_run_id": st.sampled_from(("${run}", "nope", "")), "created_by": _TEXT,
    "bogus": st.just(1),
})
_UPDATE = _body({
    "issue_id": st.sampled_from(("x", "x", "", 5, None)), "name": _TEXT, "description": _TEXT,
    "status": _STATUS, "severity": _SEVERITY,
})
_FILTER_KEYS = ("status", "source_run_id", "status", "name", "`status`", '"status"', "'status'",
                "attributes.status", "STATUS")
_FILTER_OPS = ("=", "!=", "=", "!=", "LIKE", "IN", "==", "<>", "IS NULL", "NOT IN")
_FILTER_VALUES = ("'pending'", "'resolved'", "' pending '", "pending", "\"rejected\"",
                  "'${run}'", "'nope'", "5", "NULL", "('pending')", "x.y")


@st.composite
def _filter(draw: st.DrawFn) -> str:
    clauses = []
    for _ in range(draw(st.integers(1, 2))):
        op = draw(st.sampled_from(_FILTER_OPS))
        key = draw(st.sampled_from(_FILTER_KEYS))
        clauses.append(f"{key} {op}" if op == "IS NULL"
                       else f"{key} {op} {draw(st.sampled_from(_FILTER_VALUES))}")
    joiner = draw(st.sampled_from((" AND ", " AND ", " and ", " OR ", "; ", " ")))
    return joiner.join(clauses)


_SEARCH = _body({
    "experiment_id": st.sampled_from(("${e}", "${e}", "${e}", "${dead}", "abc", "99999999999999999999")),
    "filter_string": st.one_of(_filter(), st.sampled_from(("", " ", "status"))),
    "max_results": st.one_of(st.integers(-1, 3), st.sampled_from((50000, 50001, "2", None))),
    "page_token": st.sampled_from(("", "abc", "eyJvZmZzZXQiOiAxfQ==", "eyJvZmZzZXQiOiAwfQ==")),
    "include_trace_count": st.sampled_from((True, False, "yes")),
}, required=("experiment_id",))  # without one, the search spans the whole shared server
_ASSESSMENT = _body({
    "assessment_name": _ISSUE_REF, "issue": st.one_of(
        st.fixed_dictionaries({}, optional={"issue_name": st.one_of(_TEXT, st.just(5))}),
        st.sampled_from(("str", None))),
    "rationale": _TEXT, "metadata": st.just({"k": "v"}), "span_id": st.just("s1"),
    "overrides": st.just("a-nope"), "valid": st.just(False),
    "source": st.just({"source_type": "HUMAN", "source_id": "me"}),
    "feedback": st.just({"value": 1}),
})
_MASKS = st.sampled_from(("rationale", "assessmentName", "feedback", "expectation", "metadata",
                          "issue", "feedback,expectation", "assessment_name"))


@st.composite
def _step(draw: st.DrawFn) -> tuple[str, str, Any, tuple[str, str] | None]:
    kind = draw(st.sampled_from(("create", "create", "update", "get", "search", "search",
                                 "assess", "assess", "amend", "drop", "traces")))
    if kind == "create":
        return "POST", "issues", draw(_CREATE), ("new", "issue.issue_id")
    if kind == "update":
        return "PATCH", f"issues/{draw(_ISSUE_REF)}", draw(_UPDATE), None
    if kind == "get":
        return "GET", f"issues/{draw(_ISSUE_REF)}", None, None
    if kind == "search":
        return "POST", "issues/search", draw(_SEARCH), None
    if kind == "assess":
        return ("POST", "traces/${t}/assessments", {"assessment": draw(_ASSESSMENT)},
                ("a", "assessment.assessment_id"))
    if kind == "amend":
        return ("PATCH", "traces/${t}/assessments/${a}",
                {"assessment": draw(_ASSESSMENT), "update_mask": draw(_MASKS)}, None)
    if kind == "drop":
        return "DELETE", "traces/${t}/assessments/${a}", None, None
    comparator = draw(st.sampled_from(("=", "=", "!=", "LIKE")))
    key = draw(st.sampled_from(("issue.id", "issue.id", "issue.name", "issues.id")))
    return ("POST", "traces/search", {
        "locations": [{"type": "MLFLOW_EXPERIMENT", "mlflow_experiment": {"experiment_id": "${e}"}}],
        "filter": f"{key} {comparator} '{draw(_ISSUE_REF)}'"}, None)


def _trace_ids(answer: tuple[int, Any]) -> Any:
    """Trace search: which traces (assessment order is not defined by MLflow's SQL)."""
    status, payload = answer
    if status == 200 and isinstance(payload, dict):
        return status, [t["trace_id"] for t in payload.get("traces", [])]
    return answer


def test_issue_requests_match_mlflow(sides: list[Side]) -> None:
    found: list[str] = []
    counter = iter(range(10**6))

    @settings(max_examples=EXAMPLES, deadline=None, database=None,
              derandomize=not os.environ.get("FAKEFLOW_SEARCH_RANDOM"),
              suppress_health_check=list(HealthCheck))
    @given(program=st.lists(_step(), min_size=1, max_size=7))
    def run(program: list[tuple[str, str, Any, tuple[str, str] | None]]) -> None:
        _setup(sides, str(next(counter)))
        for method, path, body, capture in program:
            answers = both(sides, method, path, body, capture)
            if path == "traces/search":
                answers = [_trace_ids(a) for a in answers]
            if answers[0] != answers[1]:
                found.append(f"{method} {path} {body!r}\n    real: {str(answers[0])[:1500]}\n"
                             f"    fake: {str(answers[1])[:1500]}")
                return
        # the end state: every issue of the experiment, with its trace count
        final = both(sides, "POST", "issues/search",
                     {"experiment_id": "${e}", "include_trace_count": True})
        if final[0] != final[1]:
            found.append(f"final state after {program!r}\n    real: {final[0]}\n"
                         f"    fake: {final[1]}")

    run()
    if found:
        shown = "\n".join(found[:10])
        pytest.fail(f"{len(found)} differences from MLflow 3.17.2:\n{shown}", pytrace=False)


def test_search_order_paging_and_trace_counts_match_mlflow(sides: list[Side]) -> None:
    """Severity first (none last), then trace count when asked, newest first; pages of every
    size followed to the end; filters on both keys; ``issue.id`` trace search."""
    _setup(sides, "order")
    for index, severity in enumerate((None, "low", "high", None, "not_an_issue", "high", "low")):
        body = {"experiment_id": "${e}", "name": f"n{index}", "description": "d"}
        if severity:
            body["severity"] = severity
        if index % 3 == 0:
            body["status"] = "rejected"
        both(sides, "POST", "issues", body, (f"n{index}", "issue.issue_id"))
    for trace, issues in (("t", ("n0", "n0", "n2", "i0")), ("u", ("n0", "n3")), ("v", ("n3",))):
        trace_id = f"tr-{uuid.uuid4().hex}"
        for side in sides:
            side.ids[trace] = trace_id
        both(sides, "POST", "traces", _trace_body(trace_id, "${e}"))
        for issue in issues:
            answers = both(sides, "POST", f"traces/{trace_id}/assessments", {"assessment": {
                "assessment_name": "${" + issue + "}", "issue": {"issue_name": issue},
                "source": {"source_type": "LLM_JUDGE"}}})
            assert answers[0] == answers[1]
    for counts in (True, False):
        for size in (1, 2, 3, 100, None):
            for filt in (None, "status = 'rejected'", "status != 'rejected'",
                         "source_run_id = '${run}'", "source_run_id != 'x'"):
                body: dict[str, Any] = {"experiment_id": "${e}", "include_trace_count": counts}
                if size:
                    body["max_results"] = size
                if filt:
                    body["filter_string"] = filt
                pages = [_walk(side, body) for side in sides]
                assert pages[0] == pages[1], (body, pages)
    for issue in ("n0", "n3", "i1", "nope"):
        answers = [_trace_ids(a) for a in both(sides, "POST", "traces/search", {
            "locations": [{"type": "MLFLOW_EXPERIMENT",
                           "mlflow_experiment": {"experiment_id": "${e}"}}],
            "filter": "issue.id = '${" + issue + "}'" if issue != "nope" else "issue.id = 'x'"})]
        assert answers[0] == answers[1], (issue, answers)
    count = [{"aggregation_type": "COUNT"}]
    for query in (
            dict(metric_name="assessment_count", aggregations=count,
                 dimensions=["assessment_name", "assessment_value"]),
            dict(metric_name="assessment_value", aggregations=[{"aggregation_type": "AVG"}],
                 dimensions=["assessment_name"]),
            dict(metric_name="assessment_count", aggregations=count,
                 filters=["assessment.type = 'issue'"]),
            dict(metric_name="assessment_count", aggregations=count,
                 filters=["assessment.name = '${n0}'"])):
        body = {"experiment_ids": ["${e}"], "view_type": "ASSESSMENTS",
                "start_time_ms": 0, "end_time_ms": 9_999_999_999_999, **query}
        answers = [(status, sorted(json.dumps(p, sort_keys=True) for p in payload.get("data_points", []))
                    if status == 200 else payload)
                   for status, payload in both(sides, "POST", "traces/metrics", body)]
        # (groups come ordered by their dimensions: here issue ids, drawn at random)
        assert answers[0] == answers[1], (query, answers)


def test_issue_assessment_update_get_delete_match_mlflow(sides: list[Side]) -> None:
    """An issue reference cannot be updated (MLflow's update reads a value it lacks), but its
    refusals come in MLflow's order; get and delete work, and the trace count follows."""
    _setup(sides, "amend")
    both(sides, "POST", "traces/${t}/assessments", {"assessment": {
        "assessment_name": "${i0}", "issue": {"issue_name": "slow"}, "rationale": "r",
        "metadata": {"k": "v"}}}, ("a", "assessment.assessment_id"))
    for mask in ("rationale", "assessmentName", "metadata", "issue", "feedback", "expectation",
                 "feedback,expectation", "assessment_name", "valid"):
        for body in ({"assessment": {"rationale": "x", "assessment_name": "y",
                                     "feedback": {"value": 1}, "expectation": {"value": 2},
                                     "issue": {"issue_name": "z"}}, "update_mask": mask},
                     {"assessment": {"rationale": "x"}, "update_mask": mask}):
            answers = both(sides, "PATCH", "traces/${t}/assessments/${a}", body)
            assert answers[0] == answers[1], (mask, body, answers)
    for step in (("GET", "traces/${t}/assessments/${a}"),
                 ("POST", "issues/search", {"experiment_id": "${e}", "include_trace_count": True}),
                 ("DELETE", "traces/${t}/assessments/${a}"),
                 ("GET", "traces/${t}/assessments/${a}"),
                 ("POST", "issues/search", {"experiment_id": "${e}", "include_trace_count": True})):
        answers = both(sides, *step)
        assert answers[0] == answers[1], (step, answers)


def _walk(side: Side, body: dict[str, Any]) -> list[Any]:
    pages, body = [], dict(body)
    for _ in range(12):
        status, payload = side.call("POST", "issues/search", body)
        pages.append((status, side.normalise(payload)))
        token = payload.get("next_page_token") if status == 200 else None
        if not token:
            break
        body["page_token"] = token
    return pages


def test_routes_and_bad_bodies_match_mlflow(sides: list[Side]) -> None:
    """Methods each path takes, malformed JSON, ``issues/search`` read as an issue id."""
    _setup(sides, "routes")
    raw_bodies = ("", "{", "null", "[]", "5", '"x"', '{"issue_id": "x"')
    for method, path in (("POST", "issues"), ("PATCH", "issues/${i0}"),
                         ("POST", "issues/search"), ("GET", "issues"), ("DELETE", "issues/${i0}"),
                         ("POST", "issues/${i0}"), ("GET", "issues/search"),
                         ("PUT", "issues/search"), ("GET", "issues/${i0}/x")):
        for raw in raw_bodies:
            seen = []
            for side in sides:
                response = side.session.request(
                    method, side.url + V3 + side.fill(path), data=raw.encode(),
                    headers={"Content-Type": "application/json"}, timeout=30)
                try:
                    payload = side.normalise(response.json())
                except ValueError:
                    payload = "<not json>"
                if response.status_code == 200:  # a search of the whole shared server
                    payload = sorted(payload)
                seen.append((response.status_code, payload))
            assert seen[0] == seen[1], (method, path, raw, seen)


# ---- the real client -------------------------------------------------------------------------

def _client_script(uri: str) -> dict[str, Any]:
    """Create, read, log against, update and search issues the way the client does."""
    mlflow = pytest.importorskip("mlflow")
    from mlflow.entities import IssueSeverity, IssueStatus
    from mlflow.tracing.client import TracingClient

    from tests.support.client_script import mlflow_pointed_at

    out: dict[str, Any] = {}

    def error(call: Callable[[], Any]) -> str:
        try:
            call()
        except Exception as exc:  # the client's own exception types are part of the answer
            return f"{type(exc).__name__}: {re.sub(r'iss-[0-9a-f]{32}', '<iss>', str(exc))}"
        return "no error"

    with mlflow_pointed_at(uri):
        experiment_id = mlflow.set_experiment(f"issues-client-{uuid.uuid4().hex[:8]}").experiment_id
        client = TracingClient()
        issue = client._create_issue(experiment_id, "hallucination", "made up facts",
                                     severity=IssueSeverity.HIGH, root_causes=["no context"],
                                     categories=["quality"], created_by="tester")
        fetched = client._get_issue(issue.issue_id)
        out["created"] = (fetched.name, fetched.status, fetched.severity, fetched.root_causes,
                          fetched.categories, fetched.created_by, fetched.trace_count)
        with mlflow.start_span("answer") as span:
            span.set_outputs("42")
        trace_id = span.trace_id
        logged = mlflow.log_issue(trace_id=trace_id, issue_id=issue.issue_id,
                                  rationale="invented a citation")
        out["logged"] = (type(logged).__name__, logged.issue_name, logged.rationale,
                         logged.source.source_type, logged.name == issue.issue_id)
        out["wrong name"] = error(lambda: mlflow.log_issue(
            trace_id=trace_id, issue_id=issue.issue_id, issue_name="other"))
        out["unknown issue"] = error(lambda: mlflow.log_issue(trace_id=trace_id, issue_id="iss-x"))
        trace = mlflow.get_trace(trace_id)
        out["on the trace"] = [(type(a).__name__, a.issue_name) for a in trace.info.assessments]
        store = client.store
        updated = store.update_issue(issue.issue_id, status=IssueStatus.RESOLVED, name="made up")
        out["updated"] = (updated.name, updated.status, updated.severity)
        found = store.search_issues(experiment_id=experiment_id, include_trace_count=True)
        out["search"] = [(i.name, i.trace_count, i.status) for i in found]
        out["filtered"] = [i.name for i in store.search_issues(
            experiment_id=experiment_id, filter_string="status = 'pending'")]
        out["traces"] = len(mlflow.search_traces(
            locations=[experiment_id], filter_string=f"issue.id = '{issue.issue_id}'",
            return_type="list"))
    return out


def test_log_issue_through_the_client_matches_mlflow(
        reference_server: Any, fakeflow_server: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("MLFLOW_TRACKING_URI", "MLFLOW_EXPERIMENT_ID", "MLFLOW_EXPERIMENT_NAME",
                 "MLFLOW_RUN_ID"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_DISABLE_TELEMETRY", "true")
    monkeypatch.setenv("MLFLOW_ENABLE_ASYNC_TRACE_LOGGING", "false")  # exported before we go on
    expected = _client_script(reference_server.url)
    assert expected["search"] == [("made up", 1, "resolved")]
    assert _client_script(fakeflow_server.url) == expected


def test_snapshot_keeps_issues_and_reset_clears_them() -> None:
    from fakeflow.state.snapshot import dump, load
    from fakeflow.state.tracking import TrackingStore

    store = TrackingStore()
    created = store.issues.create("0", "n", "d", severity="low", categories=["c"])
    snapshot = json.loads(json.dumps(dump(store)))
    other = TrackingStore()
    load(other, snapshot)
    assert other.issues.get(created.issue_id) == created
    other.reset()
    assert other.issues.in_experiment(None) == []


def test_plugin_reads_issue_references_from_either_server(sides: list[Side]) -> None:
    """The pytest plugin's trace model: an issue reference is kind ``issue`` with its issue
    name as value, listed by ``issues()``; feedback next to it still reads as before."""
    from pytest_plugin.traces import from_json

    _setup(sides, "plugin")
    both(sides, "POST", "traces/${t}/assessments", {"assessment": {
        "assessment_name": "${i0}", "issue": {"issue_name": "slow"}}})
    both(sides, "POST", "traces/${t}/assessments", {"assessment": {
        "assessment_name": "quality", "feedback": {"value": 0.5}}})
    seen = []
    for side in sides:
        status, payload = side.call("GET", "traces/${t}", None)
        assert status == 200, payload
        trace = from_json(payload["trace"])
        seen.append((side.symbol(json.dumps(trace.issues())), trace.feedback("quality"),
                     trace.assessment(side.ids["i0"]).kind))
    assert seen[0] == seen[1] == ('{"${i0}": "slow"}', 0.5, "issue")
