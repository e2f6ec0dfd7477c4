"""The machine-readable parts of the spec: JSON Schemas and test-vector files.

Every ``spec/schemas/*.json`` is a valid JSON Schema 2020-12 whose references resolve; every
``spec/vectors/*.json`` validates against the schema it declares (the vector-file schema unless
it names another spec schema in ``$schema``); the shared loader reads every vector file without
losing anything.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urldefrag

import pytest
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from tokenfed import SPEC_VERSION
from tokenfed_conformance.vectors import Vector, load_vectors, spec_dir, vector_kinds

SPEC = Path(__file__).resolve().parent.parent / "spec"
SCHEMAS = sorted((SPEC / "schemas").glob("*.json"))
DATA_FILES = sorted((SPEC / "vectors").glob("*.json"))
VECTORS_SCHEMA = "vectors.schema.json"
DRAFT_2020_12 = "https://json-schema.org/draft/2020-12/schema"
SCHEMA_ID_BASE = f"https://tokenfed.org/spec/{SPEC_VERSION}/schemas/"


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    names = [name for name, _ in pairs]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    assert not duplicates, f"duplicate member names {duplicates}"
    return dict(pairs)


def read_json(path: Path) -> Any:
    """Parse a spec JSON file, refusing duplicate member names."""
    return json.loads(path.read_text(encoding="utf-8"), object_pairs_hook=_no_duplicates)


def schema_of(data: Any) -> str:
    """The spec schema a data file declares in ``$schema`` (by file name), else the vector
    file schema."""
    declared = data.get("$schema") if isinstance(data, dict) else None
    if isinstance(declared, str):
        name = urldefrag(declared).url.rstrip("/").rsplit("/", 1)[-1]
        if (SPEC / "schemas" / name).is_file():
            return name
    return VECTORS_SCHEMA


def vector_files() -> list[Path]:
    """The files of ``spec/vectors`` that are vector files (validated by the vector schema)."""
    return [path for path in DATA_FILES if schema_of(read_json(path)) == VECTORS_SCHEMA]


def registry() -> Registry[Any]:
    resources = [
        (data["$id"], Resource.from_contents(data, default_specification=DRAFT202012))
        for data in map(read_json, SCHEMAS)
        if isinstance(data, dict) and "$id" in data
    ]
    return Registry().with_resources(resources)


def refs(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for key, member in value.items():
            if key in ("$ref", "$dynamicRef") and isinstance(member, str):
                yield member
            else:
                yield from refs(member)
    elif isinstance(value, list):
        for member in value:
            yield from refs(member)


def test_spec_ships_schemas_and_vectors() -> None:
    """The spec has schemas, and vector files for the conformance suite to run."""
    assert any(path.name == VECTORS_SCHEMA for path in SCHEMAS)
    assert vector_files(), "spec/vectors/ holds no vector file"


@pytest.mark.parametrize("path", SCHEMAS, ids=lambda p: p.name)
def test_schema_is_valid_2020_12(path: Path) -> None:
    """Each schema declares draft 2020-12, is a valid schema under its metaschema, and has the
    ``$id`` of its published location for this spec version."""
    schema = read_json(path)
    assert schema.get("$schema") == DRAFT_2020_12, f"{path.name}: $schema is not draft 2020-12"
    Draft202012Validator.check_schema(schema)
    assert schema.get("$id") == SCHEMA_ID_BASE + path.name, f"{path.name}: $id {schema.get('$id')}"
    assert isinstance(schema.get("description") or schema.get("title"), str), (
        f"{path.name}: neither title nor description"
    )


@pytest.mark.parametrize("path", SCHEMAS, ids=lambda p: p.name)
def test_schema_references_resolve(path: Path) -> None:
    """Every ``$ref`` of a schema resolves, within the file or to another spec schema."""
    schema = read_json(path)
    resolver = registry().resolver(base_uri=schema["$id"])
    for ref in refs(schema):
        resolver.lookup(ref)  # raises if it does not resolve


def test_schema_ids_are_unique() -> None:
    """No two schema files claim the same ``$id``."""
    ids = [read_json(path).get("$id") for path in SCHEMAS]
    assert len(ids) == len(set(ids)), ids


@pytest.mark.parametrize("path", DATA_FILES, ids=lambda p: p.name)
def test_data_file_validates_against_its_schema(path: Path) -> None:
    """Each file of spec/vectors validates against spec/schemas/vectors.schema.json, or against
    the spec schema it names in ``$schema``."""
    data = read_json(path)
    name = schema_of(data)
    validator = Draft202012Validator(read_json(SPEC / "schemas" / name), registry=registry())
    problems = [
        f"{'/'.join(map(str, error.absolute_path)) or '(root)'}: {error.message[:200]}"
        for error in validator.iter_errors(data)
    ]
    assert not problems, f"{path.name} against {name}:\n" + "\n".join(problems[:20])


@pytest.mark.parametrize("path", DATA_FILES, ids=lambda p: p.name)
def test_vector_file_conventions(path: Path) -> None:
    """A vector file is named after its kind, is for this spec version, and each vector
    expects either a result or exactly ``{"error": code}``."""
    data = read_json(path)
    if schema_of(data) != VECTORS_SCHEMA:
        pytest.skip(f"{path.name} is not a vector file")
    assert data["kind"] == path.stem
    assert data["spec_version"] == SPEC_VERSION
    for vector in data["vectors"]:
        expected = vector["expected"]
        if "error" in expected:
            assert set(expected) == {"error"}, f"{vector['id']}: error plus other members"
        else:
            assert expected, f"{vector['id']}: empty expected result"


def test_loader_lists_exactly_the_vector_files() -> None:
    """``vector_kinds()`` (what the conformance suite iterates) lists every vector file and
    nothing else, so no data file of another shape is fed to ``load_vectors``."""
    assert spec_dir().resolve() == SPEC.resolve()
    others = sorted(set(DATA_FILES) - set(vector_files()))
    assert vector_kinds() == [path.stem for path in vector_files()], (
        f"vector_kinds() = {vector_kinds()}; the vector files are "
        f"{[p.name for p in vector_files()]}; files of another shape in spec/vectors: "
        f"{[p.name for p in others]} (move them out of spec/vectors, or have the loader skip "
        "files whose $schema names another schema)"
    )


def _wire(vector: Vector) -> dict[str, Any]:
    return {
        "id": vector.id,
        "description": vector.description,
        "requirements": list(vector.requirements),
        "input": vector.input,
        "expected": vector.expected,
        **vector.extra,
    }


@pytest.mark.parametrize("path", vector_files(), ids=lambda p: p.name)
def test_loader_round_trip(path: Path) -> None:
    """``tokenfed_conformance.vectors.load_vectors`` keeps every member of the file: writing the
    loaded vectors back gives the file's JSON (``$schema`` aside)."""
    raw = read_json(path)
    loaded = load_vectors(path.stem)
    rebuilt = {
        "kind": loaded.kind,
        "spec_version": loaded.spec_version,
        "description": loaded.description,
        "provenance": loaded.provenance,
        "vectors": [_wire(vector) for vector in loaded],
        **loaded.extra,
    }
    raw.pop("$schema", None)
    assert rebuilt == raw
    assert loaded.path.resolve() == path.resolve()
    for item in raw["vectors"]:
        vector = loaded.by_id(item["id"])
        assert vector.error == item["expected"].get("error")
    with pytest.raises(KeyError):
        loaded.by_id("no-such-vector-id")
