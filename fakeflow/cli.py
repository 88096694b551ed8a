"""``fakeflow serve``: run the fake MLflow server in the foreground until interrupted."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from typing import Callable, Sequence

from fakeflow.demo import options as demo_options
from fakeflow.dialects.oci import options as oci_options
from fakeflow.listener import Limits
from fakeflow.server import ThreadedServer
from fakeflow.ui import options as ui_options
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
    serve.add_argument("--allowed-hosts", default=None,
                       help="comma-separated Host patterns, as mlflow server (default: "
                            "$MLFLOW_SERVER_ALLOWED_HOSTS, else loopback and private addresses)")
    serve.add_argument("--cors-allowed-origins", default=None,
                       help="comma-separated origins allowed to write, as mlflow server "
                            "(default: $MLFLOW_SERVER_CORS_ALLOWED_ORIGINS, else loopback only)")
    serve.add_argument("--legacy-routes", action="store_true",
                       help="also serve the routes of MLflow's older REST documentation that "
                            "3.17.2 answers with 404 (experiments/list, the 2.0 preview "
                            "model registry), over the same state")
    serve.add_argument("--no-comet", action="store_true",
                       help="do not serve comet-ml's REST API (/api/rest/v2, /clientlib) over "
                            "the same state")
    serve.add_argument("--comet-workspace", default=None, metavar="NAME",
                       help="the Comet dialect's one workspace (default: fakeflow)")
    serve.add_argument("--comet-api-key", default=None, metavar="KEY",
                       help="the Comet dialect accepts only this key (default: any key)")
    _add_bounds(serve)
    ui_options.add_arguments(serve)
    demo_options.add_arguments(serve)
    oci_options.add_arguments(serve)
    ui_options.add_fetch_command(commands)
    demo_options.add_command(commands)
    return parser


def _positive(kind: type) -> Callable[[str], float]:
    def parse(text: str) -> float:
        value = kind(text)
        if value <= 0:
            raise argparse.ArgumentTypeError(f"must be positive, not {text}")
        return value
    return parse


def _add_bounds(serve: argparse.ArgumentParser) -> None:
    """The HTTP server's resource bounds (``fakeflow.listener.Limits``), and the artifact store's."""
    serve.add_argument("--max-artifact-bytes", type=_positive(int), default=None, metavar="BYTES",
                       help="largest artifact file accepted (413 beyond it; default 1 GiB)")
    serve.add_argument("--max-artifact-store-bytes", type=_positive(int), default=None,
                       metavar="BYTES", help="bytes all artifacts may take together (default 4 GiB)")
    serve.add_argument("--max-connections", type=_positive(int), default=Limits.max_connections,
                       metavar="N", help="connections served at once; more wait for a free slot "
                                         f"(default {Limits.max_connections})")
    serve.add_argument("--timeout", type=_positive(float), default=Limits.request_timeout,
                       metavar="SECONDS", help="time a request's head, then its body, may take to "
                                               "arrive before the connection is closed "
                                               f"(default {Limits.request_timeout:g})")
    serve.add_argument("--keep-alive-timeout", type=_positive(float),
                       default=Limits.keep_alive_timeout, metavar="SECONDS",
                       help="time an idle kept-alive connection is held open "
                            f"(default {Limits.keep_alive_timeout:g})")


def _comet_options(args: argparse.Namespace) -> dict[str, object]:
    options: dict[str, object] = {"comet": not args.no_comet}
    if args.comet_workspace is not None:
        options["comet_workspace"] = args.comet_workspace
    if args.comet_api_key is not None:
        options["comet_api_key"] = args.comet_api_key
    return options


def serve(args: argparse.Namespace) -> int:
    base = create_app(allowed_hosts=args.allowed_hosts,
                      cors_allowed_origins=args.cors_allowed_origins,
                      max_artifact_bytes=args.max_artifact_bytes,
                      max_artifact_store_bytes=args.max_artifact_store_bytes,
                      legacy_routes=args.legacy_routes,
                      **_comet_options(args))
    controlled = oci_options.serve_app(args, base, record=args.record)
    if args.load is not None:
        try:
            controlled.load_file(args.load)
        except (OSError, ValueError) as error:
            print(f"fakeflow: cannot load snapshot {args.load}: {error}", file=sys.stderr)
            return 1
    if args.seed is not None:
        controlled.seed(args.seed)
    if not demo_options.fill(args, controlled):
        return 1
    app = oci_options.without_control(controlled) if args.no_control else controlled
    app = ui_options.wrap(args, app, base.security)
    if app is None:
        return 1
    server = ThreadedServer(app, host=args.host, port=args.port,
                            max_connections=args.max_connections,
                            request_timeout=args.timeout,
                            keep_alive_timeout=args.keep_alive_timeout)
    try:
        server.start()
    except OSError as error:
        print(f"fakeflow: cannot listen on {args.host}:{args.port}: {error.strerror or error}",
              file=sys.stderr)
        return 1
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):  # before the URL line: a reader may stop us at once
        signal.signal(signum, lambda *_: stop.set())
    if server.exposure is not None:
        print(f"fakeflow: WARNING: listening on {server.exposure}, port {server.port}: anyone who "
              "can reach it can read and change all of the fake's data (there is no "
              "authentication). Use --host 127.0.0.1 to stay on this machine.",
              file=sys.stderr, flush=True)
    print(f"fakeflow listening on {server.url}", flush=True)
    note = oci_options.tracking_note(controlled, server.url)
    if note:
        print(note, flush=True)
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
    if args.command == "fetch-ui":
        return ui_options.fetch(args)
    if args.command == "demo":
        return demo_options.run(args)
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
