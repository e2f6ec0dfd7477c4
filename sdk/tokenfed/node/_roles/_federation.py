"""Federation endpoints: the entity configuration of every node, and the fetch, list and
historical-keys endpoints of anchors and intermediates (OpenID Federation 1.1 §8, §9)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ...errors import InvalidRequestError, NotFoundError, UnsupportedParameterError
from ...federation import (
    HISTORICAL_KEYS_MEDIA_TYPE,
    RECOGNITION_CLAIM,
    STATEMENT_MEDIA_TYPE,
    sign_historical_keys,
    sign_statement,
)
from .._config import LoadedKeys, NodeConfig, Role
from .._http import jwt_response, single_parameter
from .._paths import Paths

__all__ = ["Federation"]

TOKENFED_VERSIONS = ["1.0"]
# List filters of OIDF §8.2 the profile does not support (FED-082).
UNSUPPORTED_LIST_FILTERS = ("trust_marked", "trust_mark_type", "intermediate")


class _Signed:
    """A statement signed on demand and cached until a tenth of its lifetime is left (API-020)."""

    def __init__(self, lifetime: int, clock: Callable[[], float]) -> None:
        self._lifetime = lifetime
        self._margin = max(60, lifetime // 10)
        self._clock = clock
        self._cache: dict[str, tuple[int, str]] = {}
        self._lock = threading.Lock()

    def get(self, name: str, build: Callable[[int, int], str]) -> str:
        now = int(self._clock())
        with self._lock:
            cached = self._cache.get(name)
            if cached is not None and now < cached[0] - self._margin:
                return cached[1]
            exp = now + self._lifetime
            token = build(now, exp)
            self._cache[name] = (exp, token)
            return token


class Federation:
    """The federation side of one node."""

    def __init__(
        self,
        config: NodeConfig,
        keys: LoadedKeys,
        paths: Paths,
        subordinates: dict[str, dict[str, Any]],
        clock: Callable[[], float],
    ) -> None:
        self.config = config
        self.keys = keys
        self.paths = paths
        self.subordinates = subordinates
        self.clock = clock
        self._signed = _Signed(config.statement_lifetime, clock)

    # ------------------------------------------------------------------ metadata

    def metadata(self) -> dict[str, Any]:
        """The node's metadata by entity type (FED-6), as published in its configuration."""
        config, keys, url = self.config, self.keys, self.paths.url
        metadata: dict[str, Any] = {}
        federation_entity: dict[str, Any] = {}
        if config.organization_name:
            federation_entity["organization_name"] = config.organization_name
        if config.is_authority:
            federation_entity["federation_fetch_endpoint"] = url(self.paths.fetch)
            federation_entity["federation_list_endpoint"] = url(self.paths.list)
            federation_entity["federation_historical_keys_endpoint"] = url(self.paths.historical)
        if federation_entity:
            metadata["federation_entity"] = federation_entity
        if config.has(Role.PROVIDER) and keys.receipt is not None:
            metadata["tokenfed_provider"] = {
                "tokenfed_versions": TOKENFED_VERSIONS,
                "receipt_jwks": keys.receipt.published.to_jwks(),
                "rate_card_uri": url(self.paths.rate_card),
                "metering_endpoint": url(self.paths.metering),
            }
        if config.has(Role.OPERATOR) and keys.entitlement is not None:
            metadata["tokenfed_operator"] = {
                "tokenfed_versions": TOKENFED_VERSIONS,
                "entitlement_jwks": keys.entitlement.published.to_jwks(),
                "entitlement_endpoint": url(self.paths.entitlements),
                "receipt_intake_endpoint": url(self.paths.receipts),
            }
        if config.has(Role.CLEARING_HOUSE) and keys.statement is not None:
            metadata["tokenfed_clearing_house"] = {
                "tokenfed_versions": TOKENFED_VERSIONS,
                "statement_jwks": keys.statement.published.to_jwks(),
                "exchange_rates_uri": url(self.paths.exchange_rates),
            }
        return metadata

    def _federation_jwks(self) -> dict[str, Any]:
        return {"keys": [key.to_jwk(with_validity=False) for key in self.keys.federation.published]}

    def sign(self, claims: dict[str, Any]) -> str:
        """Sign a statement with the federation key, after the profile checks (FED-023)."""
        return sign_statement(claims, self.keys.federation.private)

    def entity_configuration(self) -> str:
        """The node's entity configuration, signed now or taken from the cache."""

        def build(iat: int, exp: int) -> str:
            claims: dict[str, Any] = {
                "iss": self.config.entity_id,
                "sub": self.config.entity_id,
                "iat": iat,
                "exp": exp,
                "jwks": self._federation_jwks(),
                "metadata": self.metadata(),
            }
            if self.config.authority_hints:
                claims["authority_hints"] = list(self.config.authority_hints)
            return self.sign(claims)

        return self._signed.get("", build)

    def subordinate_statement(self, sub: str) -> str:
        """The subordinate statement about ``sub``."""
        entry = self.subordinates[sub]

        def build(iat: int, exp: int) -> str:
            claims: dict[str, Any] = {
                "iss": self.config.entity_id,
                "sub": sub,
                "iat": iat,
                "exp": exp,
                "jwks": entry["jwks"],
                "source_endpoint": self.paths.url(self.paths.fetch),
            }
            for member in ("metadata", "constraints", "metadata_policy"):
                if entry.get(member) is not None:
                    claims[member] = entry[member]
            if entry.get("recognition"):
                claims[RECOGNITION_CLAIM] = True
            return self.sign(claims)

        return self._signed.get(sub, build)

    def historical_keys(self) -> str:
        """The historical keys document (OIDF §8.7): retired federation keys, each with exp."""
        return sign_historical_keys(
            self.config.entity_id,
            list(self.keys.historical),
            self.keys.federation.private,
            iat=int(self.clock()),
        )

    # ------------------------------------------------------------------ endpoints

    async def get_configuration(self, request: Request) -> Response:
        return jwt_response(self.entity_configuration(), STATEMENT_MEDIA_TYPE)

    async def get_fetch(self, request: Request) -> Response:
        sub = single_parameter(request, "sub", required=True)
        assert sub is not None
        if sub == self.config.entity_id:
            raise InvalidRequestError(
                "sub names this entity itself; its configuration is at "
                "/.well-known/openid-federation"
            )
        if sub not in self.subordinates:
            raise NotFoundError(f"{sub} is not a subordinate of {self.config.entity_id}")
        return jwt_response(self.subordinate_statement(sub), STATEMENT_MEDIA_TYPE)

    async def get_list(self, request: Request) -> Response:
        for name in UNSUPPORTED_LIST_FILTERS:
            if name in request.query_params:
                raise UnsupportedParameterError(
                    f"the list filter {name!r} is not supported (FED-082)"
                )
        types = request.query_params.getlist("entity_type")
        found = [
            entity_id
            for entity_id, entry in self.subordinates.items()
            if not types or set(types) & set(entry.get("entity_types", ()))
        ]
        return JSONResponse(sorted(found))

    async def get_historical_keys(self, request: Request) -> Response:
        return jwt_response(self.historical_keys(), HISTORICAL_KEYS_MEDIA_TYPE)

    def routes(self) -> list[Route]:
        """The routes of this node's federation endpoints."""
        routes = [
            Route(self.paths.configuration, self.get_configuration, methods=["GET"]),
        ]
        if self.config.is_authority:
            routes += [
                Route(self.paths.fetch, self.get_fetch, methods=["GET"]),
                Route(self.paths.list, self.get_list, methods=["GET"]),
                Route(self.paths.historical, self.get_historical_keys, methods=["GET"]),
            ]
        return routes
