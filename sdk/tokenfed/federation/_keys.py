"""Federation keys for verifiers: :class:`FederationTrust`, a :class:`~tokenfed.trust.KeySource`.

A verifier in federation mode asks for the key of (issuer, kid, document ``typ``). The key
table of the chapter says which entity type and metadata member hold the keys for that ``typ``
(receipts and rate cards: ``tokenfed_provider.receipt_jwks``, and so on); the issuer is resolved
for that entity type and the member's key set is kept, with the anchor and path it came from,
until the chain's ``exp``. After that the next lookup resolves again, so a withdrawn recognition
takes effect when the cached chain expires, and never later.

The hot path, once a chain is cached, is a dict lookup, a comparison of the chain's ``exp`` with
the clock and a key-set lookup by ``kid``: federation mode verifies about as fast as a trust
store.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

from ..errors import EntityTypeAbsentError, UnknownKeyError, UnsupportedTypError
from ..keys import KeySet, PublicKey
from ..trust import KeyOrigin
from ._chain import KEY_TABLE
from ._ids import is_federation_entity_id
from ._resolver import Resolution, Resolver

__all__ = ["FederationTrust"]


@dataclass(frozen=True, slots=True)
class _Entry:
    keys: KeySet
    exp: int
    origin: KeyOrigin
    resolution: Resolution


class FederationTrust:
    """A key source resolved through the federation: give it wherever a verifier takes a
    :class:`~tokenfed.trust.TrustStore` (``ReceiptVerifier``, ``RateCard.from_jws``,
    ``ExchangeRates.from_jws``, settlement documents).

    Args:
        resolver: the (synchronous) resolver with the pinned anchors; its clock decides when a
            cached chain has expired.

    A lookup that must resolve blocks until the resolution ends (at most the resolution
    timeout). In async code, warm the cache off the event loop first, for example
    ``await asyncio.to_thread(trust.resolution, iss, typ)``.
    """

    def __init__(self, resolver: Resolver) -> None:
        if not isinstance(resolver, Resolver):
            raise TypeError(f"resolver must be a Resolver, not {type(resolver).__name__}")
        self._resolver = resolver
        self._clock: Callable[[], float] = resolver.clock
        self._entries: dict[tuple[str, str], _Entry] = {}
        self._lock = threading.Lock()

    @property
    def resolver(self) -> Resolver:
        """The resolver lookups go through."""
        return self._resolver

    def key(self, iss: object, kid: object, typ: str | None = None) -> PublicKey:
        """The key ``kid`` that verifies ``iss``'s documents of ``typ`` (the chapter's key table).

        Raises:
            ValueError: ``typ`` is missing: a federation needs the document type.
            UnsupportedTypError: no entity key set verifies documents of ``typ``.
            UnknownKeyError: ``iss`` is not an entity id, or its key set has no ``kid``.
            TokenfedError: the resolution's error (``no_trust_path``, ``entity_type_absent``,
                ``statement_expired``, ``fetch_failed``...).
        """
        if typ is None:
            raise ValueError(
                "FederationTrust.key needs the document typ: the federation's key table chooses "
                "the key set by it"
            )
        return self.key_with_origin(iss, kid, typ)[0]

    def key_with_origin(self, iss: object, kid: object, typ: str) -> tuple[PublicKey, KeyOrigin]:
        """:meth:`key`, with the anchor and path the key set was resolved under."""
        entry = self._entries.get((iss, typ)) if isinstance(iss, str) else None
        if entry is None or self._clock() >= entry.exp:
            entry = self._refresh(iss, typ)
        key = entry.keys.get(kid) if type(kid) is str else None
        if key is None:
            raise UnknownKeyError(
                f"{iss} has no key {kid!r:.60} for {typ} documents under "
                f"{entry.origin.trust_anchor} (FED-035)",
                detail={"iss": iss, "kid": kid, "trust_anchor": entry.origin.trust_anchor},
            )
        return key, entry.origin

    def resolution(self, iss: str, typ: str) -> Resolution:
        """The resolution that serves ``iss``'s keys for documents of ``typ`` (cached until its
        chain expires)."""
        entry = self._entries.get((iss, typ))
        if entry is None or self._clock() >= entry.exp:
            entry = self._refresh(iss, typ)
        return entry.resolution

    def _refresh(self, iss: object, typ: str) -> _Entry:
        if not is_federation_entity_id(iss):
            raise UnknownKeyError(
                f"issuer {iss!r:.120} is not a federation entity id; no key can be resolved",
                detail={"iss": iss if isinstance(iss, str) else None},
            )
        assert isinstance(iss, str)
        rows = KEY_TABLE.get(typ)
        if rows is None:
            raise UnsupportedTypError(
                f"no entity key set verifies documents of typ {typ!r} (FED-035)"
            )
        first: EntityTypeAbsentError | None = None
        for entity_type, _member in rows:
            try:
                resolution = self._resolver.resolve(iss, entity_type)
            except EntityTypeAbsentError as exc:
                first = first or exc
                continue
            chain = resolution.chain
            entry = _Entry(
                keys=chain.keys_for(typ),
                exp=chain.exp,
                origin=KeyOrigin(chain.trust_anchor, chain.path, chain.exp),
                resolution=resolution,
            )
            with self._lock:
                self._entries[(iss, typ)] = entry
            return entry
        assert first is not None
        raise first
