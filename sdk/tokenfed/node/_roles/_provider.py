"""Provider endpoints: the signed rate card (API-030) and metering (API-031..API-034)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ...errors import SchemaViolationError
from ...units import RateCard
from .._http import jwt_response
from ._documents import sign_claims_file

if TYPE_CHECKING:
    from .._app import NodeApp

__all__ = ["RATE_CARD_MEDIA_TYPE", "Provider"]

RATE_CARD_MEDIA_TYPE = "application/tokenfed-rate-card+jwt"


class Provider:
    """Publishes the rate card signed with a key of ``receipt_jwks`` and meters usage."""

    def __init__(self, node: NodeApp) -> None:
        section, key = node.config.provider, node.keys.receipt
        assert section is not None
        assert key is not None
        self.node = node
        self.key = key
        self.rate_card = sign_claims_file(RateCard, section.rate_card, key.private, "rate-card")
        if self.rate_card.raw.get("iss") != node.config.entity_id:
            raise SchemaViolationError(
                f"rate-card claims {section.rate_card}: iss must be the node's entity id "
                f"{node.config.entity_id}"
            )

    async def get_rate_card(self, request: Request) -> Response:
        assert self.rate_card.token is not None
        return jwt_response(self.rate_card.token, RATE_CARD_MEDIA_TYPE)

    def routes(self) -> list[Route]:
        """The provider's routes."""
        return [Route(self.node.paths.rate_card, self.get_rate_card, methods=["GET"])]
