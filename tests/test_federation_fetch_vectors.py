"""The federation fetch vectors (spec/vectors/fetch.json) through the SDK's fetcher.

Each vector's server answer is replayed by an httpx mock transport, so no test waits on a clock:
a timeout is the transport raising httpx's read timeout, a refused connection its connect
error. The fetcher must request exactly the expected URL and return a body of the expected
length, or fail with the one expected code (FED-072..FED-074).
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from tokenfed.errors import TokenfedError
from tokenfed.federation._fetch import Budget, Fetcher, Limits
from tokenfed_conformance.vectors import Vector, load_vectors

VECTORS = list(load_vectors("fetch"))


class _Body(httpx.AsyncByteStream):
    """A body the fetcher reads as a stream, as it would from a server."""

    def __init__(self, body: bytes) -> None:
        self._body = body

    async def __aiter__(self) -> Any:
        if self._body:
            yield self._body


def _handler(answer: dict[str, Any], requested: list[str]) -> Any:
    def handle(request: httpx.Request) -> httpx.Response:
        requested.append(str(request.url))
        if answer.get("timeout"):
            raise httpx.ReadTimeout("no answer in time", request=request)
        if answer.get("connect_error"):
            raise httpx.ConnectError("connection refused", request=request)
        headers = dict(answer.get("headers", {}))
        if "location" in answer:
            headers["location"] = answer["location"]
        body = answer["body"].encode() if "body" in answer else b"a" * answer["body_bytes"]
        headers["content-length"] = str(answer.get("announced_length", len(body)))
        return httpx.Response(answer["status"], headers=headers, stream=_Body(body))

    return handle


async def _fetch(vector: Vector, requested: list[str]) -> bytes:
    given = vector.input
    transport = httpx.MockTransport(_handler(given["response"], requested))
    async with httpx.AsyncClient(transport=transport) as client:
        limits = Limits()
        fetcher = Fetcher(client, limits, given.get("origin_map"))
        budget = Budget(limits)
        budget.fetches = given.get("fetches_before", 0)
        return await fetcher.get(given["url"], given["media_type"], budget)


@pytest.mark.parametrize("vector", VECTORS, ids=lambda v: v.id)
def test_fetch_vector(vector: Vector) -> None:
    """FED-072, FED-073, FED-074: the fetcher gives each vector's one expected outcome."""
    requested: list[str] = []
    if vector.error is not None:
        with pytest.raises(TokenfedError) as caught:
            asyncio.run(_fetch(vector, requested))
        assert caught.value.code == vector.error
        return
    body = asyncio.run(_fetch(vector, requested))
    assert len(body) == vector.expected["body_bytes"]
    assert requested == [vector.expected["requested_url"]]
