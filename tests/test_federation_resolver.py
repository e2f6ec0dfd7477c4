"""Trust-chain resolution over real loopback servers (one uvicorn server per entity).

Each test builds a small federation (tests/_fedworld.py), signs its statements, serves them and
resolves through :class:`tokenfed.federation.Resolver` in loopback test mode. Hostile servers
show that the limits hold: a slow path while another succeeds, an oversized body, a redirect, a
cycle, too many authority hints, a dead fetch, a withdrawn recognition.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import psutil
import pytest

from _fedhttp import WELL_KNOWN, Hostility, Servers
from _fedworld import T0, World
from tokenfed import _jws
from tokenfed.errors import (
    FetchFailedError,
    InvalidStatementError,
    NoTrustPathError,
    ResolutionLimitError,
    ResponseTooLargeError,
    StatementExpiredError,
)
from tokenfed.federation import AsyncResolver, Limits, Resolver
from tokenfed.federation._resolver import NEGATIVE_TTL

NOW = T0 + 3600
PROVIDER = "tokenfed_provider"


class Clock:
    """An injectable wall clock a test moves forward."""

    def __init__(self, now: int = NOW) -> None:
        self.now = now

    def __call__(self) -> float:
        return float(self.now)


@pytest.fixture
def servers() -> Iterator[Servers]:
    with Servers() as running:
        yield running


@pytest.fixture
def world(servers: Servers) -> World:
    return World(servers)


def three_levels(world: World) -> tuple[Any, Any, Any]:
    """leaf <- intermediate <- anchor, in alliance A."""
    anchor = world.authority("https://anchor.a.example")
    inter = world.authority("https://org.a.example", [anchor.entity_id])
    leaf = world.provider("https://leaf.a.example", [inter.entity_id])
    world.subordinate(anchor, inter)
    world.subordinate(inter, leaf)
    return anchor, inter, leaf


def cross_alliance(world: World) -> tuple[Any, Any, Any, Any]:
    """L_B <- I_B <- B <- A: A recognises B (FED-060), B lists A in its authority_hints."""
    a = world.authority("https://anchor.a.example")
    b = world.authority("https://anchor.alliance-b.example", [a.entity_id])
    i_b = world.authority("https://org.alliance-b.example", [b.entity_id])
    l_b = world.provider("https://llm.alliance-b.example", [i_b.entity_id])
    world.recognise(a, b, ".alliance-b.example")
    world.subordinate(b, i_b)
    world.subordinate(i_b, l_b)
    return a, b, i_b, l_b


def resolver(world: World, *anchors: Any, clock: Clock | None = None, **kw: Any) -> Resolver:
    return Resolver(
        [anchor.anchor() for anchor in anchors],
        origin_map=world.origin_map,
        clock=clock or Clock(),
        **kw,
    )


def test_leaf_intermediate_anchor(world: World) -> None:
    """FED-070: bottom-up collection from the leaf through authority_hints to the anchor."""
    anchor, inter, leaf = three_levels(world)
    with resolver(world, anchor) as r:
        resolution = r.resolve(leaf.entity_id, PROVIDER)
    assert resolution.trust_anchor == anchor.entity_id
    assert resolution.path == (leaf.entity_id, inter.entity_id, anchor.entity_id)
    assert resolution.exp == T0 + world.lifetime
    assert resolution.alternatives == 0
    assert PROVIDER in resolution.metadata
    assert resolution.to_json()["path"] == list(resolution.path)


def test_cross_alliance_chain_names_the_anchor_and_path(world: World) -> None:
    """FED-060, FED-059: a verifier anchored at A resolves B's provider through A's
    recognition of B; the result names A and the whole path."""
    a, b, i_b, l_b = cross_alliance(world)
    with resolver(world, a) as r:
        resolution = r.resolve(l_b.entity_id, PROVIDER)
    assert resolution.trust_anchor == a.entity_id
    assert resolution.path == (l_b.entity_id, i_b.entity_id, b.entity_id, a.entity_id)


def test_resolution_stops_at_the_first_configured_anchor(world: World) -> None:
    """FED-070: with both A and B pinned, the path stops at B, the first anchor reached; A
    (above it) is never fetched, although it comes first in priority order."""
    a, b, i_b, l_b = cross_alliance(world)
    with resolver(world, a, b) as r:
        resolution = r.resolve(l_b.entity_id, PROVIDER)
    assert resolution.trust_anchor == b.entity_id
    assert resolution.path == (l_b.entity_id, i_b.entity_id, b.entity_id)
    assert a.app.hits == {}


def test_recognition_used_backwards_is_no_trust_path(world: World) -> None:
    """FED-062: A recognises B, not the reverse: a verifier anchored at B cannot reach A's
    leaf (A lists no superior, so every path dies)."""
    a, b, _, _ = cross_alliance(world)
    inter = world.authority("https://org.a.example", [a.entity_id])
    leaf = world.provider("https://leaf.a.example", [inter.entity_id])
    world.subordinate(a, inter)
    world.subordinate(inter, leaf)
    with resolver(world, b) as r, pytest.raises(NoTrustPathError) as caught:
        r.resolve(leaf.entity_id, PROVIDER)
    assert [reason["error"] for reason in caught.value.detail["reasons"]] == ["dead_end"]


def test_slow_path_times_out_while_another_path_succeeds(world: World) -> None:
    """FED-072: a superior slower than the request timeout kills its own path only; the
    other path's chain is returned."""
    anchor = world.authority("https://anchor.a.example")
    slow = world.authority("https://slow.a.example", [anchor.entity_id])
    fast = world.authority("https://fast.a.example", [anchor.entity_id])
    leaf = world.provider("https://leaf.a.example", [slow.entity_id, fast.entity_id])
    for inter in (slow, fast):
        world.subordinate(anchor, inter)
        world.subordinate(inter, leaf)
    slow.app.hostile[WELL_KNOWN] = Hostility(delay=3.0)
    limits = Limits(request_timeout=0.3, resolution_timeout=2.0)
    with resolver(world, anchor, limits=limits) as r:
        resolution = r.resolve(leaf.entity_id, PROVIDER)
    assert resolution.path == (leaf.entity_id, fast.entity_id, anchor.entity_id)


def test_oversized_statement_is_response_too_large(world: World) -> None:
    """FED-072: a superior whose configuration is over 64 KiB: the cap holds and the only path
    dies of it, so the resolution fails with that code."""
    anchor, inter, leaf = three_levels(world)
    inter.app.hostile[WELL_KNOWN] = Hostility(endless=True)
    with resolver(world, anchor) as r, pytest.raises(ResponseTooLargeError):
        r.resolve(leaf.entity_id, PROVIDER)


def test_redirect_is_fetch_failed(world: World) -> None:
    """FED-073: a redirect is never followed."""
    anchor, inter, leaf = three_levels(world)
    inter.app.hostile["/fetch"] = Hostility(redirect=anchor.entity_id + "/fetch")
    with resolver(world, anchor) as r, pytest.raises(FetchFailedError) as caught:
        r.resolve(leaf.entity_id, PROVIDER)
    assert caught.value.detail["reasons"][0]["path"] == [leaf.entity_id, inter.entity_id]


def test_cycle_terminates_within_the_fetch_budget(world: World) -> None:
    """FED-070: X and Y name each other; no pinned anchor is reachable. The hint back into the
    path is skipped (loop_detected), the resolution ends with no_trust_path, and it took a
    handful of fetches, far below the budget."""
    anchor = world.authority("https://anchor.a.example")
    x = world.authority("https://x.a.example", ["https://y.a.example"])
    y = world.authority("https://y.a.example", [x.entity_id])
    leaf = world.provider("https://leaf.a.example", [x.entity_id])
    world.subordinate(x, leaf)
    world.subordinate(y, x)
    world.subordinate(x, y)
    with resolver(world, anchor) as r:
        with pytest.raises(NoTrustPathError) as caught:
            r.resolve(leaf.entity_id, PROVIDER)
        assert r.fetches <= 6
    reasons = caught.value.detail["reasons"]
    assert [reason["error"] for reason in reasons] == ["loop_detected"]
    assert reasons[0]["path"] == [leaf.entity_id, x.entity_id, y.entity_id, x.entity_id]


def test_mutual_recognition_terminates_under_either_anchor(world: World) -> None:
    """FED-070: A and B recognise each other; resolving B's leaf under A stops at A."""
    a, b, i_b, l_b = cross_alliance(world)
    a.hints = [b.entity_id]
    world.publish(a)
    world.recognise(b, a, ".a.example")
    with resolver(world, a) as r:
        resolution = r.resolve(l_b.entity_id, PROVIDER)
    assert resolution.path == (l_b.entity_id, i_b.entity_id, b.entity_id, a.entity_id)


def test_nine_authority_hints_are_refused(world: World) -> None:
    """FED-017: an entity configuration with 9 authority_hints is invalid_statement (signed
    here with the raw JWS layer, since sign_statement refuses it)."""
    anchor, inter, leaf = three_levels(world)
    hints = [inter.entity_id] + [f"https://h{i}.a.example" for i in range(8)]
    claims: dict[str, Any] = {
        "iss": leaf.entity_id,
        "sub": leaf.entity_id,
        "iat": T0,
        "exp": T0 + 3600 * 24,
        "jwks": leaf.jwks,
        "metadata": leaf.metadata,
        "authority_hints": hints,
    }
    leaf.app.configuration = _jws.sign(claims, leaf.key, "entity-statement+jwt")
    with resolver(world, anchor) as r:
        with pytest.raises(InvalidStatementError):
            r.resolve(leaf.entity_id, PROVIDER)
        assert r.fetches == 1


def test_subordinate_statement_404_kills_only_its_path(world: World) -> None:
    """FED-070: a fetch endpoint that answers 404 for the subject ends that path, not the
    resolution: the other path wins; with no other path it is no_trust_path."""
    anchor = world.authority("https://anchor.a.example")
    gone = world.authority("https://gone.a.example", [anchor.entity_id])
    good = world.authority("https://good.a.example", [anchor.entity_id])
    leaf = world.provider("https://leaf.a.example", [gone.entity_id, good.entity_id])
    world.subordinate(anchor, gone)
    world.subordinate(anchor, good)
    world.subordinate(good, leaf)
    with resolver(world, anchor) as r:
        assert r.resolve(leaf.entity_id, PROVIDER).path[1] == good.entity_id
    del good.app.subordinates[leaf.entity_id]
    with resolver(world, anchor) as r, pytest.raises(NoTrustPathError) as caught:
        r.resolve(leaf.entity_id, PROVIDER)
    assert sorted(reason["error"] for reason in caught.value.detail["reasons"]) == [
        "not_found",
        "not_found",
    ]


def test_two_valid_paths_report_one_alternative(world: World) -> None:
    """FED-071: both paths validate; one is chosen (least path in code-point order at equal
    length and exp) and the other is counted."""
    anchor = world.authority("https://anchor.a.example")
    one = world.authority("https://one.a.example", [anchor.entity_id])
    two = world.authority("https://two.a.example", [anchor.entity_id])
    leaf = world.provider("https://leaf.a.example", [two.entity_id, one.entity_id])
    for inter in (one, two):
        world.subordinate(anchor, inter)
        world.subordinate(inter, leaf)
    with resolver(world, anchor) as r:
        resolution = r.resolve(leaf.entity_id, PROVIDER)
    assert resolution.alternatives == 1
    assert resolution.path[1] == one.entity_id


def test_withdrawn_recognition_holds_until_the_cached_chain_expires(world: World) -> None:
    """FED-062, FED-075: A withdraws its recognition of B (404). The cached chain stays valid
    until its minimum exp (no fetch meanwhile), and the resolution fails after it."""
    a, b, _, l_b = cross_alliance(world)
    short = T0 + 7200
    world.recognise(a, b, ".alliance-b.example", exp=short)
    clock = Clock()
    with resolver(world, a, clock=clock) as r:
        first = r.resolve(l_b.entity_id, PROVIDER)
        assert first.exp == short
        del a.app.subordinates[b.entity_id]
        fetches = r.fetches
        clock.now = short - 1
        assert r.resolve(l_b.entity_id, PROVIDER) is first
        assert r.fetches == fetches
        clock.now = short
        with pytest.raises(NoTrustPathError) as caught:
            r.resolve(l_b.entity_id, PROVIDER)
    assert caught.value.detail["reasons"][0]["error"] == "not_found"


def test_cached_statements_are_not_fetched_again(world: World) -> None:
    """FED-075: a second resolution of the same subject is served from the cache; another
    subject under the same intermediate fetches only what is new."""
    anchor, inter, leaf = three_levels(world)
    other = world.provider("https://other.a.example", [inter.entity_id])
    world.subordinate(inter, other)
    with resolver(world, anchor) as r:
        r.resolve(leaf.entity_id, PROVIDER)
        assert r.fetches == 5
        r.resolve(leaf.entity_id, PROVIDER)
        assert r.fetches == 5
        r.resolve(other.entity_id, PROVIDER)
        assert r.fetches == 7  # other's configuration and the intermediate's statement about it


def test_failure_is_cached_for_sixty_seconds(world: World) -> None:
    """FED-075: a failed resolution is answered from the negative cache for 60 s, then tried
    again."""
    anchor, inter, leaf = three_levels(world)
    statement = inter.app.subordinates.pop(leaf.entity_id)
    clock = Clock()
    with resolver(world, anchor, clock=clock) as r:
        with pytest.raises(NoTrustPathError):
            r.resolve(leaf.entity_id, PROVIDER)
        fetches = r.fetches
        inter.app.subordinates[leaf.entity_id] = statement
        clock.now += NEGATIVE_TTL - 1
        with pytest.raises(NoTrustPathError):
            r.resolve(leaf.entity_id, PROVIDER)
        assert r.fetches == fetches
        clock.now += 1
        assert r.resolve(leaf.entity_id, PROVIDER).trust_anchor == anchor.entity_id


def test_expired_statement_is_never_served_from_cache(world: World) -> None:
    """FED-075: nothing is cached beyond its exp; past it, every statement is refetched and
    an expired one fails validation."""
    anchor, _, leaf = three_levels(world)
    clock = Clock()
    with resolver(world, anchor, clock=clock) as r:
        r.resolve(leaf.entity_id, PROVIDER)
        fetches = r.fetches
        clock.now = T0 + world.lifetime + 61
        with pytest.raises(StatementExpiredError):
            r.resolve(leaf.entity_id, PROVIDER)
        assert r.fetches == fetches + 5


def test_resolver_thread_stops_on_close(world: World) -> None:
    """The sync facade's loop thread ends with close()."""
    anchor, _, leaf = three_levels(world)
    r = resolver(world, anchor)
    r.resolve(leaf.entity_id, PROVIDER)
    r.close()
    assert not r._thread.is_alive()
    with pytest.raises(ValueError, match="closed"):
        r.resolve(leaf.entity_id, PROVIDER)


def test_not_an_entity_id_is_value_error(world: World) -> None:
    anchor, _, _ = three_levels(world)
    with resolver(world, anchor) as r, pytest.raises(ValueError, match="entity id"):
        r.resolve("http://leaf.a.example/")


def client_sockets(port: int) -> int:
    """Open sockets of this process connected to ``port`` (the client side)."""
    return sum(
        1
        for conn in psutil.Process().net_connections(kind="tcp")
        if conn.raddr and conn.raddr.port == port
    )


def test_cancelled_resolution_leaks_no_socket(world: World) -> None:
    """Cancelling a resolution in flight (stuck on a slow superior) ends it and closes its
    connections."""
    anchor, inter, leaf = three_levels(world)
    inter.app.hostile[WELL_KNOWN] = Hostility(delay=3.0)
    anchors = [anchor.anchor()]
    port = int(inter.base.rsplit(":", 1)[1])

    async def cancel() -> None:
        async with AsyncResolver(
            anchors, origin_map=world.origin_map, clock=Clock()
        ) as async_resolver:
            task = asyncio.create_task(async_resolver.resolve(leaf.entity_id, PROVIDER))
            await asyncio.sleep(0.3)
            assert client_sockets(port) == 1
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            assert client_sockets(port) == 0

    asyncio.run(cancel())


def test_fetch_budget_ends_the_resolution(world: World) -> None:
    """FED-072: a resolution that needs more fetches than the budget stops with
    resolution_limit (here 4 of the 5 fetches of a three-level chain)."""
    anchor, _, leaf = three_levels(world)
    with resolver(world, anchor, limits=Limits(max_fetches=4)) as r:
        with pytest.raises(ResolutionLimitError):
            r.resolve(leaf.entity_id, PROVIDER)
        assert r.fetches == 4


def test_wide_fan_out_stays_within_the_default_budget(world: World) -> None:
    """FED-072: eight superiors, each naming eight more that lead nowhere: the resolution ends
    with resolution_limit after 32 fetches, the default budget."""
    anchor = world.authority("https://anchor.a.example")
    tops = [world.authority(f"https://top{i}.a.example") for i in range(8)]
    mids = [
        world.authority(f"https://mid{i}.a.example", [top.entity_id for top in tops])
        for i in range(8)
    ]
    leaf = world.provider("https://leaf.a.example", [mid.entity_id for mid in mids])
    for mid in mids:
        world.subordinate(mid, leaf)
        for top in tops:
            world.subordinate(top, mid)
    with resolver(world, anchor) as r:
        with pytest.raises(ResolutionLimitError):
            r.resolve(leaf.entity_id, PROVIDER)
        assert r.fetches == 32


def test_cached_resolution_is_refreshed_in_its_last_tenth(world: World) -> None:
    """FED-075: before the last tenth of its lifetime a cached resolution is served with no
    fetch; within it, it is still served at once while fresh statements are fetched in the
    background, and the next resolutions return the refreshed chain."""
    a, b, _, l_b = cross_alliance(world)
    short = T0 + 7200
    world.recognise(a, b, ".alliance-b.example", exp=short)
    clock = Clock()
    with resolver(world, a, clock=clock) as r:
        first = r.resolve(l_b.entity_id, PROVIDER)
        fetches = r.fetches
        clock.now = short - 400
        assert r.resolve(l_b.entity_id, PROVIDER) is first
        assert r.fetches == fetches
        world.recognise(a, b, ".alliance-b.example")  # re-signed for a day
        clock.now = short - 100
        assert r.resolve(l_b.entity_id, PROVIDER) is first
        latest = first
        for _ in range(500):  # the refresh runs on the resolver's thread
            latest = r.resolve(l_b.entity_id, PROVIDER)
            if latest is not first:
                break
            time.sleep(0.01)
        assert latest.exp == world.iat + world.lifetime
        assert latest.path == first.path
        assert r.fetches == fetches + 7


def test_closing_the_facade_mid_resolution_leaves_nothing_pending(
    world: World, capfd: pytest.CaptureFixture[str]
) -> None:
    """Closing the sync facade while a resolution waits on a slow superior (another thread, as
    on Ctrl-C) cancels it: the caller gets its exception, no task is left pending on the
    facade's loop (asyncio would print "Task was destroyed but it is pending!") and no socket
    stays open."""
    import gc
    import threading

    anchor, inter, leaf = three_levels(world)
    inter.app.hostile[WELL_KNOWN] = Hostility(delay=3.0)
    port = int(inter.base.rsplit(":", 1)[1])
    facade = resolver(world, anchor)
    outcome: list[BaseException] = []

    def resolve() -> None:
        try:
            facade.resolve(leaf.entity_id, PROVIDER)
        except BaseException as exc:
            outcome.append(exc)

    caller = threading.Thread(target=resolve)
    caller.start()
    time.sleep(0.3)
    assert client_sockets(port) == 1
    facade.close()
    caller.join(timeout=5)
    assert not caller.is_alive() and len(outcome) == 1
    gc.collect()
    assert "Task was destroyed" not in capfd.readouterr().err
    assert client_sockets(port) == 0
