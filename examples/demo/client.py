"""Talking to the demo's nodes over HTTP, and printing what they answer."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any

import httpx

from .processes import Node

__all__ = ["Api", "Reply", "claims_of", "kid_of", "show"]


def show(title: str, *lines: str) -> None:
    """Print a step's title and its lines."""
    print(f"\n== {title}")
    for line in lines:
        print(f"  {line}")


def _segment(token: str, index: int) -> dict[str, Any]:
    part = token.split(".")[index]
    decoded: dict[str, Any] = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    return decoded


def claims_of(token: str) -> dict[str, Any]:
    """The claims of a compact JWS, for display only (every token shown was verified by the
    party that received it; this only reads the payload back)."""
    return _segment(token, 1)


def kid_of(token: str) -> str:
    """The ``kid`` of a compact JWS's header, for display only."""
    return str(_segment(token, 0).get("kid"))


@dataclass(frozen=True)
class Reply:
    """A node's answer: status and JSON body (or text, for a signed document)."""

    status: int
    body: Any
    text: str

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def code(self) -> str | None:
        """The registry code of an error answer."""
        return self.body.get("error") if isinstance(self.body, dict) and not self.ok else None


class Api:
    """A small HTTP client of one node, at its loopback address."""

    def __init__(self, client: httpx.Client, node: Node, token: str | None = None) -> None:
        self.client = client
        self.node = node
        self.headers = {"authorization": f"Bearer {token}"} if token else {}

    def _reply(self, response: httpx.Response) -> Reply:
        body: Any = None
        if response.headers.get("content-type", "").startswith("application/json"):
            body = response.json()
        return Reply(response.status_code, body, response.text)

    def get(self, path: str, **params: str) -> Reply:
        """GET ``path`` below the node's entity id."""
        return self._reply(
            self.client.get(self.node.base_url + path, params=params, headers=self.headers)
        )

    def post(self, path: str, body: Any) -> Reply:
        """POST a JSON body to ``path`` below the node's entity id."""
        return self._reply(
            self.client.post(self.node.base_url + path, json=body, headers=self.headers)
        )
