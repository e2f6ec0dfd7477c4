"""Partition results of bulk verify-and-settle, combined as a commutative monoid.

A partition (a file, or a range of whole lines of one) is verified line by line (REC-040 steps
1 to 11). Its result keeps, for every (``iss``, ``jti``), the receipt seen at the earliest
position (file index, line number), every other receipt seen under the same (``iss``, ``jti``),
and the rejected lines with their codes. Combining two results keeps the earlier receipt of a
shared (``iss``, ``jti``) and moves the other one among the later ones; the operation is
associative and commutative, and the empty result is its identity, so any partitioning and any
order of combination gives the same total. Replay, duplicate and chain decisions are taken only
on the total (:func:`finish`), in the order of positions, exactly as one verifier reading the
files in order would (REC-042, REC-043).

A receipt crosses process borders as one tuple of plain values (:data:`Row`): its digests as 32
raw bytes, its amount as an integer of micro-UTU, and the strings a partition repeats (issuer,
audience, model, rate card) held once per partition, so a result pickles to about 150 bytes
per receipt and unpickles without building an object per field. The partition also hashes each
receipt's Merkle leaf (SET-026), so that the parent, which decides the chains, adds up the
statements' lines and hashes only the tree's inner nodes: it builds no
:class:`~tokenfed.settlement.ReceiptItem` unless a receipt list is asked for.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from typing import Any, Final

from .._decimal import to_scaled
from .._merkle import leaf_hash
from ..settlement import ReceiptItem

__all__ = [
    "Outcome",
    "PartitionResult",
    "Row",
    "finish",
    "line_results",
    "statement_items",
    "statement_sums",
]

Position = tuple[int, int]
"""(file index, line number): the order in which a single verifier would read a line."""

Row = tuple[
    int,
    int,
    int,
    bytes,
    bytes | str | None,
    tuple[str, str],
    tuple[str, str],
    int,
    str,
    str,
    str,
    int,
    bytes,
]
"""One receipt that passed steps 1 to 11: ``(seq, file index, line number, content digest,
prev, (iss, jti), (iss, aud), iat, model, rate card id, rate card digest, micro-UTU amount,
Merkle leaf hash)``.

The content digest is the 32 bytes of SHA-256; ``prev`` is the 32 bytes its ``sha256:`` form
names (or that text itself if it were not the canonical lowercase form, so that it can never
equal a digest), ``None`` on a stream's first receipt; the leaf hash is SHA-256 of 0x00 and the
content digest's 32 bytes (RFC 9162, SET-026). Tuples sort by (``seq``, position)."""

_SEQ: Final = 0
_FILE: Final = 1
_LINE: Final = 2
_DIGEST: Final = 3
_PREV: Final = 4
_KEY: Final = 5
_STREAM: Final = 6
_IAT: Final = 7
_MODEL: Final = 8
_CARD_ID: Final = 9
_CARD_DIGEST: Final = 10
_MICRO: Final = 11
_LEAF: Final = 12


def _raw_digest(text: str) -> bytes | str:
    """The 32 bytes a ``sha256:<64 lowercase hex>`` text names; any other text unchanged."""
    try:
        raw = bytes.fromhex(text[7:])
    except ValueError:
        return text
    return raw if len(raw) == 32 and text == "sha256:" + raw.hex() else text


@dataclass
class PartitionResult:
    """What a partition found: per (iss, jti) the first receipt, every later receipt, and the
    rejected lines by position."""

    first: dict[tuple[str, str], Row] = field(default_factory=dict)
    """Per (iss, jti): the receipt seen at the earliest position."""
    later: list[Row] = field(default_factory=list)
    """Every other receipt seen under an (iss, jti) of :attr:`first`."""
    rejected: dict[Position, str] = field(default_factory=dict)
    lines: int = 0
    messages: dict[Position, str] = field(default_factory=dict)
    """Per rejected line: the message of its rejection, where one was given."""
    _strings: dict[Any, Any] = field(default_factory=dict, repr=False, compare=False)

    def __getstate__(self) -> tuple[Any, ...]:
        return (self.first, self.later, self.rejected, self.lines, self.messages)

    def __setstate__(self, state: tuple[Any, ...]) -> None:
        self.first, self.later, self.rejected, self.lines, self.messages = state
        self._strings = {}

    def add_receipt(self, position: Position, raw: dict[str, Any], digest: str) -> None:
        """Record a line that passed steps 1 to 11 of REC-040 (``raw`` its claims, ``digest``
        its content digest)."""
        self.lines += 1
        strings = self._strings
        iss = strings.setdefault(raw["iss"], raw["iss"])
        aud = strings.setdefault(raw["aud"], raw["aud"])
        stream = strings.setdefault((iss, aud), (iss, aud))
        card = raw["rate_card"]
        prev = raw.get("prev")
        content = bytes.fromhex(digest[7:])
        row: Row = (
            raw["seq"],
            position[0],
            position[1],
            content,
            None if prev is None else _raw_digest(prev),
            (iss, raw["jti"]),
            stream,
            raw["iat"],
            strings.setdefault(raw["usage"]["model"], raw["usage"]["model"]),
            strings.setdefault(card["id"], card["id"]),
            strings.setdefault(card["digest"], card["digest"]),
            to_scaled(raw["amount"], 6),
            leaf_hash(content),
        )
        self._put(row)

    def _put(self, row: Row) -> None:
        key = row[_KEY]
        known = self.first.get(key)
        if known is None:
            self.first[key] = row
        elif (row[_FILE], row[_LINE]) < (known[_FILE], known[_LINE]):
            self.first[key] = row
            self.later.append(known)
        else:
            self.later.append(row)

    def add_rejection(self, position: Position, code: str, message: str | None = None) -> None:
        """Record a line rejected by steps 1 to 11, with its code (and message)."""
        self.lines += 1
        self.rejected[position] = code
        if message is not None:
            self.messages[position] = message

    def combine(self, other: PartitionResult) -> PartitionResult:
        """The monoid operation: a new result holding both (neither operand changes)."""
        total = PartitionResult(
            dict(self.first), list(self.later), dict(self.rejected), self.lines, dict(self.messages)
        )
        total.absorb(other)
        return total

    def absorb(self, other: PartitionResult) -> None:
        """Combine ``other`` into this result in place (``self = self.combine(other)`` without
        copying what this result holds: folding n partitions stays linear in their size).
        ``other`` is not changed; this result then shares its immutable rows."""
        first = self.first
        if not first:
            first.update(other.first)
        else:
            put = self._put
            for key, row in other.first.items():
                if key in first:
                    put(row)
                else:
                    first[key] = row
        self.later.extend(other.later)
        self.rejected.update(other.rejected)
        self.messages.update(other.messages)
        self.lines += other.lines


def _item(row: Row) -> ReceiptItem:
    """The receipt-list entry of an accepted receipt (SET-028)."""
    return ReceiptItem(
        row[_KEY][1],
        "sha256:" + row[_DIGEST].hex(),
        row[_SEQ],
        row[_IAT],
        row[_MODEL],
        row[_CARD_ID],
        row[_CARD_DIGEST],
        row[_MICRO],
    )


class Outcome:
    """The decisions on the combined result."""

    __slots__ = ("_accepted", "chains", "duplicates", "rejected")

    def __init__(
        self,
        chains: dict[tuple[str, str], list[Row]],
        rejected: dict[Position, str],
        duplicates: int,
    ) -> None:
        self.chains = chains
        """Per stream (iss, aud): the accepted receipts' rows (:data:`Row`), in seq order."""
        self.rejected = rejected
        """Per line: the code it was rejected with (steps 1 to 11, replay, chain_break)."""
        self.duplicates = duplicates
        """Identical resubmissions, accepted and counted once (REC-042)."""
        self._accepted: dict[tuple[str, str], list[ReceiptItem]] | None = None

    @property
    def accepted(self) -> dict[tuple[str, str], list[ReceiptItem]]:
        """Per stream (iss, aud): the receipts accepted, in seq order (made when first asked
        for: a run's statements need only their rows)."""
        if self._accepted is None:
            self._accepted = {
                stream: [_item(row) for row in rows] for stream, rows in self.chains.items()
            }
        return self._accepted

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Outcome):
            return NotImplemented
        return (self.accepted, self.rejected, self.duplicates) == (
            other.accepted,
            other.rejected,
            other.duplicates,
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        counts = {stream: len(rows) for stream, rows in self.chains.items()}
        return (
            f"Outcome(accepted={counts}, rejected={len(self.rejected)}, "
            f"duplicates={self.duplicates})"
        )


def finish(total: PartitionResult) -> Outcome:
    """Replay (REC-042) and chain (REC-043) decisions on the combined result.

    Of several receipts under one (iss, jti) the one seen first is the receipt; every line of
    the same content is an identical resubmission (a duplicate, counted once), every line of
    another content is a ``replay``. Each stream is then walked by ``seq`` from 1: a receipt is
    accepted while it continues the chain (``seq`` one more, ``prev`` the last content digest);
    from the first receipt that does not, every later receipt of the stream is ``chain_break``
    (held ahead of a predecessor that never came), and so is every identical copy of one.
    """
    rejected = dict(total.rejected)
    duplicates = 0
    first = total.first
    copies = []
    for row in total.later:
        if row[_DIGEST] == first[row[_KEY]][_DIGEST]:
            duplicates += 1
            copies.append(row)
        else:
            rejected[(row[_FILE], row[_LINE])] = "replay"
    streams: dict[tuple[str, str], list[Row]] = {}
    for row in first.values():
        receipts = streams.get(row[_STREAM])
        if receipts is None:
            streams[row[_STREAM]] = [row]
        else:
            receipts.append(row)
    chains: dict[tuple[str, str], list[Row]] = {}
    for stream, receipts in sorted(streams.items()):
        receipts.sort()  # by seq, then position: rows never tie on both
        last: int = 0
        head: bytes | str | None = None
        chain: list[Row] = []
        append = chain.append
        broken = False
        for row in receipts:
            seq, file, line, digest, prev = row[:5]
            if seq == last + 1 and prev == head and not broken:
                last, head = seq, digest
                append(row)
            else:
                broken = broken or seq > last + 1  # a gap ends the stream's chain
                rejected[(file, line)] = "chain_break"
        chains[stream] = chain
    for row in copies:  # an identical copy of a receipt that broke its chain breaks it too
        if rejected.get((first[row[_KEY]][_FILE], first[row[_KEY]][_LINE])) == "chain_break":
            rejected[(row[_FILE], row[_LINE])] = "chain_break"
            duplicates -= 1
    return Outcome(chains, rejected, duplicates)


def statement_sums(
    chain: list[Row], period: tuple[int, int], settled: Collection[bytes] = frozenset()
) -> tuple[dict[tuple[str, str], list[Any]], dict[tuple[str, str], list[Any]], list[bytes]]:
    """A stream's statement from its accepted rows (in seq order, so in the order of SET-026:
    an accepted chain never repeats a ``seq``): the lines of the receipts with ``start <= iat
    < end`` and the adjustments of those before ``start`` whose leaf hash is not in
    ``settled`` (the receipts of the pair's finalized statements, SET-012), each per (model,
    rate card digest) as [card id of its first receipt, count, micro-UTU], and the Merkle leaf
    hashes of both, in order."""
    start, end = period
    lines: dict[tuple[str, str], list[Any]] = {}
    adjustments: dict[tuple[str, str], list[Any]] = {}
    leaves: list[bytes] = []
    append = leaves.append
    for row in chain:
        iat = row[_IAT]
        if iat >= end or (iat < start and row[_LEAF] in settled):
            continue
        groups = lines if iat >= start else adjustments
        key = (row[_MODEL], row[_CARD_DIGEST])
        group = groups.get(key)
        if group is None:
            groups[key] = [row[_CARD_ID], 1, row[_MICRO]]
        else:
            group[1] += 1
            group[2] += row[_MICRO]
        append(row[_LEAF])
    return lines, adjustments, leaves


def statement_items(
    chain: list[Row], period: tuple[int, int], settled: Collection[bytes] = frozenset()
) -> Iterator[ReceiptItem]:
    """The receipt-list entries of a stream's statement: its accepted receipts with ``iat <
    end``, less the late ones in ``settled``, in the order of SET-026 (see
    :func:`statement_sums`)."""
    start, end = period
    return (
        _item(row)
        for row in chain
        if row[_IAT] < end and not (row[_IAT] < start and row[_LEAF] in settled)
    )


def line_results(
    total: PartitionResult, outcome: Outcome
) -> Iterator[tuple[Position, dict[str, Any]]]:
    """What became of every line, in the order of positions: one result per line.

    A verified receipt is ``{"ok": true, "iss", "jti", "seq"}``, with ``"duplicate": true`` for
    an identical resubmission of a receipt seen earlier; a rejected line is ``{"ok": false,
    "error": code, "message": ...}``, its code from steps 1 to 11, or ``replay`` or
    ``chain_break`` (then with ``iss``, ``jti`` and ``seq`` too).
    """
    first = total.first
    verified = [(row, False) for row in first.values()]
    verified.extend((row, True) for row in total.later)
    receipts = {(row[_FILE], row[_LINE]): (row, later) for row, later in verified}
    rejected = outcome.rejected
    for position in sorted(receipts.keys() | rejected.keys()):
        code = rejected.get(position)
        known = receipts.get(position)
        if known is None:
            message = total.messages.get(position) or f"rejected: {code}"
            yield position, {"ok": False, "error": code, "message": message}
            continue
        row, later = known
        (iss, jti), seq = row[_KEY], row[_SEQ]
        if code is None:
            result: dict[str, Any] = {"ok": True, "iss": iss, "jti": jti, "seq": seq}
            if later:
                result["duplicate"] = True
            yield position, result
            continue
        if code == "replay":
            seen = first[row[_KEY]]
            message = (
                f"another receipt under iss {iss} and jti {jti} was read first, at file "
                f"{seen[_FILE] + 1} line {seen[_LINE]} (REC-042)"
            )
        else:
            message = f"seq {seq} does not continue its stream's chain (REC-043)"
        yield (
            position,
            {
                "ok": False,
                "error": code,
                "message": message,
                "iss": iss,
                "jti": jti,
                "seq": seq,
            },
        )
