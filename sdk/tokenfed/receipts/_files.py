"""Verifying receipt files (JSON Lines, REC-070): streamed, in parallel, one result per line.

The file is read as bytes, line by line, each line capped at :data:`MAX_LINE_BYTES`: a line is
decoded by the strict parsers on its own, so one bad line (invalid UTF-8, binary garbage, an
over-long line, an empty line) gets its own ``malformed`` result and every other line is still
verified. Worker processes run the stateless steps (REC-040 steps 1-11, REC-062 steps 1-5) on
chunks of lines; the parent applies replay and chain (steps 12 and 13) in line order and records
a group of chunks in one ledger transaction (at least ``_GROUP_RECEIPTS`` lines, or the chunks
that arrived within ``_GROUP_NS``, and the rest at the end), so memory stays flat in the
file's length and a crash loses at most the group in flight, never part of one (REC-045). Results
go to a temporary file renamed into place at the end, after the last group's commit.
"""

from __future__ import annotations

import contextlib
import json
import multiprocessing
import multiprocessing.context
import os
import signal
import sys
import tempfile
import threading
import time
from collections import Counter, deque
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from decimal import Decimal
from json.encoder import encode_basestring as _string  # what json.dumps(ensure_ascii=False) uses
from pathlib import Path
from typing import IO, Any, Protocol

from .._decimal import format_decimal, from_scaled
from .._pricing import AMOUNT_PLACES
from .._progress import Progress
from .._ratecard import RateCard
from ..errors import ChainBreakError, InvalidSignatureError, IoError, ReplayError, TokenfedError
from ..ledger import ReceiptLedger, SqliteLedger
from ..trust import KeySource, TrustStore
from ._tracker import ReceiptTracker, TrackerTransaction, receipt_row
from ._verifier import (
    _RECEIPT_SIGNATURE_FAILS,
    DEFAULT_CLOCK_SKEW,
    ReceiptVerifier,
    VerifiedReceipt,
)

__all__ = ["MAX_LINE_BYTES", "FileSummary", "VerifierConfig", "verify_file"]

MAX_LINE_BYTES = 65536
"""Longest line of a receipt file, without its line end (REC-071): a longer line is
``malformed`` and no more than this many bytes of it are held in memory."""

_CHUNK_LINES = 512
_COMMIT_RETRIES = 3

_GROUP_RECEIPTS = 4096
"""Lines whose receipts are recorded in one ledger transaction (REC-045), for a
:class:`SqliteLedger`: each chunk is tracked and inserted when it arrives, inside its group's
transaction, and the group is committed once it holds at least this many lines (whole chunks),
or ``_GROUP_NS`` after it began, and at the end of the file. A commit syncs the ledger's
log (``synchronous=FULL``), so fewer, larger transactions write and sync less per receipt; a
crash loses the receipts of the group not yet committed, never part of a group."""

_GROUP_NS = 1_000_000_000
"""The longest a group stays open (see ``_GROUP_RECEIPTS``); checked when a chunk arrives."""


@dataclass(frozen=True)
class VerifierConfig:
    """What a verifier is built from, as plain data that crosses process borders.

    Attributes:
        trust: the trust-store document (it also serves the rate cards' keys, UNIT-031), or
            ``None`` in federation mode.
        rate_cards: rate-card JWS texts; each is verified with ``trust`` when a verifier is built.
        now: the verifier's clock, frozen for the whole file.
        clock_skew: seconds an ``iat`` may lie in the future (REC-041).
        federation: federation mode instead of a trust store: ``{"anchors": [{"entity_id",
            "jwks"}, ...], "origin_map": {...}}``; each process resolves issuers through the
            pinned anchors (statement times on the system clock, receipts at ``now``).
    """

    trust: dict[str, Any] | None
    rate_cards: tuple[str, ...]
    now: int
    clock_skew: int = DEFAULT_CLOCK_SKEW
    federation: dict[str, Any] | None = None

    def key_source(self) -> KeySource:
        """The trust store, or a :class:`~tokenfed.federation.FederationTrust` in federation
        mode (its resolver stops when it is garbage collected)."""
        if self.federation is None:
            if self.trust is None:
                raise ValueError("a VerifierConfig needs a trust store or a federation")
            return TrustStore.from_json(self.trust)
        from ..federation import FederationTrust, Resolver, TrustAnchor

        anchors = [
            TrustAnchor.from_jwks(anchor["entity_id"], anchor["jwks"])
            for anchor in self.federation["anchors"]
        ]
        resolver = Resolver(anchors, origin_map=self.federation.get("origin_map"))
        return FederationTrust(resolver)

    def build(self) -> ReceiptVerifier:
        """A verifier with this trust, these rate cards (verified) and a clock frozen at ``now``.

        Raises:
            TokenfedError: the trust store or a rate card is rejected (with its code).
        """
        trust = self.key_source()
        cards = [RateCard.parse(text, trust) for text in self.rate_cards]
        return ReceiptVerifier(trust, cards, clock_skew=self.clock_skew, clock=lambda: self.now)


@dataclass
class _Total:
    count: int = 0
    micro: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "receipts": self.count,
            "amount": format_decimal(from_scaled(self.micro, AMOUNT_PLACES)),
        }


@dataclass
class FileSummary:
    """Totals of a verified receipt file; amounts are exact sums (integers of 10^-6 UTU).

    Attributes:
        lines: lines read (each has exactly one result line).
        accepted: receipts verified and recorded (each counted once).
        duplicates: identical resubmissions (REC-042), valid but not counted again.
        rejected: lines rejected, with their codes in ``errors``.
        micro_amount: the sum of the accepted receipts' amounts in 10^-6 UTU.
    """

    lines: int = 0
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    micro_amount: int = 0
    first_error: dict[str, Any] | None = None
    elapsed_ms: int = 0
    streams: dict[tuple[str, str], _Total] = field(default_factory=dict)
    models: dict[str, _Total] = field(default_factory=dict)

    @property
    def amount(self) -> Decimal:
        """The exact sum of the accepted receipts' amounts, in UTU."""
        return from_scaled(self.micro_amount, AMOUNT_PLACES)

    def to_json(self, *, totals: bool = False) -> dict[str, Any]:
        """The summary as JSON; with ``totals``, the totals per stream and per model as well."""
        body: dict[str, Any] = {
            "lines": self.lines,
            "accepted": self.accepted,
            "duplicates": self.duplicates,
            "rejected": self.rejected,
            "errors": dict(sorted(self.errors.items())),
            "amount": format_decimal(self.amount),
            "unit": "UTU",
            "first_error": self.first_error,
        }
        if totals:
            body["streams"] = [
                {"iss": iss, "aud": aud, **total.to_json()}
                for (iss, aud), total in sorted(self.streams.items())
            ]
            body["models"] = [
                {"model": model, **total.to_json()} for model, total in sorted(self.models.items())
            ]
        return body

    def _count(self, iss: str, aud: str, model_id: str, micro: int, count: int = 1) -> None:
        """Count ``count`` accepted receipts of one stream and model, ``micro`` in all."""
        self.accepted += count
        self.micro_amount += micro
        key = (iss, aud)
        stream = self.streams.get(key)
        if stream is None:
            stream = self.streams[key] = _Total()
        model = self.models.get(model_id)
        if model is None:
            model = self.models[model_id] = _Total()
        for total in (stream, model):
            total.count += count
            total.micro += micro


# -- workers ---------------------------------------------------------------------------------

_WORKER: ReceiptVerifier | None = None
_PR_SET_PDEATHSIG = 1


def _die_with_parent(parent: int) -> None:
    """Make this worker exit when the parent process dies, even by SIGKILL.

    On Linux the kernel sends SIGKILL (prctl PR_SET_PDEATHSIG); everywhere a watchdog thread also
    checks the parent once a second.
    """
    with contextlib.suppress(OSError, AttributeError):
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # the parent died before the line above
        os._exit(1)

    def watch() -> None:
        while True:
            time.sleep(1)
            if os.getppid() != parent:
                os._exit(1)

    threading.Thread(target=watch, name="tokenfed-parent-watch", daemon=True).start()


def _init_worker(config: VerifierConfig, parent: int) -> None:
    global _WORKER
    _die_with_parent(parent)
    _WORKER = config.build()


# What crosses from a worker to the parent: compact tuples, with the result row's JSON and the
# ledger row already written, so that the parent only orders, tracks, records and writes
# (ADR 0010).
# A verified receipt: (True, ledger row, prev, result row members, amount in 10^-6 UTU). The
#   ledger row (receipt_row) holds what steps 12 and 13 read: iss, jti, aud, seq, content
#   digest; and what the summary counts: the model.
# A rejected line: (False, code, message, result row members).
_Checked = tuple[Any, ...]


def _check_chunk(lines: list[bytes | None]) -> list[_Checked]:
    assert _WORKER is not None
    return [_check_line(_WORKER, line) for line in lines]


def _members(body: dict[str, Any]) -> str:
    """The members of a result row, as ``json.dumps`` writes them inside the braces."""
    return json.dumps(body, ensure_ascii=False)[1:-1]


def _verified_members(verified: VerifiedReceipt) -> str:
    """``_members(verified.to_json())``, written without building the dictionary: the same
    members in the same order, strings escaped by the function ``json.dumps`` uses."""
    if verified.origin is not None or verified.duplicate:
        return _members(verified.to_json())
    raw = verified.raw
    text = (
        f'"iss": {_string(raw["iss"])}, "aud": {_string(raw["aud"])}, '
        f'"jti": {_string(raw["jti"])}, "seq": {int.__repr__(raw["seq"])}, '
        f'"amount": {_string(raw["amount"])}, '
        f'"content_digest": {_string(verified.content_digest)}'
    )
    if verified.batch_id is not None:
        text += f', "batch_id": {_string(verified.batch_id)}'
    return text


def _rejected(error: dict[str, Any]) -> _Checked:
    return (False, error["error"], error["message"], _members(error))


TOO_LONG_MESSAGE = f"line is longer than {MAX_LINE_BYTES} bytes (REC-071)"
EMPTY_MESSAGE = "empty line: each line holds one receipt (REC-070)"
_TOO_LONG = _rejected({"error": "malformed", "message": TOO_LONG_MESSAGE})
_EMPTY = _rejected({"error": "malformed", "message": EMPTY_MESSAGE})


BLANKS = b" \t\r"
"""What is not part of the receipt a line holds, at its start and end (REC-070); a line of only
these is empty. (The verifier strips them, and LF, which a line never holds, from a receipt.)"""


_BAD_SIGNATURE = _rejected(InvalidSignatureError(_RECEIPT_SIGNATURE_FAILS).to_json())


def _check_line(verifier: ReceiptVerifier, line: bytes | None) -> _Checked:
    if line is None:
        return _TOO_LONG
    data = line.strip(BLANKS)
    if not data:
        return _EMPTY
    if data[:1] != b"{":
        # A JWS receipt the hot module can vouch for gives its result whole; else the
        # verifier's answer is made into one below (the same result).
        found = verifier._file_result(data)
        if found is not None:
            return _BAD_SIGNATURE if found is False else found
    try:
        verified = verifier.verify(data)
    except TokenfedError as exc:
        return _rejected(exc.to_json())
    micro = verified.micro_amount
    return (
        True,
        receipt_row(verified, micro),
        verified.raw.get("prev"),
        _verified_members(verified),
        micro,
    )


# -- reading ---------------------------------------------------------------------------------


_READ_BYTES = 1 << 18
"""The most read from the source at a time (``read1``: what is there, up to this)."""


class _Readable(Protocol):
    """What the reader needs of a source: ``read(size)``, giving ``b""`` at its end (a
    ``read1`` is used instead where there is one)."""

    def read(self, size: int, /) -> bytes: ...


def _lines(source: _Readable) -> Iterator[bytes | None]:
    """Each line of ``source``, as :func:`_chunks` gives them."""
    for chunk, _ in _chunks(source):
        yield from chunk


def _chunks(source: _Readable) -> Iterator[tuple[list[bytes | None], int]]:
    """The file's lines in chunks of ``_CHUNK_LINES``, with the bytes each chunk took.

    A line is its bytes up to an LF, without one CR just before the LF (REC-070), or ``None``
    when it is longer than :data:`MAX_LINE_BYTES`; a last line without an LF is a line. The
    source is read in blocks and split at each LF; of a line that spans blocks no more than
    ``MAX_LINE_BYTES + 1`` bytes are carried to the next block, the rest of an over-long line
    being only counted (REC-071)."""
    read = getattr(source, "read1", source.read)
    limit = MAX_LINE_BYTES
    chunk: list[bytes | None] = []
    size = 0
    head = b""  # the start of a line that began in an earlier block
    head_size = 0  # the bytes of that line read so far, those skipped included
    too_long = False  # that line is already longer than a line can be
    while block := read(_READ_BYTES):
        pieces = block.split(b"\n")
        last = pieces.pop()  # the start of a line that ends in a later block, or b""
        for piece in pieces:
            taken = len(piece) + 1
            if head_size:
                taken += head_size
                piece = b"" if too_long else head + piece
                head, head_size = b"", 0
            if piece.endswith(b"\r"):
                piece = piece[:-1]
            if too_long or len(piece) > limit:
                chunk.append(None)
                too_long = False
            else:
                chunk.append(piece)
            size += taken
            if len(chunk) == _CHUNK_LINES:
                yield chunk, size
                chunk, size = [], 0
        if last:
            head_size += len(last)
            if not too_long:
                head += last
                if len(head) > limit + 1:
                    head, too_long = b"", True
    if head_size:  # the last line, without a line end: its CR counts towards its length
        if too_long or len(head) > limit:
            chunk.append(None)
        else:
            chunk.append(head[:-1] if head.endswith(b"\r") else head)
        size += head_size
    if chunk:
        yield chunk, size


# -- output safety ---------------------------------------------------------------------------


def _identity(path: str | os.PathLike[str]) -> tuple[Path, tuple[int, int] | None]:
    resolved = Path(path).resolve()
    try:
        stat = resolved.stat()
    except OSError:
        return resolved, None
    return resolved, (stat.st_dev, stat.st_ino)


def check_output_path(
    output: str | os.PathLike[str], protected: Iterable[str | os.PathLike[str]]
) -> None:
    """Refuse an output path that is one of the ``protected`` paths (an input, a ledger, a state
    file), comparing resolved paths and, where the files exist, device and inode numbers.

    Raises:
        IoError: ``output`` would overwrite a protected file.
    """
    out_path, out_id = _identity(output)
    for path in protected:
        if str(path) == "-":
            continue
        other_path, other_id = _identity(path)
        for suffix in ("", "-wal", "-shm", "-journal"):
            if out_path == Path(str(other_path) + suffix):
                break
        else:
            if out_id is None or out_id != other_id:
                continue
        raise IoError(
            f"refusing to write results to {output}: it is {path}, an input, ledger or state "
            "file that would be overwritten; choose another --results path",
            detail={"path": str(output)},
        )


class _AtomicOutput:
    """A text file written under a temporary name beside its target and renamed into place."""

    def __init__(self, target: str | os.PathLike[str]) -> None:
        self._target = Path(target)
        folder = self._target.parent if str(self._target.parent) else Path(".")
        try:
            fd, self._temp = tempfile.mkstemp(
                dir=folder, prefix=f".{self._target.name}.", suffix=".tmp"
            )
        except OSError as exc:
            raise IoError(f"cannot write in {folder}: {exc.strerror or exc}") from exc
        self.handle = os.fdopen(fd, "w", encoding="utf-8")

    def commit(self) -> None:
        self.handle.flush()
        os.fsync(self.handle.fileno())
        self.handle.close()
        os.replace(self._temp, self._target)

    def discard(self) -> None:
        self.handle.close()
        with contextlib.suppress(OSError):
            os.unlink(self._temp)


# -- the procedure ---------------------------------------------------------------------------


def verify_file(
    source: str | os.PathLike[str],
    results: str | os.PathLike[str],
    config: VerifierConfig,
    *,
    ledger: ReceiptLedger | None = None,
    workers: int | None = None,
    progress: bool | None = None,
    protected: Sequence[str | os.PathLike[str]] = (),
) -> FileSummary:
    """Verify a receipt file line by line and write one result line per input line (REC-070).

    Args:
        source: the JSON Lines file (``-`` for standard input), read as bytes.
        results: where to write the per-line results (JSON Lines). Written to a temporary file
            and renamed into place when every line has its result.
        config: the verifier's trust, rate cards and clock.
        ledger: records accepted receipts, one transaction per group of lines (REC-045,
            ``_GROUP_RECEIPTS``).
            Without one, a temporary SQLite ledger holds the replay and chain state, so memory
            stays flat however many receipts the file has; it is deleted afterwards.
        workers: processes for the stateless checks (>= 1; default: every core; 1 = in process).
        progress: show a progress bar; default: when standard error is a terminal.
        protected: further paths ``results`` must not be (the ledger's file, a state file).

    Raises:
        IoError: a file cannot be read or written, or ``results`` is the source or a protected
            path (checked before anything is written).
        TokenfedError: the trust store or a rate card of ``config`` is rejected.
        ValueError: ``workers`` below 1.
    """
    if workers is not None and workers < 1:
        raise ValueError("workers must be at least 1")
    started = time.monotonic_ns()
    workers = workers or (os.cpu_count() or 1)
    from_stdin = str(source) == "-"
    check_output_path(results, [source, *protected])
    config.build()  # a bad trust store or rate card is reported once, before any work
    show = sys.stderr.isatty() if progress is None else progress
    summary = FileSummary()
    total = None if from_stdin else _size(source)
    bar = Progress(total, show)
    done_bytes = 0
    output: _AtomicOutput | None = None
    try:
        with ExitStack() as stack:
            if ledger is None:
                scratch = stack.enter_context(tempfile.TemporaryDirectory(prefix="tokenfed-"))
                ledger = stack.enter_context(SqliteLedger(Path(scratch) / "state.db"))
            tracker = ReceiptTracker(ledger)
            handle = sys.stdin.buffer if from_stdin else stack.enter_context(open(source, "rb"))
            output = _AtomicOutput(results)
            groups = _Groups(ledger)
            stack.callback(groups.abandon)  # an exception leaves nothing of the open group
            for checked, size in _checked_chunks(handle, config, workers, total):
                groups.begin()
                done_bytes += size
                _apply(tracker, checked, summary, output.handle)
                groups.count(len(checked))
                bar.update(summary.lines, done_bytes)
            groups.commit()
            output.commit()
            output = None
    except OSError as exc:
        raise IoError(
            f"cannot read or write receipts ({exc.filename}): {exc.strerror or exc}"
        ) from exc
    finally:
        if output is not None:
            output.discard()
        bar.close()
    summary.elapsed_ms = (time.monotonic_ns() - started) // 1_000_000
    return summary


class _Groups:
    """Chunks recorded in one ledger transaction per group (``_GROUP_RECEIPTS``), for a
    :class:`SqliteLedger`: each chunk is tracked and inserted as it arrives, inside the
    group's transaction, and the group commits once it holds ``_GROUP_RECEIPTS`` lines or
    ``_GROUP_NS`` after it began. Any other ledger records each chunk in its own
    transaction, as the tracker does."""

    def __init__(self, ledger: ReceiptLedger) -> None:
        self._ledger = (
            ledger
            if isinstance(ledger, SqliteLedger) and type(ledger).record is SqliteLedger.record
            else None
        )
        self._open: ExitStack | None = None
        self._lines = 0
        self._began = 0

    def begin(self) -> None:
        """Open a group's transaction unless one is open."""
        if self._ledger is None or self._open is not None:
            return
        group = ExitStack()
        group.enter_context(self._ledger._group())
        self._open, self._lines, self._began = group, 0, time.monotonic_ns()

    def count(self, lines: int) -> None:
        """Count a chunk's lines into the open group; commit it when it is full or old."""
        self._lines += lines
        if self._lines >= _GROUP_RECEIPTS or time.monotonic_ns() - self._began >= _GROUP_NS:
            self.commit()

    def commit(self) -> None:
        """Commit the open group, if any.

        Raises:
            IoError: SQLite could not commit; nothing of the group is recorded.
        """
        group, self._open = self._open, None
        if group is not None:
            group.close()

    def abandon(self) -> None:
        """Roll the open group back (after an exception), if any."""
        group, self._open = self._open, None
        if group is not None:
            group.__exit__(RuntimeError, RuntimeError("abandoned"), None)


def _size(path: str | os.PathLike[str]) -> int | None:
    try:
        return os.path.getsize(path)
    except OSError:
        return None


def _pool_context() -> multiprocessing.context.BaseContext | None:
    """Fork the workers on Linux when this process has no other thread: a forked worker has
    the SDK imported and its models built already, where a ``forkserver`` or
    ``spawn`` worker (the default from Python 3.14) would import the SDK again. Otherwise the
    platform's default (forking a process with threads is unsafe)."""
    if sys.platform == "linux" and threading.active_count() == 1:
        return multiprocessing.get_context("fork")
    return None


_TAIL_PARTS = 4
"""Chunks that end within ``_TAIL_PARTS`` chunks' worth of bytes of the end of a file of known
size are sent to the workers in this many parts: the workers then run out of lines together,
instead of one waiting while the other verifies the last whole chunk."""


def _checked_chunks(
    handle: IO[bytes], config: VerifierConfig, workers: int, total: int | None = None
) -> Iterator[tuple[list[_Checked], int]]:
    """Yield (stateless results, bytes read) chunk by chunk, in order, few chunks in flight;
    near the end of a file of ``total`` bytes, in parts of chunks (``_TAIL_PARTS``)."""
    if workers == 1:
        verifier = config.build()
        for chunk, size in _chunks(handle):
            yield [_check_line(verifier, line) for line in chunk], size
        return
    with ProcessPoolExecutor(
        max_workers=workers,
        mp_context=_pool_context(),
        initializer=_init_worker,
        initargs=(config, os.getpid()),
    ) as pool:
        pending: deque[tuple[Future[list[_Checked]], int]] = deque()
        read = 0
        for chunk, size in _chunks(handle):
            read += size
            parts = [chunk]
            if total is not None and total - read < _TAIL_PARTS * size:
                step = -(-len(chunk) // _TAIL_PARTS)
                parts = [chunk[start : start + step] for start in range(0, len(chunk), step)]
            for index, part in enumerate(parts, 1):  # the bytes count with the last part
                taken = size if index == len(parts) else 0
                pending.append((pool.submit(_check_chunk, part), taken))
            while len(pending) >= 2 * workers:
                future, taken = pending.popleft()
                yield future.result(), taken
        while pending:
            future, taken = pending.popleft()
            yield future.result(), taken


def _track_chunk(tracker: ReceiptTracker, checked: list[_Checked]) -> list[_Checked]:
    """Steps 12 and 13 for a chunk in line order, recorded in one transaction (REC-045), or in
    the open group's transaction (``_Groups``).

    A duplicate comes back with the member ``"duplicate": true`` added to its row and no
    amount; a receipt the tracker refuses comes back rejected.

    When another verifier sharing the ledger recorded into one of the chunk's streams meanwhile
    (REC-047), the chunk is tracked again against the new state, so receipts the other verifier
    recorded identically are reported as duplicates rather than chain breaks.
    """
    for _attempt in range(_COMMIT_RETRIES):
        tracked: list[_Checked] = []
        try:
            with tracker.transaction() as tx:
                tx._prefetch([(result[1][0], result[1][1]) for result in checked if result[0]])
                tracked = [_track_one(tx, result) for result in checked]
        except (ChainBreakError, ReplayError) as exc:
            conflict = exc
            continue
        return tracked
    error = _rejected(conflict.to_json())
    return [error if result[0] else result for result in checked]


def _track_one(tx: TrackerTransaction, result: _Checked) -> _Checked:
    if not result[0]:
        return result
    try:
        staged = tx._track_row(result[1], result[2])
    except TokenfedError as exc:
        return _rejected(exc.to_json())
    if staged:
        return result
    return (True, result[1], result[2], result[3] + ', "duplicate": true', None)


def _apply(
    tracker: ReceiptTracker,
    checked: list[_Checked],
    summary: FileSummary,
    out: IO[str],
) -> None:
    """Track a chunk, count it and write its result lines (to the temporary results file,
    which is renamed into place only after the last commit)."""
    rows: list[str] = []
    append = rows.append
    line = summary.lines
    totals: dict[tuple[str, str, str], list[int]] = {}  # (iss, aud, model): [count, micro]
    for result in _track_chunk(tracker, checked):
        line += 1
        if result[0]:
            append(f'{{"line": {line}, "ok": true, {result[3]}}}\n')
            micro = result[4]
            if micro is None:
                summary.duplicates += 1
                continue
            row = result[1]
            key = (row[0], row[2], row[12])
            total = totals.get(key)
            if total is None:
                totals[key] = [1, micro]
            else:
                total[0] += 1
                total[1] += micro
        else:
            append(f'{{"line": {line}, "ok": false, {result[3]}}}\n')
            summary.rejected += 1
            summary.errors[result[1]] += 1
            if summary.first_error is None:
                summary.first_error = {"line": line, "error": result[1], "message": result[2]}
    for (iss, aud, model), (count, micro) in totals.items():
        summary._count(iss, aud, model, micro, count)
    summary.lines = line
    out.writelines(rows)
