"""The operator's record of the entitlements it issued, and the receipt check of ENT-052."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..errors import OutOfScopeError, UnknownEntitlementError
from ..keys import PublicKey
from ..trust import TrustStore
from ._document import Entitlement, KeySource

__all__ = ["IssuedEntitlements"]


class IssuedEntitlements:
    """What an operator issued (ENT-011), to check the receipts that name it (ENT-052).

    The operator adds each entitlement it issues (the JWS, verified with its own key: steps 1
    to 8 of ENT-020, no time or audience check, since the operator is not the audience) and
    checks every verified receipt that carries an ``entitlement`` member. Kept in memory: an
    operator that restarts adds its stored entitlements again.

    Args:
        operator: the operator's own entity id; only entitlements it issued are recorded.
    """

    __slots__ = ("_issued", "_operator")

    def __init__(self, operator: str) -> None:
        if not isinstance(operator, str):
            raise TypeError(f"operator must be an entity id string, not {type(operator).__name__}")
        self._operator = operator
        self._issued: dict[str, Entitlement] = {}

    def add(self, token: str | bytes, trust: PublicKey | TrustStore | KeySource) -> Entitlement:
        """Record an entitlement this operator issued; return it.

        Raises:
            the codes of ENT-020 steps 1 to 8 for a token that does not verify;
            ValueError: it was issued by another operator, or its ``jti`` is already recorded
                with other content (ENT-003 forbids reusing a ``jti``).
        """
        entitlement = Entitlement._verify_signed(token, trust)
        if entitlement.iss != self._operator:
            raise ValueError(
                f"entitlement {entitlement.jti} was issued by {entitlement.iss}, not by "
                f"{self._operator}"
            )
        known = self._issued.get(entitlement.jti)
        if known is not None and known.digest != entitlement.digest:
            raise ValueError(
                f"jti {entitlement.jti} was already issued with other content (ENT-003)"
            )
        self._issued[entitlement.jti] = entitlement
        return entitlement

    def get(self, jti: str) -> Entitlement | None:
        """The recorded entitlement with this ``jti``, if any."""
        return self._issued.get(jti)

    def check_receipt(self, claims: Mapping[str, Any]) -> Entitlement | None:
        """ENT-052 for the claims of a receipt that passed REC-040 (or REC-062).

        Returns the entitlement the receipt was issued under, or ``None`` when the receipt
        names none.

        Raises:
            UnknownEntitlementError: this operator (the receipt's ``aud``) issued no
                entitlement with that ``jti`` to the receipt's issuer.
            OutOfScopeError: the usage's model is not in that entitlement's scope.
        """
        jti = claims.get("entitlement")
        if jti is None:
            return None
        iss, aud = claims.get("iss"), claims.get("aud")
        entitlement = self._issued.get(jti) if isinstance(jti, str) else None
        if entitlement is None or aud != self._operator or entitlement.aud != iss:
            raise UnknownEntitlementError(
                f"receipt {claims.get('jti')!r:.140} names entitlement {jti!r:.140}, which "
                f"{aud!r:.120} never issued to {iss!r:.120} (ENT-052)",
                detail={"entitlement": jti, "iss": iss, "aud": aud},
            )
        usage = claims.get("usage")
        model = usage.get("model") if isinstance(usage, Mapping) else None
        if not isinstance(model, str) or model not in entitlement.claims.scope:
            raise OutOfScopeError(
                f"receipt {claims.get('jti')!r:.140} is for model {model!r:.260}, not in the "
                f"scope of entitlement {jti} (ENT-052)",
                detail={"model": model, "scope": list(entitlement.claims.scope)},
            )
        return entitlement
