"""Artifact routes, answered as ``mlflow server --artifacts-destination <local dir>`` answers them.

MLflow 3.17.2 serves GET and PUT of ``mlflow-artifacts/artifacts/<path>`` from FastAPI (compact
JSON errors, ``{"detail": ...}`` for its own refusals, an empty 200 for uploads) and every other
artifact route from Flask (pretty JSON, Flask's error pages). Both spellings are kept here.

Uploads stream: ``put_artifact`` and ``upload_artifact`` run without the tracking store lock
(their routes say ``locked=False``) and read the body in chunks straight into the artifact store.
Downloads hand a Response a generator over the stored chunks, iterated after the handler returns.
"""

from __future__ import annotations

import json
import mimetypes
import pathlib
import posixpath
import unicodedata
import urllib.parse
from typing import Any, Iterator

from werkzeug.exceptions import BadRequest, InternalServerError, MethodNotAllowed, NotFound
from werkzeug.http import quote_header_value
from werkzeug.wrappers import Request, Response

from fakeflow.state.artifacts import ArtifactStore, Conflict, StoredFile, TooLarge, name_too_long
from fakeflow.state.errors import MlflowError, invalid, not_found
from fakeflow.state.tracking import TrackingStore
from fakeflow.web import messages as m
from fakeflow.web.artifact_paths import bad_directory_error, check_safe_path, normalise
from fakeflow.web.messages import I64, Field, Message, S
from fakeflow.web.parsing import INTLIKE, REQUIRED, STRING, read_request
from fakeflow.web.render import to_json
from fakeflow.web.status import error_body, http_status

CHUNK = 1024 * 1024
RESERVED_PREFIX = ".artifact.uploading."
UI_UPLOAD_LIMIT = 10 * 1024 * 1024

LIST_IN_ROOT = Message("ListArtifacts", (S("path"),))
DELETE_ARTIFACT = Message("DeleteArtifact", ())
_PART = Message("MultipartUploadPart", (I64("part_number"), S("etag"), S("url")))
CREATE_MPU = Message("CreateMultipartUpload", (S("path"), I64("num_parts")))
COMPLETE_MPU = Message(
    "CompleteMultipartUpload", (S("path"), S("upload_id"), Field("parts", "message", True, message=_PART))
)
ABORT_MPU = Message("AbortMultipartUpload", (S("path"), S("upload_id")))

_TEXT_EXTENSIONS = frozenset((
    "txt log err cfg conf cnf cf ini properties prop hocon toml yaml yml xml json js py py3 csv "
    "tsv md rst ipynb MLmodel MLproject"
).split())


# ---- answers ---------------------------------------------------------------------------------

def _json(status: int, text: str) -> Response:
    return Response(text, status=status, mimetype="application/json")


def _fastapi_error(error: MlflowError) -> Response:
    """FastAPI's JSONResponse of an MlflowException: compact separators."""
    body = json.loads(error_body(error))
    return _json(http_status(error.error_code), json.dumps(body, separators=(",", ":")))


def _detail(status: int, text: str) -> Response:
    return _json(status, json.dumps({"detail": text}, separators=(",", ":")))


def _internal_error_text() -> Response:
    """Starlette's answer to an unhandled exception (a filesystem error in MLflow)."""
    return Response("Internal Server Error", status=500, mimetype="text/plain")


def _too_large(error: TooLarge) -> Response:
    return _json(413, json.dumps({"error_code": "RESOURCE_EXHAUSTED", "message": str(error)}))


def mime_type(name: str) -> str:
    """The Content-Type MLflow gives a downloaded artifact of this file name."""
    filename = posixpath.basename(name)
    extension = posixpath.splitext(filename)[1].replace(".", "") or filename
    if extension in _TEXT_EXTENSIONS:
        return "text/plain"
    guessed, _ = mimetypes.guess_type(filename)
    return guessed or "application/octet-stream"


def content_disposition(filename: str) -> str:
    try:
        filename.encode("ascii")
    except UnicodeEncodeError:
        fallback = unicodedata.normalize("NFKD", filename).encode("ascii", "ignore").decode("ascii")
        quoted = urllib.parse.quote(filename, safe="!#$&+-.^_`|~")
        fallback_value = quote_header_value(fallback or "download", allow_token=True)
        return f"attachment; filename={fallback_value}; filename*=UTF-8''{quoted}"
    return f"attachment; filename={quote_header_value(filename, allow_token=True)}"


def _stream(content: StoredFile) -> Iterator[bytes]:
    yield from content.chunks


def file_response(content: StoredFile, path: str, filename: str) -> Response:
    """The file as an attachment, streamed chunk by chunk once the handler has returned.

    The type comes from the stored file's name, the attachment name from the request's."""
    response = Response(_stream(content), status=200, direct_passthrough=True)
    response.headers["Content-Type"] = mime_type(normalise(path))
    response.headers["Content-Disposition"] = content_disposition(filename)
    response.headers["Content-Length"] = str(content.size)
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


# ---- lookups ---------------------------------------------------------------------------------

def lookup_file(artifacts: ArtifactStore, path: str, as_joined: bool = False
                 ) -> StoredFile | str | None:
    """The file at validated ``path``, ``"dir"`` for a directory, ``None`` where nothing is.

    Reads normalise the path first (``f.txt/`` is ``f.txt``); ``as_joined`` looks it up as
    MLflow's delete does, unnormalised, where a file named with a trailing ``/`` is not there."""
    key = normalise(path)
    content = artifacts.get(key)
    if content is not None:
        if as_joined and (path.endswith("/") or path.endswith("/.") or path == "."):
            return None
        return content
    return "dir" if artifacts.is_dir(key) else None


LOCAL_NAMESPACE = "#local"  # '#' never passes the path check, so the proxy cannot reach it


def run_root(artifact_uri: str) -> str | None:
    """The store directory of a run artifact URI MLflow proxies, or ``None`` for other schemes."""
    parsed = urllib.parse.urlparse(artifact_uri)
    if parsed.scheme == "mlflow-artifacts":
        return parsed.path.lstrip("/")
    if parsed.scheme in ("http", "https"):
        anchor = "/api/2.0/mlflow-artifacts/artifacts/"
        if anchor in parsed.path:
            return parsed.path.split(anchor, 1)[1].lstrip("/")
    return None


def artifact_root(artifact_uri: str) -> tuple[str, bool]:
    """(store directory, proxied?) of an artifact URI. A local path (which ``mlflow server``
    reads from its own disk) lives in a namespace of its own; storage fakeflow cannot reach
    (s3:, gs:, ...) fails as MLflow's server fails without it: a 500 page."""
    proxied = run_root(artifact_uri)
    if proxied is not None:
        return proxied, True
    parsed = urllib.parse.urlparse(artifact_uri)
    if parsed.scheme in ("", "file"):
        local = urllib.parse.unquote(parsed.path) if parsed.scheme else artifact_uri
        return LOCAL_NAMESPACE + posixpath.normpath("/" + local), False
    raise InternalServerError()


def _artifacts(store: TrackingStore) -> ArtifactStore:
    return store.artifacts


def _refuse_long_names(artifacts: ArtifactStore, key: str) -> None:
    """MLflow stats the path on disk; a name over NAME_MAX on the way fails it: Flask's 500."""
    if artifacts.reaches_long_name(key):
        raise InternalServerError()


def _read_chunks(request: Request) -> Iterator[bytes]:
    """The request body in pieces of at most ``CHUNK`` bytes, read as they are consumed."""
    environ = request.environ
    stream = environ.get("wsgi.input")
    if stream is None:
        return
    length = request.content_length
    if length is None and not environ.get("wsgi.input_terminated"):
        return
    remaining = length if length is not None else -1
    while remaining != 0:
        size = CHUNK if remaining < 0 else min(CHUNK, remaining)
        piece = stream.read(size)
        if not piece:
            return
        if remaining > 0:
            remaining -= len(piece)
        yield piece


# ---- mlflow-artifacts: the FastAPI pair (GET and PUT of artifacts/<path>) --------------------

def artifact_file(store: TrackingStore, request: Request) -> Response:
    """GET, HEAD, PUT, DELETE of ``mlflow-artifacts/artifacts/<path>``."""
    if not request.path.endswith("/") and request.path.endswith("/mlflow-artifacts/artifacts"):
        # PUT/DELETE on the listing route itself (matched here because slashes are literal)
        raise MethodNotAllowed(valid_methods=["GET", "HEAD", "OPTIONS"])
    raw = _route_path(request)
    if request.method == "PUT":
        return _put(store, request, raw)
    if request.method == "DELETE":
        return _delete(store, request, raw)
    if request.method == "HEAD":
        return ranged(request, _download_flask(store, raw))
    response = _download_fastapi(store, raw)
    return ranged(request, response) if response.status_code == 200 else response


def _after(request: Request, marker: str) -> str:
    """The route's path parameter: everything after ``marker``, as the server decoded it."""
    return request.path.split(marker, 1)[1] if marker in request.path else ""


def _route_path(request: Request) -> str:
    return _after(request, "/mlflow-artifacts/artifacts/")


def _download_fastapi(store: TrackingStore, raw: str) -> Response:
    try:
        path = check_safe_path(raw)
    except MlflowError as error:
        return _fastapi_error(error)
    except InternalServerError:
        return _internal_error_text()
    if _artifacts(store).reaches_long_name(normalise(path)):
        return _internal_error_text()
    found = lookup_file(_artifacts(store), path)
    if found is None:
        return _fastapi_error(not_found(f"No such artifact: '{path}'"))
    if found == "dir":
        return _detail(400, f"Artifact path refers to a directory, not a file: '{path}'")
    return file_response(found, path, posixpath.basename(path))


def _download_flask(store: TrackingStore, raw: str) -> Response:
    if not raw or raw.startswith("/"):
        raise NotFound()
    path = check_safe_path(raw)
    _refuse_long_names(_artifacts(store), normalise(path))
    found = lookup_file(_artifacts(store), path)
    if found is None:
        raise not_found(f"No such artifact: '{path}'")
    if found == "dir":
        raise invalid(f"Artifact path refers to a directory, not a file: '{path}'")
    return file_response(found, path, pathlib.PurePosixPath(path).name)


def _put(store: TrackingStore, request: Request, raw: str) -> Response:
    try:
        path = check_safe_path(raw)
    except MlflowError as error:
        return _fastapi_error(error)
    except InternalServerError:
        return _internal_error_text()
    head, tail = posixpath.split(path)
    if not tail:
        return _detail(400, "Artifact path must include a filename (cannot end with '/').")
    return _store_upload(_artifacts(store), head, tail, _read_chunks(request), _fastapi_error)


def _store_upload(artifacts: ArtifactStore, head: str, tail: str, pieces: Iterator[bytes],
                  on_error: Any, base: str = "") -> Response:
    """MLflow's local repository (rooted at ``base``): check the directory name, create it,
    check the file name, stage the bytes, publish them.

    Every check runs before anything is stored, so a refused upload leaves the store as it was
    (MLflow's own may leave the directories it created before the refusal)."""
    problem = bad_directory_error(head)
    if problem is not None:
        return on_error(problem)
    if any(name_too_long(part) for part in head.split("/")):
        return _internal_error_text()  # MLflow's makedirs fails with ENAMETOOLONG
    directory = normalise(posixpath.join(base, head))
    try:
        artifacts.check_can_make_dirs(directory)
    except Conflict:
        return _internal_error_text()
    if posixpath.basename(tail).startswith(RESERVED_PREFIX):
        return on_error(invalid(
            f"Invalid artifact file name: '{tail}'. Artifact names starting with "
            f"'{RESERVED_PREFIX}' are reserved."
        ))
    if name_too_long(posixpath.basename(tail)):
        return _internal_error_text()  # opening the file fails with ENAMETOOLONG
    key = normalise(posixpath.join(directory, posixpath.basename(tail)))
    try:
        artifacts.check_writable(key)
        content = artifacts.receive(pieces, replacing=key)
        artifacts.publish(key, content)
    except Conflict:
        return _internal_error_text()
    except TooLarge as error:
        return _too_large(error)
    response = Response(b"", status=200)
    del response.headers["Content-Type"]
    return response


# ---- mlflow-artifacts: the Flask routes ------------------------------------------------------

def _pretty(payload: dict[str, Any]) -> Response:
    return _json(200, to_json(payload))


def _delete(store: TrackingStore, request: Request, raw: str) -> Response:
    if not raw or raw.startswith("/"):
        raise NotFound()
    path = check_safe_path(raw)
    read_request(request, DELETE_ARTIFACT)
    if lookup_file(_artifacts(store), path, as_joined=True) is not None:
        _artifacts(store).delete(normalise(path))
    return _pretty({})


def _entry(path: str, is_dir: bool, size: int) -> dict[str, Any]:
    entry: dict[str, Any] = {"path": path, "is_dir": is_dir}
    if not is_dir and size:
        entry["file_size"] = size
    return entry


def list_in_root(store: TrackingStore, request: Request) -> Response:
    """GET ``mlflow-artifacts/artifacts?path=``: names (not paths) of one directory's children."""
    msg = read_request(request, LIST_IN_ROOT)
    path = check_safe_path(msg["path"]) if "path" in msg else ""
    _refuse_long_names(_artifacts(store), normalise(path))
    files = [
        _entry(posixpath.basename(e.path), e.is_dir, e.size)
        for e in _listing(_artifacts(store), path)
    ]
    return _pretty({"files": files} if files else {})


def _listing(artifacts: ArtifactStore, path: str) -> list[Any]:
    if path and lookup_file(artifacts, path) is None and not artifacts.is_dir(normalise(path)):
        return []
    return artifacts.list(normalise(path))


def _unsupported(direction: str) -> MlflowError:
    """MLflow's answer to multipart routes when artifacts live on local storage."""
    return MlflowError(
        f"Multipart {direction} is not supported for the current artifact repository",
        "NOT_IMPLEMENTED",
    )


def create_multipart(store: TrackingStore, request: Request) -> Response:
    check_safe_path(_after(request, "/mlflow-artifacts/mpu/create/"))
    read_request(request, CREATE_MPU, [("path", [REQUIRED, STRING]), ("num_parts", [INTLIKE])])
    raise _unsupported("upload")


def complete_multipart(store: TrackingStore, request: Request) -> Response:
    check_safe_path(_after(request, "/mlflow-artifacts/mpu/complete/"))
    read_request(request, COMPLETE_MPU, [
        ("path", [REQUIRED, STRING]), ("upload_id", [STRING]), ("parts", [REQUIRED]),
    ])
    raise _unsupported("upload")


def abort_multipart(store: TrackingStore, request: Request) -> Response:
    check_safe_path(_after(request, "/mlflow-artifacts/mpu/abort/"))
    read_request(request, ABORT_MPU, [("path", [REQUIRED, STRING]), ("upload_id", [STRING])])
    raise _unsupported("upload")


def presigned_download(store: TrackingStore, request: Request) -> Response:
    check_safe_path(_after(request, "/mlflow-artifacts/presigned/"))
    raise _unsupported("download")


# ---- run artifacts -------------------------------------------------------------------------

def _list_below(store: TrackingStore, root_uri: str, relative: str | None) -> dict[str, Any]:
    """The ``{root_uri, files}`` answer for runs and logged models: paths relative to the root."""
    root, proxied = artifact_root(root_uri)
    answer: dict[str, Any] = {"root_uri": root_uri}
    if relative and not proxied:
        relative = normalise(relative)  # the local repository lists normalised paths
    where = posixpath.join(root, relative) if relative else root
    _refuse_long_names(_artifacts(store), normalise(where))
    files = [
        _entry(posixpath.join(relative, posixpath.basename(e.path)) if relative
               else posixpath.basename(e.path), e.is_dir, e.size)
        for e in _listing(_artifacts(store), where)
    ]
    if files:
        answer["files"] = files
    return answer


def list_run_artifacts(store: TrackingStore, request: Request) -> dict[str, Any]:
    """GET ``artifacts/list``: a run's artifacts with run-relative paths, sizes and directories."""
    msg = read_request(request, m.LIST_ARTIFACTS, [
        ("run_id", [STRING, REQUIRED]), ("path", [STRING]), ("page_token", [STRING]),
    ])
    relative = check_safe_path(msg["path"]) if "path" in msg else None
    run = store.get_run(msg.get("run_id") or msg.get("run_uuid", ""))
    return _list_below(store, run.artifact_uri, relative)


def get_run_artifact(store: TrackingStore, request: Request) -> Response:
    """GET ``/get-artifact?run_id=&path=``: the UI's download of one run artifact."""
    run_id = request.args.get("run_id") or request.args.get("run_uuid")
    if "path" not in request.args:
        raise BadRequest()
    path = check_safe_path(request.args["path"])
    run = store.get_run(run_id)  # type: ignore[arg-type]  # None -> "Run with id=None not found"
    return _serve_file(request, _artifacts(store), run.artifact_uri, path)


def get_model_version_artifact(store: TrackingStore, request: Request) -> Response:
    """GET ``/model-versions/get-artifact?name=&version=&path=``: a file of a registered version."""
    name, version = request.args.get("name"), request.args.get("version")
    if "path" not in request.args:
        raise BadRequest()
    path = check_safe_path(request.args["path"])
    if name and version is None:  # MLflow's int(None) fails inside its registry store
        raise MlflowError("int() argument must be a string, a bytes-like object or a real number, "
                          "not 'NoneType'", "INTERNAL_ERROR")
    uri = store.registry.get_model_version_download_uri(name or "", version or "")
    if urllib.parse.urlparse(uri).scheme in ("runs", "models"):
        # MLflow resolves a runs:/ or models:/ location through a client-side repository that
        # needs an http tracking URI, which the server itself does not have: it fails so.
        raise MlflowError(_NO_HTTP_TRACKING_URI, "INTERNAL_ERROR")
    return _serve_file(request, _artifacts(store), uri, path)


_NO_HTTP_TRACKING_URI = (
    "When an mlflow-artifacts URI was supplied, the tracking URI must be a valid http or https "
    "URI, but it was currently set to fakeflow:memory. Perhaps you forgot to set the tracking "
    "URI to the running MLflow server. To set the tracking URI, use either of the following "
    "methods:\n1. Set the MLFLOW_TRACKING_URI environment variable to the desired tracking URI. "
    "`export MLFLOW_TRACKING_URI=http://localhost:5000`\n2. Set the tracking URI "
    "programmatically by calling `mlflow.set_tracking_uri`. "
    "`mlflow.set_tracking_uri('http://localhost:5000')`"
)


def get_logged_model_artifact(store: TrackingStore, request: Request) -> Response:
    """GET ``logged-models/<id>/artifacts/files?artifact_file_path=``: one file of a live model."""
    file_path = request.args.get("artifact_file_path")
    if not file_path:
        raise MlflowError(
            'Request must include the "artifact_file_path" query parameter.', "BAD_REQUEST"
        )
    check_safe_path(file_path)
    model_id = _after(request, "/logged-models/").split("/artifacts/files", 1)[0]
    model = store.logged_models.get(model_id)
    return _serve_file(request, _artifacts(store), model.artifact_location, file_path)


LIST_LOGGED_MODEL_ARTIFACTS = Message(
    "ListLoggedModelArtifacts", (S("model_id"), S("artifact_directory_path"), S("page_token"))
)


def list_logged_model_artifacts(store: TrackingStore, request: Request) -> dict[str, Any]:
    """GET ``logged-models/<id>/artifacts/directories``: a live model's files, as a run's."""
    msg = read_request(request, LIST_LOGGED_MODEL_ARTIFACTS, [("artifact_directory_path", [STRING])])
    relative = None
    if "artifact_directory_path" in msg:
        relative = check_safe_path(msg["artifact_directory_path"])
    model_id = _after(request, "/logged-models/").split("/artifacts/directories", 1)[0]
    return _list_below(store, store.logged_models.get(model_id).artifact_location, relative)


def _serve_file(request: Request, artifacts: ArtifactStore, root_uri: str, path: str) -> Response:
    """Flask's download of ``path`` below ``root_uri``; messages name the proxied store path,
    or the relative path for a local root, as MLflow's do."""
    root, proxied = artifact_root(root_uri)
    full = posixpath.join(root, path)
    shown = full if proxied else path
    _refuse_long_names(artifacts, normalise(full))
    found = lookup_file(artifacts, full)
    if found is None:
        raise not_found(f"No such artifact: '{shown}'")
    if found == "dir":
        raise invalid(f"Artifact path refers to a directory, not a file: '{shown}'")
    return ranged(request, file_response(found, full, pathlib.PurePosixPath(shown).name))


def ranged(request: Request, response: Response) -> Response:
    """Answer a Range request with 206 (both MLflow's Flask and FastAPI file responses do)."""
    response.make_conditional(request.environ, accept_ranges=True,
                              complete_length=int(response.headers["Content-Length"]))
    return response


def upload_artifact(store: TrackingStore, request: Request) -> Response:
    """POST ``/ajax-api/2.0/mlflow/upload-artifact?run_uuid=&path=``: the UI's upload (<= 10 MB)."""
    run_uuid = request.args.get("run_uuid")
    if not run_uuid:
        raise invalid("Request must specify run_uuid.")
    path = request.args.get("path")
    if not path:
        raise invalid("Request must specify path.")
    path = check_safe_path(path)
    too_large = invalid("Artifact size is too large. Max size is 10MB.")
    if request.content_length and request.content_length > UI_UPLOAD_LIMIT:
        raise too_large
    data = b"".join(_read_chunks(request))
    if not data:
        raise invalid("Request must specify data.")
    if len(data) > UI_UPLOAD_LIMIT:
        raise too_large
    run = store.get_run(run_uuid)
    root, proxied = artifact_root(run.artifact_uri)
    directory, name = posixpath.split(path)
    if not name:
        raise InternalServerError()  # MLflow fails writing a file named like a directory
    if proxied:
        head = posixpath.join(run.experiment_id, run.run_id, "artifacts", directory)
        answer = _store_upload(_artifacts(store), head.rstrip("/"), name, iter((data,)), _raise)
    else:
        answer = _store_upload(_artifacts(store), directory, name, iter((data,)), _raise, root)
    if answer.status_code != 200:
        return answer
    return Response(b"", status=200, mimetype="application/json")


def _raise(error: MlflowError) -> Response:
    raise error


__all__ = [
    "abort_multipart", "artifact_file", "complete_multipart", "content_disposition",
    "create_multipart", "get_run_artifact", "list_in_root", "list_run_artifacts", "mime_type",
    "presigned_download", "run_root", "upload_artifact",
]
