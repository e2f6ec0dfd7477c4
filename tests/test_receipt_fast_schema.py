"""The verifier's fast schema path accepts only what the receipt schema accepts (REC-001..REC-008).

The fast path (:class:`tokenfed.receipts._claims.FastSchema`) may refuse anything (the full
model then decides); it must never accept claims that the JSON Schema of spec/schemas or the
model rejects, or verification would be more lenient than the specification. Inputs are
generated from the JSON Schema itself (tests/_schema_strategy.py) and then mutated.
"""

from __future__ import annotations

import copy
import json
from base64 import urlsafe_b64decode
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from _schema_strategy import from_schema, json_values
from tokenfed._meters import METERS
from tokenfed._model import validate
from tokenfed.errors import TokenfedError
from tokenfed.receipts import BatchClaims, ReceiptClaims
from tokenfed.receipts._fast import FastSchema, batch_claims_certain
from tokenfed_conformance.vectors import load_vectors

SCHEMAS = Path(__file__).resolve().parent.parent / "spec" / "schemas"


@cache
def receipt_schema() -> dict[str, Any]:
    """The receipt schema with its reference to the usage schema inlined (one document)."""
    receipt = json.loads((SCHEMAS / "receipt.schema.json").read_text(encoding="utf-8"))
    usage = json.loads((SCHEMAS / "usage.schema.json").read_text(encoding="utf-8"))
    for name, definition in usage.pop("$defs", {}).items():
        receipt["$defs"][f"usage_{name}"] = definition
    text = json.dumps(usage).replace('"#/$defs/', '"#/$defs/usage_')
    inlined = json.loads(text)
    for member in ("$schema", "$id"):
        inlined.pop(member, None)
    receipt["properties"]["usage"] = inlined
    return receipt


VALIDATOR = Draft202012Validator(receipt_schema())


def _repair(claims: dict[str, Any]) -> dict[str, Any]:
    """Version 1.x (another major is refused before the schema, CONV-004) and prev present
    exactly after seq 1 (REC-006), so that few drawn receipts are filtered out."""
    claims["ver"] = "1." + claims["ver"].split(".")[1]
    if claims.get("seq") == 1:
        claims.pop("prev", None)
    else:
        claims.setdefault("prev", "sha256:" + "0" * 64)
    claims.pop("exp", None)
    claims.pop("nbf", None)
    return claims


RECEIPTS = from_schema(receipt_schema(), _repair)


def model_accepts(claims: Any) -> bool:
    try:
        validate(ReceiptClaims, claims)
    except TokenfedError:
        return False
    return True


def check(schema: FastSchema, claims: Any) -> None:
    """The invariant: what the fast path accepts, the JSON Schema and the model accept."""
    if isinstance(claims, dict) and schema.accepts(claims):
        assert VALIDATOR.is_valid(claims), claims
        assert model_accepts(claims), claims


JSON_VALUES = json_values(
    [
        "1.0",
        "UTU",
        "sha256:" + "a" * 64,
        "https://a.example",
        "https://A.example",
        "https://u@a.example",
        "https://a.example:0",
        "0.5",
        "input",
    ],
    text_size=40,
)


@st.composite
def mutated(draw: st.DrawFn) -> dict[str, Any]:
    """A schema-valid receipt with one member (at the top or one level down) replaced, removed
    or added."""
    claims: dict[str, Any] = draw(RECEIPTS)
    target = claims
    nested = [name for name, value in claims.items() if isinstance(value, dict) and value]
    if nested and draw(st.booleans()):
        target = claims[draw(st.sampled_from(sorted(nested)))]
    names = sorted(target)
    action = draw(st.sampled_from(["replace", "remove", "add"]))
    if action == "add" or not names:
        target[draw(st.text(max_size=10))] = draw(JSON_VALUES)
    elif action == "remove":
        del target[draw(st.sampled_from(names))]
    else:
        target[draw(st.sampled_from(names))] = draw(JSON_VALUES)
    return claims


SETTINGS = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(RECEIPTS)
def test_generated_valid_claims_pass_the_model(claims: dict[str, Any]) -> None:
    """Schema-valid claims are model-valid, the fast path never accepts beyond them, and in the
    common shape (version 1.0, registered meters, no unknown member) it accepts exactly them."""
    assert model_accepts(claims), claims
    schema = FastSchema()
    check(schema, claims)
    common = (
        claims["ver"] == "1.0"
        and set(claims) <= set(ReceiptClaims.model_fields)
        and set(claims["usage"]) == {"model", "meters"}
        and set(claims["usage"]["meters"]) <= set(METERS)
        and set(claims["rate_card"]) == {"id", "digest"}
    )
    assert schema.accepts(claims) is common, claims


@SETTINGS
@given(mutated())
def test_fast_path_never_accepts_a_mutation_the_schema_rejects(claims: dict[str, Any]) -> None:
    """REC-001..REC-008: a mutated receipt is accepted by the fast path only if the JSON Schema
    and the model both accept it."""
    check(FastSchema(), claims)


def _claims_of(receipt: Any) -> dict[str, Any] | None:
    try:
        text = receipt["claims"] if isinstance(receipt, dict) else receipt.split(".")[1]
        value = json.loads(urlsafe_b64decode(text + "=" * (-len(text) % 4)))
    except (ValueError, IndexError, KeyError, AttributeError):
        return None
    return value if isinstance(value, dict) else None


def _vector_claims() -> list[dict[str, Any]]:
    found = []
    for vector in load_vectors("receipts"):
        for receipt in [vector.input["receipt"], *vector.input["prior"]]:
            claims = _claims_of(receipt)
            if claims is not None:
                found.append(claims)
    return found


def test_fast_path_is_used_for_valid_receipts() -> None:
    """The fast path recognises the valid vectors' claims in the common shape, so it is
    actually exercised (claims with extension members go the full way)."""
    valid = [c for c in _vector_claims() if model_accepts(c)]
    common = [
        c
        for c in valid
        if set(c) <= set(ReceiptClaims.model_fields) and set(c["usage"]) == {"model", "meters"}
    ]
    assert common
    schema = FastSchema()
    assert all(schema.accepts(c) for c in common)


@pytest.mark.parametrize("member", ["prev", "entitlement"])
def test_null_optional_members_are_refused_by_every_path(member: str) -> None:
    """REC-001: an optional member is a string when present; ``null`` is not its absence."""
    claims = copy.deepcopy(_vector_claims()[0])
    claims[member] = None
    assert not VALIDATOR.is_valid(claims)
    assert not model_accepts(claims)
    assert not FastSchema().accepts(claims)


# Batch statements (REC-060): the fast check of their claims -----------------------------------

BATCH_SCHEMA = json.loads((SCHEMAS / "batch-statement.schema.json").read_text(encoding="utf-8"))
BATCH_VALIDATOR = Draft202012Validator(BATCH_SCHEMA)


def _major_one(claims: dict[str, Any]) -> dict[str, Any]:
    claims["ver"] = "1." + claims["ver"].split(".")[1]
    return claims


BATCHES = from_schema(BATCH_SCHEMA, _major_one)
BATCH_SETTINGS = settings(
    max_examples=50,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


def batch_model(claims: Any) -> BatchClaims | None:
    try:
        return validate(BatchClaims, claims)
    except TokenfedError:
        return None


def check_batch(claims: Any) -> bool:
    """The invariant: what the fast check vouches for, the JSON Schema and the model accept,
    with the same values."""
    if not batch_claims_certain(claims):
        return False
    model = batch_model(claims)
    assert model is not None and BATCH_VALIDATOR.is_valid(claims), claims
    assert model.model_dump() == claims
    return True


@BATCH_SETTINGS
@given(BATCHES)
def test_generated_batch_statements(claims: dict[str, Any]) -> None:
    """Schema-valid batch claims of version 1.x: the model accepts them, and the fast check
    vouches for exactly those without an unknown member."""
    assert batch_model(claims) is not None, claims
    assert check_batch(claims) is (set(claims) == set(BatchClaims.model_fields)), claims


@st.composite
def mutated_batches(draw: st.DrawFn) -> dict[str, Any]:
    claims: dict[str, Any] = draw(BATCHES)
    names = sorted(claims)
    action = draw(st.sampled_from(["replace", "remove", "add"]))
    if action == "add":
        claims[draw(st.text(max_size=10))] = draw(JSON_VALUES)
    elif action == "remove":
        del claims[draw(st.sampled_from(names))]
    else:
        claims[draw(st.sampled_from(names))] = draw(JSON_VALUES)
    return claims


@BATCH_SETTINGS
@given(mutated_batches())
def test_fast_check_never_vouches_for_a_batch_mutation_the_model_refuses(
    claims: dict[str, Any],
) -> None:
    """REC-060: a mutated batch statement is vouched for only if the model and the JSON Schema
    accept it, with the same values."""
    check_batch(claims)


BATCH = {
    "iss": "https://a.example",
    "ver": "1.0",
    "iat": 1795000000,
    "batch_id": "b-1",
    "tree_size": 3,
    "tree_root": "ab" * 32,
}


@pytest.mark.parametrize(
    ("member", "value"),
    [
        ("ver", "2.0"),
        ("ver", "1.01"),
        ("iat", True),
        ("iat", -1),
        ("tree_size", 0),
        ("tree_size", True),
        ("tree_root", "AB" * 32),
        ("tree_root", "ab" * 32 + "\n"),
        ("batch_id", "b 1"),
        ("iss", "https://A.example"),
        ("extra", "kept by the model"),
    ],
)
def test_named_batch_cases_are_left_to_the_model(member: str, value: Any) -> None:
    """Each case differs from a vouched-for statement in one member; the model decides it."""
    assert check_batch(BATCH)
    assert not batch_claims_certain({**BATCH, member: value})
    assert (batch_model({**BATCH, member: value}) is not None) is (member == "extra")
