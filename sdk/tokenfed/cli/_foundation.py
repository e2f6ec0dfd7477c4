"""Commands of the foundation chapters: keys, rate cards, pricing, conversion."""

from __future__ import annotations

import argparse
import json
import time

from ..exchange import ExchangeRates
from ..keys import generate_key
from ..units import RateCard
from ._io import emit, read_json, read_private_key, read_public_key, read_text, write_atomic
from ._usage import read_usage

__all__ = ["convert", "keygen", "price", "rate_card_sign", "rate_card_verify"]


def _now(at: int | None) -> int:
    return int(time.time()) if at is None else at


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
    card = RateCard.from_jws(read_text(args.card), read_public_key(args.key))
    emit(card.raw)
    return 0


def price(args: argparse.Namespace) -> int:
    """``tokenfed price``: price a usage object (or with ``--from`` a vendor's report) under a
    rate card at a time."""
    key = read_public_key(args.key) if args.key else None
    card = RateCard.parse(read_text(args.rate_card), key)
    usage = read_usage(args, args.usage)
    emit(card.price(usage, at=_now(args.at)).to_json())
    return 0


def convert(args: argparse.Namespace) -> int:
    """``tokenfed convert``: convert an amount with an exchange-rate set at a time."""
    key = read_public_key(args.key) if args.key else None
    rates = ExchangeRates.parse(read_text(args.rates), key)
    result = rates.convert(args.amount, args.from_code, args.to_code, at=_now(args.at))
    emit(result.to_json())
    return 0
