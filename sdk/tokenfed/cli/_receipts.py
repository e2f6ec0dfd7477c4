"""Commands of the receipts chapter: issue, verify (one receipt or a file), inspect."""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

from .. import _json, jws
from .._b64 import b64decode
from .._files import VerifierConfig, verify_file
from ..errors import MalformedError, error_class
from ..keys import KeyValidity
from ..ledger import SqliteLedger, SqliteStreamStore
from ..receipts import ReceiptIssuer, TrustStore
from ..units import RateCard, parse_usage
from ._io import (
    emit,
    read_bytes,
    read_json,
    read_private_key,
    read_public_key,
    read_text,
    write_atomic,
)

__all__ = ["receipt_inspect", "receipt_issue", "receipt_verify", "trust_add", "trust_revoke"]


def receipt_issue(args: argparse.Namespace) -> int:
    """``tokenfed receipt issue``: price a usage and print a signed receipt."""
    key = read_private_key(args.key)
    card = RateCard.parse(read_text(args.rate_card))
    usage = parse_usage(read_json(args.usage))
    store = SqliteStreamStore(args.state) if args.state else None
    try:
        issuer = ReceiptIssuer(key, args.iss, card, store=store)
        print(
            issuer.issue(
                aud=args.aud,
                sub=args.sub,
                usage=usage,
                jti=args.jti,
                entitlement=args.entitlement,
                iat=args.iat,
            )
        )
    finally:
        if store is not None:
            store.close()
    return 0


def _is_file_of_receipts(path: str, text: str) -> bool:
    return path.endswith(".jsonl") or len([line for line in text.splitlines() if line]) > 1


def receipt_verify(args: argparse.Namespace) -> int:
    """``tokenfed receipt verify``: one receipt (prints its claims) or a JSONL file (summary)."""
    config = VerifierConfig(
        trust=read_json(args.trust),
        rate_cards=tuple(read_text(path) for path in args.rate_card),
        now=int(time.time()) if args.at is None else args.at,
    )
    ledger = SqliteLedger(args.ledger) if args.ledger else None
    try:
        if args.receipt != "-" and args.receipt.endswith(".jsonl"):
            return _verify_file(args, args.receipt, config, ledger)
        text = read_bytes(args.receipt).decode("utf-8", "replace")
        if _is_file_of_receipts(args.receipt, text):
            with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False) as spool:
                spool.write(text)
            try:
                return _verify_file(args, spool.name, config, ledger)
            finally:
                Path(spool.name).unlink()
        verifier = config.build(ledger, track=ledger is not None)
        emit(verifier.verify(text.strip()).claims)
        return 0
    finally:
        if ledger is not None:
            ledger.close()


def _verify_file(
    args: argparse.Namespace, path: str, config: VerifierConfig, ledger: SqliteLedger | None
) -> int:
    results = args.results or (
        "receipt-results.jsonl" if args.receipt == "-" else f"{args.receipt}.results.jsonl"
    )
    summary = verify_file(path, results, config, ledger=ledger, workers=args.workers)
    report = summary.to_json()
    report["results"] = str(results)
    emit(report)
    if summary.rejected:
        first = summary.first_error or {}
        code = str(first.get("error", "internal_error"))
        error = error_class(code)(
            f"{summary.rejected} of {summary.lines} receipts rejected; first at line "
            f"{first.get('line')}: {first.get('message')} (results in {results})"
        )
        raise error
    return 0


def receipt_inspect(args: argparse.Namespace) -> int:
    """``tokenfed receipt inspect``: decode a receipt or batched receipt WITHOUT verifying it."""
    text = read_text(args.receipt)
    report: dict[str, Any] = {"verified": False}
    if text.startswith("{"):
        item = _json.loads(text)
        if not isinstance(item, dict) or not isinstance(item.get("claims"), str):
            raise MalformedError("a batched receipt is a JSON object with a claims string")
        report["claims"] = _json.loads(b64decode(item["claims"], what="claims"))
        report["leaf_index"] = item.get("leaf_index")
        report["audit_path"] = item.get("audit_path")
        batch = jws.decode(str(item.get("batch", "")), jws.TYP_RECEIPT_BATCH)
        report["batch"] = {"header": batch.header, "claims": batch.claims}
    else:
        decoded = jws.decode(text, jws.TYP_RECEIPT)
        report.update(header=decoded.header, claims=decoded.claims)
    emit(report)
    return 0


def _trust_store(path: str) -> TrustStore:
    if not Path(path).exists():
        return TrustStore({})
    return TrustStore.from_json(read_json(path))


def _save_trust(path: str, store: TrustStore) -> None:
    text = json.dumps(store.to_json(), indent=2, ensure_ascii=False) + "\n"
    write_atomic(path, text, overwrite=True, mode=0o644)


def trust_add(args: argparse.Namespace) -> int:
    """``tokenfed trust add``: trust a public key for an issuer from ``--nbf`` (REC-030)."""
    key = read_public_key(args.key).with_validity(KeyValidity(nbf=args.nbf, exp=args.exp))
    store = _trust_store(args.trust).with_key(args.iss, key)
    _save_trust(args.trust, store)
    emit(key.to_jwk())
    return 0


def trust_revoke(args: argparse.Namespace) -> int:
    """``tokenfed trust revoke``: revoke an issuer's key from ``--at`` on (REC-031)."""
    store = _trust_store(args.trust).with_revocation(args.iss, args.kid, args.at, args.reason)
    _save_trust(args.trust, store)
    emit(store.key(args.iss, args.kid).to_jwk())
    return 0
