"""Chain constraints (OpenID Federation 1.1 section 6.2, FED-040..FED-043).

Each subordinate statement's constraints apply independently to every entity below its issuer,
its own subject included. In a chain ``ES[0..m]`` (``ES[0]`` the subject's entity configuration,
``ES[m]`` the anchor's), the subordinate statement ``ES[j]`` constrains the entities
``ES[0].sub .. ES[j].sub`` and has ``j - 1`` intermediates between its issuer and the subject.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..errors import MaxPathLengthExceededError, NamingConstraintViolatedError
from ._ids import entity_host, host_matches
from ._statements import EntityStatement

__all__ = ["allowed_types", "check_constraints", "check_naming", "strip_entity_types"]


def check_naming(entity_id: str, naming: Mapping[str, Any], issuer: str) -> None:
    """FED-042: the host of ``entity_id`` must match no ``excluded`` entry and, when
    ``permitted`` is present, at least one ``permitted`` entry. Excluded wins."""
    host = entity_host(entity_id)
    for entry in naming.get("excluded", ()):
        if host_matches(host, entry):
            raise NamingConstraintViolatedError(
                f"{entity_id} is excluded by {issuer}'s naming constraint {entry!r} (FED-042)",
                detail={"entity_id": entity_id, "issuer": issuer, "excluded": entry},
            )
    permitted = naming.get("permitted")
    if permitted is not None and not any(host_matches(host, entry) for entry in permitted):
        raise NamingConstraintViolatedError(
            f"{entity_id} is outside the names {issuer} permits: {', '.join(permitted)} (FED-042)",
            detail={"entity_id": entity_id, "issuer": issuer, "permitted": list(permitted)},
        )


def check_constraints(statements: Sequence[EntityStatement]) -> None:
    """FED-041, FED-042 for every subordinate statement of a linked chain, from the anchor's
    statement down (FED-055)."""
    last = len(statements) - 1
    for j in range(last - 1, 0, -1):
        statement = statements[j]
        constraints = statement.constraints
        if not constraints:
            continue
        limit = constraints.get("max_path_length")
        if limit is not None and j - 1 > limit:
            raise MaxPathLengthExceededError(
                f"{statement.iss} allows {limit} intermediates below it, the chain has "
                f"{j - 1} (FED-041)",
                detail={"issuer": statement.iss, "max_path_length": limit, "found": j - 1},
            )
        naming = constraints.get("naming_constraints")
        if naming is not None:
            for below in statements[: j + 1]:
                check_naming(below.sub, naming, statement.iss)


def allowed_types(statement: EntityStatement) -> list[str] | None:
    """The ``allowed_entity_types`` of a subordinate statement, or None when unconstrained."""
    constraints = statement.constraints or {}
    allowed = constraints.get("allowed_entity_types")
    return list(allowed) if allowed is not None else None


def strip_entity_types(
    metadata: dict[str, Any], statements: Sequence[EntityStatement]
) -> dict[str, Any]:
    """FED-043: remove from the subject's metadata every entity type some subordinate statement
    does not allow (``federation_entity`` is always allowed)."""
    result = dict(metadata)
    for statement in statements[1:-1]:
        allowed = allowed_types(statement)
        if allowed is None:
            continue
        for entity_type in list(result):
            if entity_type != "federation_entity" and entity_type not in allowed:
                del result[entity_type]
    return result
