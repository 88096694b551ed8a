"""The Comet dialect's paths: the version probe under ``/clientlib`` and Comet's REST API v2
under ``/api/rest/v2``, served at the server root beside MLflow's routes (no path collides).

Methods are those comet-ml 3.58.8 sends: several writes go out as GET.
"""

from __future__ import annotations

from fakeflow.dialects.comet.answers import endpoint
from fakeflow.web.lazy_handlers import handlers
from fakeflow.web.routes import Route

# Imported on the first Comet request, like the app's own handler modules.
r = handlers("fakeflow.dialects.comet.reads")
reg = handlers("fakeflow.dialects.comet.registry")
w = handlers("fakeflow.dialects.comet.writes")

REST = "/api/rest/v2"
GET, POST, BOTH = ("GET",), ("POST",), ("GET", "POST")

_TABLE: tuple[tuple[str, tuple[str, ...], object], ...] = (
    ("/clientlib/isAlive/ver", GET, r.is_alive),
    (REST + "/account-details", GET, r.account_details),
    (REST + "/workspaces", GET, r.workspaces),
    (REST + "/projects", GET, r.projects),
    (REST + "/project", GET, r.project),
    (REST + "/project/notes", GET, r.project_notes),
    (REST + "/project/column-names", GET, r.column_names),
    (REST + "/project/query", POST, r.query),
    (REST + "/project/get-project-share-links", GET, w.share_keys),
    (REST + "/experiments", GET, r.experiments),
    (REST + "/experiment/metadata", GET, r.metadata),
    (REST + "/experiment/metrics/get-all", GET, r.metrics_all),
    (REST + "/experiment/metrics/get-metric", GET, r.metric),
    (REST + "/experiment/metrics/summary", GET, r.metrics_summary),
    (REST + "/experiment/parameters", GET, r.parameters),
    (REST + "/experiment/log-other", GET, r.others),
    (REST + "/experiment/tags", GET, r.tags),
    (REST + "/experiment/asset/list", GET, r.asset_list),
    (REST + "/experiment/asset/get-by-name", GET, r.asset_by_name),
    (REST + "/experiment/asset/get-asset", GET, r.get_asset),
    (REST + "/experiments/multi-metric-chart", POST, r.multi_metric_chart),
    (REST + "/write/experiment/archive", BOTH, w.archive),
    (REST + "/write/experiment/restore", BOTH, w.restore),
    (REST + "/write/experiment/delete", BOTH, w.delete),
    (REST + "/write/experiment/stop", BOTH, w.stop),
    (REST + "/write/experiment/move", POST, w.move),
    (REST + "/write/experiment/create", POST, w.create_experiment),
    (REST + "/write/experiment/parameter", POST, w.log_parameter),
    (REST + "/write/experiment/metric", POST, w.log_metric),
    (REST + "/write/experiment/log-other", POST, w.log_other),
    (REST + "/write/experiment/tags", POST, w.add_tags),
    (REST + "/write/experiment/tags/delete", POST, w.delete_tags),
    (REST + "/write/project/create", POST, w.create_project),
    (REST + "/write/project/update", POST, w.update_project),
    (REST + "/write/project/delete", POST, w.delete_project),
    (REST + "/write/project/notes", POST, w.set_notes),
    (REST + "/write/project/add-share-link", BOTH, w.add_share_key),
    (REST + "/write/project/delete-project-share-link", BOTH, w.delete_share_key),
    (REST + "/registry-model", GET, reg.models),
    (REST + "/registry-model/count", GET, reg.count),
    (REST + "/registry-model/details", GET, reg.details),
    (REST + "/registry-model/notes", GET, reg.notes),
    (REST + "/registry-model/allowed_status_values", GET, reg.allowed_status),
    (REST + "/registry-model/latest_version", GET, reg.latest_version),
    (REST + "/registry-model/compact-details", GET, reg.compact_details),
    (REST + "/registry-model/items", GET, reg.items),
    (REST + "/registry-model/item/details", GET, reg.item_details),
    (REST + "/write/registry-model/item/status", POST, reg.set_status),
    (REST + "/registry-model/item/download", GET, reg.download),
    (REST + "/registry-model/item/download-instructions", GET, reg.download_instructions),
    (REST + "/write/registry-model/update", POST, reg.update_model),
    (REST + "/write/registry-model/notes", POST, reg.set_notes),
    (REST + "/write/registry-model/delete", BOTH, reg.delete_model),
    (REST + "/write/registry-model/item/update", POST, reg.update_version),
    (REST + "/write/registry-model/item/delete", BOTH, reg.delete_version),
    (REST + "/write/registry-model/item/stage", BOTH, reg.add_stage),
    (REST + "/write/registry-model/item/stage/delete", BOTH, reg.delete_stage),
    (REST + "/artifacts/get-all", GET, reg.artifact_list),
    (REST + "/artifacts/get", GET, reg.artifact_missing),
    (REST + "/artifacts/version", GET, reg.artifact_missing),
    (REST + "/artifacts/version/files", GET, reg.artifact_missing),
)

COMET_ROUTES: list[Route] = [Route(path, methods, endpoint(handler))  # type: ignore[arg-type]
                             for path, methods, handler in _TABLE]
