"""Operator endpoints: entitlement issuance (admin, API-041), receipt intake (API-042) and
totals (admin, API-043)."""

from __future__ import annotations

import hmac
import threading
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import httpx
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ... import _json, _jws
from ..._decimal import format_decimal
from ..._model import is_entity_id
from ...entitlements import Entitlement, IssuedEntitlements, issue_entitlement
from ...errors import (
    InvalidClientError,
    InvalidMetadataError,
    InvalidRequestError,
    TokenfedError,
    UnknownKeyError,
    WrongAudienceError,
)
from ...exchange import ExchangeRates
from ...federation import Limits
from ...federation._fetch import Budget, Fetcher
from ...hazmat import decode_unverified
from ...keys import KeySet, PublicKey
from ...ledger import SqliteLedger
from ...receipts import ReceiptTracker, ReceiptVerifier, pairwise_subject
from ...trust import KeyOrigin
from ...units import RateCard
from .._config import token_sha256
from .._http import (
    JSON_MEDIA_TYPE,
    error_object,
    read_body,
    read_json,
    require_media_type,
    single_parameter,
)
from .._state import ChainArchive, IssuedLog, pairwise_secret
from ._clearing import EXCHANGE_RATES_MEDIA_TYPE
from ._provider import RATE_CARD_MEDIA_TYPE

if TYPE_CHECKING:
    from .._app import NodeApp

__all__ = ["Operator", "check_admin"]

JSONL_MEDIA_TYPE = "application/jsonl"
_ENTITLEMENT_MEMBERS = {"subscriber", "provider", "scope", "limit", "lifetime"}


def check_admin(request: Request, expected_sha256: str) -> None:
    """Require ``Authorization: Bearer TOKEN`` whose SHA-256 is the configured hash (API-040).

    The hashes are compared in constant time, so timing does not reveal how much matched.
    """
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise InvalidClientError("this endpoint needs the admin credential: Authorization: Bearer")
    if not hmac.compare_digest(token_sha256(token.strip()), expected_sha256):
        raise InvalidClientError("the admin credential is wrong")


def _entitlement_request(body: Any) -> tuple[str, str, list[str], str, int | None]:
    """The members of an entitlement request (API-041), checked for shape only; the claims'
    own rules (ENT-002..ENT-006) are checked when the entitlement is built."""
    if not isinstance(body, dict):
        raise InvalidRequestError("the body must be a JSON object")
    unknown = sorted(set(body) - _ENTITLEMENT_MEMBERS)
    if unknown:
        raise InvalidRequestError(f"unknown member {unknown[0]!r}", detail={"member": unknown[0]})
    for name in ("subscriber", "provider", "scope", "limit"):
        if name not in body:
            raise InvalidRequestError(f"member {name!r} is required", detail={"member": name})
    subscriber, provider, scope, limit = (
        body["subscriber"],
        body["provider"],
        body["scope"],
        body["limit"],
    )
    lifetime = body.get("lifetime")
    if not isinstance(subscriber, str) or not 1 <= len(subscriber) <= 256:
        raise InvalidRequestError("subscriber is a string of 1 to 256 characters")
    if not is_entity_id(provider):
        raise InvalidRequestError(
            "provider must be an entity id (CONV-001)", detail={"member": "provider"}
        )
    if not isinstance(scope, list) or not all(isinstance(model, str) for model in scope):
        raise InvalidRequestError("scope is an array of model id strings")
    if not isinstance(limit, str):
        raise InvalidRequestError("limit is a decimal string")
    if "lifetime" in body and (type(lifetime) is not int or not 60 <= lifetime <= 86400):
        raise InvalidRequestError("lifetime is a whole number of seconds from 60 to 86400")
    return subscriber, provider, scope, limit, lifetime


class _OwnKeys:
    """The operator's published entitlement keys as a key source: entitlements it issued under
    a key it has since rotated still verify when it reads its record again at startup."""

    def __init__(self, entity_id: str, keys: KeySet) -> None:
        self._entity_id = entity_id
        self._keys = keys

    def key(self, iss: object, kid: object) -> PublicKey:
        key = self._keys.get(kid) if isinstance(kid, str) else None
        if iss != self._entity_id or key is None:
            raise UnknownKeyError(f"kid {kid!r} is not one of this operator's entitlement keys")
        return key


class Operator:
    """The operator's endpoints and state."""

    def __init__(self, node: NodeApp) -> None:
        section, key, admin = node.config.operator, node.keys.entitlement, node.config.admin
        assert section is not None
        assert key is not None
        assert admin is not None
        self.node = node
        self.section = section
        self.key = key
        self.admin_sha256 = admin.token_sha256
        self.log = IssuedLog(node.state)
        self.archive = ChainArchive(node.state)
        self.secret = pairwise_secret(node.state)
        self.issued = IssuedEntitlements(node.config.entity_id)
        self.own_keys = _OwnKeys(node.config.entity_id, key.published)
        for token in self.log.tokens():
            self.issued.add(token, self.own_keys)
        assert node.trust is not None
        self.trust = node.trust
        self.ledger = node.state.keep(SqliteLedger(node.state.path("ledger.sqlite")))
        self.tracker = ReceiptTracker(self.ledger)
        self.intake_lock = threading.Lock()
        self.cards: dict[str, RateCard] = {}
        self.limits = Limits()
        self.client = httpx.AsyncClient()
        self.fetcher = Fetcher(self.client, self.limits, node.config.origin_map or None)

    def _issue(
        self, subscriber: str, provider: str, scope: list[str], limit: str, lifetime: int | None
    ) -> Entitlement:
        now = int(self.node.clock())
        try:
            token = issue_entitlement(
                key=self.key.private,
                iss=self.node.config.entity_id,
                aud=provider,
                sub=pairwise_subject(self.secret, provider, subscriber),
                scope=scope,
                limit=limit,
                ttl=lifetime or self.section.entitlement_lifetime,
                iat=now,
            )
        except (TypeError, ValueError) as exc:
            # The SDK's argument checks: here the arguments come from the request.
            raise InvalidRequestError(f"the entitlement cannot be issued: {exc}") from None
        entitlement = self.issued.add(token, self.own_keys)
        self.log.add(entitlement.jti, entitlement.aud, token, entitlement.exp, now)
        return entitlement

    async def post_entitlements(self, request: Request) -> Response:
        check_admin(request, self.admin_sha256)
        body = await read_json(request, self.node.config.limits.max_body_bytes)
        entitlement = await run_in_threadpool(self._issue, *_entitlement_request(body))
        return JSONResponse(
            {
                "entitlement": entitlement.token,
                "jti": entitlement.jti,
                "sub": entitlement.sub,
                "exp": entitlement.exp,
                "limit": format_decimal(entitlement.limit),
            },
            status_code=201,
        )

    # ------------------------------------------------------------------ receipt intake

    async def _rate_card(self, provider: str) -> RateCard:
        """The provider's current rate card: ``rate_card_uri`` from its metadata resolved
        through the federation, the card verified with its ``receipt_jwks``."""
        resolution = await run_in_threadpool(self.trust.resolution, provider, _jws.TYP_RATE_CARD)
        members = resolution.metadata.get("tokenfed_provider", {})
        uri = members.get("rate_card_uri") if isinstance(members, dict) else None
        if not isinstance(uri, str):
            raise InvalidMetadataError(
                f"{provider} publishes no rate_card_uri; its receipts cannot be priced"
            )
        body = await self.fetcher.get(uri, RATE_CARD_MEDIA_TYPE, Budget(self.limits))
        return await run_in_threadpool(RateCard.from_jws, body, self.trust)

    async def _cards_for(self, tokens: list[str]) -> None:
        """Fetch the rate card of every issuer whose receipts name a card not yet held."""
        wanted: set[str] = set()
        for token in tokens:
            try:
                claims = decode_unverified(token, _jws.TYP_RECEIPT).claims
            except TokenfedError:
                continue  # the verifier gives the code of this receipt
            card = claims.get("rate_card")
            digest = card.get("digest") if isinstance(card, dict) else None
            # Any value may stand here in a receipt not yet verified: only a text is looked up.
            if (
                isinstance(claims.get("iss"), str)
                and isinstance(digest, str)
                and digest not in self.cards
            ):
                wanted.add(claims["iss"])
        for provider in sorted(wanted):
            try:
                card = await self._rate_card(provider)
            except TokenfedError:
                continue  # each of its receipts is then unknown_rate_card, or fails earlier
            self.cards[card.digest] = card

    def _take(self, index: int, token: object, verifier: ReceiptVerifier) -> dict[str, Any]:
        """Verify, check and record one receipt; its result (API-042)."""
        try:
            if not isinstance(token, str):
                raise InvalidRequestError("a receipt is a JWS compact string")
            verified = verifier.verify_jws(token)  # the string exactly (API-042, REC-040)
            raw = verified.raw
            if raw.get("aud") != self.node.config.entity_id:
                raise WrongAudienceError(
                    f"the receipt is for {raw.get('aud')}, not for this operator"
                )
            if "entitlement" in raw:
                self.issued.check_receipt(raw)  # ENT-052
            with self.tracker.transaction() as transaction:
                tracked = transaction.track(verified)
        except TokenfedError as exc:
            return {"index": index, "status": "rejected", "error": error_object(exc)}
        result: dict[str, Any] = {
            "index": index,
            "status": "duplicate" if tracked.duplicate else "accepted",
            "iss": raw.get("iss"),
            "jti": raw.get("jti"),
        }
        if tracked.origin is not None:
            result["trust_anchor"] = tracked.origin.trust_anchor
            result["trust_path"] = list(tracked.origin.path)
            if not tracked.duplicate:
                self._archive(raw["iss"], raw["jti"], tracked.origin)
        return result

    def _archive(self, iss: str, jti: str, origin: KeyOrigin) -> None:
        """Keep the chain the receipt was verified through (FED-153): the resolution that served
        its key, which the verifier has just used and which is cached until the chain expires."""
        resolution = self.trust.resolution(iss, _jws.TYP_RECEIPT)
        if (resolution.trust_anchor, resolution.path) != (origin.trust_anchor, origin.path):
            return  # the chain was refreshed in between: the next receipt archives the new one
        self.archive.record(
            iss, jti, resolution.chain.to_text(), origin.trust_anchor, int(self.node.clock())
        )

    def _take_all(self, tokens: list[Any]) -> list[dict[str, Any]]:
        verifier = ReceiptVerifier(
            self.trust, list(self.cards.values()), clock=lambda: int(self.node.clock())
        )
        with self.intake_lock:
            return [self._take(index, token, verifier) for index, token in enumerate(tokens)]

    async def post_receipts(self, request: Request) -> Response:
        kind = require_media_type(request, {JSON_MEDIA_TYPE, JSONL_MEDIA_TYPE})
        data = await read_body(request, self.node.config.limits.max_body_bytes)
        tokens: list[Any]
        if kind == JSON_MEDIA_TYPE:
            parsed = _json.loads(data)
            if not isinstance(parsed, list):
                raise InvalidRequestError("the body must be a JSON array of receipts")
            tokens = parsed
        else:
            tokens = [_json.loads(line) for line in data.splitlines() if line.strip()]
        if len(tokens) > self.section.max_receipts:
            raise InvalidRequestError(
                f"{len(tokens)} receipts in one request; this node takes at most "
                f"{self.section.max_receipts}"
            )
        await self._cards_for([token for token in tokens if isinstance(token, str)])
        results = await run_in_threadpool(self._take_all, tokens)
        counts = {status: 0 for status in ("accepted", "duplicate", "rejected")}
        for result in results:
            counts[result["status"]] += 1
        return JSONResponse({"results": results, **counts})

    # ------------------------------------------------------------------ totals

    async def _rates(self) -> ExchangeRates | None:
        clearing_house = self.section.clearing_house
        if clearing_house is None:
            return None
        typ = _jws.TYP_EXCHANGE_RATES
        resolution = await run_in_threadpool(self.trust.resolution, clearing_house, typ)
        members = resolution.metadata.get("tokenfed_clearing_house", {})
        uri = members.get("exchange_rates_uri") if isinstance(members, dict) else None
        if not isinstance(uri, str):
            raise InvalidMetadataError(f"{clearing_house} publishes no exchange_rates_uri")
        body = await self.fetcher.get(uri, EXCHANGE_RATES_MEDIA_TYPE, Budget(self.limits))
        return await run_in_threadpool(ExchangeRates.from_jws, body, self.trust)

    async def get_totals(self, request: Request) -> Response:
        check_admin(request, self.admin_sha256)
        provider = single_parameter(request, "provider", required=True)
        assert provider is not None
        if not is_entity_id(provider):
            raise InvalidRequestError("provider must be an entity id (CONV-001)")
        totals = await run_in_threadpool(self.ledger.totals, provider, self.node.config.entity_id)
        count, amount = totals.get((provider, self.node.config.entity_id), (0, Decimal(0)))
        body: dict[str, Any] = {
            "provider": provider,
            "count": count,
            "amount_utu": format_decimal(amount),
        }
        rates = await self._rates()
        if rates is not None:
            conversion = rates.convert(amount, "UTU", self.section.currency, int(self.node.clock()))
            body[f"amount_{self.section.currency.lower()}"] = format_decimal(conversion.amount)
            body["rates_id"] = conversion.rates_id
        return JSONResponse(body)

    def routes(self) -> list[Route]:
        """The operator's routes."""
        return [
            Route(self.node.paths.entitlements, self.post_entitlements, methods=["POST"]),
            Route(self.node.paths.receipts, self.post_receipts, methods=["POST"]),
            Route(self.node.paths.totals, self.get_totals, methods=["GET"]),
        ]
