"""MLflow's rules for names, keys, values and batch sizes; every check raises MlflowError."""

from __future__ import annotations

import json
import math
import os
import posixpath
import re
import urllib.parse
from typing import Any

from fakeflow.state.errors import INTERNAL_ERROR, MlflowError, invalid

MAX_ENTITY_KEY_LENGTH = 250
MAX_PARAM_VALUE_LENGTH = 6000
MAX_TAG_VALUE_LENGTH = 8000
MAX_EXPERIMENT_NAME_LENGTH = 500
MAX_EXPERIMENT_TAG_KEY_LENGTH = 250
MAX_EXPERIMENT_TAG_VALUE_LENGTH = 20000
MAX_METRICS_PER_BATCH = 1000
MAX_PARAMS_TAGS_PER_BATCH = 100
MAX_ENTITIES_PER_BATCH = 1000
MAX_DATASET_NAME = 500
MAX_DATASET_DIGEST = 36
MAX_DATASET_SOURCE = 65535
MAX_DATASET_SCHEMA = 1048575
MAX_DATASET_PROFILE = 16777215
MAX_INPUT_TAG_KEY = 255
MAX_INPUT_TAG_VALUE = 500
LARGEST_DOUBLE = 1.7976931348623157e308

_NAME_CHARS = re.compile(r"^[/\w.\- :]*$")
_RUN_ID = re.compile(r"^[a-zA-Z0-9][\w\-]{0,255}$")
_BAD_CHARS = (
    "Names may only contain alphanumerics, underscores (_), dashes (-), periods (.), spaces ( ), "
    "colon(:) and slashes (/)."
)


def invalid_value(path: str, value: Any, reason: str | None = None) -> str:
    shown = json.dumps(value, sort_keys=True, separators=(",", ":"))
    if reason:
        return f"Invalid value {shown} for parameter '{path}' supplied: {reason}"
    return f"Invalid value {shown} for parameter '{path}' supplied."


def join_path(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def _resolves_elsewhere(name: str) -> bool:
    norm = posixpath.normpath(name)
    return norm != name or norm == "." or norm.startswith("..") or norm.startswith("/")


def check_name(name: str, path: str) -> None:
    """Keys of params, metrics and tags: allowed characters and path-normal form."""
    if not _NAME_CHARS.match(name):
        raise invalid(invalid_value(path, name, _BAD_CHARS))
    if _resolves_elsewhere(name):
        reason = (
            "Names may be treated as files in certain cases, and must not resolve to other names"
            f" when treated as such. This name would resolve to {posixpath.normpath(name)!r}"
        )
        raise invalid(invalid_value(path, name, reason))


def limit_length(label: str, limit: int, value: str, truncate: bool = False) -> str:
    if len(value) <= limit:
        return value
    if truncate:
        return value[:limit]
    raise invalid(f"'{label}' exceeds the maximum length of {limit} characters")


def check_param(key: str, value: str, prefix: str = "") -> tuple[str, str]:
    check_name(key, join_path(prefix, "key"))
    limit_length("Param key", MAX_ENTITY_KEY_LENGTH, key)
    return key, limit_length("Param value", MAX_PARAM_VALUE_LENGTH, value, truncate=True)


def check_tag(key: str, value: str, prefix: str = "") -> tuple[str, str]:
    check_name(key, join_path(prefix, "key"))
    limit_length(join_path(prefix, "key"), MAX_ENTITY_KEY_LENGTH, key)
    return key, limit_length(join_path(prefix, "value"), MAX_TAG_VALUE_LENGTH, value, truncate=True)


def check_experiment_tag(key: str, value: str) -> None:
    check_name(key, "key")
    limit_length("key", MAX_EXPERIMENT_TAG_KEY_LENGTH, key)
    limit_length("value", MAX_EXPERIMENT_TAG_VALUE_LENGTH, value)


def check_metric(key: str, value: float, timestamp: int, step: int, prefix: str = "") -> None:
    check_name(key, join_path(prefix, "name"))
    if timestamp < 0:
        shown_value = "nan" if math.isnan(value) else repr(float(value))
        raise invalid(
            invalid_value(
                join_path(prefix, "timestamp"),
                timestamp,
                f"metric '{key}' (value={shown_value}). "
                "Timestamp must be a nonnegative long (64-bit integer) ",
            )
        )
    limit_length("Metric name", MAX_ENTITY_KEY_LENGTH, key)


def clamp_metric_value(value: float) -> float:
    """The SQL store cannot hold infinities; it stores the largest finite double instead."""
    if math.isinf(value):
        return LARGEST_DOUBLE if value > 0 else -LARGEST_DOUBLE
    return value


def check_run_id_format(run_id: str, path: str = "run_id") -> None:
    if _RUN_ID.match(run_id) is None:
        raise invalid(invalid_value(path, run_id))


def check_batch_limits(n_metrics: int, n_params: int, n_tags: int) -> None:
    for label, limit, count in (
        ("metrics", MAX_METRICS_PER_BATCH, n_metrics),
        ("params", MAX_PARAMS_TAGS_PER_BATCH, n_params),
        ("tags", MAX_PARAMS_TAGS_PER_BATCH, n_tags),
        ("metrics, params, and tags", MAX_ENTITIES_PER_BATCH, n_metrics + n_params + n_tags),
    ):
        if count > limit:
            raise invalid(
                f"A batch logging request can contain at most {limit} {label}. Got {count} "
                f"{label}. Please split up {label} across multiple requests and try again."
            )


def check_unique_param_keys(keys: list[str]) -> None:
    seen: set[str] = set()
    duplicates = []
    for key in keys:
        if key in seen:
            duplicates.append(key)
        seen.add(key)
    if duplicates:
        raise invalid(
            f"Duplicate parameter keys have been submitted: {duplicates}. Please ensure the "
            "request contains only one param value per param key."
        )


def check_experiment_name(name: str) -> None:
    if name == "":
        raise invalid(f"Invalid experiment name: '{name}'")
    limit_length("name", MAX_EXPERIMENT_NAME_LENGTH, name)


def parse_experiment_id(experiment_id: str) -> int:
    try:
        return int(experiment_id)
    except (ValueError, TypeError):
        raise invalid(
            f"Invalid experiment ID '{experiment_id}'. Experiment ID must be a valid integer."
        )


def check_sqlite_integer(number: int) -> None:
    """SQLite cannot bind integers outside int64; MLflow lets the driver error surface as a 500."""
    if not -(2**63) <= number < 2**63:
        raise MlflowError("Python int too large to convert to SQLite INTEGER", INTERNAL_ERROR)


def check_dataset(name: str, digest: str, source: str, schema: str, profile: str) -> None:
    for label, limit, value in (
        ("name", MAX_DATASET_NAME, name),
        ("digest", MAX_DATASET_DIGEST, digest),
        ("source", MAX_DATASET_SOURCE, source),
        ("schema", MAX_DATASET_SCHEMA, schema),
        ("profile", MAX_DATASET_PROFILE, profile),
    ):
        limit_length(label, limit, value)


def check_input_tag(key: str, value: str) -> None:
    limit_length("key", MAX_INPUT_TAG_KEY, key)
    limit_length("value", MAX_INPUT_TAG_VALUE, value)


# ---- experiment artifact locations ------------------------------------------------------------

MAX_ARTIFACT_LOCATION_LENGTH = 2048
# Schemes that would make the server connect to the host named in the URI; MLflow refuses them
# unless the host is its own artifact storage (fakeflow's storage is local, so never).
HOST_ADDRESSED_SCHEMES = frozenset(
    {"ftp", "sftp", "hdfs", "viewfs", "http", "https", "mlflow-artifacts", "r2", "b2", "abfss"}
)
CUSTOM_VIEW_TAG_PREFIX = "mlflow.customView.view"
MAX_CUSTOM_VIEWS_PER_EXPERIMENT = 50


def _uri_scheme(uri: str) -> str:
    scheme = urllib.parse.urlparse(uri).scheme
    return "" if len(scheme) == 1 and scheme.isalpha() else scheme


def check_artifact_location(location: str, field: str = "artifact_location") -> None:
    parsed = urllib.parse.urlparse(location)
    if parsed.fragment or parsed.params:
        raise invalid(f"'{field}' URL can't include fragments or params.")
    if ".." in urllib.parse.unquote(parsed.query):
        raise invalid("Invalid query string")
    scheme = _uri_scheme(location)
    if scheme in HOST_ADDRESSED_SCHEMES and not (scheme == "mlflow-artifacts" and not parsed.netloc):
        raise invalid(
            f"'{field}' cannot use the '{scheme}' scheme: the '{scheme}' scheme addresses a host "
            "other than the tracking server's configured artifact storage, so the server would "
            "connect to the host named in the URI. Set the "
            "MLFLOW_ALLOWED_HOST_ADDRESSED_ARTIFACT_SCHEMES environment variable on the server "
            "to allow it."
        )
    if location.startswith("runs:"):
        raise invalid(f"Artifact location cannot be a runs:/ URI. Given: '{location}'")
    check_artifact_location_length(location)


def check_artifact_location_length(location: str) -> None:
    if len(location) > MAX_ARTIFACT_LOCATION_LENGTH:
        raise invalid(
            "Invalid artifact path length. The length of the artifact path cannot be greater "
            f"than {MAX_ARTIFACT_LOCATION_LENGTH} characters. To configure this limit, please set "
            "the MLFLOW_ARTIFACT_LOCATION_MAX_LENGTH environment variable."
        )


def resolve_local_location(location: str) -> str:
    """A relative local path becomes absolute against the server's working directory."""
    if _uri_scheme(location) == "" and not os.path.isabs(location):
        return os.path.join(os.getcwd(), location)
    return location


def count_custom_views(keys) -> int:
    return sum(key.startswith(CUSTOM_VIEW_TAG_PREFIX) for key in keys)


def custom_view_limit(experiment_id: str | None = None) -> Exception:
    where = f" for experiment {experiment_id}" if experiment_id else ""
    return invalid(
        f"Unable to create another custom view{where}; the maximum number of custom views per "
        f"experiment is {MAX_CUSTOM_VIEWS_PER_EXPERIMENT}. Delete an existing custom view before "
        "creating a new one."
    )
