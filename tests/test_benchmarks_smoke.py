"""The benchmark code runs end to end in a tiny mode, so it cannot rot. No timing is asserted:
speed is reported by ``python -m benchmarks.bench_core``, not judged by the test suite."""

from __future__ import annotations

import json
import socketserver
import statistics
import subprocess
import sys
import threading
from pathlib import Path
from typing import Iterator

import pytest
from werkzeug.test import Client

from benchmarks import _memory, bench_core
from benchmarks._client import BenchmarkError, Call, RawClient, replay
from benchmarks._serve import TARGETS, WerkzeugServer, bare_app
from benchmarks._targets import start_local
from benchmarks._workloads import SEARCH_PAGES, WORKLOADS, log_metric_calls
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
    assert set(tiny_results["throughput"]) == set(WORKLOADS)
    for workload in WORKLOADS:
        figures = tiny_results["throughput"][workload]
        for target in bench_core.LOCAL_TARGETS:
            key = bench_core.json_key(target)
            assert figures[f"{key}_rps"] > 0
            assert len(figures[f"{key}_rounds_rps"]) == config.rounds
            assert figures["requests"][target] == config.rounds * config.requests(target, workload)
        for ratio in ("fakeflow_vs_bare", "fakeflow_vs_bare_keepalive"):
            assert figures[ratio] > 0
        for ratio in ("fakeflow_vs_real", "bare_vs_real", "bare_keepalive_vs_real"):
            assert figures[ratio] is None
        assert figures["real_rps"] is None
    assert tiny_results["real"] is None


def test_the_judged_ratio_is_against_werkzeugs_own_server(tiny_results: dict) -> None:
    figures = tiny_results["throughput"]["log_metric"]
    rounds = zip(figures["fakeflow_rounds_rps"], figures["bare_rounds_rps"])
    assert figures["fakeflow_vs_bare"] == pytest.approx(statistics.median(
        ff / bare for ff, bare in rounds))


def test_the_client_keeps_connections_alive_except_on_werkzeug(tiny_results: dict) -> None:
    for workload in WORKLOADS:
        per_request = tiny_results["throughput"][workload]["connections_per_request"]
        assert per_request["bare"] == 1.0  # Werkzeug's server closes after every answer
        # fakeflow's server keeps one connection per target, workload and round.
        assert per_request["fakeflow"] == per_request["bare-keepalive"] < 0.2


def test_search_workloads_do_the_real_work(tiny_results: dict) -> None:
    # fakeflow answered each benchmark search with the page MLflow's ordering gives.
    for workload, page in SEARCH_PAGES.items():
        figures = tiny_results["throughput"][workload]
        assert figures["page_size"] == page
        assert figures["page_matches"] == {"fakeflow": True}


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
    assert len(targets) == 2 * len(WORKLOADS) + 5
    for name, target in targets.items():
        if "real MLflow" in name:
            assert target["passed"] is None and target["measured"] is None
        else:
            assert isinstance(target["passed"], bool) and target["measured"] > 0
    text = bench_core.render(tiny_results, bench_core.judge(tiny_results))
    for fragment in ("log-metric", "run search (page of 50)", "run search (page of 10)",
                     "bare-ka", "informational, no target", "startup", "bytes per metric point",
                     "load average", "targets:"):
        assert fragment in text
    assert not any("bare-ka" in name or "keepalive" in name for name in targets)


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


@pytest.mark.parametrize("serve, connections", [
    (lambda: ThreadedServer(bare_app).start(), 1),  # keep-alive: one connection for all
    (lambda: WerkzeugServer(bare_app), 5),  # Connection: close, and a transparent reconnect
])
def test_client_reconnects_only_when_the_server_closes(serve, connections: int) -> None:
    server = serve()
    client = RawClient(server.url)
    try:
        rate = replay(client, log_metric_calls("0" * 32, 5))
        assert (rate.count, rate.connections) == (5, connections)
    finally:
        client.close()
        server.stop()


class _CloseWithoutSaying(socketserver.StreamRequestHandler):
    """Answers one request as if keeping the connection alive, then hangs up while idle."""

    def handle(self) -> None:
        while self.rfile.readline() not in (b"\r\n", b""):
            pass
        self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}")


@pytest.fixture
def hangs_up_when_idle() -> Iterator[str]:
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _CloseWithoutSaying)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_client_retries_once_on_a_connection_dropped_while_idle(hangs_up_when_idle: str) -> None:
    client = RawClient(hangs_up_when_idle)
    try:
        rate = replay(client, [Call("GET", "/health")] * 3)
        assert (rate.count, rate.connections) == (3, 3)
    finally:
        client.close()


def test_every_served_target_starts_answers_and_stops() -> None:
    for name in bench_core.LOCAL_TARGETS:
        assert name in TARGETS
        target = start_local(name)
        client = RawClient(target.url)
        try:
            status, _ = client.send(Call("GET", "/health"))
            assert status == 200
        finally:
            client.close()
            target.stop()


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


def test_the_plugin_benchmark_runs_end_to_end(tmp_path: Path) -> None:
    """bench_plugin --tiny: every part runs (fixture overhead, the logging suite through
    pytest in-process and over HTTP, the transport comparison) and produces its figures."""
    from benchmarks import bench_plugin

    out = tmp_path / "plugin.json"
    assert bench_plugin.main(["--tiny", "--json", str(out)]) == 0
    report = json.loads(out.read_text())
    assert report["fixture_direct"]["per_test_us"] > 0
    assert report["fixture_suite"]["tests"] == 10
    suite = report["logging_suite"]
    assert set(suite) == {"fakeflow_inprocess", "fakeflow_http"}
    for name in suite:
        assert suite[name]["tests"] == 5 and suite[name]["per_test_sum_s"] > 0
    assert set(report["transport"]) == {"requests GET /health", "requests POST runs/log-metric",
                                        "MlflowClient.log_metric", "MlflowClient.get_run"}
    for figures in report["transport"].values():
        assert figures["http_us"] > 0 and figures["inprocess_us"] > 0
