"""MLflow 3 traces: trace info, spans, tags, metadata and assessments, beside the runs.

The store shares the tracking store's lock and clock (a trace belongs to an experiment and may
point at a run), like the registry and logged-model stores. It keeps what MLflow's SQL store
keeps: one trace row with its tags and request metadata, one stored document per span (the
span's JSON as MLflow's ``Span.to_dict`` writes it, attribute values JSON-encoded) and the
assessments. The web layer decodes OTLP and proto JSON into these shapes; nothing here knows HTTP.
"""

from __future__ import annotations

import copy
import json
import posixpath
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterable, Sequence

from fakeflow.state.errors import MlflowError, experiment_not_active, invalid, not_found
from fakeflow.state import trace_analytics as analytics

if TYPE_CHECKING:
    from fakeflow.state.tracking import TrackingStore

#: TraceInfoV3.State names.
STATES = ("STATE_UNSPECIFIED", "OK", "ERROR", "IN_PROGRESS")
SOURCE_TYPES = ("SOURCE_TYPE_UNSPECIFIED", "HUMAN", "LLM_JUDGE", "CODE")

TRACE_NAME_TAG = "mlflow.traceName"
ARTIFACT_LOCATION_TAG = "mlflow.artifactLocation"
SPANS_LOCATION_TAG = "mlflow.trace.spansLocation"
TRACKING_STORE = "TRACKING_STORE"
INFO_FINALIZED = analytics.FINALIZED_KEY
SIZE_STATS = "mlflow.trace.sizeStats"
SOURCE_RUN = "mlflow.sourceRun"
TRACE_USER = analytics.USER_KEY
REQUEST_ID_ATTRIBUTE = "mlflow.traceRequestId"
INPUTS_ATTRIBUTE = "mlflow.spanInputs"
SPAN_TYPE_ATTRIBUTE = "mlflow.spanType"
OUTPUTS_ATTRIBUTE = "mlflow.spanOutputs"
TRACE_TAG_PREFIX = "mlflow.traceTag."
#: Tags the tag routes refuse to change (MLflow manages them).
IMMUTABLE_TAGS = frozenset({SPANS_LOCATION_TAG, "mlflow.trace.archiveLocation",
                            "mlflow.trace.archivalFailure"})
DELETABLE_IMMUTABLE_TAGS = frozenset({"mlflow.trace.archivalFailure"})
MAX_TAG_KEY_LENGTH = 250
MAX_TAG_VALUE_LENGTH = 8000
PREVIEW_LENGTH = 1000
#: GetTrace's refusal for a trace whose spans are not in the tracking store (its data is the
#: ``traces.json`` at its artifact location; ``get-trace-artifact`` reads that instead).
SPANS_NOT_STORED = "Trace data not stored in tracking store"
MAX_LINKS = 100


@dataclass
class Assessment:
    """A feedback, an expectation or an issue reference on a trace (``kind`` says which)."""

    assessment_id: str
    name: str
    trace_id: str
    source_type: str
    source_id: str
    create_time_ms: int
    last_update_time_ms: int
    kind: str  # "feedback" | "expectation" | "issue" (value {"issue_name": ...}, name = issue id)
    value: Any = None
    #: Feedback only: {"error_code", "error_message", "stack_trace"} as sent.
    error: dict[str, str] | None = None
    #: Expectation only: {"serialization_format", "value"} instead of ``value``.
    serialized_value: dict[str, str] | None = None
    span_id: str = ""
    #: Feedback only; None: never given ("" is a rationale an update cleared, and MLflow shows it)
    rationale: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    overrides: str = ""
    valid: bool = True


@dataclass
class Trace:
    trace_id: str
    experiment_id: str
    request_time: int
    execution_duration: int | None
    state: str
    client_request_id: str | None = None
    request_preview: str | None = None
    response_preview: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    assessments: list[Assessment] = field(default_factory=list)
    #: span id (base64, as stored) -> the span document
    spans: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: runs linked with ``link-to-run`` (MLflow's entity associations; not shown in the info)
    linked_runs: list[str] = field(default_factory=list)
    #: prompt versions ("name/version") linked with ``link-prompts``; found by ``prompt =``
    linked_prompts: list[str] = field(default_factory=list)

    @property
    def finalized(self) -> bool:
        return INFO_FINALIZED in self.metadata

    def span_list(self) -> list[dict[str, Any]]:
        """Spans as MLflow returns them: the root first, then by start time."""
        return sorted(self.spans.values(), key=lambda s: (
            0 if s.get("parent_span_id") is None else 1, s.get("start_time_unix_nano") or 0))


def trace_not_found(trace_id: str) -> MlflowError:
    return not_found(f"Trace with ID '{trace_id}' not found.")


def check_delete_criteria(max_timestamp_millis: int | None, max_traces: int | None,
                          trace_ids: Sequence[str]) -> None:
    """MLflow's rules for delete-traces, checked before the experiment id is read: ids or
    an age (not both), a count only with an age, and a positive one."""
    if max_timestamp_millis is None and not trace_ids:
        raise invalid("Either `max_timestamp_millis` or `trace_ids` must be specified.")
    if max_timestamp_millis is not None and trace_ids:
        raise invalid("Only one of `max_timestamp_millis` and `trace_ids` can be specified.")
    if trace_ids and max_traces is not None:
        raise invalid("`max_traces` can't be specified if `trace_ids` is specified.")
    if max_traces is not None and max_traces <= 0:
        raise invalid(f"`max_traces` must be a positive integer, received {max_traces}.")


def _duplicate_links(links: Sequence[tuple[str, str]], destination_type: str, now: int,
                     ids: Any) -> MlflowError:
    """A link twice in one request (``(trace id, destination id)`` pairs): MLflow inserts
    both association rows and SQLite refuses the second (the whole request is rolled back)."""
    drawn_from = ids.getstate()
    rows = ", ".join(f"('{ids.hex_id()}', 'trace', {t!r}, {destination_type!r}, {d!r}, {now})"
                     for t, d in links)
    ids.setstate(drawn_from)  # the request is refused: the ids it quotes were never stored
    return MlflowError(
        "(sqlite3.IntegrityError) UNIQUE constraint failed: entity_associations.source_type, "
        "entity_associations.source_id, entity_associations.destination_type, "
        "entity_associations.destination_id\n[SQL: INSERT INTO entity_associations "
        "(association_id, source_type, source_id, destination_type, destination_id, "
        "created_time) VALUES (?, ?, ?, ?, ?, ?)]\n"
        f"[parameters: [{rows}]]\n(Background on this error at: https://sqlalche.me/e/21/gkpj)",
        "BAD_REQUEST")


def check_tag(key: str, value: str) -> tuple[str, str]:
    """MLflow's trace tag rules: a valid, bounded key; a value cut to 8000 characters."""
    from fakeflow.state import validation as v

    v.check_name(key, "key")
    v.limit_length("key", MAX_TAG_KEY_LENGTH, key)
    return key, v.limit_length("value", MAX_TAG_VALUE_LENGTH, value, truncate=True)


def json_or_raw(text: Any) -> Any:
    """JSON text decoded, or the value as it is when it is not JSON text."""
    if not isinstance(text, str):
        return text
    try:
        return json.loads(text)
    except ValueError:
        return text


def sanitize_attributes(attributes: dict[str, Any]) -> dict[str, Any]:
    """MLflow undoes a second JSON dump on storing: a value that decodes to a string holding
    JSON text (a string, object or array) is kept decoded once."""
    out = {}
    for key, value in attributes.items():
        try:
            decoded = json.loads(value)
            if isinstance(decoded, str) and isinstance(json.loads(decoded), (str, dict, list)):
                out[key] = decoded
                continue
        except (ValueError, TypeError):
            pass
        out[key] = value
    return out


def _complete(trace: Trace) -> bool:
    """Whether every span of the trace arrived: some did, and no fewer than the client's size
    stats announce."""
    if not trace.spans:
        return False
    stats = trace.metadata.get(SIZE_STATS)
    expected = json.loads(stats).get("num_spans", 0) if stats else 0
    return len(trace.spans) >= expected


def preview(attribute_value: str) -> str:
    """A trace's request/response preview from its root span's stored inputs or outputs."""
    if len(attribute_value) <= PREVIEW_LENGTH:
        return attribute_value
    return attribute_value[:PREVIEW_LENGTH - 3] + "..."


class TraceStore:
    """Traces by id; every method takes the shared lock."""

    def __init__(self, tracking: "TrackingStore") -> None:
        self.tracking = tracking
        self.lock = tracking.lock
        self.traces: dict[str, Trace] = {}
        #: run id -> trace ids linked to it: MLflow keeps a link (for any id) after its trace is
        #: deleted, so a trace started again under that id is still the run's.
        self.links: dict[str, set[str]] = {}
        #: trace id -> linked prompt versions, kept (as MLflow keeps them) past the trace.
        self.prompt_links: dict[str, list[str]] = {}

    def reset(self) -> None:
        with self.lock:
            self.traces = {}
            self.links = {}
            self.prompt_links = {}

    def adopt(self, traces: dict[str, Trace], links: dict[str, Any] | None = None) -> None:
        """Take restored traces and links (:meth:`export_links`; the caller holds the lock).
        Without saved links (an older snapshot) they are rebuilt from the traces."""
        self.traces = traces
        if links is not None:
            self.links = {run: set(ids) for run, ids in links["runs"].items()}
            self.prompt_links = {t: list(ids) for t, ids in links["prompts"].items()}
            return
        self.links = {}
        self.prompt_links = {}
        for trace in traces.values():
            for run_id in trace.linked_runs:
                self.links.setdefault(run_id, set()).add(trace.trace_id)
            if trace.linked_prompts:
                self.prompt_links[trace.trace_id] = list(trace.linked_prompts)

    def export_links(self) -> dict[str, Any]:
        """Run and prompt links by id, deleted traces' included (they outlive their traces)."""
        with self.lock:
            return {"runs": {run: sorted(ids) for run, ids in self.links.items()},
                    "prompts": {t: list(ids) for t, ids in self.prompt_links.items()}}

    def _links_of(self, trace_id: str) -> list[str]:
        return [run for run, ids in self.links.items() if trace_id in ids]

    def _prompts_of(self, trace_id: str) -> list[str]:
        return list(self.prompt_links.get(trace_id, ()))

    # ---- writes from the exporter --------------------------------------------------------

    def _active_experiment(self, experiment_id: str) -> Any:
        experiment = self.tracking.get_experiment(experiment_id)
        if experiment.lifecycle_stage != "active":
            raise experiment_not_active(experiment.experiment_id)
        return experiment

    def _location_tag(self, experiment: Any, trace_id: str) -> str:
        return posixpath.join(experiment.artifact_location, "traces", trace_id, "artifacts")

    def start_trace(self, info: Trace) -> Trace:
        """StartTraceV3: record the finished trace's info; merge into spans logged earlier."""
        with self.lock:
            experiment = self._active_experiment(info.experiment_id)
            existing = self.traces.get(info.trace_id)
            metadata = analytics.merge_info_metadata(existing.metadata if existing else {},
                                                     {**info.metadata, INFO_FINALIZED: "true"})
            tags = {k: v for k, v in info.tags.items()}
            tags[ARTIFACT_LOCATION_TAG] = self._location_tag(experiment, info.trace_id)
            for assessment in info.assessments:
                assessment.trace_id = info.trace_id
                # drawn only now that the trace is accepted: a refused one moves no id generator
                assessment.assessment_id = assessment.assessment_id or f"a-{self.tracking.ids.hex_id()}"
            if existing is None:
                info.metadata, info.tags = metadata, tags
                info.linked_runs = self._links_of(info.trace_id)
                info.linked_prompts = self._prompts_of(info.trace_id)
                self.traces[info.trace_id] = info
                return copy.deepcopy(info)
            existing.experiment_id = experiment.experiment_id
            existing.request_time = info.request_time
            existing.execution_duration = info.execution_duration
            existing.state = info.state
            existing.client_request_id = info.client_request_id
            if info.request_preview is not None:
                existing.request_preview = info.request_preview
            if info.response_preview is not None:
                existing.response_preview = info.response_preview
            # MLflow answers from the row it held before merging: the tags it already had
            # (with their new values) and the new name, but not the new tag keys.
            shown = {k: tags.get(k, v) for k, v in existing.tags.items()}
            if TRACE_NAME_TAG in tags:
                shown[TRACE_NAME_TAG] = tags[TRACE_NAME_TAG]
            existing.tags.update(tags)
            existing.metadata = metadata
            known = {a.assessment_id for a in existing.assessments}
            existing.assessments += [a for a in info.assessments if a.assessment_id not in known]
            answer = copy.deepcopy(existing)
            answer.tags = shown
            return answer

    # ---- the deprecated v2 trace routes (still served by 3.17.2) ----------------------------

    def start_trace_v2(self, experiment_id: str, timestamp_ms: int, metadata: dict[str, str],
                       tags: dict[str, str], trace_id: str | None = None) -> Trace:
        """StartTrace (v2): a new IN_PROGRESS trace under a server-chosen id."""
        with self.lock:
            experiment = self._active_experiment(experiment_id)
            # drawn once the experiment is accepted: a refused start moves no id generator
            trace_id = trace_id or self.tracking.ids.hex_id()
            trace = Trace(trace_id, experiment.experiment_id, timestamp_ms, None, "IN_PROGRESS",
                          metadata=analytics.merge_info_metadata({}, metadata),
                          tags=dict(tags),
                          linked_runs=self._links_of(trace_id),
                          linked_prompts=self._prompts_of(trace_id))
            trace.tags[ARTIFACT_LOCATION_TAG] = self._location_tag(experiment, trace_id)
            self.traces[trace_id] = trace
            return copy.deepcopy(trace)

    def end_trace_v2(self, trace_id: str, timestamp_ms: int, state: str,
                     metadata: dict[str, str], tags: dict[str, str]) -> Trace:
        """EndTrace (v2): the duration up to ``timestamp_ms``, the state, merged metadata and
        tags. An unspecified status cannot be read back, so MLflow fails and keeps nothing."""
        with self.lock:
            trace = self._trace(trace_id)
            merged = analytics.merge_info_metadata(trace.metadata, metadata)
            if state not in STATES[1:]:
                raise MlflowError("<TraceStatus.UNSPECIFIED: 'TRACE_STATUS_UNSPECIFIED'> is not "
                                  "a valid TraceState", "INTERNAL_ERROR")
            trace.execution_duration = timestamp_ms - trace.request_time
            trace.state = state
            trace.metadata = merged
            trace.tags.update(tags)
            return copy.deepcopy(trace)

    def log_spans(self, experiment_id: str, spans: Sequence[tuple[str, dict[str, Any]]],
                  resource_tags: dict[str, dict[str, str]] | None = None) -> None:
        """Store OTLP spans ``(mlflow trace id, span document)``; create traces not yet known."""
        by_trace: dict[str, list[dict[str, Any]]] = {}
        for trace_id, span in spans:
            attributes = span.get("attributes") or {}
            # MLflow's span type column is read before the double dump is undone.
            span["type"] = json_or_raw(attributes.get(SPAN_TYPE_ATTRIBUTE))
            span["attributes"] = sanitize_attributes(attributes)
            by_trace.setdefault(trace_id, []).append(span)
        # Decoded and summed before the lock; MLflow fails on bad analytics before anything else.
        batches = {trace_id: analytics.analyse(s) for trace_id, s in by_trace.items()}
        with self.lock:
            experiment = None
            for trace_id, trace_spans in by_trace.items():
                if trace_id not in self.traces and experiment is None:
                    experiment = self.tracking.get_experiment(experiment_id)
            # Sums over the spans stored before, for every trace first: a crash changes nothing.
            metadata = {trace_id: analytics.derive(
                trace.metadata if trace else {}, batches[trace_id],
                trace.spans.values() if trace else None)
                for trace_id in by_trace for trace in [self.traces.get(trace_id)]}
            for trace_id, trace_spans in by_trace.items():
                self._log_trace_spans(experiment, trace_id, trace_spans,
                                      (resource_tags or {}).get(trace_id, {}),
                                      batches[trace_id].carries, metadata[trace_id])

    def _log_trace_spans(self, experiment: Any, trace_id: str, spans: list[dict[str, Any]],
                         resource_tags: dict[str, str], carries_analytics: bool,
                         metadata: dict[str, str]) -> None:
        """One trace's spans (sanitized); ``metadata`` is the trace's metadata after them."""
        min_start = min(s["start_time_unix_nano"] for s in spans) // 1_000_000
        ends = [s["end_time_unix_nano"] for s in spans if s.get("end_time_unix_nano")]
        max_end = max(ends) // 1_000_000 if ends else None
        root = next((s for s in spans if s.get("parent_span_id") is None), None)
        root_state = None
        if root is not None:
            root_state = "ERROR" if root["status"]["code"] == "STATUS_CODE_ERROR" else "OK"
        trace = self.traces.get(trace_id)
        if trace is None:
            trace = Trace(
                trace_id, experiment.experiment_id, min_start,
                (max_end - min_start) if max_end else None, root_state or "IN_PROGRESS",
                tags={ARTIFACT_LOCATION_TAG: self._location_tag(experiment, trace_id)},
                linked_runs=self._links_of(trace_id),
                linked_prompts=self._prompts_of(trace_id),
            )
            self.traces[trace_id] = trace
        elif not (trace.finalized and carries_analytics):
            end = None
            if trace.execution_duration is not None:
                end = trace.request_time + trace.execution_duration
            if max_end is not None and (end is None or max_end > end):
                end = max_end
            trace.request_time = min(trace.request_time, min_start)
            if end is not None:
                trace.execution_duration = end - trace.request_time
        if trace.state in ("IN_PROGRESS", "STATE_UNSPECIFIED") and root_state:
            trace.state = root_state
        for span in spans:
            trace.spans[span["span_id"]] = span
        trace.metadata = metadata
        if root is not None:
            attributes = root.get("attributes", {})
            if trace.request_preview is None and attributes.get(INPUTS_ATTRIBUTE):
                trace.request_preview = preview(attributes[INPUTS_ATTRIBUTE])
            if trace.response_preview is None and attributes.get(OUTPUTS_ATTRIBUTE):
                trace.response_preview = preview(attributes[OUTPUTS_ATTRIBUTE])
            for key, value in attributes.items():
                if key.startswith(TRACE_TAG_PREFIX):
                    tag_value = json_or_raw(value)
                    trace.tags[key[len(TRACE_TAG_PREFIX):]] = str(tag_value)
        trace.tags[SPANS_LOCATION_TAG] = TRACKING_STORE
        for key, value in resource_tags.items():
            if not key.startswith(("telemetry.sdk.", "mlflow.")):
                trace.tags[key] = value[:MAX_TAG_VALUE_LENGTH]

    # ---- reads ---------------------------------------------------------------------------

    def _trace(self, trace_id: str) -> Trace:
        trace = self.traces.get(trace_id)
        if trace is None:
            raise trace_not_found(trace_id)
        return trace

    def get_info(self, trace_id: str) -> Trace:
        with self.lock:
            return copy.deepcopy(self._trace(trace_id))

    def get_trace(self, trace_id: str, allow_partial: bool) -> tuple[Trace, list[dict[str, Any]]]:
        """The trace and its spans; without ``allow_partial``, only once all spans arrived."""
        with self.lock:
            trace = self.traces.get(trace_id)
            if trace is None:
                raise not_found(f"Trace with ID {trace_id} is not found.")
            trace = copy.deepcopy(trace)
        if trace.tags.get(SPANS_LOCATION_TAG) != TRACKING_STORE:
            raise MlflowError(SPANS_NOT_STORED, "INTERNAL_ERROR")
        spans = trace.span_list()
        if not allow_partial and not _complete(trace):
            raise not_found(f"Trace with ID {trace_id} is not fully exported yet, "
                            "please try again later.")
        return trace, spans

    def batch_get(self, trace_ids: Sequence[str], experiment_ids: Sequence[str] | None,
                  with_spans: bool = True) -> list[Trace]:
        """Known traces among ``trace_ids``, each once, ordered by where it was last asked
        for (MLflow sorts by the index of each id, and a repeated id's last index wins)."""
        wanted = None if experiment_ids is None else {str(e) for e in experiment_ids}
        last = {trace_id: index for index, trace_id in enumerate(trace_ids)}
        with self.lock:
            found = []
            for trace_id in sorted(last, key=last.__getitem__):
                trace = self.traces.get(trace_id)
                if trace is not None and (wanted is None or trace.experiment_id in wanted):
                    if with_spans and trace.tags.get(SPANS_LOCATION_TAG) != TRACKING_STORE:
                        raise MlflowError(SPANS_NOT_STORED,
                                          "INTERNAL_ERROR")
                    if with_spans and not _complete(trace):
                        continue  # MLflow returns whole traces only (search reads through it)
                    found.append(copy.deepcopy(trace))
            return found

    def in_experiments(self, experiment_ids: Iterable[str]) -> list[Trace]:
        """Copies of every trace of these experiments (search filters them outside the lock)."""
        wanted = set(experiment_ids)
        with self.lock:
            return [copy.deepcopy(t) for t in self.traces.values() if t.experiment_id in wanted]

    # ---- tags and deletion ---------------------------------------------------------------

    def set_tag(self, trace_id: str, key: str, value: str) -> None:
        key, value = check_tag(key, value)
        with self.lock:
            trace = self.traces.get(trace_id)
            if trace is None and key == TRACE_NAME_TAG:  # the name is a column of the trace row
                raise trace_not_found(trace_id)
            if trace is None:  # sqlite refuses the tag row: no trace row to point at
                raise MlflowError(
                    "(sqlite3.IntegrityError) FOREIGN KEY constraint failed\n"
                    "[SQL: INSERT INTO trace_tags (\"key\", value, request_id) VALUES (?, ?, ?)]\n"
                    f"[parameters: ({key!r}, {value!r}, {trace_id!r})]\n"
                    "(Background on this error at: https://sqlalche.me/e/21/gkpj)", "BAD_REQUEST")
            trace.tags[key] = value

    def delete_tag(self, trace_id: str, key: str) -> None:
        with self.lock:
            trace = self.traces.get(trace_id)
            if trace is None and key == TRACE_NAME_TAG:  # the name is a column of the trace row
                raise trace_not_found(trace_id)
            if trace is None or key not in trace.tags:
                raise not_found(f"No trace tag with key '{key}' for trace with ID '{trace_id}'")
            del trace.tags[key]

    def delete_traces(self, experiment_id: str, max_timestamp_millis: int | None,
                      max_traces: int | None, trace_ids: Sequence[str]) -> int:
        with self.lock:
            chosen = [t for t in self.traces.values() if t.experiment_id == experiment_id
                      and (max_timestamp_millis is None or t.request_time <= max_timestamp_millis)
                      and (not trace_ids or t.trace_id in trace_ids)]
            if max_traces is not None:
                chosen = sorted(chosen, key=lambda t: (t.request_time, t.trace_id))[:max_traces]
            for trace in chosen:
                del self.traces[trace.trace_id]
            return len(chosen)

    def link_to_run(self, trace_ids: Sequence[str], run_id: str) -> None:
        """Associate traces with a run (found by ``run_id`` searches); unknown ids are kept
        as MLflow keeps them, and nothing checks that the run exists."""
        if not trace_ids:
            return
        if len(trace_ids) > MAX_LINKS:
            raise invalid(f"Cannot link more than {MAX_LINKS} traces to a run in a single "
                          f"request. Provided {len(trace_ids)} traces.")
        with self.lock:
            linked = self.links.get(run_id, set()) | {
                t.trace_id for t in self.traces.values() if run_id in t.linked_runs}
            new = [t for t in trace_ids if t not in linked]
            if len(set(new)) < len(new):
                raise _duplicate_links([(t, run_id) for t in new], "run",
                                       self.tracking.clock.now_ms(), self.tracking.ids)
            self.links.setdefault(run_id, set()).update(new)
            for trace_id in new:
                trace = self.traces.get(trace_id)
                if trace is not None and run_id not in trace.linked_runs:
                    trace.linked_runs.append(run_id)

    def link_prompts(self, trace_id: str, prompt_ids: Sequence[str]) -> None:
        """Associate prompt versions ("name/version", unchecked: MLflow does not look the
        prompt up) with a trace; links already there are skipped, one twice among the new
        ones is refused as SQLite refuses it."""
        if not prompt_ids:
            return
        with self.lock:
            trace = self._trace(trace_id)
            linked = self.prompt_links.get(trace_id, [])
            new = [p for p in prompt_ids if p not in linked]
            if len(set(new)) < len(new):
                raise _duplicate_links([(trace_id, p) for p in new], "prompt_version",
                                       self.tracking.clock.now_ms(), self.tracking.ids)
            self.prompt_links[trace_id] = linked + new
            trace.linked_prompts = list(linked + new)

    # ---- assessments ---------------------------------------------------------------------

    def create_assessment(self, assessment: Assessment) -> Assessment:
        with self.lock:
            trace = self.traces.get(assessment.trace_id)
            if trace is None:
                raise trace_not_found(assessment.trace_id)
            if assessment.overrides:
                target = self._find_assessment(trace, assessment.overrides)
                if target is None:
                    raise not_found(f"Assessment with ID '{assessment.overrides}' not found "
                                    f"for trace '{assessment.trace_id}'")
                target.valid = False
            # drawn only once accepted: a refused create moves no id generator
            assessment.assessment_id = assessment.assessment_id or f"a-{self.tracking.ids.hex_id()}"
            trace.assessments.append(assessment)
            return copy.deepcopy(assessment)

    @staticmethod
    def _find_assessment(trace: Trace, assessment_id: str) -> Assessment | None:
        return next((a for a in trace.assessments if a.assessment_id == assessment_id), None)

    def _assessment(self, trace_id: str, assessment_id: str) -> Assessment:
        trace = self.traces.get(trace_id)
        if trace is None:
            raise not_found(f"Trace with request_id '{trace_id}' not found")
        found = self._find_assessment(trace, assessment_id)
        if found is None:
            raise not_found(
                f"Assessment with ID '{assessment_id}' not found for trace '{trace_id}'")
        return found

    def get_assessment(self, trace_id: str, assessment_id: str) -> Assessment:
        with self.lock:
            return copy.deepcopy(self._assessment(trace_id, assessment_id))

    def update_assessment(self, trace_id: str, assessment_id: str, changes: dict[str, Any]
                          ) -> Assessment:
        """Apply the fields named in the update mask; source, span and validity stay."""
        with self.lock:
            found = self._assessment(trace_id, assessment_id)
            if "expectation" in changes and "feedback" in changes:
                raise invalid("Cannot specify both `expectation` and `feedback` parameters.")
            if "expectation" in changes and found.kind != "expectation":
                raise invalid("Cannot update expectation value on a Feedback assessment.")
            if "feedback" in changes and found.kind != "feedback":
                raise invalid("Cannot update feedback value on an Expectation assessment.")
            if found.kind == "issue":  # MLflow's update reads a value an issue reference lacks
                raise MlflowError("'IssueReference' object has no attribute 'value'",
                                  "INTERNAL_ERROR")
            if "name" in changes:
                found.name = changes["name"]
            if "expectation" in changes:
                found.value, found.serialized_value = changes["expectation"]
            if "feedback" in changes:
                found.value, found.error = changes["feedback"]
            if "rationale" in changes and found.kind == "feedback":
                found.rationale = changes["rationale"]
            if "metadata" in changes:
                found.metadata = {**found.metadata, **changes["metadata"]}
            found.last_update_time_ms = self.tracking.clock.now_ms()
            return copy.deepcopy(found)

    def delete_assessment(self, trace_id: str, assessment_id: str) -> None:
        with self.lock:
            trace = self.traces.get(trace_id)
            found = self._find_assessment(trace, assessment_id) if trace else None
            if found is None:
                return
            if found.overrides:
                target = self._find_assessment(trace, found.overrides)
                if target is not None:
                    target.valid = True
            trace.assessments.remove(found)

    # ---- snapshots -----------------------------------------------------------------------

    def export(self) -> list[dict[str, Any]]:
        """Every trace as JSON-able data (call with the lock held, as a snapshot does)."""
        from dataclasses import asdict

        with self.lock:
            return [asdict(t) for t in self.traces.values()]


def decode_traces(rows: list[dict[str, Any]]) -> dict[str, Trace]:
    """Traces from :meth:`TraceStore.export` rows (a snapshot); KeyError/TypeError if malformed."""
    traces = {}
    for row in rows:
        row = dict(row)
        row["assessments"] = [Assessment(**a) for a in row.get("assessments", [])]
        traces[row["trace_id"]] = Trace(**row)
    return traces
