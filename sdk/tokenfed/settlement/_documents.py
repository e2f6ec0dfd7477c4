"""The signed documents of the settlement chapter, read only verified (SET-060).

Each kind is a pydantic model of its claims (wire member names, unknown members kept) and a
small wrapper holding the claims, a copy of them as received, their digest and the token. The
semantic checks that JSON Schema cannot express run after the schema, in the order the chapter
gives (SET-020, SET-031, SET-053).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, ClassVar, Literal, Self

from pydantic import Field

from .. import _json, _jws
from .._decimal import to_scaled
from .._model import DecimalText, Document, EntityId, NumericDate, UtuAmount, validate
from .._signed import DocumentId, Version, copy_json, decode_claims
from ..errors import (
    InvalidResubmissionError,
    PeriodNotClosedError,
    SchemaViolationError,
    TotalsMismatchError,
)
from ..keys import PrivateKey, PublicKey
from ..receipts import RateCardRef
from ..trust import KeySource

__all__ = [
    "TYP_NETTING_REPORT",
    "TYP_RESPONSE",
    "TYP_REVENUE_SHARE",
    "TYP_STATEMENT",
    "UTU_PLACES",
    "Dispute",
    "Line",
    "NettingReport",
    "NettingReportClaims",
    "Period",
    "Response",
    "ResponseClaims",
    "SettlementDocument",
    "Statement",
    "StatementClaims",
    "StatementRef",
]

TYP_STATEMENT = "tokenfed-settlement-statement+jwt"
"""``typ`` of a settlement statement (SET-020)."""
TYP_RESPONSE = "tokenfed-settlement-response+jwt"
"""``typ`` of a reconciliation response (SET-033)."""
TYP_REVENUE_SHARE = "tokenfed-revenue-share+jwt"
"""``typ`` of a revenue-share agreement (SET-040)."""
TYP_NETTING_REPORT = "tokenfed-netting-report+jwt"
"""``typ`` of a netting report (SET-052)."""

UTU_PLACES = 6
"""Fractional digits of UTU amounts: statements add micro-UTU integers (SET-001)."""

_MAX = 2**53 - 1
TokenId = Annotated[str, Field(pattern=r"^[A-Za-z0-9._~-]{1,128}$")]
Digest = Annotated[str, Field(pattern=r"^sha256:[0-9a-f]{64}$")]
Count = Annotated[int, Field(ge=0, le=_MAX, strict=True)]
Code = Annotated[str, Field(pattern=r"^([A-Z]{3}|UTU|[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+)$")]


class Period(Document):
    """``{"start", "end"}``: the half-open interval ``start <= t < end`` (SET-010)."""

    start: NumericDate
    end: NumericDate


class Line(Document):
    """One statement line: the receipts of one (model, rate card) (SET-021)."""

    model: Annotated[str, Field(min_length=1, max_length=256)]
    rate_card: RateCardRef
    count: Annotated[int, Field(ge=1, le=_MAX, strict=True)]
    amount: UtuAmount

    @property
    def key(self) -> tuple[str, str]:
        """``(model, rate_card.digest)``, the key lines are sorted and grouped by."""
        return (self.model, self.rate_card.digest)


class Totals(Document):
    """The audit totals of a statement (SET-025)."""

    count: Count
    amount: UtuAmount


class ReceiptsTree(Document):
    """The Merkle tree of the included receipts (SET-026)."""

    count: Count
    root: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]


class StatementRef(Document):
    """``{"statement_id", "digest"}``: names one statement exactly (SET-024)."""

    statement_id: TokenId
    digest: Digest


class ConversionClaims(Document):
    """The statement total converted once to a currency (SET-027)."""

    code: Code
    rates_id: DocumentId
    rates_digest: Digest
    fixed_at: NumericDate
    amount: DecimalText


class StatementClaims(Document):
    """The claims of a settlement statement (SET-020)."""

    iss: EntityId
    ver: Version
    iat: NumericDate
    statement_id: TokenId
    payee: EntityId
    payer: EntityId
    period: Period
    grace: Count
    seq: Annotated[int, Field(ge=1, le=_MAX, strict=True)]
    resubmits: StatementRef | None = None
    lines: list[Line]
    adjustments: list[Line]
    totals: Totals
    receipts: ReceiptsTree
    conversion: ConversionClaims | None = None


class Dispute(Document):
    """One disputed receipt of a response (SET-030)."""

    iss: EntityId
    jti: TokenId
    reason: Literal["missing_at_payer", "missing_at_payee", "failed_verification"]
    code: Annotated[str, Field(pattern=r"^[a-z][a-z_]*[a-z]$")] | None = None


class DisputedLines(Document):
    """Indexes of the flagged lines of a statement (SET-032)."""

    lines: list[Count]
    adjustments: list[Count]


class ResponseClaims(Document):
    """The claims of a reconciliation response (SET-030..SET-033)."""

    iss: EntityId
    ver: Version
    iat: NumericDate
    statement: StatementRef
    payee: EntityId
    payer: EntityId
    period: Period
    seq: Annotated[int, Field(ge=1, le=_MAX, strict=True)]
    status: Literal["accept", "dispute"]
    disputes: list[Dispute]
    disputed_lines: DisputedLines


class NettedStatement(Document):
    """A statement a netting report includes (SET-052)."""

    statement_id: TokenId
    iss: EntityId
    digest: Digest


class Position(Document):
    """One party's gross and net figures in one currency (SET-051)."""

    party: EntityId
    receivable: DecimalText
    payable: DecimalText
    net: DecimalText


class NettingReportClaims(Document):
    """The claims of a netting report (SET-052)."""

    iss: EntityId
    ver: Version
    iat: NumericDate
    report_id: TokenId
    period: Period
    statements: list[NettedStatement]
    positions: dict[Code, list[Position]]


def _schema(message: str, path: str) -> SchemaViolationError:
    return SchemaViolationError(message, detail={"path": path})


def _scale(text: str) -> tuple[int, int]:
    """A canonical decimal string as ``(coefficient, places)``."""
    point = text.find(".")
    places = 0 if point < 0 else len(text) - point - 1
    return to_scaled(text, places), places


def aligned(values: list[str]) -> list[int]:
    """Canonical decimal strings as integers of one common scale."""
    scaled = [_scale(value) for value in values]
    places = max((p for _, p in scaled), default=0)
    return [c * 10 ** (places - p) for c, p in scaled]


def exact_sum(values: list[str]) -> tuple[int, int]:
    """The exact sum of canonical decimal strings as ``(coefficient, places)``."""
    scaled = [_scale(value) for value in values]
    places = max((p for _, p in scaled), default=0)
    return sum(c * 10 ** (places - p) for c, p in scaled), places


class SettlementDocument:
    """A validated settlement document: claims, a copy as received, digest, token.

    Read one with :meth:`from_jws` (verified with a key or a trust store, SET-060). A signer
    builds claims and signs them with :meth:`sign`. :meth:`from_claims` validates claims without
    any signature (the signer's own, or test vectors); the result is not :attr:`verified`.
    """

    __slots__ = ("claims", "digest", "raw", "token", "verified_by")

    _model: ClassVar[type[Document]]
    _typ: ClassVar[str]
    _what: ClassVar[str]

    claims: Any
    raw: dict[str, Any]
    digest: str
    token: str | None
    verified_by: str | None

    def __init__(self, claims: Document, raw: dict[str, Any]) -> None:
        """Wrap validated claims; prefer :meth:`from_claims` and :meth:`from_jws`."""
        self.claims = claims
        self.raw = raw
        self.digest = _json.digest(raw)
        self.token = None
        self.verified_by = None

    @classmethod
    def from_claims(cls, value: Mapping[str, Any]) -> Self:
        """Validate claims (a parsed JSON object) by the chapter's steps, without a signature.

        Raises:
            MalformedError: a value no strict I-JSON text can hold.
            UnsupportedVersionError, SchemaViolationError, InvalidAmountError: the schema.
            TokenfedError: the kind's semantic checks, with their codes.
        """
        if isinstance(value, Mapping) and not isinstance(value, dict):
            value = dict(value)
        raw = copy_json(value, what=cls._what)
        claims = validate(cls._model, raw, what=cls._what)
        document = cls(claims, raw)
        document._check()
        return document

    def _check(self) -> None:
        """The semantic checks of the kind (after the schema)."""

    @classmethod
    def from_jws(cls, token: str | bytes, trust: PublicKey | KeySource) -> Self:
        """Read and verify the document: CONV-060 with the kind's ``typ``, the key under the
        document's ``iss`` and header ``kid`` valid at its ``iat`` (SET-060), then its checks.
        """
        if not isinstance(trust, PublicKey) and not isinstance(trust, KeySource):
            raise TypeError(
                f"trust must be a PublicKey, a TrustStore or another KeySource, not "
                f"{type(trust).__name__}"
            )
        claims, compact, kid = decode_claims(token, cls._typ, trust, "SET-060")
        document = cls.from_claims(claims)
        document.token = compact
        document.verified_by = kid
        return document

    @classmethod
    def from_jws_unverified(cls, token: str | bytes) -> Self:
        """Read the document WITHOUT checking its signature, for display only."""
        claims, compact, _ = decode_claims(token, cls._typ, None, "SET-060")
        document = cls.from_claims(claims)
        document.token = compact
        return document

    @classmethod
    def sign(cls, claims: Mapping[str, Any], key: PrivateKey) -> str:
        """Validate claims by the kind's checks and sign them (JCS payload, the kind's ``typ``)."""
        return _jws.sign(cls.from_claims(claims).raw, key, cls._typ)

    @property
    def verified(self) -> bool:
        """Whether the document was read from a JWS whose signature was verified."""
        return self.verified_by is not None

    @property
    def ref(self) -> dict[str, str]:
        """``{"statement_id"|..., "digest"}`` naming this document (for references)."""
        return {"digest": self.digest}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(digest={self.digest!r})"


def _check_lines(lines: list[Line], member: str) -> tuple[int, int]:
    """SET-021: sorted by key, no key twice; returns (count, micro-UTU sum)."""
    count = micro = 0
    previous: tuple[str, str] | None = None
    for index, line in enumerate(lines):
        if previous is not None and line.key <= previous:
            problem = "repeats the key of" if line.key == previous else "is out of order after"
            raise _schema(
                f"statement/{member}/{index} {problem} the line before it (model, "
                "rate_card.digest); lines are sorted and unique (SET-021)",
                f"/{member}/{index}",
            )
        previous = line.key
        count += line.count
        micro += to_scaled(line.amount, UTU_PLACES)
    return count, micro


class Statement(SettlementDocument):
    """A settlement statement (JWS typ ``tokenfed-settlement-statement+jwt``, SET-020).

    :meth:`from_jws` runs every check of SET-020 that needs no history and no exchange-rate
    set; :meth:`check_conversion` recomputes SET-027 with the set; :func:`check_history` applies
    SET-013, SET-023 and SET-024 against the pair's history.
    """

    __slots__ = ()
    _model = StatementClaims
    _typ = TYP_STATEMENT
    _what = "statement"
    claims: StatementClaims

    def _check(self) -> None:
        claims = self.claims
        period = claims.period
        if period.start >= period.end:  # SET-010
            raise _schema(
                f"statement period start {period.start} must be earlier than end {period.end} "
                "(SET-010)",
                "/period",
            )
        count, micro = _check_lines(claims.lines, "lines")  # SET-021
        extra_count, extra_micro = _check_lines(claims.adjustments, "adjustments")  # SET-022
        count += extra_count
        micro += extra_micro
        totals = claims.totals
        if totals.count != count or to_scaled(totals.amount, UTU_PLACES) != micro:  # SET-025
            raise TotalsMismatchError(
                f"statement totals ({totals.count} receipts, {totals.amount} UTU) are not the "
                f"sum of its lines and adjustments ({count} receipts, micro-UTU {micro}); the "
                "whole statement is rejected (SET-025)",
                detail={"count": count, "micro_utu": micro},
            )
        if claims.receipts.count != totals.count:  # SET-025
            raise TotalsMismatchError(
                f"statement receipts.count {claims.receipts.count} differs from totals.count "
                f"{totals.count} (SET-025)"
            )
        if claims.resubmits is not None and claims.seq == 1:  # SET-024
            raise InvalidResubmissionError(
                "a statement with seq 1 cannot resubmit an earlier statement (SET-024)"
            )
        if claims.iat < period.end + claims.grace:  # SET-011
            raise PeriodNotClosedError(
                f"statement signed at {claims.iat}, before the cutoff {period.end} plus the "
                f"grace window {claims.grace} s (SET-011)",
                detail={"closes_at": period.end + claims.grace},
            )

    @property
    def ref(self) -> dict[str, str]:
        """``{"statement_id", "digest"}``: the reference a response or resubmission uses."""
        return {"statement_id": self.claims.statement_id, "digest": self.digest}

    @property
    def micro_total(self) -> int:
        """``totals.amount`` in micro-UTU."""
        return to_scaled(self.claims.totals.amount, UTU_PLACES)


class Response(SettlementDocument):
    """A reconciliation response (JWS typ ``tokenfed-settlement-response+jwt``, SET-033)."""

    __slots__ = ()
    _model = ResponseClaims
    _typ = TYP_RESPONSE
    _what = "response"
    claims: ResponseClaims

    def _check(self) -> None:
        claims = self.claims
        if (claims.status == "accept") != (not claims.disputes):  # SET-031
            raise _schema(
                f"response status {claims.status!r} with {len(claims.disputes)} disputes: the "
                "status is accept exactly when there are none (SET-031)",
                "/status",
            )
        for index, dispute in enumerate(claims.disputes):
            if (dispute.code is not None) != (dispute.reason == "failed_verification"):
                raise _schema(
                    f"response dispute {index}: code is given exactly for failed_verification "
                    "(SET-031)",
                    f"/disputes/{index}",
                )

    @property
    def accepted(self) -> bool:
        """Whether the payer accepted the statement (SET-031)."""
        return self.claims.status == "accept"


class NettingReport(SettlementDocument):
    """A netting report (JWS typ ``tokenfed-netting-report+jwt``, SET-052, SET-053)."""

    __slots__ = ()
    _model = NettingReportClaims
    _typ = TYP_NETTING_REPORT
    _what = "netting report"
    claims: NettingReportClaims

    def _check(self) -> None:
        for code, positions in self.claims.positions.items():
            parties = [position.party for position in positions]
            if len(set(parties)) != len(parties):
                raise TotalsMismatchError(
                    f"netting report: a party appears twice in {code} (SET-053)"
                )
            nets = []
            for position in positions:
                gross = [position.receivable, position.payable, position.net]
                receivable, payable, stated = aligned(gross)
                if receivable - payable != stated:
                    raise TotalsMismatchError(
                        f"netting report: {position.party} in {code} has net {position.net}, "
                        f"not receivable {position.receivable} - payable {position.payable} "
                        "(SET-053)"
                    )
                nets.append(position.net)
            total, _ = exact_sum(nets)
            if total != 0:
                raise TotalsMismatchError(
                    f"netting report: the nets of {code} do not add up to zero (SET-053)"
                )
