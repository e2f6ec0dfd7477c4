"""A worked example: price usage in UTU, convert it, and prove it with signed receipts.

A subscriber of a home operator (the payer) uses two models at a provider of another alliance.
The provider prices each request under its signed rate card, converts the total into CNY and
into the home alliance's points, and hands the home operator a signed receipt per request. The
home operator verifies each receipt offline, and rejects one that was tampered with.

Run: make demo   (or: python examples/demo.py)
"""

from __future__ import annotations

import base64
import json
from decimal import Decimal

from tokenfed.errors import TokenfedError
from tokenfed.exchange import ExchangeRates
from tokenfed.keys import KeyValidity, generate_key
from tokenfed.receipts import (
    ReceiptIssuer,
    ReceiptRequest,
    ReceiptTracker,
    ReceiptVerifier,
    pairwise_subject,
)
from tokenfed.trust import TrustStore
from tokenfed.units import RateCard, from_anthropic, from_openai

T0 = 1767225600  # 2026-01-01T00:00:00Z
NOW = T0 + 3600
PROVIDER = "https://tokens.provider-a.example"
HOME = "https://home-operator.example"

RATE_CARD = {
    "iss": PROVIDER,
    "rate_card_id": "provider-a-2026-01",
    "ver": "1.0",
    "iat": T0,
    "nbf": T0,
    "exp": T0 + 86400 * 31,
    "unit": "UTU",
    "models": {
        "qwen-max": {
            "weights": {"input": "0.0016", "cache_read": "0.0004", "output": "0.0064"},
            "tiers": [{"above_input": 32000, "weights": {"input": "0.0024", "output": "0.0096"}}],
        },
        "claude-sonnet": {
            "weights": {
                "input": "0.003",
                "cache_read": "0.0003",
                "cache_write": "0.00375",
                "output": "0.015",
                "web_search": "10",
            },
            "minimum": "0.01",
        },
    },
}

EXCHANGE_RATES = {
    "iss": "https://clearing.alliance.example",
    "rates_id": "fx-2026-01-01",
    "ver": "1.0",
    "iat": T0,
    "nbf": T0,
    "exp": T0 + 86400,
    "base": "UTU",
    "rates": {
        "CNY": {"rate": "0.02", "precision": 2},
        "sht.points": {"rate": "5000", "precision": 0},
        "cmcc.points": {"rate": "100", "precision": 0},
    },
}

REQUESTS = [
    (
        "OpenAI-style usage with cached prompt tokens and reasoning",
        from_openai(
            {
                "prompt_tokens": 4200,
                "completion_tokens": 900,
                "prompt_tokens_details": {"cached_tokens": 3000},
                "completion_tokens_details": {"reasoning_tokens": 0},
            },
            "qwen-max",
        ),
    ),
    (
        "A long-context request above the 32k tier",
        from_openai({"prompt_tokens": 40000, "completion_tokens": 1200}, "qwen-max"),
    ),
    (
        "Anthropic-style usage with cache writes and a web search",
        from_anthropic(
            {
                "input_tokens": 800,
                "cache_creation_input_tokens": 2000,
                "cache_read_input_tokens": 6000,
                "output_tokens": 650,
                "server_tool_use": {"web_search_requests": 1},
            },
            "claude-sonnet",
        ),
    ),
]


def show(title: str, value: object) -> None:
    print(f"\n== {title}")
    print(value if isinstance(value, str) else json.dumps(value, indent=2, ensure_ascii=False))


def main() -> None:
    provider_key = generate_key("EdDSA")
    clearing_key = generate_key("EdDSA")
    # Signed documents are only ever used verified (UNIT-033): each with its publisher's key.
    card = RateCard.from_jws(RateCard.sign(RATE_CARD, provider_key), provider_key.public_key())
    rates = ExchangeRates.from_jws(
        ExchangeRates.sign(EXCHANGE_RATES, clearing_key), clearing_key.public_key()
    )
    show("Rate card", f"{card.id}, digest {card.digest}, signed by key {provider_key.kid}")

    total = Decimal(0)
    for title, usage in REQUESTS:
        price = card.price(usage, at=NOW)
        total += price.amount
        show(f"{title}: {usage.model} {usage.meters}", price.to_json())

    show("Total in UTU", str(total))
    for code in ("CNY", "sht.points", "cmcc.points"):
        converted = rates.convert(total, "UTU", code, at=NOW)
        print(f"  {total} UTU = {converted.amount} {code}  (rates {converted.rates_id})")

    # The home operator trusts the provider's receipt key from the provider's publication.
    trust = TrustStore.from_json(
        {
            "ver": "1.0",
            "issuers": {
                PROVIDER: {
                    "jwks": {"keys": [provider_key.public_key(KeyValidity(nbf=T0)).to_jwk()]}
                }
            },
        }
    )
    issuer = ReceiptIssuer(provider_key, PROVIDER, card, clock=lambda: NOW)
    verifier = ReceiptVerifier(trust, [card], clock=lambda: NOW)
    subscriber = pairwise_subject(b"home-operator-secret-0001", PROVIDER, "account-4711")

    tracker = ReceiptTracker()  # replay and chain state (in memory here; a ledger in production)
    receipts = [issuer.issue(aud=HOME, sub=subscriber, usage=usage) for _, usage in REQUESTS]
    with tracker.transaction() as tx:
        for receipt in receipts:
            verified = tx.track(verifier.verify(receipt))
            print(
                f"\nreceipt seq {verified.seq}: {verified.raw['amount']} UTU for "
                f"{verified.claims.usage.model} verified and recorded (jti {verified.jti})"
            )
    show("One receipt, decoded", verifier.verify(receipts[0]).raw)

    # Someone lowers the amount of a receipt after it was signed.
    head, payload, signature = receipts[1].split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["amount"] = "0.000001"
    forged_payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    try:
        verifier.verify(f"{head}.{forged_payload}.{signature}")
    except TokenfedError as error:
        show("Tampered receipt rejected", error.to_json())

    # At high volume: one signature per Merkle batch, an inclusion proof per receipt.
    other_home = "https://partner-alliance-operator.example"
    batch = issuer.issue_batch(
        [ReceiptRequest(aud=other_home, sub=subscriber, usage=usage) for _, usage in REQUESTS * 4]
    )
    with tracker.transaction() as tx:
        results = [tx.track(verifier.verify(item)) for item in batch]
    amount = sum((r.amount for r in results), Decimal(0))
    show(
        "Merkle batch",
        f"{len(results)} receipts, one batch signature, {len(batch[0]['audit_path'])} proof "
        f"hashes each; verified total {amount.normalize():f} UTU",
    )


if __name__ == "__main__":
    main()
