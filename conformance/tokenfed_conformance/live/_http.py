"""The live mode's HTTP client: the standard library only, no redirects, capped bodies, and an
explicit map from https origins to loopback base URLs (the federation chapter's loopback test
mode, never allowed for a certificate)."""

from __future__ import annotations

import http.client
import select
import socket
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlencode, urlsplit

__all__ = ["Exchange", "Http", "HttpError", "Response", "origin_of"]

_LOOPBACK = {"127.0.0.1", "::1", "localhost"}


class HttpError(Exception):
    """No HTTP answer at all: refused URL, connection error, timeout."""


def origin_of(url: str) -> str:
    """``scheme://host[:port]`` of ``url``."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


@dataclass(frozen=True)
class Response:
    """One HTTP answer: status, the exact Content-Type header, the body (at most the cap)."""

    status: int
    content_type: str | None
    body: bytes
    url: str
    truncated: bool = False
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def media_type(self) -> str | None:
        """The Content-Type without parameters, lowercased."""
        if self.content_type is None:
            return None
        return self.content_type.split(";", 1)[0].strip().lower()


@dataclass(frozen=True)
class Exchange:
    """A request the suite made and what came back, for the report."""

    method: str
    url: str
    status: int | None
    content_type: str | None
    note: str = ""

    def line(self) -> str:
        """``GET URL -> 200 application/json``."""
        answer = "no answer" if self.status is None else f"{self.status} {self.content_type}"
        return f"{self.method} {self.url} -> {answer}{' (' + self.note + ')' if self.note else ''}"


class Http:
    """GET and POST over http.client, one connection per request, every exchange logged."""

    def __init__(
        self,
        origin_map: Mapping[str, str],
        *,
        loopback: bool,
        timeout: float = 5.0,
        max_bytes: int = 1 << 20,
    ) -> None:
        for source, target in origin_map.items():
            target_parts = urlsplit(target)
            if not loopback or target_parts.scheme != "http":
                raise ValueError(f"origin map {source} -> {target}: loopback mode maps to http")
            if target_parts.hostname not in _LOOPBACK:
                raise ValueError(f"origin map target {target} is not a loopback address")
        self.origin_map = {origin_of(k): v.rstrip("/") for k, v in origin_map.items()}
        self.loopback = loopback
        self.timeout = timeout
        self.max_bytes = max_bytes
        self.log: list[Exchange] = []

    def transport_url(self, url: str) -> str:
        """The URL actually connected to: an https URL, or its loopback rewrite."""
        parts = urlsplit(url)
        mapped = self.origin_map.get(origin_of(url))
        if mapped is not None:
            path = parts.path + (f"?{parts.query}" if parts.query else "")
            return mapped + path
        if parts.scheme == "https":
            return url
        if self.loopback and parts.scheme == "http" and parts.hostname in _LOOPBACK:
            return url
        raise HttpError(f"refused to fetch {url}: only https (or a mapped loopback origin)")

    def get(self, url: str, params: Mapping[str, str] | None = None) -> Response:
        """GET ``url`` with the query ``params`` appended."""
        if params:
            url += ("&" if urlsplit(url).query else "?") + urlencode(params)
        return self._request("GET", url, None, {})

    def post_json(self, url: str, body: bytes) -> Response:
        """POST a JSON body."""
        return self._request("POST", url, body, {"Content-Type": "application/json"})

    def _connection(self, target: str) -> http.client.HTTPConnection:
        parts = urlsplit(target)
        port = parts.port
        if parts.scheme == "https":
            return http.client.HTTPSConnection(
                parts.hostname or "", port or 443, timeout=self.timeout
            )
        return http.client.HTTPConnection(parts.hostname or "", port or 80, timeout=self.timeout)

    def _request(
        self, method: str, url: str, body: bytes | None, headers: dict[str, str]
    ) -> Response:
        try:
            target = self.transport_url(url)
        except HttpError as exc:
            self.log.append(Exchange(method, url, None, None, str(exc)))
            raise
        parts = urlsplit(target)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        connection = self._connection(target)
        try:
            connection.request(method, path, body=body, headers=headers)
            answer = connection.getresponse()
            data = answer.read(self.max_bytes + 1)
            response = Response(
                status=answer.status,
                content_type=answer.getheader("Content-Type"),
                body=data[: self.max_bytes],
                url=url,
                truncated=len(data) > self.max_bytes,
                headers={k.lower(): v for k, v in answer.getheaders()},
            )
        except (OSError, http.client.HTTPException) as exc:
            self.log.append(Exchange(method, url, None, None, f"{type(exc).__name__}: {exc}"))
            raise HttpError(f"{method} {url}: {type(exc).__name__}: {exc}") from exc
        finally:
            connection.close()
        self.log.append(Exchange(method, url, response.status, response.content_type))
        return response

    def post_oversized(self, url: str, size: int) -> Response | None:
        """POST a JSON body of ``size`` bytes, sending it in pieces and stopping as soon as the
        server answers (a server that refuses early must not be punished by a reset); None when
        the server closed the connection without an answer."""
        target = urlsplit(self.transport_url(url))
        host, port = target.hostname or "", target.port or 80
        if target.scheme != "http":
            raise HttpError("the oversized-body check runs in loopback mode only")
        path = (target.path or "/") + (f"?{target.query}" if target.query else "")
        head = (
            f"POST {path} HTTP/1.1\r\nHost: {target.netloc}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {size}\r\nConnection: close\r\n\r\n"
        ).encode("ascii")
        chunk = b" " * 65536
        deadline = time.monotonic() + self.timeout * 2
        with socket.create_connection((host, port), timeout=self.timeout) as sock:
            sock.sendall(head)
            sent = 0
            try:
                while sent < size and time.monotonic() < deadline:
                    readable, _, _ = select.select([sock], [], [], 0)
                    if readable:
                        break
                    piece = chunk[: min(len(chunk), size - sent)]
                    sock.sendall(piece)
                    sent += len(piece)
            except OSError:
                pass  # the server stopped reading: its answer (if any) is already on its way
            raw = b""
            try:
                while len(raw) < self.max_bytes:
                    data = sock.recv(65536)
                    if not data:
                        break
                    raw += data
            except OSError:
                pass
        if not raw:
            self.log.append(Exchange("POST", url, None, None, f"{size}-byte body: no answer"))
            return None
        return self._parse_raw(url, raw, size)

    def _parse_raw(self, url: str, raw: bytes, size: int) -> Response | None:
        head, _, body = raw.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        try:
            status = int(lines[0].split(" ")[1])
        except (IndexError, ValueError):
            return None
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        if headers.get("transfer-encoding", "").lower() == "chunked":
            body = _dechunk(body)
        response = Response(status, headers.get("content-type"), body, url, headers=headers)
        self.log.append(Exchange("POST", url, status, response.content_type, f"{size}-byte body"))
        return response


def _dechunk(data: bytes) -> bytes:
    out = b""
    while data:
        size_line, _, rest = data.partition(b"\r\n")
        try:
            size = int(size_line.split(b";")[0], 16)
        except ValueError:
            return out
        if size == 0:
            break
        out += rest[:size]
        data = rest[size + 2 :]
    return out
