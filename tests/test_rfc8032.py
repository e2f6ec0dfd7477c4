"""RFC 8032 section 7.1 (Ed25519 test vectors), and libsodium agreeing with tokenfed's Ed25519.

The data file tests/data/rfc8032/ed25519_section_7_1.json holds the five tests of RFC 8032
section 7.1 (TEST 1, 2, 3, 1024 and SHA(abc)): secret key (seed), public key, message and
signature; its provenance is in tests/data/rfc8032/README.md. Ed25519 is deterministic, so
signing each message with its seed must give exactly the published signature.

The agreement test runs every Ed25519 case this project holds (RFC 8032, Wycheproof, and every
EdDSA signature in spec/vectors/*.json) through libsodium's verification (PyNaCl's
``crypto_sign_open``, which checks the detached signature with ``crypto_sign_verify_detached``)
and through ``tokenfed.keys.PublicKey.verify`` (OpenSSL through ``cryptography``, after
tokenfed's own S < L and small-order R checks), and requires the same answer for each.

Requirements: CONV-049 (Ed25519 per RFC 8032 section 5.1.7), CONV-071 (the exact rule, on which
libsodium and the SDK must agree), CONV-070 (keys refused at load are not compared, see below),
CONV-042 (EdDSA is mandatory).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nacl.exceptions
import pytest
from nacl.bindings import crypto_sign_open

from tokenfed._b64 import b64decode, b64encode
from tokenfed.errors import InvalidKeyError
from tokenfed.keys import PublicKey, load_private_jwk, load_public_jwk, thumbprint
from tokenfed_conformance.vectors import load_test_keys, load_vectors, vector_kinds

# Every case runs on both Ed25519 backends, libsodium and OpenSSL (CONV-071, ADR 0010).
pytestmark = pytest.mark.usefixtures("ed25519_backend")

DATA = Path(__file__).resolve().parent / "data"
RFC8032 = json.loads((DATA / "rfc8032" / "ed25519_section_7_1.json").read_text(encoding="utf-8"))
TESTS: list[dict[str, str]] = RFC8032["tests"]


def _public_jwk(public: bytes) -> dict[str, Any]:
    return {"kty": "OKP", "crv": "Ed25519", "x": b64encode(public)}


def test_data_file_holds_the_five_tests() -> None:
    """The data file keeps the five tests of section 7.1 with 32-byte keys, 64-byte signatures
    and the message lengths the RFC gives (0, 1, 2, 1023 and 64 bytes)."""
    assert [t["name"] for t in TESTS] == [
        "TEST 1",
        "TEST 2",
        "TEST 3",
        "TEST 1024",
        "TEST SHA(abc)",
    ]
    assert [len(bytes.fromhex(t["message"])) for t in TESTS] == [0, 1, 2, 1023, 64]
    for test in TESTS:
        assert len(bytes.fromhex(test["secret_key"])) == 32
        assert len(bytes.fromhex(test["public_key"])) == 32
        assert len(bytes.fromhex(test["signature"])) == 64


@pytest.mark.parametrize("test", TESTS, ids=[t["name"] for t in TESTS])
def test_rfc8032_sign(test: dict[str, str]) -> None:
    """CONV-042, CONV-049: the seed loads as a private JWK whose public half is the published
    public key, and signing the message gives exactly the published signature."""
    jwk = {
        **_public_jwk(bytes.fromhex(test["public_key"])),
        "d": b64encode(bytes.fromhex(test["secret_key"])),
    }
    key = load_private_jwk(jwk)
    assert key.kid == thumbprint(jwk)
    assert key.sign(bytes.fromhex(test["message"])).hex() == test["signature"]


@pytest.mark.parametrize("test", TESTS, ids=[t["name"] for t in TESTS])
def test_rfc8032_verify(test: dict[str, str]) -> None:
    """CONV-049, CONV-071: the published signature verifies under the published public key;
    a change to the message, to R or to S makes it fail."""
    key = load_public_jwk(_public_jwk(bytes.fromhex(test["public_key"])))
    message, signature = bytes.fromhex(test["message"]), bytes.fromhex(test["signature"])
    assert key.verify(signature, message)
    assert not key.verify(signature, message + b"\x00")
    for index in (0, 31, 32, 63):
        changed = bytearray(signature)
        changed[index] ^= 0x01
        assert not key.verify(bytes(changed), message)


# --------------------------------------------------------------------------- libsodium agreement


def _libsodium_verifies(public: bytes, signature: bytes, message: bytes) -> bool:
    """libsodium's verdict. Its detached verification takes exactly 64 signature bytes, so any
    other length is a refusal, as the signature cannot be given to it."""
    if len(signature) != 64:
        return False
    try:
        crypto_sign_open(signature + message, public)
    except nacl.exceptions.BadSignatureError:
        return False
    return True


Case = tuple[str, bytes, bytes, bytes]
"""(name, public key, signature, message)."""


def _wycheproof_cases() -> Iterator[Case]:
    data = json.loads((DATA / "wycheproof" / "ed25519_test.json").read_text(encoding="utf-8"))
    for group in data["testGroups"]:
        public = bytes.fromhex(group["publicKey"]["pk"])
        for test in group["tests"]:
            yield (
                f"wycheproof-{test['tcId']}",
                public,
                bytes.fromhex(test["sig"]),
                bytes.fromhex(test["msg"]),
            )


def _unb64u(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _eddsa_jws(token: str) -> tuple[dict[str, Any], bytes, bytes] | None:
    """(header, signature, signing input) of a compact JWS whose header says EdDSA, or None."""
    parts = token.split(".")
    if len(parts) != 3 or not token.isascii():
        return None
    try:
        header = json.loads(_unb64u(parts[0]))
        signature = _unb64u(parts[2])
    except ValueError:
        return None
    if not isinstance(header, dict) or header.get("alg") != "EdDSA":
        return None
    return header, signature, f"{parts[0]}.{parts[1]}".encode("ascii")


def _published_ed25519() -> dict[str, bytes]:
    """Ed25519 public keys of the published test keys and of the jws fixtures, by name."""
    keys = {
        name: b64decode(jwk["x"])
        for name, jwk in load_test_keys().items()
        if jwk.get("crv") == "Ed25519"
    }
    fixtures = load_vectors("jws").extra["fixtures"]["keys"]
    keys.update(
        {name: _unb64u(jwk["x"]) for name, jwk in fixtures.items() if jwk["crv"] == "Ed25519"}
    )
    return keys


def _vector_cases() -> Iterator[Case]:
    """Every EdDSA signature of the spec's vectors: in jws.json with the key the vector names,
    elsewhere with the published key whose kid the header names."""
    keys = _published_ed25519()
    by_kid = {thumbprint(_public_jwk(public)): public for public in keys.values()}
    for kind in vector_kinds():
        for vector in load_vectors(kind):
            for index, token in enumerate(_strings(vector.input)):
                found = _eddsa_jws(token)
                if found is None:
                    continue
                header, signature, signing_input = found
                if kind == "jws":
                    public: bytes | None = keys.get(vector.input["key"])
                else:
                    public = by_kid.get(str(header.get("kid")))
                if public is not None:
                    yield f"{kind}-{vector.id}-{index}", public, signature, signing_input


def _rfc8032_cases() -> Iterator[Case]:
    for test in TESTS:
        yield (
            f"rfc8032-{test['name']}",
            bytes.fromhex(test["public_key"]),
            bytes.fromhex(test["signature"]),
            bytes.fromhex(test["message"]),
        )


CASES = [*_rfc8032_cases(), *_wycheproof_cases(), *_vector_cases()]


def _sdk_key(public: bytes) -> PublicKey | None:
    try:
        return load_public_jwk(_public_jwk(public))
    except InvalidKeyError:
        return None


@pytest.mark.parametrize(
    ("name", "public", "signature", "message"), CASES, ids=[case[0] for case in CASES]
)
def test_libsodium_and_sdk_agree(
    name: str, public: bytes, signature: bytes, message: bytes
) -> None:
    """CONV-071: libsodium and the SDK give the same verdict on every Ed25519 case. A case whose
    public key CONV-070 refuses at load has no SDK verdict to compare (see the next test)."""
    key = _sdk_key(public)
    if key is None:
        assert name.startswith("jws-key-ed25519-"), f"{name}: only the key vectors hold bad keys"
        return
    assert key.verify(signature, message) == _libsodium_verifies(public, signature, message)


def test_cases_cover_every_source() -> None:
    """The agreement test sees all five RFC 8032 tests, all 151 Wycheproof Ed25519 cases, and
    EdDSA signatures from the jws and receipts vectors, both accepted and refused ones."""
    names = [case[0] for case in CASES]
    assert sum(name.startswith("rfc8032-") for name in names) == 5
    assert sum(name.startswith("wycheproof-") for name in names) == 151
    kinds = {name.split("-")[0] for name in names}
    assert {"jws", "receipts"} <= kinds
    verdicts = {_libsodium_verifies(public, sig, msg) for _, public, sig, msg in CASES}
    assert verdicts == {True, False}


def test_mixed_order_key_libsodium_accepts_what_conv070_refuses() -> None:
    """CONV-070: libsodium's verification checks that the key is canonical and not of small
    order, but not that it lies in the prime-order subgroup: it accepts the mixed-order key
    vector's signature (which satisfies the cofactorless equation). The SDK refuses that key
    when it is loaded, so a mixed-order key never reaches a verifier of either kind."""
    vector = load_vectors("jws").by_id("key-ed25519-mixed-order")
    public = _published_ed25519()[vector.input["key"]]
    found = _eddsa_jws(vector.input["token"])
    assert found is not None
    _, signature, signing_input = found
    assert _libsodium_verifies(public, signature, signing_input)
    assert _sdk_key(public) is None
