"""Federation entity identifiers and host-name matching (FED-002..FED-004, FED-042).

A federation entity id is a CONV-001 entity id without a trailing ``/``. Naming constraints
(OpenID Federation 1.1 section 6.2.2) compare the host alone, with the URI rules of RFC 5280
section 4.2.1.10: ``host.example`` names that host only; ``.example`` names every host below
``example`` but not ``example`` itself.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from .._model import is_entity_id

__all__ = [
    "WELL_KNOWN_PATH",
    "configuration_url",
    "entity_host",
    "host_matches",
    "is_federation_entity_id",
    "is_host_constraint",
    "is_https_url",
]

WELL_KNOWN_PATH = "/.well-known/openid-federation"
"""Appended to an entity id's path to name its entity configuration (FED-004, section 9)."""

_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_HOST_CONSTRAINT = re.compile(rf"\.?{_LABEL}(?:\.{_LABEL})*")


def is_federation_entity_id(value: object) -> bool:
    """Whether ``value`` is a federation entity id: a CONV-001 entity id that does not end in
    ``/`` (FED-002)."""
    return isinstance(value, str) and is_entity_id(value) and not value.endswith("/")


def configuration_url(entity_id: str) -> str:
    """The URL of an entity's configuration: the entity id with ``/.well-known/openid-federation``
    appended to its path (FED-004). Raises ValueError for anything but a federation entity id."""
    if not is_federation_entity_id(entity_id):
        raise ValueError(f"{entity_id!r} is not a federation entity id (FED-002)")
    return entity_id + WELL_KNOWN_PATH


def entity_host(entity_id: str) -> str:
    """The host of an entity id, without port and path (the part naming constraints see)."""
    rest = entity_id[len("https://") :]
    authority = rest.split("/", 1)[0]
    return authority.split(":", 1)[0]


def is_host_constraint(value: object) -> bool:
    """Whether ``value`` is a naming-constraint entry: a lowercase LDH host name, optionally with
    a leading ``.`` (FED-042)."""
    return (
        isinstance(value, str)
        and len(value) <= 254
        and _HOST_CONSTRAINT.fullmatch(value) is not None
    )


def host_matches(host: str, constraint: str) -> bool:
    """Whether ``host`` is named by one naming-constraint entry (FED-042).

    ``.example.com`` matches ``a.example.com`` and ``a.b.example.com`` but not ``example.com``;
    ``example.com`` matches ``example.com`` only. Comparison is code point by code point.
    """
    if constraint.startswith("."):
        return host.endswith(constraint) and len(host) > len(constraint)
    return host == constraint


def is_https_url(value: object) -> bool:
    """Whether ``value`` is an absolute https URL with a host and no fragment (FED-034)."""
    if not isinstance(value, str) or not value.startswith("https://") or "#" in value:
        return False
    if any(ch.isspace() or ord(ch) < 0x21 or ord(ch) > 0x7E for ch in value):
        return False
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError:
        return False
    return bool(parts.hostname) and (port is None or 1 <= port <= 65535) and not parts.username
