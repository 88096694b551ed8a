"""Health, version and server-info: the non-API routes a client probes."""

from __future__ import annotations

import json

from werkzeug.wrappers import Request, Response

from fakeflow.state.tracking import TrackingStore

MLFLOW_VERSION = "3.17.2"

_SERVER_INFO = {
    "store_type": "SqlStore",
    "workspaces_enabled": False,
    "trace_archival_enabled": False,
    "multipart_uploads_enabled": False,
    "multipart_downloads_enabled": False,
    "presigned_upload_run_id_supported": True,
    "presigned_upload_model_id_supported": True,
    "features_enabled": {"gateway": True},
}


def health(store: TrackingStore, request: Request) -> Response:
    # GET is answered by MLflow's FastAPI layer; HEAD falls through to Flask's text/html route.
    return Response("OK", mimetype="text/html" if request.method == "HEAD" else "text/plain")


def version(store: TrackingStore, request: Request) -> Response:
    return Response(MLFLOW_VERSION, mimetype="text/html")


def server_info(store: TrackingStore, request: Request) -> Response:
    return Response(json.dumps(_SERVER_INFO, separators=(",", ":")), mimetype="application/json")


def unhandled_rpc(store: TrackingStore, request: Request) -> Response:
    """An RPC MLflow's server registers from its protos but has no handler for (Databricks
    ones): an empty 404, not the 404 page of an unknown path."""
    return Response(b"", status=404, mimetype="text/html")
