"""Entity statements: decoding, the profile's checks, signatures, times and signing.

Requirements: FED-002 (federation entity ids), FED-004 (well-known URL), FED-010 (the JWS layer),
FED-011 (headers), FED-012 (no crit claim), FED-013 (claims and their types), FED-014 (claims of
one kind only), FED-015 (federation keys), FED-016 (lifetime), FED-017 (authority_hints),
FED-018 (no null, no []), FED-019 (metadata_policy_crit), FED-020 (roles), FED-021 (times),
FED-022 (decoding order), FED-023 (signing), FED-040 (constraint types), FED-042, FED-043,
FED-060 (recognition statements).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from _federation import (
    EXP,
    IDS,
    NOW,
    RECOGNITION,
    anchor,
    ec,
    ec_claims,
    federation_metadata,
    jwks,
    key,
    provider_metadata,
    sign,
    ss,
    ss_claims,
)
from tokenfed import _jws
from tokenfed._b64 import b64encode
from tokenfed.errors import TokenfedError
from tokenfed.federation import (
    LEEWAY,
    EntityStatement,
    TrustAnchor,
    configuration_url,
    is_federation_entity_id,
    sign_statement,
)
from tokenfed.keys import KeySet, generate_key


def code_of(token: str) -> str:
    with pytest.raises(TokenfedError) as caught:
        EntityStatement.decode(token)
    return caught.value.code


def test_configuration_decodes_with_its_claims() -> None:
    """FED-013: an entity configuration's claims are read into named attributes."""
    statement = EntityStatement.decode(ec("org", hints=("ta",)))
    assert statement.is_configuration
    assert statement.iss == statement.sub == IDS["org"]
    assert (statement.iat, statement.exp) == (NOW - 60, EXP)
    assert statement.authority_hints == (IDS["ta"],)
    assert statement.metadata == federation_metadata("org")
    assert statement.constraints is None and statement.source_endpoint is None
    assert [k.kid for k in statement.jwks] == [key("org").kid]
    assert statement.kid == key("org").kid


def test_subordinate_statement_decodes() -> None:
    """FED-013: a subordinate statement carries source_endpoint and may carry constraints."""
    statement = EntityStatement.decode(ss("ta", "org", constraints={"max_path_length": 1}))
    assert not statement.is_configuration
    assert statement.source_endpoint == IDS["ta"] + "/fetch"
    assert statement.constraints == {"max_path_length": 1}
    assert statement.recognition is False


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("https://a.example", True),
        ("https://a.example:8443/fed", True),
        ("https://a.example/", False),
        ("https://a.example/fed/", False),
        ("https://A.example", False),
        ("http://a.example", False),
        ("https://a.example?x=1", False),
        (42, False),
    ],
)
def test_federation_entity_ids(value: Any, ok: bool) -> None:
    """FED-002: CONV-001 entity ids, port allowed, no trailing '/'."""
    assert is_federation_entity_id(value) is ok


def test_configuration_url_appends_to_the_path() -> None:
    """FED-004: the well-known path is appended to the entity id's path."""
    assert configuration_url("https://a.example/fed") == (
        "https://a.example/fed/.well-known/openid-federation"
    )
    with pytest.raises(ValueError, match="not a federation entity id"):
        configuration_url("https://a.example/")


# --------------------------------------------------------------------------- JWS layer


def test_not_a_jws_is_malformed() -> None:
    """FED-010: the JWS layer's parse step (CONV-041)."""
    assert code_of("not.a.jws") == "malformed"


def test_wrong_typ() -> None:
    """FED-010: typ must be entity-statement+jwt (CONV-043)."""
    token = _jws.sign(ec_claims("ta"), key("ta"), "JWT")
    assert code_of(token) == "unsupported_typ"


def test_alg_none() -> None:
    """FED-010: alg none is refused (CONV-042)."""
    assert code_of(sign(ec_claims("ta"), "ta", alg="none")) == "unsupported_alg"


def test_crit_header() -> None:
    """FED-010: a crit header parameter is refused (CONV-048)."""
    assert code_of(sign(ec_claims("ta"), "ta", crit=["exp"])) == "unsupported_crit"


@pytest.mark.parametrize("header", ["trust_chain", "peer_trust_chain"])
def test_trust_chain_headers(header: str) -> None:
    """FED-011: trust_chain and peer_trust_chain never appear in statements."""
    assert code_of(sign(ec_claims("ta"), "ta", **{header: ["x"]})) == "invalid_statement"


@pytest.mark.parametrize("value", [["tokenfed_extension"], ["exp"], []])
def test_crit_claim(value: list[str]) -> None:
    """FED-012: no extension claim is registered, so any crit claim is refused."""
    assert code_of(sign(ec_claims("ta", crit=value), "ta")) == "unsupported_crit"


# --------------------------------------------------------------------------- schema


@pytest.mark.parametrize("claim", ["iss", "sub", "iat", "exp", "jwks", "metadata"])
def test_configuration_required_claims(claim: str) -> None:
    """FED-013: a configuration without a required claim is a schema violation."""
    claims = ec_claims("ta")
    del claims[claim]
    if claim == "sub":
        claims["iss"] = IDS["ta"]
    assert code_of(sign(claims, "ta")) == "schema_violation"


def test_subordinate_statement_needs_source_endpoint() -> None:
    """FED-013: source_endpoint is REQUIRED in a subordinate statement."""
    claims = ss_claims("ta", "org")
    del claims["source_endpoint"]
    assert code_of(sign(claims, "ta")) == "schema_violation"


@pytest.mark.parametrize(
    ("claim", "value"),
    [
        ("iat", "1800000000"),
        ("exp", -1),
        ("authority_hints", IDS["ta"]),
        ("metadata", {"tokenfed_provider": ["x"]}),
        ("trust_marks", [{"trust_mark_type": 1}]),
    ],
)
def test_claim_types(claim: str, value: Any) -> None:
    """FED-013: a claim of the wrong JSON type is a schema violation."""
    claims = ec_claims("leaf", metadata=provider_metadata())
    claims[claim] = value
    assert code_of(sign(claims, "leaf")) == "schema_violation"


@pytest.mark.parametrize(
    "constraints",
    [
        {"max_path_length": -1},
        {"max_path_length": "1"},
        {"naming_constraints": {"permitted": ".a.example"}},
        {"allowed_entity_types": "tokenfed_provider"},
    ],
)
def test_constraint_types(constraints: dict[str, Any]) -> None:
    """FED-040: the three constraint members have fixed JSON types."""
    assert code_of(ss("ta", "org", constraints=constraints)) == "schema_violation"


def test_unknown_constraint_member_is_ignored() -> None:
    """FED-040: a constraint member this profile does not define is ignored."""
    statement = EntityStatement.decode(ss("ta", "org", constraints={"x_new": [1]}))
    assert statement.constraints == {"x_new": [1]}


# --------------------------------------------------------------------------- keys


def test_private_key_in_jwks() -> None:
    """FED-015: federation keys are public."""
    claims = ec_claims("ta")
    claims["jwks"] = {"keys": [key("ta").to_jwk()]}
    assert code_of(sign(claims, "ta")) == "invalid_key"


def test_kid_not_thumbprint() -> None:
    """FED-015: kid is the RFC 7638 thumbprint (CONV-045)."""
    claims = ec_claims("ta")
    claims["jwks"]["keys"][0]["kid"] = "key-1"
    assert code_of(sign(claims, "ta")) == "invalid_key"


def test_key_without_kid() -> None:
    """FED-015: every federation key names its kid."""
    claims = ec_claims("ta")
    del claims["jwks"]["keys"][0]["kid"]
    assert code_of(sign(claims, "ta")) == "invalid_key"


def test_empty_jwks() -> None:
    """FED-015: a statement's jwks has at least one key."""
    claims = ec_claims("ta")
    claims["jwks"] = {"keys": []}
    assert code_of(sign(claims, "ta")) == "invalid_key"


def test_symmetric_key_in_jwks() -> None:
    """FED-015: a symmetric key is not a federation key."""
    claims = ec_claims("ta")
    claims["jwks"] = {"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}
    assert code_of(sign(claims, "ta")) == "invalid_key"


def test_duplicate_kid() -> None:
    """FED-015: kids are unique in a set."""
    claims = ec_claims("ta")
    claims["jwks"] = jwks("ta", "ta")
    assert code_of(sign(claims, "ta")) == "invalid_key"


# --------------------------------------------------------------------------- profile


@pytest.mark.parametrize("claim", ["constraints", "metadata_policy", "source_endpoint"])
def test_subordinate_claims_in_configuration(claim: str) -> None:
    """FED-014: claims of subordinate statements do not appear in configurations."""
    claims = ec_claims("ta", **{claim: {} if claim != "source_endpoint" else "https://x.example"})
    assert code_of(sign(claims, "ta")) == "invalid_statement"


@pytest.mark.parametrize(
    ("claim", "value"),
    [
        ("authority_hints", [IDS["ta"]]),
        ("trust_anchor_hints", [IDS["ta"]]),
        ("trust_marks", []),
        ("trust_mark_issuers", {}),
        ("trust_mark_owners", {}),
    ],
)
def test_configuration_claims_in_subordinate_statement(claim: str, value: Any) -> None:
    """FED-014: claims of configurations do not appear in subordinate statements."""
    assert code_of(ss("ta", "org", **{claim: value})) == "invalid_statement"


def test_recognition_claim_in_configuration() -> None:
    """FED-014, FED-060: the recognition claim belongs to subordinate statements."""
    assert code_of(sign(ec_claims("ta", tokenfed_recognition=True), "ta")) == "invalid_statement"


@pytest.mark.parametrize("iss", ["https://anchor.alliance-a.example/", "https://Anchor.example"])
def test_issuer_not_a_federation_entity_id(iss: str) -> None:
    """FED-002: iss and sub are federation entity ids."""
    claims = ec_claims("ta")
    claims["iss"] = claims["sub"] = iss
    assert code_of(sign(claims, "ta")) == "invalid_statement"


def test_hint_not_a_federation_entity_id() -> None:
    """FED-002: every authority hint is a federation entity id."""
    claims = ec_claims("org", authority_hints=["https://anchor.alliance-a.example/"])
    assert code_of(sign(claims, "org")) == "invalid_statement"


@pytest.mark.parametrize(("iat", "exp"), [(NOW, NOW + 86401), (NOW, NOW), (NOW, NOW - 1)])
def test_lifetime(iat: int, exp: int) -> None:
    """FED-016: 0 < exp - iat <= 86400."""
    assert code_of(ec("ta", iat=iat, exp=exp)) == "invalid_statement"


def test_lifetime_of_a_day_is_accepted() -> None:
    """FED-016: exactly 86400 seconds is allowed."""
    assert EntityStatement.decode(ec("ta", iat=NOW, exp=NOW + 86400)).exp == NOW + 86400


def test_empty_authority_hints() -> None:
    """FED-017: authority_hints is never []."""
    assert code_of(sign(ec_claims("org", authority_hints=[]), "org")) == "invalid_statement"


def test_nine_authority_hints() -> None:
    """FED-017: at most eight authority hints."""
    hints = [f"https://anchor{n}.example" for n in range(9)]
    assert code_of(sign(ec_claims("org", authority_hints=hints), "org")) == "invalid_statement"


def test_eight_authority_hints_are_accepted() -> None:
    """FED-017: eight hints is the limit, not beyond it."""
    hints = [f"https://anchor{n}.example" for n in range(8)]
    statement = EntityStatement.decode(sign(ec_claims("org", authority_hints=hints), "org"))
    assert len(statement.authority_hints) == 8


def test_entity_lists_itself_as_superior() -> None:
    """FED-017: an entity is not its own superior."""
    assert code_of(ec("org", hints=("org",))) == "invalid_statement"


def test_duplicate_authority_hint() -> None:
    """FED-017: each superior is listed once."""
    assert code_of(ec("org", hints=("ta", "ta"))) == "invalid_statement"


@pytest.mark.parametrize(
    "metadata",
    [
        {"tokenfed_provider": None},
        {"tokenfed_provider": {"tokenfed_versions": ["1.0"], "rate_card_uri": None}},
    ],
)
def test_null_metadata_value(metadata: dict[str, Any]) -> None:
    """FED-018: metadata has no null values."""
    assert code_of(ec("leaf", hints=("ta",), metadata=metadata)) == "invalid_statement"


def test_null_metadata_in_subordinate_statement() -> None:
    """FED-018: the rule holds for a superior's metadata too."""
    token = ss("ta", "leaf", metadata={"tokenfed_provider": {"rate_card_uri": None}})
    assert code_of(token) == "invalid_statement"


@pytest.mark.parametrize("claim", ["trust_anchor_hints"])
def test_empty_trust_anchor_hints(claim: str) -> None:
    """FED-018: trust_anchor_hints is never []."""
    assert code_of(sign(ec_claims("org", **{claim: []}), "org")) == "invalid_statement"


def test_empty_trust_mark_issuers_list() -> None:
    """FED-018: an anchor names the issuers of each trust mark type; [] is refused."""
    claims = ec_claims("ta", trust_mark_issuers={"https://marks.example/certified": []})
    assert code_of(sign(claims, "ta")) == "invalid_statement"


@pytest.mark.parametrize("value", [[], ["x_operator"]])
def test_metadata_policy_crit(value: list[str]) -> None:
    """FED-019: metadata_policy_crit is refused whatever its value."""
    assert code_of(ss("ta", "org", metadata_policy_crit=value)) == "invalid_statement"


def test_leaf_publishing_fetch_endpoint() -> None:
    """FED-020: an entity with a tokenfed type does not publish federation endpoints."""
    metadata = {**provider_metadata(), **federation_metadata("leaf")}
    assert code_of(ec("leaf", hints=("ta",), metadata=metadata)) == "invalid_statement"


def test_intermediate_without_historical_keys_endpoint() -> None:
    """FED-020: anchors and intermediates publish fetch, list and historical keys endpoints."""
    metadata = federation_metadata("org")
    del metadata["federation_entity"]["federation_historical_keys_endpoint"]
    assert code_of(ec("org", hints=("ta",), metadata=metadata)) == "invalid_statement"


def test_source_endpoint_must_be_https() -> None:
    """FED-013: source_endpoint is an https URL without fragment."""
    token = ss("ta", "org", source_endpoint="http://anchor.alliance-a.example/fetch")
    assert code_of(token) == "invalid_statement"


@pytest.mark.parametrize(
    "naming",
    [
        {"permitted": []},
        {"excluded": []},
        {"permitted": ["https://a.example"]},
        {"permitted": ["A.example"]},
        {"excluded": ["a..example"]},
    ],
)
def test_naming_constraint_values(naming: dict[str, Any]) -> None:
    """FED-042: naming constraints are non-empty lists of lowercase host names."""
    token = ss("ta", "org", constraints={"naming_constraints": naming})
    assert code_of(token) == "invalid_statement"


@pytest.mark.parametrize(
    "allowed", [["federation_entity"], ["tokenfed_provider", "tokenfed_provider"]]
)
def test_allowed_entity_types_values(allowed: list[str]) -> None:
    """FED-043: federation_entity is never listed; a type is listed once."""
    token = ss("ta", "org", constraints={"allowed_entity_types": allowed})
    assert code_of(token) == "invalid_statement"


def test_recognition_statement_decodes() -> None:
    """FED-060: a recognition statement with its three constraints and no metadata."""
    statement = EntityStatement.decode(ss("ta", "tb", **RECOGNITION))
    assert statement.recognition is True


@pytest.mark.parametrize(
    "change",
    [
        {"constraints": None},
        {"constraints": {"max_path_length": 1, "allowed_entity_types": ["tokenfed_provider"]}},
        {
            "constraints": {
                "max_path_length": 1,
                "naming_constraints": {"excluded": [".x.example"]},
                "allowed_entity_types": ["tokenfed_provider"],
            }
        },
        {
            "constraints": {
                "max_path_length": 1,
                "naming_constraints": {"permitted": [".alliance-b.example"]},
                "allowed_entity_types": [],
            }
        },
        {
            "constraints": {
                "max_path_length": 1,
                "naming_constraints": {"permitted": [".alliance-b.example"]},
                "allowed_entity_types": ["openid_provider"],
            }
        },
        {"metadata_policy": {"tokenfed_provider": {"tokenfed_versions": {"value": ["1.0"]}}}},
        {"metadata": {"tokenfed_provider": {"tokenfed_versions": ["1.0"]}}},
    ],
    ids=[
        "no-constraints",
        "no-naming",
        "no-permitted",
        "no-types",
        "foreign-type",
        "policy",
        "metadata",
    ],
)
def test_recognition_statement_rules(change: dict[str, Any]) -> None:
    """FED-060: a recognition statement carries all three constraints (permitted names, a
    non-empty list of tokenfed types) and neither metadata nor metadata_policy."""
    claims = {**RECOGNITION, **change}
    claims = {name: value for name, value in claims.items() if value is not None}
    assert code_of(ss("ta", "tb", **claims)) == "invalid_statement"


def test_recognition_claim_must_be_true() -> None:
    """FED-013: the recognition claim is the literal true when present."""
    assert code_of(ss("ta", "tb", **{**RECOGNITION, "tokenfed_recognition": 1})) == (
        "schema_violation"
    )


def test_unknown_claims_are_kept() -> None:
    """FED-013: claims this profile does not define are ignored and kept (CONV-005)."""
    statement = EntityStatement.decode(ec("ta", x_note="hello"))
    assert statement.claims["x_note"] == "hello"


def test_decoding_order_schema_before_profile() -> None:
    """FED-022: a claim of the wrong type is reported before a profile rule of another."""
    claims = ec_claims("ta", iat="now", constraints={})
    assert code_of(sign(claims, "ta")) == "schema_violation"


def test_decoding_order_keys_before_profile() -> None:
    """FED-022: the jwks step comes before the profile rules."""
    claims = ec_claims("ta", constraints={})
    claims["jwks"] = {"keys": [key("ta").to_jwk()]}
    assert code_of(sign(claims, "ta")) == "invalid_key"


# --------------------------------------------------------------------------- signature


def test_verify_with_the_right_key() -> None:
    """FED-053: the statement verifies with the key named by its kid."""
    EntityStatement.decode(ec("ta")).verify_with(KeySet.from_jwks(jwks("ta")))


def test_verify_with_a_set_without_the_kid() -> None:
    """FED-053: the kid must be in the set that must verify the statement."""
    statement = EntityStatement.decode(ec("ta"))
    with pytest.raises(TokenfedError) as caught:
        statement.verify_with(KeySet.from_jwks(jwks("tb")))
    assert caught.value.code == "unknown_key"


def test_verify_altered_signature() -> None:
    """FED-053: a signature over other bytes does not verify (CONV-049)."""
    token = ec("ta")
    head, _payload, signature = token.split(".")
    other = ec("ta", exp=EXP - 1).split(".")[1]
    statement = EntityStatement.decode(f"{head}.{other}.{signature}")
    with pytest.raises(TokenfedError) as caught:
        statement.verify_with(KeySet.from_jwks(jwks("ta")))
    assert caught.value.code == "invalid_signature"


def test_verify_with_another_algorithm_pinned() -> None:
    """FED-053: the key's algorithm, not the header's, decides (CONV-044)."""
    es256 = generate_key("ES256")
    token = sign(ec_claims("ta"), "ta", kid=es256.kid)
    statement = EntityStatement.decode(token)
    with pytest.raises(TokenfedError) as caught:
        statement.verify_with(KeySet([es256.public_key()]))
    assert caught.value.code == "unsupported_alg"


def test_verify_without_kid() -> None:
    """FED-011: kid is REQUIRED; without it no key is named."""
    head = b64encode(b'{"alg":"EdDSA","typ":"entity-statement+jwt"}')
    _, payload, _ = ec("ta").split(".")
    signing_input = f"{head}.{payload}".encode()
    token = f"{head}.{payload}.{b64encode(key('ta').sign(signing_input))}"
    statement = EntityStatement.decode(token)
    with pytest.raises(TokenfedError) as caught:
        statement.verify_with(KeySet.from_jwks(jwks("ta")))
    assert caught.value.code == "unknown_key"


# --------------------------------------------------------------------------- times


@pytest.mark.parametrize(
    ("now", "code"),
    [
        (EXP + LEEWAY - 1, None),
        (EXP + LEEWAY, "statement_expired"),
        (NOW - 60 - LEEWAY, None),
        (NOW - 60 - LEEWAY - 1, "statement_not_yet_valid"),
    ],
)
def test_time_boundaries(now: int, code: str | None) -> None:
    """FED-021: expired when exp + 60 <= now; not yet valid when iat > now + 60."""
    statement = EntityStatement.decode(ec("ta"))
    if code is None:
        statement.check_time(now)
        return
    with pytest.raises(TokenfedError) as caught:
        statement.check_time(now)
    assert caught.value.code == code


# --------------------------------------------------------------------------- signing


def test_sign_statement_round_trip() -> None:
    """FED-023: sign_statement writes typ, kid and the JCS payload; the result decodes and
    verifies with the subject's own key."""
    token = sign_statement(ec_claims("ta"), key("ta"))
    assert token == _jws.sign(ec_claims("ta"), key("ta"), "entity-statement+jwt")
    statement = EntityStatement.decode(token)
    statement.verify_with(statement.jwks)
    assert statement.header == {
        "alg": "EdDSA",
        "typ": "entity-statement+jwt",
        "kid": key("ta").kid,
    }


def test_sign_statement_refuses_a_profile_violation() -> None:
    """FED-023: sign_statement refuses what a verifier would refuse, with the same code."""
    with pytest.raises(TokenfedError) as caught:
        sign_statement(ec_claims("ta", constraints={}), key("ta"))
    assert caught.value.code == "invalid_statement"


def test_sign_configuration_with_a_foreign_key() -> None:
    """FED-023: a configuration is signed with a key of its own jwks."""
    with pytest.raises(TokenfedError) as caught:
        sign_statement(ec_claims("ta"), key("tb"))
    assert caught.value.code == "unknown_key"


def test_sign_subordinate_statement() -> None:
    """FED-023: a superior signs with its own key, which is not in the subject's jwks."""
    token = sign_statement(ss_claims("ta", "org"), key("ta"))
    EntityStatement.decode(token).verify_with(KeySet.from_jwks(jwks("ta")))


def test_sign_statement_argument_types() -> None:
    """Misuse by a programmer is a TypeError, not a wire code."""
    with pytest.raises(TypeError):
        sign_statement(ec_claims("ta"), key("ta").public_key())  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        EntityStatement.decode(42)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- anchors


def test_trust_anchor_from_jwks() -> None:
    """FED-053: a pinned anchor holds its entity id and keys."""
    pinned = TrustAnchor.from_jwks(IDS["ta"], jwks("ta"))
    assert pinned.entity_id == IDS["ta"]
    assert [k.kid for k in pinned.jwks] == [key("ta").kid]
    assert pinned.entity_id == anchor("ta").entity_id


@pytest.mark.parametrize(
    ("entity_id", "keys", "code"),
    [
        ("https://anchor.example/", jwks("ta"), "schema_violation"),
        (IDS["ta"], {"keys": [key("ta").to_jwk()]}, "invalid_key"),
        (IDS["ta"], {"keys": []}, "invalid_key"),
        (IDS["ta"], {"keys": [{**jwks("ta")["keys"][0], "kid": "x"}]}, "invalid_key"),
    ],
)
def test_trust_anchor_refusals(entity_id: str, keys: dict[str, Any], code: str) -> None:
    """FED-002, FED-015: a pinned anchor has a federation entity id and public thumbprint keys."""
    with pytest.raises(TokenfedError) as caught:
        TrustAnchor.from_jwks(entity_id, keys)
    assert caught.value.code == code


# --------------------------------------------------------------------------- schema file


def statement_schema() -> Any:
    from jsonschema import Draft202012Validator

    path = Path(__file__).resolve().parent.parent / "spec/schemas/entity-statement.schema.json"
    return Draft202012Validator(json.loads(path.read_text(encoding="utf-8")))


@pytest.mark.parametrize(
    "claims",
    [
        ec_claims("org", hints=("ta",)),
        ec_claims("leaf", hints=("ta",), metadata=provider_metadata()),
        ss_claims("ta", "org", constraints={"max_path_length": 1}),
        ss_claims("ta", "tb", **RECOGNITION),
    ],
)
def test_schema_accepts_valid_statements(claims: dict[str, Any]) -> None:
    """FED-013: spec/schemas/entity-statement.schema.json accepts what the SDK accepts."""
    EntityStatement.decode(sign(claims, "ta"))
    assert not list(statement_schema().iter_errors(claims))


@pytest.mark.parametrize(
    "claims",
    [
        {**ec_claims("ta"), "iat": "1"},
        {name: v for name, v in ec_claims("ta").items() if name != "jwks"},
        {name: v for name, v in ss_claims("ta", "org").items() if name != "source_endpoint"},
        ec_claims("ta", crit=["x"]),
        {**ec_claims("ta"), "iss": "https://anchor.alliance-a.example/"},
        ec_claims("org", authority_hints=[]),
        ss_claims("ta", "org", constraints={"allowed_entity_types": ["federation_entity"]}),
        ec_claims("leaf", metadata={"tokenfed_provider": {"rate_card_uri": None}}),
    ],
)
def test_schema_refuses_invalid_statements(claims: dict[str, Any]) -> None:
    """FED-013: the schema refuses claims the SDK refuses (types, required claims, and the
    content rules a schema can express)."""
    with pytest.raises(TokenfedError):
        EntityStatement.decode(sign(claims, "ta"))
    assert list(statement_schema().iter_errors(claims))
