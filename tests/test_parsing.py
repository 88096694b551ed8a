"""Request parsing quirks, each observed on a live MLflow 3.17.2 server (2026-11-22)."""

from __future__ import annotations

import json

import pytest
from werkzeug.exceptions import InternalServerError
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from fakeflow.state.errors import MlflowError
from fakeflow.web import messages as m
from fakeflow.web.parsing import ARRAY, INTLIKE, REQUIRED, STRING, read_request


def post(body, content_type="application/json") -> Request:
    data = body if isinstance(body, (str, bytes)) else json.dumps(body)
    headers = {"Content-Type": content_type} if content_type else {}
    return Request(EnvironBuilder(method="POST", data=data, headers=headers).get_environ())


def get(query: dict) -> Request:
    return Request(EnvironBuilder(method="GET", query_string=query).get_environ())


CREATE_RUN_SCHEMA = [("experiment_id", [STRING]), ("start_time", [INTLIKE]), ("run_name", [STRING])]


def test_parse_stops_at_first_bad_field_and_keeps_what_came_before():
    # {"experiment_id":"0","start_time":1.5,"run_name":"x"}: MLflow created the run in
    # experiment 0 with start_time 0 and a random name (1.5 passes the int-like schema check).
    msg = read_request(post({"experiment_id": "0", "start_time": 1.5, "run_name": "x"}),
                       m.CREATE_RUN, CREATE_RUN_SCHEMA)
    assert msg == {"experiment_id": "0"}


def test_failed_parse_turns_on_type_checks_in_schema_order():
    with pytest.raises(MlflowError) as error:
        read_request(post({"tags": 5, "experiment_id": "0", "start_time": "abc"}),
                     m.CREATE_RUN, CREATE_RUN_SCHEMA)
    assert error.value.message == (
        "Invalid value \"abc\" for parameter 'start_time' supplied:  Hint: Value was of type "
        "'str'. See the API docs for more information about request parameters."
    )


def test_partially_parsed_repeated_message_keeps_the_element():
    # {"name":"zz","tags":[{"key":"a","value":1}]} created experiment zz with tag a="".
    msg = read_request(post({"name": "zz", "tags": [{"key": "a", "value": 1}]}),
                       m.CREATE_EXPERIMENT, [("name", [REQUIRED, STRING]), ("tags", [ARRAY])])
    assert msg == {"name": "zz", "tags": [{"key": "a"}]}


@pytest.mark.parametrize("status, expected", [("BOGUS", None), ("4", "FAILED"), (3, "FINISHED")])
def test_enum_names_numbers_and_unknown_names(status, expected):
    msg = read_request(post({"run_id": "r", "status": status}), m.UPDATE_RUN,
                       [("run_id", [REQUIRED, STRING]), ("status", [STRING])])
    assert msg.get("status") == expected


def test_unknown_enum_number_fails_the_type_check():
    with pytest.raises(MlflowError) as error:
        read_request(post({"run_id": "r", "status": 99}), m.UPDATE_RUN,
                     [("run_id", [REQUIRED, STRING]), ("status", [STRING])])
    assert "Invalid value 99 for parameter 'status'" in error.value.message


def test_bare_nan_literal_stops_the_parse():
    # MLflow logged value 0.0 at timestamp 0 for {"value": NaN, "timestamp": 1}.
    raw = '{"run_id": "r", "key": "m", "value": NaN, "timestamp": 1}'
    msg = read_request(post(raw), m.LOG_METRIC, [("run_id", [REQUIRED, STRING])])
    assert msg == {"run_id": "r", "key": "m"}


def test_quoted_special_doubles_parse():
    msg = read_request(post({"value": "-Infinity"}), m.LOG_METRIC)
    assert msg["value"] == float("-inf")


def test_camel_case_is_parsed_but_required_check_reads_snake_case_only():
    with pytest.raises(MlflowError) as error:
        read_request(post({"experimentId": "0"}), m.RESTORE_EXPERIMENT,
                     [("experiment_id", [REQUIRED, STRING])])
    assert error.value.message.startswith("Missing value for required parameter 'experiment_id'.")
    assert read_request(post({"experimentId": "0"}), m.CREATE_RUN) == {"experiment_id": "0"}


def test_both_spellings_are_rejected():
    with pytest.raises(MlflowError) as error:
        read_request(post({"experiment_id": "0", "experimentId": "0"}), m.CREATE_RUN)
    assert error.value.message == (
        "Request specifies both 'experiment_id' and 'experimentId'; provide only one of them."
    )


@pytest.mark.parametrize("body", ["{bad", ""])
def test_malformed_or_empty_json_is_an_empty_message(body):
    assert read_request(post(body), m.CREATE_RUN) == {}


def test_double_encoded_json_is_decoded():
    assert read_request(post(json.dumps(json.dumps({"name": "x"}))), m.CREATE_EXPERIMENT) == {"name": "x"}


def test_json_array_body_is_a_500():
    with pytest.raises(InternalServerError):
        read_request(post("[1]"), m.CREATE_EXPERIMENT, [("name", [REQUIRED, STRING])])


@pytest.mark.parametrize("content_type, message", [
    (None, "Bad Request. Content-Type header is missing."),
    ("application/x-www-form-urlencoded", "Bad Request. Content-Type must be one of ['application/json']."),
])
def test_post_content_type_is_enforced(content_type, message):
    with pytest.raises(MlflowError) as error:
        read_request(post({"name": "x"}, content_type), m.CREATE_EXPERIMENT)
    assert error.value.message == message


def test_query_string_repeated_fields_take_every_occurrence():
    request = Request(EnvironBuilder(method="GET", query_string="run_ids=a&run_ids=b&metric_key=k&metric_key=z").get_environ())
    msg = read_request(request, m.GET_METRIC_HISTORY_BULK_INTERVAL)
    assert msg == {"run_ids": ["a", "b"], "metric_key": "k"}
