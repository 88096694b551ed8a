"""Per-server settings of the Comet dialect, kept beside the store they serve.

Handlers only receive the store, so the settings hang off it in a weak map: a store that is
gone takes its settings with it, and one process can serve several fakes with different ones.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass

DEFAULT_WORKSPACE = "fakeflow"
#: The lowest backend version for which comet-ml reads all metrics in one call (3.20.60);
#: below it the SDK lists columns and asks for each metric, which the dialect also serves.
DEFAULT_BACKEND_VERSION = "3.20.60"


@dataclass(frozen=True)
class CometSettings:
    enabled: bool = True
    #: The one workspace every project lives in.
    workspace: str = DEFAULT_WORKSPACE
    #: None: any ``Authorization`` is accepted. Otherwise requests must send exactly this key.
    api_key: str | None = None
    #: What ``/clientlib/isAlive/ver`` reports; the SDK picks endpoints by it.
    backend_version: str = DEFAULT_BACKEND_VERSION
    user_name: str = "fakeflow"


_SETTINGS: "weakref.WeakKeyDictionary[object, CometSettings]" = weakref.WeakKeyDictionary()
_DEFAULT = CometSettings()


def configure(store: object, **changes: object) -> CometSettings:
    """Change the dialect's settings for the server backed by ``store``; returns the new ones."""
    settings = CometSettings(**{**_SETTINGS.get(store, _DEFAULT).__dict__, **changes})  # type: ignore[arg-type]
    _SETTINGS[store] = settings
    return settings


def settings_for(store: object) -> CometSettings:
    return _SETTINGS.get(store, _DEFAULT)
