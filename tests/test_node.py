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

from _node_support import NOW, NodeFiles, running
from tokenfed import jws
from tokenfed.errors import registry
from tokenfed.keys import generate_key

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
intermediate = true
entity_types = ["federation_entity"]
""",
    )
    with running(files.app()) as url:
        yield files, url


def assert_error(response: httpx.Response, status: int, code: str) -> dict[str, object]:
    """API-010: the error object with its registry code, the OIDF and CONV-050 members."""
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
    """API-020: the configuration is a signed entity statement with the well-known media type,
    iat now and exp within the configured lifetime; an anchor lists its federation endpoints."""
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
    """API-021: fetch answers the subordinate statement with the configured metadata and the
    fetch endpoint as source_endpoint."""
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
    """API-021: an entity that is not a subordinate is not_found (404)."""
    _, url = anchor
    response = httpx.get(url + "/federation/fetch", params={"sub": "https://x.a.example"})
    assert_error(response, 404, "not_found")


def test_fetch_self_is_invalid_request(anchor: tuple[NodeFiles, str]) -> None:
    """API-021: sub equal to the issuer is invalid_request (400)."""
    _, url = anchor
    response = httpx.get(url + "/federation/fetch", params={"sub": "https://anchor.a.example"})
    assert_error(response, 400, "invalid_request")


def test_fetch_without_sub_is_invalid_request(anchor: tuple[NodeFiles, str]) -> None:
    """API-012: a required parameter missing is invalid_request."""
    _, url = anchor
    assert_error(httpx.get(url + "/federation/fetch"), 400, "invalid_request")


def test_fetch_with_two_subs_is_invalid_request(anchor: tuple[NodeFiles, str]) -> None:
    """API-012: a single-valued parameter given twice is invalid_request."""
    _, url = anchor
    response = httpx.get(url + f"/federation/fetch?sub={SUBORDINATE}&sub={SUBORDINATE}")
    assert_error(response, 400, "invalid_request")


def test_list_all_and_by_type(anchor: tuple[NodeFiles, str]) -> None:
    """API-022: list answers the subordinates' entity ids, filtered by entity_type (any of the
    repeated values) and by intermediate; an unknown parameter is ignored."""
    _, url = anchor
    everyone = ["https://mid.a.example", "https://op.a.example", "https://tokens.b.example"]
    assert httpx.get(url + "/federation/list").json() == everyone
    assert httpx.get(url + "/federation/list?color=blue").json() == everyone
    by_type = httpx.get(
        url + "/federation/list?entity_type=tokenfed_provider&entity_type=tokenfed_operator"
    )
    assert by_type.json() == ["https://op.a.example", "https://tokens.b.example"]
    assert httpx.get(url + "/federation/list?intermediate=true").json() == ["https://mid.a.example"]


def test_list_trust_mark_filter_is_unsupported(anchor: tuple[NodeFiles, str]) -> None:
    """API-022: a trust-mark filter is unsupported_parameter (400)."""
    _, url = anchor
    response = httpx.get(url + "/federation/list?trust_marked=true")
    assert_error(response, 400, "unsupported_parameter")


def test_historical_keys(anchor: tuple[NodeFiles, str]) -> None:
    """API-023: the historical keys document is a jwk-set+jwt signed with the federation key."""
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
