"""The month's end, in one process: statements, reconciliation, revenue split and netting.

The provider of the month prices usage under its signed rate card, converts totals into CNY
and alliance points, and signs a receipt per request; payers verify them offline (a tampered
one is rejected) and record them, some in one Merkle batch. At the end of the month the
provider sends each payer a signed statement of the period. The home operator reconciles it
against its own ledger, disputes a receipt that never reached it, and accepts the resubmitted
statement; the accepted total is split among operator, provider and alliance, and a clearing
house nets the month across three parties of two alliances.

Unlike the federation story before it, this part takes its keys from a trust store and runs
at fixed dates of January 2026, so its figures are the same on every run.
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from tokenfed.errors import TokenfedError
from tokenfed.exchange import ExchangeRates
from tokenfed.keys import KeyValidity, PrivateKey, generate_key
from tokenfed.ledger import SqliteLedger
from tokenfed.receipts import (
    ReceiptIssuer,
    ReceiptRequest,
    ReceiptTracker,
    ReceiptVerifier,
    pairwise_subject,
)
from tokenfed.settlement import (
    DEFAULT_GRACE,
    NettingReport,
    PairHistory,
    Response,
    RevenueShare,
    Statement,
    build_statement,
    check_conversion,
    check_receipt_list,
    check_response,
    netting_claims,
    reconcile,
    split,
)
from tokenfed.trust import TrustStore
from tokenfed.units import RateCard, from_anthropic, from_openai

T0 = 1767225600  # 2026-01-01T00:00:00Z
NOW = T0 + 3600
PROVIDER = "https://tokens.provider-a.example"
HOME = "https://home-operator.example"
PARTNER = "https://partner-alliance-operator.example"
CLEARING = "https://clearing.alliance.example"
ALLIANCE = "https://alliance-west.example"
ALLIANCES = {HOME: "alliance-east", PROVIDER: "alliance-west", PARTNER: "alliance-west"}
NAMES = {HOME: "home", PROVIDER: "provider-a", PARTNER: "partner"}
DAY = 86400
PERIOD = (T0, T0 + 31 * DAY)  # January 2026
SETTLE = PERIOD[1] + DEFAULT_GRACE  # statements are signed after the grace window (SET-011)

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
    "iss": CLEARING,
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


def day(t: int) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%d")


def cny(statement: Statement) -> str:
    """The statement's total converted once into CNY (SET-027)."""
    conversion = statement.claims.conversion
    assert conversion is not None
    assert conversion.code == "CNY"
    return str(conversion.amount)


def month_end(folder: Path) -> None:
    """Run the month's pricing, receipts and settlement, printing each step; the parties'
    ledgers are written into ``folder``."""
    provider_key = generate_key("EdDSA")
    clearing_key = generate_key("EdDSA")
    # Signed documents are only ever used verified (UNIT-033): each with its publisher's key.
    card = RateCard.from_jws(RateCard.sign(RATE_CARD, provider_key), provider_key.public_key())
    rates = ExchangeRates.from_jws(
        ExchangeRates.sign(EXCHANGE_RATES, clearing_key), clearing_key.public_key()
    )
    show("Month-end settlement (trust-store mode, January 2026)", f"  rate card {card.id}")
    total = Decimal(0)
    for title, usage in REQUESTS:
        price = card.price(usage, at=NOW)
        total += price.amount
        print(f"  {title}: {usage.model} {price.amount} UTU")
    print(f"  total {total} UTU")
    for code in ("CNY", "sht.points", "cmcc.points"):
        converted = rates.convert(total, "UTU", code, at=NOW)
        print(f"  {total} UTU = {converted.amount} {code}  (rates {converted.rates_id})")

    # Every party publishes its keys; the alliance's trust store lists them all.
    keys = {
        PROVIDER: provider_key,
        HOME: generate_key("EdDSA"),
        PARTNER: generate_key("EdDSA"),
        CLEARING: clearing_key,
        ALLIANCE: generate_key("EdDSA"),
    }
    trust = TrustStore.from_json(
        {
            "ver": "1.0",
            "issuers": {
                party: {"jwks": {"keys": [key.public_key(KeyValidity(nbf=T0)).to_jwk()]}}
                for party, key in keys.items()
            },
        }
    )
    # Each party records the receipts it issued or received in its own ledger (SQLite).
    ledgers = {party: SqliteLedger(folder / f"{NAMES[party]}.db") for party in NAMES}
    try:
        run(card, keys, trust, ledgers)
    finally:
        for ledger in ledgers.values():
            ledger.close()


def run(
    card: RateCard,
    keys: dict[str, PrivateKey],
    trust: TrustStore,
    ledgers: dict[str, SqliteLedger],
) -> None:
    provider_key = keys[PROVIDER]
    issuer = ReceiptIssuer(provider_key, PROVIDER, card, clock=lambda: NOW)
    verifier = ReceiptVerifier(trust, [card], clock=lambda: NOW)
    trackers = {party: ReceiptTracker(ledger) for party, ledger in ledgers.items()}
    subscriber = pairwise_subject(b"home-operator-secret-0001", PROVIDER, "account-4711")

    receipts = [issuer.issue(aud=HOME, sub=subscriber, usage=usage) for _, usage in REQUESTS]
    with trackers[HOME].transaction() as tx:  # replay and chain state, kept in the ledger
        for receipt in receipts:
            verified = tx.track(verifier.verify(receipt))
            print(
                f"  receipt seq {verified.seq}: {verified.raw['amount']} UTU for "
                f"{verified.claims.usage.model} verified and recorded"
            )

    # Someone lowers the amount of a receipt after it was signed.
    head, payload, signature = receipts[1].split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["amount"] = "0.000001"
    forged_payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    try:
        verifier.verify(f"{head}.{forged_payload}.{signature}")
    except TokenfedError as error:
        print(f"  a receipt whose amount was lowered after signing: rejected, {error.code}")

    # At high volume: one signature per Merkle batch, an inclusion proof per receipt.
    batch = issuer.issue_batch(
        [ReceiptRequest(aud=PARTNER, sub=subscriber, usage=usage) for _, usage in REQUESTS * 4]
    )
    with trackers[PARTNER].transaction() as tx:
        results = [tx.track(verifier.verify(item)) for item in batch]
    amount = sum((r.amount for r in results), Decimal(0))
    print(
        f"  a Merkle batch of {len(results)} receipts, one batch signature, "
        f"{len(batch[0]['audit_path'])} proof hashes each; verified total "
        f"{amount.normalize():f} UTU"
    )

    # A later request of the month: its receipt is signed but never reaches the home operator.
    lost = issuer.issue(aud=HOME, sub=subscriber, usage=REQUESTS[0][1])
    # The home operator serves the partner operator's roaming subscribers under its own card.
    home_card = RateCard.from_jws(
        RateCard.sign({**RATE_CARD, "iss": HOME, "rate_card_id": "home-2026-01"}, keys[HOME]),
        trust,
    )
    home_issuer = ReceiptIssuer(keys[HOME], HOME, home_card, clock=lambda: NOW)
    home_receipts = [
        home_issuer.issue(aud=PARTNER, sub="Qm7vT2xLp9RcWs4K", usage=usage) for _, usage in REQUESTS
    ]
    verifier = ReceiptVerifier(trust, [card, home_card], clock=lambda: NOW)
    with trackers[PARTNER].transaction() as tx:
        for receipt in home_receipts:
            tx.track(verifier.verify(receipt))
    # Each issuer keeps what it issued, verified like any receipt.
    with trackers[PROVIDER].transaction() as tx:
        mine: list[str | dict[str, Any]] = [*receipts, *batch, lost]
        for receipt in mine:
            tx.track(verifier.verify(receipt))
    with trackers[HOME].transaction() as tx:
        for receipt in home_receipts:
            tx.track(verifier.verify(receipt))

    settle(keys, trust, ledgers, trackers, [card, home_card], lost)


def settle(
    keys: dict[str, PrivateKey],
    trust: TrustStore,
    ledgers: dict[str, SqliteLedger],
    trackers: dict[str, ReceiptTracker],
    cards: list[RateCard],
    lost: str,
) -> None:
    start, end = PERIOD
    # The month-end fixing: the clearing house's exchange rates valid at the period's end.
    fixing = ExchangeRates.from_jws(
        ExchangeRates.sign(
            {
                **EXCHANGE_RATES,
                "rates_id": "fx-2026-02-01",
                "iat": end,
                "nbf": end,
                "exp": end + DAY,
            },
            keys[CLEARING],
        ),
        trust,
    )
    show(
        f"Settlement of {day(start)} .. {day(end - 1)}",
        f"statements signed {day(SETTLE)}, after the {DEFAULT_GRACE // DAY}-day grace window\n"
        f"month-end fixing {fixing.id} ({fixing.digest[:19]}...), signed by the clearing house",
    )

    def statement(
        payee: str,
        payer: str,
        seq: int,
        resubmits: Statement | None = None,
    ) -> tuple[Statement, dict[str, Any]]:
        """The payee builds and signs; the payer verifies the statement and its receipt list."""
        draft = build_statement(
            ledgers[payee],
            payee=payee,
            payer=payer,
            period=PERIOD,
            statement_id=f"st-2026-01-{NAMES[payee]}-{NAMES[payer]}-{seq}",
            seq=seq,
            iat=SETTLE,
            resubmits=resubmits,
            rates=fixing,
            code="CNY",
        )
        verified = Statement.from_jws(draft.sign(keys[payee]), trust)
        check_receipt_list(verified, draft.receipt_list)
        check_conversion(verified, fixing)
        return verified, draft.receipt_list

    def answer(
        st: Statement, receipt_list: dict[str, Any], history: PairHistory | None = None
    ) -> Response:
        """The payer reconciles against its ledger and signs; the payee verifies the answer."""
        payer = st.claims.payer
        if history is not None:
            history.check(st)
        draft = reconcile(st, receipt_list, ledgers[payer], iat=SETTLE)
        response = Response.from_jws(draft.sign(keys[payer]), trust)
        check_response(response, st)
        if history is not None:
            history.record(st, response.accepted)
        return response

    # 1. The provider's statement to the home operator.
    first, first_list = statement(PROVIDER, HOME, 1)
    c = first.claims
    print(f"\n== Statement {c.statement_id} (seq {c.seq}) {c.payee} -> {c.payer}, verified")
    for line in c.lines:
        card_ref = f"{line.rate_card.id} ({line.rate_card.digest[:15]}...)"
        print(f"  line {line.model:<14} {card_ref}  count {line.count}  amount {line.amount} UTU")
    conversion = c.conversion
    assert conversion is not None
    print(f"  audit totals: {c.totals.count} receipts, {c.totals.amount} UTU")
    print(f"  Merkle root:  {c.receipts.root}")
    print(
        f"  converted once: {c.totals.amount} UTU = {conversion.amount} {conversion.code} "
        f"(rates {conversion.rates_id}, fixed {day(conversion.fixed_at)})"
    )

    # 2. The home operator reconciles against its own ledger: the lost receipt is missing.
    history = PairHistory()
    response = answer(first, first_list, history)
    r = response.claims
    print(f"\n== Home operator's response: {r.status} (signed, verified by the provider)")
    for dispute in r.disputes:
        print(f"  disputed receipt {dispute.jti}: {dispute.reason}")
    flagged = [c.lines[i].model for i in r.disputed_lines.lines]
    print(f"  flagged line(s): {', '.join(flagged)}; the totals stay unchanged (SET-032)")

    # 3. The provider re-delivers the receipt and resubmits the statement.
    late_verifier = ReceiptVerifier(trust, cards, clock=lambda: SETTLE)
    with trackers[HOME].transaction() as tx:
        tx.track(late_verifier.verify(lost))
    second, second_list = statement(PROVIDER, HOME, 2, resubmits=first)
    c = second.claims
    resubmits = c.resubmits  # the reference the payer's history checks (SET-024)
    assert resubmits is not None
    response = answer(second, second_list, history)
    print(
        f"\n== Resubmission {c.statement_id} (seq {c.seq}) resubmits "
        f"{resubmits.statement_id} ({resubmits.digest[:19]}...)"
    )
    print(
        f"  the missing receipt was re-delivered {day(SETTLE)}, verified and recorded by the payer"
    )
    print(
        f"  response: {response.claims.status}, {len(response.claims.disputes)} disputes; "
        f"accepted total {cny(second)} CNY"
    )
    accepted = [(second, response)]

    # 4. The accepted total is split by the alliance's signed revenue-share agreement.
    share_claims = {
        "iss": ALLIANCE, "ver": "1.0", "iat": T0, "nbf": T0, "exp": T0 + 365 * DAY,
        "agreement_id": "share-2026",
        "parties": [
            {"party": HOME, "share": "0.15"},
            {"party": PROVIDER, "share": "0.8"},
            {"party": ALLIANCE, "share": "0.05"},
        ],
    }  # fmt: skip
    agreement = RevenueShare.from_jws(RevenueShare.sign(share_claims, keys[ALLIANCE]), trust)
    precision = fixing.claims.rates["CNY"].precision
    total_units = int(Decimal(cny(second)).scaleb(precision))
    parts = split(agreement, total_units)
    print(f"\n== Revenue split of {cny(second)} CNY ({agreement.claims.agreement_id})")
    for (party, units), part in zip(parts, agreement.claims.parties, strict=True):
        exact = Decimal(total_units) * Decimal(part.share)
        print(f"  {party:<42} share {part.share:<5} exact {exact:>8} fen -> {units:>5} fen")
    print(f"  largest remainder: parts sum to {sum(u for _, u in parts)} fen = {total_units} fen")

    # 5. The other streams of the month, reconciled and accepted by their payers.
    print("\n== The month's other statements, each verified and reconciled by its payer")
    for payee, payer in ((PROVIDER, PARTNER), (HOME, PARTNER)):
        st, receipt_list = statement(payee, payer, 1)
        response = answer(st, receipt_list)
        print(
            f"  {st.claims.statement_id}: {st.claims.totals.count} receipts, "
            f"{st.claims.totals.amount} UTU = {cny(st)} CNY, {response.claims.status}"
        )
        accepted.append((st, response))

    # 6. The clearing house nets the accepted statements across both alliances.
    report = NettingReport.from_jws(
        NettingReport.sign(
            netting_claims(
                accepted, iss=CLEARING, report_id="net-2026-01", period=PERIOD, iat=SETTLE
            ),
            keys[CLEARING],
        ),
        trust,
    )
    positions = report.raw["positions"]["CNY"]
    print(f"\n== Netting {report.claims.report_id} (signed by the clearing house, verified), CNY")
    print(f"  {'party':<42} {'alliance':<14} {'receivable':>10} {'payable':>10} {'net':>10}")
    for row in positions:
        print(
            f"  {row['party']:<42} {ALLIANCES[row['party']]:<14} {row['receivable']:>10} "
            f"{row['payable']:>10} {row['net']:>10}"
        )
    net_sum = sum((Decimal(row["net"]) for row in positions), Decimal(0))
    print(f"  sum of nets: {net_sum} CNY")
