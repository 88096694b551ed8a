"""Trace files in the artifact store, served by ``get-trace-artifact``: attachments
(``&path=<uuid>``, uploaded as ``attachments/<uuid>`` under the trace's artifact location through
the ``mlflow-artifacts`` proxy, as MLflow's client does) and the ``traces.json`` read from there
for a trace whose spans are not in the tracking store (a v2-started or a span-less v3 trace).

Uploads name the store path ``<experiment id>/traces/<trace id>/artifacts/...``; each side
fills in its own experiment id. A file's bytes and its download headers are compared exactly.
"""

from __future__ import annotations

import json
from typing import Any

from ..model import Step, case, post
from .common import new_experiment
from .traces import NS, V2, V3, otlp, patch, span, start

GTA = "/ajax-api/2.0/mlflow/get-trace-artifact"
GTA3 = "/ajax-api/3.0/mlflow/get-trace-artifact"
FILES = "/api/2.0/mlflow-artifacts/artifacts"
DOWNLOAD_HEADERS = ("content-type", "content-disposition", "content-length", "content-range",
                    "accept-ranges", "x-content-type-options")
OCTETS = "application/octet-stream"
U1 = "6f1c2b7e-3d4a-4c5b-9e8f-0a1b2c3d4e5f"
U2 = "0e9d8c7b-6a5f-4e3d-8c2b-1a0f9e8d7c6b"
U3 = "11111111-2222-3333-4444-555555555555"
U4 = "00000000-0000-0000-0000-000000000000"
PNG = "\u0089PNG\r\n\u001a\n" + "".join(chr(i) for i in range(32, 127))
TG = "1a" * 16  # this module's own OTel trace id (one server serves every case)
LOCATION = "mlflow.artifactLocation"


def trace_dir(trace_id: str, exp: str = "${e1}") -> str:
    return f"{exp}/traces/{trace_id}/artifacts"


def put(path: str, data: str, **kw: Any) -> Step:
    return Step("PUT", f"{FILES}/{path}", data=data, content_type=OCTETS, **kw)


def attachment(trace_id: str, path: Any, base: str = GTA, method: str = "GET", **kw: Any) -> Step:
    query = {"request_id": trace_id} if path is None else {"request_id": trace_id, "path": path}
    return Step(method, base, query=query, wire_headers=DOWNLOAD_HEADERS, **kw)


def trace_data(trace_id: str, base: str = GTA, **kw: Any) -> Step:
    return Step("GET", base, query={"request_id": trace_id}, wire_headers=DOWNLOAD_HEADERS, **kw)


def set_location(trace_id: str, value: str, **kw: Any) -> Step:
    return patch(f"{V2}/{trace_id}/tags", {"key": LOCATION, "value": value}, **kw)


TA = "tr-${p}-a"

#: Unusual ``path=`` values: the path rules judge them first, then the UUID rule (a ``file:``
#: prefix is taken off first, so ``file:<uuid>`` is served); the Hypothesis test in
#: tests/test_trace_attachments_client.py draws many more.
ODD_PATHS = (
    U1.upper(), U1.replace("-", ""), "{" + U1 + "}", "urn:uuid:" + U1, U1 + "/", "./" + U1,
    " " + U1, "abc", "../x", "..", "%2e%2e", "%252e%252e/x", "/etc/passwd", "C:\\x", "a#b", "#",
    "%23", "file:///etc/passwd", "file:" + U1, "attachments/" + U1, U1 + "/../" + U1, "a\u0001b",
    "%2fetc", "\u00e9",
)

CASES = [
    case(
        "trace-attachments-download",
        new_experiment("e1"),
        start(TA, execution_duration="0.010s", state="OK"),
        put(f"{trace_dir(TA)}/attachments/{U1}", PNG),
        put(f"{trace_dir(TA)}/attachments/{U2}", "hello"),
        attachment(TA, U1),
        attachment(TA, U2),
        attachment(TA, U1, base=GTA3),
        attachment(TA, U1, headers={"Range": "bytes=1-3"}, note="range"),
        attachment(TA, U2, headers={"Range": "bytes=3-"}, base=GTA3, note="open range"),
        attachment(TA, U1, method="HEAD"),
        attachment(TA, U4, note="a well-formed id with no file"),
        attachment(TA, U1, base="/api/2.0/mlflow/get-trace-artifact", note="ajax only"),
        attachment(TA, U1, base="/api/3.0/mlflow/get-trace-artifact", note="ajax only"),
        attachment(TA, U1, method="POST"),
        attachment(TA, U1, method="PUT"),
        Step("GET", GTA, query={"path": U1}, note="no request_id"),
        Step("GET", GTA, query={"request_id": "", "path": U1}),
        attachment("tr-${p}-none", U1, note="unknown trace"),
        attachment("tr-${p}-none", "../x", note="the path is checked before the trace"),
        attachment("tr-${p}-none", U1.upper(), note="and the UUID rule before the trace"),
        attachment(TA, "", note="an empty path asks for the trace data"),
        put(f"{trace_dir(TA)}/attachments/{U3}/inner", "x"),
        attachment(TA, U3, note="a directory"),
        put(f"{trace_dir(TA)}/attachments/{U2}", "hello again", note="overwrite"),
        attachment(TA, U2),
    ),
    case(
        "trace-attachments-paths",
        new_experiment("e1"),
        start(TA, state="OK"),
        put(f"{trace_dir(TA)}/attachments/{U1}", "x"),
        *(attachment(TA, path) for path in ODD_PATHS),
        *(attachment(TA, path, base=GTA3) for path in ODD_PATHS[:4]),
        Step("GET", GTA + f"?request_id={TA}&path=%2e%2e%2fx", note="raw query"),
        Step("GET", GTA + f"?request_id={TA}&path={U1}&path=abc", note="first value wins"),
        Step("GET", GTA + f"?request_id={TA}&path=abc&path={U1}"),
    ),
    case(
        "trace-attachments-artifact-location",
        new_experiment("e1"),
        start(TA, state="OK"),
        start("tr-${p}-b", state="OK"),
        put(f"{trace_dir('tr-${p}-b')}/attachments/{U2}", "from b"),
        set_location(TA, "mlflow-artifacts:/${e1}/traces/tr-${p}-b/artifacts"),
        attachment(TA, U2, note="read where the tag points"),
        set_location(TA, "mlflow-artifacts:/${e1}/traces/tr-${p}-a/../tr-${p}-b/artifacts"),
        attachment(TA, U2, note="'..' out of a directory that does not exist"),
        put(f"{trace_dir(TA)}/attachments/{U1}", "from a"),
        attachment(TA, U2, note="and once it does"),
        set_location(TA, f"mlflow-artifacts:/${{e1}}/traces/tr-${{p}}-a/artifacts/attachments/{U1}/"
                         "../../../tr-${p}-b/artifacts"),
        attachment(TA, U2, note="'..' out of a file"),
        set_location(TA, "mlflow-artifacts:/${e1}/../${e1}/traces/tr-${p}-b/artifacts"),
        attachment(TA, U2),
        set_location(TA, "mlflow-artifacts:/${e1}/traces/tr-${p}-b//./artifacts/"),
        attachment(TA, U2),
        set_location(TA, "/nonexistent-fakeflow-${p}/artifacts", note="a server-local path"),
        attachment(TA, U2),
        trace_data(TA),
        set_location(TA, "mlflow-artifacts:"),
        attachment(TA, U2, note="a proxied location naming no directory"),
        trace_data(TA),
        set_location(TA, "mlflow-artifacts:/"),
        attachment(TA, U2),
        Step("DELETE", f"{V2}/{TA}/tags", json={"key": LOCATION}),
        attachment(TA, U2, note="no location at all"),
        trace_data(TA),
        attachment(TA, "abc", note="the path is still checked first"),
        new_experiment("e2", name="${p}-local", artifact_location="/nonexistent-fakeflow-${p}"),
        post(V2, {"experiment_id": "${e2}"}, capture={"t2": "trace_info.request_id"}),
        trace_data("${t2}"),
        attachment("${t2}", U1),
    ),
    case(
        "trace-data-from-artifact-store",
        new_experiment("e1"),
        post(V2, {"experiment_id": "${e1}", "timestamp_ms": 1700000000000},
             capture={"t1": "trace_info.request_id"}),
        trace_data("${t1}", note="spans neither in the store nor in traces.json"),
        put(f"{trace_dir('${t1}')}/traces.json", '{"spans": []}'),
        trace_data("${t1}"),
        trace_data("${t1}", base=GTA3),
        trace_data("${t1}", headers={"Range": "bytes=2-6"}),
        Step("HEAD", GTA, query={"request_id": "${t1}"}, wire_headers=DOWNLOAD_HEADERS),
        put(f"{trace_dir('${t1}')}/traces.json", "not json \u00e9", note="served unparsed"),
        trace_data("${t1}"),
        put(f"{trace_dir('${t1}')}/attachments/{U1}", "att"),
        attachment("${t1}", U1, note="a v2 trace's attachment"),
        start("tr-${p}-v3", state="OK"),
        trace_data("tr-${p}-v3", note="a v3 trace without spans"),
        put(f"{trace_dir('tr-${p}-v3')}/traces.json/inner", "x"),
        trace_data("tr-${p}-v3", note="traces.json is a directory"),
        post(V2, {"experiment_id": "${e1}"}, capture={"t2": "trace_info.request_id"}),
        put(f"{trace_dir('${t2}')}/traces.json",
            json.dumps({"spans": [{"name": "kept as uploaded"}]}, indent=2)),
        trace_data("${t2}"),
        patch(f"{V2}/${{t2}}", {"timestamp_ms": 1700000001500, "status": "OK"}),
        trace_data("${t2}", note="ending the trace changes nothing"),
    ),
    case(
        "trace-data-from-tracking-store",
        new_experiment("e1"),
        otlp([
            span(TG, "00000000000001a1", "root", NS, NS + 9_000_000,
                 attributes={"mlflow.spanInputs": {"stringValue": json.dumps(
                     {"img": f"mlflow-attachment://{U1}?content_type=image%2Fpng"
                             f"&trace_id=tr-{TG}&size=3"})}}),
        ]),
        start("tr-" + TG, execution_duration="0.009s", state="OK"),
        put(f"{trace_dir('tr-' + TG)}/attachments/{U1}", "png"),
        put(f"{trace_dir('tr-' + TG)}/traces.json", '{"spans": ["ignored"]}',
            note="spans in the store win over the file"),
        trace_data("tr-" + TG),
        trace_data("tr-" + TG, headers={"Range": "bytes=0-9"}),
        Step("HEAD", GTA3, query={"request_id": "tr-" + TG}, wire_headers=DOWNLOAD_HEADERS),
        attachment("tr-" + TG, U1),
        Step("GET", f"{V3}/tr-{TG}"),
    ),
]
