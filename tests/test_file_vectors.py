"""Every receipt-file vector of spec/vectors/files.json through the SDK (REC-070, REC-071)."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tokenfed._decimal import format_decimal
from tokenfed.receipts import VerifierConfig, verify_file
from tokenfed_conformance.vectors import Vector, load_vectors

# Every file is verified with the fast JSON paths on and off (ADR 0010).
pytestmark = pytest.mark.usefixtures("json_path")

VECTORS = load_vectors("files")
FIXTURES: dict[str, Any] = load_vectors("receipts").extra["fixtures"]
ROOT = Path(__file__).resolve().parent.parent


def _bytes(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@pytest.mark.parametrize("workers", [1, 2])
@pytest.mark.parametrize("vector", VECTORS.vectors, ids=lambda v: v.id)
def test_file_vector(vector: Vector, workers: int, tmp_path: Path) -> None:
    """REC-070/REC-071: one result per line, the expected code for each bad line, the summary."""
    given = vector.input
    source = tmp_path / "receipts.jsonl"
    source.write_bytes(_bytes(given["file"]))
    config = VerifierConfig(
        trust=FIXTURES["trust"][given["trust"]],
        rate_cards=tuple(FIXTURES["rate_card_tokens"][name] for name in given["rate_cards"]),
        now=given["now"],
    )
    out = tmp_path / "results.jsonl"
    summary = verify_file(source, out, config, workers=workers, progress=False)
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    found = []
    for row in rows:
        keep = {"line": row["line"], "ok": row["ok"]}
        if row["ok"]:
            keep.update(iss=row["iss"], jti=row["jti"], amount=row["amount"])
            if row.get("duplicate"):
                keep["duplicate"] = True
        else:
            keep["error"] = row["error"]
        found.append(keep)
    assert found == vector.expected["results"]
    expected = vector.expected["summary"]
    assert (summary.lines, summary.accepted, summary.duplicates, summary.rejected) == (
        expected["lines"],
        expected["accepted"],
        expected["duplicates"],
        expected["rejected"],
    )
    assert format_decimal(summary.amount) == expected["amount"]


def test_file_vectors_are_reproducible() -> None:
    """The vector file is what its generator makes from the receipt vectors."""
    done = subprocess.run(
        [sys.executable, str(ROOT / "spec/tools/make_file_vectors.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
