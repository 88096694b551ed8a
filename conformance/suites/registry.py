"""Model registry: registered models and their versions. Version numbers count up and are
never reused (not even after a delete); an alias names one version and moves when set again;
deleting a version drops its aliases; a stage transition may archive the versions already in
that stage; tags upsert (deleting an absent one succeeds); a rename carries the versions; the
latest version per stage; a name-filtered search."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hypothesis import strategies as st
from hypothesis.stateful import Bundle, multiple, rule

from . import register
from .base import ConformanceMachine, scenario, short_values

STAGES = ("None", "Staging", "Production", "Archived")
ACTIVE_STAGES = ("Staging", "Production")  # the only targets that may archive the others
sources = st.sampled_from(["s3://bucket/x", "s3://bucket/y/model"])
version_numbers = st.integers(min_value=1, max_value=4)
aliases = st.sampled_from(["champ", "chall"])
reg_tag_keys = st.sampled_from(["k1", "k2"])


@dataclass
class Version:
    number: int
    source: str
    stage: str = "None"
    tags: dict[str, str] = field(default_factory=dict)


@dataclass
class RegisteredModel:
    """The reference model of one registered model."""

    name: str
    tags: dict[str, str] = field(default_factory=dict)
    aliases: dict[str, int] = field(default_factory=dict)
    versions: dict[int, Version] = field(default_factory=dict)
    last_number: int = 0  # numbers are never reused, so this only grows
    deleted: bool = False

    def version_json(self, v: Version, with_aliases: bool = True) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name, "version": str(v.number), "creation_timestamp": 0,
            "last_updated_timestamp": 0, "current_stage": v.stage, "description": "",
            "source": v.source, "run_id": "", "status": "READY", "run_link": ""}
        if v.tags:
            out["tags"] = [{"key": k, "value": t} for k, t in v.tags.items()]
        names = sorted(a for a, n in self.aliases.items() if n == v.number)
        if with_aliases and names:
            out["aliases"] = names
        return out

    def latest(self, stages: tuple[str, ...] = STAGES) -> list[Version]:
        """The newest version in each of ``stages`` (a stage without versions has none)."""
        best: dict[str, Version] = {}
        for v in self.versions.values():
            if v.stage in stages and (v.stage not in best or v.number > best[v.stage].number):
                best[v.stage] = v
        return sorted(best.values(), key=lambda v: v.number)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "creation_timestamp": 0,
                               "last_updated_timestamp": 0}
        latest = self.latest()
        if latest:
            out["latest_versions"] = [self.version_json(v, with_aliases=False) for v in latest]
        if self.tags:
            out["tags"] = [{"key": k, "value": t} for k, t in self.tags.items()]
        if self.aliases:
            out["aliases"] = [{"alias": a, "version": str(n)} for a, n in sorted(self.aliases.items())]
        return out


def model_missing(name: str) -> str:
    return f"Registered Model with name={name} not found"


def version_missing(name: str, number: int) -> str:
    return f"Model Version (name={name}, version={number}) not found"


@register("registry", "model registry: models, versions (never reused), aliases, stages, tags")
class RegistrySuite(ConformanceMachine):
    models = Bundle("models")

    def __init__(self) -> None:
        super().__init__()
        self.registered: list[RegisteredModel] = []

    def teardown(self) -> None:
        for m in self.registered:
            if not m.deleted:
                self.get_model(m)
                for number in sorted(m.versions):
                    self.get_version(m, number)
        if self.registered:
            self.search()

    # -- registered models -------------------------------------------------------------------

    @rule(target=models)
    def create_model(self):
        name = self.name(self.new_symbol("m"))
        reply = self.ctx.call("create_registered_model", "POST", "registered-models/create",
                              body={"name": name})
        model = RegisteredModel(name)
        if not self.ctx.expect("create_registered_model", reply, 200,
                               {"registered_model": model.to_json()}, refusable=True) \
                and reply.status >= 400:
            return multiple()
        self.registered.append(model)
        self.tick()
        return model

    @rule(model=models)
    def create_model_again(self, model):
        reply = self.ctx.call("create_registered_model", "POST", "registered-models/create",
                              body={"name": model.name})
        if model.deleted:
            # The name is free again: a new, empty model.
            self.ctx.expect("create_registered_model", reply, 200,
                            {"registered_model": RegisteredModel(model.name).to_json()})
            if reply.status == 200:
                model.__init__(model.name)
            return
        self.ctx.expect_error("create_registered_model", reply, 400, "RESOURCE_ALREADY_EXISTS",
                              f"Registered Model (name={model.name}) already exists.")

    @rule(model=models)
    def get_model(self, model):
        reply = self.ctx.call("get_registered_model", "GET", "registered-models/get",
                              query={"name": model.name})
        if model.deleted:
            self.ctx.expect_error("get_registered_model", reply, 404, "RESOURCE_DOES_NOT_EXIST",
                                  model_missing(model.name))
            return
        self.ctx.expect("get_registered_model", reply, 200, {"registered_model": model.to_json()})

    @rule(model=models)
    def delete_model(self, model):
        reply = self.ctx.call("delete_registered_model", "DELETE", "registered-models/delete",
                              body={"name": model.name})
        if model.deleted:
            self.ctx.expect_error("delete_registered_model", reply, 404,
                                  "RESOURCE_DOES_NOT_EXIST", model_missing(model.name))
            return
        if self.ctx.expect("delete_registered_model", reply, 200, {}, refusable=True) \
                or reply.status < 400:
            model.deleted = True

    @rule(model=models)
    def rename(self, model):
        if model.deleted:
            return
        new_name = self.name(self.new_symbol("m"))
        reply = self.ctx.call("rename_registered_model", "POST", "registered-models/rename",
                              body={"name": model.name, "new_name": new_name})
        old = model.name
        model.name = new_name
        if not self.ctx.expect("rename_registered_model", reply, 200,
                               {"registered_model": model.to_json()}, refusable=True) \
                and reply.status >= 400:
            model.name = old
        self.tick()

    @rule(model=models, key=reg_tag_keys, value=short_values)
    def set_model_tag(self, model, key, value):
        if model.deleted:
            return
        reply = self.ctx.call("set_registered_model_tag", "POST", "registered-models/set-tag",
                              body={"name": model.name, "key": key, "value": value})
        if self.ctx.expect("set_registered_model_tag", reply, 200, {}, refusable=True) \
                or reply.status < 400:
            model.tags[key] = value

    @rule(model=models, key=reg_tag_keys)
    def delete_model_tag(self, model, key):
        if model.deleted:
            return
        reply = self.ctx.call("delete_registered_model_tag", "DELETE",
                              "registered-models/delete-tag", body={"name": model.name, "key": key})
        self.ctx.expect("delete_registered_model_tag", reply, 200, {})  # absent: fine too
        model.tags.pop(key, None)

    # -- versions ----------------------------------------------------------------------------

    @rule(model=models, source=sources)
    def create_version(self, model, source):
        reply = self.ctx.call("create_model_version", "POST", "model-versions/create",
                              body={"name": model.name, "source": source})
        if model.deleted:
            self.ctx.expect_error("create_model_version", reply, 404, "RESOURCE_DOES_NOT_EXIST",
                                  model_missing(model.name))
            return
        version = Version(model.last_number + 1, source)
        if self.ctx.expect("create_model_version", reply, 200,
                           {"model_version": model.version_json(version)}, refusable=True) \
                or reply.status < 400:
            model.last_number = version.number
            model.versions[version.number] = version
        self.tick()

    @rule(model=models, number=version_numbers)
    def get_version(self, model, number):
        if model.deleted:
            return
        reply = self.ctx.call("get_model_version", "GET", "model-versions/get",
                              query={"name": model.name, "version": str(number)})
        if number not in model.versions:
            self.ctx.expect_error("get_model_version", reply, 404, "RESOURCE_DOES_NOT_EXIST",
                                  version_missing(model.name, number))
            return
        self.ctx.expect("get_model_version", reply, 200,
                        {"model_version": model.version_json(model.versions[number])})

    @rule(model=models, number=version_numbers)
    def delete_version(self, model, number):
        if model.deleted:
            return
        reply = self.ctx.call("delete_model_version", "DELETE", "model-versions/delete",
                              body={"name": model.name, "version": str(number)})
        if number not in model.versions:
            self.ctx.expect_error("delete_model_version", reply, 404, "RESOURCE_DOES_NOT_EXIST",
                                  version_missing(model.name, number))
            return
        if self.ctx.expect("delete_model_version", reply, 200, {}, refusable=True) \
                or reply.status < 400:
            del model.versions[number]
            model.aliases = {a: n for a, n in model.aliases.items() if n != number}

    @rule(model=models, number=version_numbers,
          stage=st.sampled_from(STAGES), archive=st.booleans())
    def transition(self, model, number, stage, archive):
        if model.deleted:
            return
        archive = archive and stage in ACTIVE_STAGES
        reply = self.ctx.call("transition_stage", "POST", "model-versions/transition-stage",
                              body={"name": model.name, "version": str(number), "stage": stage,
                                    "archive_existing_versions": archive})
        if number not in model.versions:
            self.ctx.expect_error("transition_stage", reply, 404, "RESOURCE_DOES_NOT_EXIST",
                                  version_missing(model.name, number))
            return
        target = model.versions[number]
        before = {n: v.stage for n, v in model.versions.items()}
        target.stage = stage
        if archive:
            for v in model.versions.values():
                if v is not target and v.stage == stage:
                    v.stage = "Archived"
        if not self.ctx.expect("transition_stage", reply, 200,
                               {"model_version": model.version_json(target)}, refusable=True) \
                and reply.status >= 400:
            for n, s in before.items():
                model.versions[n].stage = s
        self.tick()

    @rule(model=models, stages=st.lists(st.sampled_from(STAGES), max_size=2, unique=True))
    def get_latest(self, model, stages):
        if model.deleted:
            return
        query: dict[str, Any] = {"name": model.name}
        if stages:
            query["stages"] = stages
        reply = self.ctx.call("get_latest_versions", "GET", "registered-models/get-latest-versions",
                              query=query)
        found = model.latest(tuple(stages) or STAGES)
        body = {"model_versions": [model.version_json(v, with_aliases=False) for v in found]} \
            if found else {}
        self.ctx.expect("get_latest_versions", reply, 200, body)

    @rule(model=models, number=version_numbers, key=reg_tag_keys, value=short_values)
    def set_version_tag(self, model, number, key, value):
        if model.deleted or number not in model.versions:
            return
        reply = self.ctx.call("set_model_version_tag", "POST", "model-versions/set-tag",
                              body={"name": model.name, "version": str(number), "key": key,
                                    "value": value})
        if self.ctx.expect("set_model_version_tag", reply, 200, {}, refusable=True) \
                or reply.status < 400:
            model.versions[number].tags[key] = value

    @rule(model=models, number=version_numbers, key=reg_tag_keys)
    def delete_version_tag(self, model, number, key):
        if model.deleted or number not in model.versions:
            return
        reply = self.ctx.call("delete_model_version_tag", "DELETE", "model-versions/delete-tag",
                              body={"name": model.name, "version": str(number), "key": key})
        self.ctx.expect("delete_model_version_tag", reply, 200, {})
        model.versions[number].tags.pop(key, None)

    # -- aliases -----------------------------------------------------------------------------

    @rule(model=models, alias=aliases, number=version_numbers)
    def set_alias(self, model, alias, number):
        if model.deleted:
            return
        reply = self.ctx.call("set_alias", "POST", "registered-models/alias",
                              body={"name": model.name, "alias": alias, "version": str(number)})
        if number not in model.versions:
            self.ctx.expect_error("set_alias", reply, 404, "RESOURCE_DOES_NOT_EXIST",
                                  version_missing(model.name, number))
            return
        if self.ctx.expect("set_alias", reply, 200, {}, refusable=True) or reply.status < 400:
            model.aliases[alias] = number  # moves the alias if it named another version

    @rule(model=models, alias=aliases)
    def delete_alias(self, model, alias):
        if model.deleted:
            return
        reply = self.ctx.call("delete_alias", "DELETE", "registered-models/alias",
                              body={"name": model.name, "alias": alias})
        self.ctx.expect("delete_alias", reply, 200, {})  # an unset alias: fine too
        model.aliases.pop(alias, None)

    @rule(model=models, alias=aliases)
    def get_by_alias(self, model, alias):
        if model.deleted:
            return
        reply = self.ctx.call("get_model_version_by_alias", "GET", "registered-models/alias",
                              query={"name": model.name, "alias": alias})
        if alias not in model.aliases:
            self.ctx.expect_error("get_model_version_by_alias", reply, 400,
                                  "INVALID_PARAMETER_VALUE",
                                  f"Registered model alias {alias} not found.")
            return
        version = model.versions[model.aliases[alias]]
        self.ctx.expect("get_model_version_by_alias", reply, 200,
                        {"model_version": model.version_json(version)})

    # -- search ------------------------------------------------------------------------------

    @rule()
    def search(self):
        """Only this example's models (its prefix), by name ascending."""
        reply = self.ctx.call("search_registered_models", "GET", "registered-models/search",
                              query={"filter": f"name LIKE '{self.prefix}%'"})
        live = sorted((m for m in self.registered if not m.deleted), key=lambda m: m.name)
        body = {"registered_models": [m.to_json() for m in live]} if live else {}
        self.ctx.expect("search_registered_models", reply, 200, body)

    # -- explicit cases ----------------------------------------------------------------------

    def _model(self) -> RegisteredModel | None:
        model = self.create_model()
        return model if isinstance(model, RegisteredModel) else None

    @scenario
    def case_version_numbers_never_reused(self):
        model = self._model()
        if model is None:
            return
        self.create_model_again(model)
        self.create_version(model, "s3://bucket/x")
        self.create_version(model, "s3://bucket/y/model")
        self.delete_version(model, 2)
        self.delete_version(model, 2)
        self.get_version(model, 2)
        self.create_version(model, "s3://bucket/x")
        self.get_version(model, 3)
        self.get_model(model)

    @scenario
    def case_aliases_move_and_follow_deletes(self):
        model = self._model()
        if model is None:
            return
        self.create_version(model, "s3://bucket/x")
        self.create_version(model, "s3://bucket/x")
        self.set_alias(model, "champ", 1)
        self.set_alias(model, "chall", 1)
        self.get_version(model, 1)
        self.set_alias(model, "champ", 2)
        self.set_alias(model, "chall", 4)
        self.get_by_alias(model, "champ")
        self.get_model(model)
        self.delete_version(model, 2)
        self.get_by_alias(model, "champ")
        self.delete_alias(model, "chall")
        self.delete_alias(model, "chall")
        self.get_model(model)

    @scenario
    def case_stages_and_latest(self):
        model = self._model()
        if model is None:
            return
        for _ in range(3):
            self.create_version(model, "s3://bucket/x")
        self.transition(model, 1, "Production", False)
        self.transition(model, 2, "Production", False)
        self.get_latest(model, ["Production"])
        self.transition(model, 3, "Production", True)
        self.get_version(model, 1)
        self.get_latest(model, [])
        self.get_latest(model, ["Staging", "Archived"])
        self.transition(model, 4, "Staging", False)
        self.get_model(model)

    @scenario
    def case_tags_rename_search_delete(self):
        model = self._model()
        other = self._model()
        if model is None or other is None:
            return
        self.create_version(model, "s3://bucket/x")
        self.set_model_tag(model, "k1", "a")
        self.set_model_tag(model, "k1", "b")
        self.delete_model_tag(model, "k2")
        self.set_version_tag(model, 1, "k1", "a")
        self.delete_version_tag(model, 1, "k2")
        self.set_alias(model, "champ", 1)
        old = model.name
        self.rename(model)
        self.get_version(model, 1)
        reply = self.ctx.call("get_registered_model", "GET", "registered-models/get",
                              query={"name": old})
        self.ctx.expect_error("get_registered_model", reply, 404, "RESOURCE_DOES_NOT_EXIST",
                              model_missing(old))
        reply = self.ctx.call("rename_registered_model", "POST", "registered-models/rename",
                              body={"name": other.name, "new_name": model.name})
        self.ctx.expect_error("rename_registered_model", reply, 400, "RESOURCE_ALREADY_EXISTS")
        self.search()
        self.delete_model(other)
        self.delete_model(other)
        self.get_model(other)
        self.create_version(other, "s3://bucket/x")
        self.search()
        self.create_model_again(other)
        self.create_version(other, "s3://bucket/x")
        self.get_model(other)
