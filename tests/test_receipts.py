"""Receipt issuing and verification beyond the vectors: streams, ledger, batches, files, CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tokenfed import _json
from tokenfed._files import VerifierConfig, verify_file
from tokenfed.errors import (
    ChainBreakError,
    InvalidProofError,
    ReplayError,
    SchemaViolationError,
    TokenfedError,
)
from tokenfed.keys import KeyValidity, generate_key
from tokenfed.ledger import SqliteLedger, SqliteStreamStore
from tokenfed.receipts import (
    ReceiptIssuer,
    ReceiptRequest,
    ReceiptVerifier,
    TrustStore,
    pairwise_subject,
)
from tokenfed.units import RateCard
from tokenfed_conformance.vectors import load_vectors

T0 = 1767225600
ISS = "https://provider.example"
AUD = "https://home.example"
SUB = "Zk9xW2cLm3P8qRsT"
CARD_CLAIMS: dict[str, Any] = load_vectors("receipts").extra["fixtures"]["rate_cards"]["default"]
USAGE = {"model": "qwen-max", "meters": {"input": 1200, "output": 300}}


@pytest.fixture
def setup() -> tuple[Any, RateCard, TrustStore]:
    key = generate_key()
    card = RateCard.from_claims(dict(CARD_CLAIMS, iss=ISS))
    trust = TrustStore.from_json(
        {
            "ver": "1.0",
            "issuers": {ISS: {"jwks": {"keys": [key.public_key(KeyValidity(nbf=T0)).to_jwk()]}}},
        }
    )
    return key, card, trust


def clock() -> int:
    return T0 + 3600


def test_jti_syntax_is_enforced(setup: Any) -> None:
    """REC-002: a jti outside 1..128 unreserved characters is refused when issuing."""
    key, card, _ = setup
    issuer = ReceiptIssuer(key, ISS, card, clock=clock)
    with pytest.raises(SchemaViolationError):
        issuer.issue(aud=AUD, sub=SUB, usage=USAGE, jti="has space")
    with pytest.raises(SchemaViolationError):
        issuer.issue(aud=AUD, sub=SUB, usage=USAGE, jti="x" * 129)


def test_identical_resubmission_counts_once_in_the_ledger(setup: Any, tmp_path: Path) -> None:
    """REC-010, REC-042: the same content is a duplicate, recorded and counted once."""
    key, card, trust = setup
    token = ReceiptIssuer(key, ISS, card, clock=clock).issue(aud=AUD, sub=SUB, usage=USAGE)
    with SqliteLedger(tmp_path / "ledger.db") as ledger:
        verifier = ReceiptVerifier(trust, [card], ledger=ledger, clock=clock)
        first = verifier.verify(token)
        again = ReceiptVerifier(trust, [card], ledger=ledger, clock=clock).verify(token)
        assert not first.duplicate and again.duplicate
        assert first.content_digest == again.content_digest
        ((count, total),) = ledger.totals().values()
        assert count == 1 and total == Decimal(first.claims["amount"])


def test_rejected_receipts_are_not_recorded(setup: Any, tmp_path: Path) -> None:
    """REC-044: a receipt that fails any step leaves no trace in the ledger or the stream."""
    key, card, trust = setup
    issuer = ReceiptIssuer(key, ISS, card, clock=clock)
    first = issuer.issue(aud=AUD, sub=SUB, usage=USAGE)
    second = issuer.issue(aud=AUD, sub=SUB, usage=USAGE)
    with SqliteLedger(tmp_path / "ledger.db") as ledger:
        verifier = ReceiptVerifier(trust, [card], ledger=ledger, clock=clock)
        with pytest.raises(ChainBreakError):
            verifier.verify(second)  # seq 2 before seq 1
        assert ledger.stream_head(ISS, AUD) is None
        verifier.verify(first)
        verifier.verify(second)
        assert ledger.stream_head(ISS, AUD) is not None
        assert ledger.stream_head(ISS, AUD)[0] == 2  # type: ignore[index]


def test_replay_after_restart_is_detected_through_the_ledger(setup: Any, tmp_path: Path) -> None:
    """REC-042, REC-045: replay state survives a verifier restart through the ledger."""
    key, card, trust = setup
    token = ReceiptIssuer(key, ISS, card, clock=clock).issue(
        aud=AUD, sub=SUB, usage=USAGE, jti="j1"
    )
    other = ReceiptIssuer(key, ISS, card, clock=clock).issue(
        aud=AUD, sub=SUB, usage={"model": "qwen-max", "meters": {"input": 1}}, jti="j1"
    )
    path = tmp_path / "ledger.db"
    with SqliteLedger(path) as ledger:
        ReceiptVerifier(trust, [card], ledger=ledger, clock=clock).verify(token)
    with SqliteLedger(path) as ledger, pytest.raises(ReplayError):
        ReceiptVerifier(trust, [card], ledger=ledger, clock=clock).verify(other)


def test_issuer_never_reuses_seq_after_restart(setup: Any, tmp_path: Path) -> None:
    """REC-046: a restarted issuer continues its streams from the durable store."""
    key, card, trust = setup
    path = tmp_path / "streams.db"
    with SqliteStreamStore(path) as store:
        first = ReceiptIssuer(key, ISS, card, store=store, clock=clock).issue(
            aud=AUD, sub=SUB, usage=USAGE
        )
    with SqliteStreamStore(path) as store:
        second = ReceiptIssuer(key, ISS, card, store=store, clock=clock).issue(
            aud=AUD, sub=SUB, usage=USAGE
        )
    verifier = ReceiptVerifier(trust, [card], clock=clock)
    assert verifier.verify(first).claims["seq"] == 1
    assert verifier.verify(second).claims["seq"] == 2


def test_whole_batch_verification(setup: Any) -> None:
    """REC-064: a whole batch verifies by its root; one changed leaf rejects the batch."""
    key, card, trust = setup
    issuer = ReceiptIssuer(key, ISS, card, clock=clock)
    batch = issuer.issue_batch(
        [ReceiptRequest(aud=AUD, sub=SUB, usage=USAGE, jti=f"b{i}") for i in range(7)]
    )
    leaves = [_json.canonical_bytes(_claims(item)) for item in batch]
    results = ReceiptVerifier(trust, [card], clock=clock).verify_batch(batch[0]["batch"], leaves)
    assert [r.claims["seq"] for r in results if not isinstance(r, TokenfedError)] == list(
        range(1, 8)
    )
    leaves[3] = leaves[3].replace(b'"b3"', b'"bX"')
    with pytest.raises(InvalidProofError):
        ReceiptVerifier(trust, [card], clock=clock).verify_batch(batch[0]["batch"], leaves)
    with pytest.raises(InvalidProofError):
        ReceiptVerifier(trust, [card], clock=clock).verify_batch(batch[0]["batch"], leaves[:6])


def _claims(item: dict[str, Any]) -> dict[str, Any]:
    from tokenfed._b64 import b64decode

    value: dict[str, Any] = _json.loads(b64decode(item["claims"]))
    return value


def test_pairwise_subject_is_stable_and_unlinkable() -> None:
    """REC-003: the recommended sub is stable per (subscriber, issuer), differs across issuers."""
    secret = b"0123456789abcdef"
    a1 = pairwise_subject(secret, "https://a.example", "acct-1")
    assert a1 == pairwise_subject(secret, "https://a.example", "acct-1")
    assert a1 != pairwise_subject(secret, "https://b.example", "acct-1")
    assert "acct" not in a1 and not a1.isdigit()


def _file_fixture(setup: Any, tmp_path: Path) -> tuple[Path, VerifierConfig, list[str]]:
    key, card, trust = setup
    issuer = ReceiptIssuer(key, ISS, card, clock=clock)
    tokens = [issuer.issue(aud=AUD, sub=SUB, usage=USAGE) for _ in range(1200)]
    lines = list(tokens)
    lines.insert(600, tokens[10])  # identical resubmission
    head, payload, sig = tokens[700].split(".")
    lines[900] = f"{head}.{payload}.{'A' * len(sig)}"  # forged signature
    source = tmp_path / "receipts.jsonl"
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    config = VerifierConfig(trust=trust.to_json(), rate_cards=(json.dumps(card.raw),), now=clock())
    return source, config, lines


@pytest.mark.parametrize("workers", [1, 2])
def test_file_verification_reports_every_line(setup: Any, tmp_path: Path, workers: int) -> None:
    """REC-070: one result per line, in order; duplicates counted once; chain checked in order."""
    source, config, lines = _file_fixture(setup, tmp_path)
    results = tmp_path / "results.jsonl"
    with SqliteLedger(tmp_path / "ledger.db") as ledger:
        summary = verify_file(
            source, results, config, ledger=ledger, workers=workers, progress=False
        )
        rows = [json.loads(line) for line in results.read_text().splitlines()]
        assert [row["line"] for row in rows] == list(range(1, len(lines) + 1))
        assert rows[600]["duplicate"] is True
        assert rows[900] == {**rows[900], "ok": False, "error": "invalid_signature"}
        # The receipt after the forged one breaks the chain: its predecessor was never accepted.
        assert rows[901]["error"] == "chain_break"
        assert summary.duplicates == 1
        assert summary.rejected == len(lines) - 900 - 0  # line 901 on, all chained after the gap
        assert summary.accepted == 899
        ((count, total),) = ledger.totals().values()
        assert count == 899 and total == summary.amount


def _run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tokenfed.cli", *args],
        capture_output=True,
        text=True,
        input=stdin,
        check=False,
    )


def test_cli_receipt_issue_verify_inspect(setup: Any, tmp_path: Path) -> None:
    """REC-040, CONV-050: the CLI issues, verifies and inspects; rejections are JSON, exit 1."""
    key, card, trust = setup
    (tmp_path / "key.jwk").write_text(json.dumps(key.to_jwk()))
    (tmp_path / "card.json").write_text(json.dumps(card.raw))
    (tmp_path / "usage.json").write_text(json.dumps(USAGE))
    (tmp_path / "trust.json").write_text(json.dumps(trust.to_json()))
    issued = _run(
        "receipt",
        "issue",
        "--key",
        str(tmp_path / "key.jwk"),
        "--iss",
        ISS,
        "--aud",
        AUD,
        "--sub",
        SUB,
        "--rate-card",
        str(tmp_path / "card.json"),
        "--usage",
        str(tmp_path / "usage.json"),
        "--state",
        str(tmp_path / "s.db"),
        "--iat",
        str(clock()),
    )
    assert issued.returncode == 0, issued.stderr
    token = issued.stdout.strip()
    verify_args = [
        "receipt",
        "verify",
        "--trust",
        str(tmp_path / "trust.json"),
        "--rate-card",
        str(tmp_path / "card.json"),
        "--at",
        str(clock()),
    ]
    ok = _run(*verify_args, "-", stdin=token)
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["seq"] == 1
    head, payload, sig = token.split(".")
    bad = _run(*verify_args, "-", stdin=f"{head}.{payload}.{sig[::-1]}")
    assert bad.returncode == 1
    error = json.loads(bad.stderr)
    assert error["error"] in {"invalid_signature", "malformed"} and "Traceback" not in bad.stderr
    inspected = _run("receipt", "inspect", "-", stdin=token)
    assert json.loads(inspected.stdout)["verified"] is False
    usage = _run("receipt", "verify", "--trust")
    assert usage.returncode == 2 and json.loads(usage.stderr)["error"] == "invalid_arguments"


def test_cli_verifies_a_file_and_fails_on_a_rejected_line(setup: Any, tmp_path: Path) -> None:
    """REC-070: a file with a rejected line exits 1 with the first error; results are written."""
    source, config, lines = _file_fixture(setup, tmp_path)
    (tmp_path / "trust.json").write_text(json.dumps(config.trust))
    (tmp_path / "card.json").write_text(config.rate_cards[0])
    done = _run(
        "receipt",
        "verify",
        "--trust",
        str(tmp_path / "trust.json"),
        "--rate-card",
        str(tmp_path / "card.json"),
        "--at",
        str(config.now),
        "--workers",
        "1",
        str(source),
    )
    assert done.returncode == 1
    assert json.loads(done.stderr)["error"] == "invalid_signature"
    summary = json.loads(done.stdout)
    assert summary["lines"] == len(lines) and summary["duplicates"] == 1
    assert Path(summary["results"]).exists()


def test_concurrent_writer_cannot_fork_a_stream(setup: Any, tmp_path: Path) -> None:
    """REC-043, REC-045, REC-047: two verifiers share one ledger; the one whose stream head
    moved while it checked records nothing and reports chain_break instead of forking it."""
    key, card, trust = setup
    issuer = ReceiptIssuer(key, ISS, card, clock=clock)
    first, second = (issuer.issue(aud=AUD, sub=SUB, usage=USAGE) for _ in range(2))
    path = tmp_path / "ledger.db"
    with SqliteLedger(path) as one, SqliteLedger(path) as two:
        slow = ReceiptVerifier(trust, [card], ledger=one, clock=clock)
        fast = ReceiptVerifier(trust, [card], ledger=two, clock=clock)
        slow.track(slow.check(first))  # checked against an empty stream, not yet recorded
        fast.verify(first)
        fast.verify(second)
        with pytest.raises(ChainBreakError):
            slow.commit()
        assert one.stream_head(ISS, AUD) == two.stream_head(ISS, AUD)
        ((count, _),) = one.totals().values()
        assert count == 2


def test_concurrent_replay_records_nothing(setup: Any, tmp_path: Path) -> None:
    """REC-042, REC-047: a jti recorded meanwhile by another verifier with other content makes the
    whole staged batch fail with replay; nothing of it is recorded."""
    key, card, trust = setup
    honest = ReceiptIssuer(key, ISS, card, clock=clock).issue(
        aud=AUD, sub=SUB, usage=USAGE, jti="same"
    )
    other_aud = "https://other-home.example"
    forged = ReceiptIssuer(key, ISS, card, clock=clock).issue(
        aud=other_aud, sub=SUB, usage=USAGE, jti="same"
    )
    path = tmp_path / "ledger.db"
    with SqliteLedger(path) as one, SqliteLedger(path) as two:
        slow = ReceiptVerifier(trust, [card], ledger=one, clock=clock)
        slow.track(slow.check(forged))
        ReceiptVerifier(trust, [card], ledger=two, clock=clock).verify(honest)
        with pytest.raises(ReplayError):
            slow.commit()
        assert one.stream_head(ISS, other_aud) is None


def test_batch_issue_is_one_transaction(setup: Any, tmp_path: Path) -> None:
    """REC-046: a batch's receipts take their seqs in one transaction; a failure in the middle
    stores none of them, and the next batch starts where the stream really is."""
    key, card, trust = setup
    with SqliteStreamStore(tmp_path / "s.db") as store:
        issuer = ReceiptIssuer(key, ISS, card, store=store, clock=clock)
        bad = [ReceiptRequest(aud=AUD, sub=SUB, usage=USAGE, jti=f"ok{i}") for i in range(3)]
        bad.append(ReceiptRequest(aud=AUD, sub=SUB, usage={"model": "nope", "meters": {}}))
        with pytest.raises(TokenfedError):
            issuer.issue_batch(bad)
        assert store.head(ISS, AUD) is None
        batch = issuer.issue_batch(bad[:3])
        assert store.head(ISS, AUD) is not None
        verifier = ReceiptVerifier(trust, [card], clock=clock)
        assert [verifier.verify(item).claims["seq"] for item in batch] == [1, 2, 3]


def test_file_verification_memory_is_flat(setup: Any, tmp_path: Path) -> None:
    """REC-070: verifying a file streams it: peak memory for 4x the receipts stays within a
    small margin of the peak for 1x (no per-receipt state is kept in memory)."""
    import tracemalloc

    key, card, trust = setup
    issuer = ReceiptIssuer(key, ISS, card, clock=clock)
    tokens = [issuer.issue(aud=AUD, sub=SUB, usage=USAGE) for _ in range(4096)]
    config = VerifierConfig(trust=trust.to_json(), rate_cards=(json.dumps(card.raw),), now=clock())
    peaks = []
    for count in (1024, 4096):
        source = tmp_path / f"r{count}.jsonl"
        source.write_text("\n".join(tokens[:count]) + "\n", encoding="utf-8")
        tracemalloc.start()
        summary = verify_file(source, tmp_path / "out.jsonl", config, workers=1, progress=False)
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
        assert summary.accepted == count
    # 3072 more receipts of ~700 bytes would add > 2 MB if any were kept.
    assert peaks[1] - peaks[0] < 512 * 1024, peaks


def test_cli_trust_add_and_revoke(setup: Any, tmp_path: Path) -> None:
    """REC-030, REC-031, REC-034: the CLI builds a trust store the verifier accepts, and a
    revocation makes receipts signed from then on key_not_valid, not those signed before."""
    key, card, _ = setup
    (tmp_path / "pub.jwk").write_text(json.dumps(key.public_key().to_jwk()))
    trust = str(tmp_path / "trust.json")

    def add(iss: str) -> subprocess.CompletedProcess[str]:
        pub = str(tmp_path / "pub.jwk")
        return _run("trust", "add", "--trust", trust, "--iss", iss, "--key", pub, "--nbf", str(T0))

    added = add(ISS)
    assert added.returncode == 0, added.stderr
    assert json.loads(added.stdout)["nbf"] == T0
    again = add(ISS)
    assert again.returncode == 1 and json.loads(again.stderr)["error"] == "invalid_key"
    bad_iss = add("http://x")
    assert bad_iss.returncode == 1 and json.loads(bad_iss.stderr)["error"] == "schema_violation"
    revoked = _run(
        "trust",
        "revoke",
        "--trust",
        trust,
        "--iss",
        ISS,
        "--kid",
        key.kid,
        "--at",
        str(T0 + 7200),
        "--reason",
        "key compromise",
    )
    assert revoked.returncode == 0, revoked.stderr
    store = TrustStore.load(trust)
    issuer = ReceiptIssuer(key, ISS, card, clock=clock)
    before = issuer.issue(aud=AUD, sub=SUB, usage=USAGE, iat=T0 + 3600)
    after = issuer.issue(aud=AUD, sub=SUB, usage=USAGE, iat=T0 + 7200)
    verifier = ReceiptVerifier(store, [card], clock=lambda: T0 + 9000)
    assert verifier.verify(before).claims["seq"] == 1
    with pytest.raises(TokenfedError) as caught:
        verifier.verify(after)
    assert caught.value.code == "key_not_valid"
    unknown = _run(
        "trust", "revoke", "--trust", trust, "--iss", ISS, "--kid", "nope", "--at", str(T0)
    )
    assert unknown.returncode == 1 and json.loads(unknown.stderr)["error"] == "unknown_key"
