"""The guide "Join an alliance" (docs/join-an-alliance.md) works as written.

Every ``$ tokenfed ...`` line of the guide is a valid command line of the real CLI. Then the
guide's walk runs for real: the partner's files are made by the guide's commands and written
from the guide's blocks (keys, receipt key set, rate card, NODE.toml, the subordinate file its
superior adds), inside the demo's federation on loopback (examples/demo/world.py, which uses the
guide's entity ids); the guide's resolve, entitlement and receipt commands run against the live
nodes, with only the loopback origin map (test mode) added, and print what the guide shows.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tokenfed.cli._parser import build_parser
from tokenfed.federation import EntityStatement
from tokenfed.keys import KeySet

ROOT = Path(__file__).resolve().parent.parent
GUIDE = ROOT / "docs" / "join-an-alliance.md"
BLOCK = re.compile(r"^```(?P<lang>\w*)\n(?P<body>.*?)^```", re.MULTILINE | re.DOTALL)
PAIR = re.compile(r'"(?P<key>\w+)": (?P<value>"[^"]*"|-?\d+|true|false|null)')
PROVIDER = "https://tokens.cloud.alliance-b.example"
ANCHOR_A = "https://anchor.alliance-a.example"
ANCHOR_B = "https://anchor.alliance-b.example"
RECEIPT_KEY_NBF = 1767225600


@dataclass(frozen=True)
class Command:
    """A ``$ ...`` line of a console block and the output the guide shows under it."""

    line: str
    shown: str


def _blocks(lang: str) -> list[str]:
    return [m.group("body") for m in BLOCK.finditer(GUIDE.read_text()) if m.group("lang") == lang]


def _commands() -> list[Command]:
    commands = []
    for body in _blocks("console"):
        current: list[str] = []
        for line in body.splitlines():
            if line.startswith("$ "):
                if current:
                    commands.append(Command(current[0], "\n".join(current[1:])))
                current = [line[2:]]
            else:
                current.append(line)
        if current:
            commands.append(Command(current[0], "\n".join(current[1:])))
    return commands


def _block_with(lang: str, marker: str) -> str:
    (found,) = [body for body in _blocks(lang) if marker in body]
    return found


def test_every_command_of_the_guide_is_a_command_of_the_cli() -> None:
    commands = _commands()
    assert len(commands) >= 8, "the guide lost its commands"
    parser = build_parser()
    for command in commands:
        words = shlex.split(command.line)
        if ">" in words:  # a redirection of the shell
            words = words[: words.index(">")]
        assert words[0] == "tokenfed", command.line
        try:
            parser.parse_args(words[1:])
        except SystemExit:
            pytest.fail(f"not a valid tokenfed command line: {command.line}")


# --------------------------------------------------------------------------- the live walk


def _world(root: Path) -> Any:
    sys.path.insert(0, str(ROOT / "examples"))
    try:
        from demo.world import build_world
    finally:
        sys.path.remove(str(ROOT / "examples"))
    return build_world(root)


def _shown_pairs(shown: str) -> list[str]:
    return [m.group(0) for m in PAIR.finditer(shown) if "..." not in m.group("value")]


class Walk:
    """Runs the guide's commands in the partner's folder, as the guide's reader would."""

    def __init__(self, folder: Path, origin_map: dict[str, str]) -> None:
        self.folder = folder
        self.loopback = " ".join(
            f"--loopback-origin {origin}={target}" for origin, target in origin_map.items()
        )
        self.env = dict(
            os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
        )

    def run(self, command: Command, *, live: bool = False, cwd: Path | None = None) -> str:
        line = f"{command.line} {self.loopback}" if live else command.line
        done = subprocess.run(
            ["bash", "-c", line],
            cwd=cwd or self.folder,
            env=self.env,
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
        )
        assert done.returncode == 0, (command.line, done.stderr)
        assert done.stderr == "", (command.line, done.stderr)
        for pair in _shown_pairs(command.shown):
            assert pair in done.stdout, (command.line, pair, done.stdout)
        return done.stdout


def test_the_guide_walks_a_provider_to_its_first_cross_alliance_receipt(tmp_path: Path) -> None:
    sys.path.insert(0, str(ROOT / "examples"))
    try:
        from demo.processes import NodeFailedError
    finally:
        sys.path.remove(str(ROOT / "examples"))
    for attempt in (1, 2, 3):
        try:
            _walk(tmp_path / f"federation-{attempt}")
        except NodeFailedError as error:
            # Another process took a port found free before its node bound it: new ports.
            if error.port_taken and attempt < 3:
                continue
            raise
        return


def _walk(root: Path) -> None:
    sys.path.insert(0, str(ROOT / "examples"))
    try:
        from demo.processes import Node, Nodes
    finally:
        sys.path.remove(str(ROOT / "examples"))
    world = _world(root)
    partner = world["provider-b"]
    home = partner.folder
    for name in ("federation.jwk", "receipt.jwk", "receipt.jwks.json", "rate-card.json"):
        (home / name).unlink()
    partner.config.unlink()
    walk = Walk(home, world.origin_map)
    commands = iter(_commands())

    # 1. Keys, and the receipt key set with nbf.
    walk.run(next(commands))
    walk.run(next(commands))
    assert '"nbf": 1767225600' in _block_with("json", '"keys": [{"kty"')
    receipt_public = json.loads((home / "receipt.pub.jwk").read_text())
    (home / "receipt.jwks.json").write_text(
        json.dumps({"keys": [{**receipt_public, "nbf": RECEIPT_KEY_NBF}]})
    )
    # 2. The rate card, exactly as shown.
    (home / "rate-card.json").write_text(_block_with("json", '"rate_card_id"'))
    # 3. The pinned anchor keys and NODE.toml as shown, on the demo's port, with the origin map.
    shutil.copy(world.anchor_jwks_file(ANCHOR_A), home / "anchor-a.jwks.json")
    shutil.copy(world.anchor_jwks_file(ANCHOR_B), home / "anchor-b.jwks.json")
    node_toml = _block_with("toml", "entity_id")
    assert "port = 8443\n" in node_toml
    origins = "\n".join(f'"{k}" = "{v}"' for k, v in world.origin_map.items())
    (home / "NODE.toml").write_text(
        node_toml.replace("port = 8443\n", f"port = {partner.port}\n")
        + f"\n[origin_map]\n{origins}\n"
    )
    check = next(commands)
    assert check.line == "tokenfed serve --config NODE.toml --check"
    walk.run(
        Command(check.line, check.shown.replace("127.0.0.1:8443", f"127.0.0.1:{partner.port}"))
    )
    serve = next(commands)
    assert serve.line == "tokenfed serve --config NODE.toml"
    # 4. The superior lists the partner: the guide's subordinate file, with the real key.
    federation_public = json.loads((home / "federation.pub.jwk").read_text())
    subordinate = _block_with("json", '"entity_types": ["tokenfed_provider"]')
    listed = json.loads(
        subordinate.replace(
            '{"keys": ["... the members of federation.pub.jwk ..."]}',
            json.dumps({"keys": [federation_public]}),
        )
    )
    (world["cloud-b"].folder / "subordinates" / "provider-b.json").write_text(json.dumps(listed))

    nodes = [
        Node(node.name, node.entity_id, node.port, home / "NODE.toml")
        if node.name == "provider-b"
        else node
        for node in world.nodes()
        if node.name not in ("clearing-a", "outsider", "gpu-b")  # not part of this walk
    ]
    with Nodes(nodes) as running, httpx.Client(timeout=10) as http:
        # 3. The entity configuration the node serves has the metadata the guide shows.
        base = running["provider-b"].base_url
        configuration = EntityStatement.decode(
            http.get(f"{base}/.well-known/openid-federation").text
        )
        configuration.verify_with(KeySet.from_jwks({"keys": [federation_public]}))
        assert configuration.authority_hints == ("https://cloud.alliance-b.example",)
        assert configuration.metadata is not None
        served = configuration.metadata["tokenfed_provider"]
        shown_metadata = _block_with("json", '"metering_endpoint"')
        assert sorted(served) == sorted(re.findall(r'^    "(\w+)":', shown_metadata, re.M))
        for name in ("rate_card_uri", "metering_endpoint", "tokenfed_versions"):
            assert json.dumps(served[name]) in shown_metadata
        assert served["receipt_jwks"]["keys"][0]["kid"] == receipt_public["kid"]
        under_b = json.loads(walk.run(next(commands), live=True))
        assert under_b["trust_anchor"] == ANCHOR_B
        under_a_command = next(commands)
        under_a = json.loads(walk.run(under_a_command, live=True))
        assert under_a["path"] == [
            PROVIDER,
            "https://cloud.alliance-b.example",
            ANCHOR_B,
            ANCHOR_A,
        ]
        assert '"https://anchor.alliance-b.example",' in under_a_command.shown
        # 5., 6. The operator issues an entitlement; the partner's node meters under it.
        operator = world["operator-a"].folder
        (operator / "pairwise.secret").write_bytes(secrets.token_bytes(32))
        entitlement = walk.run(next(commands), cwd=operator).strip()
        request = json.loads(
            _block_with("json", '"request_id"').replace(
                '"eyJhbGciOiJFZERTQSIs..."', json.dumps(entitlement)
            )
        )
        metered = http.post(f"{base}/metering", json=request)
        assert metered.status_code == 200, metered.text
        shown = _block_with("json", '"remaining"')
        for pair in _shown_pairs(shown):
            if not pair.startswith('"entitlement"'):  # the jti of the guide's own entitlement
                assert pair in json.dumps(metered.json(), indent=None, separators=(", ", ": "))
        (home / "receipt.jwt").write_text(metered.json()["receipt"])
        (home / "rate-card.jwt").write_text(http.get(f"{base}/rate-card").text)
        # 7. The receipt, verified through the federation under anchor A.
        verify = next(commands)
        shown_without_jti = Command(
            verify.line, verify.shown.replace('"entitlement": "dB_RI9Ej6oKo3cCjTcsK-g",', "")
        )
        verified = json.loads(walk.run(shown_without_jti, live=True))
        assert verified["trust_anchor"] == ANCHOR_A
        assert verified["trust_path"] == under_a["path"]
    assert next(commands, None) is None
