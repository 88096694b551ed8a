"""One server under test: its prepared entities, placeholder substitution, sending, normalising."""

from __future__ import annotations

import http.client
import json
import re
import socket
from dataclasses import dataclass, field
from typing import Any, Iterable
from urllib.parse import urlsplit

import requests

from tests.differential.normalise import Normaliser, stable_prefix

API = "/api/2.0/mlflow"
TIMEOUT_SECONDS = 120.0


@dataclass(frozen=True)
class BadRequest:
    """A request as bytes on the wire: placeholders are still in ``target`` and ``body``."""

    method: str
    path: str
    query: str = ""  # already percent-encoded (or deliberately not)
    body: bytes | None = None
    headers: tuple[tuple[str, str], ...] = ()
    chunked: bool = False
    group: str = ""
    #: what an accepted answer may have changed ("run", "model", ...): read back on both sides
    touches: str = ""

    def describe(self) -> str:
        body = None if self.body is None else _squeeze(self.body.decode("latin-1"))
        query = _squeeze(self.query)
        return (f"[{self.group}] {self.method} {self.path}{'?' + query if query else ''} "
                f"headers={list(self.headers)} chunked={self.chunked} body={body!r}")


def _squeeze(text: str, limit: int = 1500) -> str:
    """Runs of one character as ``a<1000000>``, so reports of huge requests stay readable."""
    text = re.sub(r"(.)\1{19,}", lambda m: f"{m.group(1)}<{len(m.group(0))}>", text, flags=re.S)
    text = re.sub(r"((?:\{\"a\": ){20,})", lambda m: f'{{"a": <{len(m.group(0)) // 7}>', text)
    return text if len(text) <= limit else text[:limit] + "..."


@dataclass
class Answer:
    status: int = 0
    content_type: str = ""
    body: bytes = b""
    dropped: str = ""  # why no answer came, if none did

    def json(self) -> Any:
        try:
            return json.loads(self.body)
        except ValueError:
            return None

    @property
    def error(self) -> tuple[Any, Any]:
        body = self.json()
        if isinstance(body, dict):
            return body.get("error_code"), body.get("message")
        return None, None


@dataclass
class Side:
    name: str
    url: str
    suffix: str
    ids: dict[str, str] = field(default_factory=dict)
    #: fakeflow's store, when this side is fakeflow (its experiment numbering is aligned)
    store: Any = None
    _conn: http.client.HTTPConnection | None = None

    # -- preparation -----------------------------------------------------------------------
    def prepare(self, first_experiment_id: str | None = None) -> None:
        """Same entities on both servers, created by the same requests.

        ``first_experiment_id``: fakeflow's next experiment id is set to it first, so that
        both servers number these experiments (and later ones) alike.
        """
        s = self.suffix
        if first_experiment_id is not None and self.store is not None:
            with self.store.lock:
                self.store.next_experiment_id = int(first_experiment_id)

        def call(route: str, body: dict[str, Any], method: str = "POST", v3: bool = False) -> dict[str, Any]:
            base = "/api/3.0/mlflow" if v3 else API
            if method == "GET":
                answer = requests.get(self.url + base + route, params=body, timeout=60)
            else:
                answer = requests.request(method, self.url + base + route, json=body, timeout=60)
            answer.raise_for_status()
            return answer.json()

        def experiment(name: str) -> str:
            return call("/experiments/create", {"name": name})["experiment_id"]

        def run(experiment_id: str) -> str:
            body = {"experiment_id": experiment_id, "start_time": 1, "run_name": "bi"}
            return call("/runs/create", body)["run"]["info"]["run_id"]

        e, v, d = experiment(f"bi-main-{s}"), experiment(f"bi-victim-{s}"), experiment(f"bi-gone-{s}")
        call("/experiments/delete", {"experiment_id": d})
        r, w, x = run(e), run(e), run(e)
        call("/runs/delete", {"run_id": x})
        call("/runs/log-metric", {"run_id": r, "key": "m", "value": 1.0, "timestamp": 5, "step": 1})
        call("/runs/log-parameter", {"run_id": r, "key": "p", "value": "v"})
        self.ids = {"e": e, "v": v, "d": d, "r": r, "w": w, "x": x, "R": r.upper(), "s": s}
        self._prepare_models(call)
        self._prepare_genai(call)

    def _prepare_models(self, call: Any) -> None:
        """Registry, logged models and artifacts for the model routes (see model_routes)."""
        s, r, e = self.suffix, self.ids["r"], self.ids["e"]
        main, victim = f"bi-model-{s}", f"bi-victim-model-{s}"
        for name in (main, victim):
            call("/registered-models/create", {"name": name, "tags": [{"key": "k", "value": "v"}]})
        for name in (main, main, main, victim):
            call("/model-versions/create", {"name": name, "source": f"runs:/{r}/model", "run_id": r})
        call("/registered-models/alias", {"name": main, "alias": "champ", "version": "1"})
        call("/model-versions/set-tag", {"name": main, "version": "1", "key": "k", "value": "v"})

        def logged_model(name: str) -> dict[str, Any]:
            return call("/logged-models", {"experiment_id": e, "name": name,
                                           "source_run_id": r})["model"]["info"]

        main_model, victim_model = logged_model("bi-lm"), logged_model("bi-lm-victim")
        call(f"/logged-models/{main_model['model_id']}/tags", {"tags": [{"key": "k", "value": "v"}]},
             "PATCH")
        folder = f"bi-{s}"
        self.ids.update(M=main, N=victim, m=main_model["model_id"], n=victim_model["model_id"],
                        a=folder)
        model_root = main_model["artifact_uri"].split("mlflow-artifacts:/", 1)[1]
        for path, data in ((f"{folder}/f.txt", b"hello"), (f"{folder}/d/g.bin", b"\x00\x01"),
                           (f"{folder}/empty", b""), (f"{e}/{r}/artifacts/f.txt", b"run file"),
                           (f"{model_root}/MLmodel", b"flavors: {}"), (f"{model_root}/d/x", b"x")):
            answer = requests.put(f"{self.url}/api/2.0/mlflow-artifacts/artifacts/{path}", data=data,
                                  timeout=60)
            answer.raise_for_status()

    def _prepare_genai(self, call: Any) -> None:
        """Traces, assessments, an evaluation dataset and scorers for ``trace_routes``."""
        from tests.badinput.trace_routes import BUILTIN_SCORER, RECORDS, T, main_trace_hex, otlp_body

        s, e, v = self.suffix, self.ids["e"], self.ids["v"]
        main_hex = main_trace_hex(s, 0)
        answer = requests.post(self.url + "/v1/traces", data=json.dumps(otlp_body(main_hex, "00000000000000a1")),
                               headers={"x-mlflow-experiment-id": e, "Content-Type": "application/json"},
                               timeout=60)
        answer.raise_for_status()
        t, y = "tr-" + main_hex, "tr-" + main_trace_hex(s, 1)
        for trace_id, experiment_id in ((t, e), (y, v)):
            call("/traces", {"trace": {"trace_info": {
                "trace_id": trace_id, "request_time": T, "execution_duration": "1s", "state": "OK",
                "trace_location": {"type": "MLFLOW_EXPERIMENT",
                                   "mlflow_experiment": {"experiment_id": experiment_id}},
                "tags": {"k": "v"}}}}, v3=True)

        def assessment(name: str) -> str:
            body = {"assessment": {"assessment_name": name, "trace_id": t, "create_time": T,
                                   "last_update_time": T, "feedback": {"value": 1.0},
                                   "source": {"source_type": "HUMAN", "source_id": "me"}}}
            return call(f"/traces/{t}/assessments", body, v3=True)["assessment"]["assessment_id"]

        a, b = assessment("quality"), assessment("victim")

        def dataset(name: str) -> str:
            body = {"name": name, "experiment_ids": [e], "tags": '{"k": "v"}'}
            return call("/datasets/create", body, v3=True)["dataset"]["dataset_id"]

        main_ds, victim_ds = dataset(f"bi-ds-main-{s}"), dataset(f"bi-ds-victim-{s}")
        call(f"/datasets/{main_ds}/records", {"records": RECORDS}, v3=True)
        records = call(f"/datasets/{main_ds}/records", {}, "GET", v3=True)["records"]
        scorer_id = ""
        for name in ("bi-scorer", "bi-victim-scorer"):
            scorer_id = scorer_id or call("/scorers/register", {
                "experiment_id": e, "name": name, "serialized_scorer": BUILTIN_SCORER}, v3=True)["scorer_id"]
        self.ids.update(t=t, T=t.upper(), y=y, A=a, B=b, D=main_ds, F=victim_ds,
                        G=json.loads(records)[0]["dataset_record_id"], S=scorer_id)

    #: ids each server generates for itself: masked as ``<key>`` in messages and read-backs
    GENERATED = ("A", "B", "D", "F", "G", "S")

    def mask(self, text: str) -> str:
        for key in self.GENERATED:
            if key in self.ids:
                text = text.replace(self.ids[key], f"<{key}>")
        return text

    def normaliser(self) -> Normaliser:
        n = Normaliser(self.suffix)
        for key in ("r", "w", "x"):
            n.runs[self.ids[key]] = f"<run:{key}>"
        for key in ("m", "n"):
            if key in self.ids:
                n.models[self.ids[key]] = f"<model:{key}>"
        return n

    # -- sending ---------------------------------------------------------------------------
    def substitute(self, data: bytes) -> bytes:
        for key, value in self.ids.items():
            data = data.replace(b"${" + key.encode() + b"}", value.encode())
        return data

    def send(self, request: BadRequest) -> Answer:
        target = request.path + ("?" + request.query if request.query else "")
        target_bytes = self.substitute(target.encode("latin-1"))
        body = self.substitute(request.body) if request.body is not None else None
        headers = {name: value for name, value in request.headers}
        for attempt in range(2):
            reused = self._conn is not None
            conn = self._connection()
            try:
                conn.putrequest(request.method, target_bytes.decode("latin-1"),
                                skip_accept_encoding=True)
                for name, value in headers.items():
                    conn.putheader(name, value)
                if request.chunked:
                    conn.putheader("Transfer-Encoding", "chunked")
                elif body is not None and "Content-Length" not in headers:
                    conn.putheader("Content-Length", str(len(body)))
                conn.endheaders()
                if body is not None:
                    conn.send(_chunks(body) if request.chunked else body)
                response = conn.getresponse()
                data = response.read()
                answer = Answer(response.status, response.getheader("Content-Type", ""), data)
                if response.will_close:
                    self._close()
                return answer
            except (http.client.HTTPException, OSError) as error:
                self._close()
                if reused and attempt == 0 and isinstance(
                        error, (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError)):
                    # a kept-alive connection the server had closed: retry once on a fresh one
                    continue
                return Answer(dropped=f"{type(error).__name__}: {error}")
        return Answer(dropped="no answer")

    def _connection(self) -> http.client.HTTPConnection:
        if self._conn is None:
            parts = urlsplit(self.url)
            self._conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=TIMEOUT_SECONDS)
            self._conn.connect()
            self._conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return self._conn

    def _close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def close(self) -> None:
        self._close()

    def remove_scorers(self) -> list[str]:
        """Deletes every scorer left in this session's experiments; returns what stays listed.

        MLflow lists every experiment's scorers for ``scorers/list?experiment_id=`` (empty), and
        later tests on a shared reference server ask for exactly that.
        """
        url = self.url + "/api/3.0/mlflow/scorers"
        for key in ("e", "v", "d"):
            listed = requests.get(url + "/list", params={"experiment_id": self.ids[key]}, timeout=60)
            for scorer in listed.json().get("scorers", []) if listed.ok else []:
                requests.delete(url + "/delete", json={"experiment_id": self.ids[key],
                                                       "name": scorer["scorer_name"]}, timeout=60)
        left = []
        for key in ("e", "v", "d"):
            listed = requests.get(url + "/list", params={"experiment_id": self.ids[key]}, timeout=60)
            left += [s["scorer_name"] for s in listed.json().get("scorers", [])] if listed.ok else []
        return left


def _chunks(body: bytes) -> bytes:
    pieces: Iterable[bytes] = (body[i:i + 7] for i in range(0, len(body), 7)) if body else ()
    out = b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in pieces)
    return out + b"0\r\n\r\n"


def comparable_message(side: Side, message: Any) -> Any:
    """An error message with this side's run ids and database noise masked.

    Experiment ids need no masking: both servers hand out the same ones (see ``prepare``).
    """
    if not isinstance(message, str):
        return message
    text = stable_prefix(side.mask(message))
    return side.normaliser().text(text)
