"""The suite's own helpers, checked against independent references: JCS against the ``rfc8785``
package, Merkle trees against the SDK's, the exact pricing, conversion and settlement
references against every spec vector they can compute, and the small parsers (selection,
requirement levels)."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import pytest
import rfc8785
from hypothesis import given
from hypothesis import strategies as st

from tokenfed import _merkle as sdk_merkle
from tokenfed_conformance import _merkle
from tokenfed_conformance import _settlement as settlement_ref
from tokenfed_conformance._codec import StrictJSONError, b64d, b64e, digest, jcs, loads_strict
from tokenfed_conformance._reference import RefError, convert, price, round_half_even, to_decimal
from tokenfed_conformance.requirements import in_scope, load_requirements
from tokenfed_conformance.selection import SelectionError, matches
from tokenfed_conformance.vectors import load_vectors

JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**53) + 1, max_value=2**53 - 1)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@given(JSON_VALUES)
def test_jcs_agrees_with_rfc8785(value: Any) -> None:
    assert jcs(value) == rfc8785.dumps(value)


def test_jcs_sorts_by_utf16_code_units() -> None:
    """U+10000 (surrogates D800 DC00) sorts before U+FFFF in UTF-16 order (RFC 8785 3.2.3)."""
    value = {"\uffff": 1, "\U00010000": 2, "a": 3}
    assert jcs(value) == rfc8785.dumps(value)
    assert jcs(value).index("\U00010000".encode()) < jcs(value).index("\uffff".encode())


def test_base64url_is_strict() -> None:
    assert b64d(b64e(b"\x00\xff\x10")) == b"\x00\xff\x10"
    for bad in ("AA==", "A+8", "AB", "A/8", "A"):
        with pytest.raises(ValueError, match="base64url"):
            b64d(bad)


def test_strict_json() -> None:
    assert loads_strict('{"a": 1}') == {"a": 1}
    for bad in ('{"a": 1, "a": 2}', '{"a": 1.5}', '{"a": NaN}', "{"):
        with pytest.raises(StrictJSONError):
            loads_strict(bad)


@pytest.mark.parametrize("size", range(1, 18))
def test_merkle_agrees_with_the_sdk(size: int) -> None:
    entries = [f"leaf-{i}".encode() for i in range(size)]
    root = _merkle.root(entries)
    assert root == sdk_merkle.root(entries)
    for index in range(size):
        proof = _merkle.inclusion_proof(index, entries)
        assert _merkle.root_from_proof(index, size, entries[index], proof) == root
        if size > 1:
            other = (index + 1) % size
            assert _merkle.root_from_proof(other, size, entries[index], proof) != root
    assert _merkle.root_from_proof(size, size, entries[0], []) is None


def test_round_half_even() -> None:
    assert round_half_even(Fraction("0.0000005"), 6) == 0
    assert round_half_even(Fraction("0.0000015"), 6) == Fraction("0.000002")
    assert round_half_even(Fraction("0.0000025"), 6) == Fraction("0.000002")
    assert round_half_even(Fraction("-0.125"), 2) == Fraction("-0.12")
    assert to_decimal(Fraction("-0.120")) == "-0.12"
    assert to_decimal(Fraction(0)) == "0"


def test_reference_pricing_agrees_with_the_vectors() -> None:
    """Every pricing vector whose card and usage are sound gives the vector's result."""
    checked = 0
    for vector in load_vectors("pricing"):
        if vector.error in {
            None,
            "rate_card_not_valid",
            "unknown_model",
            "unpriced_meter",
        }:
            try:
                result: Any = price(
                    vector.input["rate_card"], vector.input["usage"], vector.input.get("at")
                )
            except RefError as exc:
                result = {"error": exc.code}
            except (KeyError, TypeError, ValueError, AttributeError):
                continue
            if vector.error is None and not isinstance(vector.input["usage"]["meters"], dict):
                continue
            assert result == vector.expected, vector.id
            checked += 1
    assert checked >= 30


def test_reference_conversion_agrees_with_the_vectors() -> None:
    checked = 0
    for vector in load_vectors("conversion"):
        if vector.error == "schema_violation" or "FX-005" in vector.requirements:
            continue
        data = vector.input
        try:
            result: Any = convert(
                data["rates"], data["amount"], data["from"], data["to"], data.get("at")
            )
        except RefError as exc:
            result = {"error": exc.code}
        assert result == vector.expected, vector.id
        checked += 1
    assert checked >= 30


def test_selection_expressions() -> None:
    name = "receipt-verifier/gen/replay-other-content"
    assert matches(None, name)
    assert matches("replay", name)
    assert matches("replay and not vector", name)
    assert matches("(chain or replay) and gen", name)
    assert not matches("not replay", name)
    assert not matches("units or documents", name)
    for bad in ("replay and", "(replay", "or replay", "replay )"):
        with pytest.raises(SelectionError):
            matches(bad, name)


def test_requirement_levels() -> None:
    requirements = load_requirements()
    assert requirements["CONV-042"].level == "MUST"
    assert requirements["REC-064"].level == "MAY"
    assert requirements["UNIT-048"].level == "DEFINITION"
    assert requirements["UNIT-048"].chapter == "units"
    assert in_scope("receipt-verifier", "REC-042")
    assert not in_scope("units", "REC-042")


# --------------------------------------------------------------------------- settlement reference

SETTLEMENT = load_vectors("settlement")


@pytest.mark.parametrize(
    "vector_id",
    [v.id for v in SETTLEMENT if v.input["op"] == "split" and v.error is None],
)
def test_settlement_reference_split_matches_the_vectors(vector_id: str) -> None:
    """The suite's largest-remainder split gives every part the spec's split vectors give."""
    vector = SETTLEMENT.by_id(vector_id)
    data = vector.input
    parties = [(p["party"], p["share"]) for p in data["agreement"]["parties"]]
    parts = settlement_ref.split(parties, data["total"], data["precision"])
    assert [{"party": p, "amount": a} for p, a in parts] == vector.expected["parts"]
    assert sum(Fraction(a) for _p, a in parts) == Fraction(data["total"])


@pytest.mark.parametrize(
    "vector_id",
    [v.id for v in SETTLEMENT if v.input["op"] == "net" and v.error is None],
)
def test_settlement_reference_net_matches_the_vectors(vector_id: str) -> None:
    """The suite's netting gives the statements and positions of the spec's netting vectors."""
    vector = SETTLEMENT.by_id(vector_id)
    statements = [pair["statement"] for pair in vector.input["pairs"]]
    result = settlement_ref.net(statements, [digest(jcs(s)) for s in statements])
    assert result == vector.expected


def test_settlement_reference_root_and_lines_match_the_vectors() -> None:
    """The suite's Merkle root and lines of a receipt list are those of the valid statement."""
    vector = SETTLEMENT.by_id("list-valid")
    statement, entries = vector.input["statement"], vector.input["receipt_list"]["receipts"]
    assert (
        settlement_ref.receipts_root([e["digest"] for e in entries])
        == (statement["receipts"]["root"])
    )
    start = statement["period"]["start"]
    assert settlement_ref.lines_of([e for e in entries if e["iat"] >= start]) == statement["lines"]
    assert (
        settlement_ref.lines_of([e for e in entries if e["iat"] < start])
        == statement["adjustments"]
    )
    empty = SETTLEMENT.by_id("statement-empty").input["statement"]
    assert settlement_ref.receipts_root([]) == empty["receipts"]["root"]


@given(
    st.lists(st.integers(min_value=1, max_value=10**6), min_size=1, max_size=12),
    st.integers(min_value=-(10**12), max_value=10**12),
)
def test_settlement_reference_split_adds_up(weights: list[int], units: int) -> None:
    """Whatever the shares (scaled to sum to 1) and the total, the parts add up exactly."""
    scale = 10**settlement_ref.SHARE_PLACES
    total_weight = sum(weights)
    shares = [w * scale // total_weight for w in weights]
    shares[0] += scale - sum(shares)
    if shares[0] <= 0:
        return
    parties = [
        (f"https://p{i}.example", to_decimal(Fraction(s, scale))) for i, s in enumerate(shares)
    ]
    total = to_decimal(Fraction(units, 100))
    parts = settlement_ref.split(parties, total, 2)
    assert sum(Fraction(a) for _p, a in parts) == Fraction(total)
