"""The settle commands refuse counts that mean nothing: no workers, a statement numbered 0."""

from __future__ import annotations

import json
from pathlib import Path

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
    assert "from 1 to" in error["message"]


@pytest.mark.parametrize(
    ("option", "value"),
    [("--iat", "9007199254740992"), ("--iat", "\uff11\uff12"), ("--seq", "9999999999999999"),
     ("--grace", "-1")],
    ids=["iat-2^53", "iat-fullwidth-digits", "seq-beyond-2^53", "grace-negative"],
)  # fmt: skip
def test_numbers_outside_json_are_a_bad_command_line(
    option: str, value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """CONV-002, CONV-012: a NumericDate or count is ASCII digits up to 2^53 - 1, else
    invalid_arguments (exit 2) before any file is read, not a failure when signing."""
    argv = ["settle", "statement", "--ledger", "l.db", "--payee", "https://p.example",
            "--payer", "https://o.example", "--start", "0", "--end", "1", "--seq", "1",
            "--statement-id", "s", "--signing-key", "k.jwk", "--out", "s.jwt",
            "--list-out", "s.json", option, value]  # fmt: skip
    assert main(argv) == 2
    error = json.loads(capsys.readouterr().err)
    assert error["error"] == "invalid_arguments"
    assert option in error["message"]


def test_split_precision_is_that_of_a_currency(capsys: pytest.CaptureFixture[str]) -> None:
    """FX-006: a precision is 0 to 18; 19 or a huge number is invalid_arguments, exit 2."""
    for value in ("19", "99999"):
        argv = ["settle", "split", "--agreement", "a.jwt", "--total", "1", "--code", "CNY",
                "--precision", value, "--key", "k.jwk"]  # fmt: skip
        assert main(argv) == 2
        error = json.loads(capsys.readouterr().err)
        assert (error["error"], "--precision" in error["message"]) == ("invalid_arguments", True)


def test_binary_rate_card_is_malformed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """CONV-041: a rate card file that is not ASCII is malformed, never read with replacement
    characters."""
    card = tmp_path / "card.jwt"
    card.write_bytes(b"\xff\xfe\x00card")
    argv = [
        "settle", "run", "--receipts", str(tmp_path / "*.jsonl"), "--trust",
        str(tmp_path / "t.json"), "--rate-card", str(card), "--start", "0", "--end", "1",
        "--signing-key", "k.jwk", "--out-dir", str(tmp_path / "out"), "--workers", "1",
    ]  # fmt: skip
    (tmp_path / "t.json").write_text('{"ver": "1.0", "issuers": {}}')
    (tmp_path / "r.jsonl").write_text("")
    assert main(argv) == 1
    assert json.loads(capsys.readouterr().err)["error"] == "malformed"
