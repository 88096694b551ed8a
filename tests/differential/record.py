"""Record the whole catalogue against one server: ``python -m tests.differential.record``.

    python -m tests.differential.record --target http://127.0.0.1:5000 --out /tmp/golden.json

Each entry holds the concrete request, the raw answer and its normalised body, so the file
can be read as "what real MLflow says" for every catalogue request.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

from .catalogue import all_cases
from .harness import CaseOutcome, Side, new_suffix, run_case


def outcome_record(outcome: CaseOutcome) -> dict[str, Any]:
    steps = []
    for step in outcome.steps:
        exchange = step.exchanges[0]
        sent = exchange.sent
        steps.append({
            "index": step.index,
            "note": step.step.note,
            "relax": sorted(step.step.relax),
            "request": {
                "method": sent.method,
                "url": sent.url,
                "query": sent.query,
                "headers": sent.headers,
                "body": sent.body,
            },
            "response": exchange.reply.as_record(),
            "normalised": exchange.normalised,
        })
    return {"case": outcome.case.name, "doc": outcome.case.doc, "steps": steps}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", required=True, help="base URL of the server")
    parser.add_argument("--out", required=True, help="JSON file to write")
    parser.add_argument("--case", action="append", help="only these case names (repeatable)")
    args = parser.parse_args(argv)
    cases = [c for c in all_cases() if not args.case or c.name in args.case]
    side = Side("target", args.target, new_suffix())
    started = time.monotonic()
    records = [outcome_record(run_case(case, [side])) for case in cases]
    with open(args.out, "w") as handle:
        json.dump({"target": args.target, "suffix": side.suffix, "cases": records}, handle, indent=1)
    requests_sent = sum(len(r["steps"]) for r in records)
    print(f"{len(records)} cases, {requests_sent} requests in {time.monotonic() - started:.1f}s -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
