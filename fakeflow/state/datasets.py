"""Dataset summaries: what the UI lists as an experiment's datasets.

Shared by ``POST /ajax-api/2.0/mlflow/experiments/search-datasets`` and GraphQL's
``mlflowSearchDatasets``, which MLflow answers from the same store query.
"""

from __future__ import annotations

from typing import Any

from fakeflow.state.tracking import TrackingStore
from fakeflow.state.validation import check_sqlite_integer, parse_experiment_id

#: MLflow's SQL store stops collecting distinct rows at this many.
MAX_DATASET_SUMMARIES = 1000
DATASET_CONTEXT_TAG = "mlflow.data.context"


def dataset_summaries(store: TrackingStore, experiment_ids: list[str]) -> list[dict[str, Any]]:
    """Distinct (experiment, dataset name, digest, context) over the runs' dataset inputs.

    Ids are compared as the integers SQL binds (" 2" is experiment 2); a non-integer id is
    MLflow's INVALID_PARAMETER_VALUE, one beyond int64 its driver's 500.
    """
    wanted = set()
    for experiment_id in experiment_ids:
        number = parse_experiment_id(experiment_id)
        check_sqlite_integer(number)
        wanted.add(number)
    seen: dict[tuple[str, str, str, str | None], None] = {}
    for run in store.runs.values():
        if not run.experiment_id.isdigit() or int(run.experiment_id) not in wanted:
            continue
        for dataset_input in run.dataset_inputs:
            context = dataset_input.tags.get(DATASET_CONTEXT_TAG)
            dataset = dataset_input.dataset
            seen.setdefault((run.experiment_id, dataset.name, dataset.digest, context), None)
    out = []
    # SQLite walks its unique (experiment, name, digest) index to make the rows distinct,
    # and stops at the limit.
    rows = sorted(seen, key=_index_order)[:MAX_DATASET_SUMMARIES]
    for experiment_id, name, digest, context in rows:
        summary = {"experiment_id": experiment_id, "name": name, "digest": digest}
        if context is not None:
            summary["context"] = context
        out.append(summary)
    return out


def _index_order(row: tuple[str, str, str, str | None]) -> tuple[int, str, str]:
    experiment_id, name, digest, _context = row
    return (int(experiment_id) if experiment_id.isdigit() else -1, name, digest)
