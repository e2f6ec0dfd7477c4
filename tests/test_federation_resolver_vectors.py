"""spec/vectors/resolution.json: every resolution vector, served by real loopback servers.

For each vector the entities it describes are served by uvicorn on 127.0.0.1 (their hostile
behaviours included), and :class:`tokenfed.federation.Resolver`, pinned to the vector's anchors
with its clock at the vector's ``now`` and the chapter's default limits, must give the one
expected chain or error code.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from _fedhttp import EntityApp, Hostility, Servers
from tokenfed.errors import TokenfedError
from tokenfed.federation import Resolver, TrustAnchor
from tokenfed_conformance.vectors import Vector, load_vectors

ROOT = Path(__file__).resolve().parent.parent
VECTORS = load_vectors("resolution")


def test_vectors_are_what_the_generator_writes() -> None:
    """spec/vectors/resolution.json is what spec/tools/make_resolution_vectors.py writes."""
    done = subprocess.run(
        [sys.executable, str(ROOT / "spec" / "tools" / "make_resolution_vectors.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr


def _hostility(behaviour: dict[str, Any]) -> Hostility:
    return Hostility(
        delay=float(behaviour.get("delay_s", 0)),
        redirect=behaviour.get("redirect"),
        status=behaviour.get("status"),
        content_type=behaviour.get("content_type"),
        oversized=behaviour.get("body_bytes"),
    )


def resolve(vector: Vector) -> dict[str, Any]:
    """The vector's outcome: the chosen chain's members, or {"error": code}."""
    data = vector.input
    with Servers() as servers:
        origin_map = {}
        for entity_id, served in data["entities"].items():
            app = EntityApp(
                configuration=served["configuration"],
                subordinates=dict(served["subordinates"]),
                hostile={
                    path: _hostility(behaviour)
                    for path, behaviour in served.get("hostile", {}).items()
                },
            )
            origin_map[entity_id] = servers.start(app.app())
        anchors = [TrustAnchor.from_jwks(a["entity_id"], a["jwks"]) for a in data["anchors"]]
        now = data["now"]
        with Resolver(anchors, origin_map=origin_map, clock=lambda: now) as resolver:
            try:
                resolution = resolver.resolve(data["subject"], data["entity_type"])
            except TokenfedError as exc:
                return {"error": exc.code}
    return {
        "trust_anchor": resolution.trust_anchor,
        "path": list(resolution.path),
        "exp": resolution.exp,
        "alternatives": resolution.alternatives,
    }


@pytest.mark.parametrize("vector", VECTORS.vectors, ids=lambda v: v.id)
def test_resolution_vector(vector: Vector) -> None:
    """FED-070..FED-074: each vector's one expected outcome (its requirement IDs are in the
    vector file)."""
    assert resolve(vector) == vector.expected
