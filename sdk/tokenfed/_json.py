"""Strict I-JSON parsing (CONV-010..CONV-016) and JCS digests (CONV-030, CONV-031).

Python's :mod:`json` accepts duplicate member names (keeping the last), ``NaN``, unbounded
integers, lone surrogates, noncharacters and binary floats. Every tokenfed document goes
through :func:`loads` instead, which refuses all of these with
:class:`~tokenfed.errors.MalformedError`.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from typing import Any

import orjson
import rfc8785

from .errors import MalformedError

__all__ = [
    "MAX_DEPTH",
    "MAX_SAFE_INTEGER",
    "canonical_bytes",
    "check_text",
    "digest",
    "loads",
    "loads_if_canonical",
]

MAX_SAFE_INTEGER = 2**53 - 1
"""Largest integer magnitude allowed in a document (I-JSON, RFC 7493 section 2.2)."""

MAX_DEPTH = 32
"""Deepest nesting of arrays and objects a document may have (CONV-015)."""


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        for name, _ in pairs:
            if name in seen:
                raise MalformedError(f"duplicate member name {name!r} (CONV-011)")
            seen.add(name)
    return obj


# 2^53 - 1 has 16 digits: only a text with a run of 16 or more digits can hold an integer out of
# range, so the range walk runs only then. The common case pays one byte translation and one
# substring search, not one Python call per integer.
# One translation serves two screens: digits become '0' (for the run of 16) and '[' becomes '{'
# (so one count gives the number of arrays and objects, an upper bound of the depth).
_SCREEN = bytes.maketrans(b"123456789[", b"000000000{")
_SIXTEEN_DIGITS = b"0" * 16
_WHITESPACE = " \t\n\r"


def _check_integers(value: Any) -> None:
    if type(value) is int:
        if not -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER:
            raise MalformedError(f"integer {str(value)[:24]} is outside +-(2^53 - 1) (CONV-012)")
    elif isinstance(value, dict):
        for member in value.values():
            _check_integers(member)
    elif isinstance(value, list):
        for item in value:
            _check_integers(item)


def _no_float(text: str) -> Any:
    raise MalformedError(
        f"number {text[:24]} has a fraction or exponent; decimals are strings (CONV-013)"
    )


def _no_constant(text: str) -> Any:
    raise MalformedError(f"{text} is not JSON (CONV-010)")


_DECODER = json.JSONDecoder(
    object_pairs_hook=_object,
    parse_float=_no_float,
    parse_constant=_no_constant,
)


# The decoder's scanner parses one value at a position; calling it directly skips the
# wrapper of JSONDecoder.raw_decode. (scan_once is set by JSONDecoder.__init__ but not typed.)
_SCAN: Callable[[str, int], tuple[Any, int]] = _DECODER.scan_once  # type: ignore[attr-defined]


def _depth(text: str) -> int:
    """Nesting depth of a JSON text, ignoring brackets inside strings."""
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


# Noncharacters (CONV-016) in UTF-8. U+FDD0..U+FDEF are EF B7 90..AF. U+FFFE and U+FFFF are
# EF BF BE/BF, and U+xFFFE, U+xFFFF of planes 1 to 16 are F0..F4, one of 8F 9F AF BF, then
# BF BE/BF. Each search below starts with a literal byte, which the regex engine finds fast; a
# BF BE/BF candidate is a noncharacter only after EF or after F0..F4 and 8F/9F/AF/BF (in
# valid UTF-8 a lead byte E0..F4 always starts a character, so this is exact).
_FDD0_BLOCK = re.compile(b"\xef\xb7[\x90-\xaf]")
_PLANE_END = re.compile(b"\xbf(?=[\xbe\xbf])")  # a lookahead: candidates may overlap (F0 BF BF BE)
_PLANE_SECOND_BYTES = frozenset(b"\x8f\x9f\xaf\xbf")


def _noncharacter_in(data: bytes) -> int | None:
    """The code point of a noncharacter in valid UTF-8 ``data``, or ``None`` (CONV-016)."""
    found = _FDD0_BLOCK.search(data)
    if found is not None:
        return ord(found.group().decode("utf-8"))
    for candidate in _PLANE_END.finditer(data):
        at = candidate.start()
        if at >= 1 and data[at - 1] == 0xEF:
            return ord(data[at - 1 : at + 2].decode("utf-8"))
        if at >= 2 and data[at - 1] in _PLANE_SECOND_BYTES and 0xF0 <= data[at - 2] <= 0xF4:
            return ord(data[at - 2 : at + 2].decode("utf-8"))
    return None


def _noncharacter_error(code_point: int) -> MalformedError:
    return MalformedError(
        f"text holds the noncharacter U+{code_point:04X}, which I-JSON forbids (CONV-016)"
    )


def check_text(value: str) -> None:
    """Refuse a string that no strict I-JSON text can hold: one with a lone surrogate
    (CONV-014) or a noncharacter (CONV-016).

    Raises:
        MalformedError: the string holds one of them.
    """
    if value.isascii():
        return
    try:
        data = value.encode("utf-8")
    except UnicodeEncodeError:
        raise MalformedError("string holds a lone surrogate (CONV-014)") from None
    code_point = _noncharacter_in(data)
    if code_point is not None:
        raise _noncharacter_error(code_point)


def _check_strings(value: Any) -> None:
    """Reject lone surrogates, which JSON escapes can express but UTF-8 cannot (CONV-014), and
    noncharacters given as escapes (CONV-016), in member names and values."""
    if isinstance(value, str):
        check_text(value)
    elif isinstance(value, dict):
        for name, member in value.items():
            _check_strings(name)
            _check_strings(member)
    elif isinstance(value, list):
        for item in value:
            _check_strings(item)


def loads(data: bytes | str) -> Any:
    """Parse one I-JSON text strictly.

    Raises:
        MalformedError: invalid UTF-8, invalid JSON, duplicate member names, a number with a
            fraction or exponent, an integer outside +-(2^53 - 1), NaN or Infinity, a lone
            surrogate, a noncharacter (raw or escaped), or nesting deeper than
            :data:`MAX_DEPTH`.
    """
    if not isinstance(data, str):
        raw = bytes(data)
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise MalformedError(f"not UTF-8 at byte {exc.start} (CONV-010)") from None
    else:
        text = data
        try:
            raw = data.encode("utf-8")
        except UnicodeEncodeError:
            raise MalformedError("text holds a lone surrogate (CONV-014)") from None
    if not text or text[0] in _WHITESPACE or text[0] == "\ufeff":
        if text.startswith("\ufeff"):
            raise MalformedError("byte order mark before the JSON text (CONV-010)")
        text = text.strip(_WHITESPACE)
    screened = raw.translate(_SCREEN)
    if screened.count(b"{") > MAX_DEPTH and _depth(text) > MAX_DEPTH:
        raise MalformedError(f"nesting deeper than {MAX_DEPTH} levels (CONV-015)")
    try:
        value, end = _SCAN(text, 0)
    except MalformedError:
        raise
    except StopIteration as exc:
        raise MalformedError(
            f"not valid JSON: expecting a value at character {exc.value} (CONV-010)"
        ) from None
    except (ValueError, RecursionError) as exc:
        if "integer string conversion" in str(exc):
            raise MalformedError(
                "an integer has far more digits than 2^53 - 1 (CONV-012)"
            ) from None
        raise MalformedError(f"not valid JSON: {exc} (CONV-010)") from None
    if end != len(text) and text[end:].strip(_WHITESPACE):
        raise MalformedError(f"not valid JSON: extra data at character {end} (CONV-010)")
    if _SIXTEEN_DIGITS in screened:
        _check_integers(value)
    # Noncharacters (CONV-016): written raw, only a non-ASCII text can hold one, and a byte
    # search finds it; written as an escape (\uFDD0, or a surrogate pair for U+1FFFE and up),
    # only a text with a backslash-u can, and the parsed strings are checked. An ASCII text
    # without one (the common case) pays two fast scans.
    if not raw.isascii():
        code_point = _noncharacter_in(raw)
        if code_point is not None:
            raise _noncharacter_error(code_point)
    if b"\\" in raw and b"\\u" in raw:  # a one-byte search first: much faster
        _check_strings(value)
    return value


_orjson_loads = orjson.loads
_orjson_dumps = orjson.dumps
_SORTED = orjson.OPT_SORT_KEYS


def loads_if_canonical(data: bytes) -> dict[str, Any] | None:
    """The object ``data`` holds, if ``data`` is exactly its compact serialization with sorted
    member names and no escape that could be written otherwise; else ``None``.

    NOT a strict parser on its own (ADR 0010). That the bytes come back unchanged from a parse
    and a sorted serialization proves there is no duplicate member name, no whitespace, no
    needless escape, no ``-0`` and no exponent; a raw noncharacter is refused here (CONV-016)
    and orjson refuses lone surrogates and invalid UTF-8. But numbers with a fraction (``1.0``),
    integers beyond 2^53 - 1 and any depth come back unchanged too: the result may be used ONLY
    together with a schema check that types every value (the receipt claims' ``FastSchema``).
    Whatever that check refuses must be parsed again with :func:`loads`, which gives the error.
    """
    try:
        value = _orjson_loads(data)
    except orjson.JSONDecodeError:
        return None
    if type(value) is not dict or _orjson_dumps(value, option=_SORTED) != data:
        return None
    if not data.isascii() and _noncharacter_in(data) is not None:
        return None
    return value


def canonical_bytes(value: Any) -> bytes:
    """Serialize with the JSON Canonicalization Scheme (RFC 8785) (CONV-030).

    Raises:
        MalformedError: the value is not JSON, or holds a string that no strict text can: a
            lone surrogate (CONV-014) or a noncharacter (CONV-016), so nothing is ever signed
            or hashed that a receiver must refuse.
    """
    try:
        data = rfc8785.dumps(value)
    except (rfc8785.CanonicalizationError, TypeError, ValueError) as exc:
        raise MalformedError(f"cannot canonicalize: {exc}") from exc
    # JCS writes every character above U+001F as itself, so a noncharacter shows in the bytes.
    if not data.isascii():
        code_point = _noncharacter_in(data)
        if code_point is not None:
            raise MalformedError(f"cannot canonicalize: {_noncharacter_error(code_point).message}")
    return data


def digest(value: Any) -> str:
    """``sha256:`` + lowercase hex SHA-256 of the JCS bytes of ``value`` (CONV-031)."""
    return "sha256:" + hashlib.sha256(canonical_bytes(value)).hexdigest()
