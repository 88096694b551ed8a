"""SearchRuns: filters over attributes/metrics/params/tags, ordering, view types, paging, errors."""

from __future__ import annotations

from ..model import ajax_post, case, get, post
from .common import TS, new_experiment, new_run, split_options


def search(**fields: object) -> object:
    body, options = split_options(fields)
    return post("runs/search", {"experiment_ids": ["${e1}", "${e2}"], **body}, **options)


def seed() -> list:
    """Two experiments, four runs with distinct start times, metrics, params and tags."""
    return [
        new_experiment("e1", name="${p}-1"),
        new_experiment("e2", name="${p}-2"),
        new_run("r1", "e1", run_name="alpha", start_time=TS + 3, user_id="ann",
                tags=[{"key": "team", "value": "red"}, {"key": "even", "value": "no"}]),
        new_run("r2", "e1", run_name="Beta", start_time=TS + 1, user_id="bob",
                tags=[{"key": "team", "value": "blue"}, {"key": "even", "value": "yes"}]),
        new_run("r3", "e2", run_name="gamma", start_time=TS + 2, user_id="ann",
                tags=[{"key": "team", "value": "Red"}]),
        new_run("r4", "e2", run_name="delta", start_time=TS, user_id="cat"),
        post("runs/log-batch", {"run_id": "${r1}", "metrics": [{"key": "acc", "value": 0.9, "timestamp": TS}],
                                "params": [{"key": "lr", "value": "0.1"}, {"key": "opt", "value": "adam"}]}),
        post("runs/log-batch", {"run_id": "${r2}", "metrics": [{"key": "acc", "value": 0.5, "timestamp": TS},
                                                              {"key": "loss", "value": 2, "timestamp": TS}],
                                "params": [{"key": "lr", "value": "0.01"}]}),
        post("runs/log-batch", {"run_id": "${r3}", "metrics": [{"key": "acc", "value": "NaN", "timestamp": TS}],
                                "params": [{"key": "lr", "value": "1"}, {"key": "opt", "value": "sgd"}]}),
        post("runs/update", {"run_id": "${r2}", "status": "FINISHED", "end_time": TS + 100}),
        post("runs/update", {"run_id": "${r3}", "status": "FAILED", "end_time": TS + 50}),
    ]


CASES = [
    case(
        "run-search-filters",
        *seed(),
        search(),
        search(filter="metrics.acc > 0.6"),
        search(filter="metrics.acc >= 0.5"),
        search(filter="metrics.acc != 0.5"),
        search(filter="metrics.acc = 0.9"),
        search(filter="metrics.acc < 1e1"),
        search(filter="metric.loss <= 2"),
        search(filter="metrics.`acc` > 0"),
        search(filter="params.lr = '0.1'"),
        search(filter="params.lr != '0.1'"),
        search(filter="param.opt LIKE 'a%'"),
        search(filter="params.opt ILIKE '%G%'"),
        search(filter="params.opt IS NULL"),
        search(filter="params.opt IS NOT NULL"),
        search(filter="tags.team = 'red'"),
        search(filter="tags.team LIKE 'R%'"),
        search(filter="tags.team ILIKE 'r%'"),
        search(filter="tags.even != 'yes'"),
        search(filter="tags.even IS NULL"),
        search(filter="tags.\"team\" = 'blue'"),
        search(filter="tags.`mlflow.runName` = 'alpha'"),
        search(filter="attributes.status = 'FINISHED'"),
        search(filter="status != 'RUNNING'"),
        search(filter="attribute.user_id = 'ann'"),
        search(filter="run_name = 'Beta'"),
        search(filter="run_name ILIKE 'beta'"),
        search(filter="`Run name` LIKE '%a'"),
        search(filter="attributes.run_id = '${r1}'"),
        search(filter="run_id IN ('${r1}', '${r3}')"),
        search(filter="run_id NOT IN ('${r1}')"),
        search(filter="start_time >= %d" % (TS + 2)),
        search(filter="created < %d" % (TS + 2)),
        search(filter="end_time > 0"),
        search(filter="artifact_uri LIKE '%${r1}%'"),
        search(filter="metrics.acc > 0 and params.lr = '0.1' AND tags.team = 'red'"),
        search(filter="metrics.nope > 0"),
        search(filter=""),
        post("runs/search", {"experiment_ids": ["${e1}"], "filter": "metrics.acc > 0"}),
        post("runs/search", {"experiment_ids": []}),
        post("runs/search", {}),
        post("runs/search", {"experiment_ids": ["987654321"]}),
        post("runs/search", {"experiment_ids": "0"}),
        post("runs/search", {"experimentIds": ["${e1}"]}),
        ajax_post("runs/search", {"experiment_ids": ["${e1}"]}),
    ),
    case(
        "run-search-order",
        *seed(),
        search(order_by=["start_time"]),
        search(order_by=["start_time DESC"]),
        search(order_by=["metrics.acc DESC"]),
        search(order_by=["metrics.acc"]),
        search(order_by=["metrics.loss"]),
        search(order_by=["params.lr"]),
        search(order_by=["params.lr DESC"]),
        search(order_by=["tags.team"]),
        search(order_by=["attributes.run_name"]),
        search(order_by=["run_name DESC"]),
        search(order_by=["user_id asc", "start_time desc"]),
        search(order_by=["status"]),
        search(order_by=["end_time DESC"]),
        search(order_by=["created"]),
        search(order_by=["Created DESC"]),
        search(order_by=["attribute.start_time ASC", "metrics.acc DESC"]),
        search(order_by=["metrics.`acc` DESC"]),
    ),
    case(
        "run-search-paging-and-views",
        *seed(),
        post("runs/delete", {"run_id": "${r4}"}),
        search(max_results=2, capture={"t1": "next_page_token"}),
        search(max_results=2, page_token="${t1}", capture={"t2": "next_page_token"}),
        search(max_results=3, note="exactly exhausts active runs: no token"),
        search(max_results=1, page_token="${t1}"),
        search(run_view_type="DELETED_ONLY"),
        search(run_view_type="ALL"),
        search(run_view_type="ALL", max_results=2, page_token="${t1}"),
        search(run_view_type=3),
        search(run_view_type="BOGUS"),
        search(runViewType="ALL"),
        search(max_results="2"),
        search(page_token="garbage"),
        search(page_token="eyJvZmZzZXQiOiAwfQ=="),
        search(page_token="eyJvZmZzZXQiOiA5OX0="),
        search(max_results=50000),
    ),
    case(
        "run-search-invalid",
        *seed()[:3],
        search(filter="metrics.acc > 0 OR metrics.acc < 0"),
        search(filter="foo.acc > 0"),
        search(filter="attributes.lifecycle_stage = 'active'"),
        search(filter="experiment_id = '1'"),
        search(filter="status IN ('RUNNING')"),
        search(filter="metrics.acc IS NULL"),
        search(filter="params.lr > '1'"),
        search(filter="metrics.acc > 'x'"),
        search(filter="params.lr = 1"),
        search(filter="tags.team = red"),
        search(filter="run_name = 'a' AND"),
        search(filter="(metrics.acc > 0)"),
        search(filter="start_time > 'yesterday'"),
        search(filter="dataset.bogus = 'x'"),
        search(filter=7),
        search(order_by=["start_time", "start_time"]),
        search(order_by=["metrics.acc DOWN"]),
        search(order_by=["bogus"]),
        search(order_by=["`Run name`"]),
        search(order_by=["lifecycle_stage"]),
        search(order_by="start_time"),
        search(max_results=0),
        search(max_results=-5),
        search(max_results=50001),
        search(max_results="abc"),
        post("runs/search", {"experiment_ids": ["abc"]}),
        post("runs/search", {"experiment_ids": [1]}),
        get("runs/search", {"experiment_ids": "${e1}"}),
    ),
]


def _many_runs(count: int) -> list:
    steps = [new_experiment("e1")]
    for i in range(count):
        steps.append(new_run(f"r{i}", "e1", run_name=f"run-{i:02d}", start_time=TS + (i * 7) % count))
        metrics = [] if i % 5 == 4 else [{"key": "m", "value": float(i % 4), "timestamp": TS}]
        steps.append(post("runs/log-batch", {"run_id": "${r%d}" % i, "metrics": metrics,
                                             "params": [{"key": "p", "value": str(i % 3)}],
                                             "tags": [{"key": "odd", "value": str(i % 2)}]}))
    return steps


def _pages(order_by: list[str], filter_string: str = "", size: int = 6, pages: int = 5) -> list:
    steps = []
    for page in range(pages):
        body = {"experiment_ids": ["${e1}"], "max_results": size, "order_by": order_by, "filter": filter_string}
        if page:
            body["page_token"] = "${tok%d}" % page
        steps.append(post("runs/search", body, capture={"tok%d" % (page + 1): "next_page_token"}))
    return steps


CASES.append(case(
    "run-search-many-pages",
    *_many_runs(25),
    *_pages(["metrics.m DESC"]),
    *_pages(["params.p", "metrics.m"], pages=3, size=10),
    *_pages([], filter_string="tags.odd = '1' AND metrics.m >= 1", size=4, pages=3),
    *_pages(["tags.odd DESC", "attributes.run_name"], size=8, pages=4),
))
