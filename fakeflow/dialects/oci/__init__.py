"""The ``oci-aidp`` profile: MLflow as Oracle's AI Data Platform serves it.

Every tracking, registry and artifact route under
``/{apiVersion}/aiDataPlatforms/{aiDataPlatformId}/workspaces/{workspaceKey}/mlops/...``, one
isolated state per (platform, workspace), the vendor's ``opc-*`` headers, ``etag`` and
``{"code", "message"}`` errors. A mapping over the same app and state machine: ``paths`` (the
prefix), ``headers``, ``errors`` (the status/code table), ``retry`` (``opc-retry-token``),
``throttle`` (429 as an injected fault), ``workspaces`` (the router) and ``app`` (the pipeline).
"""

from fakeflow.dialects.oci.app import (
    DEFAULT_PLATFORM,
    DEFAULT_WORKSPACE,
    PROFILE,
    OciConfig,
    OciProfileApp,
    create_oci_app,
)
from fakeflow.dialects.oci.paths import API_VERSION, workspace_prefix
from fakeflow.dialects.oci.throttle import RateLimit
from fakeflow.dialects.oci.workspaces import TooManyWorkspaces, Workspace

__all__ = ["API_VERSION", "DEFAULT_PLATFORM", "DEFAULT_WORKSPACE", "PROFILE", "OciConfig",
           "OciProfileApp", "RateLimit", "TooManyWorkspaces", "Workspace", "create_oci_app",
           "workspace_prefix"]
