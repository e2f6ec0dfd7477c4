"""Operator endpoints: entitlement issuance (admin, API-041), receipt intake (API-042) and
totals (admin, API-043)."""

from __future__ import annotations

import hmac
from typing import TYPE_CHECKING, Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ..._decimal import format_decimal
from ..._model import is_entity_id
from ...entitlements import Entitlement, IssuedEntitlements, issue_entitlement
from ...errors import InvalidClientError, InvalidRequestError
from ...receipts import pairwise_subject
from .._config import token_sha256
from .._http import read_json
from .._state import IssuedLog, pairwise_secret

if TYPE_CHECKING:
    from .._app import NodeApp

__all__ = ["Operator", "check_admin"]

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
    if lifetime is not None and (type(lifetime) is not int or not 60 <= lifetime <= 86400):
        raise InvalidRequestError("lifetime is a whole number of seconds from 60 to 86400")
    return subscriber, provider, scope, limit, lifetime


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
        self.secret = pairwise_secret(node.state)
        self.issued = IssuedEntitlements(node.config.entity_id)
        published = key.published.get(key.private.kid)
        assert published is not None
        for token in self.log.tokens():
            self.issued.add(token, published)

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
        published = self.key.published.get(self.key.private.kid)
        assert published is not None
        entitlement = self.issued.add(token, published)
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

    def routes(self) -> list[Route]:
        """The operator's routes."""
        return [Route(self.node.paths.entitlements, self.post_entitlements, methods=["POST"])]
