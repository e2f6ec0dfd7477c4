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

from .._codec import b64e, jcs
from .._crypto import SuiteKey, compact
from .._federation import TYP_ENTITLEMENT
from ..cases import Call, Case, Expect
from ..vectors import Vector, load_vectors, vector_kinds
from ._common import seeded, skip_vector, trust_store, vector_case

__all__ = ["OP_CHECK", "OP_VERIFY", "PROFILE", "build"]

PROFILE = "entitlements"
OP_VERIFY = "verify-entitlement"
OP_CHECK = "check-usage"

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
    "jose": ("ENT-001", "ENT-020"),
}

OPERATOR = "https://subscribers.operator.alliance-a.example"
PROVIDER = "https://tokens.provider.alliance-b.example"


# --------------------------------------------------------------------------- static vectors


def _vector_case(vector: Vector) -> Case | None:
    data = vector.input
    source = f"spec/vectors/entitlements.json#{vector.id}"
    op = OP_CHECK if "requests" in data else OP_VERIFY
    needed = ("entitlement", "trust", "audience", "now")
    if any(name not in data for name in needed):
        skip_vector(source, f"the vector lacks one of the inputs {', '.join(needed)}")
        return None
    call_input = {name: data[name] for name in needed}
    if op == OP_CHECK:
        call_input["requests"] = data["requests"]
    if vector.error is not None:
        expect = Expect(error=vector.error)
    elif op == OP_CHECK and "results" in vector.expected:
        expect = Expect(output={"results": vector.expected["results"]})
    elif "claims" in vector.expected:
        expect = Expect(output={"claims": vector.expected["claims"]})
    else:
        expect = Expect()
    return vector_case(PROFILE, "entitlements", vector, op, call_input, expect)


def _vector_cases() -> list[Case]:
    if "entitlements" not in vector_kinds():
        return []
    return [c for v in load_vectors("entitlements") if (c := _vector_case(v)) is not None]


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
            Expect(output={"claims": claims}),
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
                Expect(error=error) if error else Expect(output={"claims": claims}),
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
    # Usage under one entitlement: each request reserves its amount against the limit; a
    # refused request consumes nothing.
    requests = [
        {"model": "model-a", "amount": "40"},
        {"model": "model-b", "amount": "40.5"},
        {"model": "model-a", "amount": "19.500001"},
        {"model": "model-a", "amount": "19.5"},
        {"model": "model-b", "amount": "0.000001"},
    ]
    cases += [
        _case(
            f"usage-reaches-limit{t}",
            "usage adds up to exactly the limit (100): every request that stays within it is "
            "served; the one that would pass it by 0.000001 is refused and consumes nothing; "
            "after the limit is reached even 0.000001 more is refused",
            R["limit"],
            OP_CHECK,
            verify(good, requests=requests),
            Expect(
                output={
                    "results": [
                        {"ok": True, "consumed": "40"},
                        {"ok": True, "consumed": "80.5"},
                        {"ok": False, "error": "limit_exceeded"},
                        {"ok": True, "consumed": "100"},
                        {"ok": False, "error": "limit_exceeded"},
                    ]
                }
            ),
        ),
        _case(
            f"usage-out-of-scope{t}",
            "a model the entitlement's scope does not list is refused; the others are served",
            R["scope"],
            OP_CHECK,
            verify(
                good,
                requests=[
                    {"model": "model-c", "amount": "1"},
                    {"model": "model-b", "amount": "1"},
                ],
            ),
            Expect(
                output={
                    "results": [
                        {"ok": False, "error": "out_of_scope"},
                        {"ok": True, "consumed": "1"},
                    ]
                }
            ),
        ),
        _case(
            f"usage-settled-below-reservation{t}",
            "a request reserves 50 and settles 30: the other 20 are free again, so 70 more "
            "reach the limit exactly",
            R["settle"],
            OP_CHECK,
            verify(
                good,
                requests=[
                    {"model": "model-a", "amount": "50", "actual": "30"},
                    {"model": "model-b", "amount": "70"},
                    {"model": "model-b", "amount": "0.000001"},
                ],
            ),
            Expect(
                output={
                    "results": [
                        {"ok": True, "consumed": "30"},
                        {"ok": True, "consumed": "100"},
                        {"ok": False, "error": "limit_exceeded"},
                    ]
                }
            ),
        ),
        _case(
            f"usage-single-request-over-limit{t}",
            "one request larger than the whole limit is refused",
            R["limit"],
            OP_CHECK,
            verify(good, requests=[{"model": "model-a", "amount": "100.000001"}]),
            Expect(output={"results": [{"ok": False, "error": "limit_exceeded"}]}),
        ),
        _case(
            f"usage-under-expired{t}",
            "usage under an expired entitlement is refused as a whole",
            R["time"] + R["reserve-time"],
            OP_CHECK,
            verify(
                _entitlement(key, dict(claims, iat=now - 7200, exp=now - 3600)),
                requests=[{"model": "model-a", "amount": "1"}],
            ),
            Expect(error="entitlement_expired"),
        ),
    ]
    return cases


def build(seed: int) -> list[Case]:
    """Every case of the profile: the spec vectors, then the generated cases of ``seed``."""
    rng = seeded(PROFILE, seed)
    generated = _generated(rng, "EdDSA") + _generated(rng, "ES256")
    source = f"generated (seed {seed})"
    return _vector_cases() + [replace(case, source=source) for case in generated]
