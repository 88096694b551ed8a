"""The vendor's headers: ``opc-request-id`` in and out, ``etag`` on single resources."""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from typing import Any

REQUEST_ID = "opc-request-id"
RETRY_TOKEN = "opc-retry-token"
USER_PRINCIPAL = "dh-user-principal"
ETAG = "etag"

ENV_REQUEST_ID = "HTTP_OPC_REQUEST_ID"
ENV_RETRY_TOKEN = "HTTP_OPC_RETRY_TOKEN"
ENV_USER_PRINCIPAL = "HTTP_DH_USER_PRINCIPAL"

_REQUEST_ID = re.compile(r"[A-Za-z0-9_-]+")
MAX_RETRY_TOKEN = 64


def request_id_problem(value: str | None) -> str | None:
    """Why a sent ``opc-request-id`` is refused (only letters, digits, ``_`` and ``-``), or None.
    An empty header counts as absent."""
    if not value or _REQUEST_ID.fullmatch(value):
        return None
    return ("Invalid opc-request-id: the only valid characters for request IDs are letters, "
            "numbers, underscore, and dash.")


def new_request_id() -> str:
    """32 upper-case hex digits: unique and within the documented alphabet."""
    return uuid.uuid4().hex.upper()


def retry_token_problem(value: str) -> str | None:
    if 1 <= len(value) <= MAX_RETRY_TOKEN:
        return None
    return (f"Invalid opc-retry-token: it must be 1 to {MAX_RETRY_TOKEN} characters long, "
            f"not {len(value)}.")


def etag_for(data: bytes) -> str | None:
    """An etag for an answer that returns one resource: a JSON object with a single member that
    is itself an object (``{"run": {...}}``, ``{"experiment": {...}}``). Lists, ids and empty
    answers get none. The tag is a digest of the resource, so it changes exactly when it does."""
    try:
        parsed: Any = json.loads(data)
    except ValueError:
        return None
    if not isinstance(parsed, dict) or len(parsed) != 1:
        return None
    (resource,) = parsed.values()
    if not isinstance(resource, dict):
        return None
    return hashlib.sha256(data).hexdigest()[:32]
