"""Evaluation datasets and their records as MLflow 3.17.2 writes them.

A dataset is a ``mlflow.datasets.Dataset`` message in proto JSON (optional fields left out when
unset, tags as a JSON text). Records travel as one JSON text: a list of ``DatasetRecord``
dictionaries in proto field order, written with ``json.dumps``' default spacing.
"""

from __future__ import annotations

import json
from typing import Any

from fakeflow.state.eval_datasets import WRAPPED_OUTPUT, EvalDataset, EvalRecord

Payload = dict[str, Any]


def dataset(d: EvalDataset, experiment_ids: list[str] | None = None) -> Payload:
    out: Payload = {"dataset_id": d.dataset_id, "name": d.name, "tags": json.dumps(d.tags)}
    for name in ("schema", "profile"):
        value = getattr(d, name)
        if value is not None:
            out[name] = value
    out["digest"] = d.digest
    out["created_time"] = d.created_time
    out["last_update_time"] = d.last_update_time
    for name in ("created_by", "last_updated_by"):
        value = getattr(d, name)
        if value is not None:
            out[name] = value
    if experiment_ids:
        out["experiment_ids"] = list(experiment_ids)
    return out


def record(r: EvalRecord) -> Payload:
    """``DatasetRecord.to_dict()``: proto fields in number order, JSON fields decoded."""
    out: Payload = {"dataset_record_id": r.dataset_record_id, "dataset_id": r.dataset_id,
                    "inputs": r.inputs}
    if r.expectations is not None:
        out["expectations"] = r.expectations
    out["tags"] = {} if r.tags is None else r.tags
    source_id = r.source_id
    if r.source is not None:
        out["source"] = r.source
        if not source_id:  # MLflow re-derives an empty source id from the source's data
            data = r.source.get("source_data") or {}
            source_id = data.get("trace_id" if r.source["source_type"] == "TRACE" else "source_id")
    if source_id is not None:
        out["source_id"] = source_id
    if r.source is not None:
        out["source_type"] = r.source["source_type"]
    out["created_time"] = r.created_time
    out["last_update_time"] = r.last_update_time
    for name in ("created_by", "last_updated_by"):
        value = getattr(r, name)
        if value is not None:
            out[name] = value
    outputs = r.outputs.get(WRAPPED_OUTPUT) if r.outputs else None
    if outputs is not None:
        out["outputs"] = outputs
    return out


def records_text(records: list[EvalRecord]) -> str:
    return json.dumps([record(r) for r in records])
