"""The documents of the receipts chapter: receipt claims, batch statements, and the fast schema.

:class:`ReceiptClaims` and :class:`BatchClaims` are the schemas of REC-001..REC-008 and REC-060
as pydantic models. :func:`validate_receipt` applies step 8 of REC-040 with the precedence of
REC-048. :class:`FastSchema` recognises, without building a model, claims that certainly satisfy
the receipt schema (defined in ``_fast``, without the models); tests prove it never accepts
what the schema refuses.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from .._json import MAX_SAFE_INTEGER
from .._model import Document, EntityId, NumericDate, UtuAmount, validate
from .._signed import Version
from ..errors import InvalidAmountError
from ..units import Usage, parse_usage
from ._fast import DIGEST, DIGEST_PATTERN, TOKEN_ID, TOKEN_ID_PATTERN, FastSchema

__all__ = [
    "DIGEST",
    "DIGEST_PATTERN",
    "TOKEN_ID",
    "TOKEN_ID_PATTERN",
    "BatchClaims",
    "FastSchema",
    "RateCardRef",
    "ReceiptClaims",
    "validate_receipt",
]


class RateCardRef(Document):
    """The ``rate_card`` member of a receipt: which card priced it (REC-005)."""

    id: Annotated[str, Field(min_length=1, max_length=256)]
    digest: Annotated[str, Field(pattern=DIGEST_PATTERN)]


class ReceiptClaims(Document):
    """The claims of a usage receipt (REC-001..REC-008), with wire member names."""

    iss: EntityId
    sub: Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{16,128}$")]
    aud: EntityId
    jti: Annotated[str, Field(pattern=TOKEN_ID_PATTERN)]
    iat: NumericDate
    ver: Version
    usage: Usage
    amount: UtuAmount
    unit: Literal["UTU"]
    rate_card: RateCardRef
    entitlement: Annotated[str, Field(pattern=TOKEN_ID_PATTERN)] | None = None
    seq: Annotated[int, Field(ge=1, le=MAX_SAFE_INTEGER, strict=True)]
    prev: Annotated[str, Field(pattern=DIGEST_PATTERN)] | None = None

    @model_validator(mode="after")
    def _stream_and_subject(self) -> ReceiptClaims:
        for name in ("entitlement", "prev"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} is a string when present, never null (REC-001)")
        if self.sub.isdigit():
            raise ValueError("sub must not be all digits: it is never a number in clear (REC-003)")
        if (self.seq == 1) != (self.prev is None):
            raise ValueError("prev is absent exactly when seq is 1 (REC-006)")
        extra = self.model_extra or {}
        if "exp" in extra or "nbf" in extra:
            raise ValueError("a receipt carries no exp or nbf: it is evidence (REC-008)")
        return self


class BatchClaims(Document):
    """The claims of a batch statement (REC-060)."""

    iss: EntityId
    ver: Version
    iat: NumericDate
    batch_id: Annotated[str, Field(pattern=TOKEN_ID_PATTERN)]
    tree_size: Annotated[int, Field(ge=1, le=MAX_SAFE_INTEGER, strict=True)]
    tree_root: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]


class _ReceiptEnvelope(ReceiptClaims):
    """The receipt claims with ``usage`` left unparsed: step 8's first pass."""

    usage: dict[str, Any]  # type: ignore[assignment]


def validate_receipt(claims: dict[str, Any]) -> ReceiptClaims:
    """Step 8 of REC-040 with its precedence (REC-048): ``schema_violation``, then
    ``unknown_meter``, then ``invalid_usage``, then ``invalid_amount``."""
    pending: InvalidAmountError | None = None
    try:
        validate(_ReceiptEnvelope, claims, what="receipt")
    except InvalidAmountError as exc:
        pending = exc
        # The rules between members (seq and prev, sub, no exp or nbf, no null) run once every
        # member is valid: with a valid amount in its place, a schema violation among them
        # still comes first (REC-048).
        validate(_ReceiptEnvelope, {**claims, "amount": "0"}, what="receipt")
    parse_usage(claims["usage"])
    if pending is not None:
        raise pending
    return validate(ReceiptClaims, claims, what="receipt")
