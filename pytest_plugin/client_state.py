"""Point the MLflow client at a server for one test, and put everything back afterwards.

The client keeps state outside the environment: its own tracking URI, the active experiment,
a per-thread stack of active runs, the last run and model ids, and a cache of server-info
answers keyed by host. A test that leaks any of these must not affect the next one.
MLflow is never imported here: if the test process has not imported it, there is nothing
to save, and the environment variables alone steer it when it is imported later.
"""

from __future__ import annotations

import os
import sys
from typing import Any

#: Client settings for tests: fail fast instead of retrying for minutes, no run links printed
#: (each costs an extra get-run call), no telemetry. Restored after each test.
CLIENT_ENV = {
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "0",
    "MLFLOW_HTTP_REQUEST_BACKOFF_JITTER": "0",
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "30",
    "MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT": "true",
    "MLFLOW_DISABLE_TELEMETRY": "true",
    # Export each trace before the traced call returns, so a test sees it at once.
    "MLFLOW_ENABLE_ASYNC_TRACE_LOGGING": "false",
}
MANAGED_ENV = ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI", "MLFLOW_EXPERIMENT_ID",
               "MLFLOW_EXPERIMENT_NAME", "MLFLOW_RUN_ID", *CLIENT_ENV)

_UTILS = "mlflow.tracking._tracking_service.utils"
#: where ``mlflow.set_registry_uri`` keeps its URI; unset, the registry follows the tracking URI
_REGISTRY_UTILS = "mlflow.tracking._model_registry.utils"
_FLUENT = "mlflow.tracking.fluent"
_SERVER_INFO = "mlflow.utils.server_info"


class ClientState:
    """One test's worth of MLflow client configuration: ``apply()`` then ``restore()``."""

    __slots__ = ("url", "experiment_id", "_env", "_mlflow")

    def __init__(self, url: str, experiment_id: str | None = None) -> None:
        self.url = url
        self.experiment_id = experiment_id
        self._env: dict[str, str | None] = {}
        self._mlflow: dict[str, Any] | None = None

    def apply(self) -> None:
        environ = os.environ
        self._env = {key: environ.get(key) for key in MANAGED_ENV}
        for key in ("MLFLOW_EXPERIMENT_NAME", "MLFLOW_RUN_ID", "MLFLOW_EXPERIMENT_ID",
                    "MLFLOW_REGISTRY_URI"):  # the registry is the same server as tracking
            environ.pop(key, None)
        environ.update(CLIENT_ENV)
        environ["MLFLOW_TRACKING_URI"] = self.url
        if self.experiment_id is not None:
            environ["MLFLOW_EXPERIMENT_ID"] = self.experiment_id
        utils, fluent = sys.modules.get(_UTILS), sys.modules.get(_FLUENT)
        if utils is None or fluent is None:
            self._mlflow = None
            return
        registry = sys.modules.get(_REGISTRY_UTILS)
        self._mlflow = {
            "registry_uri": registry._registry_uri if registry is not None else None,
            "tracking_uri": utils._tracking_uri,
            "experiment_id": fluent._active_experiment_id,
            "run_stack": list(fluent._active_run_stack.get()),
            "last_run_id": fluent._last_active_run_id.get(),
            "last_model_id": fluent._last_logged_model_id.get(),
        }
        _set_tracking_uri(utils, self.url)
        if registry is not None:
            registry._registry_uri = None
        fluent._active_experiment_id = None
        fluent._active_run_stack.set([])
        fluent._last_active_run_id.set(None)
        fluent._last_logged_model_id.set(None)

    def end_leaked_runs(self) -> list[str]:
        """End (FINISHED, as at interpreter exit) every run the test left active; their ids."""
        fluent = sys.modules.get(_FLUENT)
        if fluent is None:
            return []
        ended = []
        stack = fluent._active_run_stack.get()
        while stack:
            run_id = stack[-1].info.run_id
            try:
                fluent.end_run()
            except Exception:  # the server may be gone or faulty: forget the run anyway
                if stack and stack[-1].info.run_id == run_id:
                    stack.pop()
            ended.append(run_id)
        return ended

    def restore(self) -> None:
        utils, fluent = sys.modules.get(_UTILS), sys.modules.get(_FLUENT)
        saved = self._mlflow or {"registry_uri": None, "tracking_uri": None, "experiment_id": None,
                                 "run_stack": [], "last_run_id": None, "last_model_id": None}
        registry = sys.modules.get(_REGISTRY_UTILS)
        if registry is not None:
            registry._registry_uri = saved["registry_uri"]
        if utils is not None and fluent is not None:
            _set_tracking_uri(utils, saved["tracking_uri"])
            fluent._active_experiment_id = saved["experiment_id"]
            fluent._active_run_stack.set(saved["run_stack"])
            fluent._last_active_run_id.set(saved["last_run_id"])
            fluent._last_logged_model_id.set(saved["last_model_id"])
        server_info = sys.modules.get(_SERVER_INFO)
        if server_info is not None:
            with server_info._SERVER_INFO_CACHE_LOCK:
                server_info._SERVER_INFO_CACHE.pop(self.url, None)
        environ = os.environ
        for key, value in self._env.items():
            if value is None:
                environ.pop(key, None)
            else:
                environ[key] = value


def _set_tracking_uri(utils: Any, uri: str | None) -> None:
    """MLflow's own setter (it also resets the tracer), skipped when nothing changes."""
    if utils._tracking_uri == uri:
        return
    utils.set_tracking_uri(uri)
