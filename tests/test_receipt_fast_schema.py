"""The verifier's fast schema path accepts only what the receipt model accepts (REC-001..REC-008).

The fast path may refuse anything (the full model then decides); it must never accept claims
the model rejects, or verification would be more lenient than the specification.
"""

from __future__ import annotations

import copy
import json
from base64 import urlsafe_b64decode
from typing import Any

import pytest

from tokenfed._model import validate
from tokenfed.errors import TokenfedError
from tokenfed.receipts import ReceiptClaims, _FastSchema
from tokenfed_conformance.vectors import load_vectors

BAD_VALUES: list[Any] = [
    None,
    "",
    " ",
    0,
    -1,
    1,
    2**53,
    True,
    "1.0",
    "2.0",
    "sha256:" + "0" * 63,
    "x" * 300,
    "https://a.example/?q",
    "http://a.example",
    "12345678901234567",
    [],
    {},
    "0.1234567",
    "1.50",
    "-1",
    "01",
    "sha256:" + "A" * 64,
]


def _claims_of(receipt: Any) -> dict[str, Any] | None:
    try:
        text = receipt["claims"] if isinstance(receipt, dict) else receipt.split(".")[1]
        value = json.loads(urlsafe_b64decode(text + "=" * (-len(text) % 4)))
    except (ValueError, IndexError, KeyError, AttributeError):
        return None
    return value if isinstance(value, dict) else None


def _all_claims() -> list[dict[str, Any]]:
    found = []
    for vector in load_vectors("receipts"):
        for receipt in [vector.input["receipt"], *vector.input["prior"]]:
            claims = _claims_of(receipt)
            if claims is not None:
                found.append(claims)
    return found


def _model_accepts(claims: dict[str, Any]) -> bool:
    try:
        validate(ReceiptClaims, claims)
    except TokenfedError:
        return False
    return True


def test_fast_path_is_used_for_valid_receipts() -> None:
    """The fast path recognises the valid vectors' claims (so it is actually exercised)."""
    valid = [c for c in _all_claims() if _model_accepts(c)]
    assert valid
    schema = _FastSchema()
    assert sum(schema.accepts(c) for c in valid) >= len(valid) - 2  # extensions go the slow way


@pytest.mark.parametrize("member", [*sorted(ReceiptClaims.model_fields), "usage.meters", "prev+"])
def test_fast_path_never_accepts_what_the_model_rejects(member: str) -> None:
    """REC-001..REC-008: every claims object of the vectors, with one member replaced by each of
    many bad values (or removed), is accepted by the fast path only if the model accepts it."""
    schema = _FastSchema()
    for claims in _all_claims():
        for value in [*BAD_VALUES, ...]:
            mutated = copy.deepcopy(claims)
            if member == "usage.meters":
                if value is ...:
                    continue
                mutated.setdefault("usage", {})["meters"] = {"input": value}
            elif member == "prev+":
                mutated["seq"] = 1
                mutated["prev"] = "sha256:" + "a" * 64
            elif value is ...:
                mutated.pop(member, None)
            else:
                mutated[member] = value
            if schema.accepts(mutated):
                assert _model_accepts(mutated), (member, value)
