"""GenAI issues: ``issues`` (create), ``issues/<id>`` (get, patch) and ``issues/search`` under
``/api/3.0/mlflow`` and ``/ajax-api/3.0/mlflow``. Parse as MLflow's handlers do, call the issue
store, render proto JSON.

MLflow turns status and severity into its enums in the handler, before the store: a value
outside them escapes as a bare HTTP 500. The patch route reads its issue id from the path but
still requires an ``issue_id`` in the body (any non-empty value; it is not used).
"""

from __future__ import annotations

from typing import Any

from werkzeug.exceptions import InternalServerError
from werkzeug.wrappers import Request

from fakeflow.search.issues import search_issues as run_search
from fakeflow.state.issues import SEVERITIES, STATUSES, Issue, IssueStore
from fakeflow.state.tracking import TrackingStore
from fakeflow.web.messages import Field, Message, S
from fakeflow.web.parsing import REQUIRED, STRING, read_request

Payload = dict[str, Any]

CREATE = Message("CreateIssue", (
    S("experiment_id"), S("name"), S("description"), S("status"), S("severity"),
    S("root_causes", repeated=True), S("source_run_id"), S("created_by"),
    S("categories", repeated=True),
))
UPDATE = Message("UpdateIssue", (S("issue_id"), S("name"), S("description"), S("status"),
                                 S("severity")))
SEARCH = Message("SearchIssues", (S("experiment_id"), S("filter_string"),
                                  Field("max_results", "int32"), S("page_token"),
                                  Field("include_trace_count", "bool")))


def _issues(store: TrackingStore) -> IssueStore:
    return store.issues


def _path_id(request: Request) -> str:
    return request.path.split("/issues/", 1)[1]


def _enum(msg: dict[str, Any], key: str, allowed: tuple[str, ...]) -> str | None:
    """A set status or severity must be one of the enum's values (else MLflow's ValueError)."""
    if key not in msg:
        return None
    if msg[key] not in allowed:
        raise InternalServerError()
    return msg[key]


def render_issue(issue: Issue, trace_count: int | None = None) -> Payload:
    """The Issue message: unset optional fields (and empty lists) left out."""
    out: Payload = {"issue_id": issue.issue_id, "experiment_id": issue.experiment_id,
                    "name": issue.name, "description": issue.description,
                    "status": issue.status}
    if issue.severity:
        out["severity"] = issue.severity
    if issue.root_causes:
        out["root_causes"] = list(issue.root_causes)
    if issue.source_run_id:
        out["source_run_id"] = issue.source_run_id
    out["created_timestamp"] = issue.created_timestamp
    out["last_updated_timestamp"] = issue.last_updated_timestamp
    if issue.created_by:
        out["created_by"] = issue.created_by
    if issue.categories:
        out["categories"] = list(issue.categories)
    if trace_count is not None:
        out["trace_count"] = trace_count
    return out


def create_issue(store: TrackingStore, request: Request) -> Payload:
    msg = read_request(request, CREATE, [("name", [REQUIRED, STRING]),
                                         ("description", [REQUIRED, STRING]),
                                         ("experiment_id", [REQUIRED, STRING])])
    status = _enum(msg, "status", STATUSES)
    severity = _enum(msg, "severity", SEVERITIES)
    created = _issues(store).create(
        msg.get("experiment_id", ""), msg.get("name", ""), msg.get("description", ""),
        status=status or "pending", severity=severity,
        root_causes=list(msg.get("root_causes") or []) or None,
        source_run_id=msg.get("source_run_id") or None,
        categories=list(msg.get("categories") or []) or None,
        created_by=msg.get("created_by") or None,
    )
    return {"issue": render_issue(created)}


def update_issue(store: TrackingStore, request: Request) -> Payload:
    msg = read_request(request, UPDATE, [("issue_id", [REQUIRED])])
    status = _enum(msg, "status", STATUSES)
    severity = _enum(msg, "severity", SEVERITIES)
    updated = _issues(store).update(_path_id(request), status=status,
                                    name=msg.get("name") or None,
                                    description=msg.get("description") or None,
                                    severity=severity)
    return {"issue": render_issue(updated)}


def get_issue(store: TrackingStore, request: Request) -> Payload:
    return {"issue": render_issue(_issues(store).get(_path_id(request)))}


def search_issues(store: TrackingStore, request: Request) -> Payload:
    msg = read_request(request, SEARCH)
    page, counts, token = run_search(
        _issues(store), msg.get("experiment_id") or None, msg.get("filter_string") or None,
        msg.get("max_results"), msg.get("page_token") or None,
        bool(msg.get("include_trace_count", False)))
    out: Payload = {}
    if page:
        out["issues"] = [render_issue(i, None if counts is None else counts[i.issue_id])
                         for i in page]
    out["next_page_token"] = token or ""
    return out
