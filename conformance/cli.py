"""``python -m conformance``: check a server against MLflow 3.17.2 semantics."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import requests

from . import divergences
from .profiles import PROFILES, profile
from .report import to_json, to_text
from .runner import run
from .suites import all_suites
from .transport import Target, make_target


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m conformance",
        description="Run Hypothesis conformance suites against an MLflow-compatible server.",
    )
    p.add_argument("--target", help="http(s)://host:port or wsgi:module:attr (e.g. wsgi:fakeflow:create_app)")
    p.add_argument("--against", help="second target: differential mode compares the two")
    p.add_argument("--prefix", default="", help="path prefix under which --target mounts MLflow")
    p.add_argument("--against-prefix", default="", help="path prefix of --against")
    p.add_argument("--auth-header", default=os.environ.get("CONFORMANCE_AUTH"),
                   help="'Name: value' header sent to --target (default $CONFORMANCE_AUTH)")
    p.add_argument("--against-auth-header", default=os.environ.get("CONFORMANCE_AGAINST_AUTH"),
                   help="header sent to --against (default $CONFORMANCE_AGAINST_AUTH)")
    p.add_argument("--suite", action="append", dest="suites", metavar="NAME",
                   help="run only this suite (repeatable); see --list")
    p.add_argument("--profile", choices=sorted(PROFILES), default="ci")
    p.add_argument("--max-examples", type=int, help="override the profile's example count")
    p.add_argument("--steps", type=int, help="override the profile's steps per example")
    p.add_argument("--seed", type=int, help="seed for non-derandomized profiles (reproduce a deep run)")
    p.add_argument("--known-divergences", type=Path, default=divergences.DEFAULT_FILE,
                   help="JSON file of allowed differences (differential mode)")
    p.add_argument("--json", type=Path, dest="json_path", help="also write a JSON report here")
    p.add_argument("--list", action="store_true", help="list the suites and exit")
    return p


def _preflight(target: Target) -> None:
    """Fail fast (exit 2) on an unreachable target instead of six suites of stack traces."""
    try:
        target.send("GET", "experiments/search", query={"max_results": 1})
    except requests.RequestException as exc:
        raise ConnectionError(f"cannot reach {target.name}: {exc}") from None


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.list:
        for suite in all_suites().values():
            print(f"{suite.name:<12} {suite.description}")
        return 0
    if not args.target:
        print("error: --target is required", file=sys.stderr)
        return 2
    try:
        targets = [make_target(args.target, args.prefix, args.auth_header)]
        if args.against:
            targets.append(make_target(args.against, args.against_prefix, args.against_auth_header))
        for target in targets:
            _preflight(target)
        known = divergences.load(args.known_divergences)
        settings = profile(args.profile, max_examples=args.max_examples, steps=args.steps)
        report = run(targets, settings, suites=args.suites, known=known,
                     profile=args.profile, seed=args.seed)
    except (ValueError, KeyError, ImportError, ConnectionError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    finally:
        for target in locals().get("targets", []):
            target.close()
    print(to_text(report))
    if args.json_path:
        args.json_path.write_text(to_json(report))
    return 0 if report.passed else 1
