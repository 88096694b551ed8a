"""Trace metadata derived from spans: token usage, cost, session and user.

MLflow 3.17.2 fills ``mlflow.trace.tokenUsage``, ``mlflow.trace.cost``, ``mlflow.trace.session``
and ``mlflow.trace.user`` from span attributes when spans are logged (a tree-aware sum, so
rollup parents are not counted twice), lets a finalized trace info's own values win, and shows
all of them in one canonical JSON form. These cases send spans before and after the trace
info, in several batches, with well-formed and malformed attributes, then read the traces back
and search on the derived keys.
"""

from __future__ import annotations

import json
from typing import Any

from ..model import Step, case, get, post
from .common import new_experiment
from .traces import NS, V2, V3, otlp, span, start

USAGE = "mlflow.chat.tokenUsage"
COST = "mlflow.llm.cost"
TOKENS = "metadata.`mlflow.trace.tokenUsage`"
COSTS = "metadata.`mlflow.trace.cost`"


def tid(case_no: int, i: int) -> str:
    """A 32-hex OTel trace id unique to this module's case and trace."""
    return "${sfx}" + f"a{case_no:03x}{i:020x}"


def sid(i: int) -> str:
    return f"{i:016x}"


def val(value: Any) -> dict[str, Any]:
    """An OTLP AnyValue: a string as is, anything else as its JSON text (as MLflow's client)."""
    if isinstance(value, dict) and len(value) == 1 and next(iter(value)).endswith("Value"):
        return value
    return {"stringValue": value if isinstance(value, str) else json.dumps(value)}


def sp(trace: str, span_no: int, parent: int | None = None, **attributes: Any) -> dict[str, Any]:
    attrs = {k.replace("__", "."): val(v) for k, v in attributes.items()}
    return span(trace, sid(span_no), f"s{span_no}", NS + span_no * 1_000_000,
                NS + span_no * 1_000_000 + 500_000, parent_hex=sid(parent) if parent else "",
                attributes=attrs)


def usage(i: int, o: int, **extra: Any) -> dict[str, Any]:
    return {"input_tokens": i, "output_tokens": o, "total_tokens": i + o, **extra}


def cost(i: float, o: float) -> dict[str, Any]:
    return {"input_cost": i, "output_cost": o, "total_cost": i + o}


def info(trace: str) -> Step:
    return get(f"{V3}/tr-{trace}")


def search(filter_string: str, **kw: Any) -> Step:
    return post(f"{V3}/search", {
        "locations": [{"type": "MLFLOW_EXPERIMENT", "mlflow_experiment": {"experiment_id": "${e1}"}}],
        "filter": filter_string, "order_by": ["timestamp_ms ASC", "request_id ASC"],
        "max_results": 100}, **kw)


def attrs(**attributes: Any) -> dict[str, Any]:
    return {k.replace("__", "."): v for k, v in attributes.items()}


# Case 1: spans first, then the trace info (which overrides what it names).
A = [tid(1, i) for i in range(4)]
# Case 2: the trace info first.
B = [tid(2, i) for i in range(4)]
# Case 3: span batches for traces without info: recomputed over the stored spans.
C = [tid(3, i) for i in range(3)]
# Case 4: malformed attributes, one trace each.
MALFORMED = {
    "usage-not-json": {USAGE: "not json"},
    "usage-list": {USAGE: [1, 2]},
    "usage-string-number": {USAGE: {"input_tokens": "5"}},
    "usage-null": {USAGE: {"input_tokens": None}},
    "usage-float": {USAGE: {"input_tokens": 1.5, "output_tokens": 2.0, "total_tokens": 3}},
    "usage-unknown-key": {USAGE: {"foo": 1}},
    "usage-bool": {USAGE: {"input_tokens": True}},
    "usage-cache-string": {USAGE: {"cache_read_input_tokens": "x"}},
    "usage-kvlist": {USAGE: {"kvlistValue": {"values": [
        {"key": "input_tokens", "value": {"intValue": "4"}},
        {"key": "cache_creation_input_tokens", "value": {"intValue": "2"}}]}}},
    "usage-huge": {USAGE: {"input_tokens": 2**64, "output_tokens": 1, "total_tokens": 1}},
    "usage-every-key-big": {USAGE: dict.fromkeys(
        ("input_tokens", "output_tokens", "total_tokens", "cache_read_input_tokens",
         "cache_creation_input_tokens", "cache_creation_input_tokens_above_1hr"), 2**62)},
    "cost-not-json": {COST: "nope"},
    "cost-number": {COST: 5},
    "cost-string-number": {COST: {"total_cost": "1.5"}},
    "cost-nan": {COST: {"stringValue": '{"input_cost": 1, "total_cost": NaN}'}},
    "cost-empty": {COST: {}},
    "session-int": {"session.id": {"intValue": "42"}},
    "session-object": {"session.id": {"a": 1}},
    "session-conversation": {"gen_ai.conversation.id": "conv-1"},
    "session-250": {"session.id": "s" * 250},
    "session-251": {"session.id": "s" * 251},
    "session-empty": {"session.id": ""},
    "user-int": {"user.id": {"intValue": "7"}},
    "user-empty": {"user.id": ""},
}
M = {name: tid(4, i) for i, name in enumerate(MALFORMED)}
D = [tid(5, i) for i in range(4)]
E = [tid(6, i) for i in range(2)]
E2 = [tid(7, i) for i in range(2)]


def _malformed_steps() -> list[Step]:
    steps: list[Step] = []
    for name, attributes in MALFORMED.items():
        trace = M[name]
        steps += [otlp([sp(trace, 1, **{k.replace(".", "__"): v for k, v in attributes.items()}),
                        sp(trace, 2, 1, **{USAGE.replace(".", "__"): usage(1, 1)})],
                       note=name), info(trace)]
    return steps


CASES = [
    case(
        "trace-analytics-spans-then-info",
        new_experiment("e1"),
        # a rollup root (usage covering its children), children with usage and cost
        otlp([sp(A[0], 1, **attrs(mlflow__chat__tokenUsage=usage(10, 5), session__id="sess-a",
                                  user__id="u-a")),
              sp(A[0], 2, 1, **attrs(mlflow__chat__tokenUsage=usage(7, 3, cache_read_input_tokens=2),
                                     mlflow__llm__cost=cost(0.1, 0.2))),
              sp(A[0], 3, 1, **attrs(mlflow__llm__cost=cost(1, 2))),
              sp(A[0], 4, 3, **attrs(mlflow__llm__cost=cost(5, 5)))]),
        info(A[0]),
        # the info names some token counts (one of them no number): those replace the spans'
        start("tr-" + A[0], trace_metadata={
            "mlflow.trace.tokenUsage": json.dumps({"total_tokens": 99, "input_tokens": "x"}),
            "mlflow.trace.session": "other", "mlflow.trace.user": "u-info", "x": "1"}),
        info(A[0]),
        # later spans of a finalized trace with token usage: the info's values stay
        otlp([sp(A[0], 5, 1, **attrs(mlflow__chat__tokenUsage=usage(1000, 1),
                                     session__id="late"))]),
        info(A[0]),
        # spans only, then an info without analytics: the spans' values stay
        otlp([sp(A[1], 1, **attrs(mlflow__chat__tokenUsage=usage(3, 4),
                                  mlflow__llm__cost=cost(0.5, 0.25),
                                  gen_ai__conversation__id="conv"))]),
        start("tr-" + A[1], trace_metadata={"k": "v"}),
        info(A[1]),
        # an info whose analytics are not JSON objects, or not numbers
        otlp([sp(A[2], 1, **attrs(mlflow__chat__tokenUsage=usage(3, 4),
                                  mlflow__llm__cost=cost(0.5, 0.25)))]),
        start("tr-" + A[2], trace_metadata={
            "mlflow.trace.tokenUsage": "[1]", "mlflow.trace.session": "",
            "mlflow.trace.cost": json.dumps({"total_cost": "NaN", "input_cost": "1e3"})}),
        info(A[2]),
        # a session id too long for the info: refused, nothing changes
        otlp([sp(A[3], 1, **attrs(session__id="kept"))]),
        start("tr-" + A[3], trace_metadata={"mlflow.trace.session": "s" * 251}),
        start("tr-" + A[3], trace_metadata={"mlflow.trace.session": "s" * 250}),
        info(A[3]),
        search("metadata.`mlflow.trace.session` = 'other'"),
        search("metadata.`mlflow.trace.session` = 'conv'"),
        search("metadata.`mlflow.trace.session` IS NULL"),
        search("metadata.`mlflow.trace.user` = 'u-info'"),
        search(f"{TOKENS} = '{json.dumps({'output_tokens': 5, 'total_tokens': 99})}'"),
        search(f"{TOKENS} = '{json.dumps(usage(3, 4))}'"),
        search(f"{TOKENS} != '{json.dumps(usage(3, 4))}'"),
        search(f"{TOKENS} IS NOT NULL"),
        search(f"{COSTS} = '{json.dumps({'input_cost': 1000.0})}'"),
        search(f"{COSTS} IS NULL"),
        search(f"{TOKENS} LIKE '%5%'"),
    ),
    case(
        "trace-analytics-info-then-spans",
        new_experiment("e1"),
        # the info's token usage and cost win; the session comes from the spans
        start("tr-" + B[0], trace_metadata={
            "mlflow.trace.tokenUsage": '{"output_tokens":4, "input_tokens": 1}',
            "mlflow.trace.cost": '{"total_cost": 2}'}),
        otlp([sp(B[0], 1, **attrs(mlflow__chat__tokenUsage=usage(10, 5), session__id="s-b",
                                  mlflow__llm__cost=cost(1, 1)))]),
        info(B[0]),
        # an info without analytics: the first batch with usage sets it, later ones do not
        start("tr-" + B[1], execution_duration="5s"),
        otlp([sp(B[1], 2, 1, **attrs(mlflow__chat__tokenUsage=usage(1, 1),
                                     mlflow__llm__cost={"total_cost": 0.1}))]),
        info(B[1]),
        otlp([sp(B[1], 3, 1, **attrs(mlflow__chat__tokenUsage=usage(3, 1),
                                     mlflow__llm__cost={"total_cost": 0.2}))]),
        otlp([sp(B[1], 1, **attrs(mlflow__chat__tokenUsage=usage(100, 1)))]),
        info(B[1]),
        # the info has only a cost: token usage still comes from the spans, over all of them
        start("tr-" + B[2], trace_metadata={"mlflow.trace.cost": '{"input_cost": 3}'}),
        otlp([sp(B[2], 2, 1, **attrs(mlflow__chat__tokenUsage=usage(2, 2),
                                     mlflow__llm__cost=cost(9, 9)))]),
        otlp([sp(B[2], 3, 1, **attrs(mlflow__chat__tokenUsage=usage(5, 5)))]),
        info(B[2]),
        # a span batch with a too long session id for a known trace: refused
        start("tr-" + B[3]),
        otlp([sp(B[3], 1, **attrs(session__id="x" * 300,
                                  mlflow__chat__tokenUsage=usage(1, 1)))]),
        info(B[3]),
        get(f"{V3}/get", {"trace_id": "tr-" + B[3], "allow_partial": "true"}),
        search(f"{TOKENS} IS NOT NULL"),
        search("metadata.`mlflow.trace.session` = 's-b'"),
    ),
    case(
        "trace-analytics-span-batches",
        new_experiment("e1"),
        # children first, then their rollup parent: the parent's usage replaces theirs
        otlp([sp(C[0], 2, 1, **attrs(mlflow__chat__tokenUsage=usage(1, 1),
                                     mlflow__llm__cost=cost(0.1, 0.2)))]),
        info(C[0]),
        otlp([sp(C[0], 3, 1, **attrs(mlflow__chat__tokenUsage=usage(2, 2),
                                     mlflow__llm__cost=cost(0.3, 0.4)))]),
        info(C[0]),
        otlp([sp(C[0], 1, **attrs(mlflow__chat__tokenUsage=usage(50, 1), session__id="s4"))]),
        info(C[0]),
        # the same span again (its usage changed) and a cache key only one span has
        otlp([sp(C[0], 1, **attrs(mlflow__chat__tokenUsage=usage(60, 1,
                                                                 cache_read_input_tokens=9)))]),
        info(C[0]),
        # the root without usage re-sent: the children count again
        otlp([sp(C[0], 1)]),
        info(C[0]),
        # a first span naming an empty session blocks the later ones of its batch only
        otlp([sp(C[1], 1, **attrs(session__id="")),
              sp(C[1], 2, 1, **attrs(session__id="later", user__id="u1"))]),
        info(C[1]),
        otlp([sp(C[1], 3, 1, **attrs(session__id="third", user__id="u2"))]),
        info(C[1]),
        # two traces in one batch; one of them fails the session check: nothing is stored
        otlp([sp(C[2], 1, **attrs(mlflow__chat__tokenUsage=usage(1, 2))),
              sp(D[0], 1, **attrs(session__id="y" * 251))]),
        info(C[2]),
        otlp([sp(C[2], 1, **attrs(mlflow__chat__tokenUsage=usage(1, 2))),
              sp(D[0], 1, **attrs(mlflow__llm__cost=7))]),
        info(C[2]),
        # a crash on a known trace's stored spans (a child's bad usage, uncovered once its
        # parent is sent again without usage) changes nothing either
        otlp([sp(D[1], 1, **attrs(mlflow__chat__tokenUsage=usage(1, 1))),
              sp(D[1], 2, 1, **attrs(mlflow__chat__tokenUsage={"input_tokens": "bad"}))]),
        info(D[1]),
        otlp([sp(D[1], 1), sp(D[1], 3, 1, **attrs(mlflow__chat__tokenUsage=usage(1, 1)))]),
        info(D[1]),
        get(f"{V3}/get", {"trace_id": "tr-" + D[1], "allow_partial": "true"}),
        search(f"{TOKENS} IS NOT NULL"),
        search("metadata.`mlflow.trace.session` = 'third'"),
    ),
    case(
        "trace-analytics-malformed",
        new_experiment("e1"),
        *_malformed_steps(),
        otlp([sp(E[0], 1, **attrs(mlflow__llm__cost=3)),
              sp(E[0], 2, 1, **attrs(session__id="z" * 300))], note="crash before session"),
        otlp([sp(E[0], 1, **attrs(session__id="z" * 300)),
              sp(E[0], 2, 1, **attrs(mlflow__llm__cost=3))], note="session before crash"),
        otlp([sp(E[1], 1, **attrs(session__id="z" * 300))], exp="999999999",
             note="analytics checked before the experiment"),
        otlp([sp(E[1], 1, **attrs(mlflow__chat__tokenUsage={"input_tokens": None}))],
             exp="999999999"),
        info(E[0]),
    ),
    case(
        "trace-analytics-v2",
        new_experiment("e1"),
        post(f"{V2}", {"experiment_id": "${e1}", "timestamp_ms": 1_700_000_000_000,
                       "request_metadata": [
                           {"key": "mlflow.trace.tokenUsage",
                            "value": '{"total_tokens": 5, "foo": 1}'},
                           {"key": "mlflow.trace.session", "value": "v2"}]},
             capture={"r1": "trace_info.request_id"}),
        Step("PATCH", f"{V2}/${{r1}}", json={
            "timestamp_ms": 1_700_000_001_000, "status": "OK",
            "request_metadata": [{"key": "mlflow.trace.cost", "value": '{"input_cost": 1}'},
                                 {"key": "mlflow.trace.tokenUsage",
                                  "value": '{"input_tokens": 2}'}]}),
        get(f"{V3}/${{r1}}"),
        Step("PATCH", f"{V2}/${{r1}}", json={
            "timestamp_ms": 1_700_000_001_000, "status": "OK",
            "request_metadata": [{"key": "mlflow.trace.session", "value": "q" * 251}]}),
        get(f"{V3}/${{r1}}"),
        # v2 answers list metadata rows in insertion order (each write inserts new keys in key
        # order), then the analytics; a user from spans is a row added last
        start("tr-" + E2[0]),
        start("tr-" + E2[0], trace_metadata={"m1": "x", "a0": "y", "mlflow.trace.session": "s"}),
        get(f"{V2}/tr-{E2[0]}/info"),
        otlp([sp(E2[0], 1, **attrs(user__id="u", mlflow__chat__tokenUsage=usage(1, 1)))]),
        get(f"{V2}/tr-{E2[0]}/info"),
        start("tr-" + E2[1], trace_metadata={"zz": "1", "m1": "x", "a0": "y",
                                              "mlflow.trace.cost": '{"total_cost": 1}'}),
        get(f"{V2}/tr-{E2[1]}/info"),
    ),
]
