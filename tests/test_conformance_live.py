"""Live mode of the conformance suite against nodes served on loopback: a well-behaved anchor and
provider pass every check, and a node broken in one way fails the check aimed at it.

The nodes here are small stand-ins built on the SDK (statements signed with its JWS layer,
entitlements verified, limits held and receipts issued by its entitlements and receipts
packages) and served by the standard library's HTTP server.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit
from urllib.request import urlopen

import pytest

from _node_support import NodeFiles, running, serve_process, write_jwks
from tokenfed import _jws
from tokenfed.entitlements import Entitlement, Reservations
from tokenfed.errors import TokenfedError
from tokenfed.keys import PrivateKey, generate_key, load_public_jwk
from tokenfed.receipts import ReceiptIssuer
from tokenfed.trust import TrustStore
from tokenfed.units import RateCard, parse_usage
from tokenfed_conformance.live import kit

ROOT = Path(__file__).resolve().parent.parent
STATEMENT = "entity-statement+jwt"
MAX_BODY = 65536


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


@dataclass
class Answer:
    status: int
    content_type: str
    body: bytes


def _error(status: int, code: str, text: str) -> Answer:
    body = {"error": code, "error_description": text, "message": text}
    return Answer(status, "application/json", json.dumps(body).encode())


@dataclass
class StandInAnchor:
    """A trust anchor with one subordinate. ``fault`` breaks one behaviour."""

    entity_id: str = "https://anchor.standin.example"
    member: str = "https://member.standin.example"
    fault: str | None = None
    key: PrivateKey = field(default_factory=generate_key)
    member_key: PrivateKey = field(default_factory=generate_key)

    def _statement(self, claims: dict[str, Any]) -> bytes:
        now = int(time.time())
        return _jws.sign(
            {"iat": now - 60, "exp": now + 3600, **claims}, self.key, STATEMENT
        ).encode()

    def answer(self, method: str, path: str, query: dict[str, list[str]], body: bytes) -> Answer:
        base = self.entity_id
        if path == "/.well-known/openid-federation":
            claims = {
                "iss": base,
                "sub": base,
                "jwks": {"keys": [_jwk(self.key)]},
                "metadata": {
                    "federation_entity": {
                        "federation_fetch_endpoint": f"{base}/fetch",
                        "federation_list_endpoint": f"{base}/list",
                        "federation_historical_keys_endpoint": f"{base}/historical-keys",
                    }
                },
            }
            if self.fault == "lifetime-48h":
                claims["exp"] = int(time.time()) + 48 * 3600
            return Answer(200, "application/entity-statement+jwt", self._statement(claims))
        if path == "/fetch":
            subs = query.get("sub", [])
            if len(subs) != 1:
                return _error(400, "invalid_request", "sub: one entity id is required")
            sub = subs[0]
            if sub == base:
                return _error(400, "invalid_request", "sub is this anchor itself")
            if sub != self.member and self.fault != "unknown-sub-200":
                return _error(404, "not_found", f"{sub} is not a subordinate")
            claims = {
                "iss": base,
                "sub": sub,
                "jwks": {"keys": [_jwk(self.member_key)]},
                "source_endpoint": f"{base}/fetch",
            }
            return Answer(200, "application/entity-statement+jwt", self._statement(claims))
        if path == "/list":
            return Answer(200, "application/json", json.dumps([self.member]).encode())
        if path == "/historical-keys":
            now = int(time.time())
            old = generate_key()
            payload = {"iss": base, "iat": now, "keys": [_jwk(old, exp=now - 86400)]}
            token = _jws.sign(payload, self.key, "jwk-set+jwt")
            return Answer(200, "application/jwk-set+jwt", token.encode())
        return _error(404, "not_found", f"no endpoint {path}")


@dataclass
class StandInProvider:
    """A provider under the conformance suite's test anchor: verifies entitlements through the
    suite's federation, holds limits, issues receipts. ``fault`` breaks one behaviour."""

    suite_port: int
    store: Path
    entity_id: str = "https://provider.standin.example"
    fault: str | None = None
    key: PrivateKey = field(default_factory=generate_key)
    receipt_key: PrivateKey = field(default_factory=generate_key)

    def __post_init__(self) -> None:
        now = int(time.time())
        self.card_claims = {
            "iss": self.entity_id,
            "rate_card_id": "standin-1",
            "ver": "1.0",
            "iat": now - 3600,
            "nbf": now - 3600,
            "exp": now + 86400,
            "unit": "UTU",
            "models": {"standin-model": {"weights": {"input": "0.0002", "output": "0.0006"}}},
        }
        self.card = RateCard.sign(self.card_claims, self.receipt_key)
        self.issuer = ReceiptIssuer(
            self.receipt_key, self.entity_id, RateCard.from_claims(self.card_claims)
        )
        self.reservations = Reservations(self.store)
        self.kit = kit(self.suite_port)

    def configuration(self) -> bytes:
        now = int(time.time())
        base = self.entity_id
        claims = {
            "iss": base,
            "sub": base,
            "iat": now - 60,
            "exp": now + 3600,
            "jwks": {"keys": [_jwk(self.key)]},
            "authority_hints": self.kit["authority_hints"],
            "metadata": {
                "tokenfed_provider": {
                    "tokenfed_versions": ["1.0"],
                    "receipt_jwks": {"keys": [_jwk(self.receipt_key, nbf=now - 86400)]},
                    "metering_endpoint": f"{base}/metering",
                    "rate_card_uri": f"{base}/rate-card",
                }
            },
        }
        return _jws.sign(claims, self.key, STATEMENT).encode()

    def _get(self, entity_url: str) -> bytes:
        for origin, target in self.kit["origin_map"].items():
            if entity_url.startswith(origin):
                entity_url = target + entity_url[len(origin) :]
        with urlopen(entity_url, timeout=5) as answer:  # loopback only
            data: bytes = answer.read(MAX_BODY)
            return data

    def operator_keys(self, operator: str) -> TrustStore:
        """The operator's entitlement keys through the chain: its configuration, the anchor's
        statement about it (verified with the pinned anchor key), the configuration verified
        with the keys the statement attests."""
        anchor = self.kit["trust_anchor"]
        pinned = {k["kid"]: load_public_jwk(k) for k in anchor["jwks"]["keys"]}
        fetch = anchor["entity_id"] + "/fetch?sub=" + operator
        statement = _jws.verify(self._get(fetch), STATEMENT, lambda d: pinned[d.header["kid"]])
        attested = {k["kid"]: load_public_jwk(k) for k in statement.claims["jwks"]["keys"]}
        config = _jws.verify(
            self._get(operator + "/.well-known/openid-federation"),
            STATEMENT,
            lambda d: attested[d.header["kid"]],
        )
        jwks = config.claims["metadata"]["tokenfed_operator"]["entitlement_jwks"]
        return TrustStore.from_json({"ver": "1.0", "issuers": {operator: {"jwks": jwks}}})

    def meter(self, body: bytes) -> Answer:
        try:
            request = json.loads(body)
            token, usage = request["entitlement"], request["usage"]
            assert request["model"] == usage["model"] and request["request_id"]
            operator = json.loads(_b64(token.split(".")[1]))["iss"]
            audience = self.entity_id
            if self.fault == "ignores-audience":
                audience = json.loads(_b64(token.split(".")[1]))["aud"]
            entitlement = Entitlement.from_jws(
                token, self.operator_keys(operator), audience=audience
            )
            amount = RateCard.from_claims(self.card_claims).price(parse_usage(usage)).amount
            if self.fault == "limit-ignored":
                held_amount = min(amount, entitlement.limit)
            else:
                held_amount = amount
            held = self.reservations.reserve(entitlement, usage["model"], held_amount)
            if self.fault is not None:
                # The broken node signs its receipt itself instead of issuing it under the
                # entitlement (which would check the amount and the audience again).
                if self.fault == "limit-ignored":
                    self.reservations.release(held.id)
                else:
                    self.reservations.settle(held.id, amount)
                receipt = self.issuer.issue(
                    aud=entitlement.iss, sub=entitlement.sub, usage=usage,
                    entitlement=entitlement.jti,
                )  # fmt: skip
            else:
                receipt = self.issuer.issue_under(entitlement, self.reservations, held.id, usage)
        except TokenfedError as exc:
            status = {"limit_exceeded": 409, "schema_violation": 400}.get(exc.code, 403)
            return _error(status, exc.code, exc.message)
        except (ValueError, KeyError, TypeError) as exc:
            return _error(400, "invalid_request", f"bad metering request: {exc}")
        answer = {"receipt": receipt, "entitlement": entitlement.jti}
        return Answer(200, "application/json", json.dumps(answer).encode())

    def answer(self, method: str, path: str, query: dict[str, list[str]], body: bytes) -> Answer:
        if path == "/.well-known/openid-federation":
            return Answer(200, "application/entity-statement+jwt", self.configuration())
        if path == "/rate-card":
            return Answer(200, "application/jwt", self.card.encode())
        if path == "/metering" and method == "POST":
            return self.meter(body)
        return _error(404, "not_found", f"no endpoint {path}")


def _b64(text: str) -> bytes:
    import base64

    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _serve(node: Any) -> tuple[ThreadingHTTPServer, threading.Thread]:
    class Handler(BaseHTTPRequestHandler):
        def _reply(self, method: str) -> None:
            parts = urlsplit(self.path)
            body = b""
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY:
                answer = _error(413, "payload_too_large", f"bodies are at most {MAX_BODY} bytes")
                self.close_connection = True
            else:
                body = self.rfile.read(length) if length else b""
                answer = node.answer(method, parts.path, parse_qs(parts.query), body)
            self.send_response(answer.status)
            self.send_header("Content-Type", answer.content_type)
            self.send_header("Content-Length", str(len(answer.body)))
            self.end_headers()
            self.wfile.write(answer.body)

        def do_GET(self) -> None:
            self._reply("GET")

        def do_POST(self) -> None:
            self._reply("POST")

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return server, thread


@pytest.fixture
def serve() -> Iterator[Callable[[Any], str]]:
    """Serve a stand-in on a loopback port; returns its base URL. Stopped after the test."""
    running: list[tuple[ThreadingHTTPServer, threading.Thread]] = []

    def start(node: Any) -> str:
        server, thread = _serve(node)
        running.append((server, thread))
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield start
    for server, thread in running:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


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


def test_anchor_passes_every_live_check(tmp_path: Path, serve: Callable[[Any], str]) -> None:
    """An anchor that serves its configuration, fetch, list and historical keys as the chapter
    says passes every check that applies to an authority; the report is the ordinary one."""
    anchor = StandInAnchor()
    keys = tmp_path / "anchor.jwks"
    keys.write_text(json.dumps({"keys": [_jwk(anchor.key)]}), encoding="utf-8")
    report = _live(tmp_path / "r", serve(anchor), anchor.entity_id, "--anchor-keys", str(keys))
    results = _results(report)
    failed = {name: t["problems"] for name, t in results.items() if t["result"] != "passed"}
    assert not failed, report["_stderr"]
    assert report["_returncode"] == 0
    assert report["mode"] == "live"
    assert {"ec-served", "ec-pinned-keys", "fetch-unknown-sub", "fetch-self", "list",
            "fetch-listed", "historical-keys", "fetch-oversized-sub"} <= set(results)  # fmt: skip
    assert "provider-receipt" not in results  # an anchor is no provider
    assert results["fetch-unknown-sub"]["exchanges"][0].startswith("GET https://anchor.standin")
    assert (tmp_path / "r" / "junit.xml").is_file() and (tmp_path / "r" / "report.html").is_file()


@pytest.mark.parametrize(
    ("fault", "checks"),
    [
        ("unknown-sub-200", {"fetch-unknown-sub", "fetch-oversized-sub"}),
        ("lifetime-48h", {"ec-lifetime"}),
    ],
)
def test_broken_anchor_fails_the_right_check(
    tmp_path: Path, serve: Callable[[Any], str], fault: str, checks: set[str]
) -> None:
    """An anchor that answers 200 to an unknown sub (the 3.7 KB one included), or whose
    configuration lives 48 hours, fails exactly the checks aimed at that behaviour."""
    anchor = StandInAnchor(fault=fault)
    report = _live(tmp_path, serve(anchor), anchor.entity_id)
    failed = {name for name, t in _results(report).items() if t["result"] == "failed"}
    assert failed == checks
    assert report["_returncode"] == 1


def test_provider_passes_every_live_check(tmp_path: Path, serve: Callable[[Any], str]) -> None:
    """A provider that trusts the suite's anchor (the live kit) meters under the suite's
    entitlements, names their jti in its receipts and refuses usage past the limit."""
    port = _free_port(2)
    provider = StandInProvider(port, tmp_path / "reservations.db")
    base = serve(provider)
    for profile in ("federation-entity", "entitlements"):
        report = _live(
            tmp_path / profile, base, provider.entity_id, "--suite-port", str(port),
            profile=profile,
        )  # fmt: skip
        failed = {n: t["problems"] for n, t in _results(report).items() if t["result"] != "passed"}
        assert not failed, report["_stderr"]
    names = set(_results(report))
    assert {"limit-single-request", "limit-cumulative", "wrong-audience", "out-of-scope",
            "expired", "unknown-operator-key"} == names  # fmt: skip


@pytest.mark.parametrize(
    ("fault", "checks"),
    [
        ("limit-ignored", {"limit-single-request", "limit-cumulative"}),
        ("ignores-audience", {"wrong-audience"}),
    ],
)
def test_broken_provider_fails_the_right_check(
    tmp_path: Path, serve: Callable[[Any], str], fault: str, checks: set[str]
) -> None:
    """A provider that serves past the limit (or ignores the audience) fails those checks."""
    port = _free_port(2)
    provider = StandInProvider(port, tmp_path / "reservations.db", fault=fault)
    report = _live(
        tmp_path / "r", serve(provider), provider.entity_id, "--suite-port", str(port),
        profile="entitlements",
    )  # fmt: skip
    failed = {name for name, t in _results(report).items() if t["result"] == "failed"}
    assert failed == checks


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


def test_a_loopback_live_report_is_not_certifiable(
    tmp_path: Path, serve: Callable[[Any], str]
) -> None:
    """The loopback test mode is never certified (FED-073): certify refuses its report."""
    anchor = StandInAnchor()
    _live(tmp_path / "r", serve(anchor), anchor.entity_id)
    key = tmp_path / "certifier.jwk"
    key.write_text(json.dumps(generate_key().to_jwk()), encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "tokenfed_conformance.cli", "certify", "--report",
         str(tmp_path / "r"), "--profile", "federation-entity", "--key", str(key),
         "--iss", "https://certify.example", "--sub", anchor.entity_id],
        cwd=ROOT, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 1
    assert json.loads(done.stderr)["error"] == "not_certifiable"
