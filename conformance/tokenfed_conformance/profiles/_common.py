"""Helpers shared by the profiles: test keys, trust stores, signed documents, case ids."""

from __future__ import annotations

import random
import re
from typing import Any

from .._codec import jcs
from .._crypto import SuiteKey, compact
from ..cases import Call, Case, Expect
from ..vectors import Vector, load_test_keys

__all__ = [
    "TYP_BATCH",
    "TYP_RATES",
    "TYP_RATE_CARD",
    "TYP_RECEIPT",
    "is_entity_id",
    "seeded",
    "sign_claims",
    "skip_vector",
    "skipped_vectors",
    "test_key",
    "trust_store",
    "vector_case",
]

TYP_RATE_CARD = "tokenfed-rate-card+jwt"
TYP_RATES = "tokenfed-exchange-rates+jwt"
TYP_RECEIPT = "tokenfed-receipt+jwt"
TYP_BATCH = "tokenfed-receipt-batch+jwt"

# A deliberately narrow subset of CONV-001 entity ids: lowercase DNS labels, no port, no
# userinfo, an optional path of unreserved characters. Spec vectors with any other issuer are
# not signed by the suite (a trust store could not list them).
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_ENTITY = re.compile(rf"^https://{_LABEL}(?:\.{_LABEL})+(?:/[A-Za-z0-9._~-]*)*$")


def is_entity_id(value: object) -> bool:
    """Whether ``value`` is an entity id (CONV-001) of the narrow form the suite uses."""
    return isinstance(value, str) and len(value) <= 2048 and bool(_ENTITY.fullmatch(value))


def test_key(name: str) -> SuiteKey:
    """A published test key of ``spec/test-keys.json``."""
    return SuiteKey.from_jwk(load_test_keys()[name])


def trust_store(entries: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """A trust-store document: issuer -> public JWKs (with their validity members)."""
    return {
        "ver": "1.0",
        "issuers": {iss: {"jwks": {"keys": keys}} for iss, keys in entries.items()},
    }


def sign_claims(key: SuiteKey, claims: Any, typ: str | None) -> str:
    """Sign the JCS bytes of ``claims`` (CONV-046)."""
    return compact(key, jcs(claims), typ)


def vector_case(
    profile: str,
    kind: str,
    vector: Vector,
    op: str,
    data: dict[str, Any],
    expect: Expect,
    *,
    reason: str | None = None,
) -> Case:
    """A one-call case from a spec vector."""
    return Case(
        id=f"{profile}/{kind}/{vector.id}",
        profile=profile,
        requirements=vector.requirements,
        reason=reason or vector.description,
        calls=(Call(op, data, expect),),
        source=f"spec/vectors/{kind}.json#{vector.id}",
    )


_SKIPPED: dict[str, str] = {}


def skip_vector(source: str, reason: str) -> None:
    """Record a spec vector the suite does not run (listed in every report)."""
    _SKIPPED[source] = reason


def skipped_vectors() -> dict[str, str]:
    """The spec vectors recorded by :func:`skip_vector` so far, with the reasons."""
    return dict(_SKIPPED)


def seeded(profile: str, seed: int) -> random.Random:
    """The generator of a profile's cases: reproducible from the printed seed by design, and
    never used for secrets (test keys derived from it sign nothing of value)."""
    return random.Random(f"{profile}-{seed}")  # noqa: S311
