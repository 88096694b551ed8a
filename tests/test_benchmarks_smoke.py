"""The benchmark code runs end to end in a tiny mode, so it cannot rot. No timing is asserted:
speed is reported by ``python -m benchmarks.bench_core``, not judged by the test suite."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from werkzeug.test import Client

from benchmarks import _memory, bench_core
from benchmarks._client import BenchmarkError, Call, RawClient, replay
from benchmarks._serve import bare_app
from benchmarks._workloads import log_metric_calls
from fakeflow import ThreadedServer, create_app

REPO_ROOT = Path(__file__).resolve().parent.parent
POINT_PAYLOAD_BYTES = 24  # a double and two int64s: what a point cannot take less than


@pytest.fixture(scope="module")
def tiny_results(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """One tiny benchmark run through the command-line entry point, read back from --json."""
    out = tmp_path_factory.mktemp("bench") / "core.json"
    assert bench_core.main(["--tiny", "--json", str(out)]) == 0
    return json.loads(out.read_text())


def test_every_throughput_figure_is_produced(tiny_results: dict) -> None:
    config = bench_core.TINY
    for workload, per_round in (("log_metric", config.log_metric_requests),
                                ("search", config.search_requests)):
        figures = tiny_results["throughput"][workload]
        for target in ("fakeflow", "bare"):
            assert figures[f"{target}_rps"] > 0
            assert len(figures[f"{target}_rounds_rps"]) == config.rounds
            assert figures["requests"][target] == config.rounds * per_round
        assert figures["fakeflow_vs_bare"] > 0
        assert figures["real_rps"] is None and figures["fakeflow_vs_real"] is None
    assert tiny_results["real"] is None


def test_search_workload_does_the_real_work(tiny_results: dict) -> None:
    # fakeflow answered the benchmark search with the page MLflow's ordering gives.
    assert tiny_results["throughput"]["search"]["page_matches"] == {"fakeflow": True}


def test_every_startup_figure_is_produced(tiny_results: dict) -> None:
    startup = tiny_results["startup"]
    for way in ("in_process", "cold_import", "cli_serve"):
        assert startup[way]["median_s"] > 0
        assert len(startup[way]["samples_s"]) == bench_core.TINY.startup_repeats
    assert startup["cli_serve"]["first_run_s"] > 0


def test_memory_figures_come_from_real_allocations(tiny_results: dict) -> None:
    for name in ("store", "short_histories", "http"):
        figure = tiny_results["memory"][name]
        assert figure["points"] > 0
        # Fewer retained bytes than the points' raw payload would mean nothing was traced.
        assert figure["retained_bytes"] >= POINT_PAYLOAD_BYTES * figure["points"]
        assert figure["bytes_per_point"] == figure["retained_bytes"] / figure["points"]


def test_targets_are_judged_and_reported(tiny_results: dict) -> None:
    targets = {t["name"]: t for t in tiny_results["targets"]}
    assert len(targets) == 9
    for name, target in targets.items():
        if "real MLflow" in name:
            assert target["passed"] is None and target["measured"] is None
        else:
            assert isinstance(target["passed"], bool) and target["measured"] > 0
    text = bench_core.render(tiny_results, bench_core.judge(tiny_results))
    for fragment in ("log-metric", "run search", "startup", "bytes per metric point", "targets:"):
        assert fragment in text


def test_memory_per_metric_point_is_within_target() -> None:
    # The target: at most 100 bytes kept per logged point, long and short histories.
    long_history = _memory.store_bytes_per_point(50_000)
    assert POINT_PAYLOAD_BYTES <= long_history["bytes_per_point"] <= 100
    short_histories = _memory.short_histories_bytes_per_point(50, 10, 10)
    assert short_histories["bytes_per_point"] <= 100


def test_bare_app_reads_the_body_and_answers_empty_json() -> None:
    response = Client(bare_app).post("/api/2.0/mlflow/runs/log-metric", data=b'{"a": 1}',
                                     content_type="application/json")
    assert response.status_code == 200
    assert response.get_json() == {}


def test_an_error_answer_is_not_counted_as_throughput() -> None:
    with ThreadedServer(create_app()) as server:
        client = RawClient(server.url)
        try:
            assert replay(client, [Call("GET", "/health")] * 3).count == 3
            with pytest.raises(BenchmarkError, match="404"):
                replay(client, log_metric_calls("f" * 32, 2))
        finally:
            client.close()


def test_script_entry_point_runs_outside_the_package() -> None:
    result = subprocess.run([sys.executable, str(REPO_ROOT / "benchmarks" / "bench_core.py"),
                             "--help"], capture_output=True, text=True, timeout=60, cwd="/")
    assert result.returncode == 0, result.stderr
    assert "--no-real" in result.stdout and "--json" in result.stdout
