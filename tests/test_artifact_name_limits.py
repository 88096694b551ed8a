"""Names longer than NAME_MAX (255 bytes) in artifact paths, as MLflow's disk answers them.

MLflow stats or creates the path on its local disk: Linux walks it component by component and
fails with ENAMETOOLONG (MLflow: a bare 500) at a name over 255 bytes, unless the walk ended
quietly before it at a missing entry or a file (then: not found). Uploads create their
directories first, so any long name in an upload's path fails. Checked against MLflow 3.17.2.
A refused upload leaves the store as it was.
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from werkzeug.test import Client

import fakeflow
from fakeflow.state.artifacts import NAME_MAX, ArtifactStore

LONG = "q" * (NAME_MAX + 1)
PROXY = "/api/2.0/mlflow-artifacts/artifacts"


def _store() -> ArtifactStore:
    store = ArtifactStore()
    store.put("a/f.txt", b"x")
    return store


@given(st.integers(NAME_MAX - 2, NAME_MAX + 2), st.sampled_from(["é", "q"]))
def test_the_limit_is_in_bytes(length: int, char: str) -> None:
    name = char * (length // len(char.encode()))
    assert _store().reaches_long_name(name) == (len(name.encode()) > NAME_MAX)


def test_the_walk_stops_quietly_at_a_missing_entry_or_a_file() -> None:
    store = _store()
    assert store.reaches_long_name(LONG)
    assert store.reaches_long_name(f"a/{LONG}")
    assert store.reaches_long_name(f"a/{LONG}/x")
    assert not store.reaches_long_name(f"nope/{LONG}")  # ENOENT first
    assert not store.reaches_long_name(f"a/f.txt/{LONG}")  # ENOTDIR first
    assert not store.reaches_long_name("a/" + "q" * NAME_MAX)


def test_routes_answer_500_and_refused_uploads_store_nothing() -> None:
    app = fakeflow.create_app()
    client = Client(app)
    assert client.put(f"{PROXY}/a/f.txt", data=b"x").status_code == 200
    assert client.get(f"{PROXY}/{LONG}").status_code == 500
    assert client.get(f"{PROXY}/nope/{LONG}").status_code == 404
    assert client.get(PROXY, query_string={"path": f"a/{LONG}"}).status_code == 500
    assert client.get(PROXY, query_string={"path": f"nope/{LONG}"}).status_code == 200
    assert client.delete(f"{PROXY}/{LONG}").status_code == 200
    before = app.store.artifacts.items()
    for path in (f"new/{LONG}", f"{LONG}/x", f"a/{LONG}"):
        answer = client.put(f"{PROXY}/{path}", data=b"x")
        assert answer.status_code == 500 and answer.data == b"Internal Server Error"
    assert app.store.artifacts.items() == before
