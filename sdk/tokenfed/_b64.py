"""Strict unpadded base64url (RFC 7515 section 2, CONV-041)."""

from __future__ import annotations

import base64
import binascii

from .errors import MalformedError

__all__ = ["b64decode", "b64encode"]

# One translation maps the url alphabet onto the standard one and turns '+', '/' and '=' into
# '!', which strict decoding refuses: padding and the standard alphabet are rejected in one pass.
_TO_STANDARD = bytes.maketrans(b"-_+/=", b"+/!!!")
_PADDING = (b"", None, b"==", b"=")
# For a final group of 2 or 3 characters, the unused low bits of the last character must be zero
# (RFC 4648 section 3.5); otherwise several strings would decode to the same bytes.
_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
_CANONICAL_LAST = {
    2: frozenset(_ALPHABET[i] for i in range(0, 64, 16)),
    3: frozenset(_ALPHABET[i] for i in range(0, 64, 4)),
}


def b64encode(data: bytes) -> str:
    """Encode bytes as base64url without padding."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64decode(text: str | bytes, *, what: str = "segment") -> bytes:
    """Decode unpadded base64url, refusing padding, other alphabets and non-canonical bits."""
    raw = text.encode("ascii", "replace") if isinstance(text, str) else text
    size = len(raw) % 4
    padding = _PADDING[size]
    if padding is None:
        raise MalformedError(f"{what} is not unpadded base64url (CONV-041)")
    if size and raw[-1] not in _CANONICAL_LAST[4 - len(padding)]:
        raise MalformedError(f"{what} is not canonical base64url (CONV-041)")
    try:
        # Lax decoding skips the '!' the translation made of foreign characters; every skipped
        # character shortens the output, so the length check refuses them.
        data = binascii.a2b_base64(raw.translate(_TO_STANDARD) + padding)
    except (binascii.Error, ValueError):
        raise MalformedError(f"{what} is not base64url (CONV-041)") from None
    if len(data) != len(raw) * 3 // 4:
        raise MalformedError(f"{what} is not base64url (CONV-041)")
    return data
