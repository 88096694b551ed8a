"""The plugin's settings: each from the command line, else an env var, else the ini file."""

from __future__ import annotations

import os
from dataclasses import dataclass

import pytest

TRANSPORTS = ("inprocess", "http")
RESET_SCOPES = ("function", "module", "session")

# (option dest / ini name, command-line flag, env var, help)
_OPTIONS = (
    ("fakeflow_transport", "--fakeflow-transport", "FAKEFLOW_TRANSPORT",
     "how the MLflow client reaches the fake: 'inprocess' (default; requests-based calls skip "
     "the socket) or 'http' (loopback HTTP)"),
    ("fakeflow_target", "--fakeflow-target", "FAKEFLOW_TARGET",
     "URL of a real MLflow server to run the same tests against instead of the fake"),
    ("fakeflow_seed", "--fakeflow-seed", "FAKEFLOW_SEED",
     "integer seed: every reset makes the same run ids and names (default: random)"),
    ("fakeflow_reset", "--fakeflow-reset", "FAKEFLOW_RESET",
     "when the fake is emptied: 'function' (default, every test), 'module' or 'session'"),
    ("fakeflow_fast_probes", "--fakeflow-fast-probes", "FAKEFLOW_FAST_PROBES",
     "'yes' (default): make the MLflow client's per-request Databricks/IPython/Spark import "
     "probes fail fast when those are not installed; 'no': leave imports alone"),
    ("fakeflow_legacy_routes", "--fakeflow-legacy-routes", "FAKEFLOW_LEGACY_ROUTES",
     "'yes': the fake also serves the routes of MLflow's older REST documentation that 3.17.2 "
     "answers with 404 (experiments/list, the 2.0 preview model registry); 'no' (default)"),
    ("fakeflow_profile", "--fakeflow-profile", "FAKEFLOW_PROFILE",
     "'mlflow' (default) or 'oci-aidp': the fake answers as Oracle's AI Data Platform does "
     "(vendor path prefix, opc-* headers, {code, message} errors); the tracking URI is a "
     "workspace's .../mlops"),
)
PROFILES = ("mlflow", "oci-aidp")


@dataclass(frozen=True)
class Settings:
    transport: str = "inprocess"
    target: str | None = None
    seed: int | None = None
    reset: str = "function"
    fast_probes: bool = True
    legacy_routes: bool = False
    profile: str = "mlflow"

    @property
    def against_real_server(self) -> bool:
        return self.target is not None


def add_options(parser: pytest.Parser) -> None:
    group = parser.getgroup("fakeflow", "fakeflow (fake MLflow tracking server)")
    for name, flag, env, text in _OPTIONS:
        group.addoption(flag, dest=name, default=None, help=f"{text} [env {env}, ini {name}]")
        parser.addini(name, f"{text} (overridden by {flag} and ${env})", default="")


def _raw(config: pytest.Config, name: str, env: str) -> str | None:
    value = config.getoption(name, default=None)
    if value in (None, ""):
        value = os.environ.get(env)
    if value in (None, ""):
        value = config.getini(name)
    return str(value).strip() if value not in (None, "") else None


def _choice(value: str | None, choices: tuple[str, ...], name: str, default: str) -> str:
    if value is None:
        return default
    value = value.lower().replace("-", "").replace("_", "") if name == "fakeflow_transport" \
        else value.lower()
    if value not in choices:
        raise pytest.UsageError(f"{name} must be one of {', '.join(choices)}, not {value!r}")
    return value


def read_settings(config: pytest.Config) -> Settings:
    """Resolve and validate every option once per session (a typo is a usage error)."""
    raw = {name: _raw(config, name, env) for name, _, env, _ in _OPTIONS}
    seed_text = raw["fakeflow_seed"]
    try:
        seed = int(seed_text) if seed_text is not None else None
    except ValueError:
        raise pytest.UsageError(f"fakeflow_seed must be an integer, not {seed_text!r}") from None
    target = raw["fakeflow_target"]
    if target is not None and not target.startswith(("http://", "https://")):
        raise pytest.UsageError(f"fakeflow_target must be an http(s) URL, not {target!r}")
    return Settings(
        transport=_choice(raw["fakeflow_transport"], TRANSPORTS, "fakeflow_transport",
                          "inprocess"),
        target=target.rstrip("/") if target else None,
        seed=seed,
        reset=_choice(raw["fakeflow_reset"], RESET_SCOPES, "fakeflow_reset", "function"),
        fast_probes=_choice(raw["fakeflow_fast_probes"], ("yes", "no", "true", "false", "1", "0"),
                            "fakeflow_fast_probes", "yes") in ("yes", "true", "1"),
        legacy_routes=_choice(raw["fakeflow_legacy_routes"], ("yes", "no", "true", "false", "1", "0"),
                              "fakeflow_legacy_routes", "no") in ("yes", "true", "1"),
        profile=_choice(raw["fakeflow_profile"], PROFILES, "fakeflow_profile", "mlflow"),
    )
