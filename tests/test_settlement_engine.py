"""Bulk verify-and-settle (tokenfed.engine): monoid laws, exact replay and chain decisions
across files, byte-identical statements for any partitioning, serially and on a LocalCluster."""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tokenfed.cli import main
from tokenfed.engine import (
    Partition,
    PartitionResult,
    finish,
    plan_partitions,
    run,
    verify_partition,
    write_statements,
)
from tokenfed.keys import KeyValidity, generate_key
from tokenfed.receipts import MAX_LINE_BYTES, ReceiptIssuer, VerifierConfig
from tokenfed.settlement import Statement
from tokenfed.trust import TrustStore
from tokenfed.units import RateCard
from tokenfed_conformance.vectors import load_vectors

T0 = 1767225600
DAY = 86400
START, END = T0, T0 + 30 * DAY
PROVIDER = "https://provider-a.example"
PAYERS = ("https://home.example", "https://home-b.example")
SUB = "Zk9xW2cLm3P8qRsT"
CARD: dict[str, Any] = load_vectors("receipts").extra["fixtures"]["rate_cards"]["default"]

KEY = generate_key()
TRUST = {
    "ver": "1.0",
    "issuers": {PROVIDER: {"jwks": {"keys": [KEY.public_key(KeyValidity(nbf=T0 - DAY)).to_jwk()]}}},
}
CARD_TOKEN = RateCard.sign(CARD, KEY)
CONFIG = VerifierConfig(trust=TRUST, rate_cards=(CARD_TOKEN,), now=END + 5 * DAY)


def _receipts() -> list[str]:
    """Two streams of 12 receipts each, one reissued twin under a used jti (a replay)."""
    card = RateCard.from_jws(CARD_TOKEN, TrustStore.from_json(TRUST))
    issuer = ReceiptIssuer(KEY, PROVIDER, card)
    tokens = []
    for i in range(12):
        for n, payer in enumerate(PAYERS):
            usage = {"model": "qwen-max" if i % 2 else "deepseek-r1", "meters": {"input": 900 + i}}
            tokens.append(
                issuer.issue(aud=payer, sub=SUB, usage=usage, jti=f"p{n}-{i}", iat=T0 + i)
            )
    return tokens


TOKENS = _receipts()
REPLAY = ReceiptIssuer(
    KEY, PROVIDER, RateCard.from_jws(CARD_TOKEN, TrustStore.from_json(TRUST))
).issue(aud=PAYERS[0], sub=SUB, usage={"model": "qwen-max", "meters": {"input": 1}}, jti="p0-0",
        iat=T0 + 50)  # fmt: skip


def _write_files(folder: Path, groups: list[list[str]]) -> list[str]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for index, group in enumerate(groups):
        path = folder / f"part-{index:03d}.jsonl"
        path.write_text("".join(token + "\n" for token in group), encoding="utf-8")
        paths.append(str(path))
    return paths


def _statements(
    folder: Path, groups: list[list[str]], workers: int = 1, partitions: int | None = None
) -> dict[str, bytes]:
    files = _write_files(folder, groups)
    result = run(
        files,
        CONFIG,
        period=(START, END),
        iat=END + 4 * DAY,
        workers=workers,
        partitions=partitions,
    )
    out = folder / "out"
    write_statements(result, KEY, str(out))
    return {path.name: path.read_bytes() for path in sorted(out.iterdir())}


def test_replay_duplicate_and_chain_across_files(tmp_path: Path) -> None:
    """REC-042, REC-043 across partitions: an identical resubmission in another file counts
    once, other content under a seen jti is a replay, a stream spread over files chains."""
    groups = [TOKENS[1::2], TOKENS[0::2], [TOKENS[0], TOKENS[5], REPLAY]]
    files = _write_files(tmp_path, groups)
    result = run(files, CONFIG, period=(START, END), iat=END + 4 * DAY)
    summary = result.summary()
    assert summary["accepted"] == 24
    assert summary["duplicates"] == 2
    assert summary["rejected"] == {"replay": 1}
    assert summary["statements"] == 2


def test_a_gap_breaks_the_rest_of_the_stream(tmp_path: Path) -> None:
    """REC-043: a missing receipt leaves the later ones of its stream unaccepted (chain_break)."""
    without = [token for index, token in enumerate(TOKENS) if index != 6]  # seq 4 of payer 0
    files = _write_files(tmp_path, [without])
    outcome = run(files, CONFIG, period=(START, END), iat=END + 4 * DAY).outcome
    assert len(outcome.accepted[(PROVIDER, PAYERS[0])]) == 3
    assert list(outcome.rejected.values()) == ["chain_break"] * 8


def test_monoid_laws(tmp_path: Path) -> None:
    """The partition results form a commutative monoid: identity, commutativity,
    associativity (compared on the decisions they lead to)."""
    files = _write_files(tmp_path, [TOKENS[:8], [*TOKENS[8:16], REPLAY], TOKENS[16:]])
    a, b, c = (verify_partition((i, path), CONFIG) for i, path in enumerate(files))
    empty = PartitionResult()
    assert finish(a.combine(empty)) == finish(a)
    assert finish(a.combine(b)) == finish(b.combine(a))
    assert finish(a.combine(b).combine(c)) == finish(a.combine(b.combine(c)))


def _shuffled_into_files(tokens: list[str], copies: int, seed: int, parts: int) -> list[list[str]]:
    """``tokens`` and ``copies`` of them again (duplicates), shuffled by ``seed`` and dealt
    into ``parts`` files, each token to a file its text and the seed choose."""
    shuffled = list(tokens) + random.Random(seed).sample(tokens, copies)
    random.Random(seed).shuffle(shuffled)
    groups: list[list[str]] = [[] for _ in range(parts)]
    for token in shuffled:
        groups[random.Random(f"{seed}-{token[-12:]}").randrange(parts)].append(token)
    return groups


@settings(max_examples=15, deadline=None, derandomize=True)
@given(
    seed=st.integers(min_value=0, max_value=2**32 - 1),
    parts=st.integers(1, 6),
    ranges=st.integers(0, 12),
)
def test_any_partitioning_gives_byte_identical_statements(
    tmp_path_factory: pytest.TempPathFactory, seed: int, parts: int, ranges: int
) -> None:
    """SET-026: the same receipts, shuffled into any number of files, each file split or not
    into ranges of lines, give byte-identical signed statements and receipt lists."""
    reference = _statements(tmp_path_factory.mktemp("ref"), [TOKENS])
    groups = _shuffled_into_files(TOKENS, 3, seed, parts)
    split = _statements(tmp_path_factory.mktemp("run"), groups, partitions=ranges or None)
    assert split == reference


def test_local_cluster_matches_serial(tmp_path: Path) -> None:
    """The same files on a two-worker Dask LocalCluster, whole or split into ranges of lines,
    give byte-identical statements."""
    pytest.importorskip("dask.distributed")
    groups = [TOKENS[:10], TOKENS[10:], [TOKENS[3]]]
    serial = _statements(tmp_path / "serial", groups)
    cluster = _statements(tmp_path / "cluster", groups, workers=2)
    assert serial == cluster
    assert _statements(tmp_path / "ranges", groups, workers=2, partitions=7) == serial
    token = serial["st-1767225600-1.jwt"].decode().strip()
    statement = Statement.from_jws(token, KEY.public_key(KeyValidity(nbf=T0 - DAY)))
    assert statement.claims.totals.count == 12


def test_cli_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``tokenfed settle run --workers 1`` writes the statements and prints a summary."""
    _write_files(tmp_path, [TOKENS[:12], TOKENS[12:]])
    (tmp_path / "trust.json").write_text(json.dumps(TRUST), encoding="utf-8")
    (tmp_path / "card.jwt").write_text(CARD_TOKEN, encoding="utf-8")
    (tmp_path / "key.jwk").write_text(json.dumps(KEY.to_jwk()), encoding="utf-8")
    status = main(
        [
            "settle", "run", "--receipts", str(tmp_path / "part-*.jsonl"),
            "--trust", str(tmp_path / "trust.json"), "--rate-card", str(tmp_path / "card.jwt"),
            "--start", str(START), "--end", str(END), "--signing-key", str(tmp_path / "key.jwk"),
            "--out-dir", str(tmp_path / "out"), "--workers", "1", "--at", str(END + 5 * DAY),
        ]
    )  # fmt: skip
    out, err = capsys.readouterr()
    assert status == 0
    summary = json.loads(out)
    assert summary["accepted"] == 24 and len(summary["written"]) == 2
    assert err == ""  # standard error is not a terminal here: no progress bar by default


def test_cli_run_numbers_the_next_statement_and_leaves_settled_receipts_out(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """SET-023, SET-012: the next period's run is numbered --seq, and the receipts of the
    finalized statements named by --settled are not adjusted again; without --settled they are
    (late receipts not yet settled), so nothing is billed twice only when the lists are given."""
    _write_files(tmp_path, [TOKENS[:12], TOKENS[12:]])
    (tmp_path / "trust.json").write_text(json.dumps(TRUST), encoding="utf-8")
    (tmp_path / "card.jwt").write_text(CARD_TOKEN, encoding="utf-8")
    (tmp_path / "key.jwk").write_text(json.dumps(KEY.to_jwk()), encoding="utf-8")

    def run_period(start: int, end: int, out: str, *extra: str) -> list[Statement]:
        argv = [
            "settle", "run", "--receipts", str(tmp_path / "part-*.jsonl"),
            "--trust", str(tmp_path / "trust.json"), "--rate-card", str(tmp_path / "card.jwt"),
            "--start", str(start), "--end", str(end), "--signing-key", str(tmp_path / "key.jwk"),
            "--out-dir", str(tmp_path / out), "--workers", "1", "--at", str(end + 5 * DAY), *extra,
        ]  # fmt: skip
        assert main(argv) == 0, capsys.readouterr().err
        capsys.readouterr()
        return [
            Statement.from_jws(path.read_text().strip(), KEY.public_key())
            for path in sorted((tmp_path / out).glob("*.jwt"))
        ]

    first = run_period(START, END, "one")
    assert [s.claims.seq for s in first] == [1, 1]
    billed = sum(s.claims.totals.count for s in first)
    assert billed == 24
    again = run_period(END, END + DAY, "two", "--seq", "2")
    assert [s.claims.seq for s in again] == [2, 2]
    assert sum(s.claims.totals.count for s in again) == billed  # all of them adjusted again
    lists = [str(path) for path in sorted((tmp_path / "one").glob("*.json"))]
    settled = [arg for path in lists for arg in ("--settled", path)]
    later = run_period(END, END + DAY, "three", "--seq", "2", *settled)
    assert [s.claims.seq for s in later] == [2, 2]
    assert [s.claims.totals.count for s in later] == [0, 0]
    assert all(s.raw["adjustments"] == [] for s in later)


def test_cli_run_never_overwrites(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``settle run`` refuses, before writing anything, a statement that exists (unless
    --force) and, with --force too, one whose path is an input of the run."""
    _write_files(tmp_path, [TOKENS[:12], TOKENS[12:]])
    (tmp_path / "trust.json").write_text(json.dumps(TRUST), encoding="utf-8")
    (tmp_path / "card.jwt").write_text(CARD_TOKEN, encoding="utf-8")
    (tmp_path / "key.jwk").write_text(json.dumps(KEY.to_jwk()), encoding="utf-8")
    argv = [
        "settle", "run", "--receipts", str(tmp_path / "*.jsonl"),
        "--trust", str(tmp_path / "trust.json"), "--rate-card", str(tmp_path / "card.jwt"),
        "--start", str(START), "--end", str(END), "--signing-key", str(tmp_path / "key.jwk"),
        "--workers", "1", "--at", str(END + 5 * DAY),
    ]  # fmt: skip
    out = tmp_path / "out"
    assert main([*argv, "--out-dir", str(out)]) == 0
    written = {path.name: path.read_bytes() for path in out.iterdir()}
    assert len(written) == 4
    capsys.readouterr()
    assert main([*argv, "--out-dir", str(out)]) == 1
    error = json.loads(capsys.readouterr().err)
    assert error["error"] == "io_error" and "use --force" in error["message"]
    assert {path.name: path.read_bytes() for path in out.iterdir()} == written
    # The receipts given in a file named as the first statement's receipt list will be.
    first = sorted(written)[0]
    assert first.endswith(".json")
    receipts = "".join(token + "\n" for token in TOKENS).encode()
    (out / first).write_bytes(receipts)
    argv[argv.index("--receipts") + 1] = str(out / first)
    assert main([*argv, "--out-dir", str(out), "--force"]) == 1
    error = json.loads(capsys.readouterr().err)
    assert error["error"] == "io_error" and "an input of this run" in error["message"]
    assert (out / first).read_bytes() == receipts
    # An output folder that is a file is io_error, not an internal error.
    argv[argv.index("--receipts") + 1] = str(tmp_path / "*.jsonl")
    assert main([*argv, "--out-dir", str(tmp_path / "trust.json")]) == 1
    error = json.loads(capsys.readouterr().err)
    assert error["error"] == "io_error" and "output folder" in error["message"]


def test_cli_run_progress_bar_ends_at_every_byte_and_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``settle run --progress`` draws a bar on stderr by bytes of all files; its last frame is
    100% with every line counted, and the bar's line is ended."""
    _write_files(tmp_path, [TOKENS[:5], TOKENS[5:], []])
    (tmp_path / "trust.json").write_text(json.dumps(TRUST), encoding="utf-8")
    (tmp_path / "card.jwt").write_text(CARD_TOKEN, encoding="utf-8")
    (tmp_path / "key.jwk").write_text(json.dumps(KEY.to_jwk()), encoding="utf-8")
    status = main(
        [
            "settle", "run", "--receipts", str(tmp_path / "part-*.jsonl"),
            "--trust", str(tmp_path / "trust.json"), "--rate-card", str(tmp_path / "card.jwt"),
            "--start", str(START), "--end", str(END), "--signing-key", str(tmp_path / "key.jwk"),
            "--out-dir", str(tmp_path / "out"), "--workers", "1", "--at", str(END + 5 * DAY),
            "--progress",
        ]
    )  # fmt: skip
    _, err = capsys.readouterr()
    assert status == 0
    frames = err.split("\r")
    assert frames[-1].startswith("[" + "#" * 30 + "] 100% 24 receipts ")
    assert err.endswith("\n")


def _dies_once(partition: Partition, config: VerifierConfig) -> PartitionResult:
    """Verify a partition, but kill this worker process the first time partition 0 runs."""
    import os

    marker = Path(partition[1]).with_suffix(".died")
    if partition[0] == 0 and not marker.exists():
        marker.write_text("x", encoding="utf-8")
        os._exit(1)
    return verify_partition(partition, config)


def test_a_worker_that_dies_loses_and_doubles_nothing(tmp_path: Path) -> None:
    """A worker killed mid-run: Dask runs its task again elsewhere; every receipt is counted
    exactly once (the partitions are pure), and the decisions equal the serial run's."""
    pytest.importorskip("dask.distributed")
    import cloudpickle

    from tokenfed.engine._run import _dask_client, _map_dask

    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    files = _write_files(tmp_path, [TOKENS[:8], TOKENS[8:16], TOKENS[16:], [TOKENS[2]]])
    partitions = plan_partitions(files, 6, 1)
    assert len(partitions) == 7  # the three longer files in two parts each
    with _dask_client(2, None) as client:
        total = _map_dask(client, partitions, CONFIG, None, function=_dies_once)
    assert (tmp_path / "part-000.died").exists()
    expected = PartitionResult()
    for partition in partitions:
        expected = expected.combine(verify_partition(partition, CONFIG))
    assert total.lines == expected.lines == 25
    assert finish(total) == finish(expected)


class _CancelsOne:
    """A Dask client whose first map has its first task cancelled, as when the worker holding
    it (or the data it needs) is lost."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self.cancelled = self.submitted = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def map(self, *args: Any, **kwargs: Any) -> Any:
        futures = self._client.map(*args, **kwargs)
        self._client.cancel(futures[0])
        self.cancelled += 1
        return futures

    def submit(self, *args: Any, **kwargs: Any) -> Any:
        self.submitted += 1
        return self._client.submit(*args, **kwargs)


def test_a_cancelled_partition_runs_again_and_counts_once(tmp_path: Path) -> None:
    """A partition whose task the cluster cancels is submitted again (with the configuration by
    value) and counted once: the decisions equal the serial run's."""
    pytest.importorskip("dask.distributed")
    from tokenfed.engine._run import _dask_client, _map_dask

    files = _write_files(tmp_path, [TOKENS[:8], TOKENS[8:16], TOKENS[16:], [TOKENS[2]]])
    partitions = plan_partitions(files, 6, 1)
    with _dask_client(2, None) as client:
        cancelling = _CancelsOne(client)
        total = _map_dask(cancelling, partitions, CONFIG, None)
    assert cancelling.cancelled == cancelling.submitted == 1  # submitted again, once
    expected = PartitionResult()
    for partition in partitions:
        expected.absorb(verify_partition(partition, CONFIG))
    assert total.lines == expected.lines == 25
    assert finish(total) == finish(expected)


def test_absorb_is_combine_in_place_and_leaves_the_other_alone(tmp_path: Path) -> None:
    """Folding partition results in place (absorb) decides exactly as the pure combine, and the
    absorbed result is not changed (a later combine with it still counts it once)."""
    files = _write_files(tmp_path, [TOKENS[:8], [*TOKENS[8:16], REPLAY], [TOKENS[0], *TOKENS[16:]]])
    a, b, c = (verify_partition((i, path), CONFIG) for i, path in enumerate(files))
    before = (dict(b.first), list(b.later), dict(b.rejected), b.lines)
    total = PartitionResult()
    for part in (a, b, c):
        total.absorb(part)
    assert finish(total) == finish(a.combine(b).combine(c))
    assert total.lines == a.lines + b.lines + c.lines == 26
    assert (b.first, b.later, b.rejected, b.lines) == before
    assert finish(total).duplicates == 1


def _awkward_file(folder: Path) -> str:
    """One file with every kind of line a range boundary could fall next to: receipts, a CRLF
    line end, an empty line, blanks, garbage, an over-long line, no line end at the end."""
    lines = [
        TOKENS[0].encode(),
        TOKENS[2].encode() + b"\r",
        b"",
        b" \t",
        b"{not a receipt",
        TOKENS[4].encode(),
        b"x" * (MAX_LINE_BYTES + 10),
        TOKENS[6].encode(),
        b"\xff\xfe",
        TOKENS[8].encode() + b"\r",
        TOKENS[10].encode(),
    ]
    path = folder / "awkward.jsonl"
    path.write_bytes(b"\n".join(lines))
    return str(path)


@pytest.mark.parametrize("parts", range(1, 16))
def test_ranges_of_lines_keep_every_line_number(tmp_path: Path, parts: int) -> None:
    """A file split into ranges of whole lines reports every line once, at its own line number
    in the file, with the code the whole file gives it (REC-070, REC-071)."""
    path = _awkward_file(tmp_path)
    whole = verify_partition((0, path), CONFIG)
    plan = plan_partitions([path], parts, 1)
    assert 1 <= len(plan) <= parts
    assert (len(plan) > 1) == (parts > 1)  # split wherever asked, at the nearest line start
    total = PartitionResult()
    for partition in plan:
        total.absorb(verify_partition(partition, CONFIG))
    assert total.lines == whole.lines == 11
    assert (
        total.rejected
        == whole.rejected
        == {
            (0, 3): "malformed",
            (0, 4): "malformed",
            (0, 5): "malformed",
            (0, 7): "malformed",
            (0, 9): "malformed",
        }
    )
    assert total.first == whole.first
    assert [row[1:3] for row in total.first.values()] == [
        (0, 1),
        (0, 2),
        (0, 6),
        (0, 8),
        (0, 10),
        (0, 11),
    ]
    assert finish(total) == finish(whole)


def test_every_line_of_a_replayed_content_is_a_replay(tmp_path: Path) -> None:
    """REC-042: another content under a seen (iss, jti) is a replay on every line it appears
    on, in any file; each line is accepted, a duplicate or rejected, exactly once."""
    files = _write_files(tmp_path, [TOKENS[:12], [REPLAY, *TOKENS[12:]], [REPLAY, TOKENS[0]]])
    result = run(files, CONFIG, period=(START, END), iat=END + 4 * DAY, partitions=5)
    assert result.outcome.rejected == {(1, 1): "replay", (2, 1): "replay"}
    summary = result.summary()
    assert summary["accepted"] == 24
    assert summary["duplicates"] == 1
    counted = summary["accepted"] + summary["duplicates"] + sum(summary["rejected"].values())
    assert counted == result.lines == 27


def test_the_engine_starts_its_clusters_quiet() -> None:
    """The clusters the engine starts run their workers without the statistical profiler and
    the fast diagnostic ticks (QUIET_DASK)."""
    pytest.importorskip("dask.distributed")
    import dask
    from dask.distributed import Client

    from tokenfed.engine import QUIET_DASK, local_cluster

    def settings() -> list[Any]:
        return [dask.config.get(name) for name in QUIET_DASK]

    with local_cluster(1) as cluster, Client(cluster) as client:  # type: ignore[no-untyped-call]
        assert list(client.run(settings).values()) == [list(QUIET_DASK.values())]


def test_the_local_cluster_leaves_port_8787_alone() -> None:
    """The engine's LocalCluster serves no dashboard and keeps the scheduler's HTTP endpoints
    on a free loopback port: a port 8787 held by another cluster or notebook is no reason for
    a warning on the command's stderr."""
    import contextlib
    import socket
    import warnings

    from tokenfed.engine import local_cluster

    pytest.importorskip("dask.distributed")
    with socket.socket() as held:
        with contextlib.suppress(OSError):  # or it is held already, which is the case too
            held.bind(("127.0.0.1", 8787))
            held.listen()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            with local_cluster(1) as cluster:
                server = cluster.scheduler.http_server
                assert (server.address, server.port != 8787) == ("127.0.0.1", True)
    assert [str(w.message) for w in caught if "8787" in str(w.message)] == []


def _log_a_worker_error() -> None:
    import logging

    logging.getLogger("distributed.worker").error("tokenfed-probe: a worker's error log")
    logging.getLogger("distributed.nanny").error("tokenfed-probe: a nanny's error log")


def test_the_local_cluster_keeps_dasks_logs_off_standard_error(
    capfd: pytest.CaptureFixture[str],
) -> None:
    """The engine's LocalCluster keeps Dask's own log records off the command's stderr, errors
    included (a worker whose heartbeat meets a scheduler already closing logs a traceback at
    ERROR level): what went wrong reaches the caller as the engine's own error, with its code."""
    pytest.importorskip("dask.distributed")
    from dask.distributed import Client

    from tokenfed.engine import local_cluster

    with local_cluster(2) as cluster, Client(cluster) as client:
        assert sorted(client.run(_log_a_worker_error)) == sorted(cluster.scheduler_info["workers"])
        _log_a_worker_error()  # the parent's own Dask loggers too, while the cluster runs
    err = capfd.readouterr().err
    assert "tokenfed-probe" not in err


def test_progress_reports_each_file_once_with_all_its_lines(tmp_path: Path) -> None:
    """``progress(position, lines)`` is called once per file, when the last of its ranges is
    done, with every line of the file, however the files were split."""
    files = _write_files(tmp_path, [TOKENS[:10], [], TOKENS[10:], [TOKENS[3]]])
    calls: list[tuple[int, int]] = []
    run(
        files,
        CONFIG,
        period=(START, END),
        iat=END + 4 * DAY,
        partitions=9,
        progress=lambda position, lines: calls.append((position, lines)),
    )
    assert sorted(calls) == [(0, 10), (1, 0), (2, 14), (3, 1)]


def test_a_copy_of_a_receipt_that_breaks_its_chain_breaks_it_too(tmp_path: Path) -> None:
    """REC-043: an identical copy of a chain_break receipt is a chain_break as well, never a
    duplicate counted as accepted (one verifier would refuse the copy for the same reason)."""
    without = [token for index, token in enumerate(TOKENS) if index != 6]  # seq 4 of payer 0
    files = _write_files(tmp_path, [without, [TOKENS[8]]])  # seq 5 of payer 0, again
    result = run(files, CONFIG, period=(START, END), iat=END + 4 * DAY)
    assert result.outcome.duplicates == 0
    assert result.outcome.rejected[(1, 1)] == "chain_break"
    assert list(result.outcome.rejected.values()).count("chain_break") == 9


def test_line_results_one_per_line_in_order(tmp_path: Path) -> None:
    """Every line of every file has exactly one result, in file and line order: accepted,
    duplicate, replay, chain_break or its code from steps 1 to 11 with the verifier's message;
    the same whatever the partitioning."""
    awkward = tmp_path / "zz-awkward.jsonl"
    Path(_awkward_file(tmp_path)).rename(awkward)
    # TOKENS[5] (payer 1, seq 3) never comes: TOKENS[7] (payer 1, seq 4) breaks the chain.
    groups = [TOKENS[:5], [TOKENS[2], REPLAY, TOKENS[7]]]
    files = [*_write_files(tmp_path, groups), str(awkward)]
    whole = run(files, CONFIG, period=(START, END), iat=END + 4 * DAY)
    results = list(whole.line_results())
    assert len(results) == whole.lines == 5 + 3 + 11
    assert [(r["file"], r["line"]) for r in results] == [
        *((files[0], n) for n in range(1, 6)),
        *((files[1], n) for n in range(1, 4)),
        *((files[2], n) for n in range(1, 12)),
    ]
    assert results[0] == {
        "file": files[0], "line": 1, "ok": True, "iss": PROVIDER, "jti": "p0-0", "seq": 1,
    }  # fmt: skip
    assert results[5] == {
        "file": files[1], "line": 1, "ok": True, "iss": PROVIDER, "jti": "p0-1", "seq": 2,
        "duplicate": True,
    }  # fmt: skip
    assert results[6]["error"] == "replay" and results[6]["ok"] is False
    assert results[6]["message"] == (
        "another receipt under iss https://provider-a.example and jti p0-0 was read first, "
        "at file 1 line 1 (REC-042)"
    )
    assert results[7] == {
        "file": files[1], "line": 3, "ok": False, "error": "chain_break",
        "message": "seq 4 does not continue its stream's chain (REC-043)",
        "iss": PROVIDER, "jti": "p1-3", "seq": 4,
    }  # fmt: skip
    by_line = {r["line"]: r for r in results if r["file"] == files[2]}
    assert by_line[1]["duplicate"] is True and "duplicate" not in by_line[8]
    assert by_line[3] == {
        "file": files[2], "line": 3, "ok": False, "error": "malformed",
        "message": "empty line: each line holds one receipt (REC-070)",
    }  # fmt: skip
    assert by_line[7]["message"] == f"line is longer than {MAX_LINE_BYTES} bytes (REC-071)"
    assert by_line[5]["error"] == "malformed" and by_line[5]["message"] != "rejected: malformed"
    assert [r["ok"] for r in results].count(True) == 5 + 1 + 6
    split = run(files, CONFIG, period=(START, END), iat=END + 4 * DAY, partitions=9)
    assert list(split.line_results()) == results


def test_cli_run_results_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``settle run --results`` writes one JSON line per input line; a results path that is a
    receipt file of the run (matched by the glob, not named on the command line) is refused
    before any work, and the file is left as it was."""
    _write_files(tmp_path, [TOKENS[:12], [*TOKENS[12:], "not a receipt"]])
    (tmp_path / "trust.json").write_text(json.dumps(TRUST), encoding="utf-8")
    (tmp_path / "card.jwt").write_text(CARD_TOKEN, encoding="utf-8")
    (tmp_path / "key.jwk").write_text(json.dumps(KEY.to_jwk()), encoding="utf-8")
    argv = [
        "settle", "run", "--receipts", str(tmp_path / "part-*.jsonl"),
        "--trust", str(tmp_path / "trust.json"), "--rate-card", str(tmp_path / "card.jwt"),
        "--start", str(START), "--end", str(END), "--signing-key", str(tmp_path / "key.jwk"),
        "--out-dir", str(tmp_path / "out"), "--workers", "1", "--at", str(END + 5 * DAY),
    ]  # fmt: skip
    victim = tmp_path / "part-001.jsonl"
    before = victim.read_bytes()
    assert main([*argv, "--results", str(victim)]) == 1
    assert json.loads(capsys.readouterr().err)["error"] == "io_error"
    assert victim.read_bytes() == before and not (tmp_path / "out").exists()
    assert main([*argv, "--results", str(tmp_path / "missing" / "results.jsonl")]) == 1
    error = json.loads(capsys.readouterr().err)
    assert error["error"] == "io_error" and "is not a folder" in error["message"]
    assert not (tmp_path / "out").exists()  # refused before the run wrote anything
    assert main([*argv, "--results", str(tmp_path / "results.jsonl")]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["results"] == str(tmp_path / "results.jsonl")
    lines = (tmp_path / "results.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 25
    last = json.loads(lines[-1])
    assert (last["line"], last["ok"], last["error"]) == (13, False, "malformed")
    assert sum(json.loads(line)["ok"] for line in lines) == 24


def _spread_receipts() -> list[str]:
    """Two streams whose receipts fall before the period (adjustments, SET-012), in it (lines)
    and after it (in no statement), in two models."""
    card = RateCard.from_jws(CARD_TOKEN, TrustStore.from_json(TRUST))
    issuer = ReceiptIssuer(KEY, PROVIDER, card)
    tokens = []
    for i in range(16):
        for n, payer in enumerate(PAYERS):
            usage = {"model": ("qwen-max", "deepseek-r1")[(i + n) % 3 % 2], "meters": {"input": i}}
            iat = T0 + i * (n + 2) * DAY // 2 + n
            tokens.append(issuer.issue(aud=payer, sub=SUB, usage=usage, jti=f"s{n}-{i}", iat=iat))
    return tokens


SPREAD = _spread_receipts()
SPREAD_PERIOD = (T0 + 4 * DAY, T0 + 20 * DAY)


def _ledger_drafts(folder: Path) -> dict[tuple[str, str], Any]:
    """The statements ``build_statement`` makes from a ledger that recorded :data:`SPREAD`."""
    from tokenfed.ledger import SqliteLedger
    from tokenfed.receipts import ReceiptTracker
    from tokenfed.settlement import build_statement

    verifier = CONFIG.build()
    drafts = {}
    with SqliteLedger(folder / "ledger.db") as ledger:
        with ReceiptTracker(ledger).transaction() as tx:
            for token in SPREAD:
                tx.track(verifier.verify(token))
        for number, payer in enumerate(sorted(PAYERS), start=1):
            draft = build_statement(
                ledger, payee=PROVIDER, payer=payer, period=SPREAD_PERIOD,
                statement_id=f"st-{SPREAD_PERIOD[0]}-{number}", seq=1, iat=END + 4 * DAY,
            )  # fmt: skip
            drafts[(PROVIDER, payer)] = (draft.claims, draft.receipt_list)
    return drafts


@settings(max_examples=12, deadline=None, derandomize=True)
@given(
    seed=st.integers(min_value=0, max_value=2**32 - 1),
    parts=st.integers(1, 5),
    ranges=st.integers(0, 9),
)
def test_statements_from_line_sums_equal_the_ledgers(
    tmp_path_factory: pytest.TempPathFactory, seed: int, parts: int, ranges: int
) -> None:
    """SET-012, SET-026, SET-028: the engine adds up each stream's lines and adjustments and
    takes the Merkle leaves its partitions hashed, in chain order; the claims and the receipt
    list equal those ``build_statement`` makes from a ledger of the same receipts, whatever the
    partitioning (files, ranges of lines, duplicates in other files, any order)."""
    folder = tmp_path_factory.mktemp("spread")
    expected = _ledger_drafts(folder)
    files = _write_files(folder, _shuffled_into_files(SPREAD, 4, seed, parts))
    result = run(files, CONFIG, period=SPREAD_PERIOD, iat=END + 4 * DAY, partitions=ranges or None)
    assert result.outcome.duplicates == 4
    got = {pair: (d.claims, d.receipt_list) for pair, d in result.drafts.items()}
    assert got == expected
    claims = [expected[(PROVIDER, payer)][0] for payer in PAYERS]
    assert all(c["adjustments"] and c["lines"] for c in claims)  # both kinds are exercised
    assert sum(c["totals"]["count"] for c in claims) == 16 + 14  # two receipts after the end


def test_outcome_items_are_made_only_when_asked_for(tmp_path: Path) -> None:
    """A run's statements are made from the accepted rows; the receipt items of
    ``Outcome.accepted`` and of a receipt list are made on demand and equal the rows."""
    files = _write_files(tmp_path, [SPREAD])
    result = run(files, CONFIG, period=SPREAD_PERIOD, iat=END + 4 * DAY)
    outcome = result.outcome
    assert outcome._accepted is None
    items = outcome.accepted[(PROVIDER, PAYERS[0])]
    assert [item.seq for item in items] == list(range(1, 17))
    draft = result.drafts[(PROVIDER, PAYERS[1])]
    later = outcome.accepted[(PROVIDER, PAYERS[1])]
    assert [entry["jti"] for entry in draft.receipt_list["receipts"]] == [
        item.jti for item in later if item.iat < SPREAD_PERIOD[1]
    ]
    assert len(draft.receipt_list["receipts"]) == 14
