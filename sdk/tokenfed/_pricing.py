"""Rate-card weights compiled to scaled integers, and exact fixed-point helpers (UNIT-040).

A weight has at most 9 fractional digits (UNIT-020), so ``weight * 10**9`` is an integer and
``count * weight`` summed over meters is an exact integer at scale ``10**9``. Rounding to the 6
fractional digits of an amount (UNIT-048) is one integer division with a half-even correction.
Each model of a rate card is compiled once; pricing then touches only ints and dicts.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from ._decimal import divide_half_even, to_scaled

__all__ = [
    "AMOUNT_PLACES",
    "WEIGHT_PLACES",
    "CompiledModel",
    "Table",
    "compile_model",
    "round_to_amount",
]

WEIGHT_PLACES = 9
"""Fractional digits of a weight (UNIT-020) and the scale of exact line products."""

AMOUNT_PLACES = 6
"""Fractional digits of a UTU amount (UNIT-048)."""

_DROP: int = 10 ** (WEIGHT_PLACES - AMOUNT_PLACES)


@dataclass(frozen=True, slots=True)
class Table:
    """Effective weights of one tier, as integers (``weight * 10**9``) and as decimals."""

    scaled: dict[str, int]
    weights: dict[str, Decimal]


@dataclass(frozen=True, slots=True)
class CompiledModel:
    """One model's rates, ready to price: base table, tiers (highest first), minimum, and
    the compiled rates of each service tier the model prices apart (UNIT-051)."""

    base: Table
    tiers: tuple[tuple[int, Table], ...]
    minimum: int
    """The minimum amount times ``10**6``."""
    service_tiers: Mapping[str, CompiledModel] = field(default_factory=dict)


def _table(weights: Mapping[str, Decimal]) -> Table:
    return Table(
        {meter: to_scaled(weight, WEIGHT_PLACES) for meter, weight in weights.items()},
        dict(weights),
    )


def compile_model(
    weights: Mapping[str, Decimal],
    tiers: Iterable[tuple[int, Mapping[str, Decimal]]],
    minimum: Decimal,
    service_tiers: Mapping[str, CompiledModel] | None = None,
) -> CompiledModel:
    """Compile one model's rates.

    Each tier's table is the base table overridden meter by meter (UNIT-045). A service
    tier's rates are complete and compiled on their own (UNIT-071).
    """
    base = _table(weights)
    compiled: list[tuple[int, Table]] = []
    for above_input, tier_weights in tiers:
        merged = dict(base.weights)
        merged.update(tier_weights)
        compiled.append((above_input, _table(merged)))
    compiled.sort(key=lambda item: item[0], reverse=True)
    return CompiledModel(
        base, tuple(compiled), to_scaled(minimum, AMOUNT_PLACES), dict(service_tiers or {})
    )


def round_to_amount(total: int) -> int:
    """Round a sum at scale ``10**9`` once, half to even, to scale ``10**6`` (UNIT-048)."""
    return divide_half_even(total, _DROP)
