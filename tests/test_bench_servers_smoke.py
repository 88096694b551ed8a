"""bench_servers runs end to end in its tiny mode, so it cannot rot. No timing is asserted:
``python -m benchmarks.bench_servers`` reports the figures, the test suite does not judge them."""

from __future__ import annotations

import json
from pathlib import Path

from benchmarks import bench_servers
from benchmarks._server_checks import CHECKS


def test_the_server_benchmark_runs_end_to_end(tmp_path: Path) -> None:
    out = tmp_path / "servers.json"
    assert bench_servers.main(["--tiny", "--json", str(out)]) == 0
    report = json.loads(out.read_text())
    config = bench_servers.TINY
    stall = report["stall"]
    assert stall["fakeflow"]["health_s"] > 0 and stall["fakeflow"]["store_call_s"] > 0
    assert stall["bare Werkzeug"]["health_s"] > 0 and stall["real MLflow"] is None
    assert set(report["throughput"]) == set(config.candidates)
    for figures in report["throughput"].values():
        assert figures["calls_per_s"] > 0 and len(figures["rounds"]) == config.rounds
        assert figures["in_process_calls_per_s"] > 0 and len(figures["in_process_rounds"]) == config.rounds
    assert report["throughput"]["fakeflow"]["vs_fakeflow"] == 1.0
    assert set(report["robustness"]) == set(config.candidates)
    for results in report["robustness"].values():
        assert list(results) == list(config.checks)
    # fakeflow refuses conflicting lengths; Werkzeug's server takes the first one.
    assert report["robustness"]["fakeflow"]["conflicting Content-Length -> 400"] is None
    assert report["robustness"]["werkzeug"]["conflicting Content-Length -> 400"] is not None
    text = bench_servers.render(report)
    for fragment in ("connections stall", "log_metric calls/s", "robustness checks passed",
                     "server CPU/call"):
        assert fragment in text


def test_every_tiny_check_is_a_real_check() -> None:
    assert set(bench_servers.TINY.checks) <= set(CHECKS)
    assert bench_servers.Config().checks == tuple(CHECKS)
