"""The rate card's fast check (``tokenfed._ratecard._vouch``) vouches only for what the claims
model accepts, and compiles it as the model's card does (UNIT-020..UNIT-032).

A card the fast check vouches for is read without the claims model (its ``claims`` are
validated when first read), so a receipt verifier that meets only such cards never loads the
model machinery. The check may refuse anything (the model then decides, with its exact error);
it must never accept claims that the model or the JSON Schema of spec/schemas reject, and what
it compiles must price exactly as the model's card. Inputs are generated valid cards, their
mutations at any depth, named cases and the spec's vectors.
"""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from _schema_strategy import json_values
from tokenfed._decimal import format_decimal
from tokenfed._document import copy_json
from tokenfed._meters import METERS
from tokenfed._model import validate
from tokenfed._ratecard import _vouch
from tokenfed.errors import TokenfedError
from tokenfed.keys import KeyValidity, generate_key
from tokenfed.trust import TrustStore
from tokenfed.units import RateCard, RateCardClaims
from tokenfed_conformance.vectors import load_vectors

SCHEMA = json.loads(
    (
        Path(__file__).resolve().parent.parent / "spec" / "schemas" / "rate-card.schema.json"
    ).read_text(encoding="utf-8")
)
VALIDATOR = Draft202012Validator(SCHEMA)
MEMBERS = {"iss", "ver", "iat", "nbf", "exp", "rate_card_id", "unit", "models"}


METER_NAMES = [*METERS[:6], "openai.audio_in_tokens", "acme.images", "acme.x_y.z"]


def _decimal(places: int) -> st.SearchStrategy[str]:
    """Canonical non-negative decimal strings with at most ``places`` fractional digits."""
    return st.builds(
        lambda n, p: format_decimal(Decimal(n).scaleb(-p)),
        st.integers(0, 10**12),
        st.integers(0, places),
    )


WEIGHTS = st.dictionaries(st.sampled_from(METER_NAMES), _decimal(9), max_size=4)


@st.composite
def _rates(draw: st.DrawFn, service_tiers: bool) -> dict[str, Any]:
    rates: dict[str, Any] = {"weights": draw(WEIGHTS)}
    if draw(st.booleans()):
        thresholds = sorted(draw(st.sets(st.integers(0, 2**53 - 1), max_size=3)))
        rates["tiers"] = [{"above_input": t, "weights": draw(WEIGHTS)} for t in thresholds]
    if draw(st.booleans()):
        rates["minimum"] = draw(_decimal(6))
    if service_tiers and draw(st.booleans()):
        names = st.sampled_from(["standard", "priority", "batch", "flex", "acme.night"])
        rates["service_tiers"] = draw(st.dictionaries(names, _rates(False), max_size=2))
    return rates


@st.composite
def cards(draw: st.DrawFn) -> dict[str, Any]:
    """Valid rate-card claims of the common shape (every member of the model, no other)."""
    nbf = draw(st.integers(0, 2**53 - 2))
    return {
        "iss": draw(st.sampled_from(["https://a.example", "https://b.example:8443/x/%41"])),
        "ver": draw(st.sampled_from(["1.0", "1.7", "1.10"])),
        "iat": draw(st.integers(0, 2**53 - 1)),
        "nbf": nbf,
        "exp": draw(st.integers(nbf + 1, 2**53 - 1)),
        "rate_card_id": draw(
            st.text(st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=20)
        ),
        "unit": "UTU",
        "models": draw(
            st.dictionaries(st.text(min_size=1, max_size=12), _rates(True), min_size=1, max_size=3)
        ),
    }


CARDS = cards()


def model_card(claims: Any) -> RateCard | None:
    """The card the claims model makes of ``claims``, or None where it refuses them."""
    try:
        raw = copy_json(claims, what="rate card")
        return RateCard(validate(RateCardClaims, raw, what="rate card"), raw)
    except TokenfedError:
        return None


def check(claims: Any) -> bool:
    """The invariant; returns whether the fast check vouched for the claims."""
    if not isinstance(claims, dict):
        return False
    try:
        raw = copy_json(claims, what="rate card")
    except TokenfedError:
        return False
    compiled = _vouch(raw)
    if compiled is None:
        return False
    card = model_card(claims)
    assert card is not None, claims
    assert VALIDATOR.is_valid(claims), claims
    assert compiled == card._compiled, claims
    return True


def common(claims: dict[str, Any]) -> bool:
    """The shape the fast check takes: the claims' members and no unknown member anywhere."""
    if set(claims) != MEMBERS:
        return False
    for rates in claims["models"].values():
        if not set(rates) <= {"weights", "tiers", "minimum", "service_tiers"}:
            return False
        levels = [rates, *rates.get("service_tiers", {}).values()]
        for level in levels[1:]:
            if not set(level) <= {"weights", "tiers", "minimum"}:
                return False
        for level in levels:
            if any(set(tier) != {"above_input", "weights"} for tier in level.get("tiers", [])):
                return False
    return True


SETTINGS = settings(
    max_examples=100, derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


@SETTINGS
@given(CARDS)
def test_generated_valid_cards(claims: dict[str, Any]) -> None:
    """Valid cards of the common shape are accepted by the model and vouched for, and compiled
    as the model's card is."""
    assert model_card(claims) is not None, claims
    assert common(claims)
    assert check(claims), claims


JSON_VALUES = json_values(
    [
        "1.0",
        "2.0",
        "1.01",
        "UTU",
        "utu",
        "0",
        "0.5",
        "0.50",
        "-1",
        "1e3",
        "0.0000000001",
        "input",
        "input\n",
        "x.y",
        "https://a.example",
        "https://A.example",
        "standard",
    ],
    text_size=12,
)


def _containers(value: Any, found: list[Any]) -> list[Any]:
    if isinstance(value, dict):
        found.append(value)
        for member in value.values():
            _containers(member, found)
    elif isinstance(value, list):
        found.append(value)
        for item in value:
            _containers(item, found)
    return found


@st.composite
def mutated(draw: st.DrawFn) -> dict[str, Any]:
    """A valid card with one member or item, at any depth, replaced, removed or added."""
    claims: dict[str, Any] = draw(CARDS)
    target = draw(st.sampled_from(_containers(claims, [])))
    action = draw(st.sampled_from(["replace", "remove", "add"]))
    if isinstance(target, dict):
        names = sorted(target)
        if action == "add" or not names:
            target[draw(st.text(max_size=10))] = draw(JSON_VALUES)
        elif action == "remove":
            del target[draw(st.sampled_from(names))]
        else:
            target[draw(st.sampled_from(names))] = draw(JSON_VALUES)
    elif action == "add" or not target:
        target.append(draw(JSON_VALUES))
    elif action == "remove":
        del target[draw(st.integers(0, len(target) - 1))]
    else:
        target[draw(st.integers(0, len(target) - 1))] = draw(JSON_VALUES)
    return claims


@settings(
    max_examples=300, derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(mutated())
def test_fast_check_never_vouches_for_a_mutation_the_model_refuses(claims: dict[str, Any]) -> None:
    """UNIT-020..UNIT-027: a mutated card is vouched for only if the model and the JSON Schema
    accept it, and then compiled as the model's card is."""
    check(claims)


BASE: dict[str, Any] = {
    "iss": "https://tokens.provider.example",
    "rate_card_id": "card-1",
    "ver": "1.0",
    "iat": 1795000000,
    "nbf": 1795000000,
    "exp": 1797600000,
    "unit": "UTU",
    "models": {
        "m": {
            "weights": {"input": "0.000001", "output": "0.000002", "acme.images": "0.5"},
            "tiers": [
                {"above_input": 1000, "weights": {"input": "0.0000005"}},
                {"above_input": 5000, "weights": {"input": "0.00000025"}},
            ],
            "minimum": "0.001",
            "service_tiers": {
                "priority": {
                    "weights": {"input": "0.000002", "output": "0.000004"},
                    "minimum": "0.01",
                },
                "acme.night": {"weights": {"input": "0.0000005"}},
            },
        }
    },
}


def _with(path: str, value: Any) -> dict[str, Any]:
    claims = copy.deepcopy(BASE)
    *parents, last = path.split("/")
    target: Any = claims
    for part in parents:
        target = target[int(part)] if isinstance(target, list) else target[part]
    if value is _REMOVE:
        del target[last]
    elif isinstance(target, list):
        target[int(last)] = value
    else:
        target[last] = value
    return claims


_REMOVE = object()
REFUSED = {
    "ver of another major": ("ver", "2.0"),
    "ver with a leading zero": ("ver", "1.01"),
    "iat a boolean": ("iat", True),
    "iat negative": ("iat", -1),
    "exp equal to nbf": ("exp", 1795000000),
    "unit lowercase": ("unit", "utu"),
    "issuer with an uppercase host": ("iss", "https://Tokens.provider.example"),
    "card id with a space": ("rate_card_id", "card 1"),
    "card id of 257 characters": ("rate_card_id", "c" * 257),
    "no models": ("models", {}),
    "model id empty": ("models", {"": BASE["models"]["m"]}),
    "model id of 257 characters": ("models", {"m" * 257: BASE["models"]["m"]}),
    "weights missing": ("models/m/weights", _REMOVE),
    "weight not canonical": ("models/m/weights/input", "0.0000010"),
    "weight negative": ("models/m/weights/input", "-0.000001"),
    "weight with 10 fractional digits": ("models/m/weights/input", "0.0000000001"),
    "weight a number": ("models/m/weights/input", 1),
    "meter name with a line end": ("models/m/weights", {"input\n": "0.1"}),
    "meter name unregistered": ("models/m/weights", {"images": "0.1"}),
    "tiers not increasing": ("models/m/tiers/1/above_input", 1000),
    "tier threshold a boolean": ("models/m/tiers/0/above_input", False),
    "tier without weights": ("models/m/tiers/0", {"above_input": 1000}),
    "minimum with 7 fractional digits": ("models/m/minimum", "0.0000001"),
    "service tier named in uppercase": ("models/m/service_tiers", {"Priority": {"weights": {}}}),
    "service tier with service tiers": (
        "models/m/service_tiers/priority",
        {"weights": {}, "service_tiers": {}},
    ),
    "unknown member (kept by the model, read through it)": ("note", "x"),
    "unknown member of a tier (read through the model)": ("models/m/tiers/0/note", "x"),
}


def test_the_base_card_is_vouched_for() -> None:
    """The named cases below are refused for their one change only."""
    assert check(BASE)


@pytest.mark.parametrize("name", list(REFUSED))
def test_named_cases_are_not_vouched_for(name: str) -> None:
    """Each case is left to the model, which refuses it (or, for unknown members, keeps them)."""
    path, value = REFUSED[name]
    claims = _with(path, value)
    assert _vouch(copy_json(claims, what="rate card")) is None
    assert (model_card(claims) is not None) is name.startswith("unknown member")


@pytest.mark.parametrize("value", [[BASE], "card", None, 1])
def test_claims_that_are_no_object_are_not_vouched_for(value: Any) -> None:
    """A rate card's claims are a JSON object (UNIT-022): anything else is the model's to refuse."""
    assert _vouch(value) is None
    with pytest.raises(TokenfedError) as refused:
        RateCard.from_claims(value)
    assert refused.value.code == "schema_violation"


def test_vectors_are_vouched_for_as_the_model_reads_them() -> None:
    """Every rate card of the spec's vectors: vouched for only where the vector is valid, and
    then with its digest and compiled weights; most valid ones are vouched for."""
    vouched = 0
    for vector in load_vectors("documents"):
        if vector.input.get("kind") != "rate-card" or "document" not in vector.input:
            continue
        claims = vector.input["document"]
        if check(claims):
            vouched += 1
            assert vector.expected.get("valid") is True, vector.id
            card = RateCard.from_claims(claims)
            assert card._claims is None  # read without the model
            assert card.digest == vector.expected["digest"], vector.id
    assert vouched >= 5


def test_a_vouched_card_builds_its_claims_when_read() -> None:
    """``claims`` of a card read without the model are the model's claims of the same raw
    members; prices and validity are the model's card's."""
    key = generate_key()
    token = RateCard.sign(BASE, key)
    trust = TrustStore({}).with_key(BASE["iss"], key.public_key(KeyValidity(nbf=0)))
    card = RateCard.parse(token, trust)
    eager = model_card(BASE)
    assert eager is not None
    assert card._claims is None and card.verified
    assert card.id == "card-1" and card.digest == eager.digest
    for meters in ({"input": 1200, "output": 30}, {"input": 9000}, {"output": 2}):
        assert card.micro_amount_of("m", meters) == eager.micro_amount_of("m", meters)
        assert card.micro_amount_of("m", meters, service_tier="priority") == (
            eager.micro_amount_of("m", meters, service_tier="priority")
        )
    assert card.is_valid_at(BASE["nbf"]) and not card.is_valid_at(BASE["exp"])
    assert card.claims == eager.claims
    assert card._claims is not None


def test_verifying_receipts_loads_no_model_machinery(tmp_path: Path) -> None:
    """``tokenfed receipt verify`` of valid receipts under a card the fast check vouches for
    never imports pydantic: a file of JWS receipts (in process, and in the parent of two
    workers), a file of batched receipts, and a single receipt."""
    code = (
        "import sys\n"
        "from tokenfed.cli import main\n"
        "status = main(sys.argv[1:])\n"
        "print(status, 'pydantic' in sys.modules)\n"
    )
    from tokenfed.receipts import ReceiptIssuer
    from tokenfed.units import parse_usage

    key = generate_key()
    token = RateCard.sign(BASE, key)
    (tmp_path / "card.jws").write_text(token + "\n", encoding="ascii")
    trust = TrustStore({}).with_key(BASE["iss"], key.public_key(KeyValidity(nbf=0)))
    (tmp_path / "trust.json").write_text(json.dumps(trust.to_json()), encoding="utf-8")
    issuer = ReceiptIssuer(key, BASE["iss"], RateCard.parse(token, trust))
    usage = parse_usage({"model": "m", "meters": {"input": 1200, "output": 30}})
    receipts = [
        issuer.issue(
            aud="https://home.example", sub="Zk9xW2cLm3P8qRsT", usage=usage, iat=BASE["iat"]
        )
        for _ in range(3)
    ]
    (tmp_path / "r.jsonl").write_text("\n".join(receipts) + "\n", encoding="ascii")
    common_args = [
        "--trust",
        str(tmp_path / "trust.json"),
        "--rate-card",
        str(tmp_path / "card.jws"),
    ]
    for workers in ("1", "2"):
        done = subprocess.run(
            [sys.executable, "-c", code, "receipt", "verify", str(tmp_path / "r.jsonl"),
             *common_args, "--at", str(BASE["iat"] + 60), "--workers", workers,
             "--results", str(tmp_path / f"out{workers}.jsonl")],
            capture_output=True, check=False, text=True,
        )  # fmt: skip
        assert done.stdout.splitlines()[-1] == "0 False", done.stderr
    # Batched receipts too: the batch statement's claims are vouched for without their model.
    from tokenfed.receipts import ReceiptRequest

    requests = [ReceiptRequest(aud="https://other.example", sub="Zk9xW2cLm3P8qRsT", usage=usage)]
    batched = issuer.issue_batch(requests * 3, iat=BASE["iat"])
    text = "\n".join(json.dumps(item) for item in batched) + "\n"
    (tmp_path / "b.jsonl").write_text(text, encoding="ascii")
    done = subprocess.run(
        [sys.executable, "-c", code, "receipt", "verify", str(tmp_path / "b.jsonl"), *common_args,
         "--at", str(BASE["iat"] + 60), "--workers", "1", "--results", str(tmp_path / "b.out")],
        capture_output=True, check=False, text=True,
    )  # fmt: skip
    assert done.stdout.splitlines()[-1] == "0 False", done.stderr
    assert json.loads("\n".join(done.stdout.splitlines()[:-1]))["accepted"] == 3
    (tmp_path / "one.jws").write_text(receipts[0], encoding="ascii")
    done = subprocess.run(
        [sys.executable, "-c", code, "receipt", "verify", str(tmp_path / "one.jws"), *common_args,
         "--at", str(BASE["iat"] + 60)],
        capture_output=True, check=False, text=True,
    )  # fmt: skip
    assert done.stdout.splitlines()[-1] == "0 False", done.stderr
    assert json.loads("\n".join(done.stdout.splitlines()[:-1]))["seq"] == 1


def test_the_receipts_package_loads_its_models_on_first_use() -> None:
    """``tokenfed.receipts`` lists every public name, loads the claims models and the issuer
    only when one is asked for, and names a missing attribute as any module does."""
    code = (
        "import sys, tokenfed.receipts as r\n"
        "listed = {'ReceiptClaims', 'ReceiptIssuer', 'verify_file'} <= set(dir(r))\n"
        "before = 'pydantic' in sys.modules\n"
        "found = r.ReceiptClaims.__name__\n"
        "try:\n"
        "    r.NoSuchName\n"
        "except AttributeError as exc:\n"
        "    missing = str(exc)\n"
        "print(listed, before, found, 'pydantic' in sys.modules, missing)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == (
        "True False ReceiptClaims True module 'tokenfed.receipts' has no attribute 'NoSuchName'"
    )
