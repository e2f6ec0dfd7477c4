"""The fast JSON paths give exactly the answers of the strict ones (ADR 0010).

The verifier reads receipt claims with orjson when the bytes round-trip exactly and the fast
schema types every value, and batched-receipt objects with orjson when a quote count proves
they hold exactly their five typed members; anything else goes to the strict parser
(CONV-010..CONV-016) and the full schema. These tests run every receipt through a verifier
with the fast paths and one with them switched off, and require the same result: the same
error code and message, or the same claims and content digest. They also check that a
signature is verified at most once per receipt, so a fallback never verifies a forgery twice.

Requirements: CONV-011 (duplicate names), CONV-012 (integer range), CONV-013 (no fraction or
exponent), CONV-014 (lone surrogates), CONV-016 (noncharacters), REC-010 (payload hashed as
received, non-JCS accepted), REC-040, REC-062.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tokenfed import _json, _merkle, keys
from tokenfed.errors import TokenfedError
from tokenfed.keys import KeyValidity, PrivateKey, generate_key
from tokenfed.receipts import ReceiptVerifier, VerifiedReceipt
from tokenfed.receipts import _verifier as verifier_module
from tokenfed.trust import TrustStore
from tokenfed.units import RateCard

T0 = 1767225600
NOW = T0 + 3600
ISS = "https://provider.example"
AUD = "https://home.example"
CARD = {
    "iss": ISS,
    "rate_card_id": "fast-card",
    "ver": "1.0",
    "iat": T0,
    "nbf": T0,
    "exp": T0 + 86400 * 365,
    "unit": "UTU",
    "models": {"m\u00e9": {"weights": {"input": "0.0016", "output": "0.0064"}}},
}
KEY = generate_key("EdDSA")
TRUST = TrustStore.from_json(
    {
        "ver": "1.0",
        "issuers": {ISS: {"jwks": {"keys": [KEY.public_key(KeyValidity(nbf=T0)).to_jwk()]}}},
    }
)
RATE_CARD = RateCard.from_jws(RateCard.sign(CARD, KEY), TRUST)
AMOUNT = str(RATE_CARD.amount_of("m\u00e9", {"input": 1000, "output": 200}))


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def claims_text() -> str:
    """Valid claims as their JCS text (sorted, compact, raw UTF-8)."""
    claims = {
        "amount": AMOUNT,
        "aud": AUD,
        "iat": NOW - 60,
        "iss": ISS,
        "jti": "r1",
        "rate_card": {"digest": RATE_CARD.digest, "id": "fast-card"},
        "seq": 2,
        "prev": "sha256:" + "ab" * 32,
        "sub": "Zk9xW2cLm3P8qRsT",
        "unit": "UTU",
        "usage": {"meters": {"input": 1000, "output": 200}, "model": "m\u00e9"},
        "ver": "1.0",
    }
    return _json.canonical_bytes(claims).decode("utf-8")


def compact(payload: bytes, key: PrivateKey = KEY) -> str:
    header = _b64(
        _json.canonical_bytes({"alg": "EdDSA", "kid": key.kid, "typ": "tokenfed-receipt+jwt"})
    )
    signing_input = f"{header}.{_b64(payload)}"
    return signing_input + "." + _b64(key.sign(signing_input.encode("ascii")))


def batched(payload: bytes) -> str:
    """A batched receipt of a one-leaf batch holding ``payload``, as compact JSON."""
    statement = {
        "iss": ISS,
        "ver": "1.0",
        "iat": NOW,
        "batch_id": "b1",
        "tree_size": 1,
        "tree_root": _merkle.leaf_hash(payload).hex(),
    }
    batch = compact_statement(statement)
    item = {
        "ver": "1.0",
        "claims": _b64(payload),
        "leaf_index": 0,
        "audit_path": [],
        "batch": batch,
    }
    return json.dumps(item, separators=(",", ":"))


def compact_statement(statement: dict[str, Any]) -> str:
    from tokenfed import _jws

    return _jws.sign(statement, KEY, _jws.TYP_RECEIPT_BATCH)


Outcome = tuple[str, Any, Any]


def outcome(receipt: str | bytes, *, fast: bool, monkeypatch: pytest.MonkeyPatch) -> Outcome:
    """Verify with the fast paths on or off: ("ok", claims, content digest) or
    ("error", code, message). At most one signature check may run per receipt."""
    checks = []
    original = keys.PublicKey.verify

    def counted(self: keys.PublicKey, signature: bytes, signing_input: bytes) -> bool:
        checks.append(signing_input)
        return original(self, signature, signing_input)

    with monkeypatch.context() as patch:
        patch.setattr(keys.PublicKey, "verify", counted)
        if not fast:
            patch.setattr(_json, "loads_if_canonical", lambda data: None)
            patch.setattr(verifier_module, "_batched_fast", lambda text: None)
        verifier = ReceiptVerifier(TRUST, [RATE_CARD], clock=lambda: NOW)
        try:
            result: VerifiedReceipt = verifier.verify(receipt)
        except TokenfedError as exc:
            found: Outcome = ("error", exc.code, exc.message)
        else:
            found = ("ok", result.raw, result.content_digest)
    # A batched receipt's statement is checked once (then cached), a JWS receipt once.
    assert len(checks) <= 1, "a signature was verified twice"
    return found


def both(receipt: str | bytes, monkeypatch: pytest.MonkeyPatch) -> Outcome:
    fast = outcome(receipt, fast=True, monkeypatch=monkeypatch)
    strict = outcome(receipt, fast=False, monkeypatch=monkeypatch)
    assert fast == strict
    return fast


VALID = claims_text()


def replace_value(text: str, member: str, value: str) -> str:
    """``text`` with the first value of ``member`` replaced by the JSON fragment ``value``."""
    decoded = json.loads(text)
    marker = json.dumps(decoded[member], ensure_ascii=False, separators=(",", ":"))
    name = f'"{member}":'
    start = text.index(name) + len(name)
    assert text[start : start + len(marker)] == marker
    return text[:start] + value + text[start + len(marker) :]


NAMED: dict[str, tuple[str, str | None]] = {
    # name: (claims text, the one expected error code or None for accepted)
    "canonical": (VALID, None),
    "whitespace (not JCS, accepted as received, REC-010)": (VALID.replace(",", ", "), None),
    "needless escape (not JCS)": (VALID.replace('"r1"', '"\\u00721"'), None),
    "members out of order": ('{"ver":"1.0",' + VALID[1:].replace(',"ver":"1.0"', ""), None),
    "duplicate member": (VALID[:-1] + ',"jti":"r2"}', "malformed"),
    "duplicate with the same value": (VALID[:-1] + ',"jti":"r1"}', "malformed"),
    "fraction 1.0": (replace_value(VALID, "iat", f"{NOW - 60}.0"), "malformed"),
    "exponent": (replace_value(VALID, "seq", "2e0"), "malformed"),
    "integer 2^53": (replace_value(VALID, "seq", str(2**53)), "malformed"),
    "integer 2^64": (replace_value(VALID, "seq", str(2**64)), "malformed"),
    "minus zero": (replace_value(VALID, "seq", "-0"), "schema_violation"),
    "raw noncharacter U+FDD0": (VALID.replace('"r1"', '"r\ufdd0"'), "malformed"),
    "raw noncharacter U+1FFFE": (VALID.replace('"r1"', '"r\U0001fffe"'), "malformed"),
    "escaped noncharacter": (VALID.replace('"r1"', '"r\\ufdd0"'), "malformed"),
    "lone surrogate": (VALID.replace('"r1"', '"r\\ud800"'), "malformed"),
    "nested too deep": (replace_value(VALID, "jti", "[" * 40 + "]" * 40), "malformed"),
    "unknown member": (VALID[:-1] + ',"zz":1.5}', "malformed"),
    "unknown member, integer": (VALID[:-1] + ',"zz":1}', None),
    "null prev": (replace_value(VALID, "prev", "null"), "schema_violation"),
    "float meter": (VALID.replace('"input":1000', '"input":1000.0'), "malformed"),
    "boolean meter": (VALID.replace('"input":1000', '"input":true'), "invalid_usage"),
}


@pytest.mark.parametrize("name", list(NAMED))
def test_named_mutation_same_on_both_paths(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """CONV-011..CONV-016, REC-010: each case gets its one code on the fast and strict paths,
    as a JWS receipt and as a batched receipt."""
    text, code = NAMED[name]
    payload = text.encode("utf-8", "surrogatepass")
    for receipt in (compact(payload), batched(payload)):
        found = both(receipt, monkeypatch)
        if code is None:
            assert found[0] == "ok", found
        else:
            assert found[:2] == ("error", code), found


FRAGMENTS = [
    "1.0", "-0", "0", "1e2", "9007199254740991", "9007199254740992", "18446744073709551616",
    "null", "true", "[]", "{}", '"x"', '""', '"\\ud800"', '"\\ufdd0"', '"\ufdd0"', '"\\u0041"',
    '{"a":1,"a":1}', "[1.5]", '"sha256:' + "0" * 64 + '"', "-1", "1",
]  # fmt: skip
MEMBERS = list(json.loads(VALID))
# Values that keep the text canonical, so that the fast path is taken and judged.
TYPED = {
    int: ["1", "2", "3", "9007199254740991", "9007199254740992", "1.0", "0"],
    str: ['"x"', '"1"', '"r\ufdd0"', '"r\ud7ff"', '"\u00e9"', '"sha256:' + "0" * 64 + '"'],
}


KINDS = ["typed", "typed", "value", "duplicate", "space", "byte", "drop"]


@st.composite
def mutations(draw: st.DrawFn) -> str:
    text = VALID
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(KINDS))
        if kind == "typed":
            member = draw(st.sampled_from([m for m in MEMBERS if f'"{m}":' in text]))
            kinds = type(json.loads(VALID)[member])
            if kinds in TYPED:
                try:
                    text = replace_value(text, member, draw(st.sampled_from(TYPED[kinds])))
                except (AssertionError, ValueError, KeyError):
                    continue
        elif kind == "value":
            member = draw(st.sampled_from([m for m in MEMBERS if f'"{m}":' in text]))
            try:
                text = replace_value(text, member, draw(st.sampled_from(FRAGMENTS)))
            except (AssertionError, ValueError, KeyError):
                continue
        elif kind == "duplicate":
            member = draw(st.sampled_from(MEMBERS))
            text = text[:-1] + f',"{member}":{draw(st.sampled_from(FRAGMENTS))}}}'
        elif kind == "space":
            at = draw(st.integers(0, len(text)))
            text = text[:at] + draw(st.sampled_from([" ", "\n", "\t"])) + text[at:]
        elif kind == "byte":
            at = draw(st.integers(0, len(text) - 1))
            text = text[:at] + draw(st.sampled_from(list('{}[]",:0\\ae.-'))) + text[at + 1 :]
        else:
            member = draw(st.sampled_from(MEMBERS))
            text = text.replace(f'"{member}":', f'"{member}x":', 1)
    return text


@settings(
    max_examples=300,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(text=mutations())
def test_generated_mutations_same_on_both_paths(monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    """ADR 0010's invariant: no generated mutation of valid claims is accepted by one path and
    refused by the other, or refused with other codes or messages (JWS and batched receipts)."""
    payload = text.encode("utf-8", "surrogatepass")
    both(compact(payload), monkeypatch)
    both(batched(payload), monkeypatch)


def wrapper_mutations() -> Iterator[tuple[str, str, str | None]]:
    """Batched-receipt objects around valid claims: (name, text, expected code or None)."""
    good = json.loads(batched(VALID.encode("utf-8")))
    text = json.dumps(good, separators=(",", ":"))
    yield "compact", text, None
    yield "spaced", json.dumps(good), None
    yield "escaped ver", text.replace('"ver":"1.0"', '"ver":"1\\u002e0"'), None
    yield "duplicate member", text[:-1] + ',"ver":"1.0"}', "malformed"
    yield "unknown member", text[:-1] + ',"x":"y"}', None
    yield "unknown float member", text[:-1] + ',"x":1.5}', "malformed"
    yield "float index", text.replace('"leaf_index":0', '"leaf_index":0.0'), "malformed"
    yield "big index", text.replace('"leaf_index":0', '"leaf_index":9007199254740992'), "malformed"
    yield "string index", text.replace('"leaf_index":0', '"leaf_index":"0"'), "malformed"
    yield "noncharacter", text[:-1] + ',"x":"\ufdd0"}', "malformed"
    yield "lone surrogate", text[:-1] + ',"x":"\\udc00"}', "malformed"
    yield "ver 1.1", text.replace('"ver":"1.0"', '"ver":"1.1"'), None
    yield "ver 2.0", text.replace('"ver":"1.0"', '"ver":"2.0"'), "unsupported_version"


@pytest.mark.parametrize(("name", "text", "code"), list(wrapper_mutations()))
def test_batched_object_same_on_both_paths(
    name: str, text: str, code: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """REC-062 step 1 and CONV-011..CONV-016: the fast wrapper parse and the strict one agree,
    with the one expected code."""
    for receipt in (text, text.encode("utf-8", "surrogatepass")):
        found = both(receipt, monkeypatch)
        if code is None:
            assert found[0] == "ok", found
        else:
            assert found[:2] == ("error", code), found


def test_fast_paths_are_taken(monkeypatch: pytest.MonkeyPatch) -> None:
    """The canonical receipt does take the fast paths (so the tests above compare two paths)."""
    assert _json.loads_if_canonical(VALID.encode("utf-8")) == json.loads(VALID)
    assert verifier_module._batched_fast(batched(VALID.encode("utf-8"))) is not None
    assert _json.loads_if_canonical(VALID.replace(",", ", ").encode("utf-8")) is None


@st.composite
def typed_mutations(draw: st.DrawFn) -> str:
    """Values of the right JSON type in canonical form: the fast paths are taken and judged."""
    text = VALID
    for member in draw(st.lists(st.sampled_from(MEMBERS), min_size=1, max_size=3, unique=True)):
        kinds = type(json.loads(VALID)[member])
        if kinds in TYPED:
            text = replace_value(text, member, draw(st.sampled_from(TYPED[kinds])))
    return text


@settings(
    max_examples=200,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(text=typed_mutations())
def test_typed_mutations_same_on_both_paths(monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    """ADR 0010's invariant where the fast paths are taken: a canonical text with other values
    (integers at and beyond 2^53 - 1, ``1.0``, noncharacters, escapes) gets the same result."""
    payload = text.encode("utf-8")
    both(compact(payload), monkeypatch)
    both(batched(payload), monkeypatch)
