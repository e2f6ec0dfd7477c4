"""Signed usage receipts (spec chapter "Usage receipts", REC-001..REC-070).

:class:`ReceiptIssuer` prices usage under a rate card and signs receipts that chain per
(issuer, audience) stream; :class:`ReceiptVerifier` checks them with the numbered procedure of
REC-040 (and REC-062 for Merkle-batched receipts), with optional replay and chain tracking that a
:class:`~tokenfed.ledger.ReceiptLedger` can make durable.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal, NamedTuple

from pydantic import Field, model_validator

from . import _json, _merkle, jws
from ._b64 import b64decode, b64encode
from ._decimal import format_decimal
from ._model import Document, EntityId, NumericDate, UtuAmount, check_version, validate
from ._pricing import fixed
from ._signed import Version
from .errors import (
    AmountMismatchError,
    ChainBreakError,
    IatInFutureError,
    InvalidAmountError,
    InvalidKeyError,
    InvalidProofError,
    InvalidSignatureError,
    IoError,
    MalformedError,
    RateCardMismatchError,
    ReplayError,
    SchemaViolationError,
    TokenfedError,
    UnknownKeyError,
    UnknownRateCardError,
)
from .keys import KeySet, KeyValidity, PrivateKey, PublicKey
from .ledger import LedgerEntry, ReceiptLedger, StreamStore
from .units import METERS, RateCard, Usage, parse_usage

__all__ = [
    "MAX_RECEIPT_BYTES",
    "BatchClaims",
    "ReceiptClaims",
    "ReceiptIssuer",
    "ReceiptRequest",
    "ReceiptVerifier",
    "TrustStore",
    "VerifiedReceipt",
    "pairwise_subject",
]

MAX_RECEIPT_BYTES = 16384
"""Largest receipt JWS accepted (REC-009)."""

DEFAULT_CLOCK_SKEW = 300
"""Seconds of clock skew allowed for ``iat`` by default (REC-041)."""

_TOKEN_ID = r"^[A-Za-z0-9._~-]{1,128}$"  # noqa: S105 - a pattern, not a secret
_DIGEST = r"^sha256:[0-9a-f]{64}$"
_BATCH_CACHE_SIZE = 1024


# -- documents -------------------------------------------------------------------------------


class RateCardRef(Document):
    """The ``rate_card`` member of a receipt: which card priced it (REC-005)."""

    id: Annotated[str, Field(min_length=1, max_length=256)]
    digest: Annotated[str, Field(pattern=_DIGEST)]


class ReceiptClaims(Document):
    """The claims of a usage receipt (REC-001..REC-008)."""

    iss: EntityId
    sub: Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{16,128}$")]
    aud: EntityId
    jti: Annotated[str, Field(pattern=_TOKEN_ID)]
    iat: NumericDate
    ver: Version
    usage: Usage
    amount: UtuAmount
    unit: Literal["UTU"]
    rate_card: RateCardRef
    entitlement: Annotated[str, Field(pattern=_TOKEN_ID)] | None = None
    seq: Annotated[int, Field(ge=1, le=2**53 - 1, strict=True)]
    prev: Annotated[str, Field(pattern=_DIGEST)] | None = None

    @model_validator(mode="after")
    def _stream_and_subject(self) -> ReceiptClaims:
        if self.sub.isdigit():
            raise ValueError("sub must not be all digits: it is never a number in clear (REC-003)")
        if (self.seq == 1) != (self.prev is None):
            raise ValueError("prev is absent exactly when seq is 1 (REC-006)")
        extra = self.model_extra or {}
        if "exp" in extra or "nbf" in extra:
            raise ValueError("a receipt carries no exp or nbf: it is evidence (REC-008)")
        return self


class BatchClaims(Document):
    """The claims of a batch statement (REC-060)."""

    iss: EntityId
    ver: Version
    iat: NumericDate
    batch_id: Annotated[str, Field(pattern=_TOKEN_ID)]
    tree_size: Annotated[int, Field(ge=1, le=2**53 - 1, strict=True)]
    tree_root: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]


_FAST_ENTITY = re.compile(r"https://[^\s?#]{1,2040}")
_FAST_SUB = re.compile(r"[A-Za-z0-9_-]{16,128}")
_FAST_TOKEN_ID = re.compile(_TOKEN_ID[1:-1])
_FAST_DIGEST = re.compile(_DIGEST[1:-1])
_FAST_AMOUNT = re.compile(r"(0|[1-9][0-9]{0,40})(\.[0-9]{0,5}[1-9])?")
_FAST_MEMBERS = frozenset(ReceiptClaims.model_fields)
_FAST_METERS = frozenset(METERS)
_MAX_SAFE = 2**53 - 1


class _FastSchema:
    """A fast check that accepts only claims the :class:`ReceiptClaims` schema accepts.

    It covers the common shape (version 1.0, registered meters, no unknown members); anything
    else is left to the full model, which then gives the exact error, so this check can only make
    verification faster, never more lenient. Strings that repeat from receipt to receipt (issuer,
    audience, subject, rate card, model) are checked once and remembered.
    """

    __slots__ = ("_entities", "_models", "_refs", "_subjects")

    _LIMIT = 4096

    def __init__(self) -> None:
        self._entities: set[str] = set()
        self._subjects: set[str] = set()
        self._refs: set[tuple[str, str]] = set()
        self._models: set[str] = set()

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
            and 0 <= iat <= _MAX_SAFE
            and 1 <= seq <= _MAX_SAFE
            and len(usage) == 2
            and len(card) == 2
            and _FAST_TOKEN_ID.fullmatch(jti)
            and _FAST_AMOUNT.fullmatch(amount)
        ):
            return False
        entities = self._entities
        # Only strings reach the caches: a hostile value may be unhashable.
        for value in (iss, aud):
            if type(value) is not str:
                return False
            if value not in entities:
                if not _FAST_ENTITY.fullmatch(value):
                    return False
                _remember(entities, value)
        if type(sub) is not str:
            return False
        if sub not in self._subjects:
            if not (_FAST_SUB.fullmatch(sub) and not sub.isdigit()):
                return False
            _remember(self._subjects, sub)
        card_id, card_digest = card.get("id"), card.get("digest")
        if type(card_id) is not str or type(card_digest) is not str:
            return False
        if (card_id, card_digest) not in self._refs:
            if not (0 < len(card_id) <= 256 and _FAST_DIGEST.fullmatch(card_digest)):
                return False
            _remember(self._refs, (card_id, card_digest))
        model, meters = usage.get("model"), usage.get("meters")
        if type(model) is not str:
            return False
        if model not in self._models:
            if not 0 < len(model) <= 256:
                return False
            _remember(self._models, model)
        if type(meters) is not dict:
            return False
        for name, count in meters.items():
            if type(count) is not int or name not in _FAST_METERS or not 0 <= count <= _MAX_SAFE:
                return False
        prev = claims.get("prev")
        if prev is None:
            if seq != 1:
                return False
        elif seq == 1 or not (type(prev) is str and _FAST_DIGEST.fullmatch(prev)):
            return False
        entitlement = claims.get("entitlement")
        return entitlement is None or (
            type(entitlement) is str and _FAST_TOKEN_ID.fullmatch(entitlement) is not None
        )


def _remember(cache: set[Any], value: Any) -> bool:
    if len(cache) >= _FastSchema._LIMIT:
        cache.clear()
    cache.add(value)
    return True


class _ReceiptEnvelope(ReceiptClaims):
    """The receipt claims with ``usage`` left unparsed: step 8's first pass."""

    usage: dict[str, Any]  # type: ignore[assignment]


def _validate_receipt(claims: dict[str, Any]) -> ReceiptClaims:
    """Step 8 of REC-040 with its precedence (REC-048): ``schema_violation``, then
    ``unknown_meter``, then ``invalid_usage``, then ``invalid_amount``."""
    pending: InvalidAmountError | None = None
    try:
        validate(_ReceiptEnvelope, claims, what="receipt")
    except InvalidAmountError as exc:
        pending = exc
    parse_usage(claims["usage"])
    if pending is not None:
        raise pending
    return validate(ReceiptClaims, claims, what="receipt")


def pairwise_subject(secret: bytes, issuer: str, account: str) -> str:
    """The RECOMMENDED ``sub``: base64url(HMAC-SHA-256(secret, issuer ``|`` account)) (REC-003).

    Stable for one (subscriber, issuer) pair, unlinkable across issuers without ``secret``.
    """
    if len(secret) < 16:
        raise ValueError("the pairwise-subject secret must be at least 16 bytes")
    mac = hmac.new(secret, f"{issuer}|{account}".encode(), hashlib.sha256).digest()
    return b64encode(mac)


def _sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


# -- trust -----------------------------------------------------------------------------------


def _check_issuer(iss: object) -> None:
    if not isinstance(iss, str) or _FAST_ENTITY.fullmatch(iss) is None:
        raise SchemaViolationError(
            f"trust store issuer {iss!r} is not an https entity id without query or fragment "
            "(CONV-001)"
        )


class TrustStore:
    """Issuer entity id -> JWKS with validity windows: a verifier's trust input (REC-033)."""

    __slots__ = ("_issuers",)

    def __init__(self, issuers: Mapping[str, KeySet]) -> None:
        self._issuers = dict(issuers)

    @classmethod
    def from_json(cls, value: Any) -> TrustStore:
        """Load ``{"ver": "1.0", "issuers": {iss: {"jwks": {"keys": [...]}}}}``."""
        if not isinstance(value, dict) or not isinstance(value.get("issuers"), dict):
            raise SchemaViolationError('a trust store is {"ver": "1.0", "issuers": {...}}')
        check_version(value.get("ver"))
        issuers: dict[str, KeySet] = {}
        for iss, entry in value["issuers"].items():
            _check_issuer(iss)
            jwks = entry.get("jwks") if isinstance(entry, dict) else None
            if not isinstance(jwks, dict):
                raise SchemaViolationError(f'trust store issuer {iss} needs a "jwks" object')
            listed = jwks.get("keys")
            if isinstance(listed, list):
                for jwk in listed:
                    if isinstance(jwk, dict) and "kid" not in jwk:
                        raise InvalidKeyError(f"trust store key of {iss} has no kid (REC-034)")
            keys = KeySet.from_jwks(jwks)
            for key in keys:
                if key.validity.nbf is None:
                    raise InvalidKeyError(
                        f"trust store key {key.kid} of {iss} has no nbf (REC-034)"
                    )
            issuers[iss] = keys
        return cls(issuers)

    @classmethod
    def load(cls, path: str | Path) -> TrustStore:
        """Read a trust-store file."""
        try:
            data = Path(path).read_bytes()
        except OSError as exc:
            raise IoError(f"cannot read trust store {path}: {exc.strerror or exc}") from exc
        return cls.from_json(_json.loads(data))

    def to_json(self) -> dict[str, Any]:
        """The trust-store document."""
        return {
            "ver": "1.0",
            "issuers": {iss: {"jwks": keys.to_jwks()} for iss, keys in self._issuers.items()},
        }

    def key(self, iss: object, kid: object) -> PublicKey:
        """The key ``kid`` listed under issuer ``iss`` (REC-033), else :class:`UnknownKeyError`."""
        keys = self._issuers.get(iss) if isinstance(iss, str) else None
        key = keys.get(kid) if keys is not None and isinstance(kid, str) else None
        if key is None:
            raise UnknownKeyError(
                f"no trusted key {kid!r} for issuer {iss!r} (REC-033)",
                detail={"iss": iss, "kid": kid},
            )
        return key

    def issuers(self) -> list[str]:
        """The issuers this store trusts."""
        return list(self._issuers)

    def with_key(self, iss: str, key: PublicKey) -> TrustStore:
        """A copy that also trusts ``key`` for ``iss`` (REC-030); the key needs ``nbf``."""
        if key.validity.nbf is None:
            raise InvalidKeyError(f"key {key.kid} needs a validity window with nbf (REC-034)")
        _check_issuer(iss)
        current = self._issuers.get(iss, KeySet())
        issuers = dict(self._issuers)
        issuers[iss] = KeySet([*current, key])
        return TrustStore(issuers)

    def with_revocation(self, iss: str, kid: str, revoked_at: int, reason: str) -> TrustStore:
        """A copy in which key ``kid`` of ``iss`` is revoked from ``revoked_at`` on (REC-031)."""
        old = self.key(iss, kid)
        validity = KeyValidity(old.validity.nbf, old.validity.exp, revoked_at, reason)
        issuers = dict(self._issuers)
        issuers[iss] = KeySet(
            key.with_validity(validity) if key.kid == kid else key for key in self._issuers[iss]
        )
        return TrustStore(issuers)


# -- verification ----------------------------------------------------------------------------


class VerifiedReceipt(NamedTuple):
    """A receipt that passed verification (an immutable record).

    ``duplicate`` is true for an identical resubmission of a receipt already recorded (REC-042):
    it is valid, and it must not be counted again.
    """

    claims: dict[str, Any]
    kid: str
    claims_bytes: bytes
    receipt_digest: str
    receipt: str
    batch_id: str | None = None
    duplicate: bool = False

    @property
    def content_digest(self) -> str:
        """The content digest: SHA-256 of the claims' JCS bytes as received (REC-010)."""
        return _sha256(self.claims_bytes)

    @property
    def amount(self) -> Decimal:
        """The receipt's amount in UTU."""
        return Decimal(self.claims["amount"])

    def to_json(self) -> dict[str, Any]:
        """A summary for reports: issuer, audience, jti, seq, amount, digests."""
        body: dict[str, Any] = {
            "iss": self.claims["iss"],
            "aud": self.claims["aud"],
            "jti": self.claims["jti"],
            "seq": self.claims["seq"],
            "amount": self.claims["amount"],
            "content_digest": self.content_digest,
            "receipt_digest": self.receipt_digest,
        }
        if self.batch_id is not None:
            body["batch_id"] = self.batch_id
        if self.duplicate:
            body["duplicate"] = True
        return body


@dataclass(frozen=True, slots=True)
class _Batch:
    iss: str
    iat: int
    batch_id: str
    tree_size: int
    tree_root: bytes
    kid: str
    inclusion: _merkle.CachedInclusion


class _StreamState:
    """Replay and chain state (REC-042, REC-043): staged in memory, committed to a ledger.

    The ledger is read once per stream and per (iss, jti) while receipts are staged; the heads
    read are passed back when recording, so a concurrent writer to the same ledger makes the
    whole batch fail (:class:`ChainBreakError`, :class:`ReplayError`) rather than fork a stream.
    """

    def __init__(self, ledger: ReceiptLedger | None) -> None:
        self._ledger = ledger
        # In memory a receipt's content is kept as its claims bytes (compared directly); the
        # ledger keeps content digests. Either way two receipts are compared by content.
        self._seen: dict[tuple[str, str], bytes] = {}
        self._heads: dict[tuple[str, str], tuple[int, str]] = {}
        self._read_heads: dict[tuple[str, str], tuple[int, str] | None] = {}
        self._staged: list[LedgerEntry] = []

    def same_content(self, iss: str, jti: str, receipt: VerifiedReceipt) -> bool | None:
        """``None`` if (iss, jti) is new, else whether it was seen with the same content."""
        seen = self._seen.get((iss, jti))
        if seen is not None:
            return seen == receipt.claims_bytes
        if self._ledger is not None:
            entry = self._ledger.lookup(iss, jti)
            if entry is not None:
                return entry.content_digest == receipt.content_digest
        return None

    def head(self, iss: str, aud: str) -> tuple[int, str] | None:
        stream = (iss, aud)
        found = self._heads.get(stream)
        if found is None and self._ledger is not None:
            if stream in self._read_heads:
                return self._read_heads[stream]
            found = self._read_heads[stream] = self._ledger.stream_head(iss, aud)
        return found

    def stage(self, receipt: VerifiedReceipt) -> None:
        claims = receipt.claims
        iss, aud = claims["iss"], claims["aud"]
        self._seen[(iss, claims["jti"])] = receipt.claims_bytes
        self._heads[(iss, aud)] = (claims["seq"], receipt.receipt_digest)
        if self._ledger is not None:
            self._staged.append(
                LedgerEntry(
                    iss=iss,
                    jti=claims["jti"],
                    aud=aud,
                    sub=claims["sub"],
                    seq=claims["seq"],
                    iat=claims["iat"],
                    amount=Decimal(claims["amount"]),
                    rate_card_id=claims["rate_card"]["id"],
                    content_digest=receipt.content_digest,
                    receipt_digest=receipt.receipt_digest,
                    receipt=receipt.receipt,
                    batch_id=receipt.batch_id,
                )
            )

    def commit(self) -> None:
        """Record staged receipts in one ledger transaction (REC-045); forget the memory copy.

        Raises:
            ChainBreakError, ReplayError: another writer changed a stream or recorded a jti
                meanwhile; nothing was recorded and the staged receipts are dropped.
        """
        if self._ledger is None:
            return
        staged, self._staged = self._staged, []
        expected = {stream: self._read_heads.get(stream) for stream in self._heads}
        self._forget()
        if staged:
            self._ledger.record(staged, expected_heads=expected)

    def rollback(self) -> None:
        """Drop staged receipts (used when a batch of receipts cannot be recorded)."""
        if self._ledger is not None:
            self._staged.clear()
            self._forget()

    def _forget(self) -> None:
        self._seen.clear()
        self._heads.clear()
        self._read_heads.clear()


class ReceiptVerifier:
    """Verifies receipts and batched receipts (REC-040, REC-062).

    Args:
        trust: the issuers' keys with validity windows.
        rate_cards: the rate cards receipts may name, by ``rate_card_id``.
        ledger: where accepted receipts are recorded durably; replay and chain state are then
            read from it. Without a ledger, that state lives in memory.
        track: apply the replay (REC-042) and chain (REC-043) checks.
        clock_skew: seconds an ``iat`` may lie in the future (REC-041: 60..600).
        clock: the current time as a NumericDate.
    """

    def __init__(
        self,
        trust: TrustStore,
        rate_cards: Iterable[RateCard],
        *,
        ledger: ReceiptLedger | None = None,
        track: bool = True,
        clock_skew: int = DEFAULT_CLOCK_SKEW,
        clock: Callable[[], int] | None = None,
    ) -> None:
        if not 60 <= clock_skew <= 600:
            raise ValueError("clock_skew must be between 60 and 600 seconds (REC-041)")
        self._trust = trust
        self._cards: dict[str, RateCard] = {}
        for card in rate_cards:
            self._cards[card.id] = card
        self._track = track
        self._state = _StreamState(ledger)
        self._skew = clock_skew
        self._clock = clock or (lambda: int(time.time()))
        self._batches: OrderedDict[str, _Batch] = OrderedDict()
        self._schema = _FastSchema()

    # The public entry points ------------------------------------------------------------

    def verify(self, receipt: str | bytes | Mapping[str, Any]) -> VerifiedReceipt:
        """Verify one receipt (JWS string) or batched receipt (object or its JSON text), then
        apply the replay and chain checks and record it."""
        checked = self.check(receipt)
        try:
            result = self.track(checked)
            self._state.commit()
        except TokenfedError:
            self._state.rollback()
            raise
        return result

    def check(self, receipt: str | bytes | Mapping[str, Any]) -> VerifiedReceipt:
        """Steps 1 to 11 of REC-040 (or REC-062 steps 1 to 5 without 12 and 13): everything but
        replay and chain state. Pure: safe to run in parallel workers."""
        if not isinstance(receipt, str):
            if isinstance(receipt, Mapping):
                return self._check_batched(receipt)
            receipt = bytes(receipt).decode("utf-8", "replace")
        text = receipt.strip()
        if text.startswith("{"):
            value = _json.loads(text)
            if not isinstance(value, dict):
                raise MalformedError("a batched receipt is a JSON object (REC-062)")
            return self._check_batched(value)
        return self._check_compact(text)

    def track(self, checked: VerifiedReceipt) -> VerifiedReceipt:
        """Steps 12 and 13 of REC-040: replay and chain, then stage the receipt for recording.

        Call :meth:`commit` to record what was staged (``verify`` does both).
        """
        if not self._track:
            return checked
        claims = checked.claims
        iss = claims["iss"]
        same = self._state.same_content(iss, claims["jti"], checked)
        if same is not None:
            if same:
                return _duplicate(checked)
            raise ReplayError(
                f"jti {claims['jti']!r} of {iss} was seen with other content (REC-042)",
                detail={"iss": iss, "jti": claims["jti"]},
            )
        head = self._state.head(iss, claims["aud"])
        expected_seq, expected_prev = (1, None) if head is None else (head[0] + 1, head[1])
        if claims["seq"] != expected_seq or claims.get("prev") != expected_prev:
            raise ChainBreakError(
                f"stream {iss} -> {claims['aud']} expects seq {expected_seq} with prev "
                f"{expected_prev}; got seq {claims['seq']} with prev {claims.get('prev')} "
                "(REC-043)",
                detail={"expected_seq": expected_seq, "seq": claims["seq"]},
            )
        self._state.stage(checked)
        return checked

    def commit(self) -> None:
        """Record every receipt staged by :meth:`track` in one transaction (REC-045)."""
        self._state.commit()

    def rollback(self) -> None:
        """Forget receipts staged by :meth:`track` since the last commit."""
        self._state.rollback()

    def verify_batch(
        self, batch: str, claims_bytes: Sequence[bytes]
    ) -> list[VerifiedReceipt | TokenfedError]:
        """Verify a whole batch at once by recomputing its tree head (REC-064).

        Returns one result per leaf, in order: the verified receipt, or the error that rejected
        it. Replay and chain checks are applied, and accepted receipts are recorded together.
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
        results: list[VerifiedReceipt | TokenfedError] = []
        for leaf in claims_bytes:
            try:
                checked = self._check_claims_bytes(leaf, statement)
                results.append(self.track(checked))
            except TokenfedError as exc:
                results.append(exc)
        self._state.commit()
        return results

    # Steps of REC-040 --------------------------------------------------------------------

    def _check_compact(self, token: str) -> VerifiedReceipt:
        # Steps 1-4: parse, typ, alg, crit.
        decoded = jws.decode(token, jws.TYP_RECEIPT, max_bytes=MAX_RECEIPT_BYTES)
        claims = decoded.claims
        # Step 5: key, pinned algorithm, validity at iat.
        key = self._key_at(claims.get("iss"), decoded.header, claims.get("iat"))
        # Step 6: signature (the pinned algorithm was checked with the key).
        if not key.verify(decoded.signature, decoded.signing_input):
            raise InvalidSignatureError(
                "the receipt signature does not verify with the key (CONV-049)"
            )
        # Steps 7-11.
        self._check_claims(claims)
        return VerifiedReceipt(
            claims, key.kid, decoded.payload, _sha256(token.encode("ascii")), token
        )

    def _key_at(self, iss: object, header: Mapping[str, Any], iat: object) -> PublicKey:
        key = self._trust.key(iss, header.get("kid"))
        jws.check_alg(header, key)
        if type(iat) is int and not key.validity.is_valid_at(iat):
            key.validity.check(iat, key.kid)  # raises KeyNotValidError with the reason
        return key

    def _check_claims(self, claims: dict[str, Any]) -> None:
        # Steps 7 and 8: version, then schema.
        if self._schema.accepts(claims):
            iat: int = claims["iat"]
            card_id: str = claims["rate_card"]["id"]
            card_digest: str = claims["rate_card"]["digest"]
            model: str = claims["usage"]["model"]
            meters: dict[str, int] = claims["usage"]["meters"]
            amount = _micro(claims["amount"])
        else:
            parsed = _validate_receipt(claims)
            iat, card_id, card_digest = parsed.iat, parsed.rate_card.id, parsed.rate_card.digest
            model, meters = parsed.usage.model, parsed.usage.meters
            amount = _micro(format_decimal(parsed.amount))
        # Step 9: time.
        now = self._clock()
        if iat > now + self._skew:
            raise IatInFutureError(
                f"iat {iat} is more than {self._skew} s after now ({now}) (REC-041)"
            )
        # Step 10: rate card.
        card = self._cards.get(card_id)
        if card is None:
            raise UnknownRateCardError(
                f"no rate card {card_id!r} is known to this verifier (REC-040)",
                detail={"rate_card": card_id},
            )
        if card.digest != card_digest:
            raise RateCardMismatchError(
                f"rate card {card.id!r} has digest {card.digest}, the receipt names "
                f"{card_digest} (REC-040)"
            )
        if not card.is_valid_at(iat):
            raise RateCardMismatchError(
                f"rate card {card.id!r} was not valid at iat {iat} (REC-040)"
            )
        # Step 11: amount, compared as integers of 10^-6 UTU.
        expected = card.micro_amount_of(model, meters)  # validity at iat checked just above
        if expected != amount:
            shown = format_decimal(fixed(expected, 6))
            raise AmountMismatchError(
                f"amount {claims['amount']} UTU is not what rate card {card.id!r} gives for the "
                f"usage: {shown} UTU (REC-040)",
                detail={"expected": shown, "amount": claims["amount"]},
            )

    # Steps of REC-062 --------------------------------------------------------------------

    def _check_batched(self, item: Mapping[str, Any]) -> VerifiedReceipt:
        # Step 1: parse.
        claims_b64, index, path, batch = (
            item.get("claims"),
            item.get("leaf_index"),
            item.get("audit_path"),
            item.get("batch"),
        )
        if not (
            isinstance(claims_b64, str)
            and type(index) is int
            and isinstance(path, list)
            and isinstance(batch, str)
        ):
            raise MalformedError(
                "a batched receipt needs claims (string), leaf_index (integer), audit_path "
                "(array) and batch (string) (REC-062)"
            )
        check_version(item.get("ver"))
        leaf = b64decode(claims_b64, what="batched receipt claims")
        # Step 2: batch statement (cached by its exact bytes, REC-063).
        statement = self._batch_statement(batch)
        # Step 3: proof.
        if not statement.inclusion.verify_hex(_merkle.leaf_hash(leaf), index, path):
            raise InvalidProofError(
                f"inclusion proof for leaf {index} does not lead to the root of batch "
                f"{statement.batch_id} (REC-062)"
            )
        # Steps 4 and 5.
        return self._check_claims_bytes(leaf, statement, claims_b64)

    def _check_claims_bytes(
        self, leaf: bytes, statement: _Batch, encoded: str | None = None
    ) -> VerifiedReceipt:
        claims = _json.loads(leaf)
        if not isinstance(claims, dict):
            raise MalformedError("batched receipt claims must be a JSON object (REC-062)")
        if claims.get("iss") != statement.iss:
            raise InvalidProofError(
                f"claims iss {claims.get('iss')!r} is not the batch issuer {statement.iss} "
                "(REC-062)"
            )
        iat = claims.get("iat")
        if type(iat) is int and iat > statement.iat:
            raise InvalidProofError(
                f"receipt iat {iat} is later than its batch statement's iat {statement.iat} "
                "(REC-065)"
            )
        self._check_claims(claims)
        return VerifiedReceipt(
            claims,
            statement.kid,
            leaf,
            _sha256(leaf),
            b64encode(leaf) if encoded is None else encoded,
            statement.batch_id,
        )

    def _batch_statement(self, batch: str) -> _Batch:
        cached = self._batches.get(batch)
        if cached is not None:
            self._batches.move_to_end(batch)
            return cached
        decoded = jws.decode(batch, jws.TYP_RECEIPT_BATCH, max_bytes=MAX_RECEIPT_BYTES)
        claims = decoded.claims
        key = self._key_at(claims.get("iss"), decoded.header, claims.get("iat"))
        if not key.verify(decoded.signature, decoded.signing_input):
            raise InvalidSignatureError(
                "the batch signature does not verify with the key (CONV-049)"
            )
        parsed = validate(BatchClaims, claims, what="batch statement")
        statement = _Batch(
            iss=parsed.iss,
            iat=parsed.iat,
            batch_id=parsed.batch_id,
            tree_size=parsed.tree_size,
            tree_root=bytes.fromhex(parsed.tree_root),
            kid=key.kid,
            inclusion=_merkle.CachedInclusion(parsed.tree_size, bytes.fromhex(parsed.tree_root)),
        )
        self._batches[batch] = statement
        if len(self._batches) > _BATCH_CACHE_SIZE:
            self._batches.popitem(last=False)
        return statement


_MICRO_SCALE = (1_000_000, 100_000, 10_000, 1_000, 100, 10, 1)


def _micro(amount: str) -> int:
    """A canonical UTU amount (at most 6 fractional digits) as an integer of 10^-6 UTU."""
    point = amount.find(".")
    if point < 0:
        return int(amount) * 1_000_000
    return int(amount[:point] + amount[point + 1 :]) * _MICRO_SCALE[len(amount) - point - 1]


def _duplicate(checked: VerifiedReceipt) -> VerifiedReceipt:
    return checked._replace(duplicate=True)


# -- issuing ---------------------------------------------------------------------------------


class _MemoryStreams:
    """Stream state kept in memory: for tests and one-off use; lost on restart."""

    def __init__(self) -> None:
        self._heads: dict[tuple[str, str], tuple[int, str]] = {}
        self._issued: dict[tuple[str, str, int], str] = {}

    def issue(self, iss: str, aud: str, build: Callable[[int, str | None], tuple[str, str]]) -> str:
        head = self._heads.get((iss, aud))
        seq, prev = (1, None) if head is None else (head[0] + 1, head[1])
        receipt, digest = build(seq, prev)
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
        """Price ``usage``, sign a receipt continuing the stream to ``aud``, store it, return it."""
        request = ReceiptRequest(aud=aud, sub=sub, usage=usage, jti=jti, entitlement=entitlement)
        at = self._clock() if iat is None else iat

        def build(seq: int, prev: str | None) -> tuple[str, str]:
            token = jws.sign(self._claims(request, at, seq, prev), self._key, jws.TYP_RECEIPT)
            return token, _sha256(token.encode("ascii"))

        result: str = self._store.issue(self._iss, aud, build)
        return result

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
                return b64encode(leaf), _sha256(leaf)

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
        batch = jws.sign(statement, self._key, jws.TYP_RECEIPT_BATCH)
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
