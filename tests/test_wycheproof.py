"""Wycheproof signature-verification vectors through ``tokenfed.keys.PublicKey.verify``.

Requirements: CONV-049 (Ed25519 per RFC 8032 section 5.1.7, ES256 as a 64-byte ``r || s``),
CONV-071 (the exact Ed25519 rule), CONV-073 (ES256 low-S and ranges), CONV-070 (the keys load),
CONV-042 (both algorithms). Keys are loaded from JWKs built from the groups' raw public keys
with ``load_public_jwk``. A ``valid`` case must verify and an ``invalid`` one must not, except
the cases listed in tests/data/wycheproof/tokenfed_differences.json, where tokenfed's stricter
rule decides (the high-S ECDSA signatures Wycheproof calls valid are invalid here);
``acceptable`` cases (none in these files) would be recorded either way. Provenance, the
reductions made to the files and the differences: tests/data/wycheproof/README.md.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tokenfed._b64 import b64encode
from tokenfed.keys import PublicKey, load_public_jwk

# Every case runs on both Ed25519 backends, libsodium and OpenSSL (CONV-071, ADR 0010).
pytestmark = pytest.mark.usefixtures("ed25519_backend")

DATA = Path(__file__).resolve().parent / "data" / "wycheproof"
FILES = {
    "EdDSA": DATA / "ed25519_test.json",
    "ES256": DATA / "ecdsa_secp256r1_sha256_p1363_test.json",
}
P256_N = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


def _differences() -> dict[tuple[str, int], dict[str, Any]]:
    """(alg, tcId) -> the entry of tokenfed_differences.json that changes the case's result."""
    data = json.loads((DATA / "tokenfed_differences.json").read_text(encoding="utf-8"))
    found: dict[tuple[str, int], dict[str, Any]] = {}
    for entry in data["differences"]:
        assert FILES[entry["alg"]].name == entry["file"]
        for tc_id in entry["tcIds"]:
            assert (entry["alg"], tc_id) not in found, "a case is listed twice"
            found[(entry["alg"], tc_id)] = entry
    return found


DIFFERENCES = _differences()


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
    """CONV-049, CONV-071, CONV-073: valid signatures verify; invalid ones (wrong length, r or s
    out of range, S >= L, non-canonical R, special points...) are refused, by returning False,
    never by an exception. Where tokenfed's rule is stricter than Wycheproof's (listed in
    tokenfed_differences.json), tokenfed's result is asserted."""
    verified = key.verify(bytes.fromhex(test["sig"]), bytes.fromhex(test["msg"]))
    assert isinstance(verified, bool)
    difference = DIFFERENCES.get((alg, test["tcId"]))
    expected = test["result"] if difference is None else difference["tokenfed"]
    if difference is not None:
        assert test["result"] == difference["wycheproof"]
    why = f"{alg} tcId {test['tcId']} ({test['comment']})"
    if expected == "valid":
        assert verified, f"{why} must verify"
    elif expected == "invalid":
        assert not verified, f"{why} must not verify" + (
            "" if difference is None else f" under {difference['requirement']}"
        )


def test_differences_are_exactly_the_high_s_cases() -> None:
    """CONV-073: the listed differences are exactly the cases Wycheproof calls valid whose s
    exceeds (n - 1) / 2 (computed here from the signatures), and no Ed25519 case differs: the
    exact Ed25519 rule (CONV-071) refuses nothing Wycheproof calls valid."""
    high_s = {
        ("ES256", test["tcId"])
        for group in _load("ES256")["testGroups"]
        for test in group["tests"]
        if test["result"] == "valid"
        and len(sig := bytes.fromhex(test["sig"])) == 64
        and int.from_bytes(sig[32:], "big") > P256_N // 2
    }
    assert set(DIFFERENCES) == high_s
    assert len(high_s) == 67


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
