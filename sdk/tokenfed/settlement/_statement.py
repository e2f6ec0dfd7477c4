"""Building statements from a ledger, receipt lists, conversion and history checks.

A statement is built from the recorded receipts of one pair: the period's receipts make the
lines, late receipts of earlier periods not yet settled make the adjustments (SET-012). Amounts
are added as micro-UTU integers; a conversion rounds the total once (SET-027).
"""

from __future__ import annotations

import base64
import itertools
import json
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .. import _json, _merkle
from .._b64 import b64decode
from .._decimal import format_decimal, from_scaled, parse_decimal, to_scaled
from .._model import SPEC_VERSION
from ..errors import (
    ChainBreakError,
    InvalidAmountError,
    InvalidProofError,
    InvalidResubmissionError,
    SchemaViolationError,
    TotalsMismatchError,
)
from ..exchange import ExchangeRates
from ..keys import PrivateKey
from ..ledger import LedgerEntry, SqliteLedger
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
        texts = (item.jti, item.digest, item.model, item.rate_card_id, item.rate_card_digest)
        if not all(isinstance(text, str) for text in texts) or not all(
            type(number) is int for number in (item.seq, item.iat)
        ):
            raise SchemaViolationError(
                f"receipt list entry {index} has a member of the wrong type (SET-028)",
                detail={"path": f"/receipts/{index}"},
            )
        if not item.digest.startswith("sha256:") or len(item.digest) != 71:
            raise SchemaViolationError(
                f"receipt list entry {index}: digest is not a sha256 digest (SET-028)",
                detail={"path": f"/receipts/{index}/digest"},
            )
        return item


def _stored_claims_segment(receipt: str) -> str:
    """The base64url claims of a receipt as a ledger stores it: a JWS compact serialization, a
    batched receipt's base64url claims bytes, or a batched-receipt object."""
    if receipt.startswith("{"):
        encoded: str = json.loads(receipt)["claims"]
        return encoded
    return receipt.split(".", 2)[1] if "." in receipt else receipt


def _claims_of(receipt: str) -> dict[str, Any]:
    """The claims of a stored receipt (already verified when it was recorded)."""
    claims_bytes = b64decode(_stored_claims_segment(receipt.strip()), what="claims")
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


def _fast_claims(receipt: str) -> dict[str, Any]:
    """The claims of a receipt the ledger recorded after verifying it.

    The strict parser ran when the receipt was verified; reading it back needs only the model
    and the rate card, so the standard library's parser is enough here.
    """
    encoded = _stored_claims_segment(receipt)
    claims: dict[str, Any] = json.loads(
        base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
    )
    return claims


def _items_from_ledger(ledger: SqliteLedger, payee: str, payer: str, end: int) -> list[ReceiptItem]:
    items = []
    for jti, seq, iat, amount, digest, receipt in ledger.stream_rows(payee, payer, iat_before=end):
        claims = _fast_claims(receipt)
        card = claims["rate_card"]
        items.append(
            ReceiptItem(
                jti, digest, seq, iat, claims["usage"]["model"], card["id"], card["digest"],
                to_scaled(amount, UTU_PLACES),
            )
        )  # fmt: skip
    return items


def _items(
    source: SqliteLedger | Iterable[LedgerEntry | ReceiptItem], payee: str, payer: str, end: int
) -> list[ReceiptItem]:
    """The pair's receipts with ``iat < end`` as items."""
    if isinstance(source, SqliteLedger):
        return _items_from_ledger(source, payee, payer, end)
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
    leaves = [_merkle.leaf_hash(bytes.fromhex(item.digest[7:])) for item in items]
    return _merkle.root_from_hashes(leaves).hex()


def _lines(items: Iterable[ReceiptItem]) -> list[dict[str, Any]]:
    groups: dict[tuple[str, str], list[Any]] = {}
    for item in items:
        key = (item.model, item.rate_card_digest)
        group = groups.setdefault(key, [item.rate_card_id, 0, 0])
        group[1] += 1
        group[2] += item.micro
    return [
        {
            "model": model,
            "rate_card": {"id": card_id, "digest": digest},
            "count": count,
            "amount": format_decimal(from_scaled(micro, UTU_PLACES)),
        }
        for (model, digest), (card_id, count, micro) in sorted(groups.items())
    ]


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


@dataclass(frozen=True)
class StatementDraft:
    """A statement built but not signed yet: its claims and its receipt list."""

    claims: dict[str, Any]
    receipt_list: dict[str, Any]
    items: tuple[ReceiptItem, ...] = field(repr=False)

    def sign(self, key: PrivateKey) -> str:
        """Sign the claims as a statement (validating them by SET-020 first)."""
        return Statement.sign(self.claims, key)


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
    candidates = _items(source, payee, payer, end)
    settled_set = set(settled)
    items = sorted(
        (item for item in candidates if item.iat >= start or item.digest not in settled_set),
        key=lambda item: item.order,
    )
    current = [item for item in items if item.iat >= start]
    late = [item for item in items if item.iat < start]
    micro = sum(item.micro for item in items)
    claims: dict[str, Any] = {
        "iss": iss or payee,
        "ver": SPEC_VERSION,
        "iat": iat,
        "statement_id": statement_id,
        "payee": payee,
        "payer": payer,
        "period": {"start": start, "end": end},
        "grace": grace,
        "seq": seq,
        "lines": _lines(current),
        "adjustments": _lines(late),
        "totals": {"count": len(items), "amount": format_decimal(from_scaled(micro, UTU_PLACES))},
        "receipts": {"count": len(items), "root": merkle_root(items)},
    }
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
    receipt_list = {"statement_id": statement_id, "receipts": [i.to_json() for i in items]}
    return StatementDraft(claims, receipt_list, tuple(items))


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
    """What a payer remembers of a pair's statements (SET-013, SET-023, SET-024).

    ``last_seq`` is the last statement's ``seq`` (0 before the first); ``finalized`` the
    periods whose statement was accepted; ``disputed`` maps a period to the reference of its
    last disputed statement.
    """

    last_seq: int = 0
    finalized: set[tuple[int, int]] = field(default_factory=set)
    disputed: dict[tuple[int, int], dict[str, str]] = field(default_factory=dict)

    def check(self, statement: Statement) -> None:
        """Apply SET-023, SET-013 and SET-024 to the next statement of the pair.

        Raises:
            ChainBreakError: ``seq`` is not the last one plus one (SET-023).
            InvalidResubmissionError: a finalized period (SET-013), or a ``resubmits`` that
                names no disputed statement of the period, or one missing (SET-024).
        """
        claims = statement.claims
        period = (claims.period.start, claims.period.end)
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
        return {
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
            )
        except (KeyError, TypeError) as exc:
            raise SchemaViolationError(
                f"a pair history is not of the expected shape ({exc})"
            ) from None
        if type(history.last_seq) is not int or history.last_seq < 0:
            raise SchemaViolationError("a pair history's last_seq is an integer >= 0")
        return history
