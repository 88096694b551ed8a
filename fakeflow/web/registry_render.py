"""Registry entities as MLflow prints them (proto field order, proto2 presence).

A registered model omits an empty description and empty lists; a model version always has
``description`` unless an update cleared it (None), never ``user_id``/``model_id``, and lists its
aliases only where MLflow fills them (not in searches, not inside ``latest_versions``).
"""

from __future__ import annotations

from typing import Any, Sequence

from fakeflow.state.registry_entities import ModelVersion, RegisteredModel
from fakeflow.web.render import key_values


def model_version(mv: ModelVersion, aliases: Sequence[str] = ()) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": mv.name,
        "version": str(mv.version),
        "creation_timestamp": mv.creation_timestamp,
        "last_updated_timestamp": mv.last_updated_timestamp,
        "current_stage": mv.current_stage,
    }
    if mv.description is not None:
        out["description"] = mv.description
    out["source"] = mv.source
    out["run_id"] = mv.run_id
    out["status"] = "READY"
    if mv.tags:
        out["tags"] = key_values(mv.tags)
    out["run_link"] = mv.run_link
    if aliases:
        out["aliases"] = list(aliases)
    return out


def registered_model(m: RegisteredModel, in_search: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {"name": m.name, "creation_timestamp": m.creation_timestamp}
    if m.last_updated_timestamp:
        out["last_updated_timestamp"] = m.last_updated_timestamp
    if m.description:
        out["description"] = m.description
    latest = m.latest_versions_by_stage() if in_search else m.latest_versions()
    if latest:
        out["latest_versions"] = [model_version(mv) for mv in latest]
    if m.tags:
        out["tags"] = key_values(m.tags)
    if m.aliases:
        out["aliases"] = [
            {"alias": alias, "version": str(version)} for alias, version in sorted(m.aliases.items())
        ]
    return out
