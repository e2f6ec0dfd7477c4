"""Durable storage for usage receipts: the verifier's ledger and the issuer's stream state.

Two small interfaces, each with a SQLite implementation that a server database can replace:

* :class:`ReceiptLedger` (:class:`SqliteLedger`) records receipts a verifier accepted. A
  receipt is identified by ``(iss, jti)``; recording the same content again is accepted once
  (:attr:`InsertOutcome.DUPLICATE`), other content under a known ``(iss, jti)`` is a replay
  (:attr:`InsertOutcome.CONFLICT`). It answers the head of each ``(iss, aud)`` stream and
  exact per-stream totals.
* :class:`StreamStore` (:class:`SqliteStreamStore`) keeps an issuer's ``seq``/``prev`` chain
  state so that a restarted issuer never reuses a ``seq`` or forks a chain:
  :meth:`StreamStore.issue` reads the head, builds the next receipt and stores it in one
  transaction.

Durability. Both SQLite stores use write-ahead logging (``journal_mode=WAL``, readers do not
block the writer) with ``synchronous=FULL``. In WAL mode ``synchronous=NORMAL`` syncs the log
only at checkpoints, so a transaction whose COMMIT had returned can be lost on power failure
or operating-system crash (not on a process crash). With ``FULL`` the log is synced at every
commit: once :meth:`SqliteLedger.record` or :meth:`SqliteStreamStore.issue` returns, the
result survives a power cut. That matters here because a lost ledger commit would let a replay
of an accepted receipt through, and a lost stream commit after a receipt was handed out would
let the restarted issuer sign a second receipt with the same ``seq`` and another ``prev``.

Every write runs in ``BEGIN IMMEDIATE`` ... ``COMMIT``: the write lock is taken at the start,
so two writers (threads or processes) are serialized, and a process killed before COMMIT
leaves nothing of its transaction behind. A writer waits up to ``busy_timeout_ms`` for
another one to finish.

Threads. An instance owns one SQLite connection, opened with ``check_same_thread=False`` and
guarded by a lock: one instance may be shared by threads, whose calls run one at a time.
Processes each open their own instance on the same file.

Every SQLite failure is raised as :class:`~tokenfed.errors.IoError` (code ``io_error``).
"""

from __future__ import annotations

import base64
import binascii
import enum
import hashlib
import json
import operator
import os
import re
import sqlite3
import threading
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, fields
from decimal import Decimal
from pathlib import Path
from types import TracebackType
from typing import ClassVar, Protocol, Self

from ._decimal import CANONICAL_DECIMAL, format_decimal, scaled
from .errors import (
    ChainBreakError,
    IoError,
    ReplayError,
)

__all__ = [
    "DEFAULT_BUSY_TIMEOUT_MS",
    "LEDGER_SCHEMA_VERSION",
    "STREAM_SCHEMA_VERSION",
    "InsertOutcome",
    "LedgerEntry",
    "ReceiptLedger",
    "SqliteLedger",
    "SqliteStreamStore",
    "StreamRow",
    "StreamStore",
]

LEDGER_SCHEMA_VERSION = 5
"""Version of the receipt ledger's tables, kept in the ``tokenfed_schema`` table. Version 3 adds
the ``model``, ``rate_card_digest`` and ``micro`` columns that settlement statements are built
from; version 4 adds ``merkle_leaf`` (the receipt's leaf hash in a statement's Merkle tree,
SET-026) and two covering indexes, one in the order of SET-026 and one by statement line;
version 5 orders the entries of the index by statement line by ``seq`` after ``iat``. A
version 2, 3 or 4 file is migrated in place when it is opened (one transaction)."""

STREAM_SCHEMA_VERSION = 3
"""Version of the stream store's tables, kept in the ``tokenfed_schema`` table. Version 3
adds each issued receipt's ``jti``, unique per issuer (REC-002); a version 2 file is migrated
in place when it is opened (one transaction)."""

DEFAULT_BUSY_TIMEOUT_MS = 30_000
"""How long a write waits for another writer of the same file before failing with IoError."""

_DIGEST = re.compile(r"sha256:[0-9a-f]{64}")
_MICRO_PLACES = 6
_SQLITE_INT_MAX = 2**63 - 1
_TEXT_MEMBERS = ("iss", "jti", "aud", "sub", "rate_card_id", "receipt")


def _check_text(owner: str, name: str, value: object) -> None:
    """A programming error, not a rejected document: TypeError or ValueError."""
    if not isinstance(value, str):
        raise TypeError(f"{owner}.{name} must be a string, not {type(value).__name__}")
    if not value:
        raise ValueError(f"{owner}.{name} must not be empty")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError(
            f"{owner}.{name} holds a lone surrogate and cannot be stored as UTF-8"
        ) from None


def _micro(coefficient: int, places: int) -> int | None:
    """An amount ``coefficient * 10**-places`` in integer micro-UTU, if exact and in range."""
    if coefficient < 0 or places > _MICRO_PLACES:
        return None
    micro = coefficient * 10 ** (_MICRO_PLACES - places)
    return micro if micro <= _SQLITE_INT_MAX else None


def _claims_segment(receipt: str) -> str:
    """The base64url claims of a receipt in a form the ledger stores: a JWS compact
    serialization, a batched receipt's base64url claims bytes, or a batched-receipt object."""
    text = receipt.strip()
    if text.startswith("{"):
        encoded: str = json.loads(text)["claims"]
        return encoded
    return text.split(".", 2)[1] if "." in text else text


def _merkle_leaf(content_digest: str) -> bytes:
    """The leaf hash of a receipt in a statement's Merkle tree (SET-026, RFC 9162): SHA-256 of
    0x00 and the 32 bytes that the hex digits of its content digest encode."""
    return hashlib.sha256(b"\x00" + bytes.fromhex(content_digest[7:])).digest()


def _stored_leaf(content_digest: object) -> bytes | None:
    """The leaf hash of a stored content digest, ``None`` if it is not one (a damaged row)."""
    if type(content_digest) is not str or _DIGEST.fullmatch(content_digest) is None:
        return None
    return _merkle_leaf(content_digest)


def _model_and_card(receipt: object) -> tuple[str | None, str | None]:
    """The ``usage.model`` and ``rate_card.digest`` of a stored receipt, or ``None`` for what
    cannot be read: the receipt was verified before it was recorded."""
    try:
        text = _claims_segment(str(receipt))
        claims = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
        model, digest = claims["usage"]["model"], claims["rate_card"]["digest"]
    except (ValueError, TypeError, KeyError, IndexError, binascii.Error):
        return None, None
    return (
        model if isinstance(model, str) and model else None,
        digest if isinstance(digest, str) and _DIGEST.fullmatch(digest) else None,
    )


def _check_digest(owner: str, name: str, value: object) -> None:
    if not isinstance(value, str):
        raise TypeError(f"{owner}.{name} must be a string, not {type(value).__name__}")
    if _DIGEST.fullmatch(value) is None:
        raise ValueError(
            f"{owner}.{name} must be 'sha256:' followed by 64 lowercase hex digits, "
            f"not {value!r:.80}"
        )


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    """One accepted receipt, as the ledger stores it.

    The caller computes the two digests: ``content_digest`` identifies the receipt's content
    (``sha256:`` of its claims bytes as received, REC-010): it decides duplicate versus replay
    and is what the next receipt's ``prev`` names (REC-007). ``receipt_digest`` (``sha256:`` of
    the compact JWS bytes, or of the Merkle leaf for a batched receipt) identifies the exact
    bytes received, for audit.

    Raises:
        TypeError: a member has the wrong type (the message names it).
        ValueError: a member has the wrong form, or ``amount`` is not finite.
    """

    iss: str
    jti: str
    aud: str
    sub: str
    seq: int
    iat: int
    amount: Decimal
    rate_card_id: str
    content_digest: str
    receipt_digest: str
    receipt: str
    batch_id: str | None = None
    model: str | None = None
    """The receipt's ``usage.model``; settlement statements group by it (SET-022)."""
    rate_card_digest: str | None = None
    """The digest of the rate card that priced the receipt (its ``rate_card.digest``)."""

    def __post_init__(self) -> None:
        for name in _TEXT_MEMBERS:
            _check_text("LedgerEntry", name, getattr(self, name))
        for name, lowest in (("seq", 1), ("iat", 0)):
            value = getattr(self, name)
            if type(value) is not int:
                raise TypeError(f"LedgerEntry.{name} must be an int, not {type(value).__name__}")
            if value < lowest:
                raise ValueError(f"LedgerEntry.{name} must be >= {lowest}, not {value}")
        if not isinstance(self.amount, Decimal):
            raise TypeError(
                f"LedgerEntry.amount must be a Decimal, not {type(self.amount).__name__}"
            )
        if not self.amount.is_finite():
            raise ValueError(f"LedgerEntry.amount must be finite, not {self.amount}")
        _check_digest("LedgerEntry", "content_digest", self.content_digest)
        _check_digest("LedgerEntry", "receipt_digest", self.receipt_digest)
        if self.batch_id is not None:
            _check_text("LedgerEntry", "batch_id", self.batch_id)
        if self.model is not None:
            _check_text("LedgerEntry", "model", self.model)
        if self.rate_card_digest is not None:
            _check_digest("LedgerEntry", "rate_card_digest", self.rate_card_digest)

    @classmethod
    def _unchecked(cls, *values: object) -> LedgerEntry:
        """An entry from values that were validated already (a verified receipt's members, in
        field order), built without checking them again: the tracker's hot path."""
        entry = object.__new__(cls)
        for name, value in zip(_FIELDS, values, strict=True):
            object.__setattr__(entry, name, value)
        return entry

    @property
    def micro(self) -> int | None:
        """The amount in integer micro-UTU, or ``None`` if it is negative or has more than six
        fractional digits (a receipt's amount never does, REC-004), or does not fit a 64-bit
        SQLite integer."""
        return _micro(*scaled(self.amount))


_FIELDS = tuple(field.name for field in fields(LedgerEntry))


class InsertOutcome(enum.Enum):
    """What :meth:`ReceiptLedger.record` did with one entry."""

    INSERTED = "inserted"
    """A new ``(iss, jti)``: the entry is now recorded."""

    DUPLICATE = "duplicate"
    """The same ``(iss, jti)`` with the same ``content_digest`` was already recorded: accepted
    idempotently, stored and counted once."""

    CONFLICT = "conflict"
    """The ``(iss, jti)`` was recorded with another ``content_digest``: a replay; not stored."""


class _Closable(Protocol):
    """Storage that is closed once, directly or by leaving a ``with`` block."""

    def close(self) -> None:
        """Release the storage; further calls raise :class:`~tokenfed.errors.IoError`."""
        ...

    def __enter__(self) -> Self:
        """Return the storage itself."""
        ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Close the storage."""
        ...


class ReceiptLedger(_Closable, Protocol):
    """Storage of accepted receipts; implement it to put the ledger in another database."""

    def record(
        self,
        entries: Iterable[LedgerEntry],
        *,
        expected_heads: Mapping[tuple[str, str], tuple[int, str] | None] | None = None,
    ) -> list[InsertOutcome]:
        """Record entries in ONE transaction and return one outcome per entry, in order.

        Either every new entry is stored or (on any failure, or if the process dies) none is.
        A :attr:`~InsertOutcome.CONFLICT` or :attr:`~InsertOutcome.DUPLICATE` entry is not
        stored; entries of the same call are compared with each other too.

        With ``expected_heads`` (the stream heads a verifier checked its receipts against), the
        call is all or nothing: if another writer moved one of those heads in the meantime it
        raises :class:`~tokenfed.errors.ChainBreakError`, and if any entry is a CONFLICT it raises
        :class:`~tokenfed.errors.ReplayError`; nothing is stored then (REC-042, REC-043, REC-045).
        """
        ...

    def lookup(self, iss: str, jti: str) -> LedgerEntry | None:
        """Return the entry recorded under ``(iss, jti)``, or ``None``."""
        ...

    def content_digests(self, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], str]:
        """Return the content digest recorded under each ``(iss, jti)`` of ``keys`` that is
        recorded (absent keys are left out): what replay detection needs (REC-042), for many
        receipts in one read and without reading whole entries."""
        ...

    def stream_head(self, iss: str, aud: str) -> tuple[int, str] | None:
        """Return the highest recorded ``seq`` of stream ``(iss, aud)`` and its content digest."""
        ...

    def totals(
        self, iss: str | None = None, aud: str | None = None
    ) -> dict[tuple[str, str], tuple[int, Decimal]]:
        """Return ``{(iss, aud): (count, exact sum of amounts)}``, optionally filtered."""
        ...


class StreamStore(_Closable, Protocol):
    """An issuer's durable ``(iss, aud)`` stream state: last ``seq``, its digest, the receipts."""

    def issue(self, iss: str, aud: str, build: Callable[[int, str | None], tuple[str, str]]) -> str:
        """Issue the next receipt of stream ``(iss, aud)`` atomically.

        Reads the head, calls ``build(next_seq, prev_digest)`` (``prev_digest`` is ``None``
        for ``seq`` 1), which returns ``(receipt_compact, content_digest)``, stores both as the
        new head and returns the receipt. If the process dies before the commit nothing is
        stored and the receipt was never returned; after it, :meth:`issued` returns it.
        """
        ...

    def issue_many(
        self,
        iss: str,
        requests: Sequence[tuple[str, Callable[[int, str | None], tuple[str, str]]]],
    ) -> list[str]:
        """Issue several receipts of ``iss`` (``(aud, build)`` each) in one atomic step."""
        ...

    def head(self, iss: str, aud: str) -> tuple[int, str] | None:
        """Return the last issued ``seq`` of ``(iss, aud)`` and its receipt digest, or ``None``."""
        ...

    def issued(self, iss: str, aud: str, seq: int) -> str | None:
        """Return the receipt issued as ``seq`` of ``(iss, aud)``, or ``None``."""
        ...


_SCHEMA_TABLE = (
    "CREATE TABLE IF NOT EXISTS tokenfed_schema ("
    " component TEXT PRIMARY KEY,"
    " version INTEGER NOT NULL CHECK (typeof(version) = 'integer'))"
)


class _SqliteStore:
    """One SQLite connection in WAL mode with ``synchronous=FULL``, a lock, a schema version."""

    _component: ClassVar[str]
    _version: ClassVar[int]
    _tables: ClassVar[tuple[str, ...]]
    _what: ClassVar[str]

    def __init__(
        self, path: str | os.PathLike[str], *, busy_timeout_ms: int = DEFAULT_BUSY_TIMEOUT_MS
    ) -> None:
        self._path = os.fspath(path)
        self._busy_timeout_ms = int(busy_timeout_ms)
        self._lock = threading.RLock()
        self._writing = False
        try:
            connection = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
        except sqlite3.Error as exc:
            raise self._io_error("open the database file", exc) from exc
        self._connection: sqlite3.Connection | None = connection
        try:
            connection.execute(f"PRAGMA busy_timeout = {self._busy_timeout_ms}")
            (mode,) = connection.execute("PRAGMA journal_mode = WAL").fetchone()
            if str(mode).lower() != "wal" and self._path != ":memory:":
                raise IoError(
                    f"{self._what} {self._path!r}: SQLite refused write-ahead logging "
                    f"(journal_mode is {mode!r}); put the file on a local filesystem"
                )
            connection.execute("PRAGMA synchronous = FULL")
            self._prepare()
        except BaseException as exc:
            connection.close()
            self._connection = None
            if isinstance(exc, sqlite3.Error):
                raise self._io_error("prepare the database", exc) from exc
            raise

    def _io_error(self, action: str, exc: BaseException) -> IoError:
        return IoError(
            f"{self._what} {self._path!r}: could not {action}: {exc}. Check that the file "
            "and its directory exist and are writable, that the file is a tokenfed SQLite "
            "database on a local filesystem, and that no other process holds its write lock "
            f"for more than {self._busy_timeout_ms} ms.",
            detail={"path": self._path, "action": action},
        )

    def _damaged(self, what: str, reason: object) -> IoError:
        return IoError(
            f"{self._what} {self._path!r}: {what} read back is not valid ({reason}); the file "
            "was modified outside tokenfed or is damaged: restore it from a backup.",
            detail={"path": self._path},
        )

    def _prepare(self) -> None:
        with self._write("create or check the tables") as connection:
            connection.execute(_SCHEMA_TABLE)
            row = connection.execute(
                "SELECT version FROM tokenfed_schema WHERE component = ?", (self._component,)
            ).fetchone()
            if row is not None and row[0] != self._version and self._migrate(connection, row[0]):
                connection.execute(
                    "UPDATE tokenfed_schema SET version = ? WHERE component = ?",
                    (self._version, self._component),
                )
                row = (self._version,)
            if row is not None and row[0] != self._version:
                newer = isinstance(row[0], int) and row[0] > self._version
                raise IoError(
                    f"{self._what} {self._path!r} has schema version {row[0]!r} but this "
                    f"tokenfed reads version {self._version}; "
                    + (
                        "upgrade tokenfed to open it."
                        if newer
                        else "it was written by an earlier draft release, whose streams chain "
                        "receipt bytes rather than content digests (REC-007): start a new file."
                    ),
                    detail={"path": self._path, "schema_version": row[0]},
                )
            for statement in self._tables:
                connection.execute(statement)
            if row is None:
                connection.execute(
                    "INSERT INTO tokenfed_schema (component, version) VALUES (?, ?)",
                    (self._component, self._version),
                )

    def _migrate(self, connection: sqlite3.Connection, version: object) -> bool:
        """Bring tables of an earlier ``version`` up to date inside the opening transaction;
        return False if this store cannot read that version."""
        return False

    def _open(self) -> sqlite3.Connection:
        if self._connection is None:
            raise IoError(f"{self._what} {self._path!r} is closed; open a new instance")
        return self._connection

    @contextmanager
    def _write(self, action: str) -> Iterator[sqlite3.Connection]:
        """Run the body in ``BEGIN IMMEDIATE`` ... ``COMMIT``; roll back on any exception."""
        with self._lock:
            connection = self._open()
            if self._writing:
                raise IoError(
                    f"{self._what} {self._path!r}: cannot {action} while another write of "
                    "this instance is in progress (a build callback must not write)"
                )
            try:
                connection.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise self._io_error(action, exc) from exc
            self._writing = True
            try:
                yield connection
                connection.execute("COMMIT")
            except BaseException as exc:
                if connection.in_transaction:
                    # The transaction is gone either way; report the first failure.
                    with suppress(sqlite3.Error):
                        connection.execute("ROLLBACK")
                if isinstance(exc, sqlite3.Error):
                    raise self._io_error(action, exc) from exc
                raise
            finally:
                self._writing = False

    @contextmanager
    def _read(self, action: str) -> Iterator[sqlite3.Connection]:
        with self._lock:
            connection = self._open()
            try:
                yield connection
            except sqlite3.Error as exc:
                raise self._io_error(action, exc) from exc

    def close(self) -> None:
        """Close the connection (idempotent); later calls raise :class:`IoError`."""
        with self._lock:
            connection, self._connection = self._connection, None
            if connection is not None:
                try:
                    connection.close()
                except sqlite3.Error as exc:
                    raise self._io_error("close the database", exc) from exc

    def __enter__(self) -> Self:
        """Return the store itself."""
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Close the store."""
        self.close()


_LEAF_CHECK = (
    "CHECK (merkle_leaf IS NULL OR (typeof(merkle_leaf) = 'blob' AND length(merkle_leaf) = 32))"
)

_LEDGER_TABLES = (
    "CREATE TABLE IF NOT EXISTS receipts ("
    " iss TEXT NOT NULL,"
    " jti TEXT NOT NULL,"
    " aud TEXT NOT NULL,"
    " sub TEXT NOT NULL,"
    " seq INTEGER NOT NULL CHECK (typeof(seq) = 'integer'),"
    " iat INTEGER NOT NULL CHECK (typeof(iat) = 'integer'),"
    " amount TEXT NOT NULL CHECK (typeof(amount) = 'text'),"
    " rate_card_id TEXT NOT NULL,"
    " content_digest TEXT NOT NULL,"
    " receipt_digest TEXT NOT NULL,"
    " receipt TEXT NOT NULL,"
    " batch_id TEXT,"
    " model TEXT,"
    " rate_card_digest TEXT,"
    " micro INTEGER CHECK (micro IS NULL OR typeof(micro) = 'integer'),"
    f" merkle_leaf BLOB {_LEAF_CHECK},"
    " PRIMARY KEY (iss, jti))",
    # A stream in the order of SET-026 with what its Merkle tree needs: statements read their
    # tree from this index alone. It also serves stream heads (seq) and stream reads.
    "CREATE INDEX IF NOT EXISTS receipts_in_order"
    " ON receipts (iss, aud, seq, jti, iat, merkle_leaf)",
    # A stream by statement line: statements add up their lines from this index alone. Within
    # a line its entries are in the order of (iat, seq), which a stream's receipts arrive in,
    # so a new receipt's entry lands at the line's end rather than anywhere in it (as it did
    # when the amount followed iat: receipts of one second were spread by their amounts).
    "CREATE INDEX IF NOT EXISTS receipts_by_line ON receipts"
    " (iss, aud, model, rate_card_digest, rate_card_id, iat, seq, micro, merkle_leaf)",
)

_INSERT_RECEIPT = (
    "INSERT INTO receipts (iss, jti, aud, sub, seq, iat, amount, rate_card_id,"
    " content_digest, receipt_digest, receipt, batch_id, model, rate_card_digest, micro,"
    " merkle_leaf) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (iss, jti) DO NOTHING"
)

_SELECT_RECEIPT = (
    "SELECT iss, jti, aud, sub, seq, iat, amount, rate_card_id, content_digest,"
    " receipt_digest, receipt, batch_id, model, rate_card_digest FROM receipts"
    " WHERE iss = ? AND jti = ?"
)


_STREAM_HEAD = (
    "SELECT seq, content_digest FROM receipts WHERE iss = ? AND aud = ?"
    " ORDER BY seq DESC, rowid DESC LIMIT 1"
)


_SELECT_DIGEST = "SELECT content_digest FROM receipts WHERE iss = ? AND jti = ?"

_GROUP_CACHE_KIB = 8192
"""The page cache (KiB) of a ledger connection that records groups (``SqliteLedger._group``):
a group of 4,096 receipts changes about 6 MiB of pages (a row of about 1.3 KiB, three indexes).
SQLite's default (2 MiB) writes pages to the log before the commit, and again when they change
again; 8 MiB measured 89 MB written for 20,000 receipts in groups of 4,096, 133 MB with the
default cache, and 165 MB in transactions of 512."""

LedgerRow = tuple[
    str, str, str, str, int, int, str, str, str, str, str, "str | None", "str | None",
    "str | None", "int | None", bytes,
]  # fmt: skip
"""The values of one row of the ``receipts`` table, in the column order of ``_INSERT_RECEIPT``:
``(iss, jti, aud, sub, seq, iat, amount, rate_card_id, content_digest, receipt_digest,
receipt, batch_id, model, rate_card_digest, micro, merkle_leaf)``, the amount as canonical
decimal text."""


def _row(entry: LedgerEntry) -> LedgerRow:
    """The row an entry is stored as."""
    return (
        entry.iss,
        entry.jti,
        entry.aud,
        entry.sub,
        entry.seq,
        entry.iat,
        format_decimal(entry.amount),
        entry.rate_card_id,
        entry.content_digest,
        entry.receipt_digest,
        entry.receipt,
        entry.batch_id,
        entry.model,
        entry.rate_card_digest,
        entry.micro,
        _merkle_leaf(entry.content_digest),
    )


def _receipt_row(
    iss: str,
    jti: str,
    aud: str,
    sub: str,
    seq: int,
    iat: int,
    amount: str,
    micro: int,
    rate_card_id: str,
    content_digest: str,
    receipt_digest: str,
    receipt: str,
    batch_id: str | None,
    model: str,
    rate_card_digest: str,
) -> LedgerRow:
    """The row of a verified receipt's members, without building a :class:`LedgerEntry`:
    ``amount`` is the receipt's canonical decimal text (REC-004, CONV-020) and ``micro`` the
    same amount in integer 10^-6 UTU, so the row equals that of the entry with
    ``Decimal(amount)``."""
    return (
        iss,
        jti,
        aud,
        sub,
        seq,
        iat,
        amount,
        rate_card_id,
        content_digest,
        receipt_digest,
        receipt,
        batch_id,
        model,
        rate_card_digest,
        micro if 0 <= micro <= _SQLITE_INT_MAX else None,
        _merkle_leaf(content_digest),
    )


def _insert_rows(
    connection: sqlite3.Connection,
    rows: Sequence[LedgerRow],
    expected_heads: Mapping[tuple[str, str], tuple[int, str] | None],
) -> None:
    """The body of :meth:`SqliteLedger._record_rows`, in the caller's transaction."""
    _check_heads(connection, expected_heads)
    inserted = connection.executemany(_INSERT_RECEIPT, rows).rowcount
    if inserted == len(rows):
        return
    execute = connection.execute
    for row in rows:  # some were recorded already: a duplicate, or a replay
        (known,) = execute(_SELECT_DIGEST, (row[0], row[1])).fetchone()
        if known != row[8]:
            raise _recorded_meanwhile(row[0], row[1])


def _check_heads(
    connection: sqlite3.Connection,
    expected_heads: Mapping[tuple[str, str], tuple[int, str] | None] | None,
) -> None:
    """Raise :class:`ChainBreakError` if a stream head is not the one expected (REC-047)."""
    for (iss, aud), expected in (expected_heads or {}).items():
        row = connection.execute(_STREAM_HEAD, (iss, aud)).fetchone()
        found = None if row is None else (int(row[0]), str(row[1]))
        if found != expected:
            raise ChainBreakError(
                f"stream {iss} -> {aud} moved while its receipts were checked "
                f"(head {found}, expected {expected}); nothing was recorded (REC-043)"
            )


def _recorded_meanwhile(iss: str, jti: str) -> ReplayError:
    return ReplayError(
        f"jti {jti!r} of {iss} was recorded meanwhile with other content; nothing was "
        "recorded (REC-042)"
    )


StreamRow = tuple[str, str, int, int, "int | None", "str | None", str, "str | None", str]
"""A row of :meth:`SqliteLedger.scan_stream`: ``(content_digest, jti, seq, iat, micro, model,
rate_card_id, rate_card_digest, receipt)``. ``micro``, ``model`` and ``rate_card_digest`` are
``None`` for an entry recorded without them, and only then is ``receipt`` given (else ``""``)."""

_SCAN_PAGE_SIZE = 4096  # the LIMIT of _SCAN_PAGE
_SCAN_PAGE = (
    "SELECT content_digest, jti, seq, iat, micro, model, rate_card_id, rate_card_digest,"
    " CASE WHEN micro IS NULL OR model IS NULL OR rate_card_digest IS NULL"
    " THEN receipt ELSE '' END"
    " FROM receipts WHERE iss = ? AND aud = ? AND iat < ? AND rowid <= ? AND (seq, jti) > (?, ?)"
    " ORDER BY seq, jti LIMIT 4096"
)


# The rows of a statement (SET-012, SET-026): the stream's receipts before the period's end
# that its read transaction sees, less the late ones already settled, whose leaf hashes are put
# in a temporary table for the statement: both statement reads below are answered from their
# covering index alone (and the table's).
_STATEMENT_ROWS = "iss = :iss AND aud = :aud AND iat < :end"
_NOT_SETTLED = (
    " AND (iat >= :start OR merkle_leaf IS NULL OR merkle_leaf NOT IN temp.tokenfed_settled)"
)
# Per (model, rate card digest, rate card id): the number of rows, of rows with a micro amount
# and of rows with a leaf hash (the others are read from their receipts and digests); the
# micro-UTU sum of all and the count and sum of the late rows. Sums are taken in two 32-bit
# halves, so that SQLite's 64-bit integer sum cannot overflow.
_LINE_TOTALS = (
    "SELECT model, rate_card_digest, rate_card_id, count(*), count(micro), count(merkle_leaf),"
    " sum(micro >> 32), sum(micro & 4294967295),"
    " count(*) FILTER (WHERE iat < :start),"
    " sum(micro >> 32) FILTER (WHERE iat < :start),"
    " sum(micro & 4294967295) FILTER (WHERE iat < :start)"
    " FROM receipts INDEXED BY receipts_by_line WHERE {rows}"
    " GROUP BY model, rate_card_digest, rate_card_id"
)
_LEAVES = (
    "SELECT merkle_leaf FROM receipts INDEXED BY receipts_in_order WHERE {rows} ORDER BY seq, jti"
)
_LEAF_PAGE_SIZE = 16384  # rows fetched at a time by StatementRead.leaf_pages

LineTotals = tuple[
    "str | None", "str | None", str, int, int, int, "int | None", "int | None", int,
    "int | None", "int | None",
]  # fmt: skip
"""A row of :meth:`StatementRead.line_totals`, see ``_LINE_TOTALS``."""


class StatementRead:
    """One read transaction over the rows of a statement (SET-012, SET-026): those of stream
    ``(iss, aud)`` with ``iat < end`` that the transaction sees, which are those up to row
    :attr:`snapshot` (the ledger only appends), less the late ones (``iat < start``) excluded
    by :meth:`exclude`. Its reads are answered by SQLite from the ledger's covering indexes,
    so that Python handles the lines, not the rows. Made by
    :meth:`SqliteLedger._statement_read`."""

    __slots__ = ("_connection", "_parameters", "_rows", "_table", "snapshot")

    def __init__(
        self, connection: sqlite3.Connection, iss: str, aud: str, period: tuple[int, int]
    ) -> None:
        self._connection = connection
        self._parameters = {"iss": iss, "aud": aud, "start": period[0], "end": period[1]}
        self._rows = _STATEMENT_ROWS
        self._table = False
        (last,) = connection.execute("SELECT coalesce(max(rowid), 0) FROM receipts").fetchone()
        self.snapshot: int = int(last)
        """The highest row number the transaction sees (see :meth:`SqliteLedger.snapshot`)."""

    def line_totals(self) -> list[LineTotals]:
        """One row per (model, rate card digest, rate card id): see ``_LINE_TOTALS``."""
        query = _LINE_TOTALS.format(rows=self._rows)
        totals: list[LineTotals] = self._connection.execute(query, self._parameters).fetchall()
        return totals

    def exclude(self, leaves: Collection[bytes]) -> None:
        """Leave out the late rows whose leaf hash is one of ``leaves`` (settled receipts),
        noted in a temporary table of this read."""
        if not self._table:
            self._connection.execute(
                "CREATE TEMP TABLE tokenfed_settled (leaf BLOB PRIMARY KEY) WITHOUT ROWID"
            )
            self._table = True
            self._rows = _STATEMENT_ROWS + _NOT_SETTLED
        self._connection.executemany(
            "INSERT OR IGNORE INTO temp.tokenfed_settled VALUES (?)",
            [(leaf,) for leaf in sorted(leaves)],
        )

    def leaf_pages(self) -> Iterator[list[bytes]]:
        """The ``merkle_leaf`` of each row (``None`` if it has none), in the order of
        SET-026, in pages of at most ``_LEAF_PAGE_SIZE``."""
        cursor = self._connection.execute(_LEAVES.format(rows=self._rows), self._parameters)
        first = operator.itemgetter(0)
        while page := cursor.fetchmany(_LEAF_PAGE_SIZE):
            yield list(map(first, page))

    def _finish(self) -> None:
        if self._table:
            self._connection.execute("DROP TABLE temp.tokenfed_settled")


class SqliteLedger(_SqliteStore, ReceiptLedger):
    """A :class:`ReceiptLedger` in one SQLite file (see the module notes on durability).

    Amounts are stored as canonical decimal TEXT, never REAL; :meth:`totals` adds them in
    Python with exact integer arithmetic on their scaled coefficients.

    Raises:
        IoError: the file cannot be opened or created, is not a tokenfed database, or has a
            schema version this release does not read.
    """

    _component = "receipt_ledger"
    _version = LEDGER_SCHEMA_VERSION
    _tables = _LEDGER_TABLES
    _what = "receipt ledger"

    def __init__(
        self, path: str | os.PathLike[str], *, busy_timeout_ms: int = DEFAULT_BUSY_TIMEOUT_MS
    ) -> None:
        self._grouped = False  # inside _group: _record_rows records in its transaction
        self._group_failed = False  # a _record_rows of the open group failed
        super().__init__(path, busy_timeout_ms=busy_timeout_ms)
        self._absolute = os.path.abspath(self._path)  # statement reads open it again

    def record(
        self,
        entries: Iterable[LedgerEntry],
        *,
        expected_heads: Mapping[tuple[str, str], tuple[int, str] | None] | None = None,
    ) -> list[InsertOutcome]:
        """Record entries in one ``BEGIN IMMEDIATE`` transaction; see :meth:`ReceiptLedger.record`.

        ``entries`` is consumed inside the transaction; an exception while iterating it (or
        any other) rolls the whole call back and propagates.

        Raises:
            TypeError: an item is not a :class:`LedgerEntry` (nothing is stored).
            IoError: SQLite failed (nothing is stored).
        """
        outcomes: list[InsertOutcome] = []
        with self._write("record receipts") as connection:
            execute = connection.execute
            _check_heads(connection, expected_heads)
            for entry in entries:
                if not isinstance(entry, LedgerEntry):
                    raise TypeError(f"record() takes LedgerEntry items, not {type(entry).__name__}")
                cursor = execute(_INSERT_RECEIPT, _row(entry))
                if cursor.rowcount == 1:
                    outcomes.append(InsertOutcome.INSERTED)
                    continue
                (known,) = execute(_SELECT_DIGEST, (entry.iss, entry.jti)).fetchone()
                outcomes.append(
                    InsertOutcome.DUPLICATE
                    if known == entry.content_digest
                    else InsertOutcome.CONFLICT
                )
                if expected_heads is not None and outcomes[-1] is InsertOutcome.CONFLICT:
                    raise _recorded_meanwhile(entry.iss, entry.jti)
        return outcomes

    def _record_rows(
        self,
        rows: Sequence[LedgerRow],
        expected_heads: Mapping[tuple[str, str], tuple[int, str] | None],
    ) -> None:
        """:meth:`record` with ``expected_heads``, all or nothing, for rows built from verified
        receipts (:func:`_receipt_row`): one ``executemany`` in the transaction. The outcomes
        are those of :meth:`record`: a row whose ``(iss, jti)`` is recorded with the same
        content is a duplicate and left alone, with other content it raises
        :class:`~tokenfed.errors.ReplayError` (the first such row, in order) and nothing is
        stored; a moved stream head raises :class:`~tokenfed.errors.ChainBreakError`.

        Inside :meth:`_group` the rows are recorded in the group's transaction and committed
        with it; if this call fails, the group records nothing (see :meth:`_group`)."""
        with self._lock:
            if not self._grouped:
                with self._write("record receipts") as connection:
                    _insert_rows(connection, rows, expected_heads)
                return
            if self._group_failed:
                raise self._group_failure()
            try:
                _insert_rows(self._open(), rows, expected_heads)
            except BaseException as exc:
                # Part of the rows may be in the transaction: it must not commit.
                self._group_failed = True
                if isinstance(exc, sqlite3.Error):
                    raise self._io_error("record receipts", exc) from exc
                raise

    @contextmanager
    def _group(self) -> Iterator[None]:
        """One write transaction (``BEGIN IMMEDIATE`` ... ``COMMIT``) around several
        :meth:`_record_rows` calls: all of them are recorded when the block ends without an
        exception, none of them otherwise, nor after a crash (REC-045). The write lock is held
        for the whole block, so the replay and chain state read inside it (same connection)
        cannot move before the commit (REC-047); other writers wait. If a call inside failed,
        later calls and the end of the block raise :class:`~tokenfed.errors.IoError` and
        nothing is recorded (no savepoints: they would journal every page the group changes).

        The page cache is raised to :data:`_GROUP_CACHE_KIB` for the connection's life, so
        that the pages a group changes stay in memory until its commit instead of being
        written to the log more than once."""
        with self._lock:
            connection = self._open()
            try:
                if connection.execute("PRAGMA cache_size").fetchone()[0] > -_GROUP_CACHE_KIB:
                    connection.execute(f"PRAGMA cache_size = -{_GROUP_CACHE_KIB}")
            except sqlite3.Error as exc:
                raise self._io_error("size the page cache", exc) from exc
            with self._write("record receipts"):
                self._grouped, self._group_failed = True, False
                try:
                    yield
                    if self._group_failed:
                        raise self._group_failure()
                finally:
                    self._grouped = False

    def _group_failure(self) -> IoError:
        return IoError(
            f"receipt ledger {self._path!r}: a write of this transaction failed before; "
            "nothing of the transaction was recorded",
            detail={"path": self._path, "action": "record receipts"},
        )

    def _migrate(self, connection: sqlite3.Connection, version: object) -> bool:
        """Bring a version 2, 3 or 4 file to version 5 in the transaction that opens it (a
        crash leaves the earlier version).

        Version 2 -> 3 adds ``model``, ``rate_card_digest`` and ``micro`` and fills them from the
        stored receipts; version 3 -> 4 adds ``merkle_leaf``, filled from ``content_digest``,
        and replaces the index ``receipts_by_stream`` by the two covering indexes; version 4 ->
        5 drops ``receipts_by_line`` to have it made again with ``seq`` (the indexes are made by
        the table statements that run after this)."""
        if version not in (2, 3, 4):
            return False
        if version == 4:
            connection.execute("DROP INDEX receipts_by_line")
            return True
        if version == 2:
            for column in ("model TEXT", "rate_card_digest TEXT", "micro INTEGER"):
                connection.execute(f"ALTER TABLE receipts ADD COLUMN {column}")
            rows = connection.execute("SELECT rowid, amount, receipt FROM receipts").fetchall()
            for rowid, amount, receipt in rows:
                model, card_digest = _model_and_card(receipt)
                micro = _micro(*self._scaled_text(amount))
                connection.execute(
                    "UPDATE receipts SET model = ?, rate_card_digest = ?, micro = ?"
                    " WHERE rowid = ?",
                    (model, card_digest, micro, rowid),
                )
        connection.execute(f"ALTER TABLE receipts ADD COLUMN merkle_leaf BLOB {_LEAF_CHECK}")
        connection.create_function("tokenfed_merkle_leaf", 1, _stored_leaf, deterministic=True)
        try:
            connection.execute(
                "UPDATE receipts SET merkle_leaf = tokenfed_merkle_leaf(content_digest)"
            )
        finally:
            connection.create_function("tokenfed_merkle_leaf", 1, None)
        connection.execute("DROP INDEX IF EXISTS receipts_by_stream")
        return True

    def lookup(self, iss: str, jti: str) -> LedgerEntry | None:
        """Return the entry recorded under ``(iss, jti)``, or ``None``."""
        with self._read("look up a receipt") as connection:
            row = connection.execute(_SELECT_RECEIPT, (iss, jti)).fetchone()
        return None if row is None else self._entry(row)

    def content_digests(self, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], str]:
        """Return ``{(iss, jti): content_digest}`` for the recorded ones among ``keys``, read
        by primary key in pages of 256 keys."""
        wanted = list(dict.fromkeys(keys))
        found: dict[tuple[str, str], str] = {}
        for start in range(0, len(wanted), 256):
            page = wanted[start : start + 256]
            query = (
                "WITH k(iss, jti) AS (VALUES "  # noqa: S608 - only placeholders are added
                + ", ".join(["(?, ?)"] * len(page))
                + ") SELECT r.iss, r.jti, r.content_digest FROM k"
                " JOIN receipts r ON r.iss = k.iss AND r.jti = k.jti"
            )
            with self._read("look up receipts") as connection:
                rows = connection.execute(query, [part for key in page for part in key])
                for iss, jti, digest in rows:
                    if type(digest) is not str or _DIGEST.fullmatch(digest) is None:
                        raise self._damaged(f"the digest of ({iss!r:.80}, {jti!r:.80})", digest)
                    found[(iss, jti)] = digest
        return found

    def _entry(self, row: Sequence[object]) -> LedgerEntry:
        """A stored row as an entry; a row that does not make one means a damaged file."""
        try:
            return LedgerEntry(
                iss=row[0],  # type: ignore[arg-type]
                jti=row[1],  # type: ignore[arg-type]
                aud=row[2],  # type: ignore[arg-type]
                sub=row[3],  # type: ignore[arg-type]
                seq=row[4],  # type: ignore[arg-type]
                iat=row[5],  # type: ignore[arg-type]
                amount=self._amount(row[6]),
                rate_card_id=row[7],  # type: ignore[arg-type]
                content_digest=row[8],  # type: ignore[arg-type]
                receipt_digest=row[9],  # type: ignore[arg-type]
                receipt=row[10],  # type: ignore[arg-type]
                batch_id=row[11],  # type: ignore[arg-type]
                model=row[12],  # type: ignore[arg-type]
                rate_card_digest=row[13],  # type: ignore[arg-type]
            )
        except (TypeError, ValueError) as exc:
            raise self._damaged(f"the entry ({row[0]!r:.80}, {row[1]!r:.80})", exc) from exc

    def stream_head(self, iss: str, aud: str) -> tuple[int, str] | None:
        """Return the highest recorded ``seq`` of ``(iss, aud)`` and its ``content_digest``,
        which the next receipt of the stream names in ``prev`` (REC-007).

        If several entries of the stream share that ``seq`` (the ledger does not check
        chains), the one recorded last is returned.
        """
        with self._read("read a stream head") as connection:
            row = connection.execute(_STREAM_HEAD, (iss, aud)).fetchone()
        return None if row is None else (int(row[0]), str(row[1]))

    def totals(
        self, iss: str | None = None, aud: str | None = None
    ) -> dict[tuple[str, str], tuple[int, Decimal]]:
        """Return ``{(iss, aud): (count, sum of amounts)}`` over the recorded entries.

        The sum is exact: each stored canonical decimal TEXT is read as an integer
        coefficient and a number of places, and the coefficients are added as Python
        integers (no SQLite REAL, no decimal context rounding). ``iss`` and ``aud`` filter.
        """
        query = "SELECT iss, aud, amount FROM receipts"
        conditions: list[str] = []
        parameters: list[str] = []
        if iss is not None:
            conditions.append("iss = ?")
            parameters.append(iss)
        if aud is not None:
            conditions.append("aud = ?")
            parameters.append(aud)
        if conditions:
            query += " WHERE " + " AND ".join(conditions)
        sums: dict[tuple[str, str], list[int]] = {}  # key -> [count, coefficient, places]
        with self._read("add up receipts") as connection:
            for row_iss, row_aud, text in connection.execute(query, parameters):
                coefficient, places = self._scaled_text(text)
                total = sums.get((row_iss, row_aud))
                if total is None:
                    sums[(row_iss, row_aud)] = [1, coefficient, places]
                    continue
                total[0] += 1
                if places > total[2]:
                    total[1] *= 10 ** (places - total[2])
                    total[2] = places
                total[1] += coefficient * 10 ** (total[2] - places)
        return {
            key: (count, Decimal(format_decimal(Decimal(f"{coefficient}e-{places}"))))
            for key, (count, coefficient, places) in sums.items()
        }

    def stream_entries(
        self, iss: str, aud: str, *, iat_before: int | None = None
    ) -> list[LedgerEntry]:
        """Return the entries of stream ``(iss, aud)`` ordered by ``seq``, then ``jti``.

        With ``iat_before``, only entries whose ``iat`` is earlier. This is the order in which a
        settlement statement lists its receipts (SET-026).
        """
        query = _SELECT_RECEIPT.replace("WHERE iss = ? AND jti = ?", "WHERE iss = ? AND aud = ?")
        parameters: list[object] = [iss, aud]
        if iat_before is not None:
            query += " AND iat < ?"
            parameters.append(iat_before)
        query += " ORDER BY seq, jti"
        with self._read("read a stream") as connection:
            rows = connection.execute(query, parameters).fetchall()
        return [self._entry(row) for row in rows]

    def stream_rows(
        self, iss: str, aud: str, *, iat_before: int | None = None
    ) -> list[tuple[str, int, int, str, str, str]]:
        """Return ``(jti, seq, iat, amount, content_digest, receipt)`` of each entry of stream
        ``(iss, aud)``, ordered by ``seq``, then ``jti``, without building :class:`LedgerEntry`
        objects: the fast read behind settlement statements. ``amount`` is the stored canonical
        decimal text (checked)."""
        query = (
            "SELECT jti, seq, iat, amount, content_digest, receipt FROM receipts"
            " WHERE iss = ? AND aud = ?"
        )
        parameters: list[object] = [iss, aud]
        if iat_before is not None:
            query += " AND iat < ?"
            parameters.append(iat_before)
        query += " ORDER BY seq, jti"
        with self._read("read a stream") as connection:
            rows = connection.execute(query, parameters).fetchall()
        for row in rows:
            self._stored_amount(row[3])
        return [tuple(row) for row in rows]

    def snapshot(self) -> int:
        """The highest row number recorded so far: pass it as ``up_to_row`` to read a stream
        as it is now, whatever is recorded later (the ledger only ever appends)."""
        with self._read("read the ledger") as connection:
            (last,) = connection.execute("SELECT coalesce(max(rowid), 0) FROM receipts").fetchone()
        return int(last)

    def scan_stream(
        self, iss: str, aud: str, *, iat_before: int, up_to_row: int | None = None
    ) -> tuple[int, Iterator[StreamRow]]:
        """Stream the rows of ``(iss, aud)`` with ``iat < iat_before`` in the order of SET-026
        (``seq``, then ``jti``) without holding them: the read behind settlement statements.

        Returns ``(snapshot, rows)``: ``rows`` yields :data:`StreamRow` tuples and ``snapshot``
        is the highest row number of the file when the scan started. The ledger only ever
        appends, so passing it back as ``up_to_row`` reads exactly the same rows again later,
        whatever was recorded in between. Rows are read in pages, each page under the store's
        lock, so other calls (and other threads) may run while the rows are consumed.
        """
        snapshot = self.snapshot() if up_to_row is None else int(up_to_row)
        return snapshot, self._scan(iss, aud, iat_before, snapshot)

    @contextmanager
    def _statement_read(
        self, iss: str, aud: str, period: tuple[int, int]
    ) -> Iterator[StatementRead]:
        """A :class:`StatementRead` of stream ``(iss, aud)`` for ``period``: one read
        transaction, so that its line totals and leaf hashes describe the same rows.

        It runs on a read-only connection of its own (WAL readers do not block the writer or
        other calls of this instance); where one cannot be opened (an in-memory ledger), on the
        store's connection, holding its lock until the read ends.

        Raises:
            IoError: SQLite failed.
        """
        self._open()
        reader = self._reader()
        if reader is None:
            with self._read("read a stream") as connection:
                began = not connection.in_transaction
                if began:
                    connection.execute("BEGIN")
                read: StatementRead | None = None
                try:
                    read = StatementRead(connection, iss, aud, period)
                    yield read
                finally:
                    if began and connection.in_transaction:
                        connection.execute("ROLLBACK")  # which drops the temporary table
                    elif read is not None:
                        read._finish()
            return
        try:
            yield StatementRead(reader, iss, aud, period)
        except sqlite3.Error as exc:
            raise self._io_error("read a stream", exc) from exc
        finally:
            reader.close()

    def _reader(self) -> sqlite3.Connection | None:
        """A read-only connection to the ledger's file in a read transaction, or ``None`` if
        none can be opened."""
        if self._path in ("", ":memory:"):
            return None
        try:
            reader = sqlite3.connect(
                Path(self._absolute).as_uri() + "?mode=ro", uri=True, isolation_level=None
            )
        except sqlite3.Error:
            return None
        try:
            reader.execute(f"PRAGMA busy_timeout = {self._busy_timeout_ms}")
            reader.execute("BEGIN")
            reader.execute("SELECT 1 FROM receipts LIMIT 1").fetchall()  # the snapshot
        except sqlite3.Error:
            reader.close()
            return None
        return reader

    def _scan(self, iss: str, aud: str, iat_before: int, snapshot: int) -> Iterator[StreamRow]:
        after: tuple[int, str] = (0, "")
        while True:
            with self._read("read a stream") as connection:
                page = connection.execute(_SCAN_PAGE, (iss, aud, iat_before, snapshot, *after))
                rows: list[StreamRow] = page.fetchall()
            yield from rows
            if len(rows) < _SCAN_PAGE_SIZE:
                return
            after = (rows[-1][2], rows[-1][1])

    def _stored_amount(self, text: object) -> str:
        """Return a stored amount if it is canonical decimal TEXT, else raise IoError."""
        if type(text) is not str or text == "-0" or CANONICAL_DECIMAL.fullmatch(text) is None:
            raise self._damaged(
                "an amount", f"{text!r:.40} is not canonical decimal TEXT (CONV-020)"
            )
        return text

    def _scaled_text(self, text: object) -> tuple[int, int]:
        """``(coefficient, places)`` of a stored amount, parsed without a Decimal."""
        return scaled(Decimal(self._stored_amount(text)))

    def _amount(self, text: object) -> Decimal:
        return Decimal(self._stored_amount(text))


_STREAM_TABLES = (
    "CREATE TABLE IF NOT EXISTS issued ("
    " iss TEXT NOT NULL,"
    " aud TEXT NOT NULL,"
    " seq INTEGER NOT NULL CHECK (typeof(seq) = 'integer' AND seq >= 1),"
    " content_digest TEXT NOT NULL,"
    " receipt TEXT NOT NULL,"
    " jti TEXT,"
    " PRIMARY KEY (iss, aud, seq))",
    # A jti names one receipt among all those of its issuer (REC-002).
    "CREATE UNIQUE INDEX IF NOT EXISTS issued_jti ON issued (iss, jti)",
)


def receipt_jti(receipt: str) -> str | None:
    """The ``jti`` of an issued receipt: a JWS compact serialization, or a batched receipt's
    claims as base64url (what a stream store keeps); ``None`` for a text that is neither (a
    store's own tests keep placeholders), which no jti check then covers."""
    payload = receipt.split(".")[1] if receipt.count(".") == 2 else receipt
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except ValueError:
        return None
    jti = claims.get("jti") if isinstance(claims, dict) else None
    return jti if isinstance(jti, str) else None


def _refuse_reused_jti(iss: str, jti: str) -> ReplayError:
    return ReplayError(
        f"jti {jti!r} names a receipt {iss} issued already: a jti is unique among all the "
        "receipts of its issuer (REC-002); give another --jti, or none for a random one",
        detail={"iss": iss, "jti": jti},
    )


def _issue_one(
    connection: sqlite3.Connection,
    iss: str,
    aud: str,
    build: Callable[[int, str | None], tuple[str, str]],
) -> str:
    row = connection.execute(
        "SELECT seq, content_digest FROM issued WHERE iss = ? AND aud = ?"
        " ORDER BY seq DESC LIMIT 1",
        (iss, aud),
    ).fetchone()
    next_seq, prev = (1, None) if row is None else (int(row[0]) + 1, str(row[1]))
    result = build(next_seq, prev)
    if not isinstance(result, tuple) or len(result) != 2:
        raise TypeError(
            f"build() must return (receipt_compact, content_digest), not {type(result).__name__}"
        )
    receipt, digest = result
    _check_text("build() result", "receipt_compact", receipt)
    _check_digest("build() result", "content_digest", digest)
    jti = receipt_jti(receipt)
    reused = (
        jti is not None
        and connection.execute(
            "SELECT 1 FROM issued WHERE iss = ? AND jti = ?", (iss, jti)
        ).fetchone()
    )
    if reused:
        raise _refuse_reused_jti(iss, str(jti))
    connection.execute(
        "INSERT INTO issued (iss, aud, seq, content_digest, receipt, jti)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (iss, aud, next_seq, digest, receipt, jti),
    )
    return receipt


class SqliteStreamStore(_SqliteStore, StreamStore):
    """A :class:`StreamStore` in one SQLite file (see the module notes on durability).

    Each issued receipt is kept under ``(iss, aud, seq)``; the head of a stream is its row
    with the highest ``seq``, so the head and the receipts cannot disagree. The primary key
    makes a second receipt with the same ``seq`` impossible even for a foreign writer.

    Raises:
        IoError: the file cannot be opened or created, is not a tokenfed database, or has a
            schema version this release does not read.
    """

    _component = "stream_store"
    _version = STREAM_SCHEMA_VERSION
    _tables = _STREAM_TABLES
    _what = "stream store"

    def _migrate(self, connection: sqlite3.Connection, version: object) -> bool:
        """Bring a version 2 file to version 3 in the transaction that opens it: the ``jti``
        of every issued receipt, read from the receipt (its unique index is made by the table
        statements that run after this; a file whose issuer reused a jti cannot be opened)."""
        if version != 2:
            return False
        connection.execute("ALTER TABLE issued ADD COLUMN jti TEXT")
        rows = connection.execute("SELECT rowid, receipt FROM issued").fetchall()
        for rowid, receipt in rows:
            jti = receipt_jti(str(receipt))
            connection.execute("UPDATE issued SET jti = ? WHERE rowid = ?", (jti, rowid))
        return True

    def issue(self, iss: str, aud: str, build: Callable[[int, str | None], tuple[str, str]]) -> str:
        """Issue the next receipt of ``(iss, aud)``; see :meth:`StreamStore.issue`.

        ``build`` runs inside the write transaction, holding the file's write lock: keep it
        short (sign and return). It must not write to this store. An exception it raises
        rolls the transaction back and propagates unchanged; the ``seq`` is not consumed.

        Raises:
            TypeError, ValueError: ``iss``/``aud`` are not non-empty strings, or ``build`` did not
                return ``(non-empty str, "sha256:" + 64 hex)`` (nothing is stored).
            IoError: SQLite failed (nothing is stored).
        """
        _check_text("issue()", "iss", iss)
        _check_text("issue()", "aud", aud)
        with self._write("issue a receipt") as connection:
            return _issue_one(connection, iss, aud, build)

    def issue_many(
        self,
        iss: str,
        requests: Sequence[tuple[str, Callable[[int, str | None], tuple[str, str]]]],
    ) -> list[str]:
        """Issue several receipts, each ``(aud, build)`` as in :meth:`issue`, in ONE transaction.

        A batch of receipts is stored whole or not at all, with one disk synchronisation.
        """
        _check_text("issue_many()", "iss", iss)
        for aud, _ in requests:
            _check_text("issue_many()", "aud", aud)
        with self._write("issue receipts") as connection:
            return [_issue_one(connection, iss, aud, build) for aud, build in requests]

    def head(self, iss: str, aud: str) -> tuple[int, str] | None:
        """Return the last issued ``seq`` of ``(iss, aud)`` and its receipt digest, or ``None``."""
        with self._read("read a stream head") as connection:
            row = connection.execute(
                "SELECT seq, content_digest FROM issued WHERE iss = ? AND aud = ?"
                " ORDER BY seq DESC LIMIT 1",
                (iss, aud),
            ).fetchone()
        return None if row is None else (int(row[0]), str(row[1]))

    def issued(self, iss: str, aud: str, seq: int) -> str | None:
        """Return the receipt issued as ``seq`` of ``(iss, aud)``, or ``None``."""
        with self._read("read an issued receipt") as connection:
            row = connection.execute(
                "SELECT receipt FROM issued WHERE iss = ? AND aud = ? AND seq = ?",
                (iss, aud, seq),
            ).fetchone()
        return None if row is None else str(row[0])
