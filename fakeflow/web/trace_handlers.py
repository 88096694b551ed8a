"""Handlers for MLflow 3 tracing: trace info (v3), OTLP span export, reads, search, tags,
deletion and assessments. Parse, call the trace store, render."""

from __future__ import annotations

import json
import re
from typing import Any

from werkzeug.exceptions import InternalServerError
from werkzeug.wrappers import Request, Response

from fakeflow.state.errors import MlflowError, invalid
from fakeflow.state.trace_analytics import AnalyticsCrash, in_row_order
from fakeflow.state.traces import (
    DELETABLE_IMMUTABLE_TAGS,
    IMMUTABLE_TAGS,
    SOURCE_TYPES,
    SPANS_NOT_STORED,
    STATES,
    Assessment,
    Trace,
    TraceStore,
)
from fakeflow.state.tracking import TrackingStore
from fakeflow.web import otlp
from fakeflow.web import trace_artifacts as files
from fakeflow.web import trace_render as render
from fakeflow.web.messages import Field, M, Message, S
from fakeflow.web.parsing import (
    ARRAY,
    BOOL,
    CheckFailed,
    INTLIKE,
    ITEM_STRINGS,
    REQUIRED,
    STRING,
    read_json_body,
    read_request,
)

Payload = dict[str, Any]
_OPAQUE = Message("Opaque")

START_TRACE_V3 = Message("StartTraceV3", (M("trace", _OPAQUE, repeated=False),))
GET_TRACE = Message("GetTrace", (S("trace_id"), Field("allow_partial", "bool")))
BATCH_GET = Message("BatchGetTraces", (S("trace_ids", repeated=True),
                                       S("experiment_ids", repeated=True)))
SEARCH_TRACES_V3 = Message("SearchTracesV3", (
    M("locations", Message("TraceLocation", (
        Field("type", "enum", enum=(("TRACE_LOCATION_TYPE_UNSPECIFIED", 0),
                                    ("MLFLOW_EXPERIMENT", 1), ("INFERENCE_TABLE", 2),
                                    ("UC_SCHEMA", 4), ("UC_TABLE_PREFIX", 5))),
        M("mlflow_experiment", Message("MlflowExperimentLocation", (S("experiment_id"),)),
          repeated=False),
        M("inference_table", _OPAQUE, repeated=False),
    ))),
    S("filter"), Field("max_results", "int32"), S("order_by", repeated=True), S("page_token"),
))
DELETE_TRACES = Message("DeleteTraces", (S("experiment_id"), Field("max_timestamp_millis", "int64"),
                                         Field("max_traces", "int32"),
                                         S("request_ids", repeated=True)))
SET_TRACE_TAG = Message("SetTraceTag", (S("request_id"), S("key"), S("value")))
DELETE_TRACE_TAG = Message("DeleteTraceTag", (S("request_id"), S("key")))
# The /3.0 routes read the V3 messages, which name the trace "trace_id" ("request_id" is unknown)
SET_TRACE_TAG_V3 = Message("SetTraceTagV3", (S("trace_id"), S("key"), S("value")))
DELETE_TRACE_TAG_V3 = Message("DeleteTraceTagV3", (S("trace_id"), S("key")))
LINK_TO_RUN = Message("LinkTracesToRun", (S("trace_ids", repeated=True), S("run_id")))
LINK_PROMPTS = Message("LinkPromptsToTrace", (
    S("trace_id"),
    M("prompt_versions", Message("PromptVersionRef", (S("name"), S("version")))),
))
_ASSESSMENT_ERROR = Message("AssessmentError", (S("error_code"), S("error_message"), S("stack_trace")))
ASSESSMENT = Message("Assessment", (
    S("assessment_id"), S("assessment_name"), S("trace_id"), S("span_id"),
    M("source", Message("AssessmentSource", (
        Field("source_type", "enum", enum=tuple((name, i) for i, name in enumerate(SOURCE_TYPES))),
        S("source_id"))), repeated=False),
    Field("create_time", "timestamp"), Field("last_update_time", "timestamp"),
    M("feedback", Message("Feedback", (Field("value", "value"), M("error", _ASSESSMENT_ERROR,
                                                                   repeated=False))), repeated=False),
    M("expectation", Message("Expectation", (
        Field("value", "value"),
        M("serialized_value", Message("SerializedValue", (S("serialization_format"), S("value"))),
          repeated=False))), repeated=False),
    M("issue", Message("IssueReference", (S("issue_name"),)), repeated=False),
    S("rationale"), M("error", _ASSESSMENT_ERROR, repeated=False), Field("metadata", "map"),
    S("overrides"), Field("valid", "bool"),
))
# MLflow reads the assessment as protobuf parses it: up to its first bad value, the rest dropped
CREATE_ASSESSMENT = Message("CreateAssessment", (M("assessment", ASSESSMENT, repeated=False),))
# a FieldMask is a string in JSON: anything else stops protobuf's parse there
UPDATE_ASSESSMENT = Message("UpdateAssessment", (M("assessment", ASSESSMENT, repeated=False),
                                                 S("update_mask")))


def _traces(store: TrackingStore) -> TraceStore:
    return store.traces


def _path_after(request: Request, marker: str) -> list[str]:
    return request.path.split(marker, 1)[1].split("/")


def _ms(value: Any, parse: Any) -> int | None:
    if value is None:
        return None
    try:
        return parse(value)
    except (ValueError, TypeError):
        raise invalid(f"Failed to parse {value!r}")


def _string_map(value: Any) -> dict[str, str]:
    if not value:
        return {}
    if isinstance(value, list):  # proto-style [{key, value}] is accepted too
        return {item.get("key", ""): item.get("value", "") for item in value}
    return {str(k): str(v) for k, v in value.items()}


def _assessment_from_json(raw: dict[str, Any], trace_id: str, now: int) -> Assessment:
    source = raw.get("source") or {}
    source_type = source.get("source_type") or source.get("sourceType") or "SOURCE_TYPE_UNSPECIFIED"
    if isinstance(source_type, int):
        source_type = SOURCE_TYPES[source_type] if 0 <= source_type < len(SOURCE_TYPES) else ""
    error, serialized = None, None
    if raw.get("expectation") is not None:
        kind = "expectation"
        expectation = raw["expectation"]
        value = _as_proto_value(expectation.get("value"))
        serialized = expectation.get("serialized_value") or expectation.get("serializedValue")
        if serialized is not None:
            value = json.loads(serialized.get("value", "null"))
        elif value is None:  # MLflow's Expectation refuses a missing (or null) value
            raise invalid("The `value` field must be specified.")
        if value is not None and not isinstance(value, (int, float, bool, str)):
            serialized = {"serialization_format": "JSON_FORMAT", "value": json.dumps(value)}
    elif raw.get("feedback") is not None:
        kind = "feedback"
        feedback = raw["feedback"]
        value = _as_proto_value(feedback.get("value"))
        error = feedback.get("error")
    elif raw.get("issue") is not None:
        # an issue reference: its name is the issue id (never checked), its value the issue name
        kind = "issue"
        value = {"issue_name": raw["issue"].get("issue_name", "")}
    else:
        raise invalid("Unknown assessment type: None")
    create = raw.get("create_time") or raw.get("createTime")
    update = raw.get("last_update_time") or raw.get("lastUpdateTime")
    create_ms = _ms(create, render.parse_timestamp_ms) if create else now
    return Assessment(
        # none given: the store draws one once the request is accepted (a refusal draws none)
        assessment_id=raw.get("assessment_id") or "",
        name=raw.get("assessment_name") or raw.get("assessmentName") or "",
        trace_id=trace_id,
        source_type=source_type,
        source_id=source.get("source_id") or source.get("sourceId") or "",
        create_time_ms=create_ms,
        last_update_time_ms=_ms(update, render.parse_timestamp_ms) if update else now,
        kind=kind, value=value, error=error, serialized_value=serialized,
        span_id=raw.get("span_id") or raw.get("spanId") or "",
        # an Expectation has no rationale in MLflow: one sent with it is dropped
        rationale=(raw.get("rationale") or None) if kind in ("feedback", "issue") else None,
        metadata=_string_map(raw.get("metadata")),
        # MLflow reads an issue reference without its overrides and validity
        overrides=(raw.get("overrides") or "") if kind != "issue" else "",
        valid=True if raw.get("valid") is None or kind == "issue" else bool(raw.get("valid")),
    )


def _as_proto_value(value: Any) -> Any:
    """A JSON value as it comes back from a google.protobuf.Value: every number a double."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, list):
        return [_as_proto_value(v) for v in value]
    if isinstance(value, dict):
        return {k: _as_proto_value(v) for k, v in value.items()}
    return value


_NO_EXPERIMENT = ("int() argument must be a string, a bytes-like object or a real number, "
                  "not 'NoneType'")


def _parsed_info(info: dict[str, Any]) -> dict[str, Any]:
    """TraceInfoV3 fields as protobuf's parser leaves them: keys in order, and at the first
    bad Timestamp or Duration the field is left empty (zero) and parsing stops."""
    out: dict[str, Any] = {}
    for key, value in info.items():
        name = re.sub(r"[A-Z]", lambda m: "_" + m.group(0).lower(), key)
        if name in ("request_time", "execution_duration"):
            parse = render.parse_timestamp_ms if name == "request_time" else render.parse_duration_ms
            try:
                out[name] = parse(value)
            except (ValueError, TypeError):
                out[name] = 0
                break
        else:
            out[name] = value
    return out


def _trace_from_json(raw: Any, store: TrackingStore) -> Trace:
    info = raw.get("trace_info", raw.get("traceInfo")) if isinstance(raw, dict) else None
    info = _parsed_info(info) if isinstance(info, dict) else {}
    location = info.get("trace_location")
    experiment = location.get("mlflow_experiment", location.get("mlflowExperiment")) \
        if isinstance(location, dict) else None
    experiment_id = experiment.get("experiment_id", experiment.get("experimentId")) \
        if isinstance(experiment, dict) else None
    if experiment_id is None:  # MLflow's int(None) on the missing experiment id
        raise MlflowError(_NO_EXPERIMENT, "INTERNAL_ERROR")
    state = info.get("state", "STATE_UNSPECIFIED")
    if isinstance(state, int):
        state = STATES[state] if 0 <= state < len(STATES) else "STATE_UNSPECIFIED"
    elif state not in STATES:
        state = "STATE_UNSPECIFIED"  # an unknown enum name is dropped
    trace_id = info.get("trace_id") or ""
    now = store.clock.now_ms()
    return Trace(
        trace_id=trace_id,
        experiment_id=str(experiment_id),
        request_time=info.get("request_time") or 0,
        execution_duration=info.get("execution_duration"),
        state=state,
        client_request_id=info.get("client_request_id"),
        request_preview=info.get("request_preview"),
        response_preview=info.get("response_preview"),
        metadata=_string_map(info.get("trace_metadata")),
        tags=_string_map(info.get("tags")),
        assessments=[_assessment_from_json(a, trace_id, now)
                     for a in info.get("assessments") or []],
    )


# ---- trace info and spans -----------------------------------------------------------------

def start_trace_v3(store: TrackingStore, request: Request) -> Any:
    read_request(request, START_TRACE_V3, [("trace", [REQUIRED])])
    trace = _trace_from_json(read_json_body(request)["trace"], store)
    created = _traces(store).start_trace(trace)
    return render.compact({"trace": {"trace_info": render.trace_info(created)}})


def export_otlp(store: TrackingStore, request: Request) -> Response:
    """``POST /v1/traces``: FastAPI's route in MLflow, so FastAPI's error shapes."""
    experiment_id = request.headers.get("x-mlflow-experiment-id")
    if experiment_id is None:
        return _fastapi_error(422, [{"type": "missing", "loc": ["header", "x-mlflow-experiment-id"],
                                     "msg": "Field required", "input": None}])
    content_type = request.headers.get("Content-Type")
    media_type = content_type.split(";")[0].strip() if content_type else None
    if media_type not in ("application/x-protobuf", "application/json"):
        return _fastapi_error(400, f"Invalid Content-Type: {content_type}. "
                                   "Expected: application/x-protobuf or application/json")
    try:
        body = _decompress(request.get_data(cache=True), request.headers.get("Content-Encoding"))
        spans, resource_tags = otlp.decode_spans(otlp.parse_export(body, media_type))
    except otlp.OtlpError as error:
        if error.status == 500:  # Starlette's answer to an exception that escaped the route
            return Response(error.detail, status=500, mimetype="text/plain")
        return _fastapi_error(error.status, error.detail)
    if spans:
        try:
            _traces(store).log_spans(experiment_id, spans, resource_tags)
        except AnalyticsCrash:  # MLflow's route answers any other failure this way
            return _fastapi_error(422, "Failed to log OpenTelemetry spans")
        except MlflowError as error:
            from fakeflow.web.status import error_body, http_status

            # FastAPI's JSONResponse: compact, non-ASCII kept.
            body = json.dumps(json.loads(error_body(error)), separators=(",", ":"),
                              ensure_ascii=False)
            return Response(body, status=http_status(error.error_code),
                            mimetype="application/json")
    return Response(b"", status=200, mimetype="application/x-protobuf")


def _decompress(body: bytes, encoding: str | None) -> bytes:
    if not encoding:
        return body
    import gzip
    import zlib

    try:
        if encoding.lower() == "gzip":
            return gzip.decompress(body)
        if encoding.lower() == "deflate":
            try:
                return zlib.decompress(body)
            except zlib.error:
                return zlib.decompress(body, -zlib.MAX_WBITS)
    except (OSError, zlib.error, EOFError):
        raise otlp.OtlpError(400, "Failed to decompress payload")
    raise otlp.OtlpError(400, f"Unsupported Content-Encoding: {encoding}")


def _fastapi_error(status: int, detail: Any) -> Response:
    return Response(json.dumps({"detail": detail}, separators=(",", ":")), status=status,
                    mimetype="application/json")


def get_trace_info_v3(store: TrackingStore, request: Request) -> Any:
    trace_id = _path_after(request, "/traces/")[0]
    return render.compact({"trace": {"trace_info": render.trace_info(
        _traces(store).get_info(trace_id))}})


def get_trace(store: TrackingStore, request: Request) -> Any:
    msg = read_request(request, GET_TRACE, [("trace_id", [STRING, REQUIRED]),
                                            ("allow_partial", [BOOL])])
    trace, spans = _traces(store).get_trace(msg.get("trace_id", ""),
                                            msg.get("allow_partial", False))
    return render.compact({"trace": render.trace_with_spans(trace, spans)})


def _batch_args(request: Request) -> tuple[list[str], list[str] | None]:
    msg = read_request(request, BATCH_GET, [
        ("trace_ids", [ARRAY, REQUIRED, ITEM_STRINGS]),
        ("experiment_ids", [ARRAY, ITEM_STRINGS]),
    ])
    has_experiments = "experiment_ids" in (request.args if request.method == "GET"
                                           else read_json_body(request))
    trace_ids = list(msg.get("trace_ids", []))
    if not (has_experiments and trace_ids):
        return trace_ids, None if not has_experiments else list(msg.get("experiment_ids", []))
    from fakeflow.state.validation import check_sqlite_integer, parse_experiment_id

    # MLflow reads each experiment id as a Python int ("abc" refused, " 7" and "07" are 7)
    experiment_ids = []
    for raw in msg.get("experiment_ids", []):
        number = parse_experiment_id(raw)
        check_sqlite_integer(number)
        experiment_ids.append(str(number))
    return trace_ids, experiment_ids


def batch_get_traces(store: TrackingStore, request: Request) -> Any:
    trace_ids, experiment_ids = _batch_args(request)
    traces = _traces(store).batch_get(trace_ids, experiment_ids)
    out: Payload = {}
    if traces:
        out["traces"] = [render.trace_with_spans(t, t.span_list()) for t in traces]
    return render.compact(out)


def batch_get_trace_infos(store: TrackingStore, request: Request) -> Any:
    trace_ids, experiment_ids = _batch_args(request)
    traces = _traces(store).batch_get(trace_ids, experiment_ids, with_spans=False)
    out: Payload = {}
    if traces:
        out["trace_infos"] = [render.trace_info(t) for t in traces]
    return render.compact(out)


def _max_500(value: Any) -> None:
    if int(value) > 500:
        raise CheckFailed()


def search_traces_v3(store: TrackingStore, request: Request) -> Any:
    from fakeflow.search import traces as search

    msg = read_request(request, SEARCH_TRACES_V3, [
        ("locations", [ARRAY, REQUIRED]), ("filter", [STRING]),
        ("max_results", [INTLIKE, _max_500]), ("order_by", [ARRAY, ITEM_STRINGS]),
        ("page_token", [STRING]),
    ])
    experiment_ids = [loc["mlflow_experiment"].get("experiment_id", "")
                      for loc in msg.get("locations", []) if "mlflow_experiment" in loc]
    found, token = search.search_traces(
        _traces(store), experiment_ids, msg.get("filter", ""), msg.get("max_results", 100),
        list(msg.get("order_by", [])), msg.get("page_token") or None,
    )
    out: Payload = {}
    if found:
        out["traces"] = [render.trace_info(t) for t in found]
    if token:
        out["next_page_token"] = token
    return render.compact(out)


def delete_traces(store: TrackingStore, request: Request) -> Payload:
    msg = read_request(request, DELETE_TRACES, [
        ("experiment_id", [STRING, REQUIRED]), ("max_timestamp_millis", [INTLIKE]),
        ("max_traces", [INTLIKE]), ("request_ids", [ARRAY, ITEM_STRINGS]),
    ])
    from fakeflow.state.traces import check_delete_criteria
    from fakeflow.state.validation import parse_experiment_id

    check_delete_criteria(msg.get("max_timestamp_millis"), msg.get("max_traces"),
                          list(msg.get("request_ids", [])))
    experiment_id = str(parse_experiment_id(msg.get("experiment_id", "")))
    deleted = _traces(store).delete_traces(
        experiment_id, msg.get("max_timestamp_millis"), msg.get("max_traces"),
        list(msg.get("request_ids", [])),
    )
    return {"traces_deleted": deleted}


def _check_mutable(key: str, operation: str) -> None:
    if key in IMMUTABLE_TAGS and not (operation == "deleted" and key in DELETABLE_IMMUTABLE_TAGS):
        raise invalid(f"Tag '{key}' is immutable and cannot be {operation} on a trace.")


def _tag_trace_id(request: Request) -> str:
    return _path_after(request, "/traces/")[0]


def set_trace_tag(store: TrackingStore, request: Request) -> Payload:
    message = SET_TRACE_TAG_V3 if "/3.0/" in request.path else SET_TRACE_TAG
    msg = read_request(request, message, [("key", [STRING, REQUIRED]), ("value", [STRING])])
    _check_mutable(msg.get("key", ""), "set")
    _traces(store).set_tag(_tag_trace_id(request), msg.get("key", ""), msg.get("value", ""))
    return {}


def delete_trace_tag(store: TrackingStore, request: Request) -> Payload:
    message = DELETE_TRACE_TAG_V3 if "/3.0/" in request.path else DELETE_TRACE_TAG
    msg = read_request(request, message, [("key", [STRING, REQUIRED])])
    _check_mutable(msg.get("key", ""), "deleted")
    _traces(store).delete_tag(_tag_trace_id(request), msg.get("key", ""))
    return {}


def link_traces_to_run(store: TrackingStore, request: Request) -> Payload:
    msg = read_request(request, LINK_TO_RUN, [
        ("trace_ids", [ARRAY, REQUIRED, ITEM_STRINGS]), ("run_id", [STRING, REQUIRED]),
    ])
    _traces(store).link_to_run(list(msg.get("trace_ids", [])), msg.get("run_id", ""))
    return {}


def link_prompts_to_trace(store: TrackingStore, request: Request) -> Payload:
    """``POST /api/2.0/mlflow/traces/link-prompts``: what ``mlflow.genai`` prompts send when a
    traced call used them. The version is read as a Python int, so ``"007"`` links ``name/7``;
    one that is not an int (or was never parsed) fails as MLflow's ``int()`` does, with a 500
    and nothing linked."""
    msg = read_request(request, LINK_PROMPTS, [
        ("trace_id", [STRING, REQUIRED]), ("prompt_versions", [ARRAY, REQUIRED]),
    ])
    prompt_ids = []
    for ref in msg.get("prompt_versions", []):
        try:
            version = int(ref.get("version", ""))
        except ValueError:
            raise InternalServerError() from None
        prompt_ids.append(f"{ref.get('name', '')}/{version}")
    _traces(store).link_prompts(msg.get("trace_id", ""), prompt_ids)
    return {}


# ---- assessments ---------------------------------------------------------------------------

def _assessment_path(request: Request) -> list[str]:
    return _path_after(request, "/traces/")  # <trace_id>/assessments[/<assessment_id>]


def create_assessment(store: TrackingStore, request: Request) -> Payload:
    msg = read_request(request, CREATE_ASSESSMENT, [("assessment", [REQUIRED])])
    trace_id = _assessment_path(request)[0]
    raw = _one_value_kind(msg.get("assessment") or {})  # as far as protobuf parsed it
    assessment = _assessment_from_json(raw, trace_id, store.clock.now_ms())
    assessment.assessment_id = ""  # MLflow makes up its own; the store draws it once accepted
    assessment.valid = True  # and stores every new assessment as valid, whatever was sent
    created = _traces(store).create_assessment(assessment)
    return {"assessment": render.assessment(created)}


_VALUE_KINDS = ("feedback", "expectation", "issue")


def _one_value_kind(parsed: dict[str, Any]) -> dict[str, Any]:
    """The fields before a second member of the assessment's value oneof: protobuf's parser
    refuses the second, and MLflow goes on with what it had parsed."""
    seen = 0
    out: dict[str, Any] = {}
    for key, value in parsed.items():
        if key in _VALUE_KINDS:
            seen += 1
            if seen > 1:
                break
        out[key] = value
    return out


def get_assessment(store: TrackingStore, request: Request) -> Payload:
    trace_id, _, assessment_id = _assessment_path(request)[:3]
    return {"assessment": render.assessment(_traces(store).get_assessment(trace_id, assessment_id))}


def _mask_paths(mask: Any) -> list[str]:
    """A FieldMask in JSON: comma-separated camelCase paths. Anything else (a path written
    with "_", an object) fails protobuf's parse, and MLflow goes on with an empty mask."""
    if not isinstance(mask, str):
        return []
    paths = [p for p in mask.split(",") if p]
    if any("_" in p for p in paths):
        return []
    return [re.sub(r"[A-Z]", lambda m: "_" + m.group(0).lower(), p) for p in paths]


def update_assessment(store: TrackingStore, request: Request) -> Payload:
    msg = read_request(request, UPDATE_ASSESSMENT, [("assessment", [REQUIRED]),
                                                    ("update_mask", [REQUIRED])])
    trace_id, _, assessment_id = _assessment_path(request)[:3]
    # what protobuf parsed: a parse that stopped (in the assessment) before the mask leaves it empty
    raw = msg.get("assessment") or {}
    mask = read_json_body(request)["update_mask"] if "update_mask" in msg else None
    kept = _one_value_kind(raw)
    if len(kept) < len(raw):
        # protobuf refused a second value kind: its parse stopped there, and a mask sent after
        # the assessment was never read
        raw = kept
        keys = list(read_json_body(request))
        if "update_mask" in keys and keys.index("update_mask") > keys.index("assessment"):
            mask = None
    changes: dict[str, Any] = {}
    for path in _mask_paths(mask):
        if path == "assessment_name":
            changes["name"] = raw.get("assessment_name", raw.get("assessmentName", ""))
        elif path == "expectation":
            expectation = raw.get("expectation") or {}
            value = _as_proto_value(expectation.get("value"))
            if value is None and not (expectation.get("serialized_value")
                                      or expectation.get("serializedValue")):
                # MLflow builds an Expectation from the request first, before the store
                raise invalid("The `value` field must be specified.")
            serialized = None
            if value is not None and not isinstance(value, (int, float, bool, str)):
                serialized = {"serialization_format": "JSON_FORMAT", "value": json.dumps(value)}
            changes["expectation"] = (value, serialized)
        elif path == "feedback":
            feedback = raw.get("feedback") or {}
            changes["feedback"] = (_as_proto_value(feedback.get("value")), feedback.get("error"))
        elif path == "rationale":
            changes["rationale"] = raw.get("rationale", "")
        elif path == "metadata":
            changes["metadata"] = _string_map(raw.get("metadata"))
        elif path == "valid":
            raise InternalServerError()  # MLflow hands ``valid`` to a store that takes no such thing
    updated = _traces(store).update_assessment(trace_id, assessment_id, changes)
    return {"assessment": render.assessment(updated)}


def delete_assessment(store: TrackingStore, request: Request) -> Payload:
    trace_id, _, assessment_id = _assessment_path(request)[:3]
    _traces(store).delete_assessment(trace_id, assessment_id)
    return {}


# ---- the deprecated v2 trace routes ---------------------------------------------------------

_KEY_VALUE = Message("KeyValue", (S("key"), S("value")))
START_TRACE_V2 = Message("StartTrace", (S("experiment_id"), Field("timestamp_ms", "int64"),
                                        M("request_metadata", _KEY_VALUE),
                                        M("tags", _KEY_VALUE)))
_TRACE_STATUS = Field("status", "enum", enum=(("TRACE_STATUS_UNSPECIFIED", 0), ("OK", 1),
                                              ("ERROR", 2), ("IN_PROGRESS", 3)))
END_TRACE_V2 = Message("EndTrace", (S("request_id"), Field("timestamp_ms", "int64"),
                                    _TRACE_STATUS, M("request_metadata", _KEY_VALUE),
                                    M("tags", _KEY_VALUE)))
SEARCH_TRACES_V2 = Message("SearchTraces", (S("experiment_ids", repeated=True), S("filter"),
                                            Field("max_results", "int32"),
                                            S("order_by", repeated=True), S("page_token")))


def _map_key_present(value: Any) -> None:
    """MLflow's map check: a list whose entries all have a key (anything but null or "")."""
    if not isinstance(value, list):
        raise CheckFailed()
    for item in value:
        if not isinstance(item, dict):
            raise InternalServerError()  # MLflow's entry.get("key") on a non-object
        if item.get("key") is None or item.get("key") == "":
            raise CheckFailed()


def _pairs(items: Any) -> dict[str, str]:
    return {item.get("key", ""): item.get("value", "") for item in items or []}


def trace_info_v2(trace: Trace) -> Payload:
    """TraceInfoV2 as MLflow renders it: state as a status, no duration as 0, metadata in
    row order, tags with the name last, long metadata and tags cut."""
    status = "TRACE_STATUS_UNSPECIFIED" if trace.state == "STATE_UNSPECIFIED" else trace.state
    out: Payload = {"request_id": trace.trace_id, "experiment_id": trace.experiment_id,
                    "timestamp_ms": trace.request_time,
                    "execution_time_ms": trace.execution_duration or 0, "status": status}
    # The metadata rows in insertion order, then the values rebuilt from analytics columns.
    metadata = render.shown_metadata(in_row_order(trace.metadata))
    if metadata:
        out["request_metadata"] = [{"key": k, "value": v} for k, v in metadata.items()]
    from fakeflow.state.traces import TRACE_NAME_TAG

    ordered = {k: v for k, v in trace.tags.items() if k != TRACE_NAME_TAG}
    if TRACE_NAME_TAG in trace.tags:
        ordered[TRACE_NAME_TAG] = trace.tags[TRACE_NAME_TAG]
    tags = render.shown_tags(ordered)
    if tags:
        out["tags"] = [{"key": k, "value": v} for k, v in tags.items()]
    return out


def start_trace_v2(store: TrackingStore, request: Request) -> Payload:
    """``POST /api/2.0/mlflow/traces``: StartTrace, deprecated but served."""
    msg = read_request(request, START_TRACE_V2, [
        ("experiment_id", [STRING]), ("timestamp_ms", [INTLIKE]),
        ("request_metadata", [_map_key_present]), ("tags", [_map_key_present]),
    ])
    experiment_id = msg.get("experiment_id", "")
    if experiment_id == "":  # MLflow's int('') on the missing id
        raise MlflowError("invalid literal for int() with base 10: ''", "INTERNAL_ERROR")
    from fakeflow.state.validation import parse_experiment_id

    parse_experiment_id(experiment_id)
    trace = _traces(store).start_trace_v2(
        experiment_id, msg.get("timestamp_ms", 0), _pairs(msg.get("request_metadata")),
        _pairs(msg.get("tags")))
    return {"trace_info": trace_info_v2(trace)}


def end_trace_v2(store: TrackingStore, request: Request) -> Payload:
    """``PATCH /api/2.0/mlflow/traces/<id>``: EndTrace, deprecated but served."""
    msg = read_request(request, END_TRACE_V2, [
        ("timestamp_ms", [INTLIKE]), ("status", [STRING]),
        ("request_metadata", [_map_key_present]), ("tags", [_map_key_present]),
    ])
    trace_id = _path_after(request, "/traces/")[0]
    trace = _traces(store).end_trace_v2(
        trace_id, msg.get("timestamp_ms", 0), msg.get("status", "TRACE_STATUS_UNSPECIFIED"),
        _pairs(msg.get("request_metadata")), _pairs(msg.get("tags")))
    return {"trace_info": trace_info_v2(trace)}


def get_trace_info_v2(store: TrackingStore, request: Request) -> Payload:
    """``GET /api/2.0/mlflow/traces/<id>/info``: GetTraceInfo, deprecated but served."""
    trace_id = _path_after(request, "/traces/")[0]
    return {"trace_info": trace_info_v2(_traces(store).get_info(trace_id))}


def search_traces_v2(store: TrackingStore, request: Request) -> Payload:
    """``GET /api/2.0/mlflow/traces``: SearchTraces, deprecated but served (the same search
    as v3, answered as TraceInfoV2)."""
    from fakeflow.search import traces as search

    msg = read_request(request, SEARCH_TRACES_V2, [
        ("experiment_ids", [ARRAY, ITEM_STRINGS, REQUIRED]), ("filter", [STRING]),
        ("max_results", [INTLIKE, _max_500]), ("order_by", [ARRAY, ITEM_STRINGS]),
        ("page_token", [STRING]),
    ])
    found, token = search.search_traces(
        _traces(store), list(msg.get("experiment_ids", [])), msg.get("filter", ""),
        msg.get("max_results", 100), list(msg.get("order_by", [])),
        msg.get("page_token") or None)
    out: Payload = {}
    if found:
        out["traces"] = [trace_info_v2(t) for t in found]
    if token:
        out["next_page_token"] = token
    return out


# The span keys of MLflow's trace data file (traces.json), in the order MLflow writes them.
_TRACE_DATA_KEYS = ("trace_id", "span_id", "parent_span_id", "name", "start_time_unix_nano",
                    "end_time_unix_nano", "events", "status", "attributes", "links")


def get_trace_artifact(store: TrackingStore, request: Request) -> Response:
    """GET ``get-trace-artifact?request_id=[&path=<uuid>]``: the UI reads a trace's spans as
    MLflow's ``traces.json`` (from the tracking store, or the file kept at the trace's artifact
    location when its spans are not there), and with ``path`` one of its attachments."""
    trace_id = request.args.get("request_id")
    if not trace_id:
        raise MlflowError('Request must include the "request_id" query parameter.', "BAD_REQUEST")
    raw_path = request.args.get("path")
    if raw_path:
        attachment_id = files.check_attachment_path(raw_path)
        trace = store.traces.get_info(trace_id)  # MLflow's "Trace with ID '…' not found."
        return files.attachment_response(store.artifacts, trace, attachment_id, request)
    try:
        _trace, spans = store.traces.get_trace(trace_id, allow_partial=True)
    except MlflowError as error:
        if error.message != SPANS_NOT_STORED:
            raise  # an unknown trace: MLflow's "Trace with ID … is not found."
        return files.stored_trace_data_response(
            store.artifacts, store.traces.get_info(trace_id), request)
    pieces = []
    for doc in spans:
        span = {key: doc.get(key) for key in _TRACE_DATA_KEYS}
        span["events"] = span["events"] or []
        span["links"] = span["links"] or []
        pieces.append(json.dumps(span))
    return files.trace_data_response('{"spans":[' + ",".join(pieces) + "]}", request)

