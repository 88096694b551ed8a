"""Deliberately broken variants of fakeflow, for proving that the conformance suites can fail.

Each mutant is WSGI middleware around an unmodified fakeflow app that alters requests or
answers the way a plausible bug would. Nothing in fakeflow is edited.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Callable, Iterable

from werkzeug.test import Client
from werkzeug.wrappers import Request

WsgiApp = Callable[..., Iterable[bytes]]
API = "/api/2.0/mlflow/"


class JsonMiddleware:
    """Forwards every request; lets a subclass rewrite the JSON request body or answer."""

    def __init__(self, app: WsgiApp) -> None:
        self.app = app
        self.client = Client(app)

    def rewrite_request(self, path: str, body: Any) -> Any:
        return body

    def rewrite_answer(self, path: str, method: str, request: Any, status: int,
                       answer: Any) -> tuple[int, Any]:
        return status, answer

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        request = Request(environ)
        path = request.path
        raw = request.get_data()
        try:
            req_json = json.loads(raw) if raw else None
        except ValueError:
            req_json = None
        if req_json is not None:
            new = self.rewrite_request(path, req_json)
            if new is not req_json:
                raw = json.dumps(new).encode()
                req_json = new
        resp = self.client.open(path, method=request.method, query_string=request.query_string.decode("latin-1"),
                                data=raw, headers=[(k, v) for k, v in request.headers.items()
                                                   if k.lower() != "content-length"])
        status, text = resp.status_code, resp.get_data()
        headers = [(k, v) for k, v in resp.headers.items() if k.lower() != "content-length"]
        resp.close()
        try:
            answer = json.loads(text)
        except ValueError:
            answer = None
        if answer is not None:
            before = json.dumps(answer, sort_keys=True)
            query = request.args.to_dict(flat=True)
            status, answer = self.rewrite_answer(path, request.method, req_json or query,
                                                 status, answer)
            if json.dumps(answer, sort_keys=True) != before:  # rewritten (maybe in place)
                text = json.dumps(answer, indent=2).encode()
        headers.append(("Content-Length", str(len(text))))
        start_response(f"{status} {_REASONS.get(status, 'STATUS')}", headers)
        return [text]


_REASONS = {200: "OK", 400: "BAD REQUEST", 404: "NOT FOUND", 409: "CONFLICT", 500: "INTERNAL SERVER ERROR"}


class WrongErrorCode(JsonMiddleware):
    """Duplicate experiment names answered 409 (the HTTP-conventional code), not MLflow's 400."""

    def rewrite_answer(self, path, method, request, status, answer):
        if isinstance(answer, dict) and answer.get("error_code") == "RESOURCE_ALREADY_EXISTS":
            return 409, answer
        return status, answer


class LatestByTimestamp(JsonMiddleware):
    """Latest metric value chosen by timestamp first (MLflow orders by step first)."""

    def rewrite_answer(self, path, method, request, status, answer):
        if status != 200 or path not in (API + "runs/get", API + "runs/search"):
            return status, answer
        runs = [answer.get("run")] if "run" in answer else answer.get("runs", [])
        for run in runs:
            metrics = (run or {}).get("data", {}).get("metrics")
            for i, metric in enumerate(metrics or []):
                hist = self.client.get(API + "metrics/get-history", query_string={
                    "run_id": run["info"]["run_id"], "metric_key": metric["key"]}).get_json()
                points = hist.get("metrics", [])
                if points:
                    best = max(points, key=lambda p: (p["timestamp"], p["step"]))
                    metrics[i] = {k: best[k] for k in ("key", "value", "timestamp", "step")}
        return status, answer


class PagingOffByOne(JsonMiddleware):
    """A page that has a successor loses its last row (the classic ``[start:end-1]`` slip)."""

    def rewrite_answer(self, path, method, request, status, answer):
        if status == 200 and isinstance(answer, dict) and answer.get("next_page_token"):
            for key in ("runs", "experiments", "metrics"):
                if answer.get(key):
                    answer[key] = answer[key][:-1]
        return status, answer


class LostBatchTags(JsonMiddleware):
    """LogBatch silently drops its tags."""

    def rewrite_request(self, path, body):
        if path == API + "runs/log-batch" and isinstance(body, dict) and "tags" in body:
            return {k: v for k, v in body.items() if k != "tags"}
        return body


class MissingUserId(JsonMiddleware):
    """Run info omits ``user_id`` when it is empty (proto3 habits; MLflow emits ``""``)."""

    def rewrite_answer(self, path, method, request, status, answer):
        def strip(info: Any) -> None:
            if isinstance(info, dict) and info.get("user_id") == "":
                del info["user_id"]
        if status == 200 and isinstance(answer, dict):
            strip(answer.get("run_info"))
            strip((answer.get("run") or {}).get("info"))
            for run in answer.get("runs", []):
                strip(run.get("info"))
        return status, answer


class MissingRoute:
    """No ``experiments/delete-experiment-tag`` route (an older MLflow): an HTML 404 page."""

    def __init__(self, app: WsgiApp) -> None:
        self.app = app

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        if environ.get("PATH_INFO", "").endswith(API + "experiments/delete-experiment-tag"):
            body = b"<!doctype html><title>404 Not Found</title><h1>Not Found</h1>"
            start_response("404 NOT FOUND", [("Content-Type", "text/html; charset=utf-8"),
                                             ("Content-Length", str(len(body)))])
            return [body]
        return self.app(environ, start_response)


class Reworded(JsonMiddleware):
    """Error messages for unknown runs worded differently (same status and error_code)."""

    def rewrite_answer(self, path, method, request, status, answer):
        message = answer.get("message") if isinstance(answer, dict) else None
        if isinstance(message, str) and message.startswith("Run with id="):
            answer["message"] = message.replace("Run with id=", "Run '").replace(
                " not found", "' does not exist")
        return status, answer


class Int64AsString(JsonMiddleware):
    """Run start times and experiment creation times sent as JSON strings (the proto3 JSON
    mapping of int64), not numbers."""

    def rewrite_answer(self, path, method, request, status, answer):
        def fix(obj: Any) -> None:
            if isinstance(obj, dict):
                for key, value in obj.items():
                    if key in ("start_time", "creation_time") and isinstance(value, int):
                        obj[key] = str(value)
                    else:
                        fix(value)
            elif isinstance(obj, list):
                for item in obj:
                    fix(item)
        if status == 200:
            fix(answer)
        return status, answer


class ListingDropsEmptyFiles(JsonMiddleware):
    """Artifact listings (a run's and the proxy's) leave out empty files (a size-0 entry
    mistaken for "nothing there")."""

    def rewrite_answer(self, path, method, request, status, answer):
        if status == 200 and path in (API + "artifacts/list", ARTIFACTS_PROXY) and \
                isinstance(answer, dict) and isinstance(answer.get("files"), list):
            kept = [f for f in answer["files"] if f.get("is_dir") or f.get("file_size")]
            if kept:
                answer["files"] = kept
            else:
                del answer["files"]
        return status, answer


ARTIFACTS_PROXY = "/api/2.0/mlflow-artifacts/artifacts"


def _fakeflow_store(app: Any) -> Any:
    while not hasattr(app, "store"):
        app = app.app  # through wrapping middleware
    return app.store


def reuse_version_numbers(app: WsgiApp) -> WsgiApp:
    """Deleting a model version removes its row outright, so the next version created takes
    the highest remaining number plus one: a deleted version's number is handed out again.
    (fakeflow's registry store is patched on this one app instance only.)"""
    registry = _fakeflow_store(app).registry
    original = registry.delete_model_version

    def hard_delete(name: str, version: str) -> None:
        original(name, version)
        with registry.lock:
            registry.models[name].versions.pop(int(version), None)

    registry.delete_model_version = hard_delete
    return app


@dataclass(frozen=True)
class Mutant:
    name: str
    middleware: Callable[[WsgiApp], WsgiApp]
    suites: tuple[str, ...]  # the suites expected to notice it
    kinds: tuple[str, ...] = ()  # the finding kinds it must be reported with


MUTANTS = [
    Mutant("wrong-error-code", WrongErrorCode, ("experiments", "errors"), ("status",)),
    Mutant("latest-metric-by-timestamp", LatestByTimestamp, ("metrics",), ("value",)),
    Mutant("paging-off-by-one", PagingOffByOne, ("metrics", "search"), ("value",)),
    Mutant("lost-batch-tags", LostBatchTags, ("params_tags",), ("value",)),
    Mutant("missing-user-id", MissingUserId, ("runs",), ("shape",)),
    Mutant("missing-route", MissingRoute, ("experiments",), ("missing_route",)),
    Mutant("reworded-message", Reworded, ("errors",), ("message",)),
    Mutant("int64-as-string", Int64AsString, ("experiments", "runs"), ("shape",)),
    Mutant("reused-version-number", reuse_version_numbers, ("registry",), ("value",)),
    Mutant("listing-drops-empty-files", ListingDropsEmptyFiles, ("artifacts",), ("value",)),
]


def _model_metrics_keep_latest_only(app: WsgiApp) -> WsgiApp:
    from tests.conformance_mutants.logged_models import ModelMetricsKeepLatestOnly

    return ModelMetricsKeepLatestOnly(app)


MUTANTS.append(Mutant("logged-model-metrics-keep-latest-only", _model_metrics_keep_latest_only,
                      ("logged_models",), ("value",)))


def _trace_search_ignores_tags(app: WsgiApp) -> WsgiApp:
    from tests.conformance_mutants.traces import SearchIgnoresTagFilter

    return SearchIgnoresTagFilter(app)


def _overrides_keep_target_valid(app: WsgiApp) -> WsgiApp:
    from tests.conformance_mutants.traces import OverridesKeepTargetValid

    return OverridesKeepTargetValid(app)


MUTANTS += [
    Mutant("trace-search-ignores-tag-filter", _trace_search_ignores_tags, ("traces",),
           ("value",)),
    Mutant("trace-overrides-keep-target-valid", _overrides_keep_target_valid, ("traces",),
           ("value",)),
]


def mutant_app(*names: str) -> WsgiApp:
    """A fresh fakeflow app wrapped in the named mutant(s) (several: all bugs at once)."""
    from fakeflow import create_app

    app = create_app()
    for name in names:
        app = next(m for m in MUTANTS if m.name == name).middleware(app)
    return app


def make_wrong_error_code() -> WsgiApp:
    """``wsgi:tests.conformance_mutants:make_wrong_error_code`` for CLI tests."""
    return mutant_app("wrong-error-code")
