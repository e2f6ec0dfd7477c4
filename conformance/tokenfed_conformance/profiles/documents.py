"""Profile ``documents``: signed rate cards and exchange-rate sets (conventions, units and
exchange chapters).

Static cases: the rate-card and exchange-rate vectors of ``spec/vectors/documents.json`` (their
claims signed by the suite with a published test key), and the JWS vectors of
``spec/vectors/jws.json`` presented as rate cards. Generated cases: fresh keys and documents,
each presented intact and with one deliberate defect whose code is fixed by the defect.
"""

from __future__ import annotations

import json
from typing import Any

from .._codec import StrictJSONError, b64d, b64e, digest, jcs, loads_strict
from .._crypto import SuiteKey, compact, thumbprint
from ..cases import Call, Case, Expect
from ..vectors import Vector, load_test_keys, load_vectors
from ._common import (
    TYP_RATE_CARD,
    TYP_RATES,
    TYP_RECEIPT,
    is_entity_id,
    seeded,
    sign_claims,
    skip_vector,
    test_key,
    trust_store,
    vector_case,
)

__all__ = ["build", "defects"]

PROFILE = "documents"
_KINDS = {"rate-card": TYP_RATE_CARD, "exchange-rates": TYP_RATES}


def _document_vectors() -> list[Case]:
    key = test_key("provider-b")
    cases = []
    for vector in load_vectors("documents"):
        kind = vector.input.get("kind")
        source = f"spec/vectors/documents.json#{vector.id}"
        if kind not in _KINDS:
            continue
        if "text" in vector.input:
            case = _text_vector(vector, kind, key)
            if case is not None:
                cases.append(case)
            continue
        claims = vector.input.get("document")
        if not isinstance(claims, dict):
            skip_vector(source, "the document is not a JSON object, so it cannot be signed")
            continue
        iat = claims.get("iat")
        # A document whose issuer no trust store can list, or whose iat lies before every
        # key's nbf, fails at the key step before its schema is read (CONV-060): the vector's
        # code is for unsigned claims, so these vectors have no signed counterpart.
        if not is_entity_id(claims.get("iss")) or (type(iat) is int and iat < 0):
            skip_vector(
                source,
                "signed, it would fail at the key step (no trust store lists its iss, or its "
                "iat precedes every key): its code is the one of the unsigned claims",
            )
            continue
        token = sign_claims(key, claims, _KINDS[kind])
        trust = trust_store({claims["iss"]: [key.public_jwk(nbf=0)]})
        if vector.error is not None:
            expect = Expect(error=vector.error)
        else:
            expected: dict[str, Any] = {"claims": claims}
            if "digest" in vector.expected:
                expected["digest"] = vector.expected["digest"]
            expect = Expect(output=expected)
        data = {"kind": kind, "document": token, "trust": trust}
        cases.append(vector_case(PROFILE, "documents", vector, "verify-document", data, expect))
    return cases


def _text_vector(vector: Vector, kind: str, key: SuiteKey) -> Case | None:
    """A vector whose document is a JSON text (bytes no JSON value can carry): the text is
    signed as the payload, exactly."""
    text = vector.input["text"]
    try:
        claims = loads_strict(text.encode("utf-8"))
    except (StrictJSONError, UnicodeEncodeError):
        claims = None
    iss = claims.get("iss") if isinstance(claims, dict) else None
    trust = trust_store(
        {
            str(iss) if is_entity_id(iss) else "https://tokens.provider-b.example": [
                key.public_jwk(nbf=0)
            ]
        }
    )
    if vector.error is not None:
        expect = Expect(error=vector.error)
    elif isinstance(claims, dict):
        expected: dict[str, Any] = {"claims": claims}
        if "digest" in vector.expected:
            expected["digest"] = vector.expected["digest"]
        expect = Expect(output=expected)
    else:
        return None
    try:
        payload = text.encode("utf-8")
    except UnicodeEncodeError:
        payload = text.encode("utf-8", "surrogatepass")
    token = compact(key, payload, _KINDS[kind])
    data = {"kind": kind, "document": token, "trust": trust}
    return vector_case(PROFILE, "documents", vector, "verify-document", data, expect)


def _payload_claims(token: str) -> Any:
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        return loads_strict(b64d(parts[1]))
    except (ValueError, StrictJSONError):
        return None


def _vector_key(name: object, fixture_keys: dict[str, Any]) -> dict[str, Any] | None:
    """The trusted public JWK a JWS vector names: a published test key, or one of the file's
    fixture keys (deliberately bad keys, which a receiver refuses when it loads them)."""
    if not isinstance(name, str):
        return None
    if name in load_test_keys():
        return test_key(name).public_jwk(nbf=0)
    jwk = fixture_keys.get(name)
    if not isinstance(jwk, dict) or "kty" not in jwk:
        return None
    jwk = dict(jwk)
    try:
        jwk.setdefault("kid", thumbprint(jwk))
    except KeyError:
        return None
    jwk.setdefault("alg", "EdDSA" if jwk["kty"] == "OKP" else "ES256")
    jwk.setdefault("use", "sig")
    jwk.setdefault("nbf", 0)
    return jwk


def _jws_vectors() -> list[Case]:
    cases = []
    file = load_vectors("jws")
    fixture_keys = file.extra.get("fixtures", {}).get("keys", {})
    for vector in file:
        token, typ, key_name = vector.input["token"], vector.input["typ"], vector.input["key"]
        if typ != TYP_RATE_CARD:
            continue
        public = _vector_key(key_name, fixture_keys)
        if public is None:
            skip_vector(f"spec/vectors/jws.json#{vector.id}", f"unknown key {key_name!r}")
            continue
        claims = _payload_claims(token)
        iss = claims.get("iss") if isinstance(claims, dict) else None
        if not is_entity_id(iss):
            iss = "https://provider-a.example"
        trust = trust_store({str(iss): [public]})
        if vector.error is not None:
            expect = Expect(error=vector.error)
            reason = vector.description
        elif (
            isinstance(claims, dict) and claims.get("ver") == "1.0" and "rate_card_id" not in claims
        ):
            # The JWS layer accepts the token; its claims are not a rate card (no
            # rate_card_id), so the schema step rejects them (CONV-060 step 8).
            expect = Expect(error="schema_violation")
            reason = (
                f"{vector.description} The JWS is sound, but its claims are not a rate card: "
                "the schema step rejects them."
            )
        else:
            continue
        data = {"kind": "rate-card", "document": token, "trust": trust}
        cases.append(
            vector_case(PROFILE, "jws", vector, "verify-document", data, expect, reason=reason)
        )
    return cases


# --------------------------------------------------------------------------- defects


def _header_b64(header: dict[str, Any] | str) -> str:
    raw = header.encode("utf-8") if isinstance(header, str) else jcs(header)
    return b64e(raw)


def _sign_parts(key: SuiteKey, header: dict[str, Any] | str, payload: bytes) -> str:
    signing_input = f"{_header_b64(header)}.{b64e(payload)}".encode("ascii")
    return signing_input.decode("ascii") + "." + b64e(key.sign(signing_input))


def _bump_last_char(segment: str) -> str:
    """The same bytes with non-zero unused trailing bits (a non-canonical spelling)."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    last = alphabet.index(segment[-1])
    return segment[:-1] + alphabet[last + 1]


def defects(
    key: SuiteKey,
    claims: dict[str, Any],
    typ: str,
    *,
    attacker: SuiteKey,
    duplicate: tuple[str, Any],
) -> list[tuple[str, str, str, tuple[str, ...], str]]:
    """Deliberately defective signings of ``claims``: (name, token, code, requirements, why).

    ``duplicate`` names a top-level member and a false value that a last-member-wins parser
    would read instead of the true one, put first in the payload text.
    """
    payload = jcs(claims)
    good = compact(key, payload, typ)
    head, body, sig = good.split(".")
    tampered = dict(claims)
    name, false_value = duplicate
    tampered[name] = false_value
    other_alg = "ES256" if key.alg == "EdDSA" else "EdDSA"
    member_text = json.dumps(name)
    duplicated = payload.replace(
        member_text.encode() + b":",
        member_text.encode() + b":" + jcs(false_value) + b"," + member_text.encode() + b":",
        1,
    )
    jwks = {"keys": [attacker.public_jwk()]}
    jku = "data:application/json;base64," + b64e(jcs(jwks))
    sig_bytes = b64d(sig)
    return [
        (
            "tampered-payload",
            f"{head}.{b64e(jcs(tampered))}.{sig}",
            "invalid_signature",
            ("CONV-049",),
            f"The payload was changed after signing ({name} rewritten): the signature cannot "
            "verify.",
        ),
        (
            "signature-flipped-bit",
            f"{head}.{body}.{b64e(bytes([sig_bytes[0] ^ 1]) + sig_bytes[1:])}",
            "invalid_signature",
            ("CONV-049",),
            "One bit of the signature flipped.",
        ),
        (
            "alg-none",
            f"{_header_b64({'alg': 'none', 'kid': key.kid, 'typ': typ})}.{body}.",
            "unsupported_alg",
            ("CONV-042",),
            "alg none with an empty signature: none is never an algorithm.",
        ),
        (
            "alg-none-mixed-case",
            f"{_header_b64({'alg': 'nOnE', 'kid': key.kid, 'typ': typ})}.{body}.",
            "unsupported_alg",
            ("CONV-042",),
            "alg nOnE with an empty signature: none is refused in any letter case.",
        ),
        (
            "alg-from-header",
            _sign_parts(key, {"alg": other_alg, "kid": key.kid, "typ": typ}, payload),
            "unsupported_alg",
            ("CONV-044",),
            f"The header says {other_alg} but the key is bound to {key.alg}; the signature is a "
            f"valid {key.alg} signature: the algorithm comes from the key, never the header.",
        ),
        (
            "typ-missing",
            _sign_parts(key, {"alg": key.alg, "kid": key.kid}, payload),
            "unsupported_typ",
            ("CONV-043",),
            "No typ in the header.",
        ),
        (
            "typ-other-kind",
            compact(key, payload, TYP_RECEIPT if typ != TYP_RECEIPT else TYP_RATE_CARD),
            "unsupported_typ",
            ("CONV-043",),
            "The typ of another kind of document: one kind is never accepted as another.",
        ),
        (
            "crit",
            _sign_parts(
                key,
                {"alg": key.alg, "crit": ["exp"], "exp": 1, "kid": key.kid, "typ": typ},
                payload,
            ),
            "unsupported_crit",
            ("CONV-048",),
            "A crit header parameter: this version defines no critical extension.",
        ),
        (
            "duplicate-member",
            compact(key, duplicated, typ),
            "malformed",
            ("CONV-011",),
            f"The signed payload holds {name} twice, a false value first and the true one "
            "last: duplicate member names are refused, never resolved.",
        ),
        (
            "b64-non-canonical-signature",
            f"{head}.{body}.{_bump_last_char(sig)}",
            "malformed",
            ("CONV-041",),
            "The signature segment spelled with non-zero unused bits: the same bytes, but not "
            "canonical base64url.",
        ),
        (
            "jku-attacker",
            compact(attacker, payload, typ, extra_header={"jku": jku}),
            "unknown_key",
            ("CONV-047", "CONV-045"),
            "Signed by an untrusted key whose JWKS the header's jku points to: keys come only "
            "from the trust store.",
        ),
        (
            "jwk-attacker",
            compact(attacker, payload, typ, extra_header={"jwk": attacker.public_jwk()}),
            "unknown_key",
            ("CONV-047", "CONV-045"),
            "Signed by an untrusted key embedded in the header's jwk.",
        ),
    ]


class _Gen:
    def __init__(self, seed: int) -> None:
        self.rng = seeded("documents", seed)
        self.seed = seed
        self.cases: list[Case] = []

    def case(
        self,
        name: str,
        requirements: tuple[str, ...],
        reason: str,
        data: dict[str, Any],
        expect: Expect,
    ) -> None:
        if expect.error is not None:
            requirements = (*requirements, "CONV-050")
        self.cases.append(
            Case(
                id=f"{PROFILE}/gen/{name}",
                profile=PROFILE,
                requirements=requirements,
                reason=reason,
                calls=(Call("verify-document", data, expect),),
                source=f"generated (seed {self.seed})",
            )
        )

    def documents(self, iss: str) -> list[tuple[str, dict[str, Any], tuple[str, Any]]]:
        rng = self.rng
        iat = 1_790_000_000 + rng.randrange(10**6)
        card = {
            "iss": iss,
            "rate_card_id": f"card-{rng.randrange(16**6):06x}",
            "ver": "1.0",
            "iat": iat,
            "nbf": iat,
            "exp": iat + 86400 * rng.randint(1, 90),
            "unit": "UTU",
            "models": {
                "m-large": {
                    "weights": {"input": "0.0000012", "output": "0.000006"},
                    "tiers": [{"above_input": 128000, "weights": {"input": "0.0000024"}}],
                    "minimum": "0.000001",
                }
            },
            "x-note": "unknown members are kept",
        }
        rates = {
            "iss": iss,
            "rates_id": f"fx-{rng.randrange(16**6):06x}",
            "ver": "1.0",
            "iat": iat,
            "nbf": iat,
            "exp": iat + 86400,
            "base": "UTU",
            "rates": {
                "CNY": {"rate": "7.2", "precision": 2},
                "sht.points": {"rate": "1800000", "precision": 0},
            },
        }
        return [
            ("rate-card", card, ("unit", "EUR")),
            ("exchange-rates", rates, ("base", "EUR")),
        ]

    def build(self) -> list[Case]:
        rng = self.rng
        for alg in ("EdDSA", "ES256"):
            key = SuiteKey.generate(rng, alg)
            attacker = SuiteKey.generate(rng)
            iss = f"https://publisher-{rng.randrange(16**6):06x}.example"
            for kind, claims, duplicate in self.documents(iss):
                typ = _KINDS[kind]
                iat = claims["iat"]
                trust = trust_store({iss: [key.public_jwk(nbf=iat - 86400)]})
                token = sign_claims(key, claims, typ)
                prefix = f"{kind}-{alg.lower()}"
                self.case(
                    f"{prefix}-valid",
                    (
                        "UNIT-021",
                        "FX-001",
                        "CONV-005",
                        "CONV-030",
                        "CONV-031",
                        "CONV-046",
                        "UNIT-029",
                        "FX-009",
                    ),
                    f"A sound {kind} signed with a fresh {alg} key: accepted, unknown members "
                    "kept, digest of the claims.",
                    {"kind": kind, "document": token, "trust": trust},
                    Expect(output={"claims": claims, "digest": digest(jcs(claims))}),
                )
                for name, bad, code, requirements, reason in defects(
                    key, claims, typ, attacker=attacker, duplicate=duplicate
                ):
                    self.case(
                        f"{prefix}-{name}",
                        requirements,
                        reason,
                        {"kind": kind, "document": bad, "trust": trust},
                        Expect(error=code),
                    )
                windows = {
                    "key-not-yet-valid": {"nbf": iat + 1},
                    "key-expired": {"nbf": iat - 86400, "exp": iat},
                    "key-revoked": {
                        "nbf": iat - 86400,
                        "revoked": {"revoked_at": iat, "reason": "key compromise"},
                    },
                }
                for name, window in windows.items():
                    self.case(
                        f"{prefix}-{name}",
                        ("UNIT-031", "FX-010"),
                        f"The signing key's window ({json.dumps(window)}) does not cover the "
                        f"document's iat {iat}.",
                        {
                            "kind": kind,
                            "document": token,
                            "trust": trust_store({iss: [key.public_jwk(**window)]}),
                        },
                        Expect(error="key_not_valid"),
                    )
                self.case(
                    f"{prefix}-key-of-other-issuer",
                    ("REC-033", "CONV-045"),
                    "The signing key is trusted, but for another issuer: keys are bound to their "
                    "issuer.",
                    {
                        "kind": kind,
                        "document": token,
                        "trust": trust_store({"https://other.example": [key.public_jwk(nbf=0)]}),
                    },
                    Expect(error="unknown_key"),
                )
                variants: tuple[tuple[str, dict[str, Any], str | None, tuple[str, ...]], ...] = (
                    (
                        "time-as-string",
                        {"exp": str(claims["exp"])},
                        "schema_violation",
                        ("CONV-002",),
                    ),
                    ("ver-without-minor", {"ver": "1"}, "schema_violation", ("CONV-003",)),
                    ("ver-2", {"ver": "2.0"}, "unsupported_version", ("CONV-004",)),
                    (
                        "ver-1-9",
                        {"ver": "1.9", "x-later": {"added": "in 1.9"}},
                        None,
                        ("CONV-004", "CONV-005"),
                    ),
                )
                for name, change, wanted, requirements in variants:
                    changed = {**claims, **change}
                    expect = (
                        Expect(error=wanted)
                        if wanted is not None
                        else Expect(output={"claims": changed, "digest": digest(jcs(changed))})
                    )
                    self.case(
                        f"{prefix}-{name}",
                        requirements,
                        f"The claims with {json.dumps(change)}, signed: "
                        + (
                            f"rejected with {wanted}."
                            if wanted
                            else "a later minor version is accepted, its new members kept."
                        ),
                        {"kind": kind, "document": sign_claims(key, changed, typ), "trust": trust},
                        expect,
                    )
                self.case(
                    f"{prefix}-unsigned-claims",
                    ("UNIT-032", "FX-011"),
                    "The claims as JSON text in place of the JWS: unsigned claims are refused "
                    "where a signed document is expected.",
                    {"kind": kind, "document": jcs(claims).decode("utf-8"), "trust": trust},
                    Expect(error="invalid_signature"),
                )
        return self.cases


def build(seed: int) -> list[Case]:
    """Every case of the profile."""
    return _document_vectors() + _jws_vectors() + _Gen(seed).build()
