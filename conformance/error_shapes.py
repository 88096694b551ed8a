"""Vendor error shapes, read back as MLflow's so that the suites compare semantics.

A vendor that mounts MLflow may answer errors in its own documented form. ``oci`` is Oracle AI
Data Platform's: ``{"code": ..., "message": ...}`` with the vendor's statuses. Read back, such an
answer becomes MLflow's ``{"error_code": ..., "message": ...}`` with MLflow's status, through
the table below (this package's own reference, independent of any server's code), with the
``sqlstate``/``error_class`` MLflow 3.17 derives from the code; an error whose message is just
its status phrase is the vendor's wrapping of a non-JSON page and reads back as one. A body that
also carries MLflow's ``error_code`` is read by that code. Where the vendor's codes are coarser
than MLflow's (``NotAuthorizedOrNotFound`` is also ``ENDPOINT_NOT_FOUND`` and
``PERMISSION_DENIED``), an answer reads back as the usual code; the suites meet none of those.
"""

from __future__ import annotations

import json
from http import HTTPStatus

from .model import error_body
from .transport import Reply

SHAPES = ("mlflow", "oci")

#: vendor code -> (MLflow's status, MLflow's error_code) for Oracle AI Data Platform.
OCI_CODES: dict[str, tuple[int, str]] = {
    "InvalidParameter": (400, "INVALID_PARAMETER_VALUE"),
    "BadRequest": (400, "BAD_REQUEST"),
    "Conflict": (400, "RESOURCE_ALREADY_EXISTS"),
    "IncorrectState": (500, "INVALID_STATE"),
    "NotAuthorizedOrNotFound": (404, "RESOURCE_DOES_NOT_EXIST"),
    "NotAuthenticated": (401, "UNAUTHENTICATED"),
    "TooManyRequests": (429, "REQUEST_LIMIT_EXCEEDED"),
    "InternalServerError": (500, "INTERNAL_ERROR"),
    "NotImplemented": (501, "NOT_IMPLEMENTED"),
    "ServiceUnavailable": (503, "TEMPORARILY_UNAVAILABLE"),
}
#: MLflow's statuses of the codes a body may name itself (``error_code`` kept by the vendor).
MLFLOW_STATUS: dict[str, int] = {
    "INVALID_PARAMETER_VALUE": 400, "BAD_REQUEST": 400, "RESOURCE_ALREADY_EXISTS": 400,
    "INVALID_STATE": 500, "RESOURCE_DOES_NOT_EXIST": 404, "NOT_FOUND": 404,
    "ENDPOINT_NOT_FOUND": 404, "PERMISSION_DENIED": 403, "UNAUTHENTICATED": 401,
    "REQUEST_LIMIT_EXCEEDED": 429, "INTERNAL_ERROR": 500, "NOT_IMPLEMENTED": 501,
    "TEMPORARILY_UNAVAILABLE": 503,
}


def as_mlflow(shape: str, reply: Reply) -> Reply:
    """``reply`` as MLflow would have put it (unchanged for ``mlflow`` and for non-errors)."""
    if shape == "mlflow" or reply.status < 400:
        return reply
    if shape != "oci":
        raise ValueError(f"unknown error shape {shape!r}; known: {', '.join(SHAPES)}")
    body = reply.json
    if not isinstance(body, dict) or set(body) - {"code", "message", "error_code"} \
            or not isinstance(body.get("code"), str):
        return reply
    if _is_page(reply.status, body.get("message")):
        # A page (HTML 404/405/500) the vendor wrapped: its message is the status phrase.
        return Reply(reply.status, "text/html; charset=utf-8", body["message"])
    kept = body.get("error_code")
    if isinstance(kept, str) and kept in MLFLOW_STATUS:
        status, error_code = MLFLOW_STATUS[kept], kept
    elif body["code"] in OCI_CODES:
        status, error_code = OCI_CODES[body["code"]]
    else:
        return reply
    text = json.dumps(error_body(error_code, body.get("message", "")))
    return Reply(status, reply.content_type, text)


def _is_page(status: int, message: object) -> bool:
    try:
        return message == HTTPStatus(status).phrase
    except ValueError:
        return False
