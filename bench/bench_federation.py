"""Federation mode: receipt verification with the chain cached, and cold cross-alliance resolution.

(a) Receipt verification through a :class:`~tokenfed.federation.FederationTrust` whose chain is
    cached, against the same verification with a :class:`~tokenfed.trust.TrustStore` holding the
    same key, in interleaved rounds: each round alternates the two modes pass by pass (10 passes
    over the same distinct receipts each, the first mode alternating too; each pass timed in CPU
    time of the verifying thread) and divides the federation rate by the trust-store rate of
    that round. The table shows the median ratio over
    the rounds and its range. Target: >= 0.95x.
(b) A cold cross-alliance resolution: the provider L_B under intermediate I_B under anchor B,
    recognised by anchor A, resolved by a verifier pinned to A (7 fetches: 4 configurations and
    3 subordinate statements, 5 signatures), with a new resolver (empty caches, new
    connections) each time. Median and range in milliseconds of wall time, and the median CPU
    time the resolving thread used (what the resolver itself costs, apart from waiting for the
    servers). Target: < 100 ms wall time.

The four entities are real uvicorn servers on 127.0.0.1 in a separate process (so the servers
do not share the measuring process's interpreter lock), reached in loopback test mode.

Run: make bench   (or: python bench/bench_federation.py [--rounds N] [--receipts N] [--json])
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from tokenfed.federation import AsyncResolver, FederationTrust, Resolver, sign_statement
from tokenfed.federation import TrustAnchor as Anchor
from tokenfed.keys import KeyValidity, PrivateKey, generate_key
from tokenfed.receipts import ReceiptIssuer, ReceiptVerifier
from tokenfed.trust import TrustStore
from tokenfed.units import RateCard

A = "https://anchor.a.example"
B = "https://anchor.alliance-b.example"
I_B = "https://org.alliance-b.example"
L_B = "https://llm.alliance-b.example"
PROVIDER = "tokenfed_provider"
PASSES = 10  # alternating passes per round
AUD = "https://home.a.example"
SUB = "Zk9xW2cLm3P8qRsT"
CARD_CLAIMS: dict[str, Any] = {
    "rate_card_id": "bench-card",
    "ver": "1.0",
    "unit": "UTU",
    "models": {
        "qwen-max": {
            "weights": {"input": "0.0016", "cache_read": "0.0004", "output": "0.0064"},
        }
    },
}

# -- the served federation (runs in a child process) -----------------------------------------


def serve(spec_path: str) -> None:
    """Serve each entity of the spec file on its own port; print {origin: base URL}; run until
    standard input closes."""
    import threading

    import uvicorn
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse, Response
    from starlette.routing import Route

    spec = json.loads(Path(spec_path).read_text())
    media = "application/entity-statement+jwt"

    def app(entity: dict[str, Any]) -> Starlette:
        async def configuration(request: Request) -> Response:
            return Response(entity["configuration"], media_type=media)

        async def fetch(request: Request) -> Response:
            token = entity["subordinates"].get(request.query_params.get("sub", ""))
            if token is None:
                return JSONResponse({"error": "not_found"}, status_code=404)
            return Response(token, media_type=media)

        return Starlette(
            routes=[
                Route("/.well-known/openid-federation", configuration),
                Route("/fetch", fetch),
            ]
        )

    servers: list[uvicorn.Server] = []
    origins: dict[str, str] = {}

    async def main() -> None:
        import socket

        tasks = []
        for entity_id, entity in spec.items():
            # IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY only on sockets whose proto says TCP;
            # without it each small answer on a kept-alive connection waits ~40 ms for an ACK.
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
            sock.bind(("127.0.0.1", 0))
            config = uvicorn.Config(app(entity), log_level="error", lifespan="off")
            server = uvicorn.Server(config)
            servers.append(server)
            tasks.append(asyncio.create_task(server.serve(sockets=[sock])))
            origins[entity_id] = f"http://127.0.0.1:{sock.getsockname()[1]}"
        while not all(server.started for server in servers):
            await asyncio.sleep(0.01)
        print(json.dumps(origins), flush=True)
        await asyncio.gather(*tasks)

    def stop_on_eof() -> None:
        sys.stdin.read()
        for server in servers:
            server.should_exit = True

    threading.Thread(target=stop_on_eof, daemon=True).start()
    asyncio.run(main())


class Federation:
    """Keys and statements of A, B, I_B, L_B, valid now; served by a child process."""

    def __init__(self) -> None:
        now = int(time.time())
        self.iat = now - 60
        self.keys: dict[str, PrivateKey] = {e: generate_key() for e in (A, B, I_B, L_B)}
        self.receipt_key = generate_key()
        self.receipt_jwk = self.receipt_key.public_key(KeyValidity(nbf=self.iat - 86400)).to_jwk()
        spec: dict[str, dict[str, Any]] = {e: {"subordinates": {}} for e in self.keys}
        spec[A]["configuration"] = self._configuration(A, [])
        spec[B]["configuration"] = self._configuration(B, [A])
        spec[I_B]["configuration"] = self._configuration(I_B, [B])
        spec[L_B]["configuration"] = self._configuration(L_B, [I_B], leaf=True)
        spec[A]["subordinates"][B] = self._subordinate(A, B, recognition=True)
        spec[B]["subordinates"][I_B] = self._subordinate(B, I_B)
        spec[I_B]["subordinates"][L_B] = self._subordinate(I_B, L_B)
        self.spec = spec
        self.process: subprocess.Popen[str] | None = None
        self.origin_map: dict[str, str] = {}

    def jwks(self, entity_id: str) -> dict[str, Any]:
        return {"keys": [self.keys[entity_id].public_key().to_jwk(with_validity=False)]}

    def anchor(self) -> Anchor:
        return Anchor.from_jwks(A, self.jwks(A))

    def _configuration(self, entity_id: str, hints: list[str], leaf: bool = False) -> str:
        if leaf:
            metadata: dict[str, Any] = {
                PROVIDER: {
                    "tokenfed_versions": ["1.0"],
                    "receipt_jwks": {"keys": [self.receipt_jwk]},
                }
            }
        else:
            metadata = {
                "federation_entity": {
                    "federation_fetch_endpoint": entity_id + "/fetch",
                    "federation_list_endpoint": entity_id + "/list",
                    "federation_historical_keys_endpoint": entity_id + "/historical-keys",
                }
            }
        claims: dict[str, Any] = {
            "iss": entity_id,
            "sub": entity_id,
            "iat": self.iat,
            "exp": self.iat + 86400,
            "jwks": self.jwks(entity_id),
            "metadata": metadata,
        }
        if hints:
            claims["authority_hints"] = hints
        return sign_statement(claims, self.keys[entity_id])

    def _subordinate(self, iss: str, sub: str, recognition: bool = False) -> str:
        claims: dict[str, Any] = {
            "iss": iss,
            "sub": sub,
            "iat": self.iat,
            "exp": self.iat + 86400,
            "jwks": self.jwks(sub),
            "source_endpoint": iss + "/fetch",
        }
        if recognition:
            claims["tokenfed_recognition"] = True
            claims["constraints"] = {
                "max_path_length": 2,
                "naming_constraints": {"permitted": [".alliance-b.example"]},
                "allowed_entity_types": [PROVIDER],
            }
        return sign_statement(claims, self.keys[iss])

    def __enter__(self) -> Federation:
        handle, path = tempfile.mkstemp(suffix=".json")
        with os.fdopen(handle, "w") as out:
            json.dump(self.spec, out)
        self.process = subprocess.Popen(
            [sys.executable, __file__, "--serve", path],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        os.unlink(path)
        if not line:
            raise RuntimeError("the federation servers did not start")
        self.origin_map = json.loads(line)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.process is not None:
            assert self.process.stdin is not None
            self.process.stdin.close()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


# -- (a) verification, federation mode vs trust-store mode ----------------------------------


def receipts(federation: Federation, count: int) -> tuple[str, list[str]]:
    claims = dict(
        CARD_CLAIMS,
        iss=L_B,
        iat=federation.iat - 3600,
        nbf=federation.iat - 3600,
        exp=federation.iat + 86400 * 30,
    )
    card_token = RateCard.sign(claims, federation.receipt_key)
    card = RateCard.from_jws_unverified(card_token)
    issuer = ReceiptIssuer(federation.receipt_key, L_B, card, clock=lambda: federation.iat)
    tokens = [
        issuer.issue(
            aud=AUD,
            sub=SUB,
            usage={"model": "qwen-max", "meters": {"input": 1000 + i, "output": 100 + i % 97}},
        )
        for i in range(count)
    ]
    return card_token, tokens


def timed_pass(verifier: ReceiptVerifier, tokens: list[str]) -> float:
    """CPU seconds of this thread to verify every token once. Verification with a cached
    chain does no I/O, so the thread's CPU time is its cost, and other processes' load on the
    shared machine (time spent descheduled) does not enter it."""
    start = time.thread_time()
    for token in tokens:
        verifier.verify(token)
    return time.thread_time() - start


def bench_verification(federation: Federation, rounds: int, count: int) -> dict[str, Any]:
    card_token, tokens = receipts(federation, count)
    store = TrustStore.from_json(
        {"ver": "1.0", "issuers": {L_B: {"jwks": {"keys": [federation.receipt_jwk]}}}}
    )
    resolver = Resolver([federation.anchor()], origin_map=federation.origin_map)
    trust = FederationTrust(resolver)
    try:
        now = federation.iat
        modes = {
            "trust_store": ReceiptVerifier(
                store, [RateCard.from_jws(card_token, store)], clock=lambda: now
            ),
            "federation": ReceiptVerifier(
                trust, [RateCard.from_jws(card_token, trust)], clock=lambda: now
            ),
        }
        check = modes["federation"].verify(tokens[0])
        assert check.trust_anchor == A
        assert check.trust_path == (L_B, I_B, B, A)
        fetches = resolver.fetches
        rates: dict[str, list[float]] = {name: [] for name in modes}
        ratios: list[float] = []
        for round_ in range(rounds):
            # Within a round the two modes alternate pass by pass (the first mode alternating
            # too), so a change of the machine's load reaches both alike.
            seconds = dict.fromkeys(modes, 0.0)
            for step in range(PASSES):
                order = list(modes) if (round_ + step) % 2 == 0 else list(reversed(modes))
                for name in order:
                    seconds[name] += timed_pass(modes[name], tokens)
            for name in modes:
                rates[name].append(PASSES * len(tokens) / seconds[name])
            ratios.append(seconds["trust_store"] / seconds["federation"])
        assert resolver.fetches == fetches, "the chain was fetched again during the rounds"
    finally:
        resolver.close()
    return {
        "receipts": count,
        "rounds": rounds,
        "trust_store_per_s": round(statistics.median(rates["trust_store"])),
        "federation_per_s": round(statistics.median(rates["federation"])),
        "ratio_median": round(statistics.median(ratios), 3),
        "ratio_min": round(min(ratios), 3),
        "ratio_max": round(max(ratios), 3),
        "target": 0.95,
        "met": statistics.median(ratios) >= 0.95,
    }


# -- (b) cold cross-alliance resolution -------------------------------------------------------


def bench_cold_resolution(federation: Federation, rounds: int) -> dict[str, Any]:
    anchors = [federation.anchor()]

    async def once() -> tuple[float, float]:
        async with AsyncResolver(anchors, origin_map=federation.origin_map) as resolver:
            start, cpu = time.perf_counter(), time.thread_time()
            resolution = await resolver.resolve(L_B, PROVIDER)
            elapsed, used = time.perf_counter() - start, time.thread_time() - cpu
            assert resolution.path == (L_B, I_B, B, A)
            assert resolver.fetches == 7
            return elapsed * 1000, used * 1000

    async def all_rounds() -> list[tuple[float, float]]:
        await once()  # warm-up: imports, first connections of the interpreter
        return [await once() for _ in range(rounds)]

    measured = asyncio.run(all_rounds())
    times = [wall for wall, _ in measured]
    cpu = [used for _, used in measured]
    return {
        "rounds": rounds,
        "fetches": 7,
        "ms_median": round(statistics.median(times), 1),
        "ms_min": round(min(times), 1),
        "ms_max": round(max(times), 1),
        "client_cpu_ms_median": round(statistics.median(cpu), 1),
        "target_ms": 100,
        "met": statistics.median(times) < 100,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=15, help="interleaved rounds (a)")
    parser.add_argument("--receipts", type=int, default=500, help="distinct receipts (a)")
    parser.add_argument("--resolutions", type=int, default=30, help="cold resolutions (b)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--serve", metavar="SPEC", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve)
        return 0
    with Federation() as federation:
        verification = bench_verification(federation, args.rounds, args.receipts)
        resolution = bench_cold_resolution(federation, args.resolutions)
    figures = {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "verification": verification,
        "cold_resolution": resolution,
    }
    if args.json:
        print(json.dumps(figures, indent=2))
        return 0
    v, r = verification, resolution
    print(
        f"Federation benchmark: Python {figures['python']}, {figures['cpus']} CPUs, "
        f"load average {figures['load_average']}"
    )
    print()
    print("| measure | median (range) | target |")
    print("|---|---:|---|")
    print(
        f"| (a) receipt verification, federation mode (chain cached) / trust-store mode "
        f"({v['federation_per_s']:,} vs {v['trust_store_per_s']:,} receipts/s, {v['rounds']} "
        f"rounds) | {v['ratio_median']:.3f}x ({v['ratio_min']:.3f}-{v['ratio_max']:.3f}) | "
        f">= 0.95x: **{'met' if v['met'] else 'not met'}** |"
    )
    print(
        f"| (b) cold cross-alliance resolution L_B <- I_B <- B <- A, 7 fetches "
        f"({r['rounds']} runs; the resolver's own CPU: {r['client_cpu_ms_median']} ms) | "
        f"{r['ms_median']} ms ({r['ms_min']}-{r['ms_max']}) | "
        f"< 100 ms: **{'met' if r['met'] else 'not met'}** |"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
