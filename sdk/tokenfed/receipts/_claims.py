"""The documents of the receipts chapter: receipt claims, batch statements, and the fast schema.

:class:`ReceiptClaims` and :class:`BatchClaims` are the schemas of REC-001..REC-008 and REC-060
as pydantic models. :func:`validate_receipt` applies step 8 of REC-040 with the precedence of
REC-048. :class:`FastSchema` recognises, without building a model, claims that certainly satisfy
the receipt schema; tests prove it never accepts what the schema refuses.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from .._json import MAX_SAFE_INTEGER
from .._meters import METERS
from .._model import Document, EntityId, NumericDate, UtuAmount, is_entity_id, validate
from .._signed import Version
from ..errors import InvalidAmountError
from ..units import Usage, parse_usage

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

TOKEN_ID_PATTERN = r"^[A-Za-z0-9._~-]{1,128}$"  # noqa: S105 - a pattern, not a secret
"""``jti`` and ``batch_id`` (REC-002)."""

DIGEST_PATTERN = r"^sha256:[0-9a-f]{64}$"
"""A digest (CONV-031)."""

TOKEN_ID = re.compile(TOKEN_ID_PATTERN[1:-1])
""":data:`TOKEN_ID_PATTERN` compiled, for ``fullmatch``."""

DIGEST = re.compile(DIGEST_PATTERN[1:-1])
""":data:`DIGEST_PATTERN` compiled, for ``fullmatch``."""


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


_FAST_SUB = re.compile(r"[A-Za-z0-9_-]{16,128}")
_FAST_AMOUNT = re.compile(r"(0|[1-9][0-9]{0,40})(\.[0-9]{0,5}[1-9])?")
_FAST_MEMBERS = frozenset(ReceiptClaims.model_fields)
_FAST_METERS = frozenset(METERS)
_CACHE_LIMIT = 4096


def _remember(cache: set[Any], value: Any) -> None:
    if len(cache) >= _CACHE_LIMIT:
        cache.clear()
    cache.add(value)


class FastSchema:
    """A fast check that accepts only claims the :class:`ReceiptClaims` schema accepts.

    It covers the common shape (version 1.0, registered meters, no unknown members); anything
    else is left to the full model, which then gives the exact error, so this check can only make
    verification faster, never more lenient (tests/test_receipt_fast_schema.py proves it with
    inputs generated from the JSON Schema). Strings that repeat from receipt to receipt (issuer,
    audience, subject, rate card, model) are checked once and remembered: the memory only ever
    holds values that passed the check, so it never changes an answer.

    It types every value of what it accepts: exactly the members of the schema, each of its
    JSON type, integers within +-(2^53 - 1), no float and no nested value of another kind. The
    fast JSON path (``_json.loads_if_canonical``) relies on this and is valid only with it
    (ADR 0010).
    """

    __slots__ = ("_stable",)

    def __init__(self) -> None:
        # (iss, aud, sub, rate card id, rate card digest, model) tuples that passed: the
        # members a stream repeats, checked once together.
        self._stable: set[tuple[str, str, str, str, str, str]] = set()

    def accepts(self, claims: dict[str, Any]) -> bool:
        """Whether the claims certainly satisfy the receipt schema (REC-001..REC-008)."""
        if not _FAST_MEMBERS.issuperset(claims):
            return False
        try:  # every required member is read here or below: a missing one ends the fast path
            if claims["ver"] != "1.0" or claims["unit"] != "UTU":
                return False
            jti, iat, amount, card, seq, usage = (
                claims["jti"],
                claims["iat"],
                claims["amount"],
                claims["rate_card"],
                claims["seq"],
                claims["usage"],
            )
            iss, aud, sub = claims["iss"], claims["aud"], claims["sub"]
        except KeyError:
            return False
        if not (
            type(jti) is str
            and type(iat) is int
            and type(amount) is str
            and type(seq) is int
            and type(card) is dict
            and type(usage) is dict
            and 0 <= iat <= MAX_SAFE_INTEGER
            and 1 <= seq <= MAX_SAFE_INTEGER
            and len(usage) == 2
            and len(card) == 2
            and TOKEN_ID.fullmatch(jti)
            and _FAST_AMOUNT.fullmatch(amount)
        ):
            return False
        card_id, card_digest = card.get("id"), card.get("digest")
        model, meters = usage.get("model"), usage.get("meters")
        # Only strings reach the cache: a hostile value may be unhashable.
        if not (
            type(iss) is str
            and type(aud) is str
            and type(sub) is str
            and type(card_id) is str
            and type(card_digest) is str
            and type(model) is str
        ):
            return False
        stable = (iss, aud, sub, card_id, card_digest, model)
        if stable not in self._stable:
            if not (
                is_entity_id(iss)
                and is_entity_id(aud)
                and _FAST_SUB.fullmatch(sub)
                and not sub.isdigit()
                and 0 < len(card_id) <= 256
                and DIGEST.fullmatch(card_digest)
                and 0 < len(model) <= 256
            ):
                return False
            _remember(self._stable, stable)
        if type(meters) is not dict:
            return False
        for name, count in meters.items():
            if (
                type(count) is not int
                or name not in _FAST_METERS
                or not 0 <= count <= MAX_SAFE_INTEGER
            ):
                return False
        if "prev" in claims:  # present: a digest, and only after seq 1 (REC-006)
            prev = claims["prev"]
            if seq == 1 or type(prev) is not str or not DIGEST.fullmatch(prev):
                return False
        elif seq != 1:
            return False
        if "entitlement" not in claims:
            return True
        entitlement = claims["entitlement"]
        return type(entitlement) is str and TOKEN_ID.fullmatch(entitlement) is not None
