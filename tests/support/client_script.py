"""A typical MLflow training script, run through the real Python client, and a snapshot of
what it leaves on the server — so the same script can be compared across two servers.

Everything the script sends is deterministic except client clocks (run start/end times that
the fluent API stamps with "now"); ``snapshot_normaliser`` masks those.
"""

from __future__ import annotations

import math
import os
from contextlib import contextmanager
from typing import Any, Callable, Iterator

T0 = 1_700_000_000_000
CLIENT_CLOCK_KEYS = frozenset({"start_time", "end_time"})


@contextmanager
def mlflow_pointed_at(uri: str) -> Iterator[None]:
    """Point the fluent API at ``uri``; restore the tracking and registry URIs, the active
    experiment and runs after (a script may set the registry URI itself)."""
    import mlflow
    from mlflow.tracking import fluent
    from mlflow.tracking._model_registry import utils as registry_utils
    from mlflow.tracking._tracking_service import utils as tracking_utils

    saved_uri = tracking_utils._tracking_uri
    saved_registry_uri = registry_utils._registry_uri
    # set_experiment and set_registry_uri also write these to the environment
    saved_env = {name: os.environ.get(name) for name in ("MLFLOW_EXPERIMENT_ID", "MLFLOW_REGISTRY_URI")}
    saved_experiment = fluent._active_experiment_id
    mlflow.set_tracking_uri(uri)
    try:
        yield
    finally:
        while mlflow.active_run() is not None:
            mlflow.end_run()
        fluent._active_experiment_id = saved_experiment
        mlflow.set_tracking_uri(saved_uri)
        registry_utils._registry_uri = saved_registry_uri
        for name, value in saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _error(call: Callable[[], Any]) -> dict[str, Any]:
    """Run a call expected to fail; keep the client-visible error code (and no URLs/ports)."""
    from mlflow.exceptions import MlflowException

    try:
        result = call()
    except MlflowException as exc:
        return {"raised": type(exc).__name__, "error_code": exc.error_code}
    return {"raised": None, "result": result}


def _experiment(exp: Any) -> dict[str, Any] | None:
    if exp is None:
        return None
    return {
        "experiment_id": exp.experiment_id, "name": exp.name, "artifact_location": exp.artifact_location,
        "lifecycle_stage": exp.lifecycle_stage, "tags": dict(exp.tags),
        "creation_time": exp.creation_time, "last_update_time": exp.last_update_time,
    }


def _run(run: Any) -> dict[str, Any]:
    return run.to_dictionary()


def _history(metrics: list[Any]) -> list[dict[str, Any]]:
    return [m.to_dictionary() for m in metrics]


def _names(runs: list[Any]) -> list[str]:
    return [r.info.run_name for r in runs]


def training_script(uri: str, prefix: str) -> dict[str, Any]:
    """The script: fluent logging, client batch logging, then reads, lifecycle and errors."""
    import mlflow
    from mlflow import MlflowClient
    from mlflow.entities import Metric, Param, RunTag, ViewType

    snap: dict[str, Any] = {}
    client = MlflowClient(tracking_uri=uri)
    with mlflow_pointed_at(uri):
        experiment = mlflow.set_experiment(f"{prefix}-exp")
        exp_id = experiment.experiment_id
        snap["set_experiment_again"] = _experiment(mlflow.set_experiment(f"{prefix}-exp"))

        with mlflow.start_run(run_name="train", tags={"stage": "dev"}) as run:
            run1 = run.info.run_id
            mlflow.log_param("lr", 0.1)
            mlflow.log_params({"epochs": 3, "opt": "adam", "long": "x" * 7000})
            for step in range(5):
                mlflow.log_metric("loss", 1.0 / (step + 1), step=step, timestamp=T0 + step)
            mlflow.log_metric("loss", 0.2, step=4, timestamp=T0 + 4)  # exact duplicate point
            mlflow.log_metrics({"acc": 0.9, "f1": 0.8}, step=4, timestamp=T0 + 10)
            mlflow.log_metric("nan", math.nan, timestamp=T0)
            mlflow.log_metric("inf", math.inf, timestamp=T0)
            mlflow.log_metric("ninf", -math.inf, timestamp=T0)
            mlflow.set_tag("team", "x")
            mlflow.set_tags({"a": "1", "b": "2"})

        created = client.create_run(exp_id, run_name="batch", start_time=T0, tags={"k": "v"})
        run2 = created.info.run_id
        snap["create_run"] = _run(created)
        client.log_batch(
            run2,
            metrics=[Metric("m", 1.0, T0, 0), Metric("m", 2.0, T0 + 1, 1), Metric("m", 0.5, T0 + 2, 1)],
            params=[Param("p", "1")],
            tags=[RunTag("t", "1"), RunTag("mlflow.runName", "batch-renamed")],
        )
        client.set_terminated(run2, status="KILLED", end_time=T0 + 100)

        run3 = mlflow.start_run(run_name="failing").info.run_id
        mlflow.log_metric("acc", 0.1, step=0, timestamp=T0)
        mlflow.end_run(status="FAILED")

        snap["runs"] = [_run(client.get_run(r)) for r in (run1, run2, run3)]
        snap["loss_history"] = _history(client.get_metric_history(run1, "loss"))
        snap["nan_history"] = _history(client.get_metric_history(run1, "nan"))
        snap["m_history"] = _history(client.get_metric_history(run2, "m"))
        snap["search_acc"] = _names(client.search_runs([exp_id], filter_string="metrics.acc > 0.5"))
        snap["search_by_name"] = _names(client.search_runs([exp_id], order_by=["attributes.run_name ASC"]))
        snap["search_by_metric"] = _names(client.search_runs([exp_id], order_by=["metrics.acc DESC"]))
        snap["search_params"] = _names(client.search_runs([exp_id], filter_string="params.opt = 'adam'"))
        snap["search_status"] = _names(client.search_runs([exp_id], filter_string="attributes.status = 'KILLED'"))
        page = client.search_runs([exp_id], max_results=2, order_by=["attributes.run_name ASC"])
        snap["page1"] = (_names(page), page.token is not None)
        snap["page2"] = _names(client.search_runs([exp_id], max_results=2, page_token=page.token,
                                                  order_by=["attributes.run_name ASC"]))
        snap["search_experiments"] = [
            _experiment(e) for e in client.search_experiments(filter_string=f"name LIKE '{prefix}%'")
        ]

        client.delete_run(run3)
        snap["active_after_delete"] = _names(client.search_runs([exp_id], order_by=["attributes.run_name"]))
        snap["deleted_only"] = _names(client.search_runs([exp_id], run_view_type=ViewType.DELETED_ONLY))
        client.restore_run(run3)
        snap["restored"] = client.get_run(run3).info.lifecycle_stage

        client.rename_experiment(exp_id, f"{prefix}-renamed")
        client.set_experiment_tag(exp_id, "note", "hi")
        client.set_experiment_tag(exp_id, "gone", "soon")
        client.delete_experiment_tag(exp_id, "gone")
        snap["renamed"] = _experiment(client.get_experiment(exp_id))
        snap["by_old_name"] = _experiment(client.get_experiment_by_name(f"{prefix}-exp"))
        client.delete_experiment(exp_id)
        snap["deleted_experiment"] = _experiment(client.get_experiment(exp_id))
        snap["run_in_deleted_experiment"] = client.get_run(run1).info.lifecycle_stage
        snap["errors"] = {
            "log_to_deleted_run": _error(lambda: client.log_param(run1, "x", "1")),
            "rename_deleted_experiment": _error(lambda: client.rename_experiment(exp_id, f"{prefix}-x")),
            "create_duplicate": _error(lambda: client.create_experiment(f"{prefix}-renamed")),
        }
        client.restore_experiment(exp_id)
        snap["restored_experiment"] = _experiment(client.get_experiment(exp_id))
        snap["errors"].update({
            "missing_run": _error(lambda: client.get_run("0" * 32)),
            "param_change": _error(lambda: client.log_param(run1, "lr", "0.2")),
            "same_param": _error(lambda: client.log_param(run1, "lr", "0.1")),
            "missing_tag": _error(lambda: client.delete_tag(run1, "nope")),
            "missing_experiment": _error(lambda: client.get_experiment("987654321")),
            "bad_filter": _error(lambda: client.search_runs([exp_id], filter_string="metrics.acc > 0 OR x")),
            "missing_by_name": _error(lambda: client.get_experiment_by_name(f"{prefix}-nope")),
        })
        snap["final_runs"] = [_run(client.get_run(r)) for r in (run1, run2, run3)]
    return snap


def bulk_script(uri: str, prefix: str) -> dict[str, Any]:
    """Client-side chunking (log_batch over the server limits) and paged experiment search."""
    from mlflow import MlflowClient
    from mlflow.entities import Metric, Param, RunTag, ViewType

    snap: dict[str, Any] = {}
    client = MlflowClient(tracking_uri=uri)
    exp_ids = [client.create_experiment(f"{prefix}-{i}", tags={"i": str(i)}) for i in range(5)]
    run = client.create_run(exp_ids[0], run_name="bulk", start_time=T0)
    run_id = run.info.run_id
    client.log_batch(
        run_id,
        metrics=[Metric("series", float(i % 17), T0 + i, i) for i in range(2100)],
        params=[Param(f"p{i:03d}", str(i)) for i in range(120)],
        tags=[RunTag(f"t{i:03d}", "x" * 9000 if i == 0 else str(i)) for i in range(120)],
    )
    history = client.get_metric_history(run_id, "series")
    snap["history_len"] = len(history)
    snap["history_head"] = _history(history[:5])
    snap["history_tail"] = _history(history[-5:])
    fetched = client.get_run(run_id)
    snap["param_count"] = len(fetched.data.params)
    snap["tag_t000_len"] = len(fetched.data.tags["t000"])
    snap["latest_series"] = fetched.data.metrics["series"]

    client.delete_experiment(exp_ids[4])
    pages, token = [], None
    while True:
        page = client.search_experiments(
            view_type=ViewType.ALL, max_results=2, filter_string=f"name LIKE '{prefix}-%'",
            order_by=["name DESC"], page_token=token,
        )
        pages.append([e.name for e in page])
        token = page.token
        if not token:
            break
    snap["experiment_pages"] = pages
    snap["active_only"] = [e.name for e in client.search_experiments(filter_string=f"name LIKE '{prefix}-%'")]
    snap["deleted_by_name"] = _experiment(client.get_experiment_by_name(f"{prefix}-4"))
    snap["tagged"] = [e.name for e in client.search_experiments(filter_string="tags.i = '3'")
                      if e.name.startswith(prefix)]
    return snap
