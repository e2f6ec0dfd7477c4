#!/usr/bin/env python3
"""The conformance adapter of the tokenfed reference SDK (adapter protocol 1, PROTOCOL.md).

    python conformance/adapters/tokenfed_adapter.py [--fault NAME] info | OP CASE.json |
        batch CASES.jsonl RESULTS.jsonl
    python conformance/adapters/tokenfed_adapter.py faults   # the faults and their seams

This program imports ``tokenfed``; it is not part of the suite. Each operation calls the SDK in
one function (``op_*``), so a change of the SDK's API touches one place per operation.

With ``--fault NAME`` the adapter injects one named deviation, the kind a careless implementer
could make, at the seam given in ``FAULTS``. The suite's own tests run it to prove that every
such deviation fails at least one conformance test.

Receipts are verified with the SDK's stateless ``ReceiptVerifier`` (REC-040 steps 1 to 11) and
tracked with its ``ReceiptTracker`` (steps 12 and 13), one transaction per operation; files go
through the SDK's public ``verify_file``.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import sys
import tempfile
import traceback
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import tokenfed
from tokenfed import _json, _jws, federation, hazmat, keys, receipts, settlement, units
from tokenfed._decimal import to_scaled
from tokenfed.entitlements import Entitlement, IssuedEntitlements, Reservations
from tokenfed.entitlements._claims import MICRO
from tokenfed.errors import (
    InternalError,
    InvalidResubmissionError,
    InvalidUsageError,
    MalformedError,
    PeriodNotClosedError,
    TokenfedError,
    TotalsMismatchError,
    UnknownKeyError,
)
from tokenfed.exchange import ExchangeRates
from tokenfed.keys import load_private_jwk, load_public_jwk
from tokenfed.receipts import (
    ReceiptIssuer,
    ReceiptTracker,
    ReceiptVerifier,
    TrackerTransaction,
    VerifiedReceipt,
    VerifierConfig,
    verify_file,
)
from tokenfed.trust import TrustStore
from tokenfed.units import RateCard, parse_usage

PROFILES = [
    "units",
    "documents",
    "receipt-issuer",
    "receipt-verifier",
    "settlement",
    "federation-entity",
    "entitlements",
]
OPERATIONS = [
    "price",
    "convert",
    "adapt",
    "verify-document",
    "issue-receipt",
    "issue-batch",
    "verify-receipt",
    "verify-stream",
    "verify-batch",
    "verify-file",
    "verify-settlement",
    "check-receipt-list",
    "check-history",
    "reconcile",
    "split",
    "net",
    "verify-entitlement",
    "check-usage",
    "check-receipt-entitlement",
    "validate-chain",
    "select-chain",
    "apply-policy",
    "verify-archived-chain",
    "verify-historical-keys",
]

FAULT: str | None = None


# --------------------------------------------------------------------------- documents


def _fetch_jku(header: dict[str, Any]) -> keys.PublicKey:
    # FAULT follows-jku: fetch the JWKS the header points to and trust it. Only data: URLs
    # are followed, so that the fault never reaches the network during tests.
    with urllib.request.urlopen(str(header["jku"]), timeout=5) as answer:  # noqa: S310
        jwks = json.loads(answer.read())
    for jwk in jwks["keys"]:
        if jwk.get("kid") == header.get("kid"):
            return load_public_jwk(jwk)
    raise UnknownKeyError("no key of the jku JWKS has the header's kid")


def _signed_document(
    cls: type[RateCard] | type[ExchangeRates], token: str, trust: TrustStore
) -> Any:
    """Verify a rate card or exchange-rate set with the trust store (UNIT-030, UNIT-031, FX-010);
    unsigned claims are refused with invalid_signature (UNIT-032, FX-011)."""
    if FAULT == "follows-jku" and not token.lstrip().startswith("{"):
        header = hazmat.decode_unverified(token, cls._typ).header
        if str(header.get("jku", "")).startswith("data:"):
            return cls.from_jws(token, _fetch_jku(header))
    if token.lstrip().startswith("{"):
        return cls.parse(token, trust)  # unsigned claims: invalid_signature
    return cls.from_jws(token, trust)  # the token exactly as given (CONV-041)


def _trust(value: Any) -> TrustStore:
    return TrustStore.from_json(value)


# --------------------------------------------------------------------------- units


def op_price(data: dict[str, Any]) -> dict[str, Any]:
    trust = _trust(data["trust"])
    card = _signed_document(RateCard, data["rate_card"], trust)
    usage = parse_usage(data["usage"])
    at = data.get("at")
    if FAULT == "accepts-expired-rate-card":
        at = None  # FAULT: the pricing time is dropped, so validity is never checked
    if FAULT in _PRICING_FAULTS:
        card.price(usage, at=at)  # the SDK's errors first; the amount below is the fault's
        return _faulty_price(card, usage)
    result: dict[str, Any] = card.price(usage, at=at).to_json()
    return result


def op_convert(data: dict[str, Any]) -> dict[str, Any]:
    trust = _trust(data["trust"])
    rates = _signed_document(ExchangeRates, data["rates"], trust)
    conversion = rates.convert(data["amount"], data["from"], data["to"], at=data.get("at"))
    if FAULT == "half-up-rounding":
        return _half_up_conversion(rates, data)
    result: dict[str, Any] = conversion.to_json()
    return result


def op_adapt(data: dict[str, Any]) -> dict[str, Any]:
    vendor, report, model = data["vendor"], data.get("report"), data.get("model")
    if vendor not in units.VENDORS:
        raise InvalidUsageError(f"no adapter for vendor {vendor!r}")
    strict, tier = data.get("strict", True), data.get("service_tier")
    if "stream" in data:
        stream = units.UsageStream(vendor, model=model, strict=strict, service_tier=tier)
        for chunk in data["stream"]:
            stream.feed(chunk)
        usage = stream.usage()
    else:
        usage = units.adapt(vendor, report, model, strict=strict, service_tier=tier)
    result: dict[str, Any] = usage.to_wire()
    return result


def op_verify_document(data: dict[str, Any]) -> dict[str, Any]:
    trust = _trust(data["trust"])
    cls = {"rate-card": RateCard, "exchange-rates": ExchangeRates}[data["kind"]]
    document = _signed_document(cls, data["document"], trust)
    return {"claims": document.raw, "digest": document.digest}


# --------------------------------------------------------------------------- issuing


class _GivenHead:
    """A stream store that starts from the head the suite gives (REC-046 state in a file)."""

    def __init__(self, heads: dict[str, dict[str, Any]]) -> None:
        self._heads = {aud: (head["seq"], head["digest"]) for aud, head in heads.items()}

    def issue(self, iss: str, aud: str, build: Callable[[int, str | None], tuple[str, str]]) -> str:
        head = self._heads.get(aud)
        seq, prev = (1, None) if head is None else (head[0] + 1, head[1])
        receipt, digest = build(seq, prev)
        self._heads[aud] = (seq, digest)
        return receipt

    def issue_many(self, iss: str, requests: Any) -> list[str]:
        return [self.issue(iss, aud, build) for aud, build in requests]

    def head(self, iss: str, aud: str) -> tuple[int, str] | None:
        return self._heads.get(aud)

    def issued(self, iss: str, aud: str, seq: int) -> str | None:
        return None

    def close(self) -> None:
        pass


_P256_N = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


def _high_s(token: str) -> str:
    """FAULT es256-high-s: an ES256 signature in its high-S form (s -> n - s), which CONV-072
    forbids signers to write."""
    if FAULT != "es256-high-s":
        return token
    head, body, sig = token.split(".")
    header = json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)))
    raw = base64.urlsafe_b64decode(sig + "=" * (-len(sig) % 4))
    if header.get("alg") != "ES256" or len(raw) != 64:
        return token
    s = int.from_bytes(raw[32:], "big")
    if s > _P256_N // 2:
        return token
    fixed = raw[:32] + (_P256_N - s).to_bytes(32, "big")
    return f"{head}.{body}." + base64.urlsafe_b64encode(fixed).rstrip(b"=").decode("ascii")


def op_issue_receipt(data: dict[str, Any]) -> dict[str, Any]:
    trust = _trust(data["trust"])
    card = _signed_document(RateCard, data["rate_card"], trust)
    head = data.get("head")
    store = _GivenHead({data["aud"]: head} if head else {})
    issuer = ReceiptIssuer(load_private_jwk(data["key"]), data["iss"], card, store=store)  # type: ignore[arg-type]
    receipt = issuer.issue(
        aud=data["aud"],
        sub=data["sub"],
        usage=data["usage"],
        jti=data["jti"],
        entitlement=data.get("entitlement"),
        iat=data["iat"],
    )
    return {"receipt": _high_s(receipt)}


def op_issue_batch(data: dict[str, Any]) -> dict[str, Any]:
    trust = _trust(data["trust"])
    card = _signed_document(RateCard, data["rate_card"], trust)
    store = _GivenHead(data.get("heads") or {})
    issuer = ReceiptIssuer(load_private_jwk(data["key"]), data["iss"], card, store=store)  # type: ignore[arg-type]
    requests = [
        receipts.ReceiptRequest(
            aud=r["aud"],
            sub=r["sub"],
            usage=r["usage"],
            jti=r["jti"],
            entitlement=r.get("entitlement"),
        )
        for r in data["requests"]
    ]
    batched = issuer.issue_batch(requests, batch_id=data["batch_id"], iat=data["iat"])
    for item in batched:
        item["batch"] = _high_s(item["batch"])
    return {"batched": batched}


# --------------------------------------------------------------------------- verifying


def _verifier(data: dict[str, Any]) -> ReceiptVerifier:
    trust = _trust(data["trust"])
    cards = [_signed_document(RateCard, token, trust) for token in data["rate_cards"]]
    now = data["now"]
    return ReceiptVerifier(trust, cards, clock=lambda: now)


def _result(action: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    try:
        return action()
    except TokenfedError as exc:
        return {"ok": False, "error": exc.code}


def _verify_one(verifier: ReceiptVerifier, tx: TrackerTransaction, item: Any) -> dict[str, Any]:
    def run() -> dict[str, Any]:
        return {"ok": True, "duplicate": tx.track(verifier.verify(item)).duplicate}

    return _result(run)


def _verify_whole_batch(
    verifier: ReceiptVerifier, tx: TrackerTransaction, batch: str, encoded: list[str]
) -> list[dict[str, Any]]:
    """REC-064: the tree head from every claims bytes, then each leaf; raises when the batch
    itself is rejected, recording nothing of it."""
    leaves = [_b64(item) for item in encoded]
    if FAULT == "records-failed-batch-partly":
        # FAULT: each leaf is recorded as it is read, before the tree head is checked.
        for leaf in leaves:
            claims = _json.loads(leaf)
            with contextlib.suppress(TokenfedError):
                tx.track(VerifiedReceipt(claims, "unchecked", leaf, _b64e(leaf), "unchecked"))
    checked = verifier.verify_batch(batch, leaves)
    results = []
    for entry in checked:
        if isinstance(entry, TokenfedError):
            results.append({"ok": False, "error": entry.code})
        else:
            results.append(
                _result(lambda e=entry: {"ok": True, "duplicate": tx.track(e).duplicate})
            )
    return results


def _b64(text: str) -> bytes:
    from tokenfed._b64 import b64decode

    return b64decode(text, what="claims")


def op_verify_receipt(data: dict[str, Any]) -> dict[str, Any]:
    checked = _verifier(data).verify(data["receipt"])
    return {
        "iss": checked.iss,
        "aud": checked.aud,
        "jti": checked.jti,
        "seq": checked.seq,
        "amount": checked.raw["amount"],
        "content_digest": checked.content_digest,
    }


def op_verify_stream(data: dict[str, Any]) -> dict[str, Any]:
    verifier = _verifier(data)
    results = []
    with ReceiptTracker().transaction() as tx:
        for item in data["receipts"]:
            if isinstance(item, dict) and isinstance(item.get("claims"), list):
                try:
                    per_leaf = _verify_whole_batch(verifier, tx, item["batch"], item["claims"])
                    results.append({"ok": True, "results": per_leaf})
                except TokenfedError as exc:
                    results.append({"ok": False, "error": exc.code})
            else:
                results.append(_verify_one(verifier, tx, item))
    return {"results": results}


def op_verify_batch(data: dict[str, Any]) -> dict[str, Any]:
    verifier = _verifier(data)
    with ReceiptTracker().transaction() as tx:
        return {"results": _verify_whole_batch(verifier, tx, data["batch"], data["claims"])}


def op_verify_file(data: dict[str, Any]) -> dict[str, Any]:
    config = VerifierConfig(
        trust=data["trust"], rate_cards=tuple(data["rate_cards"]), now=data["now"]
    )
    with tempfile.TemporaryDirectory(prefix="tokenfed-adapter-") as scratch:
        out = Path(scratch) / "results.jsonl"
        verify_file(data["file"], out, config, workers=1, progress=False)
        rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    results: list[dict[str, Any]] = []
    for row in rows:
        if row["ok"]:
            results.append(
                {"line": row["line"], "ok": True, "iss": row["iss"], "jti": row["jti"],
                 "amount": row["amount"]}
            )  # fmt: skip
        else:
            results.append({"line": row["line"], "ok": False, "error": row["error"]})
    return {"results": results}


# --------------------------------------------------------------------------- settlement

_SETTLEMENT_KINDS: dict[
    str, type[settlement.Statement | settlement.Response | settlement.NettingReport]
] = {
    "statement": settlement.Statement,
    "response": settlement.Response,
    "netting-report": settlement.NettingReport,
}


def _statement(data: dict[str, Any], trust: TrustStore) -> settlement.Statement:
    return settlement.Statement.from_jws(data["statement"], trust)


def op_verify_settlement(data: dict[str, Any]) -> dict[str, Any]:
    trust = _trust(data["trust"])
    kind = data["kind"]
    if kind not in _SETTLEMENT_KINDS:
        raise MalformedError(f"unknown settlement document kind {kind!r}")
    document = _SETTLEMENT_KINDS[kind].from_jws(data["document"], trust)
    if isinstance(document, settlement.Statement) and data.get("rates") is not None:
        rates = _signed_document(ExchangeRates, data["rates"], trust)
        settlement.check_conversion(document, rates)
    return {"claims": document.raw, "digest": document.digest}


def op_check_receipt_list(data: dict[str, Any]) -> dict[str, Any]:
    statement = _statement(data, _trust(data["trust"]))
    return {"count": len(settlement.check_receipt_list(statement, data["receipt_list"]))}


def op_check_history(data: dict[str, Any]) -> dict[str, Any]:
    statement = _statement(data, _trust(data["trust"]))
    settlement.PairHistory.from_json(data["history"]).check(statement)
    return {"digest": statement.digest}


def op_reconcile(data: dict[str, Any]) -> dict[str, Any]:
    statement = _statement(data, _trust(data["trust"]))
    rejected = {(r["iss"], r["jti"]): r["code"] for r in data.get("rejected", [])}
    draft = settlement.reconcile(
        statement, data["receipt_list"], data["held"], iat=statement.claims.iat, rejected=rejected
    )
    return {name: draft.claims[name] for name in ("status", "disputes", "disputed_lines")}


def op_split(data: dict[str, Any]) -> dict[str, Any]:
    agreement = settlement.RevenueShare.from_jws(data["agreement"], _trust(data["trust"]))
    if FAULT == "split-rounds-each-part":
        return _split_each_part(agreement, data)
    return settlement.split_report(agreement, data["total"], data["code"], data["precision"])


def op_net(data: dict[str, Any]) -> dict[str, Any]:
    trust = _trust(data["trust"])
    pairs = [
        (
            settlement.Statement.from_jws(pair["statement"], trust),
            settlement.Response.from_jws(pair["response"], trust),
        )
        for pair in data["pairs"]
    ]
    statements, positions = settlement.net_positions(pairs)
    if FAULT == "netting-drops-zero-positions":
        # FAULT: a party whose receivable equals its payable is left out of the report.
        positions = {
            code: [row for row in rows if row["net"] != "0"] for code, rows in positions.items()
        }
    return {"statements": [s.digest for s in statements], "positions": positions}


def _split_each_part(agreement: settlement.RevenueShare, data: dict[str, Any]) -> dict[str, Any]:
    """FAULT split-rounds-each-part: each part is the total times the share, rounded half-even
    on its own, so the parts need not add up to the total."""
    precision = data["precision"]
    total = Decimal(data["total"])
    quantum = Decimal(1).scaleb(-precision)
    parts = []
    for party, millionths in agreement.shares:
        part = (total * Decimal(millionths) / Decimal(10**6)).quantize(quantum, "ROUND_HALF_EVEN")
        parts.append({"party": party, "amount": _plain(part)})
    return {
        "agreement_id": agreement.claims.agreement_id,
        "code": data["code"],
        "total": data["total"],
        "parts": parts,
    }


# --------------------------------------------------------------------------- federation


def _anchors(data: dict[str, Any]) -> list[federation.TrustAnchor]:
    anchors = [federation.TrustAnchor.from_jwks(a["entity_id"], a["jwks"]) for a in data["anchors"]]
    if FAULT == "pools-anchor-keys":
        # FAULT: every configured anchor is given the keys of all of them.
        pooled = {"keys": [jwk for a in data["anchors"] for jwk in a["jwks"]["keys"]]}
        anchors = [federation.TrustAnchor.from_jwks(a.entity_id, pooled) for a in anchors]
    return anchors


def _chain(tokens: list[str], data: dict[str, Any]) -> federation.TrustChain:
    return federation.validate_chain(
        tokens, _anchors(data), now=data["now"], entity_type=data.get("entity_type")
    )


def _chain_result(chain: federation.TrustChain) -> dict[str, Any]:
    return {
        "trust_anchor": chain.trust_anchor,
        "path": list(chain.path),
        "exp": chain.exp,
        "metadata": chain.metadata,
    }


def op_validate_chain(data: dict[str, Any]) -> dict[str, Any]:
    chain = _chain(data["statements"], data)
    result = _chain_result(chain)
    if data.get("document_typ") is not None:
        result["document_keys"] = [key.kid for key in chain.keys_for(data["document_typ"])]
    return result


def op_select_chain(data: dict[str, Any]) -> dict[str, Any]:
    valid: list[tuple[int, federation.TrustChain]] = []
    for index, tokens in enumerate(data["candidates"]):
        with contextlib.suppress(TokenfedError):
            valid.append((index, _chain(tokens, data)))
    chosen = federation.select_chain([chain for _, chain in valid], _anchors(data))
    index = next(i for i, chain in valid if chain is chosen)
    return {**_chain_result(chosen), "chosen": index}


def op_verify_archived_chain(data: dict[str, Any]) -> dict[str, Any]:
    anchor = federation.TrustAnchor.from_jwks(data["anchor"]["entity_id"], data["anchor"]["jwks"])
    historical = None
    if data["historical"] is not None:
        historical = federation.HistoricalKeys.decode(data["historical"]).verify_with(anchor.jwks)
    chain = federation.verify_archived_chain(
        data["chain"], anchor, historical, at=data["at"], entity_type=data.get("entity_type")
    )
    return _chain_result(chain)


def op_verify_historical_keys(data: dict[str, Any]) -> dict[str, Any]:
    read = federation.HistoricalKeys.decode(data["document"]).verify_with(
        keys.KeySet.from_jwks(data["issuer_keys"])
    )
    listed = [{"kid": k.kid, "exp": k.exp, "reason": k.reason} for k in read.keys]
    return {"iss": read.iss, "iat": read.iat, "keys": listed}


def op_apply_policy(data: dict[str, Any]) -> dict[str, Any]:
    if data["op"] == "merge":
        return {"merged": federation.merge_policies(data["policies"])}
    if data["op"] == "apply":
        return {"metadata": federation.apply_policy(data["metadata"], data["policy"])}
    merged = federation.merge_policies(data["policies"])
    return {"merged": merged, "metadata": federation.apply_policy(data["metadata"], merged)}


# --------------------------------------------------------------------------- entitlements


def _entitlement(data: dict[str, Any]) -> Entitlement:
    """ENT-020, steps 1 to 10, against the trust store's keys of the operator."""
    return Entitlement.from_jws(
        data["entitlement"], _trust(data["trust"]), audience=data["audience"], now=data["now"]
    )


def op_verify_entitlement(data: dict[str, Any]) -> dict[str, Any]:
    entitlement = _entitlement(data)
    return {"claims": entitlement.raw, "digest": entitlement.digest}


def op_check_usage(data: dict[str, Any]) -> dict[str, Any]:
    """The steps in order, in a fresh reservation store with the given hold (ENT-030..ENT-044);
    the first refused step rejects the operation with its code."""
    trust = _trust(data["trust"])
    made: dict[int, str] = {}
    seen: dict[int, Entitlement] = {}
    last = 0
    with (
        tempfile.TemporaryDirectory(prefix="tokenfed-adapter-") as scratch,
        Reservations(Path(scratch) / "reservations.db", hold=data["hold"]) as store,
    ):
        for index, step in enumerate(data["steps"]):
            last = step["now"]
            if step["do"] == "reserve":
                entitlement = Entitlement.from_jws(
                    data["entitlements"][step["entitlement"]],
                    trust,
                    audience=data["audience"],
                    now=step["now"],
                )
                amount = Decimal(step["amount"])
                made[index] = store.reserve(entitlement, step["model"], amount, now=last).id
                seen[step["entitlement"]] = entitlement
            elif step["do"] == "settle":
                store.settle(made[step["reservation"]], Decimal(step["actual"]), now=last)
            elif step["do"] == "release":
                store.release(made[step["reservation"]], now=last)
            elif step["do"] == "expire":
                store.expire_stale(now=last)
            else:
                raise MalformedError(f"unknown step {step['do']!r}")
        consumption: list[dict[str, str] | None] = []
        for index in range(len(data["entitlements"])):
            if index not in seen:
                consumption.append(None)
                continue
            state = store.consumption(seen[index], now=last)
            consumption.append(
                {"settled": _plain(state.settled), "outstanding": _plain(state.outstanding)}
            )
    return {"consumption": consumption}


def op_check_receipt_entitlement(data: dict[str, Any]) -> dict[str, Any]:
    trust = _trust(data["trust"])
    issued = IssuedEntitlements(data["operator"])
    for token in data["issued"]:
        issued.add(token, trust)
    found = issued.check_receipt(data["receipt"])
    return {"entitlement": None if found is None else found.jti}


OPS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "price": op_price,
    "convert": op_convert,
    "adapt": op_adapt,
    "verify-document": op_verify_document,
    "issue-receipt": op_issue_receipt,
    "issue-batch": op_issue_batch,
    "verify-receipt": op_verify_receipt,
    "verify-stream": op_verify_stream,
    "verify-batch": op_verify_batch,
    "verify-file": op_verify_file,
    "verify-settlement": op_verify_settlement,
    "check-receipt-list": op_check_receipt_list,
    "check-history": op_check_history,
    "reconcile": op_reconcile,
    "split": op_split,
    "net": op_net,
    "verify-entitlement": op_verify_entitlement,
    "check-usage": op_check_usage,
    "check-receipt-entitlement": op_check_receipt_entitlement,
    "validate-chain": op_validate_chain,
    "select-chain": op_select_chain,
    "apply-policy": op_apply_policy,
    "verify-archived-chain": op_verify_archived_chain,
    "verify-historical-keys": op_verify_historical_keys,
}


# --------------------------------------------------------------------------- faults
#
# Each fault is one deviation, injected at the seam named here (see also FAULTS below):
# pricing faults replace the amount step of the ``price`` operation with a careless pricer;
# JWS faults patch one check of the SDK's JWS layer (``tokenfed._jws``) or ``tokenfed.keys``;
# state faults patch the SDK's ``TrackerTransaction`` or change ``_verify_whole_batch`` above.

_PRICING_FAULTS = {
    "half-up-rounding",
    "round-per-line",
    "float-arithmetic",
    "tier-at-or-above",
    "ignores-minimum",
}


def _faulty_price(card: RateCard, usage: units.Usage) -> dict[str, Any]:
    """A careless pricer: one named deviation from UNIT-044..UNIT-049."""
    rates = card.raw["models"][usage.model]
    meters = {m: c for m, c in usage.meters.items() if c}
    total_input = sum(meters.get(m, 0) for m in ("input", "cache_read", "cache_write"))
    tier = None
    for candidate in rates.get("tiers", []):
        if candidate["above_input"] < total_input or (
            FAULT == "tier-at-or-above" and candidate["above_input"] == total_input
        ):
            tier = candidate
    weights = dict(rates["weights"], **(tier["weights"] if tier else {}))
    lines = card.price(usage).to_json()["lines"]
    micro = Decimal("0.000001")
    if FAULT == "float-arithmetic":
        total_float = sum(c * float(weights[m]) for m, c in meters.items())
        lines = [
            dict(line, amount=_plain(Decimal(repr(line["count"] * float(line["weight"])))))
            for line in lines
        ]
        rounded = Decimal(repr(round(total_float, 6)))
    elif FAULT == "round-per-line":
        rounded = sum(
            (Decimal(c) * Decimal(weights[m])).quantize(micro) for m, c in meters.items()
        ) or Decimal(0)
    else:
        exact = sum((Decimal(c) * Decimal(weights[m]) for m, c in meters.items()), Decimal(0))
        mode = ROUND_HALF_UP if FAULT == "half-up-rounding" else "ROUND_HALF_EVEN"
        rounded = exact.quantize(micro, rounding=mode)
    minimum = Decimal(rates.get("minimum", "0"))
    applied = rounded < minimum and FAULT != "ignores-minimum"
    amount = minimum if applied else rounded
    result = card.price(usage).to_json()
    result.update(
        amount=_plain(amount),
        lines=lines,
        tier=None if tier is None else tier["above_input"],
        minimum_applied=applied,
    )
    return result


def _plain(value: Decimal) -> str:
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in {"", "-0"} else text


def _half_up_conversion(rates: ExchangeRates, data: dict[str, Any]) -> dict[str, Any]:
    quotes = {"UTU": (Decimal(1), 6)} | {
        code: (Decimal(q["rate"]), q["precision"]) for code, q in rates.raw["rates"].items()
    }
    source, target = quotes[data["from"]], quotes[data["to"]]
    from fractions import Fraction

    value = Fraction(data["amount"]) * Fraction(target[0]) / Fraction(source[0])
    scaled = abs(value) * 10 ** target[1]
    whole = int(scaled + Fraction(1, 2))  # FAULT: ties away from zero
    amount = Decimal(whole if value >= 0 else -whole).scaleb(-target[1])
    return {"amount": _plain(amount), "code": data["to"], "rates_id": rates.id}


def _patch(owner: Any, name: str, make: Callable[[Any], Any]) -> None:
    setattr(owner, name, make(getattr(owner, name)))


def _fault_skip_signature() -> None:
    keys.PublicKey.verify = lambda self, signature, data: True  # type: ignore[method-assign]


def _fault_alg_none() -> None:
    def check_header(original: Any) -> Any:
        def patched(segment: str, header: dict[str, Any], typ: str) -> None:
            if str(header.get("alg", "")).lower() == "none":
                return original(segment, dict(header, alg="EdDSA"), typ)
            return original(segment, header, typ)

        return patched

    def check_alg(original: Any) -> Any:
        return lambda header, key: (
            None if str(header.get("alg", "")).lower() == "none" else original(header, key)
        )

    def verify(original: Any) -> Any:
        return lambda self, signature, data: signature == b"" or original(self, signature, data)

    _patch(_jws, "_check_header", check_header)
    _patch(_jws, "check_alg", check_alg)
    _patch(keys.PublicKey, "verify", verify)


def _fault_alg_from_header() -> None:
    _jws.check_alg = lambda header, key: None  # type: ignore[assignment]


def _fault_ignores_typ() -> None:
    _patch(
        _jws, "_check_header", lambda original: lambda s, h, typ: original(s, dict(h, typ=typ), typ)
    )


def _fault_ignores_crit() -> None:
    _patch(
        _jws,
        "_check_header",
        lambda original: (
            lambda s, h, typ: original(s, {k: v for k, v in h.items() if k != "crit"}, typ)
        ),
    )


def _fault_last_duplicate_wins() -> None:
    def loads(original: Any) -> Any:
        def patched(data: bytes | str) -> Any:
            try:
                value = json.loads(data)
            except (ValueError, UnicodeDecodeError):
                return original(data)
            return original(json.dumps(value))

        return patched

    _patch(_json, "loads", loads)


def _fault_non_canonical_base64url() -> None:
    def lax(text: str | bytes, *, what: str = "segment") -> bytes:
        raw = text.encode("ascii") if isinstance(text, str) else text
        try:
            return base64.urlsafe_b64decode(raw.rstrip(b"=") + b"=" * (-len(raw.rstrip(b"=")) % 4))
        except (binascii.Error, ValueError):
            raise MalformedError(f"{what} is not base64url") from None

    import tokenfed.receipts._verifier as verifier_module

    _jws.b64decode = lax  # type: ignore[assignment]
    verifier_module.b64decode = lax  # type: ignore[assignment]


def _fault_payload_not_jcs() -> None:
    def sign(claims: Any, key: keys.PrivateKey, typ: str) -> str:
        header = {"alg": key.alg, "typ": typ, "kid": key.kid}
        signing_input = (
            _b64e(json.dumps(header).encode()) + "." + _b64e(json.dumps(dict(claims)).encode())
        ).encode("ascii")
        return signing_input.decode("ascii") + "." + _b64e(key.sign(signing_input))

    _jws.sign = sign  # type: ignore[assignment]


def _b64e(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _fault_expired_rate_card() -> None:
    RateCard.is_valid_at = lambda self, t: True  # type: ignore[method-assign]


class _EqualsAnything(int):
    def __eq__(self, other: object) -> bool:
        return True

    def __ne__(self, other: object) -> bool:
        return False

    __hash__ = int.__hash__


def _fault_trusts_amount() -> None:
    _patch(
        RateCard,
        "micro_amount_of",
        lambda original: lambda self, *a, **k: _EqualsAnything(original(self, *a, **k)),
    )


def _fault_key_outside_window() -> None:
    keys.KeyValidity.is_valid_at = lambda self, t: True  # type: ignore[method-assign]
    keys.KeyValidity.check = lambda self, t, kid: None  # type: ignore[method-assign]


def _fault_follows_jku() -> None:
    def key_at(original: Any) -> Any:
        def patched(self: Any, iss: object, header: dict[str, Any], iat: object) -> keys.PublicKey:
            if str(header.get("jku", "")).startswith("data:"):
                return _fetch_jku(header)
            return original(self, iss, header, iat)

        return patched

    _patch(ReceiptVerifier, "_key_at", key_at)


def _fault_merkle_wrong_index() -> None:
    from tokenfed import _merkle
    from tokenfed.receipts import _verifier

    # The verifiers then take the reference path, whose proofs go through the class patched
    # below (the hot module, compiled or not, checks proofs on its own: ADR 0010).
    _verifier._hot = None

    def verify_hex(original: Any) -> Any:
        def patched(self: Any, leaf_hash: bytes, index: int, proof: Any) -> bool:
            return any(original(self, leaf_hash, i, proof) for i in range(min(self._size, 64)))

        return patched

    _patch(_merkle.CachedInclusion, "verify_hex", verify_hex)


def _fault_ignores_replay() -> None:
    TrackerTransaction._seen_content = lambda self, iss, jti: None  # type: ignore[method-assign]


def _fault_resubmission_is_replay() -> None:
    def seen(original: Any) -> Any:
        def patched(self: Any, iss: str, jti: str) -> str | None:
            found = original(self, iss, jti)
            return None if found is None else "sha256:" + "0" * 64

        return patched

    _patch(TrackerTransaction, "_seen_content", seen)


def _fault_statement_totals_unchecked() -> None:
    """FAULT statement-totals-unchecked: a statement's audit totals are never compared with its
    lines (SET-025); every other check of the statement still runs."""

    def make(original: Any) -> Any:
        def patched(self: settlement.Statement) -> None:
            try:
                original(self)
            except TotalsMismatchError:
                claims = self.claims
                if claims.resubmits is not None and claims.seq == 1:
                    raise InvalidResubmissionError("resubmits with seq 1 (SET-024)") from None
                if claims.iat < claims.period.end + claims.grace:
                    raise PeriodNotClosedError("statement before its cutoff (SET-011)") from None

        return patched

    _patch(settlement.Statement, "_check", make)


def _fault_usage_past_limit() -> None:
    """FAULT usage-past-limit: the limit is compared one micro-UTU too generously, so a request
    that passes it by the smallest amount is still served (ENT-032)."""
    Entitlement.limit_micro = property(  # type: ignore[method-assign,assignment]
        lambda self: to_scaled(self.claims.limit, MICRO) + 1
    )


def _fault_ignores_audience() -> None:
    """FAULT ignores-audience: ENT-020 step 10 skipped; an entitlement for any provider is
    accepted."""

    def make(original: Any) -> Any:
        def patched(cls: Any, token: Any, trust: Any, *, audience: str, now: Any = None) -> Any:
            try:
                claims = json.loads(base64.urlsafe_b64decode(_pad(str(token).split(".")[1])))
            except (ValueError, IndexError):
                claims = None
            aud = claims.get("aud") if isinstance(claims, dict) else None
            return original.__func__(
                cls, token, trust, audience=aud if isinstance(aud, str) else audience, now=now
            )

        return classmethod(patched)

    _patch(Entitlement, "from_jws", make)


def _fault_ignores_scope() -> None:
    Entitlement.check_scope = lambda self, model: None  # type: ignore[method-assign]


def _fault_skips_naming_constraints() -> None:
    import tokenfed.federation._constraints as constraints

    constraints.check_naming = lambda entity_id, naming, issuer: None  # type: ignore[assignment]


def _fault_ignores_max_path_length() -> None:
    """FAULT ignores-max-path-length: the constraint's counting is off by the whole path (the
    SS's own subject and everything below it is never counted)."""
    import tokenfed.federation._constraints as constraints

    original = constraints.check_constraints

    def patched(statements: Any) -> None:
        stripped = [
            _without_max_path_length(statement) if 0 < j < len(statements) - 1 else statement
            for j, statement in enumerate(statements)
        ]
        original(stripped)

    constraints.check_constraints = patched  # type: ignore[assignment]
    import tokenfed.federation._chain as chain_module

    chain_module.check_constraints = patched  # type: ignore[attr-defined]


def _without_max_path_length(statement: Any) -> Any:
    constraints = statement.constraints
    if not constraints or "max_path_length" not in constraints:
        return statement

    class _Shadow:
        def __init__(self, wrapped: Any) -> None:
            self._wrapped = wrapped

        def __getattr__(self, name: str) -> Any:
            if name == "constraints":
                return {k: v for k, v in constraints.items() if k != "max_path_length"}
            return getattr(self._wrapped, name)

    return _Shadow(statement)


def _pad(text: str) -> str:
    return text + "=" * (-len(text) % 4)


FAULTS: dict[str, tuple[str, Callable[[], None]]] = {
    "skips-signature-check": ("keys.PublicKey.verify always true", _fault_skip_signature),
    "alg-none": (
        "jws header check and PublicKey.verify accept alg none with no signature",
        _fault_alg_none,
    ),
    "alg-from-header": (
        "jws.check_alg (the key's pinned algorithm) not applied",
        _fault_alg_from_header,
    ),
    "ignores-typ": (
        "jws header check sees the expected typ whatever the header says",
        _fault_ignores_typ,
    ),
    "ignores-crit": ("jws header check drops crit", _fault_ignores_crit),
    "last-duplicate-wins": (
        "strict JSON parser replaced by one keeping the last duplicate",
        _fault_last_duplicate_wins,
    ),
    "non-canonical-base64url": (
        "base64url decoding accepts unused bits and padding",
        _fault_non_canonical_base64url,
    ),
    "half-up-rounding": ("price amount and conversions rounded half-up", lambda: None),
    "round-per-line": ("price amount: each line rounded, then summed", lambda: None),
    "float-arithmetic": ("price lines and amount computed in binary floating point", lambda: None),
    "tier-at-or-above": ("price tier applied when total input equals above_input", lambda: None),
    "ignores-minimum": ("price amount never raised to the minimum", lambda: None),
    "accepts-expired-rate-card": (
        "price ignores the pricing time; RateCard.is_valid_at always true",
        _fault_expired_rate_card,
    ),
    "trusts-receipt-amount": (
        "verifier's recomputed amount compares equal to any amount",
        _fault_trusts_amount,
    ),
    "ignores-replay": (
        "TrackerTransaction finds no jti ever seen (REC-042 skipped)",
        _fault_ignores_replay,
    ),
    "resubmission-is-replay": (
        "TrackerTransaction sees other content under every recorded jti",
        _fault_resubmission_is_replay,
    ),
    "key-outside-window": (
        "keys.KeyValidity accepts every time (before nbf, after exp, revoked)",
        _fault_key_outside_window,
    ),
    "follows-jku": ("key lookup fetches the header's jku JWKS and trusts it", _fault_follows_jku),
    "merkle-wrong-index": (
        "inclusion proofs accepted for any leaf index",
        _fault_merkle_wrong_index,
    ),
    "payload-not-jcs": (
        "jws.sign serializes header and claims with json.dumps (insertion order, spaces)",
        _fault_payload_not_jcs,
    ),
    "es256-high-s": ("issued ES256 signatures in their high-S form", lambda: None),
    "records-failed-batch-partly": (
        "whole batches: leaves recorded before the tree head is checked",
        lambda: None,
    ),
    "split-rounds-each-part": (
        "split: each part rounded half-even on its own (no largest remainder)",
        lambda: None,
    ),
    "netting-drops-zero-positions": (
        "net: positions whose net is zero left out",
        lambda: None,
    ),
    "statement-totals-unchecked": (
        "Statement._check: totals_mismatch (SET-025) ignored, the other checks kept",
        _fault_statement_totals_unchecked,
    ),
    "usage-past-limit": (
        "Entitlement.limit_micro one micro-UTU above the limit (ENT-032 off by one)",
        _fault_usage_past_limit,
    ),
    "ignores-audience": (
        "Entitlement.from_jws checks the audience against the entitlement's own aud",
        _fault_ignores_audience,
    ),
    "ignores-scope": ("Entitlement.check_scope accepts every model", _fault_ignores_scope),
    "skips-naming-constraints": (
        "federation._constraints.check_naming accepts every host",
        _fault_skips_naming_constraints,
    ),
    "pools-anchor-keys": (
        "validate-chain gives every configured anchor the keys of all of them",
        lambda: None,
    ),
    "ignores-max-path-length": (
        "federation._constraints.check_constraints never sees max_path_length",
        _fault_ignores_max_path_length,
    ),
}


# --------------------------------------------------------------------------- protocol


def info() -> dict[str, Any]:
    name = "tokenfed-python" + (f" (fault {FAULT})" if FAULT else "")
    return {
        "protocol": "1",
        "name": name,
        "version": tokenfed.__version__,
        "spec_version": tokenfed.SPEC_VERSION,
        "profiles": PROFILES,
        "operations": OPERATIONS,
        "batch": True,
    }


def run_op(op: str, data: Any) -> tuple[bool, dict[str, Any]]:
    """(accepted, output) or (False, error object)."""
    try:
        if op not in OPS:
            raise InternalError(f"unknown operation {op!r}")
        if not isinstance(data, dict):
            raise MalformedError("the case input is not a JSON object")
        return True, OPS[op](data)
    except TokenfedError as exc:
        return False, {"error": exc.code, "message": exc.message}


@contextmanager
def _guard() -> Iterator[None]:
    try:
        yield
    except Exception:  # a defect of the adapter or the SDK: report it as broken (exit 3)
        traceback.print_exc()
        raise SystemExit(3) from None


def main(argv: list[str]) -> int:
    global FAULT
    if len(argv) >= 2 and argv[0] == "--fault":
        FAULT = argv[1]
        if FAULT not in FAULTS:
            sys.stderr.write(
                json.dumps({"error": "invalid_arguments", "message": f"unknown fault {FAULT}"})
                + "\n"
            )
            return 2
        FAULTS[FAULT][1]()
        argv = argv[2:]
    if argv == ["info"]:
        print(json.dumps(info()))
        return 0
    if argv == ["faults"]:  # not a protocol command: the faults this adapter can inject
        print(json.dumps({name: seam for name, (seam, _inject) in FAULTS.items()}, indent=1))
        return 0
    if len(argv) == 3 and argv[0] == "batch":
        with _guard():
            lines = Path(argv[1]).read_text(encoding="utf-8").splitlines()
            with open(argv[2], "w", encoding="utf-8") as sink:
                for line in lines:
                    case = json.loads(line)
                    ok, body = run_op(case["op"], case["input"])
                    result = {"id": case["id"], "status": "accepted" if ok else "rejected"}
                    result["output" if ok else "error"] = body
                    sink.write(json.dumps(result, ensure_ascii=False) + "\n")
        return 0
    if len(argv) == 2:
        with _guard():
            data = json.loads(Path(argv[1]).read_text(encoding="utf-8"))
            ok, body = run_op(argv[0], data)
        if ok:
            print(json.dumps(body, ensure_ascii=False))
            return 0
        sys.stderr.write(json.dumps(body, ensure_ascii=False) + "\n")
        return 1
    sys.stderr.write(
        json.dumps(
            {
                "error": "invalid_arguments",
                "message": "usage: [--fault NAME] info | OP CASE.json | batch CASES.jsonl "
                "RESULTS.jsonl",
            }
        )
        + "\n"
    )
    return 2


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
