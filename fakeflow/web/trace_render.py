"""Traces, spans and assessments as MLflow 3.17.2 writes them in proto JSON.

Trace-info answers are compact JSON (MLflow renders them with ``separators=(",", ":")``); the
assessment routes are pretty-printed like every other route. Spans go out as OpenTelemetry
protobuf spans: ids in base64, attribute values decoded from their stored JSON into ``AnyValue``.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import math
from typing import Any

from fakeflow.state.traces import Assessment, Trace, json_or_raw
from fakeflow.web.render import RawJSON

Payload = dict[str, Any]
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)


def compact(payload: Payload) -> RawJSON:
    return RawJSON(json.dumps(payload, separators=(",", ":")))


def timestamp(ms: int) -> str:
    """A google.protobuf.Timestamp in JSON: UTC, 'Z', 0/3 fractional digits as protobuf does."""
    seconds, millis = divmod(ms, 1000)
    text = (_EPOCH + dt.timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%S")
    return text + (f".{millis:03d}Z" if millis else "Z")


def duration(ms: int) -> str:
    """A google.protobuf.Duration in JSON (``"0.031s"``, ``"2s"``)."""
    sign = "-" if ms < 0 else ""
    seconds, millis = divmod(abs(ms), 1000)
    return f"{sign}{seconds}.{millis:03d}s" if millis else f"{sign}{seconds}s"


def parse_timestamp_ms(text: str) -> int:
    """A google.protobuf.Timestamp in JSON (RFC 3339) as milliseconds."""
    if not isinstance(text, str) or not text.endswith(("Z", "z")) and "+" not in text[10:]:
        raise ValueError(text)
    head, _, frac = text.rstrip("Zz").partition(".")
    when = dt.datetime.strptime(head, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=dt.timezone.utc)
    millis = int((frac + "000")[:3]) if frac else 0
    return int(when.timestamp()) * 1000 + millis


def parse_duration_ms(text: str) -> int:
    if not isinstance(text, str) or not text.endswith("s"):
        raise ValueError(text)
    return round(float(text[:-1]) * 1000)


#: What MLflow shows of a trace's metadata and tags (stored whole, cut when rendered).
METADATA_LIMIT = 250
TAG_KEY_LIMIT = 250
TAG_VALUE_LIMIT = 4096


def shown_metadata(metadata: dict[str, str]) -> dict[str, str]:
    return {k[:METADATA_LIMIT]: v[:METADATA_LIMIT] for k, v in metadata.items()}


def shown_tags(tags: dict[str, str]) -> dict[str, str]:
    return {k[:TAG_KEY_LIMIT]: v[:TAG_VALUE_LIMIT] for k, v in tags.items()}


def trace_info(trace: Trace) -> Payload:
    """TraceInfoV3, fields in proto number order, unset ones left out."""
    out: Payload = {"trace_id": trace.trace_id}
    if trace.client_request_id:
        out["client_request_id"] = trace.client_request_id
    out["trace_location"] = {"type": "MLFLOW_EXPERIMENT",
                             "mlflow_experiment": {"experiment_id": trace.experiment_id}}
    out["request_time"] = timestamp(trace.request_time)
    if trace.execution_duration is not None:
        out["execution_duration"] = duration(trace.execution_duration)
    out["state"] = trace.state
    if trace.metadata:
        out["trace_metadata"] = shown_metadata(trace.metadata)
    if trace.assessments:
        out["assessments"] = [assessment(a) for a in trace.assessments]
    if trace.tags:
        out["tags"] = shown_tags(trace.tags)
    if trace.request_preview is not None:  # proto3 optional: an empty preview is still sent
        out["request_preview"] = trace.request_preview
    if trace.response_preview is not None:
        out["response_preview"] = trace.response_preview
    return out


def assessment(a: Assessment) -> Payload:
    out: Payload = {"assessment_id": a.assessment_id, "assessment_name": a.name,
                    "trace_id": a.trace_id}
    if a.span_id:
        out["span_id"] = a.span_id
    source: Payload = {"source_type": a.source_type}
    if a.source_id:
        source["source_id"] = a.source_id
    out["source"] = source
    out["create_time"] = timestamp(a.create_time_ms)
    out["last_update_time"] = timestamp(a.last_update_time_ms)
    if a.kind == "feedback":
        # a feedback without a value reads back as a null Value in MLflow, never as no value
        feedback: Payload = {"value": a.value}
        if a.error:
            feedback["error"] = dict(a.error)
        out["feedback"] = feedback
    elif a.kind == "expectation":
        expectation: Payload = {}
        if a.serialized_value is not None:
            expectation["serialized_value"] = dict(a.serialized_value)
        elif a.value is not None:
            expectation["value"] = a.value
        out["expectation"] = expectation
    if a.rationale is not None:
        out["rationale"] = a.rationale
    if a.metadata:
        out["metadata"] = dict(a.metadata)
    if a.overrides:
        out["overrides"] = a.overrides
    out["valid"] = a.valid
    if a.kind == "issue":  # the last field of MLflow's Assessment message
        out["issue"] = {"issue_name": (a.value or {}).get("issue_name", "")}
    return out


def any_value(value: Any) -> Payload:
    """An OTel ``AnyValue`` for a decoded attribute value (None stays unset)."""
    if value is None:
        return {}
    if isinstance(value, bool):
        return {"bool_value": value}
    if isinstance(value, str):
        return {"string_value": value}
    if isinstance(value, int):
        return {"int_value": value}
    if isinstance(value, float):
        if math.isnan(value):
            return {"double_value": "NaN"}
        if math.isinf(value):
            return {"double_value": "Infinity" if value > 0 else "-Infinity"}
        return {"double_value": value}
    if isinstance(value, (list, tuple)):
        items = [any_value(v) for v in value]
        return {"array_value": {"values": items} if items else {}}
    if isinstance(value, dict):
        pairs = [{"key": str(k), "value": any_value(v)} for k, v in value.items()]
        return {"kvlist_value": {"values": pairs} if pairs else {}}
    return {"string_value": str(value)}


def _key_values(attributes: dict[str, Any], stored_as_json: bool) -> list[Payload]:
    return [{"key": key, "value": any_value(json_or_raw(value) if stored_as_json else value)}
            for key, value in attributes.items()]


def span(doc: dict[str, Any]) -> Payload:
    """One stored span document as an OTel protobuf span in proto JSON."""
    out: Payload = {"trace_id": doc["trace_id"], "span_id": doc["span_id"]}
    if doc.get("parent_span_id"):
        out["parent_span_id"] = doc["parent_span_id"]
    if doc.get("name"):
        out["name"] = doc["name"]
    if doc.get("start_time_unix_nano"):
        out["start_time_unix_nano"] = doc["start_time_unix_nano"]
    if doc.get("end_time_unix_nano"):
        out["end_time_unix_nano"] = doc["end_time_unix_nano"]
    if doc.get("attributes"):
        out["attributes"] = _key_values(doc["attributes"], True)
    events = []
    for event in doc.get("events") or []:
        rendered: Payload = {}
        if event.get("time_unix_nano"):
            rendered["time_unix_nano"] = event["time_unix_nano"]
        if event.get("name"):
            rendered["name"] = event["name"]
        if event.get("attributes"):
            rendered["attributes"] = _key_values(event["attributes"], False)
        events.append(rendered)
    if events:
        out["events"] = events
    status: Payload = {}
    code = doc.get("status", {}).get("code", "STATUS_CODE_UNSET")
    if code == "STATUS_CODE_ERROR" and doc["status"].get("message"):
        status["message"] = doc["status"]["message"]
    if code != "STATUS_CODE_UNSET":
        status["code"] = code
    out["status"] = status
    return out


def trace_with_spans(trace: Trace, spans: list[dict[str, Any]]) -> Payload:
    out: Payload = {"trace_info": trace_info(trace)}
    if spans:
        out["spans"] = [span(doc) for doc in spans]
    return out


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")
