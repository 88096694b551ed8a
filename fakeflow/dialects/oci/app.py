"""The ``oci-aidp`` profile: the fake as Oracle's AI Data Platform serves MLflow.

``OciProfileApp`` is a ``ControlledApp`` (control plane, request log, faults, reset) whose inner
app routes vendor paths to one isolated fake per workspace. Around it, the dialect maps only
what the vendor documents differently: request ids, retry tokens, the user principal, etags,
authentication, throttling and the error shape. Every MLflow answer itself comes unchanged from
the same ``FakeflowApp`` and state machine as the plain routes.

Pipeline of a request under the prefix (each step may answer at once, in the vendor's shape):
``opc-request-id`` check, path parameters, Host/origin policy, ``authorization`` (optional),
workspace (made on first use, bounded), ``dh-user-principal`` into a created run,
``opc-retry-token``, then the control plane's faults (throttling among them) and the app.
"""

from __future__ import annotations

import hashlib
import io
import time
from dataclasses import dataclass
from typing import Any, Callable, Iterable

from fakeflow.control.middleware import CONTROL_PREFIX, ControlledApp
from fakeflow.dialects.oci import errors, headers
from fakeflow.dialects.oci.paths import API_VERSION, Mount, invalid_segment, parse, workspace_prefix
from fakeflow.dialects.oci.retry import Answer, RetryTokens, Ticket
from fakeflow.dialects.oci.throttle import RateLimit, workspace_rate_limit
from fakeflow.dialects.oci.workspaces import (
    DEFAULT_MAX_WORKSPACES,
    ENV_WORKSPACE,
    TooManyWorkspaces,
    Workspace,
    WorkspaceRouter,
)
from fakeflow.state.tracking import TrackingStore
from fakeflow.web.app import FakeflowApp, create_app
from fakeflow.web.security import is_api_path
from fakeflow.web.status import status_line

DEFAULT_PLATFORM = "ocid1.aidataplatform.oc1..fakeflow"
DEFAULT_WORKSPACE = "default"

_WRITES = frozenset({"POST", "PATCH", "DELETE"})
#: Answers up to this size are read whole (to reshape an error or tag a resource); larger ones
#: (artifact downloads, long histories) stream through untouched but for the request id.
_MAX_BUFFERED = 1024 * 1024

StartResponse = Callable[..., Any]
Header = tuple[str, str]


@dataclass(frozen=True)
class OciConfig:
    """The profile's options (all off or generous by default)."""

    #: API versions served in the prefix; any other answers 404.
    api_versions: tuple[str, ...] = (API_VERSION,)
    #: Keep serving the plain MLflow routes (``/api/2.0/mlflow/...``) next to the prefixed ones.
    plain_routes: bool = True
    #: Answer 401 ``NotAuthenticated`` to prefixed requests without an ``authorization`` header.
    require_auth: bool = False
    #: ``(limit, per_seconds)``: throttle each workspace to ``limit`` requests per window.
    rate_limit: tuple[int, float] | None = None
    #: Workspaces held at once; one more answers 400 ``LimitExceeded``.
    max_workspaces: int = DEFAULT_MAX_WORKSPACES
    #: Also keep MLflow's ``error_code`` in error bodies (MLflow's own client needs it to tell
    #: "not found" from other failures, e.g. in ``mlflow.set_experiment``).
    mlflow_error_code: bool = False
    #: Clock of retry-token expiry and throttling windows (seconds; injectable for tests).
    clock: Callable[[], float] = time.monotonic
    #: The workspace ``tracking_uri()`` names by default.
    default_platform: str = DEFAULT_PLATFORM
    default_workspace: str = DEFAULT_WORKSPACE

    def __post_init__(self) -> None:
        if not self.api_versions or not all(isinstance(v, str) and v and "/" not in v
                                            for v in self.api_versions):
            raise ValueError("api_versions must be non-empty path segments")
        if isinstance(self.max_workspaces, bool) or not isinstance(self.max_workspaces, int) \
                or self.max_workspaces < 1:
            raise ValueError("max_workspaces must be a positive integer")
        if self.rate_limit is not None:
            RateLimit(route="*", limit=self.rate_limit[0], per=self.rate_limit[1])  # checks it


class OciProfileApp(ControlledApp):
    """The fake behind Oracle's MLflow paths; a ``ControlledApp``, so the pytest plugin, the
    control plane and ``fakeflow serve`` drive it as they drive the plain fake.

    ``store``, ``dump``/``load`` are the default workspace's state, ``plain_store`` the plain
    routes'; ``workspace(platform, key)`` gives any workspace (``.store``, ``.tokens``).
    ``reset`` forgets every workspace."""

    def __init__(self, app: FakeflowApp | None = None, config: OciConfig | None = None, *,
                 record: bool = True) -> None:
        plain = app if app is not None else create_app()
        self.config = config or OciConfig()
        self._seed: int | None = None
        self.router = WorkspaceRouter(plain, self._make_app, self._make_tokens,
                                      self.config.max_workspaces, self._arm)
        super().__init__(plain, record=record)
        #: False (``fakeflow serve --no-control``): /_fakeflow is an ordinary path.
        self.serve_control = True
        self.app = self.router  # type: ignore[assignment]  # FakeflowApp's face, see router

    # -- workspaces ----------------------------------------------------------------------------

    def _make_app(self) -> FakeflowApp:
        plain = self.router.plain
        app = FakeflowApp(max_content_length=plain.max_content_length, security=plain.security)
        artifacts = plain.store.artifacts
        app.store.artifacts.configure(artifacts.max_file_bytes, artifacts.max_total_bytes)
        app.store.ids.reseed(self._seed)
        return app

    def _make_tokens(self) -> RetryTokens:
        return RetryTokens(clock=self.config.clock)

    def _arm(self, workspace: Workspace) -> None:
        if self.config.rate_limit is not None:
            limit, per = self.config.rate_limit
            self.faults.add(workspace_rate_limit(*workspace.key, limit, per, self.config.clock))

    def workspace(self, platform: str = DEFAULT_PLATFORM,
                  key: str = DEFAULT_WORKSPACE) -> Workspace:
        """A workspace's state (made now if new; ``TooManyWorkspaces`` beyond the bound)."""
        return self.router.workspace(platform, key)

    def throttle(self, limit: int, per: float = 1.0, platform: str | None = None,
                 key: str | None = None) -> RateLimit:
        """From now on, ``limit`` requests per ``per`` seconds to one workspace (default: the
        default one), then 429 ``TooManyRequests``; lifted with the other faults."""
        return self.faults.add(workspace_rate_limit(
            platform or self.config.default_platform, key or self.config.default_workspace,
            limit, per, self.config.clock))  # type: ignore[return-value]

    def tracking_path(self, platform: str | None = None, key: str | None = None) -> str:
        """The path of a workspace's tracking URI (``…/mlops``)."""
        return workspace_prefix(platform or self.config.default_platform,
                                key or self.config.default_workspace,
                                self.config.api_versions[0])

    @property
    def store(self) -> TrackingStore:  # type: ignore[override]
        """The default workspace's state: where ``tracking_path()`` points (so ``dump``,
        ``load`` and the pytest plugin's ``fakeflow.store`` see what clients wrote)."""
        return self.workspace().store

    @property
    def plain_store(self) -> TrackingStore:
        """The state behind the plain MLflow routes."""
        return self.router.plain.store

    def reset(self, seed: int | None = None) -> None:
        """Every workspace forgotten (made afresh on next use, throttles armed again), the
        plain state emptied, no log, no faults."""
        self._seed = seed
        self.router.clear()
        plain = self.plain_store
        with plain.lock:
            plain.ids.reseed(seed)
            plain.reset()
        self.log.clear()
        self.faults.clear()

    def seed(self, seed: int | None) -> None:
        self._seed = seed
        with self.plain_store.lock:
            self.plain_store.ids.reseed(seed)
        for workspace in self.router:
            with workspace.store.lock:
                workspace.store.ids.reseed(seed)

    # -- WSGI ----------------------------------------------------------------------------------

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        control = path == CONTROL_PREFIX or path.startswith(CONTROL_PREFIX + "/")
        if control and self.serve_control:
            return super().__call__(environ, start_response)
        mount = parse(path)
        if mount is None and self.config.plain_routes:
            if self.serve_control:
                return super().__call__(environ, start_response)
            return self.router.plain(environ, start_response)
        return self._vendor(environ, start_response, mount)

    def _vendor(self, environ: dict[str, Any], start_response: StartResponse,
                mount: Mount | None) -> Iterable[bytes]:
        sent = environ.get(headers.ENV_REQUEST_ID, "")
        problem = headers.request_id_problem(sent)
        request_id = sent if sent and problem is None else headers.new_request_id()
        early = self._early_answer(environ, mount, problem)
        if early is not None:
            extra = tuple(self.router.security.answer_headers(environ))
            early = Answer(early.status, (*early.headers, *extra), early.body)
            return _send(start_response, early, request_id)
        assert mount is not None
        try:
            workspace = self.router.workspace(*mount.key)
        except TooManyWorkspaces as error:
            return _send(start_response, _error(400, errors.LIMIT_EXCEEDED, str(error)),
                         request_id)
        environ[ENV_WORKSPACE] = workspace
        method = environ.get("REQUEST_METHOD", "")
        principal = environ.get(headers.ENV_USER_PRINCIPAL)
        if principal and method == "POST" and mount.rest.endswith("/2.0/mlflow/runs/create"):
            _default_user(environ, principal, self.router.max_content_length)
        token = environ.get(headers.ENV_RETRY_TOKEN)
        if token is None or method not in _WRITES:
            return self._forward_shaped(environ, start_response, request_id)
        problem = headers.retry_token_problem(token)
        if problem is not None:
            return _send(start_response, _error(400, errors.INVALID_PARAMETER, problem),
                         request_id)
        return self._with_token(environ, start_response, request_id, workspace, token, mount)

    def _early_answer(self, environ: dict[str, Any], mount: Mount | None,
                      request_id_problem: str | None) -> Answer | None:
        """The dialect's own refusals, in order; None when the request may go on."""
        if request_id_problem is not None:
            return _error(400, errors.INVALID_PARAMETER, request_id_problem)
        if mount is None:
            return _error(404, "NotAuthorizedOrNotFound",
                          "Not Found: plain MLflow routes are off in this profile; use "
                          + self.tracking_path() + "/api/...")
        if mount.version not in self.config.api_versions:
            return _error(404, "NotAuthorizedOrNotFound",
                          f"Unknown API version {mount.version!r}; served: "
                          f"{', '.join(self.config.api_versions)}")
        bad = invalid_segment(mount)
        if bad is not None:
            return _error(400, errors.INVALID_PARAMETER, bad)
        # MLflow's Host and origin rules, judged on MLflow's own path below the prefix.
        inner = {**environ, "PATH_INFO": mount.rest or "/"}
        refusal = self.router.security.refusal(inner, is_api_path(mount.rest))
        if refusal is not None:
            status, answer_headers, data = refusal
            return _reshaped(Answer(status, tuple(answer_headers), data),
                             self.config.mlflow_error_code)
        if self.config.require_auth and not environ.get("HTTP_AUTHORIZATION"):
            return _error(401, errors.NOT_AUTHENTICATED,
                          "The required information to complete authentication was not "
                          "provided or was incorrect.")
        return None

    def _with_token(self, environ: dict[str, Any], start_response: StartResponse,
                    request_id: str, workspace: Workspace, token: str,
                    mount: Mount) -> Iterable[bytes]:
        body = _read_whole(environ, self.router.max_content_length)
        if body is None:  # too large to remember: the app answers 413 without the token
            return self._forward_shaped(environ, start_response, request_id)
        fingerprint = hashlib.sha256(b"\0".join([
            environ.get("REQUEST_METHOD", "").encode(), mount.rest.encode("utf-8", "surrogateescape"),
            environ.get("QUERY_STRING", "").encode("latin-1", "replace"),
            environ.get(headers.ENV_USER_PRINCIPAL, "").encode("latin-1", "replace"), body,
        ])).hexdigest()
        ticket: Ticket = workspace.tokens.begin(token, fingerprint)
        if ticket.action == "conflict":
            return _send(start_response, _error(
                409, errors.RETRY_TOKEN_CONFLICT,
                "The opc-retry-token was already used for a different request."), request_id)
        if ticket.action == "replay":
            assert ticket.answer is not None
            return _send(start_response, self._for_this_request(ticket.answer, environ),
                         request_id)
        answer: Answer | None = None
        try:
            answer = self._answer(environ)
        finally:
            assert ticket.entry is not None
            workspace.tokens.finish(token, ticket.entry, answer)
        return _send(start_response, answer, request_id)

    def _for_this_request(self, answer: Answer, environ: dict[str, Any]) -> Answer:
        """A remembered answer with this request's own CORS and security headers."""
        current = list(self.router.security.answer_headers(environ))
        names = {name.lower() for name, _ in current}
        kept = tuple((k, v) for k, v in answer.headers
                     if k.lower() not in names and not k.lower().startswith("access-control-"))
        return Answer(answer.status, (*kept, *current), answer.body)

    def _inner(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        """Faults, request log and the workspace's app (no faults or log without control)."""
        if self.serve_control:
            return ControlledApp.__call__(self, environ, start_response)
        return self.router(environ, start_response)

    def _answer(self, environ: dict[str, Any]) -> Answer:
        """The whole answer of the control plane and app, in the vendor's shape."""
        captured = _Capture()
        chunks = self._inner(environ, captured)
        try:
            data = b"".join(chunks)
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()
        return self._shape(Answer(captured.status, tuple(captured.headers), data))

    def _shape(self, answer: Answer) -> Answer:
        if not answer.ok:
            return _reshaped(answer, self.config.mlflow_error_code)
        etag = headers.etag_for(answer.body) if _is_json(answer.headers) else None
        if etag is None:
            return answer
        return Answer(answer.status, (*answer.headers, (headers.ETAG, etag)), answer.body)

    def _forward_shaped(self, environ: dict[str, Any], start_response: StartResponse,
                        request_id: str) -> Iterable[bytes]:
        captured = _Capture()
        chunks = captured.started(self._inner(environ, captured))
        status, answer_headers = captured.status, captured.headers
        small = _is_json(answer_headers) and _length(answer_headers) <= _MAX_BUFFERED
        if status[:1] != "2" or small:
            try:
                data = b"".join(chunks)
            finally:
                close = getattr(chunks, "close", None)
                if close is not None:
                    close()
            return _send(start_response, self._shape(Answer(status, tuple(answer_headers), data)),
                         request_id)
        start_response(status, [*answer_headers, (headers.REQUEST_ID, request_id)])
        return chunks


class _Capture:
    """A ``start_response`` that keeps what the app said instead of sending it."""

    def __init__(self) -> None:
        self.status = ""
        self.headers: list[Header] = []

    def __call__(self, status: str, response_headers: list[Header],
                 exc_info: Any = None) -> Callable[[bytes], None]:
        self.status, self.headers = status, list(response_headers)
        return _no_write

    def started(self, chunks: Iterable[bytes]) -> Iterable[bytes]:
        """``chunks`` with the answer started: an app may call ``start_response`` only when its
        body is first iterated."""
        if self.status:
            return chunks
        iterator = iter(chunks)
        first = next(iterator, b"")
        return _Prepended(first, iterator, chunks)


class _Prepended:
    def __init__(self, first: bytes, rest: Any, original: Iterable[bytes]) -> None:
        self._first, self._rest, self._original = first, rest, original

    def __iter__(self) -> Any:
        yield self._first
        yield from self._rest

    def close(self) -> None:
        close = getattr(self._original, "close", None)
        if close is not None:
            close()


def _no_write(data: bytes) -> None:
    raise RuntimeError("the fake's apps never use WSGI's write()")


def _error(status: int, code: str, message: str) -> Answer:
    return Answer(status_line(status), (("Content-Type", "application/json"),),
                  errors.body(code, message))


def _reshaped(answer: Answer, keep_error_code: bool) -> Answer:
    status = int(answer.status.split(" ", 1)[0])
    content_type = next((v for k, v in answer.headers if k.lower() == "content-type"), "")
    new_status, data = errors.reshape(status, content_type, answer.body, keep_error_code)
    kept = tuple((k, v) for k, v in answer.headers
                 if k.lower() not in ("content-type", "content-length"))
    return Answer(status_line(new_status), (("Content-Type", "application/json"), *kept), data)


def _send(start_response: StartResponse, answer: Answer, request_id: str) -> list[bytes]:
    kept = [(k, v) for k, v in answer.headers
            if k.lower() not in ("content-length", headers.REQUEST_ID)]
    start_response(answer.status, [*kept, ("Content-Length", str(len(answer.body))),
                                   (headers.REQUEST_ID, request_id)])
    return [answer.body]


def _is_json(answer_headers: Iterable[Header]) -> bool:
    for name, value in answer_headers:
        if name.lower() == "content-type":
            return value.split(";", 1)[0].strip().lower() == "application/json"
    return False


def _length(answer_headers: Iterable[Header]) -> int:
    for name, value in answer_headers:
        if name.lower() == "content-length":
            try:
                return int(value)
            except ValueError:
                break
    return _MAX_BUFFERED + 1


def _read_whole(environ: dict[str, Any], bound: int) -> bytes | None:
    """The request body, put back for the app to read; None (nothing read) beyond ``bound``."""
    stream = environ.get("wsgi.input")
    length_text = environ.get("CONTENT_LENGTH") or ""
    if stream is None:
        return b""
    if length_text:
        try:
            length = int(length_text)
        except ValueError:
            return None
        if length > bound:
            return None
        body = stream.read(length) if length > 0 else b""
    elif environ.get("HTTP_TRANSFER_ENCODING") and environ.get("wsgi.input_terminated"):
        body = stream.read(bound + 1)
        if len(body) > bound:
            environ["wsgi.input"] = io.BytesIO(body)
            environ["CONTENT_LENGTH"] = str(len(body))
            return None
    else:
        return b""
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))
    environ.pop("HTTP_TRANSFER_ENCODING", None)
    return body


def _default_user(environ: dict[str, Any], principal: str, bound: int) -> None:
    """``dh-user-principal`` becomes the created run's ``user_id`` when the body gives none
    (absent, null or empty); any other body is left for MLflow to judge."""
    import json

    body = _read_whole(environ, bound)
    if not body:
        return
    try:
        parsed = json.loads(body)
    except (ValueError, RecursionError):
        return
    if not isinstance(parsed, dict) or parsed.get("user_id") not in (None, ""):
        return
    try:  # WSGI hands header bytes over as latin-1; the principal is meant as UTF-8
        principal = principal.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        pass
    parsed["user_id"] = principal
    data = json.dumps(parsed).encode("utf-8")
    environ["wsgi.input"] = io.BytesIO(data)
    environ["CONTENT_LENGTH"] = str(len(data))


def create_oci_app(config: OciConfig | None = None, *, record: bool = True,
                   **app_options: Any) -> OciProfileApp:
    """A fresh fake in the ``oci-aidp`` profile; ``app_options`` are ``create_app``'s."""
    return OciProfileApp(create_app(**app_options), config, record=record)
