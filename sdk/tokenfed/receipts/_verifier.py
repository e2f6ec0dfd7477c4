"""Stateless receipt verification: steps 1 to 11 of REC-040 and steps 1 to 5 of REC-062.

A :class:`ReceiptVerifier` answers "is this receipt valid evidence?" from the receipt, its trust
store, its rate cards and its clock, and nothing else. Whether the receipt is new, a duplicate,
a replay, or the next link of its stream (steps 12 and 13) is the job of a
:class:`~tokenfed.receipts.ReceiptTracker`.
"""

from __future__ import annotations

import hashlib
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from types import ModuleType
from typing import TYPE_CHECKING, Any

from .. import _compiled, _json, _jws, _merkle
from .. import _hot as _hot_source
from .._b64 import b64decode, b64encode
from .._decimal import format_decimal, from_scaled, to_scaled
from .._ids import VERSION_PATTERN, check_version
from .._json import MAX_SAFE_INTEGER
from .._meters import INPUT_EXTENSION_METERS, METERS
from .._pricing import AMOUNT_PLACES
from .._ratecard import RateCard
from ..errors import (
    AmountMismatchError,
    IatInFutureError,
    InvalidProofError,
    InvalidSignatureError,
    MalformedError,
    RateCardMismatchError,
    TokenfedError,
    UnknownRateCardError,
)
from ..keys import PublicKey
from ..trust import KeyOrigin, KeySource, TrustStore
from ._fast import FastSchema, batch_claims_certain

if TYPE_CHECKING:
    from ._claims import ReceiptClaims

__all__ = [
    "DEFAULT_CLOCK_SKEW",
    "MAX_RECEIPT_BYTES",
    "ReceiptVerifier",
    "VerifiedReceipt",
    "sha256_digest",
]

MAX_RECEIPT_BYTES = 16384
"""Largest receipt or batch statement JWS accepted (REC-009)."""

DEFAULT_CLOCK_SKEW = 300
"""Seconds of clock skew allowed for ``iat`` by default (REC-041)."""

_BATCH_CACHE_SIZE = 1024

_RECEIPT_SIGNATURE_FAILS = "the receipt signature does not verify with the key (CONV-049)"

_hot: ModuleType | None = _compiled.HOT
"""The per-receipt work of batched and JWS receipts (``tokenfed._hot``, compiled when built;
ADR 0010), taken by each verifier when it is made; ``None`` runs the reference path alone."""


def sha256_digest(data: bytes) -> str:
    """``sha256:`` + lowercase hex SHA-256 of ``data`` (CONV-031)."""
    return "sha256:" + hashlib.sha256(data).hexdigest()


class VerifiedReceipt:
    """A receipt that passed steps 1 to 11 of REC-040 (or 1 to 5 of REC-062): valid evidence.

    Attributes:
        raw: the claims exactly as received (a JSON object, unknown members included).
        kid: the ``kid`` of the key that verified the receipt (or its batch statement).
        claims_bytes: the claims bytes as received: the JWS payload, or a batched receipt's
            decoded ``claims`` (REC-010).
        content_digest: the content digest, SHA-256 of ``claims_bytes`` (REC-010); the next
            receipt of the stream names it in ``prev`` (REC-007).
        receipt: the receipt as received: the JWS compact serialization, or the base64url claims
            of a batched receipt (``None`` when constructing: the base64url of
            ``claims_bytes``, encoded when first read).
        batch_id: the batch statement's ``batch_id`` for a batched receipt, else ``None``.
        duplicate: set by a tracker for an identical resubmission (REC-042): valid, and never to
            be counted twice.
        origin: in federation mode, the trust anchor and path the signing key was resolved
            under (:attr:`trust_anchor`, :attr:`trust_path`); ``None`` with a trust store.
    """

    __slots__ = (
        "_claims",
        "_content_digest",
        "_receipt",
        "batch_id",
        "claims_bytes",
        "duplicate",
        "kid",
        "origin",
        "raw",
    )

    def __init__(
        self,
        raw: dict[str, Any],
        kid: str,
        claims_bytes: bytes,
        receipt: str | None,
        batch_id: str | None = None,
        *,
        content_digest: str | None = None,
        duplicate: bool = False,
        claims: ReceiptClaims | None = None,
        origin: KeyOrigin | None = None,
    ) -> None:
        self.raw = raw
        self.kid = kid
        self.claims_bytes = claims_bytes
        self._receipt = receipt
        self.batch_id = batch_id
        # Both are computed when first read: a whole batch verified without a tracker never
        # needs them (ADR 0010).
        self._content_digest = content_digest
        self.duplicate = duplicate
        self._claims = claims
        self.origin = origin

    @property
    def trust_anchor(self) -> str | None:
        """The trust anchor the issuer's key was resolved under (federation mode), else
        ``None`` (trust-store mode)."""
        return None if self.origin is None else self.origin.trust_anchor

    @property
    def trust_path(self) -> tuple[str, ...] | None:
        """The entity ids from the issuer up to :attr:`trust_anchor` (federation mode), else
        ``None`` (trust-store mode)."""
        return None if self.origin is None else self.origin.path

    @property
    def content_digest(self) -> str:
        """The content digest, ``sha256:`` + hex SHA-256 of :attr:`claims_bytes` (REC-010)."""
        if self._content_digest is None:
            self._content_digest = sha256_digest(self.claims_bytes)
        return self._content_digest

    @property
    def receipt(self) -> str:
        """The receipt as received: the JWS compact serialization, or a batched receipt's
        base64url claims."""
        if self._receipt is None:
            self._receipt = b64encode(self.claims_bytes)
        return self._receipt

    def __getstate__(self) -> tuple[Any, ...]:
        return (
            self.raw,
            self.kid,
            self.claims_bytes,
            self.receipt,
            self.batch_id,
            self.content_digest,
            self.duplicate,
            self.origin,
        )

    def __setstate__(self, state: tuple[Any, ...]) -> None:
        (
            self.raw,
            self.kid,
            self.claims_bytes,
            self._receipt,
            self.batch_id,
            self._content_digest,
            self.duplicate,
            self.origin,
        ) = state
        self._claims = None

    @property
    def claims(self) -> ReceiptClaims:
        """The typed claims (built on first access from :attr:`raw`, which passed the schema)."""
        if self._claims is None:
            from .._model import validate
            from ._claims import ReceiptClaims

            self._claims = validate(ReceiptClaims, self.raw, what="receipt")
        return self._claims

    @property
    def iss(self) -> str:
        """The issuer."""
        value: str = self.raw["iss"]
        return value

    @property
    def aud(self) -> str:
        """The audience (payer)."""
        value: str = self.raw["aud"]
        return value

    @property
    def jti(self) -> str:
        """The receipt identifier."""
        value: str = self.raw["jti"]
        return value

    @property
    def seq(self) -> int:
        """The position in the (``iss``, ``aud``) stream."""
        value: int = self.raw["seq"]
        return value

    @property
    def amount(self) -> Decimal:
        """The amount in UTU (exact)."""
        return Decimal(self.raw["amount"])

    @property
    def micro_amount(self) -> int:
        """The amount as an integer number of 10^-6 UTU."""
        return to_scaled(self.raw["amount"], AMOUNT_PLACES)

    @property
    def receipt_digest(self) -> str:
        """SHA-256 of the receipt as received (its JWS bytes, or a batched receipt's claims
        bytes): identifies these exact bytes, for audit."""
        if self.batch_id is not None:
            return self.content_digest
        return sha256_digest(self.receipt.encode("ascii"))

    def as_duplicate(self) -> VerifiedReceipt:
        """The same receipt marked as an identical resubmission (REC-042)."""
        return VerifiedReceipt(
            self.raw,
            self.kid,
            self.claims_bytes,
            self._receipt,
            self.batch_id,
            content_digest=self._content_digest,
            duplicate=True,
            claims=self._claims,
            origin=self.origin,
        )

    def to_json(self) -> dict[str, Any]:
        """A summary for reports: issuer, audience, jti, seq, amount, digests."""
        body: dict[str, Any] = {
            "iss": self.raw["iss"],
            "aud": self.raw["aud"],
            "jti": self.raw["jti"],
            "seq": self.raw["seq"],
            "amount": self.raw["amount"],
            "content_digest": self.content_digest,
        }
        if self.batch_id is not None:
            body["batch_id"] = self.batch_id
        if self.duplicate:
            body["duplicate"] = True
        if self.origin is not None:
            body["trust_anchor"] = self.origin.trust_anchor
            body["trust_path"] = list(self.origin.path)
        return body

    def __repr__(self) -> str:
        return (
            f"VerifiedReceipt(iss={self.raw['iss']!r}, jti={self.raw['jti']!r}, "
            f"seq={self.raw['seq']}, amount={self.raw['amount']!r}, duplicate={self.duplicate})"
        )


# A batched receipt parsed by orjson when that is certainly what the strict parser gives and
# step 1 of REC-062 certainly passes, else None: the one check of the pure hot module, used
# here whether or not a hot module is in use.
_batched_fast = _hot_source.batched_item


@dataclass(frozen=True, slots=True)
class _Batch:
    iss: str
    iat: int
    batch_id: str
    tree_size: int
    tree_root: bytes
    kid: str
    inclusion: Any  # a CachedInclusion of the verifier's hot module
    origin: KeyOrigin | None


class ReceiptVerifier:
    """Verifies receipts and batched receipts (REC-040 steps 1-11, REC-062 steps 1-5).

    The answer depends only on the receipt, the trust store, the rate cards and the clock. The
    verifier remembers work keyed by exact bytes (header segments that passed, batch statements
    that verified, REC-063; nodes of Merkle proofs that were proven; strings of the fast schema
    that passed): this memory only ever holds what was checked, so it never changes an answer.

    Args:
        trust: the issuers' keys with validity windows (REC-033): a
            :class:`~tokenfed.trust.TrustStore`, or any :class:`~tokenfed.trust.KeySource` such
            as a :class:`~tokenfed.federation.FederationTrust` (then each result names the
            trust anchor and path its key was resolved under).
        rate_cards: the rate cards receipts may name; each must be verified
            (:meth:`RateCard.from_jws` with a key or a trust store). Several versions of one
            ``rate_card_id`` may be held; a receipt selects one by its digest (REC-049).
        clock_skew: seconds an ``iat`` may lie in the future (REC-041: 60..600).
        clock: the current time as a NumericDate (default: the system clock).

    Raises:
        TypeError: ``trust`` is not a :class:`~tokenfed.trust.KeySource`, or a card is not a
            :class:`~tokenfed.units.RateCard`.
        ValueError: a rate card that was not verified, or a skew outside 60..600.
    """

    def __init__(
        self,
        trust: KeySource,
        rate_cards: Iterable[RateCard],
        *,
        clock_skew: int = DEFAULT_CLOCK_SKEW,
        clock: Callable[[], int] | None = None,
    ) -> None:
        if not isinstance(trust, KeySource):
            raise TypeError(
                f"trust must be a TrustStore or another KeySource, not {type(trust).__name__}"
            )
        if not 60 <= clock_skew <= 600:
            raise ValueError("clock_skew must be between 60 and 600 seconds (REC-041)")
        self._trust = trust
        self._cards: dict[str, dict[str, RateCard]] = {}
        for card in rate_cards:
            if not isinstance(card, RateCard):
                raise TypeError(f"rate cards must be RateCard objects, not {type(card).__name__}")
            if not card.verified:
                raise ValueError(
                    f"rate card {card.id!r} was not verified; read it with "
                    "RateCard.from_jws(token, trust) so its signature is checked"
                )
            self._cards.setdefault(card.id, {})[card.digest] = card
        self._skew = clock_skew
        self._clock = clock or (lambda: int(time.time()))
        self._batches: OrderedDict[str, _Batch] = OrderedDict()
        self._schema = FastSchema()
        # The hot module's answers are "certainly valid" or None, never an error: on None the
        # reference path below decides (ADR 0010).
        self._hot = _hot
        self._hot_claims: Any = None
        if _hot is not None:
            self._hot_claims = _hot.BatchedClaims(frozenset(METERS), VerifiedReceipt)
            for versions in self._cards.values():
                for digest, card in versions.items():
                    for model, rates in card._compiled.items():
                        # The standard tier's rates: the hot path prices only usage without a
                        # service tier.
                        price = _hot.Price(
                            card._nbf,
                            card._exp,
                            rates.base.scaled,
                            [(above, table.scaled) for above, table in rates.tiers],
                            rates.minimum,
                            INPUT_EXTENSION_METERS,
                        )
                        self._hot_claims.add_price(card.id, digest, model, price)
        # JWS receipts in the hot module. A trust store's keys never change, so the hot module
        # holds them; a federation's or any other key source's answers may, so it is asked
        # again for every receipt (``_asked_again``).
        self._fixed_keys = type(trust) is TrustStore

    def verify(self, receipt: str | bytes | Mapping[str, Any]) -> VerifiedReceipt:
        """Verify one receipt: a JWS (text or bytes), or a batched receipt (an object, or its
        JSON text or bytes). Runs steps 1 to 11 of REC-040 (REC-062 steps 1 to 5 for a batched
        receipt); replay and chain are a tracker's job.

        Spaces, tabs, CRs and LFs around the receipt are not part of it (a line of a receipt
        file, REC-070); :meth:`verify_jws` takes a JWS exactly as given. Bytes are handed to
        the strict parsers as they are: invalid UTF-8 is ``malformed``.

        Raises:
            TokenfedError: the code of the first step that fails.
        """
        if type(receipt) is str:  # the common case first: no ABC check
            hot = self._hot_claims
            if hot is not None and receipt.startswith("{"):
                # A batched receipt of a batch whose statement verified (trust-store mode):
                # the whole of REC-062 in one call, or None and the path below decides.
                found: VerifiedReceipt | None = hot.verify_text(receipt, self._clock() + self._skew)
                if found is not None:
                    return found
            text = receipt.strip(" \t\r\n")
            if text.startswith("{"):
                return self._verify_batched_text(text)
            return self._check_compact(text)
        if isinstance(receipt, Mapping):
            return self._check_batched(receipt)
        if isinstance(receipt, bytes | bytearray | memoryview):
            data = bytes(receipt).strip(b" \t\r\n")
            if data.startswith(b"{"):
                return self._verify_batched_text(data)
            return self._check_compact(data)
        if not isinstance(receipt, str):
            raise TypeError(f"a receipt is str, bytes or a mapping, not {type(receipt).__name__}")
        text = receipt.strip(" \t\r\n")
        if text.startswith("{"):
            return self._verify_batched_text(text)
        return self._check_compact(text)

    def verify_jws(self, token: str | bytes) -> VerifiedReceipt:
        """Verify a JWS receipt exactly as given: REC-040 steps 1 to 11 on ``token`` itself,
        with nothing around it and never read as a batched receipt (a receipt a JSON document
        gives as a string, API-042). :meth:`verify` also takes a line of a receipt file, with
        the blanks around it that REC-070 allows.

        Raises:
            TokenfedError: the code of the first step that fails.
        """
        if type(token) is not str and type(token) is not bytes:
            raise TypeError(f"a JWS receipt is str or bytes, not {type(token).__name__}")
        return self._check_compact(token)

    def verify_batch(
        self, batch: str, claims_bytes: Sequence[bytes]
    ) -> list[VerifiedReceipt | TokenfedError]:
        """Verify a whole batch at once by recomputing its tree head (REC-064).

        Returns one result per leaf, in order: the verified receipt, or the error that rejected
        it. Replay and chain are a tracker's job.

        Raises:
            TokenfedError: the batch statement fails (REC-062 step 2), or the leaves do not give
                its ``tree_size`` and ``tree_root`` (``invalid_proof``): every receipt is rejected.
        """
        statement = self._batch_statement(batch)
        if len(claims_bytes) != statement.tree_size:
            raise InvalidProofError(
                f"batch {statement.batch_id} has tree_size {statement.tree_size}, "
                f"got {len(claims_bytes)} receipts (REC-064)"
            )
        if _merkle.root(claims_bytes) != statement.tree_root:
            raise InvalidProofError(
                f"receipts do not give the root of batch {statement.batch_id} (REC-064)"
            )

        def reference(leaf: bytes) -> VerifiedReceipt | TokenfedError:
            try:
                return self._check_claims_bytes(leaf, statement, hot_tried=True)
            except TokenfedError as exc:
                return exc

        hot = self._hot_claims
        if hot is None:
            return [reference(bytes(leaf)) for leaf in claims_bytes]
        # Leaf by leaf in order: the hot module's receipt, or the reference path's answer.
        results: list[VerifiedReceipt | TokenfedError] = hot.check_batch(
            claims_bytes,
            statement.iss,
            statement.iat,
            self._clock,
            self._skew,
            statement.kid,
            statement.batch_id,
            statement.origin,
            reference,
        )
        return results

    # Steps of REC-040 --------------------------------------------------------------------

    def _parse_claims(self, payload: bytes) -> tuple[Any, bool]:
        """The claims, and whether they passed the fast schema (ADR 0010).

        The fast JSON path is valid only together with the fast schema, which types every
        value: whatever either refuses is parsed again by the strict parser, which raises the
        exact error or gives the value the full schema then judges. No signature has been
        checked yet, so a fallback never verifies a signature twice.
        """
        claims = _json.loads_if_canonical(payload)
        if claims is not None and self._schema.accepts(claims):
            return claims, True
        return _json.loads(payload), False

    def _file_result(self, data: bytes) -> Any:
        """For a stripped line of a receipt file that holds a JWS receipt: what the hot module's
        :meth:`~tokenfed._hot.BatchedClaims.compact_row` gives (the line's compact result where
        the receipt certainly verifies, ``False`` where only its signature fails), else
        ``None``, and :meth:`verify` decides. A key source other than a trust store gives
        ``None`` at once: its receipts' results name their keys' origin, which only
        :meth:`verify` gives, and the hot module would parse them twice."""
        hot = self._hot_claims
        if hot is None or not self._fixed_keys:
            return None
        return hot.compact_row(data, MAX_RECEIPT_BYTES, self._clock() + self._skew)

    def _check_compact(self, token: str | bytes) -> VerifiedReceipt:
        hot = self._hot_claims
        if hot is not None:
            # Steps 1 to 11 in one call when the header and key are known; None: not certain,
            # and no signature was checked; False: only the signature fails (step 6).
            found = hot.verify_compact(token, MAX_RECEIPT_BYTES, self._clock() + self._skew)
            if found is not None:
                if found is False:
                    raise InvalidSignatureError(_RECEIPT_SIGNATURE_FAILS)
                verified: VerifiedReceipt = found
                return verified
        # Steps 1-4: parse, typ, alg, crit.
        decoded = _jws.decode(
            token, _jws.TYP_RECEIPT, max_bytes=MAX_RECEIPT_BYTES, parse=self._parse_claims
        )
        claims = decoded.claims
        # Step 5: key, pinned algorithm, validity at iat.
        key, origin = self._key_at(
            claims.get("iss"), decoded.header, claims.get("iat"), _jws.TYP_RECEIPT
        )
        # Step 6: signature (the pinned algorithm was checked with the key).
        if not key.verify(decoded.signature, decoded.signing_input):
            raise InvalidSignatureError(_RECEIPT_SIGNATURE_FAILS)
        # Steps 7-11.
        self._check_claims(claims, decoded.typed)
        if decoded.typed and hot is not None:
            # The hot module may take this header and key (and the issuer, audience, subject,
            # card and model the fast schema accepted) from now: as they are from a trust
            # store, asked for again from any other key source.
            hot.remember(claims)
            hot.add_key(
                decoded.token.partition(".")[0],
                claims["iss"],
                key.kid,
                key.verify,
                key.validity.is_valid_at,
                None if self._fixed_keys else self._asked_again(key),
            )
        return VerifiedReceipt(claims, key.kid, decoded.payload, decoded.token, origin=origin)

    def _asked_again(self, key: PublicKey) -> Callable[[str, str], Any]:
        """For the hot module: ask the key source for ``key`` again (step 5). While it answers
        with that very key, its signature check, validity check and origin; else (another key,
        or an error) ``None``, and the reference path runs step 5 itself."""
        source = self._trust
        verify = key.verify
        valid_at = key.validity.is_valid_at

        def resolve(iss: str, kid: str) -> tuple[Any, Any, KeyOrigin | None] | None:
            try:
                current, origin = source.key_with_origin(iss, kid, _jws.TYP_RECEIPT)
            except TokenfedError:
                return None
            if current is not key:
                return None
            return verify, valid_at, origin

        return resolve

    def _key_at(
        self, iss: object, header: Mapping[str, Any], iat: object, typ: str
    ) -> tuple[PublicKey, KeyOrigin | None]:
        key, origin = self._trust.key_with_origin(iss, header.get("kid"), typ)
        _jws.check_alg(header, key)
        if type(iat) is int and not key.validity.is_valid_at(iat):
            key.validity.check(iat, key.kid)  # raises KeyNotValidError with the reason
        return key, origin

    def _check_claims(self, claims: dict[str, Any], typed: bool = False) -> None:
        # Steps 7 and 8: version, then schema (``typed``: the fast schema accepted them already).
        if typed or self._schema.accepts(claims):
            iat: int = claims["iat"]
            card_id: str = claims["rate_card"]["id"]
            card_digest: str = claims["rate_card"]["digest"]
            model: str = claims["usage"]["model"]
            meters: dict[str, int] = claims["usage"]["meters"]
            service_tier: str | None = None  # the fast path takes only {model, meters}
            amount = to_scaled(claims["amount"], AMOUNT_PLACES)
        else:
            from ._claims import validate_receipt  # the models: only for claims that need them

            parsed = validate_receipt(claims)
            iat, card_id, card_digest = parsed.iat, parsed.rate_card.id, parsed.rate_card.digest
            model, meters = parsed.usage.model, parsed.usage.meters
            service_tier = parsed.usage.service_tier
            amount = to_scaled(parsed.amount, AMOUNT_PLACES)
        # Step 9: time.
        now = self._clock()
        if iat > now + self._skew:
            raise IatInFutureError(
                f"iat {iat} is more than {self._skew} s after now ({now}) (REC-041)"
            )
        # Step 10: rate card, selected by id and digest (REC-049).
        versions = self._cards.get(card_id)
        if versions is None:
            raise UnknownRateCardError(
                f"no rate card {card_id!r} is known to this verifier (REC-040)",
                detail={"rate_card": card_id},
            )
        card = versions.get(card_digest)
        if card is None:
            raise RateCardMismatchError(
                f"no rate card {card_id!r} held by this verifier has the digest {card_digest} "
                f"the receipt names (held: {', '.join(sorted(versions))}) (REC-040, REC-049)"
            )
        if not card.is_valid_at(iat):
            raise RateCardMismatchError(
                f"rate card {card.id!r} was not valid at iat {iat} (REC-040)"
            )
        # Step 11: amount, compared as integers of 10^-6 UTU.
        # Validity at iat was checked just above; the service tier selects rates (UNIT-051).
        expected = card.micro_amount_of(model, meters, service_tier=service_tier)
        if expected != amount:
            shown = format_decimal(from_scaled(expected, AMOUNT_PLACES))
            raise AmountMismatchError(
                f"amount {claims['amount']} UTU is not what rate card {card.id!r} gives for the "
                f"usage: {shown} UTU (REC-040)",
                detail={"expected": shown, "amount": claims["amount"]},
            )

    # Steps of REC-062 --------------------------------------------------------------------

    def _verify_batched_text(self, text: str | bytes) -> VerifiedReceipt:
        hot = self._hot
        if hot is not None:
            # REC-062 step 1 certainly passes (and the strict parser would give the same
            # object), so step 2 comes next on either path: its errors are the same.
            parsed = hot.parse_batched(text)
            if parsed is not None:
                leaf, encoded, index, path, batch = parsed
                statement = self._batch_statement(batch)
                claims = self._hot_claims.check_included(
                    leaf,
                    index,
                    path,
                    statement.inclusion,
                    statement.iss,
                    statement.iat,
                    self._clock() + self._skew,
                )
                if claims is not None:
                    return VerifiedReceipt(
                        claims,
                        statement.kid,
                        leaf,
                        encoded,
                        statement.batch_id,
                        origin=statement.origin,
                    )
        item = _batched_fast(text)
        if item is not None:
            return self._check_batched(item, typed=True)
        return self._check_batched(self._batched_object(text))

    @staticmethod
    def _batched_object(text: str | bytes) -> dict[str, Any]:
        value = _json.loads(text)
        if not isinstance(value, dict):
            raise MalformedError("a batched receipt is a JSON object (REC-062)")
        return value

    def _check_batched(self, item: Mapping[str, Any], typed: bool = False) -> VerifiedReceipt:
        # Step 1: parse: the members and their types (REC-062 step 1), unless _batched_fast
        # has checked them all (``typed``).
        ver: Any
        claims_b64: Any
        index: Any
        path: Any
        batch: Any
        ver, claims_b64, index, path, batch = (
            item.get("ver"),
            item.get("claims"),
            item.get("leaf_index"),
            item.get("audit_path"),
            item.get("batch"),
        )
        if not typed and not (
            type(ver) is str
            and VERSION_PATTERN.fullmatch(ver) is not None
            and type(claims_b64) is str
            and type(index) is int
            and 0 <= index <= MAX_SAFE_INTEGER
            and type(path) is list
            and all(type(entry) is str for entry in path)
            and type(batch) is str
        ):
            raise MalformedError(
                "a batched receipt needs ver (MAJOR.MINOR), claims (string), leaf_index "
                "(integer >= 0), audit_path (array of strings) and batch (string) (REC-062)"
            )
        leaf = b64decode(claims_b64, what="batched receipt claims")
        if not typed:
            check_version(ver)
        # Step 2: batch statement (cached by its exact bytes, REC-063).
        statement = self._batch_statement(batch)
        # Step 3: proof (entries of 64 lowercase hex digits, REC-062).
        if not statement.inclusion.verify_hex(_merkle.leaf_hash(leaf), index, path):
            raise InvalidProofError(
                f"inclusion proof for leaf {index} does not lead to the root of batch "
                f"{statement.batch_id} (REC-062)"
            )
        # Steps 4 and 5.
        return self._check_claims_bytes(leaf, statement, claims_b64)

    def _check_claims_bytes(
        self, leaf: bytes, statement: _Batch, encoded: str | None = None, hot_tried: bool = False
    ) -> VerifiedReceipt:
        hot = self._hot_claims
        if hot is not None and not hot_tried:
            found = hot.check(leaf, statement.iss, statement.iat, self._clock() + self._skew)
            if found is not None:
                return VerifiedReceipt(
                    found, statement.kid, leaf, encoded, statement.batch_id, origin=statement.origin
                )
        claims, typed = self._parse_claims(leaf)
        if not isinstance(claims, dict):
            raise MalformedError("batched receipt claims must be a JSON object (REC-062)")
        iss = claims.get("iss")
        if type(iss) is not str or iss != statement.iss:
            raise InvalidProofError(
                f"claims iss {iss!r:.120} is not the batch issuer {statement.iss} (REC-062)"
            )
        iat = claims.get("iat")
        if type(iat) is int and iat > statement.iat:
            raise InvalidProofError(
                f"receipt iat {iat} is later than its batch statement's iat {statement.iat} "
                "(REC-065)"
            )
        self._check_claims(claims, typed)
        if typed and hot is not None:
            hot.remember(claims)  # the fast schema accepted its issuer, subject, card, model
        return VerifiedReceipt(
            claims, statement.kid, leaf, encoded, statement.batch_id, origin=statement.origin
        )

    def _batch_statement(self, batch: str) -> _Batch:
        cached = self._batches.get(batch)
        if cached is not None:
            if cached.origin is not None:
                # Federation mode: the chain that attested the key may have expired or been
                # withdrawn since; the key source answers from its cache (a dict lookup).
                self._trust.key_with_origin(cached.iss, cached.kid, _jws.TYP_RECEIPT_BATCH)
            self._batches.move_to_end(batch)
            return cached
        decoded = _jws.decode(batch, _jws.TYP_RECEIPT_BATCH, max_bytes=MAX_RECEIPT_BYTES)
        claims = decoded.claims
        key, origin = self._key_at(
            claims.get("iss"), decoded.header, claims.get("iat"), _jws.TYP_RECEIPT_BATCH
        )
        if not key.verify(decoded.signature, decoded.signing_input):
            raise InvalidSignatureError(
                "the batch signature does not verify with the key (CONV-049)"
            )
        if batch_claims_certain(claims):  # the model only where the fast check is not certain
            iss, iat, batch_id = claims["iss"], claims["iat"], claims["batch_id"]
            tree_size, tree_root = claims["tree_size"], claims["tree_root"]
        else:
            from .._model import validate
            from ._claims import BatchClaims

            parsed = validate(BatchClaims, claims, what="batch statement")
            iss, iat, batch_id = parsed.iss, parsed.iat, parsed.batch_id
            tree_size, tree_root = parsed.tree_size, parsed.tree_root
        root = bytes.fromhex(tree_root)
        statement = _Batch(
            iss=iss,
            iat=iat,
            batch_id=batch_id,
            tree_size=tree_size,
            tree_root=root,
            kid=key.kid,
            inclusion=(self._hot or _merkle).CachedInclusion(tree_size, root),
            origin=origin,
        )
        self._batches[batch] = statement
        if self._hot is not None and origin is None:
            # Trust-store mode: the key needs no check per receipt, so the hot module may
            # remember the statement too (a federation's chain is checked again each time).
            self._hot_claims.add_statement(
                batch,
                self._hot.Statement(
                    statement.iss, statement.iat, key.kid, statement.batch_id, statement.inclusion
                ),
            )
        if len(self._batches) > _BATCH_CACHE_SIZE:
            self._batches.popitem(last=False)
        return statement
