"""Trace search cases worth naming, each with what real MLflow 3.17.2 (SQLite store) answered
for ``POST /api/3.0/mlflow/traces/search`` over the data set of
``tests/support/trace_search_data`` (traces 1..6 live, 7 deleted; rows shown by number)."""

from __future__ import annotations

from typing import Any

import pytest
from werkzeug.test import Client

import fakeflow
from tests.support import trace_search_data as data

SEARCH = "/api/3.0/mlflow/traces/search"


class Fake:
    def __init__(self) -> None:
        self.client = Client(fakeflow.create_app())
        self.ids: dict[str, str] = {}
        data.seed(self.send, self.ids.__setitem__)

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

    def send(self, method: str, path: str, body: Any, raw: Any = None, headers: Any = None
             ) -> tuple[int, Any]:
        if raw is not None:
            response = self.client.open(path, method=method, data=self.fill(raw),
                                        headers=self.fill(headers))
        else:
            response = self.client.open(path, method=method, json=self.fill(body))
        return response.status_code, response.get_json(force=True, silent=True)

    def search(self, filter_string: str | None = None, order_by: list[str] | None = None,
               experiments: tuple[str, ...] = ("e1", "e2")) -> Any:
        body: dict[str, Any] = {"locations": [
            {"type": "MLFLOW_EXPERIMENT", "mlflow_experiment": {"experiment_id": "${%s}" % e}}
            for e in experiments]}
        if filter_string is not None:
            body["filter"] = filter_string
        if order_by is not None:
            body["order_by"] = order_by
        status, payload = self.send("POST", SEARCH, body)
        if status != 200:
            return status, payload["error_code"], payload["message"]
        return [int(t["trace_id"][3:], 16) for t in payload.get("traces", [])]


@pytest.fixture(scope="module")
def fake() -> Fake:
    return Fake()


@pytest.mark.parametrize("filter_string, rows", [
    # span.attributes.<key> is a LIKE over the span's stored JSON, '%"<key>"<value>%': with
    # '=' that is a literal comparison with the pattern, which no span equals.
    ("span.attributes.model = 'gpt-x'", []),
    ("span.attributes.model LIKE '%gpt%'", [4, 1]),
    ("span.attributes.model LIKE ': \"\\\"gpt%'", [4, 1]),
    ("span.attributes.model ILIKE '%GPT%'", [4, 1]),
    ("span.attributes.model RLIKE '^gpt'", [4, 1]),
    ("span.attributes.model != 'x'", [5, 4, 2, 1]),
    # the span type column holds the attribute decoded once: '"LLM"' for an OTLP export
    ("span.type = 'LLM'", []),
    ("span.type = '\"LLM\"'", [1]),
    ("span.status = 'UNSET'", [4]),
    ("span.name IN ('llm','Root')", [4, 1]),
    # several span clauses must hold for the same span
    ("span.name = 'root' AND span.type = '\"LLM\"'", []),
    ("span.name = 'llm' AND span.type = '\"LLM\"'", [1]),
    # a timestamp lower bound also bounds the spans searched (with 10 s of tolerance)
    ("timestamp >= 1700000000020 AND span.name = 'root'", [5, 2]),
    ("trace.text ILIKE '%a%'", [5, 4, 2, 1]),
    ("trace.text LIKE '%Ärger%'", [2]),
    # assessment values are compared as their JSON text; numbers travelled as doubles
    ("feedback.q = 'yes'", [1]),
    ("feedback.q = 'true'", [2]),
    ("feedback.score = '3'", []),
    ("feedback.score = '3.0'", [2]),
    ("feedback.q != 'yes'", [5, 4, 2]),
    ("feedback.q LIKE '%y%'", [1]),
    ("feedback.q RLIKE 'y'", [1]),
    # numeric comparisons use only finite numbers; an overridden (invalid) value is ignored
    ("feedback.score > 0.5", [5, 4, 2, 1]),
    ("feedback.score >= 3", [5, 2]),
    ("feedback.score < 1", [4, 1]),
    ("feedback.q IS NULL", [6, 3]),
    ("feedback.q IS NOT NULL", [5, 4, 2, 1]),
    ("expectation.exp = 'Paris'", [1]),
    # 'text', 'name', 'run_id' and 'prompt' are remapped whatever their prefix
    ("tag.name = 'alpha'", [4, 1]),
    ("feedback.text LIKE '%root%'", [5, 2, 1]),
    ("name IS NULL", [6, 5, 3]),
    # run_id = X: the source run or a run link; other comparators read the metadata only;
    # of two run_id = clauses the last one wins
    ("run_id = '${r1}'", [4, 3, 1]),
    ("run_id LIKE '%'", [4, 2, 1]),
    ("run_id = '${r1}' AND run_id = '${r2}'", [4, 2]),
    ("metadata.k ILIKE 'v'", [2, 1]),
    ("tag.a IS NULL", [6, 5, 4, 2, 3, 1]),
    ("tag.a.b = 'c'", [2]),
    # end_time has no column affinity: any number is smaller than any text
    ("end_time > 1", [6, 5, 4, 2, 3, 1]),
    ("end_time > '5'", []),
    ("end_time < '5'", [6, 5, 4, 2, 3, 1]),
    # timestamp_ms is an INTEGER column: numeric text is read as a number
    ("timestamp_ms > '1700000000020'", [6, 5, 4]),
    ("timestamp_ms < 'a'", [6, 5, 4, 2, 3, 1]),
    ("timestamp_ms >= '1700000000020.0'", [6, 5, 4, 2, 3]),
    ("end_time != 'x'", [6, 5, 4, 2, 3, 1]),
    ("execution_time != 'a'", [6, 5, 4, 2, 1]),  # a NULL never compares
    ("execution_time = '1'", []),
    ("issue.id = 'x'", []),
    ("prompt = 'a/1'", []),
    ("status = 'OK' AND", [6, 5, 4, 1]),
])
def test_rows(fake: Fake, filter_string: str, rows: list[int]) -> None:
    assert fake.search(filter_string) == rows


SETS = {
    "identifiers": "{'attribute', 'attributes', 'expectation', 'feedback', 'issue', 'metadata', "
                   "'request_metadata', 'span', 'tag', 'tags', 'trace'}",
    "keys": "{'client_request_id', 'end_time', 'end_time_ms', 'execution_time', "
            "'execution_time_ms', 'name', 'prompt', 'request_id', 'run_id', 'status', 'text', "
            "'timestamp', 'timestamp_ms'}",
    "span_ops": "{'!=', '=', 'ILIKE', 'IN', 'LIKE', 'NOT IN', 'RLIKE'}",
}


@pytest.mark.parametrize("filter_string, status, code, message", [
    ("tag.a = 'a'ANDtag.b='b'", 400, "INVALID_PARAMETER_VALUE",
     f"Invalid entity type 'ANDtag'. Valid values are {SETS['identifiers']}"),
    ("assessment.q = 'y'", 400, "INVALID_PARAMETER_VALUE",
     f"Invalid entity type 'assessment'. Valid values are {SETS['identifiers']}"),
    ("status = 'OK' > 2", 400, "INVALID_PARAMETER_VALUE",
     "Invalid comparison clause. Expected 'Identifier' found 'status = 'OK''"),
    ("status = 'OK' OR status='ERROR'", 400, "INVALID_PARAMETER_VALUE",
     "Invalid clause(s) in filter string: 'OR'"),
    ("state = 'OK'", 400, "INVALID_PARAMETER_VALUE",
     f"Invalid attribute key 'state' specified. Valid keys are '{SETS['keys']}'"),
    # 'text' and 'timestamp' are SQL builtins to the lexer; a 'timestamp' clause that is not
    # '<op> <integer>' is listed twice
    ("text LIKE '%Ärger%'", 400, "INVALID_PARAMETER_VALUE",
     "Invalid clause(s) in filter string: 'text', 'LIKE', ''%Ärger%''"),
    ("timestamp = 'x'", 400, "INVALID_PARAMETER_VALUE",
     "Invalid clause(s) in filter string: 'timestamp', '=', ''x'', 'timestamp'"),
    ("TIMESTAMP > 5", 400, "INVALID_PARAMETER_VALUE",
     "Invalid clause(s) in filter string: 'TIMESTAMP', '>', '5'"),
    ("issue.x = 'a'", 400, "INVALID_PARAMETER_VALUE",
     "Invalid issue attribute 'x'. Supported attributes: id"),
    ("issue.id != 'x'", 400, "INVALID_PARAMETER_VALUE",
     "issue.id comparator '!=' not one of '{'='}'"),
    ("tag.a IN ('b')", 400, "INVALID_PARAMETER_VALUE",  # MLflow's message lacks the last quote
     "Invalid comparator 'IN' not one of "
     "'{'!=', '=', 'ILIKE', 'IS NOT NULL', 'IS NULL', 'LIKE', 'RLIKE'}"),
    ("span.name like 'r%'", 400, "INVALID_PARAMETER_VALUE",
     f"span.name comparator 'like' not one of '{SETS['span_ops']}'"),
    ("span.name IS NULL", 400, "INVALID_PARAMETER_VALUE",
     f"span.name comparator 'IS NULL' not one of '{SETS['span_ops']}'"),
    ("span.attributes. = 'x'", 400, "INVALID_PARAMETER_VALUE",
     "Span attribute name cannot be empty after 'attributes.'"),
    ("span.foo = 'x'", 400, "INVALID_PARAMETER_VALUE",
     "Invalid span attribute 'foo'. Supported attributes: name, status, type, "
     "attributes.<attribute_name>."),
    ("feedback.`` = 'x'", 400, "INVALID_PARAMETER_VALUE", "Assessment field name cannot be empty"),
    ("feedback.q = 1", 400, "INVALID_PARAMETER_VALUE",
     "Expected a quoted string value for feedback (e.g. 'my-value'). Got value 1"),
    ("feedback.score > '1'", 400, "INVALID_PARAMETER_VALUE",
     "Expected a numeric value for feedback when using comparator '>'. Got value '1'"),
    ("prompt = 'x'", 400, "INVALID_PARAMETER_VALUE",
     "Invalid prompts filter value 'x'. Expected format: prompt = \"name/version\""),
    ("tag.prompt = ('a')", 400, "INVALID_PARAMETER_VALUE",
     "Invalid prompts filter value '('a',)'. Expected format: prompt = \"name/version\""),
    ("span.attributes.model IN ('a')", 400, "BAD_REQUEST",
     "IN expression list, SELECT construct, or bound parameter object expected, got "
     "'%\"model\"(\\'a\\',)%'."),
    # a list compared with '=' reaches SQLite, which cannot bind it (MLflow's message goes on
    # with the SQL statement, which fakeflow does not reproduce)
    ("status = ('OK')", 400, "BAD_REQUEST",
     "(sqlite3.ProgrammingError) Error binding parameter: type 'tuple' is not supported"),
    # MLflow keeps the largest timestamp bound with Python's max() and subtracts from it
    ("timestamp_ms > '5' AND span.name = 'root'", 500, "INTERNAL_ERROR",
     "unsupported operand type(s) for -: 'str' and 'int'"),
    ("timestamp_ms > '5' AND timestamp_ms > 3", 500, "INTERNAL_ERROR",
     "'>' not supported between instances of 'int' and 'str'"),
])
def test_errors(fake: Fake, filter_string: str, status: int, code: str, message: str) -> None:
    assert fake.search(filter_string) == (status, code, message)


@pytest.mark.parametrize("order_by, rows", [
    (["name DESC"], [2, 4, 1, 6, 5, 3]),  # NULLs last either way
    (["tag.team DESC"], [2, 6, 5, 1, 3, 4]),
    (["tag.team"], [3, 6, 5, 1, 2, 4]),
    (["metadata.k"], [2, 1, 6, 5, 4, 3]),
    (["execution_time_ms"], [4, 6, 2, 5, 1, 3]),
    (["execution_time_ms DESC"], [1, 5, 2, 6, 4, 3]),
    (["experiment_id DESC"], [6, 5, 4, 2, 3, 1]),
    (["status"], [2, 3, 6, 5, 4, 1]),
    (["timestamp ASC"], [1, 2, 3, 4, 5, 6]),
])
def test_order(fake: Fake, order_by: list[str], rows: list[int]) -> None:
    assert fake.search(order_by=order_by) == rows


@pytest.mark.parametrize("order_by, answer", [
    (["end_time_ms"], (500, "INTERNAL_ERROR",
                       "type object 'SqlTraceInfo' has no attribute 'end_time_ms'")),
    (["status", "status"], (500, "INTERNAL_ERROR",
                            "`order_by` contains duplicate fields: ['status', 'status']")),
    (["span.name"], (400, "INVALID_PARAMETER_VALUE", "Invalid identifier type 'span'")),
    (["metadata.mlflow.trace.tokenUsage"], (
        400, "INVALID_PARAMETER_VALUE", "Ordering by reserved metadata 'mlflow.trace.tokenUsage' "
        "is not supported because it is represented by multiple columns.")),
])
def test_order_errors(fake: Fake, order_by: list[str], answer: Any) -> None:
    assert fake.search(order_by=order_by) == answer


def test_an_assessment_made_for_a_session_covers_the_sessions_traces(fake: Fake) -> None:
    # trace 8's feedback names session s1 in its metadata: trace 9 (same session) matches too
    assert fake.search("feedback.sess = 'good'", experiments=("e3",)) == [10, 9, 8]
    assert fake.search("feedback.sess IS NULL", experiments=("e3",)) == [11]
    assert fake.search("metadata.mlflow.trace.session = 's1'", experiments=("e3",)) == [9, 8]


def test_token_usage_metadata_compares_as_its_columns(fake: Fake) -> None:
    # only MLflow's own JSON spelling of the usage is equal to it
    usage = "metadata.mlflow.trace.tokenUsage"
    assert fake.search(f"{usage} = '{data.TOKENS}'", experiments=("e3",)) == [11]
    assert fake.search(f"{usage} = '{data.TOKENS.replace(' ', '')}'", experiments=("e3",)) == []
    assert fake.search(f"{usage} != 'x'", experiments=("e3",)) == [11]
    assert fake.search(f"{usage} IS NULL", experiments=("e3",)) == [10, 9, 8]
    assert fake.search(f"{usage} LIKE 'x'", experiments=("e3",)) == (
        400, "INVALID_PARAMETER_VALUE", "Comparator 'LIKE' is not supported for reserved "
        "metadata 'mlflow.trace.tokenUsage'. Only '=', '!=', 'IS NULL', and 'IS NOT NULL' are "
        "supported.")
