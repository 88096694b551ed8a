"""The in-process short way through ``requests`` sends what ``requests`` itself would send."""

from __future__ import annotations

import requests
from hypothesis import given, settings
from hypothesis import strategies as st

from fakeflow import transport
from fakeflow.control import ControlledApp
from fakeflow.transport import shortcut

PREFIX = "http://127.0.0.1:5999"

_text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=8)
_token = st.text("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_", min_size=1,
                 max_size=10)
_path = st.lists(st.one_of(_token, st.sampled_from(["a b", "é", "%41", "x?y", "~.", ""])),
                 max_size=4).map(lambda parts: "/" + "/".join(parts))
_params = st.one_of(st.none(), st.dictionaries(_token, st.one_of(
    _text, st.integers(), st.none(), st.lists(_text, max_size=3)), max_size=3))
_headers = st.one_of(st.none(), st.dictionaries(
    st.sampled_from(["X-Test", "x-test", "Content-Type", "User-Agent", "Accept", "X-Other"]),
    st.one_of(_token, st.none()), max_size=4))
_json = st.one_of(st.none(), st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False,
              allow_infinity=False), _text),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(_text, inner,
                                                                         max_size=3)),
    max_leaves=6))
_data = st.one_of(st.none(), _text, st.binary(max_size=8), st.dictionaries(_token, _text,
                                                                          max_size=2))


@settings(max_examples=300, deadline=None)
@given(method=st.sampled_from(["GET", "post", "DELETE", "PATCH", "HEAD"]), path=_path,
       params=_params, headers=_headers, json=_json, data=_data,
       session_headers=_headers)
def test_prepares_what_requests_prepares(method, path, params, headers, json, data,
                                         session_headers):
    session = requests.Session()
    session.trust_env = False  # requests' own path would otherwise consult ~/.netrc
    if session_headers:
        session.headers.update(session_headers)
    url = PREFIX + path
    expected = session.prepare_request(requests.Request(
        method=method, url=url, params=params or {}, headers=headers, data=data or {},
        json=json))
    ours = shortcut.prepare(session, method, url, PREFIX, params, data, headers, json)
    assert (ours.method, ours.url, ours.body) == (expected.method, expected.url, expected.body)
    assert list(ours.headers.items()) == list(expected.headers.items())


def test_only_plain_calls_take_the_short_way():
    plain = requests.Session()
    assert shortcut.is_plain(plain, None, None, None, None, None)
    assert not shortcut.is_plain(plain, {"c": "1"}, None, None, None, None)
    assert not shortcut.is_plain(plain, None, {"f": b"x"}, None, None, None)
    assert not shortcut.is_plain(plain, None, None, ("u", "p"), None, None)
    assert not shortcut.is_plain(plain, None, None, None, {"response": [print]}, None)
    assert not shortcut.is_plain(plain, None, None, None, None, True)
    for change in (lambda s: setattr(s, "auth", ("u", "p")), lambda s: s.cookies.set("c", "1"),
                   lambda s: s.hooks["response"].append(print),
                   lambda s: setattr(s, "stream", True), lambda s: s.params.update(a="1")):
        session = requests.Session()
        change(session)
        assert not shortcut.is_plain(session, None, None, None, None, None)


def _redirecting_app(environ, start_response):
    if environ["PATH_INFO"] == "/old":
        start_response("302 Found", [("Location", "/new"), ("Content-Length", "0")])
        return [b""]
    body = f"{environ['REQUEST_METHOD']} {environ['PATH_INFO']}".encode()
    start_response("200 OK", [("Content-Type", "text/plain"),
                              ("Content-Length", str(len(body)))])
    return [body]


def test_redirects_are_followed_as_requests_follows_them():
    with transport.route_in_process(PREFIX, _redirecting_app):
        followed = requests.post(PREFIX + "/old", json={})
        assert (followed.status_code, followed.text) == (200, "GET /new")  # 302: POST -> GET
        assert [r.status_code for r in followed.history] == [302]
        kept = requests.post(PREFIX + "/old", json={}, allow_redirects=False)
        assert kept.status_code == 302 and kept.is_redirect
        assert kept.next is not None and kept.next.url == PREFIX + "/new"


def test_responses_carry_what_requests_gives():
    app = ControlledApp()
    with transport.route_in_process(PREFIX, app):
        answer = requests.get(PREFIX + "/api/2.0/mlflow/experiments/get",
                              params={"experiment_id": "0"})
    assert answer.ok and answer.json()["experiment"]["name"] == "Default"
    assert answer.url == PREFIX + "/api/2.0/mlflow/experiments/get?experiment_id=0"
    assert answer.encoding == "utf-8" and answer.elapsed.total_seconds() >= 0
    assert answer.request.method == "GET" and answer.history == []
    assert answer.raw.status == 200 and answer.raw.read() == answer.content  # built on demand
    assert b"".join(answer.iter_content(3)) == answer.content


def test_calls_with_cookies_take_requests_own_path_and_still_arrive():
    app = ControlledApp()
    with transport.route_in_process(PREFIX, app):
        session = requests.Session()
        session.cookies.set("flavour", "oat")
        assert session.get(PREFIX + "/health").text == "OK"
        assert requests.get(PREFIX + "/health", cookies={"a": "b"}).text == "OK"
    assert [entry.path for entry in app.log] == ["/health", "/health"]
