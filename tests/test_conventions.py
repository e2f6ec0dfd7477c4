"""Conventions that cut across chapters (CONV-001..CONV-007, CONV-020, CONV-022, CONV-024, ERR,
SPEC)."""

from __future__ import annotations

import ast
import json
import re
import runpy
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tokenfed
from tokenfed import _model
from tokenfed._decimal import CANONICAL_DECIMAL, format_decimal, parse_decimal
from tokenfed._model import check_version
from tokenfed.errors import (
    InvalidAmountError,
    SchemaViolationError,
    TokenfedError,
    UnsupportedVersionError,
    registry,
)
from tokenfed.units import RateCard, parse_usage

SDK = Path(tokenfed.__file__).resolve().parent
CARD = {
    "iss": "https://provider.example",
    "rate_card_id": "c1",
    "ver": "1.0",
    "iat": 0,
    "nbf": 0,
    "exp": 10,
    "unit": "UTU",
    "models": {"m": {"weights": {"input": "1"}}},
}


@pytest.mark.parametrize(
    "iss",
    [
        "http://provider.example",
        "https://provider.example/?q=1",
        "https://p.example/#f",
        "provider",
    ],
)
def test_entity_ids_are_https_urls(iss: str) -> None:
    """CONV-001: an entity id is an https URL without query or fragment."""
    with pytest.raises(SchemaViolationError):
        RateCard.from_claims(dict(CARD, iss=iss))


SPEC = Path(__file__).resolve().parent.parent / "spec"
INTEROP = Path(__file__).resolve().parent.parent / "interop" / "check_vectors.py"


@cache
def _interop() -> dict[str, Any]:
    """The independent checker's module namespace (it never imports the SDK)."""
    return runpy.run_path(str(INTEROP), run_name="interop_check")


def _schema_patterns(name: str) -> list[str]:
    """Every pattern in the spec's JSON Schemas whose $defs or property is called ``name``."""
    found: list[str] = []

    def walk(node: Any, key: str = "") -> None:
        if isinstance(node, dict):
            if key == name and "pattern" in node:
                found.append(node["pattern"])
            for child_key, child in node.items():
                walk(child, child_key)
        elif isinstance(node, list):
            for child in node:
                walk(child, key)

    for path in sorted((SPEC / "schemas").glob("*.schema.json")):
        walk(json.loads(path.read_text(encoding="utf-8")))
    return found


def _fenced_text(chapter: str, after: str) -> str:
    """The first ```text block of a chapter after the line holding ``after``."""
    lines = (SPEC / chapter).read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if after in line)
    fence = next(i for i in range(start, len(lines)) if lines[i].strip() == "```text")
    return lines[fence + 1].strip()


def test_entity_id_pattern_is_one_everywhere() -> None:
    """CONV-001: the chapter's regular expression, the SDK's ENTITY_ID_PATTERN and every
    entity-id pattern of the schemas (rate card, exchange rates, receipt, batch statement,
    trust store, entitlement, entity statement, historical keys, and those of later chapters)
    are the same text."""
    assert _fenced_text("conventions.md", "**CONV-001**") == _model.ENTITY_ID_PATTERN
    patterns = _schema_patterns("entityId") + _schema_patterns("entity_id")
    patterns += _schema_patterns("iss") + _schema_patterns("propertyNames")
    urls = [pattern for pattern in patterns if "https" in pattern]
    assert len(urls) >= 8
    assert set(urls) == {_model.ENTITY_ID_PATTERN}


ENTITY_IDS_ACCEPTED = [
    "https://p.example",
    "https://p.example/",
    "https://p.example:443/a/b%2F;v=1/@x:y",
    "https://p.example:65535",
    "https://p.example:1",
    "https://192.0.2.1",
    "https://localhost",
    "https://xn--fsqu00a.example",
    "https://" + "a" * 63 + ".example",
    "https://p.example/" + "a" * (2048 - 18),
]
ENTITY_IDS_REFUSED = [
    "https://P.example",
    "HTTPS://p.example",
    "http://p.example",
    "https://u@p.example",
    "https://u:pw@p.example",
    "https://p..example",
    "https://p.example.",
    "https://.p.example",
    "https://",
    "https:///x",
    "https://-p.example",
    "https://p-.example",
    "https://" + "a" * 64 + ".example",
    "https://p_q.example",
    "https://p.example:0",
    "https://p.example:65536",
    "https://p.example:0443",
    "https://p.example:",
    "https://p.example:/x",
    "https://p.example/%zz",
    "https://p.example/%2f",
    "https://p.example/%2",
    "https://p.example/?",
    "https://p.example/?q=1",
    "https://p.example/#f",
    "https://p.example/a b",
    "https://p.example/caf\u00e9",
    "https://b\u00fccher.example",
    "https://[2001:db8::1]/",
    "https://p.example\\x",
    "https://p.example\n",
    "https://p.example/\n",
    "\nhttps://p.example",
    "https://p.example/" + "a" * (2049 - 18),
]


@pytest.mark.parametrize("value", ENTITY_IDS_ACCEPTED)
def test_entity_ids_accepted(value: str) -> None:
    """CONV-001: identifiers of the grammar are accepted by the SDK helper, the model and the
    independent checker alike."""
    assert _model.is_entity_id(value)
    assert RateCard.from_claims(dict(CARD, iss=value)).claims.iss == value
    assert _interop()["_is_entity_id"](value)


@pytest.mark.parametrize("value", ENTITY_IDS_REFUSED)
def test_entity_ids_refused(value: str) -> None:
    """CONV-001: anything else (upper case, userinfo, empty labels, port 0 and 65536, bad
    percent-encodings, query, fragment, a final line feed, 2049 characters) is refused: the
    SDK helper says no, the model raises schema_violation, the checker agrees."""
    assert not _model.is_entity_id(value)
    with pytest.raises(SchemaViolationError):
        RateCard.from_claims(dict(CARD, iss=value))
    assert not _interop()["_is_entity_id"](value)


@pytest.mark.parametrize("value", [None, 1, b"https://p.example", ["https://p.example"]])
def test_is_entity_id_of_other_types(value: object) -> None:
    """CONV-001: only a string can be an entity identifier."""
    assert not _model.is_entity_id(value)


def test_every_port_number() -> None:
    """CONV-001: the expression's port alternatives accept exactly 1..65535 written without a
    leading zero (every number up to 99999 tried, with and without a leading zero)."""
    for port in range(100000):
        written = str(port)
        assert _model.is_entity_id(f"https://p.example:{written}") is (1 <= port <= 65535)
        assert not _model.is_entity_id(f"https://p.example:0{written}")


_URL_PIECES = st.sampled_from(
    [
        *"az09-./:@%?#A_~!$&'()*+,;= [] \u00e9",
        *("2F", "2f", "zz", "65535", "65536", "xn--", "a" * 63, "a" * 64, ".."),
    ]
)


@settings(max_examples=1000, deadline=None, derandomize=True)
@given(st.lists(_URL_PIECES, max_size=12).map("".join))
def test_entity_id_readers_agree(rest: str) -> None:
    """CONV-001: the SDK's expression and the checker's piece-by-piece reader of the grammar
    (written apart) give the same verdict on URL-like strings (a fixed, derandomized sample)."""
    value = "https://" + rest
    assert _model.is_entity_id(value) is _interop()["_is_entity_id"](value), value


def test_entity_id_pattern_has_no_slow_path() -> None:
    """CONV-001: long near-misses are refused without catastrophic backtracking: the
    pattern's repetitions are separated by '.' and '/', so a failing match stays linear."""
    for value in (
        "https://" + "a-" * 1000 + "!",
        "https://" + "a." * 1000 + "-",
        "https://p.example" + "/a" * 1000 + "%",
    ):
        assert not _model.is_entity_id(value + "x" * (2048 - len(value)))


CANONICAL_DECIMALS = ["0", "1", "-1", "0.5", "-0.5", "10", "-10.05", "123.456"]
NOT_CANONICAL = ["-0", "-0.0", "00", "-00", "01", "1.0", "1.", ".5", "+1", "1e3", "-", ""]


def test_decimal_pattern_is_one_everywhere() -> None:
    """CONV-020: the chapter's expression is the schemas' decimal pattern, the SDK's
    _model pattern and (without anchors) the SDK's and the checker's compiled expressions."""
    text = (SPEC / "conventions.md").read_text(encoding="utf-8")
    block = text[text.index("**CONV-020**") :]
    chapter = block[block.index("`") + 1 : block.index("`", block.index("`") + 1)]
    assert chapter == _model._DECIMAL_PATTERN
    assert set(_schema_patterns("decimal")) == {chapter}
    assert CANONICAL_DECIMAL.pattern == chapter[1:-1]
    assert _interop()["_DECIMAL"].pattern == chapter[1:-1]


@pytest.mark.parametrize("value", CANONICAL_DECIMALS + NOT_CANONICAL)
def test_decimal_pattern_refuses_negative_zero(value: str) -> None:
    """CONV-020: the expression alone says what the prose says; "-0" is not canonical, so no
    implementation needs a special case for it."""
    expected = value in CANONICAL_DECIMALS
    assert (CANONICAL_DECIMAL.fullmatch(value) is not None) is expected
    assert (re.search(_model._DECIMAL_PATTERN, value) is not None) is expected
    assert (_interop()["_DECIMAL"].fullmatch(value) is not None) is expected
    if expected:
        assert format_decimal(parse_decimal(value)) == value
    else:
        with pytest.raises(InvalidAmountError):
            parse_decimal(value)


@pytest.mark.parametrize("ver", ["2", "02.0", "1.0.0", "2.0.0", "1", "", "1.01", " 1.0", None])
def test_only_major_dot_minor_has_a_major_version(ver: object) -> None:
    """CONV-004: a ver that is not MAJOR.MINOR exactly is never unsupported_version: it fails
    the schema step, even when a decimal member fails too."""
    check_version(ver)
    for claims in (
        dict(CARD, ver=ver),
        dict(CARD, ver=ver, models={"m": {"weights": {"input": "1.0"}}}),
    ):
        with pytest.raises(SchemaViolationError):
            RateCard.from_claims(claims)


def test_lengths_count_code_points() -> None:
    """CONV-007: a model id of 256 astral characters (512 UTF-16 units) is accepted, 257 is
    refused; 255 ASCII plus one astral character is 256 characters."""
    astral = "\U0001f600"
    for model, accepted in (
        (astral * 256, True),
        ("m" * 255 + astral, True),
        (astral * 257, False),
    ):
        usage = {"model": model, "meters": {"input": 1}}
        card = dict(CARD, models={model: {"weights": {"input": "1"}}})
        if accepted:
            assert parse_usage(usage).model == model
            assert model in RateCard.from_claims(card).claims.models
        else:
            with pytest.raises(SchemaViolationError):
                parse_usage(usage)
            with pytest.raises(SchemaViolationError):
                RateCard.from_claims(card)


@pytest.mark.parametrize(
    ("iat", "code"),
    [(-1, "schema_violation"), ("0", "schema_violation"), (True, "schema_violation"),
     (2**53, "malformed")],
)  # fmt: skip
def test_times_are_numeric_dates(iat: object, code: str) -> None:
    """CONV-002: times are integers in 0..2^53-1 (booleans and strings are not); an integer
    beyond 2^53 - 1 cannot be in any I-JSON text, so it is malformed (CONV-012)."""
    with pytest.raises(TokenfedError) as caught:
        RateCard.from_claims(dict(CARD, iat=iat))
    assert caught.value.code == code


@pytest.mark.parametrize("ver", ["1", "1.0.0", "01.0", "v1.0", 1])
def test_ver_is_major_dot_minor(ver: object) -> None:
    """CONV-003: ver is a MAJOR.MINOR string; anything else is a schema violation."""
    with pytest.raises(SchemaViolationError):
        RateCard.from_claims(dict(CARD, ver=ver))


def test_minor_versions_are_accepted_and_other_majors_refused() -> None:
    """CONV-003, CONV-004: 1.7 is accepted; 0.9 and 2.0 are unsupported_version."""
    assert RateCard.from_claims(dict(CARD, ver="1.7")).claims.ver == "1.7"
    for ver in ("0.9", "2.0"):
        with pytest.raises(UnsupportedVersionError):
            RateCard.from_claims(dict(CARD, ver=ver))


def test_rejection_keeps_nothing() -> None:
    """CONV-006: a rejected document leaves the caller's input unchanged and yields no object."""
    claims = dict(CARD, models={"m": {"weights": {"input": "1.0"}}})
    before = repr(claims)
    with pytest.raises(InvalidAmountError):
        RateCard.from_claims(claims)
    assert repr(claims) == before


def test_decimal_length_limit() -> None:
    """CONV-022: a 65-character decimal is invalid_amount, a 64-character one is not."""
    ok = "1" * 64
    assert RateCard.from_claims(dict(CARD, models={"m": {"weights": {"input": ok}}}))
    with pytest.raises(InvalidAmountError):
        RateCard.from_claims(dict(CARD, models={"m": {"weights": {"input": "1" * 65}}}))


def test_no_binary_float_in_the_sdk() -> None:
    """CONV-024: no float literal and no float() conversion anywhere in the SDK (checks such as
    isinstance(value, float), which reject floats, are fine)."""
    offenders = []
    for path in SDK.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and type(node.value) is float:
                offenders.append(f"{path.name}:{node.lineno} float literal")
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in {"float", "round"}
            ):
                offenders.append(f"{path.name}:{node.lineno} {node.func.id}()")
    assert offenders == []
    assert isinstance(_model.SPEC_VERSION, str) and Decimal("0.1") + Decimal("0.2") == Decimal(
        "0.3"
    )


def test_error_objects_have_code_and_message() -> None:
    """CONV-050, ERR-001, ERR-002: every registry error serializes as {error, message}, and
    the code alone identifies the class."""
    for code, cls in registry().items():
        body = cls("something went wrong").to_json()
        assert body == {"error": code, "message": "something went wrong"}
        assert registry()[body["error"]] is cls


def test_implementation_states_its_spec_version() -> None:
    """SPEC-001, SPEC-002: the SDK states the spec version it implements, and its vectors are
    those of that version."""
    from tokenfed_conformance.vectors import load_vectors, vector_kinds

    assert tokenfed.SPEC_VERSION == "1.0"
    assert {load_vectors(kind).spec_version for kind in vector_kinds()} == {"1.0"}
