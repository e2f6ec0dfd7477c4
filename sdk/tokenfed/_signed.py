"""The claims models shared by the signed document kinds of the units and exchange chapters.

The documents themselves, and the JWS steps that read them, are in :mod:`tokenfed._document`
(imported here too, for the kinds' modules).
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Self

from pydantic import (
    AfterValidator,
    Field,
    ModelWrapValidatorHandler,
    ValidationError,
    model_validator,
)
from pydantic_core import PydanticCustomError

from ._document import (
    SignedDocument,
    check_key_at,
    copy_json,
    decode_claims,
    is_json_text,
    require_jws,
)
from ._model import _DECIMAL_ERROR, Document, EntityId, NumericDate, check_version
from .errors import InvalidAmountError

__all__ = [
    "DocumentId",
    "SignedClaims",
    "SignedDocument",
    "Version",
    "WireDocument",
    "check_key_at",
    "copy_json",
    "decode_claims",
    "is_json_text",
    "require_jws",
    "schema_before_semantics",
    "semantic_error",
]

_SEMANTIC = "tokenfed_semantic"

DocumentId = Annotated[str, Field(pattern=r"^[!-~]+$", max_length=256)]
"""A document identifier (``rate_card_id``, ``rates_id``): 1 to 256 printable ASCII characters."""


def _major_one(value: str) -> str:
    check_version(value)
    return value


Version = Annotated[
    str, Field(pattern=r"^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)$"), AfterValidator(_major_one)
]
"""``ver``: "MAJOR.MINOR" with major 1 (CONV-003, CONV-004)."""


class WireDocument(Document):
    """A document whose wire form omits optional members that were absent when it was read."""

    def to_wire(self) -> dict[str, Any]:
        """The JSON form as received: wire names, canonical decimals, unknown members kept,
        optional members absent from the input left out (CONV-005)."""
        return self.model_dump(mode="json", exclude_unset=True, by_alias=True)


def semantic_error(message: str) -> PydanticCustomError:
    """A failed semantic check (a rule JSON Schema cannot express), reported as schema_violation."""
    return PydanticCustomError(_SEMANTIC, "{reason}", {"reason": message})


def schema_before_semantics(exc: ValidationError, what: str) -> None:
    """Schema checks precede semantic checks (UNIT-030, FX-010).

    When nested semantic failures come together with schema failures that are all
    non-canonical decimals, the decimals decide and :class:`~tokenfed.errors.InvalidAmountError` is
    raised (CONV-023); otherwise nothing happens and the caller re-raises.
    """
    errors = exc.errors(include_url=False)
    schema = [error for error in errors if error["type"] != _SEMANTIC]
    if schema and len(schema) < len(errors) and all(e["type"] == _DECIMAL_ERROR for e in schema):
        path = "/" + "/".join(str(part) for part in schema[0]["loc"])
        raise InvalidAmountError(
            f"{what}{path}: {schema[0]['msg']}", detail={"path": path}
        ) from None


class SignedClaims(WireDocument):
    """The envelope every signed document of the units and exchange chapters shares:
    issuer, version, issue time and validity window ``nbf <= t < exp``."""

    _what: ClassVar[str] = "document"
    _window_requirement: ClassVar[str] = ""

    iss: EntityId
    ver: Version
    iat: NumericDate
    nbf: NumericDate
    exp: NumericDate

    @model_validator(mode="wrap")
    @classmethod
    def _window(cls, value: Any, handler: ModelWrapValidatorHandler[Self]) -> Self:
        try:
            claims = handler(value)
        except ValidationError as exc:
            schema_before_semantics(exc, cls._what)
            raise
        if claims.exp <= claims.nbf:
            raise semantic_error(
                f"nbf {claims.nbf} must be earlier than exp {claims.exp} "
                f"({cls._window_requirement})"
            )
        return claims
