"""Running bulk verify-and-settle serially or on Dask distributed (LocalCluster or a scheduler)."""

from __future__ import annotations

import glob
import json
import os
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import InvalidArgumentsError, IoError, TokenfedError
from ..keys import PrivateKey
from ..receipts import VerifierConfig
from ..receipts._files import _lines
from ..settlement import Statement, StatementDraft, build_statement
from ._monoid import Outcome, PartitionResult, finish

__all__ = ["RunResult", "expand", "run", "verify_partition", "write_statements"]

_VERIFIERS: dict[int, Any] = {}


def _verifier(config: VerifierConfig) -> Any:
    """One verifier per process and configuration (built once, rate cards verified once)."""
    key = hash((repr(config.trust), config.rate_cards, config.now, config.clock_skew))
    verifier = _VERIFIERS.get(key)
    if verifier is None:
        verifier = _VERIFIERS[key] = config.build()
    return verifier


def verify_partition(partition: tuple[int, str], config: VerifierConfig) -> PartitionResult:
    """Verify every line of one file (REC-040 steps 1 to 11, REC-070, REC-071).

    ``partition`` is ``(file index, path)``. A pure function of its inputs: re-running it after
    a worker died neither loses nor double-counts a receipt.
    """
    index, path = partition
    verifier = _verifier(config)
    result = PartitionResult()
    try:
        with open(path, "rb") as source:
            for number, (line, _) in enumerate(_lines(source), start=1):
                if line is None or not line.strip(b" \t"):  # REC-071, REC-070
                    result.add_rejection((index, number), "malformed")
                    continue
                try:
                    checked = verifier.verify(line)
                except TokenfedError as exc:
                    result.add_rejection((index, number), exc.code)
                    continue
                result.add_receipt((index, number), checked.raw, checked.content_digest)
    except OSError as exc:
        raise IoError(f"cannot read {path}: {exc.strerror or exc}") from exc
    return result


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

    def summary(self) -> dict[str, Any]:
        """Counts for a person and a program."""
        codes: dict[str, int] = {}
        for code in self.outcome.rejected.values():
            codes[code] = codes.get(code, 0) + 1
        return {
            "files": len(self.files),
            "lines": self.lines,
            "accepted": sum(len(v) for v in self.outcome.accepted.values()),
            "duplicates": self.outcome.duplicates,
            "rejected": dict(sorted(codes.items())),
            "statements": len(self.drafts),
        }


def _map_serial(
    partitions: list[tuple[int, str]],
    config: VerifierConfig,
    progress: Callable[[int, int], None] | None,
) -> list[PartitionResult]:
    results = []
    for partition in partitions:
        results.append(verify_partition(partition, config))
        if progress is not None:
            progress(partition[0], results[-1].lines)
    return results


def _map_dask(
    partitions: list[tuple[int, str]],
    config: VerifierConfig,
    workers: int,
    scheduler: str | None,
    progress: Callable[[int, int], None] | None,
    function: Callable[[tuple[int, str], VerifierConfig], PartitionResult] = verify_partition,
) -> list[PartitionResult]:
    try:
        from dask.distributed import Client, LocalCluster, as_completed
    except ImportError as exc:  # pragma: no cover - depends on the installation
        raise InvalidArgumentsError(
            "the distributed engine needs Dask: pip install 'tokenfed[engine]' (or --workers 1)"
        ) from exc
    cluster = None
    if scheduler is None:
        cluster = LocalCluster(  # type: ignore[no-untyped-call]
            n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None
        )
    try:
        with Client(cluster if cluster is not None else scheduler) as client:  # type: ignore[no-untyped-call]
            futures = client.map(function, partitions, config=config, pure=True)
            by_future = {future.key: i for i, future in enumerate(futures)}
            results: list[PartitionResult | None] = [None] * len(futures)
            for future in as_completed(futures):  # type: ignore[no-untyped-call]
                position = by_future[future.key]
                done = results[position] = future.result()
                if progress is not None:
                    progress(position, done.lines)
    finally:
        if cluster is not None:
            cluster.close()
    return [result for result in results if result is not None]


def run(
    patterns: Sequence[str],
    config: VerifierConfig,
    *,
    period: tuple[int, int],
    iat: int,
    workers: int = 1,
    scheduler: str | None = None,
    grace: int = 259200,
    statement_prefix: str = "st",
    iss: str | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> RunResult:
    """Verify many receipt files and build the period's statement of every pair.

    With ``workers`` 1 and no ``scheduler`` everything runs in this process. Otherwise the files
    are verified on a Dask LocalCluster of ``workers`` processes, or on the existing cluster at
    ``scheduler``. Partition results are combined as a monoid, so the statements are the same,
    byte for byte once signed, whatever the partitioning (SET-026: receipts in seq order).
    ``progress(position, lines)`` is called as each file (its position in the sorted list of
    files) is done, with the number of lines it held.
    """
    files = expand(patterns)
    partitions = list(enumerate(files))
    if scheduler is None and workers <= 1:
        results = _map_serial(partitions, config, progress)
    else:
        results = _map_dask(partitions, config, workers, scheduler, progress)
    total = PartitionResult()
    for result in results:
        total.absorb(result)
    outcome = finish(total)
    drafts = {}
    for number, ((payee, payer), items) in enumerate(sorted(outcome.accepted.items()), start=1):
        drafts[(payee, payer)] = build_statement(
            items,
            payee=payee,
            payer=payer,
            period=period,
            statement_id=f"{statement_prefix}-{period[0]}-{number}",
            seq=1,
            iat=iat,
            grace=grace,
            iss=iss,
        )
    return RunResult(files, outcome, total.lines, drafts)


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
    os.makedirs(folder, exist_ok=True)
    for draft, listing_path, token_path in targets:
        token = Statement.sign(draft.claims, key)
        _write(listing_path, json.dumps(draft.receipt_list, indent=1) + "\n")
        _write(token_path, token + "\n")
        written.append(token_path)
    return written


def _write(path: str, text: str) -> None:
    """Write a file atomically (a temporary file renamed into place)."""
    folder = os.path.dirname(path) or "."
    try:
        fd, temp = tempfile.mkstemp(dir=folder, prefix=".tokenfed.", suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except OSError as exc:
        raise IoError(f"cannot write {path}: {exc.strerror or exc}") from exc
