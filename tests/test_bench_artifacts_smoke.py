"""bench_artifacts runs end to end on a small file, so it cannot rot (no timing is asserted)."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("mlflow", reason="the benchmark drives the real MLflow client")


def test_bench_artifacts_reports_throughput_and_memory(tmp_path, monkeypatch):
    """At CI's size (16 MB; below that the client's fixed ~2 MB of buffers dominates the ratio)."""
    import mlflow

    from benchmarks import bench_artifacts

    tracking_uri = mlflow.get_tracking_uri()

    monkeypatch.setenv("MLFLOW_DISABLE_TELEMETRY", "true")
    out = tmp_path / "figures.json"
    assert bench_artifacts.main(["--quick", "--json", str(out)]) == 0
    figures = json.loads(out.read_text())
    assert figures["round_trip_identical"] is True
    assert figures["size_bytes"] == 16 * 1024 * 1024
    assert figures["upload_mb_per_s"] > 0 and figures["download_mb_per_s"] > 0
    assert figures["peak_over_size"] < 2
    assert mlflow.get_tracking_uri() == tracking_uri  # the benchmark leaves MLflow's state alone
