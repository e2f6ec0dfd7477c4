"""Usage of a streamed response, accumulated chunk by chunk (UNIT-100..UNIT-104).

A stream reports its usage once, near its end: OpenAI-style APIs in a last chunk with empty
``choices`` (when ``stream_options.include_usage`` is set), Anthropic cumulatively in
``message_start`` and ``message_delta``, Gemini and DashScope in the chunk that finishes the
candidate. A stream cut before that point has no usage; the accumulator then fails with
``incomplete_stream`` and never reports zero usage.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..errors import IncompleteStreamError, InvalidUsageError
from . import VENDORS, Adapted, adapt, vendor_label
from ._openai import PROFILES

__all__ = ["STREAM_VENDORS", "StreamState"]

_RESPONSES_DONE = ("response.completed", "response.incomplete", "response.failed")
STREAM_VENDORS: tuple[str, ...] = tuple(vendor for vendor in VENDORS if vendor != "otel")
"""Vendors whose streamed responses the accumulator reads."""


def _finished(reason: object) -> bool:
    return reason is not None and reason != "null"


class StreamState:
    """The state of one stream; :meth:`feed` each chunk, then :meth:`result` once."""

    def __init__(
        self, vendor: str, *, model: object, strict: bool, service_tier: str | None
    ) -> None:
        if vendor not in STREAM_VENDORS:
            raise ValueError(
                f"no stream accumulator for {vendor!r}; streams of {', '.join(STREAM_VENDORS)} "
                "are read"
            )
        self.vendor = vendor
        self._given_model = model
        self._strict = strict
        self._tier = service_tier
        self._model: object = None
        self._final: Adapted | None = None
        self._candidate: tuple[object, bool] | None = None
        """Last usage seen before the final chunk, and whether its chunk ended the answer."""
        self._anthropic: dict[str, Any] | None = None
        self._delta_seen = False
        self._chunks = 0

    def _adapt(self, report: object) -> Adapted:
        model = self._given_model if self._given_model is not None else self._model
        return adapt(self.vendor, report, model=model, strict=self._strict, service_tier=self._tier)

    def _set_final(self, report: object) -> None:
        if self._final is not None:
            raise InvalidUsageError(
                f"the {vendor_label(self.vendor)} stream reports its final usage twice (chunk "
                f"{self._chunks}); a stream's usage is counted exactly once (UNIT-100)"
            )
        self._final = self._adapt(report)

    def feed(self, chunk: object) -> None:
        """Take the next chunk (a parsed JSON object) of the stream."""
        self._chunks += 1
        if not isinstance(chunk, Mapping):
            raise InvalidUsageError(
                f"stream chunk {self._chunks} must be an object, not {type(chunk).__name__} "
                "(UNIT-100)"
            )
        if self.vendor in PROFILES:
            self._openai(chunk)
        elif self.vendor == "anthropic":
            self._anthropic_event(chunk)
        elif self.vendor == "gemini":
            self._gemini(chunk)
        else:
            self._dashscope(chunk)

    def _openai(self, chunk: Mapping[str, Any]) -> None:
        """UNIT-101: the chunk with ``choices: []`` and a usage is final."""
        if chunk.get("type") in _RESPONSES_DONE:
            response = chunk.get("response")
            if isinstance(response, Mapping) and response.get("usage") is not None:
                self._model = _named_model(response.get("model"), self._model)
                self._set_final(response["usage"])
            return
        self._model = _named_model(chunk.get("model"), self._model)
        usage = chunk.get("usage")
        choices = _typed(chunk, "choices", list, self._chunks)
        if usage is None:
            return
        if choices == [] or choices is None:
            self._set_final(usage)
        elif isinstance(choices, list):
            done = all(
                isinstance(choice, Mapping) and _finished(choice.get("finish_reason"))
                for choice in choices
            )
            self._candidate = (usage, done)

    def _anthropic_event(self, event: Mapping[str, Any]) -> None:
        """UNIT-102: ``message_start`` then cumulative ``message_delta`` usage."""
        kind = event.get("type")
        if kind == "message_start":
            if self._anthropic is not None:
                raise InvalidUsageError(
                    f"a second message_start (chunk {self._chunks}) in one stream (UNIT-102)"
                )
            message = event.get("message")
            if isinstance(message, Mapping):
                self._model = _named_model(message.get("model"), self._model)
                usage = message.get("usage")
                self._anthropic = dict(usage) if isinstance(usage, Mapping) else {}
            else:
                self._anthropic = {}
        elif kind == "message_delta":
            if self._anthropic is None:
                raise InvalidUsageError(
                    f"a message_delta (chunk {self._chunks}) before the message_start (UNIT-102)"
                )
            usage = event.get("usage")
            if not isinstance(usage, Mapping):
                raise InvalidUsageError(
                    f"message_delta (chunk {self._chunks}) has no usage object (UNIT-102)"
                )
            merged = dict(self._anthropic)
            merged.update({name: value for name, value in usage.items() if value is not None})
            self._anthropic = merged
            self._delta_seen = True

    def _gemini(self, chunk: Mapping[str, Any]) -> None:
        """UNIT-103: the usage of the chunk that finishes the candidates is final."""
        self._model = _named_model(
            chunk.get("modelVersion", chunk.get("model_version")), self._model
        )
        usage = chunk.get("usageMetadata", chunk.get("usage_metadata"))
        candidates = _typed(chunk, "candidates", list, self._chunks) or []
        if usage is None:
            return
        feedback = chunk.get("promptFeedback", chunk.get("prompt_feedback")) or {}
        done = (
            isinstance(feedback, Mapping)
            and _finished(feedback.get("blockReason", feedback.get("block_reason")))
        ) or any(
            isinstance(candidate, Mapping)
            and _finished(candidate.get("finishReason", candidate.get("finish_reason")))
            for candidate in candidates
        )
        self._candidate = (usage, done)

    def _dashscope(self, chunk: Mapping[str, Any]) -> None:
        """UNIT-104: the usage of the chunk whose output has a finish reason is final."""
        usage = chunk.get("usage")
        output = _typed(chunk, "output", Mapping, self._chunks) or {}
        choices = _typed(output, "choices", list, self._chunks) or []
        if usage is None:
            return
        done = False
        if isinstance(output, Mapping):
            done = _finished(output.get("finish_reason")) or any(
                isinstance(choice, Mapping) and _finished(choice.get("finish_reason"))
                for choice in choices
            )
        self._candidate = (usage, done)

    def result(self) -> Adapted:
        """The usage of the whole stream, or ``incomplete_stream`` if it was cut (UNIT-100)."""
        if self._final is not None:
            return self._final
        if self.vendor == "anthropic":
            if self._delta_seen and self._anthropic is not None:
                self._final = self._adapt(self._anthropic)
                return self._final
            raise IncompleteStreamError(
                f"the Anthropic stream ended after {self._chunks} chunks without a message_delta; "
                "its final usage never arrived, and tokenfed never assumes zero usage (UNIT-102)",
                detail={"chunks": self._chunks},
            )
        if self._candidate is not None and self._candidate[1]:
            self._final = self._adapt(self._candidate[0])
            return self._final
        where = (
            "a chunk with choices: [] and a usage (is stream_options.include_usage set?)"
            if self.vendor in PROFILES
            else "the chunk that finishes the answer"
        )
        raise IncompleteStreamError(
            f"the {vendor_label(self.vendor)} stream ended after {self._chunks} chunks without "
            f"{where}; its usage never arrived, and tokenfed never assumes zero usage (UNIT-100)",
            detail={"chunks": self._chunks},
        )


def _named_model(value: object, current: object) -> object:
    """A chunk's model replaces the stream's only when it is a string (UNIT-100)."""
    return value if isinstance(value, str) else current


def _typed(owner: Mapping[str, Any], name: str, kind: type, chunk: int) -> Any:
    """A member the stream rules read: absent or null, or of the stated type (UNIT-100)."""
    value = owner.get(name)
    if value is None or isinstance(value, kind):
        return value
    raise InvalidUsageError(
        f"{name} of chunk {chunk} is {type(value).__name__}, not "
        f"{'an array' if kind is list else 'an object'} (UNIT-100)",
        detail={"member": name, "chunk": chunk},
    )
