"""Metadata policy, written from spec/federation.md (FED-100..FED-121) for the independent checker.

This module imports nothing from ``tokenfed``. It is loaded by ``check_vectors.py``, which
judges what :func:`evaluate` returns against the ``policy`` vectors. Values are JSON values as
``json`` parses them. Elements are compared by a typed JSON text (``true`` is not ``1``), and
arrays that a rule treats as sets are compared through those texts.
"""

from __future__ import annotations

import json
from typing import Any

__all__ = ["Refused", "evaluate"]

ORDER = ["value", "add", "default", "one_of", "subset_of", "superset_of", "essential"]
POLICY = "metadata_policy_error"
METADATA = "invalid_metadata"


class Refused(Exception):
    """The vector's input is rejected with ``code``."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


def _tag(value: Any) -> str:
    """A text that two values share exactly when they are FED-equal elements."""
    if isinstance(value, bool):
        kind = "b"
    elif isinstance(value, int):
        kind = "i"
    elif isinstance(value, str):
        kind = "s"
    elif value is None:
        kind = "n"
    elif isinstance(value, list):
        kind = "a"
    else:
        kind = "o"
    return kind + json.dumps(value, sort_keys=True)


def _tags(values: list[Any]) -> set[str]:
    return {_tag(v) for v in values}


def _scalar(value: Any) -> bool:
    return isinstance(value, (str, bool, int))


def _strings(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def _value_type_ok(op: str, value: Any) -> bool:
    """The FED-102 table."""
    if op == "value":
        return (
            value is None
            or _scalar(value)
            or (isinstance(value, list) and all(_scalar(v) for v in value))
        )
    if op == "default":
        return _scalar(value) or (isinstance(value, list) and all(_scalar(v) for v in value))
    if op == "one_of":
        return _strings(value) and len(value) > 0
    if op in ("add", "subset_of", "superset_of"):
        return _strings(value)
    return isinstance(value, bool)  # essential


def _combination_fault(ops: dict[str, Any]) -> str | None:
    """The FED-104 table: the first pair that does not combine, or None."""
    has = ops.__contains__
    value = ops.get("value")
    as_set = _tags(value) if isinstance(value, list) else None
    rules = [
        (
            "value+add",
            has("value") and has("add"),
            as_set is not None and _tags(ops.get("add", [])) <= as_set,
        ),
        ("value+default", has("value") and has("default"), value is not None),
        (
            "value+one_of",
            has("value") and has("one_of"),
            _scalar(value) and _tag(value) in _tags(ops.get("one_of", [])),
        ),
        (
            "value+subset_of",
            has("value") and has("subset_of"),
            as_set is not None and as_set <= _tags(ops.get("subset_of", [])),
        ),
        (
            "value+superset_of",
            has("value") and has("superset_of"),
            as_set is not None and as_set >= _tags(ops.get("superset_of", [])),
        ),
        (
            "value+essential",
            has("value") and has("essential"),
            not (value is None and ops.get("essential") is True),
        ),
        ("add+one_of", has("add") and has("one_of"), False),
        (
            "add+subset_of",
            has("add") and has("subset_of"),
            _tags(ops.get("add", [])) <= _tags(ops.get("subset_of", [])),
        ),
        ("one_of+subset_of", has("one_of") and has("subset_of"), False),
        ("one_of+superset_of", has("one_of") and has("superset_of"), False),
        (
            "subset_of+superset_of",
            has("subset_of") and has("superset_of"),
            _tags(ops.get("superset_of", [])) <= _tags(ops.get("subset_of", [])),
        ),
    ]
    for name, applies, holds in rules:
        if applies and not holds:
            return name
    return None


def _checked(policy: Any) -> dict[str, Any]:
    """FED-100..FED-104 for one statement's policy; unknown operators dropped."""
    if not isinstance(policy, dict):
        raise Refused(POLICY, "metadata_policy is not an object (FED-101)")
    out: dict[str, Any] = {}
    for etype, params in policy.items():
        if not isinstance(params, dict):
            raise Refused(POLICY, f"{etype}: not an object (FED-101)")
        out[etype] = {}
        for param, ops in params.items():
            if not isinstance(ops, dict):
                raise Refused(POLICY, f"{etype}.{param}: operators not an object (FED-101)")
            kept = {op: ops[op] for op in ORDER if op in ops}
            for op, value in kept.items():
                if not _value_type_ok(op, value):
                    raise Refused(POLICY, f"{etype}.{param}.{op}: wrong type (FED-102)")
                if isinstance(value, list) and len(_tags(value)) < len(value):
                    raise Refused(POLICY, f"{etype}.{param}.{op}: repeated element (FED-102)")
            fault = _combination_fault(kept)
            if fault:
                raise Refused(POLICY, f"{etype}.{param}: {fault} (FED-104)")
            out[etype][param] = kept
    return out


def _merge_ops(where: str, upper: dict[str, Any], lower: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for op in ORDER:
        if op not in lower:
            if op in upper:
                out[op] = upper[op]
            continue
        if op not in upper:
            out[op] = lower[op]
            continue
        a, b = upper[op], lower[op]
        if op in ("value", "default"):
            same = (
                _tags(a) == _tags(b) and len(a) == len(b)
                if isinstance(a, list) and isinstance(b, list)
                else _tag(a) == _tag(b)
            )
            if not same:
                raise Refused(POLICY, f"{where}: {op}s differ (FED-106)")
            out[op] = a
        elif op in ("add", "superset_of"):
            seen = _tags(a)
            out[op] = a + [v for v in b if _tag(v) not in seen]
        elif op in ("one_of", "subset_of"):
            keep = _tags(b)
            out[op] = [v for v in a if _tag(v) in keep]
            if op == "one_of" and not out[op]:
                raise Refused(POLICY, f"{where}: one_of intersection empty (FED-108)")
        else:
            out[op] = bool(a or b)
    fault = _combination_fault(out)
    if fault:
        raise Refused(POLICY, f"{where}: {fault} after merging (FED-110)")
    return out


def merge(policies: list[Any]) -> dict[str, Any]:
    """FED-105..FED-111."""
    result: dict[str, Any] = {}
    for policy in policies:
        lower = _checked(policy)
        merged: dict[str, Any] = {}
        for etype in list(result) + [t for t in lower if t not in result]:
            up, low = result.get(etype, {}), lower.get(etype, {})
            merged[etype] = {
                param: _merge_ops(f"{etype}.{param}", up.get(param, {}), low.get(param, {}))
                for param in list(up) + [p for p in low if p not in up]
            }
        result = merged
    return result


_ABSENT = object()


def _apply_param(where: str, ops: dict[str, Any], current: Any) -> Any:
    """FED-113..FED-121; returns the new value or _ABSENT."""
    if isinstance(current, dict) and any(op != "essential" for op in ops):
        raise Refused(POLICY, f"{where}: operators other than essential on an object (FED-103)")
    for op in ORDER:
        if op not in ops:
            continue
        arg = ops[op]
        if op == "value":
            current = _ABSENT if arg is None else arg
        elif op == "add":
            if current is _ABSENT:
                current = list(arg)
            elif not isinstance(current, list):
                raise Refused(METADATA, f"{where}: add on a non-array (FED-115)")
            else:
                have = _tags(current)
                current = current + [v for v in arg if _tag(v) not in have]
        elif op == "default":
            if current is _ABSENT:
                current = arg
        elif current is _ABSENT:
            if op == "essential" and arg:
                raise Refused(METADATA, f"{where}: essential and absent (FED-121)")
        elif op == "one_of":
            if not (_scalar(current) and _tag(current) in _tags(arg)):
                raise Refused(METADATA, f"{where}: not one of {arg} (FED-117)")
        elif op == "subset_of":
            if not isinstance(current, list):
                raise Refused(METADATA, f"{where}: subset_of on a non-array (FED-118)")
            allowed = _tags(arg)
            current = [v for v in current if _tag(v) in allowed]
        elif op == "superset_of" and (
            not isinstance(current, list) or not _tags(arg) <= _tags(current)
        ):
            raise Refused(METADATA, f"{where}: does not hold superset_of (FED-120)")
    return current


def apply(metadata: dict[str, Any], policy: Any) -> dict[str, Any]:
    """FED-112..FED-121."""
    checked = _checked(policy)
    out: dict[str, Any] = {}
    for etype, params in metadata.items():
        if etype not in checked:
            out[etype] = params
            continue
        if not isinstance(params, dict):
            raise Refused(METADATA, f"{etype}: metadata not an object (FED-112)")
        result = dict(params)
        for param, ops in checked[etype].items():
            new = _apply_param(f"{etype}.{param}", ops, result.get(param, _ABSENT))
            if new is _ABSENT:
                result.pop(param, None)
            else:
                result[param] = new
        out[etype] = result
    return out


def evaluate(given: dict[str, Any]) -> dict[str, Any]:
    """The result of one ``policy`` vector's input, or :class:`Refused`."""
    op = given["op"]
    if op == "merge":
        return {"merged": merge(given["policies"])}
    if op == "apply":
        return {"metadata": apply(given["metadata"], given["policy"])}
    if op == "resolve":
        merged = merge(given["policies"])
        return {"merged": merged, "metadata": apply(given["metadata"], merged)}
    raise ValueError(f"unknown policy op {op!r}")
