"""Keys and JWS compact signing for the suite, on ``cryptography`` alone.

The suite signs its own test documents (with fresh keys or the published test keys) and checks
what an implementation signs: header, payload bytes and signature (ES256 low-S).
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from ._codec import b64d, b64e, jcs

__all__ = ["P256_ORDER", "SuiteKey", "compact", "signing_input", "thumbprint", "verify_jws"]

P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


def thumbprint(jwk: dict[str, Any]) -> str:
    """RFC 7638 JWK SHA-256 thumbprint, base64url."""
    names = ("crv", "kty", "x") if jwk["kty"] == "OKP" else ("crv", "kty", "x", "y")
    return b64e(hashlib.sha256(jcs({name: jwk[name] for name in names})).digest())


@dataclass(frozen=True)
class SuiteKey:
    """A signing key of the suite (Ed25519 or P-256) with its JWK forms."""

    alg: str
    private: Ed25519PrivateKey | ec.EllipticCurvePrivateKey

    @classmethod
    def generate(cls, rng: random.Random, alg: str = "EdDSA") -> SuiteKey:
        """A key derived from the seeded generator, so a seed reproduces its keys."""
        if alg == "EdDSA":
            return cls(alg, Ed25519PrivateKey.from_private_bytes(rng.randbytes(32)))
        scalar = rng.randrange(1, P256_ORDER)
        return cls(alg, ec.derive_private_key(scalar, ec.SECP256R1()))

    @classmethod
    def from_jwk(cls, jwk: dict[str, Any]) -> SuiteKey:
        """Load a private JWK (the spec's published test keys)."""
        if jwk["kty"] == "OKP":
            return cls("EdDSA", Ed25519PrivateKey.from_private_bytes(b64d(jwk["d"])))
        scalar = int.from_bytes(b64d(jwk["d"]), "big")
        return cls("ES256", ec.derive_private_key(scalar, ec.SECP256R1()))

    def public_members(self) -> dict[str, Any]:
        """``kty``, ``crv`` and the public coordinates."""
        if isinstance(self.private, Ed25519PrivateKey):
            raw = self.private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
            return {"kty": "OKP", "crv": "Ed25519", "x": b64e(raw)}
        numbers = self.private.public_key().public_numbers()
        return {
            "kty": "EC",
            "crv": "P-256",
            "x": b64e(numbers.x.to_bytes(32, "big")),
            "y": b64e(numbers.y.to_bytes(32, "big")),
        }

    @property
    def kid(self) -> str:
        """The RFC 7638 thumbprint (CONV-045)."""
        return thumbprint(self.public_members())

    def public_jwk(self, **validity: Any) -> dict[str, Any]:
        """The public JWK with ``kid``, ``alg``, ``use`` and validity members (REC-030)."""
        return {**self.public_members(), "kid": self.kid, "alg": self.alg, "use": "sig", **validity}

    def private_jwk(self) -> dict[str, Any]:
        """The private JWK (``d`` included), as handed to an issuer under test."""
        if isinstance(self.private, Ed25519PrivateKey):
            d = self.private.private_bytes_raw()
        else:
            d = self.private.private_numbers().private_value.to_bytes(32, "big")
        return {**self.public_members(), "d": b64e(d), "kid": self.kid, "alg": self.alg}

    def sign(self, data: bytes) -> bytes:
        """Ed25519, or ES256 as 64 bytes r || s with low S."""
        if isinstance(self.private, Ed25519PrivateKey):
            return self.private.sign(data)
        r, s = decode_dss_signature(self.private.sign(data, ec.ECDSA(hashes.SHA256())))
        if s > P256_ORDER // 2:
            s = P256_ORDER - s
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")

    def verify(self, signature: bytes, data: bytes) -> bool:
        """Verify a signature made with this key's algorithm."""
        return _verify(self.public_members(), signature, data)


def _verify(public: dict[str, Any], signature: bytes, data: bytes) -> bool:
    try:
        if public["kty"] == "OKP":
            Ed25519PublicKey.from_public_bytes(b64d(public["x"])).verify(signature, data)
            return True
        if len(signature) != 64:
            return False
        r, s = int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
        if not (0 < r < P256_ORDER and 0 < s <= P256_ORDER // 2):
            return False
        point = ec.EllipticCurvePublicNumbers(
            int.from_bytes(b64d(public["x"]), "big"),
            int.from_bytes(b64d(public["y"]), "big"),
            ec.SECP256R1(),
        ).public_key()
        point.verify(encode_dss_signature(r, s), data, ec.ECDSA(hashes.SHA256()))
        return True
    except (InvalidSignature, ValueError):
        return False


def signing_input(header: dict[str, Any] | bytes, payload: bytes) -> bytes:
    """``b64(header) . b64(payload)``; a header given as a dict is JCS-serialized."""
    header_bytes = header if isinstance(header, bytes) else jcs(header)
    return f"{b64e(header_bytes)}.{b64e(payload)}".encode("ascii")


def compact(
    key: SuiteKey,
    payload: bytes,
    typ: str | None,
    *,
    extra_header: dict[str, Any] | None = None,
    header: dict[str, Any] | bytes | None = None,
) -> str:
    """Sign ``payload`` (bytes, used exactly) as a JWS compact serialization.

    The header is ``{alg, kid, typ}`` plus ``extra_header``, or ``header`` given whole (a dict,
    or exact bytes, for deliberately odd headers).
    """
    if header is None:
        header = {"alg": key.alg, "kid": key.kid}
        if typ is not None:
            header["typ"] = typ
        header.update(extra_header or {})
    data = signing_input(header, payload)
    return data.decode("ascii") + "." + b64e(key.sign(data))


def verify_jws(public: dict[str, Any], token: str) -> bool:
    """Whether ``token``'s signature verifies with the public JWK (no other check)."""
    head, payload, signature = token.split(".")
    try:
        sig = b64d(signature)
    except ValueError:
        return False
    return _verify(public, sig, f"{head}.{payload}".encode("ascii"))
