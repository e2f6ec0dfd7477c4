"""The suite's own small codecs: unpadded base64url, strict JSON reading, JCS (RFC 8785), digests.

Nothing here comes from ``tokenfed``: the suite must judge an implementation without sharing a
line of code with the reference SDK.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from typing import Any

__all__ = [
    "StrictJSONError",
    "b64d",
    "b64e",
    "digest",
    "jcs",
    "loads_strict",
]

_B64URL = re.compile(r"^[A-Za-z0-9_-]*$")


def b64e(data: bytes) -> str:
    """Unpadded base64url (RFC 7515 section 2)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64d(text: str) -> bytes:
    """Decode unpadded canonical base64url; ``ValueError`` for anything else."""
    if not _B64URL.fullmatch(text) or len(text) % 4 == 1:
        raise ValueError("not unpadded base64url")
    try:
        data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except binascii.Error as exc:
        raise ValueError("not base64url") from exc
    if b64e(data) != text:
        raise ValueError("non-canonical base64url (unused bits set)")
    return data


def digest(data: bytes) -> str:
    """``sha256:`` and the lowercase hex SHA-256 of ``data`` (CONV-031)."""
    return "sha256:" + hashlib.sha256(data).hexdigest()


class StrictJSONError(ValueError):
    """A JSON text with duplicate members, a non-integer number or an unknown constant."""


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        raise StrictJSONError("duplicate member names")
    return result


def _no_float(text: str) -> Any:
    raise StrictJSONError(f"number {text} is not an integer")


def _no_constant(text: str) -> Any:
    raise StrictJSONError(f"{text} is not JSON")


def loads_strict(text: str | bytes) -> Any:
    """Parse JSON refusing duplicate members, fractions, exponents and NaN/Infinity."""
    try:
        return json.loads(
            text,
            object_pairs_hook=_pairs,
            parse_float=_no_float,
            parse_constant=_no_constant,
        )
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise StrictJSONError(str(exc)) from exc


def _string(value: str) -> str:
    # JCS strings are those of ECMAScript JSON.stringify: the same escapes as Python's json
    # module without ASCII escaping (short forms, \u00xx in lowercase hex for other controls).
    return json.dumps(value, ensure_ascii=False)


def _utf16_key(name: str) -> bytes:
    return name.encode("utf-16-be")


def _serialize(value: Any, out: list[str]) -> None:
    if value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, int):
        out.append(str(value))
    elif isinstance(value, float):
        # Only spec vectors that put a number where a decimal string belongs hold floats; they
        # must be rejected, so any valid JSON spelling of the number serves.
        out.append(json.dumps(value))
    elif isinstance(value, str):
        out.append(_string(value))
    elif isinstance(value, list):
        out.append("[")
        for index, item in enumerate(value):
            if index:
                out.append(",")
            _serialize(item, out)
        out.append("]")
    elif isinstance(value, dict):
        out.append("{")
        for index, name in enumerate(sorted(value, key=_utf16_key)):
            if index:
                out.append(",")
            out.append(_string(name))
            out.append(":")
            _serialize(value[name], out)
        out.append("}")
    else:
        raise TypeError(f"JCS of {type(value).__name__} is not used by the suite")


def jcs(value: Any) -> bytes:
    """The JCS serialization (RFC 8785) of a JSON value, as UTF-8 bytes."""
    out: list[str] = []
    _serialize(value, out)
    return "".join(out).encode("utf-8")
