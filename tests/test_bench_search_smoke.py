"""The search benchmark runs end to end in its tiny mode, so it cannot rot. No timing is
asserted: ``python -m benchmarks.bench_search`` reports speed, the test suite does not judge it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks import bench_search

REPO_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def tiny_results(tmp_path_factory: pytest.TempPathFactory) -> dict:
    out = tmp_path_factory.mktemp("bench") / "search.json"
    assert bench_search.main(["--tiny", "--json", str(out)]) == 0
    return json.loads(out.read_text())


def test_every_search_is_measured(tiny_results: dict) -> None:
    figures = tiny_results["fakeflow"]
    assert figures["runs"] == bench_search.TINY.runs
    assert set(figures["in_process"]) == set(bench_search.SEARCHES)
    for name, entry in figures["in_process"].items():
        assert 0 < entry["matches"] <= figures["runs"], name
        assert entry["late_offset"] == (entry["matches"] - 1) // bench_search.PAGE * bench_search.PAGE
        for figure in ("first_after_write", "first_again", "late_after_write", "late_again"):
            assert 0 < entry[figure]["min_s"] <= entry[figure]["median_s"]
    # Unfiltered searches match every run; the filters select strictly fewer.
    assert figures["in_process"]["no filter"]["matches"] == figures["runs"]
    assert figures["in_process"]["param filter"]["matches"] < figures["runs"]
    assert figures["walk"]["pages"] >= 1
    assert "real" not in tiny_results and "http" not in tiny_results  # tiny never starts MLflow


def test_the_count_walks_every_page() -> None:
    pages = iter([{"runs": [1, 2], "next_page_token": "t"}, {"runs": [3]}])
    assert bench_search._count(lambda body: next(pages), "1", "no filter", 2) == 3


def test_a_short_page_before_the_last_aborts() -> None:
    pages = iter([{"runs": [1], "next_page_token": "t"}, {"runs": [3]}])
    with pytest.raises(RuntimeError, match="before the last"):
        bench_search._count(lambda body: next(pages), "1", "no filter", 2)


def test_the_report_names_every_figure(tiny_results: dict) -> None:
    text = bench_search.render(tiny_results)
    for fragment in (*bench_search.SEARCHES, "first page", "late page", "after a write",
                     "target", "walking all", "bytes per run", "load average"):
        assert fragment in text


def test_script_entry_point_runs_outside_the_package() -> None:
    result = subprocess.run([sys.executable, str(REPO_ROOT / "benchmarks" / "bench_search.py"),
                             "--help"], capture_output=True, text=True, timeout=60, cwd="/")
    assert result.returncode == 0, result.stderr
    assert "--quick" in result.stdout and "--json" in result.stdout


def test_real_mlflow_filled_through_sql_lists_the_same_runs() -> None:
    """The HTTP comparison's SQL fill gives real MLflow the data fakeflow gets through its store:
    ``measure_http`` raises when a first or late page differs between the two servers."""
    from conformance.reference_server import find_mlflow_executable

    if find_mlflow_executable() is None:
        pytest.skip("real MLflow not found (FAKEFLOW_MLFLOW_BIN)")
    config = bench_search.Config(runs=0, repeats=1, real_runs=1_200, real_repeats=1)
    names = (bench_search.HEADLINE, "no filter")  # metrics, params and run rows all checked
    figures = bench_search.measure_http(config, lambda line: None, names)
    assert "skipped" not in figures, figures.get("skipped")
    searches = figures["real"]["searches"]
    assert set(searches) == set(names) == set(figures["fakeflow"]["searches"])
    assert searches["no filter"]["matches"] == 1_200
    assert searches["no filter"]["late_offset"] == 1_000
