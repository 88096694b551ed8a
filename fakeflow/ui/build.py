"""Finding MLflow's web UI build (``index.html`` and ``static/``) at run time.

The build ships inside the full ``mlflow`` wheel (``mlflow/server/js/build``), never in
``mlflow-skinny`` and never in this repository. Places looked at, in order: an explicit
directory, the installed ``mlflow`` package, and the cache that ``fakeflow fetch-ui`` fills
from the ``mlflow`` wheel on PyPI (the wheel alone, without its ~850 MB of dependencies).
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from fakeflow.ui import EXPECTED_VERSION

BUILD_IN_WHEEL = "mlflow/server/js/build/"
VERSION_FILE = "MLFLOW_VERSION"
FETCH_COMMAND = "fakeflow fetch-ui"


class UiBuildMissing(RuntimeError):
    """No UI build was found; the message says how to get one."""


@dataclass(frozen=True)
class UiBuild:
    directory: Path
    version: str | None  # the MLflow release the build came from, when known
    origin: str  # where it was found, for messages

    @property
    def version_warning(self) -> str | None:
        if self.version == EXPECTED_VERSION:
            return None
        release = self.version or "an unknown MLflow release"
        return (f"fakeflow: WARNING: the UI at {self.directory} comes from {release}; fakeflow "
                f"answers like MLflow {EXPECTED_VERSION}, so some pages may not work. "
                f"`{FETCH_COMMAND}` gets the {EXPECTED_VERSION} UI.")


def cache_directory() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "fakeflow" / f"mlflow-ui-{EXPECTED_VERSION}"


def _is_build(directory: Path) -> bool:
    return (directory / "index.html").is_file() and (directory / "static").is_dir()


def _installed() -> UiBuild | None:
    spec = importlib.util.find_spec("mlflow")
    if spec is None or not spec.submodule_search_locations:
        return None
    directory = Path(next(iter(spec.submodule_search_locations))) / "server" / "js" / "build"
    if not _is_build(directory):
        return None
    try:
        version: str | None = importlib.metadata.version("mlflow")
    except importlib.metadata.PackageNotFoundError:
        version = None
    return UiBuild(directory, version, "the installed mlflow package")


def _cached() -> UiBuild | None:
    directory = cache_directory()
    if not _is_build(directory):
        return None
    return UiBuild(directory, _version_of(directory), f"the cache ({FETCH_COMMAND})")


def _version_of(directory: Path) -> str | None:
    """The release a build came from: its marker (fetch-ui), else the dist-info of the mlflow
    package it sits in (``site-packages/mlflow/server/js/build``)."""
    marker = directory / VERSION_FILE
    if marker.is_file():
        return marker.read_text().strip()
    site_packages = directory.resolve().parents[3] if len(directory.resolve().parents) > 3 else None
    if site_packages is None or directory.resolve().parents[2].name != "mlflow":
        return None
    for metadata in sorted(site_packages.glob("mlflow-*.dist-info/METADATA")):
        for line in metadata.read_text(errors="replace").splitlines():
            if line.startswith("Version:"):
                return line.split(":", 1)[1].strip()
    return None


def find_ui_build(override: str | os.PathLike[str] | None = None) -> UiBuild:
    """The UI build to serve; raises ``UiBuildMissing`` with the one command that gets it."""
    if override is not None:
        directory = Path(override)
        if not _is_build(directory):
            raise UiBuildMissing(f"{directory} is not an MLflow UI build (it needs index.html "
                                 "and static/, as mlflow/server/js/build has)")
        return UiBuild(directory, _version_of(directory), "--ui-build")
    found = _installed() or _cached()
    if found is None:
        raise UiBuildMissing(
            "MLflow's web UI is not installed here (mlflow-skinny does not include it). Get "
            f"it with `{FETCH_COMMAND}` (downloads the mlflow {EXPECTED_VERSION} wheel alone, "
            f"about 30 MB, and keeps only its UI in {cache_directory()}), or "
            f"`pip install mlflow=={EXPECTED_VERSION}`, or pass --ui-build DIR.")
    return found


def fetch_ui(destination: Path | None = None, version: str = EXPECTED_VERSION,
             pip_options: tuple[str, ...] = ()) -> Path:
    """Download the ``mlflow`` wheel with pip (no dependencies) and keep only its UI build.
    ``pip_options`` go to ``pip download`` (an index, ``--no-index --find-links DIR``)."""
    destination = destination or cache_directory()
    with tempfile.TemporaryDirectory(prefix="fakeflow-ui-") as scratch:
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary",
                        ":all:", "--dest", scratch, *pip_options, f"mlflow=={version}"],
                       check=True)
        wheels = sorted(Path(scratch).glob("mlflow-*.whl"))
        if not wheels:
            raise UiBuildMissing(f"pip did not download an mlflow {version} wheel")
        staging = Path(scratch) / "build"
        with zipfile.ZipFile(wheels[0]) as wheel:
            for member in wheel.infolist():
                if not member.filename.startswith(BUILD_IN_WHEEL) or member.is_dir():
                    continue
                relative = Path(member.filename[len(BUILD_IN_WHEEL):])
                if relative.is_absolute() or ".." in relative.parts:
                    continue  # never write outside the staging directory
                target = staging / relative
                target.parent.mkdir(parents=True, exist_ok=True)
                with wheel.open(member) as source, open(target, "wb") as sink:
                    shutil.copyfileobj(source, sink)
        if not _is_build(staging):
            raise UiBuildMissing(f"the mlflow {version} wheel has no UI build under {BUILD_IN_WHEEL}")
        (staging / VERSION_FILE).write_text(version + "\n")
        if destination.exists():
            shutil.rmtree(destination)
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(staging), str(destination))
    return destination
