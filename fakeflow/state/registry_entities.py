"""Registered models and their versions as plain Python objects (what the registry store keeps).

Tags keep first-insertion order (an overwritten tag keeps its place), as MLflow's tables list them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

STAGE_NONE = "None"
STAGE_STAGING = "Staging"
STAGE_PRODUCTION = "Production"
STAGE_ARCHIVED = "Archived"
#: A deleted version keeps its row (so its number is never reused) in this hidden stage.
STAGE_DELETED_INTERNAL = "Deleted_Internal"

ALL_STAGES = (STAGE_NONE, STAGE_STAGING, STAGE_PRODUCTION, STAGE_ARCHIVED)
ACTIVE_STAGES = (STAGE_STAGING, STAGE_PRODUCTION)

#: The registered-model tag that turns a model into a prompt (MLflow's prompt registry).
IS_PROMPT_TAG = "mlflow.prompt.is_prompt"


@dataclass(slots=True)
class ModelVersion:
    name: str
    version: int
    creation_timestamp: int
    last_updated_timestamp: int
    source: str
    #: Where the version's files are: the source, or what a ``models:/`` source resolved to.
    storage_location: str
    run_id: str
    run_link: str
    #: None after an update that sent no description (then omitted from JSON).
    description: str | None
    current_stage: str = STAGE_NONE
    tags: dict[str, str] = field(default_factory=dict)
    model_id: str = ""

    @property
    def deleted(self) -> bool:
        return self.current_stage == STAGE_DELETED_INTERNAL


@dataclass(slots=True)
class RegisteredModel:
    name: str
    creation_timestamp: int
    last_updated_timestamp: int
    description: str = ""
    tags: dict[str, str] = field(default_factory=dict)
    #: alias -> version number
    aliases: dict[str, int] = field(default_factory=dict)
    #: version number -> version, deleted ones included (they hold their number)
    versions: dict[int, ModelVersion] = field(default_factory=dict)

    def live_versions(self) -> list[ModelVersion]:
        return [mv for mv in self.versions.values() if not mv.deleted]

    def is_prompt(self) -> bool:
        return self.tags.get(IS_PROMPT_TAG, "false").lower() == "true"

    def latest_versions(self) -> list[ModelVersion]:
        """The highest-numbered live version of each stage.

        Stages come in the order their first live version appears (MLflow fills a dict while
        walking the versions in ascending order).
        """
        best: dict[str, ModelVersion] = {}
        for number in sorted(self.versions):
            mv = self.versions[number]
            if not mv.deleted:
                best[mv.current_stage] = mv
        return list(best.values())

    def latest_versions_by_stage(self) -> list[ModelVersion]:
        """The same versions ordered by stage name, as MLflow's search query returns them."""
        return sorted(self.latest_versions(), key=lambda mv: mv.current_stage)

    def aliases_of(self, version: int) -> list[str]:
        return [alias for alias, number in self.aliases.items() if number == version]
