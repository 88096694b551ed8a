"""Registered scorers: ``scorers/register|list|versions|get|delete`` under ``/api/3.0/mlflow``
and ``/ajax-api/3.0/mlflow``. Parse as MLflow's handlers do, check the serialized scorer as
MLflow's server does before storing it, call the scorer store, render proto JSON."""

from __future__ import annotations

import json
import os
import re
from typing import Any

from werkzeug.exceptions import InternalServerError
from werkzeug.wrappers import Request, Response

from fakeflow.state.errors import MlflowError, invalid
from fakeflow.state.scorers import ScorerStore, ScorerVersion
from fakeflow.state.tracking import TrackingStore
from fakeflow.state.validation import check_sqlite_integer, parse_experiment_id
from fakeflow.web.messages import Field, Message, S
from fakeflow.web.parsing import (
    ARRAY,
    INTLIKE,
    ITEM_STRINGS,
    REQUIRED,
    STRING,
    read_json_body,
    read_request,
    validate_schema,
)

Payload = dict[str, Any]

REGISTER = Message("RegisterScorer", (S("experiment_id"), S("name"), S("serialized_scorer")))
LIST = Message("ListScorers", (S("experiment_id"), S("experiment_ids", repeated=True)))
VERSIONS = Message("ListScorerVersions", (S("experiment_id"), S("name")))
GET = Message("GetScorer", (S("experiment_id"), S("name"), Field("version", "int32")))
DELETE = Message("DeleteScorer", (S("experiment_id"), S("name"), Field("version", "int32")))
_NAMED = [("experiment_id", [REQUIRED, STRING]), ("name", [REQUIRED, STRING])]

#: The environment switch with which a self-managed MLflow server accepts @scorer functions.
ENABLE_CUSTOM_SCORERS = "MLFLOW_SERVER_ENABLE_CUSTOM_SCORERS"
DECORATOR_REFUSED = (
    "Custom scorer registration (using @scorer decorator) is disabled by default "
    "outside of Databricks tracking environments due to security concerns. "
    "Custom scorers require arbitrary code execution during deserialization.\n\n"
    "To use custom scorers:\n"
    "1. Configure MLflow to use a Databricks tracking URI, or\n"
    "2. Manage your custom scorer code in a source code repository "
    "(e.g., GitHub) and import it directly, or\n"
    "3. On a self-managed MLflow server (or local environment) that you trust to run the "
    "scorer's code, set the MLFLOW_SERVER_ENABLE_CUSTOM_SCORERS environment variable to true, or\n"
    "4. Use built-in scorers or make_judge() scorers instead."
)
#: Options of a third-party scorer's LLM client that would choose where it sends requests.
_DESTINATION_KEYS = frozenset({"api_base", "base_url", "model_list", "fallbacks",
                               "custom_llm_provider"})
_EXPERIMENT_ID_FORM = re.compile(r"^[a-zA-Z0-9][\w\-]{0,63}$")


def _scorers(store: TrackingStore) -> ScorerStore:
    return store.scorers


def custom_scorers_enabled() -> bool:
    """Read from this process's environment, as a real server reads its own."""
    return os.environ.get(ENABLE_CUSTOM_SCORERS, "").strip().lower() in ("true", "1")


def _has_call_source(value: Any) -> bool:
    if isinstance(value, dict):
        return value.get("call_source") is not None or any(
            _has_call_source(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_call_source(v) for v in value)
    return False


def _third_party_data(value: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    if isinstance(value, dict):
        data = value.get("third_party_scorer_data")
        if isinstance(data, dict):
            found.append(data)
        for nested in value.values():
            found += _third_party_data(nested)
    elif isinstance(value, list):
        for nested in value:
            found += _third_party_data(nested)
    return found


def _destination_keys(value: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(value, dict):
        found |= _DESTINATION_KEYS & set(value)
        for nested in value.values():
            found |= _destination_keys(nested)
    elif isinstance(value, list):
        for nested in value:
            if isinstance(nested, list) and len(nested) == 2 and isinstance(nested[0], str):
                found |= _DESTINATION_KEYS & {nested[0]}
            found |= _destination_keys(nested)
    return found


def check_serialized_scorer(text: str) -> None:
    """What MLflow's server refuses to store: bad JSON, code to execute (unless enabled), and
    third-party options that would redirect the judge's requests."""
    try:
        data = json.loads(text)
    except ValueError:
        raise invalid("serialized_scorer must be valid JSON") from None
    if _has_call_source(data) and not custom_scorers_enabled():
        raise invalid(DECORATOR_REFUSED)
    for third_party in _third_party_data(data):
        kwargs = third_party.get("kwargs")
        if kwargs is not None and not isinstance(kwargs, dict):
            raise invalid("third_party_scorer_data.kwargs must be a JSON object, got "
                          f"{_python_type_name(kwargs)}.")
        found = sorted(_destination_keys(kwargs))
        if found:
            raise invalid(
                f"third_party_scorer_data.kwargs must not contain {', '.join(map(repr, found))}: "
                "these options choose where the scorer's LLM client sends requests. Configure "
                "the judge endpoint on the server instead, for example through a gateway "
                "endpoint ('gateway:/<name>') or the provider's environment variables.")


def _python_type_name(value: Any) -> str:
    return {str: "str", int: "int", float: "float", bool: "bool", list: "list"}.get(
        type(value), type(value).__name__)


def _scorer(version: ScorerVersion) -> Payload:
    """The Scorer message (experiment id as a number, as its proto declares it)."""
    return {"experiment_id": int(version.experiment_id), "scorer_name": version.name,
            "scorer_version": version.version, "serialized_scorer": version.serialized_scorer,
            "creation_time": version.creation_time, "scorer_id": version.scorer_id}


def register_scorer(store: TrackingStore, request: Request) -> Payload:
    msg = read_request(request, REGISTER, _NAMED + [("serialized_scorer", [REQUIRED, STRING])])
    check_serialized_scorer(msg.get("serialized_scorer", ""))
    created = _scorers(store).register(msg.get("experiment_id", ""), msg.get("name", ""),
                                       msg.get("serialized_scorer", ""))
    return {"version": created.version, "scorer_id": created.scorer_id,
            "experiment_id": created.experiment_id, "name": created.name,
            "serialized_scorer": created.serialized_scorer,
            "creation_time": created.creation_time}


def list_scorers(store: TrackingStore, request: Request) -> Payload:
    msg = read_request(request, LIST, [
        ("experiment_id", [STRING]), ("experiment_ids", [ARRAY, ITEM_STRINGS]),
    ])
    experiment_id = msg.get("experiment_id")
    has_ids = "experiment_ids" in (request.args if request.method == "GET" else msg)
    if experiment_id and has_ids:
        raise invalid(
            "Cannot specify both 'experiment_id' and 'experiment_ids'. Use 'experiment_ids' to scope"
            " the query to multiple experiments, or 'experiment_id' to scope it to a single experiment."
        )
    if has_ids:
        wanted = list(dict.fromkeys(msg.get("experiment_ids", [])))
        for eid in wanted:
            if _EXPERIMENT_ID_FORM.match(eid) is None:
                raise invalid(f"Invalid experiment ID: '{eid}'")
        for eid in wanted:
            check_sqlite_integer(parse_experiment_id(eid))  # the store binds them as integers
        found = _scorers(store).list_latest_in(wanted)
    elif experiment_id:
        found = _scorers(store).list_latest(experiment_id)
    else:
        found = _scorers(store).list_all_active()
    return {"scorers": [_scorer(v) for v in found]} if found else {}


def list_scorer_versions(store: TrackingStore, request: Request) -> Payload:
    msg = read_request(request, VERSIONS, _NAMED)
    found = _scorers(store).versions(msg.get("experiment_id", ""), msg.get("name", ""))
    return {"scorers": [_scorer(v) for v in found]} if found else {}


def get_scorer(store: TrackingStore, request: Request) -> Payload:
    msg = read_request(request, GET, _NAMED + [("version", [INTLIKE])])
    found = _scorers(store).get(msg.get("experiment_id", ""), msg.get("name", ""),
                                msg.get("version"))
    return {"scorer": _scorer(found)}


def delete_scorer(store: TrackingStore, request: Request) -> Payload:
    msg = read_request(request, DELETE, _NAMED + [("version", [INTLIKE])])
    _scorers(store).delete(msg.get("experiment_id", ""), msg.get("name", ""), msg.get("version"))
    return {}


def online_scoring_configs(store: TrackingStore, request: Request) -> Response:
    """GET ``scorers/online-configs?scorer_ids=...`` (the client asks on every scorer read).

    Online scoring runs judges on an AI gateway endpoint, which fakeflow does not host, so no
    scorer ever has a configuration: once the ids check out the answer is an empty list,
    written as MLflow writes it (``json.dumps``, not proto JSON).
    """
    if request.method == "GET" and request.args:
        raw: Any = {key: request.args.getlist(key) if key == "scorer_ids"
                    else (request.args.getlist(key)[0] if len(request.args.getlist(key)) == 1
                          else request.args.getlist(key))
                    for key in request.args}
    else:
        raw = read_json_body(request)
    if not isinstance(raw, (dict, list, str)):
        raise InternalServerError()  # MLflow's `in` test on a number or null body fails: a 500
    validate_schema(raw, [("scorer_ids", [REQUIRED, ARRAY, ITEM_STRINGS])], False)
    for scorer_id in raw["scorer_ids"]:
        try:  # MLflow's query binds every id: a lone surrogate cannot be encoded for SQLite
            scorer_id.encode("utf-8")
        except UnicodeEncodeError as error:
            raise MlflowError(str(error), "INTERNAL_ERROR") from None
    return Response(json.dumps({"configs": []}), mimetype="application/json")
