"""Paging through logged models: the tokens embed experiment ids, which the two servers number
differently; the normaliser decodes them and maps those ids, so the tokens are compared too."""

from __future__ import annotations

from ..model import case, post
from .common import new_experiment

LM = "logged-models"


def new_model(exp: str, name: str) -> object:
    return post(LM, {"experiment_id": exp, "name": name}, pause=0.004)


def search(**body: object) -> object:
    capture = body.pop("capture", {})
    return post(LM + "/search", body, capture=capture)


CASES = [
    case(
        "page-tokens-logged-models",
        new_experiment("e1"),
        new_experiment("e2", name="${p}-2"),
        *(new_model("${e1}", f"${{p}}-{i}") for i in range(4)),
        new_model("${e2}", "${p}-other"),
        search(experiment_ids=["${e1}", "${e2}"], max_results=2, capture={"t1": "next_page_token"}),
        search(experiment_ids=["${e1}", "${e2}"], max_results=2, page_token="${t1}",
               capture={"t2": "next_page_token"}),
        search(experiment_ids=["${e1}", "${e2}"], max_results=2, page_token="${t2}"),
        search(experiment_ids=["${e1}"], max_results=1, filter="name LIKE '${p}-%'",
               order_by=[{"field_name": "name"}], capture={"t3": "next_page_token"}),
        search(experiment_ids=["${e1}"], max_results=1, filter="name LIKE '${p}-%'",
               order_by=[{"field_name": "name"}], page_token="${t3}"),
        # the token's experiment ids, filter and order must match the request's
        search(experiment_ids=["${e2}"], max_results=2, page_token="${t1}"),
        search(experiment_ids=["${e1}"], max_results=1, filter="name LIKE '${p}-1%'",
               order_by=[{"field_name": "name"}], page_token="${t3}"),
        search(experiment_ids=["${e1}"], max_results=1, filter="name LIKE '${p}-%'",
               page_token="${t3}"),
        doc="logged-model search pages: tokens carry experiment ids, filter, order and offset",
    ),
]
