"""MLflow's rules for registry names, versions, stages, aliases and tags (each raises MlflowError)."""

from __future__ import annotations

import posixpath
import re

from fakeflow.state import validation as v
from fakeflow.state.errors import INTERNAL_ERROR, MlflowError, invalid
from fakeflow.state.registry_entities import ACTIVE_STAGES, ALL_STAGES

MAX_REGISTRY_TAG_KEY_LENGTH = 250
MAX_REGISTRY_TAG_VALUE_LENGTH = 100_000
MAX_ALIAS_LENGTH = 255
PROMPT_TEXT_TAG = "mlflow.prompt.text"

_ALIAS = re.compile(r"^[\w\-]*$")
_VERSION_ALIAS = re.compile(r"^[vV]\d+$")
_CANONICAL_STAGES = {stage.lower(): stage for stage in ALL_STAGES}


def missing(param: str) -> MlflowError:
    """The store-level missing-value message (no API docs hint)."""
    return invalid(f"Missing value for required parameter '{param}'.")


def check_model_name(name: str | None) -> None:
    if name is None or name.strip() == "":
        raise missing("name")
    if "/" in name or ":" in name:
        raise invalid(f"Invalid model name '{name}'. Names cannot contain '/' or ':'.")
    norm = posixpath.normpath(name)
    if norm != name or norm == "." or norm.startswith("..") or norm.startswith("/"):
        reason = (
            "Names may be treated as files in certain cases, and must not resolve to other names"
            f" when treated as such. This name would resolve to {norm!r}"
        )
        raise invalid(v.invalid_value("name", name, reason))


def check_new_name(new_name: str | None) -> None:
    if new_name is None or new_name.strip() == "":
        raise missing("new_name")
    check_model_name(new_name)


def parse_version(version: str) -> int:
    try:
        return int(version)
    except (TypeError, ValueError):
        raise invalid(f"Parameter 'version' must be an integer, got '{version}'.") from None


SQLITE_INTEGER = range(-(2**63), 2**63)


def check_version_fits(number: int) -> None:
    """MLflow looks a version up with an SQL query; SQLite cannot bind a number beyond 64 bits
    and the lookup fails with an internal error (before it could find or miss anything)."""
    if number not in SQLITE_INTEGER:
        raise MlflowError("Python int too large to convert to SQLite INTEGER", INTERNAL_ERROR)


def canonical_stage(stage: str) -> str:
    try:
        return _CANONICAL_STAGES[stage.lower()]
    except KeyError:
        raise invalid(
            f"Invalid Model Version stage: {stage}. Value must be one of {', '.join(ALL_STAGES)}."
        ) from None


def is_active_stage(stage: str) -> bool:
    return canonical_stage(stage) in ACTIVE_STAGES


def check_tag_key(key: str) -> None:
    v.check_name(key, "key")


def check_model_tag(key: str, value: str) -> None:
    check_tag_key(key)
    v.limit_length("key", MAX_REGISTRY_TAG_KEY_LENGTH, key)
    v.limit_length("value", MAX_REGISTRY_TAG_VALUE_LENGTH, value)


def check_version_tag(key: str, value: str) -> None:
    check_tag_key(key)
    v.limit_length("key", MAX_REGISTRY_TAG_KEY_LENGTH, key)
    if key == PROMPT_TEXT_TAG and len(value) > MAX_REGISTRY_TAG_VALUE_LENGTH:
        raise invalid(
            f"Prompt text exceeds max length of {MAX_REGISTRY_TAG_VALUE_LENGTH} characters."
        )
    v.limit_length("value", MAX_REGISTRY_TAG_VALUE_LENGTH, value)


def check_alias(alias: str) -> None:
    if not alias:
        raise invalid("Registered model alias name cannot be empty.")
    if not _ALIAS.match(alias):
        raise invalid(
            f"Invalid alias name: '{alias}'. Names may only contain alphanumerics, underscores "
            "(_), and dashes (-)."
        )
    v.limit_length("Registered model alias name", MAX_ALIAS_LENGTH, alias)


def check_alias_not_reserved(alias: str) -> None:
    if alias.lower() == "latest":
        raise invalid("'latest' alias name (case insensitive) is reserved.")
    if _VERSION_ALIAS.match(alias):
        raise invalid(f"Version alias name '{alias}' is reserved.")
