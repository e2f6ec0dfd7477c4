"""The node against its OpenAPI document (spec/openapi.yaml), with schemathesis.

For each role a node is served on loopback and schemathesis generates requests for the
operations of that role's tags, valid and invalid ones. Every response must conform to the
document (status, content type, schema), no response may be a 5xx, and every error response must
be the error object of API-010 with a code of the registry. Generation is derandomized, so a run
is repeatable.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import hypothesis
import pytest
import schemathesis
from schemathesis import checks

from _node_support import ADMIN_TOKEN, NodeFiles, running, trust_anchor_toml
from tokenfed.errors import registry

SPEC = Path(__file__).resolve().parent.parent / "spec" / "openapi.yaml"
SCHEMA = schemathesis.openapi.from_path(SPEC)
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
]
SETTINGS = hypothesis.settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(hypothesis.HealthCheck),
)


@schemathesis.serializer("application/jsonl")
def jsonl(ctx: schemathesis.SerializationContext, value: object) -> bytes:
    """Receipt uploads as JSON Lines: the generated string is the body as is."""
    return value.encode("utf-8", "surrogatepass") if isinstance(value, str) else b""


def check_error_object(response: object) -> None:
    """API-010, API-011: an error is the error object with a registered code, never a 5xx."""
    status = response.status_code  # type: ignore[attr-defined]
    assert status < 500, f"{status}: {response.text}"  # type: ignore[attr-defined]
    if status >= 400:
        assert response.headers["content-type"] == ["application/json"]  # type: ignore[attr-defined]
        body = json.loads(response.content)  # type: ignore[attr-defined]
        assert body["error"] in registry(), body
        assert body["message"] == body["error_description"]


@pytest.fixture(scope="module")
def anchor_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    files = NodeFiles(tmp_path_factory.mktemp("oas-anchor"), "https://anchor.a.example", ["anchor"])
    with running(files.app()) as url:
        yield url


@pytest.fixture(scope="module")
def provider_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("oas-provider")
    files = NodeFiles(
        root,
        "https://tokens.b.example",
        ["provider"],
        authority_hints=["https://anchor.b.example"],
        extra_toml=trust_anchor_toml("https://anchor.b.example", root / "anchor.jwks"),
    )
    (root / "anchor.jwks").write_text(json.dumps(files.federation_jwks()))
    with running(files.app()) as url:
        yield url


@pytest.fixture(scope="module")
def clearing_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    files = NodeFiles(
        tmp_path_factory.mktemp("oas-ch"),
        "https://clearing.example",
        ["clearing_house"],
        authority_hints=["https://anchor.a.example"],
    )
    with running(files.app()) as url:
        yield url


@pytest.fixture(scope="module")
def operator_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("oas-operator")
    files = NodeFiles(
        root,
        "https://op.a.example",
        ["operator"],
        authority_hints=["https://anchor.a.example"],
        extra_toml=trust_anchor_toml("https://anchor.a.example", root / "anchor.jwks"),
    )
    (root / "anchor.jwks").write_text(json.dumps(files.federation_jwks()))
    with running(files.app()) as url:
        yield url


@SCHEMA.include(tag_regex="^(entity|authority)$").parametrize()
@SETTINGS
def test_anchor_conforms(case: schemathesis.Case, anchor_url: str) -> None:
    """API-010, API-017, API-020..API-023: an anchor's answers conform to the document."""
    response = case.call(base_url=anchor_url)
    check_error_object(response)
    case.validate_response(response, checks=CHECKS)


@SCHEMA.include(tag_regex="^(entity|provider)$").parametrize()
@SETTINGS
def test_provider_conforms(case: schemathesis.Case, provider_url: str) -> None:
    """API-010, API-017, API-030..: a provider's answers conform to the document."""
    response = case.call(base_url=provider_url)
    check_error_object(response)
    case.validate_response(response, checks=CHECKS)


@SCHEMA.include(tag_regex="^(entity|clearing-house)$").parametrize()
@SETTINGS
def test_clearing_house_conforms(case: schemathesis.Case, clearing_url: str) -> None:
    """API-010, API-017, API-060: a clearing house's answers conform to the document."""
    response = case.call(base_url=clearing_url)
    check_error_object(response)
    case.validate_response(response, checks=CHECKS)


@SCHEMA.include(tag_regex="^(entity|operator)$").parametrize()
@SETTINGS
def test_operator_conforms(case: schemathesis.Case, operator_url: str) -> None:
    """API-010, API-017, API-040..API-043: an operator's answers conform to the document,
    with and without the admin credential."""
    response = case.call(base_url=operator_url)
    check_error_object(response)
    case.validate_response(response, checks=CHECKS)
    if case.operation.method.upper() == "POST" and case.path == "/entitlements":
        authorized = case.call(
            base_url=operator_url, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}
        )
        check_error_object(authorized)
        case.validate_response(authorized, checks=CHECKS)
