"""Independent checker of the ``fetch`` vectors (spec/federation.md FED-072..FED-074).

Written from the chapter's text, sharing nothing with the SDK: the rules for one federation
HTTP fetch as a pure function of the URL, the loopback origin map, the fetches already made and
the server's answer. ``check_vectors.py`` registers it with ``install(globals())``.
"""

from __future__ import annotations

from typing import Any

_host: dict[str, Any] = {}

MAX_FETCHES = 32
MAX_BYTES = 65536
LOOPBACK = ("127.0.0.1", "[::1]", "localhost")


def install(host: dict[str, Any]) -> None:
    """Take the host's helpers and register the ``fetch`` checker with it."""
    _host.update(host)
    host["checker"]("fetch")(check_fetch)


class _Refused(Exception):
    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


def _requested_url(url: str, origin_map: dict[str, str]) -> str:
    """FED-073: https only, or an explicitly mapped origin rewritten to its loopback base."""
    scheme, _, rest = url.partition("://")
    authority = rest.split("/", 1)[0].split("?", 1)[0]
    origin = f"{scheme.lower()}://{authority.lower()}"
    if origin in origin_map:
        target = origin_map[origin]
        if not target.startswith("http://") or target[7:].rsplit(":", 1)[0] not in LOOPBACK:
            raise _Refused("fetch_failed", f"origin map target {target} is not loopback")
        return target + url[len(origin) :]
    if scheme != "https" or not authority or "@" in authority:
        raise _Refused("fetch_failed", f"{url}: https only outside loopback test mode")
    host = authority.rsplit(":", 1)[0] if not authority.startswith("[") else authority
    if host in LOOPBACK or host.startswith("127."):
        raise _Refused("fetch_failed", f"{url}: a loopback host needs an origin map entry")
    return url


def _media_type(value: str | None) -> str | None:
    return None if value is None else value.split(";", 1)[0].strip().lower()


def evaluate(given: dict[str, Any]) -> dict[str, Any]:
    """The outcome of one fetch: ``{requested_url, body_bytes}``, or raises ``_Refused``."""
    requested = _requested_url(given["url"], given.get("origin_map", {}))
    if given.get("fetches_before", 0) >= MAX_FETCHES:
        raise _Refused("resolution_limit", f"fetch {MAX_FETCHES + 1} of one resolution")
    answer = given["response"]
    if answer.get("timeout"):
        raise _Refused("fetch_timeout", "no answer within the per-request limit")
    if answer.get("connect_error"):
        raise _Refused("fetch_failed", "connection refused")
    status = answer["status"]
    if 300 <= status < 400:
        raise _Refused("fetch_failed", f"redirect {status} not followed")
    if status != 200:
        raise _Refused("fetch_failed", f"status {status}")
    headers = {name.lower(): value for name, value in answer.get("headers", {}).items()}
    if _media_type(headers.get("content-type")) != given["media_type"]:
        raise _Refused("fetch_failed", f"media type {headers.get('content-type')!r}")
    if headers.get("content-encoding", "identity").strip().lower() != "identity":
        raise _Refused("fetch_failed", "compressed body")
    length = answer.get("announced_length", answer["body_bytes"])
    if length > MAX_BYTES or answer["body_bytes"] > MAX_BYTES:
        raise _Refused("response_too_large", f"{max(length, answer['body_bytes'])} bytes")
    return {"requested_url": requested, "body_bytes": answer["body_bytes"]}


def check_fetch(vector: dict[str, Any], context: Any) -> Any:
    """A ``fetch`` vector, judged by the host's ``_judge``."""
    try:
        result = evaluate(vector["input"])
    except _Refused as refused:
        rejected = _host["_Rejected"](refused.code, refused.reason)
        return _host["_judge"](vector["expected"], rejected, None)
    return _host["_judge"](vector["expected"], None, result)
