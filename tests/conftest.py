"""Shared fixtures."""

from __future__ import annotations

from collections.abc import Iterator
from types import ModuleType
from typing import Any

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


def hot_implementation(name: str) -> ModuleType:
    """The hot per-receipt module (ADR 0010) by name: ``compiled`` (the mypyc build ``make``
    makes; the test is skipped when there is none) or ``pure`` (the Python source)."""
    from tokenfed import _compiled, _hot

    if name == "pure":
        return _hot
    module = _compiled.compiled()
    if module is None:
        pytest.skip("the compiled module is not built (or stale): run make")
    return module


@pytest.fixture(params=["compiled", "pure"])
def hot_module(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """Runs a test with the verifier's hot module compiled, and once more as pure Python."""
    from tokenfed.receipts import _tracker, _verifier

    module = hot_implementation(request.param)
    monkeypatch.setattr(_verifier, "_hot", module)
    monkeypatch.setattr(_tracker, "_hot", module)
    return module


@pytest.fixture(params=["fast-compiled", "fast-pure", "strict"])
def json_path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Runs a test with the verifier's fast paths (ADR 0010), the hot module compiled and as
    pure Python, and once more with them all switched off, so that every receipt goes through
    the strict parser and the full schema."""
    from tokenfed import _json
    from tokenfed.receipts import _tracker, _verifier

    if request.param == "strict":
        monkeypatch.setattr(_json, "loads_if_canonical", lambda data: None)
        monkeypatch.setattr(_verifier, "_batched_fast", lambda text: None)
        monkeypatch.setattr(_verifier, "_hot", None)
        monkeypatch.setattr(_tracker, "_hot", None)
    else:
        module = hot_implementation(request.param.removeprefix("fast-"))
        monkeypatch.setattr(_verifier, "_hot", module)
        monkeypatch.setattr(_tracker, "_hot", module)
    return str(request.param)


@pytest.fixture
def jws_decodes(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """The tokens the reference path's JWS parser (``_jws.decode``) is given, in order: a
    receipt the hot module verifies whole never reaches it."""
    from tokenfed import _jws

    decoded: list[object] = []
    original = _jws.decode

    def counted(*args: Any, **kwargs: Any) -> Any:
        decoded.append(args[0])
        return original(*args, **kwargs)

    monkeypatch.setattr(_jws, "decode", counted)
    return decoded
