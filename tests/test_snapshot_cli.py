"""``fakeflow serve --load FILE --save FILE``: state survives a restart through a snapshot."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
from pathlib import Path

import requests

from fakeflow.state import snapshot
from fakeflow.state.tracking import MetricInput, TrackingStore

REPO = Path(__file__).resolve().parent.parent


def serve(*args: str) -> tuple[subprocess.Popen, str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "fakeflow", "serve", "--port", "0", *args],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    line = process.stdout.readline()
    match = re.search(r"listening on (http://\S+)", line)
    if match is None:
        process.kill()
        raise AssertionError(f"fakeflow serve did not start: {line}{process.stdout.read()}")
    return process, match.group(1)


def stop(process: subprocess.Popen) -> str:
    process.send_signal(signal.SIGTERM)
    output, _ = process.communicate(timeout=20)
    assert process.returncode == 0, output
    return output


def test_load_then_save_keeps_everything_and_the_changes(tmp_path):
    store = TrackingStore()
    store.reset(seed=9)
    run = store.create_run(store.create_experiment("loaded"))
    store.log_metric(run.run_id, MetricInput("m", float("nan"), 3, 1))
    loaded, saved = tmp_path / "in.json", tmp_path / "out.json"
    snapshot.save_file(store, loaded)

    process, url = serve("--load", str(loaded), "--save", str(saved))
    try:
        api = url + "/api/2.0/mlflow/"
        got = requests.get(api + "runs/get", params={"run_id": run.run_id}, timeout=10).json()
        assert got["run"]["data"]["metrics"] == [
            {"key": "m", "value": "NaN", "timestamp": 3, "step": 1}]
        created = requests.post(api + "experiments/create", json={"name": "new"}, timeout=10)
        assert created.json() == {"experiment_id": "2"}
        control = requests.get(url + "/_fakeflow/state", timeout=10).json()
    finally:
        output = stop(process)
    assert "state saved" in output

    expected = TrackingStore()
    snapshot.load(expected, json.loads(loaded.read_text()))
    reloaded = TrackingStore()
    snapshot.load_file(reloaded, saved)
    assert snapshot.dump(reloaded) == control
    assert [e.name for e in reloaded.experiments.values()] == ["Default", "loaded", "new"]
    assert snapshot.dump(reloaded)["runs"] == snapshot.dump(expected)["runs"]


def test_a_bad_snapshot_file_is_refused(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "something else"}')
    done = subprocess.run([sys.executable, "-m", "fakeflow", "serve", "--port", "0", "--load",
                           str(bad)], cwd=REPO, capture_output=True, text=True, timeout=30)
    assert done.returncode == 1
    assert "cannot load snapshot" in done.stderr
