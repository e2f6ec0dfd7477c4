"""Generate spec/vectors/history.json: historical keys documents and archived trust chains
verified again at their time (spec/federation.md FED-150..FED-157).

A small federation (an anchor, an Intermediate, a provider) signs its statements at time ``T``
with the anchor key ``ta-old``; later the anchor signs only with ``ta-new`` and lists
``ta-old`` in its historical keys document. Keys come from fixed seeds and Ed25519 signatures
are deterministic, so the file is the same on every run. Every expectation is written here by
hand from the specification text; the generator stops if the SDK disagrees with one, and the
independent checker (interop/_history.py with interop/_federation.py) verifies every vector.

Vector operations (``input.op``):

- ``historical-keys``: a ``document`` and the issuer's current ``issuer_keys`` (JWK Set) ->
  ``{"iss", "iat", "keys": [{"kid", "exp", "reason"}]}`` (``reason`` null when not revoked)
- ``archived-chain``: ``chain`` (the application/trust-chain+json text), the ``anchor``
  ``{entity_id, jwks}`` as pinned now, its ``historical`` keys document (or null, verified
  with the pinned keys first), ``at`` and ``entity_type`` -> ``{"trust_anchor", "path",
  "exp"}``

Run: python spec/tools/make_history_vectors.py [--check]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tokenfed import _jws
from tokenfed.errors import TokenfedError
from tokenfed.federation import (
    HistoricalKeys,
    TrustAnchor,
    sign_historical_keys,
    sign_statement,
    verify_archived_chain,
)
from tokenfed.keys import KeySet, KeyValidity, PrivateKey

SPEC = Path(__file__).resolve().parent.parent
OUT = SPEC / "vectors" / "history.json"

T = 1_780_000_000
"""When the chain was used: its statements were issued at T - 60 and expire at T + 3600."""
DAY = 86400
LATER = T + 120 * DAY
"""When the anchor publishes its historical keys, after it rotated."""
TA = "https://anchor.alliance-a.example"
ORG = "https://org.alliance-a.example"
LEAF = "https://provider.alliance-a.example"


def key(name: str) -> PrivateKey:
    seed = hashlib.sha256(f"tokenfed history vector key {name}".encode()).digest()
    return PrivateKey(Ed25519PrivateKey.from_private_bytes(seed), "EdDSA")


def public(name: str, validity: KeyValidity | None = None) -> dict[str, Any]:
    return key(name).public_key(validity).to_jwk()


def jwks(*names: str) -> dict[str, Any]:
    return {"keys": [public(name) for name in names]}


def anchor_ec(signer: str = "ta-old") -> str:
    return sign_statement(
        {
            "iss": TA,
            "sub": TA,
            "iat": T - 60,
            "exp": T + 3600,
            "jwks": jwks(signer),
            "metadata": {
                "federation_entity": {
                    "federation_fetch_endpoint": TA + "/fetch",
                    "federation_list_endpoint": TA + "/list",
                    "federation_historical_keys_endpoint": TA + "/historical-keys",
                }
            },
        },
        key(signer),
    )


def subordinate(issuer: str, subject: str, subject_key: str, signer: str, **extra: Any) -> str:
    claims = {
        "iss": issuer,
        "sub": subject,
        "iat": T - 60,
        "exp": T + 3600,
        "jwks": jwks(subject_key),
        "source_endpoint": issuer + "/fetch",
        **extra,
    }
    return sign_statement(claims, key(signer))


def intermediate_ec() -> str:
    return sign_statement(
        {
            "iss": ORG,
            "sub": ORG,
            "iat": T - 60,
            "exp": T + 3600,
            "jwks": jwks("org"),
            "authority_hints": [TA],
            "metadata": {
                "federation_entity": {
                    "federation_fetch_endpoint": ORG + "/fetch",
                    "federation_list_endpoint": ORG + "/list",
                    "federation_historical_keys_endpoint": ORG + "/historical-keys",
                }
            },
        },
        key("org"),
    )


def leaf_ec(superior: str) -> str:
    return sign_statement(
        {
            "iss": LEAF,
            "sub": LEAF,
            "iat": T - 60,
            "exp": T + 3600,
            "jwks": jwks("leaf"),
            "authority_hints": [superior],
            "metadata": {
                "tokenfed_provider": {
                    "tokenfed_versions": ["1.0"],
                    "receipt_jwks": {
                        "keys": [public("leaf-receipts", KeyValidity(nbf=T - 30 * DAY))]
                    },
                }
            },
        },
        key("leaf"),
    )


def leaf_chain(signer: str = "ta-old") -> list[str]:
    """provider <- anchor, the anchor's statements signed with ``signer``."""
    return [leaf_ec(TA), subordinate(TA, LEAF, "leaf", signer), anchor_ec(signer)]


def org_chain() -> list[str]:
    """provider <- Intermediate <- anchor."""
    return [
        leaf_ec(ORG),
        subordinate(ORG, LEAF, "leaf", "org"),
        subordinate(TA, ORG, "org", "ta-old"),
        anchor_ec(),
    ]


def retired(name: str, exp: int, **members: Any) -> dict[str, Any]:
    return {**key(name).public_key().to_jwk(with_validity=False), "exp": exp, **members}


def history(*listed: Mapping[str, Any], signer: str = "ta-new", iss: str = TA) -> str:
    return sign_historical_keys(iss, list(listed), key(signer), iat=LATER)


def raw_history(claims: Mapping[str, Any], signer: str = "ta-new", typ: str = "jwk-set+jwt") -> str:
    """A document signed without the signer's checks (for documents that break FED-150)."""
    return _jws.sign(claims, key(signer), typ)


OLD_RETIRED = retired("ta-old", T + 7 * DAY)
CASES: list[dict[str, Any]] = []


def case(vid: str, description: str, rids: list[str], given: dict[str, Any], expected: Any) -> None:
    CASES.append(
        {
            "id": vid,
            "description": description,
            "requirements": rids,
            "input": given,
            "expected": expected,
        }
    )


# --------------------------------------------------------------------------- the document


def document_case(
    vid: str,
    description: str,
    rids: list[str],
    document: str,
    expected: Any,
    signer: str = "ta-new",
) -> None:
    case(
        vid,
        description,
        rids,
        {"op": "historical-keys", "document": document, "issuer_keys": jwks(signer)},
        expected,
    )


def listed(name: str, exp: int, reason: str | None) -> dict[str, Any]:
    return {"kid": key(name).kid, "exp": exp, "reason": reason}


document_case(
    "document-valid",
    "two retired keys, one superseded, one merely expired, verified with the current key",
    ["FED-150", "FED-151"],
    history(
        retired("ta-old", T + 7 * DAY, revoked={"revoked_at": T + DAY, "reason": "superseded"}),
        retired("ta-older", T - DAY, nbf=T - 400 * DAY, iat=T - 400 * DAY),
    ),
    {
        "iss": TA,
        "iat": LATER,
        "keys": [listed("ta-old", T + 7 * DAY, "superseded"), listed("ta-older", T - DAY, None)],
    },
)
document_case(
    "document-revoked-without-reason",
    "a revocation without a reason is unspecified",
    ["FED-150"],
    history(retired("ta-old", T + 7 * DAY, revoked={"revoked_at": T + DAY})),
    {"iss": TA, "iat": LATER, "keys": [listed("ta-old", T + 7 * DAY, "unspecified")]},
)
document_case(
    "document-empty",
    "an anchor that retired no key lists none",
    ["FED-150"],
    history(),
    {"iss": TA, "iat": LATER, "keys": []},
)
document_case(
    "document-wrong-typ",
    "the header typ must be jwk-set+jwt",
    ["FED-150"],
    raw_history({"iss": TA, "iat": LATER, "keys": [OLD_RETIRED]}, typ="jwt"),
    {"error": "unsupported_typ"},
)
document_case(
    "document-not-jws",
    "not a JWS compact serialization",
    ["FED-150"],
    "not.a-jws",
    {"error": "malformed"},
)
for vid, claims, why in (
    ("document-no-iss", {"iat": LATER, "keys": [OLD_RETIRED]}, "iss is missing"),
    ("document-iss-trailing-slash", {"iss": TA + "/", "iat": LATER, "keys": []}, "iss ends in /"),
    ("document-iat-string", {"iss": TA, "iat": str(LATER), "keys": []}, "iat is a string"),
    (
        "document-keys-object",
        {"iss": TA, "iat": LATER, "keys": {"keys": []}},
        "keys is not an array",
    ),
    ("document-key-not-object", {"iss": TA, "iat": LATER, "keys": ["ta-old"]}, "a key is a string"),
):
    document_case(vid, why, ["FED-150"], raw_history(claims), {"error": "schema_violation"})
without_exp = {k: v for k, v in OLD_RETIRED.items() if k != "exp"}
without_kid = {k: v for k, v in OLD_RETIRED.items() if k != "kid"}
for vid, jwk_list, why in (
    ("document-key-without-exp", [without_exp], "a key without exp"),
    ("document-key-without-kid", [without_kid], "a key without kid"),
    ("document-key-private", [{**key("ta-old").to_jwk(), "exp": T}], "a private key"),
    (
        "document-key-kid-not-thumbprint",
        [{**OLD_RETIRED, "kid": key("ta-new").kid}],
        "a kid that is not the key's thumbprint",
    ),
    ("document-key-twice", [OLD_RETIRED, {**OLD_RETIRED, "exp": T}], "the same kid twice"),
    (
        "document-key-reason-unknown",
        [{**OLD_RETIRED, "revoked": {"revoked_at": T, "reason": "lost"}}],
        "a reason outside the three values",
    ),
    (
        "document-key-revoked-without-time",
        [{**OLD_RETIRED, "revoked": {"reason": "superseded"}}],
        "revoked without revoked_at",
    ),
    ("document-key-nbf-string", [{**OLD_RETIRED, "nbf": "T"}], "nbf is not a NumericDate"),
):
    document_case(
        vid,
        why,
        ["FED-150"],
        raw_history({"iss": TA, "iat": LATER, "keys": jwk_list}),
        {"error": "invalid_key"},
    )
document_case(
    "document-unknown-signer",
    "signed with a key that is not among the issuer's current keys",
    ["FED-151"],
    history(OLD_RETIRED, signer="attacker"),
    {"error": "unknown_key"},
    signer="ta-new",
)
_good = history(OLD_RETIRED)
_other = history(retired("ta-older", T))
document_case(
    "document-bad-signature",
    "the signature of another document under the same key",
    ["FED-151"],
    _good.rsplit(".", 1)[0] + "." + _other.rsplit(".", 1)[1],
    {"error": "invalid_signature"},
)

# --------------------------------------------------------------------------- archived chains

ROTATED = {"entity_id": TA, "jwks": jwks("ta-new")}


def chain_case(
    vid: str,
    description: str,
    rids: list[str],
    expected: Any,
    *,
    chain: list[str] | str | None = None,
    anchor: dict[str, Any] | None = None,
    historical: str | None = None,
    at: int = T,
    entity_type: str | None = "tokenfed_provider",
) -> None:
    text = chain if isinstance(chain, str) else json.dumps(chain or leaf_chain())
    case(
        vid,
        description,
        rids,
        {
            "op": "archived-chain",
            "chain": text,
            "anchor": anchor or ROTATED,
            "historical": historical,
            "at": at,
            "entity_type": entity_type,
        },
        expected,
    )


LEAF_RESULT = {"trust_anchor": TA, "path": [LEAF, TA], "exp": T + 3600}

chain_case(
    "archived-after-rotation",
    "H1: the anchor rotated from ta-old to ta-new; its historical keys let the archived chain "
    "verify at its time with the result it had then",
    ["FED-153", "FED-154", "FED-156", "FED-157"],
    LEAF_RESULT,
    historical=history(OLD_RETIRED),
)
chain_case(
    "archived-with-intermediate",
    "H1 with an Intermediate: only the anchor's statements need a historical key",
    ["FED-154", "FED-157"],
    {"trust_anchor": TA, "path": [LEAF, ORG, TA], "exp": T + 3600},
    chain=org_chain(),
    historical=history(OLD_RETIRED),
)
chain_case(
    "archived-old-key-still-pinned",
    "a verifier that still pins both keys needs no historical keys",
    ["FED-154", "FED-157"],
    LEAF_RESULT,
    anchor={"entity_id": TA, "jwks": jwks("ta-old", "ta-new")},
)
chain_case(
    "archived-without-historical-keys",
    "the rotated-out key is neither pinned nor listed: unknown_key",
    ["FED-154", "FED-157"],
    {"error": "unknown_key"},
)
chain_case(
    "archived-compromised",
    "H2: the key was revoked as compromised after the chain was used: it vouches for nothing",
    ["FED-155"],
    {"error": "key_not_valid"},
    historical=history(
        retired("ta-old", T + 7 * DAY, revoked={"revoked_at": T + DAY, "reason": "compromised"})
    ),
)
chain_case(
    "archived-compromised-still-pinned",
    "H2: the listing governs a kid the verifier still pins",
    ["FED-154", "FED-155"],
    {"error": "key_not_valid"},
    anchor={"entity_id": TA, "jwks": jwks("ta-old", "ta-new")},
    historical=history(
        retired("ta-old", T + 7 * DAY, revoked={"revoked_at": T + DAY, "reason": "compromised"})
    ),
)
chain_case(
    "archived-superseded-after",
    "superseded at the statements' iat + 60: they were issued before, the chain verifies",
    ["FED-156", "FED-157"],
    LEAF_RESULT,
    historical=history(
        retired("ta-old", T + 7 * DAY, revoked={"revoked_at": T, "reason": "superseded"})
    ),
)
chain_case(
    "archived-superseded-at-iat",
    "superseded exactly at the statements' iat: refused",
    ["FED-156"],
    {"error": "key_not_valid"},
    historical=history(
        retired("ta-old", T + 7 * DAY, revoked={"revoked_at": T - 60, "reason": "superseded"})
    ),
)
chain_case(
    "archived-unspecified-before",
    "revoked without a reason before the statements were issued: refused",
    ["FED-156"],
    {"error": "key_not_valid"},
    historical=history(retired("ta-old", T + 7 * DAY, revoked={"revoked_at": T - 3600})),
)
chain_case(
    "archived-after-key-exp",
    "H3: statements issued at the retired key's exp: refused",
    ["FED-156"],
    {"error": "key_not_valid"},
    historical=history(retired("ta-old", T - 60)),
)
chain_case(
    "archived-just-before-key-exp",
    "statements issued one second before the retired key's exp: accepted",
    ["FED-156", "FED-157"],
    LEAF_RESULT,
    historical=history(retired("ta-old", T - 59)),
)
chain_case(
    "archived-before-key-nbf",
    "statements issued before the retired key's nbf: refused",
    ["FED-156"],
    {"error": "key_not_valid"},
    historical=history(retired("ta-old", T + 7 * DAY, nbf=T)),
)
chain_case(
    "archived-at-after-expiry",
    "the chain rules run at `at`: at a time after the statements expired",
    ["FED-157"],
    {"error": "statement_expired"},
    historical=history(OLD_RETIRED),
    at=T + 3600 + 60,
)
chain_case(
    "archived-at-before-issue",
    "the chain rules run at `at`: at a time before the statements were issued",
    ["FED-157"],
    {"error": "statement_not_yet_valid"},
    historical=history(OLD_RETIRED),
    at=T - 60 - 61,
)
_forged = subordinate(TA, LEAF, "leaf", "attacker")
_chain = leaf_chain()
chain_case(
    "archived-forged-anchor-statement",
    "the anchor's statement re-signed by another key under ta-old's kid",
    ["FED-157"],
    {"error": "invalid_signature"},
    chain=[_chain[0], _chain[1].split(".")[0] + "." + _forged.split(".", 1)[1], _chain[2]],
    historical=history(OLD_RETIRED),
)
chain_case(
    "archived-history-signed-by-old-key",
    "historical keys signed with the retired key, not a pinned one",
    ["FED-151"],
    {"error": "unknown_key"},
    historical=history(OLD_RETIRED, signer="ta-old"),
)
chain_case(
    "archived-not-json",
    "the archived chain is not JSON",
    ["FED-153"],
    {"error": "malformed"},
    chain="[not json",
    historical=history(OLD_RETIRED),
)
chain_case(
    "archived-empty-array",
    "an empty array is not a chain",
    ["FED-153"],
    {"error": "malformed"},
    chain="[]",
    historical=history(OLD_RETIRED),
)
chain_case(
    "archived-not-strings",
    "an array of objects is not a chain",
    ["FED-153"],
    {"error": "malformed"},
    chain='[{"iss": "https://anchor.alliance-a.example"}]',
    historical=history(OLD_RETIRED),
)


# --------------------------------------------------------------------------- the SDK agrees


def run_sdk(given: dict[str, Any]) -> dict[str, Any]:
    try:
        if given["op"] == "historical-keys":
            document = HistoricalKeys.decode(given["document"]).verify_with(
                KeySet.from_jwks(given["issuer_keys"])
            )
            return {
                "iss": document.iss,
                "iat": document.iat,
                "keys": [{"kid": k.kid, "exp": k.exp, "reason": k.reason} for k in document.keys],
            }
        anchor = TrustAnchor.from_jwks(given["anchor"]["entity_id"], given["anchor"]["jwks"])
        historical = None
        if given["historical"] is not None:
            historical = HistoricalKeys.decode(given["historical"]).verify_with(anchor.jwks)
        chain = verify_archived_chain(
            given["chain"], anchor, historical, at=given["at"], entity_type=given["entity_type"]
        )
        return {"trust_anchor": chain.trust_anchor, "path": list(chain.path), "exp": chain.exp}
    except TokenfedError as exc:
        return {"error": exc.code}


def build() -> dict[str, Any]:
    for vector in CASES:
        got = run_sdk(vector["input"])
        if json.dumps(got, sort_keys=True) != json.dumps(vector["expected"], sort_keys=True):
            raise SystemExit(f"{vector['id']}: the SDK gives {got}, expected {vector['expected']}")
    return {
        "kind": "history",
        "spec_version": "1.0",
        "description": (
            "Historical keys documents (FED-150, FED-151) and archived trust chains verified "
            "again at their time with the anchor's pinned and historical keys (FED-153..FED-157). "
            "input.op is historical-keys ({document, issuer_keys} -> {iss, iat, keys}) or "
            "archived-chain ({chain, anchor, historical, at, entity_type} -> {trust_anchor, "
            "path, exp}); or {error}."
        ),
        "provenance": (
            "Built by spec/tools/make_history_vectors.py from fixed-seed Ed25519 keys with "
            "expectations written by hand from the specification text and checked against the "
            "SDK; verified independently by interop/check_vectors.py (interop/_history.py)."
        ),
        "vectors": CASES,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if the file is not current")
    args = parser.parse_args()
    text = json.dumps(build(), indent=1, ensure_ascii=False) + "\n"
    if args.check:
        current = OUT.read_text(encoding="utf-8") if OUT.exists() else ""
        if current != text:
            print(f"{OUT} is not current: run {Path(__file__).name}", file=sys.stderr)
            return 1
        return 0
    OUT.write_text(text, encoding="utf-8")
    print(f"wrote {len(CASES)} vectors to {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
