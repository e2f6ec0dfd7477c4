"""Generate spec/vectors/entitlements.json: entitlement verification, reserve-then-settle
sequences and the operator's receipt check (spec/entitlements.md).

Every entitlement is signed with the published test keys (spec/test-keys.json, Ed25519, so the
output is deterministic); tokens that break a JOSE or schema rule are built by hand and signed
correctly over what they carry. Expected results and codes are what the SDK reports
(tokenfed.entitlements, run by :func:`run` below, which tests/test_entitlements.py also uses);
every vector is checked by the independent checker interop/_entitlements.py, which shares no
code with the SDK.

Three operations:

* ``verify``: ``{token, trust, audience, now}`` -> the entitlement's members and content
  digest, or the code of ENT-020;
* ``reservations``: ``{trust, audience, hold, entitlements, steps}``; each step reserves (the
  entitlement verified at the step's ``now``, then ENT-040), settles, releases or expires
  reservations. Every step but the last succeeds; the expected value is the error of the last
  step, or each entitlement's settled and outstanding amounts after it;
* ``receipt``: ``{operator, trust, issued, receipt}`` -> the operator's check of ENT-052 on the
  claims of a verified receipt.

Run: python spec/tools/make_entitlement_vectors.py [--check]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from decimal import Decimal
from pathlib import Path
from typing import Any

from tokenfed import jws
from tokenfed._b64 import b64encode
from tokenfed._decimal import format_decimal
from tokenfed.entitlements import (
    TYP_ENTITLEMENT,
    Entitlement,
    IssuedEntitlements,
    Reservations,
)
from tokenfed.errors import TokenfedError
from tokenfed.keys import KeyValidity, load_private_jwk
from tokenfed.trust import TrustStore

SPEC = Path(__file__).resolve().parent.parent
OUT = SPEC / "vectors" / "entitlements.json"

T0 = 1767225600  # 2026-01-01T00:00:00Z
OPERATOR = "https://home-operator.example"
OTHER_OPERATOR = "https://operator-c.example"
PROVIDER = "https://provider-b.example"
OTHER_PROVIDER = "https://provider-a.example"
SUB = "kq2R0cXHf1b4Zs9Jw8mUJw"
ROTATED_AT = T0 + 7200  # the operator's second key signs until then


def _keys() -> dict[str, Any]:
    data = json.loads((SPEC / "test-keys.json").read_text(encoding="utf-8"))
    return {name: load_private_jwk(jwk) for name, jwk in data["keys"].items()}


KEYS = _keys()


def trust_store() -> dict[str, Any]:
    """The provider's trust store: the operators' entitlement keys with validity windows."""

    def jwk(name: str, validity: KeyValidity) -> dict[str, Any]:
        return KEYS[name].public_key(validity).to_jwk()

    return {
        "ver": "1.0",
        "issuers": {
            OPERATOR: {
                "jwks": {
                    "keys": [
                        jwk("home-operator", KeyValidity(nbf=T0 - 86400)),
                        jwk("provider-a-rotated", KeyValidity(nbf=T0 - 86400, exp=ROTATED_AT)),
                    ]
                }
            },
            OTHER_OPERATOR: {"jwks": {"keys": [jwk("provider-a", KeyValidity(nbf=T0 - 86400))]}},
        },
    }


def claims(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "iss": OPERATOR,
        "sub": SUB,
        "aud": PROVIDER,
        "jti": "ent-0001",
        "iat": T0,
        "exp": T0 + 3600,
        "ver": "1.0",
        "scope": ["qwen-max", "deepseek-r1"],
        "limit": "10",
    }
    for name, value in changes.items():
        if value is _DROP:
            body.pop(name, None)
        else:
            body[name] = value
    return body


_DROP = object()


def sign(body: dict[str, Any], key: str = "home-operator", typ: str = TYP_ENTITLEMENT) -> str:
    return jws.sign(body, KEYS[key], typ)


def raw_token(
    header: dict[str, Any] | str, payload: bytes | str, key: str = "home-operator"
) -> str:
    """A token with a hand-made header or payload, signed correctly over what it carries."""
    header_text = header if isinstance(header, str) else json.dumps(header, separators=(",", ":"))
    payload_bytes = payload.encode() if isinstance(payload, str) else payload
    signing_input = b64encode(header_text.encode()) + "." + b64encode(payload_bytes)
    return signing_input + "." + b64encode(KEYS[key].sign(signing_input.encode()))


def header(key: str = "home-operator", **changes: Any) -> dict[str, Any]:
    base = {"alg": KEYS[key].alg, "typ": TYP_ENTITLEMENT, "kid": KEYS[key].kid}
    base.update(changes)
    return base


def canonical(body: dict[str, Any]) -> str:
    return json.dumps(body, separators=(",", ":"), sort_keys=True, ensure_ascii=False)


# --------------------------------------------------------------------------- the SDK's answer


def _outcome(error: TokenfedError) -> dict[str, Any]:
    return {"error": error.code}


def _describe(entitlement: Entitlement) -> dict[str, Any]:
    return {
        "valid": True,
        "jti": entitlement.jti,
        "sub": entitlement.sub,
        "scope": list(entitlement.scope),
        "limit": format_decimal(entitlement.limit),
        "exp": entitlement.exp,
        "digest": entitlement.digest,
    }


def run(given: dict[str, Any], fixtures: dict[str, Any]) -> dict[str, Any]:
    """What the SDK answers for one vector's input."""
    try:
        if given["op"] == "verify":
            trust = TrustStore.from_json(fixtures["trust"][given["trust"]])
            entitlement = Entitlement.from_jws(
                given["token"], trust, audience=given["audience"], now=given["now"]
            )
            return _describe(entitlement)
        if given["op"] == "reservations":
            return _run_reservations(given, fixtures)
        if given["op"] == "receipt":
            return _run_receipt(given, fixtures)
    except TokenfedError as exc:
        return _outcome(exc)
    raise ValueError(f"unknown op {given['op']!r}")


def _run_reservations(given: dict[str, Any], fixtures: dict[str, Any]) -> dict[str, Any]:
    trust = TrustStore.from_json(fixtures["trust"][given["trust"]])
    with tempfile.TemporaryDirectory() as folder:
        store = Reservations(Path(folder) / "reservations.db", hold=given["hold"])
        try:
            made: dict[int, str] = {}
            seen: dict[int, Entitlement] = {}
            last = 0
            for index, step in enumerate(given["steps"]):
                last = step["now"]
                if step["do"] == "reserve":
                    entitlement = Entitlement.from_jws(
                        given["entitlements"][step["entitlement"]],
                        trust,
                        audience=given["audience"],
                        now=step["now"],
                    )
                    held = store.reserve(
                        entitlement, step["model"], Decimal(step["amount"]), now=step["now"]
                    )
                    made[index] = held.id
                    seen[step["entitlement"]] = entitlement
                elif step["do"] == "settle":
                    store.settle(
                        made[step["reservation"]], Decimal(step["actual"]), now=step["now"]
                    )
                elif step["do"] == "release":
                    store.release(made[step["reservation"]], now=step["now"])
                elif step["do"] == "expire":
                    store.expire_stale(now=step["now"])
                else:
                    raise ValueError(f"unknown step {step['do']!r}")
            result = []
            for index in range(len(given["entitlements"])):
                if index not in seen:
                    result.append(None)
                    continue
                state = store.consumption(seen[index], now=last)
                result.append(
                    {
                        "settled": format_decimal(state.settled),
                        "outstanding": format_decimal(state.outstanding),
                    }
                )
            return {"consumption": result}
        finally:
            store.close()


def _run_receipt(given: dict[str, Any], fixtures: dict[str, Any]) -> dict[str, Any]:
    trust = TrustStore.from_json(fixtures["trust"][given["trust"]])
    issued = IssuedEntitlements(given["operator"])
    for token in given["issued"]:
        issued.add(token, trust)
    found = issued.check_receipt(given["receipt"])
    return {"valid": True, "entitlement": None if found is None else found.jti}


# --------------------------------------------------------------------------- the vectors


def build() -> dict[str, Any]:
    fixtures = {"trust": {"default": trust_store()}}
    vectors: list[dict[str, Any]] = []

    def add(vid: str, description: str, requirements: list[str], given: dict[str, Any]) -> None:
        vectors.append(
            {
                "id": vid,
                "description": description,
                "requirements": requirements,
                "input": given,
                "expected": run(given, fixtures),
            }
        )

    def verify(
        vid: str,
        description: str,
        requirements: list[str],
        token: str,
        *,
        now: int = T0 + 60,
        audience: str = PROVIDER,
    ) -> None:
        given = {
            "op": "verify",
            "token": token,
            "trust": "default",
            "audience": audience,
            "now": now,
        }
        add(vid, description, ["ENT-020", *requirements], given)

    _verify_vectors(verify)
    _reservation_vectors(add)
    _receipt_vectors(add)
    for item in vectors:
        if item["id"].startswith("valid") and "error" in item["expected"]:
            raise AssertionError(f"{item['id']} should be valid: {item['expected']}")
    return {
        "$schema": "../schemas/vectors.schema.json",
        "kind": "entitlements",
        "spec_version": "1.0",
        "description": (
            "Entitlements: verification (ENT-020), reserve-then-settle sequences "
            "(ENT-030..ENT-044) and the operator's receipt check (ENT-052)."
        ),
        "provenance": (
            "Generated by spec/tools/make_entitlement_vectors.py with the tokenfed SDK and the "
            "published test keys (Ed25519, deterministic); checked by the independent checker "
            "interop/check_vectors.py (interop/_entitlements.py)."
        ),
        "fixtures": fixtures,
        "vectors": vectors,
    }


def _verify_vectors(verify: Any) -> None:
    base = claims()
    token = sign(base)
    verify("valid-basic", "A valid entitlement for two models.", ["ENT-001", "ENT-010"], token)
    verify(
        "valid-unknown-member",
        "An unknown member is ignored (CONV-005).",
        ["ENT-001"],
        sign(claims(note="first entitlement of the month")),
    )
    verify(
        "valid-second-key",
        "Signed with the operator's second key within that key's window.",
        ["ENT-010"],
        sign(claims(jti="ent-k2"), "provider-a-rotated"),
    )
    verify(
        "key-not-valid-after-rotation",
        "Signed with the second key at an iat at its exp: key_not_valid.",
        ["ENT-010"],
        sign(claims(jti="ent-k3", iat=ROTATED_AT, exp=ROTATED_AT + 600), "provider-a-rotated"),
        now=ROTATED_AT,
    )
    verify(
        "key-not-valid-before-nbf",
        "Signed at an iat before the key's nbf: key_not_valid.",
        ["ENT-010"],
        sign(claims(iat=T0 - 86401, exp=T0 - 86000)),
        now=T0 - 86401,
    )
    # Time (ENT-021): the edges of the 60 s skew.
    verify("valid-exp-plus-59", "now = exp + 59: still valid.", ["ENT-021"], token, now=T0 + 3659)
    verify(
        "expired-exp-plus-60",
        "now = exp + 60: entitlement_expired.",
        ["ENT-021"],
        token,
        now=T0 + 3660,
    )
    verify("valid-iat-minus-60", "now = iat - 60: valid.", ["ENT-021"], token, now=T0 - 60)
    verify(
        "not-yet-valid-iat-minus-61",
        "now = iat - 61: entitlement_not_yet_valid.",
        ["ENT-021"],
        token,
        now=T0 - 61,
    )
    verify(
        "wrong-audience",
        "Shown to another provider: wrong_audience.",
        [],
        token,
        audience=OTHER_PROVIDER,
    )
    verify(
        "order-time-before-audience",
        "Expired and shown to another provider: time is step 9, audience step 10.",
        [],
        token,
        now=T0 + 4000,
        audience=OTHER_PROVIDER,
    )
    verify(
        "order-schema-before-time",
        "A schema violation and expired: schema is step 8.",
        ["ENT-005"],
        sign(claims(scope=[])),
        now=T0 + 4000,
    )
    # Lifetime (ENT-004).
    verify(
        "valid-lifetime-24h",
        "exp - iat = 86400: the longest lifetime.",
        ["ENT-004"],
        sign(claims(exp=T0 + 86400)),
    )
    verify(
        "lifetime-over-24h",
        "exp - iat = 86401: schema_violation.",
        ["ENT-004"],
        sign(claims(exp=T0 + 86401)),
    )
    verify("exp-equals-iat", "exp = iat: schema_violation.", ["ENT-004"], sign(claims(exp=T0)))
    verify(
        "exp-before-iat", "exp before iat: schema_violation.", ["ENT-004"], sign(claims(exp=T0 - 1))
    )
    # Members (ENT-001, ENT-002, ENT-003).
    verify(
        "missing-iss",
        "No iss: unknown_key, since the key step (5) looks the key up by iss before the schema.",
        ["ENT-001", "ENT-010"],
        sign(claims(iss=_DROP)),
    )
    for member in ("sub", "aud", "jti", "iat", "exp", "ver", "scope", "limit"):
        verify(
            f"missing-{member}",
            f"No {member}: schema_violation.",
            ["ENT-001"],
            sign(claims(**{member: _DROP})),
        )
    verify(
        "iat-string", "iat is a string: schema_violation.", ["ENT-001"], sign(claims(iat=str(T0)))
    )
    verify(
        "sub-all-digits",
        "sub is all digits: schema_violation.",
        ["ENT-002"],
        sign(claims(sub="8613800000000000")),
    )
    verify(
        "sub-too-short",
        "sub of 15 characters: schema_violation.",
        ["ENT-002"],
        sign(claims(sub="abcdefghijklmno")),
    )
    verify(
        "aud-not-entity-id",
        "aud is http, not an entity id: schema_violation.",
        ["ENT-002"],
        sign(claims(aud="http://provider-b.example")),
    )
    verify(
        "jti-bad-character",
        "jti with a space: schema_violation.",
        ["ENT-003"],
        sign(claims(jti="ent 1")),
    )
    verify(
        "version-2",
        "ver 2.0: unsupported_version (step 7).",
        [],
        sign(claims(ver="2.0", scope=[])),
    )
    # Scope (ENT-005).
    verify("scope-empty", "scope []: schema_violation.", ["ENT-005"], sign(claims(scope=[])))
    verify(
        "scope-not-array",
        "scope a string: schema_violation.",
        ["ENT-005"],
        sign(claims(scope="qwen-max")),
    )
    verify(
        "scope-duplicate",
        "A model listed twice: schema_violation.",
        ["ENT-005"],
        sign(claims(scope=["qwen-max", "qwen-max"])),
    )
    verify(
        "valid-scope-case-differs",
        "Qwen-Max and qwen-max are two model ids: not duplicates.",
        ["ENT-005"],
        sign(claims(scope=["qwen-max", "Qwen-Max"])),
    )
    verify(
        "scope-wildcard",
        'The entry "*": schema_violation (no wildcard).',
        ["ENT-005"],
        sign(claims(scope=["*"])),
    )
    verify(
        "valid-scope-star-in-id",
        'A model id that contains "*" but is not "*" is an ordinary id.',
        ["ENT-005"],
        sign(claims(scope=["qwen-*"])),
    )
    verify(
        "scope-empty-id", 'The entry "": schema_violation.', ["ENT-005"], sign(claims(scope=[""]))
    )
    verify(
        "scope-id-not-string",
        "An entry that is a number: schema_violation.",
        ["ENT-005"],
        sign(claims(scope=[7])),
    )
    verify(
        "valid-scope-id-256-astral",
        "A model id of 256 code points outside the BMP (512 UTF-16 units): valid (CONV-007).",
        ["ENT-005"],
        sign(claims(scope=["\U0001f600" * 256])),
    )
    verify(
        "scope-id-257",
        "A model id of 257 characters: schema_violation.",
        ["ENT-005"],
        sign(claims(scope=["m" * 257])),
    )
    verify(
        "valid-scope-128",
        "128 model ids: the most a scope holds.",
        ["ENT-005"],
        sign(claims(scope=[f"model-{i}" for i in range(128)])),
    )
    verify(
        "scope-129",
        "129 model ids: schema_violation.",
        ["ENT-005"],
        sign(claims(scope=[f"model-{i}" for i in range(129)])),
    )
    # Limit (ENT-006).
    for vid, value, description in (
        ("limit-zero", "0", 'limit "0": invalid_amount (must be > 0).'),
        ("limit-negative", "-1", 'limit "-1": invalid_amount.'),
        ("limit-seven-places", "1.0000001", "7 fractional digits: invalid_amount."),
        ("limit-trailing-zero", "1.50", 'limit "1.50" is not canonical: invalid_amount.'),
        ("limit-exponent", "1e3", 'limit "1e3": invalid_amount.'),
    ):
        verify(vid, description, ["ENT-006"], sign(claims(limit=value)))
    verify(
        "limit-number",
        "limit a JSON number: schema_violation.",
        ["ENT-006"],
        sign(claims(limit=10)),
    )
    verify(
        "valid-limit-one-micro",
        'limit "0.000001": the smallest limit.',
        ["ENT-006"],
        sign(claims(limit="0.000001")),
    )
    verify(
        "valid-limit-max",
        'limit "9007199254.740991": the largest limit.',
        ["ENT-006"],
        sign(claims(limit="9007199254.740991")),
    )
    verify(
        "limit-over-max",
        'limit "9007199254.740992": schema_violation.',
        ["ENT-006"],
        sign(claims(limit="9007199254.740992")),
    )
    # JOSE steps 1 to 6.
    payload = canonical(base)
    verify("malformed-two-segments", "Two segments: malformed.", [], ".".join(token.split(".")[:2]))
    verify(
        "malformed-payload-not-json",
        "A payload that is not JSON: malformed.",
        [],
        raw_token(header(), "not json"),
    )
    verify(
        "malformed-duplicate-member",
        "A payload with iss twice: malformed (CONV-011).",
        [],
        raw_token(header(), payload.replace("{", '{"iss":"https://x.example",', 1)),
    )
    big = sign(claims(scope=[f"{'m' * 200}-{i}" for i in range(60)]))
    assert len(big) > 16384, len(big)
    verify("malformed-over-16384", "A token over 16384 bytes: malformed.", ["ENT-007"], big)
    verify(
        "typ-receipt",
        "typ tokenfed-receipt+jwt: unsupported_typ.",
        ["ENT-001"],
        sign(base, typ=jws.TYP_RECEIPT),
    )
    verify(
        "typ-media-prefix",
        "typ application/tokenfed-entitlement+jwt is the same type (CONV-043).",
        ["ENT-001"],
        raw_token(header(typ="application/" + TYP_ENTITLEMENT), payload),
    )
    verify(
        "alg-none",
        'alg "none": unsupported_alg.',
        [],
        raw_token(header(alg="none"), payload),
    )
    verify(
        "crit-present",
        "A crit header: unsupported_crit.",
        [],
        raw_token(header(crit=["exp"]), payload),
    )
    verify(
        "unknown-kid",
        "A kid the trust store does not list for the operator: unknown_key.",
        ["ENT-010"],
        sign(base, "attacker"),
    )
    verify(
        "key-of-another-operator",
        "Signed with another operator's key, claiming this operator: unknown_key (keys are "
        "bound to their issuer).",
        ["ENT-010"],
        sign(base, "provider-a"),
    )
    verify(
        "unknown-issuer",
        "An operator the trust store does not list: unknown_key.",
        ["ENT-010"],
        sign(claims(iss="https://stranger.example")),
    )
    forged = raw_token(header(), payload, key="attacker")
    verify("invalid-signature", "The operator's kid, another key's signature.", [], forged)


def _reservation_vectors(add: Any) -> None:
    ent = sign(claims())
    ent_small = sign(claims(jti="ent-0002", limit="1"))

    def seq(
        vid: str,
        description: str,
        requirements: list[str],
        steps: list[dict[str, Any]],
        *,
        entitlements: list[str] | None = None,
        hold: int = 600,
    ) -> None:
        add(
            vid,
            description,
            requirements,
            {
                "op": "reservations",
                "trust": "default",
                "audience": PROVIDER,
                "hold": hold,
                "entitlements": entitlements or [ent],
                "steps": steps,
            },
        )

    def reserve(amount: str, now: int = T0 + 10, model: str = "qwen-max", e: int = 0) -> Any:
        return {"do": "reserve", "entitlement": e, "model": model, "amount": amount, "now": now}

    def settle(index: int, actual: str, now: int = T0 + 20) -> dict[str, Any]:
        return {"do": "settle", "reservation": index, "actual": actual, "now": now}

    def release(index: int, now: int = T0 + 20) -> dict[str, Any]:
        return {"do": "release", "reservation": index, "now": now}

    seq(
        "limit-reached-exactly",
        "Reservations of 4, 4 and 2 under a limit of 10: the limit is reached exactly.",
        ["ENT-032", "ENT-040"],
        [reserve("4"), reserve("4"), reserve("2")],
    )
    seq(
        "limit-one-micro-over",
        "Reservations of 4, 4 and 2.000001 under a limit of 10: the third is limit_exceeded.",
        ["ENT-032", "ENT-040"],
        [reserve("4"), reserve("4"), reserve("2.000001")],
    )
    seq(
        "limit-first-reservation-over",
        "A first reservation of 10.000001 under a limit of 10: limit_exceeded.",
        ["ENT-040"],
        [reserve("10.000001")],
    )
    seq(
        "thirty-three-of-0.3",
        "33 reservations of 0.3 fit a limit of 10 (9.9); the 34th is limit_exceeded.",
        ["ENT-032", "ENT-040"],
        [reserve("0.3") for _ in range(34)],
    )
    seq(
        "valid-thirty-three-of-0.3",
        "33 reservations of 0.3 under a limit of 10: 9.9 outstanding.",
        ["ENT-032", "ENT-040"],
        [reserve("0.3") for _ in range(33)],
    )
    seq(
        "settle-frees-the-rest",
        "Reserve 6 and 4, settle the 6 with 1.5: a reservation of 4.5 then fits.",
        ["ENT-041"],
        [reserve("6"), reserve("4"), settle(0, "1.5"), reserve("4.5", now=T0 + 30)],
    )
    seq(
        "settled-counts-for-ever",
        "Reserve 6, settle 6, then 4.000001 does not fit a limit of 10.",
        ["ENT-041", "ENT-032"],
        [reserve("6"), settle(0, "6"), reserve("4.000001", now=T0 + 30)],
    )
    seq(
        "settle-more-than-reserved",
        "Settle 2.000001 on a reservation of 2: limit_exceeded.",
        ["ENT-041"],
        [reserve("2"), settle(0, "2.000001")],
    )
    seq(
        "valid-settle-exactly-reserved",
        "Settle exactly the amount reserved.",
        ["ENT-041"],
        [reserve("2"), settle(0, "2")],
    )
    seq(
        "valid-settle-zero",
        "Settle 0: nothing was served; the whole reservation is free again.",
        ["ENT-041"],
        [reserve("10"), settle(0, "0"), reserve("10", now=T0 + 30)],
    )
    seq(
        "settle-twice",
        "Settle a reservation twice: unknown_reservation.",
        ["ENT-041"],
        [reserve("2"), settle(0, "1"), settle(0, "1", now=T0 + 30)],
    )
    seq(
        "settle-after-release",
        "Release, then settle: unknown_reservation.",
        ["ENT-042"],
        [reserve("2"), release(0), settle(0, "1", now=T0 + 30)],
    )
    seq(
        "release-twice",
        "Release a reservation twice: unknown_reservation.",
        ["ENT-042"],
        [reserve("2"), release(0), release(0, now=T0 + 30)],
    )
    seq(
        "valid-release-frees",
        "Reserve 10, release it, reserve 10 again.",
        ["ENT-042"],
        [reserve("10"), release(0), reserve("10", now=T0 + 30)],
    )
    seq(
        "hold-599-still-held",
        "Hold 600: 599 s after a reservation of 10 it still holds the limit.",
        ["ENT-042"],
        [reserve("10", now=T0), reserve("1", now=T0 + 599)],
    )
    seq(
        "valid-hold-600-released",
        "Hold 600: 600 s after a reservation of 10 it is released and 10 fits again.",
        ["ENT-042"],
        [reserve("10", now=T0), reserve("10", now=T0 + 600)],
    )
    seq(
        "settle-after-hold",
        "Settle 600 s after reserving with a hold of 600: unknown_reservation.",
        ["ENT-042"],
        [reserve("3", now=T0), settle(0, "1", now=T0 + 600)],
    )
    seq(
        "valid-settle-before-hold-ends",
        "Settle 599 s after reserving with a hold of 600.",
        ["ENT-042"],
        [reserve("3", now=T0), settle(0, "1", now=T0 + 599)],
    )
    seq(
        "settle-after-expire-step",
        "Expire stale reservations at the end of the hold, then settle: unknown_reservation.",
        ["ENT-042"],
        [reserve("3", now=T0), {"do": "expire", "now": T0 + 60}, settle(0, "1", now=T0 + 60)],
        hold=60,
    )
    seq(
        "reserve-out-of-scope",
        "Reserve for a model the scope does not list: out_of_scope.",
        ["ENT-030"],
        [reserve("1", model="gpt-5")],
    )
    seq(
        "reserve-scope-is-case-sensitive",
        "Reserve for Qwen-Max under a scope listing qwen-max: out_of_scope.",
        ["ENT-030", "ENT-005"],
        [reserve("1", model="Qwen-Max")],
    )
    seq(
        "reserve-after-expiry",
        "A reservation at exp + 60: entitlement_expired, though earlier ones succeeded.",
        ["ENT-031"],
        [reserve("1", now=T0 + 3000), reserve("1", now=T0 + 3660)],
    )
    seq(
        "valid-reserve-at-exp-plus-59",
        "A reservation at exp + 59 succeeds.",
        ["ENT-031"],
        [reserve("1", now=T0 + 3659)],
    )
    reused = sign(claims(limit="100"))
    seq(
        "replay-same-jti-other-content",
        "A second entitlement with the same (iss, jti) and another limit: replay.",
        ["ENT-044", "ENT-003"],
        [reserve("1"), reserve("1", e=1)],
        entitlements=[ent, reused],
    )
    resigned = sign(claims(), "provider-a-rotated")
    seq(
        "same-claims-resigned-share-consumption",
        "The same claims signed by the operator's two keys are one entitlement: 6 under each "
        "passes the limit of 10.",
        ["ENT-044"],
        [reserve("6"), reserve("6", e=1)],
        entitlements=[ent, resigned],
    )
    other_operator = sign(claims(iss=OTHER_OPERATOR), "provider-a")
    seq(
        "valid-same-jti-two-operators",
        "Two operators' entitlements with the same jti are consumed apart (keyed by iss, jti).",
        ["ENT-044"],
        [reserve("10"), reserve("10", e=1)],
        entitlements=[ent, other_operator],
    )
    seq(
        "valid-two-entitlements",
        "Two entitlements of one operator hold their limits apart.",
        ["ENT-032"],
        [reserve("10"), reserve("1", e=1), settle(1, "0.25")],
        entitlements=[ent, ent_small],
    )


def _receipt_vectors(add: Any) -> None:
    ent = sign(claims())
    for_other = sign(claims(jti="ent-other", aud=OTHER_PROVIDER))
    issued = [ent, for_other]

    def receipt(**changes: Any) -> dict[str, Any]:
        body: dict[str, Any] = {
            "iss": PROVIDER,
            "sub": SUB,
            "aud": OPERATOR,
            "jti": "r-0001",
            "iat": T0 + 30,
            "ver": "1.0",
            "usage": {"model": "qwen-max", "meters": {"input": 1200, "output": 350}},
            "amount": "0.0064",
            "unit": "UTU",
            "rate_card": {"id": "provider-b-2026-01", "digest": "sha256:" + "0" * 64},
            "entitlement": "ent-0001",
            "seq": 1,
        }
        for name, value in changes.items():
            if value is _DROP:
                body.pop(name, None)
            else:
                body[name] = value
        return body

    def check(vid: str, description: str, body: dict[str, Any]) -> None:
        add(
            vid,
            description,
            ["ENT-052", "ENT-050", "ENT-011"],
            {
                "op": "receipt",
                "operator": OPERATOR,
                "trust": "default",
                "issued": issued,
                "receipt": body,
            },
        )

    check("valid-receipt-under-entitlement", "A receipt under an issued entitlement.", receipt())
    check(
        "valid-receipt-without-entitlement",
        "A receipt that names no entitlement: nothing to check.",
        receipt(entitlement=_DROP),
    )
    check(
        "receipt-unknown-entitlement",
        "A receipt naming a jti the operator never issued: unknown_entitlement.",
        receipt(entitlement="ent-9999"),
    )
    check(
        "receipt-entitlement-of-another-provider",
        "A receipt naming an entitlement issued to another provider: unknown_entitlement.",
        receipt(entitlement="ent-other"),
    )
    check(
        "receipt-for-another-operator",
        "A receipt addressed to another operator: unknown_entitlement.",
        receipt(aud=OTHER_OPERATOR),
    )
    check(
        "receipt-model-out-of-scope",
        "A receipt for a model outside the entitlement's scope: out_of_scope.",
        receipt(usage={"model": "gpt-5", "meters": {"input": 10}}),
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail if the file would change")
    args = parser.parse_args()
    text = json.dumps(build(), indent=1, ensure_ascii=False) + "\n"
    if args.check:
        if not OUT.exists() or OUT.read_text(encoding="utf-8") != text:
            print(f"{OUT} is out of date; run {Path(__file__).name}", file=sys.stderr)
            return 1
        return 0
    OUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
