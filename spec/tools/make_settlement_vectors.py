"""Generate spec/vectors/settlement.json: statements, receipt lists, histories, reconciliation,
responses, revenue splits and netting (spec/settlement.md).

The inputs are synthetic and deterministic: receipt items whose content digests are the SHA-256
of fixed strings, built into statements by the SDK (tokenfed.settlement), then altered by hand
for the negative cases. Expected results and codes are what the SDK reports; every vector is
checked by the independent checker interop/check_vectors.py, which shares no code with the SDK.
Documents are given as claims: the JWS steps are those of CONV-060, covered by jws.json.

Run: python spec/tools/make_settlement_vectors.py [--check]
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tokenfed.errors import TokenfedError
from tokenfed.exchange import ExchangeRates
from tokenfed.settlement import (
    NettingReport,
    PairHistory,
    ReceiptItem,
    Response,
    RevenueShare,
    Statement,
    build_statement,
    check_conversion,
    check_receipt_list,
    net_positions,
    reconcile,
    split_report,
)

SPEC = Path(__file__).resolve().parent.parent
OUT = SPEC / "vectors" / "settlement.json"

DAY = 86400
START, END = 1767225600, 1767225600 + 31 * DAY
ISSUED = END + 3 * DAY
PAYEE = "https://provider-a.example"
PAYER = "https://home.example"
OTHER = "https://home-b.example"
HOUSE = "https://clearing.example"
CARD = {"id": "provider-a-2026-01", "digest": "sha256:" + hashlib.sha256(b"card").hexdigest()}
RATES: dict[str, Any] = {
    "iss": HOUSE,
    "rates_id": "fx-2026-02",
    "ver": "1.0",
    "iat": START,
    "nbf": START,
    "exp": END + 30 * DAY,
    "base": "UTU",
    "rates": {"CNY": {"rate": "7.2", "precision": 2}, "JPY": {"rate": "151.37", "precision": 0}},
}


def _item(seq: int, iat: int, model: str, amount: str) -> ReceiptItem:
    whole, _, fraction = amount.partition(".")
    micro = int(whole) * 10**6 + int(fraction.ljust(6, "0"))
    return ReceiptItem(
        jti=f"r{seq:03d}",
        digest="sha256:" + hashlib.sha256(f"receipt {seq}".encode()).hexdigest(),
        seq=seq,
        iat=iat,
        model=model,
        rate_card_id=CARD["id"],
        rate_card_digest=CARD["digest"],
        micro=micro,
    )


ITEMS = [
    _item(1, START - 2 * DAY, "qwen-max", "0.0064"),  # late: an adjustment
    _item(2, START, "qwen-max", "0.0032"),
    _item(3, START + DAY, "deepseek-r1", "0.01"),
    _item(4, START + 2 * DAY, "qwen-max", "1.234567"),
    _item(5, START + 3 * DAY, "deepseek-r1", "0.5"),
    _item(6, END - 1, "qwen-max", "0.000001"),
    _item(7, END, "qwen-max", "9"),  # the next period: left out
]


def _statement(**options: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    settings: dict[str, Any] = {
        "payee": PAYEE,
        "payer": PAYER,
        "period": (START, END),
        "statement_id": "st-2026-01",
        "seq": 1,
        "iat": ISSUED,
    }
    items = options.pop("items", ITEMS)
    settings.update(options)
    draft = build_statement(items, **settings)
    return copy.deepcopy(draft.claims), copy.deepcopy(draft.receipt_list)


def _outcome(action: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    try:
        return action()
    except TokenfedError as exc:
        return {"error": exc.code}


def build() -> dict[str, Any]:
    vectors: list[dict[str, Any]] = []

    def add(
        vector_id: str,
        description: str,
        requirements: list[str],
        given: dict[str, Any],
        action: Callable[[], dict[str, Any]],
        expect: str | None = None,
    ) -> None:
        expected = _outcome(action)
        if expect is not None and expected.get("error") != expect:
            raise AssertionError(f"{vector_id}: expected {expect}, the SDK gives {expected}")
        if expect is None and "error" in expected:
            raise AssertionError(f"{vector_id}: the SDK rejects it: {expected}")
        vectors.append(
            {
                "id": vector_id,
                "description": description,
                "requirements": requirements,
                "input": given,
                "expected": expected,
            }
        )

    # ------------------------------------------------------------------ statements
    def statement_vector(
        vector_id: str,
        description: str,
        requirements: list[str],
        claims: dict[str, Any],
        rates: dict[str, Any] | None = None,
        expect: str | None = None,
    ) -> None:
        def action() -> dict[str, Any]:
            statement = Statement.from_claims(claims)
            if rates is not None:
                check_conversion(statement, ExchangeRates.from_claims(rates))
            return {"valid": True, "digest": statement.digest}

        given: dict[str, Any] = {"op": "statement", "statement": claims}
        if rates is not None:
            given["rates"] = rates
        add(vector_id, description, requirements, given, action, expect)

    base, base_list = _statement()
    statement_vector(
        "statement-valid",
        "Six receipts of the period in two lines, one late receipt as an adjustment, the "
        "receipt of the next period left out; totals are the exact sums.",
        ["SET-001", "SET-010", "SET-012", "SET-020", "SET-021", "SET-022", "SET-025", "SET-026"],
        base,
    )
    empty, _ = _statement(items=[])
    statement_vector(
        "statement-empty",
        "A period without receipts: no lines, totals zero, the root of the empty tree.",
        ["SET-025", "SET-026"],
        empty,
    )
    bad = copy.deepcopy(base)
    bad["totals"]["amount"] = "1.75"
    statement_vector(
        "statement-totals-amount",
        "totals.amount is not the sum of the lines: the whole statement is rejected.",
        ["SET-025", "SET-002"],
        bad,
        expect="totals_mismatch",
    )
    bad = copy.deepcopy(base)
    bad["totals"]["count"] += 1
    bad["receipts"]["count"] += 1
    statement_vector(
        "statement-totals-count",
        "totals.count (and receipts.count) one more than the lines hold.",
        ["SET-025"],
        bad,
        expect="totals_mismatch",
    )
    bad = copy.deepcopy(base)
    bad["receipts"]["count"] -= 1
    statement_vector(
        "statement-receipts-count",
        "receipts.count differs from totals.count.",
        ["SET-025"],
        bad,
        expect="totals_mismatch",
    )
    bad = copy.deepcopy(base)
    bad["lines"].reverse()
    statement_vector(
        "statement-lines-order",
        "Lines out of the order of model, rate_card.digest.",
        ["SET-021"],
        bad,
        expect="schema_violation",
    )
    bad = copy.deepcopy(base)
    bad["adjustments"].append(copy.deepcopy(bad["adjustments"][0]))
    bad["totals"]["count"] += 1
    bad["receipts"]["count"] += 1
    statement_vector(
        "statement-adjustment-twice",
        "Two adjustment lines with one key (totals adjusted so that only the key is wrong).",
        ["SET-022"],
        bad,
        expect="schema_violation",
    )
    bad = copy.deepcopy(base)
    bad["period"] = {"start": END, "end": END}
    statement_vector(
        "statement-empty-period",
        "A period whose start is not before its end.",
        ["SET-010"],
        bad,
        expect="schema_violation",
    )
    bad = copy.deepcopy(base)
    bad["lines"][0]["amount"] = "0.0100001"
    statement_vector(
        "statement-amount-digits",
        "A line amount with 7 fractional digits (UTU has 6).",
        ["SET-001", "SET-020"],
        bad,
        expect="invalid_amount",
    )
    bad = copy.deepcopy(base)
    bad["ver"] = "2.0"
    statement_vector(
        "statement-version",
        "A statement of major version 2.",
        ["SET-020"],
        bad,
        expect="unsupported_version",
    )
    bad = copy.deepcopy(base)
    bad["resubmits"] = {"statement_id": "st-0", "digest": CARD["digest"]}
    statement_vector(
        "statement-resubmits-seq-1",
        "A first statement of a pair (seq 1) cannot resubmit anything.",
        ["SET-024"],
        bad,
        expect="invalid_resubmission",
    )
    early, _ = _statement(iat=END + 3 * DAY - 1)
    statement_vector(
        "statement-before-grace",
        "Signed one second before period.end + grace (three days).",
        ["SET-011"],
        early,
        expect="period_not_closed",
    )
    on_time, _ = _statement(iat=END, grace=0)
    statement_vector(
        "statement-no-grace",
        "With grace 0 a statement may be signed at the cutoff itself.",
        ["SET-011"],
        on_time,
    )
    rates = ExchangeRates.from_claims(RATES)
    converted, _ = _statement(rates=rates, code="CNY")
    statement_vector(
        "statement-converted",
        "The total 1.754168 UTU at 7.2 CNY is 12.6300096, rounded once to 12.63 CNY.",
        ["SET-027", "SET-002"],
        converted,
        RATES,
    )
    tie_items = [_item(2, START, "qwen-max", "0.00625")]
    tie, _ = _statement(items=tie_items, rates=rates, code="CNY")
    statement_vector(
        "statement-converted-half-even",
        "0.00625 UTU at 7.2 CNY is exactly 0.045, a tie: half to even gives 0.04 CNY.",
        ["SET-027"],
        tie,
        RATES,
    )
    bad = copy.deepcopy(converted)
    bad["conversion"]["amount"] = "12.64"
    statement_vector(
        "statement-converted-wrong",
        "A converted total one cent off (lines converted one by one and summed).",
        ["SET-027"],
        bad,
        RATES,
        expect="totals_mismatch",
    )
    bad = copy.deepcopy(converted)
    bad["conversion"]["fixed_at"] = RATES["exp"]
    statement_vector(
        "statement-rates-expired",
        "The fixing time is the exchange-rate set's exp: the set is not valid then.",
        ["SET-027"],
        bad,
        RATES,
        expect="rates_not_valid",
    )
    bad = copy.deepcopy(converted)
    bad["conversion"]["code"] = "EUR"
    statement_vector(
        "statement-unknown-currency",
        "A converted total in a code the set does not list.",
        ["SET-027"],
        bad,
        RATES,
        expect="unknown_currency",
    )

    for vector_id, amount in (
        ("statement-converted-amount-trailing-zero", "12.630"),
        ("statement-converted-amount-plus", "+12.63"),
        ("statement-converted-amount-exponent", "1.263e1"),
    ):
        bad = copy.deepcopy(converted)
        bad["conversion"]["amount"] = amount
        statement_vector(
            vector_id,
            f"conversion.amount {amount!r} is not a canonical decimal string (CONV-023).",
            ["SET-020", "CONV-023"],
            bad,
            expect="invalid_amount",
        )

    # ------------------------------------------------------------------ receipt lists
    def list_vector(
        vector_id: str,
        description: str,
        requirements: list[str],
        receipt_list: dict[str, Any],
        expect: str | None = None,
        statement: dict[str, Any] = base,
    ) -> None:
        def action() -> dict[str, Any]:
            items = check_receipt_list(Statement.from_claims(statement), receipt_list)
            return {"valid": True, "count": len(items)}

        given = {"op": "receipt-list", "statement": statement, "receipt_list": receipt_list}
        add(vector_id, description, requirements, given, action, expect)

    list_vector("list-valid", "The receipt list of statement-valid.", ["SET-028"], base_list)
    bad = copy.deepcopy(base_list)
    bad["receipts"].pop(2)
    list_vector(
        "list-missing-entry",
        "An entry removed: the Merkle tree head differs.",
        ["SET-026", "SET-028"],
        bad,
        expect="invalid_proof",
    )
    bad = copy.deepcopy(base_list)
    bad["receipts"][1], bad["receipts"][2] = bad["receipts"][2], bad["receipts"][1]
    list_vector(
        "list-order",
        "Two entries swapped: not in the order of seq, jti.",
        ["SET-026", "SET-028"],
        bad,
        expect="invalid_proof",
    )
    bad = copy.deepcopy(base_list)
    bad["receipts"][3]["amount"] = "1.234568"
    list_vector(
        "list-amount",
        "An entry's amount changed: the tree head holds, the lines do not add up.",
        ["SET-028"],
        bad,
        expect="totals_mismatch",
    )
    bad = copy.deepcopy(base_list)
    bad["receipts"][3]["amount"] = "-1.234567"
    list_vector(
        "list-shape",
        "An entry with a negative amount: not a receipt list (schema).",
        ["SET-028"],
        bad,
        expect="schema_violation",
    )
    bad = copy.deepcopy(base_list)
    bad["statement_id"] = "st-other"
    list_vector(
        "list-other-statement",
        "The list of another statement.",
        ["SET-028"],
        bad,
        expect="invalid_proof",
    )

    for vector_id, description, change in (
        (
            "list-digest-uppercase",
            "An entry's digest in uppercase hex: the same bytes, but not of the schema's shape "
            "(a payer must not read it as another receipt's digest and dispute it).",
            lambda entry: entry.update(digest="sha256:" + entry["digest"][7:].upper()),
        ),
        ("list-seq-zero", "An entry with seq 0.", lambda entry: entry.update(seq=0)),
        ("list-jti-space", "An entry whose jti holds a space.", lambda e: e.update(jti="a b")),
        ("list-model-empty", "An entry with an empty model.", lambda e: e.update(model="")),
    ):
        bad = copy.deepcopy(base_list)
        change(bad["receipts"][0])
        list_vector(vector_id, description, ["SET-028"], bad, expect="schema_violation")
    bad = copy.deepcopy(base_list)
    bad["statement_id"] = 7
    list_vector(
        "list-statement-id-number",
        "A statement_id that is a number: not of the schema's shape (before it is compared).",
        ["SET-028"],
        bad,
        expect="schema_violation",
    )

    # ------------------------------------------------------------------ history
    def history_vector(
        vector_id: str,
        description: str,
        requirements: list[str],
        history: dict[str, Any],
        statement: dict[str, Any],
        expect: str | None = None,
    ) -> None:
        def action() -> dict[str, Any]:
            PairHistory.from_json(history).check(Statement.from_claims(statement))
            return {"valid": True}

        given = {"op": "history", "history": history, "statement": statement}
        add(vector_id, description, requirements, given, action, expect)

    base_ref = Statement.from_claims(base).ref
    fresh = {"last_seq": 0, "finalized": [], "disputed": []}
    history_vector("history-first", "The pair's first statement.", ["SET-023"], fresh, base)
    history_vector(
        "history-seq-gap",
        "seq 1 after statements up to seq 1: does not continue the pair's sequence.",
        ["SET-023"],
        {"last_seq": 1, "finalized": [], "disputed": []},
        base,
        expect="chain_break",
    )
    period = {"start": START, "end": END}
    disputed = {
        "last_seq": 1,
        "finalized": [],
        "disputed": [{"period": period, "statement": base_ref}],
    }
    resubmission, _ = _statement(
        statement_id="st-2026-01-b", seq=2, resubmits=Statement.from_claims(base)
    )
    history_vector(
        "history-resubmission",
        "The resubmission of a disputed statement names it.",
        ["SET-024"],
        disputed,
        resubmission,
    )
    plain, _ = _statement(statement_id="st-2026-01-b", seq=2)
    history_vector(
        "history-resubmission-without-reference",
        "A second statement for a disputed period without resubmits.",
        ["SET-024"],
        disputed,
        plain,
        expect="invalid_resubmission",
    )
    history_vector(
        "history-reference-not-disputed",
        "resubmits names a statement the payer did not dispute.",
        ["SET-024"],
        {"last_seq": 1, "finalized": [], "disputed": []},
        resubmission,
        expect="invalid_resubmission",
    )
    history_vector(
        "history-finalized",
        "A statement for a period whose statement was accepted: finalized, immutable.",
        ["SET-013"],
        {"last_seq": 1, "finalized": [period], "disputed": []},
        plain,
        expect="invalid_resubmission",
    )

    history_vector(
        "history-grace-agreed",
        "The statement applies the grace window the pair agreed.",
        ["SET-014"],
        {**fresh, "grace": base["grace"]},
        base,
    )
    history_vector(
        "history-grace-shorter-than-agreed",
        "grace 0 in the statement, three days agreed: the payee closed the period early.",
        ["SET-014"],
        {**fresh, "grace": base["grace"]},
        {**base, "grace": 0},
        expect="period_not_closed",
    )
    history_vector(
        "history-grace-checked-before-seq",
        "A statement whose grace and seq are both wrong: the agreed window is checked first.",
        ["SET-014"],
        {"last_seq": 1, "finalized": [], "disputed": [], "grace": base["grace"] + 1},
        base,
        expect="period_not_closed",
    )

    # ------------------------------------------------------------------ reconciliation
    def reconcile_vector(
        vector_id: str,
        description: str,
        requirements: list[str],
        held: dict[str, str],
        rejected: list[dict[str, str]],
    ) -> None:
        def action() -> dict[str, Any]:
            statement = Statement.from_claims(base)
            codes = {(r["iss"], r["jti"]): r["code"] for r in rejected}
            claims = reconcile(statement, base_list, held, iat=ISSUED + DAY, rejected=codes).claims
            Response.from_claims(claims)
            return {k: claims[k] for k in ("status", "disputes", "disputed_lines")}

        given = {
            "op": "reconcile",
            "statement": base,
            "receipt_list": base_list,
            "held": held,
            "rejected": rejected,
        }
        add(vector_id, description, requirements, given, action)

    everything = {item.jti: item.digest for item in ITEMS[:6]}
    reconcile_vector(
        "reconcile-accept",
        "The payer holds exactly the listed receipts: accept.",
        ["SET-030", "SET-031"],
        everything,
        [],
    )
    held = dict(everything)
    del held["r003"], held["r004"]
    held["r005"] = "sha256:" + hashlib.sha256(b"other content").hexdigest()
    held["r099"] = "sha256:" + hashlib.sha256(b"receipt 99").hexdigest()
    reconcile_vector(
        "reconcile-dispute",
        "r003 missing at the payer; r004 rejected by the payer's verifier (amount_mismatch); "
        "r005 held with other content (replay); r099 held but not listed (missing at payee). "
        "The lines holding r003..r005 are flagged; the totals stay.",
        ["SET-030", "SET-031", "SET-032"],
        held,
        [{"iss": PAYEE, "jti": "r004", "code": "amount_mismatch"}],
    )

    # ------------------------------------------------------------------ responses
    def response_vector(
        vector_id: str,
        description: str,
        requirements: list[str],
        claims: dict[str, Any],
        expect: str | None = None,
    ) -> None:
        def action() -> dict[str, Any]:
            return {"valid": True, "digest": Response.from_claims(claims).digest}

        add(
            vector_id,
            description,
            requirements,
            {"op": "response", "response": claims},
            action,
            expect,
        )

    accept = reconcile(Statement.from_claims(base), base_list, everything, iat=ISSUED + DAY).claims
    response_vector("response-accept", "An acceptance.", ["SET-031", "SET-033"], accept)
    bad = copy.deepcopy(accept)
    bad["status"] = "dispute"
    response_vector(
        "response-dispute-without-disputes",
        "status dispute with no disputed receipt.",
        ["SET-031"],
        bad,
        expect="schema_violation",
    )
    bad = copy.deepcopy(accept)
    bad["disputes"] = [
        {"iss": PAYEE, "jti": "r002", "reason": "missing_at_payer", "code": "replay"}
    ]
    bad["status"] = "dispute"
    response_vector(
        "response-code-without-failure",
        "A dispute with a code whose reason is not failed_verification.",
        ["SET-031"],
        bad,
        expect="schema_violation",
    )

    # ------------------------------------------------------------------ splits
    def agreement(shares: list[tuple[str, str]]) -> dict[str, Any]:
        return {
            "iss": HOUSE,
            "ver": "1.0",
            "iat": START,
            "nbf": START,
            "exp": END + 365 * DAY,
            "agreement_id": "share-2026",
            "parties": [{"party": party, "share": share} for party, share in shares],
        }

    def split_vector(
        vector_id: str,
        description: str,
        requirements: list[str],
        claims: dict[str, Any],
        total: str,
        code: str,
        precision: int,
        expect: str | None = None,
    ) -> None:
        def action() -> dict[str, Any]:
            return split_report(RevenueShare.from_claims(claims), total, code, precision)

        given = {
            "op": "split",
            "agreement": claims,
            "total": total,
            "code": code,
            "precision": precision,
        }
        add(vector_id, description, requirements, given, action, expect)

    trio = agreement(
        [
            ("https://operator.example", "0.7"),
            ("https://provider.example", "0.2"),
            ("https://alliance.example", "0.1"),
        ]
    )
    split_vector(
        "split-operator-provider-alliance",
        "12.63 CNY split 70/20/10: 8.84 + 2.53 + 1.26 = 12.63 (remainders .1, .6, .3).",
        ["SET-040", "SET-041", "SET-042"],
        trio,
        "12.63",
        "CNY",
        2,
    )
    thirds = agreement(
        [
            ("https://c.example", "0.333333"),
            ("https://b.example", "0.333333"),
            ("https://a.example", "0.333334"),
        ]
    )
    split_vector(
        "split-thirds",
        "1.00 in thirds: 0.333334 gets 34, then the tie of equal remainders and shares goes to "
        "the party first in code point order (a before b before c): 33, 33.",
        ["SET-041"],
        thirds,
        "1",
        "CNY",
        2,
    )
    halves = agreement([("https://b.example", "0.5"), ("https://a.example", "0.5")])
    split_vector(
        "split-tie-code-point-order",
        "3 points split in halves: the leftover point goes to https://a.example, first in code "
        "point order, though it is listed second.",
        ["SET-041"],
        halves,
        "3",
        "sht.points",
        0,
    )
    split_vector(
        "split-negative",
        "-3 points in halves: the split of 3, negated part by part.",
        ["SET-041"],
        halves,
        "-3",
        "sht.points",
        0,
    )
    many = agreement(
        [(f"https://p{i:02d}.example", "0.03") for i in range(30)]
        + [("https://anchor.example", "0.1")]
    )
    split_vector(
        "split-many-small-parties",
        "0.99 CNY among 31 parties (30 at 3 %, one at 10 %): 99 units leave 13 leftover "
        "units after the floors; equal remainders, so the larger share and then code point "
        "order decide.",
        ["SET-041"],
        many,
        "0.99",
        "CNY",
        2,
    )
    split_vector(
        "split-shares-not-one",
        "Shares adding up to 0.999999.",
        ["SET-040"],
        agreement([("https://a.example", "0.5"), ("https://b.example", "0.499999")]),
        "1",
        "CNY",
        2,
        expect="invalid_shares",
    )
    split_vector(
        "split-party-twice",
        "One party listed twice.",
        ["SET-040"],
        agreement([("https://a.example", "0.5"), ("https://a.example", "0.5")]),
        "1",
        "CNY",
        2,
        expect="schema_violation",
    )
    split_vector(
        "split-share-digits",
        "A share with 7 fractional digits.",
        ["SET-040"],
        agreement([("https://a.example", "0.5000001"), ("https://b.example", "0.4999999")]),
        "1",
        "CNY",
        2,
        expect="invalid_amount",
    )

    # ------------------------------------------------------------------ netting
    def response_for(statement: dict[str, Any], status: str = "accept") -> dict[str, Any]:
        document = Statement.from_claims(statement)
        claims = document.claims
        return {
            "iss": claims.payer,
            "ver": "1.0",
            "iat": ISSUED + DAY,
            "statement": document.ref,
            "payee": claims.payee,
            "payer": claims.payer,
            "period": {"start": START, "end": END},
            "seq": claims.seq,
            "status": status,
            "disputes": []
            if status == "accept"
            else [{"iss": claims.payee, "jti": "r002", "reason": "missing_at_payer"}],
            "disputed_lines": {"lines": [], "adjustments": []},
        }

    def pair_statement(payee: str, payer: str, amount: str, code: str = "CNY") -> dict[str, Any]:
        items = [_item(2, START, "qwen-max", amount)]
        claims, _ = _statement(
            items=items,
            payee=payee,
            payer=payer,
            statement_id=f"st-{len(payee)}-{len(payer)}",
            rates=rates,
            code=code,
        )
        return claims

    a_to_b = pair_statement(PAYEE, PAYER, "10.5")
    b_to_c = pair_statement(PAYER, OTHER, "3.25")
    c_to_a = pair_statement(OTHER, PAYEE, "7.000001")
    a_to_c_jpy = pair_statement(PAYEE, OTHER, "2", code="JPY")

    def net_vector(
        vector_id: str,
        description: str,
        requirements: list[str],
        pairs: list[tuple[dict[str, Any], dict[str, Any]]],
        expect: str | None = None,
    ) -> None:
        def action() -> dict[str, Any]:
            statements, positions = net_positions(
                (Statement.from_claims(s), Response.from_claims(r)) for s, r in pairs
            )
            return {"statements": [s.digest for s in statements], "positions": positions}

        given = {
            "op": "net",
            "pairs": [{"statement": s, "response": r} for s, r in pairs],
        }
        add(vector_id, description, requirements, given, action, expect)

    net_vector(
        "net-three-parties-two-currencies",
        "Three parties of two alliances, a cycle in CNY and one statement in JPY, one "
        "statement offered twice (netted once); nets add up to zero per currency, gross kept.",
        ["SET-050", "SET-051", "SET-052"],
        [
            (a_to_b, response_for(a_to_b)),
            (b_to_c, response_for(b_to_c)),
            (c_to_a, response_for(c_to_a)),
            (a_to_c_jpy, response_for(a_to_c_jpy)),
            (a_to_b, response_for(a_to_b)),
        ],
    )
    net_vector(
        "net-utu",
        "Statements without conversion are netted in UTU.",
        ["SET-051"],
        [(base, response_for(base))],
    )
    net_vector(
        "net-disputed",
        "A statement whose payer disputed it cannot be netted.",
        ["SET-050"],
        [(a_to_b, response_for(a_to_b)), (b_to_c, response_for(b_to_c, "dispute"))],
        expect="statement_not_accepted",
    )
    net_vector(
        "net-response-of-another-statement",
        "A statement offered with the acceptance of another statement.",
        ["SET-033", "SET-050"],
        [(a_to_b, response_for(b_to_c))],
        expect="invalid_resubmission",
    )

    net_vector(
        "net-acceptance-signed-by-the-payee",
        "An acceptance whose iss is the payee, not the payer: only the payer answers for itself.",
        ["SET-033", "SET-050"],
        [(a_to_b, dict(response_for(a_to_b), iss=PAYEE))],
        expect="invalid_resubmission",
    )

    # ------------------------------------------------------------------ netting reports
    statements, positions = net_positions(
        (Statement.from_claims(s), Response.from_claims(response_for(s)))
        for s in (a_to_b, b_to_c, c_to_a)
    )
    report = {
        "iss": HOUSE,
        "ver": "1.0",
        "iat": ISSUED + 2 * DAY,
        "report_id": "net-2026-01",
        "period": {"start": START, "end": END},
        "statements": [
            {"statement_id": s.claims.statement_id, "iss": s.claims.iss, "digest": s.digest}
            for s in statements
        ],
        "positions": positions,
    }

    def report_vector(
        vector_id: str,
        description: str,
        requirements: list[str],
        claims: dict[str, Any],
        expect: str | None = None,
    ) -> None:
        def action() -> dict[str, Any]:
            return {"valid": True, "digest": NettingReport.from_claims(claims).digest}

        add(
            vector_id,
            description,
            requirements,
            {"op": "netting-report", "report": claims},
            action,
            expect,
        )

    report_vector(
        "report-valid", "The netting report of three statements.", ["SET-052", "SET-053"], report
    )
    bad = copy.deepcopy(report)
    bad["positions"]["CNY"][0]["net"] = "0"
    report_vector(
        "report-net-not-gross",
        "A net that is not receivable - payable.",
        ["SET-053"],
        bad,
        expect="totals_mismatch",
    )
    bad = copy.deepcopy(report)
    row = bad["positions"]["CNY"][0]
    row["receivable"] = row["net"] = "1000"
    row["payable"] = "0"
    report_vector(
        "report-nets-not-zero",
        "Each row consistent, but the nets of CNY do not add up to zero.",
        ["SET-053"],
        bad,
        expect="totals_mismatch",
    )
    bad = copy.deepcopy(report)
    bad["positions"]["CNY"][0]["receivable"] += (
        "0" if "." in bad["positions"]["CNY"][0]["receivable"] else ".0"
    )
    report_vector(
        "report-receivable-not-canonical",
        "A receivable with a trailing fractional zero: not a canonical decimal (CONV-023).",
        ["SET-053", "CONV-023"],
        bad,
        expect="invalid_amount",
    )
    bad = copy.deepcopy(report)
    bad["positions"]["CNY"].append(copy.deepcopy(bad["positions"]["CNY"][0]))
    report_vector(
        "report-party-twice",
        "A party with two positions in one currency.",
        ["SET-053"],
        bad,
        expect="totals_mismatch",
    )

    return {
        "$schema": "../schemas/vectors.schema.json",
        "kind": "settlement",
        "spec_version": "1.0",
        "description": (
            "Settlement (spec/settlement.md). Input: {op, ...}. op statement: {statement: "
            "claims, rates?: exchange-rate claims} -> {valid, digest} (SET-020 after the JWS "
            "steps; SET-027 when rates are given). op receipt-list: {statement, receipt_list} "
            "-> {valid, count} (SET-028). op history: {history, statement} -> {valid} "
            "(SET-013, SET-023, SET-024). op reconcile: {statement, receipt_list, held: "
            "{jti: content digest}, rejected: [{iss, jti, code}]} -> {status, disputes, "
            "disputed_lines} (SET-030..SET-032). op response: {response} -> {valid, digest}. "
            "op split: {agreement, total, code, precision} -> the report of SET-042. op net: "
            "{pairs: [{statement, response}]} -> {statements: digests, positions} (SET-050, "
            "SET-051). op netting-report: {report} -> {valid, digest} (SET-053). Or {error}."
        ),
        "provenance": (
            "Generated by spec/tools/make_settlement_vectors.py from synthetic receipt items "
            "(content digests are SHA-256 of fixed strings) with tokenfed.settlement; negative "
            "cases altered by hand from valid documents. Checked by the independent checker "
            "interop/check_vectors.py (kind settlement), which does not import tokenfed."
        ),
        "vectors": vectors,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail if the file would change")
    args = parser.parse_args()
    text = json.dumps(build(), indent=1, ensure_ascii=False) + "\n"
    if args.check:
        if not OUT.exists() or OUT.read_text(encoding="utf-8") != text:
            print(f"{OUT} is out of date; run {Path(__file__).name}", file=sys.stderr)
            return 1
        return 0
    OUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
