"""Profile ``receipt-verifier``: single receipts, streams with replay and chain state, batches
and receipt files (receipts chapter).

Static cases come from ``spec/vectors/receipts.json`` (its fixture rate cards signed by the
suite with the published test keys that its fixture trust stores list). Generated cases use
fresh keys, rate cards and receipts signed by the suite, each with one deliberate defect whose
code the defect fixes. ``prev`` is the content digest of the previous receipt (REC-010).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from .._codec import b64d, b64e, digest, jcs
from .._crypto import SuiteKey, compact, thumbprint
from .._merkle import inclusion_proof, root
from .._reference import price
from ..cases import Call, Case, Check, Expect, Outcome
from ..vectors import Vector, load_test_keys, load_vectors
from ._common import (
    TYP_BATCH,
    TYP_RATE_CARD,
    TYP_RECEIPT,
    seeded,
    sign_claims,
    skip_vector,
    trust_store,
)
from .documents import defects

__all__ = ["build", "not_run"]

PROFILE = "receipt-verifier"

_OLD_CHAIN = (
    "its prev is the digest of the previous receipt's JWS bytes; spec 1.0 chains on the content "
    "digest (REC-007, REC-010), under which this receipt breaks the chain: the vector is to be "
    "regenerated"
)


def _claims_of(receipt: Any) -> Any:
    encoded = receipt.split(".")[1] if isinstance(receipt, str) else receipt.get("claims", "")
    try:
        return json.loads(b64d(encoded))
    except ValueError:
        return None


def not_run() -> dict[str, str]:
    """Receipt vectors the suite does not run, with the reason: those whose recorded result
    rests on a rule that the spec 1.0 decisions replaced (a chain over JWS bytes)."""
    found = {}
    for vector in load_vectors("receipts"):
        prior = vector.input.get("prior") or []
        if not prior or not isinstance(prior[-1], str) or vector.error is not None:
            continue
        claims = _claims_of(vector.input["receipt"])
        previous = prior[-1]
        if isinstance(claims, dict) and claims.get("prev") == digest(previous.encode("ascii")):
            found[f"spec/vectors/receipts.json#{vector.id}"] = _OLD_CHAIN
    return found


# --------------------------------------------------------------------------- static vectors


def _fixture_card_signer(trust: dict[str, Any], card: dict[str, Any]) -> SuiteKey | None:
    """The published test key that the trust store lists for the card's issuer and whose
    window covers the card's iat."""
    keys_by_kid = {jwk["kid"]: jwk for jwk in load_test_keys().values()}
    listed = trust.get("issuers", {}).get(card["iss"], {}).get("jwks", {}).get("keys", [])
    for jwk in listed:
        private = keys_by_kid.get(jwk.get("kid", thumbprint(jwk)))
        if private is None:
            continue
        if jwk.get("nbf", 0) <= card["iat"] < jwk.get("exp", 2**53) and card["iat"] < jwk.get(
            "revoked", {}
        ).get("revoked_at", 2**53):
            return SuiteKey.from_jwk(private)
    return None


def _verify_output(receipt: str | dict[str, Any], claims: dict[str, Any]) -> dict[str, Any]:
    encoded = receipt.split(".")[1] if isinstance(receipt, str) else receipt["claims"]
    content = b64d(encoded)
    return {
        "iss": claims["iss"],
        "aud": claims["aud"],
        "jti": claims["jti"],
        "seq": claims["seq"],
        "amount": claims["amount"],
        "content_digest": digest(content),
    }


def _last_result_check(expected: dict[str, Any]) -> Check:
    def check(output: Any, _earlier: Sequence[Outcome]) -> list[str]:
        results = output.get("results")
        if not isinstance(results, list) or not results:
            return [f"results is {results!r}"[:200]]
        problems = [
            f"prior receipt {index + 1} was not accepted: {result!r}"
            for index, result in enumerate(results[:-1])
            if not (isinstance(result, dict) and result.get("ok") is True)
        ]
        if results[-1] != expected:
            problems.append(f"the receipt's result is {results[-1]!r}, expected {expected!r}")
        return problems

    return check


def _static() -> list[Case]:
    file = load_vectors("receipts")
    fixtures = file.extra["fixtures"]
    default_trust = fixtures["trust"]["default"]
    # The cards as the vector file signs them, else signed here with the published test key
    # that the default trust store lists for the card's issuer.
    cards: dict[str, str] = {
        name: token
        for name, token in fixtures.get("rate_card_tokens", {}).items()
        if isinstance(token, str)
    }
    for name, card in fixtures["rate_cards"].items():
        signer = _fixture_card_signer(default_trust, card)
        if name not in cards and signer is not None:
            cards[name] = sign_claims(signer, card, TYP_RATE_CARD)
    cases = []
    skipped = not_run()
    for vector in file:
        if f"spec/vectors/receipts.json#{vector.id}" in skipped:
            continue
        case = _vector_case(vector, fixtures, cards)
        if case is not None:
            cases.append(case)
    for vector in load_vectors("files"):
        cases.append(_file_case(vector, fixtures, cards))
    return cases


def _file_case(vector: Vector, fixtures: dict[str, Any], cards: dict[str, str]) -> Case:
    """A receipt file of spec/vectors/files.json: its exact bytes, one result per line."""
    data = vector.input
    content = b64d(data["file"]) if data["file"] else b""
    results = [
        {key: value for key, value in row.items() if key != "duplicate"}
        for row in vector.expected["results"]
    ]
    common = {
        "trust": fixtures["trust"][data["trust"]],
        "rate_cards": [cards[name] for name in data["rate_cards"]],
        "now": data["now"],
    }
    call = Call(
        "verify-file",
        common,
        Expect(output={"results": results}),
        (("file", "receipts.jsonl", content),),
    )
    return Case(
        id=f"{PROFILE}/files/{vector.id}",
        profile=PROFILE,
        requirements=vector.requirements,
        reason=vector.description,
        calls=(call,),
        source=f"spec/vectors/files.json#{vector.id}",
    )


def _vector_case(vector: Vector, fixtures: dict[str, Any], cards: dict[str, str]) -> Case | None:
    data = vector.input
    if not isinstance(data.get("receipt"), str | dict):
        skip_vector(f"spec/vectors/receipts.json#{vector.id}", "the vector has no receipt")
        return None
    if any(name not in cards for name in data["rate_cards"]):
        skip_vector(
            f"spec/vectors/receipts.json#{vector.id}",
            "a rate card it names is neither signed in the file nor signable with a test key",
        )
        return None
    common = {
        "trust": fixtures["trust"][data["trust"]],
        "rate_cards": [cards[name] for name in data["rate_cards"]],
        "now": data["now"],
    }
    stateful = vector.error in {"replay", "chain_break"} or "duplicate" in vector.expected
    if not data["prior"] and not stateful:
        if vector.error is not None:
            expect = Expect(error=vector.error)
        else:
            expect = Expect(output=_verify_output(data["receipt"], vector.expected["claims"]))
        call = Call("verify-receipt", {"receipt": data["receipt"], **common}, expect)
    else:
        if vector.error is not None:
            last: dict[str, Any] = {"ok": False, "error": vector.error}
        else:
            last = {"ok": True, "duplicate": bool(vector.expected.get("duplicate", False))}
        call = Call(
            "verify-stream",
            {"receipts": [*data["prior"], data["receipt"]], **common},
            Expect(
                checks=(_last_result_check(last),),
                check_description=f"last result {last}; prior receipts accepted",
            ),
        )
    return Case(
        id=f"{PROFILE}/receipts/{vector.id}",
        profile=PROFILE,
        requirements=vector.requirements,
        reason=vector.description,
        calls=(call,),
        source=f"spec/vectors/receipts.json#{vector.id}",
    )


# --------------------------------------------------------------------------- generation

_OK = {"ok": True, "duplicate": False}
_DUP = {"ok": True, "duplicate": True}


def _has_whole_batch(data: dict[str, Any]) -> bool:
    """Whether a verify-stream input holds a whole batch (REC-064, a MAY feature)."""
    return any(
        isinstance(item, dict) and isinstance(item.get("claims"), list)
        for item in data.get("receipts", ())
    )


def _err(code: str) -> dict[str, Any]:
    return {"ok": False, "error": code}


class _Gen:
    def __init__(self, seed: int) -> None:
        rng = self.rng = seeded("verifier", seed)
        self.seed = seed
        self.cases: list[Case] = []
        self.t0 = 1_790_000_000 + rng.randrange(10**6)
        self.iss = f"https://provider-{rng.randrange(16**6):06x}.example"
        self.aud = f"https://operator-{rng.randrange(16**6):06x}.example"
        self.key = SuiteKey.generate(rng)
        self.es_key = SuiteKey.generate(rng, "ES256")
        self.old_key = SuiteKey.generate(rng)
        self.revoked_key = SuiteKey.generate(rng)
        self.attacker = SuiteKey.generate(rng)
        self.publisher = SuiteKey.generate(rng)
        self.publisher_iss = f"https://alliance-{rng.randrange(16**6):06x}.example"
        t0 = self.t0
        self.rotation = t0 + 20 * 86400
        self.revocation = t0 + 40 * 86400
        self.trust = trust_store(
            {
                self.iss: [
                    self.old_key.public_jwk(nbf=t0 - 86400, exp=self.rotation),
                    self.key.public_jwk(nbf=t0),
                    self.es_key.public_jwk(nbf=t0),
                    self.revoked_key.public_jwk(
                        nbf=t0, revoked={"revoked_at": self.revocation, "reason": "key compromise"}
                    ),
                ],
                self.publisher_iss: [self.publisher.public_jwk(nbf=t0 - 30 * 86400)],
            }
        )
        self.card = {
            "iss": self.publisher_iss,
            "rate_card_id": f"card-{rng.randrange(16**6):06x}",
            "ver": "1.0",
            "iat": t0,
            "nbf": t0,
            "exp": t0 + 90 * 86400,
            "unit": "UTU",
            "models": {
                "m-large": {
                    "weights": {
                        "input": "0.0000012",
                        "cache_read": "0.00000024",
                        "output": "0.000006",
                    },
                    "tiers": [{"above_input": 32000, "weights": {"input": "0.0000024"}}],
                    "minimum": "0.000001",
                }
            },
        }
        self.old_card = dict(
            self.card,
            rate_card_id=f"old-{rng.randrange(16**6):06x}",
            iat=t0 - 20 * 86400,
            nbf=t0 - 20 * 86400,
            exp=t0,
        )
        self.cards = [
            sign_claims(self.publisher, self.card, TYP_RATE_CARD),
            sign_claims(self.publisher, self.old_card, TYP_RATE_CARD),
        ]
        self.now = t0 + 85 * 86400
        self.iat = t0 + 86400

    # -- building receipts

    def claims(self, *, seq: int = 1, prev: str | None = None, **changes: Any) -> dict[str, Any]:
        rng = self.rng
        usage = changes.pop("usage", None) or {
            "model": "m-large",
            "meters": {"input": rng.randint(1, 60_000), "output": rng.randint(1, 5000)},
        }
        card = changes.pop("card", self.card)
        iat = changes.pop("iat", self.iat + rng.randrange(3600))
        claims = {
            "iss": self.iss,
            "sub": "s" + b64e(rng.randbytes(15)),
            "aud": self.aud,
            "jti": "r-" + b64e(rng.randbytes(12)),
            "iat": iat,
            "ver": "1.0",
            "usage": usage,
            "amount": price(card, usage, None)["amount"],
            "unit": "UTU",
            "rate_card": {"id": card["rate_card_id"], "digest": digest(jcs(card))},
            "seq": seq,
        }
        if prev is not None:
            claims["prev"] = prev
        claims.update(changes)
        return claims

    def sign(self, claims: dict[str, Any], key: SuiteKey | None = None) -> str:
        return compact(key or self.key, jcs(claims), TYP_RECEIPT)

    def chain(self, count: int, **changes: Any) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        for seq in range(1, count + 1):
            prev = digest(jcs(items[-1])) if items else None
            items.append(self.claims(seq=seq, prev=prev, **changes))
        return items

    def batch(
        self, claims: list[dict[str, Any]], *, key: SuiteKey | None = None, **statement_changes: Any
    ) -> tuple[str, list[bytes], dict[str, Any]]:
        leaves = [jcs(item) for item in claims]
        statement = {
            "iss": self.iss,
            "ver": "1.0",
            "iat": max(item["iat"] for item in claims),
            "batch_id": "b-" + b64e(self.rng.randbytes(12)),
            "tree_size": len(leaves),
            "tree_root": root(leaves).hex(),
        }
        statement.update(statement_changes)
        return compact(key or self.key, jcs(statement), TYP_BATCH), leaves, statement

    @staticmethod
    def batched(token: str, leaves: list[bytes], index: int, **changes: Any) -> dict[str, Any]:
        item = {
            "ver": "1.0",
            "claims": b64e(leaves[index]),
            "leaf_index": index,
            "audit_path": [node.hex() for node in inclusion_proof(index, leaves)],
            "batch": token,
        }
        item.update(changes)
        return item

    # -- cases

    def add(
        self,
        name: str,
        requirements: tuple[str, ...],
        reason: str,
        op: str,
        data: dict[str, Any],
        expect: Expect,
        files: tuple[tuple[str, str, bytes], ...] = (),
        optional_feature: str | None = None,
    ) -> None:
        common = {"trust": self.trust, "rate_cards": self.cards, "now": self.now}
        self.cases.append(
            Case(
                id=f"{PROFILE}/gen/{name}",
                profile=PROFILE,
                requirements=requirements,
                reason=reason,
                calls=(Call(op, {**data, **common}, expect, files),),
                source=f"generated (seed {self.seed})",
                optional_feature=optional_feature
                or ("REC-064" if op == "verify-batch" or _has_whole_batch(data) else None),
            )
        )

    def single(
        self,
        name: str,
        requirements: tuple[str, ...],
        reason: str,
        receipt: str | dict[str, Any],
        code: str | None,
        claims: dict[str, Any] | None = None,
    ) -> None:
        if code is None:
            assert claims is not None
            expect = Expect(output=_verify_output(receipt, claims))
        else:
            expect = Expect(error=code)
        self.add(name, requirements, reason, "verify-receipt", {"receipt": receipt}, expect)

    def stream(
        self,
        name: str,
        requirements: tuple[str, ...],
        reason: str,
        items: list[Any],
        results: list[dict[str, Any]],
    ) -> None:
        self.add(
            name,
            requirements,
            reason,
            "verify-stream",
            {"receipts": items},
            Expect(output={"results": results}),
        )

    def singles(self) -> None:
        claims = self.claims()
        for key, label in ((self.key, "eddsa"), (self.es_key, "es256")):
            self.single(
                f"valid-{label}",
                ("REC-040", "REC-001", "REC-010", "CONV-049"),
                f"A sound receipt signed with the issuer's {label.upper()} key.",
                self.sign(claims, key),
                None,
                claims,
            )
        for name, token, code, requirements, reason in defects(
            self.key, claims, TYP_RECEIPT, attacker=self.attacker, duplicate=("amount", "0")
        ):
            self.single(name, (*requirements, "REC-040"), reason, token, code)
        # Key lifecycle (REC-031, REC-032).
        before = self.claims(iat=self.rotation - 1)
        self.single(
            "historical-key",
            ("REC-031", "REC-032", "REC-008"),
            "Signed by a key rotated out since, at an iat inside its window: still verifies.",
            self.sign(before, self.old_key),
            None,
            before,
        )
        after = self.claims(iat=self.rotation)
        self.single(
            "key-expired-at-iat",
            ("REC-031",),
            "Signed by the rotated key at an iat equal to its exp.",
            self.sign(after, self.old_key),
            "key_not_valid",
        )
        early = self.claims(iat=self.t0 - 1)
        self.single(
            "key-not-yet-valid",
            ("REC-031",),
            "Signed at an iat before the key's nbf.",
            self.sign(early, self.key),
            "key_not_valid",
        )
        good = self.claims(iat=self.revocation - 1)
        self.single(
            "revoked-key-before-revocation",
            ("REC-031",),
            "Signed by a key revoked later, at an iat before the revocation.",
            self.sign(good, self.revoked_key),
            None,
            good,
        )
        bad = self.claims(iat=self.revocation)
        self.single(
            "revoked-key-at-revocation",
            ("REC-031",),
            "Signed by a revoked key at an iat equal to revoked_at.",
            self.sign(bad, self.revoked_key),
            "key_not_valid",
        )
        other = self.claims(iss=self.publisher_iss)
        self.single(
            "key-of-other-issuer",
            ("REC-033",),
            "iss names another trusted issuer, whose keys do not include the signing key.",
            self.sign(other, self.key),
            "unknown_key",
        )
        # Amount, time, rate card (REC-040 steps 9-11).
        lowered = self.claims()
        lowered["amount"] = "0.000001" if lowered["amount"] != "0.000001" else "0.000002"
        self.single(
            "amount-not-the-price",
            ("REC-040",),
            "A properly signed receipt whose amount is not the price of its usage: the amount is "
            "recomputed, never trusted.",
            self.sign(lowered),
            "amount_mismatch",
        )
        future = self.claims(iat=self.now + 601)
        self.single(
            "iat-in-future",
            ("REC-040", "REC-041"),
            "iat more than 600 s after the verifier's clock.",
            self.sign(future),
            "iat_in_future",
        )
        near = self.claims(iat=self.now + 60)
        self.single(
            "iat-within-skew",
            ("REC-041",),
            "iat 60 s after the verifier's clock: within every allowed skew.",
            self.sign(near),
            None,
            near,
        )
        unknown = self.claims(rate_card={"id": "no-such-card", "digest": digest(jcs(self.card))})
        self.single(
            "unknown-rate-card",
            ("REC-040",),
            "The receipt names a card the verifier does not hold.",
            self.sign(unknown),
            "unknown_rate_card",
        )
        mismatch = self.claims(
            rate_card={"id": self.card["rate_card_id"], "digest": digest(b"other")}
        )
        self.single(
            "rate-card-digest-mismatch",
            ("REC-005", "REC-040"),
            "The card's digest is not the one the receipt names.",
            self.sign(mismatch),
            "rate_card_mismatch",
        )
        expired = self.claims(card=self.old_card, iat=self.t0 + 3600)
        self.single(
            "rate-card-expired-at-iat",
            ("REC-040", "UNIT-028"),
            "Priced under a card whose validity ended before the receipt's iat.",
            self.sign(expired),
            "rate_card_mismatch",
        )
        bad_jti = self.claims(jti="has a space")
        self.single(
            "jti-with-space",
            ("REC-002", "REC-001"),
            "A jti with characters outside A-Z a-z 0-9 . _ ~ -.",
            self.sign(bad_jti),
            "schema_violation",
        )
        with_exp = self.claims(exp=self.now + 86400)
        self.single(
            "receipt-with-exp",
            ("REC-008",),
            "Receipts carry no exp.",
            self.sign(with_exp),
            "schema_violation",
        )

    def streams(self) -> None:
        chain = self.chain(4)
        tokens = [self.sign(item) for item in chain]
        self.stream(
            "chain-of-four",
            ("REC-043", "REC-006", "REC-007", "REC-010"),
            "Four receipts, each prev the content digest of its predecessor.",
            tokens,
            [_OK] * 4,
        )
        self.stream(
            "identical-resubmission",
            ("REC-042",),
            "The same receipt twice: the second is a duplicate, accepted and counted once.",
            [tokens[0], tokens[1], tokens[1]],
            [_OK, _OK, _DUP],
        )
        es_chain = self.chain(2)
        first, second = self.sign(es_chain[0], self.es_key), self.sign(es_chain[1], self.es_key)
        resigned = self.sign(es_chain[1], self.es_key)
        self.stream(
            "same-claims-signed-twice",
            ("REC-042", "REC-010"),
            "The same claims signed twice (ES256: other signature bytes, same payload): an "
            "identical resubmission, not a replay.",
            [first, second, resigned],
            [_OK, _OK, _DUP],
        )
        replayed = dict(chain[1], usage={"model": "m-large", "meters": {"input": 1}})
        replayed["amount"] = price(self.card, replayed["usage"], None)["amount"]
        self.stream(
            "replay-other-content",
            ("REC-042",),
            "A second receipt under a recorded jti with other content: replay.",
            [tokens[0], tokens[1], self.sign(replayed)],
            [_OK, _OK, _err("replay")],
        )
        self.stream(
            "gap",
            ("REC-043",),
            "seq 1 then seq 3.",
            [tokens[0], tokens[2]],
            [_OK, _err("chain_break")],
        )
        self.stream(
            "starts-at-two",
            ("REC-043",),
            "A stream the verifier has not seen must start at seq 1.",
            [tokens[1]],
            [_err("chain_break")],
        )
        wrong = self.claims(seq=2, prev=digest(b"not the previous receipt"))
        self.stream(
            "prev-mismatch",
            ("REC-043", "REC-007"),
            "seq 2 whose prev is not its predecessor's digest.",
            [tokens[0], self.sign(wrong)],
            [_OK, _err("chain_break")],
        )
        jws_prev = self.claims(seq=2, prev=digest(tokens[0].encode("ascii")))
        self.stream(
            "prev-is-jws-digest",
            ("REC-007", "REC-010"),
            "seq 2 whose prev is the digest of the previous receipt's JWS bytes, not of its "
            "content.",
            [tokens[0], self.sign(jws_prev)],
            [_OK, _err("chain_break")],
        )
        other_aud = self.chain(2, aud=f"https://operator-{self.rng.randrange(16**6):06x}.example")
        self.stream(
            "two-audiences",
            ("REC-043",),
            "Two streams interleaved: each is chained on its own.",
            [tokens[0], self.sign(other_aud[0]), tokens[1], self.sign(other_aud[1])],
            [_OK] * 4,
        )
        head, _body, sig = tokens[1].split(".")
        forged = f"{head}.{b64e(jcs(dict(chain[1], amount='0')))}.{sig}"
        self.stream(
            "rejected-not-recorded",
            ("REC-044",),
            "A rejected receipt is not recorded: its valid twin is accepted after it.",
            [tokens[0], forged, tokens[1]],
            [_OK, _err("invalid_signature"), _OK],
        )

    def batches(self) -> None:
        chain = self.chain(5)
        token, leaves, _statement = self.batch(chain)
        for index in (0, 4):
            self.single(
                f"batched-leaf-{index}",
                ("REC-060", "REC-061", "REC-062"),
                f"Leaf {index} of a batch of 5 with its RFC 9162 inclusion proof.",
                self.batched(token, leaves, index),
                None,
                chain[index],
            )
        wrong = self.batched(token, leaves, 1, leaf_index=2)
        self.single(
            "batched-proof-for-other-index",
            ("REC-062", "REC-060"),
            "The claims and audit path of leaf 1 presented as leaf 2.",
            wrong,
            "invalid_proof",
        )
        beyond = self.batched(token, leaves, 4, leaf_index=5)
        self.single(
            "batched-index-beyond-size",
            ("REC-062",),
            "leaf_index equal to tree_size.",
            beyond,
            "invalid_proof",
        )
        path = self.batched(token, leaves, 3)
        path["audit_path"] = [
            path["audit_path"][0][:-1] + ("0" if path["audit_path"][0][-1] != "0" else "1"),
            *path["audit_path"][1:],
        ]
        self.single(
            "batched-tampered-path",
            ("REC-062",),
            "One hash of the audit path changed.",
            path,
            "invalid_proof",
        )
        late = [*chain[:4], dict(chain[4], iat=chain[4]["iat"] + 10)]
        late_token, late_leaves, _ = self.batch(late, iat=chain[4]["iat"])
        self.single(
            "batched-receipt-after-statement",
            ("REC-065",),
            "A receipt whose iat is later than its batch statement's.",
            self.batched(late_token, late_leaves, 4),
            "invalid_proof",
        )
        foreign = [*chain[:1], dict(chain[1], iss=self.publisher_iss)]
        foreign_token, foreign_leaves, _ = self.batch(foreign)
        self.single(
            "batched-claims-of-other-issuer",
            ("REC-061", "REC-062"),
            "Batched claims whose iss is not the statement's.",
            self.batched(foreign_token, foreign_leaves, 1),
            "invalid_proof",
        )
        attacker_token, attacker_leaves, _ = self.batch(chain, key=self.attacker)
        self.single(
            "batched-statement-untrusted",
            ("REC-062",),
            "The batch statement is signed by an untrusted key.",
            self.batched(attacker_token, attacker_leaves, 0),
            "unknown_key",
        )
        head, body, sig = token.split(".")
        forged_statement = json.loads(b64d(body))
        forged_statement["tree_size"] = 6
        forged = f"{head}.{b64e(jcs(forged_statement))}.{sig}"
        self.single(
            "batched-statement-tampered",
            ("REC-062", "CONV-049"),
            "The batch statement changed after signing.",
            self.batched(forged, leaves, 0),
            "invalid_signature",
        )
        # Whole batches (REC-064).
        encoded = [b64e(leaf) for leaf in leaves]
        self.add(
            "batch-whole",
            ("REC-064",),
            "Every receipt of a batch at once: the root is recomputed from all claims.",
            "verify-batch",
            {"batch": token, "claims": encoded},
            Expect(output={"results": [_OK] * 5}),
        )
        swapped = [encoded[1], encoded[0], *encoded[2:]]
        self.add(
            "batch-leaves-out-of-order",
            ("REC-064",),
            "The claims of a batch in another order: the root differs.",
            "verify-batch",
            {"batch": token, "claims": swapped},
            Expect(error="invalid_proof"),
        )
        self.add(
            "batch-missing-leaf",
            ("REC-064",),
            "A batch with one receipt missing.",
            "verify-batch",
            {"batch": token, "claims": encoded[:4]},
            Expect(error="invalid_proof"),
        )
        mixed = self.chain(3)
        mixed[1]["amount"] = "0.000001" if mixed[1]["amount"] != "0.000001" else "0.000002"
        mixed[2]["prev"] = digest(jcs(mixed[1]))
        mixed_token, mixed_leaves, _ = self.batch(mixed)
        self.add(
            "batch-one-bad-receipt",
            ("REC-064", "REC-043", "REC-044"),
            "A sound batch holding one receipt with a wrong amount: that receipt is rejected, and "
            "the next one cannot chain to it.",
            "verify-batch",
            {"batch": mixed_token, "claims": [b64e(leaf) for leaf in mixed_leaves]},
            Expect(output={"results": [_OK, _err("amount_mismatch"), _err("chain_break")]}),
        )
        # A failed batch records nothing (REC-044, REC-045): its first receipt is new afterwards.
        self.stream(
            "failed-batch-records-nothing",
            ("REC-045", "REC-044", "REC-064"),
            "A batch rejected as a whole (one receipt missing), then its first receipt on its own:"
            " nothing of the failed batch was recorded, so it is new and opens the stream.",
            [{"batch": token, "claims": encoded[:4]}, self.sign(chain[0])],
            [_err("invalid_proof"), _OK],
        )
        self.stream(
            "batch-then-next",
            ("REC-064", "REC-043"),
            "A whole batch accepted, then the next receipt of its stream.",
            [
                {"batch": token, "claims": encoded},
                self.sign(self.claims(seq=6, prev=digest(leaves[4]))),
            ],
            [{"ok": True, "results": [_OK] * 5}, _OK],
        )

    def files(self) -> None:
        chain = self.chain(3)
        tokens = [self.sign(item) for item in chain]
        token, leaves, _ = self.batch(
            self.chain(2, aud=f"https://operator-{self.rng.randrange(16**6):06x}.example")
        )
        lines = [
            tokens[0],
            tokens[1],
            "not a receipt",
            tokens[1],
            json.dumps(self.batched(token, leaves, 0), separators=(",", ":")),
            tokens[2],
        ]
        content = ("\n".join(lines) + "\n").encode("utf-8")
        batched_claims = json.loads(b64d(b64e(leaves[0])))

        def ok(line: int, claims: dict[str, Any]) -> dict[str, Any]:
            return {
                "line": line,
                "ok": True,
                "iss": claims["iss"],
                "jti": claims["jti"],
                "amount": claims["amount"],
            }

        results = [
            ok(1, chain[0]),
            ok(2, chain[1]),
            {"line": 3, "ok": False, "error": "malformed"},
            ok(4, chain[1]),
            ok(5, batched_claims),
            ok(6, chain[2]),
        ]
        self.add(
            "receipt-file",
            ("REC-070", "REC-042", "REC-043"),
            "A receipt file with a broken line, a resubmitted receipt and a batched receipt: one "
            "result per line, chain checked in line order.",
            "verify-file",
            {},
            Expect(output={"results": results}),
            files=(("file", "receipts.jsonl", content),),
        )

    def build(self) -> list[Case]:
        self.singles()
        self.streams()
        self.batches()
        self.files()
        return self.cases


def build(seed: int) -> list[Case]:
    """Every case of the profile: static vectors, then the cases generated from ``seed``."""
    return _static() + _Gen(seed).build()
