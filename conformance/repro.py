"""Minimal repros: shrink the request sequence behind a finding and render it as curl.

Shrinking works on the recorded requests, not on Hypothesis steps, so each distinct finding
is shrunk on its own:

1. slice: keep the finding's request and the writes it depends on (the entities it names,
   their parents, for a search the children of the searched experiments, earlier uses of the
   same experiment name); reads never change state and are dropped;
2. in differential mode, delta-debug: drop requests while the two targets still answer the
   last request differently in the same way (with one target the slice is the result: the
   model's expectation is not re-run on replay, so only a dependency slice keeps it valid);
3. every candidate is verified by replaying it against the live target(s) with fresh names,
   so a repro printed in a report has just been seen to work.
"""

from __future__ import annotations

import copy
import json
import re
import shlex
import uuid
from typing import Any, Iterable
from urllib.parse import quote

from .context import Call, Witness, extract_value
from .findings import ROUTE, STATUS, Finding, classify, generic_path, value_at
from .normalise import diff, normalise
from .refs import IdMap, Ref, Sub
from .transport import Reply, Target

NAME_FIELDS = {"create_experiment": ("body", "name"), "update_experiment": ("body", "new_name"),
               "get_experiment_by_name": ("query", "experiment_name")}
MAX_DELTA_CALLS = 12  # an unsliceable example longer than this is reported as recorded
MAX_REPLAYS = 16  # per finding: bounds the cost of shrinking


def is_read(call: Call) -> bool:
    return call.op.startswith(("get_", "search_")) or call.op in ("unknown_route", "wrong_method")


def mentions(call: Call) -> set[str]:
    """Symbols a request names, plus ``name:<x>`` for experiment names it uses."""
    out = (set(_refs(call.body)) | set(_refs(call.query)) | set(_refs(call.path))
           | set(_refs(call.headers)))
    where = NAME_FIELDS.get(call.op)
    if where:
        source = call.body if where[0] == "body" else call.query
        if isinstance(source, dict) and isinstance(source.get(where[1]), str):
            out.add("name:" + source[where[1]])
    return out


def _refs(obj: Any) -> Iterable[str]:
    if isinstance(obj, Ref):
        yield obj.symbol
    elif isinstance(obj, Sub):
        for r in obj.refs:
            yield from _refs(r)
    elif isinstance(obj, dict):
        for v in obj.values():
            yield from _refs(v)
    elif isinstance(obj, (list, tuple)):
        for v in obj:
            yield from _refs(v)


def slice_calls(calls: list[Call], outcome_only: bool = False) -> list[Call]:
    """The last call and the earlier writes it depends on. ``outcome_only``: only the
    outcome (status, error_code) of a read matters, which depends on what exists, not on
    what was written to it, so only the creations it names are kept."""
    final, before = calls[-1], calls[:-1]
    needed = mentions(final)
    downward = final.op == "search_runs"  # its answer depends on the searched runs
    if final.op == "search_experiments":  # scoped by name prefix: every experiment counts
        needed |= {s for c in before if c.op == "create_experiment" for s in c.bind}
    changed = True
    while changed:
        changed = False
        for c in before:
            if is_read(c):
                continue
            m, b = mentions(c), set(c.bind)
            grow: set[str] = set()
            if b & needed:
                grow |= m  # the parent of something needed
            if downward and b and (m & needed):
                grow |= b  # a child of a searched experiment
            if grow - needed:
                needed |= grow
                changed = True
    kept = []
    for c in before:
        if is_read(c):
            continue
        m, b = mentions(c), set(c.bind)
        names = {s for s in m if s.startswith("name:")}
        if b:
            keep = bool(b & needed) or bool(names & needed) or (downward and bool(m & needed))
        else:
            keep = bool(m & needed) and not outcome_only
        if keep:
            kept.append(c)
    return kept + [final]


# -- replay ------------------------------------------------------------------------------------

def _swap_prefix(obj: Any, old: str, new: str) -> Any:
    if not old:
        return obj
    if isinstance(obj, str):
        return obj.replace(old, new)
    if isinstance(obj, Sub):
        return Sub(obj.template.replace(old, new), *obj.refs)
    if isinstance(obj, dict):
        return {k: _swap_prefix(v, old, new) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_swap_prefix(v, old, new) for v in obj]
    if isinstance(obj, tuple):
        return tuple(_swap_prefix(v, old, new) for v in obj)
    return obj


def replay(calls: list[Call], targets: list[Target], prefix: str) -> list[tuple[Reply, IdMap]] | None:
    """Send the calls again with a fresh name prefix; the last call's answer per target, or
    None when the sequence cannot even be sent (a symbol it needs was never created)."""
    fresh = prefix[:3] + uuid.uuid4().hex[:len(prefix) - 3] if prefix else ""
    out = []
    for target in targets:
        ids = IdMap()
        if prefix:
            ids.bind("prefix", fresh)
        reply = None
        for call in calls:
            try:
                body = ids.resolve(_swap_prefix(call.body, prefix, fresh))
                query = ids.resolve(_swap_prefix(call.query, prefix, fresh))
                where = ids.resolve(call.path)
                headers = ids.resolve(call.headers)
            except KeyError:
                return None
            _, reply = target.send(call.method, where, body=body, query=query, headers=headers)
            for symbol, extract in call.bind.items():
                value = extract_value(extract, reply)
                if isinstance(value, str) and value:
                    ids.bind(symbol, value)
        assert reply is not None
        out.append((reply, ids))
    return out


_value_at = value_at


def _outcome(view: dict[str, Any]) -> tuple[Any, Any]:
    body = view.get("body")
    return view.get("status"), body.get("error_code") if isinstance(body, dict) else body


def _original_view(call: Call, index: int, ids: IdMap, prefix: str) -> dict[str, Any]:
    scoped = copy.copy(ids)
    scoped.by_symbol, scoped.by_value = dict(ids.by_symbol), dict(ids.by_value)
    if prefix:
        scoped.bind("prefix", prefix)
    return normalise(call.op, call.replies[index], scoped)


def reproduces(finding: Finding, witness: Witness, calls: list[Call],
               targets: list[Target]) -> bool:
    """Does this sequence still show the finding on the live target(s)?"""
    result = replay(calls, targets, witness.prefix)
    if result is None:
        return False
    final = witness.calls[-1]
    op = final.op
    views = [normalise(op, reply, ids) for reply, ids in result]
    if len(targets) > 1:  # differential: the two targets must still differ the same way
        got = classify(op, views[1], views[0], diff(views[1], views[0]))
        return any((d.operation, generic_path(d.json_path), d.kind, d.detail) == finding.key[:4]
                   for d in got)
    before = _original_view(final, 0, witness.ids[0], witness.prefix)
    if finding.kind in (STATUS, ROUTE):
        return _outcome(views[0]) == _outcome(before)
    return (_outcome(views[0]) == _outcome(before)
            and _value_at(views[0], witness.view_path) == _value_at(before, witness.view_path))


def shrink(finding: Finding, witness: Witness,
           targets: list[Target]) -> tuple[list[Call], bool]:
    """The smallest verified sequence (and whether it was verified by replay).

    With one target the expectation comes from the reference model, which a replay does not
    re-run: only the dependency slice is sound there (it keeps every write the expectation
    depends on), so delta-debugging is used in differential mode only, where the reference
    answers live."""
    full = witness.calls
    # A missing route is missing whatever the state; a read's outcome depends only on what exists.
    candidate = slice_calls(full, finding.kind == ROUTE
                            or (finding.kind == STATUS and is_read(full[-1])))
    if len(candidate) < len(full) and not reproduces(finding, witness, candidate, targets):
        candidate = full
    if len(targets) < 2 or len(candidate) > MAX_DELTA_CALLS:
        return candidate, reproduces(finding, witness, candidate, targets)
    verified = False
    budget = MAX_REPLAYS
    chunk = max(1, (len(candidate) - 1) // 2)
    while chunk >= 1 and budget > 0:
        i = 0
        while i < len(candidate) - 1 and budget > 0:
            trial = candidate[:i] + candidate[i + chunk:] if i + chunk < len(candidate) else None
            if trial is None:
                break
            budget -= 1
            if reproduces(finding, witness, trial, targets):
                candidate, verified = trial, True
            else:
                i += chunk
        chunk //= 2
    if not verified:
        verified = reproduces(finding, witness, candidate, targets)
    return candidate, verified


# -- curl --------------------------------------------------------------------------------------

_TOKEN = re.compile(r"@@([A-Za-z0-9_-]+)@@")


def _var(symbol: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", symbol).upper()


def _tokenise(obj: Any, prefix: str) -> Any:
    if isinstance(obj, Ref):
        return f"@@{obj.symbol}@@"
    if isinstance(obj, Sub):
        return _tokenise(obj.template.format(*(_tokenise(r, prefix) for r in obj.refs)), prefix)
    if isinstance(obj, str):
        return obj.replace(prefix, "@@prefix@@") if prefix else obj
    if isinstance(obj, dict):
        return {k: _tokenise(v, prefix) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_tokenise(v, prefix) for v in obj]
    return obj


def _shell_with_vars(text: str) -> str:
    """Single-quote ``text`` for the shell, with ``@@X@@`` tokens as ``"$X"`` expansions."""
    out, last = [], 0
    for m in _TOKEN.finditer(text):
        if m.start() > last:
            out.append(shlex.quote(text[last:m.start()]))
        out.append(f'"${_var(m.group(1))}"' if m.group(1) != "prefix" else '"$P"')
        last = m.end()
    if last < len(text):
        out.append(shlex.quote(text[last:]))
    return "".join(out) or "''"


def _query(query: Any) -> str:
    if not query:
        return ""
    pairs = []
    for key, value in query.items():
        for item in value if isinstance(value, (list, tuple)) else [value]:
            text = item if isinstance(item, str) else json.dumps(item)
            pairs.append(quote(str(key), safe="") + "=" + quote(text, safe="@"))
    return "?" + "&".join(pairs)


def curl_lines(calls: list[Call], target: Target, prefix: str, index: int = 0) -> list[str]:
    """A shell script: variables for the URL, a fresh name prefix and every id it creates."""
    base = getattr(target, "base", None) or "http://localhost"
    lines = [f"URL={shlex.quote(base)}"]
    uses_prefix = prefix and any(
        prefix in text or "@@prefix@@" in text
        for text in (json.dumps([_tokenise(c.body, ""), _tokenise(c.query, ""),
                                 _tokenise(c.path, ""), _tokenise(c.headers, "")], default=str)
                     for c in calls))
    if uses_prefix and re.fullmatch(r"[0-9a-f]+", prefix):  # a prefix that is part of hex ids
        lines.append(f"P=$(python3 -c 'import uuid; print(uuid.uuid4().hex[:{len(prefix)}])')")
    elif uses_prefix:
        lines.append("P=cf-$(python3 -c 'import uuid; print(uuid.uuid4().hex[:12])')")
    auth = getattr(target, "auth", {})
    path_for = getattr(target, "path_for", lambda p: "/api/2.0/mlflow/" + p)
    for n, call in enumerate(calls):
        url = "$URL" + path_for(_tokenise(call.path, "")) + _query(
            _tokenise(call.query, prefix if uses_prefix else ""))
        parts = ["curl", "-sS", "-X", call.method, '"$URL"' + _shell_with_vars(url[len("$URL"):])]
        headers = dict(call.headers or {})
        body = call.body
        if body is not None and not isinstance(body, bytes):
            headers.setdefault("Content-Type", "application/json")
        for key in auth:
            parts += ["-H", '"$CONFORMANCE_AUTH"']
        for key, value in headers.items():  # a header may name an id (OTLP's experiment)
            parts += ["-H", _shell_with_vars(f"{key}: {_tokenise(value, '')}")]
        if body is not None:
            text = (body.decode(errors="replace") if isinstance(body, bytes)
                    else json.dumps(_tokenise(body, prefix if uses_prefix else "")))
            parts += ["-d", _shell_with_vars(text)]
        command = " ".join(parts)
        status = call.replies[index].status if index < len(call.replies) else "?"
        paths = [b for b in call.bind.values() if not callable(b)]
        if call.bind and n < len(calls) - 1 and paths:
            symbol, path = next((s, b) for s, b in call.bind.items() if not callable(b))
            getter = "".join(f"[{json.dumps(p)}]" for p in path)
            lines.append(f"{_var(symbol)}=$({command} | python3 -c "
                         f"'import json,sys; print(json.load(sys.stdin){getter})')"
                         f"   # {call.op}")
        else:
            lines.append(f"{command}   # {call.op} -> {status}")
    return lines


def observed_on(finding: Finding, target: Target) -> Any:
    """Replay a shrunk finding on another server and return what that server answers, in the
    finding's terms (``"400 INVALID_PARAMETER_VALUE"`` for status/route findings, the value at
    the finding's JSON path otherwise). Used to check a report against real MLflow 3.17.2:
    there, the answer must be the finding's ``expected``."""
    witness = finding.witness
    result = replay(witness.calls, [target], witness.prefix)
    if result is None:
        return "<could not replay>"
    reply, ids = result[0]
    view = normalise(witness.calls[-1].op, reply, ids)
    if finding.kind in (STATUS, ROUTE):
        from .findings import _status_text

        return _status_text(view)
    return _value_at(view, witness.view_path)


def holds_on(finding: Finding, target: Target) -> bool:
    """Does ``target`` answer the finding's sequence as the finding says MLflow 3.17.2 does?"""
    got = observed_on(finding, target)
    if finding.kind in (STATUS, ROUTE):
        return got == finding.expected or (finding.kind == ROUTE and str(got).startswith(
            str(finding.expected)))
    return not diff(finding.expected, got)
