"""Federation mode for verifiers: FederationTrust as the key source of receipts and rate cards.

A provider of alliance B signs a rate card and receipts with its receipt key, published by value
in its ``tokenfed_provider.receipt_jwks``; a verifier anchored at alliance A verifies them
through A's recognition of B, and every result names A and the path.
"""

from __future__ import annotations

import pickle
import time
from collections.abc import Iterator
from typing import Any

import pytest

from _fedhttp import Servers
from _fedworld import T0, Entity, World
from tokenfed.errors import (
    EntityTypeAbsentError,
    NoTrustPathError,
    UnknownKeyError,
    UnsupportedTypError,
)
from tokenfed.exchange import ExchangeRates
from tokenfed.federation import FederationTrust, Resolver
from tokenfed.federation._resolver import NEGATIVE_TTL
from tokenfed.keys import KeyValidity, generate_key
from tokenfed.receipts import ReceiptIssuer, ReceiptVerifier
from tokenfed.trust import KeyOrigin, KeySource, TrustStore
from tokenfed.units import RateCard
from tokenfed_conformance.vectors import load_vectors

NOW = T0 + 3600
AUD = "https://home.a.example"
SUB = "Zk9xW2cLm3P8qRsT"
USAGE = {"model": "qwen-max", "meters": {"input": 1200, "output": 300}}
PROVIDER = "tokenfed_provider"
CARD_CLAIMS: dict[str, Any] = load_vectors("receipts").extra["fixtures"]["rate_cards"]["default"]


class Clock:
    def __init__(self, now: int = NOW) -> None:
        self.now = now

    def __call__(self) -> float:
        return float(self.now)


@pytest.fixture
def world() -> Iterator[World]:
    with Servers() as servers:
        yield World(servers)


def alliances(world: World) -> tuple[Entity, Entity, Entity, Entity]:
    a = world.authority("https://anchor.a.example")
    b = world.authority("https://anchor.alliance-b.example", [a.entity_id])
    i_b = world.authority("https://org.alliance-b.example", [b.entity_id])
    l_b = world.provider("https://llm.alliance-b.example", [i_b.entity_id])
    world.recognise(a, b, ".alliance-b.example")
    world.subordinate(b, i_b)
    world.subordinate(i_b, l_b)
    return a, b, i_b, l_b


def federation_trust(world: World, anchor: Entity, clock: Clock | None = None) -> FederationTrust:
    return FederationTrust(
        Resolver([anchor.anchor()], origin_map=world.origin_map, clock=clock or Clock())
    )


def card_and_receipt(provider: Entity) -> tuple[str, str]:
    assert provider.app_key is not None
    token = RateCard.sign(dict(CARD_CLAIMS, iss=provider.entity_id), provider.app_key)
    card = RateCard.from_jws_unverified(token)
    receipt = ReceiptIssuer(provider.app_key, provider.entity_id, card, clock=lambda: NOW).issue(
        aud=AUD, sub=SUB, usage=USAGE
    )
    return token, receipt


def test_receipt_verifies_through_the_federation(world: World) -> None:
    """FED-035, FED-059: the rate card and the receipt verify with the provider's receipt_jwks
    resolved under A; the verified receipt names A and the path."""
    a, b, i_b, l_b = alliances(world)
    card_token, receipt = card_and_receipt(l_b)
    trust = federation_trust(world, a)
    try:
        card = RateCard.from_jws(card_token, trust)
        verifier = ReceiptVerifier(trust, [card], clock=lambda: NOW)
        verified = verifier.verify(receipt)
    finally:
        trust.resolver.close()
    assert verified.trust_anchor == a.entity_id
    assert verified.trust_path == (l_b.entity_id, i_b.entity_id, b.entity_id, a.entity_id)
    assert verified.to_json()["trust_anchor"] == a.entity_id
    again = pickle.loads(pickle.dumps(verified))
    assert again.trust_path == verified.trust_path


def test_trust_store_mode_has_no_trust_anchor() -> None:
    """A trust-store key has no federation origin: trust_anchor and trust_path are None."""
    key = generate_key()
    iss = "https://provider.example"
    store = TrustStore.from_json(
        {
            "ver": "1.0",
            "issuers": {iss: {"jwks": {"keys": [key.public_key(KeyValidity(nbf=0)).to_jwk()]}}},
        }
    )
    assert isinstance(store, KeySource)
    card = RateCard.from_jws(RateCard.sign(dict(CARD_CLAIMS, iss=iss), key), store)
    receipt = ReceiptIssuer(key, iss, card, clock=lambda: NOW).issue(aud=AUD, sub=SUB, usage=USAGE)
    verified = ReceiptVerifier(store, [card], clock=lambda: NOW).verify(receipt)
    assert verified.trust_anchor is None
    assert verified.trust_path is None
    assert store.key_with_origin(iss, key.kid, "tokenfed-receipt+jwt")[1] is None


def test_unknown_kid_is_unknown_key(world: World) -> None:
    """FED-035: a kid that is not in the resolved receipt_jwks is unknown_key."""
    a, _, _, l_b = alliances(world)
    trust = federation_trust(world, a)
    with trust.resolver, pytest.raises(UnknownKeyError):
        trust.key(l_b.entity_id, generate_key().kid, "tokenfed-receipt+jwt")


def test_federation_key_is_not_a_document_key(world: World) -> None:
    """FED-033, FED-035: the provider's federation key never verifies a receipt."""
    a, _, _, l_b = alliances(world)
    trust = federation_trust(world, a)
    with trust.resolver, pytest.raises(UnknownKeyError):
        trust.key(l_b.entity_id, l_b.key.kid, "tokenfed-receipt+jwt")


def test_receipt_checked_against_an_operator_is_entity_type_absent(world: World) -> None:
    """FED-035: an entitlement typ needs tokenfed_operator metadata; a provider has none."""
    a, _, _, l_b = alliances(world)
    assert l_b.app_key is not None
    trust = federation_trust(world, a)
    with trust.resolver, pytest.raises(EntityTypeAbsentError):
        trust.key(l_b.entity_id, l_b.app_key.kid, "tokenfed-entitlement+jwt")


def test_typ_outside_the_key_table_is_unsupported_typ(world: World) -> None:
    a, _, _, l_b = alliances(world)
    trust = federation_trust(world, a)
    with trust.resolver, pytest.raises(UnsupportedTypError):
        trust.key(l_b.entity_id, "kid", "application/jwt")


def test_key_without_typ_is_a_programming_error(world: World) -> None:
    a, _, _, l_b = alliances(world)
    trust = federation_trust(world, a)
    with trust.resolver, pytest.raises(ValueError, match="typ"):
        trust.key(l_b.entity_id, "kid")


def test_issuer_that_is_not_an_entity_id_is_unknown_key(world: World) -> None:
    a, _, _, _ = alliances(world)
    trust = federation_trust(world, a)
    with trust.resolver, pytest.raises(UnknownKeyError):
        trust.key("http://llm.alliance-b.example", "kid", "tokenfed-receipt+jwt")


def test_cached_key_lookup_makes_no_fetch_until_the_chain_expires(world: World) -> None:
    """FED-075: with the chain cached a lookup is a dict hit; after its exp the issuer is
    resolved again, and a withdrawn recognition then fails verification."""
    a, b, _, l_b = alliances(world)
    short = T0 + 7200
    world.recognise(a, b, ".alliance-b.example", exp=short)
    assert l_b.app_key is not None
    clock = Clock()
    trust = federation_trust(world, a, clock)
    with trust.resolver:
        key, origin = trust.key_with_origin(l_b.entity_id, l_b.app_key.kid, "tokenfed-receipt+jwt")
        assert origin == KeyOrigin(a.entity_id, origin.path, short)
        fetches = trust.resolver.fetches
        del a.app.subordinates[b.entity_id]
        clock.now = short - 400  # before the last tenth of the chain's lifetime
        assert trust.key(l_b.entity_id, l_b.app_key.kid, "tokenfed-receipt+jwt") is key
        assert trust.resolver.fetches == fetches
        clock.now = short - 1  # a background refresh fails (404): the cached chain holds
        assert trust.key(l_b.entity_id, l_b.app_key.kid, "tokenfed-receipt+jwt") is key
        clock.now = short
        with pytest.raises(NoTrustPathError):
            trust.key(l_b.entity_id, l_b.app_key.kid, "tokenfed-receipt+jwt")


def test_batched_receipts_recheck_the_chain(world: World) -> None:
    """A batch statement verified once is cached by the verifier; in federation mode its key's
    chain is checked again on each use, so a withdrawn recognition stops the batch too."""
    a, b, _, l_b = alliances(world)
    short = T0 + 7200
    world.recognise(a, b, ".alliance-b.example", exp=short)
    assert l_b.app_key is not None
    card_token, _ = card_and_receipt(l_b)
    clock = Clock()
    trust = federation_trust(world, a, clock)
    with trust.resolver:
        card = RateCard.from_jws(card_token, trust)
        issuer = ReceiptIssuer(l_b.app_key, l_b.entity_id, card, clock=lambda: NOW)
        from tokenfed.receipts import ReceiptRequest

        batch = issuer.issue_batch(
            [ReceiptRequest(aud=AUD, sub=SUB, usage=USAGE) for _ in range(2)]
        )
        verifier = ReceiptVerifier(trust, [card], clock=lambda: NOW)
        first = verifier.verify(batch[0])
        assert first.trust_anchor == a.entity_id
        del a.app.subordinates[b.entity_id]
        clock.now = short
        with pytest.raises(NoTrustPathError):
            verifier.verify(batch[1])


def test_jws_receipts_recheck_the_chain(
    world: World, hot_module: Any, jws_decodes: list[object]
) -> None:
    """JWS receipts in federation mode take the hot path once one verified, and the chain is
    still asked for on every receipt: each names the anchor and path, and a withdrawn
    recognition stops the next receipt with the reference path's code."""
    a, b, i_b, l_b = alliances(world)
    short = T0 + 7200
    world.recognise(a, b, ".alliance-b.example", exp=short)
    card_token, receipt = card_and_receipt(l_b)
    clock = Clock()
    trust = federation_trust(world, a, clock)
    decoded = jws_decodes
    with trust.resolver:
        card = RateCard.from_jws(card_token, trust)
        verifier = ReceiptVerifier(trust, [card], clock=lambda: NOW)
        decoded.clear()  # the rate card's
        found = [verifier.verify(receipt) for _ in range(3)]
        assert len(decoded) == 1  # then the hot module's path
        path = (l_b.entity_id, i_b.entity_id, b.entity_id, a.entity_id)
        assert [(r.trust_anchor, r.trust_path) for r in found] == [(a.entity_id, path)] * 3
        del a.app.subordinates[b.entity_id]
        clock.now = short
        with pytest.raises(NoTrustPathError):
            verifier.verify(receipt)


def test_exchange_rates_verify_with_the_clearing_house_keys(world: World) -> None:
    """FED-035: an exchange-rate set verifies with the clearing house's statement_jwks resolved
    through the federation; the same key offered as a provider's receipt key is not found."""
    anchor = world.authority("https://anchor.a.example")
    house = world.clearing_house("https://fx.a.example", [anchor.entity_id])
    world.subordinate(anchor, house)
    assert house.app_key is not None
    claims = {
        "iss": house.entity_id,
        "rates_id": "fx-test",
        "ver": "1.0",
        "iat": T0,
        "nbf": T0,
        "exp": T0 + 86400 * 30,
        "base": "UTU",
        "rates": {"CNY": {"rate": "7.2", "precision": 2}},
    }
    token = ExchangeRates.sign(claims, house.app_key)
    trust = federation_trust(world, anchor)
    with trust.resolver:
        rates = ExchangeRates.from_jws(token, trust)
        assert rates.verified
        with pytest.raises(EntityTypeAbsentError):
            trust.key(house.entity_id, house.app_key.kid, "tokenfed-rate-card+jwt")


def test_lookup_in_the_refresh_window_takes_the_refreshed_chain(world: World) -> None:
    """FED-075: in the last tenth of the chain's lifetime a lookup is answered at once from
    the cache while the chain is refreshed in the background; once refreshed, lookups use
    the new chain and its later expiry."""
    a, b, _, l_b = alliances(world)
    short = T0 + 7200
    world.recognise(a, b, ".alliance-b.example", exp=short)
    assert l_b.app_key is not None
    clock = Clock()
    trust = federation_trust(world, a, clock)
    kid, typ = l_b.app_key.kid, "tokenfed-receipt+jwt"
    with trust.resolver:
        assert trust.key_with_origin(l_b.entity_id, kid, typ)[1].exp == short
        world.recognise(a, b, ".alliance-b.example")  # re-signed for a day
        clock.now = short - 100
        assert trust.key_with_origin(l_b.entity_id, kid, typ)[1].exp == short  # at once
        for _ in range(500):  # the refresh runs on the resolver's thread
            if trust.resolver.resolve(l_b.entity_id, PROVIDER).exp != short:
                break
            time.sleep(0.01)
        # The trust looks again a minute later (not on every lookup) and takes the new chain.
        assert trust.key_with_origin(l_b.entity_id, kid, typ)[1].exp == short
        clock.now += NEGATIVE_TTL
        assert trust.key_with_origin(l_b.entity_id, kid, typ)[1].exp == world.iat + world.lifetime
