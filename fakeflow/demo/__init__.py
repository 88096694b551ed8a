"""The demo workspace (``fakeflow serve --demo``, ``fakeflow demo``): built with
``fakeflow.client`` so it fills fakeflow and a real MLflow alike.

Names are loaded on first use: ``fakeflow serve`` imports this package for its options and
must not pay for ``requests`` and the builder unless ``--demo`` is given.
"""

from __future__ import annotations

from typing import Any

_LAZY = {"DemoSummary": "fakeflow.demo.dataset", "build_demo": "fakeflow.demo.dataset",
         "fill_in_process": "fakeflow.demo.workspace", "cache_file": "fakeflow.demo.workspace"}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(name)
    from importlib import import_module

    return getattr(import_module(_LAZY[name]), name)


__all__ = sorted(_LAZY)
