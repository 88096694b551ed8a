"""``fakeflow serve``: run the fake MLflow server in the foreground until interrupted."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from typing import Sequence

from fakeflow.control import ControlledApp
from fakeflow.server import ThreadedServer
from fakeflow.web.app import create_app


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="fakeflow", description="An in-memory fake MLflow server.")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="serve the MLflow REST API over HTTP")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=5000, help="port (default 5000; 0 = any free port)")
    serve.add_argument("--seed", type=int, default=None, help="seed for run ids and names")
    serve.add_argument("--load", metavar="FILE", default=None,
                       help="start from this snapshot (JSON, as written by --save or "
                            "GET /_fakeflow/state)")
    serve.add_argument("--save", metavar="FILE", default=None,
                       help="write a snapshot of the whole state here on shutdown")
    serve.add_argument("--no-control", action="store_true",
                       help="do not serve the control plane under /_fakeflow")
    serve.add_argument("--record", action="store_true",
                       help="keep a log of every request (GET /_fakeflow/requests); grows unbounded")
    return parser


def serve(args: argparse.Namespace) -> int:
    controlled = ControlledApp(create_app(), record=args.record)
    if args.load is not None:
        try:
            controlled.load_file(args.load)
        except (OSError, ValueError) as error:
            print(f"fakeflow: cannot load snapshot {args.load}: {error}", file=sys.stderr)
            return 1
    if args.seed is not None:
        controlled.seed(args.seed)
    app = controlled.app if args.no_control else controlled
    server = ThreadedServer(app, host=args.host, port=args.port)
    try:
        server.start()
    except OSError as error:
        print(f"fakeflow: cannot listen on {args.host}:{args.port}: {error.strerror or error}",
              file=sys.stderr)
        return 1
    print(f"fakeflow listening on {server.url}", flush=True)
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    try:
        stop.wait()
    finally:
        server.stop()
    if args.save is not None:
        controlled.save_file(args.save)
        print(f"fakeflow: state saved to {args.save}", flush=True)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "serve":
        return serve(args)
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
