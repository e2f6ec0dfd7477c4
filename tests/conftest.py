"""Shared fixtures."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tokenfed import keys


@pytest.fixture(params=["libsodium", "openssl"])
def ed25519_backend(request: pytest.FixtureRequest) -> Iterator[str]:
    """Runs a test once with each Ed25519 backend (CONV-071: both give the same answers):
    libsodium, the one the SDK uses, and OpenSSL through ``cryptography``, the reference."""
    previous = keys._use_ed25519_backend(request.param)
    try:
        yield request.param
    finally:
        keys._use_ed25519_backend(previous)
