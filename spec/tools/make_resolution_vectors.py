"""Generate spec/vectors/resolution.json: trust-chain resolution over HTTP (chapter "Federation",
FED-070..FED-074).

Each vector describes a small federation as the HTTP servers that publish it: for every entity,
the entity configuration served at its well-known URL, the subordinate statements its fetch
endpoint (``<entity id>/fetch``) serves by ``sub``, and, for hostile cases, how one of its two
paths misbehaves (a delay longer than the request timeout, a redirect, a status, a media type,
an oversized body). A conforming resolver, pinned to the vector's anchors and with its clock at
``now``, serves these entities over loopback (the only transport a test can have: FED-073's test
mode), resolves ``subject`` for ``entity_type`` and must give the expected chain (anchor, path,
expiry, number of other valid chains) or the expected error code. The limits are the chapter's
defaults (FED-072).

Statements are signed with :func:`tokenfed.federation.sign_statement` (and, for the one
statement the profile forbids, the raw JWS layer) with Ed25519 keys derived from fixed seeds
(SHA-256 of ``tokenfed resolution vectors/`` + the entity id), so every run writes the same file.
Each invalid vector breaks one thing, so its expected outcome follows from how it was built.

Run: python spec/tools/make_resolution_vectors.py [--check]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tokenfed import _jws
from tokenfed.federation import sign_statement
from tokenfed.keys import KeyValidity, PrivateKey

SPEC = Path(__file__).resolve().parent.parent
OUT = SPEC / "vectors" / "resolution.json"

NOW = 1782864000  # 2026-07-01T00:00:00Z
IAT = NOW - 3600
EXP = IAT + 86400
WELL_KNOWN = "/.well-known/openid-federation"
SEED_PREFIX = b"tokenfed resolution vectors/"
PROVIDER = "tokenfed_provider"

A = "https://anchor.a.example"
I_A = "https://org.a.example"
L_A = "https://leaf.a.example"
B = "https://anchor.alliance-b.example"
I_B = "https://org.alliance-b.example"
L_B = "https://llm.alliance-b.example"


def key(entity_id: str) -> PrivateKey:
    seed = hashlib.sha256(SEED_PREFIX + entity_id.encode("ascii")).digest()
    return PrivateKey(Ed25519PrivateKey.from_private_bytes(seed), "EdDSA")


def jwks(entity_id: str) -> dict[str, Any]:
    return {"keys": [key(entity_id).public_key().to_jwk(with_validity=False)]}


class Federation:
    """The entities of one vector and what their servers answer."""

    def __init__(self) -> None:
        self.entities: dict[str, dict[str, Any]] = {}

    def _entity(self, entity_id: str) -> dict[str, Any]:
        return self.entities.setdefault(entity_id, {"configuration": None, "subordinates": {}})

    def authority(self, entity_id: str, hints: list[str] | None = None) -> None:
        metadata = {
            "federation_entity": {
                "federation_fetch_endpoint": entity_id + "/fetch",
                "federation_list_endpoint": entity_id + "/list",
                "federation_historical_keys_endpoint": entity_id + "/historical-keys",
            }
        }
        self._configure(entity_id, metadata, hints)

    def provider(self, entity_id: str, hints: list[str]) -> None:
        receipt_key = key(entity_id + "#receipts").public_key(KeyValidity(nbf=IAT - 86400))
        versions = ["1.0"]
        metadata = {
            PROVIDER: {
                "tokenfed_versions": versions,
                "receipt_jwks": {"keys": [receipt_key.to_jwk()]},
            }
        }
        self._configure(entity_id, metadata, hints)

    def _configure(self, entity_id: str, metadata: dict[str, Any], hints: list[str] | None) -> None:
        claims: dict[str, Any] = {
            "iss": entity_id,
            "sub": entity_id,
            "iat": IAT,
            "exp": EXP,
            "jwks": jwks(entity_id),
            "metadata": metadata,
        }
        if hints:
            claims["authority_hints"] = hints
        entity = self._entity(entity_id)
        entity["claims"] = claims
        entity["configuration"] = sign_statement(claims, key(entity_id))

    def subordinate(self, iss: str, sub: str, *, recognition: str | None = None) -> None:
        claims: dict[str, Any] = {
            "iss": iss,
            "sub": sub,
            "iat": IAT,
            "exp": EXP,
            "jwks": jwks(sub),
            "source_endpoint": iss + "/fetch",
        }
        if recognition is not None:
            claims["tokenfed_recognition"] = True
            claims["constraints"] = {
                "max_path_length": 2,
                "naming_constraints": {"permitted": [recognition]},
                "allowed_entity_types": [PROVIDER],
            }
        self._entity(iss)["subordinates"][sub] = sign_statement(claims, key(iss))

    def hostile(self, entity_id: str, path: str, behaviour: dict[str, Any]) -> None:
        self._entity(entity_id).setdefault("hostile", {})[path] = behaviour

    def served(self) -> dict[str, Any]:
        return {
            entity_id: {k: v for k, v in entity.items() if k != "claims"}
            for entity_id, entity in self.entities.items()
        }


def three_levels() -> Federation:
    fed = Federation()
    fed.authority(A)
    fed.authority(I_A, [A])
    fed.provider(L_A, [I_A])
    fed.subordinate(A, I_A)
    fed.subordinate(I_A, L_A)
    return fed


def cross_alliance() -> Federation:
    fed = Federation()
    fed.authority(A)
    fed.authority(B, [A])
    fed.authority(I_B, [B])
    fed.provider(L_B, [I_B])
    fed.subordinate(A, B, recognition=".alliance-b.example")
    fed.subordinate(B, I_B)
    fed.subordinate(I_B, L_B)
    return fed


def vector(
    vector_id: str,
    description: str,
    requirements: list[str],
    fed: Federation,
    subject: str,
    expected: dict[str, Any],
    anchors: tuple[str, ...] = (A,),
) -> dict[str, Any]:
    return {
        "id": vector_id,
        "description": description,
        "requirements": requirements,
        "input": {
            "now": NOW,
            "anchors": [{"entity_id": anchor, "jwks": jwks(anchor)} for anchor in anchors],
            "subject": subject,
            "entity_type": PROVIDER,
            "entities": fed.served(),
        },
        "expected": expected,
    }


def chain(*path: str, alternatives: int = 0) -> dict[str, Any]:
    return {"trust_anchor": path[-1], "path": list(path), "exp": EXP, "alternatives": alternatives}


def build() -> dict[str, Any]:
    vectors = []

    vectors.append(
        vector(
            "valid-leaf-intermediate-anchor",
            "leaf <- intermediate <- anchor: collected bottom-up through authority_hints",
            ["FED-070"],
            three_levels(),
            L_A,
            chain(L_A, I_A, A),
        )
    )
    vectors.append(
        vector(
            "valid-cross-alliance",
            "L_B <- I_B <- B <- A: A recognises B, B lists A; a verifier pinned to A",
            ["FED-070", "FED-062"],
            cross_alliance(),
            L_B,
            chain(L_B, I_B, B, A),
        )
    )
    fed = cross_alliance()
    fed.hostile(A, WELL_KNOWN, {"status": 500})
    fed.hostile(A, "/fetch", {"status": 500})
    vectors.append(
        vector(
            "valid-stop-at-first-anchor",
            "pinned to A and B: the path stops at B, the first anchor reached, and never goes "
            "above it (A's endpoints fail if asked)",
            ["FED-070"],
            fed,
            L_B,
            chain(L_B, I_B, B),
            anchors=(A, B),
        )
    )
    fed = Federation()
    fed.authority(A)
    fed.authority("https://one.a.example", [A])
    fed.authority("https://two.a.example", [A])
    fed.provider(L_A, ["https://two.a.example", "https://one.a.example"])
    for inter in ("https://one.a.example", "https://two.a.example"):
        fed.subordinate(A, inter)
        fed.subordinate(inter, L_A)
    vectors.append(
        vector(
            "valid-two-paths",
            "two valid paths of equal length and expiry: the smaller path in code-point order is "
            "chosen and the other counted",
            ["FED-071"],
            fed,
            L_A,
            chain(L_A, "https://one.a.example", A, alternatives=1),
        )
    )
    fed = Federation()
    fed.authority(A)
    fed.authority("https://gone.a.example", [A])
    fed.authority("https://good.a.example", [A])
    fed.provider(L_A, ["https://gone.a.example", "https://good.a.example"])
    fed.subordinate(A, "https://gone.a.example")
    fed.subordinate(A, "https://good.a.example")
    fed.subordinate("https://good.a.example", L_A)
    vectors.append(
        vector(
            "valid-other-path-after-404",
            "one superior's fetch endpoint answers 404 for the leaf: that path is dropped, the "
            "other one is the result",
            ["FED-070", "FED-074"],
            fed,
            L_A,
            chain(L_A, "https://good.a.example", A),
        )
    )
    fed = cross_alliance()
    del fed.entities[A]["subordinates"][B]
    vectors.append(
        vector(
            "recognition-withdrawn",
            "A no longer serves its statement about B (404): no path remains",
            ["FED-062", "FED-070"],
            fed,
            L_B,
            {"error": "no_trust_path"},
        )
    )
    fed = cross_alliance()
    fed.authority(I_A, [A])
    fed.provider(L_A, [I_A])
    fed.subordinate(A, I_A)
    fed.subordinate(I_A, L_A)
    vectors.append(
        vector(
            "recognition-backwards",
            "A recognises B; a verifier pinned to B resolves A's leaf: A names no superior, so "
            "no path reaches B",
            ["FED-062"],
            fed,
            L_A,
            {"error": "no_trust_path"},
            anchors=(B,),
        )
    )
    fed = Federation()
    fed.authority(A)
    fed.authority("https://x.a.example", ["https://y.a.example"])
    fed.authority("https://y.a.example", ["https://x.a.example"])
    fed.provider(L_A, ["https://x.a.example"])
    fed.subordinate("https://x.a.example", L_A)
    fed.subordinate("https://y.a.example", "https://x.a.example")
    fed.subordinate("https://x.a.example", "https://y.a.example")
    vectors.append(
        vector(
            "cycle",
            "X and Y name each other and no pinned anchor is reachable: the hint back into the "
            "path is skipped and the resolution ends",
            ["FED-070"],
            fed,
            L_A,
            {"error": "no_trust_path"},
        )
    )
    fed = Federation()
    fed.authority(A)
    tops = [f"https://top{i}.a.example" for i in range(8)]
    mids = [f"https://mid{i}.a.example" for i in range(8)]
    for top in tops:
        fed.authority(top)
    for mid in mids:
        fed.authority(mid, tops)
        for top in tops:
            fed.subordinate(top, mid)
    fed.provider(L_A, mids)
    for mid in mids:
        fed.subordinate(mid, L_A)
    vectors.append(
        vector(
            "fetch-budget",
            "eight superiors each naming eight more that lead nowhere: the search needs more "
            "than 32 fetches",
            ["FED-072"],
            fed,
            L_A,
            {"error": "resolution_limit"},
        )
    )
    fed = three_levels()
    fed.hostile(I_A, WELL_KNOWN, {"delay_s": 7})
    vectors.append(
        vector(
            "slow-superior",
            "the intermediate answers after 7 s, more than the 5 s a request may take",
            ["FED-072"],
            fed,
            L_A,
            {"error": "fetch_timeout"},
        )
    )
    fed = three_levels()
    fed.hostile(I_A, WELL_KNOWN, {"body_bytes": 65537})
    vectors.append(
        vector(
            "oversized-configuration",
            "the intermediate's configuration is 65537 bytes, one more than the cap",
            ["FED-072"],
            fed,
            L_A,
            {"error": "response_too_large"},
        )
    )
    fed = three_levels()
    fed.hostile(I_A, "/fetch", {"redirect": A + "/fetch"})
    vectors.append(
        vector(
            "redirect",
            "the intermediate's fetch endpoint answers 302: never followed",
            ["FED-073"],
            fed,
            L_A,
            {"error": "fetch_failed"},
        )
    )
    fed = three_levels()
    fed.hostile(I_A, WELL_KNOWN, {"content_type": "application/json"})
    vectors.append(
        vector(
            "wrong-media-type",
            "the intermediate's configuration comes as application/json",
            ["FED-074"],
            fed,
            L_A,
            {"error": "fetch_failed"},
        )
    )
    fed = three_levels()
    fed.hostile(I_A, "/fetch", {"status": 500})
    vectors.append(
        vector(
            "server-error",
            "the intermediate's fetch endpoint answers 500",
            ["FED-074"],
            fed,
            L_A,
            {"error": "fetch_failed"},
        )
    )
    fed = three_levels()
    claims = dict(fed.entities[L_A]["claims"])
    claims["authority_hints"] = [I_A] + [f"https://h{i}.a.example" for i in range(8)]
    fed.entities[L_A]["configuration"] = _jws.sign(claims, key(L_A), "entity-statement+jwt")
    vectors.append(
        vector(
            "nine-authority-hints",
            "the subject's configuration lists 9 authority_hints (signed with the raw JWS layer, "
            "as the profile forbids it)",
            ["FED-017", "FED-072"],
            fed,
            L_A,
            {"error": "invalid_statement"},
        )
    )
    return {
        "kind": "resolution",
        "spec_version": "1.0",
        "description": "Trust-chain resolution over HTTP: the servers of a small federation "
        "(entity configurations, fetch endpoints, hostile behaviours), the pinned anchors, the "
        "clock, the subject and entity type; the expected chain or error code.",
        "provenance": "Generated by spec/tools/make_resolution_vectors.py with the SDK's "
        "sign_statement and Ed25519 keys derived from fixed seeds (SHA-256 of 'tokenfed "
        "resolution vectors/' + entity id); each invalid vector breaks one thing. Served "
        "entities: configuration (or null: 404), subordinates by sub, and hostile[path] with one "
        "of delay_s, redirect, status, content_type, body_bytes for the well-known path or "
        "/fetch.",
        "vectors": vectors,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail if the file would change")
    args = parser.parse_args()
    text = json.dumps(build(), indent=1, ensure_ascii=False) + "\n"
    if args.check:
        current = OUT.read_text(encoding="utf-8") if OUT.exists() else ""
        if current != text:
            print(f"{OUT} is out of date; run {Path(__file__).name}", file=sys.stderr)
            return 1
        return 0
    OUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
