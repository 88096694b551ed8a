"""Where Oracle's AI Data Platform mounts MLflow: the path prefix and its parameters.

``/{apiVersion}/aiDataPlatforms/{aiDataPlatformId}/workspaces/{workspaceKey}/mlops`` is the
tracking URI a client uses; everything below it (``/api/2.0/mlflow/...``,
``/api/2.0/mlflow-artifacts/...``, ``/ajax-api/...``, ``/health``) is MLflow's own path.
"""

from __future__ import annotations

import re
from typing import NamedTuple

API_VERSION = "20260430"

_PREFIX = re.compile(
    r"^/(?P<version>[^/]+)/aiDataPlatforms/(?P<platform>[^/]+)"
    r"/workspaces/(?P<workspace>[^/]+)/mlops(?P<rest>/.*)?$"
)
#: An OCID or a workspace key: letters, digits, ``.``, ``_``, ``-`` (no wildcard characters, so
#: a prefix can be used as a fault pattern as it is).
_SEGMENT = re.compile(r"[A-Za-z0-9._-]{1,255}")


class Mount(NamedTuple):
    """One request's place under the vendor prefix."""

    version: str
    platform: str
    workspace: str
    #: MLflow's own path below the prefix (``/api/2.0/mlflow/runs/create``); ``""`` for the root.
    rest: str

    @property
    def prefix(self) -> str:
        return workspace_prefix(self.platform, self.workspace, self.version)

    @property
    def key(self) -> tuple[str, str]:
        """Which isolated state answers: the (platform, workspace) pair, whatever the version."""
        return self.platform, self.workspace


def parse(path: str) -> Mount | None:
    """The mount of ``path``, or None when it is not under the vendor prefix at all."""
    match = _PREFIX.match(path)
    if match is None:
        return None
    return Mount(match["version"], match["platform"], match["workspace"], match["rest"] or "")


def invalid_segment(mount: Mount) -> str | None:
    """A message naming the first path parameter that is not a valid id, else None."""
    for name, value in (("aiDataPlatformId", mount.platform), ("workspaceKey", mount.workspace)):
        if not _SEGMENT.fullmatch(value):
            return f"Invalid {name}: {value!r}"
    return None


def workspace_prefix(platform: str, workspace: str, version: str = API_VERSION) -> str:
    """The path a client puts after ``http://host:port`` in its tracking URI."""
    return f"/{version}/aiDataPlatforms/{platform}/workspaces/{workspace}/mlops"
