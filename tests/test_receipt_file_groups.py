"""Receipt files recorded in groups of lines: one ledger transaction per group (REC-045).

The results of a file (per line, in order, with their codes) and what the ledger holds do not
depend on how the lines are grouped; a crash inside a group's transaction leaves the groups
committed before it and nothing of that group, and no results file.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tokenfed.errors import IoError, ReplayError
from tokenfed.keys import KeyValidity, generate_key
from tokenfed.ledger import SqliteLedger, _receipt_row
from tokenfed.receipts import ReceiptIssuer, VerifierConfig, _files, verify_file
from tokenfed.trust import TrustStore
from tokenfed.units import RateCard
from tokenfed_conformance.vectors import load_vectors

T0 = 1767225600
ISS = "https://provider.example"
AUD = "https://home.example"
SUB = "Zk9xW2cLm3P8qRsT"
NOW = T0 + 3600
USAGE = {"model": "qwen-max", "meters": {"input": 1200, "output": 300}}
CARD_CLAIMS: dict[str, Any] = load_vectors("receipts").extra["fixtures"]["rate_cards"]["default"]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A trust store, a rate card and a file of 13 lines: 10 chained receipts in order, a copy
    of the 3rd and one of the 9th (duplicates) and the 11th before the 10th (a chain break),
    so that outcomes cross group boundaries."""
    folder = tmp_path_factory.mktemp("groups")
    key = generate_key()
    trust = TrustStore({}).with_key(ISS, key.public_key(KeyValidity(nbf=T0 - 86400)))
    token = RateCard.sign(dict(CARD_CLAIMS, iss=ISS), key)
    card = RateCard.from_jws(token, trust)
    issuer = ReceiptIssuer(key, ISS, card, clock=lambda: NOW)
    chain = [issuer.issue(aud=AUD, sub=SUB, usage=USAGE) for _ in range(11)]
    lines = [*chain[:5], chain[2], *chain[5:9], chain[8], chain[10], chain[9]]
    (folder / "trust.json").write_text(json.dumps(trust.to_json()))
    (folder / "card.jwt").write_text(token + "\n")
    source = folder / "in.jsonl"
    source.write_text("\n".join(lines) + "\n")
    return {
        "folder": folder,
        "source": source,
        "config": VerifierConfig(trust=trust.to_json(), rate_cards=(token,), now=NOW),
    }


def _ledger_rows(path: Path) -> list[tuple[Any, ...]]:
    with SqliteLedger(path) as ledger, ledger._read("test") as connection:
        return connection.execute("SELECT * FROM receipts ORDER BY iss, jti").fetchall()


def _run(
    world: dict[str, Any], tmp_path: Path, name: str, workers: int
) -> tuple[list[str], list[tuple[Any, ...]], dict[str, Any]]:
    out = tmp_path / f"{name}.jsonl"
    with SqliteLedger(tmp_path / f"{name}.db") as ledger:
        summary = verify_file(
            world["source"], out, world["config"], ledger=ledger, workers=workers, progress=False
        )
    return out.read_text().splitlines(), _ledger_rows(tmp_path / f"{name}.db"), summary.to_json()


@pytest.mark.parametrize("workers", [1, 2])
def test_results_and_ledger_do_not_depend_on_the_groups(
    world: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, workers: int
) -> None:
    """REC-045, REC-070: one group for the whole file, and groups of 1 to 5 lines (chunks of
    1 to 3 lines), give the same result lines, summary and ledger rows; the duplicate and the
    chain break of the fixture land in other groups than the receipts they refer to."""
    whole = _run(world, tmp_path, "whole", workers)
    results, _, summary = whole
    codes = [json.loads(line).get("error", "duplicate" in line) for line in results]
    assert codes == [False] * 5 + [True] + [False] * 4 + [True, "chain_break", False]
    assert summary["accepted"] == 10 and summary["duplicates"] == 2
    for chunk, group in [(1, 1), (2, 3), (3, 5)]:
        monkeypatch.setattr(_files, "_CHUNK_LINES", chunk)
        monkeypatch.setattr(_files, "_GROUP_RECEIPTS", group)
        assert _run(world, tmp_path, f"c{chunk}g{group}", workers) == whole


def test_a_group_is_one_transaction(
    world: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """REC-045: the chunks of a group are recorded in one transaction, committed once the
    group holds at least ``_GROUP_RECEIPTS`` lines (whole chunks), or once ``_GROUP_NS``
    (one second) passed since it began, and the rest at the end: here 13 lines in chunks of 2 and
    groups of at least 5, then with no time to wait. A chunk with nothing to record (only
    duplicates and rejections) records nothing."""
    groups: list[list[int]] = []  # per transaction, the rows of each chunk recorded in it
    group = SqliteLedger._group
    record = SqliteLedger._record_rows

    @contextmanager
    def counting_group(self: SqliteLedger) -> Iterator[None]:
        groups.append([])
        with group(self):
            yield

    def counting_rows(self: SqliteLedger, rows: Any, expected: Any) -> None:
        groups[-1].append(len(rows))
        record(self, rows, expected)

    monkeypatch.setattr(SqliteLedger, "_group", counting_group)
    monkeypatch.setattr(SqliteLedger, "_record_rows", counting_rows)
    monkeypatch.setattr(_files, "_CHUNK_LINES", 2)
    monkeypatch.setattr(_files, "_GROUP_RECEIPTS", 5)
    by_size = _run(world, tmp_path, "by-size", 1)
    # Lines 1-6 (line 6 a duplicate), 7-12 (a duplicate, then a chain break), 13.
    assert groups == [[2, 2, 1], [2, 2], [1]]
    groups.clear()
    monkeypatch.setattr(_files, "_GROUP_NS", 0)
    by_time = _run(world, tmp_path, "by-time", 1)
    assert groups == [[2], [2], [1], [2], [2], [], [1]]
    assert by_time == by_size


_KILLED_IN_SECOND_GROUP = textwrap.dedent(
    """
    import os, signal, sys
    from tokenfed.cli import main
    from tokenfed.ledger import SqliteLedger
    from tokenfed.receipts import _files

    _files._CHUNK_LINES = 2
    _files._GROUP_RECEIPTS = 4
    record = SqliteLedger._record_rows
    calls = []

    def killed_in_the_second(self, rows, expected):
        calls.append(len(rows))
        if len(calls) < 3:
            return record(self, rows, expected)

        def then_killed():  # the chunk's rows inserted, the group's transaction not committed
            yield from rows
            os.kill(os.getpid(), signal.SIGKILL)

        return record(self, then_killed(), expected)

    SqliteLedger._record_rows = killed_in_the_second
    sys.exit(main(sys.argv[1:]))
    """
)


def test_a_crash_inside_a_group_keeps_the_groups_before_it_and_no_results(
    world: dict[str, Any], tmp_path: Path
) -> None:
    """REC-045: a process killed (SIGKILL) inside its second group's transaction, after the
    rows of the group's first chunk were inserted, leaves exactly the first group's receipts in
    the ledger and no results file; verifying the file again records the rest, the first
    group's as duplicates."""
    folder = world["folder"]
    ledger = tmp_path / "ledger.db"
    results = tmp_path / "results.jsonl"
    command = [
        "receipt", "verify", str(world["source"]), "--trust", str(folder / "trust.json"),
        "--rate-card", str(folder / "card.jwt"), "--at", str(NOW), "--workers", "1",
        "--ledger", str(ledger), "--results", str(results),
    ]  # fmt: skip
    done = subprocess.run(
        [sys.executable, "-c", _KILLED_IN_SECOND_GROUP, *command],
        capture_output=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == -signal.SIGKILL, done.stderr
    assert not results.exists()
    recorded = _ledger_rows(ledger)
    assert sorted(row[4] for row in recorded) == [1, 2, 3, 4]  # the first group: lines 1-4
    assert len(list(tmp_path.glob(".results.jsonl.*.tmp"))) == 1  # the unfinished results
    again = subprocess.run(
        [sys.executable, "-m", "tokenfed.cli", *command],
        capture_output=True,
        check=False,
        timeout=120,
    )
    assert again.returncode == 1, again.stderr  # the chain break of the fixture
    report = json.loads(again.stdout)
    assert report["accepted"] == 6 and report["duplicates"] == 6
    assert sorted(row[4] for row in _ledger_rows(ledger)) == list(range(1, 11))


def _row(jti: str, seq: int, digest: str) -> Any:
    return _receipt_row(
        ISS, jti, AUD, SUB, seq, NOW, "1.5", 1_500_000, "card", "sha256:" + digest * 64,
        "sha256:" + "e" * 64, "receipt", None, "qwen-max", "sha256:" + "c" * 64,
    )  # fmt: skip


def test_a_failed_write_in_a_group_records_nothing(tmp_path: Path) -> None:
    """REC-045: a group whose write failed (here a replay of a recorded jti with other content)
    records nothing: later writes of the group and its end raise io_error, and the ledger keeps
    only what was committed before the group."""
    with SqliteLedger(tmp_path / "ledger.db") as ledger:
        ledger._record_rows([_row("a", 1, "a")], {})
        with pytest.raises(IoError) as ended, ledger._group():
            ledger._record_rows([_row("b", 2, "b")], {})
            with pytest.raises(ReplayError):
                ledger._record_rows([_row("c", 3, "c"), _row("a", 1, "f")], {})
            with pytest.raises(IoError) as later:
                ledger._record_rows([_row("d", 3, "d")], {})
            assert later.value.code == "io_error"
        assert ended.value.code == "io_error"
        assert [row[1] for row in _ledger_rows_of(ledger)] == ["a"]
        ledger._record_rows([_row("b", 2, "b")], {})  # the ledger records again afterwards
        assert [row[1] for row in _ledger_rows_of(ledger)] == ["a", "b"]


def _ledger_rows_of(ledger: SqliteLedger) -> list[tuple[Any, ...]]:
    with ledger._read("test") as connection:
        return connection.execute("SELECT * FROM receipts ORDER BY iss, jti").fetchall()


def test_an_exception_inside_a_group_rolls_it_back(
    world: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """REC-045: an exception while a group is open (here after the group's first chunk was
    tracked and inserted) leaves the groups committed before it and nothing of that group, no
    results file, and the ledger's write lock free."""
    apply = _files._apply
    calls: list[int] = []

    def failing(*args: Any) -> None:
        apply(*args)
        calls.append(1)
        if len(calls) == 3:  # lines 5-6, the first chunk of the second group
            raise OSError(28, "No space left on device")

    monkeypatch.setattr(_files, "_apply", failing)
    monkeypatch.setattr(_files, "_CHUNK_LINES", 2)
    monkeypatch.setattr(_files, "_GROUP_RECEIPTS", 4)
    out = tmp_path / "out.jsonl"
    with SqliteLedger(tmp_path / "ledger.db", busy_timeout_ms=100) as ledger:
        with pytest.raises(IoError) as caught:
            verify_file(
                world["source"], out, world["config"], ledger=ledger, workers=1, progress=False
            )
        assert caught.value.code == "io_error"
        assert not out.exists()
        assert sorted(row[4] for row in _ledger_rows_of(ledger)) == [1, 2, 3, 4]
    with SqliteLedger(tmp_path / "ledger.db", busy_timeout_ms=100) as again:
        again._record_rows([_row("z", 99, "d")], {})  # no write lock left behind
