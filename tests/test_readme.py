"""The README's quick start must run as written."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"


def test_quick_start_runs_and_prints_the_metrics(capsys, monkeypatch):
    pytest.importorskip("mlflow")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    text = README.read_text(encoding="utf-8")
    block = re.search(r"## Quick start with the MLflow client\n\n```python\n(.*?)```", text, re.S)
    assert block, "README lost its quick start"
    import mlflow
    from mlflow.tracking import fluent

    previous = mlflow.get_tracking_uri()
    try:
        exec(compile(block.group(1), str(README), "exec"), {})
    finally:
        mlflow.set_tracking_uri(previous)
        fluent._active_experiment_id = None  # the snippet's set_experiment must not leak
    assert "{'loss': 0.3333333333333333}" in capsys.readouterr().out
