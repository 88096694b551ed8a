"""MLflow 3 GenAI evaluation datasets: datasets, their tags and records, and experiment links.

The store shares the tracking store's lock and clock, as the trace store does. It keeps what
MLflow 3.17.2's SQL store keeps (tables ``evaluation_datasets``, ``evaluation_dataset_tags``,
``evaluation_dataset_records`` and the ``entity_associations`` rows that link a dataset to
experiments) and answers as that store does, quirks included:

* a record is identified by its inputs (SHA-256 of the inputs as sorted-key JSON); sending the
  same inputs again merges outputs, expectations and tags into the stored record;
* a dataset's digest is the first 8 hex digits of SHA-256 of ``"<name>:<last_update_time>"``,
  recomputed whenever records are upserted; ``schema`` and ``profile`` are JSON texts;
* tag values go through SQLite's TEXT affinity (numbers become their text), and record fields
  accept only JSON objects (SQLAlchemy's mutable JSON column refuses anything else);
* a request that fails changes nothing (MLflow rolls its transaction back). Failures MLflow does
  not handle surface as ``INTERNAL_ERROR`` with Python's own message, so the checks here are
  written to fail where, and as, MLflow's own code fails.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Iterable

from fakeflow.state.errors import (
    BAD_REQUEST, INTERNAL_ERROR, MlflowError, invalid, not_found,
)

if TYPE_CHECKING:
    from fakeflow.state.tracking import TrackingStore

USER_TAG = "mlflow.user"
WRAPPED_OUTPUT = "mlflow_wrapped"
SOURCE_TYPES = ("UNSPECIFIED", "TRACE", "HUMAN", "DOCUMENT", "CODE")
DEFAULT_RECORDS_PAGE = 1000
_AUTOFLUSH = ("(raised as a result of Query-invoked autoflush; consider using a "
              "session.no_autoflush block if this flush is occurring prematurely)\n")
_RECORD_COLUMNS = ("dataset_record_id, dataset_id, inputs, outputs, expectations, tags, source, "
                   "source_id, source_type, created_time, last_update_time, created_by, "
                   "last_updated_by, input_hash")


@dataclass
class EvalDataset:
    dataset_id: str
    name: str
    digest: str
    created_time: int
    last_update_time: int
    #: Tag values as SQLite hands them back: text, or None for a JSON null.
    tags: dict[str, str | None] = field(default_factory=dict)
    schema: str | None = None
    profile: str | None = None
    created_by: str | None = None
    last_updated_by: str | None = None


@dataclass
class EvalRecord:
    dataset_record_id: str
    dataset_id: str
    inputs: dict[str, Any]
    #: As stored: ``{"mlflow_wrapped": <outputs>}`` or None.
    outputs: dict[str, Any] | None
    expectations: dict[str, Any] | None
    tags: dict[str, Any] | None
    source: dict[str, Any] | None
    source_id: str | None
    source_type: str | None
    created_time: int
    last_update_time: int
    created_by: str | None
    last_updated_by: str | None
    input_hash: str


@dataclass
class Link:
    """An ``entity_associations`` row: dataset -> experiment."""

    dataset_id: str
    experiment_id: str
    created_time: int


class Crash(Exception):
    """An unhandled error inside MLflow's session: a 500 ``INTERNAL_ERROR`` with this text."""


def dataset_digest(name: Any, last_update_time: int) -> str:
    return hashlib.sha256(f"{name}:{last_update_time}".encode()).hexdigest()[:8]


def input_hash(inputs: Any) -> str:
    return hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()


def sqlite_text(value: Any) -> Any:
    """A value bound to a TEXT-affinity column, as it reads back (None stays None)."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        text = "%.15g" % value
        if text in ("inf", "-inf"):
            return "Inf" if value > 0 else "-Inf"
        if "e" in text:
            mantissa, exponent = text.split("e")
            if "." not in mantissa:
                mantissa += ".0"
            return f"{mantissa}e{exponent}"
        return text if "." in text else text + ".0"
    return value  # dicts and lists: the caller refuses them as SQLite does


def _binding_error(position: int, value: Any, sql: str, parameters: str) -> MlflowError:
    return MlflowError(
        f"{_AUTOFLUSH}(sqlite3.ProgrammingError) Error binding parameter {position}: type "
        f"'{type(value).__name__}' is not supported\n[SQL: {sql}]\n[parameters: {parameters}]\n"
        "(Background on this error at: https://sqlalche.me/e/21/f405)", BAD_REQUEST)


def _duplicate_link(prefix: str) -> MlflowError:
    """sqlite's refusal of a second link between the same dataset and experiment."""
    return MlflowError(
        prefix + "(sqlite3.IntegrityError) UNIQUE constraint failed: "
        "entity_associations.source_type, entity_associations.source_id, "
        "entity_associations.destination_type, entity_associations.destination_id\n"
        "[SQL: INSERT INTO entity_associations (association_id, source_type, source_id, "
        "destination_type, destination_id, created_time) VALUES (?, ?, ?, ?, ?, ?)]\n"
        "[parameters: (...)]\n(Background on this error at: https://sqlalche.me/e/21/gkpj)",
        BAD_REQUEST)


def _json_column(name: str, value: Any) -> Any:
    """SQLAlchemy's mutable JSON column takes a JSON object or nothing."""
    if value is not None and not isinstance(value, dict):
        raise Crash(f"Attribute '{name}' does not accept objects of type {type(value)}")
    return value


def infer_type(value: Any) -> str:
    if value is None:
        return "null"
    for kind, name in ((bool, "boolean"), (int, "integer"), (float, "float"), (str, "string"),
                       (list, "array"), (dict, "object")):
        if isinstance(value, kind):
            return name
    return "unknown"


def merged_schema(existing: str | None, records: Iterable[Any]) -> dict[str, Any] | None:
    """The dataset schema after ``records``: the first type seen for each field wins."""
    records = list(records)
    if not records and not existing:
        return None
    schema = json.loads(existing) if existing else {
        "inputs": {}, "outputs": {}, "expectations": {}, "version": "1.0"}
    for record in records:
        inputs = record.get("inputs")
        if inputs:
            for key, value in inputs.items():
                if key not in schema["inputs"]:
                    schema["inputs"][key] = infer_type(value)
        outputs = record.get("outputs")
        if outputs is not None:
            if isinstance(outputs, dict):
                for key, value in outputs.items():
                    if key not in schema["outputs"]:
                        schema["outputs"][key] = infer_type(value)
            elif not schema["outputs"]:
                schema["outputs"] = infer_type(outputs)
        expectations = record.get("expectations")
        if expectations:
            for key, value in expectations.items():
                if key not in schema["expectations"]:
                    schema["expectations"][key] = infer_type(value)
    return schema


def _source(raw: Any) -> Any:
    """A record's ``source`` as MLflow's DatasetRecordSource reads it (dict -> checked dict)."""
    if not isinstance(raw, dict):
        return raw  # kept as sent; storing it fails later, as in MLflow
    allowed = ("source_type", "source_data")
    for key in raw:
        if key not in allowed:
            raise Crash(f"DatasetRecordSource.__init__() got an unexpected keyword argument '{key}'")
    if "source_type" not in raw:
        raise Crash("DatasetRecordSource.__init__() missing 1 required positional argument: "
                    "'source_type'")
    source_type = raw["source_type"]
    if not isinstance(source_type, str):
        raise Crash(f"'{type(source_type).__name__}' object has no attribute 'upper'")
    upper = source_type.upper()
    if upper not in SOURCE_TYPES:
        raise invalid(f"Invalid dataset record source type: {upper}. "
                      f"Valid source types: {list(SOURCE_TYPES)}")
    data = raw.get("source_data")
    return {"source_type": upper, "source_data": {} if data is None else data}


def _new_record(store: "EvalDatasetStore", dataset_id: str, raw: dict[str, Any], digest: str,
                tags: Any, now: int) -> EvalRecord:
    created_by = tags[USER_TAG] if tags and USER_TAG in tags else None
    source = _source(raw["source"]) if raw.get("source") else None
    inputs = raw.get("inputs", {})
    if inputs is None:
        raise Crash("inputs must be provided")
    source_id = source_type = None
    if isinstance(source, dict):
        data = source["source_data"]
        if not isinstance(data, dict):
            raise Crash(f"'{type(data).__name__}' object has no attribute 'get'")
        source_id = data.get("trace_id" if source["source_type"] == "TRACE" else "source_id")
        source_type = source["source_type"]
    elif source is not None:
        raise Crash(f"'{type(source).__name__}' object has no attribute 'to_dict'")
    outputs = raw.get("outputs", {})
    record = EvalRecord(
        dataset_record_id=f"dr-{store.tracking.ids.hex_id()}",
        dataset_id=dataset_id,
        inputs=_json_column("inputs", inputs),
        outputs=None if outputs is None else {WRAPPED_OUTPUT: outputs},
        expectations=_json_column("expectations", raw.get("expectations")),
        tags=_json_column("tags", {} if tags is None else tags),
        source=copy.deepcopy(source),
        source_id=source_id,
        source_type=source_type,
        created_time=now,
        last_update_time=now,
        created_by=created_by,
        last_updated_by=created_by,
        input_hash=digest,
    )
    for position, value in ((7, source_id), (11, created_by)):
        if isinstance(value, (dict, list)):
            raise _binding_error(position, value, "INSERT INTO evaluation_dataset_records "
                                 f"({_RECORD_COLUMNS}) VALUES ({', '.join('?' * 14)})", "(...)")
    record.source_id = sqlite_text(source_id)
    record.created_by = record.last_updated_by = sqlite_text(created_by)
    return record


def _merge(record: EvalRecord, raw: dict[str, Any], now: int) -> None:
    """``now`` is read when the record is merged (MLflow reads its clock again here)."""
    if "outputs" in raw:
        outputs = raw["outputs"]
        record.outputs = None if outputs is None else {WRAPPED_OUTPUT: outputs}
    expectations = raw.get("expectations")
    if expectations:
        if record.expectations is None:
            record.expectations = {}
        record.expectations.update(expectations)
    tags = raw.get("tags")
    if tags:
        if record.tags is None:
            record.tags = {}
        record.tags.update(tags)
    record.last_update_time = now
    if tags and USER_TAG in tags:
        record.last_updated_by = tags[USER_TAG]


class EvalDatasetStore:
    """Evaluation datasets by id; every method takes the shared lock."""

    def __init__(self, tracking: "TrackingStore") -> None:
        self.tracking = tracking
        self.lock = tracking.lock
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.datasets: dict[str, EvalDataset] = {}
            #: dataset id -> its records in (created_time, record id) order
            self.records: dict[str, list[EvalRecord]] = {}
            self.links: list[Link] = []

    # ---- datasets -----------------------------------------------------------------------------

    def create_dataset(self, name: str, tags: Any,
                       experiment_ids: list[str]) -> tuple[EvalDataset, list[str]]:
        """The stored dataset as MLflow's create answers it, and the experiment ids linked."""
        with self.lock:
            now = self.tracking.clock.now_ms()
            tags = tags or {}
            user = tags[USER_TAG] if tags and USER_TAG in tags else None
            dataset_id = f"d-{self.tracking.ids.hex_id()}"
            stored_tags: dict[str, Any] = {}
            for key, value in tags.items():  # a list or a string fails here, as in MLflow
                stored_tags[key] = value
            for position, value in enumerate(stored_tags.values()):
                if isinstance(value, (dict, list)):
                    raise _binding_error(3, value, 'INSERT INTO evaluation_dataset_tags '
                                         '(dataset_id, "key", value) VALUES (?, ?, ?)',
                                         repr((dataset_id, list(stored_tags)[position], value)))
            if isinstance(user, (dict, list)):
                raise _binding_error(8, user, "INSERT INTO evaluation_datasets (...)", "(...)")
            if len(set(experiment_ids)) != len(experiment_ids):
                raise _duplicate_link(_AUTOFLUSH)
            dataset = EvalDataset(
                dataset_id=dataset_id, name=name, digest=dataset_digest(name, now),
                created_time=now, last_update_time=now,
                tags={key: sqlite_text(value) for key, value in stored_tags.items()},
                created_by=sqlite_text(user), last_updated_by=sqlite_text(user),
            )
            self.datasets[dataset_id] = dataset
            self.records[dataset_id] = []
            self.links.extend(Link(dataset_id, e, now) for e in experiment_ids)
            # MLflow answers from the objects it just inserted: the user as sent, and the last
            # tag as sent (the session still holds that one; the others are read back as text).
            answer = copy.deepcopy(dataset)
            answer.created_by = answer.last_updated_by = user
            if stored_tags:
                last = list(stored_tags)[-1]
                answer.tags[last] = stored_tags[last]
            return answer, list(experiment_ids)

    def get_dataset(self, dataset_id: str) -> EvalDataset:
        with self.lock:
            dataset = self.datasets.get(dataset_id)
            if dataset is None:
                raise not_found(f"Evaluation dataset with id '{dataset_id}' not found")
            return copy.deepcopy(dataset)

    def delete_dataset(self, dataset_id: str) -> None:
        """Deleting an unknown dataset is not an error (MLflow only logs a warning)."""
        with self.lock:
            if self.datasets.pop(dataset_id, None) is None:
                return
            self.records.pop(dataset_id, None)
            self.links = [link for link in self.links if link.dataset_id != dataset_id]

    def all_datasets(self) -> list[EvalDataset]:
        with self.lock:
            return list(self.datasets.values())

    def dataset_ids_in(self, experiment_ids: list[str]) -> set[str]:
        with self.lock:
            wanted = set(experiment_ids)
            return {link.dataset_id for link in self.links if link.experiment_id in wanted}

    # ---- tags ---------------------------------------------------------------------------------

    def set_tags(self, dataset_id: str, tags: Any) -> None:
        with self.lock:
            dataset = self.datasets.get(dataset_id)
            if dataset is None:
                raise not_found(f"Could not find evaluation dataset with ID {dataset_id}")
            updates = {key: str(value) for key, value in tags.items() if value is not None}
            dataset.tags.update(updates)

    def delete_tag(self, dataset_id: str, key: str) -> None:
        """Idempotent: an unknown dataset or tag is not an error."""
        with self.lock:
            dataset = self.datasets.get(dataset_id)
            if dataset is not None:
                dataset.tags.pop(key, None)

    # ---- experiment links ---------------------------------------------------------------------

    def experiment_ids(self, dataset_id: str) -> list[str]:
        with self.lock:
            links = [link for link in self.links if link.dataset_id == dataset_id]
            return [link.experiment_id
                    for link in sorted(links, key=lambda l: (l.created_time, l.experiment_id))]

    def add_to_experiments(self, dataset_id: str, experiment_ids: list[str]) -> EvalDataset:
        with self.lock:
            dataset = self.datasets.get(dataset_id)
            if dataset is None:
                raise not_found(f"Dataset '{dataset_id}' not found")
            for experiment_id in experiment_ids:
                if experiment_id not in self.tracking.experiments:
                    raise not_found(f"No Experiment with id={experiment_id}")
            now = self.tracking.clock.now_ms()
            linked = {link.experiment_id for link in self.links if link.dataset_id == dataset_id}
            new = [e for e in experiment_ids if e not in linked]
            if len(set(new)) != len(new):
                raise _duplicate_link("")
            self.links.extend(Link(dataset_id, e, now) for e in new)
            dataset.last_update_time = now
            return copy.deepcopy(dataset)

    def remove_from_experiments(self, dataset_id: str, experiment_ids: list[str]) -> EvalDataset:
        with self.lock:
            dataset = self.datasets.get(dataset_id)
            if dataset is None:
                raise not_found(f"Dataset '{dataset_id}' not found")
            gone = set(experiment_ids)
            kept = [link for link in self.links
                    if not (link.dataset_id == dataset_id and link.experiment_id in gone)]
            if len(kept) != len(self.links):
                self.links = kept
                dataset.last_update_time = self.tracking.clock.now_ms()
            return copy.deepcopy(dataset)

    # ---- records ------------------------------------------------------------------------------

    def upsert_records(self, dataset_id: str, records: Any) -> tuple[int, int]:
        """(inserted, updated). Works on copies and commits only if every record is accepted."""
        with self.lock:
            drawn_from = self.tracking.ids.getstate()
            try:
                return self._upsert(dataset_id, records)
            except BaseException as error:
                # record ids are drawn as records are read: a refused batch puts them back
                self.tracking.ids.setstate(drawn_from)
                if isinstance(error, Crash):
                    raise MlflowError(str(error), INTERNAL_ERROR) from None
                if isinstance(error, (AttributeError, TypeError, ValueError, KeyError)):
                    raise MlflowError(str(error), INTERNAL_ERROR) from None
                raise

    def _upsert(self, dataset_id: str, records: Any) -> tuple[int, int]:
        now = self.tracking.clock.now_ms()
        stored = self.records.get(dataset_id, [])
        by_hash = {record.input_hash: record for record in stored}
        changed: dict[str, EvalRecord] = {}  # record id -> working copy
        added: list[EvalRecord] = []
        added_ids: set[str] = set()
        inserted = updated = 0
        updated_by = None
        for raw in records:
            inputs = raw.get("inputs", {})
            digest = input_hash(inputs)
            existing = by_hash.get(digest)
            tags = raw.get("tags")
            if tags and USER_TAG in tags:
                updated_by = tags[USER_TAG]
            if existing is not None:
                working = changed.get(existing.dataset_record_id)
                if working is None and existing.dataset_record_id in added_ids:
                    working = existing  # sent twice in this batch: merge into the new one
                elif working is None:
                    working = copy.deepcopy(existing)
                    changed[working.dataset_record_id] = working
                    by_hash[digest] = working
                _merge(working, raw, self.tracking.clock.now_ms())
                _json_column("expectations", working.expectations)
                _json_column("tags", working.tags)
                updated += 1
            else:
                record = _new_record(self, dataset_id, raw, digest, tags, now)
                added.append(record)
                added_ids.add(record.dataset_record_id)
                by_hash[digest] = record
                inserted += 1
        dataset = self.datasets.get(dataset_id)
        if added and dataset is None:
            first = added[0]
            raise MlflowError(
                f"{_AUTOFLUSH}(sqlite3.IntegrityError) FOREIGN KEY constraint failed\n"
                f"[SQL: INSERT INTO evaluation_dataset_records ({_RECORD_COLUMNS}) VALUES "
                f"({', '.join('?' * 14)})]\n[parameters: ('{first.dataset_record_id}', "
                f"'{dataset_id}', ...)]\n"
                "(Background on this error at: https://sqlalche.me/e/21/gkpj)", BAD_REQUEST)
        schema = merged_schema(dataset.schema if dataset else None, records)
        count = len(stored) + len(added)
        if dataset is None:
            return inserted, updated
        if isinstance(updated_by, (dict, list)):
            raise _binding_error(1, updated_by, "UPDATE evaluation_datasets SET ...", "(...)")
        # every record was accepted: commit
        for working in changed.values():
            working.last_updated_by = sqlite_text(working.last_updated_by)
        merged = [changed.get(r.dataset_record_id, r) for r in stored] + added
        merged.sort(key=lambda r: (r.created_time, r.dataset_record_id))
        self.records[dataset_id] = merged
        dataset.last_update_time = now
        dataset.last_updated_by = sqlite_text(updated_by)
        dataset.digest = dataset_digest(dataset.name, now)
        if schema:
            dataset.schema = json.dumps(schema)
        if count:
            dataset.profile = json.dumps({"num_records": count})
        return inserted, updated

    def records_page(self, dataset_id: str, max_results: int,
                     page_token: str | None) -> tuple[list[EvalRecord], str | None]:
        """One page in (created_time, record id) order; the token is a cursor after the last row."""
        with self.lock:
            rows = list(self.records.get(dataset_id, []))
        if page_token:
            cursor = _decode_cursor(page_token)
            if isinstance(cursor, int):
                from fakeflow.state.validation import check_sqlite_integer

                check_sqlite_integer(cursor)  # SQLite binds the offset: past int64 it fails
                rows = rows[max(cursor, 0):] if cursor >= 0 else rows
            else:
                created, record_id = cursor
                rows = [r for r in rows if r.created_time > created
                        or (r.created_time == created and r.dataset_record_id > record_id)]
        limit = max_results + 1
        page = rows[:limit] if limit >= 0 else rows  # SQLite reads a negative LIMIT as none
        if len(page) > max_results:
            page = page[:max_results]
            if not page:
                raise MlflowError("list index out of range", INTERNAL_ERROR)
            last = page[-1]
            cursor_text = f"{last.created_time}:{last.dataset_record_id}"
            return page, base64.b64encode(cursor_text.encode()).decode()
        return page, None

    def delete_records(self, dataset_id: str, record_ids: list[str]) -> int:
        with self.lock:
            rows = self.records.get(dataset_id)
            if not rows:
                return 0
            wanted = set(record_ids)
            kept = [r for r in rows if r.dataset_record_id not in wanted]
            deleted = len(rows) - len(kept)
            if deleted == 0:
                return 0
            self.records[dataset_id] = kept
            dataset = self.datasets[dataset_id]
            profile = json.loads(dataset.profile) if dataset.profile else {}
            remaining = max(0, (profile or {}).get("num_records", 0) - deleted)
            dataset.profile = json.dumps({"num_records": remaining} if remaining > 0 else None)
            return deleted

    # ---- snapshots ----------------------------------------------------------------------------

    def export(self) -> dict[str, Any]:
        """Datasets, records and links as JSON-able data (record fields as JSON text, so NaN
        inside a record survives strict JSON)."""
        with self.lock:
            return {
                "datasets": [asdict(d) for d in self.datasets.values()],
                "records": [_dump_record(r) for rows in self.records.values() for r in rows],
                "links": [asdict(link) for link in self.links],
            }


_JSON_FIELDS = ("inputs", "outputs", "expectations", "tags", "source")


def _dump_record(record: EvalRecord) -> dict[str, Any]:
    out = asdict(record)
    for name in _JSON_FIELDS:
        out[name] = json.dumps(out[name])
    return out


def decode_eval_datasets(data: dict[str, Any]) -> tuple[dict[str, EvalDataset],
                                                        dict[str, list[EvalRecord]], list[Link]]:
    """The three tables from :meth:`EvalDatasetStore.export`; KeyError/TypeError if malformed."""
    datasets = {row["dataset_id"]: EvalDataset(**row) for row in data.get("datasets", [])}
    records: dict[str, list[EvalRecord]] = {dataset_id: [] for dataset_id in datasets}
    for row in data.get("records", []):
        row = dict(row)
        for name in _JSON_FIELDS:
            row[name] = json.loads(row[name])
        records.setdefault(row["dataset_id"], []).append(EvalRecord(**row))
    for rows in records.values():
        rows.sort(key=lambda r: (r.created_time, r.dataset_record_id))
    links = [Link(**row) for row in data.get("links", [])]
    return datasets, records, links


def _decode_cursor(token: str) -> tuple[int, str] | int:
    """MLflow's record cursor (base64 ``"<created_time>:<record id>"``), or, failing that, a
    plain offset; anything else fails as MLflow's ``int(page_token)`` does."""
    try:
        decoded = base64.b64decode(token.encode()).decode()
        created, record_id = decoded.split(":", 1)
        return int(created), record_id
    except (ValueError, AttributeError):
        try:
            return int(token)
        except ValueError as error:
            raise MlflowError(str(error), INTERNAL_ERROR) from None
