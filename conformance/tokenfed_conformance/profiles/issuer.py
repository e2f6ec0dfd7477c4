"""Profile ``receipt-issuer``: the implementation signs receipts and batches; the suite checks
every byte (receipts chapter).

All cases are generated from the seed: fresh issuer and publisher keys, rate cards and usages.
The expected claims are computed by the suite (amount from its exact reference), so the
expected payload is known to the byte: the JCS serialization of those claims (CONV-046).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .._codec import StrictJSONError, b64d, b64e, digest, jcs, loads_strict
from .._crypto import P256_ORDER, SuiteKey, verify_jws
from .._merkle import inclusion_proof, root
from .._reference import price
from ..cases import Call, Case, Check, Expect, Outcome
from ._common import TYP_BATCH, TYP_RATE_CARD, TYP_RECEIPT, seeded, sign_claims, trust_store

__all__ = ["build"]

PROFILE = "receipt-issuer"
_FORBIDDEN_HEADER = ("crit", "jku", "x5u", "jwk", "x5c")


def _diff_claims(expected: dict[str, Any], payload: bytes) -> list[str]:
    try:
        actual = loads_strict(payload)
    except StrictJSONError as exc:
        return [f"the payload is not strict JSON: {exc}"]
    if not isinstance(actual, dict):
        return ["the payload is not a JSON object"]
    problems = []
    for name in sorted(set(expected) | set(actual)):
        if name not in actual:
            problems.append(f"claim {name!r} is missing (expected {expected[name]!r})")
        elif name not in expected:
            problems.append(f"claim {name!r} is not expected (got {actual[name]!r})")
        elif actual[name] != expected[name]:
            problems.append(f"claim {name!r} is {actual[name]!r}, expected {expected[name]!r}")
    if not problems:
        problems.append("the payload holds the expected claims but is not their JCS bytes")
    return problems


def _check_jws(token: object, key: SuiteKey, typ: str, expected: dict[str, Any]) -> list[str]:
    """Header, payload bytes and signature of a JWS the implementation signed."""
    if not isinstance(token, str) or token.count(".") != 2:
        return [f"not a JWS compact serialization: {token!r}"[:300]]
    head, body, _sig = token.split(".")
    try:
        header = loads_strict(b64d(head))
        payload = b64d(body)
    except (ValueError, StrictJSONError) as exc:
        return [f"header or payload is not canonical base64url of JSON: {exc}"]
    problems = []
    if not isinstance(header, dict):
        return ["the header is not a JSON object"]
    for name, want in (("alg", key.alg), ("typ", typ), ("kid", key.kid)):
        if header.get(name) != want:
            problems.append(f"header {name} is {header.get(name)!r}, expected {want!r}")
    problems += [f"header has {name!r}" for name in _FORBIDDEN_HEADER if name in header]
    if typ == TYP_RECEIPT and len(token) > 16384:
        problems.append(f"the receipt is {len(token)} bytes long; at most 16384 (REC-009)")
    if payload != jcs(expected):
        problems += _diff_claims(expected, payload)
    try:
        signature = b64d(_sig)
    except ValueError:
        return [*problems, "the signature segment is not canonical base64url"]
    if (
        key.alg == "ES256"
        and len(signature) == 64
        and (int.from_bytes(signature[32:], "big") > P256_ORDER // 2)
    ):
        problems.append("the ES256 signature has a high S (s > n/2): signers produce low S")
    elif not verify_jws(key.public_members(), token):
        problems.append(
            "the signature does not verify with the issuer's key"
            + (" (ES256 needs 64 bytes r || s)" if key.alg == "ES256" else "")
        )
    return problems


def _receipt_check(key: SuiteKey, expected: dict[str, Any], chained: bool) -> Check:
    def check(output: Any, earlier: Sequence[Outcome]) -> list[str]:
        problems = _check_jws(output.get("receipt"), key, TYP_RECEIPT, expected)
        if chained and earlier and earlier[-1].status == "accepted":
            previous = earlier[-1].output.get("receipt")
            if isinstance(previous, str) and previous.count(".") == 2:
                try:
                    content = digest(b64d(previous.split(".")[1]))
                except ValueError:
                    content = None
                if content is not None and expected.get("prev") != content:
                    problems.append("the chain was not continued from the previous receipt")
        return problems

    return check


def _batch_check(key: SuiteKey, claims: list[dict[str, Any]], statement: dict[str, Any]) -> Check:
    leaves = [jcs(item) for item in claims]

    def check(output: Any, _earlier: Sequence[Outcome]) -> list[str]:
        batched = output.get("batched")
        if not isinstance(batched, list) or len(batched) != len(claims):
            return [f"expected {len(claims)} batched receipts, got {batched!r}"[:300]]
        problems = []
        statements = {item.get("batch") if isinstance(item, dict) else None for item in batched}
        if len(statements) != 1:
            problems.append("the batched receipts do not share one batch statement")
        token = next(iter(statements))
        problems += [f"batch statement: {p}" for p in _check_jws(token, key, TYP_BATCH, statement)]
        for index, item in enumerate(batched):
            where = f"batched receipt {index}"
            if not isinstance(item, dict):
                problems.append(f"{where} is not an object")
                continue
            if item.get("ver") != "1.0":
                problems.append(f"{where}: ver is {item.get('ver')!r}")
            if item.get("leaf_index") != index:
                problems.append(
                    f"{where}: leaf_index is {item.get('leaf_index')!r}, expected {index}"
                )
            if item.get("claims") != b64e(leaves[index]):
                try:
                    got = b64d(str(item.get("claims")))
                except ValueError:
                    problems.append(f"{where}: claims is not canonical base64url")
                    continue
                problems += [f"{where}: {p}" for p in _diff_claims(claims[index], got)]
            want = [node.hex() for node in inclusion_proof(index, leaves)]
            if item.get("audit_path") != want:
                problems.append(f"{where}: audit_path is not the RFC 9162 inclusion proof")
        return problems

    return check


class _Gen:
    def __init__(self, seed: int) -> None:
        self.rng = seeded("issuer", seed)
        self.seed = seed
        self.cases: list[Case] = []
        self.publisher = SuiteKey.generate(self.rng)
        self.publisher_iss = f"https://alliance-{self.rng.randrange(16**6):06x}.example"
        self.trust = trust_store({self.publisher_iss: [self.publisher.public_jwk(nbf=0)]})
        iat = 1_790_000_000 + self.rng.randrange(10**6)
        self.card: dict[str, Any] = {
            "iss": self.publisher_iss,
            "rate_card_id": f"card-{self.rng.randrange(16**6):06x}",
            "ver": "1.0",
            "iat": iat,
            "nbf": iat,
            "exp": iat + 90 * 86400,
            "unit": "UTU",
            "models": {
                "m-large": {
                    "weights": {
                        "input": "0.0000012",
                        "cache_read": "0.00000024",
                        "output": "0.000006",
                        "reasoning": "0.000006",
                    },
                    "tiers": [{"above_input": 32000, "weights": {"input": "0.0000024"}}],
                    "minimum": "0.000001",
                },
                "m-tiny": {"weights": {"input": "0.0000005"}, "minimum": "0"},
            },
        }
        self.card_jws = sign_claims(self.publisher, self.card, TYP_RATE_CARD)

    def token(self, size: int = 16) -> str:
        return b64e(self.rng.randbytes(size))

    def usage(self) -> dict[str, Any]:
        rng = self.rng
        meters = {"input": rng.randint(1, 60_000), "output": rng.randint(1, 4000)}
        if rng.random() < 0.5:
            meters["cache_read"] = rng.randint(1, 20_000)
        if rng.random() < 0.3:
            meters["reasoning"] = rng.randint(1, 9000)
        return {"model": "m-large", "meters": meters}

    def claims(
        self,
        iss: str,
        request: dict[str, Any],
        iat: int,
        seq: int,
        prev: str | None,
    ) -> dict[str, Any]:
        claims = {
            "iss": iss,
            "sub": request["sub"],
            "aud": request["aud"],
            "jti": request["jti"],
            "iat": iat,
            "ver": "1.0",
            "usage": request["usage"],
            "amount": price(self.card, request["usage"], iat)["amount"],
            "unit": "UTU",
            "rate_card": {"id": self.card["rate_card_id"], "digest": digest(jcs(self.card))},
            "seq": seq,
        }
        if request.get("entitlement") is not None:
            claims["entitlement"] = request["entitlement"]
        if prev is not None:
            claims["prev"] = prev
        return claims

    def request(self, aud: str, *, entitlement: bool = False) -> dict[str, Any]:
        return {
            "aud": aud,
            "sub": "s" + self.token(15),
            "jti": "r-" + self.token(),
            "entitlement": ("ent-" + self.token(9)) if entitlement else None,
            "usage": self.usage(),
        }

    def add(self, name: str, requirements: tuple[str, ...], reason: str, calls: list[Call]) -> None:
        self.cases.append(
            Case(
                id=f"{PROFILE}/gen/{name}",
                profile=PROFILE,
                requirements=requirements,
                reason=reason,
                calls=tuple(calls),
                source=f"generated (seed {self.seed})",
            )
        )

    def issue_input(
        self,
        key: SuiteKey,
        iss: str,
        request: dict[str, Any],
        iat: int,
        head: dict[str, Any] | None,
    ) -> dict[str, Any]:
        return {
            "key": key.private_jwk(),
            "iss": iss,
            "aud": request["aud"],
            "sub": request["sub"],
            "jti": request["jti"],
            "iat": iat,
            "entitlement": request["entitlement"],
            "usage": request["usage"],
            "rate_card": self.card_jws,
            "trust": self.trust,
            "head": head,
        }

    def streams(self) -> None:
        for alg in ("EdDSA", "ES256"):
            key = SuiteKey.generate(self.rng, alg)
            iss = f"https://provider-{self.rng.randrange(16**6):06x}.example"
            aud = f"https://operator-{self.rng.randrange(16**6):06x}.example"
            iat = self.card["iat"] + self.rng.randrange(86400)
            head: dict[str, Any] | None = None
            calls = []
            for index in range(4):
                request = self.request(aud, entitlement=index == 2)
                seq = 1 if head is None else head["seq"] + 1
                expected = self.claims(
                    iss, request, iat + index, seq, None if head is None else head["digest"]
                )
                calls.append(
                    Call(
                        "issue-receipt",
                        self.issue_input(key, iss, request, iat + index, head),
                        Expect(
                            checks=(_receipt_check(key, expected, chained=index > 0),),
                            check_description=(
                                f"header {{alg: {alg}, typ: {TYP_RECEIPT}, kid: thumbprint}}; "
                                f"payload = JCS of the expected claims {expected}; signature "
                                "verifies; prev = content digest of the previous receipt"
                            ),
                        ),
                    )
                )
                head = {"seq": seq, "digest": digest(jcs(expected))}
            self.add(
                f"stream-{alg.lower()}",
                (
                    "REC-001",
                    "REC-004",
                    "REC-005",
                    "REC-006",
                    "REC-007",
                    "REC-008",
                    "REC-009",
                    "REC-010",
                    "CONV-045",
                    "CONV-046",
                    "CONV-049",
                    "UNIT-040",
                ),
                f"Four receipts of one stream signed with a fresh {alg} key, the third under an "
                "entitlement: every byte of header and payload, the amount, seq 1..4 and prev "
                "as the content digest of the previous receipt.",
                calls,
            )
            # A stream that already has history: seq and prev continue the given head.
            request = self.request(aud)
            given: dict[str, Any] = {
                "seq": self.rng.randint(2, 10**6),
                "digest": digest(self.rng.randbytes(32)),
            }
            expected = self.claims(iss, request, iat, given["seq"] + 1, given["digest"])
            self.add(
                f"continue-head-{alg.lower()}",
                ("REC-006", "REC-007", "REC-046"),
                f"The stream state says seq {given['seq']}: the receipt has seq "
                f"{given['seq'] + 1} and prev equal to the head's digest.",
                [
                    Call(
                        "issue-receipt",
                        self.issue_input(key, iss, request, iat, given),
                        Expect(
                            checks=(_receipt_check(key, expected, chained=False),),
                            check_description=f"claims {expected}",
                        ),
                    )
                ],
            )

    def tie(self) -> None:
        key = SuiteKey.generate(self.rng)
        iss = f"https://provider-{self.rng.randrange(16**6):06x}.example"
        request = self.request("https://operator.example")
        request["usage"] = {"model": "m-tiny", "meters": {"input": 5}}
        iat = self.card["iat"]
        expected = self.claims(iss, request, iat, 1, None)
        self.add(
            "amount-half-even",
            ("REC-004", "UNIT-048"),
            "5 x 0.0000005 UTU = 0.0000025: the receipt's amount is 0.000002 (half to even).",
            [
                Call(
                    "issue-receipt",
                    self.issue_input(key, iss, request, iat, None),
                    Expect(
                        checks=(_receipt_check(key, expected, chained=False),),
                        check_description=f"claims {expected}",
                    ),
                )
            ],
        )

    def refusals(self) -> None:
        key = SuiteKey.generate(self.rng)
        iss = f"https://provider-{self.rng.randrange(16**6):06x}.example"
        aud = "https://operator.example"
        iat = self.card["iat"] + 10
        cases: list[tuple[str, tuple[str, ...], str, dict[str, Any], str]] = []
        request = self.request(aud)
        request["usage"] = {"model": "not-on-card", "meters": {"input": 1}}
        cases.append(
            (
                "unknown-model",
                ("UNIT-043",),
                "The usage names a model the card lacks.",
                self.issue_input(key, iss, request, iat, None),
                "unknown_model",
            )
        )
        request = self.request(aud)
        request["usage"] = {"model": "m-large", "meters": {"input": 1, "web_search": 1}}
        cases.append(
            (
                "unpriced-meter",
                ("UNIT-046",),
                "A non-zero meter the card has no weight for.",
                self.issue_input(key, iss, request, iat, None),
                "unpriced_meter",
            )
        )
        request = self.request(aud)
        request["usage"] = {"model": "m-large", "meters": {"input": -1}}
        cases.append(
            (
                "invalid-usage",
                ("UNIT-004",),
                "A negative count.",
                self.issue_input(key, iss, request, iat, None),
                "invalid_usage",
            )
        )
        request = self.request(aud)
        data = self.issue_input(key, iss, request, self.card["exp"], None)
        cases.append(
            (
                "rate-card-expired",
                ("UNIT-042",),
                "iat is the card's exp: the card is no longer valid.",
                data,
                "rate_card_not_valid",
            )
        )
        data = self.issue_input(key, iss, self.request(aud), iat, None)
        head, _body, sig = self.card_jws.split(".")
        card = dict(self.card, rate_card_id="forged")
        data["rate_card"] = f"{head}.{b64e(jcs(card))}.{sig}"
        cases.append(
            (
                "rate-card-tampered",
                ("UNIT-030", "CONV-049"),
                "The rate card was changed after signing.",
                data,
                "invalid_signature",
            )
        )
        data = self.issue_input(key, iss, self.request(aud), iat, None)
        data["trust"] = trust_store({"https://other.example": [self.publisher.public_jwk(nbf=0)]})
        cases.append(
            (
                "rate-card-untrusted",
                ("UNIT-031",),
                "The card's publisher is not in the trust store.",
                data,
                "unknown_key",
            )
        )
        for name, requirements, reason, data, code in cases:
            self.add(
                f"refuse-{name}",
                requirements,
                reason + " Nothing is signed.",
                [Call("issue-receipt", data, Expect(error=code))],
            )

    def batches(self) -> None:
        for alg in ("EdDSA", "ES256"):
            key = SuiteKey.generate(self.rng, alg)
            iss = f"https://provider-{self.rng.randrange(16**6):06x}.example"
            auds = [f"https://operator-{self.rng.randrange(16**6):06x}.example" for _ in range(2)]
            heads: dict[str, dict[str, Any]] = {
                auds[0]: {
                    "seq": self.rng.randint(1, 1000),
                    "digest": digest(self.rng.randbytes(32)),
                }
            }
            iat = self.card["iat"] + self.rng.randrange(86400)
            requests = [
                self.request(auds[i % 2], entitlement=i == 3) for i in range(5 + (alg == "ES256"))
            ]
            state = dict(heads)
            claims = []
            for request in requests:
                head = state.get(request["aud"])
                seq = 1 if head is None else head["seq"] + 1
                item = self.claims(iss, request, iat, seq, None if head is None else head["digest"])
                claims.append(item)
                state[request["aud"]] = {"seq": seq, "digest": digest(jcs(item))}
            batch_id = "b-" + self.token()
            statement = {
                "iss": iss,
                "ver": "1.0",
                "iat": iat,
                "batch_id": batch_id,
                "tree_size": len(claims),
                "tree_root": root([jcs(item) for item in claims]).hex(),
            }
            data = {
                "key": key.private_jwk(),
                "iss": iss,
                "batch_id": batch_id,
                "iat": iat,
                "rate_card": self.card_jws,
                "trust": self.trust,
                "heads": heads,
                "requests": requests,
            }
            self.add(
                f"batch-{alg.lower()}",
                ("REC-060", "REC-061", "REC-006", "REC-007", "REC-065"),
                f"A batch of {len(requests)} receipts for two audiences (one continuing a "
                f"stream, one new) signed with a fresh {alg} key: every batched receipt's "
                "claims bytes, leaf index and RFC 9162 audit path, and the batch statement.",
                [
                    Call(
                        "issue-batch",
                        data,
                        Expect(
                            checks=(_batch_check(key, claims, statement),),
                            check_description=f"statement {statement}; claims {claims}",
                        ),
                    )
                ],
            )
            bad = dict(
                data,
                requests=[
                    *requests[:2],
                    dict(requests[2], usage={"model": "nope", "meters": {"input": 1}}),
                ],
            )
            self.add(
                f"batch-refused-whole-{alg.lower()}",
                ("UNIT-043", "CONV-006"),
                "One request of the batch names an unknown model: the whole batch is refused.",
                [Call("issue-batch", bad, Expect(error="unknown_model"))],
            )

    def build(self) -> list[Case]:
        self.streams()
        self.tie()
        self.refusals()
        self.batches()
        return self.cases


def build(seed: int) -> list[Case]:
    """Every case of the profile (all generated)."""
    return _Gen(seed).build()
