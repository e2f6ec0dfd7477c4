"""The hot per-receipt module (``tokenfed._hot``, ADR 0010), compiled and as pure Python.

Each function answers "certainly valid" or ``None``/``False``; these tests hold each answer to
the reference it stands for (``_b64.b64decode``, ``RateCard.micro_amount_of``, the receipt
schema's patterns), and check that hostile values never raise, in particular no ``TypeError``
from a compiled function's typed boundary. The verifier-level invariants (same codes and
messages as the reference path) are in tests/test_fast_paths.py.

Requirements: CONV-041 (base64url), UNIT-044..UNIT-048 (pricing), REC-062, REC-065.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tokenfed import _b64, _compiled, _hot, _json, _merkle, ledger
from tokenfed._meters import INPUT_EXTENSION_METERS, METERS
from tokenfed.errors import MalformedError, TokenfedError
from tokenfed.keys import KeyValidity, generate_key
from tokenfed.receipts import ReceiptTracker, TrackerTransaction, VerifiedReceipt, _claims, _fast
from tokenfed.receipts import _tracker as tracker_module
from tokenfed.receipts._verifier import ReceiptVerifier
from tokenfed.trust import TrustStore
from tokenfed.units import RateCard

T0 = 1767225600
ISS = "https://provider.example"
KEY = generate_key("EdDSA")
TRUST = TrustStore.from_json(
    {
        "ver": "1.0",
        "issuers": {ISS: {"jwks": {"keys": [KEY.public_key(KeyValidity(nbf=T0)).to_jwk()]}}},
    }
)
TIERED = {
    "iss": ISS,
    "rate_card_id": "tiered",
    "ver": "1.0",
    "iat": T0,
    "nbf": T0,
    "exp": T0 + 86400,
    "unit": "UTU",
    "models": {
        "m": {
            "weights": {
                "input": "0.000000001",
                "cache_read": "0.0004",
                "output": "0.0064",
                "reasoning": "0.000000333",
                "qwen.audio_in_tokens": "0.00002",
            },
            "tiers": [
                {"above_input": 100, "weights": {"input": "0.000000003"}},
                {"above_input": 5000, "weights": {"input": "0.0000005", "output": "0.007"}},
            ],
            "minimum": "0.000123",
        },
        "flat": {"weights": {"input": "0.0016", "output": "0.0064"}},
    },
}
CARD = RateCard.from_jws(RateCard.sign(TIERED, KEY), TRUST)


def test_patterns_and_members_agree_with_the_schema() -> None:
    """The hot module's copies of the receipt schema's patterns and members are the schema's."""
    assert _hot._TOKEN_ID.pattern == _claims.TOKEN_ID_PATTERN[1:-1]
    assert _hot._DIGEST.pattern == _claims.DIGEST_PATTERN[1:-1]
    assert _hot._AMOUNT.pattern == _fast._FAST_AMOUNT.pattern
    assert frozenset(_claims.ReceiptClaims.model_fields) == _hot._CLAIMS_MEMBERS
    assert _fast._FAST_MEMBERS == _hot._CLAIMS_MEMBERS
    assert ledger._SQLITE_INT_MAX == _hot._SQLITE_INT_MAX
    assert _json.MAX_SAFE_INTEGER == _hot.MAX_SAFE_INTEGER
    assert _merkle.HASH_SIZE == _hot.HASH_SIZE


def test_compiled_build_is_current() -> None:
    """A compiled build in the package is one of this source: an edited ``_hot.py`` is never
    shadowed by an old build (``make`` rebuilds it)."""
    builds = list(Path(_hot.__file__).parent.glob("_hotc.*"))
    if not builds:
        pytest.skip("the compiled module is not built: run make")
    assert _compiled.compiled() is not None, "the compiled module is stale: run make"


def reference_b64(text: str) -> bytes | None:
    try:
        return _b64.b64decode(text)
    except MalformedError:
        return None


B64_NAMED = [
    "", "A", "AA", "AAA", "AAAA", "AQ", "AR", "AE", "AF", "AAE", "AAF", "-_-_", "+/+/", "AA==",
    "AA=", "A=AA", " AAA", "AA AA", "AA\nA", "\u00e9AA", "AAAA\u00e9", "QUJD", "QUJDRA",
    "QUJDRB", "QUJDREU", "QUJDREV", "____", "----", "!!!!", "AAAAA", "A===",
]  # fmt: skip


@pytest.mark.parametrize("text", B64_NAMED)
def test_b64url_named_cases_agree(hot_module: ModuleType, text: str) -> None:
    """CONV-041: the hot decoder gives exactly the bytes of the reference decoder, and refuses
    exactly what it refuses (padding, the standard alphabet, non-canonical bits, length 4k+1)."""
    assert hot_module.decode_b64url(text) == reference_b64(text)


@settings(max_examples=400, derandomize=True, deadline=None)
@given(
    text=st.text(
        alphabet=st.sampled_from(
            list("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_+/= \u00e9")
        ),
        max_size=14,
    )
)
def test_b64url_generated_cases_agree(text: str) -> None:
    """CONV-041, generated strings: both implementations agree with the reference."""
    expected = reference_b64(text)
    for module in _implementations():
        assert module.decode_b64url(text) == expected, module


def _implementations() -> list[ModuleType]:
    built = _compiled.compiled()
    return [_hot] if built is None else [_hot, built]


def reference_price(model: str, meters: dict[str, int]) -> int | None:
    try:
        return CARD.micro_amount_of(model, meters)
    except Exception:
        return None


def hot_price(module: ModuleType, model: str) -> Any:
    rates = CARD._compiled[model]
    return module.Price(
        T0,
        T0 + 86400,
        rates.base.scaled,
        [(above, table.scaled) for above, table in rates.tiers],
        rates.minimum,
        INPUT_EXTENSION_METERS,
    )


METER_NAMES = [*METERS[:6], "qwen.audio_in_tokens", "openai.audio_in_tokens"]


@settings(
    max_examples=400,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    model=st.sampled_from(["m", "flat"]),
    meters=st.dictionaries(
        st.sampled_from(METER_NAMES),
        st.one_of(st.integers(0, 6000), st.integers(0, 2**53 - 1)),
        max_size=6,
    ),
)
def test_price_agrees_with_the_rate_card(model: str, meters: dict[str, int]) -> None:
    """UNIT-044..UNIT-048: volume tiers (prompt tokens metered apart included), one rounding
    half to even, the minimum; -1 exactly where the rate card refuses an unpriced meter."""
    expected = reference_price(model, meters)
    for module in _implementations():
        found = hot_price(module, model).micro_amount(meters)
        assert found == (-1 if expected is None else expected), (module, meters)


@pytest.mark.parametrize(
    ("meters", "micro"),
    [
        ({"input": 500}, 123),  # the minimum
        ({"input": 100}, 123),
        ({"input": 101, "reasoning": 1500}, 500),  # 499.803 micro-UTU
        ({"output": 1}, 6400),
        ({"reasoning": 1500}, 500),  # 499.5 rounds half to even
        ({"reasoning": 4500}, 1498),  # 1498.5 rounds half to even
        ({"reasoning": 1503}, 500),  # 500.499
        ({"reasoning": 1000000}, 333000),
        ({"input": 5001, "output": 1}, 2500 + 7000),  # 0.0025005 rounds half to even
        ({"input": 5003, "output": 1}, 2502 + 7000),  # 0.0025015 rounds half to even
    ],
)
def test_price_named_cases(hot_module: ModuleType, meters: dict[str, int], micro: int) -> None:
    """UNIT-044..UNIT-048 on named cases, against the rate card and a hand-computed amount."""
    assert reference_price("m", meters) == micro
    assert hot_price(hot_module, "m").micro_amount(meters) == micro


HOSTILE: list[Any] = [
    None, 0, -1, 2**70, 1.5, "", "x", b"", b"x", bytearray(b"{}"), [], ["x"], {}, {"a": 1},
    object(), Decimal(1), True,
]  # fmt: skip


def test_hostile_values_never_raise(hot_module: ModuleType) -> None:
    """Values of any type at every entry point that takes wire values give ``None`` or
    ``False``, never an exception (a compiled function would raise ``TypeError`` where a
    value met a declared type unchecked)."""
    inclusion = hot_module.CachedInclusion(4, bytes(32))
    claims = hot_module.BatchedClaims(frozenset(METERS), tuple)
    for value in HOSTILE:
        assert hot_module.parse_batched(value) is None
        if not isinstance(value, str):
            assert hot_module.decode_b64url(value) is None
        for other in HOSTILE:
            assert inclusion.verify_hex(value, other, value) is False
            assert inclusion.verify_hex(bytes(32), 1, [value, other]) is False
            assert inclusion.verify(value, other, value) is False
        claims.remember(value)
        claims.remember({"usage": value, "rate_card": value})
    for text in ("{}", "[]", '{"ver":"1.0"}', "1", '"x"', "", "{"):
        assert hot_module.parse_batched(text) is None
        assert hot_module.parse_batched(text.encode()) is None
        assert claims.verify_text(text, 0) is None
    for value in HOSTILE:
        assert claims.verify_text(value, 0) is None


def test_claims_of_another_issuer_are_not_taken(hot_module: ModuleType) -> None:
    """REC-062 step 4: claims the hot module knows are accepted only under their own issuer's
    batch statement, only up to its iat (REC-065) and only up to now plus the skew."""
    verifier = ReceiptVerifier(TRUST, [CARD], clock=lambda: T0 + 100)
    checker = verifier._hot_claims
    meters = {"input": 10, "output": 1}
    claims = {
        "amount": str(CARD.amount_of("flat", meters)),
        "aud": "https://home.example",
        "iat": T0 + 10,
        "iss": ISS,
        "jti": "r1",
        "rate_card": {"digest": CARD.digest, "id": "tiered"},
        "seq": 1,
        "sub": "Zk9xW2cLm3P8qRsT",
        "unit": "UTU",
        "usage": {"meters": meters, "model": "flat"},
        "ver": "1.0",
    }
    leaf = _json.canonical_bytes(claims)
    assert checker.check(leaf, ISS, T0 + 10, T0 + 400) is None  # not remembered yet
    checker.remember(json.loads(leaf))
    assert checker.check(leaf, ISS, T0 + 10, T0 + 400) == claims
    assert checker.check(leaf, "https://other.example", T0 + 10, T0 + 400) is None
    assert checker.check(leaf, ISS, T0 + 9, T0 + 400) is None
    assert checker.check(leaf, ISS, T0 + 10, T0 + 9) is None
    assert checker.check(leaf.replace(b'"r1"', b'"r2"'), ISS, T0 + 10, T0 + 400) is not None
    assert checker.check(leaf.replace(b":", b": "), ISS, T0 + 10, T0 + 400) is None  # iss
    # Another serialization of the same claims gives them (REC-010); a member named twice, an
    # escape or a value of another type does not (the reference path decides).
    assert checker.check(leaf.replace(b",", b", "), ISS, T0 + 10, T0 + 400) == claims
    assert (
        checker.check(leaf.replace(b'{"amount"', b'{"jti":"r0","amount"'), ISS, T0 + 10, T0 + 400)
        is None
    )
    assert (
        checker.check(leaf.replace(b'"input"', b'"input":1,"input"'), ISS, T0 + 10, T0 + 400)
        is None
    )
    assert checker.check(leaf.replace(b'"r1"', b'"\\u0072\\u0031"'), ISS, T0 + 10, T0 + 400) is None
    assert checker.check(leaf.replace(b'"seq":1', b'"seq":1.0'), ISS, T0 + 10, T0 + 400) is None


def _receipt(aud: str, jti: str, seq: Any, prev: str | None, content: bytes) -> VerifiedReceipt:
    raw: dict[str, Any] = {"iss": ISS, "aud": aud, "jti": jti, "seq": seq}
    if prev is not None:
        raw["prev"] = prev
    return VerifiedReceipt(raw, "k1", content, None)


def _tracking_outcomes() -> tuple[list[Any], Any, Any]:
    """A scripted run of steps 12 and 13 in an in-memory tracker: new receipts, duplicates,
    replays, breaks of the chain, two streams, a rolled-back transaction; each outcome and
    the tracker's state at the end."""
    a, b = "https://a.example", "https://b.example"
    first = _receipt(a, "j1", 1, None, b"one")
    second = _receipt(a, "j2", 2, first.content_digest, b"two")
    third = _receipt(a, "j3", 3, second.content_digest, b"three")
    steps = [
        [
            first,
            first,  # identical resubmission
            _receipt(a, "j1", 1, None, b"other"),  # replay
            _receipt(a, "j9", 3, first.content_digest, b"x"),  # seq skipped
            _receipt(a, "j2", 2, "sha256:" + "0" * 64, b"two"),  # another prev
            _receipt(a, "j2", 2, None, b"two"),  # no prev after seq 1
            second,
            _receipt(b, "j5", 2, None, b"b2"),  # a stream starting at 2
            _receipt(b, "j5", True, None, b"b1"),  # True == 1, as in the reference steps
            _receipt(b, "j6", 2, None, b"b2"),
        ],
        [first, second, _receipt(a, "j2", 2, first.content_digest, b"2"), third, "rollback"],
        [third, third, _receipt(a, "j4", 4, first.content_digest, b"four")],
    ]
    outcomes: list[Any] = []
    tracker = ReceiptTracker()
    for transaction in steps:
        try:
            with tracker.transaction() as tx:
                for receipt in transaction:
                    if receipt == "rollback":
                        raise LookupError("rolled back")
                    assert isinstance(receipt, VerifiedReceipt)
                    try:
                        outcomes.append(("duplicate", tx.track(receipt).duplicate))
                    except TokenfedError as exc:
                        outcomes.append((exc.code, str(exc)))
                outcomes.append(("staged", tx.staged))
        except LookupError:
            outcomes.append("rolled back")
    return outcomes, dict(tracker._seen), dict(tracker._heads)


def test_in_memory_tracking_same_as_the_reference_steps(monkeypatch: pytest.MonkeyPatch) -> None:
    """Steps 12 and 13 in the hot module (a tracker without a ledger) give the outcomes, the
    errors (code and message) and the state of the reference steps (REC-042, REC-043)."""
    monkeypatch.setattr(tracker_module, "_hot", None)
    expected = _tracking_outcomes()
    assert [o for o in expected[0] if o[0] in ("replay", "chain_break")]  # both were exercised
    for module in _implementations():
        monkeypatch.setattr(tracker_module, "_hot", module)
        assert _tracking_outcomes() == expected, module


def test_in_memory_tracking_honours_changed_reference_steps(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A subclass or a patch that changes the tracker's reference steps (as the conformance
    suite's fault injection does) is run instead of the hot module's steps."""
    original = TrackerTransaction._seen_content

    def other_content(self: TrackerTransaction, iss: str, jti: str) -> str | None:
        found = original(self, iss, jti)
        return None if found is None else "sha256:" + "0" * 64

    monkeypatch.setattr(TrackerTransaction, "_seen_content", other_content)
    receipt = _receipt("https://a.example", "j1", 1, None, b"one")
    with ReceiptTracker().transaction() as tx:
        tx.track(receipt)
        with pytest.raises(TokenfedError) as caught:
            tx.track(receipt)
    assert caught.value.code == "replay"
