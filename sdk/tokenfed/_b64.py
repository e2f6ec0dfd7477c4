"""Strict unpadded base64url (RFC 7515 section 2, CONV-041)."""

from __future__ import annotations

import base64
import binascii
import re

from .errors import Malformed

__all__ = ["b64decode", "b64encode"]

_ALPHABET = re.compile(r"[A-Za-z0-9_-]*")


def b64encode(data: bytes) -> str:
    """Encode bytes as base64url without padding."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64decode(text: str, *, what: str = "segment") -> bytes:
    """Decode unpadded base64url, refusing padding, other alphabets and non-canonical bits."""
    if _ALPHABET.fullmatch(text) is None:
        raise Malformed(f"{what} is not unpadded base64url (CONV-041)")
    if len(text) % 4 == 1:
        raise Malformed(f"{what} has an impossible base64url length (CONV-041)")
    try:
        data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise Malformed(f"{what} is not base64url (CONV-041)") from None
    if b64encode(data) != text:
        raise Malformed(f"{what} is not canonical base64url (CONV-041)")
    return data
