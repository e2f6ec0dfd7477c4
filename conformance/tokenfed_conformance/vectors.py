"""The one loader of the spec's language-neutral test vectors (``spec/vectors/*.json``).

Both the SDK's tests and the conformance suite read vectors through this module, so a vector
means the same thing to both. Each file has the shape fixed by
``spec/schemas/vectors.schema.json``; each vector names the requirement IDs it covers and gives
either an expected result or an expected error code.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

__all__ = ["Vector", "VectorFile", "load_test_keys", "load_vectors", "spec_dir", "vector_kinds"]

_ENV = "TOKENFED_SPEC_DIR"


@cache
def spec_dir() -> Path:
    """Locate the spec folder: ``$TOKENFED_SPEC_DIR``, the copy inside an installed wheel, or
    the source checkout this module was imported from."""
    candidates = []
    if os.environ.get(_ENV):
        candidates.append(Path(os.environ[_ENV]))
    here = Path(__file__).resolve().parent
    candidates += [here / "_spec", here.parent.parent / "spec"]
    for candidate in candidates:
        if (candidate / "vectors").is_dir():
            return candidate
    raise FileNotFoundError(
        f"tokenfed spec folder not found (looked in {', '.join(map(str, candidates))}); "
        f"set {_ENV} to the spec/ folder of a tokenfed checkout"
    )


@dataclass(frozen=True)
class Vector:
    """One test vector: inputs, and either an expected output or an expected error code."""

    id: str
    description: str
    requirements: tuple[str, ...]
    input: dict[str, Any]
    expected: dict[str, Any]
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def error(self) -> str | None:
        """The expected error code, or ``None`` when the vector expects success."""
        value = self.expected.get("error")
        return value if isinstance(value, str) else None


@dataclass(frozen=True)
class VectorFile:
    """A file of vectors of one kind, with where they came from."""

    kind: str
    spec_version: str
    description: str
    provenance: str
    vectors: tuple[Vector, ...]
    path: Path
    extra: dict[str, Any] = field(default_factory=dict)

    def __iter__(self) -> Iterator[Vector]:
        return iter(self.vectors)

    def by_id(self, vector_id: str) -> Vector:
        """The vector with this id (``KeyError`` if absent)."""
        for vector in self.vectors:
            if vector.id == vector_id:
                return vector
        raise KeyError(vector_id)


_FILE_MEMBERS = {"$schema", "kind", "spec_version", "description", "provenance", "vectors"}
_VECTOR_MEMBERS = {"id", "description", "requirements", "input", "expected"}


def _reject_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        raise ValueError(f"duplicate member names in {sorted(k for k, _ in pairs)}")
    return result


@cache
def load_vectors(kind: str) -> VectorFile:
    """Load ``spec/vectors/<kind>.json``."""
    path = spec_dir() / "vectors" / f"{kind}.json"
    raw = json.loads(path.read_text(encoding="utf-8"), object_pairs_hook=_reject_duplicates)
    vectors = tuple(
        Vector(
            id=item["id"],
            description=item["description"],
            requirements=tuple(item["requirements"]),
            input=item["input"],
            expected=item["expected"],
            extra={k: v for k, v in item.items() if k not in _VECTOR_MEMBERS},
        )
        for item in raw["vectors"]
    )
    ids = [vector.id for vector in vectors]
    if len(set(ids)) != len(ids):
        raise ValueError(f"{path}: vector ids are not unique")
    return VectorFile(
        kind=raw["kind"],
        spec_version=raw["spec_version"],
        description=raw["description"],
        provenance=raw["provenance"],
        vectors=vectors,
        path=path,
        extra={k: v for k, v in raw.items() if k not in _FILE_MEMBERS},
    )


def vector_kinds() -> list[str]:
    """The kinds of vector files the spec ships."""
    return sorted(path.stem for path in (spec_dir() / "vectors").glob("*.json"))


@cache
def load_test_keys() -> dict[str, dict[str, Any]]:
    """The published test keys of ``spec/test-keys.json`` (private JWKs, for tests only) by name."""
    path = spec_dir() / "test-keys.json"
    data = json.loads(path.read_text(encoding="utf-8"), object_pairs_hook=_reject_duplicates)
    keys: dict[str, dict[str, Any]] = data["keys"]
    return keys
