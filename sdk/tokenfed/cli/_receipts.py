"""Commands of the receipts chapter: issue, verify (one receipt or a file), inspect; trust."""

from __future__ import annotations

import argparse
import gc
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from .. import _json, hazmat
from .._b64 import b64decode
from .._jws import TYP_RECEIPT, TYP_RECEIPT_BATCH
from ..errors import InvalidArgumentsError, IoError, MalformedError, error_class
from ..keys import KeyValidity
from ..ledger import SqliteLedger, SqliteStreamStore
from ..receipts import MAX_LINE_BYTES, ReceiptTracker, VerifierConfig, verify_file
from ..receipts._files import check_output_path
from ..trust import TrustStore
from ._federation import anchors_from_args, origin_map_from_args
from ._io import (
    emit,
    read_bytes,
    read_json,
    read_private_key,
    read_public_key,
    read_token,
    write_atomic,
)

__all__ = [
    "receipt_inspect",
    "receipt_issue",
    "receipt_verify",
    "trust_add",
    "trust_list",
    "trust_revoke",
    "trust_rotate",
]


def receipt_issue(args: argparse.Namespace) -> int:
    """``tokenfed receipt issue``: price a usage and print a signed receipt."""
    # The issuer, the rate card's command-line reading and the usage's parser bring the claims
    # models, which verifying never needs: imported here, not with the module.
    from ..receipts import ReceiptIssuer
    from ..units import parse_usage
    from ._foundation import read_rate_card

    key = read_private_key(args.key)
    card = read_rate_card(args.rate_card, args)
    usage = parse_usage(read_json(args.usage))
    store = SqliteStreamStore(args.state)
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
        store.close()
    return 0


def _one_receipt(path: str) -> bytes | None:
    """The receipt if the file holds exactly one line (not over the line limit) that is not
    blank, else ``None``: the file is then verified as a receipt file (REC-070), where an empty
    file has no lines and verifies."""
    try:
        with open(path, "rb") as handle:
            first = handle.readline(MAX_LINE_BYTES + 2)
            rest = handle.read(MAX_LINE_BYTES)
    except OSError as exc:
        raise IoError(f"cannot read {path}: {exc.strerror or exc}") from exc
    receipt = first.strip(b" \t\r\n")
    if len(first) > MAX_LINE_BYTES + 1 or rest.strip() or not receipt:
        return None
    return receipt


def receipt_verify(args: argparse.Namespace) -> int:
    """``tokenfed receipt verify``: one receipt (prints its claims) or a JSONL file (summary).

    Keys come from the trust store (``--trust``) or from the federation (``--anchor`` with
    ``--anchor-keys``); then the printed claims of one receipt come with ``trust_anchor`` and
    ``trust_path``.
    """
    federation = None
    if args.anchor or args.anchor_keys:
        if args.trust:
            raise InvalidArgumentsError("give either --trust or --anchor/--anchor-keys, not both")
        federation = {
            "anchors": [
                {"entity_id": anchor.entity_id, "jwks": anchor.jwks.to_jwks()}
                for anchor in anchors_from_args(args)
            ],
            "origin_map": origin_map_from_args(args),
        }
    elif not args.trust:
        raise InvalidArgumentsError("give --trust TRUST.json or --anchor ID --anchor-keys JWKS")
    elif args.loopback_origin:
        raise InvalidArgumentsError("--loopback-origin is for federation mode (--anchor)")
    config = VerifierConfig(
        trust=None if federation else read_json(args.trust),
        rate_cards=tuple(read_token(path) for path in args.rate_card),
        now=int(time.time()) if args.at is None else args.at,
        federation=federation,
    )
    with tempfile.TemporaryDirectory(prefix="tokenfed-") as scratch:
        source = args.receipt
        if source == "-":  # spool standard input to disk: never held whole in memory
            source = os.path.join(scratch, "stdin.jsonl")
            with open(source, "wb") as spool:
                shutil.copyfileobj(sys.stdin.buffer, spool)
        single = None if args.receipt.endswith(".jsonl") else _one_receipt(source)
        if single is None or args.results or args.summary:
            return _verify_file(args, source, config)
        verifier = config.build()
        verified = verifier.verify(single)
        if args.ledger:
            with (
                SqliteLedger(args.ledger) as ledger,
                ReceiptTracker(ledger).transaction() as tx,
            ):
                verified = tx.track(verified)
        body: dict[str, Any] = dict(verified.raw)
        if verified.duplicate:
            body = {"duplicate": True, "claims": body}
        if verified.origin is not None:
            body = {
                "claims": body.get("claims", body),
                **({"duplicate": True} if verified.duplicate else {}),
                "trust_anchor": verified.trust_anchor,
                "trust_path": list(verified.origin.path),
            }
        emit(body)
        return 0


def _verify_file(args: argparse.Namespace, path: str, config: VerifierConfig) -> int:
    results = args.results or (
        "receipt-results.jsonl" if args.receipt == "-" else f"{args.receipt}.results.jsonl"
    )
    protected = [args.receipt, *([args.trust] if args.trust else []), *args.rate_card]
    if args.ledger:
        protected.append(args.ledger)
    check_output_path(results, protected)
    ledger = SqliteLedger(args.ledger) if args.ledger else None
    # The objects that exist now (the SDK, the parsers, the verifier's caches) live as long as
    # the command: kept out of the garbage collector's full collections, in this process and in
    # the workers forked from it, which then do not copy the pages they are on either. The
    # command does this, not verify_file: a library call leaves the collector's state alone.
    gc.freeze()
    try:
        summary = verify_file(
            path, results, config, ledger=ledger, workers=args.workers, protected=protected
        )
    finally:
        gc.unfreeze()
        if ledger is not None:
            ledger.close()
    report = summary.to_json(totals=args.summary)
    report["results"] = str(results)
    emit(report)
    if summary.rejected:
        first = summary.first_error or {}
        code = str(first.get("error", "internal_error"))
        raise error_class(code)(
            f"{summary.rejected} of {summary.lines} receipts rejected; first at line "
            f"{first.get('line')}: {first.get('message')} (results in {results})"
        )
    return 0


def receipt_inspect(args: argparse.Namespace) -> int:
    """``tokenfed receipt inspect``: decode a receipt or batched receipt WITHOUT verifying it."""
    data = read_bytes(args.receipt).strip(b" \t\r\n")
    report: dict[str, Any] = {"verified": False}
    if data.startswith(b"{"):
        item = _json.loads(data)
        if not isinstance(item, dict) or not isinstance(item.get("claims"), str):
            raise MalformedError("a batched receipt is a JSON object with a claims string")
        report["claims"] = _json.loads(b64decode(item["claims"], what="claims"))
        report["leaf_index"] = item.get("leaf_index")
        report["audit_path"] = item.get("audit_path")
        batch = hazmat.decode_unverified(str(item.get("batch", "")), TYP_RECEIPT_BATCH)
        report["batch"] = {"header": batch.header, "claims": batch.claims}
    else:
        decoded = hazmat.decode_unverified(data, TYP_RECEIPT)
        report.update(header=decoded.header, claims=decoded.claims)
    emit(report)
    return 0


def _trust_store(path: str, *, create: bool = False) -> TrustStore:
    if create and not Path(path).exists():
        return TrustStore({})
    return TrustStore.from_json(read_json(path))


def _save_trust(path: str, store: TrustStore) -> None:
    """Write the trust store, once the text about to be written reads back as a trust store
    (REC-034): a store that no verifier could load is never written."""
    text = json.dumps(store.to_json(), indent=2, ensure_ascii=False) + "\n"
    TrustStore.from_json(_json.loads(text.encode("utf-8", "surrogatepass")))
    write_atomic(path, text, overwrite=True, mode=0o644)


def trust_add(args: argparse.Namespace) -> int:
    """``tokenfed trust add``: trust a public key for an issuer from ``--nbf`` (REC-030)."""
    key = read_public_key(args.key).with_validity(KeyValidity(nbf=args.nbf, exp=args.exp))
    store = _trust_store(args.trust, create=True).with_key(args.iss, key)
    _save_trust(args.trust, store)
    emit(key.to_jwk())
    return 0


def trust_rotate(args: argparse.Namespace) -> int:
    """``tokenfed trust rotate``: end a key's signing window at ``--exp`` (REC-030, REC-032)."""
    store = _trust_store(args.trust).with_expiry(args.iss, args.kid, args.exp)
    _save_trust(args.trust, store)
    emit(store.key(args.iss, args.kid).to_jwk())
    return 0


def trust_revoke(args: argparse.Namespace) -> int:
    """``tokenfed trust revoke``: revoke an issuer's key from ``--at`` on (REC-031)."""
    store = _trust_store(args.trust).with_revocation(args.iss, args.kid, args.at, args.reason)
    _save_trust(args.trust, store)
    emit(store.key(args.iss, args.kid).to_jwk())
    return 0


def trust_list(args: argparse.Namespace) -> int:
    """``tokenfed trust list``: every trusted key with its issuer and validity window."""
    store = _trust_store(args.trust)
    at = int(time.time()) if args.at is None else args.at
    emit(
        [
            {
                "iss": iss,
                "kid": key.kid,
                "alg": key.alg,
                **key.validity.to_members(),
                "valid_at": at,
                "valid": key.validity.is_valid_at(at),
            }
            for iss, key in store.entries()
        ]
    )
    return 0
