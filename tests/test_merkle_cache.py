"""The proven-node memory of batched-receipt verification gives the same answers (REC-062)."""

from __future__ import annotations

import random

from tokenfed import _merkle


def _cases(size: int, rng: random.Random) -> tuple[bytes, list[tuple[bytes, int, list[bytes]]]]:
    hashes = [_merkle.leaf_hash(rng.randbytes(8)) for _ in range(size)]
    root = _merkle.root_from_hashes(hashes)
    proofs = _merkle.inclusion_proofs(hashes)
    cases: list[tuple[bytes, int, list[bytes]]] = []
    for index in rng.sample(range(size), size):
        proof = proofs[index]
        cases.append((hashes[index], index, proof))
        for position in range(len(proof)):  # every single tampered entry
            tampered = list(proof)
            tampered[position] = bytes(32)
            cases.append((hashes[index], index, tampered))
        cases.append((hashes[index], (index + 1) % size, proof))
        cases.append((_merkle.leaf_hash(b"other"), index, proof))
        cases.append((hashes[index], index, [*proof, bytes(32)]))
    return root, cases


def test_cached_inclusion_agrees_with_rfc9162_verification() -> None:
    """REC-062 step 3: for every size 1..64 and leaves verified in random order, valid,
    tampered, misplaced, foreign and over-long proofs get exactly the answer of the plain
    RFC 9162 verification, whatever was verified before."""
    rng = random.Random(9162)
    for size in range(1, 65):
        root, cases = _cases(size, rng)
        cached = _merkle.CachedInclusion(size, root)
        for leaf, index, proof in cases:
            expected = _merkle.verify_inclusion(leaf, index, size, proof, root)
            assert cached.verify(leaf, index, proof) is expected, (size, index)
            hex_proof = [entry.hex() for entry in proof]
            assert cached.verify_hex(leaf, index, hex_proof) is expected, (size, index)


def test_cached_inclusion_refuses_malformed_hex() -> None:
    """REC-062 step 3: entries that are not 64 lowercase hex digits are never accepted, neither
    when hashed nor when compared with a proven rest of the path."""
    rng = random.Random(2)
    hashes = [_merkle.leaf_hash(rng.randbytes(8)) for _ in range(16)]
    root = _merkle.root_from_hashes(hashes)
    proofs = [[p.hex() for p in proof] for proof in _merkle.inclusion_proofs(hashes)]
    cached = _merkle.CachedInclusion(16, root)
    assert cached.verify_hex(hashes[0], 0, proofs[0])
    for bad in (proofs[1][0].upper(), proofs[1][0][:62], 7, proofs[1][0] + "00"):
        for position in range(len(proofs[1])):
            tampered: list[object] = list(proofs[1])
            tampered[position] = bad
            assert not cached.verify_hex(hashes[1], 1, tampered)  # type: ignore[arg-type]
    assert cached.verify_hex(hashes[1], 1, proofs[1])


def test_cached_inclusion_hashes_little_in_order() -> None:
    """REC-063: receipts of a batch verified in order reuse proven nodes (fewer hashes)."""
    rng = random.Random(1)
    hashes = [_merkle.leaf_hash(rng.randbytes(8)) for _ in range(1024)]
    root = _merkle.root_from_hashes(hashes)
    proofs = _merkle.inclusion_proofs(hashes)
    cached = _merkle.CachedInclusion(1024, root)
    assert all(cached.verify(hashes[i], i, proofs[i]) for i in range(1024))
    # Every inner node is proven once: 1023 nodes, with all 1024 proofs verified.
    assert len(cached._nodes) == 1023
