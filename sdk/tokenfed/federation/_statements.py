"""Entity statements: decoding with the profile's checks, signature checks, signing.

An entity statement (OpenID Federation 1.1 section 3) is a JWS with ``typ``
``entity-statement+jwt``. An *entity configuration* (EC) is issued by an entity about itself
(``iss == sub``); a *subordinate statement* (SS) by a superior about its subject. Decoding runs
the JWS layer's checks that need no key (CONV-060 steps 1 to 4) and then the profile's checks on
the claims (FED-022); the signature is checked separately with the key set the chain says must
verify it (:meth:`EntityStatement.verify_with`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .. import _jws
from ..errors import (
    InvalidKeyError,
    InvalidStatementError,
    SchemaViolationError,
    StatementExpiredError,
    StatementNotYetValidError,
    UnknownKeyError,
    UnsupportedCritError,
)
from ..keys import KeySet, PrivateKey
from ._ids import is_federation_entity_id, is_host_constraint, is_https_url

__all__ = [
    "FEDERATION_ENDPOINTS",
    "LEEWAY",
    "MAX_AUTHORITY_HINTS",
    "MAX_INTERMEDIATES",
    "MAX_LIFETIME",
    "MAX_STATEMENTS",
    "RECOGNITION_CLAIM",
    "STATEMENT_MEDIA_TYPE",
    "STATEMENT_TYP",
    "TOKENFED_ENTITY_TYPES",
    "EntityStatement",
    "TrustAnchor",
    "load_federation_jwks",
    "sign_statement",
]

STATEMENT_TYP = "entity-statement+jwt"
"""``typ`` of every entity statement (FED-010, section 3)."""
STATEMENT_MEDIA_TYPE = "application/entity-statement+jwt"
"""Media type of an entity statement served over HTTP (FED-080, FED-081)."""
LEEWAY = 60
"""Clock leeway in seconds for ``iat`` and ``exp`` (FED-021)."""
MAX_LIFETIME = 86400
"""Largest ``exp - iat`` of a statement, in seconds (FED-016)."""
MAX_AUTHORITY_HINTS = 8
"""Most ``authority_hints`` an entity configuration may list (FED-017)."""
MAX_INTERMEDIATES = 4
"""Most intermediates between a chain's subject and its anchor (FED-050)."""
MAX_STATEMENTS = MAX_INTERMEDIATES + 3
"""Most statements in a chain: the subject's EC, one SS per hop, the anchor's EC (FED-050)."""
RECOGNITION_CLAIM = "tokenfed_recognition"
"""The claim that makes a subordinate statement a recognition statement (FED-060)."""

TOKENFED_ENTITY_TYPES = ("tokenfed_provider", "tokenfed_operator", "tokenfed_clearing_house")
"""The entity types this specification defines (FED-030)."""

FEDERATION_ENDPOINTS = (
    "federation_fetch_endpoint",
    "federation_list_endpoint",
    "federation_historical_keys_endpoint",
)
"""The ``federation_entity`` endpoints every anchor and intermediate publishes (FED-020)."""

_MAX_DATE = 2**53 - 1
_EC_ONLY = (
    "authority_hints",
    "trust_anchor_hints",
    "trust_marks",
    "trust_mark_issuers",
    "trust_mark_owners",
)
_SS_ONLY = (
    "constraints",
    "metadata_policy",
    "metadata_policy_crit",
    "source_endpoint",
    RECOGNITION_CLAIM,
)
_FORBIDDEN_HEADERS = ("trust_chain", "peer_trust_chain")
_CONSTRAINTS = ("max_path_length", "naming_constraints", "allowed_entity_types")


def _schema(message: str, path: str) -> SchemaViolationError:
    return SchemaViolationError(
        f"entity statement {path}: {message} (FED-013)", detail={"path": path}
    )


def _invalid(message: str, path: str, rid: str) -> InvalidStatementError:
    return InvalidStatementError(
        f"entity statement {path}: {message} ({rid})", detail={"path": path}
    )


def _is_date(value: object) -> bool:
    return type(value) is int and 0 <= value <= _MAX_DATE


def _string_list(claims: Mapping[str, Any], name: str) -> list[str] | None:
    value = claims.get(name)
    if name not in claims:
        return None
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise _schema("must be an array of strings", f"/{name}")
    return value


def load_federation_jwks(jwks: object, *, what: str = "jwks") -> KeySet:
    """Load a set of federation entity keys (FED-015).

    Every key is public, names a registered algorithm, and has a ``kid`` that is its RFC 7638
    thumbprint; kids are unique and the set is not empty.

    Raises:
        InvalidKeyError: any key or the set breaks these rules.
    """
    if not isinstance(jwks, Mapping) or not isinstance(jwks.get("keys"), list):
        raise InvalidKeyError(f'{what} must be a JWK Set {{"keys": [...]}} (FED-015)')
    keys = jwks["keys"]
    if not keys:
        raise InvalidKeyError(f"{what} has no keys (FED-015)")
    for jwk in keys:
        if isinstance(jwk, Mapping) and not isinstance(jwk.get("kid"), str):
            raise InvalidKeyError(
                f"every key of {what} needs a kid, its RFC 7638 thumbprint (FED-015, CONV-045)"
            )
    return KeySet.from_jwks(jwks)


def _check_schema(claims: Mapping[str, Any], configuration: bool) -> None:
    """FED-013: required claims and the JSON type of every claim the profile reads."""
    for name in ("iss", "sub"):
        if not isinstance(claims.get(name), str):
            raise _schema("is required and must be a string", f"/{name}")
    for name in ("iat", "exp"):
        if not _is_date(claims.get(name)):
            raise _schema("is required and must be a NumericDate integer", f"/{name}")
    if not isinstance(claims.get("jwks"), Mapping):
        raise _schema("is required and must be a JWK Set object", "/jwks")
    if configuration and "metadata" not in claims:
        raise _schema("is required in an entity configuration", "/metadata")
    if not configuration and "source_endpoint" not in claims:
        raise _schema("is required in a subordinate statement", "/source_endpoint")
    for name in (
        "metadata",
        "metadata_policy",
        "constraints",
        "trust_mark_issuers",
        "trust_mark_owners",
    ):
        if name in claims and not isinstance(claims[name], Mapping):
            raise _schema("must be a JSON object", f"/{name}")
    for name in ("authority_hints", "trust_anchor_hints", "metadata_policy_crit"):
        _string_list(claims, name)
    if "source_endpoint" in claims and not isinstance(claims["source_endpoint"], str):
        raise _schema("must be a string", "/source_endpoint")
    if RECOGNITION_CLAIM in claims and claims[RECOGNITION_CLAIM] is not True:
        raise _schema("must be true when present", f"/{RECOGNITION_CLAIM}")
    metadata = claims.get("metadata")
    if isinstance(metadata, Mapping):
        for entity_type, value in metadata.items():
            if value is not None and not isinstance(value, Mapping):
                raise _schema("must be a JSON object of parameters", f"/metadata/{entity_type}")
    trust_marks = claims.get("trust_marks")
    if "trust_marks" in claims and not (
        isinstance(trust_marks, list)
        and all(
            isinstance(mark, Mapping)
            and isinstance(mark.get("trust_mark_type"), str)
            and isinstance(mark.get("trust_mark"), str)
            for mark in trust_marks
        )
    ):
        raise _schema("must be an array of {trust_mark_type, trust_mark} objects", "/trust_marks")
    issuers = claims.get("trust_mark_issuers")
    if isinstance(issuers, Mapping):
        for mark_type, listed in issuers.items():
            if not isinstance(listed, list) or not all(isinstance(i, str) for i in listed):
                raise _schema(
                    "must map each type to an array of entity ids",
                    f"/trust_mark_issuers/{mark_type}",
                )
    constraints = claims.get("constraints")
    if isinstance(constraints, Mapping):
        _check_constraint_types(constraints)


def _check_constraint_types(constraints: Mapping[str, Any]) -> None:
    """FED-040: the JSON types of the three constraint members; other members are ignored."""
    if "max_path_length" in constraints and not _is_date(constraints["max_path_length"]):
        raise _schema("must be an integer >= 0", "/constraints/max_path_length")
    if "naming_constraints" in constraints:
        naming = constraints["naming_constraints"]
        if not isinstance(naming, Mapping):
            raise _schema("must be a JSON object", "/constraints/naming_constraints")
        for member in ("permitted", "excluded"):
            if member in naming:
                value = naming[member]
                if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                    raise _schema(
                        "must be an array of strings", f"/constraints/naming_constraints/{member}"
                    )
    if "allowed_entity_types" in constraints:
        value = constraints["allowed_entity_types"]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise _schema("must be an array of strings", "/constraints/allowed_entity_types")


def _check_profile(claims: Mapping[str, Any], configuration: bool) -> None:
    """FED-002, FED-014, FED-016..FED-020, FED-040, FED-060: the content rules."""
    for name in ("iss", "sub"):
        if not is_federation_entity_id(claims[name]):
            raise _invalid(
                "is not a federation entity id (https, lowercase host, no query, "
                "fragment or trailing '/')",
                f"/{name}",
                "FED-002",
            )
    misplaced = _SS_ONLY if configuration else _EC_ONLY
    for name in misplaced:
        if name in claims:
            kind = "an entity configuration" if configuration else "a subordinate statement"
            raise _invalid(f"must not appear in {kind}", f"/{name}", "FED-014")
    if "metadata_policy_crit" in claims:
        raise _invalid(
            "is never accepted: tokenfed defines no extra policy operators",
            "/metadata_policy_crit",
            "FED-019",
        )
    iat, exp = claims["iat"], claims["exp"]
    if exp <= iat or exp - iat > MAX_LIFETIME:
        raise _invalid(
            f"lifetime exp - iat = {exp - iat} s is not in 1..{MAX_LIFETIME}", "/exp", "FED-016"
        )
    hints = claims.get("authority_hints")
    if hints is not None:
        if not hints:
            raise _invalid("must not be []", "/authority_hints", "FED-017")
        if len(hints) > MAX_AUTHORITY_HINTS:
            raise _invalid(
                f"lists {len(hints)} superiors; at most {MAX_AUTHORITY_HINTS}",
                "/authority_hints",
                "FED-017",
            )
        if len(set(hints)) != len(hints):
            raise _invalid("lists a superior twice", "/authority_hints", "FED-017")
        for hint in hints:
            if not is_federation_entity_id(hint):
                raise _invalid(
                    f"entry {hint!r:.80} is not a federation entity id",
                    "/authority_hints",
                    "FED-002",
                )
        if claims["sub"] in hints:
            raise _invalid("lists the entity itself", "/authority_hints", "FED-017")
    anchor_hints = claims.get("trust_anchor_hints")
    if anchor_hints is not None:
        if not anchor_hints:
            raise _invalid("must not be []", "/trust_anchor_hints", "FED-018")
        if not all(is_federation_entity_id(hint) for hint in anchor_hints):
            raise _invalid(
                "lists a string that is not a federation entity id",
                "/trust_anchor_hints",
                "FED-002",
            )
    issuers = claims.get("trust_mark_issuers")
    if isinstance(issuers, Mapping):
        for mark_type, listed in issuers.items():
            if not listed:
                raise _invalid("must not be []", f"/trust_mark_issuers/{mark_type}", "FED-018")
            if not all(is_federation_entity_id(issuer) for issuer in listed):
                raise _invalid(
                    "lists a string that is not a federation entity id",
                    f"/trust_mark_issuers/{mark_type}",
                    "FED-002",
                )
    _check_metadata(claims.get("metadata"), configuration)
    if not configuration:
        if not is_https_url(claims["source_endpoint"]):
            raise _invalid("must be an https URL without fragment", "/source_endpoint", "FED-013")
        constraints = claims.get("constraints")
        if isinstance(constraints, Mapping):
            _check_constraint_values(constraints)
        if RECOGNITION_CLAIM in claims:
            _check_recognition(claims)


def _check_metadata(metadata: object, configuration: bool) -> None:
    """FED-018 (no null values) and FED-020 (roles) on a statement's ``metadata``."""
    if not isinstance(metadata, Mapping):
        return
    for entity_type, params in metadata.items():
        if params is None:
            raise _invalid("must not be null", f"/metadata/{entity_type}", "FED-018")
        for name, value in params.items():
            if value is None:
                raise _invalid("must not be null", f"/metadata/{entity_type}/{name}", "FED-018")
    if not configuration:
        return
    federation = metadata.get("federation_entity")
    published = [
        name
        for name in FEDERATION_ENDPOINTS
        if isinstance(federation, Mapping) and name in federation
    ]
    if published and any(entity_type in metadata for entity_type in TOKENFED_ENTITY_TYPES):
        raise _invalid(
            "a leaf (an entity with a tokenfed_* type) must not publish federation "
            f"endpoints, found {published[0]}",
            "/metadata/federation_entity",
            "FED-020",
        )
    if published and len(published) != len(FEDERATION_ENDPOINTS):
        missing = [name for name in FEDERATION_ENDPOINTS if name not in published]
        raise _invalid(
            f"an anchor or intermediate publishes all of fetch, list and historical "
            f"keys endpoints; {missing[0]} is missing",
            "/metadata/federation_entity",
            "FED-020",
        )


def _check_constraint_values(constraints: Mapping[str, Any]) -> None:
    """FED-042, FED-043: the values the constraint types allow."""
    naming = constraints.get("naming_constraints")
    if isinstance(naming, Mapping):
        for member in ("permitted", "excluded"):
            if member not in naming:
                continue
            path = f"/constraints/naming_constraints/{member}"
            if not naming[member]:
                raise _invalid("must not be []", path, "FED-042")
            for entry in naming[member]:
                if not is_host_constraint(entry):
                    raise _invalid(
                        f"entry {entry!r:.80} is not a lowercase host name, "
                        "optionally with a leading '.'",
                        path,
                        "FED-042",
                    )
    allowed = constraints.get("allowed_entity_types")
    if isinstance(allowed, list):
        path = "/constraints/allowed_entity_types"
        if "federation_entity" in allowed:
            raise _invalid("must not list federation_entity (always allowed)", path, "FED-043")
        if len(set(allowed)) != len(allowed):
            raise _invalid("lists a type twice", path, "FED-043")


def _check_recognition(claims: Mapping[str, Any]) -> None:
    """FED-060: a recognition statement is fully constrained and carries no metadata."""
    for name in ("metadata", "metadata_policy"):
        if name in claims:
            raise _invalid("must not appear in a recognition statement", f"/{name}", "FED-060")
    constraints = claims.get("constraints")
    if not isinstance(constraints, Mapping):
        raise _invalid("a recognition statement carries constraints", "/constraints", "FED-060")
    for name in _CONSTRAINTS:
        if name not in constraints:
            raise _invalid(
                "is required in a recognition statement", f"/constraints/{name}", "FED-060"
            )
    naming = constraints["naming_constraints"]
    if "permitted" not in naming:
        raise _invalid(
            "is required in a recognition statement",
            "/constraints/naming_constraints/permitted",
            "FED-060",
        )
    allowed = constraints["allowed_entity_types"]
    if not allowed or any(name not in TOKENFED_ENTITY_TYPES for name in allowed):
        raise _invalid(
            "must be a non-empty list of tokenfed_* entity types",
            "/constraints/allowed_entity_types",
            "FED-060",
        )


def _check_header(header: Mapping[str, Any]) -> None:
    """FED-011: no trust_chain or peer_trust_chain header (section 4.3, 4.4)."""
    for name in _FORBIDDEN_HEADERS:
        if name in header:
            raise InvalidStatementError(
                f"entity statement header carries {name}, which statements must not (FED-011)",
                detail={"path": f"header/{name}"},
            )


def check_claims(claims: Mapping[str, Any]) -> KeySet:
    """Run FED-012..FED-020 on claims (FED-022 steps 3 to 6); return the loaded ``jwks``."""
    if "crit" in claims:
        raise UnsupportedCritError(
            "entity statement has a crit claim; tokenfed registers no extension claims (FED-012)"
        )
    configuration = claims.get("iss") == claims.get("sub")
    _check_schema(claims, configuration)
    jwks = load_federation_jwks(claims["jwks"])
    _check_profile(claims, configuration)
    return jwks


class EntityStatement:
    """A decoded, profile-checked entity statement. Its signature is NOT yet checked.

    Build it with :meth:`decode`; check the signature with :meth:`verify_with` and the times
    with :meth:`check_time`. :func:`~tokenfed.federation.validate_chain` does all of it with the
    keys the chain attests. Attributes are named like the claims (section 3.1).
    """

    __slots__ = (
        "_decoded",
        "authority_hints",
        "claims",
        "constraints",
        "exp",
        "header",
        "iat",
        "iss",
        "jwks",
        "metadata",
        "metadata_policy",
        "recognition",
        "source_endpoint",
        "sub",
        "token",
        "trust_marks",
    )

    token: str
    header: dict[str, Any]
    claims: dict[str, Any]
    iss: str
    sub: str
    iat: int
    exp: int
    jwks: KeySet
    authority_hints: tuple[str, ...]
    metadata: dict[str, Any] | None
    constraints: dict[str, Any] | None
    metadata_policy: dict[str, Any] | None
    source_endpoint: str | None
    trust_marks: tuple[dict[str, Any], ...]
    recognition: bool

    def __init__(self, decoded: _jws.Decoded, jwks: KeySet) -> None:
        claims = decoded.claims
        self._decoded = decoded
        self.token = decoded.token
        self.header = decoded.header
        self.claims = claims
        self.iss = claims["iss"]
        self.sub = claims["sub"]
        self.iat = claims["iat"]
        self.exp = claims["exp"]
        self.jwks = jwks
        self.authority_hints = tuple(claims.get("authority_hints", ()))
        self.metadata = claims.get("metadata")
        self.constraints = claims.get("constraints")
        self.metadata_policy = claims.get("metadata_policy")
        self.source_endpoint = claims.get("source_endpoint")
        self.trust_marks = tuple(claims.get("trust_marks", ()))
        self.recognition = claims.get(RECOGNITION_CLAIM) is True

    @classmethod
    def decode(cls, token: str | bytes) -> EntityStatement:
        """Decode a statement and run every check that needs no key (FED-022 steps 1 to 6).

        Raises:
            MalformedError, UnsupportedTypError, UnsupportedAlgError, UnsupportedCritError:
                the JWS layer (CONV-060 steps 1 to 4) or a ``crit`` claim (FED-012).
            InvalidStatementError: a forbidden header (FED-011) or a profile rule.
            SchemaViolationError: a required claim missing or a claim of the wrong type.
            InvalidKeyError: ``jwks`` is not a set of public keys with thumbprint kids.
        """
        if not isinstance(token, (str, bytes)):
            raise TypeError(f"token must be str or bytes, not {type(token).__name__}")
        decoded = _jws.decode(token, STATEMENT_TYP)
        _check_header(decoded.header)
        jwks = check_claims(decoded.claims)
        return cls(decoded, jwks)

    @property
    def is_configuration(self) -> bool:
        """Whether this is an entity configuration (``iss == sub``)."""
        return self.iss == self.sub

    @property
    def kid(self) -> str | None:
        """The header ``kid``, or None when it is missing or not a string."""
        kid = self.header.get("kid")
        return kid if isinstance(kid, str) else None

    def verify_with(self, keys: KeySet) -> None:
        """Check the signature with the key of ``keys`` named by the header ``kid`` (FED-053).

        Raises:
            UnknownKeyError: the header has no ``kid`` or ``keys`` has no key with it.
            UnsupportedAlgError: the header ``alg`` is not the key's algorithm (CONV-044).
            InvalidSignatureError: the signature does not verify (CONV-049).
        """
        if not isinstance(keys, KeySet):
            raise TypeError(f"keys must be a tokenfed.keys.KeySet, not {type(keys).__name__}")
        kid = self.kid
        key = keys.get(kid) if kid is not None else None
        if key is None:
            raise UnknownKeyError(
                f"statement by {self.iss} about {self.sub} is signed with kid {kid!r}, which is "
                "not in the key set that must verify it (FED-053, CONV-045)",
                detail={"iss": self.iss, "sub": self.sub, "kid": kid},
            )
        _jws.verify_signature(self._decoded, key)

    def check_time(self, now: int, leeway: int = LEEWAY) -> None:
        """Refuse a statement that has expired or is not yet valid at ``now`` (FED-021).

        Raises:
            StatementExpiredError: ``exp + leeway <= now``.
            StatementNotYetValidError: ``iat > now + leeway``.
        """
        if self.exp + leeway <= now:
            raise StatementExpiredError(
                f"statement by {self.iss} about {self.sub} expired at {self.exp} (FED-021)",
                detail={"iss": self.iss, "sub": self.sub, "exp": self.exp, "now": now},
            )
        if self.iat > now + leeway:
            raise StatementNotYetValidError(
                f"statement by {self.iss} about {self.sub} is issued at {self.iat}, later than "
                f"now {now} plus {leeway} s (FED-021)",
                detail={"iss": self.iss, "sub": self.sub, "iat": self.iat, "now": now},
            )

    def __repr__(self) -> str:
        kind = "configuration" if self.is_configuration else "subordinate"
        return f"EntityStatement({kind}, iss={self.iss!r}, sub={self.sub!r}, exp={self.exp})"


def sign_statement(claims: Mapping[str, Any], key: PrivateKey) -> str:
    """Sign an entity statement after checking it against the profile (FED-023).

    The header is ``{alg, typ: "entity-statement+jwt", kid}`` and the payload the JCS
    serialization of ``claims``. An entity configuration must be signed with a key of its own
    ``jwks``.

    Raises:
        TypeError: ``key`` is not a :class:`~tokenfed.keys.PrivateKey`.
        TokenfedError: the claims break the profile, with the code a verifier would report.
    """
    if not isinstance(key, PrivateKey):
        raise TypeError(f"key must be a tokenfed.keys.PrivateKey, not {type(key).__name__}")
    if not isinstance(claims, Mapping):
        raise TypeError(f"claims must be a mapping, not {type(claims).__name__}")
    claims = dict(claims)
    jwks = check_claims(claims)
    if claims["iss"] == claims["sub"] and jwks.get(key.kid) is None:
        raise UnknownKeyError(
            f"an entity configuration is signed with a key of its own jwks; {key.kid} is not "
            "in it (FED-023)"
        )
    return _jws.sign(claims, key, STATEMENT_TYP)


@dataclass(frozen=True)
class TrustAnchor:
    """A trust anchor as the verifier configures it: its entity id and its federation keys,
    obtained out of band (FED-053). Its self-published keys are never used instead."""

    entity_id: str
    jwks: KeySet

    def __post_init__(self) -> None:
        if not isinstance(self.jwks, KeySet):
            raise TypeError("TrustAnchor.jwks must be a tokenfed.keys.KeySet")
        if not is_federation_entity_id(self.entity_id):
            raise ValueError(f"{self.entity_id!r} is not a federation entity id (FED-002)")
        if not len(self.jwks):
            raise ValueError("a trust anchor needs at least one pinned key")

    @classmethod
    def from_jwks(cls, entity_id: str, jwks: Mapping[str, Any]) -> TrustAnchor:
        """A pinned anchor from its entity id and JWK Set (as read from configuration).

        Raises:
            SchemaViolationError: ``entity_id`` is not a federation entity id.
            InvalidKeyError: the JWK Set breaks FED-015 (private key, kid not the thumbprint...).
        """
        if not is_federation_entity_id(entity_id):
            raise SchemaViolationError(
                f"trust anchor {entity_id!r:.80} is not a federation entity id (FED-002)"
            )
        return cls(entity_id, load_federation_jwks(jwks, what=f"pinned keys of {entity_id}"))
