"""Symbolic ids: suites name the entities they create (``E1``, ``R3``); each target's real ids
are bound to those symbols so one generated sequence can run against two servers and their
answers can be compared after the ids are mapped back."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Ref:
    """Placeholder for a server-assigned value (id, random run name) in a request."""

    symbol: str


@dataclass(frozen=True)
class Sub:
    """A string containing refs, e.g. ``Sub("run_id = '{0}'", Ref("R1"))``."""

    template: str
    refs: tuple[Any, ...]

    def __init__(self, template: str, *refs: Any) -> None:
        object.__setattr__(self, "template", template)
        object.__setattr__(self, "refs", refs)


class IdMap:
    """Symbol <-> value bindings of one target."""

    def __init__(self) -> None:
        self.by_symbol: dict[str, str] = {}
        self.by_value: dict[str, str] = {}

    def bind(self, symbol: str, value: str) -> None:
        self.by_symbol[symbol] = value
        self.by_value[value] = symbol

    def value(self, symbol: str) -> str:
        try:
            return self.by_symbol[symbol]
        except KeyError:
            raise KeyError(f"symbol {symbol} is not bound on this target") from None

    def resolve(self, obj: Any) -> Any:
        """Replace every Ref/Sub in a request structure with this target's values."""
        if isinstance(obj, Ref):
            return self.value(obj.symbol)
        if isinstance(obj, Sub):
            return obj.template.format(*(self.resolve(r) for r in obj.refs))
        if isinstance(obj, dict):
            return {k: self.resolve(v) for k, v in obj.items()}
        if isinstance(obj, (list, tuple)):
            return [self.resolve(v) for v in obj]
        return obj

    def symbol_for(self, value: str) -> str | None:
        return self.by_value.get(value)

    def symbolise_text(self, text: str) -> str:
        """Replace long (unguessable) values inside free text, e.g. run ids in messages."""
        for value, symbol in self.by_value.items():
            if len(value) >= 8 and value in text:
                text = text.replace(value, f"<{symbol}>")
        return _EXPERIMENT_ID_IN_TEXT.sub(lambda m: m.group(1) + self._exp(m.group(2)), text)

    def _exp(self, value: str) -> str:
        symbol = self.by_value.get(value)
        return f"<{symbol}>" if symbol else value


# Places where MLflow writes a (short, numeric) experiment id into free text.
_EXPERIMENT_ID_IN_TEXT = re.compile(
    r"(mlflow-artifacts:/|No such artifact: '|id=|with id |[Ee]xperiment |experiment_id=|Experiment ID ')(\d+)"
)
