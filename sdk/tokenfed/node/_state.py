"""The node's durable state: SQLite files in its data directory, closed on shutdown.

Each role opens what it needs through :class:`NodeState`, which remembers every store so that
shutdown closes them all (API-018).
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path
from typing import Protocol, TypeVar

from ..errors import IoError, TemporarilyUnavailableError

__all__ = ["NodeState"]


class _Closable(Protocol):
    def close(self) -> None: ...


StoreT = TypeVar("StoreT", bound=_Closable)


class NodeState:
    """The data directory of a node and the stores opened in it."""

    def __init__(self, data_dir: Path) -> None:
        try:
            data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        except OSError as exc:
            raise IoError(f"cannot create the data directory {data_dir}: {exc.strerror}") from None
        self.data_dir = data_dir
        self._stores: list[_Closable] = []
        self._lock = threading.Lock()
        self.closed = False

    def path(self, name: str) -> Path:
        """The path of a file of the node's state."""
        return self.data_dir / name

    def keep(self, store: StoreT) -> StoreT:
        """Remember ``store`` so that :meth:`close` closes it."""
        with self._lock:
            self._stores.append(store)
        return store

    def connect(self, name: str) -> sqlite3.Connection:
        """A SQLite connection (WAL, 5 s busy timeout) to ``name`` in the data directory."""
        try:
            connection = sqlite3.connect(
                self.path(name), timeout=5.0, isolation_level=None, check_same_thread=False
            )
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=FULL")
        except sqlite3.Error as exc:
            raise IoError(f"cannot open {self.path(name)}: {exc}") from None
        return self.keep(connection)

    def check(self) -> None:
        """Raise ``temporarily_unavailable`` once the state is closed."""
        if self.closed:
            raise TemporarilyUnavailableError("the node's state is closed")

    def close(self) -> None:
        """Close every store (idempotent)."""
        with self._lock:
            stores, self._stores = self._stores, []
            self.closed = True
        for store in reversed(stores):
            store.close()
