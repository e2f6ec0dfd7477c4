"""Signed documents of the units and exchange chapters, read without their claims models.

Rate cards (UNIT-030) and exchange-rate sets (FX-010) are processed alike: the JWS layer
(:mod:`tokenfed.jws`) checks the token, including that the signing key was valid at the
document's ``iat``; then the claims are copied and checked for values no strict I-JSON text
can hold; then the kind's model validates them (schema first, semantic checks after).

A kind may vouch for claims without its model (:meth:`SignedDocument._vouched`): only where
they certainly satisfy the model, which is then built from them when ``claims`` is first read.
This module imports no model machinery, so a verifier that only meets such documents never
loads it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Self, TypeVar

from . import _json, _jws
from ._json import MAX_DEPTH, MAX_SAFE_INTEGER
from .errors import InvalidSignatureError, KeyNotValidError, MalformedError
from .keys import PrivateKey, PublicKey
from .trust import KeySource

if TYPE_CHECKING:
    from ._signed import SignedClaims

__all__ = [
    "SignedDocument",
    "check_key_at",
    "copy_json",
    "decode_claims",
    "is_json_text",
    "require_jws",
]

_BOM = "\ufeff"


def copy_json(value: Any, *, what: str) -> Any:
    """Deep-copy a JSON value, refusing anything a strict I-JSON text cannot hold.

    The copy is what a document's digest is computed over, so later changes to the caller's
    object cannot change it. Floats (CONV-013), integers outside +-(2^53 - 1) (CONV-012),
    strings (member names included) holding a lone surrogate (CONV-014) or a noncharacter
    (CONV-016), non-string member names, other Python types and nesting deeper than the limit
    (CONV-015) raise :class:`~tokenfed.errors.MalformedError`.
    """
    return _copy(value, what, "", 1)


def _copy(value: Any, what: str, path: str, depth: int) -> Any:
    if isinstance(value, str):
        if not value.isascii():  # the common case skips the search
            _check_text(value, what, path)
        return value
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        if -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER:
            return value
        raise MalformedError(
            f"{what}{path or '/'}: integer {value} is outside +-(2^53 - 1) (CONV-012)"
        )
    if depth > MAX_DEPTH:
        raise MalformedError(f"{what}{path}: nesting deeper than {MAX_DEPTH} levels (CONV-015)")
    if isinstance(value, dict):
        result: dict[str, Any] = {}
        for name, member in value.items():
            if not isinstance(name, str):
                raise MalformedError(
                    f"{what}{path}: member name {name!r} is not a string (CONV-010)"
                )
            if not name.isascii():
                _check_text(name, what, path)
            result[name] = _copy(member, what, f"{path}/{name}", depth + 1)
        return result
    if isinstance(value, list):
        return [_copy(item, what, f"{path}/{index}", depth + 1) for index, item in enumerate(value)]
    if isinstance(value, float):
        raise MalformedError(
            f"{what}{path or '/'}: number {value!r} has a fraction or exponent; "
            "decimals are strings (CONV-013)"
        )
    raise MalformedError(
        f"{what}{path or '/'}: {type(value).__name__} is not a JSON value (CONV-010)"
    )


def _check_text(value: str, what: str, path: str) -> None:
    try:
        _json.check_text(value)
    except MalformedError as exc:
        raise MalformedError(f"{what}{path or '/'}: {exc.message}") from None


def decode_claims(
    token: str | bytes, typ: str, trust: PublicKey | KeySource | None, requirement: str
) -> tuple[dict[str, Any], str, str | None]:
    """Run the JWS steps of CONV-060 (parse, type, algorithm, critical, key, signature).

    The key comes from ``trust``: the one key given, or the key source's key (a trust store's or
    a federation's) for the claims' ``iss``, the header's ``kid`` and the document's ``typ``.
    The key step checks the ``kid`` (``unknown_key``), the pinned algorithm (``unsupported_alg``)
    and, when the claims' ``iat`` is an integer, that the key was valid at ``iat``
    (``key_not_valid``, citing ``requirement``). ``trust`` is ``None`` only for the explicitly
    unverified reads: then the key and signature steps are skipped. Returns the claims, the token
    and the ``kid`` of the key that verified it (``None`` when unverified).
    """
    if trust is None:
        decoded = _jws.decode(token, typ)
        return decoded.claims, decoded.token, None
    if not isinstance(trust, PublicKey) and not isinstance(trust, KeySource):
        raise TypeError(
            f"trust must be a PublicKey, a TrustStore or another KeySource, not "
            f"{type(trust).__name__}; "
            "to read without verifying use from_jws_unverified"
        )

    def resolve(decoded: _jws.Decoded) -> PublicKey:
        if isinstance(trust, PublicKey):
            key = trust
            _jws.check_kid(decoded.header, key)
        else:
            key = trust.key(decoded.claims.get("iss"), decoded.header.get("kid"), typ)
        _jws.check_alg(decoded.header, key)
        iat = decoded.claims.get("iat")
        if type(iat) is int:
            check_key_at(key, iat, requirement)
        return key

    decoded = _jws.verify(token, typ, resolve)
    return decoded.claims, decoded.token, str(decoded.header["kid"])


def check_key_at(key: PublicKey, iat: int, requirement: str) -> None:
    """Refuse a document signed when its key was not valid (``key_not_valid``)."""
    try:
        key.validity.check(iat, key.kid)
    except KeyNotValidError as exc:
        raise KeyNotValidError(f"{exc.message} ({requirement})", detail=exc.detail) from None


def is_json_text(text: str | bytes) -> bool:
    """Whether a document text is JSON (an object) rather than a JWS compact serialization."""
    if isinstance(text, bytes | bytearray):
        return bytes(text).lstrip().startswith((b"{", _BOM.encode("utf-8")))
    return text.lstrip().startswith(("{", _BOM))


def require_jws(what: str, requirement: str) -> InvalidSignatureError:
    """The error for unsigned claims offered where a verification key was given."""
    return InvalidSignatureError(
        f"a verification key was given but the {what} is unsigned claims JSON; only a signed "
        f"{what} (a JWS) can be verified ({requirement})"
    )


ClaimsT = TypeVar("ClaimsT", bound="SignedClaims")


class SignedDocument(Generic[ClaimsT]):
    """A validated signed document: its claims, a copy of them as received, their digest.

    Read a signed document with :meth:`from_jws` (or :meth:`parse`), which verifies it with a key
    or a trust store: that is the only way to get a document that is :attr:`verified`. A
    publisher preparing its own document builds it from claims with :meth:`from_claims` and signs
    them with :meth:`sign`. :meth:`from_jws_unverified` and :meth:`parse_unverified` read without
    a signature check, for display only; receivers that price, convert or verify receipts refuse
    documents that are not verified. ``raw`` is a copy of the claims as received (unknown members
    included) and ``digest`` their JCS digest (CONV-031). ``token`` is the JWS it was read from,
    if any; ``verified_by`` the ``kid`` of the key that verified it, if any.
    """

    __slots__ = ("_claims", "_exp", "_nbf", "digest", "raw", "token", "verified_by")

    _model: ClassVar[type[SignedClaims]]
    _what: ClassVar[str | None] = None
    _typ: ClassVar[str]
    _key_requirement: ClassVar[str]
    _unsigned_requirement: ClassVar[str]

    _claims: ClaimsT | None
    raw: dict[str, Any]
    digest: str
    token: str | None
    verified_by: str | None

    def __init__(self, claims: ClaimsT, raw: dict[str, Any], token: str | None = None) -> None:
        """Wrap already validated claims; prefer the ``from_*`` constructors."""
        self._fill(claims, raw, claims.nbf, claims.exp)
        self.token = token
        self._compile()

    def _compile(self) -> None:
        """Prepare what the kind computes with (weights, rates); run once per document."""

    @classmethod
    def _claims_model(cls) -> type[SignedClaims]:
        """The kind's claims model (a kind defined apart from its model imports it here)."""
        return cls._model

    @classmethod
    def _kind(cls) -> str:
        """What the kind is called in messages (``rate card``)."""
        return cls._what or cls._claims_model()._what

    @classmethod
    def _vouched(cls, raw: dict[str, Any]) -> Self | None:
        """The document of copied claims ``raw`` if the kind certainly accepts them without
        its model (the model is then validated only when :attr:`claims` is read), else
        ``None`` and the model decides. No kind vouches by default."""
        return None

    def _fill(self, claims: ClaimsT | None, raw: dict[str, Any], nbf: int, exp: int) -> None:
        """Set what every document holds, unsigned; ``claims`` is ``None`` for claims a kind
        vouched for (``_vouched``), validated when first read."""
        self._claims = claims
        self.raw = raw
        self.token = None
        self.verified_by = None
        self.digest = _json.digest(raw)
        self._nbf = nbf
        self._exp = exp

    @property
    def claims(self) -> ClaimsT:
        """The validated claims (the kind's model)."""
        claims = self._claims
        if claims is None:
            from ._model import validate

            claims = self._claims = validate(  # type: ignore[assignment]
                self._claims_model(), self.raw, what=self._kind()
            )
        return claims  # type: ignore[return-value]

    @classmethod
    def from_claims(cls, value: object) -> Self:
        """Validate claims (a parsed JSON object) without any signature.

        Raises:
            MalformedError: the value holds something no strict I-JSON text can (a float...).
            UnsupportedVersionError: ``ver`` of another major version (CONV-004).
            InvalidAmountError: the only schema failures are decimals (CONV-023).
            SchemaViolationError: any other schema or semantic failure (``nbf`` not before ``exp``).
        """
        if isinstance(value, Mapping) and not isinstance(value, dict):
            value = dict(value)
        what = cls._kind()
        raw = copy_json(value, what=what)
        vouched = cls._vouched(raw)
        if vouched is not None:
            return vouched
        from ._model import validate

        claims: ClaimsT = validate(cls._claims_model(), raw, what=what)  # type: ignore[assignment]
        return cls(claims, raw)

    @property
    def verified(self) -> bool:
        """Whether the document was read from a JWS whose signature was verified."""
        return self.verified_by is not None

    @classmethod
    def from_jws(cls, token: str | bytes, trust: PublicKey | KeySource) -> Self:
        """Read and verify the signed document (JWS compact with the kind's ``typ``).

        ``trust`` is the publisher's key, or a trust store that lists the document's ``iss`` with
        the key named by the header's ``kid``, or another key source such as a
        :class:`~tokenfed.federation.FederationTrust`. The key must have been valid at the
        claims' ``iat``.

        Raises:
            MalformedError, UnsupportedTypError, UnsupportedAlgError, UnsupportedCritError,
            UnknownKeyError, KeyNotValidError, InvalidSignatureError: the JWS steps of CONV-060.
            UnsupportedVersionError, InvalidAmountError, SchemaViolationError: the claims.
        """
        claims, compact, kid = decode_claims(token, cls._typ, trust, cls._key_requirement)
        document = cls.from_claims(claims)
        document.token = compact
        document.verified_by = kid
        return document

    @classmethod
    def from_jws_unverified(cls, token: str | bytes) -> Self:
        """Read the signed document WITHOUT checking its signature (for display only).

        Every check but the key and signature steps is made (size, base64url, strict JSON,
        ``typ``, ``alg``, ``crit``, version, schema). The result is not :attr:`verified`; a
        receipt verifier refuses it.
        """
        claims, compact, _ = decode_claims(token, cls._typ, None, cls._key_requirement)
        document = cls.from_claims(claims)
        document.token = compact
        return document

    @classmethod
    def parse(cls, text: str | bytes, trust: PublicKey | KeySource) -> Self:
        """Read and verify the document given as JWS text (surrounding whitespace removed).

        Unsigned claims JSON cannot be verified: it is refused with
        :class:`~tokenfed.errors.InvalidSignatureError` (UNIT-032, FX-011). Text that is
        neither strict JSON nor a JWS (a byte order mark, broken JSON) is ``malformed``.
        """
        if is_json_text(text):
            _json.loads(text)  # malformed unless it is JSON: only then is it unsigned claims
            raise require_jws(cls._kind(), cls._unsigned_requirement)
        return cls.from_jws(text.strip(), trust)

    @classmethod
    def parse_unverified(cls, text: str | bytes) -> Self:
        """Read the document given as claims JSON or as a JWS, WITHOUT any signature check.

        For a publisher's own claims and for display; the result is not :attr:`verified`.
        """
        if is_json_text(text):
            return cls.from_claims(_json.loads(text))
        return cls.from_jws_unverified(text.strip())

    @classmethod
    def sign(cls, claims: Mapping[str, Any], key: PrivateKey) -> str:
        """Validate claims and sign them as a JWS of the kind's ``typ``."""
        return _jws.sign(cls.from_claims(claims).raw, key, cls._typ)

    def is_valid_at(self, t: int) -> bool:
        """Whether the document is in force at NumericDate ``t``: ``nbf <= t < exp``."""
        return self._nbf <= t < self._exp
