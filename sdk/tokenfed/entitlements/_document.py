"""The entitlement as a verified signed document (ENT-020) and its issuance (ENT-010)."""

from __future__ import annotations

import hashlib
import inspect
import secrets
import time
from collections.abc import Sequence
from decimal import Decimal
from typing import Any, Protocol, runtime_checkable

from .. import _jws
from .._b64 import b64encode
from .._decimal import format_decimal, parse_decimal, to_scaled
from .._model import is_entity_id
from .._signed import check_key_at
from ..errors import (
    EntitlementExpiredError,
    EntitlementNotYetValidError,
    OutOfScopeError,
    WrongAudienceError,
)
from ..keys import PrivateKey, PublicKey
from ..trust import TrustStore
from ._claims import MAX_LIFETIME, MICRO, EntitlementClaims, validate_entitlement

__all__ = [
    "CLOCK_SKEW",
    "MAX_ENTITLEMENT_BYTES",
    "TYP_ENTITLEMENT",
    "Entitlement",
    "KeySource",
    "issue_entitlement",
]

TYP_ENTITLEMENT = "tokenfed-entitlement+jwt"
"""``typ`` of an entitlement (ENT-001)."""
MAX_ENTITLEMENT_BYTES = 16384
"""Longest entitlement JWS (ENT-007)."""
CLOCK_SKEW = 60
"""The clock skew of ENT-020 step 9, exactly 60 seconds (ENT-021)."""


@runtime_checkable
class KeySource(Protocol):
    """Anything that finds an issuer's key by (``iss``, ``kid``): a trust store, a federation
    key source. It raises :class:`~tokenfed.errors.UnknownKeyError` for a key it does not have.
    A source whose ``key`` method takes a third argument is given the document ``typ``."""

    def key(self, iss: Any, kid: Any, /) -> PublicKey:
        """The trusted key ``kid`` of issuer ``iss``."""
        ...


Trust = PublicKey | TrustStore | KeySource


def _typ_argument(source: object) -> str | None:
    """How a key source takes the document ``typ``: ``"keyword"`` (a parameter named ``typ``),
    ``"positional"`` (a third positional parameter) or ``None`` (it takes only iss and kid)."""
    try:
        parameters = inspect.signature(source.key).parameters  # type: ignore[attr-defined]
    except (TypeError, ValueError):
        return None
    if "typ" in parameters:
        return "keyword"
    positional = [
        p for p in parameters.values() if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
    ]
    return "positional" if len(positional) >= 3 else None


def _resolver(trust: Trust) -> _jws.KeyResolver:
    """Step 5 of ENT-020: the key by ``iss`` and ``kid``, its algorithm, its window at ``iat``."""
    if not isinstance(trust, PublicKey) and not callable(getattr(trust, "key", None)):
        raise TypeError(
            "trust must be a PublicKey, a TrustStore or a key source with .key(iss, kid), "
            f"not {type(trust).__name__}"
        )
    typ_argument = None if isinstance(trust, PublicKey | TrustStore) else _typ_argument(trust)

    def resolve(decoded: _jws.Decoded) -> PublicKey:
        iss, kid = decoded.claims.get("iss"), decoded.header.get("kid")
        if isinstance(trust, PublicKey):
            key = trust
            _jws.check_kid(decoded.header, key)
        elif typ_argument == "keyword":
            key = trust.key(iss, kid, typ=TYP_ENTITLEMENT)  # type: ignore[call-arg]
        elif typ_argument == "positional":
            key = trust.key(iss, kid, TYP_ENTITLEMENT)  # type: ignore[call-arg]
        else:
            key = trust.key(iss, kid)
        _jws.check_alg(decoded.header, key)
        iat = decoded.claims.get("iat")
        if type(iat) is int:
            check_key_at(key, iat, "ENT-010")
        return key

    return resolve


def check_time(claims: EntitlementClaims, now: int) -> None:
    """Step 9 of ENT-020 with the fixed skew of ENT-021."""
    if claims.iat > now + CLOCK_SKEW:
        raise EntitlementNotYetValidError(
            f"entitlement {claims.jti} is issued at {claims.iat}, later than now ({now}) plus "
            f"the {CLOCK_SKEW} s skew (ENT-020)",
            detail={"iat": claims.iat, "now": now},
        )
    if now >= claims.exp + CLOCK_SKEW:
        raise EntitlementExpiredError(
            f"entitlement {claims.jti} expired at {claims.exp}; now is {now} (the {CLOCK_SKEW} s "
            "skew included, ENT-020)",
            detail={"exp": claims.exp, "now": now},
        )


class Entitlement:
    """A verified entitlement (ENT-020): read one with :meth:`from_jws`, the only constructor.

    Attributes:
        claims: the validated claims (wire member names).
        raw: a copy of the claims as received (unknown members kept).
        token: the JWS it was read from.
        digest: the content digest: ``sha256:`` + hex SHA-256 of the claims bytes as received
            (ENT-044, the rule of REC-010).
        verified_by: the ``kid`` of the key that verified it.
    """

    __slots__ = ("claims", "digest", "raw", "token", "verified_by")

    claims: EntitlementClaims
    raw: dict[str, Any]
    token: str
    digest: str
    verified_by: str

    def __init__(self) -> None:
        raise TypeError("an Entitlement is only ever read verified: use Entitlement.from_jws")

    @classmethod
    def _build(
        cls, claims: EntitlementClaims, raw: dict[str, Any], token: str, digest: str, kid: str
    ) -> Entitlement:
        entitlement = object.__new__(cls)
        entitlement.claims = claims
        entitlement.raw = raw
        entitlement.token = token
        entitlement.digest = digest
        entitlement.verified_by = kid
        return entitlement

    @classmethod
    def _verify_signed(cls, token: str | bytes, trust: Trust) -> Entitlement:
        """Steps 1 to 8 of ENT-020 (no time, no audience)."""
        decoded = _jws.verify(
            token, TYP_ENTITLEMENT, _resolver(trust), max_bytes=MAX_ENTITLEMENT_BYTES
        )
        claims = validate_entitlement(decoded.claims)
        digest = "sha256:" + hashlib.sha256(decoded.payload).hexdigest()
        return cls._build(claims, decoded.claims, decoded.token, digest, str(decoded.header["kid"]))

    @classmethod
    def from_jws(
        cls, token: str | bytes, trust: Trust, *, audience: str, now: int | None = None
    ) -> Entitlement:
        """Read and verify an entitlement with the steps of ENT-020, in order.

        Args:
            token: the JWS compact serialization.
            trust: the operator's key, a trust store listing it under the operator's entity id,
                or any key source with ``.key(iss, kid)`` (a federation key source).
            audience: the receiving provider's own entity id (step 10).
            now: the clock as a NumericDate (default: the system clock).

        Raises:
            MalformedError, UnsupportedTypError, UnsupportedAlgError, UnsupportedCritError,
            UnknownKeyError, KeyNotValidError, InvalidSignatureError: steps 1 to 6.
            UnsupportedVersionError, SchemaViolationError, InvalidAmountError: steps 7 and 8.
            EntitlementNotYetValidError, EntitlementExpiredError: step 9.
            WrongAudienceError: step 10.
        """
        if not isinstance(audience, str):
            raise TypeError(f"audience must be an entity id string, not {type(audience).__name__}")
        at = int(time.time()) if now is None else now
        entitlement = cls._verify_signed(token, trust)
        check_time(entitlement.claims, at)
        if entitlement.claims.aud != audience:
            raise WrongAudienceError(
                f"entitlement {entitlement.jti} is for {entitlement.claims.aud}, not for "
                f"{audience} (ENT-020)",
                detail={"aud": entitlement.claims.aud, "audience": audience},
            )
        return entitlement

    @property
    def iss(self) -> str:
        """The issuing operator."""
        return self.claims.iss

    @property
    def aud(self) -> str:
        """The provider it authorizes."""
        return self.claims.aud

    @property
    def sub(self) -> str:
        """The subscriber's pairwise identifier for the provider."""
        return self.claims.sub

    @property
    def jti(self) -> str:
        """The entitlement identifier, unique per operator (ENT-003)."""
        return self.claims.jti

    @property
    def exp(self) -> int:
        """The first second the entitlement is no longer valid (before the skew)."""
        return self.claims.exp

    @property
    def scope(self) -> tuple[str, ...]:
        """The model ids usage may be of (ENT-005)."""
        return tuple(self.claims.scope)

    @property
    def limit(self) -> Decimal:
        """The most UTU consumable under the entitlement."""
        return self.claims.limit

    @property
    def limit_micro(self) -> int:
        """:attr:`limit` in integer micro-UTU."""
        return to_scaled(self.claims.limit, MICRO)

    def check_scope(self, model: str) -> None:
        """Refuse a model the scope does not list, compared code point by code point (ENT-030)."""
        if model not in self.claims.scope:
            raise OutOfScopeError(
                f"model {model!r:.260} is not in the scope of entitlement {self.jti} (ENT-030)",
                detail={"model": model, "scope": list(self.claims.scope)},
            )

    def check_time(self, now: int) -> None:
        """Step 9 of ENT-020 again at ``now`` (ENT-031)."""
        check_time(self.claims, now)

    def __repr__(self) -> str:
        return f"Entitlement(iss={self.iss!r}, jti={self.jti!r}, aud={self.aud!r})"


def issue_entitlement(
    *,
    key: PrivateKey,
    iss: str,
    aud: str,
    sub: str,
    scope: Sequence[str],
    limit: Decimal | str,
    ttl: int,
    jti: str | None = None,
    iat: int | None = None,
) -> str:
    """Issue an entitlement (ENT-001..ENT-010): validate the claims and sign them.

    Args:
        key: an entitlement-signing key of the operator (ENT-010).
        iss: the operator's entity id.
        aud: the provider's entity id.
        sub: the subscriber's pairwise id for ``aud``
            (:func:`~tokenfed.receipts.pairwise_subject` with ``aud`` as the issuer).
        scope: the model ids it authorizes (no duplicates, no wildcard).
        limit: the most UTU, a :class:`~decimal.Decimal` or a canonical decimal string.
        ttl: lifetime in seconds, 1 to 86400 (``exp = iat + ttl``).
        jti: the identifier (default: 128 random bits, base64url).
        iat: the issue time (default: now).

    Returns the JWS. Raises the codes of ENT-020 step 8 for claims that break the schema, and
    TypeError/ValueError for arguments of the wrong Python type or a ``ttl`` out of range.
    """
    if isinstance(scope, str) or not isinstance(scope, Sequence):
        raise TypeError("scope must be a sequence of model ids, not a single string")
    if type(ttl) is not int or not 1 <= ttl <= MAX_LIFETIME:
        raise ValueError(f"ttl must be a whole number of seconds from 1 to {MAX_LIFETIME}")
    if isinstance(limit, Decimal):
        limit_text = format_decimal(limit)
    elif isinstance(limit, str):
        limit_text = format_decimal(parse_decimal(limit, name="limit"))
    else:
        raise TypeError(f"limit must be a Decimal or a decimal string, not {type(limit).__name__}")
    for name, value in (("iss", iss), ("aud", aud)):
        if not is_entity_id(value):
            raise ValueError(f"{name} {value!r:.80} is not an entity id (CONV-001)")
    at = int(time.time()) if iat is None else iat
    claims: dict[str, Any] = {
        "iss": iss,
        "sub": sub,
        "aud": aud,
        "jti": jti if jti is not None else b64encode(secrets.token_bytes(16)),
        "iat": at,
        "exp": at + ttl,
        "ver": "1.0",
        "scope": list(scope),
        "limit": limit_text,
    }
    validate_entitlement(claims)
    return _jws.sign(claims, key, TYP_ENTITLEMENT)
