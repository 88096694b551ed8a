"""The side routes MLflow's web UI calls besides the tracking API: its telemetry switch, the
dataset list of the runs table, and the AI gateway, assistant, job and workspace probes
(registered scorers have their own handlers: scorer_handlers).

fakeflow hosts none of those features, so their routes answer exactly what a 3.17.2
``mlflow server`` with none of them configured answers; the UI then shows its "nothing set up"
states instead of error banners. Routes MLflow serves from FastAPI are marked so in the route
table: the app routes their other methods (HEAD and OPTIONS too) on to the Flask table.
"""

from __future__ import annotations

import json
import os
from typing import Any

from werkzeug.wrappers import Request, Response

from fakeflow.state.datasets import dataset_summaries
from fakeflow.state.errors import invalid, not_found
from fakeflow.state.tracking import TrackingStore
from fakeflow.web.messages import Message, S
from fakeflow.web.parsing import read_request

Payload = dict[str, Any]

SEARCH_DATASETS = Message("SearchDatasets", (S("experiment_ids", repeated=True),))
MAX_EXPERIMENT_IDS_PER_REQUEST = 20

#: The UI telemetry settings MLflow falls back to when it cannot (or may not) fetch its own.
_UI_TELEMETRY_CONFIG = {"disable_ui_telemetry": True, "disable_ui_events": [], "ui_rollout_percentage": 0}

#: Environment variables whose presence makes MLflow treat the process as CI or a test run.
_CI_VARIABLES = (
    "PYTEST_CURRENT_TEST", "GITHUB_ACTIONS", "CI", "CIRCLECI", "GITLAB_CI", "JENKINS_URL", "TRAVIS",
    "TF_BUILD", "BITBUCKET_BUILD_NUMBER", "CODEBUILD_BUILD_ARN", "BUILDKITE", "TEAMCITY_VERSION",
    "CLOUD_RUN_EXECUTION", "RUNBOT_HOST_URL", "RUNBOT_BUILD_NAME", "RUNBOT_WORKER_ID",
)

#: GET assistant/providers on a host with no assistant CLI installed and nothing configured.
_ASSISTANT_PROVIDERS = {
    "providers": [
        {"name": "claude_code", "display_name": "Claude Code",
         "description": "AI-powered assistant using Claude Code CLI", "available": False,
         "selected": False, "requires_api_key": False, "has_api_key": False,
         "allows_remote_access": False, "client_tool_delivery": "structured", "model_options": []},
        {"name": "codex", "display_name": "Codex", "description": "AI-powered assistant using the Codex CLI",
         "available": False, "selected": False, "requires_api_key": False, "has_api_key": False,
         "allows_remote_access": False, "client_tool_delivery": "structured", "model_options": []},
        {"name": "mlflow_gateway", "display_name": "MLflow AI Gateway",
         "description": ("AI-powered assistant backed by an MLflow AI Gateway endpoint configured"
                         " on this server."),
         "available": False, "selected": False, "requires_api_key": False, "has_api_key": False,
         "allows_remote_access": True, "client_tool_delivery": "tool", "model_options": []},
        {"name": "ollama", "display_name": "Ollama",
         "description": "AI-powered assistant using a locally running Ollama server.", "available": True,
         "selected": False, "requires_api_key": False, "has_api_key": False,
         "allows_remote_access": False, "client_tool_delivery": "tool", "model_options": []},
    ],
    "resolved": {"name": "ollama", "model": None, "auto_selected": True, "requires_api_key": False,
                 "has_api_key": False, "client_tool_delivery": "tool", "model_provider": None,
                 "model_options": [], "provider_model": None},
    "gateway_vendor_options": {"openai": ["gpt-5.5"], "anthropic": ["claude-sonnet-5"],
                               "gemini": ["gemini-3-pro"]},
}
_ASSISTANT_CONFIG = {"providers": {}, "projects": {}, "remote_access_allowed": False}


def _flask_json(value: Any) -> Response:
    """Flask's ``jsonify``: compact, keys sorted, a trailing newline."""
    text = json.dumps(value, separators=(",", ":"), sort_keys=True) + "\n"
    return Response(text, mimetype="application/json")


def _fastapi_json(value: Any) -> Response:
    """A FastAPI model answer: compact, fields in model order, no trailing newline."""
    return Response(json.dumps(value, separators=(",", ":")), mimetype="application/json")


def _env_flag(name: str) -> bool:
    value = os.environ.get(name)
    if value is None:
        return False
    if value.lower() not in ("true", "false", "1", "0"):
        raise ValueError(f"{name} is not a boolean")
    return value.lower() in ("true", "1")


def telemetry_disabled() -> bool:
    """MLflow's rule, read from this process's environment (as the real server reads its own)."""
    try:
        if _env_flag("_MLFLOW_TESTING_TELEMETRY"):
            return False
        return (
            _env_flag("MLFLOW_DISABLE_TELEMETRY")
            or os.environ.get("DO_NOT_TRACK", "false").lower() == "true"
            or any(name in os.environ for name in _CI_VARIABLES)
        )
    except ValueError:
        return True


def get_ui_telemetry(store: TrackingStore, request: Request) -> Response:
    # Enabled or not, a server with no network ends on the fallback settings: UI telemetry off.
    return _flask_json(_UI_TELEMETRY_CONFIG)


def post_ui_telemetry(store: TrackingStore, request: Request) -> Response:
    """Records are never kept; the answer tells the UI to stop unless it sent none."""
    if telemetry_disabled():
        return _flask_json({"status": "disabled"})
    body = _flask_request_json(request)
    if not isinstance(body, dict) or body.get("records", []):
        return _flask_json({"status": "disabled"})
    return _flask_json({"status": "success"})


def _flask_request_json(request: Request) -> Any:
    """Flask's ``request.json``; None where it would raise (wrong media type, bad JSON)."""
    mimetype = request.mimetype
    json_type = mimetype == "application/json" or (
        mimetype.startswith("application/") and mimetype.endswith("+json"))
    if not json_type:
        return None
    try:
        return json.loads(request.get_data(cache=True))
    except (ValueError, RecursionError):
        return None


def search_datasets(store: TrackingStore, request: Request) -> Payload:
    experiment_ids = read_request(request, SEARCH_DATASETS).get("experiment_ids") or []
    if not experiment_ids:
        raise invalid("SearchDatasets request must specify at least one experiment_id.")
    if len(experiment_ids) > MAX_EXPERIMENT_IDS_PER_REQUEST:
        raise invalid(
            f"SearchDatasets request cannot specify more than {MAX_EXPERIMENT_IDS_PER_REQUEST}"
            f" experiment_ids. Received {len(experiment_ids)} experiment_ids."
        )
    summaries = dataset_summaries(store, experiment_ids)
    return {"dataset_summaries": summaries} if summaries else {}


def gateway_proxy(store: TrackingStore, request: Request) -> Response:
    # With no MLFLOW_DEPLOYMENTS_TARGET, MLflow answers as an empty gateway, whatever was asked.
    return _flask_json({"endpoints": []})


def assistant_config(store: TrackingStore, request: Request) -> Response:
    return _fastapi_json(_ASSISTANT_CONFIG)


def assistant_providers(store: TrackingStore, request: Request) -> Response:
    return _fastapi_json(_ASSISTANT_PROVIDERS)


# ---- jobs: fakeflow runs no background jobs, so every job id is unknown ----------------------


def _job_id(request: Request) -> str:
    return request.path.rsplit("/", 1)[1]


def get_job(store: TrackingStore, request: Request) -> Payload:
    """The UI's job poller (Flask route): MLflow's not-found error."""
    raise not_found(f"Job with ID {_job_id(request)} not found")


def get_job_fastapi(store: TrackingStore, request: Request) -> Response:
    """The job router's GET and PATCH cancel: FastAPI's ``{"detail": ...}`` 404."""
    detail = {"detail": f"Job with ID {_job_id(request)} not found"}
    return Response(json.dumps(detail, separators=(",", ":")), status=404, mimetype="application/json")


# ---- workspaces: fakeflow is a server without ``--enable-workspaces`` -------------------------


def workspaces_disabled(store: TrackingStore, request: Request) -> Response:
    """MLflow's plain 503, which names the matched route pattern."""
    path = request.path
    rule = path if path.endswith("/workspaces") else path.rsplit("/", 1)[0] + "/<workspace_name>"
    text = (f"Endpoint: {rule} disabled because the server is running without workspaces support."
            " To enable workspace, run `mlflow server` with `--enable-workspaces`")
    return Response(text, status=503, mimetype="text/html")
