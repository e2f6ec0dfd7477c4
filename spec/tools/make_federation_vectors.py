"""Generate spec/vectors/federation.json: static trust chains, valid and invalid (chapter
"Federation").

Every statement is signed with the SDK's JWS signing (``tokenfed._jws.sign``) and Ed25519 keys
derived from fixed seeds (the private key is SHA-256 of ``tokenfed federation vectors/`` + the
key's name; the names and public keys are recorded in the file's ``fixtures.keys``), so the file
is the same on every run; the one ES256 anchor uses the published ``provider-b`` test key of
spec/test-keys.json and its randomized signatures are ignored by ``--check``. Each invalid vector
is broken in exactly one way, so its expected error code follows from how it was built, not
from what any validator answers; the ``order-*`` vectors are broken in two ways on purpose, to
pin the order of the chapter's checks (FED-022, FED-050, FED-055, FED-058). Statements that the
SDK would refuse to sign (a foreign header, a duplicate member) are assembled byte by byte and
signed with the same keys. The vectors are checked independently by interop/check_vectors.py
(interop/_federation.py), which does not use the SDK.

Run: python spec/tools/make_federation_vectors.py [--check]
"""

from __future__ import annotations

import argparse
import base64
import copy
import hashlib
import itertools
import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tokenfed import _json
from tokenfed import _jws as jws
from tokenfed._b64 import b64encode
from tokenfed.keys import KeyValidity, PrivateKey, load_private_jwk

SPEC = Path(__file__).resolve().parent.parent
OUT = SPEC / "vectors" / "federation.json"

TYP = "entity-statement+jwt"
NOW = 1782864000  # 2026-07-01T00:00:00Z, the validator's clock in most vectors
IAT = NOW - 3600
LEEWAY = 60
KEYS_NBF = NOW - 86400 * 30
SEED_PREFIX = b"tokenfed federation vectors/"

# --------------------------------------------------------------------------- keys


def _seeded(name: str) -> PrivateKey:
    seed = hashlib.sha256(SEED_PREFIX + name.encode("ascii")).digest()
    return PrivateKey(Ed25519PrivateKey.from_private_bytes(seed), "EdDSA")


def _published(name: str) -> PrivateKey:
    data = json.loads((SPEC / "test-keys.json").read_text(encoding="utf-8"))
    return load_private_jwk(data["keys"][name])


SEEDED_KEYS = (
    "anchor-a",
    "anchor-a-next",
    "anchor-b",
    "members-a",
    "partners-a",
    "members-b",
    "provider-a",
    "provider-a-other",
    "operator-b",
    "provider-b",
    "provider-b-receipts",
    "provider-a-receipts",
    "operator-b-entitlements",
    "chain-1",
    "chain-2",
    "chain-3",
    "chain-4",
    "chain-5",
    "outsider",
)
KEYS: dict[str, PrivateKey] = {name: _seeded(name) for name in SEEDED_KEYS}
KEYS["anchor-es256"] = _published("provider-b")


def public_jwk(name: str, **members: Any) -> dict[str, Any]:
    """The public JWK of a key (``kid`` = thumbprint, ``alg``, ``use``) plus ``members``."""
    jwk = KEYS[name].public_key().to_jwk(with_validity=False)
    jwk.update(members)
    return jwk


def jwks(*names: str) -> dict[str, Any]:
    return {"keys": [public_jwk(name) for name in names]}


def document_jwks(name: str) -> dict[str, Any]:
    """A JWK Set of protocol keys (receipts, entitlements), with the receipts chapter members."""
    return {"keys": [KEYS[name].public_key(KeyValidity(nbf=KEYS_NBF)).to_jwk()]}


# --------------------------------------------------------------------------- entities

A = "https://anchor.alliance-a.example"
B = "https://anchor.alliance-b.example"
ES = "https://anchor-es.alliance-a.example"
MEMBERS_A = "https://members.alliance-a.example"
PARTNERS_A = "https://partners.alliance-a.example"
MEMBERS_B = "https://members.alliance-b.example"
PROVIDER_A = "https://provider.alliance-a.example"
PROVIDER_B = "https://provider.alliance-b.example"
OPERATOR_B = "https://operator.alliance-b.example"
CHAIN_IDS = [f"https://level{i}.alliance-a.example" for i in range(1, 6)]


def federation_entity(entity_id: str, name: str) -> dict[str, Any]:
    return {
        "federation_fetch_endpoint": entity_id + "/fetch",
        "federation_list_endpoint": entity_id + "/list",
        "federation_historical_keys_endpoint": entity_id + "/historical-keys",
        "organization_name": name,
    }


def provider_metadata(entity_id: str, receipts: str) -> dict[str, Any]:
    return {
        "federation_entity": {"organization_name": "Provider " + entity_id.split(".")[1]},
        "tokenfed_provider": {
            "tokenfed_versions": ["1.0"],
            "receipt_jwks": document_jwks(receipts),
            "rate_card_uri": entity_id + "/rate-card",
            "metering_endpoint": entity_id + "/metering",
        },
    }


def operator_metadata(entity_id: str) -> dict[str, Any]:
    return {
        "tokenfed_operator": {
            "tokenfed_versions": ["1.0"],
            "entitlement_jwks": document_jwks("operator-b-entitlements"),
            "entitlement_endpoint": entity_id + "/entitlements",
            "receipt_intake_endpoint": entity_id + "/receipts",
        },
    }


@dataclass(frozen=True)
class Entity:
    entity_id: str
    key: str
    metadata: dict[str, Any]
    hints: tuple[str, ...] = ()


ENTITIES = {
    A: Entity(A, "anchor-a", {"federation_entity": federation_entity(A, "Alliance A")}),
    B: Entity(B, "anchor-b", {"federation_entity": federation_entity(B, "Alliance B")}, (A,)),
    ES: Entity(ES, "anchor-es256", {"federation_entity": federation_entity(ES, "Alliance ES")}),
    MEMBERS_A: Entity(
        MEMBERS_A,
        "members-a",
        {"federation_entity": federation_entity(MEMBERS_A, "Members A")},
        (A,),
    ),
    PARTNERS_A: Entity(
        PARTNERS_A,
        "partners-a",
        {"federation_entity": federation_entity(PARTNERS_A, "Partners A")},
        (A,),
    ),
    MEMBERS_B: Entity(
        MEMBERS_B,
        "members-b",
        {"federation_entity": federation_entity(MEMBERS_B, "Members B")},
        (B,),
    ),
    PROVIDER_A: Entity(
        PROVIDER_A,
        "provider-a",
        provider_metadata(PROVIDER_A, "provider-a-receipts"),
        (MEMBERS_A, A, PARTNERS_A),
    ),
    PROVIDER_B: Entity(
        PROVIDER_B, "provider-b", provider_metadata(PROVIDER_B, "provider-b-receipts"), (MEMBERS_B,)
    ),
    OPERATOR_B: Entity(OPERATOR_B, "operator-b", operator_metadata(OPERATOR_B), (MEMBERS_B,)),
}
for _level, _entity_id in enumerate(CHAIN_IDS, start=1):
    _up = CHAIN_IDS[_level] if _level < len(CHAIN_IDS) else A
    ENTITIES[_entity_id] = Entity(
        _entity_id,
        f"chain-{_level}",
        {"federation_entity": federation_entity(_entity_id, f"Level {_level}")},
        (_up,),
    )

# Expiry of each kind of statement, so that the chain's exp (the minimum) is not the first one.
EXP_LEAF_EC = NOW + 5 * 3600
EXP_SS = NOW + 4 * 3600
EXP_ANCHOR_EC = NOW + 6 * 3600
RECOGNITION = {
    "allowed_entity_types": ["tokenfed_provider", "tokenfed_operator"],
    "naming_constraints": {"permitted": [".alliance-b.example"]},
    "max_path_length": 2,
}


# --------------------------------------------------------------------------- statements


@dataclass
class Statement:
    """The claims of one statement and how it is signed (a key name, header and payload
    overrides for statements the SDK would refuse to sign)."""

    claims: dict[str, Any]
    key: str
    header: dict[str, Any] | None = None
    payload: bytes | None = None
    tamper: bool = False
    extra_header: dict[str, Any] = field(default_factory=dict)

    def token(self) -> str:
        signer = KEYS[self.key]
        if self.header is None and self.payload is None and not self.extra_header:
            token = jws.sign(self.claims, signer, TYP)
        else:
            header = self.header or {"alg": signer.alg, "typ": TYP, "kid": signer.kid}
            header = {**header, **self.extra_header}
            payload = (
                self.payload if self.payload is not None else _json.canonical_bytes(self.claims)
            )
            signing_input = b64encode(_json.canonical_bytes(header)) + "." + b64encode(payload)
            token = signing_input + "." + b64encode(signer.sign(signing_input.encode("ascii")))
        if self.tamper:  # flip one bit of the signature's first byte
            head, _, signature = token.rpartition(".")
            raw = bytearray(_b64decode(signature))
            raw[0] ^= 0x01
            token = head + "." + b64encode(bytes(raw))
        return token


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def ec(entity_id: str, **changes: Any) -> Statement:
    """The entity configuration of ``entity_id``; ``changes`` replace claims (``None``
    removes one); ``key`` signs with another key."""
    entity = ENTITIES[entity_id]
    key = changes.pop("key", entity.key)
    is_anchor = entity_id in (A, B, ES)
    claims: dict[str, Any] = {
        "iss": entity_id,
        "sub": entity_id,
        "iat": IAT,
        "exp": EXP_ANCHOR_EC if is_anchor else EXP_LEAF_EC,
        "jwks": jwks(entity.key),
        "metadata": copy.deepcopy(entity.metadata),
    }
    if entity.hints:
        claims["authority_hints"] = list(entity.hints)
    return Statement(_changed(claims, changes), key)


def ss(issuer: str, subject: str, **changes: Any) -> Statement:
    """The subordinate statement of ``issuer`` about ``subject``."""
    key = changes.pop("key", ENTITIES[issuer].key)
    claims: dict[str, Any] = {
        "iss": issuer,
        "sub": subject,
        "iat": IAT,
        "exp": EXP_SS,
        "jwks": jwks(ENTITIES[subject].key),
        "source_endpoint": issuer + "/fetch",
    }
    return Statement(_changed(claims, changes), key)


def _changed(claims: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    for name, value in changes.items():
        if value is None:
            claims.pop(name, None)
        else:
            claims[name] = value
    return claims


def recognition(**constraints: Any) -> Statement:
    """Anchor A's recognition statement about anchor B, with ``constraints`` changed."""
    statement = ss(A, B, constraints=_changed(copy.deepcopy(RECOGNITION), constraints))
    statement.claims["tokenfed_recognition"] = True
    return statement


def up(*entity_ids: str) -> list[Statement]:
    """The chain from ``entity_ids[0]`` up through the others to the last, an anchor:
    the subject's EC, one SS per link, the anchor's EC."""
    chain = [ec(entity_ids[0])]
    for below, above in itertools.pairwise(entity_ids):
        chain.append(ss(above, below))
    chain.append(ec(entity_ids[-1]))
    return chain


def anchor(entity_id: str, *names: str) -> dict[str, Any]:
    names = names or (ENTITIES[entity_id].key,)
    return {"entity_id": entity_id, "jwks": jwks(*names)}


# --------------------------------------------------------------------------- expected results


def resolved_provider(entity_id: str = PROVIDER_A, receipts: str = "provider-a-receipts") -> Any:
    return provider_metadata(entity_id, receipts)


def result(
    path: Sequence[str], exp: int, metadata: dict[str, Any], trust_anchor: str | None = None
) -> dict[str, Any]:
    return {
        "trust_anchor": trust_anchor or path[-1],
        "path": list(path),
        "exp": exp,
        "metadata": metadata,
    }


def err(code: str) -> dict[str, Any]:
    return {"error": code}


# --------------------------------------------------------------------------- the vectors


class Vectors:
    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []

    def chain(
        self,
        vector_id: str,
        description: str,
        requirements: list[str],
        statements: Sequence[Statement | str],
        expected: dict[str, Any],
        *,
        anchors: Sequence[dict[str, Any]] | None = None,
        now: int = NOW,
        entity_type: str | None = "tokenfed_provider",
    ) -> None:
        self.items.append(
            {
                "id": vector_id,
                "description": description,
                "requirements": requirements,
                "input": {
                    "op": "validate",
                    "statements": [_token(s) for s in statements],
                    "anchors": list(anchors or [anchor(A)]),
                    "now": now,
                    "entity_type": entity_type,
                },
                "expected": expected,
            }
        )

    def select(
        self,
        vector_id: str,
        description: str,
        requirements: list[str],
        candidates: Sequence[Sequence[Statement | str]],
        expected: dict[str, Any],
        *,
        anchors: Sequence[dict[str, Any]] | None = None,
        now: int = NOW,
        entity_type: str | None = "tokenfed_provider",
    ) -> None:
        self.items.append(
            {
                "id": vector_id,
                "description": description,
                "requirements": requirements,
                "input": {
                    "op": "select",
                    "candidates": [[_token(s) for s in chain] for chain in candidates],
                    "anchors": list(anchors or [anchor(A)]),
                    "now": now,
                    "entity_type": entity_type,
                },
                "expected": expected,
            }
        )


def _token(statement: Statement | str) -> str:
    return statement if isinstance(statement, str) else statement.token()


def with_ss(chain: list[Statement], index: int, **changes: Any) -> list[Statement]:
    """``chain`` with statement ``index`` rebuilt with ``changes`` to its claims."""
    chain = list(chain)
    old = chain[index]
    key = changes.pop("key", old.key)
    chain[index] = Statement(_changed(copy.deepcopy(old.claims), changes), key)
    return chain


def edited(
    chain: list[Statement], index: int, edit: Callable[[Statement], None]
) -> list[Statement]:
    chain = [copy.deepcopy(statement) for statement in chain]
    edit(chain[index])
    return chain


def build() -> dict[str, Any]:
    v = Vectors()
    direct = up(PROVIDER_A, A)
    via = up(PROVIDER_A, MEMBERS_A, A)
    cross = up(PROVIDER_B, MEMBERS_B, B, A)
    cross[3] = recognition()
    cross_operator = up(OPERATOR_B, MEMBERS_B, B, A)
    cross_operator[3] = recognition()
    provider = resolved_provider()
    provider_b = resolved_provider(PROVIDER_B, "provider-b-receipts")

    # ------------------------------------------------------------------ valid paths (V)
    v.chain(
        "valid-leaf-under-anchor",
        "V1: a provider directly under its anchor: EC, the anchor's SS about it, the anchor's EC.",
        ["FED-050", "FED-053", "FED-059"],
        direct,
        result([PROVIDER_A, A], EXP_SS, provider),
    )
    v.chain(
        "valid-leaf-intermediate-anchor",
        "V2: provider <- intermediate <- anchor.",
        ["FED-050", "FED-051", "FED-053", "FED-059"],
        via,
        result([PROVIDER_A, MEMBERS_A, A], EXP_SS, provider),
    )
    v.chain(
        "valid-cross-anchor",
        "V3: a provider of alliance B through B's intermediate and anchor B, recognised by "
        "anchor A (an SS with the three constraints and no policy); the validator pins A only, "
        "and the result names A and the whole path.",
        ["FED-060", "FED-062", "FED-041", "FED-042", "FED-059"],
        cross,
        result([PROVIDER_B, MEMBERS_B, B, A], EXP_SS, provider_b),
    )
    v.chain(
        "valid-no-entity-type",
        "Without a requested entity type the result holds every entity type of the subject.",
        ["FED-056", "FED-059"],
        via,
        result([PROVIDER_A, MEMBERS_A, A], EXP_SS, provider),
        entity_type=None,
    )
    v.chain(
        "valid-es256-anchor",
        "An anchor whose federation key is a P-256 key (ES256) signs its EC and its SS.",
        ["FED-010", "FED-053"],
        [ec(PROVIDER_A, authority_hints=[ES]), ss(ES, PROVIDER_A), ec(ES)],
        result([PROVIDER_A, ES], EXP_SS, provider),
        anchors=[anchor(ES)],
    )
    v.chain(
        "valid-anchor-key-rollover",
        "V8: the anchor publishes its old and its new key, signs its EC with the new key and its "
        "SS still with the old one; both keys are pinned.",
        ["FED-053"],
        [
            ec(PROVIDER_A),
            ss(A, PROVIDER_A),
            ec(A, jwks=jwks("anchor-a", "anchor-a-next"), key="anchor-a-next"),
        ],
        result([PROVIDER_A, A], EXP_SS, provider),
        anchors=[anchor(A, "anchor-a", "anchor-a-next")],
    )
    v.chain(
        "anchor-ss-key-only-in-anchor-ec",
        "V8: only the old anchor key is pinned; the anchor's EC, signed with it, publishes both "
        "keys, and its SS is signed with the new one: the anchor's SS is verified with the "
        "pinned keys, never with the keys the anchor publishes.",
        ["FED-053"],
        [
            ec(PROVIDER_A),
            ss(A, PROVIDER_A, key="anchor-a-next"),
            ec(A, jwks=jwks("anchor-a", "anchor-a-next")),
        ],
        err("unknown_key"),
    )
    v.chain(
        "invalid-anchor-ec-new-key-not-pinned",
        "V8/S6: the anchor's EC is signed with its new key, which the validator has not pinned.",
        ["FED-053"],
        [
            ec(PROVIDER_A),
            ss(A, PROVIDER_A),
            ec(A, jwks=jwks("anchor-a", "anchor-a-next"), key="anchor-a-next"),
        ],
        err("unknown_key"),
    )
    v6_ta = {
        "tokenfed_provider": {"tokenfed_versions": {"subset_of": ["1.0", "1.1"]}},
    }
    v6_int = {
        "tokenfed_provider": {"rate_card_uri": {"default": PROVIDER_A + "/cards/current"}},
    }
    v6_leaf_metadata = resolved_provider()
    v6_leaf_metadata["tokenfed_provider"]["tokenfed_versions"] = ["1.0", "1.2"]
    del v6_leaf_metadata["tokenfed_provider"]["rate_card_uri"]
    v6_expected = copy.deepcopy(v6_leaf_metadata)
    v6_expected["tokenfed_provider"]["tokenfed_versions"] = ["1.0"]
    v6_expected["tokenfed_provider"]["rate_card_uri"] = PROVIDER_A + "/cards/current"
    v6 = [
        ec(PROVIDER_A, metadata=v6_leaf_metadata),
        ss(MEMBERS_A, PROVIDER_A, metadata_policy=v6_int),
        ss(A, MEMBERS_A, metadata_policy=v6_ta),
        ec(A),
    ]
    v.chain(
        "valid-policy-merge",
        "V6: the anchor's subset_of and the intermediate's default merge; the provider's "
        "versions lose 1.2 and the missing rate_card_uri gets the default.",
        ["FED-056", "FED-105", "FED-108", "FED-116", "FED-118"],
        v6,
        result([PROVIDER_A, MEMBERS_A, A], EXP_SS, v6_expected),
    )
    v7_override = {"tokenfed_provider": {"metering_endpoint": PROVIDER_A + "/v2/metering"}}
    v7_policy = {
        "tokenfed_provider": {
            "metering_endpoint": {"one_of": [PROVIDER_A + "/v2/metering"]},
        }
    }
    v7_expected = resolved_provider()
    v7_expected["tokenfed_provider"]["metering_endpoint"] = PROVIDER_A + "/v2/metering"
    v.chain(
        "valid-ss-metadata-before-policy",
        "V7: the intermediate's SS overrides the provider's metering_endpoint; the anchor's "
        "one_of, which the provider's own value fails, is applied after the override.",
        ["FED-056", "FED-117"],
        [
            ec(PROVIDER_A),
            ss(MEMBERS_A, PROVIDER_A, metadata=v7_override),
            ss(A, MEMBERS_A, metadata_policy=v7_policy),
            ec(A),
        ],
        result([PROVIDER_A, MEMBERS_A, A], EXP_SS, v7_expected),
    )
    v7_new_type = {"tokenfed_operator": {"tokenfed_versions": ["1.0"]}}
    v.chain(
        "valid-ss-metadata-only-for-subject-types",
        "An SS's metadata for an entity type the subject's EC does not have is not added.",
        ["FED-056"],
        [ec(PROVIDER_A), ss(A, PROVIDER_A, metadata=v7_new_type), ec(A)],
        result([PROVIDER_A, A], EXP_SS, provider),
        entity_type=None,
    )

    # V4: select_chain, one vector per tie-break step of FED-10.
    via_partners = up(PROVIDER_A, PARTNERS_A, A)
    under_b = [ec(PROVIDER_A, authority_hints=[B]), ss(B, PROVIDER_A), ec(B, authority_hints=None)]
    v.select(
        "select-anchor-priority",
        "V4 step 1: a chain to the second configured anchor is shorter, but the first anchor "
        "in the validator's order wins.",
        ["FED-071"],
        [under_b, via],
        {**result([PROVIDER_A, MEMBERS_A, A], EXP_SS, provider), "chosen": 1},
        anchors=[anchor(A), anchor(B)],
    )
    v.select(
        "select-fewest-statements",
        "V4 step 2: under the same anchor, the chain with fewer statements wins.",
        ["FED-071"],
        [via, direct],
        {**result([PROVIDER_A, A], EXP_SS, provider), "chosen": 1},
    )
    later = with_ss(with_ss(via_partners, 1, exp=EXP_SS + 600), 2, exp=EXP_SS + 600)
    v.select(
        "select-latest-exp",
        "V4 step 3: same anchor and length; the chain that expires later wins.",
        ["FED-071"],
        [via, later],
        {**result([PROVIDER_A, PARTNERS_A, A], EXP_SS + 600, provider), "chosen": 1},
    )
    v.select(
        "select-issuer-order",
        "V4 step 4: same anchor, length and exp; the list of issuer IDs that comes first in "
        "code point order wins (members < partners).",
        ["FED-071"],
        [via_partners, via],
        {**result([PROVIDER_A, MEMBERS_A, A], EXP_SS, provider), "chosen": 1},
    )
    loop = [
        ec(PROVIDER_A),
        ss(MEMBERS_A, PROVIDER_A),
        ss(PARTNERS_A, MEMBERS_A),
        ss(MEMBERS_A, PARTNERS_A),
        ss(A, MEMBERS_A),
        ec(A),
    ]
    v.select(
        "select-loop-branch-and-valid-branch",
        "V10: one candidate runs through a loop (members -> partners -> members) and is not a "
        "valid chain; the other candidate is valid and is chosen.",
        ["FED-071", "FED-051"],
        [loop, via_partners],
        {**result([PROVIDER_A, PARTNERS_A, A], EXP_SS, provider), "chosen": 1},
    )
    v.select(
        "select-invalid-candidates-only",
        "No candidate validates (one expired, one with a bad signature): no trust path.",
        ["FED-071", "FED-070"],
        [
            with_ss(via, 1, iat=NOW - 7200, exp=NOW - 3600),
            edited(direct, 1, lambda s: setattr(s, "tamper", True)),
        ],
        err("no_trust_path"),
    )

    # ------------------------------------------------------------------ time (T)
    v.chain(
        "expired-leaf-ec",
        "T1: the subject's EC expired (exp + 60 s leeway <= now).",
        ["FED-021", "FED-054"],
        with_ss(via, 0, exp=NOW - 3600, iat=NOW - 7200),
        err("statement_expired"),
    )
    v.chain(
        "expired-intermediate-ss",
        "T1: the intermediate's SS about the provider expired.",
        ["FED-021", "FED-054"],
        with_ss(via, 1, exp=NOW - 600, iat=NOW - 7200),
        err("statement_expired"),
    )
    v.chain(
        "expired-anchor-ec",
        "T1: the anchor's EC expired.",
        ["FED-021", "FED-054"],
        with_ss(via, 3, exp=NOW - 61, iat=NOW - 7200),
        err("statement_expired"),
    )
    v.chain(
        "iat-in-the-future",
        "T2: the anchor's SS is issued 61 s after now (beyond the 60 s leeway).",
        ["FED-021", "FED-054"],
        with_ss(via, 2, iat=NOW + 61),
        err("statement_not_yet_valid"),
    )
    v.chain(
        "iat-at-leeway",
        "T3: an SS issued exactly 60 s after now is accepted.",
        ["FED-021"],
        with_ss(via, 2, iat=NOW + 60),
        result([PROVIDER_A, MEMBERS_A, A], EXP_SS, provider),
    )
    v.chain(
        "exp-within-leeway",
        "T3: now is 59 s after the SS's exp: accepted within the leeway; the chain's exp is "
        "that SS's exp.",
        ["FED-021", "FED-054"],
        with_ss(via, 1, exp=NOW - 59),
        result([PROVIDER_A, MEMBERS_A, A], NOW - 59, provider),
    )
    v.chain(
        "exp-at-leeway",
        "T3: now is exactly exp + 60 s: expired.",
        ["FED-021"],
        with_ss(via, 1, exp=NOW - 60),
        err("statement_expired"),
    )
    v.chain(
        "exp-is-minimum",
        "T4: the anchor's EC expires first, so the chain expires with it.",
        ["FED-054", "FED-059"],
        with_ss(via, 3, exp=NOW + 1800),
        result([PROVIDER_A, MEMBERS_A, A], NOW + 1800, provider),
    )
    v.chain(
        "lifetime-over-24h",
        "T5: the provider's EC lives 86401 s (exp - iat > 86400).",
        ["FED-016"],
        with_ss(via, 0, iat=NOW - 3600, exp=NOW - 3600 + 86401),
        err("invalid_statement"),
    )
    v.chain(
        "lifetime-24h",
        "T5: a lifetime of exactly 86400 s is accepted.",
        ["FED-016"],
        with_ss(via, 0, iat=NOW - 3600, exp=NOW - 3600 + 86400),
        result([PROVIDER_A, MEMBERS_A, A], EXP_SS, provider),
    )

    # ------------------------------------------------------------------ signatures, format (S)
    v.chain(
        "bad-signature-ss",
        "S1: one bit of the intermediate's SS signature is flipped.",
        ["FED-053"],
        edited(via, 1, lambda s: setattr(s, "tamper", True)),
        err("invalid_signature"),
    )
    v.chain(
        "bad-signature-anchor-ec",
        "S1: one bit of the anchor EC's signature is flipped.",
        ["FED-053"],
        edited(via, 3, lambda s: setattr(s, "tamper", True)),
        err("invalid_signature"),
    )
    v.chain(
        "kid-not-in-issuer-keys",
        "S2: the intermediate signs its SS with a key its superior never attested.",
        ["FED-053"],
        with_ss(via, 1, key="outsider"),
        err("unknown_key"),
    )
    v.chain(
        "leaf-ec-kid-not-in-superior-ss",
        "S2: the provider signs its EC with a key it publishes itself but its superior's SS "
        "does not attest.",
        ["FED-053"],
        with_ss(via, 0, jwks=jwks("provider-a", "provider-a-other"), key="provider-a-other"),
        err("unknown_key"),
    )
    for suffix, typ in (("missing", None), ("jwt", "JWT"), ("other", "tokenfed-receipt+jwt")):
        header = {"alg": "EdDSA", "kid": KEYS["members-a"].kid}
        if typ is not None:
            header["typ"] = typ
        v.chain(
            f"typ-{suffix}",
            f"S3: the intermediate's SS has typ {typ!r}.",
            ["FED-010"],
            edited(via, 1, lambda s, h=header: setattr(s, "header", h)),
            err("unsupported_typ"),
        )
    for suffix, alg in (("none", "none"), ("hs256", "HS256"), ("rs256", "RS256")):
        header = {"alg": alg, "typ": TYP, "kid": KEYS["members-a"].kid}
        v.chain(
            f"alg-{suffix}",
            f"S4: the intermediate's SS has alg {alg}.",
            ["FED-010"],
            edited(via, 1, lambda s, h=header: setattr(s, "header", h)),
            err("unsupported_alg"),
        )
    substituted = up(PROVIDER_B, MEMBERS_B, B, A)
    substituted[2] = ss(B, MEMBERS_B, key="outsider")
    substituted[3] = recognition()
    v.chain(
        "key-substitution",
        "S5: anchor B signs its SS about its intermediate with a key that is not in anchor A's "
        "SS about B (B could publish it in its own EC, which is not used).",
        ["FED-053", "FED-060"],
        substituted,
        err("unknown_key"),
    )
    v.chain(
        "anchor-ec-self-published-key",
        "S6: the anchor's EC is signed with a key it publishes itself but that is not pinned.",
        ["FED-053"],
        with_ss(via, 3, jwks=jwks("anchor-a", "outsider"), key="outsider"),
        err("unknown_key"),
    )
    v.chain(
        "kid-not-thumbprint",
        "S7: a key in the provider's EC jwks has a kid that is not its RFC 7638 thumbprint.",
        ["FED-015"],
        with_ss(
            via,
            0,
            jwks={"keys": [public_jwk("provider-a"), public_jwk("provider-a-other", kid="k2")]},
        ),
        err("invalid_key"),
    )
    private = KEYS["provider-a-other"].to_jwk()
    v.chain(
        "private-key-in-jwks",
        "S8: the intermediate's SS lists the provider's keys with a private key among them.",
        ["FED-015"],
        with_ss(via, 1, jwks={"keys": [public_jwk("provider-a"), private]}),
        err("invalid_key"),
    )
    v.chain(
        "duplicate-kid-in-jwks",
        "S8: the intermediate's SS lists the same key twice.",
        ["FED-015"],
        with_ss(via, 1, jwks={"keys": [public_jwk("provider-a"), public_jwk("provider-a")]}),
        err("invalid_key"),
    )

    def duplicate_member(statement: Statement) -> None:
        text = _json.canonical_bytes(statement.claims).decode("utf-8")
        statement.payload = (text[:-1] + ',"iss":"' + statement.claims["iss"] + '"}').encode()

    v.chain(
        "duplicate-member",
        "S9: the intermediate's SS payload has the member iss twice.",
        ["FED-010"],
        edited(via, 1, duplicate_member),
        err("malformed"),
    )
    v.chain(
        "crit-header",
        "S10: the JWS header of the intermediate's SS has crit.",
        ["FED-010"],
        edited(via, 1, lambda s: s.extra_header.update(crit=["exp"])),
        err("unsupported_crit"),
    )
    v.chain(
        "crit-claim-unknown",
        "S10: the provider's EC has the claim crit listing a claim no one registered.",
        ["FED-012"],
        with_ss(via, 0, crit=["tokenfed_vetting"], tokenfed_vetting="strict"),
        err("unsupported_crit"),
    )
    v.chain(
        "crit-claim-standard",
        "S10: the provider's EC has crit listing a claim the federation spec defines.",
        ["FED-012"],
        with_ss(via, 0, crit=["iss"]),
        err("unsupported_crit"),
    )
    v.chain(
        "crit-claim-empty",
        "S10: the provider's EC has crit: [].",
        ["FED-012"],
        with_ss(via, 0, crit=[]),
        err("unsupported_crit"),
    )
    v.chain(
        "claim-missing-exp",
        "The intermediate's SS has no exp.",
        ["FED-013"],
        with_ss(via, 1, exp=None),
        err("schema_violation"),
    )
    v.chain(
        "claim-missing-jwks",
        "The anchor's SS about the intermediate has no jwks.",
        ["FED-013"],
        with_ss(via, 2, jwks=None),
        err("schema_violation"),
    )
    v.chain(
        "claim-iat-string",
        "The provider's EC has iat as a string.",
        ["FED-013"],
        with_ss(via, 0, iat=str(IAT)),
        err("schema_violation"),
    )

    # ------------------------------------------------------------------ structure (M)
    v.chain(
        "ss-issuer-not-in-authority-hints",
        "M1: the provider's EC does not list the intermediate that issued the SS about it.",
        ["FED-051"],
        with_ss(via, 0, authority_hints=[A]),
        err("chain_not_well_formed"),
    )
    v.chain(
        "authority-hints-empty",
        "M2: the provider's EC has authority_hints: [].",
        ["FED-017"],
        with_ss(via, 0, authority_hints=[]),
        err("invalid_statement"),
    )
    v.chain(
        "metadata-policy-in-ec",
        "M3: the provider's EC has metadata_policy (a subordinate-statement claim).",
        ["FED-014"],
        with_ss(
            via, 0, metadata_policy={"tokenfed_provider": {"tokenfed_versions": {"value": ["1.0"]}}}
        ),
        err("invalid_statement"),
    )
    v.chain(
        "constraints-in-ec",
        "M3: the anchor's EC has constraints.",
        ["FED-014"],
        with_ss(via, 3, constraints={"max_path_length": 1}),
        err("invalid_statement"),
    )
    v.chain(
        "authority-hints-in-ss",
        "M4: the intermediate's SS has authority_hints (an entity-configuration claim).",
        ["FED-014"],
        with_ss(via, 1, authority_hints=[A]),
        err("invalid_statement"),
    )
    v.chain(
        "trust-chain-header",
        "M5: the intermediate's SS has a trust_chain JWS header.",
        ["FED-011"],
        edited(via, 1, lambda s: s.extra_header.update(trust_chain=["a.b.c"])),
        err("invalid_statement"),
    )
    null_metadata = resolved_provider()
    null_metadata["tokenfed_provider"]["rate_card_uri"] = None
    v.chain(
        "null-metadata-value",
        "M6: the provider's EC has rate_card_uri: null.",
        ["FED-018"],
        with_ss(via, 0, metadata=null_metadata),
        err("invalid_statement"),
    )
    leaf_fetch = resolved_provider()
    leaf_fetch["federation_entity"]["federation_fetch_endpoint"] = PROVIDER_A + "/fetch"
    v.chain(
        "leaf-publishes-fetch-endpoint",
        "M7: the provider's EC publishes a federation_fetch_endpoint.",
        ["FED-020"],
        with_ss(via, 0, metadata=leaf_fetch),
        err("invalid_statement"),
    )
    v.chain(
        "metadata-policy-crit",
        "M8: the anchor's SS has metadata_policy_crit (tokenfed defines no extra operator).",
        ["FED-019", "FED-100"],
        with_ss(via, 2, metadata_policy_crit=["regexp"]),
        err("invalid_statement"),
    )
    v.chain(
        "ss-in-place-of-subject-ec",
        "ES[0] is not self-issued: the chain starts with the intermediate's SS.",
        ["FED-051"],
        via[1:],
        err("chain_not_well_formed"),
    )
    v.chain(
        "link-broken",
        "ES[1].iss is not ES[2].sub: the anchor's SS is about another intermediate.",
        ["FED-051"],
        with_ss(via, 2, sub=PARTNERS_A, jwks=jwks("partners-a")),
        err("chain_not_well_formed"),
    )
    v.chain(
        "chain-not-ending-at-anchor-ec",
        "The chain stops at the anchor's SS: the anchor's EC, which OIDF lets a chain omit, is "
        "required here.",
        ["FED-050", "FED-051"],
        via[:3],
        err("chain_not_well_formed"),
    )
    v.chain(
        "loop-in-chain",
        "The chain passes the same intermediate twice (members -> partners -> members): a "
        "chain has no loop.",
        ["FED-051"],
        [
            ec(PROVIDER_A),
            ss(MEMBERS_A, PROVIDER_A),
            ss(PARTNERS_A, MEMBERS_A),
            ss(MEMBERS_A, PARTNERS_A),
            ss(A, MEMBERS_A),
            ec(A),
        ],
        err("chain_not_well_formed"),
    )

    # ------------------------------------------------------------------ cycles and limits (C)
    v.chain(
        "authority-hint-to-itself",
        "C2: the provider lists itself among its authority_hints.",
        ["FED-017"],
        with_ss(via, 0, authority_hints=[PROVIDER_A, MEMBERS_A]),
        err("invalid_statement"),
    )
    four = up(PROVIDER_A, *CHAIN_IDS[1:], A)
    four[0] = ec(PROVIDER_A, authority_hints=[CHAIN_IDS[1]])
    v.chain(
        "four-intermediates",
        "C3: four intermediates (seven statements) is the longest chain accepted.",
        ["FED-050", "FED-072"],
        four,
        result([PROVIDER_A, *CHAIN_IDS[1:], A], EXP_SS, provider),
    )
    five = up(PROVIDER_A, *CHAIN_IDS, A)
    five[0] = ec(PROVIDER_A, authority_hints=[CHAIN_IDS[0]])
    v.chain(
        "five-intermediates",
        "C3: five intermediates (eight statements).",
        ["FED-050", "FED-072"],
        five,
        err("path_too_long"),
    )
    v.chain(
        "max-path-length-exceeded",
        "C4: the anchor's SS sets max_path_length 1 and two intermediates follow it.",
        ["FED-041"],
        with_ss(_two_intermediates(), 3, constraints={"max_path_length": 1}),
        err("max_path_length_exceeded"),
    )
    v.chain(
        "max-path-length-met",
        "C4: max_path_length 2 with two intermediates below the anchor is accepted.",
        ["FED-041"],
        with_ss(_two_intermediates(), 3, constraints={"max_path_length": 2}),
        result([PROVIDER_A, CHAIN_IDS[3], CHAIN_IDS[4], A], EXP_SS, provider),
    )
    v.chain(
        "max-path-length-zero-direct",
        "max_path_length 0 in the anchor's SS about the provider itself: no intermediate.",
        ["FED-041"],
        with_ss(direct, 1, constraints={"max_path_length": 0}),
        result([PROVIDER_A, A], EXP_SS, provider),
    )
    c5 = copy.deepcopy(cross)
    c5[3] = recognition(max_path_length=1)
    v.chain(
        "max-path-length-recognised-anchor-counts",
        "C5: A's SS about B sets max_path_length 1; below A sit B and B's intermediate, two "
        "intermediates, because B counts.",
        ["FED-041", "FED-060"],
        c5,
        err("max_path_length_exceeded"),
    )
    v.chain(
        "nine-authority-hints",
        "C6: the provider's EC lists nine authority hints.",
        ["FED-017", "FED-072"],
        with_ss(
            via,
            0,
            authority_hints=[MEMBERS_A, *[f"https://h{i}.alliance-a.example" for i in range(8)]],
        ),
        err("invalid_statement"),
    )
    v.chain(
        "eight-authority-hints",
        "C6: eight authority hints are accepted.",
        ["FED-017"],
        with_ss(
            via,
            0,
            authority_hints=[MEMBERS_A, *[f"https://h{i}.alliance-a.example" for i in range(7)]],
        ),
        result([PROVIDER_A, MEMBERS_A, A], EXP_SS, provider),
    )

    # ------------------------------------------------------------------ naming (N)
    def naming(constraint: dict[str, Any]) -> list[Statement]:
        return with_ss(via, 2, constraints={"naming_constraints": constraint})

    v.chain(
        "naming-outside-permitted",
        "N1: the anchor permits only .alliance-b.example below its intermediate.",
        ["FED-042"],
        naming({"permitted": [".alliance-b.example"]}),
        err("naming_constraint_violated"),
    )
    v.chain(
        "naming-permitted",
        "N1: the anchor permits .alliance-a.example, which every entity below it matches.",
        ["FED-042"],
        naming({"permitted": [".alliance-a.example"]}),
        result([PROVIDER_A, MEMBERS_A, A], EXP_SS, provider),
    )
    v.chain(
        "naming-excluded-wins",
        "N2: the provider's host is both permitted (.alliance-a.example) and excluded (exact "
        "host): excluded wins.",
        ["FED-042"],
        naming({"permitted": [".alliance-a.example"], "excluded": ["provider.alliance-a.example"]}),
        err("naming_constraint_violated"),
    )
    v.chain(
        "naming-subdomain-pattern-not-the-domain",
        "N3: .members.alliance-a.example permits hosts below that name, not the intermediate's "
        "own host members.alliance-a.example.",
        ["FED-042"],
        naming({"permitted": [".members.alliance-a.example", "provider.alliance-a.example"]}),
        err("naming_constraint_violated"),
    )
    pathful = "https://provider.alliance-a.example/tenants/7"
    ENTITIES[pathful] = Entity(
        pathful, "provider-a", provider_metadata(pathful, "provider-a-receipts"), (MEMBERS_A,)
    )
    pathful_chain = up(pathful, MEMBERS_A, A)
    v.chain(
        "naming-ignores-path",
        "N4: an entity id with a path matches the exact host provider.alliance-a.example.",
        ["FED-042"],
        with_ss(
            pathful_chain,
            2,
            constraints={
                "naming_constraints": {
                    "permitted": ["provider.alliance-a.example", "members.alliance-a.example"]
                }
            },
        ),
        result([pathful, MEMBERS_A, A], EXP_SS, provider_metadata(pathful, "provider-a-receipts")),
    )
    upper = "https://Provider.alliance-a.example"
    ENTITIES[upper] = Entity(upper, "provider-a", resolved_provider(), (MEMBERS_A,))
    v.chain(
        "entity-id-uppercase-host",
        "N5: the provider's entity id has an upper-case host.",
        ["FED-002"],
        up(upper, MEMBERS_A, A),
        err("invalid_statement"),
    )
    slash = "https://provider.alliance-a.example/"
    ENTITIES[slash] = Entity(slash, "provider-a", resolved_provider(), (MEMBERS_A,))
    v.chain(
        "entity-id-trailing-slash",
        "A federation entity id does not end in /.",
        ["FED-002"],
        up(slash, MEMBERS_A, A),
        err("invalid_statement"),
    )

    # ------------------------------------------------------------------ entity types (Y)
    only_provider = copy.deepcopy(cross_operator)
    only_provider[3] = recognition(allowed_entity_types=["tokenfed_provider"])
    v.chain(
        "entity-type-not-allowed",
        "Y1: A's SS about B allows only tokenfed_provider; B's operator is resolved as an "
        "operator (to verify its entitlement).",
        ["FED-043", "FED-058"],
        only_provider,
        err("entity_type_not_allowed"),
        entity_type="tokenfed_operator",
    )
    v.chain(
        "entity-type-removed-without-request",
        "Y1: the same chain without a requested type resolves, and the operator type is gone.",
        ["FED-043", "FED-056"],
        only_provider,
        result([OPERATOR_B, MEMBERS_B, B, A], EXP_SS, {}),
        entity_type=None,
    )
    v.chain(
        "allowed-entity-types-empty",
        "Y2: allowed_entity_types [] leaves only federation_entity.",
        ["FED-043", "FED-058"],
        with_ss(via, 2, constraints={"allowed_entity_types": []}),
        err("entity_type_not_allowed"),
    )
    v.chain(
        "allowed-entity-types-empty-no-request",
        "Y2: allowed_entity_types [] without a requested type: only federation_entity remains.",
        ["FED-043"],
        with_ss(via, 2, constraints={"allowed_entity_types": []}),
        result(
            [PROVIDER_A, MEMBERS_A, A], EXP_SS, {"federation_entity": provider["federation_entity"]}
        ),
        entity_type=None,
    )
    v.chain(
        "allowed-entity-types-lists-federation-entity",
        "federation_entity is always allowed and must not be listed.",
        ["FED-043"],
        with_ss(
            via, 2, constraints={"allowed_entity_types": ["federation_entity", "tokenfed_provider"]}
        ),
        err("invalid_statement"),
    )
    v.chain(
        "entity-type-absent",
        "Y3: the operator is resolved as a provider (a receipt verified with operator keys): "
        "its metadata has no tokenfed_provider.",
        ["FED-058"],
        cross_operator,
        err("entity_type_absent"),
    )
    v.chain(
        "valid-operator-cross-anchor",
        "The operator of alliance B resolved as an operator under anchor A.",
        ["FED-030", "FED-060"],
        cross_operator,
        result([OPERATOR_B, MEMBERS_B, B, A], EXP_SS, operator_metadata(OPERATOR_B)),
        entity_type="tokenfed_operator",
    )

    # ------------------------------------------------------------------ policy (P)
    def policy(ta: dict[str, Any], intermediate: dict[str, Any] | None = None) -> list[Statement]:
        chain = with_ss(via, 2, metadata_policy={"tokenfed_provider": ta})
        if intermediate is not None:
            chain = with_ss(chain, 1, metadata_policy={"tokenfed_provider": intermediate})
        return chain

    v.chain(
        "policy-value-conflict",
        "P1: the anchor and the intermediate set different values for tokenfed_versions.",
        ["FED-106"],
        policy(
            {"tokenfed_versions": {"value": ["1.0"]}}, {"tokenfed_versions": {"value": ["1.1"]}}
        ),
        err("metadata_policy_error"),
    )
    v.chain(
        "policy-one-of-disjoint",
        "P2: the one_of sets of the anchor and the intermediate do not intersect.",
        ["FED-108"],
        policy(
            {"rate_card_uri": {"one_of": [PROVIDER_A + "/rate-card"]}},
            {"rate_card_uri": {"one_of": [PROVIDER_A + "/cards"]}},
        ),
        err("metadata_policy_error"),
    )
    v.chain(
        "policy-subset-not-superset",
        "P3: subset_of [1.0] is not a superset of superset_of [1.0, 1.1] after the merge.",
        ["FED-104", "FED-110"],
        policy(
            {"tokenfed_versions": {"subset_of": ["1.0"]}},
            {"tokenfed_versions": {"superset_of": ["1.0", "1.1"]}},
        ),
        err("metadata_policy_error"),
    )
    v.chain(
        "policy-value-outside-one-of",
        "P4: the provider's rate_card_uri is not one of the anchor's one_of values.",
        ["FED-117"],
        policy({"rate_card_uri": {"one_of": [PROVIDER_A + "/cards/2026"]}}),
        err("invalid_metadata"),
    )
    no_card = _without(resolved_provider(), "rate_card_uri")
    v.chain(
        "policy-essential-missing",
        "P5: the anchor marks rate_card_uri essential and the provider has none.",
        ["FED-121"],
        with_ss(policy({"rate_card_uri": {"essential": True}}), 0, metadata=no_card),
        err("invalid_metadata"),
    )
    v.chain(
        "policy-essential-false-missing",
        "Without essential, a provider without rate_card_uri is accepted.",
        ["FED-121"],
        with_ss(policy({"rate_card_uri": {"essential": False}}), 0, metadata=no_card),
        result([PROVIDER_A, MEMBERS_A, A], EXP_SS, no_card),
    )
    v.chain(
        "policy-unknown-operator-ignored",
        "P6: an operator no one defined, not listed as critical, is ignored.",
        ["FED-100"],
        policy({"tokenfed_versions": {"regexp": "^1\\."}}),
        result([PROVIDER_A, MEMBERS_A, A], EXP_SS, provider),
    )
    p7 = copy.deepcopy(cross)
    p7[3] = recognition()
    p7[3].claims["metadata_policy"] = {
        "tokenfed_provider": {"tokenfed_versions": {"subset_of": ["1.0"]}}
    }
    v.chain(
        "policy-in-recognition",
        "P7: A's recognition statement about anchor B carries metadata_policy.",
        ["FED-060"],
        p7,
        err("invalid_statement"),
    )
    v.chain(
        "policy-subset-empty-essential",
        "P8: subset_of [2.0] leaves tokenfed_versions [] (essential is met by an empty array); "
        "the application refuses an empty version list.",
        ["FED-118", "FED-031"],
        policy({"tokenfed_versions": {"subset_of": ["2.0"], "essential": True}}),
        err("invalid_metadata"),
    )
    v.chain(
        "policy-add-and-value",
        "The anchor adds 1.1 to the provider's versions; the intermediate's value for "
        "metering_endpoint replaces the provider's.",
        ["FED-107", "FED-114", "FED-115"],
        policy(
            {"tokenfed_versions": {"add": ["1.1"]}},
            {"metering_endpoint": {"value": PROVIDER_A + "/meter"}},
        ),
        result(
            [PROVIDER_A, MEMBERS_A, A],
            EXP_SS,
            _set(
                _set(resolved_provider(), "tokenfed_versions", ["1.0", "1.1"]),
                "metering_endpoint",
                PROVIDER_A + "/meter",
            ),
        ),
    )
    v.chain(
        "policy-value-null-removes",
        "A value of null removes rate_card_uri.",
        ["FED-114"],
        policy({"rate_card_uri": {"value": None}}),
        result(
            [PROVIDER_A, MEMBERS_A, A],
            EXP_SS,
            _without(resolved_provider(), "rate_card_uri"),
        ),
    )
    v.chain(
        "policy-only-in-own-alliance",
        "A metadata policy in the anchor's SS about its own intermediate is applied.",
        ["FED-112", "FED-120"],
        policy({"tokenfed_versions": {"superset_of": ["1.0"]}}),
        result([PROVIDER_A, MEMBERS_A, A], EXP_SS, provider),
    )

    # Application-layer checks of the resolved metadata.
    shared = resolved_provider()
    shared["tokenfed_provider"]["receipt_jwks"] = {
        "keys": [KEYS["provider-a"].public_key(KeyValidity(nbf=KEYS_NBF)).to_jwk()]
    }
    v.chain(
        "receipt-key-is-federation-key",
        "The provider's receipt_jwks holds its federation key.",
        ["FED-033"],
        with_ss(via, 0, metadata=shared),
        err("invalid_metadata"),
    )
    no_versions = resolved_provider()
    del no_versions["tokenfed_provider"]["tokenfed_versions"]
    v.chain(
        "tokenfed-versions-missing",
        "The provider's metadata has no tokenfed_versions.",
        ["FED-031"],
        with_ss(via, 0, metadata=no_versions),
        err("invalid_metadata"),
    )
    no_receipts = resolved_provider()
    del no_receipts["tokenfed_provider"]["receipt_jwks"]
    v.chain(
        "receipt-jwks-missing",
        "The provider's metadata has no receipt_jwks.",
        ["FED-032"],
        with_ss(via, 0, metadata=no_receipts),
        err("invalid_metadata"),
    )

    # ------------------------------------------------------------------ recognition (R)
    v.chain(
        "recognition-used-backwards",
        "R1: A recognises B, not the reverse; a validator anchored at B is given the chain of "
        "A's provider, which ends at A.",
        ["FED-052", "FED-062"],
        direct,
        err("no_trust_path"),
        anchors=[anchor(B)],
    )
    r3 = [ec(B, authority_hints=None), recognition(), ec(A)]
    v.chain(
        "recognition-without-consent",
        "R3: A's SS about B exists, but B's EC does not list A in authority_hints.",
        ["FED-051", "FED-062"],
        r3,
        err("chain_not_well_formed"),
        entity_type=None,
    )
    under_b_only = [
        ec(PROVIDER_B, authority_hints=[MEMBERS_B]),
        ss(MEMBERS_B, PROVIDER_B),
        ss(B, MEMBERS_B),
        ec(B, authority_hints=None),
    ]
    v.chain(
        "two-anchors-result-under-a",
        "R5: a validator with anchors A and B; the chain ends at A and the result names A.",
        ["FED-059"],
        via,
        result([PROVIDER_A, MEMBERS_A, A], EXP_SS, provider),
        anchors=[anchor(A), anchor(B)],
    )
    v.chain(
        "two-anchors-result-under-b",
        "R5: the same validator; B's provider's chain ends at B and the result names B.",
        ["FED-059"],
        under_b_only,
        result([PROVIDER_B, MEMBERS_B, B], EXP_SS, provider_b),
        anchors=[anchor(A), anchor(B)],
    )
    v.chain(
        "two-anchors-keys-not-pooled",
        "R5: B's EC signed with A's key: with both anchors pinned, the chain ending at B is "
        "checked with B's pinned keys only.",
        ["FED-053", "FED-059"],
        with_ss(under_b_only, 3, key="anchor-a"),
        err("unknown_key"),
        anchors=[anchor(A), anchor(B)],
    )

    more_vectors(v, via, direct, cross, cross_operator, provider)
    history_vectors(v)

    return {
        "$schema": "../schemas/vectors.schema.json",
        "kind": "federation",
        "spec_version": "1.0",
        "description": (
            "Static trust chains (chapter Federation). Input 'op' is 'validate', 'select' or "
            "'archived'. "
            "validate: 'statements' is the chain as compact JWS, ES[0] the subject's entity "
            "configuration, then the subordinate statements, then the anchor's entity "
            "configuration; 'anchors' the pinned trust anchors [{entity_id, jwks}] in the "
            "validator's priority order; 'now' the clock; 'entity_type' the requested entity "
            "type or null; an optional 'document_typ' asks for the key set that verifies "
            "that kind of document (FED-035), expected as 'document_keys', the kids in "
            "order. archived: one pinned anchor (its current keys), 'historical_keys' its "
            "historical keys document (FED-150) or null, and 'now' the past time at which the "
            "archived chain is verified (FED-154). select: "
            "'candidates' is a list of such chains; each is validated "
            "and those that fail are dropped, then one is chosen by the path-selection rule, "
            "and 'chosen' is its index (no candidate left: no_trust_path). Expected: "
            "{trust_anchor, path (entity ids from the subject up to the anchor), exp (the "
            "minimum exp), metadata (the resolved metadata)} or {error}."
        ),
        "provenance": (
            "Generated by spec/tools/make_federation_vectors.py with the SDK's JWS signing and "
            "Ed25519 keys derived from fixed seeds (fixtures.keys: private key = SHA-256 of "
            "'tokenfed federation vectors/' + name; the ES256 anchor uses the provider-b key "
            "of spec/test-keys.json). Each invalid vector is broken in exactly one way, so its "
            "expected code follows from how it was built; the order-* vectors are broken in two "
            "ways on purpose, to pin which check of the chapter's order comes first. Checked "
            "independently by interop/check_vectors.py (interop/_federation.py: cryptography "
            "for signatures, its own chain, constraint and policy code)."
        ),
        "fixtures": {
            "keys": {name: public_jwk(name) for name in sorted(KEYS)},
        },
        "vectors": v.items,
    }


def more_vectors(
    v: Vectors,
    via: list[Statement],
    direct: list[Statement],
    cross: list[Statement],
    cross_operator: list[Statement],
    provider: dict[str, Any],
) -> None:
    """The cases that pin the chapter's exact rules and the order of its checks."""
    valid_via = result([PROVIDER_A, MEMBERS_A, A], EXP_SS, provider)

    # ------------------------------------------------------------------ statements
    v.chain(
        "typ-media-type-form",
        "The intermediate's SS has typ application/entity-statement+jwt, which CONV-043 "
        "compares as entity-statement+jwt.",
        ["FED-010"],
        edited(via, 1, lambda s: setattr(s, "header", {**_header(s), "typ": "application/" + TYP})),
        valid_via,
    )
    v.chain(
        "kid-missing",
        "The intermediate's SS has no kid header: it names no key.",
        ["FED-011"],
        edited(via, 1, lambda s: setattr(s, "header", _without_member(_header(s), "kid"))),
        err("unknown_key"),
    )
    v.chain(
        "jwks-empty",
        "The intermediate's SS attests an empty key set for the provider.",
        ["FED-015"],
        with_ss(via, 1, jwks={"keys": []}),
        err("invalid_key"),
    )
    v.chain(
        "jwks-key-without-kid",
        "A key of the provider's EC jwks has no kid.",
        ["FED-015"],
        with_ss(
            via,
            0,
            jwks={
                "keys": [
                    public_jwk("provider-a"),
                    _without_member(public_jwk("provider-a-other"), "kid"),
                ]
            },
        ),
        err("invalid_key"),
    )
    v.chain(
        "lifetime-zero",
        "The intermediate's SS has exp equal to iat (a lifetime outside 1..86400).",
        ["FED-016"],
        with_ss(via, 1, exp=IAT),
        err("invalid_statement"),
    )
    v.chain(
        "authority-hints-duplicate",
        "The provider's EC lists its intermediate twice.",
        ["FED-017"],
        with_ss(via, 0, authority_hints=[MEMBERS_A, MEMBERS_A]),
        err("invalid_statement"),
    )
    v.chain(
        "trust-anchor-hints-empty",
        "The provider's EC has trust_anchor_hints: [].",
        ["FED-018"],
        with_ss(via, 0, trust_anchor_hints=[]),
        err("invalid_statement"),
    )
    v.chain(
        "trust-anchor-hints-ignored",
        "The provider's EC names its anchor in trust_anchor_hints, which changes nothing.",
        ["FED-013"],
        with_ss(via, 0, trust_anchor_hints=[A]),
        valid_via,
    )
    partial = {"federation_entity": federation_entity(A, "Alliance A")}
    del partial["federation_entity"]["federation_list_endpoint"]
    v.chain(
        "anchor-ec-partial-endpoints",
        "The anchor's EC publishes a fetch and a historical-keys endpoint but no list endpoint.",
        ["FED-020"],
        with_ss(via, 3, metadata=partial),
        err("invalid_statement"),
    )
    leaf_history = resolved_provider()
    leaf_history["federation_entity"]["federation_historical_keys_endpoint"] = (
        PROVIDER_A + "/historical-keys"
    )
    v.chain(
        "leaf-publishes-historical-keys-endpoint",
        "The provider's EC publishes a federation_historical_keys_endpoint.",
        ["FED-020"],
        with_ss(via, 0, metadata=leaf_history),
        err("invalid_statement"),
    )
    v.chain(
        "source-endpoint-missing",
        "The intermediate's SS has no source_endpoint (REQUIRED in this profile).",
        ["FED-013"],
        with_ss(via, 1, source_endpoint=None),
        err("schema_violation"),
    )
    v.chain(
        "source-endpoint-http",
        "The intermediate's SS has an http source_endpoint.",
        ["FED-013"],
        with_ss(via, 1, source_endpoint="http://members.alliance-a.example/fetch"),
        err("invalid_statement"),
    )
    v.chain(
        "recognition-marker-in-ec",
        "The provider's EC carries tokenfed_recognition.",
        ["FED-014"],
        with_ss(via, 0, tokenfed_recognition=True),
        err("invalid_statement"),
    )

    # Order of the checks of one statement (FED-022): the first failing step decides.
    v.chain(
        "order-typ-before-header",
        "Wrong typ and a trust_chain header: the JWS layer decides.",
        ["FED-022"],
        edited(
            via,
            1,
            lambda s: setattr(s, "header", {**_header(s), "typ": "JWT", "trust_chain": ["x"]}),
        ),
        err("unsupported_typ"),
    )
    v.chain(
        "order-header-before-crit",
        "A trust_chain header and a crit claim: the forbidden header decides.",
        ["FED-022"],
        edited(
            with_ss(via, 1, crit=["tokenfed_vetting"]),
            1,
            lambda s: s.extra_header.update(trust_chain=["x"]),
        ),
        err("invalid_statement"),
    )
    v.chain(
        "order-crit-before-claims",
        "A crit claim and no exp: the crit claim decides.",
        ["FED-022"],
        with_ss(via, 1, crit=["tokenfed_vetting"], exp=None),
        err("unsupported_crit"),
    )
    v.chain(
        "order-claims-before-keys",
        "No exp and a kid that is not a thumbprint: the claims decide.",
        ["FED-022"],
        with_ss(via, 1, exp=None, jwks={"keys": [public_jwk("provider-a", kid="k1")]}),
        err("schema_violation"),
    )
    v.chain(
        "order-keys-before-content",
        "A kid that is not a thumbprint and a lifetime over a day: the keys decide.",
        ["FED-022"],
        with_ss(
            via,
            1,
            exp=IAT + 86401,
            jwks={"keys": [public_jwk("provider-a", kid="k1")]},
        ),
        err("invalid_key"),
    )

    # ------------------------------------------------------------------ chains
    v.chain(
        "ec-kid-not-in-own-jwks",
        "The provider signs its EC with a key its superior attests but its own EC does not list.",
        ["FED-053"],
        with_ss(
            with_ss(via, 0, key="provider-a-other"),
            1,
            jwks=jwks("provider-a", "provider-a-other"),
        ),
        err("unknown_key"),
    )
    eight = up(PROVIDER_A, *CHAIN_IDS, A)
    eight[0] = ec(PROVIDER_A, authority_hints=[CHAIN_IDS[0]])
    eight[4] = Statement(eight[4].claims, eight[4].key, header={"alg": "none", "typ": TYP})
    v.chain(
        "order-count-before-decode",
        "Eight statements, one of them with alg none: the count decides.",
        ["FED-050"],
        eight,
        err("path_too_long"),
    )
    v.chain(
        "two-statements",
        "A chain of two statements (the subject's EC and the anchor's EC).",
        ["FED-050"],
        [via[0], via[3]],
        err("chain_not_well_formed"),
    )
    v.chain(
        "order-decode-before-structure",
        "A broken link and a statement with a wrong typ: decoding decides.",
        ["FED-050"],
        edited(
            with_ss(via, 2, sub=PARTNERS_A, jwks=jwks("partners-a")),
            3,
            lambda s: setattr(s, "header", {**_header(s), "typ": "JWT"}),
        ),
        err("unsupported_typ"),
    )
    v.chain(
        "order-structure-before-signatures",
        "A broken link and a bad signature: the structure decides.",
        ["FED-050"],
        edited(
            with_ss(via, 2, sub=PARTNERS_A, jwks=jwks("partners-a")),
            3,
            lambda s: setattr(s, "tamper", True),
        ),
        err("chain_not_well_formed"),
    )
    v.chain(
        "order-anchor-before-signatures",
        "The chain ends at an anchor the validator has not pinned, and a signature is bad: "
        "no trust path (structure) decides.",
        ["FED-050", "FED-052"],
        edited(via, 1, lambda s: setattr(s, "tamper", True)),
        err("no_trust_path"),
        anchors=[anchor(B)],
    )
    v.chain(
        "order-signatures-before-times",
        "An expired SS with a bad signature: the signature decides.",
        ["FED-050"],
        edited(
            with_ss(via, 1, iat=NOW - 7200, exp=NOW - 3600), 1, lambda s: setattr(s, "tamper", True)
        ),
        err("invalid_signature"),
    )
    v.chain(
        "order-times-before-constraints",
        "An expired SS and a naming constraint violation: the time decides.",
        ["FED-050"],
        with_ss(
            with_ss(
                via, 2, constraints={"naming_constraints": {"permitted": [".alliance-b.example"]}}
            ),
            1,
            iat=NOW - 7200,
            exp=NOW - 3600,
        ),
        err("statement_expired"),
    )
    v.chain(
        "order-constraints-before-metadata",
        "A naming constraint violation and a policy conflict: the constraint decides.",
        ["FED-050"],
        with_ss(
            with_ss(
                via,
                2,
                constraints={"naming_constraints": {"permitted": [".alliance-b.example"]}},
                metadata_policy={"tokenfed_provider": {"tokenfed_versions": {"value": ["1.0"]}}},
            ),
            1,
            metadata_policy={"tokenfed_provider": {"tokenfed_versions": {"value": ["1.1"]}}},
        ),
        err("naming_constraint_violated"),
    )
    two = _two_intermediates()
    v.chain(
        "order-anchor-ss-constraints-first",
        "The intermediate's SS breaks max_path_length 0 and the anchor's SS a naming "
        "constraint: the anchor's SS is checked first.",
        ["FED-055"],
        with_ss(
            with_ss(two, 2, constraints={"max_path_length": 0}),
            3,
            constraints={"naming_constraints": {"permitted": [".alliance-b.example"]}},
        ),
        err("naming_constraint_violated"),
    )
    v.chain(
        "order-max-path-length-before-naming",
        "The anchor's SS breaks both its max_path_length and its naming constraint: "
        "max_path_length decides.",
        ["FED-055"],
        with_ss(
            two,
            3,
            constraints={
                "max_path_length": 1,
                "naming_constraints": {"permitted": [".alliance-b.example"]},
            },
        ),
        err("max_path_length_exceeded"),
    )
    v.chain(
        "order-entity-type-before-policy",
        "The operator is asked for as a provider and the policy conflicts: the requested type, "
        "checked before the policy, decides.",
        ["FED-058"],
        with_ss(
            with_ss(
                cross_operator,
                2,
                metadata_policy={"tokenfed_operator": {"tokenfed_versions": {"value": ["1.0"]}}},
            ),
            1,
            metadata_policy={"tokenfed_operator": {"tokenfed_versions": {"value": ["1.1"]}}},
        ),
        err("entity_type_absent"),
    )
    v.chain(
        "order-type-removed-before-policy",
        "The provider type is removed by allowed_entity_types and the policy conflicts: the "
        "removal decides.",
        ["FED-058"],
        with_ss(
            with_ss(
                via,
                2,
                constraints={"allowed_entity_types": ["tokenfed_operator"]},
                metadata_policy={"tokenfed_provider": {"tokenfed_versions": {"value": ["1.0"]}}},
            ),
            1,
            metadata_policy={"tokenfed_provider": {"tokenfed_versions": {"value": ["1.1"]}}},
        ),
        err("entity_type_not_allowed"),
    )
    upper_metadata = {"tokenfed_provider": {"rate_card_uri": MEMBERS_A + "/elsewhere"}}
    v.chain(
        "ss-metadata-above-subject-ignored",
        "The anchor's SS about the intermediate carries tokenfed_provider metadata: it is about "
        "the intermediate and does not change the provider's.",
        ["FED-056"],
        with_ss(via, 2, metadata=upper_metadata),
        valid_via,
    )

    # ------------------------------------------------------------------ recognition
    def recognition_chain(statement: Statement) -> list[Statement]:
        chain = list(cross)
        chain[3] = statement
        return chain

    no_max = recognition()
    del no_max.claims["constraints"]["max_path_length"]
    v.chain(
        "recognition-without-max-path-length",
        "A's recognition statement about B lacks max_path_length.",
        ["FED-060"],
        recognition_chain(no_max),
        err("invalid_statement"),
    )
    v.chain(
        "recognition-without-permitted",
        "A's recognition statement names only excluded hosts.",
        ["FED-060"],
        recognition_chain(
            recognition(naming_constraints={"excluded": ["evil.alliance-b.example"]})
        ),
        err("invalid_statement"),
    )
    v.chain(
        "recognition-no-entity-types",
        "A's recognition statement allows no entity type ([]).",
        ["FED-060"],
        recognition_chain(recognition(allowed_entity_types=[])),
        err("invalid_statement"),
    )
    v.chain(
        "recognition-non-tokenfed-type",
        "A's recognition statement allows openid_provider.",
        ["FED-060"],
        recognition_chain(
            recognition(allowed_entity_types=["tokenfed_provider", "openid_provider"])
        ),
        err("invalid_statement"),
    )
    with_metadata = recognition()
    with_metadata.claims["metadata"] = {"federation_entity": {"organization_name": "B"}}
    v.chain(
        "recognition-with-metadata",
        "A's recognition statement carries metadata.",
        ["FED-060"],
        recognition_chain(with_metadata),
        err("invalid_statement"),
    )
    below = list(cross)
    below[2] = ss(
        B,
        MEMBERS_B,
        tokenfed_recognition=True,
        constraints={
            "max_path_length": 1,
            "naming_constraints": {"permitted": [".alliance-b.example"]},
            "allowed_entity_types": ["tokenfed_provider"],
        },
    )
    v.chain(
        "recognition-below-anchor-ss",
        "B's SS about its intermediate is marked as a recognition statement: a recognition "
        "statement must be the anchor's own SS (recognition is not transitive).",
        ["FED-061"],
        below,
        err("chain_not_well_formed"),
    )

    # ------------------------------------------------------------------ constraints
    v.chain(
        "max-path-length-negative",
        "max_path_length -1.",
        ["FED-040"],
        with_ss(via, 2, constraints={"max_path_length": -1}),
        err("schema_violation"),
    )
    v.chain(
        "allowed-entity-types-string",
        "allowed_entity_types is a string, not an array.",
        ["FED-040"],
        with_ss(via, 2, constraints={"allowed_entity_types": "tokenfed_provider"}),
        err("schema_violation"),
    )
    v.chain(
        "constraint-unknown-member-ignored",
        "A constraint member no one defined is ignored.",
        ["FED-040"],
        with_ss(via, 2, constraints={"max_hosts": 1}),
        valid_via,
    )
    v.chain(
        "naming-entry-with-scheme",
        "A naming constraint entry written as a URL (https://...), not a host.",
        ["FED-042"],
        with_ss(
            via,
            2,
            constraints={
                "naming_constraints": {"permitted": ["https://provider.alliance-a.example"]}
            },
        ),
        err("invalid_statement"),
    )
    v.chain(
        "naming-permitted-empty",
        "naming_constraints.permitted is [].",
        ["FED-042"],
        with_ss(via, 2, constraints={"naming_constraints": {"permitted": []}}),
        err("invalid_statement"),
    )
    v.chain(
        "naming-excluded-subdomain",
        "The anchor excludes .members.alliance-a.example, which the intermediate itself is not "
        "below: accepted.",
        ["FED-042"],
        with_ss(
            via,
            2,
            constraints={"naming_constraints": {"excluded": [".members.alliance-a.example"]}},
        ),
        valid_via,
    )
    ported = "https://provider.alliance-a.example:8443"
    ENTITIES[ported] = Entity(
        ported, "provider-a", provider_metadata(ported, "provider-a-receipts"), (MEMBERS_A,)
    )
    v.chain(
        "naming-ignores-port",
        "An entity id with a port matches the exact host provider.alliance-a.example.",
        ["FED-042", "FED-002"],
        with_ss(
            up(ported, MEMBERS_A, A),
            2,
            constraints={
                "naming_constraints": {
                    "permitted": ["provider.alliance-a.example", "members.alliance-a.example"]
                }
            },
        ),
        result([ported, MEMBERS_A, A], EXP_SS, provider_metadata(ported, "provider-a-receipts")),
    )
    v.chain(
        "allowed-entity-types-duplicate",
        "allowed_entity_types lists tokenfed_provider twice.",
        ["FED-043"],
        with_ss(
            via, 2, constraints={"allowed_entity_types": ["tokenfed_provider", "tokenfed_provider"]}
        ),
        err("invalid_statement"),
    )

    # ------------------------------------------------------------------ metadata
    def leaf_with(edit: Callable[[dict[str, Any]], None]) -> list[Statement]:
        metadata = resolved_provider()
        edit(metadata["tokenfed_provider"])
        return with_ss(via, 0, metadata=metadata)

    v.chain(
        "tokenfed-versions-not-major-minor",
        'tokenfed_versions ["1"].',
        ["FED-031"],
        leaf_with(lambda m: m.update(tokenfed_versions=["1"])),
        err("invalid_metadata"),
    )
    v.chain(
        "receipt-key-without-nbf",
        "The receipt key has no nbf.",
        ["FED-032"],
        leaf_with(lambda m: m["receipt_jwks"]["keys"][0].pop("nbf")),
        err("invalid_metadata"),
    )
    v.chain(
        "receipt-key-use-enc",
        "The receipt key has use enc.",
        ["FED-032"],
        leaf_with(lambda m: m["receipt_jwks"]["keys"][0].update(use="enc")),
        err("invalid_metadata"),
    )
    v.chain(
        "receipt-jwks-empty",
        "receipt_jwks has no key.",
        ["FED-032"],
        leaf_with(lambda m: m.update(receipt_jwks={"keys": []})),
        err("invalid_metadata"),
    )
    v.chain(
        "receipt-key-revoked-listed",
        "A retired receipt key stays listed with exp and revoked; the metadata is usable.",
        ["FED-032"],
        leaf_with(
            lambda m: m["receipt_jwks"]["keys"][0].update(
                exp=NOW - 600, revoked={"revoked_at": NOW - 900, "reason": "superseded"}
            )
        ),
        result(
            [PROVIDER_A, MEMBERS_A, A],
            EXP_SS,
            _edit_provider(
                lambda m: m["receipt_jwks"]["keys"][0].update(
                    exp=NOW - 600, revoked={"revoked_at": NOW - 900, "reason": "superseded"}
                )
            ),
        ),
    )
    attested = with_ss(
        leaf_with(
            lambda m: m.update(
                receipt_jwks={
                    "keys": [
                        KEYS["provider-a-other"].public_key(KeyValidity(nbf=KEYS_NBF)).to_jwk()
                    ]
                }
            )
        ),
        1,
        jwks=jwks("provider-a", "provider-a-other"),
    )
    v.chain(
        "receipt-key-attested-federation-key",
        "The receipt key is a federation key the superior attests for the provider (ES[1].jwks).",
        ["FED-033"],
        attested,
        err("invalid_metadata"),
    )
    v.chain(
        "metering-endpoint-http",
        "metering_endpoint is an http URL.",
        ["FED-034"],
        leaf_with(lambda m: m.update(metering_endpoint="http://provider.alliance-a.example/m")),
        err("invalid_metadata"),
    )
    v.chain(
        "rate-card-uri-fragment",
        "rate_card_uri has a fragment.",
        ["FED-034"],
        leaf_with(lambda m: m.update(rate_card_uri=PROVIDER_A + "/rate-card#2026")),
        err("invalid_metadata"),
    )
    v.chain(
        "generic-jwks-in-tokenfed-type",
        "tokenfed_provider carries jwks.",
        ["FED-034"],
        leaf_with(lambda m: m.update(jwks=jwks("provider-a-receipts"))),
        err("invalid_metadata"),
    )
    both = resolved_provider()
    both["tokenfed_operator"] = {"tokenfed_versions": ["1.0"]}
    v.chain(
        "other-type-invalid-whole-metadata-refused",
        "The provider is also an operator without entitlement_jwks; asked for as a provider, "
        "the whole metadata is refused.",
        ["FED-057", "FED-056"],
        with_ss(via, 0, metadata=both),
        err("invalid_metadata"),
    )

    # ------------------------------------------------------------------ policy
    def policy(ta: dict[str, Any], intermediate: dict[str, Any] | None = None) -> list[Statement]:
        chain = with_ss(via, 2, metadata_policy={"tokenfed_provider": ta})
        if intermediate is not None:
            chain = with_ss(chain, 1, metadata_policy={"tokenfed_provider": intermediate})
        return chain

    v.chain(
        "policy-value-object",
        "A value operator whose value is an object (a key set).",
        ["FED-102"],
        policy({"receipt_jwks": {"value": document_jwks("provider-a-receipts")}}),
        err("metadata_policy_error"),
    )
    v.chain(
        "policy-one-of-on-object-parameter",
        "one_of on receipt_jwks, a parameter that holds an object.",
        ["FED-103"],
        policy({"receipt_jwks": {"one_of": ["x"]}}),
        err("metadata_policy_error"),
    )
    v.chain(
        "policy-essential-on-object-parameter",
        "essential on receipt_jwks is allowed and met.",
        ["FED-103", "FED-121"],
        policy({"receipt_jwks": {"essential": True}}),
        valid_via,
    )
    v.chain(
        "policy-duplicate-in-array",
        "subset_of lists 1.0 twice.",
        ["FED-102"],
        policy({"tokenfed_versions": {"subset_of": ["1.0", "1.0"]}}),
        err("metadata_policy_error"),
    )
    v.chain(
        "policy-one-of-empty",
        "one_of is [].",
        ["FED-102"],
        policy({"rate_card_uri": {"one_of": []}}),
        err("metadata_policy_error"),
    )
    v.chain(
        "policy-entity-type-not-object",
        "metadata_policy maps tokenfed_provider to an array.",
        ["FED-101"],
        with_ss(via, 2, metadata_policy={"tokenfed_provider": []}),
        err("metadata_policy_error"),
    )
    v.chain(
        "policy-add-to-string",
        "add on rate_card_uri, a string parameter.",
        ["FED-115"],
        policy({"rate_card_uri": {"add": ["x"]}}),
        err("invalid_metadata"),
    )
    v.chain(
        "policy-values-equal-as-sets",
        "The anchor's and the intermediate's values are the same set in another order: they "
        "merge, and the anchor's order is used.",
        ["FED-106"],
        policy(
            {"tokenfed_versions": {"value": ["1.1", "1.0"]}},
            {"tokenfed_versions": {"value": ["1.0", "1.1"]}},
        ),
        result(
            [PROVIDER_A, MEMBERS_A, A],
            EXP_SS,
            _edit_provider(lambda m: m.update(tokenfed_versions=["1.1", "1.0"])),
        ),
    )
    v.chain(
        "policy-one-of-and-subset-of",
        "one_of with subset_of in one operator object.",
        ["FED-104"],
        policy({"rate_card_uri": {"one_of": [PROVIDER_A + "/rate-card"], "subset_of": ["x"]}}),
        err("metadata_policy_error"),
    )
    v.chain(
        "policy-merge-value-outside-subset",
        "The anchor's subset_of and the intermediate's value outside it conflict after merging.",
        ["FED-110"],
        policy(
            {"tokenfed_versions": {"subset_of": ["1.0"]}},
            {"tokenfed_versions": {"value": ["1.0", "1.1"]}},
        ),
        err("metadata_policy_error"),
    )
    v.chain(
        "policy-default-conflict",
        "The anchor's and the intermediate's defaults differ.",
        ["FED-106"],
        policy(
            {"rate_card_uri": {"default": PROVIDER_A + "/a"}},
            {"rate_card_uri": {"default": PROVIDER_A + "/b"}},
        ),
        err("metadata_policy_error"),
    )
    v.chain(
        "policy-superset-of-missing",
        "superset_of [1.0, 1.1] on versions [1.0].",
        ["FED-120"],
        policy({"tokenfed_versions": {"superset_of": ["1.0", "1.1"]}}),
        err("invalid_metadata"),
    )
    v.chain(
        "policy-for-absent-entity-type-ignored",
        "A policy for tokenfed_operator, which the provider does not have, is ignored.",
        ["FED-112"],
        with_ss(
            via,
            2,
            metadata_policy={"tokenfed_operator": {"tokenfed_versions": {"essential": True}}},
        ),
        valid_via,
    )

    # ------------------------------------------------------------------ edges
    type_null = resolved_provider()
    type_null["tokenfed_operator"] = None
    v.chain(
        "metadata-entity-type-null",
        "The provider's EC maps the entity type tokenfed_operator to null.",
        ["FED-018"],
        with_ss(via, 0, metadata=type_null),
        err("invalid_statement"),
    )
    v.chain(
        "typ-other-case",
        "The intermediate's SS has typ Entity-Statement+JWT (CONV-043 compares without case).",
        ["FED-010"],
        edited(
            via, 1, lambda s: setattr(s, "header", {**_header(s), "typ": "Entity-Statement+JWT"})
        ),
        valid_via,
    )
    v.chain(
        "authority-hint-http",
        "The provider's EC lists an http authority hint.",
        ["FED-002", "FED-017"],
        with_ss(via, 0, authority_hints=[MEMBERS_A, "http://members.alliance-a.example"]),
        err("invalid_statement"),
    )
    v.chain(
        "trust-marks-in-ss",
        "The intermediate's SS carries trust_marks (an entity-configuration claim).",
        ["FED-014"],
        with_ss(via, 1, trust_marks=[]),
        err("invalid_statement"),
    )
    v.chain(
        "source-endpoint-fragment",
        "The anchor's SS has a source_endpoint with a fragment.",
        ["FED-013"],
        with_ss(via, 2, source_endpoint=A + "/fetch#x"),
        err("invalid_statement"),
    )
    v.chain(
        "recognition-marker-false",
        "tokenfed_recognition false (the claim's only value is true).",
        ["FED-013"],
        with_ss(via, 2, tokenfed_recognition=False),
        err("schema_violation"),
    )
    v.chain(
        "max-path-length-boolean",
        "max_path_length true.",
        ["FED-040"],
        with_ss(via, 2, constraints={"max_path_length": True}),
        err("schema_violation"),
    )
    v.chain(
        "iat-negative",
        "The provider's EC has iat -1.",
        ["FED-013"],
        with_ss(via, 0, iat=-1),
        err("schema_violation"),
    )
    v.chain(
        "naming-entry-upper-case",
        "A naming constraint entry with an upper-case letter.",
        ["FED-042"],
        with_ss(
            via, 2, constraints={"naming_constraints": {"excluded": ["Evil.alliance-a.example"]}}
        ),
        err("invalid_statement"),
    )
    v.chain(
        "pinned-anchor-jwks-empty",
        "The validator pins anchor A with an empty key set.",
        ["FED-015", "FED-053"],
        via,
        err("invalid_key"),
        anchors=[{"entity_id": A, "jwks": {"keys": []}}],
    )
    two_types = resolved_provider()
    two_types["tokenfed_operator"] = {
        "tokenfed_versions": ["1.0"],
        "entitlement_jwks": document_jwks("operator-b-entitlements"),
    }
    v.chain(
        "two-tokenfed-types",
        "A provider that is also an operator: both types are resolved.",
        ["FED-030", "FED-056"],
        with_ss(via, 0, metadata=two_types),
        result([PROVIDER_A, MEMBERS_A, A], EXP_SS, copy.deepcopy(two_types)),
        entity_type=None,
    )
    v.chain(
        "federation-entity-requested",
        "The provider resolved as a federation_entity (its informational parameters).",
        ["FED-058"],
        via,
        valid_via,
        entity_type="federation_entity",
    )
    v.chain(
        "anchor-with-superior",
        "Anchor B lists A among its superiors; a validator anchored at B stops at B.",
        ["FED-050", "FED-070"],
        [ec(PROVIDER_B), ss(MEMBERS_B, PROVIDER_B), ss(B, MEMBERS_B), ec(B)],
        result(
            [PROVIDER_B, MEMBERS_B, B],
            EXP_SS,
            resolved_provider(PROVIDER_B, "provider-b-receipts"),
        ),
        anchors=[anchor(B)],
    )
    v.chain(
        "ss-override-makes-metadata-invalid",
        "The intermediate's SS overrides the provider's metering_endpoint with an http URL.",
        ["FED-056", "FED-034"],
        with_ss(
            via,
            1,
            metadata={"tokenfed_provider": {"metering_endpoint": "http://provider.example/m"}},
        ),
        err("invalid_metadata"),
    )
    v.chain(
        "ss-metadata-null-value",
        "The intermediate's SS metadata has a null parameter.",
        ["FED-018"],
        with_ss(via, 1, metadata={"tokenfed_provider": {"rate_card_uri": None}}),
        err("invalid_statement"),
    )
    v.chain(
        "excluded-and-no-permitted",
        "An excluded list alone, which the provider's host matches.",
        ["FED-042"],
        with_ss(via, 2, constraints={"naming_constraints": {"excluded": [".alliance-a.example"]}}),
        err("naming_constraint_violated"),
    )

    es_chain = [ec(PROVIDER_A, authority_hints=[ES]), ss(ES, PROVIDER_A), ec(ES)]
    es_tokens = [statement.token() for statement in es_chain]
    es_tokens[1] = _malleated(es_tokens[1], "ES256")
    v.chain(
        "es256-high-s",
        "The ES256 anchor's SS with its signature's twin (r, n - s), a high-S signature.",
        ["FED-053"],
        es_tokens,
        err("invalid_signature"),
        anchors=[anchor(ES)],
    )
    ed_tokens = [statement.token() for statement in via]
    ed_tokens[1] = _malleated(ed_tokens[1], "EdDSA")
    v.chain(
        "ed25519-s-plus-l",
        "The intermediate's SS with S + L in place of S (a malleated Ed25519 signature).",
        ["FED-053"],
        ed_tokens,
        err("invalid_signature"),
    )

    # ------------------------------------------------------------------ the key table
    def keys_vector(
        vector_id: str,
        description: str,
        chain: list[Statement],
        typ: str,
        expected: dict[str, Any],
    ) -> None:
        v.chain(vector_id, description, ["FED-035"], chain, expected, entity_type=None)
        v.items[-1]["input"]["document_typ"] = typ

    keys_vector(
        "keys-receipt-from-provider",
        "A receipt of the provider is verified with its receipt_jwks.",
        via,
        "tokenfed-receipt+jwt",
        {**valid_via, "document_keys": [KEYS["provider-a-receipts"].kid]},
    )
    keys_vector(
        "keys-entitlement-from-operator",
        "An entitlement of B's operator is verified with its entitlement_jwks.",
        cross_operator,
        "tokenfed-entitlement+jwt",
        {
            **result([OPERATOR_B, MEMBERS_B, B, A], EXP_SS, operator_metadata(OPERATOR_B)),
            "document_keys": [KEYS["operator-b-entitlements"].kid],
        },
    )
    keys_vector(
        "keys-receipt-from-operator",
        "Y3: a receipt presented as the operator's: the operator has no tokenfed_provider, so "
        "it is never verified with the operator's entitlement keys.",
        cross_operator,
        "tokenfed-receipt+jwt",
        err("entity_type_absent"),
    )
    keys_vector(
        "keys-unknown-typ",
        "A document typ that is not in the table.",
        via,
        "tokenfed-invoice+jwt",
        err("unsupported_typ"),
    )
    keys_vector(
        "keys-revenue-share-operator",
        "A revenue-share agreement of the operator (no provider type) uses entitlement_jwks.",
        cross_operator,
        "tokenfed-revenue-share+jwt",
        {
            **result([OPERATOR_B, MEMBERS_B, B, A], EXP_SS, operator_metadata(OPERATOR_B)),
            "document_keys": [KEYS["operator-b-entitlements"].kid],
        },
    )


T_ARCHIVED = NOW - 86400 * 90  # when an archived chain was validated
T_ROTATED = NOW - 86400 * 30  # when anchor A stopped signing with its old key
HISTORICAL_TYP = "jwk-set+jwt"


def historical_keys(
    keys: list[dict[str, Any]], *, key: str = "anchor-a-next", **claims: Any
) -> str:
    """Anchor A's historical keys document (FED-150), signed with ``key``."""
    document = {"iss": A, "iat": NOW - 86400, "keys": keys, **claims}
    return jws.sign(document, KEYS[key], HISTORICAL_TYP)


def retired(name: str = "anchor-a", **members: Any) -> dict[str, Any]:
    """A retired federation key as the historical keys document lists it."""
    return public_jwk(name, **{"exp": T_ROTATED, **members})


def history_vectors(v: Vectors) -> None:
    """Archived chains verified months later with the anchor's historical keys (H)."""

    def archived(iat: int = T_ARCHIVED) -> list[Statement]:
        chain = up(PROVIDER_A, MEMBERS_A, A)
        for index in range(len(chain)):
            chain = with_ss(chain, index, iat=iat - 600, exp=iat + 3 * 3600 + index)
        return chain

    def vector(
        vector_id: str,
        description: str,
        requirements: list[str],
        historical: str | None,
        expected: dict[str, Any],
        *,
        chain: list[Statement] | None = None,
        pinned: dict[str, Any] | None = None,
        at: int = T_ARCHIVED,
    ) -> None:
        v.items.append(
            {
                "id": vector_id,
                "description": description,
                "requirements": requirements,
                "input": {
                    "op": "archived",
                    "statements": [s.token() for s in chain or archived()],
                    "anchors": [pinned or anchor(A, "anchor-a-next")],
                    "historical_keys": historical,
                    "now": at,
                    "entity_type": "tokenfed_provider",
                },
                "expected": expected,
            }
        )

    archived_result = result([PROVIDER_A, MEMBERS_A, A], T_ARCHIVED + 3 * 3600, resolved_provider())
    vector(
        "archived-chain-rotated-anchor-key",
        "H1: a chain validated 90 days ago, its anchor statements signed with a key the anchor "
        "retired 30 days ago; the historical keys document lists it and it vouches for its "
        "time.",
        ["FED-153", "FED-154", "FED-156", "FED-157"],
        historical_keys([retired()]),
        archived_result,
    )
    vector(
        "archived-chain-without-historical-keys",
        "H1: the same chain without the historical keys: the retired key is not pinned.",
        ["FED-154", "FED-053"],
        None,
        err("unknown_key"),
    )
    vector(
        "archived-chain-key-compromised",
        "H2: the retired key was revoked as compromised after the chain was signed: it vouches "
        "for nothing.",
        ["FED-155"],
        historical_keys(
            [retired(revoked={"revoked_at": T_ROTATED - 86400, "reason": "compromised"})]
        ),
        err("key_not_valid"),
    )
    vector(
        "archived-chain-key-superseded-later",
        "A key revoked as superseded after the chain's statements were issued still vouches "
        "for them.",
        ["FED-156"],
        historical_keys(
            [retired(revoked={"revoked_at": T_ARCHIVED + 86400, "reason": "superseded"})]
        ),
        archived_result,
    )
    vector(
        "archived-chain-key-revoked-before",
        "A key revoked (reason unspecified) before the chain's statements were issued.",
        ["FED-156"],
        historical_keys([retired(revoked={"revoked_at": T_ARCHIVED - 86400})]),
        err("key_not_valid"),
    )
    vector(
        "archived-chain-after-key-exp",
        "H3: the chain's statements were issued after the retired key's exp.",
        ["FED-156"],
        historical_keys([retired(exp=T_ARCHIVED - 3600)]),
        err("key_not_valid"),
    )
    vector(
        "archived-chain-before-key-nbf",
        "The chain's statements were issued before the retired key's nbf.",
        ["FED-156"],
        historical_keys([retired(nbf=T_ARCHIVED + 3600)]),
        err("key_not_valid"),
    )
    vector(
        "archived-chain-listing-governs-pinned-key",
        "The old key is still pinned but also listed as compromised: the listing governs.",
        ["FED-154", "FED-155"],
        historical_keys([retired(revoked={"revoked_at": T_ROTATED, "reason": "compromised"})]),
        err("key_not_valid"),
        pinned=anchor(A, "anchor-a", "anchor-a-next"),
    )
    vector(
        "archived-chain-pinned-key-window",
        "The anchor's statements are signed with a pinned key whose nbf is after their iat.",
        ["FED-154"],
        None,
        err("key_not_valid"),
        pinned={
            "entity_id": A,
            "jwks": {"keys": [public_jwk("anchor-a", nbf=T_ARCHIVED + 86400)]},
        },
    )
    vector(
        "archived-chain-expired-now",
        "The archived chain is verified at its own time; at today's time it is expired.",
        ["FED-157", "FED-021"],
        historical_keys([retired()]),
        err("statement_expired"),
        at=NOW,
    )
    vector(
        "historical-keys-signed-with-retired-key",
        "The historical keys document is signed with the retired key, not a current one.",
        ["FED-151"],
        historical_keys([retired()], key="anchor-a"),
        err("unknown_key"),
    )
    vector(
        "historical-keys-tampered",
        "One bit of the historical keys document's signature is flipped.",
        ["FED-151"],
        _tampered(historical_keys([retired()])),
        err("invalid_signature"),
    )
    vector(
        "historical-key-without-exp",
        "A listed key has no exp.",
        ["FED-150"],
        historical_keys([public_jwk("anchor-a")]),
        err("invalid_key"),
    )
    vector(
        "historical-key-bad-reason",
        "A listed key is revoked with the reason 'lost'.",
        ["FED-150"],
        historical_keys([retired(revoked={"revoked_at": T_ROTATED, "reason": "lost"})]),
        err("invalid_key"),
    )
    vector(
        "historical-keys-without-keys",
        "The historical keys document has no keys member.",
        ["FED-150"],
        jws.sign({"iss": A, "iat": NOW - 86400}, KEYS["anchor-a-next"], HISTORICAL_TYP),
        err("schema_violation"),
    )
    vector(
        "historical-keys-wrong-typ",
        "The historical keys document has typ entity-statement+jwt.",
        ["FED-150"],
        jws.sign({"iss": A, "iat": NOW - 86400, "keys": [retired()]}, KEYS["anchor-a-next"], TYP),
        err("unsupported_typ"),
    )


P256_N = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
ED25519_L = 2**252 + 27742317777372353535851937790883648493


def _malleated(token: str, alg: str) -> str:
    """The twin signature that the equation accepts and the spec refuses (CONV-071, CONV-073)."""
    head, _, signature = token.rpartition(".")
    raw = _b64decode(signature)
    if alg == "ES256":
        s = P256_N - int.from_bytes(raw[32:], "big")
        twin = raw[:32] + s.to_bytes(32, "big")
    else:
        s = int.from_bytes(raw[32:], "little") + ED25519_L
        twin = raw[:32] + s.to_bytes(32, "little")
    return head + "." + b64encode(twin)


def _tampered(token: str) -> str:
    head, _, signature = token.rpartition(".")
    raw = bytearray(_b64decode(signature))
    raw[0] ^= 0x01
    return head + "." + b64encode(bytes(raw))


def _header(statement: Statement) -> dict[str, Any]:
    signer = KEYS[statement.key]
    return dict(statement.header or {"alg": signer.alg, "typ": TYP, "kid": signer.kid})


def _without_member(value: dict[str, Any], name: str) -> dict[str, Any]:
    return {key: item for key, item in value.items() if key != name}


def _edit_provider(edit: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    metadata = resolved_provider()
    edit(metadata["tokenfed_provider"])
    return metadata


def _two_intermediates() -> list[Statement]:
    chain = up(PROVIDER_A, CHAIN_IDS[3], CHAIN_IDS[4], A)
    chain[0] = ec(PROVIDER_A, authority_hints=[CHAIN_IDS[3]])
    return chain


def _set(metadata: dict[str, Any], name: str, value: Any) -> dict[str, Any]:
    metadata["tokenfed_provider"][name] = value
    return metadata


def _without(metadata: dict[str, Any], name: str) -> dict[str, Any]:
    del metadata["tokenfed_provider"][name]
    return metadata


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail if the file would change")
    args = parser.parse_args()
    text = json.dumps(build(), indent=1, ensure_ascii=False) + "\n"
    if args.check:
        current = OUT.read_text(encoding="utf-8") if OUT.exists() else ""
        if _without_es256(current) != _without_es256(text):
            print(f"{OUT} is out of date; run {Path(__file__).name}", file=sys.stderr)
            return 1
        return 0
    OUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUT}")
    return 0


def _without_es256(text: str) -> Any:
    """ES256 signatures are randomized: compare files with the ES256 anchor's signatures
    blanked."""
    if not text:
        return None
    data = json.loads(text)
    for item in data["vectors"]:
        if item["id"] in ("valid-es256-anchor", "es256-high-s"):
            item["input"]["statements"] = [
                token.rpartition(".")[0] for token in item["input"]["statements"]
            ]
    return data


if __name__ == "__main__":
    sys.exit(main())
