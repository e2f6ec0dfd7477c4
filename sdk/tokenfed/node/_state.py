"""The node's durable state: SQLite files in its data directory, closed on shutdown.

Each role opens what it needs through :class:`NodeState`, which remembers every store so that
shutdown closes them all (API-018).
"""

from __future__ import annotations

import hashlib
import os
import secrets
import sqlite3
import threading
from pathlib import Path
from typing import Protocol, TypeVar

from ..errors import IoError, TemporarilyUnavailableError

__all__ = ["IssuedLog", "NodeState", "pairwise_secret"]


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
                self.path(name), timeout=5, isolation_level=None, check_same_thread=False
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


_ISSUED_SCHEMA = """
CREATE TABLE IF NOT EXISTS issued_entitlements (
    jti TEXT PRIMARY KEY,
    aud TEXT NOT NULL,
    token TEXT NOT NULL,
    exp INTEGER NOT NULL,
    issued_at INTEGER NOT NULL
)
"""


class IssuedLog:
    """The operator's durable record of the entitlements it issued (ENT-011)."""

    def __init__(self, state: NodeState) -> None:
        self._connection = state.connect("operator.sqlite")
        self._lock = threading.Lock()
        try:
            self._connection.execute(_ISSUED_SCHEMA)
        except sqlite3.Error as exc:
            raise IoError(f"cannot prepare operator.sqlite: {exc}") from None

    def add(self, jti: str, aud: str, token: str, exp: int, issued_at: int) -> None:
        """Record one issued entitlement."""
        with self._lock:
            try:
                self._connection.execute(
                    "INSERT INTO issued_entitlements VALUES (?, ?, ?, ?, ?)",
                    (jti, aud, token, exp, issued_at),
                )
            except sqlite3.Error as exc:
                raise IoError(f"cannot record entitlement {jti}: {exc}") from None

    def tokens(self) -> list[str]:
        """Every issued entitlement, oldest first."""
        with self._lock:
            rows = self._connection.execute(
                "SELECT token FROM issued_entitlements ORDER BY issued_at, jti"
            ).fetchall()
        return [str(row[0]) for row in rows]


_ARCHIVE_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS archived_chains (
    digest TEXT PRIMARY KEY,
    chain TEXT NOT NULL,
    trust_anchor TEXT NOT NULL,
    validated_at INTEGER NOT NULL
)""",
    """CREATE TABLE IF NOT EXISTS receipt_chains (
    iss TEXT NOT NULL,
    jti TEXT NOT NULL,
    chain_digest TEXT NOT NULL REFERENCES archived_chains (digest),
    PRIMARY KEY (iss, jti)
)""",
)


class ChainArchive:
    """The trust chains the operator verified receipts through (FED-153), kept with them: each
    chain once (``application/trust-chain+json``, by its SHA-256), each receipt pointing to it,
    so that a receipt can be verified again months later with ``verify_archived_chain``."""

    def __init__(self, state: NodeState) -> None:
        self._connection = state.connect("operator.sqlite")
        self._lock = threading.Lock()
        try:
            for statement in _ARCHIVE_SCHEMA:
                self._connection.execute(statement)
        except sqlite3.Error as exc:
            raise IoError(f"cannot prepare operator.sqlite: {exc}") from None

    def record(self, iss: str, jti: str, chain: str, trust_anchor: str, validated_at: int) -> None:
        """Archive ``chain`` (its JSON text) for the receipt ``(iss, jti)``, in one transaction."""
        digest = "sha256:" + hashlib.sha256(chain.encode("utf-8")).hexdigest()
        with self._lock:
            try:
                with self._connection:
                    self._connection.execute(
                        "INSERT OR IGNORE INTO archived_chains VALUES (?, ?, ?, ?)",
                        (digest, chain, trust_anchor, validated_at),
                    )
                    self._connection.execute(
                        "INSERT OR IGNORE INTO receipt_chains VALUES (?, ?, ?)", (iss, jti, digest)
                    )
            except sqlite3.Error as exc:
                raise IoError(f"cannot archive the chain of receipt {jti}: {exc}") from None

    def chain_of(self, iss: str, jti: str) -> str | None:
        """The archived chain (JSON text) the receipt ``(iss, jti)`` was verified through."""
        with self._lock:
            row = self._connection.execute(
                "SELECT chain FROM archived_chains JOIN receipt_chains"
                " ON archived_chains.digest = receipt_chains.chain_digest"
                " WHERE iss = ? AND jti = ?",
                (iss, jti),
            ).fetchone()
        return None if row is None else str(row[0])


def pairwise_secret(state: NodeState) -> bytes:
    """The operator's secret for pairwise subject ids (REC-003), made on first start (0600)."""
    path = state.path("pairwise.secret")
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    except OSError as exc:
        raise IoError(f"cannot create {path}: {exc.strerror}") from None
    else:
        with os.fdopen(fd, "wb") as handle:
            handle.write(secrets.token_bytes(32))
            handle.flush()
            os.fsync(handle.fileno())
    try:
        secret = path.read_bytes()
    except OSError as exc:
        raise IoError(f"cannot read {path}: {exc.strerror}") from None
    if len(secret) < 32:
        raise IoError(f"{path} is shorter than 32 bytes; remove it only if no entitlement is live")
    return secret
