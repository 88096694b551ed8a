"""``fakeflow serve --ui [--ui-build DIR]`` and ``fakeflow fetch-ui``: the command line of the UI."""

from __future__ import annotations

import argparse
import subprocess
import sys
from typing import Any

from fakeflow.ui import EXPECTED_VERSION


def add_arguments(serve: argparse.ArgumentParser) -> None:
    serve.add_argument("--ui", action="store_true",
                       help="also serve MLflow's own web UI at / (from an installed mlflow "
                            f"package, or `fakeflow fetch-ui`; made for MLflow {EXPECTED_VERSION})")
    serve.add_argument("--ui-build", metavar="DIR", default=None,
                       help="serve the UI build in DIR (mlflow/server/js/build) instead; implies --ui")


def add_fetch_command(commands: Any) -> None:
    fetch = commands.add_parser("fetch-ui", help="download MLflow's web UI build (from the mlflow "
                                                 "wheel on PyPI, without its dependencies)")
    fetch.add_argument("--version", default=EXPECTED_VERSION, help=argparse.SUPPRESS)


def wrap(args: argparse.Namespace, app: Any, security: Any) -> Any | None:
    """``app`` behind the UI when asked for; None (after a message) when no build is found."""
    if not (args.ui or args.ui_build):
        return app
    from fakeflow.ui.build import UiBuildMissing, find_ui_build  # only when the UI is asked for
    from fakeflow.ui.static import UiApp

    try:
        build = find_ui_build(args.ui_build)
    except UiBuildMissing as error:
        print(f"fakeflow: {error}", file=sys.stderr)
        return None
    if build.version_warning:
        print(build.version_warning, file=sys.stderr, flush=True)
    return UiApp(app, build, security)


def fetch(args: argparse.Namespace) -> int:
    from fakeflow.ui.build import UiBuildMissing, fetch_ui

    try:
        where = fetch_ui(version=args.version)
    except (UiBuildMissing, subprocess.CalledProcessError, OSError) as error:
        print(f"fakeflow: could not fetch the UI: {error}", file=sys.stderr)
        return 1
    print(f"fakeflow: MLflow {args.version} UI in {where}; `fakeflow serve --ui` serves it")
    return 0
