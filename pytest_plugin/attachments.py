"""Trace attachments for assertions: the ``mlflow.Attachment`` values traced code logged.

MLflow's client swaps an ``Attachment`` in a span's inputs or outputs for a reference string
``mlflow-attachment://<uuid>?content_type=…&trace_id=…&size=…`` and uploads the bytes beside the
trace. ``Span.attachments`` lists the references of a span, and ``fakeflow.attachment(ref)``
reads the bytes back the way MLflow's UI does (``get-trace-artifact?path=<uuid>``), from the
fake or from a real server alike::

    def test_picture_is_attached(fakeflow):
        describe(picture)
        (ref,) = fakeflow.traces.one().span("describe").attachments
        assert ref.content_type == "image/png"
        assert fakeflow.attachment(ref) == picture
"""

from __future__ import annotations

import urllib.parse
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterator

from pytest_plugin.rest import RestError

if TYPE_CHECKING:
    from pytest_plugin.rest import RestClient

SCHEME = "mlflow-attachment"
TRACE_ARTIFACT_ROUTE = "/ajax-api/2.0/mlflow/get-trace-artifact"


@dataclass(frozen=True)
class AttachmentRef:
    """One attachment reference as it appears in a span: its id (a UUID), the content type
    and size the client recorded, the trace it belongs to, and the reference string itself."""

    attachment_id: str
    content_type: str
    trace_id: str
    size: int | None
    uri: str


def parse_ref(text: str) -> AttachmentRef | None:
    """The reference in ``text``, or ``None`` if it is not a complete attachment reference."""
    parsed = urllib.parse.urlsplit(text)
    if parsed.scheme != SCHEME or not parsed.netloc:
        return None
    query = urllib.parse.parse_qs(parsed.query)
    content_type = query.get("content_type", [""])[0]
    trace_id = query.get("trace_id", [""])[0]
    if not content_type or not trace_id:
        return None
    size_text = query.get("size", [""])[0]
    size = int(size_text) if size_text.isdigit() and int(size_text) > 0 else None
    return AttachmentRef(parsed.netloc, content_type, trace_id, size, text)


def find_refs(value: Any) -> list[AttachmentRef]:
    """Every attachment reference inside ``value`` (nested dicts and lists), in order."""
    return list(_walk(value))


def _walk(value: Any) -> Iterator[AttachmentRef]:
    if isinstance(value, str):
        ref = parse_ref(value)
        if ref is not None:
            yield ref
    elif isinstance(value, dict):
        for item in value.values():
            yield from _walk(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _walk(item)


def read(rest: "RestClient", ref: AttachmentRef | str, trace_id: str | None = None) -> bytes:
    """The bytes of an attachment, given its reference (or reference string, or its id with
    ``trace_id``); the server's refusal raises ``RestError``."""
    if isinstance(ref, str):
        parsed = parse_ref(ref)
        if parsed is None:
            if trace_id is None:
                raise ValueError(f"not an attachment reference: {ref!r} (pass trace_id= "
                                 "with a bare attachment id)")
            attachment_id = ref
        else:
            attachment_id, trace_id = parsed.attachment_id, trace_id or parsed.trace_id
    else:
        attachment_id, trace_id = ref.attachment_id, trace_id or ref.trace_id
    answer = rest.get(TRACE_ARTIFACT_ROUTE, {"request_id": trace_id, "path": attachment_id})
    if answer.status_code >= 400:
        try:
            body = answer.json()
        except ValueError:
            body = None
        if isinstance(body, dict):
            raise RestError(answer.status_code, body.get("error_code"),
                            str(body.get("message", "")))
        raise RestError(answer.status_code, None, answer.text)
    return answer.content


__all__ = ["AttachmentRef", "find_refs", "parse_ref", "read"]
