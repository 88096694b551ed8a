"""Handlers imported on their first call.

The route table names several hundred handlers across a dozen modules; importing them all
before the server listens made ``fakeflow serve`` answer its first ``/health`` later than it
needs to. A route names ``handlers("fakeflow.web.trace_handlers").start_trace_v3`` instead, and
the module is imported when a request first reaches it.
"""

from __future__ import annotations

import importlib
from typing import Any, Callable


class LazyHandler:
    """Stands in for ``module.name`` until the first call, then calls it directly.

    ``__module__`` and ``__name__`` are the real function's, so the route documentation and
    anything else that looks at a handler's identity see the same names as before.
    """

    def __init__(self, module: str, name: str) -> None:
        self.__module__ = module
        self.__name__ = name
        self._function: Callable[..., Any] | None = None

    def resolve(self) -> Callable[..., Any]:
        function = self._function
        if function is None:
            function = getattr(importlib.import_module(self.__module__), self.__name__)
            self._function = function
        return function

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.resolve()(*args, **kwargs)

    def __repr__(self) -> str:
        return f"<handler {self.__module__}.{self.__name__}>"


class HandlerModule:
    """``handlers(name).attr`` gives one ``LazyHandler`` per attribute name, without importing."""

    def __init__(self, module: str) -> None:
        self._module = module
        self._handlers: dict[str, LazyHandler] = {}

    def __getattr__(self, name: str) -> LazyHandler:
        if name.startswith("__"):
            raise AttributeError(name)
        handler = self._handlers.get(name)
        if handler is None:
            handler = self._handlers[name] = LazyHandler(self._module, name)
        return handler


def handlers(module: str) -> HandlerModule:
    return HandlerModule(module)
