"""Revenue-share agreements and the exact largest-remainder split (SET-040..SET-042)."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, ClassVar, Self

from pydantic import Field, ModelWrapValidatorHandler, model_validator

from .._decimal import format_decimal, from_scaled, parse_decimal, to_scaled
from .._model import _SERIALIZE, Document, EntityId, _decimal_schema, _decimal_validator
from .._signed import SignedClaims, SignedDocument, semantic_error
from ..errors import InvalidSharesError
from ._documents import TYP_REVENUE_SHARE

__all__ = [
    "SHARE_PLACES",
    "RevenueShare",
    "RevenueShareClaims",
    "SharePart",
    "split",
    "split_report",
]

SHARE_PLACES = 6
"""Most fractional digits of a share (SET-040)."""

ShareValue = Annotated[
    Decimal,
    _decimal_validator(max_places=SHARE_PLACES, positive=True),
    _SERIALIZE,
    _decimal_schema("a share: canonical decimal string, > 0, <= 6 fractional digits"),
]


class SharePart(Document):
    """One party and its share of the revenue."""

    party: EntityId
    share: ShareValue


class RevenueShareClaims(SignedClaims):
    """The claims of a revenue-share agreement (SET-040)."""

    _what: ClassVar[str] = "revenue-share agreement"
    _window_requirement: ClassVar[str] = "SET-040"

    agreement_id: Annotated[str, Field(pattern=r"^[A-Za-z0-9._~-]{1,128}$")]
    parties: list[SharePart] = Field(min_length=1)

    @model_validator(mode="wrap")
    @classmethod
    def _unique(cls, value: Any, handler: ModelWrapValidatorHandler[Self]) -> Self:
        claims = handler(value)
        names = [part.party for part in claims.parties]
        if len(set(names)) != len(names):
            raise semantic_error("a party is listed twice in parties (SET-040)")
        return claims


class RevenueShare(SignedDocument[RevenueShareClaims]):
    """A revenue-share agreement (JWS typ ``tokenfed-revenue-share+jwt``), shares summing to 1.

    Read it with :meth:`from_jws` (verified, SET-060) or build claims with :meth:`from_claims`;
    split a total with :func:`split`.
    """

    __slots__ = ("_shares",)

    _model = RevenueShareClaims
    _typ = TYP_REVENUE_SHARE
    _key_requirement = "SET-060"
    _unsigned_requirement = "SET-060"

    def _compile(self) -> None:
        self._shares = [
            (part.party, to_scaled(part.share, SHARE_PLACES)) for part in self.claims.parties
        ]
        total = sum(share for _, share in self._shares)
        if total != 10**SHARE_PLACES:  # SET-040
            raise InvalidSharesError(
                f"the shares of agreement {self.claims.agreement_id!r} add up to "
                f"{format_decimal(from_scaled(total, SHARE_PLACES))}, not 1 (SET-040)",
                detail={"sum": format_decimal(from_scaled(total, SHARE_PLACES))},
            )

    @property
    def shares(self) -> list[tuple[str, int]]:
        """``(party, share in millionths)`` in the order of ``parties``."""
        return list(self._shares)


def split(agreement: RevenueShare, total: int) -> list[tuple[str, int]]:
    """Split ``total`` minor units by largest remainder (SET-041); parts sum to ``total``.

    Each party gets ``floor(total * share)``; the units left over go one each to the parties
    with the largest fractional remainders, ties broken by the larger share, then by the
    party identifier in code point order. A negative total is split as its opposite, negated.
    Returns ``(party, units)`` in the order of ``parties``.
    """
    if type(total) is not int:
        raise TypeError(f"total must be an int of minor units, not {type(total).__name__}")
    if total < 0:
        return [(party, -units) for party, units in split(agreement, -total)]
    scale = 10**SHARE_PLACES
    shares = agreement.shares
    floors = [divmod(total * share, scale) for _, share in shares]
    left = total - sum(whole for whole, _ in floors)
    order = sorted(
        range(len(shares)),
        key=lambda i: (-floors[i][1], -shares[i][1], shares[i][0]),
    )
    bonus = set(order[:left])
    parts = [
        (party, whole + (1 if i in bonus else 0))
        for i, ((party, _), (whole, _)) in enumerate(zip(shares, floors, strict=True))
    ]
    assert sum(units for _, units in parts) == total
    return parts


def split_report(agreement: RevenueShare, amount: str, code: str, precision: int) -> dict[str, Any]:
    """The split of ``amount`` (a canonical decimal of ``code`` at ``precision``) as SET-042."""
    total = to_scaled(parse_decimal(amount, name="total", max_places=precision), precision)
    return {
        "agreement_id": agreement.claims.agreement_id,
        "code": code,
        "total": amount,
        "parts": [
            {"party": party, "amount": format_decimal(from_scaled(units, precision))}
            for party, units in split(agreement, total)
        ],
    }
