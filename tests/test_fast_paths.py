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
import hashlib
import json
import sys
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tokenfed import _json, _merkle, keys
from tokenfed.errors import TokenfedError, UnknownKeyError
from tokenfed.keys import KeyValidity, PrivateKey, PublicKey, generate_key
from tokenfed.receipts import ReceiptVerifier, VerifiedReceipt, _files
from tokenfed.receipts import _verifier as verifier_module
from tokenfed.trust import KeyOrigin, KeySource, TrustStore
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
    "models": {
        "m\u00e9": {"weights": {"input": "0.0016", "output": "0.0064"}},
        "m1": {"weights": {"input": "0.0016", "output": "0.0064"}},
    },
}
KEY = generate_key("EdDSA")
TRUST = TrustStore.from_json(
    {
        "ver": "1.0",
        "issuers": {ISS: {"jwks": {"keys": [KEY.public_key(KeyValidity(nbf=T0)).to_jwk()]}}},
    }
)
RATE_CARD = RateCard.from_jws(RateCard.sign(CARD, KEY), TRUST)
NOW_OF_VERIFIER = NOW  # the verifiers' clock (a test of iat in the future changes it)
AMOUNT = str(RATE_CARD.amount_of("m\u00e9", {"input": 1000, "output": 200}))


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def claims_text(model: str = "m\u00e9", jti: str = "r1", seq: int = 2, iat: int = NOW - 60) -> str:
    """Valid claims as their JCS text (sorted, compact, raw UTF-8)."""
    claims = {
        "amount": AMOUNT,
        "aud": AUD,
        "iat": iat,
        "iss": ISS,
        "jti": jti,
        "rate_card": {"digest": RATE_CARD.digest, "id": "fast-card"},
        "seq": seq,
        "sub": "Zk9xW2cLm3P8qRsT",
        "unit": "UTU",
        "usage": {"meters": {"input": 1000, "output": 200}, "model": model},
        "ver": "1.0",
    }
    if seq > 1:
        claims["prev"] = "sha256:" + "ab" * 32
    return _json.canonical_bytes(claims).decode("utf-8")


def compact(payload: bytes, key: PrivateKey = KEY) -> str:
    header = _b64(
        _json.canonical_bytes({"alg": "EdDSA", "kid": key.kid, "typ": "tokenfed-receipt+jwt"})
    )
    signing_input = f"{header}.{_b64(payload)}"
    return signing_input + "." + _b64(key.sign(signing_input.encode("ascii")))


# Valid ASCII claims with the issuer, audience, subject, rate card and model of ``VALID_ASCII``:
# leaf 0 of every test batch, verified first, so that the verifier's hot module knows them and
# caches the batch statement, and the claims under test (leaf 1) can take its fast path.
PRIMER = claims_text("m1", "r0", 1, NOW - 3000).encode("ascii")
# The same claims as a JWS receipt, verified first before a JWS receipt under test, so that the
# hot module knows its header segment and key too (REC-040 steps 1 to 11 in one call).
COMPACT_PRIMER = compact(PRIMER)


def batch_of(payload: bytes) -> tuple[str, list[bytes]]:
    """A batch statement for the leaves ``[PRIMER, payload]``, and the leaves."""
    leaves = [PRIMER, payload]
    statement = {
        "iss": ISS,
        "ver": "1.0",
        "iat": NOW,
        "batch_id": "b1",
        "tree_size": 2,
        "tree_root": _merkle.root(leaves).hex(),
    }
    batch = compact_statement(statement)
    PRIMERS[batch] = json.dumps(batched_item(batch, leaves, 0), separators=(",", ":"))
    return batch, leaves


def batched_item(batch: str, leaves: list[bytes], index: int) -> dict[str, Any]:
    sibling = _merkle.leaf_hash(leaves[1 - index]).hex()
    return {
        "ver": "1.0",
        "claims": _b64(leaves[index]),
        "leaf_index": index,
        "audit_path": [sibling],
        "batch": batch,
    }


def batched(payload: bytes) -> str:
    """The batched receipt of ``payload`` (leaf 1 of ``batch_of(payload)``), as compact JSON."""
    batch, leaves = batch_of(payload)
    return json.dumps(batched_item(batch, leaves, 1), separators=(",", ":"))


PRIMERS: dict[str, str] = {}
"""The batched receipt of ``PRIMER`` in each batch ``batch_of`` made."""


def primer_of(batch: str) -> str | None:
    """The batched receipt of ``PRIMER`` in the batch ``batch`` (if ``batch_of`` made it)."""
    return PRIMERS.get(batch)


def compact_statement(statement: dict[str, Any]) -> str:
    from tokenfed import _jws

    return _jws.sign(statement, KEY, _jws.TYP_RECEIPT_BATCH)


Outcome = tuple[Any, ...]


def outcome(
    receipt: str | bytes | dict[str, Any] | tuple[str, list[bytes]],
    *,
    hot: ModuleType | None,
    monkeypatch: pytest.MonkeyPatch,
    primer: str | None = None,
    source: KeySource = TRUST,
) -> Outcome:
    """Verify with the fast paths on (``hot``: the hot module to use) or off (``None``):
    ("ok", claims, content digest) or ("error", code, message). A ``primer`` is verified
    first, with the same verifier. A (batch, leaves) pair is verified whole (REC-064) and the
    outcome is leaf 1's. At most one signature check may run per receipt. ``source`` is the
    verifier's key source; an accepted receipt's outcome holds its key's origin."""
    checks = []
    original = keys.PublicKey.verify

    def counted(self: keys.PublicKey, signature: bytes, signing_input: bytes) -> bool:
        checks.append(signing_input)
        return original(self, signature, signing_input)

    with monkeypatch.context() as patch:
        patch.setattr(keys.PublicKey, "verify", counted)
        patch.setattr(verifier_module, "_hot", hot)
        if hot is None:
            patch.setattr(_json, "loads_if_canonical", lambda data: None)
            patch.setattr(verifier_module, "_batched_fast", lambda text: None)
        verifier = ReceiptVerifier(source, [RATE_CARD], clock=lambda: NOW_OF_VERIFIER)
        if primer is not None:
            assert verifier.verify(primer).raw == json.loads(PRIMER)
            checks.clear()  # the primer's own signature
        try:
            if isinstance(receipt, tuple):
                whole = verifier.verify_batch(*receipt)
                if isinstance(whole[0], TokenfedError):
                    raise whole[0]
                result: VerifiedReceipt | TokenfedError = whole[1]
            else:
                result = verifier.verify(receipt)
            if isinstance(result, TokenfedError):
                raise result
        except TokenfedError as exc:
            found: Outcome = ("error", exc.code, exc.message)
        else:
            found = ("ok", result.raw, result.content_digest, result.origin)
        # A batched receipt's statement is checked once (then cached), a JWS receipt once.
        assert len(checks) <= 1, "a signature was verified twice"
        if isinstance(receipt, str | bytes):
            # The same receipt as a line of a receipt file: its compact result (ledger row and
            # result row members), which the hot module may give whole, is the same too.
            line = receipt.encode("utf-8", "surrogatepass") if isinstance(receipt, str) else receipt
            if b"\n" not in line:
                verifier = ReceiptVerifier(source, [RATE_CARD], clock=lambda: NOW_OF_VERIFIER)
                if primer is not None:
                    verifier.verify(primer)
                checks.clear()
                found = (*found, _files._check_line(verifier, line))
                assert len(checks) <= 1, "a signature was verified twice"
    return found


def both(
    receipt: str | bytes,
    monkeypatch: pytest.MonkeyPatch,
    hot: ModuleType,
    primed: bool = True,
    source: KeySource = TRUST,
) -> Outcome:
    """The outcome of ``receipt`` on the fast and the strict paths, which must be the same.

    A JWS receipt is verified after ``COMPACT_PRIMER`` (when ``primed``), so the hot module
    knows its header and key. A batched receipt (JSON text or bytes) is verified after the
    primer of its batch (when its batch can be read), and also given as an object and, through
    its batch, whole."""
    forms: list[Any] = [receipt]
    primer = None
    text = receipt.decode("utf-8", "surrogatepass") if isinstance(receipt, bytes) else receipt
    if not text.lstrip(" \t\r\n").startswith("{"):
        primer = COMPACT_PRIMER if primed else None
    elif text.startswith("{"):
        try:
            item = json.loads(text)
        except ValueError:
            item = None
        if isinstance(item, dict) and isinstance(item.get("batch"), str):
            primer = primer_of(item["batch"]) if primed else None
            forms.append(item)
            claims = item.get("claims")
            if isinstance(claims, str) and claims.isascii():
                try:
                    leaf = base64.urlsafe_b64decode(claims + "=" * (-len(claims) % 4))
                except ValueError:
                    pass
                else:
                    forms.append((item["batch"], [PRIMER, leaf]))
    found = None
    for form in forms:
        fast = outcome(form, hot=hot, monkeypatch=monkeypatch, primer=primer, source=source)
        strict = outcome(form, hot=None, monkeypatch=monkeypatch, primer=primer, source=source)
        assert fast == strict, form
        found = found or fast
    assert found is not None
    return found


def expect(found: Outcome, code: str | None) -> None:
    """``found`` is an acceptance (``code`` None) or a rejection with exactly ``code``."""
    if code is None:
        assert found[0] == "ok", found
    else:
        assert found[:2] == ("error", code), found


VALID = claims_text()
VALID_ASCII = claims_text("m1")
BASES = {"non-ASCII model": VALID, "ASCII": VALID_ASCII}


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


@pytest.mark.parametrize("base", list(BASES))
@pytest.mark.parametrize("name", list(NAMED))
def test_named_mutation_same_on_both_paths(
    name: str, base: str, monkeypatch: pytest.MonkeyPatch, hot_module: ModuleType
) -> None:
    """CONV-011..CONV-016, REC-010: each case gets its one code on the fast and strict paths,
    as a JWS receipt and as a batched receipt (text, object, whole batch)."""
    text, code = NAMED[name]
    if base == "ASCII":
        text = text.replace('"m\u00e9"', '"m1"')
    payload = text.encode("utf-8", "surrogatepass")
    for receipt in (compact(payload), batched(payload)):
        expect(both(receipt, monkeypatch, hot_module), code)


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
    text = draw(st.sampled_from(list(BASES.values())))
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
def test_generated_mutations_same_on_both_paths(
    monkeypatch: pytest.MonkeyPatch, hot_module: ModuleType, text: str
) -> None:
    """ADR 0010's invariant: no generated mutation of valid claims is accepted by one path and
    refused by the other, or refused with other codes or messages (JWS and batched receipts)."""
    payload = text.encode("utf-8", "surrogatepass")
    both(compact(payload), monkeypatch, hot_module)
    both(batched(payload), monkeypatch, hot_module)


def wrapper_mutations() -> Iterator[tuple[str, str, str | None]]:
    """Batched-receipt objects around valid claims: (name, text, expected code or None)."""
    # Claims whose base64url ends in a group of 2 characters (4 unused bits).
    good = json.loads(batched(claims_text("m1", "r12").encode("ascii")))
    claims = good["claims"]
    assert len(claims) % 4 == 2
    text = json.dumps(good, separators=(",", ":"))
    yield "compact", text, None
    yield "spaced", json.dumps(good), None
    yield "escaped ver", text.replace('"ver":"1.0"', '"ver":"1\\u002e0"'), None
    yield "duplicate member", text[:-1] + ',"ver":"1.0"}', "malformed"
    yield "unknown member", text[:-1] + ',"x":"y"}', None
    yield "unknown float member", text[:-1] + ',"x":1.5}', "malformed"
    yield "float index", text.replace('"leaf_index":1', '"leaf_index":1.0'), "malformed"
    yield "big index", text.replace('"leaf_index":1', '"leaf_index":9007199254740993'), "malformed"
    yield "string index", text.replace('"leaf_index":1', '"leaf_index":"1"'), "malformed"
    yield (
        "index of the other leaf",
        text.replace('"leaf_index":1', '"leaf_index":0'),
        ("invalid_proof"),
    )
    yield "index out of range", text.replace('"leaf_index":1', '"leaf_index":2'), "invalid_proof"
    sibling = good["audit_path"][0]
    yield "upper-case proof", text.replace(sibling, sibling.upper()), "invalid_proof"
    yield (
        "proof too long",
        text.replace(f'"{sibling}"', f'"{sibling}","{sibling}"'),
        ("invalid_proof"),
    )
    yield "no proof", text.replace(f'"{sibling}"', ""), "invalid_proof"
    yield "proof of non-string", text.replace(f'"{sibling}"', "1"), "malformed"
    yield "claims padded", text.replace(claims, claims + "=="), "malformed"
    yield "claims with '+'", text.replace(claims, "+" + claims[1:]), "malformed"
    yield "claims with '/'", text.replace(claims, "/" + claims[1:]), "malformed"
    yield "claims with a space", text.replace(claims, claims[:8] + " " + claims[9:]), "malformed"
    noncanonical = claims[:-1] + chr(ord(claims[-1]) + 1)  # a nonzero unused bit
    yield "claims not canonical", text.replace(claims, noncanonical), "malformed"
    yield "claims, one character less", text.replace(claims, claims[:-1]), "malformed"
    yield "noncharacter", text[:-1] + ',"x":"\ufdd0"}', "malformed"
    yield "lone surrogate", text[:-1] + ',"x":"\\udc00"}', "malformed"
    reordered = {
        name: good[name] for name in ("batch", "audit_path", "leaf_index", "claims", "ver")
    }
    yield "members in another order", json.dumps(reordered, separators=(",", ":")), None
    yield "one space after a colon", text.replace('"leaf_index":', '"leaf_index": '), None
    yield "index written -0", text.replace('"leaf_index":1', '"leaf_index":-0'), "invalid_proof"
    yield "ver 1.1", text.replace('"ver":"1.0"', '"ver":"1.1"'), None
    yield "ver 2.0", text.replace('"ver":"1.0"', '"ver":"2.0"'), "unsupported_version"


@pytest.mark.parametrize(("name", "text", "code"), list(wrapper_mutations()))
def test_batched_object_same_on_both_paths(
    name: str, text: str, code: str | None, monkeypatch: pytest.MonkeyPatch, hot_module: ModuleType
) -> None:
    """REC-062 steps 1 and 3, CONV-011..CONV-016, CONV-041: the fast wrapper parse and the
    strict one agree, with the one expected code, whether the batch statement is cached or
    not."""
    for receipt in (text, text.encode("utf-8", "surrogatepass")):
        for primed in (True, False):
            expect(both(receipt, monkeypatch, hot_module, primed), code)


def test_fast_paths_are_taken(monkeypatch: pytest.MonkeyPatch, hot_module: ModuleType) -> None:
    """The canonical receipt does take the fast paths (so the tests above compare two paths):
    the fast JSON path, and for ASCII claims the hot module's whole path, as text, as an object
    and whole, without the reference steps."""
    assert _json.loads_if_canonical(VALID.encode("utf-8")) == json.loads(VALID)
    assert verifier_module._batched_fast(batched(VALID.encode("utf-8"))) is not None
    assert _json.loads_if_canonical(VALID.replace(",", ", ").encode("utf-8")) is None
    text = batched(VALID_ASCII.encode("ascii"))
    item = json.loads(text)
    verifier = ReceiptVerifier(TRUST, [RATE_CARD], clock=lambda: NOW)
    primer = primer_of(item["batch"])
    assert primer is not None
    verifier.verify(primer)

    def reference(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("the reference path ran")

    monkeypatch.setattr(ReceiptVerifier, "_check_claims", reference)
    monkeypatch.setattr(ReceiptVerifier, "_check_batched", reference)
    for receipt in (text, text.encode("ascii")):
        assert verifier.verify(receipt).raw == json.loads(VALID_ASCII)
    monkeypatch.undo()
    monkeypatch.setattr(ReceiptVerifier, "_check_claims", reference)
    assert verifier.verify(item).raw == json.loads(VALID_ASCII)
    results = verifier.verify_batch(*batch_of(VALID_ASCII.encode("ascii")))
    assert [r.raw for r in results if isinstance(r, VerifiedReceipt)] == [
        json.loads(PRIMER),
        json.loads(VALID_ASCII),
    ]


def test_compact_fast_path_is_taken(hot_module: ModuleType, jws_decodes: list[object]) -> None:
    """A JWS receipt takes the hot module's whole path once a receipt with its header and key
    verified (trust-store mode), and the reference path before that; its content digest is the
    reference's."""
    token = compact(VALID_ASCII.encode("ascii"))
    verifier = ReceiptVerifier(TRUST, [RATE_CARD], clock=lambda: NOW)
    decoded = jws_decodes
    first = verifier.verify(token)
    assert len(decoded) == 1  # not known yet: the reference path
    for receipt in (token, token.encode("ascii"), token + "\n"):
        again = verifier.verify(receipt)
        assert (again.raw, again.kid, again.receipt, again.content_digest) == (
            first.raw,
            first.kid,
            first.receipt,
            first.content_digest,
        )
        assert again.content_digest == "sha256:" + hashlib.sha256(again.claims_bytes).hexdigest()
    assert len(decoded) == 1


ORIGIN = KeyOrigin("https://anchor.example", (ISS, "https://anchor.example"), NOW + 86400)


class _Keys(KeySource):
    """A key source that is not a trust store, as a federation is: its keys come with an origin,
    and its answers may change (``answer``: an error to raise, or another key to give)."""

    def __init__(self) -> None:
        self.asked: list[object] = []
        self.answer: PublicKey | TokenfedError | None = None

    def key_with_origin(self, iss: object, kid: object, typ: str) -> Any:
        self.asked.append(kid)
        if isinstance(self.answer, TokenfedError):
            raise self.answer
        return (self.answer or TRUST.key(iss, kid)), ORIGIN

    def key(self, iss: object, kid: object, typ: str | None = None) -> Any:
        return self.key_with_origin(iss, kid, typ or "")[0]


def test_compact_keys_of_other_key_sources_are_asked_every_time(
    hot_module: ModuleType, jws_decodes: list[object]
) -> None:
    """Only a trust store's keys are held by the hot module: another key source (a federation's,
    or an application's) is asked for every receipt, on the hot path too, and every receipt
    carries the origin it answered with."""
    decoded = jws_decodes
    source = _Keys()
    verifier = ReceiptVerifier(source, [RATE_CARD], clock=lambda: NOW)
    token = compact(VALID_ASCII.encode("ascii"))
    found = [verifier.verify(token) for _ in range(3)]
    assert len(source.asked) == 3
    assert len(decoded) == 1  # the first by the reference path, then the hot module's
    assert [receipt.origin for receipt in found] == [ORIGIN] * 3


def test_compact_key_source_answers_are_followed(
    monkeypatch: pytest.MonkeyPatch, hot_module: ModuleType
) -> None:
    """REC-040 step 5 with a key source whose answer changes after the hot module took its key:
    each receipt gets what the source answers now (an unknown key, the same key revoked before
    the receipt's ``iat``, the key again), with the reference path's code and message."""
    token = compact(VALID_ASCII.encode("ascii"))
    source = _Keys()
    verifier = ReceiptVerifier(source, [RATE_CARD], clock=lambda: NOW)
    for _ in range(2):
        assert verifier.verify(token).origin == ORIGIN
    key = TRUST.key(ISS, KEY.kid)
    revoked = key.with_validity(KeyValidity(nbf=T0, revoked_at=T0 + 60, reason="keyCompromise"))
    answers: list[PublicKey | TokenfedError] = [
        UnknownKeyError("no key for this receipt any more"),
        revoked,
    ]
    for answer in answers:
        source.answer = answer
        reference = ReceiptVerifier(source, [RATE_CARD], clock=lambda: NOW)
        monkeypatch.setattr(verifier_module, "_hot", None)
        with pytest.raises(TokenfedError) as expected:
            reference.verify(token)
        monkeypatch.setattr(verifier_module, "_hot", hot_module)
        for _ in range(2):
            with pytest.raises(TokenfedError) as caught:
                verifier.verify(token)
            assert (caught.value.code, caught.value.message) == (
                expected.value.code,
                expected.value.message,
            )
    assert expected.value.code == "key_not_valid"
    source.answer = None
    assert verifier.verify(token).origin == ORIGIN


@st.composite
def typed_mutations(draw: st.DrawFn) -> str:
    """Values of the right JSON type in canonical form: the fast paths are taken and judged."""
    text = draw(st.sampled_from(list(BASES.values())))
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
def test_typed_mutations_same_on_both_paths(
    monkeypatch: pytest.MonkeyPatch, hot_module: ModuleType, text: str
) -> None:
    """ADR 0010's invariant where the fast paths are taken: a canonical text with other values
    (integers at and beyond 2^53 - 1, ``1.0``, noncharacters, escapes) gets the same result."""
    payload = text.encode("utf-8")
    both(compact(payload), monkeypatch, hot_module)
    both(batched(payload), monkeypatch, hot_module)


def claims_with(**changes: Any) -> bytes:
    """``VALID_ASCII`` with members replaced (``None`` removes one), as JCS bytes."""
    claims = json.loads(VALID_ASCII)
    for name, value in changes.items():
        if value is None:
            claims.pop(name)
        else:
            claims[name] = value
    return _json.canonical_bytes(claims)


def priced(meters: dict[str, int]) -> dict[str, Any]:
    return {
        "usage": {"model": "m1", "meters": meters},
        "amount": str(RATE_CARD.amount_of("m1", meters)),
    }


CLAIM_CASES: dict[str, tuple[bytes, int, str | None]] = {
    # name: (claims, the verifier's clock, the one expected code or None for accepted)
    "valid": (claims_with(), NOW, None),
    "a meter without weight, count 0": (
        claims_with(**priced({"input": 7, "cache_read": 0, "output": 3})),
        NOW,
        None,
    ),
    "a meter without weight, counted": (
        claims_with(
            usage={"model": "m1", "meters": {"input": 7, "cache_read": 5}}, amount="0.0112"
        ),
        NOW,
        "unpriced_meter",
    ),
    "amount 10^-6 more": (claims_with(amount="1.600001"), NOW, "amount_mismatch"),
    "amount 10^-6 less": (claims_with(amount="2.879999"), NOW, "amount_mismatch"),
    "no usage counted": (claims_with(**priced({})), NOW, None),
    "large counts": (
        claims_with(**priced({"input": 2**53 - 1, "output": 2**52 + 7})),
        NOW,
        None,
    ),
    "other rate card": (
        claims_with(rate_card={"id": "other-card", "digest": RATE_CARD.digest}),
        NOW,
        "unknown_rate_card",
    ),
    "other digest": (
        claims_with(rate_card={"id": "fast-card", "digest": "sha256:" + "0" * 64}),
        NOW,
        "rate_card_mismatch",
    ),
    "other model": (
        claims_with(usage={"model": "m2", "meters": {"input": 1000, "output": 200}}),
        NOW,
        "unknown_model",
    ),
    "iat after the batch statement's": (claims_with(iat=NOW + 1), NOW, "invalid_proof"),
    "other issuer": (claims_with(iss="https://other.example"), NOW, "invalid_proof"),
    "iat before the rate card": (claims_with(iat=T0 - 1), NOW, "rate_card_mismatch"),
    "iat in the future": (claims_with(), NOW - 1000, "iat_in_future"),
    "iat at the skew's end": (claims_with(iat=NOW - 60), NOW - 360, None),
    "iat 1 s past the skew": (claims_with(iat=NOW - 59), NOW - 360, "iat_in_future"),
    "seq 1 with prev": (claims_with(seq=1), NOW, "schema_violation"),
    "seq 2 without prev": (claims_with(prev=None), NOW, "schema_violation"),
    "entitlement": (claims_with(entitlement="ent-1"), NOW, None),
    "bad entitlement": (claims_with(entitlement="ent 1"), NOW, "schema_violation"),
    "bad jti": (claims_with(jti="r/1"), NOW, "schema_violation"),
    "bad prev": (claims_with(prev="sha256:" + "AB" * 32), NOW, "schema_violation"),
    "service tier": (
        claims_with(
            usage={
                "model": "m1",
                "meters": {"input": 1000, "output": 200},
                "service_tier": "priority",
            }
        ),
        NOW,
        "unpriced_service_tier",
    ),
}


# A JWS receipt has no batch statement: its iat is bounded by the clock alone, its issuer
# selects the key, and the key's window is checked at its iat (REC-040 step 5) before the rate
# card's (step 10): the test key's window and the card's begin together.
COMPACT_CLAIM_CODES = {
    "iat after the batch statement's": None,
    "other issuer": "unknown_key",
    "iat before the rate card": "key_not_valid",
}


@pytest.mark.parametrize("name", list(CLAIM_CASES))
def test_claim_checks_same_on_both_paths(
    name: str, monkeypatch: pytest.MonkeyPatch, hot_module: ModuleType
) -> None:
    """REC-062 steps 4 and 5 (REC-040 steps 7 to 11, REC-065) in the hot module: issuer and
    iat against the batch statement, time, rate card, model, meters and amount give the one
    expected code on both paths, as text, as an object and whole; and REC-040 steps 5 to 11
    for the same claims in a JWS receipt."""
    payload, now, code = CLAIM_CASES[name]
    monkeypatch.setattr(sys.modules[__name__], "NOW_OF_VERIFIER", now)
    for receipt, expected in (
        (batched(payload), code),
        (compact(payload), COMPACT_CLAIM_CODES.get(name, code)),
    ):
        expect(both(receipt, monkeypatch, hot_module), expected)


def compact_mutations() -> Iterator[tuple[str, str | bytes, str | None]]:
    """JWS receipts around valid ASCII claims: (name, receipt, the one expected code or None).

    The header, signature and key cases of REC-040 steps 1 to 6 (CONV-041 to CONV-049), each
    verified after ``COMPACT_PRIMER`` taught the hot module the header segment and the key."""
    token = compact(VALID_ASCII.encode("ascii"))
    header, payload, signature = token.split(".")
    flipped = signature[:10] + ("A" if signature[10] != "A" else "B") + signature[11:]
    yield "valid", token, None
    yield "valid, as bytes", token.encode("ascii"), None
    yield "valid, surrounded by whitespace", " \t" + token + "\r\n", None
    yield "signature altered", f"{header}.{payload}.{flipped}", "invalid_signature"
    yield "signature padded", token + "==", "malformed"
    yield "signature one character short", token[:-1], "malformed"
    yield "signature of 63 bytes", f"{header}.{payload}.{_b64(b'x' * 63)}", "invalid_signature"
    yield "signature of other claims", f"{header}.{payload[:-4]}AAAA.{signature}", "malformed"
    yield "four segments", token + ".AAAA", "malformed"
    yield "a space inside", token[:40] + " " + token[41:], "malformed"
    yield (
        "a non-ASCII byte",
        token.encode("ascii")[:40] + b"\xc3\xa9" + token.encode()[42:],
        ("malformed"),
    )
    other = generate_key("EdDSA")
    yield "signed by an unknown key", compact(VALID_ASCII.encode("ascii"), other), "unknown_key"
    foreign_header = _b64(
        _json.canonical_bytes(
            {"alg": "EdDSA", "kid": KEY.kid, "typ": "tokenfed-receipt+jwt", "crit": ["x"]}
        )
    )
    signing_input = f"{foreign_header}.{payload}"
    yield (
        "crit header",
        signing_input + "." + _b64(KEY.sign(signing_input.encode("ascii"))),
        "unsupported_crit",
    )
    es_header = _b64(
        _json.canonical_bytes({"alg": "ES256", "kid": KEY.kid, "typ": "tokenfed-receipt+jwt"})
    )
    signing_input = f"{es_header}.{payload}"
    yield (
        "alg not the key's",
        signing_input + "." + _b64(KEY.sign(signing_input.encode("ascii"))),
        "unsupported_alg",
    )
    early = claims_with(iat=T0 - 10).decode("ascii")
    yield "iat before the key's window", compact(early.encode("ascii")), "key_not_valid"
    yield "over the size limit", compact(claims_with(jti="r" * 17000)), "malformed"


@pytest.mark.parametrize("source", ["trust store", "other key source"])
@pytest.mark.parametrize(("name", "receipt", "code"), list(compact_mutations()))
def test_compact_receipt_same_on_both_paths(
    name: str,
    receipt: str | bytes,
    code: str | None,
    source: str,
    monkeypatch: pytest.MonkeyPatch,
    hot_module: ModuleType,
) -> None:
    """REC-040 steps 1 to 6 for JWS receipts: the hot module's whole path (header segment and
    key remembered, or asked for again from a key source that is not a trust store) and the
    reference path agree, with the one expected code, and verify a signature at most once,
    whether the verifier was primed or not; a key source's origin is on every receipt."""
    keys: KeySource = TRUST if source == "trust store" else _Keys()
    for primed in (True, False):
        found = both(receipt, monkeypatch, hot_module, primed, source=keys)
        expect(found, code)
        if code is None:
            assert found[3] == (None if keys is TRUST else ORIGIN)
