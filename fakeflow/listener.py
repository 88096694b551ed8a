"""Connection handling with resource bounds: a cap on open connections, deadlines for idle and
slow clients, and a pause instead of a busy loop when the process runs out of file descriptors.

One thread (the loop) accepts connections and watches the idle kept-alive ones; when a
connection has something to read, a worker thread serves it, then hands it back to the loop.
A client that stalls mid-request holds one worker and one slot, never anyone else's: there is a
worker for every busy connection, up to the cap. The loop also enforces the deadlines: an idle
connection past its deadline is closed, a busy one is shut down, which wakes its worker.

Why a loop and workers rather than a thread that reads its own connection: with the client in
the same process (the pytest plugin's case), a thread that sends an answer and then waits on
the same socket fights the client for the GIL at every request; measured with MLflow's client on
a loaded machine, that cost several times the throughput (``benchmarks/bench_servers.py``).
"""

from __future__ import annotations

import errno
import queue
import selectors
import socket
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable

#: accept() errors that mean "out of descriptors or memory": retrying at once would spin.
_OUT_OF_RESOURCES = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM})
#: Pause before accepting again after such an error.
RESOURCE_BACKOFF_S = 0.1


@dataclass(frozen=True)
class Limits:
    """The server's bounds; every one is a ``ThreadedServer`` keyword and a ``fakeflow serve`` option.

    ``max_connections``: connections served at once; more wait in the listen backlog (an idle
    kept-alive connection is closed to make room for them). ``keep_alive_timeout``: seconds an idle
    kept-alive connection is held. ``request_timeout``: seconds a request's head, and then its body,
    may take to arrive, and the longest a response write may stall.
    """

    max_connections: int = 256
    keep_alive_timeout: float = 30.0
    request_timeout: float = 30.0

    def __post_init__(self) -> None:
        if self.max_connections < 1:
            raise ValueError("max_connections must be at least 1")
        if self.keep_alive_timeout <= 0 or self.request_timeout <= 0:
            raise ValueError("timeouts must be positive")


class Connection:
    """One accepted socket, the deadline it is working under, and its protocol state."""

    __slots__ = ("sock", "address", "deadline", "idle", "state", "_registry")

    def __init__(self, sock: socket.socket, address: tuple, registry: "Listener") -> None:
        self.sock = sock
        self.address = address
        self.deadline: float | None = None
        self.idle = False  # waiting in the loop for its next request
        self.state: Any = None  # the protocol handler's per-connection object
        self._registry = registry

    def expect(self, seconds: float | None) -> None:
        """Start a deadline (None: none, while the application works)."""
        deadline = None if seconds is None else time.monotonic() + seconds
        with self._registry.lock:
            self.deadline = deadline

    def hang_up(self) -> None:
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


class Listener:
    """Accepts on ``sock`` until ``stop()``. ``serve(connection)`` runs on a worker whenever a
    connection has data; it returns True to keep the connection (wait for its next request)."""

    def __init__(self, sock: socket.socket, serve: Callable[[Connection], bool], limits: Limits,
                 tick: float = 0.25) -> None:
        self.sock = sock
        self.limits = limits
        self.lock = threading.Lock()
        self._serve = serve
        self._tick = tick  # how often deadlines are checked
        self._slots = threading.BoundedSemaphore(limits.max_connections)
        self._open: set[Connection] = set()
        self._selector = selectors.DefaultSelector()
        self._returned: queue.SimpleQueue[Connection] = queue.SimpleQueue()
        self._jobs: queue.SimpleQueue[Connection | None] = queue.SimpleQueue()
        self._workers = 0
        self._spare_workers = 0  # waiting for a job, minus jobs not yet taken
        self._stopping = threading.Event()
        self._stopped = threading.Event()
        self._wake_reader, self._wake_writer = socket.socketpair()
        self._wake_reader.setblocking(False)
        sock.setblocking(False)

    # -- the loop ------------------------------------------------------------------------------

    def serve_forever(self) -> None:
        selector = self._selector
        selector.register(self.sock, selectors.EVENT_READ)
        selector.register(self._wake_reader, selectors.EVENT_READ)
        try:
            while not self._stopping.is_set():
                for key, _ in selector.select(self._tick):
                    if key.fileobj is self.sock:
                        self._accept_one()
                    elif key.fileobj is self._wake_reader:
                        self._drain_wakeups()
                    else:
                        self._wake_up(key.data)
                self._take_back()
                self._enforce_deadlines()
        finally:
            selector.close()
            self._stopped.set()

    def _accept_one(self) -> None:
        if self._stopping.is_set():
            return
        if not self._slots.acquire(blocking=False):
            self._close_one_idle()  # a client is waiting and every slot is taken
            if not self._slots.acquire(blocking=False):
                time.sleep(min(self._tick, 0.05))  # every connection is busy: do not spin
                return
        try:
            sock, address = self.sock.accept()
        except (BlockingIOError, InterruptedError):
            self._slots.release()
            return
        except OSError as error:
            self._slots.release()
            if error.errno in _OUT_OF_RESOURCES:
                self._stopping.wait(RESOURCE_BACKOFF_S)
            return
        connection = Connection(sock, address, self)
        connection.deadline = time.monotonic() + self.limits.request_timeout
        with self.lock:
            self._open.add(connection)
        self._dispatch(connection)  # a new client usually sends its request at once

    def _wake_up(self, connection: Connection) -> None:
        """An idle connection has data (or was closed): a worker takes it."""
        with self.lock:
            if not connection.idle:  # closed earlier in this same round of events
                return
            connection.idle = False
        self._selector.unregister(connection.sock)
        self._dispatch(connection)

    def _take_back(self) -> None:
        while True:
            try:
                connection = self._returned.get_nowait()
            except queue.Empty:
                return
            if self._stopping.is_set():
                self._release(connection)
                continue
            with self.lock:
                connection.idle = True
            try:
                self._selector.register(connection.sock, selectors.EVENT_READ, connection)
            except (ValueError, OSError):  # closed meanwhile
                self._release(connection)

    def _drain_wakeups(self) -> None:
        try:
            while self._wake_reader.recv(4096):
                pass
        except (BlockingIOError, OSError):
            pass

    def _enforce_deadlines(self) -> None:
        now = time.monotonic()
        with self.lock:
            late = [c for c in self._open if c.deadline is not None and c.deadline <= now]
            for connection in late:
                connection.deadline = None
        for connection in late:
            if connection.idle:
                self._close_idle(connection)
            else:
                connection.hang_up()  # its worker wakes up and lets it go

    def _close_one_idle(self) -> None:
        with self.lock:
            idle = [c for c in self._open if c.idle]
        if idle:
            self._close_idle(min(idle, key=lambda c: c.deadline or 0.0))

    def _close_idle(self, connection: Connection) -> None:
        try:
            self._selector.unregister(connection.sock)
        except (KeyError, ValueError):
            pass
        self._release(connection)

    # -- workers -------------------------------------------------------------------------------

    def _dispatch(self, connection: Connection) -> None:
        with self.lock:
            spawn = self._spare_workers < 1
            if spawn:
                self._workers += 1
            else:
                self._spare_workers -= 1
        if spawn:
            try:
                threading.Thread(target=self._work, daemon=True,
                                 name=f"fakeflow-worker:{self._workers}").start()
            except RuntimeError:  # no thread to spare: this client is refused
                with self.lock:
                    self._workers -= 1
                self._release(connection)
                return
        self._jobs.put(connection)

    def _work(self) -> None:
        while True:
            connection = self._jobs.get()
            if connection is None:
                return
            keep = False
            try:
                keep = self._serve(connection)
            except Exception:
                keep = False
            finally:
                if keep and not self._stopping.is_set():
                    self._returned.put(connection)
                    self._wake_loop()
                    if self._stopping.is_set():  # stop() may have drained the queue already
                        self._release_returned()
                else:
                    self._release(connection)
                with self.lock:
                    self._spare_workers += 1

    def _wake_loop(self) -> None:
        try:
            self._wake_writer.send(b"!")
        except OSError:
            pass

    def _release(self, connection: Connection) -> None:
        with self.lock:
            if connection not in self._open:
                return
            self._open.discard(connection)
            connection.idle = False
        try:
            close = getattr(connection.state, "close", None)
            if close is not None:
                close()  # its buffered reader holds the socket open otherwise
            connection.sock.close()
        finally:
            self._slots.release()

    def _release_returned(self) -> None:
        while True:
            try:
                self._release(self._returned.get_nowait())
            except queue.Empty:
                return

    @property
    def open_connections(self) -> int:
        with self.lock:
            return len(self._open)

    def stop(self, timeout: float = 5.0) -> None:
        """Stop accepting, close the listening socket and every connection, end the workers."""
        self._stopping.set()
        self._wake_loop()
        self._stopped.wait(timeout)
        self.sock.close()
        with self.lock:
            connections = list(self._open)
            workers = self._workers
        for connection in connections:
            if connection.idle:
                self._release(connection)
            else:
                connection.hang_up()
        self._release_returned()  # connections handed back after the loop ended
        for _ in range(workers):
            self._jobs.put(None)
        self._wake_reader.close()
        self._wake_writer.close()
