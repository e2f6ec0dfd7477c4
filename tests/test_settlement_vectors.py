"""The settlement vectors (spec/vectors/settlement.json) run through the SDK.

Each vector names the requirements it checks (SET-010..SET-053); the SDK must give exactly the
expected result or the one expected error code. The independent checker agrees with every
vector too (tests/test_interop.py).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tokenfed.errors import TokenfedError
from tokenfed.exchange import ExchangeRates
from tokenfed.settlement import (
    NettingReport,
    PairHistory,
    Response,
    RevenueShare,
    Statement,
    check_conversion,
    check_receipt_list,
    net_positions,
    reconcile,
    split_report,
)
from tokenfed_conformance.vectors import Vector, load_vectors

ROOT = Path(__file__).resolve().parent.parent
VECTORS = list(load_vectors("settlement"))


def run(given: dict[str, Any]) -> dict[str, Any]:
    """One vector's operation through the public API of tokenfed.settlement."""
    op = given["op"]
    if op == "statement":
        statement = Statement.from_claims(given["statement"])
        if "rates" in given:
            check_conversion(statement, ExchangeRates.from_claims(given["rates"]))
        return {"valid": True, "digest": statement.digest}
    if op == "receipt-list":
        items = check_receipt_list(Statement.from_claims(given["statement"]), given["receipt_list"])
        return {"valid": True, "count": len(items)}
    if op == "history":
        PairHistory.from_json(given["history"]).check(Statement.from_claims(given["statement"]))
        return {"valid": True}
    if op == "reconcile":
        rejected = {(r["iss"], r["jti"]): r["code"] for r in given["rejected"]}
        claims = reconcile(
            Statement.from_claims(given["statement"]),
            given["receipt_list"],
            given["held"],
            iat=0,
            rejected=rejected,
        ).claims
        return {name: claims[name] for name in ("status", "disputes", "disputed_lines")}
    if op == "response":
        return {"valid": True, "digest": Response.from_claims(given["response"]).digest}
    if op == "split":
        agreement = RevenueShare.from_claims(given["agreement"])
        return split_report(agreement, given["total"], given["code"], given["precision"])
    if op == "net":
        statements, positions = net_positions(
            (Statement.from_claims(p["statement"]), Response.from_claims(p["response"]))
            for p in given["pairs"]
        )
        return {"statements": [s.digest for s in statements], "positions": positions}
    if op == "netting-report":
        return {"valid": True, "digest": NettingReport.from_claims(given["report"]).digest}
    raise AssertionError(f"unknown op {op}")


@pytest.mark.parametrize("vector", VECTORS, ids=[v.id for v in VECTORS])
def test_settlement_vector(vector: Vector) -> None:
    """Each settlement vector: the expected result, or exactly the expected error code."""
    if vector.error is None:
        assert run(vector.input) == vector.expected
    else:
        with pytest.raises(TokenfedError) as caught:
            run(vector.input)
        assert caught.value.code == vector.error, caught.value.message


def test_every_settlement_code_has_a_vector() -> None:
    """SET-011, SET-013, SET-024, SET-025, SET-040, SET-050: every code of the chapter is
    expected by a vector."""
    codes = {
        "totals_mismatch",
        "period_not_closed",
        "invalid_resubmission",
        "invalid_shares",
        "statement_not_accepted",
        "chain_break",
        "invalid_proof",
    }
    assert codes <= {vector.error for vector in VECTORS}


def test_vectors_are_reproducible() -> None:
    """The vector file is what spec/tools/make_settlement_vectors.py makes (deterministic)."""
    done = subprocess.run(
        [sys.executable, str(ROOT / "spec/tools/make_settlement_vectors.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
