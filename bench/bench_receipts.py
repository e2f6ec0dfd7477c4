"""Receipt verification throughput, as ratios against raw Ed25519 verification in the same run.

Baseline: ``cryptography``'s Ed25519 verify of each receipt's exact signing input. Compared:
PyJWT decode of the same tokens; the SDK's full single-receipt verification (every check of
REC-040, replay and chain tracking in memory, no ledger); the SDK's batched verification of
Merkle-batched receipts one by one (REC-062: proof per receipt, one signature per batch); and
whole-batch verification (REC-064). Each figure is the best of several rounds over distinct
receipts, so no result is cached across receipts except the batch statement.

Run: make bench   (or: python bench/bench_receipts.py [--receipts N] [--batch N] [--json])
"""

from __future__ import annotations

import argparse
import base64
import json
import platform
import time
from collections.abc import Callable
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from tokenfed import _json
from tokenfed.keys import KeyValidity, generate_key
from tokenfed.receipts import ReceiptIssuer, ReceiptRequest, ReceiptTracker, ReceiptVerifier
from tokenfed.trust import TrustStore
from tokenfed.units import RateCard

T0 = 1767225600
ISS = "https://provider.example"
AUD = "https://home.example"
CARD = {
    "iss": ISS,
    "rate_card_id": "bench-card",
    "ver": "1.0",
    "iat": T0,
    "nbf": T0,
    "exp": T0 + 86400 * 365,
    "unit": "UTU",
    "models": {
        "qwen-max": {
            "weights": {"input": "0.0016", "cache_read": "0.0004", "output": "0.0064"},
            "tiers": [{"above_input": 32000, "weights": {"input": "0.0024"}}],
        }
    },
}


def _usage(i: int) -> dict[str, Any]:
    return {
        "model": "qwen-max",
        "meters": {"input": 1000 + i % 997, "cache_read": i % 331, "output": 200 + i % 613},
    }


def _best(rounds: int, run: Callable[[], int]) -> float:
    """Best throughput (operations per second) over ``rounds`` runs."""
    best = 0.0
    for _ in range(rounds):
        start = time.perf_counter()
        count = run()
        best = max(best, count / (time.perf_counter() - start))
    return best


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--receipts", type=int, default=2000)
    parser.add_argument("--batch", type=int, default=1024, help="receipts per Merkle batch")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()

    key = generate_key("EdDSA")
    trust = TrustStore.from_json(
        {
            "ver": "1.0",
            "issuers": {ISS: {"jwks": {"keys": [key.public_key(KeyValidity(nbf=T0)).to_jwk()]}}},
        }
    )
    card = RateCard.from_jws(RateCard.sign(CARD, key), trust)
    clock = lambda: T0 + 3600  # noqa: E731
    issuer = ReceiptIssuer(key, ISS, card, clock=clock)
    tokens = [
        issuer.issue(aud=AUD, sub="Zk9xW2cLm3P8qRsT", usage=_usage(i), jti=f"r{i}")
        for i in range(args.receipts)
    ]
    batch_issuer = ReceiptIssuer(key, ISS, card, clock=clock)
    batched: list[dict[str, Any]] = []
    for start in range(0, args.receipts, args.batch):
        requests = [
            ReceiptRequest(aud=AUD, sub="Zk9xW2cLm3P8qRsT", usage=_usage(i), jti=f"b{i}")
            for i in range(start, min(start + args.batch, args.receipts))
        ]
        batched.extend(batch_issuer.issue_batch(requests))
    batched_text = [json.dumps(item) for item in batched]
    batches: dict[str, list[bytes]] = {}
    for item in batched:
        batches.setdefault(item["batch"], []).append(
            base64.urlsafe_b64decode(item["claims"] + "=" * (-len(item["claims"]) % 4))
        )

    x = key.public_key().to_jwk()["x"]
    raw_key = Ed25519PublicKey.from_public_bytes(base64.urlsafe_b64decode(x + "="))
    pyjwt_key = raw_key
    split = []
    for token in tokens:
        head, payload, sig = token.split(".")
        split.append(((head + "." + payload).encode(), base64.urlsafe_b64decode(sig + "==")))

    def raw() -> int:
        for signing_input, signature in split:
            raw_key.verify(signature, signing_input)
        return len(split)

    def pyjwt_decode() -> int:
        for token in tokens:
            jwt.decode(token, pyjwt_key, algorithms=["EdDSA"], options={"verify_aud": False})
        return len(tokens)

    def sdk_single() -> int:
        verifier = ReceiptVerifier(trust, [card], clock=clock)
        with ReceiptTracker().transaction() as tx:
            for token in tokens:
                tx.track(verifier.verify(token))
        return len(tokens)

    def sdk_batched() -> int:
        verifier = ReceiptVerifier(trust, [card], clock=clock)
        with ReceiptTracker().transaction() as tx:
            for text in batched_text:
                tx.track(verifier.verify(text))
        return len(batched_text)

    def sdk_whole_batch() -> int:
        verifier = ReceiptVerifier(trust, [card], clock=clock)
        count = 0
        for statement, leaves in batches.items():
            for result in verifier.verify_batch(statement, leaves):
                assert not isinstance(result, Exception), result
            count += len(leaves)
        return count

    # Sanity: every path accepts every receipt before it is timed.
    sdk_single(), sdk_batched(), sdk_whole_batch()
    _json.loads(b"{}")

    baseline = _best(args.rounds, raw)
    figures = {
        "raw_ed25519_verify": baseline,
        "pyjwt_decode": _best(args.rounds, pyjwt_decode),
        "sdk_single_verify": _best(args.rounds, sdk_single),
        "sdk_batched_verify": _best(args.rounds, sdk_batched),
        "sdk_whole_batch_verify": _best(args.rounds, sdk_whole_batch),
    }
    targets = {"sdk_single_verify": 0.85, "sdk_batched_verify": 10.0}
    rows = []
    for name, ops in figures.items():
        ratio = ops / baseline
        target = targets.get(name)
        verdict = (
            "" if target is None else ("meets" if ratio >= target else "MISSES") + f" >= {target}x"
        )
        rows.append(
            {"name": name, "ops_per_s": round(ops), "ratio": round(ratio, 3), "target": verdict}
        )
    if args.json:
        print(
            json.dumps(
                {
                    "python": platform.python_version(),
                    "machine": platform.machine(),
                    "receipts": args.receipts,
                    "batch": args.batch,
                    "results": rows,
                },
                indent=2,
            )
        )
    else:
        print(f"receipts={args.receipts} batch={args.batch} python={platform.python_version()}")
        print(f"{'measure':<26}{'ops/s':>12}{'x baseline':>12}  target")
        for row in rows:
            print(f"{row['name']:<26}{row['ops_per_s']:>12,}{row['ratio']:>12.3f}  {row['target']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
