"""Profile ``federation-entity``: trust-chain validation (federation chapter).

Static cases: every chain vector of ``spec/vectors/federation.json``, through the operation
``validate-chain``. Generated cases: chains the suite builds and signs itself with fresh keys
from the seed (an anchor, an intermediate, providers and operators of two alliances), presented
intact and with one deliberate defect each, whose code the defect fixes.
"""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from .._codec import b64d, b64e, jcs
from .._crypto import SuiteKey
from .._federation import (
    LEEWAY,
    MAX_LIFETIME,
    entity_jwks,
    sign_statement,
    signing_keys_jwks,
)
from ..cases import Call, Case, Expect
from ..vectors import Vector, load_vectors, vector_kinds
from ._common import seeded, skip_vector, vector_case

__all__ = ["OP", "OP_POLICY", "OP_SELECT", "POLICY_FEATURE", "PROFILE", "build"]

PROFILE = "federation-entity"
"""The profile's name."""
OP = "validate-chain"
"""The operation of a chain validation (PROTOCOL.md 6.17)."""
OP_SELECT = "select-chain"
"""The operation of a path selection (PROTOCOL.md 6.18)."""
OP_POLICY = "apply-policy"
"""The optional operation of the metadata-policy vectors (PROTOCOL.md 6.22)."""
OP_ARCHIVED = "verify-archived-chain"
"""The operation of an archived chain verified at a past time (PROTOCOL.md 6.23)."""
OP_HISTORICAL = "verify-historical-keys"
"""The operation of a historical keys document (PROTOCOL.md 6.24)."""
POLICY_FEATURE = "apply-policy"
"""The metadata-policy vectors run only for an adapter that lists ``apply-policy``."""
_RESULT = ("trust_anchor", "path", "exp", "metadata")

# Requirement IDs of the federation chapter, by the rule a case checks.
R: dict[str, tuple[str, ...]] = {
    "chain": ("FED-050", "FED-059"),
    "time": ("FED-021", "FED-054"),
    "lifetime": ("FED-016",),
    "jose": ("FED-010", "FED-053"),
    "keys": ("FED-015",),
    "superior-keys": ("FED-053",),
    "well-formed": ("FED-051",),
    "claims": ("FED-014", "FED-022"),
    "header": ("FED-011",),
    "null": ("FED-018",),
    "policy-crit": ("FED-019",),
    "hints": ("FED-017", "FED-072"),
    "leaf-endpoints": ("FED-020",),
    "path-length": ("FED-050",),
    "max-path-length": ("FED-041", "FED-055"),
    "naming": ("FED-042", "FED-055"),
    "entity-types": ("FED-043", "FED-058"),
    "entity-type-absent": ("FED-058",),
    "recognition": ("FED-060",),
    "no-pooling": ("FED-059", "FED-053"),
    "expiry": ("FED-054",),
    "metadata": ("FED-056",),
}


# --------------------------------------------------------------------------- static vectors


def _vector_cases() -> list[Case]:
    if "federation" not in vector_kinds():
        return []
    cases = []
    for vector in load_vectors("federation"):
        source = f"spec/vectors/federation.json#{vector.id}"
        data = vector.input
        if data.get("op") == "archived":
            cases.append(_archived_case(vector))
            continue
        op = {"validate": OP, "select": OP_SELECT}.get(data.get("op", "validate"))
        chains = "statements" if op == OP else "candidates"
        if op is None or not isinstance(data.get(chains), list) or "anchors" not in data:
            skip_vector(source, "not a chain vector (no statements or candidates and anchors)")
            continue
        call_input = {
            chains: data[chains],
            "anchors": data["anchors"],
            "now": data["now"],
            "entity_type": data.get("entity_type"),
        }
        if "document_typ" in data:
            call_input["document_typ"] = data["document_typ"]
        if vector.error is not None:
            expect = Expect(error=vector.error)
        else:
            members = _RESULT + (("chosen",) if op == OP_SELECT else ("document_keys",))
            expect = Expect(output={k: vector.expected[k] for k in members if k in vector.expected})
        cases.append(vector_case(PROFILE, "federation", vector, op, call_input, expect))
    return cases


def _archived_case(vector: Vector) -> Case:
    """A federation vector of an archived chain, in the form of the history vectors."""
    data = vector.input
    (anchor,) = data["anchors"]
    call_input = {
        "chain": json.dumps(data["statements"]),
        "anchor": anchor,
        "historical": data["historical_keys"],
        "at": data["now"],
        "entity_type": data.get("entity_type"),
    }
    expect = (
        Expect(error=vector.error)
        if vector.error is not None
        else Expect(output={k: vector.expected[k] for k in _RESULT if k in vector.expected})
    )
    return vector_case(PROFILE, "federation", vector, OP_ARCHIVED, call_input, expect)


def _history_cases() -> list[Case]:
    """Historical keys documents and archived chains (FED-150..FED-157)."""
    if "history" not in vector_kinds():
        return []
    cases = []
    for vector in load_vectors("history"):
        data = dict(vector.input)
        op = {"historical-keys": OP_HISTORICAL, "archived-chain": OP_ARCHIVED}.get(data.pop("op"))
        if op is None:
            skip_vector(f"spec/vectors/history.json#{vector.id}", "unknown history op")
            continue
        expect = (
            Expect(error=vector.error)
            if vector.error is not None
            else Expect(output=dict(vector.expected))
        )
        cases.append(vector_case(PROFILE, "history", vector, op, data, expect))
    return cases


def _policy_cases() -> list[Case]:
    """The metadata-policy vectors (merge, apply, resolve), for an adapter that offers
    ``apply-policy``; chains with policies are in the chain vectors either way."""
    if "policy" not in vector_kinds():
        return []
    cases = []
    for vector in load_vectors("policy"):
        if vector.input.get("op") not in {"merge", "apply", "resolve"}:
            skip_vector(f"spec/vectors/policy.json#{vector.id}", "unknown policy op")
            continue
        expect = (
            Expect(error=vector.error)
            if vector.error is not None
            else Expect(output=dict(vector.expected))
        )
        case = vector_case(PROFILE, "policy", vector, OP_POLICY, dict(vector.input), expect)
        cases.append(replace(case, optional_feature=POLICY_FEATURE))
    return cases


# --------------------------------------------------------------------------- the suite's chains


@dataclass(frozen=True)
class _Entity:
    entity_id: str
    key: SuiteKey  # its federation key
    document_key: SuiteKey  # the key of its *_jwks member (never a federation key)

    @property
    def jwks(self) -> dict[str, Any]:
        return signing_keys_jwks([self.key])

    def anchor(self) -> dict[str, Any]:
        """This entity as a pinned trust anchor (entity id and its federation keys)."""
        return {"entity_id": self.entity_id, "jwks": self.jwks}


class _World:
    """Two alliances built from one seed: anchors A and B, an intermediate under A, a provider
    and an operator under it, and a provider under B (which A recognises)."""

    def __init__(self, rng: random.Random, alg: str, now: int) -> None:
        def entity(entity_id: str) -> _Entity:
            return _Entity(entity_id, SuiteKey.generate(rng, alg), SuiteKey.generate(rng, alg))

        self.now = now
        self.rng = rng
        self.a = entity("https://anchor.alliance-a.example")
        self.i = entity("https://org.alliance-a.example")
        self.p = entity("https://tokens.org.alliance-a.example")
        self.o = entity("https://subscribers.org.alliance-a.example")
        self.b = entity("https://anchor.alliance-b.example")
        self.pb = entity("https://tokens.provider.alliance-b.example")
        self.iat = now - 600
        self.exp = now + 3600

    # Metadata by entity type, as the federation chapter defines it (FED-030).
    def authority_metadata(self, who: _Entity) -> dict[str, Any]:
        base = who.entity_id
        return {
            "federation_entity": {
                "federation_fetch_endpoint": f"{base}/fetch",
                "federation_list_endpoint": f"{base}/list",
                "federation_historical_keys_endpoint": f"{base}/historical-keys",
            }
        }

    def provider_metadata(self, who: _Entity) -> dict[str, Any]:
        return {
            "tokenfed_provider": {
                "tokenfed_versions": ["1.0"],
                "receipt_jwks": entity_jwks([who.document_key], nbf=self.now - 30 * 86400),
                "metering_endpoint": f"{who.entity_id}/metering",
                "rate_card_uri": f"{who.entity_id}/rate-card",
            }
        }

    def operator_metadata(self, who: _Entity) -> dict[str, Any]:
        return {
            "tokenfed_operator": {
                "tokenfed_versions": ["1.0"],
                "entitlement_jwks": entity_jwks([who.document_key], nbf=self.now - 30 * 86400),
                "receipt_intake_endpoint": f"{who.entity_id}/receipts",
            }
        }

    def ec_claims(
        self, who: _Entity, metadata: dict[str, Any], hints: Sequence[str] | None
    ) -> dict[str, Any]:
        claims: dict[str, Any] = {
            "iss": who.entity_id,
            "sub": who.entity_id,
            "iat": self.iat,
            "exp": self.exp,
            "jwks": who.jwks,
            "metadata": metadata,
        }
        if hints is not None:
            claims["authority_hints"] = list(hints)
        return claims

    def ss_claims(self, issuer: _Entity, subject: _Entity, **extra: Any) -> dict[str, Any]:
        return {
            "iss": issuer.entity_id,
            "sub": subject.entity_id,
            "iat": self.iat,
            "exp": self.exp,
            "jwks": subject.jwks,
            "source_endpoint": f"{issuer.entity_id}/fetch",
            **extra,
        }

    def recognition(self) -> dict[str, Any]:
        """The constraints of A's statement about B (cross-anchor recognition)."""
        return {
            "tokenfed_recognition": True,
            "constraints": {
                "max_path_length": 1,
                "naming_constraints": {"permitted": [".alliance-b.example"]},
                "allowed_entity_types": ["tokenfed_provider"],
            },
        }


def _sign(who: _Entity, claims: dict[str, Any], **header: Any) -> str:
    return sign_statement(who.key, claims, extra_header=header or None)


def _tamper(token: str) -> str:
    """The payload changed after signing: one claim more (``exp`` one second earlier)."""
    head, payload, signature = token.split(".")
    claims = json.loads(b64d(payload))
    claims["exp"] -= 1
    return f"{head}.{b64e(jcs(claims))}.{signature}"


@dataclass(frozen=True)
class _Chain:
    """What one case hands to ``validate-chain``, and the result it expects."""

    name: str
    reason: str
    requirements: tuple[str, ...]
    statements: list[str]
    anchors: list[dict[str, Any]]
    now: int
    entity_type: str | None
    error: str | None = None
    output: dict[str, Any] | None = None

    def case(self) -> Case:
        requirements = tuple(dict.fromkeys(self.requirements))
        data = {
            "statements": self.statements,
            "anchors": self.anchors,
            "now": self.now,
            "entity_type": self.entity_type,
        }
        expect = Expect(error=self.error) if self.error else Expect(output=self.output)
        return Case(
            id=f"{PROFILE}/gen/{self.name}",
            profile=PROFILE,
            requirements=requirements,
            reason=self.reason,
            calls=(Call(OP, data, expect),),
            source="generated",
        )


def _leaf_chain(w: _World, alg: str) -> list[_Chain]:
    """Provider P under intermediate I under anchor A; P's receipts come from its
    ``receipt_jwks``. One valid chain and its defects."""
    p_meta = w.provider_metadata(w.p)
    ec_p = w.ec_claims(w.p, p_meta, [w.i.entity_id])
    ss_ip = w.ss_claims(w.i, w.p)
    ss_ai = w.ss_claims(w.a, w.i)
    ec_a = w.ec_claims(w.a, w.authority_metadata(w.a), None)
    anchors = [w.a.anchor()]
    path = [w.p.entity_id, w.i.entity_id, w.a.entity_id]

    def chain(
        ec: dict[str, Any] = ec_p,
        ip: dict[str, Any] = ss_ip,
        ai: dict[str, Any] = ss_ai,
        a: dict[str, Any] = ec_a,
    ) -> list[str]:
        return [_sign(w.p, ec), _sign(w.i, ip), _sign(w.a, ai), _sign(w.a, a)]

    ok = {
        "trust_anchor": w.a.entity_id,
        "path": path,
        "exp": w.exp,
        "metadata": p_meta,
    }
    t = f"-{alg.lower()}"
    valid = chain()
    out = [
        _Chain(
            f"leaf-intermediate-anchor{t}",
            "a provider under an intermediate under the pinned anchor: the chain validates and "
            "the result names the anchor, the path and the provider's metadata",
            R["chain"] + R["metadata"],
            valid,
            anchors,
            w.now,
            "tokenfed_provider",
            output=ok,
        ),
    ]
    early = w.now + 1800
    out.append(
        _Chain(
            f"exp-is-minimum{t}",
            "the chain's exp is the minimum exp of its statements",
            R["expiry"],
            chain(ai=dict(ss_ai, exp=early)),
            anchors,
            w.now,
            "tokenfed_provider",
            output=dict(ok, exp=early),
        )
    )
    # Time (leeway 60 s): exp + leeway <= now is expired; iat > now + leeway is not yet valid.
    out += [
        _Chain(
            f"ss-expired-at-leeway{t}",
            "an intermediate statement whose exp + 60 s leeway equals now is expired",
            R["time"],
            chain(ip=dict(ss_ip, exp=w.now - LEEWAY, iat=w.now - LEEWAY - 3600)),
            anchors,
            w.now,
            "tokenfed_provider",
            error="statement_expired",
        ),
        _Chain(
            f"ss-within-leeway{t}",
            "a statement that expired less than the 60 s leeway ago still validates (the "
            "chain's exp is its exp)",
            R["time"] + R["expiry"],
            chain(ip=dict(ss_ip, exp=w.now - LEEWAY + 1, iat=w.now - 3600)),
            anchors,
            w.now,
            "tokenfed_provider",
            output=dict(ok, exp=w.now - LEEWAY + 1),
        ),
        _Chain(
            f"leaf-ec-not-yet-valid{t}",
            "the leaf's configuration is issued more than the 60 s leeway in the future",
            R["time"],
            chain(ec=dict(ec_p, iat=w.now + LEEWAY + 1, exp=w.now + 7200)),
            anchors,
            w.now,
            "tokenfed_provider",
            error="statement_not_yet_valid",
        ),
        _Chain(
            f"lifetime-over-24h{t}",
            "a subordinate statement living one second more than 24 hours breaks the profile",
            R["lifetime"],
            chain(ai=dict(ss_ai, iat=w.now - 10, exp=w.now - 10 + MAX_LIFETIME + 1)),
            anchors,
            w.now,
            "tokenfed_provider",
            error="invalid_statement",
        ),
    ]
    # Signatures and keys.
    tampered = chain()
    tampered[1] = _tamper(tampered[1])
    substitute = SuiteKey.generate(w.rng, alg)
    ss_ip_by_other_key = sign_statement(substitute, ss_ip)
    stranger = SuiteKey.generate(w.rng, alg)
    out += [
        _Chain(
            f"ss-signature-tampered{t}",
            "the intermediate's statement was changed after signing",
            R["jose"],
            tampered,
            anchors,
            w.now,
            "tokenfed_provider",
            error="invalid_signature",
        ),
        _Chain(
            f"ss-key-substitution{t}",
            "the intermediate signs with a key its own configuration could list but the "
            "anchor's statement about it does not: statements verify only with the keys the "
            "superior attests",
            R["superior-keys"],
            [_sign(w.p, ec_p), ss_ip_by_other_key, _sign(w.a, ss_ai), _sign(w.a, ec_a)],
            anchors,
            w.now,
            "tokenfed_provider",
            error="unknown_key",
        ),
        _Chain(
            f"anchor-signed-by-unpinned-key{t}",
            "the anchor's statement is signed with a key the anchor publishes but the verifier "
            "did not pin",
            R["superior-keys"],
            [
                _sign(w.p, ec_p),
                _sign(w.i, ss_ip),
                sign_statement(stranger, ss_ai),
                sign_statement(stranger, dict(ec_a, jwks=signing_keys_jwks([w.a.key, stranger]))),
            ],
            anchors,
            w.now,
            "tokenfed_provider",
            error="unknown_key",
        ),
        _Chain(
            f"wrong-typ{t}",
            "the intermediate's statement has typ JWT instead of entity-statement+jwt",
            R["jose"],
            [
                _sign(w.p, ec_p),
                _typed(w.i.key, ss_ip, "JWT"),
                _sign(w.a, ss_ai),
                _sign(w.a, ec_a),
            ],
            anchors,
            w.now,
            "tokenfed_provider",
            error="unsupported_typ",
        ),
        _Chain(
            f"kid-not-thumbprint{t}",
            "the key the anchor attests for the intermediate has a kid that is not its thumbprint",
            R["keys"],
            chain(ai=dict(ss_ai, jwks={"keys": [dict(w.i.key.public_jwk(), kid="i-1")]})),
            anchors,
            w.now,
            "tokenfed_provider",
            error="invalid_key",
        ),
        _Chain(
            f"private-key-in-jwks{t}",
            "the leaf's configuration publishes its private key in jwks",
            R["keys"],
            chain(ec=dict(ec_p, jwks={"keys": [w.p.key.private_jwk()]})),
            anchors,
            w.now,
            "tokenfed_provider",
            error="invalid_key",
        ),
        _Chain(
            f"trust-chain-header{t}",
            "a statement carrying a trust_chain header (forbidden in statements)",
            R["header"],
            [
                _sign(w.p, ec_p, trust_chain=["x.y.z"]),
                _sign(w.i, ss_ip),
                _sign(w.a, ss_ai),
                _sign(w.a, ec_a),
            ],
            anchors,
            w.now,
            "tokenfed_provider",
            error="invalid_statement",
        ),
    ]
    # Structure.
    out += [
        _Chain(
            f"hint-missing{t}",
            "the intermediate's statement about the provider, though the provider's "
            "authority_hints do not name the intermediate",
            R["well-formed"],
            chain(ec=dict(ec_p, authority_hints=["https://other.alliance-a.example"])),
            anchors,
            w.now,
            "tokenfed_provider",
            error="chain_not_well_formed",
        ),
        _Chain(
            f"iss-sub-mismatch{t}",
            "the statements do not link: the anchor's statement is about another entity than "
            "the issuer of the statement below it",
            R["well-formed"],
            chain(ai=dict(ss_ai, sub="https://org2.alliance-a.example")),
            anchors,
            w.now,
            "tokenfed_provider",
            error="chain_not_well_formed",
        ),
        _Chain(
            f"constraints-in-ec{t}",
            "constraints in an entity configuration (a subordinate-statement claim)",
            R["claims"],
            chain(ec=dict(ec_p, constraints={"max_path_length": 0})),
            anchors,
            w.now,
            "tokenfed_provider",
            error="invalid_statement",
        ),
        _Chain(
            f"authority-hints-in-ss{t}",
            "authority_hints in a subordinate statement (an entity-configuration claim)",
            R["claims"],
            chain(ip=dict(ss_ip, authority_hints=[w.a.entity_id])),
            anchors,
            w.now,
            "tokenfed_provider",
            error="invalid_statement",
        ),
        _Chain(
            f"empty-authority-hints{t}",
            "authority_hints [] in the leaf's configuration",
            R["hints"],
            chain(ec=dict(ec_p, authority_hints=[])),
            anchors,
            w.now,
            "tokenfed_provider",
            error="invalid_statement",
        ),
        _Chain(
            f"null-metadata-value{t}",
            "a null metadata value in the leaf's configuration",
            R["null"],
            chain(
                ec=dict(
                    ec_p,
                    metadata={
                        "tokenfed_provider": dict(p_meta["tokenfed_provider"], rate_card_uri=None)
                    },
                )
            ),
            anchors,
            w.now,
            "tokenfed_provider",
            error="invalid_statement",
        ),
        _Chain(
            f"metadata-policy-crit{t}",
            "metadata_policy_crit in a subordinate statement (tokenfed defines no extra operator)",
            R["policy-crit"],
            chain(ai=dict(ss_ai, metadata_policy_crit=["regexp"])),
            anchors,
            w.now,
            "tokenfed_provider",
            error="invalid_statement",
        ),
        _Chain(
            f"leaf-publishes-fetch{t}",
            "a provider (a leaf) publishes a fetch endpoint",
            R["leaf-endpoints"],
            chain(
                ec=dict(
                    ec_p,
                    metadata={
                        **p_meta,
                        "federation_entity": {
                            "federation_fetch_endpoint": f"{w.p.entity_id}/fetch"
                        },
                    },
                )
            ),
            anchors,
            w.now,
            "tokenfed_provider",
            error="invalid_statement",
        ),
        _Chain(
            f"nine-authority-hints{t}",
            "nine authority_hints (at most eight)",
            R["hints"],
            chain(
                ec=dict(
                    ec_p,
                    authority_hints=[w.i.entity_id]
                    + [f"https://org{n}.alliance-a.example" for n in range(2, 10)],
                )
            ),
            anchors,
            w.now,
            "tokenfed_provider",
            error="invalid_statement",
        ),
    ]
    # Entity types.
    out += [
        _Chain(
            f"entity-type-absent{t}",
            "a provider's chain asked for operator metadata (a receipt verified against an "
            "operator)",
            R["entity-type-absent"],
            valid,
            anchors,
            w.now,
            "tokenfed_operator",
            error="entity_type_absent",
        ),
        _Chain(
            f"entity-type-removed{t}",
            "the anchor allows only operators below the intermediate: the provider type is "
            "removed and asking for it fails",
            R["entity-types"],
            chain(ai=dict(ss_ai, constraints={"allowed_entity_types": ["tokenfed_operator"]})),
            anchors,
            w.now,
            "tokenfed_provider",
            error="entity_type_not_allowed",
        ),
        _Chain(
            f"max-path-length-zero{t}",
            "the anchor allows no intermediate below the intermediate it recognises "
            "(max_path_length 0 counts the statement's subject): provider P is one too deep",
            R["max-path-length"],
            chain(ai=dict(ss_ai, constraints={"max_path_length": 0})),
            anchors,
            w.now,
            "tokenfed_provider",
            error="max_path_length_exceeded",
        ),
        _Chain(
            f"max-path-length-one{t}",
            "max_path_length 1 in the anchor's statement about the intermediate allows the "
            "intermediate itself and its direct leaves",
            R["max-path-length"],
            chain(ai=dict(ss_ai, constraints={"max_path_length": 1})),
            anchors,
            w.now,
            "tokenfed_provider",
            output=ok,
        ),
        _Chain(
            f"naming-outside-permitted{t}",
            "the anchor permits only hosts under .alliance-a.example below the intermediate; "
            "the provider's host is tokens.org.alliance-a.example.net",
            R["naming"],
            _renamed_leaf(w, "https://tokens.org.alliance-a.example.net", ss_ai),
            anchors,
            w.now,
            "tokenfed_provider",
            error="naming_constraint_violated",
        ),
        _Chain(
            f"naming-excluded-wins{t}",
            "the provider's host is both permitted and excluded: excluded wins",
            R["naming"],
            chain(
                ai=dict(
                    ss_ai,
                    constraints={
                        "naming_constraints": {
                            "permitted": [".alliance-a.example"],
                            "excluded": ["tokens.org.alliance-a.example"],
                        }
                    },
                )
            ),
            anchors,
            w.now,
            "tokenfed_provider",
            error="naming_constraint_violated",
        ),
        _Chain(
            f"naming-dot-is-not-apex{t}",
            "the anchor permits .org.alliance-a.example (subdomains only): the intermediate "
            "org.alliance-a.example itself is outside",
            R["naming"],
            chain(
                ai=dict(
                    ss_ai,
                    constraints={"naming_constraints": {"permitted": [".org.alliance-a.example"]}},
                )
            ),
            anchors,
            w.now,
            "tokenfed_provider",
            error="naming_constraint_violated",
        ),
        _Chain(
            f"naming-within-permitted{t}",
            "every entity below the anchor's statement has a host under .alliance-a.example",
            R["naming"],
            chain(
                ai=dict(
                    ss_ai,
                    constraints={"naming_constraints": {"permitted": [".alliance-a.example"]}},
                )
            ),
            anchors,
            w.now,
            "tokenfed_provider",
            output=ok,
        ),
    ]
    return out


def _renamed_leaf(w: _World, entity_id: str, ss_ai: dict[str, Any]) -> list[str]:
    leaf = _Entity(entity_id, w.p.key, w.p.document_key)
    ec = w.ec_claims(leaf, w.provider_metadata(leaf), [w.i.entity_id])
    ai = dict(ss_ai, constraints={"naming_constraints": {"permitted": [".alliance-a.example"]}})
    return [
        _sign(leaf, ec),
        _sign(w.i, w.ss_claims(w.i, leaf)),
        _sign(w.a, ai),
        _sign(w.a, w.ec_claims(w.a, w.authority_metadata(w.a), None)),
    ]


def _typed(key: SuiteKey, claims: dict[str, Any], typ: str) -> str:
    from .._crypto import compact

    return compact(key, jcs(claims), typ)


def _path_chains(w: _World, alg: str) -> list[_Chain]:
    """Chain length and the anchors' keys kept apart."""
    t = f"-{alg.lower()}"
    rng = w.rng
    # Five intermediates: I1 under A, I2 under I1, ...; the provider under I5.
    chain_entities = [
        _Entity(f"https://i{n}.alliance-a.example", SuiteKey.generate(rng, alg), w.i.document_key)
        for n in range(1, 6)
    ]
    leaf = _Entity("https://tokens.i5.alliance-a.example", w.p.key, w.p.document_key)
    below = [leaf, *reversed(chain_entities)]  # leaf, I5, ..., I1
    statements = [_sign(leaf, w.ec_claims(leaf, w.provider_metadata(leaf), [below[1].entity_id]))]
    for lower, upper in zip(below, [*below[1:], w.a], strict=True):
        statements.append(_sign(upper, w.ss_claims(upper, lower)))
    statements.append(_sign(w.a, w.ec_claims(w.a, w.authority_metadata(w.a), None)))
    out = [
        _Chain(
            f"five-intermediates{t}",
            "five intermediates between the provider and the anchor (at most four)",
            R["path-length"],
            statements,
            [w.a.anchor()],
            w.now,
            "tokenfed_provider",
            error="path_too_long",
        )
    ]
    # No pooling: a statement of A signed by B's pinned key, with both anchors configured.
    p_meta = w.provider_metadata(w.p)
    direct = _Entity(w.p.entity_id, w.p.key, w.p.document_key)
    ec_p = w.ec_claims(direct, p_meta, [w.a.entity_id])
    ss_ap = w.ss_claims(w.a, direct)
    ec_a = w.ec_claims(w.a, w.authority_metadata(w.a), None)
    pooled = [
        _sign(direct, ec_p),
        sign_statement(w.b.key, ss_ap),
        _sign(w.a, ec_a),
    ]
    out += [
        _Chain(
            f"leaf-under-anchor{t}",
            "a provider directly under the anchor",
            R["chain"],
            [_sign(direct, ec_p), _sign(w.a, ss_ap), _sign(w.a, ec_a)],
            [w.a.anchor(), w.b.anchor()],
            w.now,
            "tokenfed_provider",
            output={
                "trust_anchor": w.a.entity_id,
                "path": [w.p.entity_id, w.a.entity_id],
                "exp": w.exp,
                "metadata": p_meta,
            },
        ),
        _Chain(
            f"anchor-keys-not-pooled{t}",
            "anchor A's statement about the provider is signed with anchor B's pinned key; "
            "both anchors are configured, but A's statements verify only with A's keys",
            R["no-pooling"],
            pooled,
            [w.a.anchor(), w.b.anchor()],
            w.now,
            "tokenfed_provider",
            error="unknown_key",
        ),
    ]
    return out


def _recognition_chains(w: _World, alg: str) -> list[_Chain]:
    """Alliance A recognises alliance B: provider PB under anchor B, B under A."""
    t = f"-{alg.lower()}"
    pb_meta = w.provider_metadata(w.pb)
    ec_pb = w.ec_claims(w.pb, pb_meta, [w.b.entity_id])
    ss_b_pb = w.ss_claims(w.b, w.pb)
    ss_a_b = w.ss_claims(w.a, w.b, **w.recognition())
    ec_a = w.ec_claims(w.a, w.authority_metadata(w.a), None)

    def chain(
        pb: dict[str, Any] = ec_pb,
        b_pb: dict[str, Any] = ss_b_pb,
        a_b: dict[str, Any] = ss_a_b,
    ) -> list[str]:
        return [_sign(w.pb, pb), _sign(w.b, b_pb), _sign(w.a, a_b), _sign(w.a, ec_a)]

    recognised = w.recognition()["constraints"]
    return [
        _Chain(
            f"cross-anchor{t}",
            "anchor A recognises anchor B with the three constraints; B's provider resolves "
            "under A, and the result names A and the path through B",
            R["recognition"],
            chain(),
            [w.a.anchor()],
            w.now,
            "tokenfed_provider",
            output={
                "trust_anchor": w.a.entity_id,
                "path": [w.pb.entity_id, w.b.entity_id, w.a.entity_id],
                "exp": w.exp,
                "metadata": pb_meta,
            },
        ),
        _Chain(
            f"cross-anchor-type-not-recognised{t}",
            "A recognises only B's providers; B's entity asked for as an operator is refused",
            R["recognition"] + R["entity-types"],
            chain(
                pb=dict(ec_pb, metadata={**pb_meta, **w.operator_metadata(w.pb)}),
            ),
            [w.a.anchor()],
            w.now,
            "tokenfed_operator",
            error="entity_type_not_allowed",
        ),
        _Chain(
            f"cross-anchor-max-path-length{t}",
            "A's recognition of B has max_path_length 1, which counts B itself: an "
            "intermediate under B is one too many",
            R["recognition"] + R["max-path-length"],
            _under_b_intermediate(w, ec_a, ss_a_b),
            [w.a.anchor()],
            w.now,
            "tokenfed_provider",
            error="max_path_length_exceeded",
        ),
        _Chain(
            f"cross-anchor-naming{t}",
            "A's recognition permits .alliance-b.example only; B's subordinate on another "
            "domain is outside",
            R["recognition"] + R["naming"],
            _b_subordinate_renamed(w, "https://tokens.elsewhere.example", ec_a, ss_a_b),
            [w.a.anchor()],
            w.now,
            "tokenfed_provider",
            error="naming_constraint_violated",
        ),
        _Chain(
            f"cross-anchor-without-constraints{t}",
            "A's recognition statement about anchor B lacks max_path_length: a recognition "
            "statement carries all three constraints",
            R["recognition"],
            chain(
                a_b=dict(
                    ss_a_b,
                    constraints={k: v for k, v in recognised.items() if k != "max_path_length"},
                )
            ),
            [w.a.anchor()],
            w.now,
            "tokenfed_provider",
            error="invalid_statement",
        ),
    ]


def _under_b_intermediate(w: _World, ec_a: dict[str, Any], ss_a_b: dict[str, Any]) -> list[str]:
    ib = _Entity("https://org.alliance-b.example", SuiteKey.generate(w.rng, w.b.key.alg), w.b.key)
    leaf = _Entity("https://tokens.org.alliance-b.example", w.pb.key, w.pb.document_key)
    return [
        _sign(leaf, w.ec_claims(leaf, w.provider_metadata(leaf), [ib.entity_id])),
        _sign(ib, w.ss_claims(ib, leaf)),
        _sign(w.b, w.ss_claims(w.b, ib)),
        _sign(w.a, ss_a_b),
        _sign(w.a, ec_a),
    ]


def _b_subordinate_renamed(
    w: _World, entity_id: str, ec_a: dict[str, Any], ss_a_b: dict[str, Any]
) -> list[str]:
    leaf = _Entity(entity_id, w.pb.key, w.pb.document_key)
    return [
        _sign(leaf, w.ec_claims(leaf, w.provider_metadata(leaf), [w.b.entity_id])),
        _sign(w.b, w.ss_claims(w.b, leaf)),
        _sign(w.a, ss_a_b),
        _sign(w.a, ec_a),
    ]


def build(seed: int) -> list[Case]:
    """Every case of the profile: the spec vectors, then the generated cases of ``seed``."""
    rng = seeded(PROFILE, seed)
    now = 1_798_000_000 + rng.randrange(0, 86400)
    generated: list[_Chain] = []
    for alg in ("EdDSA", "ES256"):
        world = _World(rng, alg, now)
        generated += _leaf_chain(world, alg) + _path_chains(world, alg)
        generated += _recognition_chains(world, alg)
    source = f"generated (seed {seed})"
    cases = _vector_cases() + _history_cases() + _policy_cases()
    return cases + [replace(c.case(), source=source) for c in generated]
