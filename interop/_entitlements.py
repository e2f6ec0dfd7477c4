"""Independent check of spec/vectors/entitlements.json (spec chapter "Entitlements").

Part of the independent checker: it imports neither ``tokenfed`` nor ``tokenfed_conformance``.
``check_vectors.py`` loads this file and calls :func:`install` with its own namespace, so the
JOSE steps (its strict JSON parser, strict base64url, joserfc signature check), the trust-store
reading, the schema check (jsonschema with ``spec/schemas/entitlement.schema.json``) and the
verdict are shared with the other kinds; what is written here, from the text of the chapter, is
the rest of ENT-020 (semantic rules, time with its fixed skew, audience), a reservation store
simulated in memory with exact integers of micro-UTU (ENT-030..ENT-044) and the operator's
receipt check (ENT-052).
"""

from __future__ import annotations

import hashlib
from fractions import Fraction
from typing import Any

TYP = "tokenfed-entitlement+jwt"
MAX_BYTES = 16384  # ENT-007
SKEW = 60  # ENT-021
MAX_LIFETIME = 86400  # ENT-004
MAX_LIMIT = Fraction(9007199254740991, 10**6)  # ENT-006
MICRO = 10**6


def install(cv: dict[str, Any]) -> None:
    """Register the ``entitlements`` checker in the namespace of check_vectors.py."""
    rejected = cv["_Rejected"]

    def entitlement_code(error: Any) -> str:
        """CONV-023: ``limit`` is the decimal member; a string that breaks its pattern is
        invalid_amount, anything else schema_violation."""
        path = tuple(error.absolute_path)
        if path == ("limit",) and isinstance(error.instance, str):
            return "invalid_amount"
        return "schema_violation"

    def open_entitlement(token: Any, context: Any, trust_name: str) -> tuple[dict[str, Any], str]:
        """ENT-020 steps 1 to 8: claims and content digest."""
        keys = cv["_load_trust_store"](context.fixtures["trust"][trust_name], context)

        def find_key(header: dict[str, Any], claims: dict[str, Any]) -> dict[str, Any]:
            issuer_keys = (
                keys.get(claims.get("iss")) if isinstance(claims.get("iss"), str) else None
            )
            kid = header.get("kid")
            if issuer_keys is None or not isinstance(kid, str) or kid not in issuer_keys:
                raise rejected("unknown_key", f"no key {kid!r} for issuer {claims.get('iss')!r}")
            return issuer_keys[kid]

        signed = cv["_open_jws"](token, TYP, MAX_BYTES, find_key, cv["_key_window"])
        claims = signed.claims
        cv["_check_version"](claims, "entitlement")
        cv["_schema_check"](context, "entitlement", claims, "entitlement", entitlement_code)
        for member in ("iss", "aud"):
            cv["_check_entity_id"](claims, member, "entitlement")
        if claims["exp"] <= claims["iat"]:
            raise rejected("schema_violation", "exp is not later than iat (ENT-004)")
        if claims["exp"] - claims["iat"] > MAX_LIFETIME:
            raise rejected("schema_violation", "exp - iat is over 86400 (ENT-004)")
        if cv["_decimal"](claims["limit"]) > MAX_LIMIT:
            raise rejected("schema_violation", "limit is over 9007199254.740991 (ENT-006)")
        return claims, "sha256:" + hashlib.sha256(signed.payload).hexdigest()

    def check_time(claims: dict[str, Any], now: int) -> None:
        if claims["iat"] > now + SKEW:
            raise rejected("entitlement_not_yet_valid", f"iat {claims['iat']} > {now} + {SKEW}")
        if now >= claims["exp"] + SKEW:
            raise rejected("entitlement_expired", f"{now} >= exp {claims['exp']} + {SKEW}")

    def verify(given: dict[str, Any], token: str, now: int, context: Any) -> tuple[Any, str]:
        claims, digest = open_entitlement(token, context, given["trust"])
        check_time(claims, now)
        if claims["aud"] != given["audience"]:
            raise rejected("wrong_audience", f"aud {claims['aud']} is not {given['audience']}")
        return claims, digest

    def micro(text: str) -> int:
        value = cv["_decimal"](text) * MICRO
        if value.denominator != 1:
            raise ValueError(f"{text} is finer than a micro-UTU")
        return int(value)

    def utu(amount: int) -> str:
        return str(cv["_canonical"](Fraction(amount, MICRO)))

    def reservations(given: dict[str, Any], context: Any) -> dict[str, Any]:
        hold = given["hold"]
        books: dict[tuple[str, str], dict[str, Any]] = {}  # (iss, jti) -> digest, limit, settled
        open_ones: dict[int, dict[str, Any]] = {}  # step index -> key, amount, expires
        seen: dict[int, tuple[str, str]] = {}
        now = 0
        for index, step in enumerate(given["steps"]):
            now = step["now"]
            if step["do"] == "reserve":
                token = given["entitlements"][step["entitlement"]]
                claims, digest = verify(given, token, now, context)
                check_time(claims, now)  # ENT-031
                if step["model"] not in claims["scope"]:  # ENT-030, code points compared
                    raise rejected("out_of_scope", f"{step['model']!r} is not in the scope")
                key = (claims["iss"], claims["jti"])
                book = books.get(key)
                if book is not None and book["digest"] != digest:
                    raise rejected("replay", f"{key} seen before with other content (ENT-044)")
                limit = micro(claims["limit"]) if book is None else book["limit"]
                settled = 0 if book is None else book["settled"]
                for number in [n for n, r in open_ones.items() if r["key"] == key]:
                    if open_ones[number]["expires"] <= now:
                        del open_ones[number]
                outstanding = sum(r["amount"] for r in open_ones.values() if r["key"] == key)
                amount = micro(step["amount"])
                if settled + outstanding + amount > limit:
                    raise rejected(
                        "limit_exceeded",
                        f"{utu(settled)} + {utu(outstanding)} + {utu(amount)} > {utu(limit)}",
                    )
                if book is None:
                    books[key] = {"digest": digest, "limit": limit, "settled": 0}
                open_ones[index] = {"key": key, "amount": amount, "expires": now + hold}
                seen[step["entitlement"]] = key
            elif step["do"] in ("settle", "release"):
                number = step["reservation"]
                held = open_ones.get(number)
                if held is not None and held["expires"] <= now:
                    del open_ones[number]  # its hold ended: released (ENT-042)
                    held = None
                if held is None:
                    raise rejected("unknown_reservation", f"reservation of step {number} not open")
                if step["do"] == "settle":
                    actual = micro(step["actual"])
                    if actual > held["amount"]:
                        raise rejected("limit_exceeded", "settles more than was reserved")
                    books[held["key"]]["settled"] += actual
                del open_ones[number]
            elif step["do"] == "expire":
                for number in [n for n, r in open_ones.items() if r["expires"] <= now]:
                    del open_ones[number]
            else:
                raise ValueError(f"unknown step {step['do']!r}")
        result: list[Any] = []
        for index in range(len(given["entitlements"])):
            key = seen.get(index)
            if key is None:
                result.append(None)
                continue
            outstanding = sum(
                r["amount"] for r in open_ones.values() if r["key"] == key and r["expires"] > now
            )
            result.append({"settled": utu(books[key]["settled"]), "outstanding": utu(outstanding)})
        return {"consumption": result}

    def receipt(given: dict[str, Any], context: Any) -> dict[str, Any]:
        issued: dict[str, dict[str, Any]] = {}
        for token in given["issued"]:
            claims, _ = open_entitlement(token, context, given["trust"])
            issued[claims["jti"]] = claims
        body = given["receipt"]
        jti = body.get("entitlement")
        if jti is None:
            return {"valid": True, "entitlement": None}
        found = issued.get(jti)
        if (
            found is None
            or found["iss"] != given["operator"]
            or body.get("aud") != given["operator"]
            or found["aud"] != body.get("iss")
        ):
            raise rejected("unknown_entitlement", f"{jti!r} was not issued to {body.get('iss')}")
        if body["usage"]["model"] not in found["scope"]:
            raise rejected("out_of_scope", f"model {body['usage']['model']!r} not in scope")
        return {"valid": True, "entitlement": jti}

    @cv["checker"]("entitlements")
    def check_entitlements(vector: dict[str, Any], context: Any) -> Any:
        """An ``entitlements`` vector: ``verify``, ``reservations`` or ``receipt``."""
        given, expected = vector["input"], vector["expected"]
        try:
            if given["op"] == "verify":
                claims, digest = verify(given, given["token"], given["now"], context)
                result = {
                    "valid": True,
                    "jti": claims["jti"],
                    "sub": claims["sub"],
                    "scope": claims["scope"],
                    "limit": claims["limit"],
                    "exp": claims["exp"],
                    "digest": digest,
                }
            elif given["op"] == "reservations":
                result = reservations(given, context)
            elif given["op"] == "receipt":
                result = receipt(given, context)
            else:
                raise ValueError(f"unknown op {given['op']!r}")
        except rejected as exc:
            return cv["_judge"](expected, exc, None)
        return cv["_judge"](expected, None, result)
