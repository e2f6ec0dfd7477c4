"""Vendor usage reports mapped onto tokenfed meters (spec/units.md, UNIT-010..UNIT-018).

Each adapter reads counts that vendors report as totals with parts inside them (cached tokens
inside prompt tokens, reasoning tokens inside completion tokens...) and splits them into the
disjoint buckets of the meter registry (UNIT-005). The functions here return plain meter maps;
:mod:`tokenfed.units` turns them into :class:`~tokenfed.units.Usage` objects.
"""

from __future__ import annotations

import reprlib
from collections.abc import Mapping
from typing import Any

from ._json import MAX_SAFE_INTEGER
from ._meters import OPENAI_AUDIO_IN, OPENAI_AUDIO_OUT, ordered
from .errors import InvalidUsageError

__all__ = [
    "MAX_MODEL_LENGTH",
    "OTEL_CACHE_CREATION",
    "OTEL_CACHE_READ",
    "OTEL_INPUT",
    "OTEL_OUTPUT",
    "OTEL_REASONING",
    "OTEL_REQUEST_MODEL",
    "OTEL_RESPONSE_MODEL",
    "anthropic_meters",
    "check_model",
    "openai_meters",
    "otel_usage",
]

MAX_MODEL_LENGTH = 256
"""Longest model id (UNIT-002)."""

OTEL_INPUT = "gen_ai.usage.input_tokens"
OTEL_OUTPUT = "gen_ai.usage.output_tokens"
OTEL_CACHE_READ = "gen_ai.usage.cache_read.input_tokens"
OTEL_CACHE_CREATION = "gen_ai.usage.cache_creation.input_tokens"
OTEL_REASONING = "gen_ai.usage.reasoning.output_tokens"
OTEL_RESPONSE_MODEL = "gen_ai.response.model"
OTEL_REQUEST_MODEL = "gen_ai.request.model"

_CHAT = ("prompt_tokens", "completion_tokens", "prompt_tokens_details", "completion_tokens_details")
_RESPONSES = ("input_tokens", "output_tokens", "input_tokens_details", "output_tokens_details")


def _count(source: Mapping[str, Any], name: str, where: str) -> int:
    """A count member: absent or null is 0 (UNIT-010); else an integer in 0..2^53-1."""
    value = source.get(name)
    if value is None:
        return 0
    if type(value) is not int or not 0 <= value <= MAX_SAFE_INTEGER:
        raise InvalidUsageError(
            f"{where}{name} is {reprlib.repr(value)}; a count is an integer from 0 to 2^53-1 "
            "(UNIT-010)",
            detail={"member": where + name},
        )
    return value


def _details(source: Mapping[str, Any], name: str, where: str) -> Mapping[str, Any]:
    """A details object: absent or null is empty (UNIT-010); else it must be an object."""
    value = source.get(name)
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise InvalidUsageError(
            f"{where}{name} must be an object, not {type(value).__name__} (UNIT-010)",
            detail={"member": where + name},
        )
    return value


def _within(parts: int, total: int, what: str, total_name: str) -> None:
    if parts > total:
        raise InvalidUsageError(
            f"{what} ({parts}) exceed {total_name} ({total}); parts must lie inside their "
            "total (UNIT-011)",
            detail={"parts": parts, "total": total},
        )


def _source(usage: object, what: str) -> Mapping[str, Any]:
    if not isinstance(usage, Mapping):
        raise InvalidUsageError(
            f"{what} usage must be an object, not {type(usage).__name__} (UNIT-010)"
        )
    return usage


def _nonzero(meters: dict[str, int]) -> dict[str, int]:
    return ordered({name: count for name, count in meters.items() if count})


def check_model(model: object, what: str) -> str:
    """The model id an adapter puts in the usage: a string of 1 to 256 characters (UNIT-012)."""
    if not isinstance(model, str) or not 1 <= len(model) <= MAX_MODEL_LENGTH:
        raise InvalidUsageError(
            f"{what}: model must be a string of 1 to {MAX_MODEL_LENGTH} characters, "
            f"not {reprlib.repr(model)} (UNIT-012)"
        )
    return model


def openai_meters(usage: object) -> dict[str, int]:
    """Meters of an OpenAI Chat Completions (UNIT-013) or Responses (UNIT-014) usage object."""
    source = _source(usage, "OpenAI")
    chat = [name for name in _CHAT if source.get(name) is not None]
    responses = [name for name in _RESPONSES if source.get(name) is not None]
    if chat and responses:
        raise InvalidUsageError(
            f"OpenAI usage mixes Chat Completions members {chat} with Responses members "
            f"{responses}; give one or the other (UNIT-015)"
        )
    if responses:
        total_in, total_out = "input_tokens", "output_tokens"
    else:
        total_in, total_out = "prompt_tokens", "completion_tokens"
    in_details = _details(source, f"{total_in}_details", "")
    out_details = _details(source, f"{total_out}_details", "")
    prompt = _count(source, total_in, "")
    completion = _count(source, total_out, "")
    cached = _count(in_details, "cached_tokens", f"{total_in}_details.")
    audio_in = _count(in_details, "audio_tokens", f"{total_in}_details.")
    reasoning = _count(out_details, "reasoning_tokens", f"{total_out}_details.")
    audio_out = _count(out_details, "audio_tokens", f"{total_out}_details.")
    _within(
        cached + audio_in,
        prompt,
        f"{total_in}_details.cached_tokens + audio_tokens",
        total_in,
    )
    _within(
        reasoning + audio_out,
        completion,
        f"{total_out}_details.reasoning_tokens + audio_tokens",
        total_out,
    )
    return _nonzero(
        {
            "input": prompt - cached - audio_in,
            "cache_read": cached,
            "output": completion - reasoning - audio_out,
            "reasoning": reasoning,
            OPENAI_AUDIO_IN: audio_in,
            OPENAI_AUDIO_OUT: audio_out,
        }
    )


def anthropic_meters(usage: object) -> dict[str, int]:
    """Meters of an Anthropic Messages API usage object (UNIT-016)."""
    source = _source(usage, "Anthropic")
    server_tools = _details(source, "server_tool_use", "")
    return _nonzero(
        {
            "input": _count(source, "input_tokens", ""),
            "cache_read": _count(source, "cache_read_input_tokens", ""),
            "cache_write": _count(source, "cache_creation_input_tokens", ""),
            "output": _count(source, "output_tokens", ""),
            "web_search": _count(server_tools, "web_search_requests", "server_tool_use."),
        }
    )


def _otel_model(attributes: Mapping[str, Any]) -> str:
    for name in (OTEL_RESPONSE_MODEL, OTEL_REQUEST_MODEL):
        value = attributes.get(name)
        if isinstance(value, str) and value:
            return check_model(value, f"OpenTelemetry attribute {name}")
    raise InvalidUsageError(
        f"OpenTelemetry attributes name no model: neither {OTEL_RESPONSE_MODEL} nor "
        f"{OTEL_REQUEST_MODEL} is a non-empty string (UNIT-018)"
    )


def otel_usage(attributes: object) -> tuple[str, dict[str, int]]:
    """Model and meters of OpenTelemetry GenAI span attributes (UNIT-017, UNIT-018)."""
    source = _source(attributes, "OpenTelemetry")
    total_in = _count(source, OTEL_INPUT, "")
    total_out = _count(source, OTEL_OUTPUT, "")
    cache_read = _count(source, OTEL_CACHE_READ, "")
    cache_write = _count(source, OTEL_CACHE_CREATION, "")
    reasoning = _count(source, OTEL_REASONING, "")
    _within(
        cache_read + cache_write, total_in, f"{OTEL_CACHE_READ} + {OTEL_CACHE_CREATION}", OTEL_INPUT
    )
    _within(reasoning, total_out, OTEL_REASONING, OTEL_OUTPUT)
    meters = _nonzero(
        {
            "input": total_in - cache_read - cache_write,
            "cache_read": cache_read,
            "cache_write": cache_write,
            "output": total_out - reasoning,
            "reasoning": reasoning,
        }
    )
    return _otel_model(source), meters
