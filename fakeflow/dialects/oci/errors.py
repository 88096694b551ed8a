"""MLflow's error answers in Oracle's shape: ``{"code": ..., "message": ...}``.

One table maps MLflow's ``error_code`` to the status and code the vendor documents (400, 401,
404, 409, 429, 500). The codes follow Oracle Cloud's usual names. Where MLflow and the vendor
document different statuses, the vendor's wins on the prefixed routes:

* ``RESOURCE_ALREADY_EXISTS`` is 409 ``Conflict`` (MLflow: 400), the documented "conflicts with
  the current state of the resource";
* ``INVALID_STATE`` (e.g. logging to a deleted run) is 409 ``IncorrectState`` (MLflow: 500);
* ``PERMISSION_DENIED`` is 404 ``NotAuthorizedOrNotFound`` (the documentation lists no 403);
* ``BAD_REQUEST`` (e.g. renaming an experiment to a taken name) keeps a code of its own,
  ``BadRequest``, so that no two of MLflow's usual codes become one;
* codes the documentation is silent on (``NOT_IMPLEMENTED``, ``TEMPORARILY_UNAVAILABLE``,
  ``DEADLINE_EXCEEDED``, ``CANCELLED``) keep MLflow's status with an Oracle-style code;
* an unknown code is 500 ``InternalServerError``, as MLflow answers it.

Answers that are not MLflow JSON errors (Werkzeug's HTML 404/405, a 413, a refused Host) keep
their status and get a code by status (``BY_STATUS``).
"""

from __future__ import annotations

import json
from http import HTTPStatus

#: MLflow error_code -> (HTTP status, vendor code).
BY_ERROR_CODE: dict[str, tuple[int, str]] = {
    "INVALID_PARAMETER_VALUE": (400, "InvalidParameter"),
    "BAD_REQUEST": (400, "BadRequest"),
    "RESOURCE_ALREADY_EXISTS": (409, "Conflict"),
    "INVALID_STATE": (409, "IncorrectState"),
    "RESOURCE_DOES_NOT_EXIST": (404, "NotAuthorizedOrNotFound"),
    "NOT_FOUND": (404, "NotAuthorizedOrNotFound"),
    "ENDPOINT_NOT_FOUND": (404, "NotAuthorizedOrNotFound"),
    "PERMISSION_DENIED": (404, "NotAuthorizedOrNotFound"),
    "UNAUTHENTICATED": (401, "NotAuthenticated"),
    "CUSTOMER_UNAUTHORIZED": (401, "NotAuthenticated"),
    "ALREADY_EXISTS": (409, "Conflict"),
    "RESOURCE_CONFLICT": (409, "Conflict"),
    "ABORTED": (409, "Conflict"),
    "REQUEST_LIMIT_EXCEEDED": (429, "TooManyRequests"),
    "RESOURCE_EXHAUSTED": (429, "TooManyRequests"),
    "CANCELLED": (499, "Cancelled"),
    "INTERNAL_ERROR": (500, "InternalServerError"),
    "DATA_LOSS": (500, "InternalServerError"),
    "NOT_IMPLEMENTED": (501, "NotImplemented"),
    "TEMPORARILY_UNAVAILABLE": (503, "ServiceUnavailable"),
    "DEADLINE_EXCEEDED": (504, "GatewayTimeout"),
}
UNKNOWN = (500, "InternalServerError")

#: HTTP status -> vendor code, for answers that carry no MLflow error_code.
BY_STATUS: dict[int, str] = {
    400: "InvalidParameter",
    401: "NotAuthenticated",
    403: "NotAllowed",
    404: "NotAuthorizedOrNotFound",
    405: "MethodNotAllowed",
    409: "Conflict",
    411: "LengthRequired",
    413: "PayloadTooLarge",
    414: "UriTooLong",
    415: "UnsupportedMediaType",
    429: "TooManyRequests",
    431: "RequestHeaderFieldsTooLarge",
    500: "InternalServerError",
    501: "NotImplemented",
    503: "ServiceUnavailable",
    504: "GatewayTimeout",
}

#: Errors the dialect itself raises (before MLflow sees the request).
INVALID_PARAMETER = "InvalidParameter"
NOT_AUTHENTICATED = "NotAuthenticated"
LIMIT_EXCEEDED = "LimitExceeded"
RETRY_TOKEN_CONFLICT = "Conflict"


def body(code: str, message: str) -> bytes:
    return json.dumps({"code": code, "message": message}).encode("utf-8")


def reshape(status: int, content_type: str, data: bytes,
            keep_error_code: bool = False) -> tuple[int, bytes]:
    """An error answer of the MLflow app as the vendor's (status, body).

    ``keep_error_code`` also keeps MLflow's ``error_code`` in the body, for clients (MLflow's
    own) that branch on it."""
    parsed = _mlflow_error(content_type, data)
    if parsed is not None:
        error_code, message = parsed
        new_status, code = BY_ERROR_CODE.get(error_code, UNKNOWN)
        payload = {"code": code, "message": message}
        if keep_error_code:
            payload["error_code"] = error_code
        return new_status, json.dumps(payload).encode("utf-8")
    code = BY_STATUS.get(status, "UnknownError")
    return status, body(code, _plain_message(status, content_type, data))


def _mlflow_error(content_type: str, data: bytes) -> tuple[str, str] | None:
    if content_type.split(";", 1)[0].strip().lower() != "application/json":
        return None
    try:
        parsed = json.loads(data)
    except ValueError:
        return None
    if not isinstance(parsed, dict) or not isinstance(parsed.get("error_code"), str):
        return None
    message = parsed.get("message")
    return parsed["error_code"], message if isinstance(message, str) else ""


def _plain_message(status: int, content_type: str, data: bytes) -> str:
    """A text/plain answer's own words; an HTML page's status phrase (its markup is noise)."""
    if content_type.startswith("text/plain") and data:
        return data.decode("utf-8", "replace").strip()
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown Error"
