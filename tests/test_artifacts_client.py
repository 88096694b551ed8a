"""The real MLflow client logs, lists, downloads and loads artifacts through real MLflow 3.17.2
and through fakeflow (over HTTP and over the in-process transport); the results must agree."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import pytest

from tests.differential.harness import new_suffix
from tests.support.client_script import mlflow_pointed_at
from tests.test_client_parity import quick_client  # noqa: F401  (fixture)

pytest.importorskip("mlflow", reason="the real MLflow client (mlflow-skinny 3.17.2) is not installed")

BINARY = bytes(range(256)) * 64 + b"\x00\xff" * 1000


def _tree(root: Path) -> dict[str, str]:
    """Relative path -> sha256 of every file under ``root`` (directories show as their files)."""
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*")) if p.is_file()
    }


def artifact_script(uri: str, workdir: Path) -> dict[str, Any]:
    """Log artifacts every way the client can, then read them back every way it can."""
    import mlflow
    from mlflow import MlflowClient

    source = workdir / "source"
    (source / "nested" / "deeper").mkdir(parents=True)
    (source / "nested" / "a.txt").write_text("alpha\n")
    (source / "nested" / "deeper" / "b.json").write_text('{"b": 2}')
    (source / "nested" / "deeper" / "empty.dat").write_bytes(b"")
    (source / "top.csv").write_text("x,y\n1,2\n")
    single = workdir / "weights.bin"
    single.write_bytes(BINARY)
    unicode_file = workdir / "d\u00e9j\u00e0 vu \u65e5\u672c.txt"
    unicode_file.write_text("unicode \u2713", encoding="utf-8")
    empty = workdir / "empty.txt"
    empty.write_bytes(b"")

    out: dict[str, Any] = {}
    with mlflow_pointed_at(uri):
        client = MlflowClient()
        with mlflow.start_run() as run:
            run_id = run.info.run_id
            mlflow.log_text("plain text \u00e9\n", "notes/readme.txt")
            mlflow.log_dict({"lr": 0.1, "layers": [1, 2]}, "config/params.json")
            mlflow.log_dict({"k": "v"}, "config/params.yaml")
            mlflow.log_artifact(str(single))
            mlflow.log_artifact(str(single), artifact_path="models/copy")
            mlflow.log_artifact(str(unicode_file), artifact_path="uni")
            mlflow.log_artifact(str(empty))
            mlflow.log_artifacts(str(source), artifact_path="tree")
            mlflow.log_artifacts(str(source / "nested"))
        out["root_uri_suffix"] = run.info.artifact_uri.split(run_id)[-1]
        # Below the run root, "runs:/" URIs make the MLflow 3 client search logged models too
        # (which fakeflow does not keep yet), so sub-paths go through the artifact URI itself.
        from mlflow.store.artifact.artifact_repository_registry import get_artifact_repository

        base = run.info.artifact_uri
        repo = get_artifact_repository(base)

        def listing(path: str | None) -> list[tuple[str, bool, int | None]]:
            return [(f.path, f.is_dir, f.file_size) for f in repo.list_artifacts(path)]

        out["list_root_client"] = [(f.path, f.is_dir, f.file_size) for f in client.list_artifacts(run_id)]
        out["list_root"] = listing(None)
        out["list_tree"] = listing("tree")
        out["list_deep"] = listing("tree/nested/deeper")
        out["list_file"] = listing("weights.bin")
        out["list_missing"] = listing("nope")
        dest = workdir / f"download-{hashlib.md5(uri.encode()).hexdigest()}"
        dest.mkdir()
        whole = Path(client.download_artifacts(run_id, "", str(dest / "all")))
        out["download_all"] = _tree(whole)
        one = Path(mlflow.artifacts.download_artifacts(artifact_uri=f"{base}/weights.bin",
                                                       dst_path=str(dest / "one")))
        out["download_one"] = (one.name, one.read_bytes() == BINARY)
        sub = Path(mlflow.artifacts.download_artifacts(artifact_uri=f"{base}/tree/nested",
                                                       dst_path=str(dest / "sub")))
        out["download_dir"] = _tree(sub)
        out["load_text"] = mlflow.artifacts.load_text(f"{base}/notes/readme.txt")
        out["load_dict"] = mlflow.artifacts.load_dict(f"{base}/config/params.json")
        out["unicode"] = (dest / "all" / "uni" / unicode_file.name).read_text(encoding="utf-8")
        try:
            mlflow.artifacts.download_artifacts(artifact_uri=f"{base}/does/not/exist",
                                                dst_path=str(dest))
            out["missing_download"] = None
        except Exception as exc:  # the client's own error type is part of the parity
            out["missing_download"] = type(exc).__name__
    return out


def test_artifacts_through_the_client_match_real_mlflow(
    quick_client: None, reference_server: Any, fakeflow_server: Any, tmp_path: Path  # noqa: F811
) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "fake").mkdir()
    real = artifact_script(reference_server.url, tmp_path / "real")
    fake = artifact_script(fakeflow_server.url, tmp_path / "fake")
    assert fake == real
    # anchors that do not depend on the reference server
    assert fake["download_one"] == ("weights.bin", True)
    assert fake["load_dict"] == {"lr": 0.1, "layers": [1, 2]}
    assert ("empty.txt", False, 0) in fake["list_root"] or ("empty.txt", False, None) in fake["list_root"]
    assert "tree/nested/deeper/empty.dat" in fake["download_all"]


def test_artifacts_over_the_in_process_transport(quick_client: None, tmp_path: Path) -> None:  # noqa: F811
    from fakeflow import transport
    from fakeflow.control import ControlledApp

    app = ControlledApp()
    url = f"http://fakeflow-artifacts-{new_suffix()}.invalid:5000"
    with transport.route_in_process(url, app):
        result = artifact_script(url, tmp_path)
    assert result["download_one"] == ("weights.bin", True)
    assert result["load_text"] == "plain text \u00e9\n"
    assert result["unicode"] == "unicode \u2713"
    assert result["list_deep"] == [
        ("tree/nested/deeper/b.json", False, 8), ("tree/nested/deeper/empty.dat", False, None),
    ] or result["list_deep"] == [
        ("tree/nested/deeper/b.json", False, 8), ("tree/nested/deeper/empty.dat", False, 0),
    ]
    assert os.path.basename(result["root_uri_suffix"]) == "artifacts"
