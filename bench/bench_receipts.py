"""Receipt verification throughput, as ratios against raw Ed25519 verification in the same round.

Baseline (1.00x): ``cryptography``'s Ed25519 verify of each receipt's exact signing input.
Compared in the same rounds: raw PyNaCl (libsodium) verify of the same inputs; PyJWT and
joserfc decode of the same tokens; the SDK's single-receipt verification (REC-040 steps 1-11,
and 12-13 in an in-memory tracker); batched receipts verified one by one with their proofs
(REC-062, one signature per batch); whole-batch verification (REC-064); and
``tokenfed receipt verify`` of a JSONL file with 2 workers and ``--ledger`` (a fresh SQLite
ledger each round), whose rate is divided by the raw single-core verify rate of its round.

Rounds are interleaved: each round runs every measure once (in a rotated order), each right
after and right before a run of the baseline, and divides it by the mean of those two baseline
runs, so a machine whose load changes moves both. The table shows the median ratio over the
rounds and its range. Peak RSS of the command line is measured once per file length (10k and
100k lines by default): it must stay flat in the file's length. The command line runs from the
SDK's bytecode, compiled first where it is missing or stale, as an installed wheel has it
(``make bytecode``): without it every run would compile the SDK's sources again where
``PYTHONDONTWRITEBYTECODE`` is set, about 0.1 s of start-up.

Run: make bench   (or: python bench/bench_receipts.py [--rounds N] [--receipts N] [--json]
[--only cli --rss-lines ''] for the command line alone beside its baseline)
"""

from __future__ import annotations

import argparse
import base64
import compileall
import hashlib
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cryptography
import jwt
import nacl
import orjson
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from joserfc import jwt as joserfc_jwt
from joserfc.jwk import OKPKey
from nacl.bindings import crypto_sign_open

import tokenfed
from tokenfed import _hot
from tokenfed.keys import KeyValidity, PrivateKey, generate_key
from tokenfed.receipts import (
    ReceiptIssuer,
    ReceiptRequest,
    ReceiptTracker,
    ReceiptVerifier,
    _verifier,
)
from tokenfed.trust import TrustStore
from tokenfed.units import RateCard

# joserfc warns that RFC 9864 deprecates the name "EdDSA" (in favour of "Ed25519"); the
# tokenfed specification registers "EdDSA" (CONV-042), so the baseline uses it.
warnings.filterwarnings("ignore", message="EdDSA is deprecated")

T0 = 1767225600
NOW = T0 + 3600
ISS = "https://provider.example"
AUD = "https://home.example"
SUB = "Zk9xW2cLm3P8qRsT"
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

# (name, label, target ratio or None, target text)
MEASURES: list[tuple[str, str, float | None, str]] = [
    ("raw_cryptography", "raw `cryptography` Ed25519 verify (baseline)", None, ""),
    ("raw_pynacl", "raw PyNaCl (libsodium) verify", None, ""),
    ("pyjwt", "PyJWT decode", None, ""),
    ("joserfc", "joserfc decode", None, ""),
    ("single", "SDK single receipt, all steps", 1.2, ">= 1.2x (stretch 1.5x)"),
    ("batched", "SDK batched, per receipt with proof", 6.0, ">= 6x (stretch 10x)"),
    ("whole_batch", "SDK whole batch", 10.0, ">= 10x"),
    ("cli", "`tokenfed receipt verify` JSONL, 2 workers, --ledger", 1.6, ">= 1.6x"),
]


def _usage(i: int) -> dict[str, Any]:
    return {
        "model": "qwen-max",
        "meters": {"input": 1000 + i % 997, "cache_read": i % 331, "output": 200 + i % 613},
    }


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def write_receipt_file(path: Path, key: PrivateKey, card: RateCard, lines: int) -> None:
    """A JSONL file of ``lines`` distinct receipts of one stream, chained (REC-007).

    Written with the issuer's pricing but a lean signing loop (the issuer's durable stream store
    is not what is measured): payloads are the JCS bytes of the claims, which for these ASCII
    claims are orjson's sorted compact bytes.
    """
    header = _b64(
        json.dumps(
            {"alg": "EdDSA", "kid": key.kid, "typ": "tokenfed-receipt+jwt"},
            separators=(",", ":"),
            sort_keys=True,
        ).encode()
    )
    ref = {"id": card.id, "digest": card.digest}
    prev: str | None = None
    with path.open("wb") as out:
        for i in range(lines):
            usage = _usage(i)
            claims: dict[str, Any] = {
                "iss": ISS, "aud": AUD, "sub": SUB, "jti": f"f{i}", "iat": NOW - 60, "ver": "1.0",
                "usage": usage, "unit": "UTU", "rate_card": ref, "seq": i + 1,
                "amount": str(card.amount_of(usage["model"], usage["meters"])),
            }  # fmt: skip
            if prev is not None:
                claims["prev"] = prev
            payload = orjson.dumps(claims, option=orjson.OPT_SORT_KEYS)
            signing_input = f"{header}.{_b64(payload)}".encode("ascii")
            out.write(signing_input + b"." + _b64(key.sign(signing_input)).encode() + b"\n")
            prev = "sha256:" + hashlib.sha256(payload).hexdigest()


_CLI_CPU: list[float] = []  # CPU seconds of each run of the command line


def _run_cli(folder: Path, source: Path, workers: int = 2) -> tuple[float, int, dict[str, Any]]:
    """Run ``tokenfed receipt verify`` on ``source``: (seconds, peak RSS in KiB, summary)."""
    ledger = folder / "ledger.db"
    results = folder / "results.jsonl"
    for stale in folder.glob("ledger.db*"):
        stale.unlink()
    command = [
        sys.executable, "-m", "tokenfed.cli", "receipt", "verify", str(source),
        "--trust", str(folder / "trust.json"), "--rate-card", str(folder / "card.jws"),
        "--ledger", str(ledger), "--results", str(results), "--workers", str(workers),
        "--at", str(NOW),
    ]  # fmt: skip
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert process.stdout is not None
    assert process.stderr is not None
    out = process.stdout.read()
    err = process.stderr.read()
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"tokenfed receipt verify failed: {err.decode(errors='replace')}")
    summary: dict[str, Any] = json.loads(out)
    # CPU of the command and of its workers (reaped by it, so counted in its usage).
    _CLI_CPU.append(usage.ru_utime + usage.ru_stime)
    return elapsed, usage.ru_maxrss, summary


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--receipts", type=int, default=2000)
    parser.add_argument("--batch", type=int, default=1024, help="receipts per Merkle batch")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds (>= 5)")
    parser.add_argument("--cli-lines", type=int, default=20000, help="0 skips the CLI measure")
    parser.add_argument("--rss-lines", default="10000,100000", help="'' skips the RSS measure")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument(
        "--only",
        default="",
        metavar="NAME,...",
        help="run only these measures beside the baseline: "
        + ", ".join(name for name, *_ in MEASURES[1:]),
    )
    parser.add_argument(
        "--hot",
        choices=["auto", "pure", "off"],
        default="auto",
        help="the hot module of batched and JWS receipts (ADR 0010): the compiled build when "
        "there is a current one (auto), its pure-Python source, or none (the reference path "
        "alone)",
    )
    args = parser.parse_args()
    only = {name.strip() for name in args.only.split(",") if name.strip()}
    unknown = only - {name for name, *_ in MEASURES}
    if unknown:
        parser.error(f"unknown measure(s) for --only: {', '.join(sorted(unknown))}")
    if args.hot != "auto":
        _verifier._hot = _hot if args.hot == "pure" else None
    hot_in_use = "off" if _verifier._hot is None else _verifier._hot.__name__

    key = generate_key("EdDSA")
    trust_doc = {
        "ver": "1.0",
        "issuers": {ISS: {"jwks": {"keys": [key.public_key(KeyValidity(nbf=T0)).to_jwk()]}}},
    }
    trust = TrustStore.from_json(trust_doc)
    card_jws = RateCard.sign(CARD, key)
    card = RateCard.from_jws(card_jws, trust)
    clock = lambda: NOW  # noqa: E731
    issuer = ReceiptIssuer(key, ISS, card, clock=clock)
    tokens = [
        issuer.issue(aud=AUD, sub=SUB, usage=_usage(i), jti=f"r{i}") for i in range(args.receipts)
    ]
    batch_issuer = ReceiptIssuer(key, ISS, card, clock=clock)
    batched: list[dict[str, Any]] = []
    for start in range(0, args.receipts, args.batch):
        requests = [
            ReceiptRequest(aud=AUD, sub=SUB, usage=_usage(i), jti=f"b{i}")
            for i in range(start, min(start + args.batch, args.receipts))
        ]
        batched.extend(batch_issuer.issue_batch(requests))
    # Batched receipts as a file line holds them: compact JSON, one object per line.
    batched_text = [json.dumps(item, separators=(",", ":")) for item in batched]
    batches: dict[str, list[bytes]] = {}
    for item in batched:
        batches.setdefault(item["batch"], []).append(
            base64.urlsafe_b64decode(item["claims"] + "=" * (-len(item["claims"]) % 4))
        )

    raw_public = base64.urlsafe_b64decode(key.public_key().to_jwk()["x"] + "=")
    raw_key = Ed25519PublicKey.from_public_bytes(raw_public)
    joserfc_key = OKPKey.import_key(key.public_key().to_jwk(with_validity=False))
    split = []
    for token in tokens:
        head, payload, sig = token.split(".")
        split.append(((head + "." + payload).encode(), base64.urlsafe_b64decode(sig + "==")))

    def raw_cryptography() -> int:
        for signing_input, signature in split:
            raw_key.verify(signature, signing_input)
        return len(split)

    def raw_pynacl() -> int:
        for signing_input, signature in split:
            crypto_sign_open(signature + signing_input, raw_public)
        return len(split)

    def pyjwt() -> int:
        for token in tokens:
            jwt.decode(token, raw_key, algorithms=["EdDSA"], options={"verify_aud": False})
        return len(tokens)

    def joserfc() -> int:
        for token in tokens:
            joserfc_jwt.decode(token, joserfc_key, algorithms=["EdDSA"])
        return len(tokens)

    def single() -> int:
        verifier = ReceiptVerifier(trust, [card], clock=clock)
        with ReceiptTracker().transaction() as tx:
            for token in tokens:
                tx.track(verifier.verify(token))
        return len(tokens)

    def batched_one_by_one() -> int:
        verifier = ReceiptVerifier(trust, [card], clock=clock)
        with ReceiptTracker().transaction() as tx:
            for text in batched_text:
                tx.track(verifier.verify(text))
        return len(batched_text)

    def whole_batch() -> int:
        verifier = ReceiptVerifier(trust, [card], clock=clock)
        count = 0
        for statement, leaves in batches.items():
            for result in verifier.verify_batch(statement, leaves):
                assert not isinstance(result, Exception), result
            count += len(leaves)
        return count

    runs: dict[str, Callable[[], int]] = {
        "raw_cryptography": raw_cryptography,
        "raw_pynacl": raw_pynacl,
        "pyjwt": pyjwt,
        "joserfc": joserfc,
        "single": single,
        "batched": batched_one_by_one,
        "whole_batch": whole_batch,
    }
    if only:
        runs = {
            name: run for name, run in runs.items() if name in only or name == "raw_cryptography"
        }
    # Sanity: every path accepts every receipt before it is timed.
    for run in runs.values():
        run()

    with tempfile.TemporaryDirectory(prefix="tokenfed-bench-") as scratch:
        folder = Path(scratch)
        (folder / "trust.json").write_text(json.dumps(trust_doc), encoding="utf-8")
        (folder / "card.jws").write_text(card_jws, encoding="ascii")
        cli_file = folder / "receipts.jsonl"
        if (args.cli_lines or args.rss_lines) and (not only or "cli" in only):
            compileall.compile_dir(Path(tokenfed.__file__).parent, quiet=1)
        if args.cli_lines and (not only or "cli" in only):
            write_receipt_file(cli_file, key, card, args.cli_lines)
            _, _, summary = _run_cli(folder, cli_file)
            assert summary["accepted"] == args.cli_lines, summary
            _CLI_CPU.clear()

            def cli() -> int:  # timed whole: process start, workers, ledger, results file
                _, _, summary = _run_cli(folder, cli_file)
                assert summary["accepted"] == args.cli_lines, summary
                return args.cli_lines

            runs["cli"] = cli

        ratios: dict[str, list[float]] = {name: [] for name in runs}
        rates: dict[str, list[float]] = {name: [] for name in runs}
        names = [name for name in runs if name != "raw_cryptography"]
        for round_number in range(args.rounds):
            shift = round_number % len(names) if names else 0
            order = names[shift:] + names[:shift]
            # The baseline runs right before and right after each measure, and the measure is
            # divided by the mean of the two: a machine whose load changes moves both.
            before = _rate(raw_cryptography)
            baselines = [before]
            for name in order:
                rate = _rate(runs[name])
                after = _rate(raw_cryptography)
                baselines.append(after)
                rates[name].append(rate)
                ratios[name].append(rate / ((before + after) / 2))
                before = after
            rates["raw_cryptography"].append(statistics.median(baselines))
            ratios["raw_cryptography"].append(1.0)

        cli_cpu = list(_CLI_CPU)
        rss: dict[int, int] = {}
        for lines in [int(n) for n in args.rss_lines.split(",") if n.strip()]:
            path = folder / f"rss-{lines}.jsonl"
            write_receipt_file(path, key, card, lines)
            _, peak, summary = _run_cli(folder, path)
            assert summary["accepted"] == lines, summary
            rss[lines] = peak
            path.unlink()

    rows = []
    for name, label, target, target_text in MEASURES:
        if name not in ratios:
            continue
        values = ratios[name]
        median = statistics.median(values)
        verdict = ""
        if target is not None:
            verdict = ("met" if median >= target else "MISSED") + f" ({target_text})"
        rows.append(
            {
                "name": name,
                "measure": label,
                "ops_per_s": round(statistics.median(rates[name])),
                "ratio_median": round(median, 2),
                "ratio_min": round(min(values), 2),
                "ratio_max": round(max(values), 2),
                "target": verdict,
            }
        )
    info = {
        "python": platform.python_version(),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "cryptography": cryptography.__version__,
        "pynacl": nacl.__version__,
        "orjson": orjson.__version__,
        "hot_module": hot_in_use,
        "receipts": args.receipts,
        "batch": args.batch,
        "rounds": args.rounds,
        "cli_lines": args.cli_lines,
    }
    if args.json:
        print(
            json.dumps(
                {**info, "results": rows, "peak_rss_kib": rss, "cli_cpu_seconds": cli_cpu},
                indent=2,
            )
        )
        return 0
    print(", ".join(f"{k}={v}" for k, v in info.items()))
    print("| measure | ops/s (median) | x raw verify: median (range) | target |")
    print("|---|---:|---:|---|")
    for row in rows:
        print(
            f"| {row['measure']} | {row['ops_per_s']:,} | {row['ratio_median']:.2f}x "
            f"({row['ratio_min']:.2f}-{row['ratio_max']:.2f}) | {row['target']} |"
        )
    if cli_cpu:
        print(
            f"CPU of `tokenfed receipt verify` (all its processes) per run: median "
            f"{statistics.median(cli_cpu):.2f} s ({min(cli_cpu):.2f}-{max(cli_cpu):.2f}), "
            f"{len(cli_cpu)} runs"
        )
    for lines, peak in rss.items():
        print(f"peak RSS of `tokenfed receipt verify`, {lines:,} lines: {peak / 1024:.0f} MiB")
    return 0


def _rate(run: Callable[[], int], min_seconds: float = 0.5) -> float:
    """Operations per second of back-to-back runs lasting at least ``min_seconds`` (one run of
    the command line is longer), so that one burst of another process weighs less."""
    start = time.perf_counter()
    count = 0
    while True:
        count += run()
        elapsed = time.perf_counter() - start
        if elapsed >= min_seconds:
            return count / elapsed


if __name__ == "__main__":
    raise SystemExit(main())
