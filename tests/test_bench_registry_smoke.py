"""bench_registry runs end to end in its tiny mode, so it cannot rot (no timing is asserted).

The comparison path is exercised with a second fakeflow standing in for real MLflow, so the
shared reference server is never filled with benchmark models.
"""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from benchmarks import _targets, bench_registry


@pytest.fixture(scope="module")
def tiny_results(tmp_path_factory: pytest.TempPathFactory) -> dict:
    out = tmp_path_factory.mktemp("bench") / "registry.json"
    assert bench_registry.main(["--tiny", "--json", str(out)]) == 0
    return json.loads(out.read_text())


def test_every_operation_is_timed(tiny_results: dict) -> None:
    figures = tiny_results["figures"]["fakeflow"]
    config = bench_registry.TINY
    assert figures["cycles"] == config.rounds * config.cycles
    assert figures["operations"] == figures["cycles"] * tiny_results["ops_per_cycle"]
    assert figures["ops_per_second"] > 0
    assert set(figures["mean_latency_ms"]) == set(bench_registry.OPERATIONS)
    assert all(ms > 0 for ms in figures["mean_latency_ms"].values())
    assert tiny_results["targets"]["fakeflow"]["answers_as_expected"] is True
    assert "real" not in tiny_results["figures"]  # tiny never starts real MLflow


def test_the_comparison_path_reports_ratios(monkeypatch: pytest.MonkeyPatch) -> None:
    def stand_in() -> _targets.Target:
        return _targets.start_local("fakeflow")

    monkeypatch.setattr(bench_registry, "start_real", stand_in)
    config = replace(bench_registry.TINY, real=True, real_cycles=1)
    results = bench_registry.run_benchmark(config)
    figures = results["figures"]
    assert figures["real"]["cycles"] == config.rounds * config.real_cycles
    assert figures["fakeflow_vs_real"] > 0
    assert set(figures["per_operation_ratio"]) == set(bench_registry.OPERATIONS)
    assert "real MLflow: started in" in bench_registry.render(results)


def test_a_wrong_answer_is_reported() -> None:
    """The warm-up check compares what a target did with what MLflow's rules give."""
    assert bench_registry._as_expected(dict(bench_registry.EXPECTED_CYCLE))
    wrong = dict(bench_registry.EXPECTED_CYCLE, versions=["1", "1"])
    assert not bench_registry._as_expected(wrong)
    stale = dict(bench_registry.EXPECTED_CYCLE, search=[("1", "None"), ("2", "None")])
    assert not bench_registry._as_expected(stale)
