"""MLflow's guard against artifact paths that could escape their root (a POSIX server's rules).

The path is decoded until it stops changing, control characters are spelled ``%xx``, and then
it is refused with ``Invalid path`` if it holds ``#``, a ``..`` component, or is absolute (POSIX
or Windows, also after a ``file:`` prefix is taken off). A backslash is an ordinary character.
The decoded, escaped form is what the rest of the request uses, as in MLflow.
"""

from __future__ import annotations

import pathlib
import posixpath
import urllib.parse
import urllib.request

from werkzeug.exceptions import InternalServerError

from fakeflow.state.errors import MlflowError, invalid

_MAX_DECODE_ROUNDS = 10


def _decode(text: str) -> str:
    """Unquote (with a parse/unparse round trip) until a fixed point, as MLflow's server does."""
    for _ in range(_MAX_DECODE_ROUNDS):
        once = urllib.parse.urlunparse(urllib.parse.urlparse(urllib.parse.unquote(text)))
        if once == text:
            return text
        text = once
    raise ValueError("Failed to decode url")


def _escape_controls(text: str) -> str:
    return "".join(f"%{ord(c):02x}" if ord(c) <= 31 or ord(c) == 127 else c for c in text)


def _without_file_scheme(path: str) -> str:
    parsed = urllib.parse.urlparse(path)
    if parsed.scheme != "file":
        return path
    return urllib.request.url2pathname(parsed.path)


def check_safe_path(path: str) -> str:
    """The validated form of ``path`` (decoded, control characters escaped), or ``Invalid path``
    (a path that never stops decoding: a bare 500, as MLflow's server gives)."""
    try:
        decoded = _escape_controls(_decode(path))
    except ValueError:  # still changing after 10 rounds: MLflow fails with a bare 500
        raise InternalServerError() from None
    if "#" in decoded:
        raise invalid("Invalid path")
    local = _without_file_scheme(decoded)
    if (
        ".." in local.split("/")
        or pathlib.PurePosixPath(local).is_absolute()
        or pathlib.PureWindowsPath(local).is_absolute()
    ):
        raise invalid("Invalid path")
    return local


def bad_directory_error(directory: str) -> MlflowError | None:
    """MLflow refuses (as an internal error) an upload directory that normalises to another name."""
    if not directory:
        return None
    norm = posixpath.normpath(directory)
    if norm != directory or norm == "." or norm.startswith("..") or norm.startswith("/"):
        return MlflowError(
            f"Invalid artifact path: '{directory}'. Names may be treated as files in certain "
            "cases, and must not resolve to other names when treated as such. This name would "
            f"resolve to {norm!r}",
            "INTERNAL_ERROR",
        )
    return None


def normalise(path: str) -> str:
    """The storage key of a validated path: ``os.path.normpath`` on POSIX, root as ``""``."""
    norm = posixpath.normpath(path) if path else "."
    return "" if norm == "." else norm.lstrip("/")


__all__ = ["bad_directory_error", "check_safe_path", "normalise"]
