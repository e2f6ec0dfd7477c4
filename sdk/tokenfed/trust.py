"""A verifier's trust input: which keys it trusts for which issuer (REC-033, REC-034).

A :class:`TrustStore` maps issuer entity ids to JWK sets whose keys carry validity windows
(``nbf``, optional ``exp``, optional ``revoked``, REC-030). It serves every kind of signed
document: receipts and batch statements (REC-033), rate cards (UNIT-031) and exchange-rate sets
(FX-010). A key is looked up by the document's issuer and the ``kid`` of its JWS header, and is
bound to that issuer: it never verifies a document of another issuer.

The document format is ``spec/schemas/trust-store.schema.json``::

    {"ver": "1.0", "issuers": {"https://provider.example": {"jwks": {"keys": [JWK, ...]}}}}

A verifier can take its keys from a federation instead (chapter "Federation"): every verifier
accepts any :class:`KeySource`, the trust store being one and
:class:`tokenfed.federation.FederationTrust` the other. A federation key comes with its
:class:`KeyOrigin`, the anchor and path it was resolved under; a trust-store key has none.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from . import _json
from ._ids import VERSION_PATTERN, check_version, is_entity_id
from .errors import InvalidKeyError, IoError, SchemaViolationError, UnknownKeyError
from .keys import KeySet, KeyValidity, PublicKey, load_public_jwk

__all__ = ["KeyOrigin", "KeySource", "TrustStore"]


@dataclass(frozen=True, slots=True)
class KeyOrigin:
    """Where a federation key came from: the trust anchor of the chain that attested it, the
    entity ids from the issuer up to that anchor, and the chain's expiry (its minimum ``exp``).
    Results under different anchors are never merged."""

    trust_anchor: str
    path: tuple[str, ...]
    exp: int


@runtime_checkable
class KeySource(Protocol):
    """Where a verifier takes an issuer's keys from: a :class:`TrustStore`, or a federation
    (:class:`tokenfed.federation.FederationTrust`).

    ``typ`` is the document's JWS ``typ``: a federation chooses the key set by it (the chapter's
    fixed table of document types and metadata members); a trust store serves every kind of
    document from one key set per issuer and ignores it.
    """

    def key(self, iss: object, kid: object, typ: str | None = None) -> PublicKey:
        """The key ``kid`` of issuer ``iss`` for documents of ``typ``, else
        :class:`~tokenfed.errors.UnknownKeyError` (or the federation's error)."""
        ...

    def key_with_origin(
        self, iss: object, kid: object, typ: str
    ) -> tuple[PublicKey, KeyOrigin | None]:
        """:meth:`key`, with where it was resolved (anchor, path) (``None``: a trust store)."""
        ...


def _beyond(members: Mapping[str, Any], known: Iterable[str]) -> dict[str, Any]:
    """The members of ``members`` not named in ``known``."""
    names = set(known)
    return {name: value for name, value in members.items() if name not in names}


def _check_issuer(iss: object) -> str:
    if not isinstance(iss, str) or not is_entity_id(iss):
        raise SchemaViolationError(
            f"trust store issuer {iss!r:.80} is not an entity id: an https URL without userinfo, "
            "query or fragment (CONV-001, REC-034)",
            detail={"path": "/issuers"},
        )
    return iss


def _key_list(iss: str, entry: object) -> list[dict[str, Any]]:
    """The JWK objects listed for one issuer; any other shape is a schema violation."""
    where = f"/issuers/{iss}"
    jwks = entry.get("jwks") if isinstance(entry, dict) else None
    listed = jwks.get("keys") if isinstance(jwks, dict) else None
    if not isinstance(listed, list):
        raise SchemaViolationError(
            f'trust store issuer {iss} needs {{"jwks": {{"keys": [...]}}}} (REC-034)',
            detail={"path": where},
        )
    for index, jwk in enumerate(listed):
        if not isinstance(jwk, dict):
            raise SchemaViolationError(
                f"trust store key {index} of {iss} is not a JSON object (REC-034)",
                detail={"path": f"{where}/jwks/keys/{index}"},
            )
    return listed


def _issuer_keys(iss: str, listed: list[dict[str, Any]]) -> KeySet:
    """The key set of one issuer whose shape was checked: key errors are invalid keys."""
    keys: list[PublicKey] = []
    seen: set[str] = set()
    for index, jwk in enumerate(listed):
        if "d" in jwk:
            raise InvalidKeyError(
                f"trust store key {index} of {iss} holds a private member 'd'; a trust store "
                "holds public keys only (REC-034)"
            )
        for member in ("kid", "nbf"):
            if member not in jwk:
                raise InvalidKeyError(f"trust store key {index} of {iss} has no {member} (REC-034)")
        key = load_public_jwk(jwk)
        if key.kid in seen:
            raise InvalidKeyError(
                f"trust store lists key {key.kid} twice under {iss} (REC-034)",
                detail={"iss": iss, "kid": key.kid},
            )
        seen.add(key.kid)
        keys.append(key)
    return KeySet(keys)


class TrustStore:
    """Issuer entity id -> keys with validity windows: a verifier's trust input (REC-033)."""

    __slots__ = ("_issuers", "_kept", "_ver")

    def __init__(self, issuers: Mapping[str, KeySet] | None = None) -> None:
        self._issuers: dict[str, KeySet] = dict(issuers or {})
        # What a document read by from_json held beyond what this SDK writes, written back by
        # to_json (CONV-005): members of the document (key ""), of an issuer entry (its id),
        # of its JWK Set ((id, "jwks")) and of each key ((id, kid)); and its version.
        self._kept: dict[Any, dict[str, Any]] = {}
        self._ver = "1.0"

    def _derive(self, issuers: Mapping[str, KeySet]) -> TrustStore:
        """A store with other keys and this one's kept members and version."""
        store = TrustStore(issuers)
        store._kept, store._ver = self._kept, self._ver
        return store

    @classmethod
    def from_json(cls, value: Any) -> TrustStore:
        """Load a trust-store document (REC-034).

        Raises:
            UnsupportedVersionError: ``ver`` is ``MAJOR.MINOR`` with a major version other than 1.
            SchemaViolationError: the document, an issuer entry or a key list has the wrong shape,
                or an issuer is not an entity id.
            InvalidKeyError: a key is private, lacks ``kid`` or ``nbf``, has a ``kid`` that is not
                its thumbprint, an ``alg`` or ``use`` that does not fit, a malformed validity
                window, is not a valid point, or is listed twice under one issuer.
        """
        if not isinstance(value, dict):
            raise SchemaViolationError(
                'a trust store is a JSON object {"ver": "1.0", "issuers": {...}} (REC-034)',
                detail={"path": "/"},
            )
        check_version(value.get("ver"))
        if value.get("ver") is None or not isinstance(value.get("issuers"), dict):
            raise SchemaViolationError(
                'a trust store is {"ver": "1.0", "issuers": {...}} (REC-034)', detail={"path": "/"}
            )
        if not isinstance(value["ver"], str) or VERSION_PATTERN.fullmatch(value["ver"]) is None:
            raise SchemaViolationError(
                f"trust store ver {value['ver']!r:.40} is not MAJOR.MINOR (CONV-003)",
                detail={"path": "/ver"},
            )
        # The shape of the whole document is checked before any key is read (REC-034).
        issuers = {
            _check_issuer(iss): _key_list(iss, entry) for iss, entry in value["issuers"].items()
        }
        store = cls({iss: _issuer_keys(iss, keys) for iss, keys in issuers.items()})
        store._ver = value["ver"]
        kept: dict[Any, dict[str, Any]] = {"": _beyond(value, ("ver", "issuers"))}
        for iss, entry in value["issuers"].items():
            kept[iss] = _beyond(entry, ("jwks",))
            kept[(iss, "jwks")] = _beyond(entry["jwks"], ("keys",))
            for jwk, key in zip(issuers[iss], store._issuers[iss], strict=True):
                kept[(iss, key.kid)] = _beyond(jwk, key.to_jwk())
        store._kept = {place: members for place, members in kept.items() if members}
        return store

    @classmethod
    def load(cls, path: str | Path) -> TrustStore:
        """Read a trust-store file (strict I-JSON, then :meth:`from_json`)."""
        try:
            data = Path(path).read_bytes()
        except OSError as exc:
            raise IoError(f"cannot read trust store {path}: {exc.strerror or exc}") from exc
        return cls.from_json(_json.loads(data))

    def to_json(self) -> dict[str, Any]:
        """The trust-store document, with the members a document read by :meth:`from_json`
        held that this SDK does not know, kept with their values (CONV-005)."""
        kept = self._kept
        issuers: dict[str, Any] = {}
        for iss, keys in self._issuers.items():
            jwks = keys.to_jwks()
            jwks["keys"] = [{**kept.get((iss, key["kid"]), {}), **key} for key in jwks["keys"]]
            issuers[iss] = {**kept.get(iss, {}), "jwks": {**kept.get((iss, "jwks"), {}), **jwks}}
        return {**kept.get("", {}), "ver": self._ver, "issuers": issuers}

    def key(self, iss: object, kid: object, typ: str | None = None) -> PublicKey:
        """The key ``kid`` listed under issuer ``iss`` (REC-033), else :class:`UnknownKeyError`.

        ``typ`` is ignored: a trust store serves every kind of document (REC-033, UNIT-031).
        """
        keys = self._issuers.get(iss) if isinstance(iss, str) else None
        key = keys.get(kid) if keys is not None and isinstance(kid, str) else None
        if key is None:
            raise UnknownKeyError(
                f"no trusted key {kid!r:.60} for issuer {iss!r:.120} (REC-033)",
                detail={"iss": iss if isinstance(iss, str) else None, "kid": kid},
            )
        return key

    def key_with_origin(
        self, iss: object, kid: object, typ: str
    ) -> tuple[PublicKey, KeyOrigin | None]:
        """:meth:`key` and ``None``: a trust-store key has no federation origin."""
        return self.key(iss, kid), None

    def issuers(self) -> list[str]:
        """The issuers this store trusts."""
        return list(self._issuers)

    def entries(self) -> Iterator[tuple[str, PublicKey]]:
        """Every (issuer, key) pair, issuers in the order listed."""
        for iss, keys in self._issuers.items():
            for key in keys:
                yield iss, key

    def with_key(self, iss: str, key: PublicKey) -> TrustStore:
        """A copy that also trusts ``key`` for ``iss`` (REC-030); the key needs ``nbf``."""
        if key.validity.nbf is None:
            raise ValueError(f"key {key.kid} needs a validity window with nbf (REC-034)")
        _check_issuer(iss)
        current = self._issuers.get(iss, KeySet())
        if current.get(key.kid) is not None:
            raise InvalidKeyError(
                f"key {key.kid} is already trusted for {iss}; rotate or revoke it instead",
                detail={"iss": iss, "kid": key.kid},
            )
        issuers = dict(self._issuers)
        issuers[iss] = KeySet([*current, key])
        return self._derive(issuers)

    def _with_validity(self, iss: str, kid: str, validity: KeyValidity) -> TrustStore:
        self.key(iss, kid)  # UnknownKeyError for an unknown key
        issuers = dict(self._issuers)
        issuers[iss] = KeySet(
            key.with_validity(validity) if key.kid == kid else key for key in self._issuers[iss]
        )
        return self._derive(issuers)

    def with_expiry(self, iss: str, kid: str, exp: int) -> TrustStore:
        """A copy in which key ``kid`` of ``iss`` may sign only before ``exp`` (rotation, REC-030).

        The key stays in the store, so documents it signed before ``exp`` keep verifying
        (REC-032).

        Raises:
            UnknownKeyError: no such key.
            InvalidKeyError: ``exp`` is not later than the key's ``nbf``.
        """
        old = self.key(iss, kid).validity
        if old.nbf is not None and exp <= old.nbf:
            raise InvalidKeyError(
                f"key {kid} of {iss}: exp {exp} must be later than its nbf {old.nbf} (REC-030)"
            )
        return self._with_validity(iss, kid, KeyValidity(old.nbf, exp, old.revoked_at, old.reason))

    def with_revocation(self, iss: str, kid: str, revoked_at: int, reason: str) -> TrustStore:
        """A copy in which key ``kid`` of ``iss`` is revoked from ``revoked_at`` on (REC-031)."""
        old = self.key(iss, kid).validity
        return self._with_validity(iss, kid, KeyValidity(old.nbf, old.exp, revoked_at, reason))
