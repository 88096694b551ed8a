"""``POST /graphql``: the queries MLflow's web UI sends, answered from the stores.

Each root field does what MLflow 3.17.2's resolver does: it calls the store with the input as
given, skipping the REST layer's checks (MLflow parses GraphQL input straight into its request
proto and calls the handler's ``*_impl``). Objects read like protobuf messages: a field absent
from the proto-JSON of an entity reads as its default (``""``, ``"0"``, ``[]``, the first enum
value, an empty object), never as null. The answer is Flask's ``jsonify`` of
``{"data", "errors"}``: keys sorted, errors as plain messages.
"""

from __future__ import annotations

import json
import math
import os
import re
from typing import Any, Callable

from werkzeug.exceptions import InternalServerError
from werkzeug.wrappers import Request, Response

from fakeflow.state.datasets import dataset_summaries as _dataset_summaries
from fakeflow.state.errors import MlflowError
from fakeflow.state.tracking import TrackingStore
from fakeflow.ui.graphql_limits import QueryTooLarge, check_query_size
from fakeflow.web import registry_render, render
from fakeflow.web.parsing import decode_json_body

Json = dict[str, Any]

MAX_RESULTS_PER_RUN_BULK = 2500
DEFAULT_SEARCH_RUNS_RESULTS = 1000
DEFAULT_SEARCH_VERSIONS_RESULTS = 10_000
SEARCH_RUNS_MAX = 50_000
MAX_DATASET_EXPERIMENTS = 20

_CAMEL = re.compile(r"(?<!^)(?=[A-Z])")


class _Failure(Exception):
    """A resolver error, reported as its message (what graphene reports of any exception)."""


def _snake(name: str) -> str:
    return _CAMEL.sub("_", name).lower()


# ---- reading proto-JSON like a protobuf message ------------------------------------------------


def _default(type_: Any) -> Any:
    from graphql import GraphQLEnumType, GraphQLList, GraphQLNonNull, GraphQLObjectType, GraphQLScalarType

    while isinstance(type_, GraphQLNonNull):
        type_ = type_.of_type
    if isinstance(type_, GraphQLList):
        return []
    if isinstance(type_, GraphQLObjectType):
        return {}
    if isinstance(type_, GraphQLEnumType):
        if type_.name in _UNREPRESENTABLE_UNSET:
            return 0  # graphql-core then reports "Enum '…' cannot represent value: 0", as MLflow
        return next(iter(type_.values))
    if isinstance(type_, GraphQLScalarType):
        return {"String": "", "LongString": 0, "Float": 0.0, "Int": 0, "Boolean": False}.get(type_.name)
    return None


def _field_resolver(source: Any, info: Any, **_args: Any) -> Any:
    """Dict sources hold proto-JSON (snake_case); a missing key reads as the proto default."""
    if not isinstance(source, dict):
        return getattr(source, info.field_name, None)
    if info.field_name in source:  # values the resolvers below put under GraphQL names
        return source[info.field_name]
    key = _snake(info.field_name)
    if key in source:
        return source[key]
    if info.field_name == "apiError" or info.parent_type.name in _NOT_PROTO:
        return None
    return _default(info.return_type)


#: Proto3 enums whose unset value (0) MLflow's schema has no name for.
_UNREPRESENTABLE_UNSET = frozenset({"MlflowDeploymentJobConnectionState",
                                    "MlflowModelVersionDeploymentJobStateDeploymentJobRunState"})
_NOT_PROTO = frozenset({"ApiError", "ErrorDetail", "Test", "TestMutation"})


def _number(value: Any) -> Any:
    if isinstance(value, str):
        return {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}.get(value, value)
    return value


# ---- root fields -------------------------------------------------------------------------------


class _Resolvers:
    """MLflow's GraphQL resolvers over one request's store and query string."""

    def __init__(self, store: TrackingStore, request: Request) -> None:
        self.store = store
        self.request = request

    def _call(self, work: Callable[[], Any]) -> Any:
        try:
            with self.store.lock:
                return work()
        except MlflowError as error:
            raise _Failure(error.message) from None

    @staticmethod
    def _missing(owner: str, method: str, argument: str) -> _Failure:
        return _Failure(f"{owner}.{method}() missing 1 required positional argument: '{argument}'")

    def get_experiment(self, _root: Any, _info: Any, **args: Any) -> Json:
        if "input" not in args:
            raise self._missing("QueryType", "resolve_mlflow_get_experiment", "input")
        given = args["input"] or {}
        experiment_id = given.get("experimentId") or ""
        return {"experiment": self._call(lambda: render.experiment(self.store.get_experiment(experiment_id)))}

    def get_run(self, _root: Any, _info: Any, **args: Any) -> Json:
        if "input" not in args:
            raise self._missing("QueryType", "resolve_mlflow_get_run", "input")
        given = args["input"] or {}
        run_id = given.get("runId") or given.get("runUuid") or ""
        run = self._call(lambda: self.store.get_run(run_id))
        return {"run": self._run(render.run(run, view="get"))}

    def _run(self, run: Json) -> Json:
        """A run with MLflow's two extension fields, resolved only when asked for."""
        run_id = run["info"]["run_id"]
        experiment_id = run["info"]["experiment_id"]
        run["experiment"] = _Lazy(lambda: self._call(
            lambda: render.experiment(self.store.get_experiment(experiment_id))))
        run["modelVersions"] = _Lazy(lambda: self._versions(f"run_id='{run_id}'",
                                                            DEFAULT_SEARCH_VERSIONS_RESULTS, [], None)[0])
        metrics = run.get("data", {}).get("metrics", [])
        for metric in metrics:  # MLflow's extension reads NaN as null instead of failing
            value = _number(metric.get("value", 0.0))
            metric["value"] = None if isinstance(value, float) and math.isnan(value) else value
        return run

    def search_runs(self, _root: Any, info: Any, **args: Any) -> Json:
        if "input" not in args:
            owner = "Query" if info.parent_type.name == "Query" else "MutationType"
            raise self._missing(owner, "resolve_mlflow_search_runs", "input")
        given = args["input"] or {}
        if given.get("runViewType") is not None:  # MLflow 3.17.2 fails on any view type here
            raise _Failure("Failed to parse run_view_type field: int() argument must be a string, "
                           "a bytes-like object or a real number, not 'EnumMeta'.")
        max_results = given.get("maxResults")
        max_results = DEFAULT_SEARCH_RUNS_RESULTS if max_results is None else max_results
        if max_results > SEARCH_RUNS_MAX:
            raise _Failure(f"Invalid value {max_results} for parameter 'max_results' supplied. "
                           f"It must be at most {SEARCH_RUNS_MAX}")
        runs, token = self._call(lambda: self.store.search_runs(
            experiment_ids=[e for e in given.get("experimentIds") or [] if e is not None],
            filter_string=given.get("filter") or "",
            run_view_type="ACTIVE_ONLY",
            max_results=max_results,
            order_by=[o for o in given.get("orderBy") or [] if o is not None],
            page_token=given.get("pageToken") or None,
        ))
        body = json.loads(render.search_runs_answer(self.store, runs, token))
        return {"runs": [self._run(r) for r in body.get("runs", [])],
                "next_page_token": body.get("next_page_token", "")}

    def bulk_interval(self, _root: Any, _info: Any, **args: Any) -> Json:
        if "input" not in args:
            raise self._missing("QueryType", "resolve_mlflow_get_metric_history_bulk_interval", "input")
        given = args["input"] or {}
        query = self.request.args  # MLflow reads these from /graphql's own query string
        start, end = query.get("start_step"), query.get("end_step")
        try:
            max_results = int(query.get("max_results", MAX_RESULTS_PER_RUN_BULK))
            both = start is not None and end is not None
            start_step, end_step = (int(start), int(end)) if both else (None, None)  # type: ignore[arg-type]
        except ValueError as error:
            raise _Failure(str(error)) from None
        if start_step is not None and end_step is not None and start_step > end_step:
            raise _Failure("end_step must be greater than start_step. "
                           f"Found start_step={start_step} and end_step={end_step}.")
        if (start is None) != (end is None):
            raise _Failure("If either start step or end step are specified, both must be specified.")
        key = given.get("metricKey") or ""
        run_ids = [r for r in given.get("runIds") or [] if r is not None]
        sampled = self._call(lambda: self.store.get_metric_history_bulk_interval(
            run_ids, key, max_results, start_step, end_step))
        metrics = []
        for run_id, window in sampled:
            for point in window:
                metrics.append({"key": key, "value": point.value, "timestamp": point.timestamp,
                                "step": point.step, "run_id": run_id})
        return {"metrics": metrics}

    def list_artifacts(self, _root: Any, _info: Any, **args: Any) -> Json:
        from fakeflow.web.artifact_handlers import _list_below
        from fakeflow.web.artifact_paths import check_safe_path

        if "input" not in args:
            raise self._missing("QueryType", "resolve_mlflow_list_artifacts", "input")
        given = args["input"] or {}

        def work() -> Json:
            relative = check_safe_path(given["path"]) if given.get("path") is not None else None
            run = self.store.get_run(given.get("runId") or given.get("runUuid") or "")
            return _list_below(self.store, run.artifact_uri, relative)

        return self._call(work)

    def _versions(self, filter_string: str, max_results: int, order_by: list[str],
                  token: str | None) -> tuple[list[Json], str]:
        versions, next_token = self._call(lambda: self.store.registry.search_model_versions(
            filter_string, max_results, order_by, token))
        return [registry_render.model_version(mv) for mv in versions], next_token or ""

    def search_model_versions(self, _root: Any, _info: Any, **args: Any) -> Json:
        if "input" not in args:
            raise self._missing("QueryType", "resolve_mlflow_search_model_versions", "input")
        given = args["input"] or {}
        max_results = given.get("maxResults")
        versions, token = self._versions(
            given.get("filter") or "",
            DEFAULT_SEARCH_VERSIONS_RESULTS if max_results is None else max_results,
            [o for o in given.get("orderBy") or [] if o is not None], given.get("pageToken") or None)
        return {"model_versions": versions, "next_page_token": token}

    def search_datasets(self, _root: Any, _info: Any, **args: Any) -> Json:
        if "input" not in args:
            raise self._missing("MutationType", "resolve_mlflow_search_datasets", "input")
        given = args["input"] or {}
        experiment_ids = [e for e in given.get("experimentIds") or [] if e is not None]
        if not experiment_ids:
            raise _Failure("SearchDatasets request must specify at least one experiment_id.")
        if len(experiment_ids) > MAX_DATASET_EXPERIMENTS:
            raise _Failure(f"SearchDatasets request cannot specify more than "
                           f"{MAX_DATASET_EXPERIMENTS} experiment_ids. Received "
                           f"{len(experiment_ids)} experiment_ids.")
        return {"dataset_summaries": self._call(lambda: _dataset_summaries(self.store, experiment_ids))}

    @staticmethod
    def test(_root: Any, _info: Any, **args: Any) -> Json:
        if "inputString" not in args:
            raise _Failure("Query.resolve_test() missing 1 required positional argument: 'input_string'")
        return {"output": args["inputString"]}

    @staticmethod
    def test_mutation(_root: Any, _info: Any, **_args: Any) -> None:
        return None  # MLflow 3.17.2 names this resolver so that graphene never calls it


class _Lazy:
    """A field value computed only if the query selects it."""

    def __init__(self, compute: Callable[[], Any]) -> None:
        self.compute = compute


# ---- the endpoint ------------------------------------------------------------------------------


def _wire(schema: Any, resolvers: _Resolvers) -> dict[str, Callable]:
    return {
        "Query.mlflowGetExperiment": resolvers.get_experiment,
        "Query.mlflowGetRun": resolvers.get_run,
        "Query.mlflowSearchRuns": resolvers.search_runs,
        "Query.mlflowGetMetricHistoryBulkInterval": resolvers.bulk_interval,
        "Query.mlflowListArtifacts": resolvers.list_artifacts,
        "Query.mlflowSearchModelVersions": resolvers.search_model_versions,
        "Query.test": resolvers.test,
        "Mutation.mlflowSearchRuns": resolvers.search_runs,
        "Mutation.mlflowSearchDatasets": resolvers.search_datasets,
        "Mutation.testMutation": resolvers.test_mutation,
    }


def _resolver_for(table: dict[str, Callable]) -> Callable:
    def resolve(source: Any, info: Any, **args: Any) -> Any:
        special = table.get(f"{info.parent_type.name}.{info.field_name}")
        if special is not None:
            return special(source, info, **args)
        value = _field_resolver(source, info, **args)
        if isinstance(value, _Lazy):
            return value.compute()
        if info.return_type is not None and _is_float(info.return_type):
            return _number(value)
        return value
    return resolve


def _is_float(type_: Any) -> bool:
    from graphql import GraphQLNonNull

    while isinstance(type_, GraphQLNonNull):
        type_ = type_.of_type
    return getattr(type_, "name", None) == "Float"


def graphql_endpoint(store: TrackingStore, request: Request) -> Response:
    """``GET|POST /graphql``: runs without the store lock; each resolver locks briefly."""
    try:
        from graphql import GraphQLError, execute, parse, validate
    except ImportError:  # the optional "ui" extra is not installed
        from werkzeug.exceptions import NotFound

        raise NotFound()
    from fakeflow.ui.graphql_schema import schema as build

    body = decode_json_body(request)  # MLflow's request.get_json(): None when not JSON
    if not isinstance(body, dict):
        raise InternalServerError()  # MLflow calls .get() on whatever came back
    query, variables, operation = body.get("query"), body.get("variables"), body.get("operationName")
    if not isinstance(query, str) or (variables is not None and not isinstance(variables, dict)):
        raise InternalServerError()
    try:
        document = parse(query)
    except GraphQLError:
        raise InternalServerError() from None  # MLflow does not catch syntax errors
    schema = build()
    try:
        check_query_size(document, os.environ)
    except QueryTooLarge as error:
        return _answer(None, [str(error)])
    errors = validate(schema, document)
    if errors:
        return _answer(None, [e.message for e in errors])
    resolvers = _Resolvers(store, request)
    result = execute(schema, document, variable_values=variables, operation_name=operation,
                     field_resolver=_resolver_for(_wire(schema, resolvers)))
    messages = [e.message for e in result.errors] if result.errors else None
    return _answer(result.data, messages)


def _answer(data: Any, errors: list[str] | None) -> Response:
    text = json.dumps({"data": data, "errors": errors}, sort_keys=True, separators=(",", ":"))
    return Response(text + "\n", status=200, mimetype="application/json")
