"""Search of MLflow 3 logged models, answered as MLflow 3.17.2's SQL store answers it.

MLflow reads this filter with its own reader on top of the SQL lexer the run search uses
(``fakeflow.search.lexer`` reproduces that lexer): comparisons joined by AND, each naming an
attribute (a column of the ``logged_models`` table, under its column name or one of three
aliases), ``metrics.<name>``, ``params.<key>`` or ``tags.<key>``. Metrics and the two stamps
compare as numbers; everything else with =, !=, LIKE, ILIKE, IN and NOT IN as SQLite compares
a bound text value with a column (integer columns apply numeric affinity to it). A metric
comparison holds when any recorded value of the metric holds (restricted to the request's
``datasets``); order_by on a metric uses its latest value. Page tokens are base64 JSON of
the request and the offset. Errors come in MLflow's order: the dataset clause, the token, the
parse, the attribute lookups, the experiment ids, the order_by fields.
"""

from __future__ import annotations

import ast
import base64
import binascii
import json
import math
import re
from dataclasses import dataclass
from typing import Any, Callable, Sequence

from fakeflow.search.compare import compare
from fakeflow.search.filter import FilterCrash
from fakeflow.search.lexer import Kind, Tok, group, join_special_comparisons, lex, split_statements
from fakeflow.state.errors import (
    BAD_REQUEST, INTERNAL_ERROR, NOT_IMPLEMENTED, MlflowError, invalid,
)

ALIASES = {
    "creation_time": "creation_timestamp_ms",
    "creation_timestamp": "creation_timestamp_ms",
    "last_updated_timestamp": "last_updated_timestamp_ms",
}
#: The table's columns and their SQL type: "text", "int" (numeric affinity) or "stamp" (an
#: integer column MLflow compares as a number).
COLUMNS = {
    "model_id": "text", "experiment_id": "int", "name": "text", "artifact_location": "text",
    "creation_timestamp_ms": "stamp", "last_updated_timestamp_ms": "stamp", "status": "int",
    "lifecycle_stage": "text", "model_type": "text", "source_run_id": "text",
    "status_message": "text",
}
COLLECTIONS = ("tags", "params", "metrics")  # relationships of the mapped class
#: Other names on MLflow's mapped class, and the Python type of each: "=" against one of them
#: selects nothing, "!=" everything.
OTHER_CLASS_ATTRIBUTES = {
    "ALIASES": "dict", "is_numeric": "function", "metadata": "MetaData", "registry": "registry",
    "to_mlflow_entity": "function", "_sa_registry": "registry",
}
#: A function's address in SQLAlchemy's messages (MLflow's differs from run to run).
_ADDRESS = "0x7f0000000000"
#: MLflow's 500 for order_by on a class attribute that is not a column: SQLAlchemy fails on it.
_UNORDERABLE = {
    **{name: f"<function is_ at {_ADDRESS}>" for name in ("tags", "params", "metrics")},
    "experiment": f"<function is_ at {_ADDRESS}>",
}
NUMERIC_OPS = ("<", "<=", ">", ">=", "=", "!=")
STRING_OPS = ("=", "!=", "LIKE", "ILIKE", "IN", "NOT IN")
ENTITY_TYPES = ("attributes", "metrics", "params", "tags")
DEFAULT_MAX_RESULTS = 100
_ENTITY = re.compile(r"^([a-z]+)\.(.+)$")
_SQL_NUMBER = re.compile(r"^\s*[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?\s*$")


@dataclass(frozen=True)
class Comparison:
    entity: str  # "attributes" | "metrics" | "params" | "tags"
    key: str
    op: str
    value: Any  # float for numeric entities; str or a tuple (IN) otherwise


@dataclass(frozen=True)
class DatasetFilter:
    name: str
    digest: str | None  # None matches only rows without a digest (MLflow compares to NULL)


def unsupported(what: str) -> MlflowError:
    return MlflowError(f"fakeflow does not support this logged-model search: {what}",
                       NOT_IMPLEMENTED)


def _bad_filter(filter_string: str) -> MlflowError:
    return invalid(
        f"Invalid filter string: {filter_string!r}. Expected a list of comparisons separated by "
        "'AND' (e.g. 'metrics.loss > 0.1 AND params.lr = 0.01')."
    )


def _entity(identifier: str) -> tuple[str, str]:
    match = _ENTITY.match(identifier)
    if match:
        if match.group(1) not in ENTITY_TYPES:
            raise invalid(f"Invalid entity type: {match.group(1)!r}. Expected one of "
                          f"{list(ENTITY_TYPES)}.")
        return match.group(1), match.group(2).strip("`")
    return "attributes", ALIASES.get(identifier, identifier).strip("`")


def _is_numeric(entity: str, key: str) -> bool:
    return entity == "metrics" or (
        entity == "attributes" and COLUMNS.get(ALIASES.get(key, key)) == "stamp")


def _comparison(tok: Tok) -> Comparison:
    if len(tok.parts) != 3:
        text = "".join(p.text for p in tok.parts)
        raise invalid(f"Invalid comparison: {text}. Expected a comparison with 3 tokens.")
    left, op_tok, right = tok.parts
    entity, key = _entity(left.text)
    op = op_tok.text.upper()
    ops = NUMERIC_OPS if _is_numeric(entity, key) else STRING_OPS
    if op not in ops:
        raise invalid(f"Invalid comparison operator for {entity}.{key}: {op!r}. Expected one of "
                      f"{ops}.")
    raw = right.text
    value: Any
    if _is_numeric(entity, key):
        try:
            value = float(raw)
        except ValueError as exc:
            raise MlflowError(str(exc), INTERNAL_ERROR) from None
    elif raw.startswith("(") and raw.endswith(")"):
        try:
            value = ast.literal_eval(raw)
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError) as exc:
            raise MlflowError(str(exc), INTERNAL_ERROR) from None
        value = (value,) if isinstance(value, str) else value
    else:
        value = raw.strip("'")
    return Comparison(entity, key, op, value)


def parse_filter(filter_string: str | None) -> list[Comparison]:
    """The comparisons of a filter, or MLflow's error for the first thing it refuses."""
    if not filter_string:
        return []
    statements = split_statements(lex(filter_string))
    if not filter_string.strip() or len(statements) != 1:
        raise invalid(f"Invalid filter string: {filter_string!r}. Expected a single SQL "
                      "expression.")
    out = []
    for tok in join_special_comparisons(group(statements[0])):
        if tok.kind is Kind.COMPARE:
            out.append(_comparison(tok))
        elif tok.text.strip().upper() != "AND":
            raise _bad_filter(filter_string)
    return out


def check_comparisons(comparisons: Sequence[Comparison]) -> None:
    """MLflow's second pass: each attribute must name a column it can compare."""
    for c in comparisons:
        if c.entity != "attributes" or c.key in COLUMNS:
            if c.op in ("IN", "NOT IN") and not isinstance(c.value, (tuple, list)):
                raise MlflowError("IN expression list, SELECT construct, or bound parameter "
                                  f"object expected, got {c.value!r}.", BAD_REQUEST)
            continue
        if c.key in COLLECTIONS + ("experiment",):
            _refuse_relationship(c)
        if c.key in OTHER_CLASS_ATTRIBUTES:
            if c.op in ("=", "!="):
                continue  # a Python object compared to a value: all or nothing (see matches)
            method = {"LIKE": "like", "ILIKE": "ilike"}.get(c.op, "in_")
            raise MlflowError(f"'{OTHER_CLASS_ATTRIBUTES[c.key]}' object has no attribute "
                              f"'{method}'", INTERNAL_ERROR)
        if c.key.startswith(("__", "_sa_")):
            raise unsupported(f"the class attribute {c.key!r}")
        raise MlflowError(f"type object 'SqlLoggedModel' has no attribute '{c.key}'",
                          INTERNAL_ERROR)


def check_bindings(comparisons: Sequence[Comparison]) -> None:
    """The database's refusal, met only when the query runs (after ``order_by`` is checked):
    the driver cannot bind a tuple compared with ``=`` and the like."""
    for c in comparisons:
        if c.entity != "attributes" or c.key in COLUMNS:
            if isinstance(c.value, tuple) and c.op not in ("IN", "NOT IN"):
                # The text after this prefix is SQL noise (parameter position, the query).
                raise MlflowError("(sqlite3.ProgrammingError) Error binding parameter: type "
                                  "'tuple' is not supported", BAD_REQUEST)


def _refuse_relationship(c: Comparison) -> None:
    """SQLAlchemy refuses to compare a relationship with a value; MLflow passes its words on."""
    if c.op in ("IN", "NOT IN"):
        raise MlflowError("in_() not yet supported for relationships.  For a simple many-to-one, "
                          "use in_() against the set of foreign key values.", INTERNAL_ERROR)
    if c.op in ("LIKE", "ILIKE"):
        raise MlflowError(f"<function {c.op.lower()}_op at {_ADDRESS}>", INTERNAL_ERROR)
    if c.key != "experiment":
        raise MlflowError("Can't compare a collection to an object or collection; use contains() "
                          "to test for membership.", BAD_REQUEST)
    if c.op == "=":
        raise MlflowError(
            "Mapped instance expected for relationship comparison to object.   Classes, queries "
            "and other SQL elements are not accepted in this context; for comparison with a "
            "subquery, use SqlLoggedModel.experiment.has(**criteria).", BAD_REQUEST)
    raise MlflowError("'str' object has no attribute '_sa_instance_state'", INTERNAL_ERROR)


# ---- values as SQLite holds and compares them ------------------------------------------------


def _sql_number(text: str) -> float | int | None:
    if not _SQL_NUMBER.match(text):
        return None
    number = float(text)
    return int(number) if number.is_integer() and abs(number) < 2**63 else number


def _as_text(value: Any) -> Any:
    """A bound value under TEXT affinity: numbers become their SQL text."""
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, (int, float)):
        return repr(value)
    return value


def _as_int_column(value: Any) -> Any:
    """A bound value under INTEGER affinity: numeric text becomes a number."""
    if isinstance(value, str):
        number = _sql_number(value)
        return value if number is None else number
    return value


def _sql_compare(lhs: Any, op: str, rhs: Any, kind: str) -> bool:
    if lhs is None or rhs is None:
        return False
    if op in ("IN", "NOT IN"):
        found = any(_sql_compare(lhs, "=", item, kind) for item in rhs)
        has_null = any(item is None for item in rhs)
        return found if op == "IN" else (not found and not has_null)
    if op in ("LIKE", "ILIKE"):
        return compare(_as_text(lhs), op, _as_text(rhs)) if isinstance(rhs, str) else False
    if kind == "int":
        rhs = _as_int_column(rhs)
        if isinstance(rhs, str):  # SQLite: every number sorts before every text
            return {"=": False, "!=": True}.get(op, False)
    elif kind == "text":
        rhs = _as_text(rhs)
    return compare(lhs, op, rhs)


# ---- matching ----------------------------------------------------------------------------------


def column_value(model: Any, key: str) -> Any:
    """A model's value in MLflow's table column ``key``."""
    from fakeflow.state.logged_models import status_number

    if key == "experiment_id":
        return int(model.experiment_id)
    if key == "status":
        return status_number(model.status)
    if key == "creation_timestamp_ms":
        return model.creation_timestamp
    if key == "last_updated_timestamp_ms":
        return model.last_updated_timestamp
    if key == "status_message":
        return None
    return getattr(model, key)


def _dataset_match(row: Any, datasets: Sequence[DatasetFilter]) -> bool:
    return any(row.dataset_name == d.name and row.dataset_digest == d.digest for d in datasets)


def _metric_holds(model: Any, c: Comparison, datasets: Sequence[DatasetFilter]) -> bool:
    if math.isnan(c.value):
        return False  # SQLite binds NaN as NULL
    return any(
        row.key == c.key and compare(float(row.value), c.op, c.value)
        and (not datasets or _dataset_match(row, datasets))
        for row in list(model.metrics.values())
    )


def matches(model: Any, comparisons: Sequence[Comparison],
            datasets: Sequence[DatasetFilter] = ()) -> bool:
    has_metric = False
    for c in comparisons:
        if c.entity == "metrics":
            has_metric = True
            if not _metric_holds(model, c, datasets):
                return False
        elif c.entity in ("params", "tags"):
            values = model.params if c.entity == "params" else model.tags
            if not _sql_compare(values.get(c.key), c.op, c.value, "text"):
                return False
        elif c.key in OTHER_CLASS_ATTRIBUTES:
            if c.op == "=":
                return False
        else:
            kind = COLUMNS[c.key]
            if kind == "stamp":
                if math.isnan(c.value) or not compare(column_value(model, c.key), c.op, c.value):
                    return False
            elif not _sql_compare(column_value(model, c.key), c.op, c.value, kind):
                return False
    if datasets and not has_metric:
        return any(_dataset_match(row, datasets) for row in list(model.metrics.values()))
    return True


# ---- order_by ----------------------------------------------------------------------------------


SortKey = Callable[[Any], Any]


def _latest_metric(name: str, dataset_name: str | None, dataset_digest: str | None) -> SortKey:
    def value(model: Any) -> Any:
        best = None
        for row in list(model.metrics.values()):
            if row.key != name or (dataset_name and row.dataset_name != dataset_name) or (
                    dataset_digest and row.dataset_digest != dataset_digest):
                continue
            rank = (-row.timestamp, -row.step, row.run_id)
            if best is None or rank < best[0]:
                best = (rank, float(row.value))
        return None if best is None else best[1]

    return value


def order_keys(order_by: Sequence[dict[str, Any]] | None) -> list[tuple[SortKey, bool]]:
    """(value of a model, ascending) per order_by field, then MLflow's tie-breakers."""
    keys: list[tuple[SortKey, bool]] = []
    has_creation = has_model_id = False
    for ob in order_by or []:
        field_name = ob.get("field_name") or ""
        ascending = ob.get("ascending", True) is not False
        if "." not in field_name:
            name = ALIASES.get(field_name, field_name)
            has_creation = has_creation or name == "creation_timestamp_ms"
            has_model_id = has_model_id or name == "model_id"
            if name in COLUMNS:
                keys.append((lambda m, n=name: column_value(m, n), ascending))
                continue
            if name in _UNORDERABLE:
                raise MlflowError(_UNORDERABLE[name], INTERNAL_ERROR)
            if name in OTHER_CLASS_ATTRIBUTES:
                raise MlflowError(f"'{OTHER_CLASS_ATTRIBUTES[name]}' object has no attribute "
                                  "'is_'", INTERNAL_ERROR)
            if name.startswith(("__", "_sa_")):
                raise unsupported(f"order_by {field_name!r}")
            error = invalid(f"Invalid order by field name: {field_name}")
            error.error_class = ("KAM04", "ATTRIBUTE_NOT_FOUND")  # type: ignore[attr-defined]
            raise error
        entity, name = field_name.split(".", 1)
        if entity != "metrics":
            raise invalid(f"Invalid order by field name: {field_name}. Only metrics are supported.")
        keys.append((_latest_metric(name, ob.get("dataset_name"), ob.get("dataset_digest")),
                     ascending))
    if not has_creation:
        keys.append((lambda m: m.creation_timestamp, False))
    if not has_model_id:
        keys.append((lambda m: m.model_id, True))
    return keys


def sort_models(models: list[Any], keys: Sequence[tuple[SortKey, bool]]) -> list[Any]:
    """Stable passes from the last key to the first; missing values last in either direction."""
    for key, ascending in reversed(keys):
        values = {id(m): key(m) for m in models}
        present = [m for m in models if values[id(m)] is not None]
        present.sort(key=lambda m: values[id(m)], reverse=not ascending)
        models = present + [m for m in models if values[id(m)] is None]
    return models


# ---- page tokens -------------------------------------------------------------------------------


def encode_token(experiment_ids: list[str], filter_string: str | None,
                 order_by: list[dict[str, Any]] | None, offset: int) -> str:
    body = {"experiment_ids": experiment_ids, "filter_string": filter_string,
            "order_by": order_by, "offset": offset}
    return base64.b64encode(json.dumps(body).encode("utf-8")).decode("utf-8")


def decode_offset(token: str, experiment_ids: list[str], filter_string: str | None,
                  order_by: list[dict[str, Any]] | None) -> int:
    """The token's offset once it matches the request; tokens MLflow cannot read at all crash
    its handler (FilterCrash: an HTML 500), JSON it cannot parse is a 400."""
    try:
        text = base64.b64decode(token.encode("utf-8")).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise FilterCrash(f"undecodable page token {token!r}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise invalid(f"Invalid page token: {token}. {exc}") from None
    if not isinstance(data, dict):
        raise FilterCrash(f"page token {token!r} is not an object")
    found_filter = data.get("filter_string") or None
    found_order = data.get("order_by") or None
    if data.get("experiment_ids") != experiment_ids:
        raise invalid(
            "Experiment IDs in the page token do not match the requested experiment IDs. "
            f"Expected: {experiment_ids}. Found: {data.get('experiment_ids')}"
        )
    if found_filter != filter_string:
        raise invalid(
            "Filter string in the page token does not match the requested filter string. "
            f"Expected: {filter_string}. Found: {found_filter}"
        )
    if found_order != order_by:
        raise invalid(
            "Order by in the page token does not match the requested order by. "
            f"Expected: {order_by}. Found: {found_order}"
        )
    offset = data.get("offset") or 0
    if isinstance(offset, str):
        offset = _sql_number(offset)
    if isinstance(offset, bool) or not isinstance(offset, (int, float)):
        raise unsupported("this page token's offset")
    return max(int(offset), 0)  # SQLite reads a negative OFFSET as none


def page(found: list[Any], offset: int, max_results: int) -> tuple[list[Any], bool]:
    """MLflow's ``OFFSET offset LIMIT max_results + 1`` (a negative LIMIT is none), then the
    first ``max_results`` in Python's slice sense; and whether a next page is announced."""
    limit = max_results + 1
    rows = found[offset:] if limit < 0 else found[offset:offset + limit]
    return rows[:max_results], len(rows) > max_results
