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
FEDERATION_ENDPOINTS = (
    "federation_fetch_endpoint",
    "federation_list_endpoint",
    "federation_historical_keys_endpoint",
)
GENERIC_KEYS = ("jwks", "jwks_uri", "signed_jwks_uri")
OPERATORS = ("value", "add", "default", "one_of", "subset_of", "superset_of", "essential")
REVOCATION_REASONS = ("unspecified", "compromised", "superseded")
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


class Statement:
    """One decoded statement: header, claims, the bytes its signature covers."""

    __slots__ = ("claims", "header", "signature", "signing_input")

    def __init__(
        self, header: dict[str, Any], claims: dict[str, Any], signing_input: bytes, signature: bytes
    ) -> None:
        self.header = header
        self.claims = claims
        self.signing_input = signing_input
        self.signature = signature

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
    if not keys:
        raise _reject("invalid_key", f"{where}: an empty key set")
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


def _open(token: Any, typ: str, where: str) -> tuple[dict[str, Any], dict[str, Any], bytes, bytes]:
    """The JWS layer (CONV-060 steps 1 to 4): header, claims, signing input, signature."""
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
    found = header.get("typ")
    if not isinstance(found, str) or _host["_normal_typ"](found) != typ:  # CONV-043
        raise _reject("unsupported_typ", f"{where}: typ {found!r} is not {typ}")
    if header.get("alg") not in ("EdDSA", "ES256"):
        raise _reject("unsupported_alg", f"{where}: alg {header.get('alg')!r}")
    if "crit" in header:
        raise _reject("unsupported_crit", f"{where}: a crit header parameter")
    return header, claims, ".".join(segments[:2]).encode("ascii"), signature


def _decode(token: Any, index: int) -> Statement:
    """One statement, in the order of FED-022: (1) the JWS layer, (2) the forbidden headers,
    (3) the crit claim, (4) the claims and their types, (5) the keys of jwks, (6) the content
    rules. Key, signature and time are checked in the chain."""
    where = f"ES[{index}]"
    header, claims, signing_input, signature = _open(token, TYP, where)
    for name in ("trust_chain", "peer_trust_chain"):
        if name in header:
            raise _reject("invalid_statement", f"{where}: a {name} header (§4.3, §4.4)")
    if "crit" in claims:
        raise _reject("unsupported_crit", f"{where}: a crit claim (no extension claims exist)")
    statement = Statement(header, claims, signing_input, signature)
    _check_types(statement, where)
    _check_jwks(claims["jwks"], where)
    _check_content(statement, where)
    return statement


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _strings(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


def _check_types(statement: Statement, where: str) -> None:
    """Step 4: the claims of the table, REQUIRED by kind, with their JSON types."""
    claims = statement.claims

    def wrong(name: str) -> Exception:
        return _reject("schema_violation", f"{where}: {name} missing or of the wrong type")

    for name in ("iss", "sub"):
        if not isinstance(claims.get(name), str):
            raise wrong(name)
    for name in ("iat", "exp"):
        if not _is_int(claims.get(name)) or claims[name] < 0:
            raise wrong(name)
    if not isinstance(claims.get("jwks"), dict):
        raise wrong("jwks")
    is_configuration = claims["iss"] == claims["sub"]
    if is_configuration and "metadata" not in claims:
        raise wrong("metadata")
    if not is_configuration and "source_endpoint" not in claims:
        raise wrong("source_endpoint")
    metadata = claims.get("metadata", {})
    if not isinstance(metadata, dict) or not all(
        value is None or isinstance(value, dict) for value in metadata.values()
    ):
        raise wrong("metadata")
    for name in ("authority_hints", "trust_anchor_hints"):
        if name in claims and not _strings(claims[name]):
            raise wrong(name)
    for name in ("constraints", "metadata_policy", "trust_mark_issuers", "trust_mark_owners"):
        if name in claims and not isinstance(claims[name], dict):
            raise wrong(name)
    if "source_endpoint" in claims and not isinstance(claims["source_endpoint"], str):
        raise wrong("source_endpoint")
    if "tokenfed_recognition" in claims and claims["tokenfed_recognition"] is not True:
        raise wrong("tokenfed_recognition")
    if "trust_marks" in claims and not (
        isinstance(claims["trust_marks"], list)
        and all(isinstance(mark, dict) for mark in claims["trust_marks"])
    ):
        raise wrong("trust_marks")
    constraints = claims.get("constraints", {})
    if "max_path_length" in constraints and not (
        _is_int(constraints["max_path_length"]) and constraints["max_path_length"] >= 0
    ):
        raise wrong("constraints.max_path_length")
    if "naming_constraints" in constraints:
        naming = constraints["naming_constraints"]
        if not isinstance(naming, dict) or not all(
            _strings(naming[name]) for name in ("permitted", "excluded") if name in naming
        ):
            raise wrong("constraints.naming_constraints")
    if "allowed_entity_types" in constraints and not _strings(constraints["allowed_entity_types"]):
        raise wrong("constraints.allowed_entity_types")


def _is_https_url(value: Any) -> bool:
    if not isinstance(value, str) or not value.startswith("https://") or "#" in value:
        return False
    authority = value[len("https://") :].split("/", 1)[0].split("?", 1)[0]
    return bool(authority) and "@" not in authority


def _is_name_entry(value: str) -> bool:
    """A naming constraint entry: a lowercase LDH host name, optionally with a leading dot."""
    host = value[1:] if value.startswith(".") else value
    return _host["_is_entity_id"]("https://" + host) and ":" not in host and "/" not in host


def _check_content(statement: Statement, where: str) -> None:
    """Step 6: the content rules FED-002, FED-014, FED-019, FED-016, FED-017, FED-018,
    FED-020, FED-042, FED-043 and FED-060, all ``invalid_statement``."""
    claims = statement.claims

    def bad(reason: str) -> Exception:
        return _reject("invalid_statement", f"{where}: {reason}")

    ids = [claims["iss"], claims["sub"], *claims.get("authority_hints", [])]
    ids += claims.get("trust_anchor_hints", [])
    for issuers in claims.get("trust_mark_issuers", {}).values():
        ids += issuers if isinstance(issuers, list) else []
    for entity_id in ids:
        if not _is_federation_id(entity_id):
            raise bad(f"{entity_id!r} is not a federation entity id")
    kind, others = (
        ("entity configuration", (*SS_ONLY, "tokenfed_recognition"))
        if statement.is_configuration
        else ("subordinate statement", EC_ONLY)
    )
    for name in others:
        if name in claims:
            raise bad(f"{name} in an {kind}")
    if "metadata_policy_crit" in claims:
        raise bad("metadata_policy_crit (no extra operators)")
    if not 1 <= claims["exp"] - claims["iat"] <= MAX_LIFETIME:
        raise bad(f"a lifetime of {claims['exp'] - claims['iat']} s, not in 1..{MAX_LIFETIME}")
    hints = claims.get("authority_hints")
    if hints is not None:
        if not 1 <= len(hints) <= MAX_AUTHORITY_HINTS:
            raise bad(f"{len(hints)} authority hints")
        if len(set(hints)) != len(hints) or claims["iss"] in hints:
            raise bad("authority_hints with a duplicate or the entity itself")
    metadata = claims.get("metadata", {})
    for entity_type, parameters in metadata.items():
        if parameters is None or any(value is None for value in parameters.values()):
            raise bad(f"null in metadata.{entity_type}")
    if claims.get("trust_anchor_hints") == []:
        raise bad("trust_anchor_hints is []")
    if any(issuers == [] for issuers in claims.get("trust_mark_issuers", {}).values()):
        raise bad("trust_mark_issuers maps a type to []")
    if statement.is_configuration:
        federation = metadata.get("federation_entity") or {}
        published = [name for name in FEDERATION_ENDPOINTS if name in federation]
        if published and any(t in KEY_MEMBERS for t in metadata):
            raise bad(f"a leaf publishes {published[0]}")
        if published and len(published) != len(FEDERATION_ENDPOINTS):
            raise bad("an EC publishes some federation endpoints but not all three")
    elif not _is_https_url(claims["source_endpoint"]):
        raise bad("source_endpoint is not an https URL without fragment")
    constraints = claims.get("constraints", {})
    naming = constraints.get("naming_constraints", {})
    for name in ("permitted", "excluded"):
        if naming.get(name) == []:
            raise bad(f"naming_constraints.{name} is []")
        for entry in naming.get(name, []):
            if not _is_name_entry(entry):
                raise bad(f"naming constraint entry {entry!r} is not a host name")
    allowed = constraints.get("allowed_entity_types")
    if allowed is not None and (
        "federation_entity" in allowed or len(set(allowed)) != len(allowed)
    ):
        raise bad("allowed_entity_types lists federation_entity or a type twice")
    if claims.get("tokenfed_recognition") is True:
        for name in ("max_path_length", "naming_constraints", "allowed_entity_types"):
            if name not in constraints:
                raise bad(f"a recognition statement without constraints.{name}")
        if "permitted" not in naming:
            raise bad("a recognition statement without naming_constraints.permitted")
        if not allowed or not all(t in KEY_MEMBERS for t in allowed):
            raise bad("a recognition statement must allow tokenfed entity types only")
        for name in ("metadata", "metadata_policy"):
            if name in claims:
                raise bad(f"a recognition statement with {name}")


# --------------------------------------------------------------------------- signatures


def _verify(statement: Statement, keys: dict[str, dict[str, Any]], where: str) -> None:
    """The header kid must name one of ``keys``; alg pinned to the key; the signature."""
    kid = statement.header.get("kid")
    jwk = keys.get(kid) if isinstance(kid, str) else None
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
    """FED-042 (RFC 5280 section 4.2.1.10, URI form): ``.x`` matches the hosts that end with
    ``.x`` and are longer, never x itself; anything else matches exactly that host."""
    if pattern.startswith("."):
        return host.endswith(pattern) and len(host) > len(pattern)
    return host == pattern


def _check_constraints(chain: list[Statement]) -> None:
    """FED-055: from the anchor's SS down; in each SS max_path_length, then the naming
    constraints over the hosts from the chain's subject up to the SS's subject."""
    for j in range(len(chain) - 2, 0, -1):
        constraints = chain[j].claims.get("constraints", {})
        limit = constraints.get("max_path_length")
        if limit is not None and j - 1 > limit:
            raise _reject(
                "max_path_length_exceeded",
                f"ES[{j}] by {chain[j].iss} allows {limit} intermediates, {j - 1} follow",
            )
        naming = constraints.get("naming_constraints")
        if naming is None:
            continue
        permitted, excluded = naming.get("permitted"), naming.get("excluded", [])
        for entity_id in [chain[i].sub for i in range(0, j + 1)]:
            host = _host_of(entity_id)
            if any(_name_matches(host, pattern) for pattern in excluded):
                raise _reject("naming_constraint_violated", f"{host} is excluded by ES[{j}]")
            if permitted is not None and not any(
                _name_matches(host, pattern) for pattern in permitted
            ):
                raise _reject("naming_constraint_violated", f"{host} not permitted by ES[{j}]")


def _allowed_types(chain: list[Statement]) -> set[str] | None:
    """The entity types that every ``allowed_entity_types`` keeps (``None``: no limit)."""
    allowed: set[str] | None = None
    for statement in chain[1:-1]:
        types = statement.claims.get("constraints", {}).get("allowed_entity_types")
        if types is not None:
            allowed = set(types) if allowed is None else allowed & set(types)
    return allowed


# --------------------------------------------------------------------------- metadata policy


def _policy_error(reason: str) -> Exception:
    return _reject("metadata_policy_error", reason)


def _same(left: Any, right: Any) -> bool:
    return bool(_host["_same"](left, right))


def _member(item: Any, items: list[Any]) -> bool:
    return any(_same(item, other) for other in items)


def _within(items: list[Any], container: list[Any]) -> bool:
    return all(_member(item, container) for item in items)


def _equal(left: Any, right: Any) -> bool:
    """Equal JSON values, arrays compared as sets (FED-106)."""
    if isinstance(left, list) and isinstance(right, list):
        return _within(left, right) and _within(right, left)
    return _same(left, right)


def _scalar(value: Any) -> bool:
    """A JSON string, integer or boolean (FED-102)."""
    return isinstance(value, str | int)


def _check_operators(operators: dict[str, Any], where: str) -> dict[str, Any]:
    """FED-100 (unknown operators dropped), FED-102 (operator value types, arrays are sets)
    and FED-104 (combinations)."""
    known = {name: value for name, value in operators.items() if name in OPERATORS}

    def scalars(value: Any) -> bool:
        return isinstance(value, list) and all(_scalar(item) for item in value)

    valid = {
        "value": lambda v: v is None or _scalar(v) or scalars(v),
        "add": _strings,
        "default": lambda v: _scalar(v) or scalars(v),
        "one_of": lambda v: _strings(v) and bool(v),
        "subset_of": _strings,
        "superset_of": _strings,
        "essential": lambda v: isinstance(v, bool),
    }
    for name, value in known.items():
        if not valid[name](value):
            raise _policy_error(f"{where}: {name} {value!r} is not of its type")
        if isinstance(value, list) and any(
            _member(item, value[:index]) for index, item in enumerate(value)
        ):
            raise _policy_error(f"{where}: {name} holds an element twice")
    value = known.get("value")
    rules = [
        ("value", "add", lambda: isinstance(value, list) and _within(known["add"], value)),
        ("value", "default", lambda: value is not None),
        ("value", "one_of", lambda: _scalar(value) and _member(value, known["one_of"])),
        (
            "value",
            "subset_of",
            lambda: isinstance(value, list) and _within(value, known["subset_of"]),
        ),
        (
            "value",
            "superset_of",
            lambda: isinstance(value, list) and _within(known["superset_of"], value),
        ),
        ("value", "essential", lambda: not (value is None and known["essential"] is True)),
        ("add", "one_of", lambda: False),
        ("add", "subset_of", lambda: _within(known["add"], known["subset_of"])),
        ("one_of", "subset_of", lambda: False),
        ("one_of", "superset_of", lambda: False),
        (
            "subset_of",
            "superset_of",
            lambda: _within(known["superset_of"], known["subset_of"]),
        ),
    ]
    for first, second, holds in rules:
        if first in known and second in known and not holds():
            raise _policy_error(f"{where}: {first} with {second} breaks FED-104")
    return known


def _merge_operators(upper: dict[str, Any], lower: dict[str, Any], where: str) -> dict[str, Any]:
    """FED-105..FED-110: the superior's operators merged with the subordinate's."""
    merged = dict(upper)
    for name, value in lower.items():
        if name not in merged:
            merged[name] = value
        elif name in ("value", "default"):
            if not _equal(merged[name], value):
                raise _policy_error(f"{where}: two different {name}s")
        elif name in ("add", "superset_of"):
            merged[name] = merged[name] + [i for i in value if not _member(i, merged[name])]
        elif name in ("one_of", "subset_of"):
            merged[name] = [item for item in merged[name] if _member(item, value)]
            if name == "one_of" and not merged[name]:
                raise _policy_error(f"{where}: the one_of sets do not intersect")
        else:  # essential
            merged[name] = merged[name] or value
    return _check_operators(merged, where)


def _merge_policies(chain: list[Statement]) -> dict[str, dict[str, dict[str, Any]]]:
    """FED-101, FED-105: from the anchor's SS down to the subject's immediate superior."""
    merged: dict[str, dict[str, dict[str, Any]]] = {}
    for j in range(len(chain) - 2, 0, -1):
        policy = chain[j].claims.get("metadata_policy", {})
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
    """FED-112..FED-121: value, add, default, one_of, subset_of, superset_of, essential, in
    that order, for the entity types the subject has."""
    for entity_type, parameters in policy.items():
        if entity_type not in metadata:
            continue
        values = metadata[entity_type]
        for name, ops in parameters.items():
            where = f"{entity_type}.{name}"

            def invalid(reason: str, where: str = where) -> Exception:
                return _reject("invalid_metadata", f"{where}: {reason}")

            if isinstance(values.get(name), dict) and set(ops) - {"essential"}:
                raise _policy_error(f"{where}: only essential applies to an object (FED-103)")
            if "value" in ops:
                if ops["value"] is None:
                    values.pop(name, None)
                else:
                    values[name] = copy.deepcopy(ops["value"])
            if "add" in ops:
                current = values.get(name, [])
                if not isinstance(current, list):
                    raise invalid("add to a parameter that is not an array")
                values[name] = current + [i for i in ops["add"] if not _member(i, current)]
            if "default" in ops and name not in values:
                values[name] = copy.deepcopy(ops["default"])
            if (
                "one_of" in ops
                and name in values
                and not (_scalar(values[name]) and _member(values[name], ops["one_of"]))
            ):
                raise invalid(f"{values[name]!r} is not one of one_of")
            if "subset_of" in ops and name in values:
                if not isinstance(values[name], list):
                    raise invalid("subset_of on a parameter that is not an array")
                values[name] = [i for i in values[name] if _member(i, ops["subset_of"])]
            if "superset_of" in ops and name in values:
                current = values[name]
                if not isinstance(current, list) or not _within(ops["superset_of"], current):
                    raise invalid("not a superset of superset_of")
            if ops.get("essential") is True and name not in values:
                raise invalid("essential and absent")


# --------------------------------------------------------------------------- metadata checks


def _check_document_keys(where: str, jwks: Any, federation: set[str]) -> None:
    """FED-032, FED-033: a non-empty JWK Set by value of public registry keys with kid, alg,
    use sig, nbf, optional exp and revoked; none of them a federation key."""
    keys = jwks.get("keys") if isinstance(jwks, dict) else None
    if not isinstance(keys, list) or not keys:
        raise _reject("invalid_metadata", f"{where} is not a non-empty JWK Set")
    for jwk in keys:
        if not isinstance(jwk, dict) or (jwk.get("kty"), jwk.get("crv")) not in ALGS:
            raise _reject("invalid_metadata", f"{where}: a key of another type")
        if any(name in jwk for name in ("d", "k")) or jwk.get("use") != "sig":
            raise _reject("invalid_metadata", f"{where}: a key that is private or not for sig")
        try:
            _host["_check_key_values"](jwk)
        except _host["_Rejected"] as rejected:
            raise _reject("invalid_metadata", f"{where}: {rejected.reason}") from None
        if jwk.get("kid") != _thumbprint(jwk):
            raise _reject("invalid_metadata", f"{where}: kid is not the thumbprint")
        if jwk.get("alg") != ALGS[(jwk["kty"], jwk["crv"])]:
            raise _reject("invalid_metadata", f"{where}: alg {jwk.get('alg')!r}")
        if not _is_int(jwk.get("nbf")) or ("exp" in jwk and not _is_int(jwk["exp"])):
            raise _reject("invalid_metadata", f"{where}: nbf missing or exp not a date")
        if "revoked" in jwk:
            revoked = jwk["revoked"]
            if (
                not isinstance(revoked, dict)
                or not _is_int(revoked.get("revoked_at"))
                or revoked.get("reason", "unspecified") not in REVOCATION_REASONS
            ):
                raise _reject("invalid_metadata", f"{where}: revoked is not well formed")
        if jwk["kid"] in federation:
            raise _reject("invalid_metadata", f"{where}: {jwk['kid']} is also a federation key")


def _check_metadata(metadata: dict[str, Any], federation_kids: set[str]) -> None:
    """FED-031 to FED-034 for every entity type of the resolved metadata."""
    for entity_type, values in metadata.items():
        for name, value in values.items():
            if name.endswith(("_uri", "_endpoint")) and not _is_https_url(value):
                raise _reject(
                    "invalid_metadata", f"{entity_type}.{name} is not an https URL (no fragment)"
                )
        member = KEY_MEMBERS.get(entity_type)
        if member is None:
            continue
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
        _check_document_keys(f"{entity_type}.{member}", values[member], federation_kids)


# The key table (FED-035): document typ -> the entity types to look in, in order.
KEY_TABLE = {
    "tokenfed-receipt+jwt": ("tokenfed_provider",),
    "tokenfed-receipt-batch+jwt": ("tokenfed_provider",),
    "tokenfed-rate-card+jwt": ("tokenfed_provider",),
    "tokenfed-settlement-statement+jwt": ("tokenfed_provider", "tokenfed_clearing_house"),
    "tokenfed-entitlement+jwt": ("tokenfed_operator",),
    "tokenfed-settlement-response+jwt": ("tokenfed_operator",),
    "tokenfed-exchange-rates+jwt": ("tokenfed_clearing_house",),
    "tokenfed-netting-report+jwt": ("tokenfed_clearing_house",),
    "tokenfed-revenue-share+jwt": (
        "tokenfed_provider",
        "tokenfed_operator",
        "tokenfed_clearing_house",
    ),
}


def _document_keys(metadata: dict[str, Any], typ: str) -> list[str]:
    types = KEY_TABLE.get(typ)
    if types is None:
        raise _reject("unsupported_typ", f"{typ} is not in the key table")
    for entity_type in types:
        if entity_type in metadata:
            return [jwk["kid"] for jwk in metadata[entity_type][KEY_MEMBERS[entity_type]]["keys"]]
    raise _reject("entity_type_absent", f"the subject has none of {', '.join(types)}")


# --------------------------------------------------------------------------- chains


def validate(
    tokens: Any, anchors: list[dict[str, Any]], now: int, entity_type: str | None
) -> dict[str, Any]:
    """FED-050: count, decode, structure, signatures, times, constraints, metadata; the first
    failing step decides the code."""
    # 1. Count.
    if not isinstance(tokens, list):
        raise _reject("malformed", "the chain is not an array")
    if len(tokens) > MAX_STATEMENTS:
        raise _reject("path_too_long", f"{len(tokens)} statements, {len(tokens) - 3} intermediates")
    if len(tokens) < 3:
        raise _reject("chain_not_well_formed", f"{len(tokens)} statements, at least 3 are needed")
    # 2. Decode (FED-022).
    chain = [_decode(token, index) for index, token in enumerate(tokens)]
    m = len(chain) - 1
    # 3. Structure: FED-051, FED-061, FED-052.
    if not chain[0].is_configuration or not chain[m].is_configuration:
        raise _reject("chain_not_well_formed", "ES[0] and the last statement must be ECs")
    for j in range(1, m):
        if chain[j].is_configuration:
            raise _reject("chain_not_well_formed", f"ES[{j}] is an EC inside the chain")
    for j in range(m):
        if chain[j].iss != chain[j + 1].sub:
            raise _reject("chain_not_well_formed", f"ES[{j}].iss is not ES[{j + 1}].sub")
    if chain[1].iss not in chain[0].claims.get("authority_hints", []):
        raise _reject(
            "chain_not_well_formed", f"{chain[1].iss} is not in the subject's authority_hints"
        )
    path = [chain[0].sub] + [chain[j].iss for j in range(1, m)]
    if len(set(path)) != len(path):
        raise _reject("chain_not_well_formed", "an entity appears twice on the path (a loop)")
    for j in range(1, m - 1):
        if chain[j].claims.get("tokenfed_recognition") is True:
            raise _reject("chain_not_well_formed", f"ES[{j}] is a recognition statement")
    pinned = [a for a in anchors if a["entity_id"] == chain[m].sub]
    if not pinned:
        raise _reject("no_trust_path", f"the chain ends at {chain[m].sub}, not a pinned anchor")
    # 4. Signatures (FED-053): ES[m] and ES[m-1] with the pinned keys, never the anchor's
    # published jwks; each other SS with the keys the statement above attests; ES[0] also with
    # a kid of its own jwks.
    anchor_keys = _check_jwks(pinned[0]["jwks"], "pinned anchor")
    _verify(chain[m], anchor_keys, f"ES[{m}]")
    _verify(chain[m - 1], anchor_keys, f"ES[{m - 1}]")
    for j in range(m - 2, -1, -1):
        _verify(chain[j], _check_jwks(chain[j + 1].claims["jwks"], f"ES[{j + 1}]"), f"ES[{j}]")
    if chain[0].header.get("kid") not in _check_jwks(chain[0].claims["jwks"], "ES[0]"):
        raise _reject("unknown_key", "ES[0] is signed with a key its own jwks does not list")
    # 5. Times (FED-021, FED-054).
    for index, statement in enumerate(chain):
        if statement.claims["exp"] + LEEWAY <= now:
            raise _reject("statement_expired", f"ES[{index}] expired")
        if statement.claims["iat"] > now + LEEWAY:
            raise _reject("statement_not_yet_valid", f"ES[{index}] iat is after now + {LEEWAY}")
    # 6. Constraints (FED-055).
    _check_constraints(chain)
    # 7. Metadata (FED-056 to FED-058).
    metadata = copy.deepcopy(chain[0].claims.get("metadata", {}))
    for type_name, values in chain[1].claims.get("metadata", {}).items():
        if type_name in metadata:
            metadata[type_name].update(copy.deepcopy(values))
    allowed = _allowed_types(chain)
    removed = set()
    if allowed is not None:
        removed = {t for t in metadata if t != "federation_entity" and t not in allowed}
        metadata = {t: values for t, values in metadata.items() if t not in removed}
    if entity_type in removed:
        raise _reject("entity_type_not_allowed", f"{entity_type} is removed by the constraints")
    if entity_type is not None and entity_type not in metadata:
        raise _reject("entity_type_absent", f"the subject has no {entity_type} metadata")
    _apply_policy(metadata, _merge_policies(chain))
    federation_kids = set(_check_jwks(chain[0].claims["jwks"], "ES[0]"))
    federation_kids |= set(_check_jwks(chain[1].claims["jwks"], "ES[1]"))
    _check_metadata(metadata, federation_kids)
    return {
        "trust_anchor": chain[m].sub,
        "path": path,
        "exp": min(statement.claims["exp"] for statement in chain),
        "metadata": metadata,
    }


# --------------------------------------------------------------------------- history

HISTORICAL_TYP = "jwk-set+jwt"


def _is_date(value: Any) -> bool:
    return _is_int(value) and 0 <= value <= 2**53 - 1


def _historical_keys(token: Any, pinned: dict[str, dict[str, Any]]) -> tuple[str, dict[str, Any]]:
    """FED-150 (the document and its keys), then FED-151 (signed with a current key)."""
    where = "historical keys"
    header, claims, signing_input, signature = _open(token, HISTORICAL_TYP, where)
    iss, keys = claims.get("iss"), claims.get("keys")
    if not _is_federation_id(iss) or not _is_date(claims.get("iat")) or not isinstance(keys, list):
        raise _reject("schema_violation", f"{where}: iss, iat or keys missing or mistyped")
    if not all(isinstance(jwk, dict) for jwk in keys):
        raise _reject("schema_violation", f"{where}: a key is not an object")
    listed: dict[str, dict[str, Any]] = {}
    for jwk in keys:
        revoked = jwk.get("revoked", {"revoked_at": 0})
        problems = [
            any(name in jwk for name in ("d", "p", "q", "k")),
            not isinstance(jwk.get("kid"), str),
            not _is_date(jwk.get("exp")),
            any(name in jwk and not _is_date(jwk[name]) for name in ("iat", "nbf")),
            not isinstance(revoked, dict) or not _is_date(revoked.get("revoked_at")),
            isinstance(revoked, dict)
            and revoked.get("reason", "unspecified") not in REVOCATION_REASONS,
            (jwk.get("kty"), jwk.get("crv")) not in ALGS,
            _is_date(jwk.get("nbf")) and _is_date(jwk.get("exp")) and jwk["exp"] <= jwk["nbf"],
        ]
        if any(problems):
            raise _reject("invalid_key", f"{where}: a listed key breaks FED-150")
        _host["_check_key_values"](jwk)
        if jwk["kid"] != _thumbprint(jwk) or jwk["kid"] in listed:
            raise _reject("invalid_key", f"{where}: a kid that is not a thumbprint or repeated")
        listed[jwk["kid"]] = jwk
    _verify(Statement(header, claims, signing_input, signature), pinned, where)
    return iss, listed


def _key_window(jwk: dict[str, Any], iat: int, listed: bool) -> str | None:
    """FED-155, FED-156 for a listed key; the key's own window (REC-030) for a pinned one."""
    revoked = jwk.get("revoked")
    if listed and isinstance(revoked, dict) and revoked.get("reason") == "compromised":
        return "revoked as compromised"
    if isinstance(revoked, dict) and iat >= revoked["revoked_at"]:
        return "issued at or after revoked_at"
    if "exp" in jwk and iat >= jwk["exp"]:
        return "issued at or after the key's exp"
    if "nbf" in jwk and iat < jwk["nbf"]:
        return "issued before the key's nbf"
    return None


def archived(
    tokens: Any,
    anchors: list[dict[str, Any]],
    historical: Any,
    now: int,
    entity_type: str | None,
) -> dict[str, Any]:
    """FED-154: the anchor's statements of an archived chain must each be signed with a key
    that vouched for it at its iat (a listed historical key governs its kid), then the chain is
    validated at ``now`` with those keys."""
    (anchor,) = anchors
    pinned = _check_jwks(anchor["jwks"], "pinned anchor")
    listed: dict[str, dict[str, Any]] = {}
    if historical is not None:
        _, listed = _historical_keys(historical, pinned)
    admitted = {kid: jwk for kid, jwk in pinned.items() if kid not in listed}
    for index, token in enumerate(tokens if isinstance(tokens, list) else []):
        try:
            header, claims, _, _ = _open(token, TYP, f"ES[{index}]")
        except _host["_Rejected"]:
            continue
        kid, iat = header.get("kid"), claims.get("iat")
        if claims.get("iss") != anchor["entity_id"] or not isinstance(kid, str):
            continue
        if not _is_date(iat):
            continue
        jwk = listed.get(kid) or admitted.get(kid)
        if jwk is None:
            continue
        problem = _key_window(jwk, iat, kid in listed)
        if problem is not None:
            raise _reject("key_not_valid", f"ES[{index}] by the anchor: {problem}")
        if kid in listed:
            admitted[kid] = jwk
    if not admitted:
        raise _reject("unknown_key", "no key of the anchor is left")
    keys = [
        {name: value for name, value in jwk.items() if name not in ("exp", "nbf", "revoked")}
        for jwk in admitted.values()
    ]
    return validate(
        tokens, [{"entity_id": anchor["entity_id"], "jwks": {"keys": keys}}], now, entity_type
    )


def select(
    candidates: list[Any], anchors: list[dict[str, Any]], now: int, entity_type: str | None
) -> dict[str, Any]:
    """FED-071: drop candidates that do not validate, then anchor order, fewest statements,
    latest exp, the path in code point order."""
    order = [anchor["entity_id"] for anchor in anchors]
    ranked = []
    for index, tokens in enumerate(candidates):
        try:
            result = validate(tokens, anchors, now, entity_type)
        except _host["_Rejected"]:
            continue
        key = (order.index(result["trust_anchor"]), len(tokens), -result["exp"], result["path"])
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
            if "document_typ" in given:
                result["document_keys"] = _document_keys(result["metadata"], given["document_typ"])
        elif given["op"] == "select":
            result = select(given["candidates"], *args)
        elif given["op"] == "archived":
            result = archived(
                given["statements"],
                given["anchors"],
                given["historical_keys"],
                given["now"],
                given["entity_type"],
            )
        else:
            raise ValueError(f"unknown federation op {given['op']!r}")
    except _host["_Rejected"] as rejected:
        return _host["_judge"](expected, rejected, None)
    return _host["_judge"](expected, None, result)
