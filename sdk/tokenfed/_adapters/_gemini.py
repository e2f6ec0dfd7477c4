"""Google Gemini ``usageMetadata`` (UNIT-094, UNIT-095).

``promptTokenCount`` includes ``cachedContentTokenCount``; ``thoughtsTokenCount`` and
``toolUsePromptTokenCount`` are apart from the prompt and the candidates. Audio is billed at
its own rates, so the modality breakdowns take audio tokens out into ``google.*`` extension
meters. The REST API spells members in lowerCamelCase; the google-genai SDK dumps them in
snake_case. Both spellings are read, and a report mixing them is refused.
"""

from __future__ import annotations

import re

from ..errors import InvalidUsageError
from ._report import Fields, within

__all__ = ["GEMINI_MEMBERS", "gemini_meters", "gemini_service_tier", "snake"]

GEMINI_MEMBERS = (
    "promptTokenCount",
    "cachedContentTokenCount",
    "candidatesTokenCount",
    "thoughtsTokenCount",
    "toolUsePromptTokenCount",
    "totalTokenCount",
    "promptTokensDetails",
    "cacheTokensDetails",
    "candidatesTokensDetails",
    "toolUsePromptTokensDetails",
    "trafficType",
)
_MODALITIES = ("TEXT", "IMAGE", "VIDEO", "AUDIO", "DOCUMENT", "MODALITY_UNSPECIFIED")
_TRAFFIC = {
    "TRAFFIC_TYPE_UNSPECIFIED": None,
    "ON_DEMAND": None,
    "ON_DEMAND_PRIORITY": "priority",
    "ON_DEMAND_FLEX": "flex",
    "ON_DEMAND_OFFPEAK": "google.offpeak",
    "PROVISIONED_THROUGHPUT": "google.provisioned_throughput",
}


def snake(name: str) -> str:
    """``promptTokenCount`` -> ``prompt_token_count``."""
    return re.sub(r"(?<!^)([A-Z])", r"_\1", name).lower()


class _Spelled:
    """Reads a Gemini object in whichever spelling it uses (never both)."""

    def __init__(self, fields: Fields, members: tuple[str, ...]) -> None:
        two_word = [name for name in members if snake(name) != name]
        camel = any(name in fields.source for name in two_word)
        if camel and any(snake(name) in fields.source for name in two_word):
            raise InvalidUsageError(
                f"{fields.where or 'Gemini usage '}mixes lowerCamelCase and snake_case members; "
                "give the REST form or the SDK form, not both (UNIT-094)"
            )
        self.camel = camel

    def name(self, camel: str) -> str:
        return camel if self.camel else snake(camel)


def _by_modality(usage: Fields, spelled: _Spelled, member: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for item in usage.items(spelled.name(member)):
        item_spelled = _Spelled(item, ("modality", "tokenCount"))
        modality = item.text("modality") or "MODALITY_UNSPECIFIED"
        count = item.count(item_spelled.name("tokenCount"))
        if modality not in _MODALITIES and item.strict and count:
            raise InvalidUsageError(
                f"{item.where}modality {modality!r} is not a modality this adapter knows; "
                "strict mode refuses it rather than price it as text (UNIT-019)",
                detail={"member": item.where + "modality"},
            )
        if modality in counts:
            raise InvalidUsageError(
                f"{usage.where}{spelled.name(member)} names modality {modality!r} twice (UNIT-094)"
            )
        counts[modality] = count
    return counts


def gemini_meters(usage: Fields) -> dict[str, int]:
    """Meters of a Gemini ``usageMetadata`` object (UNIT-094)."""
    spelled = _Spelled(usage, GEMINI_MEMBERS)
    name = spelled.name
    usage.known(name("totalTokenCount"), name("trafficType"))
    prompt = usage.count(name("promptTokenCount"))
    cached = usage.count(name("cachedContentTokenCount"))
    candidates = usage.count(name("candidatesTokenCount"))
    thoughts = usage.count(name("thoughtsTokenCount"))
    tool_use = usage.count(name("toolUsePromptTokenCount"))
    audio_prompt = _by_modality(usage, spelled, "promptTokensDetails").get("AUDIO", 0)
    audio_cached = _by_modality(usage, spelled, "cacheTokensDetails").get("AUDIO", 0)
    audio_out = _by_modality(usage, spelled, "candidatesTokensDetails").get("AUDIO", 0)
    audio_tool = _by_modality(usage, spelled, "toolUsePromptTokensDetails").get("AUDIO", 0)
    within(cached, prompt, name("cachedContentTokenCount"), name("promptTokenCount"))
    within(audio_cached, cached, "cached AUDIO tokens", name("cachedContentTokenCount"))
    within(audio_cached, audio_prompt, "cached AUDIO tokens", "prompt AUDIO tokens")
    within(
        audio_prompt - audio_cached,
        prompt - cached,
        "uncached prompt AUDIO tokens",
        "uncached prompt tokens",
    )
    within(audio_tool, tool_use, "tool-use AUDIO tokens", name("toolUsePromptTokenCount"))
    within(audio_out, candidates, "candidate AUDIO tokens", name("candidatesTokenCount"))
    return {
        "input": prompt - cached - (audio_prompt - audio_cached) + tool_use - audio_tool,
        "cache_read": cached - audio_cached,
        "output": candidates - audio_out,
        "reasoning": thoughts,
        "google.audio_in_tokens": audio_prompt - audio_cached + audio_tool,
        "google.audio_cache_read_tokens": audio_cached,
        "google.audio_out_tokens": audio_out,
    }


def gemini_service_tier(usage: Fields) -> str | None:
    """The service tier named by Vertex AI's ``trafficType`` (UNIT-095)."""
    spelled = _Spelled(usage, GEMINI_MEMBERS)
    value = usage.text(spelled.name("trafficType"))
    if value is None:
        return None
    if value not in _TRAFFIC:
        raise InvalidUsageError(
            f"trafficType {value!r} is not a traffic type this adapter can price; known types "
            f"are {', '.join(_TRAFFIC)} (UNIT-095)",
            detail={"member": spelled.name("trafficType")},
        )
    return _TRAFFIC[value]
