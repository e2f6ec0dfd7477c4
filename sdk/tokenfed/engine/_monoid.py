"""Partition results of bulk verify-and-settle, combined as a commutative monoid.

A partition (a file, or part of one) is verified line by line (REC-040 steps 1 to 11). Its result
keeps, for every (``iss``, ``jti``), each distinct content digest seen with the first position
where it was seen (file index, line number) and how often. Combining two results takes the
union, the earliest position and the sum of counts: the operation is associative and
commutative, and the empty result is its identity, so any partitioning and any order of
combination gives the same total. Replay, duplicate and chain decisions are taken only on the
total (:func:`finish`), in the order of positions, exactly as one verifier reading the files in
order would (REC-042, REC-043).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .._decimal import to_scaled
from ..settlement import ReceiptItem

__all__ = ["Outcome", "PartitionResult", "Seen", "finish"]

Position = tuple[int, int]
"""(file index, line number): the order in which a single verifier would read a line."""


@dataclass(frozen=True, slots=True)
class Seen:
    """One content of a receipt: where it was first seen, how often, and what it says."""

    position: Position
    count: int
    aud: str
    seq: int
    prev: str | None
    item: ReceiptItem

    def merged(self, other: Seen) -> Seen:
        """The same content seen elsewhere too: earliest position, counts added."""
        first = self if self.position <= other.position else other
        return Seen(
            first.position,
            self.count + other.count,
            first.aud,
            first.seq,
            first.prev,
            first.item,
        )


@dataclass
class PartitionResult:
    """What a partition found: accepted contents per (iss, jti), rejected lines by position."""

    contents: dict[tuple[str, str], dict[str, Seen]] = field(default_factory=dict)
    rejected: dict[Position, str] = field(default_factory=dict)
    lines: int = 0

    def add_receipt(self, position: Position, raw: dict[str, Any], digest: str) -> None:
        """Record a line that passed steps 1 to 11 of REC-040."""
        self.lines += 1
        item = ReceiptItem(
            jti=raw["jti"],
            digest=digest,
            seq=raw["seq"],
            iat=raw["iat"],
            model=raw["usage"]["model"],
            rate_card_id=raw["rate_card"]["id"],
            rate_card_digest=raw["rate_card"]["digest"],
            micro=to_scaled(raw["amount"], 6),
        )
        seen = Seen(position, 1, raw["aud"], raw["seq"], raw.get("prev"), item)
        by_digest = self.contents.setdefault((raw["iss"], raw["jti"]), {})
        known = by_digest.get(digest)
        by_digest[digest] = seen if known is None else known.merged(seen)

    def add_rejection(self, position: Position, code: str) -> None:
        """Record a line rejected by steps 1 to 11, with its code."""
        self.lines += 1
        self.rejected[position] = code

    def combine(self, other: PartitionResult) -> PartitionResult:
        """The monoid operation: a new result holding both (neither operand changes)."""
        total = PartitionResult(
            {key: dict(value) for key, value in self.contents.items()},
            dict(self.rejected),
            self.lines,
        )
        total.absorb(other)
        return total

    def absorb(self, other: PartitionResult) -> None:
        """Combine ``other`` into this result in place (``self = self.combine(other)`` without
        copying what this result holds: folding n partitions stays linear in their size).
        ``other`` is not changed; this result then shares its immutable :class:`Seen` values."""
        contents = self.contents
        for key, by_digest in other.contents.items():
            mine = contents.get(key)
            if mine is None:
                contents[key] = dict(by_digest)
                continue
            for digest, seen in by_digest.items():
                known = mine.get(digest)
                mine[digest] = seen if known is None else known.merged(seen)
        self.rejected.update(other.rejected)
        self.lines += other.lines


@dataclass(frozen=True)
class Outcome:
    """The decisions on the combined result."""

    accepted: dict[tuple[str, str], list[ReceiptItem]]
    """Per stream (iss, aud): the receipts accepted, in seq order."""
    rejected: dict[Position, str]
    """Per line: the code it was rejected with (steps 1 to 11, replay, chain_break)."""
    duplicates: int
    """Identical resubmissions, accepted and counted once (REC-042)."""


def finish(total: PartitionResult) -> Outcome:
    """Replay (REC-042) and chain (REC-043) decisions on the combined result.

    Of several contents under one (iss, jti) the one seen first is the receipt; every line of
    another content is a ``replay``. Each stream is then walked by ``seq`` from 1: a receipt is
    accepted while it continues the chain (``seq`` one more, ``prev`` the last content digest);
    from the first receipt that does not, every later receipt of the stream is ``chain_break``
    (held ahead of a predecessor that never came).
    """
    rejected = dict(total.rejected)
    duplicates = 0
    streams: dict[tuple[str, str], list[tuple[str, Seen]]] = {}
    for (iss, _jti), by_digest in total.contents.items():
        ordered = sorted(by_digest.items(), key=lambda pair: pair[1].position)
        digest, first = ordered[0]
        duplicates += first.count - 1
        for _, other in ordered[1:]:
            rejected[other.position] = "replay"
        streams.setdefault((iss, first.aud), []).append((digest, first))
    accepted: dict[tuple[str, str], list[ReceiptItem]] = {}
    for stream, receipts in sorted(streams.items()):
        receipts.sort(key=lambda pair: (pair[1].seq, pair[1].position))
        head: tuple[int, str | None] = (0, None)
        chain: list[ReceiptItem] = []
        broken = False
        for digest, seen in receipts:
            if not broken and seen.seq == head[0] + 1 and seen.prev == head[1]:
                chain.append(seen.item)
                head = (seen.seq, digest)
            else:
                broken = broken or seen.seq > head[0] + 1  # a gap ends the stream's chain
                rejected[seen.position] = "chain_break"
        accepted[stream] = chain
    return Outcome(accepted, rejected, duplicates)
