"""A one-line progress bar on a terminal's standard error, shared by the long commands."""

from __future__ import annotations

import sys
import time

__all__ = ["Progress"]


class Progress:
    """A one-line progress bar on a terminal's stderr; silent elsewhere."""

    def __init__(self, total_bytes: int | None, enabled: bool) -> None:
        self._total = total_bytes
        self._enabled = enabled
        self._last = 0
        self._start = time.monotonic_ns()

    @property
    def total(self) -> int | None:
        """The total number of bytes, if known."""
        return self._total

    def update(self, lines: int, done_bytes: int, *, force: bool = False) -> None:
        """Redraw with ``lines`` receipts read and ``done_bytes`` of the total done (at most
        five times a second unless ``force``)."""
        now = time.monotonic_ns()
        if not self._enabled or (not force and now - self._last < 200_000_000):
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
        """End the bar's line."""
        if self._enabled:
            sys.stderr.write("\n")
            sys.stderr.flush()
