"""The suite's own test federation for live mode: a trust anchor and an operator, each served
on loopback by a small in-suite server with its own keys.

A provider node under test is configured to trust the suite's anchor (its entity id and
federation keys, which :func:`kit` writes out) and to reach the suite's entities through its
loopback origin map. The anchor serves a subordinate statement about the provider (built from
the provider's own entity configuration) and about the suite's operator; the operator publishes
the entitlement keys that sign the entitlements the suite presents to the provider.

The keys are derived from fixed, published seeds: they protect nothing, and a node must trust
them only in its loopback test mode.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from .._codec import jcs
from .._crypto import SuiteKey, compact
from .._federation import (
    TYP_ENTITLEMENT,
    TYP_HISTORICAL_KEYS,
    entity_jwks,
    sign_statement,
    signing_keys_jwks,
)

__all__ = ["ANCHOR_ID", "OPERATOR_ID", "SuiteFederation", "kit", "suite_key"]

ANCHOR_ID = "https://anchor.conformance.tokenfed.example"
OPERATOR_ID = "https://operator.conformance.tokenfed.example"
DEFAULT_PORT = 8790
"""The anchor listens on this port and the operator on the next one (``--suite-port``)."""
_LIFETIME = 3600


def suite_key(name: str) -> SuiteKey:
    """A key of the suite's test federation, derived from a published seed (test use only)."""
    seed = hashlib.sha256(f"tokenfed-conformance live/{name}".encode()).digest()
    import random

    return SuiteKey.generate(random.Random(seed), "EdDSA")  # noqa: S311


def kit(port: int) -> dict[str, Any]:
    """What a provider node needs to join the suite's test federation: the anchor to trust (id
    and federation keys), the authority hint to publish, and the loopback origin map."""
    return {
        "trust_anchor": {
            "entity_id": ANCHOR_ID,
            "jwks": signing_keys_jwks([suite_key("anchor")]),
        },
        "authority_hints": [ANCHOR_ID],
        "origin_map": {
            ANCHOR_ID: f"http://127.0.0.1:{port}",
            OPERATOR_ID: f"http://127.0.0.1:{port + 1}",
        },
        "operator": OPERATOR_ID,
    }


@dataclass
class _Served:
    status: int
    content_type: str
    body: bytes


def _error(status: int, code: str, text: str) -> _Served:
    body = {"error": code, "error_description": text, "message": text}
    return _Served(status, "application/json", json.dumps(body).encode())


class SuiteFederation:
    """The anchor and the operator, started on loopback ports ``port`` and ``port + 1``.

    ``subject_configuration`` returns the provider's entity configuration claims as the suite
    last read them (its ``jwks`` is what the anchor attests for it); set :attr:`provider`
    before the node resolves anything.
    """

    def __init__(self, port: int = DEFAULT_PORT, *, clock: Callable[[], float] = time.time) -> None:
        self.port = port
        self.clock = clock
        self.anchor_key = suite_key("anchor")
        self.operator_key = suite_key("operator")
        self.entitlement_key = suite_key("operator-entitlements")
        self.provider: str | None = None
        self.provider_jwks: dict[str, Any] | None = None
        self._servers: list[ThreadingHTTPServer] = []
        self._threads: list[threading.Thread] = []

    # ------------------------------------------------------------------ statements

    def _times(self) -> tuple[int, int]:
        now = int(self.clock())
        return now - 60, now - 60 + _LIFETIME

    def anchor_configuration(self) -> str:
        iat, exp = self._times()
        return sign_statement(
            self.anchor_key,
            {
                "iss": ANCHOR_ID,
                "sub": ANCHOR_ID,
                "iat": iat,
                "exp": exp,
                "jwks": signing_keys_jwks([self.anchor_key]),
                "metadata": {
                    "federation_entity": {
                        "federation_fetch_endpoint": f"{ANCHOR_ID}/fetch",
                        "federation_list_endpoint": f"{ANCHOR_ID}/list",
                        "federation_historical_keys_endpoint": f"{ANCHOR_ID}/historical-keys",
                        "organization_name": "tokenfed conformance suite (test anchor)",
                    }
                },
            },
        )

    def operator_metadata(self) -> dict[str, Any]:
        now = int(self.clock())
        return {
            "federation_entity": {"organization_name": "tokenfed conformance suite (operator)"},
            "tokenfed_operator": {
                "tokenfed_versions": ["1.0"],
                "entitlement_jwks": entity_jwks([self.entitlement_key], nbf=now - 86400),
                "receipt_intake_endpoint": f"{OPERATOR_ID}/receipts",
            },
        }

    def operator_configuration(self) -> str:
        iat, exp = self._times()
        return sign_statement(
            self.operator_key,
            {
                "iss": OPERATOR_ID,
                "sub": OPERATOR_ID,
                "iat": iat,
                "exp": exp,
                "jwks": signing_keys_jwks([self.operator_key]),
                "metadata": self.operator_metadata(),
                "authority_hints": [ANCHOR_ID],
            },
        )

    def subordinate(self, sub: str) -> str | None:
        """The anchor's statement about ``sub`` (the operator or the provider under test)."""
        if sub == OPERATOR_ID:
            jwks: dict[str, Any] | None = signing_keys_jwks([self.operator_key])
        elif sub == self.provider:
            jwks = self.provider_jwks
        else:
            jwks = None
        if jwks is None:
            return None
        iat, exp = self._times()
        return sign_statement(
            self.anchor_key,
            {
                "iss": ANCHOR_ID,
                "sub": sub,
                "iat": iat,
                "exp": exp,
                "jwks": jwks,
                "source_endpoint": f"{ANCHOR_ID}/fetch",
            },
        )

    def historical_keys(self) -> str:
        iat, _exp = self._times()
        payload = {"iss": ANCHOR_ID, "iat": iat, "keys": []}
        return compact(self.anchor_key, jcs(payload), TYP_HISTORICAL_KEYS)

    def entitlement(self, claims: dict[str, Any], key: SuiteKey | None = None) -> str:
        """An entitlement of the suite's operator (its entitlement key unless ``key``)."""
        return compact(key or self.entitlement_key, jcs(claims), TYP_ENTITLEMENT)

    # ------------------------------------------------------------------ serving

    def _anchor(self, path: str, query: dict[str, list[str]]) -> _Served:
        if path == "/.well-known/openid-federation":
            return _Served(
                200, "application/entity-statement+jwt", self.anchor_configuration().encode()
            )
        if path == "/fetch":
            subs = query.get("sub", [])
            if len(subs) != 1:
                return _error(400, "invalid_request", "sub is required, once")
            if subs[0] == ANCHOR_ID:
                return _error(400, "invalid_request", "sub is the anchor itself")
            statement = self.subordinate(subs[0])
            if statement is None:
                return _error(404, "not_found", f"{subs[0]} is not a subordinate")
            return _Served(200, "application/entity-statement+jwt", statement.encode())
        if path == "/list":
            listed = [OPERATOR_ID] + ([self.provider] if self.provider else [])
            return _Served(200, "application/json", json.dumps(listed).encode())
        if path == "/historical-keys":
            return _Served(200, "application/jwk-set+jwt", self.historical_keys().encode())
        return _error(404, "not_found", f"no endpoint {path}")

    def _operator(self, path: str, query: dict[str, list[str]]) -> _Served:
        if path == "/.well-known/openid-federation":
            return _Served(
                200, "application/entity-statement+jwt", self.operator_configuration().encode()
            )
        return _error(404, "not_found", f"no endpoint {path}")

    def _handler(self, serve: Callable[[str, dict[str, list[str]]], _Served]) -> type:
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                try:
                    served = serve(parts.path, parse_qs(parts.query))
                except Exception as exc:  # a defect of the suite must still answer
                    served = _error(500, "server_error", f"{type(exc).__name__}: {exc}")
                self.send_response(served.status)
                self.send_header("Content-Type", served.content_type)
                self.send_header("Content-Length", str(len(served.body)))
                self.end_headers()
                self.wfile.write(served.body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler

    def start(self) -> None:
        """Listen on 127.0.0.1: the anchor on ``port``, the operator on ``port + 1``."""
        for offset, serve in ((0, self._anchor), (1, self._operator)):
            server = ThreadingHTTPServer(("127.0.0.1", self.port + offset), self._handler(serve))
            server.daemon_threads = True
            thread = threading.Thread(target=server.serve_forever, daemon=True)
            thread.start()
            self._servers.append(server)
            self._threads.append(thread)

    def stop(self) -> None:
        """Stop both servers and wait for their threads."""
        for server in self._servers:
            server.shutdown()
            server.server_close()
        for thread in self._threads:
            thread.join(timeout=5)
        self._servers.clear()
        self._threads.clear()

    def __enter__(self) -> SuiteFederation:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
