"""The checks of live mode: what a counterparty sees of a running node over HTTP.

Each check is a named function of a :class:`Probe` that returns the problems it found (none:
passed). Checks never trust an answer they have not verified: the entity configuration is read
strictly and checked against its own keys (and the pinned keys, when given), statements
fetched from an authority against the authority's keys, receipts against the receipt keys the
provider's chain resolves to under the suite's own anchor.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction
from functools import cache
from typing import Any
from urllib.parse import urlsplit

from .._codec import StrictJSONError, b64e, loads_strict
from .._federation import (
    LEEWAY,
    MAX_LIFETIME,
    TYP_HISTORICAL_KEYS,
    TYP_STATEMENT,
    DecodedJWS,
    JWSFormatError,
    decode_jws,
    jwk_problems,
    kids,
    pretty,
    verify_with_jwks,
    well_known,
)
from .._reference import RefError, price, round_half_even, to_decimal
from ..vectors import spec_dir
from ._counterparty import ANCHOR_ID, OPERATOR_ID, SuiteFederation
from ._http import Http, HttpError, Response

__all__ = ["CHECKS", "LiveCheck", "Probe"]

MEDIA_STATEMENT = "application/entity-statement+jwt"
MEDIA_JWKS_JWT = "application/jwk-set+jwt"
_TYP_RECEIPT = "tokenfed-receipt+jwt"
_TYP_RATE_CARD = "tokenfed-rate-card+jwt"
_MAX_LISTED = 16
REFUSAL_STATUS = {
    "limit_exceeded": 409,
    "wrong_audience": 403,
    "out_of_scope": 403,
    "entitlement_expired": 403,
    "unknown_key": 403,
}
"""The statuses of the HTTP API chapter's table (API-017) for the refusals the checks provoke."""
_OIDF_CODES = {
    "invalid_request",
    "invalid_client",
    "not_found",
    "unsupported_parameter",
    "server_error",
    "temporarily_unavailable",
    "payload_too_large",
    "unsupported_media_type",
}
_EC_ONLY = {"authority_hints", "trust_anchor_hints", "trust_marks", "trust_mark_issuers",
            "trust_mark_owners"}  # fmt: skip
_SS_ONLY = {"constraints", "metadata_policy", "metadata_policy_crit", "source_endpoint"}
_AUTHORITY_ENDPOINTS = (
    "federation_fetch_endpoint",
    "federation_list_endpoint",
    "federation_historical_keys_endpoint",
)
_TYPE_KEYS = {
    "tokenfed_provider": "receipt_jwks",
    "tokenfed_operator": "entitlement_jwks",
    "tokenfed_clearing_house": "statement_jwks",
}


@cache
def registered_codes() -> frozenset[str]:
    """Every code of the error registry (spec/errors.md), plus the HTTP API codes of OpenID
    Federation §8.9 that the node's endpoints answer with."""
    text = (spec_dir() / "errors.md").read_text(encoding="utf-8")
    found = set()
    for line in text.splitlines():
        if line.startswith("### `") and line.count("`") >= 2:
            found.add(line.split("`")[1])
    return frozenset(found | _OIDF_CODES)


class CheckFailed(Exception):
    """A prerequisite of a check failed (the message says which)."""


@dataclass
class Probe:
    """The node under test, as the suite sees it, and what earlier checks learned."""

    http: Http
    entity_id: str
    anchor_keys: dict[str, Any] | None
    federation: SuiteFederation | None
    clock: Callable[[], float] = time.time
    _configuration: DecodedJWS | None = None
    _configuration_problem: str | None = None
    _provider: dict[str, Any] = field(default_factory=dict)

    @property
    def now(self) -> int:
        return int(self.clock())

    # ------------------------------------------------------------------ configuration

    def configuration_response(self) -> Response:
        return self.http.get(well_known(self.entity_id))

    def configuration(self) -> DecodedJWS:
        """The entity configuration, read once (CheckFailed if it cannot be read at all)."""
        if self._configuration is None and self._configuration_problem is None:
            try:
                response = self.configuration_response()
                if response.status != 200:
                    raise CheckFailed(f"the entity configuration answered {response.status}")
                self._configuration = decode_jws(response.body.decode("ascii").strip())
                if not isinstance(self._configuration.claims, dict):
                    raise CheckFailed("the entity configuration's payload is not an object")
            except (HttpError, CheckFailed, JWSFormatError, UnicodeDecodeError) as exc:
                self._configuration = None
                self._configuration_problem = f"the entity configuration cannot be read: {exc}"
        if self._configuration is None:
            raise CheckFailed(self._configuration_problem or "no entity configuration")
        return self._configuration

    @property
    def claims(self) -> dict[str, Any]:
        claims = self.configuration().claims
        assert isinstance(claims, dict)
        return claims

    @property
    def metadata(self) -> dict[str, Any]:
        value = self.claims.get("metadata")
        return value if isinstance(value, dict) else {}

    def is_authority(self) -> bool:
        """An anchor or intermediate: its configuration advertises a fetch endpoint."""
        try:
            federation = self.metadata.get("federation_entity")
        except CheckFailed:
            return False
        return isinstance(federation, dict) and "federation_fetch_endpoint" in federation

    def is_provider(self) -> bool:
        try:
            return isinstance(self.metadata.get("tokenfed_provider"), dict)
        except CheckFailed:
            return False

    def endpoint(self, name: str) -> str:
        federation = self.metadata.get("federation_entity")
        url = federation.get(name) if isinstance(federation, dict) else None
        if not isinstance(url, str):
            raise CheckFailed(f"the configuration has no federation_entity.{name}")
        return url


@dataclass(frozen=True)
class LiveCheck:
    """One live check: its id, profile, requirements, why, and when it applies."""

    name: str
    profile: str
    requirements: tuple[str, ...]
    reason: str
    run: Callable[[Probe], list[str]]
    applies: Callable[[Probe], bool] = lambda probe: True


# --------------------------------------------------------------------------- helpers


def error_problems(response: Response, status: int, code: str) -> list[str]:
    """The problems of an error answer that should be ``status`` with the JSON error object of
    the conventions chapter and OpenID Federation §8.9 (``error``, ``error_description``,
    ``message``), code ``code``."""
    problems = []
    if response.status != status:
        problems.append(f"status {response.status}, expected {status}")
    if response.media_type != "application/json":
        problems.append(f"Content-Type {response.content_type!r}, expected application/json")
    try:
        body = loads_strict(response.body)
    except (StrictJSONError, UnicodeDecodeError):
        return [*problems, f"the error body is not strict JSON: {response.body[:200]!r}"]
    if not isinstance(body, dict):
        return [*problems, "the error body is not a JSON object"]
    if body.get("error") != code:
        problems.append(f"error {body.get('error')!r}, expected {code!r}")
    for member in ("error_description", "message"):
        if not isinstance(body.get(member), str) or not body.get(member):
            problems.append(f"the error body lacks a text {member!r}")
    if isinstance(body.get("error"), str) and body["error"] not in registered_codes():
        problems.append(f"error code {body['error']!r} is not registered")
    return problems


def statement_problems(
    response: Response, *, iss: str, sub: str, keys: Any, now: int
) -> tuple[list[str], DecodedJWS | None]:
    """A fetched entity statement: 200, exact media type, typ, iss/sub, signature with ``keys``,
    lifetime window."""
    problems = []
    if response.status != 200:
        return [f"status {response.status}, expected 200"], None
    if response.content_type != MEDIA_STATEMENT:
        problems.append(f"Content-Type {response.content_type!r}, expected {MEDIA_STATEMENT}")
    try:
        decoded = decode_jws(response.body.decode("ascii").strip())
    except (JWSFormatError, UnicodeDecodeError) as exc:
        return [*problems, f"not a compact JWS: {exc}"], None
    if decoded.header.get("typ") != TYP_STATEMENT:
        problems.append(f"typ {decoded.header.get('typ')!r}, expected {TYP_STATEMENT}")
    claims = decoded.claims
    if not isinstance(claims, dict):
        return [*problems, "the payload is not a JSON object"], decoded
    if claims.get("iss") != iss or claims.get("sub") != sub:
        problems.append(
            f"iss/sub {claims.get('iss')!r}/{claims.get('sub')!r}, expected {iss}/{sub}"
        )
    problem = verify_with_jwks(decoded.token, keys)
    if problem:
        problems.append(problem)
    problems += lifetime_problems(claims, now)
    return problems, decoded


def lifetime_problems(claims: dict[str, Any], now: int) -> list[str]:
    iat, exp = claims.get("iat"), claims.get("exp")
    if type(iat) is not int or type(exp) is not int:
        return [f"iat/exp are not integers: {iat!r}/{exp!r}"]
    problems = []
    if iat > now + LEEWAY:
        problems.append(f"iat {iat} is in the future (now {now})")
    if exp + LEEWAY <= now:
        problems.append(f"exp {exp} has passed (now {now})")
    if exp - iat > MAX_LIFETIME:
        problems.append(f"exp - iat = {exp - iat} s, more than 24 hours")
    if exp <= iat:
        problems.append("exp is not later than iat")
    return problems


def _null_paths(value: Any, path: str) -> list[str]:
    if value is None:
        return [path]
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in _null_paths(v, f"{path}.{k}")]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in _null_paths(v, f"{path}[{i}]")]
    return []


def _guard(check: Callable[[Probe], list[str]]) -> Callable[[Probe], list[str]]:
    def run(probe: Probe) -> list[str]:
        try:
            return check(probe)
        except CheckFailed as exc:
            return [str(exc)]
        except HttpError as exc:
            return [f"no HTTP answer: {exc}"]

    return run


# --------------------------------------------------------------------------- configuration


def check_ec_served(probe: Probe) -> list[str]:
    response = probe.configuration_response()
    problems = []
    if response.status != 200:
        problems.append(f"GET {well_known(probe.entity_id)}: status {response.status}")
    if response.content_type != MEDIA_STATEMENT:
        problems.append(
            f"Content-Type {response.content_type!r}, expected exactly {MEDIA_STATEMENT}"
        )
    return problems


def check_ec_signed(probe: Probe) -> list[str]:
    decoded = probe.configuration()
    claims = probe.claims
    problems = []
    if decoded.header.get("typ") != TYP_STATEMENT:
        problems.append(f"typ {decoded.header.get('typ')!r}, expected {TYP_STATEMENT}")
    if claims.get("iss") != probe.entity_id or claims.get("sub") != probe.entity_id:
        problems.append(
            f"iss {claims.get('iss')!r} and sub {claims.get('sub')!r} must both be the entity "
            f"id {probe.entity_id}"
        )
    for name in ("trust_chain", "peer_trust_chain", "crit", "jku", "x5u"):
        if name in decoded.header:
            problems.append(f"forbidden header member {name!r}")
    problems += jwk_problems(claims.get("jwks"), "jwks")
    problem = verify_with_jwks(decoded.token, claims.get("jwks"))
    if problem:
        problems.append(f"not self-signed with a key of its jwks: {problem}")
    return problems


def check_ec_lifetime(probe: Probe) -> list[str]:
    return lifetime_problems(probe.claims, probe.now)


def check_ec_claims(probe: Probe) -> list[str]:
    claims = probe.claims
    problems = [
        f"{name} is a subordinate-statement claim" for name in sorted(_SS_ONLY & set(claims))
    ]
    hints = claims.get("authority_hints")
    if hints is not None:
        if not isinstance(hints, list) or not hints:
            problems.append("authority_hints, when present, is a non-empty array")
        elif len(hints) > 8:
            problems.append(f"{len(hints)} authority_hints (at most 8)")
        elif probe.entity_id in hints:
            problems.append("authority_hints lists the entity itself")
    if not isinstance(claims.get("metadata"), dict) or not claims["metadata"]:
        problems.append("no metadata object")
    problems += [
        f"null value at {path}" for path in _null_paths(claims.get("metadata"), "metadata")
    ]
    return problems


def check_ec_metadata(probe: Probe) -> list[str]:
    metadata = probe.metadata
    problems = []
    federation_kids = kids(probe.claims.get("jwks"))
    known = {"federation_entity", *_TYPE_KEYS}
    for entity_type in sorted(set(metadata) - known):
        problems.append(f"entity type {entity_type!r} is not one of the federation chapter")
    federation = metadata.get("federation_entity")
    if isinstance(federation, dict):
        published = [name for name in _AUTHORITY_ENDPOINTS if name in federation]
        if published and len(published) != len(_AUTHORITY_ENDPOINTS):
            missing = sorted(set(_AUTHORITY_ENDPOINTS) - set(published))
            problems.append(
                f"an anchor or intermediate publishes every endpoint; missing {missing}"
            )
        for name in (*_AUTHORITY_ENDPOINTS, "federation_resolve_endpoint"):
            url = federation.get(name)
            if url is not None and (
                not isinstance(url, str) or urlsplit(url).scheme != "https" or "#" in url
            ):
                problems.append(f"federation_entity.{name} {url!r} is not an https URL")
        tokenfed_types = sorted(set(metadata) & set(_TYPE_KEYS))
        if published and tokenfed_types:
            problems.append(f"an anchor or intermediate is also {tokenfed_types} (roles are apart)")
    for entity_type, member in _TYPE_KEYS.items():
        values = metadata.get(entity_type)
        if values is None:
            continue
        if not isinstance(values, dict):
            problems.append(f"metadata.{entity_type} is not an object")
            continue
        versions = values.get("tokenfed_versions")
        if not isinstance(versions, list) or not versions:
            problems.append(f"{entity_type}.tokenfed_versions is not a non-empty array")
        jwks = values.get(member)
        if jwks is None:
            problems.append(f"{entity_type}.{member} is missing (REQUIRED)")
            continue
        problems += jwk_problems(jwks, f"{entity_type}.{member}")
        for index, jwk in enumerate(jwks.get("keys", []) if isinstance(jwks, dict) else []):
            if isinstance(jwk, dict) and type(jwk.get("nbf")) is not int:
                problems.append(f"{entity_type}.{member}.keys[{index}] has no integer nbf")
            if isinstance(jwk, dict) and jwk.get("kid") in federation_kids:
                problems.append(
                    f"{entity_type}.{member}.keys[{index}] is also a federation key (jwks)"
                )
    return problems


def check_ec_pinned(probe: Probe) -> list[str]:
    problem = verify_with_jwks(probe.configuration().token, probe.anchor_keys)
    if problem:
        return [f"not signed with a pinned anchor key: {problem}"]
    published = kids(probe.claims.get("jwks"))
    missing = sorted(kids(probe.anchor_keys) - published)
    return [f"pinned keys not published in jwks: {missing}"] if missing else []


# --------------------------------------------------------------------------- authority


def _listed(probe: Probe) -> list[str]:
    response = probe.http.get(probe.endpoint("federation_list_endpoint"))
    if response.status != 200:
        raise CheckFailed(f"the list endpoint answered {response.status}")
    try:
        value = loads_strict(response.body)
    except (StrictJSONError, UnicodeDecodeError) as exc:
        raise CheckFailed(f"the list is not strict JSON: {exc}") from exc
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise CheckFailed(f"the list is not a JSON array of entity ids: {pretty(value)}")
    return value


def check_list(probe: Probe) -> list[str]:
    response = probe.http.get(probe.endpoint("federation_list_endpoint"))
    problems = []
    if response.status != 200:
        return [f"status {response.status}, expected 200"]
    if response.media_type != "application/json":
        problems.append(f"Content-Type {response.content_type!r}, expected application/json")
    listed = _listed(probe)
    if len(set(listed)) != len(listed):
        problems.append("the list names an entity twice")
    for entity in listed:
        parts = urlsplit(entity)
        if parts.scheme != "https" or not parts.hostname or entity.endswith("/"):
            problems.append(f"{entity!r} is not a federation entity id")
    if probe.entity_id in listed:
        problems.append("the list names the authority itself")
    return problems


def check_fetch_listed(probe: Probe) -> list[str]:
    listed = _listed(probe)
    if not listed:
        return []
    problems = []
    keys = probe.claims.get("jwks")
    fetch = probe.endpoint("federation_fetch_endpoint")
    for sub in listed[:_MAX_LISTED]:
        response = probe.http.get(fetch, {"sub": sub})
        found, decoded = statement_problems(
            response, iss=probe.entity_id, sub=sub, keys=keys, now=probe.now
        )
        if decoded is not None and isinstance(decoded.claims, dict):
            claims = decoded.claims
            found += [
                f"{name} is an entity-configuration claim"
                for name in sorted(_EC_ONLY & set(claims))
            ]
            found += jwk_problems(claims.get("jwks"), "jwks")
            source = claims.get("source_endpoint")
            if source is not None and source != fetch:
                found.append(f"source_endpoint {source!r} is not the fetch endpoint {fetch}")
        problems += [f"sub {sub}: {problem}" for problem in found]
    return problems


def check_fetch_unknown(probe: Probe) -> list[str]:
    label = hashlib.sha256(probe.entity_id.encode()).hexdigest()[:12]
    unknown = f"https://unknown-{label}.invalid.example"
    response = probe.http.get(probe.endpoint("federation_fetch_endpoint"), {"sub": unknown})
    return error_problems(response, 404, "not_found")


def check_fetch_self(probe: Probe) -> list[str]:
    response = probe.http.get(probe.endpoint("federation_fetch_endpoint"), {"sub": probe.entity_id})
    return error_problems(response, 400, "invalid_request")


def check_fetch_without_sub(probe: Probe) -> list[str]:
    response = probe.http.get(probe.endpoint("federation_fetch_endpoint"))
    return error_problems(response, 400, "invalid_request")


def check_fetch_oversized(probe: Probe) -> list[str]:
    huge = "https://" + "a" * 60 + "." + ("b" * 60 + ".") * 60 + "example"
    response = probe.http.get(probe.endpoint("federation_fetch_endpoint"), {"sub": huge})
    return error_problems(response, 404, "not_found")


def check_historical_keys(probe: Probe) -> list[str]:
    response = probe.http.get(probe.endpoint("federation_historical_keys_endpoint"))
    if response.status != 200:
        return [f"status {response.status}, expected 200"]
    problems = []
    if response.content_type != MEDIA_JWKS_JWT:
        problems.append(f"Content-Type {response.content_type!r}, expected {MEDIA_JWKS_JWT}")
    try:
        decoded = decode_jws(response.body.decode("ascii").strip())
    except (JWSFormatError, UnicodeDecodeError) as exc:
        return [*problems, f"not a compact JWS: {exc}"]
    if decoded.header.get("typ") != TYP_HISTORICAL_KEYS:
        problems.append(f"typ {decoded.header.get('typ')!r}, expected {TYP_HISTORICAL_KEYS}")
    problem = verify_with_jwks(decoded.token, probe.claims.get("jwks"))
    if problem:
        problems.append(f"not signed with a key of the entity's jwks: {problem}")
    claims = decoded.claims
    if not isinstance(claims, dict):
        return [*problems, "the payload is not an object"]
    if claims.get("iss") != probe.entity_id:
        problems.append(f"iss {claims.get('iss')!r}, expected {probe.entity_id}")
    if type(claims.get("iat")) is not int:
        problems.append("no integer iat")
    keys = claims.get("keys")
    if not isinstance(keys, list):
        return [*problems, "no keys array"]
    for index, jwk in enumerate(keys):
        if not isinstance(jwk, dict) or not isinstance(jwk.get("kid"), str):
            problems.append(f"keys[{index}] has no kid")
        elif type(jwk.get("exp")) is not int:
            problems.append(f"keys[{index}] has no integer exp (REQUIRED for a historical key)")
    return problems


# --------------------------------------------------------------------------- provider


def _provider(probe: Probe) -> dict[str, Any]:
    """The provider's session with the suite's test federation: its chain under the suite's
    anchor, resolved metadata, rate card and a model to use (computed once)."""
    if probe._provider:
        if "problem" in probe._provider:
            raise CheckFailed(probe._provider["problem"])
        return probe._provider
    try:
        probe._provider.update(_provider_session(probe))
    except CheckFailed as exc:
        probe._provider["problem"] = f"the provider cannot be used: {exc}"
        raise CheckFailed(probe._provider["problem"]) from None
    return probe._provider


def _provider_session(probe: Probe) -> dict[str, Any]:
    federation = probe.federation
    if federation is None:
        raise CheckFailed("the provider checks need the suite's own federation (--loopback)")
    claims = probe.claims
    if ANCHOR_ID not in (claims.get("authority_hints") or []):
        raise CheckFailed(
            f"its configuration must list the suite's anchor {ANCHOR_ID} in authority_hints "
            "(configure the node with the kit of `tokenfed-conformance live-kit`)"
        )
    federation.provider = probe.entity_id
    federation.provider_jwks = claims.get("jwks")
    # The chain under the suite's anchor: the provider's configuration verifies with the keys
    # the anchor's statement attests, the statement with the anchor's key.
    statement = federation.subordinate(probe.entity_id)
    assert statement is not None
    attested = decode_jws(statement).claims["jwks"]
    problem = verify_with_jwks(probe.configuration().token, attested)
    if problem:
        raise CheckFailed(f"its configuration does not verify through the chain: {problem}")
    values = probe.metadata.get("tokenfed_provider")
    if not isinstance(values, dict):
        raise CheckFailed("no tokenfed_provider metadata")
    receipt_jwks = values.get("receipt_jwks")
    for name in ("metering_endpoint", "rate_card_uri"):
        if not isinstance(values.get(name), str):
            raise CheckFailed(f"no tokenfed_provider.{name}")
    response = probe.http.get(values["rate_card_uri"])
    if response.status != 200:
        raise CheckFailed(f"the rate card answered {response.status}")
    try:
        card = decode_jws(response.body.decode("ascii").strip())
    except (JWSFormatError, UnicodeDecodeError) as exc:
        raise CheckFailed(f"the rate card is not a JWS: {exc}") from exc
    if card.header.get("typ") != _TYP_RATE_CARD:
        raise CheckFailed(f"the rate card has typ {card.header.get('typ')!r}")
    problem = verify_with_jwks(card.token, receipt_jwks)
    if problem:
        raise CheckFailed(f"the rate card does not verify with the receipt keys: {problem}")
    if not isinstance(card.claims, dict) or not isinstance(card.claims.get("models"), dict):
        raise CheckFailed("the rate card has no models")
    model = sorted(card.claims["models"])[0]
    weights = card.claims["models"][model].get("weights", {})
    meters = {name: 1000 * (index + 1) for index, name in enumerate(sorted(weights)[:2])}
    usage = {"model": model, "meters": meters}
    try:
        amount = price(card.claims, usage, None)["amount"]
    except (RefError, KeyError, TypeError, ValueError) as exc:
        raise CheckFailed(f"the suite cannot price {pretty(usage)} under the card: {exc}") from exc
    return {
        "metering": values["metering_endpoint"],
        "receipt_jwks": receipt_jwks,
        "usage": usage,
        "model": model,
        "amount": amount,
    }


def _entitlement_claims(probe: Probe, limit: str, **changes: Any) -> dict[str, Any]:
    now = probe.now
    session = _provider(probe)
    serial = f"{now}-{len(probe.http.log)}"
    claims = {
        "iss": OPERATOR_ID,
        "sub": b64e(f"suite-subscriber-{serial}".encode())[:32],
        "aud": probe.entity_id,
        "jti": f"conformance-{serial}",
        "iat": now - 30,
        "exp": now + 600,
        "ver": "1.0",
        "scope": [session["model"]],
        "limit": limit,
    }
    claims.update(changes)
    return claims


def _meter(probe: Probe, entitlement: str, request_id: str | None = None) -> Response:
    """POST the metering request of the HTTP API chapter (MeteringRequest of openapi.yaml)."""
    session = _provider(probe)
    body = {
        "entitlement": entitlement,
        "model": session["model"],
        "request_id": request_id or f"conformance-{probe.now}-{len(probe.http.log)}",
        "usage": session["usage"],
    }
    return probe.http.post_json(session["metering"], json.dumps(body).encode())


def _receipt_problems(probe: Probe, response: Response, entitlement: dict[str, Any]) -> list[str]:
    session = _provider(probe)
    if response.status != 200:
        return [f"metering answered {response.status}: {response.body[:300]!r}"]
    try:
        body = loads_strict(response.body)
        receipt = decode_jws(body["receipt"])
    except (StrictJSONError, UnicodeDecodeError, JWSFormatError, KeyError, TypeError) as exc:
        return [f"the answer has no receipt JWS: {exc!r}"]
    problems = []
    if body.get("entitlement") != entitlement["jti"]:
        problems.append(f"the answer's entitlement {body.get('entitlement')!r} is not its jti")
    if receipt.header.get("typ") != _TYP_RECEIPT:
        problems.append(f"receipt typ {receipt.header.get('typ')!r}")
    problem = verify_with_jwks(receipt.token, session["receipt_jwks"])
    if problem:
        problems.append(f"the receipt does not verify with the chain's receipt keys: {problem}")
    claims = receipt.claims if isinstance(receipt.claims, dict) else {}
    expected = {
        "iss": probe.entity_id,
        "aud": entitlement["iss"],
        "sub": entitlement["sub"],
        "entitlement": entitlement["jti"],
        "amount": session["amount"],
    }
    for name, value in expected.items():
        if claims.get(name) != value:
            problems.append(f"receipt {name} {claims.get(name)!r}, expected {value!r}")
    return problems


def _refusal(probe: Probe, claims: dict[str, Any], code: str, key: Any = None) -> list[str]:
    federation = probe.federation
    assert federation is not None
    response = _meter(probe, federation.entitlement(claims, key))
    return error_problems(response, REFUSAL_STATUS[code], code)


def check_metering_receipt(probe: Probe) -> list[str]:
    claims = _entitlement_claims(probe, "1000")
    federation = probe.federation
    assert federation is not None
    response = _meter(probe, federation.entitlement(claims))
    return _receipt_problems(probe, response, claims)


def _fraction_text(value: Fraction) -> str:
    return to_decimal(round_half_even(value, 6))


def check_limit_single(probe: Probe) -> list[str]:
    amount = Fraction(_provider(probe)["amount"])
    if amount <= Fraction(1, 10**6):
        return ["the suite's usage costs too little to test the limit"]
    limit = _fraction_text(amount - Fraction(1, 10**6))
    return _refusal(probe, _entitlement_claims(probe, limit), "limit_exceeded")


def check_limit_cumulative(probe: Probe) -> list[str]:
    amount = Fraction(_provider(probe)["amount"])
    claims = _entitlement_claims(probe, _fraction_text(amount * 3 / 2))
    federation = probe.federation
    assert federation is not None
    first = _receipt_problems(probe, _meter(probe, federation.entitlement(claims)), claims)
    if first:
        return [f"first request (within the limit): {p}" for p in first]
    return [
        f"second request (past the limit): {p}" for p in _refusal(probe, claims, "limit_exceeded")
    ]


def check_wrong_audience(probe: Probe) -> list[str]:
    claims = _entitlement_claims(probe, "1000", aud="https://other-provider.conformance.example")
    return _refusal(probe, claims, "wrong_audience")


def check_out_of_scope(probe: Probe) -> list[str]:
    claims = _entitlement_claims(probe, "1000", scope=["conformance-model-not-offered"])
    return _refusal(probe, claims, "out_of_scope")


def check_expired(probe: Probe) -> list[str]:
    now = probe.now
    claims = _entitlement_claims(probe, "1000", iat=now - 7200, exp=now - 3600)
    return _refusal(probe, claims, "entitlement_expired")


def check_unknown_operator_key(probe: Probe) -> list[str]:
    from ._counterparty import suite_key

    claims = _entitlement_claims(probe, "1000")
    return _refusal(probe, claims, "unknown_key", key=suite_key("not-published"))


def check_metering_oversized(probe: Probe) -> list[str]:
    response = probe.http.post_oversized(_provider(probe)["metering"], 4 << 20)
    if response is None:
        return ["a 4 MiB body: the node closed the connection without an answer"]
    return error_problems(response, 413, "payload_too_large")


# --------------------------------------------------------------------------- the table

# Requirement IDs of the federation chapter (endpoints, statements) and entitlements chapter.
LR: dict[str, tuple[str, ...]] = {
    "ec": ("FED-080", "FED-004", "API-020"),
    "jose": ("FED-010", "FED-011", "FED-015", "FED-023"),
    "lifetime": ("FED-016", "FED-021", "API-020"),
    "claims": ("FED-014", "FED-017", "FED-018"),
    "metadata": ("FED-020", "FED-030", "FED-031", "FED-032", "FED-033", "FED-034"),
    "anchor": ("FED-053",),
    "list": ("FED-082", "API-022"),
    "fetch": ("FED-081", "FED-013", "API-021"),
    "errors": ("FED-081", "FED-085", "API-010", "API-021"),
    "long-sub": ("FED-081", "API-010", "API-011"),
    "history": ("FED-083", "API-023"),
    "receipt": ("ENT-050", "FED-035", "FED-036"),
    "body": ("API-013",),
    "limit": ("ENT-032", "ENT-040", "API-017"),
    "settled": ("ENT-032", "ENT-041", "ENT-051", "API-017"),
    "audience": ("ENT-020", "API-017"),
    "scope": ("ENT-030", "API-017"),
    "time": ("ENT-020", "ENT-031", "API-017"),
    "key": ("ENT-010", "ENT-020", "API-017"),
}

F = "federation-entity"
E = "entitlements"


def _authority(probe: Probe) -> bool:
    return probe.is_authority()


def _provider_node(probe: Probe) -> bool:
    return probe.is_provider()


CHECKS: tuple[LiveCheck, ...] = (
    LiveCheck("ec-served", F, LR["ec"],
              "the entity configuration is served at /.well-known/openid-federation with status "
              "200 and exactly the media type application/entity-statement+jwt", check_ec_served),
    LiveCheck("ec-self-signed", F, LR["jose"],
              "the configuration has typ entity-statement+jwt, iss = sub = the entity id, is "
              "signed with a key of its own jwks, and every kid is its key's thumbprint",
              check_ec_signed),
    LiveCheck("ec-lifetime", F, LR["lifetime"],
              "iat is not in the future, exp has not passed, and the configuration lives at most "
              "24 hours", check_ec_lifetime),
    LiveCheck("ec-claims", F, LR["claims"],
              "no subordinate-statement claim, authority_hints non-empty and at most 8, metadata "
              "present with no null value", check_ec_claims),
    LiveCheck("ec-metadata", F, LR["metadata"],
              "the metadata its entity types require: every federation endpoint of an "
              "authority, tokenfed_versions and the document keys (with nbf, never a federation "
              "key) of each tokenfed type", check_ec_metadata),
    LiveCheck("ec-pinned-keys", F, LR["anchor"],
              "an anchor's configuration is signed with a key pinned out of band (--anchor-keys) "
              "and publishes every pinned key", check_ec_pinned,
              lambda probe: probe.anchor_keys is not None),
    LiveCheck("list", F, LR["list"],
              "the list endpoint answers a JSON array of distinct federation entity ids",
              check_list, _authority),
    LiveCheck("fetch-listed", F, LR["fetch"],
              "every listed subordinate is fetchable: a valid subordinate statement issued by "
              "the authority, signed with its keys, about exactly that entity", check_fetch_listed,
              _authority),
    LiveCheck("fetch-unknown-sub", F, LR["errors"],
              "fetch of an entity that is not a subordinate: 404 with the JSON error object "
              "not_found", check_fetch_unknown, _authority),
    LiveCheck("fetch-self", F, LR["errors"],
              "fetch with sub = the authority itself: 400 invalid_request", check_fetch_self,
              _authority),
    LiveCheck("fetch-without-sub", F, LR["errors"],
              "fetch without sub: 400 invalid_request", check_fetch_without_sub, _authority),
    LiveCheck("fetch-oversized-sub", F, LR["long-sub"],
              "fetch with a 3.7 KB sub, which names no subordinate: 404 not_found with the JSON "
              "error object, never a 5xx", check_fetch_oversized, _authority),
    LiveCheck("historical-keys", F, LR["history"],
              "the historical-keys endpoint answers a jwk-set+jwt signed with the entity's keys, "
              "each key with kid and exp", check_historical_keys, _authority),
    LiveCheck("provider-receipt", F, LR["receipt"],
              "the suite's operator entitles a subscriber, the metering endpoint returns a "
              "receipt that verifies with the receipt keys resolved through the provider's "
              "chain under the suite's anchor, names the entitlement's jti, and has the amount "
              "of the provider's own rate card", check_metering_receipt, _provider_node),
    LiveCheck("provider-oversized-body", F, LR["body"],
              "a 4 MiB request body to the metering endpoint (the default limit is 1 MiB): 413 "
              "payload_too_large",
              check_metering_oversized, _provider_node),
    LiveCheck("limit-single-request", E, LR["limit"],
              "usage costing one micro-UTU more than the entitlement's limit is refused with "
              "limit_exceeded", check_limit_single, _provider_node),
    LiveCheck("limit-cumulative", E, LR["settled"],
              "under a limit of 1.5 times the price, the first request is served (its receipt's "
              "amount settled) and the second refused with limit_exceeded",
              check_limit_cumulative, _provider_node),
    LiveCheck("wrong-audience", E, LR["audience"],
              "an entitlement for another provider is refused with wrong_audience",
              check_wrong_audience, _provider_node),
    LiveCheck("out-of-scope", E, LR["scope"],
              "usage of a model the entitlement does not list is refused with out_of_scope",
              check_out_of_scope, _provider_node),
    LiveCheck("expired", E, LR["time"],
              "an entitlement that expired an hour ago is refused with entitlement_expired",
              check_expired, _provider_node),
    LiveCheck("unknown-operator-key", E, LR["key"],
              "an entitlement signed with a key the operator does not publish is refused with "
              "unknown_key", check_unknown_operator_key, _provider_node),
)  # fmt: skip
"""Every live check, in the order they run."""

CHECKS = tuple(
    LiveCheck(c.name, c.profile, c.requirements, c.reason, _guard(c.run), c.applies) for c in CHECKS
)
