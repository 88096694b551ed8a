"""The files a trace keeps in the artifact store, beside its row: attachments and ``traces.json``.

MLflow's client uploads each ``mlflow.Attachment`` of a span's inputs or outputs as
``attachments/<uuid>`` under the trace's artifact location (its ``mlflow.artifactLocation``
tag), and a trace whose spans are not in the tracking store (one started with the deprecated v2
route) is read from ``traces.json`` there. ``get-trace-artifact`` serves both from the same
in-memory tree as the ``mlflow-artifacts`` proxy, as ``mlflow server --artifacts-destination``
serves them from its directory: a file response like any artifact download, or MLflow's error.

Where the location points decides the lookup, as for runs (``artifact_handlers.artifact_root``):
proxied locations are keys of the store, local paths a namespace of their own, and storage
fakeflow cannot reach (``s3:``, ...) fails with a 500 page. A location is never joined with a
path that could leave it: the attachment path is a canonical UUID, the data file a fixed name.
"""

from __future__ import annotations

import posixpath
import uuid

from werkzeug.exceptions import InternalServerError
from werkzeug.wrappers import Request, Response

from fakeflow.state.artifacts import ArtifactStore, StoredFile
from fakeflow.state.errors import INVALID_STATE, MlflowError, invalid, not_found
from fakeflow.state.traces import ARTIFACT_LOCATION_TAG, Trace
from fakeflow.web.artifact_handlers import artifact_root, file_response, lookup_file, ranged
from fakeflow.web.artifact_paths import check_safe_path, normalise

ATTACHMENTS_DIR = "attachments"
TRACE_DATA_FILE = "traces.json"


def check_attachment_path(raw: str) -> str:
    """The attachment id of a ``path=`` argument: MLflow's path guard first, then it must be a
    UUID written exactly as ``str(uuid.UUID(...))`` writes it (lower case, with hyphens)."""
    path = check_safe_path(raw)
    try:
        canonical = str(uuid.UUID(path)) == path
    except ValueError:
        canonical = False
    if not canonical:
        error = invalid(f"Invalid attachment path: '{path}'. Attachment path must be a valid UUID.")
        error.error_class = ("KAM04", "ATTRIBUTE_NOT_FOUND")  # type: ignore[attr-defined]
        raise error
    return path


def trace_data_corrupted(trace_id: str) -> MlflowError:
    return MlflowError(f"Trace data is corrupted for request_id={trace_id}", INVALID_STATE)


def _trace_root(trace: Trace) -> str:
    """The store directory of the trace's artifact location (see the module docstring)."""
    location = trace.tags.get(ARTIFACT_LOCATION_TAG)
    if location is None:
        raise trace_data_corrupted(trace.trace_id)
    root, proxied = artifact_root(location)  # unreachable storage: a 500 page
    if proxied and not root:
        raise InternalServerError()  # "mlflow-artifacts:" names no directory: MLflow fails so
    return root


def _walkable(artifacts: ArtifactStore, path: str) -> bool:
    """Whether a filesystem could walk ``path``: a ``..`` only steps back out of a directory
    that exists (``a/../b`` is not there while ``a`` is missing or a file)."""
    parts = path.split("/")
    for index, part in enumerate(parts):
        if part == ".." and index:
            before = normalise("/".join(parts[:index]))
            if before and not artifacts.is_dir(before):
                return False
    return True


def _find(artifacts: ArtifactStore, root: str, relative: str) -> StoredFile | str | None:
    """The file (or ``"dir"``) at ``relative`` below ``root``; ``None`` where nothing is, and
    above the store's root nothing ever is."""
    full = posixpath.join(root, relative)
    if artifacts.reaches_long_name(full) or not _walkable(artifacts, full):
        return None  # the file cannot exist; MLflow's copy of it fails as a missing one
    return lookup_file(artifacts, full)


def attachment_response(artifacts: ArtifactStore, trace: Trace, attachment_id: str,
                        request: Request) -> Response:
    """An attachment's bytes as a download named by its id, or MLflow's error."""
    relative = posixpath.join(ATTACHMENTS_DIR, attachment_id)
    found = _find(artifacts, _trace_root(trace), relative)
    if found is None:
        raise not_found(f"No such artifact: '{relative}'")
    if found == "dir":
        raise invalid(f"Artifact path refers to a directory, not a file: '{attachment_id}'")
    assert isinstance(found, StoredFile)
    return ranged(request, file_response(found, attachment_id, attachment_id))


def stored_trace_data_response(artifacts: ArtifactStore, trace: Trace,
                               request: Request) -> Response:
    """The ``traces.json`` file kept at the trace's artifact location, served as it is (MLflow
    does not parse it), or MLflow's NOT_FOUND when there is none."""
    found = _find(artifacts, _trace_root(trace), TRACE_DATA_FILE)
    if found is None:
        raise MlflowError(f"Trace data not found for path={TRACE_DATA_FILE}", "NOT_FOUND")
    if found == "dir":
        raise invalid(f"Artifact path refers to a directory, not a file: '{TRACE_DATA_FILE}'")
    assert isinstance(found, StoredFile)
    return ranged(request, file_response(found, TRACE_DATA_FILE, TRACE_DATA_FILE))


def trace_data_response(body: str, request: Request) -> Response:
    """Spans held in the tracking store, written as ``traces.json`` and sent like the file."""
    data = body.encode("utf-8")
    return ranged(request, file_response(StoredFile((data,), len(data)), TRACE_DATA_FILE,
                                           TRACE_DATA_FILE))


__all__ = [
    "ATTACHMENTS_DIR", "TRACE_DATA_FILE", "attachment_response", "check_attachment_path",
    "stored_trace_data_response", "trace_data_corrupted", "trace_data_response",
]
