"""MLflow's guard against artifact paths that could escape their root."""

from __future__ import annotations

import pathlib
import urllib.parse

from fakeflow.state.errors import invalid


def check_safe_path(path: str) -> str:
    """MLflow on a POSIX server: no '#', no '..' component, nothing absolute (POSIX or Windows).

    A backslash is an ordinary character there, as it is in fakeflow's storage keys.
    """
    decoded = urllib.parse.unquote(path)
    if (
        "#" in decoded
        or ".." in decoded.split("/")
        or pathlib.PurePosixPath(decoded).is_absolute()
        or pathlib.PureWindowsPath(decoded).is_absolute()
    ):
        raise invalid("Invalid path")
    return decoded
