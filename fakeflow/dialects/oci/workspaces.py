"""One isolated fake per (platform, workspace), made on first use, and the WSGI router to them.

Each workspace is a plain ``FakeflowApp`` with a ``TrackingStore`` of its own: the same MLflow
state machine, nothing shared but the Host/origin policy and the bounds. The number of
workspaces is bounded (``max_workspaces``): one more answers 400 ``LimitExceeded``.
"""

from __future__ import annotations

import threading
from typing import Any, Callable, Iterable, Iterator

from fakeflow.dialects.oci.paths import Mount, parse
from fakeflow.dialects.oci.retry import RetryTokens
from fakeflow.state.tracking import TrackingStore
from fakeflow.web.app import FakeflowApp
from fakeflow.web.security import SecurityPolicy

DEFAULT_MAX_WORKSPACES = 100
#: The environ key under which the dialect hands the router the request's workspace.
ENV_WORKSPACE = "fakeflow.oci.workspace"


class TooManyWorkspaces(Exception):
    """A new workspace beyond ``max_workspaces``."""


class Workspace:
    """The state of one (platform, workspace): its app and its retry tokens."""

    def __init__(self, key: tuple[str, str], app: FakeflowApp, tokens: RetryTokens) -> None:
        self.key = key
        self.app = app
        self.tokens = tokens

    @property
    def store(self) -> TrackingStore:
        return self.app.store


class WorkspaceRouter:
    """The WSGI app inside the control plane: vendor paths go to their workspace's app with the
    prefix moved into ``SCRIPT_NAME``; every other path to the plain app (when the dialect lets
    it through). Looks like a ``FakeflowApp`` to ``ControlledApp`` (``store`` is the plain one)."""

    def __init__(self, plain: FakeflowApp, make_app: Callable[[], FakeflowApp],
                 make_tokens: Callable[[], RetryTokens],
                 max_workspaces: int = DEFAULT_MAX_WORKSPACES,
                 on_create: Callable[[Workspace], None] | None = None) -> None:
        self.plain = plain
        self._make_app = make_app
        self._make_tokens = make_tokens
        self.max_workspaces = max_workspaces
        self.on_create = on_create
        self._workspaces: dict[tuple[str, str], Workspace] = {}
        self._lock = threading.Lock()

    # FakeflowApp's face, as ControlledApp and the pytest plugin use it
    @property
    def store(self) -> TrackingStore:
        return self.plain.store

    @property
    def security(self) -> SecurityPolicy:
        return self.plain.security

    @property
    def max_content_length(self) -> int:
        return self.plain.max_content_length

    @property
    def on_unexpected_error(self) -> Callable[[BaseException], None] | None:
        return self.plain.on_unexpected_error

    @on_unexpected_error.setter
    def on_unexpected_error(self, callback: Callable[[BaseException], None] | None) -> None:
        with self._lock:
            self.plain.on_unexpected_error = callback
            for workspace in self._workspaces.values():
                workspace.app.on_unexpected_error = callback

    # the workspaces
    def workspace(self, platform: str, workspace: str) -> Workspace:
        """The workspace's state, made now if this is its first use."""
        key = (platform, workspace)
        created = None
        with self._lock:
            found = self._workspaces.get(key)
            if found is None:
                if len(self._workspaces) >= self.max_workspaces:
                    raise TooManyWorkspaces(
                        f"fakeflow holds at most {self.max_workspaces} workspaces; this would "
                        f"be one more (platform {platform!r}, workspace {workspace!r}).")
                app = self._make_app()
                app.on_unexpected_error = self.plain.on_unexpected_error
                found = created = Workspace(key, app, self._make_tokens())
                self._workspaces[key] = found
        if created is not None and self.on_create is not None:
            self.on_create(created)
        return found

    def __iter__(self) -> Iterator[Workspace]:
        with self._lock:
            return iter(list(self._workspaces.values()))

    def __len__(self) -> int:
        with self._lock:
            return len(self._workspaces)

    def clear(self) -> None:
        """Forget every workspace (each is made afresh on its next use)."""
        with self._lock:
            self._workspaces = {}

    # WSGI
    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        workspace: Workspace | None = environ.get(ENV_WORKSPACE)
        mount: Mount | None = parse(environ.get("PATH_INFO", "")) if workspace else None
        if workspace is None or mount is None:
            return self.plain(environ, start_response)
        environ["SCRIPT_NAME"] = environ.get("SCRIPT_NAME", "") + mount.prefix
        environ["PATH_INFO"] = mount.rest
        return workspace.app(environ, start_response)
