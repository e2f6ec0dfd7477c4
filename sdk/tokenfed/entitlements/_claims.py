"""The claims of an entitlement (ENT-001..ENT-006) as a pydantic model with wire member names."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Self

from pydantic import (
    Field,
    ModelWrapValidatorHandler,
    ValidationError,
    field_validator,
    model_validator,
)

from .._model import (
    _SERIALIZE,
    Document,
    EntityId,
    NumericDate,
    _decimal_schema,
    _decimal_validator,
    validate,
)
from .._signed import Version, schema_before_semantics, semantic_error
from ..receipts._claims import TOKEN_ID_PATTERN

__all__ = [
    "MAX_LIFETIME",
    "MAX_LIMIT",
    "MAX_SCOPE",
    "MICRO",
    "EntitlementClaims",
    "validate_entitlement",
]

MAX_LIFETIME = 86400
"""Longest ``exp - iat`` of an entitlement, in seconds (ENT-004)."""
MAX_SCOPE = 128
"""Most model ids in a ``scope`` (ENT-005)."""
MICRO = 6
"""Fractional digits of UTU: amounts are held as integer micro-UTU (ENT-043)."""
MAX_LIMIT = Decimal("9007199254.740991")
"""Largest ``limit``: (2^53 - 1) micro-UTU (ENT-006)."""

_WILDCARD = "*"

ModelId = Annotated[str, Field(min_length=1, max_length=256)]
Limit = Annotated[
    Decimal,
    _decimal_validator(max_places=MICRO, positive=True),
    _SERIALIZE,
    _decimal_schema("UTU limit: canonical decimal string, > 0, <= 6 fractional digits"),
]


class EntitlementClaims(Document):
    """The claims of an entitlement (ENT-001..ENT-006), with wire member names."""

    iss: EntityId
    sub: Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{16,128}$")]
    aud: EntityId
    jti: Annotated[str, Field(pattern=TOKEN_ID_PATTERN)]
    iat: NumericDate
    exp: NumericDate
    ver: Version
    scope: Annotated[list[ModelId], Field(min_length=1, max_length=MAX_SCOPE)]
    limit: Limit

    @field_validator("sub")
    @classmethod
    def _not_in_clear(cls, value: str) -> str:
        if value.isdigit():
            raise ValueError("sub must not be all digits: it is never a number in clear (ENT-002)")
        return value

    @field_validator("scope")
    @classmethod
    def _exact_models(cls, value: list[str]) -> list[str]:
        if _WILDCARD in value:
            raise ValueError('scope has no wildcard: "*" is not allowed (ENT-005)')
        if len(set(value)) != len(value):
            raise ValueError("scope lists a model id twice (ENT-005)")
        return value

    @model_validator(mode="wrap")
    @classmethod
    def _rules(cls, value: Any, handler: ModelWrapValidatorHandler[Self]) -> Self:
        try:
            claims = handler(value)
        except ValidationError as exc:
            schema_before_semantics(exc, "entitlement")
            raise
        if claims.sub.isdigit():
            raise semantic_error(
                "sub must not be all digits: it is never a number in clear (ENT-002)"
            )
        if claims.exp <= claims.iat:
            raise semantic_error(f"exp {claims.exp} must be later than iat {claims.iat} (ENT-004)")
        if claims.exp - claims.iat > MAX_LIFETIME:
            raise semantic_error(
                f"exp - iat is {claims.exp - claims.iat} s; an entitlement lives at most "
                f"{MAX_LIFETIME} s (ENT-004)"
            )
        if claims.limit > MAX_LIMIT:
            raise semantic_error(f"limit {claims.limit} is over {MAX_LIMIT} UTU (ENT-006)")
        return claims


def validate_entitlement(claims: dict[str, Any]) -> EntitlementClaims:
    """Step 8 of ENT-020: version, schema (ENT-001..ENT-006), ``invalid_amount`` for decimals."""
    return validate(EntitlementClaims, claims, what="entitlement")
