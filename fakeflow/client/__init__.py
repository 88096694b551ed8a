"""``fakeflow.client``: a small requests-based MLflow REST client and Mlflow.js-style workflow
helpers. It talks to any MLflow-compatible server; the demo data set is built with it."""

from fakeflow.client import workflows
from fakeflow.client.rest import MlflowApiError, RestClient

__all__ = ["MlflowApiError", "RestClient", "workflows"]
