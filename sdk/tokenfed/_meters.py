"""The meter registry and the extension-name syntax (spec/units.md, UNIT-003, UNIT-008).

Kept apart from :mod:`tokenfed.units` so the adapters and the pricing tables can share one
definition of the registry order without importing the public module.
"""

from __future__ import annotations

import re

__all__ = [
    "EXTENSION_METER",
    "INPUT_EXTENSION_METERS",
    "MAX_METER_NAME",
    "METERS",
    "OPENAI_AUDIO_IN",
    "OPENAI_AUDIO_OUT",
    "REGISTRY",
    "SERVICE_TIERS",
    "SPEC_EXTENSION_METERS",
    "is_extension_meter",
    "is_meter_name",
    "is_service_tier",
    "meter_order",
    "ordered",
]

METERS: tuple[str, ...] = (
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
"""Registered meter names, in registry order (UNIT-003)."""

REGISTRY: frozenset[str] = frozenset(METERS)

EXTENSION_METER = re.compile(r"[a-z][a-z0-9_]*(?:\.[a-z][a-z0-9_]*)+")
"""Syntax of an extension meter name (UNIT-008), matched in full."""

MAX_METER_NAME = 64
"""Longest meter name (UNIT-008)."""

MAX_MODEL_LENGTH = 256
"""Longest model id, in characters (UNIT-002)."""

OPENAI_AUDIO_IN = "openai.audio_in_tokens"
OPENAI_AUDIO_OUT = "openai.audio_out_tokens"

SPEC_EXTENSION_METERS: tuple[str, ...] = (
    OPENAI_AUDIO_IN,
    OPENAI_AUDIO_OUT,
    "openai.cache_write_12h",
    "anthropic.cache_write_1h",
    "anthropic.web_fetch_requests",
    "google.audio_in_tokens",
    "google.audio_cache_read_tokens",
    "google.audio_out_tokens",
    "qwen.audio_in_tokens",
    "qwen.audio_out_tokens",
    "qwen.explicit_cache_read_tokens",
    "volcengine.audio_in_tokens",
    "volcengine.audio_cache_read_tokens",
    "volcengine.audio_out_tokens",
)
"""Extension meters this specification defines for its adapters (UNIT-009)."""

INPUT_EXTENSION_METERS: tuple[str, ...] = (
    OPENAI_AUDIO_IN,
    "openai.cache_write_12h",
    "anthropic.cache_write_1h",
    "google.audio_in_tokens",
    "google.audio_cache_read_tokens",
    "qwen.audio_in_tokens",
    "qwen.explicit_cache_read_tokens",
    "volcengine.audio_in_tokens",
    "volcengine.audio_cache_read_tokens",
)
"""The extension meters of UNIT-009 that count prompt tokens: part of total_input (UNIT-044)."""

SERVICE_TIERS: tuple[str, ...] = ("standard", "priority", "batch", "flex")
"""Registered service tiers (UNIT-070); other tiers use extension names such as ``acme.night``."""

_ORDER = {name: index for index, name in enumerate(METERS)}
_AFTER_REGISTRY = len(METERS)


def is_extension_meter(name: object) -> bool:
    """Whether ``name`` is a syntactically valid extension meter name (UNIT-008)."""
    return (
        isinstance(name, str)
        and len(name) <= MAX_METER_NAME
        and EXTENSION_METER.fullmatch(name) is not None
    )


def is_meter_name(name: object) -> bool:
    """Whether ``name`` is a registered meter or an extension meter name (UNIT-003)."""
    return isinstance(name, str) and (name in REGISTRY or is_extension_meter(name))


def is_service_tier(name: object) -> bool:
    """Whether ``name`` is a registered service tier or an extension tier name (UNIT-070)."""
    return isinstance(name, str) and (name in SERVICE_TIERS or is_extension_meter(name))


def meter_order(name: str) -> tuple[int, str]:
    """Sort key: registry order first, then extension names by code point (UNIT-061)."""
    return (_ORDER.get(name, _AFTER_REGISTRY), name)


def ordered(meters: dict[str, int]) -> dict[str, int]:
    """The same meters in registry order, then extension names sorted."""
    return {name: meters[name] for name in sorted(meters, key=meter_order)}
