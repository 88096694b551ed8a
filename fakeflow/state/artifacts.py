"""Artifacts in memory: the directory tree behind ``mlflow server --artifacts-destination``.

Keys are normalised paths relative to that root (``"0/<run_id>/artifacts/model/MLmodel"``); the
run artifact URI ``mlflow-artifacts:/0/<run_id>/artifacts`` names the directory
``0/<run_id>/artifacts``. A file's content is a tuple of byte chunks, never copied or joined:
readers take the tuple under the lock and stream it out after releasing it. Directories exist
explicitly (as on disk: deleting the last file leaves its directory behind).

The store has its own short lock and never does I/O under it; uploads are received into a
private list first and published in one step. Two bounds keep a test run from eating the
machine: ``max_file_bytes`` per file and ``max_total_bytes`` for the whole store.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Iterable, Iterator, NamedTuple

#: Longest file name (one path component, in bytes) a Linux filesystem takes (NAME_MAX).
NAME_MAX = 255
DEFAULT_MAX_FILE_BYTES = 1024 * 1024 * 1024
DEFAULT_MAX_TOTAL_BYTES = 4 * 1024 * 1024 * 1024

Chunks = tuple[bytes, ...]


class TooLarge(Exception):
    """An upload would exceed a bound; the message says which one."""


class Conflict(Exception):
    """A file where a directory must be, or the other way round (a local filesystem fails)."""


class Entry(NamedTuple):
    path: str  # relative to the listed directory's root (see ``ArtifactStore.list``)
    is_dir: bool
    size: int


@dataclass(frozen=True)
class StoredFile:
    chunks: Chunks
    size: int

    def data(self) -> bytes:
        """The whole content as one bytes object (a copy: for snapshots and small reads)."""
        return b"".join(self.chunks)


def _parents(path: str) -> Iterator[str]:
    """``"a/b/c"`` -> ``"a/b"``, ``"a"``, ``""``."""
    while path:
        path = path.rpartition("/")[0]
        yield path


def name_too_long(name: str) -> bool:
    """Whether a file system would refuse ``name`` as one path component (ENAMETOOLONG)."""
    return len(name.encode("utf-8", "surrogatepass")) > NAME_MAX


def _under(directory: str, path: str) -> bool:
    return not directory or path == directory or path.startswith(directory + "/")


class ArtifactStore:
    """Files and directories under one root, with size bounds; safe to share between threads."""

    def __init__(
        self,
        max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
        max_total_bytes: int = DEFAULT_MAX_TOTAL_BYTES,
    ) -> None:
        self.lock = threading.Lock()
        self.max_file_bytes = max_file_bytes
        self.max_total_bytes = max_total_bytes
        self._files: dict[str, StoredFile] = {}
        self._dirs: set[str] = {""}
        self._total = 0

    # ---- bounds ---------------------------------------------------------------------------

    def configure(self, max_file_bytes: int | None = None, max_total_bytes: int | None = None) -> None:
        if max_file_bytes is not None:
            self.max_file_bytes = max_file_bytes
        if max_total_bytes is not None:
            self.max_total_bytes = max_total_bytes

    @property
    def total_bytes(self) -> int:
        return self._total

    def _check_total(self, size: int, replaced: int) -> None:
        if self._total - replaced + size > self.max_total_bytes:
            raise TooLarge(
                f"Artifact store is full: storing {size} more bytes would exceed the bound of "
                f"{self.max_total_bytes} bytes for all artifacts (fakeflow "
                "--max-artifact-store-bytes)."
            )

    def _too_big(self, size: int) -> TooLarge:
        return TooLarge(
            f"Artifact exceeds the bound of {self.max_file_bytes} bytes per file "
            "(fakeflow --max-artifact-bytes)."
        )

    # ---- writes ---------------------------------------------------------------------------

    def receive(self, pieces: Iterable[bytes], replacing: str | None = None) -> StoredFile:
        """Collect an upload's chunks (no lock held), failing as soon as a bound is passed.

        ``replacing`` is the key the upload will overwrite: its bytes do not count twice.
        """
        chunks: list[bytes] = []
        size = 0
        for piece in pieces:
            if not piece:
                continue
            size += len(piece)
            if size > self.max_file_bytes:
                raise self._too_big(size)
            with self.lock:
                old = self._files.get(replacing) if replacing is not None else None
                self._check_total(size, old.size if old else 0)
            chunks.append(bytes(piece))
        return StoredFile(tuple(chunks), size)

    def check_writable(self, path: str) -> None:
        """Raise ``Conflict`` where a local filesystem could not create file ``path``."""
        with self.lock:
            self._check_writable(path)

    def _check_writable(self, path: str) -> None:
        if path in self._dirs or not path:
            raise Conflict(f"is a directory: {path!r}")
        for parent in _parents(path):
            if parent in self._files:
                raise Conflict(f"not a directory: {parent!r}")

    def publish(self, path: str, content: StoredFile) -> None:
        """Make ``content`` the file at ``path`` (creating its directories), atomically."""
        if content.size > self.max_file_bytes:
            raise self._too_big(content.size)
        with self.lock:
            self._check_writable(path)
            old = self._files.get(path)
            self._check_total(content.size, old.size if old else 0)
            self._dirs.update(_parents(path))
            self._files[path] = content
            self._total += content.size - (old.size if old else 0)

    def put(self, path: str, data: bytes) -> None:
        """Store small ``data`` at ``path`` (tests and snapshots)."""
        self.publish(path, StoredFile((data,) if data else (), len(data)))

    def restore(self, path: str, data: bytes) -> None:
        """Put back a file from a snapshot: the bounds that admitted it then do not apply again."""
        with self.lock:
            old = self._files.get(path)
            self._dirs.update(_parents(path))
            self._files[path] = StoredFile((data,) if data else (), len(data))
            self._total += len(data) - (old.size if old else 0)

    def make_dirs(self, path: str) -> None:
        with self.lock:
            self._check_can_make_dirs(path)
            self._dirs.add(path)
            self._dirs.update(_parents(path))

    def check_can_make_dirs(self, path: str) -> None:
        """Raise ``Conflict`` where ``make_dirs(path)`` would (a file on the way); change nothing."""
        with self.lock:
            self._check_can_make_dirs(path)

    def _check_can_make_dirs(self, path: str) -> None:
        for parent in [path, *_parents(path)]:
            if parent in self._files:
                raise Conflict(f"not a directory: {parent!r}")

    def delete(self, path: str) -> None:
        """Remove a file, or a directory with everything under it; nothing there is fine."""
        with self.lock:
            if path in self._files:
                self._total -= self._files.pop(path).size
                return
            if path not in self._dirs:
                return
            for key in [k for k in self._files if _under(path, k)]:
                self._total -= self._files.pop(key).size
            self._dirs = {d for d in self._dirs if not _under(path, d) or d == ""}
            if path:
                self._dirs.discard(path)

    def clear(self) -> None:
        with self.lock:
            self._files.clear()
            self._dirs = {""}
            self._total = 0

    # ---- reads ----------------------------------------------------------------------------

    def get(self, path: str) -> StoredFile | None:
        """The file at ``path`` (immutable: stream it after this returns), or ``None``."""
        with self.lock:
            return self._files.get(path)

    def is_dir(self, path: str) -> bool:
        with self.lock:
            return path in self._dirs

    def exists(self, path: str) -> bool:
        with self.lock:
            return path in self._dirs or path in self._files

    def reaches_long_name(self, path: str) -> bool:
        """Whether looking ``path`` up on disk would fail with ENAMETOOLONG: the walk meets a
        name over ``NAME_MAX`` bytes before it meets a missing entry or a file (which end it
        quietly, as "not found")."""
        with self.lock:
            current = ""
            for part in path.split("/") if path else ():
                if name_too_long(part):
                    return True
                current = f"{current}/{part}" if current else part
                if current not in self._dirs:
                    return False
        return False

    def list(self, directory: str) -> list[Entry]:
        """The direct children of ``directory``, sorted by name; a file or nothing lists empty.

        Entry paths are relative to the store root (callers cut the prefix they need)."""
        with self.lock:
            if directory not in self._dirs:
                return []
            prefix = directory + "/" if directory else ""
            entries = [
                Entry(d, True, 0) for d in self._dirs
                if d and d.startswith(prefix) and "/" not in d[len(prefix):]
                and (prefix or not d.startswith("#"))  # namespaces no request path can name
            ]
            entries += [
                Entry(k, False, f.size) for k, f in self._files.items()
                if k.startswith(prefix) and "/" not in k[len(prefix):]
            ]
        return sorted(entries, key=lambda e: e.path)

    def items(self) -> tuple[list[str], list[tuple[str, StoredFile]]]:
        """(directories, files) as of now, for snapshots."""
        with self.lock:
            return sorted(self._dirs - {""}), sorted(self._files.items())


__all__ = ["NAME_MAX", "ArtifactStore", "Conflict", "Entry", "StoredFile", "TooLarge", "name_too_long"]
