"""Netting accepted bilateral statements into one position per party and currency (SET-050..)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .._decimal import format_decimal, from_scaled
from .._model import SPEC_VERSION
from ..errors import StatementNotAcceptedError
from ._documents import Response, Statement, _scale
from ._reconcile import check_response

__all__ = ["net_positions", "netting_claims"]


def _contribution(statement: Statement) -> tuple[str, str]:
    """(currency, amount) a statement contributes (SET-051)."""
    conversion = statement.claims.conversion
    if conversion is not None:
        return conversion.code, conversion.amount
    return "UTU", statement.raw["totals"]["amount"]


def net_positions(
    accepted: Iterable[tuple[Statement, Response]],
) -> tuple[list[Statement], dict[str, list[dict[str, str]]]]:
    """Net statements, each with its payer's response, into positions per currency.

    Returns the netted statements (each once, sorted by digest) and, per currency, the
    positions ``{party, receivable, payable, net}`` sorted by party. Sums are exact and the
    nets of each currency add up to zero (SET-051).

    Raises:
        StatementNotAcceptedError: a response that does not accept its statement (SET-050).
        InvalidResubmissionError: a response that answers another statement (SET-033).
    """
    netted: dict[str, Statement] = {}
    for statement, response in accepted:
        check_response(response, statement)
        if not response.accepted:
            raise StatementNotAcceptedError(
                f"statement {statement.claims.statement_id!r} of {statement.claims.payee} was "
                "disputed by its payer; only accepted statements are netted (SET-050)"
            )
        netted.setdefault(statement.digest, statement)
    # currency -> party -> [receivable, payable] as (coefficient, places) pairs kept exact
    sums: dict[str, dict[str, list[int]]] = {}
    places: dict[str, int] = {}
    contributions = []
    for statement in netted.values():
        code, amount = _contribution(statement)
        coefficient, digits = _scale(amount)
        places[code] = max(places.get(code, 0), digits)
        contributions.append((statement, code, coefficient, digits))
    for statement, code, coefficient, digits in contributions:
        units = coefficient * 10 ** (places[code] - digits)
        parties = sums.setdefault(code, {})
        parties.setdefault(statement.claims.payee, [0, 0])[0] += units
        parties.setdefault(statement.claims.payer, [0, 0])[1] += units
    positions: dict[str, list[dict[str, str]]] = {}
    for code in sorted(sums):
        rows = []
        for party in sorted(sums[code]):
            receivable, payable = sums[code][party]
            rows.append(
                {
                    "party": party,
                    "receivable": format_decimal(from_scaled(receivable, places[code])),
                    "payable": format_decimal(from_scaled(payable, places[code])),
                    "net": format_decimal(from_scaled(receivable - payable, places[code])),
                }
            )
        assert sum(r - p for r, p in sums[code].values()) == 0
        positions[code] = rows
    return sorted(netted.values(), key=lambda s: s.digest), positions


def netting_claims(
    accepted: Iterable[tuple[Statement, Response]],
    *,
    iss: str,
    report_id: str,
    period: tuple[int, int],
    iat: int,
) -> dict[str, Any]:
    """The claims of the netting report of ``accepted`` (SET-052), ready to sign."""
    statements, positions = net_positions(accepted)
    return {
        "iss": iss,
        "ver": SPEC_VERSION,
        "iat": iat,
        "report_id": report_id,
        "period": {"start": period[0], "end": period[1]},
        "statements": [
            {"statement_id": s.claims.statement_id, "iss": s.claims.iss, "digest": s.digest}
            for s in statements
        ],
        "positions": positions,
    }
