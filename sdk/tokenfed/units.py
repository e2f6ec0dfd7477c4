"""Usage, rate cards and pricing in Unified Token Units (spec/units.md).

A :class:`Usage` counts what one request consumed, in disjoint meters (``input``,
``cache_read``, ``output``, ``reasoning``...). A signed :class:`RateCard` gives, per model, a
weight in UTU for one unit of each meter, optional volume tiers and a minimum. Pricing
(:meth:`RateCard.price`) multiplies and sums exactly, rounds once half-to-even to 6 fractional
digits and applies the minimum. :func:`adapt` turns a vendor's usage report (OpenAI, Anthropic,
Gemini, Qwen, DeepSeek, Kimi, GLM, Doubao, Qianfan, MiniMax, vLLM, SGLang, OpenTelemetry) into
a :class:`Usage`; :class:`UsageStream` does the same for a streamed response, chunk by chunk.

Example::

    card = RateCard.from_claims(claims)
    price = card.price(parse_usage({"model": "m", "meters": {"input": 1200, "output": 300}}))
    price.amount  # Decimal
"""

from __future__ import annotations

import reprlib
from collections.abc import Mapping
from decimal import Decimal
from typing import Annotated, Any, ClassVar, Literal, Self

from pydantic import Field, ValidationError, model_validator

from . import _adapters, _json
from ._adapters import VENDORS, Adapted
from ._adapters._stream import StreamState
from ._meters import (
    MAX_METER_NAME,
    MAX_MODEL_LENGTH,
    METERS,
    SERVICE_TIERS,
    is_extension_meter,
    is_meter_name,
    is_service_tier,
)
from ._model import (
    _SERIALIZE,
    Document,
    SafeCount,
    Weight,
    _decimal_schema,
    _decimal_validator,
)
from ._pricing import AMOUNT_PLACES
from ._ratecard import UTU, Price, PriceLine, RateCard
from ._signed import (
    DocumentId,
    SignedClaims,
    WireDocument,
    semantic_error,
)
from .errors import (
    InvalidUsageError,
    SchemaViolationError,
    UnknownMeterError,
)

__all__ = [
    "METERS",
    "SERVICE_TIERS",
    "UTU",
    "VENDORS",
    "ModelRates",
    "Price",
    "PriceLine",
    "RateCard",
    "RateCardClaims",
    "ServiceTierRates",
    "Tier",
    "Usage",
    "UsageStream",
    "adapt",
    "from_anthropic",
    "from_openai",
    "from_otel",
    "is_extension_meter",
    "parse_usage",
]

_MAX_COUNT = _json.MAX_SAFE_INTEGER
_METER_PATTERN = r"^(" + "|".join(METERS) + r"|[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+)$"
MeterName = Annotated[str, Field(pattern=_METER_PATTERN, max_length=MAX_METER_NAME)]
_TIER_PATTERN = r"^(" + "|".join(SERVICE_TIERS) + r"|[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+)$"
ServiceTierName = Annotated[str, Field(pattern=_TIER_PATTERN, max_length=MAX_METER_NAME)]
ModelId = Annotated[str, Field(min_length=1, max_length=MAX_MODEL_LENGTH)]

MinimumAmount = Annotated[
    Decimal,
    _decimal_validator(max_places=AMOUNT_PLACES, non_negative=True),
    _SERIALIZE,
    _decimal_schema("UTU amount: canonical decimal string, >= 0, <= 6 fractional digits"),
]
"""A model's minimum amount: >= 0, at most 6 fractional digits (UNIT-026)."""


def _check_usage(value: Any) -> None:
    """The usage checks of UNIT-007, in order: shape, meter names, counts."""
    if not isinstance(value, dict):
        raise SchemaViolationError(
            f"usage must be a JSON object, not {type(value).__name__} (UNIT-002)",
            detail={"path": "/"},
        )
    model = value.get("model")
    if not isinstance(model, str) or not 1 <= len(model) <= MAX_MODEL_LENGTH:
        raise SchemaViolationError(
            f"usage/model must be a string of 1 to {MAX_MODEL_LENGTH} characters, not "
            f"{reprlib.repr(model)} (UNIT-002)",
            detail={"path": "/model"},
        )
    meters = value.get("meters")
    if not isinstance(meters, dict):
        raise SchemaViolationError(
            "usage/meters must be a JSON object of meter name -> count, not "
            f"{reprlib.repr(meters)} (UNIT-002)",
            detail={"path": "/meters"},
        )
    if "service_tier" in value and not is_service_tier(value["service_tier"]):
        raise SchemaViolationError(
            f"usage/service_tier is {reprlib.repr(value['service_tier'])}; it is optional and, "
            f"when present, one of {', '.join(SERVICE_TIERS)} or an extension name such as "
            "'acme.night' (UNIT-070)",
            detail={"path": "/service_tier"},
        )
    for name in meters:
        if not is_meter_name(name):
            raise UnknownMeterError(
                f"usage/meters: {reprlib.repr(name)} is neither a registered meter nor an "
                "extension name such as 'acme.gpu_seconds' (UNIT-003, UNIT-008)",
                detail={"path": f"/meters/{name}"},
            )
    for name, count in meters.items():
        if type(count) is not int or not 0 <= count <= _MAX_COUNT:
            raise InvalidUsageError(
                f"usage/meters/{name} is {reprlib.repr(count)}; a count is an integer from 0 "
                "to 2^53-1 (UNIT-004)",
                detail={"path": f"/meters/{name}"},
            )


class Usage(Document):
    """What one request consumed: a model id and a count per meter (UNIT-002..UNIT-007).

    Validating a usage raises :class:`~tokenfed.errors.SchemaViolationError` for a wrong shape,
    :class:`~tokenfed.errors.UnknownMeterError` for a name that is neither registered nor an
    extension name, and :class:`~tokenfed.errors.InvalidUsageError` for a count that is not an
    integer in 0..2^53-1, in that order.
    """

    model: ModelId
    meters: dict[str, int]
    service_tier: ServiceTierName | None = None
    """The service tier the request was served in (UNIT-070); ``None`` when not named."""

    @model_validator(mode="before")
    @classmethod
    def _usage_rules(cls, value: Any) -> Any:
        if not isinstance(value, Usage):
            _check_usage(value)
        return value

    def count(self, meter: str) -> int:
        """The count of ``meter`` (0 when absent, UNIT-006)."""
        return self.meters.get(meter, 0)


class Tier(WireDocument):
    """Weights that apply once the usage's total input exceeds ``above_input`` (UNIT-025)."""

    above_input: SafeCount
    weights: dict[MeterName, Weight]


class ServiceTierRates(WireDocument):
    """A model's complete rates in one service tier (UNIT-071): weights, tiers, minimum."""

    weights: dict[MeterName, Weight]
    tiers: list[Tier] = Field(default_factory=list)
    minimum: MinimumAmount = Decimal(0)

    @model_validator(mode="after")
    def _tiers_increase(self) -> Self:
        previous: int | None = None
        for index, tier in enumerate(self.tiers):
            if previous is not None and tier.above_input <= previous:
                raise semantic_error(
                    f"tiers/{index}/above_input {tier.above_input} is not greater than the "
                    f"previous tier's {previous}; tiers are strictly increasing (UNIT-025)"
                )
            previous = tier.above_input
        return self

    @model_validator(mode="before")
    @classmethod
    def _no_nested_tiers(cls, value: Any) -> Any:
        if cls is ServiceTierRates and isinstance(value, dict) and "service_tiers" in value:
            raise ValueError("the rates of a service tier cannot name service_tiers (UNIT-071)")
        return value


class ModelRates(ServiceTierRates):
    """One model's rates: base weights, optional tiers (default none), minimum (default 0),
    and optional complete rates per service tier (UNIT-071)."""

    service_tiers: dict[ServiceTierName, ServiceTierRates] = Field(default_factory=dict)


class RateCardClaims(SignedClaims):
    """The claims of a rate card (UNIT-022); unknown members are kept (CONV-005)."""

    _what: ClassVar[str] = "rate card"
    _window_requirement: ClassVar[str] = "UNIT-027"

    rate_card_id: DocumentId
    unit: Literal["UTU"]
    models: dict[ModelId, ModelRates] = Field(min_length=1)


def parse_usage(value: object) -> Usage:
    """Validate a usage object (a parsed JSON object) (UNIT-007).

    Raises:
        SchemaViolationError: not an object, ``model`` not a string of 1..256 characters, or
            ``meters`` not an object (UNIT-002).
        UnknownMeterError: a meter name is neither registered nor an extension name (UNIT-003).
        InvalidUsageError: a count is not an integer in 0..2^53-1 (UNIT-004).
    """
    if isinstance(value, Usage):
        return value
    if isinstance(value, Mapping) and not isinstance(value, dict):
        value = dict(value)
    try:
        return Usage.model_validate(value)
    except ValidationError as exc:  # the usage rules above leave nothing for pydantic to catch
        first = exc.errors(include_url=False)[0]
        path = "/" + "/".join(str(part) for part in first["loc"])
        raise SchemaViolationError(
            f"usage{path}: {first['msg']} (UNIT-002)", detail={"path": path}
        ) from None


def _usage(adapted: Adapted) -> Usage:
    document: dict[str, Any] = {"model": adapted.model, "meters": adapted.meters}
    if adapted.service_tier is not None:
        document["service_tier"] = adapted.service_tier
    return Usage.model_validate(document)


def adapt(
    vendor: str,
    report: Mapping[str, Any],
    model: str | None = None,
    *,
    strict: bool = True,
    service_tier: str | None = None,
) -> Usage:
    """Map a vendor's usage report onto meters by the vendor's adapter table (UNIT-010..UNIT-019,
    UNIT-080..UNIT-095).

    ``vendor`` is one of :data:`VENDORS`. ``report`` is the vendor's usage object, or the whole
    response that holds it (then the model and the service tier are read from the response
    too, UNIT-080). ``model`` names the model when the report does not, or replaces the
    response's model id with the id your rate card uses. ``service_tier`` names a tier the
    report cannot know, such as ``"batch"`` for a batch job (UNIT-081).

    Strict mode (the default, UNIT-019) refuses a report with a non-zero member the adapter
    does not know, so a vendor's new billed part is never priced as something else;
    ``strict=False`` ignores such members.

    Raises:
        InvalidUsageError: a bad count, parts exceeding their total, an unknown member in strict
            mode, an unknown service tier value, or no usable model id.
        ValueError: an unknown ``vendor`` or a malformed ``service_tier`` name.
    """
    return _usage(
        _adapters.adapt(vendor, report, model=model, strict=strict, service_tier=service_tier)
    )


class UsageStream:
    """The usage of a streamed response, read chunk by chunk (UNIT-100..UNIT-104).

    Feed every chunk (each parsed JSON object: an OpenAI-style chunk, an Anthropic event, a
    Gemini or DashScope chunk) to :meth:`feed`, then call :meth:`usage` once the stream has
    ended. The usage is taken from the chunk that reports it (OpenAI-style: the chunk with
    ``choices: []`` sent when ``stream_options.include_usage`` is set; Anthropic: the
    cumulative ``message_delta``; Gemini, DashScope: the chunk that finishes the answer), and
    counted exactly once.

    Example::

        stream = UsageStream("openai", model="gpt-4o")
        for chunk in chunks:
            stream.feed(chunk)
        usage = stream.usage()
    """

    def __init__(
        self,
        vendor: str,
        model: str | None = None,
        *,
        strict: bool = True,
        service_tier: str | None = None,
    ) -> None:
        if not isinstance(strict, bool):
            raise TypeError("strict must be a bool")
        self._state = StreamState(vendor, model=model, strict=strict, service_tier=service_tier)

    def feed(self, chunk: Mapping[str, Any]) -> None:
        """Take the next chunk of the stream.

        Raises:
            InvalidUsageError: a malformed chunk, a bad usage report, or a second final usage.
        """
        self._state.feed(chunk)

    def usage(self) -> Usage:
        """The stream's usage.

        Raises:
            IncompleteStreamError: the stream ended before its usage was reported.
        """
        return _usage(self._state.result())


def from_openai(usage: Mapping[str, Any], model: str, *, strict: bool = True) -> Usage:
    """:func:`adapt` with ``vendor="openai"`` (UNIT-013, UNIT-014, UNIT-015)."""
    if model is None:
        model = ""  # the model is required here (UNIT-012)
    return adapt("openai", usage, model, strict=strict)


def from_anthropic(usage: Mapping[str, Any], model: str, *, strict: bool = True) -> Usage:
    """:func:`adapt` with ``vendor="anthropic"`` (UNIT-016)."""
    if model is None:
        model = ""  # the model is required here (UNIT-012)
    return adapt("anthropic", usage, model, strict=strict)


def from_otel(attributes: Mapping[str, Any], *, strict: bool = True) -> Usage:
    """:func:`adapt` with ``vendor="otel"`` (UNIT-017, UNIT-018): the model is read from the
    ``gen_ai.response.model`` or ``gen_ai.request.model`` attribute."""
    return adapt("otel", attributes, strict=strict)
