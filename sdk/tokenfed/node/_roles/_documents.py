"""Signed documents a node publishes from claims files: signed once at startup (API-030)."""

from __future__ import annotations

from pathlib import Path
from typing import TypeVar

from ... import _json
from ...errors import IoError, TokenfedError
from ...exchange import ExchangeRates
from ...keys import PrivateKey
from ...units import RateCard

__all__ = ["sign_claims_file"]

DocumentT = TypeVar("DocumentT", RateCard, ExchangeRates)


def sign_claims_file(kind: type[DocumentT], path: Path, key: PrivateKey, what: str) -> DocumentT:
    """Read claims JSON from ``path``, sign them with ``key`` and return the verified document.

    The claims' ``iss`` must be the node's entity id; the caller checks that.
    """
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise IoError(f"cannot read the {what} claims {path}: {exc.strerror}") from None
    try:
        token = kind.sign(_json.loads(data), key)
        return kind.from_jws(token, key.public_key())
    except TokenfedError as exc:
        exc.message = f"{what} claims {path}: {exc.message}"
        raise
