"""Send one templated step to one server and keep what the comparison needs."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Mapping

import requests

from .model import NO_BODY, Step
from .templating import substitute

TIMEOUT_SECONDS = 30.0


@dataclass
class Sent:
    """The concrete request after substitution (kept for recordings and diff reports)."""

    method: str
    url: str
    query: Any
    headers: dict[str, str]
    body: str | None


@dataclass
class Reply:
    """An HTTP answer reduced to status, media type and (parsed) body."""

    status: int
    media_type: str
    text: str
    json: Any = None
    is_json: bool = False
    headers: dict[str, str] = field(default_factory=dict)

    def as_record(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "media_type": self.media_type,
            "body": self.json if self.is_json else self.text,
            "is_json": self.is_json,
        }


def build(step: Step, base_url: str, env: Mapping[str, str]) -> Sent:
    """Resolve ``${var}``s and encode the body exactly once, identically for both sides."""
    path = substitute(step.path, env)
    query = substitute(step.query, env) if step.query is not None else None
    headers = {k: substitute(v, env) for k, v in step.headers.items()}
    body: str | None = None
    if step.data is not None:
        raw = substitute(step.data, env)
        body = raw.decode("utf-8") if isinstance(raw, bytes) else raw
    elif step.json is not NO_BODY:
        body = json.dumps(substitute(step.json, env))
    has_body = body is not None
    if step.content_type is not None and (has_body or step.method in ("POST", "PUT")):
        headers.setdefault("Content-Type", step.content_type)
    return Sent(step.method, base_url.rstrip("/") + path, query, headers, body)


def send(session: requests.Session, sent: Sent) -> Reply:
    """Perform the request; never raise (HTTP errors are what we compare, and a dropped
    connection becomes status 0 so the rest of the catalogue still runs)."""
    try:
        response = session.request(
            sent.method,
            sent.url,
            params=sent.query,
            data=sent.body.encode("utf-8") if sent.body is not None else None,
            headers=sent.headers,
            timeout=TIMEOUT_SECONDS,
            allow_redirects=False,
        )
    except requests.RequestException as exc:
        return Reply(status=0, media_type="transport-error", text=f"{type(exc).__name__}: {exc}")
    media_type = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
    reply = Reply(
        status=response.status_code,
        media_type=media_type,
        text=response.text,
        headers={k.lower(): v for k, v in response.headers.items()},
    )
    if media_type == "application/json":
        try:
            # Flask answers spell NaN/Infinity bare; kept as markers so that equal answers
            # compare equal (float("nan") never does).
            reply.json = json.loads(response.text, parse_constant=lambda word: f"<{word}>")
            reply.is_json = True
        except (ValueError, RecursionError):
            pass
    return reply


def new_session() -> requests.Session:
    """A session that never retries and ignores proxy environment variables."""
    session = requests.Session()
    session.trust_env = False
    return session
