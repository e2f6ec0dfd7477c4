"""The federation chain vectors (spec/vectors/federation.json) run through the SDK.

Each vector names the requirements of the chapter "Federation" it checks. ``validate`` vectors
go through ``tokenfed.federation.validate_chain``; ``select`` vectors validate every candidate,
drop those that fail, and give the rest to ``select_chain`` (no candidate left is
``no_trust_path``, as the vector file says); ``archived`` vectors verify a chain at a past time
with the anchor's historical keys (``verify_archived_chain``, FED-157). A vector with
``document_typ`` also asks the chain for the key set of that document type
(``TrustChain.keys_for``, FED-035). The SDK must give exactly the expected result or the one
expected error code. The independent checker agrees with every vector too
(tests/test_interop.py).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tokenfed.errors import TokenfedError
from tokenfed.federation import (
    HistoricalKeys,
    TrustAnchor,
    TrustChain,
    select_chain,
    validate_chain,
    verify_archived_chain,
)
from tokenfed_conformance.vectors import Vector, load_vectors

ROOT = Path(__file__).resolve().parent.parent
VECTORS = list(load_vectors("federation"))


def _anchors(given: dict[str, Any]) -> list[TrustAnchor]:
    return [TrustAnchor.from_jwks(a["entity_id"], a["jwks"]) for a in given["anchors"]]


def _result(chain: TrustChain) -> dict[str, Any]:
    return {
        "trust_anchor": chain.trust_anchor,
        "path": list(chain.path),
        "exp": chain.exp,
        "metadata": chain.metadata,
    }


def _validate(tokens: list[str], given: dict[str, Any]) -> TrustChain:
    return validate_chain(
        tokens, _anchors(given), now=given["now"], entity_type=given["entity_type"]
    )


def _archived(given: dict[str, Any]) -> TrustChain:
    """FED-153..FED-157: the archived chain (trust-chain+json) verified again at its time, with
    the anchor's current pinned keys and its verified historical keys document."""
    (anchor,) = _anchors(given)
    historical = given["historical_keys"]
    listed = HistoricalKeys.decode(historical).verify_with(anchor.jwks) if historical else None
    return verify_archived_chain(
        json.dumps(given["statements"]),
        anchor,
        listed,
        at=given["now"],
        entity_type=given["entity_type"],
    )


def run(given: dict[str, Any]) -> dict[str, Any]:
    """One vector through the public API: the result, or ``{"error": code}``."""
    try:
        if given["op"] == "validate":
            chain = _validate(given["statements"], given)
            result = _result(chain)
            if "document_typ" in given:
                keys = chain.keys_for(given["document_typ"])
                result["document_keys"] = [key.kid for key in keys]
            return result
        if given["op"] == "archived":
            return _result(_archived(given))
        assert given["op"] == "select", given["op"]
        valid: list[TrustChain] = []
        for tokens in given["candidates"]:
            try:
                valid.append(_validate(tokens, given))
            except TokenfedError:
                continue
        if not valid:
            return {"error": "no_trust_path"}
        chosen = select_chain(valid, _anchors(given))
        tokens = [statement.token for statement in chosen.statements]
        return {**_result(chosen), "chosen": given["candidates"].index(tokens)}
    except TokenfedError as error:
        return {"error": error.code, "message": error.message}


@pytest.mark.parametrize("vector", VECTORS, ids=[v.id for v in VECTORS])
def test_federation_vector(vector: Vector) -> None:
    """Each chain vector: the expected result, or exactly the expected error code."""
    outcome = run(vector.input)
    if vector.error is None:
        assert outcome == vector.expected
    else:
        assert outcome.get("error") == vector.error, outcome


def test_every_chain_code_has_a_vector() -> None:
    """Every code of a static chain failure is expected by a vector (the HTTP codes
    fetch_failed, fetch_timeout, response_too_large and resolution_limit belong to the
    resolver's tests)."""
    codes = {
        "malformed",
        "unsupported_typ",
        "unsupported_alg",
        "unsupported_crit",
        "unknown_key",
        "invalid_key",
        "invalid_signature",
        "schema_violation",
        "statement_expired",
        "statement_not_yet_valid",
        "invalid_statement",
        "chain_not_well_formed",
        "no_trust_path",
        "path_too_long",
        "max_path_length_exceeded",
        "naming_constraint_violated",
        "entity_type_not_allowed",
        "entity_type_absent",
        "metadata_policy_error",
        "invalid_metadata",
        "key_not_valid",
    }
    assert codes <= {vector.error for vector in VECTORS}


def test_vectors_are_reproducible() -> None:
    """The vector file is what spec/tools/make_federation_vectors.py makes (deterministic but
    for the randomized ES256 signatures)."""
    done = subprocess.run(
        [sys.executable, str(ROOT / "spec/tools/make_federation_vectors.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
