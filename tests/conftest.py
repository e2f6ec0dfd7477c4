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


@pytest.fixture(params=["fast", "strict"])
def json_path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Runs a test with the verifier's fast JSON paths (ADR 0010) and once more with them
    switched off, so that every receipt goes through the strict parser and the full schema."""
    if request.param == "strict":
        from tokenfed import _json
        from tokenfed.receipts import _verifier

        monkeypatch.setattr(_json, "loads_if_canonical", lambda data: None)
        monkeypatch.setattr(_verifier, "_batched_fast", lambda text: None)
    return str(request.param)
