"""Pricing and conversion agree with an independent exact-rational computation.

The reference below is written from the spec text with :class:`fractions.Fraction` only
(``round()`` on a Fraction rounds half to even); it shares no code with the SDK. Hypothesis
draws integers and builds decimal strings from them: no binary float is involved anywhere.
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from tokenfed.exchange import ExchangeRates
from tokenfed.units import METERS, RateCard, parse_usage

MAX = 2**53 - 1
EXTENSIONS = ("acme.gpu_seconds", "ctc.video_frames")


def canonical(coefficient: int, places: int) -> str:
    """The canonical decimal string of ``coefficient / 10**places`` (CONV-020)."""
    sign = "-" if coefficient < 0 else ""
    digits = str(abs(coefficient)).rjust(places + 1, "0")
    whole, fraction = (digits[:-places], digits[-places:]) if places else (digits, "")
    fraction = fraction.rstrip("0")
    text = whole + ("." + fraction if fraction else "")
    return "0" if text == "0" else sign + text


def canonical_fraction(value: Fraction) -> str:
    """The canonical decimal string of a fraction whose denominator divides a power of ten."""
    places = 0
    while (value * 10**places).denominator != 1:
        places += 1
    return canonical(int(value * 10**places), places)


def decimals(max_places: int, *, low: int = 0, high: int = 10**13) -> st.SearchStrategy[str]:
    """Canonical decimal strings with at most ``max_places`` fractional digits."""
    return st.builds(
        canonical, st.integers(min_value=low, max_value=high), st.integers(0, max_places)
    )


weights = decimals(9)
counts = st.one_of(st.integers(0, 10**7), st.integers(0, MAX))


@st.composite
def rate_cards(draw: st.DrawFn) -> dict[str, Any]:
    """Rate-card claims with one model: base weights, increasing tiers, a minimum."""
    names = draw(st.sets(st.sampled_from(METERS + EXTENSIONS), min_size=1))
    base = {name: draw(weights) for name in sorted(names)}
    bounds = sorted(draw(st.sets(st.integers(0, 10**8), max_size=4)))
    tiers = [
        {
            "above_input": bound,
            "weights": {
                name: draw(weights)
                for name in draw(st.sets(st.sampled_from(sorted(names)), max_size=len(names)))
            },
        }
        for bound in bounds
    ]
    rates: dict[str, Any] = {"weights": base, "tiers": tiers}
    if draw(st.booleans()):
        rates["minimum"] = draw(decimals(6, high=10**8))
    return {
        "iss": "https://p.example",
        "rate_card_id": "prop",
        "ver": "1.0",
        "iat": 0,
        "nbf": 0,
        "exp": 1,
        "unit": "UTU",
        "models": {"m": rates},
    }


@st.composite
def priced(draw: st.DrawFn) -> tuple[dict[str, Any], dict[str, Any]]:
    """A card and a usage of meters the card's base weights price."""
    card = draw(rate_cards())
    names = sorted(card["models"]["m"]["weights"])
    chosen = draw(st.lists(st.sampled_from(names), unique=True))
    usage = {"model": "m", "meters": {name: draw(counts) for name in chosen}}
    return card, usage


def reference_price(card: dict[str, Any], usage: dict[str, Any]) -> dict[str, Any]:
    """UNIT-044..UNIT-049 and UNIT-061, straight from the text, in exact rationals."""
    rates = card["models"][usage["model"]]
    meters = usage["meters"]
    total_input = sum(meters.get(name, 0) for name in ("input", "cache_read", "cache_write"))
    effective = dict(rates["weights"])
    tier = None
    for candidate in rates.get("tiers", []):
        if candidate["above_input"] < total_input:
            tier = candidate
    if tier is not None:
        effective.update(tier["weights"])
    total = Fraction(0)
    lines = []
    names = [n for n in METERS if meters.get(n)] + sorted(
        n for n in meters if n not in METERS and meters[n]
    )
    for name in names:
        product = meters[name] * Fraction(effective[name])
        total += product
        lines.append((name, meters[name], Fraction(effective[name]), product))
    rounded = round(total, 6)
    minimum = Fraction(rates.get("minimum", "0"))
    return {
        "amount": max(rounded, minimum),
        "tier": None if tier is None else tier["above_input"],
        "minimum_applied": rounded < minimum,
        "lines": lines,
    }


@settings(max_examples=300, deadline=None)
@given(priced())
def test_pricing_matches_exact_rationals(case: tuple[dict[str, Any], dict[str, Any]]) -> None:
    """UNIT-044..UNIT-050, UNIT-061, UNIT-062: the SDK's price equals the rational reference,
    amounts have at most 6 fractional digits (UNIT-001) and print canonically."""
    card, usage = case
    price = RateCard.from_claims(card).price(parse_usage(usage))
    expected = reference_price(card, usage)
    assert Fraction(price.amount) == expected["amount"]
    assert str(price.amount) == canonical_fraction(expected["amount"])
    assert price.to_json()["amount"] == canonical_fraction(expected["amount"])
    assert price.tier == expected["tier"]
    assert price.minimum_applied is expected["minimum_applied"]
    assert [
        (line.meter, line.count, Fraction(line.weight), Fraction(line.amount))
        for line in price.lines
    ] == expected["lines"]
    assert (Fraction(price.amount) * 10**6).denominator == 1


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from(["0.0000005", "0.0000015", "0.0000025", "0.0000035", "0.000000005"]),
    counts,
)
def test_pricing_ties_round_half_even(weight: str, count: int) -> None:
    """UNIT-048: weights that put many sums exactly halfway between two amounts."""
    card = {
        "iss": "https://p.example",
        "rate_card_id": "tie",
        "ver": "1.0",
        "iat": 0,
        "nbf": 0,
        "exp": 1,
        "unit": "UTU",
        "models": {"m": {"weights": {"output": weight}}},
    }
    usage = {"model": "m", "meters": {"output": count}}
    price = RateCard.from_claims(card).price(parse_usage(usage))
    assert Fraction(price.amount) == round(count * Fraction(weight), 6)


codes = ("AAA", "BBB", "ccc.points", "UTU")


@st.composite
def rate_sets(draw: st.DrawFn) -> dict[str, Any]:
    """Exchange-rate claims quoting three codes against UTU."""
    rates = {}
    for code in codes[:3]:
        places = draw(st.integers(0, 18))
        coefficient = draw(st.integers(1, 10 ** min(63 - places, 20)))
        rates[code] = {
            "rate": canonical(coefficient, places),
            "precision": draw(st.integers(0, 18)),
        }
    return {
        "iss": "https://fx.example",
        "rates_id": "prop",
        "ver": "1.0",
        "iat": 0,
        "nbf": 0,
        "exp": 1,
        "base": "UTU",
        "rates": rates,
    }


def _rate(claims: dict[str, Any], code: str) -> tuple[Fraction, int]:
    if code == "UTU":
        return Fraction(1), 6
    quote = claims["rates"][code]
    return Fraction(quote["rate"]), quote["precision"]


@settings(max_examples=300, deadline=None)
@given(rate_sets(), st.sampled_from(codes), st.sampled_from(codes), st.data())
def test_conversion_matches_exact_rationals(
    claims: dict[str, Any], source: str, target: str, data: st.DataObject
) -> None:
    """FX-024..FX-026: the SDK's conversion is x * rate(B) / rate(A) rounded once, half to
    even, to the precision of B, computed in exact rationals."""
    rate_a, precision_a = _rate(claims, source)
    rate_b, precision_b = _rate(claims, target)
    places = data.draw(st.integers(0, precision_a))
    coefficient = data.draw(st.integers(-(10**18), 10**18))
    amount = canonical(coefficient, places)
    result = ExchangeRates.from_claims(claims).convert(amount, source, target)
    expected = round(Fraction(amount) * rate_b / rate_a, precision_b)
    assert Fraction(result.amount) == expected
    assert result.to_json() == {
        "amount": canonical_fraction(expected),
        "code": target,
        "rates_id": "prop",
    }
    same = ExchangeRates.from_claims(claims).convert(Decimal(amount), source, target)
    assert same == result


@settings(max_examples=200, deadline=None)
@given(st.integers(-(10**12), 10**12), st.integers(0, 17))
def test_conversion_ties_round_half_even(coefficient: int, precision: int) -> None:
    """FX-025: amounts ending in 5 one digit past the target precision are exact ties; they
    round to the even neighbour, symmetrically for negative amounts."""
    claims = {
        "iss": "https://fx.example",
        "rates_id": "tie",
        "ver": "1.0",
        "iat": 0,
        "nbf": 0,
        "exp": 1,
        "base": "UTU",
        "rates": {
            "AAA": {"rate": "1", "precision": precision + 1},
            "BBB": {"rate": "1", "precision": precision},
        },
    }
    amount = canonical(coefficient * 10 + (5 if coefficient >= 0 else -5), precision + 1)
    result = ExchangeRates.from_claims(claims).convert(amount, "AAA", "BBB")
    expected = round(Fraction(amount), precision)
    assert Fraction(result.amount) == expected
    assert (expected * 10**precision).numerator % 2 == 0
