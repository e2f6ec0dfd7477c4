"""Signed usage receipts (spec chapter "Usage receipts", REC-001..REC-071).

Issuing: :class:`ReceiptIssuer` prices usage under a rate card and signs receipts that chain per
(issuer, audience) stream, single or in Merkle batches.

Verifying is two separate things:

* :class:`ReceiptVerifier` checks that a receipt is valid evidence (steps 1 to 11 of REC-040,
  REC-062 for batched receipts). It keeps no state about which receipts it has seen.
* :class:`ReceiptTracker` applies replay and chain (steps 12 and 13) and records what it
  accepted, all or nothing per transaction, in a :class:`~tokenfed.ledger.ReceiptLedger` or in
  memory.

:func:`verify_file` does both for a file of receipts, in parallel, with one result per line.

Example::

    verifier = ReceiptVerifier(trust, [RateCard.from_jws(card_token, trust)])
    tracker = ReceiptTracker(ledger)
    with tracker.transaction() as tx:
        receipt = tx.track(verifier.verify(token))
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ._files import MAX_LINE_BYTES, FileSummary, VerifierConfig, verify_file
from ._tracker import ReceiptTracker, TrackerTransaction
from ._verifier import DEFAULT_CLOCK_SKEW, MAX_RECEIPT_BYTES, ReceiptVerifier, VerifiedReceipt

if TYPE_CHECKING:
    from ._claims import BatchClaims, RateCardRef, ReceiptClaims
    from ._issuer import ReceiptIssuer, ReceiptRequest, pairwise_subject

__all__ = [
    "DEFAULT_CLOCK_SKEW",
    "MAX_LINE_BYTES",
    "MAX_RECEIPT_BYTES",
    "BatchClaims",
    "FileSummary",
    "RateCardRef",
    "ReceiptClaims",
    "ReceiptIssuer",
    "ReceiptRequest",
    "ReceiptTracker",
    "ReceiptVerifier",
    "TrackerTransaction",
    "VerifiedReceipt",
    "VerifierConfig",
    "pairwise_subject",
    "verify_file",
]

# The claims models and the issuer are loaded when first asked for: verifying receipts that the
# fast schema vouches for needs neither, nor the model machinery they bring.
_LAZY = {
    "BatchClaims": "._claims",
    "RateCardRef": "._claims",
    "ReceiptClaims": "._claims",
    "ReceiptIssuer": "._issuer",
    "ReceiptRequest": "._issuer",
    "pairwise_subject": "._issuer",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
