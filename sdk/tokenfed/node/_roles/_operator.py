"""Operator endpoints: entitlement issuance (admin), receipt intake and totals (API-040..)."""

from __future__ import annotations

import hmac
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.routing import Route

from ...errors import InvalidClientError
from .._config import token_sha256

if TYPE_CHECKING:
    from .._app import NodeApp

__all__ = ["Operator", "check_admin"]


def check_admin(request: Request, expected_sha256: str) -> None:
    """Require ``Authorization: Bearer TOKEN`` whose SHA-256 is the configured hash (API-040).

    The hashes are compared in constant time, so timing does not reveal how much matched.
    """
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise InvalidClientError("this endpoint needs the admin credential: Authorization: Bearer")
    if not hmac.compare_digest(token_sha256(token.strip()), expected_sha256):
        raise InvalidClientError("the admin credential is wrong")


class Operator:
    """The operator's endpoints."""

    def __init__(self, node: NodeApp) -> None:
        self.node = node

    def routes(self) -> list[Route]:
        """The operator's routes."""
        return []
