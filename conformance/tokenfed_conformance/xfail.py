"""Strict per-implementation expected failures.

The file lists one test id per line, optionally followed by a reason; ``#`` starts a comment.
An entry is allowed only for a test whose requirements are all SHOULD or MAY, or that needs an
optional feature (a MAY requirement such as REC-064); an entry that names no test, names a
required test, or whose test passes, is an error of the run.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

__all__ = ["XfailEntry", "XfailError", "load_xfails"]


class XfailError(ValueError):
    """The expected-failure file cannot be read."""


@dataclass(frozen=True)
class XfailEntry:
    """One expected failure: the test id, the reason, and where it was written."""

    test_id: str
    reason: str
    line: int


def load_xfails(path: str | Path) -> dict[str, XfailEntry]:
    """Read an expected-failure file."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise XfailError(f"cannot read the expected-failure file {path}: {exc}") from exc
    entries: dict[str, XfailEntry] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip() if not raw.lstrip().startswith("#") else ""
        if not line:
            continue
        test_id, _, reason = line.partition(" ")
        comment = raw.split("#", 1)[1].strip() if "#" in raw else ""
        if test_id in entries:
            raise XfailError(f"{path}:{number}: {test_id} is listed twice")
        entries[test_id] = XfailEntry(test_id, reason.strip() or comment, number)
    return entries
