"""Registered scorers (``/api/3.0/mlflow/scorers/...``): register (versions numbered per name),
list (one experiment, several, latest versions only), versions, get, delete (one version or
all), experiment scoping, and invalid calls: missing or ill-typed fields, bad JSON, code a
server must not run (a @scorer function), judge options that redirect requests, a judge on an
AI gateway endpoint, deleted and unknown experiments, wrong methods; and the online-scoring
configurations the client reads with every scorer (none exist without an AI gateway)."""

from __future__ import annotations

import json
from typing import Any

from ..model import Step, case, get, post
from .common import new_experiment

S = "/api/3.0/mlflow/scorers"
AJAX_S = "/ajax-api/3.0/mlflow/scorers"
BUILTIN = json.dumps({"name": "relevance", "builtin_scorer_class": "RelevanceToQuery",
                      "builtin_scorer_pydantic_data": {"name": "relevance",
                                                       "model": "openai:/gpt-4o-mini"}})
DECORATOR = json.dumps({"name": "exact", "call_source": "return outputs == expectations",
                        "call_signature": "(outputs, expectations)", "original_func_name": "exact"})


def register(name: str, serialized: str, exp: str = "${e1}", path: str = S, **kw: Any) -> Step:
    return post(f"{path}/register", {"experiment_id": exp, "name": name,
                                      "serialized_scorer": serialized}, **kw)


def delete(body: Any, path: str = S) -> Step:
    return Step("DELETE", f"{path}/delete", json=body)


def named(exp: str = "${e1}", **extra: Any) -> dict[str, Any]:
    return {"experiment_id": exp, **extra}


CASES = [
    case(
        "scorers-lifecycle",
        new_experiment("e1"),
        new_experiment("e2", name="${p}-2"),
        register("relevance", BUILTIN),
        register("relevance", json.dumps({"v": 2})),
        register("relevance", json.dumps({"v": 3}), path=AJAX_S),
        register("Zeta", "{}"),
        register("beta", json.dumps({"instructions_judge_pydantic_data": {"model": None}})),
        register("other", "{}", exp="${e2}"),
        get(f"{S}/list", {"experiment_id": "${e1}"}),
        get(f"{AJAX_S}/list", {"experiment_id": "${e2}"}),
        get(f"{S}/list", {"experiment_ids": ["${e2}", "${e1}", "${e1}", "987654"]}),
        get(f"{S}/versions", named(name="relevance")),
        get(f"{S}/get", named(name="relevance")),
        get(f"{S}/get", named(name="relevance", version="2")),
        get(f"{AJAX_S}/get", named(name="relevance", version="1")),
        delete(named(name="relevance", version=3)),
        get(f"{S}/get", named(name="relevance")),
        register("relevance", json.dumps({"v": "3 again"})),
        get(f"{S}/versions", named(name="relevance")),
        delete(named(name="beta", version=1)),
        get(f"{S}/get", named(name="beta")),
        get(f"{S}/get", named(name="beta", version=1)),
        get(f"{S}/versions", named(name="beta")),
        delete(named(name="beta")),
        register("beta", "{}"),
        delete(named(name="relevance")),
        get(f"{S}/get", named(name="relevance")),
        get(f"{S}/list", {"experiment_id": "${e1}"}),
        delete(named(name="other"), path=AJAX_S),
        get(f"{S}/list", {"experiment_ids": ["${e1}", "${e2}"]}),
    ),
    case(
        "scorers-invalid",
        new_experiment("e1"),
        new_experiment("gone", name="${p}-gone"),
        register("kept", "{}"),
        post("experiments/delete", {"experiment_id": "${gone}"}),
        post(f"{S}/register", {}),
        post(f"{S}/register", {"experiment_id": "${e1}"}),
        post(f"{S}/register", {"experiment_id": "${e1}", "name": "a"}),
        post(f"{S}/register", {"experiment_id": 5, "name": "a", "serialized_scorer": "{}"}),
        post(f"{S}/register", {"experiment_id": "${e1}", "name": "a",
                               "serialized_scorer": {"a": 1}}),
        register("a", "{bad"),
        register("a", DECORATOR),
        register("a", json.dumps({"ensemble": [{"call_source": "x"}]})),
        register("  ", "{}"),
        register("a", "[1]"),
        register("a", "5"),
        register("a", json.dumps({"builtin_scorer_pydantic_data": {"model": "gateway:/chat"}})),
        register("a", json.dumps({"builtin_scorer_pydantic_data": {"model": "  "}})),
        register("a", json.dumps({"builtin_scorer_pydantic_data": {"model": 5}})),
        register("a", json.dumps({"third_party_scorer_data": {
            "kwargs": {"api_base": 1, "x": {"base_url": 2}, "y": [["fallbacks", 3]]}}})),
        register("a", json.dumps({"third_party_scorer_data": {"kwargs": [1]}})),
        register("a", "{}", exp="${gone}"),
        register("a", "{}", exp="987654"),
        register("a", "{}", exp="abc"),
        get(f"{S}/list", {"experiment_id": "${gone}"}),
        get(f"{S}/list", {"experiment_id": "987654"}),
        get(f"{S}/list", {"experiment_ids": ["${e1}", "x y"]}),
        get(f"{S}/list", {"experiment_ids": ["abc"]}),
        get(f"{S}/list", {"experiment_ids": ["${gone}"]}),
        get(f"{S}/list", {"experiment_id": "${e1}", "experiment_ids": ["${e1}"]}),
        get(f"{S}/versions", named()),
        get(f"{S}/versions", named(name="nope")),
        get(f"{S}/versions", named(exp="${gone}", name="kept")),
        get(f"{S}/get", named(name="kept", version="x")),
        get(f"{S}/get", named(name="kept", version="9")),
        get(f"{S}/get", named(name="nope")),
        get(f"{S}/get", {"name": "kept"}),
        delete(named(name="kept", version="q")),
        delete(named(name="kept", version=9)),
        delete(named(name="nope")),
        delete(named()),
        delete(named(exp="${gone}", name="kept")),
        get(f"{S}/online-configs"),
        get(f"{S}/online-configs", {"scorer_ids": ["a", "b"]}),
        get(f"{AJAX_S}/online-configs", {"scorer_ids": ""}),
        get(f"{S}/online-configs", {"other": "1"}),
        Step("GET", f"{S}/online-configs", json={"scorer_ids": "x"}),
        Step("GET", f"{S}/online-configs", json={"scorer_ids": ["x", 1]}),
        Step("GET", f"{S}/online-configs", json={"scorer_ids": []}),
        post(f"{S}/online-configs", {}),
        post(f"{S}/list", {}),
        get(f"{S}/delete"),
        Step("PUT", f"{S}/register", json={}),
    ),
]
