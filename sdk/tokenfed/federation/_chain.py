"""Trust chains: validation (FED-050..FED-059), the key table (FED-035), path selection (FED-071).

A trust chain is ``ES[0..m]``: the subject's entity configuration, one subordinate statement per
hop upwards, the trust anchor's entity configuration last (OpenID Federation 1.1 section 4).
:func:`validate_chain` runs the steps of FED-050 in order and reports the code of the first that
fails; the only way to obtain a :class:`TrustChain` is to pass them all.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .. import _jws
from ..errors import (
    ChainNotWellFormedError,
    EntityTypeAbsentError,
    EntityTypeNotAllowedError,
    InvalidKeyError,
    InvalidMetadataError,
    InvalidStatementError,
    NoTrustPathError,
    PathTooLongError,
    SchemaViolationError,
    StatementExpiredError,
    StatementNotYetValidError,
    UnknownKeyError,
    UnsupportedTypError,
)
from ..keys import KeySet, PublicKey, load_public_jwk
from ._constraints import check_constraints, strip_entity_types
from ._ids import is_https_url
from ._policy import apply_policy, merge_policies
from ._statements import (
    LEEWAY,
    MAX_STATEMENTS,
    TOKENFED_ENTITY_TYPES,
    EntityStatement,
    TrustAnchor,
)

__all__ = [
    "KEY_MEMBERS",
    "KEY_TABLE",
    "TRUST_CHAIN_MEDIA_TYPE",
    "TRUST_MARK_TYP",
    "TrustChain",
    "check_metadata",
    "select_chain",
    "validate_chain",
    "verify_trust_mark",
]

TRUST_CHAIN_MEDIA_TYPE = "application/trust-chain+json"
"""Media type of a trust chain as a JSON array of compact statements (section 4, FED-059)."""

KEY_MEMBERS: Mapping[str, str] = {
    "tokenfed_provider": "receipt_jwks",
    "tokenfed_operator": "entitlement_jwks",
    "tokenfed_clearing_house": "statement_jwks",
}
"""The REQUIRED key-set member of each tokenfed entity type (FED-032)."""

_PROVIDER = ("tokenfed_provider", "receipt_jwks")
_OPERATOR = ("tokenfed_operator", "entitlement_jwks")
_CLEARING = ("tokenfed_clearing_house", "statement_jwks")

KEY_TABLE: Mapping[str, tuple[tuple[str, str], ...]] = {
    "tokenfed-receipt+jwt": (_PROVIDER,),
    "tokenfed-receipt-batch+jwt": (_PROVIDER,),
    "tokenfed-rate-card+jwt": (_PROVIDER,),
    "tokenfed-settlement-statement+jwt": (_PROVIDER, _CLEARING),
    "tokenfed-entitlement+jwt": (_OPERATOR,),
    "tokenfed-settlement-response+jwt": (_OPERATOR,),
    "tokenfed-exchange-rates+jwt": (_CLEARING,),
    "tokenfed-netting-report+jwt": (_CLEARING,),
    "tokenfed-revenue-share+jwt": (_PROVIDER, _OPERATOR, _CLEARING),
}
"""FED-035: which (entity type, key-set member) verifies a document ``typ``, in lookup order:
the first entity type the issuer's resolved metadata has is used."""

_VERSION = re.compile(r"(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)")
_FORBIDDEN_KEY_MEMBERS = ("jwks", "jwks_uri", "signed_jwks_uri")


def _normal_typ(typ: str) -> str:
    lowered = typ.lower()
    return lowered[len("application/") :] if lowered.startswith("application/") else lowered


@dataclass(frozen=True)
class TrustChain:
    """A validated trust chain: signatures, times, constraints and policy all passed.

    Only :func:`validate_chain` builds one. ``path`` runs from the subject up to the anchor;
    ``metadata`` is the resolved metadata of every entity type that survived (FED-056).
    """

    subject: str
    trust_anchor: str
    path: tuple[str, ...]
    statements: tuple[EntityStatement, ...] = field(repr=False)
    exp: int
    metadata: dict[str, Any] = field(repr=False)

    def keys_for(self, typ: str) -> KeySet:
        """The key set that verifies the subject's documents of ``typ`` (FED-035).

        Raises:
            UnsupportedTypError: ``typ`` is not a document kind of the key table.
            EntityTypeAbsentError: the resolved metadata has none of the entity types the
                table names for ``typ``.
        """
        rows = KEY_TABLE.get(_normal_typ(typ))
        if rows is None:
            raise UnsupportedTypError(
                f"no entity key set verifies documents of typ {typ!r} (FED-035)"
            )
        for entity_type, member in rows:
            params = self.metadata.get(entity_type)
            if isinstance(params, Mapping):
                return _load_member_keys(params[member], entity_type, member)
        names = " or ".join(entity_type for entity_type, _ in rows)
        raise EntityTypeAbsentError(
            f"{self.subject} is not a {names} under {self.trust_anchor}, so it cannot sign "
            f"{typ} documents (FED-035)",
            detail={"subject": self.subject, "trust_anchor": self.trust_anchor, "typ": typ},
        )

    def to_json(self) -> list[str]:
        """The chain as ``application/trust-chain+json``: the compact statements in order."""
        return [statement.token for statement in self.statements]

    def to_text(self) -> str:
        """:meth:`to_json` serialized as JSON text."""
        return json.dumps(self.to_json())


def _load_member_keys(jwks: Any, entity_type: str, member: str) -> KeySet:
    """FED-032: a ``*_jwks`` member as a key set with validity windows, or invalid_metadata."""
    where = f"{entity_type}.{member}"
    keys = jwks.get("keys") if isinstance(jwks, Mapping) else None
    if not isinstance(keys, list) or not keys:
        raise InvalidMetadataError(
            f"{where} must be a JWK Set with at least one key (FED-032)",
            detail={"entity_type": entity_type, "member": member},
        )
    loaded: list[PublicKey] = []
    for index, jwk in enumerate(keys):
        problem = None
        if not isinstance(jwk, Mapping):
            problem = "is not a JSON object"
        elif "d" in jwk:
            problem = "is a private key"
        elif not isinstance(jwk.get("kid"), str):
            problem = "has no kid"
        elif not isinstance(jwk.get("alg"), str):
            problem = "has no alg"
        elif jwk.get("use") != "sig":
            problem = 'has no use "sig"'
        elif "nbf" not in jwk:
            problem = "has no nbf"
        if problem is None:
            assert isinstance(jwk, Mapping)
            try:
                loaded.append(load_public_jwk(jwk))
            except InvalidKeyError as exc:
                problem = exc.message
        if problem is not None:
            raise InvalidMetadataError(
                f"key {index} of {where} {problem} (FED-032)",
                detail={"entity_type": entity_type, "member": member, "index": index},
            )
    try:
        return KeySet(loaded)
    except InvalidKeyError as exc:
        raise InvalidMetadataError(f"{where}: {exc.message} (FED-032)") from None


def check_metadata(metadata: Mapping[str, Any], federation_kids: set[str]) -> None:
    """The application layer's checks on resolved metadata (FED-031..FED-034).

    Raises:
        InvalidMetadataError: the first rule broken, in the order the entity types appear.
    """
    for entity_type, params in metadata.items():
        if not isinstance(params, Mapping):
            raise InvalidMetadataError(f"metadata of {entity_type} is not an object (FED-030)")
        for name, value in params.items():
            if (name.endswith("_uri") or name.endswith("_endpoint")) and not is_https_url(value):
                raise InvalidMetadataError(
                    f"{entity_type}.{name} must be an https URL without fragment (FED-034)",
                    detail={"entity_type": entity_type, "member": name},
                )
        if entity_type not in TOKENFED_ENTITY_TYPES:
            continue
        versions = params.get("tokenfed_versions")
        if (
            not isinstance(versions, list)
            or not versions
            or not all(isinstance(v, str) and _VERSION.fullmatch(v) for v in versions)
        ):
            raise InvalidMetadataError(
                f"{entity_type}.tokenfed_versions must be a non-empty array of "
                f'"MAJOR.MINOR" strings, found {versions!r:.80} (FED-031)',
                detail={"entity_type": entity_type, "member": "tokenfed_versions"},
            )
        for name in _FORBIDDEN_KEY_MEMBERS:
            if name in params:
                raise InvalidMetadataError(
                    f"{entity_type} must not carry {name}: its keys are in "
                    f"{KEY_MEMBERS[entity_type]} (FED-034)",
                    detail={"entity_type": entity_type, "member": name},
                )
        member = KEY_MEMBERS[entity_type]
        if member not in params:
            raise InvalidMetadataError(
                f"{entity_type}.{member} is REQUIRED (FED-032)",
                detail={"entity_type": entity_type, "member": member},
            )
        keys = _load_member_keys(params[member], entity_type, member)
        shared = sorted(key.kid for key in keys if key.kid in federation_kids)
        if shared:
            raise InvalidMetadataError(
                f"{entity_type}.{member} holds the federation key {shared[0]}; application "
                "keys and federation keys are separate (FED-033)",
                detail={"entity_type": entity_type, "member": member, "kid": shared[0]},
            )


def _decode_all(statements: Sequence[str | EntityStatement]) -> list[EntityStatement]:
    decoded = []
    for statement in statements:
        if isinstance(statement, EntityStatement):
            decoded.append(statement)
        elif isinstance(statement, (str, bytes)):
            decoded.append(EntityStatement.decode(statement))
        else:
            raise TypeError(
                "statements must be compact JWS strings or EntityStatement objects, not "
                f"{type(statement).__name__}"
            )
    return decoded


def _path(chain: list[EntityStatement]) -> list[str]:
    """The entity ids from the subject up to the anchor: ES[0].sub, then each SS's issuer."""
    return [chain[0].sub] + [statement.iss for statement in chain[1:-1]]


def _check_structure(chain: list[EntityStatement], anchors: Mapping[str, TrustAnchor]) -> None:
    """FED-051, FED-052, FED-061: kinds, links, the anchor, the recognition statement's place."""
    last = len(chain) - 1
    for j, statement in enumerate(chain):
        should_be_configuration = j in (0, last)
        if statement.is_configuration != should_be_configuration:
            kind = "an entity configuration" if should_be_configuration else "a subordinate"
            raise ChainNotWellFormedError(
                f"statement {j} (iss {statement.iss}, sub {statement.sub}) must be {kind} "
                "statement at that place (FED-051)",
                detail={"index": j},
            )
    for j in range(last):
        if chain[j].iss != chain[j + 1].sub:
            raise ChainNotWellFormedError(
                f"statement {j} is issued by {chain[j].iss} but statement {j + 1} is about "
                f"{chain[j + 1].sub} (FED-051)",
                detail={"index": j},
            )
    if chain[1].iss not in chain[0].authority_hints:
        raise ChainNotWellFormedError(
            f"{chain[0].sub} does not list {chain[1].iss} in its authority_hints, so that "
            "superior's statement about it does not count (FED-051)",
            detail={"subject": chain[0].sub, "issuer": chain[1].iss},
        )
    path = _path(chain)
    if len(set(path)) != len(path):
        raise ChainNotWellFormedError(
            f"an entity appears twice on the path {' -> '.join(path)} (FED-051)",
            detail={"path": path},
        )
    for j in range(1, last - 1):
        if chain[j].recognition:
            raise ChainNotWellFormedError(
                f"the recognition statement by {chain[j].iss} about {chain[j].sub} is not the "
                "anchor's own statement: recognition is not transitive (FED-061)",
                detail={"index": j},
            )
    if chain[last].sub not in anchors:
        raise NoTrustPathError(
            f"the chain ends at {chain[last].sub}, which is not a configured trust anchor "
            "(FED-052)",
            detail={"reasons": [f"{chain[last].sub}: not a configured trust anchor"]},
        )


def _check_signatures(chain: list[EntityStatement], anchor: TrustAnchor) -> None:
    """FED-053, from the anchor down: the anchor's configuration and its own subordinate
    statement with the pinned keys; every other statement with the keys its superior attests."""
    last = len(chain) - 1
    chain[last].verify_with(anchor.jwks)
    chain[last - 1].verify_with(anchor.jwks)
    for j in range(last - 2, 0, -1):
        chain[j].verify_with(chain[j + 1].jwks)
    subject = chain[0]
    kid = subject.kid
    if kid is None or subject.jwks.get(kid) is None:
        raise UnknownKeyError(
            f"{subject.sub}'s entity configuration is signed with kid {kid!r}, which is not in "
            "its own jwks (FED-053)",
            detail={"sub": subject.sub, "kid": kid},
        )
    subject.verify_with(chain[1].jwks)


def _resolve_metadata(chain: list[EntityStatement]) -> dict[str, Any]:
    """FED-056 steps: the subject's metadata with its superior's override (section 3.1.1)."""
    own = chain[0].metadata or {}
    metadata = {entity_type: dict(params) for entity_type, params in own.items()}
    override = chain[1].metadata or {}
    for entity_type, params in override.items():
        if entity_type in metadata:
            metadata[entity_type].update(params)
    return metadata


def _apply_policies(metadata: dict[str, Any], policies: list[dict[str, Any]]) -> dict[str, Any]:
    """FED-056: merge the policies top-down and apply them (the metadata policy section)."""
    if not policies:
        return metadata
    return apply_policy(metadata, merge_policies(policies))


def validate_chain(
    statements: Sequence[str | EntityStatement],
    anchors: Sequence[TrustAnchor],
    *,
    now: int,
    entity_type: str | None = None,
) -> TrustChain:
    """Validate a trust chain ``ES[0..m]`` against pinned anchors at time ``now`` (FED-050).

    Steps, each reporting its own code (the first failure wins): count, decode, structure,
    signatures, times, constraints, metadata (override, ``allowed_entity_types``, the requested
    ``entity_type``, policy, application checks).

    Raises:
        TokenfedError: the code of the first failing step (see the federation chapter).
        TypeError: arguments of the wrong Python type.
    """
    if isinstance(statements, (str, bytes)) or not isinstance(statements, Sequence):
        raise TypeError("statements must be a sequence of compact JWS strings or statements")
    if type(now) is not int:
        raise TypeError("now must be an int NumericDate")
    pinned: dict[str, TrustAnchor] = {}
    for anchor in anchors:
        if not isinstance(anchor, TrustAnchor):
            raise TypeError(f"anchors must be TrustAnchor objects, not {type(anchor).__name__}")
        pinned.setdefault(anchor.entity_id, anchor)
    # Step 1: count (FED-050).
    if len(statements) > MAX_STATEMENTS:
        raise PathTooLongError(
            f"a chain of {len(statements)} statements has more than "
            f"{MAX_STATEMENTS - 3} intermediates (FED-050)",
            detail={"statements": len(statements)},
        )
    if len(statements) < 3:
        raise ChainNotWellFormedError(
            "a trust chain has at least three statements: the subject's entity configuration, "
            "its superior's statement about it and the anchor's entity configuration (FED-050)",
            detail={"statements": len(statements)},
        )
    # Step 2: decode and profile-check every statement (FED-022).
    chain = _decode_all(statements)
    # Step 3: structure (FED-051, FED-052, FED-061).
    _check_structure(chain, pinned)
    anchor = pinned[chain[-1].sub]
    # Step 4: signatures (FED-053).
    _check_signatures(chain, anchor)
    # Step 5: times (FED-054).
    for statement in chain:
        statement.check_time(now, LEEWAY)
    # Step 6: constraints (FED-055).
    check_constraints(chain)
    # Step 7: metadata (FED-056..FED-058).
    metadata = _resolve_metadata(chain)
    stripped = strip_entity_types(metadata, chain)
    if entity_type is not None and entity_type not in stripped:
        if entity_type in metadata:
            raise EntityTypeNotAllowedError(
                f"{chain[0].sub} is a {entity_type}, but a superior on the path to "
                f"{anchor.entity_id} does not allow that type (FED-043)",
                detail={"subject": chain[0].sub, "entity_type": entity_type},
            )
        raise EntityTypeAbsentError(
            f"{chain[0].sub} publishes no {entity_type} metadata (FED-058)",
            detail={"subject": chain[0].sub, "entity_type": entity_type},
        )
    policies = [s.metadata_policy for s in reversed(chain[1:-1]) if s.metadata_policy]
    resolved = _apply_policies(stripped, policies)
    federation_kids = {key.kid for key in chain[0].jwks} | {key.kid for key in chain[1].jwks}
    check_metadata(resolved, federation_kids)
    return TrustChain(
        subject=chain[0].sub,
        trust_anchor=anchor.entity_id,
        path=tuple(_path(chain)),
        statements=tuple(chain),
        exp=min(statement.exp for statement in chain),
        metadata=resolved,
    )


def select_chain(chains: Sequence[TrustChain], anchors: Sequence[TrustAnchor]) -> TrustChain:
    """Pick one of several validated chains (FED-071): the first configured anchor, then the
    fewest statements, then the latest ``exp``, then the least path in code-point order.

    Raises:
        NoTrustPathError: ``chains`` is empty.
        ValueError: a chain's anchor is not one of ``anchors``.
    """
    if not chains:
        raise NoTrustPathError(
            "no valid trust chain to choose from (FED-071)", detail={"reasons": []}
        )
    order: dict[str, int] = {}
    for index, anchor in enumerate(anchors):
        order.setdefault(anchor.entity_id, index)
    for chain in chains:
        if not isinstance(chain, TrustChain):
            raise TypeError(f"chains must be TrustChain objects, not {type(chain).__name__}")
        if chain.trust_anchor not in order:
            raise ValueError(f"chain anchored at {chain.trust_anchor} is not a configured anchor")
    return min(
        chains,
        key=lambda c: (order[c.trust_anchor], len(c.statements), -c.exp, c.path),
    )


TRUST_MARK_TYP = "trust-mark+jwt"
"""``typ`` of a trust mark (FED-090, OIDF section 7)."""


def verify_trust_mark(
    token: str | bytes,
    issuer_chain: TrustChain,
    *,
    subject: str,
    now: int,
    trust_mark_type: str | None = None,
) -> dict[str, Any]:
    """Verify a trust mark about ``subject`` with its issuer's validated chain (FED-091) and
    return its claims.

    ``issuer_chain`` is the chain of the mark's issuer under the verifier's anchor; its anchor's
    configuration must list the issuer for the mark's type, and the mark must verify with the
    issuer's federation keys that its superior attests.

    Raises:
        TokenfedError: the code of the first failing step of FED-091.
        ValueError: ``issuer_chain`` is not the chain of the mark's issuer.
    """
    if not isinstance(issuer_chain, TrustChain):
        raise TypeError("issuer_chain must be a TrustChain from validate_chain")
    decoded = _jws.decode(token, TRUST_MARK_TYP)
    claims = decoded.claims
    for name in ("iss", "sub", "trust_mark_type"):
        if not isinstance(claims.get(name), str):
            raise SchemaViolationError(
                f"trust mark {name} is required and must be a string (FED-091)",
                detail={"path": f"/{name}"},
            )
    for name in ("iat", "exp"):
        value = claims.get(name)
        if type(value) is not int or not 0 <= value <= 2**53 - 1:
            raise SchemaViolationError(
                f"trust mark {name} is required and must be a NumericDate (FED-090)",
                detail={"path": f"/{name}"},
            )
    issuer, mark_type = claims["iss"], claims["trust_mark_type"]
    if issuer != issuer_chain.subject:
        raise ValueError(f"the chain given is {issuer_chain.subject}'s, not the issuer {issuer}'s")
    anchor_configuration = issuer_chain.statements[-1]
    listed = anchor_configuration.claims.get("trust_mark_issuers", {}).get(mark_type, [])
    if issuer == issuer_chain.trust_anchor or issuer not in listed:
        raise InvalidStatementError(
            f"{issuer} is not an issuer of {mark_type} trust marks that "
            f"{issuer_chain.trust_anchor} lists (FED-090, FED-091)",
            detail={"iss": issuer, "trust_mark_type": mark_type},
        )
    kid = decoded.header.get("kid")
    key = issuer_chain.statements[1].jwks.get(kid) if isinstance(kid, str) else None
    if key is None:
        raise UnknownKeyError(
            f"trust mark is signed with kid {kid!r}, not a federation key of {issuer} (FED-091)",
            detail={"iss": issuer, "kid": kid},
        )
    _jws.verify_signature(decoded, key)
    if claims["sub"] != subject:
        raise InvalidStatementError(
            f"trust mark is about {claims['sub']}, not {subject} (FED-091)",
            detail={"sub": claims["sub"]},
        )
    if trust_mark_type is not None and mark_type != trust_mark_type:
        raise InvalidStatementError(
            f"trust mark is of type {mark_type}, not {trust_mark_type} (FED-091)",
            detail={"trust_mark_type": mark_type},
        )
    if claims["exp"] + LEEWAY <= now:
        raise StatementExpiredError(f"trust mark expired at {claims['exp']} (FED-091)")
    if claims["iat"] > now + LEEWAY:
        raise StatementNotYetValidError(f"trust mark is issued at {claims['iat']} (FED-091)")
    return claims
