"""Signing keys: generation, JWK and JWKS, RFC 7638 thumbprints, validity windows.

Two algorithms are registered (CONV-042): ``EdDSA`` with Ed25519 (mandatory to implement) and
``ES256`` with P-256 (optional). A key is bound to exactly one algorithm; a JWS whose header names
another one is refused (CONV-044). A key's ``kid`` is its RFC 7638 thumbprint (CONV-045).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature as _CryptoInvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)

from ._b64 import b64decode, b64encode
from .errors import InvalidKeyError, KeyNotValidError, MalformedError

__all__ = [
    "ALGORITHMS",
    "KeySet",
    "KeyValidity",
    "PrivateKey",
    "PublicKey",
    "generate_key",
    "load_jwk",
    "load_private_jwk",
    "load_public_jwk",
    "thumbprint",
]

ALGORITHMS: Mapping[str, tuple[str, str]] = {"EdDSA": ("OKP", "Ed25519"), "ES256": ("EC", "P-256")}
"""The algorithm registry: ``alg`` -> (``kty``, ``crv``). Nothing else is accepted."""

_ALG_OF_CURVE = {crv: alg for alg, (_, crv) in ALGORITHMS.items()}
_THUMBPRINT_MEMBERS = {"OKP": ("crv", "kty", "x"), "EC": ("crv", "kty", "x", "y")}
_VALIDITY_MEMBERS = ("nbf", "exp", "revoked")
_P256_BYTES = 32


def thumbprint(jwk: Mapping[str, Any]) -> str:
    """RFC 7638 JWK thumbprint (SHA-256, base64url) over the required public members."""
    kty = jwk.get("kty")
    members = _THUMBPRINT_MEMBERS.get(kty) if isinstance(kty, str) else None
    if members is None:
        raise InvalidKeyError(f"unsupported kty {kty!r}; expected OKP or EC (CONV-042)")
    try:
        required = {name: jwk[name] for name in members}
    except KeyError as exc:
        raise InvalidKeyError(f"JWK lacks the member {exc.args[0]!r}") from None
    text = json.dumps(required, separators=(",", ":"), sort_keys=True, ensure_ascii=False)
    return b64encode(hashlib.sha256(text.encode("utf-8")).digest())


@dataclass(frozen=True, slots=True)
class KeyValidity:
    """When a key may be used: ``nbf <= t < exp`` and, if revoked, ``t < revoked_at`` (REC-030)."""

    nbf: int | None = None
    exp: int | None = None
    revoked_at: int | None = None
    reason: str | None = None

    def is_valid_at(self, t: int) -> bool:
        """Whether a document signed at NumericDate ``t`` may be verified with the key."""
        if self.nbf is not None and t < self.nbf:
            return False
        if self.exp is not None and t >= self.exp:
            return False
        return self.revoked_at is None or t < self.revoked_at

    def check(self, t: int, kid: str) -> None:
        """Raise :class:`~tokenfed.errors.KeyNotValidError` unless the key was valid at ``t``."""
        if self.is_valid_at(t):
            return
        if self.revoked_at is not None and t >= self.revoked_at:
            why = f"revoked at {self.revoked_at}"
            if self.reason:
                why += f" ({self.reason})"
        elif self.nbf is not None and t < self.nbf:
            why = f"not valid before {self.nbf}"
        else:
            why = f"expired at {self.exp}"
        raise KeyNotValidError(
            f"key {kid} was not valid at {t}: {why}", detail={"kid": kid, "t": t}
        )

    def to_members(self) -> dict[str, Any]:
        """JWK members that carry this window (``nbf``, ``exp``, ``revoked``)."""
        members: dict[str, Any] = {}
        if self.nbf is not None:
            members["nbf"] = self.nbf
        if self.exp is not None:
            members["exp"] = self.exp
        if self.revoked_at is not None:
            revoked: dict[str, Any] = {"revoked_at": self.revoked_at}
            if self.reason is not None:
                revoked["reason"] = self.reason
            members["revoked"] = revoked
        return members

    @classmethod
    def from_members(cls, jwk: Mapping[str, Any]) -> KeyValidity:
        """Read the window from a JWK's ``nbf``, ``exp`` and ``revoked`` members."""
        nbf, exp, revoked = jwk.get("nbf"), jwk.get("exp"), jwk.get("revoked")
        for name, value in (("nbf", nbf), ("exp", exp)):
            if value is not None and (type(value) is not int or value < 0):
                raise InvalidKeyError(f"JWK member {name} must be a NumericDate integer")
        revoked_at = reason = None
        if revoked is not None:
            if not isinstance(revoked, Mapping) or type(revoked.get("revoked_at")) is not int:
                raise InvalidKeyError('JWK member revoked must be {"revoked_at": NumericDate, ...}')
            revoked_at = revoked["revoked_at"]
            reason = revoked.get("reason")
            if reason is not None and not isinstance(reason, str):
                raise InvalidKeyError("revoked.reason must be a string")
        if nbf is not None and exp is not None and exp <= nbf:
            raise InvalidKeyError("JWK exp must be later than nbf")
        return cls(nbf=nbf, exp=exp, revoked_at=revoked_at, reason=reason)


def _coordinate(jwk: Mapping[str, Any], name: str, size: int) -> bytes:
    value = jwk.get(name)
    if not isinstance(value, str):
        raise InvalidKeyError(f"JWK member {name!r} must be a base64url string")
    try:
        raw = b64decode(value, what=f"JWK member {name!r}")
    except MalformedError as exc:
        raise InvalidKeyError(exc.message) from None
    if len(raw) != size:
        raise InvalidKeyError(f"JWK member {name!r} must encode {size} bytes, not {len(raw)}")
    return raw


_ED_P = 2**255 - 19
_ED_D = -121665 * pow(121666, _ED_P - 2, _ED_P) % _ED_P
_ED_SQRT_M1 = pow(2, (_ED_P - 1) // 4, _ED_P)
_P256_P = 2**256 - 2**224 + 2**192 + 2**96 - 1


def _ed25519_point(encoded: bytes) -> tuple[int, int]:
    """Decode an Ed25519 point (RFC 8032 section 5.1.3); refuse non-canonical or off-curve."""
    y = int.from_bytes(encoded, "little") & ((1 << 255) - 1)
    sign = encoded[31] >> 7
    if y >= _ED_P:
        raise InvalidKeyError("Ed25519 public key: y is not reduced modulo p (RFC 8032 5.1.3)")
    u, v = (y * y - 1) % _ED_P, (_ED_D * y * y + 1) % _ED_P
    x = u * pow(v, 3, _ED_P) * pow(u * pow(v, 7, _ED_P), (_ED_P - 5) // 8, _ED_P) % _ED_P
    if v * x * x % _ED_P != u:
        if v * x * x % _ED_P != -u % _ED_P:
            raise InvalidKeyError("Ed25519 public key is not a point on the curve (RFC 8032 5.1.3)")
        x = x * _ED_SQRT_M1 % _ED_P
    if x == 0 and sign:
        raise InvalidKeyError("Ed25519 public key: x = 0 with the sign bit set (RFC 8032 5.1.3)")
    if x & 1 != sign:
        x = _ED_P - x
    return x, y


def _ed25519_double(point: tuple[int, int]) -> tuple[int, int]:
    x, y = point
    t = _ED_D * x * x * y * y % _ED_P
    return (
        2 * x * y * pow(1 + t, _ED_P - 2, _ED_P) % _ED_P,
        (y * y + x * x) * pow(1 - t, _ED_P - 2, _ED_P) % _ED_P,
    )


def _check_ed25519(encoded: bytes) -> None:
    """Refuse points off the curve and small-order points (8P = identity): under a small-order
    key some signatures verify for every message, so the key binds its owner to nothing."""
    point = _ed25519_point(encoded)
    for _ in range(3):
        point = _ed25519_double(point)
    if point == (0, 1):
        raise InvalidKeyError("Ed25519 public key has small order; it can sign anything")


def _check_common(jwk: Mapping[str, Any]) -> tuple[str, str]:
    if not isinstance(jwk, Mapping):
        raise InvalidKeyError("a JWK must be a JSON object")
    kty, crv = jwk.get("kty"), jwk.get("crv")
    alg = _ALG_OF_CURVE.get(crv) if isinstance(crv, str) else None
    if alg is None or ALGORITHMS[alg][0] != kty:
        raise InvalidKeyError(f"unsupported key type {kty!r}/{crv!r}; use OKP/Ed25519 or EC/P-256")
    if "alg" in jwk and jwk["alg"] != alg:
        raise InvalidKeyError(f"JWK alg {jwk['alg']!r} does not fit a {crv} key; expected {alg!r}")
    if "use" in jwk and jwk["use"] != "sig":
        raise InvalidKeyError(f"JWK use {jwk['use']!r} is not 'sig'")
    kid = thumbprint(jwk)
    if "kid" in jwk and jwk["kid"] != kid:
        raise InvalidKeyError(
            f"JWK kid {jwk['kid']!r} is not its RFC 7638 thumbprint {kid!r} (CONV-045)"
        )
    return alg, kid


class PublicKey:
    """A verification key bound to one algorithm, with its ``kid`` and validity window."""

    __slots__ = ("_key", "alg", "kid", "validity")

    def __init__(
        self,
        key: Ed25519PublicKey | ec.EllipticCurvePublicKey,
        alg: str,
        kid: str,
        validity: KeyValidity | None = None,
    ) -> None:
        self._key = key
        self.alg = alg
        self.kid = kid
        self.validity = validity or KeyValidity()

    def verify(self, signature: bytes, signing_input: bytes) -> bool:
        """Whether ``signature`` is this key's signature over ``signing_input``."""
        try:
            if self.alg == "EdDSA":
                self._key.verify(signature, signing_input)  # type: ignore[call-arg]
            else:
                if len(signature) != 2 * _P256_BYTES:
                    return False
                der = encode_dss_signature(
                    int.from_bytes(signature[:_P256_BYTES], "big"),
                    int.from_bytes(signature[_P256_BYTES:], "big"),
                )
                self._key.verify(der, signing_input, ec.ECDSA(hashes.SHA256()))  # type: ignore[call-arg]
        except _CryptoInvalidSignature:
            return False
        return True

    def to_jwk(self, *, with_validity: bool = True) -> dict[str, Any]:
        """The public JWK (with ``kid``, ``alg``, ``use`` and, if asked, the validity window)."""
        jwk = _public_members(self._key)
        jwk.update(kid=self.kid, alg=self.alg, use="sig")
        if with_validity:
            jwk.update(self.validity.to_members())
        return jwk

    def with_validity(self, validity: KeyValidity) -> PublicKey:
        """The same key with another validity window."""
        return PublicKey(self._key, self.alg, self.kid, validity)

    def __repr__(self) -> str:
        return f"PublicKey(alg={self.alg!r}, kid={self.kid!r})"


class PrivateKey:
    """A signing key bound to one algorithm. Its JWK holds the secret ``d``: keep it private."""

    __slots__ = ("_key", "alg", "kid")

    def __init__(self, key: Ed25519PrivateKey | ec.EllipticCurvePrivateKey, alg: str) -> None:
        self._key = key
        self.alg = alg
        self.kid = thumbprint(_public_members(key.public_key()))

    def sign(self, signing_input: bytes) -> bytes:
        """Sign bytes: 64-byte Ed25519 signature, or 64-byte P1363 ``r || s`` for ES256."""
        if isinstance(self._key, Ed25519PrivateKey):
            return self._key.sign(signing_input)
        der = self._key.sign(signing_input, ec.ECDSA(hashes.SHA256()))
        r, s = decode_dss_signature(der)
        return r.to_bytes(_P256_BYTES, "big") + s.to_bytes(_P256_BYTES, "big")

    def public_key(self, validity: KeyValidity | None = None) -> PublicKey:
        """The matching verification key."""
        return PublicKey(self._key.public_key(), self.alg, self.kid, validity)

    def to_jwk(self) -> dict[str, Any]:
        """The private JWK, including the secret member ``d``."""
        jwk = _public_members(self._key.public_key())
        if isinstance(self._key, Ed25519PrivateKey):
            secret = self._key.private_bytes(
                serialization.Encoding.Raw,
                serialization.PrivateFormat.Raw,
                serialization.NoEncryption(),
            )
        else:
            secret = self._key.private_numbers().private_value.to_bytes(_P256_BYTES, "big")
        jwk.update(d=b64encode(secret), kid=self.kid, alg=self.alg, use="sig")
        return jwk

    def __repr__(self) -> str:
        return f"PrivateKey(alg={self.alg!r}, kid={self.kid!r})"


def _public_members(key: Ed25519PublicKey | ec.EllipticCurvePublicKey) -> dict[str, Any]:
    if isinstance(key, Ed25519PublicKey):
        raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        return {"kty": "OKP", "crv": "Ed25519", "x": b64encode(raw)}
    numbers = key.public_numbers()
    return {
        "kty": "EC",
        "crv": "P-256",
        "x": b64encode(numbers.x.to_bytes(_P256_BYTES, "big")),
        "y": b64encode(numbers.y.to_bytes(_P256_BYTES, "big")),
    }


def generate_key(alg: str = "EdDSA") -> PrivateKey:
    """Generate a new signing key for ``alg`` (``EdDSA`` or ``ES256``)."""
    if alg == "EdDSA":
        return PrivateKey(Ed25519PrivateKey.generate(), alg)
    if alg == "ES256":
        return PrivateKey(ec.generate_private_key(ec.SECP256R1()), alg)
    raise InvalidKeyError(f"unsupported algorithm {alg!r}; use EdDSA or ES256 (CONV-042)")


def load_public_jwk(jwk: Mapping[str, Any]) -> PublicKey:
    """Load a public JWK (a private JWK is accepted and reduced to its public half)."""
    alg, kid = _check_common(jwk)
    validity = KeyValidity.from_members(jwk)
    try:
        key: Ed25519PublicKey | ec.EllipticCurvePublicKey
        if alg == "EdDSA":
            encoded = _coordinate(jwk, "x", 32)
            _check_ed25519(encoded)
            key = Ed25519PublicKey.from_public_bytes(encoded)
        else:
            x = int.from_bytes(_coordinate(jwk, "x", _P256_BYTES), "big")
            y = int.from_bytes(_coordinate(jwk, "y", _P256_BYTES), "big")
            if x >= _P256_P or y >= _P256_P:
                raise InvalidKeyError("P-256 coordinates must be less than the field prime")
            key = ec.EllipticCurvePublicNumbers(x, y, ec.SECP256R1()).public_key()
    except ValueError as exc:
        raise InvalidKeyError(f"JWK does not describe a valid {alg} public key: {exc}") from None
    return PublicKey(key, alg, kid, validity)


def load_private_jwk(jwk: Mapping[str, Any]) -> PrivateKey:
    """Load a private JWK (one with ``d``) and check that ``d`` matches the public members."""
    alg, kid = _check_common(jwk)
    if "d" not in jwk:
        raise InvalidKeyError("this JWK has no private member 'd'; a signing key is needed")
    try:
        private: Ed25519PrivateKey | ec.EllipticCurvePrivateKey
        if alg == "EdDSA":
            private = Ed25519PrivateKey.from_private_bytes(_coordinate(jwk, "d", 32))
        else:
            private = ec.derive_private_key(
                int.from_bytes(_coordinate(jwk, "d", _P256_BYTES), "big"), ec.SECP256R1()
            )
    except ValueError as exc:
        raise InvalidKeyError(f"JWK does not describe a valid {alg} private key: {exc}") from None
    loaded = PrivateKey(private, alg)
    if loaded.kid != kid:
        raise InvalidKeyError("JWK private member 'd' does not match its public members")
    return loaded


def load_jwk(jwk: Mapping[str, Any]) -> PublicKey | PrivateKey:
    """Load a JWK: a :class:`PrivateKey` if it has ``d``, else a :class:`PublicKey`."""
    if isinstance(jwk, Mapping) and "d" in jwk:
        return load_private_jwk(jwk)
    return load_public_jwk(jwk)


class KeySet:
    """A JWKS: public keys looked up by ``kid``. Private members are refused."""

    __slots__ = ("_keys",)

    def __init__(self, keys: Iterable[PublicKey] = ()) -> None:
        self._keys: dict[str, PublicKey] = {}
        for key in keys:
            if key.kid in self._keys:
                raise InvalidKeyError(f"kid {key.kid} appears twice in the key set")
            self._keys[key.kid] = key

    @classmethod
    def from_jwks(cls, jwks: Mapping[str, Any]) -> KeySet:
        """Load ``{"keys": [JWK, ...]}``; every JWK must be public."""
        keys = jwks.get("keys") if isinstance(jwks, Mapping) else None
        if not isinstance(keys, list):
            raise InvalidKeyError('a JWKS must be an object with a "keys" array')
        loaded = []
        for jwk in keys:
            if isinstance(jwk, Mapping) and "d" in jwk:
                raise InvalidKeyError("a JWKS must not contain private keys (member 'd')")
            loaded.append(load_public_jwk(jwk))
        return cls(loaded)

    def to_jwks(self) -> dict[str, Any]:
        """The JWKS form, validity windows included."""
        return {"keys": [key.to_jwk() for key in self._keys.values()]}

    def get(self, kid: str) -> PublicKey | None:
        """The key with this ``kid``, or ``None``."""
        return self._keys.get(kid)

    def __iter__(self) -> Iterator[PublicKey]:
        return iter(self._keys.values())

    def __len__(self) -> int:
        return len(self._keys)
