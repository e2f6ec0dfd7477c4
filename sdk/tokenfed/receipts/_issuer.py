"""Issuing receipts: priced, signed, chained per (issuer, audience) stream (REC-001..REC-010).

:class:`ReceiptIssuer` prices usage under a rate card, signs receipts, and keeps the stream state
durably (REC-046) in a :class:`~tokenfed.ledger.StreamStore`: each receipt names the content
digest of the previous receipt of its stream in ``prev`` (REC-007). Merkle batches (REC-060) are
issued in one transaction.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .. import _json, _jws, _merkle
from .._b64 import b64encode
from .._decimal import format_decimal
from .._model import validate
from ..errors import MalformedError
from ..keys import PrivateKey
from ..ledger import StreamStore, _refuse_reused_jti, receipt_jti
from ..units import RateCard, Usage, parse_usage
from ._claims import BatchClaims, ReceiptClaims
from ._verifier import MAX_RECEIPT_BYTES, sha256_digest

if TYPE_CHECKING:  # the entitlements package imports this one
    from ..entitlements import Entitlement, Reservations

__all__ = ["ReceiptIssuer", "ReceiptRequest", "pairwise_subject"]


def pairwise_subject(secret: bytes, issuer: str, account: str) -> str:
    """The RECOMMENDED ``sub``: base64url(HMAC-SHA-256(secret, issuer ``|`` account)) (REC-003).

    Stable for one (subscriber, issuer) pair, unlinkable across issuers without ``secret``.
    """
    if len(secret) < 16:
        raise ValueError("the pairwise-subject secret must be at least 16 bytes")
    mac = hmac.new(secret, f"{issuer}|{account}".encode(), hashlib.sha256).digest()
    return b64encode(mac)


class _MemoryStreams:
    """Stream state kept in memory: for tests and one-off use; lost on restart."""

    def __init__(self) -> None:
        self._heads: dict[tuple[str, str], tuple[int, str]] = {}
        self._issued: dict[tuple[str, str, int], str] = {}
        self._jtis: set[tuple[str, str]] = set()  # (iss, jti): unique per issuer (REC-002)

    def issue(self, iss: str, aud: str, build: Callable[[int, str | None], tuple[str, str]]) -> str:
        head = self._heads.get((iss, aud))
        seq, prev = (1, None) if head is None else (head[0] + 1, head[1])
        receipt, digest = build(seq, prev)
        jti = receipt_jti(receipt)
        if jti is not None:
            if (iss, jti) in self._jtis:
                raise _refuse_reused_jti(iss, jti)
            self._jtis.add((iss, jti))
        self._heads[(iss, aud)] = (seq, digest)
        self._issued[(iss, aud, seq)] = receipt
        return receipt

    def issue_many(
        self,
        iss: str,
        requests: Sequence[tuple[str, Callable[[int, str | None], tuple[str, str]]]],
    ) -> list[str]:
        return [self.issue(iss, aud, build) for aud, build in requests]

    def head(self, iss: str, aud: str) -> tuple[int, str] | None:
        return self._heads.get((iss, aud))

    def issued(self, iss: str, aud: str, seq: int) -> str | None:
        return self._issued.get((iss, aud, seq))


@dataclass(frozen=True, slots=True)
class ReceiptRequest:
    """One receipt to issue in a batch."""

    aud: str
    sub: str
    usage: Usage | Mapping[str, Any]
    jti: str | None = None
    entitlement: str | None = None


class ReceiptIssuer:
    """Issues receipts for one issuer, priced under one rate card, chained per audience.

    Args:
        key: the receipt-signing key (its public half must be in the verifiers' trust stores).
        iss: the issuer's entity id.
        rate_card: the card that prices every receipt.
        store: durable stream state (REC-046), e.g. :class:`~tokenfed.ledger.SqliteStreamStore`.
            Without one, state lives in memory and a restart starts every stream again at seq 1.
        clock: the current time as a NumericDate.
    """

    def __init__(
        self,
        key: PrivateKey,
        iss: str,
        rate_card: RateCard,
        *,
        store: StreamStore | None = None,
        clock: Callable[[], int] | None = None,
    ) -> None:
        self._key = key
        self._iss = iss
        self._card = rate_card
        self._store: StreamStore | _MemoryStreams = store if store is not None else _MemoryStreams()
        self._clock = clock or (lambda: int(time.time()))

    def _claims(
        self,
        request: ReceiptRequest,
        iat: int,
        seq: int,
        prev: str | None,
    ) -> dict[str, Any]:
        usage = request.usage if isinstance(request.usage, Usage) else parse_usage(request.usage)
        price = self._card.price(usage, at=iat)
        claims: dict[str, Any] = {
            "iss": self._iss,
            "sub": request.sub,
            "aud": request.aud,
            "jti": request.jti or b64encode(secrets.token_bytes(16)),
            "iat": iat,
            "ver": "1.0",
            "usage": usage.to_wire(),
            "amount": format_decimal(price.amount),
            "unit": "UTU",
            "rate_card": {"id": self._card.id, "digest": self._card.digest},
            "seq": seq,
        }
        if request.entitlement is not None:
            claims["entitlement"] = request.entitlement
        if prev is not None:
            claims["prev"] = prev
        validate(ReceiptClaims, claims, what="receipt")
        return claims

    def issue(
        self,
        *,
        aud: str,
        sub: str,
        usage: Usage | Mapping[str, Any],
        jti: str | None = None,
        entitlement: str | None = None,
        iat: int | None = None,
    ) -> str:
        """Price ``usage``, sign a receipt continuing the stream to ``aud``, store it, return it.

        Raises:
            MalformedError: the receipt would be longer than REC-009 allows; the stream is
                left as it was.
            the pricing codes of the units chapter (``unknown_model``...).
        """
        request = ReceiptRequest(aud=aud, sub=sub, usage=usage, jti=jti, entitlement=entitlement)
        at = self._clock() if iat is None else iat

        def build(seq: int, prev: str | None) -> tuple[str, str]:
            claims = self._claims(request, at, seq, prev)
            token = _jws.sign(claims, self._key, _jws.TYP_RECEIPT)
            if len(token) > MAX_RECEIPT_BYTES:  # refused before the stream moves on
                raise MalformedError(
                    f"the receipt would be {len(token)} bytes, over the {MAX_RECEIPT_BYTES} "
                    "a receipt may have (REC-009); meter less per receipt",
                    detail={"bytes": len(token)},
                )
            # The next receipt chains to this one's content digest (REC-007, REC-010).
            return token, sha256_digest(_json.canonical_bytes(claims))

        result: str = self._store.issue(self._iss, aud, build)
        return result

    def issue_under(
        self,
        entitlement: Entitlement,
        reservations: Reservations,
        reservation_id: str,
        usage: Usage | Mapping[str, Any],
        *,
        jti: str | None = None,
        iat: int | None = None,
    ) -> str:
        """Issue the receipt of a request served under an entitlement (ENT-050, ENT-051).

        The usage is priced at ``iat``; the reservation made for the request is settled with
        that price (ENT-041); then the receipt is signed with ``aud`` = the entitlement's
        operator, ``sub`` = its subscriber and ``entitlement`` = its ``jti``. If signing or
        storing fails after the settlement, the amount stays settled without a receipt: the
        provider may under-claim, never over-spend.

        Raises:
            WrongAudienceError: the entitlement is for another provider than this issuer.
            OutOfScopeError: the usage's model is not in the entitlement's scope (ENT-030).
            LimitExceededError: the price is more than the reservation holds (ENT-041).
            UnknownReservationError: the reservation is not open (ENT-042).
            the pricing codes of the units chapter (``unknown_model``...).
        """
        from ..errors import WrongAudienceError

        if entitlement.aud != self._iss:
            raise WrongAudienceError(
                f"entitlement {entitlement.jti} is for {entitlement.aud}, not for this issuer "
                f"{self._iss} (ENT-050)"
            )
        parsed = usage if isinstance(usage, Usage) else parse_usage(usage)
        entitlement.check_scope(parsed.model)
        at = self._clock() if iat is None else iat
        price = self._card.price(parsed, at=at)
        reservations.settle(reservation_id, price.amount, now=at)
        return self.issue(
            aud=entitlement.iss,
            sub=entitlement.sub,
            usage=parsed,
            jti=jti,
            entitlement=entitlement.jti,
            iat=at,
        )

    def issue_batch(
        self,
        requests: Sequence[ReceiptRequest],
        *,
        batch_id: str | None = None,
        iat: int | None = None,
    ) -> list[dict[str, Any]]:
        """Issue a Merkle batch (REC-060): sign one statement, return the batched receipts."""
        if not requests:
            raise ValueError("a batch holds at least one receipt")
        at = self._clock() if iat is None else iat
        leaves: list[bytes] = []

        def builder(request: ReceiptRequest) -> Callable[[int, str | None], tuple[str, str]]:
            def build(seq: int, prev: str | None) -> tuple[str, str]:
                leaf = _json.canonical_bytes(self._claims(request, at, seq, prev))
                leaves.append(leaf)
                return b64encode(leaf), sha256_digest(leaf)

            return build

        # One transaction for the whole batch: all its receipts are stored, or none (REC-046).
        self._store.issue_many(self._iss, [(r.aud, builder(r)) for r in requests])
        hashes = [_merkle.leaf_hash(leaf) for leaf in leaves]
        statement = {
            "iss": self._iss,
            "ver": "1.0",
            "iat": at,
            "batch_id": batch_id or b64encode(secrets.token_bytes(16)),
            "tree_size": len(leaves),
            "tree_root": _merkle.root_from_hashes(hashes).hex(),
        }
        validate(BatchClaims, statement, what="batch statement")
        batch = _jws.sign(statement, self._key, _jws.TYP_RECEIPT_BATCH)
        return [
            {
                "ver": "1.0",
                "claims": b64encode(leaf),
                "leaf_index": index,
                "audit_path": [node.hex() for node in proof],
                "batch": batch,
            }
            for index, (leaf, proof) in enumerate(
                zip(leaves, _merkle.inclusion_proofs(hashes), strict=True)
            )
        ]
