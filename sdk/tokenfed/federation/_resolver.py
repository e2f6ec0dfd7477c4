"""Trust-chain resolution over HTTP: collect bottom-up, validate each path, choose one.

:class:`AsyncResolver` implements the chapter's resolution (OpenID Federation §10.1 as profiled):
starting from the subject's entity configuration it follows ``authority_hints``, fetching each
superior's configuration and then, from that superior's fetch endpoint, its subordinate
statement about the entity below. It stops at the first configured trust anchor (never going
above it), skips a hint that is already on the current path (a loop on one branch never spoils
another, PR #253), collects every candidate path, validates each with
:func:`~tokenfed.federation.validate_chain` and picks one with
:func:`~tokenfed.federation.select_chain`. Every fetch goes through the hard limits of
:mod:`._fetch`.

Caching (all lifetimes on the injectable ``clock``): entity configurations by entity id and
subordinate statements by (issuer, subject) until their ``exp``; resolutions by (subject, anchor
set, entity type) until the chain's ``exp``, refreshed in the background with fresh statements
during the last tenth of their lifetime; failures for 60 seconds. Nothing is served past its
``exp``.

:class:`Resolver` is the synchronous facade: it owns one private event-loop thread on which the
:class:`AsyncResolver` and its httpx client live. A thread rather than ``asyncio.run`` per call,
because an httpx client and its connection pool belong to the loop that opened them, so one
long-lived loop keeps connections and caches across calls; and because it works the same when
the caller is itself inside a running event loop, where ``asyncio.run`` is refused.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import threading
import time
import weakref
from collections.abc import Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx

from ..errors import (
    ChainNotWellFormedError,
    FetchFailedError,
    NoTrustPathError,
    PathTooLongError,
    ResolutionLimitError,
    TokenfedError,
    error_class,
)
from ._chain import TrustChain, select_chain, validate_chain
from ._fetch import MEDIA_ENTITY_STATEMENT, Budget, Fetcher, Limits
from ._ids import configuration_url, is_federation_entity_id
from ._statements import MAX_INTERMEDIATES, EntityStatement, TrustAnchor

__all__ = ["NEGATIVE_TTL", "REFRESH_SHARE", "AsyncResolver", "Resolution", "Resolver"]

NEGATIVE_TTL = 60
"""Seconds a failed resolution is remembered before it is tried again."""
REFRESH_SHARE = 10
"""A cached resolution is refreshed in the background during the last 1/REFRESH_SHARE of its
lifetime (FED-075)."""

_CACHE_ENTRIES = 4096
T = TypeVar("T")

# Reasons a path died that are not errors of the statements themselves: together they make
# no_trust_path (never the code of one of them).
_DEAD_END = "dead_end"
_LOOP = "loop_detected"
_NOT_FOUND = "not_found"
_NO_FETCH_ENDPOINT = "no_fetch_endpoint"
_DIAGNOSTICS = frozenset((_DEAD_END, _LOOP, _NOT_FOUND, _NO_FETCH_ENDPOINT))


@dataclass(frozen=True)
class Resolution:
    """The chosen chain of one resolution and how many other valid chains there were.

    Attributes:
        chain: the validated chain chosen by the path-selection rule.
        alternatives: how many other chains validated as well.
    """

    chain: TrustChain
    alternatives: int

    @property
    def trust_anchor(self) -> str:
        """The anchor the chain was validated under."""
        return self.chain.trust_anchor

    @property
    def path(self) -> tuple[str, ...]:
        """Entity ids from the subject up to the anchor."""
        return self.chain.path

    @property
    def exp(self) -> int:
        """The chain's expiry: the minimum ``exp`` of its statements."""
        return self.chain.exp

    @property
    def metadata(self) -> dict[str, Any]:
        """The resolved metadata (after constraints and policy)."""
        return self.chain.metadata

    def to_json(self) -> dict[str, Any]:
        """``{trust_anchor, path, exp, alternatives, metadata}`` (what the CLI prints)."""
        return {
            "trust_anchor": self.trust_anchor,
            "path": list(self.path),
            "exp": self.exp,
            "alternatives": self.alternatives,
            "metadata": self.metadata,
        }


@dataclass
class _Run:
    """The state of one resolution: its budget, the paths found and why others died."""

    budget: Budget
    fresh: bool = False
    candidates: list[list[EntityStatement]] = field(default_factory=list)
    reasons: list[dict[str, Any]] = field(default_factory=list)
    inflight: dict[tuple[str, ...], asyncio.Task[EntityStatement]] = field(default_factory=dict)
    prefetches: list[asyncio.Future[EntityStatement]] = field(default_factory=list)

    def dead(self, path: Sequence[str], code: str, message: str) -> None:
        self.reasons.append({"path": list(path), "error": code, "message": message})


@dataclass(frozen=True)
class _Failure:
    error: type[TokenfedError]
    message: str
    detail: dict[str, Any]
    until: float

    def raise_again(self) -> None:
        raise self.error(self.message, detail=dict(self.detail))


class AsyncResolver:
    """Resolves trust chains to pinned anchors over HTTP, with limits and caches.

    Args:
        anchors: the pinned trust anchors, in priority order (path selection prefers earlier).
        client: an httpx client to use (not closed by :meth:`aclose`); by default the resolver
            opens its own.
        limits: fetch count, body size and time limits of one resolution.
        origin_map: loopback test mode (off by default): https origins mapped to
            ``http://127.0.0.1:PORT``; entity ids keep their https names.
        clock: the current time in seconds (statement times and cache lifetimes).

    Raises:
        TypeError: an anchor is not a :class:`~tokenfed.federation.TrustAnchor`.
        ValueError: no anchor, or an ``origin_map`` entry that is not https -> loopback.
    """

    def __init__(
        self,
        anchors: Sequence[TrustAnchor],
        *,
        client: httpx.AsyncClient | None = None,
        limits: Limits = Limits(),  # noqa: B008 - frozen dataclass, never mutated
        origin_map: Mapping[str, str] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        anchors = tuple(anchors)
        for anchor in anchors:
            if not isinstance(anchor, TrustAnchor):
                raise TypeError(f"anchors must be TrustAnchor objects, not {type(anchor).__name__}")
        if not anchors:
            raise ValueError("a resolver needs at least one trust anchor")
        self._anchors = anchors
        self._anchor_ids = frozenset(anchor.entity_id for anchor in anchors)
        self._anchor_key = tuple(anchor.entity_id for anchor in anchors)
        self._owns_client = client is None
        self._client = client or httpx.AsyncClient()
        self._limits = limits
        self._fetcher = Fetcher(self._client, limits, origin_map)
        self._clock = clock
        self._configurations: dict[str, EntityStatement] = {}
        self._subordinates: dict[tuple[str, str], EntityStatement] = {}
        self._results: dict[tuple[Any, ...], tuple[Resolution, float]] = {}
        self._refreshing: dict[tuple[Any, ...], asyncio.Task[None]] = {}
        self._refresh_after: dict[tuple[Any, ...], float] = {}
        self._failures: dict[tuple[Any, ...], _Failure] = {}
        self._pending: dict[tuple[Any, ...], asyncio.Future[Resolution]] = {}
        self._waiters: dict[tuple[Any, ...], int] = {}
        self.fetches = 0
        """HTTP requests sent so far (all resolutions): for tests and monitoring."""

    @property
    def anchors(self) -> tuple[TrustAnchor, ...]:
        """The pinned anchors, in priority order."""
        return self._anchors

    async def aclose(self) -> None:
        """Stop background refreshes; close the HTTP client if the resolver opened it."""
        refreshes = list(self._refreshing.values())
        for task in refreshes:
            task.cancel()
        if refreshes:
            await asyncio.wait(refreshes)
        if self._owns_client:
            await self._client.aclose()

    async def __aenter__(self) -> AsyncResolver:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def clear_cache(self) -> None:
        """Forget every cached statement, resolution and failure."""
        self._configurations.clear()
        self._subordinates.clear()
        self._results.clear()
        self._failures.clear()
        self._refresh_after.clear()

    async def resolve(self, entity_id: str, entity_type: str | None = None) -> Resolution:
        """Resolve ``entity_id`` to one of the pinned anchors.

        Args:
            entity_id: the subject's federation entity id.
            entity_type: keep only chains whose resolved metadata has this entity type.

        Raises:
            ValueError: ``entity_id`` is not a federation entity id.
            TokenfedError: when no path validates: ``resolution_limit`` if the fetch budget
                ran out first; else the code every path died of when they all
                died of the same one, else ``no_trust_path`` with ``detail.reasons`` (one per
                path: its entity ids, code and message; diagnostics ``loop_detected``,
                ``not_found``, ``dead_end``, ``no_fetch_endpoint`` for paths that simply end);
                the subject's own configuration failing gives its code directly.
        """
        if not is_federation_entity_id(entity_id):
            raise ValueError(f"{entity_id!r} is not a federation entity id")
        key = (entity_id, self._anchor_key, entity_type)
        now = self._clock()
        cached = self._results.get(key)
        if cached is not None:
            resolution, resolved_at = cached
            if now < resolution.exp:
                if now >= resolution.exp - (resolution.exp - resolved_at) / REFRESH_SHARE:
                    self._refresh_in_background(key, entity_id, entity_type)
                return resolution
            del self._results[key]
        failure = self._failures.get(key)
        if failure is not None:
            if now < failure.until:
                failure.raise_again()
            del self._failures[key]
        pending = self._pending.get(key)
        if pending is None:
            pending = asyncio.ensure_future(self._resolve_and_cache(key, entity_id, entity_type))
            self._pending[key] = pending
            self._waiters[key] = 0
            pending.add_done_callback(lambda _: self._pending.pop(key, None))
            pending.add_done_callback(_quiet)  # its error reaches every caller that waits
        # Callers of one key share one resolution. The shield keeps a cancelled caller from
        # cancelling it for the others; the last caller to go cancels it.
        self._waiters[key] += 1
        try:
            return await asyncio.shield(pending)
        except asyncio.CancelledError:
            if self._waiters[key] == 1:
                pending.cancel()
                # Let it unwind (its fetches cancelled, their connections closed) first.
                await asyncio.wait([pending])
            raise
        finally:
            self._waiters[key] -= 1
            if not self._waiters[key]:
                del self._waiters[key]

    async def _resolve_and_cache(
        self, key: tuple[Any, ...], entity_id: str, entity_type: str | None
    ) -> Resolution:
        try:
            resolution = await self._resolve(entity_id, entity_type)
        except TokenfedError as exc:
            _trim(self._failures)
            self._failures[key] = _Failure(
                type(exc), exc.message, exc.detail, self._clock() + NEGATIVE_TTL
            )
            raise
        _trim(self._results)
        self._results[key] = (resolution, self._clock())
        return resolution

    def _refresh_in_background(
        self, key: tuple[Any, ...], entity_id: str, entity_type: str | None
    ) -> None:
        """FED-075: in the last tenth of a cached resolution's lifetime, resolve again with
        fresh statements while the cached one is still served. A failed refresh changes
        nothing: the cached resolution is used until its expiry, never after."""
        if key in self._refreshing or key in self._pending:
            return
        if self._clock() < self._refresh_after.get(key, 0):
            return  # the last attempt gave nothing newer: try again a minute later

        async def refresh() -> None:
            try:
                resolution = await self._resolve(entity_id, entity_type, fresh=True)
            except TokenfedError:
                resolution = None
            current = self._results.get(key)
            if resolution is not None and (current is None or resolution.exp > current[0].exp):
                self._results[key] = (resolution, self._clock())
                self._refresh_after.pop(key, None)
            else:
                _trim(self._refresh_after)
                self._refresh_after[key] = self._clock() + NEGATIVE_TTL

        task = asyncio.ensure_future(refresh())
        self._refreshing[key] = task
        task.add_done_callback(lambda _: self._refreshing.pop(key, None))
        task.add_done_callback(_quiet)

    async def _resolve(
        self, entity_id: str, entity_type: str | None, *, fresh: bool = False
    ) -> Resolution:
        run = _Run(Budget(self._limits), fresh=fresh)
        try:
            return await self._collect_and_choose(run, entity_id, entity_type)
        finally:
            # A prefetch no path used (its path died first) ends with the resolution.
            leftovers = [task for task in run.prefetches if not task.done()]
            for task in leftovers:
                task.cancel()
            if leftovers:
                await asyncio.wait(leftovers)
            self.fetches += run.budget.fetches  # requests sent (refused ones are not counted)

    async def _collect_and_choose(
        self, run: _Run, entity_id: str, entity_type: str | None
    ) -> Resolution:
        subject = await self._configuration(run, entity_id)
        if entity_id in self._anchor_ids:
            run.dead(
                [entity_id], _DEAD_END, f"{entity_id} is a trust anchor; no chain leads to itself"
            )
        else:
            await self._climb(run, [subject], subject, (entity_id,))
        now = int(self._clock())
        chains: list[TrustChain] = []
        for candidate in run.candidates:
            try:
                chains.append(
                    validate_chain(candidate, self._anchors, now=now, entity_type=entity_type)
                )
            except TokenfedError as exc:
                run.dead(_candidate_path(candidate), exc.code, exc.message)
        if chains:
            return Resolution(select_chain(chains, self._anchors), len(chains) - 1)
        raise _failure(entity_id, run)

    async def _climb(
        self,
        run: _Run,
        statements: list[EntityStatement],
        current: EntityStatement,
        path: tuple[str, ...],
    ) -> None:
        """Follow every authority hint of ``current`` (whose path from the subject is
        ``path``), in parallel; each completed path to an anchor becomes a candidate."""
        if not current.authority_hints:
            run.dead(
                path, _DEAD_END, f"{current.sub} has no authority_hints and is not a pinned anchor"
            )
            return
        async with asyncio.TaskGroup() as group:
            for hint in current.authority_hints:
                group.create_task(self._follow(run, statements, current, path, hint))

    async def _follow(
        self,
        run: _Run,
        statements: list[EntityStatement],
        current: EntityStatement,
        path: tuple[str, ...],
        hint: str,
    ) -> None:
        here = [*path, hint]
        if not is_federation_entity_id(hint):
            run.dead(here, _DEAD_END, f"{current.sub} names {hint!r:.80}, not an entity id")
            return
        if hint in path:
            run.dead(here, _LOOP, f"{current.sub} names {hint}, already on this path")
            return
        is_anchor = hint in self._anchor_ids
        if not is_anchor and len(path) >= MAX_INTERMEDIATES + 1:
            # path holds the subject and its intermediates; hint would be one intermediate more.
            run.dead(
                here,
                PathTooLongError.code,
                f"the path through {hint} has more than {MAX_INTERMEDIATES} intermediates",
            )
            return
        try:
            superior = await self._configuration(run, hint)
            if not is_anchor:
                self._prefetch(run, superior, (*path, hint))
            statement = await self._subordinate(run, superior, current.sub)
        except FetchFailedError as exc:
            if exc.detail.get("status") == 404:
                run.dead(here, _NOT_FOUND, exc.message)
            else:
                run.dead(here, exc.code, exc.message)
            return
        except _DeadEnd as exc:
            run.dead(here, _NO_FETCH_ENDPOINT, str(exc))
            return
        except TokenfedError as exc:
            run.dead(here, exc.code, exc.message)
            return
        extended = [*statements, statement]
        if is_anchor:
            # The first configured anchor ends the path: never go above it.
            run.candidates.append([*extended, superior])
            return
        await self._climb(run, extended, superior, (*path, hint))

    def _prefetch(self, run: _Run, superior: EntityStatement, path: tuple[str, ...]) -> None:
        """Start fetching the configurations of ``superior``'s own superiors while its statement
        about the entity below is fetched: the next step up needs them, so the critical path of
        a chain of h hops is h + 2 round trips instead of 2h + 1. Each is fetched at most once
        per resolution and counts against its budget; a failure is reported, if at all, by the
        path that uses it."""
        for hint in superior.authority_hints:
            if hint in path or not is_federation_entity_id(hint):
                continue
            if (not run.fresh and hint in self._configurations) or ("ec", hint) in run.inflight:
                continue
            task = asyncio.ensure_future(self._configuration(run, hint))
            task.add_done_callback(_quiet)
            run.prefetches.append(task)

    async def _once(
        self,
        run: _Run,
        key: tuple[str, ...],
        fetch: Callable[[], Coroutine[Any, Any, EntityStatement]],
    ) -> EntityStatement:
        """Fetch a statement at most once per resolution, however many paths need it."""
        task = run.inflight.get(key)
        if task is None:
            task = asyncio.ensure_future(fetch())
            run.inflight[key] = task
        # Not shielded: only a cancellation of the whole resolution reaches a shared fetch.
        return await task

    async def _configuration(self, run: _Run, entity_id: str) -> EntityStatement:
        cached = None if run.fresh else self._configurations.get(entity_id)
        if cached is not None and self._clock() < cached.exp:
            return cached

        async def fetch() -> EntityStatement:
            body = await self._get(run, configuration_url(entity_id))
            statement = EntityStatement.decode(body)
            if not statement.is_configuration or statement.sub != entity_id:
                raise ChainNotWellFormedError(
                    f"{configuration_url(entity_id)} serves a statement by {statement.iss} about "
                    f"{statement.sub}, not {entity_id}'s own entity configuration",
                    detail={"entity_id": entity_id},
                )
            if self._clock() < statement.exp:
                _trim(self._configurations)
                self._configurations[entity_id] = statement
            return statement

        return await self._once(run, ("ec", entity_id), fetch)

    async def _subordinate(self, run: _Run, superior: EntityStatement, sub: str) -> EntityStatement:
        iss = superior.sub
        cached = None if run.fresh else self._subordinates.get((iss, sub))
        if cached is not None and self._clock() < cached.exp:
            return cached
        federation = (superior.metadata or {}).get("federation_entity")
        endpoint = (
            federation.get("federation_fetch_endpoint") if isinstance(federation, dict) else None
        )
        if not isinstance(endpoint, str):
            raise _DeadEnd(f"{iss} publishes no federation_fetch_endpoint")

        async def fetch() -> EntityStatement:
            body = await self._get(run, endpoint, {"sub": sub})
            statement = EntityStatement.decode(body)
            if statement.iss != iss or statement.sub != sub:
                raise ChainNotWellFormedError(
                    f"the fetch endpoint of {iss} answered a statement by {statement.iss} about "
                    f"{statement.sub}, not by {iss} about {sub}",
                    detail={"iss": iss, "sub": sub},
                )
            if self._clock() < statement.exp:
                _trim(self._subordinates)
                self._subordinates[(iss, sub)] = statement
            return statement

        return await self._once(run, ("ss", iss, sub), fetch)

    async def _get(self, run: _Run, url: str, params: Mapping[str, str] | None = None) -> bytes:
        return await self._fetcher.get(url, MEDIA_ENTITY_STATEMENT, run.budget, params)


def _quiet(task: asyncio.Future[Any]) -> None:
    """Retrieve a prefetch's outcome so that an unused failure is not logged as lost."""
    if not task.cancelled():
        task.exception()


class _DeadEnd(Exception):
    """A superior that cannot be asked about its subordinates (no fetch endpoint)."""


def _candidate_path(candidate: list[EntityStatement]) -> list[str]:
    """The entity ids of a candidate chain: EC subject, each SS's issuer (the anchor last)."""
    return [candidate[0].sub, *(statement.iss for statement in candidate[1:-1])]


def _trim(cache: dict[Any, Any]) -> None:
    """Keep a cache bounded: drop the oldest entries once it is full."""
    while len(cache) >= _CACHE_ENTRIES:
        cache.pop(next(iter(cache)))


def _failure(entity_id: str, run: _Run) -> TokenfedError:
    """The error of a resolution in which no path validated (FED-070): ``resolution_limit``
    when the fetch budget ran out (FED-072); else the code every path died of when they all
    died of one and the same registry code; else ``no_trust_path``. ``detail.reasons`` lists
    each dropped path in every case."""
    reasons = run.reasons
    detail = {"reasons": reasons}
    codes = {reason["error"] for reason in reasons}
    if ResolutionLimitError.code in codes:
        # The fetch budget ended the search (FED-072): what is left unexplored might have
        # led to an anchor, so this is not a proof that no path exists.
        return ResolutionLimitError(
            f"no trust path for {entity_id} was found within {run.budget.fetches} fetches, the "
            "most one resolution may make",
            detail=detail,
        )
    if len(codes) == 1:
        code = next(iter(codes))
        if code not in _DIAGNOSTICS:
            return error_class(code)(
                f"no trust path for {entity_id}: {reasons[0]['message']}", detail=detail
            )
    summary = "; ".join(f"{' -> '.join(r['path'])}: {r['error']}" for r in reasons[:8])
    return NoTrustPathError(
        f"no trust path from {entity_id} to a pinned anchor ({summary or 'no path'})",
        detail=detail,
    )


class Resolver:
    """Synchronous facade of :class:`AsyncResolver` (same arguments, same methods, blocking).

    The resolver runs on a private event-loop thread it owns (see the module docs for why);
    :meth:`close` (or leaving a ``with`` block) stops it and closes its connections. A call
    interrupted in the calling thread (``KeyboardInterrupt``) cancels its resolution.
    """

    def __init__(
        self,
        anchors: Sequence[TrustAnchor],
        *,
        limits: Limits = Limits(),  # noqa: B008 - frozen dataclass, never mutated
        origin_map: Mapping[str, str] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="tokenfed-resolver", daemon=True
        )
        self._thread.start()
        self._closed = False

        async def build() -> AsyncResolver:
            return AsyncResolver(anchors, limits=limits, origin_map=origin_map, clock=clock)

        try:
            self._async = self._call(build())
        except BaseException:
            _stop(self._loop, self._thread, None)
            raise
        self._finalizer = weakref.finalize(self, _stop, self._loop, self._thread, self._async)

    @property
    def anchors(self) -> tuple[TrustAnchor, ...]:
        """The pinned anchors, in priority order."""
        return self._async.anchors

    @property
    def clock(self) -> Callable[[], float]:
        """The resolver's clock."""
        return self._async._clock

    @property
    def fetches(self) -> int:
        """HTTP requests sent so far."""
        return self._async.fetches

    def _call(self, coro: Coroutine[Any, Any, T]) -> T:
        future = asyncio.run_coroutine_threadsafe(coro, self._loop)
        try:
            return future.result()
        except BaseException:
            if not future.done():
                future.cancel()
                # Wait for the cancelled resolution to unwind (its sockets closed).
                with contextlib.suppress(concurrent.futures.CancelledError, Exception):
                    future.result(timeout=5)
            raise

    def resolve(self, entity_id: str, entity_type: str | None = None) -> Resolution:
        """:meth:`AsyncResolver.resolve`, blocking."""
        if self._closed:
            raise ValueError("the resolver is closed")
        return self._call(self._async.resolve(entity_id, entity_type))

    def clear_cache(self) -> None:
        """Forget every cached statement, resolution and failure."""
        self._loop.call_soon_threadsafe(self._async.clear_cache)

    def close(self) -> None:
        """Stop the loop thread and close the HTTP client."""
        if not self._closed:
            self._closed = True
            self._finalizer()

    def __enter__(self) -> Resolver:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


async def _shutdown(resolver: AsyncResolver | None) -> None:
    """Cancel what is still running on the facade's loop (a resolution interrupted by the
    caller, a background refresh) and wait for it, then close the HTTP client: nothing is left
    pending when the loop stops."""
    pending = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    if resolver is not None:
        await resolver.aclose()


def _stop(
    loop: asyncio.AbstractEventLoop, thread: threading.Thread, resolver: AsyncResolver | None
) -> None:
    if loop.is_closed():
        return
    if thread.is_alive():
        future = asyncio.run_coroutine_threadsafe(_shutdown(resolver), loop)
        # Closing is best effort: the loop stops anyway.
        with contextlib.suppress(Exception):
            future.result(timeout=5)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(timeout=5)
    if not thread.is_alive():
        loop.close()
