"""Building node directories (keys, claims, NODE.toml) and running nodes on loopback for tests.

``NodeFiles`` writes a node's files under a temporary directory; ``running(app)`` serves an
application with uvicorn in a thread on a free loopback port and stops it afterwards;
``serve_process(config)`` runs ``tokenfed serve`` as a subprocess.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from tokenfed.keys import PrivateKey, generate_key
from tokenfed.node import NodeApp, load_config, token_sha256

NOW = 1_790_000_000
ADMIN_TOKEN = "admin-token-for-tests-only"
ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def write_key(path: Path, key: PrivateKey, **members: Any) -> Path:
    path.write_text(json.dumps({**key.to_jwk(), **members}))
    path.chmod(0o600)
    return path


def write_jwks(path: Path, *jwks: dict[str, Any]) -> Path:
    path.write_text(json.dumps({"keys": list(jwks)}))
    return path


def rate_card_claims(iss: str) -> dict[str, Any]:
    return {
        "iss": iss,
        "ver": "1.0",
        "iat": NOW - 3600,
        "nbf": NOW - 3600,
        "exp": NOW + 30 * 86400,
        "rate_card_id": "card-1",
        "unit": "UTU",
        "models": {"qwen-max": {"weights": {"input": "0.000002", "output": "0.000006"}}},
    }


def exchange_rate_claims(iss: str) -> dict[str, Any]:
    return {
        "iss": iss,
        "ver": "1.0",
        "iat": NOW - 3600,
        "nbf": NOW - 3600,
        "exp": NOW + 30 * 86400,
        "rates_id": "rates-1",
        "base": "UTU",
        "rates": {"CNY": {"rate": "7.2", "precision": 2}},
    }


@dataclass
class NodeFiles:
    """The files of one node under ``root``; ``config()`` writes NODE.toml and loads it."""

    root: Path
    entity_id: str
    roles: list[str]
    port: int = field(default_factory=free_port)
    authority_hints: list[str] = field(default_factory=list)
    extra_toml: str = ""
    top_toml: str = ""
    operator_toml: str = ""
    federation_key: PrivateKey = field(default_factory=generate_key)
    role_key: PrivateKey = field(default_factory=generate_key)

    def __post_init__(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        write_key(self.root / "federation.jwk", self.federation_key)
        write_key(self.root / "role.jwk", self.role_key, nbf=NOW - 86400)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def federation_jwks(self) -> dict[str, Any]:
        return {"keys": [self.federation_key.public_key().to_jwk(with_validity=False)]}

    def toml(self) -> str:
        lines = [
            f'entity_id = "{self.entity_id}"',
            f"roles = {json.dumps(self.roles)}",
            'data_dir = "data"',
            f"authority_hints = {json.dumps(self.authority_hints)}",
            self.top_toml,
            "",
            "[listen]",
            'host = "127.0.0.1"',
            f"port = {self.port}",
            "",
            "[keys]",
            'federation = "federation.jwk"',
        ]
        if "provider" in self.roles:
            lines.append('receipt = "role.jwk"')
        if "operator" in self.roles:
            lines.append('entitlement = "role.jwk"')
        if "clearing_house" in self.roles:
            lines.append('statement = "role.jwk"')
        lines += ["", "[admin]", f'token_sha256 = "{token_sha256(ADMIN_TOKEN)}"']
        if "provider" in self.roles:
            (self.root / "rate-card.json").write_text(json.dumps(rate_card_claims(self.entity_id)))
            lines += ["", "[provider]", 'rate_card = "rate-card.json"']
        if "operator" in self.roles:
            lines += ["", "[operator]", self.operator_toml]
        if "clearing_house" in self.roles:
            (self.root / "rates.json").write_text(json.dumps(exchange_rate_claims(self.entity_id)))
            lines += ["", "[clearing_house]", 'exchange_rates = "rates.json"']
        return "\n".join(lines) + "\n" + self.extra_toml

    def write(self) -> Path:
        path = self.root / "node.toml"
        path.write_text(self.toml())
        return path

    def app(self, clock: Any = lambda: NOW) -> NodeApp:
        return NodeApp(load_config(self.write()), clock=clock)


@contextlib.contextmanager
def running(app: Any, port: int | None = None) -> Iterator[str]:
    """Serve ``app`` with uvicorn in a thread on a loopback port; yield its base URL."""
    port = port or free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            app, host="127.0.0.1", port=port, log_config=None, access_log=False, lifespan="on"
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the node did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@contextlib.contextmanager
def serve_process(config: Path, port: int) -> Iterator[subprocess.Popen[str]]:
    """Run ``tokenfed serve --config CONFIG`` and wait until its /healthz answers."""
    process = subprocess.Popen(
        [sys.executable, "-m", "tokenfed.cli", "serve", "--config", str(config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            if process.poll() is not None:
                break
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("tokenfed serve did not start")
            time.sleep(0.05)
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def trust_anchor_toml(entity_id: str, jwks: Path) -> str:
    """A ``[[trust_anchors]]`` table."""
    return f'\n[[trust_anchors]]\nentity_id = "{entity_id}"\njwks = "{jwks}"\n'


@dataclass
class Alliance:
    """An anchor with an operator, a provider and a clearing house under it, all on loopback,
    each trusting the anchor and reaching the others through an origin map (loopback test
    mode)."""

    anchor: NodeFiles
    operator: NodeFiles
    provider: NodeFiles
    clearing: NodeFiles

    @property
    def nodes(self) -> tuple[NodeFiles, ...]:
        return (self.anchor, self.operator, self.provider, self.clearing)


def alliance(root: Path, letter: str = "a", *, limit_toml: str = "") -> Alliance:
    """Write the files of an alliance (anchor, operator, provider, clearing house) under
    ``root``; not started."""
    anchor_id = f"https://anchor.{letter}.example"
    anchor = NodeFiles(root / "anchor", anchor_id, ["anchor"])
    operator = NodeFiles(
        root / "operator", f"https://op.{letter}.example", ["operator"], authority_hints=[anchor_id]
    )
    provider = NodeFiles(
        root / "provider",
        f"https://tokens.{letter}.example",
        ["provider"],
        authority_hints=[anchor_id],
    )
    clearing = NodeFiles(
        root / "clearing",
        f"https://clearing.{letter}.example",
        ["clearing_house"],
        authority_hints=[anchor_id],
    )
    operator.operator_toml = f'clearing_house = "{clearing.entity_id}"'
    write_jwks(root / "anchor.jwks", *anchor.federation_jwks()["keys"])
    members = (anchor, operator, provider, clearing)
    origins = "\n".join(f'"{node.entity_id}" = "{node.base_url}"' for node in members)
    for node, types in (
        (operator, "tokenfed_operator"),
        (provider, "tokenfed_provider"),
        (clearing, "tokenfed_clearing_house"),
    ):
        jwks = write_jwks(root / f"{types}.jwks", *node.federation_jwks()["keys"])
        anchor.extra_toml += (
            f'\n[[subordinates]]\nentity_id = "{node.entity_id}"\njwks = "{jwks}"\n'
            f'entity_types = ["{types}"]\n'
        )
    for node in (operator, provider):
        node.extra_toml += trust_anchor_toml(anchor_id, root / "anchor.jwks") + limit_toml
    for node in members:
        node.extra_toml += f"\n[origin_map]\n{origins}\n"
    return Alliance(anchor, operator, provider, clearing)


@contextlib.contextmanager
def running_alliance(federation: Alliance, clock: Any = lambda: NOW) -> Iterator[Alliance]:
    """Serve the nodes of ``federation`` in threads; stop them afterwards."""
    apps = [node.app(clock=clock) for node in federation.nodes]
    with contextlib.ExitStack() as stack:
        for node, app in zip(federation.nodes, apps, strict=True):
            stack.enter_context(running(app, node.port))
        yield federation
