"""The history benchmark runs end to end in its tiny mode, so it cannot rot. No timing is
asserted: ``python -m benchmarks.bench_history`` reports speed, the test suite does not judge it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks import bench_history

REPO_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def tiny_results(tmp_path_factory: pytest.TempPathFactory) -> dict:
    out = tmp_path_factory.mktemp("bench") / "history.json"
    assert bench_history.main(["--tiny", "--json", str(out)]) == 0
    return json.loads(out.read_text())


def test_every_page_figure_is_produced(tiny_results: dict) -> None:
    figures = tiny_results["fakeflow"]
    points = bench_history.TINY.points
    assert figures["points"] == points and figures["page"] == bench_history.PAGE
    for way in ("in_process", "http"):
        assert set(figures[way]) == {"start", "middle", "end"}
        assert [figures[way][p]["offset"] for p in ("start", "middle", "end")] == \
            [0, points // 2, points - bench_history.PAGE]
        for entry in figures[way].values():
            assert 0 < entry["min_s"] <= entry["median_s"]
    assert figures["untidy_in_process"]["first_page_s"] > 0
    assert figures["full_in_process"]["bytes"] == figures["full_http"]["bytes"] > 100 * points
    assert "real" not in tiny_results  # tiny never starts real MLflow


def test_memory_figures_come_from_the_child(tiny_results: dict) -> None:
    memory = tiny_results["memory"]
    if "skipped" in memory:
        pytest.skip(memory["skipped"])
    assert memory["points"] == bench_history.TINY.points
    assert memory["logging"]["seconds"] > 0
    streamed, joined = memory["streamed"], memory["joined"]
    assert streamed["body_bytes"] == joined["body_bytes"] == \
        tiny_results["fakeflow"]["full_in_process"]["bytes"]
    assert streamed["chunks"] > 1 and joined["chunks"] == 1
    # Joining keeps the whole body: its peak cannot be below the body's size.
    assert joined["peak_growth_bytes"] >= joined["body_bytes"] * 0.9


def test_the_report_names_every_figure(tiny_results: dict) -> None:
    text = bench_history.render(tiny_results)
    for fragment in ("one page of 1,000 points", "start", "middle", "end", "untidy history",
                     "whole history in one answer", "logging through the store",
                     "sent chunk by chunk", "joined into one bytes", "load average"):
        assert fragment in text


def test_a_page_that_is_not_the_expected_one_aborts() -> None:
    body = json.dumps({"metrics": [{"step": 5}]}).encode()
    with pytest.raises(RuntimeError, match="page at 0"):
        bench_history._check_page(body, 0, 10)


def test_script_entry_point_runs_outside_the_package() -> None:
    result = subprocess.run([sys.executable, str(REPO_ROOT / "benchmarks" / "bench_history.py"),
                             "--help"], capture_output=True, text=True, timeout=60, cwd="/")
    assert result.returncode == 0, result.stderr
    assert "--quick" in result.stdout and "--json" in result.stdout
