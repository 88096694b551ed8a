"""The registry section of a snapshot: registered models with every version (deleted ones too,
since they hold their numbers), tags and aliases in their order, as JSON-able data and back."""

from __future__ import annotations

from typing import Any

from fakeflow.state.registry import RegistryStore
from fakeflow.state.registry_entities import ALL_STAGES, STAGE_DELETED_INTERNAL, ModelVersion, RegisteredModel

_STAGES = frozenset(ALL_STAGES) | {STAGE_DELETED_INTERNAL}


def _pairs(items: dict[str, Any]) -> list[list[Any]]:
    return [[key, value] for key, value in items.items()]


def _dump_version(mv: ModelVersion) -> dict[str, Any]:
    return {
        "version": mv.version,
        "creation_timestamp": mv.creation_timestamp,
        "last_updated_timestamp": mv.last_updated_timestamp,
        "source": mv.source,
        "storage_location": mv.storage_location,
        "run_id": mv.run_id,
        "run_link": mv.run_link,
        "description": mv.description,
        "current_stage": mv.current_stage,
        "tags": _pairs(mv.tags),
        "model_id": mv.model_id,
    }


def dump_registry(registry: RegistryStore) -> list[dict[str, Any]]:
    """Call with the store lock held."""
    return [
        {
            "name": m.name,
            "creation_timestamp": m.creation_timestamp,
            "last_updated_timestamp": m.last_updated_timestamp,
            "description": m.description,
            "tags": _pairs(m.tags),
            "aliases": _pairs(m.aliases),
            "versions": [_dump_version(mv) for mv in m.versions.values()],
        }
        for m in registry.models.values()
    ]


def _load_version(name: str, data: dict[str, Any]) -> ModelVersion:
    stage = data["current_stage"]
    if stage not in _STAGES:
        raise ValueError(f"unknown model version stage {stage!r}")
    description = data["description"]
    return ModelVersion(
        name=name,
        version=int(data["version"]),
        creation_timestamp=int(data["creation_timestamp"]),
        last_updated_timestamp=int(data["last_updated_timestamp"]),
        source=str(data["source"]),
        storage_location=str(data["storage_location"]),
        run_id=str(data["run_id"]),
        run_link=str(data["run_link"]),
        description=None if description is None else str(description),
        current_stage=stage,
        tags={str(k): str(v) for k, v in data["tags"]},
        model_id=str(data.get("model_id", "")),
    )


def load_registry(data: list[dict[str, Any]]) -> dict[str, RegisteredModel]:
    """Decode a registry section (raises KeyError/TypeError/ValueError on malformed data)."""
    models: dict[str, RegisteredModel] = {}
    for item in data:
        name = str(item["name"])
        versions = [_load_version(name, v) for v in item["versions"]]
        model = RegisteredModel(
            name=name,
            creation_timestamp=int(item["creation_timestamp"]),
            last_updated_timestamp=int(item["last_updated_timestamp"]),
            description=str(item["description"]),
            tags={str(k): str(v) for k, v in item["tags"]},
            aliases={str(alias): int(number) for alias, number in item["aliases"]},
            versions={mv.version: mv for mv in versions},
        )
        if name in models:
            raise ValueError(f"registered model {name!r} appears twice")
        for alias, number in model.aliases.items():
            target = model.versions.get(number)
            if target is None or target.deleted:
                raise ValueError(f"alias {alias!r} of {name!r} points at no live version")
        models[name] = model
    return models
