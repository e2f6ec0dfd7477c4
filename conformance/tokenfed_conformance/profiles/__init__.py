"""The profiles a partner certifies separately, and the cases of each (PROTOCOL.md section 5)."""

from __future__ import annotations

from collections.abc import Callable

from ..cases import Case
from . import documents, entitlements, federation, issuer, settlement, units, verifier
from ._common import skipped_vectors

__all__ = ["PROFILES", "build_cases", "not_run"]

PROFILES: dict[str, Callable[[int], list[Case]]] = {
    "units": units.build,
    "documents": documents.build,
    "receipt-issuer": issuer.build,
    "receipt-verifier": verifier.build,
    "settlement": settlement.build,
    "federation-entity": federation.build,
    "entitlements": entitlements.build,
}
"""Profile name -> builder of its cases from a seed."""


def not_run() -> dict[str, str]:
    """Spec vectors the suite does not run, with the reason (listed in every report)."""
    return verifier.not_run() | skipped_vectors()


def build_cases(profile: str, seed: int) -> list[Case]:
    """Every case of ``profile``, the generated ones from ``seed``."""
    try:
        builder = PROFILES[profile]
    except KeyError:
        raise ValueError(f"unknown profile {profile!r}; profiles: {', '.join(PROFILES)}") from None
    cases = builder(seed)
    ids = [case.id for case in cases]
    if len(set(ids)) != len(ids):
        raise RuntimeError(f"duplicate case ids in profile {profile}")
    return cases
