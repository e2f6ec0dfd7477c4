"""The example configurations of docs/node.md are valid node configurations.

Each ```toml block that starts with ``# file: NAME.toml`` is written under that name and read
with ``load_config``, so the guide's examples cannot drift from what the node accepts.
"""

from __future__ import annotations

import contextlib
import json
import re
import time
from pathlib import Path

import httpx
import pytest

from _node_support import (
    exchange_rate_claims,
    free_port,
    rate_card_claims,
    running,
    write_jwks,
    write_key,
)
from tokenfed.keys import generate_key
from tokenfed.node import NodeApp, Role, load_config

GUIDE = Path(__file__).resolve().parent.parent / "docs" / "node.md"
BLOCK = re.compile(r"^```toml\n# file: (?P<name>[\w.-]+)\n(?P<body>.*?)^```", re.M | re.S)
EXAMPLES = {match["name"]: match["body"] for match in BLOCK.finditer(GUIDE.read_text())}


def test_one_example_per_role() -> None:
    """API-001: the guide has an example for every role."""
    roles = set()
    for name, body in EXAMPLES.items():
        roles |= set(re.search(r"^roles = \[(.*)\]$", body, re.M)[1].replace('"', "").split(", "))  # type: ignore[index]
        assert name.endswith(".toml")
    assert roles == {role.value for role in Role}


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_example_configuration_loads(name: str, tmp_path: Path) -> None:
    """API-050: each example passes the configuration checks."""
    path = tmp_path / name
    path.write_text(EXAMPLES[name])
    config = load_config(path)
    assert config.data_dir.is_relative_to(tmp_path)
    assert config.keys.federation.is_relative_to(tmp_path)


def _write_alliances(root: Path) -> dict[str, Path]:
    """Lay out every file the examples name, with fresh keys and free ports; return the config
    path of each example."""
    now = int(time.time())
    texts = dict(EXAMPLES)
    for old_port in sorted(
        {m for body in texts.values() for m in re.findall(r"\b8[12]0\d\b", body)}
    ):
        port = str(free_port())
        texts = {name: body.replace(old_port, port) for name, body in texts.items()}
    for sub in ("keys", "jwks", "claims", "subordinates/cloud-b"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    federation_keys = {}
    for name in ("anchor-a", "anchor-b", "cloud-b", "provider-b", "operator-a", "clearing-a"):
        key = generate_key()
        federation_keys[name] = key
        write_key(root / f"keys/{name}.federation.jwk", key)
        write_jwks(root / f"jwks/{name}.federation.json", key.public_key().to_jwk())
    for name, member in (
        ("provider-b", "receipt"),
        ("operator-a", "entitlement"),
        ("clearing-a", "statement"),
    ):
        key = generate_key()
        write_key(root / f"keys/{name}.{member}.jwk", key, nbf=now - 60)
        if member == "receipt":
            write_jwks(
                root / "jwks/provider-b.receipt.json",
                {**key.public_key().to_jwk(), "nbf": now - 60},
            )
    (root / "jwks/op-a.federation.json").write_text(
        (root / "jwks/operator-a.federation.json").read_text()
    )
    retired = generate_key().public_key().to_jwk()
    write_jwks(root / "keys/anchor-a.historical.json", {**retired, "exp": now - 86400})
    (root / "subordinates/cloud-b/provider-b.json").write_text(
        json.dumps(
            {
                "entity_id": "https://tokens.alliance-b.example",
                "jwks": {"keys": [federation_keys["provider-b"].public_key().to_jwk()]},
                "entity_types": ["tokenfed_provider"],
            }
        )
    )
    card = rate_card_claims("https://tokens.alliance-b.example")
    card.update(iat=now - 60, nbf=now - 60, exp=now + 86400)
    (root / "claims/provider-b.rate-card.json").write_text(json.dumps(card))
    rates = exchange_rate_claims("https://clearing.alliance-a.example")
    rates.update(iat=now - 60, nbf=now - 60, exp=now + 86400)
    (root / "claims/clearing-a.rates.json").write_text(json.dumps(rates))
    paths = {}
    for name, body in texts.items():
        paths[name] = root / name
        paths[name].write_text(body)
    return paths


def test_example_alliances_work_end_to_end(tmp_path: Path) -> None:
    """API-031, API-042, API-043 with the guide's six nodes: operator A's entitlement is
    verified by provider B through anchor A; provider B's receipt is verified by operator A
    through cloud B, anchor B and A's recognition of B, then totalled in CNY."""
    paths = _write_alliances(tmp_path)
    nodes = {name: NodeApp(load_config(path)) for name, path in paths.items()}
    urls = {name: f"http://127.0.0.1:{node.config.listen.port}" for name, node in nodes.items()}
    with contextlib.ExitStack() as stack:
        for node in nodes.values():
            stack.enter_context(running(node, node.config.listen.port))
        issued = httpx.post(
            urls["operator-a.toml"] + "/entitlements",
            headers={"authorization": "Bearer admin"},
            json={
                "subscriber": "alice",
                "provider": "https://tokens.alliance-b.example",
                "scope": ["qwen-max"],
                "limit": "1",
            },
        )
        assert issued.status_code == 201, issued.text
        metered = httpx.post(
            urls["provider-b.toml"] + "/metering",
            json={
                "entitlement": issued.json()["entitlement"],
                "model": "qwen-max",
                "request_id": "docs-1",
                "usage": {"model": "qwen-max", "meters": {"input": 1000, "output": 500}},
            },
            timeout=30,
        )
        assert metered.status_code == 200, metered.text
        intake = httpx.post(
            urls["operator-a.toml"] + "/receipts", json=[metered.json()["receipt"]], timeout=30
        ).json()
        assert intake["accepted"] == 1, intake
        assert intake["results"][0]["trust_path"] == [
            "https://tokens.alliance-b.example",
            "https://cloud.alliance-b.example",
            "https://anchor.alliance-b.example",
            "https://anchor.alliance-a.example",
        ]
        totals = httpx.get(
            urls["operator-a.toml"] + "/totals",
            params={"provider": "https://tokens.alliance-b.example"},
            headers={"authorization": "Bearer admin"},
            timeout=30,
        ).json()
        assert (totals["amount_utu"], totals["amount_cny"]) == ("0.005", "0.04")
        history = httpx.get(urls["anchor-a.toml"] + "/federation/historical-keys")
        assert history.status_code == 200
