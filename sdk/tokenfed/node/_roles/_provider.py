"""Provider endpoints: the signed rate card (API-030) and metering (API-031..API-034)."""

from __future__ import annotations

import hashlib
import sqlite3
import threading
import time
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ... import _json
from ..._decimal import format_decimal
from ...entitlements import Entitlement, Reservations
from ...errors import (
    InvalidRequestError,
    IoError,
    ReplayError,
    SchemaViolationError,
    TemporarilyUnavailableError,
)
from ...ledger import SqliteStreamStore
from ...receipts import ReceiptIssuer
from ...units import RateCard, Usage, adapt, parse_usage
from .._http import jwt_response, read_json
from ._documents import sign_claims_file

if TYPE_CHECKING:
    from .._app import NodeApp

__all__ = ["RATE_CARD_MEDIA_TYPE", "Provider"]

RATE_CARD_MEDIA_TYPE = "application/tokenfed-rate-card+jwt"
_METERING_MEMBERS = {"entitlement", "model", "request_id", "usage", "vendor", "response"}
_SMALLEST_RESERVATION = Decimal("0.000001")  # a reservation holds at least one micro-UTU
_IN_FLIGHT_WAIT_NS = 30_000_000_000
"""How long (ns) a repeated request waits for the answer to the same request in flight."""
_IN_FLIGHT_POLL_NS = 250_000_000  # another process may answer it: look again this often
_REQUEST_ID_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._~-")

_METERED_SCHEMA = """
CREATE TABLE IF NOT EXISTS metered (
    request_id TEXT PRIMARY KEY,
    request_digest TEXT NOT NULL,
    response TEXT
)
"""


class _Metered:
    """Request ids already metered, so that a retried request gets the same receipt and a
    reused request id never gets a second one (API-033)."""

    def __init__(self, node: NodeApp) -> None:
        self._connection = node.state.connect("metered.sqlite")
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)  # a request completed or abandoned
        try:
            self._connection.execute(_METERED_SCHEMA)
        except sqlite3.Error as exc:
            raise IoError(f"cannot prepare metered.sqlite: {exc}") from None

    def claim(self, request_id: str, digest: str) -> dict[str, Any] | None:
        """Claim ``request_id`` for a request with ``digest``; return the stored response of an
        identical request already metered (API-033). The same request still in flight is
        waited for: its response, or the claim if it failed. Raises ``replay`` for a request id
        used by another request, and ``temporarily_unavailable`` when the same request is
        still in flight after ``_IN_FLIGHT_WAIT_NS``."""
        deadline = time.monotonic_ns() + _IN_FLIGHT_WAIT_NS
        with self._changed:
            while True:
                try:
                    self._connection.execute(
                        "INSERT INTO metered (request_id, request_digest) VALUES (?, ?)",
                        (request_id, digest),
                    )
                    return None
                except sqlite3.IntegrityError:
                    row = self._connection.execute(
                        "SELECT request_digest, response FROM metered WHERE request_id = ?",
                        (request_id,),
                    ).fetchone()
                except sqlite3.Error as exc:
                    raise IoError(f"cannot record request {request_id}: {exc}") from None
                if row is None:
                    continue  # abandoned meanwhile: this request takes the id
                if row[0] != digest:
                    raise ReplayError(
                        f"request_id {request_id!r} was already used for another request",
                        detail={"request_id": request_id},
                    )
                if row[1] is not None:
                    stored: dict[str, Any] = _json.loads(str(row[1]))
                    return stored
                left = deadline - time.monotonic_ns()
                if left <= 0:
                    raise TemporarilyUnavailableError(
                        f"request {request_id!r} is still being metered; repeat it later",
                        detail={"request_id": request_id},
                    )
                self._changed.wait(min(left, _IN_FLIGHT_POLL_NS) / 1_000_000_000)

    def complete(self, request_id: str, response: dict[str, Any]) -> None:
        with self._changed:
            self._connection.execute(
                "UPDATE metered SET response = ? WHERE request_id = ?",
                (_json.canonical_bytes(response).decode("utf-8"), request_id),
            )
            self._changed.notify_all()

    def abandon(self, request_id: str) -> None:
        with self._changed:
            self._connection.execute(
                "DELETE FROM metered WHERE request_id = ? AND response IS NULL", (request_id,)
            )
            self._changed.notify_all()


def _metering_request(body: Any) -> tuple[str, str, str]:
    """Entitlement token, model and request id of a metering request (API-031), shape only."""
    if not isinstance(body, dict):
        raise InvalidRequestError("the body must be a JSON object")
    unknown = sorted(set(body) - _METERING_MEMBERS)
    if unknown:
        raise InvalidRequestError(f"unknown member {unknown[0]!r}", detail={"member": unknown[0]})
    for name in ("entitlement", "model", "request_id"):
        if not isinstance(body.get(name), str):
            raise InvalidRequestError(
                f"member {name!r} is required and is a string", detail={"member": name}
            )
    if not 1 <= len(body["model"]) <= 256:
        raise InvalidRequestError("model is 1 to 256 characters", detail={"member": "model"})
    if "usage" in body and not isinstance(body["usage"], dict):
        raise InvalidRequestError("usage is an object", detail={"member": "usage"})
    request_id: str = body["request_id"]
    if not 1 <= len(request_id) <= 128 or not set(request_id) <= _REQUEST_ID_CHARS:
        raise InvalidRequestError(
            "request_id is 1 to 128 characters from A-Z a-z 0-9 . _ ~ - (REC-002)",
            detail={"member": "request_id"},
        )
    has_usage = "usage" in body
    has_vendor = "vendor" in body or "response" in body
    if has_usage == has_vendor:
        raise InvalidRequestError("give either usage, or vendor and response (not both)")
    if has_vendor and not (
        isinstance(body.get("vendor"), str) and isinstance(body.get("response"), dict)
    ):
        raise InvalidRequestError("vendor is a string and response an object")
    return body["entitlement"], body["model"], request_id


class Provider:
    """Publishes the rate card signed with a key of ``receipt_jwks`` and meters usage."""

    def __init__(self, node: NodeApp) -> None:
        section, key = node.config.provider, node.keys.receipt
        assert section is not None
        assert key is not None
        assert node.trust is not None
        self.node = node
        self.trust = node.trust
        self.entity_id = node.config.entity_id
        self.rate_card = sign_claims_file(RateCard, section.rate_card, key.private, "rate-card")
        if self.rate_card.raw.get("iss") != self.entity_id:
            raise SchemaViolationError(
                f"rate-card claims {section.rate_card}: iss must be the node's entity id "
                f"{self.entity_id}"
            )
        clock = node.clock
        self.reservations = node.state.keep(
            Reservations(node.state.path("reservations.sqlite"), clock=lambda: int(clock()))
        )
        streams = node.state.keep(SqliteStreamStore(node.state.path("streams.sqlite")))
        self.issuer = ReceiptIssuer(
            key.private, self.entity_id, self.rate_card, store=streams, clock=lambda: int(clock())
        )
        self.metered = _Metered(node)

    async def get_rate_card(self, request: Request) -> Response:
        assert self.rate_card.token is not None
        return jwt_response(self.rate_card.token, RATE_CARD_MEDIA_TYPE)

    def _usage(self, body: dict[str, Any], model: str) -> Usage:
        if "usage" in body:
            usage = parse_usage(body["usage"])
            if usage.model != model:
                raise InvalidRequestError(
                    f"usage.model {usage.model!r} is not the request's model {model!r}"
                )
            return usage
        try:
            return adapt(body["vendor"], body["response"], model)
        except ValueError as exc:  # an unknown vendor name: the request's, not a defect
            raise InvalidRequestError(str(exc), detail={"member": "vendor"}) from None

    def _meter(self, body: dict[str, Any]) -> dict[str, Any]:
        token, model, request_id = _metering_request(body)
        now = int(self.node.clock())
        # API-032: the entitlement verifies through the federation (the operator's
        # entitlement_jwks), for this provider, now; API-031: the usage is priced with the
        # provider's own rate card.
        entitlement = Entitlement.from_jws(token, self.trust, audience=self.entity_id, now=now)
        entitlement.check_scope(model)
        usage = self._usage(body, model)
        amount = self.rate_card.price(usage, at=now).amount
        digest = hashlib.sha256(_json.canonical_bytes(body)).hexdigest()
        stored = self.metered.claim(request_id, digest)
        if stored is not None:
            return stored
        try:
            # API-033: reserve before the receipt exists, settle with the receipt's amount.
            held = self.reservations.reserve(
                entitlement, model, max(amount, _SMALLEST_RESERVATION), now=now
            )
            try:
                receipt = self.issuer.issue_under(
                    entitlement, self.reservations, held.id, usage, jti=request_id, iat=now
                )
            except BaseException:
                if self.reservations.settlement(held.id) is None:
                    self.reservations.release(held.id, now=now)
                raise
            consumption = self.reservations.consumption(entitlement, now=now)
            response = {
                "receipt": receipt,
                "jti": request_id,
                "entitlement": entitlement.jti,
                "amount": format_decimal(amount),
                "consumed": format_decimal(consumption.settled + consumption.outstanding),
                "remaining": format_decimal(consumption.available),
            }
        except BaseException:
            self.metered.abandon(request_id)
            raise
        self.metered.complete(request_id, response)
        return response

    async def post_metering(self, request: Request) -> Response:
        body = await read_json(request, self.node.config.limits.max_body_bytes)
        return JSONResponse(await run_in_threadpool(self._meter, body))

    def routes(self) -> list[Route]:
        """The provider's routes."""
        return [
            Route(self.node.paths.rate_card, self.get_rate_card, methods=["GET"]),
            Route(self.node.paths.metering, self.post_metering, methods=["POST"]),
        ]
