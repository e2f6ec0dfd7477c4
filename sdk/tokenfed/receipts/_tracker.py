"""Replay and chain tracking: steps 12 and 13 of REC-040, recorded atomically (REC-042..REC-047).

A :class:`ReceiptTracker` holds the state those steps need: which (``iss``, ``jti``) were seen
with which content, and the head (``seq``, content digest) of every (``iss``, ``aud``) stream. The
state lives in a :class:`~tokenfed.ledger.ReceiptLedger` (durable, shareable between verifiers) or
in memory. Receipts are tracked inside a transaction::

    with tracker.transaction() as tx:
        for verified in receipts:
            try:
                tx.track(verified)
            except (ReplayError, ChainBreakError) as exc:
                ...  # that receipt is rejected; the others go on

Leaving the block records every receipt the transaction accepted, all or nothing (REC-045); an
exception that leaves the block records nothing. When the state is a ledger shared with other
verifiers and one of them recorded into a stream this transaction read, the commit records
nothing and raises :class:`~tokenfed.errors.ChainBreakError` (or
:class:`~tokenfed.errors.ReplayError`) (REC-047): run the block again, and receipts the other
verifier recorded identically come back as duplicates.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from types import ModuleType

from .. import _compiled
from ..errors import ChainBreakError, ReplayError
from ..ledger import LedgerEntry, LedgerRow, ReceiptLedger, SqliteLedger, _receipt_row
from ._verifier import VerifiedReceipt

__all__ = ["ReceiptTracker", "TrackerTransaction"]

Stream = tuple[str, str]
Head = tuple[int, str]

_hot: ModuleType | None = _compiled.HOT
"""Steps 12 and 13 for a tracker in memory (``tokenfed._hot``, compiled when built; ADR 0010);
``None`` runs the reference steps alone."""


class TrackerTransaction:
    """The receipts tracked since a transaction began, staged until it commits (a tracker in
    memory keeps only their replay and chain state, not the receipts)."""

    __slots__ = (
        "_closed",
        "_fast",
        "_heads",
        "_known",
        "_read_heads",
        "_seen",
        "_staged",
        "_tracker",
        "_unstaged",
    )

    def __init__(self, tracker: ReceiptTracker) -> None:
        self._tracker = tracker
        self._seen: dict[tuple[str, str], str] = {}
        self._known: dict[tuple[str, str], str | None] = {}  # prefetched from the ledger
        self._heads: dict[Stream, Head] = {}
        self._read_heads: dict[Stream, Head | None] = {}
        self._staged: list[VerifiedReceipt | LedgerRow] = []
        # New receipts of a tracker in memory: its commit keeps only their replay and chain
        # state (``_seen``, ``_heads``), so the receipts themselves are counted, not kept.
        self._unstaged = 0
        self._closed = False
        # In memory, with the reference steps as defined here when the transaction begins (a
        # subclass or a patch that changes them is honoured): steps 12 and 13 run in the hot
        # module (ADR 0010).
        self._fast = (
            _hot is not None
            and tracker._ledger is None
            and type(self)._track is _REFERENCE_TRACK
            and type(self)._seen_content is _REFERENCE_SEEN
            and type(self)._head is _REFERENCE_HEAD
            and type(tracker)._seen_content is _REFERENCE_TRACKER_SEEN
            and type(tracker)._head is _REFERENCE_TRACKER_HEAD
        )

    def track(self, receipt: VerifiedReceipt) -> VerifiedReceipt:
        """Steps 12 and 13 of REC-040 for a verified receipt; stage it for recording.

        Returns the receipt, marked :attr:`~VerifiedReceipt.duplicate` when it is an identical
        resubmission of one already seen (REC-042; a duplicate is not staged again).

        Raises:
            ReplayError: its (``iss``, ``jti``) was seen with another content digest (REC-042).
            ChainBreakError: its ``seq`` and ``prev`` do not continue its stream (REC-043).
        """
        if self._closed:
            raise RuntimeError("this transaction is over; open a new one with transaction()")
        if not isinstance(receipt, VerifiedReceipt):
            raise TypeError(
                f"track() takes a VerifiedReceipt from ReceiptVerifier.verify, "
                f"not {type(receipt).__name__}"
            )
        raw = receipt.raw
        iss, jti, aud, seq, prev = raw["iss"], raw["jti"], raw["aud"], raw["seq"], raw.get("prev")
        digest = receipt._content_digest or receipt.content_digest
        tracker = self._tracker
        outcome = 2
        if self._fast and _hot is not None:
            # A replay or a break of the chain changes nothing there and is raised by the
            # reference steps below.
            outcome = _hot.track_in_memory(
                self._seen,
                tracker._seen,
                self._heads,
                tracker._heads,
                iss,
                jti,
                aud,
                seq,
                prev,
                digest,
            )
        if outcome == 2:
            outcome = 0 if self._track(iss, jti, aud, seq, prev, digest) else 1
        if outcome == 1:
            return receipt.as_duplicate()
        if tracker._ledger is None:
            self._unstaged += 1
        else:
            self._staged.append(receipt)
        return receipt

    def _track_row(self, row: LedgerRow, prev: str | None) -> bool:
        """:meth:`track` for the ledger row of a verified receipt (:func:`receipt_row`) and its
        ``prev``: the same steps and errors, without a :class:`VerifiedReceipt`. Returns
        whether the row was staged (``False``: an identical resubmission)."""
        if self._closed:
            raise RuntimeError("this transaction is over; open a new one with transaction()")
        if not self._track(row[0], row[1], row[2], row[4], prev, row[8]):
            return False
        self._staged.append(row)
        return True

    def _track(
        self, iss: str, jti: str, aud: str, seq: int, prev: str | None, content_digest: str
    ) -> bool:
        """Steps 12 and 13; ``False`` for an identical resubmission, ``True`` for a new receipt
        (whose state is then this transaction's)."""
        seen = self._seen_content(iss, jti)
        if seen is not None:
            if seen == content_digest:
                return False
            raise ReplayError(
                f"jti {jti!r} of {iss} was seen with other content (REC-042)",
                detail={"iss": iss, "jti": jti},
            )
        head = self._head((iss, aud))
        expected_seq, expected_prev = (1, None) if head is None else (head[0] + 1, head[1])
        if seq != expected_seq or prev != expected_prev:
            raise ChainBreakError(
                f"stream {iss} -> {aud} expects seq {expected_seq} with prev {expected_prev}; "
                f"got seq {seq} with prev {prev} (REC-043)",
                detail={"expected_seq": expected_seq, "seq": seq},
            )
        self._seen[(iss, jti)] = content_digest
        self._heads[(iss, aud)] = (seq, content_digest)
        return True

    def prefetch(self, receipts: Iterable[VerifiedReceipt]) -> None:
        """Read the replay state of many receipts from the ledger in one go, before tracking
        them one by one: an optimisation only, the outcomes are the same."""
        if self._tracker._ledger is None:
            return
        self._prefetch([(r.raw["iss"], r.raw["jti"]) for r in receipts])

    def _prefetch(self, keys: list[tuple[str, str]]) -> None:
        if self._tracker._ledger is None:
            return
        found = self._tracker._ledger.content_digests(keys)
        for key in keys:
            self._known.setdefault(key, found.get(key))

    @property
    def staged(self) -> int:
        """How many receipts this transaction will record when it commits."""
        return len(self._staged) + self._unstaged

    def _seen_content(self, iss: str, jti: str) -> str | None:
        found = self._seen.get((iss, jti))
        if found is not None:
            return found
        if (iss, jti) in self._known:
            return self._known[(iss, jti)]
        return self._tracker._seen_content(iss, jti)

    def _head(self, stream: Stream) -> Head | None:
        found = self._heads.get(stream)
        if found is not None:
            return found
        if stream not in self._read_heads:
            self._read_heads[stream] = self._tracker._head(stream)
        return self._read_heads[stream]


class ReceiptTracker:
    """Replay and chain state for steps 12 and 13 of REC-040, in a ledger or in memory.

    Args:
        ledger: where accepted receipts are recorded durably (REC-045..REC-047). Without one,
            the state lives in this object's memory and grows with every receipt recorded.
    """

    def __init__(self, ledger: ReceiptLedger | None = None) -> None:
        self._ledger = ledger
        self._seen: dict[tuple[str, str], str] = {}
        self._heads: dict[Stream, Head] = {}
        self._open = False

    @property
    def ledger(self) -> ReceiptLedger | None:
        """The ledger the state is recorded in, if any."""
        return self._ledger

    @contextmanager
    def transaction(self) -> Iterator[TrackerTransaction]:
        """A transaction: receipts tracked in the block are recorded when it ends without an
        exception, all or nothing (REC-045), and forgotten when an exception leaves it.

        Raises:
            ChainBreakError, ReplayError: on commit, another verifier sharing the ledger recorded
                into a stream or a ``jti`` this transaction read; nothing was recorded (REC-047).
            RuntimeError: a transaction of this tracker is already open.
        """
        if self._open:
            raise RuntimeError("a transaction of this tracker is already open")
        self._open = True
        tx = TrackerTransaction(self)
        try:
            yield tx
            tx._closed = True
            self._commit(tx)
        finally:
            tx._closed = True
            self._open = False

    def _commit(self, tx: TrackerTransaction) -> None:
        if self._ledger is None:
            self._seen.update(tx._seen)
            self._heads.update(tx._heads)
            return
        if not tx._staged:
            return
        expected = {stream: tx._read_heads.get(stream) for stream in tx._heads}
        ledger = self._ledger
        if isinstance(ledger, SqliteLedger) and type(ledger).record is SqliteLedger.record:
            rows = [
                receipt_row(item) if isinstance(item, VerifiedReceipt) else item
                for item in tx._staged
            ]
            ledger._record_rows(rows, expected)
            return
        entries = [
            _entry(item) if isinstance(item, VerifiedReceipt) else _row_entry(item)
            for item in tx._staged
        ]
        ledger.record(entries, expected_heads=expected)

    def _seen_content(self, iss: str, jti: str) -> str | None:
        if self._ledger is None:
            return self._seen.get((iss, jti))
        return self._ledger.content_digests([(iss, jti)]).get((iss, jti))

    def _head(self, stream: Stream) -> Head | None:
        if self._ledger is None:
            return self._heads.get(stream)
        return self._ledger.stream_head(*stream)


_REFERENCE_TRACK = TrackerTransaction._track
_REFERENCE_SEEN = TrackerTransaction._seen_content
_REFERENCE_HEAD = TrackerTransaction._head
_REFERENCE_TRACKER_SEEN = ReceiptTracker._seen_content
_REFERENCE_TRACKER_HEAD = ReceiptTracker._head


def _entry(receipt: VerifiedReceipt) -> LedgerEntry:
    """The ledger entry of a verified receipt: its members passed the receipt schema, so they
    are not checked again."""
    raw = receipt.raw
    return LedgerEntry._unchecked(
        raw["iss"],
        raw["jti"],
        raw["aud"],
        raw["sub"],
        raw["seq"],
        raw["iat"],
        Decimal(raw["amount"]),
        raw["rate_card"]["id"],
        receipt.content_digest,
        receipt.receipt_digest,
        receipt.receipt,
        receipt.batch_id,
        raw["usage"]["model"],
        raw["rate_card"]["digest"],
    )


def receipt_row(receipt: VerifiedReceipt, micro: int | None = None) -> LedgerRow:
    """The ledger row of a verified receipt, equal to that of its :func:`_entry` (its amount is
    canonical decimal text, REC-004): built in the processes that verify a file's lines.
    ``micro``: its :attr:`~VerifiedReceipt.micro_amount`, when the caller has it."""
    raw = receipt.raw
    card = raw["rate_card"]
    return _receipt_row(
        raw["iss"],
        raw["jti"],
        raw["aud"],
        raw["sub"],
        raw["seq"],
        raw["iat"],
        raw["amount"],
        receipt.micro_amount if micro is None else micro,
        card["id"],
        receipt.content_digest,
        receipt.receipt_digest,
        receipt.receipt,
        receipt.batch_id,
        raw["usage"]["model"],
        card["digest"],
    )


def _row_entry(row: LedgerRow) -> LedgerEntry:
    """The ledger entry of a row made by :func:`receipt_row` (for a ledger other than SQLite)."""
    return LedgerEntry._unchecked(*row[:6], Decimal(row[6]), *row[7:14])
