"""Reading one vendor usage report under an adapter table (spec/units.md, UNIT-010, UNIT-019).

A :class:`Fields` wraps one JSON object of a report (the usage object or a details object
inside it). Adapters read counts, details and enumerated strings through it; every member
read is remembered, so that in strict mode :meth:`Fields.finish` can refuse a member the
table does not name (UNIT-019): a vendor's new billed part is refused instead of being
priced as something else.
"""

from __future__ import annotations

import reprlib
from collections.abc import Mapping
from typing import Any

from .._json import MAX_SAFE_INTEGER
from .._meters import ordered
from ..errors import InvalidUsageError

__all__ = ["EXPLICIT_CACHE_READ", "Fields", "is_zero", "nonzero", "qwen_cache_type", "within"]

EXPLICIT_CACHE_READ = "qwen.explicit_cache_read_tokens"
"""Cache hits of Qwen's explicit cache, priced apart from implicit hits (UNIT-092, UNIT-093)."""


def is_zero(value: object) -> bool:
    """Whether ``value`` says nothing was used: null, 0, false, or a container of such.

    In strict mode an unknown member is refused unless it is zero (UNIT-019): a vendor that
    adds a counter which stays 0 cannot cause a misprice, so such reports stay accepted.
    """
    if value is None or value is False:
        return True
    if type(value) is int:
        return value == 0
    if isinstance(value, Mapping):
        return all(is_zero(item) for item in value.values())
    if isinstance(value, list | tuple):
        return all(is_zero(item) for item in value)
    return False


class Fields:
    """One object of a vendor report, read member by member."""

    __slots__ = ("_children", "_read", "source", "strict", "where")

    def __init__(self, source: object, where: str, *, strict: bool, what: str = "") -> None:
        if not isinstance(source, Mapping):
            name = where.rstrip(".") or f"{what} usage"
            raise InvalidUsageError(
                f"{name} must be an object, not {type(source).__name__} (UNIT-010)",
                detail={"member": where.rstrip(".")} if where else None,
            )
        self.source: Mapping[str, Any] = source
        self.where = where
        self.strict = strict
        self._read: set[str] = set()
        self._children: list[Fields] = []

    def _path(self, name: str) -> str:
        return self.where + name

    def present(self, name: str) -> bool:
        """Whether the member is present and not null."""
        return self.source.get(name) is not None

    def count(self, name: str) -> int:
        """A count member: absent or null is 0; else an integer in 0..2^53-1 (UNIT-010)."""
        self._read.add(name)
        value = self.source.get(name)
        if value is None:
            return 0
        if type(value) is not int or not 0 <= value <= MAX_SAFE_INTEGER:
            raise InvalidUsageError(
                f"{self._path(name)} is {reprlib.repr(value)}; a count is an integer from 0 to "
                "2^53-1 (UNIT-010)",
                detail={"member": self._path(name)},
            )
        return value

    def optional_count(self, name: str) -> int | None:
        """Like :meth:`count`, but ``None`` when the member is absent or null."""
        if not self.present(name):
            self._read.add(name)
            return None
        return self.count(name)

    def details(self, name: str) -> Fields:
        """A details object: absent or null is empty (UNIT-010); else it must be an object."""
        self._read.add(name)
        value = self.source.get(name)
        child = Fields({} if value is None else value, self._path(name) + ".", strict=self.strict)
        self._children.append(child)
        return child

    def items(self, name: str) -> list[Fields]:
        """An array of objects: absent or null is empty; else every element must be an object."""
        self._read.add(name)
        value = self.source.get(name)
        if value is None:
            return []
        if not isinstance(value, list):
            raise InvalidUsageError(
                f"{self._path(name)} must be an array, not {type(value).__name__} (UNIT-010)",
                detail={"member": self._path(name)},
            )
        children = [
            Fields(item, f"{self._path(name)}[{index}].", strict=self.strict)
            for index, item in enumerate(value)
        ]
        self._children.extend(children)
        return children

    def text(self, name: str) -> str | None:
        """An enumerated string member: absent or null is ``None``; else it must be a string."""
        self._read.add(name)
        value = self.source.get(name)
        if value is None:
            return None
        if not isinstance(value, str):
            raise InvalidUsageError(
                f"{self._path(name)} must be a string, not {type(value).__name__} (UNIT-010)",
                detail={"member": self._path(name)},
            )
        return value

    def known(self, *names: str) -> None:
        """Members the table names but does not use (totals, modality breakdowns...)."""
        self._read.update(names)

    def finish(self) -> None:
        """In strict mode, refuse any member the table does not name, unless zero (UNIT-019)."""
        if self.strict:
            for name, value in self.source.items():
                if name not in self._read and not is_zero(value):
                    raise InvalidUsageError(
                        f"{self._path(name)} ({reprlib.repr(value)}) is not a member this adapter "
                        "knows; strict mode refuses it rather than price it as something else. "
                        "Update the adapter, or adapt leniently to ignore it (UNIT-019)",
                        detail={"member": self._path(name)},
                    )
        for child in self._children:
            child.finish()


def within(parts: int, total: int, what: str, total_name: str) -> None:
    """Parts a report places inside a total must not exceed it (UNIT-011)."""
    if parts > total:
        raise InvalidUsageError(
            f"{what} ({parts}) exceed {total_name} ({total}); parts must lie inside their "
            "total (UNIT-011)",
            detail={"parts": parts, "total": total},
        )


def nonzero(meters: Mapping[str, int]) -> dict[str, int]:
    """The meters whose count is not 0, in registry order then extension names (UNIT-010)."""
    return ordered({name: count for name, count in meters.items() if count})


def qwen_cache_type(details: Fields) -> bool:
    """Whether a Qwen report's cache hits come from the explicit cache (``cache_type``
    ``ephemeral``) rather than the implicit one (no ``cache_type``); UNIT-092, UNIT-093."""
    value = details.text("cache_type")
    if value not in (None, "ephemeral"):
        raise InvalidUsageError(
            f"{details.where}cache_type is {value!r}, a cache mode this adapter cannot price; "
            "known: ephemeral (explicit cache) or absent (implicit cache) (UNIT-092)",
            detail={"member": details.where + "cache_type"},
        )
    return value == "ephemeral"
