"""Request messages of the MLflow REST API, declared as data.

Each declaration lists the fields of MLflow's protobuf request message in declaration order, with
their wire types; ``fakeflow.web.parsing`` reads JSON bodies and query strings through them the
way MLflow's protobuf parser does (camelCase aliases, numeric strings, enum names, partial parse).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Field:
    name: str
    kind: str  # "string" | "int64" | "int32" | "double" | "bool" | "enum" | "message"
    repeated: bool = False
    enum: tuple[tuple[str, int], ...] = ()
    message: "Message | None" = None
    json_name: str = ""

    def __post_init__(self) -> None:
        head, *rest = self.name.split("_")
        camel = head + "".join(part[:1].upper() + part[1:] for part in rest)
        object.__setattr__(self, "json_name", camel)


@dataclass(frozen=True)
class Message:
    name: str
    fields: tuple[Field, ...] = field(default_factory=tuple)
    by_key: dict[str, Field] = field(default_factory=dict, compare=False, repr=False)
    #: fields whose snake_case and camelCase spellings differ, and nested messages
    aliased: tuple[Field, ...] = field(default=(), compare=False, repr=False)

    def __post_init__(self) -> None:
        for f in self.fields:
            # protobuf looks the JSON name up first, then the field name
            self.by_key.setdefault(f.json_name, f)
        for f in self.fields:
            self.by_key.setdefault(f.name, f)
        object.__setattr__(self, "aliased", tuple(
            f for f in self.fields if f.name != f.json_name or f.kind == "message"
        ))

    def field_by_key(self, key: str) -> Field | None:
        return self.by_key.get(key)


def S(name: str, repeated: bool = False) -> Field:
    return Field(name, "string", repeated)


def I64(name: str) -> Field:
    return Field(name, "int64")


def I32(name: str) -> Field:
    return Field(name, "int32")


def M(name: str, message: Message, repeated: bool = True) -> Field:
    return Field(name, "message", repeated, message=message)


VIEW_TYPE = (("ACTIVE_ONLY", 1), ("DELETED_ONLY", 2), ("ALL", 3))
RUN_STATUS = (("RUNNING", 1), ("SCHEDULED", 2), ("FINISHED", 3), ("FAILED", 4), ("KILLED", 5))

KEY_VALUE = Message("KeyValue", (S("key"), S("value")))
METRIC = Message(
    "Metric",
    (S("key"), Field("value", "double"), I64("timestamp"), I64("step"), S("dataset_name"),
     S("dataset_digest"), S("model_id"), S("run_id")),
)
DATASET = Message(
    "Dataset", (S("name"), S("digest"), S("source_type"), S("source"), S("schema"), S("profile"))
)
DATASET_INPUT = Message("DatasetInput", (M("tags", KEY_VALUE), M("dataset", DATASET, repeated=False)))
MODEL_INPUT = Message("ModelInput", (S("model_id"),))
MODEL_OUTPUT = Message("ModelOutput", (S("model_id"), I64("step")))

CREATE_EXPERIMENT = Message("CreateExperiment", (S("name"), S("artifact_location"), M("tags", KEY_VALUE)))
SEARCH_EXPERIMENTS = Message(
    "SearchExperiments",
    (I64("max_results"), S("page_token"), S("filter"), S("order_by", repeated=True),
     Field("view_type", "enum", enum=VIEW_TYPE)),
)
GET_EXPERIMENT = Message("GetExperiment", (S("experiment_id"),))
GET_EXPERIMENT_BY_NAME = Message("GetExperimentByName", (S("experiment_name"),))
DELETE_EXPERIMENT = Message("DeleteExperiment", (S("experiment_id"),))
RESTORE_EXPERIMENT = Message("RestoreExperiment", (S("experiment_id"),))
UPDATE_EXPERIMENT = Message("UpdateExperiment", (S("experiment_id"), S("new_name")))
SET_EXPERIMENT_TAG = Message("SetExperimentTag", (S("experiment_id"), S("key"), S("value")))
DELETE_EXPERIMENT_TAG = Message("DeleteExperimentTag", (S("experiment_id"), S("key")))

CREATE_RUN = Message(
    "CreateRun", (S("experiment_id"), S("user_id"), S("run_name"), I64("start_time"), M("tags", KEY_VALUE))
)
UPDATE_RUN = Message(
    "UpdateRun",
    (S("run_id"), S("run_uuid"), Field("status", "enum", enum=RUN_STATUS), I64("end_time"), S("run_name")),
)
DELETE_RUN = Message("DeleteRun", (S("run_id"),))
RESTORE_RUN = Message("RestoreRun", (S("run_id"),))
LOG_METRIC = Message(
    "LogMetric",
    (S("run_id"), S("run_uuid"), S("key"), Field("value", "double"), I64("timestamp"), I64("step"),
     S("model_id"), S("dataset_name"), S("dataset_digest")),
)
LOG_PARAM = Message("LogParam", (S("run_id"), S("run_uuid"), S("key"), S("value")))
SET_TAG = Message("SetTag", (S("run_id"), S("run_uuid"), S("key"), S("value")))
DELETE_TAG = Message("DeleteTag", (S("run_id"), S("key")))
GET_RUN = Message("GetRun", (S("run_id"), S("run_uuid")))
SEARCH_RUNS = Message(
    "SearchRuns",
    (S("experiment_ids", repeated=True), S("filter"), Field("run_view_type", "enum", enum=VIEW_TYPE),
     I32("max_results"), S("order_by", repeated=True), S("page_token")),
)
LIST_ARTIFACTS = Message("ListArtifacts", (S("run_id"), S("run_uuid"), S("path"), S("page_token")))
GET_METRIC_HISTORY = Message(
    "GetMetricHistory", (S("run_id"), S("run_uuid"), S("metric_key"), S("page_token"), I32("max_results"))
)
GET_METRIC_HISTORY_BULK_INTERVAL = Message(
    "GetMetricHistoryBulkInterval",
    (S("run_ids", repeated=True), S("metric_key"), I32("start_step"), I32("end_step"), I32("max_results")),
)
LOG_BATCH = Message(
    "LogBatch", (S("run_id"), M("metrics", METRIC), M("params", KEY_VALUE), M("tags", KEY_VALUE))
)
LOG_MODEL = Message("LogModel", (S("run_id"), S("model_json")))
LOG_INPUTS = Message("LogInputs", (S("run_id"), M("datasets", DATASET_INPUT), M("models", MODEL_INPUT)))
LOG_OUTPUTS = Message("LogOutputs", (S("run_id"), M("models", MODEL_OUTPUT)))
