"""Profile ``units``: pricing, conversion and vendor adapters (units and exchange chapters).

Static cases come from ``spec/vectors/pricing.json``, ``conversion.json``, ``adapters.json`` and
the usage vectors of ``documents.json`` (their unsigned documents are signed by the suite with
the published test keys). Generated cases come from the seeded generator, with expected results
from the suite's own exact reference (:mod:`tokenfed_conformance._reference`).
"""

from __future__ import annotations

import random
from fractions import Fraction
from typing import Any

from .._crypto import SuiteKey
from .._reference import RefError, convert, price, to_decimal
from ..cases import Call, Case, Expect
from ..vectors import Vector, load_vectors
from ._common import (
    TYP_RATE_CARD,
    TYP_RATES,
    is_entity_id,
    seeded,
    sign_claims,
    test_key,
    trust_store,
    vector_case,
)

__all__ = ["build"]

PROFILE = "units"
_CARD_KEY = "provider-a"


def _expect(vector: Vector) -> Expect:
    if vector.error is not None:
        return Expect(error=vector.error)
    return Expect(output=vector.expected)


def _signed(claims: Any, typ: str, key: SuiteKey) -> tuple[str, dict[str, Any]]:
    iss = claims.get("iss") if isinstance(claims, dict) else None
    trust = trust_store({str(iss): [key.public_jwk(nbf=0)]}) if is_entity_id(iss) else None
    return sign_claims(key, claims, typ), trust or trust_store({})


def _static() -> list[Case]:
    key = test_key(_CARD_KEY)
    cases = []
    for vector in load_vectors("pricing"):
        card, trust = _signed(vector.input["rate_card"], TYP_RATE_CARD, key)
        data = {"rate_card": card, "trust": trust, "usage": vector.input["usage"]}
        data["at"] = vector.input.get("at")
        cases.append(vector_case(PROFILE, "pricing", vector, "price", data, _expect(vector)))
    for vector in load_vectors("conversion"):
        rates, trust = _signed(vector.input["rates"], TYP_RATES, key)
        data = {
            "rates": rates,
            "trust": trust,
            "amount": vector.input["amount"],
            "from": vector.input["from"],
            "to": vector.input["to"],
            "at": vector.input.get("at"),
        }
        cases.append(vector_case(PROFILE, "conversion", vector, "convert", data, _expect(vector)))
    for vector in load_vectors("adapters"):
        given = vector.input
        data = {
            "vendor": given["format"],
            "model": given.get("model"),
            "strict": given.get("strict", True),
            "service_tier": given.get("service_tier"),
        }
        if "stream" in given:
            data["stream"] = given["stream"]
        else:
            data["report"] = given["usage"]
        cases.append(vector_case(PROFILE, "adapters", vector, "adapt", data, _expect(vector)))
    # Usage vectors that must be rejected are rejected by pricing too, before the model is
    # looked up (UNIT-041): priced under a valid card of the suite.
    card_claims = _usage_card()
    card, trust = _signed(card_claims, TYP_RATE_CARD, key)
    for vector in load_vectors("documents"):
        if vector.input.get("kind") != "usage" or vector.error is None:
            continue
        if "document" not in vector.input:
            continue
        data = {"rate_card": card, "trust": trust, "usage": vector.input["document"], "at": None}
        cases.append(
            vector_case(
                PROFILE,
                "usage",
                vector,
                "price",
                data,
                Expect(error=vector.error),
                reason=f"{vector.description} Pricing checks the usage first (UNIT-041).",
            )
        )
    return cases


def _usage_card() -> dict[str, Any]:
    return {
        "iss": "https://tokens.provider-a.example",
        "rate_card_id": "suite-usage-card",
        "ver": "1.0",
        "iat": 1795000000,
        "nbf": 1795000000,
        "exp": 1797600000,
        "unit": "UTU",
        "models": {"qwen3-max": {"weights": {"input": "0.0000012", "output": "0.000006"}}},
    }


# --------------------------------------------------------------------------- generation


_METERS = ("input", "cache_read", "cache_write", "output", "reasoning", "web_search")


def _decimal(rng: random.Random, max_places: int, *, positive: bool = False) -> str:
    places = rng.randint(0, max_places)
    low = 1 if positive else 0
    return to_decimal(Fraction(rng.randint(low, 10**6), 10**places))


class _Gen:
    """Seeded builder of cards, rate sets and cases."""

    def __init__(self, seed: int) -> None:
        self.rng = seeded("units", seed)
        self.key = SuiteKey.generate(self.rng)
        self.iss = f"https://provider-{self.rng.randrange(16**6):06x}.example"
        self.trust = trust_store({self.iss: [self.key.public_jwk(nbf=0)]})
        self.cases: list[Case] = []
        self.seed = seed

    def card(self, models: dict[str, Any]) -> dict[str, Any]:
        nbf = 1_790_000_000 + self.rng.randrange(10**6)
        return {
            "iss": self.iss,
            "rate_card_id": f"gen-{self.rng.randrange(16**8):08x}",
            "ver": "1.0",
            "iat": nbf,
            "nbf": nbf,
            "exp": nbf + 30 * 86400,
            "unit": "UTU",
            "models": models,
        }

    def price_case(
        self,
        name: str,
        reason: str,
        requirements: tuple[str, ...],
        card: dict[str, Any],
        usage: dict[str, Any],
        at: int | None,
    ) -> None:
        try:
            expect = Expect(output=price(card, usage, at))
        except RefError as exc:
            expect = Expect(error=exc.code)
        data = {
            "rate_card": sign_claims(self.key, card, TYP_RATE_CARD),
            "trust": self.trust,
            "usage": usage,
            "at": at,
        }
        self.cases.append(
            Case(
                id=f"{PROFILE}/gen/{name}",
                profile=PROFILE,
                requirements=requirements,
                reason=reason,
                calls=(Call("price", data, expect),),
                source=f"generated (seed {self.seed})",
            )
        )

    def convert_case(
        self,
        name: str,
        reason: str,
        requirements: tuple[str, ...],
        rates: dict[str, Any],
        amount: str,
        codes: tuple[str, str],
        at: int | None,
    ) -> None:
        try:
            expect = Expect(output=convert(rates, amount, codes[0], codes[1], at))
        except RefError as exc:
            expect = Expect(error=exc.code)
        data = {
            "rates": sign_claims(self.key, rates, TYP_RATES),
            "trust": self.trust,
            "amount": amount,
            "from": codes[0],
            "to": codes[1],
            "at": at,
        }
        self.cases.append(
            Case(
                id=f"{PROFILE}/gen/{name}",
                profile=PROFILE,
                requirements=requirements,
                reason=reason,
                calls=(Call("convert", data, expect),),
                source=f"generated (seed {self.seed})",
            )
        )

    def random_model(self) -> dict[str, Any]:
        rng = self.rng
        meters = rng.sample(_METERS, rng.randint(2, len(_METERS)))
        model: dict[str, Any] = {"weights": {m: _decimal(rng, 9) for m in meters}}
        if rng.random() < 0.3:
            model["weights"]["acme.gpu_seconds"] = _decimal(rng, 9)
        above = 0
        tiers = []
        for _ in range(rng.randint(0, 3)):
            above += rng.randint(1, 50_000)
            tiers.append(
                {
                    "above_input": above,
                    "weights": {m: _decimal(rng, 9) for m in rng.sample(meters, 1)},
                }
            )
        if tiers:
            model["tiers"] = tiers
        if rng.random() < 0.5:
            model["minimum"] = _decimal(rng, 6)
        return model

    def random_usage(self, model_id: str, model: dict[str, Any]) -> dict[str, Any]:
        rng = self.rng
        names = list(model["weights"])
        counts = {
            m: rng.choice((0, rng.randint(1, 200_000)))
            for m in rng.sample(names, rng.randint(1, len(names)))
        }
        return {"model": model_id, "meters": counts}

    def build(self, count: int) -> list[Case]:
        rng = self.rng
        # Random cards and usages, priced at a random time inside the card's validity.
        for index in range(count):
            model = self.random_model()
            card = self.card({"gen-model": model})
            usage = self.random_usage("gen-model", model)
            at = rng.choice((None, card["nbf"], card["exp"] - 1, card["nbf"] + rng.randrange(1000)))
            self.price_case(
                f"price-random-{index}",
                "A random card and usage; expected result from the suite's exact reference.",
                (
                    "UNIT-001",
                    "UNIT-040",
                    "UNIT-044",
                    "UNIT-045",
                    "UNIT-047",
                    "UNIT-048",
                    "UNIT-049",
                    "UNIT-060",
                    "UNIT-061",
                    "UNIT-062",
                ),
                card,
                usage,
                at,
            )
        self.targeted_pricing()
        self.conversions(count)
        return self.cases

    def targeted_pricing(self) -> None:
        rng = self.rng
        # Ties at the 7th digit round to even (UNIT-048): 0.0000005 -> 0, 0.0000025 -> 0.000002.
        for index, count in enumerate((1, 5, 9, 2 * rng.randint(0, 10**6) + 1)):
            card = self.card({"tie": {"weights": {"input": "0.0000005"}}})
            self.price_case(
                f"price-tie-half-even-{index}",
                f"{count} x 0.0000005 UTU ends in a 5 at the 7th digit: ties round to even, "
                "never half-up.",
                ("UNIT-048", "CONV-024"),
                card,
                {"model": "tie", "meters": {"input": count}},
                None,
            )
        # Rounding once, not per line (UNIT-048, UNIT-050): every line is below half a micro-UTU.
        lines = {"input": 1, "cache_read": 1, "output": 1}
        card = self.card({"lines": {"weights": {m: "0.0000004" for m in lines}}})
        self.price_case(
            "price-round-once",
            "Three lines of 0.0000004 UTU: their sum 0.0000012 rounds to 0.000001; rounding each "
            "line first would give 0.",
            ("UNIT-048", "UNIT-050"),
            card,
            {"model": "lines", "meters": lines},
            None,
        )
        # Exactness where binary floating point fails (UNIT-050, CONV-024).
        for index in range(3):
            weight = to_decimal(Fraction(rng.randint(10**8, 10**9 - 1), 10**9))
            count = 2**53 - 1 - rng.randrange(1000)
            card = self.card(
                {"big": {"weights": {"output": weight, "input": "0.1", "cache_read": "0.2"}}}
            )
            self.price_case(
                f"price-exact-{index}",
                f"{count} x {weight} UTU has more significant digits than a binary float holds; "
                "the line amount is exact and the total rounds once.",
                ("UNIT-050", "CONV-024", "UNIT-061"),
                card,
                {"model": "big", "meters": {"output": count, "input": 1, "cache_read": 1}},
                None,
            )
        # Tier boundary: total_input equal to above_input does not select the tier (UNIT-044).
        above = rng.randint(1000, 100_000)
        model = {
            "weights": {"input": "0.000001", "output": "0.000002"},
            "tiers": [{"above_input": above, "weights": {"input": "0.000003"}}],
        }
        card = self.card({"tiered": model})
        for name, total in (("at", above), ("above", above + 1)):
            self.price_case(
                f"price-tier-{name}-boundary",
                f"total_input {total} against a tier above_input {above}: a tier applies only when "
                "total_input is strictly greater.",
                ("UNIT-044", "UNIT-045", "UNIT-062"),
                card,
                {"model": "tiered", "meters": {"input": total, "output": 10}},
                None,
            )
        # Minimum (UNIT-049).
        card = self.card({"small": {"weights": {"input": "0.000001"}, "minimum": "0.05"}})
        self.price_case(
            "price-minimum",
            "A usage priced 0.000042 UTU under a minimum of 0.05: the amount is the minimum and "
            "minimum_applied is true.",
            ("UNIT-049", "UNIT-062"),
            card,
            {"model": "small", "meters": {"input": 42}},
            None,
        )
        # Validity (UNIT-042, UNIT-028): nbf inclusive, exp exclusive.
        card = self.card({"m": {"weights": {"input": "0.000001"}}})
        usage = {"model": "m", "meters": {"input": 1000}}
        for name, at in (
            ("at-exp", card["exp"]),
            ("after-exp", card["exp"] + rng.randint(1, 10**6)),
            ("before-nbf", card["nbf"] - 1),
            ("at-nbf", card["nbf"]),
        ):
            self.price_case(
                f"price-validity-{name}",
                f"Pricing at t = {at} under a card valid for {card['nbf']} <= t < {card['exp']}.",
                ("UNIT-042", "UNIT-028"),
                card,
                usage,
                at,
            )
        self.price_case(
            "price-unknown-model",
            "The usage names a model the card does not list.",
            ("UNIT-043",),
            card,
            {"model": "not-on-card", "meters": {"input": 1}},
            None,
        )
        self.price_case(
            "price-unpriced-meter",
            "A non-zero meter without an effective weight.",
            ("UNIT-046",),
            card,
            {"model": "m", "meters": {"input": 1, "output": 1}},
            None,
        )
        self.price_case(
            "price-zero-count-needs-no-weight",
            "A meter present with the count 0 needs no weight and makes no line.",
            ("UNIT-006", "UNIT-046", "UNIT-061"),
            card,
            {"model": "m", "meters": {"input": 1, "output": 0}},
            None,
        )

    def rates(self) -> dict[str, Any]:
        rng = self.rng
        nbf = 1_790_000_000 + rng.randrange(10**6)
        return {
            "iss": self.iss,
            "rates_id": f"fx-{rng.randrange(16**8):08x}",
            "ver": "1.0",
            "iat": nbf,
            "nbf": nbf,
            "exp": nbf + 86400,
            "base": "UTU",
            "rates": {
                "CNY": {"rate": _decimal(rng, 4, positive=True), "precision": 2},
                "JPY": {"rate": _decimal(rng, 2, positive=True), "precision": 0},
                "sht.points": {"rate": _decimal(rng, 0, positive=True), "precision": 0},
                "ctc.quota": {"rate": _decimal(rng, 18, positive=True), "precision": 4},
                "USD": {"rate": "1", "precision": 2},
            },
        }

    def conversions(self, count: int) -> None:
        rng = self.rng
        codes = ("UTU", "CNY", "JPY", "sht.points", "ctc.quota", "USD")
        precisions = {"UTU": 6, "CNY": 2, "JPY": 0, "sht.points": 0, "ctc.quota": 4, "USD": 2}
        for index in range(count):
            rates = self.rates()
            source, target = rng.sample(codes, 2)
            amount = to_decimal(
                Fraction(rng.randint(-(10**9), 10**9), 10 ** rng.randint(0, precisions[source]))
            )
            at = rng.choice((None, rates["nbf"], rates["exp"] - 1))
            self.convert_case(
                f"convert-random-{index}",
                "A random amount between two codes of a random set, rounded once.",
                ("FX-020", "FX-024", "FX-025", "FX-026", "FX-027"),
                rates,
                amount,
                (source, target),
                at,
            )
        rates = self.rates()
        for index, amount in enumerate(("0.125", "-0.125", "0.135", "2.5")):
            self.convert_case(
                f"convert-tie-half-even-{index}",
                f"{amount} UTU to USD at rate 1 lies halfway between two cents: ties go to even, "
                "symmetrically about zero.",
                ("FX-025", "CONV-024"),
                rates,
                amount,
                ("UTU", "USD" if index < 3 else "JPY"),
                None,
            )
        rates["rates"]["JPY"] = {"rate": "1", "precision": 0}
        self.convert_case(
            "convert-tie-half-even-whole",
            "2.5 UTU to a unit of precision 0 at rate 1 is a tie: the result is 2, not 3.",
            ("FX-025",),
            rates,
            "2.5",
            ("UTU", "JPY"),
            None,
        )
        for name, at in (("at-exp", rates["exp"]), ("before-nbf", rates["nbf"] - 1)):
            self.convert_case(
                f"convert-validity-{name}",
                "A conversion at a time outside the set's validity.",
                ("FX-021", "FX-008"),
                rates,
                "1",
                ("CNY", "JPY"),
                at,
            )
        self.convert_case(
            "convert-too-many-digits",
            "An amount with more fractional digits than the precision of its code.",
            ("FX-023",),
            rates,
            "1.001",
            ("CNY", "UTU"),
            None,
        )
        self.convert_case(
            "convert-unknown-code",
            "A code the set does not list.",
            ("FX-022",),
            rates,
            "1",
            ("CNY", "EUR"),
            None,
        )


def build(seed: int, *, generated: int = 24) -> list[Case]:
    """Every case of the profile: static vectors, then the cases generated from ``seed``."""
    return _static() + _Gen(seed).build(generated)
