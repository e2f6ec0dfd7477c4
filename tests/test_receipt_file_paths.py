"""A receipt file gives the same results whichever verification path runs (ADR 0010, REC-070).

A file of valid JWS receipts of one stream, each followed now and then by hostile lines made
from it (bytes changed, the signature cut or swapped, the claims spaced out, re-signed with
another amount, a future iat, an extra member, another key, other usage; replays, duplicates,
empty and non-receipt lines), is verified with the hot module (compiled and as pure Python) and
with the reference path alone, in one process and with two workers: the results file and the
summary must be the same, byte for byte. The hot module answers for JWS receipts only after
the stream's first receipt taught it the header and key, so most lines of the file take it.
"""

from __future__ import annotations

import base64
import json
import random
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tokenfed import _jws
from tokenfed.keys import KeyValidity, PrivateKey, generate_key
from tokenfed.receipts import ReceiptIssuer
from tokenfed.receipts import _verifier as verifier_module
from tokenfed.receipts._files import VerifierConfig, verify_file
from tokenfed.trust import TrustStore
from tokenfed.units import RateCard

T0 = 1767225600
NOW = T0 + 3600
ISS = "https://provider.example"
CARD = {
    "iss": ISS,
    "rate_card_id": "paths-card",
    "ver": "1.0",
    "iat": T0,
    "nbf": T0,
    "exp": T0 + 86400 * 365,
    "unit": "UTU",
    "models": {"m1": {"weights": {"input": "0.0016", "output": "0.0064"}}},
}
KEY = generate_key("EdDSA")
OTHER_KEY = generate_key("EdDSA")
TRUST_DOC = {
    "ver": "1.0",
    "issuers": {ISS: {"jwks": {"keys": [KEY.public_key(KeyValidity(nbf=T0)).to_jwk()]}}},
}
CARD_JWS = RateCard.sign(CARD, KEY)


def _claims_of(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    decoded: dict[str, Any] = json.loads(
        base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    )
    return decoded


def _signed(claims: dict[str, Any], key: PrivateKey = KEY) -> str:
    return _jws.sign(claims, key, _jws.TYP_RECEIPT)


def _hostile(token: str, earlier: list[str], rng: random.Random) -> str:
    """One hostile line made from the valid receipt ``token``."""
    head, payload, signature = token.split(".")
    claims = _claims_of(token)
    kind = rng.randrange(12)
    if kind == 0:
        at = rng.randrange(len(token))
        return token[:at] + rng.choice(list('AB-_.x=/+ \\"{\u00e9')) + token[at + 1 :]
    if kind == 1:
        return rng.choice(earlier)  # a duplicate, or a replay of an earlier receipt
    if kind == 2:
        return _signed({**claims, "amount": "9.99"})
    if kind == 3:
        return _signed({**claims, "iat": NOW + 10_000})
    if kind == 4:
        return _signed(claims, OTHER_KEY)
    if kind == 5:
        return f"{head}.{payload}.{signature[:-2]}AA"
    if kind == 6:
        spaced = json.dumps(claims, separators=(", ", ": ")).encode("ascii")
        return f"{head}.{base64.urlsafe_b64encode(spaced).rstrip(b'=').decode()}.{signature}"
    if kind == 7:
        return _signed({**claims, "zz": 1})
    if kind == 8:
        return ""
    if kind == 9:
        return token.encode("ascii").hex()[:60]
    if kind == 10:
        return _signed({**claims, "usage": {"model": "m1", "meters": {"input": 1, "output": 1}}})
    return f"{head}.{payload}.{signature}=="


def _receipt_file(path: Path, seed: int, receipts: int = 120) -> None:
    rng = random.Random(seed)
    card = RateCard.from_jws(CARD_JWS, TrustStore.from_json(TRUST_DOC))
    issuer = ReceiptIssuer(KEY, ISS, card, clock=lambda: NOW - 60)
    lines: list[str] = []
    issued: list[str] = []
    for number in range(receipts):
        token = issuer.issue(
            aud="https://home.example",
            sub="Zk9xW2cLm3P8qRsT",
            usage={"model": "m1", "meters": {"input": 100 + number, "output": 20}},
            jti=f"r{number}",
        )
        issued.append(token)
        lines.append(token)
        while rng.random() < 0.5:  # after the receipt: the stream's chain stays whole
            lines.append(_hostile(token, issued, rng))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


@pytest.mark.parametrize("seed", [1, 2])
def test_results_same_on_every_path(
    seed: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, hot_module: ModuleType
) -> None:
    source = tmp_path / "receipts.jsonl"
    _receipt_file(source, seed)
    config = VerifierConfig(trust=TRUST_DOC, rate_cards=(CARD_JWS,), now=NOW)
    found: dict[tuple[str, int], tuple[bytes, dict[str, Any]]] = {}
    decoded: list[object] = []  # JWS decoded by the reference path, in this process
    original = _jws.decode

    def counted(*args: Any, **kwargs: Any) -> Any:
        decoded.append(args[0])
        return original(*args, **kwargs)

    monkeypatch.setattr(_jws, "decode", counted)
    for name, module in (("hot", hot_module), ("reference", None)):
        monkeypatch.setattr(verifier_module, "_hot", module)
        for workers in (1, 2):
            decoded.clear()
            results = tmp_path / f"{name}-{workers}.jsonl"
            summary = verify_file(source, results, config, workers=workers, progress=False)
            found[(name, workers)] = (results.read_bytes(), summary.to_json(totals=True))
            if (name, workers) == ("hot", 1):
                # The hot module took the valid receipts after the first (and the forgeries
                # whose only fault is the signature): the reference path saw far fewer.
                assert len(decoded) < summary.lines // 2, len(decoded)
    reference = found[("reference", 1)]
    for path, outcome in found.items():
        assert outcome[0] == reference[0], path
        assert {k: v for k, v in outcome[1].items() if k != "elapsed_ms"} == {
            k: v for k, v in reference[1].items() if k != "elapsed_ms"
        }, path
    totals = reference[1]
    assert totals["accepted"] == 120  # every valid receipt, in its chain
    assert totals["rejected"] > 0 and totals["lines"] > 120
