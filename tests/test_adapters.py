"""Vendor usage adapters (spec/units.md, UNIT-009..UNIT-019, UNIT-080..UNIT-104).

The vectors (spec/vectors/adapters.json) fix each mapping; the property tests show that the
adapters neither lose nor double-count tokens (UNIT-005) over many generated reports.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tokenfed import errors
from tokenfed.units import (
    METERS,
    VENDORS,
    RateCard,
    Usage,
    UsageStream,
    adapt,
    from_anthropic,
    from_openai,
    from_otel,
)
from tokenfed_conformance.vectors import Vector, load_vectors

ADAPTERS = load_vectors("adapters")
MAX = 2**53 - 1


def _adapt(vector_input: Mapping[str, Any]) -> Usage:
    """Run one adapter vector's input: a single report through adapt(), or a stream through
    UsageStream."""
    vendor = vector_input["format"]
    options: dict[str, Any] = {
        "strict": vector_input.get("strict", True),
        "service_tier": vector_input.get("service_tier"),
    }
    if "stream" in vector_input:
        stream = UsageStream(vendor, vector_input.get("model"), **options)
        for chunk in vector_input["stream"]:
            stream.feed(chunk)
        return stream.usage()
    return adapt(vendor, vector_input["usage"], vector_input.get("model"), **options)


@pytest.mark.parametrize("vector", ADAPTERS.vectors, ids=lambda v: v.id)
def test_adapter_vectors(vector: Vector) -> None:
    """Every adapter and stream vector (UNIT-009..UNIT-019, UNIT-080..UNIT-095,
    UNIT-100..UNIT-104): the exact usage object or the error code."""
    if vector.error is not None:
        with pytest.raises(errors.TokenfedError) as caught:
            _adapt(vector.input)
        assert caught.value.code == vector.error, caught.value.message
    else:
        usage = _adapt(vector.input)
        assert usage.to_wire() == vector.expected
        assert list(usage.meters) == list(vector.expected["meters"])


def test_every_vendor_has_vectors() -> None:
    """UNIT-013..UNIT-018, UNIT-084..UNIT-094: each vendor table is exercised by vectors."""
    formats = {vector.input["format"] for vector in ADAPTERS.vectors}
    assert formats == set(VENDORS)


def test_adapters_refuse_non_objects() -> None:
    """UNIT-010: a usage report that is not an object is invalid_usage."""
    with pytest.raises(errors.InvalidUsageError):
        from_openai([1, 2], "m")  # type: ignore[arg-type]
    with pytest.raises(errors.InvalidUsageError):
        from_anthropic("12", "m")  # type: ignore[arg-type]
    with pytest.raises(errors.InvalidUsageError):
        from_otel(None)  # type: ignore[arg-type]


def test_adapters_accept_any_mapping() -> None:
    """UNIT-010: reports are read as mappings, not only dicts."""
    usage = from_openai(
        MappingProxyType(
            {"prompt_tokens": 3, "prompt_tokens_details": MappingProxyType({"cached_tokens": 1})}
        ),
        "m",
    )
    assert usage.meters == {"input": 2, "cache_read": 1}


def test_model_argument_checked() -> None:
    """UNIT-012: the model id is a string of 1 to 256 characters."""
    assert from_anthropic({}, "m" * 256).model == "m" * 256
    with pytest.raises(errors.InvalidUsageError) as caught:
        from_anthropic({}, "m" * 257)
    assert "UNIT-012" in caught.value.message
    with pytest.raises(errors.InvalidUsageError):
        from_otel({"gen_ai.response.model": "m" * 257})


def test_error_names_the_member() -> None:
    """UNIT-010, UNIT-011: messages name the offending member and value."""
    with pytest.raises(errors.InvalidUsageError) as bad_count:
        from_openai({"completion_tokens_details": {"reasoning_tokens": -4}}, "m")
    assert "completion_tokens_details.reasoning_tokens" in bad_count.value.message
    assert "-4" in bad_count.value.message
    with pytest.raises(errors.InvalidUsageError) as too_many:
        from_otel(
            {
                "gen_ai.request.model": "m",
                "gen_ai.usage.input_tokens": 5,
                "gen_ai.usage.cache_read.input_tokens": 6,
            }
        )
    assert "gen_ai.usage.input_tokens" in too_many.value.message
    assert "UNIT-011" in too_many.value.message


def test_adapted_usage_prices() -> None:
    """UNIT-013 with UNIT-040: an adapted OpenAI report prices cached and reasoning tokens at
    their own weights."""
    card = RateCard.from_claims(
        {
            "iss": "https://p.example",
            "rate_card_id": "c",
            "ver": "1.0",
            "iat": 0,
            "nbf": 0,
            "exp": 10,
            "unit": "UTU",
            "models": {
                "o4-mini": {
                    "weights": {
                        "input": "0.0000011",
                        "cache_read": "0.000000275",
                        "output": "0.0000044",
                        "reasoning": "0.0000044",
                    }
                }
            },
        }
    )
    usage = from_openai(
        {
            "prompt_tokens": 2006,
            "completion_tokens": 300,
            "prompt_tokens_details": {"cached_tokens": 1920},
            "completion_tokens_details": {"reasoning_tokens": 192},
        },
        "o4-mini",
    )
    # 86 x 0.0000011 + 1920 x 0.000000275 + 300 x 0.0000044 = 0.0000946 + 0.000528 + 0.00132
    assert str(card.price(usage).amount) == "0.001943"


_counts = st.integers(min_value=0, max_value=10**12)


@st.composite
def _openai_chat(draw: st.DrawFn) -> dict[str, Any]:
    cached, audio_in, reasoning, audio_out = (draw(_counts) for _ in range(4))
    prompt = cached + audio_in + draw(_counts)
    completion = reasoning + audio_out + draw(_counts)
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "prompt_tokens_details": {"cached_tokens": cached, "audio_tokens": audio_in},
        "completion_tokens_details": {"reasoning_tokens": reasoning, "audio_tokens": audio_out},
    }


def _in_order(names: list[str]) -> bool:
    registry = [name for name in names if name in METERS]
    extensions = [name for name in names if name not in METERS]
    return registry == [m for m in METERS if m in registry] and extensions == sorted(extensions)


@given(_openai_chat())
def test_openai_conserves_tokens(report: dict[str, Any]) -> None:
    """UNIT-005, UNIT-013: every reported token lands in exactly one meter, none is lost."""
    usage = from_openai(report, "m")
    assert sum(usage.meters.values()) == report["prompt_tokens"] + report["completion_tokens"]
    assert usage.meters.get("cache_read", 0) == report["prompt_tokens_details"]["cached_tokens"]
    assert all(count > 0 for count in usage.meters.values())
    assert _in_order(list(usage.meters))


@given(_counts, _counts, _counts, _counts, _counts)
def test_otel_conserves_tokens(
    cache_read: int, cache_write: int, rest_in: int, reasoning: int, rest_out: int
) -> None:
    """UNIT-005, UNIT-017: OpenTelemetry totals are split without loss or double counting."""
    attributes = {
        "gen_ai.request.model": "m",
        "gen_ai.usage.input_tokens": cache_read + cache_write + rest_in,
        "gen_ai.usage.cache_read.input_tokens": cache_read,
        "gen_ai.usage.cache_creation.input_tokens": cache_write,
        "gen_ai.usage.output_tokens": reasoning + rest_out,
        "gen_ai.usage.reasoning.output_tokens": reasoning,
    }
    usage = from_otel(attributes)
    assert usage.count("input") == rest_in
    assert usage.count("cache_write") == cache_write
    assert usage.count("output") == rest_out
    total = sum(usage.meters.values())
    assert total == cache_read + cache_write + rest_in + reasoning + rest_out
    assert _in_order(list(usage.meters))


@given(_counts, _counts, _counts, _counts)
def test_anthropic_counts_pass_through(inp: int, read: int, write: int, out: int) -> None:
    """UNIT-016: Anthropic input excludes the cache buckets, so nothing is subtracted."""
    usage = from_anthropic(
        {
            "input_tokens": inp,
            "cache_read_input_tokens": read,
            "cache_creation_input_tokens": write,
            "output_tokens": out,
        },
        "claude",
    )
    assert usage.count("input") == inp
    assert usage.count("cache_read") == read
    assert usage.count("cache_write") == write
    assert usage.count("output") == out
    assert 0 not in usage.meters.values()


@given(st.integers(min_value=MAX + 1, max_value=2**64) | st.integers(max_value=-1))
def test_out_of_range_counts(value: int) -> None:
    """UNIT-010: counts outside 0..2^53-1 are invalid_usage in every adapter."""
    with pytest.raises(errors.InvalidUsageError):
        from_openai({"prompt_tokens": value}, "m")
    with pytest.raises(errors.InvalidUsageError):
        from_anthropic({"output_tokens": value}, "m")
    with pytest.raises(errors.InvalidUsageError):
        from_otel({"gen_ai.request.model": "m", "gen_ai.usage.output_tokens": value})
