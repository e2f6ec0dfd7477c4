"""The JWS machinery (RFC 7515): the one place where tokenfed documents are signed and verified.

Internal: the public surface is :mod:`tokenfed.jws` (sign and verify with a trusted key) and
:mod:`tokenfed.hazmat` (decoding without a signature check, for inspection tools).

Checks made here, in this order (CONV-040..CONV-049): size limit and three canonical base64url
segments; header and payload are strict I-JSON objects (no duplicate member names); ``typ`` is
the expected kind; ``alg`` is in the registry and is the one pinned to the key; no ``crit``;
``kid`` names a trusted key; the signature verifies. ``jku``, ``x5u``, ``jwk`` and ``x5c`` are
never used to find a key (CONV-047).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

from . import _json
from ._b64 import b64decode, b64encode
from .errors import (
    InvalidSignatureError,
    MalformedError,
    UnknownKeyError,
    UnsupportedAlgError,
    UnsupportedCritError,
    UnsupportedTypError,
)
from .keys import ALGORITHMS, PrivateKey, PublicKey

__all__ = [
    "MAX_TOKEN_BYTES",
    "TYP_EXCHANGE_RATES",
    "TYP_RATE_CARD",
    "TYP_RECEIPT",
    "TYP_RECEIPT_BATCH",
    "ClaimsParser",
    "Decoded",
    "KeyResolver",
    "check_alg",
    "check_kid",
    "decode",
    "sign",
    "verify",
    "verify_signature",
]

TYP_RATE_CARD = "tokenfed-rate-card+jwt"
"""``typ`` of a rate card (units chapter)."""
TYP_EXCHANGE_RATES = "tokenfed-exchange-rates+jwt"
"""``typ`` of an exchange-rate set (exchange chapter)."""
TYP_RECEIPT = "tokenfed-receipt+jwt"
"""``typ`` of a usage receipt (REC-001)."""
TYP_RECEIPT_BATCH = "tokenfed-receipt-batch+jwt"
"""``typ`` of a receipt batch statement (REC-060)."""

MAX_TOKEN_BYTES = 65536
"""Largest JWS compact serialization accepted by default (CONV-040)."""

_MEDIA_PREFIX = "application/"


class Decoded(NamedTuple):
    """A parsed JWS: header, claims, and the exact bytes the signature covers.

    ``header`` may be shared between tokens with the same header segment: do not modify it.
    """

    header: dict[str, Any]
    claims: dict[str, Any]
    signing_input: bytes
    signature: bytes
    token: str
    payload: bytes
    typed: bool = False
    """The claims passed the schema check of the ``parse`` function given to :func:`decode`."""


ClaimsParser = Callable[[bytes], tuple[Any, bool]]
"""Parses a payload strictly: returns the value and whether it also passed a schema check that
types every value, or raises :class:`~tokenfed.errors.MalformedError`."""

KeyResolver = Callable[[Decoded], PublicKey]
"""Picks the key for a decoded JWS, or raises a :class:`~tokenfed.errors.TokenfedError`."""


_HEADER_CACHE_SIZE = 256
_checked_headers: dict[tuple[str, str], dict[str, Any]] = {}


def _parse_header(segment: str) -> dict[str, Any]:
    header = _json.loads(b64decode(segment, what="JWS header"))
    if not isinstance(header, dict):
        raise MalformedError("the JWS header must be a JSON object (CONV-041)")
    return header


def _check_header(segment: str, header: dict[str, Any], typ: str) -> None:
    """Check ``typ``, ``alg`` and ``crit`` (CONV-060 steps 2-4).

    A stream's receipts share a handful of header segments, so a segment that passed for a
    ``typ`` is remembered and not checked again; one that fails is checked every time.
    """
    found_typ = header.get("typ")
    if not isinstance(found_typ, str) or _normal_typ(found_typ) != _normal_typ(typ):
        raise UnsupportedTypError(f"expected typ {typ!r}, found {found_typ!r} (CONV-043)")
    alg = header.get("alg")
    if not isinstance(alg, str) or alg not in ALGORITHMS:
        raise UnsupportedAlgError(f"alg {alg!r} is not allowed; only EdDSA and ES256 (CONV-042)")
    if "crit" in header:
        raise UnsupportedCritError("the crit header parameter is not supported (CONV-048)")
    if len(_checked_headers) >= _HEADER_CACHE_SIZE:
        _checked_headers.clear()
    _checked_headers[(segment, typ)] = header


def _normal_typ(value: str) -> str:
    """``typ`` compared case-insensitively, an ``application/`` prefix ignored (CONV-043)."""
    lowered = value.lower()
    return lowered[len(_MEDIA_PREFIX) :] if lowered.startswith(_MEDIA_PREFIX) else lowered


def sign(claims: Mapping[str, Any], key: PrivateKey, typ: str) -> str:
    """Sign ``claims`` as a JWS compact string with header ``{alg, typ, kid}``.

    The payload is the JCS serialization of the claims (CONV-046), so the same claims and an
    Ed25519 key always give the same token.

    Raises:
        MalformedError: the token would be longer than any receiver takes (CONV-040): it is
            never signed.
    """
    header = {"alg": key.alg, "typ": typ, "kid": key.kid}
    signing_input = (
        b64encode(_json.canonical_bytes(header)) + "." + b64encode(_json.canonical_bytes(claims))
    ).encode("ascii")
    # The signature (64 bytes for both algorithms) adds 86 characters and the dot.
    if len(signing_input) + 87 > MAX_TOKEN_BYTES:
        raise MalformedError(
            f"the {typ} document would be longer than the {MAX_TOKEN_BYTES} bytes a receiver "
            "takes (CONV-040); make it smaller (a statement: a shorter period, fewer lines)",
            detail={"bytes": len(signing_input) + 87},
        )
    return signing_input.decode("ascii") + "." + b64encode(key.sign(signing_input))


def _strict(payload: bytes) -> tuple[Any, bool]:
    return _json.loads(payload), False


def decode(
    token: str | bytes,
    typ: str,
    *,
    max_bytes: int = MAX_TOKEN_BYTES,
    parse: ClaimsParser = _strict,
) -> Decoded:
    """Parse a JWS and check everything that does not need the key (no signature check).

    ``parse`` reads the payload (default: the strict parser); the receipt verifier gives one that
    tries its fast path first (ADR 0010). The checks run in the same order either way.

    Raises:
        MalformedError: over the size limit, not three canonical base64url segments, header or
            payload not a strict I-JSON object.
        UnsupportedTypError: ``typ`` missing or not ``typ``.
        UnsupportedAlgError: ``alg`` missing or not in the registry (``none`` and HMAC included).
        UnsupportedCritError: a ``crit`` header parameter is present.
    """
    if not isinstance(token, str):
        try:
            token = bytes(token).decode("ascii")
        except UnicodeDecodeError:
            raise MalformedError("a JWS compact serialization is ASCII (CONV-041)") from None
    if len(token) > max_bytes:
        raise MalformedError(f"JWS is larger than {max_bytes} bytes (CONV-040)")
    parts = token.split(".")
    if len(parts) != 3:
        raise MalformedError("a JWS compact serialization has exactly three segments (CONV-041)")
    header_b64, payload_b64, signature_b64 = parts
    header = _checked_headers.get((header_b64, typ))
    checked = header is not None
    if header is None:
        header = _parse_header(header_b64)
    payload = b64decode(payload_b64, what="JWS payload")
    claims, typed = parse(payload)
    signature = b64decode(signature_b64, what="JWS signature")
    if not isinstance(claims, dict):
        raise MalformedError("the JWS payload must be a JSON object (CONV-041)")
    if not checked:
        _check_header(header_b64, header, typ)
    signing_input = f"{header_b64}.{payload_b64}".encode("ascii")
    return Decoded(header, claims, signing_input, signature, token, payload, typed)


def check_kid(header: Mapping[str, Any], key: PublicKey) -> None:
    """Refuse a header whose ``kid`` is not ``key``'s (CONV-045)."""
    kid = header.get("kid")
    if kid != key.kid:
        raise UnknownKeyError(f"JWS kid {kid!r} is not the trusted key {key.kid} (CONV-045)")


def check_alg(header: Mapping[str, Any], key: PublicKey) -> None:
    """Refuse a header whose ``alg`` is not the algorithm pinned to ``key`` (CONV-044)."""
    if header["alg"] != key.alg:
        raise UnsupportedAlgError(
            f"header alg {header['alg']!r} is not the algorithm {key.alg!r} "
            f"pinned to key {key.kid} (CONV-044)"
        )


def verify_signature(decoded: Decoded, key: PublicKey) -> None:
    """Check the pinned algorithm and the signature of a decoded JWS against ``key``."""
    check_alg(decoded.header, key)
    if not key.verify(decoded.signature, decoded.signing_input):
        raise InvalidSignatureError("the JWS signature does not verify with the key (CONV-049)")


def verify(
    token: str | bytes,
    typ: str,
    key: PublicKey | KeyResolver,
    *,
    max_bytes: int = MAX_TOKEN_BYTES,
) -> Decoded:
    """Decode a JWS, find its key and verify its signature.

    ``key`` is either the one trusted key (its ``kid`` must match the header's) or a resolver
    that picks a key from the decoded header and claims.
    """
    decoded = decode(token, typ, max_bytes=max_bytes)
    if isinstance(key, PublicKey):
        check_kid(decoded.header, key)
        verify_signature(decoded, key)
    else:
        verify_signature(decoded, key(decoded))
    return decoded
