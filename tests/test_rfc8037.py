"""RFC 8037 appendix A (Ed25519 in JOSE) through tokenfed's key and signature layer.

Values are those printed in RFC 8037 appendix A.1-A.5. They were cross-checked against
independent published test suites (potatosalad/erlang-jose, test/jose_SUITE_data/
jose_cfrg_curves/a.1.jwk+json, a.1.config and a.3.config, which also give the raw key bytes
and the thumbprint's SHA-256 in hex; and several JOSE libraries' RFC 8037 A.4 tests with the
same compact JWS). The A.1 key is the key of RFC 8032 section 7.1, TEST 1.

Requirements: CONV-042 (EdDSA with Ed25519 is mandatory), CONV-045 (kid = RFC 7638 thumbprint),
CONV-049 (Ed25519 per RFC 8032 over the ASCII signing input), CONV-043 (a tokenfed receiver
still requires typ, which the RFC's example lacks).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from tokenfed import jws
from tokenfed._b64 import b64decode, b64encode
from tokenfed.errors import MalformedError, UnsupportedTypError
from tokenfed.keys import load_private_jwk, load_public_jwk, thumbprint
from tokenfed_conformance.vectors import spec_dir

# A.1: Ed25519 private key.
A1_PRIVATE_JWK = {
    "kty": "OKP",
    "crv": "Ed25519",
    "d": "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A",
    "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo",
}
A1_D_HEX = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"
A1_X_HEX = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
# A.2: the public half.
A2_PUBLIC_JWK = {"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}
# A.3: thumbprint canonicalization.
A3_CANONICAL = '{"crv":"Ed25519","kty":"OKP","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}'
A3_SHA256_HEX = "90facafea9b1556698540f70c0117a22ea37bd5cf3ed3c47093c1707282b4b89"
A3_THUMBPRINT = "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
# A.4: Ed25519 signing of "Example of Ed25519 signing" with protected header {"alg":"EdDSA"}.
A4_HEADER = '{"alg":"EdDSA"}'
A4_PAYLOAD = "Example of Ed25519 signing"
A4_SIGNING_INPUT = "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc"
A4_SIGNATURE = (
    "hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg"
)
A4_COMPACT = A4_SIGNING_INPUT + "." + A4_SIGNATURE


def _test_keys_path() -> Path:
    """The published test keys (spec/test-keys.json)."""
    return spec_dir() / "test-keys.json"


def test_a1_private_key() -> None:
    """CONV-042: the A.1 JWK loads as an EdDSA signing key; d and x are the RFC 8032 TEST 1
    bytes, and x is the public key of d."""
    key = load_private_jwk(A1_PRIVATE_JWK)
    assert key.alg == "EdDSA"
    assert b64decode(A1_PRIVATE_JWK["d"]).hex() == A1_D_HEX
    assert b64decode(A1_PRIVATE_JWK["x"]).hex() == A1_X_HEX
    jwk = key.to_jwk()
    assert (jwk["d"], jwk["x"]) == (A1_PRIVATE_JWK["d"], A1_PRIVATE_JWK["x"])


def test_a2_public_key() -> None:
    """CONV-042: the A.2 JWK is the public half of A.1."""
    public = load_public_jwk(A2_PUBLIC_JWK)
    assert public.alg == "EdDSA"
    reduced = load_private_jwk(A1_PRIVATE_JWK).public_key().to_jwk()
    assert {k: reduced[k] for k in ("kty", "crv", "x")} == A2_PUBLIC_JWK


def test_a3_thumbprint() -> None:
    """CONV-045: A.3: the canonical members, their SHA-256, and the base64url thumbprint, which
    tokenfed uses as the kid of both A.1 and A.2."""
    canonical = json.dumps(
        {k: A2_PUBLIC_JWK[k] for k in ("crv", "kty", "x")}, separators=(",", ":"), sort_keys=True
    )
    assert canonical == A3_CANONICAL
    assert hashlib.sha256(canonical.encode()).hexdigest() == A3_SHA256_HEX
    assert b64encode(bytes.fromhex(A3_SHA256_HEX)) == A3_THUMBPRINT
    assert thumbprint(A2_PUBLIC_JWK) == A3_THUMBPRINT
    assert load_public_jwk(A2_PUBLIC_JWK).kid == A3_THUMBPRINT
    assert load_private_jwk(A1_PRIVATE_JWK).kid == A3_THUMBPRINT


def test_a4_signing() -> None:
    """CONV-049: A.4: signing the ASCII signing input with the A.1 key gives exactly the RFC's
    signature (Ed25519 is deterministic), hence exactly the RFC's compact JWS."""
    assert b64encode(A4_HEADER.encode()) + "." + b64encode(A4_PAYLOAD.encode()) == (
        A4_SIGNING_INPUT
    )
    key = load_private_jwk(A1_PRIVATE_JWK)
    signature = key.sign(A4_SIGNING_INPUT.encode("ascii"))
    assert len(signature) == 64
    assert b64encode(signature) == A4_SIGNATURE
    assert A4_SIGNING_INPUT + "." + b64encode(signature) == A4_COMPACT


def test_a5_verification() -> None:
    """CONV-049: A.5: the A.4 signature verifies with the A.2 public key; any change to the
    signing input or the signature makes it fail."""
    public = load_public_jwk(A2_PUBLIC_JWK)
    signature = b64decode(A4_SIGNATURE)
    signing_input = A4_SIGNING_INPUT.encode("ascii")
    assert public.verify(signature, signing_input)
    for i in (0, 31, 32, 63):
        flipped = bytearray(signature)
        flipped[i] ^= 0x01
        assert not public.verify(bytes(flipped), signing_input)
    assert not public.verify(signature, signing_input + b"x")
    assert not public.verify(signature, signing_input.replace(b"RXhh", b"RXhi"))
    assert not public.verify(signature[:63], signing_input)


def test_a4_compact_needs_typ_in_tokenfed() -> None:
    """CONV-043: the RFC's compact JWS has no typ and a payload that is not JSON; tokenfed's
    document layer refuses it rather than guessing a kind (the payload check comes first and
    refuses the non-JSON payload as malformed)."""
    key = load_public_jwk(A2_PUBLIC_JWK)
    with pytest.raises(MalformedError):
        jws.verify(A4_COMPACT, jws.TYP_RATE_CARD, key)
    # With a JSON payload and still no typ, the typ step refuses it.
    signer = load_private_jwk(A1_PRIVATE_JWK)
    header = b64encode(b'{"alg":"EdDSA","kid":"' + A3_THUMBPRINT.encode() + b'"}')
    payload = b64encode(b'{"msg":"Example of Ed25519 signing"}')
    token = f"{header}.{payload}"
    token += "." + b64encode(signer.sign(token.encode("ascii")))
    with pytest.raises(UnsupportedTypError):
        jws.verify(token, jws.TYP_RATE_CARD, key)


def test_published_test_key_is_a1() -> None:
    """The published test key rfc8037-a1 is the A.1 key, with kid = the A.3 thumbprint."""
    data = json.loads(_test_keys_path().read_text(encoding="utf-8"))
    jwk = data["keys"]["rfc8037-a1"]
    assert {k: jwk[k] for k in A1_PRIVATE_JWK} == A1_PRIVATE_JWK
    assert jwk["kid"] == A3_THUMBPRINT
