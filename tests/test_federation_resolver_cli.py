"""``tokenfed federation resolve|sign-configuration|sign-statement`` and
``tokenfed receipt verify --anchor``, against a federation served on loopback."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from _fedhttp import Servers
from _fedworld import T0, Entity, World
from tokenfed.cli import main
from tokenfed.federation import EntityStatement
from tokenfed.receipts import ReceiptIssuer
from tokenfed.units import RateCard
from tokenfed_conformance.vectors import load_vectors

CARD_CLAIMS: dict[str, Any] = load_vectors("receipts").extra["fixtures"]["rate_cards"]["default"]
PROVIDER = "tokenfed_provider"


@pytest.fixture
def world() -> Iterator[World]:
    # Statements issued now: the command line resolves on the system clock.
    import time

    with Servers() as servers:
        yield World(servers, iat=int(time.time()) - 60)


def alliances(world: World) -> tuple[Entity, Entity, Entity, Entity]:
    a = world.authority("https://anchor.a.example")
    b = world.authority("https://anchor.alliance-b.example", [a.entity_id])
    i_b = world.authority("https://org.alliance-b.example", [b.entity_id])
    l_b = world.provider("https://llm.alliance-b.example", [i_b.entity_id])
    world.recognise(a, b, ".alliance-b.example")
    world.subordinate(b, i_b)
    world.subordinate(i_b, l_b)
    return a, b, i_b, l_b


def anchor_args(world: World, anchor: Entity, tmp_path: Path) -> list[str]:
    keys = tmp_path / "anchor.jwks"
    keys.write_text(json.dumps(anchor.jwks))
    args = ["--anchor", anchor.entity_id, "--anchor-keys", str(keys)]
    for origin, base in world.origin_map.items():
        args += ["--loopback-origin", f"{origin}={base}"]
    return args


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, Any, Any]:
    status = main(list(argv))
    out, err = capsys.readouterr()
    return (
        status,
        json.loads(out) if out.strip().startswith("{") else out,
        json.loads(err) if err else None,
    )


def test_resolve_prints_the_chosen_chain(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """FED-070: the command prints {trust_anchor, path, exp, alternatives, metadata}."""
    a, b, i_b, l_b = alliances(world)
    status, out, _ = run(
        capsys,
        "federation",
        "resolve",
        l_b.entity_id,
        "--type",
        PROVIDER,
        *anchor_args(world, a, tmp_path),
    )
    assert status == 0
    assert out["trust_anchor"] == a.entity_id
    assert out["path"] == [l_b.entity_id, i_b.entity_id, b.entity_id, a.entity_id]
    assert out["exp"] == world.iat + world.lifetime
    assert out["alternatives"] == 0
    assert PROVIDER in out["metadata"]


def test_resolve_failure_is_a_json_error(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """FED-070: no path to the pinned anchor: exit 1 and the registry code on stderr."""
    a, b, _, l_b = alliances(world)
    del a.app.subordinates[b.entity_id]
    status, _, err = run(
        capsys, "federation", "resolve", l_b.entity_id, *anchor_args(world, a, tmp_path)
    )
    assert status == 1
    assert err["error"] == "no_trust_path"
    assert err["detail"]["reasons"][0]["error"] == "not_found"


@pytest.mark.parametrize(
    "mapping", ["https://anchor.a.example", "https://anchor.a.example=http://10.1.2.3:80"]
)
def test_bad_loopback_origin_is_invalid_arguments(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], mapping: str
) -> None:
    keys = tmp_path / "anchor.jwks"
    keys.write_text(json.dumps({"keys": []}))
    status, _, err = run(
        capsys,
        "federation",
        "resolve",
        "https://leaf.a.example",
        "--anchor",
        "https://anchor.a.example",
        "--anchor-keys",
        str(keys),
        "--loopback-origin",
        mapping,
    )
    assert status == 2
    assert err["error"] == "invalid_arguments"


def test_anchor_without_its_keys_is_invalid_arguments(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    keys = tmp_path / "anchor.jwks"
    keys.write_text("{}")
    status, _, err = run(
        capsys,
        "federation",
        "resolve",
        "https://leaf.a.example",
        "--anchor",
        "https://anchor.a.example",
        "--anchor",
        "https://anchor.b.example",
        "--anchor-keys",
        str(keys),
    )
    assert status == 2
    assert err["error"] == "invalid_arguments"


def test_sign_configuration_and_statement(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """FED-023: the signing commands print statements that decode, with --lifetime setting
    iat and exp; a configuration signed as a statement is refused (invalid_statement)."""
    a = world.authority("https://anchor.a.example")
    inter = world.authority("https://org.a.example", [a.entity_id])
    key = tmp_path / "a.jwk"
    key.write_text(json.dumps(a.key.to_jwk()))
    ec_claims = {
        "iss": a.entity_id,
        "sub": a.entity_id,
        "jwks": a.jwks,
        "metadata": a.metadata,
    }
    (tmp_path / "ec.json").write_text(json.dumps(ec_claims))
    status, out, _ = run(
        capsys,
        "federation",
        "sign-configuration",
        "--key",
        str(key),
        "--claims",
        str(tmp_path / "ec.json"),
        "--lifetime",
        "3600",
        "--iat",
        str(T0),
    )
    assert status == 0
    statement = EntityStatement.decode(out.strip())
    assert (statement.iat, statement.exp) == (T0, T0 + 3600)
    statement.verify_with(a.anchor().jwks)

    ss_claims = {
        "iss": a.entity_id,
        "sub": inter.entity_id,
        "iat": T0,
        "exp": T0 + 600,
        "jwks": inter.jwks,
        "source_endpoint": a.fetch_endpoint,
    }
    (tmp_path / "ss.json").write_text(json.dumps(ss_claims))
    status, out, _ = run(
        capsys,
        "federation",
        "sign-statement",
        "--key",
        str(key),
        "--claims",
        str(tmp_path / "ss.json"),
    )
    assert status == 0
    assert EntityStatement.decode(out.strip()).sub == inter.entity_id

    status, _, err = run(
        capsys,
        "federation",
        "sign-statement",
        "--key",
        str(key),
        "--claims",
        str(tmp_path / "ec.json"),
        "--lifetime",
        "60",
    )
    assert status == 1
    assert err["error"] == "invalid_statement"


def test_receipt_verify_through_the_federation(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """FED-059: ``receipt verify --anchor`` prints the claims with the trust anchor and path."""
    a, b, i_b, l_b = alliances(world)
    assert l_b.app_key is not None
    start = world.iat - 3600
    claims = dict(CARD_CLAIMS, iss=l_b.entity_id, iat=start, nbf=start, exp=start + 86400 * 30)
    card_token = RateCard.sign(claims, l_b.app_key)
    card = RateCard.from_jws_unverified(card_token)
    now = world.iat
    receipt = ReceiptIssuer(l_b.app_key, l_b.entity_id, card, clock=lambda: now).issue(
        aud="https://home.a.example",
        sub="Zk9xW2cLm3P8qRsT",
        usage={"model": "qwen-max", "meters": {"input": 1200, "output": 300}},
    )
    (tmp_path / "card.jwt").write_text(card_token)
    (tmp_path / "receipt.jwt").write_text(receipt)
    status, out, err = run(
        capsys,
        "receipt",
        "verify",
        *anchor_args(world, a, tmp_path),
        "--rate-card",
        str(tmp_path / "card.jwt"),
        "--at",
        str(now),
        str(tmp_path / "receipt.jwt"),
    )
    assert status == 0, err
    assert out["trust_anchor"] == a.entity_id
    assert out["trust_path"] == [l_b.entity_id, i_b.entity_id, b.entity_id, a.entity_id]
    assert out["claims"]["iss"] == l_b.entity_id


def test_receipt_verify_needs_one_key_source(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "r.jwt").write_text("a.b.c")
    status, _, err = run(
        capsys, "receipt", "verify", "--rate-card", "card.jwt", str(tmp_path / "r.jwt")
    )
    assert status == 2
    assert err["error"] == "invalid_arguments"


@pytest.mark.parametrize("workers", ["1", "2"])
def test_receipt_file_verifies_through_the_federation(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str], workers: str
) -> None:
    """A JSONL file in federation mode: each worker process resolves through the anchors."""
    a, _, _, l_b = alliances(world)
    assert l_b.app_key is not None
    start = world.iat - 3600
    claims = dict(CARD_CLAIMS, iss=l_b.entity_id, iat=start, nbf=start, exp=start + 86400 * 30)
    card_token = RateCard.sign(claims, l_b.app_key)
    card = RateCard.from_jws_unverified(card_token)
    issuer = ReceiptIssuer(l_b.app_key, l_b.entity_id, card, clock=lambda: world.iat)
    usage = {"model": "qwen-max", "meters": {"input": 1200, "output": 300}}
    lines = [issuer.issue(aud="https://home.a.example", sub="Zk9xW2cLm3P8qRsT", usage=usage)]
    lines.append(issuer.issue(aud="https://home.a.example", sub="Zk9xW2cLm3P8qRsT", usage=usage))
    (tmp_path / "card.jwt").write_text(card_token)
    (tmp_path / "receipts.jsonl").write_text("\n".join(lines) + "\n")
    status, out, err = run(
        capsys,
        "receipt",
        "verify",
        *anchor_args(world, a, tmp_path),
        "--rate-card",
        str(tmp_path / "card.jwt"),
        "--workers",
        workers,
        str(tmp_path / "receipts.jsonl"),
    )
    assert status == 0, err
    assert out["accepted"] == 2
