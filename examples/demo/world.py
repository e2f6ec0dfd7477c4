"""The demo's federation: two alliances, their members, their keys and each node's NODE.toml.

Alliance A (anchor ``https://anchor.alliance-a.example``) has a home operator and a clearing
house directly under its anchor. Alliance B (anchor ``https://anchor.alliance-b.example``) has a
cloud intermediate with a token provider under it (pinning both anchors), a GPU provider that
pins only its own anchor B, and a provider the intermediate registered under a name outside
alliance B's domain. A recognises B: A's anchor serves a recognition statement about B's anchor
with the three constraints, and B's anchor lists A in its ``authority_hints``.

Every entity id is an https name; each node listens on a free loopback port, and every node's
loopback origin map (test mode) sends each name's origin to that port. Everything is written below
one directory, the demo's temporary directory.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tokenfed.keys import KeyValidity, PrivateKey, generate_key
from tokenfed.node import token_sha256

from .processes import Node, free_ports

__all__ = [
    "ANCHOR_A",
    "ANCHOR_B",
    "B_ONLY",
    "CLEARING_A",
    "INTERMEDIATE_B",
    "OPERATOR_A",
    "OUTSIDER",
    "PROVIDER_B",
    "Entity",
    "World",
    "build_world",
    "receipt_jwks",
    "write_provider_keys",
]

ANCHOR_A = "https://anchor.alliance-a.example"
OPERATOR_A = "https://operator.alliance-a.example"
CLEARING_A = "https://clearing.alliance-a.example"
ANCHOR_B = "https://anchor.alliance-b.example"
INTERMEDIATE_B = "https://cloud.alliance-b.example"
PROVIDER_B = "https://tokens.cloud.alliance-b.example"
OUTSIDER = "https://tokens.elsewhere.example"
B_ONLY = "https://gpu.cloud.alliance-b.example"

ADMIN_TOKEN = "demo-operator-admin-token"
"""The operator's admin bearer token; its config holds only the SHA-256 (API-040)."""

STATEMENT_LIFETIME = 3600
"""Seconds each node's statements live (at most a day, FED-016)."""

RECOGNITION_CONSTRAINTS: dict[str, Any] = {
    # provider <- cloud intermediate <- anchor B: two intermediates below anchor A (FED-041).
    "max_path_length": 2,
    "naming_constraints": {"permitted": [".alliance-b.example"]},
    "allowed_entity_types": ["tokenfed_provider"],
}
"""What anchor A accepts of alliance B (FED-060): B's providers, under B's names, two deep."""


def rate_card_claims(iss: str, card_id: str, now: int) -> dict[str, Any]:
    """The claims of a provider's rate card: two models, weights in UTU per token."""
    return {
        "iss": iss,
        "rate_card_id": card_id,
        "ver": "1.0",
        "iat": now - 3600,
        "nbf": now - 3600,
        "exp": now + 30 * 86400,
        "unit": "UTU",
        "models": {
            "qwen-max": {
                "weights": {"input": "0.0016", "cache_read": "0.0004", "output": "0.0064"},
                "tiers": [
                    {"above_input": 32000, "weights": {"input": "0.0024", "output": "0.0096"}}
                ],
            },
            "claude-sonnet": {
                "weights": {
                    "input": "0.003",
                    "cache_read": "0.0003",
                    "cache_write": "0.00375",
                    "output": "0.015",
                    "web_search": "10",
                },
                "minimum": "0.01",
            },
        },
    }


def exchange_rate_claims(iss: str, now: int) -> dict[str, Any]:
    """The clearing house's exchange rates from UTU (two decimals of CNY)."""
    return {
        "iss": iss,
        "rates_id": "fx-demo",
        "ver": "1.0",
        "iat": now - 3600,
        "nbf": now - 3600,
        "exp": now + 86400,
        "base": "UTU",
        "rates": {"CNY": {"rate": "0.02", "precision": 2}},
    }


@dataclass
class Entity:
    """One entity of the federation and the files of its node."""

    name: str
    entity_id: str
    roles: list[str]
    folder: Path
    port: int
    authority_hints: list[str] = field(default_factory=list)
    federation_key: PrivateKey = field(default_factory=generate_key)
    role_key: PrivateKey | None = None
    subordinates: list[dict[str, Any]] = field(default_factory=list)

    @property
    def config(self) -> Path:
        """The node's NODE.toml."""
        return self.folder / "node.toml"

    def federation_jwks(self) -> dict[str, Any]:
        """The entity's federation key set, as its superior lists it."""
        return {"keys": [self.federation_key.public_key().to_jwk(with_validity=False)]}

    def node(self) -> Node:
        """The node that serves this entity."""
        return Node(self.name, self.entity_id, self.port, self.config)


@dataclass
class World:
    """Every entity of the demo, by name, and the folder they live in."""

    root: Path
    entities: dict[str, Entity]
    origin_map: dict[str, str]
    receipt_keys: list[PrivateKey]
    built_at: int = 0

    def __getitem__(self, name: str) -> Entity:
        return self.entities[name]

    def nodes(self) -> list[Node]:
        """One node per entity, in the order they are started."""
        return [entity.node() for entity in self.entities.values()]

    def anchor_jwks_file(self, entity_id: str) -> Path:
        """The pinned federation keys of an anchor (obtained out of band)."""
        name = next(e.name for e in self.entities.values() if e.entity_id == entity_id)
        return self.root / "pinned" / f"{name}.jwks.json"


def _write_private(path: Path, key: PrivateKey, **members: Any) -> None:
    path.write_text(json.dumps({**key.to_jwk(), **members}))
    path.chmod(0o600)


def _toml_string(value: str) -> str:
    return json.dumps(value)  # a JSON string of ASCII text is a TOML basic string


def _write_config(world: World, entity: Entity, trust_anchors: list[str], extra: str) -> None:
    lines = [
        f"entity_id = {_toml_string(entity.entity_id)}",
        f"roles = {json.dumps(entity.roles)}",
        'data_dir = "data"',
        f"statement_lifetime = {STATEMENT_LIFETIME}",
        f"authority_hints = {json.dumps(entity.authority_hints)}",
    ]
    if entity.subordinates:
        lines.append('subordinates_dir = "subordinates"')
    lines += [
        "",
        "[listen]",
        'host = "127.0.0.1"',
        f"port = {entity.port}",
        "",
        "[keys]",
        'federation = "federation.jwk"',
    ]
    lines.append(extra)
    for anchor in trust_anchors:
        lines += [
            "",
            "[[trust_anchors]]",
            f"entity_id = {_toml_string(anchor)}",
            f"jwks = {_toml_string(str(world.anchor_jwks_file(anchor)))}",
        ]
    lines += ["", "[origin_map]"]
    lines += [f"{_toml_string(k)} = {_toml_string(v)}" for k, v in world.origin_map.items()]
    entity.config.write_text("\n".join(lines) + "\n")


def receipt_jwks(world: World, now: int, rotation: int | None = None) -> list[dict[str, Any]]:
    """The provider's published receipt keys: the revoked one, the current one (which expires
    at ``rotation`` once that is decided) and the next one."""
    leaked, current, upcoming = world.receipt_keys
    return [
        leaked.public_key(
            KeyValidity(nbf=now - 30 * 86400, revoked_at=now - 7 * 86400, reason="compromised")
        ).to_jwk(),
        current.public_key(KeyValidity(nbf=now - 7 * 86400, exp=rotation)).to_jwk(),
        upcoming.public_key(KeyValidity(nbf=now - 2 * 3600)).to_jwk(),
    ]


def write_provider_keys(
    entity: Entity, signing: PrivateKey, published: list[dict[str, Any]]
) -> None:
    """The provider's receipt-signing key file and the receipt key set it publishes."""
    _write_private(entity.folder / "receipt.jwk", signing)
    (entity.folder / "receipt.jwks.json").write_text(json.dumps({"keys": published}))


def build_world(root: Path, now: int | None = None) -> World:
    """Generate every key and write every node's files below ``root``."""
    now = int(time.time()) if now is None else now
    names = [
        ("anchor-a", ANCHOR_A, ["anchor"]),
        ("operator-a", OPERATOR_A, ["operator"]),
        ("clearing-a", CLEARING_A, ["clearing_house"]),
        ("anchor-b", ANCHOR_B, ["anchor"]),
        ("cloud-b", INTERMEDIATE_B, ["intermediate"]),
        ("provider-b", PROVIDER_B, ["provider"]),
        ("outsider", OUTSIDER, ["provider"]),
        ("gpu-b", B_ONLY, ["provider"]),
    ]
    ports = free_ports(len(names))
    entities: dict[str, Entity] = {}
    for (name, entity_id, roles), port in zip(names, ports, strict=True):
        folder = root / name
        (folder / "subordinates").mkdir(parents=True)
        entities[name] = Entity(name, entity_id, roles, folder, port)
    origin_map = {e.entity_id: f"http://127.0.0.1:{e.port}" for e in entities.values()}
    world = World(root, entities, origin_map, receipt_keys=[], built_at=now)
    (root / "pinned").mkdir()
    for name in ("anchor-a", "anchor-b"):
        world.anchor_jwks_file(entities[name].entity_id).write_text(
            json.dumps(entities[name].federation_jwks())
        )

    # Who lists whom: superiors (authority_hints) and subordinates.
    a, op, clearing, b, cloud, prov, out, gpu = (entities[n] for n, _, _ in names)
    op.authority_hints = [ANCHOR_A]
    clearing.authority_hints = [ANCHOR_A]
    b.authority_hints = [ANCHOR_A]  # B consents to A's recognition (FED-062)
    cloud.authority_hints = [ANCHOR_B]
    prov.authority_hints = [INTERMEDIATE_B]
    out.authority_hints = [INTERMEDIATE_B]
    gpu.authority_hints = [INTERMEDIATE_B]
    a.subordinates = [
        {"entity_id": OPERATOR_A, "entity_types": ["tokenfed_operator"]},
        {"entity_id": CLEARING_A, "entity_types": ["tokenfed_clearing_house"]},
        {"entity_id": ANCHOR_B, "recognition": True, "constraints": RECOGNITION_CONSTRAINTS},
    ]
    b.subordinates = [{"entity_id": INTERMEDIATE_B}]
    cloud.subordinates = [
        {"entity_id": PROVIDER_B, "entity_types": ["tokenfed_provider"]},
        {"entity_id": OUTSIDER, "entity_types": ["tokenfed_provider"]},
        {"entity_id": B_ONLY, "entity_types": ["tokenfed_provider"]},
    ]
    for entity in entities.values():
        _write_private(entity.folder / "federation.jwk", entity.federation_key)
        for entry in entity.subordinates:
            subject = next(e for e in entities.values() if e.entity_id == entry["entity_id"])
            document = {**entry, "jwks": subject.federation_jwks()}
            (entity.folder / "subordinates" / f"{subject.name}.json").write_text(
                json.dumps(document, indent=2)
            )

    # Application keys: the operator's entitlement key, the clearing house's statement key,
    # the provider's receipt keys: its first key leaked last week and was revoked, it signs
    # with its second, and it already publishes its next one (REC-030: published ahead).
    op.role_key = generate_key()
    _write_private(op.folder / "entitlement.jwk", op.role_key, nbf=now - 86400)
    clearing.role_key = generate_key()
    _write_private(clearing.folder / "statement.jwk", clearing.role_key, nbf=now - 86400)
    (clearing.folder / "rates.json").write_text(json.dumps(exchange_rate_claims(CLEARING_A, now)))
    leaked, current, upcoming = generate_key(), generate_key(), generate_key()
    world.receipt_keys = [leaked, current, upcoming]
    prov.role_key = current
    write_provider_keys(prov, current, receipt_jwks(world, now))
    for other in (out, gpu):
        other.role_key = generate_key()
        _write_private(other.folder / "receipt.jwk", other.role_key, nbf=now - 86400)

    # NODE.toml of each entity.
    _write_config(world, a, [], "")
    _write_config(world, b, [], "")
    _write_config(world, cloud, [], "")
    _write_config(
        world,
        op,
        [ANCHOR_A],
        'entitlement = "entitlement.jwk"\n\n[admin]\n'
        f"token_sha256 = {_toml_string(token_sha256(ADMIN_TOKEN))}\n\n"
        f'[operator]\nclearing_house = {_toml_string(CLEARING_A)}\ncurrency = "CNY"',
    )
    _write_config(
        world,
        clearing,
        [],
        'statement = "statement.jwk"\n\n[clearing_house]\nexchange_rates = "rates.json"',
    )
    # The provider and the outside one pin both anchors; the GPU provider pins only its own.
    providers = (
        (prov, "cloud-b-2026", True, [ANCHOR_A, ANCHOR_B]),
        (out, "elsewhere-2026", False, [ANCHOR_A, ANCHOR_B]),
        (gpu, "gpu-b-2026", False, [ANCHOR_B]),
    )
    for provider, card_id, jwks, anchors in providers:
        (provider.folder / "rate-card.json").write_text(
            json.dumps(rate_card_claims(provider.entity_id, card_id, now))
        )
        keys = 'receipt = "receipt.jwk"' + ('\nreceipt_jwks = "receipt.jwks.json"' if jwks else "")
        _write_config(
            world,
            provider,
            anchors,
            keys + '\n\n[provider]\nrate_card = "rate-card.json"',
        )
    return world
