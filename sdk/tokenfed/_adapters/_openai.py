"""OpenAI usage objects and the OpenAI-compatible APIs built on them (UNIT-013..UNIT-015,
UNIT-084..UNIT-092).

OpenAI reports cached, cache-write and audio tokens inside the prompt tokens, and reasoning and
audio tokens inside the completion tokens. Many vendors answer in the same shape with fewer
details, or with a few members of their own (DeepSeek's cache hits at the top level, SGLang's
reasoning tokens at the top level, Qwen's cache creation tokens). One table serves them all; a
:class:`Profile` says which members each vendor reports, so that strict mode (UNIT-019)
refuses members a vendor does not define.
"""

from __future__ import annotations

from dataclasses import dataclass

from .._meters import OPENAI_AUDIO_IN, OPENAI_AUDIO_OUT
from ..errors import InvalidUsageError
from ._report import EXPLICIT_CACHE_READ, Fields, qwen_cache_type, within

__all__ = ["PROFILES", "Profile", "chat_meters"]

_CHAT = ("prompt_tokens", "completion_tokens", "prompt_tokens_details", "completion_tokens_details")
_RESPONSES = ("input_tokens", "output_tokens", "input_tokens_details", "output_tokens_details")


@dataclass(frozen=True, slots=True)
class Profile:
    """Which members of the OpenAI usage shape a vendor reports, and where they go."""

    vendor: str
    label: str
    requirement: str
    audio: tuple[str, str] | None = None
    """Extension meters for audio input and output tokens, if the vendor bills them apart."""
    cache_write: str | None = None
    """The prompt-details member counting tokens written to a cache, if any."""
    cache_write_breakdown: tuple[str, str] | None = None
    """(details object, member) breaking the cache write down by lifetime (Qwen)."""
    prompt_modalities: tuple[str, ...] = ()
    """Prompt-details members that split the prompt by modality, priced as input."""
    completion_modalities: tuple[str, ...] = ()
    predictions: bool = False
    """Accepted and rejected prediction tokens (inside the completion, billed as output)."""
    reasoning_details: bool = True
    """``completion_tokens_details.reasoning_tokens`` is reported."""
    top_cached: str | None = None
    """A top-level member that counts the cached prompt tokens (DeepSeek, Moonshot)."""
    top_missed: str | None = None
    """A top-level member that counts the prompt tokens not served from the cache."""
    top_reasoning: bool = False
    """A top-level ``reasoning_tokens`` inside the completion tokens (SGLang)."""
    responses: bool = False
    """The Responses API form is accepted too (UNIT-014)."""
    audio_cache: str | None = None
    """Extension meter for ``prompt_tokens_details.audio_cached_tokens``: audio tokens served
    from the cache, inside both the cached and the audio tokens (Volcengine)."""
    refused: tuple[str, ...] = ()
    """Detail members (``prompt.name`` / ``completion.name``) known but not priceable per token;
    a non-zero count is refused in both modes (Volcengine's provisioned tokens)."""
    explicit_cache: bool = False
    """``prompt_tokens_details.cache_type`` tells explicit cache hits from implicit ones (Qwen)."""


PROFILES: dict[str, Profile] = {
    profile.vendor: profile
    for profile in (
        Profile(
            "openai",
            "OpenAI",
            "UNIT-013",
            audio=(OPENAI_AUDIO_IN, OPENAI_AUDIO_OUT),
            cache_write="cache_write_tokens",
            prompt_modalities=("text_tokens", "image_tokens"),
            completion_modalities=("text_tokens",),
            predictions=True,
            responses=True,
        ),
        Profile(
            "deepseek",
            "DeepSeek",
            "UNIT-084",
            top_cached="prompt_cache_hit_tokens",
            top_missed="prompt_cache_miss_tokens",
        ),
        Profile("moonshot", "Moonshot Kimi", "UNIT-085", top_cached="cached_tokens"),
        Profile("zhipu", "Zhipu GLM", "UNIT-086"),
        Profile(
            "volcengine",
            "Volcengine Ark (Doubao)",
            "UNIT-087",
            audio=("volcengine.audio_in_tokens", "volcengine.audio_out_tokens"),
            audio_cache="volcengine.audio_cache_read_tokens",
            refused=("prompt.provisioned_tokens", "completion.provisioned_tokens"),
        ),
        Profile("qianfan", "Baidu Qianfan", "UNIT-088"),
        Profile("minimax", "MiniMax", "UNIT-089"),
        Profile("vllm", "vLLM", "UNIT-090", reasoning_details=False),
        Profile("sglang", "SGLang", "UNIT-091", reasoning_details=False, top_reasoning=True),
        Profile(
            "qwen",
            "Qwen (DashScope compatible mode)",
            "UNIT-092",
            audio=("qwen.audio_in_tokens", "qwen.audio_out_tokens"),
            cache_write="cache_creation_input_tokens",
            cache_write_breakdown=("cache_creation", "ephemeral_5m_input_tokens"),
            prompt_modalities=("text_tokens", "image_tokens", "video_tokens"),
            completion_modalities=("text_tokens",),
            explicit_cache=True,
        ),
    )
}


def _form(usage: Fields, profile: Profile) -> bool:
    """True for the Responses form; refuses a mix of both forms (UNIT-015)."""
    chat = [name for name in _CHAT if usage.present(name)]
    responses = [name for name in _RESPONSES if usage.present(name)]
    if chat and responses:
        raise InvalidUsageError(
            f"{profile.label} usage mixes Chat Completions members {chat} with Responses members "
            f"{responses}; give one or the other (UNIT-015)"
        )
    if responses and not profile.responses:
        raise InvalidUsageError(
            f"{profile.label} usage has Responses API members {responses}; this adapter reads "
            f"the Chat Completions form only ({profile.requirement})"
        )
    return bool(responses)


def _agree(first: int | None, second: int | None, names: str) -> int | None:
    if first is not None and second is not None and first != second:
        raise InvalidUsageError(
            f"{names} report the same tokens with different counts ({first} and {second}) "
            "(UNIT-011)",
            detail={"counts": [first, second]},
        )
    return first if first is not None else second


def chat_meters(usage: Fields, profile: Profile) -> dict[str, int]:
    """Meters of an OpenAI-shaped usage object under ``profile`` (UNIT-013, UNIT-014)."""
    responses = _form(usage, profile)
    total_in, total_out = (
        ("input_tokens", "output_tokens")
        if responses
        else (
            "prompt_tokens",
            "completion_tokens",
        )
    )
    usage.known("total_tokens")
    prompt = usage.count(total_in)
    completion = usage.count(total_out)
    in_details = usage.details(f"{total_in}_details")
    out_details = usage.details(f"{total_out}_details")
    where_in, where_out = f"{total_in}_details.", f"{total_out}_details."

    cached: int | None = in_details.optional_count("cached_tokens")
    if profile.top_cached:
        top = usage.optional_count(profile.top_cached)
        cached = _agree(top, cached, f"{profile.top_cached} and {where_in}cached_tokens")
    cached = cached or 0
    if profile.top_missed:
        missed = usage.optional_count(profile.top_missed)
        if missed is not None and cached + missed != prompt:
            raise InvalidUsageError(
                f"{profile.top_cached} ({cached}) + {profile.top_missed} ({missed}) is not "
                f"{total_in} ({prompt}); the cache hits and misses split the prompt "
                f"({profile.requirement})",
                detail={"parts": cached + missed, "total": prompt},
            )

    cache_write = long_write = 0
    if profile.cache_write:
        cache_write = in_details.count(profile.cache_write)
        if profile.cache_write_breakdown:
            holder, member = profile.cache_write_breakdown
            by_lifetime = in_details.details(holder)
            within(
                by_lifetime.count(member),
                cache_write,
                f"{where_in}{holder}.{member}",
                where_in + profile.cache_write,
            )
        if responses:
            ttl = in_details.details("cache_write_tokens_details")
            short, long_write = ttl.count("ttl_30m_tokens"), ttl.count("ttl_12h_tokens")
            within(
                short + long_write,
                cache_write,
                f"{where_in}cache_write_tokens_details ttl_30m_tokens + ttl_12h_tokens",
                where_in + "cache_write_tokens",
            )

    audio_in = audio_out = audio_cached = 0
    if profile.audio:
        audio_in = in_details.count("audio_tokens")
        audio_out = out_details.count("audio_tokens")
    if profile.audio_cache:
        audio_cached = in_details.count("audio_cached_tokens")
        within(audio_cached, cached, f"{where_in}audio_cached_tokens", f"{where_in}cached_tokens")
        within(audio_cached, audio_in, f"{where_in}audio_cached_tokens", f"{where_in}audio_tokens")
    for refused in profile.refused:
        side, name = refused.split(".")
        details, where = (in_details, where_in) if side == "prompt" else (out_details, where_out)
        if details.count(name):
            raise InvalidUsageError(
                f"{where}{name} is not zero: {profile.label} bills provisioned capacity by "
                f"model unit, not per token, and this adapter cannot price it "
                f"({profile.requirement})",
                detail={"member": where + name},
            )
    modality_in = sum(in_details.count(name) for name in profile.prompt_modalities)
    modality_out = sum(out_details.count(name) for name in profile.completion_modalities)

    reasoning: int | None = None
    if profile.reasoning_details:
        reasoning = out_details.optional_count("reasoning_tokens")
    if profile.top_reasoning:
        reasoning = _agree(
            usage.optional_count("reasoning_tokens"),
            reasoning,
            f"reasoning_tokens and {where_out}reasoning_tokens",
        )
    reasoning = reasoning or 0
    if profile.predictions:
        predicted = out_details.count("accepted_prediction_tokens") + out_details.count(
            "rejected_prediction_tokens"
        )
        within(
            predicted,
            completion,
            f"{where_out}accepted_prediction_tokens + rejected_prediction_tokens",
            total_out,
        )

    within(
        cached + cache_write + audio_in - audio_cached,
        prompt,
        "cached tokens + cache writes + audio tokens",
        total_in,
    )
    within(modality_in + audio_in, prompt, f"{where_in}{{text,image,video,audio}}_tokens", total_in)
    within(reasoning + audio_out, completion, "reasoning_tokens + audio_tokens", total_out)
    within(modality_out + audio_out, completion, f"{where_out}{{text,audio}}_tokens", total_out)

    explicit = profile.explicit_cache and qwen_cache_type(in_details)
    meters = {
        "input": prompt - cached - cache_write - (audio_in - audio_cached),
        "cache_read": 0 if explicit else cached - audio_cached,
        EXPLICIT_CACHE_READ: cached if explicit else 0,
        "cache_write": cache_write - long_write,
        "output": completion - reasoning - audio_out,
        "reasoning": reasoning,
        "openai.cache_write_12h": long_write,
    }
    if profile.audio:
        meters[profile.audio[0]] = audio_in - audio_cached
        meters[profile.audio[1]] = audio_out
    if profile.audio_cache:
        meters[profile.audio_cache] = audio_cached
    return meters
