"""Building statements from a ledger, receipt lists, conversion and history checks.

A statement is built from the recorded receipts of one pair: the period's receipts make the
lines, late receipts of earlier periods not yet settled make the adjustments (SET-012). Amounts
are added as micro-UTU integers; a conversion rounds the total once (SET-027).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .. import _json, _merkle
from .._b64 import b64decode
from .._decimal import format_decimal, from_scaled, parse_decimal, to_scaled
from .._json import MAX_SAFE_INTEGER
from .._model import SPEC_VERSION
from ..errors import (
    ChainBreakError,
    InvalidAmountError,
    InvalidProofError,
    InvalidResubmissionError,
    PeriodNotClosedError,
    SchemaViolationError,
    TotalsMismatchError,
)
from ..exchange import ExchangeRates
from ..keys import PrivateKey
from ..ledger import (
    LedgerEntry,
    LineTotals,
    SqliteLedger,
    StreamRow,
    _claims_segment,
    _stored_leaf,
)
from ..receipts._claims import DIGEST, TOKEN_ID
from ._documents import UTU_PLACES, Statement

__all__ = [
    "DEFAULT_GRACE",
    "PairHistory",
    "ReceiptItem",
    "StatementDraft",
    "build_statement",
    "check_conversion",
    "check_receipt_list",
    "items_from_entries",
    "merkle_root",
]

DEFAULT_GRACE = 259200
"""The RECOMMENDED grace window: three days (SET-011)."""


def _name_of_list(text: str) -> bool:
    return 1 <= len(text) <= 256


@dataclass(frozen=True, slots=True)
class ReceiptItem:
    """What a statement needs of one receipt: an entry of the receipt list (SET-028)."""

    jti: str
    digest: str
    seq: int
    iat: int
    model: str
    rate_card_id: str
    rate_card_digest: str
    micro: int
    """The amount in micro-UTU."""

    @property
    def order(self) -> tuple[int, str]:
        """The order of SET-026: ``seq``, then ``jti``."""
        return (self.seq, self.jti)

    def to_json(self) -> dict[str, Any]:
        """The receipt-list entry (SET-028)."""
        return {
            "jti": self.jti,
            "digest": self.digest,
            "seq": self.seq,
            "iat": self.iat,
            "model": self.model,
            "rate_card": {"id": self.rate_card_id, "digest": self.rate_card_digest},
            "amount": format_decimal(from_scaled(self.micro, UTU_PLACES)),
        }

    @classmethod
    def from_json(cls, value: Any, index: int) -> ReceiptItem:
        """Read a receipt-list entry; a wrong shape is ``schema_violation``."""
        try:
            card = value["rate_card"]
            item = cls(
                jti=value["jti"],
                digest=value["digest"],
                seq=value["seq"],
                iat=value["iat"],
                model=value["model"],
                rate_card_id=card["id"],
                rate_card_digest=card["digest"],
                micro=to_scaled(
                    parse_decimal(value["amount"], max_places=UTU_PLACES, non_negative=True),
                    UTU_PLACES,
                ),
            )
        except (KeyError, TypeError, ValueError, InvalidAmountError) as exc:
            raise SchemaViolationError(
                f"receipt list entry {index} is not {{jti, digest, seq, iat, model, rate_card, "
                f"amount}} ({exc}) (SET-028)",
                detail={"path": f"/receipts/{index}"},
            ) from None
        # The schema's shape, member by member (SET-028): what no entry of a list the payee
        # built can hold is refused here, before any of it is compared or disputed.
        checks = (
            ("jti", TOKEN_ID.fullmatch, item.jti),
            ("digest", DIGEST.fullmatch, item.digest),
            ("model", _name_of_list, item.model),
            ("rate_card/id", _name_of_list, item.rate_card_id),
            ("rate_card/digest", DIGEST.fullmatch, item.rate_card_digest),
        )
        for member, valid, text in checks:
            if not isinstance(text, str) or not valid(text):
                raise SchemaViolationError(
                    f"receipt list entry {index}: {member} {text!r:.80} is not of the list's "
                    "schema (SET-028)",
                    detail={"path": f"/receipts/{index}/{member}"},
                )
        for member, number, low in (("seq", item.seq, 1), ("iat", item.iat, 0)):
            if type(number) is not int or not low <= number <= MAX_SAFE_INTEGER:
                raise SchemaViolationError(
                    f"receipt list entry {index}: {member} {number!r:.40} is not an integer "
                    f"from {low} to 2^53 - 1 (SET-028)",
                    detail={"path": f"/receipts/{index}/{member}"},
                )
        return item


def _claims_of(receipt: str) -> dict[str, Any]:
    """The claims of a stored receipt (already verified when it was recorded)."""
    claims_bytes = b64decode(_claims_segment(receipt), what="claims")
    claims: dict[str, Any] = _json.loads(claims_bytes)
    return claims


def items_from_entries(entries: Iterable[LedgerEntry]) -> list[ReceiptItem]:
    """Turn ledger entries into receipt items (model and rate card read from each receipt)."""
    items = []
    for entry in entries:
        claims = _claims_of(entry.receipt)
        items.append(
            ReceiptItem(
                jti=entry.jti,
                digest=entry.content_digest,
                seq=entry.seq,
                iat=entry.iat,
                model=claims["usage"]["model"],
                rate_card_id=claims["rate_card"]["id"],
                rate_card_digest=claims["rate_card"]["digest"],
                micro=to_scaled(entry.amount, UTU_PLACES),
            )
        )
    return items


def _ledger_items(
    ledger: SqliteLedger, payee: str, payer: str, end: int, snapshot: int | None = None
) -> tuple[int, Iterator[ReceiptItem]]:
    """The pair's receipts with ``iat < end`` from a ledger, in the order of SET-026, read in
    pages; ``snapshot`` (returned) reads the same rows again (see ``scan_stream``)."""
    snapshot, rows = ledger.scan_stream(payee, payer, iat_before=end, up_to_row=snapshot)

    def items() -> Iterator[ReceiptItem]:
        for digest, jti, seq, iat, micro, model, card_id, card_digest, receipt in rows:
            if micro is None or model is None or card_digest is None:
                yield _item_from_receipt(digest, jti, seq, iat, card_id, receipt)
            else:
                yield ReceiptItem(jti, digest, seq, iat, model, card_id, card_digest, micro)

    return snapshot, items()


def _item_from_receipt(
    digest: str, jti: str, seq: int, iat: int, card_id: str, receipt: str
) -> ReceiptItem:
    """The item of an entry recorded without its model, card digest or micro amount."""
    claims = _claims_of(receipt)
    model, card_digest = claims["usage"]["model"], claims["rate_card"]["digest"]
    return ReceiptItem(
        jti, digest, seq, iat, model, card_id, card_digest, to_scaled(claims["amount"], UTU_PLACES)
    )


def _items(
    source: Iterable[LedgerEntry | ReceiptItem], payee: str, payer: str, end: int
) -> list[ReceiptItem]:
    """The pair's receipts with ``iat < end`` as items."""
    items: list[ReceiptItem] = []
    for element in source:
        if isinstance(element, ReceiptItem):
            if element.iat < end:
                items.append(element)
        elif element.iss == payee and element.aud == payer and element.iat < end:
            items.extend(items_from_entries([element]))
    return items


def merkle_root(items: Iterable[ReceiptItem]) -> str:
    """The tree head of SET-026: leaves are the 32 SHA-256 bytes of each content digest."""
    builder = _merkle.RootBuilder()
    add, leaf, fromhex = builder.add_hash, _merkle.leaf_hash, bytes.fromhex
    for item in items:
        add(leaf(fromhex(item.digest[7:])))
    return builder.root().hex()


def _described(totals: LineTotals) -> bool:
    """Whether the ledger's columns describe every row of a line total (model, card digest,
    micro amount and leaf hash)."""
    model, digest, _, count, with_micro, with_leaf = totals[:6]
    return model is not None and digest is not None and count == with_micro == with_leaf


class _Summary:
    """Lines, adjustments, totals and the tree head of a statement, in one pass over its
    receipts: memory grows with the number of lines, not receipts."""

    __slots__ = ("count", "current", "late", "micro", "tree")

    def __init__(self) -> None:
        self.current: dict[tuple[str, str], list[Any]] = {}
        self.late: dict[tuple[str, str], list[Any]] = {}
        self.count = 0
        self.micro = 0
        self.tree = _merkle.RootBuilder()

    @classmethod
    def from_ledger(
        cls,
        ledger: SqliteLedger,
        payee: str,
        payer: str,
        period: tuple[int, int],
        settled: Collection[str],
    ) -> tuple[_Summary, int] | None:
        """The summary of a statement with SQLite doing the per-row work: the lines added up
        from one covering index, the tree from the leaf hashes of another, read in the order of
        SET-026. ``None`` when the ledger's columns do not say everything (rows without micro,
        model, card digest or leaf hash, or a (model, card digest) under several card ids,
        whose line takes the card id of its first receipt), or when there are more settled
        receipts to exclude than half the rows: :meth:`add_rows` then reads the rows
        themselves, with the same result."""
        with ledger._statement_read(payee, payer, period) as read:
            totals = read.line_totals()
            if not all(_described(row) for row in totals):
                return None
            if settled and any(row[8] for row in totals):  # settled receipts matter
                if 2 * len(settled) > sum(row[3] for row in totals):
                    return None  # noting them would cost more than reading the rows
                leaves: set[bytes] = set()
                for text in settled:
                    leaf = _stored_leaf(text) if isinstance(text, str) else None
                    if leaf is not None:
                        leaves.add(leaf)
                read.exclude(leaves)
                totals = read.line_totals()
            summary = cls()
            for row in totals:
                model, digest, card_id, count, _, _, high, low, late, late_high, late_low = row
                if model is None or digest is None or not _described(row):
                    return None
                late_micro = ((late_high or 0) << 32) + (late_low or 0)
                micro = ((high or 0) << 32) + (low or 0)
                for groups, number, amount in (
                    (summary.current, count - late, micro - late_micro),
                    (summary.late, late, late_micro),
                ):
                    if number:
                        if (model, digest) in groups:
                            return None
                        groups[(model, digest)] = [card_id, number, amount]
                summary.count += count
                summary.micro += micro
            added = 0
            for page in read.leaf_pages():  # every row has one: see row[10] above
                summary.tree.add_hashes(page)
                added += len(page)
            snapshot = read.snapshot
        return (summary, snapshot) if added == summary.count else None

    def add_rows(self, rows: Iterable[StreamRow], start: int, settled: Collection[str]) -> None:
        """Add the ledger rows of a statement (those with ``iat >= start`` make the lines, the
        others not in ``settled`` the adjustments): the hot loop, without item objects."""
        current, late = self.current, self.late
        add_hash, leaf, fromhex = self.tree.add_hash, _merkle.leaf_hash, bytes.fromhex
        count = micro_total = 0
        for digest, jti, seq, iat, micro, model, card_id, card_digest, receipt in rows:
            if micro is None or model is None or card_digest is None:
                item = _item_from_receipt(digest, jti, seq, iat, card_id, receipt)
                micro, model, card_digest = item.micro, item.model, item.rate_card_digest
            if iat >= start:
                groups = current
            elif digest in settled:
                continue
            else:
                groups = late
            group = groups.get((model, card_digest))
            if group is None:
                group = groups[(model, card_digest)] = [card_id, 0, 0]
            group[1] += 1
            group[2] += micro
            count += 1
            micro_total += micro
            add_hash(leaf(fromhex(digest[7:])))
        self.count += count
        self.micro += micro_total

    def add(self, item: ReceiptItem, *, late: bool) -> None:
        groups = self.late if late else self.current
        group = groups.get((item.model, item.rate_card_digest))
        if group is None:
            group = groups[(item.model, item.rate_card_digest)] = [item.rate_card_id, 0, 0]
        group[1] += 1
        group[2] += item.micro
        self.count += 1
        self.micro += item.micro
        self.tree.add_hash(_merkle.leaf_hash(bytes.fromhex(item.digest[7:])))


def _group_lines(groups: Mapping[tuple[str, str], list[Any]]) -> list[dict[str, Any]]:
    return [
        {
            "model": model,
            "rate_card": {"id": card_id, "digest": digest},
            "count": count,
            "amount": format_decimal(from_scaled(micro, UTU_PLACES)),
        }
        for (model, digest), (card_id, count, micro) in sorted(groups.items())
    ]


def _lines(items: Iterable[ReceiptItem]) -> list[dict[str, Any]]:
    summary = _Summary()
    for item in items:
        summary.add(item, late=False)
    return _group_lines(summary.current)


def _line_keys(lines: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """Lines as comparable tuples (unknown members of a received line are not compared)."""
    return [
        (
            line["model"],
            line["rate_card"]["id"],
            line["rate_card"]["digest"],
            line["count"],
            to_scaled(line["amount"], UTU_PLACES),
        )
        for line in lines
    ]


_ItemSource = Sequence[ReceiptItem] | Callable[[], Iterable[ReceiptItem]]


class StatementDraft:
    """A statement built but not signed yet: its claims and its receipt list.

    The receipts of a statement built from a ledger are read again from the ledger when
    :attr:`items` or :attr:`receipt_list` is first used (exactly the same rows: the ledger
    only appends), so building a statement holds its lines, never its receipts.
    """

    __slots__ = ("_items", "_source", "claims")

    def __init__(
        self,
        claims: dict[str, Any],
        items: Sequence[ReceiptItem] | Callable[[], Iterable[ReceiptItem]],
    ) -> None:
        self.claims = claims
        self._items: tuple[ReceiptItem, ...] | None = None
        self._source: Callable[[], Iterable[ReceiptItem]] | None = None
        if callable(items):
            self._source = items
        else:
            self._items = tuple(items)

    def iter_items(self) -> Iterator[ReceiptItem]:
        """The statement's receipts in the order of SET-026, without holding them all."""
        if self._items is not None:
            return iter(self._items)
        assert self._source is not None
        return iter(self._source())

    @property
    def items(self) -> tuple[ReceiptItem, ...]:
        """The statement's receipts in the order of SET-026."""
        if self._items is None:
            self._items = tuple(self.iter_items())
        return self._items

    @property
    def receipt_list(self) -> dict[str, Any]:
        """The receipt list that goes with the statement (SET-028)."""
        return {
            "statement_id": self.claims["statement_id"],
            "receipts": [item.to_json() for item in self.iter_items()],
        }

    def sign(self, key: PrivateKey) -> str:
        """Sign the claims as a statement (validating them by SET-020 first)."""
        return Statement.sign(self.claims, key)


def _claims(
    summary: _Summary,
    *,
    iss: str,
    payee: str,
    payer: str,
    period: tuple[int, int],
    statement_id: str,
    seq: int,
    iat: int,
    grace: int,
) -> dict[str, Any]:
    """The claims of a statement whose lines, totals and tree head ``summary`` holds."""
    start, end = period
    return {
        "iss": iss,
        "ver": SPEC_VERSION,
        "iat": iat,
        "statement_id": statement_id,
        "payee": payee,
        "payer": payer,
        "period": {"start": start, "end": end},
        "grace": grace,
        "seq": seq,
        "lines": _group_lines(summary.current),
        "adjustments": _group_lines(summary.late),
        "totals": {
            "count": summary.count,
            "amount": format_decimal(from_scaled(summary.micro, UTU_PLACES)),
        },
        "receipts": {"count": summary.count, "root": summary.tree.root().hex()},
    }


def build_statement(
    source: SqliteLedger | Iterable[LedgerEntry | ReceiptItem],
    *,
    payee: str,
    payer: str,
    period: tuple[int, int],
    statement_id: str,
    seq: int,
    iat: int,
    grace: int = DEFAULT_GRACE,
    iss: str | None = None,
    settled: Collection[str] = (),
    resubmits: Statement | None = None,
    rates: ExchangeRates | None = None,
    code: str | None = None,
    fixed_at: int | None = None,
) -> StatementDraft:
    """Build the statement of ``payee`` to ``payer`` for ``period`` = ``(start, end)``.

    ``source`` is a ledger (its stream ``(payee, payer)`` is read), or the stream's ledger
    entries or receipt items (entries of another stream are skipped; items are taken as given).
    Receipts with ``start <= iat < end`` make the lines; receipts with ``iat < start`` whose
    content digest is not in ``settled`` (the receipts of the pair's finalized statements) make
    the adjustments (SET-012). With ``rates`` and ``code`` the total is converted once at
    ``fixed_at`` (default: the period's end) (SET-027). ``iss`` defaults to the payee.
    """
    start, end = period
    settled_set = set(settled)

    def included(candidates: Iterable[ReceiptItem]) -> Iterator[ReceiptItem]:
        return (item for item in candidates if item.iat >= start or item.digest not in settled_set)

    items_source: _ItemSource
    summary = _Summary()
    if isinstance(source, SqliteLedger):
        fast = _Summary.from_ledger(source, payee, payer, period, settled_set)
        if fast is not None:
            summary, snapshot = fast
        else:
            snapshot, rows = source.scan_stream(payee, payer, iat_before=end)
            summary.add_rows(rows, start, settled_set)

        def items_source() -> Iterable[ReceiptItem]:
            return included(_ledger_items(source, payee, payer, end, snapshot)[1])
    else:
        items_source = sorted(
            included(_items(source, payee, payer, end)), key=lambda item: item.order
        )
        for item in items_source:
            summary.add(item, late=item.iat < start)
    claims = _claims(
        summary, iss=iss or payee, payee=payee, payer=payer, period=period,
        statement_id=statement_id, seq=seq, iat=iat, grace=grace,
    )  # fmt: skip
    if resubmits is not None:
        claims["resubmits"] = resubmits.ref
    if rates is not None:
        if code is None:
            raise ValueError("a conversion needs the target code")
        at = end if fixed_at is None else fixed_at
        converted = rates.convert(claims["totals"]["amount"], "UTU", code, at)  # SET-027
        claims["conversion"] = {
            "code": code,
            "rates_id": rates.id,
            "rates_digest": rates.digest,
            "fixed_at": at,
            "amount": format_decimal(converted.amount),
        }
    return StatementDraft(claims, items_source)


def statement_from_lines(
    lines: Mapping[tuple[str, str], Sequence[Any]],
    adjustments: Mapping[tuple[str, str], Sequence[Any]],
    leaves: Sequence[bytes],
    items: Callable[[], Iterable[ReceiptItem]],
    *,
    payee: str,
    payer: str,
    period: tuple[int, int],
    statement_id: str,
    seq: int,
    iat: int,
    grace: int = DEFAULT_GRACE,
    iss: str | None = None,
) -> StatementDraft:
    """The statement whose sums are already known: the same claims as :func:`build_statement`
    over the same receipts (no settled receipts, no conversion).

    ``lines`` and ``adjustments`` map (model, rate card digest) to (card id of the group's first
    receipt in the order of SET-026, count, micro-UTU); ``leaves`` are the Merkle leaf hashes of
    the receipts in that order; ``items`` gives the receipts themselves, for the receipt list,
    only when it is asked for. Bulk verify-and-settle adds the sums up as it decides each
    stream's chain, so no receipt becomes an item unless its list is written.
    """
    summary = _Summary()
    summary.current = {key: list(group) for key, group in lines.items()}
    summary.late = {key: list(group) for key, group in adjustments.items()}
    summary.count = len(leaves)
    summary.micro = sum(group[2] for group in (*lines.values(), *adjustments.values()))
    summary.tree.add_hashes(leaves)
    claims = _claims(
        summary, iss=iss or payee, payee=payee, payer=payer, period=period,
        statement_id=statement_id, seq=seq, iat=iat, grace=grace,
    )  # fmt: skip
    return StatementDraft(claims, items)


def check_conversion(statement: Statement, rates: ExchangeRates) -> None:
    """SET-027: recompute the converted total with the set the statement names.

    Raises:
        TotalsMismatchError: the statement names another set, or its amount is not the one
            conversion of ``totals.amount`` at ``fixed_at``.
        RatesNotValidError, UnknownCurrencyError: FX-021, FX-022.
    """
    conversion = statement.claims.conversion
    if conversion is None:
        return
    if conversion.rates_digest != rates.digest:
        raise TotalsMismatchError(
            f"statement conversion names the exchange-rate set {conversion.rates_digest}, "
            f"not the one given ({rates.digest}) (SET-027)"
        )
    expected = rates.convert(
        statement.raw["totals"]["amount"], "UTU", conversion.code, conversion.fixed_at
    )
    if format_decimal(expected.amount) != conversion.amount:
        raise TotalsMismatchError(
            f"statement converted total {conversion.amount} {conversion.code} is not "
            f"{format_decimal(expected.amount)}, the conversion of "
            f"{statement.raw['totals']['amount']} UTU at {conversion.fixed_at} (SET-027)"
        )


def check_receipt_list(statement: Statement, receipt_list: Mapping[str, Any]) -> list[ReceiptItem]:
    """SET-028: the receipt list belongs to the statement; returns its items.

    Raises:
        SchemaViolationError: the list is not ``{statement_id, receipts: [...]}`` of entries.
        InvalidProofError: another statement_id, entries out of order, or a Merkle tree head or
            size other than the statement's.
        TotalsMismatchError: the entries do not give exactly the statement's lines and
            adjustments.
    """
    if not isinstance(receipt_list, Mapping) or not isinstance(receipt_list.get("receipts"), list):
        raise SchemaViolationError("a receipt list is {statement_id, receipts: [...]} (SET-028)")
    listed_id = receipt_list.get("statement_id")
    if not isinstance(listed_id, str) or not TOKEN_ID.fullmatch(listed_id):
        raise SchemaViolationError(
            f"receipt list statement_id {listed_id!r:.80} is not of the list's schema (SET-028)",
            detail={"path": "/statement_id"},
        )
    claims = statement.claims
    items = [ReceiptItem.from_json(v, i) for i, v in enumerate(receipt_list["receipts"])]
    if receipt_list.get("statement_id") != claims.statement_id:
        raise InvalidProofError(
            f"receipt list of {receipt_list.get('statement_id')!r}, not of statement "
            f"{claims.statement_id!r} (SET-028)"
        )
    if any(a.order >= b.order for a, b in itertools.pairwise(items)):
        raise InvalidProofError("receipt list entries are not ordered by seq, jti (SET-026)")
    if len(items) != claims.receipts.count or merkle_root(items) != claims.receipts.root:
        raise InvalidProofError(
            "the receipt list's Merkle tree head is not the statement's receipts.root "
            "(SET-026, SET-028)"
        )
    start, end = claims.period.start, claims.period.end
    if any(item.iat >= end for item in items):
        raise TotalsMismatchError("the receipt list holds a receipt of a later period (SET-028)")
    current = [item for item in items if item.iat >= start]
    late = [item for item in items if item.iat < start]
    if _line_keys(_lines(current)) != _line_keys(statement.raw["lines"]) or _line_keys(
        _lines(late)
    ) != _line_keys(statement.raw["adjustments"]):
        raise TotalsMismatchError(
            "the receipt list does not add up to the statement's lines and adjustments (SET-028)"
        )
    return items


@dataclass
class PairHistory:
    """What a payer remembers of a pair's statements (SET-014, SET-013, SET-023, SET-024).

    ``last_seq`` is the last statement's ``seq`` (0 before the first); ``finalized`` the
    periods whose statement was accepted; ``disputed`` maps a period to the reference of its
    last disputed statement; ``grace`` is the grace window the pair agreed (SET-014), or
    ``None`` if none is kept.
    """

    last_seq: int = 0
    finalized: set[tuple[int, int]] = field(default_factory=set)
    disputed: dict[tuple[int, int], dict[str, str]] = field(default_factory=dict)
    grace: int | None = None

    def check(self, statement: Statement) -> None:
        """Apply SET-014, SET-023, SET-013 and SET-024 to the next statement of the pair.

        Raises:
            PeriodNotClosedError: ``grace`` is not the pair's agreed window (SET-014).
            ChainBreakError: ``seq`` is not the last one plus one (SET-023).
            InvalidResubmissionError: a finalized period (SET-013), or a ``resubmits`` that
                names no disputed statement of the period, or one missing (SET-024).
        """
        claims = statement.claims
        period = (claims.period.start, claims.period.end)
        if self.grace is not None and claims.grace != self.grace:
            raise PeriodNotClosedError(
                f"the statement applies a grace window of {claims.grace} s, but the pair agreed "
                f"{self.grace} s (SET-014)",
                detail={"grace": claims.grace, "agreed": self.grace},
            )
        if claims.seq != self.last_seq + 1:
            raise ChainBreakError(
                f"statement seq {claims.seq} does not continue the pair's statements (last "
                f"{self.last_seq}) (SET-023)"
            )
        if period in self.finalized:
            raise InvalidResubmissionError(
                f"the period {period} of this pair is finalized; late receipts are adjustments "
                "of a later statement (SET-013)"
            )
        disputed = self.disputed.get(period)
        if claims.resubmits is not None:
            if disputed is None or claims.resubmits.to_wire() != disputed:
                raise InvalidResubmissionError(
                    f"resubmits names {claims.resubmits.statement_id!r}, which is not the "
                    "disputed statement of this period (SET-024)"
                )
        elif disputed is not None:
            raise InvalidResubmissionError(
                f"statement {disputed['statement_id']!r} of this period was disputed; its "
                "replacement must name it in resubmits (SET-024)"
            )

    def record(self, statement: Statement, accepted: bool) -> None:
        """Remember a checked statement and the payer's answer to it."""
        claims = statement.claims
        period = (claims.period.start, claims.period.end)
        self.last_seq = claims.seq
        if accepted:
            self.finalized.add(period)
            self.disputed.pop(period, None)
        else:
            self.disputed[period] = statement.ref

    def to_json(self) -> dict[str, Any]:
        """The JSON form (a payer keeps it in a file)."""
        agreed = {} if self.grace is None else {"grace": self.grace}
        return {
            **agreed,
            "last_seq": self.last_seq,
            "finalized": [{"start": s, "end": e} for s, e in sorted(self.finalized)],
            "disputed": [
                {"period": {"start": s, "end": e}, "statement": ref}
                for (s, e), ref in sorted(self.disputed.items())
            ],
        }

    @classmethod
    def from_json(cls, value: Any) -> PairHistory:
        """Read the JSON form of :meth:`to_json`; a wrong shape is ``schema_violation``."""
        try:
            history = cls(
                last_seq=value["last_seq"],
                finalized={(p["start"], p["end"]) for p in value["finalized"]},
                disputed={
                    (d["period"]["start"], d["period"]["end"]): {
                        "statement_id": d["statement"]["statement_id"],
                        "digest": d["statement"]["digest"],
                    }
                    for d in value["disputed"]
                },
                grace=value.get("grace"),
            )
        except (KeyError, TypeError) as exc:
            raise SchemaViolationError(
                f"a pair history is not of the expected shape ({exc})"
            ) from None
        if type(history.last_seq) is not int or not 0 <= history.last_seq <= MAX_SAFE_INTEGER:
            raise SchemaViolationError("a pair history's last_seq is an integer >= 0")
        if history.grace is not None and (
            type(history.grace) is not int or not 0 <= history.grace <= MAX_SAFE_INTEGER
        ):
            raise SchemaViolationError("a pair history's grace is an integer >= 0 (SET-014)")
        periods = [*history.finalized, *history.disputed]
        if not all(
            type(start) is int and type(end) is int and 0 <= start < end <= MAX_SAFE_INTEGER
            for start, end in periods
        ):
            raise SchemaViolationError(
                "a pair history's periods are {start, end} NumericDates with start < end (SET-010)"
            )
        for reference in history.disputed.values():
            statement_id, digest = reference["statement_id"], reference["digest"]
            if not (
                isinstance(statement_id, str)
                and TOKEN_ID.fullmatch(statement_id)
                and isinstance(digest, str)
                and DIGEST.fullmatch(digest)
            ):
                raise SchemaViolationError(
                    "a pair history's disputed statement is {statement_id, digest} (SET-024)"
                )
        return history
