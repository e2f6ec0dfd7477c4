"""Signing keys: generation, JWK round trip, RFC 7638 thumbprints, JWKS rules, validity windows.

Requirements: CONV-042 (EdDSA/Ed25519 and ES256/P-256 only), CONV-044 (one algorithm per key),
CONV-045 (kid is the RFC 7638 thumbprint; a JWK whose kid is not is ``invalid_key``), CONV-049
(64-byte signatures), CONV-070 (Ed25519 keys in the prime-order subgroup, canonically encoded),
CONV-071 (the exact Ed25519 rule: S < L, no small-order R, cofactorless), CONV-072/CONV-073
(ES256 low-S for signers and verifiers, r and s ranges), REC-030/REC-031 (validity window
``nbf <= t < exp``, ``t < revoked_at``), REC-034 (no private key in a key set).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import jsonschema
import nacl.exceptions
import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)
from hypothesis import given
from hypothesis import strategies as st
from joserfc.jwk import ECKey, OKPKey
from nacl.bindings import (
    crypto_core_ed25519_add,
    crypto_core_ed25519_is_valid_point,
    crypto_sign_open,
)

from tokenfed import keys as keys_module
from tokenfed._b64 import b64decode, b64encode
from tokenfed.errors import InvalidKeyError, KeyNotValidError, TokenfedError
from tokenfed.keys import (
    ALGORITHMS,
    KeySet,
    KeyValidity,
    PrivateKey,
    PublicKey,
    generate_key,
    load_jwk,
    load_private_jwk,
    load_public_jwk,
    thumbprint,
)
from tokenfed_conformance.vectors import spec_dir

P256_P = 2**256 - 2**224 + 2**192 + 2**96 - 1
P256_N = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
# (0, y) is a point of P-256; y found by solving y^2 = x^3 - 3x + b for x = 0.
P256_X0_Y = 0x66485C780E2F83D72433BD5D84A06BB6541C2AF31DAE871728BF856A174F93F4

RFC8037_PUBLIC = {
    "kty": "OKP",
    "crv": "Ed25519",
    "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo",
}
RFC8037_THUMBPRINT = "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"

ALGS = sorted(ALGORITHMS)


def _test_keys_path() -> Path:
    """The published test keys (spec/test-keys.json)."""
    return spec_dir() / "test-keys.json"


def _published() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(_test_keys_path().read_text(encoding="utf-8"))
    return data


def _public(jwk: dict[str, Any]) -> dict[str, Any]:
    return {name: jwk[name] for name in ("kty", "crv", "x", "y") if name in jwk}


def _coordinate(value: int) -> str:
    return b64encode(value.to_bytes(32, "big"))


# --------------------------------------------------------------------------- generation


@pytest.mark.parametrize("alg", ALGS)
def test_generate_sign_verify(alg: str) -> None:
    """CONV-042/CONV-049: a generated key signs 64-byte signatures its public key verifies."""
    key = generate_key(alg)
    public = key.public_key()
    signature = key.sign(b"signing input")
    assert len(signature) == 64
    assert public.verify(signature, b"signing input")
    assert not public.verify(signature, b"signing inpuT")
    assert not public.verify(bytes(64), b"signing input")
    assert key.alg == public.alg == alg
    assert key.kid == public.kid == thumbprint(public.to_jwk())


def test_generate_unknown_algorithm() -> None:
    """CONV-042: only EdDSA and ES256 keys exist; anything else is invalid_key."""
    for alg in ("HS256", "RS256", "none", "Ed25519", "eddsa", ""):
        with pytest.raises(InvalidKeyError):
            generate_key(alg)


@pytest.mark.parametrize("alg", ALGS)
def test_jwk_round_trip(alg: str) -> None:
    """CONV-044/CONV-045: private and public JWKs carry kty/crv, alg, use and kid, and load back
    to the same key."""
    key = generate_key(alg)
    jwk = key.to_jwk()
    kty, crv = ALGORITHMS[alg]
    assert (jwk["kty"], jwk["crv"], jwk["alg"], jwk["use"]) == (kty, crv, alg, "sig")
    assert jwk["kid"] == key.kid
    assert "d" in jwk
    again = load_private_jwk(jwk)
    assert again.kid == key.kid
    assert again.to_jwk() == jwk
    public_jwk = key.public_key().to_jwk()
    assert "d" not in public_jwk
    assert public_jwk["kid"] == key.kid
    public = load_public_jwk(public_jwk)
    assert public.verify(key.sign(b"m"), b"m")
    assert load_public_jwk(jwk).to_jwk() == public_jwk, "a private JWK reduces to its public half"
    assert isinstance(load_jwk(jwk), PrivateKey)
    assert isinstance(load_jwk(public_jwk), PublicKey)


# --------------------------------------------------------------------------- thumbprints


def test_thumbprint_rfc8037_a3() -> None:
    """CONV-045: RFC 8037 appendix A.3 gives this thumbprint for the A.2 public key."""
    assert thumbprint(RFC8037_PUBLIC) == RFC8037_THUMBPRINT
    assert load_public_jwk(RFC8037_PUBLIC).kid == RFC8037_THUMBPRINT


def test_thumbprint_uses_only_required_members() -> None:
    """CONV-045: RFC 7638 section 3.2: only crv, kty, x (and y) enter the thumbprint."""
    extended = {**RFC8037_PUBLIC, "kid": "x", "alg": "EdDSA", "use": "sig", "nbf": 1, "d": "x"}
    assert thumbprint(extended) == RFC8037_THUMBPRINT


@pytest.mark.parametrize("alg", ALGS)
def test_thumbprint_agrees_with_joserfc(alg: str) -> None:
    """CONV-045: for random keys the kid equals joserfc's RFC 7638 thumbprint."""
    for _ in range(8):
        public_jwk = _public(generate_key(alg).to_jwk())
        other = (OKPKey if alg == "EdDSA" else ECKey).import_key(public_jwk)
        assert thumbprint(public_jwk) == other.thumbprint()
        assert load_public_jwk(public_jwk).kid == other.thumbprint()


def test_thumbprint_of_unsupported_key_type() -> None:
    """CONV-042: a thumbprint of an RSA or symmetric JWK is refused (invalid_key)."""
    for jwk in ({"kty": "RSA", "n": "AQAB", "e": "AQAB"}, {"kty": "oct", "k": "AA"}, {}):
        with pytest.raises(InvalidKeyError):
            thumbprint(jwk)
    with pytest.raises(InvalidKeyError):
        thumbprint({"kty": "OKP", "crv": "Ed25519"})


# --------------------------------------------------------------------------- published keys


def test_published_test_keys() -> None:
    """CONV-045: every published test key matches its schema, loads, has d matching its public
    members, kid = thumbprint, and the algorithm of its curve (CONV-044)."""
    data = _published()
    schema = json.loads(
        (spec_dir() / "schemas" / "test-keys.schema.json").read_text(encoding="utf-8")
    )
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.Draft202012Validator(schema).validate(data)
    assert "FOR TESTS ONLY" in data["description"]
    expected = {
        "provider-a": "EdDSA",
        "provider-a-rotated": "EdDSA",
        "provider-b": "ES256",
        "home-operator": "EdDSA",
        "attacker": "EdDSA",
        "rfc8037-a1": "EdDSA",
    }
    assert {name: jwk["alg"] for name, jwk in data["keys"].items()} == expected
    for jwk in data["keys"].values():
        private = load_private_jwk(jwk)
        assert private.kid == jwk["kid"] == thumbprint(_public(jwk))
        assert private.public_key().verify(private.sign(b"test"), b"test")
    kids = [jwk["kid"] for jwk in data["keys"].values()]
    assert len(set(kids)) == len(kids)
    assert data["keys"]["rfc8037-a1"]["kid"] == RFC8037_THUMBPRINT


def test_published_keys_schema_refuses_a_public_key() -> None:
    """The test-keys schema requires private JWKs: a key without d fails validation."""
    data = _published()
    schema = json.loads(
        (spec_dir() / "schemas" / "test-keys.schema.json").read_text(encoding="utf-8")
    )
    jwk = dict(data["keys"]["provider-a"])
    del jwk["d"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**data, "keys": {"provider-a": jwk}}, schema)


# --------------------------------------------------------------------------- key sets


def test_jwks_refuses_private_keys() -> None:
    """REC-034: a JWKS holding a private JWK (member d) is refused with invalid_key."""
    private_jwk = generate_key().to_jwk()
    with pytest.raises(InvalidKeyError, match="private"):
        KeySet.from_jwks({"keys": [private_jwk]})
    public_jwk = generate_key().public_key().to_jwk()
    with pytest.raises(InvalidKeyError):
        KeySet.from_jwks({"keys": [public_jwk, private_jwk]})


def test_jwks_round_trip_and_lookup() -> None:
    """CONV-045: keys of a JWKS are found by kid; the JWKS form loads back to the same keys."""
    keys = [generate_key("EdDSA"), generate_key("ES256"), generate_key("EdDSA")]
    window = KeyValidity(nbf=100, exp=200)
    key_set = KeySet(key.public_key(window) for key in keys)
    again = KeySet.from_jwks(json.loads(json.dumps(key_set.to_jwks())))
    assert len(again) == 3
    for key in keys:
        found = again.get(key.kid)
        assert found is not None
        assert found.alg == key.alg
        assert found.validity == window
        assert found.verify(key.sign(b"x"), b"x")
    assert again.get(generate_key().kid) is None
    assert {key.kid for key in again} == {key.kid for key in keys}


def test_jwks_duplicate_kid() -> None:
    """CONV-045: a kid names one key; the same key twice in a set is refused."""
    public = generate_key().public_key()
    with pytest.raises(InvalidKeyError):
        KeySet([public, public])


@pytest.mark.parametrize("jwks", [[], {"keys": {}}, {"keys": "x"}, {}, "keys"])
def test_jwks_shape(jwks: Any) -> None:
    """A JWKS is an object with a keys array; anything else is invalid_key."""
    with pytest.raises(InvalidKeyError):
        KeySet.from_jwks(jwks)


# --------------------------------------------------------------------------- invalid JWKs


def _ed25519() -> dict[str, Any]:
    return _public(generate_key("EdDSA").to_jwk())


def _p256() -> dict[str, Any]:
    return _public(generate_key("ES256").to_jwk())


def test_kid_not_thumbprint() -> None:
    """CONV-045: a JWK whose kid is not its thumbprint is invalid_key, alone or in a JWKS."""
    jwk = {**_ed25519(), "kid": thumbprint(_ed25519())}
    with pytest.raises(InvalidKeyError, match="CONV-045"):
        load_public_jwk(jwk)
    with pytest.raises(InvalidKeyError):
        KeySet.from_jwks({"keys": [jwk]})
    private = generate_key().to_jwk()
    with pytest.raises(InvalidKeyError):
        load_private_jwk({**private, "kid": "not-a-thumbprint"})


def _bad_jwks() -> list[tuple[str, Any]]:
    ed, ec_key = _ed25519(), _p256()
    x33 = b64encode(b64decode(ed["x"]) + b"\0")
    return [
        ("not an object", ["OKP", "Ed25519"]),
        ("a string", "OKP"),
        ("kty RSA", {"kty": "RSA", "n": "AQAB", "e": "AQAB"}),
        ("kty oct", {"kty": "oct", "k": "c2VjcmV0"}),
        ("no kty", {k: v for k, v in ed.items() if k != "kty"}),
        ("curve Ed448", {**ed, "crv": "Ed448"}),
        ("curve X25519", {**ed, "crv": "X25519"}),
        ("curve P-384", {**ec_key, "crv": "P-384"}),
        ("curve secp256k1", {**ec_key, "crv": "secp256k1"}),
        ("kty EC with an Ed25519 curve", {**ed, "kty": "EC"}),
        ("kty OKP with curve P-256", {**ec_key, "kty": "OKP"}),
        ("x of 31 bytes", {**ed, "x": b64encode(b64decode(ed["x"])[:31])}),
        ("x of 33 bytes", {**ed, "x": x33}),
        ("x missing", {"kty": "OKP", "crv": "Ed25519"}),
        ("x not a string", {**ed, "x": 5}),
        ("x padded", {**ed, "x": ed["x"] + "="}),
        ("x standard base64", {**ed, "x": ed["x"].replace("-", "+").replace("_", "/") + "+"}),
        ("y missing", {k: v for k, v in ec_key.items() if k != "y"}),
        ("y of 31 bytes", {**ec_key, "y": b64encode(b64decode(ec_key["y"])[:31])}),
        ("P-256 point not on the curve", {**ec_key, "x": _coordinate(1), "y": _coordinate(1)}),
        ("P-256 y of another point", {**ec_key, "y": _coordinate(P256_X0_Y)}),
        ("alg ES256 on an Ed25519 key", {**ed, "alg": "ES256"}),
        ("alg EdDSA on a P-256 key", {**ec_key, "alg": "EdDSA"}),
        ("alg Ed25519", {**ed, "alg": "Ed25519"}),
        ("use enc", {**ed, "use": "enc"}),
        ("nbf not an integer", {**ed, "nbf": "1"}),
        ("exp before nbf", {**ed, "nbf": 10, "exp": 10}),
        ("revoked not an object", {**ed, "revoked": 10}),
    ]


@pytest.mark.parametrize(("why", "jwk"), _bad_jwks(), ids=[why for why, _ in _bad_jwks()])
def test_invalid_public_jwk(why: str, jwk: Any) -> None:
    """CONV-042/CONV-044/CONV-070: wrong kty, curve, alg or use, wrong coordinate length or
    encoding, or a point not on the curve: invalid_key, never a foreign exception."""
    with pytest.raises(InvalidKeyError) as info:
        load_public_jwk(jwk)
    assert info.value.code == "invalid_key"
    assert info.value.message


def test_ed25519_point_not_on_curve() -> None:
    """CONV-070 (Ed25519 per RFC 8032): x = 02 00..00 decodes to no curve point (y = 2 has no
    x with -x^2 + y^2 = 1 + d x^2 y^2), so the JWK does not describe an Ed25519 public key and
    must be refused with invalid_key; such a key can never verify anything."""
    jwk = {"kty": "OKP", "crv": "Ed25519", "x": b64encode(bytes([2]) + bytes(31))}
    with pytest.raises(InvalidKeyError):
        load_public_jwk(jwk)


def test_ed25519_small_order_key_refused() -> None:
    """CONV-070, attack: the Ed25519 identity point (x = 01 00..00) is a small-order public key
    under which R = identity, S = 0 is a valid signature of every message. A provider that
    publishes such a key can disown whatever is "signed" with it, and anyone can forge its
    documents. The key must be refused with invalid_key."""
    identity = bytes([1]) + bytes(31)
    jwk = {"kty": "OKP", "crv": "Ed25519", "x": b64encode(identity)}
    try:
        key = load_public_jwk(jwk)
    except InvalidKeyError:
        return
    forged = identity + bytes(32)
    pytest.fail(
        "a small-order Ed25519 public key was accepted; the forged signature R = identity, "
        f"S = 0 verifies an arbitrary message: {key.verify(forged, b'any message')}"
    )


def test_p256_coordinate_not_reduced() -> None:
    """CONV-045: a P-256 coordinate must be less than the field prime p. (0, y) is a curve
    point; x written as p (32 bytes) names the same point with another thumbprint, so one key
    would have two kids. The JWK must be refused with invalid_key."""
    canonical = {"kty": "EC", "crv": "P-256", "x": _coordinate(0), "y": _coordinate(P256_X0_Y)}
    assert load_public_jwk(canonical).kid == thumbprint(canonical)
    with pytest.raises(InvalidKeyError):
        load_public_jwk({**canonical, "x": _coordinate(P256_P)})


@pytest.mark.parametrize("alg", ALGS)
def test_private_d_not_matching_public(alg: str) -> None:
    """CONV-045: a private JWK whose d belongs to another key is invalid_key."""
    jwk = generate_key(alg).to_jwk()
    other = generate_key(alg).to_jwk()
    with pytest.raises(InvalidKeyError, match="does not match"):
        load_private_jwk({**jwk, "d": other["d"]})


@pytest.mark.parametrize("d", [0, P256_N, P256_N + 1])
def test_p256_private_scalar_out_of_range(d: int) -> None:
    """CONV-042: a P-256 private scalar must be in 1..n-1; else invalid_key."""
    jwk = generate_key("ES256").to_jwk()
    with pytest.raises(InvalidKeyError):
        load_private_jwk({**jwk, "d": _coordinate(d % 2**256)})


@pytest.mark.parametrize("alg", ALGS)
def test_private_jwk_bad_d(alg: str) -> None:
    """A missing d, or a d of the wrong length, is invalid_key."""
    jwk = generate_key(alg).to_jwk()
    with pytest.raises(InvalidKeyError):
        load_private_jwk({k: v for k, v in jwk.items() if k != "d"})
    with pytest.raises(InvalidKeyError):
        load_private_jwk({**jwk, "d": b64encode(b64decode(jwk["d"]) + b"\0")})
    with pytest.raises(InvalidKeyError):
        load_private_jwk({**jwk, "d": 7})


def test_p256_key_from_cryptography_point() -> None:
    """CONV-042, CONV-073: a P-256 JWK made from the curve point of a cryptography key verifies
    that key's low-S ES256 signatures (coordinates as 32-byte big-endian). ECDSA itself accepts
    both twins (r, s) and (r, n - s); tokenfed accepts only the one with s <= (n - 1) / 2."""
    private = ec.derive_private_key(0x7A11CE, ec.SECP256R1())
    numbers = private.public_key().public_numbers()
    jwk = {"kty": "EC", "crv": "P-256", "x": _coordinate(numbers.x), "y": _coordinate(numbers.y)}
    key = load_public_jwk(jwk)
    assert key.alg == "ES256"
    ecdsa = ec.ECDSA(hashes.SHA256(), deterministic_signing=True)
    r, s = decode_dss_signature(private.sign(b"msg", ecdsa))
    low, high = min(s, P256_N - s), max(s, P256_N - s)
    for twin in (low, high):
        private.public_key().verify(encode_dss_signature(r, twin), b"msg", ecdsa)
    assert key.verify(r.to_bytes(32, "big") + low.to_bytes(32, "big"), b"msg")
    assert not key.verify(r.to_bytes(32, "big") + high.to_bytes(32, "big"), b"msg")


# --------------------------------------------------------------------------- exact signature rules


class _HighSSigner:
    """Stands in for a cryptography P-256 key whose ECDSA signing yields a high-S signature."""

    def __init__(self, private: ec.EllipticCurvePrivateKey) -> None:
        self._private = private

    def public_key(self) -> ec.EllipticCurvePublicKey:
        return self._private.public_key()

    def sign(self, data: bytes, algorithm: ec.EllipticCurveSignatureAlgorithm) -> bytes:
        deterministic = ec.ECDSA(hashes.SHA256(), deterministic_signing=True)
        r, s = decode_dss_signature(self._private.sign(data, deterministic))
        return encode_dss_signature(r, max(s, P256_N - s))


def test_es256_signing_normalizes_to_low_s() -> None:
    """CONV-072: when ECDSA yields s > (n - 1) / 2, PrivateKey.sign writes n - s instead; the
    result verifies under tokenfed's rule (the backend's signature is made high-S here so that
    the normalization is exercised every run)."""
    private = ec.derive_private_key(0x5EED, ec.SECP256R1())
    signer = PrivateKey(_HighSSigner(private), "ES256")  # type: ignore[arg-type]
    signature = signer.sign(b"signing input")
    r, s = int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
    assert s <= P256_N // 2
    high = _HighSSigner(private).sign(b"signing input", ec.ECDSA(hashes.SHA256()))
    assert decode_dss_signature(high) == (r, P256_N - s)
    assert signer.public_key().verify(signature, b"signing input")


def _es256_fixture() -> tuple[PublicKey, int, int]:
    """A P-256 key and the low-S (r, s) of its deterministic signature of b"msg"."""
    private = ec.derive_private_key(0xC0FFEE, ec.SECP256R1())
    ecdsa = ec.ECDSA(hashes.SHA256(), deterministic_signing=True)
    r, s = decode_dss_signature(private.sign(b"msg", ecdsa))
    return PrivateKey(private, "ES256").public_key(), r, min(s, P256_N - s)


@pytest.mark.parametrize(
    ("why", "r_of", "s_of"),
    [
        ("high-S twin", lambda r: r, lambda s: P256_N - s),
        ("s = 0", lambda r: r, lambda s: 0),
        ("s = n", lambda r: r, lambda s: P256_N),
        ("s = (n + 1) / 2, one above the low-S bound", lambda r: r, lambda s: P256_N // 2 + 1),
        ("r = 0", lambda r: 0, lambda s: s),
        ("r = n", lambda r: P256_N, lambda s: s),
        ("r = 2^256 - 1", lambda r: 2**256 - 1, lambda s: s),
    ],
)
def test_es256_out_of_range_refused(why: str, r_of: Any, s_of: Any) -> None:
    """CONV-073: r outside 1..n - 1 or s outside 1..(n - 1) / 2 is refused (False); the
    genuine low-S signature verifies."""
    key, r, s = _es256_fixture()
    assert key.verify(r.to_bytes(32, "big") + s.to_bytes(32, "big"), b"msg")
    bad_r, bad_s = r_of(r) % 2**256, s_of(s) % 2**256
    assert not key.verify(bad_r.to_bytes(32, "big") + bad_s.to_bytes(32, "big"), b"msg"), why


ED_P = 2**255 - 19
ED_L = 2**252 + 27742317777372353535851937790883648493
ED_D = -121665 * pow(121666, -1, ED_P) % ED_P


def _ed_add(left: tuple[int, int], right: tuple[int, int]) -> tuple[int, int]:
    (x1, y1), (x2, y2) = left, right
    t = ED_D * x1 * x2 * y1 * y2 % ED_P
    return (
        (x1 * y2 + x2 * y1) * pow(1 + t, -1, ED_P) % ED_P,
        (y1 * y2 + x1 * x2) * pow(1 - t, -1, ED_P) % ED_P,
    )


def _ed_x(y: int) -> int | None:
    """An x with (x, y) on Ed25519, or None (RFC 8032 section 5.1.3)."""
    u, v = (y * y - 1) % ED_P, (ED_D * y * y + 1) % ED_P
    x_squared = u * pow(v, -1, ED_P) % ED_P
    x = pow(x_squared, (ED_P + 3) // 8, ED_P)
    if x * x % ED_P != x_squared:
        x = x * pow(2, (ED_P - 1) // 4, ED_P) % ED_P
    return x if x * x % ED_P == x_squared else None


def _small_order_encodings() -> set[bytes]:
    """Every 32-byte string that a lenient decoder (y taken mod p, sign of x = 0 ignored) reads
    as a point of order 1, 2, 4 or 8, derived here from the curve equation: the torsion
    points are [L]P for points P of the whole group (the cofactor kills the prime part)."""
    torsion = {(0, 1)}
    y = 2
    while len(torsion) < 8:
        x = _ed_x(y)
        if x is not None:
            point, scalar, multiple = (x, y), ED_L, (0, 1)
            while scalar:
                if scalar & 1:
                    multiple = _ed_add(multiple, point)
                point = _ed_add(point, point)
                scalar >>= 1
            torsion |= {multiple, (-multiple[0] % ED_P, multiple[1])}
        y += 1
    encodings = set()
    for x, y in torsion:
        for y_written in (y, y + ED_P):
            for sign in {x & 1, 1 if x == 0 else x & 1}:
                if y_written < 2**255:
                    encodings.add((y_written | sign << 255).to_bytes(32, "little"))
    return encodings


SMALL_ORDER = sorted(_small_order_encodings())


def test_small_order_blocklist_is_complete() -> None:
    """CONV-071: the SDK's fixed list of small-order encodings is exactly the set derived from
    the curve equation (14 byte strings: 7 values of y, each with either sign bit), and is the
    table of the spec."""
    assert len(SMALL_ORDER) == 14
    listed = {
        y[:31] + bytes([y[31] | sign])
        for y in keys_module._ED25519_SMALL_ORDER_Y
        for sign in (0, 0x80)
    }
    assert listed == set(SMALL_ORDER)
    spec = (spec_dir() / "conventions.md").read_text(encoding="utf-8")
    assert all(y.hex() in spec for y in keys_module._ED25519_SMALL_ORDER_Y)


@pytest.mark.parametrize(
    "encoded", SMALL_ORDER, ids=[e.hex()[:8] + e.hex()[-2:] for e in SMALL_ORDER]
)
def test_ed25519_small_order_keys_refused(encoded: bytes) -> None:
    """CONV-070: every encoding of a small-order point, canonical or not, is refused as a key
    with invalid_key (and libsodium's point validation refuses it too)."""
    assert not crypto_core_ed25519_is_valid_point(encoded)
    with pytest.raises(InvalidKeyError) as info:
        load_public_jwk({"kty": "OKP", "crv": "Ed25519", "x": b64encode(encoded)})
    assert info.value.code == "invalid_key"
    assert "CONV-070" in info.value.message


def _provider_a() -> PrivateKey:
    return load_private_jwk(_published()["keys"]["provider-a"])


@pytest.mark.parametrize(
    "torsion",
    [
        e
        for e in SMALL_ORDER
        if e[31] < 0x80 and e != bytes([1]) + bytes(31) and int.from_bytes(e, "little") < ED_P
    ],
)
def test_ed25519_mixed_order_keys_refused(torsion: bytes) -> None:
    """CONV-070: a valid key plus a point of order 2, 4 or 8 (a mixed-order point) is on the
    curve and canonically encoded, but not in the prime-order subgroup: invalid_key."""
    valid = b64decode(_provider_a().public_key().to_jwk()["x"])
    mixed = crypto_core_ed25519_add(valid, torsion)
    with pytest.raises(InvalidKeyError, match="prime-order subgroup"):
        load_public_jwk({"kty": "OKP", "crv": "Ed25519", "x": b64encode(mixed)})


def test_ed25519_non_canonical_keys_refused() -> None:
    """CONV-070: every y >= p that names a curve point (y = p + 0..18) is refused with
    invalid_key; the small-order ones for their order, the others as non-canonical."""
    on_curve = [k for k in range(19) if _ed_x(k) is not None]
    assert on_curve
    for k in on_curve:
        encoded = (ED_P + k).to_bytes(32, "little")
        with pytest.raises(InvalidKeyError) as info:
            load_public_jwk({"kty": "OKP", "crv": "Ed25519", "x": b64encode(encoded)})
        if encoded not in SMALL_ORDER:
            assert "not canonically encoded" in info.value.message


def _secret_scalar(key: PrivateKey) -> int:
    digest = hashlib.sha512(b64decode(key.to_jwk()["d"])).digest()
    return (int.from_bytes(digest[:32], "little") & ((1 << 254) - 8)) | (1 << 254)


def test_ed25519_identity_r_refused_where_openssl_accepts() -> None:
    """CONV-071: R = identity and S = k * a mod L satisfies the cofactorless equation, and
    OpenSSL (through cryptography, called directly here) accepts it; libsodium refuses it, and
    so does tokenfed, whose small-order pre-check makes the two agree."""
    signer = _provider_a()
    public = b64decode(signer.public_key().to_jwk()["x"])
    identity = bytes([1]) + bytes(31)
    k = int.from_bytes(hashlib.sha512(identity + public + b"msg").digest(), "little") % ED_L
    forged = identity + (k * _secret_scalar(signer) % ED_L).to_bytes(32, "little")
    Ed25519PublicKey.from_public_bytes(public).verify(forged, b"msg")  # OpenSSL accepts
    with pytest.raises(nacl.exceptions.BadSignatureError):
        crypto_sign_open(forged + b"msg", public)
    assert not signer.public_key().verify(forged, b"msg")


def test_ed25519_s_plus_l_refused_by_openssl_too() -> None:
    """CONV-071: S + L (still below 2^256) is refused by OpenSSL itself and by tokenfed's own
    pre-check; the genuine signature verifies."""
    signer = _provider_a()
    public = b64decode(signer.public_key().to_jwk()["x"])
    signature = signer.sign(b"msg")
    s_plus_l = int.from_bytes(signature[32:], "little") + ED_L
    assert s_plus_l < 2**256
    malleated = signature[:32] + s_plus_l.to_bytes(32, "little")
    with pytest.raises(InvalidSignature):
        Ed25519PublicKey.from_public_bytes(public).verify(malleated, b"msg")
    assert signer.public_key().verify(signature, b"msg")
    assert not signer.public_key().verify(malleated, b"msg")


@pytest.mark.parametrize(
    "encoded", SMALL_ORDER, ids=[e.hex()[:8] + e.hex()[-2:] for e in SMALL_ORDER]
)
def test_ed25519_small_order_r_refused(encoded: bytes) -> None:
    """CONV-071: a signature whose R is any encoding of a small-order point is refused, with
    S = 0 or with S = k * a (the only S that can satisfy the equation when R is the identity).
    OpenSSL alone (called directly) accepts exactly one of these: the canonical identity with
    S = k * a; its byte-for-byte comparison refuses the other encodings. libsodium refuses all."""
    signer = _provider_a()
    public = b64decode(signer.public_key().to_jwk()["x"])
    openssl = Ed25519PublicKey.from_public_bytes(public)
    k = int.from_bytes(hashlib.sha512(encoded + public + b"msg").digest(), "little") % ED_L
    for s in (0, k * _secret_scalar(signer) % ED_L):
        signature = encoded + s.to_bytes(32, "little")
        try:
            openssl.verify(signature, b"msg")
            openssl_accepts = True
        except InvalidSignature:
            openssl_accepts = False
        assert openssl_accepts == (encoded == bytes([1]) + bytes(31) and s != 0)
        with pytest.raises(nacl.exceptions.BadSignatureError):
            crypto_sign_open(signature + b"msg", public)
        assert not signer.public_key().verify(signature, b"msg")


# --------------------------------------------------------------------------- validity windows


def test_validity_window_boundaries() -> None:
    """REC-030/REC-031: nbf is inclusive, exp exclusive, revoked_at exclusive."""
    window = KeyValidity(nbf=100, exp=200)
    assert [window.is_valid_at(t) for t in (99, 100, 199, 200)] == [False, True, True, False]
    revoked = KeyValidity(nbf=100, exp=200, revoked_at=150, reason="key compromise")
    assert [revoked.is_valid_at(t) for t in (100, 149, 150, 151)] == [True, True, False, False]
    assert KeyValidity().is_valid_at(0)
    assert KeyValidity().is_valid_at(2**53 - 1)
    assert KeyValidity(exp=5).is_valid_at(4)
    assert not KeyValidity(exp=5).is_valid_at(5)


@pytest.mark.parametrize(
    ("validity", "t", "words", "valid_t"),
    [
        (KeyValidity(nbf=100), 99, "not valid before 100", 100),
        (KeyValidity(nbf=100, exp=200), 200, "expired at 200", 199),
        (KeyValidity(nbf=100, revoked_at=150, reason="compromise"), 150, "revoked at 150", 149),
    ],
)
def test_validity_check_raises_key_not_valid(
    validity: KeyValidity, t: int, words: str, valid_t: int
) -> None:
    """REC-031: outside its window a key gives key_not_valid, and the message says why."""
    with pytest.raises(KeyNotValidError) as info:
        validity.check(t, "kid-1")
    assert info.value.code == "key_not_valid"
    assert words in info.value.message
    assert "kid-1" in info.value.message
    if validity.reason:
        assert validity.reason in info.value.message
    validity.check(valid_t, "kid-1")


@given(
    nbf=st.one_of(st.none(), st.integers(0, 1000)),
    length=st.integers(1, 1000),
    has_exp=st.booleans(),
    revoked_at=st.one_of(st.none(), st.integers(0, 2000)),
    t=st.integers(0, 3000),
)
def test_validity_window_property(
    nbf: int | None, length: int, has_exp: bool, revoked_at: int | None, t: int
) -> None:
    """REC-031: a key is valid at t exactly when nbf <= t, t < exp and t < revoked_at, and
    check() raises key_not_valid exactly when it is not."""
    exp = (nbf or 0) + length if has_exp else None
    window = KeyValidity(nbf=nbf, exp=exp, revoked_at=revoked_at)
    expected = (
        (nbf is None or nbf <= t)
        and (exp is None or t < exp)
        and (revoked_at is None or t < revoked_at)
    )
    assert window.is_valid_at(t) is expected
    if expected:
        window.check(t, "k")
    else:
        with pytest.raises(KeyNotValidError):
            window.check(t, "k")


def test_validity_jwk_members_round_trip() -> None:
    """REC-030: nbf, exp and revoked {revoked_at, reason} are JWK members and load back."""
    window = KeyValidity(nbf=1767225600, exp=1798761600, revoked_at=1790000000, reason="rotated")
    members = window.to_members()
    assert members == {
        "nbf": 1767225600,
        "exp": 1798761600,
        "revoked": {"revoked_at": 1790000000, "reason": "rotated"},
    }
    assert KeyValidity.from_members(members) == window
    public = generate_key().public_key(window)
    loaded = load_public_jwk(public.to_jwk())
    assert loaded.validity == window
    assert "nbf" not in public.to_jwk(with_validity=False)
    assert public.with_validity(KeyValidity()).validity == KeyValidity()


@pytest.mark.parametrize(
    "members",
    [
        {"nbf": -1},
        {"nbf": True},
        {"nbf": "100"},
        {"exp": 1.5},
        {"nbf": 200, "exp": 100},
        {"revoked": {"reason": "lost"}},
        {"revoked": {"revoked_at": "1"}},
        {"revoked": {"revoked_at": 1, "reason": 5}},
        {"revoked": [1]},
    ],
)
def test_validity_members_invalid(members: dict[str, Any]) -> None:
    """REC-030: malformed validity members are invalid_key."""
    with pytest.raises(InvalidKeyError):
        KeyValidity.from_members(members)


@pytest.mark.parametrize(("why", "jwk"), _bad_jwks(), ids=[why for why, _ in _bad_jwks()])
def test_load_jwk_errors_are_tokenfed_errors(why: str, jwk: Any) -> None:
    """Rule 3: load_jwk (public or private path) raises a TokenfedError with the invalid_key
    code for every bad JWK, never a foreign exception."""
    with pytest.raises(TokenfedError) as info:
        load_jwk(jwk)
    assert info.value.code == "invalid_key", why


@pytest.mark.parametrize(
    "members",
    [{"exp": None}, {"nbf": None}, {"revoked": None}, {"revoked": {"revoked_at": None}},
     {"revoked": {"revoked_at": 5, "reason": None}}, {"exp": 2**53}, {"nbf": True}],
)  # fmt: skip
def test_validity_members_present_must_be_well_formed(members: dict[str, object]) -> None:
    """REC-030, REC-034: a validity member that is present is a NumericDate (or a revoked
    object with one); null is not absence, and the key is refused with invalid_key."""
    jwk = {**generate_key().public_key().to_jwk(), "nbf": 1, **members}
    with pytest.raises(InvalidKeyError):
        load_public_jwk(jwk)
