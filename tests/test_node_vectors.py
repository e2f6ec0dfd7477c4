"""The HTTP API vectors (spec/vectors/http-api.json) against live reference nodes.

Each vector is a request a node must refuse; it is sent as written to a node of the vector's
role served on loopback, and the answer must be the error object of API-010 with the vector's
code and HTTP status.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from _node_support import ADMIN_TOKEN, NodeFiles, running, trust_anchor_toml
from tokenfed.keys import generate_key
from tokenfed_conformance.vectors import Vector, load_vectors

VECTORS = load_vectors("http-api")
SUBORDINATE = "https://op.a.example"


@pytest.fixture(scope="module")
def nodes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, tuple[str, str]]]:
    """A running anchor (with one subordinate) and operator: role -> (entity id, base URL)."""
    root = tmp_path_factory.mktemp("vectors")
    jwks = {"keys": [generate_key().public_key().to_jwk(with_validity=False)]}
    (root / "sub.jwks").write_text(json.dumps(jwks))
    anchor = NodeFiles(
        root / "anchor",
        "https://anchor.a.example",
        ["anchor"],
        extra_toml=(
            f'\n[[subordinates]]\nentity_id = "{SUBORDINATE}"\njwks = "{root / "sub.jwks"}"\n'
        ),
    )
    operator = NodeFiles(
        root / "operator",
        SUBORDINATE,
        ["operator"],
        authority_hints=["https://anchor.a.example"],
        extra_toml=trust_anchor_toml("https://anchor.a.example", root / "sub.jwks"),
    )
    with running(anchor.app()) as anchor_url, running(operator.app()) as operator_url:
        yield {
            "anchor": (anchor.entity_id, anchor_url),
            "operator": (operator.entity_id, operator_url),
        }


def fill(text: str, entity_id: str) -> str:
    return (
        text.replace("{entity_id}", entity_id)
        .replace("{subordinate}", SUBORDINATE)
        .replace("{admin_token}", ADMIN_TOKEN)
    )


def send(vector: Vector, nodes: dict[str, tuple[str, str]]) -> httpx.Response:
    entity_id, url = nodes[vector.input["role"]]
    request: dict[str, Any] = vector.input["request"]
    query = [(name, fill(value, entity_id)) for name, value in request.get("query", [])]
    headers = {name: fill(value, entity_id) for name, value in request.get("headers", {}).items()}
    if "body_bytes" in request:
        content: bytes | None = b"[" + b" " * (request["body_bytes"] - 2) + b"]"
    elif "body" in request:
        content = fill(request["body"], entity_id).encode("utf-8")
    else:
        content = None
    return httpx.request(
        request["method"], url + request["path"], params=query, headers=headers, content=content
    )


@pytest.mark.parametrize("vector", VECTORS.vectors, ids=lambda v: v.id)
def test_http_api_vector(vector: Vector, nodes: dict[str, tuple[str, str]]) -> None:
    """API-010..API-041 as the vector names them: the one expected code, with its status."""
    response = send(vector, nodes)
    assert response.status_code == vector.extra["status"], response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert body["error"] == vector.error, body
    assert body["error_description"] == body["message"]


def test_vectors_file_is_what_the_loader_reads() -> None:
    """The vector file lives where the conformance suite looks for it."""
    assert Path(VECTORS.path).name == "http-api.json"
    assert {vector.input["role"] for vector in VECTORS} == {"anchor", "operator"}
