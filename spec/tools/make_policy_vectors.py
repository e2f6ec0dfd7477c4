"""Generate spec/vectors/policy.json: metadata policy checks, merging and application
(spec/federation.md, FED-100..FED-121).

Every case below is written by hand from the specification text: its input and its expected
result or error code. The generator runs each case through the SDK (tokenfed.federation) and
stops if the SDK disagrees with the hand-written expectation, so the file holds only results
that the text, the SDK and (through tests/test_interop.py) the independent checker
interop/check_vectors.py agree on. The cases are the project's own; published vector sets of
other projects were used only as a list of which operator combinations exist.

Vector operations (``input.op``):

- ``merge``: ``policies`` (anchor's statement first) -> ``{"merged": policy}``
- ``apply``: ``metadata`` and a ``policy`` -> ``{"metadata": resolved}``
- ``resolve``: ``policies`` and ``metadata``: merge, then apply -> ``{"merged", "metadata"}``

Run: python spec/tools/make_policy_vectors.py [--check]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from tokenfed.errors import TokenfedError
from tokenfed.federation import apply_policy, merge_policies

SPEC = Path(__file__).resolve().parent.parent
OUT = SPEC / "vectors" / "policy.json"

P = "tokenfed_provider"
O = "tokenfed_operator"  # noqa: E741
V = "tokenfed_versions"
POLICY_ERROR = "metadata_policy_error"
METADATA_ERROR = "invalid_metadata"

CASES: list[dict[str, Any]] = []


def case(
    vid: str,
    description: str,
    requirements: list[str],
    given: dict[str, Any],
    expected: dict[str, Any],
) -> None:
    CASES.append(
        {
            "id": vid,
            "description": description,
            "requirements": requirements,
            "input": given,
            "expected": expected,
        }
    )


def one(ops: dict[str, Any], entity_type: str = P, parameter: str = V) -> dict[str, Any]:
    """A policy with one operator object."""
    return {entity_type: {parameter: ops}}


def merge_ok(vid: str, description: str, rids: list[str], policies: list[Any], merged: Any) -> None:
    case(vid, description, rids, {"op": "merge", "policies": policies}, {"merged": merged})


def merge_error(
    vid: str, description: str, rids: list[str], policies: list[Any], code: str
) -> None:
    case(vid, description, rids, {"op": "merge", "policies": policies}, {"error": code})


def apply_ok(
    vid: str, description: str, rids: list[str], metadata: Any, policy: Any, resolved: Any
) -> None:
    case(
        vid,
        description,
        rids,
        {"op": "apply", "metadata": metadata, "policy": policy},
        {"metadata": resolved},
    )


def apply_error(
    vid: str, description: str, rids: list[str], metadata: Any, policy: Any, code: str
) -> None:
    case(
        vid,
        description,
        rids,
        {"op": "apply", "metadata": metadata, "policy": policy},
        {"error": code},
    )


def single_ok(vid: str, description: str, rids: list[str], ops: dict[str, Any]) -> None:
    """One statement's operator object that passes its checks unchanged."""
    merge_ok(vid, description, rids, [one(ops)], one(ops))


def single_error(vid: str, description: str, rids: list[str], ops: dict[str, Any]) -> None:
    merge_error(vid, description, rids, [one(ops)], POLICY_ERROR)


# --------------------------------------------------------------------------- structure, types

merge_error(
    "structure-policy-array", "metadata_policy is an array", ["FED-101"], [["x"]], POLICY_ERROR
)
merge_error(
    "structure-policy-string", "metadata_policy is a string", ["FED-101"], ["x"], POLICY_ERROR
)
merge_error(
    "structure-entity-type-array",
    "an entity type's policy is an array",
    ["FED-101"],
    [{P: [V]}],
    POLICY_ERROR,
)
merge_error(
    "structure-operators-array",
    "a parameter's operators are an array, not an object",
    ["FED-101"],
    [{P: {V: ["1.0"]}}],
    POLICY_ERROR,
)
merge_error(
    "structure-operators-null",
    "a parameter's operators are null",
    ["FED-101"],
    [{P: {V: None}}],
    POLICY_ERROR,
)
merge_ok(
    "structure-empty-objects",
    "empty entity type and operator objects are allowed and kept",
    ["FED-101", "FED-111"],
    [{P: {}, O: {V: {}}}],
    {P: {}, O: {V: {}}},
)
merge_ok("structure-empty-policy", "an empty policy merges to {}", ["FED-101", "FED-111"], [{}], {})

single_ok("type-value-string", "value may be a string", ["FED-102"], {"value": "1.0"})
single_ok("type-value-integer", "value may be an integer", ["FED-102"], {"value": 5})
single_ok("type-value-boolean", "value may be a boolean", ["FED-102"], {"value": False})
single_ok(
    "type-value-array", "value may be an array of scalars", ["FED-102"], {"value": ["1.0", 1, True]}
)
single_ok("type-value-null", "value may be null", ["FED-102"], {"value": None})
single_error("type-value-object", "value must not be an object", ["FED-102"], {"value": {"a": 1}})
single_error(
    "type-value-nested-array", "value must not nest arrays", ["FED-102"], {"value": [["1.0"]]}
)
single_error(
    "type-value-array-of-objects", "value's array holds scalars only", ["FED-102"], {"value": [{}]}
)
single_error(
    "type-value-array-null", "value's array must not hold null", ["FED-102"], {"value": [None]}
)
single_error(
    "type-value-duplicate",
    "a value array is a set: no element twice",
    ["FED-102"],
    {"value": ["1.0", "1.0"]},
)
single_ok(
    "type-value-true-and-one",
    "true and 1 are different elements",
    ["FED-102"],
    {"value": [True, 1]},
)
single_ok("type-add-array", "add is an array of strings", ["FED-102"], {"add": ["1.0"]})
single_ok("type-add-empty", "add may be []", ["FED-102"], {"add": []})
single_error("type-add-string", "add must be an array", ["FED-102"], {"add": "1.0"})
single_error("type-add-integers", "add holds strings only", ["FED-102"], {"add": [1]})
single_error("type-add-duplicate", "add is a set", ["FED-102"], {"add": ["a", "a"]})
single_ok("type-default-scalar", "default may be a scalar", ["FED-102"], {"default": "1.0"})
single_ok(
    "type-default-array", "default may be an array of scalars", ["FED-102"], {"default": ["1.0"]}
)
single_error("type-default-null", "default must not be null", ["FED-102"], {"default": None})
single_error("type-default-object", "default must not be an object", ["FED-102"], {"default": {}})
single_ok(
    "type-one-of", "one_of is a non-empty array of strings", ["FED-102"], {"one_of": ["a", "b"]}
)
single_error("type-one-of-empty", "one_of must not be []", ["FED-102"], {"one_of": []})
single_error("type-one-of-string", "one_of must be an array", ["FED-102"], {"one_of": "a"})
single_error(
    "type-one-of-boolean-element", "one_of holds strings only", ["FED-102"], {"one_of": [True]}
)
single_ok("type-subset-of-empty", "subset_of may be []", ["FED-102"], {"subset_of": []})
single_error(
    "type-subset-of-integers", "subset_of holds strings only", ["FED-102"], {"subset_of": [1]}
)
single_error(
    "type-subset-of-duplicate", "subset_of is a set", ["FED-102"], {"subset_of": ["a", "a"]}
)
single_ok("type-superset-of-empty", "superset_of may be []", ["FED-102"], {"superset_of": []})
single_error(
    "type-superset-of-object", "superset_of must be an array", ["FED-102"], {"superset_of": {}}
)
single_ok("type-essential-true", "essential is a boolean", ["FED-102"], {"essential": True})
single_error(
    "type-essential-string", "essential must be a boolean", ["FED-102"], {"essential": "true"}
)
single_error(
    "type-essential-integer", "essential must be a boolean, not 1", ["FED-102"], {"essential": 1}
)

merge_ok(
    "unknown-operator-ignored",
    "P6: an operator this profile does not define is ignored and dropped",
    ["FED-100"],
    [one({"regexp": "^1\\.", "essential": True})],
    one({"essential": True}),
)
merge_ok(
    "unknown-operator-any-value",
    "an unknown operator is ignored whatever its value, even an object",
    ["FED-100"],
    [one({"max_length": {"n": 3}})],
    one({}),
)

# --------------------------------------------------------------------------- combinations

single_ok("combo-value-add", "add within value", ["FED-104"], {"value": ["a", "b"], "add": ["a"]})
single_error(
    "combo-value-add-outside", "add outside value", ["FED-104"], {"value": ["a"], "add": ["b"]}
)
single_error(
    "combo-value-scalar-add", "add with a scalar value", ["FED-104"], {"value": "a", "add": ["a"]}
)
single_error(
    "combo-value-null-add", "add with value null", ["FED-104"], {"value": None, "add": ["a"]}
)
single_ok("combo-value-default", "value with default", ["FED-104"], {"value": "a", "default": "b"})
single_error(
    "combo-value-null-default",
    "default with value null",
    ["FED-104"],
    {"value": None, "default": "b"},
)
single_ok(
    "combo-value-one-of", "value among one_of", ["FED-104"], {"value": "a", "one_of": ["a", "b"]}
)
single_error(
    "combo-value-one-of-outside",
    "value not among one_of",
    ["FED-104"],
    {"value": "c", "one_of": ["a", "b"]},
)
single_error(
    "combo-value-array-one-of",
    "an array value with one_of",
    ["FED-104"],
    {"value": ["a"], "one_of": ["a"]},
)
single_error(
    "combo-value-null-one-of",
    "value null with one_of",
    ["FED-104"],
    {"value": None, "one_of": ["a"]},
)
single_ok(
    "combo-value-subset-of",
    "value within subset_of",
    ["FED-104"],
    {"value": ["a"], "subset_of": ["a", "b"]},
)
single_error(
    "combo-value-subset-of-outside",
    "value outside subset_of",
    ["FED-104"],
    {"value": ["a", "c"], "subset_of": ["a", "b"]},
)
single_error(
    "combo-value-scalar-subset-of",
    "a scalar value with subset_of",
    ["FED-104"],
    {"value": "a", "subset_of": ["a"]},
)
single_error(
    "combo-value-null-subset-of",
    "value null with subset_of",
    ["FED-104"],
    {"value": None, "subset_of": []},
)
single_ok(
    "combo-value-superset-of",
    "value holds superset_of",
    ["FED-104"],
    {"value": ["a", "b"], "superset_of": ["a"]},
)
single_error(
    "combo-value-superset-of-missing",
    "value lacks a superset_of element",
    ["FED-104"],
    {"value": ["a"], "superset_of": ["a", "b"]},
)
single_error(
    "combo-value-null-superset-of",
    "value null with superset_of",
    ["FED-104"],
    {"value": None, "superset_of": []},
)
single_ok(
    "combo-value-essential",
    "value with essential true",
    ["FED-104"],
    {"value": "a", "essential": True},
)
single_error(
    "combo-value-null-essential-true",
    "value null with essential true",
    ["FED-104"],
    {"value": None, "essential": True},
)
single_ok(
    "combo-value-null-essential-false",
    "value null with essential false",
    ["FED-104"],
    {"value": None, "essential": False},
)
single_error(
    "combo-add-one-of", "add with one_of is forbidden", ["FED-104"], {"add": ["a"], "one_of": ["a"]}
)
single_ok(
    "combo-add-subset-of",
    "add within subset_of",
    ["FED-104"],
    {"add": ["a"], "subset_of": ["a", "b"]},
)
single_error(
    "combo-add-subset-of-outside",
    "add outside subset_of",
    ["FED-104"],
    {"add": ["c"], "subset_of": ["a", "b"]},
)
single_ok(
    "combo-add-superset-of",
    "add with any superset_of",
    ["FED-104"],
    {"add": ["a"], "superset_of": ["b"]},
)
single_ok("combo-add-default", "add with default", ["FED-104"], {"add": ["a"], "default": ["b"]})
single_ok(
    "combo-add-essential", "add with essential", ["FED-104"], {"add": ["a"], "essential": True}
)
single_error(
    "combo-one-of-subset-of",
    "one_of with subset_of is forbidden",
    ["FED-104"],
    {"one_of": ["a"], "subset_of": ["a"]},
)
single_error(
    "combo-one-of-superset-of",
    "one_of with superset_of is forbidden",
    ["FED-104"],
    {"one_of": ["a"], "superset_of": []},
)
single_ok(
    "combo-one-of-default",
    "default need not be among one_of",
    ["FED-104"],
    {"one_of": ["a", "b"], "default": "c"},
)
single_ok(
    "combo-one-of-essential",
    "one_of with essential",
    ["FED-104"],
    {"one_of": ["a"], "essential": False},
)
single_ok(
    "combo-subset-superset",
    "subset_of holds superset_of",
    ["FED-104"],
    {"subset_of": ["a", "b"], "superset_of": ["a"]},
)
single_error(
    "combo-subset-superset-outside",
    "P3: subset_of does not hold superset_of",
    ["FED-104"],
    {"subset_of": ["a"], "superset_of": ["a", "b"]},
)
single_ok(
    "combo-subset-superset-empty",
    "both [] combine",
    ["FED-104"],
    {"subset_of": [], "superset_of": []},
)
single_ok(
    "combo-all-compatible",
    "six operators that all combine",
    ["FED-104"],
    {
        "value": ["a"],
        "add": ["a"],
        "default": ["a"],
        "subset_of": ["a", "b"],
        "superset_of": ["a"],
        "essential": True,
    },
)

# --------------------------------------------------------------------------- merging

merge_ok("merge-none", "no policies merge to {}", ["FED-105", "FED-111"], [], {})
merge_ok(
    "merge-value-equal",
    "equal values merge",
    ["FED-105", "FED-106"],
    [one({"value": "a"}), one({"value": "a"})],
    one({"value": "a"}),
)
merge_error(
    "merge-value-unequal",
    "P1: the anchor and an Intermediate set different values",
    ["FED-106"],
    [one({"value": "a"}), one({"value": "b"})],
    POLICY_ERROR,
)
merge_ok(
    "merge-value-arrays-as-sets",
    "array values with the same elements in another order are equal; the superior's is kept",
    ["FED-106"],
    [one({"value": ["a", "b"]}), one({"value": ["b", "a"]})],
    one({"value": ["a", "b"]}),
)
merge_error(
    "merge-value-type-differs",
    '1 and "1" are not equal',
    ["FED-106"],
    [one({"value": 1}), one({"value": "1"})],
    POLICY_ERROR,
)
merge_error(
    "merge-value-true-one",
    "true and 1 are not equal",
    ["FED-106"],
    [one({"value": True}), one({"value": 1})],
    POLICY_ERROR,
)
merge_ok(
    "merge-value-null-null",
    "null and null are equal",
    ["FED-106"],
    [one({"value": None}), one({"value": None})],
    one({"value": None}),
)
merge_error(
    "merge-value-null-scalar",
    "null and a string differ",
    ["FED-106"],
    [one({"value": None}), one({"value": "a"})],
    POLICY_ERROR,
)
merge_ok(
    "merge-default-equal",
    "equal defaults merge",
    ["FED-106"],
    [one({"default": ["1.0"]}), one({"default": ["1.0"]})],
    one({"default": ["1.0"]}),
)
merge_error(
    "merge-default-unequal",
    "different defaults",
    ["FED-106"],
    [one({"default": "a"}), one({"default": "b"})],
    POLICY_ERROR,
)
merge_ok(
    "merge-add-union",
    "add merges to the union: superior's elements, then the new ones in order",
    ["FED-107"],
    [one({"add": ["a", "b"]}), one({"add": ["c", "a", "d"]})],
    one({"add": ["a", "b", "c", "d"]}),
)
merge_ok(
    "merge-superset-of-union",
    "superset_of merges to the union",
    ["FED-107"],
    [one({"superset_of": ["b"]}), one({"superset_of": ["a", "b"]})],
    one({"superset_of": ["b", "a"]}),
)
merge_ok(
    "merge-one-of-intersection",
    "one_of merges to the intersection in the superior's order",
    ["FED-108"],
    [one({"one_of": ["a", "b", "c"]}), one({"one_of": ["c", "b", "d"]})],
    one({"one_of": ["b", "c"]}),
)
merge_error(
    "merge-one-of-empty",
    "P2: one_of sets without a common member",
    ["FED-108"],
    [one({"one_of": ["a"]}), one({"one_of": ["b"]})],
    POLICY_ERROR,
)
merge_ok(
    "merge-subset-of-intersection",
    "subset_of merges to the intersection in the superior's order",
    ["FED-108"],
    [one({"subset_of": ["a", "b", "c"]}), one({"subset_of": ["c", "a"]})],
    one({"subset_of": ["a", "c"]}),
)
merge_ok(
    "merge-subset-of-empty",
    "an empty subset_of intersection is [] and not an error",
    ["FED-108"],
    [one({"subset_of": ["a"]}), one({"subset_of": ["b"]})],
    one({"subset_of": []}),
)
for upper, lower, result in ((True, False, True), (False, True, True), (False, False, False)):
    merge_ok(
        f"merge-essential-{str(upper).lower()}-{str(lower).lower()}",
        f"essential {str(upper).lower()} merged with {str(lower).lower()} is {str(result).lower()}",
        ["FED-109"],
        [one({"essential": upper}), one({"essential": lower})],
        one({"essential": result}),
    )
merge_ok(
    "merge-essential-one-side",
    "an operator on one side only is taken as it is",
    ["FED-105", "FED-109"],
    [one({"subset_of": ["a"]}), one({"essential": False})],
    one({"subset_of": ["a"], "essential": False}),
)
merge_ok(
    "merge-entity-types-and-parameters",
    "entity types and parameters of both sides, the superior's first",
    ["FED-105", "FED-111"],
    [
        {P: {V: {"subset_of": ["1.0"]}}},
        {O: {V: {"essential": True}}, P: {"rate_card_uri": {"essential": True}}},
    ],
    {
        P: {V: {"subset_of": ["1.0"]}, "rate_card_uri": {"essential": True}},
        O: {V: {"essential": True}},
    },
)
merge_error(
    "merge-value-outside-superior-subset-of",
    "a subordinate's value outside the anchor's subset_of is caught after the merge",
    ["FED-110"],
    [one({"subset_of": ["1.0"]}), one({"value": ["1.1"]})],
    POLICY_ERROR,
)
merge_error(
    "merge-add-against-superior-one-of",
    "a subordinate's add against the anchor's one_of",
    ["FED-110"],
    [one({"one_of": ["a"]}), one({"add": ["a"]})],
    POLICY_ERROR,
)
merge_error(
    "merge-subset-of-below-superset-of",
    "a subordinate's subset_of that drops an element of the anchor's superset_of",
    ["FED-110"],
    [
        one({"superset_of": ["a", "b"]}),
        one({"subset_of": ["a", "b", "c"]}),
        one({"subset_of": ["a"]}),
    ],
    POLICY_ERROR,
)
merge_error(
    "merge-value-null-under-essential",
    "a subordinate's value null under the anchor's essential true",
    ["FED-110"],
    [one({"essential": True}), one({"value": None})],
    POLICY_ERROR,
)
merge_ok(
    "merge-three-levels",
    "anchor, Intermediate and Immediate Superior merged level by level",
    ["FED-105", "FED-107", "FED-108", "FED-109"],
    [
        one({"subset_of": ["1.0", "1.1", "1.2"], "essential": True}),
        one({"subset_of": ["1.3", "1.2", "1.1"], "superset_of": ["1.1"]}),
        one({"default": ["1.1"], "essential": False}),
    ],
    one(
        {
            "subset_of": ["1.1", "1.2"],
            "superset_of": ["1.1"],
            "default": ["1.1"],
            "essential": True,
        }
    ),
)
merge_error(
    "merge-lower-policy-ill-formed",
    "each policy is checked before it is merged",
    ["FED-105", "FED-102"],
    [one({"subset_of": ["a"]}), one({"essential": "yes"})],
    POLICY_ERROR,
)
merge_ok(
    "merge-unknown-operators-dropped",
    "unknown operators of any level are dropped",
    ["FED-100", "FED-111"],
    [one({"subset_of": ["a"], "regexp": "a"}), one({"one_of_regexp": "b"})],
    one({"subset_of": ["a"]}),
)

# --------------------------------------------------------------------------- applying

MD = {P: {V: ["1.0", "1.1"], "rate_card_uri": "https://p.example/card"}}


def md(value: Any) -> dict[str, Any]:
    """Provider metadata whose tokenfed_versions is value (absent when value is ...)."""
    return {P: {V: value}} if value is not ... else {P: {}}


apply_ok(
    "apply-value-replaces",
    "value replaces the parameter",
    ["FED-114"],
    md(["2.0"]),
    one({"value": ["1.0"]}),
    md(["1.0"]),
)
apply_ok(
    "apply-value-sets-absent",
    "value sets an absent parameter",
    ["FED-114"],
    md(...),
    one({"value": "1.0"}),
    md("1.0"),
)
apply_ok(
    "apply-value-null-removes",
    "value null removes the parameter",
    ["FED-114"],
    md(["1.0"]),
    one({"value": None}),
    md(...),
)
apply_ok(
    "apply-value-null-absent",
    "value null on an absent parameter",
    ["FED-114"],
    md(...),
    one({"value": None}),
    md(...),
)
apply_ok(
    "apply-add-appends",
    "add appends the missing elements in add's order",
    ["FED-115"],
    md(["b", "a"]),
    one({"add": ["c", "a", "d"]}),
    md(["b", "a", "c", "d"]),
)
apply_ok(
    "apply-add-absent",
    "add initialises an absent parameter",
    ["FED-115"],
    md(...),
    one({"add": ["a", "b"]}),
    md(["a", "b"]),
)
apply_ok(
    "apply-add-empty-absent",
    "add [] initialises an absent parameter to []",
    ["FED-115"],
    md(...),
    one({"add": []}),
    md([]),
)
apply_error(
    "apply-add-to-string",
    "add on a string parameter",
    ["FED-115"],
    md("1.0"),
    one({"add": ["1.1"]}),
    METADATA_ERROR,
)
apply_ok(
    "apply-default-absent",
    "default sets an absent parameter",
    ["FED-116"],
    md(...),
    one({"default": ["1.0"]}),
    md(["1.0"]),
)
apply_ok(
    "apply-default-present",
    "default leaves a present parameter",
    ["FED-116"],
    md(["2.0"]),
    one({"default": ["1.0"]}),
    md(["2.0"]),
)
apply_ok(
    "apply-one-of",
    "a value among one_of",
    ["FED-117"],
    md("b"),
    one({"one_of": ["a", "b"]}),
    md("b"),
)
apply_error(
    "apply-one-of-outside",
    "P4: metadata outside one_of",
    ["FED-117"],
    md("c"),
    one({"one_of": ["a", "b"]}),
    METADATA_ERROR,
)
apply_error(
    "apply-one-of-array",
    "one_of needs a scalar parameter",
    ["FED-117"],
    md(["a"]),
    one({"one_of": ["a"]}),
    METADATA_ERROR,
)
apply_error(
    "apply-one-of-type",
    'the integer 1 is not the string "1"',
    ["FED-117"],
    md(1),
    one({"one_of": ["1"]}),
    METADATA_ERROR,
)
apply_ok(
    "apply-one-of-absent",
    "one_of does not check an absent parameter",
    ["FED-117"],
    md(...),
    one({"one_of": ["a"]}),
    md(...),
)
apply_ok(
    "apply-subset-of",
    "subset_of keeps the parameter's elements that it lists, in the parameter's order",
    ["FED-118"],
    md(["c", "x", "a", "c"]),
    one({"subset_of": ["a", "b", "c"]}),
    md(["c", "a", "c"]),
)
apply_ok(
    "apply-subset-of-empty-result",
    "P8: subset_of may leave [] (with essential true the policy still succeeds)",
    ["FED-118", "FED-121"],
    md(["2.0"]),
    one({"subset_of": ["1.0"], "essential": True}),
    md([]),
)
apply_ok(
    "apply-subset-of-absent",
    "subset_of leaves an absent parameter absent",
    ["FED-119"],
    md(...),
    one({"subset_of": ["a"]}),
    md(...),
)
apply_error(
    "apply-subset-of-string",
    "subset_of needs an array parameter",
    ["FED-118"],
    md("a"),
    one({"subset_of": ["a"]}),
    METADATA_ERROR,
)
apply_ok(
    "apply-superset-of",
    "the parameter holds superset_of",
    ["FED-120"],
    md(["a", "b"]),
    one({"superset_of": ["b"]}),
    md(["a", "b"]),
)
apply_error(
    "apply-superset-of-missing",
    "the parameter lacks an element of superset_of",
    ["FED-120"],
    md(["a"]),
    one({"superset_of": ["a", "b"]}),
    METADATA_ERROR,
)
apply_ok(
    "apply-superset-of-absent",
    "superset_of leaves an absent parameter absent",
    ["FED-119"],
    md(...),
    one({"superset_of": ["a"]}),
    md(...),
)
apply_error(
    "apply-superset-of-string",
    "superset_of needs an array parameter",
    ["FED-120"],
    md("a"),
    one({"superset_of": []}),
    METADATA_ERROR,
)
apply_error(
    "apply-essential-missing-key-set",
    "P5: essential receipt_jwks is absent",
    ["FED-121"],
    {P: {V: ["1.0"]}},
    one({"essential": True}, parameter="receipt_jwks"),
    METADATA_ERROR,
)
apply_ok(
    "apply-essential-key-set",
    "essential on an object-valued parameter that is present",
    ["FED-103", "FED-121"],
    {P: {"receipt_jwks": {"keys": []}}},
    one({"essential": True}, parameter="receipt_jwks"),
    {P: {"receipt_jwks": {"keys": []}}},
)
apply_ok(
    "apply-essential-false",
    "essential false on an absent parameter",
    ["FED-121"],
    md(...),
    one({"essential": False}),
    md(...),
)
apply_error(
    "apply-object-value-operator",
    "value aimed at an object-valued parameter",
    ["FED-103"],
    {P: {"receipt_jwks": {"keys": []}}},
    one({"value": "none"}, parameter="receipt_jwks"),
    POLICY_ERROR,
)
apply_error(
    "apply-object-one-of",
    "one_of aimed at an object-valued parameter",
    ["FED-103"],
    {P: {"receipt_jwks": {"keys": []}}},
    one({"one_of": ["a"], "essential": True}, parameter="receipt_jwks"),
    POLICY_ERROR,
)
apply_error(
    "apply-order-default-before-one-of",
    "default is applied before one_of checks the result",
    ["FED-113", "FED-116", "FED-117"],
    md(...),
    one({"default": "c", "one_of": ["a", "b"]}),
    METADATA_ERROR,
)
apply_ok(
    "apply-order-add-before-subset-of",
    "add is applied before subset_of filters",
    ["FED-113", "FED-115", "FED-118"],
    md(["a", "x"]),
    one({"add": ["b"], "subset_of": ["a", "b"]}),
    md(["a", "b"]),
)
apply_ok(
    "apply-order-add-before-superset-of",
    "add is applied before superset_of checks",
    ["FED-113", "FED-120"],
    md(["a"]),
    one({"add": ["b"], "superset_of": ["a", "b"]}),
    md(["a", "b"]),
)
apply_ok(
    "apply-order-default-before-essential",
    "default satisfies essential",
    ["FED-113", "FED-121"],
    md(...),
    one({"default": ["1.0"], "essential": True}),
    md(["1.0"]),
)
apply_ok(
    "apply-order-value-before-everything",
    "value is applied first, then add, then the checks",
    ["FED-113", "FED-114"],
    md(["z"]),
    one({"value": ["a", "b"], "add": ["a"], "subset_of": ["a", "b", "c"], "superset_of": ["a"]}),
    md(["a", "b"]),
)
apply_ok(
    "apply-other-entity-types",
    "the policy's other entity types are ignored; the metadata's others are unchanged",
    ["FED-112"],
    {P: {V: ["1.0"]}, "federation_entity": {"organization_name": "P"}},
    {O: {V: {"essential": True}}, P: {V: {"subset_of": ["1.0"]}}},
    {P: {V: ["1.0"]}, "federation_entity": {"organization_name": "P"}},
)
apply_ok(
    "apply-parameters-without-policy",
    "parameters without operators are unchanged",
    ["FED-112"],
    MD,
    one({"superset_of": ["1.0"]}),
    MD,
)
apply_error(
    "apply-entity-type-not-object",
    "metadata of an entity type with a policy is not an object",
    ["FED-112"],
    {P: ["1.0"]},
    one({"essential": True}),
    METADATA_ERROR,
)
apply_error(
    "apply-policy-ill-formed",
    "the policy is checked before it is applied",
    ["FED-101"],
    md(["1.0"]),
    {P: {V: {"one_of": ["a"], "subset_of": ["a"]}}},
    POLICY_ERROR,
)

# --------------------------------------------------------------------------- merge, then apply

for vid, description, metadata, resolved in (
    (
        "resolve-default-fills",
        "the Intermediate's default fills an absent parameter",
        md(...),
        md(["1.0"]),
    ),
    (
        "resolve-subset-of-filters",
        "the anchor's subset_of filters the leaf's versions",
        md(["2.0", "1.1"]),
        md(["1.1"]),
    ),
):
    case(
        vid,
        f"anchor subset_of and Intermediate default: {description}",
        ["FED-105", "FED-112", "FED-116", "FED-118"],
        {
            "op": "resolve",
            "policies": [one({"subset_of": ["1.0", "1.1"]}), one({"default": ["1.0"]})],
            "metadata": metadata,
        },
        {"merged": one({"subset_of": ["1.0", "1.1"], "default": ["1.0"]}), "metadata": resolved},
    )
case(
    "resolve-empty-versions",
    "P8: the merged subset_of leaves tokenfed_versions [] with essential true: the policy "
    "succeeds (the entity-type rules then refuse the empty array)",
    ["FED-108", "FED-118", "FED-121"],
    {
        "op": "resolve",
        "policies": [
            one({"subset_of": ["1.0", "1.1"], "essential": True}),
            one({"subset_of": ["1.1", "1.2"]}),
        ],
        "metadata": md(["1.0", "1.2"]),
    },
    {"merged": one({"subset_of": ["1.1"], "essential": True}), "metadata": md([])},
)
case(
    "resolve-one-of-conflict",
    "P2 in a chain: the merge fails before any metadata is looked at",
    ["FED-108"],
    {
        "op": "resolve",
        "policies": [one({"one_of": ["a"]}), one({"one_of": ["b"]})],
        "metadata": md("a"),
    },
    {"error": POLICY_ERROR},
)
case(
    "resolve-essential-missing",
    "the anchor makes receipt_jwks essential; the leaf publishes none",
    ["FED-109", "FED-121"],
    {
        "op": "resolve",
        "policies": [
            one({"essential": True}, parameter="receipt_jwks"),
            one({"essential": False}, parameter="receipt_jwks"),
        ],
        "metadata": md(["1.0"]),
    },
    {"error": METADATA_ERROR},
)


# --------------------------------------------------------------------------- the SDK agrees


def run_sdk(given: dict[str, Any]) -> dict[str, Any]:
    """What the SDK says about one vector's input."""
    try:
        if given["op"] == "merge":
            return {"merged": merge_policies(given["policies"])}
        if given["op"] == "apply":
            return {"metadata": apply_policy(given["metadata"], given["policy"])}
        merged = merge_policies(given["policies"])
        return {"merged": merged, "metadata": apply_policy(given["metadata"], merged)}
    except TokenfedError as exc:
        return {"error": exc.code}


def _typed(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


def build() -> dict[str, Any]:
    for vector in CASES:
        got = run_sdk(vector["input"])
        if _typed(got) != _typed(vector["expected"]):
            raise SystemExit(f"{vector['id']}: the SDK gives {got}, expected {vector['expected']}")
    return {
        "kind": "policy",
        "spec_version": "1.0",
        "description": (
            "Metadata policy (spec/federation.md FED-100..FED-121): checks of one statement's "
            "metadata_policy, merging a chain's policies from the anchor down, and applying the "
            "merged policy to metadata. input.op is merge ({policies} -> {merged}), apply "
            "({metadata, policy} -> {metadata}) or resolve ({policies, metadata} -> {merged, "
            "metadata}); or {error}. Arrays in results are compared in order; members of "
            "objects are not."
        ),
        "provenance": (
            "Written by hand from the specification text by spec/tools/make_policy_vectors.py, "
            "which checks every expectation against the SDK; verified independently by "
            "interop/check_vectors.py."
        ),
        "vectors": CASES,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if the file is not current")
    args = parser.parse_args()
    text = json.dumps(build(), indent=1, ensure_ascii=False) + "\n"
    if args.check:
        current = OUT.read_text(encoding="utf-8") if OUT.exists() else ""
        if current != text:
            print(f"{OUT} is not current: run {Path(__file__).name}", file=sys.stderr)
            return 1
        return 0
    OUT.write_text(text, encoding="utf-8")
    print(f"wrote {len(CASES)} vectors to {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
