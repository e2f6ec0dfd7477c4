"""Entity ids and host matching of naming constraints (FED-002, FED-004, FED-034, FED-042)."""

from __future__ import annotations

import pytest

from tokenfed.federation._ids import (
    entity_host,
    host_matches,
    is_host_constraint,
    is_https_url,
)


@pytest.mark.parametrize(
    ("entity_id", "host"),
    [
        ("https://a.example", "a.example"),
        ("https://a.example:8443", "a.example"),
        ("https://a.example:8443/fed/x", "a.example"),
        ("https://a.example/b.example", "a.example"),
    ],
)
def test_entity_host(entity_id: str, host: str) -> None:
    """FED-042: naming constraints see the host only, never port or path."""
    assert entity_host(entity_id) == host


@pytest.mark.parametrize(
    ("host", "constraint", "matches"),
    [
        ("a.example", "a.example", True),
        ("b.a.example", "a.example", False),
        ("a.example", ".a.example", False),
        ("b.a.example", ".a.example", True),
        ("c.b.a.example", ".a.example", True),
        ("ba.example", ".a.example", False),
        ("xa.example", "a.example", False),
    ],
)
def test_host_matches(host: str, constraint: str, matches: bool) -> None:
    """FED-042: 'host' names that host only; '.domain' every longer host ending in it."""
    assert host_matches(host, constraint) is matches


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("a.example", True),
        (".a.example", True),
        ("localhost", True),
        ("A.example", False),
        ("a.example.", False),
        ("..a.example", False),
        ("https://a.example", False),
        ("a.example:443", False),
        ("", False),
        (7, False),
    ],
)
def test_host_constraint_syntax(value: object, ok: bool) -> None:
    """FED-042: entries are lowercase LDH host names, optionally with one leading '.'."""
    assert is_host_constraint(value) is ok


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("https://a.example/x?y=1", True),
        ("https://a.example:8443", True),
        ("http://a.example", False),
        ("https://a.example/#f", False),
        ("https://u@a.example", False),
        ("https://", False),
        ("https://a.example:0", False),
        ("https://a.example:99999", False),
        ("https://a.example/ x", False),
        (None, False),
    ],
)
def test_https_url(value: object, ok: bool) -> None:
    """FED-034: endpoint and URI members are https URLs with a host and no fragment."""
    assert is_https_url(value) is ok
