"""Independent check of the ``federation`` vectors: static trust chains (chapter "Federation").

Written from the text of OpenID Federation 1.1 (sections 3, 4, 6 and 10, as the research notes
and the chapter quote them) and the tokenfed profile, without the reference SDK: statements are
decoded with the host checker's strict base64url decoder and strict JSON parser, signatures are
verified with ``cryptography`` directly (after the host's CONV-071/CONV-073 range checks), and
links, times, constraints, metadata policy and the application checks of the resolved
metadata are implemented here.

``check_vectors.py`` registers this module with ``install(globals())``; nothing here imports
``tokenfed``.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

__all__ = ["install"]

TYP = "entity-statement+jwt"
LEEWAY = 60
MAX_LIFETIME = 86400
MAX_AUTHORITY_HINTS = 8
MAX_STATEMENTS = 7  # subject EC + at most 4 intermediates' and the anchor's SSs + anchor EC
MAX_TOKEN_BYTES = 65536
ALGS = {("OKP", "Ed25519"): "EdDSA", ("EC", "P-256"): "ES256"}
THUMBPRINT_MEMBERS = {"OKP": ("crv", "kty", "x"), "EC": ("crv", "kty", "x", "y")}
# Claims that only an entity configuration, or only a subordinate statement, may carry (§3).
EC_ONLY = ("authority_hints", "trust_anchor_hints", "trust_marks", "trust_mark_issuers")
EC_ONLY += ("trust_mark_owners",)
SS_ONLY = ("constraints", "metadata_policy", "metadata_policy_crit", "source_endpoint")
DEFINED_CLAIMS = frozenset(
    ("iss", "sub", "iat", "exp", "jwks", "metadata", "crit", *EC_ONLY, *SS_ONLY)
)
# The tokenfed entity types and the member holding each one's document keys (FED-6).
KEY_MEMBERS = {
    "tokenfed_provider": "receipt_jwks",
    "tokenfed_operator": "entitlement_jwks",
    "tokenfed_clearing_house": "statement_jwks",
}
LEAF_FORBIDDEN = ("federation_fetch_endpoint", "federation_list_endpoint")
GENERIC_KEYS = ("jwks", "jwks_uri", "signed_jwks_uri")
OPERATORS = ("value", "add", "default", "one_of", "subset_of", "superset_of", "essential")
_MAJOR_MINOR = re.compile(r"(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)")

# The host checker's helpers, set by ``install``.
_host: dict[str, Any] = {}


def install(host: dict[str, Any]) -> None:
    """Take the host's helpers and register the ``federation`` checker with it."""
    _host.update(host)
    host["checker"]("federation")(check_federation)


def _reject(code: str, reason: str) -> Exception:
    rejected: Exception = _host["_Rejected"](code, reason)
    return rejected


# --------------------------------------------------------------------------- statements


@dataclass(frozen=True)
class Statement:
    header: dict[str, Any]
    claims: dict[str, Any]
    signing_input: bytes
    signature: bytes

    @property
    def iss(self) -> str:
        return str(self.claims["iss"])

    @property
    def sub(self) -> str:
        return str(self.claims["sub"])

    @property
    def is_configuration(self) -> bool:
        return self.iss == self.sub


def _is_federation_id(value: Any) -> bool:
    """A CONV-001 entity id (https, lowercase LDH host, optional port, path) that does not end
    in ``/``."""
    return bool(_host["_is_entity_id"](value)) and not value.endswith("/")


def _thumbprint(jwk: dict[str, Any]) -> str:
    """RFC 7638: SHA-256 over the required members, sorted, without white space."""
    required = {name: jwk[name] for name in THUMBPRINT_MEMBERS[jwk["kty"]]}
    text = json.dumps(required, separators=(",", ":"), sort_keys=True)
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return _b64encode(digest)


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _check_jwks(jwks: Any, where: str) -> dict[str, dict[str, Any]]:
    """A federation JWK Set: public keys of the registry, kid = thumbprint, each kid once."""
    keys = jwks.get("keys") if isinstance(jwks, dict) else None
    if not isinstance(keys, list):
        raise _reject("schema_violation", f"{where}: jwks is not an object with a keys array")
    by_kid: dict[str, dict[str, Any]] = {}
    for jwk in keys:
        if not isinstance(jwk, dict):
            raise _reject("schema_violation", f"{where}: a key is not an object")
        if any(name in jwk for name in ("d", "p", "q", "dp", "dq", "qi", "k")):
            raise _reject("invalid_key", f"{where}: a key has a private or symmetric member")
        if (jwk.get("kty"), jwk.get("crv")) not in ALGS:
            raise _reject("invalid_key", f"{where}: key type {jwk.get('kty')!r} is not allowed")
        _host["_check_key_values"](jwk)
        kid = jwk.get("kid")
        if kid != _thumbprint(jwk):
            raise _reject("invalid_key", f"{where}: kid {kid!r} is not the key's thumbprint")
        if kid in by_kid:
            raise _reject("invalid_key", f"{where}: kid {kid} twice")
        by_kid[kid] = jwk
    return by_kid


def _decode(token: Any, index: int) -> Statement:
    """JWS layer (CONV-060 steps 1 to 4), then the claims and the profile rules."""
    where = f"ES[{index}]"
    if not isinstance(token, str) or not token.isascii():
        raise _reject("malformed", f"{where} is not an ASCII string")
    if len(token) > MAX_TOKEN_BYTES:
        raise _reject("malformed", f"{where} is over {MAX_TOKEN_BYTES} bytes")
    segments = token.split(".")
    if len(segments) != 3:
        raise _reject("malformed", f"{where} has {len(segments)} segments")
    try:
        header_bytes, payload, signature = (
            _host["_b64url_strict"](segment, name)
            for segment, name in zip(segments, ("header", "payload", "signature"), strict=True)
        )
        header = _host["parse_strict_json"](header_bytes)
        claims = _host["parse_strict_json"](payload)
    except ValueError as exc:
        raise _reject("malformed", f"{where}: {exc}") from None
    if not isinstance(header, dict) or not isinstance(claims, dict):
        raise _reject("malformed", f"{where}: header or payload is not an object")
    if header.get("typ") != TYP:
        raise _reject("unsupported_typ", f"{where}: typ {header.get('typ')!r} is not {TYP}")
    if header.get("alg") not in ("EdDSA", "ES256"):
        raise _reject("unsupported_alg", f"{where}: alg {header.get('alg')!r}")
    if "crit" in header:
        raise _reject("unsupported_crit", f"{where}: a crit header parameter")
    if not isinstance(header.get("kid"), str) or not header["kid"]:
        raise _reject("unknown_key", f"{where}: no kid")
    for name in ("trust_chain", "peer_trust_chain"):
        if name in header:
            raise _reject("invalid_statement", f"{where}: a {name} header (§4.3, §4.4)")
    statement = Statement(header, claims, ".".join(segments[:2]).encode("ascii"), signature)
    _check_claims(statement, where)
    return statement


def _check_claims(statement: Statement, where: str) -> None:
    claims = statement.claims
    for name in ("iss", "sub"):
        if not isinstance(claims.get(name), str):
            raise _reject("schema_violation", f"{where}: {name} missing or not a string")
    for name in ("iat", "exp"):
        value = claims.get(name)
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise _reject("schema_violation", f"{where}: {name} missing or not a NumericDate")
    if "jwks" not in claims:
        raise _reject("schema_violation", f"{where}: jwks missing")
    shapes = {
        "metadata": dict,
        "authority_hints": list,
        "constraints": dict,
        "metadata_policy": dict,
        "crit": list,
    }
    for name, shape in shapes.items():
        if name in claims and not isinstance(claims[name], shape):
            raise _reject("schema_violation", f"{where}: {name} is not a {shape.__name__}")
    for name in ("iss", "sub"):
        if not _is_federation_id(claims[name]):
            raise _reject("invalid_statement", f"{where}: {name} is not a federation entity id")
    kind, others = (
        ("entity configuration", SS_ONLY)
        if statement.is_configuration
        else ("subordinate statement", EC_ONLY)
    )
    for name in others:
        if name in claims:
            raise _reject("invalid_statement", f"{where}: {name} in an {kind}")
    if "metadata_policy_crit" in claims:
        raise _reject("invalid_statement", f"{where}: metadata_policy_crit (no extra operators)")
    hints = claims.get("authority_hints")
    if hints is not None:
        if not hints:
            raise _reject("invalid_statement", f"{where}: authority_hints is []")
        if len(hints) > MAX_AUTHORITY_HINTS:
            raise _reject("invalid_statement", f"{where}: {len(hints)} authority hints")
        if not all(_is_federation_id(hint) for hint in hints):
            raise _reject("invalid_statement", f"{where}: an authority hint is not an entity id")
    if "crit" in claims:
        crit = claims["crit"]
        if not crit or len(set(map(str, crit))) != len(crit):
            raise _reject("invalid_statement", f"{where}: crit is [] or has duplicates")
        for name in crit:
            if name in DEFINED_CLAIMS:
                raise _reject("invalid_statement", f"{where}: crit lists the defined claim {name}")
            raise _reject("unsupported_crit", f"{where}: crit lists {name!r}, not understood")
    if claims["exp"] - claims["iat"] > MAX_LIFETIME:
        raise _reject("invalid_statement", f"{where}: lives more than {MAX_LIFETIME} s")
    metadata = claims.get("metadata") or {}
    for entity_type, parameters in metadata.items():
        if not isinstance(parameters, dict):
            raise _reject("schema_violation", f"{where}: metadata.{entity_type} is not an object")
        for name, value in parameters.items():
            if value is None:
                raise _reject("invalid_statement", f"{where}: metadata {entity_type}.{name} null")
    if statement.is_configuration and any(t in KEY_MEMBERS for t in metadata):
        federation = metadata.get("federation_entity") or {}
        for name in LEAF_FORBIDDEN:
            if name in federation:
                raise _reject("invalid_statement", f"{where}: a leaf publishes {name}")
    allowed = (claims.get("constraints") or {}).get("allowed_entity_types")
    if isinstance(allowed, list) and "federation_entity" in allowed:
        raise _reject("invalid_statement", f"{where}: allowed_entity_types lists federation_entity")
    _check_jwks(claims["jwks"], where)


# --------------------------------------------------------------------------- signatures


def _verify(statement: Statement, keys: dict[str, dict[str, Any]], where: str) -> None:
    """The header kid must name one of ``keys``; alg pinned to the key; the signature."""
    kid = statement.header["kid"]
    jwk = keys.get(kid)
    if jwk is None:
        raise _reject("unknown_key", f"{where}: kid {kid} is not in the issuer's key set")
    alg = ALGS[(jwk["kty"], jwk["crv"])]
    if statement.header["alg"] != alg:
        raise _reject("unsupported_alg", f"{where}: alg {statement.header['alg']} on an {alg} key")
    problem = _host["_signature_problem"](alg, statement.signature)
    if problem is not None:
        raise _reject("invalid_signature", f"{where}: {problem}")
    decode = _host["_b64url_strict"]
    try:
        if alg == "EdDSA":
            Ed25519PublicKey.from_public_bytes(decode(jwk["x"], "x")).verify(
                statement.signature, statement.signing_input
            )
        else:
            x, y = (int.from_bytes(decode(jwk[name], name), "big") for name in ("x", "y"))
            public = ec.EllipticCurvePublicNumbers(x, y, ec.SECP256R1()).public_key()
            r = int.from_bytes(statement.signature[:32], "big")
            s = int.from_bytes(statement.signature[32:], "big")
            public.verify(
                encode_dss_signature(r, s), statement.signing_input, ec.ECDSA(hashes.SHA256())
            )
    except InvalidSignature:
        raise _reject("invalid_signature", f"{where}: the signature does not verify") from None


# --------------------------------------------------------------------------- constraints


def _host_of(entity_id: str) -> str:
    authority = entity_id[len("https://") :].partition("/")[0]
    return authority.partition(":")[0]


def _name_matches(host: str, pattern: str) -> bool:
    """RFC 5280 section 4.2.1.10 for host names: ``.x`` matches hosts below x, not x itself;
    anything else matches exactly that host."""
    if pattern.startswith("."):
        return host.endswith(pattern)
    return host == pattern


def _apply_constraints(chain: list[Statement]) -> set[str] | None:
    """Each SS's constraints (§6.2) over the entities below its issuer; returns the entity
    types every ``allowed_entity_types`` keeps (``None``: no restriction)."""
    allowed: set[str] | None = None
    for j in range(1, len(chain) - 1):
        constraints = chain[j].claims.get("constraints") or {}
        below = [chain[i].sub for i in range(1, j + 1)]
        limit = constraints.get("max_path_length")
        if limit is not None:
            if not isinstance(limit, int) or isinstance(limit, bool) or limit < 0:
                raise _reject("invalid_statement", f"ES[{j}]: max_path_length {limit!r}")
            if j - 1 > limit:
                raise _reject(
                    "max_path_length_exceeded",
                    f"ES[{j}] by {chain[j].iss} allows {limit} intermediates, {j - 1} follow",
                )
        naming = constraints.get("naming_constraints")
        if naming is not None:
            permitted, excluded = naming.get("permitted"), naming.get("excluded", [])
            for entity_id in below:
                host = _host_of(entity_id)
                if any(_name_matches(host, pattern) for pattern in excluded):
                    raise _reject("naming_constraint_violated", f"{host} is excluded by ES[{j}]")
                if permitted is not None and not any(
                    _name_matches(host, pattern) for pattern in permitted
                ):
                    raise _reject("naming_constraint_violated", f"{host} not permitted by ES[{j}]")
        types = constraints.get("allowed_entity_types")
        if types is not None:
            allowed = set(types) if allowed is None else allowed & set(types)
    return allowed


def _check_recognition(chain: list[Statement], anchors: list[dict[str, Any]]) -> None:
    """FED-7: an SS by a configured anchor about another configured anchor is a recognition:
    all three constraints, no metadata and no metadata policy."""
    anchor_ids = {anchor["entity_id"] for anchor in anchors}
    for j in range(1, len(chain) - 1):
        statement = chain[j]
        if statement.iss in anchor_ids and statement.sub in anchor_ids:
            constraints = statement.claims.get("constraints") or {}
            missing = [
                name
                for name in ("max_path_length", "naming_constraints", "allowed_entity_types")
                if name not in constraints
            ]
            if missing:
                raise _reject("invalid_statement", f"ES[{j}]: recognition without {missing}")
            for name in ("metadata", "metadata_policy"):
                if name in statement.claims:
                    raise _reject("invalid_statement", f"ES[{j}]: recognition with {name}")


# --------------------------------------------------------------------------- metadata policy


def _policy_error(reason: str) -> Exception:
    return _reject("metadata_policy_error", reason)


def _within(items: list[Any], container: list[Any]) -> bool:
    return all(item in container for item in items)


def _check_operators(operators: dict[str, Any], where: str) -> dict[str, Any]:
    """The standard operators of one parameter (unknown ones dropped, §6.1.3.2), their value
    types and their combinations (§6.1.3.1)."""
    known = {name: value for name, value in operators.items() if name in OPERATORS}
    for name in ("add", "one_of", "subset_of", "superset_of"):
        if name in known and not isinstance(known[name], list):
            raise _policy_error(f"{where}: {name} is not an array")
    if "essential" in known and not isinstance(known["essential"], bool):
        raise _policy_error(f"{where}: essential is not a boolean")
    if "value" in known:
        value = known["value"]
        if isinstance(value, dict):
            raise _policy_error(f"{where}: value on an object")
        if value is None:
            for other in ("add", "default"):
                if other in known:
                    raise _policy_error(f"{where}: value null with {other}")
            if known.get("essential") is True:
                raise _policy_error(f"{where}: value null with essential true")
        members = value if isinstance(value, list) else [value]
        if "add" in known and not (
            isinstance(value, list) and all(item in value for item in known["add"])
        ):
            raise _policy_error(f"{where}: add is not a subset of value")
        if "one_of" in known and value not in known["one_of"]:
            raise _policy_error(f"{where}: value is not one of one_of")
        if "subset_of" in known and not all(item in known["subset_of"] for item in members):
            raise _policy_error(f"{where}: value is not a subset of subset_of")
        if "superset_of" in known and not all(item in members for item in known["superset_of"]):
            raise _policy_error(f"{where}: value is not a superset of superset_of")
    if "one_of" in known:
        for other in ("add", "subset_of", "superset_of"):
            if other in known:
                raise _policy_error(f"{where}: one_of with {other}")
    if "add" in known and "subset_of" in known and not _within(known["add"], known["subset_of"]):
        raise _policy_error(f"{where}: add is not a subset of subset_of")
    if (
        "subset_of" in known
        and "superset_of" in known
        and not _within(known["superset_of"], known["subset_of"])
    ):
        raise _policy_error(f"{where}: subset_of is not a superset of superset_of")
    return known


def _merge_operators(upper: dict[str, Any], lower: dict[str, Any], where: str) -> dict[str, Any]:
    """§6.1.4.1: the superior's operators merged with the subordinate's."""
    merged = dict(upper)
    for name, value in lower.items():
        if name not in merged:
            merged[name] = value
        elif name in ("value", "default"):
            if merged[name] != value:
                raise _policy_error(f"{where}: two different {name}s")
        elif name in ("add", "superset_of"):
            merged[name] = merged[name] + [item for item in value if item not in merged[name]]
        elif name in ("one_of", "subset_of"):
            merged[name] = [item for item in merged[name] if item in value]
            if name == "one_of" and not merged[name]:
                raise _policy_error(f"{where}: the one_of sets do not intersect")
        else:  # essential
            merged[name] = merged[name] or value
    return _check_operators(merged, where)


def _merge_policies(chain: list[Statement]) -> dict[str, dict[str, dict[str, Any]]]:
    """From the anchor's SS down to the subject's immediate superior (§6.1.4.1)."""
    merged: dict[str, dict[str, dict[str, Any]]] = {}
    for j in range(len(chain) - 2, 0, -1):
        policy = chain[j].claims.get("metadata_policy") or {}
        for entity_type, parameters in policy.items():
            if not isinstance(parameters, dict):
                raise _policy_error(f"ES[{j}]: policy for {entity_type} is not an object")
            into = merged.setdefault(entity_type, {})
            for name, operators in parameters.items():
                where = f"ES[{j}] {entity_type}.{name}"
                if not isinstance(operators, dict):
                    raise _policy_error(f"{where}: operators are not an object")
                known = _check_operators(operators, where)
                into[name] = _merge_operators(into[name], known, where) if name in into else known
    return merged


def _apply_policy(metadata: dict[str, Any], policy: dict[str, dict[str, dict[str, Any]]]) -> None:
    """§6.1.4.2: value, add, default, one_of, subset_of, superset_of, essential, in that order,
    for the entity types the subject has."""
    for entity_type, parameters in policy.items():
        if entity_type not in metadata:
            continue
        values = metadata[entity_type]
        for name, ops in parameters.items():
            where = f"{entity_type}.{name}"
            if "value" in ops:
                if ops["value"] is None:
                    values.pop(name, None)
                else:
                    values[name] = copy.deepcopy(ops["value"])
            if "add" in ops:
                current = values.get(name, [])
                if not isinstance(current, list):
                    raise _reject("invalid_metadata", f"{where}: add to a non-array")
                values[name] = current + [item for item in ops["add"] if item not in current]
            if "default" in ops and name not in values:
                values[name] = copy.deepcopy(ops["default"])
            if "one_of" in ops and name in values and values[name] not in ops["one_of"]:
                raise _reject("invalid_metadata", f"{where} {values[name]!r} is not in one_of")
            if "subset_of" in ops and name in values:
                if not isinstance(values[name], list):
                    raise _reject("invalid_metadata", f"{where}: subset_of on a non-array")
                values[name] = [item for item in values[name] if item in ops["subset_of"]]
            if "superset_of" in ops and name in values:
                current = values[name]
                if not isinstance(current, list) or not all(
                    item in current for item in ops["superset_of"]
                ):
                    raise _reject("invalid_metadata", f"{where} is not a superset of superset_of")
            if ops.get("essential") is True and name not in values:
                raise _reject("invalid_metadata", f"{where} is essential and absent")


# --------------------------------------------------------------------------- metadata checks


def _check_document_keys(member: str, jwks: Any, federation: set[str], entity_type: str) -> None:
    where = f"{entity_type}.{member}"
    keys = jwks.get("keys") if isinstance(jwks, dict) else None
    if not isinstance(keys, list) or not keys:
        raise _reject("invalid_metadata", f"{where} is not a non-empty JWK Set")
    for jwk in keys:
        if not isinstance(jwk, dict) or (jwk.get("kty"), jwk.get("crv")) not in ALGS:
            raise _reject("invalid_metadata", f"{where}: a key of another type")
        if any(name in jwk for name in ("d", "k")) or jwk.get("use") != "sig":
            raise _reject("invalid_metadata", f"{where}: a key that is private or not for sig")
        if jwk.get("kid") != _thumbprint(jwk):
            raise _reject("invalid_metadata", f"{where}: kid is not the thumbprint")
        if jwk.get("alg") != ALGS[(jwk["kty"], jwk["crv"])]:
            raise _reject("invalid_metadata", f"{where}: alg {jwk.get('alg')!r}")
        nbf = jwk.get("nbf")
        if not isinstance(nbf, int) or isinstance(nbf, bool):
            raise _reject("invalid_metadata", f"{where}: nbf missing")
        if jwk["kid"] in federation:
            raise _reject("invalid_metadata", f"{where}: {jwk['kid']} is also a federation key")


def _check_metadata(metadata: dict[str, Any], federation_kids: set[str]) -> None:
    """The application's checks of resolved tokenfed metadata (FED-6)."""
    for entity_type, member in KEY_MEMBERS.items():
        if entity_type not in metadata:
            continue
        values = metadata[entity_type]
        versions = values.get("tokenfed_versions")
        if (
            not isinstance(versions, list)
            or not versions
            or not all(isinstance(v, str) and _MAJOR_MINOR.fullmatch(v) for v in versions)
        ):
            raise _reject(
                "invalid_metadata", f"{entity_type}.tokenfed_versions {versions!r} is not usable"
            )
        for name in GENERIC_KEYS:
            if name in values:
                raise _reject("invalid_metadata", f"{entity_type} has {name}")
        if member not in values:
            raise _reject("invalid_metadata", f"{entity_type} has no {member}")
        _check_document_keys(member, values[member], federation_kids, entity_type)


# --------------------------------------------------------------------------- chains


def validate(
    tokens: Any, anchors: list[dict[str, Any]], now: int, entity_type: str | None
) -> dict[str, Any]:
    """Validate one static chain; the result or a rejection with its code."""
    if not isinstance(tokens, list) or not tokens:
        raise _reject("malformed", "the chain is not a non-empty array")
    chain = [_decode(token, index) for index, token in enumerate(tokens)]
    # Structure (§4, §3.2, §10.2).
    if len(chain) < 3:
        raise _reject("chain_not_well_formed", "a chain has the subject's EC, an SS, an anchor EC")
    if not chain[0].is_configuration:
        raise _reject("chain_not_well_formed", "ES[0] is not the subject's entity configuration")
    if not chain[-1].is_configuration:
        raise _reject("chain_not_well_formed", "the last statement is not an EC")
    for j in range(1, len(chain) - 1):
        if chain[j].is_configuration:
            raise _reject("chain_not_well_formed", f"ES[{j}] is an EC inside the chain")
    for j in range(len(chain) - 1):
        if chain[j].iss != chain[j + 1].sub:
            raise _reject("chain_not_well_formed", f"ES[{j}].iss is not ES[{j + 1}].sub")
    if chain[1].iss not in chain[0].claims.get("authority_hints", []):
        raise _reject(
            "chain_not_well_formed", f"{chain[1].iss} is not in the subject's authority_hints"
        )
    path = [chain[0].sub] + [chain[j].iss for j in range(1, len(chain) - 1)]
    if len(set(path)) != len(path):
        raise _reject("chain_not_well_formed", "an entity appears twice in the chain (a loop)")
    if len(chain) > MAX_STATEMENTS:
        raise _reject("path_too_long", f"{len(chain) - 3} intermediates (at most 4)")
    # The anchor: a configured one, its EC checked with its pinned keys only (FED-8).
    pinned = [a for a in anchors if a["entity_id"] == chain[-1].iss]
    if not pinned:
        raise _reject("no_trust_path", f"the chain ends at {chain[-1].iss}, not a pinned anchor")
    _check_recognition(chain, anchors)
    # Times (§10.2, with the profile's leeway).
    for index, statement in enumerate(chain):
        if statement.claims["iat"] > now + LEEWAY:
            raise _reject("statement_not_yet_valid", f"ES[{index}] iat is after now + {LEEWAY}")
        if statement.claims["exp"] + LEEWAY <= now:
            raise _reject("statement_expired", f"ES[{index}] expired")
    # Signatures: the anchor EC with the pinned keys, each ES[j] with ES[j + 1].jwks (§4).
    _verify(chain[-1], _check_jwks(pinned[0]["jwks"], "pinned anchor"), f"ES[{len(chain) - 1}]")
    for j in range(len(chain) - 2, -1, -1):
        _verify(chain[j], _check_jwks(chain[j + 1].claims["jwks"], f"ES[{j + 1}]"), f"ES[{j}]")
    # Constraints, then metadata: the SS about the subject, entity types, policy (§6).
    allowed = _apply_constraints(chain)
    metadata = copy.deepcopy(chain[0].claims.get("metadata") or {})
    for type_name, values in (chain[1].claims.get("metadata") or {}).items():
        if type_name in metadata:
            metadata[type_name].update(copy.deepcopy(values))
    if allowed is not None:
        for type_name in list(metadata):
            if type_name != "federation_entity" and type_name not in allowed:
                del metadata[type_name]
                if type_name == entity_type:
                    raise _reject(
                        "entity_type_not_allowed", f"{type_name} is removed by the constraints"
                    )
    _apply_policy(metadata, _merge_policies(chain))
    if entity_type is not None and entity_type not in metadata:
        raise _reject("entity_type_absent", f"the subject has no {entity_type} metadata")
    federation_kids = {jwk.get("kid") for jwk in chain[0].claims["jwks"]["keys"]}
    _check_metadata(metadata, federation_kids)
    return {
        "trust_anchor": chain[-1].iss,
        "path": path,
        "exp": min(statement.claims["exp"] for statement in chain),
        "metadata": metadata,
    }


def select(
    candidates: list[Any], anchors: list[dict[str, Any]], now: int, entity_type: str | None
) -> dict[str, Any]:
    """FED-10: drop candidates that do not validate, then anchor priority, fewest statements,
    latest exp, issuer ids in code point order."""
    order = [anchor["entity_id"] for anchor in anchors]
    ranked = []
    for index, tokens in enumerate(candidates):
        try:
            result = validate(tokens, anchors, now, entity_type)
        except _host["_Rejected"]:
            continue
        issuers = result["path"][1:]
        key = (order.index(result["trust_anchor"]), len(tokens), -result["exp"], issuers)
        ranked.append((key, index, result))
    if not ranked:
        raise _reject("no_trust_path", "no candidate chain validates")
    _, index, result = min(ranked, key=lambda item: item[0])
    return {**result, "chosen": index}


def check_federation(vector: dict[str, Any], context: Any) -> Any:
    """A ``federation`` vector: a chain (or candidates) -> the resolved result or ``{error}``."""
    given, expected = vector["input"], vector["expected"]
    args = (given["anchors"], given["now"], given["entity_type"])
    try:
        if given["op"] == "validate":
            result = validate(given["statements"], *args)
        elif given["op"] == "select":
            result = select(given["candidates"], *args)
        else:
            raise ValueError(f"unknown federation op {given['op']!r}")
    except _host["_Rejected"] as rejected:
        return _host["_judge"](expected, rejected, None)
    return _host["_judge"](expected, None, result)
