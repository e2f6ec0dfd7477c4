"""Live mode of the conformance suite against real `tokenfed serve` nodes on loopback: an anchor
and a provider (configured with the suite's live kit) pass every check, and a node broken in one
way (an ASGI wrapper, or one patched rule) fails exactly the check aimed at it."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest

from _node_support import NodeFiles, running, serve_process, write_jwks
from tokenfed.entitlements import Entitlement
from tokenfed.keys import PrivateKey, generate_key
from tokenfed_conformance.live import kit

ROOT = Path(__file__).resolve().parent.parent


def _free_port(count: int = 1) -> int:
    """A port p with p .. p + count - 1 free on 127.0.0.1 (probed, then released)."""
    for _ in range(50):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            base = probe.getsockname()[1]
        if base + count >= 65535:
            continue
        free = True
        for offset in range(1, count):
            with socket.socket() as other:
                try:
                    other.bind(("127.0.0.1", base + offset))
                except OSError:
                    free = False
        if free:
            return base
    raise RuntimeError("no free ports")


def _jwk(key: PrivateKey, **extra: Any) -> dict[str, Any]:
    public = key.public_key().to_jwk()
    return {k: v for k, v in public.items() if k not in {"nbf", "exp", "revoked"}} | extra


def _live(
    report: Path, base_url: str, entity_id: str, *extra: str, profile: str = "federation-entity"
) -> dict[str, Any]:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "tokenfed_conformance.cli",
            "run",
            "--profile",
            profile,
            "--live",
            base_url,
            "--entity-id",
            entity_id,
            "--loopback",
            "--report",
            str(report),
            *extra,
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode in {0, 1}, done.stderr
    result: dict[str, Any] = json.loads((report / "report.json").read_text(encoding="utf-8"))
    result["_returncode"] = done.returncode
    result["_stderr"] = done.stderr
    return result


def _results(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {t["id"].rsplit("/", 1)[1]: t for t in report["tests"]}


def test_live_mode_refuses_http_without_loopback(tmp_path: Path) -> None:
    """A plain-http base URL is the loopback test mode, which must be asked for."""
    done = subprocess.run(
        [sys.executable, "-m", "tokenfed_conformance.cli", "run", "--profile",
         "federation-entity", "--live", "http://127.0.0.1:9", "--report", str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 2
    assert json.loads(done.stderr)["error"] == "invalid_arguments"


# --------------------------------------------------------------------------- the real node


def _anchor_files(root: Path) -> tuple[NodeFiles, Path]:
    """A `tokenfed serve` trust anchor with one provider subordinate, and its pinned keys."""
    root.mkdir(parents=True)
    write_jwks(root / "member.jwks", _jwk(generate_key()))
    files = NodeFiles(
        root,
        "https://anchor.live.example",
        ["anchor"],
        extra_toml=(
            '\n[[subordinates]]\nentity_id = "https://tokens.live.example"\n'
            'jwks = "member.jwks"\nentity_types = ["tokenfed_provider"]\n'
        ),
    )
    keys = write_jwks(root / "anchor-pinned.jwks", files.federation_jwks()["keys"][0])
    return files, keys


def test_tokenfed_serve_anchor_passes_every_live_check(tmp_path: Path) -> None:
    """`tokenfed serve` as a trust anchor, run as a process on loopback, passes every live
    check that applies to an anchor."""
    files, keys = _anchor_files(tmp_path / "anchor")
    with serve_process(files.write(), files.port):
        report = _live(tmp_path / "r", files.base_url, files.entity_id, "--anchor-keys", str(keys))
    failed = {n: t["problems"] for n, t in _results(report).items() if t["result"] != "passed"}
    assert not failed, report["_stderr"]
    assert {"fetch-listed", "fetch-unknown-sub", "historical-keys"} <= set(_results(report))


def _answers_200_to_unknown_subs(app: Any, known: str) -> Any:
    """ASGI middleware breaking a node: a fetch for any sub is answered as if it were ``known``
    (the node's statement about its one subordinate, returned for a stranger: 200)."""

    async def broken(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"].endswith("/fetch"):
            query = parse_qs(scope["query_string"].decode())
            if query.get("sub", [""])[0] not in {known, ""} and "anchor" not in query["sub"][0]:
                scope = dict(scope, query_string=f"sub={known}".encode())
        await app(scope, receive, send)

    return broken


def test_node_answering_200_to_an_unknown_sub_fails_that_check(tmp_path: Path) -> None:
    """The real node broken in one way (200 with a statement for a sub it has none about)
    fails the fetch-unknown-sub check, and the oversized-sub one that is the same mistake."""
    files, _keys = _anchor_files(tmp_path / "anchor")
    app = _answers_200_to_unknown_subs(files.app(clock=time.time), "https://tokens.live.example")
    with running(app, files.port) as base:
        report = _live(tmp_path / "r", base, files.entity_id)
    failed = {name for name, t in _results(report).items() if t["result"] == "failed"}
    assert failed == {"fetch-unknown-sub", "fetch-oversized-sub"}
    problems = _results(report)["fetch-unknown-sub"]["problems"]
    assert "status 200, expected 404" in problems


def test_a_loopback_live_report_is_not_certifiable(tmp_path: Path) -> None:
    """The loopback test mode is never certified (FED-073): certify refuses its report."""
    files, _keys = _anchor_files(tmp_path / "anchor")
    with running(files.app(clock=time.time), files.port) as base:
        _live(tmp_path / "r", base, files.entity_id)
    key = tmp_path / "certifier.jwk"
    key.write_text(json.dumps(generate_key().to_jwk()), encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "tokenfed_conformance.cli", "certify", "--report",
         str(tmp_path / "r"), "--profile", "federation-entity", "--key", str(key),
         "--iss", "https://certify.example", "--sub", files.entity_id],
        cwd=ROOT, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 1
    assert json.loads(done.stderr)["error"] == "not_certifiable"


def _wrong_configuration_media_type(app: Any) -> Any:
    """ASGI middleware breaking a node: its entity configuration is served as application/jwt."""

    async def broken(scope: dict[str, Any], receive: Any, send: Any) -> None:
        async def relabel(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start" and scope["path"].endswith(
                "/.well-known/openid-federation"
            ):
                headers = [(k, v) for k, v in message["headers"] if k.lower() != b"content-type"]
                message = dict(message, headers=[*headers, (b"content-type", b"application/jwt")])
            await send(message)

        await app(scope, receive, relabel)

    return broken


def test_node_serving_its_configuration_as_plain_jwt_fails_that_check(tmp_path: Path) -> None:
    """The media type of the entity configuration is checked exactly (FED-080)."""
    files, _keys = _anchor_files(tmp_path / "anchor")
    with running(_wrong_configuration_media_type(files.app(clock=time.time)), files.port) as base:
        report = _live(tmp_path / "r", base, files.entity_id)
    failed = {name for name, t in _results(report).items() if t["result"] == "failed"}
    assert failed == {"ec-served"}


def _provider_files(root: Path, suite_port: int) -> NodeFiles:
    """A `tokenfed serve` provider configured with the suite's live kit: it trusts the suite's
    anchor, lists it as its authority and reaches the suite's entities on loopback."""
    given = kit(suite_port)
    root.mkdir(parents=True)
    write_jwks(root / "suite-anchor.jwks", *given["trust_anchor"]["jwks"]["keys"])
    origins = "".join(f'"{k}" = "{v}"\n' for k, v in given["origin_map"].items())
    return NodeFiles(
        root,
        "https://tokens.live.example",
        ["provider"],
        authority_hints=given["authority_hints"],
        extra_toml=(
            f"\n[origin_map]\n{origins}"
            f'\n[[trust_anchors]]\nentity_id = "{given["trust_anchor"]["entity_id"]}"\n'
            'jwks = "suite-anchor.jwks"\n'
        ),
    )


def _current_rate_card(files: NodeFiles) -> None:
    now = int(time.time())
    claims = json.loads((files.root / "rate-card.json").read_text(encoding="utf-8"))
    claims.update(iat=now - 3600, nbf=now - 3600, exp=now + 86400)
    (files.root / "rate-card.json").write_text(json.dumps(claims), encoding="utf-8")


def test_tokenfed_serve_provider_passes_every_live_check(tmp_path: Path) -> None:
    """`tokenfed serve` as a provider, configured with the live kit, meters under the suite's
    entitlements through the suite's own federation and passes both profiles' live checks."""
    port = _free_port(2)
    files = _provider_files(tmp_path / "provider", port)
    config = files.write()
    _current_rate_card(files)
    with serve_process(config, files.port):
        report = _live(
            tmp_path / "r", files.base_url, files.entity_id, "--suite-port", str(port),
            "--profile", "entitlements",
        )  # fmt: skip
    results = _results(report)
    failed = {n: t["problems"] for n, t in results.items() if t["result"] != "passed"}
    assert not failed, report["_stderr"]
    assert {"provider-receipt", "provider-oversized-body", "limit-single-request",
            "limit-cumulative", "wrong-audience", "out-of-scope", "expired",
            "unknown-operator-key", "ec-metadata"} <= set(results)  # fmt: skip
    assert "list" not in results  # a provider is no authority


def test_provider_node_serving_past_the_limit_fails_the_limit_checks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The real provider node, broken so that an entitlement's limit is one UTU more generous
    than signed, fails exactly the two limit checks."""
    monkeypatch.setattr(
        Entitlement, "limit_micro", property(lambda self: int(self.limit * 10**6) + 10**6)
    )
    port = _free_port(2)
    files = _provider_files(tmp_path / "provider", port)
    files.write()
    _current_rate_card(files)
    with running(files.app(clock=time.time), files.port) as base:
        report = _live(
            tmp_path / "r", base, files.entity_id, "--suite-port", str(port),
            profile="entitlements",
        )  # fmt: skip
    failed = {name for name, t in _results(report).items() if t["result"] == "failed"}
    assert failed == {"limit-single-request", "limit-cumulative"}
