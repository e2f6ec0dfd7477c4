"""Real loopback HTTP servers for the federation tests: uvicorn serving small Starlette apps.

:class:`Servers` runs every app of a test in one background event loop (one uvicorn server per
app, each on its own ephemeral port of 127.0.0.1) and stops them all on exit, so no server
outlives its test. :class:`EntityApp` is a federation entity whose answers a test sets and
changes: its entity configuration, the subordinate statements of its fetch endpoint, and hostile
behaviours (a delay, a redirect, an endless or oversized body).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import Route

STATEMENT = "application/entity-statement+jwt"
WELL_KNOWN = "/.well-known/openid-federation"
CHUNK = b"x" * 65536  # one preallocated chunk, so an endless body allocates nothing per chunk


@dataclass
class Hostility:
    """How one path of an entity misbehaves (``None``: it answers normally)."""

    delay: float = 0.0
    redirect: str | None = None
    endless: bool = False
    oversized: int | None = None
    content_type: str | None = None
    status: int | None = None


@dataclass
class EntityApp:
    """A federation entity: its configuration, its fetch endpoint, and per-path hostilities."""

    configuration: str | None = None
    subordinates: dict[str, str] = field(default_factory=dict)
    hostile: dict[str, Hostility] = field(default_factory=dict)
    hits: dict[str, int] = field(default_factory=dict)
    sent: dict[str, int] = field(default_factory=dict)

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route(WELL_KNOWN, self._configuration),
                Route("/fetch", self._fetch),
                Route("/list", self._list),
                Route("/raw", self._raw),
            ]
        )

    async def _hostile(self, path: str, request: Request) -> Response | None:
        self.hits[path] = self.hits.get(path, 0) + 1
        behaviour = self.hostile.get(path)
        if behaviour is None:
            return None
        if behaviour.delay:
            await asyncio.sleep(behaviour.delay)
        if behaviour.redirect is not None:
            return RedirectResponse(behaviour.redirect, status_code=302)
        if behaviour.status is not None:
            return JSONResponse(
                {"error": "server_error", "error_description": "x", "message": "x"},
                status_code=behaviour.status,
            )
        if behaviour.endless:
            return StreamingResponse(self._endless(path, request), media_type=STATEMENT)
        if behaviour.oversized is not None:
            return Response(b"x" * behaviour.oversized, media_type=STATEMENT)
        if behaviour.content_type is not None:
            return Response(self.configuration or "", media_type=behaviour.content_type)
        return None

    async def _endless(self, path: str, request: Request) -> AsyncIterator[bytes]:
        # "Endless" to the client; bounded here (1 GiB) so that a broken test still ends.
        for _ in range(16384):
            if await request.is_disconnected():
                return
            self.sent[path] = self.sent.get(path, 0) + len(CHUNK)
            yield CHUNK

    async def _configuration(self, request: Request) -> Response:
        hostile = await self._hostile(WELL_KNOWN, request)
        if hostile is not None:
            return hostile
        if self.configuration is None:
            return _not_found("no entity configuration")
        return Response(self.configuration, media_type=STATEMENT)

    async def _fetch(self, request: Request) -> Response:
        hostile = await self._hostile("/fetch", request)
        if hostile is not None:
            return hostile
        sub = request.query_params.get("sub")
        statement = self.subordinates.get(sub or "")
        if statement is None:
            return _not_found(f"no subordinate {sub}")
        return Response(statement, media_type=STATEMENT)

    async def _list(self, request: Request) -> Response:
        return JSONResponse(sorted(self.subordinates))

    async def _raw(self, request: Request) -> Response:
        hostile = await self._hostile("/raw", request)
        return hostile or Response(b"ok", media_type=STATEMENT)


def _not_found(text: str) -> Response:
    body: dict[str, Any] = {"error": "not_found", "error_description": text, "message": text}
    return JSONResponse(body, status_code=404)


class Servers:
    """uvicorn servers on 127.0.0.1 ephemeral ports, all in one background event loop."""

    def __init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self._servers: list[tuple[uvicorn.Server, asyncio.Task[None]]] = []

    def start(self, app: Any) -> str:
        """Serve ``app``; returns its base URL ``http://127.0.0.1:PORT``."""
        # IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY only on sockets whose proto says TCP, and
        # without it every small answer on a kept-alive connection waits ~40 ms for a delayed ACK.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        config = uvicorn.Config(
            app, log_level="error", lifespan="off", timeout_graceful_shutdown=1, access_log=False
        )
        server = uvicorn.Server(config)

        async def run() -> asyncio.Task[None]:
            task = asyncio.create_task(server.serve(sockets=[sock]))
            while not server.started:
                if task.done():
                    task.result()
                await asyncio.sleep(0.005)
            return task

        task = asyncio.run_coroutine_threadsafe(run(), self._loop).result(timeout=10)
        self._servers.append((server, task))
        return f"http://127.0.0.1:{port}"

    def close(self) -> None:
        async def stop() -> None:
            for server, _ in self._servers:
                server.should_exit = True
            for _, task in self._servers:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(task, timeout=5)

        try:
            asyncio.run_coroutine_threadsafe(stop(), self._loop).result(timeout=15)
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=5)
            self._loop.close()

    def __enter__(self) -> Servers:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@contextlib.contextmanager
def serving(*apps: Any) -> Iterator[list[str]]:
    """Serve each app; yields their base URLs in order."""
    with Servers() as servers:
        yield [servers.start(app) for app in apps]
