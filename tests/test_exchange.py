"""Exchange-rate sets and conversion (spec/exchange.md).

The vectors (spec/vectors/conversion.json, documents.json) fix conversions and document
checks; the tests below add signed sets with real keys, key validity, the API's handling of
Decimal inputs and independence from the decimal context.
"""

from __future__ import annotations

import dataclasses
import decimal
import json
from decimal import Decimal
from typing import Any

import pytest

from tokenfed import _json, errors, hazmat, jws
from tokenfed.exchange import (
    BASE,
    UTU_PRECISION,
    Conversion,
    ExchangeRates,
    ExchangeRatesClaims,
    Rate,
)
from tokenfed.keys import KeyValidity, generate_key
from tokenfed_conformance.vectors import Vector, load_vectors

CONVERSION = load_vectors("conversion")
DOCUMENTS = [v for v in load_vectors("documents") if v.input["kind"] == "exchange-rates"]

NBF = 1795392000
EXP = 1795478400

CLAIMS: dict[str, Any] = {
    "iss": "https://fx.alliance.example",
    "rates_id": "fx-test",
    "ver": "1.0",
    "iat": NBF,
    "nbf": NBF,
    "exp": EXP,
    "base": "UTU",
    "rates": {
        "CNY": {"rate": "7.2", "precision": 2},
        "sht.points": {"rate": "1800000", "precision": 0},
        "cmcc.points": {"rate": "1000", "precision": 0},
    },
}


def _run(vector: Vector) -> dict[str, Any]:
    rates = ExchangeRates.from_claims(vector.input["rates"])
    conversion = rates.convert(
        vector.input["amount"], vector.input["from"], vector.input["to"], at=vector.input.get("at")
    )
    return conversion.to_json()


@pytest.mark.parametrize("vector", CONVERSION.vectors, ids=lambda v: v.id)
def test_conversion_vectors(vector: Vector) -> None:
    """Every conversion vector (FX-020..FX-027): exact result or error code."""
    if vector.error is not None:
        with pytest.raises(errors.TokenfedError) as caught:
            _run(vector)
        assert caught.value.code == vector.error, caught.value.message
    else:
        assert _run(vector) == vector.expected


@pytest.mark.parametrize("vector", DOCUMENTS, ids=lambda v: v.id)
def test_document_vectors(vector: Vector) -> None:
    """Exchange-rate documents: accepted with the expected digest (FX-009) or rejected with
    the expected code (FX-002..FX-008, FX-010; CONV-001, CONV-004, CONV-016). A ``text`` input
    is parsed strictly first (CONV-010..CONV-016)."""

    def load() -> tuple[ExchangeRates, Any]:
        if "text" in vector.input:
            document = _json.loads(vector.input["text"].encode("utf-8"))
        else:
            document = vector.input["document"]
        return ExchangeRates.from_claims(document), document

    if vector.error is not None:
        with pytest.raises(errors.TokenfedError) as caught:
            load()
        assert caught.value.code == vector.error, caught.value.message
    else:
        rates, document = load()
        assert {"valid": True, "digest": rates.digest} == vector.expected
        assert rates.claims.to_wire() == document


def test_worked_example() -> None:
    """The chapter's worked example (FX-024, FX-025): yuan, points and UTU agree."""
    rates = ExchangeRates.from_claims(CLAIMS)
    assert rates.convert("1", "CNY", "sht.points").amount == Decimal(250000)
    assert rates.convert("0.0045", "UTU", "CNY").amount == Decimal("0.03")
    assert rates.convert("0.0045", "UTU", "sht.points").amount == Decimal(8100)
    assert rates.convert("0.01", "CNY", "sht.points").amount == Decimal(2500)
    assert rates.convert("3", "sht.points", "CNY").amount == Decimal(0)
    assert rates.convert("125", "sht.points", "UTU").amount == Decimal("0.000069")


def test_utu_is_implicit() -> None:
    """FX-007: UTU has rate 1 and precision 6 without being listed."""
    rates = ExchangeRates.from_claims(CLAIMS)
    assert BASE == "UTU"
    assert rates.precision("UTU") == UTU_PRECISION == 6
    assert rates.precision("CNY") == 2
    assert rates.precision("sht.points") == 0
    assert rates.convert("0.123456", "UTU", "UTU").amount == Decimal("0.123456")


def test_unknown_code_message() -> None:
    """FX-022: the error names the code and lists the known ones."""
    rates = ExchangeRates.from_claims(CLAIMS)
    with pytest.raises(errors.UnknownCurrencyError) as caught:
        rates.convert("1", "CNY", "EUR")
    assert "'EUR'" in caught.value.message
    assert "CNY" in caught.value.message
    assert "FX-022" in caught.value.message
    with pytest.raises(errors.UnknownCurrencyError):
        rates.precision("EUR")


def test_validity_window() -> None:
    """FX-008, FX-021: valid for nbf <= t < exp; without t the check is skipped."""
    rates = ExchangeRates.from_claims(CLAIMS)
    assert rates.is_valid_at(NBF)
    assert rates.is_valid_at(EXP - 1)
    assert not rates.is_valid_at(EXP)
    assert not rates.is_valid_at(NBF - 1)
    assert rates.convert("1", "CNY", "UTU").code == "UTU"
    with pytest.raises(errors.RatesNotValidError) as caught:
        rates.convert("1", "CNY", "UTU", at=EXP)
    assert "FX-021" in caught.value.message


def test_amount_digits_message() -> None:
    """FX-023: too many fractional digits for the source code, named in the message."""
    rates = ExchangeRates.from_claims(CLAIMS)
    with pytest.raises(errors.InvalidAmountError) as caught:
        rates.convert("0.001", "CNY", "UTU")
    assert "CNY" in caught.value.message
    assert "FX-023" in caught.value.message


def test_decimal_inputs() -> None:
    """FX-023 for API callers: a Decimal is taken by value (trailing zeros do not count as
    digits); non-finite values, floats and booleans are refused."""
    rates = ExchangeRates.from_claims(CLAIMS)
    assert rates.convert(Decimal("1.50"), "CNY", "sht.points").amount == Decimal(375000)
    assert rates.convert(Decimal("1E+2"), "sht.points", "CNY").amount == Decimal("0")
    assert rates.convert(7, "cmcc.points", "sht.points").amount == Decimal(12600)
    with pytest.raises(errors.InvalidAmountError):
        rates.convert(Decimal("1.505"), "CNY", "UTU")
    for bad in (Decimal("NaN"), Decimal("Infinity"), True, 1.5, None):
        with pytest.raises(errors.InvalidAmountError):
            rates.convert(bad, "CNY", "UTU")  # type: ignore[arg-type]
    with pytest.raises(errors.InvalidAmountError):
        rates.convert(Decimal("1E+100"), "UTU", "CNY")


def test_conversion_ignores_the_decimal_context() -> None:
    """FX-026: a tiny ambient decimal context changes nothing."""
    rates = ExchangeRates.from_claims(
        {**CLAIMS, "rates": {"XAU": {"rate": "0.000312345678901234", "precision": 18}}}
    )
    expected = rates.convert("123456789012345678.123456", "UTU", "XAU")
    with decimal.localcontext() as ctx:
        ctx.prec = 2
        ctx.rounding = decimal.ROUND_CEILING
        again = rates.convert("123456789012345678.123456", "UTU", "XAU")
    assert again == expected
    assert expected.to_json()["amount"] == "38561194579027.516992592976901083"


def test_conversion_result() -> None:
    """FX-027: the result object and its JSON form; it cannot be altered."""
    rates = ExchangeRates.from_claims(CLAIMS)
    result = rates.convert("-1", "CNY", "cmcc.points")
    assert isinstance(result, Conversion)
    assert result.to_json() == {"amount": "-139", "code": "cmcc.points", "rates_id": "fx-test"}
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.code = "CNY"  # type: ignore[misc]
    assert rates.id == "fx-test"


def test_models_round_trip() -> None:
    """FX-005, FX-006 and CONV-005: the models keep unknown members on the wire."""
    rate = Rate.model_validate({"rate": "7.2", "precision": 2, "x-note": "cash"})
    assert rate.rate == Decimal("7.2")
    assert rate.to_wire() == {"rate": "7.2", "precision": 2, "x-note": "cash"}
    claims = ExchangeRatesClaims.model_validate(CLAIMS)
    assert claims.to_wire() == CLAIMS


def test_digest_covers_unknown_members() -> None:
    """FX-009: the digest is over the claims as received, unknown members included."""
    plain = ExchangeRates.from_claims(CLAIMS)
    extended = ExchangeRates.from_claims({**CLAIMS, "x-source": "treasury"})
    assert plain.digest != extended.digest
    assert extended.raw["x-source"] == "treasury"


# --- signed sets ---------------------------------------------------------------------------


def test_sign_and_verify_round_trip() -> None:
    """FX-001: a signed set carries typ tokenfed-exchange-rates+jwt and verifies with its key."""
    key = generate_key()
    token = ExchangeRates.sign(CLAIMS, key)
    assert (
        hazmat.decode_unverified(token, jws.TYP_EXCHANGE_RATES).header["typ"]
        == "tokenfed-exchange-rates+jwt"
    )
    rates = ExchangeRates.from_jws(token, key.public_key())
    assert rates.token == token
    assert rates.digest == ExchangeRates.from_claims(CLAIMS).digest
    assert ExchangeRates.parse(token + "\n", key.public_key()).id == "fx-test"


def test_rate_card_token_is_not_a_rate_set() -> None:
    """FX-001 / CONV-043: a rate card JWS is refused by typ."""
    key = generate_key()
    token = jws.sign(CLAIMS, key, jws.TYP_RATE_CARD)
    with pytest.raises(errors.UnsupportedTypError):
        ExchangeRates.from_jws(token, key.public_key())


def test_sign_refuses_invalid_claims() -> None:
    """FX-004, FX-005: sign validates first; an invalid set is never signed."""
    key = generate_key()
    with pytest.raises(errors.InvalidAmountError):
        ExchangeRates.sign({**CLAIMS, "rates": {"CNY": {"rate": "0", "precision": 2}}}, key)
    with pytest.raises(errors.SchemaViolationError):
        ExchangeRates.sign({**CLAIMS, "rates": {"UTU": {"rate": "1", "precision": 6}}}, key)


def test_tampered_set_is_refused() -> None:
    """FX-010 step 1: a changed payload fails the signature (CONV-049)."""
    key = generate_key()
    token = ExchangeRates.sign(CLAIMS, key)
    cheaper = ExchangeRates.sign({**CLAIMS, "rates": {"CNY": {"rate": "1", "precision": 2}}}, key)
    forged = ".".join([token.split(".")[0], cheaper.split(".")[1], token.split(".")[2]])
    with pytest.raises(errors.InvalidSignatureError):
        ExchangeRates.from_jws(forged, key.public_key())


@pytest.mark.parametrize(
    ("validity", "ok"),
    [
        (KeyValidity(nbf=NBF + 1), False),
        (KeyValidity(exp=NBF), False),
        (KeyValidity(revoked_at=NBF - 10), False),
        (KeyValidity(nbf=NBF - 10, exp=NBF + 1), True),
    ],
)
def test_key_valid_at_iat(validity: KeyValidity, ok: bool) -> None:
    """FX-010 step 5: the verifying key must have been valid at the set's iat."""
    key = generate_key()
    token = ExchangeRates.sign(CLAIMS, key)
    if ok:
        assert ExchangeRates.from_jws(token, key.public_key(validity)).id == "fx-test"
    else:
        with pytest.raises(errors.KeyNotValidError) as caught:
            ExchangeRates.from_jws(token, key.public_key(validity))
        assert "FX-010" in caught.value.message


def test_parse_refuses_unsigned_claims_when_a_key_is_given() -> None:
    """FX-011: with a key, unsigned claims are refused with invalid_signature."""
    key = generate_key()
    text = json.dumps(CLAIMS)
    assert ExchangeRates.parse_unverified(text).id == "fx-test"
    with pytest.raises(errors.InvalidSignatureError) as caught:
        ExchangeRates.parse(text, key.public_key())
    assert "FX-011" in caught.value.message


def test_parse_is_strict_json() -> None:
    """FX-010 step 1 for claims text: strict I-JSON (CONV-011, CONV-013)."""
    with pytest.raises(errors.MalformedError):
        ExchangeRates.parse_unverified('{"rates_id": "a", "rates_id": "b"}')
    with pytest.raises(errors.MalformedError):
        ExchangeRates.parse_unverified(
            json.dumps(CLAIMS).replace('"precision": 2', '"precision": 2.0')
        )


def test_repr_names_the_set() -> None:
    """A set's repr shows its id and digest (FX-009)."""
    rates = ExchangeRates.from_claims(CLAIMS)
    assert repr(rates) == f"ExchangeRates(id='fx-test', digest='{rates.digest}')"
