"""``/graphql``: the queries MLflow's web UI sends (run page, runs table, charts, artifacts,
model versions), their variables and paging, the endpoint's odd corners (no batching bounds,
errors as bare messages, what MLflow answers with a 500), and introspection of the schema.

Server clocks (experiment creation/update times, run times not sent by the client) are left
out of the selections: they differ between any two servers."""

from __future__ import annotations

from typing import Any

from ..model import Step, case, post
from .artifacts import new_run, put
from .common import TS

RUN_FIELDS = """
  info { runId runUuid runName experimentId userId status startTime endTime artifactUri lifecycleStage }
  data { metrics { key value step timestamp datasetName datasetDigest modelId runId }
         params { key value } tags { key value } }
  inputs { datasetInputs { tags { key value } dataset { name digest sourceType source schema profile } }
           modelInputs { modelId } }
  outputs { modelOutputs { modelId step } }
  experiment { experimentId name artifactLocation lifecycleStage tags { key value } }
  modelVersions { name version status source runId currentStage aliases tags { key value } }
"""

GET_RUN = "query RunPage($data: MlflowGetRunInput!) { mlflowGetRun(input: $data) { apiError { code message } run { %s } } }" % RUN_FIELDS
SEARCH_RUNS = ("query Table($data: MlflowSearchRunsInput!) { mlflowSearchRuns(input: $data) "
               "{ apiError { code } nextPageToken runs { %s } } }" % RUN_FIELDS)
BULK = ("query Charts($data: MlflowGetMetricHistoryBulkIntervalInput!) { "
        "mlflowGetMetricHistoryBulkInterval(input: $data) { __typename apiError { code message } "
        "metrics { key value step timestamp runId } } }")


def gql(query: str | None, variables: Any = None, operation: str | None = None,
        query_string: Any = None, **kw: Any) -> Step:
    body: dict[str, Any] = {"query": query}
    if variables is not None:
        body["variables"] = variables
    if operation is not None:
        body["operationName"] = operation
    return Step("POST", "/graphql", json=body, query=query_string, **kw)


def raw(data: str | None, content_type: str | None = "application/json", method: str = "POST",
        **kw: Any) -> Step:
    return Step(method, "/graphql", data=data, content_type=content_type, **kw)


def _metrics(run: str) -> Step:
    points = [{"key": "loss", "value": 1.0 / (s + 1), "timestamp": TS + s, "step": s} for s in range(12)]
    points += [{"key": "odd", "value": "NaN", "timestamp": TS, "step": 1},
               {"key": "odd", "value": "Infinity", "timestamp": TS, "step": 2},
               {"key": "odd", "value": 0.5, "timestamp": TS, "step": 3}]
    return post("runs/log-batch", {"run_id": run, "metrics": points,
                                   "params": [{"key": "lr", "value": "0.1"}],
                                   "tags": [{"key": "team", "value": "ui"}]})


CASES = [
    case(
        "graphql-run-page",
        post("runs/create", {"experiment_id": "0", "run_name": "gql", "start_time": TS},
             capture={"r": "run.info.run_id"}),
        _metrics("${r}"),
        post("runs/log-inputs", {"run_id": "${r}", "datasets": [
            {"dataset": {"name": "train", "digest": "d1", "source_type": "local", "source": "/d",
                         "schema": "{}", "profile": "{}"},
             "tags": [{"key": "mlflow.data.context", "value": "training"}]},
            {"dataset": {"name": "bare", "digest": "d2", "source_type": "s", "source": "x"}}]}),
        post("runs/update", {"run_id": "${r}", "status": "FINISHED", "end_time": TS + 99}),
        post("/api/2.0/mlflow/registered-models/create", {"name": "gql-${p}"}),
        post("/api/2.0/mlflow/model-versions/create",
             {"name": "gql-${p}", "source": "runs:/${r}/model", "run_id": "${r}"}),
        gql(GET_RUN, {"data": {"runId": "${r}"}}, "RunPage"),
        gql(GET_RUN, {"data": {"runUuid": "${r}"}}),
        gql(GET_RUN, {"data": {}}, note="no id: the store's not-found message"),
        gql(GET_RUN, {"data": {"runId": "0" * 32}}),
        gql("{ mlflowGetRun(input: {runId: \"${r}\"}) { run { data { metrics { key value } } } } }",
            note="NaN reads as null on a run's metrics"),
        gql("{ mlflowGetRun { run { info { runId } } } }", note="input omitted"),
        gql("{ mlflowGetExperiment(input: {experimentId: \"0\"}) { apiError { code } experiment "
            "{ experimentId name artifactLocation lifecycleStage tags { key value } workspace "
            "effectiveTraceArchivalRetention } } }"),
        gql("{ mlflowGetExperiment(input: {experimentId: \"123456\"}) { experiment { name } } }"),
        gql("{ mlflowGetExperiment(input: {experimentId: \"x1\"}) { experiment { name } } }"),
        gql("{ mlflowGetExperiment(input: {}) { experiment { name } } }"),
    ),
    case(
        "graphql-runs-table-and-charts",
        post("runs/create", {"experiment_id": "0", "run_name": "a", "start_time": TS + 1},
             capture={"a": "run.info.run_id"}),
        post("runs/create", {"experiment_id": "0", "run_name": "b", "start_time": TS + 2},
             capture={"b": "run.info.run_id"}),
        _metrics("${a}"),
        _metrics("${b}"),
        post("runs/log-metric", {"run_id": "${b}", "key": "loss", "value": 9, "timestamp": TS, "step": 40}),
        gql(SEARCH_RUNS, {"data": {"experimentIds": ["0"], "filter": "attributes.run_name IN ('a', 'b')",
                                   "orderBy": ["metrics.loss DESC"], "maxResults": 1}},
            capture={"tok": "data.mlflowSearchRuns.nextPageToken"}),
        gql(SEARCH_RUNS, {"data": {"experimentIds": ["0"], "filter": "attributes.run_name IN ('a', 'b')",
                                   "orderBy": ["metrics.loss DESC"], "maxResults": 1,
                                   "pageToken": "${tok}"}}),
        gql(SEARCH_RUNS, {"data": {"experimentIds": ["0"], "filter": "metrics.loss >"}}),
        gql(SEARCH_RUNS, {"data": {"experimentIds": ["0"], "maxResults": 50001}}),
        gql(SEARCH_RUNS, {"data": {"experimentIds": ["0"], "runViewType": "ALL", "maxResults": 1}}),
        Step("POST", "/graphql", json={"query": "mutation M($d: MlflowSearchRunsInput!) { "
                                                "mlflowSearchRuns(input: $d) { runs { info { runName } } } }",
                                       "variables": {"d": {"experimentIds": ["0"],
                                                           "filter": "attributes.run_name = 'a'"}}}),
        gql(BULK, {"data": {"runIds": ["${a}", "${b}"], "metricKey": "loss"}}),
        gql(BULK, {"data": {"runIds": ["${a}", "${b}"], "metricKey": "loss", "maxResults": 2,
                            "startStep": 3, "endStep": 5}}, note="input bounds are ignored"),
        gql(BULK, {"data": {"runIds": ["${a}"], "metricKey": "loss"}},
            query_string={"max_results": "3"}, note="the query string's bound applies"),
        gql(BULK, {"data": {"runIds": ["${a}"], "metricKey": "loss"}},
            query_string={"start_step": "2", "end_step": "6"}),
        gql(BULK, {"data": {"runIds": ["${a}"], "metricKey": "loss"}},
            query_string={"start_step": "6", "end_step": "2"}),
        gql(BULK, {"data": {"runIds": ["${a}"], "metricKey": "loss"}}, query_string={"start_step": "2"}),
        gql(BULK, {"data": {"runIds": ["${a}"], "metricKey": "odd"}}, note="NaN cannot be a Float"),
        gql(BULK, {"data": {"runIds": [], "metricKey": "loss"}}),
        gql(BULK, {"data": {"runIds": ["${a}"], "metricKey": "absent"}}),
    ),
    case(
        "graphql-artifacts-and-model-versions",
        new_run(),
        put("0/${r}/artifacts/dir/a.txt", "alpha"),
        put("0/${r}/artifacts/top.txt", ""),
        gql("{ mlflowListArtifacts(input: {runId: \"${r}\"}) { rootUri nextPageToken apiError { code } "
            "files { path isDir fileSize } } }"),
        gql("{ mlflowListArtifacts(input: {runId: \"${r}\", path: \"dir\"}) { files { path isDir fileSize } } }"),
        gql("{ mlflowListArtifacts(input: {runId: \"${r}\", path: \"../x\"}) { files { path } } }"),
        gql("{ mlflowListArtifacts(input: {runUuid: \"${r}\", path: \"\"}) { files { path } } }"),
        gql("{ mlflowListArtifacts(input: {runId: \"nope\"}) { files { path } } }"),
        post("/api/2.0/mlflow/registered-models/create", {"name": "gqlmv-${p}"}),
        post("/api/2.0/mlflow/model-versions/create",
             {"name": "gqlmv-${p}", "source": "runs:/${r}/m", "run_id": "${r}"}),
        post("/api/2.0/mlflow/model-versions/create",
             {"name": "gqlmv-${p}", "source": "runs:/${r}/m2", "run_id": "${r}"}),
        gql("query V($i: MlflowSearchModelVersionsInput) { mlflowSearchModelVersions(input: $i) "
            "{ nextPageToken modelVersions { name version source runId status statusMessage currentStage "
            "description userId runLink aliases modelId tags { key value } modelParams { name } "
            "modelMetrics { key } deploymentJobState { jobId runId jobState runState currentTaskName } } } }",
            {"i": {"filter": "name = 'gqlmv-${p}'", "maxResults": 1, "orderBy": ["version_number ASC"]}},
            capture={"vt": "data.mlflowSearchModelVersions.nextPageToken"}),
        gql("query V($i: MlflowSearchModelVersionsInput) { mlflowSearchModelVersions(input: $i) "
            "{ nextPageToken modelVersions { name version } } }",
            {"i": {"filter": "name = 'gqlmv-${p}'", "maxResults": "1", "pageToken": "${vt}",
                   "orderBy": ["version_number ASC"]}}),
        gql("{ mlflowSearchModelVersions(input: {filter: \"nme = 'x'\"}) { modelVersions { name } } }"),
        gql("{ mlflowGetRun(input: {runId: \"${r}\"}) { run { modelVersions { name version source } } } }"),
        post("runs/log-inputs", {"run_id": "${r}", "datasets": [
            {"dataset": {"name": "ds", "digest": "g1", "source_type": "local", "source": "/d"},
             "tags": [{"key": "mlflow.data.context", "value": "eval"}]}]}),
        gql("mutation { mlflowSearchDatasets(input: {experimentIds: [\"0\"]}) { apiError { code } "
            "datasetSummaries { experimentId name digest context } } }"),
        gql("mutation { mlflowSearchDatasets(input: {experimentIds: []}) { datasetSummaries { name } } }"),
        gql("mutation { mlflowSearchDatasets(input: {experimentIds: [%s]}) { datasetSummaries { name } } }"
            % ", ".join(f'"{i}"' for i in range(21))),
    ),
    case(
        "graphql-endpoint-edges",
        gql("{ test(inputString: \"echo\") { output } }"),
        gql("{ test { output } }"),
        gql("mutation { testMutation(inputString: \"x\") { output } }"),
        gql("{ __typename }"),
        gql("{ nope }"),
        gql("{ mlflowGetExperiment(input: {experimentId: 5}) { experiment { name } } }"),
        gql("query Q($i: MlflowGetExperimentInput!) { mlflowGetExperiment(input: $i) { experiment { name } } }",
            {"i": {"experimentId": 5}}),
        gql("query Q($i: MlflowGetExperimentInput!) { mlflowGetExperiment(input: $i) { experiment { name } } }",
            {"i": {"bogus": 1}}),
        gql("query Q($i: MlflowGetExperimentInput!) { mlflowGetExperiment(input: $i) { experiment { name } } }"),
        gql("query A { test(inputString: \"a\") { output } } query B { test(inputString: \"b\") { output } }"),
        gql("query A { test(inputString: \"a\") { output } } query B { test(inputString: \"b\") { output } }",
            operation="B"),
        gql("query A { test(inputString: \"a\") { output } }", operation="Nope"),
        gql("{ %s }" % " ".join(f'a{i}: test(inputString: "x") {{ output }}' for i in range(11)),
            note="more than 10 root fields"),
        gql("{ test(inputString: \"x\") { %s } }" % " ".join(f"o{i}: output" for i in range(11)),
            note="more than 10 aliases at one level"),
        gql("{ mlflowGetRun(input: {}) { run { info { a { b { c { d { e { f { g { h { i } } } } } } } } } } }",
            note="deeper than 10, caught before validation"),
        gql("query {", note="a syntax error: MLflow answers 500"),
        gql(None, note="no query: 500"),
        raw("{", note="not JSON: 500"),
        raw("[]"),
        raw('{"query": "{ __typename }", "variables": [1]}'),
        raw('{"query": "{ __typename }"}', content_type="text/plain"),
        raw('{"query": "{ __typename }"}', content_type=None),
        raw('{"query": "{ __typename }"}', method="GET", content_type="application/json"),
        raw('{"query": "{ __typename }"}', method="PUT"),
        gql("{ __schema { queryType { name fields { name args { name type { name kind } } } } "
            "mutationType { name fields { name } } directives { name locations } } }"),
        gql("{ __type(name: \"MlflowRunInfo\") { fields { name type { name kind ofType { name } } } } }"),
        gql("{ __type(name: \"MlflowModelVersion\") { fields { name type { name kind ofType { name } } } } }"),
        gql("{ __type(name: \"MlflowRunStatus\") { enumValues { name } } }"),
        gql("{ __type(name: \"MlflowSearchRunsInput\") { inputFields { name type { name kind } } } }"),
    ),
]
