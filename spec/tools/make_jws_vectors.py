"""Generate ``spec/vectors/jws.json``, the vectors of the signed-document (JWS) layer.

Usage::

    python spec/tools/make_jws_vectors.py            # (re)write spec/vectors/jws.json
    python spec/tools/make_jws_vectors.py --check    # exit 1 unless the file is reproduced

Every token is built from the published test keys (``spec/test-keys.json``) with the
``cryptography`` library directly, not with the reference SDK, so that the SDK is checked
against vectors it did not make. Ed25519 signatures are deterministic (RFC 8032); ES256
signatures use deterministic nonces (RFC 6979, ``cryptography`` 44 or later), so the whole file
is reproduced byte for byte. Hostile tokens are assembled from raw bytes: duplicate members,
non-UTF-8 payloads, non-canonical base64url and the like cannot come out of a JSON library.

Each vector's input is ``{"token", "typ", "key"}``: the compact serialization, the ``typ`` the
receiver expects, and the name of the test key whose public half the receiver trusts. The
expected result is ``{"header", "claims"}`` or ``{"error": code}`` (CONV-060 decides which
code when several checks would fail).
"""

from __future__ import annotations

import argparse
import base64
import datetime
import hashlib
import hmac
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import rfc8785
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509.oid import NameOID
from nacl.bindings import crypto_core_ed25519_add, crypto_scalarmult_ed25519_base_noclamp

SPEC = Path(__file__).resolve().parent.parent
ROOT = SPEC.parent
KEYS_FILE = SPEC / "test-keys.json"
OUTPUT = SPEC / "vectors" / "jws.json"

TYP = "tokenfed-rate-card+jwt"
MAX_TOKEN_BYTES = 65536
ED25519_ORDER = 2**252 + 27742317777372353535851937790883648493
P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
ED25519_IDENTITY = bytes([1]) + bytes(31)
# A point of order 8 (CONV-070's table): added to a valid key it gives a mixed-order point.
ED25519_ORDER_8 = bytes.fromhex("26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05")
IAT = 1795392000  # 2026-11-23T00:00:00Z

CLAIMS: dict[str, Any] = {
    "ver": "1.0",
    "iss": "https://provider-a.example",
    "id": "rc-2026-11",
    "iat": IAT,
    "title": "标准费率 (standard rates)",
    "rate": "0.0015",
}
"""Small rate-card-like claims; the JWS layer does not look inside them."""


def b64u(data: bytes) -> str:
    """Unpadded base64url."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def jcs(value: Any) -> bytes:
    """RFC 8785 serialization."""
    return rfc8785.dumps(value)


def _unb64u(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class TestKey:
    """One published test key, able to sign raw bytes."""

    def __init__(self, name: str, jwk: dict[str, Any]) -> None:
        self.name = name
        self.jwk = jwk
        self.kid: str = jwk["kid"]
        self.alg: str = jwk["alg"]
        secret = _unb64u(jwk["d"])
        self._key: Ed25519PrivateKey | ec.EllipticCurvePrivateKey
        if self.alg == "EdDSA":
            self._key = Ed25519PrivateKey.from_private_bytes(secret)
        else:
            self._key = ec.derive_private_key(int.from_bytes(secret, "big"), ec.SECP256R1())

    def public_jwk(self) -> dict[str, Any]:
        """The public members only."""
        return {name: self.jwk[name] for name in ("kty", "crv", "x", "y") if name in self.jwk}

    def sign(self, data: bytes) -> bytes:
        """Ed25519 signature, or ES256 low-S ``r || s`` (CONV-072) with a deterministic nonce."""
        if isinstance(self._key, Ed25519PrivateKey):
            return self._key.sign(data)
        r, s = decode_dss_signature(self.sign_der(data))
        return r.to_bytes(32, "big") + min(s, P256_ORDER - s).to_bytes(32, "big")

    def ecdsa_s_is_high(self, data: bytes) -> bool:
        """Whether ECDSA with the RFC 6979 nonce yields s > (n - 1) / 2 before normalizing."""
        return decode_dss_signature(self.sign_der(data))[1] > P256_ORDER // 2

    def public_bytes(self) -> bytes:
        """The 32-byte Ed25519 public key (the JWK's x)."""
        return _unb64u(self.jwk["x"])

    def secret_scalar(self) -> int:
        """The Ed25519 secret scalar a (RFC 8032 section 5.1.5: clamped low half of the hash)."""
        digest = hashlib.sha512(_unb64u(self.jwk["d"])).digest()
        return (int.from_bytes(digest[:32], "little") & ((1 << 254) - 8)) | (1 << 254)

    def sign_der(self, data: bytes) -> bytes:
        """ES256 signature in the DER form (which JWS does not use)."""
        assert isinstance(self._key, ec.EllipticCurvePrivateKey)
        return self._key.sign(data, ec.ECDSA(hashes.SHA256(), deterministic_signing=True))

    def public_pem(self) -> bytes:
        """SubjectPublicKeyInfo PEM of the public key."""
        return self._key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def self_signed_certificate(self) -> bytes:
        """A fixed self-signed X.509 certificate (DER) for an Ed25519 key."""
        assert isinstance(self._key, Ed25519PrivateKey)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"{self.name}.example")])
        start = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
        certificate = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self._key.public_key())
            .serial_number(1)
            .not_valid_before(start)
            .not_valid_after(start.replace(year=2027))
            .sign(self._key, None)
        )
        return certificate.public_bytes(serialization.Encoding.DER)


def load_keys() -> dict[str, TestKey]:
    """The published test keys by name."""
    data = json.loads(KEYS_FILE.read_text(encoding="utf-8"))
    return {name: TestKey(name, jwk) for name, jwk in data["keys"].items()}


class Builder:
    """Collects vectors."""

    def __init__(self, keys: dict[str, TestKey]) -> None:
        self.keys = keys
        self.vectors: list[dict[str, Any]] = []
        self.fixture_keys: dict[str, dict[str, Any]] = {}

    def fixture_key(self, name: str, x: bytes, y: bytes | None = None) -> str:
        """Record a public JWK (not a published key) under ``name``: Ed25519 with ``x`` alone,
        P-256 with ``x`` and ``y``; return its kid."""
        if y is None:
            jwk = {"kty": "OKP", "crv": "Ed25519", "x": b64u(x)}
        else:
            jwk = {"kty": "EC", "crv": "P-256", "x": b64u(x), "y": b64u(y)}
        self.fixture_keys[name] = jwk
        return thumbprint(jwk)

    def header(self, signer: str, **changes: Any) -> dict[str, Any]:
        """The usual header ``{alg, typ, kid}`` of ``signer``; a change to ``None`` drops it."""
        key = self.keys[signer]
        header: dict[str, Any] = {"alg": key.alg, "typ": TYP, "kid": key.kid}
        header.update(changes)
        return {name: value for name, value in header.items() if value is not None}

    def token(
        self,
        header: dict[str, Any] | bytes,
        payload: dict[str, Any] | bytes,
        signer: str | None = None,
        *,
        signature: bytes | Callable[[bytes], bytes] | None = None,
    ) -> str:
        """Assemble a compact JWS; dict parts are JCS-serialized, bytes parts used as they are."""
        header_bytes = header if isinstance(header, bytes) else jcs(header)
        payload_bytes = payload if isinstance(payload, bytes) else jcs(payload)
        signing_input = f"{b64u(header_bytes)}.{b64u(payload_bytes)}"
        if callable(signature):
            sig = signature(signing_input.encode("ascii"))
        elif signature is not None:
            sig = signature
        else:
            assert signer is not None
            sig = self.keys[signer].sign(signing_input.encode("ascii"))
        return f"{signing_input}.{b64u(sig)}"

    def add(
        self,
        vector_id: str,
        description: str,
        requirements: list[str],
        token: str,
        key: str,
        expected: dict[str, Any],
        typ: str = TYP,
    ) -> None:
        """Record one vector."""
        self.vectors.append(
            {
                "id": vector_id,
                "description": description,
                "requirements": requirements,
                "input": {"token": token, "typ": typ, "key": key},
                "expected": expected,
            }
        )

    def valid(
        self,
        vector_id: str,
        description: str,
        requirements: list[str],
        header: dict[str, Any],
        claims: dict[str, Any],
        signer: str,
        *,
        payload: bytes | None = None,
    ) -> str:
        """Record a vector that a receiver trusting ``signer`` accepts; return its token."""
        token = self.token(header, claims if payload is None else payload, signer)
        self.add(
            vector_id,
            description,
            requirements,
            token,
            signer,
            {"header": header, "claims": claims},
        )
        return token

    def error(
        self,
        vector_id: str,
        description: str,
        requirements: list[str],
        token: str,
        code: str,
        key: str = "provider-a",
    ) -> None:
        """Record a vector that a receiver trusting ``key`` rejects with ``code``."""
        self.add(vector_id, description, requirements, token, key, {"error": code})


def _nested(levels: int) -> dict[str, Any]:
    """Claims nested ``levels`` deep in all, the claims object itself being level 1."""
    inner: list[Any] = []
    for _ in range(levels - 2):
        inner = [inner]
    return {"iss": CLAIMS["iss"], "nest": inner}


def _sized_claims(builder: Builder, total: int, header: bytes) -> dict[str, Any]:
    """Claims whose EdDSA token by provider-a with ``header`` is ``total`` characters long."""
    shortfall = total - len(builder.token(header, {**CLAIMS, "note": ""}, "provider-a"))
    estimate = shortfall * 3 // 4
    for size in range(max(estimate - 8, 0), estimate + 8):
        claims = {**CLAIMS, "note": "p" * size}
        if len(builder.token(header, claims, "provider-a")) == total:
            return claims
    raise AssertionError(f"no claims give a token of {total} characters with this header")


def _swap_last_char(segment: str) -> str:
    """Same decoded bytes under a lenient decoder, but unused trailing bits set."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    unused_bits = {2: 4, 3: 2}[len(segment) % 4]
    index = alphabet.index(segment[-1])
    return segment[:-1] + alphabet[index | ((1 << unused_bits) - 1)]


def thumbprint(jwk: dict[str, Any]) -> str:
    """RFC 7638 thumbprint: SHA-256 of the required members (crv, kty, x and for EC y) in
    JCS form, base64url."""
    members = {name: jwk[name] for name in ("crv", "kty", "x", "y") if name in jwk}
    return b64u(hashlib.sha256(jcs(members)).digest())


def _challenge(r_bytes: bytes, public: bytes, data: bytes) -> int:
    """k = SHA-512(R || A || M) mod L (RFC 8032 section 5.1.7)."""
    return int.from_bytes(hashlib.sha512(r_bytes + public + data).digest(), "little") % (
        ED25519_ORDER
    )


def identity_r_signature(key: TestKey, data: bytes) -> bytes:
    """R = identity and S = k * a mod L: [S]B - [k]A is then the identity, so the signature
    satisfies the cofactorless equation, yet R is a small-order point (CONV-071)."""
    k = _challenge(ED25519_IDENTITY, key.public_bytes(), data)
    return ED25519_IDENTITY + (k * key.secret_scalar() % ED25519_ORDER).to_bytes(32, "little")


def mixed_order_signature(key: TestKey, mixed: bytes, data: bytes) -> bytes:
    """A signature under the mixed-order point ``mixed`` = A + T (T of order 8) that satisfies
    the cofactorless equation: [S]B - [k](A + T) = R exactly when [k]T is the identity, that
    is when k is a multiple of 8, so nonces r = 1, 2, ... are tried until k is one."""
    for r in range(1, 1000):
        r_bytes = crypto_scalarmult_ed25519_base_noclamp(r.to_bytes(32, "little"))
        k = _challenge(r_bytes, mixed, data)
        if k % 8 == 0:
            s = (r + k * key.secret_scalar()) % ED25519_ORDER
            return r_bytes + s.to_bytes(32, "little")
    raise AssertionError("no nonce below 1000 gives a challenge divisible by 8")


def build() -> dict[str, Any]:
    """The whole vector file."""
    keys = load_keys()
    b = Builder(keys)
    a = keys["provider-a"]

    # --- accepted documents --------------------------------------------------------------
    valid = b.valid(
        "valid-eddsa",
        "A rate card signed with EdDSA by provider-a: header {alg, kid, typ} and the claims are "
        "JCS-serialized; the receiver trusts provider-a's public key.",
        ["CONV-042", "CONV-043", "CONV-045", "CONV-046", "CONV-049"],
        b.header("provider-a"),
        CLAIMS,
        "provider-a",
    )
    valid_es256 = b.valid(
        "valid-es256",
        "A rate card signed with ES256 (64-byte r || s, low-S) by provider-b's P-256 key.",
        ["CONV-042", "CONV-049", "CONV-072", "CONV-073"],
        b.header("provider-b"),
        {**CLAIMS, "iss": "https://provider-b.example"},
        "provider-b",
    )
    b_claims = next(
        claims
        for claims in (
            {**CLAIMS, "iss": "https://provider-b.example", "id": f"rc-2026-11-{n}"}
            for n in range(1, 100)
        )
        if keys["provider-b"].ecdsa_s_is_high(
            b.token(b.header("provider-b"), claims, signature=b"").rstrip(".").encode("ascii")
        )
    )
    b.valid(
        "valid-es256-low-s-normalized",
        "An ES256 rate card whose RFC 6979 ECDSA signature has s > (n - 1) / 2; the signer "
        "wrote n - s instead (low-S), and the receiver accepts it.",
        ["CONV-072", "CONV-073"],
        b.header("provider-b"),
        b_claims,
        "provider-b",
    )
    for vector_id, typ in (
        ("valid-typ-media-type-upper-case", "APPLICATION/TOKENFED-RATE-CARD+JWT"),
        ("valid-typ-media-type", "application/tokenfed-rate-card+jwt"),
        ("valid-typ-mixed-case", "Tokenfed-Rate-Card+JWT"),
    ):
        b.valid(
            vector_id,
            f"typ {typ!r} names the expected kind: the comparison ignores letter case and an "
            "application/ prefix.",
            ["CONV-043"],
            b.header("provider-a", typ=typ),
            CLAIMS,
            "provider-a",
        )
    b.valid(
        "valid-integer-limits",
        "Integers 2^53 - 1 and -(2^53 - 1), the largest magnitudes allowed.",
        ["CONV-012"],
        b.header("provider-a"),
        {**CLAIMS, "max": 2**53 - 1, "min": -(2**53 - 1)},
        "provider-a",
    )
    b.valid(
        "valid-depth-32",
        "Claims nested exactly 32 levels deep (the claims object is level 1).",
        ["CONV-015"],
        b.header("provider-a"),
        _nested(32),
        "provider-a",
    )
    b.valid(
        "valid-surrogate-pair",
        "A string with an escaped surrogate pair (U+1F600), which is not a lone surrogate.",
        ["CONV-014"],
        b.header("provider-a"),
        {"iss": CLAIMS["iss"], "title": "\U0001f600"},
        "provider-a",
        payload=b'{"iss":"https://provider-a.example","title":"\\ud83d\\ude00"}',
    )
    b.valid(
        "valid-payload-not-jcs",
        "The payload bytes are not JCS (spaces, a line break, members out of order) but the "
        "signature covers them as received: a receiver verifies the bytes and never "
        "re-serializes.",
        ["CONV-046", "CONV-049"],
        b.header("provider-a"),
        {"iss": CLAIMS["iss"], "iat": IAT},
        "provider-a",
        payload=b'{ "iss": "https://provider-a.example",\n  "iat": 1795392000 }',
    )
    # With the JCS header (98 bytes) no payload gives exactly 65536 characters, since no
    # base64url text has a length of 4k + 1; one space in the header shifts it.
    spaced = b"{ " + jcs(b.header("provider-a"))[1:]
    at_limit = _sized_claims(b, MAX_TOKEN_BYTES, spaced)
    b.add(
        "valid-size-at-limit",
        f"A token of exactly {MAX_TOKEN_BYTES} bytes, the size limit (the header bytes "
        "carry one space after the opening brace so that the length can be met exactly).",
        ["CONV-040", "CONV-046"],
        b.token(spaced, at_limit, "provider-a"),
        "provider-a",
        {"header": b.header("provider-a"), "claims": at_limit},
    )

    # --- size and segments ---------------------------------------------------------------
    b.error(
        "size-over-limit",
        f"A correctly signed token of {MAX_TOKEN_BYTES + 1} bytes, one over the size limit.",
        ["CONV-040"],
        b.token(
            b.header("provider-a"),
            _sized_claims(b, MAX_TOKEN_BYTES + 1, jcs(b.header("provider-a"))),
            "provider-a",
        ),
        "malformed",
    )
    head, body, sig = valid.split(".")
    b.error(
        "segments-two",
        "Two segments: the signature segment is missing.",
        ["CONV-041"],
        f"{head}.{body}",
        "malformed",
    )
    b.error(
        "segments-four",
        "Four segments: a fourth one follows a valid token.",
        ["CONV-041"],
        f"{valid}.{sig}",
        "malformed",
    )
    b.error("segments-empty", "The empty string.", ["CONV-041"], "", "malformed")
    b.error(
        "segments-jwe-like",
        "Five segments, the shape of a JWE compact serialization.",
        ["CONV-041"],
        f"{head}..{body}.{sig}.{sig}",
        "malformed",
    )

    # --- base64url -----------------------------------------------------------------------
    b.error(
        "b64-padding",
        "The signature segment of a valid token carries '=' padding.",
        ["CONV-041"],
        f"{head}.{body}.{sig}{'=' * (-len(sig) % 4)}",
        "malformed",
    )
    standard = next(
        candidate
        for candidate in (
            b.token(b.header("provider-a"), {**CLAIMS, "title": "~" * n}, "provider-a")
            for n in range(1, 30)
        )
        if {"-", "_"} & set(candidate.split(".")[1])
    )
    s_head, s_body, s_sig = standard.split(".")
    b.error(
        "b64-standard-alphabet",
        "The payload segment of a valid token is written in the standard base64 alphabet "
        "('+' and '/' instead of '-' and '_').",
        ["CONV-041"],
        f"{s_head}.{s_body.replace('-', '+').replace('_', '/')}.{s_sig}",
        "malformed",
    )
    b.error(
        "b64-non-canonical-trailing-bits",
        "The last character of the signature segment of a valid token is changed so that the "
        "unused low bits are not zero: a lenient decoder yields the same 64 bytes and the "
        "signature would verify.",
        ["CONV-041"],
        f"{head}.{body}.{_swap_last_char(sig)}",
        "malformed",
    )
    b.error(
        "b64-line-break-inside",
        "A line break inside the payload segment of a valid token.",
        ["CONV-041"],
        f"{head}.{body[:40]}\n{body[40:]}.{sig}",
        "malformed",
    )
    b.error(
        "b64-trailing-newline",
        "A valid token followed by a line feed: the third segment is not base64url.",
        ["CONV-041"],
        valid + "\n",
        "malformed",
    )
    b.error(
        "b64-leading-space",
        "A valid token preceded by a space: the first segment is not base64url.",
        ["CONV-041"],
        " " + valid,
        "malformed",
    )

    # --- JSON of header and payload ------------------------------------------------------
    def signed_payload(payload: bytes) -> str:
        return b.token(b.header("provider-a"), payload, "provider-a")

    json_cases: list[tuple[str, str, list[str], bytes]] = [
        (
            "json-payload-array",
            "The payload is a JSON array, not an object.",
            ["CONV-041"],
            b'["https://provider-a.example",1795392000]',
        ),
        ("json-payload-string", "The payload is a JSON string.", ["CONV-041"], b'"rate card"'),
        ("json-payload-empty", "The payload is empty.", ["CONV-010", "CONV-041"], b""),
        (
            "json-invalid-utf8",
            "The payload holds the byte 0xFF, which is not UTF-8.",
            ["CONV-010"],
            b'{"iss":"https://provider-a.example","title":"\xff"}',
        ),
        (
            "json-overlong-utf8",
            "The payload holds an overlong UTF-8 encoding of '/' (C0 AF).",
            ["CONV-010"],
            b'{"iss":"https://provider-a.example","title":"\xc0\xaf"}',
        ),
        (
            "json-utf8-encoded-surrogate",
            "The payload holds a UTF-16 surrogate encoded as UTF-8 bytes (ED A0 80).",
            ["CONV-010"],
            b'{"iss":"https://provider-a.example","title":"\xed\xa0\x80"}',
        ),
        (
            "json-bom-payload",
            "The payload starts with a UTF-8 byte order mark.",
            ["CONV-010"],
            b'\xef\xbb\xbf{"iss":"https://provider-a.example"}',
        ),
        (
            "json-nan",
            "The payload holds NaN.",
            ["CONV-010"],
            b'{"iss":"https://provider-a.example","rate":NaN}',
        ),
        (
            "json-infinity",
            "The payload holds -Infinity.",
            ["CONV-010"],
            b'{"iss":"https://provider-a.example","rate":-Infinity}',
        ),
        (
            "json-trailing-data",
            "A second JSON value follows the payload object.",
            ["CONV-010"],
            b'{"iss":"https://provider-a.example"} {}',
        ),
        (
            "json-trailing-comma",
            "A comma after the last member.",
            ["CONV-010"],
            b'{"iss":"https://provider-a.example",}',
        ),
        (
            "json-single-quotes",
            "Member names in single quotes.",
            ["CONV-010"],
            b"{'iss':'https://provider-a.example'}",
        ),
        (
            "json-duplicate-member",
            'Two "amount" members: a last-wins parser reads "999" where a first-wins parser '
            'reads "1".',
            ["CONV-011"],
            b'{"amount":"1","amount":"999"}',
        ),
        (
            "json-duplicate-member-nested",
            "Two members of the same name in a nested object.",
            ["CONV-011"],
            b'{"iss":"https://provider-a.example","rate":{"model":"m-1","model":"m-2"}}',
        ),
        (
            "json-duplicate-member-escaped",
            'Two members named "amount", the second written with a \\u0061 escape.',
            ["CONV-011"],
            b'{"amount":"1","\\u0061mount":"999"}',
        ),
        (
            "json-integer-2p53",
            "The integer 2^53 (9007199254740992).",
            ["CONV-012"],
            b'{"iss":"https://provider-a.example","n":9007199254740992}',
        ),
        (
            "json-integer-minus-2p53",
            "The integer -2^53.",
            ["CONV-012"],
            b'{"iss":"https://provider-a.example","n":-9007199254740992}',
        ),
        (
            "json-integer-huge",
            "An integer of 400 digits.",
            ["CONV-012"],
            b'{"iss":"https://provider-a.example","n":' + b"9" * 400 + b"}",
        ),
        (
            "json-fraction",
            "The number 1.5.",
            ["CONV-013"],
            b'{"iss":"https://provider-a.example","rate":1.5}',
        ),
        (
            "json-fraction-zero",
            "The number 1.0, integral but written with a fraction part.",
            ["CONV-013"],
            b'{"iss":"https://provider-a.example","rate":1.0}',
        ),
        (
            "json-exponent",
            "The number 1e3.",
            ["CONV-013"],
            b'{"iss":"https://provider-a.example","rate":1e3}',
        ),
        (
            "json-exponent-upper-case",
            "The number 1E+3.",
            ["CONV-013"],
            b'{"iss":"https://provider-a.example","rate":1E+3}',
        ),
        (
            "json-lone-high-surrogate",
            "A string holding the escaped lone surrogate \\ud800.",
            ["CONV-014"],
            b'{"iss":"https://provider-a.example","title":"\\ud800"}',
        ),
        (
            "json-lone-low-surrogate",
            "A string holding the escaped lone surrogate \\udc00.",
            ["CONV-014"],
            b'{"iss":"https://provider-a.example","title":"a\\udc00b"}',
        ),
        (
            "json-reversed-surrogates",
            "A low surrogate escape followed by a high one (\\ude00\\ud83d).",
            ["CONV-014"],
            b'{"iss":"https://provider-a.example","title":"\\ude00\\ud83d"}',
        ),
        (
            "json-depth-33",
            "Claims nested 33 levels deep (the claims object is level 1).",
            ["CONV-015"],
            jcs(_nested(33)),
        ),
    ]
    for vector_id, description, requirements, payload in json_cases:
        b.error(
            vector_id,
            description + " The token is otherwise valid and correctly signed.",
            requirements,
            signed_payload(payload),
            "malformed",
        )
    b.error(
        "json-header-not-object",
        "The header is a JSON array.",
        ["CONV-041"],
        b.token(b'["EdDSA","tokenfed-rate-card+jwt"]', CLAIMS, "provider-a"),
        "malformed",
    )
    b.error(
        "json-bom-header",
        "The header starts with a UTF-8 byte order mark.",
        ["CONV-010"],
        b.token(b"\xef\xbb\xbf" + jcs(b.header("provider-a")), CLAIMS, "provider-a"),
        "malformed",
    )
    b.error(
        "json-duplicate-header-alg",
        'The header has "alg" twice, "none" then "EdDSA"; the token is correctly signed with '
        "EdDSA, so a last-wins parser would accept it.",
        ["CONV-011"],
        b.token(
            b'{"alg":"none","kid":"' + a.kid.encode() + b'","typ":"' + TYP.encode() + b'",'
            b'"alg":"EdDSA"}',
            CLAIMS,
            "provider-a",
        ),
        "malformed",
    )

    # --- typ -----------------------------------------------------------------------------
    for vector_id, typ_value, description in (
        ("typ-missing", None, "The header has no typ."),
        ("typ-receipt", "tokenfed-receipt+jwt", "A receipt's typ where a rate card is expected."),
        ("typ-jwt", "JWT", "The generic typ JWT."),
        ("typ-without-suffix", "tokenfed-rate-card", "The typ without its +jwt suffix."),
        ("typ-not-string", ["tokenfed-rate-card+jwt"], "typ is an array holding the right value."),
    ):
        b.error(
            vector_id,
            description + " The token is otherwise valid and correctly signed.",
            ["CONV-043"],
            b.token(b.header("provider-a", typ=typ_value), CLAIMS, "provider-a"),
            "unsupported_typ",
        )

    # --- alg -----------------------------------------------------------------------------
    for vector_id, alg in (
        ("alg-none", "none"),
        ("alg-none-capitalized", "None"),
        ("alg-none-upper-case", "NONE"),
    ):
        b.error(
            vector_id,
            f"alg {alg!r} with an empty signature (an unsecured JWS).",
            ["CONV-042"],
            b.token(b.header("provider-a", alg=alg), CLAIMS, signature=b""),
            "unsupported_alg",
        )
    b.error(
        "alg-none-with-signature",
        "alg 'none' followed by provider-a's genuine Ed25519 signature over the signing input.",
        ["CONV-042"],
        b.token(b.header("provider-a", alg="none"), CLAIMS, "provider-a"),
        "unsupported_alg",
    )
    pem = a.public_pem()
    b.error(
        "alg-hs256-public-key",
        "Algorithm confusion: alg HS256 with an HMAC whose secret is provider-a's public key "
        "(SubjectPublicKeyInfo PEM); a verifier that took the algorithm from the header and "
        "the key bytes from its trust store would accept it.",
        ["CONV-042", "CONV-044"],
        b.token(
            b.header("provider-a", alg="HS256"),
            CLAIMS,
            signature=lambda data: hmac.new(pem, data, hashlib.sha256).digest(),
        ),
        "unsupported_alg",
    )
    b.error(
        "alg-hs256-public-key-raw",
        "Algorithm confusion: alg HS256 with an HMAC keyed with the 32 raw bytes of "
        "provider-a's public key.",
        ["CONV-042", "CONV-044"],
        b.token(
            b.header("provider-a", alg="HS256"),
            CLAIMS,
            signature=lambda data: hmac.new(_unb64u(a.jwk["x"]), data, hashlib.sha256).digest(),
        ),
        "unsupported_alg",
    )
    b.error(
        "alg-rs256",
        "alg RS256 with a 256-byte signature value.",
        ["CONV-042"],
        b.token(
            b.header("provider-a", alg="RS256"),
            CLAIMS,
            signature=lambda data: hashlib.sha512(data).digest() * 4,
        ),
        "unsupported_alg",
    )
    b.error(
        "alg-ed25519-fully-specified",
        "alg 'Ed25519' (the fully specified name of RFC 9864), not in the tokenfed registry, "
        "with a genuine Ed25519 signature by provider-a.",
        ["CONV-042"],
        b.token(b.header("provider-a", alg="Ed25519"), CLAIMS, "provider-a"),
        "unsupported_alg",
    )
    b.error(
        "alg-lower-case",
        "alg 'eddsa': algorithm names are case-sensitive. Genuine Ed25519 signature.",
        ["CONV-042"],
        b.token(b.header("provider-a", alg="eddsa"), CLAIMS, "provider-a"),
        "unsupported_alg",
    )
    b.error(
        "alg-missing",
        "The header has no alg. Genuine Ed25519 signature by provider-a.",
        ["CONV-042"],
        b.token(b.header("provider-a", alg=None), CLAIMS, "provider-a"),
        "unsupported_alg",
    )
    b.error(
        "alg-es256-on-ed25519-key",
        "Header alg ES256 and provider-a's kid, signed with a P-256 key: provider-a's key is "
        "Ed25519, bound to EdDSA.",
        ["CONV-044"],
        b.token(b.header("provider-a", alg="ES256"), CLAIMS, "provider-b"),
        "unsupported_alg",
    )
    b.error(
        "alg-eddsa-on-p256-key",
        "Header alg EdDSA and provider-b's kid, signed with an Ed25519 key: provider-b's key "
        "is P-256, bound to ES256.",
        ["CONV-044"],
        b.token(b.header("provider-b", alg="EdDSA"), CLAIMS, "provider-a"),
        "unsupported_alg",
        key="provider-b",
    )

    # --- crit ----------------------------------------------------------------------------
    b.error(
        "crit-empty",
        "crit is present as an empty array. Genuine signature.",
        ["CONV-048"],
        b.token(b.header("provider-a", crit=[]), CLAIMS, "provider-a"),
        "unsupported_crit",
    )
    b.error(
        "crit-exp",
        'crit ["exp"] with an exp header parameter. Genuine signature.',
        ["CONV-048"],
        b.token(b.header("provider-a", crit=["exp"], exp=IAT + 3600), CLAIMS, "provider-a"),
        "unsupported_crit",
    )
    b.error(
        "crit-b64",
        'crit ["b64"] with b64 false (RFC 7797 unencoded payload). Genuine signature over '
        "the usual signing input.",
        ["CONV-048"],
        b.token(b.header("provider-a", crit=["b64"], b64=False), CLAIMS, "provider-a"),
        "unsupported_crit",
    )

    # --- key discovery headers and kid ---------------------------------------------------
    x = keys["attacker"]
    attacker_jwk = x.public_jwk()
    certificate = base64.b64encode(x.self_signed_certificate()).decode("ascii")
    for vector_id, member, value in (
        ("header-jku-attacker", "jku", "https://attacker.example/.well-known/jwks.json"),
        ("header-x5u-attacker", "x5u", "https://attacker.example/attacker.pem"),
        ("header-jwk-attacker", "jwk", attacker_jwk),
        ("header-x5c-attacker", "x5c", [certificate]),
    ):
        b.error(
            vector_id,
            f"Signed by the attacker's key, with the attacker's kid and a {member} header "
            "parameter pointing at (or holding) the attacker's key. The receiver trusts only "
            "provider-a and never fetches or uses the key named by the header.",
            ["CONV-047", "CONV-045"],
            b.token(b.header("attacker", **{member: value}), CLAIMS, "attacker"),
            "unknown_key",
        )
    b.error(
        "header-jwk-attacker-no-kid",
        "Signed by the attacker, with the attacker's public JWK embedded and no kid.",
        ["CONV-047", "CONV-045"],
        b.token(b.header("attacker", kid=None, jwk=attacker_jwk), CLAIMS, "attacker"),
        "unknown_key",
    )
    b.error(
        "header-jwk-attacker-trusted-kid",
        "Signed by the attacker, with provider-a's kid and the attacker's public JWK "
        "embedded: the kid selects provider-a's key, the embedded key is ignored, and the "
        "signature fails.",
        ["CONV-047", "CONV-049"],
        b.token(b.header("provider-a", jwk=attacker_jwk), CLAIMS, "attacker"),
        "invalid_signature",
    )
    b.error(
        "kid-unknown",
        "Signed by the attacker's key with the attacker's kid; the receiver trusts only "
        "provider-a.",
        ["CONV-045"],
        b.token(b.header("attacker"), CLAIMS, "attacker"),
        "unknown_key",
    )
    b.error(
        "kid-missing",
        "Signed by provider-a, but the header has no kid.",
        ["CONV-045"],
        b.token(b.header("provider-a", kid=None), CLAIMS, "provider-a"),
        "unknown_key",
    )
    b.error(
        "kid-rotated-key",
        "Signed by provider-a's rotated key, with its kid; the receiver trusts only the "
        "earlier key.",
        ["CONV-045"],
        b.token(b.header("provider-a-rotated"), CLAIMS, "provider-a-rotated"),
        "unknown_key",
    )
    b.error(
        "kid-spoofed",
        "Signed by the attacker's key, with provider-a's kid.",
        ["CONV-045", "CONV-049"],
        b.token(b.header("provider-a"), CLAIMS, "attacker"),
        "invalid_signature",
    )
    b.error(
        "kid-thumbprint-of-other-encoding",
        "kid is provider-a's thumbprint in standard base64 with padding, not base64url.",
        ["CONV-045"],
        b.token(
            b.header(
                "provider-a",
                kid=base64.b64encode(_unb64u(a.kid)).decode("ascii"),
            ),
            CLAIMS,
            "provider-a",
        ),
        "unknown_key",
    )

    # --- signature -----------------------------------------------------------------------
    tampered = b64u(jcs({**CLAIMS, "rate": "0.0001"}))
    b.error(
        "sig-tampered-payload",
        "The payload of valid-eddsa is replaced (rate 0.0001 instead of 0.0015); header and "
        "signature are kept.",
        ["CONV-049"],
        f"{head}.{tampered}.{sig}",
        "invalid_signature",
    )
    spaced_header = b64u(
        json.dumps(b.header("provider-a"), separators=(", ", ": ")).encode("ascii")
    )
    b.error(
        "sig-header-re-encoded",
        "The header of valid-eddsa is re-encoded with spaces (same members and values); the "
        "signature covers the original bytes.",
        ["CONV-046", "CONV-049"],
        f"{spaced_header}.{body}.{sig}",
        "invalid_signature",
    )
    raw_sig = _unb64u(sig)
    b.error(
        "sig-truncated",
        "The Ed25519 signature of valid-eddsa without its last byte (63 bytes).",
        ["CONV-049"],
        f"{head}.{body}.{b64u(raw_sig[:-1])}",
        "invalid_signature",
    )
    b.error(
        "sig-extended",
        "The Ed25519 signature of valid-eddsa with a zero byte appended (65 bytes).",
        ["CONV-049"],
        f"{head}.{body}.{b64u(raw_sig + bytes(1))}",
        "invalid_signature",
    )
    b.error(
        "sig-empty",
        "alg EdDSA with an empty signature segment.",
        ["CONV-049"],
        f"{head}.{body}.",
        "invalid_signature",
    )
    scalar = int.from_bytes(raw_sig[32:], "little") + ED25519_ORDER
    b.error(
        "sig-ed25519-s-plus-order",
        "The Ed25519 signature of valid-eddsa with S replaced by S + L (the group order): "
        "RFC 8032 section 5.1.7 requires S < L, so this malleated signature is refused.",
        ["CONV-049", "CONV-071"],
        f"{head}.{body}.{b64u(raw_sig[:32] + scalar.to_bytes(32, 'little'))}",
        "invalid_signature",
    )
    b_head, b_body, _ = valid_es256.split(".")
    b_input = f"{b_head}.{b_body}".encode("ascii")
    b.error(
        "sig-es256-der",
        "provider-b's ES256 signature in ASN.1 DER form instead of the 64-byte r || s.",
        ["CONV-049"],
        f"{b_head}.{b_body}.{b64u(keys['provider-b'].sign_der(b_input))}",
        "invalid_signature",
        key="provider-b",
    )
    b.error(
        "sig-es256-zero",
        "ES256 signature r = 0, s = 0 (64 zero bytes), which a verifier that skips the "
        "range check of r and s accepts for any message.",
        ["CONV-049", "CONV-073"],
        f"{b_head}.{b_body}.{b64u(bytes(64))}",
        "invalid_signature",
        key="provider-b",
    )
    b_sig = _unb64u(valid_es256.split(".")[2])
    high_s = P256_ORDER - int.from_bytes(b_sig[32:], "big")
    b.error(
        "sig-es256-high-s-twin",
        "The ES256 signature of valid-es256 with s replaced by n - s: ECDSA accepts both "
        "twins, but only the low-S one (s <= (n - 1) / 2), which valid-es256 carries, is a "
        "tokenfed signature; anyone could make this one from it.",
        ["CONV-073", "CONV-072"],
        f"{b_head}.{b_body}.{b64u(b_sig[:32] + high_s.to_bytes(32, 'big'))}",
        "invalid_signature",
        key="provider-b",
    )
    b.error(
        "sig-es256-s-equals-order",
        "The ES256 signature of valid-es256 with s replaced by n (the group order): s must be "
        "in 1..(n - 1) / 2.",
        ["CONV-073"],
        f"{b_head}.{b_body}.{b64u(b_sig[:32] + P256_ORDER.to_bytes(32, 'big'))}",
        "invalid_signature",
        key="provider-b",
    )
    b.error(
        "sig-ed25519-r-identity",
        "An Ed25519 signature with R = the identity (01 00..00) and S = k * a mod L, k = "
        "SHA-512(R || A || M) mod L and a provider-a's secret scalar: [S]B - [k]A is the "
        "identity, so the cofactorless equation holds (OpenSSL accepts it), but R is a "
        "small-order point, which libsodium refuses and tokenfed refuses.",
        ["CONV-071"],
        b.token(
            b.header("provider-a"),
            CLAIMS,
            signature=lambda data: identity_r_signature(a, data),
        ),
        "invalid_signature",
    )

    # --- keys (CONV-070): the receiver is configured with a public JWK of the fixtures ----
    identity_kid = b.fixture_key("ed25519-small-order-identity", ED25519_IDENTITY)
    b.error(
        "key-ed25519-small-order",
        "The trusted key is the Ed25519 identity point (x = 01 00..00, order 1). The token "
        "names its kid and carries R = identity, S = 0, which satisfies the cofactorless "
        "equation for every message: such a key signs anything. Refused when it is loaded.",
        ["CONV-070"],
        b.token(
            b.header("provider-a", kid=identity_kid),
            CLAIMS,
            signature=ED25519_IDENTITY + bytes(32),
        ),
        "invalid_key",
        key="ed25519-small-order-identity",
    )
    mixed = crypto_core_ed25519_add(a.public_bytes(), ED25519_ORDER_8)
    mixed_kid = b.fixture_key("ed25519-mixed-order", mixed)
    b.error(
        "key-ed25519-mixed-order",
        "The trusted key is provider-a's point plus a point of order 8 (a mixed-order point). "
        "The token names its kid and carries a signature made with provider-a's secret scalar "
        "whose challenge k is a multiple of 8, so it satisfies the cofactorless equation "
        "(OpenSSL accepts it); for other k only a cofactored verifier would accept, so two "
        "verifiers would disagree. Refused when it is loaded.",
        ["CONV-070"],
        b.token(
            b.header("provider-a", kid=mixed_kid),
            CLAIMS,
            signature=lambda data: mixed_order_signature(a, mixed, data),
        ),
        "invalid_key",
        key="ed25519-mixed-order",
    )
    non_canonical = (2**255 - 19 + 3).to_bytes(32, "little")
    non_canonical_kid = b.fixture_key("ed25519-non-canonical", non_canonical)
    b.error(
        "key-ed25519-non-canonical",
        "The trusted key's x encodes y = p + 3 (p = 2^255 - 19), a non-canonical encoding of "
        "the curve point with y = 3: y must be less than p. (Only y = 0..18 have a second "
        "encoding, and none of them is a point of the prime-order subgroup.) Refused when it "
        "is loaded; the token is signed by provider-a.",
        ["CONV-070"],
        b.token(b.header("provider-a", kid=non_canonical_kid), CLAIMS, "provider-a"),
        "invalid_key",
        key="ed25519-non-canonical",
    )
    off_curve_kid = b.fixture_key("ed25519-off-curve", bytes([2]) + bytes(31))
    b.error(
        "key-ed25519-off-curve",
        "The trusted key's x (02 00..00, y = 2) decodes to no point of the curve. Refused when "
        "it is loaded; the token is signed by provider-a.",
        ["CONV-070"],
        b.token(b.header("provider-a", kid=off_curve_kid), CLAIMS, "provider-a"),
        "invalid_key",
        key="ed25519-off-curve",
    )
    b_x, b_y = (_unb64u(keys["provider-b"].jwk[name]) for name in ("x", "y"))
    b_y_other = (int.from_bytes(b_y, "big") + 1).to_bytes(32, "big")
    p256_off_kid = b.fixture_key("p256-off-curve", b_x, b_y_other)
    b.error(
        "key-p256-off-curve",
        "The trusted key is provider-b's P-256 key with y + 1: (x, y + 1) is not on the "
        "curve. Refused when it is loaded; the token is signed by provider-b.",
        ["CONV-070"],
        b.token(b.header("provider-b", kid=p256_off_kid), CLAIMS, "provider-b"),
        "invalid_key",
        key="p256-off-curve",
    )
    p256_prime = 2**256 - 2**224 + 2**192 + 2**96 - 1
    y_of_x0 = 0x66485C780E2F83D72433BD5D84A06BB6541C2AF31DAE871728BF856A174F93F4
    p256_unreduced_kid = b.fixture_key(
        "p256-x-not-reduced", p256_prime.to_bytes(32, "big"), y_of_x0.to_bytes(32, "big")
    )
    b.error(
        "key-p256-x-not-reduced",
        "The trusted key's x is the field prime p itself, which names the curve point with "
        "x = 0 (its y is given) only modulo p: coordinates must be less than p, or one point "
        "would have two kids. Refused when it is loaded; the token is signed by provider-b.",
        ["CONV-070"],
        b.token(b.header("provider-b", kid=p256_unreduced_kid), CLAIMS, "provider-b"),
        "invalid_key",
        key="p256-x-not-reduced",
    )

    # --- processing order ----------------------------------------------------------------
    b.error(
        "order-parse-before-typ",
        "A duplicate payload member and a wrong typ: parsing comes first.",
        ["CONV-060", "CONV-011"],
        b.token(b.header("provider-a", typ="JWT"), b'{"amount":"1","amount":"2"}', "provider-a"),
        "malformed",
    )
    b.error(
        "order-typ-before-alg",
        "A receipt typ and alg none: the typ check comes before the alg check.",
        ["CONV-060", "CONV-043"],
        b.token(
            b.header("provider-a", typ="tokenfed-receipt+jwt", alg="none"),
            CLAIMS,
            signature=b"",
        ),
        "unsupported_typ",
    )
    b.error(
        "order-alg-before-crit",
        "alg none and an empty crit: the alg check comes before the crit check.",
        ["CONV-060", "CONV-042"],
        b.token(b.header("provider-a", alg="none", crit=[]), CLAIMS, signature=b""),
        "unsupported_alg",
    )
    b.error(
        "order-crit-before-key",
        "An empty crit and the attacker's kid: the crit check comes before the key lookup.",
        ["CONV-060", "CONV-048"],
        b.token(b.header("attacker", crit=[]), CLAIMS, "attacker"),
        "unsupported_crit",
    )
    b.error(
        "order-key-before-signature",
        "The attacker's kid and a truncated signature: the key lookup comes first.",
        ["CONV-060", "CONV-045"],
        b.token(b.header("attacker"), CLAIMS, signature=lambda data: x.sign(data)[:-1]),
        "unknown_key",
    )

    return {
        "$schema": "../schemas/vectors.schema.json",
        "kind": "jws",
        "spec_version": "1.0",
        "description": (
            "Signed documents (JWS compact serialization) at the generic layer, with typ "
            "tokenfed-rate-card+jwt and small claims. input: token, the typ the receiver "
            "expects, and the name of the key in test-keys.json whose public half the "
            "receiver trusts (one key; kid must match it). expected: the decoded header and "
            "claims, or the error code of the first failing step of CONV-060."
        ),
        "provenance": (
            f"Generated by spec/tools/make_jws_vectors.py from {KEYS_FILE.relative_to(ROOT)} "
            "with the cryptography library (not the reference SDK): Ed25519 signatures are "
            "deterministic and ES256 signatures use RFC 6979 nonces, so rerunning the tool "
            "reproduces this file byte for byte (tests/test_jws_vectors.py runs it with "
            "--check). Checked by tests/test_jws_vectors.py against the reference SDK and by "
            "interop/check_vectors.py, which uses joserfc and its own strict JSON parser and "
            "does not import the SDK."
        ),
        "fixtures": {"keys": b.fixture_keys},
        "vectors": b.vectors,
    }


def render(data: dict[str, Any]) -> str:
    """The file's exact text."""
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Write the file, or with ``--check`` compare it with a fresh build."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare instead of writing")
    args = parser.parse_args(argv)
    data = build()
    text = render(data)
    if args.check:
        current = OUTPUT.read_text(encoding="utf-8") if OUTPUT.exists() else ""
        if current != text:
            print(f"{OUTPUT} is not what {Path(__file__).name} produces; rerun it", file=sys.stderr)
            return 1
        print(f"{OUTPUT.name}: reproduced byte for byte ({len(data['vectors'])} vectors)")
        return 0
    OUTPUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUTPUT} ({len(text.encode('utf-8'))} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
