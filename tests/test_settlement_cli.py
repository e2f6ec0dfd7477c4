"""The settle commands refuse counts that mean nothing (no workers, a statement numbered 0),
numbers no JSON reader keeps exact, and tokens that do not parse, with the one right code."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from tokenfed.cli import main
from tokenfed.keys import generate_key


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


def _b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


@pytest.mark.parametrize(
    "token",
    ["e30.e30", "W10.e30.AA", _b64u(b'{"typ":"x","alg":"EdDSA"}') + "." + "A" * 70000 + ".AA"],
    ids=["two-segments", "header-an-array", "over-the-size-limit"],
)
@pytest.mark.parametrize("command", ["verify", "report"])
def test_a_token_that_does_not_parse_is_malformed_whatever_its_typ(
    token: str, command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """CONV-060: parsing (step 1) comes before typ (step 2): a settlement command given a token
    that is not a JWS compact serialization says malformed, not unsupported_typ."""
    path = tmp_path / "doc.jwt"
    path.write_text(token)
    key = tmp_path / "k.jwk"
    key.write_text(json.dumps(generate_key().public_key().to_jwk()))
    argv = ["settle", command, str(path), "--key", str(key)]
    if command == "report":
        argv += ["--out", str(tmp_path / "r.html")]
    assert main(argv) == 1
    assert json.loads(capsys.readouterr().err)["error"] == "malformed"
