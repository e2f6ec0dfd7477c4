"""Every receipt vector of spec/vectors/receipts.json through the SDK verifier (REC-040, REC-062).

The expected result of each vector follows from how it was built (see its description), and the
vectors are also checked by the independent checker in interop/; here the SDK must agree.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tokenfed.errors import TokenfedError
from tokenfed.receipts import ReceiptTracker, ReceiptVerifier, VerifiedReceipt
from tokenfed.trust import TrustStore
from tokenfed.units import RateCard
from tokenfed_conformance.vectors import Vector, load_vectors

# Every case runs on both Ed25519 backends, libsodium and OpenSSL (CONV-071), and with the fast
# JSON paths on and off (ADR 0010).
pytestmark = pytest.mark.usefixtures("ed25519_backend", "json_path")

VECTORS = load_vectors("receipts")
FIXTURES: dict[str, Any] = VECTORS.extra["fixtures"]
ROOT = Path(__file__).resolve().parent.parent


TRUST_KEY = "default"


def verifier_for(vector: Vector) -> ReceiptVerifier:
    trust = TrustStore.from_json(FIXTURES["trust"][vector.input["trust"]])
    # Rate cards are used only verified (UNIT-031): each token with the default trust store.
    card_trust = TrustStore.from_json(FIXTURES["trust"][TRUST_KEY])
    cards = [
        RateCard.from_jws(FIXTURES["rate_card_tokens"][name], card_trust)
        for name in vector.input["rate_cards"]
    ]
    now = vector.input["now"]
    return ReceiptVerifier(trust, cards, clock=lambda: now)


def run(vector: Vector, primed: bool = False) -> VerifiedReceipt:
    """The vector's receipt verified and tracked after its prior receipts. ``primed``: the
    same verifier has seen every receipt of the vector once before (its errors ignored), so
    that a JWS receipt whose header and key it knows takes the hot module's whole path (ADR
    0010) and must give the same answer."""
    verifier = verifier_for(vector)
    if primed:
        for token in [*vector.input["prior"], vector.input["receipt"]]:
            with contextlib.suppress(TokenfedError):
                verifier.verify(token)
    tracker = ReceiptTracker()
    with tracker.transaction() as tx:
        for prior in vector.input["prior"]:
            tx.track(verifier.verify(prior))
        return tx.track(verifier.verify(vector.input["receipt"]))


@pytest.mark.parametrize("primed", [False, True], ids=["fresh", "primed"])
@pytest.mark.parametrize("vector", VECTORS.vectors, ids=lambda v: v.id)
def test_receipt_vector(vector: Vector, primed: bool) -> None:
    """REC-040/REC-062: the SDK gives each vector's expected claims or error code, with a fresh
    verifier and with one that has seen the vector's receipts before."""
    if vector.error is None:
        result = run(vector, primed)
        assert result.raw == vector.expected["claims"]
        assert result.duplicate is bool(vector.expected.get("duplicate", False))
    else:
        with pytest.raises(TokenfedError) as caught:
            run(vector, primed)
        assert caught.value.code == vector.error, caught.value.message


def test_rate_card_tokens_are_the_fixture_claims() -> None:
    """UNIT-031: each fixture token verifies with the trust store and carries the listed claims."""
    trust = TrustStore.from_json(FIXTURES["trust"][TRUST_KEY])
    for name, token in FIXTURES["rate_card_tokens"].items():
        card = RateCard.from_jws(token, trust)
        assert card.raw == FIXTURES["rate_cards"][name]
        assert card.verified


def test_every_receipt_error_code_has_a_vector() -> None:
    """REC-040: each code of the verification procedure is exercised by at least one vector."""
    codes = {
        "malformed",
        "unsupported_typ",
        "unsupported_alg",
        "unsupported_crit",
        "unknown_key",
        "key_not_valid",
        "invalid_signature",
        "schema_violation",
        "unsupported_version",
        "invalid_amount",
        "unknown_meter",
        "iat_in_future",
        "unknown_rate_card",
        "rate_card_mismatch",
        "amount_mismatch",
        "unknown_model",
        "unpriced_meter",
        "replay",
        "chain_break",
        "invalid_proof",
    }
    assert codes <= {vector.error for vector in VECTORS}


def test_vectors_are_reproducible() -> None:
    """The vector file is what its generator makes from the published test keys."""
    done = subprocess.run(
        [sys.executable, str(ROOT / "spec/tools/make_receipt_vectors.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
