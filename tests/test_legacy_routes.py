"""The opt-in legacy routes (``legacy_routes=True``, ``fakeflow serve --legacy-routes``, the plugin's
``--fakeflow-legacy-routes``), tested with requests built from the older MLflow REST
documentation (/work/shared/seeds 001, 1.x tracking, and 002, the 2.0 *preview* registry).

By default each of these paths answers exactly as real MLflow 3.17.2 does (404). With the option
on, they answer in the documented shapes over the same state as the modern routes.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.test import Client

from fakeflow import ThreadedServer, create_app
from fakeflow.dialects.legacy_rest import LEGACY_ROUTES
from tests.support.processes import stop_server

API = "/api/2.0/mlflow"
PREVIEW = "/api/2.0/preview/mlflow"
RM, MV = PREVIEW + "/registered-models", PREVIEW + "/model-versions"

# Every legacy route as the documentation gives it: (method, path).
DOCUMENTED = [
    ("GET", API + "/experiments/list"),
    ("GET", PREVIEW + "/experiments/list"),  # the documentation's own example URL
    ("POST", RM + "/create"), ("POST", RM + "/get-details"), ("PATCH", RM + "/update"),
    ("DELETE", RM + "/delete"), ("GET", RM + "/list"), ("POST", RM + "/get-latest-versions"),
    ("POST", MV + "/create"), ("POST", MV + "/get-details"), ("PATCH", MV + "/update"),
    ("DELETE", MV + "/delete"), ("GET", MV + "/search"), ("POST", MV + "/get-download-uri"),
]

# Field names of the documented data structures.
EXPERIMENT = {"experiment_id", "name", "artifact_location", "lifecycle_stage", "last_update_time",
              "creation_time", "tags"}
MODEL_VERSION_DETAILED = {"model_version", "creation_timestamp", "last_updated_timestamp",
                          "user_id", "current_stage", "description", "source", "run_id", "status",
                          "status_message"}
REGISTERED_MODEL_DETAILED = {"registered_model", "creation_timestamp", "last_updated_timestamp",
                             "user_id", "description", "latest_versions"}
STAGES = ("None", "Staging", "Production", "Archived")

_word = st.characters(categories=("L", "N"))
# Registry names: no "/" or ":", nothing a path would normalise away (MLflow refuses those).
names = st.builds(
    str.__add__, _word,
    st.text(st.characters(categories=("L", "N"), include_characters=" _.-"), max_size=24),
).filter(lambda n: n == n.strip())
descriptions = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40)
# The documentation types `version` as INT64; protobuf-era clients sent it as a JSON string.
version_encodings = st.sampled_from([int, str])
FAST = settings(max_examples=25, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture])


class Api:
    """One fresh fakeflow app, called in-process with JSON in and JSON out."""

    def __init__(self, **options: Any) -> None:
        self.client = Client(create_app(**options))

    def call(self, method: str, path: str, body: Any = None,
             query: dict[str, Any] | None = None) -> tuple[int, Any]:
        response = self.client.open(path, method=method, json=body, query_string=query)
        text = response.get_data(as_text=True)
        return response.status_code, json.loads(text) if response.is_json else text

    def ok(self, method: str, path: str, body: Any = None,
           query: dict[str, Any] | None = None) -> Any:
        status, payload = self.call(method, path, body, query)
        assert status == 200, (method, path, status, payload)
        return payload

    def new_run(self) -> dict[str, Any]:
        return self.ok("POST", API + "/runs/create", {"experiment_id": "0"})["run"]["info"]

    def modern_version(self, name: str, version: Any) -> dict[str, Any]:
        return self.ok("GET", API + "/model-versions/get",
                       query={"name": name, "version": str(version)})["model_version"]


def ref(name: str) -> dict[str, str]:
    return {"name": name}


def version_ref(name: str, version: int, encode: Any = int) -> dict[str, Any]:
    return {"registered_model": ref(name), "version": encode(version)}


def assert_version_detailed(detailed: dict[str, Any], modern: dict[str, Any]) -> None:
    """A documented ModelVersionDetailed that says what the modern route says."""
    assert set(detailed) <= MODEL_VERSION_DETAILED
    assert detailed["model_version"] == version_ref(modern["name"], int(modern["version"]))
    for documented in ("creation_timestamp", "last_updated_timestamp", "current_stage", "source",
                       "run_id", "status"):
        assert detailed[documented] == modern[documented]
    assert detailed.get("description") == modern.get("description")


def assert_model_detailed(detailed: dict[str, Any], modern: dict[str, Any]) -> None:
    assert set(detailed) <= REGISTERED_MODEL_DETAILED
    assert detailed["registered_model"] == ref(modern["name"])
    assert detailed["creation_timestamp"] == modern["creation_timestamp"]
    assert detailed.get("last_updated_timestamp") == modern.get("last_updated_timestamp")
    assert detailed.get("description") == modern.get("description")
    latest = detailed.get("latest_versions", [])
    assert len(latest) == len(modern.get("latest_versions", []))
    for mine, theirs in zip(latest, modern.get("latest_versions", [])):
        assert_version_detailed(mine, theirs)


# ---- by default: exactly what real MLflow 3.17.2 answers ----------------------------------------

def test_the_table_is_the_documented_one():
    served = {(method, route.path) for route in LEGACY_ROUTES for method in route.methods}
    assert served == set(DOCUMENTED)


@pytest.mark.parametrize("method, path", DOCUMENTED)
def test_without_the_option_each_legacy_route_answers_like_real_mlflow(method, path,
                                                                       reference_server):
    with ThreadedServer(create_app()) as fake:
        for sent in (method, "PUT", "OPTIONS", "HEAD"):
            answers = []
            for base in (reference_server.url, fake.url):
                response = requests.request(sent, base + path, json={}, timeout=30)
                answers.append((response.status_code, response.headers.get("Content-Type"),
                                response.text))
            real, ours = answers
            assert real[0] == 404, sent
            assert ours == real, sent


@pytest.mark.parametrize("method, path", DOCUMENTED)
def test_the_option_adds_the_route_and_keeps_the_table_otherwise(method, path):
    legacy, default = Api(legacy_routes=True), Api()
    assert legacy.call(method, path)[0] != 404
    assert default.call(method, path)[0] == 404
    assert legacy.call("PUT", path)[0] == 405  # no documented route takes PUT
    # the modern routes are all still there
    assert legacy.ok("GET", API + "/experiments/get", query={"experiment_id": "0"})


# ---- registered models --------------------------------------------------------------------------

@FAST
@given(name=names, new_name=names, description=descriptions)
def test_registered_model_created_renamed_and_deleted_through_legacy_routes(name, new_name,
                                                                           description):
    api = Api(legacy_routes=True)
    assert api.ok("POST", RM + "/create", {"name": name}) == {"registered_model": ref(name)}
    modern = api.ok("GET", API + "/registered-models/get", query={"name": name})
    assert modern["registered_model"]["name"] == name
    detailed = api.ok("POST", RM + "/get-details", {"registered_model": ref(name)})
    assert set(detailed) == {"registered_model_detailed"}
    assert_model_detailed(detailed["registered_model_detailed"], modern["registered_model"])

    updated = api.ok("PATCH", RM + "/update", {"registered_model": ref(name), "name": new_name,
                                               "description": description})
    assert updated == {"registered_model": ref(new_name)}
    after = api.ok("GET", API + "/registered-models/get", query={"name": new_name})
    assert after["registered_model"].get("description", "") == description
    if new_name != name:
        assert api.call("GET", API + "/registered-models/get", query={"name": name})[0] == 404

    listed = api.ok("GET", RM + "/list")["registered_models_detailed"]
    assert [m["registered_model"] for m in listed] == [ref(new_name)]
    assert_model_detailed(listed[0], after["registered_model"])

    assert api.ok("DELETE", RM + "/delete", {"registered_model": ref(new_name)}) == {}
    status, error = api.call("GET", API + "/registered-models/get", query={"name": new_name})
    assert (status, error["error_code"]) == (404, "RESOURCE_DOES_NOT_EXIST")
    assert api.ok("GET", RM + "/list") == {}


@FAST
@given(model_names=st.lists(names, min_size=1, max_size=5, unique=True))
def test_models_created_through_modern_routes_are_listed_by_the_legacy_route(model_names):
    api = Api(legacy_routes=True)
    for name in model_names:
        api.ok("POST", API + "/registered-models/create", {"name": name, "description": name})
    modern = api.ok("GET", API + "/registered-models/search")["registered_models"]
    listed = api.ok("GET", RM + "/list")["registered_models_detailed"]
    assert [m["registered_model"]["name"] for m in listed] == [m["name"] for m in modern]
    for mine, theirs in zip(listed, modern):
        assert_model_detailed(mine, theirs)


def test_a_refused_rename_changes_nothing():
    api = Api(legacy_routes=True)
    for name in ("a", "b"):
        api.ok("POST", RM + "/create", {"name": name})
    before = api.ok("GET", API + "/registered-models/get", query={"name": "a"})
    status, error = api.call("PATCH", RM + "/update", {"registered_model": ref("a"), "name": "b",
                                                       "description": "new"})
    modern_status, modern_error = api.call("POST", API + "/registered-models/rename",
                                           {"name": "a", "new_name": "b"})
    assert (status, error) == (modern_status, modern_error)
    assert error["error_code"] == "RESOURCE_ALREADY_EXISTS"
    assert api.ok("GET", API + "/registered-models/get", query={"name": "a"}) == before


# ---- model versions -----------------------------------------------------------------------------

@FAST
@given(name=names, count=st.integers(1, 4), stage=st.sampled_from(STAGES),
       description=descriptions, encode=version_encodings, data=st.data())
def test_model_versions_through_legacy_routes_share_state_with_modern_ones(
        name, count, stage, description, encode, data):
    api = Api(legacy_routes=True)
    api.ok("POST", API + "/registered-models/create", {"name": name})
    run = api.new_run()
    source = run["artifact_uri"] + "/model"
    for number in range(1, count + 1):
        created = api.ok("POST", MV + "/create", {"name": name, "source": source,
                                                  "run_id": run["run_id"]})
        assert created == {"model_version": version_ref(name, number)}

    chosen = data.draw(st.integers(1, count), label="version")
    detailed = api.ok("POST", MV + "/get-details", {"model_version": version_ref(name, chosen, encode)})
    assert set(detailed) == {"model_version_detailed"}
    assert_version_detailed(detailed["model_version_detailed"], api.modern_version(name, chosen))
    assert detailed["model_version_detailed"]["source"] == source

    assert api.ok("PATCH", MV + "/update", {"model_version": version_ref(name, chosen, encode),
                                            "stage": stage.upper(), "description": description}) == {}
    modern = api.modern_version(name, chosen)
    assert (modern["current_stage"], modern["description"]) == (stage, description)

    latest = api.ok("POST", RM + "/get-latest-versions", {"registered_model": ref(name),
                                                          "stages": [stage]})
    modern_latest = api.ok("POST", API + "/registered-models/get-latest-versions",
                           {"name": name, "stages": [stage]})["model_versions"]
    assert len(latest["model_versions_detailed"]) == len(modern_latest) == 1
    assert_version_detailed(latest["model_versions_detailed"][0], modern_latest[0])

    found = api.ok("GET", MV + "/search", query={"filter": f"name = '{name}'"})
    modern_found = api.ok("GET", API + "/model-versions/search",
                          query={"filter": f"name = '{name}'"})["model_versions"]
    assert [d["model_version"]["version"] for d in found["model_versions_detailed"]] == \
        [int(mv["version"]) for mv in modern_found]
    for mine, theirs in zip(found["model_versions_detailed"], modern_found):
        assert_version_detailed(mine, theirs)

    uri = api.ok("POST", MV + "/get-download-uri", {"model_version": version_ref(name, chosen, encode)})
    assert uri == api.ok("GET", API + "/model-versions/get-download-uri",
                         query={"name": name, "version": str(chosen)})

    assert api.ok("DELETE", MV + "/delete", {"model_version": version_ref(name, chosen, encode)}) == {}
    status, error = api.call("GET", API + "/model-versions/get",
                             query={"name": name, "version": str(chosen)})
    assert (status, error["error_code"]) == (404, "RESOURCE_DOES_NOT_EXIST")
    # numbers are never reused, whichever route creates the next version
    created = api.ok("POST", API + "/model-versions/create", {"name": name, "source": source,
                                                              "run_id": run["run_id"]})
    assert created["model_version"]["version"] == str(count + 1)


@FAST
@given(name=names, page=st.integers(1, 3), count=st.integers(1, 6))
def test_legacy_search_pages_like_the_modern_search(name, page, count):
    api = Api(legacy_routes=True)
    api.ok("POST", API + "/registered-models/create", {"name": name})
    run = api.new_run()
    for _ in range(count):
        api.ok("POST", API + "/model-versions/create", {"name": name, "source": run["artifact_uri"],
                                                         "run_id": run["run_id"]})
    seen, token = [], None
    while True:
        query = {"max_results": page, **({"page_token": token} if token else {})}
        answer = api.ok("GET", MV + "/search", query=query)
        seen += [d["model_version"]["version"] for d in answer.get("model_versions_detailed", [])]
        token = answer.get("next_page_token")
        if not token:
            break
    modern = api.ok("GET", API + "/model-versions/search")["model_versions"]
    assert seen == [int(mv["version"]) for mv in modern]


def test_legacy_search_keeps_the_documented_maximum():
    api = Api(legacy_routes=True)
    status, error = api.call("GET", MV + "/search", query={"max_results": 1001})
    assert (status, error["error_code"]) == (400, "INVALID_PARAMETER_VALUE")
    assert "at most 1000" in error["message"]
    assert api.call("GET", MV + "/search", query={"max_results": 1000})[0] == 200


# ---- errors: the stores' answers, through the documented request shapes -------------------------

@pytest.mark.parametrize("method, path, body, missing", [
    ("POST", RM + "/get-details", {}, "registered_model"),
    ("POST", RM + "/get-details", {"registered_model": {}}, "registered_model.name"),
    ("DELETE", RM + "/delete", {"registered_model": {"name": ""}}, "registered_model.name"),
    ("POST", RM + "/get-latest-versions", {"stages": ["None"]}, "registered_model"),
    ("PATCH", MV + "/update", {"stage": "Staging"}, "model_version"),
    ("POST", MV + "/get-details", {"model_version": {"version": 1}},
     "model_version.registered_model"),
    ("POST", MV + "/get-details", {"model_version": {"version": 1, "registered_model": {}}},
     "model_version.registered_model.name"),
    ("POST", MV + "/get-download-uri", {"model_version": {"registered_model": {"name": "m"}}},
     "model_version.version"),
    ("POST", RM + "/create", {}, "name"),
    ("POST", MV + "/create", {"name": "m"}, "source"),
])
def test_missing_documented_fields_are_named(method, path, body, missing):
    status, error = Api(legacy_routes=True).call(method, path, body)
    assert status == 400
    assert error["error_code"] == "INVALID_PARAMETER_VALUE"
    assert error["message"].startswith(f"Missing value for required parameter '{missing}'.")


@FAST
@given(name=names, encode=version_encodings)
def test_unknown_models_and_versions_get_the_modern_routes_answers(name, encode):
    api = Api(legacy_routes=True)
    legacy = api.call("POST", RM + "/get-details", {"registered_model": ref(name)})
    assert legacy == api.call("GET", API + "/registered-models/get", query={"name": name})
    assert legacy[0] == 404
    api.ok("POST", API + "/registered-models/create", {"name": name})
    legacy = api.call("POST", MV + "/get-details", {"model_version": version_ref(name, 3, encode)})
    assert legacy == api.call("GET", API + "/model-versions/get", query={"name": name, "version": "3"})
    assert legacy[0] == 404


def test_a_refused_stage_changes_nothing():
    api = Api(legacy_routes=True)
    api.ok("POST", API + "/registered-models/create", {"name": "m"})
    run = api.new_run()
    api.ok("POST", API + "/model-versions/create", {"name": "m", "source": run["artifact_uri"],
                                                     "run_id": run["run_id"]})
    before = api.modern_version("m", 1)
    status, error = api.call("PATCH", MV + "/update", {"model_version": version_ref("m", 1),
                                                       "stage": "Shipped", "description": "x"})
    modern = api.call("POST", API + "/model-versions/transition-stage",
                      {"name": "m", "version": "1", "stage": "Shipped"})
    assert (status, error) == modern
    assert status == 400
    assert api.modern_version("m", 1) == before


@pytest.mark.parametrize("version", ["one", 1.5, True, [1]])
def test_a_version_that_is_not_an_int64_is_refused(version):
    status, error = Api(legacy_routes=True).call(
        "POST", MV + "/get-details", {"model_version": {"registered_model": ref("m"), "version": version}})
    assert (status, error["error_code"]) == (400, "INVALID_PARAMETER_VALUE")
    assert "model_version.version" in error["message"]


# ---- experiments/list ---------------------------------------------------------------------------

@FAST
@given(experiments=st.lists(st.tuples(names, st.booleans()), max_size=6,
                            unique_by=lambda pair: pair[0]),
       view_type=st.sampled_from([None, "ACTIVE_ONLY", "DELETED_ONLY", "ALL"]),
       path=st.sampled_from([API + "/experiments/list", PREVIEW + "/experiments/list"]))
def test_experiments_list_shows_what_search_shows_in_the_documented_shape(experiments, view_type,
                                                                          path):
    api = Api(legacy_routes=True)
    for name, deleted in experiments:
        experiment_id = api.ok("POST", API + "/experiments/create", {"name": name})["experiment_id"]
        api.ok("POST", API + "/experiments/set-experiment-tag",
               {"experiment_id": experiment_id, "key": "k", "value": name})
        if deleted:
            api.ok("POST", API + "/experiments/delete", {"experiment_id": experiment_id})
    query = {"view_type": view_type} if view_type else None
    listed = api.ok("GET", path, query=query).get("experiments", [])
    modern = api.ok("POST", API + "/experiments/search",
                    {"max_results": 1000, **({"view_type": view_type} if view_type else {})})
    by_id = {e["experiment_id"]: e for e in modern.get("experiments", [])}
    assert sorted(e["experiment_id"] for e in listed) == sorted(by_id)
    for experiment in listed:
        assert set(experiment) <= EXPERIMENT
        assert experiment == {k: v for k, v in by_id[experiment["experiment_id"]].items()
                              if k in EXPERIMENT}


# ---- the command line -------------------------------------------------------------------------

def _serve_and_get(*args: str) -> int:
    process = subprocess.Popen([sys.executable, "-m", "fakeflow", "serve", "--port", "0", *args],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        url = process.stdout.readline().strip().rsplit(" ", 1)[1]
        created = requests.post(url + RM + "/create", json={"name": "m"}, timeout=10)
        if created.status_code != 200:
            return created.status_code
        modern = requests.get(url + API + "/registered-models/get", params={"name": "m"}, timeout=10)
        assert modern.json()["registered_model"]["name"] == "m"
        return requests.get(url + RM + "/list", timeout=10).status_code
    finally:
        assert stop_server(process) == 0


def test_cli_serve_legacy_routes():
    assert _serve_and_get("--legacy-routes") == 200
    assert _serve_and_get() == 404
