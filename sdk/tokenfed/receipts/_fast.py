"""The receipt schema's patterns, and :class:`FastSchema`: claims that certainly satisfy the
receipt schema, recognised without building a model.

The models themselves (``_claims``) are loaded only when a receipt needs them: one that the fast
schema does not vouch for, whose exact error they give.
"""

from __future__ import annotations

import re
from typing import Any

from .._hot import _CLAIMS_MEMBERS
from .._ids import is_entity_id, is_supported_version
from .._json import MAX_SAFE_INTEGER
from .._meters import METERS

__all__ = [
    "DIGEST",
    "DIGEST_PATTERN",
    "TOKEN_ID",
    "TOKEN_ID_PATTERN",
    "FastSchema",
    "batch_claims_certain",
]

TOKEN_ID_PATTERN = r"^[A-Za-z0-9._~-]{1,128}$"  # noqa: S105 - a pattern, not a secret
"""``jti`` and ``batch_id`` (REC-002)."""

DIGEST_PATTERN = r"^sha256:[0-9a-f]{64}$"
"""A digest (CONV-031)."""

TOKEN_ID = re.compile(TOKEN_ID_PATTERN[1:-1])
""":data:`TOKEN_ID_PATTERN` compiled, for ``fullmatch``."""

DIGEST = re.compile(DIGEST_PATTERN[1:-1])
""":data:`DIGEST_PATTERN` compiled, for ``fullmatch``."""


_FAST_SUB = re.compile(r"[A-Za-z0-9_-]{16,128}")
_FAST_AMOUNT = re.compile(r"(0|[1-9][0-9]{0,40})(\.[0-9]{0,5}[1-9])?")
_FAST_MEMBERS = _CLAIMS_MEMBERS
"""The members of :class:`~tokenfed.receipts._claims.ReceiptClaims`, which the hot module
checks too (a test compares them with the model's fields)."""
_FAST_METERS = frozenset(METERS)
_CACHE_LIMIT = 4096


def _remember(cache: set[Any], value: Any) -> None:
    if len(cache) >= _CACHE_LIMIT:
        cache.clear()
    cache.add(value)


class FastSchema:
    """A fast check that accepts only claims the :class:`ReceiptClaims` schema accepts.

    It covers the common shape (version 1.0, registered meters, no unknown members); anything
    else is left to the full model, which then gives the exact error, so this check can only make
    verification faster, never more lenient (tests/test_receipt_fast_schema.py proves it with
    inputs generated from the JSON Schema). Strings that repeat from receipt to receipt (issuer,
    audience, subject, rate card, model) are checked once and remembered: the memory only ever
    holds values that passed the check, so it never changes an answer.

    It types every value of what it accepts: exactly the members of the schema, each of its
    JSON type, integers within +-(2^53 - 1), no float and no nested value of another kind. The
    fast JSON path (``_json.loads_if_canonical``) relies on this and is valid only with it
    (ADR 0010).
    """

    __slots__ = ("_stable",)

    def __init__(self) -> None:
        # (iss, aud, sub, rate card id, rate card digest, model) tuples that passed: the
        # members a stream repeats, checked once together.
        self._stable: set[tuple[str, str, str, str, str, str]] = set()

    def accepts(self, claims: dict[str, Any]) -> bool:
        """Whether the claims certainly satisfy the receipt schema (REC-001..REC-008)."""
        if not _FAST_MEMBERS.issuperset(claims):
            return False
        try:  # every required member is read here or below: a missing one ends the fast path
            if claims["ver"] != "1.0" or claims["unit"] != "UTU":
                return False
            jti, iat, amount, card, seq, usage = (
                claims["jti"],
                claims["iat"],
                claims["amount"],
                claims["rate_card"],
                claims["seq"],
                claims["usage"],
            )
            iss, aud, sub = claims["iss"], claims["aud"], claims["sub"]
        except KeyError:
            return False
        if not (
            type(jti) is str
            and type(iat) is int
            and type(amount) is str
            and type(seq) is int
            and type(card) is dict
            and type(usage) is dict
            and 0 <= iat <= MAX_SAFE_INTEGER
            and 1 <= seq <= MAX_SAFE_INTEGER
            and len(usage) == 2
            and len(card) == 2
            and TOKEN_ID.fullmatch(jti)
            and _FAST_AMOUNT.fullmatch(amount)
        ):
            return False
        card_id, card_digest = card.get("id"), card.get("digest")
        model, meters = usage.get("model"), usage.get("meters")
        # Only strings reach the cache: a hostile value may be unhashable.
        if not (
            type(iss) is str
            and type(aud) is str
            and type(sub) is str
            and type(card_id) is str
            and type(card_digest) is str
            and type(model) is str
        ):
            return False
        stable = (iss, aud, sub, card_id, card_digest, model)
        if stable not in self._stable:
            if not (
                is_entity_id(iss)
                and is_entity_id(aud)
                and _FAST_SUB.fullmatch(sub)
                and not sub.isdigit()
                and 0 < len(card_id) <= 256
                and DIGEST.fullmatch(card_digest)
                and 0 < len(model) <= 256
            ):
                return False
            _remember(self._stable, stable)
        if type(meters) is not dict:
            return False
        for name, count in meters.items():
            if (
                type(count) is not int
                or name not in _FAST_METERS
                or not 0 <= count <= MAX_SAFE_INTEGER
            ):
                return False
        if "prev" in claims:  # present: a digest, and only after seq 1 (REC-006)
            prev = claims["prev"]
            if seq == 1 or type(prev) is not str or not DIGEST.fullmatch(prev):
                return False
        elif seq != 1:
            return False
        if "entitlement" not in claims:
            return True
        entitlement = claims["entitlement"]
        return type(entitlement) is str and TOKEN_ID.fullmatch(entitlement) is not None


_BATCH_MEMBERS = frozenset(("iss", "ver", "iat", "batch_id", "tree_size", "tree_root"))
_TREE_ROOT = re.compile(r"[0-9a-f]{64}")


def batch_claims_certain(claims: Any) -> bool:
    """Whether batch-statement claims certainly satisfy the batch schema (REC-060) and its
    version rule (CONV-004), without the model: exactly its members, each checked as the model
    checks it. Anything else (an unknown member included) is left to the model, which gives
    the exact error or keeps the member."""
    if type(claims) is not dict or claims.keys() != _BATCH_MEMBERS:
        return False
    iat, batch_id = claims["iat"], claims["batch_id"]
    size, root = claims["tree_size"], claims["tree_root"]
    return (
        is_entity_id(claims["iss"])
        and is_supported_version(claims["ver"])
        and type(iat) is int
        and 0 <= iat <= MAX_SAFE_INTEGER
        and type(batch_id) is str
        and TOKEN_ID.fullmatch(batch_id) is not None
        and type(size) is int
        and 1 <= size <= MAX_SAFE_INTEGER
        and type(root) is str
        and _TREE_ROOT.fullmatch(root) is not None
    )
