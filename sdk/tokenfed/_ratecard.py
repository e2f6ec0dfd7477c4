"""Rate cards (UNIT-020..UNIT-032): the signed document, its weights compiled for exact
pricing, and a fast check of its claims.

:class:`RateCard` is defined here, apart from its claims model (``tokenfed.units``): a card whose
claims :func:`_vouch` certainly accepts is read without the model, which is validated only when
``claims`` is first read. So verifying receipts under such cards never loads the model
machinery. :mod:`tokenfed.units` is the public home of everything here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cached_property
from typing import TYPE_CHECKING, Any, Self

from . import _jws
from ._decimal import format_decimal, from_scaled, parse_decimal
from ._document import SignedDocument
from ._ids import is_entity_id, is_supported_version
from ._json import MAX_SAFE_INTEGER
from ._meters import (
    INPUT_EXTENSION_METERS,
    MAX_METER_NAME,
    MAX_MODEL_LENGTH,
    is_meter_name,
    is_service_tier,
    meter_order,
)
from ._pricing import (
    AMOUNT_PLACES,
    WEIGHT_PLACES,
    CompiledModel,
    Table,
    compile_model,
    round_to_amount,
)
from .errors import (
    InvalidAmountError,
    RateCardNotValidError,
    UnknownModelError,
    UnpricedMeterError,
    UnpricedServiceTierError,
)

if TYPE_CHECKING:
    from .units import RateCardClaims, ServiceTierRates, Usage

__all__ = ["UTU", "Price", "PriceLine", "RateCard"]

UTU = "UTU"
"""The Unified Token Unit: the unit of every rate-card weight and price amount."""


@dataclass(frozen=True, slots=True)
class PriceLine:
    """One priced meter: its count, its effective weight and the exact product (UNIT-061)."""

    meter: str
    count: int
    weight: Decimal
    amount: Decimal

    def to_json(self) -> dict[str, Any]:
        """``{"meter", "count", "weight", "amount"}`` with canonical decimal strings."""
        return {
            "meter": self.meter,
            "count": self.count,
            "weight": format_decimal(self.weight),
            "amount": format_decimal(self.amount),
        }


@dataclass(frozen=True)
class Price:
    """The price of a usage under a rate card (UNIT-060..UNIT-062).

    ``lines`` (one :class:`PriceLine` per non-zero meter, in registry order then extension
    names sorted, UNIT-061) is built on first access: verifying a receipt needs only
    ``amount``.
    """

    amount: Decimal
    unit: str
    rate_card_id: str
    rate_card_digest: str
    tier: int | None
    minimum_applied: bool
    _counts: Mapping[str, int] = field(repr=False, hash=False)
    _table: Table = field(repr=False, hash=False)
    service_tier: str | None = None
    """The usage's service tier (UNIT-063); ``None`` when the usage names none."""

    @cached_property
    def lines(self) -> tuple[PriceLine, ...]:
        """The priced meters: count, effective weight and exact unrounded product (UNIT-061)."""
        scaled_weights, weights = self._table.scaled, self._table.weights
        return tuple(
            PriceLine(
                meter,
                count,
                weights[meter],
                from_scaled(count * scaled_weights[meter], WEIGHT_PLACES),
            )
            for meter, count in sorted(self._counts.items(), key=_meter_key)
            if count
        )

    def to_json(self) -> dict[str, Any]:
        """The price result object of UNIT-060 (what ``tokenfed price`` prints)."""
        result: dict[str, Any] = {
            "amount": format_decimal(self.amount),
            "unit": self.unit,
            "rate_card": {"id": self.rate_card_id, "digest": self.rate_card_digest},
            "lines": [line.to_json() for line in self.lines],
            "tier": self.tier,
            "minimum_applied": self.minimum_applied,
        }
        if self.service_tier is not None:
            result["service_tier"] = self.service_tier
        return result


def _meter_key(item: tuple[str, int]) -> tuple[int, str]:
    return meter_order(item[0])


_new = object.__new__


class RateCard(SignedDocument["RateCardClaims"]):
    """A validated rate card with its weights compiled for fast exact pricing.

    Build one with :meth:`from_claims`, :meth:`from_jws` (JWS typ ``tokenfed-rate-card+jwt``,
    UNIT-021; key validity UNIT-031) or :meth:`parse` (UNIT-032); sign claims with
    :meth:`sign`. ``raw`` is a copy of the claims as received (unknown members included) and
    ``digest`` is their JCS digest (UNIT-029), which receipts reference. A card is in force
    for ``nbf <= t < exp`` (UNIT-028).
    """

    __slots__ = ("_compiled",)

    _what = "rate card"
    _typ = _jws.TYP_RATE_CARD
    _key_requirement = "UNIT-031"
    _unsigned_requirement = "UNIT-032"

    @classmethod
    def _claims_model(cls) -> type[RateCardClaims]:
        from .units import RateCardClaims

        return RateCardClaims

    @classmethod
    def _vouched(cls, raw: dict[str, Any]) -> Self | None:
        compiled = _vouch(raw)
        if compiled is None:
            return None
        card = cls.__new__(cls)
        card._fill(None, raw, raw["nbf"], raw["exp"])
        card._compiled = compiled
        return card

    def _compile(self) -> None:
        def rates_of(rates: ServiceTierRates, by_tier: dict[str, CompiledModel]) -> CompiledModel:
            volume = [(tier.above_input, tier.weights) for tier in rates.tiers]
            return compile_model(rates.weights, volume, rates.minimum, by_tier)

        self._compiled: dict[str, CompiledModel] = {
            model_id: rates_of(
                rates,
                {name: rates_of(tier, {}) for name, tier in rates.service_tiers.items()},
            )
            for model_id, rates in self.claims.models.items()
        }

    @property
    def id(self) -> str:
        """The ``rate_card_id``."""
        rate_card_id: str = self.raw["rate_card_id"]
        return rate_card_id

    def price(self, usage: Usage, at: int | None = None) -> Price:
        """Price ``usage`` by the procedure of UNIT-040 (steps UNIT-042..UNIT-049).

        ``at`` is the pricing time (a receipt's ``iat``); ``None`` skips the validity check.

        Raises:
            RateCardNotValidError: ``at`` is outside ``nbf <= at < exp`` (UNIT-042).
            UnknownModelError: the card has no rates for ``usage.model`` (UNIT-043).
            UnpricedMeterError: a non-zero meter has no effective weight (UNIT-046).
        """
        meters = usage.meters
        amount, tier, minimum_applied, table = self._priced(
            usage.model, meters, at, usage.service_tier
        )
        # A frozen dataclass __init__ pays one object.__setattr__ per field; filling the
        # instance dict directly builds the same object in a fraction of the time.
        price: Price = _new(Price)
        price.__dict__.update(
            amount=from_scaled(amount, AMOUNT_PLACES),
            unit=UTU,
            rate_card_id=self.id,
            rate_card_digest=self.digest,
            tier=tier,
            minimum_applied=minimum_applied,
            _counts=meters,
            _table=table,
            service_tier=usage.service_tier,
        )
        return price

    def amount_of(
        self,
        model: str,
        meters: Mapping[str, int],
        at: int | None = None,
        service_tier: str | None = None,
    ) -> Decimal:
        """Only the amount of :meth:`price`, for meters already validated (UNIT-040).

        Verifiers that compare a claimed amount need nothing else, so no result object is built.
        ``service_tier`` is the usage's ``service_tier`` (UNIT-051).
        """
        return from_scaled(self._priced(model, meters, at, service_tier)[0], AMOUNT_PLACES)

    def micro_amount_of(
        self,
        model: str,
        meters: Mapping[str, int],
        at: int | None = None,
        service_tier: str | None = None,
    ) -> int:
        """:meth:`amount_of` as an integer number of 10^-6 UTU (the precision of amounts)."""
        return self._priced(model, meters, at, service_tier)[0]

    def _priced(
        self,
        model: str,
        meters: Mapping[str, int],
        at: int | None,
        service_tier: str | None = None,
    ) -> tuple[int, int | None, bool, Table]:
        """Steps UNIT-042..UNIT-049: (amount in 10^-6 UTU, tier, minimum applied, weights)."""
        if at is not None and not self._nbf <= at < self._exp:
            raise RateCardNotValidError(
                f"rate card {self.id!r} is valid for {self._nbf} <= t < "
                f"{self._exp}, not at t = {at} (UNIT-042)",
                detail={"at": at, "nbf": self._nbf, "exp": self._exp},
            )
        compiled = self._compiled.get(model)
        if compiled is None:
            raise UnknownModelError(
                f"rate card {self.id!r} has no rates for model {model!r} (UNIT-043)",
                detail={"model": model},
            )
        if service_tier is not None:
            by_tier = compiled.service_tiers.get(service_tier)
            if by_tier is not None:
                compiled = by_tier
            elif service_tier != "standard":
                raise UnpricedServiceTierError(
                    f"model {model!r} of rate card {self.id!r} has no rates "
                    f"for service tier {service_tier!r} (UNIT-051)",
                    detail={"model": model, "service_tier": service_tier},
                )
        total_input = (
            meters.get("input", 0) + meters.get("cache_read", 0) + meters.get("cache_write", 0)
        )
        if compiled.tiers:
            for name in INPUT_EXTENSION_METERS:  # prompt tokens metered apart (UNIT-044)
                total_input += meters.get(name, 0)
        table = compiled.base
        tier: int | None = None
        for above_input, tier_table in compiled.tiers:
            if total_input > above_input:
                table = tier_table
                tier = above_input
                break
        weights = table.scaled
        total = 0
        for meter, count in meters.items():
            if count:
                weight = weights.get(meter)
                if weight is None:
                    raise UnpricedMeterError(
                        f"model {model!r} of rate card {self.id!r} has "
                        f"no weight for meter {meter!r} (count {count}) (UNIT-046)",
                        detail={"model": model, "meter": meter},
                    )
                total += count * weight
        amount = round_to_amount(total)
        minimum_applied = amount < compiled.minimum
        if minimum_applied:
            amount = compiled.minimum
        return amount, tier, minimum_applied, table

    def __repr__(self) -> str:
        return f"RateCard(id={self.id!r}, digest={self.digest!r})"


# -- the fast check ---------------------------------------------------------------------------

_CLAIMS = frozenset(("iss", "ver", "iat", "nbf", "exp", "rate_card_id", "unit", "models"))
_MODEL_RATES = frozenset(("weights", "tiers", "minimum", "service_tiers"))
_TIER_RATES = frozenset(("weights", "tiers", "minimum"))
_TIER = frozenset(("above_input", "weights"))


def _vouch(raw: Any) -> dict[str, CompiledModel] | None:
    """The compiled models of copied rate-card claims that certainly satisfy the claims model
    (UNIT-022..UNIT-027, CONV-001..CONV-004), equal to what :meth:`RateCard._compile` makes of
    the validated claims; else ``None`` and the model decides, with its exact error.

    It takes only the common shape: exactly the claims' members, and no unknown member at any
    level (CONV-005 keeps them; such a card is read through the model). Every value is checked
    as the model checks it: types without coercion, ranges, patterns, canonical decimals,
    strictly increasing tiers, ``nbf`` before ``exp``.
    """
    if type(raw) is not dict or raw.keys() != _CLAIMS:
        return None
    iss, ver, card_id, unit, models = (
        raw["iss"],
        raw["ver"],
        raw["rate_card_id"],
        raw["unit"],
        raw["models"],
    )
    for date in (raw["iat"], raw["nbf"], raw["exp"]):
        if type(date) is not int or not 0 <= date <= MAX_SAFE_INTEGER:
            return None
    if raw["exp"] <= raw["nbf"]:
        return None
    if not (
        is_entity_id(iss)
        and is_supported_version(ver)
        and type(card_id) is str
        and 0 < len(card_id) <= 256
        and all("!" <= char <= "~" for char in card_id)
        and unit == UTU
        and type(models) is dict
        and models
    ):
        return None
    compiled: dict[str, CompiledModel] = {}
    for model_id, rates in models.items():
        if not 0 < len(model_id) <= MAX_MODEL_LENGTH or type(rates) is not dict:
            return None
        if not rates.keys() <= _MODEL_RATES:
            return None
        by_tier: dict[str, CompiledModel] = {}
        service_tiers = rates.get("service_tiers", {})
        if type(service_tiers) is not dict:
            return None
        for name, tier_rates in service_tiers.items():
            if not (
                is_service_tier(name)
                and len(name) <= MAX_METER_NAME
                and type(tier_rates) is dict
                and tier_rates.keys() <= _TIER_RATES
            ):
                return None
            tier_compiled = _rates(tier_rates, {})
            if tier_compiled is None:
                return None
            by_tier[name] = tier_compiled
        model_compiled = _rates(rates, by_tier)
        if model_compiled is None:
            return None
        compiled[model_id] = model_compiled
    return compiled


def _rates(rates: dict[str, Any], by_tier: dict[str, CompiledModel]) -> CompiledModel | None:
    """One model's (or service tier's) rates compiled, if certainly valid: weights, tiers
    strictly increasing (UNIT-025) and minimum (UNIT-026)."""
    if "weights" not in rates:
        return None
    weights = _weights(rates["weights"])
    if weights is None:
        return None
    tiers = rates.get("tiers", [])
    if type(tiers) is not list:
        return None
    volume: list[tuple[int, dict[str, Decimal]]] = []
    previous = -1
    for tier in tiers:
        if type(tier) is not dict or tier.keys() != _TIER:
            return None
        above_input = tier["above_input"]
        if type(above_input) is not int or not previous < above_input <= MAX_SAFE_INTEGER:
            return None
        tier_weights = _weights(tier["weights"])
        if tier_weights is None:
            return None
        volume.append((above_input, tier_weights))
        previous = above_input
    minimum = _decimal(rates.get("minimum", "0"), AMOUNT_PLACES)
    if minimum is None:
        return None
    return compile_model(weights, volume, minimum, by_tier)


def _weights(value: Any) -> dict[str, Decimal] | None:
    if type(value) is not dict:
        return None
    weights: dict[str, Decimal] = {}
    for name, text in value.items():
        if not (is_meter_name(name) and len(name) <= MAX_METER_NAME):
            return None
        weight = _decimal(text, WEIGHT_PLACES)
        if weight is None:
            return None
        weights[name] = weight
    return weights


def _decimal(text: Any, places: int) -> Decimal | None:
    """A canonical non-negative decimal string with at most ``places`` fractional digits."""
    if type(text) is not str:
        return None
    try:
        return parse_decimal(text, max_places=places, non_negative=True)
    except InvalidAmountError:
        return None
