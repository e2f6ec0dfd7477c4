"""The receipt ledger and the issuer stream store (``tokenfed.ledger``) on real SQLite files.

Crash safety is checked with real child processes that are SIGKILLed while they hold an open
write transaction; they block at a known point (a generator that stops yielding, a build
callback that never returns) and tell the parent on stdout, so nothing depends on timing.
"""

from __future__ import annotations

import hashlib
import signal
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import replace
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tokenfed._decimal import format_decimal
from tokenfed.errors import ChainBreakError, IoError, ReplayError
from tokenfed.ledger import (
    LEDGER_SCHEMA_VERSION,
    STREAM_SCHEMA_VERSION,
    InsertOutcome,
    LedgerEntry,
    ReceiptLedger,
    SqliteLedger,
    SqliteStreamStore,
    StreamStore,
    _receipt_row,
    _row,
)

ISS = "https://provider.example"
AUD = "https://operator.example"

posix_only = pytest.mark.skipif(sys.platform == "win32", reason="needs SIGKILL")


def _digest(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def _entry(
    number: int,
    *,
    iss: str = ISS,
    aud: str = AUD,
    amount: str = "0.1",
    content: str | None = None,
    seq: int | None = None,
    batch_id: str | None = None,
) -> LedgerEntry:
    content = content if content is not None else f"content-{iss}-{number}"
    return LedgerEntry(
        iss=iss,
        jti=f"jti-{number}",
        aud=aud,
        sub="app-42",
        seq=seq if seq is not None else number + 1,
        iat=1_790_000_000 + number,
        amount=Decimal(amount),
        rate_card_id="rc-2026-11",
        content_digest=_digest(content),
        receipt_digest=_digest("receipt-" + content),
        receipt="eyJhbGciOiJFZERTQSJ9." + content + ".c2ln",
        batch_id=batch_id,
    )


def _count(path: Path) -> int:
    with sqlite3.connect(path) as connection:
        (count,) = connection.execute("SELECT count(*) FROM receipts").fetchone()
    return int(count)


def _assert_write_locked(path: Path) -> None:
    """Prove another connection holds the write lock: BEGIN IMMEDIATE fails at once."""
    connection = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            connection.execute("BEGIN IMMEDIATE")
    finally:
        connection.close()


@pytest.fixture
def ledger_path(tmp_path: Path) -> Path:
    return tmp_path / "ledger.sqlite"


@pytest.fixture
def ledger(ledger_path: Path) -> Iterator[SqliteLedger]:
    with SqliteLedger(ledger_path) as opened:
        yield opened


# --- ledger: behaviour ---------------------------------------------------------------------


def test_sqlite_classes_implement_the_protocols(ledger: SqliteLedger, tmp_path: Path) -> None:
    """ledger: the SQLite classes are usable wherever the storage interfaces are expected."""
    as_protocol: ReceiptLedger = ledger
    assert as_protocol.lookup(ISS, "none") is None
    with SqliteStreamStore(tmp_path / "streams.sqlite") as store:
        as_store: StreamStore = store
        assert as_store.head(ISS, AUD) is None


def test_record_then_lookup_round_trips_every_member(ledger: SqliteLedger) -> None:
    """ledger: an inserted entry reads back equal, member by member, batch_id included."""
    plain = _entry(1, amount="12.000345")
    batched = _entry(2, batch_id="batch-7")
    assert ledger.record([plain, batched]) == [InsertOutcome.INSERTED] * 2
    assert ledger.lookup(ISS, "jti-1") == plain
    assert ledger.lookup(ISS, "jti-2") == batched
    assert ledger.lookup(ISS, "jti-3") is None
    assert ledger.lookup("https://other.example", "jti-1") is None


def test_duplicate_is_accepted_once(ledger: SqliteLedger) -> None:
    """ledger: the same (iss, jti) with the same content_digest is DUPLICATE, stored and
    counted once, even if it arrives as a batched leaf with another receipt_digest."""
    first = _entry(1, amount="5")
    assert ledger.record([first]) == [InsertOutcome.INSERTED]
    assert ledger.record([first]) == [InsertOutcome.DUPLICATE]
    as_leaf = replace(first, receipt_digest=_digest("leaf"), batch_id="b1")
    assert ledger.record([as_leaf]) == [InsertOutcome.DUPLICATE]
    assert ledger.lookup(ISS, "jti-1") == first
    assert ledger.totals() == {(ISS, AUD): (1, Decimal("5"))}


def test_conflict_is_a_replay_and_not_stored(ledger: SqliteLedger) -> None:
    """ledger: a known (iss, jti) with another content_digest is CONFLICT (replay); the
    first entry stays; the same jti from another issuer is a different receipt."""
    assert ledger.record([_entry(1, amount="1")]) == [InsertOutcome.INSERTED]
    replay = _entry(1, amount="1000", content="altered")
    assert ledger.record([replay]) == [InsertOutcome.CONFLICT]
    assert ledger.lookup(ISS, "jti-1") == _entry(1, amount="1")
    other_issuer = _entry(1, iss="https://other.example", amount="2")
    assert ledger.record([other_issuer]) == [InsertOutcome.INSERTED]
    assert ledger.totals() == {
        (ISS, AUD): (1, Decimal("1")),
        ("https://other.example", AUD): (1, Decimal("2")),
    }


def test_outcomes_within_one_call(ledger: SqliteLedger) -> None:
    """ledger: entries of one record() call are compared with each other: the second copy
    is DUPLICATE, an altered copy is CONFLICT, in input order."""
    entry = _entry(1)
    altered = _entry(1, content="altered")
    outcomes = ledger.record([entry, _entry(2), entry, altered, _entry(3)])
    assert outcomes == [
        InsertOutcome.INSERTED,
        InsertOutcome.INSERTED,
        InsertOutcome.DUPLICATE,
        InsertOutcome.CONFLICT,
        InsertOutcome.INSERTED,
    ]
    assert ledger.totals()[(ISS, AUD)][0] == 3


def test_stream_head_is_highest_seq_per_stream(ledger: SqliteLedger) -> None:
    """ledger: stream_head gives the highest recorded seq of (iss, aud) and its
    content_digest (REC-007), whatever the arrival order; streams are separate."""
    assert ledger.stream_head(ISS, AUD) is None
    ledger.record([_entry(2, seq=3), _entry(0, seq=1)])
    ledger.record([_entry(1, seq=2)])
    assert ledger.stream_head(ISS, AUD) == (3, _entry(2, seq=3).content_digest)
    ledger.record([_entry(10, aud="https://app.example", seq=1)])
    assert ledger.stream_head(ISS, "https://app.example") == (
        1,
        _entry(10, aud="https://app.example", seq=1).content_digest,
    )
    assert ledger.stream_head(ISS, AUD) == (3, _entry(2, seq=3).content_digest)
    assert ledger.stream_head("https://other.example", AUD) is None


def test_totals_are_exact_where_binary_floats_are_not(ledger: SqliteLedger) -> None:
    """ledger: totals add 0.1 + 0.2 style amounts, integers above 2**53 and values longer
    than the default 28-digit decimal context exactly."""
    entries = [_entry(i, amount="0.1" if i % 2 else "0.2") for i in range(3000)]
    assert ledger.record(entries) == [InsertOutcome.INSERTED] * 3000
    big = [
        _entry(10_000 + i, aud="https://big.example", amount=amount)
        for i, amount in enumerate(
            [
                "9007199254740993",
                "9007199254740993",
                "0.000001",
                "1000000000000000000000000000000.000000001",
                "-0.000000001",
            ]
        )
    ]
    assert ledger.record(big) == [InsertOutcome.INSERTED] * 5
    totals = ledger.totals()
    assert totals[(ISS, AUD)] == (3000, Decimal("450"))
    count, total = totals[(ISS, "https://big.example")]
    assert count == 5
    assert str(total) == "1000000000000018014398509481986.000001"


def test_totals_filters(ledger: SqliteLedger) -> None:
    """ledger: totals(iss=..., aud=...) keep only the matching streams."""
    ledger.record(
        [
            _entry(1, amount="1"),
            _entry(2, aud="https://b.example", amount="2"),
            _entry(3, iss="https://q.example", amount="4"),
        ]
    )
    assert ledger.totals(iss=ISS) == {
        (ISS, AUD): (1, Decimal("1")),
        (ISS, "https://b.example"): (1, Decimal("2")),
    }
    assert ledger.totals(aud=AUD) == {
        (ISS, AUD): (1, Decimal("1")),
        ("https://q.example", AUD): (1, Decimal("4")),
    }
    assert ledger.totals(iss=ISS, aud="https://b.example") == {
        (ISS, "https://b.example"): (1, Decimal("2"))
    }
    assert ledger.totals(iss="https://nobody.example") == {}


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.decimals(allow_nan=False, allow_infinity=False, places=9, min_value=-(10**12)),
        min_size=1,
        max_size=30,
    )
)
def test_totals_equal_exact_rational_sum(amounts: list[Decimal]) -> None:
    """ledger: totals equal the exact rational sum of the recorded amounts."""
    with SqliteLedger(":memory:") as memory:
        memory.record([_entry(i, amount=str(amount)) for i, amount in enumerate(amounts)])
        count, total = memory.totals()[(ISS, AUD)]
    assert count == len(amounts)
    assert Fraction(total) == sum((Fraction(amount) for amount in amounts), Fraction(0))


def test_amount_is_stored_as_canonical_text(ledger: SqliteLedger, ledger_path: Path) -> None:
    """ledger: amounts are stored as canonical decimal TEXT, never REAL."""
    ledger.record([_entry(1, amount="1.50"), _entry(2, amount="1E+3"), _entry(3, amount="-0")])
    with sqlite3.connect(ledger_path) as raw:
        rows = raw.execute(
            "SELECT jti, typeof(amount), amount FROM receipts ORDER BY jti"
        ).fetchall()
    assert rows == [("jti-1", "text", "1.5"), ("jti-2", "text", "1000"), ("jti-3", "text", "0")]


def test_reopen_keeps_everything(ledger_path: Path) -> None:
    """ledger: entries, heads and totals survive closing and reopening the file."""
    with SqliteLedger(ledger_path) as first:
        first.record([_entry(i, amount="0.3") for i in range(10)])
    with SqliteLedger(ledger_path) as second:
        assert second.lookup(ISS, "jti-4") == _entry(4, amount="0.3")
        assert second.stream_head(ISS, AUD) == (10, _entry(9).content_digest)
        assert second.totals() == {(ISS, AUD): (10, Decimal("3"))}
        assert second.record([_entry(4, amount="0.3")]) == [InsertOutcome.DUPLICATE]


def test_wal_full_sync_and_schema_version(ledger: SqliteLedger, ledger_path: Path) -> None:
    """ledger: the file is in WAL mode, the connection syncs every commit (FULL) and the
    schema version is recorded per component."""
    connection = ledger._connection
    assert connection is not None
    assert connection.execute("PRAGMA synchronous").fetchone() == (2,)  # 2 = FULL
    with SqliteStreamStore(ledger_path):
        pass  # both stores may share one file
    with sqlite3.connect(ledger_path) as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        versions = dict(raw.execute("SELECT component, version FROM tokenfed_schema").fetchall())
    assert versions == {
        "receipt_ledger": LEDGER_SCHEMA_VERSION,
        "stream_store": STREAM_SCHEMA_VERSION,
    }


def test_newer_schema_version_is_refused(ledger_path: Path) -> None:
    """ledger: a file written by a newer schema version is not opened (io_error, says to
    upgrade) and is left untouched."""
    with SqliteLedger(ledger_path) as ledger:
        ledger.record([_entry(1)])
    with sqlite3.connect(ledger_path) as raw:
        raw.execute("UPDATE tokenfed_schema SET version = 99 WHERE component = 'receipt_ledger'")
    with pytest.raises(IoError, match="upgrade tokenfed") as caught:
        SqliteLedger(ledger_path)
    assert caught.value.code == "io_error"
    assert str(ledger_path) in caught.value.message
    assert _count(ledger_path) == 1


def test_sqlite_failures_become_io_error(tmp_path: Path) -> None:
    """ledger: an unopenable path, a file that is not a database and use after close raise
    IoError naming the path, chained to the SQLite error."""
    missing = tmp_path / "no-such-dir" / "ledger.sqlite"
    with pytest.raises(IoError) as caught:
        SqliteLedger(missing)
    assert str(missing) in caught.value.message
    assert isinstance(caught.value.__cause__, sqlite3.Error)

    garbage = tmp_path / "garbage.sqlite"
    garbage.write_bytes(b"this is not a database file" * 200)
    with pytest.raises(IoError, match=r"garbage\.sqlite"):
        SqliteLedger(garbage)
    with pytest.raises(IoError):
        SqliteStreamStore(garbage)

    ledger = SqliteLedger(tmp_path / "ok.sqlite")
    ledger.close()
    ledger.close()  # idempotent
    with pytest.raises(IoError, match="closed"):
        ledger.record([_entry(1)])
    with pytest.raises(IoError, match="closed"):
        ledger.totals()


def test_damaged_amount_is_reported_not_trusted(ledger: SqliteLedger, ledger_path: Path) -> None:
    """ledger: a stored amount altered outside tokenfed (not canonical) raises IoError
    instead of being summed or returned."""
    ledger.record([_entry(1, amount="2")])
    with sqlite3.connect(ledger_path) as raw:
        raw.execute("UPDATE receipts SET amount = '2.0'")
    with pytest.raises(IoError, match="damaged"):
        ledger.totals()
    with pytest.raises(IoError, match="damaged"):
        ledger.lookup(ISS, "jti-1")


def test_damaged_row_is_reported_not_raised_as_a_type_error(
    ledger: SqliteLedger, ledger_path: Path
) -> None:
    """ledger: any stored member altered outside tokenfed (here a digest) raises IoError from
    every read that builds entries, never a TypeError or ValueError of the entry type."""
    ledger.record([_entry(1)])
    with sqlite3.connect(ledger_path) as raw:
        raw.execute("UPDATE receipts SET content_digest = 'not a digest'")
    with pytest.raises(IoError, match="damaged"):
        ledger.lookup(ISS, "jti-1")
    with pytest.raises(IoError, match="damaged"):
        ledger.stream_entries(ISS, AUD)


def test_failing_batch_stores_nothing(ledger: SqliteLedger) -> None:
    """ledger: all-or-none batch: a bad item or an exception while iterating the entries
    rolls back the entries already inserted by that call."""
    ledger.record([_entry(100)])
    with pytest.raises(TypeError, match="LedgerEntry"):
        ledger.record([_entry(1), _entry(2), "not an entry"])  # type: ignore[list-item]

    class Interrupted(Exception):
        pass

    def entries() -> Iterator[LedgerEntry]:
        yield _entry(3)
        yield _entry(4)
        raise Interrupted

    with pytest.raises(Interrupted):
        ledger.record(entries())
    assert ledger.totals()[(ISS, AUD)][0] == 1
    assert [ledger.lookup(ISS, f"jti-{n}") for n in (1, 2, 3, 4)] == [None] * 4
    assert ledger.record([_entry(1)]) == [InsertOutcome.INSERTED]


def test_recorded_rows_behave_as_recorded_entries(ledger: SqliteLedger, tmp_path: Path) -> None:
    """ledger: the all-or-nothing bulk insert of rows (one executemany per batch, the file
    verifier's path) stores exactly what record() stores and decides as record() with
    expected_heads: a duplicate (recorded before, or twice in the call) is stored once, a
    conflict raises ReplayError and stores nothing, a moved head raises ChainBreakError."""
    entries = [_entry(n) for n in range(1, 6)]
    with SqliteLedger(tmp_path / "reference.sqlite") as reference:
        reference.record(entries[:2])
        reference.record(entries, expected_heads={(ISS, AUD): (3, entries[1].content_digest)})
        ledger._record_rows([_row(entry) for entry in entries[:2]], {(ISS, AUD): None})
        rows = [_row(entry) for entry in [*entries, entries[3]]]
        ledger._record_rows(rows, {(ISS, AUD): (3, entries[1].content_digest)})
        with (
            sqlite3.connect(tmp_path / "reference.sqlite") as one,
            sqlite3.connect(ledger._path) as other,
        ):
            query = "SELECT * FROM receipts ORDER BY rowid"
            assert one.execute(query).fetchall() == other.execute(query).fetchall()
    head = ledger.stream_head(ISS, AUD)
    altered = _row(_entry(3, content="altered"))
    with pytest.raises(ReplayError) as replay:
        ledger._record_rows([_row(_entry(6)), altered], {(ISS, AUD): head})
    assert replay.value.code == "replay"
    assert "jti 'jti-3'" in str(replay.value)
    with pytest.raises(ChainBreakError):
        ledger._record_rows([_row(_entry(6))], {(ISS, AUD): (2, entries[0].content_digest)})
    assert ledger.lookup(ISS, "jti-6") is None
    assert ledger.stream_head(ISS, AUD) == head


@settings(derandomize=True, max_examples=300, deadline=None)
@given(st.one_of(st.integers(0, 10**30), st.integers(-(10**6), -1)), st.integers(0, 6))
def test_receipt_rows_equal_entry_rows(coefficient: int, places: int) -> None:
    """ledger: the row built from a verified receipt's canonical amount text and its integer
    10^-6 UTU equals the row of the LedgerEntry with Decimal(amount): the amount text is
    kept as it is and the micro column is the same (None out of 64-bit range or negative)."""
    amount = format_decimal(Decimal(coefficient).scaleb(-places))
    entry = replace(_entry(1), amount=Decimal(amount), model="m", rate_card_digest=_digest("c"))
    micro = coefficient * 10 ** (6 - places)
    values = (
        *(entry.iss, entry.jti, entry.aud, entry.sub, entry.seq, entry.iat, amount, micro),
        *(entry.rate_card_id, entry.content_digest, entry.receipt_digest, entry.receipt),
        *(entry.batch_id, entry.model, entry.rate_card_digest),
    )
    assert _receipt_row(*values) == _row(entry)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"iss": ""}, ValueError),
        ({"jti": 7}, TypeError),
        ({"sub": "\ud800"}, ValueError),
        ({"seq": 0}, ValueError),
        ({"seq": True}, TypeError),
        ({"iat": -1}, ValueError),
        ({"amount": "0.1"}, TypeError),
        ({"amount": Decimal("NaN")}, ValueError),
        ({"amount": Decimal("Infinity")}, ValueError),
        ({"content_digest": "sha256:" + "A" * 64}, ValueError),
        ({"receipt_digest": "sha256:abc"}, ValueError),
        ({"batch_id": ""}, ValueError),
    ],
    ids=lambda value: str(value)[:40],
)
def test_invalid_entry_is_rejected_naming_the_member(
    changes: dict[str, Any], error: type[Exception]
) -> None:
    """ledger: a LedgerEntry with a wrong member raises the registry error naming it."""
    with pytest.raises(error) as caught:
        replace(_entry(1), **changes)
    assert next(iter(changes)) in str(caught.value)


def test_one_instance_shared_by_threads(ledger: SqliteLedger) -> None:
    """ledger: one instance used by several threads records every entry exactly once."""
    failures: list[BaseException] = []

    def worker(start: int) -> None:
        try:
            for n in range(start, start + 100, 4):
                ledger.record([_entry(n), _entry(n + 1), _entry(n + 2), _entry(n + 3)])
                ledger.totals()
        except BaseException as exc:  # pragma: no cover - reported below
            failures.append(exc)

    threads = [threading.Thread(target=worker, args=(100 * k,)) for k in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert ledger.totals()[(ISS, AUD)] == (400, Decimal("40"))


# --- stream store: behaviour -------------------------------------------------------------


def test_issue_chains_seq_and_prev(tmp_path: Path) -> None:
    """streams: issue passes seq 1 with no prev, then seq n+1 with the digest of seq n;
    head and issued reflect it; streams of another aud are separate."""
    calls: list[tuple[int, str | None]] = []

    def build(seq: int, prev: str | None) -> tuple[str, str]:
        calls.append((seq, prev))
        receipt = f"r|{seq}|{prev}"
        return receipt, _digest(receipt)

    with SqliteStreamStore(tmp_path / "s.sqlite") as store:
        assert store.head(ISS, AUD) is None
        first = store.issue(ISS, AUD, build)
        second = store.issue(ISS, AUD, build)
        other = store.issue(ISS, "https://app.example", build)
        assert calls == [(1, None), (2, _digest(first)), (1, None)]
        assert store.head(ISS, AUD) == (2, _digest(second))
        assert store.issued(ISS, AUD, 1) == first
        assert store.issued(ISS, AUD, 2) == second
        assert store.issued(ISS, AUD, 3) is None
        assert store.issued(ISS, "https://app.example", 1) == other
    with SqliteStreamStore(tmp_path / "s.sqlite") as reopened:
        assert reopened.head(ISS, AUD) == (2, _digest(second))
        assert reopened.issue(ISS, AUD, build) == f"r|3|{_digest(second)}"


def test_failing_build_consumes_no_seq(tmp_path: Path) -> None:
    """streams: an exception from build propagates unchanged, nothing is stored and the
    next issue gets the same seq and prev."""

    class SigningFailed(Exception):
        pass

    def failing(seq: int, prev: str | None) -> tuple[str, str]:
        raise SigningFailed(f"{seq}")

    with SqliteStreamStore(tmp_path / "s.sqlite") as store:
        first = store.issue(ISS, AUD, lambda seq, prev: ("r1", _digest("r1")))
        with pytest.raises(SigningFailed, match="2"):
            store.issue(ISS, AUD, failing)
        assert store.head(ISS, AUD) == (1, _digest(first))
        seen: list[tuple[int, str | None]] = []

        def build(seq: int, prev: str | None) -> tuple[str, str]:
            seen.append((seq, prev))
            return "r2", _digest("r2")

        store.issue(ISS, AUD, build)
        assert seen == [(2, _digest("r1"))]


@pytest.mark.parametrize(
    ("result", "error"),
    [
        (("", _digest("x")), ValueError),
        (("r", "sha256:xyz"), ValueError),
        (("r", _digest("x").upper()), ValueError),
        (["r", _digest("r")], TypeError),
    ],
    ids=["empty-receipt", "short-digest", "uppercase-digest", "list"],
)
def test_build_result_is_checked(tmp_path: Path, result: object, error: type[Exception]) -> None:
    """streams: a build result that is not (receipt, sha256 digest) is a programming error
    (TypeError or ValueError) and stores nothing, so no garbage can become a prev."""
    with SqliteStreamStore(tmp_path / "s.sqlite") as store:
        with pytest.raises(error):
            store.issue(ISS, AUD, lambda seq, prev: result)  # type: ignore[arg-type,return-value]
        assert store.head(ISS, AUD) is None


def test_build_must_not_issue_again(tmp_path: Path) -> None:
    """streams: a build callback that calls issue on the same store is refused (IoError)
    and neither receipt is stored."""
    with SqliteStreamStore(tmp_path / "s.sqlite") as store:

        def nested(seq: int, prev: str | None) -> tuple[str, str]:
            store.issue(ISS, AUD, lambda s, p: ("inner", _digest("inner")))
            return "outer", _digest("outer")

        with pytest.raises(IoError, match="in progress"):
            store.issue(ISS, AUD, nested)
        assert store.head(ISS, AUD) is None
        assert store.issue(ISS, AUD, lambda s, p: ("ok", _digest("ok"))) == "ok"


def test_issue_checks_stream_names(tmp_path: Path) -> None:
    """streams: iss and aud must be non-empty strings (ValueError, TypeError), build not
    called."""
    called: list[int] = []

    def build(seq: int, prev: str | None) -> tuple[str, str]:
        called.append(seq)
        return "r", _digest("r")

    with SqliteStreamStore(tmp_path / "s.sqlite") as store:
        with pytest.raises(ValueError, match="aud"):
            store.issue(ISS, "", build)
        with pytest.raises(TypeError, match="iss"):
            store.issue(None, AUD, build)  # type: ignore[arg-type]
    assert called == []


def test_newer_stream_schema_is_refused(tmp_path: Path) -> None:
    """streams: a stream store file with a newer schema version is refused with io_error."""
    path = tmp_path / "s.sqlite"
    SqliteStreamStore(path).close()
    with sqlite3.connect(path) as raw:
        raw.execute("UPDATE tokenfed_schema SET version = 4 WHERE component = 'stream_store'")
    with pytest.raises(IoError, match="schema version 4"):
        SqliteStreamStore(path)


# --- crash safety with real processes ----------------------------------------------------

_LEDGER_CHILD = r"""
import hashlib, signal, sys
from decimal import Decimal
from tokenfed.ledger import LedgerEntry, SqliteLedger

path, first, total, block_at = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]

def entry(n):
    content = f"content-{n}"
    return LedgerEntry(
        iss="https://provider.example", jti=f"jti-{n}", aud="https://operator.example",
        sub="app", seq=n + 1, iat=1790000000, amount=Decimal("0.000001"),
        rate_card_id="rc", content_digest="sha256:" + hashlib.sha256(content.encode()).hexdigest(),
        receipt_digest="sha256:" + hashlib.sha256(b"r" + content.encode()).hexdigest(),
        receipt="header." + content + ".signature",
    )

def entries():
    for n in range(first, first + total):
        if block_at.isdigit() and n - first == int(block_at):
            print("inside", flush=True)
            signal.pause()
        yield entry(n)
    if block_at == "end":
        print("inside", flush=True)
        signal.pause()

ledger = SqliteLedger(path)
ledger.record(entries())
print("committed", flush=True)
signal.pause()
"""

_STREAM_CHILD = r"""
import hashlib, signal, sys
from tokenfed.ledger import SqliteStreamStore

path, mode = sys.argv[1], sys.argv[2]

def build(seq, prev):
    if mode == "in-build":
        print(f"building {seq} {prev}", flush=True)
        signal.pause()
    receipt = f"child|{seq}|{prev}"
    return receipt, "sha256:" + hashlib.sha256(receipt.encode()).hexdigest()

store = SqliteStreamStore(path)
receipt = store.issue("https://provider.example", "https://operator.example", build)
print("issued " + receipt, flush=True)
signal.pause()
"""

_STREAM_WORKER = r"""
import hashlib, sys
from tokenfed.ledger import SqliteStreamStore

path, name, count = sys.argv[1], sys.argv[2], int(sys.argv[3])

def build(seq, prev):
    receipt = f"{name}|{seq}|{prev}"
    return receipt, "sha256:" + hashlib.sha256(receipt.encode()).hexdigest()

store = SqliteStreamStore(path)
print("ready", flush=True)
sys.stdin.readline()  # start together
for _ in range(count):
    store.issue("https://provider.example", "https://operator.example", build)
store.close()
print("done", flush=True)
"""


Spawn = Callable[..., "subprocess.Popen[str]"]


@pytest.fixture
def spawn() -> Iterator[Spawn]:
    """Start child Pythons running a script; any still alive at teardown is SIGKILLed, so a
    failing assertion never leaves a blocked child behind."""
    children: list[subprocess.Popen[str]] = []

    def start(script: str, *arguments: object) -> subprocess.Popen[str]:
        child = subprocess.Popen(
            [sys.executable, "-c", script, *map(str, arguments)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        children.append(child)
        return child

    yield start
    for child in children:
        if child.poll() is None:
            child.kill()
            child.wait()
        for stream in (child.stdin, child.stdout, child.stderr):
            if stream is not None:
                stream.close()


def _await_line(child: subprocess.Popen[str], prefix: str) -> str:
    assert child.stdout is not None
    line = child.stdout.readline()
    if not line.startswith(prefix):
        child.kill()
        _, errors = child.communicate()
        pytest.fail(f"child printed {line!r} instead of {prefix!r}; stderr:\n{errors}")
    return line.strip()


def _kill(child: subprocess.Popen[str]) -> None:
    child.send_signal(signal.SIGKILL)
    child.communicate()
    assert child.returncode == -signal.SIGKILL


BATCH = 20_000


@posix_only
@pytest.mark.parametrize("block_at", ["1", "10000", "end"])
def test_sigkill_inside_record_leaves_none_of_the_batch(
    ledger_path: Path, block_at: str, spawn: Spawn
) -> None:
    """ledger: all-or-none batch after SIGKILL: a process killed inside record() (after 1,
    10,000 or all 20,000 inserts, before COMMIT) leaves none of its batch; earlier batches
    stay and the same batch can then be recorded in full."""
    with SqliteLedger(ledger_path) as ledger:
        ledger.record([_entry(n) for n in range(1_000_000, 1_000_005)])
    child = spawn(_LEDGER_CHILD, ledger_path, 0, BATCH, block_at)
    _await_line(child, "inside")
    _assert_write_locked(ledger_path)  # the child is inside its write transaction
    assert _count(ledger_path) == 5  # and nothing of it is visible
    _kill(child)
    assert _count(ledger_path) == 5
    with SqliteLedger(ledger_path) as reopened:
        assert reopened.lookup(ISS, "jti-0") is None
        assert reopened.stream_head(ISS, AUD) == (1_000_005, _entry(1_000_004).content_digest)
        again = spawn(_LEDGER_CHILD, ledger_path, 0, BATCH, "commit")
        _await_line(again, "committed")
        _kill(again)
        count, total = reopened.totals()[(ISS, AUD)]
    assert count == BATCH + 5
    assert total == Decimal("0.02") + 5 * Decimal("0.1")


@posix_only
def test_sigkill_after_record_returns_keeps_all_of_the_batch(
    ledger_path: Path, spawn: Spawn
) -> None:
    """ledger: all-or-none batch after SIGKILL: once record() has returned, a kill loses
    nothing: all 20,000 entries are there after reopening."""
    child = spawn(_LEDGER_CHILD, ledger_path, 0, BATCH, "commit")
    _await_line(child, "committed")
    _kill(child)
    with SqliteLedger(ledger_path) as reopened:
        assert reopened.totals() == {(ISS, AUD): (BATCH, Decimal("0.02"))}
        assert reopened.stream_head(ISS, AUD) is not None


@posix_only
def test_sigkill_inside_build_consumes_no_seq(tmp_path: Path, spawn: Spawn) -> None:
    """streams: a process killed inside build (seq chosen, receipt not committed) leaves the
    head unchanged; the next issue gets the same seq and prev, so the chain never forks."""
    path = tmp_path / "s.sqlite"
    with SqliteStreamStore(path) as store:
        first = store.issue(ISS, AUD, lambda seq, prev: ("r1", _digest("r1")))
    child = spawn(_STREAM_CHILD, path, "in-build")
    assert _await_line(child, "building") == f"building 2 {_digest(first)}"
    _assert_write_locked(path)
    _kill(child)
    with SqliteStreamStore(path) as reopened:
        assert reopened.head(ISS, AUD) == (1, _digest("r1"))
        assert reopened.issued(ISS, AUD, 2) is None
        seen: list[tuple[int, str | None]] = []

        def build(seq: int, prev: str | None) -> tuple[str, str]:
            seen.append((seq, prev))
            return "r2", _digest("r2")

        reopened.issue(ISS, AUD, build)
        assert seen == [(2, _digest("r1"))]


@posix_only
def test_sigkill_after_issue_returns_keeps_the_receipt(tmp_path: Path, spawn: Spawn) -> None:
    """streams: once issue() has returned, a kill loses nothing: issued() re-reads the
    receipt and the head points at it."""
    path = tmp_path / "s.sqlite"
    child = spawn(_STREAM_CHILD, path, "normal")
    line = _await_line(child, "issued ")
    _kill(child)
    receipt = line.removeprefix("issued ")
    assert receipt == "child|1|None"
    with SqliteStreamStore(path) as reopened:
        assert reopened.issued(ISS, AUD, 1) == receipt
        assert reopened.head(ISS, AUD) == (1, _digest(receipt))


@posix_only
def test_two_processes_issue_without_duplicate_seq(tmp_path: Path, spawn: Spawn) -> None:
    """streams: two processes issuing 200 receipts each on the same file produce seqs
    1..400 with no duplicate and an unbroken prev chain."""
    path = tmp_path / "s.sqlite"
    SqliteStreamStore(path).close()
    workers = [spawn(_STREAM_WORKER, path, name, 200) for name in ("A", "B")]
    for worker in workers:
        _await_line(worker, "ready")
    for worker in workers:
        assert worker.stdin is not None
        worker.stdin.write("go\n")
        worker.stdin.flush()
    for worker in workers:
        out, errors = worker.communicate(timeout=300)
        assert worker.returncode == 0, errors
        assert out.strip() == "done"
    with SqliteStreamStore(path) as store:
        head = store.head(ISS, AUD)
        assert head is not None
        assert head[0] == 400
        prev: str | None = None
        writers: dict[str, int] = {"A": 0, "B": 0}
        for seq in range(1, 401):
            receipt = store.issued(ISS, AUD, seq)
            assert receipt is not None, seq
            name, seq_text, prev_text = receipt.split("|")
            assert int(seq_text) == seq
            assert prev_text == str(prev)
            writers[name] += 1
            prev = _digest(receipt)
        assert head[1] == prev
        assert store.issued(ISS, AUD, 401) is None
    assert writers == {"A": 200, "B": 200}
    with sqlite3.connect(path) as raw:
        assert raw.execute("SELECT count(*), count(DISTINCT seq) FROM issued").fetchone() == (
            400,
            400,
        )


def test_earlier_draft_schema_is_refused_with_a_reason(tmp_path: Path) -> None:
    """ledger, streams: a file of schema version 1, whose chains link receipt bytes rather than
    content digests (REC-007), is refused with io_error saying to start a new file."""
    path = tmp_path / "old.sqlite"
    SqliteStreamStore(path).close()
    with sqlite3.connect(path) as raw:
        raw.execute("UPDATE tokenfed_schema SET version = 1 WHERE component = 'stream_store'")
    with pytest.raises(IoError, match="start a new file"):
        SqliteStreamStore(path)


def test_content_digest_answers_replay_detection_without_the_entry(
    ledger: SqliteLedger, ledger_path: Path
) -> None:
    """REC-042: the ledger answers the content digest recorded under (iss, jti), None for an
    unknown one, and io_error for a digest damaged on disk (never a wrong answer)."""
    first = _entry(0)
    ledger.record([first])
    assert ledger.content_digests([(ISS, "jti-0"), (ISS, "jti-1"), (ISS, "jti-0")]) == {
        (ISS, "jti-0"): first.content_digest
    }
    many = [(ISS, f"jti-{n}") for n in range(600)]  # more than one page of keys
    assert ledger.content_digests(many) == {(ISS, "jti-0"): first.content_digest}
    with sqlite3.connect(ledger_path) as raw:
        raw.execute("UPDATE receipts SET content_digest = 'sha256:XYZ' WHERE jti = 'jti-0'")
    with pytest.raises(IoError, match="damaged"):
        ledger.content_digests([(ISS, "jti-0")])
