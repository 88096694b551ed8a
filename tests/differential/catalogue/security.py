"""MLflow's server security layer: Host checks (DNS rebinding), CORS blocking of cross-origin
writes, CORS preflights, security headers; and bodies nested too deeply to parse.

``${host}`` / ``${port}`` are each side's own address, so "the right Host with its port" is the
same request on both sides. (A request with no Host at all cannot be sent with ``requests``;
tests/test_security.py covers it over a raw socket.)
"""

from __future__ import annotations

from typing import Any

from ..model import API, Step, case
from .common import new_experiment

WIRE = ("content-type", "access-control-allow-origin", "access-control-allow-credentials",
        "access-control-allow-methods", "access-control-allow-headers",
        "access-control-expose-headers", "access-control-max-age", "vary",
        "x-content-type-options", "x-frame-options")
EXPERIMENT = API + "/experiments/get?experiment_id=${e1}"


def _headers(names: dict[str, str]) -> dict[str, str]:
    """``Access_Control_Request_Method="POST"`` -> the header of that name."""
    return {name.replace("_", "-"): value for name, value in names.items()}


def _get(path: str, **headers: str) -> Step:
    return Step("GET", path, headers=_headers(headers), wire_headers=WIRE)


def _post(path: str, body: Any, **headers: str) -> Step:
    return Step("POST", path, json=body, headers=_headers(headers), wire_headers=WIRE)


def _send(method: str, path: str, **headers: str) -> Step:
    return Step(method, path, headers=_headers(headers), wire_headers=WIRE)


HOSTS_SERVED = ["${host}", "localhost:${port}", "localhost", "127.0.0.1", "[::1]:${port}",
                "[::1]", "0.0.0.0:${port}", "10.1.2.3", "192.168.0.7:${port}", "172.16.0.1",
                "172.31.255.255:${port}"]
HOSTS_REFUSED = ["evil.example", "evil.example:${port}", "LOCALHOST:${port}", "Localhost", "",
                 "172.32.0.1", "11.0.0.1", "127.0.0.2", "localhost.evil.example",
                 "[::2]:${port}", "localhost:${port}:1"]

CASES = [
    case(
        "security-host-served",
        new_experiment("e1"),
        *[_get(EXPERIMENT, Host=host) for host in HOSTS_SERVED],
    ),
    case(
        "security-host-refused",
        new_experiment("e1"),
        *[_get(EXPERIMENT, Host=host) for host in HOSTS_REFUSED],
        _post(API + "/experiments/create", {"name": "${p}"}, Host="evil.example"),
        _get(API + "/experiments/get-by-name?experiment_name=${p}"),
        _send("OPTIONS", API + "/experiments/create", Host="evil.example",
              Origin="http://localhost:3000", Access_Control_Request_Method="POST"),
        _send("DELETE", API + "/experiments/delete", Host="evil.example"),
    ),
    case(
        "security-host-exempt-paths",
        _get("/health", Host="evil.example"),
        _get("/version", Host="evil.example:${port}"),
        _get("/health", Host=""),
        _get("/health/", Host="evil.example"),
        _get("/health?x=1", Host="evil.example"),
        _get("/api/3.0/mlflow/server-info", Host="evil.example"),
        _get("/no-such-page", Host="evil.example"),
        _get("/api/2.0/mlflow/no-such-route", Host="evil.example"),
    ),
    case(
        "security-origin-writes",
        _post(API + "/experiments/create", {"name": "${p}-evil"}, Origin="http://evil.example"),
        _post(API + "/experiments/create", {"name": "${p}-null"}, Origin="null"),
        _post(API + "/experiments/create", {"name": "${p}-https"}, Origin="https://evil.example"),
        _post(API + "/experiments/create", {"name": "${p}-empty"}, Origin=""),
        _post("/ajax-api/2.0/mlflow/experiments/create", {"name": "${p}-ajax"},
              Origin="http://evil.example"),
        _get(API + "/experiments/get-by-name?experiment_name=${p}-evil"),
        _get(API + "/experiments/get-by-name?experiment_name=${p}-null"),
        _get(API + "/experiments/get-by-name?experiment_name=${p}-ajax"),
        _post(API + "/experiments/create", {"name": "${p}-l3000"}, Origin="http://localhost:3000"),
        _post(API + "/experiments/create", {"name": "${p}-lport"},
              Origin="http://127.0.0.1:5000"),
        _post(API + "/experiments/create", {"name": "${p}-v6"}, Origin="http://[::1]:3000"),
        _post(API + "/experiments/create", {"name": "${p}-lhttps"}, Origin="https://localhost"),
        _post(API + "/experiments/create", {"name": "${p}-upper"}, Origin="http://LOCALHOST:3000"),
        _post(API + "/experiments/create", {"name": "${p}-plain"}, Origin="http://localhost"),
        _send("DELETE", API + "/experiments/delete", Origin="http://evil.example"),
        _send("PUT", API + "/runs/create", Origin="http://evil.example"),
        _send("PATCH", API + "/runs/update", Origin="http://evil.example"),
        _post("/health", {}, Origin="http://evil.example"),
        _post("/no-such-page", {}, Origin="http://evil.example"),
    ),
    case(
        "security-origin-reads",
        new_experiment("e1"),
        _get(EXPERIMENT, Origin="http://evil.example"),
        _get(EXPERIMENT, Origin="http://localhost:3000"),
        _get(EXPERIMENT, Origin="http://127.0.0.1:5000"),
        _get(EXPERIMENT, Origin="null"),
        _get("/health", Origin="http://localhost:5000"),
        _get("/health", Origin="http://evil.example"),
        _get("/health", Origin="http://LOCALHOST:5000"),
        _get("/version", Origin="http://LOCALHOST:5000"),
        _get("/api/3.0/mlflow/server-info", Origin="http://Localhost:5000"),
        _get("/api/3.0/mlflow/server-info", Origin="http://localhost:5000"),
        _post("/api/3.0/mlflow/server-info", {}, Origin="http://localhost:5000"),
        _send("HEAD", "/health", Origin="http://localhost:5000"),
        _get(EXPERIMENT, Origin="http://LOCALHOST:3000"),
        _get("/api/2.0/mlflow-artifacts/artifacts/nope.txt", Origin="http://LOCALHOST:5000"),
        _get("/api/2.0/mlflow-artifacts/artifacts/nope.txt", Origin="http://localhost:5000"),
        _get("/api/2.0/mlflow-artifacts/artifacts?path=${p}", Origin="http://LOCALHOST:5000"),
        _get("/version", Origin="http://localhost:5000"),
        _get(API + "/no-such-route", Origin="http://localhost:5000"),
        _send("HEAD", "/health", Origin="http://evil.example"),
    ),
    case(
        "security-preflight",
        _send("OPTIONS", API + "/experiments/create", Origin="http://localhost:3000",
              Access_Control_Request_Method="POST"),
        _send("OPTIONS", API + "/experiments/create", Origin="http://evil.example",
              Access_Control_Request_Method="POST"),
        _send("OPTIONS", API + "/experiments/create", Origin="http://localhost:3000",
              Access_Control_Request_Method="POST",
              Access_Control_Request_Headers="content-type, x-custom"),
        _send("OPTIONS", API + "/experiments/create", Origin="http://localhost:3000",
              Access_Control_Request_Method="TRACE"),
        _send("OPTIONS", API + "/experiments/create", Origin="http://evil.example",
              Access_Control_Request_Method="post"),
        _send("OPTIONS", API + "/experiments/create", Origin="http://localhost:3000",
              Access_Control_Request_Method="GET", Access_Control_Request_Private_Network="true"),
        _send("OPTIONS", "/health", Origin="http://127.0.0.1:9", Access_Control_Request_Method="GET"),
        _send("OPTIONS", "/no-such-page", Origin="null", Access_Control_Request_Method="GET"),
        _send("OPTIONS", API + "/experiments/create", Origin="http://evil.example"),
        _send("OPTIONS", API + "/experiments/create", Access_Control_Request_Method="POST"),
        _send("OPTIONS", API + "/experiments/create"),
    ),
    case(
        "hardening-deep-nesting",
        Step("POST", API + "/experiments/create", data="[" * 100_000 + "]" * 100_000),
        Step("POST", API + "/runs/search",
             data='{"experiment_ids": ' + "[" * 100_000 + "]" * 100_000 + "}"),
        Step("POST", API + "/runs/log-batch", data='{"a":' * 50_000 + "1" + "}" * 50_000),
        Step("POST", API + "/experiments/create", data='{"name": ' + "[" * 900 + "]" * 900 + "}"),
        Step("POST", API + "/experiments/create", data='{"name": ' + "[" * 1000 + "]" * 1000 + "}"),
        Step("GET", "/health"),
    ),
]
