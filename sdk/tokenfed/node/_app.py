"""The node's ASGI application: one Starlette app per entity, routes by role (API-001).

:func:`create_app` takes a checked :class:`~tokenfed.node.NodeConfig`, loads and checks its keys
(API-051, API-052) and returns the application. The outermost layer, :class:`_Guard`, gives
every request an id, logs one line per request, and turns an unexpected exception into a bare
``server_error`` (API-011); Starlette's own 404 and 405 become error objects too.
"""

from __future__ import annotations

import contextlib
import logging
import time
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .. import _json
from ..errors import (
    InvalidKeyError,
    InvalidRequestError,
    IoError,
    NotFoundError,
    SchemaViolationError,
    ServerError,
    TemporarilyUnavailableError,
    TokenfedError,
)
from ..federation import FederationTrust, Resolver, TrustAnchor
from ..keys import KeySet
from ._config import LoadedKeys, NodeConfig, Role, load_keys
from ._http import error_response
from ._logging import log_event
from ._paths import Paths
from ._roles._federation import Federation
from ._state import NodeState

if TYPE_CHECKING:
    from ._roles._operator import Operator

__all__ = ["NodeApp", "create_app"]

REQUEST_ID_HEADER = "x-request-id"


class _Guard:
    """Request id, one log line per request, and no traceback ever reaching a client."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = uuid.uuid4().hex
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        started = time.perf_counter_ns()
        status = 0
        response_started = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                response_started = True
                status = message["status"]
                headers = list(message.get("headers", []))
                headers.append((REQUEST_ID_HEADER.encode(), request_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            log_event(
                "exception",
                level=logging.ERROR,
                exc=True,
                request_id=request_id,
                method=scope.get("method"),
                path=scope.get("path"),
            )
            state["error_code"] = ServerError.code
            if not response_started:
                response = error_response(
                    ServerError(f"the node failed unexpectedly; request id {request_id}")
                )
                await response(scope, receive, send_with_id)
        finally:
            log_event(
                "request",
                request_id=request_id,
                method=scope.get("method"),
                path=scope.get("path"),
                status=status,
                duration_us=(time.perf_counter_ns() - started) // 1000,
                code=state.get("error_code"),
            )


async def _tokenfed_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, TokenfedError)
    request.state.error_code = exc.code
    return error_response(exc)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    error: TokenfedError
    if exc.status_code == 404:
        error = NotFoundError(f"no endpoint at {request.url.path}")
    elif exc.status_code == 405:
        error = InvalidRequestError(f"{request.method} is not allowed on {request.url.path}")
    else:
        error = InvalidRequestError(str(exc.detail))
    request.state.error_code = error.code
    return error_response(error, headers=dict(exc.headers or {}), status=exc.status_code)


async def _unexpected(request: Request, exc: Exception) -> Response:
    # Starlette's outermost layer answers with this handler and then re-raises, so _Guard
    # still logs the traceback under the request id.
    request.state.error_code = ServerError.code
    request_id = getattr(request.state, "request_id", "unknown")
    return error_response(ServerError(f"the node failed unexpectedly; request id {request_id}"))


def _load_subordinates(config: NodeConfig) -> dict[str, dict[str, Any]]:
    """Subordinates from ``[[subordinates]]`` and from ``subordinates_dir`` (one JSON file each,
    the same members with ``jwks`` by value)."""
    from ._config import Subordinate

    entries = list(config.subordinates)
    if config.subordinates_dir is not None:
        directory = config.subordinates_dir
        if not directory.is_dir():
            raise IoError(
                f"subordinates_dir {directory} is not a directory; give the directory of the "
                "subordinates' JSON files, or leave subordinates_dir out",
                detail={"member": "subordinates_dir", "path": str(directory)},
            )
        try:
            files = sorted(directory.glob("*.json"))
        except OSError as exc:
            raise IoError(f"cannot list subordinates_dir {directory}: {exc.strerror}") from None
        for file in files:
            try:
                raw = _json.loads(file.read_bytes())
                entries.append(Subordinate.model_validate(raw))
            except OSError as exc:
                raise IoError(f"cannot read {file}: {exc.strerror}") from None
            except TokenfedError as exc:
                exc.message = f"subordinate file {file}: {exc.message}"
                raise
            except ValueError as exc:
                raise SchemaViolationError(f"subordinate file {file}: {exc}") from None
    found: dict[str, dict[str, Any]] = {}
    for entry in entries:
        if entry.entity_id in found:
            raise SchemaViolationError(f"subordinate {entry.entity_id} is configured twice")
        if entry.entity_id == config.entity_id:
            raise SchemaViolationError("a node is not its own subordinate")
        where = f"subordinate {entry.entity_id} jwks" + (
            f" file {entry.jwks}" if isinstance(entry.jwks, Path) else ""
        )
        if isinstance(entry.jwks, Path):
            try:
                jwks = _json.loads(entry.jwks.read_bytes())
            except OSError as exc:
                raise IoError(f"cannot read the {where}: {exc.strerror}") from None
            except TokenfedError as exc:
                exc.message = f"{where}: {exc.message}"  # keeps its code: malformed
                raise
        else:
            jwks = entry.jwks
        try:
            keys = KeySet.from_jwks(jwks)
        except TokenfedError as exc:
            raise InvalidKeyError(f"{where}: {exc.message}") from None
        if not len(keys):
            raise InvalidKeyError(f"{where}: holds no keys (FED-015)")
        types = list(entry.entity_types) or sorted((entry.metadata or {}).keys())
        found[entry.entity_id] = {
            "jwks": jwks,
            "entity_types": types,
            "recognition": entry.recognition,
            "metadata": entry.metadata,
            "constraints": entry.constraints,
            "metadata_policy": entry.metadata_policy,
        }
    return found


class NodeApp:
    """The parts of a running node: configuration, keys, state and the ASGI application."""

    def __init__(
        self,
        config: NodeConfig,
        *,
        keys: LoadedKeys | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self.keys = keys if keys is not None else load_keys(config)
        self.clock = clock
        self.paths = Paths(config.entity_id, config.base_path)
        self.state = NodeState(config.data_dir)
        self.shutting_down = False
        self.operator: Operator | None = None
        self.trust: FederationTrust | None = None
        if config.trust_anchors:
            resolver = Resolver(
                [
                    TrustAnchor(entity_id, self.keys.anchors[entity_id])
                    for entity_id in self.keys.anchors
                ],
                origin_map=config.origin_map or None,
                clock=clock,
            )
            self.state.keep(resolver)
            self.trust = FederationTrust(resolver)
        self.federation = Federation(
            config, self.keys, self.paths, _load_subordinates(config), clock
        )
        routes: list[Route] = [Route(self.paths.healthz, self.healthz, methods=["GET"])]
        routes += self.federation.routes()
        routes += self._role_routes()
        # Sign every statement once now: a profile error in one stops the node at startup.
        self.federation.entity_configuration()
        for subordinate in self.federation.subordinates:
            self.federation.subordinate_statement(subordinate)
        self.app = Starlette(
            routes=routes,
            exception_handlers={
                TokenfedError: _tokenfed_error,
                HTTPException: _http_error,
                Exception: _unexpected,
            },
            lifespan=self._lifespan,
        )
        # A path that differs by a trailing "/" is another path, not_found (API-010): no
        # redirect, whose Location would be built from the client's Host header.
        self.app.router.redirect_slashes = False
        self.asgi: ASGIApp = _Guard(self.app)

    def _role_routes(self) -> list[Route]:
        routes: list[Route] = []
        if self.config.has(Role.CLEARING_HOUSE):
            from ._roles._clearing import ClearingHouse

            routes += ClearingHouse(self).routes()
        if self.config.has(Role.PROVIDER):
            from ._roles._provider import Provider

            routes += Provider(self).routes()
        if self.config.has(Role.OPERATOR):
            from ._roles._operator import Operator

            self.operator = Operator(self)
            routes += self.operator.routes()
        return routes

    @contextlib.asynccontextmanager
    async def _lifespan(self, app: Starlette) -> AsyncIterator[None]:
        log_event(
            "started",
            entity_id=self.config.entity_id,
            roles=[role.value for role in self.config.roles],
        )
        try:
            yield
        finally:
            self.shutting_down = True
            if self.operator is not None:
                await self.operator.client.aclose()
            self.state.close()
            log_event("stopped", entity_id=self.config.entity_id)

    async def healthz(self, request: Request) -> Response:
        """``GET /healthz``: 200 while the node serves, 503 once it is shutting down."""
        if self.shutting_down:
            raise TemporarilyUnavailableError("the node is shutting down")
        self.state.check()
        return JSONResponse({"status": "ok", "entity_id": self.config.entity_id})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.asgi(scope, receive, send)


def create_app(config: NodeConfig, *, clock: Callable[[], float] = time.time) -> NodeApp:
    """Build the node for ``config``: load and check its keys, return the ASGI application."""
    return NodeApp(config, clock=clock)
