"""The pydantic models and the published JSON Schemas accept and reject the same documents.

spec/schemas/{usage,rate-card,exchange-rates}.schema.json are what other implementations
validate against; tokenfed validates with its models. Every document in the vectors goes
through both. The only permitted difference is a rule JSON Schema cannot express (tier order,
UNIT-025; nbf < exp, UNIT-027, FX-008), and the vectors that break one say so with
``schema_accepts: true``.
"""

from __future__ import annotations

import json
import re
from functools import cache
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from tokenfed import _json, errors
from tokenfed._model import validate
from tokenfed.exchange import ExchangeRates, ExchangeRatesClaims
from tokenfed.units import METERS, RateCard, RateCardClaims, parse_usage
from tokenfed_conformance.vectors import Vector, load_vectors, spec_dir

SCHEMAS = ("usage", "rate-card", "exchange-rates")


@cache
def _validator(kind: str) -> Draft202012Validator:
    schema = json.loads((spec_dir() / "schemas" / f"{kind}.schema.json").read_text("utf-8"))
    return Draft202012Validator(schema)


def _model_accepts(kind: str, document: Any) -> bool:
    try:
        if kind == "usage":
            parse_usage(document)
        elif kind == "rate-card":
            RateCard.from_claims(document)
        else:
            ExchangeRates.from_claims(document)
    except errors.TokenfedError:
        return False
    return True


def _schema_accepts(kind: str, document: Any) -> bool:
    return bool(_validator(kind).is_valid(document))


@pytest.mark.parametrize("kind", SCHEMAS)
def test_schemas_are_valid_2020_12(kind: str) -> None:
    """Each schema is itself a valid JSON Schema 2020-12 document with the spec's $id
    (UNIT-002, UNIT-022, FX-002)."""
    schema = _validator(kind).schema
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] == f"https://tokenfed.org/spec/1.0/schemas/{kind}.schema.json"


def test_schema_meter_names_are_the_registry() -> None:
    """The schemas enumerate exactly the registry of UNIT-003, in registry order, and the
    extension syntax of UNIT-008."""
    expected = "^(" + "|".join(METERS) + "|[a-z][a-z0-9_]*(\\.[a-z][a-z0-9_]*)+)$"
    usage = _validator("usage").schema["$defs"]["meterName"]
    card = _validator("rate-card").schema["$defs"]["meterName"]
    assert usage == card
    assert usage["pattern"] == expected
    assert usage["maxLength"] == 64


def test_schema_decimals_use_the_canonical_pattern() -> None:
    """Every decimal in the schemas is built on the CONV-020 pattern with maxLength 64
    (CONV-022); weights add UNIT-020, minimums UNIT-026, rates FX-005."""
    canonical = "^(-?(0\\.[0-9]*[1-9]|[1-9][0-9]*(\\.[0-9]*[1-9])?)|0)$"
    for kind in ("rate-card", "exchange-rates"):
        decimal = _validator(kind).schema["$defs"]["decimal"]
        assert decimal == {
            "type": "string",
            "pattern": canonical,
            "maxLength": 64,
            "description": decimal["description"],
        }
    defs = _validator("rate-card").schema["$defs"]
    assert defs["weight"]["allOf"][0] == {"$ref": "#/$defs/decimal"}
    assert defs["minimum"]["allOf"][0] == {"$ref": "#/$defs/decimal"}
    rate = _validator("exchange-rates").schema["$defs"]["quote"]["properties"]["rate"]
    assert rate["allOf"][0] == {"$ref": "#/$defs/decimal"}


DOCUMENTS = load_vectors("documents")
PARSED = [vector for vector in DOCUMENTS if "document" in vector.input]


def test_text_vectors_are_json_level() -> None:
    """The vectors given as JSON text check the parse step (CONV-016): each one the strict
    parser refuses expects malformed; the others parse to a value the schema accepts."""
    texts = [vector for vector in DOCUMENTS if "text" in vector.input]
    assert texts
    for vector in texts:
        data = vector.input["text"].encode("utf-8")
        try:
            document = _json.loads(data)
        except errors.MalformedError:
            assert vector.error == "malformed", vector.id
            continue
        assert vector.error is None, vector.id
        assert _schema_accepts(vector.input["kind"], document), vector.id


@pytest.mark.parametrize("vector", PARSED, ids=lambda v: v.id)
def test_documents_models_and_schemas_agree(vector: Vector) -> None:
    """Each document vector: model and schema verdicts agree with each other and with the
    vector, except where the vector says the schema cannot see the rule (UNIT-025, UNIT-027,
    FX-008, CONV-016)."""
    kind, document = vector.input["kind"], vector.input["document"]
    model = _model_accepts(kind, document)
    schema = _schema_accepts(kind, document)
    assert model is (vector.error is None)
    if vector.extra.get("schema_accepts"):
        assert vector.error is not None
        assert schema is True
    else:
        assert schema is model, list(_validator(kind).iter_errors(document))[:1]


def _embedded() -> list[tuple[str, str, Any]]:
    found: list[tuple[str, str, Any]] = []
    for vector in load_vectors("pricing"):
        found.append((f"pricing/{vector.id}/usage", "usage", vector.input["usage"]))
        found.append((f"pricing/{vector.id}/rate_card", "rate-card", vector.input["rate_card"]))
    for vector in load_vectors("conversion"):
        found.append((f"conversion/{vector.id}/rates", "exchange-rates", vector.input["rates"]))
    for vector in load_vectors("adapters"):
        if vector.error is None:
            found.append((f"adapters/{vector.id}/expected", "usage", vector.expected))
    return found


@pytest.mark.parametrize(("where", "kind", "document"), _embedded(), ids=lambda x: str(x)[:60])
def test_embedded_documents_agree(where: str, kind: str, document: Any) -> None:
    """The usage objects, rate cards and rate sets inside the other vector files get the same
    verdict from the models and the schemas (UNIT-002..UNIT-008, UNIT-020..UNIT-024,
    FX-002..FX-006)."""
    assert _model_accepts(kind, document) is _schema_accepts(kind, document), where


@pytest.mark.parametrize("vector", [v for v in PARSED if v.error is None], ids=lambda v: v.id)
def test_round_trip_keeps_unknown_members(vector: Vector) -> None:
    """CONV-005: a validated document written back (to_wire) is the document as received,
    unknown members included, with no defaults added (UNIT-024)."""
    kind, document = vector.input["kind"], vector.input["document"]
    if kind == "usage":
        wire = parse_usage(document).to_wire()
    elif kind == "rate-card":
        wire = validate(RateCardClaims, document).to_wire()
    else:
        wire = validate(ExchangeRatesClaims, document).to_wire()
    assert wire == document
    assert json.dumps(wire, sort_keys=True) == json.dumps(document, sort_keys=True)


def test_some_round_trips_have_unknown_members() -> None:
    """The round-trip test above is not vacuous: valid documents with unknown members exist at
    the top level and nested (CONV-005)."""
    nested = re.compile(r'"x-[a-z-]+"')
    kinds = {
        v.input["kind"]
        for v in PARSED
        if v.error is None and nested.search(json.dumps(v.input["document"]))
    }
    assert {"rate-card", "exchange-rates"} <= kinds
    assert any(
        v.error is None and "x-trace" in v.input["document"]
        for v in PARSED
        if v.input["kind"] == "usage"
    )
