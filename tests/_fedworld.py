"""A test federation served on loopback: entities with keys, statements signed in the test.

Entity ids are https names (``https://anchor.a.example``); each entity is its own uvicorn server
(an :class:`~_fedhttp.EntityApp`) and the resolver reaches it through ``origin_map`` (loopback
test mode). Statements are signed with :func:`tokenfed.federation.sign_statement`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from _fedhttp import EntityApp, Servers
from tokenfed.federation import TrustAnchor, sign_statement
from tokenfed.keys import KeyValidity, PrivateKey, generate_key

T0 = 1767225600
LIFETIME = 86400
VERSIONS = ["1.0"]


@dataclass
class Entity:
    """One federation entity: its id, federation key, application key, served app."""

    entity_id: str
    key: PrivateKey
    app: EntityApp
    base: str
    hints: list[str] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)
    app_key: PrivateKey | None = None

    @property
    def jwks(self) -> dict[str, Any]:
        return {"keys": [self.key.public_key().to_jwk(with_validity=False)]}

    @property
    def fetch_endpoint(self) -> str:
        return self.entity_id + "/fetch"

    def anchor(self) -> TrustAnchor:
        return TrustAnchor.from_jwks(self.entity_id, self.jwks)


class World:
    """Builds a federation on loopback servers; :attr:`origin_map` routes its https names."""

    def __init__(self, servers: Servers, iat: int = T0, lifetime: int = LIFETIME) -> None:
        self.servers = servers
        self.iat = iat
        self.lifetime = lifetime
        self.entities: dict[str, Entity] = {}
        self.origin_map: dict[str, str] = {}

    def _new(self, entity_id: str, app: EntityApp | None = None) -> Entity:
        app = app or EntityApp()
        base = self.servers.start(app.app())
        self.origin_map[entity_id] = base
        entity = Entity(entity_id, generate_key(), app, base)
        self.entities[entity_id] = entity
        return entity

    def authority(self, entity_id: str, hints: list[str] | None = None) -> Entity:
        """An anchor (no hints) or intermediate: publishes the federation endpoints."""
        entity = self._new(entity_id)
        entity.hints = list(hints or [])
        entity.metadata = {
            "federation_entity": {
                "federation_fetch_endpoint": entity.fetch_endpoint,
                "federation_list_endpoint": entity_id + "/list",
                "federation_historical_keys_endpoint": entity_id + "/historical-keys",
                "organization_name": entity_id,
            }
        }
        self.publish(entity)
        return entity

    def provider(self, entity_id: str, hints: list[str], app: EntityApp | None = None) -> Entity:
        """A leaf of type tokenfed_provider with its receipt-signing key."""
        entity = self._new(entity_id, app)
        entity.hints = list(hints)
        entity.app_key = generate_key()
        receipt_key = entity.app_key.public_key(KeyValidity(nbf=self.iat - 86400)).to_jwk()
        entity.metadata = {
            "tokenfed_provider": {
                "tokenfed_versions": VERSIONS,
                "receipt_jwks": {"keys": [receipt_key]},
                "rate_card_uri": entity_id + "/rate-card",
            }
        }
        self.publish(entity)
        return entity

    def clearing_house(self, entity_id: str, hints: list[str]) -> Entity:
        """A leaf of type tokenfed_clearing_house with its statement-signing key."""
        entity = self._new(entity_id)
        entity.hints = list(hints)
        entity.app_key = generate_key()
        statement_key = entity.app_key.public_key(KeyValidity(nbf=self.iat - 86400)).to_jwk()
        entity.metadata = {
            "tokenfed_clearing_house": {
                "tokenfed_versions": VERSIONS,
                "statement_jwks": {"keys": [statement_key]},
            }
        }
        self.publish(entity)
        return entity

    def configuration(self, entity: Entity, **extra: Any) -> str:
        claims: dict[str, Any] = {
            "iss": entity.entity_id,
            "sub": entity.entity_id,
            "iat": self.iat,
            "exp": self.iat + self.lifetime,
            "jwks": entity.jwks,
            "metadata": entity.metadata,
        }
        if entity.hints:
            claims["authority_hints"] = entity.hints
        claims.update(extra)
        return sign_statement(claims, entity.key)

    def publish(self, entity: Entity, **extra: Any) -> None:
        entity.app.configuration = self.configuration(entity, **extra)

    def subordinate(
        self,
        superior: Entity,
        subject: Entity,
        *,
        constraints: dict[str, Any] | None = None,
        recognition: bool = False,
        exp: int | None = None,
    ) -> str:
        """Sign and serve superior's statement about subject (from superior's fetch endpoint)."""
        claims: dict[str, Any] = {
            "iss": superior.entity_id,
            "sub": subject.entity_id,
            "iat": self.iat,
            "exp": exp if exp is not None else self.iat + self.lifetime,
            "jwks": subject.jwks,
            "source_endpoint": superior.fetch_endpoint,
        }
        if constraints is not None:
            claims["constraints"] = constraints
        if recognition:
            claims["tokenfed_recognition"] = True
        token = sign_statement(claims, superior.key)
        superior.app.subordinates[subject.entity_id] = token
        return token

    def recognise(
        self, anchor: Entity, other: Entity, domain: str, *, exp: int | None = None
    ) -> str:
        """anchor recognises the other alliance's anchor (FED-060): fully constrained."""
        return self.subordinate(
            anchor,
            other,
            constraints={
                "max_path_length": 2,
                "naming_constraints": {"permitted": [domain]},
                "allowed_entity_types": ["tokenfed_provider", "tokenfed_operator"],
            },
            recognition=True,
            exp=exp,
        )
