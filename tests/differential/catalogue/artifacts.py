"""Artifacts: the mlflow-artifacts proxy (upload, download, listing, delete, multipart and
presigned refusals), run artifact listings, the UI's download/upload routes, and MLflow's path
rules (percent-encoded, absolute, backslash, '#', empty and doubled segments) on each of them.

Runs live in the Default experiment ("0", the same id on both sides), so the store paths
``0/<run>/artifacts/...`` are one request on both servers; run ids are normalised in messages.
A file's bytes are compared exactly (non-JSON 2xx bodies), as are the download headers.
"""

from __future__ import annotations

from typing import Any

from ..model import NO_BODY, Step, case, get, post
from .common import new_experiment

MA, MA_AJAX = "/api/2.0/mlflow-artifacts", "/ajax-api/2.0/mlflow-artifacts"
FILES = MA + "/artifacts"
RUN_DIR = "0/${r}/artifacts"
DOWNLOAD_HEADERS = ("content-type", "content-disposition", "content-length")
OCTETS = "application/octet-stream"


def new_run(var: str = "r") -> Step:
    return post("runs/create", {"experiment_id": "0"}, capture={var: "run.info.run_id"})


def put(path: str, data: str, base: str = FILES, **kw: Any) -> Step:
    return Step("PUT", f"{base}/{path}", data=data, content_type=OCTETS, **kw)


def fetch(path: str, base: str = FILES, **kw: Any) -> Step:
    return Step("GET", f"{base}/{path}", wire_headers=DOWNLOAD_HEADERS, **kw)


def send(method: str, path: str, **kw: Any) -> Step:
    return Step(method, path, **kw)


def listing(path: str | None, base: str = MA, **kw: Any) -> Step:
    return Step("GET", base + "/artifacts", query=None if path is None else {"path": path}, **kw)


def run_list(**query: str) -> Step:
    return get("artifacts/list", query)


def ui_get(**query: str) -> Step:
    return Step("GET", "/get-artifact", query=query, wire_headers=DOWNLOAD_HEADERS)


def mv_get(**query: str) -> Step:
    return Step("GET", "/model-versions/get-artifact", query=query, wire_headers=DOWNLOAD_HEADERS)


def ui_upload(data: str | None, **query: str) -> Step:
    return Step("POST", "/ajax-api/2.0/mlflow/upload-artifact", query=query, data=data,
                content_type=OCTETS)


CASES = [
    case(
        "artifacts-upload-download-list",
        new_run(),
        put(f"{RUN_DIR}/hello.txt", "hello"),
        put(f"{RUN_DIR}/conf/nested/params.json", '{"lr": 0.1}'),
        put(f"{RUN_DIR}/conf/model.yaml", "a: 1\n"),
        put(f"{RUN_DIR}/empty.bin", ""),
        put(f"{RUN_DIR}/picture.png", "\u0089PNG\r\n"),
        put(f"{RUN_DIR}/%E6%97%A5%E6%9C%AC%E8%AA%9E.txt", "\u65e5\u672c"),
        put(f"{RUN_DIR}/with%20space.csv", "a,b\n1,2\n"),
        put(f"{RUN_DIR}/no_extension", "raw"),
        put(f"{RUN_DIR}/MLmodel", "flavors: {}\n"),
        put(f"{RUN_DIR}/hello.txt", "hello again", note="overwrite"),
        fetch(f"{RUN_DIR}/hello.txt"),
        fetch(f"{RUN_DIR}/conf/nested/params.json"),
        fetch(f"{RUN_DIR}/conf/model.yaml"),
        fetch(f"{RUN_DIR}/empty.bin"),
        fetch(f"{RUN_DIR}/picture.png"),
        fetch(f"{RUN_DIR}/%E6%97%A5%E6%9C%AC%E8%AA%9E.txt"),
        fetch(f"{RUN_DIR}/with%20space.csv"),
        fetch(f"{RUN_DIR}/no_extension"),
        fetch(f"{RUN_DIR}/MLmodel"),
        fetch(f"{RUN_DIR}/hello.txt", base=MA_AJAX + "/artifacts"),
        fetch(f"{RUN_DIR}/hello.txt", headers={"Range": "bytes=1-3"}, note="range"),
        listing(RUN_DIR),
        listing(RUN_DIR + "/"),
        listing(RUN_DIR + "/conf"),
        listing("0/${r}//artifacts//conf"),
        listing(RUN_DIR + "/conf/nested/params.json", note="a file lists empty"),
        listing(RUN_DIR + "/missing"),
        listing(RUN_DIR + "/conf", base=MA_AJAX),
        run_list(run_id="${r}"),
        run_list(run_id="${r}", path="conf"),
        run_list(run_id="${r}", path="conf/"),
        run_list(run_id="${r}", path="conf/nested"),
        run_list(run_id="${r}", path="hello.txt"),
        run_list(run_id="${r}", path="missing"),
        run_list(run_id="${r}", path=""),
        run_list(run_uuid="${r}"),
        run_list(run_id="${r}", page_token="anything"),
        Step("GET", "/ajax-api/2.0/mlflow/artifacts/list", query={"run_id": "${r}", "path": "conf"}),
        ui_get(run_id="${r}", path="hello.txt"),
        ui_get(run_id="${r}", path="conf/nested/params.json"),
        ui_get(run_uuid="${r}", path="picture.png"),
        ui_get(run_id="${r}", path="\u65e5\u672c\u8a9e.txt"),
        Step("GET", "/get-artifact", query={"run_id": "${r}", "path": "hello.txt"},
             headers={"Range": "bytes=2-"}, note="range"),
        Step("HEAD", f"{FILES}/{RUN_DIR}/hello.txt", wire_headers=("content-type", "content-disposition")),
        Step("HEAD", f"{FILES}/{RUN_DIR}/missing.txt"),
        Step("HEAD", f"{FILES}/{RUN_DIR}/conf"),
    ),
    case(
        "artifacts-run-listing-errors",
        new_run(),
        run_list(),
        run_list(run_id="does-not-exist"),
        run_list(run_id="${r}", path="../x"),
        run_list(run_id="${r}", path="%2e%2e"),
        run_list(run_id="${r}", path="/etc"),
        run_list(run_id="${r}", path="C:\\x"),
        run_list(run_id="${r}", path="a#b"),
        run_list(run_id="does-not-exist", path="../x", note="path checked before the run"),
        run_list(run_id="${r}", path="nothing/here"),
        send("POST", "/api/2.0/mlflow/artifacts/list", json={"run_id": "${r}"}),
        send("PUT", "/api/2.0/mlflow/artifacts/list", json={"run_id": "${r}"}),
    ),
    case(
        "artifacts-path-rules-on-upload",
        new_run(),
        put(f"{RUN_DIR}/%2e%2e/x", "x"),
        put(f"{RUN_DIR}/%2E%2E/x", "x"),
        put(f"{RUN_DIR}/..%2fx", "x"),
        put(f"{RUN_DIR}/%252e%252e/x", "x"),
        put("%2fetc/passwd", "x"),
        put("/etc/passwd", "x", note="FastAPI's path keeps the leading '/'"),
        put("C:/windows/x", "x"),
        put(f"{RUN_DIR}/h%23x", "x"),
        put("file:///etc/x", "x"),
        put(f"{RUN_DIR}/%2e/y", "x", note="a directory that normalises away: 500"),
        put(f"{RUN_DIR}//dd//e.txt", "x"),
        put(f"{RUN_DIR}/dir/", "x"),
        put("", "x", note="empty path"),
        put(f"{RUN_DIR}/.artifact.uploading.z", "x"),
        put(f"{RUN_DIR}/back%5cslash.txt", "b"),
        put(f"{RUN_DIR}/ctl%01x.txt", "c"),
        put(f"{RUN_DIR}/q%3Fmark.txt", "q"),
        listing(RUN_DIR),
        fetch(f"{RUN_DIR}/back%5cslash.txt"),
        run_list(run_id="${r}"),
        put(f"{RUN_DIR}/back%5cslash.txt", "b", base=MA_AJAX + "/artifacts"),
        put(f"{RUN_DIR}/%2e%2e/x", "x", base=MA_AJAX + "/artifacts"),
    ),
    case(
        "artifacts-path-rules-on-download",
        new_run(),
        put(f"{RUN_DIR}/d/f.txt", "f"),
        fetch(f"{RUN_DIR}/%2e%2e/x"),
        fetch(f"{RUN_DIR}/..%2f..%2fx"),
        fetch("%2fetc/passwd"),
        fetch("/etc/passwd"),
        fetch("C:/x"),
        fetch(f"{RUN_DIR}/a%23b"),
        fetch(f"{RUN_DIR}/d"),
        fetch(f"{RUN_DIR}/d/"),
        fetch(f"{RUN_DIR}//d//f.txt"),
        fetch(f"{RUN_DIR}/d/f.txt/"),
        fetch(f"{RUN_DIR}/missing.txt"),
        fetch(""),
        listing("../x"),
        listing("%2e%2e/x"),
        listing("/etc"),
        listing("a#b"),
        listing(RUN_DIR + "/d/f.txt"),
        ui_get(run_id="${r}", path="../x"),
        ui_get(run_id="${r}", path="/etc/passwd"),
        ui_get(run_id="${r}", path="..%2fx"),
        ui_get(run_id="${r}", path="a%5cb"),
        ui_get(run_id="${r}", path="d"),
        ui_get(run_id="${r}", path=""),
        ui_get(run_id="${r}", path="missing"),
        ui_get(run_id="${r}", path="d/f.txt"),
        ui_get(run_id="${r}"),
        ui_get(path="d/f.txt"),
        ui_get(run_id="does-not-exist", path="d/f.txt"),
        ui_get(run_id="does-not-exist", path="../x"),
    ),
    case(
        "artifacts-delete",
        new_run(),
        put(f"{RUN_DIR}/keep.txt", "k"),
        put(f"{RUN_DIR}/gone.txt", "g"),
        put(f"{RUN_DIR}/tree/a/b.txt", "b"),
        put(f"{RUN_DIR}/tree/c.txt", "c"),
        send("DELETE", f"{FILES}/{RUN_DIR}/gone.txt"),
        send("DELETE", f"{FILES}/{RUN_DIR}/gone.txt", note="again: still 200"),
        listing(RUN_DIR),
        send("DELETE", f"{FILES}/{RUN_DIR}/tree/a/b.txt"),
        listing(RUN_DIR + "/tree", note="the emptied directory stays"),
        send("DELETE", f"{FILES}/{RUN_DIR}/tree/"),
        listing(RUN_DIR),
        run_list(run_id="${r}"),
        send("DELETE", f"{FILES}/{RUN_DIR}/keep.txt/", note="a file with a trailing slash"),
        fetch(f"{RUN_DIR}/keep.txt"),
        send("DELETE", f"{FILES}/{RUN_DIR}/%2e%2e/x"),
        send("DELETE", f"{FILES}/{RUN_DIR}/a%23b"),
        send("DELETE", FILES + "/"),
        send("DELETE", f"{MA_AJAX}/artifacts/{RUN_DIR}/keep.txt"),
        listing(RUN_DIR),
        post("runs/delete", {"run_id": "${r}"}),
        listing(RUN_DIR, note="deleting a run leaves its artifacts"),
        fetch(f"{RUN_DIR}/keep.txt"),
    ),
    case(
        "artifacts-wrong-methods",
        new_run(),
        send("POST", f"{FILES}/{RUN_DIR}/a.txt", data="x", content_type=OCTETS),
        send("PATCH", f"{FILES}/{RUN_DIR}/a.txt"),
        send("POST", FILES, query={"path": RUN_DIR}),
        send("PUT", FILES, data="x", content_type=OCTETS),
        send("DELETE", FILES),
        send("GET", MA + "/mpu/create/" + RUN_DIR + "/big.bin"),
        send("PUT", MA + "/mpu/complete/" + RUN_DIR + "/big.bin", json={}),
        send("POST", MA + "/presigned/" + RUN_DIR + "/a.txt"),
        send("POST", MA + "/mpu/create", json={"path": "x"}),
        send("GET", MA + "/presigned/"),
        send("POST", "/get-artifact", query={"run_id": "${r}", "path": "a.txt"}),
        send("GET", "/ajax-api/2.0/mlflow/upload-artifact", query={"run_uuid": "${r}", "path": "x"}),
        send("POST", "/api/2.0/mlflow/upload-artifact", query={"run_uuid": "${r}", "path": "x"},
             data="x", content_type=OCTETS),
        send("GET", "/ajax-api/2.0/mlflow/get-artifact", query={"run_id": "${r}", "path": "x"}),
        send("GET", MA + "/artifacts-typo"),
    ),
    case(
        "artifacts-multipart-and-presigned",
        new_run(),
        post(MA + "/mpu/create/" + RUN_DIR + "/big.bin", {"path": "big.bin", "num_parts": 2}),
        post(MA + "/mpu/create/" + RUN_DIR + "/big.bin", {}),
        post(MA + "/mpu/create/" + RUN_DIR + "/big.bin", {"path": 5}),
        post(MA + "/mpu/create/" + RUN_DIR + "/big.bin", {"path": "p", "num_parts": "two"}),
        post(MA + "/mpu/create/%2e%2e/x", {"path": "x"}),
        post(MA + "/mpu/complete/" + RUN_DIR + "/big.bin",
             {"path": "big.bin", "upload_id": "u", "parts": [{"part_number": 1, "etag": "e"}]}),
        post(MA + "/mpu/complete/" + RUN_DIR + "/big.bin", {"path": "big.bin"}),
        post(MA + "/mpu/complete/" + RUN_DIR + "/big.bin", {"parts": [], "path": "p"}),
        post(MA + "/mpu/abort/" + RUN_DIR + "/big.bin", {"path": "big.bin", "upload_id": "u"}),
        post(MA + "/mpu/abort/" + RUN_DIR + "/big.bin", {"upload_id": 5}),
        post(MA + "/mpu/abort/a%23b", {"path": "x"}),
        post(MA_AJAX + "/mpu/create/" + RUN_DIR + "/big.bin", {"path": "big.bin"}),
        get(MA + "/presigned/" + RUN_DIR + "/a.txt"),
        get(MA + "/presigned/%2e%2e/a.txt"),
        get(MA_AJAX + "/presigned/" + RUN_DIR + "/a.txt"),
    ),
    case(
        "artifacts-ui-upload",
        new_run(),
        ui_upload("uploaded", run_uuid="${r}", path="up/u.txt"),
        ui_upload("top", run_uuid="${r}", path="top.txt"),
        ui_get(run_id="${r}", path="up/u.txt"),
        ui_get(run_id="${r}", path="top.txt"),
        ui_upload(None, run_uuid="${r}", path="up/empty.txt"),
        ui_upload("x", path="x"),
        ui_upload("x", run_uuid="${r}"),
        ui_upload("x", run_uuid="", path="x"),
        ui_upload("x", run_uuid="${r}", path="../x"),
        ui_upload("x", run_uuid="${r}", path="/abs"),
        ui_upload("x", run_uuid="does-not-exist", path="x"),
        ui_upload("x", run_uuid="${r}", path="up/./x.txt"),
        ui_upload("x", run_uuid="${r}", path="up//x.txt"),
        ui_upload("x", run_uuid="${r}", path="dir-only/"),
        run_list(run_id="${r}"),
        run_list(run_id="${r}", path="up"),
    ),
    case(
        "artifacts-model-version-and-logged-model-files",
        new_run(),
        put(f"{RUN_DIR}/model/MLmodel", "flavors: {}\n"),
        put(f"{RUN_DIR}/model/data/weights.bin", "0123"),
        post("registered-models/create", {"name": "${p}"}),
        post("model-versions/create",
             {"name": "${p}", "source": "mlflow-artifacts:/0/${r}/artifacts/model", "run_id": "${r}"}),
        mv_get(name="${p}", version="1", path="MLmodel"),
        mv_get(name="${p}", version="1", path="data/weights.bin"),
        mv_get(name="${p}", version="1", path="data"),
        mv_get(name="${p}", version="1", path="nope"),
        mv_get(name="${p}", version="1", path="../x"),
        mv_get(name="${p}", version="1"),
        mv_get(name="${p}", version="9", path="MLmodel"),
        mv_get(path="MLmodel"),
        mv_get(name="${p}", path="MLmodel"),
        mv_get(name="${p}", version="x", path="a"),
        Step("POST", "/model-versions/get-artifact", json=NO_BODY),
        Step("GET", "/ajax-api/2.0/mlflow/logged-models/m-0123/artifacts/files",
             query={"artifact_file_path": "MLmodel"}),
        Step("GET", "/ajax-api/2.0/mlflow/logged-models/m-0123/artifacts/files"),
        Step("GET", "/ajax-api/2.0/mlflow/logged-models/m-0123/artifacts/files",
             query={"artifact_file_path": "../x"}),
        Step("POST", "/ajax-api/2.0/mlflow/logged-models/m-0123/artifacts/files", json={}),
    ),
    case(
        "artifacts-local-artifact-location",
        new_experiment("e", artifact_location="/tmp/fakeflow-differential-${p}"),
        post("runs/create", {"experiment_id": "${e}"}, capture={"r": "run.info.run_id"}),
        run_list(run_id="${r}"),
        ui_upload("local bytes", run_uuid="${r}", path="sub/f.txt"),
        ui_upload("top", run_uuid="${r}", path="t.txt"),
        ui_upload("x", run_uuid="${r}", path="sub/./y.txt"),
        run_list(run_id="${r}"),
        run_list(run_id="${r}", path="sub"),
        run_list(run_id="${r}", path="sub/"),
        run_list(run_id="${r}", path="sub/f.txt"),
        ui_get(run_id="${r}", path="sub/f.txt"),
        ui_get(run_id="${r}", path="sub"),
        ui_get(run_id="${r}", path="missing"),
        ui_get(run_id="${r}", path="../x"),
    ),
    case(
        "artifacts-logged-model-directories",
        get("logged-models/m-0123/artifacts/directories"),
        get("logged-models/m-0123/artifacts/directories", {"artifact_directory_path": "a/b"}),
        get("logged-models/m-0123/artifacts/directories", {"artifact_directory_path": "../x"}),
        get("logged-models/m-0123/artifacts/directories", {"artifact_directory_path": "%2e%2e"}),
        Step("GET", "/ajax-api/2.0/mlflow/logged-models/m-0123/artifacts/directories",
             query={"artifact_directory_path": "a"}),
        post("logged-models/m-0123/artifacts/directories", {}),
    ),
]
