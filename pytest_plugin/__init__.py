"""fakeflow's pytest plugin: fixtures for a clean fake MLflow server per test.

Installed with fakeflow (``pytest11`` entry point ``fakeflow``); see ``pytest_plugin.plugin``.
"""

from pytest_plugin.handle import FakeflowHandle, FakeOnly
from pytest_plugin.rest import RestClient, RestError

__all__ = ["FakeOnly", "FakeflowHandle", "RestClient", "RestError"]
