"""The error registry of the spec (spec/errors.md) and the SDK's error classes are one registry.

Each ``### `code``` heading of spec/errors.md is a registry code; ``tokenfed.errors.registry()``
must hold exactly those codes, each class documented, and every code a conforming implementation
can be asked to produce on some input must be exercised by at least one test vector.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tokenfed import errors
from tokenfed.errors import TokenfedError, error_class, registry
from tokenfed_conformance.vectors import Vector, load_vectors, vector_kinds

ERRORS_MD = Path(__file__).resolve().parent.parent / "spec" / "errors.md"
# Codes that no input vector can call for: a CLI misuse, a file system failure, a defect.
NOT_FROM_INPUT = {"internal_error", "invalid_arguments", "io_error"}
# A node's own failure and its shutting down: no request calls for them (spec/http-api.md).
NOT_FROM_INPUT |= {"server_error", "temporarily_unavailable"}
HEADING = re.compile(r"^###[ \t]+`(?P<code>[^`]+)`", re.MULTILINE)
TABLE_CODE = re.compile(r"^\|[ \t]*\[`(?P<code>[^`]+)`\]\(#(?P<anchor>[^)]+)\)", re.MULTILINE)
ANCHOR = re.compile(r"\{#(?P<anchor>[^}\s]+)\}")
CODE_SHAPE = re.compile(r"^[a-z][a-z_]*[a-z]$")


def all_vectors() -> list[tuple[str, Vector]]:
    """Every vector of every kind, read through the shared loader."""
    found: list[tuple[str, Vector]] = []
    for kind in vector_kinds():
        try:
            vector_file = load_vectors(kind)
        except (KeyError, TypeError, ValueError) as exc:
            pytest.fail(
                f"spec/vectors/{kind}.json is not a vector file the loader can read ({exc!r}); "
                "see tests/test_vectors_files.py"
            )
        found += [(kind, vector) for vector in vector_file]
    return found


def spec_text() -> str:
    return ERRORS_MD.read_text(encoding="utf-8")


def spec_sections() -> dict[str, str]:
    """Each registry code of the spec with the text of its section."""
    text = spec_text()
    matches = list(HEADING.finditer(text))
    sections: dict[str, str] = {}
    for match, following in zip(matches, [*matches[1:], None], strict=True):
        end = following.start() if following else len(text)
        body = text[match.end() : end]
        body = re.split(r"^#{1,3}[ \t]", body, maxsplit=1, flags=re.MULTILINE)[0]
        sections[match.group("code")] = body
    return sections


def spec_codes() -> list[str]:
    return [match.group("code") for match in HEADING.finditer(spec_text())]


def test_spec_codes_equal_sdk_registry() -> None:
    """ERR-001: the SDK reports exactly the codes of the registry; no code is invented or
    missing on either side."""
    spec = set(spec_codes())
    sdk = set(registry())
    assert spec == sdk, (
        f"in spec/errors.md only: {sorted(spec - sdk)}; "
        f"in tokenfed.errors only: {sorted(sdk - spec)}"
    )


def test_spec_codes_are_unique_and_anchored() -> None:
    """ERR-001: each code has one section whose anchor is the code itself, so that
    ``errors.md#<code>`` links work, and the summary table lists every section once."""
    codes = spec_codes()
    assert len(codes) == len(set(codes)), f"codes with two sections: {sorted(codes)}"
    text = spec_text()
    for match in HEADING.finditer(text):
        line = text[match.start() : text.index("\n", match.start())]
        anchor = ANCHOR.search(line)
        assert anchor is not None, f"heading of {match.group('code')} has no explicit anchor"
        assert anchor.group("anchor") == match.group("code"), line
    table = [(m.group("code"), m.group("anchor")) for m in TABLE_CODE.finditer(text)]
    assert [code for code, _ in table] == codes, "summary table and sections differ in order"
    assert all(code == anchor for code, anchor in table), table


@pytest.mark.parametrize("code", sorted(registry()))
def test_error_class_is_documented(code: str) -> None:
    """ERR-001: every registry code has its own documented, exported TokenfedError subclass
    that ``error_class`` finds, with a hint telling a person what to do."""
    cls = registry()[code]
    assert issubclass(cls, TokenfedError)
    assert cls is not TokenfedError
    assert cls.code == code
    assert CODE_SHAPE.match(code), code
    assert error_class(code) is cls
    assert cls.__name__ in errors.__all__
    assert (cls.__doc__ or "").strip(), f"{cls.__name__} has no docstring"
    assert cls.__dict__.get("hint") or code == "internal_error", f"{cls.__name__} has no hint"


@pytest.mark.parametrize("code", sorted(registry()))
def test_hint_is_the_registry_advice(code: str) -> None:
    """The SDK's hint for a code is the "What to do" advice of its registry entry, so the CLI
    and the spec give a person the same advice."""
    sections = spec_sections()
    if code not in sections:
        pytest.fail(f"{code} has no section in spec/errors.md")
    match = re.search(
        r"^What to do:[ \t]*(?P<advice>.+?)(?:\n\s*\n|\Z)", sections[code], re.M | re.S
    )
    assert match is not None, f"spec/errors.md: {code} has no 'What to do:' paragraph"
    assert " ".join(match.group("advice").split()) == " ".join(registry()[code].hint.split())


@pytest.mark.parametrize("code", sorted(registry()))
def test_error_object_on_the_wire(code: str) -> None:
    """CONV-050: an error travels as ``{"error": code, "message": text}`` plus an optional
    ``detail`` object; the code comes from the registry."""
    cls = registry()[code]
    message = "member 'amount' is \"1.50\", not a canonical decimal"
    plain = cls(message)
    assert plain.to_json() == {"error": code, "message": message}
    assert str(plain) == plain.message
    detailed = cls("bad", detail={"member": "amount"})
    assert detailed.to_json() == {"error": code, "message": "bad", "detail": {"member": "amount"}}
    assert detailed.diagnostics().startswith("bad\n")


def test_unknown_code_has_no_class() -> None:
    """A code outside the registry maps to no class: `error_class` raises KeyError."""
    with pytest.raises(KeyError):
        error_class("not_a_registry_code")


def test_every_input_error_has_a_vector() -> None:
    """Every code an implementation can be asked to produce from an input (all codes except
    internal_error, usage and io_error) is the expected error of at least one test vector, so
    the conformance suite checks it."""
    expected = {vector.error for _, vector in all_vectors() if vector.error}
    missing = sorted(set(registry()) - NOT_FROM_INPUT - expected)
    assert not missing, f"registry codes no vector expects ({len(missing)}): {missing}"


def test_vectors_expect_only_registry_codes() -> None:
    """ERR-001: vectors expect registry codes only (a typo in a vector would never match)."""
    unknown = sorted(
        f"{kind}/{vector.id}: {vector.error}"
        for kind, vector in all_vectors()
        if vector.error and vector.error not in registry()
    )
    assert not unknown, f"vectors expect codes outside the registry: {unknown}"
