"""Thin handlers for the tracking API: parse the request, call one store method, shape the answer."""

from __future__ import annotations

import json
from typing import Any

from werkzeug.exceptions import InternalServerError
from werkzeug.wrappers import Request

from fakeflow.state.entities import Dataset, DatasetInput, ModelOutput
from fakeflow.state.metric_history import HistoryWindow
from fakeflow.state.errors import invalid, not_found
from fakeflow.state.tracking import MAX_RESULTS_PER_RUN_BULK, MetricInput, TrackingStore
from fakeflow.web import messages as m
from fakeflow.web import render
from fakeflow.web.history_json import bulk_answer, bulk_interval_answer, history_answer
from fakeflow.web.parsing import (
    ARRAY,
    CheckFailed,
    FLOATLIKE,
    INTLIKE,
    ITEM_STRINGS,
    REQUIRED,
    STRING,
    decode_json_body,
    read_request,
    required_in,
)

Payload = dict[str, Any]


def _pairs(items: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(item.get("key", ""), item.get("value", "")) for item in items]


def _run_id(msg: dict[str, Any]) -> str:
    return msg.get("run_id") or msg.get("run_uuid", "")


# ---- experiments ------------------------------------------------------------------------------

def create_experiment(store: TrackingStore, request: Request) -> Payload:
    msg = read_request(request, m.CREATE_EXPERIMENT, [
        ("name", [REQUIRED, STRING]), ("artifact_location", [STRING]), ("tags", [ARRAY]),
    ])
    experiment_id = store.create_experiment(
        msg.get("name", ""), msg.get("artifact_location", ""), _pairs(msg.get("tags", []))
    )
    return {"experiment_id": experiment_id}


def get_experiment(store: TrackingStore, request: Request) -> Payload:
    msg = read_request(request, m.GET_EXPERIMENT, [("experiment_id", [REQUIRED, STRING])])
    return {"experiment": render.experiment(store.get_experiment(msg.get("experiment_id", "")))}


def get_experiment_by_name(store: TrackingStore, request: Request) -> Payload:
    msg = read_request(request, m.GET_EXPERIMENT_BY_NAME, [("experiment_name", [REQUIRED, STRING])])
    name = msg.get("experiment_name", "")
    experiment = store.get_experiment_by_name(name)
    if experiment is None:
        raise not_found(f"Could not find experiment with name '{name}'")
    return {"experiment": render.experiment(experiment)}


def search_experiments(store: TrackingStore, request: Request) -> Payload:
    msg = read_request(request, m.SEARCH_EXPERIMENTS, [
        ("view_type", [INTLIKE]), ("max_results", [INTLIKE]), ("order_by", [ARRAY]),
        ("filter", [STRING]), ("page_token", [STRING]),
    ])
    experiments, token = store.search_experiments(
        view_type=msg.get("view_type"),
        max_results=msg.get("max_results"),
        order_by=msg.get("order_by", []),
        filter_string=msg.get("filter", ""),
        page_token=msg.get("page_token") or None,
    )
    out: Payload = {}
    if experiments:
        out["experiments"] = [render.experiment(e) for e in experiments]
    if token:
        out["next_page_token"] = token
    return out


def _experiment_id_only(message: m.Message, request: Request) -> str:
    return read_request(request, message, [("experiment_id", [REQUIRED, STRING])]).get("experiment_id", "")


def delete_experiment(store: TrackingStore, request: Request) -> Payload:
    store.delete_experiment(_experiment_id_only(m.DELETE_EXPERIMENT, request))
    return {}


def restore_experiment(store: TrackingStore, request: Request) -> Payload:
    store.restore_experiment(_experiment_id_only(m.RESTORE_EXPERIMENT, request))
    return {}


def update_experiment(store: TrackingStore, request: Request) -> Payload:
    msg = read_request(request, m.UPDATE_EXPERIMENT, [
        ("experiment_id", [REQUIRED, STRING]), ("new_name", [STRING, REQUIRED]),
    ])
    if msg.get("new_name"):
        store.rename_experiment(msg.get("experiment_id", ""), msg["new_name"])
    return {}


def set_experiment_tag(store: TrackingStore, request: Request) -> Payload:
    msg = read_request(request, m.SET_EXPERIMENT_TAG, [
        ("experiment_id", [REQUIRED, STRING]), ("key", [REQUIRED, STRING]), ("value", [STRING]),
    ])
    store.set_experiment_tag(msg.get("experiment_id", ""), msg.get("key", ""), msg.get("value", ""))
    return {}


def delete_experiment_tag(store: TrackingStore, request: Request) -> Payload:
    msg = read_request(request, m.DELETE_EXPERIMENT_TAG, [
        ("experiment_id", [REQUIRED, STRING]), ("key", [REQUIRED, STRING]),
    ])
    store.delete_experiment_tag(msg.get("experiment_id", ""), msg.get("key", ""))
    return {}


# ---- runs -------------------------------------------------------------------------------------

def create_run(store: TrackingStore, request: Request) -> Payload:
    msg = read_request(request, m.CREATE_RUN, [
        ("experiment_id", [STRING]), ("start_time", [INTLIKE]), ("run_name", [STRING]),
    ])
    run = store.create_run(
        experiment_id=msg.get("experiment_id", ""),
        user_id=msg.get("user_id", ""),
        start_time=msg.get("start_time", 0),
        tags=_pairs(msg.get("tags", [])),
        run_name=msg.get("run_name", ""),
    )
    return {"run": render.run(run, view="create")}


def update_run(store: TrackingStore, request: Request) -> Payload:
    msg = read_request(request, m.UPDATE_RUN, [
        ("run_id", [REQUIRED, STRING]), ("end_time", [INTLIKE]), ("status", [STRING]),
        ("run_name", [STRING]),
    ])
    run = store.update_run(_run_id(msg), msg.get("status"), msg.get("end_time"), msg.get("run_name"))
    return {"run_info": render.run_info(run)}


def delete_run(store: TrackingStore, request: Request) -> Payload:
    msg = read_request(request, m.DELETE_RUN, [("run_id", [REQUIRED, STRING])])
    store.delete_run(msg.get("run_id", ""))
    return {}


def restore_run(store: TrackingStore, request: Request) -> Payload:
    msg = read_request(request, m.RESTORE_RUN, [("run_id", [REQUIRED, STRING])])
    store.restore_run(msg.get("run_id", ""))
    return {}


def get_run(store: TrackingStore, request: Request) -> Payload:
    msg = read_request(request, m.GET_RUN, [("run_id", [REQUIRED, STRING])])
    return {"run": render.run(store.get_run(_run_id(msg)), view="get")}


def log_metric(store: TrackingStore, request: Request) -> Payload:
    msg = read_request(request, m.LOG_METRIC, [
        ("run_id", [REQUIRED, STRING]), ("key", [REQUIRED, STRING]), ("value", [REQUIRED, FLOATLIKE]),
        ("timestamp", [INTLIKE, REQUIRED]), ("step", [INTLIKE]), ("model_id", [STRING]),
        ("dataset_name", [STRING]), ("dataset_digest", [STRING]),
    ])
    _check_metric_dataset(msg)
    metric = MetricInput(msg.get("key", ""), msg.get("value", 0.0), msg.get("timestamp", 0),
                         msg.get("step", 0), msg.get("model_id", ""), msg.get("dataset_name", ""),
                         msg.get("dataset_digest", ""))
    store.log_metric(_run_id(msg), metric)
    return {}


def _check_metric_dataset(metric: dict[str, Any]) -> None:
    """MLflow's Metric refuses a dataset name without a digest and the reverse (empty = none)."""
    if bool(metric.get("dataset_name")) != bool(metric.get("dataset_digest")):
        raise invalid("Both dataset_name and dataset_digest must be provided if one is provided")


def log_param(store: TrackingStore, request: Request) -> Payload:
    msg = read_request(request, m.LOG_PARAM, [
        ("run_id", [REQUIRED, STRING]), ("key", [REQUIRED, STRING]), ("value", [STRING]),
    ])
    store.log_param(_run_id(msg), msg.get("key", ""), msg.get("value", ""))
    return {}


def set_tag(store: TrackingStore, request: Request) -> Payload:
    msg = read_request(request, m.SET_TAG, [
        ("run_id", [REQUIRED, STRING]), ("key", [REQUIRED, STRING]), ("value", [STRING]),
    ])
    store.set_tag(_run_id(msg), msg.get("key", ""), msg.get("value", ""))
    return {}


def delete_tag(store: TrackingStore, request: Request) -> Payload:
    msg = read_request(request, m.DELETE_TAG, [("run_id", [REQUIRED, STRING]), ("key", [REQUIRED, STRING])])
    store.delete_tag(msg.get("run_id", ""), msg.get("key", ""))
    return {}


def _max_50000(value: Any) -> None:
    if int(value) > 50000:
        raise CheckFailed()


def search_runs(store: TrackingStore, request: Request) -> render.RawJSON:
    msg = read_request(request, m.SEARCH_RUNS, [
        ("experiment_ids", [ARRAY]), ("filter", [STRING]), ("max_results", [INTLIKE, _max_50000]),
        ("order_by", [ARRAY, ITEM_STRINGS]),
    ])
    runs, token = store.search_runs(
        experiment_ids=msg.get("experiment_ids", []),
        filter_string=msg.get("filter", ""),
        run_view_type=msg.get("run_view_type", "ACTIVE_ONLY"),
        max_results=msg.get("max_results", 1000),
        order_by=msg.get("order_by", []),
        page_token=msg.get("page_token") or None,
    )
    return render.search_runs_answer(store, runs, token)


def _each_present(prefix: str, *fields: str):
    """MLflow's nested required check: ``metrics[0].timestamp`` and the like."""

    def check(items: Any) -> None:
        for index, item in enumerate(items):
            for name in fields:
                required_in(f"{prefix}[{index}].{name}")(item.get(name))

    return check


def log_batch(store: TrackingStore, request: Request) -> Payload:
    if decode_json_body(request) is None:
        raise InternalServerError()  # MLflow measures the raw body first and crashes on None
    msg = read_request(request, m.LOG_BATCH, [
        ("run_id", [STRING, REQUIRED]),
        ("metrics", [ARRAY, _each_present("metrics", "key", "value", "timestamp")]),
        ("params", [ARRAY, _each_present("params", "key")]),
        ("tags", [ARRAY, _each_present("tags", "key")]),
    ])
    for x in msg.get("metrics", []):
        _check_metric_dataset(x)
    metrics = [
        MetricInput(x.get("key", ""), x.get("value", 0.0), x.get("timestamp", 0), x.get("step", 0),
                    x.get("model_id", ""), x.get("dataset_name", ""), x.get("dataset_digest", ""))
        for x in msg.get("metrics", [])
    ]
    store.log_batch(msg.get("run_id", ""), metrics, _pairs(msg.get("params", [])),
                    _pairs(msg.get("tags", [])))
    return {}


def log_inputs(store: TrackingStore, request: Request) -> Payload:
    msg = read_request(request, m.LOG_INPUTS, [
        ("run_id", [REQUIRED, STRING]), ("datasets", [ARRAY]), ("models", [ARRAY]),
    ])
    datasets = []
    repeated: set[tuple[str, str]] = set()  # first loggings whose tags name a key twice
    for item in msg.get("datasets", []):
        d = item.get("dataset", {})
        dataset = Dataset(d.get("name", ""), d.get("digest", ""), d.get("source_type", ""),
                          d.get("source", ""), d.get("schema", ""), d.get("profile", ""))
        pairs = _pairs(item.get("tags", []))
        key = (dataset.name, dataset.digest)
        if len({k for k, _ in pairs}) != len(pairs) and all(key != (x.dataset.name, x.dataset.digest)
                                                            for x in datasets):
            repeated.add(key)
        datasets.append(DatasetInput(dataset, dict(pairs)))
    model_ids = [x.get("model_id", "") for x in msg.get("models", [])]
    store.log_inputs(msg.get("run_id", ""), datasets, model_ids, repeated)
    return {}


def log_outputs(store: TrackingStore, request: Request) -> Payload:
    msg = read_request(request, m.LOG_OUTPUTS, [("run_id", [REQUIRED, STRING]), ("models", [REQUIRED, ARRAY])])
    outputs = [ModelOutput(x.get("model_id", ""), x.get("step", 0)) for x in msg.get("models", [])]
    store.log_outputs(msg.get("run_id", ""), outputs)
    return {}


_MODEL_FIELDS = ("artifact_path", "flavors", "utc_time_created", "run_id")


def log_model(store: TrackingStore, request: Request) -> Payload:
    msg = read_request(request, m.LOG_MODEL, [("run_id", [STRING, REQUIRED]), ("model_json", [STRING, REQUIRED])])
    text = msg.get("model_json", "")
    try:
        model = json.loads(text)
    except ValueError:
        raise invalid(f"Malformed model info. \n {text} \n is not a valid JSON.")
    missing = set(_MODEL_FIELDS) - set(model.keys())
    if missing:
        raise invalid(f"Model json is missing mandatory fields: {missing}")
    entry: dict[str, Any] = {"run_id": model["run_id"]}
    if model["artifact_path"] is not None:
        entry["artifact_path"] = model["artifact_path"]
    entry["utc_time_created"] = str(model["utc_time_created"])
    entry["model_uuid"] = model.get("model_uuid")
    entry["flavors"] = {
        name: ({k: val for k, val in config.items() if k != "config"} if isinstance(config, dict) else config)
        for name, config in (model["flavors"] or {}).items()
    }
    store.record_logged_model(msg.get("run_id", ""), entry)
    return {}


# ---- metrics and artifacts --------------------------------------------------------------------

def get_metric_history(store: TrackingStore, request: Request) -> render.RawJSON | render.StreamedJSON:
    msg = read_request(request, m.GET_METRIC_HISTORY, [
        ("run_id", [STRING, REQUIRED]), ("metric_key", [STRING, REQUIRED]), ("page_token", [STRING]),
    ])
    max_results = msg.get("max_results")
    if max_results is not None and max_results <= 0:
        raise invalid(
            f"Invalid value {max_results} for parameter 'max_results' supplied. "
            "It must be a positive integer."
        )
    key = msg.get("metric_key", "")
    window, token = store.get_metric_history(_run_id(msg), key, max_results, msg.get("page_token") or None)
    return history_answer(key, window, token)  # encoded later, outside the store lock


def _at_most_100_runs(value: Any) -> None:
    if len(value) > 100:
        raise CheckFailed(
            "GetMetricHistoryBulkInterval request must specify at most 100 run_ids. "
            f"Received {len(value)} run_ids."
        )


def _results_in_range(value: Any) -> None:
    if not 1 <= int(value) <= MAX_RESULTS_PER_RUN_BULK:
        raise CheckFailed(f"max_results must be between 1 and {MAX_RESULTS_PER_RUN_BULK}.")


MAX_HISTORY_BULK_POINTS = 25_000
MAX_HISTORY_BULK_RUNS = 100


def _drop_last(windows: list[tuple[str, HistoryWindow]], count: int) -> list[tuple[str, HistoryWindow]]:
    """The windows without their last ``count`` points (Python's ``[:-count]`` of the list)."""
    kept: list[tuple[str, HistoryWindow]] = []
    left = sum(len(window) for _, window in windows) - count
    for run_id, window in windows:
        if left <= 0:
            break
        take = min(len(window), left)
        kept.append((run_id, HistoryWindow(window.values[:take], window.timestamps[:take],
                                           window.steps[:take])))
        left -= take
    return kept


def get_metric_history_bulk(store: TrackingStore, request: Request) -> render.StreamedJSON:
    """The UI's older bulk history route (``/ajax-api`` only): a plain Flask handler that reads
    the query string itself, with no proto parsing."""
    args = request.args
    run_ids = args.getlist("run_id")
    if not run_ids:
        raise invalid("GetMetricHistoryBulk request must specify at least one run_id.")
    if len(run_ids) > MAX_HISTORY_BULK_RUNS:
        raise invalid(f"GetMetricHistoryBulk request cannot specify more than "
                      f"{MAX_HISTORY_BULK_RUNS} run_ids. Received {len(run_ids)} run_ids.")
    key = args.get("metric_key")
    if key is None:
        raise invalid("GetMetricHistoryBulk request must specify a metric_key.")
    try:
        max_results = min(int(args.get("max_results", MAX_HISTORY_BULK_POINTS)),
                          MAX_HISTORY_BULK_POINTS)
    except ValueError:
        raise InternalServerError() from None  # MLflow's int() of the raw text fails alike
    windows = store.get_metric_history_bulk(run_ids, key, max_results)
    if max_results < 0:  # SQLite read everything; MLflow then slices [:max_results]
        windows = _drop_last(windows, -max_results)
    return bulk_answer(key, windows)  # encoded later, outside the store lock


def get_metric_history_bulk_interval(
    store: TrackingStore, request: Request
) -> render.RawJSON | render.StreamedJSON:
    msg = read_request(request, m.GET_METRIC_HISTORY_BULK_INTERVAL, [
        ("run_ids", [REQUIRED, ARRAY, ITEM_STRINGS, _at_most_100_runs]),
        ("metric_key", [REQUIRED, STRING]), ("start_step", [INTLIKE]), ("end_step", [INTLIKE]),
        ("max_results", [INTLIKE, _results_in_range]),
    ])
    args = request.args  # MLflow reads these three straight from the query string
    start, end = args.get("start_step"), args.get("end_step")
    try:
        max_results = int(args.get("max_results", MAX_RESULTS_PER_RUN_BULK))
        both = start is not None and end is not None
        start_step, end_step = (int(start), int(end)) if both else (None, None)
    except ValueError:
        raise InternalServerError()  # MLflow's int() of the raw text ("-0.0") crashes alike
    if start_step is not None and end_step is not None:
        if start_step > end_step:
            raise invalid(
                "end_step must be greater than start_step. "
                f"Found start_step={start_step} and end_step={end_step}."
            )
    elif start is not None or end is not None:
        raise invalid("If either start step or end step are specified, both must be specified.")
    key = msg.get("metric_key", "")
    sampled = store.get_metric_history_bulk_interval(
        msg.get("run_ids", []), key, max_results, start_step, end_step
    )
    return bulk_interval_answer(key, sampled)  # encoded later, outside the store lock
