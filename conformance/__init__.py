"""Hypothesis conformance suites: how far is an MLflow-compatible server from MLflow 3.17.2?

Never imports ``fakeflow``: the suites carry their own reference model (``conformance.model``).
"""

from .api import assert_conforms, check
from .findings import Finding
from .runner import RunReport, SuiteResult, run, run_suite, select_suites
from .transport import HttpTarget, WsgiTarget, make_target

__all__ = ["assert_conforms", "check", "Finding", "HttpTarget", "RunReport", "SuiteResult", "WsgiTarget", "make_target", "run",
           "run_suite", "select_suites"]
