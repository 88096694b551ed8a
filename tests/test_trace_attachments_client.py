"""Trace attachments end to end, against real MLflow 3.17.2 and fakeflow.

* Traced code whose spans take and return ``mlflow.Attachment`` values runs through the real
  MLflow client against both servers; what MLflow's UI then downloads with
  ``get-trace-artifact?request_id=&path=<uuid>`` (status, bytes, the download headers, a byte
  range) and the trace data it reads must be the same.
* Hypothesis draws ``path=`` strings (UUID look-alikes, traversal, percent-encoding, ``#``,
  control characters, absolute and ``file:`` paths) and sends each to both servers: the status
  and the error body must agree. ``FAKEFLOW_ATTACHMENT_PATH_EXAMPLES`` sets the number of
  examples (default 60); ``FAKEFLOW_ATTACHMENT_PATH_RANDOM=1`` draws fresh random ones.
* ``fakeflow.traces`` with ``Span.attachments`` and ``fakeflow.attachment(ref)`` in a test
  suite run through pytester, on the fake and against the real server.
"""

from __future__ import annotations

import os
import re
import uuid
from typing import Any

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.differential.harness import new_suffix
from tests.support.client_script import mlflow_pointed_at
from tests.test_client_parity import quick_client  # noqa: F401  (fixture)

pytest.importorskip("mlflow", reason="the real MLflow client (mlflow-skinny 3.17.2) is not installed")
# Imported out here: pytester drops modules first imported inside an inline run.
import mlflow.tracing.attachments  # noqa: E402,F401
import mlflow.tracing.fluent  # noqa: E402,F401
import opentelemetry.proto.collector.trace.v1.trace_service_pb2  # noqa: E402,F401

pytest_plugins = ("pytester",)

EXAMPLES = int(os.environ.get("FAKEFLOW_ATTACHMENT_PATH_EXAMPLES", "60"))
RANDOM = os.environ.get("FAKEFLOW_ATTACHMENT_PATH_RANDOM") == "1"
ROUTE = "/ajax-api/2.0/mlflow/get-trace-artifact"
HEADERS = ("content-type", "content-disposition", "content-length", "content-range",
           "accept-ranges", "x-content-type-options")
PICTURE = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
_REF = re.compile(r"mlflow-attachment://([0-9a-f-]{36})\?content_type=([^&]+)&trace_id=tr-[0-9a-f]{32}"
                  r"&size=(\d+)")


def _download(base: str, trace_id: str, path: str | None, api: str = "2.0",
              headers: dict[str, str] | None = None) -> dict[str, Any]:
    query = {"request_id": trace_id} if path is None else {"request_id": trace_id, "path": path}
    answer = requests.get(f"{base}/ajax-api/{api}/mlflow/get-trace-artifact", params=query,
                          headers=headers, timeout=30)
    kept = {name: answer.headers.get(name) for name in HEADERS}
    body = answer.content
    if path is not None:  # the attachment's name is its random id
        kept["content-disposition"] = (kept["content-disposition"] or "").replace(path, "<id>")
        if answer.status_code >= 400:
            body = body.replace(path.encode(), b"<id>")
    return {"status": answer.status_code, "headers": kept, "body": body}


def attachment_script(uri: str) -> dict[str, Any]:
    """Traced code with attachments in and out, then everything the UI would download."""
    import mlflow
    from mlflow.tracing.attachments import Attachment

    @mlflow.trace(span_type="LLM")
    def describe(picture: Attachment, notes: list[Any]) -> dict[str, Any]:
        return {"caption": "a square",
                "thumbnail": Attachment(content_type="image/jpeg", content_bytes=b"\xff\xd8jpeg")}

    out: dict[str, Any] = {}
    with mlflow_pointed_at(uri):
        mlflow.set_experiment(f"attachments-{new_suffix()}")
        describe(Attachment(content_type="image/png", content_bytes=PICTURE),
                 ["text", Attachment(content_type="text/plain", content_bytes=b"")])
        trace_id = mlflow.get_last_active_trace_id()
        mlflow.flush_trace_async_logging()
        span = mlflow.get_trace(trace_id).data.spans[0]
    refs = _REF.findall(str(span.inputs)) + _REF.findall(str(span.outputs))
    out["refs"] = [(content_type, size) for _, content_type, size in refs]
    out["inputs"] = _REF.sub("<ref>", str(span.inputs))
    out["outputs"] = _REF.sub("<ref>", str(span.outputs))
    for index, (attachment_id, _, _) in enumerate(refs):
        for api in ("2.0", "3.0"):
            out[f"file{index}-{api}"] = _download(uri, trace_id, attachment_id, api)
        out[f"range{index}"] = _download(uri, trace_id, attachment_id,
                                         headers={"Range": "bytes=2-9"})
    out["bytes"] = [_download(uri, trace_id, a)["body"] for a, _, _ in refs]
    out["missing"] = _download(uri, trace_id, str(uuid.UUID(int=7)))
    out["upper"] = _download(uri, trace_id, refs[0][0].upper())
    data = _download(uri, trace_id, None)
    out["data_status"], out["data_headers"] = data["status"], data["headers"]
    out["data_has_refs"] = data["body"].count(b"mlflow-attachment://")
    return out


def test_the_ui_downloads_the_same_attachments(
    quick_client: None, reference_server: Any, fakeflow_server: Any,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MLFLOW_ENABLE_ASYNC_TRACE_LOGGING", "false")
    real = attachment_script(reference_server.url)
    fake = attachment_script(fakeflow_server.url)
    assert fake == real
    # anchors that do not depend on the reference server
    assert fake["refs"] == [("image%2Fpng", str(len(PICTURE))), ("text%2Fplain", "0"),
                            ("image%2Fjpeg", "6")]
    assert fake["bytes"] == [PICTURE, b"", b"\xff\xd8jpeg"]
    assert fake["file0-2.0"]["headers"]["content-type"] == "application/octet-stream"
    assert fake["file0-2.0"]["headers"]["content-disposition"] == "attachment; filename=<id>"
    assert fake["range0"]["status"] == 206 and fake["range0"]["body"] == PICTURE[2:10]
    assert fake["missing"]["status"] == 404 and fake["upper"]["status"] == 400
    assert fake["data_status"] == 200 and fake["data_has_refs"] == 3


# ---- path strings drawn by Hypothesis, sent to both servers ----------------------------------

GOOD = "6f1c2b7e-3d4a-4c5b-9e8f-0a1b2c3d4e5f"


def _seed(base: str, trace_id: str) -> None:
    """A trace with one attachment (``GOOD``) and one directory where an attachment would be."""
    session = requests.Session()
    experiment = session.post(f"{base}/api/2.0/mlflow/experiments/create",
                              json={"name": f"paths-{trace_id}"}, timeout=30).json()
    exp = experiment["experiment_id"]
    session.post(f"{base}/api/3.0/mlflow/traces", timeout=30, json={"trace": {"trace_info": {
        "trace_id": trace_id, "request_time": "2023-11-14T22:13:20.000Z", "state": "OK",
        "trace_location": {"type": "MLFLOW_EXPERIMENT",
                           "mlflow_experiment": {"experiment_id": exp}}}}}).raise_for_status()
    root = f"{base}/api/2.0/mlflow-artifacts/artifacts/{exp}/traces/{trace_id}/artifacts"
    session.put(f"{root}/attachments/{GOOD}", data=b"good", timeout=30).raise_for_status()
    session.put(f"{root}/attachments/{uuid.UUID(int=1)}/x", data=b"d", timeout=30).raise_for_status()


@pytest.fixture(scope="module")
def seeded(reference_server: Any, fakeflow_server: Any) -> tuple[str, list[str]]:
    trace_id = f"tr-paths-{new_suffix()}"
    bases = [reference_server.url, fakeflow_server.url]
    for base in bases:
        _seed(base, trace_id)
    return trace_id, bases


_PIECES = st.sampled_from([
    GOOD, GOOD.upper(), GOOD.replace("-", ""), str(uuid.UUID(int=1)), str(uuid.UUID(int=2)),
    "..", ".", "/", "//", "%2e", "%2E%2e", "%2f", "%252e", "%25", "#", "%23", "\\", "C:", "c:\\",
    "file:", "file://", "urn:uuid:", "{", "}", " ", "\t", "\x00", "\x7f", "%00", "a", "é", "?",
    "&", "=", ";", "attachments/", "-", "0",
])
PATHS = st.one_of(
    st.lists(_PIECES, min_size=1, max_size=5).map("".join),
    st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40),
    st.uuids().map(str),
    st.builds(lambda depth, tail: "%" + "25" * depth + tail, st.integers(0, 12),
              st.sampled_from(["2e%2e", "23", "2f", "41" + GOOD[1:]])),
)


def _answer(base: str, trace_id: str, path: str) -> tuple[int, Any]:
    answer = requests.get(base + ROUTE, params={"request_id": trace_id, "path": path}, timeout=30)
    if answer.headers.get("Content-Type", "").startswith("application/json"):
        return answer.status_code, answer.json()
    return answer.status_code, (answer.headers.get("Content-Type"), answer.content)


@settings(max_examples=EXAMPLES, deadline=None, derandomize=not RANDOM, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(path=PATHS)
def test_attachment_paths_are_judged_alike(seeded: tuple[str, list[str]], path: str) -> None:
    trace_id, (real, fake) = seeded
    assert _answer(fake, trace_id, path) == _answer(real, trace_id, path), path


# ---- the pytest plugin: Span.attachments and fakeflow.attachment(ref) ------------------------

SUITE = '''
import mlflow
import pytest
from mlflow.tracing.attachments import Attachment
from pytest_plugin.rest import RestError

PICTURE = b"\\x89PNG" + bytes(range(200))


@mlflow.trace
def describe(picture, question):
    return {"answer": "square", "crop": Attachment(content_type="image/png", content_bytes=b"c")}


def test_attachments_read_back(fakeflow):
    describe(Attachment(content_type="image/png", content_bytes=PICTURE), "what?")
    span = fakeflow.traces.one().span("describe")
    picture, crop = span.attachments
    assert (picture.content_type, picture.size) == ("image/png", len(PICTURE))
    assert fakeflow.attachment(picture) == PICTURE
    assert fakeflow.attachment(crop.uri) == b"c"
    assert fakeflow.attachment(crop.attachment_id, trace_id=crop.trace_id) == b"c"
    assert span.inputs["question"] == "what?"


def test_a_missing_attachment_raises(fakeflow):
    describe(Attachment(content_type="image/png", content_bytes=b"x"), "q")
    trace = fakeflow.traces.one()
    with pytest.raises(RestError) as raised:
        fakeflow.attachment("00000000-0000-0000-0000-000000000000", trace_id=trace.trace_id)
    assert raised.value.status == 404
    with pytest.raises(RestError) as raised:
        fakeflow.attachment("NOT-A-UUID", trace_id=trace.trace_id)
    assert raised.value.error_code == "INVALID_PARAMETER_VALUE"
'''
QUIET = ("-p", "no:cacheprovider", "-p", "no:unraisableexception", "-p", "no:hypothesispytest",
         "-p", "no:anyio", "-p", "no:xdist", "-p", "no:xdist.looponfail")


@pytest.fixture
def _plugin_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("FAKEFLOW_TRANSPORT", "FAKEFLOW_TARGET", "FAKEFLOW_SEED", "FAKEFLOW_RESET",
                 "MLFLOW_TRACKING_URI", "MLFLOW_EXPERIMENT_ID", "MLFLOW_EXPERIMENT_NAME",
                 "MLFLOW_RUN_ID", "MLFLOW_ENABLE_ASYNC_TRACE_LOGGING"):
        monkeypatch.delenv(name, raising=False)


def test_plugin_reads_attachments_on_the_fake(_plugin_env: None,
                                             pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_attached=SUITE)
    pytester.runpytest_inprocess(*QUIET, "-q").assert_outcomes(passed=2)


def test_plugin_reads_attachments_on_a_real_server(_plugin_env: None, pytester: pytest.Pytester,
                                                   reference_server: Any) -> None:
    pytester.makepyfile(test_attached=SUITE)
    result = pytester.runpytest_inprocess(*QUIET, "-q", "--fakeflow-target", reference_server.url)
    result.assert_outcomes(passed=2)
