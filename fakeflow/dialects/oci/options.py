"""``fakeflow serve --profile oci-aidp`` and its options; the same choice for other callers."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from fakeflow.control.middleware import ControlledApp
from fakeflow.web.app import FakeflowApp

if TYPE_CHECKING:
    from fakeflow.dialects.oci.app import OciConfig, OciProfileApp

# The profile itself is imported only when asked for (``fakeflow serve`` starts faster).
PROFILE = "oci-aidp"
PROFILES = (PROFILE,)


def _profile_app(controlled: ControlledApp) -> OciProfileApp | None:
    """``controlled`` if it is the profile's app; no instance can exist before its module loads."""
    module = sys.modules.get("fakeflow.dialects.oci.app")
    return controlled if module is not None and isinstance(controlled, module.OciProfileApp) else None


def parse_rate_limit(text: str) -> tuple[int, float]:
    """``"5/1"`` or ``"5/0.5"``: limit requests per that many seconds; ``"5"`` per second."""
    from fakeflow.dialects.oci.app import OciConfig

    limit_text, _, per_text = text.partition("/")
    try:
        limit, per = int(limit_text), float(per_text or "1")
        OciConfig(rate_limit=(limit, per))
    except ValueError as error:
        raise argparse.ArgumentTypeError(
            f"rate limit must be N or N/SECONDS with N >= 1, SECONDS > 0: {text!r} ({error})"
        ) from None
    return limit, per


def add_arguments(serve: argparse.ArgumentParser) -> None:
    group = serve.add_argument_group("vendor profile")
    group.add_argument("--profile", choices=PROFILES, default=None,
                       help="serve MLflow as a vendor does: 'oci-aidp' = Oracle AI Data "
                            "Platform paths, opc-* headers and {code, message} errors")
    group.add_argument("--oci-no-plain-routes", action="store_true",
                       help="oci-aidp: answer only under the vendor prefix (and /_fakeflow)")
    group.add_argument("--oci-require-auth", action="store_true",
                       help="oci-aidp: 401 NotAuthenticated without an authorization header")
    group.add_argument("--oci-rate-limit", type=parse_rate_limit, default=None,
                       metavar="N[/SECONDS]",
                       help="oci-aidp: at most N requests per SECONDS (default 1) per "
                            "workspace, then 429 TooManyRequests")
    group.add_argument("--oci-mlflow-error-code", action="store_true",
                       help="oci-aidp: also keep MLflow's error_code in error bodies (MLflow's "
                            "client needs it, e.g. for mlflow.set_experiment of a new name)")
    group.add_argument("--oci-max-workspaces", type=int, default=None, metavar="N",
                       help="oci-aidp: workspaces held at once (default 100; one more: 400 "
                            "LimitExceeded)")


def config_from_args(args: argparse.Namespace) -> OciConfig:
    from fakeflow.dialects.oci.app import OciConfig

    options: dict[str, Any] = {
        "plain_routes": not getattr(args, "oci_no_plain_routes", False),
        "require_auth": bool(getattr(args, "oci_require_auth", False)),
        "rate_limit": getattr(args, "oci_rate_limit", None),
        "mlflow_error_code": bool(getattr(args, "oci_mlflow_error_code", False)),
    }
    if getattr(args, "oci_max_workspaces", None) is not None:
        options["max_workspaces"] = args.oci_max_workspaces
    return OciConfig(**options)


def controlled_app(profile: str | None, app: FakeflowApp, *, record: bool = True,
                   config: OciConfig | None = None) -> ControlledApp:
    """The plain fake (``profile=None``) or the named vendor profile over ``app``."""
    if profile is None:
        return ControlledApp(app, record=record)
    if profile != PROFILE:
        raise ValueError(f"unknown profile {profile!r}; known: {', '.join(PROFILES)}")
    from fakeflow.dialects.oci.app import OciProfileApp

    return OciProfileApp(app, config, record=record)


def serve_app(args: argparse.Namespace, app: FakeflowApp, *, record: bool) -> ControlledApp:
    """What ``fakeflow serve`` runs, from its parsed arguments."""
    profile = getattr(args, "profile", None)
    config = config_from_args(args) if profile else None
    return controlled_app(profile, app, record=record, config=config)


def without_control(controlled: ControlledApp) -> Any:
    """The WSGI app to serve with ``--no-control``: the plain app, or the profile with its
    control plane switched off (its dialect stays)."""
    profile_app = _profile_app(controlled)
    if profile_app is not None:
        profile_app.serve_control = False
        return profile_app
    return controlled.app


def tracking_path(controlled: ControlledApp) -> str:
    """The path a client adds to the server's URL: a profile's default mount, else ``""``."""
    profile_app = _profile_app(controlled)
    return profile_app.tracking_path() if profile_app is not None else ""


def tracking_note(controlled: ControlledApp, url: str) -> str | None:
    """The line ``fakeflow serve`` prints for a profile: where to point an MLflow client."""
    profile_app = _profile_app(controlled)
    if profile_app is not None:
        return (f"fakeflow: profile {PROFILE}: MLflow tracking URI {url}"
                f"{profile_app.tracking_path()} (any /{{apiVersion}}/aiDataPlatforms/{{id}}/"
                f"workspaces/{{key}}/mlops works; each workspace is its own state)")
    return None
