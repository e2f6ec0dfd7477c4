"""Verifying receipt files (JSON Lines, REC-070): streamed, in parallel, with a progress bar.

Workers run the stateless steps 1-11 of REC-040 on chunks of lines; the parent applies the
replay and chain steps in line order and records each chunk in one ledger transaction, so memory
stays flat in the number of receipts and a crash loses at most the chunk in flight.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from collections import Counter, deque
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

from ._decimal import format_decimal
from .errors import IoError, TokenfedError
from .ledger import ReceiptLedger, SqliteLedger
from .receipts import ReceiptVerifier, TrustStore, VerifiedReceipt
from .units import RateCard

__all__ = ["FileSummary", "VerifierConfig", "verify_file"]

_CHUNK_LINES = 512


@dataclass(frozen=True)
class VerifierConfig:
    """What a worker needs to rebuild a verifier: plain data, so it crosses process borders."""

    trust: dict[str, Any]
    rate_cards: tuple[str, ...]
    now: int
    clock_skew: int = 300

    def build(self, ledger: ReceiptLedger | None = None, *, track: bool) -> ReceiptVerifier:
        """A verifier with this trust, these rate cards and a clock frozen at ``now``."""
        return ReceiptVerifier(
            TrustStore.from_json(self.trust),
            [RateCard.parse(text) for text in self.rate_cards],
            ledger=ledger,
            track=track,
            clock_skew=self.clock_skew,
            clock=lambda: self.now,
        )


@dataclass
class FileSummary:
    """Totals of a verified receipt file."""

    lines: int = 0
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    amount: Decimal = Decimal(0)
    first_error: dict[str, Any] | None = None
    elapsed_ms: int = 0

    def to_json(self) -> dict[str, Any]:
        """The summary as JSON; ``amount`` counts each accepted receipt once."""
        return {
            "lines": self.lines,
            "accepted": self.accepted,
            "duplicates": self.duplicates,
            "rejected": self.rejected,
            "errors": dict(sorted(self.errors.items())),
            "amount": format_decimal(self.amount),
            "unit": "UTU",
            "first_error": self.first_error,
        }


_WORKER: ReceiptVerifier | None = None


def _init_worker(config: VerifierConfig) -> None:
    global _WORKER
    _WORKER = config.build(track=False)


def _check_chunk(lines: list[str]) -> list[VerifiedReceipt | dict[str, Any]]:
    assert _WORKER is not None
    return [_check_line(_WORKER, line) for line in lines]


def _check_line(verifier: ReceiptVerifier, line: str) -> VerifiedReceipt | dict[str, Any]:
    try:
        return verifier.check(line)
    except TokenfedError as exc:
        return exc.to_json()


def _chunks(source: IO[str]) -> Iterator[list[str]]:
    chunk: list[str] = []
    for line in source:
        chunk.append(line.rstrip("\n"))
        if len(chunk) == _CHUNK_LINES:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


class _Progress:
    """A one-line progress bar on a terminal's stderr; silent elsewhere."""

    def __init__(self, total_bytes: int | None, enabled: bool) -> None:
        self._total = total_bytes
        self._enabled = enabled
        self._last = 0
        self._start = time.monotonic_ns()

    def update(self, lines: int, done_bytes: int) -> None:
        now = time.monotonic_ns()
        if not self._enabled or now - self._last < 200_000_000:
            return
        self._last = now
        rate = lines * 1_000_000_000 // max(now - self._start, 1)
        if self._total:
            permille = min(done_bytes * 1000 // self._total, 1000)
            bar = "#" * (permille * 30 // 1000)
            text = f"\r[{bar:<30}] {permille // 10:3d}% {lines} receipts {rate:,}/s"
        else:
            text = f"\r{lines} receipts {rate:,}/s"
        sys.stderr.write(text)
        sys.stderr.flush()

    def close(self) -> None:
        if self._enabled:
            sys.stderr.write("\n")
            sys.stderr.flush()


def verify_file(
    source: str | Path,
    results: str | Path,
    config: VerifierConfig,
    *,
    ledger: ReceiptLedger | None = None,
    workers: int | None = None,
    progress: bool | None = None,
) -> FileSummary:
    """Verify a receipt file line by line and write one result line per input line (REC-070).

    Args:
        source: the JSON Lines file (``-`` for standard input).
        results: where to write the per-line results (JSON Lines).
        config: the verifier's trust, rate cards and clock.
        ledger: records accepted receipts, one transaction per chunk of lines (REC-045).
            Without one, a temporary SQLite ledger holds the replay and chain state, so memory
            stays flat however many receipts the file has; it is deleted afterwards.
        workers: processes for the stateless checks; default: every core; 1 = in process.
        progress: show a progress bar; default: when standard error is a terminal.
    """
    started = time.monotonic_ns()
    workers = (os.cpu_count() or 1) if workers is None else max(1, workers)
    show = sys.stderr.isatty() if progress is None else progress
    summary = FileSummary()
    from_stdin = str(source) == "-"
    bar = _Progress(None if from_stdin else _size(source), show)
    done_bytes = 0
    try:
        with ExitStack() as stack:
            if ledger is None:
                scratch = stack.enter_context(tempfile.TemporaryDirectory(prefix="tokenfed-"))
                ledger = stack.enter_context(SqliteLedger(Path(scratch) / "state.db"))
            tracker = config.build(ledger, track=True)
            handle = (
                sys.stdin if from_stdin else stack.enter_context(open(source, encoding="utf-8"))
            )
            out = stack.enter_context(open(results, "w", encoding="utf-8"))
            for chunk, checked in _checked_chunks(handle, config, workers):
                done_bytes += sum(len(line) + 1 for line in chunk)
                _apply(tracker, checked, summary, out)
                bar.update(summary.lines, done_bytes)
    except OSError as exc:
        raise IoError(
            f"cannot read or write receipts ({exc.filename}): {exc.strerror or exc}"
        ) from exc
    except UnicodeDecodeError:
        raise IoError(f"{source} is not UTF-8 text") from None
    finally:
        bar.close()
    summary.elapsed_ms = (time.monotonic_ns() - started) // 1_000_000
    return summary


def _size(path: str | Path) -> int | None:
    try:
        return os.path.getsize(path)
    except OSError:
        return None


def _checked_chunks(
    handle: IO[str], config: VerifierConfig, workers: int
) -> Iterator[tuple[list[str], list[VerifiedReceipt | dict[str, Any]]]]:
    """Yield (lines, stateless results) chunk by chunk, in order, keeping few chunks in flight."""
    if workers == 1:
        verifier = config.build(track=False)
        for chunk in _chunks(handle):
            yield chunk, [_check_line(verifier, line) for line in chunk]
        return
    with ProcessPoolExecutor(
        max_workers=workers, initializer=_init_worker, initargs=(config,)
    ) as pool:
        pending: deque[tuple[list[str], Future[list[VerifiedReceipt | dict[str, Any]]]]] = deque()
        for chunk in _chunks(handle):
            pending.append((chunk, pool.submit(_check_chunk, chunk)))
            if len(pending) >= 2 * workers:
                lines, future = pending.popleft()
                yield lines, future.result()
        while pending:
            lines, future = pending.popleft()
            yield lines, future.result()


def _apply(
    tracker: ReceiptVerifier,
    checked: list[VerifiedReceipt | dict[str, Any]],
    summary: FileSummary,
    out: IO[str],
) -> None:
    """Replay and chain checks in line order, one ledger transaction, then the result lines."""
    rows: list[dict[str, Any]] = []
    for result in checked:
        summary.lines += 1
        row: dict[str, Any] = {"line": summary.lines}
        if isinstance(result, VerifiedReceipt):
            try:
                result = tracker.track(result)
            except TokenfedError as exc:
                result = exc.to_json()
        if isinstance(result, VerifiedReceipt):
            row.update(ok=True, **result.to_json())
        else:
            row.update(ok=False, **result)
        rows.append(row)
    try:
        tracker.commit()
    except TokenfedError as exc:
        # Another writer changed a stream of this chunk: none of it was recorded (REC-045).
        tracker.rollback()
        for row in rows:
            if row["ok"]:
                line = row["line"]
                row.clear()
                row.update(line=line, ok=False, **exc.to_json())
    for row in rows:
        if row["ok"]:
            if row.get("duplicate"):
                summary.duplicates += 1
            else:
                summary.accepted += 1
                summary.amount += Decimal(row["amount"])
        else:
            summary.rejected += 1
            summary.errors[row["error"]] += 1
            if summary.first_error is None:
                summary.first_error = {
                    "line": row["line"],
                    "error": row["error"],
                    "message": row["message"],
                }
        out.write(json.dumps(row, ensure_ascii=False) + "\n")
