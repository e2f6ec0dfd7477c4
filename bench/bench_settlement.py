"""Settlement throughput, as ratios measured in one run.

1. Statements from an already-verified ledger: ledger rows per second through
   ``build_statement`` (reading the stream from SQLite, regrouping, the Merkle root).
2. Bulk verify-and-settle (``tokenfed.engine.run``) serially, against the single-receipt verify
   rate of the same receipts (``ReceiptVerifier.verify`` in a loop): settlement's overhead.
3. The same run on a two-worker Dask LocalCluster, against the serial run (cluster start
   included), and on a two-worker cluster that is already running (the work alone).

Run: python bench/bench_settlement.py [--receipts N] [--files N] [--json]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

from tokenfed.engine import run
from tokenfed.keys import KeyValidity, generate_key
from tokenfed.ledger import SqliteLedger
from tokenfed.receipts import ReceiptIssuer, ReceiptTracker, ReceiptVerifier, VerifierConfig
from tokenfed.settlement import build_statement
from tokenfed.trust import TrustStore
from tokenfed.units import RateCard

T0 = 1767225600
DAY = 86400
ISS = "https://provider.example"
AUDS = [f"https://home{i}.example" for i in range(4)]
SUB = "Zk9xW2cLm3P8qRsT"
CARD = {
    "iss": ISS,
    "rate_card_id": "bench-card",
    "ver": "1.0",
    "iat": T0,
    "nbf": T0,
    "exp": T0 + 365 * DAY,
    "unit": "UTU",
    "models": {
        "qwen-max": {"weights": {"input": "0.0016", "output": "0.0064"}},
        "deepseek-r1": {"weights": {"input": "0.004", "output": "0.016"}},
    },
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--receipts", type=int, default=8000)
    parser.add_argument("--files", type=int, default=8)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    key = generate_key()
    trust_json = {
        "ver": "1.0",
        "issuers": {ISS: {"jwks": {"keys": [key.public_key(KeyValidity(nbf=T0 - DAY)).to_jwk()]}}},
    }
    trust = TrustStore.from_json(trust_json)
    card_token = RateCard.sign(CARD, key)
    card = RateCard.from_jws(card_token, trust)
    issuer = ReceiptIssuer(key, ISS, card)
    tokens = [  # one JWS per receipt, four streams
        issuer.issue(
            aud=AUDS[i % len(AUDS)],
            sub=SUB,
            usage={"model": ("qwen-max", "deepseek-r1")[i % 2], "meters": {"input": 900 + i}},
            jti=f"r{i}",
            iat=T0 + i,
        )
        for i in range(args.receipts)
    ]
    now = T0 + 40 * DAY
    verifier = ReceiptVerifier(trust, [card], clock=lambda: now)
    figures: dict[str, Any] = {"receipts": len(tokens), "files": args.files}

    started = time.perf_counter()
    verified = [verifier.verify(token) for token in tokens]
    single = len(tokens) / (time.perf_counter() - started)
    figures["single_verify_per_s"] = round(single)

    with tempfile.TemporaryDirectory() as folder:
        ledger = SqliteLedger(Path(folder) / "ledger.db")
        with ReceiptTracker(ledger).transaction() as tx:
            for receipt in verified:
                tx.track(receipt)
        started = time.perf_counter()
        rows = 0
        for aud in AUDS:
            draft = build_statement(
                ledger,
                payee=ISS,
                payer=aud,
                period=(T0, T0 + 31 * DAY),
                statement_id="bench",
                seq=1,
                iat=now,
            )
            rows += draft.claims["totals"]["count"]
        figures["statement_rows_per_s"] = round(rows / (time.perf_counter() - started))
        ledger.close()

        paths = []
        for index in range(args.files):
            path = Path(folder) / f"part-{index:03d}.jsonl"
            path.write_text("".join(t + "\n" for t in tokens[index :: args.files]), "utf-8")
            paths.append(str(path))
        config = VerifierConfig(trust=trust_json, rate_cards=(card_token,), now=now)
        period = (T0, T0 + 31 * DAY)
        started = time.perf_counter()
        serial = run(paths, config, period=period, iat=now, workers=1)
        serial_rate = len(tokens) / (time.perf_counter() - started)
        started = time.perf_counter()
        cluster = run(paths, config, period=period, iat=now, workers=2)
        cluster_rate = len(tokens) / (time.perf_counter() - started)
        assert serial.drafts.keys() == cluster.drafts.keys()
        assert all(serial.drafts[k].claims == cluster.drafts[k].claims for k in serial.drafts)
        # The same on a cluster that is already running (a partner's standing cluster): the
        # throughput of the work itself, without the start of two worker processes.
        from dask.distributed import LocalCluster

        with LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as standing:
            run(paths[:1], config, period=period, iat=now, scheduler=standing.scheduler_address)
            started = time.perf_counter()
            warm = run(paths, config, period=period, iat=now, scheduler=standing.scheduler_address)
            warm_rate = len(tokens) / (time.perf_counter() - started)
        assert all(serial.drafts[k].claims == warm.drafts[k].claims for k in serial.drafts)
    figures["serial_run_per_s"] = round(serial_rate)
    figures["cluster2_run_per_s"] = round(cluster_rate)
    figures["serial_vs_single_verify"] = round(serial_rate / single, 2)
    figures["cluster2_vs_serial"] = round(cluster_rate / serial_rate, 2)
    figures["standing_cluster2_run_per_s"] = round(warm_rate)
    figures["standing_cluster2_vs_serial"] = round(warm_rate / serial_rate, 2)
    if args.json:
        print(json.dumps(figures))
    else:
        for name, value in figures.items():
            print(f"{name:28} {value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
