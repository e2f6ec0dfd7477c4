"""Federation HTTP fetches under hard limits (FED-9 of the research notes, chapter "Federation").

Every statement a resolver reads comes through :class:`Fetcher`: one GET, no redirects, https
only (or an explicitly mapped loopback origin in test mode), the body read through a stream and
abandoned as soon as it passes the byte cap, an exact media type, a per-request timeout, and a
:class:`Budget` per resolution that counts fetches and holds the resolution's deadline.

Deadlines are measured on the event loop's monotonic clock, never on the injectable wall clock
that decides statement times and cache lifetimes: a test that moves the wall clock forward must
not time out a fetch, and a real stall must time out whatever the wall clock says.
"""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx

from ..errors import (
    FetchFailedError,
    FetchTimeoutError,
    ResolutionLimitError,
    ResponseTooLargeError,
)

__all__ = [
    "MEDIA_ENTITY_STATEMENT",
    "MEDIA_HISTORICAL_KEYS",
    "MEDIA_JSON",
    "Budget",
    "Fetcher",
    "Limits",
    "check_origin_map",
]

MEDIA_ENTITY_STATEMENT = "application/entity-statement+jwt"
"""Media type of entity configurations and fetch-endpoint answers (§15)."""
MEDIA_JSON = "application/json"
"""Media type of list-endpoint answers (§8.2)."""
MEDIA_HISTORICAL_KEYS = "application/jwk-set+jwt"
"""Media type of historical-keys answers (§8.7)."""

_LOOPBACK_HOSTS = frozenset(("127.0.0.1", "::1", "localhost"))


@dataclass(frozen=True)
class Limits:
    """Hard limits of one resolution (the chapter's resolution limits).

    Attributes:
        max_fetches: HTTP requests per resolution; one more is ``resolution_limit``.
        max_bytes: largest response body; one byte more is ``response_too_large``.
        request_timeout: seconds one request may take, body included (``fetch_timeout``).
        resolution_timeout: seconds a whole resolution may take (``fetch_timeout``).
    """

    max_fetches: int = 32
    max_bytes: int = 65536
    request_timeout: float = 5
    resolution_timeout: float = 15

    def __post_init__(self) -> None:
        if self.max_fetches < 1 or self.max_bytes < 1:
            raise ValueError("max_fetches and max_bytes must be at least 1")
        if not (0 < self.request_timeout <= self.resolution_timeout):
            raise ValueError("timeouts must be positive, request_timeout <= resolution_timeout")


class Budget:
    """What is left of one resolution: fetches counted, and its deadline (loop time)."""

    __slots__ = ("_deadline", "_limits", "fetches")

    def __init__(self, limits: Limits) -> None:
        self._limits = limits
        self._deadline = asyncio.get_running_loop().time() + limits.resolution_timeout
        self.fetches = 0

    def take(self, url: str) -> float:
        """Count one fetch; the seconds it may take (the smaller of the request timeout and
        what is left of the resolution).

        Raises:
            ResolutionLimitError: this fetch would be one more than ``max_fetches``.
            FetchTimeoutError: the resolution's deadline has passed.
        """
        if self.fetches >= self._limits.max_fetches:
            raise ResolutionLimitError(
                f"resolution needs more than {self._limits.max_fetches} fetches; refused to "
                f"fetch {url}",
                detail={"url": url, "max_fetches": self._limits.max_fetches},
            )
        left = self._deadline - asyncio.get_running_loop().time()
        if left <= 0:
            raise FetchTimeoutError(
                f"resolution took longer than {self._limits.resolution_timeout:g} s; refused to "
                f"fetch {url}",
                detail={"url": url},
            )
        self.fetches += 1
        return min(self._limits.request_timeout, left)


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def check_origin_map(origin_map: Mapping[str, str] | None) -> dict[str, str]:
    """Validate a loopback test-mode map from https origins to loopback base URLs.

    Raises:
        ValueError: a key that is not a bare https origin, or a target that is not
            ``http://127.0.0.1|[::1]|localhost:PORT`` (test mode never reaches another host).
    """
    checked: dict[str, str] = {}
    for origin, target in (origin_map or {}).items():
        source = urlsplit(origin)
        if (
            source.scheme != "https"
            or not source.hostname
            or source.path not in ("", "/")
            or source.query
            or source.fragment
            or source.username is not None
        ):
            raise ValueError(f"origin_map key {origin!r} is not an https origin (https://host)")
        dest = urlsplit(target)
        try:
            port = dest.port
        except ValueError:
            port = None
        if (
            dest.scheme != "http"
            or dest.hostname not in _LOOPBACK_HOSTS
            or port is None
            or dest.path not in ("", "/")
            or dest.query
            or dest.fragment
            or dest.username is not None
        ):
            raise ValueError(
                f"origin_map target {target!r} is not http://127.0.0.1:PORT, http://[::1]:PORT "
                "or http://localhost:PORT: loopback test mode reaches this machine only"
            )
        checked[_origin(origin).lower()] = f"http://{dest.netloc}"
    return checked


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _media_type_matches(header: str | None, expected: str) -> bool:
    """The Content-Type names exactly ``expected`` (type and subtype, case-insensitive);
    parameters are ignored (FED-074)."""
    if header is None:
        return False
    return header.partition(";")[0].strip().lower() == expected


class Fetcher:
    """GETs federation documents with the limits of one :class:`Budget` each.

    Args:
        client: the httpx client to send with (its redirect and timeout settings are overridden
            per request: redirects are never followed).
        limits: byte cap and timeouts.
        origin_map: loopback test mode (off when empty): an https origin of an entity id or
            endpoint is fetched from the mapped ``http://127.0.0.1:PORT`` instead. Entity ids,
            endpoints and naming constraints keep their https names.
    """

    def __init__(
        self,
        client: httpx.AsyncClient,
        limits: Limits,
        origin_map: Mapping[str, str] | None = None,
    ) -> None:
        self._client = client
        self._limits = limits
        self._origins = check_origin_map(origin_map)

    def transport_url(self, url: str) -> str:
        """The URL actually requested: ``url`` itself (https), or its loopback mapping.

        Raises:
            FetchFailedError: not https and not mapped (http, another scheme, a loopback URL that
                was not mapped explicitly), or not a URL with a host.
        """
        parts = urlsplit(url)
        origin = _origin(url).lower()
        mapped = self._origins.get(origin)
        if mapped is not None:
            rest = parts.path + (f"?{parts.query}" if parts.query else "")
            return mapped + rest
        if parts.scheme != "https" or not parts.hostname or parts.username is not None:
            raise FetchFailedError(
                f"refused to fetch {url!r:.200}: federation fetches use https only (loopback "
                "test mode maps origins explicitly)",
                detail={"url": url},
            )
        if _is_loopback(parts.hostname):
            raise FetchFailedError(
                f"refused to fetch {url!r:.200}: a loopback host is reached only through an "
                "explicit origin_map entry",
                detail={"url": url},
            )
        return url

    async def get(
        self,
        url: str,
        media_type: str,
        budget: Budget,
        params: Mapping[str, str] | None = None,
    ) -> bytes:
        """GET ``url`` (with query ``params``) and return its body.

        Raises:
            ResolutionLimitError: the budget's fetches are used up.
            FetchTimeoutError: the request or the resolution ran out of time.
            FetchFailedError: refused scheme, connection error, redirect (never followed), a
                status other than 200 (``detail.status``; 404 is a dead path to the resolver),
                a Content-Type other than ``media_type``, a Content-Encoding.
            ResponseTooLargeError: the body is longer than the cap (read no further).
        """
        target = self.transport_url(url)
        seconds = budget.take(url)
        try:
            async with asyncio.timeout(seconds):
                return await self._get(url, target, media_type, params)
        except TimeoutError:
            raise FetchTimeoutError(
                f"fetching {url} took longer than {seconds:g} s", detail={"url": url}
            ) from None
        except httpx.TimeoutException:
            raise FetchTimeoutError(
                f"fetching {url} took longer than {seconds:g} s", detail={"url": url}
            ) from None
        except httpx.HTTPError as exc:
            raise FetchFailedError(
                f"fetching {url} failed: {type(exc).__name__}: {exc}", detail={"url": url}
            ) from None

    async def _get(
        self, url: str, target: str, media_type: str, params: Mapping[str, str] | None
    ) -> bytes:
        cap = self._limits.max_bytes
        headers = {"Accept": media_type, "Accept-Encoding": "identity"}
        request = self._client.build_request("GET", target, params=params, headers=headers)
        response = await self._client.send(request, stream=True, follow_redirects=False)
        try:
            status = response.status_code
            if response.is_redirect or 300 <= status < 400:
                raise FetchFailedError(
                    f"{url} answered a redirect ({status}); federation fetches never follow "
                    "redirects",
                    detail={"url": url, "status": status},
                )
            if status != 200:
                raise FetchFailedError(
                    f"{url} answered HTTP {status}", detail={"url": url, "status": status}
                )
            content_type = response.headers.get("content-type")
            if not _media_type_matches(content_type, media_type):
                raise FetchFailedError(
                    f"{url} answered Content-Type {content_type!r:.80}, not {media_type}",
                    detail={"url": url, "content_type": content_type},
                )
            encoding = response.headers.get("content-encoding", "identity").strip().lower()
            if encoding != "identity":
                raise FetchFailedError(
                    f"{url} answered Content-Encoding {encoding!r:.40}; only identity is read",
                    detail={"url": url},
                )
            declared = response.headers.get("content-length")
            if declared is not None and declared.strip().isdigit() and int(declared) > cap:
                raise ResponseTooLargeError(
                    f"{url} announces {declared.strip()} bytes, more than the {cap}-byte cap",
                    detail={"url": url, "max_bytes": cap},
                )
            body = bytearray()
            async for chunk in response.aiter_raw():
                if len(body) + len(chunk) > cap:
                    raise ResponseTooLargeError(
                        f"{url} sent more than the {cap}-byte cap; read no further",
                        detail={"url": url, "max_bytes": cap},
                    )
                body += chunk
            return bytes(body)
        finally:
            await response.aclose()
