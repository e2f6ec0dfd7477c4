"""Usage objects, rate cards and pricing (spec/units.md).

The language-neutral vectors (spec/vectors/pricing.json, documents.json) fix most behaviour;
the tests below add what vectors cannot express: signed rate cards with real keys, key
validity, the digest's relation to the signed payload, independence from the decimal context,
lazy price lines, and error messages a person can act on.
"""

from __future__ import annotations

import dataclasses
import decimal
import hashlib
import json
from decimal import Decimal
from types import MappingProxyType
from typing import Any

import pytest

from tokenfed import _json, errors, jws
from tokenfed._b64 import b64decode, b64encode
from tokenfed._json import canonical_bytes
from tokenfed._model import Document, validate
from tokenfed.keys import KeyValidity, generate_key
from tokenfed.units import (
    METERS,
    UTU,
    ModelRates,
    Price,
    RateCard,
    RateCardClaims,
    Tier,
    Usage,
    is_extension_meter,
    parse_usage,
)
from tokenfed_conformance.vectors import Vector, load_vectors

PRICING = load_vectors("pricing")
DOCUMENTS = load_vectors("documents")

NBF = 1795000000
EXP = 1797600000

CLAIMS: dict[str, Any] = {
    "iss": "https://tokens.provider-a.example",
    "rate_card_id": "pa-test",
    "ver": "1.0",
    "iat": NBF,
    "nbf": NBF,
    "exp": EXP,
    "unit": "UTU",
    "models": {
        "m": {
            "weights": {"input": "0.0000012", "cache_read": "0.00000024", "output": "0.000006"},
            "tiers": [{"above_input": 128000, "weights": {"input": "0.0000024"}}],
            "minimum": "0.000001",
        }
    },
}


def _card(**changes: Any) -> dict[str, Any]:
    claims = {**CLAIMS, **changes}
    return claims


def _run_pricing(vector: Vector) -> dict[str, Any]:
    card = RateCard.from_claims(vector.input["rate_card"])
    usage = parse_usage(vector.input["usage"])
    return card.price(usage, at=vector.input.get("at")).to_json()


@pytest.mark.parametrize("vector", PRICING.vectors, ids=lambda v: v.id)
def test_pricing_vectors(vector: Vector) -> None:
    """Every pricing vector (UNIT-040..UNIT-050, UNIT-060..UNIT-062): exact price or error code."""
    if vector.error is not None:
        with pytest.raises(errors.TokenfedError) as caught:
            _run_pricing(vector)
        assert caught.value.code == vector.error, caught.value.message
    else:
        assert _run_pricing(vector) == vector.expected


CARD_DOCUMENTS = [v for v in DOCUMENTS if v.input["kind"] in {"rate-card", "usage"}]


@pytest.mark.parametrize("vector", CARD_DOCUMENTS, ids=lambda v: v.id)
def test_document_vectors(vector: Vector) -> None:
    """Rate-card and usage documents: accepted with the expected digest (UNIT-029) or rejected
    with the expected code (UNIT-020..UNIT-027, UNIT-030, UNIT-002..UNIT-008; CONV-001,
    CONV-004, CONV-007, CONV-016 for the conventions vectors). A ``text`` input is parsed
    strictly first, as a receiver reads a document (CONV-010..CONV-016)."""

    def load() -> dict[str, Any]:
        if "text" in vector.input:
            document = _json.loads(vector.input["text"].encode("utf-8"))
        else:
            document = vector.input["document"]
        if vector.input["kind"] == "rate-card":
            card = RateCard.from_claims(document)
            return {"valid": True, "digest": card.digest}
        parse_usage(document)
        return {"valid": True}

    if vector.error is not None:
        with pytest.raises(errors.TokenfedError) as caught:
            load()
        assert caught.value.code == vector.error, caught.value.message
    else:
        assert load() == vector.expected


def test_meter_registry() -> None:
    """The registry names and order of UNIT-003 / UNIT-061; registry names contain no dot."""
    assert METERS == (
        "input",
        "cache_read",
        "cache_write",
        "output",
        "reasoning",
        "image_in",
        "image_out",
        "audio_in_ms",
        "audio_out_ms",
        "request",
        "tool_call",
        "web_search",
    )
    assert not any("." in name for name in METERS)
    assert not any(is_extension_meter(name) for name in METERS)


@pytest.mark.parametrize(
    ("name", "valid"),
    [
        ("acme.gpu_seconds", True),
        ("openai.audio_in_tokens", True),
        ("a.b.c", True),
        ("a1.b_2", True),
        ("a." + "b" * 62, True),
        ("a." + "b" * 63, False),
        ("acme", False),
        ("acme.", False),
        (".gpu", False),
        ("Acme.gpu", False),
        ("acme.GPU", False),
        ("1acme.gpu", False),
        ("acme._gpu", False),
        ("acme..gpu", False),
        ("acme-x.gpu", False),
        ("", False),
    ],
)
def test_extension_meter_syntax(name: str, valid: bool) -> None:
    """Extension meter names: lowercase dotted labels, at most 64 characters (UNIT-008)."""
    assert is_extension_meter(name) is valid


def test_is_extension_meter_non_string() -> None:
    """A non-string is never a meter name (UNIT-003)."""
    assert is_extension_meter(None) is False
    assert is_extension_meter(12) is False


def test_usage_check_order() -> None:
    """UNIT-007: shape before names before counts; each failure has its own code."""
    with pytest.raises(errors.SchemaViolationError):
        parse_usage({"meters": {"thinking": -1}})
    with pytest.raises(errors.UnknownMeterError):
        parse_usage({"model": "m", "meters": {"input": -1, "thinking": 1}})
    with pytest.raises(errors.InvalidUsageError):
        parse_usage({"model": "m", "meters": {"input": -1}})
    with pytest.raises(errors.SchemaViolationError):
        parse_usage(["model", "m"])


def test_usage_accepts_mappings_and_models() -> None:
    """parse_usage takes any mapping and returns a Usage unchanged (UNIT-002); absent meters
    count 0 (UNIT-006)."""
    usage = parse_usage(MappingProxyType({"model": "m", "meters": {"input": 3}}))
    assert isinstance(usage, Usage)
    assert parse_usage(usage) is usage
    assert usage.count("input") == 3
    assert usage.count("output") == 0


def test_usage_error_messages_are_actionable() -> None:
    """Errors name the member, the value and the requirement (UNIT-003, UNIT-004)."""
    with pytest.raises(errors.UnknownMeterError) as unknown:
        parse_usage({"model": "m", "meters": {"thinking": 1}})
    assert "thinking" in unknown.value.message
    assert "UNIT-003" in unknown.value.message
    with pytest.raises(errors.InvalidUsageError) as negative:
        parse_usage({"model": "m", "meters": {"output": -7}})
    assert "output" in negative.value.message
    assert "-7" in negative.value.message
    assert "UNIT-004" in negative.value.message


def test_usage_inside_another_model_keeps_codes() -> None:
    """A Usage nested in another document still reports unknown_meter / invalid_usage
    (UNIT-003, UNIT-004), not a generic schema_violation."""

    class Holder(Document):
        usage: Usage

    with pytest.raises(errors.UnknownMeterError):
        validate(Holder, {"usage": {"model": "m", "meters": {"thinking": 1}}})
    with pytest.raises(errors.InvalidUsageError):
        validate(Holder, {"usage": {"model": "m", "meters": {"input": True}}})
    holder = validate(Holder, {"usage": {"model": "m", "meters": {"input": 1}}})
    assert holder.usage.meters == {"input": 1}


# --- rate cards: validity, digest, copies ----------------------------------------------------


def test_validity_window() -> None:
    """UNIT-028: valid for nbf <= t < exp."""
    card = RateCard.from_claims(CLAIMS)
    assert card.is_valid_at(NBF)
    assert card.is_valid_at(EXP - 1)
    assert not card.is_valid_at(NBF - 1)
    assert not card.is_valid_at(EXP)


def test_price_at_checks_validity_only_when_given() -> None:
    """UNIT-042: a time outside the window fails; no time skips the check."""
    card = RateCard.from_claims(CLAIMS)
    usage = parse_usage({"model": "m", "meters": {"input": 10}})
    assert card.price(usage).amount == Decimal("0.000012")
    with pytest.raises(errors.RateCardNotValidError) as caught:
        card.price(usage, at=EXP)
    assert "UNIT-042" in caught.value.message
    assert caught.value.detail == {"at": EXP, "nbf": NBF, "exp": EXP}


def test_digest_covers_unknown_members() -> None:
    """UNIT-029: the digest is over the claims as received, unknown members included."""
    plain = RateCard.from_claims(CLAIMS)
    extended = RateCard.from_claims({**CLAIMS, "x-note": "promo"})
    assert plain.digest != extended.digest
    assert extended.raw["x-note"] == "promo"
    assert extended.claims.to_wire()["x-note"] == "promo"
    assert plain.digest.startswith("sha256:")
    assert len(plain.digest) == len("sha256:") + 64


def test_from_claims_copies_its_input() -> None:
    """UNIT-029: later changes to the caller's dict cannot change a card or its digest."""
    claims = {**CLAIMS, "models": {"m": {"weights": {"input": "0.000001"}}}}
    card = RateCard.from_claims(claims)
    before = card.digest
    claims["models"]["m"]["weights"]["input"] = "5"
    claims["x-late"] = 1
    assert card.raw["models"]["m"]["weights"]["input"] == "0.000001"
    assert "x-late" not in card.raw
    assert card.digest == before
    assert card.price(parse_usage({"model": "m", "meters": {"input": 1}})).amount == Decimal(
        "0.000001"
    )


@pytest.mark.parametrize(
    ("extra", "code"),
    [
        (1.5, "malformed"),
        (2**53, "malformed"),
        ({1: "x"}, "malformed"),
        ({"set": {1, 2}}, "malformed"),
    ],
)
def test_claims_must_be_json(extra: object, code: str) -> None:
    """Values no strict I-JSON text can hold are refused before validation (CONV-012,
    CONV-013), so a card's digest and signature are always well defined (UNIT-029)."""
    with pytest.raises(errors.TokenfedError) as caught:
        RateCard.from_claims({**CLAIMS, "x-extra": extra})
    assert caught.value.code == code


def test_claims_model_defaults_and_round_trip() -> None:
    """UNIT-024: tiers default to [] and minimum to 0; to_wire leaves them out when absent
    and keeps unknown members (CONV-005)."""
    rates = ModelRates.model_validate({"weights": {"input": "1"}, "x-a": [1]})
    assert rates.tiers == []
    assert rates.minimum == Decimal(0)
    assert rates.to_wire() == {"weights": {"input": "1"}, "x-a": [1]}
    tier = Tier.model_validate({"above_input": 5, "weights": {}, "x-b": None})
    assert tier.to_wire() == {"above_input": 5, "weights": {}, "x-b": None}
    claims = RateCardClaims.model_validate(CLAIMS)
    assert claims.to_wire() == CLAIMS


def test_weight_error_names_member() -> None:
    """UNIT-020: an invalid weight names its path and value."""
    claims = _card(models={"m": {"weights": {"output": "1.50"}}})
    with pytest.raises(errors.InvalidAmountError) as caught:
        RateCard.from_claims(claims)
    assert "/models/m/weights/output" in caught.value.message
    assert "1.50" in caught.value.message


def test_tier_order_error_message() -> None:
    """UNIT-025: tiers out of order are a schema_violation naming the tier."""
    claims = _card(
        models={
            "m": {
                "weights": {},
                "tiers": [
                    {"above_input": 10, "weights": {}},
                    {"above_input": 10, "weights": {}},
                ],
            }
        }
    )
    with pytest.raises(errors.SchemaViolationError) as caught:
        RateCard.from_claims(claims)
    assert "UNIT-025" in caught.value.message
    assert "tiers/1" in caught.value.message


def test_nbf_before_exp_message() -> None:
    """UNIT-027: nbf == exp is refused with schema_violation."""
    with pytest.raises(errors.SchemaViolationError) as caught:
        RateCard.from_claims(_card(exp=NBF))
    assert "UNIT-027" in caught.value.message


# --- signed rate cards ------------------------------------------------------------------------


def test_sign_and_verify_round_trip() -> None:
    """UNIT-021: a signed card carries typ tokenfed-rate-card+jwt and verifies with its key."""
    key = generate_key()
    token = RateCard.sign(CLAIMS, key)
    decoded = jws.verify(token, jws.TYP_RATE_CARD, key.public_key())
    assert decoded.header["typ"] == "tokenfed-rate-card+jwt"
    card = RateCard.from_jws(token, key.public_key())
    assert card.token == token
    assert card.id == "pa-test"
    assert card.claims.to_wire() == CLAIMS


def test_es256_cards_verify() -> None:
    """UNIT-021 with the optional ES256 algorithm (CONV-042)."""
    key = generate_key("ES256")
    card = RateCard.from_jws(RateCard.sign(CLAIMS, key), key.public_key())
    assert card.digest == RateCard.from_claims(CLAIMS).digest


def test_digest_is_hash_of_signed_payload() -> None:
    """UNIT-029: for a conforming card the digest is SHA-256 of the JWS payload bytes."""
    key = generate_key()
    token = RateCard.sign({**CLAIMS, "x-note": "é"}, key)
    payload = b64decode(token.split(".")[1])
    card = RateCard.from_jws(token, key.public_key())
    assert card.digest == "sha256:" + hashlib.sha256(payload).hexdigest()


def test_sign_refuses_invalid_claims() -> None:
    """UNIT-020: sign validates first; an invalid card is never signed."""
    key = generate_key()
    with pytest.raises(errors.InvalidAmountError):
        RateCard.sign(_card(models={"m": {"weights": {"input": "1e-3"}}}), key)
    with pytest.raises(errors.SchemaViolationError):
        RateCard.sign(_card(unit="CNY"), key)


def test_tampered_card_is_refused() -> None:
    """UNIT-030 step 1: a changed payload fails the signature (CONV-049)."""
    key = generate_key()
    token = RateCard.sign(CLAIMS, key)
    other = RateCard.sign({**CLAIMS, "models": {"m": {"weights": {"input": "0"}}}}, key)
    forged = ".".join([token.split(".")[0], other.split(".")[1], token.split(".")[2]])
    with pytest.raises(errors.InvalidSignatureError):
        RateCard.from_jws(forged, key.public_key())


def test_card_signed_by_another_key() -> None:
    """UNIT-030 step 1: a card signed by a key other than the trusted one (CONV-045)."""
    token = RateCard.sign(CLAIMS, generate_key())
    with pytest.raises(errors.UnknownKeyError):
        RateCard.from_jws(token, generate_key().public_key())


def test_exchange_rates_token_is_not_a_rate_card() -> None:
    """UNIT-021 / CONV-043: a JWS of another kind is refused by typ, even when well signed."""
    key = generate_key()
    token = jws.sign(CLAIMS, key, jws.TYP_EXCHANGE_RATES)
    with pytest.raises(errors.UnsupportedTypError):
        RateCard.from_jws(token, key.public_key())
    with pytest.raises(errors.UnsupportedTypError):
        RateCard.from_jws_unverified(token)


def test_version_checked_before_schema_in_jws() -> None:
    """UNIT-030 steps 2 and 3: ver 2.0 is unsupported_version even with a bad weight."""
    key = generate_key()
    claims = _card(ver="2.0", models={"m": {"weights": {"input": "1.50"}}})
    token = jws.sign(claims, key, jws.TYP_RATE_CARD)
    with pytest.raises(errors.UnsupportedVersionError):
        RateCard.from_jws(token, key.public_key())


def test_signature_checked_before_version() -> None:
    """UNIT-030: the signature step comes before the version step (CONV-060)."""
    key = generate_key()
    token = jws.sign(_card(ver="2.0"), key, jws.TYP_RATE_CARD)
    with pytest.raises(errors.UnknownKeyError):
        RateCard.from_jws(token, generate_key().public_key())


@pytest.mark.parametrize(
    ("validity", "code"),
    [
        (KeyValidity(nbf=NBF + 1), "key_not_valid"),
        (KeyValidity(exp=NBF), "key_not_valid"),
        (KeyValidity(revoked_at=NBF, reason="compromised"), "key_not_valid"),
        (KeyValidity(nbf=NBF, exp=NBF + 1), None),
        (KeyValidity(revoked_at=NBF + 1), None),
    ],
)
def test_key_valid_at_iat(validity: KeyValidity, code: str | None) -> None:
    """UNIT-031: the verifying key must have been valid at the card's iat."""
    key = generate_key()
    token = RateCard.sign(CLAIMS, key)
    public = key.public_key(validity)
    if code is None:
        assert RateCard.from_jws(token, public).id == "pa-test"
    else:
        with pytest.raises(errors.TokenfedError) as caught:
            RateCard.from_jws(token, public)
        assert caught.value.code == code
        assert "UNIT-031" in caught.value.message


def test_key_step_comes_before_signature_and_version() -> None:
    """UNIT-030 step 2 (UNIT-031) precedes the signature and version steps (CONV-060)."""
    key = generate_key()
    late = key.public_key(KeyValidity(nbf=NBF + 10))
    token = RateCard.sign(CLAIMS, key)
    header, _, signature = token.split(".")
    forged = f"{header}.{RateCard.sign(_card(rate_card_id='x'), key).split('.')[1]}.{signature}"
    with pytest.raises(errors.KeyNotValidError):
        RateCard.from_jws(forged, late)
    with pytest.raises(errors.InvalidSignatureError):
        RateCard.from_jws(forged, key.public_key())
    future = jws.sign(_card(ver="2.0"), key, jws.TYP_RATE_CARD)
    with pytest.raises(errors.KeyNotValidError):
        RateCard.from_jws(future, late)


def test_key_validity_skipped_for_non_integer_iat() -> None:
    """UNIT-031 applies when iat is an integer; otherwise the schema step reports it."""
    key = generate_key()
    token = jws.sign(_card(iat="soon"), key, jws.TYP_RATE_CARD)
    with pytest.raises(errors.SchemaViolationError):
        RateCard.from_jws(token, key.public_key(KeyValidity(nbf=NBF + 10)))


def test_alg_pinned_to_the_key() -> None:
    """UNIT-031: the header alg must be the trusted key's algorithm (CONV-044)."""
    ed = generate_key()
    token = RateCard.sign(CLAIMS, ed)
    header = {"alg": "ES256", "typ": jws.TYP_RATE_CARD, "kid": ed.kid}
    swapped = b64encode(canonical_bytes(header)) + "." + ".".join(token.split(".")[1:])
    with pytest.raises(errors.UnsupportedAlgError):
        RateCard.from_jws(swapped, ed.public_key())


def test_from_jws_without_key_skips_only_the_signature() -> None:
    """UNIT-030 as documented for key=None: every check but the signature is made."""
    key = generate_key()
    token = RateCard.sign(CLAIMS, key)
    header, _, signature = token.split(".")
    other = RateCard.sign(_card(rate_card_id="other"), key).split(".")[1]
    card = RateCard.from_jws_unverified(f"{header}.{other}.{signature}")
    assert not card.verified
    assert card.id == "other"
    bad = jws.sign(_card(models={"m": {"weights": {"input": "-1"}}}), key, jws.TYP_RATE_CARD)
    with pytest.raises(errors.InvalidAmountError):
        RateCard.from_jws_unverified(bad)
    with pytest.raises(errors.MalformedError):
        RateCard.from_jws_unverified("not-a-jws")


def test_parse_json_or_jws() -> None:
    """RateCard.parse reads claims JSON text strictly, or a JWS (UNIT-021, UNIT-030)."""
    key = generate_key()
    token = RateCard.sign(CLAIMS, key)
    text = '  {"iss": "https://tokens.provider-a.example", "rate_card_id": "pa-test", '
    text += '"ver": "1.0", "iat": 1795000000, "nbf": 1795000000, "exp": 1797600000, '
    text += '"unit": "UTU", "models": {"m": {"weights": {"input": "0.000001"}}}}'
    assert RateCard.parse_unverified(text).id == "pa-test"
    assert RateCard.parse_unverified(text.encode()).id == "pa-test"
    assert RateCard.parse(token + "\n", key.public_key()).token == token
    with pytest.raises(errors.MalformedError):
        RateCard.parse_unverified('{"a": 1, "a": 2}')
    with pytest.raises(errors.MalformedError):
        RateCard.parse_unverified(text.replace('"iat": 1795000000', '"iat": 1795000000.0'))
    with pytest.raises(errors.MalformedError):
        RateCard.parse_unverified("\ufeff" + text)


def test_parse_refuses_unsigned_claims_when_a_key_is_given() -> None:
    """UNIT-032: with a key, unsigned claims are refused with invalid_signature."""
    key = generate_key()
    text = RateCard.from_claims(CLAIMS).raw
    with pytest.raises(errors.InvalidSignatureError) as caught:
        RateCard.parse(json.dumps(text), key.public_key())
    assert "UNIT-032" in caught.value.message
    # CONV-010, CONV-041: text that is neither JSON nor a JWS is malformed, not "unsigned".
    token = RateCard.sign(CLAIMS, key)
    for broken in ("\ufeff" + token, "{garbage", "\ufeff" + json.dumps(text)):
        with pytest.raises(errors.MalformedError):
            RateCard.parse(broken, key.public_key())


# --- pricing details ------------------------------------------------------------------------


def test_price_object() -> None:
    """UNIT-060..UNIT-062: amount, unit, rate card reference, lines, tier, minimum flag."""
    card = RateCard.from_claims(CLAIMS)
    price = card.price(parse_usage({"model": "m", "meters": {"output": 2, "input": 200000}}))
    assert isinstance(price, Price)
    assert price.amount == Decimal("0.480012")
    assert str(price.amount) == "0.480012"
    assert price.unit == UTU
    assert price.rate_card_id == "pa-test"
    assert price.rate_card_digest == card.digest
    assert price.tier == 128000
    assert price.minimum_applied is False
    assert [(line.meter, line.count, line.weight, line.amount) for line in price.lines] == [
        ("input", 200000, Decimal("0.0000024"), Decimal("0.48")),
        ("output", 2, Decimal("0.000006"), Decimal("0.000012")),
    ]
    assert price.lines is price.lines
    assert price.to_json()["lines"][0] == {
        "meter": "input",
        "count": 200000,
        "weight": "0.0000024",
        "amount": "0.48",
    }


def test_price_is_frozen() -> None:
    """A Price cannot be altered after pricing (UNIT-060)."""
    card = RateCard.from_claims(CLAIMS)
    price = card.price(parse_usage({"model": "m", "meters": {"input": 1}}))
    with pytest.raises(dataclasses.FrozenInstanceError):
        price.amount = Decimal(1)  # type: ignore[misc]


def test_prices_compare_by_value() -> None:
    """Two pricings of equal usages are equal; of different usages, not (UNIT-060)."""
    card = RateCard.from_claims(CLAIMS)
    one = card.price(parse_usage({"model": "m", "meters": {"input": 10, "output": 1}}))
    two = card.price(parse_usage({"model": "m", "meters": {"output": 1, "input": 10}}))
    three = card.price(parse_usage({"model": "m", "meters": {"input": 11}}))
    assert one == two
    assert one != three
    assert hash(one) == hash(two)


def test_pricing_ignores_the_decimal_context() -> None:
    """UNIT-050: a tiny ambient decimal context changes nothing."""
    claims = _card(models={"m": {"weights": {"output": "123456.123456789"}}})
    card = RateCard.from_claims(claims)
    usage = parse_usage({"model": "m", "meters": {"output": 2**53 - 1}})
    expected = card.price(usage).to_json()
    with decimal.localcontext() as ctx:
        ctx.prec = 3
        ctx.rounding = decimal.ROUND_DOWN
        again = RateCard.from_claims(claims).price(usage)
        assert again.to_json() == expected
    assert expected["amount"] == "1111993903193201658411.775538"


def test_error_messages_name_model_and_meter() -> None:
    """UNIT-043, UNIT-046: errors say which model or meter and cite the requirement."""
    card = RateCard.from_claims(CLAIMS)
    with pytest.raises(errors.UnknownModelError) as unknown:
        card.price(parse_usage({"model": "gpt-9", "meters": {}}))
    assert "gpt-9" in unknown.value.message
    assert "UNIT-043" in unknown.value.message
    with pytest.raises(errors.UnpricedMeterError) as unpriced:
        card.price(parse_usage({"model": "m", "meters": {"image_out": 2}}))
    assert "image_out" in unpriced.value.message
    assert "UNIT-046" in unpriced.value.message
    assert unpriced.value.detail == {"model": "m", "meter": "image_out"}


def test_amount_precision_is_utu() -> None:
    """UNIT-001: a price amount has at most 6 fractional digits."""
    claims = _card(models={"m": {"weights": {"input": "0.000000007"}}})
    price = RateCard.from_claims(claims).price(parse_usage({"model": "m", "meters": {"input": 99}}))
    assert price.amount == Decimal("0.000001")
    assert price.lines[0].amount == Decimal("0.000000693")


def test_repr_names_the_card() -> None:
    """A card's repr shows its id and digest, not its whole claims (UNIT-029)."""
    card = RateCard.from_claims(CLAIMS)
    assert repr(card) == f"RateCard(id='pa-test', digest='{card.digest}')"
