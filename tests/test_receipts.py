"""Receipt issuing and verification beyond the vectors: streams, ledger, batches, files, CLI."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from tokenfed import _json
from tokenfed.errors import (
    ChainBreakError,
    InvalidProofError,
    MalformedError,
    ReplayError,
    SchemaViolationError,
    TokenfedError,
)
from tokenfed.keys import KeyValidity, generate_key
from tokenfed.ledger import SqliteLedger, SqliteStreamStore
from tokenfed.receipts import (
    ReceiptIssuer,
    ReceiptRequest,
    ReceiptTracker,
    ReceiptVerifier,
    VerifiedReceipt,
    pairwise_subject,
)
from tokenfed.trust import TrustStore
from tokenfed.units import RateCard
from tokenfed_conformance.vectors import load_vectors

T0 = 1767225600
ISS = "https://provider.example"
AUD = "https://home.example"
SUB = "Zk9xW2cLm3P8qRsT"
CARD_CLAIMS: dict[str, Any] = load_vectors("receipts").extra["fixtures"]["rate_cards"]["default"]
USAGE = {"model": "qwen-max", "meters": {"input": 1200, "output": 300}}


NBF = T0 - 86400  # the card's iat: the key signs the card and the receipts


@pytest.fixture
def setup() -> tuple[Any, RateCard, TrustStore]:
    key = generate_key()
    trust = TrustStore.from_json(
        {
            "ver": "1.0",
            "issuers": {ISS: {"jwks": {"keys": [key.public_key(KeyValidity(nbf=NBF)).to_jwk()]}}},
        }
    )
    card = RateCard.from_jws(RateCard.sign(dict(CARD_CLAIMS, iss=ISS), key), trust)
    return key, card, trust


def clock() -> int:
    return T0 + 3600


def record(
    verifier: ReceiptVerifier, tracker: ReceiptTracker, *receipts: Any
) -> list[VerifiedReceipt]:
    """Verify and track receipts in one transaction (REC-040 steps 1-13)."""
    with tracker.transaction() as tx:
        return [tx.track(verifier.verify(receipt)) for receipt in receipts]


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
    verifier = ReceiptVerifier(trust, [card], clock=clock)
    with SqliteLedger(tmp_path / "ledger.db") as ledger:
        (first,) = record(verifier, ReceiptTracker(ledger), token)
        (again,) = record(verifier, ReceiptTracker(ledger), token)
        assert not first.duplicate and again.duplicate
        assert first.content_digest == again.content_digest
        ((count, total),) = ledger.totals().values()
        assert count == 1 and total == first.amount


def test_rejected_receipts_are_not_recorded(setup: Any, tmp_path: Path) -> None:
    """REC-044: a receipt that fails any step leaves no trace in the ledger or the stream."""
    key, card, trust = setup
    issuer = ReceiptIssuer(key, ISS, card, clock=clock)
    first = issuer.issue(aud=AUD, sub=SUB, usage=USAGE)
    second = issuer.issue(aud=AUD, sub=SUB, usage=USAGE)
    verifier = ReceiptVerifier(trust, [card], clock=clock)
    with SqliteLedger(tmp_path / "ledger.db") as ledger:
        tracker = ReceiptTracker(ledger)
        with pytest.raises(ChainBreakError):
            record(verifier, tracker, second)  # seq 2 before seq 1
        assert ledger.stream_head(ISS, AUD) is None
        record(verifier, tracker, first, second)
        head = ledger.stream_head(ISS, AUD)
        assert head is not None and head[0] == 2
        assert head[1] == verifier.verify(second).content_digest  # REC-007


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
    verifier = ReceiptVerifier(trust, [card], clock=clock)
    with SqliteLedger(path) as ledger:
        record(verifier, ReceiptTracker(ledger), token)
    with SqliteLedger(path) as ledger, pytest.raises(ReplayError):
        record(verifier, ReceiptTracker(ledger), other)


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
    one, two = record(verifier, ReceiptTracker(), first, second)
    assert (one.seq, two.seq) == (1, 2)
    assert two.raw["prev"] == one.content_digest  # REC-007: the chain links content digests


@pytest.mark.parametrize("durable", [False, True], ids=["memory", "sqlite"])
def test_issuer_never_reuses_a_jti(setup: Any, tmp_path: Path, durable: bool) -> None:
    """REC-002: a jti is unique among all receipts of its issuer, in any stream: a second
    receipt under a used jti is refused (replay) before the stream moves on."""
    key, card, trust = setup
    with SqliteStreamStore(tmp_path / "streams.db") as store:
        issuer = ReceiptIssuer(key, ISS, card, store=store if durable else None, clock=clock)
        first = issuer.issue(aud=AUD, sub=SUB, usage=USAGE, jti="once")
        for aud in (AUD, "https://elsewhere.example"):
            with pytest.raises(ReplayError, match="REC-002"):
                issuer.issue(aud=aud, sub=SUB, usage=USAGE, jti="once")
        second = issuer.issue(aud=AUD, sub=SUB, usage=USAGE)
    verifier = ReceiptVerifier(trust, [card], clock=clock)
    one, two = record(verifier, ReceiptTracker(), first, second)
    assert (one.seq, two.seq) == (1, 2)


def test_a_version_2_stream_store_is_migrated_with_its_jtis(setup: Any, tmp_path: Path) -> None:
    """REC-002, REC-046: a stream store of schema version 2 (no jti column) opens as version 3
    with the jti of every issued receipt, and a used jti is then refused."""
    key, card, _ = setup
    path = tmp_path / "streams.db"
    with SqliteStreamStore(path) as store:
        ReceiptIssuer(key, ISS, card, store=store, clock=clock).issue(
            aud=AUD, sub=SUB, usage=USAGE, jti="old-one"
        )
    with sqlite3.connect(path) as raw:
        raw.execute("DROP INDEX issued_jti")
        raw.execute("ALTER TABLE issued DROP COLUMN jti")
        raw.execute("UPDATE tokenfed_schema SET version = 2 WHERE component = 'stream_store'")
    with SqliteStreamStore(path) as store:
        issuer = ReceiptIssuer(key, ISS, card, store=store, clock=clock)
        with pytest.raises(ReplayError):
            issuer.issue(aud=AUD, sub=SUB, usage=USAGE, jti="old-one")
        issuer.issue(aud=AUD, sub=SUB, usage=USAGE, jti="new-one")
    with sqlite3.connect(path) as raw:
        assert raw.execute("SELECT version FROM tokenfed_schema").fetchall() == [(3,)]
        assert raw.execute("SELECT seq, jti FROM issued ORDER BY seq").fetchall() == [
            (1, "old-one"),
            (2, "new-one"),
        ]


@pytest.mark.parametrize("durable", [False, True], ids=["memory", "sqlite"])
def test_issuer_refuses_a_receipt_over_the_size_limit(
    setup: Any, tmp_path: Path, durable: bool
) -> None:
    """REC-009: a receipt that would be over 16384 bytes is refused (malformed) before it is
    signed into the stream: the next receipt takes its seq, and the chain holds."""
    key, card, trust = setup
    meters: dict[str, int] = {f"acme.meter{i:04d}": 0 for i in range(800)}
    big = {"model": "qwen-max", "meters": {"input": 1200, **meters}}
    with SqliteStreamStore(tmp_path / "streams.db") as store:
        issuer = ReceiptIssuer(key, ISS, card, store=store if durable else None, clock=clock)
        first = issuer.issue(aud=AUD, sub=SUB, usage=USAGE)
        with pytest.raises(MalformedError, match="REC-009"):
            issuer.issue(aud=AUD, sub=SUB, usage=big)
        second = issuer.issue(aud=AUD, sub=SUB, usage=USAGE)
    verifier = ReceiptVerifier(trust, [card], clock=clock)
    one, two = record(verifier, ReceiptTracker(), first, second)
    assert (one.seq, two.seq) == (1, 2)


def test_whole_batch_verification(setup: Any) -> None:
    """REC-064: a whole batch verifies by its root; one changed leaf rejects the batch."""
    key, card, trust = setup
    issuer = ReceiptIssuer(key, ISS, card, clock=clock)
    batch = issuer.issue_batch(
        [ReceiptRequest(aud=AUD, sub=SUB, usage=USAGE, jti=f"b{i}") for i in range(7)]
    )
    leaves = [_json.canonical_bytes(_claims(item)) for item in batch]
    results = ReceiptVerifier(trust, [card], clock=clock).verify_batch(batch[0]["batch"], leaves)
    assert [r.seq for r in results if isinstance(r, VerifiedReceipt)] == list(range(1, 8))
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


def test_concurrent_writer_cannot_fork_a_stream(setup: Any, tmp_path: Path) -> None:
    """REC-043, REC-045, REC-047: two verifiers share one ledger; the one whose stream head
    moved while it checked records nothing and reports chain_break instead of forking it."""
    key, card, trust = setup
    issuer = ReceiptIssuer(key, ISS, card, clock=clock)
    first, second = (issuer.issue(aud=AUD, sub=SUB, usage=USAGE) for _ in range(2))
    path = tmp_path / "ledger.db"
    verifier = ReceiptVerifier(trust, [card], clock=clock)
    with SqliteLedger(path) as one, SqliteLedger(path) as two:
        slow = ReceiptTracker(one)
        with pytest.raises(ChainBreakError), slow.transaction() as tx:
            tx.track(verifier.verify(first))  # checked against an empty stream
            record(verifier, ReceiptTracker(two), first, second)  # another verifier wins
        assert one.stream_head(ISS, AUD) == two.stream_head(ISS, AUD)
        ((count, _),) = one.totals().values()
        assert count == 2
        # REC-047: run again, the loser sees the winner's receipt as a duplicate.
        (again,) = record(verifier, slow, first)
        assert again.duplicate


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
    verifier = ReceiptVerifier(trust, [card], clock=clock)
    with SqliteLedger(path) as one, SqliteLedger(path) as two:
        with pytest.raises(ReplayError), ReceiptTracker(one).transaction() as tx:
            tx.track(verifier.verify(forged))
            record(verifier, ReceiptTracker(two), honest)
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
        assert [r.seq for r in record(verifier, ReceiptTracker(), *batch)] == [1, 2, 3]


def test_exception_in_a_transaction_records_nothing(setup: Any, tmp_path: Path) -> None:
    """REC-045: an exception that leaves a transaction rolls back everything it tracked."""
    key, card, trust = setup
    issuer = ReceiptIssuer(key, ISS, card, clock=clock)
    tokens = [issuer.issue(aud=AUD, sub=SUB, usage=USAGE) for _ in range(3)]
    verifier = ReceiptVerifier(trust, [card], clock=clock)
    with SqliteLedger(tmp_path / "ledger.db") as ledger:
        tracker = ReceiptTracker(ledger)
        with pytest.raises(RuntimeError, match="stop"), tracker.transaction() as tx:
            for token in tokens:
                tx.track(verifier.verify(token))
            raise RuntimeError("stop")
        assert ledger.totals() == {}
        assert [r.seq for r in record(verifier, tracker, *tokens)] == [1, 2, 3]


def test_in_memory_tracker_rolls_back_too(setup: Any) -> None:
    """REC-045: the in-memory tracker forgets what a failed transaction tracked."""
    key, card, trust = setup
    token = ReceiptIssuer(key, ISS, card, clock=clock).issue(aud=AUD, sub=SUB, usage=USAGE)
    verifier = ReceiptVerifier(trust, [card], clock=clock)
    tracker = ReceiptTracker()
    with pytest.raises(KeyError), tracker.transaction() as tx:
        tx.track(verifier.verify(token))
        raise KeyError("stop")
    (again,) = record(verifier, tracker, token)
    assert not again.duplicate  # the failed transaction recorded nothing


def test_verifier_is_stateless(setup: Any) -> None:
    """REC-040: verify() answers from the receipt alone: verifying twice gives the same answer and
    never a duplicate; only a tracker knows what was seen."""
    key, card, trust = setup
    token = ReceiptIssuer(key, ISS, card, clock=clock).issue(aud=AUD, sub=SUB, usage=USAGE)
    verifier = ReceiptVerifier(trust, [card], clock=clock)
    first, second = verifier.verify(token), verifier.verify(token)
    assert not first.duplicate and not second.duplicate
    assert first.raw == second.raw and first.content_digest == second.content_digest
    assert first.claims.iss == ISS and first.claims.usage.model == "qwen-max"


def test_unverified_rate_cards_are_refused(setup: Any) -> None:
    """UNIT-033: a verifier is only ever given verified rate cards."""
    _, card, trust = setup
    with pytest.raises(ValueError, match="not verified"):
        ReceiptVerifier(trust, [RateCard.from_claims(card.raw)])
    with pytest.raises(ValueError, match="not verified"):
        ReceiptVerifier(trust, [RateCard.from_jws_unverified(card.token or "")])
    with pytest.raises(TypeError):
        ReceiptVerifier(trust.to_json(), [card])  # type: ignore[arg-type]


def test_forged_rate_card_signature_is_refused(setup: Any) -> None:
    """UNIT-031, CONV-049: a rate card whose signature was replaced is not a rate card."""
    _, card, trust = setup
    head, payload, signature = (card.token or "").split(".")
    forged = f"{head}.{payload}.{'A' * len(signature)}"
    with pytest.raises(TokenfedError) as caught:
        RateCard.from_jws(forged, trust)
    assert caught.value.code == "invalid_signature"


def test_tampered_receipt_signature_is_invalid_signature(setup: Any) -> None:
    """CONV-049: one flipped bit of the signature (a fixed, canonical change) is rejected with
    invalid_signature, never another code."""
    key, card, trust = setup
    token = ReceiptIssuer(key, ISS, card, clock=clock).issue(aud=AUD, sub=SUB, usage=USAGE)
    head, payload, signature = token.split(".")
    # The first character of a 64-byte signature's base64url carries 6 bits of the first byte:
    # swapping "A" and "B" (or any other letter for "A") changes one bit and stays canonical.
    first = "B" if signature[0] == "A" else "A"
    tampered = f"{head}.{payload}.{first}{signature[1:]}"
    with pytest.raises(TokenfedError) as caught:
        ReceiptVerifier(trust, [card], clock=clock).verify(tampered)
    assert caught.value.code == "invalid_signature"


def test_receipt_bytes_are_parsed_strictly(setup: Any) -> None:
    """CONV-010: bytes are handed to the strict parsers as they are; a batched receipt with
    invalid UTF-8 is malformed, never read with replacement characters."""
    key, card, trust = setup
    batch = ReceiptIssuer(key, ISS, card, clock=clock).issue_batch(
        [ReceiptRequest(aud=AUD, sub=SUB, usage=USAGE, jti="u1")]
    )
    text = json.dumps(batch[0]).encode("utf-8")
    broken = text[:1] + b'"x\xff": 1, ' + text[1:]
    verifier = ReceiptVerifier(trust, [card], clock=clock)
    assert verifier.verify(text).seq == 1
    with pytest.raises(TokenfedError) as caught:
        verifier.verify(broken)
    assert caught.value.code == "malformed"


def test_prefetched_replay_state_gives_the_same_outcomes(setup: Any, tmp_path: Path) -> None:
    """REC-042: a transaction that reads the replay state of its receipts in one go first
    (prefetch) decides exactly as one that looks each up: the recorded receipt again is a
    duplicate, other content under its jti a replay, a new jti accepted."""
    key, card, trust = setup
    issuer = ReceiptIssuer(key, ISS, card, clock=clock)
    token = issuer.issue(aud=AUD, sub=SUB, usage=USAGE, jti="j1")
    following = issuer.issue(aud=AUD, sub=SUB, usage=USAGE, jti="j2")
    other = ReceiptIssuer(key, ISS, card, clock=clock).issue(
        aud=AUD, sub=SUB, usage={"model": "qwen-max", "meters": {"input": 1}}, jti="j1"
    )
    verifier = ReceiptVerifier(trust, [card], clock=clock)
    with SqliteLedger(tmp_path / "ledger.db") as ledger:
        record(verifier, ReceiptTracker(ledger), token)
        again, replay, new = (verifier.verify(t) for t in (token, other, following))
        with ReceiptTracker(ledger).transaction() as tx:
            tx.prefetch([again, replay, new])
            assert tx.track(again).duplicate
            with pytest.raises(ReplayError):
                tx.track(replay)
            assert not tx.track(new).duplicate
        assert ledger.content_digests([(ISS, "j2")]) == {(ISS, "j2"): new.content_digest}
