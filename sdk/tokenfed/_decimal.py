"""Canonical decimal strings (CONV-020..CONV-023) and the SDK's one home of exact arithmetic.

Arithmetic on money and units is done on integers scaled by powers of ten, so a result never
depends on the size of a :mod:`decimal` context. :class:`~decimal.Decimal` is the type at the
API boundary only. Every conversion between a decimal (string or :class:`~decimal.Decimal`) and a
scaled integer, and every half-to-even rounding, goes through this module.
"""

from __future__ import annotations

import re
from decimal import Decimal

from .errors import InvalidAmountError

__all__ = [
    "CANONICAL_DECIMAL",
    "MAX_DECIMAL_LENGTH",
    "divide_half_even",
    "format_decimal",
    "from_scaled",
    "parse_decimal",
    "scaled",
    "to_scaled",
]

CANONICAL_DECIMAL = re.compile(r"(-?(0\.[0-9]*[1-9]|[1-9][0-9]*(\.[0-9]*[1-9])?)|0)")
"""The canonical form of a decimal string (CONV-020), matched in full; refuses ``"-0"``."""

MAX_DECIMAL_LENGTH = 64
"""Longest decimal string accepted (CONV-022)."""


def parse_decimal(
    value: object,
    *,
    name: str = "amount",
    max_places: int | None = None,
    non_negative: bool = False,
    positive: bool = False,
) -> Decimal:
    """Parse a canonical decimal string into an exact :class:`~decimal.Decimal`.

    Raises:
        InvalidAmountError: not a string, not canonical, too long, too many fractional digits,
            or of a sign the member does not allow.
    """
    if not isinstance(value, str):
        raise InvalidAmountError(
            f"{name} must be a decimal string, not {type(value).__name__} (CONV-020)"
        )
    if len(value) > MAX_DECIMAL_LENGTH:
        raise InvalidAmountError(
            f"{name} is longer than {MAX_DECIMAL_LENGTH} characters (CONV-022)"
        )
    if CANONICAL_DECIMAL.fullmatch(value) is None:
        raise InvalidAmountError(f"{name} {value!r} is not a canonical decimal string (CONV-020)")
    number = Decimal(value)
    if max_places is not None and _places(value) > max_places:
        raise InvalidAmountError(
            f"{name} {value!r} has more than {max_places} fractional digits (CONV-021)"
        )
    if positive and number <= 0:
        raise InvalidAmountError(f"{name} {value!r} must be greater than 0")
    if non_negative and number < 0:
        raise InvalidAmountError(f"{name} {value!r} must not be negative")
    return number


def _places(text: str) -> int:
    point = text.find(".")
    return 0 if point < 0 else len(text) - point - 1


def format_decimal(value: Decimal) -> str:
    """Write a finite :class:`~decimal.Decimal` in canonical form (CONV-020)."""
    if not value.is_finite():
        raise InvalidAmountError(f"{value} is not a finite decimal")
    text = str(value)
    if "E" not in text:  # plain notation: only trailing fraction zeros and "-0" to drop
        if "." in text:
            text = text.rstrip("0").removesuffix(".")
        return "0" if text == "-0" else text
    sign, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)
    coefficient = int("".join(map(str, digits))) if digits else 0
    if coefficient == 0:
        return "0"
    if exponent >= 0:
        text = str(coefficient * 10**exponent)
    else:
        places = -exponent
        while places and coefficient % 10 == 0:
            coefficient //= 10
            places -= 1
        whole, fraction = divmod(coefficient, 10**places)
        text = str(whole) if places == 0 else f"{whole}.{fraction:0{places}d}"
    return "-" + text if sign else text


def scaled(value: Decimal) -> tuple[int, int]:
    """Return ``(coefficient, places)`` with ``value == coefficient / 10**places`` exactly."""
    sign, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)
    coefficient = int("".join(map(str, digits))) if digits else 0
    if sign:
        coefficient = -coefficient
    if exponent >= 0:
        return coefficient * 10**exponent, 0
    return coefficient, -exponent


def to_scaled(value: Decimal | str, places: int) -> int:
    """``value * 10**places`` as an exact integer.

    ``value`` is a :class:`~decimal.Decimal` or a canonical decimal string (CONV-020) with at most
    ``places`` fractional digits; more digits raise :class:`ValueError` (a programming error: the
    caller validated the value first).
    """
    if isinstance(value, str):
        point = value.find(".")
        digits = 0 if point < 0 else len(value) - point - 1
        coefficient = int(value) if point < 0 else int(value[:point] + value[point + 1 :])
    else:
        coefficient, digits = scaled(value)
    if digits > places:
        raise ValueError(f"{value} has more than {places} fractional digits")
    factor: int = 10 ** (places - digits)
    return coefficient * factor


def from_scaled(value: int, places: int) -> Decimal:
    """The exact :class:`~decimal.Decimal` ``value / 10**places``, without trailing zeros.

    Built from a string or an int, so no :mod:`decimal` context can round it.
    """
    if not value or not places:
        return Decimal(value)
    text = str(value)
    trimmed = text.rstrip("0")
    zeros = len(text) - len(trimmed)
    if zeros >= places:
        return Decimal(value // 10**places)
    return Decimal(f"{trimmed}e-{places - zeros}")


def divide_half_even(numerator: int, denominator: int) -> int:
    """The integer nearest to ``numerator / denominator``; of two equally near, the even one.

    Symmetric about zero (FX-025), exact for any size of integer (CONV-024).
    """
    if denominator <= 0:
        raise ValueError("denominator must be positive")
    quotient, remainder = divmod(numerator, denominator)
    twice = 2 * remainder
    if twice > denominator or (twice == denominator and quotient & 1):
        quotient += 1
    return quotient
