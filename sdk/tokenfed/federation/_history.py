"""Historical keys and archived chains (federation chapter, FED-150..FED-157; OpenID Federation
1.1 section 8.7).

An anchor publishes the federation keys it retired in a signed ``jwk-set+jwt`` document
(:class:`HistoricalKeys`, :func:`sign_historical_keys`). A verifier that archived the trust
chain it used checks it again months later, at the time it was used, with the anchor's pinned
keys plus the historical keys that may still vouch for statements of that time
(:func:`verify_archived_chain`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .. import _json, _jws
from .._model import is_entity_id
from ..errors import (
    InvalidKeyError,
    KeyNotValidError,
    MalformedError,
    SchemaViolationError,
    TokenfedError,
    UnknownKeyError,
)
from ..keys import KeySet, KeyValidity, PrivateKey, PublicKey, load_public_jwk
from ._chain import TrustChain, validate_chain
from ._statements import TrustAnchor

__all__ = [
    "HISTORICAL_KEYS_MEDIA_TYPE",
    "HISTORICAL_KEYS_TYP",
    "REVOCATION_REASONS",
    "HistoricalKey",
    "HistoricalKeys",
    "anchor_keys_at",
    "read_archived_chain",
    "sign_historical_keys",
    "verify_archived_chain",
]

HISTORICAL_KEYS_TYP = "jwk-set+jwt"
"""``typ`` of the historical keys document (FED-150, section 8.7.2)."""
HISTORICAL_KEYS_MEDIA_TYPE = "application/jwk-set+jwt"
"""Media type the historical keys endpoint serves (FED-150)."""
REVOCATION_REASONS = ("unspecified", "compromised", "superseded")
"""The values of a historical key's ``revoked.reason`` (FED-150); absent means unspecified."""

_STATEMENT_TYP = "entity-statement+jwt"
_MAX_DATE = 2**53 - 1


def _is_date(value: object) -> bool:
    return type(value) is int and 0 <= value <= _MAX_DATE


@dataclass(frozen=True)
class HistoricalKey:
    """One retired federation key of a historical keys document (FED-150).

    ``key`` carries the window ``nbf``/``exp``/``revoked`` of the listing; ``jwk`` is the JWK as
    published.
    """

    key: PublicKey
    jwk: dict[str, Any]

    @property
    def kid(self) -> str:
        """The key's ``kid`` (its RFC 7638 thumbprint)."""
        return self.key.kid

    @property
    def exp(self) -> int:
        """From this time on the key signs nothing (REQUIRED)."""
        exp = self.key.validity.exp
        assert exp is not None  # checked when the document was read
        return exp

    @property
    def reason(self) -> str | None:
        """``revoked.reason`` (``"unspecified"`` when revoked without one), or None when the key
        was retired without being revoked."""
        if self.key.validity.revoked_at is None:
            return None
        return self.key.validity.reason or "unspecified"

    def check_statement(self, iat: int, what: str) -> None:
        """Whether the key may vouch for a statement issued at ``iat`` (FED-155, FED-156).

        Raises:
            KeyNotValidError: the key was revoked as compromised, or ``iat`` is at or after its
                ``exp`` or ``revoked_at``, or before its ``nbf``.
        """
        validity = self.key.validity
        detail = {"kid": self.kid, "iat": iat}
        if self.reason == "compromised":
            raise KeyNotValidError(
                f"{what} is signed with historical key {self.kid}, revoked as compromised: it "
                "verifies nothing, whatever the statement's iat (FED-155)",
                detail=detail,
            )
        if validity.revoked_at is not None and iat >= validity.revoked_at:
            raise KeyNotValidError(
                f"{what} was issued at {iat}, at or after historical key {self.kid} was revoked "
                f"({self.reason}) at {validity.revoked_at} (FED-156)",
                detail=detail,
            )
        if iat >= self.exp:
            raise KeyNotValidError(
                f"{what} was issued at {iat}, at or after historical key {self.kid} expired at "
                f"{self.exp} (FED-156)",
                detail=detail,
            )
        if validity.nbf is not None and iat < validity.nbf:
            raise KeyNotValidError(
                f"{what} was issued at {iat}, before historical key {self.kid} became valid at "
                f"{validity.nbf} (FED-156)",
                detail=detail,
            )


def _schema(message: str, path: str) -> SchemaViolationError:
    return SchemaViolationError(f"historical keys: {message} (FED-150)", detail={"path": path})


def _read_key(jwk: Any, index: int) -> HistoricalKey:
    where = f"/keys/{index}"
    if not isinstance(jwk, Mapping):
        raise _schema(f"keys[{index}] is not a JSON object", where)

    def invalid(message: str) -> InvalidKeyError:
        return InvalidKeyError(
            f"historical key {index}: {message} (FED-150)", detail={"path": where}
        )

    if "d" in jwk:
        raise invalid("a private key (member d) must never be published")
    if not isinstance(jwk.get("kid"), str):
        raise invalid("kid, the RFC 7638 thumbprint, is REQUIRED")
    if not _is_date(jwk.get("exp")):
        raise invalid("exp is REQUIRED and must be a NumericDate")
    for name in ("iat", "nbf"):
        if name in jwk and not _is_date(jwk[name]):
            raise invalid(f"{name} must be a NumericDate")
    revoked = jwk.get("revoked")
    if (
        isinstance(revoked, Mapping)
        and "reason" in revoked
        and revoked["reason"] not in REVOCATION_REASONS
    ):
        raise invalid(
            f"revoked.reason {revoked['reason']!r:.40} is not one of "
            + ", ".join(REVOCATION_REASONS)
        )
    try:
        key = load_public_jwk(jwk)  # kid = thumbprint, key type, nbf/exp/revoked shapes
    except InvalidKeyError as exc:
        raise invalid(exc.message) from None
    return HistoricalKey(key, dict(jwk))


def _read_claims(claims: Mapping[str, Any]) -> tuple[str, int, tuple[HistoricalKey, ...]]:
    iss, iat, keys = claims.get("iss"), claims.get("iat"), claims.get("keys")
    if not isinstance(iss, str) or not is_entity_id(iss) or iss.endswith("/"):
        raise _schema("iss is REQUIRED and must be a federation entity id", "/iss")
    if not _is_date(iat):
        raise _schema("iat is REQUIRED and must be a NumericDate", "/iat")
    if not isinstance(keys, list):
        raise _schema("keys is REQUIRED and must be an array of JWKs", "/keys")
    read = tuple(_read_key(jwk, index) for index, jwk in enumerate(keys))
    kids = [key.kid for key in read]
    if len(set(kids)) != len(kids):
        raise InvalidKeyError(
            "historical keys: a kid appears twice (FED-150)", detail={"path": "/keys"}
        )
    assert isinstance(iat, int)
    return iss, iat, read


class HistoricalKeys:
    """A historical keys document (FED-150): the retired federation keys of ``iss``.

    :meth:`decode` reads and checks the document without its signature;
    :meth:`verify_with` checks the signature with the issuer's current keys (FED-151). Only a
    verified document is used to verify archived chains.
    """

    __slots__ = ("_decoded", "_keys", "_verified", "iat", "iss")

    def __init__(self, decoded: _jws.Decoded) -> None:
        self._decoded = decoded
        self.iss, self.iat, keys = _read_claims(decoded.claims)
        self._keys = {key.kid: key for key in keys}
        self._verified = False

    @classmethod
    def decode(cls, token: str | bytes) -> HistoricalKeys:
        """Read a historical keys document (JWS steps of CONV-060 without the signature, then
        FED-150).

        Raises:
            MalformedError, UnsupportedTypError, UnsupportedAlgError, UnsupportedCritError: the
                JWS steps.
            SchemaViolationError: ``iss``, ``iat`` or ``keys`` missing or of the wrong type.
            InvalidKeyError: a listed key breaks FED-150.
        """
        return cls(_jws.decode(token, HISTORICAL_KEYS_TYP))

    def verify_with(self, keys: KeySet) -> HistoricalKeys:
        """Check the signature with the issuer's current federation keys (FED-151) and return
        this document, now usable.

        Raises:
            UnknownKeyError: the header ``kid`` is not in ``keys``.
            UnsupportedAlgError, InvalidSignatureError: CONV-044, CONV-049.
        """
        if not isinstance(keys, KeySet):
            raise TypeError(f"keys must be a tokenfed.keys.KeySet, not {type(keys).__name__}")
        kid = self._decoded.header.get("kid")
        key = keys.get(kid) if isinstance(kid, str) else None
        if key is None:
            raise UnknownKeyError(
                f"historical keys of {self.iss} are signed with kid {kid!r:.60}, which is not "
                "among the issuer's current keys (FED-151)",
                detail={"iss": self.iss, "kid": kid},
            )
        _jws.verify_signature(self._decoded, key)
        self._verified = True
        return self

    @property
    def verified(self) -> bool:
        """Whether :meth:`verify_with` has checked the signature."""
        return self._verified

    @property
    def token(self) -> str:
        """The document as received."""
        return self._decoded.token

    @property
    def keys(self) -> tuple[HistoricalKey, ...]:
        """The listed keys, in document order."""
        return tuple(self._keys.values())

    def get(self, kid: str) -> HistoricalKey | None:
        """The listed key with this ``kid``, or None."""
        return self._keys.get(kid)

    def __repr__(self) -> str:
        return f"HistoricalKeys(iss={self.iss!r}, iat={self.iat}, keys={len(self._keys)})"


def sign_historical_keys(
    iss: str, keys: Sequence[Mapping[str, Any] | PublicKey], key: PrivateKey, *, iat: int
) -> str:
    """Sign the historical keys document of ``iss`` (FED-150, FED-151) with a current
    federation key.

    ``keys`` are public JWKs (or :class:`~tokenfed.keys.PublicKey` objects whose validity window
    has ``exp``), each with ``exp`` and optionally ``iat``, ``nbf`` and ``revoked``. The
    document is checked as a verifier would check it before it is signed.

    Raises:
        SchemaViolationError, InvalidKeyError: the document would break FED-150.
        TypeError: ``key`` is not a PrivateKey.
    """
    if not isinstance(key, PrivateKey):
        raise TypeError(f"key must be a tokenfed.keys.PrivateKey, not {type(key).__name__}")
    listed: list[dict[str, Any]] = []
    for listed_key in keys:
        if isinstance(listed_key, PublicKey):
            listed.append(listed_key.to_jwk())
        elif isinstance(listed_key, Mapping):
            listed.append(dict(listed_key))
        else:
            raise TypeError(f"keys must be JWKs or PublicKeys, not {type(listed_key).__name__}")
    claims = {"iss": iss, "iat": iat, "keys": listed}
    _read_claims(claims)
    return _jws.sign(claims, key, HISTORICAL_KEYS_TYP)


def anchor_keys_at(
    statements: Sequence[str],
    anchor_id: str,
    pinned: KeySet,
    historical: HistoricalKeys | None,
) -> KeySet:
    """The anchor keys that may verify an archived chain (FED-154..FED-156).

    Every statement issued by ``anchor_id`` must be signed with a key that vouched for it at its
    ``iat``: a listed historical key governs its ``kid`` (FED-155, FED-156), otherwise a pinned
    key within its own validity window. Returns the pinned keys that the historical document
    does not list, plus the historical keys the anchor's statements use. A statement that does
    not decode, or whose ``kid`` is unknown, is left to the chain validation, which reports it.

    Raises:
        KeyNotValidError: a statement of the anchor is signed with a key that could not vouch
            for it at its ``iat``.
        UnknownKeyError: no key at all would remain for the anchor.
        ValueError: ``historical`` is unverified or lists another entity's keys.
    """
    if historical is not None:
        if not historical.verified:
            raise ValueError("verify the historical keys with the anchor's keys first")
        if historical.iss != anchor_id:
            raise ValueError(f"historical keys of {historical.iss}, not of the anchor {anchor_id}")
    listed = historical._keys if historical is not None else {}
    admitted: dict[str, PublicKey] = {k.kid: k for k in pinned if k.kid not in listed}
    for index, token in enumerate(statements):
        try:
            decoded = _jws.decode(token, _STATEMENT_TYP)
        except TokenfedError:
            continue
        claims, kid = decoded.claims, decoded.header.get("kid")
        iat = claims.get("iat")
        if claims.get("iss") != anchor_id or not isinstance(kid, str) or not _is_date(iat):
            continue
        assert isinstance(iat, int)
        what = f"statement {index} (by {anchor_id} about {claims.get('sub')!r:.80})"
        old = listed.get(kid)
        if old is not None:
            old.check_statement(iat, what)
            admitted[kid] = old.key.with_validity(KeyValidity())
        elif kid in admitted:
            admitted[kid].validity.check(iat, kid)
    if not admitted:
        raise UnknownKeyError(
            f"no key of {anchor_id} is left to verify the archived chain (FED-154)",
            detail={"anchor": anchor_id},
        )
    return KeySet(admitted.values())


def read_archived_chain(chain_json: str | bytes) -> list[str]:
    """Read an archived chain, ``application/trust-chain+json`` (FED-153): a non-empty JSON
    array of compact statements, read with the strict parser.

    Raises:
        MalformedError: not strict I-JSON, or not a non-empty array of strings.
        TypeError: ``chain_json`` is neither str nor bytes.
    """
    if not isinstance(chain_json, (str, bytes)):
        raise TypeError(f"chain_json must be str or bytes, not {type(chain_json).__name__}")
    statements = _json.loads(chain_json)
    if (
        not isinstance(statements, list)
        or not statements
        or not all(isinstance(item, str) for item in statements)
    ):
        raise MalformedError(
            "an archived trust chain is a non-empty JSON array of compact statements (FED-153)"
        )
    return statements


def verify_archived_chain(
    chain_json: str | bytes,
    anchor: TrustAnchor,
    historical: HistoricalKeys | None,
    *,
    at: int,
    entity_type: str | None = None,
) -> TrustChain:
    """Verify an archived trust chain again at the past time ``at`` (FED-153..FED-157).

    ``anchor`` holds the anchor's current pinned keys; ``historical`` is its historical keys
    document, verified with those keys (or None when it has retired none). The anchor's
    statements in the chain must be signed with keys that vouched for them at their ``iat``
    (FED-154..FED-156); the chain is then validated as of ``at`` (FED-157).

    Raises:
        MalformedError: ``chain_json`` is not a non-empty JSON array of strings (FED-153).
        KeyNotValidError: an anchor statement is signed with a key that could not vouch for it.
        TokenfedError: the code of the first failing chain rule at ``at``.
        ValueError: ``historical`` is unverified or not the anchor's.
        TypeError: arguments of the wrong Python type.
    """
    if not isinstance(anchor, TrustAnchor):
        raise TypeError(f"anchor must be a TrustAnchor, not {type(anchor).__name__}")
    if type(at) is not int:
        raise TypeError("at must be an int NumericDate")
    statements = read_archived_chain(chain_json)
    keys = anchor_keys_at(statements, anchor.entity_id, anchor.jwks, historical)
    then = TrustAnchor(anchor.entity_id, keys)
    return validate_chain(statements, [then], now=at, entity_type=entity_type)
