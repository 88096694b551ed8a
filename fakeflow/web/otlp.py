"""OTLP/HTTP trace export bodies (protobuf or JSON) into MLflow's stored span documents.

Decoding uses ``opentelemetry-proto`` (the ``tracing`` extra; the MLflow client already depends
on it). A span becomes what MLflow's server stores: ids in base64, attribute values dumped to
JSON once, the request id attribute derived from the OTel trace id, status and events kept.
"""

from __future__ import annotations

import base64
import json
from typing import Any

Span = dict[str, Any]


class OtlpError(Exception):
    """A refused export: the HTTP status and FastAPI's ``detail``."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


def _proto_modules() -> Any:
    try:
        from google.protobuf import json_format
        from opentelemetry.proto.collector.trace.v1 import trace_service_pb2
    except ImportError as error:  # pragma: no cover - depends on the environment
        raise OtlpError(501, "fakeflow needs opentelemetry-proto for OTLP: "
                             "pip install 'fakeflow[tracing]'") from error
    return trace_service_pb2, json_format


def _hex_ids_to_base64(body: bytes) -> bytes:
    data = json.loads(body)
    for resource_span in data.get("resourceSpans", []):
        for scope_span in resource_span.get("scopeSpans", []):
            for span in scope_span.get("spans", []):
                for key in ("traceId", "spanId", "parentSpanId"):
                    if span.get(key):
                        span[key] = base64.b64encode(bytes.fromhex(span[key])).decode("ascii")
    return json.dumps(data).encode("utf-8")


def parse_export(body: bytes, media_type: str) -> Any:
    """The ExportTraceServiceRequest, or OtlpError(400) as MLflow refuses a bad body."""
    trace_service_pb2, json_format = _proto_modules()
    request = trace_service_pb2.ExportTraceServiceRequest()
    from google.protobuf.message import DecodeError

    try:
        if media_type == "application/json":
            json_format.Parse(_hex_ids_to_base64(body), request, ignore_unknown_fields=True)
        else:
            request.ParseFromString(body)
    except (DecodeError, json_format.ParseError, ValueError):
        raise OtlpError(400, "Invalid OpenTelemetry format")
    except Exception:
        # MLflow's route catches only the errors above: a body of the wrong shape (a list, an
        # int where spans belong) escapes it, and Starlette answers a plain-text 500
        raise OtlpError(500, "Internal Server Error")
    if not request.resource_spans:
        raise OtlpError(400, "Invalid OpenTelemetry format - no spans found")
    return request


def any_value(value: Any) -> Any:
    kind = value.WhichOneof("value")
    if kind is None:
        return None
    if kind == "array_value":
        return [any_value(v) for v in value.array_value.values]
    if kind == "kvlist_value":
        return {kv.key: any_value(kv.value) for kv in value.kvlist_value.values}
    return getattr(value, kind)


def _dump(value: Any) -> str:
    if isinstance(value, bytes):
        value = base64.b64encode(value).decode("ascii")
    return json.dumps(value, ensure_ascii=False)


_STATUS = {1: "STATUS_CODE_OK", 2: "STATUS_CODE_ERROR"}


def to_document(span: Any) -> tuple[str, Span]:
    """(MLflow trace id, stored span document) for one OTel protobuf span."""
    if not span.trace_id or not span.span_id:
        raise ValueError("trace_id and span_id are required")
    trace_int = int.from_bytes(span.trace_id, "big")
    span_int = int.from_bytes(span.span_id, "big")
    trace_id = f"tr-{trace_int:032x}"
    attributes = {attr.key: _dump(any_value(attr.value)) for attr in span.attributes}
    attributes["mlflow.traceRequestId"] = json.dumps(trace_id)
    code = _STATUS.get(span.status.code, "STATUS_CODE_UNSET")
    parent = None
    if span.parent_span_id:
        parent = base64.b64encode(
            int.from_bytes(span.parent_span_id, "big").to_bytes(8, "big")).decode("ascii")
    document: Span = {
        "trace_id": base64.b64encode(trace_int.to_bytes(16, "big")).decode("ascii"),
        "span_id": base64.b64encode(span_int.to_bytes(8, "big")).decode("ascii"),
        "parent_span_id": parent,
        "name": span.name,
        "start_time_unix_nano": span.start_time_unix_nano,
        "end_time_unix_nano": span.end_time_unix_nano or None,
        "events": [
            {"name": event.name, "time_unix_nano": event.time_unix_nano,
             "attributes": {a.key: any_value(a.value) for a in event.attributes}}
            for event in span.events
        ],
        "status": {"code": code,
                   "message": span.status.message if code == "STATUS_CODE_ERROR" else ""},
        "attributes": attributes,
        "links": [],
    }
    return trace_id, document


def decode_spans(request: Any) -> tuple[list[tuple[str, Span]], dict[str, dict[str, str]]]:
    """Every span of the export, and per trace the resource attributes that become tags."""
    spans: list[tuple[str, Span]] = []
    resource_tags: dict[str, dict[str, str]] = {}
    for resource_span in request.resource_spans:
        attributes = {a.key: any_value(a.value) for a in resource_span.resource.attributes}
        tags = {k: v if isinstance(v, str) else json.dumps(v) for k, v in attributes.items()
                if not k.startswith(("telemetry.sdk.", "mlflow."))}
        for scope_span in resource_span.scope_spans:
            for span in scope_span.spans:
                try:
                    trace_id, document = to_document(span)
                except Exception:
                    raise OtlpError(422, "Cannot convert OpenTelemetry span to MLflow span")
                spans.append((trace_id, document))
                if tags:
                    resource_tags.setdefault(trace_id, {}).update(tags)
    return spans, resource_tags


def export_as_json(body: bytes) -> Any:
    """An export body (protobuf or JSON) as OTLP's proto JSON, for the request log; None if it
    is neither."""
    if not body:
        return None
    try:
        return json.loads(body)
    except ValueError:
        pass
    try:
        trace_service_pb2, json_format = _proto_modules()
        request = trace_service_pb2.ExportTraceServiceRequest()
        request.ParseFromString(body)
        return json_format.MessageToDict(request)
    except Exception:
        return None
