"""The receipt models and the published receipt schemas accept and reject the same documents.

spec/schemas/{receipt,batch-statement,batched-receipt,trust-store}.schema.json are what other
implementations validate against; the SDK validates with its models. Every receipt claims
object, batch statement, batched receipt and trust store of the receipt vectors goes through
both (REC-001..REC-008, REC-034, REC-060).
"""

from __future__ import annotations

import json
from base64 import urlsafe_b64decode
from functools import cache
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from referencing import Registry, Resource

from tokenfed import _json, errors
from tokenfed._model import VERSION_PATTERN, validate
from tokenfed.receipts import BatchClaims
from tokenfed.receipts._claims import validate_receipt as _validate_receipt
from tokenfed.trust import TrustStore
from tokenfed_conformance.vectors import load_vectors, spec_dir

VECTORS = load_vectors("receipts")


@cache
def _validator(kind: str) -> Draft202012Validator:
    resources = []
    for path in (spec_dir() / "schemas").glob("*.schema.json"):
        schema = json.loads(path.read_text("utf-8"))
        resources.append((schema["$id"], Resource.from_contents(schema)))
    registry: Registry[Any] = Registry().with_resources(resources)
    schema = json.loads((spec_dir() / "schemas" / f"{kind}.schema.json").read_text("utf-8"))
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, registry=registry)


def _decode(segment: str) -> Any:
    """The document as a conforming parser hands it to the schema step: strict I-JSON
    (CONV-010..CONV-015) of major version 1 (CONV-004); anything else never reaches it."""
    try:
        value = _json.loads(urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    except (ValueError, errors.MalformedError):
        return None
    if isinstance(value, dict) and str(value.get("ver", "1.")).split(".")[0] != "1":
        return None
    return value


def _documents() -> list[tuple[str, str, Any]]:
    """(kind, vector id, document) for every document the receipt vectors carry."""
    found: list[tuple[str, str, Any]] = []
    for vector in VECTORS:
        for receipt in [vector.input["receipt"], *vector.input["prior"]]:
            if isinstance(receipt, dict):
                found.append(("batched-receipt", vector.id, receipt))
                found.append(("receipt", vector.id, _decode(receipt.get("claims", ""))))
                parts = str(receipt.get("batch", "")).split(".")
                if len(parts) == 3:
                    found.append(("batch-statement", vector.id, _decode(parts[1])))
            else:
                parts = receipt.split(".")
                if len(parts) == 3:
                    found.append(("receipt", vector.id, _decode(parts[1])))
    for name, store in VECTORS.extra["fixtures"]["trust"].items():
        found.append(("trust-store", name, store))
    return [(kind, vid, doc) for kind, vid, doc in found if isinstance(doc, dict)]


def _model_accepts(kind: str, document: dict[str, Any]) -> bool:
    try:
        if kind == "receipt":
            _validate_receipt(document)
        elif kind == "batch-statement":
            validate(BatchClaims, document)
        elif kind == "trust-store":
            TrustStore.from_json(document)
        else:  # the container: its members' types and ver (REC-062 step 1)
            return (
                set(document) >= {"ver", "claims", "leaf_index", "audit_path", "batch"}
                and isinstance(document["claims"], str)
                and type(document["leaf_index"]) is int
                and document["leaf_index"] >= 0
                and isinstance(document["audit_path"], list)
                and all(isinstance(entry, str) for entry in document["audit_path"])
                and isinstance(document["ver"], str)
                and VERSION_PATTERN.fullmatch(document["ver"]) is not None
                and isinstance(document["batch"], str)
            )
    except errors.TokenfedError:
        return False
    return True


DOCUMENTS = _documents()

# Rules JSON Schema cannot express; the vectors that break only them are listed with the rule.
SEMANTIC_ONLY = {
    ("trust-store", "bad-kid"): "kid is the RFC 7638 thumbprint of the key (REC-034, CONV-045)",
    ("trust-store", "exp-not-after-nbf"): "a key's exp is later than its nbf (REC-034)",
    ("trust-store", "duplicate-kid"): "a kid is listed once under an issuer (REC-034)",
    ("trust-store", "ver-major-2"): "another major version is refused before the schema (CONV-004)",
}


@pytest.mark.parametrize(
    ("kind", "vector_id", "document"),
    DOCUMENTS,
    ids=[f"{kind}:{vid}:{i}" for i, (kind, vid, _) in enumerate(DOCUMENTS)],
)
def test_model_and_schema_agree(kind: str, vector_id: str, document: dict[str, Any]) -> None:
    """REC-001..REC-008, REC-034, REC-060: the model and the schema decide alike."""
    if (kind, vector_id) in SEMANTIC_ONLY:
        assert _validator(kind).is_valid(document)
        assert not _model_accepts(kind, document), SEMANTIC_ONLY[(kind, vector_id)]
        return
    assert _model_accepts(kind, document) == _validator(kind).is_valid(document), vector_id


def test_documents_cover_both_outcomes() -> None:
    """The comparison sees accepted and rejected documents of each kind it can."""
    outcomes: dict[str, set[bool]] = {}
    for kind, _, document in DOCUMENTS:
        outcomes.setdefault(kind, set()).add(_validator(kind).is_valid(document))
    assert outcomes["receipt"] == {True, False}
    assert outcomes["trust-store"] == {True, False}
    assert True in outcomes["batch-statement"] and True in outcomes["batched-receipt"]
