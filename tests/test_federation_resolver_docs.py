"""The Python of docs/federation.md runs as written, against the federation it describes.

The page's federation (provider L_B under intermediate I_B under anchor B, recognised by A) is
served on loopback; the page's files (``anchor-a.jwks``, ``card.jwt``, ``receipt.jwt``) are
written to a temporary directory, and ``loopback`` (the page's test-mode origin map) is given.
Every ```python block then runs in page order in one namespace; its asserts must hold.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from _fedhttp import Servers
from _fedworld import World
from test_docs_examples import code_blocks
from tokenfed.receipts import ReceiptIssuer
from tokenfed.units import RateCard
from tokenfed_conformance.vectors import load_vectors

PAGE = Path(__file__).resolve().parent.parent / "docs" / "federation.md"
CARD_CLAIMS: dict[str, Any] = load_vectors("receipts").extra["fixtures"]["rate_cards"]["default"]


def test_federation_page_python_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """FED-070, FED-035: the page's resolution and verification examples work as shown."""
    blocks = [block for block in code_blocks(PAGE.read_text()) if block.language == "python"]
    assert len(blocks) >= 3, "the page lost its examples"
    with Servers() as servers:
        world = World(servers, iat=int(time.time()) - 60)
        a = world.authority("https://anchor.a.example")
        b = world.authority("https://anchor.alliance-b.example", [a.entity_id])
        i_b = world.authority("https://org.alliance-b.example", [b.entity_id])
        l_b = world.provider("https://llm.alliance-b.example", [i_b.entity_id])
        world.recognise(a, b, ".alliance-b.example")
        world.subordinate(b, i_b)
        world.subordinate(i_b, l_b)
        assert l_b.app_key is not None
        start = world.iat - 3600
        claims = dict(CARD_CLAIMS, iss=l_b.entity_id, iat=start, nbf=start, exp=start + 86400)
        card = RateCard.sign(claims, l_b.app_key)
        receipt = ReceiptIssuer(
            l_b.app_key, l_b.entity_id, RateCard.from_jws_unverified(card)
        ).issue(
            aud="https://home.a.example",
            sub="Zk9xW2cLm3P8qRsT",
            usage={"model": "qwen-max", "meters": {"input": 1200, "output": 300}},
        )
        (tmp_path / "anchor-a.jwks").write_text(json.dumps(a.jwks))
        (tmp_path / "card.jwt").write_text(card)
        (tmp_path / "receipt.jwt").write_text(receipt)
        monkeypatch.chdir(tmp_path)
        namespace: dict[str, Any] = {"loopback": world.origin_map, "__name__": "federation_md"}
        for block in blocks:
            try:
                exec(compile(block.source, f"{PAGE}:{block.line}", "exec"), namespace)
            except Exception as exc:
                pytest.fail(f"docs/federation.md block at line {block.line} failed: {exc!r}")
