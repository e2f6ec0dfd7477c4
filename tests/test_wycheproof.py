"""Wycheproof signature-verification vectors through ``tokenfed.keys.PublicKey.verify``.

Requirements: CONV-049 (Ed25519 per RFC 8032 section 5.1.7, ES256 as a 64-byte ``r || s``),
CONV-042 (both algorithms). Keys are loaded from JWKs built from the groups' raw public keys
with ``load_public_jwk``. A ``valid`` case must verify and an ``invalid`` one must not;
``acceptable`` cases (none in these files) would be recorded either way. Provenance and the
reductions made to the files: tests/data/wycheproof/README.md.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tokenfed._b64 import b64encode
from tokenfed.keys import PublicKey, load_public_jwk

DATA = Path(__file__).resolve().parent / "data" / "wycheproof"
FILES = {
    "EdDSA": DATA / "ed25519_test.json",
    "ES256": DATA / "ecdsa_secp256r1_sha256_p1363_test.json",
}


def _load(alg: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(FILES[alg].read_text(encoding="utf-8"))
    return data


def _coordinate(hex_value: str) -> str:
    """A Wycheproof coordinate (big-endian hex, maybe with a leading 00) as a 32-byte JWK value."""
    return b64encode(int(hex_value, 16).to_bytes(32, "big"))


def _key(alg: str, group: dict[str, Any]) -> PublicKey:
    public = group["publicKey"]
    if alg == "EdDSA":
        jwk = {"kty": "OKP", "crv": "Ed25519", "x": b64encode(bytes.fromhex(public["pk"]))}
    else:
        jwk = {
            "kty": "EC",
            "crv": "P-256",
            "x": _coordinate(public["wx"]),
            "y": _coordinate(public["wy"]),
        }
    key = load_public_jwk(jwk)
    assert key.alg == alg
    return key


def _cases(alg: str) -> list[tuple[str, PublicKey, dict[str, Any]]]:
    cases = []
    for group in _load(alg)["testGroups"]:
        key = _key(alg, group)
        cases.extend((alg, key, test) for test in group["tests"])
    return cases


CASES = _cases("EdDSA") + _cases("ES256")


@pytest.mark.parametrize(
    ("alg", "key", "test"),
    CASES,
    ids=[f"{alg}-{test['tcId']}" for alg, _, test in CASES],
)
def test_wycheproof_case(alg: str, key: PublicKey, test: dict[str, Any]) -> None:
    """CONV-049: valid signatures verify; invalid ones (wrong length, r or s out of range,
    S >= L, non-canonical R, special points...) are refused, by returning False, never by an
    exception."""
    verified = key.verify(bytes.fromhex(test["sig"]), bytes.fromhex(test["msg"]))
    assert isinstance(verified, bool)
    if test["result"] == "valid":
        assert verified, f"{alg} tcId {test['tcId']} ({test['comment']}) must verify"
    elif test["result"] == "invalid":
        assert not verified, f"{alg} tcId {test['tcId']} ({test['comment']}) must not verify"


@pytest.mark.parametrize("alg", sorted(FILES))
def test_wycheproof_file_is_complete(alg: str) -> None:
    """The copies keep every case: numberOfTests cases with tcId 1..N, and report the split of
    results (CONV-049 coverage)."""
    data = _load(alg)
    ids = [test["tcId"] for group in data["testGroups"] for test in group["tests"]]
    assert sorted(ids) == list(range(1, data["numberOfTests"] + 1))
    results = Counter(test["result"] for group in data["testGroups"] for test in group["tests"])
    assert set(results) <= {"valid", "invalid", "acceptable"}
    expected = {"EdDSA": {"valid": 88, "invalid": 63}, "ES256": {"valid": 169, "invalid": 83}}
    assert dict(results) == expected[alg]


def test_wycheproof_acceptable_cases_are_recorded() -> None:
    """Acceptable cases (allowed either way) are listed with what tokenfed does, so a change of
    behaviour shows up in review; these files have none."""
    acceptable = {
        f"{alg}-{test['tcId']}": key.verify(bytes.fromhex(test["sig"]), bytes.fromhex(test["msg"]))
        for alg, key, test in CASES
        if test["result"] == "acceptable"
    }
    assert acceptable == {}
