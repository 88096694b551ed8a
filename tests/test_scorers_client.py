"""Registered scorers through the real client (``mlflow-skinny`` 3.17.2): a ``@scorer`` function
registered, listed, fetched (and run), versioned and deleted gives the same results against
fakeflow as against real MLflow 3.17.2.

A ``@scorer`` function is code the server would have to execute, so both a real server and its
clients refuse it unless ``MLFLOW_SERVER_ENABLE_CUSTOM_SCORERS=true`` is set: on the server to
register it, in the client process to rebuild it from what the server returns. fakeflow reads
the variable from its own process, as a real server does.
"""

from __future__ import annotations

import os
import re
import uuid
from typing import Any, Iterator

import pytest

mlflow = pytest.importorskip("mlflow")

from mlflow.genai.scorers import delete_scorer, get_scorer, list_scorers, scorer  # noqa: E402
from mlflow.tracking import MlflowClient  # noqa: E402

from tests.support.client_script import mlflow_pointed_at  # noqa: E402

ENABLE = "MLFLOW_SERVER_ENABLE_CUSTOM_SCORERS"


@scorer
def exact(outputs: Any, expectations: dict[str, Any]) -> bool:
    return outputs == expectations["expected"]


@scorer(name="exact")
def exact_ignoring_case(outputs: Any, expectations: dict[str, Any]) -> bool:
    return str(outputs).lower() == str(expectations["expected"]).lower()


def _error(call: Any) -> str:
    try:
        call()
    except Exception as error:  # the client's own exception types are part of the answer
        text = re.sub(r"experiment \d+", "experiment <id>", str(error))
        return f"{type(error).__name__}: {text}"
    return "no error"


def _versions(experiment_id: str, name: str) -> list[tuple[int, str]]:
    store = MlflowClient()._tracking_client.store
    return [(v.scorer_version, v.scorer_name) for v in store.list_scorer_versions(experiment_id, name)]


def scorer_script(uri: str) -> dict[str, Any]:
    """Register, list, get, run, version and delete a @scorer; report what the client saw."""
    out: dict[str, Any] = {}
    with mlflow_pointed_at(uri):
        experiment_id = mlflow.set_experiment(f"scorers-{uuid.uuid4().hex[:8]}").experiment_id
        first = exact.register(name="exact")
        out["registered"] = (type(first).__name__, first.name)
        second = exact_ignoring_case.register(name="exact")
        out["registered again"] = (type(second).__name__, second.name)
        out["list"] = [(type(s).__name__, s.name) for s in list_scorers()]
        latest = get_scorer(name="exact")
        out["latest says"] = (latest(outputs="A", expectations={"expected": "a"}),
                              latest(outputs="b", expectations={"expected": "a"}))
        oldest = get_scorer(name="exact", version=1)
        out["version 1 says"] = oldest(outputs="A", expectations={"expected": "a"})
        out["versions"] = _versions(experiment_id, "exact")
        delete_scorer(name="exact", version=2)
        out["after deleting version 2"] = _versions(experiment_id, "exact")
        out["missing version"] = _error(lambda: get_scorer(name="exact", version=2))
        out["delete without version"] = _error(lambda: delete_scorer(name="exact"))
        delete_scorer(name="exact", version="all")
        out["list after delete"] = list_scorers()
        out["get after delete"] = _error(lambda: get_scorer(name="exact"))
    return out


def test_a_scorer_function_is_refused_by_default(reference_server: Any, fakeflow_server: Any,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENABLE, raising=False)
    seen = []
    for url in (reference_server.url, fakeflow_server.url):
        with mlflow_pointed_at(url):
            mlflow.set_experiment(f"refused-{uuid.uuid4().hex[:8]}")
            seen.append(_error(lambda: exact.register(name="exact")))
    assert seen[0] == seen[1]
    assert "MLFLOW_SERVER_ENABLE_CUSTOM_SCORERS" in seen[0]


@pytest.fixture(scope="module")
def enabled_servers(reference_server: Any) -> Iterator[tuple[str, str]]:
    """A real MLflow started with custom scorers enabled, and fakeflow in this process."""
    from conformance.reference_server import start_reference_server

    import fakeflow
    from fakeflow.server import ThreadedServer

    before = os.environ.get(ENABLE)
    os.environ[ENABLE] = "true"
    real = fake = None
    try:
        real = start_reference_server()
        fake = ThreadedServer(fakeflow.create_app(), port=0).start()
        yield real.url, fake.url
    finally:
        if fake is not None:
            fake.stop()
        if real is not None:
            real.stop()
        if before is None:
            os.environ.pop(ENABLE, None)
        else:
            os.environ[ENABLE] = before


def test_registered_scorer_lifecycle_matches_real_mlflow(enabled_servers: tuple[str, str]) -> None:
    real_url, fake_url = enabled_servers
    expected = scorer_script(real_url)
    assert expected["latest says"] == (True, False)  # the second version replaced the first
    assert scorer_script(fake_url) == expected
