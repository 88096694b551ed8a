"""fakeflow: an in-memory fake of the MLflow 3.17.2 tracking server."""

from fakeflow.server import ThreadedServer
from fakeflow.state.tracking import TrackingStore
from fakeflow.web.app import FakeflowApp, create_app

__version__ = "0.1.0"
MLFLOW_VERSION = "3.17.2"

__all__ = ["FakeflowApp", "ThreadedServer", "TrackingStore", "create_app", "__version__"]
