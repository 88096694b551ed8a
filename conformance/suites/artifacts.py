"""Artifacts through the proxy (``mlflow-artifacts``): uploads (empty and nested files too),
overwrites, downloads byte for byte, both listings (``artifacts/list`` of a run, and the
proxy's own listing) and deletes (of a file, or of a whole directory). The reference model of
a run's artifacts is a dict of path -> bytes."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st
from hypothesis.stateful import Bundle, multiple, rule

from ..model import Run
from ..refs import Ref, Sub
from . import register
from .base import ConformanceMachine, scenario

PROXY = "/api/2.0/mlflow-artifacts/artifacts"
# No path is both a file and a directory; only whole top-level entries are deleted, so no
# empty directory is ever left behind (a filesystem store would still list it).
files = st.sampled_from(["a.txt", "empty.txt", "d/b.txt", "d/e/c.txt", "d/e/empty"])
contents = st.sampled_from([b"", b"hello", b"x y\n", b"12", b"{}"])
deletable = st.sampled_from(["a.txt", "empty.txt", "d"])
listable = st.sampled_from(["", "d", "d/e", "nope", "a.txt"])


class RunArtifacts:
    """One run's artifact root as the model sees it."""

    def __init__(self, run: Run, root: str) -> None:
        self.run = run
        self.root = root  # mlflow-artifacts:/<exp>/<run>/artifacts
        self.files: dict[str, bytes] = {}

    @property
    def proxy_root(self) -> str:
        return self.root.split(":/", 1)[1].lstrip("/")

    def children(self, directory: str) -> list[dict[str, Any]]:
        """Immediate children of ``directory`` (paths relative to the root), sorted."""
        prefix = directory + "/" if directory else ""
        out: dict[str, dict[str, Any]] = {}
        for path, data in self.files.items():
            if not path.startswith(prefix):
                continue
            head, sep, _ = path[len(prefix):].partition("/")
            full = prefix + head
            if sep:
                out[full] = {"path": full, "is_dir": True}
            else:
                out[full] = {"path": full, "is_dir": False}
                if data:
                    out[full]["file_size"] = len(data)
        return [out[k] for k in sorted(out)]

    def delete(self, path: str) -> None:
        for key in [k for k in self.files if k == path or k.startswith(path + "/")]:
            del self.files[key]


@register("artifacts", "artifact proxy: upload, download, list (run and proxy), delete")
class ArtifactsSuite(ConformanceMachine):
    roots = Bundle("roots")

    @rule(target=roots)
    def create_run(self):
        exp = self.do_create_experiment(self.new_symbol("x"))
        run = self.do_create_run(exp, "r", 0) if exp is not None else None
        if run is None:
            return multiple()
        exp_id, run_id = run.experiment.experiment_id, run.run_id
        return RunArtifacts(run, f"mlflow-artifacts:/{exp_id}/{run_id}/artifacts")

    @rule(art=roots, path=files, data=contents)
    def upload(self, art, path, data):
        reply = self.ctx.call("upload_artifact", "PUT", self._url(art, path), body=data,
                              headers={"Content-Type": "application/octet-stream"})
        if self.ctx.expect("upload_artifact", reply, 200, refusable=True):
            art.files[path] = data

    def _url(self, art: RunArtifacts, path: str) -> Sub:
        """The proxy URL of a file: ids as symbols, so it is sent right to every target."""
        return Sub(PROXY + "/{0}/{1}/artifacts/" + path.replace("{", "{{").replace("}", "}}"),
                   Ref(art.run.experiment.symbol), Ref(art.run.symbol))

    @rule(art=roots, path=files)
    def download(self, art, path):
        reply = self.ctx.call("download_artifact", "GET", self._url(art, path))
        if path in art.files:
            self.ctx.expect("download_artifact", reply, 200, art.files[path].decode())
        else:
            self.ctx.expect_error("download_artifact", reply, 404, "RESOURCE_DOES_NOT_EXIST",
                                  f"No such artifact: '{art.proxy_root}/{path}'")

    @rule(art=roots, path=listable)
    def list_run(self, art, path):
        query: dict[str, Any] = {"run_id": Ref(art.run.symbol)}
        if path:
            query["path"] = path
        reply = self.ctx.call("list_artifacts", "GET", "artifacts/list", query=query)
        body: dict[str, Any] = {"root_uri": art.root}
        found = art.children(path)
        if found:
            body["files"] = found
        self.ctx.expect("list_artifacts", reply, 200, body)

    @rule(art=roots, path=listable)
    def list_proxy(self, art, path):
        where = Sub("{0}/{1}/artifacts" + ("/" + path if path else ""),
                    Ref(art.run.experiment.symbol), Ref(art.run.symbol))
        reply = self.ctx.call("list_proxy_artifacts", "GET", PROXY, query={"path": where})
        body: dict[str, Any] = {}
        found = art.children(path)
        if found:
            cut = len(path) + 1 if path else 0
            body["files"] = [{**f, "path": f["path"][cut:]} for f in found]
        self.ctx.expect("list_proxy_artifacts", reply, 200, body)

    @rule(art=roots, path=deletable)
    def delete(self, art, path):
        reply = self.ctx.call("delete_artifact", "DELETE", self._url(art, path))
        # Deleting what is not there succeeds too.
        if self.ctx.expect("delete_artifact", reply, 200, {}, refusable=True):
            art.delete(path)

    # -- explicit cases ----------------------------------------------------------------------

    def _root(self) -> RunArtifacts | None:
        art = self.create_run()
        return art if isinstance(art, RunArtifacts) else None

    @scenario
    def case_upload_list_download(self):
        """Plain, empty and nested files: both listings and the bytes come back as sent."""
        art = self._root()
        if art is None:
            return
        for path, data in [("a.txt", b"hello"), ("empty.txt", b""), ("d/b.txt", b"12"),
                           ("d/e/c.txt", b"x y\n")]:
            self.upload(art, path, data)
        for path in ["", "d", "d/e", "nope", "a.txt"]:
            self.list_run(art, path)
            self.list_proxy(art, path)
        for path in ["a.txt", "empty.txt", "d/e/c.txt", "d/e/empty"]:
            self.download(art, path)

    @scenario
    def case_overwrite_and_delete(self):
        """A second upload replaces the bytes; deleting a directory removes what is under it;
        deleting what does not exist succeeds."""
        art = self._root()
        if art is None:
            return
        self.upload(art, "a.txt", b"hello")
        self.upload(art, "a.txt", b"12")
        self.download(art, "a.txt")
        self.upload(art, "d/b.txt", b"hello")
        self.upload(art, "d/e/empty", b"")
        self.delete(art, "d")
        self.list_run(art, "")
        self.list_proxy(art, "d")
        self.download(art, "d/b.txt")
        self.delete(art, "a.txt")
        self.delete(art, "a.txt")
        self.list_run(art, "")
