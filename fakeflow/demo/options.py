"""``fakeflow serve --demo`` and ``fakeflow demo --save FILE | --target URL``."""

from __future__ import annotations

import argparse
import sys
from typing import Any



def add_arguments(serve: argparse.ArgumentParser) -> None:
    serve.add_argument("--demo", action="store_true",
                       help="start with the demo workspace (experiments, runs with metric curves, "
                            "artifacts, registered models, prompts)")


def add_command(commands: Any) -> None:
    demo = commands.add_parser("demo", help="build the demo workspace into a snapshot file or "
                                            "into a running MLflow-compatible server")
    where = demo.add_mutually_exclusive_group(required=True)
    where.add_argument("--save", metavar="FILE", help="write it as a fakeflow snapshot (JSON)")
    where.add_argument("--target", metavar="URL",
                       help="build it on this server through its REST API (e.g. a real mlflow "
                            "server on 127.0.0.1)")


def fill(args: argparse.Namespace, app: Any) -> bool:
    """Build the demo into ``app`` when ``--demo`` was given; False (after a message) on failure."""
    if not getattr(args, "demo", False):
        return True
    from fakeflow.client import MlflowApiError
    from fakeflow.demo.workspace import fill_in_process

    try:
        fill_in_process(app)
    except MlflowApiError as error:
        print(f"fakeflow: cannot build the demo here ({error}); start from an empty state "
              "(no --load) to use --demo", file=sys.stderr)
        return False
    return True


def run(args: argparse.Namespace) -> int:
    import requests

    from fakeflow.client import MlflowApiError, RestClient
    from fakeflow.demo.dataset import build_demo
    from fakeflow.demo.workspace import fill_in_process

    if args.target:
        try:
            summary = build_demo(RestClient(args.target))
        except (MlflowApiError, requests.RequestException) as error:
            print(f"fakeflow: could not build the demo on {args.target}: {error}", file=sys.stderr)
            return 1
        print(f"fakeflow: demo built on {args.target}: {len(summary.runs)} runs in "
              f"{len(summary.experiments)} experiments")
        return 0
    from fakeflow.control import ControlledApp

    controlled = ControlledApp()
    fill_in_process(controlled)
    controlled.save_file(args.save)
    print(f"fakeflow: demo saved to {args.save}")
    return 0
