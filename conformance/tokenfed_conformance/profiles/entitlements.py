"""Profile ``entitlements``: a provider's checks of the entitlements an operator issues
(entitlements chapter).

Static cases: every vector of ``spec/vectors/entitlements.json``. Generated cases: entitlements
the suite signs with fresh operator keys, presented intact and with one deliberate defect each,
and sequences of usage under one entitlement that reach and pass its limit.
"""

from __future__ import annotations

import random
from dataclasses import replace
from typing import Any

from .._codec import StrictJSONError, b64d, b64e, digest, jcs, loads_strict
from .._crypto import SuiteKey, compact
from .._federation import TYP_ENTITLEMENT
from ..cases import Call, Case, Expect
from ..vectors import Vector, load_vectors, vector_kinds
from ._common import seeded, skip_vector, trust_store, vector_case

__all__ = ["OP_CHECK", "OP_RECEIPT", "OP_VERIFY", "PROFILE", "build"]

PROFILE = "entitlements"
"""The profile's name."""
OP_VERIFY = "verify-entitlement"
"""The operation of ENT-020 (PROTOCOL.md 6.19)."""
OP_CHECK = "check-usage"
"""The operation of reserve-then-settle steps (PROTOCOL.md 6.20)."""
OP_RECEIPT = "check-receipt-entitlement"
"""The operator's check of a receipt against what it issued (PROTOCOL.md 6.21)."""

# Requirement IDs of the entitlements chapter, by the rule a case checks.
R: dict[str, tuple[str, ...]] = {
    "claims": ("ENT-001", "ENT-020"),
    "signature": ("ENT-010", "ENT-020"),
    "time": ("ENT-020", "ENT-021"),
    "audience": ("ENT-020",),
    "scope": ("ENT-030",),
    "scope-syntax": ("ENT-005",),
    "lifetime": ("ENT-004",),
    "limit-syntax": ("ENT-006",),
    "sub": ("ENT-002",),
    "limit": ("ENT-032", "ENT-040"),
    "settle": ("ENT-041", "ENT-032"),
    "reserve-time": ("ENT-031",),
    "hold": ("ENT-042",),
    "jose": ("ENT-001", "ENT-020"),
}

OPERATOR = "https://subscribers.operator.alliance-a.example"
PROVIDER = "https://tokens.provider.alliance-b.example"


# --------------------------------------------------------------------------- static vectors


def _payload(token: str) -> Any:
    parts = token.split(".")
    try:
        return loads_strict(b64d(parts[1])) if len(parts) == 3 else None
    except (ValueError, StrictJSONError):
        return None


def _vector_case(vector: Vector, fixtures: dict[str, Any]) -> Case | None:
    data = vector.input
    source = f"spec/vectors/entitlements.json#{vector.id}"
    trust = fixtures.get("trust", {}).get(data.get("trust"))
    if trust is None:
        skip_vector(source, f"no trust-store fixture {data.get('trust')!r}")
        return None
    op = data.get("op")
    expect: Expect
    if op == "verify":
        call_op = OP_VERIFY
        call_input = {
            "entitlement": data["token"],
            "trust": trust,
            "audience": data["audience"],
            "now": data["now"],
        }
        claims = _payload(data["token"])
        if vector.error is not None:
            expect = Expect(error=vector.error)
        elif isinstance(claims, dict) and all(
            claims.get(k) == vector.expected[k] for k in ("jti", "sub", "scope", "limit", "exp")
        ):
            expect = Expect(output={"claims": claims, "digest": vector.expected["digest"]})
        else:
            skip_vector(source, "its expected claims are not those of its payload")
            return None
    elif op == "reservations":
        call_op = OP_CHECK
        call_input = {
            "trust": trust,
            "audience": data["audience"],
            "hold": data["hold"],
            "entitlements": data["entitlements"],
            "steps": data["steps"],
        }
        expect = (
            Expect(error=vector.error)
            if vector.error is not None
            else Expect(output={"consumption": vector.expected["consumption"]})
        )
    elif op == "receipt":
        call_op = OP_RECEIPT
        call_input = {
            "operator": data["operator"],
            "trust": trust,
            "issued": data["issued"],
            "receipt": data["receipt"],
        }
        expect = (
            Expect(error=vector.error)
            if vector.error is not None
            else Expect(output={"entitlement": vector.expected["entitlement"]})
        )
    else:
        skip_vector(source, f"unknown vector op {op!r}")
        return None
    return vector_case(PROFILE, "entitlements", vector, call_op, call_input, expect)


def _vector_cases() -> list[Case]:
    if "entitlements" not in vector_kinds():
        return []
    vectors = load_vectors("entitlements")
    fixtures = vectors.extra.get("fixtures", {})
    return [c for v in vectors if (c := _vector_case(v, fixtures)) is not None]


# --------------------------------------------------------------------------- generated


def _entitlement(key: SuiteKey, claims: dict[str, Any], typ: str = TYP_ENTITLEMENT) -> str:
    return compact(key, jcs(claims), typ)


def _case(
    name: str,
    reason: str,
    requirements: tuple[str, ...],
    op: str,
    data: dict[str, Any],
    expect: Expect,
) -> Case:
    return Case(
        id=f"{PROFILE}/gen/{name}",
        profile=PROFILE,
        requirements=requirements,
        reason=reason,
        calls=(Call(op, data, expect),),
        source="generated",
    )


def _generated(rng: random.Random, alg: str) -> list[Case]:
    key = SuiteKey.generate(rng, alg)
    now = 1_798_000_000 + rng.randrange(0, 86400)
    trust = trust_store({OPERATOR: [key.public_jwk(nbf=now - 30 * 86400)]})
    jti = f"ent-{rng.randrange(10**9, 10**10)}"
    claims: dict[str, Any] = {
        "iss": OPERATOR,
        "sub": b64e(rng.randbytes(16)),
        "aud": PROVIDER,
        "jti": jti,
        "iat": now - 300,
        "exp": now + 3300,
        "ver": "1.0",
        "scope": ["model-a", "model-b"],
        "limit": "100",
    }
    t = f"-{alg.lower()}"

    def verify(token: str, **extra: Any) -> dict[str, Any]:
        return {"entitlement": token, "trust": trust, "audience": PROVIDER, "now": now, **extra}

    good = _entitlement(key, claims)
    head, _payload, signature = good.split(".")
    tampered = f"{head}.{b64e(jcs(dict(claims, limit='1000000')))}.{signature}"
    stranger = SuiteKey.generate(rng, alg)
    cases = [
        _case(
            f"valid{t}",
            "an entitlement signed by the operator's entitlement key, for this provider, "
            "within its lifetime: its claims are returned as signed",
            R["claims"] + R["signature"],
            OP_VERIFY,
            verify(good),
            Expect(output={"claims": claims, "digest": digest(jcs(claims))}),
        ),
        _case(
            f"tampered-limit{t}",
            "the limit was raised after signing",
            R["signature"],
            OP_VERIFY,
            verify(tampered),
            Expect(error="invalid_signature"),
        ),
        _case(
            f"unknown-key{t}",
            "signed by a key the operator does not publish",
            R["signature"],
            OP_VERIFY,
            verify(_entitlement(stranger, claims)),
            Expect(error="unknown_key"),
        ),
        _case(
            f"wrong-typ{t}",
            "typ JWT instead of tokenfed-entitlement+jwt",
            R["jose"],
            OP_VERIFY,
            verify(_entitlement(key, claims, "JWT")),
            Expect(error="unsupported_typ"),
        ),
        _case(
            f"expired{t}",
            "the entitlement expired an hour ago",
            R["time"],
            OP_VERIFY,
            verify(_entitlement(key, dict(claims, iat=now - 7200, exp=now - 3600))),
            Expect(error="entitlement_expired"),
        ),
        _case(
            f"not-yet-valid{t}",
            "the entitlement is issued an hour in the future",
            R["time"],
            OP_VERIFY,
            verify(_entitlement(key, dict(claims, iat=now + 3600, exp=now + 7200))),
            Expect(error="entitlement_not_yet_valid"),
        ),
        _case(
            f"wrong-audience{t}",
            "the entitlement names another provider as its audience",
            R["audience"],
            OP_VERIFY,
            verify(good, audience="https://tokens.other.alliance-b.example"),
            Expect(error="wrong_audience"),
        ),
    ]
    # The edges of ENT-021 (skew exactly 60 s) and the schema rules checked after the signature.
    edges = [
        ("at-exp-plus-59", claims["exp"] + 59, None),
        ("at-exp-plus-60", claims["exp"] + 60, "entitlement_expired"),
        ("at-iat-minus-60", claims["iat"] - 60, None),
        ("at-iat-minus-61", claims["iat"] - 61, "entitlement_not_yet_valid"),
    ]
    for name, at, error in edges:
        cases.append(
            _case(
                f"{name}{t}",
                f"now = {name.removeprefix('at-').replace('-', ' ')}: the skew is exactly 60 s, "
                + ("so the entitlement is refused" if error else "so it is still valid"),
                R["time"],
                OP_VERIFY,
                verify(good, now=at),
                Expect(error=error)
                if error
                else Expect(output={"claims": claims, "digest": digest(jcs(claims))}),
            )
        )
    late_key = SuiteKey.generate(rng, alg)
    late_trust = trust_store({OPERATOR: [late_key.public_jwk(nbf=claims["iat"] + 1)]})
    schema = [
        ("lifetime-over-24h", "exp - iat is 86401 s", R["lifetime"],
         dict(claims, iat=now - 300, exp=now - 300 + 86401), "schema_violation"),
        ("scope-wildcard", "the scope lists \"*\" (there is no wildcard)", R["scope-syntax"],
         dict(claims, scope=["*"]), "schema_violation"),
        ("scope-duplicate", "the scope lists a model twice", R["scope-syntax"],
         dict(claims, scope=["model-a", "model-a"]), "schema_violation"),
        ("limit-zero", "limit 0 (it must be greater than zero)", R["limit-syntax"],
         dict(claims, limit="0"), "invalid_amount"),
        ("limit-seven-places", "limit with 7 fractional digits (UTU has 6)", R["limit-syntax"],
         dict(claims, limit="1.0000001"), "invalid_amount"),
        ("sub-in-clear", "sub is an e-mail address, not a pairwise identifier", R["sub"],
         dict(claims, sub="alice@example.com"), "schema_violation"),
        ("limit-missing", "no limit member", R["claims"],
         {k: v for k, v in claims.items() if k != "limit"}, "schema_violation"),
    ]  # fmt: skip
    for name, why, requirements, bad, code in schema:
        cases.append(
            _case(
                f"{name}{t}",
                f"{why}: refused after its signature verified",
                requirements,
                OP_VERIFY,
                verify(_entitlement(key, bad)),
                Expect(error=code),
            )
        )
    cases.append(
        _case(
            f"key-not-valid-at-iat{t}",
            "the operator's key becomes valid one second after the entitlement's iat",
            R["signature"],
            OP_VERIFY,
            {
                "entitlement": _entitlement(late_key, claims),
                "trust": late_trust,
                "audience": PROVIDER,
                "now": now,
            },
            Expect(error="key_not_valid"),
        )
    )
    # Reserve, then settle (ENT-040..ENT-042), under one entitlement; a sequence stops at its
    # first refused step, which is the answer.
    hold = 600

    def reserve(model: str, amount: str, at: int = now) -> dict[str, Any]:
        return {"do": "reserve", "entitlement": 0, "model": model, "amount": amount, "now": at}

    def settle(step: int, actual: str, at: int = now) -> dict[str, Any]:
        return {"do": "settle", "reservation": step, "actual": actual, "now": at}

    def usage(steps: list[dict[str, Any]], token: str = good) -> dict[str, Any]:
        return {
            "trust": trust,
            "audience": PROVIDER,
            "hold": hold,
            "entitlements": [token],
            "steps": steps,
        }

    def consumption(settled: str, outstanding: str) -> Expect:
        return Expect(output={"consumption": [{"settled": settled, "outstanding": outstanding}]})

    to_limit = [
        reserve("model-a", "40"), settle(0, "40"),
        reserve("model-b", "40.5"), settle(2, "40.5"),
        reserve("model-a", "19.5"), settle(4, "19.5"),
    ]  # fmt: skip
    sequences: list[tuple[str, str, tuple[str, ...], list[dict[str, Any]], Expect, str]] = [
        ("usage-reaches-limit", "reservations settled at 40, 40.5 and 19.5 reach the limit "
         "of 100 exactly, which is allowed", R["limit"], to_limit, consumption("100", "0"),
         good),
        ("usage-one-micro-over", "after 40 and 40.5 settled, a reservation of 19.500001 "
         "would pass the limit of 100 by one micro-UTU", R["limit"],
         [*to_limit[:4], reserve("model-a", "19.500001")], Expect(error="limit_exceeded"), good),
        ("usage-after-limit", "once the limit is reached, even 0.000001 more is refused",
         R["limit"], [*to_limit, reserve("model-b", "0.000001")],
         Expect(error="limit_exceeded"), good),
        ("usage-outstanding-counts", "an open reservation of 60 counts against the limit: "
         "40.000001 more is refused", R["limit"],
         [reserve("model-a", "60"), reserve("model-b", "40.000001")],
         Expect(error="limit_exceeded"), good),
        ("usage-settled-below-reservation", "a reservation of 50 settled at 30 frees 20 again: "
         "a reservation of 70 fits", R["settle"],
         [reserve("model-a", "50"), settle(0, "30"), reserve("model-b", "70")],
         consumption("30", "70"), good),
        ("usage-settle-more-than-reserved", "settling 50.000001 under a reservation of 50 is "
         "refused", R["settle"], [reserve("model-a", "50"), settle(0, "50.000001")],
         Expect(error="limit_exceeded"), good),
        ("usage-settle-twice", "a settled reservation is closed: settling it again is refused",
         R["settle"], [reserve("model-a", "5"), settle(0, "5"), settle(0, "5")],
         Expect(error="unknown_reservation"), good),
        ("usage-hold-ends", f"a reservation of 90 not settled within the hold ({hold} s) is "
         "released, so 90 more fit", R["hold"],
         [reserve("model-a", "90"), reserve("model-b", "90", now + hold)],
         consumption("0", "90"), good),
        ("usage-out-of-scope", "a model the entitlement's scope does not list is refused",
         R["scope"], [reserve("model-a", "1"), settle(0, "1"), reserve("model-c", "1")],
         Expect(error="out_of_scope"), good),
        ("usage-after-expiry", "a reservation made after the entitlement expired (exp + 60 s) "
         "is refused, though the entitlement was valid when the first was made",
         R["reserve-time"], [reserve("model-a", "1"), reserve("model-a", "1", now + 3300 + 60)],
         Expect(error="entitlement_expired"), good),
    ]  # fmt: skip
    for name, why, requirements, steps, expect, token in sequences:
        cases.append(_case(f"{name}{t}", why, requirements, OP_CHECK, usage(steps, token), expect))
    return cases


def build(seed: int) -> list[Case]:
    """Every case of the profile: the spec vectors, then the generated cases of ``seed``."""
    rng = seeded(PROFILE, seed)
    generated = _generated(rng, "EdDSA") + _generated(rng, "ES256")
    source = f"generated (seed {seed})"
    return _vector_cases() + [replace(case, source=source) for case in generated]
