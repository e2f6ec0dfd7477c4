"""Anthropic Messages usage objects (UNIT-016, UNIT-083).

``input_tokens`` excludes cache reads and writes, which are reported next to it. Thinking
tokens are billed as output and reported inside ``output_tokens``
(``output_tokens_details.thinking_tokens``). Cache writes are broken down by lifetime, and the
one-hour lifetime is priced apart. The service tier, the speed and the inference geography
all change the price of the same tokens; together they name the service tier of the usage.
"""

from __future__ import annotations

from ..errors import InvalidUsageError
from ._report import Fields, within

__all__ = ["anthropic_meters", "anthropic_service_tier"]

_TIERS = ("standard", "priority", "batch")
_SPEEDS = ("standard", "fast")
_GEOS = ("global", "us", "not_available")


def anthropic_meters(usage: Fields) -> dict[str, int]:
    """Meters of an Anthropic Messages usage object (UNIT-016)."""
    output = usage.count("output_tokens")
    thinking = usage.details("output_tokens_details").count("thinking_tokens")
    within(thinking, output, "output_tokens_details.thinking_tokens", "output_tokens")
    cache_write = usage.count("cache_creation_input_tokens")
    by_lifetime = usage.details("cache_creation")
    five_minutes = by_lifetime.count("ephemeral_5m_input_tokens")
    one_hour = by_lifetime.count("ephemeral_1h_input_tokens")
    within(
        five_minutes + one_hour,
        cache_write,
        "cache_creation.ephemeral_5m_input_tokens + ephemeral_1h_input_tokens",
        "cache_creation_input_tokens",
    )
    server_tools = usage.details("server_tool_use")
    return {
        "input": usage.count("input_tokens"),
        "cache_read": usage.count("cache_read_input_tokens"),
        "cache_write": cache_write - one_hour,
        "output": output - thinking,
        "reasoning": thinking,
        "web_search": server_tools.count("web_search_requests"),
        "anthropic.cache_write_1h": one_hour,
        "anthropic.web_fetch_requests": server_tools.count("web_fetch_requests"),
    }


def _choice(usage: Fields, name: str, allowed: tuple[str, ...], default: str) -> str:
    value = usage.text(name)
    if value is None:
        return default
    if value not in allowed:
        raise InvalidUsageError(
            f"{name} is {value!r}, which this adapter cannot price; known values are "
            f"{', '.join(allowed)} (UNIT-083)",
            detail={"member": name},
        )
    return value


def anthropic_service_tier(usage: Fields) -> str | None:
    """The service tier named by ``service_tier``, ``speed`` and ``inference_geo`` (UNIT-083).

    ``None`` when the usage names none of them; the registry tier when only ``service_tier``
    departs from the default; else ``anthropic.<tier>[_fast][_us]``.
    """
    named = any(usage.present(name) for name in ("service_tier", "speed", "inference_geo"))
    tier = _choice(usage, "service_tier", _TIERS, "standard")
    fast = _choice(usage, "speed", _SPEEDS, "standard") == "fast"
    us_only = _choice(usage, "inference_geo", _GEOS, "global") == "us"
    if not named:
        return None
    if not fast and not us_only:
        return tier
    return "anthropic." + tier + ("_fast" if fast else "") + ("_us" if us_only else "")
