"""The route table: every path fakeflow answers, its methods and its handler.

Each API path exists under both ``/api/2.0/mlflow`` and its UI mirror ``/ajax-api/2.0/mlflow``.
"""

from __future__ import annotations

from typing import Callable, NamedTuple

from fakeflow.web import service_handlers as service
from fakeflow.web.lazy_handlers import handlers

# Every other domain's handlers are imported on their first request (see lazy_handlers).
art = handlers("fakeflow.web.artifact_handlers")
lm = handlers("fakeflow.web.logged_model_handlers")
reg = handlers("fakeflow.web.registry_handlers")
t = handlers("fakeflow.web.tracking_handlers")
tr = handlers("fakeflow.web.trace_handlers")
uis = handlers("fakeflow.web.ui_support_handlers")
trace_metrics = handlers("fakeflow.web.trace_metrics_handlers")
scorers = handlers("fakeflow.web.scorer_handlers")
ed = handlers("fakeflow.web.eval_dataset_handlers")
issues = handlers("fakeflow.web.issue_handlers")
wh = handlers("fakeflow.web.webhook_handlers")
graphql_endpoint = handlers("fakeflow.ui.graphql_api").graphql_endpoint


class Route(NamedTuple):
    path: str
    methods: tuple[str, ...]
    handler: Callable
    #: False: the handler runs without the store lock (it streams a request body itself).
    locked: bool = True
    #: True: MLflow serves it from its FastAPI app, which is asked before Flask: only the methods
    #: named (no HEAD, no OPTIONS; any other method falls through to Flask, usually a 404) and
    #: slashes matched as written ("//" kept, no redirect to add or drop a "/").
    fastapi: bool = False


GET, POST = ("GET",), ("POST",)

# (path relative to the MLflow API prefix, methods, handler)
TRACKING_ROUTES: list[Route] = [
    Route("/experiments/create", POST, t.create_experiment),
    Route("/experiments/search", ("GET", "POST"), t.search_experiments),
    Route("/experiments/get", GET, t.get_experiment),
    Route("/experiments/get-by-name", GET, t.get_experiment_by_name),
    Route("/experiments/delete", POST, t.delete_experiment),
    Route("/experiments/restore", POST, t.restore_experiment),
    Route("/experiments/update", POST, t.update_experiment),
    Route("/experiments/set-experiment-tag", POST, t.set_experiment_tag),
    Route("/experiments/delete-experiment-tag", POST, t.delete_experiment_tag),
    Route("/runs/create", POST, t.create_run),
    Route("/runs/update", POST, t.update_run),
    Route("/runs/delete", POST, t.delete_run),
    Route("/runs/restore", POST, t.restore_run),
    Route("/runs/log-metric", POST, t.log_metric),
    Route("/runs/log-parameter", POST, t.log_param),
    Route("/runs/set-tag", POST, t.set_tag),
    Route("/runs/delete-tag", POST, t.delete_tag),
    Route("/runs/get", GET, t.get_run),
    Route("/runs/search", POST, t.search_runs),
    Route("/runs/log-batch", POST, t.log_batch),
    Route("/runs/log-model", POST, t.log_model),
    Route("/runs/log-inputs", POST, t.log_inputs),
    Route("/runs/outputs", POST, t.log_outputs),
    Route("/metrics/get-history", GET, t.get_metric_history),
    Route("/metrics/get-history-bulk-interval", GET, t.get_metric_history_bulk_interval),
    Route("/artifacts/list", GET, art.list_run_artifacts),
    Route("/logged-models/<model_id>/artifacts/directories", GET, art.list_logged_model_artifacts),
]

PATCH, DELETE = ("PATCH",), ("DELETE",)
RM, MV = "/registered-models", "/model-versions"

# The model registry (model_registry.proto), relative to the same API prefixes.
REGISTRY_ROUTES: list[Route] = [
    Route(RM + "/create", POST, reg.create_registered_model),
    Route(RM + "/rename", POST, reg.rename_registered_model),
    Route(RM + "/update", PATCH, reg.update_registered_model),
    Route(RM + "/delete", DELETE, reg.delete_registered_model),
    Route(RM + "/get", GET, reg.get_registered_model),
    Route(RM + "/search", GET, reg.search_registered_models),
    Route(RM + "/get-latest-versions", ("POST", "GET"), reg.get_latest_versions),
    Route(RM + "/set-tag", POST, reg.set_registered_model_tag),
    Route(RM + "/delete-tag", DELETE, reg.delete_registered_model_tag),
    Route(RM + "/alias", POST, reg.set_registered_model_alias),
    Route(RM + "/alias", DELETE, reg.delete_registered_model_alias),
    Route(RM + "/alias", GET, reg.get_model_version_by_alias),
    Route(MV + "/create", POST, reg.create_model_version),
    Route(MV + "/update", PATCH, reg.update_model_version),
    Route(MV + "/transition-stage", POST, reg.transition_model_version_stage),
    Route(MV + "/delete", DELETE, reg.delete_model_version),
    Route(MV + "/get", GET, reg.get_model_version),
    Route(MV + "/search", GET, reg.search_model_versions),
    Route(MV + "/get-download-uri", GET, reg.get_model_version_download_uri),
    Route(MV + "/set-tag", POST, reg.set_model_version_tag),
    Route(MV + "/delete-tag", DELETE, reg.delete_model_version_tag),
]

LM = "/logged-models"

# MLflow 3 logged models (service.proto), relative to the same API prefixes.
LOGGED_MODEL_ROUTES: list[Route] = [
    Route(LM, POST, lm.create_logged_model),
    Route(LM + "/search", POST, lm.search_logged_models),
    Route(LM + "/<model_id>", GET, lm.get_logged_model),
    Route(LM + "/<model_id>", PATCH, lm.finalize_logged_model),
    Route(LM + "/<model_id>", DELETE, lm.delete_logged_model),
    Route(LM + "/<model_id>/tags", PATCH, lm.set_logged_model_tags),
    Route(LM + "/<model_id>/tags/<tag_key>", DELETE, lm.delete_logged_model_tag),
    Route(LM + "/<model_id>/params", POST, lm.log_logged_model_params),
]

API_PREFIXES = ("/api/2.0/mlflow", "/ajax-api/2.0/mlflow")

# Absolute paths outside the versioned API.
SERVICE_ROUTES: list[Route] = [
    Route("/health", GET, service.health),
    Route("/version", GET, service.version),
    Route("/api/3.0/mlflow/server-info", GET, service.server_info),
    Route("/ajax-api/3.0/mlflow/server-info", GET, service.server_info),
]

# RPCs 3.17.2 registers from its protos without a handler (an empty 404; another method is a
# 405). The third path lacks a slash in MLflow's proto, and the server serves it so.
UNHANDLED_RPC_ROUTES: list[Route] = [
    Route(f"/{api}/2.0{path}", (method,), service.unhandled_rpc)
    for api in ("api", "ajax-api")
    for path, method in (("/mlflow/unified-traces", GET[0]),
                         ("/mlflow/get-online-trace-details", GET[0]),
                         ("mlflow/experiments/search-datasets", POST[0]))
]


# The GraphQL endpoint MLflow's web UI queries (needs the optional "ui" extra: graphql-core).
UI_ROUTES: list[Route] = [
    Route("/graphql", ("GET", "POST"), graphql_endpoint, locked=False),
]


# The UI's side routes: telemetry switch, dataset list, and the features fakeflow does not host
# (AI gateway, assistant, jobs, workspaces) answered as MLflow with none configured.
_ASSISTANT = "/ajax-api/3.0/mlflow/assistant"
UI_SUPPORT_ROUTES: list[Route] = [
    Route("/ajax-api/2.0/mlflow/metrics/get-history-bulk", GET, t.get_metric_history_bulk),
    Route("/ajax-api/3.0/mlflow/ui-telemetry", GET, uis.get_ui_telemetry),
    Route("/ajax-api/3.0/mlflow/ui-telemetry", POST, uis.post_ui_telemetry),
    Route("/ajax-api/2.0/mlflow/experiments/search-datasets", POST, uis.search_datasets),
    Route("/ajax-api/2.0/mlflow/gateway-proxy", ("GET", "POST"), uis.gateway_proxy),
    Route(_ASSISTANT + "/config", GET, uis.assistant_config, fastapi=True),
    Route(_ASSISTANT + "/providers", GET, uis.assistant_providers, fastapi=True),
    Route("/ajax-api/3.0/mlflow/jobs/<job_id>", GET, uis.get_job),
    Route("/ajax-api/3.0/mlflow/jobs/cancel/<job_id>", PATCH, uis.get_job),
    Route("/ajax-api/3.0/jobs/<job_id>", GET, uis.get_job_fastapi, fastapi=True),
    Route("/ajax-api/3.0/jobs/cancel/<job_id>", PATCH, uis.get_job_fastapi, fastapi=True),
] + [
    route
    for api in ("/api", "/ajax-api")
    for route in (
        Route(api + "/3.0/mlflow/workspaces", ("GET", "POST"), uis.workspaces_disabled),
        Route(api + "/3.0/mlflow/workspaces/<workspace_name>", ("GET", "PATCH", "DELETE"),
              uis.workspaces_disabled),
    )
]


# The artifact proxy of ``mlflow server --artifacts-destination``, under its own prefixes.
ARTIFACT_PREFIXES = ("/api/2.0/mlflow-artifacts", "/ajax-api/2.0/mlflow-artifacts")
GET_PUT = ("GET", "PUT")
ARTIFACT_ROUTES: list[Route] = [
    Route("/artifacts", GET, art.list_in_root),
    # FastAPI's GET and PUT also take an empty path and one with a leading "/" (Flask: 404).
    Route("/artifacts/", GET_PUT, art.artifact_file, locked=False,
          fastapi=True),
    Route("/artifacts//<path:artifact_path>", GET_PUT, art.artifact_file, locked=False,
          fastapi=True),
    Route("/artifacts/<path:artifact_path>", ("GET", "PUT", "DELETE"), art.artifact_file,
          locked=False),
    Route("/mpu/create/<path:artifact_path>", POST, art.create_multipart),
    Route("/mpu/complete/<path:artifact_path>", POST, art.complete_multipart),
    Route("/mpu/abort/<path:artifact_path>", POST, art.abort_multipart),
    Route("/presigned/<path:artifact_path>", GET, art.presigned_download),
]

# The UI's download and upload routes (absolute paths).
ARTIFACT_UI_ROUTES: list[Route] = [
    Route("/get-artifact", GET, art.get_run_artifact),
    Route("/model-versions/get-artifact", GET, art.get_model_version_artifact),
    Route("/ajax-api/2.0/mlflow/logged-models/<model_id>/artifacts/files", GET,
          art.get_logged_model_artifact),
    Route("/ajax-api/2.0/mlflow/upload-artifact", POST, art.upload_artifact, locked=False),
]


# MLflow 3 tracing (service.proto, assessments.proto), as paths relative to "/<api>/<N>.0/mlflow".
_TRACE_V2 = [
    Route("/traces/<trace_id>/tags", PATCH, tr.set_trace_tag),
    Route("/traces/<trace_id>/tags", DELETE, tr.delete_trace_tag),
    Route("/traces/link-to-run", POST, tr.link_traces_to_run),
    Route("/traces/link-prompts", POST, tr.link_prompts_to_trace),
    Route("/traces/delete-traces", POST, tr.delete_traces),
    # Deprecated v2 trace routes 3.17.2 still serves.
    Route("/traces", POST, tr.start_trace_v2),
    Route("/traces", GET, tr.search_traces_v2),
    Route("/traces/<trace_id>", PATCH, tr.end_trace_v2),
    Route("/traces/<trace_id>/info", GET, tr.get_trace_info_v2),
]
_TRACE_V3 = [
    Route("/traces", POST, tr.start_trace_v3),
    Route("/traces/<trace_id>", GET, tr.get_trace_info_v3),
    Route("/traces/get", GET, tr.get_trace),
    Route("/traces/batchGet", GET, tr.batch_get_traces),
    Route("/traces/batchGetInfos", POST, tr.batch_get_trace_infos),
    Route("/traces/search", POST, tr.search_traces_v3),
    Route("/traces/delete-traces", POST, tr.delete_traces),
    Route("/traces/<trace_id>/tags", PATCH, tr.set_trace_tag),
    Route("/traces/<trace_id>/tags", DELETE, tr.delete_trace_tag),
    Route("/traces/<trace_id>/assessments", POST, tr.create_assessment),
    Route("/traces/<trace_id>/assessments/<assessment_id>", GET, tr.get_assessment),
    Route("/traces/<trace_id>/assessments/<assessment_id>", PATCH, tr.update_assessment),
    Route("/traces/<trace_id>/assessments/<assessment_id>", DELETE, tr.delete_assessment),
]
TRACE_ROUTES: list[Route] = [
    r._replace(path=f"/{api}/{version}.0/mlflow" + r.path)
    for api in ("api", "ajax-api")
    for version, routes in ((2, _TRACE_V2), (3, _TRACE_V3))
    for r in routes
] + [
    # OTLP/HTTP span export (MLflow's FastAPI router; no /ajax-api twin).
    Route("/v1/traces", POST, tr.export_otlp, locked=False, fastapi=True),
    # The UI's trace view reads spans as a traces.json download (no /api twin).
    Route("/ajax-api/2.0/mlflow/get-trace-artifact", GET, tr.get_trace_artifact),
    Route("/ajax-api/3.0/mlflow/get-trace-artifact", GET, tr.get_trace_artifact),
]


# Trace analytics (QueryTraceMetrics, CalculateTraceFilterCorrelation) under /api/3.0 and
# its /ajax-api twin.
TRACE_METRICS_ROUTES: list[Route] = [
    route
    for api in ("api", "ajax-api")
    for route in (
        Route(f"/{api}/3.0/mlflow/traces/metrics", POST, trace_metrics.query_trace_metrics),
        Route(f"/{api}/3.0/mlflow/traces/calculate-filter-correlation", POST,
              trace_metrics.calculate_filter_correlation),
    )
]


# GenAI evaluation datasets (service.proto, "Evaluation Dataset APIs"), /api/3.0 and /ajax-api.
_DATASETS = [
    Route("/datasets/create", POST, ed.create_dataset),
    Route("/datasets/search", ("GET", "POST"), ed.search_datasets),
    Route("/datasets/<dataset_id>", GET, ed.get_dataset),
    Route("/datasets/<dataset_id>", DELETE, ed.delete_dataset),
    Route("/datasets/<dataset_id>/tags", PATCH, ed.set_dataset_tags),
    Route("/datasets/<dataset_id>/tags/<key>", DELETE, ed.delete_dataset_tag),
    Route("/datasets/<dataset_id>/records", POST, ed.upsert_dataset_records),
    Route("/datasets/<dataset_id>/records", GET, ed.get_dataset_records),
    Route("/datasets/<dataset_id>/records", DELETE, ed.delete_dataset_records),
    Route("/datasets/<dataset_id>/experiment-ids", GET, ed.get_dataset_experiment_ids),
    Route("/datasets/<dataset_id>/add-experiments", POST, ed.add_dataset_to_experiments),
    Route("/datasets/<dataset_id>/remove-experiments", POST, ed.remove_dataset_from_experiments),
]
EVAL_DATASET_ROUTES: list[Route] = [
    r._replace(path=f"/{api}/3.0/mlflow" + r.path) for api in ("api", "ajax-api") for r in _DATASETS
]


# Registered GenAI scorers under /api/3.0 and its /ajax-api twin.
SCORER_ROUTES: list[Route] = [
    route
    for api in ("api", "ajax-api")
    for route in (
        Route(f"/{api}/3.0/mlflow/scorers/register", POST, scorers.register_scorer),
        Route(f"/{api}/3.0/mlflow/scorers/list", GET, scorers.list_scorers),
        Route(f"/{api}/3.0/mlflow/scorers/versions", GET, scorers.list_scorer_versions),
        Route(f"/{api}/3.0/mlflow/scorers/get", GET, scorers.get_scorer),
        Route(f"/{api}/3.0/mlflow/scorers/delete", DELETE, scorers.delete_scorer),
        Route(f"/{api}/3.0/mlflow/scorers/online-configs", GET, scorers.online_scoring_configs),
    )
]

# Model-registry webhooks (webhooks.proto) under /api/2.0 and /ajax-api/2.0. The test POSTs to
# the webhook's URL on the request thread, so it runs without the store lock.
WEBHOOK_ROUTES: list[Route] = [
    route
    for api in ("api", "ajax-api")
    for route in (
        Route(f"/{api}/2.0/mlflow/webhooks", POST, wh.create_webhook),
        Route(f"/{api}/2.0/mlflow/webhooks", GET, wh.list_webhooks),
        Route(f"/{api}/2.0/mlflow/webhooks/<webhook_id>", GET, wh.get_webhook),
        Route(f"/{api}/2.0/mlflow/webhooks/<webhook_id>", PATCH, wh.update_webhook),
        Route(f"/{api}/2.0/mlflow/webhooks/<webhook_id>", DELETE, wh.delete_webhook),
        Route(f"/{api}/2.0/mlflow/webhooks/<webhook_id>/test", POST, wh.test_webhook,
              locked=False),
    )
]

# GenAI issues under /api/3.0 and its /ajax-api twin (issue detection, ajax-only "issues/invoke",
# needs an LLM and is not served). "issues/search" is POST only: a GET reads issue "search".
ISSUE_ROUTES: list[Route] = [
    route
    for api in ("api", "ajax-api")
    for route in (
        Route(f"/{api}/3.0/mlflow/issues", POST, issues.create_issue),
        Route(f"/{api}/3.0/mlflow/issues/search", POST, issues.search_issues),
        Route(f"/{api}/3.0/mlflow/issues/<issue_id>", PATCH, issues.update_issue),
        Route(f"/{api}/3.0/mlflow/issues/<issue_id>", GET, issues.get_issue),
    )
]


def all_routes() -> list[Route]:
    routes = [
        r._replace(path=prefix + r.path)
        for prefix in API_PREFIXES
        for r in TRACKING_ROUTES + REGISTRY_ROUTES + LOGGED_MODEL_ROUTES
    ]
    routes += [r._replace(path=prefix + r.path) for prefix in ARTIFACT_PREFIXES for r in ARTIFACT_ROUTES]
    from fakeflow.dialects.comet.routes import COMET_ROUTES  # it builds on Route, defined here

    routes += TRACE_ROUTES
    routes += TRACE_METRICS_ROUTES
    routes += SCORER_ROUTES
    routes += ISSUE_ROUTES
    routes += WEBHOOK_ROUTES
    routes += EVAL_DATASET_ROUTES
    routes += UI_SUPPORT_ROUTES
    routes += UNHANDLED_RPC_ROUTES
    return routes + SERVICE_ROUTES + UI_ROUTES + ARTIFACT_UI_ROUTES + COMET_ROUTES
