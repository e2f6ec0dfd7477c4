"""Signing keys: generation, JWK and JWKS, RFC 7638 thumbprints, validity windows.

Two algorithms are registered (CONV-042): ``EdDSA`` with Ed25519 (mandatory to implement) and
``ES256`` with P-256 (optional). A key is bound to exactly one algorithm; a JWS whose header names
another one is refused (CONV-044). A key's ``kid`` is its RFC 7638 thumbprint (CONV-045).
Keys are validated when they are loaded (CONV-070) and signatures follow exact rules that leave
no malleable twin and no room for two verifiers to disagree: ES256 signatures are low-S
(CONV-072, CONV-073), Ed25519 signatures have S < L and no small-order R (CONV-071).
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
from nacl.bindings import crypto_core_ed25519_is_valid_point, crypto_sign_open
from nacl.exceptions import BadSignatureError as _SodiumBadSignature

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

_MAX_DATE = 2**53 - 1
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
            # Present means a NumericDate: null is not absence (REC-030, REC-034).
            if name in jwk and (type(value) is not int or not 0 <= value <= _MAX_DATE):
                raise InvalidKeyError(f"JWK member {name} must be a NumericDate integer")
        revoked_at = reason = None
        if "revoked" in jwk:
            at = revoked.get("revoked_at") if isinstance(revoked, Mapping) else None
            if type(at) is not int or not 0 <= at <= _MAX_DATE:
                raise InvalidKeyError('JWK member revoked must be {"revoked_at": NumericDate, ...}')
            assert isinstance(revoked, Mapping)
            revoked_at = at
            reason = revoked.get("reason")
            if "reason" in revoked and not isinstance(reason, str):
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


_P256_P = 2**256 - 2**224 + 2**192 + 2**96 - 1
_P256_N = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
_P256_HALF_N = _P256_N // 2
"""The largest s of a low-S ES256 signature (CONV-072, CONV-073); n is odd, so s <= (n - 1) / 2."""

_ED25519_P = 2**255 - 19
_ED25519_L = 2**252 + 27742317777372353535851937790883648493
"""The order of the Ed25519 base point; a signature's S must be below it (CONV-071)."""

_ED25519_SMALL_ORDER_Y = frozenset(
    bytes.fromhex(encoded)
    for encoded in (
        "0000000000000000000000000000000000000000000000000000000000000000",  # y = 0, order 4
        "0100000000000000000000000000000000000000000000000000000000000000",  # y = 1, identity
        "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",  # order 8
        "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",  # order 8
        "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",  # y = p - 1, order 2
        "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",  # y = p, i.e. 0
        "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",  # y = p + 1, i.e. 1
    )
)
"""The y values (sign bit cleared) of every encoding of a point of order 1, 2, 4 or 8.

With either sign bit these are the 14 byte strings that name a small-order point under a
decoder that accepts non-canonical ``y`` (y >= p) or "negative zero" ``x`` (CONV-071). The set
is the one libsodium refuses in ``crypto_sign_verify_detached``; tests/test_keys.py derives it
again from the curve equation."""


def _is_small_order_encoding(encoded: bytes) -> bool:
    """Whether 32 bytes encode (canonically or not) a point of small order."""
    return encoded[:31] + bytes([encoded[31] & 0x7F]) in _ED25519_SMALL_ORDER_Y


def _check_ed25519(encoded: bytes) -> None:
    """CONV-070: refuse all but the canonical encoding of a prime-order-subgroup point.

    Under a small-order key the signature R = identity, S = 0 verifies every message, and a
    mixed-order key or a non-canonical encoding makes cofactored and cofactorless verifiers
    (and two kids of one key) disagree. libsodium's ``crypto_core_ed25519_is_valid_point``
    makes the whole check (canonical, on the curve, not small order, in the prime-order
    subgroup); the two checks before it only name the most common reasons in the message.
    """
    if _is_small_order_encoding(encoded):
        raise InvalidKeyError(
            "Ed25519 public key is a point of small order: a signature under it can verify "
            "for every message, so it binds its owner to nothing (CONV-070)"
        )
    if int.from_bytes(encoded, "little") & ((1 << 255) - 1) >= _ED25519_P:
        raise InvalidKeyError(
            "Ed25519 public key is not canonically encoded: y is not below 2^255 - 19 "
            "(RFC 8032 section 5.1.3, CONV-070)"
        )
    if not crypto_core_ed25519_is_valid_point(encoded):
        raise InvalidKeyError(
            "Ed25519 public key is not a point of the prime-order subgroup: it is off the "
            "curve or has a small-order component (CONV-070); export the key again from its "
            "private key"
        )


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


def _ed25519_libsodium(key: PublicKey, signature: bytes, signing_input: bytes) -> bool:
    try:
        crypto_sign_open(bytes(signature) + bytes(signing_input), key._raw)
    except _SodiumBadSignature:
        return False
    return True


def _ed25519_openssl(key: PublicKey, signature: bytes, signing_input: bytes) -> bool:
    try:
        key._key.verify(signature, signing_input)  # type: ignore[call-arg]
    except _CryptoInvalidSignature:
        return False
    return True


_ED25519_BACKENDS = {"libsodium": _ed25519_libsodium, "openssl": _ed25519_openssl}
_ed25519_backend = "libsodium"


def _use_ed25519_backend(name: str) -> str:
    """Select the library that checks Ed25519 equations (``libsodium`` or ``openssl``) and
    return the previous one. For tests that run every case on both backends; both give the same
    answers under CONV-071."""
    global _ed25519_backend
    if name not in _ED25519_BACKENDS:
        raise ValueError(f"unknown Ed25519 backend {name!r}")
    previous, _ed25519_backend = _ed25519_backend, name
    return previous


class PublicKey:
    """A verification key bound to one algorithm, with its ``kid`` and validity window."""

    __slots__ = ("_key", "_raw", "alg", "kid", "validity")

    def __init__(
        self,
        key: Ed25519PublicKey | ec.EllipticCurvePublicKey,
        alg: str,
        kid: str,
        validity: KeyValidity | None = None,
    ) -> None:
        self._key = key
        self._raw = (
            key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
            if isinstance(key, Ed25519PublicKey)
            else b""
        )
        self.alg = alg
        self.kid = kid
        self.validity = validity or KeyValidity()

    def verify(self, signature: bytes, signing_input: bytes) -> bool:
        """Whether ``signature`` is this key's signature over ``signing_input``.

        Ed25519 follows CONV-071 and ES256 CONV-073: the range and small-order checks run
        before the backend's equation, so a malleated twin of a valid signature (S + L, or the
        high-S ``(r, n - s)``) and an R of small order are refused whatever the backend. Ed25519
        equations run in libsodium (ADR 0010), which makes the same checks and compares the
        encoding of ``[S]B - [k]A`` with R byte for byte; OpenSSL (through ``cryptography``)
        is the reference the tests compare it with.
        """
        if len(signature) != 64:
            return False
        if self.alg == "EdDSA":
            if _is_small_order_encoding(signature[:32]):
                return False  # OpenSSL accepts R = identity when S = k * a (CONV-071)
            if int.from_bytes(signature[32:], "little") >= _ED25519_L:
                return False  # both backends refuse this too; kept so the rule reads whole here
            return _ED25519_BACKENDS[_ed25519_backend](self, signature, signing_input)
        r = int.from_bytes(signature[:_P256_BYTES], "big")
        s = int.from_bytes(signature[_P256_BYTES:], "big")
        if not (0 < r < _P256_N and 0 < s <= _P256_HALF_N):
            return False  # out of range, or the high-S twin (r, n - s) (CONV-073)
        try:
            self._key.verify(  # type: ignore[call-arg]
                encode_dss_signature(r, s), signing_input, ec.ECDSA(hashes.SHA256())
            )
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
        """Sign bytes: 64-byte Ed25519 signature, or 64-byte P1363 ``r || s`` for ES256.

        ES256 signatures are low-S (CONV-072): of the twins ``(r, s)`` and ``(r, n - s)``,
        which both satisfy ECDSA, the one with ``s <= (n - 1) / 2`` is returned.
        """
        if isinstance(self._key, Ed25519PrivateKey):
            return self._key.sign(signing_input)
        der = self._key.sign(signing_input, ec.ECDSA(hashes.SHA256()))
        r, s = decode_dss_signature(der)
        s = min(s, _P256_N - s)
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
                raise InvalidKeyError(
                    "P-256 coordinates must be less than the field prime (CONV-070)"
                )
            key = ec.EllipticCurvePublicNumbers(x, y, ec.SECP256R1()).public_key()
    except ValueError as exc:
        raise InvalidKeyError(
            f"JWK does not describe a valid {alg} public key (CONV-070): {exc}"
        ) from None
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
