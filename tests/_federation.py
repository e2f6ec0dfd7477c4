"""Builders for federation tests: deterministic keys and statements of a small federation.

Keys come from fixed seeds, so every statement is the same from run to run. The default world is
an anchor ``ta``, an intermediate ``org`` and a provider ``leaf``; a second alliance has anchor
``tb``, intermediate ``orgb`` and leaf ``leafb``.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tokenfed import _jws
from tokenfed.federation import STATEMENT_TYP, TrustAnchor
from tokenfed.keys import KeySet, KeyValidity, PrivateKey

NOW = 1_800_000_000
EXP = NOW + 3600

IDS = {
    "ta": "https://anchor.alliance-a.example",
    "org": "https://org.alliance-a.example/federation",
    "leaf": "https://provider.alliance-a.example",
    "op": "https://operator.alliance-a.example",
    "tb": "https://anchor.alliance-b.example",
    "orgb": "https://org.alliance-b.example",
    "leafb": "https://provider.alliance-b.example",
}


def key(name: str) -> PrivateKey:
    """The Ed25519 key derived from a fixed seed for ``name``."""
    seed = hashlib.sha256(f"tokenfed federation test key {name}".encode()).digest()
    return PrivateKey(Ed25519PrivateKey.from_private_bytes(seed), "EdDSA")


def jwks(*names: str, validity: KeyValidity | None = None) -> dict[str, Any]:
    """The JWK Set of the public halves of the named keys."""
    keys = []
    for name in names:
        jwk = key(name).public_key(validity).to_jwk()
        keys.append(jwk)
    return {"keys": keys}


def anchor(name: str = "ta", *keys: str) -> TrustAnchor:
    """The pinned anchor ``name`` with the keys ``keys`` (default: its own federation key)."""
    return TrustAnchor(IDS[name], KeySet.from_jwks(jwks(*(keys or (name,)))))


def federation_metadata(name: str) -> dict[str, Any]:
    base = IDS[name]
    return {
        "federation_entity": {
            "federation_fetch_endpoint": base + "/fetch",
            "federation_list_endpoint": base + "/list",
            "federation_historical_keys_endpoint": base + "/historical-keys",
            "organization_name": name,
        }
    }


def provider_metadata(name: str = "leaf") -> dict[str, Any]:
    return {
        "tokenfed_provider": {
            "tokenfed_versions": ["1.0"],
            "receipt_jwks": jwks(name + "-receipts", validity=KeyValidity(nbf=NOW - 86400)),
            "rate_card_uri": IDS[name] + "/rate-card",
            "metering_endpoint": IDS[name] + "/meter",
        }
    }


def operator_metadata(name: str = "op") -> dict[str, Any]:
    return {
        "tokenfed_operator": {
            "tokenfed_versions": ["1.0"],
            "entitlement_jwks": jwks(name + "-entitlements", validity=KeyValidity(nbf=NOW - 1)),
        }
    }


def sign(claims: Mapping[str, Any], signer: str, **header: Any) -> str:
    """Sign claims as an entity statement with the key ``signer`` WITHOUT the profile checks
    of ``sign_statement`` (so tests can build statements that break the profile). Extra header
    members are added to ``{alg, typ, kid}``."""
    private = key(signer)
    if not header:
        return _jws.sign(claims, private, STATEMENT_TYP)
    from tokenfed import _json
    from tokenfed._b64 import b64encode

    full = {"alg": private.alg, "typ": STATEMENT_TYP, "kid": private.kid, **header}
    full = {name: value for name, value in full.items() if value is not None}
    signing_input = (
        b64encode(_json.canonical_bytes(full)) + "." + b64encode(_json.canonical_bytes(claims))
    ).encode("ascii")
    return signing_input.decode("ascii") + "." + b64encode(private.sign(signing_input))


def ec_claims(
    name: str,
    *,
    hints: tuple[str, ...] | None = None,
    metadata: dict[str, Any] | None = None,
    iat: int = NOW - 60,
    exp: int = EXP,
    keys: tuple[str, ...] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    claims: dict[str, Any] = {
        "iss": IDS[name],
        "sub": IDS[name],
        "iat": iat,
        "exp": exp,
        "jwks": jwks(*(keys or (name,))),
        "metadata": metadata if metadata is not None else federation_metadata(name),
    }
    if hints:
        claims["authority_hints"] = [IDS[h] for h in hints]
    claims.update(extra)
    return claims


def ec(name: str, *, signer: str | None = None, **kwargs: Any) -> str:
    """The entity configuration of ``name``, signed with its own key unless ``signer``."""
    return sign(ec_claims(name, **kwargs), signer or name)


def ss_claims(
    issuer: str,
    subject: str,
    *,
    iat: int = NOW - 60,
    exp: int = EXP,
    keys: tuple[str, ...] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    claims: dict[str, Any] = {
        "iss": IDS[issuer],
        "sub": IDS[subject],
        "iat": iat,
        "exp": exp,
        "jwks": jwks(*(keys or (subject,))),
        "source_endpoint": IDS[issuer] + "/fetch",
    }
    claims.update(extra)
    return claims


def ss(issuer: str, subject: str, *, signer: str | None = None, **kwargs: Any) -> str:
    """The subordinate statement of ``issuer`` about ``subject``."""
    return sign(ss_claims(issuer, subject, **kwargs), signer or issuer)


def leaf_chain(**leaf: Any) -> list[str]:
    """leaf <- ta: the provider directly under the anchor."""
    return [
        ec("leaf", hints=("ta",), metadata=provider_metadata(), **leaf),
        ss("ta", "leaf"),
        ec("ta"),
    ]


def org_chain() -> list[str]:
    """leaf <- org <- ta."""
    return [
        ec("leaf", hints=("org",), metadata=provider_metadata()),
        ss("org", "leaf"),
        ss("ta", "org"),
        ec("ta"),
    ]


RECOGNITION = {
    "tokenfed_recognition": True,
    "constraints": {
        "max_path_length": 2,
        "naming_constraints": {"permitted": [".alliance-b.example"]},
        "allowed_entity_types": ["tokenfed_provider"],
    },
}


def cross_chain(**recognition: Any) -> list[str]:
    """leafb <- orgb <- tb <- ta: B's provider, resolved under A, which recognises B."""
    claims = {**RECOGNITION, **recognition}
    return [
        ec("leafb", hints=("orgb",), metadata=provider_metadata("leafb")),
        ss("orgb", "leafb"),
        ss("tb", "orgb"),
        ss("ta", "tb", **claims),
        ec("ta"),
    ]


def checker_failures(kind: str, spec: Path) -> tuple[set[str], str]:
    """Run the independent checker (interop/) on one kind of vectors of the spec folder
    ``spec`` (an altered copy); it must exit 1. Returns the ids of the vectors it failed and
    its whole output."""
    checker = Path(__file__).resolve().parent.parent / "interop" / "check_vectors.py"
    result = subprocess.run(
        [sys.executable, str(checker), kind],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "TOKENFED_SPEC_DIR": str(spec)},
    )
    assert result.returncode == 1, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    failed = {line.split()[2].rstrip(":") for line in lines if line.startswith("FAIL")}
    return failed, result.stdout
