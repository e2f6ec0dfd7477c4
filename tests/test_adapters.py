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


@given(_counts, _counts, _counts, _counts, _counts, _counts)
def test_anthropic_conserves_tokens(
    inp: int, write_5m: int, write_1h: int, read: int, answer: int, thinking: int
) -> None:
    """UNIT-005, UNIT-016: thinking and one-hour writes are taken out of their totals without
    loss; the totals Anthropic reports are recovered exactly."""
    usage = from_anthropic(
        {
            "input_tokens": inp,
            "cache_creation_input_tokens": write_5m + write_1h,
            "cache_creation": {
                "ephemeral_5m_input_tokens": write_5m,
                "ephemeral_1h_input_tokens": write_1h,
            },
            "cache_read_input_tokens": read,
            "output_tokens": answer + thinking,
            "output_tokens_details": {"thinking_tokens": thinking},
        },
        "claude",
    )
    assert usage.count("cache_write") + usage.count("anthropic.cache_write_1h") == (
        write_5m + write_1h
    )
    assert usage.count("output") + usage.count("reasoning") == answer + thinking
    assert sum(usage.meters.values()) == inp + write_5m + write_1h + read + answer + thinking
    assert _in_order(list(usage.meters))


@given(_counts, _counts, _counts, _counts, _counts, _counts, _counts)
def test_gemini_conserves_tokens(
    text: int, audio: int, cached_text: int, cached_audio: int, out: int, thoughts: int, tool: int
) -> None:
    """UNIT-005, UNIT-094: prompt (cached part inside), thoughts and tool-use prompt tokens
    (apart) land in exactly one meter each, audio included."""
    prompt = text + audio + cached_text + cached_audio
    usage = adapt(
        "gemini",
        {
            "promptTokenCount": prompt,
            "cachedContentTokenCount": cached_text + cached_audio,
            "candidatesTokenCount": out,
            "thoughtsTokenCount": thoughts,
            "toolUsePromptTokenCount": tool,
            "promptTokensDetails": [
                {"modality": "TEXT", "tokenCount": text + cached_text},
                {"modality": "AUDIO", "tokenCount": audio + cached_audio},
            ],
            "cacheTokensDetails": [
                {"modality": "TEXT", "tokenCount": cached_text},
                {"modality": "AUDIO", "tokenCount": cached_audio},
            ],
        },
        "gemini",
    )
    assert usage.count("google.audio_in_tokens") == audio
    assert usage.count("google.audio_cache_read_tokens") == cached_audio
    assert usage.count("cache_read") == cached_text
    assert sum(usage.meters.values()) == prompt + out + thoughts + tool


@given(_counts, _counts, _counts)
def test_deepseek_cache_hits_never_priced_as_input(hit: int, miss: int, out: int) -> None:
    """UNIT-084: with or without prompt_tokens_details, DeepSeek's cache hits are cache_read."""
    report = {
        "prompt_tokens": hit + miss,
        "completion_tokens": out,
        "prompt_cache_hit_tokens": hit,
        "prompt_cache_miss_tokens": miss,
    }
    bare = adapt("deepseek", report, "deepseek-chat")
    detailed = adapt(
        "deepseek", {**report, "prompt_tokens_details": {"cached_tokens": hit}}, "deepseek-chat"
    )
    assert bare == detailed
    assert bare.count("cache_read") == hit
    assert bare.count("input") == miss


@given(st.sampled_from(["openai", "deepseek", "zhipu", "vllm", "qwen"]), _counts, _counts)
def test_lenient_never_changes_a_strict_result(vendor: str, prompt: int, completion: int) -> None:
    """UNIT-019: on a report strict mode accepts, lenient mode gives the same usage; on one it
    refuses, lenient mode ignores the unknown member."""
    report = {"prompt_tokens": prompt, "completion_tokens": completion, "zz_new_tokens": 7}
    with pytest.raises(errors.InvalidUsageError, match="zz_new_tokens"):
        adapt(vendor, report, "m")
    lenient = adapt(vendor, report, "m", strict=False)
    del report["zz_new_tokens"]
    assert lenient == adapt(vendor, report, "m") == adapt(vendor, report, "m", strict=False)


def test_adapt_misuse_is_a_programming_error() -> None:
    """Wrong Python arguments raise ValueError/TypeError, not a wire code (house rule 3)."""
    with pytest.raises(ValueError, match="unknown vendor"):
        adapt("nope", {}, "m")
    with pytest.raises(ValueError, match="service_tier"):
        adapt("openai", {}, "m", service_tier="Batch")
    with pytest.raises(TypeError):
        adapt("openai", {}, "m", strict=1)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="stream"):
        UsageStream("otel")


def test_usage_stream_result_is_stable() -> None:
    """UNIT-100: asking a finished stream for its usage twice gives the same usage; a chunk
    after the final usage chunk that carries another usage is refused."""
    stream = UsageStream("openai", "m")
    stream.feed({"choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": 1}})
    assert stream.usage() == stream.usage()
    with pytest.raises(errors.InvalidUsageError, match="twice"):
        stream.feed({"choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": 1}})
