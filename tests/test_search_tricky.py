"""Cases the grammar-driven differential test (tests/test_search_grammar_differential.py) found,
each with the answer real MLflow 3.17.2 gave (POST /api/2.0/mlflow/runs/search)."""

from __future__ import annotations

import pytest

from fakeflow.search.runs import SQL_TUPLE_MESSAGE, search_runs
from fakeflow.state.entities import Dataset, DatasetInput
from fakeflow.state.errors import MlflowError
from fakeflow.state.tracking import TrackingStore


def _error(filter_string: str, page_token: str | None = None) -> MlflowError:
    with pytest.raises(MlflowError) as caught:
        search_runs([], filter_string, None, None, page_token, None)
    return caught.value


@pytest.mark.parametrize("filter_string, message", [
    # "None" is one of the SQL lexer's reserved words: no comparison is formed, and MLflow
    # lists the three pieces as invalid clauses (a non-reserved bare word is "not quoted").
    ("parameters.p2 LIKE None", "Invalid clause(s) in filter string: 'parameters.p2', 'LIKE', 'None'"),
    ("params.p = left", "Invalid clause(s) in filter string: 'params.p', '=', 'left'"),
    ("params.p = lefty", "Parameter value is either not quoted or unidentified quote types used "
                         "for string value lefty. Use either single or double quotes."),
    # %s, ?, :x are placeholders to the lexer: operands, but neither identifiers nor strings.
    ("`status` != %s AND `status` != %s", "Expected a quoted string value for attributes. Got value %s"),
    ("run_name = ?", "Expected a quoted string value for attributes. Got value ?"),
    ("tags.`left` = 'x' AND tags.data = :x",
     "Expected a quoted string value for tag (e.g. 'my-value'). Got value :x"),
    # An AND glued to its neighbours is part of a name, and comparisons chain to the left:
    # the whole filter is one comparison whose left side is itself a comparison.
    ("metrics.a>=infANDname>'alpha'",
     "Invalid comparison clause. Expected 'Identifier' found 'metrics.a>=infANDname'"),
    ("metrics.a > 1 > 2", "Invalid comparison clause. Expected 'Identifier' found 'metrics.a > 1'"),
])
def test_invalid_filters(filter_string: str, message: str) -> None:
    error = _error(filter_string)
    assert (error.error_code, error.message) == ("INVALID_PARAMETER_VALUE", message)


@pytest.mark.parametrize("filter_string", [
    'datasets.context = ("Red")', 'datasets.`name` ILIKE ("Red")', "datasets.digest != ('a', 'b')",
])
def test_a_dataset_compared_with_a_list_fails_in_sqlite(filter_string: str) -> None:
    # MLflow: 400 BAD_REQUEST "(sqlite3.ProgrammingError) Error binding parameter 3: type
    # 'tuple' is not supported\n[SQL: ...]" (fakeflow stops before the position and the SQL).
    error = _error(filter_string)
    assert (error.error_code, error.message) == ("BAD_REQUEST", SQL_TUPLE_MESSAGE)


def test_the_sqlite_error_comes_after_the_page_token_check() -> None:
    assert _error('datasets.name = ("d")', page_token="abc").message == \
        "Invalid page token, could not base64-decode"


def test_a_dataset_list_with_in_still_works() -> None:
    store = TrackingStore()
    experiment = store.create_experiment("d")
    run = store.create_run(experiment, start_time=1)
    store.log_inputs(run.run_id, [DatasetInput(Dataset("d1", "x"), {})])
    found, _ = store.search_runs([experiment], "datasets.name IN ('d1', 'd2')", "ACTIVE_ONLY",
                                 10, None, None)
    assert [r.run_id for r in found] == [run.run_id]


def test_equal_start_times_tie_break_on_run_id() -> None:
    store = TrackingStore()
    experiment = store.create_experiment("t")
    ids = [store.create_run(experiment, start_time=5).run_id for _ in range(6)]
    found, _ = store.search_runs([experiment], None, "ACTIVE_ONLY", 10, None, None)
    assert [r.run_id for r in found] == sorted(ids)
    found, _ = store.search_runs([experiment], None, "ACTIVE_ONLY", 10, ["start_time ASC"], None)
    assert [r.run_id for r in found] == sorted(ids)


def test_logged_models_a_tuple_fails_only_when_the_query_runs() -> None:
    # Found by the long logged-model search differential: MLflow checks order_by before its
    # database meets the tuple, so a bad order_by is the error reported.
    models = TrackingStore().logged_models
    with pytest.raises(MlflowError) as caught:
        models.search(["0"], "params.lr = ('alpha', 'beta')", None, None,
                      [{"field_name": "params.lr"}], None)
    assert caught.value.message == "Invalid order by field name: params.lr. Only metrics are supported."
    with pytest.raises(MlflowError) as caught:
        models.search(["0"], "params.lr = ('alpha', 'beta')", None, None, None, None)
    assert caught.value.error_code == "BAD_REQUEST"
