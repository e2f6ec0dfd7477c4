"""Merkle tree hashing and inclusion proofs of RFC 9162 section 2.1 (SHA-256).

A batch of ``n >= 1`` entries ``D[0:n]`` has the Merkle Tree Hash (MTH) of RFC 9162:

* ``MTH({d}) = SHA-256(0x00 || d)`` (the *leaf hash*);
* ``MTH(D[0:n]) = SHA-256(0x01 || MTH(D[0:k]) || MTH(D[k:n]))`` where ``k`` is the largest
  power of two smaller than ``n`` (the tree is never padded to a power of two).

The leaf and node prefixes keep a leaf from ever being taken for an inner node (second
preimage). Hashes are 32-byte :class:`bytes`. Proof verification never raises: any hostile
input (wrong types, wrong lengths, index out of range) makes :func:`verify_inclusion` return
``False``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

# Inclusion proofs verified with a memory of proven nodes (REC-062 step 3) live with the rest of
# the batched receipts' per-receipt work, in the module that is compiled (ADR 0010).
from ._hot import CachedInclusion

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "CachedInclusion",
    "inclusion_proof",
    "inclusion_proofs",
    "leaf_hash",
    "node_hash",
    "proof_length",
    "root",
    "root_from_hashes",
    "verify_inclusion",
]

HASH_SIZE = 32
"""Size in bytes of every hash of the tree (SHA-256)."""

EMPTY_ROOT = hashlib.sha256(b"").digest()
"""MTH of the empty list (RFC 9162 section 2.1.1); a batch is never empty."""

_sha256 = hashlib.sha256
_LEAF = _sha256(b"\x00")
_NODE = _sha256(b"\x01")
# Copying a hasher primed with the one-byte prefix and feeding it the two children is the
# cheapest way to compute SHA-256(prefix || a || b) in CPython: it avoids building a 65-byte
# concatenation for every node.
_node_copy = _NODE.copy
_leaf_copy = _LEAF.copy


def leaf_hash(data: bytes) -> bytes:
    """Return the leaf hash ``SHA-256(0x00 || data)`` of one entry."""
    h = _leaf_copy()
    h.update(data)
    return h.digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """Return the inner node hash ``SHA-256(0x01 || left || right)``."""
    h = _node_copy()
    h.update(left)
    h.update(right)
    return h.digest()


def _next_level(level: list[bytes]) -> list[bytes]:
    """Hash adjacent pairs; an unpaired last node moves up unchanged.

    Carrying the last node of an odd level up unchanged yields exactly the RFC 9162 split at
    the largest power of two smaller than ``n``.
    """
    upper: list[bytes] = []
    append = upper.append
    copy = _node_copy
    for i in range(0, len(level) - 1, 2):
        h = copy()
        h.update(level[i])
        h.update(level[i + 1])
        append(h.digest())
    if len(level) % 2:
        append(level[-1])
    return upper


def root_from_hashes(leaf_hashes: Sequence[bytes]) -> bytes:
    """Return the Merkle Tree Hash of a list of leaf hashes (:data:`EMPTY_ROOT` if empty)."""
    level = list(leaf_hashes)
    if not level:
        return EMPTY_ROOT
    while len(level) > 1:
        level = _next_level(level)
    return level[0]


class RootBuilder:
    """The Merkle Tree Hash of leaves given one at a time, in O(log n) memory.

    Complete subtrees are merged as soon as two of equal size are adjacent; at the end the
    remaining ones (sizes decreasing from left to right, the binary digits of ``n``) are folded
    from the right, which is exactly RFC 9162's split at the largest power of two below ``n``.
    """

    __slots__ = ("_stack",)

    def __init__(self) -> None:
        self._stack: list[tuple[int, bytes]] = []

    def add_hash(self, leaf: bytes) -> None:
        """Append the leaf hash of the next entry."""
        self._push(1, leaf)

    def add_hashes(self, leaves: Sequence[bytes]) -> None:
        """Append the leaf hashes of the next entries (the same tree head as :meth:`add_hash`
        for each in turn, with less work per leaf).

        The leaves are cut into the largest complete subtrees that start where the tree ends
        (a subtree of ``2**k`` leaves starts at a multiple of ``2**k``); each is hashed level by
        level and pushed as one node.
        """
        total = len(leaves)
        done = sum(size for size, _ in self._stack)
        position = 0
        copy = _node_copy
        while position < total:
            size = 1 << ((total - position).bit_length() - 1)
            if done:
                size = min(size, done & -done)
            level = leaves[position : position + size]
            while len(level) > 1:
                upper: list[bytes] = []
                append = upper.append
                pairs = iter(level)
                for left, right in zip(pairs, pairs, strict=True):
                    h = copy()
                    h.update(left)
                    h.update(right)
                    append(h.digest())
                level = upper
            self._push(size, level[0])
            position += size
            done += size

    def _push(self, size: int, node: bytes) -> None:
        """Append the root of a complete subtree of ``size`` leaves, merging equal neighbours."""
        stack = self._stack
        while stack and stack[-1][0] == size:
            node = node_hash(stack.pop()[1], node)
            size *= 2
        stack.append((size, node))

    def root(self) -> bytes:
        """The tree head of the leaves added so far (:data:`EMPTY_ROOT` if none)."""
        if not self._stack:
            return EMPTY_ROOT
        node = self._stack[-1][1]
        for _, left in reversed(self._stack[:-1]):
            node = node_hash(left, node)
        return node


def root(leaves: Sequence[bytes]) -> bytes:
    """Return the Merkle Tree Hash of the raw entries ``leaves`` (RFC 9162 section 2.1.1)."""
    return root_from_hashes([leaf_hash(leaf) for leaf in leaves])


def _largest_power_of_two_below(n: int) -> int:
    """Largest power of two strictly smaller than ``n`` (``n >= 2``)."""
    return 1 << ((n - 1).bit_length() - 1)


def inclusion_proof(leaf_hashes: Sequence[bytes], index: int) -> list[bytes]:
    """Return the audit path of leaf ``index`` (RFC 9162 section 2.1.3.1), bottom node first.

    This follows the recursive definition ``PATH(m, D[n])`` directly; to prove every leaf of
    a batch use :func:`inclusion_proofs`, which shares the work.

    Raises:
        IndexError: ``index`` is not in ``0 <= index < len(leaf_hashes)``.
    """
    size = len(leaf_hashes)
    if not 0 <= index < size:
        raise IndexError(f"leaf index {index} is outside a tree of {size} leaves")
    top_down: list[bytes] = []
    lo, hi = 0, size
    while hi - lo > 1:
        k = _largest_power_of_two_below(hi - lo)
        if index < lo + k:
            top_down.append(root_from_hashes(leaf_hashes[lo + k : hi]))
            hi = lo + k
        else:
            top_down.append(root_from_hashes(leaf_hashes[lo : lo + k]))
            lo += k
    top_down.reverse()
    return top_down


def inclusion_proofs(leaf_hashes: Sequence[bytes]) -> list[list[bytes]]:
    """Return the audit path of every leaf, in leaf order, in O(n log n).

    Every node of the tree is hashed once; proof ``i`` equals ``inclusion_proof(leaf_hashes, i)``.
    """
    levels = [list(leaf_hashes)]
    while len(levels[-1]) > 1:
        levels.append(_next_level(levels[-1]))
    proofs: list[list[bytes]] = []
    for index in range(len(levels[0])):
        path: list[bytes] = []
        position = index
        for level in levels[:-1]:
            sibling = position ^ 1
            if sibling < len(level):
                path.append(level[sibling])
            position >>= 1
        proofs.append(path)
    return proofs


def proof_length(index: int, size: int) -> int:
    """Return the number of hashes in the audit path of leaf ``index`` in a tree of ``size``.

    The path has one hash per level below the point where the paths to ``index`` and to the
    last leaf ``size - 1`` meet, plus one per left sibling above it.
    """
    inner = (index ^ (size - 1)).bit_length()
    return inner + (index >> inner).bit_count()


def verify_inclusion(
    leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> bool:
    """Check an inclusion proof (RFC 9162 section 2.1.3.2); never raises.

    Returns ``True`` only if ``0 <= index < size``, ``proof`` has exactly the length of the
    audit path of ``index`` in a tree of ``size`` leaves, every hash is 32 bytes, and the path
    leads from ``leaf_hash`` to ``root``.
    """
    try:
        if type(index) is not int or type(size) is not int or not 0 <= index < size:
            return False
        if len(leaf_hash) != HASH_SIZE or len(root) != HASH_SIZE:
            return False
        fn = index
        sn = size - 1
        inner = (fn ^ sn).bit_length()
        if len(proof) != inner + (fn >> inner).bit_count():
            return False
        copy = _node_copy
        r = bytes(leaf_hash)
        # Below the level where the paths to fn and to the last leaf sn meet, every proof
        # hash is a sibling (left if fn's bit is set); sn has a sibling there too.
        for p in proof[:inner]:
            if len(p) != HASH_SIZE:
                return False
            h = copy()
            if fn & 1:
                h.update(p)
                h.update(r)
            else:
                h.update(r)
                h.update(p)
            r = h.digest()
            fn >>= 1
        # Above it fn is on the right edge of its subtree: only left siblings remain, one for
        # each set bit of the remaining fn (the zero bits are levels without a sibling).
        for p in proof[inner:]:
            if len(p) != HASH_SIZE:
                return False
            h = copy()
            h.update(p)
            h.update(r)
            r = h.digest()
        return r == root
    except Exception:  # hostile input (a proof of non-bytes, a broken Sequence...): not a proof
        return False
