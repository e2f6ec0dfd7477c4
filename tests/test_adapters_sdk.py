"""The adapters read reports built with the vendors' own Python SDK types (UNIT-013..UNIT-016,
UNIT-080..UNIT-094, UNIT-100..UNIT-103).

Each report is built with the official SDK's model classes (openai, anthropic, google-genai,
zai-sdk, volcengine-ark-runtime; test-only dependencies, no network) and dumped the way that
SDK serializes it (``model_dump(mode="json")`` or ``model_dump_json()``). Two kinds of tests:

- *shape* tests fill every integer member of an SDK usage type (found by walking the type, so a
  member a new SDK release adds is included automatically) and adapt the dump in strict mode
  (UNIT-019): a vendor's new billed member makes the test fail instead of being priced as input
  or output;
- *mapping* tests build realistic reports and check the exact meters.
"""

from __future__ import annotations

import enum
import json
import types
import typing
from collections.abc import Iterator
from typing import Any

import anthropic.types as anthropic_types
import pytest
from google.genai import types as genai
from openai.types import CompletionUsage
from openai.types.chat import ChatCompletion, ChatCompletionChunk
from openai.types.completion_usage import CompletionTokensDetails, PromptTokensDetails
from openai.types.responses import ResponseUsage
from pydantic import BaseModel
from volcenginesdkarkruntime.types.chat import ChatCompletion as ArkChatCompletion
from volcenginesdkarkruntime.types.completion_usage import CompletionUsage as ArkUsage
from zai.types.chat.chat_completion import CompletionUsage as ZhipuUsage

from tokenfed.errors import InvalidUsageError
from tokenfed.units import UsageStream, adapt

BIG = 10**9


def _unwrap(annotation: Any) -> Any:
    """``Optional[X]`` -> ``X``."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        rest = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
        return rest[0] if len(rest) == 1 else annotation
    return annotation


def _filled(model_type: type[BaseModel], totals: dict[str, int], path: str = "") -> dict[str, Any]:
    """Every member of an SDK usage type, recursively: integers 1 (totals as given), nested
    models filled, enumerated strings their first value, lists and free strings left out."""
    document: dict[str, Any] = {}
    for name, field in model_type.model_fields.items():
        annotation = _unwrap(field.annotation)
        where = path + name
        if annotation is int:
            document[name] = totals.get(where, 1)
        elif isinstance(annotation, type) and issubclass(annotation, BaseModel):
            document[name] = _filled(annotation, totals, where + ".")
        elif typing.get_origin(annotation) is typing.Literal:
            document[name] = typing.get_args(annotation)[0]
        elif field.is_required():
            raise AssertionError(f"{where}: no filler for required {annotation!r}")
    return document


def _int_members(model_type: type[BaseModel], path: str = "") -> Iterator[str]:
    for name, field in model_type.model_fields.items():
        annotation = _unwrap(field.annotation)
        if annotation is int:
            yield path + name
        elif isinstance(annotation, type) and issubclass(annotation, BaseModel):
            yield from _int_members(annotation, path + name + ".")


def _dumped(instance: BaseModel) -> dict[str, Any]:
    """What the SDK writes: its JSON serialization, read back."""
    dumped: dict[str, Any] = json.loads(instance.model_dump_json())
    assert dumped == instance.model_dump(mode="json")
    return dumped


SHAPES = [
    pytest.param(
        "openai",
        CompletionUsage,
        {"prompt_tokens": BIG, "completion_tokens": BIG, "total_tokens": 2 * BIG},
        id="openai-chat",
    ),
    pytest.param(
        "openai",
        ResponseUsage,
        {
            "input_tokens": BIG,
            "output_tokens": BIG,
            "total_tokens": 2 * BIG,
            "input_tokens_details.cache_write_tokens": 10,
        },
        id="openai-responses",
    ),
    pytest.param(
        "anthropic",
        anthropic_types.Usage,
        {"output_tokens": BIG, "cache_creation_input_tokens": 10},
        id="anthropic-usage",
    ),
    pytest.param(
        "anthropic",
        anthropic_types.MessageDeltaUsage,
        {"output_tokens": BIG},
        id="anthropic-delta-usage",
    ),
    pytest.param(
        "gemini",
        genai.GenerateContentResponseUsageMetadata,
        {
            "prompt_token_count": BIG,
            "candidates_token_count": BIG,
            "tool_use_prompt_token_count": 9,
        },
        id="gemini-usage-metadata",
    ),
    pytest.param(
        "volcengine",
        ArkUsage,
        {
            "prompt_tokens": BIG,
            "completion_tokens": BIG,
            "total_tokens": 2 * BIG,
            "prompt_tokens_details.provisioned_tokens": 0,
            "completion_tokens_details.provisioned_tokens": 0,
        },
        id="volcengine",
    ),
    pytest.param(
        "zhipu",
        ZhipuUsage,
        {"prompt_tokens": BIG, "completion_tokens": BIG, "total_tokens": 2 * BIG},
        id="zhipu",
    ),
]


@pytest.mark.parametrize(("vendor", "usage_type", "totals"), SHAPES)
def test_every_sdk_member_is_in_the_table(
    vendor: str, usage_type: type[BaseModel], totals: dict[str, int]
) -> None:
    """UNIT-019 against the SDK: every integer member the vendor's SDK defines, set to a non-zero
    count, is one the adapter's table names, so strict mode accepts the report. When an SDK
    release adds a billed member, this test fails and the table is updated before anything is
    mispriced."""
    members = list(_int_members(usage_type))
    assert members, f"{usage_type.__name__} has no integer members"
    report = _dumped(usage_type.model_validate(_filled(usage_type, totals)))
    usage = adapt(vendor, report, "m")
    assert sum(usage.meters.values()) > 0


def test_strict_mode_catches_a_member_an_sdk_might_add() -> None:
    """UNIT-019: the shape test above would fail on a new member; shown here with a subclass of
    the SDK type that adds one."""

    class FutureDetails(PromptTokensDetails):
        hologram_tokens: int | None = None

    class FutureUsage(CompletionUsage):
        prompt_tokens_details: FutureDetails | None = None  # type: ignore[assignment]

    report = _dumped(
        FutureUsage(
            prompt_tokens=100,
            completion_tokens=5,
            total_tokens=105,
            prompt_tokens_details=FutureDetails(cached_tokens=10, hologram_tokens=40),
        )
    )
    with pytest.raises(InvalidUsageError, match="hologram_tokens"):
        adapt("openai", report, "m")
    assert adapt("openai", report, "m", strict=False).meters == {
        "input": 90,
        "cache_read": 10,
        "output": 5,
    }


def test_openai_chat_completion_response() -> None:
    """UNIT-013, UNIT-080, UNIT-082: a ChatCompletion as openai-python dumps it, with cache
    writes (issue of cache writes priced as input) and reasoning."""
    completion = ChatCompletion.model_validate(
        {
            "id": "chatcmpl-1",
            "object": "chat.completion",
            "created": 1795000000,
            "model": "gpt-5.2-2026-10-01",
            "service_tier": "priority",
            "choices": [
                {
                    "index": 0,
                    "finish_reason": "stop",
                    "message": {"role": "assistant", "content": "ok"},
                }
            ],
            "usage": CompletionUsage(
                prompt_tokens=12000,
                completion_tokens=900,
                total_tokens=12900,
                prompt_tokens_details=PromptTokensDetails(
                    cached_tokens=8000, cache_write_tokens=3000, text_tokens=12000
                ),
                completion_tokens_details=CompletionTokensDetails(reasoning_tokens=600),
            ).model_dump(mode="json"),
        }
    )
    usage = adapt("openai", _dumped(completion), "gpt-5.2")
    assert usage.to_wire() == {
        "model": "gpt-5.2",
        "meters": {
            "input": 1000,
            "cache_read": 8000,
            "cache_write": 3000,
            "output": 300,
            "reasoning": 600,
        },
        "service_tier": "priority",
    }


def test_openai_responses_usage_with_retention() -> None:
    """UNIT-014: ResponseUsage with cache writes broken down by retention."""
    report = _dumped(
        ResponseUsage.model_validate(
            {
                "input_tokens": 50000,
                "output_tokens": 2000,
                "total_tokens": 52000,
                "input_tokens_details": {
                    "cached_tokens": 30000,
                    "cache_write_tokens": 15000,
                    "cache_write_tokens_details": {"ttl_30m_tokens": 5000, "ttl_12h_tokens": 10000},
                },
                "output_tokens_details": {"reasoning_tokens": 1500},
            }
        )
    )
    assert adapt("openai", report, "gpt-5.2").meters == {
        "input": 5000,
        "cache_read": 30000,
        "cache_write": 5000,
        "output": 500,
        "reasoning": 1500,
        "openai.cache_write_12h": 10000,
    }


def test_compatible_vendors_through_the_openai_sdk() -> None:
    """UNIT-084, UNIT-085, UNIT-091, UNIT-092: DeepSeek, Kimi, SGLang and Qwen are called with
    the openai SDK, which keeps their own usage members as extra fields and dumps them."""
    deepseek = CompletionUsage.model_validate(
        {
            "prompt_tokens": 1000,
            "completion_tokens": 300,
            "total_tokens": 1300,
            "prompt_cache_hit_tokens": 800,
            "prompt_cache_miss_tokens": 200,
        }
    )
    assert adapt("deepseek", _dumped(deepseek), "deepseek-chat").meters == {
        "input": 200,
        "cache_read": 800,
        "output": 300,
    }
    kimi = CompletionUsage.model_validate(
        {
            "prompt_tokens": 2000,
            "completion_tokens": 10,
            "total_tokens": 2010,
            "cached_tokens": 1536,
        }
    )
    assert adapt("moonshot", _dumped(kimi), "kimi-k2.6").meters == {
        "input": 464,
        "cache_read": 1536,
        "output": 10,
    }
    sglang = CompletionUsage.model_validate(
        {
            "prompt_tokens": 100,
            "completion_tokens": 500,
            "total_tokens": 600,
            "reasoning_tokens": 300,
            "prompt_tokens_details": {"cached_tokens": 64},
        }
    )
    assert adapt("sglang", _dumped(sglang), "r1").meters == {
        "input": 36,
        "cache_read": 64,
        "output": 200,
        "reasoning": 300,
    }
    qwen = CompletionUsage.model_validate(
        {
            "prompt_tokens": 5000,
            "completion_tokens": 800,
            "total_tokens": 5800,
            "prompt_tokens_details": {
                "cached_tokens": 2000,
                "cache_creation_input_tokens": 1500,
                "cache_creation": {"ephemeral_5m_input_tokens": 1500},
                "cache_type": "ephemeral",
            },
            "completion_tokens_details": {"reasoning_tokens": 500},
        }
    )
    dumped = _dumped(qwen)
    assert dumped["prompt_tokens_details"]["cache_creation_input_tokens"] == 1500
    assert adapt("qwen", dumped, "qwen3-max").meters == {
        "input": 1500,
        "cache_write": 1500,
        "output": 300,
        "reasoning": 500,
        "qwen.explicit_cache_read_tokens": 2000,
    }


def test_openai_stream_chunks() -> None:
    """UNIT-101: ChatCompletionChunk objects of a stream with include_usage."""
    chunks = [
        ChatCompletionChunk.model_validate(
            {
                "id": "c",
                "object": "chat.completion.chunk",
                "created": 1795000000,
                "model": "gpt-5.2",
                "choices": [{"index": 0, "delta": {"content": "Hi"}, "finish_reason": None}],
            }
        ),
        ChatCompletionChunk.model_validate(
            {
                "id": "c",
                "object": "chat.completion.chunk",
                "created": 1795000000,
                "model": "gpt-5.2",
                "choices": [],
                "usage": {"prompt_tokens": 30, "completion_tokens": 2, "total_tokens": 32},
            }
        ),
    ]
    stream = UsageStream("openai")
    for chunk in chunks:
        stream.feed(_dumped(chunk))
    assert stream.usage().to_wire() == {"model": "gpt-5.2", "meters": {"input": 30, "output": 2}}


def test_anthropic_message_and_stream() -> None:
    """UNIT-016, UNIT-083, UNIT-102: a Message and the stream events of the same answer."""
    usage = anthropic_types.Usage(
        input_tokens=40,
        output_tokens=2500,
        cache_read_input_tokens=90000,
        cache_creation_input_tokens=6000,
        cache_creation=anthropic_types.CacheCreation(
            ephemeral_5m_input_tokens=2000, ephemeral_1h_input_tokens=4000
        ),
        output_tokens_details=anthropic_types.OutputTokensDetails(thinking_tokens=1800),
        server_tool_use=anthropic_types.ServerToolUsage(
            web_search_requests=1, web_fetch_requests=2
        ),
        service_tier="standard",
        speed="fast",
        inference_geo="global",
    )
    message = anthropic_types.Message(
        id="msg_1",
        type="message",
        role="assistant",
        model="claude-opus-4-6",
        content=[anthropic_types.TextBlock(type="text", text="ok")],
        stop_reason="end_turn",
        stop_sequence=None,
        usage=usage,
    )
    expected = {
        "model": "claude-opus-4-6",
        "meters": {
            "input": 40,
            "cache_read": 90000,
            "cache_write": 2000,
            "output": 700,
            "reasoning": 1800,
            "web_search": 1,
            "anthropic.cache_write_1h": 4000,
            "anthropic.web_fetch_requests": 2,
        },
        "service_tier": "anthropic.standard_fast",
    }
    assert adapt("anthropic", _dumped(message)).to_wire() == expected

    start = anthropic_types.RawMessageStartEvent(
        type="message_start",
        message=message.model_copy(update={"usage": usage.model_copy(update={"output_tokens": 1})}),
    )
    delta = anthropic_types.RawMessageDeltaEvent.model_validate(
        {
            "type": "message_delta",
            "delta": {"stop_reason": "end_turn", "stop_sequence": None},
            "usage": anthropic_types.MessageDeltaUsage(
                output_tokens=2500,
                output_tokens_details=anthropic_types.OutputTokensDetails(thinking_tokens=1800),
                server_tool_use=anthropic_types.ServerToolUsage(
                    web_search_requests=1, web_fetch_requests=2
                ),
            ).model_dump(mode="json"),
        }
    )
    stream = UsageStream("anthropic")
    for event in (start, delta, anthropic_types.RawMessageStopEvent(type="message_stop")):
        stream.feed(_dumped(event))
    assert stream.usage().to_wire() == expected


def test_gemini_response_and_stream() -> None:
    """UNIT-094, UNIT-095, UNIT-103: GenerateContentResponse objects as google-genai dumps them
    (snake_case), with audio priced apart."""
    metadata = genai.GenerateContentResponseUsageMetadata(
        prompt_token_count=3000,
        cached_content_token_count=1000,
        candidates_token_count=400,
        thoughts_token_count=700,
        tool_use_prompt_token_count=100,
        total_token_count=4200,
        prompt_tokens_details=[
            genai.ModalityTokenCount(modality=genai.MediaModality.TEXT, token_count=2500),
            genai.ModalityTokenCount(modality=genai.MediaModality.AUDIO, token_count=500),
        ],
        cache_tokens_details=[
            genai.ModalityTokenCount(modality=genai.MediaModality.TEXT, token_count=1000)
        ],
        traffic_type=genai.TrafficType.ON_DEMAND_FLEX,
    )
    final = genai.GenerateContentResponse(
        model_version="gemini-2.5-pro",
        candidates=[genai.Candidate(finish_reason=genai.FinishReason.STOP, index=0)],
        usage_metadata=metadata,
    )
    expected = {
        "model": "gemini-2.5-pro",
        "meters": {
            "input": 1600,
            "cache_read": 1000,
            "output": 400,
            "reasoning": 700,
            "google.audio_in_tokens": 500,
        },
        "service_tier": "flex",
    }
    dumped = _dumped(final)
    assert isinstance(dumped["usage_metadata"]["traffic_type"], str)
    assert adapt("gemini", dumped).to_wire() == expected
    partial = genai.GenerateContentResponse(
        model_version="gemini-2.5-pro",
        candidates=[genai.Candidate(index=0)],
        usage_metadata=genai.GenerateContentResponseUsageMetadata(
            prompt_token_count=3000, candidates_token_count=10
        ),
    )
    stream = UsageStream("gemini")
    for chunk in (partial, final):
        stream.feed(_dumped(chunk))
    assert stream.usage().to_wire() == expected
    assert all(isinstance(member, enum.Enum) for member in genai.TrafficType)


def test_zhipu_usage() -> None:
    """UNIT-086: zai-sdk's CompletionUsage."""
    report = _dumped(
        ZhipuUsage.model_validate(
            {
                "prompt_tokens": 900,
                "completion_tokens": 400,
                "total_tokens": 1300,
                "prompt_tokens_details": {"cached_tokens": 300},
                "completion_tokens_details": {"reasoning_tokens": 250},
            }
        )
    )
    assert adapt("zhipu", report, "glm-4.6").meters == {
        "input": 600,
        "cache_read": 300,
        "output": 150,
        "reasoning": 250,
    }


def test_every_openai_service_tier_value_is_decided() -> None:
    """UNIT-082: every service_tier value the openai SDK can return is either mapped to a tier
    or deliberately refused (auto); a value a new SDK release adds fails this test."""
    from openai.types.responses.service_tier import ServiceTier

    chat = typing.get_args(_unwrap(ChatCompletion.model_fields["service_tier"].annotation))
    responses = typing.get_args(_unwrap(ServiceTier))
    values = set(chat) | set(responses)
    assert values == {"auto", "default", "flex", "scale", "priority", "fast", "ultrafast"}
    for value in sorted(values - {"auto"}):
        response = {"model": "m", "service_tier": value, "usage": {"prompt_tokens": 1}}
        assert adapt("openai", response).service_tier is not None
    with pytest.raises(InvalidUsageError, match="auto"):
        adapt("openai", {"model": "m", "service_tier": "auto", "usage": {"prompt_tokens": 1}})


def test_every_anthropic_and_gemini_tier_value_is_decided() -> None:
    """UNIT-083, UNIT-095: the enumerated values of the anthropic and google-genai SDKs."""
    usage_fields = anthropic_types.Usage.model_fields
    for member in ("service_tier", "speed"):
        for value in typing.get_args(_unwrap(usage_fields[member].annotation)):
            report = {"input_tokens": 1, "output_tokens": 1, member: value}
            adapt("anthropic", report, "m")
    for traffic in genai.TrafficType:
        adapt("gemini", {"prompt_token_count": 1, "traffic_type": traffic.value}, "m")


def test_volcengine_response() -> None:
    """UNIT-087: an Ark ChatCompletion as volcengine-ark-runtime dumps it, with audio served
    partly from the cache; provisioned tokens are refused; the SDK's tier values decided."""
    completion = ArkChatCompletion.model_validate(
        {
            "id": "0217",
            "object": "chat.completion",
            "created": 1795000000,
            "model": "doubao-seed-1-6-251015",
            "service_tier": "default",
            "choices": [
                {
                    "index": 0,
                    "finish_reason": "stop",
                    "message": {"role": "assistant", "content": "ok"},
                }
            ],
            "usage": ArkUsage.model_validate(
                {
                    "prompt_tokens": 3000,
                    "completion_tokens": 400,
                    "total_tokens": 3400,
                    "prompt_tokens_details": {
                        "cached_tokens": 800,
                        "audio_tokens": 500,
                        "audio_cached_tokens": 200,
                    },
                    "completion_tokens_details": {"reasoning_tokens": 100, "audio_tokens": 100},
                }
            ).model_dump(mode="json"),
        }
    )
    usage = adapt("volcengine", _dumped(completion))
    assert usage.to_wire() == {
        "model": "doubao-seed-1-6-251015",
        "meters": {
            "input": 1900,
            "cache_read": 600,
            "output": 200,
            "reasoning": 100,
            "volcengine.audio_cache_read_tokens": 200,
            "volcengine.audio_in_tokens": 300,
            "volcengine.audio_out_tokens": 100,
        },
        "service_tier": "standard",
    }
    provisioned = ArkUsage.model_validate(
        {
            "prompt_tokens": 10,
            "completion_tokens": 1,
            "total_tokens": 11,
            "prompt_tokens_details": {"cached_tokens": 0, "provisioned_tokens": 10},
        }
    )
    with pytest.raises(InvalidUsageError, match="provisioned_tokens"):
        adapt("volcengine", _dumped(provisioned), "m", strict=False)
    tiers = typing.get_args(_unwrap(ArkChatCompletion.model_fields["service_tier"].annotation))
    assert set(tiers) == {"auto", "default"}
    with pytest.raises(InvalidUsageError, match="auto"):
        adapt("volcengine", {"model": "m", "service_tier": "auto", "usage": {"prompt_tokens": 1}})
