"""Settlement throughput, as ratios measured in one run.

1. Statements from an already-verified ledger of ``--statement-rows`` rows (default 200,000,
   four payers): ledger rows per second through ``build_statement`` (lines added up by
   SQLite, the Merkle root from the stored leaf hashes), the median of ``--repeat`` rounds
   (default 5) with its range, and its ratio to the row path measured in the same rounds.
2. Bulk verify-and-settle (``tokenfed.engine.run``) serially, against the single-receipt verify
   rate of the same receipts (``ReceiptVerifier.verify`` in a loop): settlement's overhead.
3. The same run on a two-worker Dask LocalCluster, against the serial run (cluster start
   included), and on a two-worker cluster that is already running (the work alone).

Run: python bench/bench_settlement.py [--receipts N] [--files N] [--statement-rows N]
     [--repeat N] [--json]
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
from tokenfed.receipts import (
    ReceiptIssuer,
    ReceiptTracker,
    ReceiptVerifier,
    VerifiedReceipt,
    VerifierConfig,
)
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


def _statement_measure(
    path: Path,
    verified: list[VerifiedReceipt],
    tokens: list[str],
    card: RateCard,
    args: argparse.Namespace,
) -> dict[str, Any]:
    """Measure 1: statements of four payers from a ledger of ``--statement-rows`` verified
    rows, as rows per second: the median of ``--repeat`` rounds and its range. The verified
    receipts are recorded by the tracker; the rest of the rows are recorded directly as ledger
    entries (each holding one of the signed receipts). Each round also builds the same
    statements through the row path (Python reads every row), the baseline of the ratio."""
    from decimal import Decimal
    from hashlib import sha256
    from statistics import median

    from tokenfed.ledger import LedgerEntry
    from tokenfed.settlement._statement import _Summary

    rows = max(args.statement_rows, len(verified))
    with SqliteLedger(path) as ledger:
        with ReceiptTracker(ledger).transaction() as tx:
            for receipt in verified:
                tx.track(receipt)
        ledger.record(
            LedgerEntry(
                iss=ISS,
                jti=f"s{i}",
                aud=AUDS[i % len(AUDS)],
                sub=SUB,
                seq=len(verified) + i // len(AUDS) + 1,
                iat=T0 + i * (30 * DAY) // rows,
                amount=Decimal(1440 + i % 1000).scaleb(-6),
                rate_card_id=card.id,
                content_digest="sha256:" + sha256(b"s%d" % i).hexdigest(),
                receipt_digest="sha256:" + sha256(b"jws s%d" % i).hexdigest(),
                receipt=tokens[i % len(tokens)],
                model=("qwen-max", "deepseek-r1")[i % 2],
                rate_card_digest=card.digest,
            )
            for i in range(rows - len(verified))
        )
        period = (T0, T0 + 31 * DAY)

        def statements() -> int:
            count = 0
            for aud in AUDS:
                draft = build_statement(
                    ledger, payee=ISS, payer=aud, period=period, statement_id="bench", seq=1,
                    iat=T0 + 40 * DAY,
                )  # fmt: skip
                count += draft.claims["totals"]["count"]
            return count

        def row_path() -> int:
            count = 0
            for aud in AUDS:
                summary = _Summary()
                summary.add_rows(ledger.scan_stream(ISS, aud, iat_before=period[1])[1], T0, ())
                summary.tree.root()
                count += summary.count
            return count

        fast: list[float] = []
        ratios: list[float] = []
        for _ in range(args.repeat):
            started = time.perf_counter()
            assert statements() == rows
            fast.append(rows / (time.perf_counter() - started))
            started = time.perf_counter()
            assert row_path() == rows
            ratios.append(fast[-1] / (rows / (time.perf_counter() - started)))
    return {
        "statement_ledger_rows": rows,
        "statement_rows_per_s": round(median(fast)),
        "statement_rows_per_s_range": f"{round(min(fast))}-{round(max(fast))}",
        "statement_vs_row_path": round(median(ratios), 2),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--receipts", type=int, default=8000)
    parser.add_argument("--files", type=int, default=8)
    parser.add_argument("--statement-rows", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=5)
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
        ledger_path = Path(folder) / "ledger.db"
        figures.update(_statement_measure(ledger_path, verified, tokens, card, args))

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
