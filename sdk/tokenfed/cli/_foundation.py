"""Commands of the foundation chapters: keys, rate cards, pricing, conversion."""

from __future__ import annotations

import argparse
import json
import time
from typing import TypeVar

from ..exchange import ExchangeRates
from ..keys import generate_key
from ..units import RateCard
from ._io import emit, read_bytes, read_json, read_private_key, write_atomic
from ._trustargs import document_trust, warn_unverified
from ._usage import read_usage

__all__ = [
    "convert",
    "keygen",
    "price",
    "rate_card_sign",
    "rate_card_verify",
    "rates_sign",
    "rates_verify",
    "read_rate_card",
]


def _now(at: int | None) -> int:
    return int(time.time()) if at is None else at


DocumentT = TypeVar("DocumentT", RateCard, ExchangeRates)


def _read_document(
    kind: type[DocumentT], what: str, path: str, args: argparse.Namespace
) -> DocumentT:
    """The signed document at ``path``, verified with the key or trust store the command line
    names, or read unverified (with a warning) for ``--no-verify`` (UNIT-033)."""
    text = read_bytes(path)
    trust = document_trust(args)
    if trust is None:
        warn_unverified(what)
        return kind.parse_unverified(text)
    return kind.parse(text, trust)


def read_rate_card(path: str, args: argparse.Namespace) -> RateCard:
    """The rate card at ``path``, as the command line says to verify it."""
    return _read_document(RateCard, "rate card", path, args)


def keygen(args: argparse.Namespace) -> int:
    """``tokenfed keygen``: write a private JWK (0600), print the public JWK."""
    key = generate_key(args.alg)
    write_atomic(args.out, json.dumps(key.to_jwk(), indent=2) + "\n", overwrite=args.force)
    emit(key.public_key().to_jwk(with_validity=False))
    return 0


def rate_card_sign(args: argparse.Namespace) -> int:
    """``tokenfed rate-card sign``: validate claims, print the JWS."""
    key = read_private_key(args.key)
    print(RateCard.sign(read_json(args.claims), key))
    return 0


def rate_card_verify(args: argparse.Namespace) -> int:
    """``tokenfed rate-card verify``: verify the JWS, print its claims."""
    card = read_rate_card(args.card, args)
    emit(card.raw)
    return 0


def rates_sign(args: argparse.Namespace) -> int:
    """``tokenfed rates sign``: validate exchange-rate claims, print the JWS."""
    key = read_private_key(args.key)
    print(ExchangeRates.sign(read_json(args.claims), key))
    return 0


def read_rates(path: str, args: argparse.Namespace) -> ExchangeRates:
    """The exchange-rate set at ``path``, as the command line says to verify it."""
    return _read_document(ExchangeRates, "exchange-rate set", path, args)


def rates_verify(args: argparse.Namespace) -> int:
    """``tokenfed rates verify``: verify the JWS, print its claims."""
    emit(read_rates(args.rates, args).raw)
    return 0


def price(args: argparse.Namespace) -> int:
    """``tokenfed price``: price a usage object (or with ``--from`` a vendor's report) under a
    rate card at a time."""
    card = read_rate_card(args.rate_card, args)
    usage = read_usage(args, args.usage)
    emit(card.price(usage, at=_now(args.at)).to_json())
    return 0


def convert(args: argparse.Namespace) -> int:
    """``tokenfed convert``: convert an amount with an exchange-rate set at a time."""
    rates = read_rates(args.rates, args)
    result = rates.convert(args.amount, args.from_code, args.to_code, at=_now(args.at))
    emit(result.to_json())
    return 0
