"""GenAI issues (MLflow 3.17.2): quality problems found in an experiment's traces.

An issue belongs to an active experiment and has an id ``iss-<32 hex>``, a name, a description,
a status (``pending`` unless given), an optional severity, lists of root causes and categories,
and who created it. A trace refers to an issue through an assessment of kind ``issue`` whose name
is the issue id; nothing checks that the issue exists, and an issue's trace count is the number
of distinct traces holding such an assessment. ``source_run_id`` is a foreign key into the runs
table, so an unknown run is refused as SQLite refuses it. Shares the tracking store's lock and
clock.
"""

from __future__ import annotations

import copy
import json
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from fakeflow.state.errors import not_found
from fakeflow.state.logged_models import integrity_error
from fakeflow.state.validation import check_sqlite_integer, parse_experiment_id

if TYPE_CHECKING:
    from fakeflow.state.tracking import TrackingStore

STATUSES = ("pending", "rejected", "resolved")
#: lowest to highest: search lists the most severe first (no severity sorts below all)
SEVERITIES = ("not_an_issue", "low", "medium", "high")

_COLUMNS = ("issue_id, experiment_id, name, description, status, severity, root_causes, "
            "source_run_id, categories, created_timestamp, last_updated_timestamp, created_by")


@dataclass
class Issue:
    issue_id: str
    experiment_id: str
    name: str
    description: str
    status: str
    created_timestamp: int
    last_updated_timestamp: int
    severity: str | None = None
    root_causes: list[str] | None = None
    source_run_id: str | None = None
    categories: list[str] | None = None
    created_by: str | None = None

    @property
    def severity_rank(self) -> int:
        return SEVERITIES.index(self.severity) if self.severity in SEVERITIES else -1


class IssueStore:
    """Issues by id; every method takes the shared lock."""

    def __init__(self, tracking: "TrackingStore") -> None:
        self.tracking = tracking
        self.lock = tracking.lock
        self.issues: dict[str, Issue] = {}

    def reset(self) -> None:
        with self.lock:
            self.issues = {}

    def create(self, experiment_id: str, name: str, description: str, status: str = "pending",
               severity: str | None = None, root_causes: list[str] | None = None,
               source_run_id: str | None = None, categories: list[str] | None = None,
               created_by: str | None = None) -> Issue:
        """A new issue in an active experiment (status and severity already checked)."""
        with self.lock:
            experiment = self.tracking._experiment(experiment_id, ("active",))
            # an empty id finds the Default experiment, but MLflow then stores the id as sent
            parse_experiment_id(experiment_id)
            ids, now = self.tracking.ids, self.tracking.clock.now_ms()
            drawn_from = ids.getstate()
            issue = Issue(f"iss-{ids.hex_id()}", experiment.experiment_id, name, description,
                          status, now, now, severity, root_causes, source_run_id, categories,
                          created_by)
            if source_run_id is not None and source_run_id not in self.tracking.runs:
                ids.setstate(drawn_from)  # refused: the id it quotes was never stored
                raise integrity_error("FOREIGN KEY constraint failed", "issues", _COLUMNS, [(
                    issue.issue_id, int(issue.experiment_id), name, description, status, severity,
                    json.dumps(root_causes) if root_causes else None, source_run_id,
                    json.dumps(categories) if categories else None, now, now, created_by)])
            self.issues[issue.issue_id] = issue
            return copy.deepcopy(issue)

    def get(self, issue_id: str) -> Issue:
        with self.lock:
            return copy.deepcopy(self._issue(issue_id))

    def _issue(self, issue_id: str) -> Issue:
        issue = self.issues.get(issue_id)
        if issue is None:
            raise not_found(f"Issue with ID '{issue_id}' not found")
        return issue

    def update(self, issue_id: str, status: str | None = None, name: str | None = None,
               description: str | None = None, severity: str | None = None) -> Issue:
        """Set the fields given (None: keep); the update time moves even if nothing changes."""
        with self.lock:
            issue = self._issue(issue_id)
            if status is not None:
                issue.status = status
            if name is not None:
                issue.name = name
            if description is not None:
                issue.description = description
            if severity is not None:
                issue.severity = severity
            issue.last_updated_timestamp = self.tracking.clock.now_ms()
            return copy.deepcopy(issue)

    def in_experiment(self, experiment_id: int | None) -> list[Issue]:
        """Copies of the issues (of one experiment, if given: one that does not exist simply
        has none; a number SQLite cannot bind fails as MLflow's query does)."""
        with self.lock:
            if experiment_id is None:
                return [copy.deepcopy(i) for i in self.issues.values()]
            check_sqlite_integer(experiment_id)
            return [copy.deepcopy(i) for i in self.issues.values()
                    if i.experiment_id == str(experiment_id)]

    def trace_counts(self) -> dict[str, int]:
        """Issue id (as an issue assessment names it) -> number of distinct traces naming it."""
        with self.lock:
            counts: dict[str, int] = {}
            for trace in self.tracking.traces.traces.values():
                for name in {a.name for a in trace.assessments if a.kind == "issue"}:
                    counts[name] = counts.get(name, 0) + 1
            return counts

    # ---- snapshots -----------------------------------------------------------------------

    def export(self) -> list[dict[str, Any]]:
        with self.lock:
            return [asdict(i) for i in self.issues.values()]


def decode_issues(rows: list[dict[str, Any]]) -> dict[str, Issue]:
    """Issues from :meth:`IssueStore.export` rows; KeyError/TypeError if malformed."""
    return {row["issue_id"]: Issue(**row) for row in rows}
