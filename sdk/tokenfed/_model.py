"""Shared machinery for the pydantic models of tokenfed documents.

Models use the wire member names, keep unknown members (CONV-005), hold decimals as
:class:`~decimal.Decimal` and write them back as canonical strings (CONV-020). :func:`validate`
turns a parsed JSON value into a model, mapping failures onto registry codes in the order the
conventions chapter gives (CONV-004, CONV-023).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, TypeVar

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    ValidationError,
    WithJsonSchema,
)
from pydantic_core import PydanticCustomError

from ._decimal import MAX_DECIMAL_LENGTH, format_decimal, parse_decimal
from ._ids import (
    ENTITY_ID_PATTERN,
    MAX_ENTITY_ID_LENGTH,
    VERSION_PATTERN,
    check_version,
    is_entity_id,
)
from ._json import MAX_SAFE_INTEGER
from ._version import SPEC_VERSION
from .errors import InvalidAmountError, SchemaViolationError, TokenfedError

__all__ = [
    "ENTITY_ID_PATTERN",
    "MAX_ENTITY_ID_LENGTH",
    "SPEC_VERSION",
    "VERSION_PATTERN",
    "Amount",
    "DecimalText",
    "Document",
    "EntityId",
    "NonNegativeDecimal",
    "NumericDate",
    "PositiveDecimal",
    "SafeCount",
    "UtuAmount",
    "Weight",
    "check_version",
    "is_entity_id",
    "validate",
]


_DECIMAL_ERROR = "tokenfed_decimal"
_DECIMAL_PATTERN = r"^(-?(0\.[0-9]*[1-9]|[1-9][0-9]*(\.[0-9]*[1-9])?)|0)$"


def _decimal_validator(
    *, max_places: int | None = None, non_negative: bool = False, positive: bool = False
) -> BeforeValidator:
    def check(value: Any) -> Decimal:
        if not isinstance(value, str):
            raise PydanticCustomError("decimal_type", "decimals are JSON strings")
        try:
            return parse_decimal(
                value, max_places=max_places, non_negative=non_negative, positive=positive
            )
        except InvalidAmountError as exc:
            raise PydanticCustomError(_DECIMAL_ERROR, "{reason}", {"reason": exc.message}) from None

    return BeforeValidator(check)


def _decimal_schema(description: str) -> WithJsonSchema:
    return WithJsonSchema(
        {
            "type": "string",
            "pattern": _DECIMAL_PATTERN,
            "maxLength": MAX_DECIMAL_LENGTH,
            "description": description,
        }
    )


_SERIALIZE = PlainSerializer(format_decimal, return_type=str)


def _check_decimal_text(value: Any) -> str:
    if not isinstance(value, str):
        raise PydanticCustomError("decimal_type", "decimals are JSON strings")
    try:
        parse_decimal(value)
    except InvalidAmountError as exc:
        raise PydanticCustomError(_DECIMAL_ERROR, "{reason}", {"reason": exc.message}) from None
    return value


DecimalText = Annotated[
    str,
    BeforeValidator(_check_decimal_text),
    _decimal_schema("canonical decimal string"),
]
"""A canonical decimal of any sign and precision, kept as its text; any other string is
``invalid_amount`` (CONV-023)."""

Amount = Annotated[
    Decimal, _decimal_validator(), _SERIALIZE, _decimal_schema("canonical decimal string")
]
"""A canonical decimal of any sign and precision."""

NonNegativeDecimal = Annotated[
    Decimal,
    _decimal_validator(non_negative=True),
    _SERIALIZE,
    _decimal_schema("canonical decimal string, >= 0"),
]
"""A canonical decimal >= 0."""

PositiveDecimal = Annotated[
    Decimal,
    _decimal_validator(positive=True),
    _SERIALIZE,
    _decimal_schema("canonical decimal string, > 0"),
]
"""A canonical decimal > 0."""

Weight = Annotated[
    Decimal,
    _decimal_validator(max_places=9, non_negative=True),
    _SERIALIZE,
    _decimal_schema("UTU per meter unit: canonical decimal string, >= 0, <= 9 fractional digits"),
]
"""A rate-card weight: >= 0, at most 9 fractional digits (UNIT-020)."""

UtuAmount = Annotated[
    Decimal,
    _decimal_validator(max_places=6, non_negative=True),
    _SERIALIZE,
    _decimal_schema("UTU amount: canonical decimal string, >= 0, <= 6 fractional digits"),
]
"""An amount of UTU: >= 0, at most 6 fractional digits (the precision of UTU)."""

SafeCount = Annotated[int, Field(ge=0, le=MAX_SAFE_INTEGER, strict=True)]
"""An integer count in 0..2^53-1."""

NumericDate = Annotated[int, Field(ge=0, le=MAX_SAFE_INTEGER, strict=True)]
"""Integer seconds since the epoch, UTC (CONV-002)."""

EntityId = Annotated[
    str,
    Field(
        pattern=ENTITY_ID_PATTERN,
        max_length=MAX_ENTITY_ID_LENGTH,
        description="entity identifier (CONV-001): https://host[:port]/path, lowercase LDH host",
    ),
]
"""An entity identifier: ``https://`` host, optional port and path, nothing else (CONV-001)."""


class Document(BaseModel):
    """Base of every wire document: wire names, strict types, unknown members kept."""

    model_config = ConfigDict(
        extra="allow", strict=True, frozen=True, populate_by_name=True, defer_build=True
    )

    def to_wire(self) -> dict[str, Any]:
        """The JSON form: wire names, canonical decimal strings, unknown members kept."""
        return self.model_dump(mode="json", exclude_none=True, by_alias=True)


ModelT = TypeVar("ModelT", bound=Document)


def _location(loc: tuple[int | str, ...]) -> str:
    return "/" + "/".join(str(part) for part in loc)


def validate(model: type[ModelT], value: Any, *, what: str | None = None) -> ModelT:
    """Validate a parsed JSON value as ``model``.

    Raises:
        UnsupportedVersionError: ``ver`` names another major version (checked first, CONV-004).
        InvalidAmountError: the only failures are decimal members that are not canonical (CONV-023).
        SchemaViolationError: any other failure; ``detail["path"]`` names the first failing member.
    """
    name = what or model.__name__
    if not isinstance(value, dict):
        raise SchemaViolationError(f"{name} must be a JSON object", detail={"path": "/"})
    if "ver" in model.model_fields:
        check_version(value.get("ver"))
    try:
        return model.model_validate(value)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        first = errors[0]
        path = _location(first["loc"])
        if all(error["type"] == _DECIMAL_ERROR for error in errors):
            raise InvalidAmountError(
                f"{name}{path}: {first['msg']}", detail={"path": path}
            ) from None
        raise SchemaViolationError(
            f"{name}{path}: {first['msg']}", detail={"path": path, "errors": len(errors)}
        ) from None
    except TokenfedError:
        raise
