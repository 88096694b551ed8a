"""Traces for assertions: what the code under test traced, as plain Python objects.

``fakeflow.traces`` flushes the MLflow client's asynchronous trace export, then reads every
trace of the test (on the fake: from its store; on a real server: through the REST API, from
this test's experiment) and gives a ``Traces`` list. Each ``Trace`` has its spans as a tree
(``root``, ``children``) with names, types, inputs, outputs, attributes, status and events, and
its tags, metadata and assessments, plus a few helpers whose failures say what *was* there::

    def test_answer_is_traced(fakeflow):
        answer("why?")
        trace = fakeflow.traces.one()
        assert trace.root.name == "answer"
        assert trace.span("retrieve").inputs == {"query": "why?"}
        assert trace.shape() == ("answer", [("retrieve", []), ("generate", [])])
"""

from __future__ import annotations

import base64
import sys
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterator

if TYPE_CHECKING:
    from pytest_plugin.attachments import AttachmentRef
    from pytest_plugin.handle import FakeflowHandle

INPUTS, OUTPUTS, SPAN_TYPE = "mlflow.spanInputs", "mlflow.spanOutputs", "mlflow.spanType"


def decode_any(value: dict[str, Any]) -> Any:
    """An OTel ``AnyValue`` in proto JSON as a Python value."""
    if not value:
        return None
    (kind, inner), = value.items()
    if kind == "array_value":
        return [decode_any(v) for v in inner.get("values", [])]
    if kind == "kvlist_value":
        return {kv["key"]: decode_any(kv.get("value", {})) for kv in inner.get("values", [])}
    if kind == "int_value":
        return int(inner)
    if kind == "double_value":
        return float(inner)
    if kind == "bytes_value":
        return base64.b64decode(inner)
    return inner


def _hex(b64: str | None) -> str | None:
    return base64.b64decode(b64).hex() if b64 else None


@dataclass
class SpanEvent:
    name: str
    timestamp_ns: int
    attributes: dict[str, Any]


@dataclass
class Span:
    """One span. ``attributes`` holds every attribute; ``user_attributes`` those not MLflow's."""

    span_id: str
    parent_id: str | None
    name: str
    span_type: str | None
    inputs: Any
    outputs: Any
    attributes: dict[str, Any]
    status: str  # "OK" | "ERROR" | "UNSET"
    status_message: str
    events: list[SpanEvent]
    start_time_ns: int
    end_time_ns: int | None
    children: list["Span"] = field(default_factory=list, repr=False)

    @property
    def user_attributes(self) -> dict[str, Any]:
        return {k: v for k, v in self.attributes.items() if not k.startswith("mlflow.")}

    @property
    def duration_ms(self) -> float | None:
        if self.end_time_ns is None:
            return None
        return (self.end_time_ns - self.start_time_ns) / 1e6

    @property
    def attachments(self) -> list["AttachmentRef"]:
        """The ``mlflow.Attachment`` references in this span's inputs, then its outputs; read
        their bytes with ``fakeflow.attachment(ref)`` (see ``pytest_plugin.attachments``)."""
        from pytest_plugin.attachments import find_refs

        return find_refs([self.inputs, self.outputs])

    def walk(self) -> Iterator["Span"]:
        """This span and everything below it, depth first, children in start order."""
        yield self
        for child in self.children:
            yield from child.walk()

    def child(self, name: str) -> "Span":
        """The one direct child called ``name``."""
        return _exactly_one([c for c in self.children if c.name == name], name,
                            f"children of {self.name!r}", [c.name for c in self.children])

    def event(self, name: str) -> SpanEvent:
        return _exactly_one([e for e in self.events if e.name == name], name,
                            f"events of {self.name!r}", [e.name for e in self.events])


@dataclass
class Assessment:
    assessment_id: str
    name: str
    kind: str  # "feedback" | "expectation" | "issue" (name: the issue id; value: its name)
    value: Any
    source_type: str
    source_id: str
    rationale: str | None
    metadata: dict[str, str]
    span_id: str | None
    valid: bool
    overrides: str | None
    error: dict[str, Any] | None


@dataclass
class Trace:
    trace_id: str
    experiment_id: str
    state: str
    request_time_ms: int
    execution_time_ms: int | None
    name: str | None
    tags: dict[str, str]
    metadata: dict[str, str]
    request_preview: str | None
    response_preview: str | None
    spans: list[Span]
    assessments: list[Assessment]

    @property
    def root(self) -> Span:
        roots = [s for s in self.spans if s.parent_id is None]
        return _exactly_one(roots, "<root>", f"root spans of {self.trace_id}",
                            [s.name for s in roots])

    @property
    def token_usage(self) -> dict[str, int] | None:
        """Token counts the server summed from the spans' ``mlflow.chat.tokenUsage``
        (``input_tokens``, ``output_tokens``, ``total_tokens``...), or None."""
        return self._json_metadata("mlflow.trace.tokenUsage")

    @property
    def cost(self) -> dict[str, float] | None:
        """Costs the server summed from the spans' ``mlflow.llm.cost``, or None."""
        return self._json_metadata("mlflow.trace.cost")

    @property
    def session_id(self) -> str | None:
        """The conversation the trace belongs to (a span's ``session.id``, or the info's)."""
        return self.metadata.get("mlflow.trace.session")

    def _json_metadata(self, key: str) -> Any:
        import json

        raw = self.metadata.get(key)
        return json.loads(raw) if raw else None

    @property
    def linked_prompts(self) -> list[str]:
        """Prompt versions the traced code loaded, as ``"name/version"`` (what a trace search
        ``prompt = 'name/version'`` finds), from the client's ``mlflow.linkedPrompts`` tag."""
        import json

        raw = self.tags.get("mlflow.linkedPrompts")
        return [f"{p['name']}/{p['version']}" for p in json.loads(raw)] if raw else []

    def span(self, name: str) -> Span:
        """The one span called ``name`` anywhere in the trace."""
        return _exactly_one(self.spans_named(name), name, f"spans of {self.trace_id}",
                            [s.name for s in self.spans])

    def spans_named(self, name: str) -> list[Span]:
        return [s for s in self.spans if s.name == name]

    def shape(self) -> tuple[str, list]:
        """The span tree as nested ``(name, [children…])``, for one readable equality check."""
        def node(span: Span) -> tuple[str, list]:
            return (span.name, [node(c) for c in span.children])
        return node(self.root)

    def tree(self) -> str:
        """The span tree as indented text (names, types, status)."""
        lines: list[str] = []

        def add(span: Span, depth: int) -> None:
            lines.append(f"{'  ' * depth}{span.name} [{span.span_type}] {span.status}")
            for child in span.children:
                add(child, depth + 1)
        for root in [s for s in self.spans if s.parent_id is None]:
            add(root, 0)
        return "\n".join(lines)

    def assessment(self, name: str) -> Assessment:
        """The one valid assessment called ``name`` (overridden ones are skipped)."""
        found = [a for a in self.assessments if a.name == name and a.valid]
        return _exactly_one(found, name, f"assessments of {self.trace_id}",
                            [a.name for a in self.assessments])

    def feedback(self, name: str) -> Any:
        found = self.assessment(name)
        assert found.kind == "feedback", f"{name!r} is an {found.kind}, not a feedback"
        return found.value

    def expectation(self, name: str) -> Any:
        found = self.assessment(name)
        assert found.kind == "expectation", f"{name!r} is a {found.kind}, not an expectation"
        return found.value

    def issues(self) -> dict[str, str]:
        """The issues this trace is linked to: issue id -> issue name (valid references)."""
        return {a.name: a.value for a in self.assessments if a.kind == "issue" and a.valid}


class Traces(list):
    """The traces of a test, oldest first."""

    def one(self) -> Trace:
        return _exactly_one(list(self), "trace", "traces", [t.name for t in self])

    def named(self, name: str) -> "Traces":
        return Traces(t for t in self if t.name == name)

    def by_id(self, trace_id: str) -> Trace:
        return _exactly_one([t for t in self if t.trace_id == trace_id], trace_id, "traces",
                            [t.trace_id for t in self])


def _exactly_one(found: list[Any], what: str, where: str, present: list[Any]) -> Any:
    if len(found) != 1:
        raise AssertionError(f"expected exactly one {what!r} among the {where}, found "
                             f"{len(found)}; there are: {present}")
    return found[0]


# ---- building from proto JSON (the same shape on the fake and on a real server) ----------------

def _span(doc: dict[str, Any]) -> Span:
    attributes = {a["key"]: decode_any(a.get("value", {})) for a in doc.get("attributes", [])}
    status = doc.get("status", {})
    return Span(
        span_id=_hex(doc["span_id"]) or "",
        parent_id=_hex(doc.get("parent_span_id")),
        name=doc.get("name", ""),
        span_type=attributes.get(SPAN_TYPE),
        inputs=attributes.get(INPUTS),
        outputs=attributes.get(OUTPUTS),
        attributes=attributes,
        status=status.get("code", "STATUS_CODE_UNSET").replace("STATUS_CODE_", ""),
        status_message=status.get("message", ""),
        events=[SpanEvent(e.get("name", ""), int(e.get("time_unix_nano", 0)),
                          {a["key"]: decode_any(a.get("value", {}))
                           for a in e.get("attributes", [])})
                for e in doc.get("events", [])],
        start_time_ns=int(doc.get("start_time_unix_nano", 0)),
        end_time_ns=int(doc["end_time_unix_nano"]) if doc.get("end_time_unix_nano") else None,
    )


def _ms(timestamp: str | None) -> int:
    from fakeflow.web.trace_render import parse_timestamp_ms

    return parse_timestamp_ms(timestamp) if timestamp else 0


def _assessment(doc: dict[str, Any]) -> Assessment:
    import json

    kind = next((k for k in ("feedback", "issue") if k in doc), "expectation")
    body = doc.get(kind, {})
    value = body.get("issue_name", "") if kind == "issue" else body.get("value")
    if "serialized_value" in body:
        value = json.loads(body["serialized_value"].get("value", "null"))
    return Assessment(
        assessment_id=doc.get("assessment_id", ""), name=doc.get("assessment_name", ""),
        kind=kind, value=value, source_type=doc.get("source", {}).get("source_type", ""),
        source_id=doc.get("source", {}).get("source_id", ""), rationale=doc.get("rationale"),
        metadata=dict(doc.get("metadata", {})), span_id=doc.get("span_id"),
        valid=doc.get("valid", True), overrides=doc.get("overrides"),
        error=body.get("error"),
    )


def from_json(doc: dict[str, Any]) -> Trace:
    """A ``Trace`` from MLflow's proto JSON ``{"trace_info": …, "spans": […]}``."""
    from fakeflow.web.trace_render import parse_duration_ms as _duration_ms

    info = doc["trace_info"]
    spans = [_span(s) for s in doc.get("spans", [])]
    by_id = {s.span_id: s for s in spans}
    for s in sorted(spans, key=lambda s: s.start_time_ns):
        if s.parent_id in by_id:
            by_id[s.parent_id].children.append(s)
    tags = dict(info.get("tags", {}))
    duration = info.get("execution_duration")
    return Trace(
        trace_id=info["trace_id"],
        experiment_id=info["trace_location"]["mlflow_experiment"]["experiment_id"],
        state=info.get("state", "STATE_UNSPECIFIED"),
        request_time_ms=_ms(info.get("request_time")),
        execution_time_ms=_duration_ms(duration) if duration else None,
        name=tags.get("mlflow.traceName"),
        tags=tags,
        metadata=dict(info.get("trace_metadata", {})),
        request_preview=info.get("request_preview"),
        response_preview=info.get("response_preview"),
        spans=sorted(spans, key=lambda s: s.start_time_ns),
        assessments=[_assessment(a) for a in info.get("assessments", [])],
    )


def flush_client() -> None:
    """Wait for the MLflow client's background trace export, if MLflow is in use, and for
    the threads on which its exporter links prompt versions to traces."""
    import threading

    fluent = sys.modules.get("mlflow.tracking.fluent")
    if fluent is not None and hasattr(fluent, "flush_trace_async_logging"):
        fluent.flush_trace_async_logging()
    for thread in threading.enumerate():
        if thread.name.startswith("link_prompts_from_exporter"):
            thread.join(timeout=30)


def collect(handle: "FakeflowHandle") -> Traces:
    """Every trace the test produced, oldest first."""
    flush_client()
    if handle.is_fake:
        from fakeflow.web import trace_render

        store = handle.store.traces
        with store.lock:
            traces = list(store.traces.values())
            docs = [trace_render.trace_with_spans(t, t.span_list()) for t in traces]
        found = [from_json(d) for d in docs]
    else:
        found = _collect_from_server(handle)
    return Traces(sorted(found, key=lambda t: (t.request_time_ms, t.trace_id)))


def _collect_from_server(handle: "FakeflowHandle") -> list[Trace]:
    rest = handle.rest
    location = {"type": "MLFLOW_EXPERIMENT",
                "mlflow_experiment": {"experiment_id": handle.experiment_id}}
    ids: list[str] = []
    token = None
    while True:
        body: dict[str, Any] = {"locations": [location], "max_results": 500}
        if token:
            body["page_token"] = token
        page = rest.call("POST", "/api/3.0/mlflow/traces/search", body)
        ids += [t["trace_id"] for t in page.get("traces", [])]
        token = page.get("next_page_token")
        if not token or not page.get("traces"):
            break
    found = []
    for trace_id in ids:
        answer = rest.call("GET", "/api/3.0/mlflow/traces/get",
                           {"trace_id": trace_id, "allow_partial": "true"})
        found.append(from_json(answer["trace"]))
    return found
