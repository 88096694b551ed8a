"""Differential testing of fakeflow against a real MLflow server (see harness.py)."""
