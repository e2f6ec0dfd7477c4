"""The suite's own exact reference for pricing (UNIT-040..UNIT-062) and conversion
(FX-020..FX-027), on :class:`fractions.Fraction`.

It is used only to compute the expected results of the cases the suite generates; the static
vectors carry their own expected results. Inputs are documents the suite built itself, so only
the errors a generated case can provoke are modelled (validity, model, coverage, codes, amount
digits); everything else is the implementation's business and is tested by the vectors.
"""

from __future__ import annotations

import re
from fractions import Fraction
from typing import Any

from ._codec import digest, jcs

__all__ = [
    "METER_REGISTRY",
    "RefError",
    "convert",
    "fraction",
    "meter_order",
    "price",
    "round_half_even",
    "to_decimal",
]

METER_REGISTRY = (
    "input",
    "cache_read",
    "cache_write",
    "output",
    "reasoning",
    "image_in",
    "image_out",
    "audio_in_ms",
    "audio_out_ms",
    "request",
    "tool_call",
    "web_search",
)

_DECIMAL = re.compile(r"^-?(0|[1-9][0-9]*)(\.[0-9]*[1-9])?$")


class RefError(Exception):
    """The reference rejects the input with a registry code."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def fraction(text: str) -> Fraction:
    """The exact value of a canonical decimal string."""
    return Fraction(text)


def to_decimal(value: Fraction) -> str:
    """A fraction whose denominator divides a power of ten, as a canonical decimal string."""
    sign = "-" if value < 0 else ""
    value = abs(value)
    whole, rest = divmod(value.numerator, value.denominator)
    digits = ""
    while rest:
        rest *= 10
        digit, rest = divmod(rest, value.denominator)
        digits += str(digit)
        if len(digits) > 60:
            raise ValueError(f"{value} has no finite decimal expansion")
    text = f"{whole}.{digits}" if digits else str(whole)
    return "0" if text == "0" else sign + text


def round_half_even(value: Fraction, places: int) -> Fraction:
    """Round once to ``places`` fractional digits, ties to even, symmetric about zero."""
    scale = 10**places
    magnitude = abs(value) * scale
    whole = magnitude.numerator // magnitude.denominator
    rest = magnitude - whole
    if rest > Fraction(1, 2) or (rest == Fraction(1, 2) and whole % 2 == 1):
        whole += 1
    result = Fraction(whole, scale)
    return -result if value < 0 else result


# The meters counted in total_input for volume tiers (UNIT-044): the registry's prompt meters and
# the extension meters of UNIT-009 marked "prompt" (their table, restated here on purpose).
PROMPT_METERS = (
    "input",
    "cache_read",
    "cache_write",
    "openai.audio_in_tokens",
    "openai.cache_write_12h",
    "anthropic.cache_write_1h",
    "google.audio_in_tokens",
    "google.audio_cache_read_tokens",
    "qwen.audio_in_tokens",
    "qwen.explicit_cache_read_tokens",
    "volcengine.audio_in_tokens",
    "volcengine.audio_cache_read_tokens",
)


def meter_order(name: str) -> tuple[int, str]:
    """Registry order, then extension meters by code point (UNIT-061)."""
    if name in METER_REGISTRY:
        return (METER_REGISTRY.index(name), "")
    return (len(METER_REGISTRY), name)


def price(card: dict[str, Any], usage: dict[str, Any], at: int | None) -> dict[str, Any]:
    """The price result of UNIT-060 for a card the suite made, or :class:`RefError`."""
    if at is not None and not card["nbf"] <= at < card["exp"]:
        raise RefError("rate_card_not_valid")
    rates = card["models"].get(usage["model"])
    if rates is None:
        raise RefError("unknown_model")
    service_tier = usage.get("service_tier")
    if service_tier is not None:  # UNIT-051: the tier's complete rates, never merged
        tier_rates = rates.get("service_tiers", {}).get(service_tier)
        if tier_rates is not None:
            rates = tier_rates
        elif service_tier != "standard":
            raise RefError("unpriced_service_tier")
    meters = {name: count for name, count in usage["meters"].items() if count != 0}
    total_input = sum(meters.get(name, 0) for name in PROMPT_METERS)
    tier = None
    for candidate in rates.get("tiers", []):
        if candidate["above_input"] < total_input:
            tier = candidate
    weights = dict(rates["weights"])
    if tier is not None:
        weights.update(tier["weights"])
    lines = []
    total = Fraction(0)
    for name in sorted(meters, key=meter_order):
        if name not in weights:
            raise RefError("unpriced_meter")
        amount = meters[name] * fraction(weights[name])
        total += amount
        lines.append(
            {
                "meter": name,
                "count": meters[name],
                "weight": weights[name],
                "amount": to_decimal(amount),
            }
        )
    rounded = round_half_even(total, 6)
    minimum = fraction(rates.get("minimum", "0"))
    result = {
        "amount": to_decimal(max(rounded, minimum)),
        "unit": "UTU",
        "rate_card": {"id": card["rate_card_id"], "digest": digest(jcs(card))},
        "lines": lines,
        "tier": None if tier is None else tier["above_input"],
        "minimum_applied": rounded < minimum,
    }
    if service_tier is not None:  # UNIT-063
        result["service_tier"] = service_tier
    return result


def convert(
    rates: dict[str, Any], amount: str, source: str, target: str, at: int | None
) -> dict[str, Any]:
    """The conversion result of FX-027 for a set the suite made, or :class:`RefError`."""
    if at is not None and not rates["nbf"] <= at < rates["exp"]:
        raise RefError("rates_not_valid")
    quotes = {"UTU": ("1", 6)} | {
        code: (quote["rate"], quote["precision"]) for code, quote in rates["rates"].items()
    }
    for code in (source, target):
        if code not in quotes:
            raise RefError("unknown_currency")
    if not _DECIMAL.fullmatch(amount) or len(amount) > 64 or amount == "-0":
        raise RefError("invalid_amount")
    fractional = amount.partition(".")[2]
    if len(fractional) > quotes[source][1]:
        raise RefError("invalid_amount")
    value = fraction(amount) * fraction(quotes[target][0]) / fraction(quotes[source][0])
    result = round_half_even(value, quotes[target][1])
    return {"amount": to_decimal(result), "code": target, "rates_id": rates["rates_id"]}
