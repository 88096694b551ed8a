"""Where a model version may come from: MLflow's checks on a version's ``source``.

This is the one place where the registry looks into other stores: a ``runs:/`` or
``mlflow-artifacts:`` source must lie inside the run named by ``run_id``, a ``models:/m-…``
source inside the logged model named by ``model_id``, a ``models:/<name>/<version>`` source is
another registered version. The other stores are reached through ``SourceLookups`` so that the
registry does not import them.
"""

from __future__ import annotations

import posixpath
import re
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import NamedTuple, Protocol

from fakeflow.state.errors import INTERNAL_ERROR, MlflowError, invalid

#: The only sources a prompt version may have (MLflow's client and store placeholders).
PROMPT_SOURCE_PLACEHOLDERS = frozenset({"dummy-source", "prompt-template"})

_HOST_ADDRESSED_SCHEMES = frozenset(
    {"ftp", "sftp", "hdfs", "viewfs", "http", "https", "mlflow-artifacts", "r2", "b2", "abfss"}
)


class LoggedModelRef(NamedTuple):
    artifact_location: str
    source_run_id: str


class SourceLookups(Protocol):
    """What source validation needs to know about runs and logged models."""

    def run_artifact_uri(self, run_id: str) -> str | None:
        """The run's artifact URI, or None if there is no such run."""

    def logged_model(self, model_id: str) -> LoggedModelRef | None:
        """The logged model, or None if there is no such model."""


class ParsedModelUri(NamedTuple):
    model_id: str | None = None
    name: str | None = None
    version: str | None = None
    stage: str | None = None
    alias: str | None = None


@dataclass(frozen=True)
class ResolvedSource:
    source: str
    run_id: str
    model_id: str


# ---- messages --------------------------------------------------------------------------------

def source_not_owned(source: object, id_name: str) -> MlflowError:
    return invalid(
        f"Invalid model version source: '{source}'. The {id_name} request parameter must "
        "identify the resource that contains the source."
    )


def _relative_path_source(source: str) -> MlflowError:
    return invalid(
        f"Invalid model version source: '{source}'. If supplying a source as an http, https, "
        "local file path, ftp, objectstore, or mlflow-artifacts uri, an absolute path must be "
        "provided without relative path references present. Please provide an absolute path."
    )


def _local_source(source: object, id_name: str, owner: str) -> MlflowError:
    return invalid(
        f"Invalid model version source: '{source}'. To use a local path as a model version "
        f"source, the {id_name} request parameter has to be specified and the local path has to "
        f"be contained within the artifact directory of the {owner} specified by the {id_name}."
    )


def _improper_models_uri(uri: str) -> MlflowError:
    return MlflowError(
        f"Not a proper models:/ URI: {uri}. Models URIs must be of the form 'models:/name/suffix' "
        "or 'models:/name@alias' where suffix is a version, stage, or the string 'latest' and "
        "where alias is a registered model alias. Only one of suffix or alias can be defined at "
        "a time.",
        INTERNAL_ERROR,
    )


# ---- URI helpers -----------------------------------------------------------------------------

def parse_models_uri(uri: str) -> ParsedModelUri:
    """``models:/…`` -> its parts, as MLflow reads them (raises on a malformed URI)."""
    parsed = urllib.parse.urlparse(uri, allow_fragments=False)
    path = parsed.path
    if parsed.scheme != "models" or not path.startswith("/") or len(path) <= 1:
        raise _improper_models_uri(uri)
    parts = path.lstrip("/").split("/")
    if len(parts) > 2 or parts[0].strip() == "":
        raise _improper_models_uri(uri)
    if len(parts) == 2:
        name, suffix = parts
        if suffix.strip() == "":
            raise _improper_models_uri(uri)
        if suffix.isdigit():
            return ParsedModelUri(name=name, version=suffix)
        if suffix.lower() == "latest":
            return ParsedModelUri(name=name)
        return ParsedModelUri(name=name, stage=suffix)
    if "@" in path:
        name, _, alias = parts[0].rpartition("@")
        if alias.strip() == "":
            raise _improper_models_uri(uri)
        return ParsedModelUri(name=name, alias=alias)
    return ParsedModelUri(model_id=parts[0])


def _scheme(uri: str) -> str:
    return urllib.parse.urlparse(uri).scheme


def rejected_host_scheme(uri: str) -> str | None:
    """The scheme of a URI that would make the server contact another host, else None."""
    try:
        parsed = urllib.parse.urlparse(uri)
    except ValueError:
        return None
    scheme = parsed.scheme
    if scheme not in _HOST_ADDRESSED_SCHEMES:
        return None
    if scheme == "mlflow-artifacts" and not parsed.netloc:
        return None
    return scheme


def host_scheme_error(scheme: str, field: str) -> MlflowError:
    return invalid(
        f"'{field}' cannot use the '{scheme}' scheme: the '{scheme}' scheme addresses a host "
        "other than the tracking server's configured artifact storage, so the server would "
        "connect to the host named in the URI. Set the MLFLOW_ALLOWED_HOST_ADDRESSED_ARTIFACT_SCHEMES "
        "environment variable on the server to allow it."
    )


def _is_local(uri: str) -> bool:
    parsed = urllib.parse.urlparse(uri)
    if parsed.scheme == "":
        return True
    if parsed.scheme == "file":
        host = parsed.hostname
        if host and not (host == "." or host.startswith("localhost") or host.startswith("127.0.0.1")):
            raise MlflowError(
                f"{uri} is not a valid remote uri. For remote access on windows, please consider "
                "using a different scheme such as SMB (e.g. smb://<hostname>/<path>).",
                INTERNAL_ERROR,
            )
        return True
    return False


def _local_path(uri: str) -> str:
    path = urllib.parse.urlparse(uri).path if uri.startswith("file:") else uri
    return posixpath.normpath(posixpath.join("/", urllib.request.url2pathname(path)))


def _contains(root: str, path: str) -> bool:
    return path == root or path.startswith(root.rstrip("/") + "/")


def _check_no_relative_parts(source: str) -> None:
    original = source
    while (unquoted := urllib.parse.unquote_plus(source)) != source:
        source = unquoted
    path = re.sub(r"/+", "/", urllib.parse.urlparse(source).path.rstrip("/"))
    if "\x00" in path or any(part == ".." for part in source.split("/")):
        raise _relative_path_source(original)
    # MLflow resolves the path on its own disk: anything relative or not normalised differs.
    if not path.startswith("/") or posixpath.normpath(path) != path:
        raise _relative_path_source(original)


def _uri_parts(uri: str) -> tuple[str, str, tuple[str, ...]]:
    parsed = urllib.parse.urlsplit(uri)
    parts = []
    for part in parsed.path.split("/"):
        if part:
            while (unquoted := urllib.parse.unquote(part)) != part:
                part = unquoted
            parts.append(part)
    return parsed.scheme.lower(), parsed.netloc.lower(), tuple(parts)


def uri_within_root(source: str, root: str) -> bool:
    source_scheme, source_host, source_parts = _uri_parts(source)
    root_scheme, root_host, root_parts = _uri_parts(root)
    return (
        source_scheme == root_scheme
        and source_host == root_host
        and bool(root_parts)
        and source_parts[: len(root_parts)] == root_parts
    )


def _is_artifact_proxy_source(source: str) -> bool:
    scheme, _, parts = _uri_parts(source)
    if scheme == "mlflow-artifacts":
        return True
    route = ("api", "2.0", "mlflow-artifacts", "artifacts")
    return scheme in ("http", "https") and any(
        parts[i : i + len(route)] == route for i in range(len(parts) - len(route) + 1)
    )


# ---- the checks ------------------------------------------------------------------------------

def check_prompt_source(source: str) -> None:
    if source not in PROMPT_SOURCE_PLACEHOLDERS:
        raise invalid(
            f"Invalid prompt source: '{source}'. Prompt sources must use an MLflow placeholder."
        )


def check_run_source(source: str, run_id: str, lookups: SourceLookups) -> None:
    """A source given with (or without) ``run_id``: it must lie inside that run."""
    if _is_local(source):
        shown: object = source
        if run_id:
            artifact_uri = lookups.run_artifact_uri(run_id)
            if artifact_uri is None:
                raise source_not_owned(source, "run_id")
            shown = _local_path(source)
            if _is_local(artifact_uri) and _contains(_local_path(artifact_uri), str(shown)):
                return
        raise _local_source(shown, "run_id", "run")
    _check_no_relative_parts(source)
    parsed = urllib.parse.urlparse(source)
    if parsed.scheme == "runs":
        if parsed.netloc:
            raise source_not_owned(source, "run_id")
        source_run_id = parsed.path[1:].split("/")[0]
        if run_id and source_run_id == run_id:
            return
        raise source_not_owned(source, "run_id")
    if parsed.scheme == "models":
        if parsed.netloc or _parsed_or_invalid(source).model_id is not None:
            raise source_not_owned(source, "model_id")
    if _is_artifact_proxy_source(source):
        if run_id:
            artifact_uri = lookups.run_artifact_uri(run_id)
            if artifact_uri is None:
                raise source_not_owned(source, "run_id")
            if uri_within_root(source, artifact_uri):
                return
        raise source_not_owned(source, "run_id")


def check_logged_model_source(source: str, model_id: str, lookups: SourceLookups) -> None:
    """A source given with ``model_id``: it must lie inside that logged model."""
    if _is_local(source):
        shown: object = source
        if model_id:
            model = lookups.logged_model(model_id)
            if model is None:
                raise source_not_owned(source, "model_id")
            shown = _local_path(source)
            location = model.artifact_location
            if _is_local(location) and _contains(_local_path(location), str(shown)):
                return
        raise _local_source(shown, "model_id", "run")
    _check_no_relative_parts(source)
    parsed = urllib.parse.urlparse(source)
    if parsed.scheme == "models":
        if parsed.netloc:
            raise source_not_owned(source, "model_id")
        source_model_id = _parsed_or_invalid(source).model_id
        if source_model_id is not None:
            if model_id and source_model_id == model_id:
                return
            raise source_not_owned(source, "model_id")
    if parsed.scheme == "runs":
        raise source_not_owned(source, "model_id")
    if _is_artifact_proxy_source(source):
        if model_id:
            model = lookups.logged_model(model_id)
            if model is None:
                raise source_not_owned(source, "model_id")
            if uri_within_root(source, model.artifact_location):
                return
        raise source_not_owned(source, "model_id")


def _parsed_or_invalid(source: str) -> ParsedModelUri:
    try:
        return parse_models_uri(source)
    except MlflowError:
        raise source_not_owned(source, "model_id") from None


def is_models_uri(source: str) -> bool:
    return _scheme(source) == "models"


def registry_source_error(source: str, reason: str) -> MlflowError:
    messages = {
        "netloc": "Registered model sources must use the active model registry.",
        "prompt": "Prompt versions cannot be used as model version sources.",
        "mismatch": "The run_id and model_id request parameters must match the referenced model "
        "version.",
    }
    return invalid(f"Invalid model version source: '{source}'. {messages[reason]}")


def unable_to_fetch(source: str, detail: str) -> MlflowError:
    return MlflowError(
        f"Unable to fetch model from model URI source artifact location '{source}'.Error: {detail}",
        INTERNAL_ERROR,
    )



class TrackingLookups:
    """``SourceLookups`` over a tracking store: runs by id, logged models by id."""

    def __init__(self, tracking: object) -> None:
        self.tracking = tracking

    def run_artifact_uri(self, run_id: str) -> str | None:
        from fakeflow.state.errors import RESOURCE_DOES_NOT_EXIST

        try:
            return self.tracking.get_run(run_id).artifact_uri  # type: ignore[attr-defined]
        except MlflowError as error:
            if error.error_code == RESOURCE_DOES_NOT_EXIST:
                return None
            raise

    def logged_model(self, model_id: str) -> LoggedModelRef | None:
        """A live (not deleted) logged model, as MLflow's ``get_logged_model`` finds it."""
        model = self.tracking.logged_models.find(model_id)  # type: ignore[attr-defined]
        if model is None or model.lifecycle_stage != "active":
            return None
        return LoggedModelRef(model.artifact_location, model.source_run_id)
