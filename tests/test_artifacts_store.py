"""The artifact store and its routes without a reference server: bounds (413), filesystem
conflicts (500 text, as uvicorn answers an OSError), deletes, snapshots byte for byte, the
unlocked upload route, path rules on generated paths, and catalogue coverage of every route."""

from __future__ import annotations

import json
import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from werkzeug.exceptions import InternalServerError
from werkzeug.test import Client

import fakeflow
from fakeflow.state import snapshot
from fakeflow.state.artifacts import ArtifactStore, TooLarge
from fakeflow.web.artifact_paths import check_safe_path, normalise
from fakeflow.state.errors import MlflowError
from fakeflow.web.routes import ARTIFACT_ROUTES, ARTIFACT_UI_ROUTES

MA = "/api/2.0/mlflow-artifacts/artifacts"


def _app(**options):
    app = fakeflow.create_app(**options)
    client = Client(app)
    run = json.loads(client.post("/api/2.0/mlflow/runs/create", json={"experiment_id": "0"}).data)
    return app, client, run["run"]["info"]["run_id"]


def test_upload_download_and_run_listing_round_trip_bytes():
    app, client, rid = _app()
    data = bytes(range(256)) * 5000
    assert client.put(f"{MA}/0/{rid}/artifacts/m/w.bin", data=data).status_code == 200
    got = client.get(f"{MA}/0/{rid}/artifacts/m/w.bin")
    assert got.status_code == 200 and got.data == data
    assert got.headers["Content-Type"] == "application/octet-stream"
    listed = json.loads(client.get("/api/2.0/mlflow/artifacts/list", query_string={"run_id": rid}).data)
    assert listed["files"] == [{"path": "m", "is_dir": True}]
    listed = json.loads(client.get("/api/2.0/mlflow/artifacts/list",
                                   query_string={"run_id": rid, "path": "m"}).data)
    assert listed["files"] == [{"path": "m/w.bin", "is_dir": False, "file_size": len(data)}]


def test_bounds_answer_413_and_change_nothing():
    app, client, rid = _app(max_artifact_bytes=1000, max_artifact_store_bytes=1500)
    too_big = client.put(f"{MA}/0/{rid}/artifacts/big", data=b"x" * 1001)
    assert too_big.status_code == 413
    assert "1000 bytes per file" in json.loads(too_big.data)["message"]
    assert client.put(f"{MA}/0/{rid}/artifacts/a", data=b"x" * 1000).status_code == 200
    full = client.put(f"{MA}/0/{rid}/artifacts/b", data=b"y" * 600)
    assert full.status_code == 413 and "1500 bytes for all artifacts" in json.loads(full.data)["message"]
    assert client.get(f"{MA}/0/{rid}/artifacts/b").status_code == 404
    # replacing a file counts its new size only
    assert client.put(f"{MA}/0/{rid}/artifacts/a", data=b"z" * 1000).status_code == 200
    assert app.store.artifacts.total_bytes == 1000


def test_filesystem_conflicts_are_plain_500s_as_mlflow_gives():
    _, client, rid = _app()
    client.put(f"{MA}/0/{rid}/artifacts/a.txt", data=b"a")
    client.put(f"{MA}/0/{rid}/artifacts/d/f", data=b"f")
    for path in ("a.txt/inner", "d"):
        answer = client.put(f"{MA}/0/{rid}/artifacts/{path}", data=b"x")
        assert (answer.status_code, answer.data) == (500, b"Internal Server Error")
        assert answer.headers["Content-Type"].startswith("text/plain")
    assert client.get(f"{MA}/0/{rid}/artifacts/a.txt").data == b"a"


def test_delete_and_deleted_runs_keep_artifacts():
    _, client, rid = _app()
    client.put(f"{MA}/0/{rid}/artifacts/t/a/b.txt", data=b"b")
    client.post("/api/2.0/mlflow/runs/delete", json={"run_id": rid})
    assert client.get(f"{MA}/0/{rid}/artifacts/t/a/b.txt").data == b"b"
    assert client.delete(f"{MA}/0/{rid}/artifacts/t/a/b.txt").status_code == 200
    listed = json.loads(client.get(MA, query_string={"path": f"0/{rid}/artifacts/t"}).data)
    assert listed == {"files": [{"path": "a", "is_dir": True}]}  # the directory stays
    client.delete(f"{MA}/0/{rid}/artifacts/t")
    assert json.loads(client.get(MA, query_string={"path": f"0/{rid}/artifacts"}).data) == {}


def test_snapshot_round_trips_artifacts_byte_for_byte(tmp_path):
    app, client, rid = _app()
    blobs = {"a/b.bin": bytes(range(256)), "empty": b"", "u/\u65e5.txt": "\u65e5".encode()}
    for path, data in blobs.items():
        client.put(f"{MA}/0/{rid}/artifacts/{path}", data=data)
    client.put(f"{MA}/0/{rid}/artifacts/gone/x", data=b"x")
    client.delete(f"{MA}/0/{rid}/artifacts/gone/x")  # leaves an empty directory
    target = tmp_path / "snap.json"
    snapshot.save_file(app.store, target)
    other = fakeflow.create_app()
    snapshot.load_file(other.store, target)
    again = Client(other)
    for path, data in blobs.items():
        assert again.get(f"{MA}/0/{rid}/artifacts/{path}").data == data
    listed = json.loads(again.get(MA, query_string={"path": f"0/{rid}/artifacts"}).data)
    assert {"path": "gone", "is_dir": True} in listed["files"]
    assert snapshot.dump(other.store) == snapshot.dump(app.store)


def test_bad_snapshot_content_changes_nothing():
    app, client, rid = _app()
    client.put(f"{MA}/0/{rid}/artifacts/keep", data=b"k")
    bad = snapshot.dump(app.store)
    bad["artifacts"]["files"] = [["x", "not base64!"]]
    with pytest.raises(snapshot.SnapshotError):
        snapshot.load(app.store, bad)
    assert client.get(f"{MA}/0/{rid}/artifacts/keep").data == b"k"


def test_uploads_stream_past_the_request_size_limit_in_chunks():
    """Artifact bodies are read in pieces by their handler, not buffered by the app first: the
    app's request-body limit does not apply to them (their own bounds do)."""
    from fakeflow.web.app import FakeflowApp
    from fakeflow.web.artifact_handlers import CHUNK

    app = FakeflowApp(max_content_length=1000)
    client = Client(app)
    rid = json.loads(client.post("/api/2.0/mlflow/runs/create",
                                 json={"experiment_id": "0"}).data)["run"]["info"]["run_id"]
    data = b"q" * (2 * CHUNK + 5)
    assert client.put(f"{MA}/0/{rid}/artifacts/big", data=data).status_code == 200
    stored = app.store.artifacts.get(f"0/{rid}/artifacts/big")
    assert stored is not None and len(stored.chunks) == 3 and stored.data() == data
    downloaded = client.get(f"{MA}/0/{rid}/artifacts/big")
    assert downloaded.data == data


def test_cli_bounds_reach_the_artifact_store():
    from fakeflow.cli import build_parser

    args = build_parser().parse_args(
        ["serve", "--max-artifact-bytes", "123", "--max-artifact-store-bytes", "456"])
    app = fakeflow.create_app(max_artifact_bytes=args.max_artifact_bytes,
                              max_artifact_store_bytes=args.max_artifact_store_bytes)
    assert (app.store.artifacts.max_file_bytes, app.store.artifacts.max_total_bytes) == (123, 456)


def test_uploads_do_not_hold_the_store_lock():
    """A stalled upload body must not block other requests (the route is unlocked)."""
    app, client, rid = _app()
    started, release = threading.Event(), threading.Event()

    class SlowBody:
        def __init__(self):
            self.sent = False

        def read(self, size=-1):
            if self.sent:
                return b""
            started.set()
            release.wait(10)
            self.sent = True
            return b"late"

    environ_overrides = {"wsgi.input": SlowBody(), "wsgi.input_terminated": True}
    worker = threading.Thread(target=lambda: client.put(
        f"{MA}/0/{rid}/artifacts/slow", environ_overrides=environ_overrides))
    worker.start()
    assert started.wait(10)
    acquired = app.store.lock.acquire(timeout=5)
    assert acquired, "the upload holds the store lock while reading its body"
    app.store.lock.release()
    release.set()
    worker.join(10)
    assert client.get(f"{MA}/0/{rid}/artifacts/slow").data == b"late"


def test_store_receive_fails_as_soon_as_the_bound_is_passed():
    store = ArtifactStore(max_file_bytes=10)
    pulled = []

    def pieces():
        for i in range(100):
            pulled.append(i)
            yield b"123456"

    with pytest.raises(TooLarge):
        store.receive(pieces())
    assert len(pulled) == 2


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="ab./\\%2e5cfC:#\x01", max_size=12))
def test_no_accepted_path_escapes_the_root(path):
    try:
        checked = check_safe_path(path)
    except (MlflowError, InternalServerError):
        return
    key = normalise("0/r/artifacts/" + checked)
    assert key == "0/r/artifacts" or key.startswith("0/r/artifacts/") or ".." not in key.split("/")
    assert not key.startswith("/") and ".." not in key.split("/")


def test_a_path_that_never_stops_decoding_is_a_bare_500():
    _, client, rid = _app()
    deep = "%25252525252525252525252e"
    for method, url, media in [("PUT", f"{MA}/0/{rid}/artifacts/{deep}", "text/plain"),
                               ("GET", f"{MA}/0/{rid}/artifacts/{deep}", "text/plain"),
                               ("DELETE", f"{MA}/0/{rid}/artifacts/{deep}", "text/html"),
                               ("GET", f"/get-artifact?run_id={rid}&path={deep}", "text/html")]:
        answer = client.open(url, method=method)
        assert answer.status_code == 500 and answer.headers["Content-Type"].startswith(media)


def test_catalogue_covers_every_artifact_route_and_method():
    from tests.differential.catalogue.artifacts import CASES

    sent = {(s.method, s.path) for c in CASES for s in c.steps}
    prefixes = ("/api/2.0/mlflow-artifacts", "/ajax-api/2.0/mlflow-artifacts")
    for route in ARTIFACT_ROUTES:
        stem = route.path.split("<", 1)[0]
        for method in route.methods:
            assert any(m == method and p.startswith(prefixes[0] + stem) for m, p in sent), (method, stem)
        assert any(p.startswith(prefixes[1] + stem.rstrip("/")) for _, p in sent) or stem in (
            "/artifacts/", "/artifacts//", "/mpu/complete/", "/mpu/abort/"), stem
    for route in ARTIFACT_UI_ROUTES:
        stem = route.path.split("<", 1)[0]
        assert any(m in route.methods and p.startswith(stem) for m, p in sent), stem
