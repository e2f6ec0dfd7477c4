"""Metadata policy (federation chapter, FED-100..FED-121; OpenID Federation 1.1 section 6.1).

Two pure functions over JSON values: :func:`merge_policies` folds the ``metadata_policy`` claims
of a chain from the trust anchor down (FED-105..FED-111) and :func:`apply_policy` applies the
merged policy to the subject's metadata (FED-112..FED-121). Both take JSON values as received
(dicts, lists, str, int, bool, None) and return new ones; the inputs are never modified.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from ..errors import InvalidMetadataError, MetadataPolicyError

__all__ = ["OPERATORS", "apply_policy", "check_policy", "merge_policies"]

OPERATORS: tuple[str, ...] = (
    "value",
    "add",
    "default",
    "one_of",
    "subset_of",
    "superset_of",
    "essential",
)
"""The seven standard operators, in the order they are applied (FED-100, FED-113)."""

_SET_OPERATORS = ("add", "one_of", "subset_of", "superset_of")

# A scalar's identity for set membership: the JSON type keeps true and 1 apart (FED equality).
_Key = tuple[str, Any]


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, Mapping):
        return "object"
    return type(value).__name__


def _key(value: Any) -> _Key:
    if _is_scalar(value) or value is None:
        return (_kind(value), value)
    # Metadata arrays may hold arrays or objects: compare those by their sorted JSON text.
    return (_kind(value), json.dumps(value, sort_keys=True, separators=(",", ":")))


def _is_scalar(value: Any) -> bool:
    return _kind(value) in ("string", "integer", "boolean")


def _keys(values: Sequence[Any]) -> set[_Key]:
    return {_key(item) for item in values}


def _equal(left: Any, right: Any) -> bool:
    """FED equality: same JSON type and value; arrays of scalars compared as sets."""
    if isinstance(left, list) and isinstance(right, list):
        return len(left) == len(right) and _keys(left) == _keys(right)
    return _kind(left) == _kind(right) and left == right


def _where(entity_type: str, parameter: str) -> str:
    return f"{entity_type}.{parameter}"


def _policy_error(entity_type: str, parameter: str, why: str, rid: str) -> MetadataPolicyError:
    return MetadataPolicyError(
        f"metadata policy for {_where(entity_type, parameter)}: {why} ({rid})",
        detail={"entity_type": entity_type, "parameter": parameter},
    )


def _metadata_error(entity_type: str, parameter: str, why: str, rid: str) -> InvalidMetadataError:
    return InvalidMetadataError(
        f"metadata {_where(entity_type, parameter)}: {why} ({rid})",
        detail={"entity_type": entity_type, "parameter": parameter},
    )


# --------------------------------------------------------------------------- one operator object


def _check_operator_value(entity_type: str, parameter: str, name: str, value: Any) -> None:
    """FED-102: the type of each operator value, and no repeated array element."""

    def fail(expected: str) -> MetadataPolicyError:
        return _policy_error(
            entity_type, parameter, f"{name} must be {expected}, not {_kind(value)}", "FED-102"
        )

    if name == "essential":
        if not isinstance(value, bool):
            raise fail("a boolean")
        return
    if name in _SET_OPERATORS:
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise fail("an array of strings")
        if name == "one_of" and not value:
            raise fail("a non-empty array of strings")
    elif name in ("value", "default"):
        if value is None:
            if name == "default":
                raise fail("a scalar or an array of scalars")
            return
        if isinstance(value, list):
            if not all(_is_scalar(item) for item in value):
                raise fail("a scalar or an array of scalars")
        elif not _is_scalar(value):
            raise fail("a scalar or an array of scalars" + (" or null" if name == "value" else ""))
    if isinstance(value, list) and len(_keys(value)) != len(value):
        raise _policy_error(
            entity_type, parameter, f"{name} holds an element twice (a set)", "FED-102"
        )


def _check_combinations(
    entity_type: str, parameter: str, ops: Mapping[str, Any], rid: str = "FED-104"
) -> None:
    """FED-104 (and FED-110 after a merge): the operators of one object combine."""

    def fail(why: str) -> MetadataPolicyError:
        return _policy_error(entity_type, parameter, why, rid)

    if "value" in ops:
        value = ops["value"]
        if "add" in ops and not (isinstance(value, list) and _keys(ops["add"]) <= _keys(value)):
            raise fail("add must be a subset of value")
        if "default" in ops and value is None:
            raise fail("default cannot be combined with value null")
        if "one_of" in ops and not (_is_scalar(value) and _key(value) in _keys(ops["one_of"])):
            raise fail("value must be one of one_of")
        if "subset_of" in ops and not (
            isinstance(value, list) and _keys(value) <= _keys(ops["subset_of"])
        ):
            raise fail("value must be a subset of subset_of")
        if "superset_of" in ops and not (
            isinstance(value, list) and _keys(value) >= _keys(ops["superset_of"])
        ):
            raise fail("value must be a superset of superset_of")
        if value is None and ops.get("essential") is True:
            raise fail("value null cannot be combined with essential true")
    if "one_of" in ops:
        for other in ("add", "subset_of", "superset_of"):
            if other in ops:
                raise fail(f"one_of cannot be combined with {other}")
    if "add" in ops and "subset_of" in ops and not _keys(ops["add"]) <= _keys(ops["subset_of"]):
        raise fail("add must be a subset of subset_of")
    if (
        "subset_of" in ops
        and "superset_of" in ops
        and not _keys(ops["superset_of"]) <= _keys(ops["subset_of"])
    ):
        raise fail("subset_of must be a superset of superset_of")


def _copy(value: Any) -> Any:
    return list(value) if isinstance(value, list) else value


def _operators(entity_type: str, parameter: str, ops: Any) -> dict[str, Any]:
    """FED-100..FED-104: the standard operators of one operator object, checked."""
    if not isinstance(ops, Mapping):
        raise _policy_error(
            entity_type, parameter, f"the operators must be an object, not {_kind(ops)}", "FED-101"
        )
    known = {name: _copy(ops[name]) for name in OPERATORS if name in ops}
    for name, value in known.items():
        _check_operator_value(entity_type, parameter, name, value)
    _check_combinations(entity_type, parameter, known)
    return known


def check_policy(policy: Any) -> dict[str, dict[str, dict[str, Any]]]:
    """Check one ``metadata_policy`` claim (FED-100..FED-104) and return it with unknown
    operators dropped.

    Raises:
        MetadataPolicyError: not an object of objects of objects, an operator value of the
            wrong type, or a forbidden combination.
    """
    if not isinstance(policy, Mapping):
        raise MetadataPolicyError(
            f"metadata_policy must be a JSON object, not {_kind(policy)} (FED-101)"
        )
    checked: dict[str, dict[str, dict[str, Any]]] = {}
    for entity_type, parameters in policy.items():
        if not isinstance(parameters, Mapping):
            raise MetadataPolicyError(
                f"metadata_policy.{entity_type} must be an object, not {_kind(parameters)} "
                "(FED-101)",
                detail={"entity_type": entity_type},
            )
        checked[entity_type] = {
            parameter: _operators(entity_type, parameter, ops)
            for parameter, ops in parameters.items()
        }
    return checked


# --------------------------------------------------------------------------- merging


def _union(superior: list[Any], subordinate: list[Any]) -> list[Any]:
    seen = _keys(superior)
    return [*superior, *(item for item in subordinate if _key(item) not in seen)]


def _intersection(superior: list[Any], subordinate: list[Any]) -> list[Any]:
    other = _keys(subordinate)
    return [item for item in superior if _key(item) in other]


def _merge_operators(
    entity_type: str, parameter: str, superior: dict[str, Any], subordinate: dict[str, Any]
) -> dict[str, Any]:
    """FED-106..FED-110 for one parameter."""
    merged: dict[str, Any] = {}
    for name in OPERATORS:
        if name not in superior and name not in subordinate:
            continue
        if name not in subordinate:
            merged[name] = _copy(superior[name])
            continue
        if name not in superior:
            merged[name] = _copy(subordinate[name])
            continue
        upper, lower = superior[name], subordinate[name]
        if name in ("value", "default"):
            if not _equal(upper, lower):
                raise _policy_error(
                    entity_type,
                    parameter,
                    f"the superiors set different {name}s: {upper!r} and {lower!r}",
                    "FED-106",
                )
            merged[name] = _copy(upper)
        elif name in ("add", "superset_of"):
            merged[name] = _union(upper, lower)
        elif name in ("one_of", "subset_of"):
            common = _intersection(upper, lower)
            if name == "one_of" and not common:
                raise _policy_error(
                    entity_type,
                    parameter,
                    "the superiors' one_of sets have no common member",
                    "FED-108",
                )
            merged[name] = common
        else:  # essential
            merged[name] = upper or lower
    _check_combinations(entity_type, parameter, merged, "FED-110")
    return merged


def _merge_two(
    superior: dict[str, dict[str, dict[str, Any]]],
    subordinate: dict[str, dict[str, dict[str, Any]]],
) -> dict[str, dict[str, dict[str, Any]]]:
    merged: dict[str, dict[str, dict[str, Any]]] = {}
    for entity_type in [*superior, *(t for t in subordinate if t not in superior)]:
        upper = superior.get(entity_type, {})
        lower = subordinate.get(entity_type, {})
        merged[entity_type] = {
            parameter: _merge_operators(
                entity_type, parameter, upper.get(parameter, {}), lower.get(parameter, {})
            )
            for parameter in [*upper, *(p for p in lower if p not in upper)]
        }
    return merged


def merge_policies(policies: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Merge the ``metadata_policy`` claims of a chain, the trust anchor's statement first
    (FED-105..FED-111).

    Each policy is checked (FED-101..FED-104) before it is merged; unknown operators are dropped
    (FED-100). Merging no policies gives ``{}``.

    Raises:
        MetadataPolicyError: a policy is ill-formed, or two policies conflict.
        TypeError: ``policies`` is not a sequence.
    """
    if isinstance(policies, (str, bytes)) or not isinstance(policies, Sequence):
        raise TypeError(f"policies must be a sequence of policies, not {type(policies).__name__}")
    merged: dict[str, dict[str, dict[str, Any]]] = {}
    for policy in policies:
        merged = _merge_two(merged, check_policy(policy))
    return merged


# --------------------------------------------------------------------------- applying


def _apply_operators(
    entity_type: str, parameter: str, ops: dict[str, Any], present: bool, current: Any
) -> tuple[bool, Any]:
    """FED-113..FED-121 for one parameter: returns (present, value) after the operators."""

    def fail(why: str, rid: str) -> InvalidMetadataError:
        return _metadata_error(entity_type, parameter, why, rid)

    if present and isinstance(current, Mapping) and set(ops) - {"essential"}:
        raise _policy_error(
            entity_type,
            parameter,
            "only essential may apply to an object-valued parameter, not "
            + ", ".join(name for name in OPERATORS if name in ops and name != "essential"),
            "FED-103",
        )
    if "value" in ops:
        if ops["value"] is None:
            present, current = False, None
        else:
            present, current = True, _copy(ops["value"])
    if "add" in ops:
        if not present:
            present, current = True, list(ops["add"])
        elif not isinstance(current, list):
            raise fail(f"add needs an array, not {_kind(current)}", "FED-115")
        else:
            current = _union(current, ops["add"])
    if "default" in ops and not present:
        present, current = True, _copy(ops["default"])
    if (
        "one_of" in ops
        and present
        and not (_is_scalar(current) and _key(current) in _keys(ops["one_of"]))
    ):
        raise fail(f"{current!r} is not one of {ops['one_of']!r}", "FED-117")
    if "subset_of" in ops and present:
        if not isinstance(current, list):
            raise fail(f"subset_of needs an array, not {_kind(current)}", "FED-118")
        allowed = _keys(ops["subset_of"])
        current = [item for item in current if _key(item) in allowed]
    if "superset_of" in ops and present:
        if not isinstance(current, list):
            raise fail(f"superset_of needs an array, not {_kind(current)}", "FED-120")
        missing = [item for item in ops["superset_of"] if _key(item) not in _keys(current)]
        if missing:
            raise fail(f"lacks {missing!r}, required by superset_of", "FED-120")
    if ops.get("essential") is True and not present:
        raise fail("is essential but absent", "FED-121")
    return present, current


def apply_policy(metadata: Mapping[str, Any], policy: Mapping[str, Any]) -> dict[str, Any]:
    """Apply a (merged) metadata policy to metadata ``{entity_type: {parameter: value}}``
    (FED-112..FED-121) and return the resolved metadata.

    The policy is checked first (FED-101..FED-104). Entity types of the metadata without a
    policy, and parameters without operators, are returned unchanged; entity types of the
    policy that the metadata lacks are ignored.

    Raises:
        MetadataPolicyError: the policy is ill-formed, or aims an operator other than
            ``essential`` at an object-valued parameter (FED-103).
        InvalidMetadataError: the metadata breaks the policy (FED-113..FED-121).
        TypeError: ``metadata`` is not a mapping.
    """
    if not isinstance(metadata, Mapping):
        raise TypeError(f"metadata must be a mapping, not {type(metadata).__name__}")
    checked = check_policy(policy)
    resolved: dict[str, Any] = {}
    for entity_type, parameters in metadata.items():
        if entity_type not in checked:
            resolved[entity_type] = parameters
            continue
        if not isinstance(parameters, Mapping):
            raise InvalidMetadataError(
                f"metadata.{entity_type} must be an object, not {_kind(parameters)} (FED-112)",
                detail={"entity_type": entity_type},
            )
        result = dict(parameters)
        for parameter, ops in checked[entity_type].items():
            present, value = _apply_operators(
                entity_type, parameter, ops, parameter in result, result.get(parameter)
            )
            if present:
                result[parameter] = value
            else:
                result.pop(parameter, None)
        resolved[entity_type] = result
    return resolved
