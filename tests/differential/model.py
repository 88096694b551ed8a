"""The vocabulary of the differential catalogue: a case is a named list of request steps.

Strings in a step (path, query, JSON body, raw body) may contain ``${var}`` placeholders.
Variables come from earlier steps' ``capture`` maps (each server side keeps its own values)
plus the per-side seeds ``${sfx}`` (session suffix), ``${p}`` (``ffd-<sfx>-<case>``,
a unique name prefix for the case), and ``${host}`` / ``${port}`` (the side's own address,
for Host headers that must name it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

#: Sentinel meaning "no JSON body" (``None`` is a legal body: the JSON literal ``null``).
NO_BODY: Any = type("NoBody", (), {"__repr__": lambda self: "NO_BODY"})()

#: Relaxation: compare only the part of ``message`` before raw SQLite/SQLAlchemy text.
DB_NOISE = "db_noise"


@dataclass(frozen=True)
class Step:
    """One HTTP request and what to remember from its response."""

    method: str
    path: str
    json: Any = NO_BODY
    query: Mapping[str, Any] | Sequence[tuple[str, Any]] | None = None
    data: str | bytes | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    content_type: str | None = "application/json"
    capture: Mapping[str, str] = field(default_factory=dict)
    relax: frozenset[str] = frozenset()
    note: str = ""
    pause: float = 0.0  # seconds to wait first, so server clocks tick between creations
    #: Response headers (lower-case names) compared too; a plain-text body is then compared
    #: exactly whatever the status (security answers are 403 text/plain).
    wire_headers: tuple[str, ...] = ()

    def describe(self) -> str:
        return f"{self.method} {self.path}" + (f"  # {self.note}" if self.note else "")


@dataclass(frozen=True)
class Case:
    """A named request sequence whose responses are all compared."""

    name: str
    steps: tuple[Step, ...]
    doc: str = ""

    def __post_init__(self) -> None:
        if not self.name.replace("-", "").replace("_", "").isalnum():
            raise ValueError(f"case name must be a slug: {self.name!r}")


API = "/api/2.0/mlflow"
AJAX = "/ajax-api/2.0/mlflow"


def post(path: str, body: Any = NO_BODY, **kw: Any) -> Step:
    """POST ``body`` as JSON (``path`` relative to /api/2.0/mlflow unless it starts with '/')."""
    return Step("POST", _abs(path), json=body, **kw)


def get(path: str, query: Any = None, **kw: Any) -> Step:
    """GET with a query string (``path`` relative to /api/2.0/mlflow unless absolute)."""
    return Step("GET", _abs(path), query=query, **kw)


def ajax_post(path: str, body: Any = NO_BODY, **kw: Any) -> Step:
    return Step("POST", AJAX + "/" + path.lstrip("/"), json=body, **kw)


def ajax_get(path: str, query: Any = None, **kw: Any) -> Step:
    return Step("GET", AJAX + "/" + path.lstrip("/"), query=query, **kw)


def _abs(path: str) -> str:
    return path if path.startswith("/") else API + "/" + path


def case(name: str, *steps: Step, doc: str = "") -> Case:
    return Case(name, tuple(steps), doc)
