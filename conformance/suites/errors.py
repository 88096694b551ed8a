"""Error answers to invalid input: status, ``error_code`` and message (MLflow's exact wire
text) for malformed requests, unknown resources, invalid names, bad filters/order_by/paging,
wrong content types and unknown routes. Interleaved with valid writes so that each error is
also checked for leaving state untouched."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from hypothesis import strategies as st
from hypothesis.stateful import initialize, precondition, rule

from ..findings import SHAPE, Difference
from ..model import missing_param_message
from ..refs import Ref
from . import register
from .base import ConformanceMachine, scenario

# Printed by MLflow as a Python set (no defined order; the normaliser sorts it).
RUN_ATTRIBUTE_KEYS = {"Created", "Run Name", "Run name", "artifact_uri", "created", "end_time",
                      "run name", "run_id", "run_name", "start_time", "status", "user_id"}
UNKNOWN_RUN = "0" * 31 + "1"  # well-formed but never issued (ids are uuid4 hex)
UNKNOWN_EXPERIMENT = "987654321987"


@dataclass(frozen=True)
class Case:
    """One invalid request and MLflow's answer to it. ``message`` None = not compared
    (it carries database text); ``json`` False = MLflow answers with an HTML page."""

    name: str
    op: str
    method: str
    path: str
    build: Callable[["ErrorSuite"], dict[str, Any]]
    status: int
    error_code: str | None
    message: Callable[["ErrorSuite"], str | None] = lambda m: None
    json: bool = True

    def __repr__(self) -> str:
        return f"Case({self.name!r})"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        """Hypothesis prints steps with this; keep the shrunk example readable."""
        printer.text(repr(self))


def _run(m: "ErrorSuite") -> Ref:
    return Ref(m.run.symbol)


def _exp(m: "ErrorSuite") -> Ref:
    return Ref(m.exp.symbol)


def _search(filter_: str | None = None, order_by: list[str] | None = None, **extra: Any):
    def build(m: "ErrorSuite") -> dict[str, Any]:
        body: dict[str, Any] = {"experiment_ids": [_exp(m)], **extra}
        if filter_ is not None:
            body["filter"] = filter_
        if order_by is not None:
            body["order_by"] = order_by
        return {"body": body}
    return build


CASES: list[Case] = [
    Case("get experiment: unknown id", "get_experiment", "GET", "experiments/get",
         lambda m: {"query": {"experiment_id": UNKNOWN_EXPERIMENT}}, 404, "RESOURCE_DOES_NOT_EXIST",
         lambda m: f"No Experiment with id={UNKNOWN_EXPERIMENT} exists"),
    Case("get experiment: non-integer id", "get_experiment", "GET", "experiments/get",
         lambda m: {"query": {"experiment_id": "abc"}}, 400, "INVALID_PARAMETER_VALUE",
         lambda m: "Invalid experiment ID 'abc'. Experiment ID must be a valid integer."),
    Case("get experiment: missing id", "get_experiment", "GET", "experiments/get",
         lambda m: {"query": {}}, 400, "INVALID_PARAMETER_VALUE",
         lambda m: missing_param_message("experiment_id")),
    Case("get experiment: negative id", "get_experiment", "GET", "experiments/get",
         lambda m: {"query": {"experiment_id": "-1"}}, 404, "RESOURCE_DOES_NOT_EXIST",
         lambda m: "No Experiment with id=-1 exists"),
    Case("get experiment: largest int64 id", "get_experiment", "GET", "experiments/get",
         lambda m: {"query": {"experiment_id": "9223372036854775807"}}, 404,
         "RESOURCE_DOES_NOT_EXIST", lambda m: "No Experiment with id=9223372036854775807 exists"),
    # Past int64 MLflow's store fails (the message is the database's, so it is not compared).
    Case("get experiment: id past int64", "get_experiment", "GET", "experiments/get",
         lambda m: {"query": {"experiment_id": "9223372036854775808"}}, 500, "INTERNAL_ERROR"),
    Case("create run: non-integer experiment id", "create_run", "POST", "runs/create",
         lambda m: {"body": {"experiment_id": "abc"}}, 400, "INVALID_PARAMETER_VALUE",
         lambda m: "Invalid experiment ID 'abc'. Experiment ID must be a valid integer."),
    Case("history: missing run id", "get_metric_history", "GET", "metrics/get-history",
         lambda m: {"query": {"metric_key": "m"}}, 400, "INVALID_PARAMETER_VALUE",
         lambda m: missing_param_message("run_id")),
    Case("delete run: missing run id", "delete_run", "POST", "runs/delete",
         lambda m: {"body": {}}, 400, "INVALID_PARAMETER_VALUE",
         lambda m: missing_param_message("run_id")),
    Case("log metric: missing run id", "log_metric", "POST", "runs/log-metric",
         lambda m: {"body": {"key": "m", "value": 1, "timestamp": 1}}, 400,
         "INVALID_PARAMETER_VALUE", lambda m: missing_param_message("run_id")),
    Case("create experiment: missing name", "create_experiment", "POST", "experiments/create",
         lambda m: {"body": {}}, 400, "INVALID_PARAMETER_VALUE",
         lambda m: missing_param_message("name")),
    Case("create experiment: name too long", "create_experiment", "POST", "experiments/create",
         lambda m: {"body": {"name": m.name("x" * 500)}}, 400, "INVALID_PARAMETER_VALUE",
         lambda m: "'name' exceeds the maximum length of 500 characters"),
    Case("create experiment: name not a string", "create_experiment", "POST", "experiments/create",
         lambda m: {"body": {"name": 123}}, 400, "INVALID_PARAMETER_VALUE",
         lambda m: "Invalid value 123 for parameter 'name' supplied:  Hint: Value was of type "
                   "'int'. See the API docs for more information about request parameters."),
    Case("create experiment: duplicate", "create_experiment", "POST", "experiments/create",
         lambda m: {"body": {"name": m.exp.name}}, 400, "RESOURCE_ALREADY_EXISTS"),
    Case("create run: unknown experiment", "create_run", "POST", "runs/create",
         lambda m: {"body": {"experiment_id": UNKNOWN_EXPERIMENT}}, 404, "RESOURCE_DOES_NOT_EXIST",
         lambda m: f"No Experiment with id={UNKNOWN_EXPERIMENT} exists"),
    Case("get run: unknown id", "get_run", "GET", "runs/get",
         lambda m: {"query": {"run_id": UNKNOWN_RUN}}, 404, "RESOURCE_DOES_NOT_EXIST",
         lambda m: f"Run with id={UNKNOWN_RUN} not found"),
    Case("get run: missing id", "get_run", "GET", "runs/get",
         lambda m: {"query": {"other": "x"}}, 400, "INVALID_PARAMETER_VALUE",
         lambda m: missing_param_message("run_id")),
    Case("log metric: missing timestamp", "log_metric", "POST", "runs/log-metric",
         lambda m: {"body": {"run_id": _run(m), "key": "m", "value": 1.0}}, 400,
         "INVALID_PARAMETER_VALUE", lambda m: missing_param_message("timestamp")),
    Case("log metric: negative timestamp", "log_metric", "POST", "runs/log-metric",
         lambda m: {"body": {"run_id": _run(m), "key": "m8", "value": 1.0, "timestamp": -1}}, 400,
         "INVALID_PARAMETER_VALUE",
         lambda m: "Invalid value -1 for parameter 'timestamp' supplied: metric 'm8' (value=1.0). "
                   "Timestamp must be a nonnegative long (64-bit integer) "),
    Case("log metric: non-numeric value", "log_metric", "POST", "runs/log-metric",
         lambda m: {"body": {"run_id": _run(m), "key": "m", "value": "abc", "timestamp": 1}}, 400,
         "INVALID_PARAMETER_VALUE",
         lambda m: "Invalid value \"abc\" for parameter 'value' supplied:  Hint: Value was of type "
                   "'str'. See the API docs for more information about request parameters."),
    Case("log metric: unknown run", "log_metric", "POST", "runs/log-metric",
         lambda m: {"body": {"run_id": UNKNOWN_RUN, "key": "m", "value": 1, "timestamp": 1}}, 404,
         "RESOURCE_DOES_NOT_EXIST", lambda m: f"Run with id={UNKNOWN_RUN} not found"),
    Case("log param: key too long", "log_param", "POST", "runs/log-parameter",
         lambda m: {"body": {"run_id": _run(m), "key": "k" * 251, "value": "v"}}, 400,
         "INVALID_PARAMETER_VALUE",
         lambda m: "'Param key' exceeds the maximum length of 250 characters"),
    Case("log batch: too many params", "log_batch", "POST", "runs/log-batch",
         lambda m: {"body": {"run_id": _run(m), "params": [
             {"key": f"q{i}", "value": "v"} for i in range(101)]}}, 400, "INVALID_PARAMETER_VALUE",
         lambda m: "A batch logging request can contain at most 100 params. Got 101 params. "
                   "Please split up params across multiple requests and try again."),
    Case("log batch: metric without timestamp", "log_batch", "POST", "runs/log-batch",
         lambda m: {"body": {"run_id": _run(m), "metrics": [{"key": "m", "value": 1}]}}, 400,
         "INVALID_PARAMETER_VALUE", lambda m: missing_param_message("metrics[0].timestamp")),
    Case("delete tag: missing key", "delete_tag", "POST", "runs/delete-tag",
         lambda m: {"body": {"run_id": _run(m), "key": "never-set"}}, 404,
         "RESOURCE_DOES_NOT_EXIST",
         lambda m: f"No tag with name: never-set in run with id {m.run.run_id}"),
    Case("history: max_results 0", "get_metric_history", "GET", "metrics/get-history",
         lambda m: {"query": {"run_id": _run(m), "metric_key": "m", "max_results": 0}}, 400,
         "INVALID_PARAMETER_VALUE",
         lambda m: "Invalid value 0 for parameter 'max_results' supplied. It must be a positive "
                   "integer."),
    Case("history: unknown run is empty", "get_metric_history", "GET", "metrics/get-history",
         lambda m: {"query": {"run_id": UNKNOWN_RUN, "metric_key": "m"}}, 200, None),
    Case("search runs: OR", "search_runs", "POST", "runs/search",
         _search("metrics.a > 1 OR metrics.b > 1"), 400, "INVALID_PARAMETER_VALUE",
         lambda m: "Invalid clause(s) in filter string: 'OR'"),
    Case("search runs: unquoted string", "search_runs", "POST", "runs/search",
         _search("params.p = abc"), 400, "INVALID_PARAMETER_VALUE",
         lambda m: "Parameter value is either not quoted or unidentified quote types used for "
                   "string value abc. Use either single or double quotes."),
    Case("search runs: unknown entity", "search_runs", "POST", "runs/search",
         _search("foo.bar = 'x'"), 400, "INVALID_PARAMETER_VALUE",
         lambda m: "Invalid entity type 'foo'. Valid values are ['metric', 'parameter', 'tag', "
                   "'attribute', 'dataset']"),
    Case("search runs: IS NULL on metric", "search_runs", "POST", "runs/search",
         _search("metrics.acc IS NULL"), 400, "INVALID_PARAMETER_VALUE",
         lambda m: "IS NULL / IS NOT NULL is only supported for tags and params, not for "
                   "'metric' 'acc'"),
    Case("search runs: max_results 0", "search_runs", "POST", "runs/search",
         _search(max_results=0), 400, "INVALID_PARAMETER_VALUE",
         lambda m: "Invalid value 0 for parameter 'max_results' supplied. It must be a positive "
                   "integer"),
    Case("search runs: max_results too big", "search_runs", "POST", "runs/search",
         _search(max_results=50001), 400, "INVALID_PARAMETER_VALUE",
         lambda m: "Invalid value 50001 for parameter 'max_results' supplied:  Hint: Value was of "
                   "type 'int'. See the API docs for more information about request parameters."),
    Case("search runs: bad direction", "search_runs", "POST", "runs/search",
         _search(order_by=["metrics.acc DOWN"]), 400, "INVALID_PARAMETER_VALUE",
         lambda m: "Invalid ordering key in order_by clause 'metrics.acc DOWN'."),
    Case("search runs: duplicate order_by", "search_runs", "POST", "runs/search",
         _search(order_by=["start_time", "start_time DESC"]), 500, "INTERNAL_ERROR"),
    Case("search runs: garbage page token", "search_runs", "POST", "runs/search",
         _search(page_token="!!!"), 400, "INVALID_PARAMETER_VALUE"),
    Case("search runs: offset-0 page token", "search_runs", "POST", "runs/search",
         _search(page_token="eyJvZmZzZXQiOiAwfQ=="), 400, "INVALID_PARAMETER_VALUE",
         lambda m: "Invalid page token, parsed value={'offset': 0}"),
    Case("search runs: non-integer experiment id", "search_runs", "POST", "runs/search",
         lambda m: {"body": {"experiment_ids": ["abc"]}}, 400, "INVALID_PARAMETER_VALUE",
         lambda m: "Invalid experiment ID 'abc'. Experiment ID must be a valid integer."),
    Case("search experiments: no max_results", "search_experiments", "POST", "experiments/search",
         lambda m: {"body": {"filter": f"name = '{m.exp.name}'"}}, 400, "INVALID_PARAMETER_VALUE",
         lambda m: "Invalid value 0 for parameter 'max_results' supplied. It must be a positive "
                   "integer"),
    Case("search experiments: order by tag", "search_experiments", "POST", "experiments/search",
         lambda m: {"body": {"max_results": 5, "order_by": ["tags.x"]}}, 400,
         "INVALID_PARAMETER_VALUE", lambda m: "Invalid order_by entity: tag"),
    Case("content type: form-encoded", "create_experiment", "POST", "experiments/create",
         lambda m: {"body": b"name=x", "headers": {"Content-Type": "application/x-www-form-urlencoded"}},
         400, "INVALID_PARAMETER_VALUE",
         lambda m: "Bad Request. Content-Type must be one of ['application/json']."),
    Case("content type: missing", "create_experiment", "POST", "experiments/create",
         lambda m: {"body": b"{}"}, 400, "INVALID_PARAMETER_VALUE",
         lambda m: "Bad Request. Content-Type header is missing."),
    Case("both spellings of a field", "delete_experiment", "POST", "experiments/delete",
         lambda m: {"body": {"experiment_id": UNKNOWN_EXPERIMENT, "experimentId": UNKNOWN_EXPERIMENT}},
         400, "INVALID_PARAMETER_VALUE",
         lambda m: "Request specifies both 'experiment_id' and 'experimentId'; provide only one "
                   "of them."),
    Case("malformed JSON body reads as {}", "create_experiment", "POST", "experiments/create",
         lambda m: {"body": b"{not json", "headers": {"Content-Type": "application/json"}}, 400,
         "INVALID_PARAMETER_VALUE", lambda m: missing_param_message("name")),
    Case("camelCase optional field accepted", "create_run", "POST", "runs/create",
         lambda m: {"body": {"experimentId": UNKNOWN_EXPERIMENT}}, 404, "RESOURCE_DOES_NOT_EXIST",
         lambda m: f"No Experiment with id={UNKNOWN_EXPERIMENT} exists"),
    Case("camelCase required field fails the required check", "delete_experiment", "POST",
         "experiments/delete", lambda m: {"body": {"experimentId": UNKNOWN_EXPERIMENT}}, 400,
         "INVALID_PARAMETER_VALUE", lambda m: missing_param_message("experiment_id")),
    Case("camelCase field ignored in a query string", "get_run", "GET", "runs/get",
         lambda m: {"query": {"runId": UNKNOWN_RUN}}, 400, "INVALID_PARAMETER_VALUE",
         lambda m: missing_param_message("run_id")),
    Case("JSON array body", "create_experiment", "POST", "experiments/create",
         lambda m: {"body": [1]}, 500, None, json=False),
    Case("delete experiment: unknown id", "delete_experiment", "POST", "experiments/delete",
         lambda m: {"body": {"experiment_id": UNKNOWN_EXPERIMENT}}, 404, "RESOURCE_DOES_NOT_EXIST",
         lambda m: f"No Experiment with id={UNKNOWN_EXPERIMENT} exists"),
    Case("update run: unknown id", "update_run", "POST", "runs/update",
         lambda m: {"body": {"run_id": UNKNOWN_RUN, "status": "FINISHED"}}, 404,
         "RESOURCE_DOES_NOT_EXIST", lambda m: f"Run with id={UNKNOWN_RUN} not found"),
    Case("experiment tag: value too long", "set_experiment_tag", "POST",
         "experiments/set-experiment-tag",
         lambda m: {"body": {"experiment_id": _exp(m), "key": "k", "value": "v" * 20001}}, 400,
         "INVALID_PARAMETER_VALUE",
         lambda m: "'value' exceeds the maximum length of 20000 characters"),
    Case("search experiments: max_results too big", "search_experiments", "POST",
         "experiments/search", lambda m: {"body": {"max_results": 50001}}, 400,
         "INVALID_PARAMETER_VALUE",
         lambda m: "Invalid value 50001 for parameter 'max_results' supplied. It must be at most "
                   "50000"),
    Case("search experiments: unknown entity", "search_experiments", "POST", "experiments/search",
         lambda m: {"body": {"max_results": 5, "filter": "params.a = 'b'"}}, 400,
         "INVALID_PARAMETER_VALUE",
         lambda m: "Invalid entity type 'params'. Valid entity types are ('attribute', 'tag', "
                   "'tags')"),
    Case("search runs: lifecycle_stage is no attribute", "search_runs", "POST", "runs/search",
         _search("attributes.lifecycle_stage = 'active'"), 400, "INVALID_PARAMETER_VALUE",
         lambda m: "Invalid attribute key 'lifecycle_stage' specified. Valid keys are '{"
                   + ", ".join(f"'{k}'" for k in sorted(RUN_ATTRIBUTE_KEYS)) + "}'"),
    Case("search runs: IN on status", "search_runs", "POST", "runs/search",
         _search("attributes.status IN ('FINISHED')"), 400, "INVALID_PARAMETER_VALUE"),
    Case("search runs: quoted number for metric", "search_runs", "POST", "runs/search",
         _search("metrics.m > '1'"), 400, "INVALID_PARAMETER_VALUE"),
    Case("route: unknown path", "unknown_route", "GET", "experiments/list",
         lambda m: {"query": {"max_results": 1}}, 404, None, json=False),
    Case("route: wrong method", "wrong_method", "GET", "runs/search",
         lambda m: {"query": {"max_results": 1}}, 405, None, json=False),
]


@register("errors", "error answers (status, error_code, message) to invalid input")
class ErrorSuite(ConformanceMachine):
    @initialize()
    def world(self):
        self.exp = self.do_create_experiment("errors")
        self.run = self.do_create_run(self.exp, "r", 0) if self.exp is not None else None

    @precondition(lambda self: getattr(self, "run", None) is not None)
    @rule(case=st.sampled_from(CASES))
    def invalid_request(self, case):
        spec = case.build(self)
        reply = self.ctx.call(case.op, case.method, case.path, body=spec.get("body"),
                              query=spec.get("query"), headers=spec.get("headers"))
        if not case.json:
            self.ctx.expect(case.op, reply, case.status, None)
            if self.ctx.check_model and reply.json is not None and reply.status == case.status:
                self.ctx.note(Difference(case.op, ".body", SHAPE, "<non-JSON text/html body>",
                                         reply.json))
        elif case.error_code is None:
            self.ctx.expect(case.op, reply, case.status, {})
        else:
            self.ctx.expect_error(case.op, reply, case.status, case.error_code, case.message(self))

    @precondition(lambda self: getattr(self, "run", None) is not None)
    @rule(kind=st.sampled_from(["log_param", "set_tag", "log_metric", "delete_run"]))
    def deleted_run_write(self, kind):
        """Writes to a deleted run are refused with 400, then the run is restored intact."""
        self.do_delete_run(self.run)
        if kind == "log_param":
            self.do_log_param(self.run, "p", "v")
        elif kind == "set_tag":
            self.do_set_tag(self.run, "t", "v")
        elif kind == "log_metric":
            self.do_log_metric(self.run, "m", 1.0, 1, 0)
        self.do_restore_run(self.run)

    @precondition(lambda self: getattr(self, "run", None) is not None)
    @rule()
    def state_unchanged(self):
        self.check_run(self.run)
        self.refresh_experiment(self.exp)


    # -- explicit cases (run on every run, before exploration) -------------------------------

    @scenario(params=CASES, shared=True)
    def case_invalid_request(self, case):
        """Every invalid request of the catalogue, each once, on one world (a new one after a
        difference that may have changed it); the teardown re-reads the state."""
        if getattr(self, "run", None) is None:
            self.world()
        if self.run is not None:
            self.invalid_request(case)

    @scenario(params=["log_param", "set_tag", "log_metric", "delete_run"])
    def case_deleted_run_write(self, kind):
        self.world()
        if self.run is not None:
            self.deleted_run_write(kind)
            self.state_unchanged()
