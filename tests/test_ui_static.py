"""``fakeflow serve --ui``: MLflow's UI build found at run time and served as ``mlflow server``
serves it (paths, methods, caching headers, no escape from the build), compared with a real
MLflow 3.17.2 serving the same files; the messages when no build is installed; fetch-ui."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any, Iterator

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fakeflow
from fakeflow.server import ThreadedServer
from fakeflow.ui.build import UiBuildMissing, fetch_ui, find_ui_build
from fakeflow.ui.static import UiApp
from tests.support.processes import stop_server

COMPARED_HEADERS = ("content-type", "cache-control", "content-disposition", "content-length",
                    "allow", "x-content-type-options", "x-frame-options", "etag", "last-modified")


def _tiny_build(root: Path) -> Path:
    (root / "static" / "js").mkdir(parents=True)
    (root / "index.html").write_text("<!doctype html><title>MLflow</title>")
    (root / "static" / "js" / "main.abc.js").write_text("console.log(1)")
    (root / "favicon.ico").write_bytes(b"\x00\x01")
    return root


@pytest.fixture
def ui_server(tmp_path: Path) -> Iterator[str]:
    app = fakeflow.create_app()
    build = find_ui_build(_tiny_build(tmp_path / "build"))
    server = ThreadedServer(UiApp(app, build, app.security), port=0).start()
    try:
        yield server.url
    finally:
        server.stop()


def test_index_assets_and_api_side_by_side(ui_server: str) -> None:
    index = requests.get(ui_server + "/")
    assert index.status_code == 200 and index.text.startswith("<!doctype html>")
    assert index.headers["Cache-Control"] == "no-cache"
    asset = requests.get(ui_server + "/static-files/static/js/main.abc.js")
    assert asset.status_code == 200 and asset.headers["Cache-Control"] == "public, max-age=2419200"
    assert requests.get(ui_server + "/build/favicon.ico").headers["Cache-Control"] == "no-cache"
    assert requests.get(ui_server + "/version").text == "3.17.2"  # the API is still there
    assert requests.get(ui_server + "/api/2.0/mlflow/experiments/get",
                        params={"experiment_id": "0"}).json()["experiment"]["name"] == "Default"
    assert requests.post(ui_server + "/").status_code == 405
    assert requests.get(ui_server + "/experiments").status_code == 404  # hash routing only


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(tail=st.lists(st.sampled_from(["..", "%2e%2e", "%2E%2e", ".", "static", "js", "", "%2f",
                                      "..%2f", "etc", "passwd", "index.html"]),
                     min_size=1, max_size=6))
def test_no_path_leaves_the_build(tmp_path_factory: Any, tail: list[str]) -> None:
    root = tmp_path_factory.mktemp("ui")
    (root / "secret.txt").write_text("outside")
    app = fakeflow.create_app()
    build = find_ui_build(_tiny_build(root / "build"))
    server = ThreadedServer(UiApp(app, build, app.security), port=0).start()
    try:
        for prefix in ("/static-files/", "/build/"):
            answer = requests.get(server.url + prefix + "/".join(tail + ["secret.txt"]))
            assert "outside" not in answer.text
    finally:
        server.stop()


def test_a_foreign_host_is_refused_on_ui_paths_too(ui_server: str) -> None:
    answer = requests.get(ui_server + "/", headers={"Host": "evil.example"})
    assert answer.status_code == 403


def test_missing_build_names_the_command_that_gets_it(monkeypatch: pytest.MonkeyPatch,
                                                      tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setattr("importlib.util.find_spec", lambda name: None)
    with pytest.raises(UiBuildMissing, match="fakeflow fetch-ui"):
        find_ui_build()
    with pytest.raises(UiBuildMissing, match="not an MLflow UI build"):
        find_ui_build(tmp_path)


def _fake_wheel(directory: Path, version: str) -> None:
    name = f"mlflow-{version}.dist-info"
    with zipfile.ZipFile(directory / f"mlflow-{version}-py3-none-any.whl", "w") as wheel:
        wheel.writestr("mlflow/server/js/build/index.html", "<!doctype html>")
        wheel.writestr("mlflow/server/js/build/static/js/a.js", "1")
        wheel.writestr("mlflow/server/__init__.py", "")
        wheel.writestr(f"{name}/METADATA", f"Metadata-Version: 2.1\nName: mlflow\nVersion: {version}\n")
        wheel.writestr(f"{name}/WHEEL", "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n")
        wheel.writestr(f"{name}/RECORD", "")


def test_fetch_ui_keeps_only_the_build_and_records_its_version(tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    _fake_wheel(wheels, "3.17.2")
    target = fetch_ui(tmp_path / "ui", pip_options=("--no-index", "--find-links", str(wheels)))
    assert sorted(p.relative_to(target).as_posix() for p in target.rglob("*") if p.is_file()) == [
        "MLFLOW_VERSION", "index.html", "static/js/a.js"]
    build = find_ui_build(target)
    assert build.version == "3.17.2" and build.version_warning is None


def test_serve_ui_warns_about_another_release_and_fails_clearly_without_a_build(tmp_path: Path) -> None:
    build = _tiny_build(tmp_path / "old")
    (build / "MLFLOW_VERSION").write_text("2.9.0\n")
    process = subprocess.Popen([sys.executable, "-m", "fakeflow", "serve", "--port", "0",
                                "--ui-build", str(build)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = process.stdout.readline().strip()
        assert line.startswith("fakeflow listening on http://127.0.0.1:")
        url = line.rsplit(" ", 1)[1]
        assert requests.get(url + "/", timeout=5).text.startswith("<!doctype html>")
    finally:
        assert stop_server(process) == 0
    assert "2.9.0" in process.stderr.read()
    missing = subprocess.run([sys.executable, "-m", "fakeflow", "serve", "--port", "0", "--ui-build",
                              str(tmp_path / "nothing")], capture_output=True, text=True, timeout=30)
    assert missing.returncode == 1 and "not an MLflow UI build" in missing.stderr


def _real_build() -> Path | None:
    binary = os.environ.get("FAKEFLOW_MLFLOW_BIN")
    if not binary:
        return None
    found = list((Path(binary).resolve().parent.parent / "lib").glob("python3*/site-packages/mlflow/server/js/build"))
    return found[0] if found else None


def test_ui_paths_answer_like_real_mlflow(reference_server: Any, tmp_path: Path) -> None:
    build_dir = _real_build()
    if build_dir is None:
        pytest.skip("the real MLflow's UI build is not on this machine (FAKEFLOW_MLFLOW_BIN)")
    app = fakeflow.create_app()
    server = ThreadedServer(UiApp(app, find_ui_build(build_dir), app.security), port=0).start()
    asset = next(p for p in sorted((build_dir / "static" / "js").iterdir()) if p.suffix == ".js")
    paths = ["/", f"/static-files/static/js/{asset.name}", "/static-files/favicon.ico",
             "/static-files/index.html", "/static-files/", "/static-files/nope.js", "/build/index.html",
             "/static-files/%2e%2e/%2e%2e/server/__init__.py", "/static-files/static/../index.html"]
    try:
        for method in ("GET", "OPTIONS", "POST"):
            for path in paths:
                real = requests.request(method, reference_server.url + path, allow_redirects=False)
                fake = requests.request(method, server.url + path, allow_redirects=False)
                assert fake.status_code == real.status_code, (method, path)
                for name in COMPARED_HEADERS:
                    mine, theirs = fake.headers.get(name), real.headers.get(name)
                    if name == "allow" and mine and theirs:  # uvicorn's order varies per request
                        mine, theirs = sorted(mine.split(", ")), sorted(theirs.split(", "))
                    assert mine == theirs, (method, path, name)
                if real.status_code == 200:
                    assert fake.content == real.content, (method, path)
    finally:
        server.stop()
