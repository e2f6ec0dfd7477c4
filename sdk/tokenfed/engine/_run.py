"""Running bulk verify-and-settle serially or on Dask distributed (LocalCluster or a scheduler)."""

from __future__ import annotations

import contextlib
import functools
import glob
import json
import logging
import mmap
import os
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import IO, Any

from ..errors import InternalError, InvalidArgumentsError, IoError, TokenfedError
from ..keys import PrivateKey
from ..ledger import _stored_leaf
from ..receipts import VerifierConfig
from ..receipts._files import (
    BLANKS,
    EMPTY_MESSAGE,
    TOO_LONG_MESSAGE,
    _AtomicOutput,
    _lines,
    _Readable,
)
from ..settlement import Statement, StatementDraft
from ..settlement._statement import statement_from_lines
from ._monoid import (
    Outcome,
    PartitionResult,
    finish,
    line_results,
    statement_items,
    statement_sums,
)

__all__ = [
    "QUIET_DASK",
    "Partition",
    "RunResult",
    "expand",
    "local_cluster",
    "plan_partitions",
    "run",
    "verify_partition",
    "write_results",
    "write_statements",
]

_VERIFIERS: dict[int, Any] = {}


def _verifier(config: VerifierConfig) -> Any:
    """One verifier per process and configuration (built once, rate cards verified once)."""
    key = hash((repr(config.trust), config.rate_cards, config.now, config.clock_skew))
    verifier = _VERIFIERS.get(key)
    if verifier is None:
        verifier = _VERIFIERS[key] = config.build()
    return verifier


Partition = tuple[int, str] | tuple[int, str, int, int | None, int]
"""``(file index, path)``: a whole file; or ``(file index, path, start, end, first line)``: the
lines that start at byte offsets ``start`` to ``end`` (exclusive, ``None`` for the end of the
file), ``start`` being the beginning of line number ``first line``."""


class _Range:
    """The bytes ``[0, size)`` of a file from its current offset, as ``_lines`` reads them."""

    __slots__ = ("_left", "_source")

    def __init__(self, source: IO[bytes], size: int) -> None:
        self._source = source
        self._left = size

    def read(self, size: int) -> bytes:
        if self._left <= 0:
            return b""
        data = self._source.read(min(size, self._left))
        self._left -= len(data)
        return data


def verify_partition(partition: Partition, config: VerifierConfig) -> PartitionResult:
    """Verify every line of one partition (REC-040 steps 1 to 11, REC-070, REC-071).

    ``partition`` is ``(file index, path)`` or a range of whole lines of the file (see
    :data:`Partition`). A pure function of its inputs: re-running it after a worker died
    neither loses nor double-counts a receipt.
    """
    index, path = partition[0], partition[1]
    start, end, first = (0, None, 1) if len(partition) == 2 else partition[2:]
    verifier = _verifier(config)
    result = PartitionResult()
    verify, add_receipt, add_rejection = verifier.verify, result.add_receipt, result.add_rejection
    try:
        with open(path, "rb") as source:
            reader: _Readable = source
            if start or end is not None:
                source.seek(start)
                reader = source if end is None else _Range(source, end - start)
            for number, line in enumerate(_lines(reader), start=first):
                if line is None:  # REC-071
                    add_rejection((index, number), "malformed", TOO_LONG_MESSAGE)
                    continue
                if not line.strip(BLANKS):  # REC-070
                    add_rejection((index, number), "malformed", EMPTY_MESSAGE)
                    continue
                try:
                    checked = verify(line)
                except TokenfedError as exc:
                    add_rejection((index, number), exc.code, exc.message)
                    continue
                add_receipt((index, number), checked.raw, checked.content_digest)
    except OSError as exc:
        raise IoError(f"cannot read {path}: {exc.strerror or exc}") from exc
    return result


_MIN_PART_BYTES = 1 << 18
"""A file is not split into parts smaller than this (256 KiB, a few hundred receipts)."""
_COUNT_BLOCK = 1 << 24


def plan_partitions(
    files: Sequence[str], parts: int, min_bytes: int = _MIN_PART_BYTES
) -> list[Partition]:
    """Split the files into about ``parts`` partitions of whole lines (at least one per file).

    Each file gets a share of ``parts`` by its size, but no part under ``min_bytes``. A part
    starts at the beginning of a line; the lines before it are counted here, so the positions
    its worker reports are the file's own line numbers.
    """
    sizes = []
    for path in files:
        try:
            sizes.append(os.path.getsize(path))
        except OSError as exc:
            raise IoError(f"cannot read {path}: {exc.strerror or exc}") from exc
    total = sum(sizes) or 1
    partitions: list[Partition] = []
    for index, (path, size) in enumerate(zip(files, sizes, strict=True)):
        share = (2 * parts * size + total) // (2 * total)  # parts * size / total, rounded
        count = min(max(share, 1), max(size // max(min_bytes, 1), 1))
        if count <= 1:
            partitions.append((index, path))
            continue
        partitions.extend(_split(index, path, size, count))
    return partitions


def _split(index: int, path: str, size: int, count: int) -> list[Partition]:
    """``count`` ranges of whole lines of one file, each with the number of its first line."""
    bounds = [(0, 1)]
    try:
        with (
            open(path, "rb") as source,
            mmap.mmap(source.fileno(), 0, access=mmap.ACCESS_READ) as data,
        ):
            offset, line = 0, 1
            for target in (size * k // count for k in range(1, count)):
                if target <= offset:
                    continue
                newline = data.find(b"\n", target - 1)
                boundary = size if newline < 0 else newline + 1
                if boundary >= size:
                    break
                for block in range(offset, boundary, _COUNT_BLOCK):
                    line += data[block : min(block + _COUNT_BLOCK, boundary)].count(b"\n")
                offset = boundary
                bounds.append((offset, line))
    except (OSError, ValueError) as exc:
        raise IoError(f"cannot read {path}: {exc}") from exc
    ends: list[int | None] = [start for start, _ in bounds[1:]]
    ends.append(None)
    return [
        (index, path, start, end, line) for (start, line), end in zip(bounds, ends, strict=True)
    ]


def expand(patterns: Sequence[str]) -> list[str]:
    """The files matching the glob patterns, sorted, each once: their order fixes positions."""
    paths = sorted({path for pattern in patterns for path in glob.glob(pattern)})
    if not paths:
        raise InvalidArgumentsError(f"no receipt file matches {', '.join(patterns)}")
    return paths


@dataclass(frozen=True)
class RunResult:
    """Statements per pair, and what was rejected."""

    files: list[str]
    outcome: Outcome
    lines: int
    drafts: dict[tuple[str, str], StatementDraft]
    total: PartitionResult = field(default_factory=PartitionResult, repr=False)
    """The combined partition results the decisions were taken on."""

    def line_results(self) -> Iterator[dict[str, Any]]:
        """One result per line of every file, in file and line order: ``file`` (its path),
        ``line`` (from 1) and what became of it (:func:`~tokenfed.engine.line_results`)."""
        files = self.files
        for (index, number), result in line_results(self.total, self.outcome):
            yield {"file": files[index], "line": number, **result}

    def summary(self) -> dict[str, Any]:
        """Counts for a person and a program."""
        codes: dict[str, int] = {}
        for code in self.outcome.rejected.values():
            codes[code] = codes.get(code, 0) + 1
        return {
            "files": len(self.files),
            "lines": self.lines,
            "accepted": sum(len(v) for v in self.outcome.chains.values()),
            "duplicates": self.outcome.duplicates,
            "rejected": dict(sorted(codes.items())),
            "statements": len(self.drafts),
        }


class _Fold:
    """Folds partition results into one total as they come, and reports each file once all of
    its partitions are done."""

    def __init__(
        self, partitions: Sequence[Partition], progress: Callable[[int, int], None] | None
    ) -> None:
        self.total = PartitionResult()
        self._progress = progress
        self._parts: dict[int, list[int]] = {}  # file index: [partitions left, lines]
        for partition in partitions:
            self._parts.setdefault(partition[0], [0, 0])[0] += 1

    def add(self, partition: Partition, result: PartitionResult) -> None:
        self.total.absorb(result)
        if self._progress is not None:
            left = self._parts[partition[0]]
            left[0] -= 1
            left[1] += result.lines
            if left[0] == 0:
                self._progress(partition[0], left[1])


def _map_serial(
    partitions: Sequence[Partition],
    config: VerifierConfig,
    progress: Callable[[int, int], None] | None,
) -> PartitionResult:
    fold = _Fold(partitions, progress)
    for partition in partitions:
        fold.add(partition, verify_partition(partition, config))
    return fold.total


QUIET_DASK: dict[str, Any] = {
    "distributed.worker.profile.enabled": False,
    "distributed.admin.tick.interval": "1s",
    "distributed.admin.system-monitor.interval": "5s",
    "distributed.worker.memory.monitor-interval": "1s",
    "distributed.scheduler.work-stealing-interval": "500ms",
}
"""Dask settings of the clusters the engine starts: the statistical profiler (a stack sample
every 10 ms in every worker), the 20 ms event-loop tick and the 100 ms monitors are
diagnostics for a dashboard; on two cores they took about a tenth of the CPU the run needs
(measured in ``bench/bench_settlement.py``). A standing cluster is best started with them too
(``dask.config.set(QUIET_DASK)`` around its start, or the same keys in its YAML)."""


def local_cluster(workers: int) -> Any:
    """A Dask ``LocalCluster`` of ``workers`` single-threaded processes with :data:`QUIET_DASK`
    (a context manager: leaving it closes the cluster).

    Dask's own log records below CRITICAL stay off standard error while it runs, in its
    processes and in this one: on close, a worker whose heartbeat meets a scheduler already
    closing logs a traceback at ERROR level (dask/distributed#7192), and what does go wrong
    (a task's error, a worker lost more often than :data:`_RETRIES` allows) reaches the caller
    as the engine's own error."""
    try:
        import dask
        from dask.distributed import LocalCluster
    except ImportError as exc:  # pragma: no cover - depends on the installation
        raise InvalidArgumentsError(
            "the distributed engine needs Dask: pip install 'tokenfed[engine]' (or --workers 1)"
        ) from exc
    with dask.config.set(QUIET_DASK):
        # No dashboard; the scheduler's own HTTP endpoints (health, metrics) on a free loopback
        # port rather than 8787, which another cluster or notebook may hold (Dask then warns).
        return LocalCluster(  # type: ignore[no-untyped-call]
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
            silence_logs=logging.CRITICAL,
        )


@contextlib.contextmanager
def _dask_client(workers: int, scheduler: str | None) -> Iterator[Any]:
    """A Dask client of the cluster at ``scheduler``, or of a :func:`local_cluster` of
    ``workers`` processes started here and closed on leaving."""
    if scheduler is not None:
        try:
            from dask.distributed import Client
        except ImportError as exc:  # pragma: no cover - depends on the installation
            raise InvalidArgumentsError(
                "the distributed engine needs Dask: pip install 'tokenfed[engine]'"
            ) from exc
        with Client(scheduler) as client:  # type: ignore[no-untyped-call]
            yield client
        return
    from dask.distributed import Client

    with local_cluster(workers) as cluster, Client(cluster) as client:  # type: ignore[no-untyped-call]
        yield client


def _map_dask(
    client: Any,
    partitions: Sequence[Partition],
    config: VerifierConfig,
    progress: Callable[[int, int], None] | None,
    function: Callable[[Partition, VerifierConfig], PartitionResult] = verify_partition,
) -> PartitionResult:
    """Verify the partitions on the cluster, folding each result as soon as it arrives (the
    fold overlaps the workers still running)."""
    from dask.distributed import as_completed

    fold = _Fold(partitions, progress)
    config_future = client.scatter(config, broadcast=True)
    futures = client.map(function, partitions, config=config_future, pure=True)
    by_key = {future.key: partition for future, partition in zip(futures, partitions, strict=True)}
    retries: dict[Any, int] = {}
    done = as_completed(futures, with_results=True)  # type: ignore[no-untyped-call]
    for future, result in done:
        partition = by_key.pop(future.key)
        future.release()
        if not isinstance(result, PartitionResult):
            # Cancelled, not failed: a worker died with the task or the data it needed (the
            # scattered configuration on a lost worker). The partition is pure, so it runs
            # again, with the configuration by value, and is counted once.
            retries[partition] = retries.get(partition, 0) + 1
            if retries[partition] > _RETRIES:
                raise InternalError(
                    f"the cluster lost the partition {partition[1]} ({result!r}) "
                    f"{_RETRIES + 1} times; nothing was written"
                )
            again = client.submit(function, partition, config, pure=False)
            by_key[again.key] = partition
            done.add(again)  # type: ignore[no-untyped-call]
            continue
        fold.add(partition, result)
    return fold.total


_RETRIES = 3
"""How often a partition whose task the cluster cancelled (its worker died) is submitted again."""


def _slots(client: Any) -> int:
    """How many tasks the cluster runs at once."""
    threads: int = sum(client.nthreads().values())
    return max(threads, 1)


_PARTS_PER_SLOT = 8
"""Partitions per worker thread: small enough parts that both workers stay busy to the end."""


def run(
    patterns: Sequence[str],
    config: VerifierConfig,
    *,
    period: tuple[int, int],
    iat: int,
    workers: int = 1,
    scheduler: str | None = None,
    partitions: int | None = None,
    grace: int = 259200,
    statement_prefix: str = "st",
    iss: str | None = None,
    progress: Callable[[int, int], None] | None = None,
    seq: int = 1,
    settled: Collection[str] = (),
) -> RunResult:
    """Verify many receipt files and build the period's statement of every pair.

    With ``workers`` 1 and no ``scheduler`` everything runs in this process. Otherwise the files
    are verified on a Dask LocalCluster of ``workers`` processes, or on the existing cluster at
    ``scheduler``, split into ranges of whole lines where they are fewer than eight per worker
    (``partitions`` sets that number instead, serially too). Partition results are combined as
    a monoid, so the statements are the same, byte for byte once signed, whatever the
    partitioning (SET-026: receipts in seq order). ``progress(position, lines)`` is called as
    each file (its position in the sorted list of files) is done, with the number of lines it
    held.

    Every statement is numbered ``seq`` (SET-023: one more than the pair's previous statement;
    1 for a pair's first). Receipts of earlier periods whose content digest is in ``settled``
    (the receipt lists of the pairs' finalized statements) are not adjusted again (SET-012).
    """
    settled_leaves = frozenset(_settled_leaf(digest) for digest in settled)
    files = expand(patterns)
    if scheduler is None and workers <= 1:
        plan = plan_partitions(files, partitions, 1) if partitions else list(enumerate(files))
        total = _map_serial(plan, config, progress)
    else:
        with _dask_client(workers, scheduler) as client:
            if partitions:
                plan = plan_partitions(files, partitions, 1)
            else:
                plan = plan_partitions(files, _PARTS_PER_SLOT * _slots(client))
            total = _map_dask(client, plan, config, progress)
    outcome = finish(total)
    drafts = {}
    for number, ((payee, payer), chain) in enumerate(sorted(outcome.chains.items()), start=1):
        lines, adjustments, leaves = statement_sums(chain, period, settled_leaves)
        drafts[(payee, payer)] = statement_from_lines(
            lines,
            adjustments,
            leaves,
            functools.partial(statement_items, chain, period, settled_leaves),
            payee=payee,
            payer=payer,
            period=period,
            statement_id=f"{statement_prefix}-{period[0]}-{number}",
            seq=seq,
            iat=iat,
            grace=grace,
            iss=iss,
        )
    return RunResult(files, outcome, total.lines, drafts, total)


def _settled_leaf(digest: str) -> bytes:
    """The Merkle leaf hash (SET-026) of a settled receipt's content digest."""
    leaf = _stored_leaf(digest)
    if leaf is None:
        raise ValueError(f"settled holds {digest!r:.80}, not a content digest sha256:<64 hex>")
    return leaf


def write_statements(
    result: RunResult,
    key: PrivateKey,
    folder: str,
    *,
    overwrite: bool = False,
    protected: Sequence[str] = (),
) -> list[str]:
    """Sign every statement and write ``<statement_id>.jwt`` and ``<statement_id>.json``.

    Every target is checked before anything is written: none may be one of the ``protected``
    files (the run's inputs), with ``overwrite`` or without, and none may exist already unless
    ``overwrite`` is set. Each file is written atomically.

    Raises:
        IoError: a target is protected, or exists and ``overwrite`` is not set.
    """
    from ..receipts._files import check_output_path

    targets = []
    for draft in result.drafts.values():
        name = os.path.join(folder, draft.claims["statement_id"])
        targets.append((draft, name + ".json", name + ".jwt"))
    for _, *paths in targets:
        for path in paths:
            try:
                check_output_path(path, protected)
            except IoError:
                raise IoError(
                    f"refusing to write {path}: it is an input of this run; choose another "
                    "output folder",
                    detail={"path": path},
                ) from None
            if not overwrite and os.path.lexists(path):
                raise IoError(
                    f"{path} exists; refusing to overwrite it (use --force to replace it)",
                    detail={"path": path},
                )
    written = []
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError as exc:  # a file of that name, or no permission
        raise IoError(
            f"cannot use {folder} as the output folder: {exc.strerror or exc}",
            detail={"path": folder},
        ) from None
    for draft, listing_path, token_path in targets:
        token = Statement.sign(draft.claims, key)
        _write(listing_path, [json.dumps(draft.receipt_list, indent=1), "\n"])
        _write(token_path, [token, "\n"])
        written.append(token_path)
    return written


def write_results(result: RunResult, path: str) -> int:
    """Write one JSON line per input line (:meth:`RunResult.line_results`) to ``path``, as
    ``tokenfed receipt verify`` writes its results: to a temporary file in the same folder,
    renamed into place (over an earlier results file) once every line has its result.

    Returns:
        The number of lines written.

    Raises:
        IoError: ``path`` cannot be written.
    """
    _write(path, (json.dumps(line, ensure_ascii=False) + "\n" for line in result.line_results()))
    return result.lines


def _write(path: str, text: Iterable[str]) -> None:
    """Write a file atomically: a temporary file beside it, renamed into place when complete,
    and removed if anything fails first."""
    output = _AtomicOutput(path)
    try:
        output.handle.writelines(text)
        output.commit()
    except OSError as exc:
        output.discard()
        raise IoError(f"cannot write {path}: {exc.strerror or exc}") from exc
    except BaseException:
        output.discard()
        raise
