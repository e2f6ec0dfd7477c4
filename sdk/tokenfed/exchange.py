"""Exchange rates between UTU, currencies and alliance units (spec/exchange.md).

An :class:`ExchangeRates` set is a signed list of quotes against the Unified Token Unit: for
each code, 1 UTU = ``rate`` units of that code, and amounts of the code carry ``precision``
fractional digits. :meth:`ExchangeRates.convert` converts between any two codes through UTU as
one exact rational computation, rounded once, half to even, to the target's precision.

Example::

    rates = ExchangeRates.from_claims(claims)
    rates.convert("1", "CNY", "sht.points").amount  # Decimal('250000')
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    AfterValidator,
    Field,
)
from pydantic_core import PydanticCustomError

from . import _jws
from ._decimal import (
    MAX_DECIMAL_LENGTH,
    divide_half_even,
    format_decimal,
    from_scaled,
    parse_decimal,
    scaled,
)
from ._model import (
    _SERIALIZE,
    _decimal_schema,
    _decimal_validator,
)
from ._signed import (
    DocumentId,
    SignedClaims,
    SignedDocument,
    WireDocument,
)
from .errors import InvalidAmountError, RatesNotValidError, UnknownCurrencyError

__all__ = [
    "BASE",
    "MAX_PRECISION",
    "UTU_PRECISION",
    "Conversion",
    "ExchangeRates",
    "ExchangeRatesClaims",
    "Rate",
]

BASE = "UTU"
"""The pivot every rate is quoted against (FX-003)."""

UTU_PRECISION = 6
"""Fractional digits of UTU amounts; UTU has rate 1 and this precision implicitly (FX-007)."""

MAX_PRECISION = 18
"""Largest ``precision`` of a code, and most fractional digits of a rate (FX-005, FX-006)."""

_CODE_PATTERN = r"^([A-Z]{3}|[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+)$"


def _not_base(code: str) -> str:
    if code == BASE:
        raise PydanticCustomError(
            "tokenfed_code", "UTU is the base and must not be listed in rates (FX-004)"
        )
    return code


Code = Annotated[str, Field(pattern=_CODE_PATTERN, max_length=64), AfterValidator(_not_base)]

RateValue = Annotated[
    Decimal,
    _decimal_validator(max_places=MAX_PRECISION, positive=True),
    _SERIALIZE,
    _decimal_schema("units of the code per UTU: canonical decimal string, > 0, <= 18 digits"),
]

Precision = Annotated[int, Field(ge=0, le=MAX_PRECISION, strict=True)]


class Rate(WireDocument):
    """One quote: 1 UTU = ``rate`` units of the code; amounts carry ``precision`` digits."""

    rate: RateValue
    precision: Precision


class ExchangeRatesClaims(SignedClaims):
    """The claims of an exchange-rate set (FX-002); unknown members are kept (CONV-005)."""

    _what: ClassVar[str] = "exchange rates"
    _window_requirement: ClassVar[str] = "FX-008"

    rates_id: DocumentId
    base: Literal["UTU"]
    rates: dict[Code, Rate] = Field(min_length=1)


@dataclass(frozen=True, slots=True)
class Conversion:
    """The result of a conversion (FX-027)."""

    amount: Decimal
    code: str
    rates_id: str

    def to_json(self) -> dict[str, Any]:
        """``{"amount", "code", "rates_id"}`` with the amount as a canonical decimal string."""
        return {"amount": format_decimal(self.amount), "code": self.code, "rates_id": self.rates_id}


@dataclass(frozen=True, slots=True)
class _Quote:
    coefficient: int
    """The rate times ``10**places``."""
    places: int
    precision: int


_UTU_QUOTE = _Quote(1, 0, UTU_PRECISION)


def _exact_amount(amount: object, code: str, precision: int) -> tuple[int, int]:
    """``amount`` as (coefficient, places) without trailing zeros, checked against FX-023."""
    if isinstance(amount, str):
        value = parse_decimal(amount, name="amount")
    elif isinstance(amount, Decimal):
        if not amount.is_finite():
            raise InvalidAmountError(f"amount {amount} is not a finite decimal (FX-023)")
        _, digits, exponent = amount.as_tuple()
        assert isinstance(exponent, int)
        if len(digits) + max(exponent, 0) > MAX_DECIMAL_LENGTH:
            raise InvalidAmountError(f"amount has more than {MAX_DECIMAL_LENGTH} digits (CONV-022)")
        value = amount
    elif isinstance(amount, int) and not isinstance(amount, bool):
        value = Decimal(amount)
    else:
        raise InvalidAmountError(
            f"amount must be a decimal string or a Decimal, not {type(amount).__name__} (FX-023)"
        )
    coefficient, places = scaled(value)
    while places and coefficient % 10 == 0:
        coefficient //= 10
        places -= 1
    if places > precision:
        raise InvalidAmountError(
            f"amount {format_decimal(value)} has {places} fractional digits; {code} amounts "
            f"have at most {precision} (FX-023)",
            detail={"code": code, "precision": precision},
        )
    return coefficient, places


class ExchangeRates(SignedDocument[ExchangeRatesClaims]):
    """A validated exchange-rate set, with each rate held as an exact scaled integer.

    Build one with :meth:`from_claims`, :meth:`from_jws` (JWS typ
    ``tokenfed-exchange-rates+jwt``, FX-001; key validity FX-010) or :meth:`parse` (FX-011);
    sign claims with :meth:`sign`. ``raw`` is a copy of the claims as received and ``digest``
    their JCS digest (FX-009). A set is in force for ``nbf <= t < exp`` (FX-008).
    """

    __slots__ = ("_quotes",)

    _model = ExchangeRatesClaims
    _typ = _jws.TYP_EXCHANGE_RATES
    _key_requirement = "FX-010"
    _unsigned_requirement = "FX-011"

    def _compile(self) -> None:
        self._quotes: dict[str, _Quote] = {BASE: _UTU_QUOTE}
        for code, quote in self.claims.rates.items():
            coefficient, places = scaled(quote.rate)
            self._quotes[code] = _Quote(coefficient, places, quote.precision)

    @property
    def id(self) -> str:
        """The ``rates_id``."""
        return self.claims.rates_id

    def _quote(self, code: object, role: str) -> _Quote:
        quote = self._quotes.get(code) if isinstance(code, str) else None
        if quote is None:
            raise UnknownCurrencyError(
                f"{role} code {code!r} is not in exchange-rate set {self.claims.rates_id!r}; "
                f"known: UTU, {', '.join(sorted(self.claims.rates))} (FX-022)",
                detail={"code": code},
            )
        return quote

    def precision(self, code: str) -> int:
        """Fractional digits of amounts in ``code`` (6 for UTU, FX-007)."""
        return self._quote(code, "the").precision

    def convert(
        self,
        amount: Decimal | str | int,
        from_code: str,
        to_code: str,
        at: int | None = None,
    ) -> Conversion:
        """Convert ``amount`` of ``from_code`` into ``to_code`` (FX-020..FX-026).

        The result is ``amount * rate(to) / rate(from)`` computed exactly and rounded once,
        half to even, to the precision of ``to_code``. ``at`` is the time of the conversion;
        ``None`` skips the validity check. ``amount`` is a canonical decimal string, a finite
        :class:`~decimal.Decimal` (taken by value) or an int; negative amounts are allowed.

        Raises:
            RatesNotValidError: ``at`` outside ``nbf <= at < exp`` (FX-021).
            UnknownCurrencyError: a code the set does not list (FX-022).
            InvalidAmountError: not a canonical decimal, or more fractional digits than the
                precision of ``from_code`` (FX-023).
        """
        if at is not None and not self._nbf <= at < self._exp:
            raise RatesNotValidError(
                f"exchange-rate set {self.claims.rates_id!r} is valid for {self._nbf} <= t < "
                f"{self._exp}, not at t = {at} (FX-021)",
                detail={"at": at, "nbf": self._nbf, "exp": self._exp},
            )
        source = self._quote(from_code, "from")
        target = self._quote(to_code, "to")
        coefficient, places = _exact_amount(amount, from_code, source.precision)
        # amount * rate_to / rate_from, every factor an exact integer ratio (FX-024)
        numerator = coefficient * target.coefficient * 10 ** (source.places + target.precision)
        denominator = source.coefficient * 10 ** (places + target.places)
        quotient = divide_half_even(numerator, denominator)  # the one rounding (FX-025)
        return Conversion(from_scaled(quotient, target.precision), to_code, self.claims.rates_id)

    def __repr__(self) -> str:
        return f"ExchangeRates(id={self.claims.rates_id!r}, digest={self.digest!r})"
