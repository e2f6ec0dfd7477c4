"""Statements from a ledger (lines added up and Merkle leaves read by SQLite) against
statements from the same receipts as items: byte-identical claims and receipt lists
(SET-012, SET-022, SET-026, SET-028)."""

from __future__ import annotations

import base64
import hashlib
import json
import sqlite3
from collections.abc import Iterator, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tokenfed import _json, _merkle
from tokenfed import ledger as ledger_module
from tokenfed.ledger import LedgerEntry, SqliteLedger
from tokenfed.settlement import _statement, build_statement
from tokenfed.settlement._statement import items_from_entries

T0 = 1767225600
DAY = 86400
START, END = T0, T0 + 30 * DAY
PAYEE = "https://provider.example"
PAYER = "https://home.example"
MODELS = ("qwen-max", "deepseek-r1", "llama-4")
CARDS = tuple(
    (f"card-{name}", "sha256:" + hashlib.sha256(name.encode()).hexdigest())
    for name in ("a", "b", "c")
)


def _digest(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def _entry(
    jti: str,
    seq: int,
    iat: int,
    micro: int,
    *,
    model: str = MODELS[0],
    card: tuple[str, str] = CARDS[0],
    iss: str = PAYEE,
    aud: str = PAYER,
) -> LedgerEntry:
    """A recorded receipt whose stored claims say what its columns say."""
    amount = Decimal(micro).scaleb(-6)
    claims = {
        "usage": {"model": model},
        "rate_card": {"id": card[0], "digest": card[1]},
        "amount": format(amount.normalize(), "f") if micro else "0",
    }
    payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return LedgerEntry(
        iss=iss,
        jti=jti,
        aud=aud,
        sub="Zk9xW2cLm3P8qRsT",
        seq=seq,
        iat=iat,
        amount=amount,
        rate_card_id=card[0],
        content_digest=_digest(f"{iss} {jti}"),
        receipt_digest=_digest(f"jws {iss} {jti}"),
        receipt=f"e30.{payload}.c2ln",
        model=model,
        rate_card_digest=card[1],
    )


def _options(**changes: Any) -> dict[str, Any]:
    options: dict[str, Any] = {
        "payee": PAYEE,
        "payer": PAYER,
        "period": (START, END),
        "statement_id": "st-1",
        "seq": 1,
        "iat": END + 3 * DAY,
    }
    options.update(changes)
    return options


@pytest.fixture
def row_path_calls(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the statements whose summary fell back to reading the ledger rows in Python."""
    calls: list[int] = []
    add_rows = _statement._Summary.add_rows

    def counted(self: Any, *args: Any) -> None:
        calls.append(1)
        add_rows(self, *args)

    monkeypatch.setattr(_statement._Summary, "add_rows", counted)
    return calls


def _assert_paths_agree(ledger: SqliteLedger, **changes: Any) -> dict[str, Any]:
    """The statement of the ledger, of its entries and of their items: the same bytes."""
    options = _options(**changes)
    entries = ledger.stream_entries(PAYEE, PAYER)
    from_ledger = build_statement(ledger, **options)
    from_entries = build_statement(entries, **options)
    from_items = build_statement(items_from_entries(entries), **options)
    expected = _json.canonical_bytes(from_items.claims)
    assert _json.canonical_bytes(from_ledger.claims) == expected
    assert _json.canonical_bytes(from_entries.claims) == expected
    assert from_ledger.receipt_list == from_items.receipt_list
    return from_ledger.claims


def _world() -> list[LedgerEntry]:
    """Three models under three rate cards, late receipts (two of them settled), receipts of
    the next period, a receipt sharing its seq with another, and other streams' receipts."""
    entries = []
    for i in range(60):
        entries.append(
            _entry(
                f"r{i:02d}",
                seq=i + 1,
                iat=START + (i - 8) * DAY * 2 // 3,  # r00..r07 late, r53..r59 after the period
                micro=1_000_000 + 37_101 * i,
                model=MODELS[i % 3],
                card=CARDS[(i // 3) % 3],
            )
        )
    entries.append(_entry("r10-twin", seq=11, iat=START + DAY, micro=5, model=MODELS[1]))
    entries.append(_entry("o1", seq=1, iat=START + DAY, micro=7, aud="https://other.example"))
    entries.append(_entry("o2", seq=1, iat=START + DAY, micro=7, iss="https://other.example"))
    return entries


SETTLED = (_digest(f"{PAYEE} r01"), _digest(f"{PAYEE} r04"), "sha256:not-a-digest", "SHA256:x")


@pytest.mark.parametrize(
    ("page", "where"),
    [(1, "file"), (2, "file"), (3, "memory"), (7, "file"), (7, "no reader"), (16384, "memory")],
)
def test_ledger_statement_is_the_item_statement(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    row_path_calls: list[int],
    page: int,
    where: str,
) -> None:
    """SET-012, SET-026: lines, adjustments (late receipts less the settled ones), totals and
    the Merkle tree head added up by SQLite equal those of the items, byte for byte, whatever
    the page size of the leaf scan, read on a read-only connection of its own or (in memory,
    or when none opens) on the ledger's connection."""
    monkeypatch.setattr(ledger_module, "_LEAF_PAGE_SIZE", page)
    if where == "no reader":
        monkeypatch.setattr(SqliteLedger, "_reader", lambda self: None)
    path = ":memory:" if where == "memory" else tmp_path / "ledger.db"
    with SqliteLedger(path) as ledger:
        ledger.record(_world())
        claims = _assert_paths_agree(ledger, settled=SETTLED)
        assert claims["adjustments"] and len(claims["lines"]) == 9
        assert claims["totals"]["count"] == 45 + 6 + 1  # period, late less settled, the twin
        _assert_paths_agree(ledger)
        _assert_paths_agree(ledger, period=(START + 5 * DAY, START + 9 * DAY))
        _assert_paths_agree(ledger, period=(T0 - 90 * DAY, T0 - 60 * DAY))  # no receipts
    assert row_path_calls == []


def test_several_card_ids_under_one_card_digest_take_the_first_receipts(
    tmp_path: Path, row_path_calls: list[int]
) -> None:
    """SET-022: a line named by (model, rate card digest) whose receipts name several card ids
    takes the id of its first receipt in the order of SET-026 (the row path decides)."""
    entries = [
        _entry("b", seq=2, iat=START + 1, micro=3, card=("card-z", CARDS[0][1])),
        _entry("a", seq=2, iat=START + 2, micro=4, card=("card-y", CARDS[0][1])),
        _entry("c", seq=1, iat=START - 1, micro=5, card=("card-x", CARDS[0][1])),
    ]
    with SqliteLedger(tmp_path / "ledger.db") as ledger:
        ledger.record(entries)
        claims = _assert_paths_agree(ledger)
    assert [line["rate_card"]["id"] for line in claims["lines"]] == ["card-y"]
    assert [line["rate_card"]["id"] for line in claims["adjustments"]] == ["card-x"]
    assert row_path_calls == [1]  # the ledger statement only


def test_amounts_beyond_a_64_bit_sum_are_added_exactly(
    tmp_path: Path, row_path_calls: list[int]
) -> None:
    """SET-022: micro-UTU amounts whose sum does not fit a 64-bit integer add up exactly."""
    big = 2**63 - 1
    entries = [_entry(f"r{i}", seq=i + 1, iat=START + i, micro=big) for i in range(3)]
    with SqliteLedger(tmp_path / "ledger.db") as ledger:
        ledger.record(entries)
        claims = _assert_paths_agree(ledger)
    assert claims["totals"]["amount"] == str(Decimal(3 * big).scaleb(-6))
    assert row_path_calls == []


def test_rows_without_columns_or_leaf_hash_are_read_by_the_row_path(
    tmp_path: Path, row_path_calls: list[int]
) -> None:
    """SET-026: rows that another writer stored without a leaf hash, or without model, card
    digest or micro amount, are read from their digests and receipts: the same statement."""
    with SqliteLedger(tmp_path / "ledger.db") as ledger:
        ledger.record(_world())
        reference = _assert_paths_agree(ledger, settled=SETTLED)
    for change in (
        "merkle_leaf = NULL WHERE jti = 'r03'",
        "merkle_leaf = NULL WHERE jti = 'r01'",  # settled
        "micro = NULL WHERE jti = 'r20'",
        "model = NULL WHERE jti = 'r21'",
    ):
        with sqlite3.connect(tmp_path / "ledger.db") as raw:
            raw.execute("UPDATE receipts SET " + change)
        with SqliteLedger(tmp_path / "ledger.db") as ledger:
            assert _assert_paths_agree(ledger, settled=SETTLED) == reference
    assert row_path_calls == [1, 1, 1, 1]


def test_more_settled_receipts_than_half_the_rows_are_excluded_by_the_row_path(
    tmp_path: Path, row_path_calls: list[int]
) -> None:
    """SET-012: settled receipts are excluded from the adjustments whichever path reads the
    ledger; with more of them than half the statement's rows, the row path reads it."""
    entries = _world()
    late = [entry.content_digest for entry in entries if entry.iat < START]
    with SqliteLedger(tmp_path / "ledger.db") as ledger:
        ledger.record(entries)
        few = _assert_paths_agree(ledger, settled=late[:3])
        assert row_path_calls == []
        many = _assert_paths_agree(ledger, settled=late[:3] + [_digest(str(i)) for i in range(60)])
        assert row_path_calls == [1]
    assert many == few


_JTIS = st.text(alphabet="aZ0-é中😀", min_size=1, max_size=3)


@st.composite
def _stream(draw: st.DrawFn) -> tuple[list[LedgerEntry], list[str], int]:
    rows = draw(
        st.lists(
            st.tuples(
                _JTIS,
                st.integers(1, 12),
                st.integers(-3, 4),
                st.integers(0, 10**13),
                st.sampled_from(MODELS),
                st.sampled_from(CARDS),
            ),
            max_size=40,
            unique_by=lambda row: row[0],
        )
    )
    entries = [
        _entry(jti, seq, START + day * DAY, micro, model=model, card=card)
        for jti, seq, day, micro, model, card in rows
    ]
    settled = draw(st.lists(st.sampled_from([e.content_digest for e in entries] or ["x"])))
    return entries, settled, draw(st.sampled_from([1, 2, 5, 16384]))


@settings(max_examples=60, derandomize=True, deadline=None)
@given(_stream())
def test_any_stream_gives_the_item_statement(
    tmp_path_factory: pytest.TempPathFactory, stream: tuple[list[LedgerEntry], list[str], int]
) -> None:
    """SET-012, SET-022, SET-026: for any stream (seq ties, non-ASCII jti ordered by code
    point, late and settled receipts, any page size), the ledger path gives the item path's
    bytes."""
    entries, settled, page = stream
    folder = tmp_path_factory.mktemp("stream")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(ledger_module, "_LEAF_PAGE_SIZE", page)
        with SqliteLedger(folder / "ledger.db") as ledger:
            ledger.record(entries)
            _assert_paths_agree(ledger, settled=settled, period=(START, START + 2 * DAY))


def _builder_root(leaves: Sequence[bytes], cuts: Iterator[int]) -> bytes:
    builder = _merkle.RootBuilder()
    position = 0
    for cut in cuts:
        if cut % 2:
            for leaf in leaves[position:cut]:
                builder.add_hash(leaf)
        else:
            builder.add_hashes(leaves[position:cut])
        position = cut
    builder.add_hashes(leaves[position:])
    return builder.root()


def test_root_builder_batches_equal_the_tree_hash() -> None:
    """SET-026, REC-060: leaves added in batches of any sizes, mixed with single leaves, give
    RFC 9162's Merkle Tree Hash for every size from 0 to 70."""
    leaves = [_merkle.leaf_hash(i.to_bytes(4, "big")) for i in range(70)]
    for size in range(71):
        expected = _merkle.root_from_hashes(leaves[:size])
        assert _builder_root(leaves[:size], iter(())) == expected, size
        for first in range(size + 1):
            for second in range(first, size + 1, 5):
                cuts = iter((first, second))
                assert _builder_root(leaves[:size], cuts) == expected, (size, first, second)


def test_recorded_leaf_is_the_merkle_leaf_of_the_content_digest(tmp_path: Path) -> None:
    """SET-026: the ledger stores each receipt's leaf hash, SHA-256(0x00 || digest bytes)."""
    entry = _entry("r1", seq=1, iat=START, micro=1)
    with SqliteLedger(tmp_path / "ledger.db") as ledger:
        ledger.record([entry])
    with sqlite3.connect(tmp_path / "ledger.db") as raw:
        (leaf,) = raw.execute("SELECT merkle_leaf FROM receipts").fetchone()
    assert leaf == _merkle.leaf_hash(bytes.fromhex(entry.content_digest[7:]))


def test_statement_read_is_one_snapshot_that_does_not_block_recording(tmp_path: Path) -> None:
    """SET-026: a statement read runs on a read-only connection of its own in one read
    transaction: receipts recorded meanwhile (through the same ledger) are not in it, and its
    snapshot is the ledger's last row when it began."""
    with SqliteLedger(tmp_path / "ledger.db") as ledger:
        ledger.record(_world())
        with ledger._statement_read(PAYEE, PAYER, (START, END)) as read:
            before = read.line_totals()
            ledger.record([_entry("new", seq=99, iat=START + 1, micro=1)])
            assert read.line_totals() == before
            assert sum(len(page) for page in read.leaf_pages()) == sum(r[3] for r in before)
            assert read.snapshot == ledger.snapshot() - 1
        with ledger._statement_read(PAYEE, PAYER, (START, END)) as read:
            assert sum(r[3] for r in read.line_totals()) == sum(r[3] for r in before) + 1
            assert read.snapshot == ledger.snapshot()


def test_failed_statement_read_on_the_ledger_connection_leaves_no_transaction(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A statement read on the ledger's own connection that fails is io_error, and the ledger
    records afterwards (its read transaction was ended)."""
    from tokenfed.errors import IoError

    def broken(self: Any, *args: Any) -> None:
        raise sqlite3.OperationalError("disk I/O error")

    with SqliteLedger(":memory:") as ledger:
        ledger.record(_world())
        with monkeypatch.context() as patch:
            patch.setattr(ledger_module.StatementRead, "__init__", broken)
            with pytest.raises(IoError) as raised:
                build_statement(ledger, **_options())
        assert raised.value.code == "io_error"
        ledger.record([_entry("after", seq=99, iat=START + 1, micro=1)])
        assert ledger.lookup(PAYEE, "after") is not None
