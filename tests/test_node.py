"""The partner node over real HTTP: federation endpoints, error objects, hostile requests.

Each test serves a node with uvicorn in a thread on a loopback port (tests/_node_support.py)
and talks to it with httpx.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from _node_support import (
    ADMIN_TOKEN,
    NOW,
    NodeFiles,
    running,
    trust_anchor_toml,
    write_jwks,
    write_key,
)
from tokenfed import jws
from tokenfed.entitlements import Entitlement
from tokenfed.errors import InvalidStatementError, SchemaViolationError, registry
from tokenfed.exchange import ExchangeRates
from tokenfed.keys import KeySet, generate_key
from tokenfed.node import NodeApp, load_config
from tokenfed.units import RateCard

SUBORDINATE = "https://op.a.example"


@pytest.fixture(scope="module")
def anchor(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[NodeFiles, str]]:
    root = tmp_path_factory.mktemp("anchor")
    sub_key = generate_key()
    jwks = {"keys": [sub_key.public_key().to_jwk(with_validity=False)]}
    (root / "subs").mkdir()
    (root / "subs" / "provider.json").write_text(
        json.dumps(
            {
                "entity_id": "https://tokens.b.example",
                "jwks": jwks,
                "entity_types": ["tokenfed_provider"],
            }
        )
    )
    (root / "sub.jwks").write_text(json.dumps(jwks))
    files = NodeFiles(
        root / "node",
        "https://anchor.a.example",
        ["anchor"],
        top_toml=f'subordinates_dir = "{root / "subs"}"',
        extra_toml=f"""
[[subordinates]]
entity_id = "{SUBORDINATE}"
jwks = "{root / "sub.jwks"}"
entity_types = ["tokenfed_operator"]
metadata = {{tokenfed_operator = {{tokenfed_versions = ["1.0"]}}}}

[[subordinates]]
entity_id = "https://mid.a.example"
jwks = "{root / "sub.jwks"}"
entity_types = ["federation_entity"]
""",
    )
    with running(files.app()) as url:
        yield files, url


def assert_error(response: httpx.Response, status: int, code: str) -> dict[str, object]:
    """API-010, FED-085: the error object with its registry code, the OIDF and CONV-050 members."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert body["error"] == code
    assert code in registry()
    assert body["message"] == body["error_description"]
    assert set(body) <= {"error", "error_description", "message", "detail"}
    assert response.headers["x-request-id"]
    return body


def decode(token: str, files: NodeFiles, typ: str) -> dict[str, object]:
    return jws.verify(token, typ, files.federation_key.public_key()).claims


def test_entity_configuration(anchor: tuple[NodeFiles, str]) -> None:
    """API-020, FED-080: the configuration is a signed entity statement with the well-known
    media type, iat now and exp within the configured lifetime; an anchor lists its federation
    endpoints."""
    files, url = anchor
    response = httpx.get(url + "/.well-known/openid-federation")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/entity-statement+jwt"
    claims = decode(response.text, files, "entity-statement+jwt")
    assert claims["iss"] == claims["sub"] == "https://anchor.a.example"
    assert claims["iat"] == NOW
    assert claims["exp"] == NOW + 86400
    assert "authority_hints" not in claims
    endpoints = claims["metadata"]["federation_entity"]  # type: ignore[index]
    assert endpoints == {
        "federation_fetch_endpoint": "https://anchor.a.example/federation/fetch",
        "federation_list_endpoint": "https://anchor.a.example/federation/list",
        "federation_historical_keys_endpoint": "https://anchor.a.example/federation/historical-keys",
    }
    assert claims["jwks"] == files.federation_jwks()


def test_fetch_subordinate_statement(anchor: tuple[NodeFiles, str]) -> None:
    """API-021, FED-081: fetch answers the subordinate statement with the configured metadata
    and the fetch endpoint as source_endpoint."""
    files, url = anchor
    response = httpx.get(url + "/federation/fetch", params={"sub": SUBORDINATE})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/entity-statement+jwt"
    claims = decode(response.text, files, "entity-statement+jwt")
    assert claims["iss"] == "https://anchor.a.example"
    assert claims["sub"] == SUBORDINATE
    assert claims["metadata"] == {"tokenfed_operator": {"tokenfed_versions": ["1.0"]}}
    assert claims["source_endpoint"] == "https://anchor.a.example/federation/fetch"


def test_fetch_unknown_subject_is_not_found(anchor: tuple[NodeFiles, str]) -> None:
    """API-021, FED-081: an entity that is not a subordinate is not_found (404)."""
    _, url = anchor
    response = httpx.get(url + "/federation/fetch", params={"sub": "https://x.a.example"})
    assert_error(response, 404, "not_found")


def test_fetch_self_is_invalid_request(anchor: tuple[NodeFiles, str]) -> None:
    """API-021, FED-081: sub equal to the issuer is invalid_request (400)."""
    _, url = anchor
    response = httpx.get(url + "/federation/fetch", params={"sub": "https://anchor.a.example"})
    assert_error(response, 400, "invalid_request")


def test_fetch_without_sub_is_invalid_request(anchor: tuple[NodeFiles, str]) -> None:
    """API-012, FED-081: a required parameter missing is invalid_request."""
    _, url = anchor
    assert_error(httpx.get(url + "/federation/fetch"), 400, "invalid_request")


def test_fetch_with_two_subs_is_invalid_request(anchor: tuple[NodeFiles, str]) -> None:
    """API-012: a single-valued parameter given twice is invalid_request."""
    _, url = anchor
    response = httpx.get(url + f"/federation/fetch?sub={SUBORDINATE}&sub={SUBORDINATE}")
    assert_error(response, 400, "invalid_request")


def test_list_all_and_by_type(anchor: tuple[NodeFiles, str]) -> None:
    """API-022: list answers the subordinates' entity ids, filtered by entity_type (any of the
    repeated values); an unknown parameter is ignored (FED-082, FED-086)."""
    _, url = anchor
    everyone = ["https://mid.a.example", "https://op.a.example", "https://tokens.b.example"]
    assert httpx.get(url + "/federation/list").json() == everyone
    assert httpx.get(url + "/federation/list?color=blue").json() == everyone
    by_type = httpx.get(
        url + "/federation/list?entity_type=tokenfed_provider&entity_type=tokenfed_operator"
    )
    assert by_type.json() == ["https://op.a.example", "https://tokens.b.example"]
    assert httpx.get(url + "/federation/list?entity_type=federation_entity").json() == [
        "https://mid.a.example"
    ]


@pytest.mark.parametrize("query", ["trust_marked=true", "trust_mark_type=x", "intermediate=true"])
def test_list_unsupported_filter(anchor: tuple[NodeFiles, str], query: str) -> None:
    """API-022 (FED-082): the trust-mark and intermediate filters are unsupported_parameter."""
    _, url = anchor
    response = httpx.get(url + "/federation/list?" + query)
    assert_error(response, 400, "unsupported_parameter")


def test_historical_keys(anchor: tuple[NodeFiles, str]) -> None:
    """API-023, FED-083: the historical keys document is a jwk-set+jwt signed with the
    federation key."""
    files, url = anchor
    response = httpx.get(url + "/federation/historical-keys")
    assert response.headers["content-type"] == "application/jwk-set+jwt"
    claims = decode(response.text, files, "jwk-set+jwt")
    assert claims == {"iss": "https://anchor.a.example", "iat": NOW, "keys": []}


def test_healthz(anchor: tuple[NodeFiles, str]) -> None:
    """API-002: /healthz answers 200 with the entity id while the node serves."""
    _, url = anchor
    response = httpx.get(url + "/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "entity_id": "https://anchor.a.example"}


def test_unknown_path_is_not_found(anchor: tuple[NodeFiles, str]) -> None:
    """API-010: an unknown path is the not_found error object, not an HTML page."""
    _, url = anchor
    assert_error(httpx.get(url + "/no/such/thing"), 404, "not_found")


@pytest.mark.parametrize("path", ["/healthz/", "/.well-known/openid-federation/", "/healthz%2F"])
def test_a_trailing_slash_is_another_path(anchor: tuple[NodeFiles, str], path: str) -> None:
    """API-010: a path that differs by a trailing slash is not_found, never a redirect (whose
    Location would come from the client's Host header)."""
    _, url = anchor
    response = httpx.get(url + path, headers={"host": "evil.example"})
    assert_error(response, 404, "not_found")
    assert "location" not in response.headers


def test_wrong_method_is_invalid_request(anchor: tuple[NodeFiles, str]) -> None:
    """API-010: a method the endpoint does not serve is 405 invalid_request with Allow."""
    _, url = anchor
    response = httpx.post(url + "/healthz", content=b"{}")
    assert_error(response, 405, "invalid_request")
    assert "GET" in response.headers["allow"]


def test_configuration_is_cached_until_close_to_exp(tmp_path: Path) -> None:
    """API-020: the configuration is re-signed only when a tenth of its lifetime is left, and
    then with a fresh iat and exp."""
    now = [NOW]
    files = NodeFiles(tmp_path, "https://anchor.c.example", ["anchor"])
    node = files.app(clock=lambda: now[0])
    first = node.federation.entity_configuration()
    now[0] = NOW + 86400 - 8641
    assert node.federation.entity_configuration() == first
    now[0] = NOW + 86400 - 8640
    renewed = node.federation.entity_configuration()
    claims = decode(renewed, files, "entity-statement+jwt")
    assert (claims["iat"], claims["exp"]) == (now[0], now[0] + 86400)
    node.state.close()


# --------------------------------------------------------------------------- operator

PROVIDER = "https://tokens.b.example"


@pytest.fixture(scope="module")
def operator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[NodeFiles, str]]:
    root = tmp_path_factory.mktemp("operator")
    anchor_key = generate_key()
    (root / "anchor.jwks").write_text(
        json.dumps({"keys": [anchor_key.public_key().to_jwk(with_validity=False)]})
    )
    files = NodeFiles(
        root / "node",
        "https://op.a.example",
        ["operator"],
        authority_hints=["https://anchor.a.example"],
        extra_toml=trust_anchor_toml("https://anchor.a.example", root / "anchor.jwks"),
    )
    with running(files.app()) as url:
        yield files, url


def admin(token: str = ADMIN_TOKEN) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


ENTITLEMENT_REQUEST = {
    "subscriber": "alice",
    "provider": PROVIDER,
    "scope": ["qwen-max"],
    "limit": "2.5",
    "lifetime": 600,
}


def test_issue_entitlement(operator: tuple[NodeFiles, str]) -> None:
    """API-041: the admin endpoint issues an entitlement signed with the operator's
    entitlement key, for the provider, with the pairwise subject of the subscriber."""
    files, url = operator
    response = httpx.post(url + "/entitlements", json=ENTITLEMENT_REQUEST, headers=admin())
    assert response.status_code == 201, response.text
    body = response.json()
    entitlement = Entitlement.from_jws(
        body["entitlement"], files.role_key.public_key(), audience=PROVIDER, now=NOW
    )
    assert entitlement.iss == "https://op.a.example"
    assert entitlement.scope == ("qwen-max",)
    assert entitlement.exp == NOW + 600
    assert (body["jti"], body["sub"], body["limit"]) == (entitlement.jti, entitlement.sub, "2.5")
    again = httpx.post(url + "/entitlements", json=ENTITLEMENT_REQUEST, headers=admin()).json()
    assert again["sub"] == body["sub"]
    assert again["jti"] != body["jti"]


def test_issued_entitlements_survive_a_restart(operator: tuple[NodeFiles, str]) -> None:
    """API-041 (ENT-011): issued entitlements are recorded in the node's SQLite state and
    read again when the node starts."""
    files, url = operator
    jti = httpx.post(url + "/entitlements", json=ENTITLEMENT_REQUEST, headers=admin()).json()["jti"]
    restarted = NodeApp(load_config(files.root / "node.toml"), clock=lambda: NOW)
    try:
        assert restarted.operator is not None
        assert restarted.operator.issued.get(jti) is not None
    finally:
        restarted.state.close()


@pytest.mark.parametrize(
    "headers",
    [
        {},
        admin("wrong-token"),
        {"authorization": f"Basic {ADMIN_TOKEN}"},
        {"authorization": "Bearer"},
    ],
    ids=["missing", "wrong", "basic", "empty"],
)
def test_entitlement_endpoint_needs_the_admin_token(
    operator: tuple[NodeFiles, str], headers: dict[str, str]
) -> None:
    """API-040: no, a wrong, or a non-bearer credential is invalid_client (401)."""
    _, url = operator
    response = httpx.post(url + "/entitlements", json=ENTITLEMENT_REQUEST, headers=headers)
    assert_error(response, 401, "invalid_client")


def test_oversized_body_is_refused_before_reading(operator: tuple[NodeFiles, str]) -> None:
    """API-013: a declared length over the limit is payload_too_large (413)."""
    _, url = operator
    body = b"[" + b" " * 1048576 + b"]"
    response = httpx.post(
        url + "/entitlements",
        content=body,
        headers={**admin(), "content-type": "application/json"},
    )
    assert_error(response, 413, "payload_too_large")


def test_oversized_chunked_body_is_refused(operator: tuple[NodeFiles, str]) -> None:
    """API-013: a body without Content-Length is read with a cap and refused at the limit."""
    _, url = operator

    def chunks() -> Iterator[bytes]:
        yield b"["
        for _ in range(40):
            yield b" " * 65536
        yield b"]"

    response = httpx.post(
        url + "/entitlements",
        content=chunks(),
        headers={**admin(), "content-type": "application/json"},
    )
    assert "content-length" not in response.request.headers
    assert_error(response, 413, "payload_too_large")


def test_wrong_media_type_is_refused(operator: tuple[NodeFiles, str]) -> None:
    """API-014: a body that is not application/json is unsupported_media_type (415)."""
    _, url = operator
    response = httpx.post(
        url + "/entitlements",
        content=json.dumps(ENTITLEMENT_REQUEST),
        headers={**admin(), "content-type": "text/plain"},
    )
    assert_error(response, 415, "unsupported_media_type")


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b'{"subscriber": "a", "subscriber": "b"}', "malformed"),
        (b'{"limit": 1.5}', "malformed"),
        (b"\xff", "malformed"),
        (b"[]", "invalid_request"),
        (b'{"subscriber": "alice"}', "invalid_request"),
    ],
    ids=["duplicate-member", "float", "not-utf8", "not-object", "member-missing"],
)
def test_bad_entitlement_request_body(
    operator: tuple[NodeFiles, str], body: bytes, code: str
) -> None:
    """API-015, API-041: the body is strict I-JSON (malformed otherwise) of the request's
    shape (invalid_request otherwise)."""
    _, url = operator
    response = httpx.post(
        url + "/entitlements",
        content=body,
        headers={**admin(), "content-type": "application/json"},
    )
    assert_error(response, 400, code)


def test_entitlement_claims_rules_apply(operator: tuple[NodeFiles, str]) -> None:
    """API-041: a request the entitlement rules refuse (a limit that is not a canonical
    decimal, ENT-006) is answered with the code of that rule."""
    _, url = operator
    response = httpx.post(
        url + "/entitlements", json={**ENTITLEMENT_REQUEST, "limit": "2.50"}, headers=admin()
    )
    assert_error(response, 400, "invalid_amount")


# --------------------------------------------------------------------------- roles and paths


def test_entity_path_prefixes_every_endpoint(tmp_path: Path) -> None:
    """API-003: an entity id with a path serves every endpoint below that path and publishes
    those URLs in its metadata."""
    files = NodeFiles(
        tmp_path,
        "https://tokens.b.example/llm",
        ["provider"],
        authority_hints=["https://anchor.b.example"],
        extra_toml=trust_anchor_toml("https://anchor.b.example", tmp_path / "anchor.jwks"),
    )
    (tmp_path / "anchor.jwks").write_text(json.dumps(files.federation_jwks()))
    with running(files.app()) as url:
        response = httpx.get(url + "/llm/.well-known/openid-federation")
        assert response.status_code == 200
        claims = decode(response.text, files, "entity-statement+jwt")
        provider = claims["metadata"]["tokenfed_provider"]  # type: ignore[index]
        assert provider["rate_card_uri"] == "https://tokens.b.example/llm/rate-card"
        assert provider["metering_endpoint"] == "https://tokens.b.example/llm/metering"
        assert httpx.get(url + "/llm/rate-card").status_code == 200
        assert_error(httpx.get(url + "/rate-card"), 404, "not_found")
        assert_error(httpx.get(url + "/.well-known/openid-federation"), 404, "not_found")


def test_each_role_serves_only_its_operations(
    anchor: tuple[NodeFiles, str], operator: tuple[NodeFiles, str]
) -> None:
    """API-001: an anchor serves no provider or operator operation, an operator no authority
    or provider operation."""
    _, anchor_url = anchor
    _, operator_url = operator
    for path in ("/rate-card", "/exchange-rates", "/totals?provider=https://x.example"):
        assert_error(httpx.get(anchor_url + path), 404, "not_found")
    for path in ("/federation/fetch?sub=https://x.example", "/federation/list", "/rate-card"):
        assert_error(httpx.get(operator_url + path), 404, "not_found")


def test_authority_and_leaf_roles_do_not_mix(tmp_path: Path) -> None:
    """API-001: an anchor that is also a provider is refused at configuration time."""
    files = NodeFiles(tmp_path, "https://anchor.a.example", ["anchor", "provider"])
    with pytest.raises(SchemaViolationError, match="leaves must not publish fetch and list"):
        load_config(files.write())


def test_provider_publishes_its_rate_card(tmp_path: Path) -> None:
    """API-030: the rate card is the signed JWS of the configured claims, verifiable with the
    receipt key the configuration publishes in receipt_jwks."""
    files = NodeFiles(
        tmp_path,
        "https://tokens.b.example",
        ["provider"],
        authority_hints=["https://anchor.b.example"],
        extra_toml=trust_anchor_toml("https://anchor.b.example", tmp_path / "anchor.jwks"),
    )
    (tmp_path / "anchor.jwks").write_text(json.dumps(files.federation_jwks()))
    with running(files.app()) as url:
        configuration = decode(
            httpx.get(url + "/.well-known/openid-federation").text, files, "entity-statement+jwt"
        )
        response = httpx.get(url + "/rate-card")
    assert response.headers["content-type"] == "application/tokenfed-rate-card+jwt"
    published = configuration["metadata"]["tokenfed_provider"]["receipt_jwks"]  # type: ignore[index]
    card = RateCard.from_jws(response.text, KeySet.from_jwks(published).get(files.role_key.kid))  # type: ignore[arg-type]
    assert card.id == "card-1"
    assert published["keys"][0]["nbf"] == NOW - 86400


def test_clearing_house_publishes_exchange_rates(tmp_path: Path) -> None:
    """API-060: the exchange-rate set is the signed JWS of the configured claims, with a key of
    statement_jwks."""
    files = NodeFiles(
        tmp_path,
        "https://clearing.example",
        ["clearing_house"],
        authority_hints=["https://anchor.a.example"],
    )
    with running(files.app()) as url:
        configuration = decode(
            httpx.get(url + "/.well-known/openid-federation").text, files, "entity-statement+jwt"
        )
        response = httpx.get(url + "/exchange-rates")
    assert response.headers["content-type"] == "application/tokenfed-exchange-rates+jwt"
    members = configuration["metadata"]["tokenfed_clearing_house"]  # type: ignore[index]
    assert members["exchange_rates_uri"] == "https://clearing.example/exchange-rates"
    rates = ExchangeRates.from_jws(response.text, files.role_key.public_key())
    assert rates.id == "rates-1"


def test_unexpected_failure_is_a_bare_server_error(tmp_path: Path) -> None:
    """API-011: an exception inside a handler is answered server_error (500) naming only the
    request id, never a traceback."""
    files = NodeFiles(tmp_path, "https://anchor.c.example", ["anchor"])
    node = files.app()

    def explode() -> str:
        raise RuntimeError("secret internals /etc/passwd")

    node.federation.entity_configuration = explode  # type: ignore[method-assign]
    with running(node) as url:
        response = httpx.get(url + "/.well-known/openid-federation")
    body = assert_error(response, 500, "server_error")
    assert "secret" not in response.text
    assert "Traceback" not in response.text
    assert body["message"] == (
        f"the node failed unexpectedly; request id {response.headers['x-request-id']}"
    )


def test_shutting_down_is_temporarily_unavailable(tmp_path: Path) -> None:
    """API-002, API-019: once the node shuts down, /healthz is temporarily_unavailable (503)."""
    files = NodeFiles(tmp_path, "https://anchor.c.example", ["anchor"])
    node = files.app()
    with running(node) as url:
        assert httpx.get(url + "/healthz").status_code == 200
        node.shutting_down = True
        assert_error(httpx.get(url + "/healthz"), 503, "temporarily_unavailable")


RECOGNITION = """
[[subordinates]]
entity_id = "https://anchor.b.example"
jwks = "{jwks}"
recognition = true
entity_types = ["federation_entity"]
{constraints}
"""
CONSTRAINTS = """
[subordinates.constraints]
max_path_length = 1
allowed_entity_types = ["tokenfed_provider"]
[subordinates.constraints.naming_constraints]
permitted = [".b.example"]
"""


def test_recognition_statement(tmp_path: Path) -> None:
    """API-021 (FED-060): a subordinate configured as another alliance's anchor is served a
    recognition statement with its constraints."""
    jwks = tmp_path / "b.jwks"
    jwks.write_text(json.dumps({"keys": [generate_key().public_key().to_jwk()]}))
    files = NodeFiles(
        tmp_path / "a",
        "https://anchor.a.example",
        ["anchor"],
        extra_toml=RECOGNITION.format(jwks=jwks, constraints=CONSTRAINTS),
    )
    with running(files.app()) as url:
        response = httpx.get(url + "/federation/fetch?sub=https://anchor.b.example")
    claims = decode(response.text, files, "entity-statement+jwt")
    assert claims["tokenfed_recognition"] is True
    assert claims["constraints"]["naming_constraints"] == {"permitted": [".b.example"]}  # type: ignore[index]


def test_recognition_without_constraints_stops_the_node(tmp_path: Path) -> None:
    """API-050 (FED-060): a recognition statement without its three constraints is refused when
    the node starts, with the code a verifier would report."""
    jwks = tmp_path / "b.jwks"
    jwks.write_text(json.dumps({"keys": [generate_key().public_key().to_jwk()]}))
    files = NodeFiles(
        tmp_path / "a",
        "https://anchor.a.example",
        ["anchor"],
        extra_toml=RECOGNITION.format(jwks=jwks, constraints=""),
    )
    with pytest.raises(InvalidStatementError):
        files.app()


def test_issued_entitlements_survive_a_key_rotation(tmp_path: Path) -> None:
    """API-041 (ENT-011): after the operator rotates its entitlement key, keeping the old key
    in the published set, it reads the entitlements the old key signed again at startup."""
    (tmp_path / "anchor.jwks").write_text(
        json.dumps({"keys": [generate_key().public_key().to_jwk(with_validity=False)]})
    )
    files = NodeFiles(
        tmp_path,
        "https://op.a.example",
        ["operator"],
        authority_hints=["https://anchor.a.example"],
        extra_toml=trust_anchor_toml("https://anchor.a.example", tmp_path / "anchor.jwks"),
    )
    with running(files.app()) as url:
        jti = httpx.post(url + "/entitlements", json=ENTITLEMENT_REQUEST, headers=admin()).json()[
            "jti"
        ]
    old = files.role_key
    new = generate_key()
    write_key(tmp_path / "role.jwk", new, nbf=NOW + 1)
    write_jwks(
        tmp_path / "entitlement.jwks",
        {**old.public_key().to_jwk(), "nbf": NOW - 86400, "exp": NOW + 1},
        {**new.public_key().to_jwk(), "nbf": NOW + 1},
    )
    config = files.write()
    config.write_text(
        config.read_text().replace(
            'entitlement = "role.jwk"',
            'entitlement = "role.jwk"\nentitlement_jwks = "entitlement.jwks"',
        )
    )
    restarted = NodeApp(load_config(config), clock=lambda: NOW + 60)
    try:
        assert restarted.operator is not None
        assert restarted.operator.issued.get(jti) is not None
    finally:
        restarted.state.close()


def test_a_bad_subordinate_key_set_file_is_named(tmp_path: Path) -> None:
    """API-050: a subordinate's key set file that is not JSON, or holds no key, is refused
    naming the subordinate and the file, with its code (malformed, invalid_key)."""
    from tokenfed.errors import InvalidKeyError, MalformedError
    from tokenfed.node import NodeApp, load_config

    for content, error in (("{", MalformedError), ('{"keys": []}', InvalidKeyError)):
        (tmp_path / "sub.jwks").write_text(content)
        files = NodeFiles(
            tmp_path / "node",
            "https://anchor.c.example",
            ["anchor"],
            extra_toml=f"""
[[subordinates]]
entity_id = "{SUBORDINATE}"
jwks = "{tmp_path / "sub.jwks"}"
entity_types = ["tokenfed_operator"]
""",
        )
        with pytest.raises(error) as caught:
            NodeApp(load_config(files.write()))
        assert "sub.jwks" in caught.value.message and SUBORDINATE in caught.value.message
