"""Identifier and version syntax shared by every chapter (CONV-001, CONV-003, CONV-004).

Plain regular expressions and checks, imported by the models' machinery (``_model``) and by the
modules that read documents without it (trust stores, the receipt verifier's fast path).
"""

from __future__ import annotations

import re
from typing import Any

from ._version import SPEC_VERSION
from .errors import UnsupportedVersionError

__all__ = [
    "ENTITY_ID_PATTERN",
    "MAX_ENTITY_ID_LENGTH",
    "VERSION_PATTERN",
    "check_version",
    "is_entity_id",
    "is_supported_version",
]

VERSION_PATTERN = re.compile(r"(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)")
"""``MAJOR.MINOR`` without leading zeros (CONV-003), matched in full."""

_MAJOR = SPEC_VERSION.split(".")[0]


def check_version(value: Any) -> None:
    """Refuse a ``ver`` of another major version (CONV-004).

    A ``ver`` that is not ``MAJOR.MINOR`` at all is left to the schema check.
    """
    if isinstance(value, str):
        match = VERSION_PATTERN.fullmatch(value)
        if match is not None and match.group(1) != _MAJOR:
            raise UnsupportedVersionError(
                f"ver {value!r} has major version {match.group(1)}; this implementation "
                f"supports {_MAJOR}.x (CONV-004)"
            )


def is_supported_version(value: object) -> bool:
    """Whether ``value`` is a ``ver`` this implementation reads: ``MAJOR.MINOR`` (CONV-003) of
    its major version (CONV-004); what :func:`check_version` and the schemas let through."""
    if type(value) is not str:
        return False
    match = VERSION_PATTERN.fullmatch(value)
    return match is not None and match.group(1) == _MAJOR


_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_PORT = r"(?:[1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])"
_PCHAR = r"(?:[A-Za-z0-9._~!$&'()*+,;=:@-]|%[0-9A-F]{2})"

ENTITY_ID_PATTERN = rf"^https://{_LABEL}(?:\.{_LABEL})*(?::{_PORT})?(?:/{_PCHAR}*)*$"
"""The entity-identifier syntax of CONV-001 as a regular expression (ECMA-262 and Python alike).

``"https://"``, a host of dot-separated lowercase LDH labels, an optional port 1..65535 without
leading zeros, and a path of RFC 3986 segments (percent-encodings in uppercase hex); no
userinfo, query or fragment. The length limit is :data:`MAX_ENTITY_ID_LENGTH`.
"""

MAX_ENTITY_ID_LENGTH = 2048
"""Longest entity identifier, in characters (CONV-001)."""

_ENTITY_ID = re.compile(ENTITY_ID_PATTERN[1:-1])


def is_entity_id(value: object) -> bool:
    """Whether ``value`` is an entity identifier (CONV-001): a string of at most
    :data:`MAX_ENTITY_ID_LENGTH` characters matching :data:`ENTITY_ID_PATTERN` in full."""
    return (
        type(value) is str
        and len(value) <= MAX_ENTITY_ID_LENGTH
        and _ENTITY_ID.fullmatch(value) is not None
    )
