"""Vendor usage reports mapped onto tokenfed meters (spec/units.md, UNIT-010..UNIT-019,
UNIT-080..UNIT-095).

Each adapter reads counts that vendors report as totals with parts inside them (cached tokens
inside prompt tokens, reasoning tokens inside completion tokens...) and splits them into the
disjoint buckets of the meter registry (UNIT-005). :func:`adapt` returns an :class:`Adapted`
(model, meters, service tier); :mod:`tokenfed.units` turns it into a
:class:`~tokenfed.units.Usage`. One module per vendor family; this module holds the vendor
registry and the rules every adapter shares: the response envelope, the model, the service
tier and strict mode.
"""

from __future__ import annotations

import reprlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from .._meters import MAX_MODEL_LENGTH, is_service_tier
from ..errors import InvalidUsageError
from ._anthropic import anthropic_meters, anthropic_service_tier
from ._dashscope import dashscope_meters
from ._gemini import gemini_meters, gemini_service_tier
from ._openai import PROFILES, chat_meters
from ._otel import no_model, otel_meters, otel_model
from ._report import Fields, nonzero

__all__ = ["MAX_MODEL_LENGTH", "VENDORS", "Adapted", "adapt", "check_model", "vendor_label"]


@dataclass(frozen=True, slots=True)
class Adapted:
    """What an adapter read from one report: the model, the meters and the service tier."""

    model: str
    meters: dict[str, int]
    service_tier: str | None


@dataclass(frozen=True, slots=True)
class _Vendor:
    label: str
    meters: Callable[[Fields], dict[str, int]]
    usage_member: tuple[str, ...] = ("usage",)
    """Members of a whole response that hold the usage object (UNIT-080)."""
    model_member: tuple[str, ...] = ("model",)
    report_tier: Callable[[Fields], str | None] | None = None
    """Reads the service tier from the usage object itself."""
    response_tiers: Mapping[str, str] | None = None
    """Maps a response's ``service_tier`` member to a service tier (UNIT-081)."""


_OPENAI_TIERS = {
    "default": "standard",
    "flex": "flex",
    "priority": "priority",
    "scale": "openai.scale",
    "fast": "openai.fast",
    "ultrafast": "openai.ultrafast",
}
_COMPATIBLE_TIERS = {"default": "standard", "standard": "standard"}
_VOLCENGINE_TIERS = {"default": "standard", "standard": "standard", "scale": "volcengine.scale"}
"""``auto`` (also in the Ark SDK's type) names the request's setting, not the tier used."""


def _chat(vendor: str) -> Callable[[Fields], dict[str, int]]:
    profile = PROFILES[vendor]
    return lambda usage: chat_meters(usage, profile)


_VENDORS: dict[str, _Vendor] = {
    "openai": _Vendor("OpenAI", _chat("openai"), response_tiers=_OPENAI_TIERS),
    "anthropic": _Vendor("Anthropic", anthropic_meters, report_tier=anthropic_service_tier),
    "gemini": _Vendor(
        "Google Gemini",
        gemini_meters,
        usage_member=("usageMetadata", "usage_metadata"),
        model_member=("modelVersion", "model_version"),
        report_tier=gemini_service_tier,
    ),
    "dashscope": _Vendor("Qwen (DashScope native)", dashscope_meters, model_member=()),
    **{
        vendor: _Vendor(
            profile.label,
            _chat(vendor),
            response_tiers=_VOLCENGINE_TIERS if vendor == "volcengine" else _COMPATIBLE_TIERS,
        )
        for vendor, profile in PROFILES.items()
        if vendor != "openai"
    },
    "otel": _Vendor("OpenTelemetry GenAI", otel_meters, usage_member=(), model_member=()),
}

VENDORS: tuple[str, ...] = tuple(_VENDORS)
"""The vendor names :func:`adapt` accepts, in the order of the units chapter."""


def vendor_label(vendor: str) -> str:
    """A vendor's name for people (``"Zhipu GLM"``)."""
    return _VENDORS[vendor].label


def check_model(model: object, what: str) -> str:
    """The model id an adapter puts in the usage: a string of 1 to 256 characters (UNIT-012)."""
    if not isinstance(model, str) or not 1 <= len(model) <= MAX_MODEL_LENGTH:
        raise InvalidUsageError(
            f"{what}: model must be a string of 1 to {MAX_MODEL_LENGTH} characters, "
            f"not {reprlib.repr(model)} (UNIT-012)"
        )
    return model


def _envelope(spec: _Vendor, report: Mapping[str, Any]) -> tuple[object, object, object]:
    """(usage object, response model, response service tier) of a report (UNIT-080)."""
    for member in spec.usage_member:
        if member in report:
            usage = report[member]
            if usage is None:
                raise InvalidUsageError(
                    f"the {spec.label} response has {member}: null; without a usage report "
                    "nothing can be priced, and tokenfed never assumes zero usage (UNIT-080)",
                    detail={"member": member},
                )
            model = next((report[name] for name in spec.model_member if name in report), None)
            return usage, model, report.get("service_tier")
    return report, None, None


def _response_tier(spec: _Vendor, value: object) -> str | None:
    if value is None:
        return None
    table = spec.response_tiers or {}
    if not isinstance(value, str) or value not in table:
        raise InvalidUsageError(
            f"the {spec.label} response names service_tier {reprlib.repr(value)}, which this "
            f"adapter cannot price; known values are {', '.join(table) or 'none'} (UNIT-081)",
            detail={"member": "service_tier"},
        )
    return table[value]


def _settle_tier(reported: str | None, given: str | None, label: str) -> str | None:
    """The caller's tier replaces a reported ``standard``; other disagreements fail (UNIT-081)."""
    if given is None or reported is None or reported == given:
        return reported if given is None else given
    if reported == "standard":
        return given
    raise InvalidUsageError(
        f"the {label} report names service tier {reported!r} but the caller says {given!r}; "
        "one of them is wrong (UNIT-081)",
        detail={"reported": reported, "given": given},
    )


def adapt(
    vendor: str,
    report: object,
    *,
    model: object = None,
    strict: bool = True,
    service_tier: str | None = None,
) -> Adapted:
    """Read one vendor report (a usage object or a whole response) under its table."""
    spec = _VENDORS.get(vendor)
    if spec is None:
        raise ValueError(f"unknown vendor {vendor!r}; known vendors are {', '.join(VENDORS)}")
    if not isinstance(strict, bool):
        raise TypeError("strict must be a bool")
    if service_tier is not None and not is_service_tier(service_tier):
        raise ValueError(
            f"service_tier {service_tier!r} is neither a registered tier nor an extension name "
            "such as 'acme.night' (UNIT-070)"
        )
    if not isinstance(report, Mapping):
        raise InvalidUsageError(
            f"{spec.label} usage must be an object, not {type(report).__name__} (UNIT-010)"
        )
    usage_object, response_model, response_tier = _envelope(spec, report)
    usage = Fields(usage_object, "", strict=strict, what=spec.label)
    meters = spec.meters(usage)
    reported = spec.report_tier(usage) if spec.report_tier else None
    reported = reported or _response_tier(spec, response_tier)
    usage.finish()
    if vendor == "otel":
        found = otel_model(usage)
        if model is None and found is None:
            raise no_model()
        response_model = found
    if model is None:
        if response_model is None:
            raise InvalidUsageError(
                f"no model for the {spec.label} usage: give the model id, or the whole response "
                "that names it (UNIT-012)"
            )
        model = response_model
    return Adapted(
        check_model(model, f"{spec.label} adapter"),
        nonzero(meters),
        _settle_tier(reported, service_tier, spec.label),
    )
