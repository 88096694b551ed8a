"""search_experiments against answers recorded from a real MLflow 3.17.2 server.

The OBSERVED_* tables were produced by creating these experiments (names prefixed with PREFIX)
on a real MLflow 3.17.2 server and sending POST /api/2.0/mlflow/experiments/search with
``filter = "name LIKE '<PREFIX>-%' AND <filter>"`` (to ignore the server's other experiments)
and max_results 1000 unless given; status, error_code, message and the order of the returned
experiments were recorded. Labels are the names without the prefix.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from fakeflow.search.experiments import search_experiments
from fakeflow.state.entities import Experiment
from fakeflow.state.errors import MlflowError

STATUS = {"INVALID_PARAMETER_VALUE": 400, "INTERNAL_ERROR": 500}

PREFIX = 'ffxa710a8'
OBSERVED_EXPERIMENTS = [
    {'label': 'Alpha', 'experiment_id': '688', 'name': 'ffxa710a8-Alpha', 'lifecycle_stage': 'active', 'creation_time': 1795375580000, 'last_update_time': 1795375580000, 'tags': {'t': 'Yes', 'k': '1'}},
    {'label': 'alpha', 'experiment_id': '689', 'name': 'ffxa710a8-alpha', 'lifecycle_stage': 'active', 'creation_time': 1795375580009, 'last_update_time': 1795375580009, 'tags': {'t': 'yes'}},
    {'label': 'beta_1', 'experiment_id': '690', 'name': 'ffxa710a8-beta_1', 'lifecycle_stage': 'active', 'creation_time': 1795375580019, 'last_update_time': 1795375580019, 'tags': {}},
    {'label': 'b%ta', 'experiment_id': '691', 'name': 'ffxa710a8-b%ta', 'lifecycle_stage': 'deleted', 'creation_time': 1795375580026, 'last_update_time': 1795375580062, 'tags': {'t': 'a\\b'}},
    {'label': 'Ärger', 'experiment_id': '692', 'name': 'ffxa710a8-Ärger', 'lifecycle_stage': 'active', 'creation_time': 1795375580034, 'last_update_time': 1795375580034, 'tags': {'t': 'ÄRGER'}},
    {'label': 'gamma', 'experiment_id': '693', 'name': 'ffxa710a8-gamma', 'lifecycle_stage': 'active', 'creation_time': 1795375580044, 'last_update_time': 1795375580044, 'tags': {'t': 'x_y%z', 'k': ''}},
    {'label': 'delta', 'experiment_id': '694', 'name': 'ffxa710a8-delta', 'lifecycle_stage': 'deleted', 'creation_time': 1795375580053, 'last_update_time': 1795375580071, 'tags': {}},
]
OBSERVED_SEARCHES = [
    ({'filter': "name = 'ffxa710a8-alpha'"}, ('ok', ['alpha'], None)),
    ({'filter': "name != 'ffxa710a8-alpha'"}, ('ok', ['gamma', 'Ärger', 'beta_1', 'Alpha'], None)),
    ({'filter': "name LIKE 'ffxa710a8-a%'"}, ('ok', ['alpha'], None)),
    ({'filter': "name ILIKE 'ffxa710a8-a%'"}, ('ok', ['alpha', 'Alpha'], None)),
    ({'filter': "name like 'ffxa710a8-a%'"}, ('err', 400, 'INVALID_PARAMETER_VALUE', "Invalid comparator 'like' not one of '{'!=', '=', 'ILIKE', 'IN', 'LIKE', 'NOT IN'}'")),
    ({'filter': "name ILIKE '%ärger'"}, ('ok', [], None)),
    ({'filter': "name LIKE '%b\\%ta'"}, ('ok', [], None)),
    ({'filter': "name LIKE '%b_ta'"}, ('ok', [], None)),
    ({'filter': "name IN ('ffxa710a8-alpha')"}, ('err', 400, 'INVALID_PARAMETER_VALUE', "Only ['experiment_id'] attributes support comparison with a list of quoted string values.")),
    ({'filter': "name > 'a'"}, ('err', 400, 'INVALID_PARAMETER_VALUE', "Invalid comparator '>' not one of '{'!=', '=', 'ILIKE', 'IN', 'LIKE', 'NOT IN'}'")),
    ({'filter': 'name IS NULL'}, ('err', 400, 'INVALID_PARAMETER_VALUE', "IS NULL / IS NOT NULL is only supported for tags, not for attribute 'name'")),
    ({'filter': "attribute.name = 'ffxa710a8-gamma'"}, ('ok', ['gamma'], None)),
    ({'filter': "attributes.name = 'x'"}, ('err', 400, 'INVALID_PARAMETER_VALUE', "Invalid entity type 'attributes'. Valid entity types are ('attribute', 'tag', 'tags')")),
    ({'filter': "`name` = 'ffxa710a8-gamma'"}, ('ok', ['gamma'], None)),
    ({'filter': '"name" = \'ffxa710a8-gamma\''}, ('ok', ['gamma'], None)),
    ({'filter': "experiment_id = '688'"}, ('ok', ['Alpha'], None)),
    ({'filter': "experiment_id != '688'"}, ('ok', ['gamma', 'Ärger', 'beta_1', 'alpha'], None)),
    ({'filter': "experiment_id IN ('688', '694')"}, ('ok', ['Alpha'], None)),
    ({'filter': "experiment_id NOT IN ('688')"}, ('ok', ['gamma', 'Ärger', 'beta_1', 'alpha'], None)),
    ({'filter': 'experiment_id = 688'}, ('err', 400, 'INVALID_PARAMETER_VALUE', 'Expected a quoted string value for attributes. Got value 688')),
    ({'filter': "experiment_id = 'abc'"}, ('err', 400, 'INVALID_PARAMETER_VALUE', "Invalid experiment ID 'abc'. Experiment ID must be a valid integer.")),
    ({'filter': "experiment_id IN ('1', 'x')"}, ('err', 400, 'INVALID_PARAMETER_VALUE', "Invalid experiment ID 'x'. Experiment ID must be a valid integer.")),
    ({'filter': "experiment_id in ('688')"}, ('err', 400, 'INVALID_PARAMETER_VALUE', 'Invalid comparator for experiment_id: in')),
    ({'filter': "experiment_id LIKE '688'"}, ('err', 400, 'INVALID_PARAMETER_VALUE', 'Invalid comparator for experiment_id: LIKE')),
    ({'filter': "experiment_id > '688'"}, ('err', 400, 'INVALID_PARAMETER_VALUE', 'Invalid comparator for experiment_id: >')),
    ({'filter': 'experiment_id IN (1, 2)'}, ('err', 400, 'INVALID_PARAMETER_VALUE', 'While parsing a list in the query, expected string value, punctuation, or whitespace, but got different type in list: (1, 2)')),
    ({'filter': 'creation_time >= 1795375580000'}, ('ok', ['gamma', 'Ärger', 'beta_1', 'alpha', 'Alpha'], None)),
    ({'filter': 'creation_time > 0'}, ('ok', ['gamma', 'Ärger', 'beta_1', 'alpha', 'Alpha'], None)),
    ({'filter': 'creation_time < 0'}, ('ok', [], None)),
    ({'filter': 'creation_time = 1.5'}, ('err', 400, 'INVALID_PARAMETER_VALUE', "Invalid value for numeric attribute 'creation_time': '1.5'")),
    ({'filter': "creation_time > '1'"}, ('err', 400, 'INVALID_PARAMETER_VALUE', "Expected numeric value type for numeric attribute: creation_time. Found '1'")),
    ({'filter': 'creation_time LIKE 1'}, ('err', 400, 'INVALID_PARAMETER_VALUE', "Invalid comparator 'LIKE' not one of '{'!=', '=', 'ILIKE', 'IN', 'LIKE', 'NOT IN'}")),
    ({'filter': 'last_update_time != 0'}, ('ok', ['gamma', 'Ärger', 'beta_1', 'alpha', 'Alpha'], None)),
    ({'filter': "creation_time IN ('1')"}, ('err', 400, 'INVALID_PARAMETER_VALUE', "Expected numeric value type for numeric attribute: creation_time. Found ('1')")),
    ({'filter': "tags.t = 'yes'"}, ('ok', ['alpha'], None)),
    ({'filter': "tags.t != 'yes'"}, ('ok', ['gamma', 'Ärger', 'Alpha'], None)),
    ({'filter': "tags.t LIKE 'Y%'"}, ('ok', ['Alpha'], None)),
    ({'filter': "tags.t ILIKE 'y%'"}, ('ok', ['alpha', 'Alpha'], None)),
    ({'filter': "tag.t ILIKE 'ärger'"}, ('ok', [], None)),
    ({'filter': "tags.t ilike 'y%'"}, ('err', 400, 'INVALID_PARAMETER_VALUE', 'Invalid comparator for tag: ilike')),
    ({'filter': 'tags.t IS NULL'}, ('ok', ['beta_1'], None)),
    ({'filter': 'tags.t IS NOT NULL'}, ('ok', ['gamma', 'Ärger', 'alpha', 'Alpha'], None)),
    ({'filter': "tags.k = ''"}, ('ok', ['gamma'], None)),
    ({'filter': 'tags.k IS NULL'}, ('ok', ['Ärger', 'beta_1', 'alpha'], None)),
    ({'filter': "tags.t NOT LIKE 'x'"}, ('err', 400, 'INVALID_PARAMETER_VALUE', 'Invalid comparator for tag: NOT LIKE')),
    ({'filter': "tags.t > 'a'"}, ('err', 400, 'INVALID_PARAMETER_VALUE', 'Invalid comparator for tag: >')),
    ({'filter': "tags.t IN ('a')"}, ('err', 400, 'INVALID_PARAMETER_VALUE', "Expected a quoted string value for tag (e.g. 'my-value'). Got value ('a')")),
    ({'filter': "tags.`t` = 'yes'"}, ('ok', ['alpha'], None)),
    ({'filter': "tags.t LIKE 'x\\_y%'"}, ('ok', [], None)),
    ({'filter': "params.p = 'x'"}, ('err', 400, 'INVALID_PARAMETER_VALUE', "Invalid entity type 'params'. Valid entity types are ('attribute', 'tag', 'tags')")),
    ({'filter': "name = 'a' OR name = 'b'"}, ('err', 400, 'INVALID_PARAMETER_VALUE', 'Invalid clause(s) in filter string: OR')),
    ({'filter': "(name = 'a')"}, ('err', 400, 'INVALID_PARAMETER_VALUE', "Invalid clause(s) in filter string: (name = 'a')")),
    ({'filter': "NOT name = 'a'"}, ('err', 400, 'INVALID_PARAMETER_VALUE', 'Invalid clause(s) in filter string: NOT')),
    ({'filter': "foo = 'x'"}, ('err', 400, 'INVALID_PARAMETER_VALUE', "Invalid attribute key 'foo' specified. Valid keys are '{'creation_time', 'experiment_id', 'last_update_time', 'name'}'")),
    ({'filter': 'name = x'}, ('err', 400, 'INVALID_PARAMETER_VALUE', 'Parameter value is either not quoted or unidentified quote types used for string value x. Use either single or double quotes.')),
    ({'filter': 'tags.t = 1'}, ('err', 400, 'INVALID_PARAMETER_VALUE', "Expected a quoted string value for tag (e.g. 'my-value'). Got value 1")),
    ({'filter': "`tags`.t = 'yes'"}, ('err', 400, 'INVALID_PARAMETER_VALUE', "Invalid entity type '`tags`'. Valid entity types are ('attribute', 'tag', 'tags')")),
    ({'filter': "name = 'a'; name = 'b'"}, ('err', 400, 'INVALID_PARAMETER_VALUE', 'Search filter contained multiple expression "name LIKE \'ffxa710a8-%\' AND name = \'a\'; name = \'b\'". Provide AND-ed expression list.')),
    ({}, ('ok', ['gamma', 'Ärger', 'beta_1', 'alpha', 'Alpha'], None)),
    ({'order_by': []}, ('ok', ['gamma', 'Ärger', 'beta_1', 'alpha', 'Alpha'], None)),
    ({'order_by': ['name']}, ('ok', ['Alpha', 'alpha', 'beta_1', 'gamma', 'Ärger'], None)),
    ({'order_by': ['name DESC']}, ('ok', ['Ärger', 'gamma', 'beta_1', 'alpha', 'Alpha'], None)),
    ({'order_by': ['experiment_id']}, ('ok', ['Alpha', 'alpha', 'beta_1', 'Ärger', 'gamma'], None)),
    ({'order_by': ['experiment_id DESC']}, ('ok', ['gamma', 'Ärger', 'beta_1', 'alpha', 'Alpha'], None)),
    ({'order_by': ['creation_time']}, ('ok', ['Alpha', 'alpha', 'beta_1', 'Ärger', 'gamma'], None)),
    ({'order_by': ['last_update_time DESC']}, ('ok', ['gamma', 'Ärger', 'beta_1', 'alpha', 'Alpha'], None)),
    ({'order_by': ['name', 'name DESC']}, ('ok', ['Alpha', 'alpha', 'beta_1', 'gamma', 'Ärger'], None)),
    ({'order_by': ['tags.t']}, ('err', 400, 'INVALID_PARAMETER_VALUE', 'Invalid order_by entity: tag')),
    ({'order_by': ['metrics.x']}, ('err', 400, 'INVALID_PARAMETER_VALUE', "Invalid entity type 'metrics'. Valid entity types are ('attribute', 'tag', 'tags')")),
    ({'order_by': ['bogus']}, ('err', 400, 'INVALID_PARAMETER_VALUE', "Invalid attribute key 'bogus' specified. Valid keys are '{'creation_time', 'experiment_id', 'last_update_time', 'name'}'")),
    ({'order_by': ['name DOWN']}, ('err', 400, 'INVALID_PARAMETER_VALUE', "Invalid ordering key in order_by clause 'name DOWN'.")),
    ({'order_by': ['attribute.name DESC']}, ('ok', ['Ärger', 'gamma', 'beta_1', 'alpha', 'Alpha'], None)),
    ({'order_by': ['']}, ('err', 400, 'INVALID_PARAMETER_VALUE', "Invalid order_by clause ''. Could not be parsed.")),
    ({'order_by': ['creation_time DESC', 'experiment_id ASC']}, ('ok', ['gamma', 'Ärger', 'beta_1', 'alpha', 'Alpha'], None)),
    ({'view_type': 'ACTIVE_ONLY'}, ('ok', ['gamma', 'Ärger', 'beta_1', 'alpha', 'Alpha'], None)),
    ({'view_type': 'DELETED_ONLY'}, ('ok', ['delta', 'b%ta'], None)),
    ({'view_type': 'ALL'}, ('ok', ['delta', 'gamma', 'Ärger', 'b%ta', 'beta_1', 'alpha', 'Alpha'], None)),
    ({'view_type': 'ALL', 'order_by': ['name']}, ('ok', ['Alpha', 'alpha', 'b%ta', 'beta_1', 'delta', 'gamma', 'Ärger'], None)),
    ({'max_results': 1}, ('ok', ['gamma'], 'eyJvZmZzZXQiOiAxfQ==')),
    ({'max_results': 4}, ('ok', ['gamma', 'Ärger', 'beta_1', 'alpha'], 'eyJvZmZzZXQiOiA0fQ==')),
    ({'max_results': 5}, ('ok', ['gamma', 'Ärger', 'beta_1', 'alpha', 'Alpha'], None)),
    ({'max_results': 6}, ('ok', ['gamma', 'Ärger', 'beta_1', 'alpha', 'Alpha'], None)),
    ({'max_results': 0}, ('err', 400, 'INVALID_PARAMETER_VALUE', "Invalid value 0 for parameter 'max_results' supplied. It must be a positive integer")),
    ({'max_results': -1}, ('err', 400, 'INVALID_PARAMETER_VALUE', "Invalid value -1 for parameter 'max_results' supplied. It must be a positive integer")),
    ({'max_results': 50000}, ('ok', ['gamma', 'Ärger', 'beta_1', 'alpha', 'Alpha'], None)),
    ({'max_results': 50001}, ('err', 400, 'INVALID_PARAMETER_VALUE', "Invalid value 50001 for parameter 'max_results' supplied. It must be at most 50000")),
    ({'omit_max': True}, ('err', 400, 'INVALID_PARAMETER_VALUE', "Invalid value 0 for parameter 'max_results' supplied. It must be a positive integer")),
    ({'max_results': 2, 'page_token': 'eyJvZmZzZXQiOiAyfQ=='}, ('ok', ['beta_1', 'alpha'], 'eyJvZmZzZXQiOiA0fQ==')),
    ({'max_results': 2, 'page_token': 'eyJvZmZzZXQiOiA0fQ=='}, ('ok', ['Alpha'], None)),
    ({'max_results': 2, 'page_token': 'eyJvZmZzZXQiOiA1fQ=='}, ('ok', [], None)),
    ({'max_results': 2, 'page_token': 'eyJvZmZzZXQiOiAxMDB9'}, ('ok', [], None)),
    ({'page_token': 'abc'}, ('err', 400, 'INVALID_PARAMETER_VALUE', 'Invalid page token, could not base64-decode')),
    ({'page_token': 'eyJvZmZzZXQiOiAwfQ=='}, ('err', 400, 'INVALID_PARAMETER_VALUE', "Invalid page token, parsed value={'offset': 0}")),
    ({'page_token': 'WzFd'}, ('err', 500, 'INTERNAL_ERROR', "'list' object has no attribute 'get'")),
    ({'filter': "name like 'x'", 'order_by': ['bogus']}, ('err', 400, 'INVALID_PARAMETER_VALUE', "Invalid comparator 'like' not one of '{'!=', '=', 'ILIKE', 'IN', 'LIKE', 'NOT IN'}'")),
    ({'order_by': ['bogus'], 'page_token': 'abc'}, ('err', 400, 'INVALID_PARAMETER_VALUE', "Invalid attribute key 'bogus' specified. Valid keys are '{'creation_time', 'experiment_id', 'last_update_time', 'name'}'")),
    ({'filter': "tags.t > 'a'", 'page_token': 'abc'}, ('err', 400, 'INVALID_PARAMETER_VALUE', 'Invalid comparator for tag: >')),
    ({'order_by': ['tags.t', 'bogus']}, ('err', 400, 'INVALID_PARAMETER_VALUE', 'Invalid order_by entity: tag')),
]

EXPERIMENTS = [
    Experiment(
        experiment_id=e["experiment_id"],
        name=e["name"],
        artifact_location=f"mlflow-artifacts:/{e['experiment_id']}",
        lifecycle_stage=e["lifecycle_stage"],
        creation_time=e["creation_time"],
        last_update_time=e["last_update_time"],
        tags=dict(e["tags"]),
    )
    for e in OBSERVED_EXPERIMENTS
]
LABELS = {e["experiment_id"]: e["label"] for e in OBSERVED_EXPERIMENTS}


def sorted_sets(message: str) -> str:
    return re.sub(
        r"\{('[^{}]*')\}", lambda m: "{" + ", ".join(sorted(m.group(1).split(", "))) + "}", message
    )


def answer(fields: dict[str, Any]) -> tuple:
    scoped = f"name LIKE '{PREFIX}-%'" + (f" AND {fields['filter']}" if fields.get("filter") else "")
    max_results = None if fields.get("omit_max") else fields.get("max_results", 1000)
    try:
        page, token = search_experiments(
            EXPERIMENTS, scoped, fields.get("order_by"), max_results, fields.get("page_token"),
            fields.get("view_type"),
        )
    except MlflowError as exc:
        return ("err", STATUS[exc.error_code], exc.error_code, sorted_sets(exc.message))
    return ("ok", [LABELS[e.experiment_id] for e in page], token)


@pytest.mark.parametrize(
    "fields, expected", OBSERVED_SEARCHES, ids=[json.dumps(q, ensure_ascii=False) for q, _ in OBSERVED_SEARCHES]
)
def test_same_answer_as_real_server(fields: dict[str, Any], expected: tuple) -> None:
    assert answer(fields) == expected


# ---- Focused checks ---------------------------------------------------------------------------


def _exp(experiment_id: str, name: str, created: int, updated: int | None = None) -> Experiment:
    return Experiment(experiment_id, name, "", "active", created, updated or created, {})


def ids(experiments: list[Experiment], order_by: list[str] | None) -> list[str]:
    page, _ = search_experiments(experiments, None, order_by, 1000, None, None)
    return [e.experiment_id for e in page]


def test_or_is_rejected_without_quotes() -> None:
    # Observed on MLflow 3.17.2: experiments list the bad token unquoted (runs quote it).
    with pytest.raises(MlflowError) as info:
        search_experiments(EXPERIMENTS, "name = 'a' OR name = 'b'", None, 10, None, None)
    assert info.value.message == "Invalid clause(s) in filter string: OR"


def test_lower_case_like_is_rejected() -> None:
    # Observed on MLflow 3.17.2: experiment comparators are not upper-cased before checking.
    with pytest.raises(MlflowError) as info:
        search_experiments(EXPERIMENTS, "name like 'x%'", None, 10, None, None)
    assert info.value.message == (
        "Invalid comparator 'like' not one of '{'!=', '=', 'ILIKE', 'IN', 'LIKE', 'NOT IN'}'"
    )


def test_omitted_max_results_is_rejected() -> None:
    # Observed on MLflow 3.17.2: an omitted max_results reaches the store as 0.
    with pytest.raises(MlflowError) as info:
        search_experiments(EXPERIMENTS, None, None, None, None, None)
    assert "Invalid value 0 for parameter 'max_results'" in info.value.message


def test_tie_breakers() -> None:
    # The SQL store can't create two experiments in the same millisecond, so ties were not
    # observable live; this follows MLflow's query: default creation_time DESC, experiment_id
    # ASC, and a given order_by without experiment_id gets experiment_id DESC appended.
    experiments = [_exp("3", "c", 5), _exp("1", "a", 5), _exp("2", "b", 5), _exp("10", "d", 7)]
    assert ids(experiments, None) == ["10", "1", "2", "3"]
    assert ids(experiments, ["creation_time"]) == ["3", "2", "1", "10"]
    assert ids(experiments, ["creation_time", "experiment_id"]) == ["1", "2", "3", "10"]


def test_experiment_id_compares_as_integer() -> None:
    experiments = [_exp("9", "a", 1), _exp("10", "b", 2)]
    assert ids(experiments, ["experiment_id"]) == ["9", "10"]
    page, _ = search_experiments(experiments, "experiment_id = '010'", None, 10, None, None)
    assert [e.experiment_id for e in page] == ["10"]


def test_duplicate_order_by_keys_are_tolerated() -> None:
    experiments = [_exp("1", "b", 1), _exp("2", "a", 2)]
    assert ids(experiments, ["name", "name DESC"]) == ["2", "1"]


def test_paging_exact_exhaustion_has_no_token() -> None:
    experiments = [_exp(str(i), f"e{i}", i) for i in range(1, 5)]
    page, token = search_experiments(experiments, None, None, 2, None, None)
    assert [e.experiment_id for e in page] == ["4", "3"] and token is not None
    page, token = search_experiments(experiments, None, None, 2, token, None)
    assert [e.experiment_id for e in page] == ["2", "1"] and token is None
