"""OpenTelemetry GenAI span attributes (UNIT-017, UNIT-018)."""

from __future__ import annotations

from ..errors import InvalidUsageError
from ._report import Fields, within

__all__ = [
    "OTEL_CACHE_CREATION",
    "OTEL_CACHE_READ",
    "OTEL_INPUT",
    "OTEL_OUTPUT",
    "OTEL_REASONING",
    "OTEL_REQUEST_MODEL",
    "OTEL_RESPONSE_MODEL",
    "otel_meters",
    "otel_model",
]

OTEL_INPUT = "gen_ai.usage.input_tokens"
OTEL_OUTPUT = "gen_ai.usage.output_tokens"
OTEL_CACHE_READ = "gen_ai.usage.cache_read.input_tokens"
OTEL_CACHE_CREATION = "gen_ai.usage.cache_creation.input_tokens"
OTEL_REASONING = "gen_ai.usage.reasoning.output_tokens"
OTEL_RESPONSE_MODEL = "gen_ai.response.model"
OTEL_REQUEST_MODEL = "gen_ai.request.model"


def otel_model(attributes: Fields) -> str | None:
    """``gen_ai.response.model``, else ``gen_ai.request.model``, if non-empty (UNIT-018)."""
    attributes.known(OTEL_RESPONSE_MODEL, OTEL_REQUEST_MODEL)
    for name in (OTEL_RESPONSE_MODEL, OTEL_REQUEST_MODEL):
        value = attributes.source.get(name)
        if isinstance(value, str) and value:
            return value
    return None


def otel_meters(attributes: Fields) -> dict[str, int]:
    """Meters of OpenTelemetry GenAI attributes (UNIT-017).

    A span carries many attributes besides usage, so only members of the ``gen_ai.usage.``
    namespace are subject to strict mode (UNIT-019).
    """
    total_in = attributes.count(OTEL_INPUT)
    total_out = attributes.count(OTEL_OUTPUT)
    cache_read = attributes.count(OTEL_CACHE_READ)
    cache_write = attributes.count(OTEL_CACHE_CREATION)
    reasoning = attributes.count(OTEL_REASONING)
    attributes.known(*(name for name in attributes.source if not name.startswith("gen_ai.usage.")))
    within(
        cache_read + cache_write, total_in, f"{OTEL_CACHE_READ} + {OTEL_CACHE_CREATION}", OTEL_INPUT
    )
    within(reasoning, total_out, OTEL_REASONING, OTEL_OUTPUT)
    return {
        "input": total_in - cache_read - cache_write,
        "cache_read": cache_read,
        "cache_write": cache_write,
        "output": total_out - reasoning,
        "reasoning": reasoning,
    }


def no_model() -> InvalidUsageError:
    """The error of a span that names no model (UNIT-018)."""
    return InvalidUsageError(
        f"OpenTelemetry attributes name no model: neither {OTEL_RESPONSE_MODEL} nor "
        f"{OTEL_REQUEST_MODEL} is a non-empty string (UNIT-018)"
    )
