"""RFC 9162 Merkle tree hashing and inclusion proofs (``tokenfed._merkle``).

Expected values come from ``tests/data/merkle_vectors.json`` (published reference values, see
its ``provenance``); the properties compare the SDK with a direct transcription of the RFC's
recursive definitions written here.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tokenfed import _merkle as merkle

VECTORS: dict[str, Any] = json.loads(
    (Path(__file__).parent / "data" / "merkle_vectors.json").read_text(encoding="utf-8")
)
LEAVES = [bytes.fromhex(leaf) for leaf in VECTORS["leaves"]]
INCLUSION_CASES = [case for group in VECTORS["inclusion"] for case in group["cases"]]


def _hashes(count: int, salt: bytes = b"") -> list[bytes]:
    return [merkle.leaf_hash(salt + i.to_bytes(4, "big")) for i in range(count)]


def _split(n: int) -> int:
    """Largest power of two smaller than n (RFC 9162 section 2.1.1), by counting."""
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def _reference_mth(hashes: Sequence[bytes]) -> bytes:
    """MTH by the recursive definition of RFC 9162 section 2.1.1."""
    if len(hashes) == 1:
        return hashes[0]
    k = _split(len(hashes))
    return hashlib.sha256(
        b"\x01" + _reference_mth(hashes[:k]) + _reference_mth(hashes[k:])
    ).digest()


def _reference_shape(index: int, size: int) -> list[bool]:
    """For PATH(index, D[0:size]) of RFC 9162 section 2.1.3.1, bottom first: is each proof
    hash a left sibling?"""
    if size == 1:
        return []
    k = _split(size)
    if index < k:
        return [*_reference_shape(index, k), False]
    return [*_reference_shape(index - k, size - k), True]


def _flip(data: bytes, position: int) -> bytes:
    mutated = bytearray(data)
    mutated[position] ^= 0x01
    return bytes(mutated)


# --- published vectors -------------------------------------------------------------------


@pytest.mark.parametrize("case", VECTORS["hasher"], ids=lambda case: case["desc"])
def test_hasher_matches_published_hashes(case: dict[str, str]) -> None:
    """RFC 9162 2.1.1: leaf hash = SHA-256(0x00 || d), node hash = SHA-256(0x01 || l || r)."""
    expected = bytes.fromhex(case["hash"])
    if case["kind"] == "empty":
        assert expected == merkle.EMPTY_ROOT
        assert merkle.root([]) == expected
    elif case["kind"] == "leaf":
        assert merkle.leaf_hash(bytes.fromhex(case["data"])) == expected
    else:
        left, right = bytes.fromhex(case["left"]), bytes.fromhex(case["right"])
        assert merkle.node_hash(left, right) == expected


@pytest.mark.parametrize("case", VECTORS["roots"], ids=lambda case: f"size{case['size']}")
def test_root_of_reference_leaves(case: dict[str, Any]) -> None:
    """RFC 9162 2.1.1 MTH of the first n reference leaves; sizes 3, 5, 6, 7 catch padding to a
    power of two instead of the largest-power-of-two split."""
    leaves = LEAVES[: case["size"]]
    expected = bytes.fromhex(case["root"])
    assert merkle.root(leaves) == expected
    assert merkle.root_from_hashes([merkle.leaf_hash(leaf) for leaf in leaves]) == expected


@pytest.mark.parametrize(
    "case", INCLUSION_CASES, ids=lambda case: f"{case['index']}of{case['size']}-{case['desc']}"
)
def test_published_inclusion_probe(case: dict[str, Any]) -> None:
    """RFC 9162 2.1.3.2: the happy paths verify, every published corruption (wrong index or
    size, wrong leaf or root, garbage before or after, flipped bit, removed or inserted
    element) is rejected without an exception."""
    result = merkle.verify_inclusion(
        bytes.fromhex(case["leaf_hash"]),
        case["index"],
        case["size"],
        [bytes.fromhex(element) for element in case["proof"]],
        bytes.fromhex(case["root"]),
    )
    assert result is case["valid"]


@pytest.mark.parametrize(
    "case",
    [case for case in INCLUSION_CASES if case["valid"]],
    ids=lambda case: f"{case['index']}of{case['size']}",
)
def test_generated_proof_equals_published_path(case: dict[str, Any]) -> None:
    """RFC 9162 2.1.3.1: the audit path the SDK builds for the reference leaves is the
    published one, hash for hash and in the same (bottom-up) order."""
    hashes = [merkle.leaf_hash(leaf) for leaf in LEAVES[: case["size"]]]
    expected = [bytes.fromhex(element) for element in case["proof"]]
    assert hashes[case["index"]] == bytes.fromhex(case["leaf_hash"])
    assert merkle.inclusion_proof(hashes, case["index"]) == expected
    assert merkle.inclusion_proofs(hashes)[case["index"]] == expected
    assert merkle.root_from_hashes(hashes) == bytes.fromhex(case["root"])


@pytest.mark.parametrize(
    "shape", VECTORS["audit_path_shapes"], ids=lambda shape: f"{shape['index']}of{shape['size']}"
)
def test_audit_path_shape(shape: dict[str, Any]) -> None:
    """RFC 9162 2.1.3.1: proof element k is the MTH of the published leaf range, including
    the ranges whose subtree is incomplete (the right edge of a tree that is not a power of
    two)."""
    hashes = _hashes(shape["size"])
    expected = [merkle.root_from_hashes(hashes[start:end]) for start, end in shape["subtrees"]]
    assert merkle.inclusion_proof(hashes, shape["index"]) == expected
    assert merkle.inclusion_proofs(hashes)[shape["index"]] == expected
    assert merkle.proof_length(shape["index"], shape["size"]) == len(expected)


@pytest.mark.parametrize(
    "position", VECTORS["invalid_positions"], ids=lambda p: f"{p['index']}of{p['size']}"
)
def test_position_outside_tree(position: dict[str, int]) -> None:
    """RFC 9162 2.1.3.2 step 1: an index >= size (or an empty tree) never verifies, and no
    proof is built for it."""
    index, size = position["index"], position["size"]
    hashes = _hashes(size)
    some = merkle.leaf_hash(b"x")
    assert merkle.verify_inclusion(some, index, size, [], some) is False
    assert merkle.verify_inclusion(some, index, size, [some] * 8, some) is False
    with pytest.raises(IndexError):
        merkle.inclusion_proof(hashes, index)


# --- exhaustive small trees --------------------------------------------------------------


def test_every_proof_of_every_size_up_to_70_verifies() -> None:
    """Batch proofs: every proof from inclusion_proofs verifies against the batch root for
    every size 1..70, agrees with inclusion_proof, and has the RFC 9162 shape."""
    for size in range(1, 71):
        hashes = _hashes(size, salt=b"s")
        tree_root = merkle.root_from_hashes(hashes)
        assert tree_root == _reference_mth(hashes)
        proofs = merkle.inclusion_proofs(hashes)
        assert len(proofs) == size
        for index, proof in enumerate(proofs):
            assert proof == merkle.inclusion_proof(hashes, index), (size, index)
            assert (
                len(proof) == merkle.proof_length(index, size) == len(_reference_shape(index, size))
            )
            assert merkle.verify_inclusion(hashes[index], index, size, proof, tree_root)


def test_proof_binds_the_index() -> None:
    """Attack: present a leaf's proof at another position of the same tree; it never verifies
    (sizes 1..40, every pair of positions)."""
    for size in range(1, 41):
        hashes = _hashes(size, salt=b"i")
        tree_root = merkle.root_from_hashes(hashes)
        proofs = merkle.inclusion_proofs(hashes)
        for index in range(size):
            for other in range(size):
                if other != index:
                    assert not merkle.verify_inclusion(
                        hashes[index], other, size, proofs[index], tree_root
                    ), (size, index, other)


def test_wrong_size_verifies_only_for_an_identical_path_shape() -> None:
    """Attack: claim another tree size. The size is bound only as far as it changes the
    audit path (RFC 9162 2.1.3.2); a batch therefore signs its size next to its root. A wrong
    size verifies exactly when RFC 9162 gives the same path shape for it."""
    for size in range(1, 34):
        hashes = _hashes(size, salt=b"z")
        tree_root = merkle.root_from_hashes(hashes)
        for index, proof in enumerate(merkle.inclusion_proofs(hashes)):
            for other_size in range(1, 70):
                if other_size == size:
                    continue
                same_shape = index < other_size and _reference_shape(
                    index, other_size
                ) == _reference_shape(index, size)
                verdict = merkle.verify_inclusion(
                    hashes[index], index, other_size, proof, tree_root
                )
                assert verdict is same_shape, (size, index, other_size)


# --- properties --------------------------------------------------------------------------


@st.composite
def _tree_and_index(draw: st.DrawFn) -> tuple[list[bytes], int]:
    leaves = draw(st.lists(st.binary(max_size=12), min_size=1, max_size=70, unique=True))
    index = draw(st.integers(min_value=0, max_value=len(leaves) - 1))
    return [merkle.leaf_hash(leaf) for leaf in leaves], index


@given(st.lists(st.binary(max_size=40), min_size=1, max_size=70))
def test_root_matches_recursive_definition(leaves: list[bytes]) -> None:
    """RFC 9162 2.1.1: root() equals the recursive MTH for arbitrary entries and sizes."""
    assert merkle.root(leaves) == _reference_mth([merkle.leaf_hash(leaf) for leaf in leaves])


@given(_tree_and_index())
def test_inclusion_proofs_agree_with_inclusion_proof(tree: tuple[list[bytes], int]) -> None:
    """Batch proofs: the O(n log n) builder and the recursive PATH definition agree."""
    hashes, index = tree
    assert merkle.inclusion_proofs(hashes)[index] == merkle.inclusion_proof(hashes, index)


@given(_tree_and_index(), st.data())
def test_flipped_byte_anywhere_is_rejected(
    tree: tuple[list[bytes], int], data: st.DataObject
) -> None:
    """Attack: one flipped byte in the leaf hash, the root or any proof element fails."""
    hashes, index = tree
    size = len(hashes)
    proof = merkle.inclusion_proofs(hashes)[index]
    tree_root = merkle.root_from_hashes(hashes)
    assert merkle.verify_inclusion(hashes[index], index, size, proof, tree_root)
    byte = data.draw(st.integers(min_value=0, max_value=31))
    target = data.draw(st.integers(min_value=-2, max_value=len(proof) - 1))
    leaf, root, mutated = hashes[index], tree_root, list(proof)
    if target == -2:
        leaf = _flip(leaf, byte)
    elif target == -1:
        root = _flip(root, byte)
    else:
        mutated[target] = _flip(mutated[target], byte)
    assert not merkle.verify_inclusion(leaf, index, size, mutated, root)


@given(_tree_and_index(), st.data())
def test_truncated_or_extended_proof_is_rejected(
    tree: tuple[list[bytes], int], data: st.DataObject
) -> None:
    """RFC 9162 2.1.3.2: a proof with a hash removed, or any 32-byte hash added at any place,
    does not verify (wrong proof length)."""
    hashes, index = tree
    size = len(hashes)
    proof = merkle.inclusion_proofs(hashes)[index]
    tree_root = merkle.root_from_hashes(hashes)
    extra = data.draw(st.sampled_from([tree_root, hashes[index], bytes(32), *proof]))
    where = data.draw(st.integers(min_value=0, max_value=len(proof)))
    extended = [*proof[:where], extra, *proof[where:]]
    assert not merkle.verify_inclusion(hashes[index], index, size, extended, tree_root)
    if proof:
        cut = data.draw(st.integers(min_value=0, max_value=len(proof) - 1))
        truncated = proof[:cut] + proof[cut + 1 :]
        assert not merkle.verify_inclusion(hashes[index], index, size, truncated, tree_root)
        assert not merkle.verify_inclusion(hashes[index], index, size, proof[:-1], tree_root)


@settings(max_examples=50)
@given(_tree_and_index(), st.integers(min_value=-(2**70), max_value=2**70))
def test_any_other_index_is_rejected(tree: tuple[list[bytes], int], other: int) -> None:
    """Attack: the same proof under any other index, including negative and huge ones
    (the leaves are distinct: an entry present twice is rightly provable at both places)."""
    hashes, index = tree
    proof = merkle.inclusion_proofs(hashes)[index]
    tree_root = merkle.root_from_hashes(hashes)
    if other != index:
        assert not merkle.verify_inclusion(hashes[index], other, len(hashes), proof, tree_root)


# --- hostile input -----------------------------------------------------------------------


def _valid_case() -> tuple[bytes, int, int, list[bytes], bytes]:
    hashes = _hashes(13, salt=b"h")
    return hashes[6], 6, 13, merkle.inclusion_proofs(hashes)[6], merkle.root_from_hashes(hashes)


class _BrokenSequence(Sequence[bytes]):
    def __len__(self) -> int:
        return 4

    def __getitem__(self, item: Any) -> Any:
        raise RuntimeError("broken sequence")


def _hostile_arguments() -> list[tuple[str, tuple[Any, ...]]]:
    leaf, index, size, proof, root = _valid_case()
    return [
        ("leaf not bytes", (leaf.hex(), index, size, proof, root)),
        ("leaf None", (None, index, size, proof, root)),
        ("leaf 31 bytes", (leaf[:31], index, size, proof, root)),
        ("leaf 33 bytes", (leaf + b"\x00", index, size, proof, root)),
        ("root 31 bytes", (leaf, index, size, proof, root[:31])),
        ("root None", (leaf, index, size, proof, None)),
        ("index as str", (leaf, str(index), size, proof, root)),
        ("index bool", (leaf, True, size, proof, root)),
        ("index negative", (leaf, -1, size, proof, root)),
        ("index 2**64 - 1", (leaf, 2**64 - 1, size, proof, root)),
        ("size None", (leaf, index, None, proof, root)),
        ("size zero", (leaf, 0, 0, proof, root)),
        ("size negative", (leaf, index, -13, proof, root)),
        ("proof None", (leaf, index, size, None, root)),
        ("proof of ints", (leaf, index, size, [0] * len(proof), root)),
        ("proof of str", (leaf, index, size, ["a" * 32] * len(proof), root)),
        ("proof element 64 bytes", (leaf, index, size, [proof[0] + proof[1], *proof[2:]], root)),
        ("proof element empty", (leaf, index, size, [b"", *proof[1:]], root)),
        ("proof broken sequence", (leaf, index, size, _BrokenSequence(), root)),
    ]


@pytest.mark.parametrize(
    ("name", "arguments"),
    [pytest.param(name, arguments, id=name) for name, arguments in _hostile_arguments()],
)
def test_hostile_input_returns_false_without_raising(name: str, arguments: tuple[Any, ...]) -> None:
    """RFC 9162 2.1.3.2 on hostile input: wrong types, hashes that are not 32 bytes and
    positions out of range return False and never raise."""
    assert merkle.verify_inclusion(*arguments) is False, name


def test_hostile_cases_differ_from_an_accepted_call() -> None:
    """Hostile input: the cases above differ from an accepted call only in the named
    argument (a proof may be any sequence of 32-byte hashes)."""
    leaf, index, size, proof, root = _valid_case()
    assert merkle.verify_inclusion(leaf, index, size, proof, root) is True
    assert merkle.verify_inclusion(bytes(leaf), index, size, tuple(proof), bytes(root)) is True


def _fold(leaf: bytes, index: int, size: int, proof: Sequence[bytes]) -> bytes:
    """Apply a proof along the RFC 9162 path shape with no length checks at all."""
    value = leaf
    for element, is_left in zip(proof, _reference_shape(index, size), strict=True):
        pair = element + value if is_left else value + element
        value = hashlib.sha256(b"\x01" + pair).digest()
    return value


@pytest.mark.parametrize("length", [0, 31, 33, 64])
def test_element_of_wrong_length_is_rejected_even_if_it_leads_to_the_root(length: int) -> None:
    """RFC 9162 2.1.3.2 hardening: a proof element that is not 32 bytes is refused even when
    the root it leads to is the one given (e.g. a root signed over a malformed tree)."""
    hashes = _hashes(11, salt=b"w")
    for index in (0, 5, 10):
        proof = merkle.inclusion_proofs(hashes)[index]
        bad = [*proof]
        bad[-1] = (proof[-1] * 3)[:length]
        forged_root = _fold(hashes[index], index, 11, bad)
        assert merkle.verify_inclusion(hashes[index], index, 11, bad, forged_root) is False
        # Control: the same fold over the genuine proof gives the genuine root.
        assert _fold(hashes[index], index, 11, proof) == merkle.root_from_hashes(hashes)


def test_leaf_hash_of_wrong_length_is_rejected_even_if_it_leads_to_the_root() -> None:
    """RFC 9162 2.1.3.2 hardening: a leaf hash that is not 32 bytes is refused even when the
    proof leads from it to the root given."""
    hashes = _hashes(6, salt=b"l")
    proof = merkle.inclusion_proofs(hashes)[2]
    long_leaf = hashes[2] + b"\x00"
    assert merkle.verify_inclusion(long_leaf, 2, 6, proof, _fold(long_leaf, 2, 6, proof)) is False
    assert merkle.verify_inclusion(long_leaf, 0, 1, [], long_leaf) is False


def test_leaf_and_node_hashes_are_domain_separated() -> None:
    """Attack (second preimage): an inner node presented as a leaf whose data is the two
    child hashes does not reproduce the node hash, and child order matters."""
    left, right = merkle.leaf_hash(b"Hello"), merkle.leaf_hash(b"World")
    assert merkle.node_hash(left, right) != merkle.leaf_hash(left + right)
    assert merkle.node_hash(left, right) != merkle.node_hash(right, left)
    # A two-leaf tree's root is not provable as a leaf of a one-leaf tree.
    assert not merkle.verify_inclusion(
        merkle.leaf_hash(left + right), 0, 1, [], merkle.root_from_hashes([left, right])
    )


def test_root_builder_equals_the_tree_hash_for_every_size() -> None:
    """SET-026, REC-060: the streaming tree head equals RFC 9162's Merkle Tree Hash for every
    size from 0 to 130 leaves (all shapes of the right spine)."""
    from tokenfed import _merkle

    leaves = [_merkle.leaf_hash(i.to_bytes(4, "big")) for i in range(130)]
    for size in range(131):
        builder = _merkle.RootBuilder()
        for leaf in leaves[:size]:
            builder.add_hash(leaf)
        assert builder.root() == _merkle.root_from_hashes(leaves[:size]), size
