"""Entitlements (spec chapter "Entitlements", ENT-001..ENT-052).

An operator issues its subscriber a short-lived signed entitlement for one provider
(:func:`issue_entitlement`); the provider verifies it (:meth:`Entitlement.from_jws`, with the
operator's key, a trust store or a federation key source), holds its limit with reserve-then-settle
(:class:`Reservations`) and names it in every receipt it issues under it
(:meth:`tokenfed.receipts.ReceiptIssuer.issue_under`). The operator checks receipts against
what it issued (:class:`IssuedEntitlements`).

Example::

    entitlement = Entitlement.from_jws(token, trust, audience="https://provider.example")
    with Reservations("reservations.db") as reservations:
        held = reservations.reserve(entitlement, "qwen3-max", Decimal("2.5"))
        ...  # serve the request
        reservations.settle(held.id, Decimal("1.875"))
"""

from ._claims import MAX_LIFETIME, MAX_LIMIT, EntitlementClaims
from ._document import (
    CLOCK_SKEW,
    MAX_ENTITLEMENT_BYTES,
    TYP_ENTITLEMENT,
    Entitlement,
    KeySource,
    issue_entitlement,
)
from ._issued import IssuedEntitlements
from ._reservations import (
    DEFAULT_HOLD,
    MAX_HOLD,
    Consumption,
    Reservation,
    Reservations,
    Settlement,
)

__all__ = [
    "CLOCK_SKEW",
    "DEFAULT_HOLD",
    "MAX_ENTITLEMENT_BYTES",
    "MAX_HOLD",
    "MAX_LIFETIME",
    "MAX_LIMIT",
    "TYP_ENTITLEMENT",
    "Consumption",
    "Entitlement",
    "EntitlementClaims",
    "IssuedEntitlements",
    "KeySource",
    "Reservation",
    "Reservations",
    "Settlement",
    "issue_entitlement",
]
