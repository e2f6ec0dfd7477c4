"""Profile ``settlement``: statements, receipt lists, pair histories, reconciliation, revenue
splits and netting (settlement chapter).

Static cases: every vector of ``spec/vectors/settlement.json``, its documents signed by the
suite with a published test key listed in the trust store under each document's ``iss``.
Generated cases, from the seed: statements built from random receipt lists (lines, audit totals
and Merkle root computed by the suite's reference), each presented intact and with one defect
whose code is fixed by the defect; revenue splits of random totals among random shares,
including remainder ties; netting of random accepted statements between a few parties,
including a cycle whose nets are all zero and a statement offered twice.
"""

from __future__ import annotations

import hashlib
import random
from copy import deepcopy
from dataclasses import replace
from typing import Any

from .. import _settlement as ref
from .._codec import digest, jcs
from .._crypto import SuiteKey
from ..cases import Call, Case, Expect
from ..vectors import Vector, load_vectors
from ._common import seeded, sign_claims, skip_vector, test_key, trust_store, vector_case

__all__ = ["build"]

PROFILE = "settlement"
TYP_STATEMENT = "tokenfed-settlement-statement+jwt"
TYP_RESPONSE = "tokenfed-settlement-response+jwt"
TYP_REVENUE_SHARE = "tokenfed-revenue-share+jwt"
TYP_NETTING_REPORT = "tokenfed-netting-report+jwt"
TYP_RATES = "tokenfed-exchange-rates+jwt"

_KINDS = {
    "statement": TYP_STATEMENT,
    "response": TYP_RESPONSE,
    "netting-report": TYP_NETTING_REPORT,
}
_SIGNER = "provider-a"


class _Signer:
    """Signs the suite's documents with one key and collects the trust store listing it under
    every issuer signed for."""

    def __init__(self, key: SuiteKey) -> None:
        self.key = key
        self.issuers: set[str] = set()

    def sign(self, claims: dict[str, Any], typ: str) -> str:
        self.issuers.add(claims["iss"])
        return sign_claims(self.key, claims, typ)

    def trust(self) -> dict[str, Any]:
        return trust_store({iss: [self.key.public_jwk(nbf=0)] for iss in sorted(self.issuers)})


def _claims_digest(claims: dict[str, Any]) -> str:
    """The digest of a document the suite signed (CONV-031 of its JCS payload)."""
    return digest(jcs(claims))


def _expect(vector: Vector, output: dict[str, Any] | None) -> Expect:
    if vector.error is not None:
        return Expect(error=vector.error)
    return Expect(output=output)


# --------------------------------------------------------------------------- vectors


def _vector_case(vector: Vector) -> Case | None:
    data = vector.input
    op = data.get("op")
    signer = _Signer(test_key(_SIGNER))
    expected = vector.expected
    if op == "statement":
        call: dict[str, Any] = {
            "kind": "statement",
            "document": signer.sign(data["statement"], TYP_STATEMENT),
        }
        if "rates" in data:
            call["rates"] = signer.sign(data["rates"], TYP_RATES)
        call["trust"] = signer.trust()
        output = {"claims": data["statement"], "digest": expected.get("digest")}
        return vector_case(
            PROFILE, "settlement", vector, "verify-settlement", call, _expect(vector, output)
        )
    if op in ("response", "netting-report"):
        member = "response" if op == "response" else "report"
        document = data[member]
        call = {"kind": op, "document": signer.sign(document, _KINDS[op])}
        call["trust"] = signer.trust()
        output = {"claims": document, "digest": expected.get("digest")}
        return vector_case(
            PROFILE, "settlement", vector, "verify-settlement", call, _expect(vector, output)
        )
    if op == "receipt-list":
        call = {
            "statement": signer.sign(data["statement"], TYP_STATEMENT),
            "receipt_list": data["receipt_list"],
        }
        call["trust"] = signer.trust()
        output = {"count": expected.get("count")}
        return vector_case(
            PROFILE, "settlement", vector, "check-receipt-list", call, _expect(vector, output)
        )
    if op == "history":
        call = {
            "statement": signer.sign(data["statement"], TYP_STATEMENT),
            "history": data["history"],
        }
        call["trust"] = signer.trust()
        output = {"digest": _claims_digest(data["statement"])}
        return vector_case(
            PROFILE, "settlement", vector, "check-history", call, _expect(vector, output)
        )
    if op == "reconcile":
        call = {
            "statement": signer.sign(data["statement"], TYP_STATEMENT),
            "receipt_list": data["receipt_list"],
            "held": data["held"],
            "rejected": data["rejected"],
        }
        call["trust"] = signer.trust()
        return vector_case(
            PROFILE, "settlement", vector, "reconcile", call, _expect(vector, dict(expected))
        )
    if op == "split":
        call = {
            "agreement": signer.sign(data["agreement"], TYP_REVENUE_SHARE),
            "total": data["total"],
            "code": data["code"],
            "precision": data["precision"],
        }
        call["trust"] = signer.trust()
        return vector_case(PROFILE, "settlement", vector, "split", call, _expect(vector, expected))
    if op == "net":
        pairs = [
            {
                "statement": signer.sign(pair["statement"], TYP_STATEMENT),
                "response": signer.sign(pair["response"], TYP_RESPONSE),
            }
            for pair in data["pairs"]
        ]
        call = {"pairs": pairs, "trust": signer.trust()}
        return vector_case(PROFILE, "settlement", vector, "net", call, _expect(vector, expected))
    skip_vector(f"spec/vectors/settlement.json#{vector.id}", f"no operation for op {op!r}")
    return None


def _vector_cases() -> list[Case]:
    cases = []
    for vector in load_vectors("settlement"):
        case = _vector_case(vector)
        if case is not None:
            cases.append(case)
    return cases


# --------------------------------------------------------------------------- generated

_PAYEE = "https://provider-a.example"
_PAYER = "https://home.example"
_START, _END = 1767225600, 1769904000  # January 2026
_GRACE = 259200
_MODELS = ("deepseek-r1", "glm-4", "qwen-max", "qwen-turbo")


def _case(
    name: str,
    requirements: tuple[str, ...],
    reason: str,
    op: str,
    data: dict[str, Any],
    expect: Expect,
) -> Case:
    return Case(
        id=f"{PROFILE}/gen/{name}",
        profile=PROFILE,
        requirements=requirements,
        reason=reason,
        calls=(Call(op, data, expect),),
        source="generated",
    )


def _rate_card(rng: random.Random) -> dict[str, str]:
    index = rng.randrange(2)
    return {
        "id": f"provider-a-2026-0{index + 1}",
        "digest": "sha256:" + hashlib.sha256(f"rate card {index}".encode()).hexdigest(),
    }


def _receipt_list(rng: random.Random, index: int) -> tuple[str, list[dict[str, Any]]]:
    """A statement id and its receipt list entries, in the order of SET-026 (seq, jti)."""
    statement_id = f"st-gen-{index}"
    entries = []
    cards = [_rate_card(rng) for _ in range(2)]
    for seq in range(1, rng.randrange(1, 14) + 1):
        late = rng.random() < 0.2
        iat = rng.randrange(_START - 86400 * 20, _START) if late else rng.randrange(_START, _END)
        micro = rng.choice([0, 1, 5, 999_999, rng.randrange(1, 50_000_000)])
        entries.append(
            {
                "jti": f"r{index:02d}-{seq:03d}",
                "digest": "sha256:"
                + hashlib.sha256(
                    f"receipt {index} {seq} {rng.randbytes(8).hex()}".encode()
                ).hexdigest(),
                "seq": seq,
                "iat": iat,
                "model": rng.choice(_MODELS),
                "rate_card": rng.choice(cards),
                "amount": ref.utu(micro),
            }
        )
    return statement_id, entries


def _statement(statement_id: str, entries: list[dict[str, Any]]) -> dict[str, Any]:
    """The statement claims of the suite's reference for a receipt list (SET-020..SET-026)."""
    lines = ref.lines_of([e for e in entries if e["iat"] >= _START])
    adjustments = ref.lines_of([e for e in entries if e["iat"] < _START])
    amount = sum((ref.fraction_of(e["amount"]) for e in entries), start=ref.fraction_of("0"))
    return {
        "iss": _PAYEE,
        "ver": "1.0",
        "iat": _END + _GRACE,
        "statement_id": statement_id,
        "payee": _PAYEE,
        "payer": _PAYER,
        "period": {"start": _START, "end": _END},
        "grace": _GRACE,
        "seq": 1,
        "lines": lines,
        "adjustments": adjustments,
        "totals": {"count": len(entries), "amount": ref.to_decimal(amount)},
        "receipts": {
            "count": len(entries),
            "root": ref.receipts_root([e["digest"] for e in entries]),
        },
    }


def _statement_cases(rng: random.Random) -> list[Case]:
    cases = []
    signer = _Signer(test_key(_SIGNER))
    for index in range(6):
        statement_id, entries = _receipt_list(rng, index)
        claims = _statement(statement_id, entries)
        listing = {"statement_id": statement_id, "receipts": entries}
        token = signer.sign(claims, TYP_STATEMENT)
        trust = signer.trust()
        name = f"statement-{index}"
        cases.append(
            _case(
                name,
                ("SET-001", "SET-020", "SET-021", "SET-022", "SET-025"),
                f"A statement of {len(entries)} receipts whose lines, adjustments and audit "
                "totals are the exact sums of its receipt list: it is accepted as signed.",
                "verify-settlement",
                {"kind": "statement", "document": token, "trust": trust},
                Expect(output={"claims": claims, "digest": _claims_digest(claims)}),
            )
        )
        cases.append(
            _case(
                f"{name}-list",
                ("SET-010", "SET-012", "SET-026", "SET-028"),
                "The receipt list the statement was built from (receipts of the period in "
                "lines, late ones of earlier periods in adjustments): ordered by seq then jti, its "
                "Merkle tree head is receipts.root and its groups are the lines.",
                "check-receipt-list",
                {"statement": token, "receipt_list": listing, "trust": trust},
                Expect(output={"count": len(entries)}),
            )
        )
        cases += _statement_defects(rng, signer, name, claims, listing)
    return cases


def _statement_defects(
    rng: random.Random,
    signer: _Signer,
    name: str,
    claims: dict[str, Any],
    listing: dict[str, Any],
) -> list[Case]:
    cases = []
    lines = claims["lines"] or claims["adjustments"]
    if lines:
        bad = deepcopy(claims)
        total = ref.fraction_of(bad["totals"]["amount"]) + ref.fraction_of("0.000001")
        bad["totals"]["amount"] = ref.to_decimal(total)
        cases.append(
            _case(
                f"{name}-totals-amount",
                ("SET-025",),
                "totals.amount is one micro-UTU more than the exact sum of the lines and "
                "adjustments: the whole statement is rejected.",
                "verify-settlement",
                {
                    "kind": "statement",
                    "document": signer.sign(bad, TYP_STATEMENT),
                    "trust": signer.trust(),
                },
                Expect(error="totals_mismatch"),
            )
        )
        bad = deepcopy(claims)
        member = "lines" if bad["lines"] else "adjustments"
        line = bad[member][rng.randrange(len(bad[member]))]
        line["count"] += 1
        cases.append(
            _case(
                f"{name}-line-count",
                ("SET-025",),
                f"One line of {member} counts one receipt more than totals.count says.",
                "verify-settlement",
                {
                    "kind": "statement",
                    "document": signer.sign(bad, TYP_STATEMENT),
                    "trust": signer.trust(),
                },
                Expect(error="totals_mismatch"),
            )
        )
    if len(listing["receipts"]) >= 2:
        swapped = deepcopy(listing)
        entries = swapped["receipts"]
        entries[0], entries[1] = entries[1], entries[0]
        cases.append(
            _case(
                f"{name}-list-order",
                ("SET-026", "SET-028"),
                "The receipt list with its first two entries swapped: not in the order of "
                "SET-026, and its tree head is not receipts.root.",
                "check-receipt-list",
                {
                    "statement": signer.sign(claims, TYP_STATEMENT),
                    "receipt_list": swapped,
                    "trust": signer.trust(),
                },
                Expect(error="invalid_proof"),
            )
        )
        other = deepcopy(listing)
        victim = other["receipts"][-1]
        victim["digest"] = "sha256:" + hashlib.sha256(victim["digest"].encode()).hexdigest()
        cases.append(
            _case(
                f"{name}-list-other-digest",
                ("SET-026", "SET-028"),
                "The receipt list with another content digest for its last receipt: the Merkle "
                "tree head no longer matches receipts.root.",
                "check-receipt-list",
                {
                    "statement": signer.sign(claims, TYP_STATEMENT),
                    "receipt_list": other,
                    "trust": signer.trust(),
                },
                Expect(error="invalid_proof"),
            )
        )
    return cases


def _key_cases() -> list[Case]:
    """SET-060: a statement read only verified, with a key listed under its iss."""
    claims = _statement("st-gen-key", [])
    attacker = test_key("attacker")
    trusted = test_key(_SIGNER)
    late = trust_store({_PAYEE: [trusted.public_jwk(nbf=claims["iat"] + 1)]})
    return [
        _case(
            "statement-unknown-key",
            ("SET-060",),
            "A statement signed with a key no trust-store entry of its iss lists.",
            "verify-settlement",
            {
                "kind": "statement",
                "document": sign_claims(attacker, claims, TYP_STATEMENT),
                "trust": trust_store({_PAYEE: [trusted.public_jwk(nbf=0)]}),
            },
            Expect(error="unknown_key"),
        ),
        _case(
            "statement-key-not-valid",
            ("SET-060",),
            "A statement signed with its issuer's key before that key's nbf.",
            "verify-settlement",
            {
                "kind": "statement",
                "document": sign_claims(trusted, claims, TYP_STATEMENT),
                "trust": late,
            },
            Expect(error="key_not_valid"),
        ),
    ]


# --------------------------------------------------------------------------- splits


def _agreement(parties: list[tuple[str, str]]) -> dict[str, Any]:
    return {
        "iss": "https://clearing.example",
        "ver": "1.0",
        "iat": 1767225600,
        "nbf": 1767225600,
        "exp": 1801440000,
        "agreement_id": "share-gen",
        "parties": [{"party": party, "share": share} for party, share in parties],
    }


def _random_shares(rng: random.Random, count: int) -> list[str]:
    scale = 10**ref.SHARE_PLACES
    cuts = sorted(rng.sample(range(1, scale), count - 1))
    parts = [b - a for a, b in zip([0, *cuts], [*cuts, scale], strict=True)]
    return [ref.to_decimal(ref.fraction_of(str(p)) / scale) for p in parts]


def _split_case(
    name: str, reason: str, parties: list[tuple[str, str]], total: str, code: str, precision: int
) -> Case:
    signer = _Signer(test_key(_SIGNER))
    agreement = _agreement(parties)
    parts = ref.split(parties, total, precision)
    output = {
        "agreement_id": agreement["agreement_id"],
        "code": code,
        "total": total,
        "parts": [{"party": party, "amount": amount} for party, amount in parts],
    }
    data = {
        "agreement": signer.sign(agreement, TYP_REVENUE_SHARE),
        "total": total,
        "code": code,
        "precision": precision,
    }
    data["trust"] = signer.trust()
    return _case(
        name, ("SET-040", "SET-041", "SET-042"), reason, "split", data, Expect(output=output)
    )


def _split_cases(rng: random.Random) -> list[Case]:
    thirds = [
        ("https://c.example", "0.333333"),
        ("https://b.example", "0.333333"),
        ("https://a.example", "0.333334"),
    ]
    cases = [
        _split_case(
            "split-round-once",
            "100 units in thirds: rounding each part on its own gives 33 + 33 + 33 = 99; the "
            "largest remainder gives the unit left over to one party and the parts add up.",
            thirds,
            "1",
            "CNY",
            2,
        ),
        _split_case(
            "split-tie-many",
            "7 units among ten equal shares: every remainder ties, so the units go to the "
            "seven parties first in code point order, whatever their order in the agreement.",
            [(f"https://p{i}.example", "0.1") for i in (3, 9, 0, 7, 1, 8, 2, 6, 4, 5)],
            "7",
            "sht.points",
            0,
        ),
    ]
    codes = (("CNY", 2), ("JPY", 0), ("KWD", 3), ("UTU", 6))
    for index in range(10):
        count = rng.choice([2, 3, 5, 8, 17, 40])
        names = rng.sample(range(100), count)
        parties = list(
            zip(
                [f"https://party{n:02d}.example" for n in names],
                _random_shares(rng, count),
                strict=True,
            )
        )
        code, precision = rng.choice(codes)
        units = rng.choice([0, 1, count - 1, rng.randrange(10**9)])
        if rng.random() < 0.25:
            units = -units
        total = ref.to_decimal(ref.fraction_of(str(units)) / 10**precision)
        cases.append(
            _split_case(
                f"split-{index}",
                f"{total} {code} split among {count} parties by largest remainder; the "
                "expected parts are the suite's exact reference and add up to the total.",
                parties,
                total,
                code,
                precision,
            )
        )
    return cases


# --------------------------------------------------------------------------- netting


def _bilateral(
    signer: _Signer, index: int, payee: str, payer: str, micro: int, code: str | None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """An accepted statement of one receipt and its response, as claims and call member."""
    amount = ref.utu(micro)
    claims: dict[str, Any] = {
        "iss": payee,
        "ver": "1.0",
        "iat": _END + _GRACE,
        "statement_id": f"st-net-{index}",
        "payee": payee,
        "payer": payer,
        "period": {"start": _START, "end": _END},
        "grace": _GRACE,
        "seq": 1,
        "lines": [
            {
                "model": "qwen-max",
                "rate_card": {"id": "provider-a-2026-01", "digest": _rate_card_digest()},
                "count": 1,
                "amount": amount,
            }
        ],
        "adjustments": [],
        "totals": {"count": 1, "amount": amount},
        "receipts": {"count": 1, "root": ref.receipts_root([_rate_card_digest()])},
    }
    if code is not None:
        claims["conversion"] = {
            "code": code,
            "rates_id": "fx-2026-02",
            "rates_digest": _rate_card_digest(),
            "fixed_at": _END,
            # 7 units of the currency per UTU, truncated to cents: the statement is read
            # without its exchange-rate set, so only the amount's form matters here.
            "amount": ref.to_decimal(ref.fraction_of(str(micro * 7 // 10**4)) / 100),
        }
    response = {
        "iss": payer,
        "ver": "1.0",
        "iat": _END + _GRACE + 86400,
        "statement": {"statement_id": claims["statement_id"], "digest": _claims_digest(claims)},
        "payee": payee,
        "payer": payer,
        "period": {"start": _START, "end": _END},
        "seq": 1,
        "status": "accept",
        "disputes": [],
        "disputed_lines": {"lines": [], "adjustments": []},
    }
    pair = {
        "statement": signer.sign(claims, TYP_STATEMENT),
        "response": signer.sign(response, TYP_RESPONSE),
    }
    return claims, pair


def _rate_card_digest() -> str:
    return "sha256:" + hashlib.sha256(b"rate card 0").hexdigest()


def _net_case(
    name: str,
    reason: str,
    requirements: tuple[str, ...],
    flows: list[tuple[str, str, int, str | None]],
    repeat: int | None = None,
) -> Case:
    signer = _Signer(test_key(_SIGNER))
    statements, pairs = [], []
    for index, (payee, payer, micro, code) in enumerate(flows):
        claims, pair = _bilateral(signer, index, payee, payer, micro, code)
        statements.append(claims)
        pairs.append(pair)
    if repeat is not None:
        statements.append(statements[repeat])
        pairs.append(pairs[repeat])
    expected = ref.net(statements, [_claims_digest(c) for c in statements])
    return _case(
        name,
        requirements,
        reason,
        "net",
        {"pairs": pairs, "trust": signer.trust()},
        Expect(output=expected),
    )


def _net_cases(rng: random.Random) -> list[Case]:
    a, b, c = (f"https://op-{x}.example" for x in "abc")
    cases = [
        _net_case(
            "net-cycle-zero",
            "a owes b, b owes c and c owes a the same amount: every net is zero, and every "
            "party keeps its position with its gross receivable and payable.",
            ("SET-051", "SET-052"),
            [(b, a, 1_250_000, None), (c, b, 1_250_000, None), (a, c, 1_250_000, None)],
        ),
        _net_case(
            "net-offered-twice",
            "The same accepted statement offered twice is netted once.",
            ("SET-050", "SET-051"),
            [(b, a, 3_000_001, None), (a, b, 1_000_000, "CNY")],
            repeat=0,
        ),
    ]
    parties = [f"https://carrier{n}.example" for n in range(6)]
    for index in range(5):
        flows = []
        for _ in range(rng.randrange(2, 9)):
            payee, payer = rng.sample(parties, 2)
            flows.append(
                (payee, payer, rng.randrange(1, 10**9), rng.choice([None, None, "CNY", "EUR"]))
            )
        cases.append(
            _net_case(
                f"net-{index}",
                f"{len(flows)} accepted statements among {len(parties)} carriers netted per "
                "currency; the expected positions are the suite's exact reference, nets sum "
                "to zero.",
                ("SET-050", "SET-051", "SET-052"),
                flows,
            )
        )
    return cases


def build(seed: int) -> list[Case]:
    """Every case of the profile: the spec vectors, then the generated cases of ``seed``."""
    rng = seeded(PROFILE, seed)
    generated = _statement_cases(rng) + _key_cases() + _split_cases(rng) + _net_cases(rng)
    source = f"generated (seed {seed})"
    return _vector_cases() + [replace(case, source=source) for case in generated]
