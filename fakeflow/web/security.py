"""MLflow 3.17.2's server security layer: Host checks, CORS and security headers, for WSGI.

``mlflow server`` refuses foreign ``Host`` headers (DNS rebinding) and state-changing requests
from foreign web origins, answers CORS preflights, and stamps security headers on every answer.
This module decides the same things with the same answers, for the fake's MLflow API and its
control plane, so a web page the user visits can neither drive nor read the fake.

Configuration follows ``mlflow server``: ``--allowed-hosts`` / ``MLFLOW_SERVER_ALLOWED_HOSTS``
and ``--cors-allowed-origins`` / ``MLFLOW_SERVER_CORS_ALLOWED_ORIGINS`` (comma-separated,
shell wildcards, ``*`` = any), ``MLFLOW_SERVER_X_FRAME_OPTIONS`` (``NONE`` = no header) and
``MLFLOW_SERVER_DISABLE_SECURITY_MIDDLEWARE=true``.

Requests from the in-process transport (``ENV_IN_PROCESS`` in the environ) skip the Host check:
their Host is made up from whatever base URL the test chose, and no browser can send them.
"""

from __future__ import annotations

import fnmatch
import os
import re
from typing import Any, Callable, Iterable, Mapping, Sequence
from urllib.parse import urlsplit

ENV_IN_PROCESS = "fakeflow.in_process"

ENV_ALLOWED_HOSTS = "MLFLOW_SERVER_ALLOWED_HOSTS"
ENV_CORS_ALLOWED_ORIGINS = "MLFLOW_SERVER_CORS_ALLOWED_ORIGINS"
ENV_DISABLE = "MLFLOW_SERVER_DISABLE_SECURITY_MIDDLEWARE"
ENV_X_FRAME_OPTIONS = "MLFLOW_SERVER_X_FRAME_OPTIONS"

INVALID_HOST_MESSAGE = b"Invalid Host header - possible DNS rebinding attack detected"
CORS_BLOCKED_MESSAGE = b"Cross-origin request blocked"

STATE_CHANGING_METHODS = frozenset({"POST", "PUT", "DELETE", "PATCH"})
#: Paths answered whatever the Host (load balancers probe them by IP or name).
HOST_EXEMPT_PATHS = frozenset({"/health", "/version"})
_API_PREFIXES = ("/api/", "/ajax-api/")
_NOT_API = frozenset({"/test", "/api/test"})

_LOOPBACK = ("localhost", "127.0.0.1", "[::1]", "0.0.0.0")
_PRIVATE = ("192.168.*", "10.*", *(f"172.{i}.*" for i in range(16, 32)), "fc00:*", "fd00:*")
DEFAULT_ALLOWED_HOSTS: tuple[str, ...] = (
    *_LOOPBACK,
    *(f"{h.replace('[', '[[]', 1)}:*" for h in _LOOPBACK),  # "[" is special to fnmatch
    *_PRIVATE,
)
_LOCALHOST_ORIGIN = re.compile(
    r"http://localhost(:[0-9]+)?|http://127\.0\.0\.1(:[0-9]+)?|http://\[::1\](:[0-9]+)?"
)
_LOCALHOST_ORIGIN_ANY_CASE = re.compile(rf"(?:{_LOCALHOST_ORIGIN.pattern})$", re.IGNORECASE)
_REGEX_HINTS = frozenset("*\\]?$^[]()")
#: Routes MLflow serves from FastAPI itself, outside Flask and so outside flask-cors.
_NATIVE_GETS = frozenset({"/health", "/api/3.0/mlflow/server-info",
                          "/ajax-api/3.0/mlflow/server-info"})
_NATIVE_ARTIFACT_PREFIXES = ("/api/2.0/mlflow-artifacts/artifacts/",
                             "/ajax-api/2.0/mlflow-artifacts/artifacts/")
_CORS_LOCAL_HOSTNAMES = frozenset({"localhost", "127.0.0.1", "[::1]", "::1"})
_METHODS = "GET, POST, PUT, DELETE, OPTIONS, PATCH"
_ALL_METHODS = "DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT, QUERY"
_PREFLIGHT_VARY = ("Origin, Access-Control-Request-Method, Access-Control-Request-Headers, "
                   "Access-Control-Request-Private-Network")

Header = tuple[str, str]
StartResponse = Callable[..., Any]


def _split(value: str | Sequence[str] | None) -> list[str] | None:
    """``"a, b"`` or ``["a", "b"]`` as a list; ``None`` or nothing given as ``None``."""
    if value is None:
        return None
    items = value.split(",") if isinstance(value, str) else list(value)
    for item in items:
        if not isinstance(item, str):
            raise TypeError(f"host and origin patterns must be strings, not {item!r}")
    items = [item.strip() for item in items]
    return items if any(items) else None


def _matches(value: str, patterns: Iterable[str]) -> bool:
    return any(fnmatch.fnmatch(value, p) if "*" in p else value == p for p in patterns)


def _local_origin_host(origin: str) -> bool:
    """The origin names a loopback host (any scheme or port), as MLflow's exemption reads it."""
    try:
        return urlsplit(origin).hostname in _CORS_LOCAL_HOSTNAMES
    except ValueError:
        return False


class SecurityPolicy:
    """What the server accepts; ``SecurityPolicy.from_settings()`` reads MLflow's settings.

    ``allowed_hosts``: fnmatch patterns for the Host header (``None``: any host).
    ``allowed_origins``: origins allowed besides loopback ones (fnmatch; ``"*"``: any origin).
    """

    def __init__(self, enabled: bool = True,
                 allowed_hosts: Sequence[str] | None = DEFAULT_ALLOWED_HOSTS,
                 allowed_origins: Sequence[str] = (),
                 x_frame_options: str | None = "SAMEORIGIN") -> None:
        self.enabled = enabled
        self.allowed_hosts = tuple(allowed_hosts) if allowed_hosts is not None else None
        self.allowed_origins = tuple(allowed_origins)
        self.x_frame_options = x_frame_options
        self._hosts_seen: dict[str, bool] = {}
        #: Without an Origin, flask-cors adds nothing unless it has "*" or literal origins.
        self._quiet_without_origin = not self.any_origin and all(
            not _REGEX_HINTS.isdisjoint(o) for o in self.allowed_origins)
        self._without_origin: tuple[Header, ...] = (
            ("X-Content-Type-Options", "nosniff"),
            *((("X-Frame-Options", x_frame_options),) if x_frame_options else ()),
            ("Vary", "Origin"),
        )

    def __repr__(self) -> str:
        return (f"SecurityPolicy(enabled={self.enabled}, allowed_hosts={self.allowed_hosts}, "
                f"allowed_origins={self.allowed_origins})")

    @classmethod
    def from_settings(cls, allowed_hosts: str | Sequence[str] | None = None,
                      cors_allowed_origins: str | Sequence[str] | None = None,
                      env: Mapping[str, str] | None = None) -> "SecurityPolicy":
        """Explicit arguments win over MLflow's environment variables, as in ``mlflow server``."""
        env = os.environ if env is None else env
        if env.get(ENV_DISABLE) == "true":
            return cls(enabled=False, allowed_hosts=None, x_frame_options=None)
        hosts = _split(allowed_hosts) or _split(env.get(ENV_ALLOWED_HOSTS))
        origins = _split(cors_allowed_origins) or _split(env.get(ENV_CORS_ALLOWED_ORIGINS)) or []
        frame = env.get(ENV_X_FRAME_OPTIONS, "SAMEORIGIN")
        return cls(
            allowed_hosts=None if hosts and "*" in hosts else tuple(hosts or DEFAULT_ALLOWED_HOSTS),
            allowed_origins=tuple(origins),
            x_frame_options=frame.upper() if frame and frame.upper() != "NONE" else None,
        )

    @property
    def any_origin(self) -> bool:
        return "*" in self.allowed_origins

    # -- decisions ---------------------------------------------------------------------------

    def host_allowed(self, host: str) -> bool:
        """Whether a request with this Host header is served (memoised: hosts are few)."""
        if self.allowed_hosts is None:
            return True
        known = self._hosts_seen.get(host)
        if known is None:
            known = bool(host) and _matches(host, self.allowed_hosts)
            if len(self._hosts_seen) > 1024:
                self._hosts_seen = {}
            self._hosts_seen[host] = known
        return known

    def blocks_write(self, origin: str | None, method: str) -> bool:
        """A state-changing request from a foreign web page (no Origin: not from a browser)."""
        if not origin or method not in STATE_CHANGING_METHODS or self.any_origin:
            return False
        if _local_origin_host(origin):
            return False
        return not _matches(origin, self.allowed_origins)

    # -- the WSGI side -----------------------------------------------------------------------

    def refusal(self, environ: dict[str, Any], guarded: bool) -> tuple[str, list[Header], bytes] | None:
        """The answer MLflow gives instead of serving this request, or ``None`` to serve it.

        ``guarded``: cross-origin writes are refused here (MLflow does it on its API paths).
        """
        if not self.enabled:
            return None
        path = environ.get("PATH_INFO", "")
        if (self.allowed_hosts is not None and path not in HOST_EXEMPT_PATHS
                and not environ.get(ENV_IN_PROCESS)
                and not self.host_allowed(environ.get("HTTP_HOST", ""))):
            return "403 Forbidden", [("Content-Type", "text/plain")], INVALID_HOST_MESSAGE
        origin = environ.get("HTTP_ORIGIN")
        method = environ.get("REQUEST_METHOD", "GET")
        if origin is not None and method == "OPTIONS" \
                and "HTTP_ACCESS_CONTROL_REQUEST_METHOD" in environ:
            return self._preflight(environ, origin)
        if guarded and self.blocks_write(origin, method):
            headers = [("Content-Type", "text/plain"), *self._cors_headers(environ, False)]
            return "403 Forbidden", headers, CORS_BLOCKED_MESSAGE
        return None

    def answer_headers(self, environ: dict[str, Any]) -> list[Header]:
        """Headers every served answer gets (security and CORS)."""
        if not self.enabled:
            return []
        if "HTTP_ORIGIN" not in environ and self._quiet_without_origin:
            return list(self._without_origin)  # the usual case: a client that is no browser
        headers = [("X-Content-Type-Options", "nosniff")]
        if self.x_frame_options:
            headers.append(("X-Frame-Options", self.x_frame_options))
        native = _served_by_fastapi(environ.get("REQUEST_METHOD", ""), environ.get("PATH_INFO", ""))
        return headers + self._cors_headers(environ, flask_layer=not native)

    def _cors_headers(self, environ: dict[str, Any], flask_layer: bool) -> list[Header]:
        """MLflow answers through two CORS layers: flask-cors on the routes Flask serves, then
        Starlette's on every answer, which replaces the headers it sets and appends to Vary.
        The two match origins differently (flask-cors ignores case), hence this merge."""
        origin = environ.get("HTTP_ORIGIN")
        headers = self._flask_cors(origin, environ) if flask_layer else []
        if origin is not None:
            simple = ([("Access-Control-Allow-Origin", "*"), ("Access-Control-Expose-Headers", "*")]
                      if self.any_origin else
                      [("Access-Control-Allow-Credentials", "true"),
                       ("Access-Control-Expose-Headers", "*")])
            if not self.any_origin and self._starlette_allows(origin):
                simple.append(("Access-Control-Allow-Origin", origin))
            names = {name for name, _ in simple}
            headers = [h for h in headers if h[0] not in names] + simple
        vary = [value for name, value in headers if name == "Vary"] + ["Origin"]
        return [h for h in headers if h[0] != "Vary"] + [("Vary", ", ".join(vary))]

    def _flask_cors(self, origin: str | None, environ: dict[str, Any]) -> list[Header]:
        """What flask-cors adds, configured as ``mlflow server`` configures it."""
        if origin:
            if not self._flask_allows(origin):
                return []
            allowed = [origin]
        elif self.any_origin:
            allowed = ["*"]
        else:  # no Origin: flask-cors still names every literal origin it was given
            allowed = sorted(o for o in self.allowed_origins if _REGEX_HINTS.isdisjoint(o))
            if not allowed:
                return []
        headers = [("Access-Control-Allow-Origin", value) for value in allowed]
        if not self.any_origin:
            headers.append(("Access-Control-Allow-Credentials", "true"))
        if environ.get("HTTP_ACCESS_CONTROL_REQUEST_PRIVATE_NETWORK") == "true":
            headers.append(("Access-Control-Allow-Private-Network", "false"))
        if allowed != ["*"]:
            headers.append(("Vary", "Origin"))  # several origins (or regexes) could match
        return headers

    def _starlette_allows(self, origin: str) -> bool:
        """Exact: the loopback patterns, case-sensitive, or an origin listed verbatim."""
        return bool(_LOCALHOST_ORIGIN.fullmatch(origin)) or origin in self.allowed_origins

    def _flask_allows(self, origin: str) -> bool:
        """flask-cors: origins ignore case; listed ones that look like regexes are regexes."""
        if self.any_origin or _LOCALHOST_ORIGIN_ANY_CASE.match(origin):
            return True
        for allowed in self.allowed_origins:
            if _REGEX_HINTS.isdisjoint(allowed):
                if origin.casefold() == allowed.casefold():
                    return True
                continue
            try:
                if re.match(allowed, origin, re.IGNORECASE):
                    return True
            except re.error:
                continue
        return False

    def _preflight(self, environ: dict[str, Any], origin: str) -> tuple[str, list[Header], bytes]:
        headers: list[Header] = [("Vary", _PREFLIGHT_VARY)]
        failures = []
        if self.any_origin:
            headers += [("Access-Control-Allow-Origin", "*"),
                        ("Access-Control-Allow-Methods", _ALL_METHODS),
                        ("Access-Control-Max-Age", "600")]
            methods = _ALL_METHODS
        else:
            headers += [("Access-Control-Allow-Methods", _METHODS),
                        ("Access-Control-Max-Age", "600"),
                        ("Access-Control-Allow-Credentials", "true")]
            methods = _METHODS
            if self._starlette_allows(origin):
                headers.append(("Access-Control-Allow-Origin", origin))
            else:
                failures.append("origin")
        if environ["HTTP_ACCESS_CONTROL_REQUEST_METHOD"] not in methods.split(", "):
            failures.append("method")
        requested = environ.get("HTTP_ACCESS_CONTROL_REQUEST_HEADERS")
        if requested is not None:
            headers.append(("Access-Control-Allow-Headers", requested))
        if "HTTP_ACCESS_CONTROL_REQUEST_PRIVATE_NETWORK" in environ:
            failures.append("private-network")
        body = ("Disallowed CORS " + ", ".join(failures)).encode() if failures else b"OK"
        headers.append(("Content-Type", "text/plain; charset=utf-8"))
        return ("400 Bad Request" if failures else "200 OK"), headers, body


def _served_by_fastapi(method: str, path: str) -> bool:
    if method == "GET" and path in _NATIVE_GETS:
        return True
    return method in ("GET", "PUT") and path.startswith(_NATIVE_ARTIFACT_PREFIXES)


def is_api_path(path: str) -> bool:
    """MLflow guards its API paths against cross-origin writes (not the UI or /health)."""
    return path.startswith(_API_PREFIXES) and path not in _NOT_API


def respond(start_response: StartResponse, answer: tuple[str, list[Header], bytes]) -> list[bytes]:
    status, headers, body = answer
    start_response(status, [*headers, ("Content-Length", str(len(body)))])
    return [body]


__all__ = ["DEFAULT_ALLOWED_HOSTS", "ENV_IN_PROCESS", "SecurityPolicy", "is_api_path", "respond"]
