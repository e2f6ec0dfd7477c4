"""RFC 9162 Merkle trees (section 2.1), written from the RFC for the suite alone."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

__all__ = ["inclusion_proof", "leaf_hash", "root", "root_from_proof"]


def leaf_hash(entry: bytes) -> bytes:
    """``SHA-256(0x00 || entry)``."""
    return hashlib.sha256(b"\x00" + entry).digest()


def _node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two smaller than ``n`` (n > 1)."""
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def _mth(hashes: Sequence[bytes]) -> bytes:
    if len(hashes) == 1:
        return hashes[0]
    k = _split(len(hashes))
    return _node(_mth(hashes[:k]), _mth(hashes[k:]))


def root(entries: Sequence[bytes]) -> bytes:
    """The Merkle tree head of the entries (at least one)."""
    if not entries:
        raise ValueError("a tree has at least one leaf")
    return _mth([leaf_hash(entry) for entry in entries])


def _path(index: int, hashes: Sequence[bytes]) -> list[bytes]:
    if len(hashes) == 1:
        return []
    k = _split(len(hashes))
    if index < k:
        return [*_path(index, hashes[:k]), _mth(hashes[k:])]
    return [*_path(index - k, hashes[k:]), _mth(hashes[:k])]


def inclusion_proof(index: int, entries: Sequence[bytes]) -> list[bytes]:
    """The audit path of leaf ``index`` (RFC 9162 section 2.1.3.1)."""
    return _path(index, [leaf_hash(entry) for entry in entries])


def root_from_proof(index: int, size: int, leaf: bytes, proof: Sequence[bytes]) -> bytes | None:
    """Recompute the root from an inclusion proof (RFC 9162 section 2.1.3.2), ``None`` if the
    proof has the wrong length for ``index`` and ``size``."""
    if index >= size:
        return None
    fn, sn = index, size - 1
    r = leaf_hash(leaf)
    for p in proof:
        if sn == 0:
            return None
        if fn % 2 == 1 or fn == sn:
            r = _node(p, r)
            if fn % 2 == 0:
                while fn % 2 == 0 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = _node(r, p)
        fn >>= 1
        sn >>= 1
    return r if sn == 0 else None
