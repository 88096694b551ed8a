"""Random trace-metric queries, answered by real MLflow 3.17.2 and by fakeflow over the same
traces, must agree: views, metrics, aggregations (valid and not), dimensions, filters, time
buckets, time ranges and ``max_results``. The differential catalogue holds the fixed cases."""

from __future__ import annotations

import os
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fakeflow.search.trace_metrics import CONFIGS
from tests.differential.catalogue.common import new_experiment
from tests.differential.catalogue.trace_metrics import METRICS, load_steps
from tests.differential.compare import compare
from tests.differential.harness import Side, _SideRun, new_suffix
from tests.differential.model import Case, Step

EXAMPLES = int(os.environ.get("FAKEFLOW_TRACE_METRICS_EXAMPLES", "30"))
KINDS = ("COUNT", "SUM", "AVG", "PERCENTILE", "MIN", "MAX")
FILTERS = {
    "TRACES": ["trace.status = 'OK'", "trace.status = 'ERROR'", "trace.tag.team = 't0'",
               "trace.tag.mlflow.traceName = 'plan'", "trace.metadata.mlflow.trace.session = 'sess-1'",
               "trace.metadata.mlflow.trace.session = 's2'"],
    "SPANS": ["span.type = 'LLM'", "span.status = 'OK'", "span.name = 'step-1'", "span.status = 'UNSET'"],
    "ASSESSMENTS": ["assessment.name = 'correct'", "assessment.type = 'feedback'"],
}
ALL_DIMENSIONS = sorted({d for view in CONFIGS.values() for _, dims in view.values() for d in dims})


@pytest.fixture(scope="module")
def loaded(reference_server: Any, fakeflow_server: Any) -> list[_SideRun]:
    suffix = new_suffix()
    case = Case("trace-metrics-hypothesis", (new_experiment("e1"), *load_steps(count=16, seed=11)))
    runs = [_SideRun(Side(label, url, suffix), case)
            for label, url in (("mlflow", reference_server.url), ("fakeflow", fakeflow_server.url))]
    for step in case.steps:
        for run in runs:
            assert run.perform(step).reply.status == 200
    return runs


@st.composite
def queries(draw: st.DrawFn) -> dict[str, Any]:
    view = draw(st.sampled_from(sorted(CONFIGS)))
    metrics = CONFIGS[view]
    metric = draw(st.sampled_from(sorted(metrics)))
    kinds, dims = metrics[metric]
    pool = sorted(kinds) if draw(st.integers(0, 9)) else list(KINDS)
    aggregations = []
    for kind in draw(st.lists(st.sampled_from(pool), min_size=1, max_size=3)):
        entry: dict[str, Any] = {"aggregation_type": kind}
        if kind == "PERCENTILE":
            entry["percentile_value"] = draw(st.sampled_from([0, 10, 50, 62.5, 90, 100]))
        aggregations.append(entry)
    dim_pool = sorted(dims) if draw(st.integers(0, 9)) else ALL_DIMENSIONS
    body: dict[str, Any] = {"experiment_ids": ["${e1}"], "view_type": view, "metric_name": metric,
                            "aggregations": aggregations}
    dimensions = draw(st.lists(st.sampled_from(dim_pool), max_size=2, unique=True)) if dim_pool else []
    if dimensions:
        body["dimensions"] = dimensions
    filters = draw(st.lists(st.sampled_from(FILTERS["TRACES"] + FILTERS.get(view, [])), max_size=2))
    if filters:
        body["filters"] = filters
    if draw(st.booleans()):
        body["time_interval_seconds"] = draw(st.sampled_from([60, 300, 3600, 86400]))
    if draw(st.booleans()) or "time_interval_seconds" in body:
        start = 1_700_000_000_000 + draw(st.integers(-1, 40)) * 60_000
        body["start_time_ms"] = start
        body["end_time_ms"] = start + draw(st.integers(0, 60)) * 60_000
    if draw(st.integers(0, 4)) == 0:
        body["max_results"] = draw(st.integers(-1, 5))
    return body


@settings(max_examples=EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(body=queries())
def test_random_metric_queries_agree(loaded: list[_SideRun], body: dict[str, Any]) -> None:
    step = Step("POST", METRICS, json=body)
    real, fake = (run.perform(step) for run in loaded)
    diffs = compare(real.reply, real.normalised, fake.reply, fake.normalised, frozenset())
    assert not diffs, (body, diffs, real.reply.text[:2000], fake.reply.text[:2000])
