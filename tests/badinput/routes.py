"""Every route fakeflow serves, with a valid request to mutate and the pools its ids come from.

Ids are placeholders, replaced per server by ``sides.Side``: ``${e}`` the main experiment,
``${v}`` a victim experiment (delete, restore, rename), ``${d}`` a deleted experiment, ``${r}``
the main run, ``${w}`` a victim run, ``${x}`` a deleted run, ``${s}`` a per-session suffix that
keeps created names apart from other tests' on the shared reference server. Id fields only ever
take values from the pools below, so no generated request can touch the Default experiment or
another test's entities on that server.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fakeflow.web import messages as m
from fakeflow.web.routes import API_PREFIXES, SERVICE_ROUTES, TRACKING_ROUTES

EXPERIMENT_IDS = (
    "${e}", "${v}", "${d}", "999999999", "abc", "-1", "${e}.0", " ${e}", "${e} ", "+${e}",
    "\ud800", "${e}\ud800", "9" * 40, "", "1e3", "${e}\n",
)
RUN_IDS = (
    "${r}", "${w}", "${x}", "0" * 32, "${R}", "", "\ud800", "${r}\udc00", "${r}x", " ${r}",
    "a" * 5000, "${r}/../x",
)
MODEL_JSON = (
    '{"run_id": "${r}", "artifact_path": "model", "utc_time_created": "2024-01-01 00:00:00.000000", '
    '"flavors": {"python_function": {"loader_module": "x"}}}'
)
DATASET = {"name": "d${s}", "digest": "g1", "source_type": "local", "source": "{\"uri\": \"/d\"}"}


@dataclass(frozen=True)
class RouteSpec:
    """One route: where it lives, its request message, a valid request and its id fields."""

    path: str  # relative to ``prefixes``; with ``${..}`` placeholders for path parameters
    methods: tuple[str, ...]
    message: m.Message | None
    base: dict[str, Any] = field(default_factory=dict)
    #: field name -> id pool kind: "exp" | "run" | "exps" | "runs" | "model" | "version" | "lm"
    ids: dict[str, str] = field(default_factory=dict)
    writes: bool = False
    #: where the path lives; None: the versioned API prefixes, or none for a service route
    prefixes: tuple[str, ...] | None = None
    #: what an accepted write changes, read back on both sides: "run" | "experiment" | "model"
    #: | "logged_model" | "artifacts" (empty: guessed from the path, as for tracking routes)
    touches: str = ""
    #: the route table's path this spec exercises (default: ``path``)
    route: str = ""
    #: the request body is raw bytes, not JSON (artifact uploads)
    raw_body: bytes | None = None

    @property
    def absolute(self) -> bool:
        """Service routes live outside the versioned API prefixes."""
        return self.message is None and self.prefixes is None

    def urls(self) -> tuple[str, ...]:
        if self.prefixes is not None:
            return tuple(prefix + self.path for prefix in self.prefixes)
        if self.absolute:
            return (self.path,)
        return tuple(prefix + self.path for prefix in API_PREFIXES)

    @property
    def is_get(self) -> bool:
        return self.methods == ("GET",)

    @property
    def kind(self) -> str:
        """What an accepted write to this route changes (see ``touches``)."""
        if self.touches:
            return self.touches
        return "experiment" if self.path.startswith("/experiments/") else "run"


E, R = {"experiment_id": "exp"}, {"run_id": "run", "run_uuid": "run"}

SPECS: dict[str, RouteSpec] = {s.path: s for s in [
    RouteSpec("/experiments/create", ("POST",), m.CREATE_EXPERIMENT,
              {"name": "bi-${s}", "tags": [{"key": "k", "value": "v"}]}, writes=True),
    RouteSpec("/experiments/search", ("GET", "POST"), m.SEARCH_EXPERIMENTS,
              {"max_results": 5, "filter": "name LIKE 'bi-%'", "order_by": ["name"], "view_type": "ALL"}),
    RouteSpec("/experiments/get", ("GET",), m.GET_EXPERIMENT, {"experiment_id": "${e}"}, E),
    RouteSpec("/experiments/get-by-name", ("GET",), m.GET_EXPERIMENT_BY_NAME,
              {"experiment_name": "bi-main-${s}"}),
    RouteSpec("/experiments/delete", ("POST",), m.DELETE_EXPERIMENT, {"experiment_id": "${v}"}, E, True),
    RouteSpec("/experiments/restore", ("POST",), m.RESTORE_EXPERIMENT, {"experiment_id": "${v}"}, E, True),
    RouteSpec("/experiments/update", ("POST",), m.UPDATE_EXPERIMENT,
              {"experiment_id": "${v}", "new_name": "bi-victim-${s}"}, E, True),
    RouteSpec("/experiments/set-experiment-tag", ("POST",), m.SET_EXPERIMENT_TAG,
              {"experiment_id": "${e}", "key": "k", "value": "v"}, E, True),
    RouteSpec("/experiments/delete-experiment-tag", ("POST",), m.DELETE_EXPERIMENT_TAG,
              {"experiment_id": "${e}", "key": "k"}, E, True),
    RouteSpec("/runs/create", ("POST",), m.CREATE_RUN,
              {"experiment_id": "${e}", "user_id": "u", "run_name": "n", "start_time": 1,
               "tags": [{"key": "k", "value": "v"}]}, E, True),
    RouteSpec("/runs/update", ("POST",), m.UPDATE_RUN,
              {"run_id": "${r}", "status": "RUNNING", "end_time": 2, "run_name": "n2"}, R, True),
    RouteSpec("/runs/delete", ("POST",), m.DELETE_RUN, {"run_id": "${w}"}, R, True),
    RouteSpec("/runs/restore", ("POST",), m.RESTORE_RUN, {"run_id": "${w}"}, R, True),
    RouteSpec("/runs/log-metric", ("POST",), m.LOG_METRIC,
              {"run_id": "${r}", "key": "m", "value": 1.5, "timestamp": 1, "step": 0}, R, True),
    RouteSpec("/runs/log-parameter", ("POST",), m.LOG_PARAM,
              {"run_id": "${r}", "key": "p", "value": "v"}, R, True),
    RouteSpec("/runs/set-tag", ("POST",), m.SET_TAG, {"run_id": "${r}", "key": "t", "value": "v"}, R, True),
    RouteSpec("/runs/delete-tag", ("POST",), m.DELETE_TAG, {"run_id": "${r}", "key": "t"}, R, True),
    RouteSpec("/runs/get", ("GET",), m.GET_RUN, {"run_id": "${r}"}, R),
    RouteSpec("/runs/search", ("POST",), m.SEARCH_RUNS,
              {"experiment_ids": ["${e}"], "filter": "", "max_results": 5, "order_by": ["start_time"],
               "run_view_type": "ALL"}, {"experiment_ids": "exps"}),
    RouteSpec("/runs/log-batch", ("POST",), m.LOG_BATCH,
              {"run_id": "${r}", "metrics": [{"key": "m", "value": 1, "timestamp": 1, "step": 0}],
               "params": [{"key": "p", "value": "v"}], "tags": [{"key": "t", "value": "v"}]}, R, True),
    RouteSpec("/runs/log-model", ("POST",), m.LOG_MODEL, {"run_id": "${r}", "model_json": MODEL_JSON},
              R, True),
    RouteSpec("/runs/log-inputs", ("POST",), m.LOG_INPUTS,
              {"run_id": "${r}", "datasets": [{"tags": [{"key": "mlflow.data.context", "value": "train"}],
                                               "dataset": DATASET}],
               "models": [{"model_id": "m-0123456789abcdef0123456789abcdef"}]}, R, True),
    RouteSpec("/runs/outputs", ("POST",), m.LOG_OUTPUTS,
              {"run_id": "${r}", "models": [{"model_id": "m-0123456789abcdef0123456789abcdef", "step": 1}]},
              R, True),
    RouteSpec("/metrics/get-history", ("GET",), m.GET_METRIC_HISTORY,
              {"run_id": "${r}", "metric_key": "m", "max_results": 3}, R),
    RouteSpec("/metrics/get-history-bulk-interval", ("GET",), m.GET_METRIC_HISTORY_BULK_INTERVAL,
              {"run_ids": ["${r}"], "metric_key": "m", "start_step": 0, "end_step": 10, "max_results": 5},
              {"run_ids": "runs"}),
    RouteSpec("/artifacts/list", ("GET",), m.LIST_ARTIFACTS, {"run_id": "${r}", "path": "a"}, R),
    RouteSpec("/health", ("GET",), None),
    RouteSpec("/version", ("GET",), None),
    RouteSpec("/api/3.0/mlflow/server-info", ("GET",), None),
    RouteSpec("/ajax-api/3.0/mlflow/server-info", ("GET",), None),
]}


def missing_specs() -> list[str]:
    """Routes of the tracking and service tables that have no spec here (or other methods).

    Parameterised paths (``<model_id>``) are the artifact surface's and are not generated here.
    """
    problems = []
    for route in TRACKING_ROUTES + SERVICE_ROUTES:
        if "<" in route.path:
            continue
        spec = SPECS.get(route.path)
        if spec is None:
            problems.append(f"{route.path}: no spec")
        elif set(route.methods) != set(spec.methods):
            problems.append(f"{route.path}: methods {route.methods} vs {spec.methods}")
    return problems


ALL = tuple(SPECS.values())
WITH_MESSAGE = tuple(s for s in ALL if s.message is not None)
