"""The short way through ``requests`` for a call answered in-process.

``Session.request`` builds a ``Request``, merges cookies, ``.netrc`` credentials, proxies and
hooks into a ``PreparedRequest``, then ``Session.send`` runs hooks, stores cookies and follows
redirects: about 200 us per call, four times what fakeflow's app takes to answer. With no
network none of the environment applies, so for a *plain* call (no cookies, files, auth, hooks
or streaming, on either the call or the session) this module prepares the same method, URL,
headers and body with ``PreparedRequest``'s own steps and hands them to the adapter.
Redirects still go through ``Session.resolve_redirects``. Anything else takes the full path.
"""

from __future__ import annotations

import re
import time
from datetime import timedelta
from typing import Any

import requests
from requests.cookies import RequestsCookieJar
from requests.models import PreparedRequest
from requests.structures import CaseInsensitiveDict

#: A path (after a routed prefix) that ``PreparedRequest.prepare_url`` leaves exactly as is.
_CANONICAL_PATH = re.compile(r"(/[A-Za-z0-9\-._~/]*)?")


def is_plain(session: requests.Session, cookies: Any, files: Any, auth: Any, hooks: Any,
             stream: Any) -> bool:
    """Whether the call needs nothing of ``requests``' full path."""
    return not (cookies or files or auth is not None or hooks or stream
                or session.auth is not None or session.stream or session.params
                or any(session.hooks.values()) or len(session.cookies))


def prepare(session: requests.Session, method: str, url: str, canonical_prefix: str | None,
            params: Any, data: Any, headers: Any, json: Any) -> PreparedRequest:
    """The ``PreparedRequest`` that ``Session.prepare_request`` makes for a plain call."""
    prepared = PreparedRequest()
    prepared.prepare_method(method)
    if (not params and canonical_prefix is not None
            and _CANONICAL_PATH.fullmatch(url, len(canonical_prefix)) is not None
            and len(url) > len(canonical_prefix)):
        prepared.url = url
    else:
        prepared.prepare_url(url, params)
    prepared.prepare_headers(_merged_headers(headers, session.headers))
    prepared.prepare_body(data, None, json)
    return prepared


def _merged_headers(request_headers: Any, session_headers: Any) -> CaseInsensitiveDict:
    """``merge_setting(request, session, CaseInsensitiveDict)``: the call's headers win, and a
    header set to ``None`` on either side is dropped."""
    merged = CaseInsensitiveDict(session_headers or {})
    if request_headers:
        merged.update(request_headers)
    for name in [name for name, value in merged.items() if value is None]:
        del merged[name]
    return merged


def send(session: requests.Session, prepared: PreparedRequest, timeout: Any,
         allow_redirects: bool, verify: Any, cert: Any) -> requests.Response:
    """``Session.send`` for a plain call: the adapter's answer, with redirects followed."""
    url = prepared.url or ""
    # the session's routed settings (no proxies; verify and cert defaulted from the session)
    settings = session.merge_environment_settings(url, {}, False, verify, cert)
    del settings["stream"]  # a plain call never streams
    settings["timeout"] = timeout
    adapter = session.get_adapter(url)
    start = time.perf_counter()
    response = adapter.send(prepared, stream=False, **settings)
    response.elapsed = timedelta(seconds=time.perf_counter() - start)
    if response.is_redirect:
        prepared._cookies = RequestsCookieJar()  # what resolve_redirects carries cookies in
        if allow_redirects:
            history = list(session.resolve_redirects(response, prepared, stream=False, **settings))
            if history:
                history.insert(0, response)
                response = history.pop()
                response.history = history
        else:
            response._next = next(session.resolve_redirects(  # type: ignore[assignment]
                response, prepared, yield_requests=True, stream=False, **settings), None)
    return response
