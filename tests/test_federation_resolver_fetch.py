"""Federation fetches against real, hostile loopback servers: every limit holds.

Each test starts uvicorn servers on 127.0.0.1 (tests/_fedhttp.py) and fetches through
:class:`tokenfed.federation._fetch.Fetcher` with the https names of the federation mapped to them
(loopback test mode). The expected outcome of each case is fixed by how the server misbehaves.
"""

from __future__ import annotations

import asyncio
import tracemalloc
from collections.abc import Coroutine
from typing import Any, TypeVar

import httpx
import psutil
import pytest

from _fedhttp import STATEMENT, WELL_KNOWN, EntityApp, Hostility, serving
from tokenfed.errors import (
    FetchFailedError,
    FetchTimeoutError,
    ResolutionLimitError,
    ResponseTooLargeError,
)
from tokenfed.federation._fetch import (
    MEDIA_ENTITY_STATEMENT,
    Budget,
    Fetcher,
    Limits,
    check_origin_map,
)

T = TypeVar("T")
ORIGIN = "https://entity.a.example"


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


async def fetch(
    base: str, path: str = WELL_KNOWN, limits: Limits | None = None, media: str = STATEMENT
) -> bytes:
    limits = limits or Limits()
    async with httpx.AsyncClient() as client:
        fetcher = Fetcher(client, limits, {ORIGIN: base})
        return await fetcher.get(ORIGIN + path, media, Budget(limits))


def test_fetch_reads_an_entity_configuration() -> None:
    """FED-073: the loopback map rewrites only the transport: the https URL is fetched from
    127.0.0.1."""
    entity = EntityApp(configuration="a.b.c")
    with serving(entity.app()) as (base,):
        assert run(fetch(base)) == b"a.b.c"
    assert entity.hits == {WELL_KNOWN: 1}


def test_redirect_is_fetch_failed_and_not_followed() -> None:
    """FED-073: a 3xx is never followed: fetch_failed with the status, and the target is never
    hit."""
    entity = EntityApp(configuration="a.b.c")
    entity.hostile["/raw"] = Hostility(redirect=ORIGIN + WELL_KNOWN)
    with serving(entity.app()) as (base,), pytest.raises(FetchFailedError) as caught:
        run(fetch(base, "/raw"))
    assert caught.value.detail["status"] == 302
    assert WELL_KNOWN not in entity.hits


def test_not_found_is_fetch_failed_with_status_404() -> None:
    """FED-074: a 404 is fetch_failed with detail.status 404 (the resolver treats it as a dead
    path)."""
    with serving(EntityApp().app()) as (base,), pytest.raises(FetchFailedError) as caught:
        run(fetch(base))
    assert caught.value.detail["status"] == 404


def test_server_error_status_is_fetch_failed() -> None:
    """FED-074: any status but 200 is fetch_failed."""
    entity = EntityApp(configuration="a.b.c")
    entity.hostile[WELL_KNOWN] = Hostility(status=500)
    with serving(entity.app()) as (base,), pytest.raises(FetchFailedError) as caught:
        run(fetch(base))
    assert caught.value.detail["status"] == 500


@pytest.mark.parametrize(
    "content_type",
    ["application/jwt", "text/plain", "application/entity-statement+json"],
)
def test_content_type_must_be_exact(content_type: str) -> None:
    """FED-074: an entity statement comes as application/entity-statement+jwt."""
    entity = EntityApp(configuration="a.b.c")
    entity.hostile[WELL_KNOWN] = Hostility(content_type=content_type)
    with serving(entity.app()) as (base,), pytest.raises(FetchFailedError) as caught:
        run(fetch(base))
    assert "Content-Type" in caught.value.message


def test_body_at_the_cap_is_read_and_one_byte_more_is_too_large() -> None:
    """FED-072: the cap is inclusive: max_bytes is read, max_bytes + 1 is response_too_large."""
    limits = Limits(max_bytes=1000)
    entity = EntityApp()
    entity.hostile["/raw"] = Hostility(oversized=1000)
    with serving(entity.app()) as (base,):
        assert len(run(fetch(base, "/raw", limits))) == 1000
        entity.hostile["/raw"] = Hostility(oversized=1001)
        with pytest.raises(ResponseTooLargeError):
            run(fetch(base, "/raw", limits))


def test_endless_body_stops_at_the_cap_with_flat_memory() -> None:
    """FED-072: a body that never ends (chunked, no Content-Length) is abandoned past 64 KiB:
    the fetch fails response_too_large and the client never holds more than a few chunks."""
    entity = EntityApp()
    entity.hostile["/raw"] = Hostility(endless=True)
    with serving(entity.app()) as (base,):
        tracemalloc.start()
        try:
            with pytest.raises(ResponseTooLargeError):
                run(fetch(base, "/raw"))
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert peak < 2 * 1024 * 1024, f"peak {peak} bytes while reading an endless body"


def test_slow_server_is_fetch_timeout() -> None:
    """FED-072: a server slower than the request timeout: fetch_timeout, without waiting for it."""
    entity = EntityApp(configuration="a.b.c")
    entity.hostile[WELL_KNOWN] = Hostility(delay=3.0)
    limits = Limits(request_timeout=0.2, resolution_timeout=1.0)
    with serving(entity.app()) as (base,), pytest.raises(FetchTimeoutError):
        run(fetch(base, limits=limits))


def test_fetch_budget_is_resolution_limit() -> None:
    """FED-072: one fetch more than max_fetches in one resolution is resolution_limit, and is
    never sent."""
    entity = EntityApp(configuration="a.b.c")
    limits = Limits(max_fetches=2)

    async def three() -> None:
        async with httpx.AsyncClient() as client:
            fetcher = Fetcher(client, limits, {ORIGIN: base})
            budget = Budget(limits)
            for _ in range(3):
                await fetcher.get(ORIGIN + WELL_KNOWN, STATEMENT, budget)

    with serving(entity.app()) as (base,), pytest.raises(ResolutionLimitError):
        run(three())
    assert entity.hits == {WELL_KNOWN: 2}


@pytest.mark.parametrize(
    "url",
    [
        "http://entity.a.example/.well-known/openid-federation",
        "https://127.0.0.1/.well-known/openid-federation",
        "https://localhost:8443/.well-known/openid-federation",
        "ftp://entity.a.example/x",
    ],
)
def test_unmapped_non_https_or_loopback_is_refused(url: str) -> None:
    """FED-073: https only; a loopback host is reachable only through an explicit origin_map
    entry."""

    async def go() -> None:
        async with httpx.AsyncClient() as client:
            limits = Limits()
            await Fetcher(client, limits).get(url, STATEMENT, Budget(limits))

    with pytest.raises(FetchFailedError):
        run(go())


@pytest.mark.parametrize(
    ("origin", "target"),
    [
        ("https://a.example", "http://10.0.0.1:80"),
        ("https://a.example", "https://127.0.0.1:8443"),
        ("https://a.example", "http://127.0.0.1"),
        ("https://a.example", "http://example.com:80"),
        ("http://a.example", "http://127.0.0.1:8000"),
        ("https://a.example/path", "http://127.0.0.1:8000"),
    ],
)
def test_origin_map_accepts_only_https_origins_to_loopback(origin: str, target: str) -> None:
    """FED-073: loopback test mode maps an https origin to http://127.0.0.1|[::1]|localhost:PORT
    only."""
    with pytest.raises(ValueError, match="origin_map"):
        check_origin_map({origin: target})


def test_origin_map_accepts_the_three_loopback_forms() -> None:
    mapped = check_origin_map(
        {
            "https://a.example": "http://127.0.0.1:8001",
            "https://b.example:8443": "http://[::1]:8002",
            "https://C.example": "http://localhost:8003/",
        }
    )
    assert mapped == {
        "https://a.example": "http://127.0.0.1:8001",
        "https://b.example:8443": "http://[::1]:8002",
        "https://c.example": "http://localhost:8003",
    }


def client_sockets(port: int) -> int:
    """Open sockets of this process connected to ``port`` (the client side)."""
    return sum(
        1
        for conn in psutil.Process().net_connections(kind="tcp")
        if conn.raddr and conn.raddr.port == port
    )


def test_cancelled_fetch_leaks_no_socket() -> None:
    """Cancelling a fetch in flight ends it at once and leaves no socket open."""
    entity = EntityApp(configuration="a.b.c")
    entity.hostile[WELL_KNOWN] = Hostility(delay=3.0)

    async def cancel_one(base: str) -> None:
        port = int(base.rsplit(":", 1)[1])
        async with httpx.AsyncClient() as client:
            limits = Limits()
            fetcher = Fetcher(client, limits, {ORIGIN: base})
            task = asyncio.create_task(fetcher.get(ORIGIN + WELL_KNOWN, STATEMENT, Budget(limits)))
            await asyncio.sleep(0.2)
            assert client_sockets(port) == 1
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            assert client_sockets(port) == 0

    with serving(entity.app()) as (base,):
        run(cancel_one(base))


def test_media_type_constant() -> None:
    assert MEDIA_ENTITY_STATEMENT == STATEMENT
