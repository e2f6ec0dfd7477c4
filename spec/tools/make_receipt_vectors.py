"""Generate spec/vectors/receipts.json: valid and invalid usage receipts (REC-040, REC-062).

Every vector is built with the published test keys (spec/test-keys.json) and the SDK's signing
primitives; each invalid vector is made invalid on purpose, in one way, so its expected error
code follows from how it was built, not from what any verifier answers. The vectors are checked
independently by interop/check_vectors.py, which does not use the SDK.

Run: python spec/tools/make_receipt_vectors.py [--check]
"""

from __future__ import annotations

import argparse
import base64
import copy
import hashlib
import json
import sys
from pathlib import Path
from typing import Any

from tokenfed import _json
from tokenfed import _jws as jws
from tokenfed._b64 import b64encode
from tokenfed.keys import KeyValidity, load_private_jwk
from tokenfed.receipts import ReceiptIssuer, ReceiptRequest
from tokenfed.units import RateCard

SPEC = Path(__file__).resolve().parent.parent
OUT = SPEC / "vectors" / "receipts.json"

T0 = 1767225600  # 2026-01-01T00:00:00Z
NOW = T0 + 86400 * 15  # after the rotation, before the revocation
PROVIDER_A = "https://provider-a.example"
PROVIDER_B = "https://provider-b.example"
HOME = "https://home-operator.example"
SUB = "Zk9xW2cLm3P8qRsT"

CARD_CLAIMS: dict[str, Any] = {
    "iss": PROVIDER_A,
    "rate_card_id": "provider-a-2026-01",
    "ver": "1.0",
    "iat": T0 - 86400,
    "nbf": T0 - 86400,
    "exp": T0 + 86400 * 365,
    "unit": "UTU",
    "models": {
        "qwen-max": {
            "weights": {"input": "0.0016", "cache_read": "0.0004", "output": "0.0064"},
            "tiers": [{"above_input": 32000, "weights": {"input": "0.0024", "output": "0.0096"}}],
            "minimum": "0",
        },
        "deepseek-r1": {
            "weights": {"input": "0.004", "output": "0.016", "reasoning": "0.016"},
            "minimum": "0.01",
        },
    },
}
OLD_CARD_CLAIMS = dict(CARD_CLAIMS, rate_card_id="provider-a-2025-12", exp=T0)
USAGE = {"model": "qwen-max", "meters": {"input": 1200, "cache_read": 800, "output": 350}}
USAGE_R1 = {"model": "deepseek-r1", "meters": {"input": 500, "output": 200, "reasoning": 900}}


def _keys() -> dict[str, Any]:
    data = json.loads((SPEC / "test-keys.json").read_text(encoding="utf-8"))
    return {name: load_private_jwk(jwk) for name, jwk in data["keys"].items()}


KEYS = _keys()
ROTATED_AT = T0 + 86400 * 10  # provider-a-rotated signs until then, provider-a after
REVOKED_AT = T0 + 86400 * 20


def trust_store() -> dict[str, Any]:
    def jwk(name: str, validity: KeyValidity) -> dict[str, Any]:
        return KEYS[name].public_key(validity).to_jwk()

    return {
        "ver": "1.0",
        "issuers": {
            PROVIDER_A: {
                "jwks": {
                    "keys": [
                        jwk("provider-a-rotated", KeyValidity(nbf=T0 - 86400, exp=ROTATED_AT)),
                        jwk(
                            "provider-a",
                            KeyValidity(
                                nbf=ROTATED_AT, revoked_at=REVOKED_AT, reason="key compromise"
                            ),
                        ),
                    ]
                }
            },
            PROVIDER_B: {"jwks": {"keys": [jwk("provider-b", KeyValidity(nbf=T0 - 86400))]}},
        },
    }


def bad_kid_trust_store() -> dict[str, Any]:
    store = trust_store()
    key = store["issuers"][PROVIDER_A]["jwks"]["keys"][1]
    key["kid"] = KEYS["attacker"].kid
    return store


def broken_trust_stores() -> dict[str, dict[str, Any]]:
    """One trust store per rule of REC-034, each broken in exactly that way."""
    stores: dict[str, dict[str, Any]] = {}

    def edit(name: str, change: Any) -> None:
        store = trust_store()
        change(store, store["issuers"][PROVIDER_A]["jwks"]["keys"])
        stores[name] = store

    edit("use-enc", lambda s, keys: keys[1].update(use="enc"))
    edit("exp-not-after-nbf", lambda s, keys: keys[1].update(exp=keys[1]["nbf"]))
    edit("exp-null", lambda s, keys: keys[1].update(exp=None))
    edit("duplicate-kid", lambda s, keys: keys.append(dict(keys[1])))
    edit("private-key", lambda s, keys: keys[1].update(d=KEYS["provider-a"].to_jwk()["d"]))
    edit("key-not-object", lambda s, keys: keys.append("a key"))
    edit("no-jwks", lambda s, keys: s["issuers"].update({PROVIDER_B: {"keys": []}}))
    edit(
        "issuer-not-entity-id",
        lambda s, keys: s["issuers"].update({"http://x.example": {"jwks": {"keys": []}}}),
    )
    edit("ver-not-major-minor", lambda s, keys: s.update(ver="1"))
    edit("ver-major-2", lambda s, keys: s.update(ver="2.0"))
    # Both a shape error and a key error: the shape decides (REC-034 order).
    edit(
        "shape-and-key",
        lambda s, keys: (
            keys[1].update(use="enc"),
            s["issuers"].update({"http://x.example": {"jwks": {"keys": []}}}),
        ),
    )
    # A key error under the first issuer, a shape error under the next: the shape decides.
    edit(
        "key-then-shape",
        lambda s, keys: (
            keys[1].update(d=KEYS["provider-a"].to_jwk()["d"]),
            s["issuers"][PROVIDER_B]["jwks"]["keys"].append("a key"),
        ),
    )
    return stores


BROKEN_TRUST_CODES = {
    "use-enc": "invalid_key",
    "exp-not-after-nbf": "invalid_key",
    "exp-null": "invalid_key",
    "duplicate-kid": "invalid_key",
    "private-key": "invalid_key",
    "key-not-object": "schema_violation",
    "no-jwks": "schema_violation",
    "issuer-not-entity-id": "schema_violation",
    "ver-not-major-minor": "schema_violation",
    "ver-major-2": "unsupported_version",
    "shape-and-key": "schema_violation",
    "key-then-shape": "schema_violation",
}


def no_kid_trust_store() -> dict[str, Any]:
    store = trust_store()
    del store["issuers"][PROVIDER_B]["jwks"]["keys"][0]["kid"]
    return store


CARD = RateCard.from_claims(CARD_CLAIMS)
CARD_B = RateCard.from_claims(dict(CARD_CLAIMS, iss=PROVIDER_B, rate_card_id="provider-b-2026-01"))
# The same rate_card_id published again with other weights (REC-049): receipts pick by digest.
CARD_REISSUED_CLAIMS: dict[str, Any] = copy.deepcopy(CARD_CLAIMS)
CARD_REISSUED_CLAIMS["iat"] = T0
CARD_REISSUED_CLAIMS["models"]["qwen-max"]["weights"]["output"] = "0.0072"
CARD_REISSUED = RateCard.from_claims(CARD_REISSUED_CLAIMS)
# A card with a batch service tier at half the base weights (UNIT-071, UNIT-051).
CARD_TIERED_CLAIMS: dict[str, Any] = copy.deepcopy(CARD_CLAIMS)
CARD_TIERED_CLAIMS["rate_card_id"] = "provider-a-tiered-2026-01"
CARD_TIERED_CLAIMS["models"]["qwen-max"]["service_tiers"] = {
    "batch": {"weights": {"input": "0.0008", "cache_read": "0.0002", "output": "0.0032"}}
}
CARD_TIERED = RateCard.from_claims(CARD_TIERED_CLAIMS)


def claims(**changes: Any) -> dict[str, Any]:
    """Claims of a valid seq-1 receipt of provider-a (key provider-a, iat after rotation)."""
    base: dict[str, Any] = {
        "iss": PROVIDER_A,
        "sub": SUB,
        "aud": HOME,
        "jti": "r-0001",
        "iat": ROTATED_AT + 3600,
        "ver": "1.0",
        "usage": copy.deepcopy(USAGE),
        "amount": str(CARD.price(_usage(USAGE)).amount),
        "unit": "UTU",
        "rate_card": {"id": CARD.id, "digest": CARD.digest},
        "seq": 1,
    }
    base["amount"] = _fmt(CARD.price(_usage(USAGE)).amount)
    for name, value in changes.items():
        if value is _DROP:
            base.pop(name, None)
        else:
            base[name] = value
    return base


_DROP = object()


def _usage(value: dict[str, Any]) -> Any:
    from tokenfed.units import parse_usage

    return parse_usage(value)


def _fmt(value: Any) -> str:
    from tokenfed._decimal import format_decimal

    return format_decimal(value)


def sign(body: dict[str, Any], key: str = "provider-a", typ: str = jws.TYP_RECEIPT) -> str:
    return jws.sign(body, KEYS[key], typ)


def raw_token(header: dict[str, Any] | str, payload: bytes | str, key: str = "provider-a") -> str:
    """A token with a hand-made header or payload, signed correctly over what it carries."""
    header_text = header if isinstance(header, str) else json.dumps(header, separators=(",", ":"))
    payload_bytes = payload.encode() if isinstance(payload, str) else payload
    signing_input = b64encode(header_text.encode()) + "." + b64encode(payload_bytes)
    return signing_input + "." + b64encode(KEYS[key].sign(signing_input.encode()))


def header(key: str = "provider-a", **changes: Any) -> dict[str, Any]:
    base = {"alg": KEYS[key].alg, "typ": jws.TYP_RECEIPT, "kid": KEYS[key].kid}
    base.update(changes)
    return {k: v for k, v in base.items() if v is not _DROP}


def digest_of(token: str) -> str:
    """The content digest of a receipt (REC-010): SHA-256 of its payload bytes as received,
    which the next receipt of the stream names in ``prev`` (REC-007)."""
    payload = base64.urlsafe_b64decode(token.split(".")[1] + "==")
    return "sha256:" + hashlib.sha256(payload).hexdigest()


def vector(
    vid: str,
    description: str,
    requirements: list[str],
    receipt: str | dict[str, Any],
    expected: dict[str, Any],
    *,
    prior: list[str | dict[str, Any]] | None = None,
    now: int = NOW,
    rate_cards: list[str] | None = None,
    trust: str = "default",
) -> dict[str, Any]:
    return {
        "id": vid,
        "description": description,
        "requirements": requirements,
        "input": {
            "receipt": receipt,
            "prior": prior or [],
            "now": now,
            "trust": trust,
            "rate_cards": rate_cards or ["default"],
        },
        "expected": expected,
    }


def ok(body: dict[str, Any]) -> dict[str, Any]:
    return {"claims": body}


def err(code: str) -> dict[str, Any]:
    return {"error": code}


def build() -> dict[str, Any]:
    vectors: list[dict[str, Any]] = []
    add = vectors.append
    c1 = claims()
    t1 = sign(c1)
    c2 = claims(jti="r-0002", seq=2, prev=digest_of(t1), usage=copy.deepcopy(USAGE_R1))
    c2["amount"] = _fmt(CARD.price(_usage(USAGE_R1)).amount)
    t2 = sign(c2)

    add(
        vector(
            "valid-eddsa-seq1",
            "A valid EdDSA receipt opening its stream.",
            ["REC-001", "REC-004", "REC-005", "REC-006", "REC-040", "CONV-046"],
            t1,
            ok(c1),
        )
    )
    add(
        vector(
            "valid-eddsa-seq2",
            "The second receipt of the stream, chained to the first.",
            ["REC-006", "REC-007", "REC-043"],
            t2,
            ok(c2),
            prior=[t1],
        )
    )
    dup = vector(
        "valid-identical-resubmission",
        "The same receipt sent twice is accepted and counted once.",
        ["REC-042"],
        t1,
        dict(ok(c1), duplicate=True),
        prior=[t1],
    )
    add(dup)
    old = claims(jti="r-old", iat=T0 + 3600)
    add(
        vector(
            "valid-historical-key",
            "Signed by the rotated key while it was valid, verified after rotation.",
            ["REC-031", "REC-032", "REC-008"],
            sign(old, "provider-a-rotated"),
            ok(old),
        )
    )
    cb = claims(iss=PROVIDER_B, jti="b-0001", rate_card={"id": CARD_B.id, "digest": CARD_B.digest})
    add(
        vector(
            "valid-es256",
            "A valid ES256 receipt of provider-b.",
            ["REC-040", "CONV-042"],
            sign(cb, "provider-b"),
            ok(cb),
            rate_cards=["default", "provider-b"],
        )
    )
    ext = claims(jti="r-ext", entitlement="ent-42", extension_member={"kept": True})
    add(
        vector(
            "valid-entitlement-and-unknown-member",
            "entitlement is accepted and an unknown member is ignored and kept.",
            ["REC-001", "CONV-005"],
            sign(ext),
            ok(ext),
        )
    )

    # Step 1: parse.
    add(
        vector(
            "malformed-two-segments",
            "Only two segments.",
            ["REC-040", "CONV-041"],
            ".".join(t1.split(".")[:2]),
            err("malformed"),
        )
    )
    dup_payload = json.dumps(c1, separators=(",", ":"))[:-1] + ',"amount":"0"}'
    add(
        vector(
            "malformed-duplicate-amount",
            "The payload repeats amount; a lax parser would read the second value.",
            ["REC-040", "CONV-011"],
            raw_token(header(), dup_payload),
            err("malformed"),
        )
    )
    add(
        vector(
            "malformed-duplicate-header-member",
            "The header repeats alg.",
            ["REC-040", "CONV-011"],
            raw_token(
                '{"alg":"EdDSA","alg":"EdDSA","typ":"tokenfed-receipt+jwt","kid":"'
                + KEYS["provider-a"].kid
                + '"}',
                _json.canonical_bytes(c1),
            ),
            err("malformed"),
        )
    )
    big = claims(jti="r-big", padding="x" * 17000)
    add(
        vector(
            "malformed-oversize",
            "A receipt over 16384 bytes.",
            ["REC-009", "CONV-040"],
            sign(big),
            err("malformed"),
        )
    )
    float_payload = _json.canonical_bytes(c1).replace(b'"input":1200', b'"input":1200.0')
    add(
        vector(
            "malformed-float-count",
            "A meter count written as 1200.0.",
            ["REC-040", "CONV-013"],
            raw_token(header(), float_payload),
            err("malformed"),
        )
    )
    exp_payload = _json.canonical_bytes(c1).replace(b'"input":1200', b'"input":12e2')
    add(
        vector(
            "malformed-exponent-count",
            "A meter count written as 12e2.",
            ["REC-040", "CONV-013"],
            raw_token(header(), exp_payload),
            err("malformed"),
        )
    )
    big_int = _json.canonical_bytes(c1).replace(b'"input":1200', b'"input":9007199254740992')
    add(
        vector(
            "malformed-integer-2-53",
            "A count of 2^53, outside I-JSON.",
            ["REC-040", "CONV-012"],
            raw_token(header(), big_int),
            err("malformed"),
        )
    )
    padded = t1.split(".")
    add(
        vector(
            "malformed-base64-padding",
            "A signature segment with = padding.",
            ["CONV-041"],
            ".".join([*padded[:2], padded[2] + "=="]),
            err("malformed"),
        )
    )
    std_alphabet = base64.b64encode(_json.canonical_bytes(c1)).decode().rstrip("=")
    if "+" in std_alphabet or "/" in std_alphabet:
        add(
            vector(
                "malformed-base64-standard-alphabet",
                "Payload in the +/ alphabet.",
                ["CONV-041"],
                f"{padded[0]}.{std_alphabet}.{padded[2]}",
                err("malformed"),
            )
        )
    add(
        vector(
            "malformed-not-utf8",
            "A payload that is not UTF-8.",
            ["CONV-010"],
            raw_token(header(), b'{"iss":"\xff"}'),
            err("malformed"),
        )
    )
    deep = b'{"iss":"' + PROVIDER_A.encode() + b'","x":' + b"[" * 40 + b"]" * 40 + b"}"
    add(
        vector(
            "malformed-deep-nesting",
            "Arrays nested 40 deep.",
            ["CONV-015"],
            raw_token(header(), deep),
            err("malformed"),
        )
    )

    # CONV-016: a noncharacter, raw or escaped, in the payload or the header is malformed.
    model = b'"model":"qwen-max"'
    add(
        vector(
            "malformed-noncharacter-raw",
            "The model id ends with U+FFFF written raw (EF BF BF); otherwise valid and signed.",
            ["REC-040", "CONV-016"],
            raw_token(
                header(),
                _json.canonical_bytes(c1).replace(model, b'"model":"qwen-max\xef\xbf\xbf"'),
            ),
            err("malformed"),
        )
    )
    add(
        vector(
            "malformed-noncharacter-escaped",
            "The model id ends with U+FDD0 written as the escape \\uFDD0; otherwise valid, signed.",
            ["REC-040", "CONV-016"],
            raw_token(
                header(), _json.canonical_bytes(c1).replace(model, b'"model":"qwen-max\\uFDD0"')
            ),
            err("malformed"),
        )
    )
    pair_header = json.dumps(header(), separators=(",", ":"))[:-1] + ',"x":"\\ud83f\\udfff"}'
    add(
        vector(
            "malformed-noncharacter-header",
            "The header holds U+1FFFF as the escaped surrogate pair \\ud83f\\udfff.",
            ["REC-040", "CONV-016"],
            raw_token(pair_header, _json.canonical_bytes(c1)),
            err("malformed"),
        )
    )

    # Steps 2-4: typ, alg, crit.
    add(
        vector(
            "unsupported-typ-rate-card",
            "A receipt signed with the rate-card typ.",
            ["REC-001", "CONV-043"],
            sign(c1, typ=jws.TYP_RATE_CARD),
            err("unsupported_typ"),
        )
    )
    add(
        vector(
            "unsupported-typ-missing",
            "No typ header.",
            ["CONV-043"],
            raw_token(header(typ=_DROP), _json.canonical_bytes(c1)),
            err("unsupported_typ"),
        )
    )
    add(
        vector(
            "unsupported-typ-batch",
            "A batch statement typ on receipt claims.",
            ["CONV-043"],
            sign(c1, typ=jws.TYP_RECEIPT_BATCH),
            err("unsupported_typ"),
        )
    )
    none_token = (
        b64encode(json.dumps(header(alg="none")).encode())
        + "."
        + b64encode(_json.canonical_bytes(c1))
        + "."
    )
    add(
        vector(
            "unsupported-alg-none",
            "alg none with an empty signature.",
            ["CONV-042"],
            none_token,
            err("unsupported_alg"),
        )
    )
    none_upper = (
        b64encode(json.dumps(header(alg="NONE")).encode())
        + "."
        + b64encode(_json.canonical_bytes(c1))
        + "."
    )
    add(
        vector(
            "unsupported-alg-none-uppercase",
            "alg NONE.",
            ["CONV-042"],
            none_upper,
            err("unsupported_alg"),
        )
    )
    hs_input = (
        b64encode(json.dumps(header(alg="HS256")).encode())
        + "."
        + b64encode(_json.canonical_bytes(c1))
    )
    import hmac

    secret = base64.urlsafe_b64decode(KEYS["provider-a"].to_jwk()["x"] + "=")
    hs_sig = hmac.new(secret, hs_input.encode(), hashlib.sha256).digest()
    add(
        vector(
            "unsupported-alg-hs256-public-key-secret",
            "HS256 with the issuer's public key as the HMAC secret.",
            ["CONV-042"],
            hs_input + "." + b64encode(hs_sig),
            err("unsupported_alg"),
        )
    )
    add(
        vector(
            "unsupported-alg-not-pinned",
            "Header says ES256 on an Ed25519 key.",
            ["CONV-044", "REC-040"],
            raw_token(header(alg="ES256"), _json.canonical_bytes(c1)),
            err("unsupported_alg"),
        )
    )
    add(
        vector(
            "unsupported-crit",
            "A crit header.",
            ["CONV-048", "REC-040"],
            raw_token(header(crit=["exp"]), _json.canonical_bytes(c1)),
            err("unsupported_crit"),
        )
    )

    # Step 5: key.
    add(
        vector(
            "unknown-key-attacker",
            "Signed by a key no trust store lists.",
            ["CONV-045"],
            sign(c1, "attacker"),
            err("unknown_key"),
        )
    )
    jku = raw_token(
        header(
            "attacker",
            jku="https://attacker.example/jwks.json",
            jwk=KEYS["attacker"].public_key().to_jwk(with_validity=False),
        ),
        _json.canonical_bytes(c1),
        "attacker",
    )
    add(
        vector(
            "unknown-key-jku-jwk-not-followed",
            "The header points at and embeds the attacker's key; neither is used.",
            ["CONV-047"],
            jku,
            err("unknown_key"),
        )
    )
    other_iss = claims(iss=PROVIDER_B)
    add(
        vector(
            "unknown-key-wrong-issuer",
            "provider-a's key signs a receipt claiming to be from provider-b.",
            ["REC-033"],
            sign(other_iss),
            err("unknown_key"),
        )
    )
    add(
        vector(
            "key-not-valid-before-nbf",
            "Signed by provider-a before its nbf.",
            ["REC-031"],
            sign(claims(iat=ROTATED_AT - 1)),
            err("key_not_valid"),
        )
    )
    add(
        vector(
            "key-not-valid-expired",
            "Signed by the rotated key at its exp.",
            ["REC-031", "REC-032"],
            sign(claims(iat=ROTATED_AT), "provider-a-rotated"),
            err("key_not_valid"),
        )
    )
    add(
        vector(
            "key-not-valid-revoked",
            "Signed by provider-a at its revocation time.",
            ["REC-031"],
            sign(claims(iat=REVOKED_AT)),
            err("key_not_valid"),
        )
    )

    # Step 6: signature.
    tampered = claims(amount="0.000001")
    parts = t1.split(".")
    add(
        vector(
            "invalid-signature-amount-lowered",
            "The amount was lowered after signing; the signature is the original one.",
            ["CONV-049", "REC-040"],
            f"{parts[0]}.{b64encode(_json.canonical_bytes(tampered))}.{parts[2]}",
            err("invalid_signature"),
        )
    )

    # Steps 7-8: version, schema.
    add(
        vector(
            "unsupported-version-2",
            "ver 2.0.",
            ["CONV-004", "REC-040"],
            sign(claims(ver="2.0")),
            err("unsupported_version"),
        )
    )
    add(
        vector(
            "schema-missing-jti",
            "No jti.",
            ["REC-001"],
            sign(claims(jti=_DROP)),
            err("schema_violation"),
        )
    )
    add(
        vector(
            "schema-sub-phone-number",
            "sub is a phone number in clear.",
            ["REC-003"],
            sign(claims(sub="8613800138000000")),
            err("schema_violation"),
        )
    )
    add(
        vector(
            "schema-seq1-with-prev",
            "seq 1 with prev.",
            ["REC-006"],
            sign(claims(prev=digest_of(t1))),
            err("schema_violation"),
        )
    )
    add(
        vector(
            "invalid-usage-negative-count",
            "A negative meter count.",
            ["REC-040"],
            sign(claims(usage={"model": "qwen-max", "meters": {"input": -5}})),
            err("invalid_usage"),
        )
    )
    add(
        vector(
            "schema-receipt-with-exp",
            "A receipt carrying exp.",
            ["REC-008"],
            sign(claims(exp=NOW + 60)),
            err("schema_violation"),
        )
    )
    add(
        vector(
            "invalid-amount-trailing-zero",
            "amount 5.0 is not canonical.",
            ["REC-004", "CONV-020", "CONV-023"],
            sign(claims(amount="5.0")),
            err("invalid_amount"),
        )
    )
    add(
        vector(
            "invalid-amount-seven-digits",
            "amount with 7 fractional digits.",
            ["REC-004", "CONV-021"],
            sign(claims(amount="5.0000001")),
            err("invalid_amount"),
        )
    )
    add(
        vector(
            "unknown-meter",
            "A meter outside the registry.",
            ["REC-040"],
            sign(claims(usage={"model": "qwen-max", "meters": {"tokens": 5}})),
            err("unknown_meter"),
        )
    )

    add(
        vector(
            "schema-aud-array",
            "aud is an array (a hostile, unhashable value), not an entity id.",
            ["REC-001", "CONV-001"],
            sign(claims(aud=[HOME])),
            err("schema_violation"),
        )
    )

    add(
        vector(
            "precedence-schema-before-meter",
            "sub is a phone number and a meter is unknown: the schema failure is reported.",
            ["REC-048"],
            sign(claims(sub="8613800138000000", usage={"model": "qwen-max", "meters": {"x": 1}})),
            err("schema_violation"),
        )
    )
    add(
        vector(
            "precedence-meter-before-amount",
            "A meter is unknown and the amount is not canonical: unknown_meter is reported.",
            ["REC-048"],
            sign(claims(amount="5.0", usage={"model": "qwen-max", "meters": {"tokens": 1}})),
            err("unknown_meter"),
        )
    )
    add(
        vector(
            "precedence-usage-before-amount",
            "A count is negative and the amount is not canonical: invalid_usage is reported.",
            ["REC-048"],
            sign(claims(amount="5.0", usage={"model": "qwen-max", "meters": {"input": -1}})),
            err("invalid_usage"),
        )
    )

    add(
        vector(
            "precedence-rule-between-members-before-amount",
            "seq 1 with a prev (a rule between two valid members) and an amount that is not "
            "canonical: the schema failure is reported, not invalid_amount.",
            ["REC-048", "REC-006"],
            sign(claims(seq=1, prev="sha256:" + "0" * 64, amount="5.0")),
            err("schema_violation"),
        )
    )
    add(
        vector(
            "precedence-all-digit-sub-before-amount",
            "sub of digits only (a number in clear) and an amount that is not canonical: "
            "schema_violation.",
            ["REC-048", "REC-003"],
            sign(claims(sub="8613800138000000", amount="5.0")),
            err("schema_violation"),
        )
    )

    # Step 9: time.
    add(
        vector(
            "iat-in-future",
            "iat far beyond the clock skew.",
            ["REC-041", "REC-040"],
            sign(claims(iat=NOW + 3600)),
            err("iat_in_future"),
            now=NOW,
        )
    )

    # Steps 10-11: rate card, amount.
    add(
        vector(
            "unknown-rate-card",
            "A rate card the verifier does not hold.",
            ["REC-040"],
            sign(claims(rate_card={"id": "nope", "digest": CARD.digest})),
            err("unknown_rate_card"),
        )
    )
    add(
        vector(
            "rate-card-digest-mismatch",
            "The right id with another digest.",
            ["REC-005", "REC-040"],
            sign(claims(rate_card={"id": CARD.id, "digest": "sha256:" + "0" * 64})),
            err("rate_card_mismatch"),
        )
    )
    old_card = RateCard.from_claims(OLD_CARD_CLAIMS)
    add(
        vector(
            "rate-card-not-valid-at-iat",
            "The card had expired at iat.",
            ["REC-040"],
            sign(claims(rate_card={"id": old_card.id, "digest": old_card.digest})),
            err("rate_card_mismatch"),
            rate_cards=["default", "provider-a-old"],
        )
    )
    add(
        vector(
            "amount-mismatch",
            "The amount is one micro-UTU high.",
            ["REC-040"],
            sign(claims(amount=_fmt(CARD.price(_usage(USAGE)).amount + _dec("0.000001")))),
            err("amount_mismatch"),
        )
    )
    add(
        vector(
            "unknown-model",
            "A model the card does not price.",
            ["REC-040"],
            sign(claims(usage={"model": "gpt-x", "meters": {"input": 5}})),
            err("unknown_model"),
        )
    )
    add(
        vector(
            "unpriced-meter",
            "A meter with no weight for the model.",
            ["REC-040"],
            sign(
                claims(usage={"model": "qwen-max", "meters": {"image_in": 2}}),
            ),
            err("unpriced_meter"),
        )
    )

    add(
        vector(
            "invalid-key-trust-store-kid",
            "The trust store lists provider-a's key under a kid that is not its thumbprint.",
            ["REC-034", "CONV-045"],
            t1,
            err("invalid_key"),
            trust="bad-kid",
        )
    )
    add(
        vector(
            "invalid-key-trust-store-without-kid",
            "A trust-store key without kid refuses the whole trust store.",
            ["REC-034"],
            t1,
            err("invalid_key"),
            trust="no-kid",
        )
    )

    for name, code in BROKEN_TRUST_CODES.items():
        add(
            vector(
                f"trust-store-{name}",
                f"A trust store broken in one way ({name}) is refused whole with {code}, "
                "in the order REC-034 gives (version, shape, keys).",
                ["REC-034"],
                t1,
                err(code),
                trust=name,
            )
        )

    # Steps 12-13: replay, chain.
    replay = claims(usage={"model": "qwen-max", "meters": {"input": 1}})
    replay["amount"] = _fmt(CARD.price(_usage(replay["usage"])).amount)
    add(
        vector(
            "replay-same-jti-other-content",
            "jti r-0001 again with other usage.",
            ["REC-042"],
            sign(replay),
            err("replay"),
            prior=[t1],
        )
    )
    add(
        vector(
            "chain-break-gap",
            "seq 2 arrives for a stream the verifier has not seen.",
            ["REC-043"],
            t2,
            err("chain_break"),
        )
    )
    wrong_prev = claims(jti="r-0002", seq=2, prev="sha256:" + "1" * 64)
    add(
        vector(
            "chain-break-prev-mismatch",
            "seq 2 whose prev is not the digest of seq 1.",
            ["REC-043", "REC-007"],
            sign(wrong_prev),
            err("chain_break"),
            prior=[t1],
        )
    )

    # The usage's service tier selects the rates the amount is checked with (UNIT-051).
    tiered_ref = {"id": CARD_TIERED.id, "digest": CARD_TIERED.digest}
    batch_usage = dict(copy.deepcopy(USAGE), service_tier="batch")
    batch_ok = claims(jti="r-batch", usage=batch_usage, rate_card=tiered_ref)
    batch_ok["amount"] = _fmt(CARD_TIERED.price(_usage(batch_usage)).amount)
    add(
        vector(
            "valid-service-tier-batch",
            "A batch-tier usage priced with the card's batch rates (half the base).",
            ["REC-040", "UNIT-051", "UNIT-070"],
            sign(batch_ok),
            ok(batch_ok),
            rate_cards=["tiered"],
        )
    )
    batch_base = dict(batch_ok, jti="r-batch-base")
    batch_base["amount"] = _fmt(CARD_TIERED.price(_usage(USAGE)).amount)
    add(
        vector(
            "amount-mismatch-service-tier-priced-at-base",
            "A batch-tier usage whose amount is the base price: the amount is checked with the "
            "batch rates.",
            ["REC-040", "UNIT-051"],
            sign(batch_base),
            err("amount_mismatch"),
            rate_cards=["tiered"],
        )
    )
    flex = claims(
        jti="r-flex", usage=dict(copy.deepcopy(USAGE), service_tier="flex"), rate_card=tiered_ref
    )
    flex["amount"] = batch_ok["amount"]
    add(
        vector(
            "unpriced-service-tier",
            "A flex-tier usage under a card that prices only the batch tier.",
            ["REC-040", "UNIT-051"],
            sign(flex),
            err("unpriced_service_tier"),
            rate_cards=["tiered"],
        )
    )

    # Several held rate cards with one id: the receipt's digest selects (REC-049).
    reissued = claims(jti="r-reissued", rate_card={"id": CARD.id, "digest": CARD_REISSUED.digest})
    reissued["amount"] = _fmt(CARD_REISSUED.price(_usage(USAGE)).amount)
    add(
        vector(
            "valid-rate-card-version-by-digest",
            "The verifier holds two versions of one rate_card_id; the receipt names the second "
            "by its digest and is priced with it.",
            ["REC-049", "REC-040"],
            sign(reissued),
            ok(reissued),
            rate_cards=["default", "default-reissued"],
        )
    )
    add(
        vector(
            "rate-card-mismatch-no-version-with-digest",
            "The verifier holds only the reissued version of the rate card; the receipt names the "
            "first version's digest.",
            ["REC-049", "REC-040"],
            t1,
            err("rate_card_mismatch"),
            rate_cards=["default-reissued"],
        )
    )
    # The same claims signed twice: another header, so other signature bytes (REC-010, REC-042).
    resigned = raw_token(
        json.dumps(
            {"kid": KEYS["provider-a"].kid, "typ": jws.TYP_RECEIPT, "alg": "EdDSA"},
            separators=(",", ":"),
        ),
        _json.canonical_bytes(c1),
    )
    add(
        vector(
            "valid-same-claims-signed-twice",
            "The claims of seq 1 signed again under a header with its members in another order: "
            "other JWS bytes and signature, the same payload bytes, so the same content digest. "
            "An identical resubmission: accepted as a duplicate, counted once.",
            ["REC-010", "REC-042"],
            resigned,
            dict(ok(c1), duplicate=True),
            prior=[t1],
        )
    )
    add(
        vector(
            "valid-chain-after-resigned-twin",
            "The re-signed twin of seq 1 arrives first; seq 2, whose prev is the content digest "
            "of seq 1, still continues the stream (REC-007 chains content, not signature bytes).",
            ["REC-007", "REC-010", "REC-043"],
            t2,
            ok(c2),
            prior=[resigned, t1],
        )
    )

    # Batched receipts.
    issuer = ReceiptIssuer(KEYS["provider-a"], PROVIDER_A, CARD, clock=lambda: ROTATED_AT + 7200)
    requests = [ReceiptRequest(aud=HOME, sub=SUB, usage=USAGE, jti=f"m-{i:04d}") for i in range(5)]
    batched = issuer.issue_batch(requests, batch_id="batch-0001")
    batch_claims = [_json.loads(base64.urlsafe_b64decode(b["claims"] + "==")) for b in batched]
    add(
        vector(
            "valid-batched-first",
            "Leaf 0 of a 5-receipt batch.",
            ["REC-060", "REC-061", "REC-062"],
            batched[0],
            ok(batch_claims[0]),
        )
    )
    add(
        vector(
            "valid-batched-last",
            "Leaf 4 of a 5-receipt batch, chained after leaf 0..3.",
            ["REC-060", "REC-062", "REC-063"],
            batched[4],
            ok(batch_claims[4]),
            prior=list(batched[:4]),
        )
    )
    wrong_index = dict(batched[1], leaf_index=2)
    add(
        vector(
            "invalid-proof-wrong-index",
            "The proof of leaf 1 presented as leaf 2.",
            ["REC-062"],
            wrong_index,
            err("invalid_proof"),
            prior=[batched[0]],
        )
    )
    bad_path = dict(batched[1], audit_path=["00" * 32, *batched[1]["audit_path"][1:]])
    add(
        vector(
            "invalid-proof-tampered-path",
            "A hash of the audit path was replaced.",
            ["REC-062"],
            bad_path,
            err("invalid_proof"),
            prior=[batched[0]],
        )
    )
    short_hash = dict(batched[1], audit_path=["00" * 31, *batched[1]["audit_path"][1:]])
    add(
        vector(
            "invalid-proof-short-hash",
            "An audit path entry of 31 bytes.",
            ["REC-062"],
            short_hash,
            err("invalid_proof"),
            prior=[batched[0]],
        )
    )
    beyond = dict(batched[1], leaf_index=5)
    add(
        vector(
            "invalid-proof-index-beyond-size",
            "leaf_index equal to tree_size.",
            ["REC-062"],
            beyond,
            err("invalid_proof"),
            prior=[batched[0]],
        )
    )
    upper = dict(batched[1], audit_path=[entry.upper() for entry in batched[1]["audit_path"]])
    add(
        vector(
            "invalid-proof-upper-case-hex",
            "The right audit path written in upper-case hex: entries are 64 lowercase hex digits.",
            ["REC-062"],
            upper,
            err("invalid_proof"),
            prior=[batched[0]],
        )
    )
    add(
        vector(
            "malformed-batched-negative-index",
            "leaf_index -1: not an integer >= 0, so the batched receipt does not parse.",
            ["REC-062"],
            dict(batched[1], leaf_index=-1),
            err("malformed"),
            prior=[batched[0]],
        )
    )
    add(
        vector(
            "malformed-batched-path-entry-not-string",
            "An audit_path entry that is a number, not a string.",
            ["REC-062"],
            dict(batched[1], audit_path=[0, *batched[1]["audit_path"][1:]]),
            err("malformed"),
            prior=[batched[0]],
        )
    )
    add(
        vector(
            "malformed-batched-ver-not-major-minor",
            'ver "2" is not MAJOR.MINOR, so the batched receipt does not parse.',
            ["REC-062", "CONV-003"],
            dict(batched[1], ver="2"),
            err("malformed"),
            prior=[batched[0]],
        )
    )
    swapped = dict(batched[1], claims=batched[2]["claims"])
    add(
        vector(
            "invalid-proof-claims-swapped",
            "Claims of leaf 2 with the proof of leaf 1.",
            ["REC-062", "REC-061"],
            swapped,
            err("invalid_proof"),
            prior=[batched[0]],
        )
    )
    forged_batch = dict(batched[1])
    statement = _json.loads(base64.urlsafe_b64decode(batched[1]["batch"].split(".")[1] + "=="))
    forged_batch["batch"] = sign(statement, "attacker", jws.TYP_RECEIPT_BATCH)
    add(
        vector(
            "batched-statement-unknown-key",
            "The batch statement is signed by the attacker.",
            ["REC-062"],
            forged_batch,
            err("unknown_key"),
            prior=[batched[0]],
        )
    )
    receipt_typ = dict(batched[1], batch=sign(statement, "provider-a", jws.TYP_RECEIPT))
    add(
        vector(
            "batched-statement-wrong-typ",
            "The batch statement carries the receipt typ.",
            ["REC-062", "CONV-043"],
            receipt_typ,
            err("unsupported_typ"),
            prior=[batched[0]],
        )
    )
    late = [ReceiptRequest(aud=HOME, sub=SUB, usage=USAGE, jti="late-0001")]
    late_issuer = ReceiptIssuer(KEYS["provider-a"], PROVIDER_A, CARD)
    late_claims = claims(jti="late-0001", iat=ROTATED_AT + 9000)
    leaf = _json.canonical_bytes(late_claims)
    from tokenfed import _merkle

    late_statement = {
        "iss": PROVIDER_A,
        "ver": "1.0",
        "iat": ROTATED_AT + 8000,
        "batch_id": "batch-late",
        "tree_size": 1,
        "tree_root": _merkle.root([leaf]).hex(),
    }
    del late, late_issuer
    add(
        vector(
            "invalid-proof-receipt-after-batch",
            "A receipt whose iat is later than its batch statement's iat.",
            ["REC-065"],
            {
                "ver": "1.0",
                "claims": b64encode(leaf),
                "leaf_index": 0,
                "audit_path": [],
                "batch": sign(late_statement, typ=jws.TYP_RECEIPT_BATCH),
            },
            err("invalid_proof"),
        )
    )

    return {
        "$schema": "../schemas/vectors.schema.json",
        "kind": "receipts",
        "spec_version": "1.0",
        "description": (
            "Usage receipts and Merkle-batched receipts, valid and invalid. Input: the receipt "
            "(JWS string or batched-receipt object), receipts to verify first ('prior', which "
            "must all be accepted), the verifier clock 'now', and names of the trust store and "
            "rate cards listed in 'fixtures' ('rate_cards' holds their claims, "
            "'rate_card_tokens' the same cards signed by their issuers, to be verified with the "
            "trust store as UNIT-031 requires). A verifier tracks replays and the stream chain "
            "(REC-042, REC-043), with prev naming the previous receipt's content digest (REC-007)."
        ),
        "provenance": (
            "Generated by spec/tools/make_receipt_vectors.py with the published test keys of "
            "spec/test-keys.json. Each invalid vector is broken in exactly one way, so its "
            "expected code follows from how it was built. Checked independently by "
            "interop/check_vectors.py (joserfc for JWS, its own pricing and Merkle code)."
        ),
        "fixtures": {
            "trust": {
                "default": trust_store(),
                "bad-kid": bad_kid_trust_store(),
                "no-kid": no_kid_trust_store(),
                **broken_trust_stores(),
            },
            "rate_cards": {
                "default": CARD_CLAIMS,
                "provider-b": CARD_B.raw,
                "provider-a-old": OLD_CARD_CLAIMS,
                "default-reissued": CARD_REISSUED_CLAIMS,
                "tiered": CARD_TIERED_CLAIMS,
            },
            "rate_card_tokens": {
                "default": sign(CARD_CLAIMS, "provider-a-rotated", jws.TYP_RATE_CARD),
                "provider-b": sign(CARD_B.raw, "provider-b", jws.TYP_RATE_CARD),
                "provider-a-old": sign(OLD_CARD_CLAIMS, "provider-a-rotated", jws.TYP_RATE_CARD),
                "default-reissued": sign(
                    CARD_REISSUED_CLAIMS, "provider-a-rotated", jws.TYP_RATE_CARD
                ),
                "tiered": sign(CARD_TIERED_CLAIMS, "provider-a-rotated", jws.TYP_RATE_CARD),
            },
        },
        "vectors": vectors,
    }


def _dec(text: str) -> Any:
    from decimal import Decimal

    return Decimal(text)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail if the file would change")
    args = parser.parse_args()
    text = json.dumps(build(), indent=1, ensure_ascii=False) + "\n"
    if args.check:
        current = OUT.read_text(encoding="utf-8") if OUT.exists() else ""
        if _without_es256(current) != _without_es256(text):
            print(f"{OUT} is out of date; run {Path(__file__).name}", file=sys.stderr)
            return 1
        return 0
    OUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUT}")
    return 0


def _without_es256(text: str) -> Any:
    """ES256 signatures are randomized: compare files with the ES256 vector's token blanked."""
    if not text:
        return None
    data = json.loads(text)
    for item in data["vectors"]:
        if item["id"] == "valid-es256":
            item["input"]["receipt"] = None
    data["fixtures"]["rate_card_tokens"]["provider-b"] = None
    return data


if __name__ == "__main__":
    sys.exit(main())
