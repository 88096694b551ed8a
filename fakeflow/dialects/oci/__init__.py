"""The ``oci-aidp`` profile: MLflow as Oracle's AI Data Platform serves it.

Every tracking, registry and artifact route under
``/{apiVersion}/aiDataPlatforms/{aiDataPlatformId}/workspaces/{workspaceKey}/mlops/...``, one
isolated state per (platform, workspace), the vendor's ``opc-*`` headers, ``etag`` and
``{"code", "message"}`` errors. A mapping over the same app and state machine: ``paths`` (the
prefix), ``headers``, ``errors`` (the status/code table), ``retry`` (``opc-retry-token``),
``throttle`` (429 as an injected fault), ``workspaces`` (the router) and ``app`` (the pipeline).
"""

# The names below are loaded on first use (PEP 562), so that ``fakeflow serve`` reading its
# ``--profile`` option does not import the whole profile.
_EXPORTS = {
    "DEFAULT_PLATFORM": "app", "DEFAULT_WORKSPACE": "app", "PROFILE": "options", "OciConfig": "app",
    "OciProfileApp": "app", "create_oci_app": "app",
    "API_VERSION": "paths", "workspace_prefix": "paths",
    "RateLimit": "throttle",
    "TooManyWorkspaces": "workspaces", "Workspace": "workspaces",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> object:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
