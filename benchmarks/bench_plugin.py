"""Issue-4 benchmarks: the pytest plugin's cost and gain.

1. Per-test overhead of the ``fakeflow`` fixture (target < 1 ms): measured directly (setup +
   teardown of a clean fake, MLflow loaded) and end to end (500 empty tests with and without
   the fixture, difference per test).
2. A 200-test suite that logs one run per test with the MLflow client, against fakeflow
   (in-process, three runs around the real one, the median counts; and loopback HTTP) and
   against a real ``mlflow server`` (``--fakeflow-target``). Target: fakeflow >= 20x faster per
   test, i.e. the sum of per-test times (setup + call + teardown). Also reported: the median
   test, pytest's session time (which adds what both share: pytest, ``import mlflow``,
   collection) and the session counting the real server's start-up.
3. In-process transport vs loopback HTTP, per request, raw ``requests`` and ``MlflowClient``.

Run: ``FAKEFLOW_MLFLOW_BIN=/opt/ff/mlflow-venv/bin/mlflow python benchmarks/bench_plugin.py``
(``--quick`` for fewer iterations; ``--no-real`` to skip the real server; ``--json FILE``;
``--tiny`` only checks that every part runs, as ``tests/test_benchmarks_smoke.py`` does).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

DURATIONS_PLUGIN = '''
import json, os
_per_test = {}

def pytest_runtest_logreport(report):
    _per_test[report.nodeid] = _per_test.get(report.nodeid, 0.0) + report.duration

def pytest_unconfigure(config):
    with open(os.environ["BENCH_DURATIONS"], "w") as f:
        json.dump(list(_per_test.values()), f)
'''

EMPTY_SUITE = '''
import mlflow  # both variants pay the import
import pytest

@pytest.mark.parametrize("n", range({n}))
def test_empty(n{fixture}):
    pass
'''

LOGGING_SUITE = '''
import mlflow
import pytest

@pytest.mark.parametrize("n", range({n}))
def test_logs_a_run(fakeflow, n):
    with mlflow.start_run() as run:
        mlflow.log_param("n", n)
        mlflow.log_metric("loss", 1.0 / (n + 1))
    assert run.info.run_id
'''


def run_suite(source: str, *args: str) -> dict[str, float]:
    """Run a generated suite in a fresh interpreter; pytest's time and the per-test sum."""
    with tempfile.TemporaryDirectory(prefix="fakeflow-bench-") as tmp:
        Path(tmp, "test_bench.py").write_text(source)
        Path(tmp, "bench_durations.py").write_text(DURATIONS_PLUGIN)
        out = Path(tmp, "durations.json")
        env = dict(os.environ, BENCH_DURATIONS=str(out), PYTHONPATH=tmp)
        for name in ("FAKEFLOW_TRANSPORT", "FAKEFLOW_TARGET", "FAKEFLOW_SEED", "FAKEFLOW_RESET",
                     "MLFLOW_TRACKING_URI"):
            env.pop(name, None)
        started = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p",
             "bench_durations", "-p", "no:hypothesispytest", "-p", "no:anyio", *args,
             "test_bench.py"],
            cwd=tmp, env=env, capture_output=True, text=True, timeout=1800,
        )
        wall = time.perf_counter() - started
        if done.returncode != 0:
            raise RuntimeError(f"benchmark suite failed:\n{done.stdout[-3000:]}\n{done.stderr[-2000:]}")
        session = float(re.search(r"passed[^\n]* in ([0-9.]+)s", done.stdout).group(1))
        per_test = json.loads(out.read_text())
    return {"wall_s": wall, "session_s": session, "tests": len(per_test),
            "per_test_sum_s": sum(per_test), "per_test_median_s": statistics.median(per_test),
            "first_test_s": per_test[0]}


def best_of(repeat: int, fn: Callable[[], float]) -> float:
    return min(fn() for _ in range(repeat))


# ---- 1. fixture overhead ------------------------------------------------------------------------


def fixture_overhead_direct(n: int) -> dict[str, float]:
    import mlflow  # noqa: F401  (worst case: the client's state is there to save and restore)

    from pytest_plugin.handle import FakeflowHandle
    from pytest_plugin.options import Settings
    from pytest_plugin.services import FakeService

    service = FakeService(Settings()).start()
    try:
        def cycle() -> None:
            handle = FakeflowHandle(service)
            handle._setup(None)
            handle._teardown()

        for _ in range(200):
            cycle()

        def timed() -> float:
            start = time.perf_counter()
            for _ in range(n):
                cycle()
            return (time.perf_counter() - start) / n

        per_test = best_of(3, timed)
    finally:
        service.stop()
    return {"per_test_us": per_test * 1e6}


def fixture_overhead_suite(n: int, rounds: int = 3) -> dict[str, float]:
    """Alternate the two suites ``rounds`` times and keep each one's quietest run (2 shared
    cores: other processes add noise of the same size as what is measured)."""
    plains, withs = [], []
    for _ in range(rounds):
        plains.append(run_suite(EMPTY_SUITE.format(n=n, fixture="")))
        withs.append(run_suite(EMPTY_SUITE.format(n=n, fixture=", fakeflow")))
    plain = min(plains, key=lambda r: r["per_test_median_s"])
    with_fixture = min(withs, key=lambda r: r["per_test_median_s"])
    return {
        "tests": n,
        "plain_median_us": plain["per_test_median_s"] * 1e6,
        "fixture_median_us": with_fixture["per_test_median_s"] * 1e6,
        "overhead_median_us": (with_fixture["per_test_median_s"] - plain["per_test_median_s"]) * 1e6,
        "overhead_mean_us": (with_fixture["per_test_sum_s"] - plain["per_test_sum_s"]) / n * 1e6,
        "first_test_with_fixture_ms": with_fixture["first_test_s"] * 1e3,
    }


# ---- 2. the 200-test suite -----------------------------------------------------------------------


def logging_suite(n: int, real: bool, fake_runs: int = 3) -> dict[str, Any]:
    """The suite against fakeflow (in-process ``fake_runs`` times, spread around the real run so
    load drifts hit both; the median run counts), over loopback HTTP once, and against a real
    ``mlflow server`` started as a session fixture would start it."""
    source = LOGGING_SUITE.format(n=n)
    inprocess = [run_suite(source, "--fakeflow-transport=inprocess")]
    results: dict[str, Any] = {"fakeflow_http": run_suite(source, "--fakeflow-transport=http")}
    if real:
        from conformance.reference_server import start_reference_server

        started = time.perf_counter()
        server = start_reference_server()
        startup = time.perf_counter() - started
        try:
            results["real_mlflow"] = run_suite(source, f"--fakeflow-target={server.url}")
            results["real_mlflow"]["server_startup_s"] = startup
        finally:
            server.stop()
    inprocess += [run_suite(source, "--fakeflow-transport=inprocess")
                  for _ in range(fake_runs - 1)]
    inprocess.sort(key=lambda r: r["per_test_sum_s"])
    results["fakeflow_inprocess"] = dict(inprocess[len(inprocess) // 2],
                                         per_test_sum_runs_s=[r["per_test_sum_s"]
                                                              for r in inprocess])
    if real:
        real_run = results["real_mlflow"]
        for name in ("fakeflow_inprocess", "fakeflow_http"):
            ours = results[name]
            ours["speedup_per_test_sum"] = real_run["per_test_sum_s"] / ours["per_test_sum_s"]
            ours["speedup_per_test_median"] = (real_run["per_test_median_s"]
                                               / ours["per_test_median_s"])
            ours["speedup_session"] = real_run["session_s"] / ours["session_s"]
            ours["speedup_incl_real_startup"] = (
                (real_run["session_s"] + real_run["server_startup_s"]) / ours["session_s"])
    return {name: results[name] for name in ("fakeflow_inprocess", "fakeflow_http",
                                             "real_mlflow") if name in results}


# ---- 3. transport ---------------------------------------------------------------------------------


def transport_comparison(n: int) -> dict[str, Any]:
    """Per call, as inside the fixture: client retries off and MLflow's Databricks/IPython/Spark
    import probes failing fast (the plugin's defaults), so the transport is what differs."""
    import requests

    from fakeflow import transport
    from fakeflow.control import create_server
    from pytest_plugin.import_probes import forget_absent, remember_absent

    server = create_server(record=False)
    absent = remember_absent()
    url = server.url
    api = url + "/api/2.0/mlflow/"
    saved_retries = os.environ.get("MLFLOW_HTTP_REQUEST_MAX_RETRIES")
    os.environ["MLFLOW_HTTP_REQUEST_MAX_RETRIES"] = "0"
    try:
        from mlflow import MlflowClient

        client = MlflowClient(tracking_uri=url)
        run_id = client.create_run("0").info.run_id
        session = requests.Session()

        cases: dict[str, Callable[[], object]] = {
            "requests GET /health": lambda: session.get(url + "/health"),
            "requests POST runs/log-metric": lambda: session.post(api + "runs/log-metric", json={
                "run_id": run_id, "key": "m", "value": 1.0, "timestamp": 1, "step": 0}),
            "MlflowClient.log_metric": lambda: client.log_metric(run_id, "m", 1.0),
            "MlflowClient.get_run": lambda: client.get_run(run_id),
        }

        def per_call(call: Callable[[], object], count: int) -> float:
            for _ in range(20):
                call()
            start = time.perf_counter()
            for _ in range(count):
                call()
            return (time.perf_counter() - start) / count

        out: dict[str, Any] = {}
        for name, call in cases.items():
            count = n if name.startswith("requests") else max(min(n, 50), n // 4)
            http = best_of(3, lambda: per_call(call, count))
            with transport.route_in_process(url, server.app):
                inprocess = best_of(3, lambda: per_call(call, count))
            out[name] = {"http_us": http * 1e6, "inprocess_us": inprocess * 1e6,
                         "speedup": http / inprocess}
        return out
    finally:
        forget_absent(absent)
        server.stop()
        if saved_retries is None:
            os.environ.pop("MLFLOW_HTTP_REQUEST_MAX_RETRIES", None)
        else:
            os.environ["MLFLOW_HTTP_REQUEST_MAX_RETRIES"] = saved_retries


# ---- report -----------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--tiny", action="store_true",
                        help="a few iterations of everything, no real server: checks, not figures")
    parser.add_argument("--no-real", action="store_true", help="skip the real MLflow server")
    parser.add_argument("--tests", type=int, default=200)
    parser.add_argument("--json", metavar="FILE")
    args = parser.parse_args(argv)
    quick = args.quick
    if args.tiny:
        args.no_real, args.tests = True, min(args.tests, 5)

    report: dict[str, Any] = {"loadavg_start": os.getloadavg(), "cpus": os.cpu_count()}
    print(f"(machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at start)")
    print("== 1. per-test overhead of the `fakeflow` fixture (target < 1 ms)")
    direct = report["fixture_direct"] = fixture_overhead_direct(
        50 if args.tiny else 500 if quick else 5000)
    print(f"   setup+teardown of a clean fake, MLflow loaded: {direct['per_test_us']:8.1f} us")
    suite = report["fixture_suite"] = fixture_overhead_suite(
        10 if args.tiny else 100 if quick else 500, rounds=1 if args.tiny else 3)
    print(f"   {suite['tests']} empty tests through pytest, with minus without the fixture: "
          f"median {suite['overhead_median_us']:.1f} us/test "
          f"({suite['plain_median_us']:.1f} -> {suite['fixture_median_us']:.1f}), "
          f"mean {suite['overhead_mean_us']:.1f} us/test incl. the session's server start "
          f"(first test {suite['first_test_with_fixture_ms']:.1f} ms)")

    print(f"\n== 2. {args.tests} tests, each logs a run with the MLflow client")
    logging = report["logging_suite"] = logging_suite(
        args.tests, real=not args.no_real, fake_runs=1 if args.tiny else 3)
    for name, r in logging.items():
        line = (f"   {name:<20} session {r['session_s']:7.2f} s   per-test sum "
                f"{r['per_test_sum_s']:7.3f} s   (median {r['per_test_median_s'] * 1e3:6.2f} ms/test)")
        if "server_startup_s" in r:
            line += f"   + server start-up {r['server_startup_s']:.1f} s"
        if "per_test_sum_runs_s" in r:
            line += "   (runs: " + ", ".join(f"{x:.3f}" for x in r["per_test_sum_runs_s"]) + " s)"
        print(line)
    for name in ("fakeflow_inprocess", "fakeflow_http"):
        r = logging[name]
        if "speedup_per_test_sum" in r:
            print(f"   {name} over real MLflow: {r['speedup_per_test_sum']:.1f}x per test "
                  f"(sum of setup+call+teardown; median test {r['speedup_per_test_median']:.1f}x); "
                  f"whole session {r['speedup_session']:.1f}x, "
                  f"{r['speedup_incl_real_startup']:.1f}x counting the real server's start-up")
    ours = logging["fakeflow_inprocess"]
    if "speedup_per_test_sum" in ours:
        verdict = "PASS" if ours["speedup_per_test_sum"] >= 20 else "FAIL"
        print(f"   [{verdict}] per-test time, fakeflow (in-process) vs real MLflow: "
              f"{ours['speedup_per_test_sum']:.1f}x (target >= 20x)")
        print("   (sessions also pay what both share: interpreter, pytest, `import mlflow`, "
              "collection)")

    print("\n== 3. in-process transport vs loopback HTTP (per call)")
    transports = report["transport"] = transport_comparison(
        20 if args.tiny else 500 if quick else 3000)
    for name, r in transports.items():
        print(f"   {name:<32} http {r['http_us']:8.1f} us   in-process {r['inprocess_us']:8.1f} us"
              f"   {r['speedup']:.2f}x")
    report["loadavg_end"] = os.getloadavg()
    print(f"(load average {os.getloadavg()[0]:.1f} at the end)")
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
