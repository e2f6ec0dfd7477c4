"""Hazardous materials: reading a signed document WITHOUT checking its signature.

.. warning::
    Nothing returned here is verified. A document read with :func:`decode_unverified` may have
    been forged by anyone: never price, count, record or trust it. Use it only to show a person
    what a document says (``tokenfed receipt inspect``) or to pick the key that will then verify
    it. Verification is :func:`tokenfed.jws.verify` and the ``from_jws`` constructors of the
    document kinds.
"""

from __future__ import annotations

from ._jws import MAX_TOKEN_BYTES, Decoded
from ._jws import decode as _decode

__all__ = ["decode_unverified"]


def decode_unverified(token: str | bytes, typ: str, *, max_bytes: int = MAX_TOKEN_BYTES) -> Decoded:
    """Parse a JWS and check everything that needs no key, but NOT its signature.

    The checks made are CONV-060 steps 1 to 4 (size, segments, base64url, strict JSON, ``typ``,
    ``alg`` in the registry, no ``crit``); the key and signature steps are skipped.

    Raises:
        MalformedError, UnsupportedTypError, UnsupportedAlgError, UnsupportedCritError.
    """
    return _decode(token, typ, max_bytes=max_bytes)
