"""Hypothesis strategies generated from the JSON Schemas of spec/schemas (the subset they use).

Supported keywords: type (one or a list), properties, required, additionalProperties (false or
absent), pattern (through :func:`hypothesis.strategies.from_regex`), const, enum, minimum,
maximum, minLength, maxLength, minItems, maxItems, items, propertyNames, $ref to the local
$defs. Keywords that constrain combinations (not, if/then/else) are left to a final filter with
the real validator, so every generated instance is valid by the schema itself.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hypothesis import strategies as st
from jsonschema import Draft202012Validator

__all__ = ["from_schema", "json_values"]

_MAX_SAFE = 2**53 - 1


def from_schema(
    schema: dict[str, Any], repair: Callable[[Any], Any] | None = None
) -> st.SearchStrategy[Any]:
    """Instances valid against ``schema`` (a self-contained document with local $defs).

    ``repair`` may adjust a drawn instance for the constraints between members that the
    strategy does not model (so that few are filtered out); the validator still decides.
    """
    validator = Draft202012Validator(schema)
    strategy = _node(schema, schema)
    if repair is not None:
        strategy = strategy.map(repair)
    return strategy.filter(validator.is_valid)


def _node(node: dict[str, Any], root: dict[str, Any]) -> st.SearchStrategy[Any]:
    if "$ref" in node:
        name = node["$ref"].removeprefix("#/$defs/")
        return _node(root["$defs"][name], root)
    if "const" in node:
        return st.just(node["const"])
    if "enum" in node:
        return st.sampled_from(node["enum"])
    kind = node.get("type")
    if isinstance(kind, list):
        return st.one_of(*(_node({**node, "type": one}, root) for one in kind))
    if kind == "string" or (kind is None and "pattern" in node):
        return _string(node)
    if kind == "integer":
        low = node.get("minimum", -_MAX_SAFE)
        high = node.get("maximum", _MAX_SAFE)
        return st.one_of(st.integers(low, high), st.sampled_from([low, high]))
    if kind == "boolean":
        return st.booleans()
    if kind == "array":
        items = _node(node.get("items", {"type": "string"}), root)
        return st.lists(items, min_size=node.get("minItems", 0), max_size=node.get("maxItems", 3))
    if kind == "object" or "properties" in node:
        return _object(node, root)
    return st.none() | st.booleans() | st.integers(0, 10) | st.text(max_size=5)


def _string(node: dict[str, Any]) -> st.SearchStrategy[str]:
    low, high = node.get("minLength", 0), node.get("maxLength", 2**31)
    if "pattern" in node:
        strategy = st.from_regex(node["pattern"], fullmatch=True)
    else:
        strategy = st.text(min_size=low, max_size=min(high, low + 40))
    return strategy.filter(lambda text: low <= len(text) <= high)


@st.composite
def _object_draw(draw: st.DrawFn, node: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    properties: dict[str, Any] = node.get("properties", {})
    required = set(node.get("required", ()))
    result: dict[str, Any] = {}
    for name, schema in properties.items():
        if name in required or draw(st.booleans()):
            result[name] = draw(_node(schema, root))
    extra = node.get("additionalProperties", True)
    names = node.get("propertyNames")
    if extra is not False:
        value_schema = extra if isinstance(extra, dict) else {}
        key_strategy = _node(names, root) if names else st.text(min_size=1, max_size=8)
        count = draw(st.integers(node.get("minProperties", 0) if not properties else 0, 2))
        for _ in range(count):
            key = draw(key_strategy)
            if key not in properties:
                result[key] = draw(_node(value_schema, root))
    return result


def _object(node: dict[str, Any], root: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    return _object_draw(node, root)


def json_values(samples: list[str], *, text_size: int) -> st.SearchStrategy[Any]:
    """Any JSON value a parser gives (nested up to a few leaves), with ``samples`` among the
    strings: the values a mutation puts in place of a member or an item."""
    return st.recursive(
        st.none()
        | st.booleans()
        | st.integers(min_value=-(2**60), max_value=2**60)
        | st.text(max_size=text_size)
        | st.sampled_from(samples),
        lambda inner: (
            st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
        ),
        max_leaves=6,
    )
