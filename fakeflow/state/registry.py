"""The model registry: registered models, versions, stages, aliases and tags, behind one lock.

The lock is the tracking store's (one lock for the whole state), because a version's source
refers to runs. Every public method is atomic and raises ``MlflowError`` where MLflow 3.17.2's
SQL registry (and its HTTP handlers) fail, in the same order of checks; a failed call changes
nothing. Source rules (what a ``runs:/`` or ``models:/`` source must satisfy) live in
``registry_sources``.
"""

from __future__ import annotations

import threading
import urllib.parse
from typing import Callable, Sequence

from fakeflow.state import registry_sources as sources
from fakeflow.state import registry_validation as rv
from fakeflow.state.errors import (
    INTERNAL_ERROR,
    RESOURCE_ALREADY_EXISTS,
    MlflowError,
    invalid,
    not_found,
)
from fakeflow.state.ids import Clock
from fakeflow.state.registry_entities import (
    ACTIVE_STAGES,
    ALL_STAGES,
    IS_PROMPT_TAG,
    STAGE_ARCHIVED,
    STAGE_DELETED_INTERNAL,
    ModelVersion,
    RegisteredModel,
)

KeyValue = tuple[str, str]
#: Called after a version is created from a logged model: (model_id, name, version).
VersionLinkHook = Callable[[str, str, int], None]


def model_not_found(name: str) -> MlflowError:
    return not_found(f"Registered Model with name={name} not found")


def logged_model_not_found(model_id: str) -> MlflowError:
    return not_found(f"Logged model with ID '{model_id}' not found.")


def version_not_found(name: str, version: object) -> MlflowError:
    return not_found(f"Model Version (name={name}, version={version}) not found")


class RegistryStore:
    """In-memory equivalent of MLflow's SQL model registry store."""

    def __init__(
        self,
        lock: threading.RLock,
        clock: Clock,
        lookups: sources.SourceLookups,
        on_version_from_logged_model: VersionLinkHook | None = None,
    ) -> None:
        self.lock = lock
        self.clock = clock
        self.lookups = lookups
        self.on_version_from_logged_model = on_version_from_logged_model
        self.reset()

    def reset(self) -> None:
        with self.lock:
            #: name -> model, in creation order
            self.models: dict[str, RegisteredModel] = {}

    # ---- lookups ----------------------------------------------------------------------------

    def _model(self, name: str) -> RegisteredModel:
        rv.check_model_name(name)
        model = self.models.get(name)
        if model is None:
            raise model_not_found(name)
        return model

    def _version(self, name: str, version: str) -> ModelVersion:
        rv.check_model_name(name)
        number = rv.parse_version(version)
        rv.check_version_fits(number)
        model = self.models.get(name)
        mv = model.versions.get(number) if model is not None else None
        if mv is None or mv.deleted:
            raise version_not_found(name, number)
        return mv

    def aliases_of(self, mv: ModelVersion) -> list[str]:
        with self.lock:
            model = self.models.get(mv.name)
            return sorted(model.aliases_of(mv.version)) if model is not None else []

    # ---- registered models ------------------------------------------------------------------

    def create_registered_model(
        self, name: str, tags: Sequence[KeyValue] = (), description: str = ""
    ) -> RegisteredModel:
        rv.check_model_name(name)
        for key, value in tags:
            rv.check_model_tag(key, value)
        with self.lock:
            existing = self.models.get(name)
            if existing is not None:
                raise _already_exists(name, IS_PROMPT_TAG in existing.tags,
                                      any(key == IS_PROMPT_TAG for key, _ in tags))
            now = self.clock.now_ms()
            model = RegisteredModel(name, now, now, description, dict(tags))
            self.models[name] = model
            return model

    def get_registered_model(self, name: str) -> RegisteredModel:
        with self.lock:
            return self._model(name)

    def update_registered_model(self, name: str, description: str) -> RegisteredModel:
        with self.lock:
            model = self._model(name)
            model.description = description
            model.last_updated_timestamp = self.clock.now_ms()
            return model

    def rename_registered_model(self, name: str, new_name: str) -> RegisteredModel:
        rv.check_new_name(new_name)
        with self.lock:
            model = self._model(name)
            if new_name != name and new_name in self.models:
                raise MlflowError(
                    f"Registered Model (name={new_name}) already exists. Error: "
                    "(sqlite3.IntegrityError) UNIQUE constraint failed: "
                    "registered_models.workspace, registered_models.name",
                    RESOURCE_ALREADY_EXISTS,
                )
            now = self.clock.now_ms()
            for mv in model.versions.values():
                mv.name = new_name
                mv.last_updated_timestamp = now
            model.name = new_name
            model.last_updated_timestamp = now
            del self.models[name]
            self.models[new_name] = model
            return model

    def delete_registered_model(self, name: str) -> None:
        with self.lock:
            self._model(name)
            del self.models[name]

    def search_registered_models(
        self,
        filter_string: str | None = None,
        max_results: int = 100,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> tuple[list[RegisteredModel], str | None]:
        with self.lock:
            from fakeflow.search import registry as search  # the parser loads on first use

            return search.search_registered_models(
                list(self.models.values()), filter_string, max_results, order_by, page_token
            )

    def get_latest_versions(self, name: str, stages: Sequence[str] = ()) -> list[ModelVersion]:
        with self.lock:
            return self._latest(name, stages)

    def set_registered_model_tag(self, name: str, key: str, value: str) -> None:
        rv.check_model_name(name)
        rv.check_model_tag(key, value)
        with self.lock:
            self._model(name).tags[key] = value

    def delete_registered_model_tag(self, name: str, key: str) -> None:
        rv.check_model_name(name)
        rv.check_tag_key(key)
        with self.lock:
            self._model(name).tags.pop(key, None)

    # ---- model versions ---------------------------------------------------------------------

    def create_model_version(
        self,
        name: str,
        source: str,
        run_id: str = "",
        tags: Sequence[KeyValue] = (),
        run_link: str = "",
        description: str = "",
        model_id: str = "",
        *,
        has_run_id: bool | None = None,
        has_model_id: bool | None = None,
    ) -> ModelVersion:
        """MLflow's CreateModelVersion handler and store in one step (they share the checks).

        ``has_run_id`` / ``has_model_id`` say whether the request carried the field at all
        (default: whether it is non-empty); a ``models:/<name>/<version>`` source then inherits
        what was not given from the referenced version.
        """
        has_run_id = bool(run_id) if has_run_id is None else has_run_id
        has_model_id = bool(model_id) if has_model_id is None else has_model_id
        with self.lock:
            is_prompt = dict(tags).get(IS_PROMPT_TAG, "false").lower() == "true"
            if is_prompt:
                sources.check_prompt_source(source)
            scheme = sources.rejected_host_scheme(source)
            if scheme is not None:
                raise sources.host_scheme_error(scheme, "source")
            if not is_prompt:
                source, run_id, model_id = self._resolve_lineage(
                    source, run_id, model_id, has_run_id, has_model_id
                )
                if model_id:
                    sources.check_logged_model_source(source, model_id, self.lookups)
                else:
                    sources.check_run_source(source, run_id, self.lookups)
            rv.check_model_name(name)
            for key, value in tags:
                rv.check_version_tag(key, value)
            storage_location = source
            if sources.is_models_uri(source):
                parsed = sources.parse_models_uri(source)
                if parsed.model_id is not None:
                    logged = self._logged_model_or_fail(parsed.model_id, source)
                    storage_location = logged.artifact_location
                    run_id = run_id or logged.source_run_id
                else:
                    storage_location = self._download_uri(parsed.name or "", parsed.version or "")
            if not run_id and model_id:
                logged = self.lookups.logged_model(model_id)
                if logged is None:
                    raise logged_model_not_found(model_id)
                run_id = logged.source_run_id
            model = self._model(name)
            number = max(model.versions, default=0) + 1
            now = self.clock.now_ms()
            mv = ModelVersion(
                name=name, version=number, creation_timestamp=now, last_updated_timestamp=now,
                source=source, storage_location=storage_location, run_id=run_id,
                run_link=run_link, description=description, tags=dict(tags), model_id=model_id,
            )
            model.versions[number] = mv
            model.last_updated_timestamp = now
            if not is_prompt and model_id:
                # MLflow links the logged model after storing the version: a missing model fails
                # the request but the version stays.
                if self.lookups.logged_model(model_id) is None:
                    raise logged_model_not_found(model_id)
                if self.on_version_from_logged_model is not None:
                    self.on_version_from_logged_model(model_id, name, number)
            return mv

    def _logged_model_or_fail(self, model_id: str, source: str) -> sources.LoggedModelRef:
        logged = self.lookups.logged_model(model_id)
        if logged is None:
            raise sources.unable_to_fetch(source, logged_model_not_found(model_id).message)
        return logged

    def _resolve_lineage(
        self, source: str, run_id: str, model_id: str, has_run_id: bool, has_model_id: bool
    ) -> tuple[str, str, str]:
        """A ``models:/<name>/<version|stage|alias>`` source -> ``models:/<name>/<number>``."""
        if not sources.is_models_uri(source):
            return source, run_id, model_id
        if urllib.parse.urlparse(source).netloc:
            raise sources.registry_source_error(source, "netloc")
        try:
            parsed = sources.parse_models_uri(source)
        except MlflowError:
            raise sources.source_not_owned(source, "model_id") from None
        if parsed.model_id is not None:
            return source, run_id, model_id
        name = parsed.name or ""
        if self._model(name).is_prompt():
            raise sources.registry_source_error(source, "prompt")
        if parsed.version is not None:
            version = parsed.version
        elif parsed.alias is not None:
            rv.check_alias(parsed.alias)
            version = str(self._version_by_alias(name, parsed.alias).version)
        else:
            version = self._latest_number(name, parsed.stage)
        referenced = self._version(name, version)
        if (has_run_id and run_id != referenced.run_id) or (
            has_model_id and model_id != referenced.model_id
        ):
            raise sources.registry_source_error(source, "mismatch")
        return (
            f"models:/{name}/{referenced.version}",
            run_id if has_run_id else referenced.run_id,
            model_id if has_model_id else referenced.model_id,
        )

    def _latest_number(self, name: str, stage: str | None) -> str:
        latest = self._latest(name, [stage] if stage is not None else [])
        if not latest:
            where = "" if stage is None else f" and stage '{stage}'"
            raise MlflowError(f"No versions of model with name '{name}'{where} found", INTERNAL_ERROR)
        return str(max(mv.version for mv in latest))

    def _latest(self, name: str, stages: Sequence[str]) -> list[ModelVersion]:
        model = self._model(name)
        wanted = {rv.canonical_stage(s) for s in stages} if stages else set(ALL_STAGES)
        return [mv for mv in model.latest_versions() if mv.current_stage in wanted]

    def get_model_version(self, name: str, version: str) -> ModelVersion:
        with self.lock:
            return self._version(name, version)

    def update_model_version(self, name: str, version: str, description: str | None) -> ModelVersion:
        with self.lock:
            mv = self._version(name, version)
            mv.description = description
            mv.last_updated_timestamp = self.clock.now_ms()
            return mv

    def transition_model_version_stage(
        self, name: str, version: str, stage: str, archive_existing_versions: bool = False
    ) -> ModelVersion:
        if archive_existing_versions and not rv.is_active_stage(stage):
            raise MlflowError(
                "Model version transition cannot archive existing model versions because "
                f"'{stage}' is not an Active stage. Valid stages are {list(ACTIVE_STAGES)}",
                INTERNAL_ERROR,
            )
        target = rv.canonical_stage(stage)
        with self.lock:
            mv = self._version(name, version)
            now = self.clock.now_ms()
            model = self.models[name]
            if archive_existing_versions:
                for other in model.versions.values():
                    if other is not mv and other.current_stage == target:
                        other.current_stage = STAGE_ARCHIVED
                        other.last_updated_timestamp = now
            mv.current_stage = target
            mv.last_updated_timestamp = now
            model.last_updated_timestamp = now
            return mv

    def delete_model_version(self, name: str, version: str) -> None:
        number = rv.parse_version(version)
        with self.lock:
            mv = self._version(name, str(number))
            model = self.models[name]
            now = self.clock.now_ms()
            model.last_updated_timestamp = now
            for alias in [a for a, n in model.aliases.items() if n == number]:
                del model.aliases[alias]
            # The row stays (its number is never reused) but reads as gone; tags are kept.
            mv.current_stage = STAGE_DELETED_INTERNAL
            mv.last_updated_timestamp = now
            mv.description = None
            mv.source = "REDACTED-SOURCE-PATH"
            mv.run_id = "REDACTED-RUN-ID"
            mv.run_link = "REDACTED-RUN-LINK"

    def get_model_version_download_uri(self, name: str, version: str) -> str:
        with self.lock:
            return self._download_uri(name, version)

    def _download_uri(self, name: str, version: str) -> str:
        mv = self._version(name, version)
        return mv.storage_location or mv.source

    def search_model_versions(
        self,
        filter_string: str | None = None,
        max_results: int = 200_000,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> tuple[list[ModelVersion], str | None]:
        with self.lock:
            from fakeflow.search import registry as search

            return search.search_model_versions(
                list(self.models.values()), filter_string, max_results, order_by, page_token
            )

    def set_model_version_tag(self, name: str, version: str, key: str, value: str) -> None:
        rv.check_model_name(name)
        rv.parse_version(version)
        rv.check_version_tag(key, value)
        with self.lock:
            self._version(name, version).tags[key] = value

    def delete_model_version_tag(self, name: str, version: str, key: str) -> None:
        rv.check_model_name(name)
        rv.parse_version(version)
        rv.check_tag_key(key)
        with self.lock:
            self._version(name, version).tags.pop(key, None)

    # ---- aliases ----------------------------------------------------------------------------

    def set_registered_model_alias(self, name: str, alias: str, version: str) -> None:
        rv.check_model_name(name)
        rv.check_alias(alias)
        rv.check_alias_not_reserved(alias)
        rv.parse_version(version)
        with self.lock:
            mv = self._version(name, version)
            model = self.models[name]
            model.aliases[alias] = mv.version
            model.aliases = dict(sorted(model.aliases.items()))

    def delete_registered_model_alias(self, name: str, alias: str) -> None:
        rv.check_model_name(name)
        rv.check_alias(alias)
        with self.lock:
            self._model(name).aliases.pop(alias, None)

    def get_model_version_by_alias(self, name: str, alias: str) -> ModelVersion:
        rv.check_model_name(name)
        rv.check_alias(alias)
        with self.lock:
            return self._version_by_alias(name, alias)

    def _version_by_alias(self, name: str, alias: str) -> ModelVersion:
        if alias.lower() == "latest":
            latest = self._latest(name, [])
            if not latest:
                raise not_found(f"Latest version not found for model {name}.")
            return max(latest, key=lambda mv: mv.version)
        model = self._model(name)
        number = model.aliases.get(alias)
        if number is None:
            raise invalid(f"Registered model alias {alias} not found.")
        return self._version(name, str(number))


def _already_exists(name: str, existing_is_prompt: bool, new_is_prompt: bool) -> MlflowError:
    old = "Prompt" if existing_is_prompt else "Registered Model"
    new = "Prompt" if new_is_prompt else "Registered Model"
    if old != new:
        return MlflowError(
            f"Tried to create a {new.lower()} with name {name!r}, but the name is already taken "
            f"by a {old.lower()}. MLflow does not allow creating a model and a prompt with the "
            "same name.",
            RESOURCE_ALREADY_EXISTS,
        )
    return MlflowError(f"{new} (name={name}) already exists.", RESOURCE_ALREADY_EXISTS)
