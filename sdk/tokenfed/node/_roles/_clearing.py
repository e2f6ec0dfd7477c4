"""Clearing-house endpoints: the signed exchange-rate set (API-060)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ...errors import SchemaViolationError
from ...exchange import ExchangeRates
from .._http import jwt_response
from ._documents import sign_claims_file

if TYPE_CHECKING:
    from .._app import NodeApp

__all__ = ["EXCHANGE_RATES_MEDIA_TYPE", "ClearingHouse"]

EXCHANGE_RATES_MEDIA_TYPE = "application/tokenfed-exchange-rates+jwt"


class ClearingHouse:
    """Publishes the exchange-rate set signed with a key of ``statement_jwks``."""

    def __init__(self, node: NodeApp) -> None:
        section, key = node.config.clearing_house, node.keys.statement
        assert section is not None
        assert key is not None
        self.node = node
        self.rates = sign_claims_file(
            ExchangeRates, section.exchange_rates, key.private, "exchange-rate"
        )
        if self.rates.raw.get("iss") != node.config.entity_id:
            raise SchemaViolationError(
                f"exchange-rate claims {section.exchange_rates}: iss must be the node's entity id "
                f"{node.config.entity_id}"
            )

    async def get_rates(self, request: Request) -> Response:
        assert self.rates.token is not None
        return jwt_response(self.rates.token, EXCHANGE_RATES_MEDIA_TYPE)

    def routes(self) -> list[Route]:
        """The clearing house's routes."""
        return [Route(self.node.paths.exchange_rates, self.get_rates, methods=["GET"])]
