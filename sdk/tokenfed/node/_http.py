"""HTTP plumbing shared by every role: error responses, capped bodies, media types, parameters.

Every error a node answers is the CONV-050 error object with the OpenID Federation §8.9 member
``error_description`` beside ``message`` (API-010), with the status of :data:`STATUS`.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from .. import _json
from ..errors import (
    InvalidRequestError,
    PayloadTooLargeError,
    TokenfedError,
    UnsupportedMediaTypeError,
)

__all__ = [
    "JSON_MEDIA_TYPE",
    "STATUS",
    "error_object",
    "error_response",
    "media_type",
    "read_body",
    "read_json",
    "require_media_type",
    "single_parameter",
    "status_of",
]

JSON_MEDIA_TYPE = "application/json"

STATUS: dict[str, int] = {
    # HTTP API codes (spec/errors.md, chapter HTTP API).
    "invalid_request": 400,
    "invalid_client": 401,
    "not_found": 404,
    "unsupported_parameter": 400,
    "payload_too_large": 413,
    "unsupported_media_type": 415,
    "server_error": 500,
    "temporarily_unavailable": 503,
    # A credential or document that does not verify, or an authorization that does not allow
    # the request (API-017).
    "invalid_signature": 403,
    "unknown_key": 403,
    "key_not_valid": 403,
    "invalid_key": 403,
    "no_trust_path": 403,
    "statement_expired": 403,
    "statement_not_yet_valid": 403,
    "chain_not_well_formed": 403,
    "invalid_statement": 403,
    "path_too_long": 403,
    "max_path_length_exceeded": 403,
    "naming_constraint_violated": 403,
    "entity_type_not_allowed": 403,
    "entity_type_absent": 403,
    "metadata_policy_error": 403,
    "invalid_metadata": 403,
    "fetch_failed": 403,
    "fetch_timeout": 403,
    "response_too_large": 403,
    "resolution_limit": 403,
    "entitlement_expired": 403,
    "entitlement_not_yet_valid": 403,
    "wrong_audience": 403,
    "out_of_scope": 403,
    # The request conflicts with the state of the node.
    "limit_exceeded": 409,
    "replay": 409,
    "chain_break": 409,
    "unknown_entitlement": 409,
    # Well-formed, but the node cannot price or convert it.
    "unknown_model": 422,
    "unknown_meter": 422,
    "unpriced_meter": 422,
    "unpriced_service_tier": 422,
    "invalid_usage": 422,
    "incomplete_stream": 422,
    "unknown_currency": 422,
    "rate_card_not_valid": 422,
    "rates_not_valid": 422,
}
"""HTTP status of each code a node answers with; any other registry code is 400 (API-017)."""


def status_of(code: str) -> int:
    """The HTTP status a node answers ``code`` with (API-017)."""
    return STATUS.get(code, 400)


def error_object(error: TokenfedError) -> dict[str, Any]:
    """The error object of API-010 for ``error``."""
    body: dict[str, Any] = {
        "error": error.code,
        "error_description": error.message,
        "message": error.message,
    }
    if error.detail:
        body["detail"] = error.detail
    return body


def error_response(
    error: TokenfedError, *, headers: dict[str, str] | None = None, status: int | None = None
) -> JSONResponse:
    """The error object of API-010 for ``error`` as a response."""
    return JSONResponse(
        error_object(error),
        status_code=status or status_of(error.code),
        headers=headers,
        media_type=JSON_MEDIA_TYPE,
    )


def media_type(request: Request) -> str:
    """The request's media type without parameters, lowercased ('' when absent)."""
    value = request.headers.get("content-type", "")
    return value.split(";", 1)[0].strip().lower()


def require_media_type(request: Request, allowed: Collection[str]) -> str:
    """Refuse a body whose media type the endpoint does not accept (API-014)."""
    found = media_type(request)
    if found not in allowed:
        raise UnsupportedMediaTypeError(
            f"this endpoint takes {' or '.join(sorted(allowed))}, not {found or 'no Content-Type'}"
        )
    return found


async def read_body(request: Request, limit: int) -> bytes:
    """Read the request body, refusing it as soon as it passes ``limit`` bytes (API-013).

    A declared ``Content-Length`` over the limit is refused before any byte is read; a body
    without one is read in chunks and refused at the first chunk that passes the limit.
    """
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            raise InvalidRequestError("Content-Length is not a number")
        if int(declared) > limit:
            raise PayloadTooLargeError(
                f"the body has {declared} bytes; this node takes at most {limit}",
                detail={"limit": limit},
            )
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLargeError(
                f"the body is longer than {limit} bytes, the limit of this node",
                detail={"limit": limit},
            )
        chunks.append(chunk)
    return b"".join(chunks)


async def read_json(request: Request, limit: int) -> Any:
    """A strict I-JSON body (CONV-010..016) of media type application/json."""
    require_media_type(request, {JSON_MEDIA_TYPE})
    return _json.loads(await read_body(request, limit))


def single_parameter(request: Request, name: str, *, required: bool) -> str | None:
    """A query parameter that may appear at most once (API-012)."""
    values = request.query_params.getlist(name)
    if len(values) > 1:
        raise InvalidRequestError(f"query parameter {name!r} appears {len(values)} times")
    if not values:
        if required:
            raise InvalidRequestError(f"query parameter {name!r} is required")
        return None
    return values[0]


def jwt_response(token: str, media: str) -> Response:
    """A signed document as the body, with its media type and no caching by intermediaries."""
    return Response(token, media_type=media, headers={"Cache-Control": "no-store"})
