"""Requirement IDs of the specification, parsed from ``spec/*.md``, with their level.

A requirement's level is MUST when its block uses MUST, MUST NOT, SHALL or REQUIRED, SHOULD when
it uses SHOULD or RECOMMENDED, MAY when it uses MAY or OPTIONAL, and DEFINITION when it uses
none (a definition or a step that a MUST procedure relies on, so as binding as a MUST for the
expected-failure rules). Blocks start at a bold requirement ID and end at
the next one or at a heading.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from .vectors import spec_dir

__all__ = ["PROFILE_SCOPE", "Requirement", "in_scope", "load_requirements"]

_DEFINITION = re.compile(r"\*\*(?P<id>[A-Z]+-[0-9]{3})\*\*")
_HEADING = re.compile(r"^#{1,6}[ \t]", re.MULTILINE)
_OPENING = re.compile(
    r"[ \t]*(?:(?:[-*+]|[0-9]+[.)])[ \t]+)?(?:\|[ \t]*)?"
    r"(?:\*\*[^*\n]+\*\*[ \t]*[:.\u2014\u2013-]?[ \t]*)?"
)
_MUST = re.compile(r"\b(?:MUST|SHALL|REQUIRED)\b")
_SHOULD = re.compile(r"\b(?:SHOULD|RECOMMENDED)\b")
_MAY = re.compile(r"\b(?:MAY|OPTIONAL)\b")


@dataclass(frozen=True)
class Requirement:
    """One requirement: its ID, chapter, level and text."""

    id: str
    chapter: str
    level: str
    text: str


@cache
def load_requirements() -> dict[str, Requirement]:
    """Every requirement defined in the spec chapters, by ID."""
    found: dict[str, Requirement] = {}
    for path in sorted(spec_dir().glob("*.md")):
        text = path.read_text(encoding="utf-8")
        starts = [m for m in _DEFINITION.finditer(text) if _is_definition(text, m.start())]
        for index, match in enumerate(starts):
            end = starts[index + 1].start() if index + 1 < len(starts) else len(text)
            heading = _HEADING.search(text, match.end(), end)
            block = text[match.end() : heading.start() if heading else end]
            level = _level(block)
            rid = match.group("id")
            if rid not in found:
                found[rid] = Requirement(rid, path.stem, level, " ".join(block.split()))
    return found


def _level(block: str) -> str:
    for level, pattern in (("MUST", _MUST), ("SHOULD", _SHOULD), ("MAY", _MAY)):
        if pattern.search(block):
            return level
    return "DEFINITION"


def _is_definition(text: str, position: int) -> bool:
    """A bold ID defines a requirement when it opens its line (after a list marker, a table bar
    or a bold step name)."""
    line_start = text.rfind("\n", 0, position) + 1
    before = text[line_start:position]
    return bool(_OPENING.fullmatch(before))


PROFILE_SCOPE: dict[str, tuple[tuple[str, int, int], ...]] = {
    "units": (("UNIT", 1, 18), ("UNIT", 40, 62), ("FX", 20, 27), ("CONV", 24, 24)),
    "documents": (
        ("CONV", 1, 6),
        ("CONV", 10, 23),
        ("CONV", 30, 31),
        ("CONV", 40, 50),
        ("CONV", 60, 60),
        ("UNIT", 20, 32),
        ("FX", 1, 11),
    ),
    "receipt-issuer": (
        ("REC", 1, 10),
        ("REC", 30, 30),
        ("REC", 46, 46),
        ("REC", 60, 61),
        ("REC", 65, 65),
    ),
    "receipt-verifier": (("REC", 1, 29), ("REC", 31, 45), ("REC", 47, 48), ("REC", 60, 70)),
    "settlement": (("SET", 1, 60),),
    "federation-entity": (("FED", 1, 999),),
    "entitlements": (("ENT", 1, 999),),
}
"""Which requirements each profile is accountable for: coverage is reported against these."""


def in_scope(profile: str, rid: str) -> bool:
    """Whether requirement ``rid`` belongs to the scope of ``profile``."""
    prefix, _, number = rid.partition("-")
    return any(
        prefix == p and lo <= int(number) <= hi for p, lo, hi in PROFILE_SCOPE.get(profile, ())
    )
