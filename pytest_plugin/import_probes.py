"""Make MLflow's environment probes cheap: remember, for the session, that they fail.

On every request the MLflow client asks "am I on Databricks / in IPython / in Spark?" by trying
to import ``dbruntime``, ``IPython`` and ``pyspark`` — about 80 failed imports per logged run,
each a walk over every import hook and ``sys.path`` entry (slower still under pytest's
assertion-rewriting hook). That is most of a fast test's time. A module that cannot be found at
the start of the session is recorded as absent (``sys.modules[name] = None``, Python's own
negative entry): importing it still raises ``ModuleNotFoundError``, at once. Modules that are
installed are never touched. Undone at the end of the session.
"""

from __future__ import annotations

import importlib.util
import sys

#: Parents before their submodules: a submodule of an absent package is absent too, and
#: naming it spares the import system a locked lookup on every probe.
PROBED_MODULES = ("dbruntime", "dbruntime.databricks_repl_context", "IPython", "pyspark",
                  "pyspark.sql")


def remember_absent(names: tuple[str, ...] = PROBED_MODULES) -> list[str]:
    """Mark the modules in ``names`` that are not installed as absent; return those marked."""
    marked = []
    for name in names:
        if name in sys.modules:
            continue
        parent = name.rpartition(".")[0]
        if parent:
            found = not (parent in sys.modules and sys.modules[parent] is None)
        else:
            try:
                found = importlib.util.find_spec(name) is not None
            except (ImportError, ValueError):
                found = True  # unclear: leave it alone
        if not found:
            sys.modules[name] = None  # type: ignore[assignment]
            marked.append(name)
    return marked


def forget_absent(names: list[str]) -> None:
    for name in names:
        if name in sys.modules and sys.modules[name] is None:
            del sys.modules[name]
