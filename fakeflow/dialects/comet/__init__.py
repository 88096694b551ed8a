"""The Comet dialect: comet-ml's ``API`` (REST API v2) reading and querying the MLflow state.

``configure(store, workspace=..., api_key=..., enabled=...)`` sets it up for one server; the
mapping of Comet's nouns onto MLflow's is ``mapping.MAPPING``.
"""

from fakeflow.dialects.comet.config import CometSettings, configure, settings_for

__all__ = ["CometSettings", "configure", "settings_for"]
