"""What each successful model-registry write tells subscribed webhooks: the event and its
``data``, built as MLflow's handlers build them (from the request as parsed, so an unset
description is ``""`` for a registered model and ``null`` for a version).

A registered model or version whose request tags mark it a prompt (``mlflow.prompt.is_prompt``
true) is a prompt event; tag and alias writes ask the stored model. Tags of registered models
that are not prompts raise no event. Called by ``registry_handlers`` with the store lock held:
emitting only records deliveries and queues them (``fakeflow.webhook_delivery.emit``).
"""

from __future__ import annotations

from typing import Any, Iterable

from fakeflow.state.registry_entities import ModelVersion
from fakeflow.state.tracking import TrackingStore

IS_PROMPT_TAG = "mlflow.prompt.is_prompt"
PROMPT_TYPE_TAG = "_mlflow_prompt_type"
PROMPT_TEXT_TAG = "mlflow.prompt.text"


def _prompt_request(tags: dict[str, str]) -> bool:
    return tags.get(IS_PROMPT_TAG, "false").lower() == "true"


def _stored_prompt(store: TrackingStore, name: str) -> bool:
    return store.registry.get_registered_model(name).is_prompt()


def _emit(store: TrackingStore, entity: str, action: str, data: dict[str, Any]) -> None:
    subscribers = store.webhooks.subscribers((entity, action))
    if subscribers:  # the sender (and its HTTP client) is imported only when first needed
        from fakeflow import webhook_delivery

        webhook_delivery.emit(store, (entity, action), data, subscribers)


def registered_model_created(store: TrackingStore, name: str, tags: Iterable[tuple[str, str]],
                             description: str) -> None:
    tag_map = dict(tags)
    if _prompt_request(tag_map):
        shown = {k: v for k, v in tag_map.items() if k not in (IS_PROMPT_TAG, PROMPT_TYPE_TAG)}
        _emit(store, "prompt", "created",
              {"name": name, "tags": shown, "description": description})
    else:
        _emit(store, "registered_model", "created",
              {"name": name, "tags": tag_map, "description": description})


def model_version_created(store: TrackingStore, name: str, tags: Iterable[tuple[str, str]],
                          description: str, mv: ModelVersion) -> None:
    tag_map = dict(tags)
    if _prompt_request(tag_map):
        template = tag_map.pop(PROMPT_TEXT_TAG, None)
        tag_map.pop(IS_PROMPT_TAG, None)
        tag_map.pop(PROMPT_TYPE_TAG, None)
        _emit(store, "prompt_version", "created",
              {"name": name, "version": str(mv.version), "template": template, "tags": tag_map,
               "description": description or None})
    else:
        _emit(store, "model_version", "created",
              {"name": name, "version": str(mv.version), "source": mv.source,
               "run_id": mv.run_id or None, "tags": tag_map,
               "description": description or None})


def registered_model_tag_set(store: TrackingStore, name: str, key: str, value: str) -> None:
    if _stored_prompt(store, name):
        _emit(store, "prompt_tag", "set", {"name": name, "key": key, "value": value})


def registered_model_tag_deleted(store: TrackingStore, name: str, key: str) -> None:
    if _stored_prompt(store, name):
        _emit(store, "prompt_tag", "deleted", {"name": name, "key": key})


def model_version_tag_set(store: TrackingStore, name: str, version: str, key: str,
                          value: str) -> None:
    entity = "prompt_version_tag" if _stored_prompt(store, name) else "model_version_tag"
    _emit(store, entity, "set", {"name": name, "version": version, "key": key, "value": value})


def model_version_tag_deleted(store: TrackingStore, name: str, version: str, key: str) -> None:
    entity = "prompt_version_tag" if _stored_prompt(store, name) else "model_version_tag"
    _emit(store, entity, "deleted", {"name": name, "version": version, "key": key})


def alias_set(store: TrackingStore, name: str, alias: str, version: str) -> None:
    entity = "prompt_alias" if _stored_prompt(store, name) else "model_version_alias"
    _emit(store, entity, "created", {"name": name, "alias": alias, "version": version})


def alias_deleted(store: TrackingStore, name: str, alias: str) -> None:
    entity = "prompt_alias" if _stored_prompt(store, name) else "model_version_alias"
    _emit(store, entity, "deleted", {"name": name, "alias": alias})
