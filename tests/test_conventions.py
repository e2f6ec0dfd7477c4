"""Conventions that cut across chapters (CONV-001..CONV-006, CONV-022, CONV-024, ERR, SPEC)."""

from __future__ import annotations

import ast
from decimal import Decimal
from pathlib import Path

import pytest

import tokenfed
from tokenfed import _model
from tokenfed.errors import (
    InvalidAmountError,
    SchemaViolationError,
    TokenfedError,
    UnsupportedVersionError,
    registry,
)
from tokenfed.units import RateCard

SDK = Path(tokenfed.__file__).resolve().parent
CARD = {
    "iss": "https://provider.example",
    "rate_card_id": "c1",
    "ver": "1.0",
    "iat": 0,
    "nbf": 0,
    "exp": 10,
    "unit": "UTU",
    "models": {"m": {"weights": {"input": "1"}}},
}


@pytest.mark.parametrize(
    "iss",
    [
        "http://provider.example",
        "https://provider.example/?q=1",
        "https://p.example/#f",
        "provider",
    ],
)
def test_entity_ids_are_https_urls(iss: str) -> None:
    """CONV-001: an entity id is an https URL without query or fragment."""
    with pytest.raises(SchemaViolationError):
        RateCard.from_claims(dict(CARD, iss=iss))


@pytest.mark.parametrize(
    ("iat", "code"),
    [(-1, "schema_violation"), ("0", "schema_violation"), (True, "schema_violation"),
     (2**53, "malformed")],
)  # fmt: skip
def test_times_are_numeric_dates(iat: object, code: str) -> None:
    """CONV-002: times are integers in 0..2^53-1 (booleans and strings are not); an integer
    beyond 2^53 - 1 cannot be in any I-JSON text, so it is malformed (CONV-012)."""
    with pytest.raises(TokenfedError) as caught:
        RateCard.from_claims(dict(CARD, iat=iat))
    assert caught.value.code == code


@pytest.mark.parametrize("ver", ["1", "1.0.0", "01.0", "v1.0", 1])
def test_ver_is_major_dot_minor(ver: object) -> None:
    """CONV-003: ver is a MAJOR.MINOR string; anything else is a schema violation."""
    with pytest.raises(SchemaViolationError):
        RateCard.from_claims(dict(CARD, ver=ver))


def test_minor_versions_are_accepted_and_other_majors_refused() -> None:
    """CONV-003, CONV-004: 1.7 is accepted; 0.9 and 2.0 are unsupported_version."""
    assert RateCard.from_claims(dict(CARD, ver="1.7")).claims.ver == "1.7"
    for ver in ("0.9", "2.0"):
        with pytest.raises(UnsupportedVersionError):
            RateCard.from_claims(dict(CARD, ver=ver))


def test_rejection_keeps_nothing() -> None:
    """CONV-006: a rejected document leaves the caller's input unchanged and yields no object."""
    claims = dict(CARD, models={"m": {"weights": {"input": "1.0"}}})
    before = repr(claims)
    with pytest.raises(InvalidAmountError):
        RateCard.from_claims(claims)
    assert repr(claims) == before


def test_decimal_length_limit() -> None:
    """CONV-022: a 65-character decimal is invalid_amount, a 64-character one is not."""
    ok = "1" * 64
    assert RateCard.from_claims(dict(CARD, models={"m": {"weights": {"input": ok}}}))
    with pytest.raises(InvalidAmountError):
        RateCard.from_claims(dict(CARD, models={"m": {"weights": {"input": "1" * 65}}}))


def test_no_binary_float_in_the_sdk() -> None:
    """CONV-024: no float literal and no float() conversion anywhere in the SDK (checks such as
    isinstance(value, float), which reject floats, are fine)."""
    offenders = []
    for path in SDK.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and type(node.value) is float:
                offenders.append(f"{path.name}:{node.lineno} float literal")
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in {"float", "round"}
            ):
                offenders.append(f"{path.name}:{node.lineno} {node.func.id}()")
    assert offenders == []
    assert isinstance(_model.SPEC_VERSION, str) and Decimal("0.1") + Decimal("0.2") == Decimal(
        "0.3"
    )


def test_error_objects_have_code_and_message() -> None:
    """CONV-050, ERR-001, ERR-002: every registry error serializes as {error, message}, and
    the code alone identifies the class."""
    for code, cls in registry().items():
        body = cls("something went wrong").to_json()
        assert body == {"error": code, "message": "something went wrong"}
        assert registry()[body["error"]] is cls


def test_implementation_states_its_spec_version() -> None:
    """SPEC-001, SPEC-002: the SDK states the spec version it implements, and its vectors are
    those of that version."""
    from tokenfed_conformance.vectors import load_vectors, vector_kinds

    assert tokenfed.SPEC_VERSION == "1.0"
    assert {load_vectors(kind).spec_version for kind in vector_kinds()} == {"1.0"}
