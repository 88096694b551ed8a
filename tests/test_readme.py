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


def test_route_table_is_the_generated_one():
    from fakeflow.web.route_doc import BEGIN_MARKER, END_MARKER, routes_markdown

    text = README.read_text(encoding="utf-8")
    start, end = text.find(BEGIN_MARKER), text.find(END_MARKER)
    assert start >= 0 and end > start, "README lost its generated route table"
    assert text[start:end + len(END_MARKER)] == routes_markdown(), (
        "README's route table is stale: paste the output of `python -m fakeflow.web.route_doc`"
    )
