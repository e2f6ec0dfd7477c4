"""The suite's own exact reference for settlement (SET-021..SET-051), on integers and
:class:`fractions.Fraction`.

It computes the expected results of the settlement cases the suite generates: the lines and
audit totals of a statement, the Merkle tree head of its receipt list, the largest-remainder
split of a total with the spec's tie-break, and the netting of accepted statements. It never
imports the implementation under test.
"""

from __future__ import annotations

import hashlib
from fractions import Fraction
from typing import Any

from . import _merkle
from ._reference import to_decimal

__all__ = [
    "SHARE_PLACES",
    "UTU_PLACES",
    "fraction_of",
    "lines_of",
    "net",
    "receipts_root",
    "split",
    "to_decimal",
    "utu",
]

UTU_PLACES = 6
SHARE_PLACES = 6


def fraction_of(text: str) -> Fraction:
    """The exact value of a decimal string."""
    return Fraction(text)


def utu(micro: int) -> str:
    """An integer number of micro-UTU as a canonical UTU decimal string."""
    return to_decimal(Fraction(micro, 10**UTU_PLACES))


def receipts_root(digests: list[str]) -> str:
    """SET-026: the RFC 9162 tree head over the 32-byte values of ``sha256:`` digests, in the
    order given; the SHA-256 of the empty string for no receipts."""
    if not digests:
        return hashlib.sha256(b"").hexdigest()
    return _merkle.root([bytes.fromhex(d.removeprefix("sha256:")) for d in digests]).hex()


def lines_of(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """SET-021: one line per (model, rate_card.digest), sorted in code point order, with the
    count and the exact sum of the entries' amounts."""
    groups: dict[tuple[str, str], dict[str, Any]] = {}
    for entry in entries:
        key = (entry["model"], entry["rate_card"]["digest"])
        line = groups.setdefault(
            key, {"model": key[0], "rate_card": dict(entry["rate_card"]), "count": 0, "sum": 0}
        )
        line["count"] += 1
        line["sum"] += Fraction(entry["amount"])
    return [
        {
            "model": line["model"],
            "rate_card": line["rate_card"],
            "count": line["count"],
            "amount": to_decimal(line["sum"]),
        }
        for _key, line in sorted(groups.items())
    ]


def split(parties: list[tuple[str, str]], total: str, precision: int) -> list[tuple[str, str]]:
    """SET-041: ``total`` (a decimal of ``precision`` places) split by the largest remainder
    method, ties to the larger share, then the party first in code point order; a negative
    total is the split of its opposite, negated. Parts in the order of ``parties``."""
    units = Fraction(total) * 10**precision
    if units.denominator != 1:
        raise ValueError(f"total {total} has more than {precision} fractional digits")
    t = units.numerator
    sign = -1 if t < 0 else 1
    t = abs(t)
    scale = 10**SHARE_PLACES
    shares = [int(Fraction(share) * scale) for _party, share in parties]
    floors = [divmod(t * share, scale) for share in shares]
    left = t - sum(whole for whole, _rest in floors)
    order = sorted(range(len(parties)), key=lambda i: (-floors[i][1], -shares[i], parties[i][0]))
    bonus = set(order[:left])
    return [
        (party, to_decimal(Fraction(sign * (floors[i][0] + (i in bonus)), 10**precision)))
        for i, (party, _share) in enumerate(parties)
    ]


def net(statements: list[dict[str, Any]], digests: list[str]) -> dict[str, Any]:
    """SET-050..SET-052: the netted statements (each digest once, sorted) and, per currency
    (sorted), the positions sorted by party with the exact gross figures and their net."""
    seen: dict[str, dict[str, Any]] = {}
    for claims, statement_digest in zip(statements, digests, strict=True):
        seen.setdefault(statement_digest, claims)
    sums: dict[str, dict[str, list[Fraction]]] = {}
    for claims in seen.values():
        conversion = claims.get("conversion")
        code, amount = (
            (conversion["code"], conversion["amount"])
            if conversion
            else ("UTU", claims["totals"]["amount"])
        )
        parties = sums.setdefault(code, {})
        parties.setdefault(claims["payee"], [Fraction(0), Fraction(0)])[0] += Fraction(amount)
        parties.setdefault(claims["payer"], [Fraction(0), Fraction(0)])[1] += Fraction(amount)
    positions: dict[str, list[dict[str, str]]] = {}
    for code in sorted(sums):
        rows = []
        for party in sorted(sums[code]):
            receivable, payable = sums[code][party]
            rows.append(
                {
                    "party": party,
                    "receivable": to_decimal(receivable),
                    "payable": to_decimal(payable),
                    "net": to_decimal(receivable - payable),
                }
            )
        if sum(Fraction(row["net"]) for row in rows) != 0:
            raise AssertionError("the reference's nets do not add up to zero")
        positions[code] = rows
    return {"statements": sorted(seen), "positions": positions}
