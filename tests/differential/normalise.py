"""Turn one side's raw answers into something comparable with the other side's.

What varies legitimately between two correct servers, and how it is neutralised:

* generated ids -> placeholders numbered by first appearance within the case
  (``<exp:1>``, ``<run:1>``, ``<model:1>``); experiment id ``"0"`` (Default) is shared and kept;
* server clocks (experiment/registry/logged-model creation and update stamps) -> ``"<ts>"``
  when they are positive integers (anything else is left alone and will show up as a diff);
  an update stamp next to its creation stamp becomes ``"<ts:same>"`` / ``"<ts:later>"``;
  client-supplied times (``start_time``, ``end_time``, metric ``timestamp``) are kept;
* random run names (``adjective-animal-NNN``) -> ``"<random-name>"`` only when the case never
  sent that string itself;
* the per-side session suffix -> ``"<sfx>"``;
* lists MLflow does not order (tags, params, latest metrics, dataset/model inputs, model
  outputs) -> sorted canonically; every other list keeps its order;
* page tokens (``next_page_token``, ``page_token``) that are base64 of a JSON object ->
  ``"<page-token {...}>"`` with the decoded object normalised like any answer (ids inside, e.g.
  the experiment ids a logged-model token carries, become placeholders; offsets, filters and
  key order are kept), so two sides' tokens compare by what they encode. A token that does not
  decode so is compared as text;
* evaluation datasets: the ``digest`` (a hash of name and server time) -> ``<digest>`` when it
  is the hash for its ``last_update_time``, ``<digest:older>`` for another hash; ``records`` (JSON
  text) decoded and ordered by (created_time, content), as records created in one call tie and
  MLflow orders those by random ids; a records cursor token -> ``<record-cursor <ts>:<id>>``.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Any, Iterable

RUN_ID = re.compile(r"(?<![0-9a-f])(?<!m-)[0-9a-f]{32}(?![0-9a-f])")
RUN_ID_UPPER = re.compile(r"(?<![0-9A-Fa-f])[0-9A-F]{32}(?![0-9A-Fa-f])")
MODEL_ID = re.compile(r"m-[0-9a-f]{32}(?![0-9a-f])")
RANDOM_NAME = re.compile(r"^[a-z]+-[a-z]+-\d{1,4}$")  # MLflow draws 0..1000 inclusive
SERVER_CLOCK_KEYS = frozenset({
    "creation_time", "last_update_time", "created_time",
    "creation_timestamp", "last_updated_timestamp",
    "creation_timestamp_ms", "last_updated_timestamp_ms",
})
# (creation, last update) pairs: the update stamp is kept as its relation to the creation stamp,
# so "rename bumps last_update_time, tagging does not" is still compared.
CLOCK_PAIRS = (
    ("creation_time", "last_update_time"),
    ("created_time", "last_update_time"),  # evaluation datasets and their records
    ("creation_timestamp", "last_updated_timestamp"),
    ("creation_timestamp_ms", "last_updated_timestamp_ms"),
)
UNORDERED_LIST_KEYS = frozenset({
    "tags", "params", "dataset_inputs", "model_inputs", "model_outputs",
})
# Where experiment ids are embedded in text: artifact URIs and error messages.
EXP_ID_CONTEXTS = (
    re.compile(r"(mlflow-artifacts:/)(\d+)\b"),
    re.compile(r"(\bid=)(\d+)\b"),
    re.compile(r"(\b[Ee]xperiment )(\d+)\b"),
    re.compile(r"(\bexperiment with id )(\d+)\b"),
    re.compile(r"(\b[Ee]xperiment ID ')(\d+)'"),
    re.compile(r"(\bexperiment_id=)(\d+)\b"),
)
# Experiment ids in Python list reprs inside messages ("Expected: ['3']. Found: ['7']").
EXP_ID_LIST = re.compile(r"((?:Expected|Found): \[)((?:'\d+'(?:, )?)+)(\])")
EXP_ID_IN_LIST = re.compile(r"'(\d+)'")
PAGE_TOKEN_KEYS = frozenset({"next_page_token", "page_token"})
# Raw database text starts at the first of these markers in MLflow's integrity-error messages.
DB_NOISE_MARKERS = ("(sqlite3.", "(raised as a result of Query-invoked autoflush")


def stable_prefix(message: str) -> str:
    """The part of a message before any embedded SQLite/SQLAlchemy text."""
    cut = len(message)
    for marker in DB_NOISE_MARKERS:
        index = message.find(marker)
        if index != -1:
            cut = min(cut, index)
    return message[:cut]


# Python set reprs inside messages ("Valid keys are '{'name', 'run_id'}'") come out in
# hash-seed order, which differs between server processes; compare them sorted.
PY_SET_REPR = re.compile(r"\{('[^'{}]*'(?:, '[^'{}]*')+)\}")


def _sorted_set_repr(match: re.Match[str]) -> str:
    items = sorted(re.findall(r"'[^']*'", match.group(1)))
    return "{" + ", ".join(items) + "}"


def decode_record_cursor(token: str) -> str | None:
    """The ``<created_time>:<record id>`` an evaluation-dataset records token encodes, if any."""
    try:
        text = base64.b64decode(token, validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        return None
    stamp, _, rest = text.partition(":")
    return rest if stamp.isdigit() and rest else None


def decode_records(text: str) -> list[Any] | None:
    """An evaluation dataset's ``records`` JSON text as a list ordered by (created_time, content
    without ids): records created in one call tie on created_time, and MLflow then orders them
    by their random ids."""
    try:
        records = json.loads(text)
    except ValueError:
        return None
    if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
        return None

    def order(record: dict[str, Any]) -> tuple[Any, str]:
        content = {k: v for k, v in record.items() if k not in ("dataset_record_id", "dataset_id")}
        return (record.get("created_time", 0), _canonical(content))

    return sorted(records, key=order)


def _dataset_digest(node: dict[str, Any]) -> Any:
    """An evaluation dataset's digest is sha256("<name>:<time>")[:8] of the time of its last
    records upsert (or creation): ``<digest>`` if that is its ``last_update_time``,
    ``<digest:older>`` if it is some other 8-hex-digit text (links move the time, not the
    digest), else the value itself."""
    import hashlib

    digest = node.get("digest")
    expected = hashlib.sha256(f"{node.get('name')}:{node.get('last_update_time')}".encode())
    if digest == expected.hexdigest()[:8]:
        return "<digest>"
    if isinstance(digest, str) and re.fullmatch(r"[0-9a-f]{8}", digest):
        return "<digest:older>"
    return digest


def decode_page_token(token: str) -> dict[str, Any] | None:
    """The JSON object a page token encodes (standard base64), or None if it encodes none."""
    if not token or not token.isascii():
        return None
    try:
        decoded = json.loads(base64.b64decode(token, validate=True).decode("utf-8"))
    except (binascii.Error, ValueError):
        return None
    return decoded if isinstance(decoded, dict) else None


class Normaliser:
    """Per-case, per-side id mapping; feed it every reply of the case in order."""

    def __init__(self, suffix: str) -> None:
        self.suffix = suffix
        self.experiments: dict[str, str] = {}
        self.runs: dict[str, str] = {}
        self.models: dict[str, str] = {}
        self.scorers: dict[str, str] = {}  # registered scorers' uuids
        self.sent_strings: set[str] = set()

    # -- learning -------------------------------------------------------------------
    def note_sent(self, value: Any) -> None:
        """Remember client-supplied strings (they are never masked as random names)."""
        for text in _strings(value):
            self.sent_strings.add(text)

    def learn(self, body: Any) -> None:
        """Register generated ids in a deterministic (sorted-key) walk of ``body``."""
        if isinstance(body, dict):
            for key in sorted(body):
                value = body[key]
                if key == "experiment_id" and isinstance(value, str):
                    self._experiment(value)
                elif key == "experiment_ids" and isinstance(value, list):
                    for item in value:
                        if isinstance(item, str):
                            self._experiment(item)
                elif key == "scorer_id" and isinstance(value, str):
                    self._placeholder(self.scorers, value, "scorer")
                elif key in PAGE_TOKEN_KEYS and isinstance(value, str):
                    decoded = decode_page_token(value)
                    if decoded is not None:
                        self.learn(decoded)
                elif key == "records" and isinstance(value, str):
                    value = decode_records(value) or value
                self.learn(value)
        elif isinstance(body, list):
            for item in body:
                self.learn(item)
        elif isinstance(body, str):
            # Ids inside raw database text (rolled-back inserts) must not claim placeholders.
            body = stable_prefix(body)
            for match in MODEL_ID.finditer(body):
                self._placeholder(self.models, match.group(0), "model")
            for match in RUN_ID.finditer(body):
                self._placeholder(self.runs, match.group(0), "run")

    def _experiment(self, value: str) -> None:
        if value.isdigit() and value != "0":
            self._placeholder(self.experiments, value, "exp")

    @staticmethod
    def _placeholder(table: dict[str, str], raw: str, kind: str) -> str:
        if raw not in table:
            table[raw] = f"<{kind}:{len(table) + 1}>"
        return table[raw]

    # -- rewriting ------------------------------------------------------------------
    def normalise(self, body: Any) -> Any:
        self.learn(body)
        return self._rewrite(body, key=None, parent=None)

    def text(self, value: str) -> str:
        """Normalise a free-text string (messages, URIs)."""
        out = MODEL_ID.sub(lambda m: self.models.get(m.group(0), m.group(0)), value)
        out = RUN_ID.sub(lambda m: self.runs.get(m.group(0), m.group(0)), out)
        out = RUN_ID_UPPER.sub(lambda m: self._upper_run(m.group(0)), out)
        for pattern in EXP_ID_CONTEXTS:
            out = pattern.sub(lambda m: m.group(1) + self._experiment_text(m.group(2)), out)
        out = EXP_ID_LIST.sub(lambda m: m.group(1) + EXP_ID_IN_LIST.sub(
            lambda i: "'" + self._experiment_text(i.group(1)) + "'", m.group(2)
        ) + m.group(3), out)
        if self.suffix:
            out = out.replace(self.suffix, "<sfx>")
        return PY_SET_REPR.sub(_sorted_set_repr, out)

    def _experiment_text(self, raw: str) -> str:
        """A known experiment id in a message, also when sent with leading zeros ("0<id>")."""
        if raw in self.experiments:
            return self.experiments[raw]
        digits = raw.lstrip("0")
        if digits in self.experiments:
            return raw[: len(raw) - len(digits)] + self.experiments[digits]
        return raw

    def _upper_run(self, raw: str) -> str:
        """A known run id sent in upper case (case-sensitivity probes) -> ``<RUN:n>``."""
        placeholder = self.runs.get(raw.lower())
        return placeholder.upper() if placeholder else raw

    def _rewrite(self, node: Any, key: str | None, parent: str | None) -> Any:
        if isinstance(node, dict):
            out = {k: self._rewrite(v, k, key) for k, v in node.items()}
            for created, updated in CLOCK_PAIRS:
                if _is_stamp(node.get(created)) and _is_stamp(node.get(updated)):
                    out[updated] = _relative_stamp(node[created], node[updated])
            if str(node.get("dataset_id", "")).startswith("d-") and "digest" in node:
                out["digest"] = _dataset_digest(node)
            if out.get("key") == "mlflow.runName" and isinstance(node.get("value"), str):
                out["value"] = self._run_name(node["value"])
            return out
        if isinstance(node, list):
            item_key = key if key == "experiment_ids" else None  # a list of ids: map each
            items = [self._rewrite(item, item_key, key) for item in node]
            if key in UNORDERED_LIST_KEYS or (key == "metrics" and parent == "data"):
                items.sort(key=_canonical)
            return items
        if isinstance(node, str):
            if key in ("experiment_id", "experiment_ids") and node in self.experiments:
                return self.experiments[node]
            if key == "scorer_id" and node in self.scorers:
                return self.scorers[node]
            if key in PAGE_TOKEN_KEYS:
                decoded = decode_page_token(node)
                if decoded is not None:
                    return "<page-token " + json.dumps(self._rewrite(decoded, None, key)) + ">"
                cursor = decode_record_cursor(node)
                if cursor is not None:
                    return "<record-cursor <ts>:" + self.text(cursor) + ">"
            if key == "records":
                records = decode_records(node)
                if records is not None:
                    return self._rewrite(records, key, parent)
            if key == "run_name":
                return self._run_name(node)
            return self.text(node)
        if key in SERVER_CLOCK_KEYS and isinstance(node, int) and not isinstance(node, bool):
            return "<ts>" if node > 0 else node
        if key == "experiment_id" and isinstance(node, int) and str(node) in self.experiments:
            return self.experiments[str(node)]  # proto int32 ids (registered scorers)
        return node

    def _run_name(self, value: str) -> str:
        if value not in self.sent_strings and RANDOM_NAME.match(value):
            return "<random-name>"
        return self.text(value)


def _is_stamp(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _relative_stamp(created: int, updated: int) -> str:
    if updated == created:
        return "<ts:same>"
    return "<ts:later>" if updated > created else "<ts:earlier>"


def _canonical(item: Any) -> str:
    return json.dumps(item, sort_keys=True, default=str)


def _strings(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _strings(k)
            yield from _strings(v)
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from _strings(v)
