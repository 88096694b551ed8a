"""Filling a fake with the demo workspace, fast.

Building it takes a few hundred requests; ``serve --demo`` must be ready in well under a second,
so an empty fake gets the demo from a snapshot cached on the first build (keyed by the source of
the builder and of the snapshot format, so a change to either rebuilds it).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

from fakeflow.client import RestClient
from fakeflow.demo.dataset import DemoSummary, build_demo

IN_PROCESS_URL = "http://fakeflow-demo.invalid"


def _store_of(app: Any) -> Any:
    return getattr(app, "store", None)


def _pristine(store: Any) -> bool:
    """Nothing but the Default experiment: loading a snapshot then loses nothing."""
    return (store is not None and len(store.experiments) == 1 and not store.runs
            and not store.registry.models)


def _source_digest() -> str:
    """Digest of the code that builds and stores the demo, read when this package is imported
    (so it describes the code actually running, even if the files change later)."""
    from fakeflow.client import rest
    from fakeflow.demo import dataset, png
    from fakeflow.state import snapshot

    digest = hashlib.sha256()
    for module in (dataset, png, rest, snapshot):
        digest.update(Path(module.__file__ or "").read_bytes())
    return digest.hexdigest()[:16]


_DIGEST = _source_digest()


def cache_file() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "fakeflow" / "demo" / f"{_DIGEST}.json"


def fill_in_process(app: Any, use_cache: bool = True) -> DemoSummary | None:
    """Build the demo straight into a WSGI app (no socket), or load the cached build into an
    empty one. Answers the build's summary, or None when it came from the cache."""
    from fakeflow.state import snapshot as snapshots
    from fakeflow.transport.wsgi_adapter import in_process_session

    store = _store_of(app)
    cached = cache_file() if use_cache and _pristine(store) else None
    if cached is not None and cached.is_file():
        try:
            snapshots.load_file(store, cached)  # save_file wrote it atomically (tmp + rename)
            return None
        except (OSError, ValueError):
            pass  # a damaged cache: build afresh below
    summary = build_demo(RestClient(IN_PROCESS_URL, session=in_process_session(app, IN_PROCESS_URL)))
    if cached is not None:
        try:
            cached.parent.mkdir(parents=True, exist_ok=True)
            snapshots.save_file(store, cached)  # atomic: a concurrent start never reads half a file
        except OSError:
            pass  # no cache then; the next start builds again
    return summary


__all__ = ["cache_file", "fill_in_process"]
