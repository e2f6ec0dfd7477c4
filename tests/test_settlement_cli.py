"""The settle commands refuse counts that mean nothing: no workers, a statement numbered 0."""

from __future__ import annotations

import json

import pytest

from tokenfed.cli import main


@pytest.mark.parametrize(
    "argv",
    [
        ["settle", "run", "--receipts", "x.jsonl", "--trust", "t.json", "--rate-card", "c.jwt",
         "--start", "0", "--end", "1", "--signing-key", "k.jwk", "--out-dir", "o",
         "--workers", "0"],
        ["settle", "statement", "--ledger", "l.db", "--payee", "https://p.example",
         "--payer", "https://o.example", "--start", "0", "--end", "1", "--seq", "0",
         "--statement-id", "s", "--signing-key", "k.jwk", "--out", "s.jwt"],
    ],
    ids=["workers-0", "seq-0"],
)  # fmt: skip
def test_counts_below_one_are_a_bad_command_line(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """invalid_arguments, exit 2, before any file is read."""
    assert main(argv) == 2
    error = json.loads(capsys.readouterr().err)
    assert error["error"] == "invalid_arguments"
    assert ">= 1" in error["message"]
