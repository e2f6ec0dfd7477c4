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

from ._claims import BatchClaims, RateCardRef, ReceiptClaims
from ._files import MAX_LINE_BYTES, FileSummary, VerifierConfig, verify_file
from ._issuer import ReceiptIssuer, ReceiptRequest, pairwise_subject
from ._tracker import ReceiptTracker, TrackerTransaction
from ._verifier import DEFAULT_CLOCK_SKEW, MAX_RECEIPT_BYTES, ReceiptVerifier, VerifiedReceipt

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
