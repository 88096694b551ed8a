"""Diff two servers over the catalogue: ``python -m tests.differential.diff``.

    python -m tests.differential.diff --expected http://real --actual http://fake [--out FILE]
    python -m tests.differential.diff --expected http://real --actual inprocess

``inprocess`` starts fakeflow in this process. Giving the same URL twice (with distinct
suffixes) diffs a server against itself, which checks that the normalisation is stable.
"""

from __future__ import annotations

import argparse
import sys
import time

from .catalogue import all_cases
from .harness import Side, new_suffix, run_case


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--expected", required=True)
    parser.add_argument("--actual", required=True)
    parser.add_argument("--out")
    parser.add_argument("--case", action="append")
    args = parser.parse_args(argv)
    server = None
    actual_url = args.actual
    if actual_url == "inprocess":
        import fakeflow
        from fakeflow.server import ThreadedServer

        server = ThreadedServer(fakeflow.create_app()).start()
        actual_url = server.url
    same = args.expected.rstrip("/") == actual_url.rstrip("/")
    suffix = new_suffix()
    sides = [
        Side("expected", args.expected, suffix),
        Side("actual", actual_url, new_suffix() if same else suffix),
    ]
    cases = [c for c in all_cases() if not args.case or c.name in args.case]
    started = time.monotonic()
    lines: list[str] = []
    requests_sent = 0
    try:
        for case in cases:
            outcome = run_case(case, sides)
            requests_sent += len(outcome.steps)
            lines.extend(outcome.diffs)
    finally:
        if server is not None:
            server.stop()
    summary = (
        f"{len(cases)} cases, {requests_sent} requests, {len(lines)} differences "
        f"({time.monotonic() - started:.1f}s)"
    )
    text = "\n".join(lines + [summary]) + "\n"
    if args.out:
        header = (
            f"# {time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime())}: {args.actual} vs {args.expected}\n"
            "# line format: [case] step N METHOD path  # note: difference (want <expected>)\n"
            "# reproduce one case: python -m tests.differential.diff --expected URL --actual inprocess "
            "--case NAME\n"
        )
        text = header + text
        with open(args.out, "w") as handle:
            handle.write(text)
    print(text if len(text) < 20000 else text[-20000:])
    return 1 if lines else 0


if __name__ == "__main__":
    sys.exit(main())
