"""Live mode: the suite checks a running partner node over HTTP as its counterparties would
(PROTOCOL.md section 9).

``run_live`` fetches the node's entity configuration, runs every check of the selected profiles
that applies to the node's roles (an anchor or intermediate: fetch, list, historical keys and
error answers; a provider: metering under entitlements of the suite's own operator, through the
suite's own test federation on loopback), and returns results the ordinary reports take.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import urlsplit

from ..cases import Case
from ..iut import Info
from ..runner import TestResult
from ..selection import matches
from ._checks import CHECKS, CheckFailed, LiveCheck, Probe
from ._counterparty import DEFAULT_PORT, SuiteFederation, kit
from ._http import Http, origin_of

__all__ = ["DEFAULT_PORT", "LIVE_PROFILES", "LiveError", "kit", "live_cases", "run_live"]

LIVE_PROFILES = ("federation-entity", "entitlements")
"""The profiles live mode runs."""


class LiveError(Exception):
    """Live mode cannot start (a bad base URL or entity id); the message says why."""


def _entity_id(base_url: str, entity_id: str | None, loopback: bool) -> tuple[str, dict[str, str]]:
    base = urlsplit(base_url)
    if base.scheme not in {"http", "https"} or not base.hostname or base.query or base.fragment:
        raise LiveError(f"--live {base_url!r} is not an http(s) base URL")
    if base.scheme == "http" and not loopback:
        raise LiveError("an http base URL needs --loopback (the loopback test mode)")
    chosen = (entity_id or base_url).rstrip("/")
    parts = urlsplit(chosen)
    if parts.scheme != "https" or not parts.hostname or parts.query or parts.fragment:
        raise LiveError(f"entity id {chosen!r} is not an https entity id (give --entity-id)")
    origin_map: dict[str, str] = {}
    if origin_of(chosen) != origin_of(base_url):
        if not loopback:
            raise LiveError("--entity-id on another origin than --live needs --loopback")
        origin_map[origin_of(chosen)] = base_url.rstrip("/")
    return chosen, origin_map


def live_case(check: LiveCheck, source: str) -> Case:
    """The case that stands for a live check in the reports (no adapter calls)."""
    return Case(
        id=f"{check.profile}/live/{check.name}",
        profile=check.profile,
        requirements=check.requirements,
        reason=check.reason,
        calls=(),
        source=source,
    )


def live_cases(profiles: Sequence[str]) -> list[Case]:
    """Every live check of ``profiles`` as a case (for ``list``)."""
    return [live_case(c, "live") for c in CHECKS if c.profile in profiles]


def run_live(
    base_url: str,
    *,
    profiles: Sequence[str],
    entity_id: str | None = None,
    anchor_keys: dict[str, Any] | None = None,
    loopback: bool = False,
    suite_port: int = DEFAULT_PORT,
    select: str | None = None,
    timeout: float = 10.0,
    clock: Callable[[], float] = time.time,
) -> tuple[Info, list[TestResult], list[str]]:
    """Run the live checks of ``profiles`` against the node at ``base_url``.

    Returns the node's description (for the report), the results, and notes on checks that did
    not apply to the node's roles.
    """
    chosen, origin_map = _entity_id(base_url, entity_id, loopback)
    federation = SuiteFederation(suite_port, clock=clock) if loopback else None
    if federation is not None:
        origin_map.update(kit(suite_port)["origin_map"])
    http = Http(origin_map, loopback=loopback, timeout=timeout)
    probe = Probe(http, chosen, anchor_keys, federation, clock)
    source = f"live: {chosen} at {base_url}"
    selected = [c for c in CHECKS if c.profile in profiles and matches(select, live_case(c, "").id)]
    notes: list[str] = []
    results: list[TestResult] = []
    started = False
    try:
        for check in selected:
            if not check.applies(probe):
                notes.append(f"{check.profile}/live/{check.name}: does not apply to this node")
                continue
            if federation is not None and not started and probe.is_provider():
                try:
                    federation.start()
                    started = True
                except OSError as exc:
                    notes.append(f"the suite's federation cannot listen on {suite_port}: {exc}")
            before = len(http.log)
            problems = check.run(probe)
            tested = TestResult(
                live_case(check, source),
                "failed" if problems else "passed",
                problems,
                [],
                True,
            )
            tested.exchanges = [exchange.line() for exchange in http.log[before:]]
            results.append(tested)
    finally:
        if started and federation is not None:
            federation.stop()
    versions: list[str] = []
    try:
        for values in probe.metadata.values():
            if isinstance(values, dict) and isinstance(values.get("tokenfed_versions"), list):
                versions += [str(v) for v in values["tokenfed_versions"]]
    except CheckFailed:  # an unreadable configuration is already a failed check
        versions = []
    info = Info(
        name=chosen,
        version="live",
        spec_version=",".join(dict.fromkeys(versions)) or "unknown",
        profiles=tuple(profiles),
        operations=(),
        batch=False,
        raw={"live": base_url, "entity_id": chosen, "loopback": loopback},
    )
    return info, results, notes
