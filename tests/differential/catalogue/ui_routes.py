"""The web UI's side routes: UI telemetry, the runs table's dataset list
(``experiments/search-datasets``), and the AI gateway and assistant probes, which a server
with nothing configured answers with empty settings. Valid and invalid calls, wrong methods.

``POST ui-telemetry`` with no records depends on the server's environment (telemetry is off
under CI or pytest), so only the answers that do not are compared here."""

from __future__ import annotations

from ..model import Step, case, post
from .common import TS

AJAX2, AJAX3 = "/ajax-api/2.0/mlflow", "/ajax-api/3.0/mlflow"
DATASETS = AJAX2 + "/experiments/search-datasets"
TELEMETRY = AJAX3 + "/ui-telemetry"
FLASK_JSON = ("content-type", "content-length")  # jsonify's compact text and trailing newline


def _datasets(body: object, **kw: object) -> Step:
    return post(DATASETS, body, **kw)


def _log_dataset(run: str, name: str, digest: str, context: str | None) -> Step:
    entry: dict = {"dataset": {"name": name, "digest": digest, "source_type": "local", "source": "/d"}}
    if context is not None:
        entry["tags"] = [{"key": "mlflow.data.context", "value": context}]
    return post("runs/log-inputs", {"run_id": run, "datasets": [entry]})


CASES = [
    case(
        "ui-search-datasets",
        post("experiments/create", {"name": "${p}-a"}, capture={"a": "experiment_id"}),
        post("experiments/create", {"name": "${p}-b"}, capture={"b": "experiment_id"}),
        post("runs/create", {"experiment_id": "${a}", "start_time": TS}, capture={"r1": "run.info.run_id"}),
        post("runs/create", {"experiment_id": "${a}", "start_time": TS}, capture={"r2": "run.info.run_id"}),
        post("runs/create", {"experiment_id": "${b}", "start_time": TS}, capture={"r3": "run.info.run_id"}),
        _log_dataset("${r1}", "zeta", "d9", "training"),
        _log_dataset("${r1}", "alpha", "d2", "eval"),
        _log_dataset("${r2}", "alpha", "d2", "eval"),
        _log_dataset("${r2}", "alpha", "d1", None),
        _log_dataset("${r2}", "Beta", "d5", "training"),
        _log_dataset("${r3}", "alpha", "d2", "test"),
        _datasets({"experiment_ids": ["${a}"]}, note="distinct rows, index order"),
        _datasets({"experiment_ids": ["${b}", "${a}"]}),
        _datasets({"experiment_ids": ["${a}", "${a}"]}),
        _datasets({"experiment_ids": [" ${b}"]}, note="ids are bound as integers"),
        _datasets({"experiment_ids": ["999999999"]}),
        _datasets({"experiment_ids": ["-1"]}),
        post("runs/delete", {"run_id": "${r3}"}),
        _datasets({"experiment_ids": ["${b}"]}, note="a deleted run's inputs still count"),
        post("experiments/delete", {"experiment_id": "${a}"}),
        _datasets({"experiment_ids": ["${a}"]}, note="so do a deleted experiment's"),
        doc="the dataset summaries of the runs table",
    ),
    case(
        "ui-search-datasets-invalid",
        post("experiments/create", {"name": "${p}"}, capture={"e": "experiment_id"}),
        _datasets({}),
        _datasets({"experiment_ids": []}),
        _datasets({"experiment_ids": "${e}"}, note="a parse failure reads as no ids"),
        _datasets({"experiment_ids": [0]}),
        _datasets({"experiment_ids": ["abc"]}),
        _datasets({"experiment_ids": ["${e}", ""]}),
        _datasets({"experiment_ids": ["${e}"] * 20}),
        _datasets({"experiment_ids": ["${e}"] * 21}),
        _datasets({"experiment_ids": [str(i) for i in range(25)]}),
        _datasets({"experiment_ids": ["${e}"]}, content_type="text/plain"),
        _datasets({"experiment_ids": ["${e}"]}, content_type=None),
        Step("POST", DATASETS, data="not json"),
        Step("GET", DATASETS, query={"experiment_ids": "${e}"}),
        Step("PUT", DATASETS, json={}),
        Step("POST", "/api/2.0/mlflow/experiments/search-datasets", json={"experiment_ids": ["${e}"]},
             note="no /api twin"),
    ),
    case(
        "ui-telemetry",
        Step("GET", TELEMETRY, wire_headers=FLASK_JSON),
        Step("GET", TELEMETRY, query={"x": "1"}, wire_headers=FLASK_JSON),
        post(TELEMETRY, {"records": [{"event_name": "e", "timestamp_ns": 1, "params": {},
                                      "installation_id": "i", "session_id": "s"}]},
             wire_headers=FLASK_JSON),
        post(TELEMETRY, {"records": [{}]}, wire_headers=FLASK_JSON),
        Step("POST", TELEMETRY, data="[1]", wire_headers=FLASK_JSON),
        Step("POST", TELEMETRY, data="{", wire_headers=FLASK_JSON),
        Step("POST", TELEMETRY, data='{"records": [1]}', content_type="text/plain",
             wire_headers=FLASK_JSON),
        Step("PUT", TELEMETRY, json={}),
        Step("DELETE", TELEMETRY),
        Step("GET", "/api/3.0/mlflow/ui-telemetry", note="ajax only"),
        Step("GET", AJAX2 + "/ui-telemetry"),
    ),
    case(
        "ui-gateway-proxy",
        Step("GET", AJAX2 + "/gateway-proxy", wire_headers=FLASK_JSON),
        Step("GET", AJAX2 + "/gateway-proxy", query={"gateway_path": "api/2.0/endpoints/"},
             wire_headers=FLASK_JSON),
        post(AJAX2 + "/gateway-proxy", {"gateway_path": "endpoints/x/invocations", "json_data": {}},
             wire_headers=FLASK_JSON),
        post(AJAX2 + "/gateway-proxy", {}, wire_headers=FLASK_JSON),
        Step("POST", AJAX2 + "/gateway-proxy", data="nope", content_type="text/plain",
             wire_headers=FLASK_JSON),
        Step("PUT", AJAX2 + "/gateway-proxy", json={}),
        Step("DELETE", AJAX2 + "/gateway-proxy"),
        Step("GET", "/api/2.0/mlflow/gateway-proxy", note="ajax only"),
    ),
    case(
        "ui-assistant",
        Step("GET", AJAX3 + "/assistant/config", wire_headers=("content-type", "content-length")),
        Step("GET", AJAX3 + "/assistant/providers", wire_headers=("content-type", "content-length")),
        Step("GET", AJAX3 + "/assistant/providers", query={"x": "y"}),
        Step("POST", AJAX3 + "/assistant/config", json={}),
        Step("DELETE", AJAX3 + "/assistant/config"),
        Step("POST", AJAX3 + "/assistant/providers", json={}),
        Step("PUT", AJAX3 + "/assistant/providers", json={}),
        Step("GET", AJAX3 + "/assistant/providers/"),
        Step("GET", "/api/3.0/mlflow/assistant/config", note="ajax only"),
    ),
]

_JOBS, _MLFLOW_JOBS = "/ajax-api/3.0/jobs", AJAX3 + "/jobs"

CASES.append(case(
    "ui-jobs",
    Step("GET", _MLFLOW_JOBS + "/${p}", note="fakeflow runs no jobs: every id is unknown"),
    Step("GET", _MLFLOW_JOBS + "/a%20b"),
    Step("PATCH", _MLFLOW_JOBS + "/cancel/${p}"),
    Step("POST", _MLFLOW_JOBS + "/${p}"),
    Step("POST", _MLFLOW_JOBS + "/cancel/${p}"),
    Step("GET", _MLFLOW_JOBS + "/cancel/${p}"),
    Step("HEAD", _MLFLOW_JOBS + "/${p}"),
    Step("GET", _JOBS + "/${p}", wire_headers=("content-type", "content-length")),
    Step("GET", _JOBS + "/a%20b", wire_headers=("content-type", "content-length")),
    Step("PATCH", _JOBS + "/cancel/${p}", wire_headers=("content-type", "content-length")),
    Step("GET", _JOBS + "/cancel/${p}", note="the router's {job_id} takes no slash"),
    Step("POST", _JOBS + "/${p}", json={}),
    Step("DELETE", _JOBS + "/${p}"),
    Step("HEAD", _JOBS + "/${p}"),
    Step("GET", _JOBS + "/"),
    Step("GET", "/api/3.0/jobs/${p}", note="ajax only"),
    doc="the job poller's routes, Flask's and the FastAPI job router's",
))

_PLAIN = ("content-type",)  # the 503 is plain text, compared byte for byte

CASES.append(case(
    "ui-workspaces-disabled",
    *[Step(method, api + "/3.0/mlflow/workspaces", json={}, wire_headers=_PLAIN)
      for api in ("/api", "/ajax-api") for method in ("GET", "POST")],
    *[Step(method, api + "/3.0/mlflow/workspaces/${p}", wire_headers=_PLAIN)
      for api in ("/api", "/ajax-api") for method in ("GET", "PATCH", "DELETE")],
    Step("GET", "/ajax-api/3.0/mlflow/workspaces/a%20b", wire_headers=_PLAIN),
    Step("PUT", "/api/3.0/mlflow/workspaces", json={}),
    Step("POST", "/ajax-api/3.0/mlflow/workspaces/${p}", json={}),
    Step("GET", "/api/2.0/mlflow/workspaces", note="3.0 only"),
    doc="a server without --enable-workspaces, as server-info reports",
))

_SCORERS = AJAX3 + "/scorers/list"

CASES.append(case(
    "ui-scorers-list",
    post("experiments/create", {"name": "${p}"}, capture={"e": "experiment_id"}),
    post("experiments/create", {"name": "${p}-gone"}, capture={"g": "experiment_id"}),
    post("experiments/delete", {"experiment_id": "${g}"}),
    Step("GET", _SCORERS, query={"experiment_id": "${e}"}, note="fakeflow registers no scorers"),
    Step("GET", "/api/3.0/mlflow/scorers/list", query={"experiment_id": "${e}"}),
    Step("GET", _SCORERS, query={"experiment_id": "${g}"}),
    Step("GET", _SCORERS, query={"experiment_id": "987654321"}),
    Step("GET", _SCORERS, query={"experiment_id": "abc"}),
    Step("GET", _SCORERS, query={"experiment_id": ""}),
    Step("GET", _SCORERS, query=[("experiment_ids", "${e}"), ("experiment_ids", "${g}")]),
    Step("GET", _SCORERS, query=[("experiment_ids", "abc"), ("experiment_ids", "987654321")]),
    Step("GET", _SCORERS, query=[("experiment_ids", "a b")]),
    Step("GET", _SCORERS, query=[("experiment_ids", "-1")]),
    Step("GET", _SCORERS, query=[("experiment_ids", "99999999999999999999")]),
    Step("GET", _SCORERS, query=[("experiment_ids", " 1")]),
    Step("GET", _SCORERS, query={"experiment_id": "99999999999999999999"}),
    Step("GET", _SCORERS, query=[("experiment_id", "${e}"), ("experiment_ids", "${e}")]),
    Step("GET", _SCORERS, query={"other": "1"}),
    Step("POST", _SCORERS, json={}),
    Step("GET", AJAX2 + "/scorers/list", note="3.0 only"),
))
