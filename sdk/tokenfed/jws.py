"""Signing and verifying tokenfed documents as JWS compact serializations (RFC 7515).

Two calls: :func:`sign` (the payload is the JCS serialization of the claims, CONV-046; the header is
``{alg, typ, kid}``) and :func:`verify`, which runs the generic steps of the processing order
(CONV-060 steps 1 to 6: size, segments, base64url, strict JSON, ``typ``, ``alg``, ``crit``, ``kid``,
the algorithm pinned to the key, the signature) against one trusted key. Document kinds (rate cards,
exchange-rate sets, receipts) add their own steps on top; use their classes rather than this module
where one exists. Reading a JWS without checking its signature is deliberately not here: see
:mod:`tokenfed.hazmat`.
"""

from __future__ import annotations

from ._jws import (
    MAX_TOKEN_BYTES,
    TYP_EXCHANGE_RATES,
    TYP_RATE_CARD,
    TYP_RECEIPT,
    TYP_RECEIPT_BATCH,
    Decoded,
    sign,
)
from ._jws import verify as _verify
from .keys import PublicKey

__all__ = [
    "MAX_TOKEN_BYTES",
    "TYP_EXCHANGE_RATES",
    "TYP_RATE_CARD",
    "TYP_RECEIPT",
    "TYP_RECEIPT_BATCH",
    "Decoded",
    "sign",
    "verify",
]


def verify(
    token: str | bytes, typ: str, key: PublicKey, *, max_bytes: int = MAX_TOKEN_BYTES
) -> Decoded:
    """Verify a JWS against the one trusted ``key`` (CONV-060 steps 1 to 6).

    Raises:
        MalformedError: over ``max_bytes``, not three canonical base64url segments, header or
            payload not a strict I-JSON object.
        UnsupportedTypError: ``typ`` missing or not ``typ``.
        UnsupportedAlgError: ``alg`` not in the registry, or not the algorithm pinned to ``key``.
        UnsupportedCritError: a ``crit`` header parameter is present.
        UnknownKeyError: the header ``kid`` is not ``key``'s.
        InvalidSignatureError: the signature does not verify.
    """
    if not isinstance(key, PublicKey):
        raise TypeError(f"key must be a tokenfed.keys.PublicKey, not {type(key).__name__}")
    return _verify(token, typ, key, max_bytes=max_bytes)
