"""The command line every sized benchmark shares: ``--quick``, ``--tiny``, ``--no-real``,
``--json FILE``, a config picked from them (plus the benchmark's own size options), progress
on stderr and the report on stdout."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar

C = TypeVar("C")


def parser(module: str, doc: str | None, quick: str, tiny: str) -> argparse.ArgumentParser:
    """The shared options; the caller adds its own before parsing."""
    result = argparse.ArgumentParser(prog=f"python -m benchmarks.{module}", description=doc,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    result.add_argument("--quick", action="store_true", help=quick)
    result.add_argument("--tiny", action="store_true", help=tiny)
    result.add_argument("--no-real", action="store_true", help="skip real MLflow")
    result.add_argument("--json", metavar="FILE", help="also write every figure as JSON")
    return result


def config(args: argparse.Namespace, full: C, quick: C, tiny: C, **sizes: str) -> C:
    """``full``, ``quick`` or ``tiny`` as the flags say, without real MLflow on ``--no-real``,
    with each config field in ``sizes`` set from the argument named beside it when given."""
    chosen = tiny if args.tiny else quick if args.quick else full
    changes: dict[str, Any] = {"real": False} if args.no_real else {}
    changes.update({field: getattr(args, name) for field, name in sizes.items()
                    if getattr(args, name, None)})
    return replace(chosen, **changes) if changes else chosen  # type: ignore[type-var]


def progress(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def report(text: str, results: Any, json_file: str | None) -> None:
    print(text)
    if json_file:
        Path(json_file).write_text(json.dumps(results, indent=2) + "\n")


__all__: list[str] = ["config", "parser", "progress", "report"]
