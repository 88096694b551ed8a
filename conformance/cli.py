"""``python -m conformance``: check a server against MLflow 3.17.2 semantics.

Exit codes: 0 no failing finding (after waivers and ``--fail-on``), 1 failing findings,
2 usage error or unreachable target, 3 a suite itself crashed (the report is incomplete).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import requests

from . import waivers as waiver_file
from .html_report import to_html
from .profiles import PROFILES, profile
from .report import to_json, to_text
from .runner import RunReport, run
from .suites import all_suites
from .transport import Target, make_target
from .versions import parse_version


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m conformance",
        description="Check an MLflow-compatible server against MLflow 3.17.2: every difference, "
                    "classified, with a minimal curl repro.",
    )
    p.add_argument("--target", help="http(s)://host:port or wsgi:module:attr (e.g. wsgi:fakeflow:create_app)")
    p.add_argument("--against", help="second target: differential mode compares the two")
    p.add_argument("--prefix", default="", help="path prefix under which --target mounts MLflow")
    p.add_argument("--against-prefix", default="", help="path prefix of --against")
    p.add_argument("--auth-header", default=os.environ.get("CONFORMANCE_AUTH"),
                   help="'Name: value' header sent to --target (default $CONFORMANCE_AUTH)")
    p.add_argument("--against-auth-header", default=os.environ.get("CONFORMANCE_AGAINST_AUTH"),
                   help="header sent to --against (default $CONFORMANCE_AGAINST_AUTH)")
    p.add_argument("--error-shape", choices=["mlflow", "oci"], default="mlflow",
                   help="how --target words its errors: 'oci' = Oracle AI Data Platform's "
                        "{code, message}, read back as MLflow's before comparing")
    p.add_argument("--against-error-shape", choices=["mlflow", "oci"], default="mlflow",
                   help="how --against words its errors")
    p.add_argument("--suite", action="append", dest="suites", metavar="NAME",
                   help="run only this suite (repeatable); see --list")
    p.add_argument("--profile", choices=sorted(PROFILES), default="ci")
    p.add_argument("--max-examples", type=int, help="override the profile's example count")
    p.add_argument("--steps", type=int, help="override the profile's steps per example")
    p.add_argument("--seed", type=int, help="seed for non-derandomized profiles (reproduce a deep run)")
    p.add_argument("--cases-only", action="store_true",
                   help="run only the explicit cases (no random exploration)")
    p.add_argument("--no-shrink", action="store_true", help="do not shrink findings (faster)")
    p.add_argument("--mlflow-version", metavar="X.Y",
                   help="the MLflow version the server follows: fields MLflow added later are "
                        "reported as informational")
    p.add_argument("--strict", action="store_true",
                   help="message text and later-added fields fail the run too")
    p.add_argument("--waivers", action="append", type=Path, metavar="FILE",
                   help="JSON file of accepted differences, each with a reason (repeatable)")
    p.add_argument("--known-divergences", type=Path, metavar="FILE",
                   help="older name of --waivers (one file)")
    p.add_argument("--fail-on", choices=["fail", "any", "never"], default="fail",
                   help="exit 1 on failing findings (default), on any unwaived finding "
                        "(informational too), or never")
    p.add_argument("--json", type=Path, dest="json_path", help="also write a JSON report here")
    p.add_argument("--html", type=Path, dest="html_path", help="also write an HTML report here")
    p.add_argument("--quiet", action="store_true", help="print only the summary lines")
    p.add_argument("--list", action="store_true", help="list the suites and exit")
    return p


def _preflight(target: Target) -> None:
    """Fail fast (exit 2) on an unreachable target instead of six suites of stack traces."""
    try:
        target.send("GET", "experiments/search", query={"max_results": 1})
    except requests.RequestException as exc:
        raise ConnectionError(f"cannot reach {target.name}: {exc}") from None


def exit_code(report: RunReport, fail_on: str = "fail") -> int:
    if report.errors:
        return 3
    if fail_on == "never":
        return 0
    if fail_on == "any":
        return 1 if report.count("fail") + report.count("info") else 0
    return 0 if report.passed else 1


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
        if args.mlflow_version:
            parse_version(args.mlflow_version)
        targets = [make_target(args.target, args.prefix, args.auth_header, args.error_shape)]
        if args.against:
            targets.append(make_target(args.against, args.against_prefix,
                                       args.against_auth_header, args.against_error_shape))
        for target in targets:
            _preflight(target)
        files = list(args.waivers or []) + ([args.known_divergences] if args.known_divergences else [])
        waivers = waiver_file.load_many(files)
        settings = profile(args.profile, max_examples=args.max_examples, steps=args.steps)
        report = run(targets, settings, suites=args.suites, waivers=waivers,
                     profile=args.profile, seed=args.seed, mlflow_version=args.mlflow_version,
                     strict=args.strict, explore=not args.cases_only,
                     shrink_findings=not args.no_shrink)
    except (ValueError, KeyError, ImportError, ConnectionError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    finally:
        for target in locals().get("targets", []):
            target.close()
    text = to_text(report)
    if args.quiet:
        text = "\n".join(text.splitlines()[:len(report.results) + 4] + [text.splitlines()[-1]])
    print(text)
    if args.json_path:
        args.json_path.write_text(to_json(report))
    if args.html_path:
        args.html_path.write_text(to_html(report))
    return exit_code(report, args.fail_on)
