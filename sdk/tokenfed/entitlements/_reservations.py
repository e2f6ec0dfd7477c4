"""Reserve-then-settle on SQLite: the limit of an entitlement holds under any concurrency.

Every change runs in one ``BEGIN IMMEDIATE`` transaction (the write lock of the database file
is taken first, so reservations of threads and processes sharing the file are serialized) and
amounts are integer micro-UTU (ENT-043). The database uses write-ahead logging with
``synchronous=FULL`` (see :mod:`tokenfed.ledger`): a process killed at any moment leaves
every transaction either committed whole or absent.

Tables: ``entitlements`` (one row per (iss, jti): content digest, audience, limit, settled
total), ``reservations`` (the open reservations, with the moment their hold ends) and
``settlements`` (one row per settled reservation, for audit and for receipts, ENT-051).
"""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import ClassVar

from .._b64 import b64encode
from .._decimal import from_scaled, scaled
from ..errors import (
    LimitExceededError,
    ReplayError,
    UnknownEntitlementError,
    UnknownReservationError,
)
from ..ledger import DEFAULT_BUSY_TIMEOUT_MS, _SqliteStore
from ._claims import MICRO
from ._document import Entitlement

__all__ = [
    "DEFAULT_HOLD",
    "MAX_HOLD",
    "RESERVATIONS_SCHEMA_VERSION",
    "Consumption",
    "Reservation",
    "Reservations",
    "Settlement",
]

RESERVATIONS_SCHEMA_VERSION = 1
"""Version of the reservation tables, kept in the ``tokenfed_schema`` table."""
DEFAULT_HOLD = 600
"""Seconds a reservation is held before it is released unsettled (ENT-042)."""
MAX_HOLD = 3600
"""Longest hold time a provider may state (ENT-042)."""

_TABLES = (
    "CREATE TABLE IF NOT EXISTS entitlements ("
    " iss TEXT NOT NULL,"
    " jti TEXT NOT NULL,"
    " digest TEXT NOT NULL,"
    " aud TEXT NOT NULL,"
    " sub TEXT NOT NULL,"
    " exp INTEGER NOT NULL CHECK (typeof(exp) = 'integer'),"
    " limit_micro INTEGER NOT NULL CHECK (typeof(limit_micro) = 'integer' AND limit_micro > 0),"
    " settled_micro INTEGER NOT NULL DEFAULT 0"
    "  CHECK (typeof(settled_micro) = 'integer' AND settled_micro >= 0),"
    " PRIMARY KEY (iss, jti))",
    "CREATE TABLE IF NOT EXISTS reservations ("
    " id TEXT PRIMARY KEY,"
    " iss TEXT NOT NULL,"
    " jti TEXT NOT NULL,"
    " model TEXT NOT NULL,"
    " amount_micro INTEGER NOT NULL CHECK (typeof(amount_micro) = 'integer' AND amount_micro > 0),"
    " created INTEGER NOT NULL,"
    " expires INTEGER NOT NULL,"
    " FOREIGN KEY (iss, jti) REFERENCES entitlements (iss, jti))",
    "CREATE INDEX IF NOT EXISTS reservations_by_entitlement ON reservations (iss, jti, expires)",
    "CREATE TABLE IF NOT EXISTS settlements ("
    " id TEXT PRIMARY KEY,"
    " iss TEXT NOT NULL,"
    " jti TEXT NOT NULL,"
    " model TEXT NOT NULL,"
    " reserved_micro INTEGER NOT NULL,"
    " actual_micro INTEGER NOT NULL CHECK (typeof(actual_micro) = 'integer' AND actual_micro >= 0),"
    " settled_at INTEGER NOT NULL)",
)


def _micro(value: object, name: str, *, positive: bool) -> int:
    """An amount argument as integer micro-UTU (API misuse raises TypeError/ValueError)."""
    if not isinstance(value, Decimal):
        raise TypeError(f"{name} must be a Decimal, not {type(value).__name__}")
    if not value.is_finite():
        raise ValueError(f"{name} must be a finite Decimal, not {value}")
    coefficient, places = scaled(value)
    while places > MICRO and coefficient % 10 == 0:  # 1.5000000 is 1.5
        coefficient //= 10
        places -= 1
    if places > MICRO:
        raise ValueError(f"{name} {value} has more than {MICRO} fractional digits (UTU precision)")
    micro: int = coefficient * 10 ** (MICRO - places)
    if micro < 0 or (positive and micro == 0):
        raise ValueError(f"{name} must be {'> 0' if positive else '>= 0'}, not {value}")
    return micro


def _utu(micro: int) -> Decimal:
    return from_scaled(micro, MICRO)


@dataclass(frozen=True, slots=True)
class Reservation:
    """An open reservation: settle it with the actual amount, or release it (ENT-041, ENT-042)."""

    id: str
    iss: str
    jti: str
    model: str
    amount: Decimal
    created: int
    expires: int
    """The moment its hold ends: at ``expires`` it is released unsettled (ENT-042)."""


@dataclass(frozen=True, slots=True)
class Settlement:
    """A settled reservation: what was reserved and what was consumed (ENT-041)."""

    id: str
    iss: str
    jti: str
    model: str
    reserved: Decimal
    actual: Decimal
    settled_at: int


@dataclass(frozen=True, slots=True)
class Consumption:
    """Where an entitlement stands: ``settled + outstanding <= limit`` always (ENT-032)."""

    limit: Decimal
    settled: Decimal
    outstanding: Decimal

    @property
    def available(self) -> Decimal:
        """What a new reservation may still take."""
        return self.limit - self.settled - self.outstanding


class Reservations(_SqliteStore):
    """A provider's reservations under entitlements, in one SQLite file (ENT-040..ENT-044).

    Threads may share one instance (its calls run one at a time) or each open their own;
    processes each open their own instance on the same file. Either way the limit holds:
    every reservation is checked and recorded in one ``BEGIN IMMEDIATE`` transaction.

    Args:
        path: the database file (created if missing).
        hold: seconds a reservation is held before it is released unsettled, 1 to 3600.
        clock: the current time as a NumericDate (default: the system clock).
        busy_timeout_ms: how long a write waits for another writer before ``io_error``.
    """

    _component: ClassVar[str] = "reservations"
    _version: ClassVar[int] = RESERVATIONS_SCHEMA_VERSION
    _tables: ClassVar[tuple[str, ...]] = _TABLES
    _what: ClassVar[str] = "reservation store"

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        hold: int = DEFAULT_HOLD,
        clock: Callable[[], int] | None = None,
        busy_timeout_ms: int = DEFAULT_BUSY_TIMEOUT_MS,
    ) -> None:
        if type(hold) is not int or not 1 <= hold <= MAX_HOLD:
            raise ValueError(f"hold must be a whole number of seconds from 1 to {MAX_HOLD}")
        self._hold = hold
        self._clock = clock or (lambda: int(time.time()))
        super().__init__(path, busy_timeout_ms=busy_timeout_ms)

    @property
    def hold(self) -> int:
        """The hold time in seconds (ENT-042)."""
        return self._hold

    def _now(self, now: int | None) -> int:
        return self._clock() if now is None else now

    def reserve(
        self, entitlement: Entitlement, model: str, amount: Decimal, *, now: int | None = None
    ) -> Reservation:
        """Reserve ``amount`` UTU (the request's maximum cost) for usage of ``model`` (ENT-040).

        Checks, in this order: the entitlement is still valid at ``now`` (ENT-031), ``model``
        is in its scope (ENT-030), its (``iss``, ``jti``) was not seen with other content
        (ENT-044), and settled + outstanding + ``amount`` stays within ``limit`` (ENT-032).
        Reservations whose hold has ended are released first.

        Raises:
            EntitlementExpiredError, EntitlementNotYetValidError: outside its validity.
            OutOfScopeError: the model is not in the scope.
            ReplayError: another entitlement with the same (iss, jti) was seen before.
            LimitExceededError: the limit would be passed.
            IoError: the database failed.
            TypeError, ValueError: ``amount`` is not a Decimal > 0 with at most 6 places.
        """
        if not isinstance(entitlement, Entitlement):
            raise TypeError(
                "reserve takes a verified Entitlement (Entitlement.from_jws), not "
                f"{type(entitlement).__name__}"
            )
        if not isinstance(model, str):
            raise TypeError(f"model must be a str, not {type(model).__name__}")
        micro = _micro(amount, "amount", positive=True)
        at = self._now(now)
        entitlement.check_time(at)
        entitlement.check_scope(model)
        iss, jti = entitlement.iss, entitlement.jti
        reservation = Reservation(
            id=b64encode(secrets.token_bytes(16)),
            iss=iss,
            jti=jti,
            model=model,
            amount=_utu(micro),
            created=at,
            expires=at + self._hold,
        )
        with self._write("reserve") as db:
            row = db.execute(
                "SELECT digest, limit_micro, settled_micro FROM entitlements"
                " WHERE iss = ? AND jti = ?",
                (iss, jti),
            ).fetchone()
            if row is None:
                limit, settled = entitlement.limit_micro, 0
                db.execute(
                    "INSERT INTO entitlements (iss, jti, digest, aud, sub, exp, limit_micro)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (
                        iss,
                        jti,
                        entitlement.digest,
                        entitlement.aud,
                        entitlement.sub,
                        entitlement.exp,
                        limit,
                    ),
                )
            else:
                digest, limit, settled = row
                if digest != entitlement.digest:
                    raise ReplayError(
                        f"entitlement {jti} of {iss} was seen before with other content (ENT-044)",
                        detail={"iss": iss, "jti": jti},
                    )
            db.execute(
                "DELETE FROM reservations WHERE iss = ? AND jti = ? AND expires <= ?",
                (iss, jti, at),
            )
            (outstanding,) = db.execute(
                "SELECT COALESCE(SUM(amount_micro), 0) FROM reservations WHERE iss = ? AND jti = ?",
                (iss, jti),
            ).fetchone()
            if settled + outstanding + micro > limit:
                raise LimitExceededError(
                    f"reserving {_utu(micro)} UTU would pass the limit {_utu(limit)} of "
                    f"entitlement {jti}: {_utu(settled)} settled, {_utu(outstanding)} reserved "
                    "(ENT-032)",
                    detail={
                        "limit": str(_utu(limit)),
                        "settled": str(_utu(settled)),
                        "outstanding": str(_utu(outstanding)),
                        "requested": str(_utu(micro)),
                    },
                )
            db.execute(
                "INSERT INTO reservations (id, iss, jti, model, amount_micro, created, expires)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (reservation.id, iss, jti, model, micro, at, reservation.expires),
            )
        return reservation

    def settle(self, reservation_id: str, actual: Decimal, *, now: int | None = None) -> Settlement:
        """Settle an open reservation with the actual amount, at most what was reserved (ENT-041).

        Raises:
            UnknownReservationError: no open reservation has that id (never made, settled,
                released, or its hold ended: it is then released here).
            LimitExceededError: ``actual`` is more than was reserved (the reservation stays open).
            IoError: the database failed.
        """
        if not isinstance(reservation_id, str):
            raise TypeError(f"reservation_id must be a str, not {type(reservation_id).__name__}")
        micro = _micro(actual, "actual", positive=False)
        at = self._now(now)
        stale = False
        with self._write("settle") as db:
            row = self._open_reservation(db, reservation_id, at)
            if row is None:
                stale = self._drop_stale(db, reservation_id, at)
            else:
                iss, jti, model, reserved = row
                if micro > reserved:
                    raise LimitExceededError(
                        f"settling {_utu(micro)} UTU but reservation {reservation_id} holds "
                        f"{_utu(reserved)} (ENT-041)",
                        detail={"reserved": str(_utu(reserved)), "actual": str(_utu(micro))},
                    )
                db.execute("DELETE FROM reservations WHERE id = ?", (reservation_id,))
                db.execute(
                    "UPDATE entitlements SET settled_micro = settled_micro + ?"
                    " WHERE iss = ? AND jti = ?",
                    (micro, iss, jti),
                )
                db.execute(
                    "INSERT INTO settlements"
                    " (id, iss, jti, model, reserved_micro, actual_micro, settled_at)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (reservation_id, iss, jti, model, reserved, micro, at),
                )
                return Settlement(reservation_id, iss, jti, model, _utu(reserved), _utu(micro), at)
        raise self._unknown(reservation_id, stale)

    def release(self, reservation_id: str, *, now: int | None = None) -> None:
        """Release an open reservation without consuming anything (ENT-042).

        Raises:
            UnknownReservationError: no open reservation has that id.
        """
        if not isinstance(reservation_id, str):
            raise TypeError(f"reservation_id must be a str, not {type(reservation_id).__name__}")
        at = self._now(now)
        with self._write("release") as db:
            row = self._open_reservation(db, reservation_id, at)
            if row is not None:
                db.execute("DELETE FROM reservations WHERE id = ?", (reservation_id,))
                return
            stale = self._drop_stale(db, reservation_id, at)
        raise self._unknown(reservation_id, stale)

    def expire_stale(self, *, now: int | None = None) -> int:
        """Release every reservation whose hold has ended (ENT-042); return how many."""
        at = self._now(now)
        with self._write("release stale reservations") as db:
            cursor = db.execute("DELETE FROM reservations WHERE expires <= ?", (at,))
            return int(cursor.rowcount)

    def consumption(
        self, entitlement: Entitlement | str, *, iss: str | None = None, now: int | None = None
    ) -> Consumption:
        """The limit, settled total and outstanding reservations of an entitlement.

        Give the :class:`Entitlement` (one never reserved against has consumed nothing), or
        its ``jti`` (and ``iss`` when several operators used that ``jti``; a ``jti`` never
        reserved against is :class:`~tokenfed.errors.UnknownEntitlementError`). Reservations
        whose hold has ended at ``now`` are not counted.
        """
        iss, jti = self._key(entitlement, iss)
        at = self._now(now)
        with self._read("read consumption") as db:
            rows = [
                row
                for row in db.execute(
                    "SELECT iss, limit_micro, settled_micro FROM entitlements WHERE jti = ?",
                    (jti,),
                ).fetchall()
                if iss is None or row[0] == iss
            ]
            if len(rows) > 1:
                raise ValueError(f"several operators issued an entitlement {jti!r}: give iss")
            if not rows and isinstance(entitlement, Entitlement):
                return Consumption(entitlement.limit, Decimal(0), Decimal(0))
            if not rows:
                raise UnknownEntitlementError(
                    f"no reservation was ever made under entitlement {jti!r}",
                    detail={"jti": jti, "iss": iss},
                )
            found_iss, limit, settled = rows[0]
            (outstanding,) = db.execute(
                "SELECT COALESCE(SUM(amount_micro), 0) FROM reservations"
                " WHERE iss = ? AND jti = ? AND expires > ?",
                (found_iss, jti, at),
            ).fetchone()
        return Consumption(_utu(limit), _utu(settled), _utu(outstanding))

    def consumed(self, entitlement: Entitlement | str, *, iss: str | None = None) -> Decimal:
        """The settled total of an entitlement (what its receipts add up to)."""
        return self.consumption(entitlement, iss=iss).settled

    def open_reservations(self, *, now: int | None = None) -> list[Reservation]:
        """Every reservation still held at ``now``, oldest first."""
        at = self._now(now)
        with self._read("list reservations") as db:
            rows = db.execute(
                "SELECT id, iss, jti, model, amount_micro, created, expires FROM reservations"
                " WHERE expires > ? ORDER BY created, id",
                (at,),
            ).fetchall()
        return [Reservation(r[0], r[1], r[2], r[3], _utu(r[4]), r[5], r[6]) for r in rows]

    def settlement(self, reservation_id: str) -> Settlement | None:
        """The settlement of a reservation, or ``None`` if it was not settled (ENT-051)."""
        with self._read("read a settlement") as db:
            row = db.execute(
                "SELECT id, iss, jti, model, reserved_micro, actual_micro, settled_at"
                " FROM settlements WHERE id = ?",
                (reservation_id,),
            ).fetchone()
        if row is None:
            return None
        return Settlement(row[0], row[1], row[2], row[3], _utu(row[4]), _utu(row[5]), row[6])

    @staticmethod
    def _key(entitlement: Entitlement | str, iss: str | None) -> tuple[str | None, str]:
        if isinstance(entitlement, Entitlement):
            return entitlement.iss, entitlement.jti
        if isinstance(entitlement, str):
            return iss, entitlement
        raise TypeError(f"give an Entitlement or a jti, not {type(entitlement).__name__}")

    @staticmethod
    def _open_reservation(
        db: object, reservation_id: str, at: int
    ) -> tuple[str, str, str, int] | None:
        row = db.execute(  # type: ignore[attr-defined]
            "SELECT iss, jti, model, amount_micro FROM reservations WHERE id = ? AND expires > ?",
            (reservation_id, at),
        ).fetchone()
        return None if row is None else (row[0], row[1], row[2], row[3])

    @staticmethod
    def _drop_stale(db: object, reservation_id: str, at: int) -> bool:
        cursor = db.execute(  # type: ignore[attr-defined]
            "DELETE FROM reservations WHERE id = ? AND expires <= ?", (reservation_id, at)
        )
        return bool(cursor.rowcount)

    @staticmethod
    def _unknown(reservation_id: str, stale: bool) -> UnknownReservationError:
        why = (
            "its hold time ended before it was settled, so it was released"
            if stale
            else "it was never made, or was already settled or released"
        )
        return UnknownReservationError(
            f"reservation {reservation_id!r:.80} is not open: {why} (ENT-042)",
            detail={"reservation": reservation_id},
        )
