"""Receipt files (REC-070, REC-071) and the receipt commands: every line gets a result, no input
is ever overwritten, totals are exact, workers die with their parent, documents are verified."""

from __future__ import annotations

import base64
import contextlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from decimal import Decimal
from json.encoder import encode_basestring
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tokenfed._decimal import format_decimal
from tokenfed.errors import IoError, TokenfedError
from tokenfed.keys import KeyValidity, generate_key
from tokenfed.ledger import LedgerEntry, SqliteLedger
from tokenfed.receipts import (
    MAX_LINE_BYTES,
    FileSummary,
    ReceiptIssuer,
    ReceiptRequest,
    ReceiptTracker,
    VerifierConfig,
    _files,
    verify_file,
)
from tokenfed.receipts._files import _pool_context, _verified_members
from tokenfed.trust import TrustStore
from tokenfed.units import RateCard, parse_usage
from tokenfed_conformance.vectors import load_vectors

T0 = 1767225600
NBF = T0 - 86400
ISS = "https://provider.example"
AUD = "https://home.example"
SUB = "Zk9xW2cLm3P8qRsT"
CARD_CLAIMS: dict[str, Any] = load_vectors("receipts").extra["fixtures"]["rate_cards"]["default"]
USAGE = {"model": "qwen-max", "meters": {"input": 1200, "output": 300}}
NOW = T0 + 3600
GARBAGE = bytes(byte for byte in range(256) if byte != 0x0A)  # binary, on one line


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A provider key, its trust store and signed rate card on disk, and 40 receipts."""
    folder = tmp_path_factory.mktemp("world")
    key = generate_key()
    trust = TrustStore({}).with_key(ISS, key.public_key(KeyValidity(nbf=NBF)))
    token = RateCard.sign(dict(CARD_CLAIMS, iss=ISS), key)
    card = RateCard.from_jws(token, trust)
    issuer = ReceiptIssuer(key, ISS, card, clock=lambda: NOW)
    receipts = [issuer.issue(aud=AUD, sub=SUB, usage=USAGE) for _ in range(40)]
    (folder / "trust.json").write_text(json.dumps(trust.to_json()))
    (folder / "card.jwt").write_text(token + "\n")
    (folder / "key.jwk").write_text(json.dumps(key.to_jwk()))
    (folder / "pub.jwk").write_text(json.dumps(key.public_key().to_jwk()))
    (folder / "usage.json").write_text(json.dumps(USAGE))
    return {
        "folder": folder,
        "key": key,
        "trust": trust,
        "token": token,
        "card": card,
        "receipts": receipts,
        "config": VerifierConfig(trust=trust.to_json(), rate_cards=(token,), now=NOW),
    }


def run(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "tokenfed.cli", *args],
        capture_output=True,
        input=stdin,
        check=False,
        timeout=120,
    )


def error_of(done: subprocess.CompletedProcess[bytes]) -> str:
    assert b"Traceback" not in done.stderr
    code: str = json.loads(done.stderr.decode().strip().splitlines()[-1])["error"]
    return code


def rows(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def verify(world: dict[str, Any], data: bytes, tmp_path: Path, **kw: Any) -> tuple[Any, Any]:
    source = tmp_path / "in.jsonl"
    source.write_bytes(data)
    out = tmp_path / "out.jsonl"
    summary = verify_file(source, out, world["config"], progress=False, **kw)
    return summary, rows(out)


@pytest.mark.parametrize("workers", [1, 2])
def test_a_bad_line_is_one_malformed_result(
    world: dict[str, Any], tmp_path: Path, workers: int
) -> None:
    """REC-070: invalid UTF-8, binary garbage and an empty line each get `malformed`; every
    other line is still verified and counted."""
    good = [r.encode() for r in world["receipts"][:30]]
    lines = [*good[:10], b"\xff\xfe not utf-8", *good[10:20], b"", GARBAGE, *good[20:]]
    summary, out = verify(world, b"\n".join(lines) + b"\n", tmp_path, workers=workers)
    assert len(out) == len(lines) == summary.lines
    bad = [row["line"] for row in out if not row["ok"]]
    assert bad == [11, 22, 23]
    assert {out[i - 1]["error"] for i in bad} == {"malformed"}
    assert summary.accepted == 30 and summary.rejected == 3


def test_the_last_chunks_go_to_the_workers_in_parts(
    world: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The chunks near the end of a file are sent in parts (``_TAIL_PARTS``): the results are
    the same as in one process, line for line in order, and the bytes counted add up to the
    file's."""
    monkeypatch.setattr(_files, "_CHUNK_LINES", 8)
    good = [r.encode() for r in world["receipts"]]
    lines = [*good[:25], GARBAGE, *good[25:], b""]
    data = b"\n".join(lines) + b"\n"
    for folder in ("one", "two"):
        (tmp_path / folder).mkdir()
    _, alone = verify(world, data, tmp_path / "one", workers=1)
    _, parted = verify(world, data, tmp_path / "two", workers=2)
    assert parted == alone and [row["line"] for row in parted] == list(range(1, len(lines) + 1))
    with open(tmp_path / "two" / "in.jsonl", "rb") as handle:
        sent = list(_files._checked_chunks(handle, world["config"], 2, len(data)))
    sizes = [size for _, size in sent]
    assert sum(sizes) == len(data) and sum(len(checked) for checked, _ in sent) == len(lines)
    # A whole chunk of 8 lines first; then the last five chunks in parts (the bytes counted
    # with a chunk's last part).
    assert [len(checked) for checked, _ in sent] == [8, *[2] * 16, 1, 1]
    assert [size > 0 for size in sizes] == [True, *[False, False, False, True] * 4, False, True]


def test_crlf_line_ends_and_a_last_line_without_lf(world: dict[str, Any], tmp_path: Path) -> None:
    """REC-070: a CR before the LF is not part of the line; a last line without LF is a line."""
    good = [r.encode() for r in world["receipts"][:3]]
    summary, out = verify(world, good[0] + b"\r\n" + good[1] + b"\r\n" + good[2], tmp_path)
    assert [row["ok"] for row in out] == [True, True, True]
    assert summary.accepted == 3


def test_an_empty_file_has_no_results(world: dict[str, Any], tmp_path: Path) -> None:
    """REC-070: an empty file has no lines: success, no results, zero totals."""
    summary, out = verify(world, b"", tmp_path)
    assert out == [] and summary.lines == 0 and summary.amount == 0


def test_an_over_long_line_is_malformed_and_not_held(world: dict[str, Any], tmp_path: Path) -> None:
    """REC-071: a line over 65536 bytes is malformed, the next line is still verified."""
    huge = b"A" * (MAX_LINE_BYTES * 8)
    good = world["receipts"][0].encode()
    _, out = verify(world, huge + b"\n" + good + b"\n", tmp_path)
    assert [row.get("error") for row in out] == ["malformed", None]
    assert "65536" in out[0]["message"]
    exact = b"A" * MAX_LINE_BYTES  # at the limit: parsed (and malformed for another reason)
    _, out = verify(world, exact + b"\n", tmp_path)
    assert "65536" not in out[0]["message"]


def test_totals_are_exact_beyond_28_digits() -> None:
    """CONV-024: a file's total is an exact integer sum, whatever its size."""
    summary = FileSummary(micro_amount=12345678901234567890123456789123457)
    assert str(summary.amount) == "12345678901234567890123456789.123457"
    assert summary.to_json()["amount"] == "12345678901234567890123456789.123457"


def test_summary_per_stream_and_model(world: dict[str, Any], tmp_path: Path) -> None:
    """The summary adds up per stream and per model, exactly, counting duplicates once."""
    receipts = world["receipts"][:5]
    data = "\n".join([*receipts, receipts[0]]).encode() + b"\n"
    summary, _ = verify(world, data, tmp_path)
    body = summary.to_json(totals=True)
    per_receipt = world["card"].price(parse_usage(USAGE)).amount
    total = format_decimal(per_receipt * 5)
    assert body["streams"] == [{"iss": ISS, "aud": AUD, "receipts": 5, "amount": total}]
    assert body["models"] == [{"model": "qwen-max", "receipts": 5, "amount": total}]
    assert summary.duplicates == 1 and summary.amount == per_receipt * 5


class _OtherLedger:
    """A ReceiptLedger that is not a SqliteLedger (it stores through one): the tracker then
    records LedgerEntry objects through record(), the path every ledger implementation has."""

    def __init__(self, inner: SqliteLedger) -> None:
        self.inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def record(self, entries: Any, *, expected_heads: Any = None) -> Any:
        entries = list(entries)
        assert all(isinstance(entry, LedgerEntry) for entry in entries)
        return self.inner.record(entries, expected_heads=expected_heads)


def _table(path: Path) -> list[tuple[Any, ...]]:
    with sqlite3.connect(path) as connection:
        return connection.execute("SELECT * FROM receipts ORDER BY rowid").fetchall()


@pytest.mark.parametrize("workers", [1, 2])
def test_file_rows_equal_tracked_entries(
    world: dict[str, Any], tmp_path: Path, workers: int
) -> None:
    """The ledger rows a file's verification records (built by the workers, inserted in bulk)
    are exactly those of tracking each verified receipt and recording its LedgerEntry, and a
    ledger that is not SQLite gets the same entries; the results are the same too."""
    lines = [*world["receipts"][:6], world["receipts"][2], "x", world["receipts"][7]]
    data = "\n".join(lines).encode() + b"\n"
    verifier = world["config"].build()
    with SqliteLedger(tmp_path / "reference.db") as inner:
        tracker = ReceiptTracker(_OtherLedger(inner))
        for line in lines:
            with contextlib.suppress(TokenfedError), tracker.transaction() as tx:
                tx.track(verifier.verify(line))
    outcomes = []
    for name, wrap in (("sqlite", False), ("other", True)):
        folder = tmp_path / name
        folder.mkdir()
        with SqliteLedger(folder / "ledger.db") as ledger:
            used = _OtherLedger(ledger) if wrap else ledger
            summary, results = verify(world, data, folder, ledger=used, workers=workers)
        assert _table(folder / "ledger.db") == _table(tmp_path / "reference.db")
        outcomes.append((summary.to_json(totals=True), results))
    assert outcomes[0] == outcomes[1]
    summary_json, results = outcomes[0]
    assert summary_json["accepted"] == 6 and summary_json["duplicates"] == 1
    assert [row["ok"] for row in results] == [True] * 7 + [False, False]
    assert results[6].get("duplicate") is True and results[7]["error"] == "malformed"
    assert results[8]["error"] == "chain_break"


@pytest.mark.parametrize("target", ["source", "ledger", "ledger-wal", "hardlink"])
def test_results_never_overwrite_an_input(
    world: dict[str, Any], tmp_path: Path, target: str
) -> None:
    """The results path may not be the input, the ledger (or its journal) or a link to them;
    refused before anything is written."""
    source = tmp_path / "in.jsonl"
    original = ("\n".join(world["receipts"][:3]) + "\n").encode()
    source.write_bytes(original)
    ledger_path = tmp_path / "ledger.db"
    with SqliteLedger(ledger_path) as ledger:
        results = {
            "source": source,
            "ledger": ledger_path,
            "ledger-wal": Path(str(ledger_path) + "-wal"),
            "hardlink": tmp_path / "link.jsonl",
        }[target]
        if target == "hardlink":
            os.link(source, results)
        with pytest.raises(IoError):
            verify_file(source, results, world["config"], ledger=ledger, protected=[ledger_path])
    assert source.read_bytes() == original
    with SqliteLedger(ledger_path) as ledger:  # still a ledger, and nothing was recorded
        assert ledger.totals() == {}


def test_cli_refuses_results_over_an_input(world: dict[str, Any], tmp_path: Path) -> None:
    """The CLI refuses `--results` naming the input or the ledger, with io_error, exit 1."""
    folder = world["folder"]
    source = tmp_path / "r.jsonl"
    original = ("\n".join(world["receipts"][:3]) + "\n").encode()
    source.write_bytes(original)
    base = ["receipt", "verify", "--trust", str(folder / "trust.json")]
    base += ["--rate-card", str(folder / "card.jwt"), "--at", str(NOW)]
    same = run(*base, "--results", str(source), str(source))
    assert same.returncode == 1 and error_of(same) == "io_error"
    assert source.read_bytes() == original
    ledger = tmp_path / "L.db"
    done = run(*base, "--ledger", str(ledger), str(source))
    assert done.returncode == 0, done.stderr
    before = ledger.read_bytes()
    again = run(*base, "--ledger", str(ledger), "--results", str(ledger), str(source))
    assert again.returncode == 1 and error_of(again) == "io_error"
    assert ledger.read_bytes() == before


def test_cli_file_verification_with_summary(world: dict[str, Any], tmp_path: Path) -> None:
    """`receipt verify --summary` prints per-stream and per-model totals; a forged line exits 1
    with that line's code and every line has a result."""
    folder = world["folder"]
    receipts = list(world["receipts"][:6])
    head, payload, signature = receipts[5].split(".")
    receipts[5] = f"{head}.{payload}.{'A' * len(signature)}"
    source = tmp_path / "r.jsonl"
    source.write_text("\n".join(receipts) + "\n")
    done = run(
        "receipt", "verify", "--trust", str(folder / "trust.json"),
        "--rate-card", str(folder / "card.jwt"), "--at", str(NOW), "--summary",
        "--workers", "2", str(source),
    )  # fmt: skip
    assert done.returncode == 1 and error_of(done) == "invalid_signature"
    report = json.loads(done.stdout)
    assert report["lines"] == 6 and report["accepted"] == 5
    assert report["streams"][0]["receipts"] == 5
    assert len(rows(Path(report["results"]))) == 6


def test_cli_workers_must_be_positive(world: dict[str, Any]) -> None:
    """`--workers 0` is a bad command line: invalid_arguments, exit 2."""
    folder = world["folder"]
    done = run(
        "receipt", "verify", "--trust", str(folder / "trust.json"),
        "--rate-card", str(folder / "card.jwt"), "--workers", "0", "x.jsonl",
    )  # fmt: skip
    assert done.returncode == 2 and error_of(done) == "invalid_arguments"


def test_workers_die_with_a_killed_parent(world: dict[str, Any], tmp_path: Path) -> None:
    """A CLI killed with SIGKILL mid-file leaves no worker process behind."""
    folder = world["folder"]
    source = tmp_path / "big.jsonl"
    source.write_text(("\n".join(world["receipts"]) + "\n") * 400)
    process = subprocess.Popen(
        [sys.executable, "-m", "tokenfed.cli", "receipt", "verify",
         "--trust", str(folder / "trust.json"), "--rate-card", str(folder / "card.jwt"),
         "--at", str(NOW), "--workers", "2", str(source)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    children: list[int] = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len(children) < 2:
        time.sleep(0.1)
        found = subprocess.run(
            ["pgrep", "-P", str(process.pid)], capture_output=True, text=True, check=False
        )
        children = [int(pid) for pid in found.stdout.split()]
    assert children, "the CLI started no worker"
    process.send_signal(signal.SIGKILL)
    process.wait()
    deadline = time.monotonic() + 10
    alive = children
    while alive and time.monotonic() < deadline:
        time.sleep(0.1)
        alive = [pid for pid in children if Path(f"/proc/{pid}").exists() and not _zombie(pid)]
    assert alive == []


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z"
    except OSError:
        return False


def test_cli_refuses_an_unverified_rate_card(world: dict[str, Any], tmp_path: Path) -> None:
    """UNIT-031, UNIT-033: `price` needs --key, --trust or --no-verify; a card whose signature
    was replaced is invalid_signature; --no-verify prices with a loud warning."""
    folder = world["folder"]
    head, payload, signature = world["token"].split(".")
    forged = tmp_path / "forged.jwt"
    forged.write_text(f"{head}.{payload}.{'A' * len(signature)}")
    base = ["price", "--usage", str(folder / "usage.json"), "--at", str(NOW)]
    missing = run(*base, "--rate-card", str(forged))
    assert missing.returncode == 2 and error_of(missing) == "invalid_arguments"
    refused = run(*base, "--rate-card", str(forged), "--trust", str(folder / "trust.json"))
    assert refused.returncode == 1 and error_of(refused) == "invalid_signature"
    refused = run(*base, "--rate-card", str(forged), "--key", str(folder / "pub.jwk"))
    assert refused.returncode == 1 and error_of(refused) == "invalid_signature"
    ok = run(*base, "--rate-card", str(folder / "card.jwt"), "--trust", str(folder / "trust.json"))
    assert ok.returncode == 0, ok.stderr
    loud = run(*base, "--rate-card", str(forged), "--no-verify")
    assert loud.returncode == 0
    assert json.loads(loud.stderr)["warning"] == "not_verified"
    assert json.loads(loud.stdout)["amount"] == json.loads(ok.stdout)["amount"]


def test_cli_binary_rate_card_is_malformed(world: dict[str, Any], tmp_path: Path) -> None:
    """CONV-041: a rate card file of binary garbage is malformed, not an I/O error."""
    folder = world["folder"]
    garbage = tmp_path / "garbage.jwt"
    garbage.write_bytes(bytes(range(256)) * 4)
    done = run(
        "price", "--usage", str(folder / "usage.json"), "--rate-card", str(garbage),
        "--trust", str(folder / "trust.json"),
    )  # fmt: skip
    assert done.returncode == 1 and error_of(done) == "malformed"
    receipts = tmp_path / "garbage.jsonl"
    receipts.write_bytes(GARBAGE)
    done = run(
        "receipt", "verify", "--trust", str(folder / "trust.json"),
        "--rate-card", str(folder / "card.jwt"), "--at", str(NOW), str(receipts),
    )  # fmt: skip
    assert done.returncode == 1 and error_of(done) == "malformed"


def test_cli_issue_verify_single_receipt_and_inspect(world: dict[str, Any], tmp_path: Path) -> None:
    """REC-040, CONV-050: issue with a verified card, verify one receipt from stdin, inspect."""
    folder = world["folder"]
    issued = run(
        "receipt", "issue", "--key", str(folder / "key.jwk"), "--iss", ISS, "--aud", AUD,
        "--sub", SUB, "--rate-card", str(folder / "card.jwt"),
        "--trust", str(folder / "trust.json"), "--usage", str(folder / "usage.json"),
        "--state", str(tmp_path / "s.db"), "--iat", str(NOW),
    )  # fmt: skip
    assert issued.returncode == 0, issued.stderr
    token = issued.stdout.strip()
    verify_args = ["receipt", "verify", "--trust", str(folder / "trust.json")]
    verify_args += ["--rate-card", str(folder / "card.jwt"), "--at", str(NOW), "-"]
    ok = run(*verify_args, stdin=token)
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["seq"] == 1
    head, payload, signature = token.decode().split(".")
    first = "B" if signature[0] == "A" else "A"
    bad = run(*verify_args, stdin=f"{head}.{payload}.{first}{signature[1:]}".encode())
    assert bad.returncode == 1 and error_of(bad) == "invalid_signature"
    inspected = run("receipt", "inspect", "-", stdin=token)
    assert json.loads(inspected.stdout)["verified"] is False


def test_cli_trust_lifecycle(world: dict[str, Any], tmp_path: Path) -> None:
    """REC-030..REC-034: add, list, rotate (set exp) and revoke keys without editing JSON; old
    receipts still verify after rotation, receipts signed after revocation do not."""
    folder = world["folder"]
    trust = str(tmp_path / "trust.json")
    kid = world["key"].kid
    pub = str(folder / "pub.jwk")
    added = run("trust", "add", "--trust", trust, "--iss", ISS, "--key", pub, "--nbf", str(NBF))
    assert added.returncode == 0, added.stderr
    again = run("trust", "add", "--trust", trust, "--iss", ISS, "--key", pub, "--nbf", str(NBF))
    assert again.returncode == 1 and error_of(again) == "invalid_key"
    bad = run("trust", "add", "--trust", trust, "--iss", "http://x", "--key", pub, "--nbf", "1")
    assert bad.returncode == 1 and error_of(bad) == "schema_violation"
    rotated = run("trust", "rotate", "--trust", trust, "--iss", ISS, f"--kid={kid}",
                  "--exp", str(NOW + 60))  # fmt: skip
    assert rotated.returncode == 0 and json.loads(rotated.stdout)["exp"] == NOW + 60
    early = run("trust", "rotate", "--trust", trust, "--iss", ISS, f"--kid={kid}", "--exp", "5")
    assert early.returncode == 1 and error_of(early) == "invalid_key"
    listed = run("trust", "list", "--trust", trust, "--at", str(NOW + 120))
    (entry,) = json.loads(listed.stdout)
    assert entry["kid"] == kid and entry["exp"] == NOW + 60 and entry["valid"] is False
    revoked = run("trust", "revoke", "--trust", trust, "--iss", ISS, f"--kid={kid}",
                  "--at", str(NOW), "--reason", "key compromise")  # fmt: skip
    assert revoked.returncode == 0, revoked.stderr
    store = TrustStore.load(trust)
    card = RateCard.from_jws(world["token"], store)
    issuer = ReceiptIssuer(world["key"], ISS, card)
    before = issuer.issue(aud=AUD, sub=SUB, usage=USAGE, iat=NOW - 60)
    after = issuer.issue(aud=AUD, sub=SUB, usage=USAGE, iat=NOW)
    from tokenfed.receipts import ReceiptVerifier

    verifier = ReceiptVerifier(store, [card], clock=lambda: NOW + 600)
    assert verifier.verify(before).seq == 1
    with pytest.raises(TokenfedError) as caught:
        verifier.verify(after)
    assert caught.value.code == "key_not_valid"
    unknown = run("trust", "revoke", "--trust", trust, "--iss", ISS, "--kid", "nope", "--at", "1")
    assert unknown.returncode == 1 and error_of(unknown) == "unknown_key"


def test_cli_issue_needs_durable_state_and_a_verified_card(
    world: dict[str, Any], tmp_path: Path
) -> None:
    """REC-046, UNIT-033: receipt issue without --state (every run would start the stream at
    seq 1 again and fork it) or with --no-verify for the rate card is a bad command line."""
    folder = world["folder"]
    base = ["receipt", "issue", "--key", str(folder / "key.jwk"), "--iss", ISS, "--aud", AUD,
            "--sub", SUB, "--rate-card", str(folder / "card.jwt"),
            "--usage", str(folder / "usage.json")]  # fmt: skip
    no_state = run(*base, "--trust", str(folder / "trust.json"))
    assert (no_state.returncode, error_of(no_state)) == (2, "invalid_arguments")
    unverified = run(*base, "--no-verify", "--state", str(tmp_path / "s.db"))
    assert (unverified.returncode, error_of(unverified)) == (2, "invalid_arguments")
    state = str(tmp_path / "s.db")
    tokens = [run(*base, "--trust", str(folder / "trust.json"), "--state", state,
                  "--iat", str(NOW)).stdout.strip() for _ in range(2)]  # fmt: skip
    seqs = [json.loads(base64.urlsafe_b64decode(t.split(b".")[1] + b"==="))["seq"] for t in tokens]
    assert seqs == [1, 2]


def test_cli_keeps_unknown_trust_store_members(world: dict[str, Any], tmp_path: Path) -> None:
    """CONV-005: a trust store read and written again (add, rotate, revoke) keeps the members
    this SDK does not know, at every level, with their values, and its minor version."""
    trust = tmp_path / "trust.json"
    document = json.loads((world["folder"] / "trust.json").read_text())
    document["ver"] = "1.3"
    document["comment"] = {"owner": "ops", "list": [1, "two"]}
    entry = document["issuers"][ISS]
    entry["note"] = "primary"
    entry["jwks"]["x-source"] = "manual"
    entry["jwks"]["keys"][0]["x-label"] = "signing 2026"
    trust.write_text(json.dumps(document))
    kid = world["key"].kid
    steps = [
        ("trust", "rotate", "--trust", str(trust), "--iss", ISS, f"--kid={kid}",
         "--exp", str(NOW + 60)),
        ("trust", "revoke", "--trust", str(trust), "--iss", ISS, f"--kid={kid}",
         "--at", str(NOW), "--reason", "key compromise"),
        ("trust", "add", "--trust", str(trust), "--iss", "https://p2.example",
         "--key", str(world["folder"] / "pub.jwk"), "--nbf", str(NBF)),
    ]  # fmt: skip
    for step in steps:
        done = run(*step)
        assert done.returncode == 0, done.stderr
    after = json.loads(trust.read_text())
    assert after["ver"] == "1.3" and after["comment"] == document["comment"]
    kept = after["issuers"][ISS]
    assert kept["note"] == "primary" and kept["jwks"]["x-source"] == "manual"
    (key,) = kept["jwks"]["keys"]
    assert key["x-label"] == "signing 2026" and key["exp"] == NOW + 60 and "revoked" in key
    assert "x-label" not in after["issuers"]["https://p2.example"]["jwks"]["keys"][0]


def test_cli_never_writes_a_trust_store_it_could_not_read(
    world: dict[str, Any], tmp_path: Path
) -> None:
    """REC-030, REC-034, CONV-016: a key whose exp is not after its nbf, or a revocation reason
    holding a noncharacter, is refused with its code and the store on disk is unchanged."""
    trust = tmp_path / "trust.json"
    pub = str(world["folder"] / "pub.jwk")
    assert run("trust", "add", "--trust", str(trust), "--iss", ISS, "--key", pub,
               "--nbf", str(NBF)).returncode == 0  # fmt: skip
    before = trust.read_bytes()
    empty = run("trust", "add", "--trust", str(trust), "--iss", "https://p2.example",
                "--key", pub, "--nbf", "5", "--exp", "5")  # fmt: skip
    assert (empty.returncode, error_of(empty)) == (1, "invalid_key")
    odd = run("trust", "revoke", "--trust", str(trust), "--iss", ISS, f"--kid={world['key'].kid}",
              "--at", str(NOW), "--reason", "\ufdd0")  # fmt: skip
    assert (odd.returncode, error_of(odd)) == (1, "malformed")
    assert trust.read_bytes() == before


def test_cli_arguments_that_are_not_utf8_are_a_bad_command_line(tmp_path: Path) -> None:
    """Bytes that are not UTF-8 in an argument are invalid_arguments (exit 2), not an
    internal error."""
    done = subprocess.run(
        [sys.executable, "-m", "tokenfed.cli", "usage", "adapt", "--from", "openai",
         "--model", b"m\xff".decode("utf-8", "surrogateescape"), str(tmp_path / "x.json")],
        capture_output=True, check=False, timeout=120,
    )  # fmt: skip
    assert (done.returncode, error_of(done)) == (2, "invalid_arguments")


def test_cli_empty_standard_input_is_an_empty_file(world: dict[str, Any], tmp_path: Path) -> None:
    """REC-070: an empty file has no lines and verifies, read from standard input too."""
    trust, card = str(world["folder"] / "trust.json"), str(world["folder"] / "card.jwt")
    results = tmp_path / "out.jsonl"
    done = run("receipt", "verify", "--trust", trust, "--rate-card", card, "--results",
               str(results), "-", stdin=b"")  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["lines"] == 0 and results.read_bytes() == b""


def test_cli_json_files_take_only_json_whitespace(world: dict[str, Any], tmp_path: Path) -> None:
    """CONV-010: a form feed before a JSON document is not JSON whitespace: malformed."""
    trust = tmp_path / "trust.json"
    trust.write_bytes(b"\x0c" + (world["folder"] / "trust.json").read_bytes())
    done = run("trust", "list", "--trust", str(trust))
    assert (done.returncode, error_of(done)) == (1, "malformed")


def test_file_verification_memory_is_flat(world: dict[str, Any], tmp_path: Path) -> None:
    """REC-070: verifying a file streams it: peak memory for 4x the receipts stays within a
    small margin of the peak for 1x (no per-receipt state is kept in memory)."""
    import tracemalloc

    issuer = ReceiptIssuer(world["key"], ISS, world["card"], clock=lambda: NOW)
    tokens = [issuer.issue(aud=AUD, sub=SUB, usage=USAGE) for _ in range(4096)]
    peaks = []
    for count in (1024, 4096):
        source = tmp_path / f"r{count}.jsonl"
        source.write_text("\n".join(tokens[:count]) + "\n", encoding="utf-8")
        tracemalloc.start()
        summary = verify_file(
            source, tmp_path / "out.jsonl", world["config"], workers=1, progress=False
        )
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
        assert summary.accepted == count
    assert peaks[1] - peaks[0] < 512 * 1024, peaks
    assert summary.amount == Decimal(summary.micro_amount) / 1_000_000


def test_cli_takes_a_kid_that_starts_with_a_dash(tmp_path: Path) -> None:
    """A base64url thumbprint may start with '-': written --kid=KID it reaches the command."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from tokenfed.keys import PrivateKey

    seeds = (
        PrivateKey(Ed25519PrivateKey.from_private_bytes(i.to_bytes(32)), "EdDSA")
        for i in range(1, 10_000)
    )
    key = next(candidate for candidate in seeds if candidate.kid.startswith("-"))
    trust = TrustStore({}).with_key(ISS, key.public_key(KeyValidity(nbf=NBF)))
    path = tmp_path / "trust.json"
    path.write_text(json.dumps(trust.to_json()))
    done = run("trust", "rotate", "--trust", str(path), "--iss", ISS, f"--kid={key.kid}",
               "--exp", str(NOW))  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["exp"] == NOW


def test_result_members_are_those_of_json_dumps(world: dict[str, Any]) -> None:
    """A verified line's result members, written without a dictionary, are exactly
    ``json.dumps(verified.to_json())`` inside its braces, for receipts and batched receipts."""
    verifier = world["config"].build()
    issuer = ReceiptIssuer(world["key"], ISS, world["card"], clock=lambda: NOW)
    batched = issuer.issue_batch(
        [ReceiptRequest(aud=AUD, sub=SUB, usage=USAGE, jti=f"b{n}") for n in range(3)]
    )
    lines = [*world["receipts"][:3], *(json.dumps(item) for item in batched)]
    for line in lines:
        verified = verifier.verify(line)
        assert (
            _verified_members(verified) == json.dumps(verified.to_json(), ensure_ascii=False)[1:-1]
        )
    assert verifier.verify(lines[-1]).batch_id is not None


@settings(derandomize=True, max_examples=300, deadline=None)
@given(st.text())
def test_result_strings_are_escaped_as_json_dumps_escapes(text: str) -> None:
    """Strings in result members are escaped exactly as ``json.dumps(ensure_ascii=False)``."""
    assert vars(_files)["_string"] is encode_basestring
    assert encode_basestring(text) == json.dumps(text, ensure_ascii=False)


@pytest.mark.skipif(sys.platform != "linux", reason="workers are forked on Linux only")
def test_workers_are_forked_only_from_a_single_thread() -> None:
    """A single-threaded process forks its workers (they import nothing again, whatever the
    interpreter's default start method); a process with another thread keeps the default."""
    code = "from tokenfed.receipts._files import _pool_context as c; print(c().get_start_method())"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, check=True)
    assert done.stdout.decode().strip() == "fork"
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        assert _pool_context() is None
    finally:
        stop.set()
        other.join()


def _reference_lines(data: bytes, limit: int) -> list[tuple[bytes | None, int]]:
    """REC-070 and REC-071 read literally: lines end at each LF, one CR before the LF is not
    part of the line, a last line without LF is a line (its CR, if any, counting towards its
    length), and a line longer than ``limit`` is ``None``; with the bytes each line took."""
    found: list[tuple[bytes | None, int]] = []
    pieces = data.split(b"\n")
    last = pieces.pop()
    for piece in pieces:
        line = piece[:-1] if piece.endswith(b"\r") else piece
        found.append((None if len(line) > limit else line, len(piece) + 1))
    if last:
        line = last[:-1] if last.endswith(b"\r") else last
        found.append((None if len(last) > limit else line, len(last)))
    return found


class _Trickle:
    """A source that gives at most the next of ``sizes`` bytes per ``read1``, as a pipe does."""

    def __init__(self, data: bytes, sizes: list[int]) -> None:
        self._data, self._sizes, self._at = data, sizes or [1], 0

    def read1(self, size: int = -1) -> bytes:
        step = self._sizes[self._at % len(self._sizes)] if self._at < len(self._data) else 1
        piece = self._data[self._at : self._at + min(step, size)]
        self._at += len(piece)
        return piece

    read = read1


@settings(max_examples=400, deadline=None, derandomize=True)
@given(
    parts=st.lists(
        st.sampled_from([b"a", b"bb", b"\r", b"\n", b"\r\n", b"x" * 7, b"\n\n", b"y" * 13]),
        max_size=40,
    ),
    limit=st.integers(0, 12),
    block=st.integers(1, 16),
    sizes=st.lists(st.integers(1, 20), max_size=5),
    chunk=st.integers(1, 4),
)
def test_lines_are_split_as_rec_070_and_071_read(
    parts: list[bytes], limit: int, block: int, sizes: list[int], chunk: int
) -> None:
    """REC-070, REC-071: the file reader gives every line, without an LF and the CR before it,
    an over-long line as ``None`` however the file's bytes arrive (blocks split anywhere: in
    a CRLF, in an over-long line), and the chunks' sizes add up to the file's."""
    data = b"".join(parts)
    patch = pytest.MonkeyPatch()
    with patch.context() as patched:
        patched.setattr(_files, "MAX_LINE_BYTES", limit)
        patched.setattr(_files, "_READ_BYTES", block)
        patched.setattr(_files, "_CHUNK_LINES", chunk)
        chunks = list(_files._chunks(_Trickle(data, sizes)))  # type: ignore[arg-type]
    expected = _reference_lines(data, limit)
    assert [line for lines, _ in chunks for line in lines] == [line for line, _ in expected]
    assert sum(size for _, size in chunks) == len(data)
    assert all(len(lines) == chunk for lines, _ in chunks[:-1])
    # Each chunk's size is the bytes its own lines took.
    taken = [size for _, size in expected]
    at = 0
    for lines, size in chunks:
        assert size == sum(taken[at : at + len(lines)])
        at += len(lines)
