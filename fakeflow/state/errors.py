"""The one error type of the state machine, and every message text MLflow uses for it.

The state layer raises ``MlflowError``; the web layer turns ``error_code`` into an HTTP status
(see ``fakeflow.web.status``). Message texts live here so that a reader can compare them with
MLflow's in one place.
"""

from __future__ import annotations

import json
from typing import Any

INVALID_PARAMETER_VALUE = "INVALID_PARAMETER_VALUE"
BAD_REQUEST = "BAD_REQUEST"
RESOURCE_DOES_NOT_EXIST = "RESOURCE_DOES_NOT_EXIST"
RESOURCE_ALREADY_EXISTS = "RESOURCE_ALREADY_EXISTS"
INVALID_STATE = "INVALID_STATE"
INTERNAL_ERROR = "INTERNAL_ERROR"
NOT_IMPLEMENTED = "NOT_IMPLEMENTED"
ENDPOINT_NOT_FOUND = "ENDPOINT_NOT_FOUND"
TEMPORARILY_UNAVAILABLE = "TEMPORARILY_UNAVAILABLE"

API_DOCS_HINT = " See the API docs for more information about request parameters."


class MlflowError(Exception):
    """A failure MLflow reports to the client as ``{"error_code", "message"}``."""

    def __init__(self, message: str, error_code: str = INVALID_PARAMETER_VALUE) -> None:
        super().__init__(message)
        self.message = message
        self.error_code = error_code

    def __repr__(self) -> str:
        return f"MlflowError({self.error_code}, {self.message!r})"


def invalid(message: str) -> MlflowError:
    return MlflowError(message, INVALID_PARAMETER_VALUE)


def not_found(message: str) -> MlflowError:
    return MlflowError(message, RESOURCE_DOES_NOT_EXIST)


def missing_value(param: str) -> MlflowError:
    return invalid(f"Missing value for required parameter '{param}'.{API_DOCS_HINT}")


def bad_type(param: str, value: Any) -> MlflowError:
    """The schema type-check failure, with MLflow's double space before 'Hint'."""
    return invalid(
        f"Invalid value {json.dumps(value)} for parameter '{param}' supplied: "
        f" Hint: Value was of type '{_py_type_name(value)}'.{API_DOCS_HINT}"
    )


def _py_type_name(value: Any) -> str:
    names = {dict: "dict", list: "list", str: "str", bool: "bool", int: "int", float: "float"}
    return "NoneType" if value is None else names.get(type(value), type(value).__name__)


def run_not_found(run_id: str) -> MlflowError:
    return not_found(f"Run with id={run_id} not found")


def experiment_not_found(experiment_id: str) -> MlflowError:
    return not_found(f"No Experiment with id={experiment_id} exists")


def run_not_active(run_id: str) -> MlflowError:
    return invalid(f"The run {run_id} must be in the 'active' state. Current state is deleted.")


def experiment_not_active(experiment_id: str) -> MlflowError:
    return invalid(
        f"The experiment {experiment_id} must be in the 'active' state. Current state is deleted."
    )


def invalid_experiment_id(experiment_id: str) -> MlflowError:
    return invalid(
        f"Invalid experiment ID '{experiment_id}'. Experiment ID must be a valid integer."
    )


def not_positive(param: str, value: Any, period: bool = False) -> MlflowError:
    return invalid(
        f"Invalid value {value} for parameter '{param}' supplied. It must be a positive integer"
        + ("." if period else "")
    )
