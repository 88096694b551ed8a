"""How the Comet dialect answers: JSON with ``Content-Type`` exactly ``application/json`` (the
SDK refuses ``; charset=utf-8``), errors as ``{"msg", "code", "sdk_error_code"}``, 401 and 404 where
the SDK raises ``Unauthorized``/``NotFound``, and never a 5xx for a client's mistake (the SDK
retries those for ~16 s)."""

from __future__ import annotations

import functools
import json
from typing import Any, Callable

from werkzeug.exceptions import NotFound
from werkzeug.wrappers import Request, Response

from fakeflow.dialects.comet.config import CometSettings, settings_for
from fakeflow.state.errors import RESOURCE_DOES_NOT_EXIST, MlflowError

JSON = "application/json"


class CometError(Exception):
    """A refusal, sent as Comet sends them."""

    def __init__(self, status: int, msg: str) -> None:
        super().__init__(msg)
        self.status = status
        self.msg = msg


def not_found(msg: str) -> CometError:
    return CometError(404, msg)


def bad_request(msg: str) -> CometError:
    return CometError(400, msg)


def json_response(payload: Any, status: int = 200) -> Response:
    response = Response(json.dumps(payload), status=status)
    response.headers["Content-Type"] = JSON  # set raw: no charset parameter added
    return response


def error_response(status: int, msg: str) -> Response:
    return json_response({"msg": msg, "code": status, "sdk_error_code": 0}, status)


Handler = Callable[[Any, Request, CometSettings], Any]


def endpoint(handler: Handler) -> Callable[[Any, Request], Response]:
    """Wrap a dialect handler as a route handler of the app: switched off -> the app's own 404;
    wrong key -> 401; Comet and store errors -> 4xx with ``msg``; a dict -> JSON."""

    @functools.wraps(handler)
    def route(store: Any, request: Request) -> Response:
        settings = settings_for(store)
        if not settings.enabled:
            raise NotFound()
        if settings.api_key is not None and request.headers.get("Authorization") != settings.api_key:
            return error_response(401, "Invalid or missing API key")
        try:
            result = handler(store, request, settings)
        except CometError as error:
            return error_response(error.status, error.msg)
        except MlflowError as error:
            status = 404 if error.error_code == RESOURCE_DOES_NOT_EXIST else 400
            return error_response(status, error.message)
        if isinstance(result, Response):
            return result
        return json_response(result)

    return route


def args(request: Request) -> dict[str, Any]:
    """Query arguments, or the JSON body of a POST (Comet's writes carry a JSON object)."""
    if request.method == "POST":
        try:
            body = json.loads(request.get_data(cache=True) or b"{}")
        except ValueError:
            raise bad_request("Request body is not valid JSON") from None
        if not isinstance(body, dict):
            raise bad_request("Request body must be a JSON object")
        return {**request.args.to_dict(), **body}
    return request.args.to_dict()


def required(values: dict[str, Any], name: str) -> Any:
    value = values.get(name)
    if value is None or value == "":
        raise bad_request(f"Missing required parameter: {name}")
    return value


def flag(value: Any) -> bool:
    """A boolean sent as JSON or as a query string (``archived=True``)."""
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1", "yes")
    return bool(value)
