"""MLflow 3 traces as the 3.17.2 client uses them: trace info (``POST /api/3.0/mlflow/traces``,
also again on a known trace, which merges), OTLP spans (``POST /v1/traces``, JSON), reads (v3
info, ``traces/get``, ``batchGetInfos``), tags (v2 and v3 routes; the trace name is a tag),
assessments (feedback and expectations: create, get, update, delete; an override marks its
target invalid until the override is deleted), ``traces/search`` (filters on status, times,
tags, metadata, name and run id; ``order_by`` with missing values last, then newest first and by
id; pages: a full page always carries a token, so an exactly full last page is followed by an
empty one), ``delete-traces`` (by ids, or by age and count, oldest first), ``link-to-run`` and
``link-prompts`` (found by ``prompt = 'name/version'``).

Trace ids are the client's choice (``tr-`` + 32 hex digits, as the client's OTel ids give):
the example's prefix (hex here) plus a counter, so a replay with a fresh prefix makes fresh ids.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable

from hypothesis import strategies as st
from hypothesis.stateful import Bundle, multiple, rule

from ..model import Experiment, Run
from ..refs import Ref, Sub
from . import register
from .base import ConformanceMachine, scenario

V2 = "/api/2.0/mlflow/traces"
V3 = "/api/3.0/mlflow/traces"
TRACE_NAME = "mlflow.traceName"
SOURCE_RUN = "mlflow.sourceRun"
FINALIZED = "mlflow.trace.infoFinalized"
ARTIFACT_LOCATION = "mlflow.artifactLocation"
SPANS_LOCATION = "mlflow.trace.spansLocation"
NOT_STORED = "Trace data not stored in tracking store"
# A server clock in an assessment: its value is masked, its JSON type is a string.
SERVER_TIME = "1970-01-01T00:00:00Z"

states = st.sampled_from(["OK", "ERROR", "IN_PROGRESS"])
request_times = st.sampled_from([1, 2, 1000, 1500])  # ms; whole seconds print without fraction
durations = st.sampled_from([None, 1, 3, 1500])
tag_keys = st.sampled_from(["k1", "k2", TRACE_NAME])
tag_values = st.sampled_from(["a", "b", "ab"])
start_tags = st.dictionaries(tag_keys, tag_values, max_size=2)
metadata_choices = st.sampled_from(["none", "m1=x", "m1=y", "source-run"])
assessment_names = st.sampled_from(["relevance", "correct", ""])
feedback_values = st.sampled_from([0.5, 1, True, "good"])
expectation_values = st.sampled_from(["abc", 2, False])
sources = st.sampled_from([("HUMAN", "me"), ("LLM_JUDGE", "judge"), ("CODE", None)])
routes = st.sampled_from([V2, V3])


def timestamp_text(ms: int) -> str:
    """A protobuf Timestamp in JSON: UTC, milliseconds only when there are any."""
    moment = datetime.fromtimestamp(ms // 1000, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{moment}.{ms % 1000:03d}Z" if ms % 1000 else f"{moment}Z"


def duration_text(ms: int) -> str:
    """A protobuf Duration in JSON: seconds, with milliseconds when there are any."""
    return f"{ms // 1000}.{ms % 1000:03d}s" if ms % 1000 else f"{ms // 1000}s"


@dataclass
class Assessment:
    """The reference model of one assessment (``kind``: feedback or expectation)."""

    symbol: str
    trace: "Trace"
    kind: str
    name: str
    value: Any
    source: tuple[str, str | None]
    rationale: str = ""
    metadata: dict[str, str] = field(default_factory=dict)
    overrides: "Assessment | None" = None
    assessment_id: str = ""
    valid: bool = True
    deleted: bool = False

    def to_json(self) -> dict[str, Any]:
        source: dict[str, Any] = {"source_type": self.source[0]}
        if self.source[1] is not None:
            source["source_id"] = self.source[1]
        out: dict[str, Any] = {
            "assessment_id": self.assessment_id, "assessment_name": self.name,
            "trace_id": self.trace.trace_id, "source": source, "create_time": SERVER_TIME,
            "last_update_time": SERVER_TIME, self.kind: {"value": self.value}}
        if self.rationale:
            out["rationale"] = self.rationale
        if self.metadata:
            out["metadata"] = dict(self.metadata)
        if self.overrides is not None:
            out["overrides"] = self.overrides.assessment_id
        out["valid"] = self.valid
        return out


@dataclass
class Span:
    span_hex: str
    name: str
    start_ms: int
    end_ms: int
    parent_hex: str | None = None
    error: str | None = None  # an ERROR status with this message; OK otherwise


@dataclass
class Trace:
    """The reference model of one trace (its experiment is the example's)."""

    number: int
    trace_id: str
    experiment: Experiment
    request_time: int
    duration: int | None
    state: str
    tags: dict[str, str] = field(default_factory=dict)
    # as the server keeps it once started, in its rows' order: each write adds its new keys
    # (infoFinalized among the first write's) in key order after those already there
    metadata: dict[str, str] = field(default_factory=dict)
    assessments: list[Assessment] = field(default_factory=list)
    spans: list[Span] = field(default_factory=list)
    runs: set[str] = field(default_factory=set)  # linked with link-to-run (kept after delete)
    prompts: set[str] = field(default_factory=set)  # "name/version" from link-prompts (kept too)
    started: bool = False  # start_trace seen (spans alone leave no metadata)
    deleted: bool = False

    @property
    def name(self) -> str | None:
        return self.tags.get(TRACE_NAME)

    def live_assessments(self) -> list[Assessment]:
        return [a for a in self.assessments if not a.deleted]

    def to_json(self, tags: dict[str, str] | None = None) -> dict[str, Any]:
        exp = self.experiment
        out: dict[str, Any] = {
            "trace_id": self.trace_id,
            "trace_location": {"type": "MLFLOW_EXPERIMENT",
                               "mlflow_experiment": {"experiment_id": exp.experiment_id}},
            "request_time": timestamp_text(self.request_time), "state": self.state}
        if self.duration is not None:
            out["execution_duration"] = duration_text(self.duration)
        if self.started:
            out["trace_metadata"] = dict(self.metadata)
        assessments = self.live_assessments()
        if assessments:
            out["assessments"] = [a.to_json() for a in assessments]
        out["tags"] = dict(self.tags if tags is None else tags)
        return out

    def all_tags(self) -> dict[str, str]:
        out = dict(self.tags)
        out[ARTIFACT_LOCATION] = (f"{self.experiment.artifact_location}/traces/{self.trace_id}"
                                  "/artifacts")
        if self.spans:
            out[SPANS_LOCATION] = "TRACKING_STORE"
        return out

    def info_json(self) -> dict[str, Any]:
        return self.to_json(self.all_tags())

    def info_v2_json(self) -> dict[str, Any]:
        """The deprecated v2 view: the state as a status, no duration as 0, metadata by key,
        no assessments."""
        out: dict[str, Any] = {
            "request_id": self.trace_id, "experiment_id": self.experiment.experiment_id,
            "timestamp_ms": self.request_time, "execution_time_ms": self.duration or 0,
            "status": self.state}
        if self.started:  # in the rows' order
            out["request_metadata"] = [{"key": k, "value": v} for k, v in self.metadata.items()]
        out["tags"] = [{"key": k, "value": v} for k, v in self.all_tags().items()]
        return out

    def spans_json(self) -> list[dict[str, Any]]:
        """Spans as ``traces/get`` answers them: the root first, then by start time."""
        trace_b64 = base64.b64encode(bytes.fromhex(self.trace_id[3:])).decode()
        out = []
        for span in sorted(self.spans, key=lambda s: (s.parent_hex is not None, s.start_ms)):
            doc: dict[str, Any] = {"trace_id": trace_b64, "span_id": _b64(span.span_hex)}
            if span.parent_hex:
                doc["parent_span_id"] = _b64(span.parent_hex)
            doc.update({"name": span.name, "start_time_unix_nano": span.start_ms * 1_000_000,
                        "end_time_unix_nano": span.end_ms * 1_000_000,
                        "attributes": [{"key": "mlflow.traceRequestId",
                                        "value": {"string_value": self.trace_id}}]})
            doc["status"] = ({"message": span.error, "code": "STATUS_CODE_ERROR"} if span.error
                             else {"code": "STATUS_CODE_OK"})
            out.append(doc)
        return out


def _added(stored: dict[str, str], sent: dict[str, str]) -> dict[str, str]:
    """Metadata after a write: stored keys keep their place (and take the sent value), new keys
    follow in key order, as the server inserts them."""
    out = {k: sent.get(k, v) for k, v in stored.items()}
    out.update(sorted((k, v) for k, v in sent.items() if k not in stored))
    return out


def _b64(hex_id: str) -> str:
    return base64.b64encode(bytes.fromhex(hex_id)).decode()


# -- search ------------------------------------------------------------------------------------

Holds = Callable[[Trace, str], bool]  # (trace, the example's run id)
FILTERS: dict[str, Holds] = {
    "status = 'OK'": lambda t, r: t.state == "OK",
    "attributes.status != 'OK'": lambda t, r: t.state != "OK",
    "status IN ('ERROR', 'IN_PROGRESS')": lambda t, r: t.state in ("ERROR", "IN_PROGRESS"),
    "timestamp_ms > 1": lambda t, r: t.request_time > 1,
    "trace.timestamp_ms <= 1000": lambda t, r: t.request_time <= 1000,
    "execution_time_ms > 2": lambda t, r: t.duration is not None and t.duration > 2,
    "tags.k1 = 'a'": lambda t, r: t.tags.get("k1") == "a",
    "tags.k1 != 'a'": lambda t, r: t.tags.get("k1") not in (None, "a"),
    "tags.k2 LIKE 'a%'": lambda t, r: t.tags.get("k2", "").startswith("a"),
    "name = 'a'": lambda t, r: t.name == "a",
    "name != 'a'": lambda t, r: t.name not in (None, "a"),
    "metadata.m1 = 'x'": lambda t, r: t.metadata.get("m1") == "x",
    "run_id = '{run}'": lambda t, r: t.metadata.get(SOURCE_RUN) == r or r in t.runs,
    "timestamp_ms >= 2 AND status = 'OK'": lambda t, r: t.request_time >= 2 and t.state == "OK",
    "prompt = 'qa/1'": lambda t, r: "qa/1" in t.prompts,
    "prompt = 'qa/2' AND status = 'OK'": lambda t, r: "qa/2" in t.prompts and t.state == "OK",
}
filters = st.sampled_from([None, *FILTERS])


@dataclass(frozen=True)
class Order:
    clause: str
    key: Callable[[Trace], Any]
    ascending: bool
    attribute: str | None = None  # replaces the default tie-breaker on this attribute


ORDERS: dict[str, list[Order]] = {
    "timestamp_ms ASC": [Order("timestamp_ms ASC", lambda t: t.request_time, True,
                               "timestamp_ms")],
    "execution_time_ms DESC": [Order("execution_time_ms DESC", lambda t: t.duration, False)],
    "name": [Order("name", lambda t: t.name, True)],
    "tags.k1 DESC": [Order("tags.k1 DESC", lambda t: t.tags.get("k1"), False)],
    "status, request_id DESC": [Order("status", lambda t: t.state, True),
                                Order("request_id DESC", lambda t: t.trace_id, False,
                                      "request_id")],
}
orders = st.sampled_from([None, *ORDERS])
page_sizes = st.sampled_from([None, 1, 2, 3])


def order_traces(traces: list[Trace], order: list[Order]) -> list[Trace]:
    """MLflow's trace order: the given keys (missing values last, whatever the direction),
    then newest first, then by id."""
    keys = list(order)
    named = {o.attribute for o in order}
    if "timestamp_ms" not in named:
        keys.append(Order("", lambda t: t.request_time, False))
    if "request_id" not in named:
        keys.append(Order("", lambda t: t.trace_id, True))
    out = list(traces)
    for o in reversed(keys):  # stable sorts, least significant key first
        present = [t for t in out if o.key(t) is not None]
        missing = [t for t in out if o.key(t) is None]
        present.sort(key=o.key, reverse=not o.ascending)
        out = present + missing
    return out


@register("traces", "MLflow 3 traces: info, spans, tags, assessments, search, delete, links")
class TracesSuite(ConformanceMachine):
    traces = Bundle("traces")
    assessments = Bundle("assessments")

    def __init__(self) -> None:
        super().__init__()
        # Trace ids hold the prefix, and OTel trace ids are hex: so is the prefix here.
        self.prefix = self.prefix[3:] + "0" * 12  # 24 hex digits (+ 8 of the trace's number)
        assert self.ctx.example is not None
        self.ctx.example.prefix = self.prefix
        for ids in self.ctx.ids:
            ids.bind("prefix", self.prefix)
        self.all_traces: list[Trace] = []
        self.exp: Experiment | None = None
        self.run: Run | None = None

    def setup(self) -> bool:
        """The experiment and run an example's traces use (made on first use)."""
        if self.exp is None:
            self.exp = self.do_create_experiment(self.new_symbol("x"))
            if self.exp is not None:
                self.run = self.do_create_run(self.exp, "r", 0)
        return self.exp is not None and self.run is not None

    def teardown(self) -> None:
        super().teardown()
        for trace in self.all_traces:
            self.get_info(trace)
        if self.all_traces:
            self.search(None, None, None)

    # -- ids and paths -----------------------------------------------------------------------

    def _hex(self, number: int) -> Sub:
        return Sub("{0}" + f"{number:08x}", Ref("prefix"))

    def _tid(self, number: int, tail: str = "") -> Sub:
        return Sub("tr-{0}" + f"{number:08x}" + tail, Ref("prefix"))

    def _path(self, trace: Trace, root: str = V3, tail: str = "") -> Sub:
        return Sub(root + "/tr-{0}" + f"{trace.number:08x}" + tail, Ref("prefix"))

    def _new_trace(self, **kw: Any) -> Trace:
        assert self.exp is not None
        number = len(self.all_traces) + 1
        return Trace(number, f"tr-{self.prefix}{number:08x}", self.exp, **kw)

    def _run_id(self) -> str:
        return self.run.run_id if self.run is not None else ""

    # -- trace info --------------------------------------------------------------------------

    def _start_body(self, trace: Trace, request_time: int, duration: int | None, state: str,
                    tags: dict[str, str], metadata: str) -> dict[str, Any]:
        assert self.exp is not None
        info: dict[str, Any] = {
            "trace_id": self._tid(trace.number),
            "trace_location": {"type": "MLFLOW_EXPERIMENT",
                               "mlflow_experiment": {"experiment_id": Ref(self.exp.symbol)}},
            "request_time": timestamp_text(request_time), "state": state}
        if duration is not None:
            info["execution_duration"] = duration_text(duration)
        if tags:
            info["tags"] = dict(tags)
        if metadata == "source-run" and self.run is not None:
            info["trace_metadata"] = {SOURCE_RUN: Ref(self.run.symbol)}
        elif metadata != "none":
            key, _, value = metadata.partition("=")
            info["trace_metadata"] = {key: value}
        return {"trace": {"trace_info": info}}

    def _metadata(self, metadata: str) -> dict[str, str]:
        if metadata == "source-run":
            return {SOURCE_RUN: self._run_id()}
        if metadata == "none":
            return {}
        key, _, value = metadata.partition("=")
        return {key: value}

    @rule(target=traces, request_time=request_times, duration=durations, state=states,
          tags=start_tags, metadata=metadata_choices)
    def start(self, request_time, duration, state, tags, metadata):
        if not self.setup():
            return multiple()
        trace = self._new_trace(request_time=request_time, duration=duration, state=state,
                                tags=dict(tags), started=True,
                                metadata=_added({}, {**self._metadata(metadata),
                                                     FINALIZED: "true"}))
        reply = self.ctx.call("start_trace", "POST", V3, body=self._start_body(
            trace, request_time, duration, state, tags, metadata))
        self.all_traces.append(trace)
        if not self.ctx.expect("start_trace", reply, 200, {"trace": {"trace_info":
                                                                     trace.info_json()}},
                               refusable=True) and reply.status >= 400:
            self.all_traces.remove(trace)
            return multiple()
        return trace

    @rule(trace=traces, request_time=request_times, duration=durations, state=states,
          tags=start_tags, metadata=metadata_choices)
    def start_again(self, trace, request_time, duration, state, tags, metadata):
        """The trace info sent again (as when spans arrived first): times, state and name
        are replaced, tags and metadata merged. The answer shows only the tags the trace
        already had (with their new values) and the new name."""
        if trace.deleted:
            return
        reply = self.ctx.call("start_trace", "POST", V3, body=self._start_body(
            trace, request_time, duration, state, tags, metadata))
        before = {k: tags.get(k, v) for k, v in trace.all_tags().items()}
        if TRACE_NAME in tags:
            before[TRACE_NAME] = tags[TRACE_NAME]
        old = (trace.request_time, trace.duration, trace.state, dict(trace.tags),
               dict(trace.metadata), trace.started)
        trace.request_time, trace.duration, trace.state = request_time, duration, state
        trace.tags.update(tags)
        trace.metadata = _added(trace.metadata, {**self._metadata(metadata), FINALIZED: "true"})
        trace.started = True
        if not self.ctx.expect("start_trace", reply, 200,
                               {"trace": {"trace_info": trace.to_json(before)}},
                               refusable=True) and reply.status >= 400:
            (trace.request_time, trace.duration, trace.state, trace.tags, trace.metadata,
             trace.started) = old

    @rule(target=traces, request_time=request_times, error=st.booleans(),
          child=st.booleans())
    def log_spans(self, request_time, error, child):
        """A new trace's spans exported before its info (OTLP JSON): the trace exists from
        then on, timed by its spans, its state from the root span's status."""
        if not self.setup():
            return multiple()
        assert self.exp is not None
        root = Span("00000000000000a1", "root", request_time, request_time + 3,
                    error="boom" if error else None)
        spans = [root]
        if child:
            spans.append(Span("00000000000000a2", "child", request_time + 1, request_time + 2,
                              parent_hex=root.span_hex))
        trace = self._new_trace(request_time=request_time, duration=3,
                                state="ERROR" if error else "OK", spans=spans)
        otlp = []
        for span in spans:
            doc: dict[str, Any] = {
                "traceId": self._hex(trace.number), "spanId": span.span_hex, "name": span.name,
                "startTimeUnixNano": str(span.start_ms * 1_000_000),
                "endTimeUnixNano": str(span.end_ms * 1_000_000), "attributes": [],
                "status": {"code": 2, "message": span.error} if span.error else {"code": 1}}
            if span.parent_hex:
                doc["parentSpanId"] = span.parent_hex
            otlp.append(doc)
        body = {"resourceSpans": [{"resource": {"attributes": []},
                                   "scopeSpans": [{"spans": otlp}]}]}
        reply = self.ctx.call("log_spans", "POST", "/v1/traces", body=body,
                              headers={"x-mlflow-experiment-id": Ref(self.exp.symbol)})
        self.all_traces.append(trace)
        if not self.ctx.expect("log_spans", reply, 200, refusable=True) and reply.status >= 400:
            self.all_traces.remove(trace)
            return multiple()
        return trace

    def _missing(self, trace: Trace) -> str:
        return f"Trace with ID '{trace.trace_id}' not found."

    @rule(trace=traces)
    def get_info(self, trace):
        reply = self.ctx.call("get_trace_info", "GET", self._path(trace))
        if trace.deleted:
            self.ctx.expect_error("get_trace_info", reply, 404, "RESOURCE_DOES_NOT_EXIST",
                                  self._missing(trace))
            return
        self.ctx.expect("get_trace_info", reply, 200, {"trace": {"trace_info": trace.info_json()}})

    @rule(trace=traces)
    def get_info_v2(self, trace):
        """The deprecated v2 read (``traces/<id>/info``), still served."""
        reply = self.ctx.call("get_trace_info_v2", "GET", self._path(trace, V2, "/info"))
        if trace.deleted:
            self.ctx.expect_error("get_trace_info_v2", reply, 404, "RESOURCE_DOES_NOT_EXIST",
                                  self._missing(trace))
            return
        self.ctx.expect("get_trace_info_v2", reply, 200, {"trace_info": trace.info_v2_json()})

    @rule(trace=traces, allow_partial=st.booleans())
    def get_trace(self, trace, allow_partial):
        reply = self.ctx.call("get_trace", "GET", f"{V3}/get", query={
            "trace_id": self._tid(trace.number), "allow_partial": str(allow_partial).lower()})
        if trace.deleted:
            self.ctx.expect_error("get_trace", reply, 404, "RESOURCE_DOES_NOT_EXIST",
                                  f"Trace with ID {trace.trace_id} is not found.")
        elif not trace.spans:
            self.ctx.expect_error("get_trace", reply, 500, "INTERNAL_ERROR", NOT_STORED)
        else:
            self.ctx.expect("get_trace", reply, 200, {"trace": {
                "trace_info": trace.info_json(), "spans": trace.spans_json()}})

    @rule(picks=st.lists(st.integers(min_value=0, max_value=7), min_size=1, max_size=4))
    def batch_get_infos(self, picks):
        """Known ids only, each once, ordered by where it was last asked for."""
        if not self.all_traces:
            return
        chosen = [self.all_traces[p % len(self.all_traces)] for p in picks]
        reply = self.ctx.call("batch_get_trace_infos", "POST", f"{V3}/batchGetInfos",
                              body={"trace_ids": [self._tid(t.number) for t in chosen]})
        last = {t.trace_id: i for i, t in enumerate(chosen)}
        found = sorted({t.trace_id: t for t in chosen if not t.deleted}.values(),
                       key=lambda t: last[t.trace_id])
        self.ctx.expect("batch_get_trace_infos", reply, 200,
                        {"trace_infos": [t.info_json() for t in found]} if found else {})

    # -- tags --------------------------------------------------------------------------------

    @rule(trace=traces, key=tag_keys, value=tag_values, root=routes)
    def set_tag(self, trace, key, value, root):
        reply = self.ctx.call("set_trace_tag", "PATCH", self._path(trace, root, "/tags"),
                              body={"key": key, "value": value})
        if trace.deleted:
            if key == TRACE_NAME:
                self.ctx.expect_error("set_trace_tag", reply, 404, "RESOURCE_DOES_NOT_EXIST",
                                      self._missing(trace))
            else:  # the tag row's foreign key fails (the message is the database's)
                self.ctx.expect_error("set_trace_tag", reply, 400, "BAD_REQUEST")
            return
        if self.ctx.expect("set_trace_tag", reply, 200, {}, refusable=True) or reply.status < 400:
            trace.tags[key] = value

    @rule(trace=traces, key=tag_keys, root=routes)
    def delete_tag(self, trace, key, root):
        reply = self.ctx.call("delete_trace_tag", "DELETE", self._path(trace, root, "/tags"),
                              body={"key": key})
        if trace.deleted and key == TRACE_NAME:
            self.ctx.expect_error("delete_trace_tag", reply, 404, "RESOURCE_DOES_NOT_EXIST",
                                  self._missing(trace))
            return
        if trace.deleted or key not in trace.tags:
            self.ctx.expect_error(
                "delete_trace_tag", reply, 404, "RESOURCE_DOES_NOT_EXIST",
                f"No trace tag with key '{key}' for trace with ID '{trace.trace_id}'")
            return
        if self.ctx.expect("delete_trace_tag", reply, 200, {}, refusable=True) \
                or reply.status < 400:
            del trace.tags[key]

    # -- assessments -------------------------------------------------------------------------

    def _create_assessment(self, trace: Trace, kind: str, name: str, value: Any,
                           source: tuple[str, str | None], rationale: str,
                           overrides: Assessment | None) -> Assessment | None:
        assessment = Assessment(self.new_symbol("A"), trace, kind, name,
                                float(value) if isinstance(value, int)
                                and not isinstance(value, bool) else value,
                                source, rationale=rationale if kind == "feedback" else "",
                                metadata={"m": "1"} if rationale else {}, overrides=overrides)
        raw_source: dict[str, Any] = {"source_type": source[0]}
        if source[1] is not None:
            raw_source["source_id"] = source[1]
        raw: dict[str, Any] = {"assessment_name": name, "trace_id": self._tid(trace.number),
                               "source": raw_source, kind: {"value": value}}
        if rationale:
            raw["rationale"] = rationale
            raw["metadata"] = {"m": "1"}
        if overrides is not None:
            raw["overrides"] = Ref(overrides.symbol)
        reply = self.ctx.call("create_assessment", "POST",
                              self._path(trace, V3, "/assessments"),
                              body={"assessment": raw},
                              bind={assessment.symbol: ("assessment", "assessment_id")})
        if trace.deleted:
            self.ctx.expect_error("create_assessment", reply, 404, "RESOURCE_DOES_NOT_EXIST",
                                  self._missing(trace))
            return None
        if overrides is not None and (overrides.deleted or overrides.trace is not trace):
            self.ctx.expect_error(
                "create_assessment", reply, 404, "RESOURCE_DOES_NOT_EXIST",
                f"Assessment with ID '{overrides.assessment_id}' not found for trace "
                f"'{trace.trace_id}'")
            return None
        assessment.assessment_id = ((reply.json or {}).get("assessment", {})
                                    .get("assessment_id", "") if reply.status == 200 else "")
        if not self.ctx.expect("create_assessment", reply, 200,
                               {"assessment": assessment.to_json()}, refusable=True) \
                and reply.status >= 400:
            return None
        if overrides is not None:
            overrides.valid = False
        trace.assessments.append(assessment)
        self.tick()
        return assessment

    @rule(target=assessments, trace=traces, name=assessment_names, value=feedback_values,
          source=sources, rationale=st.sampled_from(["", "why"]),
          overrides=st.none() | assessments)
    def create_feedback(self, trace, name, value, source, rationale, overrides):
        if overrides is not None and not overrides.assessment_id:
            overrides = None
        made = self._create_assessment(trace, "feedback", name, value, source, rationale,
                                       overrides)
        return made if made is not None else multiple()

    @rule(target=assessments, trace=traces, name=assessment_names, value=expectation_values,
          source=sources)
    def create_expectation(self, trace, name, value, source):
        made = self._create_assessment(trace, "expectation", name, value, source, "", None)
        return made if made is not None else multiple()

    def _assessment_path(self, a: Assessment) -> Sub:
        return Sub(V3 + "/tr-{0}" + f"{a.trace.number:08x}" + "/assessments/{1}",
                   Ref("prefix"), Ref(a.symbol))

    def _assessment_missing(self, op: str, a: Assessment, reply: Any) -> bool:
        """Reads and updates of a deleted assessment, or of one on a deleted trace: 404."""
        if a.trace.deleted:
            self.ctx.expect_error(op, reply, 404, "RESOURCE_DOES_NOT_EXIST",
                                  f"Trace with request_id '{a.trace.trace_id}' not found")
            return True
        if a.deleted:
            self.ctx.expect_error(op, reply, 404, "RESOURCE_DOES_NOT_EXIST",
                                  f"Assessment with ID '{a.assessment_id}' not found for trace "
                                  f"'{a.trace.trace_id}'")
            return True
        return False

    @rule(a=assessments)
    def get_assessment(self, a):
        reply = self.ctx.call("get_assessment", "GET", self._assessment_path(a))
        if not self._assessment_missing("get_assessment", a, reply):
            self.ctx.expect("get_assessment", reply, 200, {"assessment": a.to_json()})

    @rule(a=assessments, change=st.sampled_from(["rationale", "name", "metadata", "feedback",
                                                 "expectation"]))
    def update_assessment(self, a, change):
        """Fields named in the update mask change; a rationale on an expectation is
        ignored; a value of the other kind is refused; metadata merges."""
        fields: dict[str, Any] = {"rationale": {"rationale": "new"},
                                  "name": {"assessment_name": "renamed"},
                                  "metadata": {"metadata": {"n": "2"}},
                                  "feedback": {"feedback": {"value": "better"}},
                                  "expectation": {"expectation": {"value": "other"}}}
        mask = "assessmentName" if change == "name" else change
        reply = self.ctx.call("update_assessment", "PATCH", self._assessment_path(a),
                              body={"assessment": fields[change], "update_mask": mask})
        if self._assessment_missing("update_assessment", a, reply):
            return
        if change in ("feedback", "expectation") and change != a.kind:
            other = "expectation" if change == "expectation" else "feedback"
            kind = "a Feedback" if a.kind == "feedback" else "an Expectation"
            self.ctx.expect_error("update_assessment", reply, 400, "INVALID_PARAMETER_VALUE",
                                  f"Cannot update {other} value on {kind} assessment.")
            return
        old = (a.name, a.value, a.rationale, dict(a.metadata))
        if change == "rationale" and a.kind == "feedback":
            a.rationale = "new"
        elif change == "name":
            a.name = "renamed"
        elif change == "metadata":
            a.metadata["n"] = "2"
        elif change == a.kind:
            a.value = "better" if change == "feedback" else "other"
        if not self.ctx.expect("update_assessment", reply, 200, {"assessment": a.to_json()},
                               refusable=True) and reply.status >= 400:
            a.name, a.value, a.rationale, a.metadata = old

    @rule(a=assessments)
    def delete_assessment(self, a):
        """Idempotent; deleting an override makes its target valid again."""
        reply = self.ctx.call("delete_assessment", "DELETE", self._assessment_path(a))
        if self.ctx.expect("delete_assessment", reply, 200, {}, refusable=True) \
                or reply.status < 400:
            if not a.deleted and not a.trace.deleted and a.overrides is not None:
                a.overrides.valid = True
            a.deleted = True

    # -- search ------------------------------------------------------------------------------

    @rule(filter_string=filters, order=orders, page_size=page_sizes,
          v2=st.sampled_from([False, False, True]))
    def search(self, filter_string, order, page_size, v2=False):
        """``traces/search`` (v3), or the deprecated ``GET traces`` (v2: the same search,
        query parameters in, v2 infos out)."""
        if not self.setup():
            return
        assert self.exp is not None
        body: dict[str, Any] = {"locations": [{
            "type": "MLFLOW_EXPERIMENT",
            "mlflow_experiment": {"experiment_id": Ref(self.exp.symbol)}}]}
        if v2:
            body = {"experiment_ids": [Ref(self.exp.symbol)]}
        run_id = self._run_id()
        if filter_string:
            body["filter"] = (Sub(filter_string.replace("{run}", "{0}"), Ref(self.run.symbol))
                              if "{run}" in filter_string and self.run is not None
                              else filter_string)
        if order:
            body["order_by"] = [o.clause for o in ORDERS[order]]
        if page_size:
            body["max_results"] = page_size
        found = [t for t in self.all_traces if not t.deleted
                 and (not filter_string or FILTERS[filter_string](t, run_id))]
        expected = order_traces(found, ORDERS[order] if order else [])
        size = page_size or 100
        offset, token = 0, None
        for _ in range(len(expected) // size + 2):
            request = dict(body, page_token=token) if token else body
            if v2:
                reply = self.ctx.call("search_traces_v2", "GET", V2, query=request)
            else:
                reply = self.ctx.call("search_traces", "POST", f"{V3}/search", body=request)
            page = expected[offset:offset + size]
            offset += size
            want: dict[str, Any] = {"traces": [t.info_v2_json() if v2 else t.info_json()
                                               for t in page]} if page else {}
            if len(page) == size:  # a full page always carries a token
                want["next_page_token"] = "<token>"
            self.ctx.expect("search_traces_v2" if v2 else "search_traces", reply, 200, want)
            token = (reply.json or {}).get("next_page_token") if reply.status == 200 else None
            if not token:
                return

    # -- deletion and links ------------------------------------------------------------------

    @rule(picks=st.lists(st.integers(min_value=0, max_value=7), min_size=1, max_size=3))
    def delete_by_ids(self, picks):
        if not self.all_traces or self.exp is None:
            return
        chosen = {id(t): t for t in (self.all_traces[p % len(self.all_traces)]
                                     for p in picks)}.values()
        reply = self.ctx.call("delete_traces", "POST", f"{V2}/delete-traces", body={
            "experiment_id": Ref(self.exp.symbol),
            "request_ids": [self._tid(t.number) for t in chosen]})
        gone = [t for t in chosen if not t.deleted]
        if self.ctx.expect("delete_traces", reply, 200, {"traces_deleted": len(gone)},
                           refusable=True) or reply.status < 400:
            for t in gone:
                t.deleted = True

    @rule(max_timestamp=st.sampled_from([1, 2, 1500]),
          max_traces=st.none() | st.integers(min_value=1, max_value=2), root=routes)
    def delete_by_age(self, max_timestamp, max_traces, root):
        """Traces no newer than the cut, the oldest first (then by id), at most max_traces."""
        if not self.setup():
            return
        assert self.exp is not None
        body: dict[str, Any] = {"experiment_id": Ref(self.exp.symbol),
                                "max_timestamp_millis": max_timestamp}
        if max_traces is not None:
            body["max_traces"] = max_traces
        reply = self.ctx.call("delete_traces", "POST", f"{root}/delete-traces", body=body)
        gone = sorted((t for t in self.all_traces
                       if not t.deleted and t.request_time <= max_timestamp),
                      key=lambda t: (t.request_time, t.trace_id))[:max_traces]
        if self.ctx.expect("delete_traces", reply, 200, {"traces_deleted": len(gone)},
                           refusable=True) or reply.status < 400:
            for t in gone:
                t.deleted = True

    @rule(picks=st.lists(st.integers(min_value=0, max_value=7), min_size=1, max_size=3))
    def link_to_run(self, picks):
        if not self.all_traces or self.run is None:
            return
        chosen = [self.all_traces[p % len(self.all_traces)] for p in picks]
        reply = self.ctx.call("link_traces_to_run", "POST", f"{V2}/link-to-run", body={
            "trace_ids": [self._tid(t.number) for t in chosen], "run_id": Ref(self.run.symbol)})
        new = [t.trace_id for t in chosen if self.run.run_id not in t.runs]
        if len(set(new)) < len(new):
            # An id twice among those not linked yet: two equal link rows break a unique key
            # (the message is the database's), and nothing is linked.
            self.ctx.expect_error("link_traces_to_run", reply, 400, "BAD_REQUEST")
            return
        if self.ctx.expect("link_traces_to_run", reply, 200, {}, refusable=True) \
                or reply.status < 400:
            for t in chosen:  # links are kept for any id, a deleted trace's too
                t.runs.add(self.run.run_id)

    @rule(trace=traces, versions=st.lists(st.sampled_from(["1", "2", "02"]), max_size=2))
    def link_prompts(self, trace, versions):
        """``link-prompts``: a version is read as an int ("02" links ``qa/2``), found by
        ``prompt = 'qa/2'`` and kept past the trace; a deleted trace is not found, unless
        nothing was to be linked."""
        reply = self.ctx.call("link_prompts_to_trace", "POST", f"{V2}/link-prompts", body={
            "trace_id": self._tid(trace.number),
            "prompt_versions": [{"name": "qa", "version": v} for v in versions]})
        if versions and trace.deleted:
            self.ctx.expect_error("link_prompts_to_trace", reply, 404, "RESOURCE_DOES_NOT_EXIST",
                                  self._missing(trace))
            return
        new = [f"qa/{int(v)}" for v in versions if f"qa/{int(v)}" not in trace.prompts]
        if len(set(new)) < len(new):
            # a version twice among the new links: two equal association rows break a unique
            # key (the message is the database's), and nothing is linked
            self.ctx.expect_error("link_prompts_to_trace", reply, 400, "BAD_REQUEST")
            return
        if self.ctx.expect("link_prompts_to_trace", reply, 200, {}, refusable=True) \
                or reply.status < 400:
            trace.prompts.update(new)

    # -- explicit cases ----------------------------------------------------------------------

    def _traces(self, *specs: tuple[int, int | None, str, dict[str, str], str]) -> list[Trace]:
        made = [self.start(*spec) for spec in specs]
        return [t for t in made if isinstance(t, Trace)]

    @scenario
    def case_search_filters_and_orders(self):
        """Filters (a != on a tag or the name skips traces without it), orders (missing
        values last in both directions, then newest first, then by id)."""
        traces = self._traces((1, 3, "OK", {"k1": "a", TRACE_NAME: "a"}, "m1=x"),
                              (2, None, "ERROR", {"k1": "b"}, "source-run"),
                              (2, 1, "OK", {TRACE_NAME: "ab", "k2": "ab"}, "none"),
                              (1500, None, "IN_PROGRESS", {}, "m1=y"))
        if len(traces) < 4:
            return
        self.link_to_run([3])
        self.link_to_run([0, 3, 0])  # 0 twice, not linked yet: refused
        self.link_to_run([3, 3])  # linked already: fine
        for filter_string in [None, *FILTERS]:
            self.search(filter_string, None, None)
        for order in ORDERS:
            self.search(None, order, None)
        self.search("tags.k1 != 'a'", "name", None, v2=True)
        for trace in traces:
            self.get_info_v2(trace)

    @scenario(params=[1, 2, 3, 4, 5])
    def case_search_pages(self, page_size):
        """Four traces paged 1-5 at a time: every full page carries a token, so an exactly
        full last page (4 by 1, 2 or 4) is followed by an empty page without one."""
        self._traces((1, None, "OK", {}, "none"), (2, None, "OK", {}, "none"),
                     (2, None, "ERROR", {}, "none"), (1000, None, "OK", {}, "none"))
        self.search(None, None, page_size)
        self.search(None, "timestamp_ms ASC", page_size)
        self.search(None, None, page_size, v2=True)

    @scenario
    def case_tags(self):
        """Tags on both routes; the name is a tag; deleting a missing tag: 404."""
        traces = self._traces((1, None, "OK", {"k1": "a"}, "none"))
        if not traces:
            return
        trace = traces[0]
        self.set_tag(trace, "k2", "b", V2)
        self.set_tag(trace, "k2", "ab", V3)
        self.set_tag(trace, TRACE_NAME, "a", V2)
        self.delete_tag(trace, "k1", V3)
        self.delete_tag(trace, "k1", V2)
        self.search("name = 'a'", None, None)
        self.delete_tag(trace, TRACE_NAME, V2)
        self.delete_tag(trace, TRACE_NAME, V3)
        self.get_info(trace)

    @scenario
    def case_assessments_and_overrides(self):
        """Feedback and expectations; an override invalidates its target until deleted;
        updates (mask), a value of the wrong kind refused, deletes idempotent."""
        traces = self._traces((1, 1, "OK", {}, "none"), (2, None, "OK", {}, "none"))
        if len(traces) < 2:
            return
        trace, other = traces
        first = self.create_feedback(trace, "relevance", 0.5, ("HUMAN", "me"), "why", None)
        expect = self.create_expectation(trace, "correct", 2, ("CODE", None))
        if not isinstance(first, Assessment) or not isinstance(expect, Assessment):
            return
        override = self.create_feedback(trace, "relevance", True, ("LLM_JUDGE", "judge"), "",
                                        first)
        self.create_feedback(other, "x", "good", ("HUMAN", "me"), "", first)  # other trace
        self.get_assessment(first)
        self.get_info(trace)
        for change in ("rationale", "name", "metadata", "feedback", "expectation"):
            self.update_assessment(first, change)
            self.update_assessment(expect, change)
        if isinstance(override, Assessment):
            self.delete_assessment(override)
            self.delete_assessment(override)
            self.get_assessment(override)
            self.update_assessment(override, "rationale")
            self.create_feedback(trace, "y", 1, ("HUMAN", "me"), "", override)
        self.get_assessment(first)
        self.search(None, None, None)

    @scenario
    def case_invalid_assessments(self):
        """No value of either kind: 400; an unknown trace: 404."""
        traces = self._traces((1, None, "OK", {}, "none"))
        if not traces:
            return
        reply = self.ctx.call("create_assessment", "POST",
                              self._path(traces[0], V3, "/assessments"),
                              body={"assessment": {"assessment_name": "x",
                                                   "source": {"source_type": "HUMAN"}}})
        self.ctx.expect_error("create_assessment", reply, 400, "INVALID_PARAMETER_VALUE",
                              "Unknown assessment type: None")
        reply = self.ctx.call("create_assessment", "POST", Sub(
            V3 + "/tr-{0}ffffffff/assessments", Ref("prefix")), body={"assessment": {
                "assessment_name": "x", "source": {"source_type": "HUMAN"},
                "feedback": {"value": 1}}})
        self.ctx.expect_error("create_assessment", reply, 404, "RESOURCE_DOES_NOT_EXIST",
                              f"Trace with ID 'tr-{self.prefix}ffffffff' not found.")
        self.get_info(traces[0])

    @scenario
    def case_unknown_trace(self):
        """An id nobody started: every read and write answers as for a deleted trace."""
        if not self.setup():
            return
        ghost = self._new_trace(request_time=1, duration=None, state="OK", deleted=True)
        self.all_traces.append(ghost)
        self.get_info(ghost)
        self.get_info_v2(ghost)
        self.get_trace(ghost, True)
        self.set_tag(ghost, "k1", "a", V2)
        self.set_tag(ghost, TRACE_NAME, "a", V3)
        self.delete_tag(ghost, "k1", V2)
        self.delete_tag(ghost, TRACE_NAME, V2)
        self.create_feedback(ghost, "relevance", 0.5, ("HUMAN", "me"), "", None)
        self.batch_get_infos([0])
        self.delete_by_ids([0])
        self.all_traces.remove(ghost)

    @scenario
    def case_deleted_traces(self):
        """After delete-traces a trace, its tags and its assessments are gone."""
        traces = self._traces((1, None, "OK", {"k1": "a"}, "none"),
                              (2, None, "OK", {}, "none"))
        if len(traces) < 2:
            return
        a = self.create_feedback(traces[0], "relevance", 0.5, ("HUMAN", "me"), "", None)
        self.delete_by_ids([0])
        self.delete_by_ids([0, 1])
        self.get_info(traces[0])
        self.set_tag(traces[0], "k2", "a", V2)
        self.delete_tag(traces[0], "k1", V3)
        self.create_expectation(traces[0], "correct", "abc", ("HUMAN", "me"))
        if isinstance(a, Assessment):
            self.get_assessment(a)
            self.update_assessment(a, "rationale")
            self.delete_assessment(a)
        self.search(None, None, None)

    @scenario
    def case_delete_by_age(self):
        """By age: oldest first, ties by id, at most max_traces; both or neither of ids and
        age: 400."""
        self._traces((2, None, "OK", {}, "none"), (1, None, "OK", {}, "none"),
                     (2, None, "OK", {}, "none"), (1500, None, "OK", {}, "none"))
        self.delete_by_age(2, 2, V2)
        self.delete_by_age(1500, None, V3)
        self.search(None, None, None)
        if self.exp is None:
            return
        for body, message in (
                ({}, "Either `max_timestamp_millis` or `trace_ids` must be specified."),
                ({"max_timestamp_millis": 5, "request_ids": [self._tid(1)]},
                 "Only one of `max_timestamp_millis` and `trace_ids` can be specified.")):
            reply = self.ctx.call("delete_traces", "POST", f"{V2}/delete-traces",
                                  body={"experiment_id": Ref(self.exp.symbol), **body})
            self.ctx.expect_error("delete_traces", reply, 400, "INVALID_PARAMETER_VALUE",
                                  message)

    @scenario
    def case_batch_get_infos(self):
        """Unknown ids are left out; a repeated id comes once, where it was last asked for."""
        self._traces((1, None, "OK", {}, "none"), (2, None, "ERROR", {}, "none"))
        self.batch_get_infos([1, 0, 1])
        self.batch_get_infos([0, 1, 0])
        self.delete_by_ids([1])
        self.batch_get_infos([1, 0])

    @scenario
    def case_spans_then_info(self):
        """The client's export: spans first (the trace exists, timed by them), then the info
        (merged: its times, state and tags win; the answer still shows the earlier tags)."""
        first = self.log_spans(1000, False, True)
        second = self.log_spans(2, True, False)
        if not isinstance(first, Trace) or not isinstance(second, Trace):
            return
        self.get_info(first)
        self.get_trace(first, False)
        self.get_trace(second, True)
        self.start_again(first, 1000, 1500, "OK", {"k1": "a", TRACE_NAME: "a"}, "m1=x")
        self.get_trace(first, False)
        self.search(None, None, None)
        self.start_again(first, 2, 3, "ERROR", {"k1": "b"}, "none")
        self.get_info(first)
        self.get_info_v2(first)
        self.get_info_v2(second)
