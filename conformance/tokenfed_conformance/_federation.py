"""The suite's own entity statements and entitlements, on ``cryptography`` alone.

The suite builds trust chains (entity configurations and subordinate statements of OpenID
Federation 1.1 as the tokenfed federation chapter profiles them) and entitlements with its own
keys, for the adapter cases of the ``federation-entity`` and ``entitlements`` profiles and for
the test federation it runs itself in live mode. It also reads what a node serves: a statement
is decoded strictly and its signature checked against a given JWK Set, nothing more; which
profile rule a statement breaks is the caller's business.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ._codec import StrictJSONError, b64d, jcs, loads_strict
from ._crypto import SuiteKey, compact, thumbprint, verify_jws

__all__ = [
    "LEEWAY",
    "MAX_LIFETIME",
    "TYP_ENTITLEMENT",
    "TYP_HISTORICAL_KEYS",
    "TYP_STATEMENT",
    "DecodedJWS",
    "JWSFormatError",
    "decode_jws",
    "entity_jwks",
    "jwk_problems",
    "kids",
    "pretty",
    "sign_statement",
    "signing_keys_jwks",
    "verify_with_jwks",
    "well_known",
]

TYP_STATEMENT = "entity-statement+jwt"
TYP_ENTITLEMENT = "tokenfed-entitlement+jwt"
TYP_HISTORICAL_KEYS = "jwk-set+jwt"
LEEWAY = 60
MAX_LIFETIME = 86400

_PINNED_ALGS = {"EdDSA": "OKP", "ES256": "EC"}
_PRIVATE_MEMBERS = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"}


def signing_keys_jwks(keys: Iterable[SuiteKey]) -> dict[str, Any]:
    """A federation JWK Set: the public keys with ``kid`` (their thumbprint), ``alg``, ``use``."""
    return {"keys": [key.public_jwk() for key in keys]}


def entity_jwks(keys: Iterable[SuiteKey], nbf: int) -> dict[str, Any]:
    """A ``*_jwks`` metadata member: public keys with the validity members of REC-030."""
    return {"keys": [key.public_jwk(nbf=nbf) for key in keys]}


def sign_statement(
    key: SuiteKey, claims: Mapping[str, Any], *, extra_header: dict[str, Any] | None = None
) -> str:
    """An entity statement: the JCS bytes of ``claims`` signed with ``typ``
    ``entity-statement+jwt`` and ``kid`` the key's thumbprint."""
    return compact(key, jcs(dict(claims)), TYP_STATEMENT, extra_header=extra_header)


class JWSFormatError(ValueError):
    """A compact JWS that cannot even be read: not three segments, bad base64url, not strict
    JSON objects."""


@dataclass(frozen=True)
class DecodedJWS:
    """A compact JWS read without any judgement: header, payload bytes and claims."""

    token: str
    header: dict[str, Any]
    payload: bytes
    claims: Any


def decode_jws(token: str) -> DecodedJWS:
    """Read ``token`` strictly (CONV-040 framing, strict JSON); the signature is not checked."""
    parts = token.split(".")
    if len(parts) != 3:
        raise JWSFormatError(f"a compact JWS has 3 segments, this one {len(parts)}")
    try:
        header = loads_strict(b64d(parts[0]))
        payload = b64d(parts[1])
        claims = loads_strict(payload)
        b64d(parts[2])
    except (ValueError, StrictJSONError) as exc:
        raise JWSFormatError(f"not a readable JWS: {exc}") from exc
    if not isinstance(header, dict):
        raise JWSFormatError("the JWS header is not a JSON object")
    return DecodedJWS(token, header, payload, claims)


def verify_with_jwks(token: str, jwks: Any) -> str | None:
    """The problem with ``token``'s signature under ``jwks`` (None: it verifies).

    The header's ``kid`` must name exactly one public key of the set, the key's ``kid`` must be
    its thumbprint, the header's ``alg`` must be the key's pinned algorithm, and the signature
    must verify.
    """
    try:
        decoded = decode_jws(token)
    except JWSFormatError as exc:
        return str(exc)
    keys = jwks.get("keys") if isinstance(jwks, dict) else None
    if not isinstance(keys, list):
        return "the JWK Set has no `keys` array"
    kid = decoded.header.get("kid")
    matching = [k for k in keys if isinstance(k, dict) and k.get("kid") == kid]
    if len(matching) != 1:
        return f"the header kid {kid!r} names {len(matching)} keys of the set (exactly 1 needed)"
    jwk = matching[0]
    alg = decoded.header.get("alg")
    if _PINNED_ALGS.get(str(alg)) != jwk.get("kty"):
        return f"alg {alg!r} is not the pinned algorithm of a {jwk.get('kty')!r} key"
    try:
        if thumbprint(jwk) != kid:
            return f"kid {kid!r} is not the key's RFC 7638 thumbprint"
    except KeyError as exc:
        return f"the key lacks member {exc}"
    if not verify_jws(jwk, token):
        return "the signature does not verify with the key its kid names"
    return None


def jwk_problems(jwks: Any, where: str) -> list[str]:
    """What is wrong with a published JWK Set: not a set, a private or symmetric key, a key
    without ``kid`` or whose ``kid`` is not its thumbprint, a duplicate ``kid``."""
    keys = jwks.get("keys") if isinstance(jwks, dict) else None
    if not isinstance(keys, list) or not keys:
        return [f"{where} is not a non-empty JWK Set"]
    problems: list[str] = []
    seen: set[str] = set()
    for index, jwk in enumerate(keys):
        label = f"{where}.keys[{index}]"
        if not isinstance(jwk, dict):
            problems.append(f"{label} is not an object")
            continue
        private = sorted(_PRIVATE_MEMBERS & set(jwk))
        if private or jwk.get("kty") not in {"OKP", "EC"}:
            problems.append(f"{label} is not a public OKP/EC key (members {private})")
            continue
        try:
            expected = thumbprint(jwk)
        except KeyError as exc:
            problems.append(f"{label} lacks member {exc}")
            continue
        if jwk.get("kid") != expected:
            problems.append(f"{label}: kid {jwk.get('kid')!r} is not its thumbprint {expected}")
        if jwk.get("kid") in seen:
            problems.append(f"{label}: duplicate kid {jwk.get('kid')!r}")
        seen.add(str(jwk.get("kid")))
    return problems


def kids(jwks: Any) -> set[str]:
    """The ``kid`` values of a JWK Set (empty for anything that is not one)."""
    keys = jwks.get("keys") if isinstance(jwks, dict) else None
    if not isinstance(keys, list):
        return set()
    return {str(k.get("kid")) for k in keys if isinstance(k, dict) and "kid" in k}


def well_known(entity_id: str) -> str:
    """The entity configuration URL: the entity id with ``/.well-known/openid-federation``
    appended to its path."""
    return entity_id.rstrip("/") + "/.well-known/openid-federation"


def pretty(value: Any) -> str:
    """A short JSON rendering for problem messages."""
    text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    return text if len(text) <= 300 else text[:300] + "..."
