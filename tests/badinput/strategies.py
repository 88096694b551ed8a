"""Hypothesis strategies for malformed MLflow requests, one group per kind of damage.

Every strategy draws a ``BadRequest`` for one route of ``routes.SPECS``, starting from that
route's valid request and breaking it: wrong JSON types per field (also inside repeated
message fields), lone surrogates, invalid UTF-8, huge strings and keys, numeric overflow, deep
nesting, wrong methods and content types, non-object bodies, damaged query strings, odd framing.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any
from urllib.parse import quote

from hypothesis import strategies as st

from fakeflow.web.messages import Field, Message
from tests.badinput.jsontext import Obj, Raw, dumps, obj
from tests.badinput.model_routes import LOGGED_MODEL_IDS, MODEL_NAMES, VERSIONS
from tests.badinput.routes import ALL, EXPERIMENT_IDS, RUN_IDS, WITH_MESSAGE, RouteSpec
from tests.badinput.sides import BadRequest
from tests.badinput.trace_routes import PATH_POOLS
from tests.badinput.trace_routes import POOLS as TRACE_POOLS

JSON = (("Content-Type", "application/json"),)
NAME_FIELDS = frozenset({"name", "new_name", "experiment_name"})

# -- values ------------------------------------------------------------------------------------

INTEGERS = st.one_of(
    st.sampled_from([0, 1, -1, 2**31 - 1, 2**31, -(2**31) - 1, 2**63 - 1, 2**63, -(2**63),
                     -(2**63) - 1, 2**64, -(2**64), 10**30, 50001, 10**400, -(10**400)]),
    st.integers(),
)
FLOATS = st.one_of(
    st.sampled_from([1.5, -0.0, 0.5, 1e308, 5e-324, 1e20, 2.0**63, 3.0]),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([Raw("1e400"), Raw("-1e400"), Raw("NaN"), Raw("Infinity"), Raw("-Infinity"),
                     Raw("1E2"), Raw("-0"), Raw("1.0e1"), Raw("123456789012345678901234567890"),
                     Raw("1" + "0" * 5000)]),  # past Python's 4300-digit int parsing limit
)
HUGE_SIZES = (1_000, 6_001, 10_000, 100_000, 1_000_000)
STRINGS = st.one_of(
    st.sampled_from([
        "", "x", " 1", "1e3", "0x1", "NaN", "nan", "Infinity", "-Infinity", "true", "1.5", "-1",
        "9" * 40, "9223372036854775808", "ACTIVE_ONLY", "FINISHED", "ALL", "2", "6", "KILLED",
        "\ud800", "a\udc00", "\ud83d", "\udfff\ud800", "a\x00b", "é", "🙂", "../x", "a/b", "/abs",
        "#", "[x]", "key", "dataset", "tags", "{}", "[]", "null", "name = 'x'", "attributes.x",
    ]),
    st.text(max_size=12),
    st.builds(lambda n, c: c * n, st.sampled_from(HUGE_SIZES), st.sampled_from(["a", "é", "\ud800"])),
)
SCALARS = st.one_of(INTEGERS, FLOATS, STRINGS, st.booleans(), st.none())
KEYS = st.one_of(
    st.sampled_from(["key", "value", "timestamp", "step", "dataset", "tags", "name", "digest",
                     "model_id", "run_id", "[x]", "[a.b]", "", "a", "k" * 10_000]),
    st.text(max_size=8),
)


def _nest(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(
        st.lists(children, max_size=3),
        st.lists(st.tuples(KEYS, children), max_size=3).map(lambda pairs: Obj(tuple(pairs))),
    )


VALUES = st.recursive(SCALARS, _nest, max_leaves=6)


#: Clearly below MLflow's limit (its JSON decoder, in a Flask worker thread, manages ~978 levels)
#: or far above it; the edge itself depends on each server's stack depth (see KNOWN_DIVERGENCES).
DEPTHS = (50, 99, 100, 101, 500, 10_000, 100_000)


def deep(depth: int, kind: str) -> Raw:
    if kind == "list":
        return Raw("[" * depth + "]" * depth)
    return Raw('{"a": ' * depth + "1" + "}" * depth)


DEEP = st.builds(deep, st.sampled_from(DEPTHS),
                 st.sampled_from(["list", "object"]))
#: what goes where a repeated message field's element (an object) belongs
NON_OBJECTS = st.one_of(
    INTEGERS, FLOATS, STRINGS, st.booleans(), st.none(), DEEP,
    st.lists(SCALARS, max_size=3), st.lists(st.lists(SCALARS, max_size=2), max_size=2),
)


NON_STRINGS = st.one_of(INTEGERS, FLOATS, st.booleans(), st.none())


POOLS = {"exp": EXPERIMENT_IDS, "exps": EXPERIMENT_IDS, "run": RUN_IDS, "runs": RUN_IDS,
         "model": MODEL_NAMES, "version": VERSIONS, "lm": LOGGED_MODEL_IDS, **TRACE_POOLS}


def _pool(kind: str) -> tuple[str, ...]:
    return POOLS[kind]


def _ids(kind: str) -> st.SearchStrategy[Any]:
    pool = st.sampled_from(_pool(kind))
    if kind in ("exps", "runs", "traces", "records", "scorer_ids"):
        return st.one_of(st.lists(pool, max_size=3), pool, INTEGERS,
                         st.lists(st.one_of(pool, NON_STRINGS), max_size=2))
    return st.one_of(pool, pool, INTEGERS, FLOATS, st.booleans(), st.none(), st.lists(pool, max_size=2),
                     st.just(Obj((("a", 1),))))


def _value_for(spec: RouteSpec, name: str) -> st.SearchStrategy[Any]:
    """A bad (or surprising) value for field ``name``; id fields stay inside their pools."""
    f = spec.message.field_by_key(name) if spec.message else None
    name = f.name if f is not None else name
    if name in spec.ids:
        return _ids(spec.ids[name])
    values = st.one_of(VALUES, DEEP, NON_OBJECTS)
    if name in NAME_FIELDS:
        # created names carry the suffix, so they never meet another test's on the shared server
        return values.map(lambda v: v + "-${s}" if isinstance(v, str) and len(v) < 100 else v)
    return values


# -- bodies ------------------------------------------------------------------------------------

@st.composite
def mutated_object(draw: st.DrawFn, body: Obj, message: Message, spec: RouteSpec, depth: int = 0) -> Obj:
    """``body`` with one thing broken: a value, a key, a removal, or something nested."""
    op = draw(st.sampled_from(["replace", "insert", "remove", "alias", "nested", "nested", "elements"]))
    present = [k for k, _ in body.pairs]
    repeated = [f for f in message.fields if f.kind == "message"]
    if op == "replace" and present:
        key = draw(st.sampled_from(present))
        return body.replaced(key, draw(_value_for(spec, key) if depth == 0 else VALUES))
    if op == "remove" and present:
        return body.without(draw(st.sampled_from(present)))
    if op == "alias" and present:
        key = draw(st.sampled_from(present))
        f = message.field_by_key(key)
        if f is not None and f.json_name != f.name:
            value = body.get(key)
            swapped = Obj(tuple((f.json_name if k == key else k, v) for k, v in body.pairs))
            keep_both = draw(st.booleans())
            return swapped.with_pair(len(body.pairs), key, value) if keep_both else swapped
    if op in ("nested", "elements") and repeated:
        f = draw(st.sampled_from(repeated))
        current = body.get(f.name)
        if op == "elements" or current is None:
            # item 5: non-objects (or objects, or a mix) where message elements belong
            items = draw(st.lists(st.one_of(NON_OBJECTS, st.just(Obj(()))), min_size=1, max_size=3))
            value: Any = items if f.repeated else items[0]
            return body.put(f.name, value, draw(st.integers(0, len(body.pairs))))
        if f.repeated and isinstance(current, list) and current and isinstance(current[0], Obj):
            element = draw(mutated_object(current[0], f.message, spec, depth + 1))
            index = draw(st.integers(0, len(current)))
            return body.replaced(f.name, current[:index] + [element] + current[index:])
        if not f.repeated and isinstance(current, Obj):
            return body.replaced(f.name, draw(mutated_object(current, f.message, spec, depth + 1)))
    # insert: a field (either spelling), an unknown key or an extension-like key, anywhere
    names = [f.name for f in message.fields] + [f.json_name for f in message.fields]
    key = draw(st.one_of(st.sampled_from(names), KEYS) if names else KEYS)  # opaque messages: no names
    value = draw(_value_for(spec, key) if depth == 0 else VALUES)
    return body.with_pair(draw(st.integers(0, len(body.pairs))), key, value)


@st.composite
def mutated_body(draw: st.DrawFn, spec: RouteSpec) -> Obj:
    body = obj(spec.base)
    for _ in range(draw(st.integers(1, 3))):
        body = draw(mutated_object(body, spec.message, spec))
    return body


def _body_method(draw: st.DrawFn, spec: RouteSpec) -> str:
    """A method of ``spec`` that reads a JSON body (GET only where the route has no other)."""
    return draw(st.sampled_from([m for m in spec.methods if m != "GET"] or ["GET"]))


def _json_request(method: str, url: str, body: Any, group: str) -> BadRequest:
    return BadRequest(method, url, body=dumps(body).encode(), headers=JSON, group=group)


def _headers(spec: RouteSpec) -> tuple[tuple[str, str], ...]:
    """Headers every request of ``spec`` carries (OTLP's experiment header), if any."""
    return getattr(spec, "headers", ())


def _touches(spec: RouteSpec) -> str:
    """What an accepted request drawn from ``spec`` may change: read back after it."""
    return spec.kind if spec.writes else ""


@st.composite
def field_types(draw: st.DrawFn, specs: tuple[RouteSpec, ...] = WITH_MESSAGE) -> BadRequest:
    """Wrong JSON types, surrogates, overflow, huge values, unknown keys: one route's body."""
    spec = draw(st.sampled_from(specs))
    url = draw(st.sampled_from(spec.urls()))
    request = _json_request(_body_method(draw, spec), url, draw(mutated_body(spec)), "fields")
    return replace(request, touches=_touches(spec), headers=request.headers + _headers(spec))


def _message_fields(message: Message | None) -> list[Field]:
    return [f for f in message.fields if f.kind == "message"] if message else []


def with_repeated_messages(specs: tuple[RouteSpec, ...]) -> tuple[RouteSpec, ...]:
    return tuple(s for s in specs if _message_fields(s.message))


REPEATED_MESSAGE_ROUTES = with_repeated_messages(WITH_MESSAGE)


@st.composite
def message_elements(draw: st.DrawFn,
                     specs: tuple[RouteSpec, ...] = REPEATED_MESSAGE_ROUTES) -> BadRequest:
    """Item 5: non-object elements (and nested non-objects) inside repeated message fields."""
    spec = draw(st.sampled_from(specs))
    body = obj(spec.base)
    f = draw(st.sampled_from(_message_fields(spec.message)))
    valid = body.get(f.name)
    element = valid[0] if isinstance(valid, list) and valid else Obj(())
    inner = _message_fields(f.message)
    if inner and draw(st.booleans()):
        # one level down: a non-object inside an element (tags: [1], dataset: 5, ...)
        g = draw(st.sampled_from(inner))
        value = draw(st.lists(NON_OBJECTS, min_size=1, max_size=2)) if g.repeated else draw(NON_OBJECTS)
        items = [element.put(g.name, value, draw(st.integers(0, len(element.pairs))))]
    else:
        # non-objects, mixed with objects, where the field's elements belong
        items = draw(st.lists(st.one_of(NON_OBJECTS, st.just(Obj(())), st.just(element)),
                              min_size=1, max_size=3))
    body = body.put(f.name, items, draw(st.integers(0, len(body.pairs))))
    if draw(st.booleans()):
        body = draw(mutated_object(body, spec.message, spec))
    request = _json_request(_body_method(draw, spec), draw(st.sampled_from(spec.urls())), body,
                            "elements")
    return replace(request, touches=_touches(spec), headers=request.headers + _headers(spec))


# -- whole bodies, encodings, content types, framing ------------------------------------------

CONTENT_TYPES = st.sampled_from([
    "application/json", "application/json", None, "text/plain", "application/json; charset=utf-8",
    "application/json; charset=latin-1", "APPLICATION/JSON", "application/json ",
    "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "", "application/jsonx",
    "application/json;", "application/merge-patch+json", "*/*",
])


def _base_text(spec: RouteSpec) -> str:
    return dumps(obj(spec.base)) if spec.base else "{}"


@st.composite
def body_bytes(draw: st.DrawFn, spec: RouteSpec) -> bytes | None:
    base = _base_text(spec)
    if spec.raw_body is not None and draw(st.integers(0, 3)) == 0:
        return draw(st.sampled_from([spec.raw_body, b"", b"\x00\xff" * 100, b"x" * 1_000_000]))
    kind = draw(st.sampled_from([
        "top-level", "double-encoded", "invalid-utf8", "invalid-json", "deep", "huge", "utf16",
        "empty", "none", "bom",
    ]))
    if kind == "top-level":
        value = draw(st.one_of(SCALARS, DEEP, st.lists(st.one_of(SCALARS, KEYS), max_size=3)))
        return dumps(value).encode()
    if kind == "double-encoded":
        inner = draw(st.sampled_from([base, "not json", "[1]", "1", '"x"', "null", "{", ""]))
        return json.dumps(inner).encode()
    if kind == "invalid-utf8":
        bad = draw(st.sampled_from([b"\xff", b"\xed\xa0\x80", b"\xc0\xaf", b"\xe2\x82", b"\x80",
                                    b"\xf4\x90\x80\x80", b"\xed\xb0\x80"]))
        raw = base.encode()
        # inside a string value if there is one, else anywhere
        quote_at = [i for i, c in enumerate(raw) if c == ord('"')]
        at = draw(st.sampled_from(quote_at)) + 1 if quote_at and draw(st.booleans()) else \
            draw(st.integers(0, len(raw)))
        return raw[:at] + bad + raw[at:]
    if kind == "invalid-json":
        cut = draw(st.integers(0, max(0, len(base) - 1)))
        return draw(st.sampled_from([
            base[:cut], base + "x", base + ",", base.replace('"', "'"), base[:-1] + ",}",
            " ", "\n", "{,}", '{"a" 1}', base + base, "NaN", "nul",
        ])).encode()
    if kind == "deep":
        return dumps(draw(DEEP)).encode()
    if kind == "huge":
        size = draw(st.sampled_from(HUGE_SIZES))
        shape = draw(st.sampled_from(["value", "key", "many-keys", "long-list"]))
        if shape == "value":
            key = draw(st.sampled_from(list(spec.base) or ["x"]))
            huge = obj(spec.base).replaced(key, "v" * size) if spec.base else {"x": "v" * size}
            return dumps(huge).encode()
        if shape == "key":
            return dumps(obj(spec.base).with_pair(0, "k" * min(size, 10_000), 1)).encode()
        count = min(size, 10_000)
        if shape == "many-keys":
            return ("{" + ", ".join(f'"k{i}": {i}' for i in range(count)) + base[1:]).encode() \
                if base != "{}" else ("{" + ", ".join(f'"k{i}": {i}' for i in range(count)) + "}").encode()
        return ("[" + ", ".join("1" for _ in range(count)) + "]").encode()
    if kind == "utf16":
        return base.encode(draw(st.sampled_from(["utf-16", "utf-16-le", "utf-32", "utf-8-sig"])))
    if kind == "bom":
        return b"\xef\xbb\xbf" + base.encode()
    if kind == "empty":
        return b""
    return None


@st.composite
def shapes(draw: st.DrawFn, specs: tuple[RouteSpec, ...] = ALL) -> BadRequest:
    """Non-object bodies, bad encodings, invalid JSON, deep nesting, huge bodies, content types."""
    spec = draw(st.sampled_from(specs))
    url = draw(st.sampled_from(spec.urls()))
    method = draw(st.sampled_from(spec.methods))
    body = draw(body_bytes(spec))
    content_type = draw(CONTENT_TYPES)
    headers = () if content_type is None else (("Content-Type", content_type),)
    if _headers(spec):  # (no draw otherwise: the older groups keep their derandomized examples)
        headers += _headers(spec)[:draw(st.integers(0, len(_headers(spec))))]
    # chunked only where nothing is written: MLflow reads chunked bodies as empty (a known
    # divergence), and an accepted write there would leave the two servers' states apart
    chunked = body is not None and not spec.writes and draw(st.booleans())
    return BadRequest(method, url, body=body, headers=headers, chunked=chunked, group="shapes",
                      touches=_touches(spec))


# -- methods and paths -------------------------------------------------------------------------

METHODS = ("GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "FOO")


@st.composite
def methods(draw: st.DrawFn, specs: tuple[RouteSpec, ...] = ALL) -> BadRequest:
    """Every route under the wrong method (and HEAD/OPTIONS), and near-miss paths."""
    spec = draw(st.sampled_from(specs))
    url = draw(st.sampled_from(spec.urls()))
    method = draw(st.sampled_from(METHODS))
    url = draw(st.sampled_from([url, url, url + "/", url.upper(), url.replace("/mlflow/", "/mlflow//"),
                                url + "%00", url + ";x", url.replace("/2.0/", "/2.1/"), url + "%2F"]))
    body = dumps(obj(spec.base)).encode() if spec.base and draw(st.booleans()) else None
    if spec.raw_body is not None and body is None and draw(st.booleans()):
        return BadRequest(method, url, body=spec.raw_body, group="methods", touches=_touches(spec))
    return BadRequest(method, url, body=body, headers=(JSON if body is not None else ()) + _headers(spec),
                      group="methods", touches=_touches(spec))


# -- query strings -----------------------------------------------------------------------------

def _query_value(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, Raw):
        return value.text
    return dumps(value)


def _enc(text: str) -> str:
    return quote(text.encode("utf-8", "surrogatepass"), safe="$:{}")


QUERY_VALUES = st.one_of(
    STRINGS.map(_enc),
    INTEGERS.map(str), FLOATS.map(_query_value),
    st.sampled_from(["%zz", "%", "%f", "%ff", "%ed%a0%80", "%c0%af", "%00", "a+b", "%2B1", "1%20",
                     "%E2%82", "true", "True", "%25", "&", "="]),
    st.builds(lambda n: "q" * n, st.sampled_from([1_000, 8_000, 20_000, 70_000])),
)


@st.composite
def query_strings(draw: st.DrawFn, specs: tuple[RouteSpec, ...] = ALL) -> BadRequest:
    """GET routes' query strings: repeats, bad percent-encoding, aliases, bad numbers, sizes."""
    spec = draw(st.sampled_from([s for s in specs if "GET" in s.methods or s.raw_body is not None]))
    url = draw(st.sampled_from(spec.urls()))
    pairs: list[tuple[str, str]] = []
    for key, value in spec.base.items():
        for item in value if isinstance(value, list) else [value]:
            pairs.append((key, _enc(_query_value(item))))
    fields = [f for f in spec.message.fields] if spec.message else []
    for _ in range(draw(st.integers(1, 3))):
        op = draw(st.sampled_from(["replace", "repeat", "add", "remove", "alias", "bare", "raw"]))
        if op == "replace" and pairs:
            i = draw(st.integers(0, len(pairs) - 1))
            key = pairs[i][0]
            value = _enc(draw(st.sampled_from(_pool(spec.ids[key])))) if key in spec.ids \
                else draw(QUERY_VALUES)
            pairs[i] = (key, value)
        elif op == "repeat" and pairs:
            key, value = draw(st.sampled_from(pairs))
            choices = _pool(spec.ids[key]) if key in spec.ids else ("1", "x", "", "-1")
            other = _enc(draw(st.sampled_from(choices)))
            pairs.insert(draw(st.integers(0, len(pairs))), (key, other))
        elif op == "remove" and pairs:
            pairs.pop(draw(st.integers(0, len(pairs) - 1)))
        elif op == "alias" and fields:
            f = draw(st.sampled_from(fields))
            if f.name not in spec.ids:
                pairs.append((f.json_name, draw(QUERY_VALUES)))
        elif op == "bare":
            pairs.append((draw(st.sampled_from([f.name for f in fields] + ["x", ""])), None))
        elif op == "raw":
            pairs.append((draw(st.sampled_from(["%zz", "%ff", "run_id%00", "a%", "[x]", "metric%5Fkey"])),
                          draw(QUERY_VALUES)))
        else:
            key = draw(st.sampled_from([f.name for f in fields if f.name not in spec.ids] or ["x"]))
            pairs.append((key, draw(QUERY_VALUES)))
    sep = draw(st.sampled_from(["&", "&", ";", "&&"]))
    query = sep.join(k if v is None else f"{k}={v}" for k, v in pairs)
    with_body = draw(st.integers(0, 4)) == 0
    body = dumps(obj(spec.base)).encode() if with_body and spec.base else None
    if "GET" not in spec.methods:  # a raw upload whose parameters travel in the query
        return BadRequest(spec.methods[0], url, query=query, body=spec.raw_body, group="query", touches=_touches(spec))
    return BadRequest("GET", url, query=query, body=body, headers=JSON if body else (), group="query", touches=_touches(spec))


# -- path parameters: artifact paths, logged-model ids, tag keys ------------------------------

#: Path segments as they go on the wire (already percent-encoded where they must be).
SEGMENTS = st.sampled_from([
    "..", ".", "", "%2e%2e", "%2E%2E", ".%2e", "%2F", "a%2Fb", "a%5Cb", "%5C", "..%5Cx", "C:",
    "c:%5Cx", "%00", "~", "%C3%A9", "%ff", "%ed%a0%80", "x;y", "%23", "%3F", "%20", "%25", "%",
    "%zz", "f.txt", "d", "g.bin", "MLmodel", ".artifact.uploading.x", "a" * 300, "b" * 5000,
    "${a}", "%24%7Ba%7D", "tags", "artifacts", "files", "\\",
])
ARTIFACT_PREFIX = st.sampled_from(["${a}/", "${a}/", "${a}/d/", "${a}//", "", "/", "//"])
#: the path fields of the artifact routes whose values are artifact paths
PATH_FIELDS = ("path", "artifact_file_path", "artifact_directory_path")


@st.composite
def artifact_path(draw: st.DrawFn, writes: bool) -> str:
    """An odd relative path; below this session's directory wherever it could write."""
    prefix = "${a}/" if writes else draw(ARTIFACT_PREFIX)
    return prefix + "/".join(draw(st.lists(SEGMENTS, min_size=1, max_size=4)))


def _model_id_segment(value: str) -> str:
    return quote(value.encode("utf-8", "surrogatepass"), safe="$:{}")


@st.composite
def path_params(draw: st.DrawFn, specs: tuple[RouteSpec, ...]) -> BadRequest:
    """Traversal, encoded separators, backslashes, empty segments, huge or unknown ids in the
    path parameters (and path-valued query fields) of the model routes."""
    spec = draw(st.sampled_from(specs))
    url = draw(st.sampled_from(spec.urls()))
    method = draw(st.sampled_from(spec.methods))
    writes = method in ("PUT", "DELETE", "POST", "PATCH")
    in_query = method == "GET" or spec.message is None
    pairs = [(k, str(v)) for k, v in spec.base.items() if not isinstance(v, list)] if in_query else []
    where = [name for name, present in (
        ("url-path", "${a}/" in url), ("model-id", "/logged-models/${" in url),
        ("tag-key", "/tags/k" in url), ("query-path", any(k in PATH_FIELDS for k, _ in pairs)),
        ("genai-id", any(key in url for key in PATH_POOLS)),
    ) if present]
    choice = draw(st.sampled_from(where or ["query-path"]))
    raw_field = None
    if choice == "url-path":
        head, _, _ = url.partition("${a}/")
        url = head + draw(artifact_path(writes))
    elif choice == "model-id":
        value = draw(st.one_of(st.sampled_from(LOGGED_MODEL_IDS).map(_model_id_segment), SEGMENTS))
        for key in ("${m}", "${n}"):
            url = url.replace("/logged-models/" + key, "/logged-models/" + value, 1)
    elif choice == "genai-id":
        # a trace, assessment or dataset id in the path: from its pool (percent-encoded), or odd
        key = draw(st.sampled_from([key for key in PATH_POOLS if key in url]))
        value = draw(st.one_of(st.sampled_from(PATH_POOLS[key]).map(_model_id_segment), SEGMENTS))
        url = url.replace(key, value, 1)
    elif choice == "tag-key":
        url = url.replace("/tags/k", "/tags/" + draw(SEGMENTS), 1)
    else:
        raw_field = next((k for k, _ in pairs if k in PATH_FIELDS), "path")
        value = draw(artifact_path(writes))
        pairs = [(k, v) for k, v in pairs if k != raw_field] + [(raw_field, value)]
    query = "&".join(f"{k}={v if k == raw_field else _enc(v)}" for k, v in pairs)
    body: bytes | None = None
    headers: tuple[tuple[str, str], ...] = ()
    if spec.raw_body is not None and method in ("PUT", "POST"):
        body = spec.raw_body
    elif spec.message is not None and method != "GET":
        body, headers = dumps(obj(spec.base)).encode(), JSON
    return BadRequest(method, url, query=query, body=body, headers=headers + _headers(spec), group="paths",
                      touches=_touches(spec))
