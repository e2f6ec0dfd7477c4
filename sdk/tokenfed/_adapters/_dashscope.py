"""DashScope native usage objects of Qwen models (UNIT-093).

The native API reports ``input_tokens`` and ``output_tokens`` with the cache breakdown in
``prompt_tokens_details``, the modality breakdown in ``input_tokens_details`` and reasoning in
``output_tokens_details``. Web searches made by the model appear under ``plugins.search``.
"""

from __future__ import annotations

from ._report import EXPLICIT_CACHE_READ, Fields, qwen_cache_type, within

__all__ = ["dashscope_meters"]


def dashscope_meters(usage: Fields) -> dict[str, int]:
    """Meters of a DashScope native usage object (UNIT-093)."""
    usage.known("total_tokens")
    prompt = usage.count("input_tokens")
    completion = usage.count("output_tokens")
    cache = usage.details("prompt_tokens_details")
    cached = cache.count("cached_tokens")
    cache_write = cache.count("cache_creation_input_tokens")
    five_minutes = cache.details("cache_creation").count("ephemeral_5m_input_tokens")
    explicit = qwen_cache_type(cache)
    within(
        five_minutes,
        cache_write,
        "prompt_tokens_details.cache_creation.ephemeral_5m_input_tokens",
        "prompt_tokens_details.cache_creation_input_tokens",
    )
    modalities = usage.details("input_tokens_details")
    audio_in = modalities.count("audio_tokens")
    modality_in = sum(
        modalities.count(name) for name in ("text_tokens", "image_tokens", "video_tokens")
    )
    out_details = usage.details("output_tokens_details")
    reasoning = out_details.count("reasoning_tokens")
    audio_out = out_details.count("audio_tokens")
    modality_out = out_details.count("text_tokens")
    search = usage.details("plugins").details("search")
    searches = search.count("count")
    search.text("strategy")
    within(
        cached + cache_write + audio_in,
        prompt,
        "prompt_tokens_details cached_tokens + cache_creation_input_tokens + audio tokens",
        "input_tokens",
    )
    within(modality_in + audio_in, prompt, "input_tokens_details modality counts", "input_tokens")
    within(
        reasoning + audio_out,
        completion,
        "output_tokens_details.reasoning_tokens + audio_tokens",
        "output_tokens",
    )
    within(
        modality_out + audio_out,
        completion,
        "output_tokens_details modality counts",
        "output_tokens",
    )
    return {
        "input": prompt - cached - cache_write - audio_in,
        "cache_read": 0 if explicit else cached,
        EXPLICIT_CACHE_READ: cached if explicit else 0,
        "cache_write": cache_write,
        "output": completion - reasoning - audio_out,
        "reasoning": reasoning,
        "web_search": searches,
        "qwen.audio_in_tokens": audio_in,
        "qwen.audio_out_tokens": audio_out,
    }
