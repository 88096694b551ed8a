"""Version numbers beyond SQLite's 64-bit INTEGER, as MLflow 3.17.2 answers them.

MLflow looks a version up with an SQL query, and SQLite cannot bind a number outside
[-2**63, 2**63): every route that looks a version up fails with a 500 ("Python int too large
to convert to SQLite INTEGER") where a number inside the range is simply not found (404).
Validation that runs before the lookup (reserved alias, stage) still answers first.
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from werkzeug.test import Client

import fakeflow

API = "/api/2.0/mlflow"
EDGE = st.one_of(st.integers(-(2**63) - 3, -(2**63) + 3), st.integers(2**63 - 3, 2**63 + 3),
                 st.integers(10**19, 10**40), st.integers(-(10**40), -(10**19)))
CLIENT = Client(fakeflow.create_app())
CLIENT.post(f"{API}/registered-models/create", json={"name": "edge"})


@given(number=EDGE, route=st.sampled_from(["get", "update", "delete", "set-tag", "alias"]))
def test_versions_beyond_64_bits_fail_the_lookup(number: int, route: str) -> None:
    body = {"name": "edge", "version": str(number)}
    if route == "get":
        answer = CLIENT.get(f"{API}/model-versions/get", query_string=body)
    elif route == "update":
        answer = CLIENT.patch(f"{API}/model-versions/update", json=body)
    elif route == "delete":
        answer = CLIENT.delete(f"{API}/model-versions/delete", json=body)
    elif route == "set-tag":
        answer = CLIENT.post(f"{API}/model-versions/set-tag", json={**body, "key": "k", "value": "v"})
    else:
        answer = CLIENT.post(f"{API}/registered-models/alias", json={**body, "alias": "a"})
    if -(2**63) <= number < 2**63:
        assert answer.status_code == 404
    else:
        assert answer.status_code == 500
        assert answer.json == {"error_code": "INTERNAL_ERROR",
                               "message": "Python int too large to convert to SQLite INTEGER",
                               "sqlstate": "XXM00", "error_class": "CLIENT_INTERNAL_ERROR"}


def test_checks_before_the_lookup_still_answer_first() -> None:
    huge = "9" * 40
    answer = CLIENT.post(f"{API}/registered-models/alias",
                         json={"name": "edge", "version": huge, "alias": "latest"})
    assert answer.status_code == 400
    answer = CLIENT.post(f"{API}/model-versions/transition-stage",
                         json={"name": "edge", "version": huge, "stage": "bogus"})
    assert answer.status_code == 400
