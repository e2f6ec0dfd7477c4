"""Independent check of the tokenfed test vectors, without the reference SDK.

This program does not import ``tokenfed`` (nor ``tokenfed_conformance``). It reads the vector
files as plain JSON, verifies signatures with ``joserfc``, parses JWS headers and payloads with
its own small strict JSON parser, validates documents against the JSON Schemas of
``spec/schemas/`` with ``jsonschema`` (and reads entity identifiers from their grammar, without
the schemas' regular expression), and implements from the specification text the document
checks of rate cards, exchange-rate sets and usage objects, the receipt verification procedures
(with ``hashlib`` for digests and Merkle proofs), pricing and currency conversion (with
``fractions.Fraction``), and the vendor usage adapters and stream accumulators (the tables of
the units chapter, written here as data), and, in ``_entitlements.py``, the entitlement
checks, reservations and receipt check of the entitlements chapter. When it agrees with the
vectors, two implementations that share no code read them the same way.

Usage::

    python interop/check_vectors.py [KIND ...]

Without a kind, every kind that has a checker is checked. One line is printed per vector, then a
summary line. The exit status is 0 when every vector agrees, 1 otherwise.

A vector *agrees* when a vector that expects a result is accepted with exactly the expected
result, and a vector that expects an error is rejected with exactly that error code. A rejection
with another code is a disagreement, and is also counted in the summary as "rejected with
another code".

To check another kind of vectors, write a function that takes one vector (a ``dict``) and the
``Context`` and returns an ``Outcome``, and register it with ``@checker("kind")``.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import itertools
import json
import os
import re
import sys
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

from joserfc import jws
from joserfc.errors import BadSignatureError, JoseError
from joserfc.jwk import ECKey, OKPKey
from jsonschema import Draft202012Validator  # type: ignore[import-untyped]
from jsonschema.exceptions import ValidationError  # type: ignore[import-untyped]
from referencing import Registry, Resource

__all__ = [
    "Context",
    "Outcome",
    "StrictJSONError",
    "check_kind",
    "checker",
    "kinds",
    "main",
    "parse_strict_json",
]

SPEC_ENV = "TOKENFED_SPEC_DIR"
MAX_DEPTH = 32
MAX_SAFE_INTEGER = 2**53 - 1
MAX_TOKEN_BYTES = 65536


def spec_dir() -> Path:
    """``$TOKENFED_SPEC_DIR``, or the ``spec`` folder next to this program's folder."""
    configured = os.environ.get(SPEC_ENV)
    if configured:
        return Path(configured)
    return Path(__file__).resolve().parent.parent / "spec"


# --------------------------------------------------------------------------- strict JSON


class StrictJSONError(ValueError):
    """The text is not a JSON text this checker accepts."""


_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?P<frac>\.[0-9]+)?(?P<exp>[eE][+-]?[0-9]+)?")
_HEX4 = re.compile(r"[0-9A-Fa-f]{4}")
_SIMPLE_ESCAPES = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r"}
_SIMPLE_ESCAPES["t"] = "\t"
_WHITESPACE = " \t\n\r"


def _is_noncharacter(code_point: int) -> bool:
    """CONV-016 (RFC 7493 section 2.1): U+FDD0..U+FDEF and U+xFFFE, U+xFFFF of every plane."""
    return 0xFDD0 <= code_point <= 0xFDEF or code_point & 0xFFFE == 0xFFFE


def _first_noncharacter(text: str) -> int | None:
    """The first noncharacter of ``text``, as a code point, or ``None``."""
    if text.isascii():
        return None
    for char in text:
        if _is_noncharacter(ord(char)):
            return ord(char)
    return None


class _Parser:
    """Recursive descent over one JSON text with the tokenfed restrictions."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def fail(self, why: str) -> StrictJSONError:
        return StrictJSONError(f"{why} at offset {self.pos}")

    def skip_whitespace(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos] in _WHITESPACE:
            self.pos += 1

    def peek(self) -> str:
        if self.pos >= len(self.text):
            raise self.fail("unexpected end of text")
        return self.text[self.pos]

    def expect(self, char: str) -> None:
        if self.peek() != char:
            raise self.fail(f"expected {char!r}, found {self.peek()!r}")
        self.pos += 1

    def value(self, depth: int) -> Any:
        self.skip_whitespace()
        char = self.peek()
        if char in "{[":
            if depth > MAX_DEPTH:
                raise self.fail(f"nesting deeper than {MAX_DEPTH}")
            return self.object(depth) if char == "{" else self.array(depth)
        if char == '"':
            return self.string()
        if char == "-" or (char.isascii() and char.isdigit()):
            return self.number()
        for word, result in (("true", True), ("false", False), ("null", None)):
            if self.text.startswith(word, self.pos):
                self.pos += len(word)
                return result
        raise self.fail(f"no JSON value starts with {char!r}")

    def object(self, depth: int) -> dict[str, Any]:
        self.expect("{")
        members: dict[str, Any] = {}
        self.skip_whitespace()
        if self.peek() == "}":
            self.pos += 1
            return members
        while True:
            self.skip_whitespace()
            if self.peek() != '"':
                raise self.fail("expected a member name")
            name = self.string()
            if name in members:
                raise self.fail(f"duplicate member name {name!r}")
            self.skip_whitespace()
            self.expect(":")
            members[name] = self.value(depth + 1)
            self.skip_whitespace()
            if self.peek() == "}":
                self.pos += 1
                return members
            self.expect(",")

    def array(self, depth: int) -> list[Any]:
        self.expect("[")
        items: list[Any] = []
        self.skip_whitespace()
        if self.peek() == "]":
            self.pos += 1
            return items
        while True:
            items.append(self.value(depth + 1))
            self.skip_whitespace()
            if self.peek() == "]":
                self.pos += 1
                return items
            self.expect(",")

    def number(self) -> int:
        match = _NUMBER.match(self.text, self.pos)
        if match is None:
            raise self.fail("malformed number")
        if match.group("frac") or match.group("exp"):
            raise self.fail(f"number {match.group()[:20]} has a fraction or exponent")
        digits = match.group().lstrip("-")
        if len(digits) > 16 or int(digits) > MAX_SAFE_INTEGER:
            raise self.fail(f"integer {match.group()[:20]} is outside +-(2^53 - 1)")
        self.pos = match.end()
        return int(match.group())

    def hex4(self) -> int:
        chunk = self.text[self.pos : self.pos + 4]
        if not _HEX4.fullmatch(chunk):
            raise self.fail("\\u must be followed by four hexadecimal digits")
        self.pos += 4
        return int(chunk, 16)

    def string(self) -> str:
        start = self.pos
        self.expect('"')
        out: list[str] = []
        while True:
            char = self.peek()
            self.pos += 1
            if char == '"':
                text = "".join(out)
                bad = _first_noncharacter(text)
                if bad is not None:
                    self.pos = start
                    raise self.fail(f"a string holds the noncharacter U+{bad:04X} (CONV-016)")
                return text
            if ord(char) < 0x20:
                raise self.fail("unescaped control character in a string")
            if char != "\\":
                out.append(char)
                continue
            escape = self.peek()
            self.pos += 1
            if escape in _SIMPLE_ESCAPES:
                out.append(_SIMPLE_ESCAPES[escape])
                continue
            if escape != "u":
                raise self.fail(f"invalid escape \\{escape}")
            unit = self.hex4()
            if 0xDC00 <= unit <= 0xDFFF:
                raise self.fail("lone low surrogate escape")
            if 0xD800 <= unit <= 0xDBFF:
                if self.text[self.pos : self.pos + 2] != "\\u":
                    raise self.fail("lone high surrogate escape")
                self.pos += 2
                low = self.hex4()
                if not 0xDC00 <= low <= 0xDFFF:
                    raise self.fail("high surrogate escape not followed by a low one")
                unit = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00)
            out.append(chr(unit))


def parse_strict_json(data: bytes) -> Any:
    """Parse UTF-8 JSON with the tokenfed restrictions (CONV-010..CONV-016).

    Refused: a byte order mark, invalid UTF-8, anything outside RFC 8259, duplicate member
    names, numbers with a fraction or exponent, integers beyond +-(2^53 - 1), lone surrogate
    escapes, noncharacters raw or escaped (CONV-016), nesting deeper than 32.
    """
    if data.startswith(b"\xef\xbb\xbf"):
        raise StrictJSONError("byte order mark")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise StrictJSONError(f"not UTF-8 ({exc.reason}) at byte {exc.start}") from None
    parser = _Parser(text)
    value = parser.value(1)
    parser.skip_whitespace()
    if parser.pos != len(text):
        raise parser.fail("data after the JSON value")
    return value


# --------------------------------------------------------------------------- base64url

_B64URL = re.compile(r"[A-Za-z0-9_-]*")


def _b64url_strict(segment: str, what: str) -> bytes:
    """Decode unpadded base64url in canonical form, or raise ``ValueError``."""
    if not _B64URL.fullmatch(segment):
        raise ValueError(f"{what} has characters outside the base64url alphabet")
    if len(segment) % 4 == 1:
        raise ValueError(f"{what} has an impossible length")
    try:
        data = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    except binascii.Error as exc:
        raise ValueError(f"{what} is not base64url: {exc}") from None
    if base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii") != segment:
        raise ValueError(f"{what} is not canonical (unused bits set)")
    return data


# --------------------------------------------------------------------------- framework


@dataclass(frozen=True)
class Outcome:
    """What the checker concluded for one vector."""

    agrees: bool
    detail: str
    code_differs: bool = False


@dataclass
class Context:
    """Shared inputs: the spec folder, the published test keys (loaded on first use, from
    ``test-keys.json`` in the spec folder or in its ``vectors`` folder), the JSON Schemas of
    its ``schemas`` folder (loaded on first use) and the ``fixtures`` of the vector file being
    checked (set by ``check_kind``)."""

    spec: Path
    fixtures: dict[str, Any] = field(default_factory=dict)
    _keys: dict[str, dict[str, Any]] | None = field(default=None, repr=False)
    _validators: dict[str, Draft202012Validator] = field(default_factory=dict, repr=False)

    @property
    def test_keys(self) -> dict[str, dict[str, Any]]:
        """The private JWKs of ``test-keys.json`` by name."""
        if self._keys is None:
            path = self.spec / "test-keys.json"
            self._keys = json.loads(path.read_text(encoding="utf-8"))["keys"]
        return self._keys

    def validator(self, name: str) -> Draft202012Validator:
        """A validator for ``schemas/<name>.schema.json``; references between the schemas of
        the folder resolve by their ``$id``."""
        if not self._validators:
            folder = self.spec / "schemas"
            schemas = {
                path.name.removesuffix(".schema.json"): json.loads(path.read_text(encoding="utf-8"))
                for path in sorted(folder.glob("*.schema.json"))
            }
            registry: Registry[Any] = Registry().with_resources(
                (schema["$id"], Resource.from_contents(schema)) for schema in schemas.values()
            )
            for schema_name, schema in schemas.items():
                self._validators[schema_name] = Draft202012Validator(schema, registry=registry)
        return self._validators[name]


Checker = Callable[[dict[str, Any], Context], Outcome]
_CHECKERS: dict[str, Checker] = {}


def checker(kind: str) -> Callable[[Checker], Checker]:
    """Register the function that checks one vector of ``kind``."""

    def register(function: Checker) -> Checker:
        _CHECKERS[kind] = function
        return function

    return register


def kinds() -> list[str]:
    """The kinds that have a checker."""
    return sorted(_CHECKERS)


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        raise ValueError("duplicate member names in a vector file")
    return result


def check_kind(kind: str, context: Context | None = None) -> list[tuple[str, Outcome]]:
    """Check every vector of ``spec/vectors/<kind>.json``; one ``(id, Outcome)`` per vector."""
    context = context or Context(spec_dir())
    function = _CHECKERS.get(kind)
    if function is None:
        raise KeyError(f"no checker for vector kind {kind!r}; known: {', '.join(kinds())}")
    path = context.spec / "vectors" / f"{kind}.json"
    data = json.loads(path.read_text(encoding="utf-8"), object_pairs_hook=_no_duplicates)
    context.fixtures = data.get("fixtures", {})
    results: list[tuple[str, Outcome]] = []
    for vector in data["vectors"]:
        try:
            outcome = function(vector, context)
        except Exception as exc:  # a crash of the checker is a disagreement, not an abort
            outcome = Outcome(False, f"checker crashed: {type(exc).__name__}: {exc}")
        results.append((vector["id"], outcome))
    return results


class _Rejected(Exception):
    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


def _same(left: Any, right: Any) -> bool:
    """Equal as JSON values: same types all the way down (``true`` is not ``1``)."""
    if type(left) is not type(right):
        return False
    if isinstance(left, dict):
        return left.keys() == right.keys() and all(_same(left[k], right[k]) for k in left)
    if isinstance(left, list):
        return len(left) == len(right) and all(map(_same, left, right))
    return bool(left == right)


def _differences(result: dict[str, Any], expected: dict[str, Any]) -> str:
    names = sorted(set(result) | set(expected))
    return ", ".join(name for name in names if not _same(result.get(name), expected.get(name)))


def _judge(
    expected: dict[str, Any],
    rejected: _Rejected | None,
    result: dict[str, Any] | None,
    note: str = "",
) -> Outcome:
    """Compare a rejection or a result with what the vector expects (codes must match)."""
    if rejected is not None:
        if "error" not in expected:
            return Outcome(False, f"rejected a valid vector: {rejected.code}: {rejected.reason}")
        if rejected.code != expected["error"]:
            return Outcome(
                False,
                f"rejected {rejected.code} but the vector expects {expected['error']}: "
                f"{rejected.reason}{note}",
                code_differs=True,
            )
        return Outcome(True, f"rejected {rejected.code}: {rejected.reason}{note}")
    if result is None:
        raise ValueError("neither a rejection nor a result to judge")
    if "error" in expected:
        return Outcome(False, f"ACCEPTED a vector that expects {expected['error']}{note}")
    if not _same(result, expected):
        return Outcome(
            False,
            f"accepted, but differs from the expected result in: {_differences(result, expected)}",
        )
    return Outcome(True, f"accepted with the expected result{note}")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


# --------------------------------------------------------------------------- entity ids

MAX_ENTITY_ID_CHARS = 2048
_LDH = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-")
_PCHAR = frozenset(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~!$&'()*+,;=:@"
)
_UPPER_HEX = frozenset("0123456789ABCDEF")


def _is_entity_id(value: Any) -> bool:
    """CONV-001, read from its grammar piece by piece (no regular expression): "https://",
    lowercase LDH labels, an optional port 1..65535 without a leading zero, a path of pchar
    segments with upper-case percent-encodings; at most 2048 characters."""
    if not isinstance(value, str) or len(value) > MAX_ENTITY_ID_CHARS:
        return False
    if not value.startswith("https://"):
        return False
    authority, _, path = value[len("https://") :].partition("/")
    host, colon, port = authority.partition(":")
    labels = host.split(".")
    for label in labels:
        if not 1 <= len(label) <= 63 or not set(label) <= _LDH:
            return False
        if label.startswith("-") or label.endswith("-"):
            return False
    if colon and not (
        port.isascii() and port.isdigit() and port[0] != "0" and 1 <= int(port) <= 65535
    ):
        return False
    index = 0
    while index < len(path):
        char = path[index]
        if char == "%":
            if not set(path[index + 1 : index + 3]) <= _UPPER_HEX or index + 3 > len(path):
                return False
            index += 3
            continue
        if char != "/" and char not in _PCHAR:
            return False
        index += 1
    return True


def _check_entity_id(document: dict[str, Any], member: str, what: str) -> None:
    """A schema failure when ``document[member]`` is not an entity id (CONV-001)."""
    if not _is_entity_id(document.get(member)):
        raise _Rejected(
            "schema_violation", f"{what} {member} {document.get(member)!r} is not an entity id"
        )


# --------------------------------------------------------------------------- decimals

_DECIMAL = re.compile(r"(-?(0\.[0-9]*[1-9]|[1-9][0-9]*(\.[0-9]*[1-9])?)|0)")
MAX_DECIMAL_CHARS = 64


def _decimal(text: str) -> Fraction:
    """The exact value of a canonical decimal string (already checked against CONV-020)."""
    negative = text.startswith("-")
    whole, _, fraction = text.removeprefix("-").partition(".")
    value = Fraction(int(whole + fraction), 10 ** len(fraction))
    return -value if negative else value


def _fraction_digits(text: str) -> int:
    return len(text.partition(".")[2])


def _canonical(value: Fraction) -> str:
    """The canonical decimal string (CONV-020) of a value with a finite decimal expansion."""
    scale = 0
    while (value * 10**scale).denominator != 1:
        scale += 1
        if scale > MAX_DECIMAL_CHARS:
            raise ValueError(f"{value} has no short finite decimal expansion")
    units = int(value * 10**scale)
    digits = str(abs(units)).rjust(scale + 1, "0")
    whole, fraction = digits[: len(digits) - scale], digits[len(digits) - scale :]
    sign = "-" if units < 0 else ""
    return f"{sign}{whole}.{fraction}" if fraction else f"{sign}{whole}"


def _round_half_even(value: Fraction, places: int) -> Fraction:
    """The multiple of 10^-places nearest to ``value``; a tie goes to the even last digit."""
    scaled = value * 10**places
    quotient, remainder = divmod(scaled.numerator, scaled.denominator)
    twice = 2 * remainder
    if twice > scaled.denominator or (twice == scaled.denominator and quotient % 2 == 1):
        quotient += 1
    return Fraction(quotient, 10**places)


# --------------------------------------------------------------------------- JCS and digests

_JCS_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r"}
_JCS_ESCAPES["\t"] = "\\t"


def _jcs_text(value: Any) -> str:
    """RFC 8785 serialization of JSON values without fractional numbers."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        chars = (
            _JCS_ESCAPES.get(char, f"\\u{ord(char):04x}" if ord(char) < 0x20 else char)
            for char in value
        )
        return '"' + "".join(chars) + '"'
    if isinstance(value, list):
        return "[" + ",".join(_jcs_text(item) for item in value) + "]"
    if isinstance(value, dict):
        members = sorted(value.items(), key=lambda item: item[0].encode("utf-16-be"))
        return "{" + ",".join(f"{_jcs_text(k)}:{_jcs_text(v)}" for k, v in members) + "}"
    raise ValueError(f"no canonical form here for a {type(value).__name__}")


def _digest(data: bytes) -> str:
    """``sha256:`` and the lowercase hex SHA-256 of ``data`` (CONV-031)."""
    return "sha256:" + hashlib.sha256(data).hexdigest()


# --------------------------------------------------------------------------- schemas

_CODE_ORDER = (
    "schema_violation",
    "invalid_key",
    "unknown_meter",
    "invalid_usage",
    "invalid_amount",
)
_VERSION = re.compile(r"(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)")


def _check_version(document: Any, what: str) -> None:
    """CONV-004: a ``ver`` of another major version is ``unsupported_version``."""
    version = document.get("ver") if isinstance(document, dict) else None
    if isinstance(version, str):
        match = _VERSION.fullmatch(version)
        if match and match.group(1) != "1":
            raise _Rejected(
                "unsupported_version", f"{what} has ver {version!r}, major version not 1"
            )


def _schema_check(
    context: Context,
    schema: str,
    document: Any,
    what: str,
    classify: Callable[[ValidationError], str],
) -> None:
    """Validate against ``schemas/<schema>.schema.json``; map failures to one code.

    ``classify`` names the code of each failure; of several, the first of ``_CODE_ORDER``
    wins (``invalid_amount`` only when every failure is a decimal member, CONV-023)."""
    found: dict[str, str] = {}
    for error in context.validator(schema).iter_errors(document):
        where = "/".join(str(part) for part in error.absolute_path) or "(top level)"
        message = error.message
        if isinstance(error.instance, dict | list) and error.validator != "required":
            rule = "/".join(str(part) for part in error.relative_schema_path)
            message = f"fails the schema rule {rule}"
        if len(message) > 160:
            message = message[:157] + "..."
        found.setdefault(classify(error), f"{what} {where}: {message}")
    for code in _CODE_ORDER:
        if code in found:
            raise _Rejected(code, found[code])


def _usage_code(error: ValidationError, prefix: tuple[Any, ...]) -> str:
    """UNIT-007: a meter name is ``unknown_meter``, a count ``invalid_usage``."""
    path = tuple(error.absolute_path)
    meters = (*prefix, "meters")
    if path == meters and "propertyNames" in error.relative_schema_path:
        return "unknown_meter"
    if len(path) == len(meters) + 1 and path[: len(meters)] == meters:
        return "invalid_usage"
    return "schema_violation"


def _receipt_code(error: ValidationError) -> str:
    if tuple(error.absolute_path) == ("amount",) and isinstance(error.instance, str):
        return "invalid_amount"
    return _usage_code(error, ("usage",))


def _rate_card_code(error: ValidationError) -> str:
    """CONV-023 for rate cards: weights and minimums are the decimal members."""
    path = tuple(error.absolute_path)
    decimal = (
        isinstance(error.instance, str)
        and "propertyNames" not in error.relative_schema_path
        and len(path) >= 3
        and path[0] == "models"
        and (
            (len(path) == 3 and path[2] == "minimum")
            or (len(path) == 4 and path[2] == "weights")
            or (len(path) == 6 and path[2] == "tiers" and path[4] == "weights")
        )
    )
    return "invalid_amount" if decimal else "schema_violation"


def _rates_code(error: ValidationError) -> str:
    """CONV-023 for exchange-rate sets: each quote's ``rate`` is the decimal member."""
    path = tuple(error.absolute_path)
    decimal = len(path) == 3 and path[0] == "rates" and path[2] == "rate"
    return "invalid_amount" if decimal and isinstance(error.instance, str) else "schema_violation"


# --------------------------------------------------------------------------- signed documents

_ALG_OF_KEY = {("OKP", "Ed25519"): "EdDSA", ("EC", "P-256"): "ES256"}

# Curve arithmetic of this checker's own (CONV-070, CONV-071, CONV-073), written from RFC 8032
# section 5.1 and SEC 1, so that the exact key and signature rules are checked without the
# libraries the SDK relies on (libsodium's point validation, OpenSSL's verification).
_ED_P = 2**255 - 19
_ED_L = 2**252 + 27742317777372353535851937790883648493
_ED_D = -121665 * pow(121666, -1, _ED_P) % _ED_P
_ED_IDENTITY = (0, 1)
_P256_P = 2**256 - 2**224 + 2**192 + 2**96 - 1
_P256_B = 0x5AC635D8AA3A93E7B3EBBD55769886BC651D06B0CC53B0F63BCE3C3E27D2604B
_P256_N = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551

EdPoint = tuple[int, int]


def _ed_decode(encoded: bytes, *, strict: bool) -> EdPoint | None:
    """The point of 32 bytes, or ``None``. ``strict``: RFC 8032 5.1.3 (y < p, no x = 0 with the
    sign bit); otherwise y is taken mod p and the sign bit ignored when x = 0."""
    value = int.from_bytes(encoded, "little")
    y, sign = value & ((1 << 255) - 1), value >> 255
    if y >= _ED_P:
        if strict:
            return None
        y -= _ED_P
    u, v = (y * y - 1) % _ED_P, (_ED_D * y * y + 1) % _ED_P
    x_squared = u * pow(v, -1, _ED_P) % _ED_P
    x = pow(x_squared, (_ED_P + 3) // 8, _ED_P)
    if x * x % _ED_P != x_squared:
        x = x * pow(2, (_ED_P - 1) // 4, _ED_P) % _ED_P
    if x * x % _ED_P != x_squared:
        return None
    if x == 0 and sign and strict:
        return None
    if x & 1 != sign:
        x = -x % _ED_P
    return x, y


def _ed_add(left: EdPoint, right: EdPoint) -> EdPoint:
    (x1, y1), (x2, y2) = left, right
    t = _ED_D * x1 * x2 * y1 * y2 % _ED_P
    return (
        (x1 * y2 + x2 * y1) * pow(1 + t, -1, _ED_P) % _ED_P,
        (y1 * y2 + x1 * x2) * pow(1 - t, -1, _ED_P) % _ED_P,
    )


def _ed_multiply(scalar: int, point: EdPoint) -> EdPoint:
    result = _ED_IDENTITY
    while scalar:
        if scalar & 1:
            result = _ed_add(result, point)
        point = _ed_add(point, point)
        scalar >>= 1
    return result


def _ed_small_order(encoded: bytes) -> bool:
    """Whether the bytes name, under the lenient decoding, a point P with [8]P = identity."""
    point = _ed_decode(encoded, strict=False)
    return point is not None and _ed_multiply(8, point) == _ED_IDENTITY


@functools.cache
def _ed25519_key_problem(encoded: bytes) -> str | None:
    """CONV-070 for an Ed25519 key: why the key is refused, or ``None``."""
    point = _ed_decode(encoded, strict=True)
    if point is None:
        return "not the canonical encoding of a curve point"
    if _ed_multiply(8, point) == _ED_IDENTITY:
        return "a point of small order"
    if _ed_multiply(_ED_L, point) != _ED_IDENTITY:
        return "not in the prime-order subgroup (a mixed-order point)"
    return None


def _p256_key_problem(x: int, y: int) -> str | None:
    """CONV-070 for a P-256 key: coordinates below p and the curve equation."""
    if x >= _P256_P or y >= _P256_P:
        return "a coordinate is not less than the field prime"
    if (y * y - (x * x * x - 3 * x + _P256_B)) % _P256_P:
        return "(x, y) is not on the curve"
    return None


def _check_key_values(jwk: dict[str, Any]) -> None:
    """CONV-070: raise ``_Rejected("invalid_key")`` for a key the spec refuses at load."""
    try:
        if jwk["kty"] == "OKP":
            x = _b64url_strict(jwk["x"], "x")
            problem = "x is not 32 bytes" if len(x) != 32 else _ed25519_key_problem(x)
        else:
            coordinates = [_b64url_strict(jwk[name], name) for name in ("x", "y")]
            if any(len(value) != 32 for value in coordinates):
                problem = "a coordinate is not 32 bytes"
            else:
                x, y = (int.from_bytes(value, "big") for value in coordinates)
                problem = _p256_key_problem(x, y)
    except (KeyError, TypeError, ValueError) as exc:
        problem = f"unreadable: {exc}"
    if problem is not None:
        raise _Rejected("invalid_key", f"the {jwk.get('crv')} key is refused: {problem} (CONV-070)")


def _signature_problem(alg: str, signature: bytes) -> str | None:
    """CONV-071 and CONV-073: the checks made before the signature equation."""
    if len(signature) != 64:
        return f"{len(signature)} bytes, not 64"
    if alg == "EdDSA":
        if int.from_bytes(signature[32:], "little") >= _ED_L:
            return "S is not less than L"
        if _ed_small_order(signature[:32]):
            return "R is a point of small order"
        return None
    r, s = int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
    if not 0 < r < _P256_N:
        return "r is not in 1..n - 1"
    if not 0 < s <= _P256_N // 2:
        return "s is not in 1..(n - 1) / 2 (a high-S or out-of-range s)"
    return None


def _trusted_key(jwk: dict[str, Any]) -> tuple[OKPKey | ECKey, str]:
    public: dict[str, str | list[str]] = {
        name: jwk[name] for name in ("kty", "crv", "x", "y") if name in jwk
    }
    alg = _ALG_OF_KEY[(jwk["kty"], jwk["crv"])]
    _check_key_values(jwk)
    key: OKPKey | ECKey
    key = OKPKey.import_key(public) if public["kty"] == "OKP" else ECKey.import_key(public)
    return key, alg


def _normal_typ(value: str) -> str:
    value = value.lower()
    return value.removeprefix("application/")


def _joserfc_verify(token: str, key: OKPKey | ECKey, alg: str) -> jws.CompactSignature:
    registry = jws.JWSRegistry(algorithms=[alg], strict_check_header=False)
    registry.max_header_length = MAX_TOKEN_BYTES
    registry.max_payload_length = MAX_TOKEN_BYTES
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return jws.deserialize_compact(token, key, algorithms=[alg], registry=registry)


@dataclass(frozen=True)
class _Signed:
    header: dict[str, Any]
    claims: dict[str, Any]
    payload: bytes


KeyFinder = Callable[[dict[str, Any], dict[str, Any]], dict[str, Any]]
KeyWindow = Callable[[dict[str, Any], dict[str, Any]], None]


def _open_jws(
    token: Any,
    typ: str,
    limit: int,
    find_key: KeyFinder,
    key_window: KeyWindow | None = None,
) -> _Signed:
    """CONV-060 steps 1 to 6 (REC-040 steps 1 to 6); raise ``_Rejected`` with a code.

    ``find_key(header, claims)`` returns the trusted JWK or raises ``unknown_key``;
    ``key_window(jwk, claims)`` may then raise ``key_not_valid``."""
    if not isinstance(token, str) or not token.isascii():
        raise _Rejected("malformed", "the token is not an ASCII string")
    if len(token) > limit:
        raise _Rejected("malformed", f"{len(token)} bytes, over the {limit} limit")
    segments = token.split(".")
    if len(segments) != 3:
        raise _Rejected("malformed", f"{len(segments)} segments instead of 3")
    try:
        header_bytes, payload_bytes, signature = (
            _b64url_strict(segment, what)
            for segment, what in zip(segments, ("header", "payload", "signature"), strict=True)
        )
        header = parse_strict_json(header_bytes)
        claims = parse_strict_json(payload_bytes)
    except ValueError as exc:
        raise _Rejected("malformed", str(exc)) from None
    if not isinstance(header, dict) or not isinstance(claims, dict):
        raise _Rejected("malformed", "header or payload is not a JSON object")
    found_typ = header.get("typ")
    if not isinstance(found_typ, str) or _normal_typ(found_typ) != _normal_typ(typ):
        raise _Rejected("unsupported_typ", f"typ {found_typ!r} is not {typ!r}")
    alg = header.get("alg")
    if alg not in ("EdDSA", "ES256"):
        raise _Rejected("unsupported_alg", f"alg {alg!r} is not in the registry")
    if "crit" in header:
        raise _Rejected("unsupported_crit", f"crit {header['crit']!r} is present")
    jwk = find_key(header, claims)
    key, key_alg = _trusted_key(jwk)
    if alg != key_alg:
        raise _Rejected("unsupported_alg", f"alg {alg} but the trusted key is for {key_alg}")
    if key_window is not None:
        key_window(jwk, claims)
    problem = _signature_problem(key_alg, signature)
    if problem is not None:
        raise _Rejected("invalid_signature", f"{key_alg} signature: {problem}")
    try:
        verified = _joserfc_verify(token, key, key_alg)
    except BadSignatureError:
        raise _Rejected("invalid_signature", "joserfc: the signature does not verify") from None
    except JoseError as exc:
        raise _Rejected("?", f"joserfc refused it: {type(exc).__name__}: {exc}") from None
    if verified.payload != payload_bytes or verified.protected != header:
        raise _Rejected("?", "joserfc read another header or payload than this checker")
    return _Signed(header, claims, payload_bytes)


# --------------------------------------------------------------------------- kind: jws


def _verify_jws(token: str, typ: str, jwk: dict[str, Any]) -> tuple[dict[str, Any], Any]:
    """Verify like a tokenfed receiver with one trusted key (CONV-060 order)."""

    def only_key(header: dict[str, Any], claims: dict[str, Any]) -> dict[str, Any]:
        key, _ = _trusted_key(jwk)
        if header.get("kid") != key.thumbprint():
            raise _Rejected("unknown_key", f"kid {header.get('kid')!r} is not the trusted key")
        return jwk

    signed = _open_jws(token, typ, MAX_TOKEN_BYTES, only_key)
    return signed.header, signed.claims


def _joserfc_alone(token: str, jwk: dict[str, Any]) -> str:
    """What joserfc alone says (the key's algorithm allowed, nothing else checked)."""
    key, alg = _trusted_key(jwk)
    try:
        _joserfc_verify(token, key, alg)
    except (JoseError, ValueError) as exc:
        return f"rejects ({type(exc).__name__})"
    return "accepts"


@checker("jws")
def check_jws(vector: dict[str, Any], context: Context) -> Outcome:
    """A ``jws`` vector: ``{token, typ, key}`` -> ``{header, claims}`` or ``{error}``."""
    given, expected = vector["input"], vector["expected"]
    fixture_keys = context.fixtures.get("keys", {})
    jwk = fixture_keys.get(given["key"]) or context.test_keys[given["key"]]
    try:
        _check_key_values(jwk)  # the receiver loads its trusted key first (CONV-070)
    except _Rejected as rejected:
        return _judge(expected, rejected, None)
    note = f"; joserfc alone {_joserfc_alone(given['token'], jwk)}"
    try:
        header, claims = _verify_jws(given["token"], given["typ"], jwk)
    except _Rejected as rejected:
        return _judge(expected, rejected, None, note)
    return _judge(expected, None, {"header": header, "claims": claims}, " (joserfc verified)")


# --------------------------------------------------------------------------- pricing

_REGISTRY = (
    "input",
    "cache_read",
    "cache_write",
    "output",
    "reasoning",
    "image_in",
    "image_out",
    "audio_in_ms",
    "audio_out_ms",
    "request",
    "tool_call",
    "web_search",
)
_INPUT_METERS = (
    "input",
    "cache_read",
    "cache_write",
    # UNIT-044: the prompt-token extension meters of UNIT-009 count too.
    "openai.audio_in_tokens",
    "openai.cache_write_12h",
    "anthropic.cache_write_1h",
    "google.audio_in_tokens",
    "google.audio_cache_read_tokens",
    "qwen.audio_in_tokens",
    "qwen.explicit_cache_read_tokens",
    "volcengine.audio_in_tokens",
    "volcengine.audio_cache_read_tokens",
)


def _check_rate_card(card: Any, context: Context) -> str:
    """UNIT-030 steps 4 to 6 on rate-card claims; return the card's digest (UNIT-029)."""
    if not isinstance(card, dict):
        raise _Rejected("schema_violation", "the rate card is not a JSON object")
    _check_version(card, "rate card")
    _schema_check(context, "rate-card", card, "rate card", _rate_card_code)
    _check_entity_id(card, "iss", "rate card")
    for model, rates in card["models"].items():
        bounds = [tier["above_input"] for tier in rates.get("tiers", [])]
        if any(later <= earlier for earlier, later in itertools.pairwise(bounds)):
            raise _Rejected(
                "schema_violation", f"tiers of {model!r} do not increase: {bounds} (UNIT-025)"
            )
    if not card["nbf"] < card["exp"]:
        raise _Rejected("schema_violation", "rate card nbf is not before exp (UNIT-027)")
    return _digest(_jcs_text(card).encode("utf-8"))


def _check_usage(usage: Any, context: Context) -> None:
    """UNIT-007: shape, then meter names, then counts."""
    _schema_check(context, "usage", usage, "usage", lambda error: _usage_code(error, ()))


def _meter_order(meter: str) -> tuple[int, int, str]:
    if meter in _REGISTRY:
        return (0, _REGISTRY.index(meter), "")
    return (1, 0, meter)


def _price(
    card: dict[str, Any], usage: dict[str, Any], at: Any, digest: str
) -> tuple[Fraction, dict[str, Any]]:
    """UNIT-042..UNIT-049 on a checked card and usage; the amount and the price result."""
    if at is not None and not card["nbf"] <= at < card["exp"]:
        raise _Rejected(
            "rate_card_not_valid",
            f"the card is valid from {card['nbf']} to before {card['exp']}, not at {at}",
        )
    model = usage["model"]
    rates = card["models"].get(model)
    if rates is None:
        raise _Rejected("unknown_model", f"the card does not price model {model!r}")
    named_tier = usage.get("service_tier")
    if named_tier is not None:
        # UNIT-051: a tier's rates replace the base rates; "standard" falls back to them.
        tier_rates = rates.get("service_tiers", {}).get(named_tier)
        if tier_rates is not None:
            rates = tier_rates
        elif named_tier != "standard":
            raise _Rejected(
                "unpriced_service_tier", f"{model!r} has no rates for service tier {named_tier!r}"
            )
    counts: dict[str, int] = usage["meters"]
    total_input = sum(counts.get(meter, 0) for meter in _INPUT_METERS)
    tier = None
    for candidate in rates.get("tiers", []):
        below = candidate["above_input"] < total_input
        if below and (tier is None or candidate["above_input"] > tier["above_input"]):
            tier = candidate
    weights = dict(rates["weights"])
    if tier is not None:
        weights.update(tier["weights"])
    used = sorted((meter for meter, count in counts.items() if count != 0), key=_meter_order)
    unpriced = [meter for meter in used if meter not in weights]
    if unpriced:
        raise _Rejected("unpriced_meter", f"no weight for {', '.join(unpriced)} of {model!r}")
    total = Fraction(0)
    lines = []
    for meter in used:
        weight = _decimal(weights[meter])
        amount = counts[meter] * weight
        total += amount
        line = {"meter": meter, "count": counts[meter], "weight": _canonical(weight)}
        lines.append({**line, "amount": _canonical(amount)})
    rounded = _round_half_even(total, 6)
    minimum = _decimal(rates.get("minimum", "0"))
    amount = max(rounded, minimum)
    result = {
        "amount": _canonical(amount),
        "unit": "UTU",
        "rate_card": {"id": card["rate_card_id"], "digest": digest},
        "lines": lines,
        "tier": None if tier is None else tier["above_input"],
        "minimum_applied": rounded < minimum,
    }
    if named_tier is not None:
        result["service_tier"] = named_tier  # UNIT-063
    return amount, result


@checker("pricing")
def check_pricing(vector: dict[str, Any], context: Context) -> Outcome:
    """A ``pricing`` vector: ``{rate_card, usage, at?}`` -> price result or ``{error}``."""
    given, expected = vector["input"], vector["expected"]
    try:
        digest = _check_rate_card(given["rate_card"], context)
        _check_usage(given["usage"], context)
        amount, result = _price(given["rate_card"], given["usage"], given.get("at"), digest)
    except _Rejected as rejected:
        return _judge(expected, rejected, None)
    return _judge(expected, None, result, f" (amount {_canonical(amount)})")


# --------------------------------------------------------------------------- adapters
#
# The adapter tables of spec/units.md (UNIT-010..UNIT-019, UNIT-080..UNIT-095) written as data:
# each vendor names the symbols it reads (a dotted path in the usage object), the constraints
# "parts <= total" between them, and the formula of each meter. Strict mode (UNIT-019) is
# checked as one rule over the whole object: every leaf that is not zero must be a path the
# vendor's table names. Streams (UNIT-100..UNIT-104) are accumulated by small state machines.

_EXTENSION_NAME = re.compile(r"[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+")
_TIER_NAMES = ("standard", "priority", "batch", "flex")


def _zero(value: Any) -> bool:
    if value is None or value is False or (_is_int(value) and value == 0):
        return True
    if isinstance(value, dict):
        return all(_zero(item) for item in value.values())
    if isinstance(value, list):
        return all(_zero(item) for item in value)
    return False


def _walk(value: Any, path: str, step: str) -> Any:
    """The value at a dotted path; an absent or null object on the way counts as empty."""
    for name in step.split("."):
        if value is None:
            return None
        if not isinstance(value, dict):
            raise _Rejected("invalid_usage", f"{path} is not an object")
        value = value.get(name)
        path = f"{path}.{name}" if path else name
    return value


def _count_at(usage: dict[str, Any], dotted: str) -> int:
    value = _walk(usage, "", dotted)
    if value is None:
        return 0
    if not _is_int(value) or not 0 <= value <= MAX_SAFE_INTEGER:
        raise _Rejected("invalid_usage", f"{dotted} = {value!r} is not a count")
    return int(value)


def _strict_leaves(value: Any, prefix: str, known: set[str]) -> None:
    """UNIT-019: each non-zero leaf must be named by the table (a known path or below one)."""
    if not isinstance(value, dict):
        return
    for name, item in value.items():
        path = f"{prefix}{name}"
        if path in known:
            continue
        if any(other.startswith(path + ".") for other in known):
            if item is not None and not isinstance(item, dict):
                raise _Rejected("invalid_usage", f"{path} must be an object")
            _strict_leaves(item, path + ".", known)
        elif not _zero(item):
            raise _Rejected("invalid_usage", f"strict mode: {path} is not in the table")


def _objects_on_paths(usage: dict[str, Any], known: set[str]) -> None:
    """UNIT-010: a details object on a path the table reads must be an object or null."""
    for path in known:
        parts = path.split(".")
        for depth in range(1, len(parts)):
            holder = _walk(usage, "", ".".join(parts[:depth]))
            if holder is not None and not isinstance(holder, dict):
                raise _Rejected("invalid_usage", f"{'.'.join(parts[:depth])} is not an object")


def _leq(parts: int, total: int, what: str) -> None:
    if parts > total:
        raise _Rejected("invalid_usage", f"{what}: {parts} > {total} (UNIT-011)")


_CHAT_FORM = (
    "prompt_tokens",
    "completion_tokens",
    "prompt_tokens_details",
    "completion_tokens_details",
)
_RESP_FORM = ("input_tokens", "output_tokens", "input_tokens_details", "output_tokens_details")


def _qwen_explicit(usage: dict[str, Any], details: str) -> int:
    """1 when Qwen's explicit cache served the hits (cache_type ephemeral), 0 for the implicit
    cache (no cache_type); any other mode cannot be priced (UNIT-092, UNIT-093)."""
    mode = _walk(usage, "", details + "cache_type")
    if mode not in (None, "ephemeral"):
        raise _Rejected("invalid_usage", f"cache_type {mode!r}")
    return 1 if mode == "ephemeral" else 0


def _openai_like(vendor: str, usage: dict[str, Any], strict: bool) -> dict[str, int]:
    chat = any(usage.get(name) is not None for name in _CHAT_FORM)
    resp = any(usage.get(name) is not None for name in _RESP_FORM)
    if chat and resp:
        raise _Rejected("invalid_usage", "both Chat Completions and Responses members (UNIT-015)")
    if resp and vendor != "openai":
        raise _Rejected("invalid_usage", "Responses form given to a compatible adapter (UNIT-015)")
    p_in, p_out = (
        ("input_tokens", "output_tokens") if resp else ("prompt_tokens", "completion_tokens")
    )
    din, dout = f"{p_in}_details.", f"{p_out}_details."
    known = {p_in, p_out, "total_tokens", din + "cached_tokens"}
    if vendor == "openai":
        known |= {
            din + m for m in ("cache_write_tokens", "audio_tokens", "text_tokens", "image_tokens")
        }
        known |= {
            dout + m
            for m in (
                "reasoning_tokens",
                "audio_tokens",
                "text_tokens",
                "accepted_prediction_tokens",
                "rejected_prediction_tokens",
            )
        }
        if resp:
            known |= {
                din + "cache_write_tokens_details.ttl_30m_tokens",
                din + "cache_write_tokens_details.ttl_12h_tokens",
            }
    elif vendor == "qwen":
        known |= {
            din + m
            for m in (
                "cache_creation_input_tokens",
                "cache_type",
                "audio_tokens",
                "text_tokens",
                "image_tokens",
                "video_tokens",
                "cache_creation.ephemeral_5m_input_tokens",
            )
        }
        known |= {dout + m for m in ("reasoning_tokens", "audio_tokens", "text_tokens")}
    elif vendor == "volcengine":
        known |= {din + "audio_tokens", din + "audio_cached_tokens", din + "provisioned_tokens"}
        known |= {dout + "reasoning_tokens", dout + "audio_tokens", dout + "provisioned_tokens"}
    elif vendor in ("vllm", "sglang"):
        pass
    else:
        known.add(dout + "reasoning_tokens")
    extra_top = {
        "deepseek": ("prompt_cache_hit_tokens", "prompt_cache_miss_tokens"),
        "moonshot": ("cached_tokens",),
        "sglang": ("reasoning_tokens",),
    }.get(vendor, ())
    known |= set(extra_top)
    _objects_on_paths(usage, known)
    if strict:
        _strict_leaves(usage, "", known)
    c = {path: (_count_at(usage, path) if not path.endswith("cache_type") else 0) for path in known}
    if isinstance(_walk(usage, "", din + "cache_type"), int | float | list | dict):
        raise _Rejected("invalid_usage", "cache_type is not a string")
    prompt, completion = c[p_in], c[p_out]
    cached = c[din + "cached_tokens"]
    top_cached = {"deepseek": "prompt_cache_hit_tokens", "moonshot": "cached_tokens"}.get(vendor)
    if top_cached and usage.get(top_cached) is not None:
        inner = _walk(usage, "", din + "cached_tokens")
        if inner is not None and inner != usage[top_cached]:
            raise _Rejected("invalid_usage", "cached counts disagree (UNIT-011)")
        cached = c[top_cached]
    missed = usage.get("prompt_cache_miss_tokens") if vendor == "deepseek" else None
    if missed is not None and cached + c["prompt_cache_miss_tokens"] != prompt:
        raise _Rejected("invalid_usage", "hit + miss != prompt (UNIT-084)")
    write = c.get(din + "cache_write_tokens", 0) + c.get(din + "cache_creation_input_tokens", 0)
    long_write = c.get(din + "cache_write_tokens_details.ttl_12h_tokens", 0)
    _leq(c.get(din + "cache_write_tokens_details.ttl_30m_tokens", 0) + long_write, write, "ttl")
    _leq(c.get(din + "cache_creation.ephemeral_5m_input_tokens", 0), write, "5m writes")
    audio_in, audio_out = c.get(din + "audio_tokens", 0), c.get(dout + "audio_tokens", 0)
    audio_hit = c.get(din + "audio_cached_tokens", 0)
    _leq(audio_hit, min(cached, audio_in), "cached audio")
    if c.get(din + "provisioned_tokens", 0) or c.get(dout + "provisioned_tokens", 0):
        raise _Rejected("invalid_usage", "provisioned tokens cannot be priced per token (UNIT-087)")
    reasoning = c.get(dout + "reasoning_tokens", 0)
    if vendor == "sglang" and usage.get("reasoning_tokens") is not None:
        reasoning = c["reasoning_tokens"]
    modal_in = sum(c.get(din + m, 0) for m in ("text_tokens", "image_tokens", "video_tokens"))
    _leq(cached + write + audio_in - audio_hit, prompt, "prompt parts")
    _leq(modal_in + audio_in, prompt, "prompt modalities")
    _leq(reasoning + audio_out, completion, "completion parts")
    _leq(c.get(dout + "text_tokens", 0) + audio_out, completion, "completion modalities")
    _leq(
        c.get(dout + "accepted_prediction_tokens", 0)
        + c.get(dout + "rejected_prediction_tokens", 0),
        completion,
        "predictions",
    )
    audio = {"openai": "openai", "qwen": "qwen", "volcengine": "volcengine"}.get(vendor)
    explicit = _qwen_explicit(usage, din) if vendor == "qwen" else 0
    meters = {
        "input": prompt - cached - write - (audio_in - audio_hit),
        "cache_read": cached - explicit * cached - audio_hit,
        "qwen.explicit_cache_read_tokens": explicit * cached,
        "cache_write": write - long_write,
        "output": completion - reasoning - audio_out,
        "reasoning": reasoning,
        "openai.cache_write_12h": long_write,
    }
    if audio:
        meters[f"{audio}.audio_in_tokens"] = audio_in - audio_hit
        meters[f"{audio}.audio_out_tokens"] = audio_out
    if vendor == "volcengine":
        meters["volcengine.audio_cache_read_tokens"] = audio_hit
    return meters


def _anthropic(usage: dict[str, Any], strict: bool) -> tuple[dict[str, int], str | None]:
    known = {
        "input_tokens",
        "output_tokens",
        "cache_creation_input_tokens",
        "cache_read_input_tokens",
        "output_tokens_details.thinking_tokens",
        "cache_creation.ephemeral_5m_input_tokens",
        "cache_creation.ephemeral_1h_input_tokens",
        "server_tool_use.web_search_requests",
        "server_tool_use.web_fetch_requests",
        "service_tier",
        "speed",
        "inference_geo",
    }
    _objects_on_paths(usage, known)
    if strict:
        _strict_leaves(usage, "", known)
    c = {path: _count_at(usage, path) for path in known if "." in path or path.endswith("_tokens")}
    thinking = c["output_tokens_details.thinking_tokens"]
    one_hour = c["cache_creation.ephemeral_1h_input_tokens"]
    _leq(thinking, c["output_tokens"], "thinking")
    _leq(
        c["cache_creation.ephemeral_5m_input_tokens"] + one_hour,
        c["cache_creation_input_tokens"],
        "cache lifetimes",
    )
    allowed = {
        "service_tier": _TIER_NAMES[:3],
        "speed": ("standard", "fast"),
        "inference_geo": ("global", "us", "not_available"),
    }
    for name, values in allowed.items():
        if usage.get(name) is not None and usage[name] not in values:
            raise _Rejected("invalid_usage", f"{name} {usage[name]!r} (UNIT-083)")
    tier = None
    if any(usage.get(name) is not None for name in allowed):
        base = usage.get("service_tier") or "standard"
        suffix = ("_fast" if usage.get("speed") == "fast" else "") + (
            "_us" if usage.get("inference_geo") == "us" else ""
        )
        tier = f"anthropic.{base}{suffix}" if suffix else base
    meters = {
        "input": c["input_tokens"],
        "cache_read": c["cache_read_input_tokens"],
        "cache_write": c["cache_creation_input_tokens"] - one_hour,
        "output": c["output_tokens"] - thinking,
        "reasoning": thinking,
        "web_search": c["server_tool_use.web_search_requests"],
        "anthropic.cache_write_1h": one_hour,
        "anthropic.web_fetch_requests": c["server_tool_use.web_fetch_requests"],
    }
    return meters, tier


_GEMINI_TOP = (
    "promptTokenCount",
    "cachedContentTokenCount",
    "candidatesTokenCount",
    "thoughtsTokenCount",
    "toolUsePromptTokenCount",
    "totalTokenCount",
    "promptTokensDetails",
    "cacheTokensDetails",
    "candidatesTokensDetails",
    "toolUsePromptTokensDetails",
    "trafficType",
)
_TRAFFIC = {
    "TRAFFIC_TYPE_UNSPECIFIED": None,
    "ON_DEMAND": None,
    "ON_DEMAND_PRIORITY": "priority",
    "ON_DEMAND_FLEX": "flex",
    "ON_DEMAND_OFFPEAK": "google.offpeak",
    "PROVISIONED_THROUGHPUT": "google.provisioned_throughput",
}
_MODALITIES = ("TEXT", "IMAGE", "VIDEO", "AUDIO", "DOCUMENT", "MODALITY_UNSPECIFIED")


def _snake_case(name: str) -> str:
    return "".join("_" + ch.lower() if ch.isupper() else ch for ch in name)


def _gemini(usage: dict[str, Any], strict: bool) -> tuple[dict[str, int], str | None]:
    camel = [name for name in _GEMINI_TOP if name in usage]
    snake = [name for name in _GEMINI_TOP if _snake_case(name) in usage]
    if camel and snake:
        raise _Rejected("invalid_usage", "mixed spellings (UNIT-094)")
    spell = (lambda name: name) if camel or not snake else _snake_case
    if strict:
        _strict_leaves(usage, "", {spell(name) for name in _GEMINI_TOP})

    def audio(member: str) -> int:
        items = usage.get(spell(member))
        if items is None:
            return 0
        if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
            raise _Rejected("invalid_usage", f"{member} is not an array of objects")
        seen: dict[str, int] = {}
        for item in items:
            if strict:
                _strict_leaves(item, "", {"modality", spell("tokenCount")})
            modality = item.get("modality") or "MODALITY_UNSPECIFIED"
            if not isinstance(modality, str):
                raise _Rejected("invalid_usage", "modality is not a string")
            count = _count_at(item, spell("tokenCount"))
            if strict and count and modality not in _MODALITIES:
                raise _Rejected("invalid_usage", f"unknown modality {modality!r}")
            if modality in seen:
                raise _Rejected("invalid_usage", f"modality {modality} twice")
            seen[modality] = count
        return seen.get("AUDIO", 0)

    n = {name: _count_at(usage, spell(name)) for name in _GEMINI_TOP[:5]}
    ap, ac = audio("promptTokensDetails"), audio("cacheTokensDetails")
    ao, at = audio("candidatesTokensDetails"), audio("toolUsePromptTokensDetails")
    p, cc = n["promptTokenCount"], n["cachedContentTokenCount"]
    o, tu = n["candidatesTokenCount"], n["toolUsePromptTokenCount"]
    _leq(cc, p, "cached")
    _leq(ac, cc, "cached audio")
    _leq(ac, ap, "cached audio of prompt audio")
    _leq(ap - ac, p - cc, "uncached audio")
    _leq(at, tu, "tool audio")
    _leq(ao, o, "output audio")
    traffic = usage.get(spell("trafficType"))
    if traffic is not None and traffic not in _TRAFFIC:
        raise _Rejected("invalid_usage", f"trafficType {traffic!r} (UNIT-095)")
    meters = {
        "input": (p - cc) - (ap - ac) + (tu - at),
        "cache_read": cc - ac,
        "output": o - ao,
        "reasoning": n["thoughtsTokenCount"],
        "google.audio_in_tokens": ap - ac + at,
        "google.audio_cache_read_tokens": ac,
        "google.audio_out_tokens": ao,
    }
    return meters, None if traffic is None else _TRAFFIC[traffic]


def _dashscope(usage: dict[str, Any], strict: bool) -> dict[str, int]:
    known = {
        "input_tokens",
        "output_tokens",
        "total_tokens",
        "prompt_tokens_details.cached_tokens",
        "prompt_tokens_details.cache_creation_input_tokens",
        "prompt_tokens_details.cache_creation.ephemeral_5m_input_tokens",
        "prompt_tokens_details.cache_type",
        "input_tokens_details.text_tokens",
        "input_tokens_details.image_tokens",
        "input_tokens_details.video_tokens",
        "input_tokens_details.audio_tokens",
        "output_tokens_details.reasoning_tokens",
        "output_tokens_details.text_tokens",
        "output_tokens_details.audio_tokens",
        "plugins.search.count",
        "plugins.search.strategy",
    }
    _objects_on_paths(usage, known)
    if strict:
        _strict_leaves(usage, "", known)
    c = {
        path: _count_at(usage, path)
        for path in known
        if not path.endswith(("cache_type", "strategy"))
    }
    prompt, completion = c["input_tokens"], c["output_tokens"]
    cached = c["prompt_tokens_details.cached_tokens"]
    write = c["prompt_tokens_details.cache_creation_input_tokens"]
    ai, ao = c["input_tokens_details.audio_tokens"], c["output_tokens_details.audio_tokens"]
    reasoning = c["output_tokens_details.reasoning_tokens"]
    _leq(c["prompt_tokens_details.cache_creation.ephemeral_5m_input_tokens"], write, "5m writes")
    _leq(cached + write + ai, prompt, "prompt parts")
    _leq(
        sum(c[f"input_tokens_details.{m}_tokens"] for m in ("text", "image", "video", "audio")),
        prompt,
        "input modalities",
    )
    _leq(reasoning + ao, completion, "output parts")
    _leq(c["output_tokens_details.text_tokens"] + ao, completion, "output modalities")
    explicit = _qwen_explicit(usage, "prompt_tokens_details.")
    return {
        "input": prompt - cached - write - ai,
        "cache_read": cached - explicit * cached,
        "qwen.explicit_cache_read_tokens": explicit * cached,
        "cache_write": write,
        "output": completion - reasoning - ao,
        "reasoning": reasoning,
        "web_search": c["plugins.search.count"],
        "qwen.audio_in_tokens": ai,
        "qwen.audio_out_tokens": ao,
    }


_OTEL = (
    "gen_ai.usage.input_tokens",
    "gen_ai.usage.output_tokens",
    "gen_ai.usage.cache_read.input_tokens",
    "gen_ai.usage.cache_creation.input_tokens",
    "gen_ai.usage.reasoning.output_tokens",
)


def _otel(attributes: dict[str, Any], strict: bool) -> tuple[dict[str, int], str | None]:
    if strict:
        for name, value in attributes.items():
            if name.startswith("gen_ai.usage.") and name not in _OTEL and not _zero(value):
                raise _Rejected("invalid_usage", f"strict mode: {name}")
    total_in, total_out, read, write, reasoning = (
        _count_at({"v": attributes.get(name)}, "v") for name in _OTEL
    )
    _leq(read + write, total_in, "cache parts")
    _leq(reasoning, total_out, "reasoning")
    model = None
    for name in ("gen_ai.response.model", "gen_ai.request.model"):
        if isinstance(attributes.get(name), str) and attributes[name]:
            model = attributes[name]
            break
    meters = {
        "input": total_in - read - write,
        "cache_read": read,
        "cache_write": write,
        "output": total_out - reasoning,
        "reasoning": reasoning,
    }
    return meters, model


_COMPATIBLE = (
    "deepseek",
    "moonshot",
    "zhipu",
    "volcengine",
    "qianfan",
    "minimax",
    "vllm",
    "sglang",
    "qwen",
)
_RESPONSE_TIERS: dict[str, dict[str, str]] = {
    "openai": {
        "default": "standard",
        "flex": "flex",
        "priority": "priority",
        "scale": "openai.scale",
        "fast": "openai.fast",
        "ultrafast": "openai.ultrafast",
    },
    "volcengine": {"default": "standard", "scale": "volcengine.scale"},
}


def _adapt_report(vendor: str, report: Any, model: Any, strict: bool, tier: Any) -> dict[str, Any]:
    """UNIT-080, UNIT-081, UNIT-012 around one vendor table; the usage object."""
    if not isinstance(report, dict):
        raise _Rejected("invalid_usage", "the report is not an object")
    holders = {"gemini": ("usageMetadata", "usage_metadata"), "otel": ()}.get(vendor, ("usage",))
    model_names = {"gemini": ("modelVersion", "model_version"), "dashscope": (), "otel": ()}.get(
        vendor, ("model",)
    )
    usage, found_model, response_tier = report, None, None
    for holder in holders:
        if holder in report:
            usage = report[holder]
            if usage is None:
                raise _Rejected("invalid_usage", "the response's usage is null (UNIT-080)")
            found_model = next((report[n] for n in model_names if n in report), None)
            response_tier = report.get("service_tier")
            break
    if not isinstance(usage, dict):
        raise _Rejected("invalid_usage", "the usage is not an object")
    reported = None
    if vendor in ("openai", *_COMPATIBLE):
        meters = _openai_like(vendor, usage, strict)
    elif vendor == "anthropic":
        meters, reported = _anthropic(usage, strict)
    elif vendor == "gemini":
        meters, reported = _gemini(usage, strict)
    elif vendor == "dashscope":
        meters = _dashscope(usage, strict)
    else:
        meters, found_model = _otel(usage, strict)
    if response_tier is not None:
        table = _RESPONSE_TIERS.get(
            vendor, {"default": "standard", "standard": "standard"} if vendor in _COMPATIBLE else {}
        )
        if response_tier not in table:
            raise _Rejected("invalid_usage", f"service_tier {response_tier!r} (UNIT-081)")
        reported = reported or table[response_tier]
    if tier is not None and reported is not None and tier != reported and reported != "standard":
        raise _Rejected("invalid_usage", f"tier {reported!r} reported, {tier!r} given (UNIT-081)")
    final_tier = tier if tier is not None else reported
    chosen = model if model is not None else found_model
    if not isinstance(chosen, str) or not 1 <= len(chosen) <= 256:
        raise _Rejected("invalid_usage", f"model {chosen!r} (UNIT-012)")
    result: dict[str, Any] = {
        "model": chosen,
        "meters": {name: meters[name] for name in sorted(meters, key=_meter_order) if meters[name]},
    }
    if final_tier is not None:
        result["service_tier"] = final_tier
    return result


def _finished(reason: Any) -> bool:
    return reason is not None and reason != "null"


def _adapt_stream(
    vendor: str, chunks: list[Any], model: Any, strict: bool, tier: Any
) -> dict[str, Any]:
    """UNIT-100..UNIT-104: the usage of one stream, exactly once."""
    finals: list[Any] = []
    last: tuple[Any, bool] | None = None
    seen_model = None
    start: dict[str, Any] | None = None
    delta = False

    def typed(owner: dict[str, Any], name: str, kind: type) -> Any:
        value = owner.get(name)
        if value is not None and not isinstance(value, kind):
            raise _Rejected("invalid_usage", f"{name} has the wrong type (UNIT-100)")
        return value

    def named(value: Any, current: Any) -> Any:
        return value if isinstance(value, str) else current  # a null model is absent

    for chunk in chunks:
        if not isinstance(chunk, dict):
            raise _Rejected("invalid_usage", "a chunk is not an object (UNIT-100)")
        if vendor == "anthropic":
            if chunk.get("type") == "message_start":
                if start is not None:
                    raise _Rejected("invalid_usage", "a second message_start (UNIT-102)")
                seen_model = named(chunk["message"].get("model"), seen_model)
                start = dict(chunk["message"].get("usage") or {})
            elif chunk.get("type") == "message_delta":
                if start is None:
                    raise _Rejected("invalid_usage", "message_delta before message_start")
                start = {
                    **start,
                    **{k: v for k, v in chunk["usage"].items() if v is not None},
                }
                delta = True
            continue
        if vendor == "gemini":
            seen_model = named(chunk.get("modelVersion", chunk.get("model_version")), seen_model)
            usage = chunk.get("usageMetadata", chunk.get("usage_metadata"))
            candidates = typed(chunk, "candidates", list) or []
            if usage is not None:
                done = any(
                    _finished(c.get("finishReason", c.get("finish_reason"))) for c in candidates
                )
                feedback = chunk.get("promptFeedback", chunk.get("prompt_feedback")) or {}
                last = (
                    usage,
                    done or _finished(feedback.get("blockReason", feedback.get("block_reason"))),
                )
            continue
        if vendor == "dashscope":
            output = typed(chunk, "output", dict) or {}
            choices = typed(output, "choices", list) or []
            if chunk.get("usage") is not None:
                done = _finished(output.get("finish_reason")) or any(
                    _finished(c.get("finish_reason")) for c in choices
                )
                last = (chunk["usage"], done)
            continue
        if chunk.get("type") in ("response.completed", "response.incomplete", "response.failed"):
            response = chunk.get("response") or {}
            if response.get("usage") is not None:
                seen_model = named(response.get("model"), seen_model)
                finals.append(response["usage"])
            continue
        seen_model = named(chunk.get("model"), seen_model)
        typed(chunk, "choices", list)
        if chunk.get("usage") is None:
            continue
        if not chunk.get("choices"):
            finals.append(chunk["usage"])
        else:
            last = (
                chunk["usage"],
                all(_finished(c.get("finish_reason")) for c in chunk["choices"]),
            )
    if len(finals) > 1:
        raise _Rejected("invalid_usage", "two final usages in one stream (UNIT-100)")
    given = model if model is not None else seen_model
    if vendor == "anthropic":
        if not delta or start is None:
            raise _Rejected("incomplete_stream", "no message_start and message_delta (UNIT-102)")
        return _adapt_report(vendor, start, given, strict, tier)
    if finals:
        return _adapt_report(vendor, finals[0], given, strict, tier)
    if last is not None and last[1]:
        return _adapt_report(vendor, last[0], given, strict, tier)
    raise _Rejected("incomplete_stream", "the stream ended before its usage (UNIT-100)")


@checker("adapters")
def check_adapters(vector: dict[str, Any], context: Context) -> Outcome:
    """An ``adapters`` vector: ``{format, usage | stream, model?, strict?, service_tier?}`` ->
    the usage object or ``{error}``."""
    given, expected = vector["input"], vector["expected"]
    options = (given.get("model"), given.get("strict", True), given.get("service_tier"))
    try:
        if "stream" in given:
            result = _adapt_stream(given["format"], given["stream"], *options)
        else:
            result = _adapt_report(given["format"], given["usage"], *options)
    except _Rejected as rejected:
        return _judge(expected, rejected, None)
    return _judge(expected, None, result)


# --------------------------------------------------------------------------- conversion


def _check_rates(rates: Any, context: Context) -> None:
    """FX-010 steps 4 to 6 on exchange-rate claims."""
    if not isinstance(rates, dict):
        raise _Rejected("schema_violation", "the exchange-rate set is not a JSON object")
    _check_version(rates, "exchange-rate set")
    _schema_check(context, "exchange-rates", rates, "exchange-rate set", _rates_code)
    _check_entity_id(rates, "iss", "exchange-rate set")
    if not rates["nbf"] < rates["exp"]:
        raise _Rejected("schema_violation", "exchange-rate set nbf is not before exp (FX-008)")


def _convert(rates: dict[str, Any], amount: Any, source: Any, target: Any, at: Any) -> str:
    """FX-021..FX-025: the converted amount as a canonical decimal string."""
    if at is not None and not rates["nbf"] <= at < rates["exp"]:
        raise _Rejected(
            "rates_not_valid",
            f"the set is valid from {rates['nbf']} to before {rates['exp']}, not at {at}",
        )
    quotes = {"UTU": (Fraction(1), 6)}
    for code, quote in rates["rates"].items():
        quotes[code] = (_decimal(quote["rate"]), quote["precision"])
    for role, code in (("from", source), ("to", target)):
        if not isinstance(code, str) or code not in quotes:
            raise _Rejected("unknown_currency", f"{role} code {code!r} is neither UTU nor quoted")
    source_rate, source_precision = quotes[source]
    target_rate, target_precision = quotes[target]
    if (
        not isinstance(amount, str)
        or len(amount) > MAX_DECIMAL_CHARS
        or not _DECIMAL.fullmatch(amount)
    ):
        raise _Rejected("invalid_amount", f"{amount!r} is not a canonical decimal (CONV-020)")
    if _fraction_digits(amount) > source_precision:
        raise _Rejected(
            "invalid_amount", f"{amount} has more than {source_precision} fractional digits"
        )
    value = _decimal(amount) * target_rate / source_rate
    return _canonical(_round_half_even(value, target_precision))


@checker("conversion")
def check_conversion(vector: dict[str, Any], context: Context) -> Outcome:
    """A ``conversion`` vector: ``{rates, amount, from, to, at?}`` -> ``{amount, code,
    rates_id}`` or ``{error}``."""
    given, expected = vector["input"], vector["expected"]
    try:
        _check_rates(given["rates"], context)
        amount = _convert(
            given["rates"], given["amount"], given["from"], given["to"], given.get("at")
        )
    except _Rejected as rejected:
        return _judge(expected, rejected, None)
    result = {"amount": amount, "code": given["to"], "rates_id": given["rates"]["rates_id"]}
    return _judge(expected, None, result)


# --------------------------------------------------------------------------- receipts

RECEIPT_TYP = "tokenfed-receipt+jwt"
RATE_CARD_TYP = "tokenfed-rate-card+jwt"
_MAJOR_MINOR = re.compile(r"(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)")
BATCH_TYP = "tokenfed-receipt-batch+jwt"
MAX_RECEIPT_BYTES = 16384
CLOCK_SKEW = 300
_HEX64 = re.compile(r"[0-9a-f]{64}")


def _trust_store_code(error: ValidationError) -> str:
    """REC-034: the document's shape is schema_violation (a key that is not an object
    included); what is wrong inside a key object is invalid_key."""
    path = tuple(error.absolute_path)
    inside_key = len(path) >= 5 and path[3] == "keys"
    key_not_object = len(path) == 5 and error.validator == "type"
    return "invalid_key" if inside_key and not key_not_object else "schema_violation"


def _load_trust_store(store: Any, context: Context) -> dict[str, dict[str, dict[str, Any]]]:
    """REC-034: the keys by issuer and ``kid``; a bad key refuses the store (``invalid_key``)."""
    _check_version(store, "trust store")
    _schema_check(context, "trust-store", store, "trust store", _trust_store_code)
    trusted: dict[str, dict[str, dict[str, Any]]] = {}
    for issuer, entry in store["issuers"].items():
        if not _is_entity_id(issuer):
            raise _Rejected(
                "schema_violation", f"trust store issuer {issuer!r} is not an entity id"
            )
        keys: dict[str, dict[str, Any]] = {}
        for jwk in entry["jwks"]["keys"]:
            try:
                key, alg = _trusted_key(jwk)
            except (JoseError, ValueError, KeyError, TypeError) as exc:
                raise _Rejected("invalid_key", f"a key of {issuer} does not load: {exc}") from None
            if jwk.get("alg", alg) != alg:
                raise _Rejected("invalid_key", f"a {jwk['crv']} key of {issuer} claims {alg}")
            thumbprint = key.thumbprint()
            if jwk.get("kid") != thumbprint:
                raise _Rejected(
                    "invalid_key",
                    f"a key of {issuer} has kid {jwk.get('kid')!r}, not its thumbprint "
                    f"{thumbprint} (REC-034, CONV-045)",
                )
            if thumbprint in keys:
                raise _Rejected("invalid_key", f"key {thumbprint} is listed twice for {issuer}")
            if "exp" in jwk and jwk["exp"] <= jwk["nbf"]:
                raise _Rejected("invalid_key", f"key {thumbprint}: exp is not after nbf")
            keys[thumbprint] = jwk
        trusted[issuer] = keys
    return trusted


def _key_window(jwk: dict[str, Any], claims: dict[str, Any]) -> None:
    """REC-031: the key was valid at the claims' ``iat`` (when ``iat`` is an integer)."""
    iat = claims.get("iat")
    if not _is_int(iat):
        return
    if iat < jwk["nbf"]:
        raise _Rejected("key_not_valid", f"iat {iat} is before the key's nbf {jwk['nbf']}")
    if "exp" in jwk and iat >= jwk["exp"]:
        raise _Rejected("key_not_valid", f"iat {iat} is at or after the key's exp {jwk['exp']}")
    revoked = jwk.get("revoked")
    if revoked is not None and iat >= revoked["revoked_at"]:
        raise _Rejected("key_not_valid", f"iat {iat} is at or after the key's revocation {revoked}")


def _leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def _node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _root_from_proof(index: int, size: int, leaf: bytes, path: Iterable[bytes]) -> bytes | None:
    """The root an inclusion proof leads to (RFC 9162 section 2.1.3.2), or None."""
    if index >= size:
        return None
    node, last, root = index, size - 1, leaf
    for sibling in path:
        if last == 0:
            return None
        if node & 1 or node == last:
            root = _node_hash(sibling, root)
            while not node & 1 and node != 0:
                node >>= 1
                last >>= 1
        else:
            root = _node_hash(root, sibling)
        node >>= 1
        last >>= 1
    return root if last == 0 else None


_BATCHED_MEMBERS: dict[str, type] = {
    "ver": str,
    "claims": str,
    "leaf_index": int,
    "audit_path": list,
    "batch": str,
}


def _parse_batched(receipt: dict[str, Any]) -> tuple[bytes, dict[str, Any]]:
    """REC-062 step 1: the members of the table; the claims bytes and the claims."""
    for name, kind in _BATCHED_MEMBERS.items():
        value = receipt.get(name)
        if not isinstance(value, kind) or isinstance(value, bool):
            raise _Rejected("malformed", f"batched receipt member {name} is not a {kind.__name__}")
    if not _MAJOR_MINOR.fullmatch(receipt["ver"]):
        raise _Rejected("malformed", f"ver {receipt['ver']!r} is not MAJOR.MINOR")
    if not 0 <= receipt["leaf_index"] <= MAX_SAFE_INTEGER:
        raise _Rejected("malformed", f"leaf_index {receipt['leaf_index']} is out of range")
    if not all(isinstance(entry, str) for entry in receipt["audit_path"]):
        raise _Rejected("malformed", "audit_path holds something other than strings")
    try:
        claims_bytes = _b64url_strict(receipt["claims"], "claims")
        claims = parse_strict_json(claims_bytes)
    except ValueError as exc:
        raise _Rejected("malformed", str(exc)) from None
    if not isinstance(claims, dict):
        raise _Rejected("malformed", "the claims are not a JSON object")
    return claims_bytes, claims


@dataclass
class _Verifier:
    """A receipt verifier with a trust store, rate cards and a clock, that records receipts
    (REC-042) and tracks streams (REC-043)."""

    context: Context
    keys: dict[str, dict[str, dict[str, Any]]]
    cards: dict[str, dict[str, dict[str, Any]]]
    now: int
    seen: dict[tuple[str, str], str] = field(default_factory=dict)
    heads: dict[tuple[str, str], tuple[int, str]] = field(default_factory=dict)

    @classmethod
    def configure(cls, context: Context, store: Any, cards: list[Any], now: int) -> _Verifier:
        """Load the trust store and the rate cards: each a JWS verified with the trust store's
        key for its iss (UNIT-031), then checked by UNIT-030 steps 4 to 6. Several versions of
        one rate_card_id are held by digest (REC-049)."""
        keys = _load_trust_store(store, context)
        verifier = cls(context, keys, {}, now)
        for token in cards:
            card = _open_jws(token, RATE_CARD_TYP, MAX_TOKEN_BYTES, verifier.find_key, _key_window)
            card_digest = _check_rate_card(card.claims, context)
            if _digest(card.payload) != card_digest:
                raise _Rejected("?", "a fixture rate card's payload is not the JCS of its claims")
            verifier.cards.setdefault(card.claims["rate_card_id"], {})[card_digest] = card.claims
        return verifier

    def find_key(self, header: dict[str, Any], claims: dict[str, Any]) -> dict[str, Any]:
        """REC-033: only a key listed under the claims' ``iss``, by the header's ``kid``."""
        issuer, kid = claims.get("iss"), header.get("kid")
        keys = self.keys.get(issuer) if isinstance(issuer, str) else None
        if keys is None:
            raise _Rejected("unknown_key", f"iss {issuer!r} is not in the trust store")
        if not isinstance(kid, str) or kid not in keys:
            raise _Rejected("unknown_key", f"no key {kid!r} is listed for {issuer}")
        return keys[kid]

    def verify(self, receipt: Any) -> tuple[dict[str, Any], bool, Fraction]:
        """The claims, whether they are an identical resubmission, and the priced amount."""
        if isinstance(receipt, dict):
            return self.verify_batched(receipt)
        signed = _open_jws(receipt, RECEIPT_TYP, MAX_RECEIPT_BYTES, self.find_key, _key_window)
        return self.semantics(signed.claims, signed.payload, receipt.encode("ascii"))

    def verify_batched(self, receipt: dict[str, Any]) -> tuple[dict[str, Any], bool, Fraction]:
        """REC-062 steps 1 to 5."""
        claims_bytes, claims = _parse_batched(receipt)
        statement = _open_jws(
            receipt["batch"], BATCH_TYP, MAX_RECEIPT_BYTES, self.find_key, _key_window
        ).claims
        _check_version(statement, "batch statement")
        _schema_check(
            self.context,
            "batch-statement",
            statement,
            "batch statement",
            lambda error: "schema_violation",
        )
        index, size = receipt["leaf_index"], statement["tree_size"]
        if index >= size:
            raise _Rejected("invalid_proof", f"leaf_index {index} is not below tree_size {size}")
        for entry in receipt["audit_path"]:
            if not _HEX64.fullmatch(entry):
                raise _Rejected("invalid_proof", f"audit path entry {entry!r} is not 32 bytes")
        path = [bytes.fromhex(entry) for entry in receipt["audit_path"]]
        root = _root_from_proof(index, size, _leaf_hash(claims_bytes), path)
        if root is None or root.hex() != statement["tree_root"]:
            raise _Rejected("invalid_proof", "the audit path does not lead to tree_root")
        if claims.get("iss") != statement["iss"]:
            raise _Rejected(
                "invalid_proof",
                f"claims iss {claims.get('iss')!r} is not the statement's {statement['iss']}",
            )
        if _is_int(claims.get("iat")) and claims["iat"] > statement["iat"]:
            raise _Rejected(
                "invalid_proof",
                f"claims iat {claims['iat']} is after the statement's iat {statement['iat']} "
                "(REC-065)",
            )
        _check_version(receipt, "batched receipt")
        return self.semantics(claims, claims_bytes, claims_bytes)

    def semantics(
        self, claims: dict[str, Any], content: bytes, receipt_bytes: bytes
    ) -> tuple[dict[str, Any], bool, Fraction]:
        """REC-040 steps 7 to 13; record the receipt when every step passed (REC-044)."""
        _check_version(claims, "receipt")
        _schema_check(self.context, "receipt", claims, "receipt claims", _receipt_code)
        iat = claims["iat"]
        if iat > self.now + CLOCK_SKEW:
            raise _Rejected(
                "iat_in_future", f"iat {iat} is after now {self.now} + {CLOCK_SKEW} s of skew"
            )
        reference = claims["rate_card"]
        versions = self.cards.get(reference["id"])
        if versions is None:
            raise _Rejected("unknown_rate_card", f"no rate card {reference['id']!r} is held")
        card_digest = reference["digest"]
        card = versions.get(card_digest)
        if card is None:
            raise _Rejected(
                "rate_card_mismatch", f"no held version of the card has the digest {card_digest}"
            )
        if not card["nbf"] <= iat < card["exp"]:
            raise _Rejected(
                "rate_card_mismatch",
                f"the card is valid from {card['nbf']} to before {card['exp']}, not at {iat}",
            )
        amount, _ = _price(card, claims["usage"], iat, card_digest)
        if _decimal(claims["amount"]) != amount:
            raise _Rejected(
                "amount_mismatch",
                f"amount {claims['amount']} but the usage prices at {_canonical(amount)}",
            )
        identity = (claims["iss"], claims["jti"])
        content_digest = _digest(content)
        recorded = self.seen.get(identity)
        if recorded == content_digest:
            return claims, True, amount
        if recorded is not None:
            raise _Rejected("replay", f"jti {claims['jti']} was recorded with other content")
        stream = (claims["iss"], claims["aud"])
        head = self.heads.get(stream)
        seq, prev = claims["seq"], claims.get("prev")
        if head is None and seq != 1:
            raise _Rejected("chain_break", f"seq {seq} opens a stream the verifier has not seen")
        if head is not None and (seq != head[0] + 1 or prev != head[1]):
            raise _Rejected(
                "chain_break",
                f"seq {seq} prev {prev} does not follow seq {head[0]} with digest {head[1]}",
            )
        self.seen[identity] = content_digest
        self.heads[stream] = (seq, content_digest)  # REC-007: prev names the content digest
        return claims, False, amount


@checker("receipts")
def check_receipts(vector: dict[str, Any], context: Context) -> Outcome:
    """A ``receipts`` vector: ``{receipt, prior?, now, trust, rate_cards}`` ->
    ``{claims, duplicate?}`` or ``{error}``; the trust stores and rate cards are fixtures."""
    given, expected = vector["input"], vector["expected"]
    fixtures = context.fixtures
    try:
        verifier = _Verifier.configure(
            context,
            fixtures["trust"][given["trust"]],
            [fixtures["rate_card_tokens"][name] for name in given["rate_cards"]],
            given["now"],
        )
    except _Rejected as rejected:
        return _judge(expected, rejected, None, " (the verifier refused its trust input)")
    priors = given.get("prior", [])
    for number, prior in enumerate(priors, 1):
        try:
            verifier.verify(prior)
        except _Rejected as rejected:
            return Outcome(False, f"prior {number} rejected: {rejected.code}: {rejected.reason}")
    try:
        claims, duplicate, amount = verifier.verify(given["receipt"])
    except _Rejected as rejected:
        return _judge(expected, rejected, None, f" ({len(priors)} prior accepted)")
    result: dict[str, Any] = {"claims": claims}
    if duplicate:
        result["duplicate"] = True
    kind = "batched receipt" if isinstance(given["receipt"], dict) else "receipt"
    note = f" ({kind}, amount {_canonical(amount)} recomputed, {len(priors)} prior accepted"
    return _judge(expected, None, result, note + (", duplicate)" if duplicate else ")"))


# --------------------------------------------------------------------------- kind: files

_FILE_LINE_LIMIT = 65536


def _file_lines(data: bytes) -> list[bytes | None]:
    """REC-070: lines end at each LF, a CR before the LF is dropped, a last line without LF
    counts (a CR at its end being part of it); REC-071: a line over 65536 bytes is None
    (malformed, not parsed)."""
    if not data:
        return []
    pieces = data.split(b"\n")
    last = b"" if data.endswith(b"\n") else pieces[-1]
    pieces.pop()
    lines: list[bytes | None] = []
    for piece in pieces:
        if piece.endswith(b"\r"):
            piece = piece[:-1]
        lines.append(None if len(piece) > _FILE_LINE_LIMIT else piece)
    if last:
        lines.append(None if len(last) > _FILE_LINE_LIMIT else last)
    return lines


_FILE_BLANKS = b" \t\r"  # REC-070: not part of the receipt a line holds, at its start and end


def _file_line(verifier: _Verifier, line: bytes | None) -> dict[str, Any]:
    if line is None or not line.strip(_FILE_BLANKS):
        return {"ok": False, "error": "malformed"}
    try:
        receipt_bytes = line.strip(_FILE_BLANKS)
        if receipt_bytes.startswith(b"{"):
            receipt: Any = parse_strict_json(receipt_bytes)
            if not isinstance(receipt, dict):
                raise _Rejected("malformed", "a batched receipt is an object")
        else:
            receipt = receipt_bytes.decode("ascii")
        claims, duplicate, _ = verifier.verify(receipt)
    except ValueError:
        return {"ok": False, "error": "malformed"}
    except _Rejected as rejected:
        return {"ok": False, "error": rejected.code}
    row: dict[str, Any] = {"ok": True, "iss": claims["iss"], "jti": claims["jti"]}
    row["amount"] = claims["amount"]
    if duplicate:
        row["duplicate"] = True
    return row


@checker("files")
def check_files(vector: dict[str, Any], context: Context) -> Outcome:
    """A ``files`` vector: the file's bytes -> one result per line and a summary (REC-070);
    the trust store and rate cards are fixtures of receipts.json."""
    given, expected = vector["input"], vector["expected"]
    receipts = json.loads(
        (context.spec / "vectors" / "receipts.json").read_text(encoding="utf-8"),
        object_pairs_hook=_no_duplicates,
    )
    fixtures = receipts["fixtures"]
    verifier = _Verifier.configure(
        context,
        fixtures["trust"][given["trust"]],
        [fixtures["rate_card_tokens"][name] for name in given["rate_cards"]],
        given["now"],
    )
    data = _b64url_strict(given["file"], "file") if given["file"] else b""
    rows = [
        {"line": number, **_file_line(verifier, line)}
        for number, line in enumerate(_file_lines(data), 1)
    ]
    accepted = [row for row in rows if row["ok"] and not row.get("duplicate")]
    summary = {
        "lines": len(rows),
        "accepted": len(accepted),
        "duplicates": sum(bool(row.get("duplicate")) for row in rows),
        "rejected": sum(not row["ok"] for row in rows),
        "amount": _canonical(sum((_decimal(row["amount"]) for row in accepted), Fraction(0))),
    }
    result = {"results": rows, "summary": summary}
    return _judge(expected, None, result, f" ({len(rows)} lines)")


# --------------------------------------------------------------------------- documents


def _check_parsed_strings(value: Any, what: str) -> None:
    """A parsed document no strict text can hold: a string with a noncharacter (CONV-016)."""
    if isinstance(value, str):
        bad = _first_noncharacter(value)
        if bad is not None:
            raise _Rejected("malformed", f"{what} holds the noncharacter U+{bad:04X} (CONV-016)")
    elif isinstance(value, dict):
        for name, member in value.items():
            _check_parsed_strings(name, what)
            _check_parsed_strings(member, what)
    elif isinstance(value, list):
        for item in value:
            _check_parsed_strings(item, what)


@checker("documents")
def check_documents(vector: dict[str, Any], context: Context) -> Outcome:
    """Rate-card claims (UNIT-030 steps 4 to 6), exchange-rate claims (FX-010 steps 4 to 6) and
    usage objects (UNIT-007), given parsed or as a JSON text that is parsed strictly first."""
    given, expected = vector["input"], vector["expected"]
    kind = given["kind"]
    try:
        if "text" in given:
            try:
                document = parse_strict_json(given["text"].encode("utf-8"))
            except StrictJSONError as exc:
                raise _Rejected("malformed", str(exc)) from None
        else:
            document = given["document"]
            _check_parsed_strings(document, kind)
        if kind == "rate-card":
            result: dict[str, Any] = {"valid": True, "digest": _check_rate_card(document, context)}
        elif kind == "exchange-rates":
            _check_rates(document, context)
            result = {"valid": True, "digest": _digest(_jcs_text(document).encode("utf-8"))}
        elif kind == "usage":
            if not isinstance(document, dict):
                raise _Rejected("schema_violation", "the usage is not a JSON object")
            _check_usage(document, context)
            result = {"valid": True}
        else:
            raise ValueError(f"unknown document kind {kind!r}")
    except _Rejected as rejected:
        return _judge(expected, rejected, None)
    return _judge(expected, None, result)


# --------------------------------------------------------------------------- kind: settlement


def _utu_micro(text: str) -> int:
    """A UTU amount (already schema-checked) as integer micro-UTU."""
    value = _decimal(text) * 10**6
    if value.denominator != 1:
        raise ValueError(f"{text} has more than 6 fractional digits")
    return value.numerator


def _settlement_code(error: ValidationError) -> str:
    """CONV-023 for settlement documents: amounts and shares are the decimal members."""
    path = tuple(error.absolute_path)
    decimal = bool(path) and path[-1] in ("amount", "share", "receivable", "payable", "net")
    return "invalid_amount" if decimal and isinstance(error.instance, str) else "schema_violation"


def _settlement_document(document: Any, schema: str, what: str, context: Context) -> None:
    if not isinstance(document, dict):
        raise _Rejected("schema_violation", f"the {what} is not a JSON object")
    _check_version(document, what)
    _schema_check(context, schema, document, what, _settlement_code)


def _line_sums(lines: list[dict[str, Any]], member: str) -> tuple[int, int]:
    """SET-021: strictly ascending (model, rate_card.digest); returns (count, micro-UTU)."""
    keys = [(line["model"], line["rate_card"]["digest"]) for line in lines]
    for index in range(1, len(keys)):
        if not keys[index - 1] < keys[index]:
            raise _Rejected(
                "schema_violation", f"statement {member}[{index}] is out of order or repeated"
            )
    return sum(line["count"] for line in lines), sum(_utu_micro(line["amount"]) for line in lines)


def _check_statement(statement: Any, context: Context, rates: Any = None) -> str:
    """SET-020's checks after the JWS steps (and SET-027 when ``rates`` is given)."""
    _settlement_document(statement, "settlement-statement", "statement", context)
    period = statement["period"]
    if not period["start"] < period["end"]:
        raise _Rejected("schema_violation", "statement period start is not before end (SET-010)")
    count, micro = _line_sums(statement["lines"], "lines")
    more_count, more_micro = _line_sums(statement["adjustments"], "adjustments")
    totals = statement["totals"]
    if totals["count"] != count + more_count or _utu_micro(totals["amount"]) != micro + more_micro:
        raise _Rejected("totals_mismatch", "totals are not the sum of the lines (SET-025)")
    if statement["receipts"]["count"] != totals["count"]:
        raise _Rejected("totals_mismatch", "receipts.count differs from totals.count (SET-025)")
    if "resubmits" in statement and statement["seq"] == 1:
        raise _Rejected("invalid_resubmission", "a statement with seq 1 resubmits (SET-024)")
    if statement["iat"] < period["end"] + statement["grace"]:
        raise _Rejected("period_not_closed", "signed before end + grace (SET-011)")
    conversion = statement.get("conversion")
    if rates is not None and conversion is not None:
        _check_rates(rates, context)
        if _digest(_jcs_text(rates).encode("utf-8")) != conversion["rates_digest"]:
            raise _Rejected("totals_mismatch", "conversion names another exchange-rate set")
        amount = _convert(
            rates, totals["amount"], "UTU", conversion["code"], conversion["fixed_at"]
        )
        if amount != conversion["amount"]:
            raise _Rejected(
                "totals_mismatch", f"converted total {conversion['amount']}, not {amount}"
            )
    return _digest(_jcs_text(statement).encode("utf-8"))


def _tree_head(digests: list[str]) -> str:
    """RFC 9162 MTH over the 32-byte values of content digests (SET-026)."""

    def head(leaves: list[bytes]) -> bytes:
        if len(leaves) == 1:
            return _leaf_hash(leaves[0])
        split = 1
        while split * 2 < len(leaves):
            split *= 2
        return _node_hash(head(leaves[:split]), head(leaves[split:]))

    if not digests:
        return hashlib.sha256(b"").hexdigest()
    return head([bytes.fromhex(digest[len("sha256:") :]) for digest in digests]).hex()


def _group(entries: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    groups: dict[tuple[str, str], list[Any]] = {}
    for entry in entries:
        key = (entry["model"], entry["rate_card"]["digest"])
        group = groups.setdefault(key, [entry["rate_card"]["id"], 0, 0])
        group[1] += 1
        group[2] += _utu_micro(entry["amount"])
    return [(m, c[0], d, c[1], c[2]) for (m, d), c in sorted(groups.items())]


def _as_group(lines: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return [
        (
            x["model"],
            x["rate_card"]["id"],
            x["rate_card"]["digest"],
            x["count"],
            _utu_micro(x["amount"]),
        )
        for x in lines
    ]


def _check_receipt_list(statement: dict[str, Any], listing: Any, context: Context) -> list[Any]:
    """SET-028: the list belongs to the statement (statement already checked)."""
    if not isinstance(listing, dict):
        raise _Rejected("schema_violation", "the receipt list is not a JSON object")
    _schema_check(
        context,
        "settlement-receipt-list",
        listing,
        "receipt list",
        lambda _error: "schema_violation",  # SET-028: any other shape is schema_violation
    )
    if listing["statement_id"] != statement["statement_id"]:
        raise _Rejected("invalid_proof", "the receipt list names another statement")
    entries = listing["receipts"]
    order = [(entry["seq"], entry["jti"]) for entry in entries]
    if any(not order[i - 1] < order[i] for i in range(1, len(order))):
        raise _Rejected("invalid_proof", "entries are not ordered by seq, jti (SET-026)")
    tree = statement["receipts"]
    if len(entries) != tree["count"] or _tree_head([e["digest"] for e in entries]) != tree["root"]:
        raise _Rejected("invalid_proof", "the entries do not give receipts.root (SET-028)")
    start, end = statement["period"]["start"], statement["period"]["end"]
    if any(entry["iat"] >= end for entry in entries):
        raise _Rejected("totals_mismatch", "an entry of a later period")
    current = [entry for entry in entries if entry["iat"] >= start]
    late = [entry for entry in entries if entry["iat"] < start]
    if _group(current) != _as_group(statement["lines"]) or _group(late) != _as_group(
        statement["adjustments"]
    ):
        raise _Rejected("totals_mismatch", "the entries do not add up to the lines (SET-028)")
    return entries


def _check_history(history: dict[str, Any], statement: dict[str, Any]) -> None:
    """SET-014, SET-023, SET-013, SET-024, in that order."""
    period = (statement["period"]["start"], statement["period"]["end"])
    if "grace" in history and statement["grace"] != history["grace"]:
        raise _Rejected("period_not_closed", "grace is not the agreed window (SET-014)")
    if statement["seq"] != history["last_seq"] + 1:
        raise _Rejected("chain_break", "seq does not continue the pair (SET-023)")
    if any((p["start"], p["end"]) == period for p in history["finalized"]):
        raise _Rejected("invalid_resubmission", "the period is finalized (SET-013)")
    disputed = [
        d["statement"]
        for d in history["disputed"]
        if (d["period"]["start"], d["period"]["end"]) == period
    ]
    if "resubmits" in statement:
        if not disputed or statement["resubmits"] != disputed[-1]:
            raise _Rejected("invalid_resubmission", "resubmits names no disputed statement")
    elif disputed:
        raise _Rejected("invalid_resubmission", "a disputed period needs resubmits (SET-024)")


def _check_response(response: Any, context: Context) -> str:
    _settlement_document(response, "settlement-response", "response", context)
    if (response["status"] == "accept") != (not response["disputes"]):
        raise _Rejected("schema_violation", "status and disputes disagree (SET-031)")
    for dispute in response["disputes"]:
        if ("code" in dispute) != (dispute["reason"] == "failed_verification"):
            raise _Rejected("schema_violation", "a code without failed_verification (SET-031)")
    return _digest(_jcs_text(response).encode("utf-8"))


def _reconcile(given: dict[str, Any], context: Context) -> dict[str, Any]:
    """SET-030, SET-032: what the payer disputes."""
    statement = given["statement"]
    _check_statement(statement, context)
    entries = _check_receipt_list(statement, given["receipt_list"], context)
    payee = statement["payee"]
    held: dict[str, str] = given["held"]
    rejected = {(r["iss"], r["jti"]): r["code"] for r in given["rejected"]}
    disputes = []
    flagged: dict[str, set[int]] = {"lines": set(), "adjustments": set()}
    for entry in entries:
        mine = held.get(entry["jti"])
        if mine == entry["digest"]:
            continue
        if mine is not None:
            dispute = {"reason": "failed_verification", "code": "replay"}
        elif (payee, entry["jti"]) in rejected:
            dispute = {"reason": "failed_verification", "code": rejected[(payee, entry["jti"])]}
        else:
            dispute = {"reason": "missing_at_payer"}
        disputes.append({"iss": payee, "jti": entry["jti"], **dispute})
        member = "lines" if entry["iat"] >= statement["period"]["start"] else "adjustments"
        key = (entry["model"], entry["rate_card"]["digest"])
        for index, line in enumerate(statement[member]):
            if (line["model"], line["rate_card"]["digest"]) == key:
                flagged[member].add(index)
    listed = {entry["jti"] for entry in entries}
    for jti in held:
        if jti not in listed:
            disputes.append({"iss": payee, "jti": jti, "reason": "missing_at_payee"})
    disputes.sort(key=lambda d: (d["iss"], d["jti"]))
    return {
        "status": "dispute" if disputes else "accept",
        "disputes": disputes,
        "disputed_lines": {name: sorted(indexes) for name, indexes in flagged.items()},
    }


def _split(given: dict[str, Any], context: Context) -> dict[str, Any]:
    """SET-040, SET-041, SET-042 with exact fractions."""
    agreement = given["agreement"]
    _settlement_document(agreement, "settlement-revenue-share", "agreement", context)
    parties = [part["party"] for part in agreement["parties"]]
    if len(set(parties)) != len(parties):
        raise _Rejected("schema_violation", "a party listed twice (SET-040)")
    if not agreement["nbf"] < agreement["exp"]:
        raise _Rejected("schema_violation", "nbf is not before exp")
    shares = [_decimal(part["share"]) for part in agreement["parties"]]
    if sum(shares) != 1:
        raise _Rejected("invalid_shares", f"the shares add up to {sum(shares)} (SET-040)")
    total_text, precision = given["total"], given["precision"]
    if not _DECIMAL.fullmatch(total_text) or _fraction_digits(total_text) > precision:
        raise _Rejected("invalid_amount", f"total {total_text!r} at precision {precision}")
    units = _decimal(total_text) * 10**precision
    assert units.denominator == 1
    total = units.numerator
    sign, magnitude = (-1, -total) if total < 0 else (1, total)
    exact = [magnitude * share for share in shares]
    parts = [int(value) for value in exact]  # floor: all values are >= 0
    ranking = sorted(
        range(len(shares)),
        key=lambda i: (-(exact[i] - parts[i]), -shares[i], parties[i]),
    )
    for i in ranking[: magnitude - sum(parts)]:
        parts[i] += 1
    scale = Fraction(1, 10**precision)
    return {
        "agreement_id": agreement["agreement_id"],
        "code": given["code"],
        "total": total_text,
        "parts": [
            {"party": party, "amount": _canonical(sign * units_ * scale)}
            for party, units_ in zip(parties, parts, strict=True)
        ],
    }


def _net(given: dict[str, Any], context: Context) -> dict[str, Any]:
    """SET-050, SET-051: exact gross sums and nets per currency."""
    netted: dict[str, dict[str, Any]] = {}
    for pair in given["pairs"]:
        statement, response = pair["statement"], pair["response"]
        digest = _check_statement(statement, context)
        _check_response(response, context)
        same = (
            response["iss"] == statement["payer"]
            and response["statement"]
            == {"statement_id": statement["statement_id"], "digest": digest}
            and response["payee"] == statement["payee"]
            and response["payer"] == statement["payer"]
            and response["period"] == statement["period"]
            and response["seq"] == statement["seq"]
        )
        if not same:
            raise _Rejected("invalid_resubmission", "the response answers another statement")
        if response["status"] != "accept":
            raise _Rejected("statement_not_accepted", "the payer disputed it (SET-050)")
        netted[digest] = statement
    sums: dict[str, dict[str, list[Fraction]]] = {}
    for statement in netted.values():
        conversion = statement.get("conversion")
        code, amount = (
            (conversion["code"], conversion["amount"])
            if conversion
            else ("UTU", statement["totals"]["amount"])
        )
        parties = sums.setdefault(code, {})
        parties.setdefault(statement["payee"], [Fraction(0), Fraction(0)])[0] += _decimal(amount)
        parties.setdefault(statement["payer"], [Fraction(0), Fraction(0)])[1] += _decimal(amount)
    positions = {
        code: [
            {
                "party": party,
                "receivable": _canonical(r),
                "payable": _canonical(p),
                "net": _canonical(r - p),
            }
            for party, (r, p) in sorted(sums[code].items())
        ]
        for code in sorted(sums)
    }
    return {"statements": sorted(netted), "positions": positions}


def _check_netting_report(report: Any, context: Context) -> str:
    _settlement_document(report, "settlement-netting-report", "netting report", context)
    for code, positions in report["positions"].items():
        parties = [position["party"] for position in positions]
        if len(set(parties)) != len(parties):
            raise _Rejected("totals_mismatch", f"a party twice in {code} (SET-053)")
        for position in positions:
            gross = _decimal(position["receivable"]) - _decimal(position["payable"])
            if gross != _decimal(position["net"]):
                raise _Rejected("totals_mismatch", f"{position['party']}: net is not gross")
        if sum(_decimal(position["net"]) for position in positions) != 0:
            raise _Rejected("totals_mismatch", f"the nets of {code} do not add up to zero")
    return _digest(_jcs_text(report).encode("utf-8"))


@checker("settlement")
def check_settlement(vector: dict[str, Any], context: Context) -> Outcome:
    """A ``settlement`` vector (spec/settlement.md): ``{op, ...}`` -> a result or ``{error}``."""
    given, expected = vector["input"], vector["expected"]
    op = given["op"]
    try:
        if op == "statement":
            digest = _check_statement(given["statement"], context, given.get("rates"))
            result: dict[str, Any] = {"valid": True, "digest": digest}
        elif op == "receipt-list":
            _check_statement(given["statement"], context)
            entries = _check_receipt_list(given["statement"], given["receipt_list"], context)
            result = {"valid": True, "count": len(entries)}
        elif op == "history":
            _check_statement(given["statement"], context)
            _check_history(given["history"], given["statement"])
            result = {"valid": True}
        elif op == "reconcile":
            result = _reconcile(given, context)
        elif op == "response":
            result = {"valid": True, "digest": _check_response(given["response"], context)}
        elif op == "split":
            result = _split(given, context)
        elif op == "net":
            result = _net(given, context)
        elif op == "netting-report":
            result = {"valid": True, "digest": _check_netting_report(given["report"], context)}
        else:
            raise ValueError(f"unknown settlement op {op!r}")
    except _Rejected as rejected:
        return _judge(expected, rejected, None)
    return _judge(expected, None, result)


# --------------------------------------------------------------------------- sibling checkers


def _sibling(name: str) -> Any:
    """Load ``interop/<name>.py`` (a checker of one spec area; it never imports the SDK)."""
    import importlib.util

    path = Path(__file__).resolve().parent / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"interop_{name.lstrip('_')}", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_policy = _sibling("_policy")


@checker("policy")
def check_policy(vector: dict[str, Any], context: Context) -> Outcome:
    """A ``policy`` vector (spec/federation.md FED-100..FED-121), by interop/_policy.py."""
    try:
        result = _policy.evaluate(vector["input"])
    except _policy.Refused as refused:
        return _judge(vector["expected"], _Rejected(refused.code, refused.reason), None)
    return _judge(vector["expected"], None, result)


_sibling("_federation").install(globals())  # federation chains
_sibling("_federation_fetch").install(globals())  # federation HTTP fetches
_sibling("_entitlements").install(globals())  # spec chapter "Entitlements"
_sibling("_resolution").install(globals())  # trust-chain resolution over HTTP
_sibling("_history").install(globals())  # historical keys, archived chains


# --------------------------------------------------------------------------- command line


def main(argv: list[str] | None = None) -> int:
    """Check the given kinds (all by default); print one line per vector and a summary."""
    requested = list(sys.argv[1:] if argv is None else argv)
    context = Context(spec_dir())
    selected = requested or [
        kind for kind in kinds() if (context.spec / "vectors" / f"{kind}.json").exists()
    ]
    unknown = [kind for kind in selected if kind not in _CHECKERS]
    if unknown:
        print(f"no checker for: {', '.join(unknown)} (known: {', '.join(kinds())})")
        return 1
    counts: dict[str, int] = {}
    disagree = differs = 0
    for kind in selected:
        results = check_kind(kind, context)
        counts[kind] = len(results)
        for vector_id, outcome in results:
            verdict = "ok  " if outcome.agrees else "FAIL"
            print(f"{verdict} {kind} {vector_id}: {outcome.detail}")
            disagree += not outcome.agrees
            differs += outcome.code_differs
    total = sum(counts.values())
    per_kind = ", ".join(f"{kind}: {count}" for kind, count in counts.items())
    print(
        f"checked {total} vectors ({per_kind}): {total - disagree} agree, {disagree} disagree, "
        f"{differs} rejected with another code"
    )
    return 1 if disagree else 0


if __name__ == "__main__":
    sys.exit(main())
