"""`make demo` runs to the end of the month's settlement (examples/demo.py as a subprocess)."""

from __future__ import annotations

import re
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

DEMO = Path(__file__).resolve().parent.parent / "examples" / "demo.py"
ROW = re.compile(
    r"^  (?P<party>https://\S+)\s+(?P<alliance>alliance-\S+)\s+(?P<receivable>-?\d+(?:\.\d+)?)"
    r"\s+(?P<payable>-?\d+(?:\.\d+)?)\s+(?P<net>-?\d+(?:\.\d+)?)$"
)


@pytest.fixture(scope="module")
def output() -> str:
    done = subprocess.run(
        [sys.executable, str(DEMO)], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    return done.stdout


def _section(output: str, title: str) -> str:
    start = output.index(f"\n== {title}")
    end = output.find("\n== ", start + 1)
    return output[start : end if end != -1 else len(output)]


def test_the_statement_is_disputed_for_a_missing_receipt(output: str) -> None:
    statement = _section(output, "Statement st-2026-01-provider-a-home-1 (seq 1)")
    assert "audit totals: 4 receipts" in statement
    assert re.search(r"Merkle root:  [0-9a-f]{64}\n", statement)
    response = _section(output, "Home operator's response")
    assert response.splitlines()[1].endswith(": dispute (signed, verified by the provider)")
    assert len(re.findall(r"disputed receipt \S+: missing_at_payer", response)) == 1


def test_the_resubmission_names_the_disputed_statement_and_is_accepted(output: str) -> None:
    section = _section(output, "Resubmission")
    assert "st-2026-01-provider-a-home-2 (seq 2) resubmits st-2026-01-provider-a-home-1" in section
    assert "response: accept, 0 disputes; accepted total 3.13 CNY" in section


def test_the_revenue_split_adds_up_to_the_accepted_total(output: str) -> None:
    section = _section(output, "Revenue split of 3.13 CNY")
    parts = [int(units) for units in re.findall(r"-> +(\d+) fen", section)]
    assert parts == [47, 250, 16]
    assert "parts sum to 313 fen = 313 fen" in section


def test_netting_positions_sum_to_zero_across_two_alliances(output: str) -> None:
    section = _section(output, "Netting net-2026-01")
    rows = [m.groupdict() for line in section.splitlines() if (m := ROW.match(line))]
    assert len(rows) == 3
    assert {row["alliance"] for row in rows} == {"alliance-east", "alliance-west"}
    for row in rows:
        assert Decimal(row["receivable"]) - Decimal(row["payable"]) == Decimal(row["net"])
    assert sum(Decimal(row["net"]) for row in rows) == 0
    assert any(Decimal(row["net"]) != 0 for row in rows)
    assert "sum of nets: 0.00 CNY" in section
