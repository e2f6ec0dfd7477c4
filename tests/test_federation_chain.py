"""Trust chains: validation step by step, constraints, metadata, recognition, path selection.

Requirements: FED-001 (OIDF profile: chains in OIDF's shape), FED-003 (code-point comparison),
FED-030..FED-036 (entity types, metadata, the key table), FED-040..FED-043 (constraints),
FED-050..FED-059 (validation), FED-060..FED-062 (recognition), FED-071 (path selection).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from _federation import (
    EXP,
    IDS,
    NOW,
    RECOGNITION,
    anchor,
    cross_chain,
    ec,
    ec_claims,
    federation_metadata,
    jwks,
    key,
    leaf_chain,
    operator_metadata,
    org_chain,
    provider_metadata,
    sign,
    ss,
)
from tokenfed.errors import TokenfedError
from tokenfed.federation import (
    EntityStatement,
    TrustAnchor,
    TrustChain,
    select_chain,
    validate_chain,
)
from tokenfed.keys import KeySet, KeyValidity

TA = [anchor("ta")]


def code_of(statements: list[str], anchors: list[TrustAnchor] | None = None, **kw: Any) -> str:
    with pytest.raises(TokenfedError) as caught:
        validate_chain(statements, anchors or TA, now=NOW, **kw)
    return caught.value.code


# --------------------------------------------------------------------------- valid chains


def test_leaf_directly_under_the_anchor() -> None:
    """FED-050, FED-059: leaf <- anchor validates; the result names anchor, path, expiry."""
    chain = validate_chain(leaf_chain(), TA, now=NOW, entity_type="tokenfed_provider")
    assert chain.subject == IDS["leaf"]
    assert chain.trust_anchor == IDS["ta"]
    assert chain.path == (IDS["leaf"], IDS["ta"])
    assert chain.exp == EXP
    assert chain.metadata == provider_metadata()


def test_leaf_under_an_intermediate() -> None:
    """FED-050, FED-059: leaf <- org <- anchor; the path lists the intermediate."""
    chain = validate_chain(org_chain(), TA, now=NOW)
    assert chain.path == (IDS["leaf"], IDS["org"], IDS["ta"])
    assert [s.iss for s in chain.statements] == [IDS["leaf"], IDS["org"], IDS["ta"], IDS["ta"]]


def test_chain_expiry_is_the_smallest_exp() -> None:
    """FED-054: the chain expires with its first statement to expire."""
    statements = org_chain()
    statements[2] = ss("ta", "org", exp=EXP - 100)
    assert validate_chain(statements, TA, now=NOW).exp == EXP - 100


def test_decoded_statements_are_accepted() -> None:
    """FED-050: statements may be given decoded; the result is the same."""
    decoded = [EntityStatement.decode(token) for token in org_chain()]
    assert (
        validate_chain(decoded, TA, now=NOW).path == validate_chain(org_chain(), TA, now=NOW).path
    )


def test_to_json_is_the_trust_chain_media_type() -> None:
    """FED-001, FED-059: a chain serializes as application/trust-chain+json (OIDF section 4),
    the compact statements in order, and validates again from that form."""
    chain = validate_chain(org_chain(), TA, now=NOW)
    assert chain.to_json() == org_chain()
    assert json.loads(chain.to_text()) == org_chain()
    assert validate_chain(chain.to_json(), TA, now=NOW).path == chain.path


def test_cross_alliance_recognition() -> None:
    """FED-060, FED-062: B's provider resolved under A through A's recognition of B."""
    chain = validate_chain(cross_chain(), TA, now=NOW, entity_type="tokenfed_provider")
    assert chain.trust_anchor == IDS["ta"]
    assert chain.path == (IDS["leafb"], IDS["orgb"], IDS["tb"], IDS["ta"])


def test_anchor_key_rollover() -> None:
    """FED-053: during rollover the anchor publishes both keys and the verifier pins both; the
    anchor's EC signed with the new key verifies."""
    statements = leaf_chain()
    statements[2] = ec("ta", keys=("ta", "ta-new"), signer="ta-new")
    statements[1] = ss("ta", "leaf", signer="ta-new")
    pinned = [anchor("ta", "ta", "ta-new")]
    assert validate_chain(statements, pinned, now=NOW).trust_anchor == IDS["ta"]


def test_two_anchors_give_separate_results() -> None:
    """FED-059: each result names the one anchor it was validated under."""
    a = validate_chain(leaf_chain(), [anchor("ta"), anchor("tb")], now=NOW)
    b_chain = [
        ec("leafb", hints=("tb",), metadata=provider_metadata("leafb")),
        ss("tb", "leafb"),
        ec("tb"),
    ]
    b = validate_chain(b_chain, [anchor("ta"), anchor("tb")], now=NOW)
    assert (a.trust_anchor, b.trust_anchor) == (IDS["ta"], IDS["tb"])


# --------------------------------------------------------------------------- count, structure


def test_too_short() -> None:
    """FED-050: a chain has at least three statements."""
    assert code_of(leaf_chain()[:2]) == "chain_not_well_formed"


def test_five_intermediates() -> None:
    """FED-050: more than 4 intermediates (8 statements) is too long, before any decoding."""
    assert code_of(["x"] * 8) == "path_too_long"


def test_four_intermediates_are_allowed() -> None:
    """FED-050: 4 intermediates (7 statements) is the limit."""
    names = ["i1", "i2", "i3", "i4"]
    ids = {n: f"https://{n}.alliance-a.example" for n in names}
    IDS.update(ids)
    try:
        statements = [ec("leaf", hints=("i1",), metadata=provider_metadata()), ss("i1", "leaf")]
        for lower, upper in zip(names, [*names[1:], "ta"], strict=True):
            statements.append(ss(upper, lower))
        statements.append(ec("ta"))
        assert len(validate_chain(statements, TA, now=NOW).path) == 6
    finally:
        for n in names:
            del IDS[n]


def test_subordinate_statement_in_place_of_the_subject() -> None:
    """FED-051: ES[0] is an entity configuration."""
    assert code_of([ss("org", "leaf"), ss("ta", "org"), ec("ta")]) == "chain_not_well_formed"


def test_configuration_in_the_middle() -> None:
    """FED-051: ES[1..m-1] are subordinate statements."""
    chain = leaf_chain()
    assert code_of([chain[0], ec("org", hints=("ta",)), chain[2]]) == "chain_not_well_formed"


def test_broken_link() -> None:
    """FED-051: ES[j].iss == ES[j+1].sub."""
    statements = org_chain()
    statements[2] = ss("ta", "op", keys=("org",))
    assert code_of(statements) == "chain_not_well_formed"


def test_issuer_not_in_authority_hints() -> None:
    """FED-051: the superior of ES[1] is listed in the subject's authority_hints (OIDF 3.2)."""
    statements = leaf_chain()
    statements[0] = ec("leaf", hints=("org",), metadata=provider_metadata())
    assert code_of(statements) == "chain_not_well_formed"


def test_entity_twice_on_the_path() -> None:
    """FED-051: a chain never loops (OIDF 17.1)."""
    statements = [
        ec("leaf", hints=("org",), metadata=provider_metadata()),
        ss("org", "leaf"),
        ss("ta", "org"),
        ss("org", "ta"),
        ss("ta", "org"),
        ec("ta"),
    ]
    assert code_of(statements) == "chain_not_well_formed"


def test_anchor_not_configured() -> None:
    """FED-052: a chain that ends at an entity that is not a configured anchor."""
    assert code_of(leaf_chain(), [anchor("tb")]) == "no_trust_path"


def test_recognition_used_backwards() -> None:
    """FED-052, FED-062: A recognises B; a verifier anchored at B given A's chain to B's
    provider finds no anchor of its own at the end of it."""
    assert code_of(cross_chain(), [anchor("tb")]) == "no_trust_path"


def test_recognition_is_not_transitive() -> None:
    """FED-061: a recognition statement only as the anchor's own statement."""
    statements = cross_chain()
    statements[2] = ss("tb", "orgb", **RECOGNITION)
    assert code_of(statements) == "chain_not_well_formed"


def test_string_comparison_is_exact() -> None:
    """FED-003: entity ids are compared code point by code point: a port makes another id."""
    statements = leaf_chain()
    claims = ec_claims("leaf", metadata=provider_metadata())
    claims["authority_hints"] = [IDS["ta"] + ":443"]
    statements[0] = sign(claims, "leaf")
    assert code_of(statements) == "chain_not_well_formed"


def test_decode_errors_come_first() -> None:
    """FED-050 step 2: a statement that fails decoding fails the chain with its code, before
    structure and signatures."""
    statements = org_chain()
    statements[2] = ss("ta", "org", constraints={"allowed_entity_types": ["federation_entity"]})
    statements[0] = ec("leaf", hints=("op",), metadata=provider_metadata())
    assert code_of(statements) == "invalid_statement"


# --------------------------------------------------------------------------- signatures


def test_anchor_signed_with_a_self_published_key() -> None:
    """FED-053: the anchor's EC verifies with pinned keys only, not its own jwks."""
    statements = leaf_chain()
    statements[2] = ec("ta", keys=("ta", "rogue"), signer="rogue")
    assert code_of(statements) == "unknown_key"


def test_anchor_subordinate_statement_with_a_self_published_key() -> None:
    """FED-053: the anchor's own SS verifies with the pinned keys too."""
    statements = leaf_chain()
    statements[2] = ec("ta", keys=("ta", "rogue"))
    statements[1] = ss("ta", "leaf", signer="rogue")
    assert code_of(statements) == "unknown_key"


def test_key_substitution_by_an_intermediate() -> None:
    """FED-053: org signs with a key it lists itself but its superior does not attest."""
    statements = org_chain()
    statements[1] = ss("org", "leaf", signer="org-rogue")
    assert code_of(statements) == "unknown_key"


def test_bad_signature_on_a_subordinate_statement() -> None:
    """FED-053: a statement whose signature does not verify."""
    statements = org_chain()
    head, _, signature = statements[1].split(".")
    payload = ss("org", "leaf", exp=EXP - 1).split(".")[1]
    statements[1] = f"{head}.{payload}.{signature}"
    assert code_of(statements) == "invalid_signature"


def test_subject_signed_with_a_key_its_superior_does_not_attest() -> None:
    """FED-053: ES[0] verifies with ES[1].jwks."""
    statements = org_chain()
    statements[1] = ss("org", "leaf", keys=("leaf-other",))
    assert code_of(statements) == "unknown_key"


def test_subject_kid_not_in_its_own_jwks() -> None:
    """FED-053: ES[0]'s kid is in its own jwks as well (OIDF 3.2)."""
    statements = leaf_chain()
    statements[0] = ec(
        "leaf", hints=("ta",), metadata=provider_metadata(), keys=("leaf-2",), signer="leaf"
    )
    assert code_of(statements) == "unknown_key"


def test_signatures_are_checked_from_the_anchor_down() -> None:
    """FED-053: with two bad signatures, the upper one is reported."""
    statements = org_chain()
    statements[2] = ss("ta", "org", signer="rogue")
    statements[1] = ss("org", "leaf", keys=("leaf-other",))
    with pytest.raises(TokenfedError) as caught:
        validate_chain(statements, TA, now=NOW)
    assert caught.value.code == "unknown_key"
    assert caught.value.detail["iss"] == IDS["ta"]


# --------------------------------------------------------------------------- times


def test_expired_intermediate_statement() -> None:
    """FED-054: every statement is within its time."""
    statements = org_chain()
    statements[2] = ss("ta", "org", iat=NOW - 7200, exp=NOW - 60)
    assert code_of(statements) == "statement_expired"


def test_anchor_configuration_not_yet_valid() -> None:
    """FED-054: the anchor's EC too."""
    statements = leaf_chain()
    statements[2] = ec("ta", iat=NOW + 61, exp=NOW + 3600)
    assert code_of(statements) == "statement_not_yet_valid"


def test_signature_before_time() -> None:
    """FED-050: signatures (step 4) are reported before times (step 5)."""
    statements = org_chain()
    statements[2] = ss("ta", "org", iat=NOW - 7200, exp=NOW - 60, signer="rogue")
    assert code_of(statements) == "unknown_key"


# --------------------------------------------------------------------------- constraints


def test_max_path_length_exceeded() -> None:
    """FED-041: the anchor allows no intermediate; org is one."""
    statements = org_chain()
    statements[2] = ss("ta", "org", constraints={"max_path_length": 0})
    assert code_of(statements) == "max_path_length_exceeded"


def test_max_path_length_met() -> None:
    """FED-041: one intermediate under max_path_length 1."""
    statements = org_chain()
    statements[2] = ss("ta", "org", constraints={"max_path_length": 1})
    validate_chain(statements, TA, now=NOW)


def test_max_path_length_counts_the_recognised_anchor() -> None:
    """FED-041: A's recognition of B with max_path_length 1 admits B's direct subordinates,
    not those under B's intermediate: B counts as an intermediate."""
    constraints = {**RECOGNITION["constraints"], "max_path_length": 1}
    assert code_of(cross_chain(constraints=constraints)) == "max_path_length_exceeded"


def test_max_path_length_zero_on_the_leaf_statement() -> None:
    """FED-041: the statement about the subject itself has no intermediates below it."""
    statements = leaf_chain()
    statements[1] = ss("ta", "leaf", constraints={"max_path_length": 0})
    validate_chain(statements, TA, now=NOW)


def naming(permitted: list[str] | None = None, excluded: list[str] | None = None) -> list[str]:
    rules: dict[str, Any] = {}
    if permitted is not None:
        rules["permitted"] = permitted
    if excluded is not None:
        rules["excluded"] = excluded
    statements = org_chain()
    statements[2] = ss("ta", "org", constraints={"naming_constraints": rules})
    return statements


def test_naming_permitted() -> None:
    """FED-042: every host below the issuer is under a permitted name."""
    validate_chain(naming([".alliance-a.example"]), TA, now=NOW)


def test_naming_outside_permitted() -> None:
    """FED-042: a host outside the permitted names."""
    assert code_of(naming([".alliance-b.example"])) == "naming_constraint_violated"


def test_naming_applies_to_the_statement_subject() -> None:
    """FED-042: the SS's own subject (org) is checked too, not only the leaf."""
    assert code_of(naming(["provider.alliance-a.example"])) == "naming_constraint_violated"


def test_naming_excluded_wins() -> None:
    """FED-042: a host both permitted and excluded is refused."""
    rules = naming([".alliance-a.example"], ["provider.alliance-a.example"])
    assert code_of(rules) == "naming_constraint_violated"


def test_naming_dot_does_not_match_the_domain_itself() -> None:
    """FED-042: '.alliance-a.example' does not match 'alliance-a.example'."""
    IDS["apex"] = "https://alliance-a.example"
    try:
        statements = [
            ec("apex", hints=("ta",), metadata=provider_metadata("apex")),
            ss(
                "ta",
                "apex",
                constraints={"naming_constraints": {"permitted": [".alliance-a.example"]}},
            ),
            ec("ta"),
        ]
        assert code_of(statements) == "naming_constraint_violated"
    finally:
        del IDS["apex"]


def test_naming_exact_host_and_path_ignored() -> None:
    """FED-042: an exact host entry matches that host whatever the path and port."""
    statements = org_chain()
    statements[1] = ss(
        "org",
        "leaf",
        constraints={"naming_constraints": {"permitted": ["provider.alliance-a.example"]}},
    )
    statements[2] = ss(
        "ta",
        "org",
        constraints={
            "naming_constraints": {
                "permitted": ["org.alliance-a.example", "provider.alliance-a.example"]
            }
        },
    )
    assert validate_chain(statements, TA, now=NOW).path[1] == IDS["org"]  # path /federation


def test_naming_recognition_limits_the_other_alliance() -> None:
    """FED-042, FED-060: A's recognition permits only B's names."""
    constraints = {
        **RECOGNITION["constraints"],
        "naming_constraints": {"permitted": [".alliance-c.example"]},
    }
    assert code_of(cross_chain(constraints=constraints)) == "naming_constraint_violated"


def test_constraints_checked_from_the_anchor_down() -> None:
    """FED-055: the anchor's statement is checked before the intermediate's."""
    statements = org_chain()
    statements[1] = ss(
        "org", "leaf", constraints={"naming_constraints": {"permitted": ["x.example"]}}
    )
    statements[2] = ss("ta", "org", constraints={"max_path_length": 0})
    assert code_of(statements) == "max_path_length_exceeded"


# --------------------------------------------------------------------------- metadata


def both_types() -> list[str]:
    metadata = {**provider_metadata(), **operator_metadata("leaf")}
    statements = org_chain()
    statements[0] = ec("leaf", hints=("org",), metadata=metadata)
    return statements


def test_allowed_entity_types_strips() -> None:
    """FED-043, FED-056: a type not allowed is removed; the chain stays valid."""
    statements = both_types()
    statements[2] = ss("ta", "org", constraints={"allowed_entity_types": ["tokenfed_provider"]})
    chain = validate_chain(statements, TA, now=NOW, entity_type="tokenfed_provider")
    assert set(chain.metadata) == {"tokenfed_provider"}


def test_requested_type_not_allowed() -> None:
    """FED-043, FED-058: the requested type was removed by allowed_entity_types."""
    statements = both_types()
    statements[2] = ss("ta", "org", constraints={"allowed_entity_types": ["tokenfed_provider"]})
    assert code_of(statements, entity_type="tokenfed_operator") == "entity_type_not_allowed"


def test_empty_allowed_entity_types() -> None:
    """FED-043: [] allows federation_entity only."""
    statements = both_types()
    statements[1] = ss("org", "leaf", constraints={"allowed_entity_types": []})
    assert code_of(statements, entity_type="tokenfed_provider") == "entity_type_not_allowed"


def test_recognition_allows_only_its_types() -> None:
    """FED-043, FED-060: A recognises B's providers only; B's operator is refused under A."""
    statements = cross_chain()
    statements[0] = ec("leafb", hints=("orgb",), metadata=operator_metadata("leafb"))
    assert code_of(statements, entity_type="tokenfed_operator") == "entity_type_not_allowed"


def test_requested_type_absent() -> None:
    """FED-058: the subject has no such type at all."""
    assert code_of(leaf_chain(), entity_type="tokenfed_operator") == "entity_type_absent"


def test_superior_metadata_overrides() -> None:
    """FED-056 (b): the superior's metadata replaces the subject's values, for types the
    subject has; a type only the superior names is ignored."""
    statements = leaf_chain()
    statements[1] = ss(
        "ta",
        "leaf",
        metadata={
            "tokenfed_provider": {"rate_card_uri": "https://cards.alliance-a.example/leaf"},
            "tokenfed_operator": {"tokenfed_versions": ["1.0"]},
        },
    )
    chain = validate_chain(statements, TA, now=NOW)
    assert chain.metadata["tokenfed_provider"]["rate_card_uri"] == (
        "https://cards.alliance-a.example/leaf"
    )
    assert "tokenfed_operator" not in chain.metadata


def test_override_is_applied_before_the_checks() -> None:
    """FED-056 (b), (e): an override can break the metadata, which then fails."""
    statements = leaf_chain()
    statements[1] = ss("ta", "leaf", metadata={"tokenfed_provider": {"tokenfed_versions": []}})
    assert code_of(statements) == "invalid_metadata"


def test_intermediate_metadata_does_not_apply_to_the_subject() -> None:
    """FED-056 (b): only ES[1]'s metadata overrides the subject's."""
    statements = org_chain()
    statements[2] = ss("ta", "org", metadata={"tokenfed_provider": {"tokenfed_versions": []}})
    assert validate_chain(statements, TA, now=NOW).metadata == provider_metadata()


def provider_with(**params: Any) -> list[str]:
    metadata = provider_metadata()
    metadata["tokenfed_provider"].update(params)
    metadata["tokenfed_provider"] = {
        name: value for name, value in metadata["tokenfed_provider"].items() if value != "DROP"
    }
    statements = leaf_chain()
    statements[0] = ec("leaf", hints=("ta",), metadata=metadata)
    return statements


@pytest.mark.parametrize(
    "params",
    [
        {"tokenfed_versions": []},
        {"tokenfed_versions": "1.0"},
        {"tokenfed_versions": ["1"]},
        {"tokenfed_versions": "DROP"},
    ],
    ids=["empty", "string", "not-major-minor", "missing"],
)
def test_tokenfed_versions(params: dict[str, Any]) -> None:
    """FED-031: a non-empty array of MAJOR.MINOR strings."""
    assert code_of(provider_with(**params)) == "invalid_metadata"


def key_without(member: str) -> dict[str, Any]:
    jwk = jwks("leaf-receipts", validity=KeyValidity(nbf=NOW))["keys"][0]
    del jwk[member]
    return {"keys": [jwk]}


@pytest.mark.parametrize(
    "receipt_jwks",
    [
        "DROP",
        {"keys": []},
        key_without("nbf"),
        key_without("kid"),
        key_without("alg"),
        key_without("use"),
        {"keys": [{**key("leaf-receipts").to_jwk(), "nbf": NOW}]},
        {"keys": [{**jwks("leaf-receipts")["keys"][0], "nbf": NOW, "kid": "k1"}]},
        {"keys": [{**jwks("leaf-receipts")["keys"][0], "nbf": NOW, "use": "enc"}]},
    ],
    ids=["missing", "empty", "no-nbf", "no-kid", "no-alg", "no-use", "private", "kid", "use"],
)
def test_receipt_jwks(receipt_jwks: Any) -> None:
    """FED-032: the provider's receipt keys, each with kid, alg, use sig and nbf."""
    assert code_of(provider_with(receipt_jwks=receipt_jwks)) == "invalid_metadata"


def test_application_key_shared_with_federation_keys() -> None:
    """FED-033: a receipt key that is also a federation key."""
    shared = jwks("leaf", validity=KeyValidity(nbf=NOW))
    assert code_of(provider_with(receipt_jwks=shared)) == "invalid_metadata"


def test_application_key_shared_with_attested_keys() -> None:
    """FED-033: the keys the superior attests count as federation keys too."""
    statements = provider_with()
    statements[1] = ss("ta", "leaf", keys=("leaf", "leaf-receipts"))
    assert code_of(statements) == "invalid_metadata"


@pytest.mark.parametrize(
    "params",
    [
        {"rate_card_uri": "http://provider.alliance-a.example/card"},
        {"metering_endpoint": "https://provider.alliance-a.example/meter#x"},
        {"metering_endpoint": 7},
        {"jwks": jwks("leaf-receipts")},
        {"signed_jwks_uri": "https://provider.alliance-a.example/jwks"},
    ],
    ids=["http", "fragment", "not-a-string", "jwks", "signed_jwks_uri"],
)
def test_urls_and_generic_keys(params: dict[str, Any]) -> None:
    """FED-034: https URLs without fragment; no generic jwks members in tokenfed types."""
    assert code_of(provider_with(**params)) == "invalid_metadata"


def test_checks_apply_to_every_type() -> None:
    """FED-030, FED-057: a broken operator type fails the chain even when the provider type
    is the one asked for."""
    metadata = {**provider_metadata(), "tokenfed_operator": {"tokenfed_versions": ["1.0"]}}
    statements = leaf_chain()
    statements[0] = ec("leaf", hints=("ta",), metadata=metadata)
    assert code_of(statements, entity_type="tokenfed_provider") == "invalid_metadata"


def test_federation_entity_urls_are_checked() -> None:
    """FED-034: federation endpoints of the subject are https too."""
    metadata = federation_metadata("org")
    metadata["federation_entity"]["federation_list_endpoint"] = "http://org.example/list"
    statements = [
        ec("org", hints=("ta",), metadata=metadata),
        ss("ta", "org"),
        ec("ta"),
    ]
    assert code_of(statements) == "invalid_metadata"


# --------------------------------------------------------------------------- the key table


def test_keys_for_receipts() -> None:
    """FED-035: receipts, batches and rate cards verify with the provider's receipt_jwks."""
    chain = validate_chain(leaf_chain(), TA, now=NOW)
    for typ in ("tokenfed-receipt+jwt", "tokenfed-receipt-batch+jwt", "tokenfed-rate-card+jwt"):
        keys = chain.keys_for(typ)
        assert [k.kid for k in keys] == [key("leaf-receipts").kid]
        assert next(iter(keys)).validity == KeyValidity(nbf=NOW - 86400)


def test_keys_for_is_case_insensitive() -> None:
    """FED-035: typ compared as CONV-043 says."""
    chain = validate_chain(leaf_chain(), TA, now=NOW)
    assert len(chain.keys_for("application/TOKENFED-RECEIPT+JWT")) == 1


def test_receipt_against_an_operator() -> None:
    """FED-035: a receipt is never verified with an operator's entitlement keys."""
    statements = leaf_chain()
    statements[0] = ec("leaf", hints=("ta",), metadata=operator_metadata("leaf"))
    chain = validate_chain(statements, TA, now=NOW)
    assert [k.kid for k in chain.keys_for("tokenfed-entitlement+jwt")] == [
        key("leaf-entitlements").kid
    ]
    with pytest.raises(TokenfedError) as caught:
        chain.keys_for("tokenfed-receipt+jwt")
    assert caught.value.code == "entity_type_absent"


def test_unknown_document_typ() -> None:
    """FED-035: a typ outside the table."""
    chain = validate_chain(leaf_chain(), TA, now=NOW)
    with pytest.raises(TokenfedError) as caught:
        chain.keys_for("entity-statement+jwt")
    assert caught.value.code == "unsupported_typ"


def test_settlement_statement_lookup_order() -> None:
    """FED-035: a settlement statement by a provider uses receipt_jwks, by a clearing house
    statement_jwks."""
    chain = validate_chain(leaf_chain(), TA, now=NOW)
    assert [k.kid for k in chain.keys_for("tokenfed-settlement-statement+jwt")] == [
        key("leaf-receipts").kid
    ]
    house = {
        "tokenfed_clearing_house": {
            "tokenfed_versions": ["1.0"],
            "statement_jwks": jwks("leaf-statements", validity=KeyValidity(nbf=0)),
        }
    }
    statements = leaf_chain()
    statements[0] = ec("leaf", hints=("ta",), metadata=house)
    chain = validate_chain(statements, TA, now=NOW)
    for typ in ("tokenfed-settlement-statement+jwt", "tokenfed-revenue-share+jwt"):
        assert [k.kid for k in chain.keys_for(typ)] == [key("leaf-statements").kid]


def test_keys_are_bound_to_the_subject() -> None:
    """FED-036: keys_for gives the subject's keys with their validity windows, nothing else
    (the receipts chapter's key_not_valid rules then apply to them)."""
    chain = validate_chain(leaf_chain(), TA, now=NOW)
    keys = chain.keys_for("tokenfed-receipt+jwt")
    assert isinstance(keys, KeySet)
    only = next(iter(keys))
    assert not only.validity.is_valid_at(NOW - 86401)
    assert only.validity.is_valid_at(NOW)
    assert chain.subject == IDS["leaf"]


# --------------------------------------------------------------------------- selection


def chain_of(statements: list[str], anchors: list[TrustAnchor]) -> TrustChain:
    return validate_chain(statements, anchors, now=NOW)


def test_select_by_anchor_order() -> None:
    """FED-071 (1): the first configured anchor wins over a shorter path."""
    anchors = [anchor("ta"), anchor("tb")]
    long_a = chain_of(org_chain(), anchors)
    short_b = chain_of(
        [ec("leaf", hints=("tb",), metadata=provider_metadata()), ss("tb", "leaf"), ec("tb")],
        anchors,
    )
    assert select_chain([short_b, long_a], anchors) is long_a
    assert select_chain([long_a, short_b], anchors[::-1]) is short_b


def test_select_fewest_statements() -> None:
    """FED-071 (2): fewer statements first."""
    short = chain_of(leaf_chain(), TA)
    long = chain_of(org_chain(), TA)
    assert select_chain([long, short], TA) is short


def test_select_latest_expiry() -> None:
    """FED-071 (3): with as many statements, the later expiry first."""
    early = leaf_chain()
    early[1] = ss("ta", "leaf", exp=EXP - 10)
    a = chain_of(early, TA)
    b = chain_of(leaf_chain(), TA)
    assert select_chain([a, b], TA) is b


def test_select_path_order() -> None:
    """FED-071 (4): then the smaller path in code-point order."""
    IDS["org2"] = "https://org.alliance-a.example/another"
    try:

        def through(org: str) -> TrustChain:
            return chain_of(
                [
                    ec("leaf", hints=("org", "org2"), metadata=provider_metadata()),
                    ss(org, "leaf"),
                    ss("ta", org),
                    ec("ta"),
                ],
                TA,
            )

        via_org, via_org2 = through("org"), through("org2")
        assert via_org2.path < via_org.path
        assert select_chain([via_org, via_org2], TA) is via_org2
    finally:
        del IDS["org2"]


def test_select_nothing() -> None:
    """FED-071: no chain to choose from is no trust path."""
    with pytest.raises(TokenfedError) as caught:
        select_chain([], TA)
    assert caught.value.code == "no_trust_path"


def test_api_misuse_is_a_type_error() -> None:
    """Wrong Python types are programming errors, not wire codes."""
    with pytest.raises(TypeError):
        validate_chain("abc", TA, now=NOW)
    with pytest.raises(TypeError):
        validate_chain(leaf_chain(), TA, now=float(NOW))  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        validate_chain(leaf_chain(), ["x"], now=NOW)  # type: ignore[list-item]


# --------------------------------------------------------------------------- policy


def with_policies(ta: dict[str, Any] | None, org: dict[str, Any] | None) -> list[str]:
    statements = org_chain()
    statements[1] = ss("org", "leaf", **({"metadata_policy": org} if org else {}))
    statements[2] = ss("ta", "org", **({"metadata_policy": ta} if ta else {}))
    return statements


def test_policies_merge_from_the_anchor_down() -> None:
    """FED-056 (d): the anchor's subset_of and the intermediate's default merge and apply."""
    statements = with_policies(
        {"tokenfed_provider": {"tokenfed_versions": {"subset_of": ["1.0", "1.1"]}}},
        {"tokenfed_provider": {"metering_endpoint": {"default": "https://m.alliance-a.example"}}},
    )
    statements[0] = ec(
        "leaf",
        hints=("org",),
        metadata={
            "tokenfed_provider": {
                "tokenfed_versions": ["1.1", "0.9", "1.0"],
                "receipt_jwks": provider_metadata()["tokenfed_provider"]["receipt_jwks"],
            }
        },
    )
    chain = validate_chain(statements, TA, now=NOW)
    assert chain.metadata["tokenfed_provider"]["tokenfed_versions"] == ["1.1", "1.0"]
    assert chain.metadata["tokenfed_provider"]["metering_endpoint"] == (
        "https://m.alliance-a.example"
    )


def test_policy_conflict() -> None:
    """FED-056 (d): unequal values of two superiors are a policy error."""
    statements = with_policies(
        {"tokenfed_provider": {"rate_card_uri": {"value": "https://a.alliance-a.example/c"}}},
        {"tokenfed_provider": {"rate_card_uri": {"value": "https://b.alliance-a.example/c"}}},
    )
    assert code_of(statements) == "metadata_policy_error"


def test_policy_violated_by_metadata() -> None:
    """FED-056 (d): metadata outside one_of is invalid metadata."""
    statements = with_policies(
        {"tokenfed_provider": {"rate_card_uri": {"one_of": ["https://x.alliance-a.example/c"]}}},
        None,
    )
    assert code_of(statements) == "invalid_metadata"


def test_policy_leaves_no_versions() -> None:
    """FED-031, FED-056 (e): subset_of may yield [], which the application layer refuses."""
    statements = with_policies(
        {"tokenfed_provider": {"tokenfed_versions": {"subset_of": ["2.0"], "essential": True}}},
        None,
    )
    assert code_of(statements) == "invalid_metadata"


def test_override_before_policy() -> None:
    """FED-056 (b) before (d): the superior's override is what the policy sees."""
    statements = leaf_chain()
    statements[1] = ss(
        "ta",
        "leaf",
        metadata={"tokenfed_provider": {"rate_card_uri": "https://ok.alliance-a.example/c"}},
        metadata_policy={
            "tokenfed_provider": {"rate_card_uri": {"one_of": ["https://ok.alliance-a.example/c"]}}
        },
    )
    chain = validate_chain(statements, TA, now=NOW)
    assert chain.metadata["tokenfed_provider"]["rate_card_uri"] == "https://ok.alliance-a.example/c"


def test_policy_runs_after_stripping() -> None:
    """FED-056 (c) before (d): a policy on a removed type does not apply."""
    statements = both_types()
    statements[2] = ss(
        "ta",
        "org",
        constraints={"allowed_entity_types": ["tokenfed_provider"]},
        metadata_policy={"tokenfed_operator": {"entitlement_endpoint": {"essential": True}}},
    )
    assert set(validate_chain(statements, TA, now=NOW).metadata) == {"tokenfed_provider"}


def test_recognition_with_policy() -> None:
    """FED-060: a recognition statement never carries policy (P7)."""
    policy = {"tokenfed_provider": {"tokenfed_versions": {"subset_of": ["1.0"]}}}
    assert code_of(cross_chain(metadata_policy=policy)) == "invalid_statement"
