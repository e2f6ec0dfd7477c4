"""Metadata policy (spec/federation.md FED-100..FED-121) through the SDK.

Every vector of spec/vectors/policy.json runs through ``tokenfed.federation.merge_policies`` and
``apply_policy`` and must give exactly its expected result (arrays in order) or its one expected
error code; the generator is current; the independent checker agrees (tests/test_interop.py).
The research cases P1-P6 and P8 are vectors (named in their descriptions); P7, a policy in a
cross-anchor statement, is a statement rule of the chain vectors.
"""

from __future__ import annotations

import copy
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import _federation as fed
from tokenfed.errors import InvalidMetadataError, MetadataPolicyError, TokenfedError
from tokenfed.federation import apply_policy, merge_policies
from tokenfed_conformance.vectors import Vector, load_vectors

ROOT = Path(__file__).resolve().parent.parent
VECTORS = list(load_vectors("policy"))


def run(given: dict[str, Any]) -> dict[str, Any]:
    """One vector's operation through the public API."""
    if given["op"] == "merge":
        return {"merged": merge_policies(given["policies"])}
    if given["op"] == "apply":
        return {"metadata": apply_policy(given["metadata"], given["policy"])}
    merged = merge_policies(given["policies"])
    return {"merged": merged, "metadata": apply_policy(given["metadata"], merged)}


def typed(value: Any) -> str:
    """JSON text with sorted members: arrays keep their order, true stays apart from 1."""
    return json.dumps(value, sort_keys=True)


@pytest.mark.parametrize("vector", VECTORS, ids=lambda v: v.id)
def test_policy_vector(vector: Vector) -> None:
    """FED-100..FED-121: the SDK gives the vector's exact result, or its one error code."""
    given = copy.deepcopy(vector.input)
    if vector.error:
        with pytest.raises(TokenfedError) as caught:
            run(given)
        assert caught.value.code == vector.error, caught.value.message
    else:
        assert typed(run(given)) == typed(vector.expected)
    assert given == vector.input, "the inputs were modified"


def test_every_policy_requirement_has_a_vector() -> None:
    """FED-100..FED-121 are each named by at least one vector."""
    named = {rid for vector in VECTORS for rid in vector.requirements}
    assert {f"FED-{n}" for n in range(100, 122)} <= named


def test_generator_is_current() -> None:
    """spec/vectors/policy.json is what spec/tools/make_policy_vectors.py writes."""
    result = subprocess.run(
        [sys.executable, str(ROOT / "spec" / "tools" / "make_policy_vectors.py"), "--check"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_errors_name_the_parameter() -> None:
    """FED-113: a failed check names the entity type and parameter (message and detail)."""
    policy = {"tokenfed_provider": {"tokenfed_versions": {"one_of": ["1.0"]}}}
    with pytest.raises(InvalidMetadataError) as caught:
        apply_policy({"tokenfed_provider": {"tokenfed_versions": "2.0"}}, policy)
    assert caught.value.detail == {
        "entity_type": "tokenfed_provider",
        "parameter": "tokenfed_versions",
    }
    assert "tokenfed_provider.tokenfed_versions" in caught.value.message
    with pytest.raises(MetadataPolicyError) as conflict:
        merge_policies([policy, {"tokenfed_provider": {"tokenfed_versions": {"one_of": ["2.0"]}}}])
    assert "FED-108" in conflict.value.message


def test_results_share_nothing_with_inputs() -> None:
    """The merged policy and the resolved metadata are new values: changing them later does
    not change the statements they came from."""
    anchor = {"tokenfed_provider": {"tokenfed_versions": {"add": ["1.0"]}}}
    merged = merge_policies([anchor])
    merged["tokenfed_provider"]["tokenfed_versions"]["add"].append("9.9")
    assert anchor["tokenfed_provider"]["tokenfed_versions"]["add"] == ["1.0"]
    metadata = {"tokenfed_provider": {"tokenfed_versions": ["1.1"]}}
    resolved = apply_policy(metadata, anchor)
    assert resolved["tokenfed_provider"]["tokenfed_versions"] == ["1.1", "1.0"]
    assert metadata["tokenfed_provider"]["tokenfed_versions"] == ["1.1"]


@pytest.mark.parametrize("policies", ["{}", b"{}", {"a": {}}, 3])
def test_merge_misuse_is_a_type_error(policies: Any) -> None:
    """A programmer's wrong Python type is a TypeError, not a wire code."""
    with pytest.raises(TypeError):
        merge_policies(policies)


def test_apply_misuse_is_a_type_error() -> None:
    """Metadata that is not a mapping is a programmer's mistake."""
    with pytest.raises(TypeError):
        apply_policy([], {})  # type: ignore[arg-type]


def test_independent_checker_can_fail(tmp_path: Path) -> None:
    """The policy checker of interop/ compares results exactly: a merged union in another
    order (FED-107), an intersection result (FED-118) and an error code swapped (FED-117) are
    each a FAIL, the last one also counted as rejected with another code."""
    spec = tmp_path / "spec"
    shutil.copytree(ROOT / "spec" / "vectors", spec / "vectors")
    shutil.copytree(ROOT / "spec" / "schemas", spec / "schemas")
    path = spec / "vectors" / "policy.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    by_id = {vector["id"]: vector for vector in data["vectors"]}
    ops = by_id["merge-add-union"]["expected"]["merged"]["tokenfed_provider"]["tokenfed_versions"]
    ops["add"] = sorted(ops["add"], reverse=True)
    by_id["apply-subset-of"]["expected"]["metadata"]["tokenfed_provider"]["tokenfed_versions"] = [
        "a",
        "c",
    ]
    by_id["apply-one-of-outside"]["expected"] = {"error": "metadata_policy_error"}
    path.write_text(json.dumps(data), encoding="utf-8")
    failed, output = fed.checker_failures("policy", spec)
    assert failed == {"merge-add-union", "apply-subset-of", "apply-one-of-outside"}
    assert "3 disagree, 1 rejected with another code" in output
