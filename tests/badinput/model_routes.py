"""Specs for the model surface: the registry, MLflow 3 logged models and the artifact routes.

Placeholders, beside those of ``routes``: ``${M}`` the main registered model (versions 1-3,
alias ``champ`` on 1), ``${N}`` a victim registered model (rename, delete), ``${m}`` the main
logged model, ``${n}`` a victim logged model (delete), ``${a}`` this session's directory in the
artifact proxy (holding ``f.txt`` and ``d/g.bin``). Names and ids only ever come from the pools
below, and every artifact write goes below ``${a}`` or a prepared run, so no generated request
touches another test's entities on the shared reference server.
"""

from __future__ import annotations

from fakeflow.web import logged_model_handlers as lm
from fakeflow.web import registry_messages as rm
from fakeflow.web.artifact_handlers import (
    ABORT_MPU,
    COMPLETE_MPU,
    CREATE_MPU,
    LIST_IN_ROOT,
    LIST_LOGGED_MODEL_ARTIFACTS,
)
from fakeflow.web.routes import (
    API_PREFIXES,
    ARTIFACT_PREFIXES,
    ARTIFACT_ROUTES,
    ARTIFACT_UI_ROUTES,
    LOGGED_MODEL_ROUTES,
    REGISTRY_ROUTES,
    TRACKING_ROUTES,
)
from tests.badinput.routes import RouteSpec

MODEL_NAMES = (
    "${M}", "${M}", "${N}", "bi-renamed-${s}", "bi-nope-${s}", "", " ${M}", "${M} ", "${M}\n",
    "\ud800", "${M}\ud800", "${M}/x", "${M}'", "${M}%", "BI-MODEL-${s}", "a" * 5000,
)
VERSIONS = ("1", "1", "2", "3", "999999", "0", "-1", "1.0", " 1", "abc", "", "9" * 40, "\ud800",
            "1 ", "+1", "0x1", "1e0")
LOGGED_MODEL_IDS = (
    "${m}", "${m}", "${n}", "m-" + "0" * 32, "m-", "", "${m}x", " ${m}", "\ud800", "${M}",
    "a" * 5000, "${r}",
)

NAME = {"name": "model"}
NAME_VERSION = {"name": "model", "version": "version"}
RM, MV = "/registered-models", "/model-versions"
TAGS = [{"key": "k", "value": "v"}]
SOURCE = "runs:/${r}/model"


def _registry(path: str, methods: tuple[str, ...], message, base, ids=None, writes=False) -> RouteSpec:
    return RouteSpec(path, methods, message, base, ids or {}, writes, touches="model")


REGISTRY_SPECS = (
    _registry(RM + "/create", ("POST",), rm.CREATE_REGISTERED_MODEL,
              {"name": "bi-rm-${s}", "tags": TAGS, "description": "d"}, writes=True),
    _registry(RM + "/rename", ("POST",), rm.RENAME_REGISTERED_MODEL,
              {"name": "${N}", "new_name": "bi-renamed-${s}"}, NAME, True),
    _registry(RM + "/update", ("PATCH",), rm.UPDATE_REGISTERED_MODEL,
              {"name": "${M}", "description": "d2"}, NAME, True),
    _registry(RM + "/delete", ("DELETE",), rm.DELETE_REGISTERED_MODEL, {"name": "${N}"}, NAME, True),
    _registry(RM + "/get", ("GET",), rm.GET_REGISTERED_MODEL, {"name": "${M}"}, NAME),
    _registry(RM + "/search", ("GET",), rm.SEARCH_REGISTERED_MODELS,
              {"filter": "name LIKE 'bi-%'", "max_results": 5, "order_by": ["name"]}),
    _registry(RM + "/get-latest-versions", ("POST", "GET"), rm.GET_LATEST_VERSIONS,
              {"name": "${M}", "stages": ["None"]}, NAME),
    _registry(RM + "/set-tag", ("POST",), rm.SET_REGISTERED_MODEL_TAG,
              {"name": "${M}", "key": "k", "value": "v"}, NAME, True),
    _registry(RM + "/delete-tag", ("DELETE",), rm.DELETE_REGISTERED_MODEL_TAG,
              {"name": "${M}", "key": "k"}, NAME, True),
    _registry(RM + "/alias", ("POST", "GET", "DELETE"), rm.SET_REGISTERED_MODEL_ALIAS,
              {"name": "${M}", "alias": "champ", "version": "1"}, NAME_VERSION, True),
    _registry(MV + "/create", ("POST",), rm.CREATE_MODEL_VERSION,
              {"name": "${M}", "source": SOURCE, "run_id": "${r}", "tags": TAGS, "description": "d"},
              {"name": "model", "run_id": "run"}, True),
    _registry(MV + "/update", ("PATCH",), rm.UPDATE_MODEL_VERSION,
              {"name": "${M}", "version": "1", "description": "d"}, NAME_VERSION, True),
    _registry(MV + "/transition-stage", ("POST",), rm.TRANSITION_MODEL_VERSION_STAGE,
              {"name": "${M}", "version": "2", "stage": "Staging", "archive_existing_versions": False},
              NAME_VERSION, True),
    _registry(MV + "/delete", ("DELETE",), rm.DELETE_MODEL_VERSION, {"name": "${M}", "version": "3"},
              NAME_VERSION, True),
    _registry(MV + "/get", ("GET",), rm.GET_MODEL_VERSION, {"name": "${M}", "version": "1"}, NAME_VERSION),
    _registry(MV + "/search", ("GET",), rm.SEARCH_MODEL_VERSIONS,
              {"filter": "name = '${M}'", "max_results": 5, "order_by": ["version_number DESC"]}),
    _registry(MV + "/get-download-uri", ("GET",), rm.GET_MODEL_VERSION_DOWNLOAD_URI,
              {"name": "${M}", "version": "1"}, NAME_VERSION),
    _registry(MV + "/set-tag", ("POST",), rm.SET_MODEL_VERSION_TAG,
              {"name": "${M}", "version": "1", "key": "k", "value": "v"}, NAME_VERSION, True),
    _registry(MV + "/delete-tag", ("DELETE",), rm.DELETE_MODEL_VERSION_TAG,
              {"name": "${M}", "version": "1", "key": "k"}, NAME_VERSION, True),
)

LM = "/logged-models"


def _logged(path: str, methods: tuple[str, ...], message, base=None, ids=None, writes=False,
            route: str = "") -> RouteSpec:
    return RouteSpec(path, methods, message, base or {}, ids or {}, writes, prefixes=API_PREFIXES,
                     touches="logged_model",
                     route=route or path.replace("${m}", "<model_id>").replace("${n}", "<model_id>"))


LOGGED_MODEL_SPECS = (
    _logged(LM, ("POST",), lm.CREATE_LOGGED_MODEL,
            {"experiment_id": "${e}", "name": "bi-lm", "model_type": "t", "source_run_id": "${r}",
             "params": [{"key": "p", "value": "1"}], "tags": TAGS},
            {"experiment_id": "exp", "source_run_id": "run"}, True),
    _logged(LM + "/search", ("POST",), lm.SEARCH_LOGGED_MODELS,
            {"experiment_ids": ["${e}"], "filter": "name = 'bi-lm'", "max_results": 5,
             "order_by": [{"field_name": "name", "ascending": True}]}, {"experiment_ids": "exps"}),
    _logged(LM + "/${m}", ("GET", "PATCH"), lm.FINALIZE_LOGGED_MODEL,
            {"model_id": "${m}", "status": "LOGGED_MODEL_READY"}, {"model_id": "lm"}, True),
    _logged(LM + "/${n}", ("DELETE",), None, route=LM + "/<model_id>", writes=True),
    _logged(LM + "/${m}/tags", ("PATCH",), lm.SET_LOGGED_MODEL_TAGS, {"tags": TAGS}, writes=True),
    _logged(LM + "/${m}/tags/k", ("DELETE",), None, route=LM + "/<model_id>/tags/<tag_key>", writes=True),
    _logged(LM + "/${m}/params", ("POST",), lm.LOG_LOGGED_MODEL_PARAMS,
            {"model_id": "${m}", "params": [{"key": "p2", "value": "v"}]}, {"model_id": "lm"}, True),
    _logged(LM + "/${m}/artifacts/directories", ("GET",), LIST_LOGGED_MODEL_ARTIFACTS,
            {"artifact_directory_path": "d"}),
)

def _artifact(path: str, methods: tuple[str, ...], message=None, base=None, ids=None,
              writes=False, route: str = "", prefixes=ARTIFACT_PREFIXES, raw_body=None) -> RouteSpec:
    return RouteSpec(path, methods, message, base or {}, ids or {}, writes, prefixes=prefixes,
                     touches="artifacts", route=route or path, raw_body=raw_body)


ARTIFACT_SPECS = (
    _artifact("/artifacts", ("GET",), LIST_IN_ROOT, {"path": "${a}"}),
    _artifact("/artifacts/${a}/f.txt", ("GET", "PUT", "DELETE"), raw_body=b"new bytes", writes=True,
              route="/artifacts/<path:artifact_path>"),
    _artifact("/mpu/create/${a}/big.bin", ("POST",), CREATE_MPU, {"path": "big.bin", "num_parts": 2},
              route="/mpu/create/<path:artifact_path>"),
    _artifact("/mpu/complete/${a}/big.bin", ("POST",), COMPLETE_MPU,
              {"path": "big.bin", "upload_id": "u", "parts": [{"part_number": 1, "etag": "e"}]},
              route="/mpu/complete/<path:artifact_path>"),
    _artifact("/mpu/abort/${a}/big.bin", ("POST",), ABORT_MPU, {"path": "big.bin", "upload_id": "u"},
              route="/mpu/abort/<path:artifact_path>"),
    _artifact("/presigned/${a}/f.txt", ("GET",), route="/presigned/<path:artifact_path>"),
    _artifact("/get-artifact", ("GET",), None, {"run_id": "${r}", "path": "f.txt"}, {"run_id": "run"},
              prefixes=("",)),
    _artifact("/model-versions/get-artifact", ("GET",), None,
              {"name": "${M}", "version": "1", "path": "f.txt"}, NAME_VERSION, prefixes=("",)),
    _artifact("/ajax-api/2.0/mlflow/logged-models/${m}/artifacts/files", ("GET",), None,
              {"artifact_file_path": "MLmodel"}, prefixes=("",),
              route="/ajax-api/2.0/mlflow/logged-models/<model_id>/artifacts/files"),
    _artifact("/ajax-api/2.0/mlflow/upload-artifact", ("POST",), None,
              {"run_uuid": "${r}", "path": "up.txt"}, {"run_uuid": "run"}, True, prefixes=("",),
              raw_body=b"uploaded"),
)

MODEL_SPECS = REGISTRY_SPECS + LOGGED_MODEL_SPECS + ARTIFACT_SPECS


def missing_model_specs() -> list[str]:
    """Routes of the registry, logged-model and artifact tables no spec exercises (by method)."""
    covered: dict[str, set[str]] = {}
    for spec in MODEL_SPECS:
        covered.setdefault(spec.route or spec.path, set()).update(spec.methods)
    wanted: dict[str, set[str]] = {}
    tables = [REGISTRY_ROUTES, LOGGED_MODEL_ROUTES, ARTIFACT_UI_ROUTES,
              [r for r in TRACKING_ROUTES if r.path.startswith(LM)]]
    for table in tables:
        for route in table:
            wanted.setdefault(route.path, set()).update(route.methods)
    for route in ARTIFACT_ROUTES:
        if route.path in ("/artifacts/", "/artifacts//<path:artifact_path>"):
            continue  # odd spellings of the file route: the path strategies send them
        wanted.setdefault(route.path, set()).update(route.methods)
    return [f"{path}: methods {sorted(methods - covered.get(path, set()))} not covered"
            for path, methods in wanted.items() if methods - covered.get(path, set())]
